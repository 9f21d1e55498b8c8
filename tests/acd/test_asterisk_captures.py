"""Replays of the captures recorded on a real Asterisk (tests/fixtures/asterisk/,
see the README there) agree with Asterisk's own queue_log, call by call:
outcome, agent, wait and talk in app_queue's whole seconds.

app_queue counts seconds as time(NULL) differences, i.e. floor(end) -
floor(start) of the epoch, not the float duration rounded: a wait of 7.98 s
that straddles 8 second boundaries is 8 in queue_log.  Its start is taken in
queue_exec() before join_queue(), a few ms before QueueCallerJoin's
Timestamp, so a wait rebuilt from the events' Timestamps can still be one
second short when the join straddles a second (queue_timeout: start
1795655065.977, QueueCallerJoin 1795655066.002, queue_log 8, timestamps 7).
The exact figures are in the events themselves: AgentConnect/AgentComplete
HoldTime and TalkTime, QueueCallerAbandon HoldTime.  Hence the 1 s slack.

Where queue_log and the call as it really happened differ, DIFFERENT says
which fact we keep and why, and the test checks our figure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.acd.replay import read_events, replay
from tests.tools.queue_log_calls import calls

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk"
CAPTURES = sorted(ROOT.glob("*/*.ami"))

# Where we keep a different fact from queue_log on purpose: scenario ->
# (field, our value, why).  Everything else must agree.
DIFFERENT = {
    "agent_hangup_desktop": (
        "talk_s", 4,
        "AMI Hangup on the agent's channel publishes no HangupRequest, so app_queue's AgentComplete waits "
        "for the caller to leave cc-survey (Reason=caller, talk 10 s); the agent's side hung up after 4 s",
    ),
    "blind_transfer_local_member": (
        "talk_s", 3,
        "the transfer happens in the Local member's own Dial bridge: app_queue sees no transfer and counts "
        "李娜's talk as 王芳's (COMPLETEAGENT 8 s); the BlindTransfer event comes at 3 s",
    ),
    "exit_with_key": (
        "outcome", "callback_requested",
        "the key (9) took the caller to [cc-callback], which booked a callback (UserEvent CcCallback): "
        "queue_log says EXITWITHKEY, we say what the caller asked for; neither is an abandon",
    ),
}


def whole(start: float, seconds: float) -> int:
    """Seconds as app_queue counts them."""
    return int(start + seconds) - int(start)


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_replay_agrees_with_queue_log(capture: Path) -> None:
    expected = calls(capture.with_suffix(".queue_log").read_text("utf-8"))
    result = replay(read_events(capture))
    names = {iface: a.get("name") or iface for iface, a in result["agents"].items()}
    # queue_log knows queue calls only; the SIP captures' other calls
    # (outbound, internal, direct, consult) are checked by test_sip_captures.py
    got = {c["call_id"]: c for c in result["calls"] if c.get("kind") in (None, "queue")}
    for q in expected:
        c = got.pop(q["callid"], None)
        assert c is not None, f"{q['callid']} ({q['outcome']} in queue_log) is missing from the replay"
        where = f"{capture.stem} {q['callid']}"
        field, ours, _why = DIFFERENT.get(capture.stem, ("", None, ""))
        if field == "outcome":
            q = {**q, "outcome": ours}
        elif field == "talk_s":
            q = {**q, "talk_s": ours}
        assert c["outcome"] == q["outcome"], where
        assert (names.get(c["agent"], c["agent"]) if c["agent"] else "") == q["agent"], where
        assert abs(whole(c["entered_at"], c["wait_s"]) - q["wait_s"]) <= 1, f"{where}: wait {c['wait_s']} vs {q['wait_s']}"
        if q["talk_s"] is not None:
            # queue_log's call time includes hold (a consultation before a
            # transfer is hold); we keep hold apart: AHT = talk + hold + wrap.
            on_call = c["talk_s"] + c["hold_s"]
            assert abs(whole(c["answered_at"], on_call) - q["talk_s"]) <= 1, f"{where}: talk {c['talk_s']} + hold {c['hold_s']} vs {q['talk_s']}"
        if q["transfer"]:
            assert c["transfer"], f"{where}: queue_log has {q['transfer']}"
    assert not got, f"calls in the replay that queue_log does not have: {sorted(got)}"
