"""Actions forwarded to the leader through Redis (callcenter.cluster.requests):
answered, errors carried back as the gateway's own, and a retried request
acted on once (its id is the X-Request-Id with the method and arguments)."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from callcenter.ami.gateway import ActionResult, NotConnected
from callcenter.cluster.requests import Forwarder, RemoteGateway, Server
from callcenter.logs import request_id


async def test_forwarded_actions_run_once_per_request_id(shared_redis):  # noqa: ANN001
    url, prefix = shared_redis
    client = aioredis.from_url(url)
    calls: list[tuple[str, bool]] = []

    async def queue_pause(interface: str, paused: bool, reason: str = "") -> ActionResult:
        calls.append((interface, paused))
        return ActionResult("QueuePause", "a1", "Interface paused successfully")

    async def hangup(channel: str) -> None:
        raise NotConnected("Hangup", "the AMI link is down")

    server = Server(client, prefix, "default", {"queue_pause": queue_pause, "hangup": hangup})
    server.start()
    try:
        await asyncio.sleep(0.2)
        gw = RemoteGateway(Forwarder(client, prefix, "default", 3.0))
        token = request_id.set("req-1")
        try:
            first = await gw.queue_pause("PJSIP/8001", True, reason="break")
            again = await gw.queue_pause("PJSIP/8001", True, reason="break")  # a retry of the same request
        finally:
            request_id.reset(token)
        assert first == again == ActionResult("QueuePause", "a1", "Interface paused successfully")
        assert calls == [("PJSIP/8001", True)]
        assert server.stats["repeats"] == 1
        token = request_id.set("req-2")  # another request: acted on
        try:
            await gw.queue_pause("PJSIP/8001", True, reason="break")
        finally:
            request_id.reset(token)
        assert len(calls) == 2
        with pytest.raises(NotConnected, match="link is down"):
            await gw.hangup("PJSIP/8001-0001")
        with pytest.raises(AttributeError):
            gw.drop_database  # noqa: B018 - only the gateway's actions are forwarded
    finally:
        await server.stop()
        await client.aclose()


async def test_no_leader_means_a_clear_timeout(shared_redis):  # noqa: ANN001
    url, prefix = shared_redis
    client = aioredis.from_url(url)
    try:
        gw = RemoteGateway(Forwarder(client, prefix, "default", 1.0))
        with pytest.raises(NotConnected.__mro__[1], match="did not answer"):
            await gw.hangup("PJSIP/8001-0001")
    finally:
        await client.aclose()
