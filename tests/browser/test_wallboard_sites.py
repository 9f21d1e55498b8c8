"""The wallboard's site picker in real Chromium, on a real centre of two
sites (issue 18): two simulated PBXs, `north` and `south`, one
`callcenter serve` node each (tests/cluster/harness.py), on one PostgreSQL
database and one Redis, CALLCENTER_CLUSTER_SITES=north,south.  The page on
north's node lists both sites (GET /api/realtime/sites); "whole centre"
shows every site's queues and agents, each named with its site (the
`centre` topic); one site shows only that site's; the choice is kept in the
address; in Chinese and in English, at 1920x1080 and 1366x768."""

from __future__ import annotations

import asyncio

import pytest

from tests.cluster.conftest import cluster_db, shared_redis  # noqa: F401 - fixtures
from tests.cluster.harness import Cluster

pytestmark = [pytest.mark.browser, pytest.mark.pg_only, pytest.mark.timeout(300)]
SPEED = 20.0
PASSWORD = "cluster-password"  # the harness's users'


async def _sign_in(page, base: str, next_path: str) -> None:  # noqa: ANN001
    await page.goto(f"{base}/login?next={next_path}")
    await page.fill("#username", "admin")
    await page.fill("#password", PASSWORD)
    await page.click("#submit")
    await page.wait_for_url(f"**{next_path}")


async def _board(page) -> dict[str, object]:  # noqa: ANN001
    """What the page shows: queue tiles (key, title) and agent cards (iface, name, sub line)."""
    return await page.evaluate(
        """() => ({
            tiles: [...document.querySelectorAll('#queues .tile')].map((t) => [t.dataset.queue, t.querySelector('h2 span').textContent]),
            agents: [...document.querySelectorAll('#agents .agent')].map((a) => [a.dataset.iface, a.querySelector('.name').textContent,
                                                                                 a.querySelector('.sub').textContent]),
        })"""
    )


async def _until(page, predicate, what: str, timeout: float = 60) -> dict[str, object]:  # noqa: ANN001
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        board = await _board(page)
        if predicate(board):
            return board
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {board}")
        await asyncio.sleep(0.1)


def _sites(tmp_path, url: str, prefix: str, db: str) -> tuple[Cluster, Cluster]:  # noqa: ANN001
    (tmp_path / "north").mkdir()
    (tmp_path / "south").mkdir()
    north = Cluster(db, url, prefix, tmp_path / "north", nodes=1, agents=6, speed=SPEED, pbx="north", sites="north,south")
    south = Cluster(db, url, prefix, tmp_path / "south", nodes=1, agents=4, speed=SPEED, seed=9, pbx="south",
                    sites="north,south", seed_db=False, queue_log="queue_log_south")  # fmt: skip
    return north, south


async def test_site_picker_whole_centre_and_one_site(browser, cluster_db, shared_redis, tmp_path, shot):  # noqa: ANN001, F811
    url, prefix = shared_redis
    north, south = _sites(tmp_path, url, prefix, cluster_db)
    try:
        await north._seed()  # one database: users once, then both sites start together
        north.seed_db = False
        await asyncio.gather(north.start(), south.start())
        assert north.pbx is not None and south.pbx is not None
        queues = {"north": set(north.pbx.queues), "south": set(south.pbx.queues)}
        ifaces = {"north": {p[2] for p in north.people}, "south": {p[2] for p in south.people}}
        names = {"north": {p[1] for p in north.people}, "south": {p[1] for p in south.people}}
        assert queues["north"] and queues["south"] and len(ifaces["north"]) != len(ifaces["south"])
        everything = {f"{s}/{q}" for s in queues for q in queues[s]}

        ctx = await browser.new_context(viewport={"width": 1920, "height": 1080})
        page = await ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        base = north.nodes[0].url
        await _sign_in(page, base, "/wallboard")
        picker = page.locator("#site")
        await picker.wait_for(state="visible")
        # The picker lists the whole centre, then every site (this node's first).
        options = await picker.locator("option").evaluate_all("(os) => os.map((o) => [o.value, o.textContent])")
        assert options == [["", "整个中心（全部站点）"], ["north", "north"], ["south", "south"]], options
        assert await picker.input_value() == ""

        # Whole centre: both sites' queues and agents, each named with its site.
        board = await _until(page, lambda b: {t[0] for t in b["tiles"]} == everything and len(b["agents"]) == len(ifaces["north"]) + len(ifaces["south"]),
                             "both sites on the whole centre's board")  # fmt: skip
        for key, title in board["tiles"]:
            pbx, q = key.split("/", 1)
            assert title == f"{pbx} · {q}", (key, title)
        for pbx in ("north", "south"):
            mine = [a for a in board["agents"] if a[2].startswith(pbx + " · ")]
            assert {a[0] for a in mine} == ifaces[pbx] and {a[1] for a in mine} == names[pbx], (pbx, board["agents"])
        await shot(page, "centre-zh-1920")

        # One site: only its queues and agents, no site in their names; kept in the address.
        await picker.select_option("south")
        board = await _until(page, lambda b: {t[0] for t in b["tiles"]} == queues["south"], "south's queues only")
        assert all(title == key for key, title in board["tiles"]), board["tiles"]
        assert {a[0] for a in board["agents"]} == ifaces["south"] and len(board["agents"]) == len(ifaces["south"]), board["agents"]
        assert {a[1] for a in board["agents"]} == names["south"]
        assert not any(a[2].startswith(("south", "north")) for a in board["agents"]), board["agents"]
        assert page.url.endswith("/wallboard?site=south"), page.url
        await shot(page, "south-zh-1920")
        await picker.select_option("north")
        board = await _until(page, lambda b: {t[0] for t in b["tiles"]} == queues["north"], "north's queues only")
        assert {a[0] for a in board["agents"]} == ifaces["north"] and len(board["agents"]) == len(ifaces["north"]), board["agents"]

        # The address brings the choice back (a board on the wall is a bookmark).
        await page.goto(f"{base}/wallboard?site=south")
        await picker.wait_for(state="visible")
        assert await picker.input_value() == "south"
        await _until(page, lambda b: {t[0] for t in b["tiles"]} == queues["south"] and len(b["agents"]) == len(ifaces["south"]), "south again")

        # English: the picker and the whole centre's board in the page's language.
        await page.click("#lang-btn")
        await page.wait_for_function("document.documentElement.lang === 'en'")
        await page.locator("#site option[value='']", has_text="Whole centre (all sites)").wait_for(state="attached")
        assert await picker.input_value() == "south"
        await picker.select_option("")
        assert page.url.endswith("/wallboard"), page.url
        board = await _until(page, lambda b: {t[0] for t in b["tiles"]} == everything and len(b["agents"]) == len(ifaces["north"]) + len(ifaces["south"]),
                             "both sites again, in English")  # fmt: skip
        assert all(title == "{} · {}".format(*key.split("/", 1)) for key, title in board["tiles"]), board["tiles"]
        states = ("Available", "Ringing", "On call", "On hold", "Wrap-up", "Paused")
        assert all(a[2].split(" · ")[0] in ("north", "south") and a[2].split(" · ")[1] in states for a in board["agents"]), board["agents"]
        assert await page.locator("h1").inner_text() == "Live wallboard"
        await shot(page, "centre-en-1920")

        # A smaller screen (a lead's laptop): the bar, the picker and the tiles still fit across.
        await page.set_viewport_size({"width": 1366, "height": 768})
        await page.wait_for_timeout(300)
        overflow = await page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 1366"
        box = await picker.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1366
        await shot(page, "centre-en-1366")
        await page.click("#lang-btn")
        await page.wait_for_function("document.documentElement.lang === 'zh-CN'")
        await picker.select_option("north")
        await _until(page, lambda b: {t[0] for t in b["tiles"]} == queues["north"], "north at 1366")
        await shot(page, "north-zh-1366")
        assert errors == [], errors
        await ctx.close()
    finally:
        await asyncio.gather(north.close(), south.close())
