"""The live ACD runner: owns the pure core and does everything the core may
not — read the clock, talk to Asterisk (through the gateway), write to the
database, tell the realtime hub.

- `submit(event)` applies an event at once and never waits: the bridge's
  on_event callback, the desktop's disposition and the hooks' routing
  decisions all come in here, in order.
- Events the service makes itself (Tick, DispositionSubmitted, RouteDecided,
  CallbackRequested) are stamped by `stamp()`: the wall clock, but never
  earlier than the last event the core saw, so the core's clock never runs
  backwards when Asterisk's clock is a little ahead of ours.
- A 1 s Tick keeps wrap-up limits and KPI windows moving when Asterisk is quiet.
- Call records and agent intervals go into a bounded buffer that a flusher
  writes in batches at least once a second (acd/store.py).  When the database is
  unreachable the buffer moves to the spool (callcenter.spool: on local
  disk, survives a restart) and so does every later item, in order, until
  the spool has written them all back, each once.  Without a spool (tests,
  tools) the batch stays in the buffer and is retried; if that buffer is
  full, the item is logged at ERROR level in full (so it can be recovered
  from the log) and counted in `callcenter_acd_records_dropped_total`.
- PauseMember actions go to `gateway.queue_pause(interface, paused, reason)`,
  retried with back-off; a newer action for the same agent supersedes an
  older one still retrying.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd import callback_dial, queue_log, snapshot
from callcenter.acd import events as ev
from callcenter.acd.core import Core, CoreConfig, Output, PauseMember, QueueConfig
from callcenter.acd.models import AbandonMode, LiveCall, Queue
from callcenter.acd.store import SPOOLED, to_ts, write_batch
from callcenter.acd.warm import Rows, Today, WarmCore, restore_slices
from callcenter.db import Database, dialect_insert, is_unavailable
from callcenter.reports.store import partial_rows
from callcenter.realtime import trace
from callcenter.spool import Spool

log = logging.getLogger("callcenter.acd")

EVENTS = Counter("callcenter_acd_events_total", "Domain events applied to the ACD core")
CORE_SKIPS = Counter("callcenter_acd_core_errors_total", "Events the core could not apply (counted, skipped)")
BUFFERED = Gauge("callcenter_acd_persist_buffer_items", "Call records and intervals waiting to be written")
DROPPED = Counter("callcenter_acd_records_dropped_total", "Items refused because the persist buffer was full", ["kind"])
FLUSH_FAILURES = Counter("callcenter_acd_flush_failures_total", "Failed batch writes (retried)")
SEEN_KEY = "seen:"  # the calls-in-progress row that carries the time of the last write (write_snapshot)
BACKFILL_MARGIN_S = 60.0  # read queue_log this much either side of a blind window

ACTION_FAILURES = Counter("callcenter_acd_action_failures_total", "Failed gateway actions", ["final"])

Listener = Callable[[Output, Core], Any]


def queue_config(q: Queue) -> QueueConfig:
    return QueueConfig(
        name=q.name,
        sl_threshold_s=float(q.sl_threshold_s),
        short_abandon_s=float(q.short_abandon_s),
        abandon_mode=AbandonMode(q.abandon_mode).value,  # type: ignore[arg-type]
        wrap_up_s=float(q.wrap_up_s),
    )


class AcdService:
    def __init__(
        self,
        db: Database | None,
        config: CoreConfig | None = None,
        gateway: Any = None,
        *,
        clock: Callable[[], float] = time.time,
        tick_s: float | None = 1.0,
        flush_s: float = 1.0,
        batch_max: int = 500,
        buffer_max: int = 100_000,
        action_retries: int = 5,
        snapshot_s: float = 3.0,
        backfill_delay_s: float | None = 2.0,
        action_backoff_s: float = 0.5,
        spool: Spool | None = None,
        pbx: str = "default",
        fence: Callable[[AsyncSession], Any] | None = None,
        queue_log_table: str = "queue_log",
        warm: WarmCore | None = None,
    ) -> None:
        self.core = Core(config)
        self.pbx = pbx  # rows are keyed by it: several PBXs share one database
        self.warm = warm  # cluster: a follower's core restored ahead (acd/warm.py), taken at start
        self.fence = fence  # cluster: refuses the calls-in-progress write of a deposed leader
        self.db = db
        self.gateway = gateway
        self.clock = clock
        self.tick_s = tick_s
        self.flush_s = flush_s
        self.batch_max = batch_max
        self.buffer_max = buffer_max
        self.snapshot_s = snapshot_s
        self.backfill_delay_s = backfill_delay_s
        self.queue_log_table = queue_log_table  # this PBX's realtime queue_log (one table per site)
        self._seen_until: float | None = None  # the last moment the core heard from Asterisk
        self._blind_from: float | None = None  # ... before the link was lost (until the next Resync)
        self.action_retries = action_retries
        self.action_backoff_s = action_backoff_s
        self.spool = spool
        self._buffer: deque[tuple[str, dict[str, Any]]] = deque()
        self._live_written: dict[str, tuple[int, Any]] | None = None  # the calls in progress as last saved (None: unknown)
        self._listeners: list[Listener] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._actions: dict[str, asyncio.Task[None]] = {}
        self._awaiting: dict[tuple[str, str], asyncio.Future[Output]] = {}  # dispositions on their way through Asterisk
        self._wake = asyncio.Event()
        self._db_down_since: float | None = None
        self._core_errors = 0
        self.dropped = 0
        self.load_steps: dict[str, float] = {}  # how long each step of the last start's reload took (s)
        # Queued callbacks the core offers: dialled through the gateway, their tasks kept in step.
        self.callback_dialer = callback_dial.CallbackDialer(self)
        self._listeners.append(self.callback_dialer)

    # --- feeding the core -------------------------------------------------------

    def stamp(self) -> float:
        """Time for an event the service makes: the wall clock, never before the core's."""
        return max(self.core.now, self.clock())

    def submit(self, event: ev.Event) -> Output:
        """Apply one event now.  Never waits; safe as the bridge's on_event callback."""
        if event.__class__ is ev.LinkLost:
            # The new session's first events reach us before its Resync:
            # the blind window starts at the last event of the old one.
            if self._blind_from is None:
                self._blind_from = self._seen_until if self._seen_until is not None else self.core.now
            return Output(ts=self.core.now)
        if event.__class__ is ev.Resync and self.db is not None and self.backfill_delay_s is not None:
            since = self._blind_from if self._blind_from is not None else self._seen_until
            self._backfill_soon(since if since is not None else self.core.now, event.ts)
        if event.__class__ is ev.Resync:
            self._blind_from = None
        out = self.core.apply(event)
        EVENTS.inc()
        if event.__class__ is not ev.Resync and event.__class__ is not ev.Tick:
            self._seen_until = self.core.now
        if self._awaiting and event.__class__ is ev.UserEvent and event.name == ev.DISPOSITION_EVENT:
            d = ev.disposition_from(event)
            waiting = self._awaiting.get((d.interface, d.call_id))
            if waiting is not None and not waiting.done():
                waiting.set_result(out)
        if self.core.stats["errors"] != self._core_errors:
            self._core_errors = self.core.stats["errors"]
            CORE_SKIPS.inc()
            log.error("ACD core skipped an event it could not apply: %s", self.core.last_error)
        for kind, items in (("record", out.records), ("interval", out.intervals), ("fact", out.interval_rows), ("callback", out.callback_facts)):
            for item in items:
                self._persist(kind, item)
        for action in out.actions:
            self._act(action)
        for listener in list(self._listeners):
            try:
                result = listener(out, self.core)
                if inspect.isawaitable(result):
                    asyncio.ensure_future(result)
            except Exception:  # noqa: BLE001 - one bad listener must not stop the feed
                log.exception("ACD listener failed")
        return out

    def disposition(self, interface: str, call_id: str, code: str, note: str = "") -> Output:
        """Apply a disposition here and now (no AMI link to carry it)."""
        return self.submit(ev.DispositionSubmitted(self.stamp(), interface, call_id, code, note))

    async def submit_disposition(self, interface: str, call_id: str, code: str, note: str = "", timeout_s: float = 2.0) -> Output | None:
        """Close an agent's wrap-up.  The disposition goes to Asterisk as a
        CcDisposition UserEvent and the core applies it when Asterisk sends
        it back, so the AMI stream, and any capture of it, holds it where it
        happened: a replay gives the same wrap-up as the live run.  Without a
        link (AMI off, or down), it is applied here; the capture lacks it."""
        if self.gateway is not None:
            key = (interface, call_id)
            future: asyncio.Future[Output] = asyncio.get_running_loop().create_future()
            self._awaiting[key] = future
            try:
                await self.gateway.user_event(ev.disposition_fields(interface, call_id, code, note))
                return await asyncio.wait_for(asyncio.shield(future), timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of the round trip: apply it here
                log.warning("disposition of %s by %s not carried by Asterisk (%s: %s); applied locally", call_id, interface, type(exc).__name__, exc)
            finally:
                self._awaiting.pop(key, None)
            wrap = self.core.wrap_up_of(interface)
            if wrap is None or wrap["call_id"] != call_id:
                return None  # it arrived after all
        return self.disposition(interface, call_id, code, note)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """`listener(output, core)` after every event; returns the unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def configure(self, queue: QueueConfig) -> None:
        """A queue's settings changed (admin): new facts use them from now on."""
        self.core.configure(queue)

    # --- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        """Load queue settings and today's finished calls, then run."""
        if self.db is not None:
            try:
                await self._load()
            except Exception as exc:  # noqa: BLE001 - start anyway; KPIs start from zero
                log.error("ACD could not reload today's calls: %s: %s", type(exc).__name__, exc)
        if self.tick_s:
            self._tasks.append(asyncio.create_task(self._ticker(), name="acd-tick"))
        if self.db is not None:
            self._tasks.append(asyncio.create_task(self._flusher(), name="acd-flush"))
            if self.snapshot_s:
                self._tasks.append(asyncio.create_task(self._snapshotter(), name="acd-snapshot"))

    async def stop(self) -> None:
        if self.callback_dialer.tasks:
            await asyncio.wait(list(self.callback_dialer.tasks), timeout=5)
        for t in self._tasks + list(self._actions.values()):
            t.cancel()
        for t in self._tasks + list(self._actions.values()):
            try:
                await t
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        self._tasks.clear()
        self._actions.clear()
        if self.db is not None:
            self._persist_open_interval()
        if self.db is not None and self.snapshot_s:
            try:
                await asyncio.wait_for(self.write_snapshot(), 10)
            except Exception as exc:  # noqa: BLE001
                log.error("ACD stopped without saving its calls in progress: %s: %s", type(exc).__name__, exc)
        if self.db is not None and self._buffer:
            try:
                await asyncio.wait_for(self.flush_all(), 10)
            except Exception as exc:  # noqa: BLE001
                if self.spool is not None:
                    log.warning("ACD stopping with the database unreachable (%s); %d items spooled", exc, len(self._buffer))
                    self.spool.put(SPOOLED, *({"kind": kind, "item": item, "pbx": self.pbx} for kind, item in self._buffer))
                    self._buffer.clear()
                    return
                log.error("ACD stopped with %d unwritten items: %s", len(self._buffer), exc)
                for kind, item in self._buffer:
                    log.error("unwritten %s: %s", kind, json.dumps(item, ensure_ascii=False, default=str))

    def _persist_open_interval(self) -> None:
        """A graceful stop writes the open 30-minute interval's rows so far
        (up to the last event), marked partial; a restart inside the same
        interval resumes from them (`_load`), and its close replaces them."""
        now = self.core.now
        for r in self.core.open_interval_rows():
            r["until"] = now
            self._persist("fact", r)

    async def _load(self) -> None:
        """Today's finished calls back into a core (a warm standby's, with what
        was written since, or a new one: read in pages, restored a few ms at a
        time off to the side), then the calls in progress the last run saved."""
        assert self.db is not None
        t = time.monotonic()
        now = self.clock()
        got = await self.warm.take(now) if self.warm is not None else None
        if got is not None:
            self.core, ended = got
            self.load_steps["warm"] = 1
            self.load_steps["read"] = time.monotonic() - t
            calls = self.warm.today.counts["records"] if self.warm.today is not None else 0
        else:
            core = Core(self.core.config)
            async with self.db.sessions() as s:
                for q in (await s.execute(select(Queue))).scalars():
                    core.configure(queue_config(q))
                partial, until = await partial_rows(s, int(now // 1800) * 1800)
            today = Today(self.pbx, core.today_start(now))
            rows = Rows()
            await today.read(self.db, rows, check=False)
            self.load_steps["read"] = time.monotonic() - t
            t = time.monotonic()
            if partial and until is not None:  # stopped gracefully inside this interval: go on from its rows
                core.interval_facts.resume(partial, until)
            for _ in restore_slices(core, rows, now, budget_s=0.2):
                await asyncio.sleep(0)  # a new cluster leader's /readyz and clients are served meanwhile
            core.restore((), (), now)
            self.core = core
            self.load_steps["restore"] = time.monotonic() - t
            ended, calls = today.ended, today.counts["records"]
            log.info("ACD reloaded today's %d calls and %d agent intervals", calls, today.counts["intervals"])
        t = time.monotonic()
        # Heard from Asterisk until: the last call we wrote (or the day's
        # start): the first resync's backfill reads queue_log from there.
        self._seen_until = ended if ended is not None else self.core.today_start(now)
        async with self.db.sessions() as s:
            live_rows = (await s.execute(select(LiveCall).where(LiveCall.pbx == self.pbx))).scalars().all()
            live = [{"kind": r.kind, "key": r.key.split(":", 1)[1], "version": r.version, "data": r.data} for r in live_rows]
        if live:
            self._seen_until = max(self._seen_until or 0.0, *(to_ts(r.updated_at) or 0.0 for r in live_rows))
            n = snapshot.load(self.core, live, now)
            log.info("ACD goes on with %d calls in progress from the last run; the resync settles the rest", n)
        self.load_steps["live"] = time.monotonic() - t
        self.load_steps["calls"] = calls
        # No process listened from there until the first resync: the new
        # session's first events must not shrink that window.
        self._blind_from = self._seen_until

    def _backfill_soon(self, since: float, until: float) -> None:
        """After a resync, read queue_log for the window we could not see
        (backfill.py) once Asterisk has written it."""
        try:
            task = asyncio.get_running_loop().create_task(self._backfill(since, until), name="acd-backfill")
        except RuntimeError:
            return
        self._tasks.append(task)
        task.add_done_callback(lambda t: self._tasks.remove(t) if t in self._tasks else None)

    async def _backfill(self, since: float, until: float) -> None:
        assert self.db is not None and self.backfill_delay_s is not None
        await asyncio.sleep(self.backfill_delay_s)
        try:
            # The blind window with a margin before it, and on to now: a call
            # the resync had to estimate may have ended since (the core
            # corrects only what it estimated, and never makes twice a call
            # it knows, live, in wrap-up or finished).
            rows = await queue_log.read_rows(self.db, since - BACKFILL_MARGIN_S, max(until, self.stamp()) + 5.0, self.queue_log_table)
        except Exception as exc:  # noqa: BLE001 - no queue_log table, or the database is down: nothing to correct with
            log.warning("queue_log backfill for %.0f..%.0f not read: %s: %s", since, until, type(exc).__name__, exc)
            return
        if rows:
            out = self.submit(ev.QueueLogRows(self.stamp(), rows))
            log.info("queue_log backfill %.0f..%.0f: %d rows, %d calls made or corrected", since, until, len(rows), len(out.records))

    async def _snapshotter(self) -> None:
        while True:
            await asyncio.sleep(self.snapshot_s)
            try:
                await self.write_snapshot()
            except Exception as exc:  # noqa: BLE001 - a database outage: the next round tries again
                log.debug("ACD snapshot not written: %s: %s", type(exc).__name__, exc)

    async def write_snapshot(self) -> None:
        """Bring the saved calls in progress up to the core's (a few hundred rows at most).

        Only the rows that changed since the last write are upserted, and
        those that ended deleted: a cluster leader writes twice a second,
        and rewriting every row each time was ~7 % of its py-spy samples
        (dump, JSON, SQL) and ~2 % of a core in PostgreSQL (bench/cluster.py:
        8.0 % before, 5.2-6.2 % after).  After
        a start or a failed write the whole set is rewritten.  A `seen` row,
        rewritten every time while calls are in progress, keeps the newest
        updated_at the moment of the last write (`_load` starts the
        backfill from there), as when every row was rewritten."""
        assert self.db is not None
        # A few ms of rows at a time, then the loop runs others: at 300 agents the
        # whole dump held a cluster leader's loop 30-450 ms twice a second (bench/cluster.py --trace).
        rows: dict[str, dict[str, Any]] = {}
        t_dump = time.monotonic()
        for r in snapshot.dump_iter(self.core):
            key = f"{r['kind']}:{r['key']}"
            data = r["data"] if r["kind"] == "queue" else snapshot.plain(r["data"])  # a copy: the cache must not share the core's lists
            rows[key] = {"pbx": self.pbx, "key": key, "kind": r["kind"], "version": r["version"], "data": data}
            if time.monotonic() - t_dump > 0.004:
                if trace.ON:
                    trace.span("acd_snapshot_dump", t_dump)
                await asyncio.sleep(0)
                t_dump = time.monotonic()
        if trace.ON:
            trace.span("acd_snapshot_dump", t_dump)
        now = datetime.now(UTC)
        if rows:
            rows[SEEN_KEY] = {"pbx": self.pbx, "key": SEEN_KEY, "kind": "seen", "version": snapshot.VERSION, "data": {}}
        written, self._live_written = self._live_written, None  # unknown until this write commits
        if written is None:
            changed, gone = list(rows.values()), None
        else:
            changed = [r for k, r in rows.items() if k == SEEN_KEY or written.get(k) != (r["version"], r["data"])]
            gone = [k for k in written if k not in rows]
        for r in changed:
            r["updated_at"] = now
        async with self.db.sessions() as s:
            if self.fence is not None:
                await self.fence(s)  # raises when a newer leader holds this PBX
            if gone is None:
                await s.execute(delete(LiveCall).where(LiveCall.pbx == self.pbx))
                if changed:
                    await s.execute(insert(LiveCall.__table__), changed)
            else:
                for i in range(0, len(gone), 500):
                    await s.execute(delete(LiveCall).where(LiveCall.pbx == self.pbx, LiveCall.key.in_(gone[i : i + 500])))
                if changed:
                    await s.execute(_upsert_live(s), changed)
            await s.commit()
        self._live_written = {k: (r["version"], r["data"]) for k, r in rows.items()}

    async def _ticker(self) -> None:
        assert self.tick_s
        while True:
            await asyncio.sleep(self.tick_s)
            self.submit(ev.Tick(self.stamp()))

    # --- gateway actions ----------------------------------------------------------

    def _act(self, action: PauseMember) -> None:
        if self.gateway is None:
            log.info("no AMI gateway: not sending %s", action)
            return
        old = self._actions.pop(action.interface, None)
        if old is not None:
            old.cancel()
        try:
            task = asyncio.get_running_loop().create_task(self._run_action(action))
        except RuntimeError:
            log.error("no event loop to send %s", action)
            return
        self._actions[action.interface] = task
        task.add_done_callback(lambda t: self._actions.pop(action.interface, None) if self._actions.get(action.interface) is t else None)

    async def _run_action(self, action: PauseMember) -> None:
        delay = self.action_backoff_s
        for attempt in range(1, self.action_retries + 1):
            try:
                await self.gateway.queue_pause(action.interface, action.paused, action.reason)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the gateway may fail in any way; retry
                final = attempt == self.action_retries
                ACTION_FAILURES.labels(str(final).lower()).inc()
                (log.error if final else log.warning)(
                    "gateway %s %s (%s) failed, attempt %d/%d: %s",
                    "pause" if action.paused else "unpause",
                    action.interface,
                    action.reason,
                    attempt,
                    self.action_retries,
                    exc,
                )
                if final:
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    # --- persistence ----------------------------------------------------------------

    def _persist(self, kind: str, item: dict[str, Any]) -> None:
        if self.db is None:
            return
        if self.spool is not None and (self.spool.busy(SPOOLED) or len(self._buffer) >= self.buffer_max):
            self.spool.put(SPOOLED, {"kind": kind, "item": item, "pbx": self.pbx})  # behind the ones already waiting, durably
            return
        if len(self._buffer) >= self.buffer_max:
            self.dropped += 1
            DROPPED.labels(kind).inc()
            log.error(
                "ACD persist buffer full (%d items, database %s): refusing %s %s",
                len(self._buffer),
                "down" if self._db_down_since else "slow",
                kind,
                json.dumps(item, ensure_ascii=False, default=str),
            )
            return
        self._buffer.append((kind, item))
        BUFFERED.set(len(self._buffer))
        if len(self._buffer) >= self.batch_max:
            self._wake.set()

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def readiness(self) -> dict[str, Any]:
        ok = len(self._buffer) < self.buffer_max and self._db_down_since is None
        out = {"ok": ok, "buffered": len(self._buffer), "dropped": self.dropped, "core_errors": self._core_errors}
        if self.spool is not None:
            out["spooled"] = self.spool.busy(SPOOLED)
        return out

    async def _flusher(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.flush_s)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush_all()
            except Exception:  # noqa: BLE001 - logged in flush(); retried next round
                pass

    async def flush_all(self) -> int:
        n = 0
        while self._buffer:
            n += await self.flush()
        return n

    async def flush(self) -> int:
        """Write one batch.  If the database is unreachable and there is a
        spool, everything buffered moves there; otherwise, on failure, the
        batch goes back (in order) and the error is raised."""
        if self._db_down_since is not None and self.spool is not None and not self.spool.busy(SPOOLED):
            log.warning("ACD writes back to the database after %.0f s (the spool is written)", self.clock() - self._db_down_since)
            self._db_down_since = None
        if not self._buffer or self.db is None:
            return 0
        batch = [self._buffer.popleft() for _ in range(min(self.batch_max, len(self._buffer)))]
        try:
            await self._write(batch)
        except asyncio.CancelledError:
            self._buffer.extendleft(reversed(batch))  # stopping mid-write: stop() writes it again
            raise
        except Exception as exc:
            self._buffer.extendleft(reversed(batch))
            FLUSH_FAILURES.inc()
            if self.spool is not None and is_unavailable(exc):
                n = len(self._buffer)
                self.spool.mark_down(exc)
                self.spool.put(SPOOLED, *({"kind": kind, "item": item, "pbx": self.pbx} for kind, item in self._buffer))
                self._buffer.clear()
                if self._db_down_since is None:
                    self._db_down_since = self.clock()
                    log.error("ACD cannot write to the database (%s: %s); %d items spooled, and what follows", type(exc).__name__, exc, n)
                return n
            if self._db_down_since is None:
                self._db_down_since = self.clock()
                log.error("ACD cannot write to the database (%s: %s); holding %d items and retrying", type(exc).__name__, exc, len(self._buffer))
            raise
        finally:
            BUFFERED.set(len(self._buffer))
        if self._db_down_since is not None:
            log.warning("ACD database writes resumed after %.0f s", self.clock() - self._db_down_since)
            self._db_down_since = None
        return len(batch)

    async def _write(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        """One transaction per batch."""
        assert self.db is not None
        async with self.db.sessions() as s:
            await write_batch(s, batch, self.pbx)
            await s.commit()


def _upsert_live(s: AsyncSession) -> Any:
    """INSERT .. ON CONFLICT (pbx, key) DO UPDATE of calls-in-progress rows, on either dialect."""
    stmt = dialect_insert(s, LiveCall.__table__)
    return stmt.on_conflict_do_update(index_elements=["pbx", "key"], set_={c: stmt.excluded[c] for c in ("kind", "version", "data", "updated_at")})


def core_config_from(settings: Any) -> CoreConfig:
    """Day reset and zone from the settings (the core's days follow the zone's rules, DST included)."""
    tz = settings.tz
    offset = datetime.now(tz).utcoffset() or timedelta(0)
    reset = settings.day_reset
    return CoreConfig(day_reset_s=reset.hour * 3600 + reset.minute * 60, tz_offset_s=int(offset.total_seconds()), zone=settings.timezone)
