"""The admin console's own routes (the pages call each capability's API
for changes; see callcenter.admin)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from callcenter.admin import service
from callcenter.admin.schemas import AuditPage, ConfigOut, RouteTestIn, RouteTestOut
from callcenter.auth.api import Admin, Lead, SessionDep
from callcenter.errors import CodedError
from callcenter.hooks.schemas import RuleOut

router = APIRouter(prefix="/api/admin", tags=["admin"])


@router.get("/config", response_model=ConfigOut)
async def get_config(principal: Lead, session: SessionDep, request: Request) -> dict[str, Any]:
    """The configuration the console shows: all of it for an admin (who may
    change it); for a team lead, read-only, what applies to their teams."""
    out = await service.config(session, principal)
    out["teams"] = any(getattr(r, "path", "") == "/api/teams" for r in request.app.routes)
    return out


@router.post("/routing/test", response_model=RouteTestOut)
async def routing_test(body: RouteTestIn, _: Lead, request: Request) -> RouteTestOut:
    """What would this caller get now (or at `at`; without a zone, the
    centre's local time)?  The real decision, with the live rules, hours
    and customer data, recorded nowhere."""
    routes = request.app.state.routes
    at = body.at or datetime.now(UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=request.app.state.settings.tz)
    d = await routes.decide(body.caller, body.dnis, "route-test", body.choice, now=at, record=False)
    rule = routes.table.resolve(body.dnis, body.choice)
    return RouteTestOut(
        queue=d.queue, action=d.action, priority=d.priority, reasons=d.reasons, customer_id=d.customer_id,
        customer_name=d.name, language=d.language, open_ticket=d.open_ticket, duty=d.duty, voicemail=d.voicemail,
        fallback=d.fallback, rule=RuleOut.model_validate(rule) if rule else None, at=at,
    )  # fmt: skip


@router.get("/audit", response_model=AuditPage)
async def audit(
    _: Admin,
    session: SessionDep,
    q: Annotated[str, Query(max_length=100, description="words in the actor, action or target")] = "",
    actor: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64, description="exact, or a prefix ending in '.'")] = "",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: int | None = None,
) -> dict[str, Any]:
    """The audit log, searchable: who changed what, when and from where."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise CodedError(status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid", f"{name}: give a time zone, e.g. 2026-01-01T00:00:00+08:00")
    return await service.search_audit(
        session, q=q.strip(), actor=actor.strip(), action=action.strip(), since=since, until=until, limit=limit, before_id=before_id
    )
