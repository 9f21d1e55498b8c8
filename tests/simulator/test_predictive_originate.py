"""A customer-first Originate into the shipped [cc-predictive] in Asterisk's
order (main/pbx.c pbx_outgoing_attempt, main/dial.c with no caller,
manager.c fast_originate), and what the ACD core makes of it: an outbound
call answered by an agent, one dropped because nobody was free (no-agent),
and one the customer never answered."""

from __future__ import annotations

from callcenter.acd import events as ev
from callcenter.acd.core import Core, CoreConfig, QueueConfig
from callcenter.ami.normaliser import EventStream
from callcenter.simulator.clock import VirtualClock
from callcenter.simulator.pbx import PBX, Queue
from callcenter.simulator.server import encode

VARS = {"CC_CAMPAIGN": "7", "CC_DIAL": "42", "CC_NUMBER": "13900139001", "CC_CONNECT_S": "2"}


def floor() -> tuple[PBX, Core, list[dict], list[dict]]:
    pbx = PBX(queues=[Queue("campaigns", strategy="leastrecent")], clock=VirtualClock(), seed=1)
    core = Core(CoreConfig(queues={"campaigns": QueueConfig("campaigns", wrap_up_s=5)}))
    stream, records, wire = EventStream(), [], []
    pbx.sinks.append(lambda f: (wire.append(dict(f)), [records.extend(core.apply(e).records) for e in stream.feed(encode(f), pbx.now)]))
    return pbx, core, records, wire


def dial(pbx: PBX, number: str, uid: str) -> None:
    pbx.originate(f"PJSIP/{number}@carrier", exten="campaigns", context="cc-predictive", callerid="4008001234 <4008001234>",
                  timeout=20, variables=VARS | {"CC_NUMBER": number}, channel_id=uid)  # fmt: skip


def names(wire: list[dict], uid: str) -> list[str]:
    out = []
    for f in wire:
        if uid in (f.get("Uniqueid"), f.get("DestUniqueid")):
            out.append(f["Event"] + (f":{f['Variable']}" if f["Event"] == "VarSet" else "") + (f":{f.get('DialStatus', '')}" if f["Event"].startswith("Dial") else ""))
    return out


def test_answered_and_taken_by_an_agent():
    pbx, core, records, wire = floor()
    pbx.add_member("campaigns", "PJSIP/8001", "王静")
    pbx.set_phone("PJSIP/8001", answer_after=0.5)
    pbx.set_phone("PJSIP/13900139001@carrier", answer_after=4, talk_s=30)
    pbx.advance(0)
    dial(pbx, "13900139001", "cc-dial-a")
    pbx.advance(60)
    seq = names(wire, "cc-dial-a")
    start = ["Newchannel", "VarSet:CC_CAMPAIGN", "VarSet:CC_DIAL", "VarSet:CC_NUMBER", "VarSet:CC_CONNECT_S", "DialBegin:", "Newstate", "DialState:RINGING",
             "Newstate", "DialEnd:ANSWER", "OriginateResponse", "VarSet:__CC_DIRECTION", "VarSet:__CC_QUEUE", "NewCallerid"]  # fmt: skip
    assert seq[: len(start)] == start
    assert seq.index("UserEvent") < seq.index("QueueCallerJoin") < seq.index("AgentConnect") < seq.index("Hangup")
    begin = next(f for f in wire if f["Event"] == "DialBegin" and f.get("DestUniqueid") == "cc-dial-a")
    assert "Channel" not in begin and begin["DialString"] == "13900139001@carrier"  # ast_dial_run(dial, NULL, 0): no caller
    resp = next(f for f in wire if f["Event"] == "OriginateResponse")
    assert (resp["Response"], resp["Reason"], resp["Uniqueid"], resp["Context"], resp["Exten"]) == ("Success", "4", "cc-dial-a", "cc-predictive", "campaigns")
    pbx.advance(10)
    records.extend(core.apply(ev.Tick(pbx.now)).records)  # the wrap-up's end
    [r] = [r for r in records if r["uniqueid"] == "cc-dial-a"]
    assert (r["kind"], r["direction"], r["callee_number"], r["agent"], r["outcome"], r["end_reason"]) == (
        "outbound", "outbound", "13900139001", "PJSIP/8001", "answered", None)
    assert r["talk_s"] == 30 and r["recording_file"] and r["caller_number"] == "13900139001"  # CALLERID(num)=${CC_NUMBER}
    assert core.agent_view("PJSIP/8001")["today"]["handled"] == 1


def test_answered_with_nobody_free_is_a_dropped_connected_call():
    pbx, core, records, wire = floor()
    pbx.add_member("campaigns", "PJSIP/8001", "王静", paused=True)
    pbx.add_member("campaigns", "PJSIP/8002", "李娜")
    pbx.set_phone("PJSIP/8002", answer_after=0.5)
    pbx.set_phone("PJSIP/13900139002@carrier", answer_after=3, talk_s=30)
    pbx.set_phone("PJSIP/13900139003@carrier", answer_after=3, talk_s=30)
    pbx.advance(0)
    dial(pbx, "13900139002", "cc-dial-b")
    dial(pbx, "13900139003", "cc-dial-c")  # answers at the same moment: one agent for two
    pbx.advance(60)
    by_uid = {r["uniqueid"]: r for r in records}
    dropped = next(r for uid, r in by_uid.items() if uid in ("cc-dial-b", "cc-dial-c") and r["answered_at"] is None)
    assert (dropped["kind"], dropped["direction"], dropped["end_reason"], dropped["agent"]) == ("outbound", "outbound", "no-agent", None)
    uid = dropped["uniqueid"]
    seq = names(wire, uid)
    assert seq.index("QueueCallerJoin") < seq.index("VarSet:QUEUESTATUS") < seq.index("Hangup")
    apology = [f for f in wire if f["Event"] == "Newexten" and f.get("Uniqueid") == uid and f.get("Application") == "Playback"]
    assert apology and apology[0]["AppData"] == "custom/cc-outbound-sorry"


def test_not_answered_fails_with_the_channel_id():
    pbx, core, records, wire = floor()
    pbx.add_member("campaigns", "PJSIP/8001", "王静")
    pbx.set_phone("PJSIP/13900139004@carrier", miss_prob=1.0)
    pbx.set_phone("PJSIP/13900139005@carrier", busy=True, answer_after=2)
    pbx.advance(0)
    dial(pbx, "13900139004", "cc-dial-d")
    dial(pbx, "13900139005", "cc-dial-e")
    pbx.advance(30)
    seq = names(wire, "cc-dial-d")
    assert seq[-3:] == ["DialEnd:NOANSWER", "Hangup", "OriginateResponse"]
    resp = {f["Uniqueid"]: f for f in wire if f["Event"] == "OriginateResponse"}
    assert (resp["cc-dial-d"]["Response"], resp["cc-dial-d"]["Reason"], resp["cc-dial-d"]["Channel"]) == ("Failure", "3", "PJSIP/13900139004@carrier")
    assert (resp["cc-dial-e"]["Reason"], resp["cc-dial-e"]["Channel"]) == ("5", "PJSIP/13900139005@carrier")
    out = {r["uniqueid"]: r for r in records}
    assert (out["cc-dial-d"]["kind"], out["cc-dial-d"]["outcome"], out["cc-dial-d"]["callee_number"], out["cc-dial-d"]["agent"]) == ("outbound", "no_answer", "13900139004", None)
    assert out["cc-dial-e"]["outcome"] == "busy"
    assert not any(r["uniqueid"] in ("cc-dial-d", "cc-dial-e") and r["kind"] != "outbound" for r in records)
