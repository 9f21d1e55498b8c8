"""The admin console in real Chromium, on both databases, against the
seeded demo data: an admin changes the configuration through the pages
(and the running services pick it up without a restart); a team lead sees
what applies to their queues, read-only; an agent is turned away."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from callcenter.demo import seed

from ..conftest import make_settings, run_sync
from ..livesrv import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture
def centre(db_url, tmp_path):  # noqa: ANN001, ANN201
    settings = make_settings(database_url=db_url, recordings_dir=tmp_path / "rec")
    run_sync(lambda: seed(settings))
    server = LiveServer(settings).start()
    yield server
    server.stop()


async def sign_in(browser: Any, base: str, user: str, password: str, path: str, size=(1366, 768)) -> Any:  # noqa: ANN001
    ctx = await browser.new_context(viewport={"width": size[0], "height": size[1]})
    await ctx.add_init_script("localStorage.setItem('cc.lang', 'zh-CN')")
    page = await ctx.new_page()
    await page.goto(f"{base}/login?next={path}")
    await page.fill("#username", user)
    await page.fill("#password", password)
    await page.click("#submit")
    await page.wait_for_url(f"**{path}")
    return page


async def section(page: Any, name: str) -> None:
    await page.click(f"#sections a[data-section={name}]")
    await page.wait_for_function(f"document.body.dataset.ready === '{name}'")


async def save(page: Any, scope: str = "#view") -> None:
    await page.click(f"{scope} .save-bar button.save")
    await page.wait_for_selector(f"{scope} .save-msg.good")


async def test_admin_configures_the_centre_from_the_console(browser, centre, shot):
    base = centre.url
    errors: list[str] = []
    page = await sign_in(browser, base, "admin", "demo-admin", "/admin")
    page.on("pageerror", lambda e: errors.append(str(e)))
    # the admin's navigation leads with the console
    assert (await page.locator("header.bar nav a").first.get_attribute("href")) == "/admin"
    await page.wait_for_function("document.body.dataset.ready === 'users'")

    # a user with a Local interface and a skill at level 2
    await page.click("text=新建用户")
    ed = page.locator("#user-editor")
    await ed.locator("input[name=username]").fill("agent99")
    await ed.locator("input[name=display_name]").fill("赵新人")
    await ed.locator("input[name=interface]").fill("Local/8199@agents/n")
    await ed.locator("input[name=password]").fill("new-agent-pw")
    await ed.locator(".add-row").click()
    await ed.locator("table.rows tbody tr").last.locator("select").select_option("repairs")
    await ed.locator("table.rows tbody tr").last.locator("input[type=number]").fill("2")
    await save(page)
    await page.wait_for_selector("#users tr[data-user=agent99]")
    assert "repairs · 2" in await page.inner_text("#users tr[data-user=agent99]")

    # a queue's service-level threshold: the running core uses it at once
    await section(page, "queues")
    await page.click("#queues tr[data-queue=repairs]")
    await page.fill("#queue-editor input[name=sl_threshold_s]", "30")
    await page.select_option("#queue-editor select[name=abandon_mode]", "ignore")
    await save(page)

    async def core_queue() -> Any:
        return centre.app.state.acd.core.config.queue("repairs")

    qc = centre.call(core_queue())
    assert (qc.sl_threshold_s, qc.abandon_mode) == (30, "ignore")

    # routing test: 张三 (a 大客户) pressing 1 on the hotline goes to the VIP line
    await section(page, "routing")
    await page.fill("#route-test-form input[name=caller]", "13800138000")
    await page.fill("#route-test-form input[name=dnis]", "4008001234")
    await page.fill("#route-test-form input[name=choice]", "1")
    await page.fill("#route-test-form input[name=at]", "2026-01-14 10:00")
    await page.click("#route-test")
    await page.wait_for_selector("#route-result dd[data-k=outQueue]:has-text('VIP专线')")
    assert "张三" in await page.inner_text("#route-result") and "大客户专线" in await page.inner_text("#route-result")
    await shot(page, "routing-test")
    # ... and at night an unknown caller on the repairs key reaches the duty phone
    await page.fill("#route-test-form input[name=caller]", "13911112222")
    await page.fill("#route-test-form input[name=at]", "2026-01-14 23:00")
    await page.click("#route-test")
    await page.wait_for_selector("#route-result dd[data-k=outAction]:has-text('转值班')")

    # holidays and 调休 on a queue's hours
    await section(page, "hours")
    await page.select_option("#hours-queue", "enquiries")
    await page.fill("#h-holidays-add", "2026-12-25")
    await page.click("#hours-editor >> text=添加日期 >> nth=0")
    await page.fill("#h-workdays-add", "2026-12-27")
    await page.click("#hours-editor >> text=添加日期 >> nth=1")
    await save(page)

    async def config() -> dict:
        async with httpx.AsyncClient(base_url=base) as c:
            token = (await c.post("/api/auth/login", json={"username": "admin", "password": "demo-admin"})).json()["access_token"]
            return (await c.get("/api/admin/config", headers={"Authorization": f"Bearer {token}"})).json()

    hours = next(h["calendar"] for h in (await config())["hours"] if h["queue"] == "enquiries")
    assert "2026-12-25" in hours["holidays"] and hours["workdays"] == ["2026-10-10", "2026-12-27"]

    # a pause limit: an open wallboard fetches the reasons again, no reload
    board = await sign_in(browser, base, "lead", "demo-lead", "/wallboard")
    await board.wait_for_selector("#conn.hidden", state="attached")
    await section(page, "pause")
    row = page.locator("#view table.rows tbody tr").first
    await row.locator("input[type=number]").fill("5")
    async with board.expect_request("**/api/realtime/pause-reasons"):
        await save(page)
    assert (await config())["pause_reasons"][0]["max_s"] == 300

    # the QA form editor refuses weights that do not add up to 100, then saves version 2
    await section(page, "forms")
    weight = page.locator("#f-sections table.rows tbody tr").first.locator("input[type=number]")
    old = await weight.input_value()
    await weight.fill(str(float(old) + 5))
    await page.wait_for_selector("#f-total.bad")
    await page.click("#view .save-bar button.save")
    await page.wait_for_selector("#view .save-msg.bad:has-text('须为 100')")
    await weight.fill(old)
    await save(page)
    await page.wait_for_selector("#form-pick option:has-text('v2')", state="attached")

    # the audit log finds each change
    await section(page, "audit")
    await page.fill("#audit-q", "agent99")
    await page.click("#audit-search button[type=submit]")
    await page.wait_for_selector("#audit-rows tr:has-text('user.create')")
    await page.fill("#audit-q", "")
    await page.select_option("#audit-action", "queue.put")
    await page.click("#audit-search button[type=submit]")
    await page.wait_for_selector("#audit-rows tr:has-text('repairs')")
    await shot(page, "audit")
    assert errors == []


async def test_a_lead_sees_their_teams_read_only_and_an_agent_is_turned_away(browser, centre, shot):
    base = centre.url
    async with httpx.AsyncClient(base_url=base) as c:
        token = (await c.post("/api/auth/login", json={"username": "admin", "password": "demo-admin"})).json()["access_token"]
        r = await c.post("/api/users", headers={"Authorization": f"Bearer {token}"}, json={
            "username": "feeslead", "password": "湖边-静夜-蓝桥-7x", "display_name": "缴费组长", "role": "team_lead",
            "skills": [{"queue": "fees", "penalty": 0}]})  # fmt: skip
        assert r.status_code == 201, r.text
    page = await sign_in(browser, base, "feeslead", "湖边-静夜-蓝桥-7x", "/admin")
    await page.wait_for_function("document.body.dataset.ready === 'users'")
    assert await page.is_visible("#readonly")
    sections = await page.locator("#sections a").evaluate_all("as => as.map(a => a.dataset.section)")
    assert "audit" not in sections and "users" in sections
    users = await page.locator("#users tbody tr").evaluate_all("rs => rs.map(r => r.dataset.user)")
    assert "feeslead" in users and "agent05" in users and "agent01" not in users  # agent05 takes fees, agent01 does not
    assert await page.locator(".save-bar:visible").count() == 0
    assert await page.is_disabled("#user-editor input[name=display_name]")
    await section(page, "queues")
    assert await page.locator("#queues tbody tr").evaluate_all("rs => rs.map(r => r.dataset.queue)") == ["fees"]
    await section(page, "routing")
    assert await page.locator("#view table.rows tbody tr").count() == 1  # the hotline's key 4
    await shot(page, "lead-readonly")
    # the routing test is open to a lead
    await page.fill("#route-test-form input[name=dnis]", "4008001234")
    await page.fill("#route-test-form input[name=choice]", "4")
    await page.click("#route-test")
    await page.wait_for_selector("#route-result dd[data-k=outQueue]:has-text('缴费')")

    agent = await sign_in(browser, base, "agent01", "demo-agent", "/admin")
    await agent.wait_for_selector("text=管理控制台仅供管理员和班长使用")
    assert await agent.locator("header.bar nav a[href='/admin']").count() == 0
