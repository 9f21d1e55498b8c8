"""The bridge against a real TCP AMI server (the simulator): log-in,
resync, live events, and every fault the issue lists."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from prometheus_client import REGISTRY

from callcenter.acd import events as ev
from callcenter.ami.bridge import Bridge
from callcenter.ami.gateway import NotConnected
from callcenter.simulator.pbx import PBX, Queue
from callcenter.simulator.server import AmiServer
from tests.ami.conftest import SECRET, USER, Sink, ami_settings, until


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_logs_in_resyncs_and_delivers_live_events(server: AmiServer, pbx: PBX, make_bridge) -> None:
    pbx.add_member("support", "PJSIP/8001", "张三")
    pbx.pause("PJSIP/8001", True, "午休")
    sink = Sink()
    bridge: Bridge = await make_bridge(ami_settings(server.port), sink)
    [resync] = await sink.wait(ev.Resync)
    assert bridge.readiness() == {"ok": True, "state": "authenticated", "server": f"127.0.0.1:{server.port}"}
    assert set(resync.queues) == {"support", "sales"}
    [member] = resync.members
    assert (member.queue, member.interface, member.member_name, member.paused, member.paused_reason) == (
        "support", "PJSIP/8001", "张三", True, "午休",
    )  # fmt: skip
    assert resync.ts == pbx.now  # the server's clock (Pong Timestamp), not ours

    pbx.pause("PJSIP/8001", False)
    pbx.new_call("support", "13800138000", "李四", answer=[{"agent": "PJSIP/8001", "after": 4}], talk=30)
    pbx.advance(60)
    await sink.wait(ev.Hangup, 2)
    kinds = [type(e).__name__ for e in sink.events[1:]]
    for expected in ("CallerJoined", "AgentCalled", "DialEnded", "CallerLeft", "AgentConnected", "BridgeEntered", "AgentCompleted"):
        assert expected in kinds
    assert kinds.index("CallerJoined") < kinds.index("AgentCalled") < kinds.index("AgentConnected") < kinds.index("AgentCompleted")
    [joined] = sink.of(ev.CallerJoined)
    assert joined.caller_name == "李四" and joined.caller_number == "13800138000"
    assert joined.ts == pbx.started  # from the Timestamp header
    [connected] = sink.of(ev.AgentConnected)
    assert (connected.hold_time_s, connected.ring_time_s) == (4.0, 4.0)
    [done] = sink.of(ev.AgentCompleted)
    assert (done.talk_time_s, done.reason, done.ts) == (30.0, "caller", pbx.started + 34)
    [unpause] = [e for e in sink.of(ev.MemberPaused) if not e.paused]
    assert unpause.interface == "PJSIP/8001"


async def test_wrong_secret_is_reported_once_and_retried_with_backoff(server: AmiServer, make_bridge, caplog) -> None:
    caplog.set_level(logging.DEBUG, "callcenter.ami")
    bridge: Bridge = await make_bridge(ami_settings(server.port, ami_secret="wrong"))
    await until(lambda: bridge.attempts >= 4, what="4 log-in attempts")
    ready = bridge.readiness()
    assert ready["ok"] is False and ready["error"] == f"AMI login rejected for user {USER}"
    rejected = [r for r in caplog.records if r.levelno >= logging.ERROR and "login rejected" in r.getMessage()]
    assert len(rejected) == 1
    assert not [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "callcenter.ami"]
    # No spin: with backoff 0.02 s doubling to a 0.1 s cap, 0.5 s allows a handful of tries.
    before = bridge.attempts
    await asyncio.sleep(0.5)
    assert 2 <= bridge.attempts - before <= 12


async def test_state_changes_are_logged(server: AmiServer, make_bridge, caplog) -> None:
    caplog.set_level(logging.INFO, "callcenter.ami")
    bridge: Bridge = await make_bridge(ami_settings(server.port))
    await until(lambda: bridge.resynced)
    await server.drop_connections(mid_event=False)
    await until(lambda: bridge.sessions == 2 and bridge.resynced)
    lines = [r.getMessage() for r in caplog.records if r.name == "callcenter.ami"]
    states = [line for line in lines if line.startswith("AMI link")]
    assert states[:3] == ["AMI link connecting", "AMI link connected", "AMI link authenticated"]
    assert any(line.startswith("AMI link lost") for line in states)
    assert states[-3:] == ["AMI link connecting", "AMI link connected", "AMI link authenticated"]


async def test_reconnects_after_a_drop_mid_event_and_resyncs(server: AmiServer, pbx: PBX, make_bridge) -> None:
    pbx.add_member("support", "PJSIP/8001")
    sink = Sink()
    reconnects = metric("callcenter_ami_reconnects_total")
    bridge: Bridge = await make_bridge(ami_settings(server.port), sink)
    await sink.wait(ev.Resync)
    await server.drop_connections(mid_event=True)
    await sink.wait(ev.Resync, 2)
    assert bridge.sessions == 2
    # The half-written QueueMemberStatus never comes out as an event.
    assert sink.of(ev.MemberStatus) == []
    assert metric("callcenter_ami_reconnects_total") == reconnects + 1
    pbx.add_member("sales", "PJSIP/8002")
    [added] = await sink.wait(ev.MemberAdded)
    assert added.interface == "PJSIP/8002"


async def test_backoff_is_exponential_jittered_and_capped(server: AmiServer) -> None:
    bridge = Bridge(ami_settings(server.port, ami_backoff_initial_s=0.5, ami_backoff_max_s=8.0), Sink())
    delays = [[bridge._backoff(a) for a in range(8)] for _ in range(50)]
    for attempt, ceiling in enumerate([0.5, 1, 2, 4, 8, 8, 8, 8]):
        column = [d[attempt] for d in delays]
        assert all(ceiling / 2 <= x <= ceiling for x in column)
        assert len(set(column)) > 1  # jittered


async def test_server_down_at_start_then_up(make_bridge) -> None:
    probe = AmiServer(username=USER, secret=SECRET)
    port = await probe.start()
    await probe.stop()  # the port is now closed: connection refused
    sink = Sink()
    bridge: Bridge = await make_bridge(ami_settings(port), sink)
    await until(lambda: bridge.probes >= 2, what="probes while refused")
    assert bridge.attempts == 1  # while refused, only the cheap probes run
    assert bridge.readiness()["ok"] is False and "ConnectionRefusedError" in bridge.readiness()["error"]
    server = AmiServer(username=USER, secret=SECRET)
    server.faults.login_delay_s = 0
    await server.start(port=port)
    try:
        await sink.wait(ev.Resync)
        assert bridge.readiness()["ok"] is True
    finally:
        await server.stop()


async def test_dead_link_is_detected_and_replaced(server: AmiServer, make_bridge) -> None:
    bridge: Bridge = await make_bridge(ami_settings(server.port, ami_dead_after_s=0.3))
    await until(lambda: bridge.resynced)
    server.faults.ignore_pings = True
    t0 = time.monotonic()
    await until(lambda: bridge.state == "lost" or bridge.sessions > 1, timeout=2, what="dead link")
    detected = time.monotonic() - t0
    assert detected <= 0.3 + 0.4  # dead_after plus a watchdog tick and scheduling slack
    assert bridge.error is not None and bridge.error.startswith("dead link: no reply to Ping for")
    # Not declared dead too early: the silence it measured (since the last
    # Pong, which a loaded machine may have answered before t0) is ≥ dead_after.
    assert float(bridge.error.split("for ")[1].split(" s")[0]) >= 0.3
    server.faults.ignore_pings = False
    await until(lambda: bridge.sessions == 2 and bridge.resynced, what="reconnect")


async def test_every_byte_in_its_own_segment(server: AmiServer, pbx: PBX, make_bridge) -> None:
    server.faults.write_chunk = 1
    pbx.add_member("support", "PJSIP/8001", "客服一号", paused=True, reason="会议")  # nobody answers
    sink = Sink()
    # The shipped dialplan's call is ~11 KB of events before the abandon (route,
    # recording, queue), one byte per TCP segment; a Pong queued behind them
    # must not make the watchdog call the link dead (0.3 s in these fixtures).
    await make_bridge(ami_settings(server.port, ami_dead_after_s=10.0), sink)
    [resync] = await sink.wait(ev.Resync)
    assert resync.members[0].member_name == "客服一号"
    pbx.new_call("support", "02112345678", "上海浦东物业管理有限公司", patience=5)
    pbx.advance(10)
    [joined] = await sink.wait(ev.CallerJoined, timeout=10)
    assert joined.caller_name == "上海浦东物业管理有限公司"
    [abandoned] = await sink.wait(ev.CallerAbandoned, timeout=10)
    assert abandoned.hold_time_s == 5.0


async def test_garbage_is_counted_and_skipped_without_breaking_the_link(server: AmiServer, make_bridge) -> None:
    sink = Sink()
    bridge: Bridge = await make_bridge(ami_settings(server.port), sink)
    await sink.wait(ev.Resync)
    before = {k: metric("callcenter_ami_malformed_total", kind=k) for k in ("frame", "line", "utf8", "value", "oversized_header")}
    await server.inject_raw(
        b"this is not AMI at all\r\n\r\n"
        b"Event: QueueCallerJoin\r\nQueue: support\r\nUniqueid: 1700000000.10\r\nPosition: first\r\nCount: 1\r\n\r\n"
        b"Event: Hangup\r\nUniqueid: 1700000000.11\r\nCallerIDName: \xe6\x9d\x8e\xff\r\nCause: 16\r\nnonsense line\r\n\r\n"
        b"Event: Hold\r\nUniqueid: 1700000000.12\r\nAppData: " + b"x" * 20000 + b"\r\nChannel: PJSIP/8001-1\r\n\r\n"
        b"Event: Unhold\r\nUniqueid: 1700000000.13\r\nChannel: PJSIP/8001-1\r\n\r\n"
    )
    await sink.wait(ev.Unhold)
    [hangup] = sink.of(ev.Hangup)
    assert hangup.uniqueid == "1700000000.11" and hangup.cause == 16
    [hold] = sink.of(ev.Hold)
    assert hold.channel == "PJSIP/8001-1"  # the oversized header alone was dropped
    assert sink.of(ev.CallerJoined) == []  # "Position: first" cannot be a position
    for kind in before:
        assert metric("callcenter_ami_malformed_total", kind=kind) == before[kind] + 1, kind
    assert bridge.sessions == 1 and bridge.state == "authenticated"


async def test_oversized_frame_is_dropped_and_the_stream_recovers(server: AmiServer, make_bridge) -> None:
    sink = Sink()
    bridge: Bridge = await make_bridge(ami_settings(server.port), sink)
    await sink.wait(ev.Resync)
    before = metric("callcenter_ami_malformed_total", kind="oversized_frame")
    huge = b"Event: UserEvent\r\nUserEvent: Flood\r\n" + b"Data: " + b"y" * (1 << 20) + b"\r\n\r\n"
    await server.inject_raw(huge + b"Event: Unhold\r\nUniqueid: 1.2\r\nChannel: PJSIP/8001-2\r\n\r\n")
    [unhold] = await sink.wait(ev.Unhold)
    assert unhold.uniqueid == "1.2"
    assert sink.of(ev.UserEvent) == []
    assert metric("callcenter_ami_malformed_total", kind="oversized_frame") == before + 1
    assert bridge.sessions == 1


async def test_timestamp_falls_back_to_receive_time(server: AmiServer, make_bridge) -> None:
    sink = Sink()
    await make_bridge(ami_settings(server.port), sink)
    await sink.wait(ev.Resync)
    t0 = time.time()
    await server.inject_raw(b"Event: Unhold\r\nUniqueid: 1.2\r\nChannel: PJSIP/8001-2\r\n\r\n")
    [unhold] = await sink.wait(ev.Unhold)
    assert t0 <= unhold.ts <= time.time()


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_handler_exception_loses_nothing(server: AmiServer, pbx: PBX, make_bridge, caplog, kind: str) -> None:
    """panoramisk 1.4 closes the link (and loses the buffer) when a sync callback raises."""
    caplog.set_level(logging.ERROR, "callcenter.ami")
    seen: list[ev.Event] = []

    def sync_handler(event: ev.Event) -> None:
        seen.append(event)
        if isinstance(event, ev.MemberAdded) and event.interface == "PJSIP/8001":
            raise RuntimeError("boom")

    async def async_handler(event: ev.Event) -> None:
        await asyncio.sleep(0.001 if isinstance(event, ev.MemberAdded) and event.interface == "PJSIP/8002" else 0)
        sync_handler(event)

    handler = sync_handler if kind == "sync" else async_handler

    errors = metric("callcenter_ami_handler_errors_total")
    bridge: Bridge = await make_bridge(ami_settings(server.port), handler)
    await until(lambda: bridge.resynced)
    for i in range(1, 6):
        pbx.add_member("support", f"PJSIP/800{i}")
    await until(lambda: len([e for e in seen if isinstance(e, ev.MemberAdded)]) == 5, what="5 MemberAdded")
    assert [e.interface for e in seen if isinstance(e, ev.MemberAdded)] == [f"PJSIP/800{i}" for i in range(1, 6)]
    assert metric("callcenter_ami_handler_errors_total") == errors + 1
    assert "RuntimeError: boom" in caplog.text
    assert bridge.sessions == 1


async def test_action_in_flight_fails_promptly_when_the_link_drops(server: AmiServer, make_bridge) -> None:
    bridge: Bridge = await make_bridge(ami_settings(server.port, ami_action_timeout_s=5.0, ami_dead_after_s=5.0))
    await until(lambda: bridge.resynced)
    server.faults.ignore_pings = True  # so the action below gets no reply
    pending = asyncio.create_task(bridge.gateway.send({"Action": "Ping"}))
    await asyncio.sleep(0.05)
    t0 = time.monotonic()
    await server.drop_connections(mid_event=False)
    with pytest.raises(NotConnected, match="lost before the reply"):
        await pending
    assert time.monotonic() - t0 < 2.0  # well before the 5 s action timeout


async def test_resync_converges_after_a_restart_with_different_state(make_bridge) -> None:
    first = PBX(queues=[Queue("support"), Queue("sales")])
    first.add_member("support", "PJSIP/8001", "甲")
    first.add_member("sales", "PJSIP/8002", "乙")
    server = AmiServer(username=USER, secret=SECRET, pbx=first)
    server.faults.login_delay_s = 0
    port = await server.start()
    sink = Sink()
    bridge: Bridge = await make_bridge(ami_settings(port), sink)
    [before] = await sink.wait(ev.Resync)
    assert {m.interface for m in before.members} == {"PJSIP/8001", "PJSIP/8002"}
    await server.stop()

    # Asterisk comes back with other members, a paused one and a caller waiting.
    second = PBX(queues=[Queue("support"), Queue("billing")])
    second.add_member("billing", "PJSIP/8003", "丙")
    second.pause("PJSIP/8003", True, "培训")
    second.new_call("billing", "13900139000", "王女士")
    restarted = AmiServer(username=USER, secret=SECRET, pbx=second)
    restarted.faults.login_delay_s = 0
    await restarted.start(port=port)
    try:
        resyncs = await sink.wait(ev.Resync, 2, timeout=5)
        after = resyncs[-1]
        assert set(after.queues) == {"support", "billing"}
        [member] = after.members
        assert (member.interface, member.paused, member.paused_reason) == ("PJSIP/8003", True, "培训")
        [entry] = after.entries
        assert (entry.queue, entry.caller_number, entry.caller_name, entry.position) == ("billing", "13900139000", "王女士", 1)
        assert entry.uniqueid in {c.uniqueid for c in after.channels}
        assert bridge.readiness()["ok"] is True
    finally:
        await restarted.stop()


class _Wire:
    """A transport that records what the bridge writes."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def write(self, data: bytes) -> None:
        self.sent.append(data.decode())

    def abort(self) -> None:
        pass

    def close(self) -> None:
        pass

    def action_id(self, action: str) -> str:
        [text] = [t for t in self.sent if f"Action: {action}\r\n" in t]
        return text.split("ActionID: ", 1)[1].split("\r\n", 1)[0]


async def test_resync_is_slotted_where_the_snapshot_was_taken() -> None:
    """Events Asterisk sent before answering the snapshot come before the
    Resync; events sent after it come after, even while the lists stream in."""
    from callcenter.ami.bridge import _Link

    sink = Sink()
    bridge = Bridge(ami_settings(1), sink)
    link = _Link(bridge)
    wire = _Wire()
    link.connection_made(wire)  # type: ignore[arg-type]
    bridge.manager.protocol, bridge.manager.authenticated = link, True
    consumer = asyncio.create_task(bridge._consume())
    resync = asyncio.create_task(bridge._resync(link))
    await until(lambda: len(wire.sent) == 3, what="the three snapshot actions")
    ping, qs, cs = (wire.action_id(a) for a in ("Ping", "QueueStatus", "CoreShowChannels"))

    def unhold(uid: str) -> bytes:
        return f"Event: Unhold\r\nPrivilege: call,all\r\nTimestamp: 1700000001.0\r\nUniqueid: {uid}\r\nChannel: PJSIP/1-1\r\n\r\n".encode()

    link.data_received(unhold("before") + f"Response: Success\r\nActionID: {ping}\r\nPing: Pong\r\nTimestamp: 1700000002.500000\r\n\r\n".encode())
    link.data_received(
        f"Response: Success\r\nActionID: {qs}\r\nEventList: start\r\nMessage: Queue status will follow\r\n\r\n".encode()
        + unhold("during")
        + f"Event: QueueParams\r\nQueue: 报修\r\nActionID: {qs}\r\n\r\n".encode()
        + f"Event: QueueMember\r\nQueue: 报修\r\nName: 小王\r\nLocation: PJSIP/8001\r\nStatus: 1\r\nPaused: 1\r\nPausedReason: 培训\r\nInCall: 0\r\nActionID: {qs}\r\n\r\n".encode()
        + f"Event: QueueStatusComplete\r\nActionID: {qs}\r\nEventList: Complete\r\nListItems: 2\r\n\r\n".encode()
        + f"Response: Success\r\nActionID: {cs}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n".encode()
        + f"Event: CoreShowChannel\r\nActionID: {cs}\r\nChannel: PJSIP/1-1\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\nChannelState: 6\r\nCallerIDNum: <unknown>\r\nDuration: 01:02:03\r\nBridgeId: b1\r\n\r\n".encode()
        + f"Event: CoreShowChannelsComplete\r\nActionID: {cs}\r\nEventList: Complete\r\nListItems: 1\r\n\r\n".encode()
        + unhold("after")
    )
    await resync
    await until(lambda: len(sink.events) == 4, what="4 deliveries")
    consumer.cancel()
    order = [e.uniqueid if isinstance(e, ev.Unhold) else "RESYNC" for e in sink.events]
    assert order == ["before", "RESYNC", "during", "after"]
    snapshot = sink.events[1]
    assert snapshot.ts == 1700000002.5 and snapshot.queues == ("报修",)
    assert snapshot.members[0].paused_reason == "培训" and snapshot.members[0].interface == "PJSIP/8001"
    [channel] = snapshot.channels
    assert (channel.duration_s, channel.bridge_id, channel.caller_number) == (3723.0, "b1", "")


async def test_asterisk_login_failure_delay_is_not_mistaken_for_a_timeout(server: AmiServer, make_bridge) -> None:
    """Asterisk waits 1 s before refusing a log-in; that must still read as
    a rejection, even with a short action timeout."""
    server.faults.login_delay_s = 0.4
    bridge: Bridge = await make_bridge(ami_settings(server.port, ami_secret="wrong", ami_action_timeout_s=0.2))
    await until(lambda: bridge.error is not None, what="the first outcome")
    assert bridge.error == f"AMI login rejected for user {USER}"
