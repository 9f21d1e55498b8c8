"""The wallboard in real Chromium.  Queue scoping and reconnecting run on
the real stack (LiveStack); the figures/alerts/supervision test still uses
the fake core (FakeStack: it back-dates a break and records supervisor
actions instead of carrying them out); the SL/abandon figures against the
real stack are in test_wallboard_replay.py.  Here: figures equal the core's, thresholds
colour them, alerts fire, leads see only their queues, supervisor actions
work and are audited, and it reconnects on its own without going stale."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from callcenter.acd.core import Output
from callcenter.auth.models import AuditEntry
from callcenter.db import Database

from ..realtime.stack import FakeStack as Stack
from ..realtime.stack import LiveStack, sign_in

pytestmark = pytest.mark.browser
A, B = "PJSIP/8001", "PJSIP/8002"


@pytest.fixture
def stack(tmp_path):  # noqa: ANN001, ANN201
    s = Stack(tmp_path)
    s.drive("member_added", A, "repairs", "王静")
    s.drive("member_added", B, "complaints", "李伟")
    yield s
    s.stop()


def pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.1f}%"


def traffic(stack: Stack) -> None:
    """repairs: 3 answered within 20 s, 1 abandoned -> SL 75.0 %, abandon 25.0 %;
    complaints: 1 answered, 3 abandoned -> SL 25.0 %."""
    for i in range(3):
        stack.drive("caller_joined", f"r{i}", "repairs", f"1380000000{i}")
        stack.drive("ring", A, f"r{i}")
        stack.drive("answer", A, f"r{i}")
        stack.drive("hangup", A, f"r{i}")
        stack.drive("disposition", A)
    stack.drive("caller_joined", "r9", "repairs", "13800000009")
    stack.drive("abandon", "r9")
    stack.drive("caller_joined", "c0", "complaints", "13900000000")
    stack.drive("ring", B, "c0")
    stack.drive("answer", B, "c0")
    for i in range(1, 4):
        stack.drive("caller_joined", f"c{i}", "complaints", f"1390000000{i}")
        stack.drive("abandon", f"c{i}")


async def test_wallboard_figures_alerts_and_supervision(browser, stack, shot):
    traffic(stack)
    ctx = await browser.new_context(viewport={"width": 1920, "height": 1080})
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(page, stack.server.url, "lead", "/wallboard")
    tile = page.locator(".tile[data-queue=repairs]")
    await tile.wait_for()
    core = stack.acd.core
    for q in ("repairs", "complaints"):
        k = core.queue_view(q)["kpi"]["today"]
        t = page.locator(f".tile[data-queue={q}]")
        assert await t.locator(".metric", has_text="服务水平").locator(".v").inner_text() == pct(k["service_level"])
        assert await t.locator(".metric", has_text="放弃率").locator(".v").inner_text() == pct(k["abandon_rate"])
    # thresholds as colours: repairs SL 75 % is under the 80 % target but above the 70 % warning
    sl_box = tile.locator(".metric", has_text="服务水平")
    assert "band-warning" in await sl_box.get_attribute("class")
    # how it is counted, from the queue's settings, in the page's language
    view = core.queue_view("repairs")
    assert await sl_box.get_attribute("title") == f"服务水平 = {view['sl_threshold_s']} 秒内接通 ÷（接通 + {view['short_abandon_s']} 秒后放弃 + 超时）"
    assert "band-bad" in await tile.locator(".metric", has_text="放弃率").get_attribute("class")
    # alerts: complaints SL below warning; complaints has nobody free
    alerts = page.locator("#alerts")
    await alerts.locator(".alert", has_text="投诉 服务水平 25.0% 低于警戒线 70.0%").wait_for()
    await alerts.locator(".alert", has_text="投诉 全部坐席忙").wait_for()
    # the agent grid: B on a call with the caller; A paused too long
    # the wallboard hangs in the room: callers' numbers are masked on it
    await page.locator(f".agent[data-iface='{B}'][data-state=on_call]", has_text="139****0000").wait_for()
    stack.drive("paused", A, True, "break")

    async def backdate() -> None:
        stack.acd.core.agents[A]["since"] -= 20 * 60  # 20 min into a 15-min break
        stack.acd.emit(Output(ts=stack.acd.core.now, agents={A}))

    stack.server.call(backdate())
    card = page.locator(f".agent[data-iface='{A}'][data-state=paused].over")
    await card.wait_for()
    assert "小休" in await card.inner_text()
    await alerts.locator(".alert", has_text="王静 示忙（小休）").wait_for()
    await shot(page, "light-zh")

    # supervisor: listen on B from the card's menu; the action is audited
    await page.click(f".agent[data-iface='{B}']")
    await page.click("[data-spy=listen]")
    await page.wait_for_selector("#menu-result.good")
    assert stack.gateway.actions[-1] == ("spy", "PJSIP/7001", B, "listen")
    await page.select_option("#menu-reason", "meeting")
    await page.click("#menu-pause")
    await page.wait_for_selector("#menu-result.good:has-text('强制示忙')")
    assert stack.gateway.actions[-1] == ("queue_pause", B, True, "meeting")
    db = Database(stack.app.state.settings.database_url)
    async with db.sessions() as s:
        audit = [(e.actor, e.action, e.target) for e in (await s.execute(select(AuditEntry))).scalars()]
    await db.dispose()
    assert audit == [("lead", "supervisor.spy", "agent02"), ("lead", "supervisor.pause", "agent02")]
    await page.mouse.click(1800, 1000)

    # dark, English
    await page.click("#theme-btn")
    await page.click("#lang-btn")
    await page.wait_for_selector("#alerts .alert:has-text('service level 25.0% below warning 70.0%')")
    await shot(page, "dark-en")
    assert errors == []
    await ctx.close()


async def test_team_lead_sees_only_their_queues(browser, tmp_path, shot):
    """On the real stack: the simulator logs A into repairs and B into complaints."""
    live = LiveStack(tmp_path, [{"at": 0, "login": A, "queue": "repairs", "name": "王静"},
                                {"at": 0, "login": B, "queue": "complaints", "name": "李伟"}])
    try:
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        await sign_in(page, live.server.url, "lead2", "/wallboard")
        await page.locator(".tile[data-queue=repairs]").wait_for()
        await page.locator(f".agent[data-iface='{A}'][data-state=available]").wait_for()
        assert await page.locator(".tile").count() == 1
        assert await page.locator(f".agent[data-iface='{B}']").count() == 0
        await page.close()
    finally:
        live.stop()


async def test_wallboard_reconnects_and_is_not_stale(browser, tmp_path, shot):
    """On the real stack: while the board is cut off, the agent pauses at the
    PBX and a caller joins; both come over AMI, and the reconnected board
    shows them."""
    live = LiveStack(tmp_path, [{"at": 0, "login": A, "queue": "repairs", "name": "王静"}])
    try:
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        await sign_in(page, live.server.url, "lead", "/wallboard")
        await page.locator(f".agent[data-iface='{A}'][data-state=available]").wait_for()
        await page.wait_for_selector("#conn.hidden", state="attached")
        hub = live.app.state.hub
        serve = hub.serve

        async def refuse(ws, principal):  # noqa: ANN001, ANN202 - the server is "down"
            await ws.close(1013)

        async def cut() -> None:
            hub.serve = refuse
            for c in list(hub.clients):
                await c.ws.close(1012)

        live.server.call(cut())
        await page.wait_for_selector("#conn:not(.hidden):has-text('正在重新连接')")
        await shot(page, "reconnecting")
        # Happens while the board is away: a pause at the phone, a caller who waits.
        live.on_sim(live.pbx.pause, A, True, "training")
        live.on_sim(lambda: live.pbx.new_call("repairs", "13700000000", patience=600))

        async def restore() -> None:
            hub.serve = serve

        live.server.call(restore())
        await page.wait_for_selector("#conn.hidden", state="attached", timeout=15000)
        card = page.locator(f".agent[data-iface='{A}'][data-state=paused]")
        await card.wait_for()
        assert "培训" in await card.inner_text()
        # a selector, not wait_for_function: the page's CSP forbids the eval its polling needs
        await page.wait_for_selector(".tile[data-queue=repairs] [data-k=waiting]:text-is('1')")
        await page.close()
    finally:
        live.stop()
