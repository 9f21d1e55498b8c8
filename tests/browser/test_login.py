"""Signing in through the real page, in Chromium."""

from __future__ import annotations


import pytest

from callcenter.auth.models import Role, User
from callcenter.auth.service import hash_password
from callcenter.db import Base, Database

from ..conftest import make_settings, run_sync
from ..livesrv import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path):  # noqa: ANN001, ANN201
    url = f"sqlite+aiosqlite:///{tmp_path}/browser.db"

    async def setup() -> None:
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        async with db.sessions() as s:
            s.add(User(username="agent01", display_name="王静", role=Role.agent, interface="PJSIP/8001",
                       password_hash=hash_password("demo-agent")))
            await s.commit()
        await db.dispose()

    run_sync(setup)
    srv = LiveServer(make_settings(database_url=url)).start()
    yield srv
    srv.stop()


async def test_sign_in_and_out(browser, server, shot):
    page = await browser.new_page(viewport={"width": 1366, "height": 768})
    await page.goto(server.url + "/home")
    await page.wait_for_url("**/login?next=%2Fhome")
    assert await page.locator("h1").inner_text() == "登录"
    await page.fill("#username", "agent01")
    await page.fill("#password", "wrong-password")
    await page.click("#submit")
    await page.wait_for_selector("#error:has-text('用户名或密码错误')")  # the server's 401, in the page's language
    await page.fill("#password", "demo-agent")
    await page.click("#submit")
    await page.wait_for_url("**/home")
    await page.wait_for_selector("#whoami:has-text('王静')")
    assert "PJSIP/8001" in await page.inner_text("#whoami")
    await shot(page, "home")
    # the token lives in an HttpOnly cookie: page scripts cannot read it
    assert "cc_token" not in await page.evaluate("document.cookie")
    await page.click("#lang-btn")
    await page.wait_for_selector("#logout-btn:has-text('Sign out')")
    await page.click("#logout-btn")
    await page.wait_for_url("**/login")
    await page.close()
