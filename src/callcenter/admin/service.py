"""What a console user may see, the routing what-if, the audit search."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd.models import Queue
from callcenter.auth.models import AuditEntry, Role, Skill, User
from callcenter.auth.service import Principal
from callcenter.hooks.models import QueueHours, RouteRule
from callcenter.hooks.schemas import Calendar
from callcenter.qa.models import QaForm
from callcenter.qa.service import ensure_default_form
from callcenter.realtime import service as realtime


def lead_scope(principal: Principal) -> list[str] | None:
    """The queues a console user's view is cut to; None = all (admin).
    A team lead sees their teams' queues: today the queues they lead (their
    skills).  When teams land (wip/security's Team model) this is the one
    place to widen it to the teams' queues and members."""
    if principal.role == Role.admin:
        return None
    return sorted(principal.queues)


async def config(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    scope = lead_scope(principal)
    queues_q = select(Queue).order_by(Queue.name)
    users_q = select(User).order_by(User.username)
    rules_q = select(RouteRule).order_by(RouteRule.dnis, RouteRule.choice)
    hours_q = select(QueueHours).order_by(QueueHours.queue)
    if scope is not None:
        queues_q = queues_q.where(Queue.name.in_(scope))
        members = select(Skill.user_id).where(Skill.queue.in_(scope))
        users_q = users_q.where(or_(User.id.in_(members), User.id == principal.id))
        rules_q = rules_q.where(or_(RouteRule.queue.in_(scope), RouteRule.vip_queue.in_(scope)))
        hours_q = hours_q.where(QueueHours.queue.in_(scope))
    await ensure_default_form(session)
    forms = list((await session.execute(select(QaForm).where(QaForm.active.is_(True)).order_by(QaForm.code))).scalars())
    return {
        "can_edit": principal.role == Role.admin,
        "scope": scope,
        "queues": list((await session.execute(queues_q)).scalars()),
        "users": list((await session.execute(users_q)).scalars()),
        "rules": list((await session.execute(rules_q)).scalars()),
        "hours": [{"queue": h.queue, "calendar": Calendar.model_validate(h.calendar)} for h in (await session.execute(hours_q)).scalars()],
        "pause_reasons": await realtime.get_setting(session, realtime.PAUSE_REASONS),
        "thresholds": await realtime.get_setting(session, realtime.THRESHOLDS),
        "forms": forms,
    }


async def search_audit(
    session: AsyncSession,
    *,
    q: str = "",
    actor: str = "",
    action: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> dict[str, Any]:
    """Newest first.  `q` matches the actor, the action or the target
    (case-insensitive substring); `action` is exact or a prefix ending in
    '.' ("queue." finds every queue change)."""
    conds = []
    if q:
        like = f"%{q.lower()}%"
        conds.append(or_(func.lower(AuditEntry.actor).like(like), func.lower(AuditEntry.action).like(like), func.lower(AuditEntry.target).like(like)))
    if actor:
        conds.append(AuditEntry.actor == actor)
    if action:
        conds.append(AuditEntry.action.startswith(action, autoescape=True) if action.endswith(".") else AuditEntry.action == action)
    if since is not None:
        conds.append(AuditEntry.at >= since)
    if until is not None:
        conds.append(AuditEntry.at < until)
    total = await session.scalar(select(func.count()).select_from(AuditEntry).where(*conds)) or 0
    page = select(AuditEntry).where(*conds).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        page = page.where(AuditEntry.id < before_id)
    items = list((await session.execute(page)).scalars())
    actions = list((await session.execute(select(AuditEntry.action).distinct().order_by(AuditEntry.action))).scalars())
    return {"total": total, "items": items, "actions": actions}
