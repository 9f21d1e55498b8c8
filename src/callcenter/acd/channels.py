"""Channels and bridges, exactly as Asterisk reports them.

This is the tracker's ground truth and knows nothing about calls: which
channels exist, their state, who is dialling whom, which two halves make a
Local channel, and which channels share a bridge.  `calls.py` reads it to
decide what the changes mean.

Local channels (`Local/8001@agents-0000001a;1` and `;2`) are plumbing: the
queries below look through them to the real endpoints, whichever way
Asterisk optimises them away (the phone moving into the caller's bridge, or
the caller into the phone's: bridge.c try_swap_optimize_out), and also when
it never does (`/n`).

Channels are created lazily when an event names one we never saw created
(a capture that starts mid-call, or a stream that carries only some event
types), so a missing Newchannel costs detail, never a call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# ChannelState values (include/asterisk/channelstate.h)
DOWN, RESERVED, OFFHOOK, DIALING, RING, RINGING, UP = range(7)

MAX_CHANNELS = 200_000  # a stream that never hangs up cannot grow us without bound


def interface_of(name: str) -> str:
    """`PJSIP/8001-0000001a` -> `PJSIP/8001`; `Local/8001@agents-0000000a;1` ->
    `Local/8001@agents` (the device or dial string the channel was made for)."""
    if name.endswith((";1", ";2")):
        name = name[:-2]
    head, sep, tail = name.rpartition("-")
    return head if sep and tail and "/" in head else name


@dataclass(slots=True, eq=False)
class Bridge:
    uniqueid: str
    members: set[Channel] = field(default_factory=set)


@dataclass(slots=True, eq=False)
class Channel:
    uniqueid: str
    name: str
    linkedid: str
    created: float
    state: int = DOWN
    caller_number: str = ""
    caller_name: str = ""
    origin_number: str = ""  # the caller ID it was created with (an Originate may change it at once)
    origin_name: str = ""
    connected_number: str = ""
    connected_name: str = ""
    context: str = ""
    exten: str = ""
    up_at: float | None = None  # first answer
    local: bool = False  # a half of a Local channel
    partner: Channel | None = None  # the other half, once LocalBridge told us
    half: int = 0  # 1 or 2 for Local halves
    dialed_by: Channel | None = None  # the channel whose Dial rings this one (open dials only)
    dials: list[Channel] = field(default_factory=list)  # open dials from this channel
    was_dialed: bool = False  # ever the destination of a Dial (a B side)
    originated: bool = False  # dialled by Originate, not by a channel
    dial_string: str = ""  # what its dialler asked for (DialBegin's DialString: "8002@agents", "8001")
    bridge: Bridge | None = None
    hold_since: float | None = None
    # Facts that arrive before anyone knows which call they belong to
    # (MixMonitor runs before Queue() in our dialplan): kept on the channel.
    variables: dict[str, str] = field(default_factory=dict)
    recording_at: float | None = None
    # Set by calls.py: how the call layer sees this channel.
    calling: bool = False  # the A side of a call (cacofonisk's is_calling)
    call: object | None = None  # the calls.Call this channel takes part in
    notified: bool = False  # a Dialing fact already named it as a target
    skip_next_ring: bool = False  # ... so its own ringing must not name it again
    up_reported: bool = False  # (on the caller) a Connected fact was emitted
    blind_transferer: Channel | None = None  # (on the transferee) waiting for the target to ring
    transfer_done: bool = False  # hung up as part of a transfer: not the end of the call

    @property
    def interface(self) -> str:
        return interface_of(self.name)

    @property
    def is_up(self) -> bool:
        return self.state == UP


class Graph:
    """All live channels and bridges.  Every method takes an event's fields
    and returns the channel(s) it changed; none of them raises on input it
    does not recognise."""

    def __init__(self) -> None:
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}

    def __len__(self) -> int:
        return len(self.channels)

    def get(self, uniqueid: str) -> Channel | None:
        return self.channels.get(uniqueid)

    def ensure(self, uniqueid: str, name: str, linkedid: str, ts: float, state: int = DOWN) -> Channel:
        ch = self.channels.get(uniqueid)
        if ch is None:
            ch = self._new(uniqueid, name, linkedid, ts, state)
        else:
            if name and not ch.name:
                ch.name = name
                ch.local = name.startswith("Local/")
            if linkedid:
                ch.linkedid = linkedid  # Linkedid can change (attended transfer)
        return ch

    def _new(self, uniqueid: str, name: str, linkedid: str, ts: float, state: int) -> Channel:
        if len(self.channels) >= MAX_CHANNELS:
            del self.channels[next(iter(self.channels))]
        ch = Channel(uniqueid, name, linkedid or uniqueid, ts, state=state)
        ch.local = name.startswith("Local/")
        if ch.local:
            ch.half = 2 if name.endswith(";2") else 1
        if state == UP:
            ch.up_at = ts
        self.channels[uniqueid] = ch
        return ch

    # --- changes ---------------------------------------------------------------

    def created(self, uniqueid: str, name: str, linkedid: str, ts: float, state: int) -> Channel:
        old = self.channels.pop(uniqueid, None)
        if old is not None:
            self._detach(old)
        return self._new(uniqueid, name, linkedid, ts, state)

    def set_state(self, ch: Channel, state: int, ts: float) -> int:
        """The new state; returns the old one."""
        old, ch.state = ch.state, state
        if state == UP and ch.up_at is None:
            ch.up_at = ts
        return old

    def local_pair(self, one: Channel, two: Channel) -> None:
        one.partner, two.partner = two, one
        one.local = two.local = True
        one.half, two.half = 1, 2

    def dial(self, src: Channel | None, dest: Channel, dial_string: str = "") -> None:
        dest.was_dialed = True
        if dial_string:
            dest.dial_string = dial_string
        if src is None:
            dest.originated = True
            return
        if dest.dialed_by is not None and dest in dest.dialed_by.dials:
            dest.dialed_by.dials.remove(dest)
        dest.dialed_by = src
        if dest not in src.dials:
            src.dials.append(dest)

    def undial(self, src: Channel | None, dest: Channel) -> None:
        if src is not None and dest in src.dials:
            src.dials.remove(dest)
        if dest.dialed_by is src:
            dest.dialed_by = None

    def enter(self, ch: Channel, bridge_id: str) -> Bridge:
        b = self.bridges.get(bridge_id)
        if b is None:
            b = self.bridges[bridge_id] = Bridge(bridge_id)
        if ch.bridge is not None and ch.bridge is not b:
            self.leave(ch, ch.bridge.uniqueid)
        b.members.add(ch)
        ch.bridge = b
        return b

    def leave(self, ch: Channel, bridge_id: str) -> None:
        b = self.bridges.get(bridge_id)
        if b is None:
            return
        b.members.discard(ch)
        if ch.bridge is b:
            ch.bridge = None
        if not b.members:
            del self.bridges[bridge_id]

    def hangup(self, ch: Channel) -> None:
        """Forget the channel (after the call layer has looked at it)."""
        self._detach(ch)
        if self.channels.get(ch.uniqueid) is ch:
            del self.channels[ch.uniqueid]

    def _detach(self, ch: Channel) -> None:
        if ch.bridge is not None:
            self.leave(ch, ch.bridge.uniqueid)
        if ch.partner is not None and ch.partner.partner is ch:
            ch.partner.partner = None
        if ch.dialed_by is not None and ch in ch.dialed_by.dials:
            ch.dialed_by.dials.remove(ch)
        for d in ch.dials:
            if d.dialed_by is ch:
                d.dialed_by = None
        ch.dials = []

    # --- queries (through Local channels) -----------------------------------------

    @staticmethod
    def dialer(ch: Channel) -> Channel:
        """The real channel on whose behalf `ch` is being dialled (itself if
        nobody dials it): walks back through dials and Local halves."""
        seen = 0
        while ch.dialed_by is not None and seen < 16:
            a = ch.dialed_by
            if a.local and a.half == 2 and a.partner is not None:
                a = a.partner
            ch = a
            seen += 1
        return ch

    @staticmethod
    def dialed(ch: Channel) -> list[Channel]:
        """The real channels `ch` is dialling now (open dials), through Local halves."""
        out: list[Channel] = []
        stack = list(ch.dials)
        seen = 0
        while stack and seen < 64:
            seen += 1
            d = stack.pop(0)
            if d.local:
                far = d.partner if d.half == 1 else None
                if far is not None:
                    stack.extend(far.dials)
            else:
                out.append(d)
        return out

    @staticmethod
    def peers(ch: Channel) -> set[Channel]:
        """Every real channel in a conversation with `ch` (itself included),
        across bridges joined by Local halves.  Empty if `ch` is in no bridge
        and no Local half leads anywhere."""
        out: set[Channel] = set()
        seen_bridges: set[int] = set()
        todo: list[Bridge] = []
        if ch.bridge is not None:
            todo.append(ch.bridge)
        if ch.local and ch.partner is not None and ch.partner.bridge is not None:
            todo.append(ch.partner.bridge)
        while todo:
            b = todo.pop()
            if id(b) in seen_bridges:
                continue
            seen_bridges.add(id(b))
            for m in b.members:
                if not m.local:
                    out.add(m)
                elif m.partner is not None and m.partner.bridge is not None:
                    todo.append(m.partner.bridge)
        return out
