"""One node of a cluster: follower of its PBX until it takes the lock, then
leader until it loses it (or stops).

Follower: the hub is fed by the PBX's stream (mirror.py); `app.state.acd`
is a `ReplicaAcd` (views from the stream, actions and events forwarded to
the leader); `app.state.gateway` forwards actions (requests.py).

Leader: the ACD service and the AMI bridge run here as in the embedded
mode; the hub records every topic and publishes it (stream.py); requests
from the other nodes are served.  On promotion the core reloads today's
calls and the calls in progress from PostgreSQL and the bridge resyncs
from Asterisk's own lists, as after a restart of a single node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from contextlib import AsyncExitStack
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import Counter, Gauge

from callcenter.acd.service import AcdService, core_config_from
from callcenter.acd.warm import WarmCore
from callcenter.cluster.jobs import JobFence, JobsHolder
from callcenter.cluster.leader import LeaderLock
from callcenter.cluster.mirror import Mirror, resnap_all
from callcenter.cluster.requests import Forwarder, RemoteGateway, Server, decode_event, encode_event
from callcenter.cluster.stream import Publisher, dumps, keys

log = logging.getLogger("callcenter.cluster")

IS_LEADER = Gauge("callcenter_cluster_leader", "1 while this node leads its PBX")
COLD_DEFER_S = 2.0  # a cold follower waits this long after the lock fell free before it takes it
PROMOTIONS = Counter("callcenter_cluster_promotions_total", "Times this node became leader")


class ReplicaAcd:
    """`app.state.acd` on a follower: the core's views from the stream;
    what would change the core goes to the leader."""

    def __init__(self, mirror: Mirror, forwarder: Forwarder) -> None:
        self.mirror = mirror
        self.fwd = forwarder
        self.gateway = None

    @property
    def core(self) -> Any:
        return self.mirror.store

    def submit(self, event: Any) -> Any:
        return self.fwd.call("acd.submit", encode_event(event), wait=False)

    async def submit_disposition(self, interface: str, call_id: str, code: str, note: str = "") -> None:
        await self.fwd.call("acd.submit_disposition", interface, call_id, code, note)

    def configure(self, queue: Any) -> None:
        import dataclasses

        task = asyncio.ensure_future(self.fwd.call("acd.configure", dataclasses.asdict(queue), wait=False))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def subscribe(self, listener: Any) -> Any:
        return lambda: None

    def readiness(self) -> dict[str, Any]:
        return {"ok": self.mirror.ready, "role": "follower", "epoch": self.mirror.epoch, "g": self.mirror.g}


class ClusterNode:
    def __init__(self, app: Any, settings: Any, db: Any, spool: Any, hub: Any) -> None:
        self.app = app
        self.settings = settings
        self.db = db
        self.spool = spool
        self.hub = hub
        self.pbx = settings.pbx
        self.node = settings.node_id or f"{socket.gethostname()}-{os.getpid()}"
        self.prefix = settings.cluster_prefix
        self.redis = aioredis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=5)
        self.keys = keys(self.prefix, self.pbx)
        self.lock = LeaderLock(settings.database_url, self.pbx, self.node)
        # One node of the whole cluster (whatever PBX it follows) runs the centre's periodic jobs (cluster.jobs).
        self.jobs = JobsHolder(settings.database_url, self.node, settings.cluster_election_s)
        self.forwarder = Forwarder(self.redis, self.prefix, self.pbx, settings.ami_action_timeout_s + 1)
        self.mirror = Mirror(self.redis, self.prefix, self.pbx, hub)
        self.replica = ReplicaAcd(self.mirror, self.forwarder)
        self.role = "follower"
        self.leader_since: float | None = None
        self._leading: AsyncExitStack | None = None
        self._task: asyncio.Task[None] | None = None
        self.publisher: Publisher | None = None
        self.requests: Server | None = None
        self.centre: Any = None
        self._refresh_at = 0  # the next cached agent view _snapshot recomputes
        self._free_since: float | None = None  # a cold follower saw the lock free since
        self.warm: WarmCore | None = None  # while following: the core a promotion starts from (acd/warm.py)

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await self._follow()
        if len(self.settings.sites) > 1:
            from callcenter.cluster.centre import Centre

            # Every site's board, read from every site's stream, on every node (leader or follower).
            self.centre = Centre(self.redis, self.prefix, self.settings.sites, self.hub)
            self.centre.start()
        self._task = asyncio.create_task(self._elect(), name="cluster-elect")
        self.app.state.readiness["cluster"] = self.readiness
        self.app.state.runs_jobs = self.runs_jobs
        self.app.state.jobs_fence = self.jobs_fence

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._step_down("stopping")
        await self.mirror.stop()
        if self.warm is not None:
            await self.warm.stop()
        if self.centre is not None:
            await self.centre.stop()
        await self.lock.release()
        await self.jobs.lock.release()
        await self.redis.aclose()

    def readiness(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": True, "role": self.role, "node": self.node, "pbx": self.pbx, "jobs": self.jobs.since is not None}
        if self.role == "leader" and self.publisher is not None:
            out.update(epoch=self.publisher.epoch, token=self.lock.token, redis=not self.publisher.broken)
        else:
            out.update(epoch=self.mirror.epoch, g=self.mirror.g, stream=self.mirror.ready, warm=self.warm is not None and self.warm.ready)
        return out

    # --- roles ---------------------------------------------------------------------------

    async def _follow(self) -> None:
        state = self.app.state
        state.acd = self.replica
        state.gateway = RemoteGateway(self.forwarder)
        state.bridge = None
        self.hub.publish_all = False
        self.hub.sink = None
        self.hub.forward = self._forward_hub
        self.mirror.start()
        self.role = "follower"
        if self.warm is not None:
            await self.warm.stop()
        if self.db is not None:
            # Today's calls restored ahead, in the background: a promotion reads and restores only what came since.
            self.warm = WarmCore(self.db, lambda: core_config_from(self.settings), self.pbx)
            self.warm.start()

    def _forward_hub(self, method: str, *args: Any) -> None:
        task = asyncio.ensure_future(self.forwarder.call(f"hub.{method}", *args, wait=False))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def runs_jobs(self) -> bool:
        """This node holds the centre's jobs lock (and has for JOBS_SETTLE_S)."""
        return self.jobs.runs()

    def jobs_fence(self, name: str) -> JobFence | None:
        """A run of job `name` here, fenced by the jobs token (cluster.jobs.fenced); None: not here."""
        return self.jobs.fence(name)

    async def _elect(self) -> None:
        every = self.settings.cluster_election_s
        while True:
            try:
                # The PBX's lock first: a follower's round after the leader died is on the failover's path, the jobs' is not.
                if self.role == "follower":
                    if await self._may_try() and await self.lock.try_acquire():
                        await self._lead()
                elif not await self.lock.still_held() or (self.publisher is not None and self.publisher.fenced):
                    log.error("cluster: lost the lock of PBX %s; stepping down", self.pbx)
                    await self._step_down("lock lost")
                    await self.lock.release()
                    await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database away: try again
                log.warning("cluster election round failed: %s: %s", type(exc).__name__, exc)
                if self.role == "leader":
                    await self._step_down(f"{type(exc).__name__}")
                    await self._follow()
                await self.lock.release()
            await self.jobs.elect(self.role == "leader")
            await asyncio.sleep(every)

    async def _may_try(self) -> bool:
        """A follower whose core is not restored ahead yet (just started, or
        a day's first read still going) leaves a free lock to a warm one for
        COLD_DEFER_S: taking it would mean the full reload on promotion."""
        if self.warm is None or self.warm.ready:
            self._free_since = None
            return True
        # Bounded whatever pg_locks says: a cold node that is its site's only node must lead after
        # COLD_DEFER_S (an unbounded wait on "the lock is free" left a one-node site leaderless in a loaded suite).
        now = time.monotonic()
        if self._free_since is None:
            self._free_since = now if await self.lock.is_free() else now - COLD_DEFER_S / 2
        return now - self._free_since >= COLD_DEFER_S

    async def _lead(self) -> None:
        t0 = time.monotonic()
        steps: dict[str, float] = {}
        mark = t0

        def step(name: str) -> None:
            nonlocal mark
            now = time.monotonic()
            steps[name] = now - mark
            mark = now

        await self.jobs.drop("it leads PBX " + self.pbx)
        step("jobs")
        settings = self.settings
        state = self.app.state
        await self.mirror.stop(wait=False)  # its blocking read ends on its own; nothing it reads is applied
        step("mirror_stop")
        stack = AsyncExitStack()
        self._leading = stack
        # Written more often than on a single node: a leader killed with -9 loses what it had not written,
        # and its successor starts from the calls in progress it saved (then resyncs and backfills).
        acd = AcdService(
            self.db, core_config_from(settings), gateway=None, spool=self.spool, pbx=self.pbx, fence=self.lock.fence,
            flush_s=0.25, snapshot_s=0.5, queue_log_table=settings.queue_log_table, warm=self.warm,
        )  # fmt: skip
        self.warm = None  # taken (or, not ready, left for the full reload)
        await acd.start()
        step("acd_start")
        stack.push_async_callback(acd.stop)
        hub = self.hub
        publisher = Publisher(
            self.redis, self.prefix, self.pbx, self.lock.token, self._snapshot,
            maxlen=settings.cluster_stream_len, snapshot_s=settings.cluster_snapshot_s,
        )  # fmt: skip
        self.publisher = publisher
        publisher.on_epoch = self._epoch_changed
        hub.forward = None
        hub.epoch = publisher.epoch
        hub.publish_all = True
        hub.sink = publisher.sink
        hub.pops = {}
        hub._agent_queues = {}
        hub.view_json = {}
        hub.forget_snapshots()
        for topic in hub.topics.values():
            topic.history.clear()
        hub.attach(acd)
        stack.callback(self._detach_hub)
        publisher.start()
        stack.push_async_callback(publisher.stop)
        step("publisher")
        resnap_all(hub)  # a new epoch: this node's clients start again from the new core
        step("resnap")
        state.acd = acd
        if settings.ami_enabled:
            from callcenter.ami.bridge import Bridge

            bridge = Bridge(settings, on_event=acd.submit)
            acd.gateway = bridge.gateway
            await bridge.start()
            stack.push_async_callback(bridge.stop)
            state.bridge = bridge
            state.gateway = bridge.gateway
            state.readiness["ami"] = bridge.readiness
            step("bridge")
            served = asyncio.create_task(self._served(bridge, t0), name="cluster-served")
            stack.callback(served.cancel)
        self.requests = Server(self.redis, self.prefix, self.pbx, self._handlers(acd, state.gateway))
        self.requests.start()
        stack.push_async_callback(self.requests.stop)
        with contextlib.suppress(Exception):
            await self.redis.set(self.keys["leader"], f"{self.node} {self.lock.token}")
        self.role = "leader"
        self.leader_since = time.time()
        IS_LEADER.set(1)
        PROMOTIONS.inc()
        step("requests")
        loads = " ".join(f"{k}={v:.3f}" for k, v in acd.load_steps.items())
        log.info(
            "cluster: %s leads PBX %s (token %d) after %.2f s: %s; load: %s", self.node, self.pbx, self.lock.token, time.monotonic() - t0,
            " ".join(f"{k}={v:.3f}" for k, v in steps.items()), loads,
        )  # fmt: skip

    async def _served(self, bridge: Any, t0: float) -> None:
        """Log when the new leader serves: its AMI link up and resynced (what /readyz waits for)."""
        while not bridge.readiness()["ok"]:
            await asyncio.sleep(0.05)
        log.info("cluster: %s serves PBX %s %.2f s after taking the lock", self.node, self.pbx, time.monotonic() - t0)

    def _detach_hub(self) -> None:
        hub = self.hub
        if hub._unfollow is not None:
            hub._unfollow()
            hub._unfollow = None
        hub.sink = None
        hub.publish_all = False

    def _epoch_changed(self, epoch: str) -> None:
        self.hub.epoch = epoch  # clients here had every delta; others resync from the new snapshot

    def _snapshot(self) -> str:
        """The state key's JSON: what `core.wallboard()` would give, joined
        from the views the hub already serialised for its deltas (rewritten
        every cluster_snapshot_s, dumping every view held the loop 17-170 ms
        at 100 agents: bench/cluster.py --trace).  A few cached views are
        recomputed each time, so one that changed with no delta is not kept
        stale for long."""
        hub = self.hub
        core = hub.core
        cache = hub.view_json
        names = sorted(core.agents)
        if names:
            n = max(8, len(names) // 20)
            start = self._refresh_at % len(names)
            for i in (names[start:] + names[:start])[:n]:
                cache.pop(i, None)
            self._refresh_at = start + n
        agents = []
        for i in names:
            vj = cache.get(i)
            if vj is None:
                vj = cache[i] = dumps(core.agent_view(i))
            agents.append(f"{dumps(i)}:{vj}")
        queues = dumps({name: core.queue_view(name) for name in sorted(core.queues)})
        board = f'{{"ts":{dumps(core.now)},"queues":{queues},"agents":{{{",".join(agents)}}},"totals":{dumps(core.totals_view())}}}'
        seqs = dumps({name: t.seq for name, t in hub.topics.items()})
        return f'{{"board":{board},"pops":{dumps(hub.pops)},"seqs":{seqs},"node":{dumps(self.node)}}}'

    async def _step_down(self, why: str) -> None:
        stack, self._leading = self._leading, None
        if stack is None:
            return
        log.warning("cluster: %s stops leading PBX %s (%s)", self.node, self.pbx, why)
        IS_LEADER.set(0)
        self.app.state.readiness.pop("ami", None)
        with contextlib.suppress(Exception):
            await stack.aclose()
        self.publisher = None
        self.requests = None

    def _handlers(self, acd: AcdService, gateway: Any) -> dict[str, Any]:
        from callcenter.acd.core import QueueConfig
        from callcenter.cluster.requests import GATEWAY_METHODS

        handlers: dict[str, Any] = {}
        for name in GATEWAY_METHODS:
            method = getattr(gateway, name, None)
            if method is not None:
                handlers[name] = method
        hub = self.hub

        async def submit(event: dict[str, Any]) -> None:
            acd.submit(decode_event(event))

        async def disposition(interface: str, call_id: str, code: str, note: str = "") -> None:
            await acd.submit_disposition(interface, call_id, code, note)

        async def configure(queue: dict[str, Any]) -> None:
            acd.configure(QueueConfig(**queue))

        async def action_result(result: dict[str, Any]) -> None:
            hub.action_result(result)

        async def settings_changed(key: str) -> None:
            hub.settings_changed(key)

        async def refresh_pop(interface: str, call_id: str) -> bool:
            return hub.refresh_pop(interface, call_id)

        handlers.update(
            {
                "acd.submit": submit,
                "acd.submit_disposition": disposition,
                "acd.configure": configure,
                "hub.action_result": action_result,
                "hub.settings_changed": settings_changed,
                "hub.refresh_pop": refresh_pop,
            }
        )
        return handlers
