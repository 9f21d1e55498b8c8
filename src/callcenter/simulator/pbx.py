"""The simulated PBX: queues, members, phones, channels and calls, emitting
AMI events in the order app_queue does (docs/ami.md §3, shared research).

It knows nothing about sockets: every event goes to `self.sinks` as a list
of (header, value) pairs, already stamped with Event/Privilege/Timestamp.
Everything happens inside `Schedule` timers, so the order of events is a
function of the inputs and the seed alone.

Conventions copied from Asterisk 18/20:
- Uniqueid is "<epoch at creation>.<global counter>", Linkedid is the
  caller's Uniqueid on every leg created for the call; channel names are
  "<interface>-<8 hex digit counter>".
- Agent* events carry the caller's snapshot unprefixed and the member leg as
  Dest*; RingTime is ms in AgentRingNoAnswer and s in AgentConnect.
- QueueCallerAbandon is also sent on a queue timeout, then VarSet
  QUEUESTATUS=TIMEOUT and the caller channel lives on (ami.md §3.3).
"""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callcenter.simulator.clock import RealClock, Schedule, Timer, VirtualClock

Fields = list[tuple[str, str]]
Sink = Callable[[Fields], None]

# Device states (include/asterisk/devicestate.h), as QueueMemberStatus sends them.
UNKNOWN, NOT_INUSE, INUSE, BUSY, INVALID, UNAVAILABLE, RINGING, RINGINUSE, ONHOLD = range(9)
STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
CAUSES = {0: "Unknown", 16: "Normal Clearing", 17: "User busy", 19: "User alerting, no answer", 26: "Answered elsewhere"}
STRATEGIES = ("ringall", "rrmemory", "leastrecent", "fewestcalls", "linear", "random")


def unknown(v: str) -> str:
    return v if v else "<unknown>"


# --- state ---------------------------------------------------------------------


@dataclass
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    cid_num: str
    cid_name: str
    conn_num: str = ""
    conn_name: str = ""
    context: str = "from-internal"
    exten: str = "s"
    priority: int = 1
    state: int = 0
    language: str = "zh"
    accountcode: str = ""
    created: float = 0.0
    app: str = ""
    app_data: str = ""
    bridge: Bridge | None = None
    alive: bool = True

    def snapshot(self, prefix: str = "") -> Fields:
        p = prefix
        return [
            (p + "Channel", self.name),
            (p + "ChannelState", str(self.state)),
            (p + "ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            (p + "CallerIDNum", unknown(self.cid_num)),
            (p + "CallerIDName", unknown(self.cid_name)),
            (p + "ConnectedLineNum", unknown(self.conn_num)),
            (p + "ConnectedLineName", unknown(self.conn_name)),
            (p + "Language", self.language),
            (p + "AccountCode", self.accountcode),
            (p + "Context", self.context),
            (p + "Exten", self.exten),
            (p + "Priority", str(self.priority)),
            (p + "Uniqueid", self.uniqueid),
            (p + "Linkedid", self.linkedid),
        ]


@dataclass
class Bridge:
    uniqueid: str
    channels: list[Channel] = field(default_factory=list)

    def snapshot(self, prefix: str = "") -> Fields:
        p = prefix
        return [
            (p + "BridgeUniqueid", self.uniqueid),
            (p + "BridgeType", "basic"),
            (p + "BridgeTechnology", "simple_bridge" if len(self.channels) <= 2 else "softmix"),
            (p + "BridgeCreator", "<unknown>"),
            (p + "BridgeName", "<unknown>"),
            (p + "BridgeNumChannels", str(len(self.channels))),
            (p + "BridgeVideoSourceMode", "none"),
        ]


@dataclass
class Phone:
    """How the person behind an interface behaves when it rings."""

    answer_after: float = 3.0  # seconds of ringing before they pick up
    answer_jitter: float = 0.0  # +- uniform jitter on answer_after
    miss_prob: float = 0.0  # chance they let it ring out
    talk_s: float = 120.0  # default conversation length for calls without a plan
    status: int = NOT_INUSE  # device state, shared by all queues


@dataclass
class Queue:
    name: str
    strategy: str = "rrmemory"
    timeout: float = 15.0  # member ring timeout
    retry: float = 5.0  # pause between ring cycles
    maxwait: float | None = None  # Queue() timeout: caller exits with QUEUESTATUS=TIMEOUT
    autopause: str = "no"  # no | yes | all
    wrapuptime: float = 0.0
    servicelevel: int = 20
    weight: int = 0
    record: bool = True  # MixMonitor on connect (queues.conf monitor-type=MixMonitor)
    entries: list[Call] = field(default_factory=list)
    members: dict[str, Member] = field(default_factory=dict)
    rrpos: int = 0
    # QueueParams counters (they reset with Asterisk, like the real ones).
    holdtime: float = 0.0
    talktime: float = 0.0
    completed: int = 0
    abandoned: int = 0
    completed_in_sl: int = 0
    abandoned_in_sl: int = 0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"queue {self.name}: strategy must be one of {', '.join(STRATEGIES)}")
        if self.autopause not in ("no", "yes", "all"):
            raise ValueError(f"queue {self.name}: autopause must be no, yes or all")


@dataclass
class Member:
    queue: str
    interface: str
    name: str
    penalty: int = 0
    paused: bool = False
    paused_reason: str = ""
    membership: str = "dynamic"
    calls_taken: int = 0
    last_call: int = 0
    last_pause: int = 0
    login_time: int = 0
    in_call: bool = False
    wrapuptime: float = 0.0
    order: int = 0


@dataclass
class Call:
    """One caller, from arrival to hangup (may visit several queues)."""

    caller: Channel
    queue: str
    plan: dict[str, Any]
    joined: float = 0.0
    position: int = 0
    original_position: int = 0
    state: str = "new"  # waiting | talking | ivr | done
    rings: dict[str, Ring] = field(default_factory=dict)
    tried: set[str] = field(default_factory=set)
    retry_until: float = 0.0
    timers: list[Timer] = field(default_factory=list)
    member: Member | None = None
    leg: Channel | None = None
    bridge: Bridge | None = None
    connected: float = 0.0
    recording: Recording | None = None
    on_hold: bool = False
    holds: list[tuple[float, float]] = field(default_factory=list)
    consult: DirectCall | None = None  # the agent's consultation call during an attended transfer
    reactions_used: set[int] = field(default_factory=set)  # indexes of plan["answer"] steps spent


@dataclass
class Ring:
    member: Member
    leg: Channel
    started: float
    timers: list[Timer] = field(default_factory=list)


@dataclass
class Recording:
    channel: Channel
    path: Path
    started: float
    # (start, end, kind) in seconds from the start: "hold", or "mute-read" /
    # "mute-write" / "mute-both" (MixMonitorMute: the lane records silence).
    segments: list[tuple[float, float, str]] = field(default_factory=list)
    mutes: list[list[float | str]] = field(default_factory=list)  # [start, end or -1, direction], absolute


# --- the PBX -------------------------------------------------------------------


def _outside(method: Callable[..., Any]) -> Callable[..., Any]:
    """An action from outside the schedule (a test, an AMI action): time is
    brought up to date first, and its immediate consequences run before it
    returns."""

    @functools.wraps(method)
    def run(self: PBX, *args: Any, **kw: Any) -> Any:
        self.sync()
        try:
            return method(self, *args, **kw)
        finally:
            self.settle()

    return run


class PBX:
    """Simulated Asterisk with app_queue.  Public methods are what tests, the
    traffic model and the AMI actions use to change it."""

    def __init__(
        self,
        queues: list[Queue] | None = None,
        *,
        clock: VirtualClock | RealClock | None = None,
        seed: int = 0,
        recordings_dir: Path | None = None,
        version: str = "7.0.3",
        systemname: str = "",
    ) -> None:
        self.clock = clock or VirtualClock()
        # asterisk.conf systemname: prefixes Uniqueids and adds SystemName to events.
        self.systemname = systemname
        self.schedule = Schedule(self.clock.start)
        self.rng = random.Random(f"pbx-{seed}")
        self.version = version
        # Absolute, like the MIXMONITOR_FILENAME of a real Asterisk.
        self.recordings_dir = recordings_dir.resolve() if recordings_dir is not None else None
        self.sinks: list[Sink] = []
        self.queues: dict[str, Queue] = {}
        for q in queues if queues is not None else demo_queues():
            self.queues[q.name] = q
        self.phones: dict[str, Phone] = {}
        self.default_phone = Phone()  # how a newly seen interface behaves (QueueAdd from the bridge)
        self.channels: dict[str, Channel] = {}  # by name
        self.calls: dict[str, Call] = {}  # by caller uniqueid
        self.started = self.clock.start
        self._uid = 0
        self._chan = 0
        self._member_order = 0
        self.wav_writer: Callable[[Recording, float], None] | None = None
        self.recordings_written: list[Path] = []
        self.others: list[DirectCall] = []
        self.on_member_free: list[Callable[[Member], None]] = []
        self.on_autopause: list[Callable[[Member], None]] = []
        self._kicked = False

    # -- time -------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.schedule.now

    def sync(self) -> None:
        """Bring simulated time up to the wall clock before an outside action."""
        if self.clock.realtime:
            self.schedule.now = max(self.schedule.now, self.clock.wall(self.schedule))

    def settle(self) -> None:
        """Run what an outside action sets off at this instant (e.g. ringing
        a member after new_call), so callers see its whole effect at once."""
        if not self.schedule.firing:
            self.schedule.run_until(self.schedule.now)

    def advance(self, seconds: float) -> int:
        """Virtual time: run everything due in the next `seconds`."""
        return self.schedule.run_until(self.schedule.now + seconds)

    def run_until_idle(self, limit: float = 86400.0) -> None:
        """Virtual time: run until no timer is left (or `limit` seconds pass)."""
        end = self.schedule.now + limit
        while (t := self.schedule.next_time()) is not None and t <= end:
            self.schedule.run_until(t)

    def after(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        return self.schedule.after(delay, fn, *args)

    # -- emitting -----------------------------------------------------------------

    def emit(self, event: str, privilege: str, body: Fields) -> None:
        msg = [("Event", event), ("Privilege", privilege + ",all"), ("Timestamp", f"{self.now:.6f}")]
        if self.systemname:
            msg.append(("SystemName", self.systemname))
        msg.extend(body)
        for sink in list(self.sinks):
            sink(msg)

    def _chan_event(self, event: str, ch: Channel, extra: Fields = (), privilege: str = "call") -> None:  # type: ignore[assignment]
        self.emit(event, privilege, ch.snapshot() + list(extra))

    def _agent_event(self, event: str, call: Call, leg: Channel, member: Member, extra: Fields) -> None:
        body = call.caller.snapshot() + leg.snapshot("Dest")
        body += [("Queue", member.queue), ("Interface", member.interface), ("MemberName", member.name)]
        self.emit(event, "agent", body + list(extra))

    def member_block(self, m: Member) -> Fields:
        return [
            ("Queue", m.queue),
            ("MemberName", m.name),
            ("Interface", m.interface),
            ("StateInterface", m.interface),
            ("Membership", m.membership),
            ("Penalty", str(m.penalty)),
            ("CallsTaken", str(m.calls_taken)),
            ("LastCall", str(m.last_call)),
            ("LastPause", str(m.last_pause)),
            ("LoginTime", str(m.login_time)),
            ("InCall", "1" if m.in_call else "0"),
            ("Status", str(self.phone(m.interface).status)),
            ("Paused", "1" if m.paused else "0"),
            ("PausedReason", m.paused_reason),
            ("Ringinuse", "0"),
            ("Wrapuptime", str(int(m.wrapuptime))),
        ]

    # -- ids and channels -----------------------------------------------------------

    def _uniqueid(self) -> str:
        uid = f"{int(self.now)}.{self._uid}"
        if self.systemname:
            uid = f"{self.systemname}-{uid}"
        self._uid += 1
        return uid

    def new_channel(self, tech: str, cid_num: str, cid_name: str, *, linkedid: str | None = None, **kw: Any) -> Channel:
        self._chan += 1
        uid = self._uniqueid()
        ch = Channel(
            name=f"{tech}-{self._chan:08x}",
            uniqueid=uid,
            linkedid=linkedid or uid,
            cid_num=cid_num,
            cid_name=cid_name,
            created=self.now,
            **kw,
        )
        self.channels[ch.name] = ch
        self._chan_event("Newchannel", ch)
        return ch

    def _newstate(self, ch: Channel, state: int) -> None:
        ch.state = state
        self._chan_event("Newstate", ch)

    def _newexten(self, ch: Channel, app: str, data: str, *, context: str | None = None, exten: str | None = None) -> None:
        if context is not None:
            ch.context, ch.priority = context, 1
        elif ch.app:
            ch.priority += 1
        if exten is not None:
            ch.exten = exten
        ch.app, ch.app_data = app, data
        self._chan_event("Newexten", ch, [("Extension", ch.exten), ("Application", app), ("AppData", data)], "dialplan")

    def _varset(self, ch: Channel, name: str, value: str) -> None:
        self._chan_event("VarSet", ch, [("Variable", name), ("Value", value)], "dialplan")

    def _hangup(self, ch: Channel, cause: int = 16) -> None:
        if not ch.alive:
            return
        for call in list(self.calls.values()):  # MixMonitor stops before its channel goes
            if call.recording is not None and call.recording.channel is ch:
                self._stop_recording(call)
        ch.alive = False
        self._chan_event("Hangup", ch, [("Cause", str(cause)), ("Cause-txt", CAUSES.get(cause, "Unknown"))])
        self.channels.pop(ch.name, None)

    def _bridge_create(self) -> Bridge:
        b = Bridge(str(uuid.UUID(int=self.rng.getrandbits(128), version=4)))
        self.emit("BridgeCreate", "call", b.snapshot())
        return b

    def _bridge_enter(self, b: Bridge, ch: Channel, swap: str = "") -> None:
        b.channels.append(ch)
        ch.bridge = b
        extra = [("SwapUniqueid", swap)] if swap else []
        self.emit("BridgeEnter", "call", b.snapshot() + ch.snapshot() + extra)

    def _bridge_leave(self, b: Bridge, ch: Channel) -> None:
        if ch in b.channels:
            b.channels.remove(ch)
            ch.bridge = None
            self.emit("BridgeLeave", "call", b.snapshot() + ch.snapshot())

    def _bridge_destroy(self, b: Bridge) -> None:
        for ch in list(b.channels):
            self._bridge_leave(b, ch)
        self.emit("BridgeDestroy", "call", b.snapshot())

    def _dial(self, ev: str, src: Channel, dst: Channel, extra: Fields) -> None:
        self.emit(ev, "call", src.snapshot() + dst.snapshot("Dest") + list(extra))

    # -- phones and members -----------------------------------------------------

    def phone(self, interface: str) -> Phone:
        if interface not in self.phones:
            d = self.default_phone
            self.phones[interface] = Phone(d.answer_after, d.answer_jitter, d.miss_prob, d.talk_s)
        return self.phones[interface]

    def set_phone(self, interface: str, **behaviour: Any) -> Phone:
        p = self.phone(interface)
        for k, v in behaviour.items():
            setattr(p, k, v)
        return p

    def memberships(self, interface: str) -> list[Member]:
        return [q.members[interface] for q in self.queues.values() if interface in q.members]

    def _device(self, interface: str, status: int) -> None:
        """A device-state change: one QueueMemberStatus per queue it is in."""
        p = self.phone(interface)
        if p.status == status:
            return
        p.status = status
        for m in self.memberships(interface):
            self.emit("QueueMemberStatus", "agent", self.member_block(m))
        if status == NOT_INUSE:
            self._kick()

    @_outside
    def add_member(
        self,
        queue: str,
        interface: str,
        name: str | None = None,
        penalty: int = 0,
        paused: bool = False,
        reason: str = "",
        wrapuptime: float | None = None,
    ) -> Member:
        """QueueAdd.  Raises KeyError (no such queue) or ValueError (already there)."""
        q = self.queues[queue]
        if interface in q.members:
            raise ValueError("already there")
        self._member_order += 1
        m = Member(
            queue=queue,
            interface=interface,
            name=name or interface,
            penalty=penalty,
            paused=paused,
            paused_reason=reason if paused else "",
            login_time=int(self.now),
            last_pause=int(self.now) if paused else 0,
            wrapuptime=q.wrapuptime if wrapuptime is None else wrapuptime,
            order=self._member_order,
        )
        self.phone(interface)
        q.members[interface] = m
        self.emit("QueueMemberAdded", "agent", self.member_block(m))
        self._kick()
        return m

    @_outside
    def remove_member(self, queue: str, interface: str) -> None:
        """QueueRemove.  Raises KeyError (no such queue / not there)."""
        q = self.queues[queue]
        m = q.members.pop(interface)
        for call in q.entries:
            if interface in call.rings:
                self._cancel_ring(call, call.rings[interface], "CANCEL", 16)
        self.emit("QueueMemberRemoved", "agent", self.member_block(m))
        self._kick()

    @_outside
    def pause(self, interface: str, paused: bool, reason: str = "", queue: str | None = None) -> list[Member]:
        """QueuePause (all queues unless `queue`).  Returns the members changed."""
        members = [m for m in self.memberships(interface) if queue is None or m.queue == queue]
        for m in members:
            m.paused = paused
            m.paused_reason = reason if paused else ""
            m.last_pause = int(self.now) if paused else m.last_pause
            self.emit("QueueMemberPause", "agent", self.member_block(m))
        if not paused:
            self._kick()
        return members

    def _member_idle(self, m: Member) -> bool:
        """Can be rung: logged in, not paused, phone idle, wrap-up over."""
        if m.paused or self.phone(m.interface).status not in (NOT_INUSE, UNKNOWN):
            return False
        return not (m.wrapuptime and m.last_call and m.last_call + m.wrapuptime > self.now)

    # -- callers ------------------------------------------------------------------

    @_outside
    def new_call(
        self,
        queue: str,
        caller_number: str,
        caller_name: str = "",
        *,
        patience: float | None = None,
        answer: list[dict[str, Any]] | None = None,
        talk: float | None = None,
        hold: list[list[float]] | None = None,
        hangup: str = "caller",
        transfer: dict[str, Any] | None = None,
        timeout: float | None = None,
        after_timeout: float = 10.0,
        trunk: str = "PJSIP/trunk",
    ) -> Call:
        """A caller dials in and the dialplan sends them to `queue` now.

        patience: seconds before they hang up while waiting (None: never).
        answer: [{"agent": iface, "after": s} | {"agent": iface, "reject": true, "after": s}]
          overrides phone behaviour for this call: listed agents answer (or
          reject) after `after` s of ringing, unlisted agents let it ring out.
        talk: seconds from connect to hangup; hold: [[at, duration], ...] from
        connect; hangup: who ends it; transfer: see callcenter.simulator.traffic.
        timeout: Queue() timeout (defaults to the queue's maxwait).
        """
        if queue not in self.queues:
            raise KeyError(queue)
        ch = self.new_channel(trunk, caller_number, caller_name, context="from-pstn", exten=queue, state=4)
        plan = {
            "patience": patience,
            "answer": answer,
            "talk": talk,
            "hold": hold or [],
            "hangup": hangup,
            "transfer": transfer,
            "timeout": timeout,
            "after_timeout": after_timeout,
        }
        call = Call(caller=ch, queue=queue, plan=plan)
        self.calls[ch.uniqueid] = call
        self._newexten(ch, "Answer", "")
        self._newstate(ch, 6)
        self._join(call, queue)
        return call

    def _join(self, call: Call, queue: str) -> None:
        q = self.queues[queue]
        call.queue = queue
        call.reactions_used = set()
        ch = call.caller
        timeout = call.plan["timeout"] if call.plan["timeout"] is not None else q.maxwait
        self._newexten(ch, "Queue", f"{queue},tT,,,{int(timeout) if timeout else ''}", context="queues", exten=queue)
        q.entries.append(call)
        call.state = "waiting"
        call.joined = self.now
        call.position = call.original_position = len(q.entries)
        call.tried = set()
        call.retry_until = 0.0
        self.emit(
            "QueueCallerJoin",
            "agent",
            ch.snapshot() + [("Queue", queue), ("Position", str(call.position)), ("Count", str(len(q.entries)))],
        )
        self._chan_event("MusicOnHoldStart", ch, [("Class", "default")])
        if call.plan["patience"] is not None:
            call.timers.append(self.after(call.plan["patience"], self._abandon, call))
        if timeout:
            call.timers.append(self.after(timeout, self._queue_timeout, call))
        self._kick()

    def _leave(self, call: Call) -> None:
        q = self.queues[call.queue]
        pos = q.entries.index(call) + 1
        q.entries.remove(call)
        for i, other in enumerate(q.entries):
            other.position = i + 1
        for t in call.timers:
            t.cancel()
        call.timers.clear()
        self.emit(
            "QueueCallerLeave",
            "agent",
            call.caller.snapshot() + [("Queue", q.name), ("Position", str(pos)), ("Count", str(len(q.entries)))],
        )

    def _record_abandon(self, call: Call) -> None:
        q = self.queues[call.queue]
        wait = int(self.now - call.joined)
        q.abandoned += 1
        if wait <= q.servicelevel:
            q.abandoned_in_sl += 1
        self.emit(
            "QueueCallerAbandon",
            "agent",
            call.caller.snapshot()
            + [
                ("Queue", q.name),
                ("Position", str(q.entries.index(call) + 1)),
                ("OriginalPosition", str(call.original_position)),
                ("HoldTime", str(wait)),
            ],
        )

    def _abandon(self, call: Call) -> None:
        """The caller hangs up while waiting (or while a member rings)."""
        if call.state != "waiting":
            return
        self._chan_event("HangupRequest", call.caller, [("Cause", "16")])
        for ring in list(call.rings.values()):
            self._cancel_ring(call, ring, "CANCEL", 16, free=False)
        self._record_abandon(call)
        self._leave(call)
        self._chan_event("MusicOnHoldStop", call.caller)
        call.state = "done"
        self._hangup(call.caller, 16)
        self.calls.pop(call.caller.uniqueid, None)
        self._free_devices()

    def _queue_timeout(self, call: Call) -> None:
        """Queue() timeout: QueueCallerAbandon too, but the caller lives on."""
        if call.state != "waiting":
            return
        call.state = "exiting"
        for ring in list(call.rings.values()):
            self._rna(call, ring, natural=False)
        self._record_abandon(call)
        self._leave(call)
        self._chan_event("MusicOnHoldStop", call.caller)
        self._varset(call.caller, "QUEUESTATUS", "TIMEOUT")
        call.state = "ivr"
        self._newexten(call.caller, "VoiceMail", f"{call.queue}@default")
        call.timers.append(self.after(call.plan["after_timeout"], self._caller_gone, call))
        self._free_devices()

    def _caller_gone(self, call: Call) -> None:
        call.state = "done"
        self._stop_recording(call)
        self._chan_event("HangupRequest", call.caller, [("Cause", "16")])
        self._hangup(call.caller, 16)
        self.calls.pop(call.caller.uniqueid, None)

    # -- distribution -------------------------------------------------------------

    def _kick(self) -> None:
        """Distribute once the current step's events are out (a zero-delay
        timer), so a freed member is never rung in the middle of a sequence."""
        if not self._kicked:
            self._kicked = True
            self.after(0, self._dispatch)

    def _dispatch(self) -> None:
        """Offer waiting callers to free members (autofill: every caller in
        order, not only the head)."""
        self._kicked = False
        # Higher-weight queues get shared members first (queues.conf weight).
        for q in sorted(self.queues.values(), key=lambda q: -q.weight):
            # Is anyone free: asked once per queue and again only after a
            # ring, not before every waiting caller (with hundreds waiting
            # and nobody free, that scan was the simulator's whole cost).
            if not q.entries or not self._anyone_idle(q):
                continue
            for call in list(q.entries):
                if call.state != "waiting" or call.rings or call.retry_until > self.now:
                    continue
                picked = self._pick(q, call)
                if not picked and call.tried:
                    call.tried = set()  # a new cycle: everyone may be rung again
                    picked = self._pick(q, call)
                for m in picked:
                    self._ring(call, m)
                if picked and not self._anyone_idle(q):
                    break

    def _anyone_idle(self, q: Queue) -> bool:
        return any(self._member_idle(m) for m in q.members.values())

    def _pick(self, q: Queue, call: Call) -> list[Member]:
        free = [m for m in q.members.values() if m.interface not in call.tried and self._member_idle(m)]
        if not free:
            return []
        low = min(m.penalty for m in free)
        tier = sorted((m for m in free if m.penalty == low), key=lambda m: m.order)
        if q.strategy == "ringall":
            return tier
        if q.strategy == "rrmemory":
            after = [m for m in tier if m.order > q.rrpos]
            return [after[0] if after else tier[0]]
        if q.strategy == "leastrecent":
            return [min(tier, key=lambda m: (m.last_call, m.order))]
        if q.strategy == "fewestcalls":
            return [min(tier, key=lambda m: (m.calls_taken, m.order))]
        if q.strategy == "random":
            return [self.rng.choice(tier)]
        return [tier[0]]  # linear

    def _ring(self, call: Call, m: Member) -> None:
        q = self.queues[call.queue]
        if q.strategy == "rrmemory":
            q.rrpos = m.order
        call.tried.add(m.interface)
        caller = call.caller
        ext = m.interface.split("/", 1)[-1]
        leg = self.new_channel(
            m.interface, ext, m.name, linkedid=caller.linkedid, conn_num=caller.cid_num, conn_name=caller.cid_name
        )
        ring = Ring(member=m, leg=leg, started=self.now)
        call.rings[m.interface] = ring
        self._device(m.interface, RINGING)
        self._agent_event("AgentCalled", call, leg, m, [])
        self._dial("DialBegin", caller, leg, [("DialString", m.interface.split("/", 1)[1])])
        self._newstate(leg, 5)
        self._dial("DialState", caller, leg, [("DialStatus", "RINGING")])
        # What the person does: the call's plan wins, else the phone's habits.
        answer_after, how = self._reaction(call, m)
        ring_limit = q.timeout
        if answer_after is not None and answer_after < ring_limit:
            fn = {"reject": self._reject, "dump": self._dump, "answer": self._answer}[how]
            ring.timers.append(self.after(answer_after, fn, call, ring))
        else:
            ring.timers.append(self.after(ring_limit, self._rna, call, ring))

    def _reaction(self, call: Call, m: Member) -> tuple[float | None, str]:
        """(seconds of ringing, "answer" | "reject" | "dump"), or (None, "") to ring out."""
        plan = call.plan["answer"]
        if plan is not None:
            for i, step in enumerate(plan):
                if step.get("agent") == m.interface and i not in call.reactions_used:
                    call.reactions_used.add(i)
                    how = "reject" if step.get("reject") else "dump" if step.get("dump") else "answer"
                    return float(step.get("after", 0)), how
            return None, ""
        p = self.phone(m.interface)
        if p.miss_prob and self.rng.random() < p.miss_prob:
            return None, ""
        jitter = self.rng.uniform(-p.answer_jitter, p.answer_jitter) if p.answer_jitter else 0.0
        return max(0.5, p.answer_after + jitter), "answer"

    def _cancel_ring(self, call: Call, ring: Ring, status: str, cause: int, free: bool = True) -> None:
        for t in ring.timers:
            t.cancel()
        call.rings.pop(ring.member.interface, None)
        self._dial("DialEnd", call.caller, ring.leg, [("DialStatus", status), ("Forward", "")])
        self._hangup(ring.leg, cause)
        if free:
            self._device(ring.member.interface, NOT_INUSE)

    def _free_devices(self) -> None:
        for iface, p in self.phones.items():
            if p.status == RINGING and not any(iface in c.rings for c in self.calls.values()):
                self._device(iface, NOT_INUSE)

    def _rna(self, call: Call, ring: Ring, natural: bool = True) -> None:
        """Ring timeout: AgentRingNoAnswer before DialEnd NOANSWER (§3.4)."""
        for t in ring.timers:
            t.cancel()
        call.rings.pop(ring.member.interface, None)
        m = ring.member
        ms = int(round((self.now - ring.started) * 1000))
        self._agent_event("AgentRingNoAnswer", call, ring.leg, m, [("RingTime", str(ms))])
        self._dial("DialEnd", call.caller, ring.leg, [("DialStatus", "NOANSWER"), ("Forward", "")])
        self._hangup(ring.leg, 19)
        self._after_rna(call, m, natural)

    def _reject(self, call: Call, ring: Ring) -> None:
        """The member's phone declines: DialEnd BUSY first, then RNA (§3.4)."""
        for t in ring.timers:
            t.cancel()
        call.rings.pop(ring.member.interface, None)
        m = ring.member
        ms = int(round((self.now - ring.started) * 1000))
        self._dial("DialEnd", call.caller, ring.leg, [("DialStatus", "BUSY"), ("Forward", "")])
        self._hangup(ring.leg, 17)
        self._agent_event("AgentRingNoAnswer", call, ring.leg, m, [("RingTime", str(ms))])
        q = self.queues[call.queue]
        if q.strategy != "ringall":
            call.retry_until = 0.0  # non-ringall rings the next member at once
            self._after_rna(call, m, True, retry=False)
        else:
            self._after_rna(call, m, True)

    def _dump(self, call: Call, ring: Ring) -> None:
        """The member picks up and hangs up before being bridged (§3.2):
        AgentDump; the caller stays queued and the next member is rung."""
        for t in ring.timers:
            t.cancel()
        call.rings.pop(ring.member.interface, None)
        m, leg = ring.member, ring.leg
        self._device(m.interface, INUSE)
        self._newstate(leg, 6)
        self._agent_event("AgentDump", call, leg, m, [])
        self._dial("DialEnd", call.caller, leg, [("DialStatus", "CANCEL"), ("Forward", "")])
        self._hangup(leg, 16)
        self._device(m.interface, NOT_INUSE)
        self._kick()

    def _after_rna(self, call: Call, m: Member, natural: bool, retry: bool = True) -> None:
        q = self.queues[call.queue]
        if self.phone(m.interface).status == RINGING:
            self._device(m.interface, NOT_INUSE)
        if natural and q.autopause != "no" and not m.paused:
            targets = self.memberships(m.interface) if q.autopause == "all" else [m]
            for mm in targets:
                mm.paused, mm.paused_reason, mm.last_pause = True, "Auto-Pause", int(self.now)
                self.emit("QueueMemberPause", "agent", self.member_block(mm))
            for fn in list(self.on_autopause):
                fn(m)
        if call.state == "waiting" and not call.rings and retry:
            call.retry_until = self.now + q.retry
            call.timers.append(self.after(q.retry, self._kick))
        self._kick()

    # -- answered calls ------------------------------------------------------------

    def _answer(self, call: Call, ring: Ring) -> None:
        for t in ring.timers:
            t.cancel()
        m, leg, caller = ring.member, ring.leg, call.caller
        q = self.queues[call.queue]
        call.rings.pop(m.interface)
        self._device(m.interface, INUSE)
        self._newstate(leg, 6)
        self._dial("DialEnd", caller, leg, [("DialStatus", "ANSWER"), ("Forward", "")])
        for other in list(call.rings.values()):
            self._cancel_ring(call, other, "CANCEL", 26)
        self._chan_event("MusicOnHoldStop", caller)
        hold = int(self.now - call.joined)
        ring_s = int(self.now - ring.started)
        self._leave(call)
        call.state, call.member, call.leg, call.connected = "talking", m, leg, self.now
        m.in_call = True
        caller.conn_num, caller.conn_name = leg.cid_num, leg.cid_name
        q.holdtime = (q.holdtime * 3 + hold) / 4
        self._agent_event("AgentConnect", call, leg, m, [("HoldTime", str(hold)), ("RingTime", str(ring_s))])
        b = self._bridge_create()
        call.bridge = b
        self._bridge_enter(b, leg)
        self._bridge_enter(b, caller)
        if q.record and self.recordings_dir is not None and call.recording is None:
            self._start_recording(call)
        self._schedule_conversation(call)

    def _schedule_conversation(self, call: Call) -> None:
        plan = call.plan
        talk = plan["talk"] if plan["talk"] is not None else self._default_talk(call)
        for at, dur in plan["hold"]:
            call.timers.append(self.after(at, self.hold, call, True))
            call.timers.append(self.after(at + dur, self.hold, call, False))
        xfer = plan["transfer"]
        if xfer:
            call.timers.append(self.after(float(xfer.get("at", talk)), self._transfer, call, xfer))
        else:
            call.timers.append(self.after(talk, self._end_talk, call, plan["hangup"]))

    def _default_talk(self, call: Call) -> float:
        p = self.phone(call.member.interface) if call.member else Phone()
        return p.talk_s

    def hold(self, call: Call, on: bool) -> None:
        """The agent's phone holds/unholds: Hold on the agent leg, MOH to the caller."""
        if call.state != "talking" or call.leg is None or call.on_hold == on:
            return
        call.on_hold = on
        if on:
            self._chan_event("Hold", call.leg, [("MusicClass", "default")])
            self._chan_event("MusicOnHoldStart", call.caller, [("Class", "default")])
            call.holds.append((self.now, self.now))
        else:
            self._chan_event("Unhold", call.leg)
            self._chan_event("MusicOnHoldStop", call.caller)
            start, _ = call.holds[-1]
            call.holds[-1] = (start, self.now)

    def _complete(self, call: Call, reason: str) -> None:
        m = call.member
        assert m is not None and call.leg is not None
        q = self.queues[m.queue]
        talk = int(self.now - call.connected)
        hold = int(call.connected - call.joined)
        q.completed += 1
        if hold <= q.servicelevel:
            q.completed_in_sl += 1
        q.talktime = (q.talktime * 3 + talk) / 4
        self._agent_event(
            "AgentComplete",
            call,
            call.leg,
            m,
            [("HoldTime", str(hold)), ("TalkTime", str(talk)), ("Reason", reason)],
        )

    def _member_done(self, call: Call) -> None:
        """The member's leg is gone: CallsTaken+1, LastCall, wrap-up starts."""
        m = call.member
        assert m is not None
        m.in_call = False
        for mm in self.memberships(m.interface):
            if mm is m:
                mm.calls_taken += 1
            mm.last_call = int(self.now)
        p = self.phone(m.interface)
        p.status = NOT_INUSE
        for mm in self.memberships(m.interface):
            self.emit("QueueMemberStatus", "agent", self.member_block(mm))
        for wrap in {mm.wrapuptime for mm in self.memberships(m.interface) if mm.wrapuptime}:
            self.after(wrap, self._kick)
        self._kick()
        for fn in list(self.on_member_free):
            fn(m)

    def _end_talk(self, call: Call, who: str) -> None:
        """Caller or agent hangs up a bridged queue call (§3.2 order)."""
        if call.state != "talking":
            return
        if call.on_hold:
            self.hold(call, False)
        caller, leg, b = call.caller, call.leg, call.bridge
        assert leg is not None and b is not None
        first, second = (caller, leg) if who == "caller" else (leg, caller)
        self._chan_event("HangupRequest", first, [("Cause", "16")])
        self._complete(call, "caller" if who == "caller" else "agent")
        self._bridge_leave(b, first)
        self._chan_event("SoftHangupRequest", second, [("Cause", "16")])
        self._bridge_leave(b, second)
        self._bridge_destroy(b)
        self._stop_recording(call)
        self._hangup(first, 16)
        self._hangup(second, 16)
        call.state = "done"
        self.calls.pop(caller.uniqueid, None)
        self._member_done(call)

    @_outside
    def hangup_channel(self, name: str) -> bool:
        """Hangup action: who hangs up decides the AgentComplete Reason."""
        ch = self.channels.get(name)
        if ch is None:
            return False
        for call in list(self.calls.values()):
            if call.state == "transferred" and call.leg is not None and ch in (call.caller, call.leg):
                self._end_transferred(call, call.leg, call.leg.name.rsplit("-", 1)[0])
                return True
            if call.caller is ch:
                if call.state == "waiting":
                    self._abandon(call)
                elif call.state == "talking":
                    self._end_talk(call, "caller")
                else:
                    self._caller_gone(call)
                return True
            if call.leg is ch and call.state == "talking":
                self._end_talk(call, "agent")
                return True
            for ring in list(call.rings.values()):
                if ring.leg is ch:
                    self._reject(call, ring)
                    return True
        for other in list(self.others):
            if ch in other.channels:
                other.end()
                return True
        self._hangup(ch, 16)
        return True

    # -- transfers --------------------------------------------------------------------

    @_outside
    def transfer(self, call: Call, xfer: dict[str, Any]) -> None:
        """The agent transfers: {"type": "blind"|"attended", "to": queue or extension, ...}."""
        self._transfer(call, xfer)

    def _transfer(self, call: Call, xfer: dict[str, Any]) -> None:
        if call.state != "talking" or call.consult is not None:
            return
        if call.on_hold:
            self.hold(call, False)
        if xfer.get("type", "blind") == "attended":
            self._attended(call, xfer)
        else:
            self._blind(call, xfer)

    def _blind(self, call: Call, xfer: dict[str, Any]) -> None:
        """Agent blind-transfers the caller to a queue or an extension (§3.5)."""
        caller, leg, b = call.caller, call.leg, call.bridge
        assert leg is not None and b is not None
        target = str(xfer["to"])
        context = "queues" if target in self.queues else "from-internal"
        self.emit(
            "BlindTransfer",
            "call",
            [("Result", "Success")]
            + leg.snapshot("Transferer")
            + b.snapshot()
            + caller.snapshot("Transferee")
            + [("IsExternal", "Yes"), ("Context", context), ("Extension", target)],
        )
        self._handoff(call)
        self._continue_after_transfer(call, target, xfer)

    def _handoff(self, call: Call) -> None:
        """The caller leaves the agent (transfer/redirect): the agent's part ends."""
        caller, leg, b = call.caller, call.leg, call.bridge
        assert leg is not None and b is not None
        for t in call.timers:  # holds and the hang-up planned with this agent
            t.cancel()
        call.timers.clear()
        self._complete(call, "transfer")
        self._bridge_leave(b, leg)
        self._hangup(leg, 16)
        self._member_done(call)
        self._bridge_leave(b, caller)
        self._bridge_destroy(b)

    def _continue_after_transfer(self, call: Call, target: str, xfer: dict[str, Any]) -> None:
        """The caller goes on in the dialplan: into another queue, or a direct dial."""
        caller = call.caller
        call.member = call.leg = call.bridge = None
        plan = dict(call.plan)
        plan.update(
            answer=xfer.get("answer"),
            talk=xfer.get("talk", 60),
            hold=[],
            transfer=None,
            hangup=xfer.get("hangup", "caller"),
            patience=xfer.get("patience"),
            timeout=None,
        )
        call.plan = plan
        if target in self.queues:
            self._join(call, target)
            return
        # A plain extension: Dial() from the caller's channel.
        iface = target if "/" in target else f"PJSIP/{target}"
        self._newexten(caller, "Dial", iface, context="from-internal", exten=target.split("/")[-1])
        DirectCall(self, caller, iface, talk=float(plan["talk"]), answer_after=xfer.get("answer_after"))

    def _attended(self, call: Call, xfer: dict[str, Any]) -> None:
        """Hold, consult the target on a 2nd leg, then swap it into the caller's bridge."""
        leg = call.leg
        assert leg is not None and call.member is not None
        self.hold(call, True)
        target = str(xfer["to"])
        iface = target if "/" in target else f"PJSIP/{target}"
        agent_iface = call.member.interface
        leg2 = self.new_channel(agent_iface, leg.cid_num, leg.cid_name, context="from-internal", exten=iface.split("/")[-1], state=4)
        self._newexten(leg2, "Dial", iface)
        consult = float(xfer.get("consult", 10))

        def consulted(dc: DirectCall) -> None:
            dc.timers.append(self.after(consult, self._attended_complete, call, xfer, leg2, dc))

        def abandoned(_dc: DirectCall) -> None:
            """The consultation ended without a transfer: back to the caller."""
            call.consult = None
            if call.state == "talking":
                self.hold(call, False)
                call.timers.append(self.after(10, self._end_talk, call, call.plan["hangup"]))

        call.consult = DirectCall(
            self, leg2, iface, talk=None, answer_after=xfer.get("answer_after"), on_answer=consulted, on_end=abandoned
        )

    def _attended_complete(self, call: Call, xfer: dict[str, Any], leg2: Channel, dc: DirectCall) -> None:
        if call.state != "talking":
            dc.end()
            return
        call.consult = None
        caller, leg, b = call.caller, call.leg, call.bridge
        assert leg is not None and b is not None and dc.b_leg is not None and dc.bridge is not None
        target_leg, consult_bridge = dc.b_leg, dc.bridge
        self.emit(
            "AttendedTransfer",
            "call",
            [("Result", "Success")]
            + leg.snapshot("OrigTransferer")
            + b.snapshot("Orig")
            + leg2.snapshot("SecondTransferer")
            + consult_bridge.snapshot("Second")
            + [("DestType", "Bridge"), ("DestBridgeUniqueid", b.uniqueid)]
            + caller.snapshot("Transferee")
            + target_leg.snapshot("TransferTarget")
            + [("IsExternal", "No")],
        )
        self._complete(call, "transfer")
        call.on_hold = False
        self._bridge_leave(consult_bridge, target_leg)
        target_leg.linkedid = caller.linkedid
        self._bridge_leave(b, leg)
        self._bridge_enter(b, target_leg, swap=leg.uniqueid)
        self._bridge_leave(consult_bridge, leg2)
        self._bridge_destroy(consult_bridge)
        self._hangup(leg, 16)
        self._hangup(leg2, 16)
        self._chan_event("MusicOnHoldStop", caller)
        self._member_done(call)
        self.others.remove(dc)
        dc.timers.clear()
        # The caller and the target talk on; the recording keeps running.
        call.leg, call.state = target_leg, "transferred"
        for t in call.timers:
            t.cancel()
        call.timers.clear()
        talk = float(xfer.get("talk", 60))
        call.timers.append(self.after(talk, self._end_transferred, call, target_leg, dc.b_iface))

    def _end_transferred(self, call: Call, target_leg: Channel, target_iface: str) -> None:
        b = call.bridge
        if call.state != "transferred" or b is None:
            return
        for t in call.timers:
            t.cancel()
        self._chan_event("HangupRequest", call.caller, [("Cause", "16")])
        self._bridge_leave(b, call.caller)
        self._chan_event("SoftHangupRequest", target_leg, [("Cause", "16")])
        self._bridge_destroy(b)
        self._stop_recording(call)
        self._hangup(call.caller, 16)
        self._hangup(target_leg, 16)
        call.state = "done"
        self.calls.pop(call.caller.uniqueid, None)
        self._device(target_iface, NOT_INUSE)

    @_outside
    def redirect(self, name: str, context: str, exten: str) -> bool:
        """Redirect action.  A queue caller is pulled out of wherever they are
        (waiting: QueueCallerLeave only; talking: the agent's part ends with
        AgentComplete Reason=transfer) and lands at context/exten, which may
        be another queue; elsewhere they hear a prompt, then hang up."""
        ch = self.channels.get(name)
        if ch is None:
            return False
        call = self.calls.get(ch.uniqueid)
        if call is None:
            agent_call = next((c for c in self.calls.values() if c.leg is ch and c.state == "talking"), None)
            if agent_call is not None:
                self._end_talk(agent_call, "agent")  # the agent's leg leaves; the queue bridge ends
            else:
                self._newexten(ch, "Playback", "custom/redirected", context=context, exten=exten)
            return True
        if call.state == "waiting":
            for ring in list(call.rings.values()):
                self._cancel_ring(call, ring, "CANCEL", 16)
            self._leave(call)
            self._chan_event("MusicOnHoldStop", ch)
        elif call.state == "talking":
            if call.on_hold:
                self.hold(call, False)
            self._handoff(call)
        elif call.state == "transferred" and call.leg is not None and call.bridge is not None:
            target = call.leg
            self._bridge_leave(call.bridge, ch)
            self._chan_event("SoftHangupRequest", target, [("Cause", "16")])
            self._bridge_destroy(call.bridge)
            self._hangup(target, 16)
            self._device(target.name.rsplit("-", 1)[0], NOT_INUSE)
        for t in call.timers:
            t.cancel()
        call.timers.clear()
        call.leg = call.bridge = call.member = None
        if exten in self.queues:
            self._continue_after_transfer(call, exten, {})
        else:
            call.state = "ivr"
            self._newexten(ch, "Playback", "custom/redirected", context=context, exten=exten)
            call.timers.append(self.after(call.plan["after_timeout"], self._caller_gone, call))
        return True

    # -- outbound (Originate) and direct calls ----------------------------------------

    @_outside
    def originate(
        self,
        channel: str,
        *,
        exten: str = "",
        context: str = "from-internal",
        application: str = "",
        data: str = "",
        callerid: str = "",
        action_id: str = "",
        talk: float | None = None,
        timeout: float = 30.0,
    ) -> None:
        """Originate: ring `channel` (the agent's phone) first, then when it
        answers run the extension (dial the callee) or the application
        (e.g. ChanSpy).  OriginateResponse follows the first leg's answer,
        or reports Failure (Reason 3) when nobody picks up within `timeout`."""
        iface = channel
        p = self.phone(iface)
        num, name = _split_callerid(callerid)
        a = self.new_channel(iface, num or iface.split("/")[-1], name, context=context, exten=exten or "s")
        self._device(iface, RINGING)
        self._newstate(a, 5)
        after = max(0.5, p.answer_after)
        if (p.miss_prob and self.rng.random() < p.miss_prob) or after >= timeout:
            self.after(timeout, self._originate_failed, a, iface, exten, context, application, data, action_id)
            return
        self.after(after, self._originate_answered, a, iface, exten, context, application, data, action_id, talk)

    def _originate_failed(self, a: Channel, iface: str, exten: str, context: str, application: str, data: str, action_id: str) -> None:
        self._hangup(a, 19)
        self._device(iface, NOT_INUSE)
        self.emit(
            "OriginateResponse",
            "call",
            ([("ActionID", action_id)] if action_id else [])
            + [("Response", "Failure"), ("Channel", iface), ("Context", context), ("Exten", exten), ("Application", application),
               ("Data", data), ("Reason", "3"), ("Uniqueid", "<null>"), ("CallerIDNum", unknown(a.cid_num)),
               ("CallerIDName", unknown(a.cid_name))],
        )  # fmt: skip

    def _originate_answered(
        self, a: Channel, iface: str, exten: str, context: str, application: str, data: str, action_id: str, talk: float | None
    ) -> None:
        if not a.alive:
            return
        self._newstate(a, 6)
        self._device(iface, INUSE)
        self.emit(
            "OriginateResponse",
            "call",
            ([("ActionID", action_id)] if action_id else [])
            + [
                ("Response", "Success"),
                ("Channel", a.name),
                ("Context", context),
                ("Exten", exten),
                ("Application", application),
                ("Data", data),
                ("Reason", "4"),
                ("Uniqueid", a.uniqueid),
                ("CallerIDNum", unknown(a.cid_num)),
                ("CallerIDName", unknown(a.cid_name)),
            ],
        )
        if application:
            self._newexten(a, application, data)
            if application.lower() == "chanspy":
                spyee = next((c for c in self.channels.values() if c.name.startswith(data.split(",")[0]) and c is not a), None)
                if spyee is not None:
                    self.emit("ChanSpyStart", "call", a.snapshot("Spyer") + spyee.snapshot("Spyee"))
            # The application holds the channel until someone hangs up.
            DirectCall(self, a, "", talk=talk, a_iface=iface)
            return
        self._newexten(a, "Dial", f"PJSIP/{exten}@trunk", context=context, exten=exten)
        talk = talk if talk is not None else self.phone(iface).talk_s
        DirectCall(self, a, f"PJSIP/trunk/{exten}", talk=talk, answer_after=self.rng.uniform(3, 12), a_iface=iface)

    def channel_list(self) -> list[Channel]:
        return sorted(self.channels.values(), key=lambda c: c.created)

    # -- recordings -----------------------------------------------------------------

    def _start_recording(self, call: Call, file: str = "", channel: Channel | None = None) -> None:
        """MixMonitor on the caller's channel: <dir>/YYYY/MM/DD/<queue>-<uniqueid>.wav,
        or `file` (relative to the recordings directory, as Asterisk's monitor dir)."""
        from datetime import UTC, datetime

        assert self.recordings_dir is not None
        day = datetime.fromtimestamp(self.now, UTC).strftime("%Y/%m/%d")
        path = self.recordings_dir / (file or f"{day}/{call.queue}-{call.caller.uniqueid}.wav")
        ch = channel or call.caller
        call.recording = Recording(channel=ch, path=path, started=self.now)
        self._varset(ch, "MIXMONITOR_FILENAME", str(path))
        self._chan_event("MixMonitorStart", ch)

    @_outside
    def start_mixmonitor(self, name: str, file: str = "") -> bool:
        """MixMonitor action on a queue call's channel (or any channel)."""
        ch = self.channels.get(name)
        if ch is None:
            return False
        call = next((c for c in self.calls.values() if ch in (c.caller, c.leg)), None)
        if call is None or call.recording is not None or self.recordings_dir is None:
            # Not a call we synthesise audio for (or already recorded): events only.
            path = Path(file) if file else Path(f"{ch.uniqueid}.wav")
            self._varset(ch, "MIXMONITOR_FILENAME", str(path))
            self._chan_event("MixMonitorStart", ch)
            return True
        self._start_recording(call, file, ch)
        return True

    @_outside
    def stop_mixmonitor(self, name: str) -> bool:
        ch = self.channels.get(name)
        if ch is None:
            return False
        call = next((c for c in self.calls.values() if ch in (c.caller, c.leg)), None)
        if call is not None and call.recording is not None:
            self._stop_recording(call)
        else:
            self._chan_event("MixMonitorStop", ch)
        return True

    @_outside
    def mute_mixmonitor(self, name: str, on: bool, direction: str = "both") -> bool:
        """MixMonitorMute: silence one or both lanes (e.g. a card number)."""
        ch = self.channels.get(name)
        call = next((c for c in self.calls.values() if ch is not None and ch in (c.caller, c.leg)), None)
        if ch is None or call is None or call.recording is None:
            return False
        rec = call.recording
        self._chan_event("MixMonitorMute", ch, [("Direction", direction), ("State", "1" if on else "0")])
        if on:
            rec.mutes.append([self.now, -1.0, direction])
        else:
            for m in rec.mutes:
                if m[1] == -1.0:
                    m[1] = self.now
        return True

    def _stop_recording(self, call: Call) -> None:
        rec = call.recording
        if rec is None:
            return
        call.recording = None
        self._chan_event("MixMonitorStop", rec.channel)
        rec.segments = [(s - rec.started, e - rec.started, "hold") for s, e in call.holds if s >= rec.started]
        for start, end, direction in rec.mutes:
            stop = self.now if end == -1.0 else end
            rec.segments.append((float(start) - rec.started, float(stop) - rec.started, f"mute-{direction}"))
        if self.wav_writer is not None:
            self.wav_writer(rec, self.now - rec.started)
            self.recordings_written.append(rec.path)

    # -- snapshots for QueueStatus / QueueSummary -----------------------------------------

    def queue_params(self, q: Queue) -> Fields:
        perf = 100.0 * q.completed_in_sl / q.completed if q.completed else 0.0
        total = q.completed + q.abandoned
        perf2 = 100.0 * (q.completed_in_sl + q.abandoned_in_sl) / total if total else 0.0
        return [
            ("Queue", q.name),
            ("Max", "0"),
            ("Strategy", q.strategy),
            ("Calls", str(len(q.entries))),
            ("Holdtime", str(int(q.holdtime))),
            ("TalkTime", str(int(q.talktime))),
            ("Completed", str(q.completed)),
            ("Abandoned", str(q.abandoned)),
            ("ServiceLevel", str(q.servicelevel)),
            ("ServicelevelPerf", f"{perf:.1f}"),
            ("ServicelevelPerf2", f"{perf2:.1f}"),
            ("Weight", str(q.weight)),
        ]

    def queue_member(self, m: Member) -> Fields:
        """A QueueStatus QueueMember block: the member event's fields, with
        app_queue's other names for two of them and no Ringinuse."""
        names = {"MemberName": "Name", "Interface": "Location"}
        return [(names.get(k, k), v) for k, v in self.member_block(m) if k != "Ringinuse"]

    def queue_entry(self, q: Queue, call: Call) -> Fields:
        ch = call.caller
        return [
            ("Queue", q.name),
            ("Position", str(q.entries.index(call) + 1)),
            ("Channel", ch.name),
            ("Uniqueid", ch.uniqueid),
            ("CallerIDNum", unknown(ch.cid_num)),
            ("CallerIDName", unknown(ch.cid_name)),
            ("ConnectedLineNum", unknown(ch.conn_num)),
            ("ConnectedLineName", unknown(ch.conn_name)),
            ("Wait", str(int(self.now - call.joined))),
            ("Priority", "0"),
        ]

    def queue_summary(self, q: Queue) -> Fields:
        logged = len(q.members)
        avail = sum(
            1 for m in q.members.values() if not m.paused and self.phone(m.interface).status in (NOT_INUSE, UNKNOWN)
        )
        longest = max((int(self.now - c.joined) for c in q.entries), default=0)
        return [
            ("Queue", q.name),
            ("LoggedIn", str(logged)),
            ("Available", str(avail)),
            ("Callers", str(len(q.entries))),
            ("HoldTime", str(int(q.holdtime))),
            ("TalkTime", str(int(q.talktime))),
            ("LongestHoldTime", str(longest)),
        ]


class DirectCall:
    """A plain two-party call outside app_queue: A (already up) dials B.
    Used for Originate, transfers to an extension and consultation calls."""

    def __init__(
        self,
        pbx: PBX,
        a: Channel,
        b_iface: str,
        *,
        talk: float | None,
        answer_after: float | None = None,
        on_answer: Callable[[DirectCall], None] | None = None,
        on_end: Callable[[DirectCall], None] | None = None,
        a_iface: str = "",
    ) -> None:
        self.pbx, self.a_leg, self.b_iface, self.a_iface, self.on_end = pbx, a, b_iface, a_iface, on_end
        self.b_leg: Channel | None = None
        self.bridge: Bridge | None = None
        self.timers: list[Timer] = []
        pbx.others.append(self)
        if not b_iface:  # A runs an application (ChanSpy), nobody is dialled
            if talk is not None:
                self.timers.append(pbx.after(talk, self.end))
            return
        trunk = b_iface.startswith("PJSIP/trunk/")
        tech = "PJSIP/trunk" if trunk else b_iface
        num = b_iface.rsplit("/", 1)[-1]
        b = pbx.new_channel(tech, num, "", linkedid=a.linkedid, conn_num=a.cid_num, conn_name=a.cid_name)
        self.b_leg = b
        pbx._dial("DialBegin", a, b, [("DialString", num if trunk else b_iface.split("/", 1)[1])])
        pbx._newstate(b, 5)
        pbx._dial("DialState", a, b, [("DialStatus", "RINGING")])
        if not trunk:
            pbx._device(b_iface, RINGING)
        after = answer_after if answer_after is not None else pbx.phone(b_iface).answer_after
        self.timers.append(pbx.after(float(after), self._answered, talk, on_answer, trunk))

    def _answered(self, talk: float | None, on_answer: Callable[[DirectCall], None] | None, trunk: bool) -> None:
        pbx, a, b = self.pbx, self.a_leg, self.b_leg
        assert b is not None
        if not trunk:
            pbx._device(self.b_iface, INUSE)
        pbx._newstate(b, 6)
        pbx._dial("DialEnd", a, b, [("DialStatus", "ANSWER"), ("Forward", "")])
        self.bridge = pbx._bridge_create()
        pbx._bridge_enter(self.bridge, a)
        pbx._bridge_enter(self.bridge, b)
        if on_answer is not None:
            on_answer(self)
        if talk is not None:
            self.timers.append(pbx.after(talk, self.end))

    @property
    def channels(self) -> list[Channel]:
        return [c for c in (self.a_leg, self.b_leg) if c is not None]

    def end(self) -> None:
        pbx = self.pbx
        if self not in pbx.others:
            return
        pbx.others.remove(self)
        for t in self.timers:
            t.cancel()
        a, b = self.a_leg, self.b_leg
        pbx._chan_event("HangupRequest", a, [("Cause", "16")])
        if self.bridge is not None:
            pbx._bridge_destroy(self.bridge)
        elif b is not None and b.alive:
            pbx._dial("DialEnd", a, b, [("DialStatus", "CANCEL"), ("Forward", "")])
        call = pbx.calls.pop(a.uniqueid, None)
        if call is not None:  # a queue caller transferred to an extension
            call.state = "done"
            pbx._stop_recording(call)
        pbx._hangup(a, 16)
        if b is not None:
            pbx._hangup(b, 16)
        if self.a_iface:
            pbx._device(self.a_iface, NOT_INUSE)
        if self.b_iface and not self.b_iface.startswith("PJSIP/trunk/"):
            pbx._device(self.b_iface, NOT_INUSE)
        if self.on_end is not None:
            self.on_end(self)


def _split_callerid(cid: str) -> tuple[str, str]:
    """'"张三" <8001>' -> ('8001', '张三')."""
    cid = cid.strip()
    if "<" in cid and cid.endswith(">"):
        name, _, num = cid[:-1].partition("<")
        return num.strip(), name.strip().strip('"')
    return cid, ""


def demo_queues() -> list[Queue]:
    """The demo centre's queues (names match callcenter.demo.DEMO_QUEUES)."""
    from callcenter.demo import DEMO_QUEUES, PBX_WRAPUPTIME_S

    strategy = {"repairs": "rrmemory", "complaints": "leastrecent", "enquiries": "rrmemory", "vip": "ringall", "fees": "fewestcalls"}
    weight = {"vip": 10, "complaints": 5}
    return [
        Queue(n, strategy=strategy.get(n, "rrmemory"), servicelevel=sl, wrapuptime=float(PBX_WRAPUPTIME_S), maxwait=300.0,
              weight=weight.get(n, 0), autopause="yes")  # fmt: skip
        for n, _zh, _en, sl, _wrap in DEMO_QUEUES
    ]
