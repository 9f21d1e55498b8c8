"""Calls that never wait in a queue: an agent's outbound call (dialled from
the phone, click-to-call, a callback or a campaign dial), an internal call
between two extensions, an inbound call put straight through to an
extension or a mobile, and an inbound call that ended in the IVR.

They come from the call tracker's facts.  Each becomes one record with its
kind (outbound, internal, direct, ivr), its direction as the centre sees it
(outbound, internal, inbound), the agent whose phone took part, and talk,
hold and wrap-up like a queue call.  An agent on such a call is on a call:
it counts in their handled calls, talk time and occupancy, by direction.
An answered outbound call is followed by wrap-up, as a queue call is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from callcenter.acd import events as ev
from callcenter.acd.agents import Agent, Agents
from callcenter.acd.calls import (
    Call,
    ChannelGone,
    Closed,
    Connected,
    Dialing,
    Ended,
    Party,
    Tracker,
    Transferred,
)
from callcenter.acd.channels import interface_of
from callcenter.acd.common import Output, rounded

MAX_LIVE = 100_000  # a stream that never ends its calls cannot grow us without bound
# OriginateResponse Reason (include/asterisk/frame.h AST_CONTROL_*): why the first leg failed
ORIGINATE_REASONS = {"0": "failed", "1": "failed", "3": "no_answer", "5": "busy", "8": "busy"}
PREDICTIVE_CONTEXT = "cc-predictive"  # a predictive dial: the customer's leg first (asterisk/extensions.conf)


def customer_not_reached(e: ev.OriginateResponded) -> dict[str, Any]:
    """A predictive dial whose customer did not answer: an outbound attempt
    with no agent, keyed by the Originate's ChannelId."""
    outcome = ORIGINATE_REASONS.get(e.reason, "failed")
    number = e.interface.split("/", 1)[-1].split("@", 1)[0]
    uid = e.uniqueid or f"originate-{number}-{e.ts:.6f}"
    return {
        "call_id": uid, "uniqueid": e.uniqueid, "linkedid": e.uniqueid, "kind": "outbound", "direction": "outbound",
        "queue": e.exten, "caller_number": "", "caller_name": "", "callee_number": number, "entered_at": e.ts,
        "answered_at": None, "ended_at": e.ts, "wait_s": 0.0, "sl_wait_s": None, "talk_s": 0.0, "hold_s": 0.0,
        "wrap_up_s": 0.0, "agent": None, "agent_name": "", "peer_agent": None, "outcome": outcome, "short_abandon": False,
        "abandon_position": None, "priority": 0, "disposition": None, "disposition_note": "", "recording_file": None,
        "ring_attempts": [], "transfer": None, "legs": [],
        "timeline": [{"t": e.ts, "kind": "originate_failed", "reason": e.reason, "customer_answered": False}],
        "inferred": False, "source": "live", "end_reason": outcome.replace("_", "-"),
    }  # fmt: skip


@dataclass(slots=True, eq=False)
class DirectCall:
    call_id: str
    linkedid: str
    caller: Party
    started_at: float
    queue: str = ""  # none: the default wrap-up limit applies
    kind: str = "direct"  # outbound | internal | direct | ivr | consult
    direction: str = "inbound"
    agent: str | None = None  # the agent whose phone took part (the caller's, for outbound)
    agent_name: str = ""
    peer_agent: str | None = None  # the other agent of an internal call
    remote: Party | None = None  # who the caller talked to
    answered_at: float | None = None
    ended_at: float | None = None
    end_reason: str | None = None
    state: str = "dialing"  # dialing | talking | on_hold | wrap_up | ended
    hold_started: float | None = None
    hold_s: float = 0.0
    talk_end: float | None = None
    talk_s: float = 0.0
    wrap_done: bool = True
    wrap_up_s: float = 0.0
    disposition: str | None = None
    disposition_note: str = ""
    recording_file: str | None = None
    originated: bool = False
    source: str = "live"  # live | resync
    phones: dict[str, str] = field(default_factory=dict)  # phone channel uniqueid -> agent interface
    timeline: list[dict[str, Any]] = field(default_factory=list)
    thread: Call | None = None
    thread_id: str = ""  # the tracker call it follows (its key in DirectCalls.live)
    after_queue: str | None = None  # the queue call this continues, after a transfer out of it


class DirectCalls:
    def __init__(self, tracker: Tracker, agents: Agents) -> None:
        self.tracker = tracker
        self.agents = agents
        self.live: dict[str, DirectCall] = {}  # by the tracker's call id
        self.by_phone: dict[str, DirectCall] = {}
        self.unanswered_originates: dict[str, DirectCall] = {}  # agent interface -> their phone's last untaken Originate

    def _agent_of(self, p: Party) -> Agent | None:
        return self.agents.of_device(interface_of(p.channel))

    def _get(self, call: Call, ts: float, *, after_transfer: bool = False) -> DirectCall | None:
        """The direct call for a tracker call that is not (now) in a queue.
        A caller transferred out of a queue and put through to someone else
        goes on as a direct call (kind direct, `after_queue` naming the queue
        call), so whoever takes them is credited."""
        d = self.live.get(call.call_id)
        if d is not None:
            return d
        after = None
        if call.queue_calls:
            if not after_transfer or self.queue_talking(call):
                return None
            after = call.queue_calls[-1]
        if len(self.live) >= MAX_LIVE:
            del self.live[next(iter(self.live))]
        first = call.first_caller if after is None else Party.of(call.caller)
        call_id = call.call_id if after is None else f"{after}-t{len(call.transfers)}"
        d = self.live[call.call_id] = DirectCall(call_id, call.linkedid, first, call.started_at if after is None else ts, originated=call.originated, thread=call)
        d.thread_id, d.after_queue = call.call_id, after
        d.timeline.append({"t": d.started_at, "kind": "started", "caller": first.number} | ({"after": after} if after else {}))
        a = self._agent_of(first)
        if a is not None and after is None:
            d.agent, d.agent_name, d.kind, d.direction = a.interface, a.name, "outbound", "outbound"
            # An agent's call: the caller is their phone (a click-to-call's
            # Originate puts the customer's number on it for the display).
            d.caller = call.origin
        return d

    def queue_talking(self, call: Call) -> bool:
        """Set by the core: is one of this call's queue calls still talking?"""
        return False

    def _join(self, d: DirectCall, a: Agent, phone: str, ts: float, out: Output) -> None:
        if phone in d.phones:
            return
        d.phones[phone] = a.interface
        self.by_phone[phone] = d
        a.others[d.call_id] = d
        self.agents.refresh(a, ts, out)

    def facts(self, facts: list[Any], ts: float, out: Output) -> None:
        for f in facts:
            if isinstance(f, Dialing):
                d = self._get(f.call, ts, after_transfer=True)
                if d is None:
                    continue
                d.timeline.append({"t": ts, "kind": "ringing", "targets": [t.number or t.channel for t in f.targets]})
                a = self._agent_of(f.caller)
                if a is not None and d.agent == a.interface:
                    self._join(d, a, f.caller.uniqueid, ts, out)
                    for t in f.targets:  # another agent's phone rings: an internal call, answered or not
                        ta = self._agent_of(t)
                        if ta is not None and ta.interface != d.agent and d.kind == "outbound":
                            d.peer_agent, d.kind, d.direction = ta.interface, "internal", "internal"
            elif isinstance(f, Connected):
                d = self._get(f.call, ts, after_transfer=True)
                if d is None:
                    continue
                self._connected(d, f.caller, f.target, ts, out)
            elif isinstance(f, Transferred) and f.kind == "attended" and f.targets:
                # The target is already talking to the transferee (swapped into the bridge).
                d = self._get(f.call, ts, after_transfer=True)
                if d is not None and d.after_queue is not None and d.answered_at is None:
                    self._connected(d, f.caller, f.targets[0], ts, out)
            elif isinstance(f, ChannelGone):
                d = self.by_phone.pop(f.channel.uniqueid, None)
                if d is not None:
                    self._phone_gone(d, f.channel.uniqueid, ts, out)
            elif isinstance(f, (Ended, Closed)):
                d = self.live.get(f.call.call_id) or (self._get(f.call, ts) if not f.call.queue_calls else None)
                if d is not None and d.after_queue is None and f.call.queue_calls:
                    self._discard(d, ts, out)  # a queue call after all (its join came late or not at all)
                elif d is not None:
                    if isinstance(f, Closed):
                        d.kind = "consult"  # the transfer took its parties elsewhere
                    self._ended(d, f.call, f.reason, ts, out)

    def originate_failed(self, e: ev.OriginateResponded, out: Output) -> None:
        """A click-to-call (or callback, or campaign dial) whose agent's phone
        did not answer: an outbound attempt on their record, to the number it
        was for."""
        if e.response.lower() == "success" or not e.exten or e.exten == "s":
            return
        if e.context == PREDICTIVE_CONTEXT:
            out.records.append(customer_not_reached(e))
            return
        a = self.agents.of_device(e.interface)
        if a is None:
            return
        d = self.unanswered_originates.pop(a.interface, None)
        started = d.started_at if d is not None and e.ts - d.started_at < 600 else e.ts
        outcome = ORIGINATE_REASONS.get(e.reason, "failed")
        record = {
            "call_id": d.call_id if d is not None else f"originate-{a.interface}-{e.ts:.6f}",
            "uniqueid": d.call_id if d is not None else "",
            "linkedid": d.linkedid if d is not None else "",
            "kind": "outbound",
            "direction": "outbound",
            "queue": "",
            "caller_number": (d.caller.number if d is not None else "") or interface_of(a.interface).rsplit("/", 1)[-1],
            "caller_name": a.name,
            "callee_number": e.exten,
            "entered_at": started,
            "answered_at": None,
            "ended_at": e.ts,
            "wait_s": rounded(max(0.0, e.ts - started)),
            "sl_wait_s": None,
            "talk_s": 0.0,
            "hold_s": 0.0,
            "wrap_up_s": 0.0,
            "agent": a.interface,
            "agent_name": a.name,
            "peer_agent": None,
            "outcome": outcome,
            "short_abandon": False,
            "abandon_position": None,
            "priority": 0,
            "disposition": None,
            "disposition_note": "",
            "recording_file": None,
            "ring_attempts": [],
            "transfer": None,
            "legs": [],
            "timeline": [{"t": started, "kind": "started"}, {"t": e.ts, "kind": "originate_failed", "reason": e.reason, "phone_answered": False}],
            "inferred": False,
            "source": "live",
            "end_reason": "agent-phone-" + outcome.replace("_", "-"),
        }
        out.records.append(record)

    def _connected(self, d: DirectCall, caller: Party, target: Party, ts: float, out: Output) -> None:
        d.remote = target
        if d.answered_at is None:
            d.answered_at = ts
        d.state = "talking"
        d.timeline.append({"t": ts, "kind": "answered", "by": target.number or target.channel})
        ta = self._agent_of(target)
        ca = self._agent_of(caller)
        if ca is not None and d.agent is None:
            d.agent, d.agent_name, d.kind, d.direction = ca.interface, ca.name, "outbound", "outbound"
        if ta is not None:
            if d.agent is None:
                d.agent, d.agent_name = ta.interface, ta.name
                if d.kind != "outbound":
                    d.kind, d.direction = "direct", "inbound"
            elif ta.interface != d.agent:
                d.peer_agent = ta.interface
                d.kind, d.direction = "internal", "internal"
            self._join(d, ta, target.uniqueid, ts, out)
        if ca is not None:
            self._join(d, ca, caller.uniqueid, ts, out)

    def _phone_gone(self, d: DirectCall, phone: str, ts: float, out: Output) -> None:
        iface = d.phones.get(phone)
        a = self.agents.get(iface or "")
        if a is None or d.call_id not in a.others:
            return
        self._end_talk(d, ts)
        answered_outbound = d.answered_at is not None and d.kind == "outbound" and a.interface == d.agent
        if answered_outbound:
            d.wrap_done = False
        self.agents.talk_ended(a, d, ts, out, wrap=answered_outbound)
        if d.answered_at is not None and d.kind != "consult":  # a consultation is part of the call it transfers
            direction = d.direction if a.interface == d.agent or d.kind != "internal" else "internal"
            self.agents.handled(a, ts, direction, d.talk_s, out)
        self._maybe_finish(d, out)

    def _end_talk(self, d: DirectCall, ts: float) -> None:
        if d.talk_end is not None:
            return
        if d.hold_started is not None:
            d.hold_s += ts - d.hold_started
            d.hold_started = None
        d.talk_end = ts
        if d.answered_at is not None:
            d.talk_s = max(0.0, ts - d.answered_at - d.hold_s)

    def _ended(self, d: DirectCall, call: Call, reason: str, ts: float, out: Output) -> None:
        d.ended_at = ts
        d.end_reason = reason
        self._end_talk(d, ts)
        if d.state != "wrap_up":
            d.state = "ended"
        if not call.legs and d.kind == "direct" and not d.originated:
            d.kind = "ivr"  # rang nobody: the caller ended in the dialplan
        d.timeline.append({"t": ts, "kind": "hangup", "reason": reason})
        for phone, iface in list(d.phones.items()):
            a = self.agents.get(iface)
            if a is not None and d.call_id in a.others:
                self._phone_gone(d, phone, ts, out)
        self._maybe_finish(d, out)

    def _discard(self, d: DirectCall, ts: float, out: Output) -> None:
        self.live.pop(d.thread_id or d.call_id, None)
        for phone, iface in d.phones.items():
            self.by_phone.pop(phone, None)
            a = self.agents.get(iface)
            if a is not None and a.others.pop(d.call_id, None) is not None:
                self.agents.refresh(a, ts, out)

    def wrap_done(self, d: DirectCall, out: Output) -> None:
        self._maybe_finish(d, out)

    def _maybe_finish(self, d: DirectCall, out: Output) -> None:
        if d.ended_at is None or not d.wrap_done or any(d.call_id in a.others for a in map(self.agents.get, d.phones.values()) if a):
            return
        if self.live.pop(d.thread_id or d.call_id, None) is None:
            return
        for phone in d.phones:
            self.by_phone.pop(phone, None)
        if d.originated and d.thread is not None and not d.thread.legs:
            # The PBX rang a phone that never dialled anyone: a spy session,
            # or a click-to-call the agent did not take (its OriginateResponse,
            # which comes after the hangup, makes that one's record).
            if d.agent:
                self.unanswered_originates[d.agent] = d
            return
        out.records.append(direct_record(d, self._recording(d)))

    def _recording(self, d: DirectCall) -> str | None:
        return d.recording_file

    def hold(self, e: ev.Hold | ev.Unhold, out: Output) -> bool:
        d = self.by_phone.get(e.uniqueid)
        if d is None:
            return False
        if isinstance(e, ev.Hold) and d.hold_started is None and d.answered_at is not None:
            d.hold_started = e.ts
            d.state = "on_hold"
            d.timeline.append({"t": e.ts, "kind": "hold"})
        elif isinstance(e, ev.Unhold) and d.hold_started is not None:
            d.hold_s += max(0.0, e.ts - d.hold_started)
            d.hold_started = None
            d.state = "talking"
            d.timeline.append({"t": e.ts, "kind": "unhold"})
        else:
            return True
        for iface in set(d.phones.values()):
            a = self.agents.get(iface)
            if a is not None:
                self.agents.refresh(a, e.ts, out)
        return True

    def recording(self, uniqueid: str, file: str | None, ts: float) -> bool:
        """A MixMonitor on a channel of a direct call."""
        d = self.by_phone.get(uniqueid)
        if d is None:
            call = self.tracker.find_call(uniqueid)
            d = self.live.get(call.call_id) if call is not None else None
        if d is None:
            return False
        if file:
            d.recording_file = file
        if not any(i["kind"] == "recording" for i in d.timeline):
            entry: dict[str, Any] = {"t": ts, "kind": "recording"}
            if file:
                entry["file"] = file
            d.timeline.append(entry)
        elif file:
            for i in d.timeline:
                if i["kind"] == "recording" and not i.get("file"):
                    i["file"] = file
        return True


def direct_record(d: DirectCall, recording: str | None) -> dict[str, Any]:
    thread = d.thread
    legs = [leg.as_dict() for leg in thread.legs.values()] if thread is not None else []
    outcome = "answered" if d.answered_at is not None else _unanswered(d)
    return {
        "call_id": d.call_id,
        "uniqueid": d.call_id,
        "linkedid": d.linkedid,
        "kind": d.kind,
        "direction": d.direction,
        "queue": "",
        "caller_number": d.caller.number,
        "caller_name": d.caller.name,
        "callee_number": (d.remote.number if d.remote else "") or _dialled(thread),
        "entered_at": d.started_at,
        "answered_at": d.answered_at,
        "ended_at": d.ended_at,
        "wait_s": rounded(max(0.0, (d.answered_at or d.ended_at or d.started_at) - d.started_at)),
        "sl_wait_s": None,
        "talk_s": rounded(d.talk_s),
        "hold_s": rounded(d.hold_s),
        "wrap_up_s": rounded(d.wrap_up_s),
        "agent": d.agent,
        "agent_name": d.agent_name,
        "peer_agent": d.peer_agent,
        "outcome": outcome,
        "short_abandon": False,
        "abandon_position": None,
        "priority": 0,
        "disposition": d.disposition,
        "disposition_note": d.disposition_note,
        "recording_file": recording,
        "ring_attempts": [],
        "transfer": _transfer(thread, d.started_at),
        "legs": legs,
        "timeline": d.timeline,
        "inferred": False,
        "source": d.source,
        "end_reason": d.end_reason,
        "after_queue": d.after_queue,
    }


def _transfer(thread: Call | None, since: float) -> dict[str, str] | None:
    """The last transfer out of this part of the call (not the one that led into it)."""
    later = [t for t in thread.transfers if t["at"] > since] if thread is not None else []
    if not later:
        return None
    t = later[-1]
    return {"kind": t["kind"], "target": t.get("number") or t.get("target") or ", ".join(t.get("targets", []))}


def _unanswered(d: DirectCall) -> str:
    if d.kind == "ivr":
        return "ivr"
    return {"busy": "busy", "no-answer": "no_answer", "rejected": "rejected", "cancelled": "cancelled", "completed": "no_answer"}.get(d.end_reason or "", "failed")


def _dialled(thread: Call | None) -> str:
    if thread is None:
        return ""
    for leg in thread.legs.values():
        if leg.number:
            return leg.number
    return ""
