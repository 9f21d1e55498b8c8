"""The queue ACD: each caller's time in a queue, from QueueCallerJoin to the
end of the agent's wrap-up, built on app_queue's own events and on the call
tracker's view of the channels behind them.

A queue call (`QueueCall`) is one caller's stay in one queue: waiting, the
members rung (attempts), how it left (answered, abandoned, timeout,
left_empty, exit_key, callback_requested), then talk, hold, transfer and
wrap-up.  A caller transferred into another queue starts a new queue call.

Rules that come from Asterisk (docs: ami.md §3):
- QueueCallerAbandon is also sent on a timeout, leavewhenempty, withdraw
  and the 'n' option: only a Hangup of the caller with no QUEUESTATUS in
  between is an abandon.  The outcome waits EXIT_GRACE_S for that.
- A wait is counted as app_queue counts it, in whole seconds (AgentConnect
  and QueueCallerAbandon's HoldTime), and compared with ≤ T.  So a wait of
  20.007 s is inside a 20 s service level, as Asterisk, QueueMetrics and
  Asternic say.
- The member leg of a Local-channel member (`Local/8001@agents`) is a Local
  half; the agent's phone is found through the tracker, and a Local half
  hanging up (optimised away, in either direction) never ends the talk.
- Facts that arrive before the join (our dialplan runs MixMonitor() and sets
  CC_* variables before Queue()) wait on the caller's channel and are taken
  when the join comes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from callcenter.acd import events as ev
from callcenter.acd import kpi
from callcenter.acd.agents import Agent, Agents
from callcenter.acd.calls import Call, Connected, Tracker, Transferred
from callcenter.acd.channels import Channel, interface_of
from callcenter.acd.common import CoreConfig, Output, Timers, rounded

EXIT_GRACE_S = 10.0  # how long a caller who left the queue may wait for its QUEUESTATUS
LINGER_S = 3600.0  # a transferred caller still talking after this is closed anyway
RECENT_CALLS = 20_000  # finished call ids remembered, so late events are recognised
PENDING_MAX = 10_000  # bound on facts about callers not (yet) in a queue

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

_DIAL_RESULT = {"CANCEL": "cancelled", "BUSY": "busy", "CONGESTION": "busy", "NOANSWER": "no_answer", "CHANUNAVAIL": "unavailable"}

OUTCOME_SLOT = {
    "abandoned": kpi.ABANDONED,
    "timeout": kpi.TIMEOUTS,
    "left_empty": kpi.LEFT_EMPTY,
    "exit_key": kpi.EXIT_KEY,
    "callback_requested": kpi.CALLBACKS,
}


@dataclass(slots=True)
class Attempt:
    agent: str
    name: str
    started_at: float
    dest_uniqueid: str
    ring_s: float | None = None
    result: str | None = None


@dataclass(slots=True, eq=False)
class QueueCall:
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
    attempts: list[Attempt] = field(default_factory=list)
    left_at: float | None = None
    pending: str | None = None  # "abandon" | "left": out of the queue, outcome not known yet
    callback: bool = False
    outcome: str | None = None
    abandon_position: int | None = None
    sl_wait: int | None = None  # the wait in whole seconds, as app_queue counts it
    answered_at: float | None = None
    agent: str | None = None
    agent_name: str = ""
    member_uid: str = ""  # the member leg app_queue dialled (a Local half for Local members)
    phone_uid: str = ""  # the agent's own phone channel on this call
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
    source: str = "live"  # live | resync | backfill: how we learned of it
    thread: str = ""  # the tracker's call (calls.Call.call_id) this queue call is part of
    legs: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def open_attempts(self) -> list[Attempt]:
        return [a for a in self.attempts if a.result is None]

    def note(self, ts: float, what: str, **details: Any) -> None:
        self.timeline.append({"t": ts, "kind": what, **details})


class QueueState:
    __slots__ = ("name", "waiting", "members", "known", "kpi")

    def __init__(self, name: str, kpis: kpi.KpiSet) -> None:
        self.name = name
        self.waiting: dict[str, QueueCall] = {}
        self.members: set[str] = set()
        self.known: set[str] = set()
        self.kpi = kpis


class Queues:
    """Every queue and every caller in one.  `Core` routes events here after
    the tracker has seen them."""

    def __init__(self, config: CoreConfig, timers: Timers, tracker: Tracker, agents: Agents, kpis: Any) -> None:
        self.config = config
        self.timers = timers
        self.tracker = tracker
        self.agents = agents
        self.kpis = kpis  # callable -> kpi.KpiSet
        self.now = 0.0
        self.by_name: dict[str, QueueState] = {}
        self.calls: dict[str, QueueCall] = {}
        self.by_uid: dict[str, QueueCall] = {}
        self.by_linked: dict[str, QueueCall] = {}
        self.totals = kpis()
        self._recent: deque[str] = deque()
        self._recent_set: set[str] = set()
        self._routes: dict[str, ev.RouteDecided] = {}
        self._callbacks: dict[str, float] = {}
        self.stats: dict[str, int] = {}
        agents.on_wrap_done = self._wrap_done
        agents.on_membership = self._membership

    def _skip(self, why: str) -> None:
        self.stats[why] = self.stats.get(why, 0) + 1

    # --- lookups --------------------------------------------------------------------

    def queue(self, name: str) -> QueueState:
        q = self.by_name.get(name)
        if q is None:
            q = self.by_name[name] = QueueState(name, self.kpis())
        return q

    def _membership(self, a: Agent, queue: str, member: bool) -> None:
        q = self.queue(queue)
        if member:
            q.members.add(a.interface)
            q.known.add(a.interface)
        else:
            q.members.discard(a.interface)

    def call(self, uniqueid: str, linkedid: str = "") -> QueueCall | None:
        call = self.by_uid.get(uniqueid)
        if call is None and linkedid:
            call = self.by_linked.get(linkedid)
        return call

    def own(self, uniqueid: str) -> QueueCall | None:
        """The queue call whose caller is this channel."""
        call = self.by_uid.get(uniqueid)
        return call if call is not None and call.uniqueid == uniqueid else None

    def _late_or_unknown(self, uniqueid: str, linkedid: str = "") -> None:
        self._skip("late_event" if linkedid in self._recent_set or uniqueid in self._recent_set else "unknown_call")

    def _new_call_id(self, base: str) -> str:
        if base not in self.calls and base not in self._recent_set:
            return base
        n = 2
        while f"{base}-{n}" in self.calls or f"{base}-{n}" in self._recent_set:
            n += 1
        return f"{base}-{n}"

    def _remember(self, key: str) -> None:
        if not key or key in self._recent_set:
            return
        self._recent.append(key)
        self._recent_set.add(key)
        if len(self._recent) > RECENT_CALLS:
            self._recent_set.discard(self._recent.popleft())

    # --- KPI facts -------------------------------------------------------------------

    def kpi_add(self, queue: str, ts: float, pairs: tuple[tuple[int, float], ...]) -> None:
        self.queue(queue).kpi.add(ts, self.now, pairs)
        self.totals.add(ts, self.now, pairs)

    def kpi_exit(self, queue: str, ts: float, outcome: str, wait: float, sl_wait: float, short: bool) -> None:
        met, counted = kpi.sl_decision(self.config.queue(queue), outcome, sl_wait)
        pairs: list[tuple[int, float]] = [(kpi.MAX_WAIT, wait), (kpi.SL_MET, float(met)), (kpi.SL_COUNTED, float(counted))]
        if outcome == "answered":
            pairs += [(kpi.ANSWERED, 1.0), (kpi.WAIT_ANSWERED, wait)]
        else:
            pairs.append((OUTCOME_SLOT[outcome], 1.0))
            if short:
                pairs.append((kpi.SHORT, 1.0))
        self.kpi_add(queue, ts, tuple(pairs))

    def kpi_handled(self, queue: str, ts: float, talk: float, hold: float, wrap: float) -> None:
        self.kpi_add(queue, ts, ((kpi.HANDLED, 1.0), (kpi.TALK, talk), (kpi.HOLD, hold), (kpi.WRAP, wrap)))

    # --- the caller in the queue ---------------------------------------------------------

    def new_call(self, ts: float, queue: str, uniqueid: str, linkedid: str, channel: str, number: str, name: str, position: int) -> QueueCall:
        call = QueueCall(
            call_id=self._new_call_id(linkedid or uniqueid),
            uniqueid=uniqueid,
            linkedid=linkedid or uniqueid,
            queue=queue,
            caller_number=number,
            caller_name=name,
            entered_at=ts,
            position=position,
        )
        route = self._routes.pop(uniqueid, None)
        if route is not None:
            call.route = route_dict(route)
            call.priority = route.priority
        if self._callbacks.pop(uniqueid, None) is not None:
            call.callback = True
        call.legs[uniqueid] = {"uniqueid": uniqueid, "channel": channel, "role": "caller", "start": ts, "end": None}
        ch = self.tracker.graph.ensure(uniqueid, channel, linkedid, ts)
        self._adopt_channel_facts(call, ch)
        if not ch.local:
            thread = self.tracker.call_of(ch, ts)
            call.thread = thread.call_id
            thread.queue_calls.append(call.call_id)
        self.calls[call.call_id] = call
        self.by_uid[uniqueid] = call
        self.by_linked[call.linkedid] = call
        return call

    def _adopt_channel_facts(self, call: QueueCall, ch: Channel) -> None:
        """What the dialplan did to the channel before Queue(): recording, priority, CC_* variables."""
        prio = ch.variables.get("QUEUE_PRIO")
        if prio is not None:
            try:
                call.priority = int(prio)
            except ValueError:
                self._skip("bad_value")
        file = ch.variables.get("MIXMONITOR_FILENAME") or ch.variables.get("CC_RECORDING")
        if ch.recording_at is not None or file:
            call.recording_file = file or None
            entry: dict[str, Any] = {"t": ch.recording_at if ch.recording_at is not None else call.entered_at, "kind": "recording"}
            if file:
                entry["file"] = file
            call.timeline.append(entry)
        for name, value in ch.variables.items():
            if name.startswith("CC_"):
                call.note(call.entered_at, "var", name=name, value=value)

    def joined(self, e: ev.CallerJoined, out: Output) -> None:
        existing = self.own(e.uniqueid)
        if existing is not None:
            if existing.queue == e.queue and existing.left_at is None:
                self._skip("duplicate")
                return
            # The same caller enters a queue again (e.g. blind-transferred to it):
            # the previous queue call ends here and a new one starts.
            if existing.pending:
                self.resolve(existing, "exit_key" if existing.pending == "left" else "timeout", e.ts, out)
            elif existing.answered_at is not None and existing.talk_end is None:
                self.end_talk(existing, e.ts, out, "requeued")
            if existing.ended_at is None:
                existing.ended_at = e.ts
                existing.note(e.ts, "requeued", queue=e.queue)
            self.maybe_finish(existing, out)
            if self.by_uid.get(e.uniqueid) is existing:
                del self.by_uid[e.uniqueid]
        call = self.new_call(e.ts, e.queue, e.uniqueid, e.linkedid, e.channel, e.caller_number, e.caller_name, e.position)
        call.note(e.ts, "queued", queue=e.queue, position=e.position)
        q = self.queue(e.queue)
        for other in q.waiting.values():
            if other.position >= e.position:
                other.position += 1
        q.waiting[call.call_id] = call
        self.kpi_add(e.queue, e.ts, ((kpi.OFFERED, 1.0),))
        out.queues.add(e.queue)
        out.calls.add(call.call_id)

    def _unseen(self, ts: float, queue: str, uniqueid: str, linkedid: str, wait_s: float, position: int) -> QueueCall | None:
        """A queue event for a caller whose join we never saw (we connected
        after it): the call is made from what Asterisk tells now."""
        if uniqueid in self._recent_set or (linkedid and linkedid in self._recent_set):
            return None
        ch = self.tracker.graph.get(uniqueid)
        number, name = (ch.caller_number, ch.caller_name) if ch is not None else ("", "")
        call = self.new_call(ts - max(0.0, wait_s), queue, uniqueid, linkedid, ch.name if ch else "", number, name, position)
        call.note(ts, "queued", queue=queue, position=position, via="first_seen_leaving")
        self.kpi_add(queue, call.entered_at, ((kpi.OFFERED, 1.0),))
        self.queue(queue).waiting[call.call_id] = call
        return call

    def _remove_waiting(self, call: QueueCall) -> None:
        q = self.by_name.get(call.queue)
        if q is None or q.waiting.pop(call.call_id, None) is None:
            return
        for other in q.waiting.values():
            if other.position > call.position:
                other.position -= 1

    def abandoned(self, e: ev.CallerAbandoned, out: Output) -> None:
        call = self.own(e.uniqueid)
        if call is None:
            call = self._unseen(e.ts, e.queue, e.uniqueid, e.linkedid, e.hold_time_s, e.original_position or e.position)
            if call is None:
                self._late_or_unknown(e.uniqueid, e.linkedid)
                return
        if call.pending == "abandon" or call.outcome is not None:
            self._skip("duplicate")
            return
        call.pending = "abandon"
        call.abandon_position = e.position
        call.sl_wait = int(e.hold_time_s)
        self._left_queue(call, e.ts, out)
        if call.callback:
            self.resolve(call, "callback_requested", e.ts, out)
        else:
            self.timers.add(e.ts + EXIT_GRACE_S, "exit", call.call_id)

    def left(self, e: ev.CallerLeft, out: Output) -> None:
        call = self.own(e.uniqueid)
        if call is None:
            self._late_or_unknown(e.uniqueid, e.linkedid)
            return
        if call.left_at is not None or call.outcome is not None:
            return  # the leave that follows an abandon or a connect
        call.pending = "left"
        self._left_queue(call, e.ts, out, cancel=False)
        if call.callback:
            self.resolve(call, "callback_requested", e.ts, out)
        else:
            self.timers.add(e.ts + EXIT_GRACE_S, "exit", call.call_id)

    def _left_queue(self, call: QueueCall, ts: float, out: Output, cancel: bool = True) -> None:
        """Out of the waiting line.  A plain QueueCallerLeave comes just
        before AgentConnect, so it leaves the rings to the connect."""
        call.left_at = ts
        self._remove_waiting(call)
        if cancel:
            for att in call.open_attempts():
                self._end_attempt(call, att, ts, "cancelled", out)
        out.queues.add(call.queue)
        out.calls.add(call.call_id)

    def resolve(self, call: QueueCall, outcome: str, ts: float, out: Output) -> None:
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
            self.kpi_exit(call.queue, call.left_at, outcome, wait, self._sl_wait(call, call.left_at), short)  # type: ignore[arg-type]
        call.state = "ended"
        if call.ended_at is None:
            call.ended_at = ts if outcome == "abandoned" else call.left_at
        call.note(ts, outcome)
        out.queues.add(call.queue)
        self.maybe_finish(call, out)

    @staticmethod
    def _sl_wait(call: QueueCall, until: float) -> int:
        """Whole seconds, as app_queue: time(NULL) at the end minus time(NULL) at the join."""
        if call.sl_wait is not None:
            return call.sl_wait
        return max(0, int(until) - int(call.entered_at))

    def exit_timer(self, call_id: str, deadline: float, out: Output) -> None:
        call = self.calls.get(call_id)
        if call and call.pending and call.left_at is not None and call.left_at + EXIT_GRACE_S <= deadline:
            # No hangup and no QUEUESTATUS: the caller is still alive, so not an abandon.
            self.resolve(call, "timeout" if call.pending == "abandon" else "exit_key", deadline, out)

    def queue_result(self, uniqueid: str, status: str, ts: float, out: Output) -> None:
        call = self.own(uniqueid)
        if call is None or not call.pending:
            return  # an answered call, or one already classified
        status = status.upper()
        if status == "WITHDRAW":
            outcome = "callback_requested" if call.callback else "timeout"
        else:
            outcome = _STATUS_OUTCOME.get(status, "timeout" if call.pending == "abandon" else "exit_key")
        self.resolve(call, outcome, ts, out)

    # --- members offered the call ---------------------------------------------------------

    def called(self, e: ev.AgentCalled, out: Output) -> None:
        call = self.own(e.uniqueid)
        if call is None or call.outcome is not None or call.left_at is not None:
            self._late_or_unknown(e.uniqueid, e.linkedid)
            return
        for att in call.open_attempts():
            if att.agent == e.interface and att.dest_uniqueid == e.dest_uniqueid:
                self._skip("duplicate")
                return
        a = self.agents.agent(e.interface, e.member_name, e.ts)
        if e.queue not in a.queues:
            self.agents.member(a, e.queue)
        call.attempts.append(Attempt(e.interface, e.member_name, e.ts, e.dest_uniqueid))
        if e.dest_uniqueid:
            self.by_uid[e.dest_uniqueid] = call
            call.legs[e.dest_uniqueid] = {"uniqueid": e.dest_uniqueid, "channel": e.dest_channel, "role": "agent", "start": e.ts, "end": None}
        call.state = "ringing"
        call.note(e.ts, "ringing", agent=e.interface)
        self.agents.ringing_started(a, call.call_id, e.ts, out)
        out.calls.add(call.call_id)
        out.queues.add(call.queue)

    def _open_attempt(self, call: QueueCall, interface: str = "", dest_uid: str = "") -> Attempt | None:
        for att in reversed(call.attempts):
            if att.result is None and ((dest_uid and att.dest_uniqueid == dest_uid) or (interface and att.agent == interface)):
                return att
        return None

    def _end_attempt(self, call: QueueCall, att: Attempt, ts: float, result: str, out: Output, ring_s: float | None = None) -> None:
        att.result = result
        att.ring_s = max(0.0, ts - att.started_at) if ring_s is None else ring_s
        if att.dest_uniqueid and att.dest_uniqueid in call.legs and result != "answered":
            call.legs[att.dest_uniqueid]["end"] = call.legs[att.dest_uniqueid]["end"] or ts
        a = self.agents.get(att.agent)
        if a is not None:
            self.agents.ringing_ended(a, call.call_id, ts, out, answered=result == "answered")
        if call.state == "ringing" and not call.open_attempts():
            call.state = "waiting"
        call.note(ts, "ring_end", agent=att.agent, result=result)
        out.calls.add(call.call_id)

    def ring_no_answer(self, e: ev.AgentRingNoAnswer, out: Output) -> None:
        call = self.by_uid.get(e.uniqueid)
        if call is None:
            self._late_or_unknown(e.uniqueid, e.linkedid)
            return
        att = self._open_attempt(call, interface=e.interface)
        if att is None:
            self._skip("duplicate")
            return
        self._end_attempt(call, att, e.ts, "no_answer", out, ring_s=e.ring_time_s)

    def dial_ended(self, e: ev.DialEnded, out: Output) -> None:
        call = self.by_uid.get(e.dest_uniqueid) or self.by_uid.get(e.uniqueid)
        if call is None:
            return
        status = e.status.upper()
        if status == "ANSWER":
            return  # AgentConnected says who answered
        att = self._open_attempt(call, dest_uid=e.dest_uniqueid)
        if att is None:
            return  # not a member leg, or already ended by AgentRingNoAnswer / AgentConnected
        self._end_attempt(call, att, e.ts, _DIAL_RESULT.get(status, "failed"), out)

    def dumped(self, e: ev.AgentDumped, out: Output) -> None:
        call = self.by_uid.get(e.uniqueid)
        if call is None:
            self._late_or_unknown(e.uniqueid, e.linkedid)
            return
        att = self._open_attempt(call, interface=e.interface)
        if att is not None:
            self._end_attempt(call, att, e.ts, "dumped", out)

    # --- answered ----------------------------------------------------------------------------

    def connected(self, e: ev.AgentConnected, out: Output) -> None:
        call = self.own(e.uniqueid)
        if call is None:
            call = self._unseen(e.ts, e.queue, e.uniqueid, e.linkedid, e.hold_time_s, 1)
            if call is None:
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
            att = Attempt(e.interface, e.member_name, e.ts - e.ring_time_s, e.dest_uniqueid)
            call.attempts.append(att)
        a = self.agents.agent(e.interface, e.member_name, e.ts)
        if e.queue not in a.queues:
            self.agents.member(a, e.queue)
        self._end_attempt(call, att, e.ts, "answered", out, ring_s=e.ring_time_s)
        for other in call.open_attempts():  # ringall: the others are cancelled
            self._end_attempt(call, other, e.ts, "cancelled", out)
        call.answered_at = e.ts
        call.outcome = "answered"
        call.agent, call.agent_name = e.interface, e.member_name
        call.member_uid = e.dest_uniqueid
        call.state = "talking"
        call.sl_wait = int(e.hold_time_s) if e.hold_time_s >= 0 else None
        if e.dest_uniqueid:
            self.by_uid[e.dest_uniqueid] = call
            call.legs.setdefault(e.dest_uniqueid, {"uniqueid": e.dest_uniqueid, "channel": e.dest_channel, "role": "agent", "start": e.ts, "end": None})
            if not e.dest_channel.startswith("Local/"):
                self._phone(call, e.dest_uniqueid, e.dest_channel, a)
        thread = self.tracker.calls.get(call.thread)
        if thread is not None and thread.talking_to:
            self._phone_from_tracker(call, thread.talking_to)
        wait = max(0.0, e.ts - call.entered_at)
        if not call.inferred:
            self.kpi_exit(call.queue, call.left_at or e.ts, "answered", wait, self._sl_wait(call, e.ts), False)
        call.note(e.ts, "answered", agent=e.interface)
        self.agents.connected(a, call, e.ts, out)
        out.calls.add(call.call_id)
        out.queues.add(call.queue)

    def _phone(self, call: QueueCall, uid: str, channel: str, a: Agent | None) -> None:
        call.phone_uid = uid
        self.by_uid[uid] = call
        if a is not None:
            self.agents.learn_device(a, interface_of(channel))

    def _phone_from_tracker(self, call: QueueCall, uid: str) -> None:
        ch = self.tracker.graph.get(uid)
        if ch is None or ch.local or uid == call.uniqueid:
            return
        self._phone(call, uid, ch.name, self.agents.get(call.agent or ""))
        if uid not in call.legs:
            call.legs[uid] = {"uniqueid": uid, "channel": ch.name, "role": "agent", "start": self.now, "end": None}

    def completed(self, e: ev.AgentCompleted, out: Output) -> None:
        call = self.by_uid.get(e.uniqueid)
        if call is None or call.answered_at is None:
            self._late_or_unknown(e.uniqueid, e.linkedid)
            return
        if call.talk_end is not None:
            return  # already ended by the hangup or the transfer
        if e.reason == "transfer" and call.transfer is None:
            call.transfer = {"kind": "unknown", "target": ""}
        self.end_talk(call, e.ts, out, e.reason or "complete")

    def end_talk(self, call: QueueCall, ts: float, out: Output, why: str) -> None:
        if call.talk_end is not None or call.answered_at is None:
            return
        ts = max(ts, call.answered_at)
        if call.hold_started is not None:
            call.hold_s += ts - call.hold_started
            call.hold_started = None
            call.note(ts, "unhold")
        call.talk_end = ts
        call.talk_s = max(0.0, ts - call.answered_at - call.hold_s)
        call.note(ts, "talk_end", by=why)
        a = self.agents.get(call.agent or "")
        if a is not None and a.call is call:
            self.agents.talk_ended(a, call, ts, out)
        else:
            call.wrap_done = True
        if call.state != "wrap_up":
            call.state = "ended" if call.ended_at is not None else "talking"
        if call.ended_at is None:
            self.timers.add(ts + LINGER_S, "linger", call.call_id)
        out.calls.add(call.call_id)
        out.queues.add(call.queue)
        self.maybe_finish(call, out)

    def linger_timer(self, call_id: str, deadline: float, out: Output) -> None:
        call = self.calls.get(call_id)
        if call and call.ended_at is None and call.talk_end is not None and call.talk_end + LINGER_S <= deadline:
            call.ended_at = deadline
            call.note(deadline, "closed", note="caller still connected after transfer")
            self.maybe_finish(call, out)

    def _wrap_done(self, call: Any, out: Output) -> None:
        if isinstance(call, QueueCall):
            self.maybe_finish(call, out)

    def maybe_finish(self, call: QueueCall, out: Output) -> None:
        if call.outcome is None or call.ended_at is None:
            return
        if call.outcome == "answered" and (call.talk_end is None or not call.wrap_done):
            return
        if self.calls.pop(call.call_id, None) is None:
            return
        call.state = "ended"
        for uid in list(call.legs):
            if self.by_uid.get(uid) is call:
                del self.by_uid[uid]
        if call.phone_uid and self.by_uid.get(call.phone_uid) is call:
            del self.by_uid[call.phone_uid]
        if self.by_linked.get(call.linkedid) is call:
            del self.by_linked[call.linkedid]
        self._remember(call.call_id)
        self._remember(call.linkedid)
        if call.outcome == "answered" and not call.inferred:
            self.kpi_handled(call.queue, self.now, call.talk_s, call.hold_s, call.wrap_up_s)
            a = self.agents.get(call.agent or "")
            if a is not None:
                self.agents.handled(a, self.now, "inbound", call.talk_s, out)
        out.records.append(queue_record(call, self.config))
        out.calls.add(call.call_id)
        out.queues.add(call.queue)

    # --- channels ---------------------------------------------------------------------------

    def hangup(self, e: ev.Hangup, out: Output) -> None:
        self._routes.pop(e.uniqueid, None)
        self._callbacks.pop(e.uniqueid, None)
        call = self.by_uid.get(e.uniqueid)
        if call is None:
            return
        leg = call.legs.get(e.uniqueid)
        if leg is not None and leg["end"] is None:
            leg["end"] = e.ts
        if e.uniqueid == call.uniqueid:
            if call.pending == "abandon":
                self.resolve(call, "abandoned", e.ts, out)
            elif call.pending == "left":
                self.resolve(call, "exit_key", e.ts, out)
            elif call.outcome is None:
                self._left_queue(call, e.ts, out)  # no QueueCallerAbandon seen: still an abandon
                self.resolve(call, "abandoned", e.ts, out)
            elif call.answered_at is not None and call.talk_end is None:
                self.end_talk(call, e.ts, out, "caller")
            if call.ended_at is None:
                call.ended_at = e.ts
            call.note(e.ts, "hangup", cause=e.cause)
            if self.by_uid.get(e.uniqueid) is call:
                del self.by_uid[e.uniqueid]
            self.maybe_finish(call, out)
            return
        att = self._open_attempt(call, dest_uid=e.uniqueid)
        if att is not None:
            self._end_attempt(call, att, e.ts, "no_answer", out)
        elif call.answered_at is not None and call.talk_end is None and self._is_agent_side(call, e):
            self.end_talk(call, e.ts, out, "agent")
        if self.by_uid.get(e.uniqueid) is call and e.uniqueid not in (call.member_uid, call.phone_uid):
            del self.by_uid[e.uniqueid]

    @staticmethod
    def _is_local(call: QueueCall, uid: str, channel: str = "") -> bool:
        return (channel or call.legs.get(uid, {}).get("channel", "")).startswith("Local/")

    def _is_agent_side(self, call: QueueCall, e: ev.Hangup) -> bool:
        """The agent's side ended: their phone, or a member leg that is not a
        Local half (a Local half goes when Asterisk optimises it away, while
        the agent talks on)."""
        if e.uniqueid == call.phone_uid:
            return True
        return e.uniqueid == call.member_uid and not call.phone_uid and not self._is_local(call, e.uniqueid, e.channel)

    def hold(self, e: ev.Hold | ev.Unhold, out: Output) -> None:
        call = self.call(e.uniqueid, e.linkedid)
        if call is None or call.answered_at is None or call.talk_end is not None:
            self._skip("hold_ignored")
            return
        on = isinstance(e, ev.Hold)
        if on == (call.hold_started is not None):
            self._skip("hold_ignored")
            return
        if on:
            call.hold_started = e.ts
            call.state = "on_hold"
            call.note(e.ts, "hold")
        else:
            call.hold_s += max(0.0, e.ts - call.hold_started)  # type: ignore[operator]
            call.hold_started = None
            call.state = "talking"
            call.note(e.ts, "unhold")
        a = self.agents.get(call.agent or "")
        if a is not None:
            self.agents.refresh(a, e.ts, out)
        out.calls.add(call.call_id)

    def bridge_entered(self, e: ev.BridgeEntered, out: Output) -> None:
        """A channel takes another's place in a bridge (SwapUniqueid): the
        agent's phone replacing a Local member half (optimisation), or an
        attended transfer's target replacing the agent."""
        if not e.swap_uniqueid:
            return
        call = self.by_uid.get(e.swap_uniqueid)
        if call is None or call.answered_at is None:
            return
        if e.uniqueid == call.uniqueid:
            return  # the caller moving into the agent's bridge (Local optimised "the other way")
        if call.talk_end is None and call.transfer is None and self._is_local(call, e.swap_uniqueid):
            self._phone(call, e.uniqueid, e.channel, self.agents.get(call.agent or ""))
            call.legs.setdefault(e.uniqueid, {"uniqueid": e.uniqueid, "channel": e.channel, "role": "agent", "start": e.ts, "end": None})
            out.calls.add(call.call_id)
            return
        if call.transfer is None and call.talk_end is None:
            return  # not ours to read: the transfer event says what happened
        leg = call.legs.setdefault(e.uniqueid, {"uniqueid": e.uniqueid, "channel": e.channel, "role": "transfer_target", "start": e.ts, "end": None})
        leg["role"] = "transfer_target"
        out.calls.add(call.call_id)

    def facts(self, facts: list[Any], out: Output) -> None:
        """The tracker's view: the agent's phone behind a Local member."""
        for f in facts:
            if isinstance(f, Connected):
                call = self._talking_call_of(f.call)
                if call is not None and not call.phone_uid and f.target.uniqueid != call.uniqueid:
                    self._phone_from_tracker(call, f.target.uniqueid)

    def _talking_call_of(self, thread: Call | None) -> QueueCall | None:
        if thread is None:
            return None
        for call_id in reversed(thread.queue_calls):
            call = self.calls.get(call_id)
            if call is not None and call.answered_at is not None and call.talk_end is None:
                return call
        return None

    def transferred(self, e: ev.BlindTransfer | ev.AttendedTransfer, facts: list[Any], out: Output) -> None:
        if e.result.lower() != "success":
            call = self._transfer_call(e)
            if call is not None:
                kind = "blind" if isinstance(e, ev.BlindTransfer) else "attended"
                target = e.extension if isinstance(e, ev.BlindTransfer) else (e.target_number or e.target_channel)
                call.note(e.ts, "transfer_failed", transfer=kind, target=target, result=e.result)
            return
        call = self._transfer_call(e)
        if call is None:
            self._skip("unknown_call")
            return
        if isinstance(e, ev.BlindTransfer):
            kind, target, extra = "blind", e.extension, {"context": e.context}
        else:
            fact = next((f for f in facts if isinstance(f, Transferred)), None)
            if e.dest_type == "App" and e.dest_app.lower() == "dial":
                kind = "blonde"
                target = e.exten or ", ".join(t.channel for t in (fact.targets if fact else ()))
            elif e.dest_type == "Threeway":
                call.note(e.ts, "threeway", target=e.target_number or e.target_channel)
                return  # app_queue ignores a three-way: the agent stays on the call
            else:
                kind = "attended"
                target = e.target_number or e.target_channel
                if fact is not None and fact.targets and not target:
                    target = fact.targets[0].number or fact.targets[0].channel
                if e.target_uniqueid:
                    self.by_uid[e.target_uniqueid] = call
                    call.legs.setdefault(e.target_uniqueid, {"uniqueid": e.target_uniqueid, "channel": e.target_channel, "role": "transfer_target", "start": e.ts, "end": None})
            extra = {"dest_type": e.dest_type}
        call.transfer = {"kind": kind, "target": target}
        call.note(e.ts, "transfer", transfer=kind, target=target, **extra)
        self.end_talk(call, e.ts, out, "transfer")

    def _transfer_call(self, e: ev.BlindTransfer | ev.AttendedTransfer) -> QueueCall | None:
        if isinstance(e, ev.BlindTransfer):
            uids = (e.transferee_uniqueid, e.transferer_uniqueid)
            linked = e.transferee_linkedid
        else:
            uids = (e.transferee_uniqueid, e.orig_transferer_uniqueid, e.second_transferer_uniqueid)
            linked = e.transferee_linkedid
        for uid in uids:
            call = self.by_uid.get(uid)
            if call is not None and call.answered_at is not None and call.talk_end is None:
                return call
            call = self._talking_call_of(self.tracker.find_call(uid)) if uid else None
            if call is not None:
                return call
        call = self.by_linked.get(linked) if linked else None
        if call is not None and call.answered_at is not None and call.talk_end is None:
            return call
        return None

    # --- facts from the dialplan ----------------------------------------------------------------

    def recording(self, e: ev.RecordingStarted | ev.RecordingStopped, out: Output) -> None:
        call = self.call(e.uniqueid, e.linkedid)
        if call is None:
            if isinstance(e, ev.RecordingStarted):
                ch = self.tracker.graph.ensure(e.uniqueid, e.channel, e.linkedid, e.ts)
                if ch.recording_at is None:
                    ch.recording_at = e.ts  # before Queue(): kept for the join
            return
        if isinstance(e, ev.RecordingStarted):
            self._recording_started(call, e.ts, call.recording_file)
        else:
            call.note(e.ts, "recording_end")

    @staticmethod
    def _recording_started(call: QueueCall, ts: float, file: str | None) -> None:
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
            call.note(ts, "recording", file=file)
        else:
            call.note(ts, "recording")

    def varset(self, e: ev.VarSet, out: Output) -> None:
        name = e.variable.upper()
        if name == "QUEUESTATUS":
            self.queue_result(e.uniqueid, e.value, e.ts, out)
            return
        call = self.own(e.uniqueid) if name == "QUEUE_PRIO" else self.call(e.uniqueid, e.linkedid)
        if call is None or call.outcome not in (None, "answered"):
            # Not in a queue (yet): the value waits on the channel for the join.
            ch = self.tracker.graph.ensure(e.uniqueid, e.channel, e.linkedid, e.ts)
            ch.variables[name] = e.value
            if name == "MIXMONITOR_FILENAME" and ch.recording_at is None:
                ch.recording_at = e.ts
            return
        if name == "QUEUE_PRIO":
            try:
                call.priority = int(e.value)
            except ValueError:
                self._skip("bad_value")
                return
            out.calls.add(call.call_id)
        elif name == "MIXMONITOR_FILENAME":
            call.recording_file = e.value
            self._recording_started(call, e.ts, e.value)
        elif name == "CC_RECORDING":
            if not call.recording_file:
                call.recording_file = e.value
        elif name.startswith("CC_"):
            call.note(e.ts, "var", name=e.variable, value=e.value)

    def route(self, e: ev.RouteDecided, out: Output) -> None:
        call = self.own(e.uniqueid)
        if call is not None and call.outcome is None:
            call.route = route_dict(e)
            call.priority = call.priority or e.priority
            out.calls.add(call.call_id)
        else:
            _bounded_put(self._routes, e.uniqueid, e)

    def callback(self, uniqueid: str, number: str, ts: float, out: Output) -> None:
        call = self.own(uniqueid)
        if call is None:
            _bounded_put(self._callbacks, uniqueid, ts)
            return
        if call.callback:
            return
        call.callback = True
        call.note(ts, "callback_requested", number=number)
        if call.pending:
            self.resolve(call, "callback_requested", ts, out)


def route_dict(e: ev.RouteDecided) -> dict[str, Any]:
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


def queue_record(c: QueueCall, config: CoreConfig) -> dict[str, Any]:
    if c.answered_at is not None:
        wait = c.answered_at - c.entered_at
    elif c.left_at is not None:
        wait = c.left_at - c.entered_at
    else:
        wait = 0.0
    short = c.outcome == "abandoned" and wait < config.queue(c.queue).short_abandon_s
    return {
        "call_id": c.call_id,
        "uniqueid": c.uniqueid,
        "linkedid": c.linkedid,
        "kind": "queue",
        "direction": "inbound",
        "queue": c.queue,
        "caller_number": c.caller_number,
        "caller_name": c.caller_name,
        "entered_at": c.entered_at,
        "answered_at": c.answered_at,
        "ended_at": c.ended_at,
        "wait_s": rounded(max(0.0, wait)),
        "sl_wait_s": c.sl_wait if c.sl_wait is not None else (max(0, int(c.entered_at + wait) - int(c.entered_at))),
        "talk_s": rounded(c.talk_s),
        "hold_s": rounded(c.hold_s),
        "wrap_up_s": rounded(c.wrap_up_s),
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
            {"agent": a.agent, "ring_s": rounded(a.ring_s or 0.0), "result": a.result or "cancelled", "started_at": a.started_at}
            for a in c.attempts
        ],
        "transfer": dict(c.transfer) if c.transfer else None,
        "legs": list(c.legs.values()),
        "timeline": c.timeline,
        "inferred": c.inferred,
        "source": c.source,
        "end_reason": None,
    }
