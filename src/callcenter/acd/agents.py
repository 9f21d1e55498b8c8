"""Agents: queue membership, pauses, the state a supervisor sees, wrap-up,
and the time each agent spent in each state.

An agent is a queue member interface (`PJSIP/8001`, or `Local/8001@agents/n`
whose phone is `PJSIP/8001`).  Their state is derived, never set: on a call
(a queue call, or any other call on their phone: outbound, internal,
transferred to them), on hold, in wrap-up, ringing, paused, available, or
logged out (in no queue).  A call outranks membership: an agent removed
from every queue mid-call is still on that call until it ends.

Two facts about a pause are kept apart (issue: a 90 s 休息 that overlaps a
call): the pause as the agent set it (`paused_s` by reason, what queue_log's
PAUSE..UNPAUSE says) and the state intervals (the time on the call during
it counts as call time).

Wrap-up is callcenter's: when an answered call's talk ends, the agent is
paused with reason "wrap-up" (a PauseMember action for the gateway) until
they submit a disposition or the queue's limit runs out.  The pure rule
lives here; the service carries out the actions.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from callcenter.acd import events as ev
from callcenter.acd.common import (
    CORE_PAUSES,
    UNSPECIFIED,
    WRAP_REASON,
    CoreConfig,
    Output,
    PauseMember,
    ScreenPop,
    Timers,
)

HISTORY = 50  # closed intervals kept per agent for the desktop
DIRECTIONS = ("inbound", "outbound", "internal")


@dataclass(slots=True)
class Membership:
    penalty: int = 0
    paused: bool = False
    reason: str = ""

    @property
    def not_ready(self) -> bool:
        """Paused by a person, not by the core's own wrap-up (or callback) pause."""
        return self.paused and self.reason not in CORE_PAUSES


@dataclass(slots=True)
class Wrap:
    call: Any  # a queues.QueueCall or a direct.DirectCall: call_id, queue, timeline ...
    started: float
    deadline: float
    paused_by_us: bool


@dataclass(slots=True)
class Totals:
    handled: int = 0
    talk: float = 0.0
    hold: float = 0.0
    wrap: float = 0.0
    idle: float = 0.0  # available or ringing
    dialing: float = 0.0  # on an outbound call not answered yet: busy, but not talk
    paused: dict[str, float] = field(default_factory=dict)  # pauses as set, by reason
    by_direction: dict[str, list[float]] = field(default_factory=dict)  # direction -> [handled, talk]

    def add(self, state: str, reason: str, seconds: float) -> None:
        if seconds <= 0:
            return
        if state == "on_call" and reason == "dialing":
            self.dialing += seconds
        elif state == "on_call":
            self.talk += seconds
        elif state == "on_hold":
            self.hold += seconds
        elif state == "wrap_up":
            self.wrap += seconds
        elif state in ("available", "ringing"):
            self.idle += seconds
        elif state == "pause":
            self.paused[reason] = self.paused.get(reason, 0.0) + seconds

    def handled_call(self, direction: str, talk: float) -> None:
        self.handled += 1
        d = self.by_direction.setdefault(direction, [0, 0.0])
        d[0] += 1
        d[1] += talk

    def copy(self) -> Totals:
        return Totals(self.handled, self.talk, self.hold, self.wrap, self.idle, self.dialing, dict(self.paused), {k: list(v) for k, v in self.by_direction.items()})

    def occupancy(self) -> float | None:
        busy = self.talk + self.hold + self.wrap + self.dialing
        return busy / (busy + self.idle) if busy + self.idle > 0 else None


@dataclass(slots=True, eq=False)
class Agent:
    interface: str
    name: str
    state: str = "logged_out"
    reason: str = ""
    since: float = 0.0
    state_call: str | None = None
    queues: dict[str, Membership] = field(default_factory=dict)
    ringing: set[str] = field(default_factory=set)
    call: Any = None  # the queue call they are talking on
    others: dict[str, Any] = field(default_factory=dict)  # other calls on their phone (direct.DirectCall), by call id
    wrap: Wrap | None = None
    busy_unknown: bool = False  # in a call we did not see start (found at resync)
    pause_reason: str = ""
    pause_since: float | None = None  # the pause as set: since when ...
    pause_open: str = ""  # ... and for which reason
    history: deque[tuple[str, str, float, float, str | None]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    day_id: int = -1
    today: Totals = field(default_factory=Totals)
    total: Totals = field(default_factory=Totals)

    @property
    def on_hold(self) -> bool:
        if self.call is not None:
            return self.call.hold_started is not None
        return any(o.hold_started is not None for o in self.others.values())

    def not_ready(self) -> bool:
        return bool(self.queues) and all(m.not_ready for m in self.queues.values())


class Agents:
    def __init__(self, config: CoreConfig, timers: Timers, day_of: Callable[[float], int], day_start: Callable[[int], float]) -> None:
        self.config = config
        self.timers = timers
        self.day_of = day_of
        self.day_start = day_start
        self.by_interface: dict[str, Agent] = {}
        self.devices: dict[str, str] = {}  # phone interface -> agent interface (Local members, StateInterface)
        self.on_wrap_done: Callable[[Any, Output], None] = lambda call, out: None
        self.on_membership: Callable[[Agent, str, bool], None] = lambda a, queue, member: None
        self.stats: dict[str, int] = {}
        self.sink: Any = None  # reports.intervals.IntervalAccumulator

    def _skip(self, why: str) -> None:
        self.stats[why] = self.stats.get(why, 0) + 1

    def get(self, interface: str) -> Agent | None:
        return self.by_interface.get(interface)

    def agent(self, interface: str, name: str, now: float) -> Agent:
        a = self.by_interface.get(interface)
        if a is None:
            a = self.by_interface[interface] = Agent(interface, name or interface, since=now)
        elif name and a.name != name:
            a.name = name
        return a

    def of_device(self, device: str) -> Agent | None:
        """The agent whose phone `device` is (`PJSIP/8001` for member PJSIP/8001
        or Local/8001@agents/n)."""
        return self.by_interface.get(self.devices.get(device, device))

    def learn_device(self, a: Agent, device: str) -> None:
        if device and device != a.interface and not device.startswith("Local/"):
            self.devices[device] = a.interface

    # --- membership ---------------------------------------------------------------

    def member(self, a: Agent, queue: str) -> Membership:
        m = a.queues.get(queue)
        if m is None:
            m = a.queues[queue] = Membership()
            self.on_membership(a, queue, True)
        return m

    def set_pause(self, a: Agent, m: Membership, paused: bool, reason: str, ts: float, out: Output) -> None:
        m.paused = paused
        m.reason = reason if paused else ""
        if paused and reason not in CORE_PAUSES:
            a.pause_reason = reason or UNSPECIFIED
            if a.wrap is not None:
                a.wrap.paused_by_us = False  # a person paused them: leave it to them
        self._pause_as_set(a, ts, out)

    def _pause_as_set(self, a: Agent, ts: float, out: Output) -> None:
        """Open or close the pause as the agent set it (independent of calls)."""
        now_paused = a.not_ready()
        reason = a.pause_reason or UNSPECIFIED
        if a.pause_since is not None and (not now_paused or reason != a.pause_open):
            self._close_pause(a, ts, out)
        if now_paused and a.pause_since is None:
            a.pause_since, a.pause_open = ts, reason

    def _close_pause(self, a: Agent, ts: float, out: Output) -> None:
        start = a.pause_since
        if start is None:
            return
        reason = a.pause_open or UNSPECIFIED
        a.pause_since = None
        end = max(ts, start)
        self.account(a, "pause", reason, start, end)
        if end > start:
            out.intervals.append(_interval(a.interface, "pause", reason, start, end, None))

    def added(self, e: ev.MemberAdded, out: Output) -> None:
        a = self.agent(e.interface, e.member_name, e.ts)
        self.learn_device(a, e.state_interface)
        m = self.member(a, e.queue)
        m.penalty = e.penalty
        self.set_pause(a, m, e.paused, e.paused_reason, e.ts, out)
        self._changed(a, e.queue, e.ts, out)

    def removed(self, e: ev.MemberRemoved, out: Output) -> None:
        a = self._known_member(e.interface, e.queue)
        if a is None:
            return
        del a.queues[e.queue]
        self.on_membership(a, e.queue, False)
        self._pause_as_set(a, e.ts, out)
        self._changed(a, e.queue, e.ts, out)

    def paused(self, e: ev.MemberPaused, out: Output) -> None:
        a = self._known_member(e.interface, e.queue)
        if a is None:
            return
        self.set_pause(a, a.queues[e.queue], e.paused, e.reason, e.ts, out)
        self._changed(a, e.queue, e.ts, out)

    def status(self, e: ev.MemberStatus, out: Output) -> None:
        a = self.agent(e.interface, e.member_name, e.ts)
        self.learn_device(a, e.state_interface)
        m = self.member(a, e.queue)
        if (m.paused, m.reason) != (e.paused, e.paused_reason if e.paused else ""):
            self.set_pause(a, m, e.paused, e.paused_reason, e.ts, out)
        if a.busy_unknown and not e.in_call and e.status == 1:
            a.busy_unknown = False
        self.refresh(a, e.ts, out)

    def _known_member(self, interface: str, queue: str) -> Agent | None:
        """The agent, if they are a member of `queue`; else the event is skipped."""
        a = self.by_interface.get(interface)
        if a is None or queue not in a.queues:
            self._skip("unknown_member")
            return None
        return a

    def _changed(self, a: Agent, queue: str, ts: float, out: Output) -> None:
        self.refresh(a, ts, out)
        out.agents.add(a.interface)
        out.queues.add(queue)

    # --- state ------------------------------------------------------------------------

    def derive(self, a: Agent) -> tuple[str, str, str | None]:
        if a.call is not None:
            return ("on_hold" if a.call.hold_started is not None else "on_call"), "", a.call.call_id
        if a.others:
            other = next(reversed(a.others.values()))
            if other.answered_at is None:
                return "on_call", "dialing", other.call_id  # their outbound call rings
            return ("on_hold" if a.on_hold else "on_call"), "", other.call_id
        if a.busy_unknown:
            return "on_call", "", None
        if a.wrap is not None:
            return "wrap_up", "", a.wrap.call.call_id
        if not a.queues:
            return "logged_out", "", None
        if a.ringing:
            return "ringing", "", next(iter(a.ringing))
        if a.not_ready():
            return "paused", a.pause_reason or UNSPECIFIED, None
        return "available", "", None

    def refresh(self, a: Agent, ts: float, out: Output) -> None:
        state, reason, call_id = self.derive(a)
        if (state, reason) == (a.state, a.reason) and call_id == a.state_call:
            return
        self._close_interval(a, ts, out)
        a.state, a.reason, a.state_call, a.since = state, reason, call_id, max(ts, a.since)
        out.agents.add(a.interface)
        out.queues.update(a.queues)

    def _close_interval(self, a: Agent, ts: float, out: Output) -> None:
        start = a.since
        end = max(ts, start)
        self.account(a, a.state, a.reason, start, end)
        if end > start:
            a.history.append((a.state, a.reason, start, end, a.state_call))
            out.intervals.append(_interval(a.interface, a.state, a.reason, start, end, a.state_call))

    def account(self, a: Agent, state: str, reason: str, start: float, end: float) -> None:
        if self.sink is not None:
            self.sink.agent_time(a.interface, state, reason, start, end)
        a.total.add(state, reason, end - start)
        day = self.day_of(end)
        if day != a.day_id:
            if day < a.day_id:
                return
            a.day_id, a.today = day, Totals()
        a.today.add(state, reason, end - max(start, self.day_start(day)))

    def handled(self, a: Agent, ts: float, direction: str, talk: float, out: Output) -> None:
        if self.sink is not None:
            self.sink.agent_handled(a.interface, ts, direction, talk)
        a.total.handled_call(direction, talk)
        day = self.day_of(ts)
        if day >= a.day_id:
            if day > a.day_id:
                a.day_id, a.today = day, Totals()
            a.today.handled_call(direction, talk)
        out.agents.add(a.interface)

    # --- calls --------------------------------------------------------------------------

    def ringing_started(self, a: Agent, call_id: str, ts: float, out: Output) -> None:
        if a.wrap is not None:
            self.end_wrap(a, ts, out)  # rung again: Asterisk's floor has passed, the wrap-up is over
        a.ringing.add(call_id)
        out.pops.append(ScreenPop(a.interface, call_id, "ringing"))
        self.refresh(a, ts, out)

    def ringing_ended(self, a: Agent, call_id: str, ts: float, out: Output, answered: bool) -> None:
        if call_id not in a.ringing:
            return
        a.ringing.discard(call_id)
        if not answered:
            out.pops.append(ScreenPop(a.interface, call_id, "cleared"))
        self.refresh(a, ts, out)

    def connected(self, a: Agent, call: Any, ts: float, out: Output) -> None:
        if a.wrap is not None:
            self.end_wrap(a, ts, out)
        a.ringing.discard(call.call_id)
        a.call = call
        a.busy_unknown = False
        out.pops.append(ScreenPop(a.interface, call.call_id, "answered"))
        self.refresh(a, ts, out)

    def talk_ended(self, a: Agent, call: Any, ts: float, out: Output, wrap: bool = True) -> None:
        """Their part in `call` is over: off the call, into wrap-up."""
        if a.call is call:
            a.call = None
        a.others.pop(call.call_id, None)
        out.pops.append(ScreenPop(a.interface, call.call_id, "cleared"))
        if wrap:
            self.start_wrap(a, call, ts, out)
        else:
            call.wrap_done = True
        self.refresh(a, ts, out)

    # --- wrap-up -------------------------------------------------------------------------

    def start_wrap(self, a: Agent, call: Any, ts: float, out: Output) -> None:
        limit = self.config.queue(call.queue).wrap_up_s if call.queue else self.config.default_queue.wrap_up_s
        if limit <= 0:
            call.wrap_done = True
            return
        if a.wrap is not None:
            self.end_wrap(a, ts, out)
        # No pause for an agent in no queue: there is nothing to pause
        # (app_queue would answer "Interface not found" to every retry).
        paused_by_us = bool(a.queues) and not a.not_ready()
        a.wrap = Wrap(call, ts, ts + limit, paused_by_us)
        call.state = "wrap_up"
        self.timers.add(ts + limit, "wrap", a.interface)
        if paused_by_us:
            out.actions.append(PauseMember(a.interface, True, WRAP_REASON))

    def end_wrap(self, a: Agent, ts: float, out: Output, code: str | None = None, note: str = "") -> None:
        w = a.wrap
        if w is None:
            return
        a.wrap = None
        call = w.call
        call.wrap_up_s = max(0.0, ts - w.started)
        call.wrap_done = True
        if code is not None:
            call.disposition, call.disposition_note = code, note
            call.timeline.append({"t": ts, "kind": "disposition", "code": code})
        else:
            call.timeline.append({"t": ts, "kind": "wrap_up_end", "reason": "limit" if ts >= w.deadline else "interrupted"})
        if w.paused_by_us and a.queues and not a.not_ready():
            out.actions.append(PauseMember(a.interface, False, WRAP_REASON))
        self.refresh(a, ts, out)
        out.calls.add(call.call_id)
        self.on_wrap_done(call, out)

    def wrap_timer(self, interface: str, deadline: float, out: Output) -> None:
        a = self.by_interface.get(interface)
        if a is not None and a.wrap is not None and a.wrap.deadline <= deadline:
            self.end_wrap(a, a.wrap.deadline, out)

    def disposition(self, interface: str, call_id: str, code: str, note: str, ts: float, out: Output) -> None:
        a = self.by_interface.get(interface)
        if a is None or a.wrap is None or (call_id and a.wrap.call.call_id != call_id):
            self._skip("disposition_not_in_wrap_up")
            return
        self.end_wrap(a, ts, out, code, note)


def _interval(interface: str, state: str, reason: str, start: float, end: float, call_id: str | None) -> dict[str, Any]:
    return {
        "interface": interface,
        "state": state,
        "reason": reason,
        "started_at": start,
        "ended_at": end,
        "duration_s": round(end - start, 3),
        "call_id": call_id,
    }
