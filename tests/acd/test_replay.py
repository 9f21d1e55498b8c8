"""`callcenter replay`: the JSON document's shape and numbers, config files,
and the domain-event file format."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from callcenter.acd import events as ev
from callcenter.acd.replay import event_from_dict, event_to_dict, load_config, read_events, replay, write_events

from .test_core_scenarios import A, B, T0, day

CALL_KEYS = {
    "call_id", "queue", "caller_number", "caller_name", "entered_at", "answered_at", "ended_at", "wait_s", "talk_s",
    "hold_s", "wrap_up_s", "agent", "outcome", "short_abandon", "abandon_position", "ring_attempts", "transfer",
    "kind", "direction", "sl_wait_s", "recording_file", "disposition", "disposition_note", "callee_number", "peer_agent",
}  # fmt: skip
QUEUE_KEYS = {
    "offered", "answered", "abandoned", "short_abandoned", "timeouts", "service_level", "sl_threshold_s",
    "abandon_rate", "asa_s", "aht_s", "avg_talk_s", "longest_wait_s",
    "callbacks_requested", "callbacks_made", "callbacks_reached", "callback_wait_s", "callback_delay_s",
}  # fmt: skip
AGENT_KEYS = {"name", "state", "handled", "talk_s", "hold_s", "wrap_up_s", "dialing_s", "paused_s", "occupancy", "by_direction"}


def test_replay_document_shape_and_numbers():
    s, _ = day()
    doc = replay(s.events)
    assert set(doc) == {"calls", "queues", "agents"}
    assert len(doc["calls"]) == 6
    for call in doc["calls"]:
        assert set(call) == CALL_KEYS
        for att in call["ring_attempts"]:
            assert set(att) == {"agent", "ring_s", "result"}
    assert [c["outcome"] for c in doc["calls"]] == ["answered", "answered", "abandoned", "abandoned", "timeout", "answered"]
    q = doc["queues"]["support"]
    assert set(q) == QUEUE_KEYS
    assert (q["offered"], q["answered"], q["abandoned"], q["short_abandoned"], q["timeouts"]) == (6, 3, 2, 1, 1)
    assert q["service_level"] == pytest.approx(0.4) and q["sl_threshold_s"] == 20
    assert q["abandon_rate"] == pytest.approx(0.2) and q["asa_s"] == 15 and q["longest_wait_s"] == 60
    assert set(doc["agents"]) == {A, B}
    for a in doc["agents"].values():
        assert set(a) == AGENT_KEYS
    assert doc["agents"][B]["paused_s"] == {"lunch": 100}
    assert doc["agents"][A]["handled"] == 2
    json.dumps(doc)  # JSON-ready


def test_config_changes_the_service_level(tmp_path):
    s, _ = day()
    path = tmp_path / "sl.json"
    path.write_text(json.dumps({"queues": {"support": {"sl_threshold_s": 30, "abandon_mode": "ignore"}}}))
    doc = replay(s.events, load_config(path))
    assert doc["queues"]["support"]["service_level"] == pytest.approx(3 / 3)
    assert doc["queues"]["support"]["sl_threshold_s"] == 30


def test_config_errors_name_the_field(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"support": {"abandon_mode": "sideways"}}))
    with pytest.raises(ValueError, match=r"queues\.support\.abandon_mode"):
        load_config(path)
    path.write_text(json.dumps({"support": {"sl_threshold_s": -1}}))
    with pytest.raises(ValueError, match=r"sl_threshold_s"):
        load_config(path)


def test_events_round_trip_through_json_lines(tmp_path):
    s, _ = day()
    extra = [
        ev.Resync(T0, members=(ev.MemberSnapshot("q", A, A, 0, False, "", 1, False, 0, 0, 0),), queues=("q",)),
        ev.UserEvent(T0, "u", "u", "QueueResult", (("Status", "TIMEOUT"),)),
        ev.RouteDecided(T0, "u", "q", 3, "vip", 7, "x", ("a",), (("k", "v"),)),
    ]
    for e in s.events + extra:
        assert event_from_dict(json.loads(json.dumps(event_to_dict(e)))) == e
    write_events(tmp_path / "day.jsonl", s.events)
    assert list(read_events(tmp_path / "day.jsonl")) == s.events


def test_cli_replay_json_and_yaml_config(tmp_path):
    s, _ = day()
    write_events(tmp_path / "day.jsonl", s.events)
    (tmp_path / "sl.yaml").write_text("support:\n  sl_threshold_s: 5\n")
    run = subprocess.run(
        [sys.executable, "-m", "callcenter", "replay", str(tmp_path / "day.jsonl"), "--json", "--config", str(tmp_path / "sl.yaml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["queues"]["support"]["service_level"] == pytest.approx(1 / 5)  # only call 1 (wait 5) is within 5 s
    human = subprocess.run([sys.executable, "-m", "callcenter", "replay", str(tmp_path / "day.jsonl")], capture_output=True, text=True, timeout=60)
    assert "support" in human.stdout and "SL(20s)  40.0%" in human.stdout
    # a relative name: typer's error box wraps a long path at 80 columns
    bad = subprocess.run([sys.executable, "-m", "callcenter", "replay", "nope.jsonl", "--json"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert bad.returncode == 2 and "nope.jsonl" in bad.stderr and "Traceback" not in bad.stderr
