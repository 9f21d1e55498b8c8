"""A site's own queue_log table (issue 18, several PBXs): `callcenter
migrate` makes the one CALLCENTER_QUEUE_LOG_TABLE names (and any named with
--queue-log-table) like queue_log, idempotently, on both databases; serve
refuses to start without it; the site's backfill reads it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, insert, text

from callcenter.acd import queue_log
from callcenter.db import Database

from .conftest import _pg_admin, pg_create_database, pg_drop_database, run_sync


def cc(url: str, *args: str, table: str = "queue_log") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    env.update(CALLCENTER_DATABASE_URL=url, CALLCENTER_ENV_FILE="/nonexistent", CALLCENTER_QUEUE_LOG_TABLE=table)
    return subprocess.run([sys.executable, "-m", "callcenter", *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):  # noqa: ANN001, ANN201
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/sites.db"
    else:
        request.getfixturevalue("pg_server")
        url = pg_create_database()
        yield url
        pg_drop_database(url)


def _shape(c, name: str) -> tuple[list[tuple[str, str, bool]], set[tuple[str, ...]], list[str]]:  # noqa: ANN001
    """(columns as (name, type, nullable), indexed column lists, primary key)."""
    insp = inspect(c)
    cols = [(col["name"], str(col["type"]), col["nullable"]) for col in insp.get_columns(name)]
    return cols, {tuple(ix["column_names"]) for ix in insp.get_indexes(name)}, insp.get_pk_constraint(name)["constrained_columns"]


async def _shapes(url: str, *names: str) -> dict[str, object]:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return {n: await conn.run_sync(_shape, n) for n in names}
    finally:
        await db.dispose()


async def test_migrate_makes_each_sites_queue_log_table(fresh_url):  # noqa: ANN001
    # The south site's nodes run migrate with their settings; the north one is named on the command line.
    p = cc(fresh_url, "migrate", "--queue-log-table", "queue_log_north", table="queue_log_south")
    assert p.returncode == 0, p.stderr
    assert "queue_log table queue_log_south: table queue_log_south" in p.stdout, p.stdout
    assert "queue_log table queue_log_north: table queue_log_north" in p.stdout, p.stdout

    shapes = await _shapes(fresh_url, "queue_log", "queue_log_south", "queue_log_north")
    base_cols, base_ix, base_pk = shapes["queue_log"]
    assert base_ix == {("time",), ("callid",)} and base_pk == ["id"]
    for name in ("queue_log_south", "queue_log_north"):
        assert shapes[name] == shapes["queue_log"], (name, shapes[name], shapes["queue_log"])

    # Again (every start of a systemd unit runs it): nothing made, nothing broken.
    again = cc(fresh_url, "migrate", "--queue-log-table", "queue_log_north", table="queue_log_south")
    assert again.returncode == 0, again.stderr
    assert "queue_log table queue_log_south: already there" in again.stdout, again.stdout
    assert "queue_log table queue_log_north: already there" in again.stdout, again.stdout

    # Asterisk's insert (no id) into the site's table, read by that site's backfill only.
    db = Database(fresh_url)
    try:
        t0 = datetime(2026, 11, 26, 9, 0, 0)
        cols = dict(callid="1764147600.1", queuename="repairs", agent="NONE", event="ENTERQUEUE", data1="", data2="13800138000", data3="1", data4="", data5="")
        async with db.engine.begin() as conn:
            await conn.execute(insert(queue_log.table("queue_log_south")), [{**cols, "time": t0}, {**cols, "time": t0, "callid": "1764147600.2"}])
        ts = t0.replace(tzinfo=UTC).timestamp()
        south = await queue_log.read_rows(db, ts - 1, ts + 1, "queue_log_south")
        assert [r.callid for r in south] == ["1764147600.1", "1764147600.2"] and south[0].id != south[1].id
        assert await queue_log.read_rows(db, ts - 1, ts + 1, "queue_log_north") == ()
        assert await queue_log.read_rows(db, ts - 1, ts + 1) == ()
    finally:
        await db.dispose()


def test_serve_refuses_without_its_sites_queue_log_table(fresh_url):  # noqa: ANN001
    assert cc(fresh_url, "migrate").returncode == 0
    p = cc(fresh_url, "serve", table="queue_log_west")
    assert p.returncode == 2, p.stderr
    assert "queue_log_west" in p.stderr and "callcenter migrate" in p.stderr and "Traceback" not in p.stderr
    bad = cc(fresh_url, "migrate", "--queue-log-table", "Queue-Log")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr


async def test_a_table_made_by_hand_keeps_its_indexes(fresh_url):  # noqa: ANN001
    """An operator made the table before this existed (`LIKE queue_log
    INCLUDING ALL` on PostgreSQL; on SQLite without its indexes): migrate
    leaves what is there and adds only the indexes it lacks."""
    assert cc(fresh_url, "migrate").returncode == 0
    db = Database(fresh_url)
    try:
        async with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("CREATE TABLE queue_log_east (LIKE queue_log INCLUDING ALL)"))
            else:
                await conn.execute(text("CREATE TABLE queue_log_east AS SELECT * FROM queue_log WHERE 0"))
            before = {tuple(ix["column_names"]) for ix in await conn.run_sync(lambda c: inspect(c).get_indexes("queue_log_east"))}
    finally:
        await db.dispose()
    p = cc(fresh_url, "migrate", table="queue_log_east")
    assert p.returncode == 0, p.stderr
    after = (await _shapes(fresh_url, "queue_log_east"))["queue_log_east"][1]
    assert after == {("time",), ("callid",)}, after
    if before:  # PostgreSQL's LIKE copied both: nothing added
        assert "queue_log table queue_log_east: already there" in p.stdout, p.stdout
    else:
        assert "index ix_queue_log_east_time" in p.stdout and "index ix_queue_log_east_callid" in p.stdout, p.stdout


@pytest.mark.pg_only
def test_the_asterisk_roles_grants_follow(pg_server):  # noqa: ANN001
    """asterisk/res_pgsql.conf's role may INSERT into queue_log and use its
    sequence: a site's new table gets the same, so that site's Asterisk writes it."""
    url = pg_create_database()
    role = f"cc_ast_{uuid.uuid4().hex[:8]}"
    run_sync(lambda: _pg_admin(f"CREATE ROLE {role} NOLOGIN"))
    try:
        assert cc(url, "migrate").returncode == 0

        async def grant_and_check() -> list[bool]:
            db = Database(url)
            try:
                async with db.engine.begin() as conn:
                    await conn.execute(text(f"GRANT SELECT, INSERT ON queue_log TO {role}"))
                    await conn.execute(text(f"GRANT USAGE ON SEQUENCE queue_log_id_seq TO {role}"))
                p = await _run(url)
                assert p.returncode == 0 and f"grant INSERT on queue_log_south to {role}" in p.stdout, (p.stdout, p.stderr)
                async with db.engine.connect() as conn:
                    return [
                        (await conn.execute(text(f"SELECT has_table_privilege('{role}', 'queue_log_south', '{priv}')"))).scalar()
                        for priv in ("INSERT", "SELECT", "UPDATE", "DELETE")
                    ] + [(await conn.execute(text(f"SELECT has_sequence_privilege('{role}', 'queue_log_south_id_seq', 'USAGE')"))).scalar()]
            finally:
                await db.dispose()

        async def _run(u: str) -> subprocess.CompletedProcess[str]:
            import asyncio

            return await asyncio.to_thread(cc, u, "migrate", table="queue_log_south")

        assert run_sync(grant_and_check) == [True, True, False, False, True]
    finally:
        pg_drop_database(url)
        run_sync(lambda: _pg_admin(f"DROP ROLE IF EXISTS {role}"))
