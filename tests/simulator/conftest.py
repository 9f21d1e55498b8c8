"""Helpers for the simulator tests: a tiny raw AMI client (deliberately not
the bridge's code) and an event collector for the PBX."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from callcenter.simulator.clock import VirtualClock
from callcenter.simulator.pbx import PBX
from callcenter.simulator.server import AmiServer

Msg = list[tuple[str, str]]


def parse(block: bytes) -> Msg:
    out = []
    for line in block.decode("utf-8").split("\r\n"):
        if line:
            k, _, v = line.partition(": ")
            out.append((k, v))
    return out


def get(msg: Msg, key: str) -> str | None:
    return next((v for k, v in msg if k == key), None)


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.raw = b""

    @classmethod
    async def connect(cls, port: int) -> Client:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        c = cls(r, w)
        c.banner = (await r.readline()).decode()
        c.raw += c.banner.encode()
        return c

    def send(self, **fields: str) -> None:
        self.writer.write("".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode() + b"\r\n")

    async def read(self, timeout: float = 2.0) -> Msg | None:
        try:
            block = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        except asyncio.IncompleteReadError as exc:
            self.raw += exc.partial
            return None
        except TimeoutError:
            return None
        self.raw += block
        return parse(block[:-4])

    async def until(self, pred, timeout: float = 2.0) -> list[Msg]:  # noqa: ANN001
        seen = []
        while True:
            m = await self.read(timeout)
            assert m is not None, f"connection closed; seen {[get(x, 'Event') or get(x, 'Response') for x in seen]}"
            seen.append(m)
            if pred(m):
                return seen

    async def login(self, secret: str = "callcenter") -> Msg:
        self.send(Action="Login", Username="callcenter", Secret=secret, ActionID="login-1")
        return await self.read()

    async def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def server() -> AsyncIterator[AmiServer]:
    srv = AmiServer(pbx=PBX(clock=VirtualClock(), seed=1))
    srv.faults.login_delay_s = 0
    srv.port = await srv.start()  # type: ignore[attr-defined]
    yield srv
    await srv.stop()


@pytest.fixture
async def client(server: AmiServer) -> AsyncIterator[Client]:
    c = await Client.connect(server.port)  # type: ignore[attr-defined]
    assert get(await c.login(), "Response") == "Success"
    booted = await c.read()
    assert get(booted, "Event") == "FullyBooted"
    yield c
    await c.close()


class Events:
    """Collects what a PBX emits; `names()` for order assertions."""

    def __init__(self, pbx: PBX) -> None:
        self.msgs: list[Msg] = []
        pbx.sinks.append(self.msgs.append)

    def names(self, *only: str) -> list[str]:
        return [get(m, "Event") for m in self.msgs if not only or get(m, "Event") in only]  # type: ignore[misc]

    def of(self, name: str) -> list[dict[str, str]]:
        return [dict(m) for m in self.msgs if get(m, "Event") == name]

    def clear(self) -> None:
        self.msgs.clear()


@pytest.fixture
def pbx() -> PBX:
    return PBX(clock=VirtualClock(), seed=1)


@pytest.fixture
def events(pbx: PBX) -> Events:
    return Events(pbx)
