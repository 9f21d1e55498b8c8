"""The agent desktop in real Chromium against the real stack
(tests/realtime/stack.py LiveStack): the scripted Asterisk simulator, the
AMI bridge, the ACD core, the hub and the CRM.

An agent signs in and goes ready; is rung and sees the screen-pop with the
customer's name within 1 s of the AgentCalled event; answers (the wallboard
shows it); holds, resumes and hangs up from the desktop; submits a
disposition and is available again (the simulator sees the unpause)."""

from __future__ import annotations

import pytest

from ..realtime.stack import CUSTOMER_NUMBER, LiveStack, sign_in

pytestmark = pytest.mark.browser
ME = "PJSIP/8001"
# The queue rings a waiting caller's new member on its next retry (up to a few s after
# QueueAdd); the pop itself is timed from the AgentCalled event, not from here.
RING_WITHIN_MS = 10_000
ANSWER_AFTER = 2.5  # seconds of ringing before agent01's phone picks up: the pop is seen ringing

# A known caller waits in repairs from t=0 (never gives up) until agent01 signs in;
# the phone then rings and answers; the agent hangs up from the desktop.
KNOWN_CALLER = [
    {"at": 0, "phone": ME, "answer_after": ANSWER_AFTER, "miss_prob": 0},
    {"at": 0, "queue": "repairs", "caller": CUSTOMER_NUMBER, "name": "CHEN", "patience": None,
     "answer": [{"agent": ME, "after": ANSWER_AFTER}], "talk": 600, "hangup": "caller"},
]
UNKNOWN_CALLER = [
    {"at": 0, "phone": ME, "answer_after": 30, "miss_prob": 0},
    {"at": 0, "queue": "complaints", "caller": "02188886666", "patience": None,
     "answer": [{"agent": ME, "after": 30}], "talk": 600},
]


def ringing_since(stack: LiveStack) -> float:
    """The wire timestamp of the AgentCalled that rang me (the core's clock is the event's)."""
    view = stack.on_sim(stack.acd.core.agent_view, ME)
    if view["state"] == "ringing":
        return view["since"]
    return next(h["start"] for h in reversed(view["history"]) if h["state"] == "ringing")


async def test_agent_day(browser, tmp_path, db_url, shot):
    stack = LiveStack(tmp_path, KNOWN_CALLER, url=db_url)
    try:
        await agent_day(browser, stack, shot)
    finally:
        stack.stop()


async def agent_day(browser, stack: LiveStack, shot) -> None:  # noqa: ANN001
    ctx = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(page, stack.server.url, "agent01", "/desktop")
    await page.wait_for_selector("#skills input[value=complaints]")
    await page.wait_for_selector("#conn.hidden", state="attached")
    # The page notes (browser clock, same machine as the simulator) when the name shows.
    await page.evaluate("""() => new MutationObserver((_, obs) => {
        const n = document.getElementById('pop-customer-name');
        if (n && n.textContent.includes('陈建国')) { window.popSeenAt = Date.now() / 1000; obs.disconnect(); }
      }).observe(document.body, {subtree: true, childList: true, characterData: true})""")

    # a lead watches the wallboard in another browser
    lead_ctx = await browser.new_context(viewport={"width": 1920, "height": 1080})
    board = await lead_ctx.new_page()
    await sign_in(board, stack.server.url, "lead", "/wallboard")
    await board.locator(".tile[data-queue=repairs] [data-k=waiting]", has_text="1").wait_for()

    # sign in to my queues: QueueAdd to the simulator; the caller waiting rings me at once
    await page.click("#login-btn")
    await page.wait_for_selector("#pop-customer-name:has-text('陈建国')", timeout=RING_WITHIN_MS)
    members = stack.on_sim(lambda: {m.queue: (m.penalty, m.name) for m in stack.pbx.memberships(ME)})
    assert members == {"repairs": (0, "王静"), "complaints": (2, "王静")}
    await page.wait_for_function("window.popSeenAt")
    pop_s = await page.evaluate("window.popSeenAt") - ringing_since(stack)
    assert 0 <= pop_s < 1.0, pop_s
    assert await page.inner_text("#pop-number") == CUSTOMER_NUMBER
    assert "3-2-501" in await page.inner_text("#pop-customer")
    assert await page.inner_text("#pop-customer .badge.vip") == "VIP 大客户"
    assert "厨房漏水复查" in await page.inner_text("#pop-tickets")
    await page.wait_for_selector("#state[data-state=ringing]")
    await shot(page, "ringing-pop")

    # the phone answers: the desktop and the wallboard show it
    await page.wait_for_selector("#state[data-state=on_call]", timeout=ANSWER_AFTER * 1000 + 3000)
    await page.wait_for_selector("#pop-phase:has-text('通话中')")
    card = board.locator(f".agent[data-iface='{ME}'][data-state=on_call]")
    await card.wait_for()
    # the wallboard is on a screen in the room: the caller's number is masked
    text = await card.inner_text()
    assert "139****5678" in text and CUSTOMER_NUMBER not in text
    await shot(board, "wallboard-on-call")

    # call controls go through the gateway to the simulator and come back as events
    await page.select_option("#xfer-kind", "blind")
    await page.select_option("#xfer-to", "number")
    await page.fill("#xfer-target", "12;bad")
    await page.click("#xfer-btn")
    await page.wait_for_selector("#result.err:has-text('target')")
    await page.click("#hold-btn")
    await page.wait_for_selector("#result.ok:has-text('保持')")
    await page.wait_for_selector("#state[data-state=on_hold]")
    await board.locator(f".agent[data-iface='{ME}'][data-state=on_hold]").wait_for()
    await page.click("#unhold-btn")
    await page.wait_for_selector("#state[data-state=on_call]")
    await page.click("#hangup-btn")
    await page.wait_for_selector("#result.ok:has-text('挂断')")

    # wrap-up: the core pauses me in the simulator; ready is refused until a disposition and a note
    await page.wait_for_selector("#state[data-state=wrap_up]")
    await page.wait_for_selector("#pop-empty:not(.hidden)")
    await page.wait_for_selector("#wrap:not(.hidden)")
    countdown = await page.inner_text("#wrap-countdown")
    assert countdown in ("01:00", "00:59", "00:58"), countdown
    await page.click("#ready-btn")
    await page.wait_for_selector("#result.err:has-text('disposition')")
    await page.click("#wrap-submit")
    await page.wait_for_selector("#result.err")
    await page.select_option("#disposition", "resolved")
    await page.fill("#wrap-note", "已派单维修，明早上门")
    await shot(page, "wrap-up")
    await page.click("#wrap-submit")
    await page.wait_for_selector("#state[data-state=available]")
    await page.wait_for_selector("#wrap.hidden", state="attached")
    assert await page.inner_text("#st-handled") == "1"
    await board.locator(f".agent[data-iface='{ME}'][data-state=available]").wait_for()
    assert stack.on_sim(lambda: [m.paused for m in stack.pbx.memberships(ME)]) == [False, False]
    await shot(page, "available-again")

    # pause with a reason, then ready: QueuePause both ways
    await page.select_option("#pause-reason", "meal")
    await page.click("#pause-btn")
    await page.wait_for_selector("#state[data-state=paused]")
    assert await page.inner_text("#state-reason") == "就餐"
    assert stack.on_sim(lambda: {(m.paused, m.paused_reason) for m in stack.pbx.memberships(ME)}) == {(True, "meal")}
    await shot(page, "paused")
    await page.click("#ready-btn")
    await page.wait_for_selector("#state[data-state=available]")

    # English
    await page.click("#lang-btn")
    await page.wait_for_selector("#state:has-text('Available')")
    # Everything follows the switch, the last action's message and the role label too.
    assert await page.inner_text("#result") == "Ready: done"
    assert await page.inner_text("header.bar .who-role") == "Agent"
    await shot(page, "english")
    assert errors == []
    await ctx.close()
    await lead_ctx.close()


async def test_unknown_caller_is_created_in_place(browser, tmp_path, db_url, shot):
    stack = LiveStack(tmp_path, UNKNOWN_CALLER, url=db_url)
    try:
        page = await browser.new_page(viewport={"width": 1366, "height": 768})
        await sign_in(page, stack.server.url, "agent01", "/desktop")
        await page.wait_for_selector("#skills input[value=complaints]")  # my queues are loaded
        await page.wait_for_selector("#conn.hidden", state="attached")
        await page.click("#login-btn")
        await page.wait_for_selector("#result.ok:has-text('签入')")
        await page.wait_for_selector("#pop-customer-name:has-text('新客户')", timeout=RING_WITHIN_MS)
        await page.click("#pop-create")  # no name: refused in place
        await page.wait_for_selector("#result.err:has-text('姓名')")
        await page.fill("#new-name", "刘女士")
        await page.fill("#new-unit", "5-1-302")
        await shot(page, "new-customer")
        await page.click("#pop-create")
        await page.wait_for_selector("#pop-customer-name:has-text('刘女士')")
        assert "5-1-302" in await page.inner_text("#pop-customer")
        assert await page.inner_text("#pop-tickets") == "无"
        await shot(page, "new-customer-created")
        await page.close()
    finally:
        stack.stop()
