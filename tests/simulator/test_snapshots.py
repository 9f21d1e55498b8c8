"""The list actions a resync reads describe the live calls truthfully:
CoreShowChannels, Status, BridgeList/BridgeInfo and QueueStatus agree with
each other and with the events already sent (who is bridged with whom,
since when, who waits where), with Asterisk 20's field order."""

from __future__ import annotations

from callcenter.simulator.server import AmiServer
from tests.simulator.conftest import Client, get


async def items(client: Client, action: str, complete: str, aid: str, **fields: str) -> tuple[list[dict[str, str]], list[tuple[str, str]]]:
    client.send(Action=action, ActionID=aid, **fields)
    msgs = [m for m in await client.until(lambda m: get(m, "Event") == complete and get(m, "ActionID") == aid) if get(m, "ActionID") == aid]
    return [dict(m) for m in msgs[1:-1]], msgs[-1]


async def test_resync_lists_describe_the_calls_in_progress(server: AmiServer, client: Client) -> None:
    pbx = server.pbx
    pbx.add_member("repairs", "PJSIP/8001", "王静")
    pbx.add_member("complaints", "Local/8006@agents/n", "刘洋", state_interface="PJSIP/8006")
    pbx.add_member("vip", "PJSIP/8009", "赵敏", paused=True, reason="小休")
    pbx.advance(0)
    pbx.new_call("repairs", "13800000001", "张三", answer=[{"agent": "PJSIP/8001", "after": 2}], talk=600)
    pbx.new_call("complaints", "13800000002", answer=[{"agent": "Local/8006@agents/n", "after": 3}], talk=600)
    pbx.new_call("vip", "13800000003", priority=5, patience=600)
    pbx.advance(20)

    chans, done = await items(client, "CoreShowChannels", "CoreShowChannelsComplete", "c")
    names = sorted(c["Channel"].rsplit("-", 1)[0] for c in chans)
    assert names == ["Local/8006@agents", "Local/8006@agents", "PJSIP/8001", "PJSIP/8006", "PJSIP/carrier", "PJSIP/carrier", "PJSIP/carrier"]
    assert dict(done)["ListItems"] == "7" and list(chans[0])[:3] == ["Event", "ActionID", "Channel"]
    assert list(chans[0])[-4:] == ["Application", "ApplicationData", "Duration", "BridgeId"]  # Asterisk 20's order
    first = next(c for c in chans if c["CallerIDNum"] == "13800000001" and c["Channel"].startswith("PJSIP/carrier"))
    assert first["Duration"] == "00:00:20" and first["Application"] == "Queue" and first["ApplicationData"].startswith("repairs,tc")
    waiting = next(c for c in chans if c["CallerIDNum"] == "13800000003")
    assert waiting["BridgeId"] == "" and waiting["Application"] == "Queue"

    bridges, done = await items(client, "BridgeList", "BridgeListComplete", "b")
    assert dict(done)["ListItems"] == "3" == str(len(bridges))  # two queue bridges + the Local pair's
    in_bridges = {}
    for b in bridges:
        members, complete = await items(client, "BridgeInfo", "BridgeInfoComplete", "i" + b["BridgeUniqueid"][:4], BridgeUniqueid=b["BridgeUniqueid"])
        assert dict(complete)["BridgeUniqueid"] == b["BridgeUniqueid"] and dict(complete)["BridgeNumChannels"] == "2"
        in_bridges[b["BridgeUniqueid"]] = sorted(m["Channel"] for m in members)
    by_channel = {c["Channel"]: c["BridgeId"] for c in chans}
    for bid, members in in_bridges.items():
        assert all(by_channel[m] == bid for m in members)  # CoreShowChannels and BridgeInfo agree
    # The /n Local member: the caller is bridged with ;1, the phone with ;2.
    local = sorted(n for n in by_channel if n.startswith("Local/"))
    phone = next(n for n in by_channel if n.startswith("PJSIP/8006"))
    assert sorted([local[1], phone]) in in_bridges.values()

    statuses, done = await items(client, "Status", "StatusComplete", "s")
    assert dict(done)["Items"] == "7" and all(s["Privilege"] == "Call" for s in statuses)
    status = next(s for s in statuses if s["Channel"] == first["Channel"])
    assert status["BridgeID"] == first["BridgeId"] and status["Seconds"] == "20" and status["Type"] == "PJSIP"
    assert list(status)[-1] == "ActionID"
    client.send(Action="Status", Channel="PJSIP/nope-1", ActionID="x")
    assert get((await client.until(lambda m: get(m, "ActionID") == "x"))[-1], "Message") == "No such channel"

    queue, _ = await items(client, "QueueStatus", "QueueStatusComplete", "q")
    member = next(m for m in queue if m["Event"] == "QueueMember" and m["Name"] == "刘洋")
    assert (member["Location"], member["StateInterface"], member["Status"], member["InCall"]) == ("Local/8006@agents/n", "PJSIP/8006", "2", "1")
    entry = next(m for m in queue if m["Event"] == "QueueEntry")
    assert (entry["Queue"], entry["Wait"], entry["Priority"], entry["Channel"]) == ("vip", "20", "5", waiting["Channel"])


async def test_a_second_login_needs_allowmultiplelogin(server: AmiServer, client: Client) -> None:
    """asterisk/manager.conf ships allowmultiplelogin = yes; with no, Asterisk
    refuses a user that already has a session ("Login Already In Use")."""
    second = await Client.connect(server.port)  # type: ignore[attr-defined]
    assert get(await second.login(), "Response") == "Success"
    await second.close()
    server.allow_multiple_login = False
    third = await Client.connect(server.port)  # type: ignore[attr-defined]
    reply = await third.login()
    assert get(reply, "Message") == "Login Already In Use"
    assert await third.read() is None  # and the socket is closed
