"""Conformance: every public capture in ../shared/ami-traces goes through
the live parser and normaliser without raising, with known counts."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callcenter.acd import events as ev
from callcenter.ami.normaliser import EventStream
from callcenter.ami.replay import iter_capture, iter_frames, json_to_wire
from callcenter.cli import app

from ..conftest import SHARED_DIR as SHARED

TRACES = SHARED / "ami-traces"
CACOFONISK = sorted((TRACES / "cacofonisk").rglob("*.json"))
PANORAMISK = sorted((TRACES / "panoramisk").rglob("*.yaml"))

# Public captures kept outside the repository (../shared/ami-traces).
pytestmark = pytest.mark.needs_shared


def counts(path: Path) -> tuple[Counter[str], EventStream]:
    stream = EventStream()
    return Counter(type(e).__name__ for e in iter_capture(path, stream)), stream


# (one placeholder when absent: the test is then listed as skipped, with the reason)
@pytest.mark.parametrize("path", CACOFONISK or [TRACES / "cacofonisk"], ids=lambda p: p.stem)
def test_cacofonisk_capture(path: Path) -> None:
    raw = json.loads(path.read_text())
    got, stream = counts(path)
    assert stream.frames == len(raw)
    assert stream.problems.counts == {}
    # Every event of a kind we use comes out, one for one.
    raw_kinds = Counter(e["Event"] for e in raw)
    for raw_name, name in (("Hangup", "Hangup"), ("BridgeEnter", "BridgeEntered"), ("BridgeLeave", "BridgeLeft"),
                           ("BlindTransfer", "BlindTransfer"), ("AttendedTransfer", "AttendedTransfer"),
                           ("UserEvent", "UserEvent"), ("QueueCallerAbandon", "CallerAbandoned")):  # fmt: skip
        assert got[name] == raw_kinds[raw_name], name


@pytest.mark.parametrize("path", PANORAMISK or [TRACES / "panoramisk"], ids=lambda p: p.stem)
def test_panoramisk_raw_stream(path: Path) -> None:
    frames = list(iter_frames(path))
    assert frames, "every fixture holds at least one message"
    got, stream = counts(path)
    assert stream.frames == len(frames)
    # Two frames in agent_loggued_in were cut by the capture tool itself.
    assert stream.problems.counts == ({"frame": 2} if path.stem == "agent_loggued_in" else {})


CHANNEL_KINDS = {"ChannelCreated", "ChannelStateChanged", "CallerIdChanged", "LocalBridged", "DialBegan", "DialEnded"}


def queue_and_bridge(c: Counter[str]) -> dict[str, int]:
    """The counts without the call tracker's channel events (nor FullyBooted at a capture's log-in)."""
    return {k: n for k, n in c.items() if k not in CHANNEL_KINDS and k != "PbxBooted"}


def test_known_counts() -> None:
    by_name = {p.stem: p for p in CACOFONISK + PANORAMISK}
    assert dict(counts(by_name["queue_a_cancel"])[0]) == {
        "ChannelCreated": 4, "ChannelStateChanged": 4, "CallerIdChanged": 6, "LocalBridged": 1, "DialBegan": 2,
        "DialEnded": 3, "Hangup": 4, "UserEvent": 2, "CallerAbandoned": 1, "PbxBooted": 1,
    }  # fmt: skip
    [abandon] = [e for e in iter_capture(by_name["queue_a_cancel"]) if isinstance(e, ev.CallerAbandoned)]
    assert (abandon.hold_time_s, abandon.position, abandon.original_position) == (11.0, 1, 1)
    assert queue_and_bridge(counts(by_name["queue_attn_xfer"])[0]) == {"BridgeEntered": 11, "BridgeLeft": 11, "Hangup": 8, "AttendedTransfer": 1}
    assert queue_and_bridge(counts(by_name["queue_blind_xfer"])[0]) == {"BridgeEntered": 10, "BridgeLeft": 10, "Hangup": 7, "BlindTransfer": 1}
    assert queue_and_bridge(counts(by_name["originate_with_events"])[0]) == {"VarSet": 4, "UserEvent": 2, "Hangup": 4}
    assert queue_and_bridge(counts(by_name["agent_not_in_pause"])[0]) == {"MemberStatus": 5, "MemberPaused": 1, "Hangup": 1}
    swaps = [e for e in iter_capture(by_name["queue_attn_xfer"]) if isinstance(e, ev.BridgeEntered) and e.swap_uniqueid]
    assert swaps and all("." in e.swap_uniqueid for e in swaps)


def test_all_captures_totals() -> None:
    total: Counter[str] = Counter()
    for path in CACOFONISK + PANORAMISK:
        total += counts(path)[0]
    assert total["Hangup"] == 406 and total["BridgeEntered"] == 406 and total["AttendedTransfer"] == 12


def test_queue_status_fixture_frames() -> None:
    frames = list(iter_frames(TRACES / "panoramisk/tests/fixtures/queue_status.yaml"))
    assert frames[0]["Response"] == "Success"
    assert [f.get("Event") for f in frames[1:]] == ["QueueParams"] + ["QueueMember"] * 6 + ["QueueStatusComplete"]


def test_json_conversion_matches_the_shared_tool() -> None:
    path = TRACES / "cacofonisk/tests/fixtures/queue/queue_attn_xfer.json"
    tool = subprocess.run([sys.executable, str(SHARED / "tools/json2ami.py"), str(path)], capture_output=True, check=True)
    ours = b"".join(json_to_wire(json.loads(path.read_text(), parse_float=str, parse_int=str)))
    assert ours == tool.stdout.replace(b"\r\r\n", b"\r\n")  # text-mode stdout may double CRs on some platforms


def test_cli_replay_prints_counts() -> None:
    capture = str(TRACES / "cacofonisk/tests/fixtures/queue/queue_a_cancel.json")
    result = CliRunner().invoke(app, ["replay", "--counts", capture])
    assert result.exit_code == 0, result.output
    lines = dict(line.split() for line in result.stdout.splitlines() if line.strip() and len(line.split()) == 2)
    assert lines == {
        "ChannelCreated": "4", "ChannelStateChanged": "4", "CallerIdChanged": "6", "LocalBridged": "1", "DialBegan": "2",
        "DialEnded": "3", "Hangup": "4", "UserEvent": "2", "CallerAbandoned": "1", "PbxBooted": "1", "total": "28",
    }  # fmt: skip
    # without --counts the same capture goes on through the ACD core
    report = CliRunner().invoke(app, ["replay", "--json", capture])
    assert report.exit_code == 0, report.output
    # The capture kept no QueueCallerJoin, but its QueueCallerAbandon is a
    # real abandon: the call is made from what it says (waited 11 s).
    [call] = json.loads(report.stdout)["calls"]
    assert (call["outcome"], call["wait_s"], call["caller_number"]) == ("abandoned", 11.0, "+31150010001")


def test_cli_replay_rejects_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"Event": "Hangup"}')
    result = CliRunner().invoke(app, ["replay", str(bad)])
    assert result.exit_code == 2 and "must be a list of events" in result.output
    missing = CliRunner().invoke(app, ["replay", str(tmp_path / "nope.ami")])
    assert missing.exit_code == 2


async def test_live_feed_and_its_capture_give_the_same_events(tmp_path: Path) -> None:
    """What the bridge delivered live equals what `replay` makes of the
    wire capture of that same session."""
    import io

    from callcenter.ami.bridge import Bridge
    from callcenter.simulator.pbx import PBX, Queue
    from callcenter.simulator.server import AmiServer
    from tests.ami.conftest import SECRET, USER, Sink, ami_settings, until

    wire = io.BytesIO()
    pbx = PBX(queues=[Queue("报修", strategy="ringall")], seed=3)
    server = AmiServer(username=USER, secret=SECRET, pbx=pbx, record=wire)
    server.faults.login_delay_s = 0
    port = await server.start()
    sink = Sink()
    bridge = Bridge(ami_settings(port), sink)
    await bridge.start()
    try:
        await sink.wait(ev.Resync)
        pbx.add_member("报修", "PJSIP/8001", "小王")
        pbx.add_member("报修", "PJSIP/8002", "小李")
        pbx.new_call("报修", "13800138000", "物业张先生", answer=[{"agent": "PJSIP/8002", "after": 5}], talk=40)
        pbx.new_call("报修", "13900139000", "业主李女士", patience=8)
        pbx.advance(120)
        capture = tmp_path / "session.ami"
        capture.write_bytes(wire.getvalue())  # everything the server has sent
        replayed = list(iter_capture(capture))

        def live() -> list[ev.Event]:
            return [e for e in sink.events if not isinstance(e, ev.Resync)]

        await until(lambda: len(live()) >= len(replayed), what="the live feed to catch up")
    finally:
        await bridge.stop()
        await server.stop()
    assert len(replayed) > 20 and {"CallerAbandoned", "AgentCompleted"} <= {type(e).__name__ for e in replayed}
    assert replayed == live()
