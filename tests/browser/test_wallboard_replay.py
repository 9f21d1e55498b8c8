"""The wallboard's service level and abandon rate, as displayed, equal
`callcenter replay --json` of the simulator's own wire capture: the live
path (simulator -> bridge -> core -> hub -> page) and the offline one
(capture -> parser -> normaliser -> core) agree to the digit.

Real time, so the script is short: the SL threshold is 4 s and a short
abandon under 1 s (the same settings go to the replay); wrap-up is off so
the one agent takes the next call at once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ..realtime.stack import LiveStack, sign_in

pytestmark = pytest.mark.browser
AGENT = "PJSIP/8002"
SETTINGS = {"sl_threshold_s": 4, "short_abandon_s": 1, "wrap_up_s": 0}
SCRIPT = [
    {"at": 0, "phone": AGENT, "answer_after": 1, "miss_prob": 0},
    {"at": 0, "login": AGENT, "queue": "repairs", "name": "李伟", "wrapuptime": 0},
    # Calls start 3 s in: the bridge connects after the simulator starts, and
    # what happens before it connects is in neither the live core nor the capture.
    # answered after 1 s: within the threshold
    {"at": 3.2, "queue": "repairs", "caller": "13800000001", "answer": [{"agent": AGENT, "after": 1}], "talk": 1},
    # rings 5 s before the answer: over the threshold
    {"at": 5.5, "queue": "repairs", "caller": "13800000002", "answer": [{"agent": AGENT, "after": 5}], "talk": 1},
    # gives up after 0.5 s (a short abandon), and after 2 s (an abandon)
    {"at": 6.0, "queue": "repairs", "caller": "13800000003", "patience": 0.5},
    {"at": 6.2, "queue": "repairs", "caller": "13800000004", "patience": 2},
]


def pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.1f}%"


def replay(capture: Path, config: Path) -> dict:
    cli = Path(sys.executable).parent / "callcenter"
    out = subprocess.run([str(cli), "replay", str(capture), "--json", "--config", str(config)],
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


async def test_wallboard_figures_equal_replay_of_the_capture(browser, tmp_path, db_url, shot):
    stack = LiveStack(tmp_path, SCRIPT, url=db_url, record=True, queues={"repairs": SETTINGS})
    try:
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        await sign_in(page, stack.server.url, "lead", "/wallboard")
        tile = page.locator(".tile[data-queue=repairs]")
        await tile.wait_for()
        for _ in range(200):  # the script is over when the last call has left the simulator
            if stack.on_sim(lambda: stack.pbx.now - stack.pbx.started > 9 and not stack.pbx.calls):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the script did not finish")
        config = tmp_path / "sl.json"
        config.write_text(json.dumps({"queues": {"repairs": SETTINGS}}), encoding="utf-8")
        q = replay(stack.capture, config)["queues"]["repairs"]
        assert (q["offered"], q["answered"], q["abandoned"], q["short_abandoned"]) == (4, 2, 2, 1), q
        sl, ab = pct(q["service_level"]), pct(q["abandon_rate"])
        sl_box = tile.locator(".metric", has_text="服务水平").locator(".v")
        ab_box = tile.locator(".metric", has_text="放弃率").locator(".v")
        await page.wait_for_function(
            "([a, b, sl, ab]) => a.textContent === sl && b.textContent === ab",
            arg=[await sl_box.element_handle(), await ab_box.element_handle(), sl, ab], timeout=3000,
        )
        assert (await sl_box.inner_text(), await ab_box.inner_text()) == (sl, ab)
        await shot(page, "sl-equals-replay")
        await page.close()
    finally:
        stack.stop()
