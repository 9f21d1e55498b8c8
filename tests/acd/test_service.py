"""The live runner: same numbers as replay, persistence that survives a
database outage, the restart reload, gateway actions and listeners."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import func, select

from callcenter.acd import events as ev
from callcenter.acd.core import CoreConfig, PauseMember, QueueConfig
from callcenter.acd.models import AgentInterval, CallRecord
from callcenter.acd.replay import call_item, replay, report, settle_s
from callcenter.acd.service import AcdService
from callcenter.acd.store import record_dict
from callcenter.db import Database

from .test_core_scenarios import A, B, T0, day

CONFIG = lambda: CoreConfig(queues={"support": QueueConfig("support")})  # noqa: E731


def feed_live(svc: AcdService, events: list[ev.Event]) -> list:
    """As the live service sees it: the events, plus a Tick every second."""
    records = []
    t = events[0].ts
    for e in events:
        while t + 1 <= e.ts:
            t += 1
            records += svc.submit(ev.Tick(t)).records
        records += svc.submit(e).records
    records += svc.submit(ev.Tick(events[-1].ts + settle_s(svc.core.config))).records
    return records


async def stored_calls(db: Database) -> list[dict]:
    async with db.sessions() as s:
        rows = (await s.execute(select(CallRecord).order_by(CallRecord.entered_at, CallRecord.call_id))).scalars().all()
        return [call_item(record_dict(r)) for r in rows]


async def test_live_and_replay_agree(db):
    s, _ = day()
    svc = AcdService(db, CONFIG(), tick_s=None)
    records = feed_live(svc, s.events)
    assert await svc.flush_all() > 0
    expected = replay(s.events, CONFIG())
    live = report(svc.core, records)
    assert live == expected
    assert await stored_calls(db) == expected["calls"]


async def test_database_outage_loses_nothing(db, tmp_path, caplog):
    s, _ = day()
    svc = AcdService(db, CONFIG(), tick_s=None, batch_max=3)
    real = svc.db
    svc.db = Database(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")  # the database is down
    outs = [svc.submit(e) for e in s.events]
    n_records = sum(len(o.records) for o in outs)
    n_intervals = sum(len(o.intervals) for o in outs)
    with caplog.at_level(logging.ERROR, logger="callcenter.acd"):
        with pytest.raises(Exception):
            await svc.flush()
    assert "cannot write to the database" in caplog.text
    assert svc.buffered == n_records + n_intervals and not svc.readiness()["ok"]
    await svc.db.dispose()
    svc.db = real  # back up
    await svc.flush_all()
    assert svc.buffered == 0 and svc.readiness()["ok"]
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CallRecord)) == n_records == 6
        assert await session.scalar(select(func.count()).select_from(AgentInterval)) == n_intervals
    # the retried batch is not written twice
    for o in outs:
        for r in o.records:
            svc._persist("record", r)  # noqa: SLF001
    await svc.flush_all()
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CallRecord)) == 6


async def test_full_buffer_is_loud(db, caplog):
    s, _ = day()
    svc = AcdService(db, CONFIG(), tick_s=None, buffer_max=5)
    with caplog.at_level(logging.ERROR, logger="callcenter.acd"):
        for e in s.events:
            svc.submit(e)
    assert svc.dropped > 0 and svc.buffered == 5
    assert "persist buffer full" in caplog.text and '"call_id"' in caplog.text  # the item itself is in the log


async def test_restart_reloads_today(db):
    s, _ = day()
    first = AcdService(db, CONFIG(), tick_s=None)
    for e in s.events:
        first.submit(e)
    await first.flush_all()
    before = first.core.queue_view("support")["kpi"]["today"]
    agent_before = first.core.agent_view(B)["today"]

    second = AcdService(db, CONFIG(), tick_s=None, clock=lambda: T0 + 600)
    await second.start()
    try:
        after = second.core.queue_view("support")["kpi"]["today"]
        assert after == before
        a = second.core.agent_view(B)["today"]
        assert (a["handled"], a["talk_s"], a["hold_s"], a["wrap_up_s"], a["paused_s"]) == (
            agent_before["handled"], agent_before["talk_s"], agent_before["hold_s"], agent_before["wrap_up_s"], agent_before["paused_s"],
        )  # fmt: skip
    finally:
        await second.stop()


class FlakyGateway:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[str, bool, str]] = []

    async def queue_pause(self, interface: str, paused: bool, reason: str) -> None:
        self.calls.append((interface, paused, reason))
        if self.failures:
            self.failures -= 1
            raise ConnectionError("AMI link down")


async def test_actions_go_through_the_gateway_with_retries():
    gw = FlakyGateway(failures=2)
    svc = AcdService(None, CoreConfig(queues={"q": QueueConfig("q", wrap_up_s=30)}), gw, tick_s=None, action_backoff_s=0.01)
    s_events = [
        ev.MemberAdded(T0, "q", A, A, 0, False, "", 1),
        ev.CallerJoined(T0, "q", "u1", "u1", "c", "1", "", 1, 1),
        ev.AgentCalled(T0 + 1, "q", "u1", "u1", A, A, "m1", "m", "1", ""),
        ev.CallerLeft(T0 + 2, "q", "u1", "u1", 1, 0),
        ev.AgentConnected(T0 + 2, "q", "u1", "u1", A, A, "m1", "m", 2, 1),
        ev.AgentCompleted(T0 + 9, "q", "u1", "u1", A, A, 2, 7, "caller"),
    ]
    for e in s_events:
        out = svc.submit(e)
    assert out.actions == [PauseMember(A, True, "wrap-up")]
    for _ in range(50):
        await asyncio.sleep(0.01)
        if len(gw.calls) == 3:
            break
    assert gw.calls == [(A, True, "wrap-up")] * 3
    AcdService(None, CONFIG(), None, tick_s=None).submit(e)  # no gateway: tolerated


async def test_listeners_and_dispositions():
    svc = AcdService(None, CoreConfig(queues={"q": QueueConfig("q")}), tick_s=None, clock=lambda: T0)
    seen = []
    unsubscribe = svc.subscribe(lambda out, core: seen.append(sorted(out.agents)))

    async def async_listener(out, core):  # noqa: ANN001, ANN202
        seen.append("async")

    svc.subscribe(async_listener)
    svc.subscribe(lambda out, core: 1 / 0)  # a broken listener does not stop the feed
    svc.submit(ev.MemberAdded(T0, "q", A, A, 0, False, "", 1))
    await asyncio.sleep(0)
    assert seen == [[A], "async"]
    unsubscribe()
    out = svc.disposition(A, "nope", "resolved")
    assert out.ts == T0 and svc.core.stats["disposition_not_in_wrap_up"] == 1


async def test_ticker_advances_wrap_up_limits():
    now = [T0]
    svc = AcdService(None, CoreConfig(queues={"q": QueueConfig("q", wrap_up_s=2)}), tick_s=0.01, clock=lambda: now[0])
    await svc.start()
    try:
        for e in [
            ev.MemberAdded(T0, "q", A, A, 0, False, "", 1),
            ev.CallerJoined(T0, "q", "u1", "u1", "c", "1", "", 1, 1),
            ev.CallerLeft(T0, "q", "u1", "u1", 1, 0),
            ev.AgentConnected(T0, "q", "u1", "u1", A, A, "m1", "m", 0, 0),
            ev.Hangup(T0 + 1, "u1", "u1", "c", 16, ""),
        ]:
            svc.submit(e)
        assert svc.core.agent_view(A)["state"] == "wrap_up"
        now[0] = T0 + 5
        for _ in range(100):
            await asyncio.sleep(0.01)
            if svc.core.agent_view(A)["state"] == "available":
                break
        assert svc.core.agent_view(A)["state"] == "available"
    finally:
        await svc.stop()
