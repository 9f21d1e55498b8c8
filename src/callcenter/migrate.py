"""Running Alembic from the program (`callcenter migrate`, demo, tests)."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory


def migrations_dir() -> Path:
    """migrations/ at the top of the checkout (src layout, editable install),
    or wherever CALLCENTER_MIGRATIONS_DIR points."""
    env = os.environ.get("CALLCENTER_MIGRATIONS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade the database; runs Alembic's own event loop, so call it from
    synchronous code (or a worker thread)."""
    command.upgrade(alembic_config(database_url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://")).get_current_head()


async def current_revision(database_url: str) -> str | None:
    from callcenter.db import make_engine

    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()


def is_current(database_url: str) -> bool:
    return asyncio.run(current_revision(database_url)) == head_revision()


# --- a site's own queue_log table ----------------------------------------------------
# With several PBXs (CALLCENTER_CLUSTER_SITES) each site's Asterisk writes its
# realtime queue_log into a table of its own (CALLCENTER_QUEUE_LOG_TABLE).  Its
# name is a setting of the deployment, not part of the schema's history, so it
# is no Alembic revision: `callcenter migrate` creates the configured one (and
# any named with --queue-log-table) after the upgrade, like queue_log, every
# time it runs (idempotent), and `callcenter serve` refuses to start without it.

QUEUE_LOG_TABLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")  # as config.queue_log_table


async def ensure_queue_log_tables(database_url: str, names: list[str]) -> dict[str, list[str]]:
    """Each named queue_log table made like queue_log where it is missing
    (columns, indexes, on PostgreSQL queue_log's grants); what was made, per table."""
    from callcenter.acd.queue_log import ensure_table
    from callcenter.db import make_engine

    for name in names:
        if not QUEUE_LOG_TABLE_RE.match(name):
            raise ValueError(f"{name!r} is not a queue_log table name (lower-case letters, digits, _)")
    engine = make_engine(database_url)
    out: dict[str, list[str]] = {}
    try:
        for name in dict.fromkeys(names):
            async with engine.begin() as conn:
                out[name] = await conn.run_sync(ensure_table, name)
    finally:
        await engine.dispose()
    return out


async def missing_tables(database_url: str, names: list[str]) -> list[str]:
    from sqlalchemy import inspect

    from callcenter.db import make_engine

    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: [n for n in names if not inspect(c).has_table(n)])
    finally:
        await engine.dispose()
