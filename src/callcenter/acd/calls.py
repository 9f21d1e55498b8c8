"""The call tracker: channel and bridge events in, call facts out.

A *call* is what a person experiences: someone (the A side) calls, phones
ring (the legs), one answers, they talk, perhaps a transfer hands the caller
to someone else, and the call ends when the caller's side hangs up.  The
tracker derives that from the channel graph (channels.py), for every call
Asterisk carries: inbound to a queue, an extension or a ring group;
outbound from an agent's phone, click-to-call (Originate) included;
internal; pickups; calls forwarded to a mobile.

The rules for who is the caller, who rings and who answered follow
cacofonisk (VoIPGRID's AMI call tracker, MIT), whose 51 captures from real
Asterisk are our test bench (tests/acd/test_cacofonisk.py):

- a channel that Dials is a caller; the real channels its dials reach
  (through Local halves) are its targets;
- a target's phone starting to ring emits one `Dialing` fact for all the
  caller's targets ringing at that moment;
- when a bridge joins a caller with exactly one target, `Connected`;
- blind, attended and blonde transfers re-point the call: the transferee
  becomes the caller, and the hang-up of a transferer's channel is not the
  end of the call;
- the caller's own Hangup ends the call (`Ended`, with cacofonisk's reason
  words: completed, busy, no-answer, cancelled, rejected, answered-elsewhere,
  failed).

On top of that the tracker keeps, per call, its legs (who was rung, when,
answered or why not, hold segments) and its transfers; the queue ACD and
the agents read them.  Pure: no I/O, no clock; time is the event's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from callcenter.acd import events as ev
from callcenter.acd.channels import DOWN, RINGING, UP, Channel, Graph

# Hangup causes (include/asterisk/causes.h) -> what happened, in words.
NORMAL, BUSY, NO_RESPONSE, NO_ANSWER, REJECTED, ANSWERED_ELSEWHERE, INTERWORKING = 16, 17, 18, 19, 21, 26, 127

_DIAL_RESULT = {
    "ANSWER": "answered",
    "BUSY": "busy",
    "CONGESTION": "congestion",
    "NOANSWER": "no_answer",
    "CANCEL": "cancelled",
    "CHANUNAVAIL": "unavailable",
    "DONTCALL": "rejected",
    "TORTURE": "rejected",
}


def hangup_reason(cause: int, state: int) -> str:
    """cacofonisk's words for how a caller's channel ended."""
    if cause == NORMAL:
        return "completed" if state == UP else "no-answer"
    if cause == BUSY:
        return "busy"
    if cause in (NO_RESPONSE, NO_ANSWER):
        return "no-answer"
    if cause == ANSWERED_ELSEWHERE:
        return "answered-elsewhere"
    if cause == REJECTED:
        return "rejected"
    if cause in (0, INTERWORKING):
        return "completed" if state == UP else "cancelled"
    return "failed"


# --- facts -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Party:
    """A channel as it was at the moment of a fact."""

    uniqueid: str
    channel: str
    number: str
    name: str

    @classmethod
    def of(cls, ch: Channel) -> Party:
        return cls(ch.uniqueid, ch.name, ch.caller_number, ch.caller_name)


@dataclass(frozen=True, slots=True)
class Dialing:
    call: Call
    caller: Party
    targets: tuple[Party, ...]


@dataclass(frozen=True, slots=True)
class DialDone:
    call: Call
    caller: Party
    target: Party
    status: str  # Asterisk's DialStatus, lower case: answer, busy, cancel, noanswer...


@dataclass(frozen=True, slots=True)
class Connected:
    call: Call
    caller: Party
    target: Party


@dataclass(frozen=True, slots=True)
class Transferred:
    call: Call
    kind: str  # blind | attended | blonde
    caller: Party  # the transferee: who is being handed on
    transferer: Party
    targets: tuple[Party, ...]  # blind/blonde: who rings; attended: the one target


@dataclass(frozen=True, slots=True)
class Ended:
    call: Call
    caller: Party
    reason: str


@dataclass(frozen=True, slots=True)
class Closed:
    """A call that ends without its caller hanging up as a caller: the
    consultation leg of a transfer, once the transfer has taken the parties
    elsewhere.  (cacofonisk reports nothing for it.)"""

    call: Call
    caller: Party
    reason: str


@dataclass(frozen=True, slots=True)
class ChannelGone:
    """Any real channel hung up (an agent's phone leg, a consult leg...)."""

    channel: Party
    call: Call | None
    cause: int
    was_up: bool


Fact = Dialing | DialDone | Connected | Transferred | Ended | Closed | ChannelGone


# --- calls and legs ---------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Leg:
    """One channel rung for a call: its party, and how it went."""

    uniqueid: str
    channel: str
    number: str
    name: str
    started_at: float
    answered_at: float | None = None
    ended_at: float | None = None
    result: str | None = None  # answered | busy | no_answer | cancelled | congestion | unavailable | rejected | failed
    holds: list[list[float | None]] = field(default_factory=list)  # [[start, end|None], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "uniqueid": self.uniqueid,
            "channel": self.channel,
            "number": self.number,
            "name": self.name,
            "started_at": self.started_at,
            "answered_at": self.answered_at,
            "ended_at": self.ended_at,
            "result": self.result,
            "holds": [list(h) for h in self.holds],
        }


@dataclass(slots=True, eq=False)
class Call:
    call_id: str  # the Uniqueid of the channel that started it
    linkedid: str
    started_at: float
    caller: Channel  # the A side now (a transfer can change it)
    first_caller: Party
    origin: Party  # the first caller as its channel was created (an Originate may relabel it at once)
    legs: dict[str, Leg] = field(default_factory=dict)  # by channel uniqueid
    transfers: list[dict[str, Any]] = field(default_factory=list)
    talking_to: str | None = None  # uniqueid of the target the caller is connected to
    answered_at: float | None = None
    ended_at: float | None = None
    end_reason: str | None = None
    originated: bool = False  # click-to-call: the PBX rang the caller's phone first
    queue_calls: list[str] = field(default_factory=list)  # the queue ACD's call ids for this call

    def leg(self, uniqueid: str) -> Leg | None:
        return self.legs.get(uniqueid)


class Tracker:
    """Feed it every event (`apply`); it returns the facts the event caused."""

    def __init__(self) -> None:
        self.graph = Graph()
        self.calls: dict[str, Call] = {}  # live calls by call_id
        self.stats: dict[str, int] = {}

    def _skip(self, why: str) -> None:
        self.stats[why] = self.stats.get(why, 0) + 1

    def apply(self, e: ev.Event) -> list[Fact]:
        handler = _HANDLERS.get(type(e))
        if handler is None:
            return []
        facts: list[Fact] = []
        handler(self, e, facts)
        return facts

    # --- calls ----------------------------------------------------------------

    def call_of(self, ch: Channel, ts: float) -> Call:
        """The call `ch` is the caller of, made on first use."""
        call = ch.call if isinstance(ch.call, Call) else None
        if call is None or call.ended_at is not None:
            origin = Party(ch.uniqueid, ch.name, ch.origin_number or ch.caller_number, ch.origin_name or ch.caller_name)
            call = Call(ch.uniqueid, ch.linkedid, ts, ch, Party.of(ch), origin, originated=ch.originated)
            ch.call = call
            self.calls[call.call_id] = call
        return call

    def find_call(self, uniqueid: str) -> Call | None:
        ch = self.graph.get(uniqueid)
        if ch is not None and isinstance(ch.call, Call):
            return ch.call
        return None

    def _add_leg(self, call: Call, target: Channel, ts: float) -> Leg:
        leg = call.legs.get(target.uniqueid)
        if leg is None:
            leg = call.legs[target.uniqueid] = Leg(target.uniqueid, target.name, target.caller_number, target.caller_name, ts)
        target.call = call
        return leg

    # --- channel events ---------------------------------------------------------

    def _on_created(self, e: ev.ChannelCreated, facts: list[Fact]) -> None:
        ch = self.graph.created(e.uniqueid, e.channel, e.linkedid, e.ts, e.state)
        ch.caller_number, ch.caller_name = e.caller_number, e.caller_name
        ch.origin_number, ch.origin_name = e.caller_number, e.caller_name
        ch.connected_number, ch.connected_name = e.connected_number, e.connected_name
        ch.context, ch.exten = e.context, e.exten
        ch.calling = e.uniqueid == e.linkedid  # the first channel of its group is the one calling

    def _on_state(self, e: ev.ChannelStateChanged, facts: list[Fact]) -> None:
        ch = self.graph.ensure(e.uniqueid, e.channel, e.linkedid, e.ts)
        if e.caller_number or e.caller_name:
            ch.caller_number, ch.caller_name = e.caller_number, e.caller_name
        ch.connected_number, ch.connected_name = e.connected_number, e.connected_name
        old = self.graph.set_state(ch, e.state, e.ts)
        if old == e.state:
            return
        if e.state == UP:
            self._answered(ch, e.ts)
        if ch.local or old != DOWN:
            return
        if e.state in (RINGING, UP) and ch.dialed_by is not None:
            self._ringing(ch, e.ts, facts)

    def _on_caller_id(self, e: ev.CallerIdChanged, facts: list[Fact]) -> None:
        ch = self.graph.get(e.uniqueid)
        if ch is None:
            return
        ch.caller_number, ch.caller_name = e.caller_number, e.caller_name
        ch.connected_number, ch.connected_name = e.connected_number, e.connected_name

    def _on_local_bridge(self, e: ev.LocalBridged, facts: list[Fact]) -> None:
        one, two = self.graph.get(e.one_uniqueid), self.graph.get(e.two_uniqueid)
        if one is None or two is None:
            self._skip("unknown_channel")
            return
        self.graph.local_pair(one, two)

    def _on_dial_begin(self, e: ev.DialBegan, facts: list[Fact]) -> None:
        dest = self.graph.ensure(e.dest_uniqueid, e.dest_channel, "", e.ts)
        if not e.uniqueid:
            self.graph.dial(None, dest, e.dial_string)  # Originate: the PBX dials the first leg
            return
        src = self.graph.get(e.uniqueid)
        if src is None:
            self._skip("unknown_channel")
            return
        self.graph.dial(src, dest, e.dial_string)
        src.calling = True
        if not dest.local and dest.state == RINGING:
            self._ringing(dest, e.ts, facts)

    def _on_dial_end(self, e: ev.DialEnded, facts: list[Fact]) -> None:
        dest = self.graph.get(e.dest_uniqueid)
        src = self.graph.get(e.uniqueid) if e.uniqueid else None
        if dest is None:
            return
        status = e.status.upper()
        if src is not None and not dest.local:
            caller = self.graph.dialer(dest)
            call = dest.call if isinstance(dest.call, Call) else None
            if call is not None:
                leg = call.legs.get(dest.uniqueid)
                if leg is not None and leg.result is None:
                    leg.result = _DIAL_RESULT.get(status, "failed")
                    if status != "ANSWER":
                        leg.ended_at = e.ts
                if dest.notified and not caller.local:
                    facts.append(DialDone(call, Party.of(caller), Party.of(dest), e.status.lower()))
        self.graph.undial(src, dest)

    def _answered(self, ch: Channel, ts: float) -> None:
        call = ch.call if isinstance(ch.call, Call) else None
        if call is None or ch.local:
            return
        leg = call.legs.get(ch.uniqueid)
        if leg is not None and leg.answered_at is None:
            leg.answered_at = ts

    def _ringing(self, ch: Channel, ts: float, facts: list[Fact]) -> None:
        """A callee's phone rings (or answers at once): tell who is calling whom,
        once for every target ringing together."""
        if ch.skip_next_ring:
            ch.skip_next_ring = False
            return
        a = self.graph.dialer(ch)
        transferer = a.blind_transferer
        if transferer is not None:
            # A blind transfer waits for its target to ring; now it has.
            a.blind_transferer = None
            targets = self.graph.dialed(a)
            call = self.call_of(a, ts)
            for t in targets:
                t.notified = True
                t.skip_next_ring = t is not ch
                self._add_leg(call, t, ts)
            kind = "blind"
            call.transfers.append({"kind": kind, "at": ts, "transferer": transferer.name, "targets": [t.name for t in targets]})
            facts.append(Transferred(call, kind, Party.of(a), Party.of(transferer), tuple(Party.of(t) for t in targets)))
            return
        if a.originated and a.dials and a.local and a.half == 1 and a.partner is not None:
            # Originate through a Local channel: its ;1 dials out, and the real
            # caller is whoever sits in the bridge with its ;2 (the agent's phone).
            bridge = a.partner.bridge
            real = [p for p in bridge.members if not p.local] if bridge is not None else []
            if real:
                caller = real[0]
                caller.calling = True
                call = self.call_of(caller, ts)
                call.originated = True
                ch.notified = True
                self._add_leg(call, ch, ts)
                facts.append(Dialing(call, Party.of(caller), (Party.of(ch),)))
            return
        if a.local:
            return
        ringing = [d for d in self.graph.dialed(a) if d.state == RINGING and not d.skip_next_ring]
        call = self.call_of(a, ts)
        for d in ringing:
            d.skip_next_ring = True
            d.notified = True
            self._add_leg(call, d, ts)
        facts.append(Dialing(call, Party.of(a), tuple(Party.of(d) for d in ringing)))

    # --- bridges ------------------------------------------------------------------

    def _on_bridge_enter(self, e: ev.BridgeEntered, facts: list[Fact]) -> None:
        ch = self.graph.ensure(e.uniqueid, e.channel, e.linkedid, e.ts)
        self.graph.enter(ch, e.bridge_id)
        peers = self.graph.peers(ch)
        if len(peers) < 2:
            return
        callers = [p for p in peers if p.calling]
        if len(callers) > 1:
            # Two callers meet (e.g. after A-B, C-B, A-C transfers): the oldest
            # channel stays the caller.
            callers.sort(key=lambda p: p.name.rsplit("-", 1)[-1])
            for other in callers[1:]:
                other.calling = False
        elif not callers:
            self._skip("no_caller_in_bridge")
            return
        caller = callers[0]
        targets = [p for p in peers if p is not caller]
        if len(targets) != 1:
            return  # a conference: not a two-party call
        target = targets[0]
        call = self.call_of(caller, e.ts)
        leg = self._add_leg(call, target, e.ts)
        if leg.answered_at is None:
            leg.answered_at = e.ts
        if leg.result is None:
            leg.result = "answered"
        call.talking_to = target.uniqueid
        if call.answered_at is None:
            call.answered_at = e.ts
        if not caller.up_reported:
            caller.up_reported = True
            facts.append(Connected(call, Party.of(caller), Party.of(target)))

    def _on_bridge_leave(self, e: ev.BridgeLeft, facts: list[Fact]) -> None:
        ch = self.graph.get(e.uniqueid)
        if ch is not None:
            self.graph.leave(ch, e.bridge_id)

    # --- transfers ------------------------------------------------------------------

    def _on_blind(self, e: ev.BlindTransfer, facts: list[Fact]) -> None:
        if e.result.lower() != "success":
            return
        transferer = self.graph.get(e.transferer_uniqueid)
        transferee = self.graph.get(e.transferee_uniqueid)
        if transferer is None or transferee is None:
            self._skip("unknown_channel")
            return
        transferee.blind_transferer = transferer
        transferee.up_reported = False
        transferer.transfer_done = True
        transferee.calling = True
        transferee.exten = transferer.exten = e.extension
        call = self._move_call(transferee, e.ts)
        call.talking_to = None

    def _on_attended(self, e: ev.AttendedTransfer, facts: list[Fact]) -> None:
        if e.result.lower() != "success":
            return
        orig = self.graph.get(e.orig_transferer_uniqueid)
        second = self.graph.get(e.second_transferer_uniqueid)
        if orig is None or second is None:
            self._skip("unknown_channel")
            return
        target_ch = self.graph.get(e.target_uniqueid) if e.target_uniqueid else None
        if e.dest_type == "Bridge" and target_ch is not None and target_ch.state != UP:
            # Asterisk 12+ reports a blonde transfer (the transferer leaves while
            # the target still rings) as DestType Bridge; only the target's
            # state tells it from an attended one.
            self._blonde(orig, second, e, facts)
            return
        if e.dest_type == "Bridge":
            transferee = self.graph.get(e.transferee_uniqueid)
            target = self.graph.get(e.target_uniqueid)
            if (transferee is None or target is None) and e.dest_bridge_id in self.graph.bridges:
                # Older Asterisk does not name them: the two in the destination
                # bridge, the transferee being the one of the original call.
                pair = list(self.graph.bridges[e.dest_bridge_id].members)
                if len(pair) == 2:
                    transferee, target = pair if pair[0].linkedid == e.orig_transferer_linkedid else pair[::-1]
                    if transferee.linkedid != e.orig_transferer_linkedid:
                        transferee = target = None
            if transferee is None or target is None:
                self._skip("unknown_channel")
                return
            if transferee.local:
                # Not optimised yet: the real transferee is the other party.
                for p in self.graph.peers(transferee):
                    if p not in (target, second, orig):
                        transferee = p
            transferee.calling = True
            target.calling = False
            call = self._move_call(transferee, e.ts)
            leg = self._add_leg(call, target, e.ts)
            leg.answered_at = leg.answered_at or e.ts
            leg.result = leg.result or "answered"
            call.talking_to = target.uniqueid
            call.transfers.append({"kind": "attended", "at": e.ts, "transferer": second.name, "target": target.name, "number": e.target_number})
            facts.append(Transferred(call, "attended", Party.of(transferee), Party.of(second), (Party.of(target),)))
        elif e.dest_type == "App" and e.dest_app.lower() == "dial":
            self._blonde(orig, second, e, facts)
            return
        else:
            self._skip("transfer_kind_not_followed")
            return
        orig.transfer_done = True
        second.transfer_done = True

    def _blonde(self, orig: Channel, second: Channel, e: ev.AttendedTransfer, facts: list[Fact]) -> None:
        """The transferer left before the target answered: the transferee
        now calls whoever still rings."""
        transferee = self.graph.get(e.transferee_uniqueid)
        if transferee is None:
            self._skip("unknown_channel")
            return
        if transferee.local:
            for p in self.graph.peers(transferee):
                if p not in (second, orig):
                    transferee = p
        transferee.up_reported = False
        transferee.calling = True
        transferee.exten = second.exten
        targets = list(dict.fromkeys(self.graph.dialed(second) + self.graph.dialed(transferee)))
        call = self._move_call(transferee, e.ts)
        call.talking_to = None
        for t in targets:
            self._add_leg(call, t, e.ts)
        call.transfers.append({"kind": "blonde", "at": e.ts, "transferer": second.name, "targets": [t.name for t in targets], "number": e.exten})
        facts.append(Transferred(call, "blonde", Party.of(transferee), Party.of(second), tuple(Party.of(t) for t in targets)))
        orig.transfer_done = True
        second.transfer_done = True

    def _move_call(self, transferee: Channel, ts: float) -> Call:
        """The transferee's call goes on; if the transferee was a target of
        someone else's call, that call is the one that goes on, now with the
        transferee as its caller."""
        call = transferee.call if isinstance(transferee.call, Call) and transferee.call.ended_at is None else None
        if call is None:
            return self.call_of(transferee, ts)
        if call.caller is not transferee:
            call.caller = transferee
        return call

    # --- hold ------------------------------------------------------------------------

    def _on_hold(self, e: ev.Hold | ev.Unhold, facts: list[Fact]) -> None:
        ch = self.graph.get(e.uniqueid)
        if ch is None:
            return
        call = ch.call if isinstance(ch.call, Call) else None
        on = isinstance(e, ev.Hold)
        if on:
            if ch.hold_since is not None:
                return
            ch.hold_since = e.ts
        else:
            if ch.hold_since is None:
                return
            ch.hold_since = None
        if call is None:
            return
        leg = call.legs.get(ch.uniqueid) or call.legs.get(call.talking_to or "")
        if leg is None:
            return
        if on:
            leg.holds.append([e.ts, None])
        elif leg.holds and leg.holds[-1][1] is None:
            leg.holds[-1][1] = e.ts

    # --- the end -----------------------------------------------------------------------

    def _on_hangup(self, e: ev.Hangup, facts: list[Fact]) -> None:
        ch = self.graph.get(e.uniqueid)
        if ch is None:
            self._skip("unknown_channel")
            return
        if not ch.local:
            call = ch.call if isinstance(ch.call, Call) else None
            if call is not None:
                leg = call.legs.get(ch.uniqueid)
                if leg is not None:
                    if leg.ended_at is None:
                        leg.ended_at = e.ts
                    if leg.result is None:
                        leg.result = "answered" if leg.answered_at is not None else hangup_reason(e.cause, ch.state).replace("-", "_")
                    if leg.holds and leg.holds[-1][1] is None:
                        leg.holds[-1][1] = e.ts
                    if call.talking_to == ch.uniqueid:
                        call.talking_to = None
            self._caller_hangup(ch, e, facts)
            facts.append(ChannelGone(Party.of(ch), call, e.cause, ch.up_at is not None))
        self.graph.hangup(ch)

    def _caller_hangup(self, ch: Channel, e: ev.Hangup, facts: list[Fact]) -> None:
        transferer = ch.blind_transferer
        if transferer is not None:
            # The transferee hung up before the blind transfer's target rang.
            ch.blind_transferer = None
            a = transferer if transferer.calling else ch
            self._end(a, "completed", e.ts, facts)
        elif ch.transfer_done:
            # A transferer leaving: the call goes on without them.  If this
            # channel was the caller of a call of its own (the consultation),
            # that call is over.
            call = ch.call if isinstance(ch.call, Call) else None
            if call is not None and call.caller is ch and call.ended_at is None:
                call.ended_at, call.end_reason = e.ts, "transferred"
                self.calls.pop(call.call_id, None)
                facts.append(Closed(call, Party.of(ch), "transferred"))
        elif ch.calling:
            self._end(ch, hangup_reason(e.cause, ch.state), e.ts, facts)

    def _end(self, ch: Channel, reason: str, ts: float, facts: list[Fact]) -> None:
        call = ch.call if isinstance(ch.call, Call) and ch.call.caller is ch else None
        if call is None:
            call = self.call_of(ch, ts)
        call.ended_at = ts
        call.end_reason = reason
        for leg in call.legs.values():
            if leg.ended_at is None and leg.uniqueid not in self.graph.channels:
                leg.ended_at = ts
        self.calls.pop(call.call_id, None)
        facts.append(Ended(call, Party.of(ch), reason))


_HANDLERS: dict[type, Any] = {
    ev.ChannelCreated: Tracker._on_created,
    ev.ChannelStateChanged: Tracker._on_state,
    ev.CallerIdChanged: Tracker._on_caller_id,
    ev.LocalBridged: Tracker._on_local_bridge,
    ev.DialBegan: Tracker._on_dial_begin,
    ev.DialEnded: Tracker._on_dial_end,
    ev.BridgeEntered: Tracker._on_bridge_enter,
    ev.BridgeLeft: Tracker._on_bridge_leave,
    ev.BlindTransfer: Tracker._on_blind,
    ev.AttendedTransfer: Tracker._on_attended,
    ev.Hold: Tracker._on_hold,
    ev.Unhold: Tracker._on_hold,
    ev.Hangup: Tracker._on_hangup,
}
