"""The spool (callcenter.spool): durable across a restart, written back in
order and exactly once, a bad item set aside instead of blocking the rest;
and the ACD service's records and intervals going through it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from callcenter.acd import events as ev
from callcenter.acd.core import CoreConfig, QueueConfig
from callcenter.acd.models import AgentInterval, CallRecord
from callcenter.acd.service import AcdService
from callcenter.acd.store import SPOOLED
from callcenter.db import Database
from callcenter.hooks.models import SurveyResponse
from callcenter.hooks.writes import SURVEY
from callcenter.spool import Spool, SpoolApplied
from tests.acd.test_core_scenarios import day

from .test_api_outage import unreachable


def survey(uid: str, score: int, at: datetime | None = None) -> dict:
    return {"uniqueid": uid, "score": score, "scale": 5, "queue": "repairs", "agent": "", "number": "", "at": at or datetime.now(UTC)}


async def scores(db: Database) -> dict[str, int]:
    async with db.sessions() as s:
        return {r.uniqueid: r.score for r in (await s.execute(select(SurveyResponse))).scalars()}


async def test_the_spool_survives_a_restart_and_writes_each_item_once(db, tmp_path):
    path = tmp_path / "spool.db"
    spool = Spool(path)
    spool.put(SURVEY, survey("1.1", 3), survey("1.2", 4))
    spool.put(SURVEY, survey("1.1", 5))  # changed their mind: the later key wins
    spool.close()  # the process stops (or dies) here

    again = Spool(path)
    assert len(again) == 3 and again.busy(SURVEY)
    # Crash between the database commit and the spool's own bookkeeping:
    # the next replay must skip what already went in.
    forget = again._forget
    again._forget = lambda rows: (_ for _ in ()).throw(SystemExit("crash"))  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        await again.replay(db)
    again._forget = forget  # type: ignore[method-assign]
    assert len(again) == 3
    assert await again.replay(db) == 0  # all three were applied before the crash
    assert len(again) == 0 and not again.busy(SURVEY)
    assert await scores(db) == {"1.1": 5, "1.2": 4}
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(SpoolApplied)) == 3
    again.close()


async def test_an_unreachable_database_keeps_everything_waiting(db_url, db, tmp_path):
    spool = Spool(tmp_path / "spool.db")
    gone = unreachable(db_url, tmp_path)
    assert await spool.write(gone, SURVEY, survey("2.1", 2), budget_s=2.0) is None  # spooled
    assert await spool.write(db, SURVEY, survey("2.2", 3), budget_s=2.0) is None  # queued behind 2.1, in order
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the driver raises
        await spool.replay(gone)
    assert len(spool) == 2
    await gone.dispose()
    assert await spool.replay(db) == 2
    assert await spool.write(db, SURVEY, survey("2.3", 1), budget_s=2.0) is not None  # direct again
    assert await scores(db) == {"2.1": 2, "2.2": 3, "2.3": 1}


async def test_a_bad_item_is_set_aside_and_the_rest_goes_in(db, tmp_path):
    spool = Spool(tmp_path / "spool.db")
    spool.put(SURVEY, survey("3.1", 4), {**survey("3.2", 4), "no_such_column": 1}, survey("3.3", 2))
    assert await spool.replay(db) == 2
    assert await scores(db) == {"3.1": 4, "3.3": 2}
    [(kind, payload, error)] = spool.dead()
    assert kind == SURVEY and payload["uniqueid"] == "3.2" and "no_such_column" in error
    assert len(spool) == 0


async def test_acd_records_outlive_an_outage_and_a_restart(db_url, db, tmp_path):
    """The ACD service's buffer moves to the spool when the database is
    unreachable, later items follow it there, the process restarts, and
    everything is written once when the database is back."""
    config = lambda: CoreConfig(queues={"support": QueueConfig("support")})  # noqa: E731
    path = tmp_path / "spool.db"
    s, _ = day()
    half = len(s.events) // 2
    spool = Spool(path)
    svc = AcdService(unreachable(db_url, tmp_path), config(), tick_s=None, spool=spool)
    outs = [svc.submit(e) for e in s.events[:half]]
    assert await svc.flush_all() > 0  # not written: spooled
    assert svc.buffered == 0 and spool.busy(SPOOLED) and not svc.readiness()["ok"]
    outs += [svc.submit(e) for e in s.events[half:]]
    outs.append(svc.submit(ev.Tick(s.events[-1].ts + 600)))
    assert svc.buffered == 0  # straight to the spool, behind the rest
    partial = len(svc.core.open_interval_rows())  # a graceful stop writes the open interval's rows so far
    assert partial > 0
    await svc.stop()
    await svc.db.dispose()
    spool.close()

    n_records = sum(len(o.records) for o in outs)
    n_intervals = sum(len(o.intervals) for o in outs)
    n_facts = sum(len(o.interval_rows) for o in outs)  # the 30-minute report rows (reports/intervals.py)
    assert n_records == 6 and n_facts > 0
    restarted = Spool(path)
    assert len(restarted) == n_records + n_intervals + n_facts + partial
    assert await restarted.replay(db) == n_records + n_intervals + n_facts + partial
    svc2 = AcdService(db, config(), tick_s=None, spool=restarted)
    await svc2.flush()
    assert svc2.readiness()["ok"]
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CallRecord)) == n_records
        assert await session.scalar(select(func.count()).select_from(AgentInterval)) == n_intervals
        ids = sorted((await session.execute(select(CallRecord.call_id))).scalars())
    assert ids == sorted(r["call_id"] for o in outs for r in o.records)
