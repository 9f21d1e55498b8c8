"""Fault-test fixtures: a private PostgreSQL cluster the tests stop and
start (never the shared server on 5432), and a database on it with the
current schema."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from callcenter.db import Base, Database
from tests.conftest import IN_CI
from tests.pgcluster import PrivatePostgres, available


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivatePostgres]:
    """One private cluster for the run (initdb takes a second or two)."""
    if not available():
        msg = "initdb/pg_ctl not found: the private-PostgreSQL outage tests need the postgresql package"
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    pg = PrivatePostgres()
    pg.init()
    pg.start()
    yield pg
    pg.destroy()


@pytest.fixture
async def outage_pg(private_pg: PrivatePostgres) -> AsyncIterator[PrivatePostgres]:
    """The private cluster, running, with a fresh database (private_pg.test_url)."""
    if not private_pg.running:
        private_pg.start()
    name = f"cc_outage_{uuid.uuid4().hex[:10]}"
    url = private_pg.create_database(name)
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await db.dispose()
    private_pg.test_url = url  # type: ignore[attr-defined]
    yield private_pg
    if not private_pg.running:
        private_pg.start()
    private_pg.drop_database(name)
