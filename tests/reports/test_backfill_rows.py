"""A queue_log backfill (acd/backfill.py) that corrects calls of an interval
already written reaches its 30-minute rows: the core emits signed delta
rows, the store adds them to the written rows and their day rows.  Real
Asterisk 22.10.1 capture (tests/acd/test_resync.py): 张伟 answered after
1 s, talk 4 s; 刘洋 abandoned after 4 s; the AMI link lost until both hung up."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from callcenter.acd import events as ev
from callcenter.acd import kpi
from callcenter.acd.core import Core
from callcenter.acd.queue_log import rows_from_file
from callcenter.ami.bridge import build_resync
from callcenter.reports.models import QueueDay, QueueFact
from callcenter.reports.store import write_facts

from ..acd.test_resync import CAPTURE, events, play, split

INTERVAL = 1795654800  # 2026-11-26 the capture's half hour (its calls at 1795655360)
FIELDS = ("offered", "answered", "abandoned", "handled", "sl_met", "sl_counted")


def scenario() -> tuple[Core, list[dict], list[dict]]:
    """(core, the rows written before the backfill, the backfill's rows)."""
    before, _, status, _ = split()
    core = Core()
    written: list[dict] = []
    for e in events(before):
        written += core.apply(e).interval_rows
    nobody = [f for f in status if f.get("Event") != "QueueEntry"]
    for e in (build_resync(nobody, [], 1795655370.0), ev.Tick(INTERVAL + 1800 + 60)):  # the interval closes: its rows are written
        written += core.apply(e).interval_rows
    rows = rows_from_file(CAPTURE.with_suffix(".queue_log").read_text("utf-8"))
    fixes = core.apply(ev.QueueLogRows(INTERVAL + 1800 + 120, rows)).interval_rows
    return core, written, fixes


def test_the_backfill_emits_deltas_that_make_the_rows_agree_with_the_kpis():
    core, written, fixes = scenario()
    assert fixes and all(r["delta"] and r["interval_start"] == INTERVAL for r in fixes)
    row = next(r for r in written if r["kind"] == "queue" and r["key"] == "repairs" and r["interval_start"] == INTERVAL)
    fix = next(r for r in fixes if r["kind"] == "queue" and r["key"] == "repairs")
    k = core.queues["repairs"].kpi.window("total", core.now)
    slots = {"offered": kpi.OFFERED, "answered": kpi.ANSWERED, "abandoned": kpi.ABANDONED, "handled": kpi.HANDLED,
             "sl_met": kpi.SL_MET, "sl_counted": kpi.SL_COUNTED}  # fmt: skip
    corrected = {f: row[f] + fix[f] for f in FIELDS}
    assert corrected == {f: k[s] for f, s in slots.items()}
    assert (corrected["offered"], corrected["answered"], corrected["abandoned"]) == (2, 1, 1)
    again = core.apply(ev.QueueLogRows(INTERVAL + 1800 + 130, rows_from_file(CAPTURE.with_suffix(".queue_log").read_text("utf-8"))))
    assert all(r[f] == 0 for r in again.interval_rows for f in FIELDS)  # a second pass changes nothing


async def test_the_store_adds_the_deltas_to_the_written_rows_and_days(db):
    _, written, fixes = scenario()
    async with db.sessions() as s:
        await write_facts(s, written)
        await s.commit()
    async with db.sessions() as s:
        await write_facts(s, fixes)
        await s.commit()
    at = datetime.fromtimestamp(INTERVAL, UTC)
    async with db.sessions() as s:
        fact = (await s.execute(select(QueueFact).where(QueueFact.interval_start == at, QueueFact.queue == "repairs"))).scalar_one()
        day = (await s.execute(select(QueueDay).where(QueueDay.day == fact.day, QueueDay.queue == "repairs"))).scalar_one()
    row = next(r for r in written if r["kind"] == "queue" and r["key"] == "repairs" and r["interval_start"] == INTERVAL)
    fix = next(r for r in fixes if r["kind"] == "queue" and r["key"] == "repairs")
    for f in FIELDS:
        assert getattr(fact, f) == row[f] + fix[f] == getattr(day, f), f
    assert (fact.offered, fact.answered, fact.abandoned) == (2, 1, 1)
