"""Read views: my tasks, the lead's board (工单滞留), the wallboard tiles,
and the CSV reports.  Each reads through the caller's visibility clause."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, literal, or_, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.auth.models import Role
from callcenter.auth.service import Principal
from callcenter.workorders import service
from callcenter.workorders.states import RESOLVED_STATES
from callcenter.workorders.models import Department, Task, TaskKind, TaskStatus, TimelineEntry, WorkOrder

AGE_BUCKETS = ((1, "lt_1d"), (3, "1_3d"), (7, "3_7d"), (None, "gt_7d"))  # days open


def _where(stmt: Any, clause: Any) -> Any:
    return stmt if clause is None else stmt.where(clause)


async def my_tasks(session: AsyncSession, who: Principal, now: datetime, limit: int = 100) -> dict[str, Any]:
    """Orders I am assigned (or first-own and the customer was not yet told
    the result: 首问負責), return visits and follow-ups: due first."""
    mine = or_(WorkOrder.assignee_id == who.id, and_(WorkOrder.first_owner_id == who.id, WorkOrder.customer_notified_at.is_(None)))
    if who.role == Role.department:
        depts = await service.departments_of(session, who.id)
        mine = or_(WorkOrder.assignee_id == who.id, and_(WorkOrder.department_id.in_(depts or {-1}), WorkOrder.assignee_id.is_(None)))
    elif who.role == Role.director:  # 主任: what was raised to them, and every open 重大 complaint
        mine = or_(WorkOrder.assignee_id == who.id, WorkOrder.escalation_level >= 3, WorkOrder.severity == "serious")
    orders = (
        await session.execute(select(WorkOrder).where(WorkOrder.is_open == true(), mine).order_by(WorkOrder.resolve_by, WorkOrder.id).limit(limit))
    ).scalars().all()
    tasks = (
        await session.execute(
            select(Task).where(Task.status == TaskStatus.open, Task.assigned_to == who.id).order_by(Task.due_at, Task.id).limit(limit)
        )
    ).scalars().all()
    return {"now": now, "orders": orders, "tasks": tasks}


async def board(session: AsyncSession, who: Principal, now: datetime, department_id: int | None = None, limit: int = 50) -> dict[str, Any]:
    """Open orders in scope: counts overdue / escalated, by department and
    by age, and the longest-overdue and most-escalated orders to chase or
    reassign.

    Two round trips, whatever the scope: one aggregate over the open-orders
    partial index (index-only: every column it reads is in
    ix_work_orders_open_board), joined to the departments' names; and one
    statement for the lists (UNION ALL of the overdue and per-level
    escalated id ranges, each a bounded index range, joined to their rows)."""
    clause = await service.visibility(session, who)
    base = [WorkOrder.is_open == true()]
    if department_id is not None:
        base.append(WorkOrder.department_id == department_id)
    overdue = and_(WorkOrder.resolve_by < now, WorkOrder.state.not_in(RESOLVED_STATES))  # done, waiting for its visit: not late
    age_case = case(
        *[(WorkOrder.created_at > now - timedelta(days=d), name) for d, name in AGE_BUCKETS if d is not None],
        else_=AGE_BUCKETS[-1][1],
    )
    # One grouped count per disjoint part of the caller's scope (a lead's: the
    # orders their people own, and those assigned to them that others own),
    # each from its own narrow index range; summed below.
    parts = [
        select(
            WorkOrder.department_id.label("dept"), age_case.label("age"),
            func.count().label("n"),
            func.sum(case((overdue, 1), else_=0)).label("overdue"),
            func.sum(case((WorkOrder.escalation_level > 0, 1), else_=0)).label("escalated"),
        ).where(*base, *([part] if part is not None else [])).group_by(WorkOrder.department_id, age_case)
        for part in await service.visibility_parts(session, who)
    ]  # fmt: skip
    counted = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    if clause is not None:
        base.append(clause)
    rows = (
        await session.execute(
            select(counted.c.dept, counted.c.age, counted.c.n, counted.c.overdue, counted.c.escalated, Department.code, Department.name_zh, Department.name_en)
            .outerjoin(Department, Department.id == counted.c.dept)
        )
    ).all()  # fmt: skip
    by_dept: dict[Any, dict[str, int]] = {}
    by_age = {name: 0 for _, name in AGE_BUCKETS}
    totals = {"open": 0, "overdue": 0, "escalated": 0}
    names: dict[Any, dict[str, str]] = {}
    for dept, age, n, od, esc, code, zh, en in rows:
        if code is not None:
            names[dept] = {"code": code, "zh": zh, "en": en}
        d = by_dept.setdefault(dept, {"open": 0, "overdue": 0, "escalated": 0})
        d["open"] += n
        d["overdue"] += int(od or 0)
        d["escalated"] += int(esc or 0)
        by_age[age] += n
        totals["open"] += n
        totals["overdue"] += int(od or 0)
        totals["escalated"] += int(esc or 0)
    late, escalated = await _lists(session, base, overdue, limit)
    return {
        "now": now,
        "totals": totals,
        "by_department": [{"department_id": k, "name": names.get(k), **v} for k, v in sorted(by_dept.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))],
        "by_age": by_age,
        "overdue": late,
        "escalated": escalated,
    }


async def _lists(session: AsyncSession, base: list[Any], overdue: Any, limit: int) -> tuple[list[Any], list[Any]]:
    """The longest-overdue orders, and the most-escalated (highest level
    first, longest overdue first): one statement."""
    late = select(WorkOrder.id.label("id"), literal(0).label("grp")).where(*base, overdue).order_by(WorkOrder.resolve_by, WorkOrder.id).limit(limit)
    levels = [
        select(WorkOrder.id.label("id"), literal(level).label("grp"), WorkOrder.resolve_by.label("due")).where(*base, WorkOrder.escalation_level == level)
        .order_by(WorkOrder.resolve_by, WorkOrder.id).limit(limit)
        for level in (3, 2, 1)
    ]  # fmt: skip
    ranked = union_all(*[select(p.subquery()) for p in levels]).subquery()
    top = select(ranked.c.id, ranked.c.grp).order_by(ranked.c.grp.desc(), ranked.c.due, ranked.c.id).limit(limit)
    picked = union_all(select(late.subquery()), select(top.subquery())).subquery()
    got = (await session.execute(select(*BOARD_COLUMNS, picked.c.grp).join(picked, picked.c.id == WorkOrder.id))).all()
    late_rows = sorted((r for r in got if r.grp == 0), key=lambda r: (r.resolve_by, r.id))
    escalated = sorted((r for r in got if r.grp != 0), key=lambda r: (-r.escalation_level, r.resolve_by, r.id))
    return late_rows, escalated


# A board row's columns (schemas.BoardOrderOut): plain rows, not whole ORM orders with their JSON.
BOARD_COLUMNS = (
    WorkOrder.id, WorkOrder.kind, WorkOrder.channel, WorkOrder.severity, WorkOrder.state, WorkOrder.is_open, WorkOrder.subject, WorkOrder.unit,
    WorkOrder.first_owner_id, WorkOrder.assignee_id, WorkOrder.department_id, WorkOrder.resolve_by, WorkOrder.escalation_level,
    WorkOrder.chases, WorkOrder.version, WorkOrder.created_at,
)  # fmt: skip


async def tiles(session: AsyncSession, who: Principal, now: datetime, zone: ZoneInfo) -> dict[str, int]:
    """The wallboard's two tiles: overdue orders, return visits due today."""
    clause = await service.visibility(session, who)
    overdue = (await session.execute(_where(select(func.count()).where(WorkOrder.is_open == true(), WorkOrder.resolve_by < now, WorkOrder.state.not_in(RESOLVED_STATES)), clause))).scalar_one()
    local = now.astimezone(zone)
    end = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(UTC)
    rv = select(func.count()).select_from(Task).where(Task.kind == TaskKind.return_visit, Task.status == TaskStatus.open, Task.due_at < end)
    if clause is not None:
        rv = rv.join(WorkOrder, WorkOrder.id == Task.order_id).where(clause)
    due = (await session.execute(rv)).scalar_one()
    return {"overdue_orders": int(overdue), "return_visits_due_today": int(due)}


async def timeline(session: AsyncSession, order_id: int, limit: int = 500) -> list[TimelineEntry]:
    stmt = select(TimelineEntry).where(TimelineEntry.order_id == order_id).order_by(TimelineEntry.id).limit(limit)
    return list((await session.execute(stmt)).scalars())


# --- reports (CSV) -------------------------------------------------------------------------

REPORTS = ("intake", "performance", "weekly")


def _rate(n: int, d: int) -> str:
    return f"{(100.0 * n / d):.1f}" if d else ""


async def report_csv(session: AsyncSession, who: Principal, name: str, since: datetime, until: datetime) -> str:
    """intake: by kind, channel and department.  performance: on-time rate,
    return-visit rate and on-time return-visit rate, satisfaction, reopen
    rate, by kind.  weekly: the director's 受理/督办/反馈/回访 per week."""
    clause = await service.visibility(session, who)
    in_range = [WorkOrder.created_at >= since, WorkOrder.created_at < until]
    out = io.StringIO()
    w = csv.writer(out)
    if name == "intake":
        w.writerow(["kind", "channel", "department", "orders"])
        stmt = _where(select(WorkOrder.kind, WorkOrder.channel, Department.code, func.count())
                      .outerjoin(Department, Department.id == WorkOrder.department_id).where(*in_range)
                      .group_by(WorkOrder.kind, WorkOrder.channel, Department.code), clause)  # fmt: skip
        for kind, channel, dept, n in sorted((await session.execute(stmt)).all(), key=lambda r: (r[0].value, r[1].value, r[2] or "")):
            w.writerow([kind.value, channel.value, dept or "", n])
    elif name == "performance":
        w.writerow(["kind", "orders", "closed", "on_time_pct", "return_visits", "return_visit_pct", "return_visit_on_time_pct", "satisfied_pct", "reopen_pct"])
        closed_on_time = case((and_(WorkOrder.closed_at.is_not(None), WorkOrder.closed_at <= WorkOrder.resolve_by), 1), else_=0)
        stmt = _where(select(WorkOrder.kind, func.count(), func.count(WorkOrder.closed_at), func.sum(closed_on_time),
                             func.sum(case((WorkOrder.reopens > 0, 1), else_=0)))
                      .where(*in_range).group_by(WorkOrder.kind), clause)  # fmt: skip
        visits: dict[str, tuple[int, int, int]] = {}
        vstmt = _where(select(WorkOrder.kind, func.count(func.distinct(Task.order_id)), func.sum(case((Task.on_time.is_(True), 1), else_=0)),
                              func.sum(case((Task.result == "satisfied", 1), else_=0)))
                       .join(WorkOrder, WorkOrder.id == Task.order_id)
                       .where(*in_range, Task.kind == TaskKind.return_visit, Task.status == TaskStatus.done).group_by(WorkOrder.kind), clause)  # fmt: skip
        for kind, n, on_time, sat in (await session.execute(vstmt)).all():
            visits[kind.value] = (int(n), int(on_time or 0), int(sat or 0))
        for kind, n, closed, on_time, reopened in sorted((await session.execute(stmt)).all(), key=lambda r: r[0].value):
            rv, rv_on_time, sat = visits.get(kind.value, (0, 0, 0))
            due = closed if kind.value in ("repair", "complaint") else 0
            w.writerow([kind.value, n, closed, _rate(int(on_time or 0), closed), rv, _rate(rv, due), _rate(rv_on_time, rv), _rate(sat, rv), _rate(int(reopened or 0), n)])
    else:
        w.writerow(["week", "intake", "chased", "feedback", "return_visits"])
        weeks: dict[str, list[int]] = {}

        def week_of(dt: datetime) -> str:
            y, wk, _ = dt.isocalendar()
            return f"{y}-W{wk:02d}"

        for (at,) in (await session.execute(_where(select(WorkOrder.created_at).where(*in_range), clause))).all():
            weeks.setdefault(week_of(at), [0, 0, 0, 0])[0] += 1
        tstmt = _where(select(TimelineEntry.at, TimelineEntry.action, TimelineEntry.detail).join(WorkOrder, WorkOrder.id == TimelineEntry.order_id)
                       .where(TimelineEntry.at >= since, TimelineEntry.at < until,
                              TimelineEntry.action.in_(("chase", "state", "return_visit"))), clause)  # fmt: skip
        for at, action, detail in (await session.execute(tstmt)).all():
            row = weeks.setdefault(week_of(at), [0, 0, 0, 0])
            if action == "chase":
                row[1] += 1
            elif action == "state" and detail.get("to") in ("RESULT_NOTIFIED", "ANSWERED"):
                row[2] += 1
            elif action == "return_visit":
                row[3] += 1
        for wk in sorted(weeks):
            w.writerow([wk, *weeks[wk]])
    return out.getvalue()
