"""One centre, two Asterisk servers (issue 18): a site each, one database
and one Redis.  Each site's calls are keyed by its PBX and counted against
its own simulator's ledger; the `centre` topic on either site's node shows
both sites' boards (queues and agents named per PBX), the `wallboard` topic
its own site only."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import httpx
import pytest

from callcenter.cluster.leader import asyncpg_dsn
from tests.cluster.harness import Cluster, WsClient

pytestmark = [pytest.mark.pg_only, pytest.mark.timeout(240)]


class CentreClient(WsClient):
    """Also remembers which sites each centre delta carried."""

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        self.delta_sites: dict[str, int] = {}

    def on(self, m: dict[str, Any]) -> None:
        super().on(m)
        if m.get("type") == "delta" and m.get("topic") == "centre":
            for pbx in m["data"]["sites"]:
                self.delta_sites[pbx] = self.delta_sites.get(pbx, 0) + 1


async def until(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_two_sites_one_centre(cluster_db, shared_redis, tmp_path):  # noqa: ANN001
    url, prefix = shared_redis
    (tmp_path / "north").mkdir()
    (tmp_path / "south").mkdir()
    common = {"nodes": 1, "agents": 4, "speed": 20.0, "sites": "north,south"}
    north = Cluster(cluster_db, url, prefix, tmp_path / "north", pbx="north", seed=5, **common)
    # The second site's Asterisk shares the database (no second seed) and writes its realtime queue_log
    # into a table of its own, which its leader's backfill reads (CALLCENTER_QUEUE_LOG_TABLE).
    south = Cluster(cluster_db, url, prefix, tmp_path / "south", pbx="south", seed=9, seed_db=False, queue_log="queue_log_south", **common)
    clients: list[CentreClient] = []
    try:
        await north._seed()  # the schema and the people, once for the centre
        north.seed_db = False
        conn = await asyncpg.connect(asyncpg_dsn(cluster_db))
        try:
            await conn.execute("CREATE TABLE queue_log_south (LIKE queue_log INCLUDING ALL)")
        finally:
            await conn.close()
        south.tokens, south.user_ids = north.tokens, north.user_ids
        await asyncio.gather(north.start(), south.start())
        admin = north.tokens["admin"]
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.get(f"{south.nodes[0].url}/api/realtime/sites", headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code == 200, r.text
        assert r.json() == {"sites": ["south", "north"], "local": "south", "centre": True}

        for c in (north, south):
            x = CentreClient(f"centre@{c.pbx_name}", admin, ["centre", "wallboard"])
            x.start(c.nodes[0])
            clients.append(x)
        ifaces = {p[2] for p in north.people}

        def both_sites(x: CentreClient) -> bool:
            sites = (x.last.get("centre") or {}).get("sites") or {}
            return all(sites.get(pbx, {}).get("ready") and ifaces <= set(sites[pbx].get("agents") or {}) for pbx in ("north", "south"))

        await until(lambda: all(both_sites(x) for x in clients), 30, "both sites' boards on both nodes")
        await north.sim(120)
        # Live: deltas of both sites reach the centre's clients on both nodes.
        await until(lambda: all(x.delta_sites.get("north") and x.delta_sites.get("south") for x in clients), 20, "deltas of both sites")
        for x in clients:
            sites = x.last["centre"]["sites"]
            assert set(sites) == {"north", "south"}
            assert {"enquiries", "repairs"} <= set(sites["north"]["queues"]) and {"enquiries", "repairs"} <= set(sites["south"]["queues"])
            assert not x.breaks, x.breaks
        # The wallboard topic stays the node's own site: the same interfaces, the one PBX's board.
        for x, c in zip(clients, (north, south), strict=True):
            assert set(x.last["wallboard"]["agents"]) == ifaces, c.pbx_name

        # Calls keyed by PBX: each site's records against its own simulator's ledger (a site's
        # backfill reads its own queue_log table: none of the other site's calls under its name).
        for c, (report, lost, doubled) in zip((north, south), await asyncio.gather(north.finish(), south.finish()), strict=True):
            assert report.made > 3, (c.pbx_name, report.summary())
            assert not lost and not doubled and not report.unknown, (c.pbx_name, lost, doubled, report.summary())
    finally:
        for x in clients:
            await x.stop()
        await south.close()
        await north.close()
