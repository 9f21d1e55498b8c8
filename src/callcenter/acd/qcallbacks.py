"""Queued callbacks: a caller who pressed a key for a callback keeps their
place in the line (issue 16; Amazon Connect's queued callback).

A queue call that ends as `callback_requested` (the caller pressed 9 in
[cc-queue-keys], app_queue wrote EXITWITHKEY and sent QueueCallerLeave, the
/hooks/callback made the task and the dialplan's UserEvent CcCallback names
it) leaves a *virtual entry* in its queue: the caller's original entry time
and priority, the number, the callback task.  app_queue knows nothing of it;
this module keeps it in order with the live callers, by QUEUE_PRIO (higher
first) and then by the original entry time, as app_queue orders callers.

When the entry is at the head (no live caller ahead of it is still waiting
unoffered) and an agent of the queue is free, the core offers it to that
agent: a `CallbackOffer` for the service, which originates it through the
actions gateway.  Agent first, as Amazon Connect does: the agent's phone
rings (Originate Channel=<agent> Context=agents Exten=<number>, with
CC_CALLBACK_TASK), and once they answer [cc-outbound] dials the customer.

Keeping app_queue off the agent: an agent coming out of the core's own
wrap-up pause stays paused (the unpause the wrap-up would send is dropped),
so app_queue cannot ring them for a later live caller in between; an agent
who was already free is paused with reason "callback".  The pause ends with
the callback: the wrap-up after an answered callback unpauses them as after
any call; a callback that did not connect unpauses them at once.

The free agent, "per the queue's order": the lowest penalty, then the one
free the longest (the agent state's `since`).

Linking: the UserEvent CcOutbound the dialplan sends for the Originate
carries Task (CC_CALLBACK_TASK): that agent channel is the callback's.  The
callback connects when that channel's outbound call is answered (direct.py);
if the customer does not answer it goes back to its place, up to
MAX_ATTEMPTS dials RETRY_S apart, and then stays on the same-day list.

KPIs (kpi.py): the request left the queue as `callback_requested`, never an
abandon; it was counted offered when the caller joined.  Its wait runs to
the moment the callback connects: CB_WAIT = connected − original entry,
CB_DELAY = connected − request, each over the callbacks reached (CB_REACHED);
CB_MADE counts dials of the customer (CcOutbound), CB_SAME_DAY the callbacks
reached on the local day they were asked for.  Each dial and each reach is
also a fact in `out.callback_facts`, persisted by the service
(acd_callback_facts) and reloaded at a restart, so the figures do not start
again from zero; the 30-minute report rows count the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from callcenter.acd import events as ev
from callcenter.acd.common import CALLBACK_REASON, CORE_PAUSES, WRAP_REASON, CallbackOffer, Output, PauseMember, ScreenPop, rounded

if TYPE_CHECKING:
    from callcenter.acd.agents import Agent, Agents
    from callcenter.acd.direct import DirectCall, DirectCalls
    from callcenter.acd.queues import QueueCall, Queues

OFFER_TIMEOUT_S = 60.0  # the agent's phone neither answered nor failed: the offer lapses
UNPAUSE_GRACE_S = 2.0  # an agent a person unpaused while callers wait is app_queue's this long
MAX_ATTEMPTS = 3  # dials of the customer before the callback is left to the same-day list
RETRY_S = 120.0  # between two dials of the same callback
KEEP_ENDED = 500  # finished callbacks kept for the views


@dataclass(slots=True, eq=False)
class QueuedCallback:
    cb_id: str
    call_id: str  # the queue call that asked for it
    uniqueid: str  # the caller's channel on that call
    queue: str
    number: str
    entered_at: float  # the caller's original entry: the place kept
    priority: int
    original_position: int
    requested_at: float  # left the queue with the key
    task: str = ""  # the callback task (/hooks/callback, CcCallback Task)
    state: str = "waiting"  # waiting | offered | dialing | connected | failed
    agent: str | None = None
    offered_at: float | None = None
    agent_uid: str = ""  # the agent's channel of the current dial (CcOutbound Uniqueid)
    direct: Any = None  # that channel's direct.DirectCall once it dials
    connected_at: float | None = None
    ended_at: float | None = None
    attempts: int = 0
    not_before: float = 0.0
    paused_by_us: bool = False
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def key(self) -> tuple[int, float]:
        return (-self.priority, self.entered_at)


class QueuedCallbacks:
    def __init__(self, qa: Queues, agents: Agents, direct: DirectCalls) -> None:
        self.qa = qa
        self.agents = agents
        self.direct = direct
        self.live: dict[str, QueuedCallback] = {}  # not finished, by cb_id
        self.by_call: dict[str, QueuedCallback] = {}  # by the queue call's id and the caller's uniqueid
        self.by_agent: dict[str, QueuedCallback] = {}  # offered or dialling, by agent interface
        self.talking: dict[str, QueuedCallback] = {}  # connected, the agent still on it (the desktop's card)
        self.ended: list[QueuedCallback] = []
        self._dirty = False  # a callback became offerable: look again at the next dispatch
        self._lens: dict[str, int] = {}  # waiting callers per queue at the last look
        self._queues_own: dict[str, float] = {}  # agents a person unpaused with callers waiting: app_queue's until then

    # --- the request --------------------------------------------------------------------

    def requested(self, call: QueueCall, out: Output) -> None:
        """The queue call left as callback_requested: it keeps its place."""
        if call.answered_at is not None or call.inferred or call.call_id in self.by_call:
            return
        at = call.left_at if call.left_at is not None else self.qa.now
        joined = next((i.get("position") for i in call.timeline if i["kind"] == "queued"), None) or call.position
        cb = QueuedCallback(
            cb_id=f"cb-{call.call_id}", call_id=call.call_id, uniqueid=call.uniqueid, queue=call.queue,
            number=call.caller_number, entered_at=call.entered_at, priority=call.priority,
            original_position=joined, requested_at=at,
        )  # fmt: skip
        cb.timeline.append({"t": at, "kind": "requested", "call_id": call.call_id})
        self.live[cb.cb_id] = cb
        self.by_call[call.call_id] = self.by_call[call.uniqueid] = cb
        call.note(at, "queued_callback", callback=cb.cb_id)
        self._dirty = True
        out.queues.add(cb.queue)

    def task_known(self, uniqueid: str, task: str, number: str = "") -> None:
        """UserEvent CcCallback (Task) or /hooks/callback (number): what the hook made."""
        cb = self.by_call.get(uniqueid)
        if cb is None or cb.cb_id not in self.live:
            return
        if task and not cb.task:
            cb.task = task
        if number:
            cb.number = number

    # --- offering ------------------------------------------------------------------------

    def waiting_in(self, queue: str) -> list[QueuedCallback]:
        return sorted((c for c in self.live.values() if c.queue == queue and c.state == "waiting"), key=QueuedCallback.key)

    def dispatch(self, ts: float, out: Output, force: bool = False) -> None:
        """Offer every callback at the head of its queue to a free agent.
        Runs after every event, so it looks again only when something an
        offer depends on changed: an agent (out.agents), a waiting line's
        length, a callback's own state, or a timer (`force`)."""
        if not self.live and not self.talking:
            if out.agents:
                self._stray_holds(out)
            return
        if self.by_agent or self.talking:
            self._follow(ts, out)
        if not (force or self._dirty or out.agents or any(len(self.qa.queue(q).waiting) != n for q, n in self._lens.items())):
            return
        self._dirty = False
        queues = sorted({c.queue for c in self.live.values() if c.state == "waiting"})
        self._lens = {q: len(self.qa.queue(q).waiting) for q in queues}
        for queue in queues:
            q = self.qa.by_name.get(queue)
            for cb in self.waiting_in(queue):
                if cb.not_before > ts:
                    continue
                if q is not None and any(c.state == "waiting" and (-c.priority, c.entered_at) < cb.key() for c in q.waiting.values()):
                    break  # a live caller ahead is still waiting: app_queue serves them first
                a = self._free_agent(queue, ts, out)
                if a is None:
                    break
                self._offer(cb, a, ts, out)
        self._stray_holds(out)

    def _free_agent(self, queue: str, ts: float, out: Output) -> Agent | None:
        unpausing = {p.interface for p in out.actions if isinstance(p, PauseMember) and not p.paused}
        best: tuple[int, float, str] | None = None
        found = None
        for iface in self.qa.queue(queue).members:
            a = self.agents.get(iface)
            if a is None or iface in self.by_agent or a.state != "available" or a.ringing or a.others or a.call is not None:
                continue
            if self._queues_own.get(iface, 0.0) > ts:
                continue  # app_queue is ringing them for a live caller now (a person's unpause)
            m = a.queues.get(queue)
            if m is None or m.not_ready:
                continue
            if m.paused and m.reason == WRAP_REASON and iface not in unpausing:
                continue  # still held by the core's wrap-up pause of another moment
            rank = (m.penalty, a.since, iface)
            if best is None or rank < best:
                best, found = rank, a
        return found

    # --- a person's unpause -------------------------------------------------------------
    #
    # app_queue rings an agent for a live caller the moment a person unpauses
    # them (the desktop's "ready", a feature code, a supervisor); it knows
    # nothing of the callbacks.  Offering a callback to that agent then would
    # put two calls on one phone.  So: the desktop's "ready" asks `takes`
    # first and, when a callback is theirs to take, holds them with the
    # callback pause instead of unpausing (Asterisk never frees them; the
    # MemberPaused that comes back makes them available to the core alone).
    # An unpause the core did not arrange, with live callers waiting in the
    # agent's queues, leaves the agent to app_queue for UNPAUSE_GRACE_S; an
    # unpause of an agent holding an offer is taken back.  A callback hold
    # with no callback to go with it is released.

    def takes(self, interface: str, now: float) -> bool:
        """Would this agent be offered a callback now, were they free?  (The
        desktop's "ready": hold them with the callback pause instead.)"""
        a = self.agents.get(interface)
        if a is None or a.wrap is not None or a.call is not None or a.others or a.ringing or interface in self.by_agent:
            return False
        for queue in a.queues:
            head = next((cb for cb in self.waiting_in(queue) if cb.not_before <= now), None)
            q = self.qa.by_name.get(queue)
            if head is not None and not (q is not None and any(c.state == "waiting" and (-c.priority, c.entered_at) < head.key() for c in q.waiting.values())):
                return True
        return False

    def ready_action(self, interface: str, now: float) -> PauseMember:
        """What the desktop's "ready" sends: the callback hold when a queued
        callback is this agent's to take, else the unpause."""
        if self.takes(interface, now):
            return PauseMember(interface, True, CALLBACK_REASON)
        return PauseMember(interface, False, "")

    def unpaused(self, a: Agent, reason: str, ts: float, out: Output) -> None:
        """MemberPaused(False) for `a`, who was paused with `reason` (or MemberAdded unpaused: "login")."""
        if a.interface in self.by_agent:
            if not any(p.interface == a.interface for p in out.actions if isinstance(p, PauseMember)):
                out.actions.append(PauseMember(a.interface, True, CALLBACK_REASON))  # keep app_queue off the offer's agent
            return
        if reason in CORE_PAUSES:
            return  # the core's own unpause: it chose to free them
        if any(c.state == "waiting" for q in a.queues for c in self.qa.queue(q).waiting.values()):
            self._queues_own[a.interface] = ts + UNPAUSE_GRACE_S
            self.qa.timers.add(ts + UNPAUSE_GRACE_S, "cboffer", "")  # look again then, if they are still free

    def _stray_holds(self, out: Output) -> None:
        """An agent held with the callback pause (the desktop's "ready") with no callback to go with it: free them."""
        for iface in list(out.agents):
            a = self.agents.get(iface)
            if a is None or not a.queues or iface in self.by_agent or iface in self.talking or a.wrap is not None or a.call is not None or a.others:
                continue
            if all(m.paused and m.reason == CALLBACK_REASON for m in a.queues.values()):
                if not any(p.interface == iface for p in out.actions if isinstance(p, PauseMember)):
                    out.actions.append(PauseMember(iface, False, CALLBACK_REASON))
        if len(self._queues_own) > 1000:
            self._queues_own = {k: v for k, v in self._queues_own.items() if v > self.qa.now}

    def _offer(self, cb: QueuedCallback, a: Agent, ts: float, out: Output) -> None:
        held = [p for p in out.actions if isinstance(p, PauseMember) and p.interface == a.interface and not p.paused]
        if held:
            for p in held:
                out.actions.remove(p)  # still paused from the wrap-up: app_queue keeps off them
        elif not any(m.paused for m in a.queues.values()):
            out.actions.append(PauseMember(a.interface, True, CALLBACK_REASON))
        cb.paused_by_us = True
        cb.state, cb.agent, cb.offered_at = "offered", a.interface, ts
        cb.agent_uid, cb.direct = "", None
        cb.attempts += 1
        cb.timeline.append({"t": ts, "kind": "offered", "agent": a.interface, "attempt": cb.attempts})
        self.by_agent[a.interface] = cb
        self.qa.timers.add(ts + OFFER_TIMEOUT_S, "cboffer", cb.cb_id)
        out.pops.append(ScreenPop(a.interface, cb.cb_id, "ringing"))  # the desktop's card: a queued callback
        out.offers.append(CallbackOffer(cb.cb_id, cb.queue, a.interface, cb.number, cb.task, cb.uniqueid, cb.entered_at,
                                        cb.original_position, cb.requested_at))
        out.agents.add(a.interface)
        out.queues.add(cb.queue)

    # --- the dial ---------------------------------------------------------------------------

    def outbound(self, e: ev.UserEvent, out: Output) -> None:
        """UserEvent CcOutbound: the agent answered and [cc-outbound] dials
        the customer: a callback made (an offer the agent never took is not)."""
        task, agent = e.get("Task"), e.get("Agent")
        cb = next((c for c in self.by_agent.values() if c.state == "offered" and ((task and task == c.task) or (not c.task and agent == c.agent))), None)
        if cb is None and task:
            # An offer that lapsed while the agent's phone still rang: the
            # agent took it after all, so it is theirs (never dialled twice).
            cb = next((c for c in self.live.values() if c.state == "waiting" and c.task == task and agent and agent not in self.by_agent), None)
            if cb is None:
                return
            cb.agent, cb.attempts = agent, cb.attempts + 1
            self.by_agent[agent] = cb
        if cb is None:
            return
        if task and not cb.task:
            cb.task = task  # rebuilt from queue_log (its CcCallback was missed): the dialer found the task
        cb.state, cb.agent_uid = "dialing", e.get("Uniqueid") or e.uniqueid
        cb.timeline.append({"t": e.ts, "kind": "dialing", "uniqueid": cb.agent_uid, "agent": cb.agent})
        self._fact(cb, "made", e.ts, out)

    def originate_failed(self, e: ev.OriginateResponded, out: Output) -> None:
        """The agent's phone did not take the offer: back in place, someone else may."""
        if e.response.lower() == "success":
            return
        a = self.agents.of_device(e.interface)
        cb = self.by_agent.get(a.interface if a is not None else e.interface)
        if cb is not None and cb.state == "offered":
            self._retry(cb, e.ts, out, "agent_no_answer", count=False)

    def offer_timer(self, cb_id: str, deadline: float, out: Output) -> None:
        cb = self.live.get(cb_id)
        if cb is not None and cb.state == "offered" and cb.offered_at is not None and cb.offered_at + OFFER_TIMEOUT_S <= deadline:
            self._retry(cb, deadline, out, "offer_lapsed", count=False)

    def _follow(self, ts: float, out: Output) -> None:
        """Dialling callbacks: answered by the customer, or not."""
        for iface, cb in list(self.talking.items()):
            if cb.direct is None or cb.direct.ended_at is not None or cb.direct.talk_end is not None:
                del self.talking[iface]
                out.pops.append(ScreenPop(iface, cb.cb_id, "cleared"))
                a = self.agents.get(iface)
                if cb.paused_by_us and a is not None and a.wrap is None and a.queues and not a.not_ready():
                    out.actions.append(PauseMember(iface, False, CALLBACK_REASON))  # no wrap-up (limit 0) to end the hold
                cb.paused_by_us = False
        for cb in [c for c in self.by_agent.values() if c.state == "dialing"]:
            d: DirectCall | None = cb.direct
            if d is None:
                d = cb.direct = self.direct.by_phone.get(cb.agent_uid)
                if d is None:
                    if self.qa.tracker.graph.get(cb.agent_uid) is None:  # hung up before it dialled
                        self._retry(cb, ts, out, "agent_hung_up")
                    continue
                d.queue = cb.queue  # the queue's wrap-up limit after it
            if d.answered_at is not None:
                self._connected(cb, d, out)
            elif d.ended_at is not None:
                self._retry(cb, d.ended_at, out, d.end_reason or "no_answer")

    def _connected(self, cb: QueuedCallback, d: DirectCall, out: Output) -> None:
        at = d.answered_at
        cb.state, cb.connected_at = "connected", at
        cb.timeline.append({"t": at, "kind": "connected", "call_id": d.call_id})
        d.timeline.append({"t": at, "kind": "queued_callback", "callback": cb.cb_id, "task": cb.task})
        self._fact(cb, "reached", at, out)
        # On the call now; the wrap-up after it pauses and unpauses as after any call.
        self._finish(cb, at, out, release=False)
        if cb.agent is not None:
            self.talking[cb.agent] = cb
            out.pops.append(ScreenPop(cb.agent, cb.cb_id, "answered"))

    def _fact(self, cb: QueuedCallback, kind: str, at: float, out: Output) -> None:
        """Counted in the KPI windows and the 30-minute rows, and handed to
        the service to persist: a restart (or a new cluster leader) reloads
        today's facts and counts the same (Core.restore)."""
        fact = {"callback_id": cb.cb_id, "attempt": cb.attempts, "kind": kind, "at": at, "queue": cb.queue, "task": cb.task,
                "agent": cb.agent or "", "entered_at": cb.entered_at, "requested_at": cb.requested_at}  # fmt: skip
        self.qa.kpi_callback(fact)
        out.callback_facts.append(fact)

    def _retry(self, cb: QueuedCallback, ts: float, out: Output, why: str, count: bool = True) -> None:
        cb.timeline.append({"t": ts, "kind": "not_connected", "reason": why})
        self._release(cb, out)
        if not count:
            cb.attempts -= 1  # the agent never dialled: not a try at the customer
        if cb.attempts >= MAX_ATTEMPTS:
            cb.state = "failed"
            self._finish(cb, ts, out, release=False)
            return
        cb.state, cb.agent, cb.agent_uid, cb.direct = "waiting", None, "", None
        self._dirty = True
        cb.not_before = ts + (RETRY_S if count else 0.0)
        if count:
            self.qa.timers.add(cb.not_before, "cboffer", cb.cb_id)
        out.queues.add(cb.queue)

    def _release(self, cb: QueuedCallback, out: Output) -> None:
        if cb.agent is None:
            return
        out.pops.append(ScreenPop(cb.agent, cb.cb_id, "cleared"))
        self.by_agent.pop(cb.agent, None)
        self._dirty = True  # that agent may take another one
        a = self.agents.get(cb.agent)
        if cb.paused_by_us and a is not None and a.queues and a.wrap is None and not a.not_ready():
            out.actions.append(PauseMember(a.interface, False, CALLBACK_REASON))
        cb.paused_by_us = False
        out.agents.add(cb.agent)

    def _finish(self, cb: QueuedCallback, ts: float, out: Output, release: bool) -> None:
        if release:
            self._release(cb, out)
        elif cb.agent is not None:
            self.by_agent.pop(cb.agent, None)
        cb.ended_at = ts
        self.live.pop(cb.cb_id, None)
        for k in (cb.call_id, cb.uniqueid):
            if self.by_call.get(k) is cb:
                del self.by_call[k]
        self.ended.append(cb)
        if len(self.ended) > KEEP_ENDED:
            del self.ended[: len(self.ended) - KEEP_ENDED]
        out.callbacks.append(callback_record(cb))
        out.queues.add(cb.queue)

    # --- views -----------------------------------------------------------------------------

    def find(self, cb_id: str) -> QueuedCallback | None:
        cb = self.live.get(cb_id)
        if cb is None:
            cb = next((c for c in self.talking.values() if c.cb_id == cb_id), None)
        return cb

    def call_view(self, cb_id: str, now: float) -> dict[str, Any] | None:
        """The desktop's card for a queued callback (the screen-pop's call)."""
        cb = self.find(cb_id)
        if cb is None:
            return None
        d = cb.direct
        return {
            "call_id": cb.cb_id,
            "uniqueid": cb.uniqueid,
            "queue": cb.queue,
            "caller_number": cb.number,
            "caller_name": "",
            "direction": "outbound",
            "entered_at": cb.entered_at,
            "answered_at": cb.connected_at,
            "agent": cb.agent,
            "state": cb.state,
            "wait_s": rounded(max(0.0, (cb.connected_at or now) - cb.entered_at)),
            "priority": cb.priority,
            "route": None,
            "recording_file": None,
            "callback": {"task": cb.task, "requested_at": cb.requested_at, "attempts": cb.attempts, "queue_call": cb.call_id,
                         "outbound_call": d.call_id if d is not None else None},
        }

    def of_agent(self, interface: str) -> dict[str, Any] | None:
        cb = self.by_agent.get(interface) or self.talking.get(interface)
        return None if cb is None else {"callback_id": cb.cb_id, "queue": cb.queue, "number": cb.number, "task": cb.task, "state": cb.state}

    def view(self, queue: str | None, now: float) -> list[dict[str, Any]]:
        """The callbacks in line, each with its place among the live callers."""
        rows = []
        for cb in sorted(self.live.values(), key=QueuedCallback.key):
            if queue is not None and cb.queue != queue:
                continue
            q = self.qa.by_name.get(cb.queue)
            ahead = sum(1 for c in q.waiting.values() if (-c.priority, c.entered_at) < cb.key()) if q is not None else 0
            ahead += sum(1 for o in self.live.values() if o.queue == cb.queue and o.key() < cb.key())
            rows.append(callback_record(cb) | {"position": ahead + 1, "wait_s": rounded(max(0.0, now - cb.entered_at))})
        return rows


def callback_record(cb: QueuedCallback) -> dict[str, Any]:
    return {
        "callback_id": cb.cb_id,
        "call_id": cb.call_id,
        "uniqueid": cb.uniqueid,
        "queue": cb.queue,
        "number": cb.number,
        "task": cb.task,
        "state": cb.state,
        "agent": cb.agent,
        "entered_at": cb.entered_at,
        "requested_at": cb.requested_at,
        "connected_at": cb.connected_at,
        "ended_at": cb.ended_at,
        "attempts": cb.attempts,
        "priority": cb.priority,
        "original_position": cb.original_position,
        "wait_s": rounded(cb.connected_at - cb.entered_at) if cb.connected_at is not None else None,
        "timeline": list(cb.timeline),
    }
