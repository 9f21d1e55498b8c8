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
)
from callcenter.acd.channels import interface_of
from callcenter.acd.common import Output, rounded

MAX_LIVE = 100_000  # a stream that never ends its calls cannot grow us without bound


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


class DirectCalls:
    def __init__(self, tracker: Tracker, agents: Agents) -> None:
        self.tracker = tracker
        self.agents = agents
        self.live: dict[str, DirectCall] = {}
        self.by_phone: dict[str, DirectCall] = {}

    def _agent_of(self, p: Party) -> Agent | None:
        return self.agents.of_device(interface_of(p.channel))

    def _get(self, call: Call, ts: float) -> DirectCall | None:
        """The direct call for a tracker call that is not (now) in a queue."""
        if call.queue_calls:
            return None
        d = self.live.get(call.call_id)
        if d is None:
            if len(self.live) >= MAX_LIVE:
                del self.live[next(iter(self.live))]
            d = self.live[call.call_id] = DirectCall(call.call_id, call.linkedid, call.first_caller, call.started_at, originated=call.originated, thread=call)
            d.timeline.append({"t": call.started_at, "kind": "started", "caller": call.first_caller.number})
            a = self._agent_of(call.first_caller)
            if a is not None:
                d.agent, d.agent_name, d.kind, d.direction = a.interface, a.name, "outbound", "outbound"
        return d

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
                d = self._get(f.call, ts)
                if d is None:
                    continue
                d.timeline.append({"t": ts, "kind": "ringing", "targets": [t.number or t.channel for t in f.targets]})
                a = self._agent_of(f.caller)
                if a is not None and d.agent == a.interface:
                    self._join(d, a, f.caller.uniqueid, ts, out)
            elif isinstance(f, Connected):
                d = self._get(f.call, ts)
                if d is None:
                    continue
                self._connected(d, f.caller, f.target, ts, out)
            elif isinstance(f, ChannelGone):
                d = self.by_phone.pop(f.channel.uniqueid, None)
                if d is not None:
                    self._phone_gone(d, f.channel.uniqueid, ts, out)
            elif isinstance(f, (Ended, Closed)):
                d = self._get(f.call, ts) if f.call.call_id in self.live or not f.call.queue_calls else None
                if d is not None:
                    if isinstance(f, Closed):
                        d.kind = "consult"  # the transfer took its parties elsewhere
                    self._ended(d, f.call, f.reason, ts, out)

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

    def wrap_done(self, d: DirectCall, out: Output) -> None:
        self._maybe_finish(d, out)

    def _maybe_finish(self, d: DirectCall, out: Output) -> None:
        if d.ended_at is None or not d.wrap_done or any(d.call_id in a.others for a in map(self.agents.get, d.phones.values()) if a):
            return
        if self.live.pop(d.call_id, None) is None:
            return
        for phone in d.phones:
            self.by_phone.pop(phone, None)
        if d.originated and d.thread is not None and not d.thread.legs:
            return  # the PBX rang a phone that never dialled anyone (a refused click-to-call, a spy session)
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
        "transfer": _transfer(thread),
        "legs": legs,
        "timeline": d.timeline,
        "inferred": False,
        "source": d.source,
        "end_reason": d.end_reason,
    }


def _transfer(thread: Call | None) -> dict[str, str] | None:
    if thread is None or not thread.transfers:
        return None
    t = thread.transfers[-1]
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
