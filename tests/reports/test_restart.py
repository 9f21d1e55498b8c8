"""The half-finished interval: written at a graceful stop, resumed on the
restart inside the same interval, completed by its close without doubling."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from callcenter.acd import events as ev
from callcenter.acd.common import QueueConfig
from callcenter.acd.service import AcdService
from callcenter.reports.intervals import QUEUE_FIELDS, IntervalAccumulator, interval_start
from callcenter.reports.models import AgentFact, QueueDay, QueueFact

from .test_intervals import config, traffic


def test_resume_counts_each_fact_once():
    acc = IntervalAccumulator(lambda q: QueueConfig(q), "Asia/Shanghai")
    t0 = 1_700_006_400.0
    acc.offered("q", t0 + 10)
    acc.exited("q", t0 + 20, "answered", 10, 10, False)
    acc.agent_time("PJSIP/1", "available", "", t0, t0 + 100)
    states = [("PJSIP/1", "on_call", "", t0 + 100, None, "")]
    partial = acc.peek(states, t0 + 600)

    again = IntervalAccumulator(lambda q: QueueConfig(q), "Asia/Shanghai")
    again.resume(partial, t0 + 600)
    again.offered("q", t0 + 10)  # a restart's reload of a call already in the partial row: not again
    again.agent_time("PJSIP/1", "available", "", t0, t0 + 100)
    again.offered("q", t0 + 700)  # after the restart
    rows = {r["key"]: r for r in again.close(states)}
    assert rows["q"]["offered"] == 2 and rows["q"]["answered"] == 1
    agent = rows["PJSIP/1"]
    assert agent["available_s"] == 100 and agent["talk_s"] == 1700 and agent["logged_in_s"] == 1800
    assert again.floor is None and again.start == t0 + 1800


async def _rows(db, start: float) -> tuple[dict[str, QueueFact], dict[str, AgentFact]]:  # noqa: ANN001
    at = datetime.fromtimestamp(start, UTC)
    async with db.sessions() as s:
        q = {r.queue: r for r in (await s.execute(select(QueueFact).where(QueueFact.interval_start == at))).scalars()}
        a = {r.interface: r for r in (await s.execute(select(AgentFact).where(AgentFact.interval_start == at))).scalars()}
    return q, a


async def test_graceful_stop_writes_the_open_interval_and_the_restart_completes_it(db):
    events = traffic(300, 7)
    first = interval_start(events[0].ts)
    cut = first + 1800 + 900.0  # the middle of the second interval
    boundary = first + 2 * 1800
    before = [e for e in events if e.ts < cut]
    after = [e for e in events if cut <= e.ts < boundary]

    svc = AcdService(db, config(), tick_s=None, snapshot_s=0, backfill_delay_s=None)
    for e in before:
        svc.submit(e)
    svc.submit(ev.Tick(cut))
    await svc.stop()
    q1, a1 = await _rows(db, boundary - 1800)
    assert q1 and a1 and all(r.partial_until is not None for r in [*q1.values(), *a1.values()])
    joined_before = sum(1 for e in before if isinstance(e, ev.CallerJoined) and e.ts >= boundary - 1800)
    assert sum(r.offered for r in q1.values()) == joined_before > 0

    svc2 = AcdService(db, config(), tick_s=None, snapshot_s=0, backfill_delay_s=None, clock=lambda: cut)
    await svc2.start()
    assert svc2.core.interval_facts.floor == cut
    for e in after:
        svc2.submit(e)
    svc2.submit(ev.Tick(boundary + 1))
    await svc2.flush_all()
    await svc2.stop()
    q2, a2 = await _rows(db, boundary - 1800)
    assert all(r.partial_until is None for r in [*q2.values(), *a2.values()])
    for name, row in q2.items():
        joined_after = sum(1 for e in after if isinstance(e, ev.CallerJoined) and e.queue == name)
        assert row.offered == q1[name].offered + joined_after  # not doubled, not lost
    for iface, row in a1.items():
        assert a2[iface].logged_in_s >= row.logged_in_s
        assert a2[iface].logged_in_s <= 1800.001
    async with db.sessions() as s:
        days = (await s.execute(select(QueueDay))).scalars().all()
        facts = (await s.execute(select(QueueFact))).scalars().all()
    for d in days:  # the day rows follow the replaced interval rows
        assert d.offered == sum(f.offered for f in facts if f.day == d.day and f.queue == d.queue)
    assert set(QUEUE_FIELDS) >= {"offered"}
