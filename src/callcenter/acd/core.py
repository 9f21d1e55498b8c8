"""The ACD core: domain events in, state and outputs out.  Pure: no I/O,
no clock reads (time comes from ``event.ts``), no randomness.

CONTRACT (other capabilities code against this; the implementation fills
it in without changing these names):

    core = Core(CoreConfig(queues={...}, day_reset_s=0, tz_offset_s=8*3600))
    out = core.apply(event)          # -> Output, for every event incl. Tick
    core.queue_view(name) -> dict    # JSON-ready live queue state + KPIs
    core.agent_view(interface) -> dict
    core.call_view(call_id) -> dict | None
    core.wallboard() -> dict         # {"queues": {...}, "agents": {...}, "totals": {...}}

The live service (acd/service.py) feeds it from the bridge and from the
desktop/hooks, executes `out.actions` through the gateway, persists
`out.records` / `out.intervals` in batches, and tells the realtime hub
which views changed (`out.agents`, `out.queues`, `out.calls`, `out.pops`).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from callcenter.acd import kpi
from callcenter.acd.calls import Tracker
from callcenter.acd.events import (
    AgentCalled,
    AgentCompleted,
    AgentConnected,
    AgentDumped,
    AgentRingNoAnswer,
    AttendedTransfer,
    BlindTransfer,
    BridgeEntered,
    BridgeLeft,
    CallbackRequested,
    CallerAbandoned,
    CallerJoined,
    CallerLeft,
    DialEnded,
    DispositionSubmitted,
    Event,
    Hangup,
    Hold,
    MemberAdded,
    MemberPaused,
    MemberRemoved,
    MemberStatus,
    RecordingStarted,
    RecordingStopped,
    Resync,
    RouteDecided,
    Tick,
    Unhold,
    UserEvent,
    VarSet,
)


@dataclass(frozen=True, slots=True)
class QueueConfig:
    name: str
    sl_threshold_s: float = 20.0
    short_abandon_s: float = 5.0
    abandon_mode: Literal["against", "ignore", "favour"] = "against"
    wrap_up_s: float = 60.0


@dataclass(slots=True)
class CoreConfig:
    queues: dict[str, QueueConfig] = field(default_factory=dict)
    default_queue: QueueConfig = field(default_factory=lambda: QueueConfig(name="*"))
    # "today" resets at this local time; local = UTC + tz_offset_s (the
    # service passes the configured zone's offset, so the core stays pure).
    day_reset_s: int = 0
    tz_offset_s: int = 8 * 3600

    def queue(self, name: str) -> QueueConfig:
        return self.queues.get(name) or QueueConfig(
            name=name,
            sl_threshold_s=self.default_queue.sl_threshold_s,
            short_abandon_s=self.default_queue.short_abandon_s,
            abandon_mode=self.default_queue.abandon_mode,
            wrap_up_s=self.default_queue.wrap_up_s,
        )


@dataclass(frozen=True, slots=True)
class PauseMember:
    """Ask the gateway to pause (paused=True) or unpause an interface in
    every queue it is in; reason "wrap-up" for the core's own wrap-up."""

    interface: str
    paused: bool
    reason: str


@dataclass(frozen=True, slots=True)
class ScreenPop:
    """Tell the agent's desktop a call is ringing, was answered, or is gone."""

    interface: str
    call_id: str
    phase: Literal["ringing", "answered", "cleared"]


@dataclass(slots=True)
class Output:
    ts: float
    agents: set[str] = field(default_factory=set)  # interfaces whose view changed
    queues: set[str] = field(default_factory=set)  # queues whose view/KPIs changed
    calls: set[str] = field(default_factory=set)  # call ids whose live view changed
    pops: list[ScreenPop] = field(default_factory=list)
    actions: list[PauseMember] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)  # finished calls, `replay --json` call shape + extras
    intervals: list[dict[str, Any]] = field(default_factory=list)  # closed agent state intervals
    facts: list[Any] = field(default_factory=list)  # the call tracker's facts (calls.Fact)



# --- internal state ---------------------------------------------------------------

EXIT_GRACE_S = 10.0  # how long a caller who left the queue may wait for its QUEUESTATUS
LINGER_S = 3600.0  # a transferred caller still talking after this is closed anyway
RECENT_CALLS = 20_000  # finished call ids remembered, so late events are recognised
HISTORY = 50  # closed intervals kept per agent for the desktop
PENDING_MAX = 10_000  # bound on per-channel facts waiting for their call (priority, route)

WRAP_REASON = "wrap-up"
UNSPECIFIED = "unspecified"

_STATUS_OUTCOME = {
    "TIMEOUT": "timeout",
    "LEAVEEMPTY": "left_empty",
    "JOINEMPTY": "left_empty",
    "LEAVEUNAVAIL": "left_empty",
    "JOINUNAVAIL": "left_empty",
    "FULL": "left_empty",
    "CONTINUE": "exit_key",
    "EXITWITHKEY": "exit_key",
}

_DIAL_RESULT = {
    "CANCEL": "cancelled",
    "BUSY": "busy",
    "CONGESTION": "busy",
    "NOANSWER": "no_answer",
    "CHANUNAVAIL": "unavailable",
}

_OUTCOME_SLOT = {
    "abandoned": kpi.ABANDONED,
    "timeout": kpi.TIMEOUTS,
    "left_empty": kpi.LEFT_EMPTY,
    "exit_key": kpi.EXIT_KEY,
    "callback_requested": kpi.CALLBACKS,
}


@dataclass(slots=True)
class _Attempt:
    agent: str
    name: str
    started_at: float
    dest_uniqueid: str
    ring_s: float | None = None
    result: str | None = None


@dataclass(slots=True)
class _Call:
    call_id: str
    uniqueid: str
    linkedid: str
    queue: str
    caller_number: str
    caller_name: str
    entered_at: float
    position: int
    priority: int = 0
    state: str = "waiting"  # waiting | ringing | talking | on_hold | wrap_up | ended
    route: dict[str, Any] | None = None
    attempts: list[_Attempt] = field(default_factory=list)
    left_at: float | None = None
    pending: str | None = None  # "abandon" | "left": out of the queue, outcome not known yet
    callback: bool = False
    outcome: str | None = None
    abandon_position: int | None = None
    answered_at: float | None = None
    agent: str | None = None
    agent_name: str = ""
    member_uid: str = ""
    hold_started: float | None = None
    hold_s: float = 0.0
    talk_end: float | None = None
    talk_s: float = 0.0
    transfer: dict[str, str] | None = None
    ended_at: float | None = None
    wrap_done: bool = False
    wrap_up_s: float = 0.0
    disposition: str | None = None
    disposition_note: str = ""
    recording_file: str | None = None
    inferred: bool = False
    legs: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def open_attempts(self) -> list[_Attempt]:
        return [a for a in self.attempts if a.result is None]


@dataclass(slots=True)
class _Membership:
    penalty: int = 0
    paused: bool = False
    reason: str = ""

    @property
    def not_ready(self) -> bool:
        """Paused by a person, not by the core's own wrap-up pause."""
        return self.paused and self.reason != WRAP_REASON


@dataclass(slots=True)
class _Wrap:
    call: _Call
    started: float
    deadline: float
    paused_by_us: bool


@dataclass(slots=True)
class _Totals:
    handled: int = 0
    talk: float = 0.0
    hold: float = 0.0
    wrap: float = 0.0
    idle: float = 0.0  # available or ringing
    paused: dict[str, float] = field(default_factory=dict)

    def add(self, state: str, reason: str, seconds: float) -> None:
        if seconds <= 0:
            return
        if state == "on_call":
            self.talk += seconds
        elif state == "on_hold":
            self.hold += seconds
        elif state == "wrap_up":
            self.wrap += seconds
        elif state in ("available", "ringing"):
            self.idle += seconds
        elif state == "paused":
            self.paused[reason] = self.paused.get(reason, 0.0) + seconds

    def occupancy(self) -> float | None:
        busy = self.talk + self.hold + self.wrap
        return busy / (busy + self.idle) if busy + self.idle > 0 else None


@dataclass(slots=True)
class _Agent:
    interface: str
    name: str
    state: str = "logged_out"
    reason: str = ""
    since: float = 0.0
    state_call: str | None = None
    queues: dict[str, _Membership] = field(default_factory=dict)
    ringing: set[str] = field(default_factory=set)
    call: _Call | None = None
    wrap: _Wrap | None = None
    busy_unknown: bool = False  # in a call we did not see start (found at resync)
    pause_reason: str = ""
    history: deque[tuple[str, str, float, float, str | None]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    day_id: int = -1
    today: _Totals = field(default_factory=_Totals)
    total: _Totals = field(default_factory=_Totals)


class _QueueState:
    __slots__ = ("name", "waiting", "members", "known", "kpi")

    def __init__(self, name: str, kpis: kpi.KpiSet) -> None:
        self.name = name
        self.waiting: dict[str, _Call] = {}
        self.members: set[str] = set()
        self.known: set[str] = set()
        self.kpi = kpis


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


class Core:
    def __init__(self, config: CoreConfig | None = None) -> None:
        self.config = config or CoreConfig()
        self.tracker = Tracker()
        self.now = 0.0
        self.calls: dict[str, _Call] = {}
        self._by_uid: dict[str, _Call] = {}
        self._by_linked: dict[str, _Call] = {}
        self._recent: deque[str] = deque()
        self._recent_set: set[str] = set()
        self.agents: dict[str, _Agent] = {}
        self.queues: dict[str, _QueueState] = {}
        self.totals = self._kpiset()
        self._prio: dict[str, int] = {}
        self._routes: dict[str, RouteDecided] = {}
        self._callbacks: dict[str, float] = {}
        self._timers: list[tuple[float, int, str, str]] = []
        self._seq = 0
        # What the core skipped and why: odd input is counted, never raised.
        self.stats: dict[str, int] = {"events": 0, "errors": 0}
        self.last_error = ""
        for name in self.config.queues:
            self._queue(name)
        self._handlers: dict[type, Any] = {
            CallerJoined: self._on_join,
            CallerLeft: self._on_leave,
            CallerAbandoned: self._on_abandon,
            AgentCalled: self._on_called,
            AgentRingNoAnswer: self._on_rna,
            AgentConnected: self._on_connect,
            AgentCompleted: self._on_complete,
            AgentDumped: self._on_dump,
            DialEnded: self._on_dial_end,
            MemberAdded: self._on_member_added,
            MemberRemoved: self._on_member_removed,
            MemberPaused: self._on_member_paused,
            MemberStatus: self._on_member_status,
            Hangup: self._on_hangup,
            Hold: self._on_hold,
            Unhold: self._on_unhold,
            BridgeEntered: self._on_bridge_enter,
            BridgeLeft: lambda e, out: None,
            BlindTransfer: self._on_blind,
            AttendedTransfer: self._on_attended,
            RecordingStarted: self._on_recording,
            RecordingStopped: self._on_recording,
            VarSet: self._on_varset,
            UserEvent: self._on_user_event,
            Resync: self._on_resync,
            Tick: lambda e, out: None,
            DispositionSubmitted: self._on_disposition,
            RouteDecided: self._on_route,
            CallbackRequested: self._on_callback,
        }

    # --- entry point ------------------------------------------------------------

    def apply(self, event: Event) -> Output:
        out = Output(ts=event.ts)
        self.stats["events"] += 1
        try:
            self._advance(event.ts, out)
            out.facts = self.tracker.apply(event)
            handler = self._handlers.get(type(event))
            if handler is None:
                self._skip("unhandled_event")
            else:
                handler(event, out)
        except Exception as exc:  # noqa: BLE001 - odd input must not stop the feed
            self.stats["errors"] += 1
            self.last_error = f"{type(event).__name__}: {type(exc).__name__}: {exc}"
        return out

    def _skip(self, why: str) -> None:
        self.stats[why] = self.stats.get(why, 0) + 1

    # --- time -------------------------------------------------------------------

    def _advance(self, ts: float, out: Output) -> None:
        """Move the clock to `ts`, firing due timers at their own deadlines so
        a replay without ticks and a live feed with ticks agree exactly."""
        if ts <= self.now:
            return
        if int(ts // 60) != int(self.now // 60):
            out.queues.update(self.queues)  # the sliding windows moved
        else:
            out.queues.update(name for name, q in self.queues.items() if q.waiting)  # waits grew
        while self._timers and self._timers[0][0] <= ts:
            deadline, _, kind, key = heapq.heappop(self._timers)
            self.now = max(self.now, deadline)
            if kind == "wrap":
                agent = self.agents.get(key)
                if agent and agent.wrap and agent.wrap.deadline <= deadline:
                    self._end_wrap(agent, agent.wrap.deadline, out)
            elif kind == "exit":
                call = self.calls.get(key)
                if call and call.pending and call.left_at is not None and call.left_at + EXIT_GRACE_S <= deadline:
                    # No hangup and no QUEUESTATUS: the caller is still alive, so not an abandon.
                    self._resolve(call, "timeout" if call.pending == "abandon" else "exit_key", deadline, out)
            elif kind == "linger":
                call = self.calls.get(key)
                if call and call.ended_at is None and call.talk_end is not None and call.talk_end + LINGER_S <= deadline:
                    call.ended_at = deadline
                    self._timeline(call, deadline, "closed", note="caller still connected after transfer")
                    self._maybe_finish(call, out)
        self.now = ts

    def _timer(self, deadline: float, kind: str, key: str) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (deadline, self._seq, kind, key))

    def _day_of(self, ts: float) -> int:
        return int((ts + self.config.tz_offset_s - self.config.day_reset_s) // kpi.DAY_S)

    def _day_start(self, day_id: int) -> float:
        return day_id * kpi.DAY_S - self.config.tz_offset_s + self.config.day_reset_s

    def today_start(self, now: float) -> float:
        """When "today" began, for a clock reading `now` (epoch s)."""
        return self._day_start(self._day_of(now))

    def configure(self, queue: QueueConfig) -> None:
        """New settings for a queue; facts from now on use them."""
        self.config.queues[queue.name] = queue
        self._queue(queue.name)

    # --- lookups ----------------------------------------------------------------

    def _kpiset(self) -> kpi.KpiSet:
        return kpi.KpiSet(self.config.tz_offset_s, self.config.day_reset_s)

    def _queue(self, name: str) -> _QueueState:
        q = self.queues.get(name)
        if q is None:
            q = self.queues[name] = _QueueState(name, self._kpiset())
        return q

    def _agent(self, interface: str, name: str = "") -> _Agent:
        a = self.agents.get(interface)
        if a is None:
            a = self.agents[interface] = _Agent(interface, name or interface, since=self.now)
        elif name and a.name != name:
            a.name = name
        return a

    def _call(self, uniqueid: str, linkedid: str = "") -> _Call | None:
        call = self._by_uid.get(uniqueid)
        if call is None and linkedid:
            call = self._by_linked.get(linkedid)
        return call

    def _late_or_unknown(self, uniqueid: str, linkedid: str = "") -> None:
        if linkedid in self._recent_set or uniqueid in self._recent_set:
            self._skip("late_event")
        else:
            self._skip("unknown_call")

    @staticmethod
    def _timeline(call: _Call, ts: float, what: str, **details: Any) -> None:
        call.timeline.append({"t": ts, "kind": what, **details})

    # --- KPI facts --------------------------------------------------------------

    def _kpi(self, queue: str, ts: float, pairs: tuple[tuple[int, float], ...]) -> None:
        self._queue(queue).kpi.add(ts, self.now, pairs)
        self.totals.add(ts, self.now, pairs)

    def _kpi_exit(self, queue: str, ts: float, outcome: str, wait: float, short: bool) -> None:
        met, counted = kpi.sl_decision(self.config.queue(queue), outcome, wait)
        pairs: list[tuple[int, float]] = [(kpi.MAX_WAIT, wait), (kpi.SL_MET, float(met)), (kpi.SL_COUNTED, float(counted))]
        if outcome == "answered":
            pairs += [(kpi.ANSWERED, 1.0), (kpi.WAIT_ANSWERED, wait)]
        else:
            pairs.append((_OUTCOME_SLOT[outcome], 1.0))
            if short:
                pairs.append((kpi.SHORT, 1.0))
        self._kpi(queue, ts, tuple(pairs))

    def _kpi_handled(self, queue: str, ts: float, talk: float, hold: float, wrap: float) -> None:
        self._kpi(queue, ts, ((kpi.HANDLED, 1.0), (kpi.TALK, talk), (kpi.HOLD, hold), (kpi.WRAP, wrap)))

    # --- agents -----------------------------------------------------------------

    def _derive(self, a: _Agent) -> tuple[str, str, str | None]:
        if not a.queues:
            return "logged_out", "", None
        if a.call is not None:
            return ("on_hold" if a.call.hold_started is not None else "on_call"), "", a.call.call_id
        if a.busy_unknown:
            return "on_call", "", None
        if a.wrap is not None:
            return "wrap_up", "", a.wrap.call.call_id
        if a.ringing:
            return "ringing", "", next(iter(a.ringing))
        if all(m.not_ready for m in a.queues.values()):
            return "paused", a.pause_reason or UNSPECIFIED, None
        return "available", "", None

    def _refresh(self, a: _Agent, ts: float, out: Output) -> None:
        state, reason, call_id = self._derive(a)
        if (state, reason) == (a.state, a.reason) and call_id == a.state_call:
            return
        self._close_interval(a, ts, out)
        a.state, a.reason, a.state_call, a.since = state, reason, call_id, max(ts, a.since)
        out.agents.add(a.interface)
        for qn in a.queues:
            out.queues.add(qn)

    def _close_interval(self, a: _Agent, ts: float, out: Output) -> None:
        start = a.since
        end = max(ts, start)
        self._account(a, a.state, a.reason, start, end)
        if end > start:
            a.history.append((a.state, a.reason, start, end, a.state_call))
            out.intervals.append(
                {
                    "interface": a.interface,
                    "state": a.state,
                    "reason": a.reason,
                    "started_at": start,
                    "ended_at": end,
                    "duration_s": round(end - start, 3),
                    "call_id": a.state_call,
                }
            )

    def _account(self, a: _Agent, state: str, reason: str, start: float, end: float) -> None:
        a.total.add(state, reason, end - start)
        day = self._day_of(end)
        if day != a.day_id:
            if day < a.day_id:
                return
            a.day_id, a.today = day, _Totals()
        a.today.add(state, reason, end - max(start, self._day_start(day)))

    def _not_ready(self, a: _Agent) -> bool:
        return bool(a.queues) and all(m.not_ready for m in a.queues.values())

    def _start_wrap(self, a: _Agent, call: _Call, ts: float, out: Output) -> None:
        limit = self.config.queue(call.queue).wrap_up_s
        if limit <= 0:
            call.wrap_done = True
            return
        if a.wrap is not None:
            self._end_wrap(a, ts, out)
        paused_by_us = not self._not_ready(a)
        a.wrap = _Wrap(call, ts, ts + limit, paused_by_us)
        call.state = "wrap_up"
        self._timer(ts + limit, "wrap", a.interface)
        if paused_by_us:
            out.actions.append(PauseMember(a.interface, True, WRAP_REASON))

    def _end_wrap(self, a: _Agent, ts: float, out: Output, code: str | None = None, note: str = "") -> None:
        w = a.wrap
        if w is None:
            return
        a.wrap = None
        call = w.call
        call.wrap_up_s = max(0.0, ts - w.started)
        call.wrap_done = True
        if code is not None:
            call.disposition, call.disposition_note = code, note
            self._timeline(call, ts, "disposition", code=code)
        else:
            self._timeline(call, ts, "wrap_up_end", reason="limit" if ts >= w.deadline else "interrupted")
        if w.paused_by_us and not self._not_ready(a):
            out.actions.append(PauseMember(a.interface, False, WRAP_REASON))
        self._refresh(a, ts, out)
        out.calls.add(call.call_id)
        self._maybe_finish(call, out)

    # --- calls ------------------------------------------------------------------

    def _remove_waiting(self, call: _Call) -> None:
        q = self.queues.get(call.queue)
        if q is None or q.waiting.pop(call.call_id, None) is None:
            return
        for other in q.waiting.values():
            if other.position > call.position:
                other.position -= 1

    def _end_attempt(self, call: _Call, att: _Attempt, ts: float, result: str, out: Output, ring_s: float | None = None) -> None:
        att.result = result
        att.ring_s = max(0.0, ts - att.started_at) if ring_s is None else ring_s
        if att.dest_uniqueid and att.dest_uniqueid in call.legs and result != "answered":
            call.legs[att.dest_uniqueid]["end"] = call.legs[att.dest_uniqueid]["end"] or ts
        a = self.agents.get(att.agent)
        if a is not None and call.call_id in a.ringing:
            a.ringing.discard(call.call_id)
            if result != "answered":
                out.pops.append(ScreenPop(a.interface, call.call_id, "cleared"))
            self._refresh(a, ts, out)
        if call.state == "ringing" and not call.open_attempts():
            call.state = "waiting"
        self._timeline(call, ts, "ring_end", agent=att.agent, result=result)
        out.calls.add(call.call_id)

    def _left_queue(self, call: _Call, ts: float, out: Output, cancel: bool = True) -> None:
        """Out of the waiting line.  A plain QueueCallerLeave comes just
        before AgentConnect, so it leaves the rings to the connect."""
        call.left_at = ts
        self._remove_waiting(call)
        if cancel:
            for att in call.open_attempts():
                self._end_attempt(call, att, ts, "cancelled", out)
        out.queues.add(call.queue)
        out.calls.add(call.call_id)

    def _resolve(self, call: _Call, outcome: str, ts: float, out: Output) -> None:
        """The caller left the queue unanswered; `outcome` says how."""
        if call.left_at is None:
            self._left_queue(call, ts, out)
        for att in call.open_attempts():
            self._end_attempt(call, att, ts, "cancelled", out)
        if call.callback or outcome == "callback_requested":
            outcome = "callback_requested"
        call.pending = None
        call.outcome = outcome
        wait = max(0.0, call.left_at - call.entered_at)  # type: ignore[operator]
        short = outcome == "abandoned" and wait < self.config.queue(call.queue).short_abandon_s
        if not call.inferred:
            self._kpi_exit(call.queue, call.left_at, outcome, wait, short)  # type: ignore[arg-type]
        call.state = "ended"
        if call.ended_at is None:
            call.ended_at = ts if outcome == "abandoned" else call.left_at
        self._timeline(call, ts, outcome)
        out.queues.add(call.queue)
        self._maybe_finish(call, out)

    def _end_talk(self, call: _Call, ts: float, out: Output, why: str) -> None:
        if call.talk_end is not None or call.answered_at is None:
            return
        ts = max(ts, call.answered_at)
        if call.hold_started is not None:
            call.hold_s += ts - call.hold_started
            call.hold_started = None
            self._timeline(call, ts, "unhold")
        call.talk_end = ts
        call.talk_s = max(0.0, ts - call.answered_at - call.hold_s)
        self._timeline(call, ts, "talk_end", by=why)
        a = self.agents.get(call.agent or "")
        if a is not None and a.call is call:
            a.call = None
            out.pops.append(ScreenPop(a.interface, call.call_id, "cleared"))
            self._start_wrap(a, call, ts, out)
            self._refresh(a, ts, out)
        else:
            call.wrap_done = True
        if call.state != "wrap_up":
            call.state = "ended" if call.ended_at is not None else "talking"
        if call.ended_at is None:
            self._timer(ts + LINGER_S, "linger", call.call_id)
        out.calls.add(call.call_id)
        out.queues.add(call.queue)
        self._maybe_finish(call, out)

    def _maybe_finish(self, call: _Call, out: Output) -> None:
        if call.outcome is None or call.ended_at is None:
            return
        if call.outcome == "answered" and (call.talk_end is None or not call.wrap_done):
            return
        if self.calls.pop(call.call_id, None) is None:
            return
        call.state = "ended"
        for uid in list(call.legs):
            if self._by_uid.get(uid) is call:
                del self._by_uid[uid]
        if self._by_linked.get(call.linkedid) is call:
            del self._by_linked[call.linkedid]
        self._remember(call.call_id)
        self._remember(call.linkedid)
        if call.outcome == "answered" and not call.inferred:
            self._kpi_handled(call.queue, self.now, call.talk_s, call.hold_s, call.wrap_up_s)
            a = self.agents.get(call.agent or "")
            if a is not None:
                a.total.handled += 1
                if self._day_of(self.now) >= a.day_id:
                    if self._day_of(self.now) > a.day_id:
                        a.day_id, a.today = self._day_of(self.now), _Totals()
                    a.today.handled += 1
                out.agents.add(a.interface)
        out.records.append(self._record(call))
        out.calls.add(call.call_id)
        out.queues.add(call.queue)

    def _remember(self, key: str) -> None:
        if not key or key in self._recent_set:
            return
        self._recent.append(key)
        self._recent_set.add(key)
        if len(self._recent) > RECENT_CALLS:
            self._recent_set.discard(self._recent.popleft())

    def _record(self, c: _Call) -> dict[str, Any]:
        if c.answered_at is not None:
            wait = c.answered_at - c.entered_at
        elif c.left_at is not None:
            wait = c.left_at - c.entered_at
        else:
            wait = 0.0
        short = c.outcome == "abandoned" and wait < self.config.queue(c.queue).short_abandon_s
        return {
            "call_id": c.call_id,
            "uniqueid": c.uniqueid,
            "queue": c.queue,
            "caller_number": c.caller_number,
            "caller_name": c.caller_name,
            "entered_at": c.entered_at,
            "answered_at": c.answered_at,
            "ended_at": c.ended_at,
            "wait_s": _r(max(0.0, wait)),
            "talk_s": _r(c.talk_s),
            "hold_s": _r(c.hold_s),
            "wrap_up_s": _r(c.wrap_up_s),
            "agent": c.agent,
            "agent_name": c.agent_name,
            "outcome": c.outcome,
            "short_abandon": short,
            "abandon_position": c.abandon_position if c.outcome == "abandoned" else None,
            "priority": c.priority,
            "disposition": c.disposition,
            "disposition_note": c.disposition_note,
            "recording_file": c.recording_file,
            "ring_attempts": [
                {"agent": a.agent, "ring_s": _r(a.ring_s or 0.0), "result": a.result or "cancelled", "started_at": a.started_at}
                for a in c.attempts
            ],
            "transfer": dict(c.transfer) if c.transfer else None,
            "legs": list(c.legs.values()),
            "timeline": c.timeline,
            "inferred": c.inferred,
        }

    # --- queue events -----------------------------------------------------------

    def _new_call_id(self, base: str) -> str:
        if base not in self.calls and base not in self._recent_set:
            return base
        n = 2
        while f"{base}-{n}" in self.calls or f"{base}-{n}" in self._recent_set:
            n += 1
        return f"{base}-{n}"

    def _on_join(self, e: CallerJoined, out: Output) -> None:
        existing = self._by_uid.get(e.uniqueid)
        if existing is not None and existing.uniqueid == e.uniqueid:
            if existing.queue == e.queue and existing.left_at is None:
                self._skip("duplicate")
                return
            # The same caller enters a queue again (e.g. blind-transferred to it):
            # the previous queue call ends here and a new one starts.
            if existing.pending:
                self._resolve(existing, "exit_key" if existing.pending == "left" else "timeout", e.ts, out)
            elif existing.answered_at is not None and existing.talk_end is None:
                self._end_talk(existing, e.ts, out, "requeued")
            if existing.ended_at is None:
                existing.ended_at = e.ts
                self._timeline(existing, e.ts, "requeued", queue=e.queue)
            self._maybe_finish(existing, out)
            if self._by_uid.get(e.uniqueid) is existing:
                del self._by_uid[e.uniqueid]
        call = _Call(
            call_id=self._new_call_id(e.linkedid or e.uniqueid),
            uniqueid=e.uniqueid,
            linkedid=e.linkedid or e.uniqueid,
            queue=e.queue,
            caller_number=e.caller_number,
            caller_name=e.caller_name,
            entered_at=e.ts,
            position=e.position,
            priority=self._prio.pop(e.uniqueid, 0),
        )
        route = self._routes.pop(e.uniqueid, None)
        if route is not None:
            call.route = _route_dict(route)
            call.priority = call.priority or route.priority
        if self._callbacks.pop(e.uniqueid, None) is not None:
            call.callback = True
        call.legs[e.uniqueid] = {"uniqueid": e.uniqueid, "channel": e.channel, "role": "caller", "start": e.ts, "end": None}
        self._timeline(call, e.ts, "queued", queue=e.queue, position=e.position)
        self._add_call(call)
        q = self._queue(e.queue)
        for other in q.waiting.values():
            if other.position >= e.position:
                other.position += 1
        q.waiting[call.call_id] = call
        self._kpi(e.queue, e.ts, ((kpi.OFFERED, 1.0),))
        out.queues.add(e.queue)
        out.calls.add(call.call_id)

    def _add_call(self, call: _Call) -> None:
        self.calls[call.call_id] = call
        self._by_uid[call.uniqueid] = call
        self._by_linked[call.linkedid] = call

    def _on_abandon(self, e: CallerAbandoned, out: Output) -> None:
        call = self._by_uid.get(e.uniqueid)
        if call is None or call.uniqueid != e.uniqueid:
            self._late_or_unknown(e.uniqueid, e.linkedid)
            return
        if call.pending == "abandon" or call.outcome is not None:
            self._skip("duplicate")
            return
        call.pending = "abandon"
        call.abandon_position = e.position
        self._left_queue(call, e.ts, out)
        if call.callback:
            self._resolve(call, "callback_requested", e.ts, out)
        else:
            self._timer(e.ts + EXIT_GRACE_S, "exit", call.call_id)

    def _on_leave(self, e: CallerLeft, out: Output) -> None:
        call = self._by_uid.get(e.uniqueid)
        if call is None or call.uniqueid != e.uniqueid:
            self._late_or_unknown(e.uniqueid, e.linkedid)
            return
        if call.left_at is not None or call.outcome is not None:
            return  # the leave that follows an abandon or a connect
        call.pending = "left"
        self._left_queue(call, e.ts, out, cancel=False)
        if call.callback:
            self._resolve(call, "callback_requested", e.ts, out)
        else:
            self._timer(e.ts + EXIT_GRACE_S, "exit", call.call_id)

    def _on_called(self, e: AgentCalled, out: Output) -> None:
        call = self._by_uid.get(e.uniqueid)
        if call is None or call.uniqueid != e.uniqueid or call.outcome is not None or call.left_at is not None:
            self._late_or_unknown(e.uniqueid, e.linkedid)
            return
        for att in call.open_attempts():
            if att.agent == e.interface and att.dest_uniqueid == e.dest_uniqueid:
                self._skip("duplicate")
                return
        a = self._agent(e.interface, e.member_name)
        if e.queue not in a.queues:
            self._member(a, e.queue)
        if a.wrap is not None:
            self._end_wrap(a, e.ts, out)
        call.attempts.append(_Attempt(e.interface, e.member_name, e.ts, e.dest_uniqueid))
        if e.dest_uniqueid:
            self._by_uid[e.dest_uniqueid] = call
            call.legs[e.dest_uniqueid] = {"uniqueid": e.dest_uniqueid, "channel": e.dest_channel, "role": "agent", "start": e.ts, "end": None}
        call.state = "ringing"
        a.ringing.add(call.call_id)
        self._timeline(call, e.ts, "ringing", agent=e.interface)
        out.pops.append(ScreenPop(e.interface, call.call_id, "ringing"))
        self._refresh(a, e.ts, out)
        out.calls.add(call.call_id)
        out.queues.add(call.queue)

    def _open_attempt(self, call: _Call, interface: str = "", dest_uid: str = "") -> _Attempt | None:
        for att in reversed(call.attempts):
            if att.result is None and ((dest_uid and att.dest_uniqueid == dest_uid) or (interface and att.agent == interface)):
                return att
        return None

    def _on_rna(self, e: AgentRingNoAnswer, out: Output) -> None:
        call = self._by_uid.get(e.uniqueid)
        if call is None:
            self._late_or_unknown(e.uniqueid, e.linkedid)
            return
        att = self._open_attempt(call, interface=e.interface)
        if att is None:
            self._skip("duplicate")
            return
        self._end_attempt(call, att, e.ts, "no_answer", out, ring_s=e.ring_time_s)

    def _on_dial_end(self, e: DialEnded, out: Output) -> None:
        call = self._by_uid.get(e.dest_uniqueid) or self._by_uid.get(e.uniqueid)
        if call is None:
            self._skip("ignored_channel")
            return
        status = e.status.upper()
        if status == "ANSWER":
            return  # AgentConnected says who answered
        att = self._open_attempt(call, dest_uid=e.dest_uniqueid)
        if att is None:
            return  # already ended by AgentRingNoAnswer / AgentConnected
        self._end_attempt(call, att, e.ts, _DIAL_RESULT.get(status, "failed"), out)

    def _on_dump(self, e: AgentDumped, out: Output) -> None:
        call = self._by_uid.get(e.uniqueid)
        if call is None:
            self._late_or_unknown(e.uniqueid, e.linkedid)
            return
        att = self._open_attempt(call, interface=e.interface)
        if att is not None:
            self._end_attempt(call, att, e.ts, "dumped", out)

    def _on_connect(self, e: AgentConnected, out: Output) -> None:
        call = self._by_uid.get(e.uniqueid)
        if call is None or call.uniqueid != e.uniqueid:
            self._late_or_unknown(e.uniqueid, e.linkedid)
            return
        if call.answered_at is not None or (call.outcome is not None and call.outcome != "answered"):
            self._skip("duplicate")
            return
        if call.left_at is None:
            self._left_queue(call, e.ts, out, cancel=False)
        call.pending = None
        att = self._open_attempt(call, interface=e.interface, dest_uid=e.dest_uniqueid)
        if att is None:
            att = _Attempt(e.interface, e.member_name, e.ts - e.ring_time_s, e.dest_uniqueid)
            call.attempts.append(att)
        a = self._agent(e.interface, e.member_name)
        if e.queue not in a.queues:
            self._member(a, e.queue)
        if a.wrap is not None:
            self._end_wrap(a, e.ts, out)
        a.ringing.add(call.call_id)
        self._end_attempt(call, att, e.ts, "answered", out, ring_s=e.ring_time_s)
        for other in call.open_attempts():  # ringall: the others are cancelled
            self._end_attempt(call, other, e.ts, "cancelled", out)
        call.answered_at = e.ts
        call.outcome = "answered"
        call.agent, call.agent_name = e.interface, e.member_name
        call.member_uid = e.dest_uniqueid
        call.state = "talking"
        if e.dest_uniqueid:
            self._by_uid[e.dest_uniqueid] = call
            call.legs.setdefault(
                e.dest_uniqueid, {"uniqueid": e.dest_uniqueid, "channel": e.dest_channel, "role": "agent", "start": e.ts, "end": None}
            )
        wait = max(0.0, e.ts - call.entered_at)
        if not call.inferred:
            self._kpi_exit(call.queue, call.left_at or e.ts, "answered", wait, False)
        self._timeline(call, e.ts, "answered", agent=e.interface)
        a.call = call
        a.busy_unknown = False
        out.pops.append(ScreenPop(e.interface, call.call_id, "answered"))
        self._refresh(a, e.ts, out)
        out.calls.add(call.call_id)
        out.queues.add(call.queue)

    def _on_complete(self, e: AgentCompleted, out: Output) -> None:
        call = self._by_uid.get(e.uniqueid)
        if call is None or call.answered_at is None:
            self._late_or_unknown(e.uniqueid, e.linkedid)
            return
        if call.talk_end is not None:
            return  # already ended by the hangup or the transfer
        if e.reason == "transfer" and call.transfer is None:
            call.transfer = {"kind": "unknown", "target": ""}
        self._end_talk(call, e.ts, out, e.reason or "complete")

    # --- membership -------------------------------------------------------------

    def _member(self, a: _Agent, queue: str) -> _Membership:
        m = a.queues.get(queue)
        if m is None:
            m = a.queues[queue] = _Membership()
            q = self._queue(queue)
            q.members.add(a.interface)
            q.known.add(a.interface)
        return m

    def _set_pause(self, a: _Agent, m: _Membership, paused: bool, reason: str) -> None:
        m.paused = paused
        m.reason = reason if paused else ""
        if paused and reason != WRAP_REASON:
            a.pause_reason = reason or UNSPECIFIED
            if a.wrap is not None:
                a.wrap.paused_by_us = False  # a person paused them: leave it to them

    def _on_member_added(self, e: MemberAdded, out: Output) -> None:
        a = self._agent(e.interface, e.member_name)
        m = self._member(a, e.queue)
        m.penalty = e.penalty
        self._set_pause(a, m, e.paused, e.paused_reason)
        self._membership_changed(a, e.queue, e.ts, out)

    def _on_member_removed(self, e: MemberRemoved, out: Output) -> None:
        a = self._known_member(e.interface, e.queue)
        if a is None:
            return
        del a.queues[e.queue]
        self._queue(e.queue).members.discard(e.interface)
        self._membership_changed(a, e.queue, e.ts, out)

    def _on_member_paused(self, e: MemberPaused, out: Output) -> None:
        a = self._known_member(e.interface, e.queue)
        if a is None:
            return
        self._set_pause(a, a.queues[e.queue], e.paused, e.reason)
        self._membership_changed(a, e.queue, e.ts, out)

    def _known_member(self, interface: str, queue: str) -> _Agent | None:
        """The agent, if they are a member of `queue`; else the event is skipped."""
        a = self.agents.get(interface)
        if a is None or queue not in a.queues:
            self._skip("unknown_member")
            return None
        return a

    def _membership_changed(self, a: _Agent, queue: str, ts: float, out: Output) -> None:
        self._refresh(a, ts, out)
        out.agents.add(a.interface)
        out.queues.add(queue)

    def _on_member_status(self, e: MemberStatus, out: Output) -> None:
        a = self._agent(e.interface, e.member_name)
        m = self._member(a, e.queue)
        if (m.paused, m.reason) != (e.paused, e.paused_reason if e.paused else ""):
            self._set_pause(a, m, e.paused, e.paused_reason)
        if a.busy_unknown and not e.in_call and e.status == 1:
            a.busy_unknown = False
        self._refresh(a, e.ts, out)

    # --- channels ---------------------------------------------------------------

    def _on_hangup(self, e: Hangup, out: Output) -> None:
        self._prio.pop(e.uniqueid, None)
        self._routes.pop(e.uniqueid, None)
        self._callbacks.pop(e.uniqueid, None)
        call = self._by_uid.get(e.uniqueid)
        if call is None:
            self._skip("ignored_channel")
            return
        leg = call.legs.get(e.uniqueid)
        if leg is not None and leg["end"] is None:
            leg["end"] = e.ts
        if e.uniqueid == call.uniqueid:
            if call.pending == "abandon":
                self._resolve(call, "abandoned", e.ts, out)
            elif call.pending == "left":
                self._resolve(call, "exit_key", e.ts, out)
            elif call.outcome is None:
                self._left_queue(call, e.ts, out)  # no QueueCallerAbandon seen: still an abandon
                self._resolve(call, "abandoned", e.ts, out)
            elif call.answered_at is not None and call.talk_end is None:
                self._end_talk(call, e.ts, out, "caller")
            if call.ended_at is None:
                call.ended_at = e.ts
            self._timeline(call, e.ts, "hangup", cause=e.cause)
            if self._by_uid.get(e.uniqueid) is call:
                del self._by_uid[e.uniqueid]
            self._maybe_finish(call, out)
            return
        att = self._open_attempt(call, dest_uid=e.uniqueid)
        if att is not None:
            self._end_attempt(call, att, e.ts, "no_answer", out)
        elif e.uniqueid == call.member_uid and call.answered_at is not None and call.talk_end is None:
            self._end_talk(call, e.ts, out, "agent")
        if self._by_uid.get(e.uniqueid) is call and e.uniqueid != call.member_uid:
            del self._by_uid[e.uniqueid]

    def _talking(self, uniqueid: str, linkedid: str) -> _Call | None:
        call = self._call(uniqueid, linkedid)
        if call is None or call.answered_at is None or call.talk_end is not None:
            return None
        return call

    def _on_hold(self, e: Hold, out: Output) -> None:
        call = self._talking(e.uniqueid, e.linkedid)
        if call is None or call.hold_started is not None:
            self._skip("hold_ignored")
            return
        call.hold_started = e.ts
        call.state = "on_hold"
        self._timeline(call, e.ts, "hold")
        self._agent_changed(call, e.ts, out)

    def _on_unhold(self, e: Unhold, out: Output) -> None:
        call = self._talking(e.uniqueid, e.linkedid)
        if call is None or call.hold_started is None:
            self._skip("hold_ignored")
            return
        call.hold_s += max(0.0, e.ts - call.hold_started)
        call.hold_started = None
        call.state = "talking"
        self._timeline(call, e.ts, "unhold")
        self._agent_changed(call, e.ts, out)

    def _agent_changed(self, call: _Call, ts: float, out: Output) -> None:
        a = self.agents.get(call.agent or "")
        if a is not None:
            self._refresh(a, ts, out)
        out.calls.add(call.call_id)

    def _on_bridge_enter(self, e: BridgeEntered, out: Output) -> None:
        if not e.swap_uniqueid:
            return
        call = self._by_uid.get(e.swap_uniqueid)
        if call is None or call.answered_at is None:
            return
        if call.transfer is not None and call.transfer.get("kind") == "attended":
            role = "transfer_target"
        elif e.swap_uniqueid == call.member_uid and call.talk_end is None:
            role = "agent"  # a Local member optimised away: the phone takes the ;1 leg's place
            call.member_uid = e.uniqueid
        else:
            role = "transfer_target"
        self._by_uid[e.uniqueid] = call
        leg = call.legs.setdefault(e.uniqueid, {"uniqueid": e.uniqueid, "channel": e.channel, "role": role, "start": e.ts, "end": None})
        leg["role"] = role
        out.calls.add(call.call_id)

    def _on_blind(self, e: BlindTransfer, out: Output) -> None:
        call = self._talking(e.transferee_uniqueid, e.transferee_linkedid) or self._talking(e.transferer_uniqueid, "")
        if call is None:
            self._skip("unknown_call")
            return
        if e.result.lower() != "success":
            self._timeline(call, e.ts, "transfer_failed", transfer="blind", target=e.extension, result=e.result)
            return
        call.transfer = {"kind": "blind", "target": e.extension}
        self._timeline(call, e.ts, "transfer", transfer="blind", target=e.extension, context=e.context)
        self._end_talk(call, e.ts, out, "transfer")

    def _on_attended(self, e: AttendedTransfer, out: Output) -> None:
        call = self._talking(e.transferee_uniqueid, e.transferee_linkedid) or self._talking(e.orig_transferer_uniqueid, "")
        if call is None:
            self._skip("unknown_call")
            return
        target = e.target_number or e.target_channel
        if e.result.lower() != "success":
            self._timeline(call, e.ts, "transfer_failed", transfer="attended", target=target, result=e.result)
            return
        call.transfer = {"kind": "attended", "target": target}
        if e.target_uniqueid:
            self._by_uid[e.target_uniqueid] = call
            call.legs.setdefault(
                e.target_uniqueid,
                {"uniqueid": e.target_uniqueid, "channel": e.target_channel, "role": "transfer_target", "start": e.ts, "end": None},
            )
        self._timeline(call, e.ts, "transfer", transfer="attended", target=target, dest_type=e.dest_type)
        self._end_talk(call, e.ts, out, "transfer")

    def _on_recording(self, e: RecordingStarted | RecordingStopped, out: Output) -> None:
        call = self._call(e.uniqueid, e.linkedid)
        if call is None:
            self._skip("ignored_channel")
            return
        if isinstance(e, RecordingStarted):
            self._recording_started(call, e.ts, call.recording_file)
        else:
            self._timeline(call, e.ts, "recording_end")

    def _recording_started(self, call: _Call, ts: float, file: str | None) -> None:
        """One "recording" entry per MixMonitor run, at the instant it starts:
        the QA player's audio t=0.  MixMonitor sets MIXMONITOR_FILENAME and
        emits MixMonitorStart together (either may be missing: the event is
        Asterisk 14+, the VarSet needs the channel's VarSet events), so the
        second of the pair adds the file to the first's entry."""
        for item in reversed(call.timeline):
            if item["kind"] == "recording_end":
                break
            if item["kind"] == "recording":
                if file and not item.get("file"):
                    item["file"] = file
                return
        if file:
            self._timeline(call, ts, "recording", file=file)
        else:
            self._timeline(call, ts, "recording")

    def _on_varset(self, e: VarSet, out: Output) -> None:
        name = e.variable.upper()
        if name == "QUEUESTATUS":
            self._queue_result(e.uniqueid, e.value, e.ts, out)
        elif name == "QUEUE_PRIO":
            try:
                prio = int(e.value)
            except ValueError:
                self._skip("bad_value")
                return
            call = self._by_uid.get(e.uniqueid)
            if call is not None and call.uniqueid == e.uniqueid and call.outcome is None:
                call.priority = prio
                out.calls.add(call.call_id)
            else:
                _bounded_put(self._prio, e.uniqueid, prio)
        elif name == "MIXMONITOR_FILENAME":
            call = self._call(e.uniqueid, e.linkedid)
            if call is not None:
                call.recording_file = e.value
                self._recording_started(call, e.ts, e.value)
        elif name.startswith("CC_"):
            call = self._call(e.uniqueid, e.linkedid)
            if call is not None:
                self._timeline(call, e.ts, "var", name=e.variable, value=e.value)

    def _on_user_event(self, e: UserEvent, out: Output) -> None:
        if e.name.lower() == "queueresult":
            self._queue_result(e.uniqueid or e.get("Uniqueid"), e.get("Status"), e.ts, out)

    def _queue_result(self, uniqueid: str, status: str, ts: float, out: Output) -> None:
        call = self._by_uid.get(uniqueid)
        if call is None or call.uniqueid != uniqueid or not call.pending:
            return  # an answered call, or one already classified
        status = status.upper()
        if status == "WITHDRAW":
            outcome = "callback_requested" if call.callback else "timeout"
        else:
            outcome = _STATUS_OUTCOME.get(status, "timeout" if call.pending == "abandon" else "exit_key")
        self._resolve(call, outcome, ts, out)

    # --- from the service -------------------------------------------------------

    def _on_disposition(self, e: DispositionSubmitted, out: Output) -> None:
        a = self.agents.get(e.interface)
        if a is None or a.wrap is None or (e.call_id and a.wrap.call.call_id != e.call_id):
            self._skip("disposition_not_in_wrap_up")
            return
        self._end_wrap(a, e.ts, out, e.code, e.note)

    def _on_route(self, e: RouteDecided, out: Output) -> None:
        call = self._by_uid.get(e.uniqueid)
        if call is not None and call.uniqueid == e.uniqueid and call.outcome is None:
            call.route = _route_dict(e)
            call.priority = call.priority or e.priority
            out.calls.add(call.call_id)
        else:
            _bounded_put(self._routes, e.uniqueid, e)

    def _on_callback(self, e: CallbackRequested, out: Output) -> None:
        call = self._by_uid.get(e.uniqueid)
        if call is None or call.uniqueid != e.uniqueid:
            _bounded_put(self._callbacks, e.uniqueid, e.ts)
            return
        call.callback = True
        self._timeline(call, e.ts, "callback_requested", number=e.number)
        if call.pending:
            self._resolve(call, "callback_requested", e.ts, out)

    # --- resync -----------------------------------------------------------------

    def _on_resync(self, e: Resync, out: Output) -> None:
        """Reconcile to Asterisk's truth after a (re)connect: members and
        their pauses, waiting callers, calls that ended while we were away."""
        ts = e.ts
        covered = set(e.queues) | {m.queue for m in e.members} | {x.queue for x in e.entries}
        seen: set[tuple[str, str]] = set()
        for s in e.members:
            a = self._agent(s.interface, s.member_name)
            m = self._member(a, s.queue)
            m.penalty = s.penalty
            if (m.paused, m.reason) != (s.paused, s.paused_reason if s.paused else ""):
                self._set_pause(a, m, s.paused, s.paused_reason)
            seen.add((s.queue, s.interface))
            if a.call is None:
                a.busy_unknown = s.in_call
        for a in self.agents.values():
            for qn in [qn for qn in a.queues if qn in covered and (qn, a.interface) not in seen]:
                del a.queues[qn]
                self._queue(qn).members.discard(a.interface)
        alive = {c.uniqueid for c in e.channels}
        entries = {(x.queue, x.uniqueid) for x in e.entries}
        for x in e.entries:
            call = self._by_uid.get(x.uniqueid)
            if call is not None and call.uniqueid == x.uniqueid and call.queue == x.queue and call.left_at is None:
                call.position, call.priority = x.position, x.priority
                continue
            call = _Call(
                call_id=self._new_call_id(x.uniqueid),
                uniqueid=x.uniqueid,
                linkedid=x.uniqueid,
                queue=x.queue,
                caller_number=x.caller_number,
                caller_name=x.caller_name,
                entered_at=ts - x.wait_s,
                position=x.position,
                priority=x.priority,
            )
            for c in e.channels:
                if c.uniqueid == x.uniqueid:
                    call.linkedid = c.linkedid or x.uniqueid
            call.legs[x.uniqueid] = {"uniqueid": x.uniqueid, "channel": x.channel, "role": "caller", "start": call.entered_at, "end": None}
            self._timeline(call, ts, "queued", queue=x.queue, position=x.position, via="resync")
            self._add_call(call)
            self._queue(x.queue).waiting[call.call_id] = call
            self._kpi(x.queue, call.entered_at, ((kpi.OFFERED, 1.0),))
            out.calls.add(call.call_id)
        for call in list(self.calls.values()):
            if call.queue in covered and call.left_at is None and (call.queue, call.uniqueid) not in entries:
                # Left the queue while we were disconnected: how, we cannot know.
                call.inferred = True
                self._timeline(call, ts, "resync", note="left the queue while the AMI link was down; outcome inferred")
                self._resolve(call, "abandoned" if call.uniqueid not in alive else "timeout", ts, out)
            elif e.channels and call.answered_at is not None and call.uniqueid not in alive:
                if call.talk_end is None:
                    self._end_talk(call, ts, out, "resync")
                if call.ended_at is None:
                    call.ended_at = ts
                self._maybe_finish(call, out)
        for a in self.agents.values():
            self._refresh(a, ts, out)
        for qn in covered:
            self._queue(qn)
            out.queues.add(qn)

    # --- restart ----------------------------------------------------------------

    def restore(self, records: Iterable[dict[str, Any]], intervals: Iterable[dict[str, Any]], now: float) -> None:
        """Put today's finished calls and agent intervals (from the database)
        back into the windows after a restart.  Records use the `records`
        shape with epoch-second times."""
        self.now = max(self.now, now)
        for r in records:
            if r.get("inferred"):
                continue
            q, entered, wait = r["queue"], float(r["entered_at"]), float(r.get("wait_s") or 0.0)
            self._kpi(q, entered, ((kpi.OFFERED, 1.0),))
            outcome = r["outcome"]
            if outcome in _OUTCOME_SLOT or outcome == "answered":
                self._kpi_exit(q, entered + wait, outcome, wait, bool(r.get("short_abandon")))
            if outcome == "answered":
                end = float(r.get("ended_at") or entered + wait)
                self._kpi_handled(q, end, float(r["talk_s"] or 0), float(r["hold_s"] or 0), float(r["wrap_up_s"] or 0))
                if r.get("agent"):
                    a = self._agent(r["agent"], r.get("agent_name") or "")
                    day = self._day_of(self.now)
                    if a.day_id != day:
                        a.day_id, a.today = day, _Totals()
                    if self._day_of(end) == day:
                        a.today.handled += 1
                    a.total.handled += 1
        for iv in intervals:
            a = self._agent(iv["interface"])
            self._account(a, iv["state"], iv.get("reason") or "", float(iv["started_at"]), float(iv["ended_at"]))

    # --- views ------------------------------------------------------------------

    def queue_names(self) -> list[str]:
        return sorted(self.queues)

    def _agent_counts(self, q: _QueueState | None, members: Iterable[str], known: Iterable[str]) -> dict[str, int]:
        counts = dict.fromkeys(("available", "ringing", "on_call", "on_hold", "wrap_up", "paused", "logged_out"), 0)
        members = set(members)
        for iface in members:
            a = self.agents.get(iface)
            if a is None:
                continue
            state = a.state
            if q is not None and state == "available" and a.queues.get(q.name, _Membership()).not_ready:
                state = "paused"
            counts[state] += 1
        counts["logged_out"] += len(set(known) - members)
        return counts

    def _kpi_views(self, kset: kpi.KpiSet) -> dict[str, dict[str, Any]]:
        return {w: kpi.figures(kset.window(w, self.now)) for w in ("15m", "60m", "interval", "today")}

    def _caller(self, c: _Call) -> dict[str, Any]:
        return {
            "call_id": c.call_id,
            "caller_number": c.caller_number,
            "caller_name": c.caller_name,
            "position": c.position,
            "wait_s": _r(max(0.0, self.now - c.entered_at)),
            "priority": c.priority,
            "entered_at": c.entered_at,  # lets a screen count the wait up between updates
        }

    def queue_view(self, name: str) -> dict[str, Any]:
        q = self.queues.get(name) or _QueueState(name, self._kpiset())
        cfg = self.config.queue(name)
        callers = sorted(q.waiting.values(), key=lambda c: c.position)
        return {
            "queue": name,
            "waiting": len(callers),
            "longest_wait_s": _r(max((self.now - c.entered_at for c in callers), default=0.0)),
            "callers": [self._caller(c) for c in callers],
            "agents": self._agent_counts(q, q.members, q.known),
            "kpi": self._kpi_views(q.kpi),
            "sl_threshold_s": cfg.sl_threshold_s,
            "short_abandon_s": cfg.short_abandon_s,
            "abandon_mode": cfg.abandon_mode,
            "sl_formula": kpi.sl_formula(cfg),
        }

    def totals_view(self, queues: list[str] | None = None) -> dict[str, Any]:
        """All queues together, or just `queues` (a team lead's)."""
        chosen = [self.queues[n] for n in (self.queues if queues is None else queues) if n in self.queues]
        callers = sorted((c for q in chosen for c in q.waiting.values()), key=lambda c: c.entered_at)
        members = {i for q in chosen for i in q.members}
        known = {i for q in chosen for i in q.known}
        if queues is None:
            kpis = self._kpi_views(self.totals)
        else:
            kpis = {}
            for w in ("15m", "60m", "interval", "today"):
                merged = [0.0] * kpi.NSLOTS
                for q in chosen:
                    kpi.merge(merged, q.kpi.window(w, self.now))
                kpis[w] = kpi.figures(merged)
        return {
            "queue": "*",
            "waiting": len(callers),
            "longest_wait_s": _r(max((self.now - c.entered_at for c in callers), default=0.0)),
            "callers": [self._caller(c) for c in callers],
            "agents": self._agent_counts(None, members, known),
            "kpi": kpis,
            "sl_threshold_s": None,
            "short_abandon_s": None,
            "abandon_mode": None,
            "sl_formula": kpi.TOTALS_FORMULA,
        }

    def _today(self, a: _Agent) -> _Totals:
        """Today's totals including the open interval so far."""
        day = self._day_of(self.now)
        t = a.today if a.day_id == day else _Totals()
        t = _Totals(t.handled, t.talk, t.hold, t.wrap, t.idle, dict(t.paused))
        t.add(a.state, a.reason, self.now - max(a.since, self._day_start(day)))
        return t

    def agent_view(self, interface: str) -> dict[str, Any]:
        a = self.agents.get(interface) or _Agent(interface, interface, since=self.now)
        t = self._today(a)
        call = a.call
        busy = t.talk + t.hold + t.wrap
        return {
            "interface": a.interface,
            "name": a.name,
            "state": a.state,
            "reason": a.reason,
            "since": a.since,
            "queues": [{"queue": qn, "penalty": m.penalty, "paused": m.paused} for qn, m in sorted(a.queues.items())],
            "call": None
            if call is None
            else {
                "call_id": call.call_id,
                "queue": call.queue,
                "caller_number": call.caller_number,
                "caller_name": call.caller_name,
                # The agent's own leg: the desktop's hold, transfer and hang-up act on it.
                "channel": call.legs.get(call.member_uid, {}).get("channel", ""),
                "answered_at": call.answered_at,
                "wait_s": _r((call.answered_at or self.now) - call.entered_at),
            },
            "wrap_up": None
            if a.wrap is None
            else {"call_id": a.wrap.call.call_id, "queue": a.wrap.call.queue, "deadline": a.wrap.deadline, "dispositions_required": True},
            "today": {
                "handled": t.handled,
                "talk_s": _r(t.talk),
                "hold_s": _r(t.hold),
                "wrap_up_s": _r(t.wrap),
                "aht_s": _r(busy / t.handled) if t.handled else None,
                "occupancy": t.occupancy(),
                "paused_s": {k: _r(v) for k, v in t.paused.items()},
            },
            "history": [
                {"state": st, "reason": why, "start": start, "end": end, "call_id": cid}
                for st, why, start, end, cid in list(a.history)[-10:]
            ],
        }

    def agent_totals(self, interface: str) -> dict[str, Any]:
        """Everything since the core started (what `replay` reports)."""
        a = self.agents[interface]
        t = _Totals(a.total.handled, a.total.talk, a.total.hold, a.total.wrap, a.total.idle, dict(a.total.paused))
        t.add(a.state, a.reason, self.now - a.since)
        return {
            "name": a.name,
            "state": a.state,
            "handled": t.handled,
            "talk_s": _r(t.talk),
            "hold_s": _r(t.hold),
            "wrap_up_s": _r(t.wrap),
            "paused_s": {k: _r(v) for k, v in sorted(t.paused.items())},
            "occupancy": t.occupancy(),
        }

    def call_view(self, call_id: str) -> dict[str, Any] | None:
        c = self.calls.get(call_id)
        if c is None:
            return None
        end = c.answered_at if c.answered_at is not None else (c.left_at if c.left_at is not None else self.now)
        return {
            "call_id": c.call_id,
            "uniqueid": c.uniqueid,
            "queue": c.queue,
            "caller_number": c.caller_number,
            "caller_name": c.caller_name,
            "entered_at": c.entered_at,
            "answered_at": c.answered_at,
            "agent": c.agent,
            "state": c.state,
            "wait_s": _r(max(0.0, end - c.entered_at)),
            "priority": c.priority,
            "route": c.route,
            "recording_file": c.recording_file,
        }

    def wallboard(self) -> dict[str, Any]:
        return {
            "ts": self.now,
            "queues": {name: self.queue_view(name) for name in sorted(self.queues)},
            "agents": {iface: self.agent_view(iface) for iface in sorted(self.agents)},
            "totals": self.totals_view(),
        }

    def wrap_up_of(self, interface: str) -> dict[str, Any] | None:
        """The call an agent must disposition now, or None."""
        a = self.agents.get(interface)
        if a is None or a.wrap is None:
            return None
        return {"call_id": a.wrap.call.call_id, "queue": a.wrap.call.queue, "deadline": a.wrap.deadline}


def _route_dict(e: RouteDecided) -> dict[str, Any]:
    return {
        "queue": e.queue,
        "priority": e.priority,
        "reason": e.reason,
        "customer_id": e.customer_id,
        "customer_name": e.customer_name,
        "choices": list(e.choices),
        "details": dict(e.details),
    }


def _bounded_put(d: dict[str, Any], key: str, value: Any) -> None:
    """Facts about a channel that may never join a queue: keep the newest."""
    d[key] = value
    if len(d) > PENDING_MAX:
        del d[next(iter(d))]
