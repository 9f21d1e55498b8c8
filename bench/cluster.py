"""Cluster benchmark (issue 18): real `callcenter serve` nodes on PostgreSQL
+ Redis against the simulated PBX, many websocket clients spread over them.

    .venv/bin/python bench/cluster.py --clients 4500 --wallboards 500 --agents 100 --seconds 20 --kills 0 --trace --nodes 3,1

Measures, for 3 nodes and then the same load on 1 node (embedded mode, no
Redis) for the ratio:

* events/s: stream entries the leader published per second (3 nodes) and
  deltas delivered to all clients per second;
* event-to-browser latency: probe agents (members of a queue with no
  traffic) are paused and unpaused on the PBX at a steady rate; each client
  follows one probe's agent topic and times the delta that shows the new
  state against the moment the PBX emitted the event; p50 / p99 / max and
  the number missed.  The clients run in worker processes of their own
  (bench/cluster_clients.py; time.monotonic is one clock for every process
  on Linux), the PBX in this one; the window starts once every client has
  its snapshot; they speak the protocol on bare sockets and run
  SCHED_BATCH (`--client-sched`), so that they cost and preempt the nodes
  about as little as browsers on other machines would;
* `--trace`: the nodes mark each probe delta's stages (AMI read, hub,
  stream write, stream read, websocket send: callcenter.realtime.trace) and
  the work that held their loops; printed as ms after the PBX emitted it;
* per-node CPU (utime + stime over the run, % of one core), how long each
  node's loop thread waited for a CPU (schedstat), and PostgreSQL's and
  Redis's CPU;
* failover: `--kills` times kill -9 the leader, time until another node
  leads with its AMI link up and resynced; p50 and max (the killed node is
  started again before the next kill).

The machine that produced docs/benchmarks.md has 2 cores shared by every
process here (nodes, PBX, client workers, PostgreSQL, Redis).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
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

from tests.cluster.harness import Cluster  # noqa: E402
from tests.conftest import pg_create_database, pg_drop_database  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from cluster_clients import Workers  # noqa: E402

SHARED_REDIS = "redis://127.0.0.1:6379/0"
PROBE_QUEUE = "vip"  # in the simulator's queues, not in the traffic's loads


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_name(names: tuple[str, ...] = ("postgres", "redis-server")) -> dict[str, float]:
    """CPU seconds so far of every process with one of these names (the shared PostgreSQL and Redis)."""
    out = dict.fromkeys(names, 0.0)
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/comm") as f:
                comm = f.read().strip()
            if comm in out:
                out[comm] += cpu_s(int(d))
        except OSError:
            continue  # gone meanwhile
    return out


def runq_s(pid: int) -> float:
    """Seconds the process's main thread (its event loop) waited on a run queue for a CPU (schedstat)."""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[1]) / 1e9


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
        self.times: dict[tuple[str, bool], list[float]] = {}  # (iface, paused) -> when each such flip was emitted
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
            self.times.setdefault((iface, state), []).append(time.monotonic())
            pbx.pause(iface, state, "bench" if state else "")
            self.flips += 1
            self.per_iface[iface] = self.per_iface.get(iface, 0) + 1
            await asyncio.sleep(1 / rate)


def emitted(probe: Probe, iface: str, paused: bool, received: float) -> float | None:
    """When the PBX emitted the last flip of `iface` to `paused` before `received`."""
    times = probe.times.get((iface, paused), [])
    i = bisect.bisect_right(times, received)
    return times[i - 1] if i else None


async def measure(cluster: Cluster, args: argparse.Namespace, label: str) -> dict[str, Any]:
    probe = Probe(cluster, args.probes)
    probe.install()
    nodes = [n for n in cluster.nodes if n.alive]
    admin = cluster.tokens["admin"]
    topics = [f"agent:{probe.ifaces[i % len(probe.ifaces)]}" for i in range(args.clients)] + ["wallboard"] * args.wallboards
    specs = [(admin, t, nodes[k % len(nodes)].ws, nodes[k % len(nodes)].index) for k, t in enumerate(topics)]
    n_workers = args.workers or max(1, min(4, -(-len(specs) // 1250)))
    workers = Workers(specs, n_workers, batch=args.client_sched == "batch")
    await workers.started()
    t_connect = time.monotonic()
    deadline = t_connect + 60 + len(specs) / 20
    while sum(await workers.ask("ready")) < len(specs) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)  # every client connected and has its snapshot ...
    ready_s = round(time.monotonic() - t_connect, 1)
    not_ready = len(specs) - sum(await workers.ask("ready"))
    await asyncio.sleep(2)  # ... then quiet
    await workers.ask("reset")
    lag = LoopLag()
    lag.start()
    ami_events = [0]

    def count(_msg: Any) -> None:
        ami_events[0] += 1

    cluster.pbx.sinks.append(count)  # every AMI event the PBX emits (what the leader's bridge reads)
    published0 = await stream_len(cluster)
    cpu0 = {n.index: cpu_s(n.proc.pid) for n in nodes}
    runq0 = {n.index: runq_s(n.proc.pid) for n in nodes}
    services0 = cpu_by_name()
    deltas0 = sum(await workers.ask("deltas"))
    sizes0 = await workers.ask("bytes")
    proc0 = time.process_time()
    wcpu0 = workers.cpu_s()
    t0 = time.monotonic()
    print(f"{label}: {len(specs)} clients connected in {ready_s} s; measuring {args.seconds} s", file=sys.stderr, flush=True)
    await probe.run(args.probe_rate, args.seconds)
    wall = time.monotonic() - t0
    lag.stop()
    bench_cpu = round(100 * (time.process_time() - proc0) / wall, 1)  # before the kills
    workers_cpu = round(100 * (workers.cpu_s() - wcpu0) / wall, 1)
    cpu = {n.index: round(100 * (cpu_s(n.proc.pid) - cpu0[n.index]) / wall, 1) for n in nodes}
    runq = {n.index: round(100 * (runq_s(n.proc.pid) - runq0[n.index]) / wall, 1) for n in nodes}
    services = {k: round(100 * (v - services0[k]) / wall, 1) for k, v in cpu_by_name().items()}
    ami_per_s = ami_events[0] / wall
    cluster.pbx.sinks.remove(count)
    published1 = await stream_len(cluster)
    published = None if published0 is None or published1 is None else published1 - published0
    deltas = sum(await workers.ask("deltas")) - deltas0
    sizes = await workers.ask("bytes")
    delta_kb_per_s = {
        "agent": round((sum(a for a, _ in sizes) - sum(a for a, _ in sizes0)) / wall / 1024),
        "wallboard": round((sum(w for _, w in sizes) - sum(w for _, w in sizes0)) / wall / 1024),
    }
    wlags = [x for xs in await workers.ask("lags") for x in xs]
    await asyncio.sleep(5.0)  # late deltas are late, not missed: "missed" counts what never came
    reports = [r for rs in await workers.ask("report") for r in rs]
    leader = await cluster.wait_leader(30)
    lat: list[float] = []
    by_role: dict[str, list[float]] = {"on_leader": [], "on_followers": []}
    samples: list[tuple[str, int, float, float]] = []
    got = expected = failed = 0
    for topic, node_index, changes, error, ready in reports:
        failed += bool(error)  # before the kills, which drop the dead node's clients
        if not topic.startswith("agent:") or not ready:
            continue  # "missed" is counted on clients that had their snapshot (not_connected: the others)
        iface = topic[6:]
        expected += probe.per_iface.get(iface, 0)  # every flip of its probe should reach the client
        for seq, paused, received in changes:
            sent = emitted(probe, iface, paused, received)
            if sent is None or sent < t0:
                continue
            got += 1
            lat.append(received - sent)
            by_role["on_leader" if node_index == leader else "on_followers"].append(received - sent)
            samples.append((topic, seq, sent, received))
    failover = None
    if args.kills and len(nodes) > 1:  # kill -9 the leader with every client connected and the traffic running
        failover = await failovers(cluster, args.kills, args.wait_warm)
    await workers.close()
    cluster.trace_samples = samples  # type: ignore[attr-defined]
    cluster.trace_window = (t0, t0 + wall)  # type: ignore[attr-defined]
    cluster.trace_pids = {n.proc.pid: ("leader" if n.index == leader else f"follower{n.index}") for n in nodes}  # type: ignore[attr-defined]
    return {
        "label": label,
        "nodes": len(nodes),
        "clients": len(specs),
        "client_workers": n_workers,
        "failed_clients": failed,
        "connected_in_s": ready_s,
        "not_connected": not_ready,
        "seconds": round(wall, 1),
        "ami_events_per_s": round(ami_per_s, 1),
        "stream_entries_per_s": round(published / wall, 1) if published is not None else None,
        "deltas_to_clients_per_s": round(deltas / wall, 1),
        "delta_kib_to_clients_per_s": delta_kb_per_s,  # what the nodes wrote to websockets in the window
        "probe_flips": probe.flips,
        "latency_ms": {"p50": round(1000 * pct(lat, 0.5), 1), "p99": round(1000 * pct(lat, 0.99), 1), "max": round(1000 * max(lat or [float("nan")]), 1)},
        "latency_ms_by_role": {k: {"p50": round(1000 * pct(v, 0.5), 1), "p99": round(1000 * pct(v, 0.99), 1)} for k, v in by_role.items() if v},
        "bench_process_cpu_pct": bench_cpu,
        "client_workers_cpu_pct": workers_cpu,
        "bench_loop_lag_ms": lag.summary(),
        "client_workers_loop_lag_ms": {"p50": round(1000 * pct(wlags, 0.5), 1), "p99": round(1000 * pct(wlags, 0.99), 1), "max": round(1000 * max(wlags or [0.0]), 1)},
        "missed": max(0, expected - got),
        "cpu_pct_per_node": cpu,
        "runq_wait_pct_per_node": runq,
        "services_cpu_pct": services,  # PostgreSQL (every backend, other databases' too) and Redis  # % of the window each node's loop thread was runnable but had no CPU
        **({"failover": failover} if failover else {}),
    }


class LoopLag:
    """How late this process's event loop wakes (the clients' own delay)."""

    def __init__(self, every: float = 0.01) -> None:
        self.every = every
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            t = time.monotonic()
            await asyncio.sleep(self.every)
            self.lags.append(time.monotonic() - t - self.every)

    def summary(self) -> dict[str, float]:
        return {"p50": round(1000 * pct(self.lags, 0.5), 1), "p99": round(1000 * pct(self.lags, 0.99), 1), "max": round(1000 * max(self.lags or [0.0]), 1)}


def stages(trace_base: str, samples: list[tuple[str, int, float, float]], pids: dict[int, str], window: tuple[float, float]) -> dict[str, Any]:
    """Join the nodes' stage marks (callcenter.realtime.trace) with the
    clients' samples: per stage, how long after the PBX emitted it the delta
    got there (p50 / p99 ms).  send_first / send_last: the first and the
    last websocket send of that delta on any node."""
    marks: dict[tuple[str, int], dict[str, float]] = {}  # (topic, seq) -> stage@role -> first time
    ami: dict[str, list[float]] = {}
    spans: dict[str, list[float]] = {}
    timeline: list[tuple[float, float, str]] = []  # (end, ms, name@role) of every span >= 10 ms, for the worst flips
    census: dict[str, dict[str, int]] = {}
    for path in Path(trace_base).parent.glob(Path(trace_base).name + ".*"):
        role = pids.get(int(path.suffix[1:]), "?")
        for line in path.read_text().splitlines():
            stage, rest = line.split(" ", 1)
            topic, seq, t = rest.rsplit(" ", 2)
            if stage == "census":  # CALLCENTER_TRACE_CENSUS=1: what a node's full collection walked, by type
                census.setdefault(role, {})[topic] = int(seq)
                continue
            if stage == "stack":  # where a stalled loop's thread was (innermost frame first)
                timeline.append((float(t), 0.0, f"stack@{role} {seq}ms late: {topic}"))
                continue
            if stage == "span":  # synchronous work that held a node's loop: name, ms
                if float(seq) >= 10:
                    timeline.append((float(t), float(seq), f"{topic}@{role}"))
                if not window[0] <= float(t) <= window[1]:
                    continue
                spans.setdefault(f"{topic}@{role}", []).append(float(seq))
                continue
            if stage == "ami":
                ami.setdefault(topic, []).append(float(t))
                continue
            m = marks.setdefault((topic, int(seq)), {})
            if stage == "send1":
                m["send_first"] = min(m.get("send_first", 1e18), float(t))
                m["send_last"] = max(m.get("send_last", 0.0), float(t))
            elif stage != "send0":
                m.setdefault(f"{stage}@{role}", float(t))
    out: dict[str, list[float]] = {}
    for topic, seq, sent, got in samples:
        for st, t in marks.get((topic, seq), {}).items():
            out.setdefault(st, []).append(t - sent)
        reads = [t for t in ami.get(topic, ()) if t >= sent]
        if reads:
            out.setdefault("ami@leader", []).append(min(reads) - sent)
        out.setdefault("client", []).append(got - sent)
    res: dict[str, Any] = {k: {"n": len(v), "p50": round(1000 * pct(v, 0.5), 1), "p99": round(1000 * pct(v, 0.99), 1)} for k, v in sorted(out.items())}
    for k, v in sorted(spans.items()):  # only those >= 2 ms are marked
        res["loop_held_ms " + k] = {"n>=2ms": len(v), "p50": round(pct(v, 0.5), 1), "max": round(max(v), 1), "total_ms": round(sum(v))}
    for role, types in sorted(census.items()):
        res["gc_census " + role] = types
    # The slowest flips: each stage (ms after emit) and the spans >= 10 ms that overlapped it.
    flips: dict[tuple[str, int], tuple[float, float]] = {}
    for topic, seq, sent, got in samples:
        flips[(topic, seq)] = (sent, max(got, flips.get((topic, seq), (0.0, 0.0))[1]))
    worst = []
    for (topic, seq), (sent, got) in sorted(flips.items(), key=lambda kv: kv[1][0] - kv[1][1])[:8]:
        st = {k: round(1000 * (t - sent), 1) for k, t in sorted(marks.get((topic, seq), {}).items(), key=lambda kv: kv[1])}
        held = [f"{name} {ms:.0f}ms @{1000 * (end - sent):.0f}" for end, ms, name in sorted(timeline) if end >= sent and end - ms / 1000 <= got]
        worst.append({"flip": f"{topic}#{seq}", "client_ms": round(1000 * (got - sent), 1), "stages": st, "spans": held})
    res["worst_flips"] = worst
    stacks: dict[str, int] = {}
    for end, _ms, name in timeline:
        if name.startswith("stack@") and window[0] <= end <= window[1]:
            key = name.split(" ", 1)[0] + " " + name.split(": ", 1)[1]
            stacks[key] = stacks.get(key, 0) + 1
    res["stall_stacks"] = dict(sorted(stacks.items(), key=lambda kv: -kv[1])[:15])
    return res


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


async def warm(cluster: Cluster, node: Any) -> bool:
    st = await cluster.cluster_state(node)
    return bool(st and (st.get("warm") or st.get("role") == "leader"))


async def failovers(cluster: Cluster, kills: int, wait_warm: bool = False) -> dict[str, Any]:
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
        if wait_warm:  # a standby again (today's calls restored ahead) before the next kill, as a replaced node would be
            await cluster.until_async(lambda node=node: warm(cluster, node), 300, "respawned node warm")
        await asyncio.sleep(1.0)
    out: dict[str, Any] = {"n": len(served)}
    for name, xs in (("led_s", led), ("served_s", served)):
        out[name] = {"p50": round(statistics.median(xs), 2), "max": round(max(xs), 2)}
    if slow:
        out["slow"] = slow
    return out


async def seed_today(url: str, calls: int, cluster: Cluster) -> float:
    """`calls` finished calls (and 2 agent intervals each) earlier today, as a
    busy centre has by the afternoon: what a full reload reads on promotion."""
    from datetime import UTC, datetime

    from callcenter.acd.days import DayClock
    from callcenter.acd.models import AgentInterval, CallKind, CallRecord, Outcome
    from callcenter.db import Database
    from callcenter.migrate import upgrade

    t0 = time.monotonic()
    await asyncio.to_thread(upgrade, url)
    now = time.time()
    days = DayClock("Asia/Shanghai")  # the nodes' default zone
    start = max(days.start(days.day_of(now)), now - 8 * 3600)
    rng = random.Random(7)
    agents = [iface for _u, _n, iface, _s in cluster.people]
    queues = [q.queue for q in cluster.model.loads] if hasattr(cluster.model, "loads") else ["enquiries", "repairs", "complaints"]
    dt = lambda ts: datetime.fromtimestamp(ts, UTC)  # noqa: E731
    db = Database(url)
    try:
        for lo in range(0, calls, 5000):
            recs, ivs = [], []
            for i in range(lo, min(calls, lo + 5000)):
                entered = start + (now - 300 - start) * i / calls
                wait = rng.uniform(1, 60)
                answered = rng.random() < 0.9
                agent = rng.choice(agents) if answered else None
                talk = rng.uniform(30, 300) if answered else 0.0
                end = entered + wait + talk
                recs.append({
                    "pbx": "default", "call_id": f"seed-{i}", "uniqueid": f"seed-{i}", "linkedid": f"seed-{i}", "kind": CallKind.queue,
                    "direction": "inbound", "source": "live", "queue": rng.choice(queues), "caller_number": f"138{i:08d}", "caller_name": "",
                    "callee_number": "", "entered_at": dt(entered), "answered_at": dt(entered + wait) if answered else None, "ended_at": dt(end),
                    "wait_s": wait, "sl_wait_s": int(wait), "talk_s": talk, "hold_s": 0.0, "wrap_up_s": 10.0 if answered else 0.0,
                    "agent": agent, "agent_name": agent or "", "outcome": Outcome.answered if answered else Outcome.abandoned,
                    "short_abandon": False, "priority": 0, "disposition_note": "", "legs": [], "timeline": [],
                })  # fmt: skip
                if agent:
                    ivs.append({"pbx": "default", "interface": agent, "state": "on_call", "reason": "", "started_at": dt(entered + wait),
                                "ended_at": dt(end), "duration_s": talk, "call_id": f"seed-{i}"})  # fmt: skip
                    ivs.append({"pbx": "default", "interface": agent, "state": "wrap_up", "reason": "", "started_at": dt(end),
                                "ended_at": dt(end + 10), "duration_s": 10.0, "call_id": f"seed-{i}"})  # fmt: skip
            async with db.sessions() as s:
                from sqlalchemy import insert

                await s.execute(insert(CallRecord.__table__), recs)
                if ivs:
                    await s.execute(insert(AgentInterval.__table__), ivs)
                await s.commit()
    finally:
        await db.dispose()
    return round(time.monotonic() - t0, 1)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"cores": os.cpu_count(), "args": vars(args)}
    for nodes in args.nodes:
        redis_url = SHARED_REDIS if nodes > 1 else ""
        url = pg_create_database()
        tmp = Path(tempfile.mkdtemp(prefix="cc-bench-cluster-"))
        prefix = f"ccbench-{uuid.uuid4().hex[:8]}"
        # The production defaults (config.py), not the test harness's faster ones.
        env: dict[str, str] = {"CALLCENTER_CLUSTER_SNAPSHOT_S": str(args.snapshot_s), "CALLCENTER_CLUSTER_ELECTION_S": str(args.election_s)}
        trace_base = str(tmp / "trace")
        if args.trace:
            env.update(CALLCENTER_TRACE_FILE=trace_base, CALLCENTER_TRACE_PREFIX="agent:PJSIP/95")
            if os.environ.get("CALLCENTER_TRACE_CENSUS"):
                env["CALLCENTER_TRACE_CENSUS"] = "1"  # each node counts, by type, what one full collection walked
        c = Cluster(url, redis_url, prefix, tmp, nodes=nodes, agents=args.agents, speed=args.speed, env=env)
        c.probe_timeout = args.probe_timeout
        c.start_timeout = 20.0 + args.seed_calls / 1000  # the first leader reloads them all
        closed = False
        try:
            if args.seed_calls:
                print(f"seeded {args.seed_calls} calls of today in {await seed_today(url, args.seed_calls, c)} s", file=sys.stderr, flush=True)
            await c.start()
            result = await measure(c, args, f"{nodes} node(s)")
            out[f"{nodes}_nodes"] = result
            closed = True
            await c.close()  # the nodes write out their trace marks
            if args.trace:
                result["stages_ms_after_emit"] = stages(trace_base, c.trace_samples, c.trace_pids, c.trace_window)
            print(json.dumps(result, ensure_ascii=False), flush=True)
        finally:
            if not closed:
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
    p.add_argument(
        "--client-sched",
        choices=("batch", "normal"),
        default="batch",
        help="the client workers' scheduling policy: batch (SCHED_BATCH: a client woken by a node's send does not preempt it, as a browser on "
        "another machine cannot) or normal (the runs before 2026-11-26 evening)",
    )
    p.add_argument("--workers", type=int, default=0, help="client worker processes (0 = one per 1,250 clients, at most 4)")
    p.add_argument("--trace", action="store_true", help="the nodes mark each probe delta's stages (callcenter.realtime.trace); print where the latency goes")
    p.add_argument("--wait-warm", action="store_true", help="before the next kill, wait until the respawned node's standby is warm (/readyz cluster.warm)")
    p.add_argument("--seed-calls", type=int, default=0, help="finished calls of today written before the nodes start (a centre's afternoon: 100000)")
    p.add_argument("--snapshot-s", type=float, default=1.0, help="CALLCENTER_CLUSTER_SNAPSHOT_S (the state key's period; production default 1.0)")
    p.add_argument("--election-s", type=float, default=0.5, help="CALLCENTER_CLUSTER_ELECTION_S (lock tries; production default 0.5)")
    p.add_argument("--kills", type=int, default=20, help="leader kills for the failover figures (0 = none)")
    args = p.parse_args()
    import logging

    logging.getLogger("asyncio").setLevel(logging.ERROR)  # the PBX writing to a killed leader's socket: one warning per event
    print(json.dumps(asyncio.run(run(args)), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
