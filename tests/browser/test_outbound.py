"""The outbound page in real Chromium: an admin creates a campaign, imports
a GB18030 list with a bad row (the report shows it), adds a script and
starts it; an agent works it (card, script, dial, result, next); the board
shows the KPIs.  Screenshots at 1920x1080 and 1366x768, both languages."""

from __future__ import annotations

import pytest

from callcenter.auth.models import Role, Skill, User
from callcenter.auth.service import hash_password
from callcenter.db import Base, Database

from ..conftest import make_settings, run_sync
from ..outbound.test_api import RecordingGateway

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
            pw = hash_password("demo-pass")
            s.add(User(username="admin", display_name="管理员", role=Role.admin, interface="PJSIP/8000", password_hash=pw))
            s.add(User(username="agent01", display_name="王静", role=Role.agent, interface="PJSIP/8001", password_hash=pw,
                       skills=[Skill(queue="sales", penalty=0)]))  # fmt: skip
            await s.commit()
        await db.dispose()

    run_sync(setup)
    srv = LiveServer(settings).start()
    srv.app.state.gateway = RecordingGateway()
    yield srv
    srv.stop()


async def login(browser, server, user: str, size: tuple[int, int], lang: str = "zh-CN"):  # noqa: ANN001, ANN201
    ctx = await browser.new_context(viewport={"width": size[0], "height": size[1]}, locale=lang)
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(server.url + "/login?next=%2Foutbound")
    await page.evaluate(f"localStorage.setItem('cc.lang', '{lang}')")
    await page.fill("#username", user)
    await page.fill("#password", "demo-pass")
    await page.click("#submit")
    await page.wait_for_url("**/outbound**")
    await page.wait_for_selector("body[data-ready='1']")
    return ctx, page, errors


async def test_campaign_setup_import_work_and_board(browser, server, shot, tmp_path):
    ctx, page, errors = await login(browser, server, "admin", (1920, 1080))
    await page.goto(server.url + "/outbound#setup")
    await page.wait_for_selector("#create:visible")
    await page.fill("#n-name", "物业费催缴 11月")
    await page.select_option("#n-type", "collection")
    await page.fill("#n-queue", "sales")
    await page.fill("#n-window", "00:00-00:00")
    await page.click("#create-btn")
    await page.wait_for_selector("#s-name:has-text('物业费催缴 11月')")
    listing = tmp_path / "名单.csv"
    listing.write_bytes("电话,姓名,房号,欠费\n13800138001,张三,3栋1201,300\n12,坏号,,\n13800138002,李四,3栋1202,150\n".encode("gb18030"))
    await page.set_input_files("#i-file", str(listing))
    await page.click("#import-btn")
    await page.wait_for_selector("#i-report:has-text('导入 2 行')")
    assert "gb18030" in await page.inner_text("#i-report")
    assert "第" not in await page.inner_text("#i-errors") and "number" in await page.inner_text("#i-errors")
    assert await page.locator("#i-report a[href$='errors.csv']").count() == 1
    await page.fill("#s-body", "您好，这里是物业客服中心，提醒您缴纳物业费。")
    await page.click("#script-btn")
    await page.wait_for_selector("#s-ver:has-text('第 1 版')")
    await page.click("#start-btn")
    await page.wait_for_selector("#s-meta:has-text('进行中')")
    await page.wait_for_selector("#seg-count:has-text('名单 2 人，筛选出 2 人')")
    await page.fill("#seg-body", "{bad")
    await page.click("#seg-btn")
    await page.wait_for_selector(".toast:has-text('不是有效的 JSON')")
    await page.fill("#seg-body", '{"number": {"op": "prefix", "value": "1380013800"}}')
    await page.click("#seg-btn")
    await page.wait_for_selector("#seg-count:has-text('筛选出 2 人')")
    assert (await page.get_attribute("#export-link", "href")).endswith("/contacts.csv")
    await shot(page, "setup-1920")
    assert not errors, errors
    await ctx.close()

    for size in ((1366, 768), (1920, 1080)):
        ctx, page, errors = await login(browser, server, "agent01", size)
        assert await page.locator("#tabs a[data-tab='setup']:visible").count() == 0
        await page.click("#next-btn")
        await page.wait_for_selector("#card:visible")
        number = await page.inner_text("#c-number")
        assert number in ("13800138001", "13800138002")
        assert "提醒您缴纳物业费" in await page.inner_text("#script")
        await page.click("#dial-btn")
        await page.wait_for_selector("#card-state:has-text('正在呼叫')")
        await shot(page, f"work-{size[0]}")
        await page.select_option("#r-result", "success")
        await page.click("#save-result")
        await page.wait_for_function(f"document.getElementById('c-number').textContent !== '{number}' || !document.getElementById('no-card').classList.contains('hidden')")
        assert not errors, errors
        await ctx.close()
    assert [o["exten"] for o in server.app.state.gateway.originates] == ["13800138001", "13800138002"]

    # today's callbacks: an abandoned caller, worked from the page with a result and a retry
    async def abandoned() -> None:
        from datetime import UTC, datetime, timedelta

        from callcenter.acd.models import CallKind, CallRecord, Outcome

        # Ten minutes ago, but never before the centre's midnight: it must be on today's list at any hour.
        now = datetime.now(server.app.state.settings.tz)
        at = max(now - timedelta(minutes=10), now.replace(hour=0, minute=0, second=0, microsecond=0)).astimezone(UTC)
        async with server.app.state.db.sessions() as s:
            s.add(CallRecord(call_id="ab1", uniqueid="ab1", kind=CallKind.queue, queue="sales", caller_number="13912345678",
                             entered_at=at, wait_s=45, outcome=Outcome.abandoned, legs=[]))  # fmt: skip
            await s.commit()

    server.call(abandoned())
    ctx, page, errors = await login(browser, server, "admin", (1920, 1080))
    await page.goto(server.url + "/outbound#callbacks")
    await page.click("#cb-sync")
    await page.wait_for_selector("#cb-rows tr:has-text('13912345678')")
    await page.click("#cb-rows button[data-result='no_answer']")
    await page.wait_for_selector("#cb-rows tr td:nth-child(3):text-is('1')")
    await page.wait_for_selector("#cb-tiles .tile")
    await shot(page, "callbacks-1920")
    await page.click("#cb-rows button[data-result='reached']")
    await page.wait_for_selector("#cb-rows tr:has-text('已完成')")
    assert not errors, errors
    await ctx.close()

    ctx, page, errors = await login(browser, server, "admin", (1366, 768), lang="en")
    await page.goto(server.url + "/outbound#board")
    await page.wait_for_selector("#tiles .tile")
    text = await page.inner_text("#tiles")
    assert "Dials" in text and "Successes" in text and "100" in text  # success rate 100 %
    assert "王静" in await page.inner_text("#agents")
    words = " ".join(await page.locator("#tabs a, #tiles .tile > div:first-child, thead th").all_inner_texts())
    assert words.strip() and not any("\u4e00" <= ch <= "\u9fff" for ch in words), words  # no Chinese UI words in English
    await shot(page, "board-1366-en")
    assert not errors, errors
    await ctx.close()


async def test_outbound_mode_in_the_desktop(browser, server, shot):
    """The agent works a campaign from the desktop itself: campaign, card
    and script, dial, result, the next card; in both languages."""

    async def campaign() -> None:
        from callcenter.outbound.models import Campaign, CampaignContact, CampaignStatus, Script

        async with server.app.state.db.sessions() as s:
            c = Campaign(name="回访 11月", type="return_visit", queue="sales", status=CampaignStatus.running, window="00:00-00:00")
            s.add(c)
            await s.flush()
            s.add_all([CampaignContact(campaign_id=c.id, number="13900139001", name="赵六", data={"unit": "5栋101"}),
                       CampaignContact(campaign_id=c.id, number="13900139002", name="钱七"),
                       Script(campaign_id=c.id, version=1, body="您好，这里是客服中心回访。")])  # fmt: skip
            await s.commit()

    server.call(campaign())
    for lang, size, saved in (("zh-CN", (1366, 768), "结果已保存"), ("en", (1920, 1080), "Result saved")):
        ctx = await browser.new_context(viewport={"width": size[0], "height": size[1]}, locale=lang)
        page = await ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(server.url + "/login?next=%2Fdesktop")
        await page.evaluate(f"localStorage.setItem('cc.lang', '{lang}')")
        await page.fill("#username", "agent01")
        await page.fill("#password", "demo-pass")
        await page.click("#submit")
        await page.wait_for_url("**/desktop**")
        await page.wait_for_selector("#obd:visible")
        await page.select_option("#obd-campaign", label="回访 11月 · " + ("预览式" if lang == "zh-CN" else "Preview"))
        await page.click("#obd-next")
        await page.wait_for_selector("#obd-card:visible")
        number = await page.inner_text("#obd-number")
        assert number in ("13900139001", "13900139002")
        assert "客服中心回访" in await page.inner_text("#obd-script")
        await page.click("#obd-dial")
        await page.wait_for_selector("#obd-state:has-text('" + ("正在呼叫" if lang == "zh-CN" else "Calling") + "')")
        await shot(page, f"desktop-outbound-{size[0]}-{lang}")
        await page.select_option("#obd-result", "no_answer")
        await page.click("#obd-save")
        await page.wait_for_selector(f"#result:has-text('{saved}')")
        await page.wait_for_function(f"document.getElementById('obd-number').textContent !== '{number}' || document.getElementById('obd-card').classList.contains('hidden')")
        if lang == "en":
            words = " ".join(await page.locator("#obd h3, #obd button, #obd label span").all_inner_texts())
            assert words.strip() and not any("\u4e00" <= ch <= "\u9fff" for ch in words), words
        assert not errors, errors
        await ctx.close()
    assert [o["exten"] for o in server.app.state.gateway.originates][:2] == ["13900139001", "13900139002"]
