"""Set-ups for the work-order rows of the RBAC matrix (tests/test_rbac.py):
each request gets a fresh order the caller may act on (first-owned by
them, in a department they staff), and the foreign variant one of
another team's agent in no department."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from callcenter.config import Settings
from callcenter.db import Database
from callcenter.workorders.models import Department, DepartmentMember, RectificationNotice, Task, WorkOrder
from callcenter.workorders.states import Kind, State

_n = itertools.count(1)
DESK_AND_DEPT = None  # set by test_rbac


async def _make(db: Database, owner: int | None, member: bool, overdue: bool = False, task_for: int | None = None) -> dict[str, int]:
    n = next(_n)
    now = datetime.now(UTC)
    async with db.sessions() as s:
        dept = Department(code=f"rbac{n}", name_zh="工程部", name_en="Engineering")
        s.add(dept)
        await s.flush()
        if owner and member:  # the caller staffs the order's department
            s.add(DepartmentMember(department_id=dept.id, user_id=owner))
        dept_id = dept.id
        order = WorkOrder(
            kind=Kind.enquiry, state=State.NEW, is_open=True, subject=f"rbac {n}", first_owner_id=owner, department_id=dept_id,
            resolve_by=now - timedelta(hours=1) if overdue else now + timedelta(days=2), ladder=[], escalation_level=0,
            chases=0, reopens=0, calls=[], created_at=now, updated_at=now,
        )  # fmt: skip
        s.add(order)
        await s.flush()
        out = {"order": order.id}
        if task_for is not None:
            task = Task(key=f"rbac:{n}", kind="return_visit", order_id=order.id, number="13800138000", due_at=now + timedelta(days=1), assigned_to=task_for)
            s.add(task)
            await s.flush()
            out["task"] = task.id
        await s.commit()
    return out


def order(overdue: bool = False) -> Callable[[Database, Settings, Any], Awaitable[None]]:
    async def seed(db: Database, settings: Settings, ctx: Any) -> None:
        ctx.ids.update(await _make(db, ctx.me_id or None, True, overdue))

    return seed


def foreign_order(overdue: bool = False) -> Callable[[Database, Settings, Any], Awaitable[None]]:
    async def seed(db: Database, settings: Settings, ctx: Any) -> None:
        ctx.ids.update(await _make(db, ctx.ids["other_agent"], False, overdue))

    return seed


async def my_task(db: Database, settings: Settings, ctx: Any) -> None:
    ctx.ids.update(await _make(db, ctx.me_id or None, True, task_for=ctx.me_id or ctx.ids["agent"]))


async def foreign_task(db: Database, settings: Settings, ctx: Any) -> None:
    ctx.ids.update(await _make(db, ctx.ids["other_agent"], False, task_for=ctx.ids["other_agent"]))


async def team_task(db: Database, settings: Settings, ctx: Any) -> None:
    """A task of the lead's team member (ids['agent'])."""
    ctx.ids.update(await _make(db, ctx.ids["agent"], False, task_for=ctx.ids["agent"]))


def notice(foreign: bool = False) -> Callable[[Database, Settings, Any], Awaitable[None]]:
    """A rectification notice to a department the caller staffs (foreign: to one they do not)."""

    async def seed(db: Database, settings: Settings, ctx: Any) -> None:
        ids = await _make(db, ctx.ids["other_agent"] if foreign else ctx.me_id or None, not foreign)
        async with db.sessions() as s:
            order = await s.get(WorkOrder, ids["order"])
            n = RectificationNotice(order_id=order.id, department_id=order.department_id, text="限期整改",
                                    deadline_at=datetime.now(UTC) + timedelta(days=1))  # fmt: skip
            s.add(n)
            await s.commit()
            ctx.ids.update(ids, notice=n.id)

    return seed


def department_body(ctx: Any) -> dict[str, Any]:
    return {"code": "engineering", "name_zh": "工程部", "name_en": "Engineering", "members": [ctx.me_id] if ctx.me_id else []}


def soon() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).isoformat()
