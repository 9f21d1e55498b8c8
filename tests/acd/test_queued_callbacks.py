"""Queued callbacks keep the caller's place (issue 16; acd/qcallbacks.py).

Pure core scenarios first (scripted events, then the simulator's wire in
virtual time with the core's actions carried out), then the real stack:
simulator over TCP -> Bridge -> AcdService -> CallbackDialer -> gateway.
"""

from __future__ import annotations


import pytest

from callcenter.acd import events as ev
from callcenter.acd.core import Core, CoreConfig, PauseMember, QueueConfig
from callcenter.acd.common import CALLBACK_REASON, WRAP_REASON, CallbackOffer
from callcenter.acd.script import Script
from callcenter.ami.normaliser import EventStream
from callcenter.simulator.clock import VirtualClock
from callcenter.simulator.pbx import PBX
from callcenter.simulator.server import encode

T0 = 1_700_000_000.0
A, B = "PJSIP/8001", "PJSIP/8002"


def run(events: list[ev.Event]) -> tuple[Core, list]:
    core = Core(CoreConfig(queues={"support": QueueConfig("support", wrap_up_s=60)}))
    outs = [core.apply(e) for e in sorted(events, key=lambda e: e.ts)]
    assert core.stats["errors"] == 0, core.last_error
    return core, outs


def busy_agent(s: Script) -> object:
    """A answers c0 at +1 and hangs up at +40; B is at lunch all along."""
    s.member(T0, "support", A)
    s.member(T0, "support", B, paused=True, reason="lunch")
    c0 = s.join(T0, "support", "13800000000")
    s.ring(T0 + 0.5, c0, A)
    s.answer(T0 + 1, c0, A, ring_started=T0 + 0.5)
    s.hang_up(T0 + 40, c0, by="caller")
    s.pause(T0 + 40, "support", A, True, WRAP_REASON)  # Asterisk's answer to the wrap-up pause
    return c0


def test_the_callback_is_offered_before_a_caller_who_came_later() -> None:
    """c1 joins at +10 and presses 9 at +20; c2 joins at +15.  When A's
    wrap-up ends (+45), the callback (entry +10) is ahead of c2 (+15): A is
    offered the callback and stays paused, so app_queue cannot ring A for c2."""
    s = Script()
    c0 = busy_agent(s)
    c1 = s.join(T0 + 10, "support", "13800000001")
    c2 = s.join(T0 + 15, "support", "13800000002")
    s.exit_with_key(T0 + 20, c1, task="41")
    s.tick(T0 + 30)
    s.disposition(T0 + 45, A, c0.linkedid, "resolved")
    core, outs = run(s.events)
    offers = [o for out in outs for o in out.offers]
    assert offers == [CallbackOffer(f"cb-{c1.linkedid}", "support", A, "13800000001", "41", c1.uniqueid, T0 + 10, 1, T0 + 20)]
    last = outs[-1]
    assert last.offers and not [p for p in last.actions if p.interface == A and not p.paused], "A's unpause is held back"
    v = core.queue_view("support")
    assert [c["caller_number"] for c in v["callers"]] == ["13800000002"]
    card = core.call_view(f"cb-{c1.linkedid}")  # what the desktop's screen-pop shows
    assert (card["caller_number"], card["direction"], card["callback"]["task"], card["entered_at"]) == ("13800000001", "outbound", "41", T0 + 10)
    assert core.agent_view(A)["callback"]["state"] == "offered"
    cb = v["callbacks"][0]
    assert (cb["state"], cb["agent"], cb["entered_at"], cb["requested_at"], cb["position"]) == ("offered", A, T0 + 10, T0 + 20, 1)
    k = v["kpi"]["today"]
    # Offered 3 (c0, c1, c2); c1 left the queue as a callback, not an abandon.
    # Offered to A, not yet dialled: a callback is made when the customer is dialled (CcOutbound).
    assert (k["offered"], k["abandoned"], k["callbacks_requested"], k["callbacks_made"]) == (3, 0, 1, 0)
    assert k["abandon_rate"] == 0.0
    assert [r["outcome"] for o in outs for r in o.records if r["caller_number"] == "13800000001"] == ["callback_requested"]
    assert c2.uniqueid in {c["call_id"] for c in v["callers"]}


def test_a_live_caller_who_came_first_is_served_first() -> None:
    """c1 joins at +10 and waits; c2 joins at +12 and presses 9 at +20.  A
    frees at +45: c1 is ahead of the callback, so A is unpaused for
    app_queue, and nothing is offered.  A higher priority counts too: c3
    (QUEUE_PRIO 5, joined +30) is ahead of the callback as well."""
    s = Script()
    c0 = busy_agent(s)
    s.join(T0 + 10, "support", "13800000001")
    c2 = s.join(T0 + 12, "support", "13800000002")
    s.exit_with_key(T0 + 20, c2, task="42")
    c3 = s.join(T0 + 30, "support", "13800000003")
    s.add(ev.VarSet(T0 + 30, c3.uniqueid, c3.linkedid, c3.channel, "QUEUE_PRIO", "5"))
    s.disposition(T0 + 45, A, c0.linkedid, "resolved")
    core, outs = run(s.events)
    assert not [o for out in outs for o in out.offers]
    assert PauseMember(A, False, WRAP_REASON) in outs[-1].actions
    cb = core.queue_view("support")["callbacks"][0]
    assert (cb["state"], cb["position"]) == ("waiting", 3)  # behind c3 (priority 5) and c1 (+10)


def test_an_agent_already_free_is_paused_for_the_callback() -> None:
    """Nobody waits live and A is free: the callback is offered at once and
    A paused with reason "callback" (the core's own pause, not a person's)."""
    s = Script()
    s.member(T0, "support", A)
    c1 = s.join(T0, "support", "13800000001")
    s.exit_with_key(T0 + 3, c1, task="7")
    core, outs = run(s.events)
    assert [(o.interface, o.task) for out in outs for o in out.offers] == [(A, "7")]
    assert PauseMember(A, True, CALLBACK_REASON) in outs[-1].actions
    s.pause(T0 + 3.1, "support", A, True, CALLBACK_REASON)
    core, _ = run(s.events)
    assert core.agent_view(A)["state"] != "paused", "a callback hold is not a person's pause"


# --- the simulator's wire, the core's actions carried out (virtual time) -----------------


class Wired:
    """The core on the simulator's wire; what the core asks for is done 0.1 s later."""

    def __init__(self, answer_customer: bool = True) -> None:
        self.pbx = PBX(clock=VirtualClock(), seed=1)
        self.core = Core(CoreConfig(queues={"repairs": QueueConfig("repairs", wrap_up_s=20)}))
        self.stream, self.records, self.callbacks, self.todo, self.pops = EventStream(), [], [], [], []
        self.queue_log: list[tuple[str, ...]] = []
        self.offers: list = []  # every CallbackOffer the core made
        self.answer_customer = answer_customer
        self.apply = self.core.apply  # or an AcdService's submit, fed the same events
        self.pbx.sinks.append(self._feed)
        self.pbx.queue_log.append(lambda row: self.queue_log.append((row.event, *(str(x) for x in row.data))))

    def _take(self, out) -> None:  # noqa: ANN001
        self.records.extend(out.records)
        self.callbacks.extend(out.callbacks)
        self.pops.extend((p.interface, p.call_id, p.phase) for p in out.pops if p.call_id.startswith("cb-"))
        self.todo.extend(out.actions)
        self.todo.extend(out.offers)
        self.offers.extend(out.offers)

    def _feed(self, fields) -> None:  # noqa: ANN001
        for e in self.stream.feed(encode(fields), self.pbx.now):
            self._take(self.apply(e))

    def run(self, seconds: float) -> None:
        end = self.pbx.now + seconds
        while self.pbx.now < end:
            self.pbx.advance(0.1)
            self._take(self.apply(ev.Tick(self.pbx.now)))
            while self.todo:
                a = self.todo.pop(0)
                if isinstance(a, PauseMember):
                    self.pbx.pause(a.interface, a.paused, a.reason)
                else:
                    if not self.answer_customer:
                        self.pbx.set_phone(a.interface, answer_after=1.0)
                    self.pbx.originate(a.interface, exten=a.number, context="agents", callerid=f'"{a.number}" <{a.number}>',
                                       variables={"CC_AGENT": a.interface, "CC_CALLBACK_TASK": a.task}, talk=20)  # fmt: skip


def test_on_the_wire_the_callback_connects_before_the_later_caller_is_answered() -> None:
    w = Wired()
    pbx = w.pbx
    pbx.add_member("repairs", A, "王静")
    pbx.advance(0)
    t0 = pbx.now
    pbx.new_call("repairs", "13800000001", answer=[{"agent": A, "after": 1}], talk=30)
    pbx.advance(2)
    pbx.new_call("repairs", "13800000002", key=(10, "9"), after_timeout=3)  # entry +2, key at +12
    pbx.advance(3)
    pbx.new_call("repairs", "13800000003", answer=[{"agent": A, "after": 1}], talk=10)  # entry +5
    w.run(250)
    # Asterisk's own record of the key: EXITWITHKEY key|position|origposition|waittime.
    assert [r for r in w.queue_log if r[0] == "EXITWITHKEY"] == [("EXITWITHKEY", "9", "1", "1", "10")]
    [cb] = w.callbacks
    assert (cb["state"], cb["agent"], cb["task"], cb["attempts"]) == ("connected", A, "1", 1)
    assert cb["entered_at"] == t0 + 2 and cb["requested_at"] == t0 + 12
    later = next(r for r in w.records if r["caller_number"] == "13800000003")
    assert later["outcome"] == "answered" and cb["connected_at"] < later["answered_at"]
    out_call = next(r for r in w.records if r["kind"] == "outbound")
    assert out_call["callee_number"] == "13800000002" and out_call["agent"] == A
    assert any(i["kind"] == "queued_callback" and i["task"] == "1" for i in out_call["timeline"])
    # The agent's desktop: a card for the callback when it is offered, answered, then gone with the call.
    assert w.pops == [(A, cb["callback_id"], "ringing"), (A, cb["callback_id"], "answered"), (A, cb["callback_id"], "cleared")]
    k = w.core.queue_view("repairs")["kpi"]["today"]
    assert (k["offered"], k["answered"], k["abandoned"], k["abandon_rate"]) == (3, 2, 0, 0.0)
    assert (k["callbacks_requested"], k["callbacks_made"], k["callbacks_reached"]) == (1, 1, 1)
    assert k["callback_wait_s"] == pytest.approx(cb["connected_at"] - cb["entered_at"])
    assert k["callback_delay_s"] == pytest.approx(cb["connected_at"] - cb["requested_at"])
    assert w.core.stats["errors"] == 0


def test_a_customer_who_does_not_answer_is_tried_again_then_left_to_the_list() -> None:
    w = Wired()
    pbx = w.pbx
    pbx.add_member("repairs", A, "王静")
    pbx.advance(0)
    pbx.set_phone("PJSIP/13800000002@carrier", miss_prob=1.0)  # the customer never answers: Dial(...,60) runs out
    pbx.new_call("repairs", "13800000002", key=(3, "9"), after_timeout=1)
    w.run(3 * 200)
    [cb] = w.callbacks
    assert (cb["state"], cb["attempts"]) == ("failed", 3)
    assert [i["kind"] for i in cb["timeline"]].count("offered") == 3
    assert w.core.agent_view(A)["state"] == "available"
    assert pbx.memberships(A)[0].paused is False, "the agent is given back to app_queue"


# --- the real stack: simulator over TCP -> Bridge -> AcdService -> gateway -------------------


async def test_the_real_stack_keeps_the_callers_place_and_replays_the_same(db, tmp_path):
    """A takes c1; c2 (+2) presses 9 at +12, c3 joins at +5.  The hook (here
    a stand-in that returns the task made beforehand, as /hooks/callback
    does) names the task; when A's wrap-up ends the service originates the
    callback (A's phone first, then c2's number) and c3 waits behind it.
    The live KPIs count no abandon, the task ends reached, and a replay of
    the capture gives the same calls, KPIs and agents."""
    import json
    import subprocess
    import sys
    from zoneinfo import ZoneInfo

    from callcenter.acd.replay import report, settle_s
    from callcenter.acd.service import AcdService, core_config_from
    from callcenter.ami.bridge import Bridge
    from callcenter.crm.models import CallbackReason, CallbackStatus, CallbackTask
    from callcenter.crm.service import request_callback
    from callcenter.simulator.clock import RealClock
    from callcenter.simulator.server import AmiServer
    from tests.ami.conftest import SECRET, USER, ami_settings, until

    async with db.sessions() as s:
        task, _ = await request_callback(s, "13800000002", CallbackReason.requested, "", "repairs", ZoneInfo("Asia/Shanghai"), "")
        await s.commit()
        task_id = task.id
    asked: list[dict[str, str]] = []

    def hook(q: dict[str, str]) -> dict[str, str]:
        asked.append(q)
        return {"task": str(task_id), "status": "exists"}

    capture = tmp_path / "callback.ami"
    speed = 60.0
    with open(capture, "wb") as rec:
        pbx = PBX(clock=RealClock(speed=speed), seed=5)
        pbx.callback_hook = hook
        server = AmiServer(username=USER, secret=SECRET, pbx=pbx, record=rec)
        server.faults.login_delay_s = 0.0
        port = await server.start()
        settings = ami_settings(port, ami_ping_interval_s=1.0, ami_dead_after_s=10.0)
        # The service's clock is the simulator's (sped up): its 1 s Ticks end wrap-ups on time.
        acd = AcdService(db, core_config_from(settings), gateway=None, clock=lambda: pbx.clock.wall(pbx.schedule), tick_s=0.05)
        records: list[dict] = []
        callbacks: list[dict] = []
        acd.subscribe(lambda out, core: (records.extend(out.records), callbacks.extend(out.callbacks)))
        await acd.start()
        bridge = Bridge(settings, on_event=acd.submit)
        acd.gateway = bridge.gateway
        await bridge.start()
        try:
            await until(lambda: bridge.readiness()["ok"], 5.0, "bridge ready")
            pbx.set_phone(A, answer_after=1.0)
            pbx.set_phone("PJSIP/13800000002@carrier", answer_after=3.0)
            pbx.add_member("repairs", A, "王静")
            await until(lambda: A in acd.core.agents, 5.0, "A logged in")
            t0 = pbx.now
            pbx.new_call("repairs", "13800000001", answer=[{"agent": A, "after": 1}], talk=30)
            await until(lambda: pbx.now - t0 >= 2, 5.0, "+2")
            pbx.new_call("repairs", "13800000002", key=(10, "9"), after_timeout=3)
            await until(lambda: pbx.now - t0 >= 5, 5.0, "+5")
            pbx.new_call("repairs", "13800000003", answer=[{"agent": A, "after": 1}], talk=10)
            await until(lambda: callbacks, 20.0, "the callback to connect")
            await until(lambda: any(r["caller_number"] == "13800000003" for r in records), 20.0, "c3's call to end")
            await until(lambda: not pbx.calls, 10.0, "calls to end")
            # A's last unpause has come back from Asterisk: the live core has read all the capture holds.
            await until(lambda: not pbx.memberships(A)[0].paused and not acd.core.agents[A].queues["repairs"].paused, 10.0, "A unpaused")
        finally:
            await bridge.stop()
            await server.stop()
        acd.submit(ev.Tick(acd.core.now + settle_s(acd.core.config)))
        await acd.flush_all()
        await acd.stop()
    [cb] = callbacks
    assert (cb["state"], cb["agent"], cb["task"], cb["attempts"]) == ("connected", A, str(task_id), 1)
    assert [q["number"] for q in asked] == ["13800000002"]
    assert acd.callback_dialer.dialled == [(cb["callback_id"], A, "13800000002")]
    c3 = next(r for r in records if r["caller_number"] == "13800000003")
    assert c3["outcome"] == "answered" and cb["connected_at"] < c3["answered_at"], "offered before the caller who came later"
    k = acd.core.queue_view("repairs")["kpi"]["today"]
    assert (k["offered"], k["answered"], k["abandoned"], k["abandon_rate"]) == (3, 2, 0, 0.0)
    assert (k["callbacks_requested"], k["callbacks_made"], k["callbacks_reached"]) == (1, 1, 1)
    async with db.sessions() as s:
        t = await s.get(CallbackTask, task_id)
        assert (t.status, t.result, t.attempts) == (CallbackStatus.done, "reached", 1)
        # The dial is counted when the customer is dialled (the core's "made" fact), before the answer.
        assert t.first_try_at is not None and t.first_try_at <= t.completed_at
        assert f"queued callback {cb['callback_id']}: joined repairs" in t.note and "at position 1" in t.note
    live = json.loads(json.dumps(report(acd.core, records), ensure_ascii=False))
    run = subprocess.run([sys.executable, "-m", "callcenter", "replay", str(capture), "--json"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    replayed = json.loads(run.stdout)
    assert replayed["calls"] == live["calls"]
    # The other demo queues are known live only from the connect-time QueueStatus reply (not in a capture).
    assert replayed["queues"]["repairs"] == live["queues"]["repairs"]
    assert replayed["queues"]["repairs"]["callbacks_reached"] == 1
    assert replayed["agents"] == live["agents"]


def test_a_restart_keeps_the_callback_in_its_place() -> None:
    """The snapshot (acd_live_calls) holds the virtual entry: after a
    restart it is still ahead of c2 and offered when A is free."""
    import json

    from callcenter.acd import snapshot

    s = Script()
    c0 = busy_agent(s)
    c1 = s.join(T0 + 10, "support", "13800000001")
    c2 = s.join(T0 + 15, "support", "13800000002")
    s.exit_with_key(T0 + 20, c1, task="41")
    core, _ = run(s.events)
    rows = json.loads(json.dumps(snapshot.dump(core)))  # as the database gives them back
    again = Core(CoreConfig(queues={"support": QueueConfig("support", wrap_up_s=60)}))
    assert snapshot.load(again, rows, T0 + 21) >= 2
    cb = again.queue_view("support")["callbacks"][0]
    assert (cb["callback_id"], cb["entered_at"], cb["task"], cb["position"]) == (f"cb-{c1.linkedid}", T0 + 10, "41", 1)
    again.apply(ev.MemberAdded(T0 + 22, "support", A, A, 0, True, WRAP_REASON, 1))  # as the resync tells it
    out = again.apply(ev.DispositionSubmitted(T0 + 45, A, c0.linkedid, "resolved"))
    assert [(o.interface, o.task) for o in out.offers] == [(A, "41")]
    assert c2.uniqueid in again.queue_acd.queue("support").waiting


def test_without_a_wrap_up_the_agent_is_given_back_when_the_callback_ends() -> None:
    w = Wired()
    w.core.configure(QueueConfig("repairs", wrap_up_s=0))
    pbx = w.pbx
    pbx.add_member("repairs", A, "王静")
    pbx.advance(0)
    pbx.new_call("repairs", "13800000002", key=(3, "9"), after_timeout=1)
    w.run(120)
    [cb] = w.callbacks
    assert cb["state"] == "connected"
    assert w.core.agent_view(A)["state"] == "available" and pbx.memberships(A)[0].paused is False


def test_a_restart_while_the_offer_rings_does_not_offer_it_to_someone_else() -> None:
    """serve stops while A's phone rings for the callback (the offer is in the
    snapshot) and B logs in meanwhile.  The new run keeps the offer A's until
    it lapses: B is not offered it too, so when A answers, the customer is
    dialled once."""
    import json

    from callcenter.acd import snapshot
    from tests.acd.test_callback_backfill import BlindWired

    w = BlindWired()
    pbx = w.pbx
    pbx.add_member("repairs", A, "王静")
    pbx.advance(0)
    pbx.set_phone(A, answer_after=6.0)
    pbx.new_call("repairs", "13800000002", key=(2, "9"), after_timeout=1)
    w.run(4)
    assert w.core.qcallbacks.by_agent[A].state == "offered"
    rows = json.loads(json.dumps(snapshot.dump(w.core)))  # the last save before the stop
    w.cut = True  # serve is down
    pbx.add_member("repairs", B, "李伟")
    w.run(1)
    again = Core(CoreConfig(queues={"repairs": QueueConfig("repairs", wrap_up_s=20)}))
    snapshot.load(again, rows, pbx.now)
    w.core, w.apply = again, again.apply
    w.reconnect(backfill=False)
    w.run(200)
    assert [(o.callback_id, o.interface) for o in w.offers if o.interface == B] == []
    dials = [r for r in w.records if r["kind"] == "outbound" and r["callee_number"] == "13800000002"]
    assert len(dials) == 1 and dials[0]["agent"] == A, "the customer is dialled once"
    [cb] = w.callbacks
    assert (cb["state"], cb["agent"], cb["attempts"]) == ("connected", A, 1)
