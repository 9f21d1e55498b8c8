"""A PBX's event stream in Redis: what its leader's hub records, in order,
for every node to serve.

Keys (prefix P, PBX X):

* ``P:X:events``: a Stream, bounded (MAXLEN ~ cluster_stream_len).  One
  entry per recorded topic delta: ``e`` epoch, ``g`` the stream's own
  sequence (1, 2, 3 ... within an epoch), ``t`` topic, ``s`` the topic's
  sequence (what clients see and resume from), ``ts``, ``p`` payload.
* ``P:X:state``: a hash, ``data`` = the current-state snapshot (JSON) and
  ``id`` = the stream id it is current at.  Nodes start from it and clients
  whose sequence is too old get their snapshot cut from it, never from a
  database query.
* ``P:X:fence``: the highest fencing token that published.  The publish
  script refuses a lower one, so a deposed leader that is still running
  cannot write into its successor's stream.

The epoch changes when a leader takes over and after Redis was away (the
stream may have lost entries): a node that sees a new epoch, or a gap in
``g``, reloads the state key and sends its clients fresh snapshots.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import Counter, Gauge

from callcenter.realtime import trace

log = logging.getLogger("callcenter.cluster")

PUBLISHED = Counter("callcenter_cluster_published_total", "Stream entries the leader published")
PUBLISH_FAILURES = Counter("callcenter_cluster_publish_failures_total", "Failed publishes to Redis (the epoch changes when it is back)")
OUTBOX = Gauge("callcenter_cluster_outbox_entries", "Entries waiting to go to Redis")
CHUNK = 500

# KEYS: fence, events, state.  ARGV: token, maxlen, n, n * (e g t s ts p), snapshot ("" = none).
PUBLISH = """
local f = tonumber(redis.call('GET', KEYS[1]) or '0')
local tok = tonumber(ARGV[1])
if f > tok then return redis.error_reply('FENCED a newer leader published') end
if f < tok then redis.call('SET', KEYS[1], ARGV[1]) end
local n = tonumber(ARGV[3])
local i = 4
local id = false
for k = 1, n do
  id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[i], 'g', ARGV[i+1], 't', ARGV[i+2], 's', ARGV[i+3], 'ts', ARGV[i+4], 'p', ARGV[i+5])
  i = i + 6
end
local snap = ARGV[i]
if snap ~= '' then
  if not id then
    local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
    if #top > 0 then id = top[1][1] else id = '0-0' end
  end
  redis.call('HSET', KEYS[3], 'data', snap, 'id', id)
end
return id
"""


def keys(prefix: str, pbx: str) -> dict[str, str]:
    base = f"{prefix}:{pbx}"
    return {
        "fence": f"{base}:fence",
        "events": f"{base}:events",
        "state": f"{base}:state",
        "requests": f"{base}:requests",
        "leader": f"{base}:leader",
    }


def dumps(obj: Any) -> str:
    """ASCII only, as the hub's messages (callcenter.realtime.topics.dumps): followers send these texts on as they are."""
    return json.dumps(obj, separators=(",", ":"), default=str)


class Publisher:
    """The leader's side: `sink` (the hub's) queues entries without waiting;
    a task sends them in order, with the snapshot every `snapshot_s` when
    something changed.  While Redis is away the queue is dropped (the
    leader keeps tracking and writing to PostgreSQL); when it is back a new
    epoch starts with a fresh snapshot, so every node resyncs its clients."""

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        pbx: str,
        token: int,
        snapshot: Callable[[], dict[str, Any] | str],
        *,
        maxlen: int = 20_000,
        snapshot_s: float = 1.0,
        outbox_max: int = 200_000,
    ) -> None:
        self.redis = client
        self.keys = keys(prefix, pbx)
        self.token = token
        self.generation = 0
        self.epoch = f"{token}.0"
        self.g = 0
        self.maxlen = maxlen
        self.snapshot_s = snapshot_s
        self.outbox_max = outbox_max
        self._snapshot = snapshot
        self._outbox: deque[tuple[str, ...]] = deque()
        self._wake = asyncio.Event()
        self._script = client.register_script(PUBLISH)
        self._task: asyncio.Task[None] | None = None
        self._snap_g = -1  # g of the last snapshot sent
        self._force = True  # the first round sends a snapshot
        self.broken = False
        self.fenced = False
        self.on_epoch: Callable[[str], None] | None = None
        self.stats = {"published": 0, "failures": 0, "epochs": 1}

    def sink(self, topic: str, seq: int, ts: float, payload: Any) -> None:
        if self.broken:
            return  # Redis is away: the next epoch's snapshot carries the state
        if len(self._outbox) >= self.outbox_max:
            self._break("outbox full")
            return
        self.g += 1
        text = payload if isinstance(payload, str) else dumps(payload)
        self._outbox.append((self.epoch, str(self.g), topic, str(seq), repr(ts), text))
        if not self._wake.is_set():
            self._wake.set()

    def _break(self, why: str) -> None:
        if not self.broken:
            log.warning("cluster stream %s: %s; a new epoch starts when Redis answers", self.keys["events"], why)
        self.broken = True
        self._outbox.clear()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cluster-publish")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._task = None

    def _new_epoch(self) -> None:
        self.generation += 1
        self.epoch = f"{self.token}.{self.generation}"
        self.g = 0
        self.broken = False
        self._force = True
        self.stats["epochs"] += 1
        if self.on_epoch is not None:
            self.on_epoch(self.epoch)

    async def _run(self) -> None:
        next_snap = 0.0
        loop = asyncio.get_running_loop()
        while True:
            now = time.monotonic()
            due = self._force or (now >= next_snap and self.g != self._snap_g)
            if not self.broken and not due and not self._outbox:
                # Sleep until the sink has something, or a snapshot is due.  Not
                # wait_for(): its wrapper task cost a busy leader two more loop turns
                # per batch, and it woke every 1 ms with nothing to send.
                timer = loop.call_later(min(next_snap - now, self.snapshot_s), self._wake.set) if next_snap > now else None
                await self._wake.wait()
                if timer is not None:
                    timer.cancel()
            self._wake.clear()
            if self.broken:
                try:
                    await self.redis.ping()
                except Exception:  # noqa: BLE001 - still away
                    await asyncio.sleep(0.2)
                    continue
                self._new_epoch()
            now = time.monotonic()
            batch = list(self._outbox)
            self._outbox.clear()
            snap = ""
            if self._force or (now >= next_snap and self.g != self._snap_g):
                # Built with no await since the batch was taken: it is the state right after its last entry.
                t_snap = time.monotonic()
                state = self._snapshot()
                if isinstance(state, str):  # already serialised (node.ClusterNode._snapshot): add the epoch and g
                    snap = f'{state[:-1]},"epoch":{dumps(self.epoch)},"g":{self.g}}}'
                else:
                    snap = dumps({**state, "epoch": self.epoch, "g": self.g})
                if trace.ON:
                    trace.span("publisher_snapshot", t_snap)
                self._snap_g = self.g
                self._force = False
                next_snap = now + self.snapshot_s
            OUTBOX.set(len(batch))
            if not batch and not snap:
                continue
            try:
                for i in range(0, max(len(batch), 1), CHUNK):
                    chunk = batch[i : i + CHUNK]
                    last = i + CHUNK >= len(batch)
                    args: list[Any] = [self.token, self.maxlen, len(chunk)]
                    for entry in chunk:
                        args.extend(entry)
                    args.append(snap if last else "")
                    if trace.ON:
                        for entry in chunk:
                            trace.mark("pub", entry[2], entry[3])
                    await self._script(keys=[self.keys["fence"], self.keys["events"], self.keys["state"]], args=args)
                if trace.ON:
                    for entry in batch:
                        trace.mark("xadd", entry[2], entry[3])
                self.stats["published"] += len(batch)
                PUBLISHED.inc(len(batch))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away or fenced
                if "FENCED" in str(exc):
                    self.fenced = True
                    log.error("cluster stream %s: a newer leader holds this PBX; publishing stops", self.keys["events"])
                    return
                self.stats["failures"] += 1
                PUBLISH_FAILURES.inc()
                self._break(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.2)
