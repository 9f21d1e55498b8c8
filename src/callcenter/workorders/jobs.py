"""The scheduled work: the escalation pass, grade follow-ups, and the
results of return visits and follow-ups.

The escalation pass is idempotent and restart-safe because its state is on
the orders: each order carries its ladder (JSON) and `next_escalation_at`
(indexed), the pass takes only orders whose time has come, and raises a
level with a compare-and-set UPDATE (`escalation_level < target`), so a
second pass, or a second node, at the same instant changes nothing.  It
runs in the worker process (worker.run); the app publishes what it
returns over the websocket.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.auth.models import AuditEntry
from callcenter.auth.service import Principal
from callcenter.crm.models import Customer, Grade
from callcenter.crm.service import record_follow_up
from callcenter.db import Database
from callcenter.workorders import deadlines as dl
from callcenter.workorders import service, visits
from callcenter.workorders import states as st
from callcenter.workorders.models import EscalationRun, Task, TaskKind, TaskStatus, TimelineEntry, WorkOrder
from callcenter.workorders.states import Kind, State

BATCH = 2000


async def escalate_due(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    """One pass: every open order whose next step is due goes up the ladder.
    Returns the escalations made (for the live notification).  The rows are
    locked for the pass (SKIP LOCKED: a second node's pass takes others),
    and each update is a compare-and-set, in one pipelined batch."""
    t0 = time.perf_counter()
    made: list[dict[str, Any]] = []
    checked = 0
    last_id = 0
    t = WorkOrder.__table__  # Core statements: executemany, not the ORM's bulk modes
    cas = (
        update(t)
        .where(t.c.id == bindparam("b_id"), t.c.escalation_level < bindparam("b_level"))
        .values(escalation_level=bindparam("b_level"), next_escalation_at=bindparam("b_next"))
    )
    reschedule = update(t).where(t.c.id == bindparam("b_id")).values(next_escalation_at=bindparam("b_next"))
    while True:
        rows = (
            await session.execute(
                select(
                    WorkOrder.id, WorkOrder.state, WorkOrder.escalation_level, WorkOrder.ladder,
                    WorkOrder.first_owner_id, WorkOrder.assignee_id, WorkOrder.department_id, WorkOrder.kind, WorkOrder.subject,
                )
                .where(WorkOrder.next_escalation_at <= now, WorkOrder.id > last_id)
                .order_by(WorkOrder.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        ).all()  # fmt: skip
        if not rows:
            break
        last_id = rows[-1].id
        checked += len(rows)
        raised, moved, timeline, audit = [], [], [], []
        for r in rows:
            steps = [st.Step(datetime.fromisoformat(s["at"]), s["level"], s["reason"]) for s in r.ladder or []]
            target, why, next_at = st.due_level(steps, r.state, r.escalation_level, now)
            if target > r.escalation_level:
                level = st.LEVELS[target]
                raised.append({"b_id": r.id, "b_level": target, "b_next": next_at})
                timeline.append({"order_id": r.id, "at": now, "actor_id": None, "action": "escalate", "detail": {"level": target, "to": level, "reason": why}})
                audit.append({"actor_id": None, "actor": "system", "action": "workorder.escalate", "target": str(r.id), "details": {"level": level, "reason": why},
                              "ip": "", "at": now})  # fmt: skip
                made.append({"order_id": r.id, "level": target, "to": level, "reason": why, "kind": r.kind.value, "subject": r.subject,
                             "first_owner_id": r.first_owner_id, "assignee_id": r.assignee_id, "department_id": r.department_id})  # fmt: skip
            else:
                moved.append({"b_id": r.id, "b_next": next_at})
        if raised:
            await session.execute(cas, raised)
            await session.execute(TimelineEntry.__table__.insert(), timeline)
            await session.execute(AuditEntry.__table__.insert(), audit)
        if moved:
            await session.execute(reschedule, moved)
        if len(rows) < BATCH:
            break
    session.add(EscalationRun(at=now, checked=checked, escalated=len(made), ms=int((time.perf_counter() - t0) * 1000)))
    await session.commit()
    return made


async def escalation_job(db: Database, now_iso: str | None = None) -> list[dict[str, Any]]:
    """worker.run entry point: the escalation pass, then the rectification
    notices whose promised progress was missed (each flagged once)."""
    now = datetime.fromisoformat(now_iso) if now_iso else datetime.now(UTC)
    async with db.sessions() as session:
        made = await escalate_due(session, now)
    async with db.sessions() as session:
        missed = await visits.flag_missed(session, now)
        await session.commit()
    return made + [{**m, "what": "rectify_missed"} for m in missed]


# --- follow-ups by grade -----------------------------------------------------------------


async def create_follow_ups(session: AsyncSession, today: date, now: datetime, zone: ZoneInfo | None = None) -> int:
    """A task for every customer whose follow-up day has come (A–E: every
    1/7/15/30/365 days), one per customer and due day however often it runs.
    It is due by the end of that day in the centre's zone (its local
    midnight), not a UTC day's."""
    made = 0
    rows = (
        await session.execute(
            select(Customer.id, Customer.next_follow_up_on).where(Customer.next_follow_up_on <= today).order_by(Customer.id)
        )
    ).all()
    if not rows:
        return 0
    keys = {f"fu:{cid}:{day.isoformat()}": (cid, day) for cid, day in rows}
    have = set((await session.execute(select(Task.key).where(Task.key.in_(list(keys))))).scalars())
    for key, (cid, day) in keys.items():
        if key in have:
            continue
        due = follow_up_due(day, zone or UTC)
        session.add(Task(key=key, kind=TaskKind.follow_up, customer_id=cid, due_at=due, created_at=now))
        made += 1
    try:
        await session.commit()
    except IntegrityError:  # another node made them meanwhile
        await session.rollback()
        return 0
    return made


def follow_up_due(day: date, zone: Any) -> datetime:
    """The end of `day` in the centre's zone: its next local midnight, in UTC."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(UTC)


async def follow_up_job(db: Database, today_iso: str, now_iso: str, zone: str = "UTC") -> int:
    async with db.sessions() as session:
        return await create_follow_ups(session, date.fromisoformat(today_iso), datetime.fromisoformat(now_iso), ZoneInfo(zone))


# --- results ---------------------------------------------------------------------------


async def return_visit_result(
    session: AsyncSession, task: Task, who: Principal, clock: service.Clock, now: datetime,
    result: str, note: str, uniqueid: str, satisfaction_grade: Grade | None = None,
) -> Task:  # fmt: skip
    """satisfied closes the order; not_satisfied reopens it (REWORK for a
    repair); unreachable tries again on the retry schedule, then gives up."""
    if task.status != TaskStatus.open:
        raise service.Conflict(f"status: the task is already {task.status.value}")
    task.note, task.uniqueid = note, uniqueid or task.uniqueid
    if task.kind == TaskKind.follow_up:
        customer = await session.get(Customer, task.customer_id) if task.customer_id else None
        if customer is not None:
            await record_follow_up(session, customer, satisfaction_grade, note, clock.zone)
        task.status, task.result, task.completed_at = TaskStatus.done, "done", now
        task.on_time = now <= task.due_at or task.due_at.astimezone(clock.zone).date() == now.astimezone(clock.zone).date()
        return task
    order = await session.get(WorkOrder, task.order_id)
    if order is None:
        raise service.Conflict("order_id: the order is gone")
    uniqueid = uniqueid or task.uniqueid  # the call the desktop dialled for this visit
    if uniqueid:
        await service.link_call(session, order, uniqueid, who, now)
    task.attempts += 1
    if result == "unreachable":
        nxt = dl.retry_at(task.attempts, now, clock.cal, clock.zone)
        if nxt is None:
            task.status, task.result, task.completed_at = TaskStatus.given_up, "unreachable", now
        else:
            task.due_at = nxt
        task.result = "unreachable"
        service.note(session, order, who, "return_visit", now, task_id=task.id, result=result, attempt=task.attempts,
                     retry_at=service._iso(nxt), note=note, uniqueid=uniqueid)  # fmt: skip
        return task
    task.status, task.result, task.completed_at = TaskStatus.done, result, now
    task.on_time = now <= task.due_at
    order.satisfaction = result
    service.note(session, order, who, "return_visit", now, task_id=task.id, result=result, note=note, uniqueid=uniqueid)
    if order.kind == Kind.repair:
        if result == "satisfied":
            await service.move(session, order, State.RETURN_VISITED, who, clock, now, system=True)
            await service.move(session, order, State.CLOSED, who, clock, now, system=True)
        else:
            await service.move(session, order, State.REWORK, who, clock, now, system=True, text=note)
    else:
        target = State.CLOSED if result == "satisfied" else State.REOPENED
        await service.move(session, order, target, who, clock, now, system=True, text=note)
    return task
