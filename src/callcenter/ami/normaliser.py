"""Raw AMI events -> the typed, immutable domain events of
callcenter.acd.events (that module is the contract).

The live bridge, ``callcenter replay`` and the ingest benchmark all go
through :class:`EventStream`, so a capture replayed offline yields exactly
what the live link would have delivered.

Order of work per frame, cheapest first: the event name is read from the
raw bytes and anything we do not use (Newexten, Newstate, most VarSets...,
typically 80-90% of a busy feed) is dropped before decoding.  Only the rest
is decoded and turned into an event.

Units and traps (ami.md §3): RingTime is milliseconds in AgentRingNoAnswer
but seconds in AgentConnect; QueueCallerAbandon also reports timeouts and
leave-empty (passed through, the core classifies); ``<unknown>`` caller id
becomes ""; Uniqueids stay strings.  Event time is the ``Timestamp`` header
(timestampevents=yes); without it, the receive time the caller passes in.
"""

from __future__ import annotations

from collections.abc import Callable

from callcenter.acd import events as ev
from callcenter.ami.parser import FrameSplitter, Problems, event_name, get, header_value, parse_headers

Headers = dict[str, str | list[str]]

# Variables whose VarSet we act on; CC_* are the ones our dialplan sets.
VARIABLES = frozenset({"QUEUESTATUS", "QUEUE_PRIO", "MIXMONITOR_FILENAME"})
VARIABLE_PREFIX = "CC_"


def _s(h: Headers, key: str) -> str:
    v = h.get(key)
    if v is None or v.__class__ is list:
        v = get(h, key)
    return "" if v == "<unknown>" else v  # type: ignore[return-value]


def _i(h: Headers, key: str) -> int:
    v = _s(h, key)
    return int(v) if v else 0


def _f(h: Headers, key: str) -> float:
    v = _s(h, key)
    return float(v) if v else 0.0


def _b(h: Headers, key: str) -> bool:
    v = _s(h, key).lower()
    return v in ("1", "true", "yes")


def wanted_variable(name: str) -> str | None:
    """The variable's name without inheritance underscores, if we use it."""
    bare = name.lstrip("_")
    if bare in VARIABLES or bare.startswith(VARIABLE_PREFIX):
        return bare
    return None


class Normaliser:
    """Header dicts -> domain events.  Stateless: every frame stands alone."""

    def __init__(self) -> None:
        self._build: dict[str, Callable[[Headers, float], ev.Event | None]] = {
            "QueueCallerJoin": self._caller_join,
            "QueueCallerLeave": self._caller_leave,
            "QueueCallerAbandon": self._caller_abandon,
            "AgentCalled": self._agent_called,
            "AgentRingNoAnswer": self._agent_rna,
            "AgentConnect": self._agent_connect,
            "AgentComplete": self._agent_complete,
            "AgentDump": self._agent_dump,
            "DialBegin": self._dial_begin,
            "DialEnd": self._dial_end,
            "Newchannel": self._new_channel,
            "Newstate": self._new_state,
            "NewCallerid": self._caller_id,
            "NewConnectedLine": self._caller_id,
            "LocalBridge": self._local_bridge,
            "OriginateResponse": self._originate_response,
            "QueueMemberAdded": self._member_added,
            "QueueMemberRemoved": self._member_removed,
            "QueueMemberPause": self._member_pause,
            "QueueMemberPaused": self._member_pause,  # Asterisk 11-13 name
            "QueueMemberStatus": self._member_status,
            "Hangup": self._hangup,
            "Hold": self._hold,
            "Unhold": self._unhold,
            "BlindTransfer": self._blind_transfer,
            "AttendedTransfer": self._attended_transfer,
            "BridgeEnter": self._bridge_enter,
            "BridgeLeave": self._bridge_leave,
            "MixMonitorStart": self._mixmonitor_start,
            "MixMonitorStop": self._mixmonitor_stop,
            "VarSet": self._varset,
            "UserEvent": self._user_event,
            "FullyBooted": self._fully_booted,
        }
        self.names = frozenset(self._build)
        self.wanted_bytes = frozenset(n.encode() for n in self._build)

    def __call__(self, h: Headers, fallback_ts: float) -> ev.Event | None:
        build = self._build.get(_s(h, "Event"))
        if build is None:
            return None
        stamp = h.get("Timestamp")
        ts = float(stamp) if stamp and stamp.__class__ is str else fallback_ts
        return build(h, ts)

    # --- caller in queue ---------------------------------------------------

    def _caller_join(self, h: Headers, ts: float) -> ev.Event:
        return ev.CallerJoined(
            ts, _s(h, "Queue"), _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "Channel"),
            _s(h, "CallerIDNum"), _s(h, "CallerIDName"), _i(h, "Position"), _i(h, "Count"),
        )  # fmt: skip

    def _caller_leave(self, h: Headers, ts: float) -> ev.Event:
        return ev.CallerLeft(ts, _s(h, "Queue"), _s(h, "Uniqueid"), _s(h, "Linkedid"), _i(h, "Position"), _i(h, "Count"))

    def _caller_abandon(self, h: Headers, ts: float) -> ev.Event:
        return ev.CallerAbandoned(
            ts, _s(h, "Queue"), _s(h, "Uniqueid"), _s(h, "Linkedid"), _i(h, "Position"),
            _i(h, "OriginalPosition"), _f(h, "HoldTime"),
        )  # fmt: skip

    # --- member legs ---------------------------------------------------------

    def _agent_called(self, h: Headers, ts: float) -> ev.Event:
        return ev.AgentCalled(
            ts, _s(h, "Queue"), _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "Interface"), _s(h, "MemberName"),
            _s(h, "DestUniqueid"), _s(h, "DestChannel"), _s(h, "CallerIDNum"), _s(h, "CallerIDName"),
        )  # fmt: skip

    def _agent_rna(self, h: Headers, ts: float) -> ev.Event:
        return ev.AgentRingNoAnswer(
            ts, _s(h, "Queue"), _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "Interface"), _s(h, "MemberName"),
            _f(h, "RingTime") / 1000.0,  # milliseconds here
        )  # fmt: skip

    def _agent_connect(self, h: Headers, ts: float) -> ev.Event:
        return ev.AgentConnected(
            ts, _s(h, "Queue"), _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "Interface"), _s(h, "MemberName"),
            _s(h, "DestUniqueid"), _s(h, "DestChannel"), _f(h, "HoldTime"), _f(h, "RingTime"),  # seconds here
        )  # fmt: skip

    def _agent_complete(self, h: Headers, ts: float) -> ev.Event:
        return ev.AgentCompleted(
            ts, _s(h, "Queue"), _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "Interface"), _s(h, "MemberName"),
            _f(h, "HoldTime"), _f(h, "TalkTime"), _s(h, "Reason"),
        )  # fmt: skip

    def _agent_dump(self, h: Headers, ts: float) -> ev.Event:
        return ev.AgentDumped(ts, _s(h, "Queue"), _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "Interface"), _s(h, "MemberName"))

    def _dial_begin(self, h: Headers, ts: float) -> ev.Event:
        return ev.DialBegan(ts, _s(h, "Uniqueid"), _s(h, "DestUniqueid"), _s(h, "DestChannel"), _s(h, "DialString"))

    def _dial_end(self, h: Headers, ts: float) -> ev.Event:
        return ev.DialEnded(ts, _s(h, "Uniqueid"), _s(h, "DestUniqueid"), _s(h, "DestChannel"), _s(h, "DialStatus"), _s(h, "Forward"))

    # --- channels ------------------------------------------------------------------

    def _new_channel(self, h: Headers, ts: float) -> ev.Event:
        return ev.ChannelCreated(
            ts, _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "Channel"), _i(h, "ChannelState"),
            _s(h, "CallerIDNum"), _s(h, "CallerIDName"), _s(h, "ConnectedLineNum"), _s(h, "ConnectedLineName"),
            _s(h, "Context"), _s(h, "Exten"),
        )  # fmt: skip

    def _new_state(self, h: Headers, ts: float) -> ev.Event:
        return ev.ChannelStateChanged(
            ts, _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "Channel"), _i(h, "ChannelState"),
            _s(h, "CallerIDNum"), _s(h, "CallerIDName"), _s(h, "ConnectedLineNum"), _s(h, "ConnectedLineName"),
        )  # fmt: skip

    def _caller_id(self, h: Headers, ts: float) -> ev.Event:
        return ev.CallerIdChanged(
            ts, _s(h, "Uniqueid"), _s(h, "CallerIDNum"), _s(h, "CallerIDName"), _s(h, "ConnectedLineNum"), _s(h, "ConnectedLineName"),
        )  # fmt: skip

    def _originate_response(self, h: Headers, ts: float) -> ev.Event:
        return ev.OriginateResponded(ts, _s(h, "Response"), _s(h, "Reason"), _s(h, "Channel"), _s(h, "Context"), _s(h, "Exten"), _s(h, "Uniqueid"))

    def _local_bridge(self, h: Headers, ts: float) -> ev.Event:
        return ev.LocalBridged(
            ts, _s(h, "LocalOneUniqueid"), _s(h, "LocalTwoUniqueid"), _s(h, "Context"), _s(h, "Exten"),
            _s(h, "LocalOptimization").lower() != "no",
        )  # fmt: skip

    # --- membership --------------------------------------------------------------

    def _member_added(self, h: Headers, ts: float) -> ev.Event:
        return ev.MemberAdded(
            ts, _s(h, "Queue"), _s(h, "Interface"), _s(h, "MemberName"), _i(h, "Penalty"), _b(h, "Paused"),
            _s(h, "PausedReason"), _i(h, "Status"), _s(h, "Membership") or "dynamic", _s(h, "StateInterface"),
        )  # fmt: skip

    def _member_removed(self, h: Headers, ts: float) -> ev.Event:
        return ev.MemberRemoved(ts, _s(h, "Queue"), _s(h, "Interface"), _s(h, "MemberName"))

    def _member_pause(self, h: Headers, ts: float) -> ev.Event:
        # Asterisk 16/17 also send the reason as "Reason"; 18+ only PausedReason.
        reason = _s(h, "PausedReason") or _s(h, "Reason")
        return ev.MemberPaused(ts, _s(h, "Queue"), _s(h, "Interface") or _s(h, "Location"), _s(h, "MemberName"), _b(h, "Paused"), reason)

    def _member_status(self, h: Headers, ts: float) -> ev.Event:
        return ev.MemberStatus(
            ts, _s(h, "Queue"), _s(h, "Interface") or _s(h, "Location"), _s(h, "MemberName"), _i(h, "Status"),
            _b(h, "Paused"), _s(h, "PausedReason"), _b(h, "InCall"), _s(h, "StateInterface"),
        )  # fmt: skip

    # --- channels ------------------------------------------------------------------

    def _hangup(self, h: Headers, ts: float) -> ev.Event:
        return ev.Hangup(ts, _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "Channel"), _i(h, "Cause"), _s(h, "Cause-txt"))

    def _fully_booted(self, h: Headers, ts: float) -> ev.Event:
        return ev.PbxBooted(ts, _i(h, "Uptime"))

    def _hold(self, h: Headers, ts: float) -> ev.Event:
        return ev.Hold(ts, _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "Channel"))

    def _unhold(self, h: Headers, ts: float) -> ev.Event:
        return ev.Unhold(ts, _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "Channel"))

    def _blind_transfer(self, h: Headers, ts: float) -> ev.Event:
        return ev.BlindTransfer(
            ts, _s(h, "TransfererUniqueid"), _s(h, "TransfererChannel"), _s(h, "TransfereeUniqueid"),
            _s(h, "TransfereeLinkedid"), _s(h, "Context"), _s(h, "Extension"), _s(h, "Result"), _s(h, "BridgeUniqueid"),
        )  # fmt: skip

    def _attended_transfer(self, h: Headers, ts: float) -> ev.Event:
        return ev.AttendedTransfer(
            ts, _s(h, "OrigTransfererUniqueid"), _s(h, "OrigTransfererChannel"), _s(h, "SecondTransfererUniqueid"),
            _s(h, "TransfereeUniqueid"), _s(h, "TransfereeLinkedid"), _s(h, "TransferTargetUniqueid"),
            _s(h, "TransferTargetChannel"), _s(h, "TransferTargetCallerIDNum"), _s(h, "DestType"), _s(h, "Result"),
            _s(h, "SecondTransfererChannel"), _s(h, "DestApp"), _s(h, "SecondTransfererExten") or _s(h, "OrigTransfererExten"),
            _s(h, "DestBridgeUniqueid"), _s(h, "OrigTransfererLinkedid"), _s(h, "TransferTargetExten"),
        )  # fmt: skip

    def _bridge_enter(self, h: Headers, ts: float) -> ev.Event:
        return ev.BridgeEntered(
            ts, _s(h, "BridgeUniqueid"), _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "Channel"), _s(h, "SwapUniqueid"),
        )  # fmt: skip

    def _bridge_leave(self, h: Headers, ts: float) -> ev.Event:
        return ev.BridgeLeft(ts, _s(h, "BridgeUniqueid"), _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "Channel"))

    def _mixmonitor_start(self, h: Headers, ts: float) -> ev.Event:
        return ev.RecordingStarted(ts, _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "Channel"))

    def _mixmonitor_stop(self, h: Headers, ts: float) -> ev.Event:
        return ev.RecordingStopped(ts, _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "Channel"))

    def _varset(self, h: Headers, ts: float) -> ev.Event | None:
        name = wanted_variable(_s(h, "Variable"))
        if name is None:
            return None
        return ev.VarSet(ts, _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "Channel"), name, _s(h, "Value"))

    def _user_event(self, h: Headers, ts: float) -> ev.Event:
        fields = []
        for k, v in h.items():
            if k in _NOT_USER_FIELDS:
                continue
            for one in v if isinstance(v, list) else (v,):
                fields.append((k, one))
        return ev.UserEvent(ts, _s(h, "Uniqueid"), _s(h, "Linkedid"), _s(h, "UserEvent"), tuple(fields))


# Headers Asterisk adds to every UserEvent (the channel snapshot and the
# optional stamps); what remains is what the dialplan passed.
_NOT_USER_FIELDS = frozenset(
    """Event Privilege UserEvent Timestamp SystemName SequenceNumber File Line Func Channel ChannelState
    ChannelStateDesc CallerIDNum CallerIDName ConnectedLineNum ConnectedLineName Language AccountCode Context
    Exten Priority Uniqueid Linkedid Tenantid""".split()
)


class EventStream:
    """Bytes from the wire -> domain events, in order.

    ``feed`` returns a list of domain events and, when ``replies`` is true,
    header dicts for frames that answer an action (Responses and events that
    carry an ActionID, e.g. QueueStatus' QueueMember list); the bridge hands
    those to panoramisk.  Anything that cannot be parsed or converted is
    counted in ``problems`` and skipped: it never raises.
    """

    def __init__(self, max_frame: int | None = None) -> None:
        self.problems = Problems()
        self.splitter = FrameSplitter(problems=self.problems) if max_frame is None else FrameSplitter(max_frame, self.problems)
        self.normalise = Normaliser()
        self.frames = 0  # complete frames seen
        self.ignored = 0  # events dropped unread: not used by the core
        self._wanted = self.normalise.wanted_bytes

    def feed(self, data: bytes, recv_ts: float, replies: bool = False) -> list[ev.Event | Headers]:
        out: list[ev.Event | Headers] = []
        frames = self.splitter.feed(data)
        if not frames:
            return out
        self.frames += len(frames)
        eol = self.splitter.eol
        wanted = self._wanted
        for frame in frames:
            name = event_name(frame)
            if name is not None and name not in wanted:
                if not (replies and b"ActionID:" in frame):
                    self.ignored += 1
                    continue
            elif name == b"VarSet":
                var = header_value(frame, b"Variable", eol)
                if var is None or wanted_variable(var.decode("utf-8", "replace")) is None:
                    self.ignored += 1
                    continue
            h = parse_headers(frame, eol, self.problems)
            if "Event" not in h:
                if "Response" in h:
                    if replies:
                        out.append(h)
                elif "Action" not in h and "action" not in h:  # captures hold what was sent too
                    self.problems.report("frame", repr(frame[:120]))
                continue
            if replies and "ActionID" in h:
                out.append(h)
                continue
            try:
                event = self.normalise(h, recv_ts)
            except Exception as exc:  # noqa: BLE001 - a bad value costs one event, never the stream
                self.problems.report("value", f"{get(h, 'Event')}: {type(exc).__name__}: {exc}")
                continue
            if event is not None:
                out.append(event)
        return out

    def event(self, h: Headers, recv_ts: float) -> ev.Event | None:
        """Normalise one already-parsed frame (an ActionID-tagged event that
        turned out not to answer anything of ours)."""
        try:
            return self.normalise(h, recv_ts)
        except Exception as exc:  # noqa: BLE001
            self.problems.report("value", f"{get(h, 'Event')}: {type(exc).__name__}: {exc}")
            return None
