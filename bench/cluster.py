"""Cluster benchmark (issue 18): real `callcenter serve` nodes on PostgreSQL
+ Redis against the simulated PBX, many websocket clients spread over them.

    .venv/bin/python bench/cluster.py --clients 4500 --wallboards 500 --agents 300 --kills 20

Measures, for 3 nodes and then the same load on 1 node (embedded mode, no
Redis) for the ratio:

* events/s: stream entries the leader published per second (3 nodes) and
  deltas delivered to all clients per second;
* event-to-browser latency: probe agents (members of a queue with no
  traffic) are paused and unpaused on the PBX at a steady rate; each client
  follows one probe's agent topic and times the delta that shows the new
  state against the moment the PBX emitted the event (same process, same
  clock); p50 / p99 / max and the number missed;
* per-node CPU (utime + stime over the run, % of one core);
* failover: `--kills` times kill -9 the leader, time until another node
  leads with its AMI link up and resynced; p50 and max (the killed node is
  started again before the next kill).

The machine that produced docs/benchmarks.md has 2 cores shared by every
process here (nodes, PBX, clients, PostgreSQL, Redis).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sys

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]  # `python bench/cluster.py` (make bench) finds tests/

import redis.asyncio as aioredis  # noqa: E402

from tests.cluster.harness import Cluster, Node  # noqa: E402
from tests.conftest import pg_create_database, pg_drop_database  # noqa: E402

SHARED_REDIS = "redis://127.0.0.1:6379/0"
PROBE_QUEUE = "vip"  # in the simulator's queues, not in the traffic's loads


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


class Probe:
    """Flips probe agents' pause on the PBX; remembers when each flip was emitted."""

    def __init__(self, cluster: Cluster, n: int) -> None:
        self.cluster = cluster
        self.ifaces = [f"PJSIP/95{i:02d}" for i in range(n)]
        self.paused = dict.fromkeys(self.ifaces, False)
        self.sent: dict[tuple[str, bool], float] = {}
        self.flips = 0
        self.per_iface: dict[str, int] = {}

    def install(self) -> None:
        pbx = self.cluster.pbx
        assert pbx is not None
        for i, iface in enumerate(self.ifaces):
            pbx.add_member(PROBE_QUEUE, iface, f"probe{i}", 0)

    async def run(self, rate: float, seconds: float) -> None:
        pbx = self.cluster.pbx
        assert pbx is not None
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            iface = random.choice(self.ifaces)
            state = not self.paused[iface]
            self.paused[iface] = state
            self.sent[(iface, state)] = time.monotonic()
            pbx.pause(iface, state, "bench" if state else "")
            self.flips += 1
            self.per_iface[iface] = self.per_iface.get(iface, 0) + 1
            await asyncio.sleep(1 / rate)


class Client:
    def __init__(self, token: str, topic: str, probe: Probe) -> None:
        self.token = token
        self.topic = topic
        self.probe = probe
        self.lat: list[float] = []
        self.deltas = 0
        self.state: bool | None = None  # the probe's paused state as this client last saw it
        self.changes = 0
        self.error = ""
        self.node_index = -1

    async def run(self, node: Node) -> None:
        import websockets

        self.node_index = node.index
        try:
            async with websockets.connect(node.ws + f"?token={self.token}", open_timeout=60, max_size=None, ping_interval=None) as ws:
                await ws.send(json.dumps({"op": "subscribe", "topic": self.topic}))
                async for raw in ws:
                    now = time.monotonic()
                    m = json.loads(raw)
                    if m.get("type") != "delta":
                        continue
                    self.deltas += 1
                    if self.topic.startswith("agent:"):
                        agent = m["data"].get("agent")
                        if agent:
                            paused = agent.get("state") == "paused"
                            sent = self.probe.sent.get((self.topic[6:], paused))
                            if paused != self.state and sent is not None:
                                self.changes += 1
                                self.lat.append(now - sent)
                            self.state = paused
        except Exception as exc:  # noqa: BLE001 - counted as a failed client
            self.error = f"{type(exc).__name__}: {exc}"[:120]


async def measure(cluster: Cluster, args: argparse.Namespace, label: str) -> dict[str, Any]:
    probe = Probe(cluster, args.probes)
    probe.install()
    nodes = [n for n in cluster.nodes if n.alive]
    clients: list[Client] = []
    admin = cluster.tokens["admin"]
    for i in range(args.clients):
        clients.append(Client(admin, f"agent:{probe.ifaces[i % len(probe.ifaces)]}", probe))
    for _ in range(args.wallboards):
        clients.append(Client(admin, "wallboard", probe))
    tasks = []
    for k, c in enumerate(clients):
        tasks.append(asyncio.create_task(c.run(nodes[k % len(nodes)])))
        if k % 50 == 49:
            await asyncio.sleep(0.05)
    await asyncio.sleep(3)  # snapshots, then quiet
    for c in clients:
        c.changes, c.lat = 0, []
    ami_events = [0]

    def count(_msg: Any) -> None:
        ami_events[0] += 1

    cluster.pbx.sinks.append(count)  # every AMI event the PBX emits (what the leader's bridge reads)
    published0 = await stream_len(cluster)
    cpu0 = {n.index: cpu_s(n.proc.pid) for n in nodes}
    deltas0 = sum(c.deltas for c in clients)
    proc0 = time.process_time()
    t0 = time.monotonic()
    await probe.run(args.probe_rate, args.seconds)
    wall = time.monotonic() - t0
    bench_cpu = round(100 * (time.process_time() - proc0) / wall, 1)  # before the kills
    cpu = {n.index: round(100 * (cpu_s(n.proc.pid) - cpu0[n.index]) / wall, 1) for n in nodes}
    ami_per_s = ami_events[0] / wall
    cluster.pbx.sinks.remove(count)
    published1 = await stream_len(cluster)
    published = None if published0 is None or published1 is None else published1 - published0
    deltas = sum(c.deltas for c in clients) - deltas0
    await asyncio.sleep(5.0)  # late deltas are late, not missed: "missed" counts what never came
    lat = [x for c in clients for x in c.lat]
    leader = await cluster.leader()
    by_role = {
        "on_leader": [x for c in clients if c.node_index == leader for x in c.lat],
        "on_followers": [x for c in clients if c.node_index != leader for x in c.lat],
    }
    followers = [c for c in clients if c.topic.startswith("agent:")]
    failed = sum(1 for c in clients if c.error)  # before the kills, which drop the dead node's clients
    failover = None
    if args.kills and len(nodes) > 1:  # kill -9 the leader with every client connected and the traffic running
        failover = await failovers(cluster, args.kills)
    # Every probe flip should reach every client that follows that probe.
    expected = sum(probe.per_iface.get(c.topic[6:], 0) for c in followers)
    got = sum(c.changes for c in followers)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "label": label,
        "nodes": len(nodes),
        "clients": len(clients),
        "failed_clients": failed,
        "seconds": round(wall, 1),
        "ami_events_per_s": round(ami_per_s, 1),
        "stream_entries_per_s": round(published / wall, 1) if published is not None else None,
        "deltas_to_clients_per_s": round(deltas / wall, 1),
        "probe_flips": probe.flips,
        "latency_ms": {"p50": round(1000 * pct(lat, 0.5), 1), "p99": round(1000 * pct(lat, 0.99), 1), "max": round(1000 * max(lat or [float("nan")]), 1)},
        "latency_ms_by_role": {k: {"p50": round(1000 * pct(v, 0.5), 1), "p99": round(1000 * pct(v, 0.99), 1)} for k, v in by_role.items() if v},
        "bench_process_cpu_pct": bench_cpu,
        "missed": max(0, expected - got),
        "cpu_pct_per_node": cpu,
        **({"failover": failover} if failover else {}),
    }


async def stream_len(cluster: Cluster) -> int | None:
    if not cluster.redis_url:
        return None
    r = aioredis.from_url(cluster.redis_url)
    try:
        info = await r.xinfo_stream(f"{cluster.prefix}:default:events")
        return int(info["entries-added"])
    except Exception:  # noqa: BLE001
        return None
    finally:
        await r.aclose()


async def pg_activity(cluster: Cluster) -> list[str]:
    """What the bench database's connections are doing (a slow failover's why)."""
    import asyncpg

    from callcenter.cluster.leader import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(cluster.database_url.rsplit("/", 1)[0] + "/postgres"))
    try:
        rows = await conn.fetch(
            """SELECT state, coalesce(wait_event_type, '-') || ':' || coalesce(wait_event, '-') AS wait, count(*) AS n,
                      max(extract(epoch FROM now() - xact_start))::numeric(8, 2) AS xact_s, left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS q
               FROM pg_stat_activity WHERE datname = $1 GROUP BY 1, 2, 5 ORDER BY 3 DESC""",
            cluster.database_url.rsplit("/", 1)[1],
        )
        return [f"{r['n']:3d} {r['state']} {r['wait']} xact {r['xact_s']} s: {r['q']}" for r in rows]
    finally:
        await conn.close()


async def failovers(cluster: Cluster, kills: int) -> dict[str, Any]:
    """kill -9 the leader `kills` times; per kill: the time until another node
    leads (the lock taken, /readyz role leader) and until it serves (its AMI
    link up and resynced, /readyz answering within --probe-timeout)."""
    led, served, slow = [], [], []
    for _ in range(kills):
        old = await cluster.wait_leader(30)
        t0 = time.monotonic()
        cluster.kill(old)
        t_led = None
        deadline = t0 + 60
        while time.monotonic() < deadline:
            states = await asyncio.gather(*(cluster.cluster_state(n) for n in cluster.nodes if n.alive))
            now = time.monotonic() - t0
            if t_led is None and any(st and st.get("role") == "leader" for st in states):
                t_led = now
            if any(st and st.get("role") == "leader" and st.get("ami") for st in states):
                served.append(now)
                break
            if now > 3 and len(slow) < 3 and not any(x.startswith(f"kill {len(served) + 1}") for x in slow):
                slow.append(f"kill {len(served) + 1} at {now:.1f} s: " + " | ".join(await pg_activity(cluster)))
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"no leader 60 s after kill {len(served) + 1}")
        led.append(t_led if t_led is not None else served[-1])
        print(f"kill {len(served)}: node{old} killed; another node led after {led[-1]:.2f} s, served after {served[-1]:.2f} s", flush=True)
        node = cluster.spawn(old)  # back, as a follower
        cluster.nodes[old] = node
        await cluster.until_async(lambda node=node: cluster.healthy(node), 90, "respawned node")
        await asyncio.sleep(1.0)
    out: dict[str, Any] = {"n": len(served)}
    for name, xs in (("led_s", led), ("served_s", served)):
        out[name] = {"p50": round(statistics.median(xs), 2), "max": round(max(xs), 2)}
    if slow:
        out["slow"] = slow
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"cores": os.cpu_count(), "args": vars(args)}
    for nodes in args.nodes:
        redis_url = SHARED_REDIS if nodes > 1 else ""
        url = pg_create_database()
        tmp = Path(tempfile.mkdtemp(prefix="cc-bench-cluster-"))
        prefix = f"ccbench-{uuid.uuid4().hex[:8]}"
        env: dict[str, str] = {}
        c = Cluster(url, redis_url, prefix, tmp, nodes=nodes, agents=args.agents, speed=args.speed, env=env)
        c.probe_timeout = args.probe_timeout
        try:
            await c.start()
            result = await measure(c, args, f"{nodes} node(s)")
            out[f"{nodes}_nodes"] = result
            print(json.dumps(result, ensure_ascii=False), flush=True)
        finally:
            await c.close()
            pg_drop_database(url)
            if redis_url:
                from tests.cluster.conftest import drop_prefix

                await drop_prefix(redis_url, prefix)
    three, one = out.get(f"{max(args.nodes)}_nodes"), out.get("1_nodes")
    if three and one:
        out["ratio_p99_3_over_1"] = round(three["latency_ms"]["p99"] / one["latency_ms"]["p99"], 2)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=1000, help="agent-topic websocket clients (spread over the nodes)")
    p.add_argument("--wallboards", type=int, default=100, help="wallboard websocket clients")
    p.add_argument("--probes", type=int, default=50, help="probe agents whose pauses are timed")
    p.add_argument("--probe-rate", type=float, default=20.0, help="probe pause flips per second")
    p.add_argument("--agents", type=int, default=40, help="simulated agents taking calls (background traffic)")
    p.add_argument("--speed", type=float, default=20.0, help="the simulated PBX's clock speed-up (more calls per second)")
    p.add_argument("--seconds", type=float, default=20.0, help="measured seconds per run")
    p.add_argument("--nodes", type=lambda v: [int(x) for x in v.split(",")], default=[3, 1], help="runs: nodes per run (1 = embedded, no Redis), e.g. 3,1")
    p.add_argument("--probe-timeout", type=float, default=5.0, help="a node serves when its /readyz answers within this many seconds")
    p.add_argument("--kills", type=int, default=20, help="leader kills for the failover figures (0 = none)")
    args = p.parse_args()
    print(json.dumps(asyncio.run(run(args)), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
