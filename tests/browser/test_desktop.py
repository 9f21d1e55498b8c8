"""The agent desktop in real Chromium, against the live server with the
fake ACD core and gateway (tests/realtime/stack.py says what is faked).

An agent signs in and goes ready; is rung and sees the screen-pop with the
customer's name within 1 s; answers (the wallboard shows it); hangs up,
submits a disposition and is available again."""

from __future__ import annotations

import time

import pytest

from ..realtime.stack import CUSTOMER_NUMBER, Stack, sign_in

pytestmark = pytest.mark.browser
ME = "PJSIP/8001"


@pytest.fixture
def stack(tmp_path):  # noqa: ANN001, ANN201
    s = Stack(tmp_path)
    yield s
    s.stop()


async def test_agent_day(browser, stack, shot):
    ctx = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(page, stack.server.url, "agent01", "/desktop")
    await page.wait_for_selector("#skills input[value=complaints]")
    await page.wait_for_selector("#conn.hidden", state="attached")

    # sign in to my queues: QueueAdd with my penalties, then the state comes back live
    await page.click("#login-btn")
    await page.wait_for_selector("#state[data-state=available]")
    assert ("queue_add", "repairs", ME, "王静", 0) in stack.gateway.actions
    assert ("queue_add", "complaints", ME, "王静", 2) in stack.gateway.actions
    await page.wait_for_selector("#result.ok")

    # pause with a reason, then ready
    await page.select_option("#pause-reason", "meal")
    await page.click("#pause-btn")
    await page.wait_for_selector("#state[data-state=paused]")
    assert await page.inner_text("#state-reason") == "就餐"
    await shot(page, "paused")
    await page.click("#ready-btn")
    await page.wait_for_selector("#state[data-state=available]")

    # a lead watches the wallboard in another browser
    lead_ctx = await browser.new_context(viewport={"width": 1920, "height": 1080})
    board = await lead_ctx.new_page()
    await sign_in(board, stack.server.url, "lead", "/wallboard")
    await board.wait_for_selector(f".agent[data-iface='{ME}'][data-state=available]")

    # rung: the pop with the customer's name within 1 s
    stack.drive("caller_joined", "call-1", "repairs", CUSTOMER_NUMBER, "CHEN")
    t0 = time.monotonic()
    stack.drive("ring", ME, "call-1")
    await page.wait_for_selector("#pop-customer-name:has-text('陈建国')", timeout=1000)
    pop_s = time.monotonic() - t0
    assert pop_s < 1.0
    assert await page.inner_text("#pop-number") == CUSTOMER_NUMBER
    assert "3-2-501" in await page.inner_text("#pop-customer")
    assert "厨房漏水复查" in await page.inner_text("#pop-tickets")
    assert await page.locator("#pop-history li").count() == 5
    await page.wait_for_selector("#state[data-state=ringing]")
    await shot(page, "ringing-pop")
    assert stack.crm.lookups == [CUSTOMER_NUMBER]

    # answers: the desktop and the wallboard show it
    stack.drive("answer", ME, "call-1")
    await page.wait_for_selector("#state[data-state=on_call]")
    await page.wait_for_selector("#pop-phase:has-text('通话中')")
    card = board.locator(f".agent[data-iface='{ME}'][data-state=on_call]")
    await card.wait_for()
    assert CUSTOMER_NUMBER in await card.inner_text()
    await shot(board, "wallboard-on-call")

    # call controls go through the gateway and show their result
    await page.select_option("#xfer-kind", "blind")
    await page.select_option("#xfer-to", "number")
    await page.fill("#xfer-target", "12;bad")
    await page.click("#xfer-btn")
    await page.wait_for_selector("#result.err:has-text('target')")
    await page.click("#hold-btn")
    await page.wait_for_selector("#result.ok:has-text('保持')")
    channel = stack.acd.core.agent_view(ME)["call"]["channel"]
    assert stack.gateway.actions[-1] == ("hold", channel)
    await page.click("#hangup-btn")
    await page.wait_for_selector("#result.ok:has-text('挂断')")
    assert stack.gateway.actions[-1] == ("hangup", channel)
    stack.drive("hangup", ME, "call-1")  # Asterisk's hang-up reaches the core

    # wrap-up: ready is refused until a disposition and a note are given
    await page.wait_for_selector("#state[data-state=wrap_up]")
    await page.wait_for_selector("#pop-empty:not(.hidden)")
    await page.wait_for_selector("#wrap:not(.hidden)")
    countdown = await page.inner_text("#wrap-countdown")
    assert countdown in ("01:00", "00:59", "00:58")
    await page.click("#ready-btn")
    await page.wait_for_selector("#result.err:has-text('disposition')")
    await page.click("#wrap-submit")
    await page.wait_for_selector("#result.err")
    await page.select_option("#disposition", "resolved")
    await page.fill("#wrap-note", "已派单维修，明早上门")
    await shot(page, "wrap-up")
    await page.click("#wrap-submit")
    await page.wait_for_selector("#state[data-state=available]")
    assert stack.dispositions == [(ME, "resolved", "已派单维修，明早上门")]
    await page.wait_for_selector("#wrap.hidden", state="attached")
    assert await page.inner_text("#st-handled") == "1"
    await board.wait_for_selector(f".agent[data-iface='{ME}'][data-state=available]")
    await shot(page, "available-again")

    # English
    await page.click("#lang-btn")
    await page.wait_for_selector("#state:has-text('Available')")
    await shot(page, "english")
    assert errors == []
    await ctx.close()
    await lead_ctx.close()


async def test_unknown_caller_pops_as_new_customer(browser, stack, shot):
    page = await browser.new_page(viewport={"width": 1366, "height": 768})
    await sign_in(page, stack.server.url, "agent01", "/desktop")
    await page.wait_for_selector("#conn.hidden", state="attached")
    await page.click("#login-btn")
    await page.wait_for_selector("#state[data-state=available]")
    stack.drive("caller_joined", "call-9", "complaints", "02188886666", "")
    stack.drive("ring", ME, "call-9")
    await page.wait_for_selector("#pop-customer-name:has-text('新客户')", timeout=1000)
    await page.wait_for_selector("#pop-create")
    await shot(page, "new-customer")
    await page.close()
