"""Three real `callcenter serve` nodes on PostgreSQL + Redis and the
simulated PBX (issue 18): kill -9 the leader mid-traffic, and Redis away
for 10 s.  Call records are counted against the PBX's own ledger."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.cluster.harness import Cluster, WsClient

pytestmark = [pytest.mark.pg_only, pytest.mark.timeout(150)]

TOPICS_ADMIN = ["wallboard", "supervisor"]


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


async def until(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_kill_leader_mid_traffic(cluster_db, shared_redis, tmp_path):  # noqa: ANN001
    url, prefix = shared_redis
    c = Cluster(cluster_db, url, prefix, tmp_path, speed=10)
    try:
        await c.start()
        old = await c.wait_leader(10)
        clients = spread(c, list(range(c.n)))
        await until(lambda: all(x.snapshots >= len(x.topics) for x in clients), 10, "every client's snapshots")

        # An action taken on a follower reaches the leader's AMI link: a supervisor pauses agent 1.
        follower = next(n for n in c.nodes if n.index != old)
        iface = c.people[0][2]
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.post(
                f"{follower.url}/api/supervisor/agents/{c.user_ids[c.people[0][0]]}/pause",
                json={"reason": "break"},
                headers={"Authorization": f"Bearer {c.tokens['admin']}", "X-Request-Id": "pause-once-1"},
            )
        assert r.status_code == 200, r.text
        admin_far = next(x for x in clients if x.name == f"admin@{follower.index}")
        await until(lambda: (admin_far.last.get("supervisor") is not None), 2, "supervisor data")
        await c.sim(40)
        # The pause went through Asterisk: every node's supervisors see it from the stream.
        member = c.pbx.queues and any(m.paused for q in c.pbx.queues.values() for m in q.members.values() if m.interface == iface)
        assert member, "the pause sent on a follower did not reach the PBX"

        await c.sim(60)
        before = {x.name: sum(x.seq.values()) for x in clients}
        t0 = time.monotonic()
        c.kill(old)
        new = await c.wait_leader(10)
        failover = time.monotonic() - t0
        assert new != old
        assert failover < 5.0, f"a new leader served after {failover:.2f} s"

        # Clients of the dead node reconnect to a surviving one and resume (or get a snapshot).
        survivors = [n.index for n in c.nodes if n.alive]
        moved = [x for x in clients if x.node is not None and x.node.index == old]
        await until(lambda: all(not x.connected for x in moved), 5, "the dead node's sockets to close")
        for k, x in enumerate(moved):
            x.start(c.nodes[survivors[k % len(survivors)]])
        await c.sim(80)
        await until(lambda: all(sum(x.seq.values()) > before[x.name] for x in clients if x.topics == TOPICS_ADMIN), 10, "boards moving again")
        report = await c.finish()
        await asyncio.sleep(1.0)

        # Surviving clients saw an unbroken sequence, or an explicit resync (a snapshot of the new epoch).
        for x in clients:
            assert not x.breaks, f"{x.name}: {x.breaks[:5]}"
        stayed = [x for x in clients if x not in moved]
        assert all(x.snapshots > len(x.topics) for x in stayed), "the new leader's epoch must resync every surviving client"
        # Everyone converges to the same state: the boards on every surviving node agree.
        admins = [x for x in clients if x.topics == TOPICS_ADMIN]
        assert len({x.epoch for x in admins}) == 1
        for x in clients:
            await x.stop()
        assert report.made > 20, report.summary()
        assert not report.lost and not report.duplicated, report.summary() + "\n" + c.logs()[-6000:]
        assert not report.unknown, report.summary()
        # Talk times of calls that straddle the kill are the resync's estimates (issue 12's xfail tests): reported, not asserted.
        print(f"\nfailover {failover:.2f} s; {report.summary()}")
    finally:
        await c.close()
