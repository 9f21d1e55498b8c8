"""Three real `callcenter serve` nodes on PostgreSQL + Redis and the
simulated PBX (issue 18): kill -9 the leader mid-traffic, and Redis away
for 10 s.  Call records are counted against the PBX's own ledger."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from tests.cluster.harness import Cluster, WsClient

pytestmark = [pytest.mark.pg_only, pytest.mark.timeout(300)]

TOPICS_ADMIN = ["wallboard", "supervisor", "centre"]
SPEED = 20.0


def spread(cluster: Cluster, alive: list[int]) -> list[WsClient]:
    """An admin (wallboard + supervisor) and two agents on each node."""
    clients = []
    for i in alive:
        node = cluster.nodes[i]
        admin = WsClient(f"admin@{i}", cluster.tokens["admin"], TOPICS_ADMIN)
        admin.start(node)
        clients.append(admin)
        for username, _name, iface, _skills in cluster.people[i * 2 : i * 2 + 2]:
            c = WsClient(f"{username}@{i}", cluster.tokens[username], [f"agent:{iface}"])
            c.start(node)
            clients.append(c)
    return clients


async def until(predicate, timeout: float, what: str, clients: list[WsClient] | None = None) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            state = "; ".join(f"{x.name}: connects {x.connects} snapshots {x.snapshots} deltas {x.deltas} up {x.connected} {x.error}" for x in clients or ())
            raise AssertionError(f"timed out waiting for {what} {state}")
        await asyncio.sleep(0.02)


def both_sites(x: WsClient, ifaces: set[str]) -> bool:
    """The client's centre board shows both sites, each with its agents."""
    sites = (x.last.get("centre") or {}).get("sites") or {}
    return all(sites.get(pbx, {}).get("ready") and ifaces <= set(sites[pbx].get("agents") or {}) for pbx in ("default", "south"))


async def test_leader_killed_then_redis_away(cluster_db, private_redis, tmp_path):  # noqa: ANN001
    """One centre of two sites (PBXs) on one database and its own
    redis-server, which the test stops: three nodes for the site "default"
    and one for "south", each with its simulated PBX.  Two faults: the
    default site's leader is killed with -9 mid-traffic, then Redis is away
    for 10 s.  Each site's calls are counted against its own PBX's ledger;
    the admins' centre boards (every node) show both sites throughout."""
    (tmp_path / "south").mkdir()
    c = Cluster(cluster_db, private_redis.url, "cctest", tmp_path, speed=SPEED, sites="default,south")
    # The second site shares the database (seeded once) and writes its realtime queue_log into a
    # table of its own, which its leader's backfill reads (CALLCENTER_QUEUE_LOG_TABLE).
    south = Cluster(cluster_db, private_redis.url, "cctest", tmp_path / "south", nodes=1, agents=4, speed=SPEED, seed=9,
                    pbx="south", sites="default,south", seed_db=False, queue_log="queue_log_south")  # fmt: skip
    try:
        await c._seed()
        c.seed_db = False  # south.start() makes its queue_log table, as `callcenter migrate` does with its settings
        south.tokens, south.user_ids = c.tokens, c.user_ids
        await asyncio.gather(c.start(), south.start())
        old = await c.wait_leader(10)
        clients = spread(c, list(range(c.n)))
        await until(lambda: all(x.snapshots >= len(x.topics) for x in clients), 20,
                    "every client's snapshots", clients)  # fmt: skip
        south_ifaces = {p[2] for p in south.people}
        admins = [x for x in clients if x.topics == TOPICS_ADMIN]
        t_sites = time.monotonic()
        await until(lambda: all(both_sites(x, south_ifaces) for x in admins), 60, "both sites on every node's centre board", clients)
        t_sites = time.monotonic() - t_sites
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.get(f"{south.nodes[0].url}/api/realtime/sites", headers={"Authorization": f"Bearer {c.tokens['admin']}"})
        assert r.status_code == 200 and r.json() == {"sites": ["south", "default"], "local": "south", "centre": True}, r.text

        # The centre's periodic jobs run on one node, a follower (the leader keeps its CPU for the PBX).
        leader, holders = await c.jobs_holders()
        assert len(holders) == 1 and holders[0] != leader, (leader, holders)

        # An action taken on a follower reaches the leader's AMI link: a supervisor pauses agent 1.
        follower = next(n for n in c.nodes if n.index != old)
        iface = c.people[0][2]
        async with httpx.AsyncClient(timeout=10) as http:
            for _ in range(2):  # the same request twice (a retry): acted on once
                r = await http.post(
                    f"{follower.url}/api/supervisor/agents/{c.user_ids[c.people[0][0]]}/pause",
                    json={"reason": "break"},
                    headers={"Authorization": f"Bearer {c.tokens['admin']}", "X-Request-Id": "pause-once-1"},
                )
                assert r.status_code == 200, r.text
        await c.sim(10)
        paused = [m for q in c.pbx.queues.values() for m in q.members.values() if m.interface == iface]
        assert paused and all(m.paused for m in paused), "the pause sent on a follower did not reach the PBX"
        admin_far = next(x for x in clients if x.name == f"admin@{follower.index}")
        await until(lambda: (admin_far.last.get("supervisor") or {}).get("agents", {}).get(iface, {}).get("state") == "paused"
                    or admin_far.deltas > 0, 5, "the pause on the follower's supervisor board")  # fmt: skip

        # 1. kill -9 the leader mid-traffic.
        await c.sim(30)
        marks = {"kill": c.pbx.now}
        t0 = time.monotonic()
        c.kill(old)
        new = await c.wait_leader(10)
        failover = time.monotonic() - t0
        assert new != old
        assert failover < 5.0, f"a new leader served after {failover:.2f} s"
        survivors = [n.index for n in c.nodes if n.alive]
        leader, holders = await c.jobs_holders()
        assert len(holders) == 1 and holders[0] in survivors and holders[0] != leader, (leader, holders, survivors)
        moved = [x for x in clients if x.node is not None and x.node.index == old]
        stayed = [x for x in clients if x not in moved]
        await until(lambda: all(not x.connected for x in moved), 5, "the dead node's sockets to close", clients)
        for k, x in enumerate(moved):
            x.start(c.nodes[survivors[k % len(survivors)]])  # resume with (epoch, seq) elsewhere
        await until(lambda: all(x.snapshots > len(x.topics) for x in stayed), 10, "every surviving client's resync", clients)
        await c.sim(30)
        assert len({x.epoch for x in admins}) == 1, [x.epoch for x in admins]

        # 2. Redis away for 10 s: the leader keeps tracking and writing; followers' clients resync after.
        on_followers = [x for x in clients if x.connected and x.node is not None and x.node.index != new]
        snaps = {x.name: x.snapshots for x in on_followers}
        marks["redis_down"] = c.pbx.now
        private_redis.kill()
        await asyncio.sleep(10)
        private_redis.start()
        marks["redis_up"] = c.pbx.now
        await until(lambda: all(x.snapshots > snaps[x.name] for x in on_followers), 15, "a resync on every follower's client", clients)
        await c.sim(10)
        (report, lost, doubled), (s_report, s_lost, s_doubled) = await asyncio.gather(c.finish(), south.finish())
        await asyncio.sleep(1.0)

        for x in clients:
            assert not x.breaks, f"{x.name}: unbroken sequence or an explicit resync, got {x.breaks[:5]}"
        assert all(x.connected for x in clients), [x.name for x in clients if not x.connected]
        # Every board, on every node, moved or not, converges to the same state. The last
        # wrap-ups end while the traffic winds down, and a delta through Redis to a follower's
        # client can take a second or more on a loaded box: converged within 15 s, not at one instant.
        deadline = time.monotonic() + 15
        while len(set(boards := [json.dumps(x.states(), sort_keys=True) for x in admins])) != 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert len(set(boards)) == 1, boards
        # The centre board (reloaded after each fault) shows both sites on every node, and live deltas of both came.
        assert all(both_sites(x, south_ifaces) for x in admins), [x.name for x in admins if not both_sites(x, south_ifaces)]
        assert all(x.centre_sites >= {"default", "south"} for x in admins), [(x.name, x.centre_sites) for x in admins]
        # Calls keyed by PBX: the second site's calls against its own ledger (none of one site's under the other's name).
        assert s_report.made > 3 and not s_lost and not s_doubled and not s_report.unknown, (s_lost, s_doubled, s_report.summary())
        for x in clients:
            await x.stop()
        print(f"\nboth sites on every board after {t_sites:.2f} s; failover {failover:.2f} s; lost {len(lost)}, doubled {len(doubled)}; compare: {report.summary()}")
        assert report.made > 20, report.summary()
        assert not lost and not doubled and not report.unknown, (
            f"lost {lost}, doubled {doubled}; {report.summary()}\nfault marks (PBX time) {marks}\n"
            + str(await c.rows_of([v.uniqueid for v in report.lost]))
        )
        # Talk times of calls that straddle the kill are the resync's estimates (issue 12's xfail tests): reported, not asserted.
    finally:
        await asyncio.gather(c.close(), south.close())
