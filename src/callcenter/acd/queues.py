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
from typing import TYPE_CHECKING, Any

from callcenter.acd import events as ev
from callcenter.acd import kpi
from callcenter.acd.agents import Agent, Agents
from callcenter.acd.calls import Tracker
from callcenter.acd.common import CoreConfig, Output, Timers
from callcenter.acd.queue_call import OUTCOME_SLOT, Attempt, QueueCall, QueueState, queue_record  # noqa: F401 - re-exported

if TYPE_CHECKING:
    from callcenter.acd.dialplan import DialplanFacts
    from callcenter.acd.talk import Talk

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
        self.finished: dict[tuple[str, str], QueueCall] = {}  # finished with estimates: a backfill may correct them
        self.finished_keys: set[tuple[str, str]] = set()  # every recently finished (caller, queue)
        self._finished_order: deque[tuple[str, str]] = deque()
        self._recent: deque[str] = deque()
        self._recent_set: set[str] = set()
        self.stats: dict[str, int] = {}
        self.sink: Any = None  # reports.intervals.IntervalAccumulator: the same facts, per 30 minutes
        agents.on_membership = self._membership
        self.on_callback: Any = lambda call, out: None
        # The conversation and the dialplan's facts are theirs (Core wires them).
        self.talk: Talk
        self.dialplan: DialplanFacts

    def skip(self, why: str) -> None:
        """Count odd input instead of raising: the core's stats say what was skipped."""
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

    def late_or_unknown(self, uniqueid: str, linkedid: str = "") -> None:
        self.skip("late_event" if linkedid in self._recent_set or uniqueid in self._recent_set else "unknown_call")

    def new_call_id(self, base: str) -> str:
        if base not in self.calls and base not in self._recent_set:
            return base
        n = 2
        while f"{base}-{n}" in self.calls or f"{base}-{n}" in self._recent_set:
            n += 1
        return f"{base}-{n}"

    def keep_finished(self, call: QueueCall) -> None:
        """Remember a finished call for a late queue_log backfill: its key
        always (so it is never made twice), the whole call only when its
        figures were estimated at a resync (so it can be corrected)."""
        key = (call.uniqueid, call.queue)
        if key not in self.finished_keys:
            self.finished_keys.add(key)
            self._finished_order.append(key)
            if len(self._finished_order) > RECENT_CALLS:
                old = self._finished_order.popleft()
                self.finished_keys.discard(old)
                self.finished.pop(old, None)
        if call.guessed:
            self.finished[key] = call

    def remember(self, key: str) -> None:
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

    def count_offered(self, call: QueueCall) -> None:
        if not call.offered_counted:
            call.offered_counted = True
            self.kpi_offered(call.queue, call.entered_at)

    def kpi_offered(self, queue: str, ts: float) -> None:
        self.kpi_add(queue, ts, ((kpi.OFFERED, 1.0),))
        if self.sink is not None:
            self.sink.offered(queue, ts)

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
        if self.sink is not None:
            self.sink.exited(queue, ts, outcome, wait, sl_wait, short)

    def kpi_handled(self, queue: str, ts: float, talk: float, hold: float, wrap: float, transferred: bool = False) -> None:
        self.kpi_add(queue, ts, ((kpi.HANDLED, 1.0), (kpi.TALK, talk), (kpi.HOLD, hold), (kpi.WRAP, wrap)))
        if self.sink is not None:
            self.sink.handled(queue, ts, talk, hold, wrap, transferred)

    def kpi_callback(self, fact: dict[str, Any]) -> None:
        """A queued callback dialled ("made") or reached (qcallbacks.py):
        live, or reloaded from its persisted fact after a restart."""
        queue, at = fact["queue"], float(fact["at"])
        if fact["kind"] == "made":
            self.kpi_add(queue, at, ((kpi.CB_MADE, 1.0),))
            if self.sink is not None:
                self.sink.callback(queue, at, False)
            return
        wait, delay = at - float(fact["entered_at"]), at - float(fact["requested_at"])
        ks = self.queue(queue).kpi
        same = ks.day_of(float(fact["requested_at"])) == ks.day_of(at)
        self.kpi_add(queue, at, ((kpi.CB_REACHED, 1.0), (kpi.CB_WAIT, wait), (kpi.CB_DELAY, delay), (kpi.CB_SAME_DAY, float(same))))
        if self.sink is not None:
            self.sink.callback(queue, at, True, wait, delay, same)

    # --- the caller in the queue ---------------------------------------------------------

    def new_call(self, ts: float, queue: str, uniqueid: str, linkedid: str, channel: str, number: str, name: str, position: int) -> QueueCall:
        call = QueueCall(
            call_id=self.new_call_id(linkedid or uniqueid),
            uniqueid=uniqueid,
            linkedid=linkedid or uniqueid,
            queue=queue,
            caller_number=number,
            caller_name=name,
            entered_at=ts,
            position=position,
        )
        call.legs[uniqueid] = {"uniqueid": uniqueid, "channel": channel, "role": "caller", "start": ts, "end": None}
        ch = self.tracker.graph.ensure(uniqueid, channel, linkedid, ts)
        self.dialplan.adopt_channel_facts(call, ch)
        if not ch.local:
            thread = self.tracker.call_of(ch, ts)
            call.thread = thread.call_id
            thread.queue_calls.append(call.call_id)
        self.calls[call.call_id] = call
        self.by_uid[uniqueid] = call
        self.by_linked[call.linkedid] = call
        return call

    def joined(self, e: ev.CallerJoined, out: Output) -> None:
        existing = self.own(e.uniqueid)
        if existing is not None:
            if existing.queue == e.queue and existing.left_at is None:
                self.skip("duplicate")
                return
            # The same caller enters a queue again (e.g. blind-transferred to it):
            # the previous queue call ends here and a new one starts.
            if existing.pending:
                self.resolve(existing, "exit_key" if existing.pending == "left" else "timeout", e.ts, out)
            elif existing.answered_at is not None and existing.talk_end is None:
                self.talk.end_talk(existing, e.ts, out, "requeued")
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
        self.count_offered(call)
        out.queues.add(e.queue)
        out.calls.add(call.call_id)

    def unseen(self, ts: float, queue: str, uniqueid: str, linkedid: str, wait_s: float, position: int) -> QueueCall | None:
        """A queue event for a caller whose join we never saw (we connected
        after it): the call is made from what Asterisk tells now."""
        if uniqueid in self._recent_set or (linkedid and linkedid in self._recent_set):
            return None
        ch = self.tracker.graph.get(uniqueid)
        number, name = (ch.caller_number, ch.caller_name) if ch is not None else ("", "")
        call = self.new_call(ts - max(0.0, wait_s), queue, uniqueid, linkedid, ch.name if ch else "", number, name, position)
        call.note(ts, "queued", queue=queue, position=position, via="first_seen_leaving")
        self.count_offered(call)
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
            call = self.unseen(e.ts, e.queue, e.uniqueid, e.linkedid, e.hold_time_s, e.original_position or e.position)
            if call is None:
                self.late_or_unknown(e.uniqueid, e.linkedid)
                return
        if call.pending == "abandon" or call.outcome is not None:
            self.skip("duplicate")
            return
        call.pending = "abandon"
        call.abandon_position = e.position
        call.sl_wait = int(e.hold_time_s)
        self.left_queue(call, e.ts, out)
        if call.callback:
            self.resolve(call, "callback_requested", e.ts, out)
        else:
            self.timers.add(e.ts + EXIT_GRACE_S, "exit", call.call_id)

    def left(self, e: ev.CallerLeft, out: Output) -> None:
        call = self.own(e.uniqueid)
        if call is None:
            self.late_or_unknown(e.uniqueid, e.linkedid)
            return
        if call.left_at is not None or call.outcome is not None:
            return  # the leave that follows an abandon or a connect
        call.pending = "left"
        self.left_queue(call, e.ts, out, cancel=False)
        if call.callback:
            self.resolve(call, "callback_requested", e.ts, out)
        else:
            self.timers.add(e.ts + EXIT_GRACE_S, "exit", call.call_id)

    def left_queue(self, call: QueueCall, ts: float, out: Output, cancel: bool = True) -> None:
        """Out of the waiting line.  A plain QueueCallerLeave comes just
        before AgentConnect, so it leaves the rings to the connect."""
        call.left_at = ts
        self._remove_waiting(call)
        if cancel:
            for att in call.open_attempts():
                self.end_attempt(call, att, ts, "cancelled", out)
        out.queues.add(call.queue)
        out.calls.add(call.call_id)

    def resolve(self, call: QueueCall, outcome: str, ts: float, out: Output) -> None:
        """The caller left the queue unanswered; `outcome` says how."""
        if call.left_at is None:
            self.left_queue(call, ts, out)
        for att in call.open_attempts():
            self.end_attempt(call, att, ts, "cancelled", out)
        if call.callback or outcome == "callback_requested":
            outcome = "callback_requested"
        call.pending = None
        call.outcome = outcome
        wait = max(0.0, call.left_at - call.entered_at)  # type: ignore[operator]
        short = outcome == "abandoned" and wait < self.config.queue(call.queue).short_abandon_s
        if not call.inferred:
            self.kpi_exit(call.queue, call.left_at, outcome, wait, self.sl_wait_of(call, call.left_at), short)  # type: ignore[arg-type]
        call.state = "ended"
        if call.ended_at is None:
            call.ended_at = ts if outcome == "abandoned" else call.left_at
        call.note(ts, outcome)
        out.queues.add(call.queue)
        if outcome == "callback_requested":
            self.on_callback(call, out)  # qcallbacks.py: it keeps its place in line
        self.maybe_finish(call, out)

    @staticmethod
    def sl_wait_of(call: QueueCall, until: float) -> int:
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
        if call is not None and call.outcome == "answered":
            # Queue() returned (QUEUESTATUS=CONTINUE): the caller goes on in
            # the dialplan (our survey), but this queue call is over.
            if call.talk_end is None:
                self.talk.end_talk(call, ts, out, "queue_returned")
            if call.ended_at is None:
                call.ended_at = ts
                call.note(ts, "queue_returned", status=status)
                self.maybe_finish(call, out)
            return
        if call is None or not call.pending:
            return  # already classified
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
            self.late_or_unknown(e.uniqueid, e.linkedid)
            return
        for att in call.open_attempts():
            if att.agent == e.interface and att.dest_uniqueid == e.dest_uniqueid:
                self.skip("duplicate")
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

    def open_attempt(self, call: QueueCall, interface: str = "", dest_uid: str = "") -> Attempt | None:
        for att in reversed(call.attempts):
            if att.result is None and ((dest_uid and att.dest_uniqueid == dest_uid) or (interface and att.agent == interface)):
                return att
        return None

    def end_attempt(self, call: QueueCall, att: Attempt, ts: float, result: str, out: Output, ring_s: float | None = None) -> None:
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
            self.late_or_unknown(e.uniqueid, e.linkedid)
            return
        att = self.open_attempt(call, interface=e.interface)
        if att is None:
            self.skip("duplicate")
            return
        self.end_attempt(call, att, e.ts, "no_answer", out, ring_s=e.ring_time_s)

    def dial_ended(self, e: ev.DialEnded, out: Output) -> None:
        call = self.by_uid.get(e.dest_uniqueid) or self.by_uid.get(e.uniqueid)
        if call is None:
            return
        status = e.status.upper()
        if status == "ANSWER":
            return  # AgentConnected says who answered
        att = self.open_attempt(call, dest_uid=e.dest_uniqueid)
        if att is None:
            return  # not a member leg, or already ended by AgentRingNoAnswer / AgentConnected
        self.end_attempt(call, att, e.ts, _DIAL_RESULT.get(status, "failed"), out)

    def dumped(self, e: ev.AgentDumped, out: Output) -> None:
        call = self.by_uid.get(e.uniqueid)
        if call is None:
            self.late_or_unknown(e.uniqueid, e.linkedid)
            return
        att = self.open_attempt(call, interface=e.interface)
        if att is not None:
            self.end_attempt(call, att, e.ts, "dumped", out)


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
        self.remember(call.call_id)
        self.remember(call.linkedid)
        self.keep_finished(call)
        if call.outcome == "answered" and not call.inferred:
            self.kpi_handled(call.queue, self.now, call.talk_s, call.hold_s, call.wrap_up_s, bool(call.transfer))
            a = self.agents.get(call.agent or "")
            if a is not None and not call.agent_counted:
                call.agent_counted = True
                self.agents.handled(a, self.now, call.direction, call.talk_s, out)
        out.records.append(queue_record(call, self.config))
        out.calls.add(call.call_id)
        out.queues.add(call.queue)

    # --- channels ---------------------------------------------------------------------------

    def hangup(self, e: ev.Hangup, out: Output) -> None:
        self.dialplan.forget(e.uniqueid)
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
                self.left_queue(call, e.ts, out)  # no QueueCallerAbandon seen: still an abandon
                self.resolve(call, "abandoned", e.ts, out)
            elif call.answered_at is not None and call.talk_end is None:
                self.talk.end_talk(call, e.ts, out, "caller")
            if call.ended_at is None:
                call.ended_at = e.ts
            call.note(e.ts, "hangup", cause=e.cause)
            if self.by_uid.get(e.uniqueid) is call:
                del self.by_uid[e.uniqueid]
            self.maybe_finish(call, out)
            return
        att = self.open_attempt(call, dest_uid=e.uniqueid)
        if att is not None:
            self.end_attempt(call, att, e.ts, "no_answer", out)
        elif call.answered_at is not None and call.talk_end is None and self.talk.is_agent_side(call, e):
            self.talk.end_talk(call, e.ts, out, "agent")
        if self.by_uid.get(e.uniqueid) is call and e.uniqueid not in (call.member_uid, call.phone_uid):
            del self.by_uid[e.uniqueid]
