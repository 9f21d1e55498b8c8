"""Teams: create, lead, move agents between them, and ask who was where.

Moving an agent closes their open membership and opens one in the new
team at the same instant, so history has no gaps or overlaps.  Whoever
changes a team tells auth.sessions (scope_changed) with the leads whose
scope moved: their next request, and their websockets, see the new scope.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.auth.models import Role, User
from callcenter.db import utcnow
from callcenter.teams.models import Team, TeamLead, TeamMember


class TeamError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def team(session: AsyncSession, team_id: int) -> Team:
    t = await session.get(Team, team_id)
    if t is None:
        raise TeamError(404, f"no team {team_id}")
    return t


async def _users(session: AsyncSession, ids: list[int], role: Role, what: str) -> list[User]:
    if not ids:
        return []
    found = {u.id: u for u in (await session.execute(select(User).where(User.id.in_(ids)))).scalars()}
    missing = [i for i in ids if i not in found]
    if missing:
        raise TeamError(422, f"{what}: no user {', '.join(map(str, missing))}")
    wrong = [u.username for u in found.values() if u.role != role]
    if wrong:
        raise TeamError(422, f"{what}: {', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not {role.value}")
    return [found[i] for i in ids]


async def create(session: AsyncSession, name: str, description: str, lead_ids: list[int]) -> Team:
    await _users(session, lead_ids, Role.team_lead, "lead_ids")
    t = Team(name=name, description=description, leads=[TeamLead(user_id=i) for i in lead_ids])
    session.add(t)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise TeamError(409, f"name: a team called {name!r} exists") from None
    return t


async def update(session: AsyncSession, t: Team, fields: dict[str, object]) -> set[int]:
    """Apply a patch; the lead ids whose scope changed (old and new leads)."""
    if not t.active:
        raise TeamError(409, f"team {t.id} is archived")
    affected: set[int] = set()
    if "lead_ids" in fields:
        ids = list(fields.pop("lead_ids"))  # type: ignore[call-overload]
        await _users(session, ids, Role.team_lead, "lead_ids")
        affected = {lead.user_id for lead in t.leads} | set(ids)
        t.leads.clear()
        await session.flush()
        t.leads.extend(TeamLead(user_id=i) for i in ids)
    for k, v in fields.items():
        setattr(t, k, v)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise TeamError(409, f"name: a team called {fields.get('name')!r} exists") from None
    return affected


async def archive(session: AsyncSession, t: Team) -> set[int]:
    """Archive an empty team (its history stays); its leads lose it."""
    if await members(session, t.id):
        raise TeamError(409, f"team {t.id} still has members; move them first")
    affected = {lead.user_id for lead in t.leads}
    t.leads.clear()
    t.active = False
    await session.flush()
    return affected


async def members(session: AsyncSession, team_id: int) -> list[tuple[TeamMember, User]]:
    rows = await session.execute(
        select(TeamMember, User)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id == team_id, TeamMember.to_at.is_(None))
        .order_by(User.username)
    )
    return [(m, u) for m, u in rows.all()]


async def current_membership(session: AsyncSession, user_id: int) -> TeamMember | None:
    return (
        await session.execute(select(TeamMember).where(TeamMember.user_id == user_id, TeamMember.to_at.is_(None)))
    ).scalar_one_or_none()


async def _leads_of(session: AsyncSession, team_ids: set[int]) -> set[int]:
    if not team_ids:
        return set()
    return set((await session.execute(select(TeamLead.user_id).where(TeamLead.team_id.in_(team_ids)))).scalars())


async def add_member(session: AsyncSession, t: Team, user_id: int, at: datetime | None = None) -> tuple[TeamMember, set[int]]:
    """Put an agent in this team from now on (leaving their old one)."""
    if not t.active:
        raise TeamError(409, f"team {t.id} is archived")
    (user,) = await _users(session, [user_id], Role.agent, "user_id")
    at = at or utcnow()
    current = await current_membership(session, user.id)
    if current is not None and current.team_id == t.id:
        return current, set()
    teams = {t.id}
    if current is not None:
        current.to_at = at
        teams.add(current.team_id)
        await session.flush()
    m = TeamMember(team_id=t.id, user_id=user.id, from_at=at)
    session.add(m)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent move won
        await session.rollback()
        raise TeamError(409, f"user {user_id} was moved by someone else just now; try again") from None
    return m, await _leads_of(session, teams)


async def remove_member(session: AsyncSession, t: Team, user_id: int, at: datetime | None = None) -> set[int]:
    current = await current_membership(session, user_id)
    if current is None or current.team_id != t.id:
        raise TeamError(404, f"user {user_id} is not in team {t.id}")
    current.to_at = at or utcnow()
    await session.flush()
    return await _leads_of(session, {t.id})


async def history(
    session: AsyncSession, team_id: int | None = None, user_id: int | None = None, at: datetime | None = None, limit: int = 500
) -> list[tuple[TeamMember, Team, User]]:
    """Membership stretches, newest first; `at` keeps those covering that instant."""
    q = select(TeamMember, Team, User).join(Team, Team.id == TeamMember.team_id).join(User, User.id == TeamMember.user_id)
    if team_id is not None:
        q = q.where(TeamMember.team_id == team_id)
    if user_id is not None:
        q = q.where(TeamMember.user_id == user_id)
    if at is not None:
        q = q.where(TeamMember.from_at <= at, (TeamMember.to_at.is_(None)) | (TeamMember.to_at > at))
    rows = await session.execute(q.order_by(TeamMember.from_at.desc(), TeamMember.id.desc()).limit(limit))
    return [(m, t, u) for m, t, u in rows.all()]


async def team_at(session: AsyncSession, user_id: int, at: datetime) -> int | None:
    """The team an agent was in at an instant (for reports), or None."""
    rows = await history(session, user_id=user_id, at=at, limit=1)
    return rows[0][1].id if rows else None
