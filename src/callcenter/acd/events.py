"""The ACD core's input language: typed, immutable domain events.

The AMI bridge (callcenter.ami) translates raw Asterisk events into these;
the live service adds the few that do not come from Asterisk (a disposition,
a routing decision, a callback request, a clock tick).  The core
(callcenter.acd.core) consumes nothing else, which is what lets a live feed
and a replayed capture produce identical numbers.

Conventions
- ``ts`` is epoch seconds taken from the event (AMI ``Timestamp`` header),
  never read from a clock inside the core.
- Durations are seconds (float).  The bridge converts AMI's units, e.g.
  AgentRingNoAnswer's RingTime, which Asterisk sends in milliseconds.
- ``uniqueid`` on queue and agent events is the *caller's* channel (the
  queue entry, queue_log's callid); ``dest_*`` is the member's leg.
- ``linkedid`` is the caller's Linkedid at the time of the event; it can
  change during a channel's life (attended transfer), see ami.md §2.2.
- Strings that Asterisk sends as ``<unknown>`` arrive as "".
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Event:
    ts: float


# --- the caller in a queue -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallerJoined(Event):
    """QueueCallerJoin."""

    queue: str
    uniqueid: str
    linkedid: str
    channel: str
    caller_number: str
    caller_name: str
    position: int
    count: int


@dataclass(frozen=True, slots=True)
class CallerLeft(Event):
    """QueueCallerLeave: sent on answer (before AgentConnected) and on every exit."""

    queue: str
    uniqueid: str
    linkedid: str
    position: int
    count: int


@dataclass(frozen=True, slots=True)
class CallerAbandoned(Event):
    """QueueCallerAbandon, as Asterisk sends it.

    Asterisk also sends this on a queue timeout, leavewhenempty, withdraw and
    the 'n' option; the core decides which it was (ami.md §3.3): a real
    abandon is followed by the caller's Hangup with no QUEUESTATUS VarSet.
    """

    queue: str
    uniqueid: str
    linkedid: str
    position: int
    original_position: int
    hold_time_s: float


# --- a member being offered / handling the call --------------------------------


@dataclass(frozen=True, slots=True)
class AgentCalled(Event):
    queue: str
    uniqueid: str
    linkedid: str
    interface: str
    member_name: str
    dest_uniqueid: str
    dest_channel: str
    caller_number: str
    caller_name: str


@dataclass(frozen=True, slots=True)
class AgentRingNoAnswer(Event):
    queue: str
    uniqueid: str
    linkedid: str
    interface: str
    member_name: str
    ring_time_s: float  # converted from AMI milliseconds


@dataclass(frozen=True, slots=True)
class AgentConnected(Event):
    queue: str
    uniqueid: str
    linkedid: str
    interface: str
    member_name: str
    dest_uniqueid: str
    dest_channel: str
    hold_time_s: float  # queue entry -> answer
    ring_time_s: float  # how long this member rang (AMI sends seconds here)


@dataclass(frozen=True, slots=True)
class AgentCompleted(Event):
    queue: str
    uniqueid: str
    linkedid: str
    interface: str
    member_name: str
    hold_time_s: float
    talk_time_s: float
    reason: str  # caller | agent | transfer


@dataclass(frozen=True, slots=True)
class AgentDumped(Event):
    """The member's leg hung up before being bridged; the caller stays queued."""

    queue: str
    uniqueid: str
    linkedid: str
    interface: str
    member_name: str




# --- queue membership -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberAdded(Event):
    queue: str
    interface: str
    member_name: str
    penalty: int
    paused: bool
    paused_reason: str
    status: int  # device state, see ami.md §3.1 member block
    membership: str = "dynamic"
    state_interface: str = ""  # the device whose state app_queue watches (a Local member's phone)


@dataclass(frozen=True, slots=True)
class MemberRemoved(Event):
    queue: str
    interface: str
    member_name: str


@dataclass(frozen=True, slots=True)
class MemberPaused(Event):
    """QueueMemberPause; ``paused`` False is an unpause."""

    queue: str
    interface: str
    member_name: str
    paused: bool
    reason: str


@dataclass(frozen=True, slots=True)
class MemberStatus(Event):
    queue: str
    interface: str
    member_name: str
    status: int  # 1 NOT_INUSE, 2 INUSE, 3 BUSY, 5 UNAVAILABLE, 6 RINGING, 7 RINGINUSE, 8 ONHOLD
    paused: bool
    paused_reason: str
    in_call: bool
    state_interface: str = ""


@dataclass(frozen=True, slots=True)
class OriginateResponded(Event):
    """OriginateResponse: how an Originate's first leg went.  A failure
    (the agent's phone did not answer a click-to-call) comes after that
    leg's Hangup, and names the interface, not the channel."""

    response: str  # Success | Failure
    reason: str  # 0 failed, 1 hung up, 3 ring timeout, 4 answered, 5 busy, 8 congestion
    interface: str
    context: str = ""
    exten: str = ""
    uniqueid: str = ""  # the Originate's ChannelId on a failure (manager.c fast_originate)


# --- channels and bridges (the call tracker's input) ------------------------------


@dataclass(frozen=True, slots=True)
class ChannelCreated(Event):
    """Newchannel.  ``context``/``exten`` are where the channel starts in the
    dialplan: an inbound trunk channel starts in the trunk's context with the
    DID as its extension."""

    uniqueid: str
    linkedid: str
    channel: str
    state: int
    caller_number: str = ""
    caller_name: str = ""
    connected_number: str = ""
    connected_name: str = ""
    context: str = ""
    exten: str = ""


@dataclass(frozen=True, slots=True)
class ChannelStateChanged(Event):
    """Newstate: 4 Ring (the caller hears ringback), 5 Ringing (a callee's
    phone rings), 6 Up (answered)."""

    uniqueid: str
    linkedid: str
    channel: str
    state: int
    caller_number: str = ""
    caller_name: str = ""
    connected_number: str = ""
    connected_name: str = ""


@dataclass(frozen=True, slots=True)
class CallerIdChanged(Event):
    """NewCallerid and NewConnectedLine: the snapshot's caller and connected
    line after the change (e.g. our dialplan sets CALLERID(name))."""

    uniqueid: str
    caller_number: str
    caller_name: str
    connected_number: str
    connected_name: str


@dataclass(frozen=True, slots=True)
class DialBegan(Event):
    """DialBegin.  ``uniqueid`` is "" when Originate dials the first leg:
    nobody is calling it, the PBX is."""

    uniqueid: str
    dest_uniqueid: str
    dest_channel: str
    dial_string: str = ""


@dataclass(frozen=True, slots=True)
class DialEnded(Event):
    """DialEnd: one dialled leg stops ringing (ANSWER, or why not)."""

    uniqueid: str
    dest_uniqueid: str
    dest_channel: str
    status: str  # ANSWER | BUSY | CANCEL | CHANUNAVAIL | CONGESTION | NOANSWER | ...
    forward: str = ""


@dataclass(frozen=True, slots=True)
class LocalBridged(Event):
    """LocalBridge: the two halves (;1 and ;2) of one Local channel."""

    one_uniqueid: str
    two_uniqueid: str
    context: str = ""
    exten: str = ""
    optimize: bool = True


# --- channels -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hangup(Event):
    uniqueid: str
    linkedid: str
    channel: str
    cause: int
    cause_txt: str


@dataclass(frozen=True, slots=True)
class Hold(Event):
    uniqueid: str
    linkedid: str
    channel: str


@dataclass(frozen=True, slots=True)
class Unhold(Event):
    uniqueid: str
    linkedid: str
    channel: str


@dataclass(frozen=True, slots=True)
class BridgeEntered(Event):
    bridge_id: str
    uniqueid: str
    linkedid: str
    channel: str
    swap_uniqueid: str = ""


@dataclass(frozen=True, slots=True)
class BridgeLeft(Event):
    bridge_id: str
    uniqueid: str
    linkedid: str
    channel: str


@dataclass(frozen=True, slots=True)
class BlindTransfer(Event):
    transferer_uniqueid: str
    transferer_channel: str
    transferee_uniqueid: str
    transferee_linkedid: str
    context: str
    extension: str
    result: str  # Success | Fail | Invalid | Not Permitted
    bridge_id: str = ""


@dataclass(frozen=True, slots=True)
class AttendedTransfer(Event):
    orig_transferer_uniqueid: str
    orig_transferer_channel: str
    second_transferer_uniqueid: str
    transferee_uniqueid: str
    transferee_linkedid: str
    target_uniqueid: str
    target_channel: str
    target_number: str
    dest_type: str  # Bridge | App | Link | Threeway | Fail
    result: str
    second_transferer_channel: str = ""
    dest_app: str = ""  # "Dial" for a blonde transfer (DestType App)
    exten: str = ""  # the extension the second transferer dialled
    dest_bridge_id: str = ""  # older Asterisk omits Transferee*/TransferTarget*: found from here
    orig_transferer_linkedid: str = ""
    target_exten: str = ""  # where the target's channel is in the dialplan (Atxfer: the number dialled)


@dataclass(frozen=True, slots=True)
class RecordingStarted(Event):
    """MixMonitorStart; the file name comes from VarSet MIXMONITOR_FILENAME."""

    uniqueid: str
    linkedid: str
    channel: str


@dataclass(frozen=True, slots=True)
class RecordingStopped(Event):
    uniqueid: str
    linkedid: str
    channel: str


@dataclass(frozen=True, slots=True)
class VarSet(Event):
    """Only the variables we act on pass the bridge's filter
    (QUEUESTATUS, QUEUE_PRIO, MIXMONITOR_FILENAME, CC_*)."""

    uniqueid: str
    linkedid: str
    channel: str
    variable: str
    value: str


@dataclass(frozen=True, slots=True)
class UserEvent(Event):
    uniqueid: str
    linkedid: str
    name: str
    fields: tuple[tuple[str, str], ...] = ()

    def get(self, key: str, default: str = "") -> str:
        k = key.lower()
        for name, value in self.fields:
            if name.lower() == k:
                return value
        return default


# --- resync: the current truth after every (re)connect ----------------------------


@dataclass(frozen=True, slots=True)
class MemberSnapshot:
    queue: str
    interface: str
    member_name: str
    penalty: int
    paused: bool
    paused_reason: str
    status: int
    in_call: bool
    calls_taken: int
    last_call: float  # epoch s, 0 if never
    login_time: float  # epoch s, 0 if unknown
    state_interface: str = ""


@dataclass(frozen=True, slots=True)
class EntrySnapshot:
    queue: str
    uniqueid: str
    channel: str
    caller_number: str
    caller_name: str
    position: int
    wait_s: float
    priority: int


@dataclass(frozen=True, slots=True)
class ChannelSnapshot:
    uniqueid: str
    linkedid: str
    channel: str
    state: int  # ChannelState: 4 Ring, 5 Ringing, 6 Up ...
    caller_number: str
    caller_name: str
    connected_number: str
    application: str
    bridge_id: str
    duration_s: float  # the channel's age (CoreShowChannel's Duration)
    application_data: str = ""  # "repairs,tc,,,300" for a caller in Queue()


@dataclass(frozen=True, slots=True)
class Resync(Event):
    """QueueStatus + CoreShowChannels, gathered by the bridge after it
    (re)authenticates.  The core reconciles its state to this."""

    members: tuple[MemberSnapshot, ...] = ()
    entries: tuple[EntrySnapshot, ...] = ()
    channels: tuple[ChannelSnapshot, ...] = ()
    queues: tuple[str, ...] = ()
    channels_listed: bool = False  # `channels` is every live channel (CoreShowChannels answered)


# --- events that do not come from Asterisk --------------------------------------


@dataclass(frozen=True, slots=True)
class PbxBooted(Event):
    """FullyBooted, which Asterisk sends every session at log-in: with its
    Uptime the core can tell a PBX that restarted while we were blind (its
    calls died with it, at about the last moment we heard from it) from a
    link that merely dropped."""

    uptime_s: int


@dataclass(frozen=True, slots=True)
class LinkLost(Event):
    """The bridge lost the AMI link (ts: wall clock).  Not for the core: the
    service notes where its blind window began, before the new session's
    first events arrive ahead of the Resync."""


@dataclass(frozen=True, slots=True)
class Tick(Event):
    """Advances the core's clock so timers (wrap-up limits, windows) run
    even when Asterisk is quiet.  The live runner sends one every second."""


@dataclass(frozen=True, slots=True)
class DispositionSubmitted(Event):
    """The agent finished wrap-up with a disposition code and note."""

    interface: str
    call_id: str
    code: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class RouteDecided(Event):
    """What /hooks/route decided for a caller, correlated by Uniqueid."""

    uniqueid: str
    queue: str
    priority: int
    reason: str
    customer_id: int | None = None
    customer_name: str = ""
    choices: tuple[str, ...] = ()
    details: tuple[tuple[str, str], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class CallbackRequested(Event):
    """The caller chose a callback instead of waiting (/hooks/callback):
    the call ends as callback_requested, not abandoned."""

    uniqueid: str
    queue: str
    number: str


# A disposition travels through Asterisk as a UserEvent (the service sends
# Action: UserEvent through the gateway; Asterisk broadcasts it back), so the
# capture a replay reads holds it exactly where the live core applied it.
DISPOSITION_EVENT = "CcDisposition"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\r", "").replace("\n", "\\n")


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append("\n" if text[i + 1] == "n" else text[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def disposition_fields(interface: str, call_id: str, code: str, note: str) -> dict[str, str]:
    """The headers of the AMI UserEvent action that carries a disposition
    (one line each: a note's line breaks are escaped)."""
    return {"UserEvent": DISPOSITION_EVENT, "Interface": interface, "CallId": call_id, "Code": code, "Note": _escape(note)}


def disposition_from(e: UserEvent) -> DispositionSubmitted:
    return DispositionSubmitted(e.ts, e.get("Interface"), e.get("CallId"), e.get("Code"), _unescape(e.get("Note")))


@dataclass(frozen=True, slots=True)
class QueueLogRow:
    """One row of Asterisk's realtime queue_log table (time in epoch s)."""

    id: int
    time: float
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QueueLogRows(Event):
    """queue_log rows of a window we could not see (backfill.py)."""

    rows: tuple[QueueLogRow, ...] = ()


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        CallerJoined,
        CallerLeft,
        CallerAbandoned,
        AgentCalled,
        AgentRingNoAnswer,
        AgentConnected,
        AgentCompleted,
        AgentDumped,
        DialEnded,
        ChannelCreated,
        ChannelStateChanged,
        CallerIdChanged,
        DialBegan,
        LocalBridged,
        OriginateResponded,
        MemberAdded,
        MemberRemoved,
        MemberPaused,
        MemberStatus,
        Hangup,
        Hold,
        Unhold,
        BridgeEntered,
        BridgeLeft,
        BlindTransfer,
        AttendedTransfer,
        RecordingStarted,
        RecordingStopped,
        VarSet,
        UserEvent,
        Resync,
        Tick,
        DispositionSubmitted,
        RouteDecided,
        CallbackRequested,
        QueueLogRows,
    )
}
