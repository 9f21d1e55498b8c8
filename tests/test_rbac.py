"""The role x endpoint matrix.

`MATRIX` is the specification: every HTTP route of the app must appear in
it (a new route without an entry fails `test_every_route_is_in_the_matrix`),
and for every route each caller gets exactly what the matrix says:
401 anonymous, 403 for a role not listed, 2xx for a role listed.

When you add a route, add a `Case` here with a request that succeeds.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute

from callcenter.app import create_app
from callcenter.auth.models import Role
from callcenter.qa.models import EvalStatus

from .conftest import make_settings
from .qa import rbac as qa

ALL = frozenset(Role)
DESK = frozenset({Role.agent, Role.team_lead, Role.admin})
LEADS = frozenset({Role.admin, Role.team_lead})
ADMIN = frozenset({Role.admin})
REVIEWERS = frozenset({Role.qa, Role.team_lead, Role.admin})
AGENT = frozenset({Role.agent})
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
    # Puts the app in the state the request needs: prepare(app, actors, ids).
    prepare: Callable[[Any, dict[Role, Any], dict[str, Any]], None] | None = None
    files: Callable[[Ctx], Any] | None = None
    # Runs before each request: async (client, admin headers) -> ids to add,
    # for routes that consume what they act on (delete, claim, close).
    setup: Callable[[Any, dict[str, str]], Any] | None = None
    # Runs before each request (per caller): async (db, settings, ctx) that
    # creates rows directly and records their ids in ctx.ids.
    seed: Callable[[Any, Any, Ctx], Awaitable[None]] | None = None


def _on_a_call(app: Any, actors: dict[Role, Any], ids: dict[str, Any]) -> None:
    """Desk and supervisor actions act on a call: the realtime fakes put
    every agent on one and answer every action."""
    from .realtime.fakes import FakeCore, install

    install(app, FakeCore(auto_on_call=True))


def _popped(app: Any, actors: dict[Role, Any], ids: dict[str, Any]) -> None:
    """Every actor has a screen-pop for call-1."""
    _on_a_call(app, actors, ids)
    for actor in actors.values():
        app.state.hub.pops[actor.user.interface] = {"call_id": "call-1", "phase": "ringing", "call": {"call_id": "call-1"}}


def _thresholds() -> dict[str, Any]:
    from callcenter.realtime.schemas import default_thresholds

    return default_thresholds()


def _new_user(_: Ctx) -> dict[str, Any]:
    n = next(_seq)
    return {"username": f"new{n}", "password": "password-123", "display_name": f"N{n}", "role": "agent"}


def _acd_wrap_up(app: Any, actors: dict[Role, Any], ids: dict[str, Any]) -> None:
    """The agent actor has just finished a call in queue 'rbac' and is in wrap-up."""
    from callcenter.acd import events as ev

    acd = app.state.acd
    iface = actors[Role.agent].user.interface
    t = acd.stamp()
    call = f"rbac.{next(_seq)}"
    for e in (
        ev.MemberAdded(t, "rbac", iface, "agent", 0, False, "", 1),
        ev.CallerJoined(t, "rbac", call, call, "PJSIP/trunk-1", "13800000000", "", 1, 1),
        ev.CallerLeft(t, "rbac", call, call, 1, 0),
        ev.AgentConnected(t, "rbac", call, call, iface, "agent", call + "m", "m", 0, 0),
        ev.Hangup(t, call, call, "PJSIP/trunk-1", 16, ""),
    ):
        acd.submit(e)
    ids["call_id"] = call


def _phone() -> str:
    return f"1390{next(_seq):07d}"


async def _customer(client, admin: dict[str, str]) -> dict[str, Any]:  # noqa: ANN001
    r = await client.post("/api/customers", json={"name": "陈海燕", "phones": [_phone()]}, headers=admin)
    return {"customer": r.json()["id"]}


async def _ticket(client, admin: dict[str, str]) -> dict[str, Any]:  # noqa: ANN001
    r = await client.post("/api/tickets", json={"kind": "repair", "subject": "水管漏水"}, headers=admin)
    return {"ticket": r.json()["id"]}


def _hook_headers() -> dict[str, str]:
    return {"X-Hook-Secret": make_settings().hook_secret}


async def _callback(client, admin: dict[str, str]) -> dict[str, Any]:  # noqa: ANN001
    r = await client.get("/hooks/callback", params={"uniqueid": "1.1", "caller": _phone(), "format": "json"}, headers=_hook_headers())
    return {"callback": r.json()["task"]}


async def _decision(client, admin: dict[str, str]) -> dict[str, Any]:  # noqa: ANN001
    await client.get("/hooks/route", params={"uniqueid": "1700.1"}, headers=_hook_headers())
    return {}


async def _my_undisposed_call(db: Any, settings: Any, ctx: Ctx) -> None:
    """A stored call of the caller's, in queue 'rbac' (which they lead or
    work), whose wrap-up ran out without a disposition."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from callcenter.acd.models import CallRecord, Outcome
    from callcenter.auth.models import Skill, User

    call_id = f"late.{next(_seq)}"
    async with db.sessions() as s:
        user = await s.get(User, ctx.me_id) if ctx.me_id else None
        if user is not None and not (await s.execute(select(Skill).where(Skill.user_id == user.id, Skill.queue == "rbac"))).first():
            s.add(Skill(user_id=user.id, queue="rbac", penalty=0))
        now = datetime.now(UTC)
        s.add(CallRecord(call_id=call_id, uniqueid=call_id, queue="rbac", entered_at=now, answered_at=now, ended_at=now,
                         agent=user.interface if user else "PJSIP/none", outcome=Outcome.answered, wrap_up_s=30.0))  # fmt: skip
        await s.commit()
    ctx.ids["late_call"] = call_id


MATRIX: list[Case] = [
    # ops and pages
    Case("GET", "/healthz", PUBLIC),
    Case("GET", "/readyz", PUBLIC),
    Case("GET", "/metrics", PUBLIC),
    Case("GET", "/", PUBLIC),
    Case("GET", "/login", PUBLIC),
    Case("GET", "/home", PUBLIC),
    Case("GET", "/favicon.ico", PUBLIC),
    Case("GET", "/docs", PUBLIC),
    Case("GET", "/docs/oauth2-redirect", PUBLIC),
    # the admin console: pages (shells), the scoped read, the routing test, the audit search
    Case("GET", "/admin", PUBLIC),
    Case("GET", "/users", PUBLIC),
    Case("GET", "/queues", PUBLIC),
    Case("GET", "/settings", PUBLIC),
    Case("GET", "/api/admin/config", LEADS),
    Case("POST", "/api/admin/routing/test", LEADS, body=lambda c: {"caller": "13800138000", "dnis": "4008001234", "choice": "1"}),
    Case("GET", "/api/admin/audit", ADMIN, params={"q": "user"}),
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
    # live ACD, history and workforce maths
    Case("GET", "/api/acd/wallboard", LEADS),
    Case("GET", "/api/acd/queues/{name}", LEADS, url=lambda c: "/api/acd/queues/rbac", prepare=_acd_wrap_up),
    Case("GET", "/api/acd/agents/{interface:path}", LEADS, url=lambda c: "/api/acd/agents/PJSIP/8999"),
    Case(
        "POST",
        "/api/acd/disposition",
        frozenset({Role.agent}),
        body=lambda c: {"call_id": c.ids["call_id"], "code": "resolved"},
        prepare=_acd_wrap_up,
    ),
    Case("GET", "/api/acd/calls", LEADS, params={"limit": "10"}),
    Case("GET", "/api/acd/undisposed", DESK),
    Case(
        "POST", "/api/acd/calls/{call_id}/disposition", DESK, url=lambda c: f"/api/acd/calls/{c.ids['late_call']}/disposition",
        body=lambda c: {"code": "resolved", "note": "done later"}, seed=_my_undisposed_call,
    ),
    Case("GET", "/api/erlang", LEADS, params={"calls": "100", "aht_s": "180", "target_sl": "0.8"}),
    # customers, tickets, callbacks
    Case("GET", "/api/customers", ALL, params={"q": "陈"}),
    Case("POST", "/api/customers", ALL, body=lambda c: {"name": "陈海燕", "phones": [_phone()], "unit": "3栋1201"}),
    Case("GET", "/api/customers/{customer_id}", ALL, url=lambda c: f"/api/customers/{c.ids['customer']}", setup=_customer),
    Case(
        "PATCH",
        "/api/customers/{customer_id}",
        ALL,
        url=lambda c: f"/api/customers/{c.ids['customer']}",
        body=lambda c: {"grade": "B"},
        setup=_customer,
    ),
    Case("DELETE", "/api/customers/{customer_id}", LEADS, url=lambda c: f"/api/customers/{c.ids['customer']}", setup=_customer),
    Case(
        "POST",
        "/api/customers/{customer_id}/follow-up",
        ALL,
        url=lambda c: f"/api/customers/{c.ids['customer']}/follow-up",
        body=lambda c: {"grade": "A", "note": "回访完成"},
        setup=_customer,
    ),
    Case(
        "POST",
        "/api/customers/import",
        ADMIN,
        files=lambda c: {"file": ("c.csv", f"name,phones\n林芳,{_phone()}\n".encode(), "text/csv")},
    ),
    Case("GET", "/api/tickets", ALL),
    Case("POST", "/api/tickets", ALL, body=lambda c: {"kind": "complaint", "subject": "噪音扰民"}),
    Case("POST", "/api/tickets/{ticket_id}/close", ALL, url=lambda c: f"/api/tickets/{c.ids['ticket']}/close", body=lambda c: {}, setup=_ticket),
    Case("GET", "/api/callbacks", ALL),
    Case(
        "POST",
        "/api/callbacks/{task_id}/claim",
        frozenset({Role.agent, Role.team_lead, Role.admin}),
        url=lambda c: f"/api/callbacks/{c.ids['callback']}/claim",
        setup=_callback,
    ),
    Case(
        "POST",
        "/api/callbacks/{task_id}/complete",
        frozenset({Role.agent, Role.team_lead, Role.admin}),
        url=lambda c: f"/api/callbacks/{c.ids['callback']}/complete",
        body=lambda c: {"result": "reached"},
        setup=_callback,
    ),
    # routing configuration
    Case("GET", "/api/routing", LEADS),
    Case("PUT", "/api/routing/rules", ADMIN, body=lambda c: {"rules": [{"dnis": "", "choice": "", "queue": "enquiries"}]}),
    Case("PUT", "/api/routing/hours/{queue}", ADMIN, url=lambda c: "/api/routing/hours/vip", body=lambda c: {"always_open": True}),
    Case("GET", "/api/routing/decisions/{uniqueid}", ALL, url=lambda c: "/api/routing/decisions/1700.1", setup=_decision),
    # QA: recordings (agents only for their own calls, and only if
    # agents_can_play_own; the default is off), forms, evaluations
    Case("GET", "/api/qa/context", ALL),
    Case("GET", "/api/qa/calls", ALL),
    Case("GET", "/api/qa/calls/{call_id}", REVIEWERS, url=lambda c: f"/api/qa/calls/{c.ids['call']}", seed=qa.recorded_call),
    Case("GET", "/api/qa/calls/{call_id}/audio", REVIEWERS, url=lambda c: f"/api/qa/calls/{c.ids['call']}/audio", seed=qa.recorded_call),
    Case("GET", "/api/qa/calls/{call_id}/peaks", REVIEWERS, url=lambda c: f"/api/qa/calls/{c.ids['call']}/peaks", seed=qa.recorded_call),
    Case(
        "POST", "/api/qa/calls/{call_id}/annotations", REVIEWERS, url=lambda c: f"/api/qa/calls/{c.ids['call']}/annotations",
        body=lambda c: {"at_s": 1.5, "text": "note"}, seed=qa.recorded_call,
    ),
    Case(
        "POST", "/api/qa/calls/{call_id}/evaluations", REVIEWERS, url=lambda c: f"/api/qa/calls/{c.ids['call']}/evaluations",
        body=lambda c: {}, seed=qa.recorded_call,
    ),
    Case("GET", "/api/qa/forms", ALL),
    Case("GET", "/api/qa/forms/{form_id}", ALL, url=lambda c: f"/api/qa/forms/{c.ids['form']}", seed=qa.default_form),
    Case("POST", "/api/qa/forms", frozenset({Role.qa, Role.admin}), body=qa.form_body),
    Case("GET", "/api/qa/evaluations", ALL),
    # an agent sees their own submitted evaluations
    Case("GET", "/api/qa/evaluations/{eval_id}", ALL, url=lambda c: f"/api/qa/evaluations/{c.ids['eval']}", seed=qa.evaluation_in(EvalStatus.submitted)),
    Case(
        "PATCH", "/api/qa/evaluations/{eval_id}", REVIEWERS, url=lambda c: f"/api/qa/evaluations/{c.ids['eval']}",
        body=lambda c: {"comment": "ok"}, seed=qa.evaluation_in(EvalStatus.draft, answers=False),
    ),
    Case("POST", "/api/qa/evaluations/{eval_id}/submit", REVIEWERS, url=lambda c: f"/api/qa/evaluations/{c.ids['eval']}/submit", seed=qa.evaluation_in(EvalStatus.draft)),
    Case(
        "POST", "/api/qa/evaluations/{eval_id}/acknowledge", AGENT, url=lambda c: f"/api/qa/evaluations/{c.ids['eval']}/acknowledge",
        body=lambda c: {}, seed=qa.evaluation_in(EvalStatus.submitted),
    ),
    Case(
        "POST", "/api/qa/evaluations/{eval_id}/dispute", AGENT, url=lambda c: f"/api/qa/evaluations/{c.ids['eval']}/dispute",
        body=lambda c: {"comment": "not fair"}, seed=qa.evaluation_in(EvalStatus.submitted),
    ),
    Case(
        "POST", "/api/qa/evaluations/{eval_id}/resolve", REVIEWERS, url=lambda c: f"/api/qa/evaluations/{c.ids['eval']}/resolve",
        body=lambda c: {"decision": "upheld", "comment": "stands"}, seed=qa.evaluation_in(EvalStatus.disputed),
    ),
    Case("POST", "/api/qa/evaluations/{eval_id}/revisions", REVIEWERS, url=lambda c: f"/api/qa/evaluations/{c.ids['eval']}/revisions", seed=qa.evaluation_in(EvalStatus.submitted)),
    Case("POST", "/api/qa/sampling", REVIEWERS, body=lambda c: {"month": "2026-11", "seed": 1}),
    Case("GET", "/api/qa/summary", ALL),
    Case("GET", "/api/qa/summary.csv", ALL),
    Case("GET", "/qa", PUBLIC),
    Case("GET", "/customers", PUBLIC),
    # realtime: pages, desktop and supervisor actions (fake gateway/core below), settings
    Case("GET", "/desktop", PUBLIC),
    Case("GET", "/wallboard", PUBLIC),
    Case("GET", "/api/desktop/context", DESK, prepare=_on_a_call),
    Case("POST", "/api/desktop/queues/login", DESK, body=lambda c: {"queues": []}, prepare=_on_a_call),
    Case("POST", "/api/desktop/queues/logout", DESK, body=lambda c: {}, prepare=_on_a_call),
    Case("POST", "/api/desktop/pause", DESK, body=lambda c: {"reason": "break"}, prepare=_on_a_call),
    Case("POST", "/api/desktop/ready", DESK, prepare=_on_a_call),
    Case("POST", "/api/desktop/dial", DESK, body=lambda c: {"number": "10086"}, prepare=_on_a_call),
    Case("POST", "/api/desktop/pop/refresh", DESK, body=lambda c: {"call_id": "call-1"}, prepare=_popped),
    Case("POST", "/api/desktop/hold", DESK, prepare=_on_a_call),
    Case("POST", "/api/desktop/unhold", DESK, prepare=_on_a_call),
    Case("POST", "/api/desktop/transfer", DESK, body=lambda c: {"kind": "blind", "to": "queue", "target": "repairs"}, prepare=_on_a_call),
    Case("POST", "/api/desktop/hangup", DESK, prepare=_on_a_call),
    Case("POST", "/api/supervisor/agents/{user_id}/spy", LEADS,
         url=lambda c: f"/api/supervisor/agents/{c.ids['agent']}/spy", body=lambda c: {"mode": "listen"}, prepare=_on_a_call),
    Case("POST", "/api/supervisor/agents/{user_id}/pause", LEADS,
         url=lambda c: f"/api/supervisor/agents/{c.ids['agent']}/pause", body=lambda c: {"reason": "meeting"}, prepare=_on_a_call),
    Case("POST", "/api/supervisor/agents/{user_id}/unpause", LEADS,
         url=lambda c: f"/api/supervisor/agents/{c.ids['agent']}/unpause", prepare=_on_a_call),
    Case("POST", "/api/supervisor/agents/{user_id}/logout", LEADS,
         url=lambda c: f"/api/supervisor/agents/{c.ids['agent']}/logout", prepare=_on_a_call),
    Case("GET", "/api/realtime/pause-reasons", ALL),
    Case("PUT", "/api/realtime/pause-reasons", ADMIN,
         body=lambda c: {"reasons": [{"code": "break", "zh": "小休", "en": "Break", "max_s": 900}]}),
    Case("GET", "/api/realtime/wallboard-thresholds", LEADS),
    Case("PUT", "/api/realtime/wallboard-thresholds", ADMIN, body=lambda c: _thresholds()),
]

# Routes that are not role-checked by design, with the reason.
UNCHECKED = {
    ("POST", "/api/auth/login"): "the way in; throttled instead",
    # The dialplan's hooks authenticate with the hook secret and IP allowlist,
    # never a user token (tests/hooks test both).
    ("GET", "/hooks/route"): "dialplan hook: hook secret",
    ("GET", "/hooks/survey"): "dialplan hook: hook secret",
    ("POST", "/hooks/survey"): "dialplan hook: hook secret",
    ("GET", "/hooks/callback"): "dialplan hook: hook secret",
    ("POST", "/hooks/callback"): "dialplan hook: hook secret",
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


@pytest.mark.parametrize("case", MATRIX, ids=lambda c: f"{c.method} {c.route}")
async def test_role_matrix(case: Case, app, client, make_user, db, settings):
    # everyone has a phone, so desk and supervisor actions can succeed
    actors = {role: await make_user(role, interface=f"PJSIP/7{i:03d}") for i, role in enumerate(Role)}
    target = await make_user(Role.agent)
    ids = {"agent": target.user.id}
    if case.prepare is not None:
        case.prepare(app, actors, ids)

    async def request(actor):  # noqa: ANN001, ANN202
        if case.setup is not None:
            ids.update(await case.setup(client, actors[Role.admin].headers))
        ctx = Ctx(me_id=actor.user.id if actor else 0, ids=dict(ids))
        if case.seed is not None:
            await case.seed(db, settings, ctx)
        url = case.url(ctx) if case.url else case.route
        kwargs: dict[str, Any] = {"params": case.params}
        if case.body is not None:
            kwargs["json"] = case.body(ctx)
        if case.files is not None:
            kwargs["files"] = case.files(ctx)
        if actor is not None:
            kwargs["headers"] = actor.headers
        return await client.request(case.method, url, **kwargs)

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
