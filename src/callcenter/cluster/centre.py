"""The whole centre's wallboard when it runs several Asterisk servers (one
per site): every node reads the wallboard entries of every site's stream
and serves the `centre` topic, each site's board side by side, to the page's
site picker ("whole centre" or one site).

Each site's board is kept as the followers keep their own PBX's
(mirror.ViewStore): loaded from the site's state key (never a database
query), then kept current by its stream's wallboard deltas, reloaded on a
new epoch or a gap.  Queues and agents stay named per PBX: a view is
`{"sites": {pbx: {"queues", "agents", "totals"}}}`, the page prefixes them
with the site when it shows the whole centre.

The topic has its own sequence on each node, so a client that comes back
(to this node or another) always gets a snapshot, which is one site board
each: small next to the history it replaces.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import redis.asyncio as aioredis

from callcenter.cluster.mirror import ViewStore
from callcenter.cluster.stream import keys
from callcenter.realtime.hub import _RESNAP, CENTRE, WALLBOARD, Hub, board_data, dumps

log = logging.getLogger("callcenter.cluster")


class Site:
    def __init__(self, prefix: str, pbx: str) -> None:
        self.pbx = pbx
        self.keys = keys(prefix, pbx)
        self.store = ViewStore()
        self.epoch: str | None = None
        self.g = 0
        self.last_id = "0-0"
        self.ready = False
        # changed since the last push: queue views, agent views, agents that left queues
        self.queues: dict[str, Any] = {}
        self.agents: dict[str, Any] = {}
        self.left: dict[str, frozenset[str]] = {}
        self.totals = False


class Centre:
    def __init__(self, client: aioredis.Redis, prefix: str, sites: list[str], hub: Hub, *, block_ms: int = 300) -> None:
        self.redis = client
        self.sites = {pbx: Site(prefix, pbx) for pbx in sites}
        self.hub = hub
        self.block_ms = block_ms
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_push = 0.0
        self.stats = {"entries": 0, "resyncs": 0, "pushes": 0}

    def start(self) -> None:
        self.hub.centre = self
        self._task = asyncio.create_task(self._run(), name="cluster-centre")

    async def stop(self) -> None:
        task, self._task = self._task, None
        self._stopping = True
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=self.block_ms / 1000 + 1.0)
            if not done:
                task.cancel()

    # --- what clients get -------------------------------------------------------------

    def snapshot(self, scope: frozenset[str] | None) -> dict[str, Any]:
        out = {}
        for pbx, site in self.sites.items():
            board = site.store.wallboard()
            out[pbx] = {**board_data(board, scope), "ready": site.ready}
        return {"sites": out}

    def push(self) -> None:
        """One coalesced delta of every site that changed, cut per client's scope."""
        changed = [s for s in self.sites.values() if s.queues or s.agents or s.totals]
        if not changed:
            return
        self._last_push = time.monotonic()
        self.stats["pushes"] += 1
        hub = self.hub
        topic = hub.topics.get(CENTRE)
        per_site = []
        for s in changed:
            per_site.append((s.pbx, {"queues": s.queues, "agents": s.agents, "left": s.left}, s.store.totals if s.totals else None))
            s.queues, s.agents, s.left, s.totals = {}, {}, {}, False
        if topic is None or not topic.clients:
            return
        seq = topic.seq = topic.seq + 1
        cuts: dict[frozenset[str] | None, str] = {}
        for client in tuple(topic.clients):
            text = cuts.get(client.scope)
            if text is None:
                sites = {}
                for pbx, data, totals in per_site:
                    cut = board_data(data, client.scope)
                    if totals is not None and client.scope is None:
                        cut["totals"] = totals
                    sites[pbx] = cut
                text = cuts[client.scope] = dumps({"type": "delta", "topic": CENTRE, "seq": seq, "ts": hub.ts, "data": {"sites": sites}})
            client.offer(CENTRE, seq, text)

    # --- reading the streams ------------------------------------------------------------

    async def bootstrap(self, site: Site, why: str) -> bool:
        data, sid = await self.redis.hmget(site.keys["state"], ["data", "id"])
        if data is None:
            return False
        snap = json.loads(data)
        site.epoch, site.g = snap["epoch"], int(snap["g"])
        site.store = ViewStore(snap.get("board"))
        site.last_id = sid.decode() if isinstance(sid, bytes) else str(sid)
        site.ready = True
        site.queues, site.agents, site.left, site.totals = {}, {}, {}, False
        topic = self.hub.topics.get(CENTRE)
        for client in tuple(topic.clients if topic is not None else ()):
            client.offer(CENTRE, 0, _RESNAP)  # the topic's clients start again from the reloaded boards
        self.stats["resyncs"] += 1
        log.info("cluster centre: site %s (%s) from epoch %s g=%d", site.pbx, why, site.epoch, site.g)
        return True

    def apply(self, site: Site, eid: bytes | str, f: dict[bytes, bytes]) -> str:
        """One stream entry of a site; why it must be reloaded, or ''."""
        epoch, g = f[b"e"].decode(), int(f[b"g"])
        site.last_id = eid.decode() if isinstance(eid, bytes) else eid
        if epoch != site.epoch:
            return "new epoch"
        if g <= site.g:
            return ""
        if g != site.g + 1:
            return "gap in the stream"
        site.g = g
        self.stats["entries"] += 1
        if f[b"t"] != WALLBOARD.encode():
            return ""
        data = json.loads(f[b"p"])
        store = site.store
        store.now = max(store.now, float(f[b"ts"]))
        queues, agents = data.get("queues") or {}, data.get("agents") or {}
        store.queues.update(queues)
        store.agents.update(agents)
        site.queues.update(queues)
        site.agents.update(agents)
        for i, qs in (data.get("left") or {}).items():
            site.left[i] = site.left.get(i, frozenset()) | frozenset(qs)
        if data.get("totals"):
            store.totals = data["totals"]
            site.totals = True
        return ""

    async def _run(self) -> None:
        need = {pbx: "start" for pbx in self.sites}
        while not self._stopping:
            try:
                for pbx, why in list(need.items()):
                    if await self.bootstrap(self.sites[pbx], why):
                        del need[pbx]
                streams = {s.keys["events"]: s.last_id for s in self.sites.values() if s.pbx not in need}
                if not streams:
                    await asyncio.sleep(0.2)  # no site has a leader yet
                    continue
                by_key = {s.keys["events"]: s for s in self.sites.values()}
                got = await self.redis.xread(streams, count=1000, block=self.block_ms)
                for key, entries in got or ():
                    site = by_key[key.decode() if isinstance(key, bytes) else key]
                    for eid, fields in entries:
                        why = self.apply(site, eid, fields)
                        if why:
                            need[site.pbx] = why
                            site.ready = False
                            break
                if time.monotonic() - self._last_push >= self.hub.board_interval:
                    self.push()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: reload every site when it answers
                if not need:
                    log.warning("cluster centre: stream read failed (%s: %s)", type(exc).__name__, exc)
                for s in self.sites.values():
                    s.ready = False
                    need[s.pbx] = "redis back"
                await asyncio.sleep(0.2)
