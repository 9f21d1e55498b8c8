"""Work-order pages in real Chromium, on both databases: the lead's board
(chase, reassign, zh-CN and en), my tasks (a return visit worked), the
department page, the wallboard tiles, and the desktop's create-order form
prefilled from the screen-pop, linked to the call the disposition names."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from callcenter.acd.models import CallRecord
from callcenter.auth.models import Role, User
from callcenter.auth.service import hash_password
from callcenter.db import Database
from callcenter.hooks.models import QueueHours
from callcenter.teams.models import Team, TeamLead, TeamMember
from callcenter.workorders.models import Task, WorkOrder

from ..realtime.stack import CUSTOMER_NUMBER, LiveStack, sign_in
from .test_desktop import KNOWN_CALLER, ME, RING_WITHIN_MS

pytestmark = pytest.mark.browser
PASSWORD = "demo-password"


@pytest.fixture
def server(db, settings):  # noqa: ANN001, ANN201
    from ..livesrv import LiveServer

    srv = LiveServer(settings).start()
    yield srv
    srv.stop()


async def _people(db: Database) -> dict[str, int]:
    h = hash_password(PASSWORD)
    async with db.sessions() as s:
        users = {
            "agent01": User(username="agent01", display_name="王静", role=Role.agent, interface="PJSIP/8001", password_hash=h),
            "lead": User(username="lead", display_name="班长 周敏", role=Role.team_lead, password_hash=h),
            "tech": User(username="tech", display_name="工程部 张师傅", role=Role.department, password_hash=h),
            "admin": User(username="admin", display_name="管理员", role=Role.admin, password_hash=h),
        }
        s.add_all(users.values())
        s.add(QueueHours(queue="workorders", calendar={"always_open": True}))
        await s.flush()
        s.add(Team(name="一班", leads=[TeamLead(user_id=users["lead"].id)]))
        await s.flush()
        team = (await s.execute(select(Team))).scalar_one()
        s.add(TeamMember(team_id=team.id, user_id=users["agent01"].id))
        await s.commit()
        return {k: u.id for k, u in users.items()}


async def _api(page, method: str, path: str, body=None):  # noqa: ANN001, ANN202
    """The API as the user signed in on `page` (with a token of their own)."""
    import httpx

    base = "/".join(page.url.split("/")[:3])
    user = page.context.cc_user
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        token = (await c.post("/api/auth/login", json={"username": user, "password": PASSWORD})).json()["access_token"]
        r = await c.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.is_success, (path, r.status_code, r.text)
    return r.json()


async def test_board_my_tasks_department_and_wallboard(browser, server, db, shot):
    ids = await _people(db)
    errors: list[str] = []
    admin_ctx = await browser.new_context(viewport={"width": 1366, "height": 768})
    admin = await admin_ctx.new_page()
    admin_ctx.cc_user = "admin"
    await sign_in(admin, server.url, "admin", "/workorders")
    await _api(admin, "PUT", "/api/workorders/departments/engineering",
               {"code": "engineering", "name_zh": "工程部", "name_en": "Engineering", "members": [ids["tech"]]})  # fmt: skip
    await _api(admin, "PUT", "/api/workorders/departments/cleaning", {"code": "cleaning", "name_zh": "保洁部", "name_en": "Cleaning"})

    # The agent takes three orders; one is late and escalated, one waits for its return visit.
    agent_ctx = await browser.new_context(viewport={"width": 1366, "height": 768})
    agent = await agent_ctx.new_page()
    agent.on("pageerror", lambda e: errors.append(str(e)))
    agent.on("console", lambda m: errors.append("console: " + m.text) if m.type == "error" else None)
    agent_ctx.cc_user = "agent01"
    await sign_in(agent, server.url, "agent01", "/workorders")
    late = await _api(agent, "POST", "/api/workorders", {"kind": "complaint", "severity": "important", "subject": "楼上噪音扰民", "unit": "3栋1201"})
    repair = await _api(agent, "POST", "/api/workorders", {"kind": "repair", "category": "leak", "subject": "卫生间渗水", "unit": "5栋0302"})
    visit = await _api(agent, "POST", "/api/workorders", {"kind": "enquiry", "subject": "停水通知", "unit": "1栋0101"})
    async with db.sessions() as s:
        past = datetime.now(UTC) - timedelta(hours=5)
        await s.execute(update(WorkOrder).where(WorkOrder.id == late["id"]).values(resolve_by=past, escalation_level=2))
        await s.commit()
    repair = await _api(admin, "POST", f"/api/workorders/{repair['id']}/assign", {"version": 1, "department_id": 1})
    for st in ("DISPATCHED", "ON_SITE", "DONE", "LEAK_TEST", "RETURN_VISIT_DUE"):
        repair = await _api(admin, "POST", f"/api/workorders/{repair['id']}/state", {"state": st, "version": repair["version"]})

    # My tasks: due first; the return visit is worked from here.
    await agent.goto(server.url + "/workorders")
    try:
        await agent.wait_for_selector("body[data-ready='1']", timeout=10_000)
    except Exception:
        raise AssertionError(errors) from None
    await agent.wait_for_selector(f"#my-orders tr[data-id='{late['id']}'].late")
    rows = await agent.locator("#my-orders tr[data-id]").evaluate_all("rs => rs.map(r => r.dataset.id)")
    assert rows[0] == str(late["id"])  # the late one leads
    assert str(visit["id"]) in rows
    await agent.wait_for_selector("#my-tasks tr:has-text('回访')")
    assert "渗水" not in await agent.inner_text("#my-tasks")  # tasks show the order number, not its text
    await shot(agent, "my-tasks-zh")
    await agent.click(f"#my-orders tr[data-id='{late['id']}']")
    await agent.wait_for_selector("#d-timeline li:has-text('受理')")
    assert await agent.locator("#d-moves button[data-state=CLASSIFIED]").count() == 1
    await shot(agent, "order-detail-zh")
    await agent.click("#my-tasks button[data-result=unreachable]")
    await agent.wait_for_selector("#my-tasks td.mono:has-text('1')")
    await agent.click("#my-tasks button[data-result=satisfied]")
    await agent.wait_for_function("!document.querySelector('#my-tasks button[data-result]')")

    # The lead's board, 1920x1080: overdue and escalated, by department and by age; chase from it.
    lead_ctx = await browser.new_context(viewport={"width": 1920, "height": 1080})
    lead = await lead_ctx.new_page()
    lead.on("pageerror", lambda e: errors.append(str(e)))
    bad: list[str] = []
    lead.on("response", lambda r: bad.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    await sign_in(lead, server.url, "lead", "/workorders")
    await lead.wait_for_selector("body[data-ready='1']")
    assert bad == [], bad
    await lead.goto(server.url + "/workorders?tab=board")
    await lead.wait_for_selector("body[data-ready='1']")
    assert await lead.inner_text("#t-overdue") == "1"
    assert await lead.inner_text("#t-escalated") == "1"
    assert await lead.inner_text("#t-open") == "2"  # the repair is closed after its visit
    row = lead.locator(f"#overdue tr[data-id='{late['id']}']")
    assert "部门主管" in await row.inner_text()
    await row.locator("button.chase").click()
    await lead.wait_for_selector(".toast:has-text('已催办')")
    await row.locator("select.reassign").select_option(label="保洁部")
    await lead.wait_for_selector("#by-dept tr:has-text('保洁部')")  # reassigned (the chase did not make the row stale)
    await shot(lead, "board-zh")
    await lead.click("#lang-btn")
    await lead.wait_for_selector("#board h2:has-text('Overdue orders')")
    await lead.wait_for_selector(f"#overdue tr[data-id='{late['id']}']:has-text('Department head')")
    await lead.wait_for_selector("#by-dept tr:has-text('Cleaning')")
    assert "Complaint · Important" in await lead.inner_text(f"#overdue tr[data-id='{late['id']}']")
    await lead.click(f"#overdue tr[data-id='{late['id']}']")
    await lead.wait_for_selector("#d-timeline li:has-text('Chase')")
    await shot(lead, "board-en")
    text = await lead.inner_text("main")
    for zh in ("超期", "催办", "部门", "工单"):
        assert zh not in text, zh  # the English page is English

    # The wallboard's tiles.
    await lead.goto(server.url + "/wallboard")
    await lead.wait_for_selector("#wo-tiles[data-loaded='1']")
    assert await lead.inner_text("#wo-overdue") == "1"
    assert "Overdue orders" in await lead.inner_text("#wo-tiles")
    await shot(lead, "wallboard-tiles-en")

    # The department page: the engineering staff see their department's orders only.
    tech_ctx = await browser.new_context(viewport={"width": 1366, "height": 768})
    tech = await tech_ctx.new_page()
    tech.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(tech, server.url, "tech", "/workorders")
    await tech.wait_for_selector("body[data-ready='1']")
    assert await tech.inner_text("#tab-board") == "部门工单"
    assert await tech.inner_text("#t-open") == "0"  # the repair is closed; the complaint went to cleaning
    assert await tech.locator("button.chase").count() == 0
    await shot(tech, "department-zh")
    assert errors == []


async def test_desktop_creates_an_order_during_the_call(browser, tmp_path, db_url, shot):
    stack = LiveStack(tmp_path, KNOWN_CALLER, url=db_url)
    try:
        page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(page, stack.server.url, "agent01", "/desktop")
        await page.wait_for_selector("#skills input[value=complaints]")
        await page.wait_for_selector("#conn.hidden", state="attached")
        await page.click("#login-btn")
        await page.wait_for_selector("#pop-customer-name:has-text('陈建国')", timeout=RING_WITHIN_MS)
        await page.wait_for_selector("#state[data-state=on_call]", timeout=15_000)
        await page.click("#wo-new")
        assert await page.input_value("#wo-name") == "陈建国"
        assert await page.input_value("#wo-unit") == "3-2-501"
        assert await page.input_value("#wo-number") == CUSTOMER_NUMBER
        await page.select_option("#wo-kind", "complaint")
        assert await page.is_visible("#wo-severity") and not await page.is_visible("#wo-category")
        await page.select_option("#wo-severity", "important")
        await page.fill("#wo-subject", "维修工未按约定时间上门")
        await shot(page, "desktop-order-form")
        await page.click("#wo-create")
        await page.wait_for_selector("#wo-made:has-text('已建工单')")
        await page.click("#hangup-btn")
        # the pop (and the order made) stay through wrap-up; the disposition is "ticket"
        await page.wait_for_selector("#pop-phase[data-phase=wrap_up]")
        assert "已建工单" in await page.inner_text("#wo-made")
        assert await page.input_value("#disposition") == "ticket"
        await page.fill("#wrap-note", "投诉已登记")
        await shot(page, "desktop-wrap-up-with-order")
        await page.click("#wrap-submit")
        await page.wait_for_selector("#state[data-state=available]")
        assert errors == []
        db = Database(db_url)
        try:
            for _ in range(50):  # the call record is written by the persister, moments after the wrap-up
                async with db.sessions() as s:
                    order = (await s.execute(select(WorkOrder))).scalar_one()
                    record = (await s.execute(select(CallRecord).where(CallRecord.call_id == order.uniqueid))).scalar_one_or_none()
                    if record is not None and record.disposition:
                        break
                await asyncio.sleep(0.2)
            else:
                async with db.sessions() as s:
                    calls = [(r.call_id, r.disposition) for r in (await s.execute(select(CallRecord))).scalars()]
                raise AssertionError(f"no record of call {order.uniqueid} with a disposition: {calls}")
            assert record.disposition == "ticket"
            async with db.sessions() as s:
                assert order.kind == "complaint" and order.severity == "important" and order.customer_name == "陈建国"
                assert order.customer_id is not None and order.first_owner_id is not None
        finally:
            await db.dispose()
        await page.goto(stack.server.url + "/desktop")  # the customer's open orders are in the next pop's list too
    finally:
        stack.stop()


def _local(dt: datetime) -> str:
    """A datetime-local input's value, in the browser's zone (the test runs Chromium in the host's)."""
    return dt.astimezone().strftime("%Y-%m-%dT%H:%M")


async def test_overdue_plan_rectification_follow_ups_and_reports_from_the_pages(browser, server, db, shot):
    ids = await _people(db)
    async with db.sessions() as s:
        s.add(User(username="director", display_name="主任 刘强", role=Role.director, password_hash=hash_password(PASSWORD)))
        s.add(Task(key="fu:late", kind="follow_up", number="13800000001", due_at=datetime.now(UTC) - timedelta(days=1)))
        await s.commit()
    errors: list[str] = []
    ctx = await browser.new_context(viewport={"width": 1600, "height": 900})
    admin = await ctx.new_page()
    ctx.cc_user = "admin"
    await sign_in(admin, server.url, "admin", "/workorders")
    await _api(admin, "PUT", "/api/workorders/departments/engineering",
               {"code": "engineering", "name_zh": "工程部", "name_en": "Engineering", "members": [ids["tech"]]})  # fmt: skip
    agent_ctx = await browser.new_context()
    agent = await agent_ctx.new_page()
    agent_ctx.cc_user = "agent01"
    await sign_in(agent, server.url, "agent01", "/workorders")
    late = await _api(agent, "POST", "/api/workorders", {"kind": "repair", "subject": "电梯异响", "unit": "2栋", "department_id": 1})
    async with db.sessions() as s:
        await s.execute(update(WorkOrder).where(WorkOrder.id == late["id"]).values(resolve_by=datetime.now(UTC) - timedelta(hours=3)))
        await s.commit()

    # The lead: a rectification notice to the department, and the overdue order's reason, plan and new deadline.
    lead_ctx = await browser.new_context(viewport={"width": 1600, "height": 900})
    lead = await lead_ctx.new_page()
    lead.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(lead, server.url, "lead", "/workorders?tab=board")
    await lead.wait_for_selector("body[data-ready='1']")
    await lead.click(f"#overdue tr[data-id='{late['id']}'] td.mono")
    await lead.wait_for_selector("#f-rectify:not(.hidden)")
    await lead.fill("#rc-text", "承诺今日上门未到，限期整改")
    await lead.fill("#rc-deadline", _local(datetime.now(UTC) + timedelta(hours=6)))
    await lead.click("#rc-save")
    await lead.wait_for_selector("#d-notices li:has-text('待签收')")
    await lead.wait_for_selector("#f-overdue:not(.hidden)")
    await lead.fill("#od-reason", "缺配件")
    await lead.fill("#od-plan", "配件周五到货后上门更换")
    await lead.fill("#od-deadline", _local(datetime.now(UTC) + timedelta(days=2)))
    await lead.click("#od-save")
    await lead.wait_for_selector("#d-timeline li[data-action=overdue_plan]:has-text('超期说明')")
    await lead.wait_for_selector("#d-timeline li[data-action=rectify]")
    await shot(lead, "rectify-and-overdue-plan-zh")
    async with db.sessions() as s:
        order = await s.get(WorkOrder, late["id"])
        assert order.overdue_reason == "缺配件" and order.resolve_by > datetime.now(UTC)

    # The department acknowledges the notice from its page.
    tech_ctx = await browser.new_context(viewport={"width": 1600, "height": 900})
    tech = await tech_ctx.new_page()
    tech.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(tech, server.url, "tech", "/workorders")
    await tech.wait_for_selector("body[data-ready='1']")
    await tech.wait_for_selector("#notices tr[data-notice] .ack-btn")
    await tech.fill("#notices .ack-note", "明早九点带配件上门")
    await tech.click("#notices .ack-btn")
    await tech.wait_for_selector("#notices tr[data-notice]:has-text('已签收')")
    await shot(tech, "department-acknowledged-zh")

    # Overdue follow-ups and the CSV reports.
    await lead.click("#tab-followups")
    await lead.wait_for_selector("#fu-overdue tr.late select.fu-assign")
    await lead.select_option("#fu-overdue select.fu-assign", label="王静")  # handed to the team's agent
    await lead.wait_for_selector(".toast:has-text('已记录')")
    # An earlier step's toast reads the same: wait for the row itself (CI saw the check run before the write).
    assigned = None
    for _ in range(50):
        async with db.sessions() as s:
            assigned = (await s.execute(select(Task.assigned_to).where(Task.key == "fu:late"))).scalar_one()
        if assigned is not None:
            break
        await asyncio.sleep(0.1)
    assert assigned == ids["agent01"]
    await lead.click("#tab-reports")
    href = await lead.get_attribute("#csv-performance", "href")
    assert href.startswith("/api/workorders/reports/performance.csv?since=")
    r = await lead.request.get(server.url + href)
    assert r.ok and (await r.text()).lstrip("\ufeff").startswith("kind,orders,closed,on_time_pct")
    r = await lead.request.get(server.url + await lead.get_attribute("#csv-weekly", "href"))
    assert r.ok and (await r.text()).lstrip("\ufeff").startswith("week,intake,chased,feedback,return_visits")
    await shot(lead, "reports-zh")
    await lead.click("#lang-btn")
    await lead.wait_for_selector("#reports h2:has-text('Work-order reports')")
    assert "Director's weekly summary" in await lead.inner_text("#reports")

    # The director: every order on the board, and the reports.
    boss_ctx = await browser.new_context(viewport={"width": 1600, "height": 900})
    boss = await boss_ctx.new_page()
    boss.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(boss, server.url, "director", "/workorders?tab=board")
    await boss.wait_for_selector("body[data-ready='1']")
    assert await boss.inner_text("#t-open") == "1"
    assert await boss.is_visible("#tab-reports") and not await boss.is_visible("#tab-followups")
    assert errors == []


async def test_desktop_works_a_return_visit_by_phone(browser, tmp_path, db_url, shot):
    from ..workorders.test_visits import _login, _repair_due_for_visit

    stack = LiveStack(tmp_path, [{"at": 0, "phone": ME, "answer_after": 1, "miss_prob": 0}], url=db_url)
    db = Database(db_url)
    try:
        async with db.sessions() as s:
            s.add(QueueHours(queue="workorders", calendar={"always_open": True}))
            await s.commit()
        import httpx

        async with httpx.AsyncClient(base_url=stack.server.url, timeout=30) as c:
            order, task = await _repair_due_for_visit(c, await _login(c, "agent01"), await _login(c, "lead"))
        page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(page, stack.server.url, "agent01", "/desktop")
        await page.wait_for_selector("#conn.hidden", state="attached")
        item = page.locator(f"#rv-list li[data-task-id='{task['id']}']")
        await item.wait_for()
        assert "13912345678" in await item.inner_text() and "回访" in await item.inner_text()
        await page.click("#login-btn")
        await page.wait_for_selector("#state[data-state=available]")
        await item.locator(".rv-call").click()
        await page.wait_for_selector("#result:has-text('正在呼叫 13912345678')")
        await page.wait_for_selector("#state[data-state=on_call]", timeout=15_000)
        await shot(page, "desktop-return-visit-call")
        await page.click("#hangup-btn")
        await page.wait_for_selector("#state:not([data-state=on_call])")
        if await page.get_attribute("#state", "data-state") == "wrap_up":
            await page.select_option("#disposition", "resolved")
            await page.fill("#wrap-note", "回访：仍漏水")
            await page.click("#wrap-submit")
        await item.locator("button[data-result=not_satisfied]").click()
        await page.wait_for_selector("#result:has-text('回访结果已记录')")
        await page.wait_for_selector("#rv-list li.muted")  # nothing left to visit
        await shot(page, "desktop-return-visit-done")
        assert errors == []
        for _ in range(100):  # the call record is written when the call (and its wrap-up) is over
            async with db.sessions() as s:
                o = await s.get(WorkOrder, order["id"])
                rec = (await s.execute(select(CallRecord).where(CallRecord.uniqueid.in_(o.calls)))).scalar_one_or_none()
            if rec is not None:
                break
            await asyncio.sleep(0.1)
        assert o.state == "REWORK" and rec is not None and rec.kind == "outbound" and rec.agent == ME
    finally:
        stack.stop()
        await db.dispose()
