"""Calls through the shipped dialplan beyond the plain queue call: Local
channel members (with and without /n), internal and outbound calls,
Originate outcomes, the after-hours Local call optimised both ways,
pickup, blonde transfer, caller priority; and every context and extension
the simulator runs exists in asterisk/extensions.conf."""

from __future__ import annotations

from callcenter.simulator.clock import VirtualClock
from callcenter.simulator.pbx import PBX, Queue
from tests import dialplan
from tests.simulator.conftest import Events

LOCAL_N = "Local/8006@agents/n"
LOCAL = "Local/8006@agents"


def local_call(events: Events, pbx: PBX, iface: str, hangup: str = "caller") -> None:
    pbx.add_member("repairs", iface, "刘洋", state_interface="PJSIP/8006")
    pbx.advance(0)
    events.clear()
    pbx.new_call("repairs", "13800138000", answer=[{"agent": iface, "after": 2}], talk=10, hangup=hangup, survey=3)
    pbx.run_until_idle()


def test_local_member_with_n_stays_in_the_call(pbx: PBX, events: Events) -> None:
    """Local/8006@agents/n: ;1 and ;2, LocalBridge (no optimisation), ;2 runs
    [agents] and dials the phone; app_queue only ever sees ;1."""
    local_call(events, pbx, LOCAL_N)
    names = events.names("Newchannel", "LocalBridge", "AgentCalled", "DialBegin", "AgentConnect", "LocalOptimizationBegin")
    assert names == ["Newchannel", "Newchannel", "Newchannel", "LocalBridge", "AgentCalled", "DialBegin", "Newchannel",
                     "DialBegin", "AgentConnect"]  # fmt: skip
    one, two, phone = (e["Channel"] for e in events.of("Newchannel")[1:])
    assert one == "Local/8006@agents-00000002;1" and two == "Local/8006@agents-00000002;2" and phone.startswith("PJSIP/8006-")
    lb = events.of("LocalBridge")[0]
    assert (lb["LocalOneChannel"], lb["LocalTwoChannel"], lb["Context"], lb["Exten"], lb["LocalOptimization"]) == (one, two, "agents", "8006", "No")
    first, second = events.of("DialBegin")
    assert (first["DestChannel"], first["DialString"]) == (one, LOCAL_N)
    assert (second["Channel"], second["DestChannel"], second["DialString"]) == (two, phone, "8006")
    assert events.of("AgentConnect")[0]["DestChannel"] == one
    assert events.of("AgentComplete")[0]["DestChannel"] == one and events.of("AgentComplete")[0]["Reason"] == "caller"
    # Two bridges for the whole call: the queue's (caller + ;1) and the pair's (;2 + phone).
    enters = [(e["BridgeUniqueid"], e["Channel"]) for e in events.of("BridgeEnter")]
    assert len({b for b, _ in enters}) == 2 and not any(e.get("SwapUniqueid") for e in events.of("BridgeEnter"))
    # The member's status follows the phone (StateInterface PJSIP/8006): ringing, in use, free.
    assert [e["Status"] for e in events.of("QueueMemberStatus")] == ["6", "2", "1"]


def test_local_member_optimised_into_the_queue_bridge(pbx: PBX, events: Events) -> None:
    """Local/8006@agents: once both halves are bridged the phone moves into
    the caller's (app_queue's) bridge, swapping ;1; app_queue then watches
    the phone, so the agent's hang-up is Reason=agent with the phone as Dest."""
    local_call(events, pbx, LOCAL, hangup="agent")
    one = events.of("Newchannel")[1]
    phone = events.of("Newchannel")[3]
    two = events.of("Newchannel")[2]
    begin, end = events.of("LocalOptimizationBegin")[0], events.of("LocalOptimizationEnd")[0]
    # DestUniqueId is always the ;2 half's (an Asterisk quirk the real captures show)
    assert begin["SourceChannel"] == phone["Channel"] and begin["DestUniqueId"] == two["Uniqueid"] and begin["Id"] == end["Id"]
    assert end["Success"] == "Yes" and events.of("LocalBridge")[0]["LocalOptimization"] == "Yes"
    names = events.names()
    i = names.index("LocalOptimizationBegin")
    # As captured on Asterisk 20.20.1 (local_optimise_agent_talks_first): the ;2 half is left in
    # the pair's bridge, its Dial() returns ([agents] hangs it up) and ;1 follows.
    assert names[i : i + 11] == ["LocalOptimizationBegin", "BridgeLeave", "BridgeLeave", "BridgeEnter", "LocalOptimizationEnd",
                                 "BridgeLeave", "BridgeDestroy", "SoftHangupRequest", "HangupRequest", "Hangup", "Hangup"]  # fmt: skip
    swap = next(e for e in events.of("BridgeEnter") if e.get("SwapUniqueid"))
    connect = events.of("AgentConnect")[0]
    assert swap["Channel"] == phone["Channel"] and swap["SwapUniqueid"] == one["Uniqueid"]
    assert swap["BridgeUniqueid"] == next(e["BridgeUniqueid"] for e in events.of("BridgeEnter") if e["Channel"] == connect["Channel"])
    complete = events.of("AgentComplete")[0]
    assert (complete["Reason"], complete["DestChannel"], complete["TalkTime"]) == ("agent", phone["Channel"], "10")
    assert [e["Status"] for e in events.of("QueueMemberStatus")] == ["6", "2", "1"]  # the phone, not the Local device


def test_local_member_without_a_state_interface_is_free_once_optimised(pbx: PBX, events: Events) -> None:
    """A Local interface's own device state (core_local.c local_devicestate):
    in use while a Local channel exists, free once it is optimised away,
    never ringing: why the gateway sends StateInterface for Local members."""
    pbx.add_member("repairs", LOCAL, "刘洋")
    pbx.advance(0)
    events.clear()
    pbx.new_call("repairs", "13800138000", answer=[{"agent": LOCAL, "after": 2}], talk=10)
    pbx.run_until_idle()
    statuses = [(e["Status"], e["Timestamp"][-9:-7]) for e in events.of("QueueMemberStatus")]
    assert statuses == [("2", "00"), ("1", "02")]


def test_internal_call_between_agents(pbx: PBX, events: Events) -> None:
    pbx.set_phone("PJSIP/8002", answer_after=3)
    pbx.dial("PJSIP/8001", "8002", talk=20)
    pbx.run_until_idle()
    a, b = events.of("Newchannel")
    assert (a["Channel"][:10], a["Context"], a["Exten"]) == ("PJSIP/8001", "agents", "8002")
    assert b["Linkedid"] == a["Uniqueid"]
    assert [(e["Variable"], e["Value"]) for e in events.of("VarSet")] == [("__CC_DIRECTION", "internal")]
    assert [e["DialStatus"] for e in events.of("DialEnd")] == ["ANSWER"]
    assert events.of("DialEnd")[0]["Timestamp"] == "1700000003.000000"
    assert not events.of("MixMonitorStart")  # internal calls are not recorded
    assert events.names()[-7:] == ["HangupRequest", "BridgeLeave", "SoftHangupRequest", "BridgeLeave", "BridgeDestroy", "Hangup", "Hangup"]


def outbound(pbx: PBX, **callee: object) -> None:
    pbx.set_phone("PJSIP/8001", answer_after=2)
    pbx.set_phone("PJSIP/13912345678@carrier", answer_after=5, **callee)
    pbx.originate("PJSIP/8001", exten="13912345678", context="agents", callerid='"13912345678" <13912345678>',
                  action_id="o1", variables={"CC_AGENT": "PJSIP/8001", "CC_CALLBACK_TASK": "42"}, talk=30)  # fmt: skip
    pbx.run_until_idle()


def test_click_to_call_answered_is_recorded_and_named(pbx: PBX, events: Events) -> None:
    """The agent's phone rings first; then [cc-outbound]: CC_DIRECTION,
    the recording, UserEvent CcOutbound (agent, number, callback task), Dial."""
    outbound(pbx)
    resp = events.of("OriginateResponse")[0]
    assert (resp["Response"], resp["Reason"], resp["ActionID"], resp["Timestamp"]) == ("Success", "4", "o1", "1700000002.000000")
    names = events.names()
    assert names.index("OriginateResponse") < names.index("MixMonitorStart") < names.index("UserEvent") < names.index("DialBegin")
    cc = events.of("UserEvent")[0]
    assert (cc["UserEvent"], cc["Agent"], cc["Number"], cc["Task"]) == ("CcOutbound", "PJSIP/8001", "13912345678", "42")
    assert cc["Recording"].endswith("-out-13912345678.wav") and cc["Uniqueid"] == resp["Uniqueid"]
    direction = [e["Value"] for e in events.of("VarSet") if e["Variable"] == "__CC_DIRECTION"]
    assert direction == ["outbound"]
    dial = events.of("DialBegin")[0]
    assert (dial["DestChannel"][:13], dial["DialString"]) == ("PJSIP/carrier", "13912345678@carrier")
    assert [e["DialStatus"] for e in events.of("DialEnd")] == ["ANSWER"] and events.of("DialEnd")[0]["Timestamp"] == "1700000007.000000"
    assert events.of("MixMonitorStop")[0]["Timestamp"] == "1700000037.000000"


def test_click_to_call_busy(pbx: PBX, events: Events) -> None:
    outbound(pbx, busy=True)
    end = events.of("DialEnd")[0]
    assert (end["DialStatus"], end["Timestamp"]) == ("BUSY", "1700000007.000000")
    assert [(e["Variable"], e["Value"]) for e in events.of("VarSet") if e["Variable"] == "DIALSTATUS"] == [("DIALSTATUS", "BUSY")]
    assert [e["Cause"] for e in events.of("Hangup")] == ["17", "16"]
    assert not events.of("BridgeEnter")


def test_click_to_call_no_answer(pbx: PBX, events: Events) -> None:
    outbound(pbx, miss_prob=1.0)
    end = events.of("DialEnd")[0]
    assert (end["DialStatus"], end["Timestamp"]) == ("NOANSWER", "1700000062.000000")  # Dial(...,60)
    assert [e["Value"] for e in events.of("VarSet") if e["Variable"] == "DIALSTATUS"] == ["NOANSWER"]


def test_click_to_call_the_agent_does_not_answer(pbx: PBX, events: Events) -> None:
    pbx.set_phone("PJSIP/8001", miss_prob=1.0)
    pbx.originate("PJSIP/8001", exten="13912345678", context="agents", action_id="o2", timeout=25)
    pbx.run_until_idle()
    resp = events.of("OriginateResponse")[0]
    assert (resp["Response"], resp["Reason"], resp["Timestamp"]) == ("Failure", "3", "1700000025.000000")
    assert not events.of("DialBegin") and events.of("Hangup")[0]["Cause"] == "19"
    pbx.set_phone("PJSIP/8001", miss_prob=0.0, busy=True)
    events.clear()
    pbx.originate("PJSIP/8001", exten="13912345678", context="agents", action_id="o3")
    pbx.run_until_idle()
    assert events.of("OriginateResponse")[0]["Reason"] == "5"


def test_after_hours_duty_call_optimised_both_ways(events: Events) -> None:
    for writer, moved, swapped in (("two", "PJSIP/8020", ";1"), ("one", "PJSIP/carrier", ";2")):
        pbx = PBX(clock=VirtualClock(), seed=1)
        ev = Events(pbx)
        pbx.set_phone("PJSIP/8020", answer_after=4)
        pbx.after_hours_call("13800138000", "8020", talk=20, first_writer=writer)
        pbx.run_until_idle()
        halves = {e["Channel"][-2:]: e["Uniqueid"] for e in ev.of("Newchannel") if e["Channel"].startswith("Local/")}
        swap = next(e for e in ev.of("BridgeEnter") if e.get("SwapUniqueid"))
        assert swap["Channel"].startswith(moved) and swap["SwapUniqueid"] == halves[swapped], writer
        begin = ev.of("LocalOptimizationBegin")[0]
        assert begin["SourceChannel"] == swap["Channel"] and begin["DestUniqueId"] == halves[";2"]
        assert [e["AppData"] for e in ev.of("Newexten") if e["Context"] == "cc-closed"] == ["Local/8020@cc-duty,45"]
        # Whoever moved, the caller and the duty phone end up in one bridge and hang up.
        assert [e["Channel"][:10] for e in ev.of("Hangup")][-2:] == ["PJSIP/8020", "PJSIP/carr"]


def test_pickup_of_a_queue_ring(pbx: PBX, events: Events) -> None:
    """*8 while app_queue rings a member: the picker becomes the answered
    leg (DestChannel); app_queue still credits the member it rang."""
    pbx.add_member("repairs", "PJSIP/8001", "王静")
    pbx.advance(0)
    events.clear()
    pbx.new_call("repairs", "13800138000", answer=[], talk=10)
    pbx.advance(3)
    assert pbx.pickup("PJSIP/8003")
    pbx.run_until_idle()
    ends = [(e["DestChannel"][:10], e["DialStatus"]) for e in events.of("DialEnd")]
    assert ends == [("PJSIP/8001", "CANCEL"), ("PJSIP/8003", "ANSWER")]
    pickup = events.of("Pickup")[0]
    assert pickup["Channel"].startswith("PJSIP/8003-") and pickup["TargetChannel"].startswith("PJSIP/8001-")
    assert next(e for e in events.of("Hangup") if e["Channel"].startswith("PJSIP/8001-"))["Cause"] == "26"
    connect = events.of("AgentConnect")[0]
    assert connect["Interface"] == "PJSIP/8001" and connect["DestChannel"] == pickup["Channel"] and connect["HoldTime"] == "3"
    assert events.of("Newchannel")[-1]["Exten"] == "*8"


def test_blonde_transfer_while_the_target_rings(pbx: PBX, events: Events) -> None:
    """The agent's phone consults 8002 and completes while it still rings:
    AttendedTransfer DestType=App (Dial), AgentComplete transfer, and the
    caller takes over the ringing Dial()."""
    pbx.add_member("repairs", "PJSIP/8001", "王静")
    pbx.advance(0)
    events.clear()
    pbx.new_call("repairs", "13800138000", answer=[{"agent": "PJSIP/8001", "after": 2}],
                 transfer={"type": "blonde", "at": 10, "to": "8002", "consult": 3, "ring_after": 4, "talk": 20})  # fmt: skip
    pbx.run_until_idle()
    caller = events.of("Newchannel")[0]["Channel"]
    at = events.of("AttendedTransfer")[0]
    assert (at["DestType"], at["DestApp"], at["TransfereeChannel"]) == ("App", "Dial", caller) and "TransferTargetChannel" not in at
    assert at["SecondTransfererChannelState"] == "4" and at["Timestamp"] == "1700000015.000000"
    complete = events.of("AgentComplete")[0]
    assert (complete["Reason"], complete["TalkTime"]) == ("transfer", "13")
    begins = [(e["Channel"], e["DestChannel"][:10]) for e in events.of("DialBegin")]
    assert begins[-1] == (caller, "PJSIP/8002")
    answer = events.of("DialEnd")[-1]
    assert (answer["Channel"], answer["DialStatus"], answer["Timestamp"]) == (caller, "ANSWER", "1700000019.000000")


def test_caller_priority_orders_the_queue(pbx: PBX, events: Events) -> None:
    """QUEUE_PRIO: a caller joins behind everyone of the same or higher priority."""
    pbx.add_member("repairs", "PJSIP/8001", "王静", paused=True)
    pbx.advance(0)
    events.clear()
    for n, prio in (("1", 0), ("2", 0), ("3", 5), ("4", 5)):
        pbx.new_call("repairs", n, priority=prio, patience=60)
    assert [(e["CallerIDNum"], e["Position"]) for e in events.of("QueueCallerJoin")] == [("1", "1"), ("2", "2"), ("3", "1"), ("4", "2")]
    assert [e["Value"] for e in events.of("VarSet") if e["Variable"] == "QUEUE_PRIO"] == ["0", "0", "5", "5"]
    pbx.pause("PJSIP/8001", False)
    assert events.of("AgentCalled")[0]["CallerIDNum"] == "3"
    entries = [pbx.queue_entry(pbx.queues["repairs"], c) for c in pbx.queues["repairs"].entries]
    assert [(dict(e)["CallerIDNum"], dict(e)["Priority"]) for e in entries] == [("3", "5"), ("4", "5"), ("1", "0"), ("2", "0")]


def test_every_context_the_simulator_runs_is_in_the_shipped_dialplan() -> None:
    """Every Newexten, and every channel created in a dialplan context,
    names an extension extensions.conf really has."""
    plan = dialplan.load()
    # A queue's name is its extension in [cc-queue] (_[0-9A-Za-z].: two characters or more).
    pbx = PBX([*pbx_queues(), Queue("qk", leavewhenempty="yes", keys="9")], clock=VirtualClock(), seed=2)
    seen: list[dict[str, str]] = []
    pbx.sinks.append(lambda f: seen.append(dict(f)))
    pbx.add_member("repairs", "PJSIP/8001", "a")
    pbx.add_member("complaints", LOCAL_N, "b", state_interface="PJSIP/8006")
    pbx.add_member("qk", "PJSIP/8003", "c")
    pbx.advance(0)
    pbx.new_call("repairs", "1", answer=[{"agent": "PJSIP/8001", "after": 1}], talk=10, hangup="agent",
                 transfer={"type": "blind", "at": 5, "to": "complaints", "talk": 5, "hangup": "agent",
                           "answer": [{"agent": LOCAL_N, "after": 1}]})  # fmt: skip
    pbx.new_call("enquiries", "2", after_timeout=1)  # JOINEMPTY, a callback
    pbx.new_call("qk", "3", answer=[], key=(2, "9"), after_timeout=1)
    pbx.dial("PJSIP/8004", "8005", talk=5)
    pbx.dial("PJSIP/8004", "+8613912345678", talk=5)
    pbx.originate("PJSIP/8001", exten="02161234567", context="agents", talk=5)
    pbx.after_hours_call("4", "8020", talk=5)
    pbx.run_until_idle()
    places = {(e["Context"], e["Exten"]) for e in seen if e["Event"] == "Newexten"}
    places |= {(e["Context"], e["Exten"]) for e in seen if e["Event"] == "Newchannel" and e["Context"] != "from-trunk" and e["Exten"] != "s"}
    assert {c for c, _ in places} >= {"cc-queue", "cc-record", "cc-survey", "cc-callback", "cc-queue-keys", "agents", "cc-outbound", "cc-duty"}
    for context, exten in sorted(places):
        assert dialplan.find(plan, context, exten), f"the simulator runs {context},{exten}, which extensions.conf lacks"


def pbx_queues() -> list[Queue]:
    from callcenter.simulator.pbx import demo_queues

    return demo_queues()
