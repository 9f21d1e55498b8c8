"""Actions through the one gateway, against the simulated Asterisk."""

from __future__ import annotations

import asyncio
import time

import pytest

from callcenter.acd import events as ev
from callcenter.ami.bridge import Bridge
from callcenter.ami.gateway import ActionError, ActionTimeout, NotConnected
from callcenter.simulator.pbx import PBX
from callcenter.simulator.server import AmiServer
from tests.ami.conftest import Sink, ami_settings, until


@pytest.fixture
async def linked(server: AmiServer, make_bridge) -> tuple[Bridge, Sink]:
    sink = Sink()
    bridge: Bridge = await make_bridge(ami_settings(server.port), sink)
    await until(lambda: bridge.resynced, what="resync")
    return bridge, sink


async def test_queue_add_returns_instead_of_hanging(linked, pbx: PBX) -> None:
    """panoramisk 1.4 waits forever on QueueAdd (issue #54)."""
    bridge, sink = linked
    t0 = time.monotonic()
    result = await bridge.gateway.queue_add("support", "PJSIP/8001", member_name="赵六", penalty=2)
    assert time.monotonic() - t0 < 2.0  # 1.4 would never return; 2 s absorbs a loaded CI box
    assert (result.action, result.message) == ("QueueAdd", "Added interface to queue")
    [added] = await sink.wait(ev.MemberAdded)
    assert (added.queue, added.interface, added.member_name, added.penalty) == ("support", "PJSIP/8001", "赵六", 2)
    with pytest.raises(ActionError, match="Already there") as exc:
        await bridge.gateway.queue_add("support", "PJSIP/8001")
    assert exc.value.action == "QueueAdd"


async def test_pause_with_reason_unpause_and_remove(linked, pbx: PBX) -> None:
    bridge, sink = linked
    pbx.add_member("support", "PJSIP/8001")
    pbx.add_member("sales", "PJSIP/8001")
    await bridge.gateway.queue_pause("PJSIP/8001", True, reason="午饭")
    paused = await sink.wait(ev.MemberPaused, 2)
    assert {(p.queue, p.paused, p.reason) for p in paused} == {("support", True, "午饭"), ("sales", True, "午饭")}
    await bridge.gateway.queue_pause("PJSIP/8001", False, queue="sales")
    paused = await sink.wait(ev.MemberPaused, 3)
    assert (paused[-1].queue, paused[-1].paused) == ("sales", False)
    result = await bridge.gateway.queue_remove("sales", "PJSIP/8001")
    assert result.message == "Removed interface from queue"
    [removed] = await sink.wait(ev.MemberRemoved)
    assert (removed.queue, removed.interface) == ("sales", "PJSIP/8001")
    with pytest.raises(ActionError, match="Not there"):
        await bridge.gateway.queue_remove("sales", "PJSIP/8001")


async def test_call_control_actions(linked, pbx: PBX) -> None:
    bridge, sink = linked
    gw = bridge.gateway
    pbx.add_member("support", "PJSIP/8001")
    call = pbx.new_call("support", "13800138000", "客户", answer=[{"agent": "PJSIP/8001", "after": 1}], talk=300)
    pbx.advance(2)
    [connected] = await sink.wait(ev.AgentConnected)
    assert connected.uniqueid == call.caller.uniqueid
    assert (await gw.mix_monitor(connected.dest_channel, "/tmp/x.wav", "b")).action == "MixMonitor"
    assert (await gw.pause_monitor(connected.dest_channel)).action == "MixMonitorMute"
    assert (await gw.unpause_monitor(connected.dest_channel)).action == "MixMonitorMute"
    assert (await gw.click_to_call("PJSIP/8002", "13900000000", "from-internal")).message == "Originate successfully queued"
    assert (await gw.spy("PJSIP/8009", "PJSIP/8001", "whisper")).message == "Originate successfully queued"
    assert (await gw.hold(connected.dest_channel)).action == "PJSIPNotify"
    [held] = await sink.wait(ev.Hold)
    assert held.uniqueid == connected.dest_uniqueid
    await gw.unhold("PJSIP/8001")
    [unheld] = await sink.wait(ev.Unhold)
    assert unheld.channel == connected.dest_channel
    with pytest.raises(ActionError, match="not a PJSIP"):
        await gw.hold("SIP/8001")
    assert (await gw.blind_transfer(connected.dest_channel, "8005", "from-internal")).action == "BlindTransfer"
    with pytest.raises(ActionError, match="No such channel"):
        await gw.hangup("PJSIP/nobody-00000000")
    with pytest.raises(ActionError, match="No such channel"):
        await gw.redirect("PJSIP/nobody-00000000", "s", "ivr")
    with pytest.raises(ActionError, match="No such channel"):
        await gw.atxfer("PJSIP/nobody-00000000", "8005", "from-internal")


async def test_bad_arguments_never_reach_the_wire(linked) -> None:
    bridge, _ = linked
    with pytest.raises(ValueError, match="Reason must not contain line breaks"):
        await bridge.gateway.queue_pause("PJSIP/8001", True, reason="x\r\nAction: Hangup")
    with pytest.raises(ValueError, match="mode must be one of"):
        await bridge.gateway.spy("PJSIP/8009", "PJSIP/8001", "shout")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="either exten"):
        await bridge.gateway.originate("PJSIP/8001")


async def test_action_timeout(server: AmiServer, make_bridge) -> None:
    bridge: Bridge = await make_bridge(ami_settings(server.port, ami_ping_interval_s=10, ami_dead_after_s=30))
    await until(lambda: bridge.resynced, what="resync")
    server.faults.ignore_pings = True
    t0 = time.monotonic()
    with pytest.raises(ActionTimeout, match="no reply within 0.1 s"):
        await bridge.gateway.send({"Action": "Ping"}, timeout_s=0.1)
    assert time.monotonic() - t0 < 1.5  # the 0.1 s timeout fired, not the 5 s default
    assert bridge._link is not None and not bridge._link.responses  # nothing left behind


async def test_not_connected_fails_at_once(server: AmiServer, make_bridge) -> None:
    bridge: Bridge = await make_bridge(ami_settings(server.port, ami_secret="wrong"))
    t0 = time.monotonic()
    with pytest.raises(NotConnected, match="link is down"):
        await bridge.gateway.hangup("PJSIP/8001-00000001")
    assert time.monotonic() - t0 < 1.0  # no 5 s action timeout: it failed at once


async def test_spy_builds_an_exact_chanspy(linked, server: AmiServer) -> None:
    bridge, _ = linked
    sent: list[str] = []
    original = bridge._link.transport.write  # type: ignore[union-attr]

    def spy_write(data: bytes) -> None:
        sent.append(data.decode())
        original(data)

    bridge._link.transport.write = spy_write  # type: ignore[union-attr]
    for mode, opts in (("listen", "qES"), ("whisper", "qwES"), ("barge", "qBES")):
        await bridge.gateway.spy("PJSIP/8009", "PJSIP/80", mode)
        assert f"Data: PJSIP/80-,{opts}\r\n" in sent[-1] and "Application: ChanSpy\r\n" in sent[-1]
        assert "Channel: PJSIP/8009\r\n" in sent[-1]
    await asyncio.sleep(0)


async def test_a_local_member_follows_its_phone(linked, pbx: PBX) -> None:
    """QueueAdd of Local/8006@agents/n carries StateInterface PJSIP/8006 (the
    shipped [agents] dials it), so the member rings and talks as its phone does."""
    bridge, _sink = linked
    await bridge.gateway.queue_add("support", "Local/8006@agents/n", member_name="刘洋")
    member = pbx.queues["support"].members["Local/8006@agents/n"]
    assert member.state_interface == "PJSIP/8006"
    pbx.new_call("support", "13800138000", answer=[{"agent": "Local/8006@agents/n", "after": 2}], talk=30)
    pbx.advance(1)
    assert pbx.device_state("PJSIP/8006") == 6  # ringing, which a Local device never says
    pbx.advance(2)
    assert pbx.device_state("PJSIP/8006") == 2
    phone = next(n for n in pbx.channels if n.startswith("PJSIP/8006-"))
    await bridge.gateway.hold(phone)  # the PJSIPNotify reaches the phone behind the Local member
    assert pbx.calls[next(iter(pbx.calls))].on_hold
