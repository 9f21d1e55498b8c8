"""Shared fixtures.

Every database test runs twice, on SQLite and on PostgreSQL (`db_url` is
parametrised).  PostgreSQL gets one throw-away database per test run and
every test starts from empty tables; SQLite gets a fresh file per test.
Without PostgreSQL the PostgreSQL half skips loudly, except in CI
(CI=true), where an unreachable server is a failure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from callcenter.app import create_app
from callcenter.auth.models import Role, Skill, User
from callcenter.auth.service import issue_token
from callcenter.config import Settings, load_settings
from callcenter.db import Base, Database, import_all_models

import_all_models()

PG_SERVER = os.environ.get("CALLCENTER_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The project's shared data beside the repository (../shared: public AMI
# captures and tools), or where CALLCENTER_SHARED_DIR says.  Tests marked
# needs_shared skip, saying so, when it is absent (never in CI).
SHARED_DIR = Path(os.environ.get("CALLCENTER_SHARED_DIR") or Path(__file__).resolve().parents[1].parent / "shared")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if (SHARED_DIR / "ami-traces").is_dir():
        return
    skip = pytest.mark.skip(reason=f"needs the shared AMI captures at {SHARED_DIR}/ami-traces (../shared beside the repository, or CALLCENTER_SHARED_DIR)")
    for item in items:
        if item.get_closest_marker("needs_shared"):
            item.add_marker(skip)


def _reuse_route_handlers() -> None:
    """FastAPI (0.16x) builds an included route's handler (its dependency
    tree, body and response fields) lazily for each app, on first use: about
    0.5 s of CPU per app, paid again in every test, since each test makes its
    own app.  Our routers are module-level and are included without
    per-app dependencies, so a handler built for one app serves the next
    (nothing in it is per app except the dependency-override provider,
    which the tests do not use).  Production builds each once anyway."""
    from fastapi import routing

    ctx_cls = getattr(routing, "_EffectiveRouteContext", None)
    if ctx_cls is None or not hasattr(ctx_cls, "from_api_route"):
        return  # another FastAPI: nothing to reuse
    build = ctx_cls.from_api_route.__func__
    built: dict[tuple[object, ...], tuple[object, object, object]] = {}

    def from_api_route(cls, *, original_route, include_context):  # noqa: ANN001, ANN202
        if include_context.dependencies or include_context.callbacks:
            return build(cls, original_route=original_route, include_context=include_context)
        router = include_context.included_router
        key = (id(original_route), id(router), include_context.prefix, tuple(map(str, include_context.tags)))
        hit = built.get(key)
        if hit is None:  # the route and router are kept alive with it: their ids cannot be reused
            hit = built[key] = (original_route, router, build(cls, original_route=original_route, include_context=include_context))
        return hit[2]

    ctx_cls.from_api_route = classmethod(from_api_route)


_reuse_route_handlers()

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skip is a failure: a missing browser, database or data set
    must not pass as green."""
    if IN_CI and _skipped and exitstatus == 0:
        print(f"\nCI: {len(_skipped)} tests were skipped; in CI every test must run:")
        for nodeid in _skipped[:20]:
            print(f"  skipped: {nodeid}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
# A cheap argon2 hash of "password123", made once: hashing per test is slow.
_TEST_PASSWORD = "password123"


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_dsn(PG_SERVER) + "/postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def run_sync(coro_fn: Callable[[], object]) -> object:
    """Run a coroutine to completion from sync code, even when called while
    an event loop is running (a session fixture first needed by an async
    test): it gets its own loop in a worker thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coro_fn())).result()


def pg_create_database() -> str:
    """A fresh, uniquely named database on the local server; its URL."""
    name = f"cc_test_{uuid.uuid4().hex[:12]}"
    run_sync(lambda: _pg_admin(f'CREATE DATABASE "{name}"'))
    return f"{PG_SERVER}/{name}"


def pg_drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    run_sync(lambda: _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[None]:
    try:
        run_sync(lambda: _pg_admin("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        msg = f"PostgreSQL at {PG_SERVER} is not reachable ({type(exc).__name__}: {exc})"
        if IN_CI:
            pytest.fail(f"{msg}; in CI the PostgreSQL half of the suite must run", pytrace=False)
        warnings.warn(f"SKIPPING the PostgreSQL half of the suite: {msg}", stacklevel=1)
        print(f"\n!!!!! {msg}: PostgreSQL tests are SKIPPED !!!!!\n")
        pytest.skip(msg)
    yield


@pytest.fixture(scope="session")
def pg_url(pg_server: None) -> Iterator[str]:
    """One database for the whole run, with the schema created once."""
    url = pg_create_database()

    async def create() -> None:
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await db.dispose()

    run_sync(create)
    yield url
    pg_drop_database(url)


# The tables a test wrote to (rows left, or ids handed out), in one round trip:
# emptying only those is ~20x cheaper than TRUNCATE of every table.
_DIRTY_SEQUENCES = """
SELECT DISTINCT t.relname FROM pg_class s
JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_sequences ps ON ps.schemaname = current_schema() AND ps.sequencename = s.relname
WHERE s.relkind = 'S' AND ps.last_value IS NOT NULL
"""


async def _truncate_all(url: str) -> None:
    """Every table empty and every id sequence back at 1, as after create_all."""
    db = Database(url)
    names = [t.name for t in Base.metadata.sorted_tables]
    rows = " UNION ALL ".join(f"SELECT '{n}' WHERE EXISTS (SELECT 1 FROM \"{n}\")" for n in names)
    async with db.engine.begin() as conn:
        dirty = {r[0] for r in await conn.execute(text(rows))}
        dirty |= {r[0] for r in await conn.execute(text(_DIRTY_SEQUENCES))}
        if dirty:
            tables = ", ".join(f'"{n}"' for n in sorted(dirty))
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await db.dispose()


_SQLITE_TEMPLATE: list[Path] = []


async def _sqlite_copy(path: Path) -> None:
    """An empty SQLite database with the schema: a copy of one made per
    process (create_all per test costs ~0.4 s, a file copy ~1 ms)."""
    if not _SQLITE_TEMPLATE:
        template = Path(_SPOOLS.name) / f"template-{uuid.uuid4().hex}.db"
        db = Database(f"sqlite+aiosqlite:///{template}")
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await db.dispose()
        _SQLITE_TEMPLATE.append(template)
    shutil.copyfile(_SQLITE_TEMPLATE[0], path)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:  # noqa: ANN001
    """URL of an empty database with the current schema, on each backend."""
    if request.param == "sqlite":
        await _sqlite_copy(tmp_path / "test.db")
        yield f"sqlite+aiosqlite:///{tmp_path}/test.db"
    else:
        url = request.getfixturevalue("pg_url")
        await _truncate_all(url)
        yield url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


_SPOOLS = tempfile.TemporaryDirectory(prefix="cc-test-spools-")  # removed when the run ends


def make_settings(**overrides: object) -> Settings:
    base: dict[str, object] = {
        "jwt_secret": "test-jwt-secret-0123456789abcdefghij",
        "hook_secret": "test-hook-secret-0123456789abcdefghij",
        "ami_enabled": False,
        "simulator": False,
        "log_format": "console",
        # Each app its own spool: a write spooled in one test must never reach another's database.
        "spool_path": Path(_SPOOLS.name) / f"{uuid.uuid4().hex}.db",
    }
    base.update(overrides)
    return load_settings(**base)


@pytest.fixture
def settings(db_url: str, tmp_path) -> Settings:  # noqa: ANN001
    return make_settings(database_url=db_url, recordings_dir=tmp_path / "recordings")


@pytest.fixture
async def app(settings: Settings):  # noqa: ANN201
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@dataclass
class Actor:
    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


_hash_cache: dict[str, str] = {}


def _password_hash() -> str:
    if "h" not in _hash_cache:
        from callcenter.auth.service import hash_password

        _hash_cache["h"] = hash_password(_TEST_PASSWORD)
    return _hash_cache["h"]


@pytest.fixture
def make_user(db: Database, settings: Settings) -> Callable[..., object]:
    """`await make_user(Role.agent, username=..., interface=..., queues=[...])` -> Actor."""
    counter = iter(range(1, 10_000))

    async def make(
        role: Role = Role.agent,
        username: str | None = None,
        interface: str | None = None,
        queues: list[tuple[str, int]] | None = None,
        display_name: str | None = None,
        active: bool = True,
    ) -> Actor:
        n = next(counter)
        username = username or f"{role.value}{n}"
        if interface is None and role == Role.agent:
            interface = f"PJSIP/{8000 + n}"
        async with db.sessions() as s:
            user = User(
                username=username,
                display_name=display_name or f"{role.value.title()} {n}",
                role=role,
                interface=interface,
                password_hash=_password_hash(),
                active=active,
                skills=[Skill(queue=q, penalty=p) for q, p in (queues or [])],
            )
            s.add(user)
            await s.commit()
            await s.refresh(user)
        return Actor(user, issue_token(user, settings.jwt_secret, settings.jwt_ttl_s))

    return make


@pytest.fixture
def make_team(db: Database) -> Callable[..., object]:
    """`await make_team(lead_actor_or_None, *agent_actors, name=...)` -> team id:
    a team led by the lead with the agents as current members."""
    counter = iter(range(1, 10_000))

    async def make(lead: Actor | None, *agents: Actor, name: str | None = None) -> int:
        from callcenter.teams.models import Team, TeamLead, TeamMember

        async with db.sessions() as s:
            team = Team(name=name or f"team{next(counter)}", leads=[TeamLead(user_id=lead.user.id)] if lead else [])
            s.add(team)
            await s.flush()
            s.add_all(TeamMember(team_id=team.id, user_id=a.user.id) for a in agents)
            await s.commit()
            return team.id

    return make


@pytest.fixture
def password() -> str:
    return _TEST_PASSWORD
