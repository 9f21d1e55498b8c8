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
from callcenter.simulator.server import encode
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

    def reconnect(self) -> None:
        """The link is back: the bridge's resync from Asterisk's lists, then
        (the service's backfill) queue_log's rows of the blind window."""
        pbx = self.pbx
        status = [{"Event": "QueueParams", **dict(pbx.queue_params(q))} for q in pbx.queues.values()]
        status += [{"Event": "QueueMember", **dict(pbx.queue_member(m))} for q in pbx.queues.values() for m in q.members.values()]
        status += [{"Event": "QueueEntry", **dict(pbx.queue_entry(q, c))} for q in pbx.queues.values() for c in q.entries]
        channels = [{"Event": "CoreShowChannel", **dict(pbx.core_show_channel(ch))} for ch in pbx.channel_list()]
        self.cut = False
        self._take(self.apply(build_resync(status, channels, pbx.now)))
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
