"""Actions taken on any node reach the PBX's leader through Redis.

A follower XADDs ``{id, m, a, dl}`` to ``P:X:requests`` and waits on the
list ``P:reply:<id>``; the leader runs the method (on its AMI gateway, its
ACD service or its hub) and pushes the answer there.  The id is the HTTP
request's X-Request-Id with the method and arguments, so a retried request
is run once: the leader keeps each answer for two minutes under
``P:X:done:<id>`` and sends that again instead of acting twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from callcenter.acd import events as ev
from callcenter.ami.gateway import ActionError, ActionResult, ActionTimeout, NotConnected
from callcenter.cluster.stream import dumps, keys
from callcenter.logs import request_id

log = logging.getLogger("callcenter.cluster")

# What a follower may ask of the leader: the gateway's actions, and the service calls routes make.
GATEWAY_METHODS = frozenset(
    {
        "queue_add", "queue_remove", "queue_pause", "originate", "click_to_call", "spy", "redirect",
        "blind_transfer", "atxfer", "hangup", "hold", "unhold", "mix_monitor", "pause_monitor",
        "unpause_monitor", "user_event",
    }
)  # fmt: skip
SERVICE_METHODS = frozenset({"acd.submit", "acd.submit_disposition", "acd.configure", "hub.action_result", "hub.settings_changed", "hub.refresh_pop"})
DONE_TTL_S = 120
ERRORS = {"ActionError": ActionError, "ActionTimeout": ActionTimeout, "NotConnected": NotConnected}


def request_key(method: str, args: list[Any], kwargs: dict[str, Any]) -> str:
    rid = request_id.get() or uuid.uuid4().hex
    digest = hashlib.sha1(dumps([method, args, kwargs]).encode()).hexdigest()[:16]
    return f"{rid}:{digest}"


def encode_event(event: Any) -> dict[str, Any]:
    return {"type": type(event).__name__, "fields": dataclasses.asdict(event)}


def decode_event(data: dict[str, Any]) -> Any:
    cls = getattr(ev, data["type"])
    return cls(**data["fields"])


class Forwarder:
    """The follower's side: one call, one request, one answer (or a timeout)."""

    def __init__(self, client: aioredis.Redis, prefix: str, pbx: str, timeout_s: float) -> None:
        self.redis = client
        self.prefix = prefix
        self.keys = keys(prefix, pbx)
        self.timeout_s = timeout_s

    async def call(self, method: str, *args: Any, wait: bool = True, **kwargs: Any) -> Any:
        rid = request_key(method, list(args), kwargs)
        reply_key = f"{self.prefix}:reply:{rid}"
        try:
            await self.redis.xadd(
                self.keys["requests"],
                {"id": rid, "m": method, "a": dumps({"args": args, "kwargs": kwargs}), "dl": repr(time.time() + self.timeout_s), "r": "1" if wait else ""},
                maxlen=10_000,
                approximate=True,
            )
            if not wait:
                return None
            got = await self.redis.blpop([reply_key], timeout=self.timeout_s)
        except (aioredis.RedisError, OSError) as exc:
            raise NotConnected(method, f"cannot reach the cluster's leader through Redis: {exc}") from None
        if got is None:
            raise ActionTimeout(method, f"the PBX's leader did not answer within {self.timeout_s:.0f} s (a leader change?)")
        answer = json.loads(got[1])
        if answer.get("ok"):
            result = answer.get("result")
            if isinstance(result, dict) and result.get("__action_result__"):
                return ActionResult(result["action"], result["action_id"], result["message"])
            return result
        err = ERRORS.get(answer.get("error", ""), ActionError)
        raise err(answer.get("action") or method, answer.get("message") or "failed on the leader")


class RemoteGateway:
    """Stands in for callcenter.ami.gateway.Gateway on a follower."""

    def __init__(self, forwarder: Forwarder) -> None:
        self._fwd = forwarder

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        if name not in GATEWAY_METHODS:
            raise AttributeError(name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._fwd.call(name, *args, **kwargs)

        return call


class Server:
    """The leader's side: reads the request stream from when it became
    leader and answers each request once."""

    def __init__(self, client: aioredis.Redis, prefix: str, pbx: str, handlers: dict[str, Callable[..., Awaitable[Any]]]) -> None:
        self.redis = client
        self.prefix = prefix
        self.keys = keys(prefix, pbx)
        self.handlers = handlers
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self.stats = {"served": 0, "repeats": 0, "expired": 0}

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="cluster-requests")

    async def stop(self) -> None:
        """As Mirror.stop: the loop ends after its current (short) read."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=1.5)
            if not done:
                task.cancel()
        for t in list(self._running):
            t.cancel()

    async def _run(self) -> None:
        last = "$"
        try:
            info = await self.redis.xinfo_stream(self.keys["requests"])
            last = info["last-generated-id"]  # from now on: older requests' followers have given up or will retry
        except Exception:  # noqa: BLE001 - no stream yet
            last = "0-0"
        while not self._stopping:
            try:
                got = await self.redis.xread({self.keys["requests"]: last}, count=100, block=300)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis away; followers time out meanwhile
                await asyncio.sleep(0.2)
                continue
            for _stream, entries in got or ():
                for eid, fields in entries:
                    last = eid
                    task = asyncio.create_task(self._serve({k.decode(): v.decode() for k, v in fields.items()}))
                    self._running.add(task)
                    task.add_done_callback(self._running.discard)

    async def _serve(self, f: dict[str, str]) -> None:
        rid, method = f["id"], f["m"]
        reply_key = f"{self.prefix}:reply:{rid}"
        done_key = f"{self.keys['requests']}:done:{rid}"
        try:
            if float(f.get("dl") or 0) < time.time():
                self.stats["expired"] += 1
                return  # the follower has given up: acting now would surprise everyone
            if not await self.redis.set(done_key, "", nx=True, ex=DONE_TTL_S):
                self.stats["repeats"] += 1
                previous = await self.redis.get(done_key)
                if previous and f.get("r"):
                    await self._reply(reply_key, previous)
                return
            answer = await self._run_method(method, json.loads(f["a"]))
            text = dumps(answer)
            await self.redis.set(done_key, text, ex=DONE_TTL_S)
            if f.get("r"):
                await self._reply(reply_key, text)
            self.stats["served"] += 1
        except Exception as exc:  # noqa: BLE001 - one bad request must not stop the server
            log.warning("cluster request %s %s failed: %s: %s", method, rid, type(exc).__name__, exc)

    async def _reply(self, key: str, text: str | bytes) -> None:
        async with self.redis.pipeline(transaction=True) as p:
            p.rpush(key, text)
            p.expire(key, 30)
            await p.execute()

    async def _run_method(self, method: str, a: dict[str, Any]) -> dict[str, Any]:
        handler = self.handlers.get(method)
        if handler is None:
            return {"ok": False, "error": "ActionError", "action": method, "message": f"{method} is not an action the leader runs"}
        try:
            result = await handler(*a.get("args", ()), **a.get("kwargs", {}))
        except ActionError as exc:
            return {"ok": False, "error": type(exc).__name__, "action": exc.action, "message": str(exc.message if hasattr(exc, "message") else exc)}
        except Exception as exc:  # noqa: BLE001 - reported to the follower, which answers the browser
            return {"ok": False, "error": "ActionError", "action": method, "message": f"{type(exc).__name__}: {exc}"}
        if isinstance(result, ActionResult):
            result = {"__action_result__": True, "action": result.action, "action_id": result.action_id, "message": result.message}
        elif not isinstance(result, (dict, list, str, int, float, bool, type(None))):
            result = None
        return {"ok": True, "result": result}
