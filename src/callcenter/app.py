"""The app factory.  The lifespan starts the long-lived services in order
(database, then the rest) and stops them in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
from fastapi import FastAPI, Request, Response, WebSocket
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError, TimeoutError as SATimeoutError
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketState
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from callcenter import __version__, gcfreeze
from callcenter.auth import api as auth_api
from callcenter.auth.service import LoginThrottle
from callcenter.auth.sessions import Sessions
from callcenter.acd import api as acd_api
from callcenter.admin import api as admin_api
from callcenter.reports import api as reports_api
from callcenter.acd.service import AcdService, core_config_from
from callcenter.crm import api as crm_api
from callcenter.outbound import api as outbound_api
from callcenter.outbound import jobs as outbound_jobs
from callcenter.hooks import api as hooks_api
from callcenter.hooks import service as hooks_service
from callcenter.config import Settings, get_settings
from callcenter.db import Database, is_unavailable
from callcenter.logs import request_id
from callcenter.qa import api as qa_api
from callcenter.qa.service import scheduled_jobs
from callcenter.realtime import api as realtime_api
from callcenter.realtime import revocation, trace
from callcenter.realtime.hub import Hub
from callcenter.realtime.screenpop import CustomerLookup
from callcenter.spool import Spool
from callcenter.teams import api as teams_api
from callcenter import validation
from callcenter.validation import RefuseNul
from callcenter.web import api as web_api
from callcenter.web import docs as web_docs
from callcenter.workorders import api as workorders_api
from callcenter.workorders.api import scheduled_jobs as workorder_jobs

log = logging.getLogger("callcenter.http")

RETRY_AFTER_S = 5
# Where a lost database shows up; db.is_unavailable says which of these are that.
UNAVAILABLE_TYPES = (DBAPIError, SATimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError)

HTTP_REQUESTS = Counter("callcenter_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "callcenter_http_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


# Pages load only our own scripts (no inline script, no CDN: intranets have
# no internet anyway), may not be framed (clickjacking of supervisor
# buttons), and send no referrer off the site.  Inline style attributes
# stay allowed: the pages and ECharts set element styles.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
)


class RequestContext:
    """A request id, the HTTP metrics and one access-log line per request.
    Plain ASGI rather than BaseHTTPMiddleware, which runs each request in an
    extra task and re-streams its body: that was a third of /healthz's cost
    and as much again on every dialplan hook."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = next((v.decode("latin-1")[:64] for k, v in scope["headers"] if k == b"x-request-id"), "") or uuid.uuid4().hex[:16]
        token = request_id.set(rid)
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", rid.encode("latin-1")), *SECURITY_HEADERS]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            path = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], path, str(status)).inc()
            HTTP_LATENCY.labels(path).observe(elapsed)
            if not path.startswith(("/static", "/healthz", "/metrics")):
                # An answered /hooks/route is in route_decisions already (with
                # its time); at hundreds a second its line would cost more
                # than the routing.  At DEBUG it is still there when wanted.
                level = logging.DEBUG if path == "/hooks/route" and status < 400 else logging.INFO
                log.log(level, "%s %s %s", scope["method"], scope["path"], status, extra={"status": status, "ms": round(elapsed * 1000, 2)})
            request_id.reset(token)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with AsyncExitStack() as stack:
        db = Database(settings.database_url)
        stack.push_async_callback(db.dispose)
        app.state.db = db
        log.info("callcenter %s starting", __version__, extra={"database": db.engine.url.render_as_string()})
        for name, why in settings.insecure_secrets().items():
            log.warning("CALLCENTER_%s %s; CALLCENTER_ENV=production would refuse to start", name.upper(), why)
        if settings._jwt_generated:
            log.info("development: tokens are signed with a random key of this process; set CALLCENTER_JWT_SECRET to keep sign-ins across restarts")
        sessions = Sessions(db, settings.jwt_secret, settings.auth_cache_s)
        app.state.sessions = sessions
        dialplan = None
        if settings.simulator:
            # Before the bridge: it connects to whatever app.state.settings names.
            from callcenter.demo import DemoDialplan
            from callcenter.simulator.service import start_demo

            # Random demo traffic calls from the seeded customers and runs the dialplan's hooks; a script plays as written.
            dialplan = None if settings.simulator_script else DemoDialplan(app.state, settings.simulator_seed)
            app.state.simulator, settings = await start_demo(settings, on_wrap_up_done=lambda iface: _demo_disposition(app, iface), dialplan=dialplan)
            stack.push_async_callback(app.state.simulator.stop)
            app.state.settings = settings
        # Writes from the PBX and the dialplan wait here while the database is away.
        spool = Spool(settings.spool_path)
        stack.callback(spool.close)
        app.state.spool = spool
        app.state.readiness["spool"] = spool.readiness
        if len(spool):
            try:  # before the ACD reloads today's calls, so they include these
                await spool.replay(db)
            except Exception as exc:  # noqa: BLE001 - the replayer keeps trying
                spool.mark_down(exc)
        replayer = asyncio.create_task(spool.run(db), name="spool-replay")
        stack.push_async_callback(_cancel, replayer)
        # The hub reads the ACD core's views (or, on a cluster follower, the stream's) and pushes them to browsers.
        hub = Hub(lookup=CustomerLookup(db, default_area_code=settings.default_area_code), masked_roles=settings.phone_masked_roles)
        app.state.hub = hub
        stack.push_async_callback(hub.close)
        if settings.redis_url:
            # Cluster mode: leader of the PBX or follower of its stream (callcenter.cluster).
            from callcenter.cluster.node import ClusterNode

            node = ClusterNode(app, settings, db, spool, hub)
            await node.start()
            stack.push_async_callback(node.stop)
            app.state.cluster = node
        else:
            await _embedded(app, stack, settings, db, spool, dialplan, hub)
        await hooks_service.start(app, stack)
        await outbound_jobs.start(app, stack)
        # The periodic jobs run once per centre: here always, in a cluster on the node holding the jobs lock.
        await stack.enter_async_context(scheduled_jobs(settings, db, app.state.runs_jobs, app.state.jobs_fence))
        # Revocations close websockets at once here, and on other nodes at the next recheck.
        sessions.listeners.append(functools.partial(revocation.on_session_event, hub))
        await stack.enter_async_context(revocation.rechecking(hub, sessions, settings.ws_recheck_s))
        await stack.enter_async_context(workorder_jobs(app))
        # What startup built, and then what each full collection finds alive,
        # lives long: out of the cycle collector's way (gcfreeze.py), a full
        # collection walks only what is newer, and stalls every hook and
        # websocket that much less.
        stack.enter_context(gcfreeze.keeping(loop=asyncio.get_running_loop()))
        watch = asyncio.create_task(trace.watch_loop()) if trace.ON else None
        try:
            yield
        finally:
            if watch is not None:
                watch.cancel()
        log.info("callcenter stopping")


async def _embedded(app: FastAPI, stack: AsyncExitStack, settings: Settings, db: Database, spool: Spool, dialplan: object, hub: Hub) -> None:
    """One process does everything: the ACD core in memory, the AMI link, the hub fed by the core."""
    # The ACD core and its persister, fed by the bridge (AMI -> core).
    acd = AcdService(db, core_config_from(settings), gateway=None, spool=spool, queue_log_table=settings.queue_log_table)
    await acd.start()
    stack.push_async_callback(acd.stop)
    app.state.acd = acd
    app.state.readiness["acd"] = acd.readiness
    if dialplan is not None:
        acd.subscribe(dialplan.on_output)
        stack.push_async_callback(dialplan.close)
    if settings.ami_enabled:
        from callcenter.ami.bridge import Bridge

        bridge = Bridge(settings, on_event=acd.submit)
        acd.gateway = bridge.gateway  # wrap-up pauses go back through the one gateway
        await bridge.start()
        stack.push_async_callback(bridge.stop)
        app.state.bridge = bridge
        app.state.gateway = bridge.gateway
        app.state.readiness["ami"] = bridge.readiness
    else:
        from callcenter.ami.gateway import Gateway

        # Without AMI every action fails fast with NotConnected, as on a lost link.
        app.state.gateway = Gateway.offline(settings.ami_action_timeout_s)
    hub.attach(acd)


READY_DB_TIMEOUT_S = 5.0


def _always() -> bool:
    return True


def _no_fence(_name: str) -> None:
    return None


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


_DEMO_TASKS: set[asyncio.Task[object]] = set()


def _demo_disposition(app: FastAPI, interface: str) -> None:
    """A simulated demo agent finished after-call work: submit a disposition,
    as a person on the desktop would, so wrap-up ends before the queue's limit."""
    acd = getattr(app.state, "acd", None)
    wrap = acd.core.wrap_up_of(interface) if acd is not None else None
    if wrap is not None:
        h = sum(map(ord, wrap["call_id"]))
        if h % 25 == 0:
            return  # now and then one forgets: the wrap-up runs out, the call waits on "no disposition"
        codes = ("resolved", "resolved", "resolved", "ticket", "callback", "other")
        code = codes[h % len(codes)]
        if acd.gateway is None:
            acd.disposition(interface, wrap["call_id"], code)
            return
        # Through Asterisk, as the desktop's does (acd.submit_disposition).
        task = asyncio.ensure_future(acd.submit_disposition(interface, wrap["call_id"], code))
        _DEMO_TASKS.add(task)
        task.add_done_callback(_DEMO_TASKS.discard)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="callcenter",
        version=__version__,
        description="Contact-centre backend for Asterisk.",
        lifespan=lifespan,
        # Served from the fastapi-offline package's assets (web.docs): no CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.login_throttle = LoginThrottle(
        settings.login_max_failures,
        settings.login_lockout_s,
        max_per_addr=settings.login_max_failures_per_ip,
        max_per_user=settings.login_max_failures_per_user,
    )
    # name -> callable returning {"ok": bool, ...}; services add theirs (e.g. "ami").
    app.state.readiness = {}
    # Whether this process runs the centre's periodic jobs (QA, work-order
    # escalation, callback tasks): one process does everything; a cluster
    # node replaces it with "holds the jobs lock" (callcenter.cluster.node).
    app.state.runs_jobs = _always
    # ... and, in a cluster, the fence of each run (cluster.jobs.fenced): None here, nothing to fence.
    app.state.jobs_fence = _no_fence

    app.add_middleware(RefuseNul)
    app.add_middleware(RequestContext)  # added last: outermost, so it sees every answer
    validation.install(app)

    async def database_unavailable(conn: Request | WebSocket, exc: Exception) -> Response | None:
        """The database is unreachable: 503 with Retry-After (a websocket is
        closed with 1013, try again later), never a 500.  Anything else is a
        bug and stays one."""
        if not is_unavailable(exc):
            raise exc
        log.warning("%s %s: database unavailable (%s: %s)", getattr(conn, "method", "WS"), conn.url.path, type(exc).__name__, exc)
        if isinstance(conn, WebSocket):
            if conn.client_state == WebSocketState.CONNECTING:
                await conn.accept()
            await conn.close(1013, "database unavailable; try again shortly")
            return None
        return JSONResponse(
            {"detail": "the database is unavailable; try again shortly", "code": "http_503"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    for cls in UNAVAILABLE_TYPES:
        app.add_exception_handler(cls, database_unavailable)  # type: ignore[arg-type]

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz(request: Request) -> JSONResponse:
        """Ready: every dependency we need to serve is reachable."""
        checks: dict[str, dict[str, object]] = {}
        try:
            # Bounded: a probe must answer (a pool waiting out its 30 s timeout is "not ready", not a hang).
            await asyncio.wait_for(request.app.state.db.ping(), READY_DB_TIMEOUT_S)
            checks["database"] = {"ok": True}
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["database"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        for name, probe in request.app.state.readiness.items():
            checks[name] = probe()
        ok = all(c.get("ok") for c in checks.values())
        return JSONResponse({"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # Routes are matched in order: the dialplan's hooks, on every call's path, come first.
    app.include_router(hooks_api.router)
    app.include_router(auth_api.router)
    app.include_router(teams_api.router)
    app.include_router(acd_api.router)
    app.include_router(crm_api.router)
    app.include_router(outbound_api.router)
    app.include_router(hooks_api.admin_router)
    app.include_router(qa_api.router)
    app.include_router(realtime_api.router)
    app.include_router(admin_api.router)
    app.include_router(reports_api.router)
    app.include_router(web_api.router)
    app.include_router(workorders_api.router)
    web_docs.mount(app)  # before /static: its assets live under /static/docs
    app.mount("/static", StaticFiles(directory=web_api.STATIC_DIR), name="static")
    return app
