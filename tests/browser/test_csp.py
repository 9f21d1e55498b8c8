"""Every page runs under the Content-Security-Policy (no inline script, no
eval, our own origin only) with no violation, the websocket included."""

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
    url = f"sqlite+aiosqlite:///{tmp_path}/csp.db"

    async def setup() -> None:
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        async with db.sessions() as s:
            s.add(User(username="admin", display_name="管理员", role=Role.admin, interface="PJSIP/7000",
                       password_hash=hash_password("Kx9-long-enough-pass")))  # fmt: skip
            await s.commit()
        await db.dispose()

    run_sync(setup)
    srv = LiveServer(make_settings(database_url=url)).start()
    yield srv
    srv.stop()


async def test_pages_run_under_the_csp(browser, server):
    page = await browser.new_page(viewport={"width": 1366, "height": 768}, bypass_csp=False)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    await page.goto(server.url + "/login")
    await page.fill("#username", "admin")
    await page.fill("#password", "Kx9-long-enough-pass")
    await page.click("#submit")
    await page.wait_for_url("**/home")
    await page.wait_for_selector("#pages a")
    for path, ready in (("/wallboard", "#conn"), ("/desktop", "body"), ("/qa", "body"), ("/customers", "body")):
        await page.goto(server.url + path)
        await page.wait_for_selector(ready, state="attached")
        await page.wait_for_load_state("networkidle")
    # the wallboard's websocket connected under connect-src 'self'
    await page.goto(server.url + "/wallboard")
    await page.wait_for_load_state("networkidle")
    assert not violations, violations
    await page.close()
