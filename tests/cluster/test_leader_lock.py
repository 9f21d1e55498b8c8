"""The leader lock's "is it free" looks at this database only: advisory
locks are per database, and another centre (or test) on the same
PostgreSQL server holds its own PBX's lock under the same key."""

from __future__ import annotations

import asyncpg

from callcenter.cluster.leader import LOCK_CLASS, LeaderLock, asyncpg_dsn, lock_key

from ..conftest import pg_create_database, pg_drop_database


async def test_a_lock_held_in_another_database_leaves_this_one_free(pg_server) -> None:  # noqa: ANN001
    ours, theirs = pg_create_database(), pg_create_database()
    other = await asyncpg.connect(asyncpg_dsn(theirs))
    here = await asyncpg.connect(asyncpg_dsn(ours))
    lock = LeaderLock(ours, "south", "n1")
    try:
        assert await other.fetchval("SELECT pg_try_advisory_lock($1, $2)", LOCK_CLASS, lock_key("south"))
        assert await lock.is_free()  # another database's holder: ours is free
        assert await here.fetchval("SELECT pg_try_advisory_lock($1, $2)", LOCK_CLASS, lock_key("south"))
        assert not await lock.is_free()  # held in this database now
    finally:
        await lock.release()
        await other.close()
        await here.close()
        pg_drop_database(ours)
        pg_drop_database(theirs)
