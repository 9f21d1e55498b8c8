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
# queues.conf joinempty = unavailable,invalid: a queue nobody is signed in to
# refuses callers (JOINEMPTY), so a colleague on a break keeps each queue open.
ON_BREAK = "PJSIP/8019"
KNOWN_CALLER = [
    {"at": 0, "phone": ME, "answer_after": ANSWER_AFTER, "miss_prob": 0},
    {"at": 0, "login": ON_BREAK, "queue": "repairs", "name": "值班", "paused": True, "reason": "break"},
    {"at": 0, "queue": "repairs", "caller": CUSTOMER_NUMBER, "name": "CHEN", "patience": None,
     "answer": [{"agent": ME, "after": ANSWER_AFTER}], "talk": 600, "hangup": "caller"},
]
UNKNOWN_CALLER = [
    {"at": 0, "phone": ME, "answer_after": 30, "miss_prob": 0},
    {"at": 0, "login": ON_BREAK, "queue": "complaints", "name": "值班", "paused": True, "reason": "break"},
    {"at": 0, "queue": "complaints", "caller": "02188886666", "patience": None,
     "answer": [{"agent": ME, "after": 30}], "talk": 600},
]


def ringing_since(stack: LiveStack) -> float:
    """The wire timestamp of the AgentCalled that rang me (the core's clock is the event's)."""
    view = stack.on_sim(stack.acd.core.agent_view, ME)
    if view["state"] == "ringing":
        return view["since"]
    return next(h["start"] for h in reversed(view["history"]) if h["state"] == "ringing")


# The shipped dialplan's Queue(...,c): when the agent hangs up, the caller stays
# for the survey (real Asterisk captures answered_agent_hangup); the agent's
# handled call counts when their part ends, not when the caller leaves it.
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
    # while ringing, the call controls do not work yet: they are disabled, not a 409
    for button in ("#hold-btn", "#hangup-btn", "#xfer-btn", "#dial-btn", "#wrap-submit"):
        assert await page.is_disabled(button), button
    assert "报修" in await page.inner_text("#pop-route")  # the queue as people call it, not its code
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
    assert await page.is_disabled("#unhold-btn") and await page.is_disabled("#ready-btn")
    await page.keyboard.press("F6")  # the shortcut of the transfer button
    # the server's refusal, by its code, in the page's language
    await page.wait_for_selector("#result.err:has-text('号码只能包含数字')")
    await page.click("#hold-btn")
    await page.wait_for_selector("#result.ok:has-text('保持')")
    await page.wait_for_selector("#state[data-state=on_hold]")
    await board.locator(f".agent[data-iface='{ME}'][data-state=on_hold]").wait_for()
    assert await page.is_disabled("#hold-btn")
    await page.keyboard.press("F4")  # unhold
    await page.wait_for_selector("#state[data-state=on_call]")
    # a pause asked for during the call waits for the call to end, and says so
    await page.select_option("#pause-reason", "training")
    await page.click("#pause-btn")
    await page.wait_for_selector("#result.ok:has-text('通话结束后')")
    await page.wait_for_selector("#pause-pending:has-text('培训')")
    await page.click("#ready-btn")  # changed my mind: cancels the pending pause
    await page.wait_for_selector("#pause-pending.hidden", state="attached")
    await page.click("#hangup-btn")
    await page.wait_for_selector("#result.ok:has-text('挂断')")

    # wrap-up: the core pauses me in the simulator; the caller's card stays while I write the note;
    # ready does not work until a disposition and a note are in
    await page.wait_for_selector("#state[data-state=wrap_up]")
    await page.wait_for_selector("#pop-phase[data-phase=wrap_up]")
    assert await page.inner_text("#pop-customer-name") == "陈建国"
    assert await page.is_hidden("#pop-empty")
    await page.wait_for_selector("#wrap:not(.hidden)")
    countdown = await page.inner_text("#wrap-countdown")
    assert countdown in ("01:00", "00:59", "00:58"), countdown
    assert await page.is_disabled("#ready-btn")
    assert await page.input_value("#disposition") == ""
    await page.click("#wrap-submit")
    await page.wait_for_selector("#result.err")
    await page.select_option("#disposition", "resolved")
    await page.fill("#wrap-note", "已派单维修，明早上门")
    await shot(page, "wrap-up")
    await page.keyboard.press("Control+Enter")
    await page.wait_for_selector("#state[data-state=available]")
    await page.wait_for_selector("#wrap.hidden", state="attached")
    await page.wait_for_selector("#pop-empty:not(.hidden)")  # the card goes with the wrap-up
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

    # a refusal while paused: my queues are known, but a transfer without a call is not possible
    assert await page.is_disabled("#xfer-btn") and not await page.is_disabled("#dial-btn")
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


# Two calls for agent01 on a queue with a 4 s wrap-up: the first wrap-up runs
# out with a disposition chosen but never submitted; the second call's
# wrap-up starts blank; the first call is then on the list, flagged, and
# completed from there.
TWO_CALLS = [
    {"at": 0, "phone": ME, "answer_after": 1, "miss_prob": 0},
    {"at": 0, "login": ON_BREAK, "queue": "repairs", "name": "值班", "paused": True, "reason": "break"},
    {"at": 0, "queue": "repairs", "caller": CUSTOMER_NUMBER, "name": "CHEN", "patience": None,
     "answer": [{"agent": ME, "after": 1}], "talk": 3, "hangup": "caller"},
    {"at": 0, "queue": "repairs", "caller": "02188886666", "patience": None,
     "answer": [{"agent": ME, "after": 1}], "talk": 3, "hangup": "caller"},
]


async def test_wrap_up_timeout_flags_the_call_and_the_next_starts_blank(browser, tmp_path, db_url, shot):
    stack = LiveStack(tmp_path, TWO_CALLS, url=db_url, queues={"repairs": {"wrap_up_s": 4}})
    try:
        page = await browser.new_page(viewport={"width": 1366, "height": 768})
        await sign_in(page, stack.server.url, "agent01", "/desktop")
        await page.wait_for_selector("#skills input[value=complaints]")
        await page.wait_for_selector("#conn.hidden", state="attached")
        await page.uncheck("#skills input[value=complaints]")
        await page.keyboard.press("F9")  # sign in to repairs
        await page.wait_for_selector("#state[data-state=wrap_up]", timeout=RING_WITHIN_MS + 10_000)
        first = await page.inner_text("#pop-number")
        await page.select_option("#disposition", "ticket")
        await page.fill("#wrap-note", "half written")
        # the limit passes: the next call rings, is answered and ends; its wrap-up is blank
        await page.wait_for_function(f"document.getElementById('pop-number').textContent && document.getElementById('pop-number').textContent !== '{first}'", timeout=20_000)
        await page.wait_for_selector("#state[data-state=wrap_up]", timeout=15_000)
        assert await page.input_value("#disposition") == ""
        assert await page.input_value("#wrap-note") == ""
        await page.select_option("#disposition", "resolved")
        await page.fill("#wrap-note", "ok")
        await page.click("#wrap-submit")
        await page.wait_for_selector("#state[data-state=available]")
        # the first call is on my list without a disposition
        item = page.locator("#fu-list li")
        await item.first.wait_for(timeout=10_000)
        assert await item.count() == 1
        assert first in await item.inner_text() and "无处理结果" in await item.inner_text()
        await shot(page, "no-disposition")
        # ... and on my lead's
        lead = await lead_list(stack)
        assert [c["caller_number"] for c in lead] == [first]
        await order_for(stack, lead[0]["call_id"])  # "ticket" links a real order
        await item.locator(".fu-code").select_option("ticket")
        await item.locator(".fu-note").fill("已建工单")
        await item.locator(".fu-save").click()
        await page.wait_for_selector("#followups.hidden", state="attached")
        assert await lead_list(stack) == []
        await page.close()
    finally:
        stack.stop()


async def order_for(stack: LiveStack, call_id: str) -> None:
    """agent01 makes a work order from the call (as the desktop's form does)."""
    import httpx

    async with httpx.AsyncClient(base_url=stack.server.url, timeout=30) as c:
        r = await c.post("/api/auth/login", json={"username": "agent01", "password": "demo-password"})
        r = await c.post("/api/workorders", json={"kind": "repair", "subject": "漏水", "uniqueid": call_id},
                         headers={"Authorization": f"Bearer {r.json()['access_token']}"})
        assert r.status_code == 201, r.text


async def lead_list(stack: LiveStack) -> list[dict]:
    import httpx

    async with httpx.AsyncClient(base_url=stack.server.url) as c:
        r = await c.post("/api/auth/login", json={"username": "lead", "password": "demo-password"})
        r = await c.get("/api/acd/undisposed", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
        assert r.status_code == 200, r.text
        return r.json()["items"]


# A caller presses 9 for a callback while nobody is free (issue 16): when
# agent01 signs in, the queued callback is theirs; the desktop shows its card
# (the customer, "排队回电") while their phone rings for it.
QUEUED_CALLBACK = [
    {"at": 0, "phone": ME, "answer_after": 30, "miss_prob": 0},
    {"at": 0, "login": ON_BREAK, "queue": "repairs", "name": "值班", "paused": True, "reason": "break"},
    {"at": 0, "queue": "repairs", "caller": CUSTOMER_NUMBER, "name": "CHEN", "patience": None, "key": [1, "9"],
     "after_timeout": 2},
]


async def test_a_queued_callback_pops_as_a_callback(browser, tmp_path, db_url, shot):
    stack = LiveStack(tmp_path, QUEUED_CALLBACK, url=db_url)
    try:
        page = await browser.new_page(viewport={"width": 1366, "height": 768})
        await sign_in(page, stack.server.url, "agent01", "/desktop")
        await page.wait_for_selector("#skills input[value=repairs]")
        await page.wait_for_selector("#conn.hidden", state="attached")
        for _ in range(100):  # the caller has pressed 9 and left the queue
            if stack.on_sim(lambda: bool(stack.acd.core.qcallbacks.live)):
                break
            await page.wait_for_timeout(100)
        await page.click("#login-btn")
        await page.wait_for_selector("#pop-phase:has-text('排队回电')", timeout=RING_WITHIN_MS)
        assert CUSTOMER_NUMBER in await page.inner_text("#pop-number")
        await page.wait_for_selector("#pop-customer-name:has-text('陈建国')")
        await shot(page, "queued-callback")
        await page.close()
    finally:
        stack.stop()
