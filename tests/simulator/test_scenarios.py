"""Each app_queue scenario emits the sequence of ami.md §3, with exact
timings from the script, consistent Uniqueid/Linkedid and snapshots."""

from __future__ import annotations

from callcenter.simulator.pbx import PBX, Queue
from callcenter.simulator.traffic import Script
from tests.simulator.conftest import Events

QUEUE = ("QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled", "AgentRingNoAnswer",
         "AgentConnect", "AgentComplete", "DialEnd", "QueueMemberPause", "BlindTransfer", "AttendedTransfer")  # fmt: skip


def login(pbx: PBX, *ifaces: str, queue: str = "repairs") -> None:
    for i, iface in enumerate(ifaces):
        pbx.add_member(queue, iface, f"坐席{i + 1}")
    pbx.advance(0)


def test_answered_call_full_order(pbx: PBX, events: Events) -> None:
    """The shipped dialplan's order: from-trunk, cc-route (CcRoute, QUEUE_PRIO,
    CALLERID(name)), cc-queue (MixMonitor BEFORE Queue), then app_queue."""
    login(pbx, "PJSIP/8001")
    events.clear()
    pbx.new_call("repairs", "13800138000", "张三", answer=[{"agent": "PJSIP/8001", "after": 3}], talk=30)
    pbx.run_until_idle()
    assert events.names() == [
        "Newchannel", "VarSet", "VarSet", "Newexten", "Newstate",  # from-trunk: CC_DNIS, CC_DIRECTION, Answer
        "VarSet", "UserEvent", "VarSet", "NewCallerid",  # cc-route: CC_QUEUE, CcRoute, QUEUE_PRIO, CALLERID(name)
        "VarSet", "VarSet", "VarSet", "Newexten", "VarSet", "MixMonitorStart",  # cc-queue + cc-record
        "Newexten", "QueueCallerJoin", "MusicOnHoldStart",
        "Newchannel", "QueueMemberStatus", "AgentCalled", "DialBegin", "Newstate", "DialState",
        "QueueMemberStatus", "Newstate", "DialEnd", "MusicOnHoldStop", *["VarSet"] * 14, "QueueCallerLeave", "AgentConnect",
        "BridgeCreate", "BridgeEnter", "BridgeEnter",
        "HangupRequest", "AgentComplete", "BridgeLeave", "SoftHangupRequest", "BridgeLeave", "BridgeDestroy",
        "Hangup", "QueueMemberStatus", "VarSet", "MixMonitorStop", "Hangup",
    ]  # fmt: skip
    caller = events.of("Newchannel")[0]
    uid = caller["Uniqueid"]
    # The carrier gives the number; the name is the routing hook's (NewCallerid before the join).
    assert caller["Linkedid"] == uid and caller["CallerIDName"] == "<unknown>" and caller["Channel"] == "PJSIP/carrier-00000001"
    assert (caller["Context"], caller["Exten"]) == ("from-trunk", "4008001234")
    assert events.of("QueueCallerJoin")[0]["CallerIDName"] == "张三" == events.of("NewCallerid")[0]["CallerIDName"]
    leg = events.of("Newchannel")[1]
    assert leg["Channel"] == "PJSIP/8001-00000002" and leg["Linkedid"] == uid and leg["Uniqueid"] != uid
    assert leg["Uniqueid"] == "1700000000.1" and uid == "1700000000.0"
    assert events.of("DialBegin")[0]["DialString"] == "PJSIP/8001"  # app_queue dials the member's interface
    record = [e for e in events.of("VarSet") if e["Variable"] == "MIXMONITOR_FILENAME"][0]
    assert record["Value"] == "/var/spool/asterisk/monitor/2023/11/14/repairs-1700000000.0.wav"
    connect = events.of("AgentConnect")[0]
    assert (connect["Uniqueid"], connect["DestUniqueid"], connect["HoldTime"], connect["RingTime"]) == (uid, leg["Uniqueid"], "3", "3")
    assert connect["Timestamp"] == "1700000003.000000" and connect["Interface"] == "PJSIP/8001"
    complete = events.of("AgentComplete")[0]
    assert (complete["HoldTime"], complete["TalkTime"], complete["Reason"]) == ("3", "30", "caller")
    assert events.of("HangupRequest")[0]["Channel"] == caller["Channel"]
    statuses = [(e["Status"], e["InCall"], e["CallsTaken"]) for e in events.of("QueueMemberStatus")]
    assert statuses == [("6", "0", "0"), ("2", "0", "0"), ("1", "0", "1")]
    join, leave = events.of("QueueCallerJoin")[0], events.of("QueueCallerLeave")[0]
    assert (join["Position"], join["Count"], leave["Position"], leave["Count"]) == ("1", "1", "1", "0")
    member_vars = [(e["Channel"][:10], e["Variable"]) for e in events.of("VarSet") if e["Variable"].startswith("MEMBER")]
    assert member_vars[0] == ("PJSIP/carr", "MEMBERINTERFACE") and member_vars[7] == ("PJSIP/8001", "MEMBERINTERFACE")
    # Queue(...,c) returns before the caller's channel goes, even when the caller hung up.
    assert events.of("VarSet")[-1]["Variable"] == "QUEUESTATUS" and events.of("VarSet")[-1]["Value"] == "CONTINUE"


def test_agent_hangs_up(pbx: PBX, events: Events) -> None:
    """The agent hangs up first: Queue(...,c) returns, QUEUESTATUS=CONTINUE,
    QueueResult, and MEMBERINTERFACE sends the caller to the survey."""
    login(pbx, "PJSIP/8001")
    pbx.new_call("repairs", "13800138000", answer=[{"agent": "PJSIP/8001", "after": 1}], talk=10, hangup="agent", survey=4)
    pbx.run_until_idle()
    assert events.of("AgentComplete")[0]["Reason"] == "agent"
    assert events.of("HangupRequest")[0]["Channel"].startswith("PJSIP/8001-")
    assert events.of("Newchannel")[0]["CallerIDName"] == "<unknown>"
    tail = events.names("AgentComplete", "BridgeLeave", "BridgeDestroy", "Hangup", "UserEvent", "Newexten")
    assert tail[-8:] == ["AgentComplete", "BridgeLeave", "BridgeLeave", "BridgeDestroy", "Hangup", "UserEvent", "Newexten", "Hangup"]
    result = events.of("UserEvent")[-1]
    assert (result["UserEvent"], result["Status"]) == ("QueueResult", "CONTINUE")
    survey = events.of("Newexten")[-1]
    assert (survey["Context"], survey["Application"]) == ("cc-survey", "Read")
    hangups = events.of("Hangup")
    assert float(hangups[-1]["Timestamp"]) - float(hangups[-2]["Timestamp"]) == 4  # the caller scores, then goes


def test_abandon_while_waiting(pbx: PBX, events: Events) -> None:
    login(pbx, "PJSIP/8001")
    pbx.pause("PJSIP/8001", True, "小休")  # joinempty=unavailable,invalid: a paused member still lets callers in
    events.clear()
    pbx.new_call("repairs", "13800138000", "张三", patience=11)
    pbx.run_until_idle()
    assert events.names()[-9:] == ["Newexten", "QueueCallerJoin", "MusicOnHoldStart", "HangupRequest", "QueueCallerAbandon",
                                   "QueueCallerLeave", "MusicOnHoldStop", "MixMonitorStop", "Hangup"]  # fmt: skip
    ab = events.of("QueueCallerAbandon")[0]
    assert (ab["Position"], ab["OriginalPosition"], ab["HoldTime"]) == ("1", "1", "11")
    assert "QUEUESTATUS" not in [e["Variable"] for e in events.of("VarSet")]


def test_an_empty_queue_refuses_the_caller(pbx: PBX, events: Events) -> None:
    """queues.conf joinempty = unavailable,invalid: nobody logged in, no join;
    Queue() returns at once with QUEUESTATUS=JOINEMPTY and a callback is offered."""
    pbx.new_call("repairs", "13800138000", after_timeout=5)
    pbx.run_until_idle()
    assert not events.of("QueueCallerJoin")
    assert [(e["Variable"], e["Value"]) for e in events.of("VarSet") if e["Variable"] == "QUEUESTATUS"] == [("QUEUESTATUS", "JOINEMPTY")]
    # QueueResult, then [cc-callback] registers the callback through its hook (UserEvent CcCallback).
    assert [(e["UserEvent"], e.get("Status")) for e in events.of("UserEvent")][-2:] == [("QueueResult", "JOINEMPTY"), ("CcCallback", "created")]
    assert events.of("Hangup")[0]["Timestamp"] == "1700000005.000000"


def test_abandon_while_agent_rings(pbx: PBX, events: Events) -> None:
    login(pbx, "PJSIP/8001")
    events.clear()
    pbx.new_call("repairs", "13800138000", patience=4, answer=[])
    pbx.run_until_idle()
    names = events.names(*QUEUE, "Hangup", "QueueMemberStatus")
    # wait_for_answer publishes CANCEL, then hangupcalls() does again (as in cacofonisk's queue_a_cancel)
    assert names == ["QueueCallerJoin", "QueueMemberStatus", "AgentCalled", "DialEnd", "DialEnd", "Hangup", "QueueMemberStatus",
                     "QueueCallerAbandon", "QueueCallerLeave", "Hangup"]  # fmt: skip
    assert [e["DialStatus"] for e in events.of("DialEnd")] == ["CANCEL", "CANCEL"]
    assert events.of("QueueMemberStatus")[-1]["Status"] == "1"


def test_queue_timeout_caller_survives(pbx: PBX, events: Events) -> None:
    login(pbx, "PJSIP/8001")
    pbx.pause("PJSIP/8001", True, "小休")
    events.clear()
    pbx.new_call("repairs", "13800138000", timeout=30, after_timeout=8)
    pbx.advance(30)
    names = events.names()
    # queue_exec's stop path: MOH stops before leave_queue, then QUEUESTATUS; [cc-queue] goes on.
    # Then [cc-callback]: Set(CC_CB_NUMBER), the hook (Set HASH(cb)=CURL), UserEvent CcCallback, Playback.
    start = names.index("QueueCallerAbandon")
    assert names[start:] == ["QueueCallerAbandon", "MusicOnHoldStop", "QueueCallerLeave", "VarSet", "UserEvent", "VarSet",
                             "Newexten", "VarSet", "Newexten", "Newexten", "UserEvent", "Newexten"]
    status = [e for e in events.of("VarSet") if e["Variable"] == "QUEUESTATUS"][0]
    assert status["Value"] == "TIMEOUT" and events.of("UserEvent")[-2]["Status"] == "TIMEOUT"
    assert (events.of("UserEvent")[-1]["UserEvent"], events.of("UserEvent")[-1]["Task"]) == ("CcCallback", "1")
    assert events.of("QueueCallerAbandon")[0]["HoldTime"] == "30"
    assert events.of("Newexten")[-1]["Context"] == "cc-callback"
    assert "Hangup" not in names
    pbx.run_until_idle()
    hang = events.of("Hangup")[0]
    assert hang["Timestamp"] == "1700000038.000000"


def test_rna_then_next_agent_with_autopause(events: Events) -> None:
    pbx = PBX(queues=[Queue("repairs", strategy="rrmemory", timeout=15, retry=5, autopause="yes")])
    pbx.sinks.append(events.msgs.append)
    login(pbx, "PJSIP/8001", "PJSIP/8002")
    events.clear()
    pbx.new_call("repairs", "13800138000", answer=[{"agent": "PJSIP/8002", "after": 2}], talk=20)
    pbx.run_until_idle()
    names = events.names(*QUEUE)
    # After the ring timeout: NOANSWER, then hangupcalls()' CANCEL (Asterisk 20.20.1 capture ring_no_answer_then_second).
    assert names == ["QueueCallerJoin", "AgentCalled", "AgentRingNoAnswer", "DialEnd", "DialEnd", "QueueMemberPause",
                     "AgentCalled", "DialEnd", "QueueCallerLeave", "AgentConnect", "AgentComplete"]  # fmt: skip
    rna = events.of("AgentRingNoAnswer")[0]
    assert rna["RingTime"] == "15000" and rna["Interface"] == "PJSIP/8001"
    assert events.of("DialEnd")[0]["DialStatus"] == "NOANSWER"
    pause = events.of("QueueMemberPause")[0]
    assert (pause["Interface"], pause["Paused"], pause["PausedReason"]) == ("PJSIP/8001", "1", "Auto-Pause")
    connect = events.of("AgentConnect")[0]
    assert (connect["Interface"], connect["HoldTime"], connect["RingTime"]) == ("PJSIP/8002", "22", "2")


def test_reject_rings_next_at_once(events: Events) -> None:
    pbx = PBX(queues=[Queue("repairs", strategy="linear")])
    pbx.sinks.append(events.msgs.append)
    login(pbx, "PJSIP/8001", "PJSIP/8002")
    pbx.new_call("repairs", "1", answer=[{"agent": "PJSIP/8001", "reject": True, "after": 2}, {"agent": "PJSIP/8002", "after": 1}], talk=5)
    pbx.run_until_idle()
    assert events.names("DialEnd", "AgentRingNoAnswer")[:2] == ["DialEnd", "AgentRingNoAnswer"]
    assert events.of("DialEnd")[0]["DialStatus"] == "BUSY"
    assert events.of("AgentConnect")[0]["HoldTime"] == "3"


def test_ringall_cancels_the_others(events: Events) -> None:
    pbx = PBX(queues=[Queue("vip", strategy="ringall")])
    pbx.sinks.append(events.msgs.append)
    login(pbx, "PJSIP/8001", "PJSIP/8002", "PJSIP/8003", queue="vip")
    pbx.new_call("vip", "1", answer=[{"agent": "PJSIP/8002", "after": 4}], talk=5)
    pbx.run_until_idle()
    assert [e["Interface"] for e in events.of("AgentCalled")] == ["PJSIP/8001", "PJSIP/8002", "PJSIP/8003"]
    assert [(e["DestChannel"][:10], e["DialStatus"]) for e in events.of("DialEnd")] == [
        ("PJSIP/8002", "ANSWER"), ("PJSIP/8001", "CANCEL"), ("PJSIP/8001", "CANCEL"), ("PJSIP/8003", "CANCEL"),
        ("PJSIP/8003", "CANCEL")]  # fmt: skip  (twice each, as captured on Asterisk 20.20.1: ringall)
    assert not events.of("AgentRingNoAnswer")
    assert {e["Cause"] for e in events.of("Hangup")[:2]} == {"26"}


def test_ringall_timeout_rings_everyone_out(events: Events) -> None:
    pbx = PBX(queues=[Queue("vip", strategy="ringall", timeout=10, retry=3)])
    pbx.sinks.append(events.msgs.append)
    login(pbx, "PJSIP/8001", "PJSIP/8002", queue="vip")
    pbx.new_call("vip", "1", answer=[{"agent": "PJSIP/8001", "after": 1}], talk=5)
    pbx.run_until_idle()
    # First cycle: 8001's answer is scheduled... it answers at 1 s, so one cycle only.
    assert events.of("AgentConnect")[0]["Interface"] == "PJSIP/8001"
    events.clear()
    pbx.new_call("vip", "2", answer=[], patience=25)
    pbx.run_until_idle()
    rna = events.of("AgentRingNoAnswer")
    assert [r["RingTime"] for r in rna] == ["10000", "10000", "10000", "10000"]
    assert events.of("AgentCalled")[2]["Timestamp"] == f"{float(events.of('AgentCalled')[0]['Timestamp']) + 13:.6f}"


def test_penalty_tiers_and_leastrecent() -> None:
    pbx = PBX(queues=[Queue("q", strategy="leastrecent")])
    ev = []
    pbx.sinks.append(ev.append)
    pbx.add_member("q", "PJSIP/8001", "a", penalty=1)
    pbx.add_member("q", "PJSIP/8002", "b", penalty=0)
    pbx.add_member("q", "PJSIP/8003", "c", penalty=0)
    pbx.advance(0)
    for n in range(3):
        pbx.new_call("q", str(n), talk=10, answer=[{"agent": a, "after": 1} for a in ("PJSIP/8001", "PJSIP/8002", "PJSIP/8003")])
        pbx.advance(60)
    called = [dict(m)["Interface"] for m in ev if m[0][1] == "AgentCalled"]
    assert called == ["PJSIP/8002", "PJSIP/8003", "PJSIP/8002"]  # penalty 1 never while a 0 is free


def test_positions_and_counts(pbx: PBX, events: Events) -> None:
    pbx.add_member("repairs", "PJSIP/8001", paused=True)
    for n in range(3):
        pbx.new_call("repairs", str(n), patience=10 + n)
    pbx.run_until_idle()
    assert [(e["Position"], e["Count"]) for e in events.of("QueueCallerJoin")] == [("1", "1"), ("2", "2"), ("3", "3")]
    assert [(e["Position"], e["Count"]) for e in events.of("QueueCallerLeave")] == [("1", "2"), ("1", "1"), ("1", "0")]
    assert [e["OriginalPosition"] for e in events.of("QueueCallerAbandon")] == ["1", "2", "3"]


def test_hold_and_unhold(pbx: PBX, events: Events) -> None:
    login(pbx, "PJSIP/8001")
    pbx.new_call("repairs", "1", answer=[{"agent": "PJSIP/8001", "after": 1}], talk=40, hold=[[10, 5]])
    pbx.run_until_idle()
    hold, unhold = events.of("Hold")[0], events.of("Unhold")[0]
    assert hold["Channel"].startswith("PJSIP/8001-") and hold["MusicClass"] == "default"
    assert float(unhold["Timestamp"]) - float(hold["Timestamp"]) == 5
    moh = [e for e in events.of("MusicOnHoldStart") if e["Channel"].startswith("PJSIP/carrier")]
    assert len(moh) == 2  # waiting, then on hold
    assert events.of("AgentComplete")[0]["TalkTime"] == "40"


def test_blind_transfer_to_another_queue(pbx: PBX, events: Events) -> None:
    login(pbx, "PJSIP/8001")
    login(pbx, "PJSIP/8002", queue="complaints")
    events.clear()
    pbx.new_call("repairs", "1", "张三", answer=[{"agent": "PJSIP/8001", "after": 2}],
                 transfer={"type": "blind", "at": 20, "to": "complaints", "talk": 30,
                           "answer": [{"agent": "PJSIP/8002", "after": 3}]})  # fmt: skip
    pbx.run_until_idle()
    names = events.names(*QUEUE)
    assert names == ["QueueCallerJoin", "AgentCalled", "DialEnd", "QueueCallerLeave", "AgentConnect", "BlindTransfer",
                     "AgentComplete", "QueueCallerJoin", "AgentCalled", "DialEnd", "QueueCallerLeave", "AgentConnect",
                     "AgentComplete"]  # fmt: skip
    first, second = events.of("AgentComplete")
    assert (first["Reason"], first["TalkTime"], first["Queue"]) == ("transfer", "20", "repairs")
    assert (second["Reason"], second["TalkTime"], second["Queue"]) == ("caller", "30", "complaints")
    joins = events.of("QueueCallerJoin")
    assert joins[0]["Uniqueid"] == joins[1]["Uniqueid"] and joins[1]["Queue"] == "complaints"
    bt = events.of("BlindTransfer")[0]
    assert bt["TransfererChannel"].startswith("PJSIP/8001-") and bt["TransfereeCallerIDName"] == "张三"
    assert bt["Extension"] == "complaints" and bt["Result"] == "Success" and bt["BridgeUniqueid"]


def test_attended_transfer_swaps_target_into_caller_bridge(pbx: PBX, events: Events) -> None:
    login(pbx, "PJSIP/8001")
    pbx.new_call("repairs", "1", answer=[{"agent": "PJSIP/8001", "after": 2}],
                 transfer={"type": "attended", "at": 15, "to": "8009", "consult": 10, "answer_after": 2, "talk": 30})  # fmt: skip
    pbx.run_until_idle()
    caller_uid = events.of("Newchannel")[0]["Uniqueid"]
    at = events.of("AttendedTransfer")[0]
    assert at["OrigTransfererChannel"].startswith("PJSIP/8001-") and at["SecondTransfererChannel"].startswith("PJSIP/8001-")
    assert at["OrigTransfererUniqueid"] != at["SecondTransfererUniqueid"]
    assert at["SecondTransfererLinkedid"] == at["SecondTransfererUniqueid"]  # the consult call is a new call
    assert at["TransferTargetChannel"].startswith("PJSIP/8009-") and at["DestType"] == "Bridge"
    assert at["DestBridgeUniqueid"] == at["OrigBridgeUniqueid"]
    complete = events.of("AgentComplete")[0]
    assert complete["Reason"] == "transfer" and complete["TalkTime"] == "27"  # 15 s + 2 s ring + 10 s consult
    swap = next(e for e in events.of("BridgeEnter") if e.get("SwapUniqueid"))
    assert swap["SwapUniqueid"] == at["OrigTransfererUniqueid"] and swap["Linkedid"] == caller_uid
    names = events.names()
    assert names.index("Hold") < names.index("AttendedTransfer") < names.index("MixMonitorStop") if "MixMonitorStop" in names else True
    last = events.of("Hangup")[-2:]
    assert {h["Channel"][:10] for h in last} == {"PJSIP/carr", "PJSIP/8009"}


def test_pause_and_unpause_with_reason(pbx: PBX, events: Events) -> None:
    pbx.add_member("repairs", "PJSIP/8001", "王静")
    pbx.add_member("enquiries", "PJSIP/8001", "王静")
    events.clear()
    pbx.pause("PJSIP/8001", True, "就餐")
    pbx.pause("PJSIP/8001", False)
    ev = events.of("QueueMemberPause")
    assert [(e["Queue"], e["Paused"], e["PausedReason"]) for e in ev] == [
        ("repairs", "1", "就餐"), ("enquiries", "1", "就餐"), ("repairs", "0", ""), ("enquiries", "0", "")]  # fmt: skip
    assert "Reason" not in ev[0]  # 18+: only PausedReason


def test_paused_member_is_not_rung(pbx: PBX, events: Events) -> None:
    login(pbx, "PJSIP/8001")
    pbx.pause("PJSIP/8001", True, "小休")
    pbx.new_call("repairs", "1", answer=[{"agent": "PJSIP/8001", "after": 1}], talk=5)
    pbx.advance(30)
    assert not events.of("AgentCalled")
    pbx.pause("PJSIP/8001", False)
    pbx.run_until_idle()
    assert events.of("AgentConnect")[0]["HoldTime"] == "31"


def test_wrapuptime_delays_next_call(events: Events) -> None:
    pbx = PBX(queues=[Queue("q", wrapuptime=30)])
    pbx.sinks.append(events.msgs.append)
    login(pbx, "PJSIP/8001", queue="q")
    ans = [{"agent": "PJSIP/8001", "after": 1}]
    pbx.new_call("q", "1", answer=ans, talk=10)
    pbx.new_call("q", "2", answer=[dict(a) for a in ans], talk=10)
    pbx.run_until_idle()
    first, second = events.of("AgentConnect")
    assert first["HoldTime"] == "1" and second["HoldTime"] == str(1 + 10 + 30 + 1)
    assert events.of("QueueMemberAdded")[0]["Wrapuptime"] == "30"


def test_members_added_and_removed_while_ringing(pbx: PBX, events: Events) -> None:
    login(pbx, "PJSIP/8001")
    pbx.new_call("repairs", "1", answer=[], patience=60)
    pbx.advance(3)
    pbx.remove_member("repairs", "PJSIP/8001")
    pbx.advance(1)
    assert events.names("DialEnd", "QueueMemberRemoved") == ["DialEnd", "QueueMemberRemoved"]
    assert events.of("DialEnd")[0]["DialStatus"] == "CANCEL"


def test_script_drives_exact_timeline(pbx: PBX, events: Events) -> None:
    Script(pbx, [
        {"at": 0, "login": "PJSIP/8001", "queue": "repairs", "name": "王静"},
        {"at": 5, "queue": "repairs", "caller": "13800138000", "name": "张三",
         "answer": [{"agent": "PJSIP/8001", "after": 12}], "talk": 60},
        {"at": 10, "queue": "repairs", "caller": "13900139000", "patience": 3},
        {"at": 100, "pause": "PJSIP/8001", "reason": "培训"},
        {"at": 160, "unpause": "PJSIP/8001"},
        {"at": 200, "logout": "PJSIP/8001", "queue": "repairs"},
    ]).start()  # fmt: skip
    pbx.run_until_idle()
    connect = events.of("AgentConnect")[0]
    assert connect["HoldTime"] == "12" and connect["Timestamp"] == "1700000017.000000"
    ab = events.of("QueueCallerAbandon")[0]
    assert ab["HoldTime"] == "3" and ab["Position"] == "2" and ab["OriginalPosition"] == "2"
    assert [e["Timestamp"] for e in events.of("QueueMemberPause")] == ["1700000100.000000", "1700000160.000000"]
    assert events.of("QueueMemberRemoved")[0]["Timestamp"] == "1700000200.000000"


def test_systemname_prefixes_uniqueids() -> None:
    pbx = PBX(systemname="pbx1")
    ev = Events(pbx)
    pbx.new_call("repairs", "1", patience=1)
    pbx.run_until_idle()
    first = ev.msgs[0]
    assert [k for k, _ in first][:4] == ["Event", "Privilege", "Timestamp", "SystemName"]
    assert dict(first)["Uniqueid"] == "pbx1-1700000000.0" == dict(first)["Linkedid"]


def test_mixmonitor_mute_event(tmp_path) -> None:  # noqa: ANN001
    pbx = PBX(recordings_dir=tmp_path)
    ev = Events(pbx)
    login(pbx, "PJSIP/8001")
    pbx.new_call("repairs", "1", answer=[{"agent": "PJSIP/8001", "after": 1}], talk=20)
    pbx.advance(5)
    caller = next(n for n in pbx.channels if n.startswith("PJSIP/carrier"))
    assert pbx.mute_mixmonitor(caller, True)
    pbx.advance(3)
    pbx.mute_mixmonitor(caller, False)
    written = []
    pbx.wav_writer = lambda rec, secs: written.append((rec.segments, secs))
    pbx.run_until_idle()
    assert [(e["State"], e["Direction"]) for e in ev.of("MixMonitorMute")] == [("1", "both"), ("0", "both")]
    assert written == [([(4.0, 7.0, "mute-both")], 20.0)]


def test_originate_nobody_answers(pbx: PBX, events: Events) -> None:
    pbx.set_phone("PJSIP/8003", answer_after=40)
    pbx.originate("PJSIP/8003", exten="13800138000", action_id="o1", timeout=20)
    pbx.run_until_idle()
    resp = events.of("OriginateResponse")[0]
    assert (resp["Response"], resp["Reason"], resp["ActionID"]) == ("Failure", "3", "o1")
    assert resp["Timestamp"] == "1700000020.000000"
    assert events.of("Hangup")[0]["Channel"].startswith("PJSIP/8003-")
    assert not events.of("DialBegin")


def test_outside_actions_take_effect_at_once(pbx: PBX, events: Events) -> None:
    """No advance() needed for what an action sets off at the same instant."""
    pbx.add_member("repairs", "PJSIP/8001", "王静")
    pbx.new_call("repairs", "13800138000")
    assert events.names(*QUEUE) == ["QueueCallerJoin", "AgentCalled"]
    pbx.pause("PJSIP/8001", True, "小休")
    pbx.new_call("repairs", "13900139000")
    assert events.names(*QUEUE)[-1] == "QueueCallerJoin"


def test_hold_planned_after_a_transfer_does_not_follow_the_caller(pbx: PBX, events: Events) -> None:
    login(pbx, "PJSIP/8001")
    login(pbx, "PJSIP/8002", queue="complaints")
    pbx.new_call("repairs", "1", answer=[{"agent": "PJSIP/8001", "after": 1}], hold=[[30, 5]],
                 transfer={"type": "blind", "at": 10, "to": "complaints", "talk": 60,
                           "answer": [{"agent": "PJSIP/8002", "after": 1}]})  # fmt: skip
    pbx.run_until_idle()
    assert not events.of("Hold")
    assert events.of("AgentComplete")[-1]["TalkTime"] == "60"


def test_agent_dump_keeps_the_caller_queued(events: Events) -> None:
    pbx = PBX(queues=[Queue("q", strategy="linear")])
    pbx.sinks.append(events.msgs.append)
    login(pbx, "PJSIP/8001", "PJSIP/8002", queue="q")
    pbx.new_call("q", "1", answer=[{"agent": "PJSIP/8001", "after": 2, "dump": True}, {"agent": "PJSIP/8002", "after": 3}], talk=5)
    pbx.run_until_idle()
    assert events.names(*QUEUE, "AgentDump") == ["QueueCallerJoin", "AgentCalled", "AgentDump", "DialEnd", "AgentCalled",
                                                 "DialEnd", "QueueCallerLeave", "AgentConnect", "AgentComplete"]  # fmt: skip
    dump = events.of("AgentDump")[0]
    assert dump["Interface"] == "PJSIP/8001" and dump["DestChannelState"] == "6"
    assert events.of("AgentConnect")[0]["HoldTime"] == "10"  # 2 s ring, `retry` (5 s, wait_a_bit), 3 s ring


def test_mixmonitor_action_records_a_queue_without_auto_recording(tmp_path) -> None:  # noqa: ANN001
    pbx = PBX(queues=[Queue("q")], recordings_dir=tmp_path, record=False)
    ev = Events(pbx)
    written = []
    pbx.wav_writer = lambda rec, secs: written.append((rec.path, secs))
    login(pbx, "PJSIP/8001", queue="q")
    pbx.new_call("q", "1", answer=[{"agent": "PJSIP/8001", "after": 1}], talk=30)
    pbx.advance(5)
    assert not ev.of("MixMonitorStart")
    agent_leg = next(n for n in pbx.channels if n.startswith("PJSIP/8001"))
    pbx.start_mixmonitor(agent_leg, "qa/call-1.wav")
    pbx.run_until_idle()
    assert [e["Value"] for e in ev.of("VarSet") if e["Variable"] == "MIXMONITOR_FILENAME"] == [str(tmp_path.resolve() / "qa/call-1.wav")]
    assert written == [(tmp_path.resolve() / "qa/call-1.wav", 26.0)]


def test_a_late_agent_complete_has_no_channel_snapshots(pbx: PBX, events: Events) -> None:
    """As on a real Asterisk (20.20.1 captures member_busy, caller_priority):
    when app_queue's stasis thread runs after both channels are gone, the
    AgentComplete carries no Channel/Uniqueid/Dest* at all, and comes last."""
    pbx.late_agent_complete = 1.0
    login(pbx, "PJSIP/8001")
    pbx.new_call("repairs", "13800138000", answer=[{"agent": "PJSIP/8001", "after": 1}], talk=10)
    pbx.run_until_idle()
    complete = events.of("AgentComplete")[0]
    assert "Uniqueid" not in complete and "DestChannel" not in complete
    assert (complete["Interface"], complete["Reason"], complete["TalkTime"]) == ("PJSIP/8001", "caller", "10")
    assert events.names()[-1] == "AgentComplete"
