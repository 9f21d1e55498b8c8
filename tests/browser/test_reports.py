"""The report browser in real Chromium: the lead picks a period and sees
the chart (Apache ECharts from node_modules), the table with formulas as
tooltips, dispersion, abandons, the unreturned list, the scorecard and
staffing, in both languages; the print stylesheet hides the pickers.
Screenshots at 1920x1080 and 1366x768 (and print) in test-artifacts/."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callcenter.db import Database
from callcenter.reports.intervals import AGENT_SUMS, QUEUE_FIELDS
from callcenter.reports.service import seed_example
from callcenter.reports.store import write_facts

from ..conftest import make_settings, run_sync
from ..livesrv import LiveServer
from ..realtime.stack import _seed, sign_in

pytestmark = pytest.mark.browser
ZONE = ZoneInfo("Asia/Shanghai")


async def _history(url: str) -> None:
    """Five weeks of 08:00-20:00 traffic on both queues and two agents' time."""
    await _seed(url, customer=False)
    today = datetime.now(ZONE).date()
    rows = []
    for d in range(35, -1, -1):
        day = today - timedelta(days=d)
        for slot in range(16, 40):
            start = datetime.combine(day, datetime.min.time(), ZONE).timestamp() + slot * 1800
            for qn, (queue, scale) in enumerate((("repairs", 30), ("complaints", 12))):
                offered = round(scale * (1 + 0.6 * math.sin((slot - 16) / 24 * math.pi)) * (1 + 0.05 * ((d + qn) % 3)))
                ab = max(1, offered // 12)
                answered = offered - ab
                met = round(answered * (0.82 + 0.1 * ((slot + d) % 3) / 2))
                row = {"kind": "queue", "interval_start": int(start), "day": day.isoformat(), "key": queue, **dict.fromkeys(QUEUE_FIELDS, 0)}
                row.update(offered=offered, answered=answered, abandoned=ab, short_abandoned=ab // 3, abandoned_0_5=ab // 3, abandoned_30_60=ab - ab // 3,
                           sl_met=met, sl_counted=answered + ab - ab // 3, sl30_met=met + 1, sl30_counted=answered + ab - ab // 3,
                           answered_30=met + 1, wait_answered_s=answered * 14.0, handled=answered, talk_s=answered * 190.0,
                           hold_s=answered * 12.0, wrap_s=answered * 35.0, transfers=answered // 25, max_wait_s=75.0,
                           callbacks_requested=2, callbacks_made=3, callbacks_reached=2, callbacks_same_day=2, callback_delay_s=480.0)  # fmt: skip
                rows.append(row)
            for iface in ("PJSIP/8001", "PJSIP/8002"):
                a = {"kind": "agent", "interval_start": int(start), "day": day.isoformat(), "key": iface, **dict.fromkeys(AGENT_SUMS, 0)}
                a.update(logged_in_s=1800, available_s=300, talk_s=1100, hold_s=60, wrap_s=240, paused_s=100, handled=6, handled_inbound=6,
                         pause_s={"休息": 100.0})  # fmt: skip
                rows.append(a)
    db = Database(url)
    async with db.sessions() as s:
        await write_facts(s, rows)
        await seed_example(s)
        await s.commit()
    await db.dispose()


@pytest.fixture
def server(tmp_path):  # noqa: ANN001, ANN201
    url = f"sqlite+aiosqlite:///{tmp_path}/reports.db"
    run_sync(lambda: _history(url))
    srv = LiveServer(make_settings(database_url=url)).start()
    yield srv
    srv.stop()


async def test_report_browser(browser, server, shot):
    for width, height in ((1920, 1080), (1366, 768)):
        ctx = await browser.new_context(viewport={"width": width, "height": height})
        page = await ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await sign_in(page, server.url, "lead", "/reports")
        await page.wait_for_function("document.body && document.body.dataset.ready === '1'", timeout=15000)
        assert await page.evaluate("typeof echarts") == "object"
        assert await page.locator("#main-chart svg").count() == 1
        rows = page.locator("#report-table tbody tr")
        assert await rows.count() == 7 * 2 + 1  # seven days x two queues + total
        assert "共 14 行" in await page.locator("#page-info").inner_text()
        assert await page.locator("#page-next").is_disabled() and await page.locator("#page-prev").is_disabled()
        assert await page.locator("#report-table th[title^='接通率 =']").count() == 1
        # Queued callbacks: asked, made, reached, time to callback, cleared the same day (日结日清)
        assert await page.locator("#report-table th[title^='当日清零率']").count() == 1
        total = await page.locator("#report-table tbody tr.total").inner_text()
        assert "100.0%" in total and "240" in total  # every callback cleared the same day; 480 s / 2 reached
        assert "30秒接通率" in await page.locator("#sc-table").inner_text()
        assert await page.locator("#st-chart svg").count() == 1
        assert "可控" in await page.locator("#disp-figures").inner_text()  # CV under 0.16
        await shot(page, f"zh-{width}")
        if width == 1920:
            await page.click("#lang-btn")
            await page.wait_for_function("document.querySelector('#run-btn').textContent === 'Show'")
            assert "Answer rate" in await page.locator("#report-table thead").inner_text()
            assert "Cleared same day" in await page.locator("#report-table thead").inner_text()
            await page.wait_for_function("document.querySelector('#sc-table').textContent.includes('30-second answer rate')")
            await shot(page, "en-1920")
            # by agent, monthly: the lead's two agents
            await page.select_option("#p-by", "agent")
            await page.select_option("#p-level", "monthly")
            await page.click("#run-btn")
            await page.wait_for_function("document.querySelector('#report-table thead').textContent.includes('Occupancy')")
            body = await page.locator("#report-table tbody").inner_text()
            assert "王静" in body and "李伟" in body
            # pages: 30-minute rows of the week by queue (7 x 24 x 2 = 336), 100 a page
            await page.select_option("#p-by", "queue")
            await page.select_option("#p-level", "interval")
            await page.select_option("#page-size", "100")
            await page.click("#run-btn")
            info = page.locator("#page-info")
            await page.wait_for_function("document.querySelector('#page-info').textContent.startsWith('Rows 1–100 of 336')")
            assert await rows.count() == 100 + 1 and await page.locator("#page-prev").is_disabled()
            await page.click("#page-next")
            await page.wait_for_function("document.querySelector('#page-info').textContent.startsWith('Rows 101–200 of 336')")
            await page.click("#page-next")
            await page.click("#page-next")
            await page.wait_for_function("document.querySelector('#page-info').textContent.startsWith('Rows 301–336 of 336')")
            assert await rows.count() == 36 + 1 and await page.locator("#page-next").is_disabled()
            await page.click("#page-prev")
            await page.wait_for_function("document.querySelector('#page-info').textContent.startsWith('Rows 201–300 of 336')")
            assert "every row" in await info.inner_text()
            await shot(page, "en-pages")
            await page.click("#lang-btn")  # back to Chinese for the print shot
            await page.emulate_media(media="print")
            assert not await page.locator("#pickers").is_visible()
            assert await page.locator("#print-title").is_visible()
            await shot(page, "print")
            pdf = await page.pdf(format="A4", landscape=True)
            assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
        assert not errors, errors
        await ctx.close()
