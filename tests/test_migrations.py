"""Migrations run on both dialects and agree with the models."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from callcenter.db import Base, Database
from callcenter.migrate import current_revision, head_revision, upgrade

from .conftest import pg_create_database, pg_drop_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):  # noqa: ANN001, ANN201
    """An empty database (no tables at all), on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/migrate.db"
    else:
        request.getfixturevalue("pg_server")
        url = pg_create_database()
        yield url
        pg_drop_database(url)


async def test_upgrade_reaches_head_and_matches_models(empty_url):
    await asyncio.to_thread(upgrade, empty_url)
    assert await current_revision(empty_url) == head_revision()

    db = Database(empty_url)
    try:
        async with db.engine.connect() as conn:

            def diff(sync_conn):  # noqa: ANN001, ANN202
                ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return compare_metadata(ctx, Base.metadata)

            changes = await conn.run_sync(diff)
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await db.dispose()
    assert changes == [], f"models and migrations disagree; run alembic revision --autogenerate: {changes}"
    assert set(Base.metadata.tables) <= tables


async def test_upgrade_is_idempotent(empty_url):
    await asyncio.to_thread(upgrade, empty_url)
    await asyncio.to_thread(upgrade, empty_url)
    assert await current_revision(empty_url) == head_revision()
