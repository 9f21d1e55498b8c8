"""Interval facts: sums agree with the core's own KPI windows, and the
rows the live service writes are exactly the rows a replay of the same
events produces (the live feed has ticks every few seconds, the replay none)."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import select

from callcenter.acd import events as ev
from callcenter.acd import kpi
from callcenter.acd.core import Core, CoreConfig, QueueConfig
from callcenter.acd.service import AcdService
from callcenter.acd.traffic import Traffic, generate
from callcenter.reports.intervals import AGENT_SUMS, QUEUE_FIELDS, IntervalAccumulator, bucket_of
from callcenter.reports.models import AgentFact, AgentPauseFact, QueueFact

START = 1_700_006_400.0  # 2023-11-15 08:00 Beijing


def traffic(calls: int = 700, seed: int = 5) -> list[ev.Event]:
    t = Traffic(
        calls=calls, queues=2, agents_per_queue=5, arrival_rate=1 / 25, mean_talk_s=150, patience_s=80,
        p_hold=0.2, p_transfer=0.05, wrap_up_s=(5, 40), p_wrap_timeout=0.1, p_pause=0.1, seed=seed, start=START,
    )  # fmt: skip
    return generate(t)


def config() -> CoreConfig:
    return CoreConfig(queues={"q0": QueueConfig("q0", sl_threshold_s=20), "q1": QueueConfig("q1", sl_threshold_s=30, abandon_mode="favour")})


def replay_rows(events: list[ev.Event], until: float) -> tuple[Core, list[dict]]:
    core = Core(config())
    rows: list[dict] = []
    for e in events:
        rows += core.apply(e).interval_rows
    rows += core.apply(ev.Tick(until)).interval_rows
    return core, rows


def test_wait_buckets():
    assert [bucket_of(w) for w in (0, 4.99, 5, 9.9, 10, 19, 20, 29.9, 30, 59, 60, 119, 120, 5000)] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]


def test_rows_sum_to_the_core_totals():
    events = traffic()
    end = (int(events[-1].ts // 1800) + 2) * 1800.0
    core, rows = replay_rows(events, end)
    starts = sorted({r["interval_start"] for r in rows})
    assert starts == list(range(int(starts[0]), int(starts[-1]) + 1, 1800)) and len(starts) >= 6
    for q in ("q0", "q1"):
        k = core.queues[q].kpi.window("total", core.now)
        qr = [r for r in rows if r["kind"] == "queue" and r["key"] == q]
        assert len(qr) == len(starts)  # a row every interval, calls or not
        for field, slot in (("offered", kpi.OFFERED), ("answered", kpi.ANSWERED), ("abandoned", kpi.ABANDONED), ("sl_met", kpi.SL_MET),
                            ("sl_counted", kpi.SL_COUNTED), ("handled", kpi.HANDLED), ("short_abandoned", kpi.SHORT)):  # fmt: skip
            assert sum(r[field] for r in qr) == k[slot], field
        for field, slot in (("talk_s", kpi.TALK), ("hold_s", kpi.HOLD), ("wrap_s", kpi.WRAP), ("wait_answered_s", kpi.WAIT_ANSWERED)):
            assert sum(r[field] for r in qr) == pytest.approx(k[slot], abs=0.01 * len(qr))
        assert max(r["max_wait_s"] for r in qr) == pytest.approx(k[kpi.MAX_WAIT], abs=0.001)
        assert sum(sum(r[f"abandoned_{b}"] for b in ("0_5", "5_10", "10_20", "20_30", "30_60", "60_120", "120_")) for r in qr) == k[kpi.ABANDONED]
        assert sum(r["answered_30"] for r in qr) >= sum(r["sl_met"] for r in qr) if q == "q0" else True
    for iface, a in core.agents.items():
        ar = [r for r in rows if r["kind"] == "agent" and r["key"] == iface]
        t = a.total
        assert sum(r["handled"] for r in ar) == t.handled
        assert sum(r["talk_s"] for r in ar) == pytest.approx(t.talk, abs=0.01 * len(ar) + 0.01)
        assert sum(r["wrap_s"] for r in ar) == pytest.approx(t.wrap, abs=0.01 * len(ar) + 0.01)
        still = core.now - a.since if a.state in ("available", "ringing") else 0.0  # open at the end: credited at the closes
        assert sum(r["available_s"] + r["ringing_s"] for r in ar) == pytest.approx(t.idle + still, abs=0.01 * len(ar) + 0.01)
        for reason, secs in t.paused.items():
            assert sum(r["pause_s"].get(reason, 0) for r in ar) == pytest.approx(secs, abs=0.01 * len(ar) + 0.01)
        for r in ar:  # nobody is logged in for longer than the interval
            assert r["logged_in_s"] <= 1800.001


def test_day_follows_the_centres_zone():
    acc = IntervalAccumulator(lambda q: QueueConfig(q), "Asia/Shanghai")
    acc.offered("q", 1_700_064_000.0 - 1)  # 2023-11-15 23:59:59 Beijing
    assert acc.close(())[0]["day"] == "2023-11-15"
    assert acc.close(())[0]["day"] == "2023-11-16"  # 00:00 Beijing is 16:00 UTC the day before
    # New York, the night clocks went back (2023-11-05 02:00 EDT -> 01:00 EST): 50 half-hours that day.
    ny = IntervalAccumulator(lambda q: QueueConfig(q), "America/New_York")
    ny.offered("q", 1_699_156_800.0)  # 2023-11-05 00:00 EDT = 04:00 UTC
    days = [ny.close(())[0]["day"] for _ in range(52)]
    assert days.count("2023-11-05") == 50 and days[-1] == "2023-11-06"


@pytest.mark.parametrize("seed", [5])
async def test_live_writes_the_rows_replay_makes(db, seed):
    events = traffic(500, seed)
    end = (int(events[-1].ts // 1800) + 1) * 1800.0 + 5
    _, expected = replay_rows(events, end)
    svc = AcdService(db, config(), tick_s=None, snapshot_s=0, backfill_delay_s=None)
    last = events[0].ts
    for e in events:  # the live feed: a tick every 7 s between events, as the service's ticker does
        while e.ts - last > 7:
            last += 7
            svc.submit(ev.Tick(last))
        svc.submit(e)
        last = max(last, e.ts)
    svc.submit(ev.Tick(end))
    await svc.flush_all()
    async with db.sessions() as s:
        q = (await s.execute(select(QueueFact).order_by(QueueFact.interval_start, QueueFact.queue))).scalars().all()
        a = (await s.execute(select(AgentFact).order_by(AgentFact.interval_start, AgentFact.interface))).scalars().all()
        pauses: dict[tuple, dict] = {}
        for p in (await s.execute(select(AgentPauseFact))).scalars():
            pauses.setdefault((p.interval_start, p.interface), {})[p.reason] = p.seconds
    stored = [
        {"kind": "queue", "interval_start": int(r.interval_start.replace(tzinfo=UTC).timestamp()), "day": r.day.isoformat(), "key": r.queue,
         **{f: getattr(r, f) for f in QUEUE_FIELDS}}
        for r in q
    ] + [
        {"kind": "agent", "interval_start": int(r.interval_start.replace(tzinfo=UTC).timestamp()), "day": r.day.isoformat(), "key": r.interface,
         **{f: getattr(r, f) for f in AGENT_SUMS}, "pause_s": dict(sorted(pauses.get((r.interval_start, r.interface), {}).items()))}
        for r in a
    ]  # fmt: skip
    key = lambda r: (r["kind"], r["interval_start"], r["key"])  # noqa: E731
    assert len(expected) > 50
    assert sorted(stored, key=key) == sorted(expected, key=key)
