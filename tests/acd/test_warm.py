"""A follower's warm standby (acd/warm.py): today's calls restored ahead,
in reads by id, then what was written since at promotion, give the same
core as a full reload at that moment, on either database; and it is not
used when it cannot (a call corrected after it was read, another
30-minute interval), nor does a row committed late under a lower id escape it."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import insert

from callcenter.acd.core import Core
from callcenter.acd.models import CallRecord
from callcenter.acd.service import AcdService
from callcenter.acd.store import record_values, write_batch
from callcenter.acd.warm import Rows, Today, WarmCore

from .test_core_scenarios import T0, day
from .test_service import CONFIG


def figures(core: Core) -> dict:
    """Everything a reload puts back: the boards, the open interval's rows, the agents' totals, the calls it knows."""
    qa = core.queue_acd
    return {
        "now": core.now,
        "wallboard": core.wallboard(),
        "rows": core.open_interval_rows(),
        "agents": {i: (a.name, a.state, a.since, a.day_id, dataclasses.asdict(a.today), dataclasses.asdict(a.total))
                   for i, a in sorted(core.agent_states.by_interface.items())},  # fmt: skip
        "finished": list(qa._finished_order),  # noqa: SLF001
        "recent": list(qa._recent),  # noqa: SLF001
    }


def service(db, clock, warm=None) -> AcdService:  # noqa: ANN001
    return AcdService(db, CONFIG(), tick_s=None, snapshot_s=0, backfill_delay_s=None, clock=clock, warm=warm)


async def started(db, now: float, warm=None) -> AcdService:  # noqa: ANN001
    svc = service(db, lambda: now, warm)
    await svc.start()
    return svc


async def compare(db, now: float, warm: WarmCore, *, used: bool, calls: int = 6) -> None:  # noqa: ANN001
    hot = await started(db, now, warm)
    cold = await started(db, now)
    try:
        assert ("warm" in hot.load_steps) is used
        assert "warm" not in cold.load_steps
        a, b = figures(hot.core), figures(cold.core)
        # Calls held back go in later: the same calls remembered, in another order (it matters only past RECENT_CALLS).
        for k in ("finished", "recent"):
            a[k], b[k] = sorted(a[k]), sorted(b[k])
        assert a == b
        assert hot._seen_until == cold._seen_until  # noqa: SLF001 - where the first resync's backfill starts
        assert hot.load_steps["calls"] == cold.load_steps["calls"] == calls
    finally:
        await hot.stop()
        await cold.stop()


async def first_half(db, hold_s: float = 300.0):  # noqa: ANN001, ANN201
    """A leader that wrote half the day, and a follower's standby that read it."""
    s, _ = day()
    first = service(db, lambda: T0)
    half = len(s.events) // 2
    for e in s.events[:half]:
        first.submit(e)
    await first.flush_all()
    clock = [T0 + 300.0]
    warm = WarmCore(db, CONFIG, "default", clock=lambda: clock[0], hold_s=hold_s)
    await warm.refresh()
    assert warm.ready and warm.builds == 1
    return s, first, half, warm, clock


async def test_warm_and_incremental_reads_give_a_full_reloads_core(db):
    s, first, half, warm, clock = await first_half(db)
    for e in s.events[half : half + 10]:
        first.submit(e)
    await first.flush_all()
    clock[0] = T0 + 500
    await warm.refresh()  # only what is new
    assert warm.builds == 1
    for e in s.events[half + 10 :]:
        first.submit(e)
    await first.flush_all()  # written after the last round: read at promotion
    await compare(db, T0 + 700, warm, used=True)


async def test_a_graceful_stops_partial_rows_are_resumed_as_a_full_reload_does(db):
    s, first, half, warm, clock = await first_half(db)
    for e in s.events[half:]:
        first.submit(e)
    await first.stop()  # writes the open interval's rows, marked partial
    clock[0] = T0 + 650
    await warm.refresh()  # a graceful stop since: restored again, from those rows on
    assert warm.builds == 2
    await compare(db, T0 + 700, warm, used=True)


@pytest.mark.parametrize("source", ["resync", "live"])
async def test_a_call_a_backfill_may_correct_is_held_back_and_read_as_corrected(db, source):
    """A call that ended moments ago (a resync guessed its figures, or the
    old leader wrote it just before it died and the new one's resync guessed
    its end) may be corrected by the backfill after a standby read it: held
    back, and read as it is at promotion."""
    s, first, half, warm, clock = await first_half(db)
    outs = [first.submit(e) for e in s.events[half:]]
    await first.flush_all()
    answered = next(r for o in outs for r in o.records if r["outcome"] == "answered")
    guessed = {**answered, "call_id": "guessed-1", "uniqueid": "guessed-1", "linkedid": "guessed-1", "source": source}
    async with db.sessions() as sess:
        await write_batch(sess, [("record", guessed)])
        await sess.commit()
    await warm.refresh()
    assert list(warm.today.held) and warm.ready
    fixed = {**guessed, "talk_s": guessed["talk_s"] + 7.0, "source": "backfill", "correction": True}
    async with db.sessions() as sess:
        await write_batch(sess, [("record", fixed)])  # the backfill's correction: an update in place
        await sess.commit()
    await warm.refresh()
    assert warm.ready and warm.builds == 1  # nothing it handed out changed
    await compare(db, T0 + 700, warm, used=True, calls=7)


async def test_an_older_call_corrected_after_it_was_read_is_not_missed(db):
    """The safety net: were a call handed out corrected, the standby is not used."""
    s, first, half, warm, clock = await first_half(db, hold_s=0.0)
    outs = [first.submit(e) for e in s.events[half:]]
    await first.flush_all()
    await warm.refresh()
    answered = next(r for o in outs for r in o.records if r["outcome"] == "answered")
    fixed = {**answered, "talk_s": answered["talk_s"] + 7.0, "source": "backfill", "correction": True}
    async with db.sessions() as sess:
        await write_batch(sess, [("record", fixed)])  # a queue_log backfill's correction: an update in place
        await sess.commit()
    await compare(db, T0 + 700, warm, used=False)  # the full reload, with the corrected figures

    # A follower that keeps running starts again from scratch and is used again.
    warm = WarmCore(db, CONFIG, "default", clock=lambda: T0 + 650, hold_s=0.0)
    await warm.refresh()
    other = next(r for o in outs for r in o.records if r["outcome"] == "answered" and r["call_id"] != answered["call_id"])
    async with db.sessions() as sess:
        await write_batch(sess, [("record", {**other, "talk_s": other["talk_s"] + 1.0, "source": "backfill", "correction": True})])
        await sess.commit()
    await warm.refresh()
    assert warm.core is None
    await warm.refresh()
    assert warm.ready and warm.builds == 2
    await compare(db, T0 + 700, warm, used=True)


async def test_another_interval_is_a_full_reload_until_the_standby_is_rebuilt(db):
    s, first, half, warm, clock = await first_half(db)
    for e in s.events[half:]:
        first.submit(e)
    await first.flush_all()
    later = T0 + 1100  # the next 30-minute interval
    await compare(db, later, warm, used=False)
    warm = WarmCore(db, CONFIG, "default", clock=lambda: T0 + 600)  # not yet in the interval's last AHEAD_S
    await warm.refresh()
    assert warm._next is None  # noqa: SLF001
    clock[0] = later
    warm.clock = lambda: later
    await warm.refresh()
    assert warm.builds == 2
    await compare(db, later, warm, used=True)


async def test_a_row_committed_late_under_a_lower_id_is_read(db):
    s, _ = day()
    svc = service(db, lambda: T0)
    records = [r for e in s.events for r in svc.submit(e).records]
    mono = [0.0]
    today = Today("default", Core(CONFIG()).today_start(T0), lookback_s=60, clock=lambda: mono[0])

    async def put(rid: int, r: dict) -> None:
        async with db.sessions() as sess:
            await sess.execute(insert(CallRecord.__table__), [{**record_values(r), "pbx": "default", "id": rid}])
            await sess.commit()

    async def read() -> list[str]:
        rows = Rows()
        await today.read(db, rows)
        return [r["call_id"] for r in rows.records]

    await put(1000, records[0])
    await put(1010, records[1])
    assert await read() == [records[0]["call_id"], records[1]["call_id"]]
    await put(1005, records[2])  # its id was handed out before 1010's, its batch committed after
    mono[0] = 30
    assert await read() == [records[2]["call_id"]]
    assert await read() == []
    mono[0] = 100  # the gaps are older than lookback_s: rows never written
    assert await read() == []
    await put(1007, records[3])
    assert await read() == []  # given up on: a batch slower than lookback_s is not waited for
    await put(1020, records[4])
    assert await read() == [records[4]["call_id"]]


async def test_the_next_intervals_core_is_restored_in_this_ones_last_minutes(db):
    s, first, half, warm, clock = await first_half(db)
    for e in s.events[half:]:
        first.submit(e)
    await first.flush_all()
    clock[0] = T0 + 750  # 250 s before the next interval (T0 + 1000)
    await warm.refresh()
    assert warm._next is not None and warm._next.ready  # noqa: SLF001
    await compare(db, T0 + 1100, warm, used=True)


async def test_recent_calls_go_in_once_they_are_older(db):
    s, first, half, warm, clock = await first_half(db, hold_s=250.0)
    held = dict(warm.today.held)
    assert held  # c1 ended at T0 + 65: within the last 250 s of T0 + 300
    clock[0] = T0 + 65 + 250 + 10
    await warm.refresh()
    assert not set(held) & set(warm.today.held) and warm.ready
    await compare(db, T0 + 700, warm, used=True, calls=1)
