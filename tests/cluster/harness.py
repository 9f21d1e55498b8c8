"""Three (or N) real `callcenter serve` processes on PostgreSQL + Redis
against the simulated PBX, for the cluster tests and bench/cluster.py.

    c = Cluster(database_url, redis_url, prefix, tmp)
    await c.start()                 # schema, users, the PBX + ledger, N nodes, a leader
    i = await c.leader()            # index of the node that leads
    c.kill(i)                       # kill -9
    report = await c.finish()       # traffic stops, calls end, call_records vs the ledger
    await c.close()

The PBX and its ledger (callcenter.simulator.ledger) run in this process;
every node points its AMI settings at it, only the leader connects.  The
PBX writes queue_log rows into the same database, as Asterisk's realtime
queue_log does (the backfill after a leader change reads them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from sqlalchemy import select

from callcenter.acd.models import CallRecord
from callcenter.acd.replay import settle_s
from callcenter.acd.core import CoreConfig
from callcenter.auth.models import Role, Skill, User
from callcenter.auth.service import hash_password, issue_token
from callcenter.db import Database
from callcenter.ami.gateway import ActionTimeout, NotConnected
from callcenter.demo import demo_agents
from callcenter.simulator.clock import RealClock
from callcenter.simulator.ledger import Ledger, Report, compare
from callcenter.simulator.pbx import PBX
from callcenter.simulator.queue_log import QueueLogTable
from callcenter.simulator.server import AmiServer
from callcenter.simulator.traffic import QueueLoad, Traffic, TrafficModel
from tests.livesrv import free_port

USER, SECRET = "cc", "cluster-test-secret"
JWT = "cluster-test-jwt-secret-0123456789abcdef"
LOADS = [QueueLoad("enquiries", 0.55, 50.0), QueueLoad("repairs", 0.35, 70.0), QueueLoad("complaints", 0.10, 80.0)]


class Node:
    def __init__(self, index: int, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.index = index
        self.port = port
        self.proc = proc
        self.log = log
        self.alive = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


class Cluster:
    def __init__(
        self,
        database_url: str,
        redis_url: str,
        prefix: str,
        tmp: Path,
        *,
        nodes: int = 3,
        agents: int = 10,
        speed: float = 20.0,
        occupancy: float = 0.8,
        seed: int = 5,
        env: dict[str, str] | None = None,
        pbx: str = "default",
        sites: str = "",
        seed_db: bool = True,
        queue_log: str = "queue_log",
    ) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.prefix = prefix
        self.tmp = tmp
        self.n = nodes
        self.speed = speed
        self.seed = seed
        self.people = demo_agents(agents)
        self.model = TrafficModel.for_occupancy(
            len(self.people), occupancy, wrap_s=10.0, loads=list(LOADS), patience_mean_s=90.0, warm_start=len(self.people) // 2
        )
        self.extra_env = env or {}
        self.start_timeout = 20.0  # until the first leader serves (the bench's seeded day takes longer)
        self.probe_timeout = 1.0  # /readyz must answer within this (the bench allows a loaded leader more)
        self.pbx_name = pbx
        self.sites = sites
        self.seed_db = seed_db  # False: another Cluster of the same centre (one database) seeded it; copy its tokens
        self.queue_log_table = queue_log  # this PBX's realtime queue_log table (one per site)
        self.ledger = Ledger()
        self.nodes: list[Node] = []
        self.pbx: PBX | None = None
        self.server: AmiServer | None = None
        self.traffic: Traffic | None = None
        self.queue_log = QueueLogTable(database_url, queue_log)
        self._ql_task: asyncio.Task[None] | None = None
        self.tokens: dict[str, str] = {}
        self.user_ids: dict[str, int] = {}
        self.ami_port = 0

    # --- assembling ------------------------------------------------------------------

    async def _seed(self) -> None:
        from callcenter.migrate import upgrade

        await asyncio.to_thread(upgrade, self.database_url)  # what `callcenter serve` checks for
        db = Database(self.database_url)
        h = hash_password("cluster-password")
        async with db.sessions() as s:
            s.add(User(username="admin", display_name="admin", role=Role.admin, password_hash=h))
            for username, name, iface, skills in self.people:
                s.add(User(username=username, display_name=name, role=Role.agent, interface=iface, password_hash=h,
                           skills=[Skill(queue=q, penalty=p) for q, p in skills]))  # fmt: skip
            await s.commit()
            for u in (await s.execute(select(User))).scalars():
                self.tokens[u.username] = issue_token(u, JWT, 3600)
                self.user_ids[u.username] = u.id
        await db.dispose()

    def env(self, i: int, port: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
        env.update(
            {
                "CALLCENTER_ENV_FILE": "/dev/null",
                "CALLCENTER_DATABASE_URL": self.database_url,
                "CALLCENTER_REDIS_URL": self.redis_url,
                "CALLCENTER_CLUSTER_PREFIX": self.prefix,
                "CALLCENTER_PBX": self.pbx_name,
                "CALLCENTER_CLUSTER_SITES": self.sites,
                "CALLCENTER_QUEUE_LOG_TABLE": self.queue_log_table,
                "CALLCENTER_NODE_ID": f"node{i}" if self.pbx_name == "default" else f"{self.pbx_name}-node{i}",
                "CALLCENTER_BIND_PORT": str(port),
                "CALLCENTER_JWT_SECRET": JWT,
                "CALLCENTER_HOOK_SECRET": "cluster-test-hook-secret-0123456789",
                "CALLCENTER_AMI_HOST": "127.0.0.1",
                "CALLCENTER_AMI_PORT": str(self.ami_port),
                "CALLCENTER_AMI_USER": USER,
                "CALLCENTER_AMI_SECRET": SECRET,
                "CALLCENTER_AMI_PING_INTERVAL_S": "1",
                "CALLCENTER_AMI_DEAD_AFTER_S": "10",
                "CALLCENTER_SPOOL_PATH": str(self.tmp / f"spool{i}.db"),
                "CALLCENTER_RECORDINGS_DIR": str(self.tmp / "recordings"),
                "CALLCENTER_WORKER_PROCESSES": "1",  # as in production: jobs in a process of their own
                "CALLCENTER_LOG_FORMAT": "json",
                "CALLCENTER_CLUSTER_ELECTION_S": "0.25",
                "CALLCENTER_CLUSTER_SNAPSHOT_S": "0.5",
            }
        )
        env.update(self.extra_env)
        return env

    def spawn(self, i: int) -> Node:
        port = free_port()
        log = self.tmp / f"node{i}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "callcenter", "serve", "--port", str(port)],
            env=self.env(i, port),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        return Node(i, port, proc, log)

    async def start(self) -> None:
        if self.seed_db:
            await self._seed()
        if self.queue_log_table != "queue_log":
            from callcenter.migrate import ensure_queue_log_tables

            # What `callcenter migrate` does with this site's CALLCENTER_QUEUE_LOG_TABLE before its nodes serve.
            await ensure_queue_log_tables(self.database_url, [self.queue_log_table])
        self._ql_task = asyncio.create_task(self.queue_log.run(0.5))
        self.pbx = PBX(clock=RealClock(speed=self.speed), seed=self.seed)
        self.ledger.attach(self.pbx)
        self.pbx.queue_log.append(self.queue_log)
        self.server = AmiServer(username=USER, secret=SECRET, pbx=self.pbx)
        self.server.faults.login_delay_s = 0.0
        self.ami_port = await self.server.start()
        self.nodes = [self.spawn(i) for i in range(self.n)]
        for node in self.nodes:
            await self.until_async(lambda node=node: self.healthy(node), 90, f"node{node.index} up")
        await self.wait_leader(self.start_timeout)
        self.traffic = Traffic(self.pbx, self.model, seed=self.seed + 1)
        for _username, name, iface, skills in self.people:
            self.traffic.login(iface, name, skills)
        self.traffic.start()

    # --- looking at nodes ------------------------------------------------------------

    async def healthy(self, node: Node) -> bool:
        try:
            async with httpx.AsyncClient(timeout=1) as c:
                return (await c.get(node.url + "/healthz")).status_code == 200
        except httpx.HTTPError:
            if node.proc.poll() is not None:
                raise AssertionError(f"node{node.index} exited:\n{node.log.read_text()[-3000:]}") from None
            return False

    async def cluster_state(self, node: Node) -> dict[str, Any] | None:
        try:
            async with httpx.AsyncClient(timeout=self.probe_timeout) as c:
                body = (await c.get(node.url + "/readyz")).json()
        except (httpx.HTTPError, ValueError):
            return None
        checks = body.get("checks", {})
        return {**checks.get("cluster", {}), "ami": checks.get("ami", {}).get("ok")}

    async def leader(self) -> int | None:
        """The node that leads with its AMI link up and resynced."""
        for node in self.nodes:
            if not node.alive:
                continue
            st = await self.cluster_state(node)
            if st and st.get("ami") and (st.get("role") == "leader" or not self.redis_url):  # embedded: the one node
                return node.index
        return None

    async def jobs_holders(self, timeout: float = 10.0) -> tuple[int | None, list[int]]:
        """(leader, nodes running the centre's periodic jobs) once exactly one
        node runs them and it is not the leader (when there is a follower)."""
        deadline = time.monotonic() + timeout
        while True:
            states = {n.index: await self.cluster_state(n) for n in self.nodes if n.alive}
            holders = [i for i, st in states.items() if st and st.get("jobs")]
            leader = next((i for i, st in states.items() if st and st.get("role") == "leader"), None)
            if (len(holders) == 1 and (holders[0] != leader or len(states) == 1)) or time.monotonic() > deadline:
                return leader, holders
            await asyncio.sleep(0.1)

    async def wait_leader(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            i = await self.leader()
            if i is not None:
                return i
            await asyncio.sleep(0.05)
        raise AssertionError("no leader: " + " | ".join(f"node{n.index} ({n.log})" for n in self.nodes if n.alive))

    def kill(self, i: int) -> None:
        node = self.nodes[i]
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait(10)
        node.alive = False

    async def until_async(self, predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not await predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def sim(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)

    # --- the verdict ----------------------------------------------------------------------

    async def request(self, method: str, *args: Any, wait: bool = True) -> Any:
        """What any follower does with an action: a request on the PBX's
        request stream, answered by the leader (callcenter.cluster.requests)."""
        from callcenter.cluster.requests import Forwarder

        client = aioredis.from_url(self.redis_url)
        try:
            return await Forwarder(client, self.prefix, self.pbx_name, 6.0).call(method, *args, wait=wait)
        finally:
            await client.aclose()

    async def finish(self) -> tuple[Report, list[str], list[str]]:
        """No more arrivals; every call ends, wrap-up limits pass (a Tick
        sent to the leader), everything is written; compare with the ledger."""
        assert self.pbx is not None and self.traffic is not None
        self.traffic.stop()
        deadline = time.monotonic() + 1800 / self.speed + 10
        while self.pbx.calls and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the last events cross the link
        tick = {"type": "Tick", "fields": {"ts": self.pbx.now + settle_s(CoreConfig())}}
        for attempt in range(4):  # a Tick applied twice (the answer lost) is harmless: the same time again
            try:
                await self.request("acd.submit", tick)
                break
            except (NotConnected, ActionTimeout):
                if attempt == 3:
                    raise  # a leader that answers nothing for ~30 s is a failure, not a slow box
        await asyncio.sleep(2.5)  # the leader's flusher (1 s) writes them
        records = await self.records()
        return (compare(self.ledger, records), *count_calls(self.ledger, records))

    async def records(self) -> list[dict[str, Any]]:
        db = Database(self.database_url)
        try:
            async with db.sessions() as s:
                rows = (await s.execute(select(CallRecord).where(CallRecord.pbx == self.pbx_name))).scalars().all()
        finally:
            await db.dispose()
        return [
            {"call_id": r.call_id, "uniqueid": r.uniqueid, "entered_at": r.entered_at, "outcome": r.outcome.value,
             "agent": r.agent, "talk_s": r.talk_s, "hold_s": r.hold_s, "queue": r.queue}
            for r in rows
        ]  # fmt: skip

    async def rows_of(self, uniqueids: list[str]) -> list[dict[str, Any]]:
        return [r for r in await self.records() if r["uniqueid"] in uniqueids]

    async def close(self) -> None:
        if self.traffic is not None:
            self.traffic.stop()
        for node in self.nodes:
            if node.alive:
                node.proc.send_signal(signal.SIGTERM)
        for node in self.nodes:
            if node.alive:
                try:
                    node.proc.wait(15)
                except subprocess.TimeoutExpired:
                    node.proc.kill()
                    node.proc.wait(5)
                node.alive = False
        if self._ql_task is not None:
            self._ql_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ql_task
        await self.queue_log.close()
        if self.server is not None:
            await self.server.stop()

    def logs(self) -> str:
        return "\n".join(f"--- node{n.index}\n" + n.log.read_text()[-4000:] for n in self.nodes)


def count_calls(ledger: Ledger, records: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(lost, doubled): each call the PBX finished, (caller uniqueid, queue),
    against the call records with that key.  Field accuracy (entered, talk)
    of calls that straddle a fault is the resync's estimate and is what
    `compare` reports as mislabelled."""
    want: dict[tuple[str, str], int] = {}
    for v in ledger.finished():
        want[(v.uniqueid, v.queue)] = want.get((v.uniqueid, v.queue), 0) + 1
    have: dict[tuple[str, str], int] = {}
    for r in records:
        have[(r["uniqueid"], r["queue"])] = have.get((r["uniqueid"], r["queue"]), 0) + 1
    lost = [f"{u}@{q}" for (u, q), n in want.items() if have.get((u, q), 0) < n]
    doubled = [f"{u}@{q}" for (u, q), n in have.items() if n > want.get((u, q), 0) and (u, q) in want]
    return lost, doubled


class WsClient:
    """A websocket client that checks what the issue asks: per topic, deltas
    in unbroken sequence, or an explicit snapshot (resync)."""

    def __init__(self, name: str, token: str, topics: list[str]) -> None:
        self.name = name
        self.token = token
        self.topics = topics
        self.seq: dict[str, int] = {}
        self.epoch: str | None = None
        self.snapshots = 0
        self.resumes = 0
        self.deltas = 0
        self.breaks: list[str] = []
        self.centre_sites: set[str] = set()  # sites the centre topic's deltas carried
        self.connects = 0
        self.node: Node | None = None
        self._task: asyncio.Task[None] | None = None
        self.last: dict[str, Any] = {}
        self.error = ""

    async def run(self, node: Node) -> None:
        import websockets

        self.node = node
        self.connects += 1
        async with websockets.connect(node.ws + f"?token={self.token}", origin=None, open_timeout=10, max_size=None) as ws:
            for t in self.topics:
                msg: dict[str, Any] = {"op": "subscribe", "topic": t}
                if t in self.seq and self.epoch:
                    msg.update(since=self.seq[t], epoch=self.epoch)
                await ws.send(json.dumps(msg))
            async for raw in ws:
                self.on(json.loads(raw))

    def on(self, m: dict[str, Any]) -> None:
        kind, topic = m.get("type"), m.get("topic")
        if kind == "snapshot":
            self.snapshots += 1
            self.epoch = m["epoch"]
            self.seq[topic] = m["seq"]
            self.last[topic] = m["data"]
        elif kind == "resumed":
            self.resumes += 1
            self.epoch = m["epoch"]
            if m["seq"] != self.seq.get(topic):
                self.breaks.append(f"{topic}: resumed at {m['seq']}, had {self.seq.get(topic)}")
        elif kind == "delta":
            self.deltas += 1
            if topic == "centre":
                self.centre_sites |= set(m["data"]["sites"])
                if isinstance(self.last.get(topic), dict):  # as the page does: each site's changes onto its board
                    boards = self.last[topic].setdefault("sites", {})
                    for pbx, cut in m["data"]["sites"].items():
                        board = boards.setdefault(pbx, {})
                        board["ready"] = True  # a site's deltas come once its board is loaded (wallboard.js does the same)
                        for part in ("queues", "agents"):
                            into = board.setdefault(part, {})
                            for key, view in (cut.get(part) or {}).items():
                                if view is None:
                                    into.pop(key, None)
                                else:
                                    into[key] = view
                        if "totals" in cut:
                            board["totals"] = cut["totals"]
            want = self.seq.get(topic, 0) + 1
            if m["seq"] != want:
                self.breaks.append(f"{topic}: delta {m['seq']} after {want - 1}")
            self.seq[topic] = m["seq"]
            if topic == "supervisor" and "agents" in m["data"] and isinstance(self.last.get(topic), dict):
                agents = self.last[topic].setdefault("agents", {})
                for iface, view in m["data"]["agents"].items():
                    if view is None:
                        agents.pop(iface, None)
                    else:
                        agents[iface] = view

    def states(self) -> dict[str, str]:
        """Agent -> state on this client's supervisor board (snapshot + deltas)."""
        return {i: a.get("state") for i, a in ((self.last.get("supervisor") or {}).get("agents") or {}).items()}

    def start(self, node: Node) -> None:
        self._task = asyncio.create_task(self._safe(node))

    async def _safe(self, node: Node) -> None:
        for _attempt in range(3):
            opened = self.snapshots + self.resumes + self.deltas
            try:
                await self.run(node)
                return
            except (TimeoutError, OSError) as exc:  # a busy 2-core box: the handshake may time out; try again
                self.error = f"{type(exc).__name__}: {exc}"[:200]
                if self.snapshots + self.resumes + self.deltas != opened or not node.alive:
                    return
            except Exception as exc:  # noqa: BLE001 - the node died, or the test ends
                self.error = f"{type(exc).__name__}: {exc}"[:200]
                return

    @property
    def connected(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
