"""A person's unpause and a queued callback never put two calls on one
agent (issue 16).  app_queue rings an agent for a live caller the moment
they are unpaused, knowing nothing of the callbacks; the core must not offer
a callback to that agent at the same moment.

The desktop's "ready" holds the agent with the callback pause instead of
unpausing when a callback is theirs (the callback keeps its place); an
unpause from elsewhere (a feature code, a supervisor) leaves the agent to
app_queue for a moment.  On the simulator's wire (virtual time), then on
the real stack with the desktop's REST call.
"""

from __future__ import annotations

from callcenter.acd.common import CALLBACK_REASON, PauseMember
from tests.acd.test_queued_callbacks import A, B, Wired


class Watched(Wired):
    """Wired, noting every moment the core has A both rung by app_queue and
    holding a callback offer (two calls aimed at one phone)."""

    def __init__(self) -> None:
        super().__init__()
        self.both: list[float] = []

    def _take(self, out) -> None:  # noqa: ANN001
        super()._take(out)
        a = self.core.agents.get(A)
        if a is not None and A in self.core.qcallbacks.by_agent and (a.ringing or a.call is not None):
            self.both.append(self.pbx.now)


def lunch_with_a_callback_and_a_caller_behind(answer_by: tuple[str, ...] = (A,)) -> tuple[Watched, float]:
    """A is at lunch.  c1 presses 9 at +3 (nobody free: the callback waits
    in c1's place); c2 joins at +6 and waits behind it."""
    w = Watched()
    pbx = w.pbx
    pbx.add_member("repairs", A, "王静")
    pbx.advance(0)
    pbx.pause(A, True, "lunch")
    w.run(1)
    pbx.new_call("repairs", "13800000001", key=(3, "9"), after_timeout=1)
    w.run(5)
    pbx.new_call("repairs", "13800000002", answer=[{"agent": x, "after": 1} for x in answer_by], talk=10)
    w.run(4)
    assert w.core.agent_view(A)["state"] == "paused"
    assert [c["state"] for c in w.core.queue_view("repairs")["callbacks"]] == ["waiting"]
    return w, pbx.now


def test_the_desktops_ready_holds_the_agent_for_the_callback() -> None:
    """"Ready" with a callback theirs to take: the callback pause instead of
    an unpause.  app_queue never sees A free, so c2 is not rung; A is offered
    the callback (in c1's place, ahead of c2), and c2 is answered after it."""
    w, t = lunch_with_a_callback_and_a_caller_behind()
    act = w.core.qcallbacks.ready_action(A, w.core.now)
    assert act == PauseMember(A, True, CALLBACK_REASON)
    w.pbx.pause(A, act.paused, act.reason)  # what /api/desktop/ready sends (test_the_real_stack_... below)
    w.run(200)
    assert w.both == [], "never rung by app_queue while a callback is offered"
    [cb] = w.callbacks
    c2 = next(r for r in w.records if r["kind"] == "queue" and r["caller_number"] == "13800000002")
    assert cb["state"] == "connected" and cb["agent"] == A and cb["connected_at"] < c2["answered_at"], "the callback kept its place"
    assert c2["outcome"] == "answered" and c2["agent"] == A
    assert w.pbx.memberships(A)[0].paused is False, "given back to app_queue after"


def test_without_a_callback_to_take_ready_is_an_unpause() -> None:
    w, _ = lunch_with_a_callback_and_a_caller_behind()
    w.core.qcallbacks.live.clear()  # (say another agent took it)
    assert w.core.qcallbacks.ready_action(A, w.core.now) == PauseMember(A, False, "")


def test_an_unpause_from_the_phone_leaves_the_agent_to_app_queue() -> None:
    """An unpause the core did not arrange (a feature code): app_queue rings
    A for c2 at once; the core does not offer the callback to A too.  The
    callback is offered when A is free again."""
    w, t = lunch_with_a_callback_and_a_caller_behind()
    w.pbx.pause(A, False, "")
    w.run(200)
    assert w.both == [], "one call at a time on A's phone"
    [cb] = w.callbacks
    c2 = next(r for r in w.records if r["kind"] == "queue" and r["caller_number"] == "13800000002")
    assert c2["outcome"] == "answered" and c2["agent"] == A
    assert cb["state"] == "connected" and cb["connected_at"] > c2["answered_at"] + 10, "after c2's call"


def test_two_agents_ready_at_once_one_callback_the_other_is_released() -> None:
    """A and B, both at lunch, press "ready" at the same moment: both are
    held for the one callback.  A's pause comes back first and A takes it;
    B's hold has nothing to go with it and is released, so app_queue gives
    B to c2 at once instead of leaving B paused for nothing."""
    w, _ = lunch_with_a_callback_and_a_caller_behind(answer_by=(A, B))
    pbx = w.pbx
    pbx.add_member("repairs", B, "李伟", paused=True, reason="lunch")
    w.run(1)
    acts = [w.core.qcallbacks.ready_action(x, w.core.now) for x in (A, B)]
    assert acts == [PauseMember(A, True, CALLBACK_REASON), PauseMember(B, True, CALLBACK_REASON)]
    for act in acts:
        pbx.pause(act.interface, act.paused, act.reason)
    w.run(60)
    assert w.both == []
    [cb] = w.callbacks
    c2 = next(r for r in w.records if r["kind"] == "queue" and r["caller_number"] == "13800000002")
    assert (cb["agent"], cb["state"]) == (A, "connected")
    assert c2["agent"] == B and c2["answered_at"] < cb["connected_at"], "B was freed for c2, not kept on hold"


def test_an_unpause_while_an_offer_rings_is_taken_back() -> None:
    """A person unpauses A while the callback's dial rings A's phone: the
    core pauses A again at once (callback), so app_queue keeps off."""
    w = Watched()
    pbx = w.pbx
    pbx.add_member("repairs", A, "王静")
    pbx.advance(0)
    pbx.set_phone(A, answer_after=5.0)
    pbx.new_call("repairs", "13800000001", key=(2, "9"), after_timeout=1)
    w.run(3)
    assert w.core.qcallbacks.by_agent[A].state == "offered"
    pbx.new_call("repairs", "13800000002", answer=[{"agent": A, "after": 1}], talk=10)
    pbx.pause(A, False, "")
    w.run(0.2)
    assert pbx.memberships(A)[0].paused is True and pbx.memberships(A)[0].paused_reason == CALLBACK_REASON
    w.run(200)
    assert w.both == []
    [cb] = w.callbacks
    assert cb["state"] == "connected"


def test_an_agent_who_logs_in_while_callers_wait_is_app_queues_first() -> None:
    """B logs in (QueueAdd, not paused) while the callback and c2 wait: app_queue rings B for c2 at once; the core does not
    offer the callback to B as well."""
    w, _ = lunch_with_a_callback_and_a_caller_behind(answer_by=(A, B))
    both: list[float] = []
    take = w._take

    def watch(out) -> None:  # noqa: ANN001
        take(out)
        b = w.core.agents.get(B)
        if b is not None and B in w.core.qcallbacks.by_agent and (b.ringing or b.call is not None):
            both.append(w.pbx.now)

    w._take = watch
    w.pbx.add_member("repairs", B, "李伟")
    w.run(120)
    assert both == []
    c2 = next(r for r in w.records if r["kind"] == "queue" and r["caller_number"] == "13800000002")
    [cb] = w.callbacks
    assert c2["agent"] == B and cb["agent"] == B and cb["connected_at"] > c2["answered_at"]


async def test_the_desktops_ready_over_rest_on_the_real_stack(db, app, client, make_user):
    """Both databases.  Simulator over TCP -> Bridge -> AcdService, and the
    agent's own POST /api/desktop/ready: the reply says the agent is held for
    the callback, Asterisk never frees them for c2 meanwhile, the callback
    connects in its place and c2 is answered after it."""
    from callcenter.acd.service import AcdService, core_config_from
    from callcenter.ami.bridge import Bridge
    from callcenter.auth.models import Role
    from callcenter.simulator.clock import RealClock
    from callcenter.simulator.pbx import PBX
    from callcenter.simulator.server import AmiServer
    from tests.ami.conftest import SECRET, USER, ami_settings, until

    agent = await make_user(Role.agent, interface=A, queues=[("repairs", 0)])
    pbx = PBX(clock=RealClock(speed=60.0), seed=5)
    server = AmiServer(username=USER, secret=SECRET, pbx=pbx)
    server.faults.login_delay_s = 0.0
    settings = ami_settings(await server.start(), ami_ping_interval_s=1.0, ami_dead_after_s=10.0)
    acd = AcdService(db, core_config_from(settings), clock=lambda: pbx.clock.wall(pbx.schedule), tick_s=0.05, snapshot_s=0, backfill_delay_s=None)
    records: list[dict] = []
    callbacks: list[dict] = []
    both: list[float] = []

    def watch(out, core) -> None:  # noqa: ANN001
        records.extend(out.records)
        callbacks.extend(out.callbacks)
        a = core.agents.get(A)
        if a is not None and A in core.qcallbacks.by_agent and (a.ringing or a.call is not None):
            both.append(core.now)

    acd.subscribe(watch)
    await acd.start()
    bridge = Bridge(settings, on_event=acd.submit)
    acd.gateway = bridge.gateway
    app.state.acd, app.state.gateway = acd, bridge.gateway
    await bridge.start()
    try:
        await until(lambda: bridge.readiness()["ok"], 5.0, "bridge ready")
        pbx.set_phone(A, answer_after=1.0)
        pbx.set_phone("PJSIP/13800000001@carrier", answer_after=2.0)
        pbx.add_member("repairs", A, "王静", paused=True, reason="lunch")
        await until(lambda: A in acd.core.agents, 5.0, "A logged in")
        pbx.new_call("repairs", "13800000001", key=(2, "9"), after_timeout=1)
        await until(lambda: acd.core.queue_view("repairs")["callbacks"], 10.0, "the callback in line")
        pbx.new_call("repairs", "13800000002", answer=[{"agent": A, "after": 1}], talk=10)
        await until(lambda: acd.core.queue_view("repairs")["callers"], 10.0, "c2 waiting")
        r = await client.post("/api/desktop/ready", headers=agent.headers)
        assert r.status_code == 200 and r.json()["held_for"] == "callback", r.text
        await until(lambda: callbacks, 20.0, "the callback to connect")
        await until(lambda: any(x["caller_number"] == "13800000002" for x in records), 30.0, "c2's call to end")
    finally:
        await bridge.stop()
        await server.stop()
        await acd.stop()
    assert both == [], "A's phone had one call at a time"
    [cb] = callbacks
    c2 = next(x for x in records if x["kind"] == "queue" and x["caller_number"] == "13800000002")
    assert (cb["state"], cb["agent"]) == ("connected", A)
    assert c2["outcome"] == "answered" and c2["agent"] == A and cb["connected_at"] < c2["answered_at"]
