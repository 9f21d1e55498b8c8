"""Running Alembic from the program (`callcenter migrate`, demo, tests)."""

from __future__ import annotations

import asyncio
import os
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
