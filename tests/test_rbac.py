"""The role x endpoint matrix.

`MATRIX` is the specification: every HTTP route of the app must appear in
it (a new route without an entry fails `test_every_route_is_in_the_matrix`),
and for every route each caller gets exactly what the matrix says:
401 anonymous, 403 for a role not listed, 2xx for a role listed.

When you add a route, add a `Case` here with a request that succeeds.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute

from callcenter.app import create_app
from callcenter.auth.models import Role

from .conftest import make_settings

ALL = frozenset(Role)
DESK = frozenset({Role.agent, Role.team_lead, Role.admin})
LEADS = frozenset({Role.admin, Role.team_lead})
ADMIN = frozenset({Role.admin})
PUBLIC = None  # no sign-in needed

_seq = itertools.count(1)


@dataclass
class Ctx:
    """What a request builder may use: the caller, and ids made in setup."""

    me_id: int
    ids: dict[str, Any] = field(default_factory=dict)


@dataclass
class Case:
    method: str
    route: str  # the route's path template, as FastAPI knows it
    roles: frozenset[Role] | None
    url: Callable[[Ctx], str] | None = None  # concrete URL; defaults to `route`
    body: Callable[[Ctx], Any] | None = None
    params: dict[str, str] | None = None


def _thresholds() -> dict[str, Any]:
    from callcenter.realtime.schemas import default_thresholds

    return default_thresholds()


def _new_user(_: Ctx) -> dict[str, Any]:
    n = next(_seq)
    return {"username": f"new{n}", "password": "password-123", "display_name": f"N{n}", "role": "agent"}


MATRIX: list[Case] = [
    # ops and pages
    Case("GET", "/healthz", PUBLIC),
    Case("GET", "/readyz", PUBLIC),
    Case("GET", "/metrics", PUBLIC),
    Case("GET", "/", PUBLIC),
    Case("GET", "/login", PUBLIC),
    Case("GET", "/home", PUBLIC),
    # auth and users
    Case("POST", "/api/auth/logout", PUBLIC),
    Case("GET", "/api/auth/me", ALL),
    Case("GET", "/api/users", LEADS),
    Case("POST", "/api/users", ADMIN, body=_new_user),
    Case("GET", "/api/users/{user_id}", LEADS, url=lambda c: f"/api/users/{c.ids['agent']}"),
    Case(
        "PATCH",
        "/api/users/{user_id}",
        ADMIN,
        url=lambda c: f"/api/users/{c.ids['agent']}",
        body=lambda c: {"display_name": "renamed"},
    ),
    # own password: everyone may change their own
    Case(
        "PUT",
        "/api/users/{user_id}/password",
        ALL,
        url=lambda c: f"/api/users/{c.me_id}/password",
        body=lambda c: {"password": "password123"},
    ),
    Case("GET", "/api/audit", ADMIN),
    # queues
    Case("GET", "/api/queues", ALL),
    Case(
        "PUT",
        "/api/queues/{name}",
        ADMIN,
        url=lambda c: "/api/queues/repairs",
        body=lambda c: {"display_name": "报修", "sl_threshold_s": 20},
    ),
    # realtime: pages, desktop and supervisor actions (fake gateway/core below), settings
    Case("GET", "/desktop", PUBLIC),
    Case("GET", "/wallboard", PUBLIC),
    Case("GET", "/api/desktop/context", DESK),
    Case("POST", "/api/desktop/queues/login", DESK, body=lambda c: {"queues": []}),
    Case("POST", "/api/desktop/queues/logout", DESK, body=lambda c: {}),
    Case("POST", "/api/desktop/pause", DESK, body=lambda c: {"reason": "break"}),
    Case("POST", "/api/desktop/ready", DESK),
    Case("POST", "/api/desktop/dial", DESK, body=lambda c: {"number": "10086"}),
    Case("POST", "/api/desktop/hold", DESK),
    Case("POST", "/api/desktop/unhold", DESK),
    Case("POST", "/api/desktop/transfer", DESK, body=lambda c: {"kind": "blind", "to": "queue", "target": "repairs"}),
    Case("POST", "/api/desktop/hangup", DESK),
    Case("POST", "/api/supervisor/agents/{user_id}/spy", LEADS,
         url=lambda c: f"/api/supervisor/agents/{c.ids['agent']}/spy", body=lambda c: {"mode": "listen"}),
    Case("POST", "/api/supervisor/agents/{user_id}/pause", LEADS,
         url=lambda c: f"/api/supervisor/agents/{c.ids['agent']}/pause", body=lambda c: {"reason": "meeting"}),
    Case("POST", "/api/supervisor/agents/{user_id}/unpause", LEADS,
         url=lambda c: f"/api/supervisor/agents/{c.ids['agent']}/unpause"),
    Case("POST", "/api/supervisor/agents/{user_id}/logout", LEADS,
         url=lambda c: f"/api/supervisor/agents/{c.ids['agent']}/logout"),
    Case("GET", "/api/realtime/pause-reasons", ALL),
    Case("PUT", "/api/realtime/pause-reasons", ADMIN,
         body=lambda c: {"reasons": [{"code": "break", "zh": "小休", "en": "Break", "max_s": 900}]}),
    Case("GET", "/api/realtime/wallboard-thresholds", LEADS),
    Case("PUT", "/api/realtime/wallboard-thresholds", ADMIN, body=lambda c: _thresholds()),
]

# Routes that are not role-checked by design, with the reason.
UNCHECKED = {
    ("POST", "/api/auth/login"): "the way in; throttled instead",
}


def _app_routes() -> set[tuple[str, str]]:
    """(method, path) of every HTTP route, including those of included
    routers (FastAPI >= 0.160 keeps them behind an _IncludedRouter)."""
    app = create_app(make_settings())
    out = set()
    for r in app.routes:
        if hasattr(r, "effective_route_contexts"):
            pairs = [(c.path, c.original_route) for c in r.effective_route_contexts()]
        else:
            pairs = [(getattr(r, "path", ""), r)]
        for path, route in pairs:
            if isinstance(route, APIRoute):
                for m in route.methods - {"HEAD", "OPTIONS"}:
                    out.add((m, path))
    return out


def test_every_route_is_in_the_matrix():
    listed = {(c.method, c.route) for c in MATRIX} | set(UNCHECKED)
    missing = sorted(_app_routes() - listed)
    assert not missing, f"routes with no RBAC matrix entry (add a Case): {missing}"
    stale = sorted(listed - _app_routes())
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"


@pytest.fixture
async def app(settings):  # noqa: ANN001, ANN201
    """The app with live services to act on: actions must succeed for the
    roles allowed (the realtime fakes: every agent is on a call)."""
    from .realtime.fakes import FakeCore, install

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        install(application, FakeCore(auto_on_call=True))
        yield application


@pytest.mark.parametrize("case", MATRIX, ids=lambda c: f"{c.method} {c.route}")
async def test_role_matrix(case: Case, client, make_user):
    # everyone has a phone, so desk and supervisor actions can succeed
    actors = {role: await make_user(role, interface=f"PJSIP/7{i:03d}") for i, role in enumerate(Role)}
    target = await make_user(Role.agent)
    ids = {"agent": target.user.id}

    def request(actor):  # noqa: ANN001, ANN202
        ctx = Ctx(me_id=actor.user.id if actor else 0, ids=ids)
        url = case.url(ctx) if case.url else case.route
        kwargs: dict[str, Any] = {"params": case.params}
        if case.body is not None:
            kwargs["json"] = case.body(ctx)
        if actor is not None:
            kwargs["headers"] = actor.headers
        return client.request(case.method, url, **kwargs)

    anon = await request(None)
    if case.roles is PUBLIC:
        assert anon.status_code < 400 or anon.status_code == 503, (anon.status_code, anon.text)
        return
    assert anon.status_code == 401, f"anonymous got {anon.status_code}: {anon.text}"
    for role, actor in actors.items():
        r = await request(actor)
        if role in case.roles:
            assert 200 <= r.status_code < 300, f"{role.value} should be allowed, got {r.status_code}: {r.text}"
        else:
            assert r.status_code == 403, f"{role.value} should be forbidden, got {r.status_code}: {r.text}"
