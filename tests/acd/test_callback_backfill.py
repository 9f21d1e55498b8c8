"""A queued callback asked while the AMI link was down keeps the caller's
place (issue 16): the caller pressed 9 (queue_log EXITWITHKEY), the
dialplan's UserEvent CcCallback naming the task never reached us, and the
resync could only guess how they left.  The queue_log backfill rebuilds the
request from Asterisk's own rows: the original entry time and position, the
request time; the callback is offered in its place, the dial names the task
(found as the service's dialer finds it), and nothing counts an abandon.

On the simulator's wire in virtual time: events are dropped while the link
is "cut", the resync is built from the simulator's own QueueStatus and
CoreShowChannels answers, and the backfill reads the rows Asterisk wrote.
"""

from __future__ import annotations

from dataclasses import replace

from pytest import approx

from callcenter.acd import events as ev
from callcenter.acd.common import CallbackOffer
from callcenter.acd.queue_log import domain_row
from callcenter.ami.bridge import build_resync
from tests.acd.test_queued_callbacks import A, Wired


class BlindWired(Wired):
    """Wired, with a link that can be cut: no event reaches the core while it
    is; queue_log rows are kept as Asterisk writes them (its database)."""

    def __init__(self) -> None:
        super().__init__()
        self.cut = False
        self.rows: list[ev.QueueLogRow] = []
        self.tasks: dict[str, str] = {}  # the hook's tasks by the caller's uniqueid (the callback_tasks table)
        self.pbx.queue_log.append(lambda row: self.rows.append(domain_row(len(self.rows) + 1, row)))
        self.pbx.callback_hook = self._hook

    def _hook(self, asked: dict[str, str]) -> dict[str, str]:
        task = str(len(self.tasks) + 41)
        self.tasks[asked["uniqueid"]] = task
        return {"task": task, "status": "created"}

    def _feed(self, fields) -> None:  # noqa: ANN001
        if not self.cut:
            super()._feed(fields)

    def reconnect(self, backfill: bool = True) -> None:
        """The link is back: the bridge's resync from Asterisk's lists, then
        (the service's backfill) queue_log's rows of the blind window."""
        pbx = self.pbx
        status = [{"Event": "QueueParams", **dict(pbx.queue_params(q))} for q in pbx.queues.values()]
        status += [{"Event": "QueueMember", **dict(pbx.queue_member(m))} for q in pbx.queues.values() for m in q.members.values()]
        status += [{"Event": "QueueEntry", **dict(pbx.queue_entry(q, c))} for q in pbx.queues.values() for c in q.entries]
        channels = [{"Event": "CoreShowChannel", **dict(pbx.core_show_channel(ch))} for ch in pbx.channel_list()]
        self.cut = False
        self._take(self.apply(build_resync(status, channels, pbx.now)))
        if backfill:
            self._take(self.apply(ev.QueueLogRows(pbx.now + 0.05, tuple(self.rows))))

    def _take(self, out) -> None:  # noqa: ANN001
        super()._take(out)
        # The service's dialer: a callback rebuilt from queue_log has no task yet; it finds the hook's.
        self.todo = [replace(a, task=self.tasks.get(a.uniqueid, "")) if isinstance(a, CallbackOffer) and not a.task else a for a in self.todo]


def test_a_key_press_while_the_link_is_down_keeps_the_callers_place() -> None:
    """A talks to c1 until +61.  c2 joins at +2; the link drops at +8; c2
    presses 9 at +12 and hangs up after the confirmation; c4 joins at +9 and
    presses 9 at +14, both unseen; c3 (joined +5) waits live.  The link is
    back at +20.  When A is free, c2's callback goes first (entry +2, ahead of
    c3), then c3 is answered, then c4's callback (entry +9)."""
    w = BlindWired()
    pbx = w.pbx
    pbx.add_member("repairs", A, "王静")
    pbx.advance(0)
    pbx.new_call("repairs", "13800000001", answer=[{"agent": A, "after": 1}], talk=60)
    w.run(2)
    t2 = pbx.now
    pbx.new_call("repairs", "13800000002", key=(10, "9"), after_timeout=3)  # entry +2, key at +12
    w.run(3)
    pbx.new_call("repairs", "13800000003", answer=[{"agent": A, "after": 1}], talk=10)  # entry +5
    w.run(3)
    w.cut = True  # +8
    w.run(1)
    t4 = pbx.now
    pbx.new_call("repairs", "13800000004", key=(5, "9"), after_timeout=3)  # entry +9, key at +14: never seen live
    w.run(11)
    assert [r.event for r in w.rows if r.event == "EXITWITHKEY"] == ["EXITWITHKEY", "EXITWITHKEY"]
    w.reconnect()  # +20
    view = {c["number"]: c for c in w.core.queue_view("repairs")["callbacks"]}
    assert set(view) == {"13800000002", "13800000004"}, "both requests rebuilt from queue_log"
    c2, c4 = view["13800000002"], view["13800000004"]
    # queue_log's times (microseconds, as the realtime table keeps them)
    assert (c2["entered_at"], c2["requested_at"], c2["original_position"], c2["position"]) == approx((t2, t2 + 10, 1, 1), abs=1e-3)
    assert (c4["entered_at"], c4["requested_at"], c4["position"]) == approx((t4, t4 + 5, 3), abs=1e-3)  # behind c3 (+5), waiting live
    w.run(400)
    done = {c["number"]: c for c in w.callbacks}
    assert {n: (c["state"], c["agent"], c["task"], c["attempts"]) for n, c in done.items()} == {
        "13800000002": ("connected", A, w.tasks[c2["uniqueid"]], 1),
        "13800000004": ("connected", A, w.tasks[c4["uniqueid"]], 1),
    }, "each dialled once, the task learnt from the dial"
    c3 = next(r for r in w.records if r.get("caller_number") == "13800000003" and r["kind"] == "queue")
    assert done["13800000002"]["connected_at"] < c3["answered_at"] < done["13800000004"]["connected_at"], "each in its place"
    outcomes = {r["caller_number"]: r["outcome"] for r in w.records if r["kind"] == "queue" and r["caller_number"] in ("13800000002", "13800000004")}
    assert outcomes == {"13800000002": "callback_requested", "13800000004": "callback_requested"}
    k = w.core.queue_view("repairs")["kpi"]["today"]
    assert (k["offered"], k["abandoned"], k["abandon_rate"]) == (4, 0, 0.0), "a callback request is never an abandon"
    assert (k["callbacks_requested"], k["callbacks_made"], k["callbacks_reached"], k["callback_same_day_share"]) == (2, 2, 2, 1.0)
    assert w.core.stats["errors"] == 0
    # A second read of the same rows (a later backfill's margin) changes nothing.
    out = w.core.apply(ev.QueueLogRows(pbx.now + 1, tuple(w.rows)))
    assert not out.offers and w.core.queue_view("repairs")["callbacks"] == []


def test_a_withheld_caller_who_pressed_9_unseen_is_not_a_callback_to_dial() -> None:
    """[cc-callback] asks a withheld caller for a number; queue_log only has
    the key: without a number to dial there is no queued callback, and the
    exit stays an exit with a key (the hook, had it run here, would say)."""
    w = BlindWired()
    pbx = w.pbx
    pbx.add_member("repairs", A, "王静")
    pbx.advance(0)
    pbx.new_call("repairs", "13800000001", answer=[{"agent": A, "after": 1}], talk=60)
    w.run(2)
    w.cut = True
    pbx.new_call("repairs", "anonymous", key=(5, "9"), after_timeout=3)
    w.run(12)
    w.reconnect()
    assert w.core.queue_view("repairs")["callbacks"] == []
    w.run(120)
    [r] = [r for r in w.records if r["kind"] == "queue" and r["caller_number"] == "anonymous"]
    assert r["outcome"] == "exit_key" and r["source"] == "backfill"
    assert not w.callbacks


# --- the real stack: simulator over TCP -> link proxy -> Bridge -> AcdService, queue_log in the database ---


async def test_the_real_stack_rebuilds_a_callback_asked_while_the_link_was_down(db, db_url):
    """Both databases.  A talks to c1; c2 joins, the link is cut, c2 presses
    9 (the hook makes the task; its CcCallback is lost with the link); the
    link is back, the bridge resyncs, the service reads queue_log's rows of
    the blind window: c2's call is a callback request, not an abandon, and
    when A is free the service dials it with the hook's task, which ends
    reached."""
    import asyncio
    from zoneinfo import ZoneInfo

    from callcenter.acd.service import AcdService, core_config_from
    from callcenter.ami.bridge import Bridge
    from callcenter.crm.models import CallbackReason, CallbackStatus, CallbackTask
    from callcenter.crm.service import request_callback
    from callcenter.simulator.clock import RealClock
    from callcenter.simulator.pbx import PBX
    from callcenter.simulator.queue_log import QueueLogTable
    from callcenter.simulator.server import AmiServer
    from tests.ami.conftest import SECRET, USER, ami_settings, until
    from tests.linkproxy import LinkProxy

    async with db.sessions() as s:
        task, _ = await request_callback(s, "13800000002", CallbackReason.requested, "", "repairs", ZoneInfo("Asia/Shanghai"), "")
        await s.commit()
        task_id = task.id
    asked: list[dict[str, str]] = []

    def hook(q: dict[str, str]) -> dict[str, str]:  # /hooks/callback, reached over HTTP while the AMI link is down
        asked.append(q)
        return {"task": str(task_id), "status": "exists"}

    pbx = PBX(clock=RealClock(speed=30.0), seed=5)
    pbx.callback_hook = hook
    queue_log = QueueLogTable(db_url)
    pbx.queue_log.append(queue_log)
    writer = asyncio.create_task(queue_log.run(0.05))
    server = AmiServer(username=USER, secret=SECRET, pbx=pbx)
    server.faults.login_delay_s = 0.0
    proxy = LinkProxy("127.0.0.1", await server.start())
    settings = ami_settings(await proxy.start(), ami_ping_interval_s=0.5, ami_dead_after_s=2.0)
    acd = AcdService(db, core_config_from(settings), clock=lambda: pbx.clock.wall(pbx.schedule), tick_s=0.05, snapshot_s=0, backfill_delay_s=0.3)
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
        pbx.new_call("repairs", "13800000001", answer=[{"agent": A, "after": 1}], talk=40)
        await until(lambda: pbx.now - t0 >= 2, 5.0, "+2")
        pbx.new_call("repairs", "13800000002", key=(10, "9"), after_timeout=3)  # key at +12
        await until(lambda: any(c.caller_number == "13800000002" for q in acd.core.queues.values() for c in q.waiting.values()), 5.0, "c2 queued")
        await proxy.cut()
        await until(lambda: not bridge.readiness()["ok"], 10.0, "the bridge to see the cut")
        await until(lambda: asked and pbx.now - t0 >= 17, 10.0, "the key press and the caller's hang-up, unseen")
        await proxy.restore()
        await until(lambda: bridge.readiness()["ok"], 20.0, "the bridge back")
        await until(lambda: callbacks, 30.0, "the callback to connect")
        await until(lambda: not pbx.calls, 20.0, "calls to end")
    finally:
        await bridge.stop()
        await server.stop()
        await proxy.stop()
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        await queue_log.close()
        await acd.stop()
    [cb] = callbacks
    assert (cb["state"], cb["agent"], cb["task"], cb["attempts"], cb["number"]) == ("connected", A, str(task_id), 1, "13800000002")
    c2 = [r for r in records if r["kind"] == "queue" and r["caller_number"] == "13800000002"]
    assert c2[-1]["outcome"] == "callback_requested" and c2[-1]["source"] == "backfill", "queue_log's EXITWITHKEY, not the resync's guess"
    k = acd.core.queue_view("repairs")["kpi"]["today"]
    assert (k["offered"], k["abandoned"], k["callbacks_requested"], k["callbacks_made"], k["callbacks_reached"]) == (2, 0, 1, 1, 1)
    assert acd.callback_dialer.dialled == [(cb["callback_id"], A, "13800000002")]
    async with db.sessions() as s:
        t = await s.get(CallbackTask, task_id)
        assert (t.status, t.result, t.attempts) == (CallbackStatus.done, "reached", 1)
