"""Teams REST: admins create teams, name their leads and move agents;
leads read the teams they lead.  Every change is audited and takes
effect on the affected leads' scope at once (auth.sessions)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.auth.api import Admin, Lead, SessionDep, client_ip
from callcenter.auth.models import User
from callcenter.auth.service import Principal, audit
from callcenter.teams import service
from callcenter.teams.models import Team
from callcenter.teams.schemas import MemberOut, MembershipOut, TeamIn, TeamOut, TeamPatch, UserRef
from callcenter.validation import INT32_MAX, Id, Moment

router = APIRouter(prefix="/api/teams", tags=["teams"])


def _http(exc: service.TeamError) -> HTTPException:
    return HTTPException(exc.status, str(exc))


async def _out(session: AsyncSession, t: Team) -> TeamOut:
    lead_ids = [lead.user_id for lead in t.leads]
    leads = {u.id: u for u in (await session.execute(select(User).where(User.id.in_(lead_ids)))).scalars()} if lead_ids else {}
    return TeamOut(
        id=t.id,
        name=t.name,
        description=t.description,
        active=t.active,
        created_at=t.created_at,
        leads=[UserRef(id=u.id, username=u.username, display_name=u.display_name) for i in lead_ids if (u := leads.get(i))],
        members=[
            MemberOut(user_id=u.id, username=u.username, display_name=u.display_name, interface=u.interface, since=m.from_at)
            for m, u in await service.members(session, t.id)
        ],
    )


async def _visible(session: AsyncSession, who: Principal, team_id: int) -> Team:
    try:
        t = await service.team(session, team_id)
    except service.TeamError as exc:
        raise _http(exc) from None
    if not who.sees.has_team(team_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"you do not lead team {team_id}")
    return t


def _changed(request: Request, leads: set[int]) -> None:
    if leads:
        request.app.state.sessions.scope_changed(leads)


@router.get("", response_model=list[TeamOut])
async def list_teams(who: Lead, session: SessionDep, include_archived: bool = False) -> list[TeamOut]:
    """Admins get every team; a team lead the teams they lead."""
    q = select(Team).order_by(Team.name)
    if not include_archived:
        q = q.where(Team.active.is_(True))
    teams = [t for t in (await session.execute(q)).scalars() if who.sees.has_team(t.id)]
    return [await _out(session, t) for t in teams]


@router.post("", response_model=TeamOut, status_code=201)
async def create_team(body: TeamIn, admin: Admin, session: SessionDep, request: Request) -> TeamOut:
    try:
        t = await service.create(session, body.name, body.description, body.lead_ids)
    except service.TeamError as exc:
        raise _http(exc) from None
    audit(session, admin, "team.create", t.name, client_ip(request), leads=body.lead_ids)
    await session.commit()
    _changed(request, set(body.lead_ids))
    return await _out(session, t)


@router.get("/memberships", response_model=list[MembershipOut])
async def memberships(
    who: Lead,
    session: SessionDep,
    team_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
    user_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
    at: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[MembershipOut]:
    """Who was in which team from when to when (newest first); `at` gives
    the stretches covering one instant.  Leads see their teams' history."""
    rows = await service.history(session, team_id, user_id, at, limit)
    return [
        MembershipOut(id=m.id, team_id=t.id, team_name=t.name, user_id=u.id, username=u.username, from_at=m.from_at, to_at=m.to_at)
        for m, t, u in rows
        if who.sees.has_team(t.id)
    ]


@router.get("/{team_id}", response_model=TeamOut)
async def get_team(team_id: Id, who: Lead, session: SessionDep) -> TeamOut:
    return await _out(session, await _visible(session, who, team_id))


@router.patch("/{team_id}", response_model=TeamOut)
async def update_team(team_id: Id, body: TeamPatch, admin: Admin, session: SessionDep, request: Request) -> TeamOut:
    t = await _visible(session, admin, team_id)
    try:
        affected = await service.update(session, t, body.model_dump(exclude_unset=True))
    except service.TeamError as exc:
        raise _http(exc) from None
    audit(session, admin, "team.update", t.name, client_ip(request), fields=sorted(body.model_fields_set))
    await session.commit()
    _changed(request, affected)
    await session.refresh(t)
    return await _out(session, t)


@router.delete("/{team_id}", status_code=204)
async def archive_team(team_id: Id, admin: Admin, session: SessionDep, request: Request) -> Response:
    """Archive an empty team: it leaves the lists, its history stays."""
    t = await _visible(session, admin, team_id)
    try:
        affected = await service.archive(session, t)
    except service.TeamError as exc:
        raise _http(exc) from None
    audit(session, admin, "team.archive", t.name, client_ip(request))
    await session.commit()
    _changed(request, affected)
    return Response(status_code=204)


@router.put("/{team_id}/members/{user_id}", response_model=TeamOut)
async def add_member(team_id: Id, user_id: Id, admin: Admin, session: SessionDep, request: Request) -> TeamOut:
    """Move an agent into this team from now on (out of their old one)."""
    t = await _visible(session, admin, team_id)
    try:
        _, affected = await service.add_member(session, t, user_id)
    except service.TeamError as exc:
        raise _http(exc) from None
    audit(session, admin, "team.member.add", t.name, client_ip(request), user_id=user_id)
    await session.commit()
    _changed(request, affected)
    return await _out(session, t)


@router.delete("/{team_id}/members/{user_id}", status_code=204)
async def remove_member(team_id: Id, user_id: Id, admin: Admin, session: SessionDep, request: Request) -> Response:
    t = await _visible(session, admin, team_id)
    try:
        affected = await service.remove_member(session, t, user_id)
    except service.TeamError as exc:
        raise _http(exc) from None
    audit(session, admin, "team.member.remove", t.name, client_ip(request), user_id=user_id)
    await session.commit()
    _changed(request, affected)
    return Response(status_code=204)
