"""Topics, clients and the shapes each audience sees: the hub's parts that
hold no state of the hub's own (callcenter.realtime.hub fans out through
them; a cluster follower's mirror and the centre's board cut with them).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket

from callcenter.auth.models import Role
from callcenter.auth.service import Principal
from callcenter.privacy import mask_json_text, mask_phone
from callcenter.realtime import trace

if TYPE_CHECKING:
    from callcenter.realtime.hub import Hub

WALLBOARD = "wallboard"
SUPERVISOR = "supervisor"
CENTRE = "centre"  # every site's board, in a cluster of several PBXs (callcenter.cluster.centre)
AGENT_PREFIX = "agent:"
LEADS = (Role.admin, Role.team_lead)
LOOKUP_CONCURRENCY = 4  # screen-pop lookups in flight at once (the pool has 10 + 10 connections)
CLOSE_TOO_SLOW = 4008  # application close code: the client fell behind too often
CLOSE_UNAUTHORISED = 4401  # not signed in, the token expired or was revoked
CLOSE_RESCOPE = 4000  # the user's scope changed: reconnect (and resnapshot)
_RESNAP = object()  # queue marker: send this topic's snapshot, computed when sent


def dumps(obj: Any) -> str:
    """A message's text, ASCII only (\\u escapes): uvicorn encodes the text
    again for every socket it goes to, and a 20 KB board delta with Chinese
    names took 20-40 us to encode instead of 1 (12 % of a follower's CPU at
    500 wallboards, py-spy); the browser's JSON.parse reads either."""
    return json.dumps(obj, separators=(",", ":"), default=str)


def _lists(left: dict[str, frozenset[str]]) -> dict[str, list[str]]:
    return {i: sorted(qs) for i, qs in left.items()}


def _drop_tracebacks(*tasks: asyncio.Task[Any] | None) -> None:
    """A finished task keeps its exception, whose traceback holds the frames
    that hold the task: a reference cycle per closed websocket (~100 objects,
    the connection's whole stack) that only the collector's full pass frees,
    and never while frozen (callcenter.gcfreeze)."""
    for task in tasks:
        if task is None or not task.done():
            continue
        exc = getattr(task, "_cancelled_exc", None) if task.cancelled() else task.exception()
        if exc is not None:
            exc.__traceback__ = None
            exc.__context__ = None


class Forbidden(Exception):
    pass


@dataclass(slots=True)
class Topic:
    name: str
    history_len: int
    seq: int = 0
    # (seq, delta): the serialised message when every client gets the same
    # one (agent topics, action results: cheap to keep), else the data to
    # cut per scope (board deltas).
    history: deque[tuple[int, str | dict[str, Any]]] = field(default_factory=deque)
    clients: set[Client] = field(default_factory=set)

    def record(self, data: str | dict[str, Any]) -> int:
        self.seq += 1
        self.history.append((self.seq, data))
        if len(self.history) > self.history_len:
            self.history.popleft()
        return self.seq

    def since(self, seq: int) -> list[tuple[int, str | dict[str, Any]]] | None:
        """Deltas after `seq`, or None when some of them are gone."""
        if seq == self.seq:
            return []
        if seq > self.seq or not self.history or self.history[0][0] > seq + 1:
            return None
        return [(s, d) for s, d in self.history if s > seq]


class Client:
    """One websocket: a bounded send queue drained by its own writer task."""

    def __init__(self, hub: Hub, ws: WebSocket, principal: Principal, queue_size: int) -> None:
        self.hub = hub
        self.ws = ws
        self.principal = principal
        self.queue: asyncio.Queue[tuple[str, int, Any]] = asyncio.Queue(queue_size)
        self.topics: set[str] = set()
        # Deltas at or below this seq are already covered by a snapshot sent.
        self.floor: dict[str, int] = {}
        self.lags: deque[float] = deque()
        self.closed = False
        # Queues this client may see on the boards; None = all (admin).
        sees = principal.sees
        self.scope: frozenset[str] | None = None if sees.everything else frozenset(sees.queues)
        self.masked = principal.role.value in hub.masked_roles

    def offer(self, topic: str, seq: int, text: Any) -> None:
        """Never blocks: on overflow the queue is replaced by resnapshots."""
        if self.closed:
            return
        try:
            self.queue.put_nowait((topic, seq, text))
        except asyncio.QueueFull:
            self.hub.lagged(self)

    async def writer(self) -> None:
        while True:
            topic, seq, text = await self.queue.get()
            if topic and topic not in self.topics and text is not None:
                continue  # topic "": a notice to the whole connection (settings, work orders)
            if text is _RESNAP:
                if topic not in self.topics:
                    continue
                text = self.hub.snapshot_text(self, topic)
            elif seq and seq <= self.floor.get(topic, 0):
                continue
            if self.masked:
                text = mask_json_text(text)
            if trace.ON and seq:
                trace.mark("send0", topic, seq)
            await self.ws.send_text(text)
            if trace.ON and seq:
                trace.mark("send1", topic, seq)



# --- what each audience sees -------------------------------------------------------

def visible(agent: dict[str, Any], scope: frozenset[str] | None) -> bool:
    return scope is None or any(q.get("queue") in scope for q in agent.get("queues", ()))


def board_agent(a: dict[str, Any]) -> dict[str, Any]:
    call = a.get("call")
    return {
        "interface": a.get("interface"),
        "name": a.get("name"),
        "state": a.get("state"),
        "reason": a.get("reason"),
        "since": a.get("since"),
        "queues": [q.get("queue") for q in a.get("queues", ())],
        "caller": None
        if not call
        else {"number": mask_phone(call.get("caller_number")), "name": call.get("caller_name"), "queue": call.get("queue")},
        "wrap_up_deadline": (a.get("wrap_up") or {}).get("deadline"),
        "handled": (a.get("today") or {}).get("handled"),
    }


def board_data(data: dict[str, Any], scope: frozenset[str] | None) -> dict[str, Any]:
    queues = {q: v for q, v in data["queues"].items() if scope is None or q in scope}
    agents = scoped_agents(data, scope, board_agent)
    out: dict[str, Any] = {"queues": queues, "agents": agents}
    if "totals" in data and scope is None:
        out["totals"] = data["totals"]
    return out


def supervisor_data(data: dict[str, Any], scope: frozenset[str] | None, client: Client | None = None) -> dict[str, Any] | None:
    if "action" in data:
        iface = data["action"].get("interface")
        return data if client is None or client.principal.sees.has_agent(iface) else None
    return {"agents": scoped_agents(data, scope, lambda a: a)}


def scoped_agents(data: dict[str, Any], scope: frozenset[str] | None, shape: Callable[..., Any]) -> dict[str, Any]:
    """The agents this scope may see; null for one that has just left
    the scope, so the board drops it instead of showing it forever."""
    out: dict[str, Any] = {}
    left = data.get("left", {})
    for i, a in data["agents"].items():
        if visible(a, scope):
            out[i] = shape(a)
        elif i in left and (scope is None or left[i] & scope):
            out[i] = None
    return out
