"""Set-ups for the QA rows of the RBAC matrix (tests/test_rbac.py): each
request gets fresh objects, so a workflow step allowed for several roles
succeeds for each of them."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from callcenter.auth.models import Role, Skill, User
from callcenter.config import Settings
from callcenter.db import Database, utcnow
from callcenter.qa.models import EvalStatus, Evaluation
from callcenter.qa.scoring import DEFAULT_FORM, items
from callcenter.qa.service import ensure_default_form

from .factories import make_call, write_wav

_n = itertools.count(1)
FULL = {i["key"]: ({"violated": False} if i["veto"] else {"score": i["weight"]}) for i in items(DEFAULT_FORM["definition"])}


async def recorded_call(db: Database, settings: Settings, ctx: Any) -> None:
    """A recorded call in a queue the caller leads if a team lead (leads
    see only their queues' calls)."""
    n = next(_n)
    write_wav(settings.recordings_dir / f"rbac{n}.wav", 2)
    queue = f"rbacq{n}"
    await make_call(db, f"rbac-{n}", agent="PJSIP/9999", recording_file=f"rbac{n}.wav", queue=queue)
    async with db.sessions() as s:
        me = await s.get(User, ctx.me_id) if ctx.me_id else None
        if me is not None and me.role == Role.team_lead:
            s.add(Skill(user_id=me.id, queue=queue))
            await s.commit()
    ctx.ids["call"] = f"rbac-{n}"


async def default_form(db: Database, settings: Settings, ctx: Any) -> None:
    async with db.sessions() as s:
        ctx.ids["form"] = (await ensure_default_form(s)).id
        await s.commit()


def evaluation_in(status: EvalStatus, answers: bool = True) -> Callable[[Database, Settings, Any], Awaitable[None]]:
    """A fresh evaluation in `status` of a call taken by the caller (if an
    agent; someone else's otherwise)."""

    async def setup(db: Database, settings: Settings, ctx: Any) -> None:
        await recorded_call(db, settings, ctx)
        async with db.sessions() as s:
            me = await s.get(User, ctx.me_id) if ctx.me_id else None
            form = await ensure_default_form(s)
            ev = Evaluation(
                call_record_id=(await _call_pk(s, ctx.ids["call"])),
                form_id=form.id,
                agent=(me.interface if me and me.interface else "PJSIP/9999"),
                agent_user_id=me.id if me else None,
                month="2026-11",
                queue=(await _call_queue(s, ctx.ids["call"])),
                status=status,
                answers=FULL if answers else {},
                total=100.0 if answers else None,
                submitted_at=None if status == EvalStatus.draft else utcnow(),
            )
            s.add(ev)
            await s.commit()
            ctx.ids["eval"] = ev.id

    return setup


async def _call_pk(s: Any, call_id: str) -> int:
    from sqlalchemy import select

    from callcenter.acd.models import CallRecord

    return (await s.execute(select(CallRecord.id).where(CallRecord.call_id == call_id))).scalar_one()


async def _call_queue(s: Any, call_id: str) -> str:
    from sqlalchemy import select

    from callcenter.acd.models import CallRecord

    return (await s.execute(select(CallRecord.queue).where(CallRecord.call_id == call_id))).scalar_one()


def form_body(_: Any) -> dict[str, Any]:
    return {"code": f"rbac-{next(_n)}", "name_zh": "测试", "name_en": "Test", "definition": DEFAULT_FORM["definition"]}


async def foreign_call(db: Database, settings: Settings, ctx: Any) -> None:
    """A recorded call outside every lead's teams: another queue, another agent."""
    n = next(_n)
    write_wav(settings.recordings_dir / f"rbacf{n}.wav", 2)
    await make_call(db, f"rbacf-{n}", agent="PJSIP/9998", recording_file=f"rbacf{n}.wav", queue=f"elsewhere{n}")
    ctx.ids["call"] = f"rbacf-{n}"


def foreign_evaluation_in(status: EvalStatus, answers: bool = True) -> Callable[[Database, Settings, Any], Awaitable[None]]:
    """An evaluation of someone else's call outside every lead's teams."""

    async def setup(db: Database, settings: Settings, ctx: Any) -> None:
        await foreign_call(db, settings, ctx)
        async with db.sessions() as s:
            form = await ensure_default_form(s)
            ev = Evaluation(
                call_record_id=(await _call_pk(s, ctx.ids["call"])),
                form_id=form.id,
                agent="PJSIP/9998",
                agent_user_id=None,
                month="2026-11",
                queue=(await _call_queue(s, ctx.ids["call"])),
                status=status,
                answers=FULL if answers else {},
                total=100.0 if answers else None,
                submitted_at=None if status == EvalStatus.draft else utcnow(),
            )
            s.add(ev)
            await s.commit()
            ctx.ids["eval"] = ev.id

    return setup
