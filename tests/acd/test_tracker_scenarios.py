"""Queue and non-queue calls in the order real Asterisk sends them, channel
events included: Local-channel members optimised away in both directions,
the blonde transfer, MixMonitor before Queue() (our [cc-queue]), an agent's
click-to-call, an agent removed from the queue mid-call, a pause that
overlaps a call, and a wait of 20.007 s against a 20 s service level.

Orders follow app_queue.c, core_local.c and bridge.c (move-swap: the real
channel enters the other bridge with SwapUniqueid, then the Local halves
leave and hang up) and the real captures in tests/fixtures/cacofonisk.
"""

from __future__ import annotations

import pytest

from callcenter.acd import events as ev
from callcenter.acd.core import Core, CoreConfig, PauseMember, QueueConfig

T0 = 1_700_000_000.0
UP, RING, RINGING = 6, 4, 5


class Wire:
    """Domain events as the bridge makes them from a real AMI stream."""

    def __init__(self) -> None:
        self.events: list[ev.Event] = []
        self.n = 0
        self.b = 0

    def uid(self) -> str:
        self.n += 1
        return f"{T0:.0f}.{self.n}"

    def add(self, e: ev.Event) -> None:
        self.events.append(e)

    def channel(self, t: float, name: str, linkedid: str | None = None, state: int = 0, number: str = "", cname: str = "", context: str = "", exten: str = "") -> tuple[str, str]:
        uid = self.uid()
        self.add(ev.ChannelCreated(t, uid, linkedid or uid, f"{name}-{self.n:08x}", state, number, cname, "", "", context, exten))
        return uid, f"{name}-{self.n:08x}"

    def state(self, t: float, uid: str, name: str, state: int, linkedid: str) -> None:
        self.add(ev.ChannelStateChanged(t, uid, linkedid, name, state))

    def local(self, t: float, iface: str, linkedid: str) -> tuple[tuple[str, str], tuple[str, str]]:
        one = self.uid()
        two = self.uid()
        base = f"{iface}-{self.n:08x}"
        self.add(ev.ChannelCreated(t, one, linkedid, base + ";1", 0))
        self.add(ev.ChannelCreated(t, two, linkedid, base + ";2", RING))
        self.add(ev.LocalBridged(t, one, two, "agents", iface.split("/")[1].split("@")[0]))
        return (one, base + ";1"), (two, base + ";2")

    def bridge(self) -> str:
        self.b += 1
        return f"bridge-{self.b}"

    def enter(self, t: float, bridge: str, uid: str, name: str, linkedid: str, swap: str = "") -> None:
        self.add(ev.BridgeEntered(t, bridge, uid, linkedid, name, swap))

    def leave(self, t: float, bridge: str, uid: str, name: str, linkedid: str) -> None:
        self.add(ev.BridgeLeft(t, bridge, uid, linkedid, name))

    def hangup(self, t: float, uid: str, name: str, linkedid: str, cause: int = 16) -> None:
        self.add(ev.Hangup(t, uid, linkedid, name, cause, "Normal Clearing"))


def run(events: list[ev.Event], config: CoreConfig | None = None) -> tuple[Core, list]:
    core = Core(config or CoreConfig(queues={"q": QueueConfig("q", wrap_up_s=30)}))
    outs = [core.apply(e) for e in events]
    assert core.stats["errors"] == 0, core.last_error
    return core, outs


def records(outs) -> list[dict]:
    return [r for o in outs for r in o.records]


def local_member_call(w: Wire, member: str, phone_iface: str, direction: str) -> dict[str, str]:
    """A trunk caller through [cc-queue] to a Local member, answered at +10;
    the Local channel then optimises away the given way."""
    w.add(ev.MemberAdded(T0, "q", member, "小王", 0, False, "", 1, "dynamic", phone_iface))
    caller, cname = w.channel(T0, "PJSIP/trunk", number="13800138000", context="from-trunk", exten="4008001234", state=RING)
    w.state(T0, caller, cname, UP, caller)
    w.add(ev.CallerJoined(T0 + 1, "q", caller, caller, cname, "13800138000", "", 1, 1))
    (one, one_name), (two, two_name) = w.local(T0 + 2, member, caller)
    w.add(ev.AgentCalled(T0 + 2, "q", caller, caller, member, "小王", one, one_name, "13800138000", ""))
    w.add(ev.DialBegan(T0 + 2, caller, one, one_name, member))
    phone, phone_name = w.channel(T0 + 2, phone_iface, linkedid=caller)
    w.add(ev.DialBegan(T0 + 2, two, phone, phone_name, "8001"))
    w.state(T0 + 2, phone, phone_name, RINGING, caller)
    w.state(T0 + 11, phone, phone_name, UP, caller)
    w.add(ev.DialEnded(T0 + 11, two, phone, phone_name, "ANSWER"))
    b2 = w.bridge()
    w.enter(T0 + 11, b2, phone, phone_name, caller)
    w.enter(T0 + 11, b2, two, two_name, caller)
    w.state(T0 + 11, one, one_name, UP, caller)
    w.add(ev.DialEnded(T0 + 11, caller, one, one_name, "ANSWER"))
    w.add(ev.CallerLeft(T0 + 11, "q", caller, caller, 1, 0))
    w.add(ev.AgentConnected(T0 + 11, "q", caller, caller, member, "小王", one, one_name, 10, 9))
    b1 = w.bridge()
    w.enter(T0 + 11, b1, one, one_name, caller)
    w.enter(T0 + 11, b1, caller, cname, caller)
    if direction == "phone_moves":  # the phone swaps in for ;1 in the caller's bridge
        w.leave(T0 + 12, b2, phone, phone_name, caller)
        w.enter(T0 + 12, b1, phone, phone_name, caller, swap=one)
        w.leave(T0 + 12, b1, one, one_name, caller)
        w.leave(T0 + 12, b2, two, two_name, caller)
    else:  # "the other way": the caller swaps in for ;2 in the phone's bridge
        w.leave(T0 + 12, b1, caller, cname, caller)
        w.enter(T0 + 12, b2, caller, cname, caller, swap=two)
        w.leave(T0 + 12, b2, two, two_name, caller)
        w.leave(T0 + 12, b1, one, one_name, caller)
    w.hangup(T0 + 12, two, two_name, caller)
    w.hangup(T0 + 12, one, one_name, caller)
    return {"caller": caller, "cname": cname, "phone": phone, "phone_name": phone_name, "b1": b1, "b2": b2}


@pytest.mark.parametrize("direction", ["phone_moves", "caller_moves"])
def test_local_member_optimised_either_way_keeps_the_talk(direction: str) -> None:
    w = Wire()
    c = local_member_call(w, "Local/8001@agents", "PJSIP/8001", direction)
    w.add(ev.Hold(T0 + 30, c["phone"], c["caller"], c["phone_name"]))
    w.add(ev.Unhold(T0 + 40, c["phone"], c["caller"], c["phone_name"]))
    core, _ = run(w.events[:-1])
    assert core.agent_view("Local/8001@agents")["state"] == "on_hold"  # the Local halves' hangups changed nothing
    w.hangup(T0 + 71, c["caller"], c["cname"], c["caller"])
    w.add(ev.AgentCompleted(T0 + 71, "q", c["caller"], c["caller"], "Local/8001@agents", "小王", 10, 60, "caller"))
    w.hangup(T0 + 71, c["phone"], c["phone_name"], c["caller"])
    w.add(ev.Tick(T0 + 200))
    core, outs = run(w.events)
    [r] = records(outs)
    assert (r["outcome"], r["agent"], r["answered_at"]) == ("answered", "Local/8001@agents", T0 + 11)
    assert (r["talk_s"], r["hold_s"], r["wrap_up_s"]) == (50.0, 10.0, 30.0)  # 60 s connected, 10 of them on hold
    assert core.agent_totals("Local/8001@agents")["talk_s"] == 50.0
    assert core.agent_states.devices["PJSIP/8001"] == "Local/8001@agents"


def test_local_member_agent_hangs_up_after_the_other_way() -> None:
    w = Wire()
    c = local_member_call(w, "Local/8001@agents", "PJSIP/8001", "caller_moves")
    w.hangup(T0 + 46, c["phone"], c["phone_name"], c["caller"])
    w.add(ev.AgentCompleted(T0 + 46, "q", c["caller"], c["caller"], "Local/8001@agents", "小王", 10, 35, "agent"))
    w.hangup(T0 + 46, c["caller"], c["cname"], c["caller"])
    w.add(ev.Tick(T0 + 200))
    _, outs = run(w.events)
    [r] = records(outs)
    assert r["talk_s"] == 35.0 and r["transfer"] is None


def test_blonde_transfer_out_of_a_queue_call() -> None:
    """The agent starts an attended transfer to 8005 and completes it while
    8005 still rings: AttendedTransfer DestType=App DestApp=Dial."""
    w = Wire()
    w.add(ev.MemberAdded(T0, "q", "PJSIP/8001", "小王", 0, False, "", 1))
    caller, cname = w.channel(T0, "PJSIP/trunk", number="13800138000", state=RING)
    w.state(T0, caller, cname, UP, caller)
    w.add(ev.CallerJoined(T0 + 1, "q", caller, caller, cname, "13800138000", "", 1, 1))
    phone, pname = w.channel(T0 + 2, "PJSIP/8001", linkedid=caller)
    w.add(ev.AgentCalled(T0 + 2, "q", caller, caller, "PJSIP/8001", "小王", phone, pname, "13800138000", ""))
    w.add(ev.DialBegan(T0 + 2, caller, phone, pname, "8001"))
    w.state(T0 + 2, phone, pname, RINGING, caller)
    w.state(T0 + 6, phone, pname, UP, caller)
    w.add(ev.DialEnded(T0 + 6, caller, phone, pname, "ANSWER"))
    w.add(ev.CallerLeft(T0 + 6, "q", caller, caller, 1, 0))
    w.add(ev.AgentConnected(T0 + 6, "q", caller, caller, "PJSIP/8001", "小王", phone, pname, 5, 4))
    b1 = w.bridge()
    w.enter(T0 + 6, b1, phone, pname, caller)
    w.enter(T0 + 6, b1, caller, cname, caller)
    # consult: the phone's second line dials 8005
    w.add(ev.Hold(T0 + 30, phone, caller, pname))
    second, sname = w.channel(T0 + 31, "PJSIP/8001", state=RING)
    target, tname = w.channel(T0 + 31, "PJSIP/8005", linkedid=second)
    w.add(ev.DialBegan(T0 + 31, second, target, tname, "8005"))
    w.state(T0 + 31, target, tname, RINGING, second)
    w.add(ev.AttendedTransfer(T0 + 35, phone, pname, second, caller, caller, "", "", "", "App", "Success", sname, "Dial", "8005"))
    w.add(ev.AgentCompleted(T0 + 35, "q", caller, caller, "PJSIP/8001", "小王", 5, 29, "transfer"))
    w.leave(T0 + 35, b1, phone, pname, caller)
    w.hangup(T0 + 35, phone, pname, caller)
    w.hangup(T0 + 35, second, sname, second)
    w.state(T0 + 40, target, tname, UP, caller)
    w.add(ev.DialEnded(T0 + 40, caller, target, tname, "ANSWER"))
    w.enter(T0 + 40, b1, target, tname, caller)
    w.hangup(T0 + 90, caller, cname, caller)
    w.hangup(T0 + 90, target, tname, caller)
    w.add(ev.Tick(T0 + 200))
    core, outs = run(w.events)
    queue_records = [r for r in records(outs) if r["kind"] == "queue"]
    [r] = queue_records
    [consult] = [r for r in records(outs) if r["kind"] == "consult"]  # the agent's second line, dialling 8005
    assert (consult["agent"], consult["end_reason"]) == ("PJSIP/8001", "transferred")
    [after] = [r for r in records(outs) if r["kind"] == "direct"]  # the caller goes on with 8005
    assert (after["after_queue"], after["answered_at"], after["talk_s"]) == (r["call_id"], T0 + 40, 50.0)
    assert r["transfer"] == {"kind": "blonde", "target": "8005"}
    assert (r["talk_s"], r["hold_s"]) == (24.0, 5.0)  # answered +6, hold +30, transfer +35
    facts = [f for o in outs for f in o.facts if type(f).__name__ == "Transferred"]
    assert [(f.kind, f.caller.channel, [t.channel for t in f.targets]) for f in facts] == [("blonde", cname, [tname])]


def test_mixmonitor_before_queue_links_the_recording() -> None:
    """[cc-queue]: MixMonitor(${CC_RECORDING},b) runs before Queue(), so the
    file name and MixMonitorStart reach us before the caller joins."""
    w = Wire()
    caller, cname = w.channel(T0, "PJSIP/trunk", number="13800138000", state=RING)
    w.add(ev.VarSet(T0 + 1, caller, caller, cname, "CC_RECORDING", "20231115/a.wav"))
    w.add(ev.VarSet(T0 + 2, caller, caller, cname, "MIXMONITOR_FILENAME", "/var/spool/asterisk/monitor/20231115/a.wav"))
    w.add(ev.RecordingStarted(T0 + 2, caller, caller, cname))
    w.add(ev.CallerJoined(T0 + 2.5, "q", caller, caller, cname, "13800138000", "", 1, 1))
    w.add(ev.CallerAbandoned(T0 + 9, "q", caller, caller, 1, 1, 6))
    w.add(ev.CallerLeft(T0 + 9, "q", caller, caller, 1, 0))
    w.hangup(T0 + 9, caller, cname, caller)
    _, outs = run(w.events)
    [r] = records(outs)
    assert r["recording_file"] == "/var/spool/asterisk/monitor/20231115/a.wav"
    recs = [i for i in r["timeline"] if i["kind"] == "recording"]
    assert recs == [{"t": T0 + 2, "kind": "recording", "file": "/var/spool/asterisk/monitor/20231115/a.wav"}]


def click_to_call(w: Wire, agent: str = "PJSIP/8001") -> dict[str, str]:
    """Originate: the PBX rings the agent's phone, then it dials the customer."""
    phone, pname = w.channel(T0, agent, context="agents", exten="13900139000")
    w.add(ev.DialBegan(T0, "", phone, pname, agent))
    w.state(T0, phone, pname, RINGING, phone)
    w.state(T0 + 3, phone, pname, UP, phone)
    w.add(ev.DialEnded(T0 + 3, "", phone, pname, "ANSWER"))
    trunk, tname = w.channel(T0 + 4, "PJSIP/carrier", linkedid=phone)
    w.add(ev.DialBegan(T0 + 4, phone, trunk, tname, "13900139000@carrier"))
    w.state(T0 + 5, trunk, tname, RINGING, phone)
    return {"phone": phone, "pname": pname, "trunk": trunk, "tname": tname}


def test_click_to_call_is_an_outbound_call_with_wrap_up() -> None:
    w = Wire()
    w.add(ev.MemberAdded(T0 - 10, "q", "PJSIP/8001", "小王", 0, False, "", 1))
    c = click_to_call(w)
    w.state(T0 + 12, c["trunk"], c["tname"], UP, c["phone"])
    w.add(ev.DialEnded(T0 + 12, c["phone"], c["trunk"], c["tname"], "ANSWER"))
    b = w.bridge()
    w.enter(T0 + 12, b, c["trunk"], c["tname"], c["phone"])
    w.enter(T0 + 12, b, c["phone"], c["pname"], c["phone"])
    w.add(ev.VarSet(T0 + 12, c["phone"], c["phone"], c["pname"], "MIXMONITOR_FILENAME", "out/b.wav"))
    core, outs = run(list(w.events))
    assert core.agent_view("PJSIP/8001")["state"] == "on_call"
    assert core.agent_view("PJSIP/8001")["call"]["direction"] == "outbound"
    w.hangup(T0 + 72, c["trunk"], c["tname"], c["phone"])
    w.hangup(T0 + 72, c["phone"], c["pname"], c["phone"])
    w.add(ev.Tick(T0 + 80))
    core, outs = run(w.events)
    assert core.agent_view("PJSIP/8001")["state"] == "wrap_up"
    assert [a for o in outs for a in o.actions] == [PauseMember("PJSIP/8001", True, "wrap-up")]
    w.add(ev.DispositionSubmitted(T0 + 90, "PJSIP/8001", c["phone"], "resolved"))
    core, outs = run(w.events)
    [r] = records(outs)
    assert (r["kind"], r["direction"], r["agent"], r["outcome"]) == ("outbound", "outbound", "PJSIP/8001", "answered")
    assert (r["callee_number"] or r["legs"][0]["channel"]) and r["talk_s"] == 60.0 and r["wrap_up_s"] == 18.0
    assert r["recording_file"] == "out/b.wav" and r["disposition"] == "resolved"
    t = core.agent_totals("PJSIP/8001")
    assert t["handled"] == 1 and t["by_direction"] == {"outbound": {"handled": 1, "talk_s": 60.0}}


def test_click_to_call_busy_is_recorded_unanswered() -> None:
    w = Wire()
    w.add(ev.MemberAdded(T0 - 10, "q", "PJSIP/8001", "小王", 0, False, "", 1))
    c = click_to_call(w)
    w.add(ev.DialEnded(T0 + 6, c["phone"], c["trunk"], c["tname"], "BUSY"))
    w.hangup(T0 + 6, c["trunk"], c["tname"], c["phone"], cause=17)
    w.hangup(T0 + 8, c["phone"], c["pname"], c["phone"], cause=17)
    core, outs = run(w.events)
    [r] = records(outs)
    assert (r["kind"], r["outcome"], r["talk_s"]) == ("outbound", "busy", 0.0)
    assert core.agent_view("PJSIP/8001")["state"] == "available"  # no wrap-up after an unanswered attempt


def test_refused_click_to_call_leaves_no_record() -> None:
    """cacofonisk's ctd-account-world-deny-a: the agent's phone never answers."""
    w = Wire()
    phone, pname = w.channel(T0, "PJSIP/8001")
    w.add(ev.DialBegan(T0, "", phone, pname, "PJSIP/8001"))
    w.state(T0, phone, pname, RINGING, phone)
    w.add(ev.DialEnded(T0 + 5, "", phone, pname, "BUSY"))
    w.hangup(T0 + 5, phone, pname, phone, cause=21)
    _, outs = run(w.events)
    assert records(outs) == []


def answered_queue_call(w: Wire, agent: str = "PJSIP/8001") -> dict[str, str]:
    w.add(ev.MemberAdded(T0, "q", agent, "小王", 0, False, "", 1))
    caller, cname = w.channel(T0, "PJSIP/trunk", number="13800138000", state=RING)
    w.add(ev.CallerJoined(T0 + 1, "q", caller, caller, cname, "13800138000", "", 1, 1))
    phone, pname = w.channel(T0 + 2, agent, linkedid=caller)
    w.add(ev.AgentCalled(T0 + 2, "q", caller, caller, agent, "小王", phone, pname, "13800138000", ""))
    w.add(ev.DialBegan(T0 + 2, caller, phone, pname, "8001"))
    w.state(T0 + 2, phone, pname, RINGING, caller)
    w.state(T0 + 5, phone, pname, UP, caller)
    w.add(ev.DialEnded(T0 + 5, caller, phone, pname, "ANSWER"))
    w.add(ev.CallerLeft(T0 + 5, "q", caller, caller, 1, 0))
    w.add(ev.AgentConnected(T0 + 5, "q", caller, caller, agent, "小王", phone, pname, 4, 3))
    b = w.bridge()
    w.enter(T0 + 5, b, phone, pname, caller)
    w.enter(T0 + 5, b, caller, cname, caller)
    return {"caller": caller, "cname": cname, "phone": phone, "pname": pname}


def test_agent_removed_from_the_queue_mid_call_stays_on_the_call() -> None:
    w = Wire()
    c = answered_queue_call(w)
    w.add(ev.MemberRemoved(T0 + 20, "q", "PJSIP/8001", "小王"))
    w.add(ev.Tick(T0 + 60))
    core, _ = run(list(w.events))
    assert core.agent_view("PJSIP/8001")["state"] == "on_call"
    w.hangup(T0 + 125, c["caller"], c["cname"], c["caller"])
    w.add(ev.AgentCompleted(T0 + 125, "q", c["caller"], c["caller"], "PJSIP/8001", "小王", 4, 120, "caller"))
    w.hangup(T0 + 125, c["phone"], c["pname"], c["caller"])
    w.add(ev.Tick(T0 + 300))
    core, outs = run(w.events)
    [r] = records(outs)
    assert r["talk_s"] == 120.0
    assert core.agent_totals("PJSIP/8001")["talk_s"] == 120.0
    # Nothing is sent to pause an interface that is in no queue (app_queue: "Interface not found").
    assert [a for o in outs for a in o.actions] == []


def test_pause_that_overlaps_a_call_keeps_both_facts() -> None:
    w = Wire()
    c = answered_queue_call(w)
    w.add(ev.MemberPaused(T0 + 10, "q", "PJSIP/8001", "小王", True, "休息"))
    w.hangup(T0 + 40, c["caller"], c["cname"], c["caller"])
    w.add(ev.AgentCompleted(T0 + 40, "q", c["caller"], c["caller"], "PJSIP/8001", "小王", 4, 35, "caller"))
    w.hangup(T0 + 40, c["phone"], c["pname"], c["caller"])
    w.add(ev.MemberPaused(T0 + 100, "q", "PJSIP/8001", "小王", False, ""))
    w.add(ev.Tick(T0 + 120))
    core, outs = run(w.events)
    t = core.agent_totals("PJSIP/8001")
    assert t["paused_s"] == {"休息": 90.0}  # as queue_log's PAUSE..UNPAUSE says
    assert t["talk_s"] == 35.0  # and the call during it is call time
    pauses = [i for o in outs for i in o.intervals if i["state"] == "pause"]
    assert [(p["reason"], p["started_at"], p["ended_at"]) for p in pauses] == [("休息", T0 + 10, T0 + 100)]


def test_service_level_counts_whole_seconds_as_app_queue() -> None:
    """Joined at .5, answered 20.007 s later: app_queue's HoldTime says 20,
    within a 20 s threshold (queue_log CONNECT|20|...)."""
    w = Wire()
    w.add(ev.MemberAdded(T0, "q", "PJSIP/8001", "小王", 0, False, "", 1))
    w.add(ev.CallerJoined(T0 + 0.5, "q", "c.1", "c.1", "PJSIP/trunk-1", "1", "", 1, 1))
    w.add(ev.AgentCalled(T0 + 15, "q", "c.1", "c.1", "PJSIP/8001", "小王", "p.1", "PJSIP/8001-1", "1", ""))
    w.add(ev.CallerLeft(T0 + 20.507, "q", "c.1", "c.1", 1, 0))
    w.add(ev.AgentConnected(T0 + 20.507, "q", "c.1", "c.1", "PJSIP/8001", "小王", "p.1", "PJSIP/8001-1", 20, 5))
    core, _ = run(w.events)
    k = core.queue_view("q")["kpi"]["today"]
    assert k["service_level"] == 1.0 and k["asa_s"] == pytest.approx(20.007)
