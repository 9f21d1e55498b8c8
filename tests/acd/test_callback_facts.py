"""The queued-callback KPIs come from persisted facts (issue 16): a restart,
or a new cluster leader, counts the same callbacks made and reached, the
same waits and the same same-day share as the run before it; and the
30-minute report rows carry them.

The simulator's wire in virtual time, fed through a real AcdService on each
database (its batches written as in production), then a second service
started on the same database.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from callcenter.acd import events as ev
from callcenter.acd.core import Core, CoreConfig, QueueConfig
from callcenter.acd.models import CallbackFact
from callcenter.acd.service import AcdService
from callcenter.reports import intervals
from callcenter.reports.measures import queue_figures, zero_queue
from tests.acd.test_queued_callbacks import A, Wired

CB_KEYS = ("callbacks_requested", "callbacks_made", "callbacks_reached", "callback_wait_s", "callback_delay_s",
           "callbacks_same_day", "callback_same_day_share")  # fmt: skip
ROW_KEYS = ("callbacks_requested", "callbacks_made", "callbacks_reached", "callbacks_same_day", "callback_wait_s", "callback_delay_s")


def config() -> CoreConfig:
    return CoreConfig(queues={"repairs": QueueConfig("repairs", wrap_up_s=20)})


def service(db, w: Wired) -> AcdService:  # noqa: ANN001
    return AcdService(db, config(), clock=lambda: w.pbx.now, tick_s=None, snapshot_s=0, backfill_delay_s=None)


def scenario(w: Wired) -> None:
    """c1 is answered by A; c2 presses 9 and is called back and reached;
    c3 presses 9 and never answers the callback: one dial so far."""
    pbx = w.pbx
    pbx.add_member("repairs", A, "王静")
    pbx.advance(0)
    pbx.new_call("repairs", "13800000001", answer=[{"agent": A, "after": 1}], talk=30)
    pbx.advance(2)
    pbx.new_call("repairs", "13800000002", key=(10, "9"), after_timeout=3)
    pbx.set_phone("PJSIP/13800000003@carrier", miss_prob=1.0)
    pbx.advance(1)
    pbx.new_call("repairs", "13800000003", key=(12, "9"), after_timeout=3)
    w.run(200)


def callback_kpis(core: Core) -> dict:
    k = core.queue_view("repairs")["kpi"]["today"]
    return {key: k[key] for key in CB_KEYS}


def open_row(core: Core) -> dict:
    [row] = [r for r in core.open_interval_rows() if r["kind"] == "queue" and r["key"] == "repairs"]
    return {key: row[key] for key in ROW_KEYS}


@pytest.mark.parametrize("graceful", [False, True], ids=["crash", "stop"])
async def test_callback_kpis_and_interval_row_survive_a_restart(db, graceful):
    w = Wired()
    first = service(db, w)
    await first.start()
    w.apply = first.submit
    emitted: list[dict] = []
    first.subscribe(lambda out, core: emitted.extend(out.callback_facts))
    scenario(w)
    before, row_before = callback_kpis(first.core), open_row(first.core)
    assert (before["callbacks_requested"], before["callbacks_made"], before["callbacks_reached"], before["callbacks_same_day"]) == (2, 2, 1, 1)
    assert before["callback_same_day_share"] == 0.5
    [reached] = [c for c in w.callbacks if c["state"] == "connected"]
    assert before["callback_delay_s"] == pytest.approx(reached["connected_at"] - reached["requested_at"], abs=1e-3)
    assert (row_before["callbacks_requested"], row_before["callbacks_made"], row_before["callbacks_reached"]) == (2, 2, 1)
    assert row_before["callback_delay_s"] == pytest.approx(reached["connected_at"] - reached["requested_at"], abs=1e-3)
    if graceful:
        await first.stop()  # the open interval's rows are written, marked partial: the next run resumes from them
    else:
        await first.flush_all()  # a crash, or a leader that lost its lease: only what was written counts
    async with db.sessions() as s:
        facts = (await s.execute(select(CallbackFact.kind, CallbackFact.attempt, CallbackFact.queue))).all()
    assert sorted(facts) == [("made", 1, "repairs"), ("made", 1, "repairs"), ("reached", 1, "repairs")]

    second = service(db, w)
    await second.start()
    try:
        assert callback_kpis(second.core) == before
        assert open_row(second.core) == row_before, "the open interval's row counts each callback once"
        # The facts are upserted on their key: a batch written again (a retry, two leaders in turn) adds nothing.
        await first.flush_all()
        async with db.sessions() as s:
            from callcenter.acd.store import write_batch

            await write_batch(s, [("callback", f) for f in emitted])
            await s.commit()
            assert len((await s.execute(select(CallbackFact.id))).all()) == 3
    finally:
        await second.stop()
        if not graceful:
            await first.stop()


def test_the_interval_row_counts_callbacks_and_the_report_figures_show_them() -> None:
    """The pure accumulator: the key press in the interval it happened, the
    dial and the reach in theirs; the report's figures as ratios of sums."""
    from callcenter.acd.common import QueueConfig as QC

    acc = intervals.IntervalAccumulator(lambda q: QC(q), "Asia/Shanghai")
    t = 1_700_000_000.0 - 1_700_000_000.0 % 1800
    acc.offered("q", t + 1)
    acc.exited("q", t + 20, "callback_requested", 19, 19, False)
    acc.callback("q", t + 100, False)
    acc.callback("q", t + 130, True, wait=129, delay=110, same_day=True)
    [row] = acc.close([])
    assert {k: row[k] for k in ROW_KEYS} == {"callbacks_requested": 1, "callbacks_made": 1, "callbacks_reached": 1, "callbacks_same_day": 1,
                                              "callback_wait_s": 129, "callback_delay_s": 110}  # fmt: skip
    assert row["other_exits"] == 1 and row["abandoned"] == 0
    c = zero_queue()
    for f in intervals.QUEUE_FIELDS:
        c[f] += row[f]
    fig = queue_figures(c)
    assert (fig["callbacks_requested"], fig["callbacks_made"], fig["callbacks_reached"]) == (1, 1, 1)
    assert (fig["callback_same_day_share"], fig["callback_delay_s"], fig["callback_wait_s"], fig["callback_reach_rate"]) == (1.0, 110.0, 129.0, 1.0)
    assert fig["abandon_rate"] == 0.0


def test_a_reach_on_the_next_day_is_not_cleared_the_same_day() -> None:
    """Asked at 23:59 local time, reached at 00:01: reached, not same-day."""
    core = Core(CoreConfig(queues={"q": QueueConfig("q")}))
    midnight = 1_700_000_000.0 - (1_700_000_000.0 + 8 * 3600) % 86400 + 86400  # the next Shanghai midnight
    core.apply(ev.Tick(midnight + 60))
    core.queue_acd.kpi_callback({"kind": "reached", "queue": "q", "at": midnight + 60, "entered_at": midnight - 120, "requested_at": midnight - 60})
    k = core.queue_view("q")["kpi"]["today"]
    assert (k["callbacks_reached"], k["callbacks_same_day"], k["callback_delay_s"]) == (1, 0, 120.0)


async def test_the_report_api_and_exports_show_the_callbacks_of_the_written_rows(db, client, make_user):
    """The interval closes (event time crosses the boundary): its queue row
    is written with the callback figures, and the 30-minute and daily
    reports (JSON, CSV) show them with their formulas."""
    import csv
    import io
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from callcenter.auth.models import Role

    admin = await make_user(Role.admin)
    w = Wired()
    acd = service(db, w)
    await acd.start()
    w.apply = acd.submit
    try:
        scenario(w)
        live = callback_kpis(acd.core)
        boundary = intervals.interval_start(w.pbx.now) + intervals.INTERVAL_S
        acd.submit(ev.Tick(boundary + 1))
        await acd.flush_all()
    finally:
        await acd.stop()
    day = datetime.fromtimestamp(boundary - 1, ZoneInfo("Asia/Shanghai")).date().isoformat()
    r = await client.get("/api/reports/interval", params={"from": day, "to": day, "by": "queue", "key": "repairs"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    doc = r.json()
    [row] = [x for x in doc["rows"] if x["figures"]["callbacks_requested"]]
    fig = row["figures"]
    assert (fig["callbacks_requested"], fig["callbacks_made"], fig["callbacks_reached"], fig["callback_reach_rate"]) == (2, 2, 1, 0.5)
    assert fig["callback_same_day_share"] == live["callback_same_day_share"] == 0.5
    assert fig["callback_delay_s"] == pytest.approx(live["callback_delay_s"], abs=0.1)
    assert fig["abandoned"] == 0, "a callback request is not an abandon"
    assert "日结日清" in doc["formulas"]["callback_same_day_share"]
    r = await client.get("/api/reports/daily", params={"from": day, "to": day, "by": "queue", "format": "csv"}, headers=admin.headers)
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    head, total = lines[0], lines[-1]
    assert total[0] == "total"
    assert (total[head.index("callbacks_made")], total[head.index("callbacks_reached")], total[head.index("callback_same_day_share")]) == ("2", "1", "0.5")
