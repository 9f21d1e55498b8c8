"""The role x route x ownership matrix.

`MATRIX` is the specification.  The test is generated from the app's
OpenAPI (plus the pages, which are not in it): every operation gets a
test, and one with no `Case` fails, so a new route cannot slip in
unchecked.  For every route each caller gets exactly what the matrix says:
401 anonymous, 403 for a role not listed, 2xx for a role listed.

Ownership: a Case with `foreign` also acts on an object outside the
caller's scope (another team's agent, a call of a queue the lead's teams do
not serve, someone else's evaluation); there only the roles in
`foreign_roles` (default: admin, and QA where QA may act at all) succeed and
the others get 403.  The team lead actor leads a team whose member is the
target agent (`ids["agent"]`); `ids["other_agent"]` is in no team of theirs.

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
from .outbound import rbac as ob
from .qa import rbac as qa
from .workorders import rbac as wo

ALL = frozenset(Role)
DESK = frozenset({Role.agent, Role.team_lead, Role.admin})
LEADS = frozenset({Role.admin, Role.team_lead})
ADMIN = frozenset({Role.admin})
REVIEWERS = frozenset({Role.qa, Role.team_lead, Role.admin})
AGENT = frozenset({Role.agent})
WO_DESK = frozenset({Role.agent, Role.team_lead, Role.admin, Role.department, Role.director})  # work orders: a department's staff, the director
WO_BOARD = frozenset({Role.team_lead, Role.admin, Role.department, Role.director})
WO_OVERSEE = frozenset({Role.team_lead, Role.admin, Role.director})  # the director (主任) oversees every order
WO_ACK = frozenset({Role.department, Role.admin})  # a rectification notice is acknowledged by its department
WO_ALL_SEEING = frozenset({Role.admin, Role.director})  # who may act on another team's order
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
    # Ownership: the same request on an object outside the caller's scope.
    foreign: Callable[[Ctx], str] | None = None
    foreign_seed: Callable[[Any, Any, Ctx], Awaitable[None]] | None = None
    foreign_setup: Callable[[Any, dict[str, str]], Any] | None = None
    foreign_roles: frozenset[Role] | None = None  # default: admin (+ qa if listed)

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.route.replace(":path}", "}")


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
    return {"username": f"new{n}", "password": f"Kx9-long-enough-{n}", "display_name": f"N{n}", "role": "agent"}


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


async def _manual_indicator(db: Any, settings: Any, ctx: Ctx) -> None:
    from sqlalchemy import select

    from callcenter.reports.models import Indicator

    async with db.sessions() as s:
        if (await s.execute(select(Indicator).where(Indicator.code == "sat"))).first() is None:
            s.add(Indicator(code="sat", name="满意度", source="manual", weight=100, excellent=0.97, target=0.95, warning=0.9))
            await s.commit()


async def _rbac_queue(db: Any, settings: Any, ctx: Ctx) -> None:
    from callcenter.acd.models import Queue

    async with db.sessions() as s:
        if await s.get(Queue, "rbac") is None:
            s.add(Queue(name="rbac", display_name="rbac"))
            await s.commit()


def _elsewhere(app: Any, actors: dict[Role, Any], ids: dict[str, Any]) -> None:
    """Queue 'rbac' (the lead's) and queue 'elsewhere' (no team of theirs) are live."""
    _acd_wrap_up(app, actors, ids)
    from callcenter.acd import events as ev

    acd = app.state.acd
    acd.submit(ev.MemberAdded(acd.stamp(), "elsewhere", "PJSIP/8998", "other", 0, False, "", 1))


async def _foreign_decision(client, admin: dict[str, str]) -> dict[str, Any]:  # noqa: ANN001
    await client.put("/api/routing/rules", json={"rules": [{"dnis": "999", "choice": "", "queue": "elsewhere"}]}, headers=admin)
    await client.get("/hooks/route", params={"uniqueid": "1700.2", "dnis": "999"}, headers=_hook_headers())
    return {}


async def _empty_team(client, admin: dict[str, str]) -> dict[str, Any]:  # noqa: ANN001
    r = await client.post("/api/teams", json={"name": f"empty{next(_seq)}"}, headers=admin)
    return {"empty_team": r.json()["id"]}


async def _member_to_remove(client, admin: dict[str, str]) -> dict[str, Any]:  # noqa: ANN001
    r = await client.post("/api/users", json=_new_user(Ctx(0)), headers=admin)
    uid = r.json()["id"]
    team = (await client.post("/api/teams", json={"name": f"t{next(_seq)}"}, headers=admin)).json()["id"]
    await client.put(f"/api/teams/{team}/members/{uid}", headers=admin)
    return {"member": uid, "member_team": team}


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
    Case("GET", "/api/users/{user_id}", LEADS, url=lambda c: f"/api/users/{c.ids['agent']}",
         foreign=lambda c: f"/api/users/{c.ids['other_agent']}"),
    Case(
        "PATCH",
        "/api/users/{user_id}",
        ADMIN,
        url=lambda c: f"/api/users/{c.ids['agent']}",
        body=lambda c: {"display_name": "renamed"},
    ),
    # own password: everyone may change their own (with the current one)
    Case(
        "PUT",
        "/api/users/{user_id}/password",
        ALL,
        url=lambda c: f"/api/users/{c.me_id}/password",
        body=lambda c: {"password": "Kx9-long-enough-pass", "current_password": "password123"},
    ),
    Case("GET", "/api/audit", ADMIN),
    # teams
    Case("GET", "/api/teams", LEADS),
    Case("POST", "/api/teams", ADMIN, body=lambda c: {"name": f"班组{next(_seq)}"}),
    Case("GET", "/api/teams/memberships", LEADS),
    Case("GET", "/api/teams/{team_id}", LEADS, url=lambda c: f"/api/teams/{c.ids['team']}",
         foreign=lambda c: f"/api/teams/{c.ids['other_team']}"),
    Case("PATCH", "/api/teams/{team_id}", ADMIN, url=lambda c: f"/api/teams/{c.ids['team']}", body=lambda c: {"description": "早班"}),
    Case("DELETE", "/api/teams/{team_id}", ADMIN, url=lambda c: f"/api/teams/{c.ids['empty_team']}", setup=_empty_team),
    Case("PUT", "/api/teams/{team_id}/members/{user_id}", ADMIN, url=lambda c: f"/api/teams/{c.ids['other_team']}/members/{c.ids['other_agent']}"),
    Case("DELETE", "/api/teams/{team_id}/members/{user_id}", ADMIN,
         url=lambda c: f"/api/teams/{c.ids['member_team']}/members/{c.ids['member']}", setup=_member_to_remove),
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
    Case("GET", "/api/acd/queues/{name}", LEADS, url=lambda c: "/api/acd/queues/rbac", prepare=_elsewhere,
         foreign=lambda c: "/api/acd/queues/elsewhere"),
    Case("GET", "/api/acd/agents/{interface:path}", LEADS, url=lambda c: f"/api/acd/agents/{c.ids['agent_iface']}",
         foreign=lambda c: f"/api/acd/agents/{c.ids['other_iface']}"),
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
    # historical reports: leads see their teams' queues, agents and teams (QA and admin everything)
    Case("GET", "/api/reports/options", REVIEWERS),
    Case("GET", "/api/reports/{level}", REVIEWERS, url=lambda c: "/api/reports/daily?from=2026-03-01&to=2026-03-31&by=queue",
         foreign=lambda c: f"/api/reports/daily?from=2026-03-01&to=2026-03-31&by=team&key={c.ids['other_team']}"),
    Case("GET", "/api/reports/sl-dispersion", REVIEWERS, url=lambda c: "/api/reports/sl-dispersion?month=2026-03&day=2026-03-02",
         foreign=lambda c: "/api/reports/sl-dispersion?month=2026-03&day=2026-03-02&queue=elsewhere"),
    Case("GET", "/api/reports/abandons", REVIEWERS, params={"from": "2026-03-01", "to": "2026-03-31"}),
    Case("GET", "/api/reports/abandons/unreturned", REVIEWERS, params={"day": "2026-03-02"}),
    Case("GET", "/api/reports/staffing", REVIEWERS, params={"queue": "rbac", "week": "2026-03-30"}, seed=_rbac_queue),
    Case("GET", "/api/reports/scorecard", REVIEWERS, params={"month": "2026-03"}),
    Case("GET", "/api/reports/scorecard/indicators", REVIEWERS),
    Case("PUT", "/api/reports/scorecard/indicators", ADMIN, body=lambda c: [
        {"code": "sl30", "name": "30秒接通率", "source": "measure:service_level_30", "weight": 100, "excellent": 0.9, "target": 0.85, "warning": 0.8}]),
    Case("PUT", "/api/reports/scorecard/manual", ADMIN, body=lambda c: {"code": "sat", "month": "2026-03", "value": 0.95}, seed=_manual_indicator),
    # customers, tickets, callbacks: the desk's work; QA never sees customer files
    Case("GET", "/api/customers", DESK, params={"q": "陈"}),
    Case("POST", "/api/customers", DESK, body=lambda c: {"name": "陈海燕", "phones": [_phone()], "unit": "3栋1201"}),
    Case("GET", "/api/customers/{customer_id}", DESK, url=lambda c: f"/api/customers/{c.ids['customer']}", setup=_customer),
    Case(
        "PATCH",
        "/api/customers/{customer_id}",
        DESK,
        url=lambda c: f"/api/customers/{c.ids['customer']}",
        body=lambda c: {"grade": "B"},
        setup=_customer,
    ),
    Case("DELETE", "/api/customers/{customer_id}", LEADS, url=lambda c: f"/api/customers/{c.ids['customer']}", setup=_customer),
    Case(
        "POST",
        "/api/customers/{customer_id}/follow-up",
        DESK,
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
    Case("GET", "/api/tickets", DESK),
    Case("POST", "/api/tickets", DESK, body=lambda c: {"kind": "complaint", "subject": "噪音扰民"}),
    Case("POST", "/api/tickets/{ticket_id}/close", DESK, url=lambda c: f"/api/tickets/{c.ids['ticket']}/close", body=lambda c: {}, setup=_ticket),
    Case("GET", "/api/callbacks", DESK),
    Case(
        "POST",
        "/api/callbacks/{task_id}/claim",
        DESK,
        url=lambda c: f"/api/callbacks/{c.ids['callback']}/claim",
        setup=_callback,
    ),
    Case(
        "POST",
        "/api/callbacks/{task_id}/complete",
        DESK,
        url=lambda c: f"/api/callbacks/{c.ids['callback']}/complete",
        body=lambda c: {"result": "reached"},
        setup=_callback,
    ),
    # routing configuration; a decision names the caller: leads of its queue
    Case("GET", "/api/routing", LEADS),
    Case("PUT", "/api/routing/rules", ADMIN, body=lambda c: {"rules": [{"dnis": "", "choice": "", "queue": "enquiries"}]}),
    Case("PUT", "/api/routing/hours/{queue}", ADMIN, url=lambda c: "/api/routing/hours/vip", body=lambda c: {"always_open": True}),
    Case("GET", "/api/routing/decisions/{uniqueid}", LEADS, url=lambda c: "/api/routing/decisions/1700.1", setup=_decision,
         foreign=lambda c: "/api/routing/decisions/1700.2", foreign_setup=_foreign_decision),
    # QA: recordings (agents only for their own calls, and only if
    # agents_can_play_own; the default is off), forms, evaluations.  A lead
    # reaches the calls of their teams' queues and agents only.
    Case("GET", "/api/qa/context", ALL),
    Case("GET", "/api/qa/calls", ALL),
    Case("GET", "/api/qa/calls/{call_id}", REVIEWERS, url=lambda c: f"/api/qa/calls/{c.ids['call']}", seed=qa.recorded_call,
         foreign=lambda c: f"/api/qa/calls/{c.ids['call']}", foreign_seed=qa.foreign_call),
    Case("GET", "/api/qa/calls/{call_id}/audio", REVIEWERS, url=lambda c: f"/api/qa/calls/{c.ids['call']}/audio", seed=qa.recorded_call,
         foreign=lambda c: f"/api/qa/calls/{c.ids['call']}/audio", foreign_seed=qa.foreign_call),
    Case("GET", "/api/qa/calls/{call_id}/peaks", REVIEWERS, url=lambda c: f"/api/qa/calls/{c.ids['call']}/peaks", seed=qa.recorded_call,
         foreign=lambda c: f"/api/qa/calls/{c.ids['call']}/peaks", foreign_seed=qa.foreign_call),
    Case(
        "POST", "/api/qa/calls/{call_id}/annotations", REVIEWERS, url=lambda c: f"/api/qa/calls/{c.ids['call']}/annotations",
        body=lambda c: {"at_s": 1.5, "text": "note"}, seed=qa.recorded_call,
        foreign=lambda c: f"/api/qa/calls/{c.ids['call']}/annotations", foreign_seed=qa.foreign_call,
    ),
    Case(
        "POST", "/api/qa/calls/{call_id}/evaluations", REVIEWERS, url=lambda c: f"/api/qa/calls/{c.ids['call']}/evaluations",
        body=lambda c: {}, seed=qa.recorded_call,
        foreign=lambda c: f"/api/qa/calls/{c.ids['call']}/evaluations", foreign_seed=qa.foreign_call,
    ),
    Case("GET", "/api/qa/forms", ALL),
    Case("GET", "/api/qa/forms/{form_id}", ALL, url=lambda c: f"/api/qa/forms/{c.ids['form']}", seed=qa.default_form),
    Case("POST", "/api/qa/forms", frozenset({Role.qa, Role.admin}), body=qa.form_body),
    Case("GET", "/api/qa/evaluations", ALL),
    # an agent sees their own submitted evaluations, not others'
    Case("GET", "/api/qa/evaluations/{eval_id}", ALL, url=lambda c: f"/api/qa/evaluations/{c.ids['eval']}", seed=qa.evaluation_in(EvalStatus.submitted),
         foreign=lambda c: f"/api/qa/evaluations/{c.ids['eval']}", foreign_seed=qa.foreign_evaluation_in(EvalStatus.submitted)),
    Case(
        "PATCH", "/api/qa/evaluations/{eval_id}", REVIEWERS, url=lambda c: f"/api/qa/evaluations/{c.ids['eval']}",
        body=lambda c: {"comment": "ok"}, seed=qa.evaluation_in(EvalStatus.draft, answers=False),
        foreign=lambda c: f"/api/qa/evaluations/{c.ids['eval']}", foreign_seed=qa.foreign_evaluation_in(EvalStatus.draft, answers=False),
    ),
    Case("POST", "/api/qa/evaluations/{eval_id}/submit", REVIEWERS, url=lambda c: f"/api/qa/evaluations/{c.ids['eval']}/submit", seed=qa.evaluation_in(EvalStatus.draft),
         foreign=lambda c: f"/api/qa/evaluations/{c.ids['eval']}/submit", foreign_seed=qa.foreign_evaluation_in(EvalStatus.draft)),
    Case(
        "POST", "/api/qa/evaluations/{eval_id}/acknowledge", AGENT, url=lambda c: f"/api/qa/evaluations/{c.ids['eval']}/acknowledge",
        body=lambda c: {}, seed=qa.evaluation_in(EvalStatus.submitted),
        foreign=lambda c: f"/api/qa/evaluations/{c.ids['eval']}/acknowledge", foreign_seed=qa.foreign_evaluation_in(EvalStatus.submitted),
        foreign_roles=frozenset(),
    ),
    Case(
        "POST", "/api/qa/evaluations/{eval_id}/dispute", AGENT, url=lambda c: f"/api/qa/evaluations/{c.ids['eval']}/dispute",
        body=lambda c: {"comment": "not fair"}, seed=qa.evaluation_in(EvalStatus.submitted),
        foreign=lambda c: f"/api/qa/evaluations/{c.ids['eval']}/dispute", foreign_seed=qa.foreign_evaluation_in(EvalStatus.submitted),
        foreign_roles=frozenset(),
    ),
    Case(
        "POST", "/api/qa/evaluations/{eval_id}/resolve", REVIEWERS, url=lambda c: f"/api/qa/evaluations/{c.ids['eval']}/resolve",
        body=lambda c: {"decision": "upheld", "comment": "stands"}, seed=qa.evaluation_in(EvalStatus.disputed),
        foreign=lambda c: f"/api/qa/evaluations/{c.ids['eval']}/resolve", foreign_seed=qa.foreign_evaluation_in(EvalStatus.disputed),
    ),
    Case("POST", "/api/qa/evaluations/{eval_id}/revisions", REVIEWERS, url=lambda c: f"/api/qa/evaluations/{c.ids['eval']}/revisions", seed=qa.evaluation_in(EvalStatus.submitted),
         foreign=lambda c: f"/api/qa/evaluations/{c.ids['eval']}/revisions", foreign_seed=qa.foreign_evaluation_in(EvalStatus.submitted)),
    Case("POST", "/api/qa/sampling", REVIEWERS, body=lambda c: {"month": "2026-11", "seed": 1}),
    Case("GET", "/api/qa/summary", ALL),
    Case("GET", "/api/qa/summary.csv", ALL),
    Case("GET", "/qa", PUBLIC),
    Case("GET", "/customers", PUBLIC),
    Case("GET", "/outbound", PUBLIC),
    Case("GET", "/workorders", PUBLIC),
    # realtime: pages, desktop and supervisor actions (fake gateway/core below), settings
    Case("GET", "/desktop", PUBLIC),
    Case("GET", "/wallboard", PUBLIC),
    Case("GET", "/reports", PUBLIC),
    Case("GET", "/vendor/{name}", PUBLIC, url=lambda c: "/vendor/echarts.min.js"),
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
    # supervisor actions: on the lead's own team's agents only
    Case("POST", "/api/supervisor/agents/{user_id}/spy", LEADS,
         url=lambda c: f"/api/supervisor/agents/{c.ids['agent']}/spy", body=lambda c: {"mode": "listen"}, prepare=_on_a_call,
         foreign=lambda c: f"/api/supervisor/agents/{c.ids['other_agent']}/spy"),
    Case("POST", "/api/supervisor/agents/{user_id}/pause", LEADS,
         url=lambda c: f"/api/supervisor/agents/{c.ids['agent']}/pause", body=lambda c: {"reason": "meeting"}, prepare=_on_a_call,
         foreign=lambda c: f"/api/supervisor/agents/{c.ids['other_agent']}/pause"),
    Case("POST", "/api/supervisor/agents/{user_id}/unpause", LEADS,
         url=lambda c: f"/api/supervisor/agents/{c.ids['agent']}/unpause", prepare=_on_a_call,
         foreign=lambda c: f"/api/supervisor/agents/{c.ids['other_agent']}/unpause"),
    Case("POST", "/api/supervisor/agents/{user_id}/logout", LEADS,
         url=lambda c: f"/api/supervisor/agents/{c.ids['agent']}/logout", prepare=_on_a_call,
         foreign=lambda c: f"/api/supervisor/agents/{c.ids['other_agent']}/logout"),
    Case("GET", "/api/realtime/pause-reasons", ALL),
    Case("PUT", "/api/realtime/pause-reasons", ADMIN,
         body=lambda c: {"reasons": [{"code": "break", "zh": "小休", "en": "Break", "max_s": 900}]}),
    Case("GET", "/api/realtime/sites", LEADS),
    Case("GET", "/api/realtime/wallboard-thresholds", LEADS),
    Case("PUT", "/api/realtime/wallboard-thresholds", ADMIN, body=lambda c: _thresholds()),
    # outbound: campaigns of the lead's team / the agent's queue ('rbac'); 'elsewhere' is no team of the lead's
    Case("GET", "/api/outbound/campaigns", DESK),
    Case("POST", "/api/outbound/campaigns", LEADS, body=lambda c: {"name": f"c{next(_seq)}", "type": "sales", "team_id": c.ids["team"]}),
    Case("GET", "/api/outbound/campaigns/{campaign_id}", DESK, url=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}", seed=ob.campaign,
         foreign=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}", foreign_seed=ob.foreign_campaign),
    Case("PATCH", "/api/outbound/campaigns/{campaign_id}", LEADS, url=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}", seed=ob.campaign,
         body=lambda c: {"status": "paused"}, foreign=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}", foreign_seed=ob.foreign_campaign),
    Case("GET", "/api/outbound/campaigns/{campaign_id}/contacts", LEADS, url=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}/contacts",
         seed=ob.campaign, foreign=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}/contacts", foreign_seed=ob.foreign_campaign),
    Case("GET", "/api/outbound/campaigns/{campaign_id}/contacts.csv", LEADS, url=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}/contacts.csv",
         seed=ob.campaign, foreign=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}/contacts.csv", foreign_seed=ob.foreign_campaign),
    Case("GET", "/api/outbound/campaigns/{campaign_id}/segment", LEADS, url=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}/segment",
         seed=ob.campaign, foreign=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}/segment", foreign_seed=ob.foreign_campaign),
    Case("POST", "/api/outbound/campaigns/{campaign_id}/imports", LEADS, url=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}/imports",
         seed=ob.campaign, files=ob.list_file, foreign=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}/imports", foreign_seed=ob.foreign_campaign),
    Case("GET", "/api/outbound/imports/{import_id}/errors.csv", LEADS, url=lambda c: f"/api/outbound/imports/{c.ids['import']}/errors.csv",
         seed=ob.campaign, foreign=lambda c: f"/api/outbound/imports/{c.ids['import']}/errors.csv", foreign_seed=ob.foreign_campaign),
    Case("GET", "/api/outbound/campaigns/{campaign_id}/scripts", DESK, url=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}/scripts",
         seed=ob.campaign, foreign=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}/scripts", foreign_seed=ob.foreign_campaign),
    Case("POST", "/api/outbound/campaigns/{campaign_id}/scripts", LEADS, url=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}/scripts",
         seed=ob.campaign, body=lambda c: {"body": "话术 v2"},
         foreign=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}/scripts", foreign_seed=ob.foreign_campaign),
    Case("GET", "/api/outbound/campaigns/{campaign_id}/kpis", DESK, url=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}/kpis",
         seed=ob.campaign, foreign=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}/kpis", foreign_seed=ob.foreign_campaign),
    Case("POST", "/api/outbound/campaigns/{campaign_id}/next", DESK, url=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}/next",
         seed=ob.campaign, foreign=lambda c: f"/api/outbound/campaigns/{c.ids['campaign']}/next", foreign_seed=ob.foreign_campaign),
    Case("POST", "/api/outbound/calls/{uniqueid}/card", DESK, url=lambda c: f"/api/outbound/calls/cc-dial-rbac-{c.ids['dial_n']}/card", seed=ob.my_dial,
         foreign=lambda c: f"/api/outbound/calls/cc-dial-rbac-{c.ids['dial_n']}/card", foreign_seed=ob.foreign_dial),
    Case("POST", "/api/outbound/dials/{dial_id}/dial", DESK, url=lambda c: f"/api/outbound/dials/{c.ids['dial']}/dial", seed=ob.my_dial,
         prepare=ob.gateway, foreign=lambda c: f"/api/outbound/dials/{c.ids['dial']}/dial", foreign_seed=ob.foreign_dial),
    Case("POST", "/api/outbound/dials/{dial_id}/result", DESK, url=lambda c: f"/api/outbound/dials/{c.ids['dial']}/result", seed=ob.my_dial,
         body=lambda c: {"result": "no_answer"}, foreign=lambda c: f"/api/outbound/dials/{c.ids['dial']}/result", foreign_seed=ob.foreign_dial),
    Case("GET", "/api/outbound/dnc", LEADS),
    Case("POST", "/api/outbound/dnc", LEADS, body=lambda c: {"number": _phone()}),
    Case("DELETE", "/api/outbound/dnc/{entry_id}", ADMIN, url=lambda c: f"/api/outbound/dnc/{c.ids['dnc']}", setup=ob.dnc_entry),
    Case("GET", "/api/outbound/dnc/check", DESK, params={"number": "13800138000"}),
    Case("GET", "/api/outbound/callbacks/today", DESK),
    Case("POST", "/api/outbound/callbacks/sync", LEADS),
    Case("POST", "/api/outbound/callbacks/{task_id}/result", DESK, url=lambda c: f"/api/outbound/callbacks/{c.ids['callback']}/result",
         setup=_callback, body=lambda c: {"result": "reached"}),
    Case("GET", "/api/outbound/callbacks/kpis", LEADS),
    Case("POST", "/api/outbound/arrears/import", LEADS, files=ob.arrears_file),
    Case("GET", "/api/outbound/arrears/due", LEADS),
    Case("POST", "/api/outbound/arrears/{arrear_id}/steps", LEADS, url=lambda c: f"/api/outbound/arrears/{c.ids['arrear']}/steps", seed=ob.arrear,
         body=lambda c: {"step": "phone"}),
    Case("POST", "/api/outbound/arrears/{arrear_id}/paid", LEADS, url=lambda c: f"/api/outbound/arrears/{c.ids['arrear']}/paid", seed=ob.arrear,
         body=lambda c: {"paid_on": "2026-07-01"}),
    Case("GET", "/api/outbound/arrears/kpis", LEADS, params={"period": "2026-06"}),
    # work orders: an order first-owned by the caller in a department they staff; foreign: another team's agent's
    Case("GET", "/api/workorders/mine", WO_DESK),
    Case("GET", "/api/workorders/board", WO_BOARD),
    Case("GET", "/api/workorders/tiles", WO_OVERSEE),
    Case("GET", "/api/workorders/reports/{name}.csv", WO_OVERSEE, url=lambda c: "/api/workorders/reports/intake.csv"),
    Case("POST", "/api/workorders/escalate", ADMIN),
    Case("POST", "/api/workorders/follow-ups/run", ADMIN),
    Case("GET", "/api/workorders/follow-ups/overdue", LEADS),
    Case("POST", "/api/workorders/tasks/{task_id}/result", DESK, url=lambda c: f"/api/workorders/tasks/{c.ids['task']}/result",
         body=lambda c: {"result": "unreachable"}, seed=wo.my_task,
         foreign=lambda c: f"/api/workorders/tasks/{c.ids['task']}/result", foreign_seed=wo.foreign_task),
    Case("POST", "/api/workorders/tasks/{task_id}/dial", DESK, url=lambda c: f"/api/workorders/tasks/{c.ids['task']}/dial",
         seed=wo.my_task, prepare=_on_a_call,
         foreign=lambda c: f"/api/workorders/tasks/{c.ids['task']}/dial", foreign_seed=wo.foreign_task),
    Case("GET", "/api/workorders/rectifications", WO_BOARD),
    Case("POST", "/api/workorders/rectifications/{notice_id}/acknowledge", WO_ACK,
         url=lambda c: f"/api/workorders/rectifications/{c.ids['notice']}/acknowledge", body=lambda c: {"note": "明早上门"}, seed=wo.notice(),
         foreign=lambda c: f"/api/workorders/rectifications/{c.ids['notice']}/acknowledge", foreign_seed=wo.notice(foreign=True)),
    Case("GET", "/api/workorders/{order_id}/rectifications", WO_DESK, url=lambda c: f"/api/workorders/{c.ids['order']}/rectifications",
         seed=wo.order(), foreign=lambda c: f"/api/workorders/{c.ids['order']}/rectifications", foreign_seed=wo.foreign_order(),
         foreign_roles=WO_ALL_SEEING),
    Case("POST", "/api/workorders/tasks/{task_id}/assign", LEADS, url=lambda c: f"/api/workorders/tasks/{c.ids['task']}/assign",
         body=lambda c: {"assigned_to": c.ids["agent"]}, seed=wo.team_task,
         foreign=lambda c: f"/api/workorders/tasks/{c.ids['task']}/assign", foreign_seed=wo.foreign_task),
    Case("GET", "/api/workorders/departments", WO_DESK),
    Case("PUT", "/api/workorders/departments/{code}", ADMIN, url=lambda c: "/api/workorders/departments/engineering", body=wo.department_body),
    Case("GET", "/api/workorders", WO_DESK),
    Case("POST", "/api/workorders", DESK, body=lambda c: {"kind": "repair", "subject": "灯不亮"}),
    Case("GET", "/api/workorders/{order_id}", WO_DESK, url=lambda c: f"/api/workorders/{c.ids['order']}", seed=wo.order(),
         foreign=lambda c: f"/api/workorders/{c.ids['order']}", foreign_seed=wo.foreign_order(), foreign_roles=WO_ALL_SEEING),
    Case("GET", "/api/workorders/{order_id}/timeline", WO_DESK, url=lambda c: f"/api/workorders/{c.ids['order']}/timeline", seed=wo.order(),
         foreign=lambda c: f"/api/workorders/{c.ids['order']}/timeline", foreign_seed=wo.foreign_order(), foreign_roles=WO_ALL_SEEING),
    Case("GET", "/api/workorders/{order_id}/tasks", WO_DESK, url=lambda c: f"/api/workorders/{c.ids['order']}/tasks", seed=wo.order(),
         foreign=lambda c: f"/api/workorders/{c.ids['order']}/tasks", foreign_seed=wo.foreign_order(), foreign_roles=WO_ALL_SEEING),
    Case("POST", "/api/workorders/{order_id}/state", WO_DESK, url=lambda c: f"/api/workorders/{c.ids['order']}/state",
         body=lambda c: {"state": "ASSIGNED", "version": 1}, seed=wo.order(),
         foreign=lambda c: f"/api/workorders/{c.ids['order']}/state", foreign_seed=wo.foreign_order(), foreign_roles=WO_ALL_SEEING),
    Case("POST", "/api/workorders/{order_id}/assign", LEADS, url=lambda c: f"/api/workorders/{c.ids['order']}/assign",
         body=lambda c: {"version": 1, "assignee_id": c.me_id}, seed=wo.order(),
         foreign=lambda c: f"/api/workorders/{c.ids['order']}/assign", foreign_seed=wo.foreign_order()),
    Case("POST", "/api/workorders/{order_id}/chase", WO_OVERSEE, url=lambda c: f"/api/workorders/{c.ids['order']}/chase",
         body=lambda c: {"text": "快"}, seed=wo.order(),
         foreign=lambda c: f"/api/workorders/{c.ids['order']}/chase", foreign_seed=wo.foreign_order(), foreign_roles=WO_ALL_SEEING),
    Case("POST", "/api/workorders/{order_id}/rectify", WO_OVERSEE, url=lambda c: f"/api/workorders/{c.ids['order']}/rectify",
         body=lambda c: {"text": "限期整改", "deadline_at": wo.soon()}, seed=wo.order(),
         foreign=lambda c: f"/api/workorders/{c.ids['order']}/rectify", foreign_seed=wo.foreign_order(), foreign_roles=WO_ALL_SEEING),
    Case("POST", "/api/workorders/{order_id}/overdue-plan", WO_DESK, url=lambda c: f"/api/workorders/{c.ids['order']}/overdue-plan",
         body=lambda c: {"version": 1, "reason": "缺配件", "plan": "周五", "new_deadline": wo.soon()}, seed=wo.order(overdue=True),
         foreign=lambda c: f"/api/workorders/{c.ids['order']}/overdue-plan", foreign_seed=wo.foreign_order(overdue=True), foreign_roles=WO_ALL_SEEING),
    Case("POST", "/api/workorders/{order_id}/calls", WO_DESK, url=lambda c: f"/api/workorders/{c.ids['order']}/calls",
         body=lambda c: {"uniqueid": "1700000000.1"}, seed=wo.order(),
         foreign=lambda c: f"/api/workorders/{c.ids['order']}/calls", foreign_seed=wo.foreign_order(), foreign_roles=WO_ALL_SEEING),
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


def _operations() -> list[tuple[str, str]]:
    """Every operation of the OpenAPI, and every route kept out of it
    (pages, /metrics): what the matrix must cover."""
    app = create_app(make_settings())
    ops = {(m.upper(), path) for path, item in app.openapi()["paths"].items() for m in item if m in _METHODS}
    for r in app.routes:
        pairs = [(c.path, c.original_route) for c in r.effective_route_contexts()] if hasattr(r, "effective_route_contexts") else [(getattr(r, "path", ""), r)]
        for path, route in pairs:
            if isinstance(route, APIRoute) and not route.include_in_schema:
                ops |= {(m, path) for m in route.methods - {"HEAD", "OPTIONS"}}
    return sorted(ops)


_METHODS = {"get", "post", "put", "patch", "delete"}
OPERATIONS = _operations()
BY_KEY = {c.key: c for c in MATRIX}


def test_no_stale_entries():
    stale = sorted(({c.key for c in MATRIX} | set(UNCHECKED)) - set(OPERATIONS))
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"


async def _actors(make_user, make_team):  # noqa: ANN001, ANN202
    """One actor per role (everyone has a phone, so desk and supervisor
    actions can succeed); the lead leads a team with the target agent."""
    actors = {
        role: await make_user(role, interface=f"PJSIP/7{i:03d}", queues=[("rbac", 0), ("enquiries", 0)] if role == Role.team_lead else None)
        for i, role in enumerate(Role)
    }
    target = await make_user(Role.agent)
    other = await make_user(Role.agent)
    team = await make_team(actors[Role.team_lead], target)
    other_team = await make_team(None, other)
    ids = {"agent": target.user.id, "agent_iface": target.user.interface, "other_agent": other.user.id,
           "other_iface": other.user.interface, "team": team, "other_team": other_team}  # fmt: skip
    return actors, ids


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda o: f"{o[0]} {o[1]}")
async def test_role_matrix(op: tuple[str, str], app, client, make_user, make_team, db, settings):
    if op in UNCHECKED:
        assert UNCHECKED[op]  # not role-checked by design, for the reason given
        return
    case = BY_KEY.get(op)
    assert case is not None, f"{op[0]} {op[1]} has no RBAC matrix entry: add a Case to tests/test_rbac.py"
    actors, ids = await _actors(make_user, make_team)
    if case.prepare is not None:
        case.prepare(app, actors, ids)

    async def request(actor, foreign: bool = False):  # noqa: ANN001, ANN202
        setup = case.foreign_setup if foreign and case.foreign_setup else case.setup
        if setup is not None:
            ids.update(await setup(client, actors[Role.admin].headers))
        ctx = Ctx(me_id=actor.user.id if actor else 0, ids=dict(ids))
        seed = case.foreign_seed if foreign and case.foreign_seed else case.seed
        if seed is not None:
            await seed(db, settings, ctx)
        if foreign:
            url = case.foreign(ctx)  # type: ignore[misc]
        else:
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
    if case.foreign is None:
        return
    allowed = case.foreign_roles if case.foreign_roles is not None else frozenset({Role.admin, Role.qa}) & case.roles
    for role in case.roles:
        r = await request(actors[role], foreign=True)
        if role in allowed:
            assert 200 <= r.status_code < 300, f"{role.value} on another team's object should be allowed, got {r.status_code}: {r.text}"
        else:
            assert r.status_code == 403, f"{role.value} on another team's object should be forbidden, got {r.status_code}: {r.text}"
