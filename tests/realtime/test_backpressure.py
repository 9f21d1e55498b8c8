"""A slow client is resnapshotted, then dropped, and never holds up the
core or the other clients.  In-process: the hub with websockets whose
send blocks, which is what a stalled TCP peer looks like to the hub."""

from __future__ import annotations

import asyncio
import json
import time

from callcenter.auth.models import Role
from callcenter.auth.service import Principal
from callcenter.realtime.hub import CLOSE_TOO_SLOW, Hub

from .fakes import FakeAcd

ME = "PJSIP/8301"


async def settle(cond, timeout_s: float = 5.0) -> None:  # noqa: ANN001
    """Wait until cond() holds instead of a fixed sleep a busy CI box may outrun."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not cond():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


class StubWS:
    """Receives nothing; `send_text` stalls while `stalled` is set."""

    def __init__(self, stalled: bool = False) -> None:
        self.sent: list[dict] = []
        self.gate = asyncio.Event()
        if not stalled:
            self.gate.set()
        self.closed: tuple[int, str] | None = None
        self.inbox: asyncio.Queue[str] = asyncio.Queue()

    async def send_text(self, text: str) -> None:
        await self.gate.wait()
        self.sent.append(json.loads(text))

    async def receive_text(self) -> str:
        return await self.inbox.get()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = (code, reason)
        self.gate.set()


def principal(role: Role = Role.admin, iface: str | None = None) -> Principal:
    return Principal(id=1, username=role.value, role=role, display_name="x", interface=iface)


async def test_slow_client_is_resnapshotted_then_dropped_and_the_rest_flow():
    hub = Hub(queue_size=8, max_lags=2)
    acd = FakeAcd()
    hub.attach(acd)
    acd.do("member_added", ME, "repairs")
    fast, slow = StubWS(), StubWS(stalled=True)
    tasks = [asyncio.create_task(hub.serve(ws, principal(Role.agent, ME))) for ws in (fast, slow)]
    for ws in (fast, slow):
        ws.inbox.put_nowait(json.dumps({"op": "subscribe", "topic": "agent:" + ME}))
    await settle(lambda: any(m["type"] == "snapshot" for m in fast.sent) and len(hub.clients) == 2)

    worst = 0.0
    for i in range(20):  # overflows the slow client's queue of 8: one resnapshot
        t0 = time.perf_counter()
        acd.do("paused", ME, i % 2 == 0, "break")
        worst = max(worst, time.perf_counter() - t0)
        await asyncio.sleep(0)
    await settle(lambda: hub.stats["resnapshots"] >= 1)
    assert slow.closed is None

    slow.gate.set()  # it catches up: its backlog was replaced by one fresh snapshot
    await settle(lambda: any(m["type"] == "snapshot" and m["seq"] == 20 for m in slow.sent))
    snaps = [m for m in slow.sent if m["type"] == "snapshot"]
    assert snaps and snaps[-1]["seq"] == 20  # the first snapshot was in the dropped backlog
    assert snaps[-1]["data"]["agent"]["state"] == "available"  # i=19 unpaused: current, not stale
    assert all(m["seq"] > 20 for m in slow.sent[slow.sent.index(snaps[-1]) + 1 :] if m["type"] == "delta")

    slow.gate.clear()
    for i in range(60):  # keeps falling behind: dropped
        acd.do("paused", ME, i % 2 == 0, "meal")
        await asyncio.sleep(0)
    await settle(lambda: bool(slow.closed) and len([m for m in fast.sent if m["type"] == "delta"]) == 80)
    assert slow.closed and slow.closed[0] == CLOSE_TOO_SLOW
    assert hub.stats["dropped"] == 1

    # the fast client got every delta, in order, with no gap
    deltas = [m["seq"] for m in fast.sent if m["type"] == "delta"]
    assert deltas == list(range(1, 81))
    assert worst < 0.05  # publishing never waited for the stalled client (that would be forever)
    for t in tasks:
        t.cancel()


async def test_the_socket_closes_when_its_token_expires():
    hub = Hub()
    ws = StubWS()
    task = asyncio.create_task(hub.serve(ws, principal(Role.agent, ME), expires_at=time.time() + 0.1))
    await asyncio.sleep(0.05)
    assert ws.closed is None and ws.sent[0]["type"] == "hello"
    await asyncio.sleep(0.15)
    assert ws.closed == (4401, "token expired")
    task.cancel()
