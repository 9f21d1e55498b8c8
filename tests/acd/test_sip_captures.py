"""Replays of the captures where every phone and the carrier are real SIP
user agents (Asterisk 20.20.1 with chan_sip, SIPp; see
tests/fixtures/asterisk/20.20.1-sip/README.md): each call is what really
happened.

What really happened comes from two places: the scenario (who called whom,
who answered, who hung up, the transfer) and SIPp's own timeline,
<scenario>.sipp, one JSON line per report of a user agent ("answered",
"ended", ...) and per key the driver pressed on it ("bye", "hold",
"refer", ...), with wall-clock times from the same machine as the AMI
Timestamps.  Talk and hold must agree with that timeline within 1 s.

Where the core gets a capture wrong, the case is marked xfail (strict: a
fix shows as XPASS) with the event, what the core did and what it should do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from callcenter.acd import events as ev
from callcenter.acd.core import Core, CoreConfig
from callcenter.acd.replay import CALL_KEYS, read_events, replay, settle_s

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk" / "20.20.1-sip"

Point = tuple[str, str]  # (SIPp party, report or key), e.g. ("8001", "answered")
Span = tuple[Point, Point]


@dataclass(frozen=True)
class Call:
    kind: str
    direction: str
    agent: str | None
    outcome: str
    talk: tuple[Span, ...] = ()  # talk = the sum of these spans of SIPp's timeline
    hold: tuple[Span, ...] = ()
    transfer: dict[str, str] | None = None
    queue: str = ""
    peer_agent: str | None = None
    caller: str = ""
    callee: str | None = None  # None: not checked (queue calls)
    extra: dict[str, Any] = field(default_factory=dict)


CALLER = "caller-13900000001"

EXPECTED: dict[str, list[Call]] = {
    "click_to_call_answered": [Call(
        "outbound", "outbound", "SIP/8001", "answered", caller="8001", callee="13800000001",
        talk=((("pstn-13800000001", "answered"), ("8001", "bye")),),
    )],
    "click_to_call_busy": [Call("outbound", "outbound", "SIP/8001", "busy", caller="8001", callee="13800000002")],
    # The customer never answered; 王芳 hung up after 6 s of ringback.  The
    # core's word for it is no_answer (her leg was up: cacofonisk's
    # "completed"); compare internal_no_answer, where the caller's leg was
    # still ringing and the word is cancelled.
    "click_to_call_no_answer": [Call("outbound", "outbound", "SIP/8001", "no_answer", caller="8001", callee="13800000003")],
    "click_to_call_phone_no_answer": [Call("outbound", "outbound", "SIP/8001", "no_answer", caller="8001", callee="13800000001")],
    "outbound_answered": [Call(
        "outbound", "outbound", "SIP/8001", "answered", caller="8001", callee="13800000004",
        talk=((("pstn-13800000004", "answered"), ("pstn-13800000004", "bye")),),
    )],
    "outbound_busy": [Call("outbound", "outbound", "SIP/8001", "busy", caller="8001", callee="13800000005")],
    "internal_answered": [Call(
        "internal", "internal", "SIP/8001", "answered", peer_agent="SIP/8002", caller="8001", callee="8002",
        talk=((("8002", "answered"), ("8002", "bye")),),
    )],
    "internal_no_answer": [Call("internal", "internal", "SIP/8001", "cancelled", peer_agent="SIP/8002", caller="8001", callee="8002")],
    "internal_busy": [Call("internal", "internal", "SIP/8001", "busy", peer_agent="SIP/8002", caller="8001", callee="8002")],
    # 张强 called 李娜; 王芳 picked the ringing call up (*8): she is who he talked to.
    "pickup": [Call(
        "internal", "internal", "SIP/8003", "answered", peer_agent="SIP/8001", caller="8003", callee="8001",
        talk=((("8001-dial", "answered"), ("8003-dial", "bye")),),
    )],
    "queue_answered": [Call(
        "queue", "inbound", "SIP/8001", "answered", queue="repairs", caller="13900000001",
        talk=((("8001", "answered"), (CALLER, "bye")),), extra={"caller_name": "张伟"},
    )],
    "queue_hold": [Call(
        "queue", "inbound", "SIP/8001", "answered", queue="repairs", caller="13900000001",
        talk=((("8001", "answered"), ("8001", "hold")), (("8001", "unhold"), ("8001", "bye"))),
        hold=((("8001", "hold"), ("8001", "unhold")),),
    )],
    "queue_blind_transfer": [
        Call(
            "queue", "inbound", "SIP/8001", "answered", queue="repairs", caller="13900000001",
            talk=((("8001", "answered"), ("8001", "refer")),), transfer={"kind": "blind", "target": "8002"},
        ),
        # the customer goes on with 李娜: a direct call after the queue call
        Call("direct", "inbound", "SIP/8002", "answered", caller="13900000001", talk=((("8002", "answered"), ("8002", "bye")),)),
    ],
    "queue_attended_transfer": [
        # the transfer key's consultation call, 王芳 -> 李娜
        Call(
            "consult", "internal", "SIP/8001", "answered", peer_agent="SIP/8002", caller="8001", callee="8002",
            talk=((("8002", "answered"), ("8001", "refer")),),
        ),
        # the queue call: 王芳 talks, holds the customer while she consults, transfers
        Call(
            "queue", "inbound", "SIP/8001", "answered", queue="repairs", caller="13900000001",
            talk=((("8001", "answered"), ("8001", "hold")),), hold=((("8001", "hold"), ("8001", "refer")),),
            transfer={"kind": "attended", "target": "8002"},
        ),
        # the customer goes on with 李娜 from the transfer
        Call("direct", "inbound", "SIP/8002", "answered", caller="13900000001", talk=((("8001", "refer"), (CALLER, "bye")),)),
    ],
    # The lead's phone listens in (ChanSpy): no call of its own, and the
    # agent's call is untouched.
    "supervisor_listen": [Call(
        "queue", "inbound", "SIP/8001", "answered", queue="repairs", caller="13900000001",
        talk=((("8001", "answered"), (CALLER, "bye")),),
    )],
    # After hours the hook sends the call to the duty desk 8020 (not an agent)
    # or to the duty mobile through the carrier: inbound, straight through.
    "after_hours_duty": [Call(
        "direct", "inbound", None, "answered", caller="13900000004", callee="8020",
        talk=((("8020", "answered"), ("caller-13900000004", "bye")),),
    )],
    "after_hours_mobile": [Call(
        "direct", "inbound", None, "answered", caller="13900000005", callee="13800000009",
        talk=((("pstn-13800000009", "answered"), ("caller-13900000005", "bye")),),
    )],
}

# After a transfer the customer talks to 李娜: her part of the call, from the
# SIPp timeline.  scenario -> (agent, span)
TRANSFEREE: dict[str, tuple[str, Span]] = {
    "queue_blind_transfer": ("SIP/8002", (("8002", "answered"), ("8002", "bye"))),
    "queue_attended_transfer": ("SIP/8002", (("8001", "refer"), (CALLER, "bye"))),
}

# Every case the core once got wrong is fixed (the lead's list, from these captures):
# failed click-to-call recorded, internal known while ringing, the agent's own
# number on a click-to-call, replay names the other party, a transfer's target
# credited.  A new failure gets an xfail here with the event, what the core
# did and what it should do.
XFAIL_RECORD: dict[str, str] = {}
XFAIL_PARTIES: dict[str, str] = {}
XFAIL_TRANSFEREE: dict[str, str] = {}


def result(scenario: str) -> dict[str, Any]:
    return replay(read_events(ROOT / f"{scenario}.ami"))


@cache
def timeline(scenario: str) -> tuple[dict[str, Any], ...]:
    lines = (ROOT / f"{scenario}.sipp").read_text("utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


def at(scenario: str, point: Point) -> float:
    party, what = point
    for item in timeline(scenario):
        if item["party"] == party and what in (item.get("event"), item.get("key")):
            return item["t"]
    raise AssertionError(f"{scenario}.sipp has no {what!r} for {party}")


def seconds(scenario: str, spans: tuple[Span, ...]) -> float:
    return sum(at(scenario, b) - at(scenario, a) for a, b in spans)


@cache
def core_records(scenario: str) -> tuple[dict[str, Any], ...]:
    """The core's full records, as replay() makes them (same events, same
    settling tick): replay()'s call items leave out callee_number and
    peer_agent (see test_replay_report_names_the_other_party)."""
    core = Core(CoreConfig())
    out: list[dict[str, Any]] = []
    last = 0.0
    for e in read_events(ROOT / f"{scenario}.ami"):
        out.extend(core.apply(e).records)
        last = max(last, e.ts)
    out.extend(core.apply(ev.Tick(last + settle_s(core.config))).records)
    return tuple(out)


def by_kind(scenario: str, calls: Any) -> dict[str, dict[str, Any]]:
    """Calls by kind (one of each kind per capture)."""
    calls = list(calls)
    kinds = {c["kind"]: c for c in calls}
    assert len(kinds) == len(calls), f"{scenario}: two calls of one kind: {[c['kind'] for c in calls]}"
    return kinds


def records(scenario: str) -> dict[str, dict[str, Any]]:
    """replay()'s calls by kind."""
    return by_kind(scenario, result(scenario)["calls"])


def _params(xfails: dict[str, str], names: list[str]) -> list[Any]:
    return [
        pytest.param(n, marks=pytest.mark.xfail(reason=xfails[n], strict=True)) if n in xfails else n
        for n in names
    ]


def test_every_capture_has_an_expectation() -> None:
    assert sorted(p.stem for p in ROOT.glob("*.ami")) == sorted(EXPECTED)
    for name in EXPECTED:
        assert (ROOT / f"{name}.sipp").exists() and (ROOT / f"{name}.queue_log").exists(), name


@pytest.mark.parametrize("scenario", _params(XFAIL_RECORD, list(EXPECTED)))
def test_call_record(scenario: str) -> None:
    """Kind, direction, agent, outcome, talk and hold (±1 s of SIPp), transfer."""
    got = records(scenario)
    assert sorted(got) == sorted(c.kind for c in EXPECTED[scenario]), f"{scenario}: {[(c['kind'], c['outcome']) for c in result(scenario)['calls']]}"
    for want in EXPECTED[scenario]:
        c = got[want.kind]
        where = f"{scenario} {want.kind}"
        assert (c["direction"], c["agent"], c["outcome"]) == (want.direction, want.agent, want.outcome), where
        assert (c.get("queue") or "") == want.queue, where
        talk = seconds(scenario, want.talk)
        assert abs(c["talk_s"] - talk) <= 1.0, f"{where}: talk {c['talk_s']} s, SIPp {talk:.3f} s"
        hold = seconds(scenario, want.hold)
        assert abs((c["hold_s"] or 0) - hold) <= 1.0, f"{where}: hold {c['hold_s']} s, SIPp {hold:.3f} s"
        assert c["transfer"] == want.transfer, where
        if want.outcome == "answered":
            assert c["answered_at"] is not None, where
        else:
            assert c["answered_at"] is None and c["talk_s"] == 0, where
        for key, value in want.extra.items():
            assert c.get(key) == value, f"{where}: {key}"


@pytest.mark.parametrize("scenario", _params(XFAIL_PARTIES, [n for n in EXPECTED if any(c.caller for c in EXPECTED[n])]))
def test_who_called_whom(scenario: str) -> None:
    """caller_number, callee_number and the other agent of a call between two agents."""
    got = by_kind(scenario, core_records(scenario))
    for want in EXPECTED[scenario]:
        if want.kind not in got:
            pytest.fail(f"{scenario}: no {want.kind} record")
        c = got[want.kind]
        where = f"{scenario} {want.kind}"
        assert c["caller_number"] == want.caller, where
        if want.callee is not None:
            assert c.get("callee_number") == want.callee, where
        if want.kind != "queue":
            assert c.get("peer_agent") == want.peer_agent, where


def test_replay_report_names_the_other_party() -> None:
    assert {"callee_number", "peer_agent"} <= set(CALL_KEYS)


@pytest.mark.parametrize("scenario", _params(XFAIL_TRANSFEREE, list(TRANSFEREE)))
def test_transferee_is_credited(scenario: str) -> None:
    """After a transfer the customer talks to 李娜: that part counts for her."""
    agent, span = TRANSFEREE[scenario]
    talk = seconds(scenario, (span,))
    totals = result(scenario)["agents"][agent]
    inbound = totals.get("by_direction", {}).get("inbound", {})
    assert inbound.get("handled") == 1 and abs(inbound.get("talk_s", 0) - talk) <= 1.0, (
        f"{scenario}: {agent} {totals}, SIPp says {talk:.3f} s"
    )


def test_replay_agrees_with_queue_log_on_sip_queue_calls() -> None:
    """The queue calls also agree with app_queue's own figures (whole seconds):
    CONNECT holdtime, and the calltime of COMPLETE*/…TRANSFER = talk + hold."""
    from tests.tools.queue_log_calls import calls

    for scenario in EXPECTED:
        expected = calls((ROOT / f"{scenario}.queue_log").read_text("utf-8"))
        queue = [c for c in result(scenario)["calls"] if c["kind"] == "queue"]
        assert len(queue) == len(expected), scenario
        for q, c in zip(expected, queue, strict=True):
            assert c["call_id"] == q["callid"] and c["outcome"] == q["outcome"], scenario
            on_call = c["talk_s"] + c["hold_s"]
            assert abs(on_call - q["talk_s"]) <= 1.0, f"{scenario}: talk {c['talk_s']} + hold {c['hold_s']} vs queue_log {q['talk_s']}"
