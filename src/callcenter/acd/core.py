"""The ACD core: domain events in, state and outputs out.  Pure: no I/O,
no clock reads (time comes from ``event.ts``), no randomness.

`Core.apply(event) -> Output` is the one entry point; the live service and
`callcenter replay` both feed it and nothing else.  It routes each event
down the core, top to bottom:

    events.py    the input language (typed AMI events + our own)
    channels.py  channels, bridges, Local pairs            } the call tracker:
    calls.py     calls, legs, transfers -> call facts       } every call
    queues.py    queue calls: waiting, members rung, outcome   } the queue ACD
    talk.py      ... answered: talk, hold, transfers              }
    dialplan.py  ... what our dialplan adds: recording, route     }
    direct.py    calls outside queues: outbound, internal, direct, IVR
    qcallbacks.py queued callbacks: a key press keeps the caller's place
    agents.py    membership, pauses, states, wrap-up, time per state
    kpi.py       the windows and the formulas
    views.py     read models for the wallboard, desktop and API
    resync.py    reconciling with Asterisk's lists after a reconnect
    backfill.py  ... and with its queue_log for what we could not see

The service (service.py) persists `out.records` / `out.intervals`, carries
out `out.actions` through the gateway, and tells the realtime hub which
views changed (`out.agents`, `out.queues`, `out.calls`, `out.pops`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from callcenter.acd import events as ev
from callcenter.acd.days import DayClock
from callcenter.acd import kpi, views
from callcenter.acd.agents import Agent, Agents
from callcenter.acd.backfill import apply_backfill
from callcenter.acd.calls import Tracker
from callcenter.acd.common import (  # noqa: F401 - the core's public names
    UNSPECIFIED,
    WRAP_REASON,
    CoreConfig,
    Output,
    PauseMember,
    QueueConfig,
    ScreenPop,
    Timers,
)
from callcenter.acd.dialplan import DialplanFacts
from callcenter.acd.direct import DirectCall, DirectCalls
from callcenter.acd.qcallbacks import QueuedCallbacks
from callcenter.acd.queues import (  # noqa: F401
    EXIT_GRACE_S,
    LINGER_S,
    OUTCOME_SLOT,
    QueueCall,
    Queues,
    QueueState,
)
from callcenter.acd.resync import apply_resync
from callcenter.acd.talk import Talk
from callcenter.reports.intervals import IntervalAccumulator


# Events the service makes or that come another way than Asterisk's own AMI feed.
_NOT_HEARD = frozenset({
    ev.Tick, ev.Resync, ev.QueueLogRows, ev.PbxBooted, ev.DispositionSubmitted, ev.RouteDecided, ev.CallbackRequested,
})  # fmt: skip


class Core:
    def __init__(self, config: CoreConfig | None = None) -> None:
        self.config = config or CoreConfig()
        self.now = 0.0
        self.heard = 0.0  # the last event Asterisk itself sent (not a Tick, a resync, a backfill ...)
        self.crashed_at: float | None = None  # the PBX restarted while we were blind: its calls died about here
        self.timers = Timers()
        self.days = DayClock(self.config.zone, self.config.day_reset_s)  # "today" in the centre's zone, DST included
        self.tracker = Tracker()
        self.agent_states = Agents(self.config, self.timers, self.day_of, self.day_start)
        self.queue_acd = Queues(self.config, self.timers, self.tracker, self.agent_states, self.kpiset)
        self.queue_acd.talk = self.talk = Talk(self.queue_acd)
        self.queue_acd.dialplan = self.dialplan = DialplanFacts(self.queue_acd)
        self.direct = DirectCalls(self.tracker, self.agent_states)
        self.direct.queue_talking = self._in_a_queue
        self.agent_states.on_wrap_done = self._wrap_done
        self.qcallbacks = QueuedCallbacks(self.queue_acd, self.agent_states, self.direct)
        self.queue_acd.on_callback = self.qcallbacks.requested
        # What the core skipped and why: odd input is counted, never raised.
        self.stats: dict[str, int] = {"events": 0, "errors": 0}
        for part in (self.tracker, self.agent_states, self.queue_acd):
            part.stats = self.stats
        self.last_error = ""
        for name in self.config.queues:
            self.queue_acd.queue(name)
        # The 30-minute report rows (reports/intervals.py), fed the same facts as the KPI windows.
        self.interval_facts = IntervalAccumulator(self.config.queue, self.config.zone)
        self.queue_acd.sink = self.agent_states.sink = self.interval_facts
        qa, ag, talk, dp = self.queue_acd, self.agent_states, self.talk, self.dialplan
        self._handlers: dict[type, Any] = {
            ev.CallerJoined: qa.joined,
            ev.CallerLeft: qa.left,
            ev.CallerAbandoned: qa.abandoned,
            ev.AgentCalled: qa.called,
            ev.AgentRingNoAnswer: qa.ring_no_answer,
            ev.AgentConnected: talk.connected,
            ev.AgentCompleted: talk.completed,
            ev.AgentDumped: qa.dumped,
            ev.DialEnded: qa.dial_ended,
            ev.MemberAdded: self._on_added,
            ev.MemberRemoved: ag.removed,
            ev.MemberPaused: self._on_paused,
            ev.MemberStatus: ag.status,
            ev.Hangup: qa.hangup,
            ev.Hold: self._on_hold,
            ev.Unhold: self._on_hold,
            ev.BridgeEntered: talk.bridge_entered,
            ev.RecordingStarted: self._on_recording,
            ev.RecordingStopped: self._on_recording,
            ev.VarSet: self._on_varset,
            ev.UserEvent: self._on_user_event,
            ev.Resync: self._on_resync,
            ev.PbxBooted: self._on_booted,
            ev.QueueLogRows: self._on_backfill,
            ev.OriginateResponded: self._on_originate,
            ev.DispositionSubmitted: self._on_disposition,
            ev.RouteDecided: dp.route,
            ev.CallbackRequested: self._on_callback_requested,
        }
        # Only the tracker needs these (and Tick only moves the clock).
        self._tracker_only = {
            ev.ChannelCreated,
            ev.ChannelStateChanged,
            ev.CallerIdChanged,
            ev.DialBegan,
            ev.LocalBridged,
            ev.BridgeLeft,
            ev.Tick,
        }

    # --- the parts, by the names the rest of the product uses ------------------

    @property
    def queues(self) -> dict[str, QueueState]:
        return self.queue_acd.by_name

    @property
    def agents(self) -> dict[str, Agent]:
        return self.agent_states.by_interface

    @property
    def calls(self) -> dict[str, QueueCall]:
        return self.queue_acd.calls

    @property
    def totals(self) -> kpi.KpiSet:
        return self.queue_acd.totals

    # --- entry point ------------------------------------------------------------

    def apply(self, event: ev.Event) -> Output:
        out = Output(ts=event.ts)
        self.stats["events"] += 1
        try:
            self._advance(event.ts, out)
            self.route(event, out)
            self.qcallbacks.dispatch(event.ts, out)
            if event.__class__ not in _NOT_HEARD:
                self.heard = max(self.heard, event.ts)
            for r in out.records:
                if r.get("kind") != "queue":
                    # A queue call made later for this caller (the backfill) must not take its id.
                    self.queue_acd.remember(r["call_id"])
                if r.get("direction") == "outbound" and r.get("kind") == "outbound":
                    self.interval_facts.outbound(r.get("queue") or "", r.get("agent"), self.now, r.get("answered_at") is not None)
        except Exception as exc:  # noqa: BLE001 - odd input must not stop the feed
            self.stats["errors"] += 1
            self.last_error = f"{type(event).__name__}: {type(exc).__name__}: {exc}"
        return out

    def route(self, event: ev.Event, out: Output) -> None:
        """One event down the core: the tracker first, then whoever reads it,
        then the tracker's facts to the queue ACD and the direct calls.
        (The resync sends the hangups it infers through here too.)"""
        facts = self.tracker.apply(event)
        out.facts.extend(facts)
        kind = type(event)
        handler = self._handlers.get(kind)
        if kind is ev.BlindTransfer or kind is ev.AttendedTransfer:
            self.talk.transferred(event, facts, out)  # type: ignore[arg-type]
        elif handler is not None:
            handler(event, out)
        elif kind not in self._tracker_only:
            self._skip("unhandled_event")
        if facts:
            self.talk.facts(facts, out)
            self.direct.facts(facts, event.ts, out)

    def _skip(self, why: str) -> None:
        self.stats[why] = self.stats.get(why, 0) + 1

    # --- time -------------------------------------------------------------------

    def _advance(self, ts: float, out: Output) -> None:
        """Move the clock to `ts`, firing due timers at their own deadlines."""
        if ts <= self.now:
            return
        if int(ts // 60) != int(self.now // 60):
            out.queues.update(self.queues)  # the sliding windows moved
        else:
            out.queues.update(name for name, q in self.queues.items() if q.waiting)  # waits grew
        while (due := self.timers.due(ts)) is not None:
            deadline, kind, key = due
            self._close_intervals(deadline, out)
            self._set_now(max(self.now, deadline))
            if kind == "wrap":
                self.agent_states.wrap_timer(key, deadline, out)
            elif kind == "exit":
                self.queue_acd.exit_timer(key, deadline, out)
            elif kind == "linger":
                self.talk.linger_timer(key, deadline, out)
            elif kind == "cboffer":
                self.qcallbacks.offer_timer(key, deadline, out)
            # A timer may free an agent or a callback: offer at the deadline, live or replayed.
            self.qcallbacks.dispatch(deadline, out, force=True)
        self._close_intervals(ts, out)
        self._set_now(ts)

    def _close_intervals(self, ts: float, out: Output) -> None:
        """Every 30-minute boundary event time has reached closes an interval."""
        acc = self.interval_facts
        if acc.start is None:
            acc.start = int(ts // 1800) * 1800
        while acc.due(ts):
            out.interval_rows.extend(acc.close(self.open_states()))

    def open_states(self) -> Iterable[tuple[str, str, str, float, float | None, str]]:
        return ((a.interface, a.state, a.reason, a.since, a.pause_since, a.pause_open) for a in self.agents.values())

    def open_interval_rows(self) -> list[dict[str, Any]]:
        """This interval's report rows so far (reports read them with the written ones)."""
        return self.interval_facts.peek(self.open_states(), self.now)

    def _set_now(self, ts: float) -> None:
        self.now = ts
        self.queue_acd.now = ts

    def day_of(self, ts: float) -> int:
        return self.days.day_of(ts)

    def day_start(self, day_id: int) -> float:
        return self.days.start(day_id)

    def today_start(self, now: float) -> float:
        """When "today" began, for a clock reading `now` (epoch s)."""
        return self.day_start(self.day_of(now))

    def kpiset(self) -> kpi.KpiSet:
        return kpi.KpiSet(self.days)

    def configure(self, queue: QueueConfig) -> None:
        """New settings for a queue; facts from now on use them."""
        self.config.queues[queue.name] = queue
        self.queue_acd.queue(queue.name)

    # --- events that several parts read -------------------------------------------

    def _on_hold(self, e: ev.Hold | ev.Unhold, out: Output) -> None:
        if self.direct.by_phone.get(e.uniqueid) is not None and self.queue_acd.by_uid.get(e.uniqueid) is None:
            self.direct.hold(e, out)
        else:
            self.talk.hold(e, out)

    def _on_recording(self, e: ev.RecordingStarted | ev.RecordingStopped, out: Output) -> None:
        if self.queue_acd.call(e.uniqueid, e.linkedid) is None and isinstance(e, ev.RecordingStarted):
            if self.direct.recording(e.uniqueid, None, e.ts):
                return
        self.dialplan.recording(e, out)

    def _on_varset(self, e: ev.VarSet, out: Output) -> None:
        name = e.variable.upper()
        if name in ("MIXMONITOR_FILENAME", "CC_RECORDING") and self.queue_acd.call(e.uniqueid, e.linkedid) is None:
            if self.direct.recording(e.uniqueid, e.value, e.ts):
                return
        self.dialplan.varset(e, out)

    def _on_user_event(self, e: ev.UserEvent, out: Output) -> None:
        name = e.name.lower()
        if name == "queueresult":
            self.queue_acd.queue_result(e.uniqueid or e.get("Uniqueid"), e.get("Status"), e.ts, out)
        elif name == ev.DISPOSITION_EVENT.lower():
            d = ev.disposition_from(e)
            self._on_disposition(d, out)
        elif name == "cccallback" and e.get("Status"):
            uid = e.get("Uniqueid") or e.uniqueid
            self.dialplan.callback(uid, "", e.ts, out)
            self.qcallbacks.task_known(uid, e.get("Task"))
        elif name == "ccoutbound":
            self.qcallbacks.outbound(e, out)

    def _on_added(self, e: ev.MemberAdded, out: Output) -> None:
        self.agent_states.added(e, out)
        a = self.agent_states.get(e.interface)
        if a is not None and not e.paused:
            self.qcallbacks.unpaused(a, "login", e.ts, out)  # free to app_queue at once, as after an unpause

    def _on_paused(self, e: ev.MemberPaused, out: Output) -> None:
        a = self.agent_states.get(e.interface)
        m = a.queues.get(e.queue) if a is not None else None
        before = (m.paused, m.reason) if m is not None else (False, "")
        self.agent_states.paused(e, out)
        if a is not None and before[0] and not e.paused:
            self.qcallbacks.unpaused(a, before[1], e.ts, out)

    def _on_callback_requested(self, e: ev.CallbackRequested, out: Output) -> None:
        self.dialplan.callback(e.uniqueid, e.number, e.ts, out)

    def _on_originate(self, e: ev.OriginateResponded, out: Output) -> None:
        self.direct.originate_failed(e, out)
        self.qcallbacks.originate_failed(e, out)

    def _on_disposition(self, e: ev.DispositionSubmitted, out: Output) -> None:
        self.agent_states.disposition(e.interface, e.call_id, e.code, e.note, e.ts, out)

    def _in_a_queue(self, thread: Any) -> bool:
        """Is this tracker call still in one of its queue calls (waiting,
        ringing or talking)?  After that, a transfer takes it on as a direct call."""
        for call_id in thread.queue_calls:
            c = self.queue_acd.calls.get(call_id)
            if c is not None and (c.outcome is None or (c.outcome == "answered" and c.talk_end is None)):
                return True
        return False

    def _wrap_done(self, call: Any, out: Output) -> None:
        if isinstance(call, QueueCall):
            self.queue_acd.maybe_finish(call, out)
        elif isinstance(call, DirectCall):
            self.direct.wrap_done(call, out)

    def _on_backfill(self, e: ev.QueueLogRows, out: Output) -> None:
        """queue_log's rows for a blind window: the calls they make or correct
        also correct the 30-minute rows already written (signed delta rows)."""
        acc = self.interval_facts
        acc.correcting = True
        try:
            apply_backfill(self, e, out)
        finally:
            acc.correcting = False
        out.interval_rows.extend(acc.take_corrections())

    def _on_resync(self, e: ev.Resync, out: Output) -> None:
        apply_resync(self, e, out)
        self.crashed_at = None

    def _on_booted(self, e: ev.PbxBooted, out: Output) -> None:
        """Asterisk started after the last event we heard from it: it went
        down with its calls (a crash writes no hangups and no queue_log
        ends), so the resync ends them at that last moment, not now."""
        if self.heard and e.ts - e.uptime_s > self.heard + 1.0:
            self.crashed_at = self.heard

    # --- restart ----------------------------------------------------------------

    def restore(self, records: Iterable[dict[str, Any]], intervals: Iterable[dict[str, Any]], now: float,
                callbacks: Iterable[dict[str, Any]] = ()) -> None:  # fmt: skip
        """Put today's finished calls, agent intervals and queued-callback
        facts (dialled, reached: `Output.callback_facts`), from the database,
        back into the windows after a restart.  Records use the `records`
        shape with epoch-second times."""
        self._set_now(max(self.now, now))
        if self.interval_facts.start is None:  # earlier intervals are written: only this one is rebuilt
            self.interval_facts.start = int(self.now // 1800) * 1800
        qa, ag = self.queue_acd, self.agent_states
        for r in records:
            if r.get("inferred"):
                continue
            entered, wait = float(r["entered_at"]), float(r.get("wait_s") or 0.0)
            outcome = r["outcome"]
            end = float(r.get("ended_at") or entered + wait)
            q = r.get("queue") or ""
            if q:
                self._finished_from_record(r)
                sl_wait = r.get("sl_wait_s")
                sl_wait = max(0, int(entered + wait) - int(entered)) if sl_wait is None else int(sl_wait)
                qa.kpi_offered(q, entered)
                if outcome in OUTCOME_SLOT or outcome == "answered":
                    qa.kpi_exit(q, entered + wait, outcome, wait, sl_wait, bool(r.get("short_abandon")))
                if outcome == "answered":
                    qa.kpi_handled(q, end, float(r["talk_s"] or 0), float(r["hold_s"] or 0), float(r["wrap_up_s"] or 0))
            if outcome == "answered" and r.get("agent"):
                a = ag.agent(r["agent"], r.get("agent_name") or "", self.now)
                direction = r.get("direction") or "inbound"
                day = self.day_of(self.now)
                if a.day_id != day:
                    a.day_id, a.today = day, type(a.today)()
                if self.day_of(end) == day:
                    a.today.handled_call(direction, float(r["talk_s"] or 0))
                a.total.handled_call(direction, float(r["talk_s"] or 0))
        for iv in intervals:
            a = ag.agent(iv["interface"], "", self.now)
            ag.account(a, iv["state"], iv.get("reason") or "", float(iv["started_at"]), float(iv["ended_at"]))
        for f in callbacks:
            qa.kpi_callback(f)

    def _finished_from_record(self, r: dict[str, Any]) -> None:
        """Today's finished queue call, known again: a late queue_log
        backfill corrects it instead of making it a second time."""
        call = QueueCall(
            call_id=r["call_id"],
            uniqueid=r["uniqueid"],
            linkedid=r.get("linkedid") or r["call_id"],
            queue=r["queue"],
            caller_number=r.get("caller_number") or "",
            caller_name=r.get("caller_name") or "",
            entered_at=float(r["entered_at"]),
            position=1,
            state="ended",
            outcome=r["outcome"],
            answered_at=r.get("answered_at"),
            ended_at=r.get("ended_at"),
            agent=r.get("agent"),
            agent_name=r.get("agent_name") or "",
            talk_s=float(r.get("talk_s") or 0),
            hold_s=float(r.get("hold_s") or 0),
            wrap_up_s=float(r.get("wrap_up_s") or 0),
            sl_wait=r.get("sl_wait_s"),
            inferred=bool(r.get("inferred")),
            source=r.get("source") or "live",
            offered_counted=True,
            agent_counted=True,
            wrap_done=True,
        )
        call.left_at = call.answered_at if call.answered_at is not None else call.entered_at + float(r.get("wait_s") or 0)
        call.talk_end = (call.answered_at + call.talk_s + call.hold_s) if call.answered_at is not None else None
        self.queue_acd.keep_finished(call)
        self.queue_acd.remember(call.call_id)

    # --- views ------------------------------------------------------------------

    def queue_names(self) -> list[str]:
        return sorted(self.queues)

    def queue_view(self, name: str) -> dict[str, Any]:
        return views.queue_view(self, name)

    def totals_view(self, queues: list[str] | None = None) -> dict[str, Any]:
        return views.totals_view(self, queues)

    def agent_view(self, interface: str) -> dict[str, Any]:
        return views.agent_view(self, interface)

    def agent_totals(self, interface: str) -> dict[str, Any]:
        return views.agent_totals(self, interface)

    def call_view(self, call_id: str) -> dict[str, Any] | None:
        return views.call_view(self, call_id)

    def wallboard(self) -> dict[str, Any]:
        return views.wallboard(self)

    def wrap_up_of(self, interface: str) -> dict[str, Any] | None:
        return views.wrap_up_of(self, interface)
