"""The websocket hub: snapshots plus ordered, resumable deltas, fanned out
from the ACD core's in-memory views.

Why it is built this way (anchors.md §5 item 5): peers' clients go stale
after a reconnect and their wallboards poll the database per tab.  Here

* every topic has a sequence number and a bounded history, so a client that
  reconnects with (epoch, seq) gets exactly the deltas it missed, or a fresh
  snapshot when they are gone or the server restarted (new epoch);
* views are computed once per change from the core (no database), serialised
  once per audience, and put on each client's bounded queue without waiting;
  a client whose queue overflows is resnapshotted, and dropped if it keeps
  falling behind, so it never slows the core or the other clients;
* wallboard and supervisor deltas are coalesced to at most ``board_hz`` per
  second (leading edge: a quiet board updates at once); agent topics (pops
  and state changes) go out immediately.

Protocol (JSON text frames), client -> server:
    {"op": "subscribe", "topic": "agent:PJSIP/8001" | "wallboard" | "supervisor",
     "since": <seq>?, "epoch": "<epoch>"?}
    {"op": "unsubscribe", "topic": ...}      {"op": "ping"}
server -> client:
    {"type": "hello", "epoch", "user": {...}}
    {"type": "snapshot", "topic", "seq", "epoch", "ts", "data"}
    {"type": "resumed", "topic", "seq", "epoch"}   (missed deltas follow)
    {"type": "delta", "topic", "seq", "ts", "data"}
    {"type": "error", "topic"?, "code", "message"}   {"type": "pong"}
    {"type": "settings", "key"}   (an admin changed it: fetch it again)

Topics, clients and the audiences' shapes are in topics.py, the
screen-pops in pops.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from callcenter.acd.core import Output
from callcenter.auth.service import Principal
from callcenter.realtime import trace
from callcenter.realtime.pops import ScreenPops
from callcenter.realtime.topics import (  # noqa: F401 - re-exported: the hub's names for its callers
    _RESNAP,
    AGENT_PREFIX,
    CENTRE,
    CLOSE_RESCOPE,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHORISED,
    LEADS,
    LOOKUP_CONCURRENCY,
    SUPERVISOR,
    WALLBOARD,
    Client,
    Forbidden,
    Topic,
    _drop_tracebacks,
    _lists,
    board_agent,
    board_data,
    dumps,
    supervisor_data,
)

log = logging.getLogger("callcenter.realtime")

Lookup = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


class Hub(ScreenPops):
    def __init__(
        self,
        *,
        queue_size: int = 512,
        history_len: int = 64,
        board_history_len: int = 32,
        board_hz: float = 4.0,
        max_lags: int = 3,
        lag_window_s: float = 60.0,
        lookup: Lookup | None = None,
        masked_roles: tuple[str, ...] | list[str] = (),
    ) -> None:
        self.epoch = secrets.token_hex(6)
        self.masked_roles = tuple(masked_roles)
        # user id -> when their scope changed: their next subscribes get snapshots
        self._rescoped: dict[int, float] = {}
        self.queue_size = queue_size
        # A reconnect within about a minute of agent traffic, or ~8 s of a
        # busy board (4 deltas/s), replays; past that a snapshot is cheaper.
        self.history_len = history_len
        self.board_history_len = board_history_len
        self.board_interval = 1.0 / board_hz
        self.max_lags = max_lags
        self.lag_window_s = lag_window_s
        self.lookup = lookup
        self.core: Any = None
        self.centre: Any = None  # callcenter.cluster.centre.Centre when the centre has several sites
        self._unfollow: Callable[[], None] | None = None
        self.ts: float = 0.0
        self.topics: dict[str, Topic] = {}
        self.clients: set[Client] = set()
        # Live screen-pop per agent interface, and the per-call lookup result
        # (one lookup per call id, shared by every agent it rings).
        self.pops: dict[str, dict[str, Any]] = {}
        self.lookups: dict[str, dict[str, Any] | None] = {}
        self._lookup_tasks: set[asyncio.Task[None]] = set()
        # At most this many lookups hold a database connection at once.  A
        # resync (a new cluster leader, a reconnected AMI link) pops every
        # call it finds at once: unbounded, hundreds of lookups took the
        # whole pool and, on a busy loop, held each connection for seconds,
        # so the ACD's writes and /readyz waited out the pool's 30 s timeout.
        self._lookup_slots = asyncio.Semaphore(LOOKUP_CONCURRENCY)
        self._dirty_queues: set[str] = set()
        self._dirty_agents: set[str] = set()
        self._agent_queues: dict[str, frozenset[str]] = {}
        self._fresh: dict[str, dict[str, Any]] = {}
        # Agent -> its latest view as published, serialised (a cluster leader's
        # state snapshot is joined from these instead of dumping every view again).
        self.view_json: dict[str, str] = {}
        # (board topic, scope) -> ((seq, epoch), its snapshot text)
        self._snapshots: dict[tuple[str, frozenset[str] | None], tuple[tuple[int, str], str]] = {}
        self._last_flush = 0.0
        self._flush_handle: asyncio.TimerHandle | None = None
        self.stats = {"resnapshots": 0, "dropped": 0, "sent_deltas": 0}
        # Cluster leader (callcenter.cluster): every topic is kept, with or
        # without clients here, and each recorded delta goes to `sink(topic,
        # seq, ts, payload)`, the PBX's Redis stream that other nodes serve from.
        self.publish_all = False
        self.sink: Callable[[str, int, float, Any], None] | None = None
        # Cluster follower: what changes topics goes to the leader, which publishes it.
        self.forward: Callable[..., None] | None = None

    # --- wiring ---------------------------------------------------------------

    def attach(self, acd: Any) -> None:
        """Follow the live ACD service: `acd.subscribe(callback(output, core))`.
        One service at a time: attaching another stops following the first."""
        if self._unfollow is not None:
            self._unfollow()
        self.core = getattr(acd, "core", None)
        self._unfollow = acd.subscribe(self.on_output)

    async def close(self) -> None:
        if self._flush_handle:
            self._flush_handle.cancel()
        lookups = list(self._lookup_tasks)
        for task in lookups:
            task.cancel()
        if lookups:
            # Let them unwind while the database is still open: a lookup
            # cancelled mid-query that unwinds after the engine is disposed
            # waits forever on a connection thread that is gone (seen as a
            # hang at event-loop close in CI).
            await asyncio.wait(lookups, timeout=5)
        for client in list(self.clients):
            client.closed = True
            with contextlib.suppress(Exception):
                await client.ws.close(1001)

    # --- the core's side --------------------------------------------------------

    def on_output(self, output: Output, core: Any) -> None:
        """Called after every applied event.  Synchronous and non-blocking:
        it only reads the core's views and queues text for clients."""
        self.core = core
        self.ts = output.ts
        for pop in output.pops:
            self._pop(pop)
        for iface in output.agents:
            self._end_wrap_pop(iface)
        for iface in output.agents:
            topic = self._topic(AGENT_PREFIX + iface)
            if topic is not None:
                view = self._fresh[iface] = core.agent_view(iface)
                vj = self.view_json[iface] = dumps(view)
                self._publish_json(topic, '{"agent":' + vj + "}")
        if output.agents or output.queues:
            self._dirty_agents |= output.agents
            self._dirty_queues |= output.queues
            self._schedule_flush()

    def _topic(self, name: str) -> Topic | None:
        """The topic if anyone follows it here, or always on a cluster leader."""
        topic = self.topics.get(name)
        if topic is None and self.publish_all:
            size = self.history_len if name.startswith(AGENT_PREFIX) else self.board_history_len
            topic = self.topics[name] = Topic(name, size)
        return topic

    def _publish(self, topic: Topic, data: dict[str, Any]) -> None:
        self._publish_json(topic, dumps(data))

    def _publish_json(self, topic: Topic, data: str) -> None:
        """One delta (`data` already serialised), the same text for every client."""
        seq = topic.seq + 1
        text = f'{{"type":"delta","topic":{dumps(topic.name)},"seq":{seq},"ts":{dumps(self.ts)},"data":{data}}}'
        topic.record(text)
        if trace.ON:
            trace.mark("hub", topic.name, seq)
        if self.sink is not None:
            self.sink(topic.name, seq, self.ts, text)
        if topic.clients:
            for client in tuple(topic.clients):
                client.offer(topic.name, seq, text)
            self.stats["sent_deltas"] += len(topic.clients)

    def _schedule_flush(self) -> None:
        if self._flush_handle is not None:
            return
        wait = self._last_flush + self.board_interval - time.monotonic()
        if wait <= 0:
            self.flush_boards()
        else:
            self._flush_handle = asyncio.get_running_loop().call_later(wait, self.flush_boards)

    def flush_boards(self) -> None:
        """One coalesced delta for the wallboard and supervisor topics."""
        t0 = time.monotonic()
        try:
            self._flush_boards()
        finally:
            if trace.ON:
                trace.span("flush_boards", t0)

    def _flush_boards(self) -> None:
        self._flush_handle = None
        self._last_flush = time.monotonic()
        queues, agents = self._dirty_queues, self._dirty_agents
        self._dirty_queues, self._dirty_agents = set(), set()
        core = self.core
        if core is None:
            return
        board = self._topic(WALLBOARD)
        sup = self._topic(SUPERVISOR)
        fresh, self._fresh = self._fresh, {}
        if board is None and sup is None:
            return
        # Views the agent topics computed (and serialised) for the latest event are reused.
        views = {i: fresh.get(i) or core.agent_view(i) for i in agents}
        vjs = {i: self.view_json[i] if i in fresh else dumps(v) for i, v in views.items()}
        self.view_json.update(vjs)
        # The queues each changed agent was in before, so a scoped board is
        # told (null) when one leaves its queues, and only then.
        left = {}
        for i, v in views.items():
            now_in = frozenset(q.get("queue") for q in v.get("queues", ()))
            before = self._agent_queues.get(i, frozenset())
            if before - now_in:
                left[i] = before
            self._agent_queues[i] = now_in
        # Each view is serialised once, for the stream and every client: fragments `"key":{...}`.
        af = {i: f"{dumps(i)}:{vj}" for i, vj in vjs.items()}
        agents_json = "{" + ",".join(af.values()) + "}"
        if board is not None:
            qviews = {q: core.queue_view(q) for q in queues}
            qf = {q: f"{dumps(q)}:{dumps(v)}" for q, v in qviews.items()}
            seq = board.record({"queues": qviews, "agents": views, "left": left})
            if self.sink is not None:
                payload = f'{{"queues":{{{",".join(qf.values())}}},"agents":{agents_json},"left":{dumps(_lists(left))},"totals":{dumps(core.totals_view())}}}'
                self.sink(WALLBOARD, seq, self.ts, payload)
            self._fanout(board, seq, qviews, views, left, board_agent, qf=qf)
        if sup is not None and views:
            seq = sup.record({"agents": views, "left": left})
            if self.sink is not None:
                self.sink(SUPERVISOR, seq, self.ts, f'{{"agents":{agents_json},"left":{dumps(_lists(left))}}}')
            self._fanout(sup, seq, None, views, left, None, af=af)

    def _fanout(
        self,
        topic: Topic,
        seq: int,
        qviews: dict[str, Any] | None,
        views: dict[str, Any],
        left: dict[str, frozenset[str]],
        shape: Callable[..., Any] | None,
        qf: dict[str, str] | None = None,
        af: dict[str, str] | None = None,
    ) -> None:
        """Send each audience (scope) its cut of a board delta.  Every queue
        and agent is serialised once and the cuts are joined from those
        fragments: a flush costs about one serialisation, however many
        scopes and clients there are (bench/latency.py)."""
        if not topic.clients:
            return
        if qf is None and qviews is not None:
            qf = {q: f"{dumps(q)}:{dumps(v)}" for q, v in qviews.items()}
        if af is None:
            af = {i: f"{dumps(i)}:{dumps(shape(v) if shape else v)}" for i, v in views.items()}
        head = f'{{"type":"delta","topic":{dumps(topic.name)},"seq":{seq},"ts":{dumps(self.ts)},"data":{{'
        # queue -> the changed agents in it (and those that just left it)
        members: dict[str, list[str]] = {}
        for i in af:
            for q in self._agent_queues.get(i, ()):
                members.setdefault(q, []).append(i)
        gone: dict[str, list[str]] = {}
        for i, before in left.items():
            for q in before:
                gone.setdefault(q, []).append(i)
        texts: dict[frozenset[str] | None, str] = {}
        for client in tuple(topic.clients):
            scope = client.scope
            text = texts.get(scope)
            if text is None:
                parts = []
                if qf is not None:
                    parts.append('"queues":{' + ",".join(f for q, f in qf.items() if scope is None or q in scope) + "}")
                if scope is None:
                    agents = list(af.values())
                else:
                    seen = dict.fromkeys(i for q in scope for i in members.get(q, ()))
                    agents = [af[i] for i in seen]
                    agents += [f"{dumps(i)}:null" for i in dict.fromkeys(i for q in scope for i in gone.get(q, ())) if i not in seen]
                parts.append('"agents":{' + ",".join(agents) + "}")
                text = texts[scope] = head + ",".join(parts) + "}}"
            client.offer(topic.name, seq, text)
        self.stats["sent_deltas"] += len(topic.clients)

    # --- configuration changes ---------------------------------------------------

    def settings_changed(self, key: str) -> None:
        """An admin changed a setting pages show (pause reasons and their
        limits, wallboard thresholds, queues): every open page is told and
        fetches it again, so no one needs a reload or a restart."""
        if self.forward is not None:
            self.forward("settings_changed", key)
            return
        text = dumps({"type": "settings", "key": key})
        for client in tuple(self.clients):
            client.offer("", 0, text)
        if self.sink is not None:
            self.sink("", 0, self.ts, text)

    def notice(self, data: dict[str, Any], to: Callable[[Principal], bool]) -> int:
        """A one-off message (no topic, no history) to every connection whose
        principal `to` accepts, e.g. a work order escalated to its lead."""
        text = dumps(data)
        sent = 0
        for client in tuple(self.clients):
            if to(client.principal):
                client.offer("", 0, text)
                sent += 1
        return sent

    # --- supervisor action results ----------------------------------------------

    def action_result(self, result: dict[str, Any]) -> None:
        """A supervisor action's outcome, to the supervisors who may see its agent."""
        if self.forward is not None:
            self.forward("action_result", result)
            return
        topic = self._topic(SUPERVISOR)
        if topic is None:
            return
        data = {"action": result}
        seq = topic.record(data)
        if self.sink is not None:
            self.sink(SUPERVISOR, seq, self.ts, data)
        iface = result.get("interface")
        text = dumps({"type": "delta", "topic": topic.name, "seq": seq, "ts": self.ts, "data": data})
        for client in tuple(topic.clients):
            if client.principal.sees.has_agent(iface):
                client.offer(topic.name, seq, text)

    # --- access and shapes ------------------------------------------------------

    def check(self, principal: Principal, topic: str) -> None:
        if topic.startswith(AGENT_PREFIX):
            iface = topic[len(AGENT_PREFIX) :]
            if not iface:
                raise Forbidden("agent topic needs an interface, e.g. agent:PJSIP/8001")
            if principal.interface == iface or (principal.role in LEADS and principal.sees.has_agent(iface)):
                return
            raise Forbidden(f"{topic}: only that agent, the leads of their team and admins may subscribe")
        if topic in (WALLBOARD, SUPERVISOR, CENTRE):
            if principal.role not in LEADS:
                raise Forbidden(f"{topic}: needs team_lead or admin")
            if topic == CENTRE and self.centre is None:
                raise Forbidden("centre: this centre has one site (no CALLCENTER_CLUSTER_SITES); use wallboard")
            return
        raise Forbidden(f"unknown topic {topic!r}; use agent:<interface>, wallboard, supervisor or centre")


    def snapshot_data(self, client: Client, topic: str) -> dict[str, Any]:
        if topic == CENTRE:
            return self.centre.snapshot(client.scope) if self.centre is not None else {"sites": {}}
        core = self.core
        if topic.startswith(AGENT_PREFIX):
            iface = topic[len(AGENT_PREFIX) :]
            return {"agent": core.agent_view(iface) if core else None, "pop": self.pops.get(iface)}
        if core is None:
            return {"queues": {}, "agents": {}}
        board = core.wallboard()
        for i, a in board.get("agents", {}).items():
            if i not in self._dirty_agents:  # a pending flush compares against the older state
                self._agent_queues[i] = frozenset(q.get("queue") for q in a.get("queues", ()))
        if topic == WALLBOARD:
            data = board_data(board, client.scope)
        else:
            data = supervisor_data({"agents": board.get("agents", {})}, client.scope)
        return data

    def snapshot_text(self, client: Client, topic: str) -> str:
        t = self.topics[topic]
        client.floor[topic] = t.seq
        # A board's snapshot is made once per scope and sequence number, not
        # once per client: 500 wallboards (re)connecting at once, or all
        # resnapshotted by a new cluster epoch, each built the whole board.
        key = (topic, client.scope) if topic in (WALLBOARD, SUPERVISOR) else None
        if key is not None:
            hit = self._snapshots.get(key)
            if hit is not None and hit[0] == (t.seq, self.epoch):
                return hit[1]
        text = self._snapshot_text(client, topic, t)
        if key is not None:
            self._snapshots[key] = ((t.seq, self.epoch), text)
        return text

    def forget_snapshots(self) -> None:
        """The views were replaced (a cluster resync, a new leader): snapshots are made again."""
        self._snapshots.clear()

    def _snapshot_text(self, client: Client, topic: str, t: Topic) -> str:
        return dumps(
            {
                "type": "snapshot",
                "topic": topic,
                "seq": t.seq,
                "epoch": self.epoch,
                "ts": self.ts,
                "data": self.snapshot_data(client, topic),
            }
        )

    # --- clients ------------------------------------------------------------------

    def subscribe(self, client: Client, topic_name: str, since: int | None, epoch: str | None) -> None:
        """Synchronous: the snapshot (or the replay) and joining the topic
        happen with no await in between, so no delta can slip through."""
        self.check(client.principal, topic_name)
        topic = self.topics.get(topic_name)
        if topic is None:
            size = self.history_len if topic_name.startswith(AGENT_PREFIX) else self.board_history_len
            topic = self.topics[topic_name] = Topic(topic_name, size)
        client.topics.add(topic_name)
        topic.clients.add(client)
        rescoped = time.monotonic() - self._rescoped.get(client.principal.id, -1e9) < 60
        # The centre's numbering is this node's own (not the leader's): its clients always start from a snapshot.
        resumable = since is not None and epoch == self.epoch and not rescoped and topic_name != CENTRE
        missed = topic.since(since) if resumable else None
        if missed is None:
            client.offer(topic_name, 0, self.snapshot_text(client, topic_name))
            return
        client.floor[topic_name] = since or 0
        client.offer(topic_name, 0, dumps({"type": "resumed", "topic": topic_name, "seq": since, "epoch": self.epoch}))
        for seq, data in missed:
            if isinstance(data, str):
                client.offer(topic_name, 0, data)
                continue
            if topic_name == WALLBOARD:
                cut: dict[str, Any] | None = board_data(data, client.scope)
            elif topic_name == SUPERVISOR:
                cut = supervisor_data(data, client.scope, client)
            else:
                cut = data
            if cut is not None:
                client.offer(topic_name, 0, dumps({"type": "delta", "topic": topic_name, "seq": seq, "ts": self.ts, "data": cut}))
        client.floor[topic_name] = topic.seq

    def unsubscribe(self, client: Client, topic_name: str) -> None:
        client.topics.discard(topic_name)
        topic = self.topics.get(topic_name)
        if topic is not None:
            topic.clients.discard(client)

    def lagged(self, client: Client) -> None:
        """The client's queue is full: throw its backlog away and resnapshot
        every topic it follows; drop it if this keeps happening."""
        now = time.monotonic()
        client.lags.append(now)
        while client.lags and now - client.lags[0] > self.lag_window_s:
            client.lags.popleft()
        while not client.queue.empty():
            client.queue.get_nowait()
        if len(client.lags) > self.max_lags:
            self.stats["dropped"] += 1
            log.warning("dropping slow websocket client %s", client.principal.username)
            self._detach(client)
            asyncio.get_running_loop().create_task(self._close(client, CLOSE_TOO_SLOW, "too slow; reconnect"))
            return
        self.stats["resnapshots"] += 1
        for topic in client.topics:
            if topic:
                client.queue.put_nowait((topic, 0, _RESNAP))

    def _detach(self, client: Client) -> None:
        client.closed = True
        self.clients.discard(client)
        for name in list(client.topics):
            self.unsubscribe(client, name)

    @staticmethod
    async def _close(client: Client, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await client.ws.close(code, reason)

    async def serve(self, ws: WebSocket, principal: Principal, expires_at: float | None = None) -> None:
        """Run one accepted, authenticated websocket until it goes away
        (or its token expires: `expires_at`, epoch s)."""
        client = Client(self, ws, principal, self.queue_size)
        self.clients.add(client)
        writer = asyncio.create_task(client.writer())
        expiry = None
        if expires_at is not None:
            delay = max(0.0, expires_at - time.time())
            expiry = asyncio.get_running_loop().call_later(
                delay, lambda: asyncio.ensure_future(self._close(client, CLOSE_UNAUTHORISED, "token expired"))
            )
        client.topics.add("")  # the connection-level stream (hello, errors, pong)
        client.offer(
            "", 0,
            dumps(
                {
                    "type": "hello",
                    "epoch": self.epoch,
                    "user": {"username": principal.username, "role": principal.role.value, "interface": principal.interface},
                }
            ),
        )
        receive: asyncio.Task[str] | None = None
        try:
            while not client.closed:
                receive = asyncio.create_task(ws.receive_text())
                done, _ = await asyncio.wait({receive, writer}, return_when=asyncio.FIRST_COMPLETED)
                if writer in done:
                    receive.cancel()
                    writer.result()  # re-raise a send failure
                    break
                self._handle(client, receive.result())
        except WebSocketDisconnect:
            pass
        except Exception as exc:  # noqa: BLE001 - a broken socket ends this client only
            log.debug("websocket %s ended: %r", principal.username, exc)
        finally:
            if expiry is not None:
                expiry.cancel()
            self._detach(client)
            writer.cancel()
            with contextlib.suppress(BaseException):
                await writer
            _drop_tracebacks(receive, writer)
            receive = writer = None  # type: ignore[assignment]

    def _handle(self, client: Client, raw: str) -> None:
        try:
            msg = json.loads(raw)
            op = msg["op"]
        except (ValueError, KeyError, TypeError):
            client.offer("", 0, dumps({"type": "error", "code": 400, "message": "send JSON like {\"op\": \"subscribe\", \"topic\": \"wallboard\"}"}))
            return
        topic = msg.get("topic")
        if op == "ping":
            client.offer("", 0, '{"type":"pong"}')
        elif op == "subscribe" and isinstance(topic, str):
            since = msg.get("since")
            epoch = msg.get("epoch")
            try:
                self.subscribe(client, topic, since if isinstance(since, int) else None, epoch if isinstance(epoch, str) else None)
            except Forbidden as exc:
                client.offer("", 0, dumps({"type": "error", "topic": topic, "code": 403, "message": str(exc)}))
        elif op == "unsubscribe" and isinstance(topic, str):
            self.unsubscribe(client, topic)
        else:
            client.offer("", 0, dumps({"type": "error", "code": 400, "message": f"unknown op {op!r} or missing topic"}))
