"""Raw AMI text -> domain events: units, traps and filtering (ami.md §3)."""

from __future__ import annotations

from callcenter.acd import events as ev
from callcenter.ami.normaliser import EventStream
from callcenter.ami.parser import FrameSplitter, parse_headers

CALLER = "Channel: PJSIP/trunk-00000001\r\nCallerIDNum: 13800138000\r\nCallerIDName: 王先生\r\nUniqueid: 1700000000.10\r\nLinkedid: 1700000000.10\r\n"
DEST = "DestChannel: PJSIP/8001-00000002\r\nDestUniqueid: 1700000000.11\r\nDestLinkedid: 1700000000.10\r\n"


def frame(event: str, body: str = "", ts: str | None = "1700000100.250000") -> bytes:
    stamp = f"Timestamp: {ts}\r\n" if ts else ""
    return f"Event: {event}\r\nPrivilege: agent,all\r\n{stamp}{body}\r\n".encode()


def run(*frames: bytes, recv_ts: float = 42.0) -> list[ev.Event]:
    stream = EventStream()
    return [e for e in stream.feed(b"".join(frames), recv_ts) if isinstance(e, ev.Event)]


def test_ring_time_units_differ_between_rna_and_connect() -> None:
    agent = "Queue: support\r\nInterface: PJSIP/8001\r\nMemberName: 小李\r\n"
    rna, connect = run(
        frame("AgentRingNoAnswer", CALLER + DEST + agent + "RingTime: 15000\r\n"),
        frame("AgentConnect", CALLER + DEST + agent + "HoldTime: 21\r\nRingTime: 6\r\n"),
    )
    assert isinstance(rna, ev.AgentRingNoAnswer) and rna.ring_time_s == 15.0
    assert isinstance(connect, ev.AgentConnected) and (connect.ring_time_s, connect.hold_time_s) == (6.0, 21.0)
    assert connect.dest_uniqueid == "1700000000.11" and connect.member_name == "小李"


def test_abandon_passes_through_with_hold_time_and_timestamp() -> None:
    [ab] = run(frame("QueueCallerAbandon", CALLER + "Queue: support\r\nPosition: 2\r\nOriginalPosition: 3\r\nHoldTime: 47\r\n"))
    assert ab == ev.CallerAbandoned(1700000100.25, "support", "1700000000.10", "1700000000.10", 2, 3, 47.0)


def test_timestamp_missing_falls_back_to_receive_time() -> None:
    [hangup] = run(frame("Hangup", CALLER + "Cause: 16\r\nCause-txt: Normal Clearing\r\n", ts=None), recv_ts=123.5)
    assert hangup.ts == 123.5 and hangup.cause == 16 and hangup.cause_txt == "Normal Clearing"


def test_unknown_caller_id_becomes_empty_and_uniqueids_stay_strings() -> None:
    body = "Channel: PJSIP/trunk-1\r\nCallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\nUniqueid: 1700000000.10\r\nLinkedid: 1700000000.1\r\nQueue: q\r\nPosition: 1\r\nCount: 1\r\n"
    [joined] = run(frame("QueueCallerJoin", body))
    assert (joined.caller_number, joined.caller_name) == ("", "")
    assert joined.uniqueid == "1700000000.10" and joined.linkedid == "1700000000.1"


def test_pause_reason_from_either_header() -> None:
    block = "Queue: support\r\nMemberName: 小李\r\nInterface: PJSIP/8001\r\nPaused: 1\r\n"
    ast16, ast18, unpause = run(
        frame("QueueMemberPause", block + "PausedReason: \r\nReason: 开会\r\n"),  # 16/17
        frame("QueueMemberPause", block + "PausedReason: 开会\r\n"),
        frame("QueueMemberPause", block.replace("Paused: 1", "Paused: 0") + "PausedReason: \r\n"),
    )
    assert (ast16.reason, ast18.reason) == ("开会", "开会") and ast16.paused
    assert (unpause.paused, unpause.reason) == (False, "")


def test_member_events() -> None:
    block = "Queue: support\r\nMemberName: 小李\r\nInterface: PJSIP/8001\r\nStateInterface: PJSIP/8001\r\nMembership: dynamic\r\nPenalty: 3\r\nCallsTaken: 0\r\nInCall: 1\r\nStatus: 2\r\nPaused: 0\r\nPausedReason: \r\n"
    added, status, removed = run(frame("QueueMemberAdded", block), frame("QueueMemberStatus", block), frame("QueueMemberRemoved", block))
    assert added == ev.MemberAdded(1700000100.25, "support", "PJSIP/8001", "小李", 3, False, "", 2, "dynamic", "PJSIP/8001")
    assert status == ev.MemberStatus(1700000100.25, "support", "PJSIP/8001", "小李", 2, False, "", True, "PJSIP/8001")
    assert removed == ev.MemberRemoved(1700000100.25, "support", "PJSIP/8001", "小李")


def test_dials_and_channels_for_the_tracker() -> None:
    """Every DialBegin/DialEnd, Newchannel, Newstate and LocalBridge reaches
    the call tracker; Originate's first DialBegin has no calling channel."""
    other = "DestChannel: Local/8001@agents-0001;1\r\nDestUniqueid: 1700000000.99\r\n"
    events = run(
        frame("Newchannel", CALLER + "ChannelState: 0\r\nContext: from-trunk\r\nExten: 4008001234\r\n"),
        frame("Newstate", CALLER + "ChannelState: 6\r\n"),
        frame("DialBegin", "DestChannel: PJSIP/8001-1\r\nDestUniqueid: 1.2\r\nDialString: 8001\r\n"),
        frame("DialBegin", CALLER + other + "DialString: 8001@agents\r\n"),
        frame("DialEnd", CALLER + other + "DialStatus: ANSWER\r\nForward: \r\n"),
        frame("LocalBridge", "LocalOneUniqueid: 1.3\r\nLocalTwoUniqueid: 1.4\r\nContext: agents\r\nExten: 8001\r\nLocalOptimization: Yes\r\n"),
        frame("NewConnectedLine", CALLER + "ConnectedLineNum: 8001\r\n"),
    )
    created, state, originate, dial, end, local, cid = events
    assert isinstance(created, ev.ChannelCreated) and created.context == "from-trunk" and created.exten == "4008001234"
    assert isinstance(state, ev.ChannelStateChanged) and state.state == 6
    assert originate == ev.DialBegan(originate.ts, "", "1.2", "PJSIP/8001-1", "8001")
    assert dial.uniqueid == "1700000000.10" and dial.dest_uniqueid == "1700000000.99"
    assert end.status == "ANSWER" and end.dest_channel == "Local/8001@agents-0001;1"
    assert local == ev.LocalBridged(local.ts, "1.3", "1.4", "agents", "8001", True)
    assert isinstance(cid, ev.CallerIdChanged)


def test_varset_only_our_variables() -> None:
    events = run(
        frame("VarSet", CALLER + "Variable: QUEUESTATUS\r\nValue: TIMEOUT\r\n"),
        frame("VarSet", CALLER + "Variable: __CC_TICKET\r\nValue: 报修-001\r\n"),
        frame("VarSet", CALLER + "Variable: MIXMONITOR_FILENAME\r\nValue: /rec/a.wav\r\n"),
        frame("VarSet", CALLER + "Variable: RTPAUDIOQOS\r\nValue: ssrc=1\r\n"),
        frame("VarSet", CALLER + "Variable: BRIDGEPEER\r\nValue: x\r\n"),
    )
    assert [(e.variable, e.value) for e in events] == [
        ("QUEUESTATUS", "TIMEOUT"), ("CC_TICKET", "报修-001"), ("MIXMONITOR_FILENAME", "/rec/a.wav"),
    ]  # fmt: skip


def test_user_event_keeps_only_dialplan_fields() -> None:
    [ue] = run(frame("UserEvent", CALLER + "UserEvent: QueueResult\r\nStatus: TIMEOUT\r\nNote: 回访\r\n"))
    assert ue.name == "QueueResult" and ue.uniqueid == "1700000000.10"
    assert ue.fields == (("Status", "TIMEOUT"), ("Note", "回访"))
    assert ue.get("status") == "TIMEOUT"


def test_transfers_bridges_hold_and_recording() -> None:
    blind = "TransfererChannel: PJSIP/8001-2\r\nTransfererUniqueid: 1.11\r\nTransfereeChannel: PJSIP/trunk-1\r\nTransfereeUniqueid: 1.10\r\nTransfereeLinkedid: 1.10\r\nContext: from-internal\r\nExtension: 8005\r\nResult: Success\r\nIsExternal: No\r\n"
    att = "Result: Success\r\nOrigTransfererChannel: PJSIP/8001-2\r\nOrigTransfererUniqueid: 1.11\r\nSecondTransfererUniqueid: 1.12\r\nTransfereeUniqueid: 1.10\r\nTransfereeLinkedid: 1.10\r\nTransferTargetUniqueid: 1.13\r\nTransferTargetChannel: PJSIP/8005-3\r\nTransferTargetCallerIDNum: 8005\r\nDestType: Bridge\r\n"
    events = run(
        frame("BlindTransfer", blind),
        frame("AttendedTransfer", att),
        frame("BridgeEnter", CALLER + "BridgeUniqueid: b-1\r\nSwapUniqueid: 1.11\r\n"),
        frame("BridgeLeave", CALLER + "BridgeUniqueid: b-1\r\n"),
        frame("Hold", CALLER + "MusicClass: default\r\n"),
        frame("Unhold", CALLER),
        frame("MixMonitorStart", CALLER),
        frame("MixMonitorStop", CALLER),
        frame("AgentDump", CALLER + DEST + "Queue: support\r\nInterface: PJSIP/8001\r\nMemberName: 小李\r\n"),
        frame("AgentComplete", CALLER + DEST + "Queue: support\r\nInterface: PJSIP/8001\r\nMemberName: 小李\r\nHoldTime: 5\r\nTalkTime: 61\r\nReason: transfer\r\n"),
    )
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "BlindTransfer", "AttendedTransfer", "BridgeEntered", "BridgeLeft", "Hold", "Unhold",
        "RecordingStarted", "RecordingStopped", "AgentDumped", "AgentCompleted",
    ]  # fmt: skip
    assert (events[0].extension, events[0].transferee_uniqueid, events[0].result) == ("8005", "1.10", "Success")
    assert (events[1].target_number, events[1].dest_type, events[1].second_transferer_uniqueid) == ("8005", "Bridge", "1.12")
    assert (events[2].bridge_id, events[2].swap_uniqueid) == ("b-1", "1.11")
    assert (events[-1].talk_time_s, events[-1].reason) == (61.0, "transfer")


def test_noise_is_dropped_before_parsing() -> None:
    stream = EventStream()
    data = frame("Newexten", CALLER + "Application: Queue\r\n") + frame("RTCPSent", "SSRC: 1\r\n") + frame("DeviceStateChange", "Device: Queue:q\r\n")
    assert stream.feed(data, 0.0) == []
    assert (stream.frames, stream.ignored) == (3, 3)


def test_chinese_name_split_inside_a_character() -> None:
    data = frame("QueueCallerJoin", CALLER + "Queue: q\r\nPosition: 1\r\nCount: 1\r\n")
    cut = data.index("王".encode()) + 1  # in the middle of the 3-byte sequence
    stream = EventStream()
    assert stream.feed(data[:cut], 0.0) == []
    [joined] = stream.feed(data[cut:], 0.0)
    assert joined.caller_name == "王先生"
    assert stream.problems.counts == {}


def test_byte_at_a_time_equals_whole() -> None:
    data = b"Asterisk Call Manager/9.0.0\r\n" + b"".join(
        frame("QueueCallerJoin", CALLER + f"Queue: q\r\nPosition: {i}\r\nCount: {i}\r\n") for i in range(1, 4)
    )
    whole = EventStream().feed(data, 0.0)
    stream = EventStream()
    trickled = [e for i in range(len(data)) for e in stream.feed(data[i : i + 1], 0.0)]
    assert trickled == whole and len(whole) == 3
    assert stream.splitter.version == "9.0.0"


def test_lf_only_and_stray_blank_lines() -> None:
    splitter = FrameSplitter()
    frames = splitter.feed(b"Asterisk Call Manager/1.3\nResponse: Success\nMessage: ok\n\n\n\nEvent: Hangup\nUniqueid: 1.5\n\n")
    assert splitter.eol == b"\n" and splitter.version == "1.3"
    assert [parse_headers(f, splitter.eol) for f in frames] == [
        {"Response": "Success", "Message": "ok"},
        {"Event": "Hangup", "Uniqueid": "1.5"},
    ]


def test_repeated_headers_and_legacy_case() -> None:
    h = parse_headers(b"Event: Hangup\r\nUniqueID: 1.5\r\nChanVariable: A=1\r\nChanVariable: B=2\r\nEmpty:\r\n")
    assert h["ChanVariable"] == ["A=1", "B=2"] and h["Empty"] == ""
    [hangup] = run(b"Event: Hangup\r\nUniqueID: 1.5\r\nCause: 16\r\n\r\n")
    assert hangup.uniqueid == "1.5"


def test_panoramisk_1_4_loses_the_split_character_we_keep() -> None:
    """Why the bridge decodes on its own: 1.4 decodes each read with errors
    ignored, so a character cut between two reads vanishes."""
    from panoramisk.ami_protocol import AMIProtocol

    data = frame("QueueCallerJoin", CALLER + "Queue: q\r\nPosition: 1\r\nCount: 1\r\n")
    cut = data.index("王".encode()) + 1
    seen = []
    protocol = AMIProtocol()
    protocol.connection_made(None)
    protocol.factory = type("F", (), {"save_stream": None, "dispatch": staticmethod(seen.append)})()
    protocol.encoding = "utf8"
    protocol.data_received(data[:cut])
    protocol.data_received(data[cut:])
    assert seen[0]["CallerIDName"] == "先生"
    stream = EventStream()
    [joined] = stream.feed(data[:cut], 0.0) + stream.feed(data[cut:], 0.0)
    assert joined.caller_name == "王先生"
