"""Scripted calls through the pure core, with KPIs computed by hand.

The day below (queue "support": T=20 s, S=5 s, abandons against, wrap-up
limit 60 s; agents A and B; t0 = 1_700_000_000):

  call 1  join +0,   A rings +1, answered +5 (wait 5 ≤ T), caller hangs up +65
          (talk 60), disposition +75 (wrap 10)
  call 2  join +100, A rings +101, no answer +116 (15 s), B rings +117,
          answered +130 (wait 30 > T), hold +140..+160 (20), agent hangs up
          +190 (talk 40), wrap-up runs out at +250 (wrap 60)
  call 3  join +200, abandons +203 (wait 3 < S: short)
  call 4  join +210, abandons +240 (wait 30)
  call 5  join +300, queue timeout +360 (QueueCallerAbandon + QUEUESTATUS=TIMEOUT)
  call 6  join +400, A rings +401, answered +410 (wait 10), blind transfer to
          8005 at +430 (talk 20), disposition +440 (wrap 10), caller hangs up +500
  B pauses for lunch +450..+550.  Clock ends at +600.

  offered 6, answered 3, abandoned 2 (1 short), timeouts 1
  SL = answered≤20 (calls 1, 6) / (answered 3 + abandoned≥5 (call 4) + timeouts 1) = 2/5
  abandon rate = (2 − 1) / (6 left the queue − 1) = 0.2
  ASA = (5 + 30 + 10) / 3 = 15;  AHT = (talk 120 + hold 20 + wrap 80) / 3
  A: handled 2, talk 80, wrap 20, idle 500 → occupancy 100/600
  B: handled 1, talk 40, hold 20, wrap 60, lunch 100, idle 380 → occupancy 120/500
"""

from __future__ import annotations

import pytest

from callcenter.acd import events as ev
from callcenter.acd.core import Core, CoreConfig, PauseMember, QueueConfig, ScreenPop
from callcenter.acd.script import Script

T0 = 1_700_000_000.0
A, B = "PJSIP/8001", "PJSIP/8002"


def day() -> tuple[Script, dict[str, object]]:
    s = Script()
    s.member(T0, "support", A)
    s.member(T0, "support", B)
    c1 = s.join(T0, "support", "13800000001", "张三")
    s.ring(T0 + 1, c1, A)
    s.answer(T0 + 5, c1, A, ring_started=T0 + 1)
    s.hang_up(T0 + 65, c1, by="caller")
    s.pause(T0 + 65, "support", A, True, "wrap-up")  # Asterisk's answer to the core's PauseMember
    s.disposition(T0 + 75, A, c1.linkedid, "resolved", "fixed the tap")
    s.pause(T0 + 75, "support", A, False)

    c2 = s.join(T0 + 100, "support", "13800000002")
    s.ring(T0 + 101, c2, A)
    s.no_answer(T0 + 116, c2, A, ring_s=15.0)
    s.ring(T0 + 117, c2, B)
    s.answer(T0 + 130, c2, B, ring_started=T0 + 117)
    s.hold(T0 + 140, c2)
    s.unhold(T0 + 160, c2)
    s.hang_up(T0 + 190, c2, by="agent", complete_after_hangup=True)
    s.pause(T0 + 190, "support", B, True, "wrap-up")

    c3 = s.join(T0 + 200, "support", "13800000003")
    c4 = s.join(T0 + 210, "support", "13800000004")
    s.abandon(T0 + 203, c3)
    s.abandon(T0 + 240, c4)
    s.tick(T0 + 250)
    s.pause(T0 + 250, "support", B, False)

    c5 = s.join(T0 + 300, "support", "13800000005")
    s.queue_exit(T0 + 360, c5, "TIMEOUT")

    c6 = s.join(T0 + 400, "support", "13800000006")
    s.ring(T0 + 401, c6, A)
    s.answer(T0 + 410, c6, A, ring_started=T0 + 401)
    s.blind_transfer(T0 + 430, c6, "8005")
    s.disposition(T0 + 440, A, c6.linkedid, "transferred")
    s.pause(T0 + 450, "support", B, True, "lunch")
    s.caller_gone(T0 + 500, c6)
    s.pause(T0 + 550, "support", B, False)
    s.tick(T0 + 600)
    return s, {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5, "c6": c6}


def run(events: list[ev.Event], config: CoreConfig | None = None):
    core = Core(config or CoreConfig(queues={"support": QueueConfig("support")}))
    outs = [core.apply(e) for e in sorted(events, key=lambda e: e.ts)]
    assert core.stats["errors"] == 0, core.last_error
    return core, outs


def records(outs) -> dict[str, dict]:
    return {r["caller_number"]: r for o in outs for r in o.records}


def test_queue_kpis_for_the_day():
    s, _ = day()
    core, _ = run(s.events)
    v = core.queue_view("support")
    for window in ("15m", "60m", "interval", "today"):
        k = v["kpi"][window]
        assert (k["offered"], k["answered"], k["abandoned"], k["short_abandoned"], k["timeouts"]) == (6, 3, 2, 1, 1), window
        assert k["service_level"] == pytest.approx(2 / 5)
        assert k["abandon_rate"] == pytest.approx(0.2)
        assert k["asa_s"] == pytest.approx(15.0)
        assert k["aht_s"] == pytest.approx((120 + 20 + 80) / 3, abs=1e-3)
        assert k["avg_talk_s"] == pytest.approx(40.0)
        assert k["avg_hold_s"] == pytest.approx(20 / 3, abs=1e-3)
        assert k["avg_wrap_up_s"] == pytest.approx(80 / 3, abs=1e-3)
        assert k["longest_wait_s"] == pytest.approx(60.0)
    assert v["sl_formula"] == "SL = answered ≤ 20s / (answered + abandoned ≥ 5s + timed out); waits in whole seconds, as app_queue counts them"
    assert v["waiting"] == 0 and v["callers"] == []
    assert v["agents"]["available"] == 2
    assert core.wallboard()["totals"]["kpi"]["today"]["service_level"] == pytest.approx(0.4)


def test_call_records():
    s, c = day()
    _, outs = run(s.events)
    r = records(outs)
    assert len(r) == 6
    r1 = r["13800000001"]
    assert r1["outcome"] == "answered" and r1["agent"] == A and r1["caller_name"] == "张三"
    assert (r1["wait_s"], r1["talk_s"], r1["hold_s"], r1["wrap_up_s"]) == (5, 60, 0, 10)
    assert r1["disposition"] == "resolved" and r1["disposition_note"] == "fixed the tap"
    assert r1["ring_attempts"] == [{"agent": A, "ring_s": 4, "result": "answered", "started_at": T0 + 1}]
    assert r1["call_id"] == c["c1"].linkedid and r1["ended_at"] == T0 + 65
    r2 = r["13800000002"]
    assert [(a["agent"], a["ring_s"], a["result"]) for a in r2["ring_attempts"]] == [(A, 15.0, "no_answer"), (B, 13, "answered")]
    assert (r2["wait_s"], r2["talk_s"], r2["hold_s"], r2["wrap_up_s"]) == (30, 40, 20, 60)
    assert r2["disposition"] is None  # the wrap-up ran out
    kinds = [t["kind"] for t in r2["timeline"]]
    assert kinds.index("queued") < kinds.index("ringing") < kinds.index("answered") < kinds.index("hold") < kinds.index("unhold")
    r3, r4, r5 = r["13800000003"], r["13800000004"], r["13800000005"]
    assert (r3["outcome"], r3["short_abandon"], r3["wait_s"], r3["abandon_position"]) == ("abandoned", True, 3, 1)
    assert (r4["outcome"], r4["short_abandon"], r4["wait_s"]) == ("abandoned", False, 30)
    assert (r5["outcome"], r5["short_abandon"], r5["wait_s"], r5["abandon_position"]) == ("timeout", False, 60, None)
    r6 = r["13800000006"]
    assert r6["transfer"] == {"kind": "blind", "target": "8005"}
    assert (r6["talk_s"], r6["wrap_up_s"], r6["ended_at"]) == (20, 10, T0 + 500)


def test_agents_for_the_day():
    s, _ = day()
    core, _ = run(s.events)
    a = core.agent_view(A)["today"]
    assert (a["handled"], a["talk_s"], a["hold_s"], a["wrap_up_s"]) == (2, 80, 0, 20)
    assert a["occupancy"] == pytest.approx(100 / 600)
    assert a["aht_s"] == pytest.approx(50)
    b = core.agent_view(B)["today"]
    assert (b["handled"], b["talk_s"], b["hold_s"], b["wrap_up_s"]) == (1, 40, 20, 60)
    assert b["paused_s"] == {"lunch": 100}  # the wrap-up pauses are not pauses
    assert b["occupancy"] == pytest.approx(120 / 500)
    assert core.agent_totals(B)["occupancy"] == pytest.approx(120 / 500)


def test_wrap_up_pauses_and_unpauses_through_actions():
    s, _ = day()
    core = Core(CoreConfig(queues={"support": QueueConfig("support")}))
    seen = []
    for e in s.events:
        out = core.apply(e)
        seen += [(round(e.ts - T0), a) for a in out.actions]
        if isinstance(e, ev.MemberPaused) and e.reason == "wrap-up" and e.paused:
            assert core.agent_view(e.interface)["state"] == "wrap_up"  # not 'paused'
    assert seen == [
        (65, PauseMember(A, True, "wrap-up")),
        (75, PauseMember(A, False, "wrap-up")),
        (190, PauseMember(B, True, "wrap-up")),
        (250, PauseMember(B, False, "wrap-up")),  # fired at the deadline by the tick at +250
        (430, PauseMember(A, True, "wrap-up")),
        (440, PauseMember(A, False, "wrap-up")),
    ]


def test_agent_states_and_views_during_a_call():
    s = Script()
    s.member(T0, "support", A)
    c = s.join(T0, "support", "1001", "李四")
    core = Core(CoreConfig(queues={"support": QueueConfig("support", wrap_up_s=30)}))
    for e in s.events:
        core.apply(e)
    core.apply(ev.Tick(T0 + 7))
    q = core.queue_view("support")
    assert q["waiting"] == 1 and q["longest_wait_s"] == 7
    assert q["callers"] == [{"call_id": c.linkedid, "caller_number": "1001", "caller_name": "李四", "position": 1, "wait_s": 7, "priority": 0, "entered_at": T0}]
    assert core.apply(ev.Tick(T0 + 8)).queues == {"support"}  # a waiting caller: the view changes every second
    s.events.clear()
    s.ring(T0 + 8, c, A)
    outs = [core.apply(e) for e in s.events]
    assert ScreenPop(A, c.linkedid, "ringing") in outs[-1].pops
    assert core.agent_view(A)["state"] == "ringing"
    assert core.call_view(c.linkedid)["state"] == "ringing"
    s.events.clear()
    s.answer(T0 + 10, c, A, T0 + 8)
    s.hold(T0 + 20, c)
    for e in s.events:
        core.apply(e)
    v = core.agent_view(A)
    assert v["state"] == "on_hold" and v["call"]["caller_number"] == "1001" and v["call"]["wait_s"] == 10
    assert core.call_view(c.linkedid)["state"] == "on_hold"
    assert core.queue_view("support")["agents"]["on_hold"] == 1
    s.events.clear()
    s.unhold(T0 + 25, c)
    s.hang_up(T0 + 40, c)
    for e in s.events:
        core.apply(e)
    v = core.agent_view(A)
    assert v["state"] == "wrap_up" and v["wrap_up"] == {"call_id": c.linkedid, "queue": "support", "deadline": T0 + 70, "dispositions_required": True}
    assert core.call_view(c.linkedid)["state"] == "wrap_up"
    out = core.apply(ev.Tick(T0 + 71))
    assert core.agent_view(A)["state"] == "available"
    assert [r["wrap_up_s"] for r in out.records] == [30]
    assert core.call_view(c.linkedid) is None


def test_pause_with_reason_and_interval_history():
    core = Core()
    core.apply(ev.MemberAdded(T0, "support", A, "Agent A", 2, False, "", 1))
    out = core.apply(ev.MemberPaused(T0 + 10, "support", A, "Agent A", True, "training"))
    assert out.intervals == [{"interface": A, "state": "available", "reason": "", "started_at": T0, "ended_at": T0 + 10, "duration_s": 10, "call_id": None}]
    v = core.agent_view(A)
    assert (v["state"], v["reason"], v["since"]) == ("paused", "training", T0 + 10)
    assert v["queues"] == [{"queue": "support", "penalty": 2, "paused": True}]
    assert v["history"] == [{"state": "available", "reason": "", "start": T0, "end": T0 + 10, "call_id": None}]
    core.apply(ev.MemberPaused(T0 + 70, "support", A, "Agent A", False, ""))
    assert core.agent_view(A)["today"]["paused_s"] == {"training": 60}
    core.apply(ev.MemberRemoved(T0 + 80, "support", A, "Agent A"))
    assert core.agent_view(A)["state"] == "logged_out"
    assert core.queue_view("support")["agents"]["logged_out"] == 1


def test_paused_during_call_keeps_person_pause_after_wrap_up():
    """An agent who pauses for lunch during a call is not unpaused by the wrap-up."""
    s = Script()
    s.member(T0, "q", A)
    c = s.join(T0, "q", "1")
    s.ring(T0 + 1, c, A)
    s.answer(T0 + 2, c, A, T0 + 1)
    s.pause(T0 + 10, "q", A, True, "lunch")
    s.hang_up(T0 + 20, c)
    s.disposition(T0 + 25, A, c.linkedid, "resolved")
    core, outs = run(s.events)
    assert [a for o in outs for a in o.actions] == []
    v = core.agent_view(A)
    assert (v["state"], v["reason"]) == ("paused", "lunch")


def test_ringall_cancel_and_attended_transfer():
    s = Script()
    for i in (A, B):
        s.member(T0, "sales", i)
    c = s.join(T0, "sales", "2001")
    s.ring(T0 + 1, c, A)
    s.ring(T0 + 1, c, B)
    s.answer(T0 + 6, c, B, T0 + 1)  # A's leg gets DialEnd CANCEL
    target = s.attended_transfer(T0 + 20, T0 + 50, c, "9001")
    s.disposition(T0 + 55, B, c.linkedid, "transferred")
    s.caller_gone(T0 + 300, c)
    core, outs = run(s.events)
    (r,) = [r for o in outs for r in o.records]
    assert [(a["agent"], a["result"]) for a in r["ring_attempts"]] == [(A, "cancelled"), (B, "answered")]
    assert r["transfer"] == {"kind": "attended", "target": "9001"}
    assert (r["talk_s"], r["hold_s"], r["wrap_up_s"], r["ended_at"]) == (14, 30, 5, T0 + 300)
    assert {leg["uniqueid"]: leg["role"] for leg in r["legs"]}[target] == "transfer_target"
    assert core.agent_view(A)["state"] == "available"


def test_abandon_variants_are_classified():
    s = Script()
    s.member(T0, "q", A)
    c1 = s.join(T0, "q", "1")
    s.queue_exit(T0 + 30, c1, "LEAVEEMPTY")
    c2 = s.join(T0, "q", "2")
    s.add(ev.CallerAbandoned(T0 + 40, "q", c2.uniqueid, c2.linkedid, 1, 2, 40))
    s.add(ev.CallerLeft(T0 + 40, "q", c2.uniqueid, c2.linkedid, 1, 0))
    s.add(ev.UserEvent(T0 + 40, c2.uniqueid, c2.linkedid, "QueueResult", (("Status", "TIMEOUT"),)))
    s.add(ev.Hangup(T0 + 41, c2.uniqueid, c2.linkedid, "", 16, ""))  # later hangup does not make it an abandon
    c3 = s.join(T0 + 50, "q", "3")
    s.add(ev.CallerLeft(T0 + 60, "q", c3.uniqueid, c3.linkedid, 1, 0))  # ExitWithKey: no abandon event
    c4 = s.join(T0 + 70, "q", "4")
    s.add(ev.CallbackRequested(T0 + 80, c4.uniqueid, "q", "4"))
    s.add(ev.CallerAbandoned(T0 + 81, "q", c4.uniqueid, c4.linkedid, 1, 1, 11))
    s.add(ev.CallerLeft(T0 + 81, "q", c4.uniqueid, c4.linkedid, 1, 0))
    s.add(ev.VarSet(T0 + 81, c4.uniqueid, c4.linkedid, "", "QUEUESTATUS", "WITHDRAW"))
    c5 = s.join(T0 + 90, "q", "5")
    s.add(ev.Hangup(T0 + 99, c5.uniqueid, c5.linkedid, "", 16, ""))  # no abandon event seen at all
    s.tick(T0 + 200)
    core, outs = run(s.events)
    r = records(outs)
    assert {n: r[n]["outcome"] for n in r} == {
        "1": "left_empty",
        "2": "timeout",
        "3": "exit_key",
        "4": "callback_requested",
        "5": "abandoned",
    }
    k = core.queue_view("q")["kpi"]["today"]
    assert (k["offered"], k["abandoned"], k["timeouts"]) == (5, 1, 1)


def test_abandon_while_ringing_cancels_the_ring():
    s = Script()
    s.member(T0, "q", A)
    c = s.join(T0, "q", "1")
    s.ring(T0 + 2, c, A)
    s.abandon(T0 + 9, c)
    core, outs = run(s.events)
    (r,) = [r for o in outs for r in o.records]
    assert r["outcome"] == "abandoned" and r["ring_attempts"] == [{"agent": A, "ring_s": 7, "result": "cancelled", "started_at": T0 + 2}]
    assert core.agent_view(A)["state"] == "available"


@pytest.mark.parametrize(
    "mode,expected",
    [("against", 2 / 5), ("ignore", 2 / 3), ("favour", (2 + 1) / (3 + 2 + 1))],
)
def test_abandon_modes(mode, expected):
    s, _ = day()
    core, _ = run(s.events, CoreConfig(queues={"support": QueueConfig("support", abandon_mode=mode)}))
    assert core.queue_view("support")["kpi"]["today"]["service_level"] == pytest.approx(expected)


def test_sliding_windows_forget_and_interval_resets():
    s, _ = day()
    core, _ = run(s.events)
    core.apply(ev.Tick(T0 + 600 + 16 * 60))
    v = core.queue_view("support")["kpi"]
    assert v["15m"]["offered"] == 0 and v["60m"]["offered"] == 6
    assert v["15m"]["service_level"] is None
    core.apply(ev.Tick(T0 + 600 + 61 * 60))
    v = core.queue_view("support")["kpi"]
    assert v["60m"]["offered"] == 0 and v["interval"]["offered"] == 0 and v["today"]["offered"] == 6


def test_today_resets_at_the_configured_local_time():
    # T0 is 06:13:20 in UTC+8; reset "today" at 06:20 local.
    core = Core(CoreConfig(day_reset_s=6 * 3600 + 20 * 60, tz_offset_s=8 * 3600))
    s = Script()
    c = s.join(T0, "q", "1")
    s.abandon(T0 + 30, c)
    for e in s.events:
        core.apply(e)
    assert core.queue_view("q")["kpi"]["today"]["offered"] == 1
    core.apply(ev.Tick(T0 + 7 * 60))
    assert core.queue_view("q")["kpi"]["today"]["offered"] == 0


def test_duplicates_are_idempotent():
    s, _ = day()
    doubled = [e for e in s.events for _ in (0, 1)]
    core1, outs1 = run(s.events)
    core2, outs2 = run(doubled)
    assert core2.queue_view("support")["kpi"] == core1.queue_view("support")["kpi"]
    strip = lambda rs: sorted((r["call_id"], r["outcome"], r["talk_s"], r["wrap_up_s"]) for r in rs)  # noqa: E731
    assert strip([r for o in outs2 for r in o.records]) == strip([r for o in outs1 for r in o.records])
    assert core2.stats["duplicate"] > 0


def test_odd_input_is_counted_not_raised():
    core = Core()
    odd = [
        ev.AgentConnected(T0, "q", "nope", "nope", A, A, "x", "x", 1, 1),
        ev.CallerAbandoned(T0, "q", "nope", "nope", 1, 1, 3),
        ev.Hold(T0, "nope", "nope", "x"),
        ev.MemberPaused(T0, "q", "PJSIP/ghost", "g", True, "x"),
        ev.DispositionSubmitted(T0, "PJSIP/ghost", "c", "resolved"),
        ev.BlindTransfer(T0, "a", "b", "c", "d", "ctx", "100", "Success"),
        ev.VarSet(T0, "u", "u", "c", "QUEUE_PRIO", "not-a-number"),
        ev.Resync(T0),
        ev.Event(T0),
        ev.Tick(T0 - 100),  # time going backwards
    ]
    for e in odd:
        core.apply(e)
    assert core.stats["errors"] == 0
    assert core.stats["unknown_call"] >= 1 and core.stats["unhandled_event"] == 1
    # An AgentConnect or a QueueCallerAbandon for a caller whose join we never
    # saw (we connected after it) is a real call: it is made from what they say.
    assert core.stats["unknown_member"] == 1 and core.stats["disposition_not_in_wrap_up"] == 1


def test_resync_reconciles_members_pauses_and_waiting_callers():
    core = Core()
    s = Script()
    s.member(T0, "q", A)
    s.member(T0, "q", "PJSIP/gone")
    gone = s.join(T0, "q", "lost")
    for e in s.events:
        core.apply(e)
    snap = ev.Resync(
        T0 + 100,
        members=(ev.MemberSnapshot("q", A, A, 1, True, "meeting", 1, False, 3, 0, 0),),
        entries=(ev.EntrySnapshot("q", "9.9", "PJSIP/t-9", "555", "王五", 1, 40, 5),),
        queues=("q",),
    )
    core.apply(snap)
    assert core.agent_view(A)["state"] == "paused" and core.agent_view(A)["reason"] == "meeting"
    assert core.agent_view("PJSIP/gone")["state"] == "logged_out"
    v = core.queue_view("q")
    assert [(c["caller_number"], c["wait_s"], c["priority"]) for c in v["callers"]] == [("555", 40, 5)]
    assert v["kpi"]["today"]["abandoned"] == 0  # the vanished caller is inferred, not counted
    assert core.call_view(gone.linkedid) is None


def test_route_and_priority_and_recording_reach_the_call():
    s = Script()
    s.add(ev.VarSet(T0, "1700000000.1", "1700000000.1", "", "QUEUE_PRIO", "7"))
    s.add(ev.RouteDecided(T0, "1700000000.1", "vip", 7, "grade A", 42, "赵六"))
    c = s.join(T0 + 1, "vip", "1")
    s.member(T0, "vip", A)
    s.ring(T0 + 2, c, A)
    s.answer(T0 + 3, c, A, T0 + 2)
    s.add(ev.VarSet(T0 + 3, c.uniqueid, c.linkedid, "", "MIXMONITOR_FILENAME", "/rec/x.wav"))
    core, _ = run(s.events)
    v = core.call_view(c.linkedid)
    assert v["priority"] == 7 and v["route"]["customer_name"] == "赵六" and v["recording_file"] == "/rec/x.wav"


def test_recording_start_is_on_the_timeline_once_per_mixmonitor_run():
    """The QA player's audio t=0 is the timeline's "recording" entry, whether
    Asterisk announces it with VarSet MIXMONITOR_FILENAME, MixMonitorStart or both."""
    s = Script()
    s.member(T0, "q", A)
    c = s.join(T0, "q", "1")
    s.ring(T0 + 1, c, A)
    s.answer(T0 + 3, c, A, T0 + 1)
    s.add(ev.VarSet(T0 + 3, c.uniqueid, c.linkedid, c.channel, "MIXMONITOR_FILENAME", "/rec/a.wav"))
    s.add(ev.RecordingStarted(T0 + 3, c.uniqueid, c.linkedid, c.channel))
    s.add(ev.RecordingStopped(T0 + 20, c.uniqueid, c.linkedid, c.channel))
    s.add(ev.RecordingStarted(T0 + 25, c.uniqueid, c.linkedid, c.channel))  # MixMonitorStart alone (no VarSet)
    s.hang_up(T0 + 30, c, by="caller")
    s.disposition(T0 + 31, A, c.linkedid, "resolved")
    _, outs = run(s.events)
    line = [x for x in records(outs)["1"]["timeline"] if x["kind"].startswith("recording")]
    assert line == [
        {"t": T0 + 3, "kind": "recording", "file": "/rec/a.wav"},
        {"t": T0 + 20, "kind": "recording_end"},
        {"t": T0 + 25, "kind": "recording", "file": "/rec/a.wav"},
    ]
    d = Script()
    d.member(T0, "q", A)
    c2 = d.join(T0, "q", "2")
    d.ring(T0 + 1, c2, A)
    d.answer(T0 + 2, c2, A, T0 + 1)
    d.add(ev.VarSet(T0 + 2, c2.uniqueid, c2.linkedid, c2.channel, "MIXMONITOR_FILENAME", "/rec/b.wav"))  # VarSet alone
    d.hang_up(T0 + 30, c2, by="caller")
    d.disposition(T0 + 31, A, c2.linkedid, "resolved")
    _, outs = run(d.events)
    line = [x for x in records(outs)["2"]["timeline"] if x["kind"].startswith("recording")]
    assert line == [{"t": T0 + 2, "kind": "recording", "file": "/rec/b.wav"}]


def test_requeue_after_blind_transfer_is_a_new_queue_call():
    s = Script()
    s.member(T0, "a", A)
    s.member(T0, "b", B)
    c = s.join(T0, "a", "1")
    s.ring(T0 + 1, c, A)
    s.answer(T0 + 2, c, A, T0 + 1)
    s.blind_transfer(T0 + 10, c, "b")
    s.add(ev.CallerJoined(T0 + 11, "b", c.uniqueid, c.linkedid, c.channel, "1", "", 1, 1))
    core, outs = run(s.events)
    assert core.queue_view("b")["waiting"] == 1
    assert core.queue_view("b")["callers"][0]["call_id"] == c.linkedid + "-2"
    core.apply(ev.DispositionSubmitted(T0 + 12, A, c.linkedid, "transferred"))
    assert core.queue_view("a")["kpi"]["today"]["answered"] == 1


def test_local_channel_optimisation_keeps_the_agent_on_the_call():
    s = Script()
    s.member(T0, "q", "Local/8001@agents")
    c = s.join(T0, "q", "1")
    s.ring(T0 + 1, c, "Local/8001@agents")
    s.answer(T0 + 2, c, "Local/8001@agents", T0 + 1)
    local_leg = c.agent_uid
    s.add(ev.BridgeEntered(T0 + 3, "bridge-1", "phone.1", c.linkedid, "PJSIP/8001-0001", swap_uniqueid=local_leg))
    s.add(ev.Hangup(T0 + 3, local_leg, c.linkedid, "", 16, ""))
    s.add(ev.Hold(T0 + 5, "phone.1", c.linkedid, "PJSIP/8001-0001"))
    core, _ = run(s.events)
    assert core.agent_view("Local/8001@agents")["state"] == "on_hold"


def test_lossy_reordered_feed_never_breaks_the_core():
    """A feed with lost, doubled and locally reordered events (a flaky link)
    is absorbed: nothing raises, views stay JSON-ready, no call is stuck waiting."""
    import json
    import random

    from callcenter.acd.traffic import Traffic, generate

    rng = random.Random(5)
    events = generate(Traffic(calls=400, agents_per_queue=6, arrival_rate=1 / 40, patience_s=60, ring_s=(1, 8),
                              p_no_answer=0.1, p_hold=0.3, p_transfer=0.1, wrap_up_s=(5, 40), p_pause=0.1, seed=9))  # fmt: skip
    feed = []
    for e in events:
        r = rng.random()
        if r < 0.05:
            continue
        feed.append(e)
        if r > 0.95:
            feed.append(e)
    for i in range(0, len(feed) - 3, 7):
        feed[i], feed[i + 2] = feed[i + 2], feed[i]
    core = Core(CoreConfig())
    records = [r for e in feed for r in core.apply(e).records]
    records += core.apply(ev.Tick(feed[-1].ts + 3 * 3600 + 120)).records
    assert core.stats["errors"] == 0, core.last_error
    json.dumps(core.wallboard())
    assert len(records) > 300
    assert core.queue_view("q0")["waiting"] == 0
    k = core.queue_view("q0")["kpi"]
    assert all(0 <= (k[w]["service_level"] or 0) <= 1 and 0 <= (k[w]["abandon_rate"] or 0) <= 1 for w in k)
