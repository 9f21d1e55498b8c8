"""A follower's hub: fed by the PBX's Redis stream instead of a core.

The hub (callcenter.realtime.hub) keeps serving clients exactly as on the
leader: topics with the leader's sequence numbers and a bounded history,
snapshots, resume, scope cuts.  What it would read from the core it reads
from a `ViewStore`, the latest view of every agent and queue, loaded from
the state key and kept current by the stream's deltas (they carry whole
views, so applying one is a replace).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import Counter

from callcenter.cluster.stream import dumps, keys
from callcenter.realtime import trace
from callcenter.realtime.hub import AGENT_PREFIX, CENTRE, SUPERVISOR, WALLBOARD, _RESNAP, Hub, Topic, board_agent

log = logging.getLogger("callcenter.cluster")

SLICE_S = 0.003  # the longest a stream batch holds the loop before the writers get a turn
RESYNCS = Counter("callcenter_cluster_resyncs_total", "Times a node reloaded the state key (new epoch, gap, Redis back)", ["why"])


class ViewStore:
    """The core's read side, as far as pages and routes need it, from views."""

    def __init__(self, board: dict[str, Any] | None = None) -> None:
        board = board or {}
        self.now: float = board.get("ts") or 0.0
        self.queues: dict[str, dict[str, Any]] = dict(board.get("queues") or {})
        self.agents: dict[str, dict[str, Any]] = dict(board.get("agents") or {})
        self.totals: dict[str, Any] = board.get("totals") or {}

    def queue_names(self) -> list[str]:
        return sorted(self.queues)

    def queue_view(self, name: str) -> dict[str, Any]:
        return self.queues.get(name) or {"queue": name}

    def totals_view(self, queues: list[str] | None = None) -> dict[str, Any]:
        return self.totals

    def agent_view(self, interface: str) -> dict[str, Any]:
        return self.agents.get(interface) or {"interface": interface, "state": "logged_out", "queues": [], "call": None, "wrap_up": None}

    def agent_totals(self, interface: str) -> dict[str, Any]:
        return self.agent_view(interface).get("today") or {}

    def wrap_up_of(self, interface: str) -> dict[str, Any] | None:
        wrap = self.agent_view(interface).get("wrap_up")
        return None if not wrap else {"call_id": wrap["call_id"], "queue": wrap.get("queue"), "deadline": wrap.get("deadline")}

    def call_view(self, call_id: str) -> dict[str, Any] | None:
        for a in self.agents.values():
            call = a.get("call")
            if call and call.get("call_id") == call_id:
                return call
        return None

    def wallboard(self) -> dict[str, Any]:
        return {"ts": self.now, "queues": dict(sorted(self.queues.items())), "agents": dict(sorted(self.agents.items())), "totals": self.totals}


def resnap_all(hub: Hub) -> None:
    """Every client here gets a fresh snapshot of each topic it follows."""
    for client in tuple(hub.clients):
        while not client.queue.empty():
            client.queue.get_nowait()
        for topic in client.topics:
            if topic:
                try:
                    client.queue.put_nowait((topic, 0, _RESNAP))
                except asyncio.QueueFull:
                    hub.lagged(client)


class Mirror:
    """Reads one PBX's stream into a hub (follower role)."""

    def __init__(self, client: aioredis.Redis, prefix: str, pbx: str, hub: Hub, *, block_ms: int = 300) -> None:
        self.redis = client
        self.keys = keys(prefix, pbx)
        self.hub = hub
        self.block_ms = block_ms
        self.epoch: str | None = None
        self.g = 0
        self.last_id = "0-0"
        self.store = ViewStore()
        self.ready = False
        self.stats = {"entries": 0, "resyncs": 0}
        self._task: asyncio.Task[None] | None = None
        self._run_id = 0  # a stopped run that is still reading applies nothing once this moved on

    def start(self) -> None:
        self.hub.core = self.store
        self._run_id += 1
        self._task = asyncio.create_task(self._run(self._run_id), name="cluster-mirror")

    async def stop(self, wait: bool = True) -> None:
        """Let the loop end after its current read (a blocking read that is
        cancelled can hang redis-py's connection under uvloop for seconds).
        wait=False: return at once; the read ends on its own and nothing
        it brings is applied (a promotion does not wait out block_ms)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._run_id += 1
        if not wait:
            return
        done, _ = await asyncio.wait({task}, timeout=self.block_ms / 1000 + 1.0)
        if not done:
            task.cancel()

    async def bootstrap(self, why: str, run: int | None = None) -> bool:
        """Load the state key; False when no leader has written one yet (or run `run` was stopped meanwhile)."""
        data, sid = await self.redis.hmget(self.keys["state"], ["data", "id"])
        if data is None or (run is not None and run != self._run_id):
            return False
        snap = json.loads(data)
        self.apply_snapshot(snap)
        self.last_id = sid.decode() if isinstance(sid, bytes) else str(sid)
        self.stats["resyncs"] += 1
        RESYNCS.labels(why).inc()
        log.info("cluster: %s; serving epoch %s from g=%d", why, self.epoch, self.g)
        return True

    def apply_snapshot(self, snap: dict[str, Any]) -> None:
        hub = self.hub
        self.epoch = snap["epoch"]
        self.g = int(snap["g"])
        self.store = ViewStore(snap.get("board"))
        hub.core = self.store
        hub.epoch = self.epoch
        hub.ts = snap.get("board", {}).get("ts") or hub.ts
        hub.pops = dict(snap.get("pops") or {})
        hub._agent_queues = {}
        hub.forget_snapshots()
        seqs: dict[str, int] = snap.get("seqs") or {}
        for name, topic in hub.topics.items():
            topic.history.clear()
            if name != CENTRE:  # this node's own numbering (cluster.centre), not the leader's
                topic.seq = seqs.get(name, 0)
        for name, seq in seqs.items():
            if name not in hub.topics:
                size = hub.history_len if name.startswith(AGENT_PREFIX) else hub.board_history_len
                hub.topics[name] = Topic(name, size, seq)
        self.ready = True
        resnap_all(hub)

    async def _run(self, run: int) -> None:
        need = "start"
        while run == self._run_id:
            try:
                if need:
                    if not await self.bootstrap(need, run):
                        await asyncio.sleep(0.2)  # no leader yet
                        continue
                    need = ""
                got = await self.redis.xread({self.keys["events"]: self.last_id}, count=1000, block=self.block_ms)
                t_batch = time.monotonic()
                if trace.ON:
                    for _stream, entries in got or ():
                        for _eid, f in entries:
                            trace.mark("got", f[b"t"].decode(), f[b"s"].decode(), t_batch)
                t_slice = t_batch
                for _stream, entries in got or ():
                    for eid, fields in entries:
                        if run != self._run_id:
                            return
                        need = self.apply_entry(eid, fields)
                        if need:
                            break
                        if time.monotonic() - t_slice > SLICE_S:
                            # A long batch (after a stall, a resync) in slices: the clients' writers
                            # send what is applied so far instead of waiting for the whole batch.
                            if trace.ON:
                                trace.span("mirror_batch", t_slice)
                            await asyncio.sleep(0)
                            t_slice = time.monotonic()
                    if need:
                        break
                if trace.ON:
                    trace.span("mirror_batch", t_slice)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: try again, then resync
                if run != self._run_id:
                    return
                if self.ready:
                    log.warning("cluster: stream read failed (%s: %s); resyncing when Redis answers", type(exc).__name__, exc)
                self.ready = False
                need = "redis back"
                await asyncio.sleep(0.2)

    def apply_entry(self, eid: bytes | str, f: dict[bytes, bytes]) -> str:
        """Apply one stream entry; returns why a resync is needed, or ''."""
        epoch = f[b"e"].decode()
        g = int(f[b"g"])
        if epoch != self.epoch:
            return "new epoch"
        if g <= self.g:
            self.last_id = eid.decode() if isinstance(eid, bytes) else eid
            return ""  # already in the snapshot
        if g != self.g + 1:
            return "gap in the stream"
        self.g = g
        self.last_id = eid.decode() if isinstance(eid, bytes) else eid
        self.stats["entries"] += 1
        apply_delta(self.hub, self.store, f[b"t"].decode(), int(f[b"s"]), float(f[b"ts"]), f[b"p"].decode())
        return ""


def apply_delta(hub: Hub, store: ViewStore, name: str, seq: int, ts: float, payload: str) -> None:
    """One recorded delta of the leader's hub, replayed into this hub."""
    if trace.ON:
        trace.mark("read", name, seq)
    hub.ts = ts
    store.now = max(store.now, ts)
    if not name:  # connection-level (settings changed)
        for client in tuple(hub.clients):
            client.offer("", 0, payload)
        return
    topic = hub.topics.get(name)
    if topic is None:
        size = hub.history_len if name.startswith(AGENT_PREFIX) else hub.board_history_len
        topic = hub.topics[name] = Topic(name, size, seq - 1)
    if seq != topic.seq + 1:
        # This topic's numbering jumped (it began before this node's snapshot knew it): its clients start again.
        topic.history.clear()
        topic.seq = seq - 1
        for client in tuple(topic.clients):
            client.offer(name, 0, _RESNAP)
    if name.startswith(AGENT_PREFIX):
        iface = name[len(AGENT_PREFIX) :]
        data = json.loads(payload)["data"]
        if "agent" in data:
            store.agents[iface] = data["agent"]
        if "pop" in data:
            pop = data["pop"]
            if pop.get("phase") == "cleared":
                hub.pops.pop(iface, None)
            else:
                hub.pops[iface] = pop
        topic.record(payload)
        for client in tuple(topic.clients):
            client.offer(name, seq, payload)
        return
    data = json.loads(payload)
    if "action" in data:
        topic.record(data)
        text = dumps({"type": "delta", "topic": name, "seq": seq, "ts": ts, "data": data})
        iface = data["action"].get("interface")
        for client in tuple(topic.clients):
            if client.principal.sees.has_agent(iface):
                client.offer(name, seq, text)
        return
    views = data.get("agents") or {}
    left = {i: frozenset(qs) for i, qs in (data.get("left") or {}).items()}
    store.agents.update(views)
    for i, v in views.items():
        hub._agent_queues[i] = frozenset(q.get("queue") for q in v.get("queues", ()))
    qviews = None
    if name == WALLBOARD:
        qviews = data.get("queues") or {}
        store.queues.update(qviews)
        if data.get("totals"):
            store.totals = data["totals"]
        topic.record({"queues": qviews, "agents": views, "left": left})
        hub._fanout(topic, seq, qviews, views, left, board_agent)
    elif name == SUPERVISOR:
        topic.record({"agents": views, "left": left})
        hub._fanout(topic, seq, None, views, left, None)
