"""A database outage does not sign anyone out (issue 12 §4, the users
part): users verified in the last `auth_cache_s` keep reading live state
and keep their websockets; what needs the database fails as the database
fails (the app's handler makes that a 503); revocation still works in this
process.  On a PostgreSQL cluster this test starts and stops itself, on its
own port (never the shared server)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from callcenter.auth.models import Role, Skill, User
from callcenter.auth.service import hash_password, issue_token
from callcenter.db import Base, Database

from ..conftest import IN_CI, make_settings, run_sync
from ..livesrv import LiveServer
from ..realtime.conftest import WS

pytestmark = pytest.mark.pg_only


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnPostgres:
    """A throw-away cluster: initdb, start, stop, start again."""

    def __init__(self, root: Path) -> None:
        self.bin = Path(shutil.which("pg_ctl") or "").parent
        self.dir = root / "pgdata"
        self.port = _free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        root.chmod(0o777)

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.dir), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir), "-o", opts, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir), "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def own_pg(tmp_path):  # noqa: ANN001, ANN201
    if not shutil.which("pg_ctl") or not shutil.which("initdb"):
        if IN_CI:
            pytest.fail("pg_ctl/initdb not found: the outage test needs its own PostgreSQL cluster")
        pytest.skip("pg_ctl/initdb not found")
    # Not under pytest's tmp_path: that is private to root, and the server
    # runs as the postgres user.
    root = Path(tempfile.mkdtemp(prefix="cc-own-pg-"))
    pg = OwnPostgres(root)
    pg.init()
    pg.start()
    yield pg
    try:
        pg.stop()
    except subprocess.CalledProcessError:
        pass
    shutil.rmtree(root, ignore_errors=True)


async def _seed(url: str) -> dict[str, User]:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    h = hash_password("Kx9-long-enough-pass")
    async with db.sessions() as s:
        users = {
            "lead": User(username="lead", display_name="班长", role=Role.team_lead, interface="PJSIP/7001", password_hash=h,
                         skills=[Skill(queue="repairs")]),
            "agent": User(username="agent", display_name="王静", role=Role.agent, interface="PJSIP/8001", password_hash=h),
            "late": User(username="late", display_name="迟到", role=Role.team_lead, password_hash=h),
        }  # fmt: skip
        s.add_all(users.values())
        await s.commit()
    await db.dispose()
    return users


async def _status(base: str, path: str, headers: dict[str, str]) -> int:
    """One request on its own connection: uvicorn closes a connection after
    an unhandled error, which must not fail the next request."""
    async with httpx.AsyncClient(base_url=base, timeout=20) as c:
        return (await c.get(path, headers=headers)).status_code


async def test_signed_in_users_ride_out_a_database_outage(own_pg):
    users = run_sync(lambda: _seed(own_pg.url))
    settings = make_settings(database_url=own_pg.url, auth_cache_s=300)
    srv = LiveServer(settings).start()
    tok = {k: issue_token(u, settings.jwt_secret, 3600) for k, u in users.items()}
    auth = {k: {"Authorization": f"Bearer {t}"} for k, t in tok.items()}
    try:
        async with httpx.AsyncClient(base_url=srv.url, timeout=20) as c:
            # verified while the database is up
            assert (await c.get("/api/acd/wallboard", headers=auth["lead"])).status_code == 200
            assert (await c.get("/api/auth/me", headers=auth["agent"])).status_code == 200
            conn = await connect(srv.url.replace("http", "ws") + "/ws", additional_headers=auth["lead"], open_timeout=5)
            ws = WS(conn)
            assert (await ws.recv())["type"] == "hello"

            own_pg.stop()

            # in-memory state still answers the users verified before
            r = await c.get("/api/acd/wallboard", headers=auth["lead"])
            assert r.status_code == 200, r.text
            assert (await c.get("/api/acd/agents/PJSIP/8001", headers=auth["agent"])).status_code == 200
            # the open websocket stays, and a new one opens
            assert (await ws.subscribe("wallboard"))["type"] == "snapshot"
            conn2 = await connect(srv.url.replace("http", "ws") + "/ws", additional_headers=auth["agent"], open_timeout=5)
            assert '"hello"' in await conn2.recv()
            # what needs the database fails, never as a 200 made up from the cache
            assert await _status(srv.url, "/api/queues", auth["lead"]) >= 500
            # a user never verified by this process is not let in on trust
            assert await _status(srv.url, "/api/acd/wallboard", auth["late"]) >= 500
            assert srv.app.state.sessions.outage_hits >= 3

            # sign-out still ends the session here, websockets included
            assert (await c.post("/api/auth/logout", headers=auth["agent"])).status_code == 204
            with pytest.raises(ConnectionClosed):
                async with __import__("asyncio").timeout(1.0):
                    while True:
                        await conn2.recv()
            assert (await c.get("/api/acd/agents/PJSIP/8001", headers=auth["agent"])).status_code == 401

            # the verified copy is short-lived: past auth_cache_s it is not used
            sessions = srv.app.state.sessions
            real = sessions.clock
            sessions.clock = lambda: real() + 301
            assert await _status(srv.url, "/api/acd/wallboard", auth["lead"]) >= 500
            sessions.clock = real

            own_pg.start()
            deadline = time.monotonic() + 20
            while await _status(srv.url, "/api/queues", auth["lead"]) != 200:
                assert time.monotonic() < deadline, "the app did not recover with the database"
            assert (await c.get("/api/acd/wallboard", headers=auth["late"])).status_code == 200
            await conn.close()
    finally:
        srv.stop()
