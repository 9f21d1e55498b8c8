"""The QA page in real Chromium: QA opens a sampled call, plays it, seeks
to 00:30, annotates, scores and submits; the agent then sees the
evaluation and acknowledges it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from callcenter.acd.models import Queue
from callcenter.auth.models import Role, Skill, User
from callcenter.auth.service import hash_password
from callcenter.db import Base, Database
from callcenter.qa.sampling import sample_month

from ..conftest import make_settings, run_sync
from ..qa.factories import make_call, timeline, write_wav

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path):  # noqa: ANN001, ANN201
    url = f"sqlite+aiosqlite:///{tmp_path}/browser.db"
    settings = make_settings(database_url=url, recordings_dir=tmp_path / "rec")
    start = datetime(2026, 11, 10, 2, 30, tzinfo=UTC)

    async def setup() -> None:
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        async with db.sessions() as s:
            pw = hash_password("demo-pass")
            s.add_all([
                User(username="qa", display_name="质检 林芳", role=Role.qa, password_hash=pw),
                User(username="agent01", display_name="王静", role=Role.agent, interface="PJSIP/8001", password_hash=pw),
                User(username="lead", display_name="班长 周敏", role=Role.team_lead, password_hash=pw, skills=[Skill(queue="repairs")]),
                Queue(name="repairs", display_name="报修", display_name_en="Repairs"),
            ])
            await s.commit()
        write_wav(settings.recordings_dir / "2026" / "call-1.wav", 75)
        await make_call(db, "call-1", agent="PJSIP/8001", recording_file="2026/call-1.wav", entered_at=start, wait_s=14, talk_s=75,
                        caller_number="13912345678", caller_name="张女士", disposition="ticket",
                        timeline=timeline(start, 14, 75, hold_at=40))
        for i in range(2, 6):
            write_wav(settings.recordings_dir / f"c{i}.wav", 3)
            await make_call(db, f"call-{i}", agent="PJSIP/8002", agent_name="李伟", recording_file=f"c{i}.wav",
                            entered_at=start - timedelta(hours=i), talk_s=200 + i, caller_number=f"1380000000{i}")
        async with db.sessions() as s:
            await sample_month(s, "2026-11", 5, 30, settings.tz, date(2026, 12, 1), seed=1)
            await s.commit()
        await db.dispose()

    run_sync(setup)
    srv = LiveServerWithSettings(settings)
    yield srv
    srv.stop()


def LiveServerWithSettings(settings):  # noqa: ANN001, ANN201, N802
    from ..livesrv import LiveServer

    return LiveServer(settings).start()


async def _plays(server) -> int:  # noqa: ANN001
    """recording.play audit rows, read on the server's own loop."""
    from sqlalchemy import func, select

    from callcenter.auth.models import AuditEntry

    async def count() -> int:
        async with server.app.state.db.sessions() as s:
            return await s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "recording.play"))

    return server.call(count())


async def _login(page, base, user):  # noqa: ANN001, ANN202
    await page.goto(base + "/login?next=%2Fqa")
    await page.fill("#username", user)
    await page.fill("#password", "demo-pass")
    await page.click("#submit")
    await page.wait_for_url("**/qa**")
    await page.wait_for_selector("body[data-ready='1']")


async def test_qa_scores_a_call_and_the_agent_acknowledges(browser, server, shot):
    ctx = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", timezone_id="America/New_York")
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: d.accept())
    await _login(page, server.url, "qa")

    # the sampled calls assigned to this QA person are listed
    await page.wait_for_selector("#calls-body tr[data-call='call-1']")
    # in the centre's zone (02:30 UTC is 10:30 in Shanghai), not the browser's (New York)
    assert "10:30" in await page.locator("#calls-body tr[data-call='call-1'] td").first.inner_text()
    assert not await page.is_checked("#f-mine")  # the first visit shows every call, not an empty "mine"
    assert await page.locator("#calls-body tr").count() == 5  # the only reviewer gets every sampled call
    row = page.locator("#calls-body tr[data-call='call-1']")
    assert "01:15" in await row.inner_text() and "待评" in await row.inner_text()
    await shot(page, "1-calls")

    await row.click()
    await page.wait_for_selector("#sc-start")
    await page.wait_for_function("document.getElementById('t-total').textContent === '01:15'")
    assert "保留" in await page.inner_text("#events") and "录音开始前" in await page.inner_text("#events")

    # opening the page fetches the waveform, not the audio: nothing to audit yet
    assert await _plays(server) == 0
    # play, then seek to 00:30 by clicking the waveform
    await page.click("#play")
    await page.wait_for_function("document.getElementById('audio').currentTime > 0.2", timeout=10_000)
    await page.click("#play")  # pause
    assert await _plays(server) == 1
    box = await page.locator("#wave").bounding_box()
    await page.mouse.click(box["x"] + box["width"] * 30 / 75, box["y"] + box["height"] / 2)
    t = await page.evaluate("document.getElementById('audio').currentTime")
    assert 29.5 <= t <= 30.5, t
    await page.wait_for_function("document.getElementById('t-now').textContent === '00:30'")
    # keyboard: right arrow skips 5 s
    await page.locator("#wave").focus()
    await page.keyboard.press("ArrowRight")
    t2 = await page.evaluate("document.getElementById('audio').currentTime")
    assert 34.5 <= t2 <= 35.5
    await page.keyboard.press("ArrowLeft")

    # annotate at 00:30
    assert await page.inner_text("#note-at") == "00:30"
    await page.fill("#note-text", "保留前未征得客户同意")
    await page.click("#note-add")
    await page.wait_for_selector("#notes li:has-text('保留前未征得客户同意')")
    assert "00:30" in await page.inner_text("#notes")
    # clicking an annotation jumps to its moment
    await page.keyboard.press("Home")
    assert await page.evaluate("document.getElementById('audio').currentTime") < 0.5
    await page.click("#notes li:has-text('保留前未征得客户同意')")
    assert 29.9 <= await page.evaluate("document.getElementById('audio').currentTime") <= 30.1
    # speed: ↑ steps up, and the select drives the audio element
    await page.keyboard.press("ArrowUp")
    assert await page.evaluate("document.getElementById('audio').playbackRate") == 1.25
    await page.select_option("#speed", "2")
    assert await page.evaluate("document.getElementById('audio').playbackRate") == 2
    await page.select_option("#speed", "0.5")
    assert await page.evaluate("document.getElementById('audio').playbackRate") == 0.5

    assert await _plays(server) == 1  # seeks and re-opens are the same session
    # score: full marks, then deduct on tone with a reason, and submit
    await page.click("#sc-start")
    await page.wait_for_selector("#sc-full")
    await page.click("#sc-full")
    await page.wait_for_function("document.getElementById('sc-total').textContent === '100'")
    tone = page.locator(".item[data-key='tone'] input.pts")
    await tone.fill("6")
    await page.locator(".item[data-key='tone'] input.why").fill("语速偏快，语气生硬")
    await page.locator(".item[data-key='hold'] input[data-f='na']").check()
    assert await page.inner_text("#sc-total") == "95.83"  # 92 / 96: tone lost 4, hold (4) N/A
    await page.fill("#sc-comment", "整体规范，注意语气。")
    await shot(page, "2-scoring")
    await page.click("#sc-submit")
    await page.wait_for_selector("#sc-status:has-text('已提交')")
    assert await page.inner_text("#sc-total") == "95.83"
    assert await page.locator(".item input.pts").count() == 0  # read-only now
    await shot(page, "3-submitted")

    # summaries page
    await page.click(".tabs a[data-tab='summary']")
    await page.wait_for_selector("#s-table td:has-text('王静')")
    await page.wait_for_selector("svg.trend")
    await shot(page, "4-summary")
    assert not errors, errors
    await ctx.close()

    # the agent sees it and acknowledges
    ctx = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = await ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await _login(page, server.url, "agent01")
    await page.wait_for_selector("#evals-body tr:has-text('95.83')")
    await shot(page, "5-agent-list")
    await page.locator("#evals-body tr").first.click()
    await page.wait_for_selector("#sc-ack")
    assert "语速偏快" in await page.inner_text("#scorecard")
    assert "保留前未征得客户同意" in await page.inner_text("#notes")
    await shot(page, "6-agent-evaluation")
    await page.fill("#sc-agent-comment", "收到，会注意语速。")
    await page.click("#sc-ack")
    await page.wait_for_selector("#sc-status:has-text('已确认')")
    assert "收到，会注意语速。" in await page.inner_text("#scorecard")
    await shot(page, "7-agent-acknowledged")
    await page.click("#lang-btn")
    await page.wait_for_selector("#sc-status:has-text('Acknowledged')")
    await shot(page, "8-agent-en")
    assert not errors, errors
    await ctx.close()


async def test_lead_resolves_a_dispute_with_a_revision(browser, server, shot):
    import httpx

    from callcenter.qa.scoring import DEFAULT_FORM, items

    answers = {i["key"]: ({"violated": False} if i["veto"] else {"score": i["weight"]}) for i in items(DEFAULT_FORM["definition"])}
    answers["promise"] = {"violated": True, "comment": "承诺当天上门维修"}
    async with httpx.AsyncClient(base_url=server.url) as c:
        await c.post("/api/auth/login", json={"username": "qa", "password": "demo-pass"})
        ev = (await c.post("/api/qa/calls/call-1/evaluations", json={})).json()
        await c.patch(f"/api/qa/evaluations/{ev['id']}", json={"answers": answers})
        assert (await c.post(f"/api/qa/evaluations/{ev['id']}/submit")).status_code == 200
    async with httpx.AsyncClient(base_url=server.url) as c:
        await c.post("/api/auth/login", json={"username": "agent01", "password": "demo-pass"})
        r = await c.post(f"/api/qa/evaluations/{ev['id']}/dispute", json={"comment": "系统显示当天有空档，承诺是按流程做的"})
        assert r.status_code == 200

    ctx = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await _login(page, server.url, "lead")
    await page.click(".tabs a[data-tab='evaluations']")
    await page.select_option("#e-status", "disputed")
    await page.wait_for_selector("#evals-body tr:has-text('申诉中')")
    await page.locator("#evals-body tr").first.click()
    await page.wait_for_selector("#sc-res-comment")
    assert await page.inner_text("#sc-total") == "0"
    assert "承诺是按流程做的" in await page.inner_text("#scorecard")
    await shot(page, "1-disputed")
    await page.fill("#sc-res-comment", "复听确认有排班，撤销致命项")
    await page.click("#sc-amended")
    await page.wait_for_selector("#sc-status:has-text('草稿')")
    assert "第 2 版" in await page.inner_text("#scorecard")
    await page.locator(".item[data-key='promise'] input[data-f='violated']").uncheck()
    await page.wait_for_function("document.getElementById('sc-total').textContent === '100'")
    page.on("dialog", lambda d: d.accept())
    await page.click("#sc-submit")
    await page.wait_for_selector("#sc-status:has-text('已提交')")
    await page.click(".history summary")
    history = await page.inner_text(".history")
    assert "v1" in history and "v2" in history and "resolve" in history
    await shot(page, "2-revised")
    await page.click("#theme-btn")
    await page.wait_for_function("document.documentElement.dataset.theme === 'dark'")
    await shot(page, "3-dark")
    assert not errors, errors
    await ctx.close()
