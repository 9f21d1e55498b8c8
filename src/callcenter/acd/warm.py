"""Today's finished calls for a restart or a new cluster leader, read by
id and kept warm.

`Today` reads what `Core.restore` takes (finished calls, agent intervals,
queued-callback facts of one PBX since the day began) as plain rows, in
keyset pages by id, and on each later read only the rows it has not seen.
A row whose id was handed out before a later one may commit after it (two
writers, a slow batch), so each read starts again below the oldest gap in
the ids it saw, for `lookback_s`: a gap older than that is a row that was
never written (a rolled-back batch, an upsert that skipped its row).

Rows are written once, except a call corrected by a queue_log backfill
(acd/store.py `write_batch` updates it in place) a few seconds after a
failover: a call the new leader's resync had to guess, including one the
old leader wrote, seen live, just before it died (the backfill reads
queue_log from a minute before the blind window).  So a standby holds back
the calls that ended in the last `hold_s`, reads them again once they are
older, and at promotion reads every one still held as it is then.  As a safety net,
every correction sets the source to ``backfill``: `Today` compares
today's ``backfill`` rows with those it handed out and says when one
changed (the standby is then restored again from scratch).

`WarmCore` is a cluster follower's standby: a `Core` restored from `Today`
in the background, a few milliseconds of rows at a time so the follower's
loop keeps serving its clients, and brought up to date on each read.  On
promotion (`take`) it reads what was written since, applies it, and gives
the core to the new leader's AcdService, which then loads only the calls
in progress.  Its figures are those a full reload would give (tests/acd/
test_warm.py): restore is additive and its windows roll with the clock;
its agents, made when it restored them, are made "now" at promotion.  The
open interval's report facts start at the interval, so the next
interval's core is restored in this one's last AHEAD_S (not across the
day's end); a core for other queue settings or other partial interval rows
(a graceful stop) is restored again, and one that missed a correction is
not used: the full reload runs, as on a single node's restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import literal_column, select

from callcenter.acd.core import Core, CoreConfig, QueueConfig
from callcenter.acd.models import AgentInterval, CallbackFact, CallRecord, Queue
from callcenter.acd.store import to_dt, to_ts

log = logging.getLogger("callcenter.acd")

HOLD_S = 300.0  # a standby holds back calls that ended this recently (a failover's backfill may still correct them)
AHEAD_S = 300.0  # a standby restores the next 30-minute interval's core this long before it starts

_R = CallRecord
RECORD_COLUMNS = (
    _R.id, _R.call_id, _R.uniqueid, _R.linkedid, _R.kind, _R.direction, _R.source, _R.queue, _R.caller_number, _R.caller_name,
    _R.entered_at, _R.answered_at, _R.ended_at, _R.wait_s, _R.sl_wait_s, _R.talk_s, _R.hold_s, _R.wrap_up_s, _R.agent, _R.agent_name,
    _R.outcome, _R.short_abandon, _R.timeline,
)  # fmt: skip
_I = AgentInterval
INTERVAL_COLUMNS = (_I.id, _I.interface, _I.state, _I.reason, _I.started_at, _I.ended_at)
_C = CallbackFact
CALLBACK_COLUMNS = (_C.id, _C.callback_id, _C.attempt, _C.kind, _C.at, _C.queue, _C.task, _C.agent, _C.entered_at, _C.requested_at)


def record_of(r: Any) -> dict[str, Any]:
    """A stored call as `Core.restore` reads it (no ring attempts, legs or notes: restore needs none)."""
    return {
        "call_id": r.call_id, "uniqueid": r.uniqueid, "linkedid": r.linkedid, "kind": r.kind.value, "direction": r.direction,
        "source": r.source, "queue": r.queue, "caller_number": r.caller_number, "caller_name": r.caller_name,
        "entered_at": to_ts(r.entered_at), "answered_at": to_ts(r.answered_at), "ended_at": to_ts(r.ended_at), "wait_s": r.wait_s,
        "sl_wait_s": r.sl_wait_s, "talk_s": r.talk_s, "hold_s": r.hold_s, "wrap_up_s": r.wrap_up_s, "agent": r.agent,
        "agent_name": r.agent_name, "outcome": r.outcome.value, "short_abandon": r.short_abandon,
        "inferred": any(t.get("kind") == "inferred" for t in r.timeline or []),
    }  # fmt: skip


def interval_of(r: Any) -> dict[str, Any]:
    return {"interface": r.interface, "state": r.state, "reason": r.reason, "started_at": to_ts(r.started_at), "ended_at": to_ts(r.ended_at)}


def callback_of(r: Any) -> dict[str, Any]:
    return {"callback_id": r.callback_id, "attempt": r.attempt, "kind": r.kind, "at": to_ts(r.at), "queue": r.queue, "task": r.task,
            "agent": r.agent, "entered_at": to_ts(r.entered_at), "requested_at": to_ts(r.requested_at)}  # fmt: skip


@dataclass
class _Table:
    """One table's read position: ids seen above `low`, gaps (first, last, first seen) that a late commit may fill."""

    columns: tuple[Any, ...]
    where: Callable[[float, str], list[Any]]
    shape: Callable[[Any], dict[str, Any]]
    low: int = 0  # every row with an id <= low has been read (or is given up on)
    seen: set[int] = field(default_factory=set)
    gaps: list[tuple[int, int, float]] = field(default_factory=list)


@dataclass
class Rows:
    """Rows read and not yet restored, in id order (callbacks: in time order
    within a read, as `load_facts` gives them; their counts add up in any order)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    intervals: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records) + len(self.intervals) + len(self.callbacks)


class Today:
    def __init__(self, pbx: str, day_start: float, *, lookback_s: float = 60.0, page: int = 5000, clock: Callable[[], float] = time.monotonic,
                 hold_s: float = HOLD_S, wall: Callable[[], float] = time.time):  # fmt: skip
        self.hold_s = hold_s
        self.wall = wall
        self.pbx = pbx
        self.day_start = day_start
        self.lookback_s = lookback_s
        self.page = page
        self.clock = clock
        self.counts = {"records": 0, "intervals": 0, "callbacks": 0}
        self.ended: float | None = None  # the latest end among the calls read (where a restart's backfill starts)
        self._backfilled: dict[int, dict[str, Any]] = {}  # backfill rows handed out, as they were
        self.held: dict[int, float] = {}  # calls a backfill may still correct, not handed out: id -> when they ended
        day = to_dt(day_start)
        self._tables = {
            "records": _Table(RECORD_COLUMNS, lambda d, p: [_R.entered_at >= day, _R.pbx == p], record_of),
            "intervals": _Table(INTERVAL_COLUMNS, lambda d, p: [_I.ended_at >= day, _I.pbx == p], interval_of),
            "callbacks": _Table(CALLBACK_COLUMNS, lambda d, p: [_C.at >= day, _C.pbx == p], callback_of),
        }

    async def read(self, db: Any, into: Rows, *, check: bool = True, hold: bool = False) -> bool:
        """Add the rows written since the last read (all of today's on the
        first) to `into`; True when a row handed out before was rewritten
        since (a backfill's correction).  hold: calls a backfill may still
        correct are held back (`read_held` reads them as they are then).
        Cancelled, it hands out nothing it has not added."""
        for name, table in self._tables.items():
            found = await self._read_table(db, table)
            # No await from here to the next table: the position moved, so the rows must be in `into`.
            if hold and name == "records":
                recent = self.wall() - self.hold_s
                for r in found:
                    end = to_ts(r.ended_at or r.entered_at) or 0.0
                    if end > recent:
                        self.held[r.id] = end
                found = [r for r in found if r.id not in self.held]
            shaped = [table.shape(r) for r in found]
            getattr(into, name).extend(sorted(shaped, key=_at) if name == "callbacks" else shaped)
            self.counts[name] += len(found)
            if name == "records":
                for r, d in zip(found, shaped, strict=True):
                    if d["ended_at"] and (self.ended is None or d["ended_at"] > self.ended):
                        self.ended = d["ended_at"]
                    if d["source"] == "backfill":
                        self._backfilled[r.id] = d
        return await self._rewritten(db) if check else False

    async def _read_table(self, db: Any, t: _Table) -> list[Any]:
        model = t.columns[0].class_
        now = self.clock()
        found: list[Any] = []
        ids: list[int] = []
        cursor = t.low
        while True:
            async with db.sessions() as s:
                q = select(*t.columns).where(*t.where(self.day_start, self.pbx), model.id > cursor).order_by(model.id).limit(self.page)
                page = (await s.execute(q)).all()
            ids.extend(r.id for r in page)
            found.extend(r for r in page if r.id not in t.seen)
            if len(page) < self.page:
                break
            cursor = page[-1].id
            await asyncio.sleep(0)  # a day's first read is many pages: let the loop serve in between
        # The gaps between the ids visible above `low`, kept (with when first seen) for lookback_s.
        gaps: list[tuple[int, int, float]] = []
        prev = t.low
        for i in ids:
            if i > prev + 1:
                a, b = prev + 1, i - 1
                since = min((g[2] for g in t.gaps if g[0] <= b and a <= g[1]), default=now)
                if now - since < self.lookback_s:
                    gaps.append((a, b, since))
            prev = i
        t.gaps = gaps
        t.seen.update(r.id for r in found)
        t.low = min((g[0] for g in gaps), default=(ids[-1] if ids else t.low) + 1) - 1
        t.seen = {i for i in t.seen if i > t.low}
        return found

    async def read_held(self, db: Any, into: Rows, *, before: float | None = None) -> None:
        """The held-back calls (those that ended before `before`; all: None)
        as they are now, corrected or not, into `into`."""
        ids = [i for i, end in self.held.items() if before is None or end < before]
        for lo in range(0, len(ids), 1000):
            async with db.sessions() as s:
                rows = (await s.execute(select(*RECORD_COLUMNS).where(_R.id.in_(ids[lo : lo + 1000])).order_by(_R.id))).all()
            into.records.extend(record_of(r) for r in rows)
            self.counts["records"] += len(rows)
            for r in rows:
                if r.ended_at is not None and (self.ended is None or to_ts(r.ended_at) > self.ended):
                    self.ended = to_ts(r.ended_at)
        for i in ids:
            del self.held[i]

    async def _rewritten(self, db: Any) -> bool:
        """A row handed out before that a backfill has corrected since."""
        t = self._tables["records"]
        async with db.sessions() as s:
            # 'backfill' as a literal: the partial index ix_call_records_backfill serves it (0.6 ms
            # at 100,000 calls of today, PostgreSQL); a bound value, planned generically, scanned them all (41 ms).
            q = select(*RECORD_COLUMNS).where(_R.entered_at >= to_dt(self.day_start), _R.pbx == self.pbx, _R.source == literal_column("'backfill'"))
            rows = (await s.execute(q)).all()
        for r in rows:
            if (r.id > t.low and r.id not in t.seen) or r.id in self.held:
                continue  # not handed out yet
            if self._backfilled.get(r.id) != record_of(r):
                log.info("ACD warm standby: call %s was corrected after it was read", r.call_id)
                return True
        return False


def _at(f: dict[str, Any]) -> float:
    return f["at"]


def restore_slices(core: Core, rows: Rows, now: float, budget_s: float = 0.004) -> Any:
    """`core.restore` of `rows`, taking them out of it as they go in, in
    slices of about `budget_s` (a generator: the caller may yield between
    them; stopped between two, the rest stays in `rows`)."""
    for name in ("records", "intervals", "callbacks"):
        items = getattr(rows, name)
        n = 64
        while items:
            t = time.monotonic()
            part = items[:n]
            if name == "records":
                core.restore(part, (), now)
            elif name == "intervals":
                core.restore((), part, now)
            else:
                core.restore((), (), now, part)
            del items[: len(part)]
            spent = time.monotonic() - t
            n = max(16, min(50_000, int(n * budget_s / spent) if spent > 0 else n * 2))
            yield


async def queue_configs(db: Any) -> list[QueueConfig]:
    from callcenter.acd.service import queue_config

    async with db.sessions() as s:
        return sorted((queue_config(q) for q in (await s.execute(select(Queue))).scalars()), key=lambda q: q.name)


class WarmCore:
    """A follower's core restored ahead of a promotion (see the module docstring)."""

    def __init__(self, db: Any, config: Callable[[], CoreConfig], pbx: str, *, clock: Callable[[], float] = time.time,
                 every_s: float = 2.0, lookback_s: float = 60.0, at: float | None = None, hold_s: float = HOLD_S) -> None:  # fmt: skip
        self.db = db
        self.hold_s = hold_s
        self.at = at  # restored for this moment (the next interval's start) rather than for the clock's
        self._next: WarmCore | None = None  # the core for the next interval, built in its last AHEAD_S
        self.config = config
        self.pbx = pbx
        self.clock = clock
        self.every_s = every_s
        self.lookback_s = lookback_s
        self.core: Core | None = None  # being restored (all of `today` but `pending`)
        self.today: Today | None = None
        self.pending = Rows()
        self.key: tuple[Any, ...] | None = None  # what the core was restored for
        self.builds = 0
        self._built = False  # the core has had all of today's rows once
        self._task: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        """Restored up to the last read (a promotion now reads and applies only what came since)."""
        return self.core is not None and not self.pending and self._built

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="acd-warm")

    async def stop(self) -> None:
        """Stop the background rounds (between two slices: the core stays whole)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database away: the next round tries again
                log.warning("ACD warm standby not refreshed: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(self.every_s)

    async def _key(self, now: float) -> tuple[Any, ...]:
        """What a full reload at `now` restores with: the config, the day, the
        30-minute interval, the queue settings, a graceful stop's partial rows."""
        from callcenter.reports.store import partial_rows

        config = self.config()
        now = max(now, self.at or now)
        interval = int(now // 1800) * 1800
        async with self.db.sessions() as s:
            partial, until = await partial_rows(s, interval)
        day = Core(config).today_start(now)
        return (repr(config), day, interval, tuple(await queue_configs(self.db)), repr(partial), until)

    async def _new_core(self, key: tuple[Any, ...]) -> None:
        from callcenter.reports.store import partial_rows

        core = Core(self.config())
        for q in key[3]:
            core.configure(q)
        if key[5] is not None:  # a graceful stop's rows for this interval: go on from them, as `_load` does
            async with self.db.sessions() as s:
                partial, until = await partial_rows(s, key[2])
            if partial and until is not None:
                core.interval_facts.resume(partial, until)
        if core.interval_facts.start is None:
            core.interval_facts.start = key[2]  # what restore sets at a full reload (ahead of it, for `at`)
        self.core, self.key, self.today, self.pending = core, key, Today(self.pbx, key[1], lookback_s=self.lookback_s, page=1000, hold_s=self.hold_s, wall=self.clock), Rows()
        self._built = False

    async def refresh(self) -> None:
        """Read what is new and restore it, a slice at a time; start again
        when the day, the interval, the settings or a stored row changed."""
        now = self.clock()
        self._roll(now)
        key = await self._key(now)
        if self.core is None or key != self.key:
            await self._new_core(key)
        assert self.core is not None and self.today is not None
        if await self.today.read(self.db, self.pending, hold=True):
            self.core = None  # a call handed out was corrected (not one held back): restored again from scratch next round
            return
        await self.today.read_held(self.db, self.pending, before=now - self.today.hold_s)
        for _ in restore_slices(self.core, self.pending, now):
            await asyncio.sleep(0)
        if not self._built:
            self._built = True
            self.builds += 1
            log.info("ACD warm standby: today's %d calls restored ahead%s", self.today.counts["records"], " for the next interval" if self.at else "")
        # The interval's facts start again at its end: the core for the next one is restored in this one's last minutes
        # (not across the day's end: that one starts empty).
        nxt = (int(now // 1800) + 1) * 1800
        if self.at is None and nxt - now <= AHEAD_S and Core(self.config()).today_start(nxt) == key[1]:
            if self._next is None or self._next.at != nxt:
                self._next = WarmCore(self.db, self.config, self.pbx, clock=self.clock, lookback_s=self.lookback_s, at=nxt, hold_s=self.hold_s)
            await self._next.refresh()

    def _roll(self, now: float) -> None:
        """Past the next interval's start: its core is the one to keep on."""
        n = self._next
        if n is None or now < n.at:  # type: ignore[operator]
            return
        self._next = None
        if n.core is not None:
            self.core, self.today, self.pending, self.key, self._built = n.core, n.today, n.pending, n.key, n._built

    async def take(self, now: float) -> tuple[Core, float | None] | None:
        """At promotion: the core with everything written so far, as a full
        reload at `now` gives it, and the latest call end read; None when
        there is none to give (not started, or stale: the full reload runs)."""
        await self.stop()
        self._roll(now)
        core, today = self.core, self.today
        self.core = None
        if core is None or today is None:
            return None
        if await self._key(now) != self.key:
            log.info("ACD warm standby is stale (day, interval, queue settings or a graceful stop since): full reload")
            return None
        today.page = 5000  # the rest of the day, if its first read was still going: as fast as it reads
        if await today.read(self.db, self.pending, hold=True):
            return None
        await today.read_held(self.db, self.pending)  # after the others: their order only matters past RECENT_CALLS
        for _ in restore_slices(core, self.pending, now, budget_s=0.2):
            await asyncio.sleep(0)  # a few rows since the last round; the rest of the day if it was still restoring
        core.restore((), (), now)  # the clock where a full reload puts it
        for a in core.agent_states.by_interface.values():
            a.since = core.now  # made "now", as a full reload makes them (a warm core hears no events: all logged out)
        return core, today.ended
