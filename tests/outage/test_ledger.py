"""The simulator's call ledger reads the PBX's events the way app_queue
means them, and compare() finds every kind of disagreement."""

from __future__ import annotations

from callcenter.simulator.ledger import Ledger, compare
from callcenter.simulator.pbx import PBX, Queue


def scripted() -> tuple[PBX, Ledger, dict[str, str]]:
    pbx = PBX(queues=[Queue("support", strategy="linear"), Queue("sales", strategy="linear", maxwait=30)])
    ledger = Ledger(pbx)
    pbx.add_member("support", "PJSIP/8001", "甲")
    pbx.add_member("sales", "PJSIP/8002", "乙")
    pbx.set_phone("PJSIP/8002", miss_prob=1.0)  # sales never answers: its callers time out
    uid = {}
    uid["talk"] = pbx.new_call("support", "13800000001", answer=[{"agent": "PJSIP/8001", "after": 3}], talk=40, hold=[[10, 5]]).caller.uniqueid
    uid["gone"] = pbx.new_call("support", "13800000002", patience=8).caller.uniqueid
    uid["timeout"] = pbx.new_call("sales", "13800000003", after_timeout=5).caller.uniqueid
    pbx.run_until_idle()
    uid["moved"] = pbx.new_call(
        "support", "13800000004", answer=[{"agent": "PJSIP/8001", "after": 2}], talk=60,
        transfer={"type": "blind", "at": 20, "to": "sales", "patience": 10},
    ).caller.uniqueid  # fmt: skip
    pbx.run_until_idle()
    return pbx, ledger, uid


def test_the_ledger_reads_outcome_agent_talk_and_hold():
    _, ledger, uid = scripted()
    visits = {(v.uniqueid, v.queue): v for v in ledger.finished()}
    talk = visits[(uid["talk"], "support")]
    assert (talk.outcome, talk.agent, talk.talk_s, talk.hold_s) == ("answered", "PJSIP/8001", 35.0, 5.0)
    assert visits[(uid["gone"], "support")].outcome == "abandoned"
    assert visits[(uid["timeout"], "sales")].outcome == "timeout"
    moved, then = visits[(uid["moved"], "support")], visits[(uid["moved"], "sales")]
    assert (moved.outcome, moved.agent, moved.talk_s) == ("answered", "PJSIP/8001", 20.0)
    assert then.outcome == "abandoned" and then.entered == moved.talk_end
    assert len(ledger.finished()) == len(ledger.visits) == 5


def test_compare_finds_lost_duplicated_mislabelled_and_unknown_records():
    _, ledger, uid = scripted()
    good = [
        {"uniqueid": v.uniqueid, "entered_at": v.entered, "outcome": v.outcome, "agent": v.agent, "talk_s": v.talk_s}
        for v in ledger.finished()
    ]
    assert compare(ledger, good).ok and compare(ledger, good).recorded == 5
    talk = next(r for r in good if r["uniqueid"] == uid["talk"])
    report = compare(ledger, [r for r in good if r is not talk])
    assert [v.uniqueid for v in report.lost] == [uid["talk"]]
    report = compare(ledger, good + [dict(talk)])
    assert [v.uniqueid for v, n in report.duplicated] == [uid["talk"]]
    report = compare(ledger, [r if r is not talk else {**talk, "outcome": "timeout", "agent": None, "talk_s": 0.0} for r in good])
    [(v, _, why)] = report.mislabelled
    assert v.uniqueid == uid["talk"] and why == "outcome timeout != answered, agent None != PJSIP/8001, talk 0.0 != 35.0"
    assert compare(ledger, [r if r is not talk else {**talk, "talk_s": 35.9} for r in good]).ok  # within a second
    # A hold the core never saw (it was in a blind window) counts as talk: wrong talk, right talk + hold.
    blind = [r if r is not talk else {**talk, "talk_s": 40.0, "hold_s": 0.0} for r in good]
    assert not compare(ledger, blind).ok and compare(ledger, blind, with_hold=True).ok
    report = compare(ledger, good + [{"uniqueid": "9.9", "entered_at": 0.0, "outcome": "answered", "agent": None, "talk_s": 0}])
    assert [r["uniqueid"] for r in report.unknown] == ["9.9"]
    assert "unknown 1" in report.summary()


def test_a_crash_ends_what_was_in_progress():
    pbx = PBX(queues=[Queue("support")])
    ledger = Ledger(pbx)
    pbx.add_member("support", "PJSIP/8001", "甲")
    pbx.new_call("support", "13800000001", answer=[{"agent": "PJSIP/8001", "after": 2}], talk=100)
    waiting = pbx.new_call("support", "13800000002").caller.uniqueid
    pbx.advance(30)
    ledger.crash(pbx.now)
    talking, left = sorted(ledger.finished(), key=lambda v: v.uniqueid != waiting)[::-1]
    assert (talking.outcome, talking.talk_s) == ("answered", 28.0)
    assert left.outcome == "abandoned" and left.ended == pbx.now
