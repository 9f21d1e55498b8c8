"""The customers page in real Chromium: an agent finds a customer by the
start of a name, edits the grade, VIP tier and notes, and claims a
callback task of theirs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from callcenter.auth.models import Role, User
from callcenter.auth.service import hash_password
from callcenter.crm.models import CallbackReason, CallbackStatus, CallbackTask, Customer, CustomerPhone, Grade, Ticket, TicketKind, Tier
from callcenter.db import Base, Database

from ..conftest import make_settings, run_sync

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path):  # noqa: ANN001, ANN201
    from ..livesrv import LiveServer

    url = f"sqlite+aiosqlite:///{tmp_path}/browser.db"
    settings = make_settings(database_url=url, recordings_dir=tmp_path / "rec")

    async def setup() -> None:
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        async with db.sessions() as s:
            s.add(User(username="agent01", display_name="王静", role=Role.agent, interface="PJSIP/8001", password_hash=hash_password("demo-pass")))
            chen = Customer(name="陈建国", unit="3栋1201", grade=Grade.C, tier=Tier.regular, phones=[CustomerPhone(number="13912345678")])
            s.add_all([chen, Customer(name="陈丽", unit="5栋0302", phones=[CustomerPhone(number="13700000002")]), Customer(name="王强", unit="1栋0101")])
            await s.flush()
            # 01:30 on 23 November in Shanghai, still the 22nd in UTC.
            s.add(Ticket(kind=TicketKind.complaint, subject="厨房漏水未修复", customer_id=chen.id, number="13912345678",
                         created_at=datetime(2026, 11, 22, 17, 30, tzinfo=UTC)))
            s.add(CallbackTask(number="13912345678", customer_id=chen.id, reason=CallbackReason.abandoned, due_on=date(2026, 11, 23),
                               due_at=datetime(2026, 11, 23, 2, tzinfo=UTC), status=CallbackStatus.open))
            await s.commit()
        await db.dispose()

    run_sync(setup)
    srv = LiveServer(settings).start()
    yield srv
    srv.stop()


async def test_agent_finds_and_edits_a_customer(browser, server, shot):
    # A browser in another time zone than the centre's: dates are the centre's.
    ctx = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", timezone_id="UTC")
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(server.url + "/login?next=%2Fcustomers")
    await page.fill("#username", "agent01")
    await page.fill("#password", "demo-pass")
    await page.click("#submit")
    await page.wait_for_url("**/customers**")
    await page.wait_for_selector("body[data-ready='1']")
    assert await page.locator("#nav a[href='/customers']").count() == 1

    await page.fill("#q", "陈")
    await page.click("#search-btn")
    await page.wait_for_function("document.querySelectorAll('#results tr[data-id]').length === 2")
    await page.fill("#q", "陈建")
    await page.click("#search-btn")
    await page.wait_for_selector("#d-name:has-text('陈建国')")  # one hit opens it
    await page.wait_for_selector("#tickets li:has-text('厨房漏水未修复')")
    assert "2026/11/23" in await page.inner_text("#tickets li")
    assert await page.input_value("#e-grade") == "C"

    await page.select_option("#e-grade", "A")
    await page.select_option("#e-tier", "vip")
    await page.fill("#e-notes", "业委会成员，来电优先")
    await page.click("#save-btn")
    await page.wait_for_selector("#results tr:has-text('大客户')")

    await page.click("#callbacks button:has-text('认领')")
    await page.wait_for_selector("#callbacks li:has-text('已认领')")
    await shot(page, "customers-edited")

    async def saved() -> tuple[str, str, str, str]:
        from sqlalchemy import select

        async with server.app.state.db.sessions() as s:
            c = (await s.execute(select(Customer).where(Customer.name == "陈建国"))).scalar_one()
            cb = (await s.execute(select(CallbackTask))).scalar_one()
            return c.grade.value, c.tier.value, c.notes, cb.status.value

    assert server.call(saved()) == ("A", "vip", "业委会成员，来电优先", "claimed")
    assert not errors, errors
    await ctx.close()
