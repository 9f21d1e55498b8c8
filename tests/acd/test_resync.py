"""Resync after a blind window, on a real Asterisk 22.10.1 capture
(tests/fixtures/asterisk/22.10.1/resync_lists: 王芳 talks to 张伟 in
repairs, 刘洋 waits, 李娜 is paused; then the capture holds Asterisk's
replies to CoreShowChannels and QueueStatus, then everyone hangs up).

queue_log says: 张伟 answered by 王芳 after 1 s, talk 4 s; 刘洋 abandoned
after 4 s.  We play the capture with the AMI link "cut" for a stretch, give
the core the Resync the bridge makes from those very replies, and check
that every call comes out once, with the right outcome, agent and talk.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.acd import events as ev
from callcenter.acd.core import Core
from callcenter.ami.bridge import build_resync
from callcenter.ami.normaliser import EventStream
from callcenter.ami.replay import iter_frames

CAPTURE = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk" / "22.10.1" / "resync_lists.ami"
SNAPSHOT_TS = 1795655365.3  # the replies carry no Timestamp; the lists were taken ~4 s into the call


def split() -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """Events before the lists, the CoreShowChannels and QueueStatus replies, events after."""
    frames = list(iter_frames(CAPTURE))
    first = next(i for i, f in enumerate(frames) if f.get("Event") == "CoreShowChannel")
    last = max(i for i, f in enumerate(frames) if f.get("Event") == "QueueStatusComplete")
    lists = frames[first : last + 1]
    channels = [f for f in lists if f.get("Event") == "CoreShowChannel"]
    status = [f for f in lists if f.get("ActionID") == "cap-15"]  # the full QueueStatus
    return frames[:first], channels, status, frames[last + 1 :]


def events(frames: list[dict]) -> list[ev.Event]:
    stream = EventStream()
    out = []
    for f in frames:
        if "Event" in f and "ActionID" not in f:
            e = stream.event(f, 0.0)
            if e is not None:
                out.append(e)
    return out


def play(core: Core, evs: list[ev.Event]) -> list[dict]:
    records = []
    for e in evs:
        records += core.apply(e).records
    assert core.stats["errors"] == 0, core.last_error
    return records


def check(records: list[dict], core: Core) -> None:
    by_id = {r["call_id"]: r for r in records if r["kind"] == "queue"}
    assert set(by_id) == {"1795655360.300", "1795655361.304"}, "each call exactly once"
    answered, abandoned = by_id["1795655360.300"], by_id["1795655361.304"]
    assert (answered["outcome"], core.agents[answered["agent"]].name) == ("answered", "王芳")
    assert abs(answered["talk_s"] - 4.16) <= 1.0  # queue_log: 4 (connect .642 -> complete 365.805)
    assert abandoned["outcome"] == "abandoned" and abs(abandoned["wait_s"] - 4.0) <= 1.0


def test_blind_from_the_start_resync_rebuilds_the_answered_call_and_the_waiting_caller() -> None:
    before, channels, status, after = split()
    core = Core()
    resync = build_resync(status, channels, SNAPSHOT_TS)
    assert resync.channels_listed and len(resync.channels) == 6
    play(core, [resync])
    me = next(a for a in core.agents.values() if a.name == "王芳")
    assert core.agent_view(me.interface)["state"] == "on_call"
    assert [c["caller_number"] for c in core.queue_view("repairs")["callers"]] == ["13900000002"]
    records = play(core, events(after) + [ev.Tick(SNAPSHOT_TS + 600)])
    check(records, core)
    answered = next(r for r in records if r["call_id"] == "1795655360.300")
    assert answered["source"] == "resync" and answered["inferred"]  # estimated times: kept out of the KPIs


def test_blind_after_the_join_counts_the_answer_once() -> None:
    before, channels, status, after = split()
    join = next(i for i, e in enumerate(before) if e.get("Event") == "QueueCallerJoin")
    core = Core()
    play(core, events(before[: join + 1]))  # the link drops right after 张伟 joins
    play(core, [build_resync(status, channels, SNAPSHOT_TS)])
    records = play(core, events(after) + [ev.Tick(SNAPSHOT_TS + 600)])
    check(records, core)
    k = core.queue_view("repairs")["kpi"]["today"]
    assert (k["offered"], k["answered"], k["abandoned"]) == (2, 1, 1)


def test_calls_that_ended_while_blind_are_closed_once() -> None:
    """The link drops mid-call and comes back after everyone hung up: the
    resync finds no channels, and the call ends (talk up to the resync)."""
    before, _, status, _ = split()
    core = Core()
    records = play(core, events(before))
    nobody = [f for f in status if f.get("Event") != "QueueEntry"]  # the queues, with nobody waiting
    empty = build_resync(nobody, [], 1795655370.0)
    records += play(core, [empty, ev.Tick(1795655370.0 + 600)])
    by_id = {r["call_id"]: r for r in records if r["kind"] == "queue"}
    assert set(by_id) == {"1795655360.300", "1795655361.304"}
    assert by_id["1795655360.300"]["outcome"] == "answered"
    assert by_id["1795655361.304"]["inferred"]  # left while we were away: how, we cannot know
    assert not core.calls and not core.tracker.graph.channels


def test_a_restart_goes_on_from_the_snapshot() -> None:
    """serve stops mid-call (the snapshot is written), a new core loads it,
    the resync finds the call still up, and the call ends with its real
    answer time: talk as queue_log counts it, and counted once."""
    from callcenter.acd import snapshot

    before, channels, status, after = split()
    old = Core()
    play(old, events(before))
    rows = snapshot.dump(old)
    assert {r["kind"] for r in rows} == {"queue"} and len(rows) == 2
    new = Core()
    assert snapshot.load(new, rows, SNAPSHOT_TS) == 2
    me = next(a for a in new.agents.values() if a.name == "王芳")
    assert new.agent_view(me.interface)["state"] == "on_call"
    play(new, [build_resync(status, channels, SNAPSHOT_TS)])
    records = play(new, events(after) + [ev.Tick(SNAPSHOT_TS + 600)])
    check(records, new)
    answered = next(r for r in records if r["call_id"] == "1795655360.300")
    assert answered["answered_at"] == 1795655361.642731 and answered["source"] == "live" and not answered["inferred"]
    k = new.queue_view("repairs")["kpi"]["today"]
    assert (k["offered"], k["answered"], k["abandoned"]) == (2, 1, 1)


async def test_serve_restart_keeps_calls_in_progress(db) -> None:
    """The same through the service and the database (both backends): stop
    writes the calls in progress, a new service loads them at start."""
    from callcenter.acd.service import AcdService
    from tests.acd.test_service import stored_calls

    before, channels, status, after = split()
    first = AcdService(db, tick_s=None, snapshot_s=0.05, clock=lambda: SNAPSHOT_TS)
    await first.start()
    for e in events(before):
        first.submit(e)
    await first.stop()
    second = AcdService(db, tick_s=None, snapshot_s=0.05, clock=lambda: SNAPSHOT_TS)
    await second.start()
    assert set(second.core.calls) == {"1795655360.300", "1795655361.304"}
    for e in [build_resync(status, channels, SNAPSHOT_TS)] + events(after) + [ev.Tick(SNAPSHOT_TS + 600)]:
        second.submit(e)
    await second.flush_all()
    await second.stop()
    stored = {c["call_id"]: c for c in await stored_calls(db)}
    assert set(stored) == {"1795655360.300", "1795655361.304"}
    assert stored["1795655360.300"]["answered_at"] == 1795655361.642731
    assert abs(stored["1795655360.300"]["talk_s"] - 4.16) <= 1.0


async def test_the_calls_in_progress_write_touches_only_what_changed(db) -> None:
    """write_snapshot upserts the rows that changed and deletes those that
    ended; the `seen` row alone is rewritten each time (its updated_at is
    where a restart's backfill starts); a failed write makes the next one
    rewrite everything.  Both backends."""
    from sqlalchemy import select, update

    from callcenter.acd.models import LiveCall
    from callcenter.acd.service import SEEN_KEY, AcdService

    async def saved() -> dict[str, LiveCall]:
        async with db.sessions() as s:
            return {r.key: r for r in (await s.execute(select(LiveCall))).scalars()}

    before, channels, status, after = split()
    svc = AcdService(db, tick_s=None, snapshot_s=0, backfill_delay_s=None, clock=lambda: SNAPSHOT_TS)
    await svc.start()
    for e in events(before):
        svc.submit(e)
    await svc.write_snapshot()
    first = await saved()
    assert set(first) == {"queue:1795655360.300", "queue:1795655361.304", SEEN_KEY}
    async with db.sessions() as s:  # mark the rows: a rewrite would replace the mark
        await s.execute(update(LiveCall).values(version=-1))
        await s.commit()
    await svc.write_snapshot()  # nothing changed
    second = await saved()
    assert {k: r.version for k, r in second.items()} == {"queue:1795655360.300": -1, "queue:1795655361.304": -1, SEEN_KEY: 1}
    # The resync ends the call that is gone: its row goes.
    svc.submit(build_resync([f for f in status if f.get("Event") != "QueueEntry"], channels, SNAPSHOT_TS + 1))
    live = {f"queue:{c}" for c in svc.core.queue_acd.calls}
    await svc.write_snapshot()
    third = await saved()
    assert set(third) == live | {SEEN_KEY} and len(live) < 2
    # A failed write: the next one rewrites every row.
    async with db.sessions() as s:
        await s.execute(update(LiveCall).values(version=-1))
        await s.commit()

    async def refused(s: object) -> None:
        raise RuntimeError("a newer leader holds this PBX")

    svc.fence = refused
    with pytest.raises(RuntimeError):
        await svc.write_snapshot()
    svc.fence = None
    await svc.write_snapshot()
    assert set(await saved()) == live | {SEEN_KEY} and all(r.version == 1 for r in (await saved()).values())
    for e in events(after) + [ev.Tick(SNAPSHOT_TS + 600)]:
        svc.submit(e)
    await svc.write_snapshot()
    assert await saved() == {}  # no call in progress: no row, not even `seen`
    await svc.stop()


def test_the_snapshot_rows_are_what_dataclasses_asdict_gives() -> None:
    """snapshot.plain (the fast dump a cluster leader runs twice a second)
    gives the same rows as dataclasses.asdict, on a capture's live calls."""
    import dataclasses

    from callcenter.acd import snapshot

    before, _, _, _ = split()
    core = Core()
    play(core, events(before))
    calls = list(core.queue_acd.calls.values())
    assert calls and any(c.attempts for c in calls)
    for call in calls:
        assert snapshot.plain(call) == dataclasses.asdict(call)
    rows = snapshot.dump(core)
    assert [r["data"] for r in rows if r["kind"] == "queue"] == [dataclasses.asdict(c) for c in calls]


def test_queue_log_backfill_corrects_what_the_resync_could_only_estimate() -> None:
    """Blind until everyone hung up: the resync closes both calls at its own
    time (talk too long, outcome unknown); queue_log's rows for the window
    then give the real end, the real abandon, counted once."""
    from callcenter.acd.queue_log import rows_from_file

    before, _, status, _ = split()
    core = Core()
    records = play(core, events(before))
    nobody = [f for f in status if f.get("Event") != "QueueEntry"]
    records += play(core, [build_resync(nobody, [], 1795655370.0), ev.Tick(1795655370.0 + 600)])
    rows = rows_from_file(CAPTURE.with_suffix(".queue_log").read_text("utf-8"))
    fixed = play(core, [ev.QueueLogRows(1795655980.0, rows)])
    by_id = {r["call_id"]: r for r in fixed}
    assert set(by_id) == {"1795655360.300", "1795655361.304"} and all(r["correction"] for r in fixed)
    answered, abandoned = by_id["1795655360.300"], by_id["1795655361.304"]
    assert abs(answered["talk_s"] - 4.16) <= 1.0 and answered["source"] == "backfill"  # queue_log: COMPLETECALLER 4
    assert abandoned["outcome"] == "abandoned" and not abandoned["inferred"] and abandoned["wait_s"] == 4.0
    k = core.queue_view("repairs")["kpi"]["today"]
    assert (k["offered"], k["answered"], k["abandoned"]) == (2, 1, 1)  # each once, abandon counted now
    again = play(core, [ev.QueueLogRows(1795655990.0, rows)])
    assert again == [] or all(r["correction"] for r in again)
    assert core.queue_view("repairs")["kpi"]["today"]["offered"] == 2  # a second pass changes nothing


def test_queue_log_backfill_makes_a_call_we_never_saw() -> None:
    """Blind for the whole of both calls: nothing but queue_log knows them."""
    from callcenter.acd.queue_log import rows_from_file

    rows = rows_from_file(CAPTURE.with_suffix(".queue_log").read_text("utf-8"))
    core = Core()
    core.apply(ev.MemberAdded(1795655300.0, "repairs", "Local/8001@sim-phone/n", "王芳", 0, False, "", 1))
    made = play(core, [ev.QueueLogRows(1795655980.0, rows)])
    by_id = {r["call_id"]: r for r in made}
    assert set(by_id) == {"1795655360.300", "1795655361.304"}
    assert (by_id["1795655360.300"]["outcome"], by_id["1795655360.300"]["agent"]) == ("answered", "Local/8001@sim-phone/n")
    assert by_id["1795655361.304"]["outcome"] == "abandoned" and by_id["1795655361.304"]["source"] == "backfill"
    assert play(core, [ev.QueueLogRows(1795655990.0, rows)]) == []  # known now: not made twice


async def test_the_service_backfills_from_the_queue_log_table(db) -> None:
    """Both databases: Asterisk's realtime queue_log rows are in the table;
    after a resync that found everyone gone, the service reads the blind
    window's rows and the stored calls get queue_log's figures."""
    import asyncio

    from sqlalchemy import insert

    from callcenter.acd.service import AcdService
    from callcenter.ami import queue_log as fmt
    from callcenter.ami.models import QueueLogEntry
    from tests.acd.test_service import stored_calls

    lines = CAPTURE.with_suffix(".queue_log").read_text("utf-8").splitlines()
    async with db.sessions() as s:
        await s.execute(insert(QueueLogEntry.__table__), [fmt.parse_line(x).columns() for x in lines if x.strip()])
        await s.commit()
    before, _, status, _ = split()
    svc = AcdService(db, tick_s=None, snapshot_s=0, backfill_delay_s=0.0, clock=lambda: 1795655300.0)
    await svc.start()
    for e in events(before):
        svc.submit(e)
    nobody = [f for f in status if f.get("Event") != "QueueEntry"]
    svc.submit(build_resync(nobody, [], 1795655370.0))
    svc.submit(ev.Tick(1795655370.0 + 600))
    for _ in range(200):
        if svc.core.queue_acd.finished.get(("1795655361.304", "repairs")) and not svc.core.queue_acd.finished[("1795655361.304", "repairs")].inferred:
            break
        await asyncio.sleep(0.02)
    await svc.flush_all()
    await svc.stop()
    stored = {c["call_id"]: c for c in await stored_calls(db)}
    assert set(stored) == {"1795655360.300", "1795655361.304"}
    assert abs(stored["1795655360.300"]["talk_s"] - 4.16) <= 1.0
    assert stored["1795655361.304"]["outcome"] == "abandoned" and stored["1795655361.304"]["wait_s"] == 4.0


def test_backfill_never_doubles_a_call_in_its_wrap_up() -> None:
    """queue_log already says COMPLETECALLER while the agent is still in
    wrap-up (the call is not finished in the core, and the caller's channel
    is gone): the backfill must find it, not make a second one."""
    from callcenter.acd.queue_log import rows_from_file

    before, channels, status, after = split()
    core = Core()
    play(core, events(before) + events(after))  # seen live, to the end; 王芳 now in wrap-up
    assert "1795655360.300" in core.calls
    rows = rows_from_file(CAPTURE.with_suffix(".queue_log").read_text("utf-8"))
    assert play(core, [ev.QueueLogRows(1795655366.0, rows)]) == []


def _member(interface: str, paused: bool, reason: str) -> ev.MemberSnapshot:
    return ev.MemberSnapshot("repairs", interface, "王芳", 0, paused, reason, 1, False, 0, 0.0, 0.0)


def test_a_wrap_up_that_ended_while_blind_is_unpaused_at_the_resync() -> None:
    """The unpause at the end of a wrap-up failed (the link was down): the
    PBX still has the agent paused "wrap-up", taking no calls.  The resync
    sends it again; a person's own pause is left alone."""
    core = Core()
    out = core.apply(ev.Resync(100.0, members=(_member("PJSIP/8001", True, "wrap-up"), _member("PJSIP/8002", True, "午餐")), queues=("repairs",)))
    assert [(a.interface, a.paused, a.reason) for a in out.actions] == [("PJSIP/8001", False, "wrap-up")]
    # Asterisk confirms; the next resync has nothing to send.
    core.apply(ev.MemberPaused(101.0, "repairs", "PJSIP/8001", "王芳", False, ""))
    out = core.apply(ev.Resync(102.0, members=(_member("PJSIP/8001", False, ""), _member("PJSIP/8002", True, "午餐")), queues=("repairs",)))
    assert out.actions == []
