"""Cluster-test fixtures: a fresh PostgreSQL database (the shared server on
5432) and a key prefix of our own on the shared Redis (6379), removed after
the test; the shared Redis is never flushed or stopped."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
import redis.asyncio as aioredis

from tests.conftest import IN_CI, pg_create_database, pg_drop_database

SHARED_REDIS = "redis://127.0.0.1:6379/0"


def _redis_or_skip(url: str) -> None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        msg = f"Redis at {url} is not reachable ({exc}): the cluster tests need it"
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)


@pytest.fixture
def cluster_db(pg_server: None) -> Iterator[str]:
    url = pg_create_database()
    yield url
    pg_drop_database(url)


async def drop_prefix(url: str, prefix: str) -> None:
    client = aioredis.from_url(url)
    try:
        async for key in client.scan_iter(match=f"{prefix}:*", count=500):
            await client.delete(key)
    finally:
        await client.aclose()


@pytest.fixture
async def shared_redis() -> AsyncIterator[tuple[str, str]]:
    """(url, prefix): the shared Redis with a key prefix of this test's own."""
    _redis_or_skip(SHARED_REDIS)
    prefix = f"cctest-{uuid.uuid4().hex[:10]}"
    yield SHARED_REDIS, prefix
    await drop_prefix(SHARED_REDIS, prefix)


class PrivateRedis:
    """A redis-server of our own on a free port, which the test may kill."""

    def __init__(self, tmp: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.tmp = tmp
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        assert exe
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", self.tmp],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:  # noqa: ANN001
    if shutil.which("redis-server") is None:
        msg = "redis-server not found: the Redis outage test starts its own"
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    r = PrivateRedis(str(tmp_path))
    r.start()
    yield r
    r.kill()
