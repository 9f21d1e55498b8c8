"""Database plumbing: one declarative Base, one async engine per process.

SQLite (embedded default) and PostgreSQL (production) run the same models;
anything dialect-specific stays in this file.
"""

from __future__ import annotations

import errno
import socket
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import DateTime, MetaData, event, exc as sa_exc, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic diffs are identical on both dialects.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both dialects.

    SQLite has no time zones and hands back naive values; this keeps every
    datetime in the program aware, so comparisons never mix the two.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def dialect_insert(s: AsyncSession, table: Any) -> Any:
    """INSERT into `table` in the session's dialect (PostgreSQL or SQLite), for its ON CONFLICT clauses."""
    if s.bind is not None and s.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    # A connect that gets no answer (a partition, not a refusal) fails in
    # seconds, not asyncpg's 60: callers then answer 503 or spool.
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, connect_args={"timeout": CONNECT_TIMEOUT_S})


CONNECT_TIMEOUT_S = 5.0

# asyncpg's: the server is gone, shutting down, starting up or refusing us for now.
_PG_AWAY = (asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError, asyncpg.InsufficientResourcesError)
_SQLITE_AWAY = ("unable to open database file", "disk i/o error", "database is locked", "readonly database")
_NET_ERRNOS = {errno.ENETDOWN, errno.ENETUNREACH, errno.EHOSTDOWN, errno.EHOSTUNREACH, errno.ETIMEDOUT, errno.ENOTCONN}


def is_unavailable(exc: BaseException) -> bool:
    """Is this the database being unreachable (answer 503, spool the write)
    rather than a bug?  Looks through SQLAlchemy's wrapping and the cause
    chain, on both dialects."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, (ConnectionError, TimeoutError, sa_exc.TimeoutError, *_PG_AWAY)):
            return True
        if isinstance(e, socket.gaierror) or (isinstance(e, OSError) and e.errno in _NET_ERRNOS):
            return True
        if isinstance(e, asyncpg.InterfaceError) and "closed" in str(e):
            return True  # "connection is closed": the server went away under it
        if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, sqlite3.OperationalError) and any(m in str(e).lower() for m in _SQLITE_AWAY):
            return True
        if isinstance(e, sa_exc.OperationalError) and e.orig is not None and any(m in str(e.orig).lower() for m in _SQLITE_AWAY):
            return True
        todo += [getattr(e, "orig", None), e.__cause__, None if e.__suppress_context__ else e.__context__]
    return False


class Database:
    """The engine and its session factory, owned by the app's lifespan."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as s:
            yield s

    async def dispose(self) -> None:
        await self.engine.dispose()


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL as asyncpg's own connect() takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def import_all_models() -> None:
    """Import every capability's models so Base.metadata is complete
    (Alembic autogenerate and the test fixtures rely on it)."""
    import callcenter.models  # noqa: F401


async def allocate_ids(session: AsyncSession, table: str, n: int) -> list[int]:
    """n fresh primary keys for `table`, for bulk inserts that must know
    their ids (children rows) without a RETURNING round trip per row.

    PostgreSQL draws them from the table's sequence, safe under concurrent
    writers.  SQLite continues from max(id): SQLite has one writer at a time,
    and a writer that slipped in before our first insert makes it fail with
    an IntegrityError, rolling the whole transaction back (never a mix).
    """
    if n <= 0:
        return []
    if session.bind.dialect.name == "postgresql":
        rows = await session.execute(
            text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"), {"n": n}
        )
        return [r[0] for r in rows]
    top = (await session.execute(text(f'SELECT coalesce(max(id), 0) FROM "{table}"'))).scalar_one()
    return list(range(top + 1, top + 1 + n))
