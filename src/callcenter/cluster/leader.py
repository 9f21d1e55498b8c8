"""Who leads a PBX: a PostgreSQL advisory lock, held by one connection.

The lock is the session's: it goes when the holder's connection does, so a
leader killed with -9 (its sockets closed by the kernel) frees it at once
and the next node's try, `election_s` later, takes it.  Taking it bumps the
PBX's fencing token in ``cluster_leases``; the token numbers the leader's
stream epoch and guards its writes of the calls in progress, so a deposed
leader still running cannot overwrite its successor's.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from typing import Any

import asyncpg

log = logging.getLogger("callcenter.cluster")

LOCK_CLASS = 0x43430  # the advisory locks' first key: ours ("CC0")
JOBS_CLASS = 0x43431  # the centre's periodic jobs: one holder in the whole cluster, whatever the PBXs
JOBS = "*jobs"  # its lease row (no PBX can be named so: config.pbx is [A-Za-z0-9_.-])


class Fenced(Exception):
    """A newer leader holds this PBX."""


def lock_key(pbx: str) -> int:
    return zlib.crc32(pbx.encode()) & 0x7FFFFFFF


def asyncpg_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


class LeaderLock:
    def __init__(self, database_url: str, pbx: str, node: str, lock_class: int = LOCK_CLASS) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.lock_class = lock_class
        self.pbx = pbx
        self.node = node
        self.conn: asyncpg.Connection | None = None
        self.token = 0

    async def try_acquire(self) -> bool:
        """Take the lock if it is free (and bump the fencing token)."""
        if self.conn is None or self.conn.is_closed():
            self.conn = await asyncpg.connect(self.dsn, timeout=5)
        got = await self.conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", self.lock_class, lock_key(self.pbx), timeout=5)
        if not got:
            return False
        self.token = await self.conn.fetchval(
            """INSERT INTO cluster_leases (pbx, node, token, acquired_at) VALUES ($1, $2, 1, now())
               ON CONFLICT (pbx) DO UPDATE SET token = cluster_leases.token + 1, node = EXCLUDED.node, acquired_at = now()
               RETURNING token""",
            self.pbx,
            self.node,
            timeout=5,
        )
        return True

    async def is_free(self) -> bool:
        """Nobody holds the lock (without taking it: a follower with no warm
        core lets a warm one take it first).  pg_locks lists every
        database's locks: only this database's count (advisory locks are per
        database; another centre, or another test, on the same server holds
        its own)."""
        if self.conn is None or self.conn.is_closed():
            self.conn = await asyncpg.connect(self.dsn, timeout=5)
        held = await self.conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 2 AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            self.lock_class,
            lock_key(self.pbx),
            timeout=5,
        )
        return held == 0

    async def still_held(self, timeout: float = 3.0) -> bool:
        """The lock connection answers (so the lock is still ours)."""
        if self.conn is None or self.conn.is_closed():
            return False
        try:
            await self.conn.fetchval("SELECT 1", timeout=timeout)
            return True
        except Exception:  # noqa: BLE001 - any failure: the lock may be gone
            return False

    async def release(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            await asyncio.wait_for(conn.close(), 3)
        except Exception:  # noqa: BLE001
            conn.terminate()

    async def fence(self, session: Any) -> None:
        """In the caller's transaction: refuse if a newer token exists (and
        hold the lease row until commit, so a new leader waits for us)."""
        from sqlalchemy import text

        token = (await session.execute(text("SELECT token FROM cluster_leases WHERE pbx = :pbx FOR UPDATE"), {"pbx": self.pbx})).scalar()
        if token is not None and token != self.token:
            raise Fenced(f"PBX {self.pbx}: leader token {token} is newer than ours ({self.token})")
