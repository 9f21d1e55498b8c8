"""The simulated PBX's state: channels, bridges, Local pairs, queues,
members, callers and recordings, with the names and codes Asterisk uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callcenter.simulator.clock import Timer

Fields = list[tuple[str, str]]
Sink = Callable[[Fields], None]

# Device states (include/asterisk/devicestate.h), as QueueMemberStatus sends them.
UNKNOWN, NOT_INUSE, INUSE, BUSY, INVALID, UNAVAILABLE, RINGING, RINGINUSE, ONHOLD = range(9)
STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
# Hangup causes (include/asterisk/causes.h) and their ast_cause2str text.
CAUSES = {0: "Unknown", 16: "Normal Clearing", 17: "User busy", 19: "User alerting, no answer", 21: "Call Rejected",
          26: "Answered elsewhere", 34: "Circuit/channel congestion"}  # fmt: skip
STRATEGIES = ("ringall", "rrmemory", "leastrecent", "fewestcalls", "linear", "random")
# queues.conf joinempty/leavewhenempty words (app_queue parse_empty_options).
EMPTY_WORDS = ("paused", "penalty", "inuse", "ringing", "invalid", "wrapup", "unavailable", "unknown")


def unknown(v: str) -> str:
    return v if v else "<unknown>"


def empty_conditions(value: str, joinempty: bool) -> frozenset[str]:
    """queues.conf `joinempty` / `leavewhenempty` as a set of conditions."""
    out: set[str] = set()
    for word in (w.strip().lower() for w in value.split(",") if w.strip()):
        if word in EMPTY_WORDS:
            out.add(word)
        elif word == "loose":
            out = {"penalty", "invalid"}
        elif word == "strict":
            out = {"penalty", "invalid", "paused", "unavailable"}
        elif word in ("yes", "true", "on", "1"):
            out = set() if joinempty else {"penalty", "invalid", "paused"}
        elif word in ("no", "false", "off", "0"):
            out = {"penalty", "invalid", "paused"} if joinempty else set()
        else:
            raise ValueError(f"unknown {'joinempty' if joinempty else 'leavewhenempty'} option {word!r}")
    return frozenset(out)


# --- channels and bridges -------------------------------------------------------

_SNAPSHOT_FIELDS = ("Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName", "ConnectedLineNum",
                    "ConnectedLineName", "Language", "AccountCode", "Context", "Exten", "Priority", "Uniqueid", "Linkedid")  # fmt: skip
_SNAPSHOT_KEYS: dict[str, tuple[str, ...]] = {}


def _snapshot_keys(prefix: str) -> tuple[str, ...]:
    keys = _SNAPSHOT_KEYS[prefix] = tuple(prefix + k for k in _SNAPSHOT_FIELDS)
    return keys


@dataclass(eq=False)
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    cid_num: str
    cid_name: str
    conn_num: str = ""
    conn_name: str = ""
    context: str = "agents"
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
    dying: bool = False  # its hangup has been requested
    device: str = ""  # the device it is a call of ("PJSIP/8001"), for device state
    local: LocalPair | None = None  # the Local pair it is a half of
    # What the channel does when its bridge ends without it hanging up:
    # None hangs it up; a function continues its dialplan.
    after_bridge: Callable[[Channel], None] | None = None
    dnid: str = ""
    tech: str = "PJSIP"
    # The application it runs returns before the Hangup (e.g. Queue() sets
    # QUEUESTATUS), and what the PBX forgets with it.
    before_hangup: Callable[[Channel], None] | None = None
    dialing: Channel | None = None  # the outgoing channel its Dial() rings
    vars: dict[str, str] = field(default_factory=dict)  # variables set by Originate (CC_AGENT...)
    on_gone: Callable[[Channel], None] | None = None

    def snapshot(self, prefix: str = "") -> Fields:
        """ast_manager_build_channel_state_string_prefix: the channel's fields, each key prefixed."""
        keys = _SNAPSHOT_KEYS.get(prefix) or _snapshot_keys(prefix)
        return list(zip(keys, (
            self.name, str(self.state), STATE_DESC.get(self.state, "Unknown"), self.cid_num or "<unknown>",
            self.cid_name or "<unknown>", self.conn_num or "<unknown>", self.conn_name or "<unknown>", self.language,
            self.accountcode, self.context, self.exten, str(self.priority), self.uniqueid, self.linkedid,
        )))  # fmt: skip


@dataclass(eq=False)
class Bridge:
    uniqueid: str
    channels: list[Channel] = field(default_factory=list)
    created: float = 0.0
    # app_queue's bridge: AST_BRIDGE_FLAG_SWAP_INHIBIT_FROM, so a Local
    # optimisation can only move a channel INTO it, never its caller out.
    swap_inhibit_from: bool = False

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


@dataclass(eq=False)
class LocalPair:
    """Local/<exten>@<context>[/n]: the ;1 half faces whoever dialled it, the
    ;2 half runs <exten>@<context>.  With /n it is never optimised away."""

    one: Channel
    two: Channel
    exten: str
    context: str
    optimize: bool
    # Which way an optimisation moves media when both halves are bridged:
    # "auto" follows bridge.c (try_swap_optimize_out), or "one"/"two" for
    # the half whose write happens first on a plain Dial bridge.
    first_writer: str = "two"


# --- people and queues -----------------------------------------------------------


@dataclass
class Phone:
    """How the person behind an interface behaves when it rings."""

    answer_after: float = 3.0  # seconds of ringing before they pick up
    answer_jitter: float = 0.0  # +- uniform jitter on answer_after
    miss_prob: float = 0.0  # chance they let it ring out
    talk_s: float = 120.0  # default conversation length for calls without a plan
    busy: bool = False  # declines every call (BUSY)
    status: int = NOT_INUSE  # kept for callers that set it; device state lives in PBX.devices


@dataclass(eq=False)
class Queue:
    name: str
    strategy: str = "rrmemory"
    timeout: float = 15.0  # member ring timeout
    retry: float = 5.0  # pause between ring cycles
    maxwait: float | None = None  # Queue() timeout: caller exits with QUEUESTATUS=TIMEOUT
    autopause: str = "no"  # no | yes | all
    autopausebusy: bool = False  # queues.conf autopausebusy: a BUSY also auto-pauses
    wrapuptime: float = 0.0
    servicelevel: int = 20
    weight: int = 0
    joinempty: str = ""  # queues.conf words; "" = always join
    leavewhenempty: str = ""
    keys: str = ""  # digits with an extension in the queue's context (queues.conf context=): ExitWithKey
    record: bool = True  # [cc-queue] records its callers (MixMonitor before Queue())
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
        self.join_conditions = empty_conditions(self.joinempty, True)
        self.leave_conditions = empty_conditions(self.leavewhenempty, False)


@dataclass(eq=False)
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
    state_interface: str = ""  # whose device state is the member's status (QueueAdd StateInterface)

    def __post_init__(self) -> None:
        if not self.state_interface:
            self.state_interface = self.interface


# --- calls ---------------------------------------------------------------------------


@dataclass(eq=False)
class Call:
    """One caller, from arrival to hangup (may visit several queues)."""

    caller: Channel
    queue: str
    plan: dict[str, Any]
    joined: float = 0.0
    position: int = 0
    original_position: int = 0
    priority: int = 0  # QUEUE_PRIO
    state: str = "new"  # waiting | talking | transferred | ivr | done
    rings: dict[str, Ring] = field(default_factory=dict)
    tried: set[str] = field(default_factory=set)
    retry_until: float = 0.0
    timers: list[Timer] = field(default_factory=list)
    member: Member | None = None
    leg: Channel | None = None  # the channel app_queue dialled (the phone, or a Local ;1)
    phone: Channel | None = None  # the agent's phone leg (= leg unless a Local member)
    bridge: Bridge | None = None
    connected: float = 0.0
    # app_queue's queue_stasis_data: the uniqueids it watches for the
    # AgentComplete; Local optimisation replaces them.
    caller_uid: str = ""
    member_uid: str = ""
    completing: bool = False  # app_queue still waits for the end of this connect
    recording: Recording | None = None
    on_hold: bool = False
    holds: list[tuple[float, float]] = field(default_factory=list)
    # MixMonitor's b option: audio only while the channel is bridged.  The
    # bridged stretches, absolute [start, end or -1]; the file is their sum.
    bridged: list[list[float]] = field(default_factory=list)

    def audio_seconds(self, now: float) -> float:
        return sum((now if end == -1.0 else end) - start for start, end in self.bridged)

    def audio_offset(self, t: float) -> float:
        """Where absolute time `t` falls in the file (gaps while not bridged removed)."""
        out = 0.0
        for start, end in self.bridged:
            stop = t if end == -1.0 else min(end, t)
            if stop > start:
                out += stop - start
        return out
    consult: Any = None  # the agent's consultation call during an attended transfer
    reactions_used: set[int] = field(default_factory=set)  # indexes of plan["answer"] steps spent


@dataclass(eq=False)
class Ring:
    member: Member
    leg: Channel  # what app_queue dialled: the phone, or the Local ;1
    started: float
    timers: list[Timer] = field(default_factory=list)
    phone: Channel | None = None  # a Local member's phone leg (dialled by ;2)


@dataclass(eq=False)
class Recording:
    channel: Channel
    path: Path
    started: float
    # (start, end, kind) in seconds from the start: "hold", or "mute-read" /
    # "mute-write" / "mute-both" (MixMonitorMute: the lane records silence).
    segments: list[tuple[float, float, str]] = field(default_factory=list)
    mutes: list[list[float | str]] = field(default_factory=list)  # [start, end or -1, direction], absolute
    holds: list[tuple[float, float]] = field(default_factory=list)
    # MixMonitor's b option: audio only while the channel is bridged.  The
    # bridged stretches, absolute [start, end or -1]; the file is their sum.
    bridged: list[list[float]] = field(default_factory=list)

    def audio_seconds(self, now: float) -> float:
        return sum((now if end == -1.0 else end) - start for start, end in self.bridged)

    def audio_offset(self, t: float) -> float:
        """Where absolute time `t` falls in the file (gaps while not bridged removed)."""
        out = 0.0
        for start, end in self.bridged:
            stop = t if end == -1.0 else min(end, t)
            if stop > start:
                out += stop - start
        return out
