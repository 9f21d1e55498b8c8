"""A live server per test (the websocket needs a real socket), the fakes
installed in it, and a small websocket client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect

from ..livesrv import LiveServer
from .fakes import FakeCore, install


@pytest.fixture
def live(settings):  # noqa: ANN001, ANN201
    srv = LiveServer(settings).start()
    core = FakeCore({"repairs": {"sl_threshold_s": 20, "wrap_up_s": 60},
                     "complaints": {"sl_threshold_s": 20, "wrap_up_s": 90}})

    async def wire() -> tuple[Any, Any]:
        return install(srv.app, core)

    srv.acd, srv.gateway = srv.call(wire())
    srv.hub = srv.app.state.hub

    def do(method: str, *args: Any, **kw: Any) -> Any:
        """Drive the fake core on the server's loop, as the ACD service would."""

        async def run() -> Any:
            return srv.acd.do(method, *args, **kw)

        return srv.call(run())

    srv.do = do
    yield srv
    srv.stop()


class WS:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def send(self, **msg: Any) -> None:
        await self.conn.send(json.dumps(msg))

    async def recv(self, timeout: float = 3.0) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.conn.recv(), timeout))

    async def until(self, pred: Any, timeout: float = 3.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.recv(timeout)
                if pred(msg):
                    return msg

    async def subscribe(self, topic: str, **kw: Any) -> dict[str, Any]:
        await self.send(op="subscribe", topic=topic, **kw)
        return await self.until(lambda m: m.get("topic") == topic)

    async def quiet(self, timeout: float = 0.3) -> list[dict[str, Any]]:
        """Everything that arrives within `timeout`."""
        out = []
        try:
            while True:
                out.append(await self.recv(timeout))
        except TimeoutError:
            return out


@pytest.fixture
async def ws_connect(live):  # noqa: ANN001, ANN201
    opened = []

    async def open_(actor: Any) -> WS:
        url = live.url.replace("http", "ws") + "/ws"
        conn = await connect(url, additional_headers=actor.headers if actor else {}, open_timeout=5)
        opened.append(conn)
        ws = WS(conn)
        hello = await ws.recv()
        assert hello["type"] in ("hello", "error"), hello
        ws.hello = hello
        return ws

    yield open_
    for conn in opened:
        await conn.close()
