"""The API during a database outage (issue 12 §4): what needs the database
answers 503 with Retry-After, never 500; the dialplan's writes are spooled
and stored once it is back, each once.

On both databases the outage is made by pointing the app at a database
that cannot be reached; on PostgreSQL it is also the real thing, a private
cluster stopped under the running app (tests/outage/conftest.py)."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qsl

import httpx
import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from callcenter.app import create_app
from callcenter.auth.models import Role
from callcenter.crm.models import CallbackTask
from callcenter.db import Database
from callcenter.hooks.models import RouteDecision, SurveyResponse
from tests.conftest import make_settings
from tests.livesrv import LiveServer


def fields(text: str) -> dict[str, str]:
    return dict(parse_qsl(text, keep_blank_values=True))


def unreachable(db_url: str, tmp_path) -> Database:  # noqa: ANN001
    if db_url.startswith("sqlite"):
        (tmp_path / "gone.db").mkdir()  # SQLite cannot open a directory
        return Database(f"sqlite+aiosqlite:///{tmp_path / 'gone.db'}")
    return Database("postgresql+asyncpg://postgres@127.0.0.1:9/none")  # nothing listens on port 9


async def _during_outage(client: httpx.AsyncClient, hook: dict[str, str], token: dict[str, str], n: int) -> None:
    """What the issue saw answer 500: now 503 for what needs the database,
    and the dialplan's writes accepted (spooled)."""
    for path in ("/api/queues", "/api/acd/wallboard", "/api/customers?q=1"):
        r = await client.get(path, headers=token)
        assert r.status_code in (200, 503), (path, r.status_code, r.text)  # 200: served from memory
        if r.status_code == 503:
            assert r.headers["retry-after"] == "5" and "database" in r.json()["detail"]
    r = await client.get("/api/queues", headers=token)
    assert r.status_code == 503  # queue settings live in the database
    r = await client.post("/api/auth/login", json={"username": "x", "password": "password123"})
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    for i in range(n):
        r = await client.get("/hooks/survey", params={"uniqueid": f"9.{i}", "score": str(1 + i % 5), "queue": "repairs"}, headers=hook)
        assert r.status_code == 200 and fields(r.text) == {"status": "queued", "score": str(1 + i % 5)}
    r = await client.get("/hooks/callback", params={"uniqueid": "9.100", "caller": "13800138000", "queue": "repairs"}, headers=hook)
    assert r.status_code == 200 and fields(r.text) | {"due": ""} == {"status": "queued", "task": "", "due": ""}
    r = await client.get("/hooks/route", params={"uniqueid": "9.200", "caller": "13800138001"}, headers=hook)
    assert r.status_code == 200 and fields(r.text)["queue"]


async def _stored(db: Database, n: int) -> None:
    async with db.sessions() as s:
        surveys = {r.uniqueid: r.score for r in (await s.execute(select(SurveyResponse))).scalars()}
        assert surveys == {f"9.{i}": 1 + i % 5 for i in range(n)}
        [task] = (await s.execute(select(CallbackTask))).scalars().all()
        assert (task.number, task.uniqueid, task.queue) == ("13800138000", "9.100", "repairs")
        assert await s.scalar(select(func.count()).select_from(RouteDecision).where(RouteDecision.uniqueid == "9.200")) == 1


async def test_an_unreachable_database_is_503_and_hooks_spool(app, client, db, db_url, make_user, tmp_path):
    lead = await make_user(Role.team_lead, queues=[("repairs", 0)])
    hook = {"X-Hook-Secret": app.state.settings.hook_secret}
    assert (await client.get("/api/queues", headers=lead.headers)).status_code == 200
    # The API's database goes away (the route lookup and the decision log
    # keep their own connections here; the real outage below stops them too).
    good, app.state.db = app.state.db, unreachable(db_url, tmp_path)
    try:
        await _during_outage(client, hook, lead.headers, 20)
    finally:
        await app.state.db.dispose()
        app.state.db = good
    await app.state.routes.log.flush()
    spool = app.state.spool
    # 20 scores and a callback request on disk, but for what the app's own
    # replayer (every second, into the good database) has already stored:
    # _stored below proves each is there once.
    assert 0 < len(spool) <= 21
    await spool.replay(good)
    assert len(spool) == 0
    await _stored(db, 20)
    await spool.replay(good)  # nothing twice
    await _stored(db, 20)


@pytest.mark.pg_only
async def test_postgresql_stopped_under_the_running_app(outage_pg, tmp_path):
    """The real thing: the private cluster is stopped while the app runs,
    then started again.  The app's own replayer stores what was spooled."""
    url = outage_pg.test_url
    settings = make_settings(database_url=url, recordings_dir=tmp_path / "rec", spool_path=tmp_path / "spool.db")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        from tests.conftest import Actor, _password_hash  # noqa: PLC0415 - the same helpers make_user uses
        from callcenter.auth.models import User
        from callcenter.auth.service import issue_token

        async with app.state.db.sessions() as s:
            user = User(username="lead", display_name="Lead", role=Role.team_lead, password_hash=_password_hash(), active=True)
            s.add(user)
            await s.commit()
            await s.refresh(user)
        lead = Actor(user, issue_token(user, settings.jwt_secret, settings.jwt_ttl_s))
        hook = {"X-Hook-Secret": settings.hook_secret}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/api/queues", headers=lead.headers)).status_code == 200
            outage_pg.stop()
            t0 = time.monotonic()
            await _during_outage(client, hook, lead.headers, 20)
            assert time.monotonic() - t0 < 10  # every answer came promptly, nothing hung on the dead server
            await app.state.routes.log.flush()
            assert len(app.state.spool) == 22
            outage_pg.start()
            deadline = time.monotonic() + 15
            while len(app.state.spool) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert len(app.state.spool) == 0, "the replayer did not write the spool back"
            assert (await client.get("/api/queues", headers=lead.headers)).status_code == 200
        await _stored(app.state.db, 20)


@pytest.mark.pg_only
async def test_new_websockets_are_refused_cleanly_while_the_database_is_away(outage_pg, tmp_path):
    """Not a 500 on the upgrade: the socket opens and closes with 1013
    (try again later), which the desktop's reconnect loop understands."""
    from callcenter.auth.models import User
    from callcenter.auth.service import issue_token

    from tests.conftest import _password_hash

    settings = make_settings(database_url=outage_pg.test_url, recordings_dir=tmp_path / "rec", spool_path=tmp_path / "spool.db")
    db = Database(outage_pg.test_url)
    async with db.sessions() as s:
        user = User(username="agent", display_name="Agent", role=Role.agent, interface="PJSIP/8001", password_hash=_password_hash(), active=True)
        s.add(user)
        await s.commit()
        await s.refresh(user)
    await db.dispose()
    token = issue_token(user, settings.jwt_secret, settings.jwt_ttl_s)
    srv = await asyncio.to_thread(lambda: LiveServer(settings).start())
    try:
        outage_pg.stop()
        url = srv.url.replace("http", "ws") + "/ws"
        with pytest.raises(ConnectionClosed) as closed:
            async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10) as ws:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013, closed.value
    finally:
        await asyncio.to_thread(srv.stop)


def _raised(fn):  # noqa: ANN001, ANN202
    try:
        fn()
    except Exception as exc:  # noqa: BLE001
        return exc
    raise AssertionError("did not raise")


def test_what_counts_as_the_database_being_away():
    import sqlite3

    import asyncpg
    from sqlalchemy.exc import IntegrityError, OperationalError

    from callcenter.db import is_unavailable

    def wrapped(orig: Exception) -> Exception:
        def f() -> None:
            raise OperationalError("SELECT 1", {}, orig) from orig

        return _raised(f)

    def hidden_timeout() -> None:
        try:
            raise TimeoutError
        except TimeoutError:
            raise ValueError("no reply") from None

    away = [ConnectionRefusedError(111, "refused"), TimeoutError(), asyncpg.CannotConnectNowError("starting up"),
            asyncpg.ConnectionDoesNotExistError("closed"), wrapped(sqlite3.OperationalError("unable to open database file"))]  # fmt: skip
    bugs = [ValueError("x"), FileNotFoundError(2, "gone"), IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE")),
            wrapped(sqlite3.OperationalError("no such column: x")), _raised(hidden_timeout)]  # fmt: skip
    assert [is_unavailable(e) for e in away] == [True] * len(away)
    assert [is_unavailable(e) for e in bugs] == [False] * len(bugs)
