"""The wire: what a client of Asterisk 18/20's manager sees (ami.md §2, §3.6, §3.7)."""

from __future__ import annotations

import asyncio
import io
import time

from callcenter.simulator.clock import VirtualClock
from callcenter.simulator.pbx import PBX
from callcenter.simulator.server import AmiServer
from tests.simulator.conftest import Client, get, parse


async def test_banner_login_and_fully_booted(server: AmiServer) -> None:
    c = await Client.connect(server.port)
    assert c.banner == "Asterisk Call Manager/7.0.3\r\n"
    reply = await c.login()
    assert reply == [("Response", "Success"), ("ActionID", "login-1"), ("Message", "Authentication accepted")]
    booted = await c.read()
    assert [k for k, _ in booted][:3] == ["Event", "Privilege", "Timestamp"]
    assert get(booted, "Status") == "Fully Booted" and get(booted, "Privilege") == "system,all"
    await c.close()


async def test_asterisk_20_banner() -> None:
    srv = AmiServer(version="9.0.0", pbx=PBX(clock=VirtualClock()))
    port = await srv.start()
    c = await Client.connect(port)
    assert c.banner == "Asterisk Call Manager/9.0.0\r\n"
    await c.close()
    await srv.stop()


async def test_wrong_secret_waits_then_errors_and_closes(server: AmiServer) -> None:
    server.faults.login_delay_s = 0.2
    c = await Client.connect(server.port)
    start = time.monotonic()
    reply = await c.login(secret="wrong")
    assert time.monotonic() - start >= 0.2
    assert reply == [("Response", "Error"), ("ActionID", "login-1"), ("Message", "Authentication failed")]
    assert await c.read() is None  # the server closed the socket


async def test_actions_need_login(server: AmiServer) -> None:
    c = await Client.connect(server.port)
    c.send(Action="Ping", ActionID="p")
    assert await c.read() == [("Response", "Error"), ("ActionID", "p"), ("Message", "Permission denied")]
    await c.close()


async def test_ping_pong_echoes_actionid_with_timestamp(server: AmiServer, client: Client) -> None:
    client.send(Action="Ping", ActionID="abc-42")
    reply = await client.read()
    assert [k for k, _ in reply] == ["Response", "ActionID", "Ping", "Timestamp"]
    assert get(reply, "ActionID") == "abc-42" and get(reply, "Ping") == "Pong"
    assert float(get(reply, "Timestamp")) == server.pbx.now


async def test_ignore_pings_fault(server: AmiServer, client: Client) -> None:
    server.faults.ignore_pings = True
    client.send(Action="Ping", ActionID="1")
    assert await client.read(timeout=0.2) is None


async def test_unknown_action_and_logoff(client: Client) -> None:
    client.send(Action="Frobnicate", ActionID="x")
    reply = await client.read()
    assert get(reply, "Response") == "Error" and "Invalid/unknown command: Frobnicate" in get(reply, "Message")
    client.send(Action="Logoff", ActionID="bye")
    assert await client.read() == [("Response", "Goodbye"), ("ActionID", "bye"), ("Message", "Thanks for all the fish.")]
    assert await client.read() is None


async def test_queuestatus_eventlist_framing(server: AmiServer, client: Client) -> None:
    pbx = server.pbx
    pbx.add_member("repairs", "PJSIP/8001", "王静", penalty=1)
    pbx.add_member("repairs", "PJSIP/8002", "李伟", paused=True, reason="小休")
    pbx.pause("PJSIP/8001", True, "培训")
    pbx.new_call("repairs", "13800138000", "张三")
    pbx.advance(7)
    client.send(Action="QueueStatus", Queue="repairs", ActionID="qs1")
    msgs = await client.until(lambda m: get(m, "Event") == "QueueStatusComplete")
    msgs = [m for m in msgs if get(m, "ActionID") == "qs1"]
    assert msgs[0] == [("Response", "Success"), ("ActionID", "qs1"), ("EventList", "start"), ("Message", "Queue status will follow")]
    items = msgs[1:-1]
    assert [get(m, "Event") for m in items] == ["QueueParams", "QueueMember", "QueueMember", "QueueEntry"]
    assert all(m[-1] == ("ActionID", "qs1") for m in items)
    member = dict(items[1])
    assert member["Name"] == "王静" and member["Location"] == "PJSIP/8001" and member["Penalty"] == "1"
    assert member["Paused"] == "1" and member["PausedReason"] == "培训"
    entry = dict(items[3])
    assert entry["CallerIDName"] == "张三" and entry["Position"] == "1" and entry["Wait"] == "7"
    assert msgs[-1] == [("Event", "QueueStatusComplete"), ("ActionID", "qs1"), ("EventList", "Complete"), ("ListItems", "4")]


async def test_coreshowchannels_and_summary(server: AmiServer, client: Client) -> None:
    pbx = server.pbx
    pbx.add_member("vip", "PJSIP/8001", "王静")
    pbx.new_call("vip", "13800138000", "张三", answer=[{"agent": "PJSIP/8001", "after": 2}], talk=100)
    pbx.advance(10)
    client.send(Action="CoreShowChannels", ActionID="c")
    msgs = [m for m in await client.until(lambda m: get(m, "Event") == "CoreShowChannelsComplete") if get(m, "ActionID") == "c"]
    chans = [dict(m) for m in msgs if get(m, "Event") == "CoreShowChannel"]
    assert msgs[1][:2] == [("Event", "CoreShowChannel"), ("ActionID", "c")]
    assert sorted(c["Channel"].rsplit("-", 1)[0] for c in chans) == ["PJSIP/8001", "PJSIP/carrier"]
    assert len({c["BridgeId"] for c in chans}) == 1 and chans[0]["BridgeId"]
    assert dict(msgs[-1])["ListItems"] == "2"
    client.send(Action="QueueSummary", Queue="vip", ActionID="s")
    msgs = await client.until(lambda m: get(m, "Event") == "QueueSummaryComplete")
    summary = next(dict(m) for m in msgs if get(m, "Event") == "QueueSummary")
    assert summary["LoggedIn"] == "1" and summary["Available"] == "0" and summary["Callers"] == "0"


async def test_queueadd_pause_remove_reply_then_event(server: AmiServer, client: Client) -> None:
    client.send(Action="QueueAdd", Queue="repairs", Interface="PJSIP/8005", MemberName="赵敏", Penalty="2", ActionID="a")
    reply, event = await client.read(), await client.read()
    assert reply == [("Response", "Success"), ("ActionID", "a"), ("Message", "Added interface to queue")]
    assert get(event, "Event") == "QueueMemberAdded"
    assert [k for k, _ in event][3:] == [
        "Queue", "MemberName", "Interface", "StateInterface", "Membership", "Penalty", "CallsTaken", "LastCall",
        "LastPause", "LoginTime", "InCall", "Status", "Paused", "PausedReason", "Ringinuse", "Wrapuptime",
    ]  # fmt: skip
    assert get(event, "MemberName") == "赵敏" and get(event, "Membership") == "dynamic" and get(event, "Penalty") == "2"
    client.send(Action="QueueAdd", Queue="repairs", Interface="PJSIP/8005", ActionID="b")
    assert get(await client.read(), "Message") == "Unable to add interface: Already there"
    client.send(Action="QueuePause", Interface="PJSIP/8005", Paused="true", Reason="就餐", ActionID="p")
    assert get(await client.read(), "Message") == "Interface paused successfully"
    ev = await client.read()
    assert get(ev, "Event") == "QueueMemberPause" and get(ev, "Paused") == "1" and get(ev, "PausedReason") == "就餐"
    client.send(Action="QueuePause", Interface="PJSIP/8005", Paused="false", ActionID="u")
    assert get(await client.read(), "Message") == "Interface unpaused successfully"
    ev = await client.read()
    assert get(ev, "Paused") == "0" and get(ev, "PausedReason") == ""
    client.send(Action="QueuePause", Interface="PJSIP/9999", Paused="true", ActionID="n")
    assert get(await client.read(), "Message") == "Interface not found"
    client.send(Action="QueueRemove", Queue="repairs", Interface="PJSIP/8005", ActionID="r")
    assert get(await client.read(), "Message") == "Removed interface from queue"
    assert get(await client.read(), "Event") == "QueueMemberRemoved"
    client.send(Action="QueueAdd", Queue="nosuch", Interface="PJSIP/8005", ActionID="q")
    assert get(await client.read(), "Message") == "Unable to add interface to queue: No such queue"


async def test_gateway_actions_answer_like_asterisk(server: AmiServer, client: Client) -> None:
    pbx = server.pbx
    pbx.add_member("repairs", "PJSIP/8001", "王静")
    pbx.new_call("repairs", "13800138000", "张三", answer=[{"agent": "PJSIP/8001", "after": 1}], talk=300)
    pbx.advance(5)
    agent_leg = next(n for n in pbx.channels if n.startswith("PJSIP/8001"))
    for action, msg in [("PauseMonitor", "Paused monitoring of the channel"), ("UnpauseMonitor", "Unpaused monitoring of the channel")]:
        client.send(Action=action, Channel=agent_leg, ActionID=action)
        reply = await client.until(lambda m: get(m, "ActionID") == action)
        assert get(reply[-1], "Message") == msg
    client.send(Action="Hangup", Channel="PJSIP/nope-00000099", ActionID="h")
    reply = await client.until(lambda m: get(m, "ActionID") == "h")
    assert get(reply[-1], "Message") == "No such channel"
    pbx.add_member("complaints", "PJSIP/8002", "李娜")
    client.send(Action="BlindTransfer", Channel=agent_leg, Exten="complaints", Context="cc-queue", ActionID="t")
    msgs = await client.until(lambda m: get(m, "Event") == "QueueCallerJoin")
    assert get(next(m for m in msgs if get(m, "ActionID") == "t"), "Message") == "Transfer succeeded"
    complete = next(dict(m) for m in msgs if get(m, "Event") == "AgentComplete")
    assert complete["Reason"] == "transfer" and complete["TalkTime"] == "4"


async def test_originate_rings_agent_then_callee(server: AmiServer, client: Client) -> None:
    server.pbx.set_phone("PJSIP/8003", answer_after=2)
    client.send(Action="Originate", Channel="PJSIP/8003", Exten="13800138000", Context="agents",
                Priority="1", CallerID="坐席 <8003>", Async="true", ActionID="o")  # fmt: skip
    assert get(await client.read(), "Message") == "Originate successfully queued"
    server.pbx.advance(30)
    msgs = await client.until(lambda m: get(m, "Event") == "BridgeEnter" and get(m, "Channel", ).startswith("PJSIP/carrier"))
    names = [get(m, "Event") for m in msgs]
    assert names.index("OriginateResponse") < names.index("DialBegin")
    resp = next(dict(m) for m in msgs if get(m, "Event") == "OriginateResponse")
    assert resp["ActionID"] == "o" and resp["Response"] == "Success" and resp["Channel"].startswith("PJSIP/8003-")
    dial = next(dict(m) for m in msgs if get(m, "Event") == "DialBegin")
    assert dial["Channel"] == resp["Channel"] and dial["DestLinkedid"] == resp["Uniqueid"]


async def test_chanspy_originate(server: AmiServer, client: Client) -> None:
    pbx = server.pbx
    pbx.add_member("repairs", "PJSIP/8001", "王静")
    pbx.new_call("repairs", "13800138000", "张三", answer=[{"agent": "PJSIP/8001", "after": 1}], talk=300)
    pbx.set_phone("PJSIP/7001", answer_after=1)
    pbx.advance(5)
    client.send(Action="Originate", Channel="PJSIP/7001", Application="ChanSpy", Data="PJSIP/8001,qB", ActionID="spy")
    await client.until(lambda m: get(m, "ActionID") == "spy")
    pbx.advance(5)
    msgs = await client.until(lambda m: get(m, "Event") == "ChanSpyStart")
    spy = dict(msgs[-1])
    assert spy["SpyerChannel"].startswith("PJSIP/7001-") and spy["SpyeeChannel"].startswith("PJSIP/8001-")


async def test_write_chunk_one_byte_segments_still_frame(server: AmiServer, client: Client) -> None:
    server.faults.write_chunk = 1
    server.pbx.add_member("repairs", "PJSIP/8001", "王静")
    ev = await client.read()
    assert get(ev, "Event") == "QueueMemberAdded" and get(ev, "MemberName") == "王静"


async def test_inject_raw_and_drop_mid_event(server: AmiServer, client: Client) -> None:
    await server.inject_raw(b"Event: UserEvent\r\nUserEvent: Probe\r\n\r\n")
    assert get(await client.read(), "UserEvent") == "Probe"
    await server.drop_connections(mid_event=True)
    assert await client.read() is None
    assert client.raw.endswith(b"Queue: ")  # cut half-way through an event


async def test_record_equals_what_the_client_received() -> None:
    buf = io.BytesIO()
    srv = AmiServer(pbx=PBX(clock=VirtualClock(), seed=3), record=buf)
    srv.faults.login_delay_s = 0
    port = await srv.start()
    c = await Client.connect(port)
    await c.login()
    srv.pbx.add_member("repairs", "PJSIP/8001", "王静")
    srv.pbx.new_call("repairs", "13800138000", "张三", answer=[{"agent": "PJSIP/8001", "after": 3}], talk=20)
    srv.pbx.run_until_idle()
    c.send(Action="Logoff")
    while await c.read() is not None:
        pass
    await srv.stop()
    assert buf.getvalue() == c.raw
    assert "张三".encode() in c.raw and c.raw.count(b"\r\n\r\n") > 30
    assert parse(c.raw.split(b"\r\n\r\n")[1])[0] == ("Event", "FullyBooted")


async def test_real_clock_runs_by_itself() -> None:
    from callcenter.simulator.clock import RealClock

    srv = AmiServer(pbx=PBX(clock=RealClock(speed=50.0)))
    srv.faults.login_delay_s = 0
    port = await srv.start()
    c = await Client.connect(port)
    await c.login()
    await c.read()
    srv.pbx.add_member("repairs", "PJSIP/8001", "王静")
    srv.pbx.new_call("repairs", "13800138000", "张三", answer=[{"agent": "PJSIP/8001", "after": 5}], talk=5)
    msgs = await c.until(lambda m: get(m, "Event") == "AgentComplete", timeout=2.0)
    connect = next(dict(m) for m in msgs if get(m, "Event") == "AgentConnect")
    assert connect["HoldTime"] == "5"
    await c.close()
    await srv.stop()
    await asyncio.sleep(0)


async def test_panoramisk_client_logs_in_and_lists(server: AmiServer) -> None:
    """The real client library the bridge uses talks to it unmodified."""
    from panoramisk import Manager

    server.pbx.add_member("repairs", "PJSIP/8001", "王静")
    got: list[str] = []
    manager = Manager(host="127.0.0.1", port=server.port, username="callcenter", secret="callcenter", ping_delay=60)
    manager.register_event("*", lambda _m, msg: got.append(msg.Event))
    await manager.connect()
    for _ in range(100):
        if manager.authenticated:
            break
        await asyncio.sleep(0.01)
    assert manager.authenticated
    reply = await asyncio.wait_for(manager.send_action({"Action": "QueueStatus", "Queue": "repairs"}), 2)
    assert [m.get("Event") for m in reply][1:] == ["QueueParams", "QueueMember", "QueueStatusComplete"]
    assert reply[2].Name == "王静"
    server.pbx.new_call("repairs", "13800138000", "张三", answer=[{"agent": "PJSIP/8001", "after": 1}], talk=5)
    server.pbx.run_until_idle()
    for _ in range(100):
        if "AgentComplete" in got:
            break
        await asyncio.sleep(0.01)
    assert {"FullyBooted", "QueueCallerJoin", "AgentConnect", "AgentComplete"} <= set(got)
    manager.close()


async def test_pjsipnotify_hold_and_talk_hold_the_agents_call(server: AmiServer, client: Client) -> None:
    """The gateway's hold: a remote-control NOTIFY the agent's phone honours."""
    pbx = server.pbx
    pbx.add_member("vip", "PJSIP/8001", "王静")
    pbx.new_call("vip", "13800138000", "张三", answer=[{"agent": "PJSIP/8001", "after": 2}], talk=100)
    pbx.advance(5)
    await client.until(lambda m: get(m, "Event") == "AgentConnect")
    client.send(Action="PJSIPNotify", Endpoint="8001", Option="cc-hold", ActionID="h")
    msgs = await client.until(lambda m: get(m, "Event") == "MusicOnHoldStart")
    assert next(get(m, "Message") for m in msgs if get(m, "ActionID") == "h") == "NOTIFY sent"
    hold = next(m for m in msgs if get(m, "Event") == "Hold")
    assert get(hold, "Channel").startswith("PJSIP/8001-")
    client.send(Action="PJSIPNotify", Endpoint="8001", Option="cc-talk", ActionID="t")
    msgs = await client.until(lambda m: get(m, "Event") == "MusicOnHoldStop")
    assert [get(m, "Event") for m in msgs if get(m, "Event")][-2:] == ["Unhold", "MusicOnHoldStop"]
    client.send(Action="PJSIPNotify", Endpoint="8001", Option="nosuch", ActionID="n")
    msgs = await client.until(lambda m: get(m, "ActionID") == "n")
    assert get(msgs[-1], "Response") == "Error"
