"""Work orders: creating, moving, assigning, chasing, return visits.

Every change goes to the order's timeline; the ones a lead or auditor asks
about (chase, escalation, rectification, reassignment, overdue plan) to the
audit log too.  Time comes in as `now` so tests pin it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.auth import service as auth_service
from callcenter.auth.models import Role
from callcenter.auth.service import Principal
from callcenter.crm.models import Customer
from callcenter.crm.service import normalise_number
from callcenter.hooks.models import QueueHours
from callcenter.hooks.schemas import Calendar
from callcenter.workorders import deadlines as dl
from callcenter.workorders import states as st
from callcenter.workorders.models import DepartmentMember, RectificationNotice, Task, TaskKind, TaskStatus, TimelineEntry, WorkOrder
from callcenter.workorders.states import Kind, State

CALENDAR_QUEUE = "workorders"  # the queue_hours row holding the centre's working calendar


class Conflict(Exception):
    """409: a stale version or an illegal move; the message says which."""


class Invalid(ValueError):
    """422: the message starts with the field."""


@dataclass(frozen=True, slots=True)
class Clock:
    """The calendar, zone and policy deadlines are counted in."""

    cal: Calendar
    zone: ZoneInfo
    policy: dict[str, dict[str, dict[str, str]]]


async def load_clock(session: AsyncSession, zone: ZoneInfo, policy: dict[str, Any] | None = None) -> Clock:
    """The centre's calendar: queue_hours['workorders'] (set like any
    queue's hours), else Mon–Fri office hours."""
    row = await session.get(QueueHours, CALENDAR_QUEUE)
    cal = Calendar.model_validate(row.calendar) if row is not None and row.calendar else dl.DEFAULT_CALENDAR
    if not cal.always_open and not any(dl.windows_on(cal, (datetime.now(UTC) + timedelta(days=i)).date()) for i in range(14)):
        cal = dl.DEFAULT_CALENDAR  # a calendar with no working time would never make anything due
    return Clock(cal, zone, dl.check_policy(policy or {}))


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat() if dt else None


def note(session: AsyncSession, order: WorkOrder, who: Principal | None, action: str, now: datetime, **detail: Any) -> None:
    session.add(TimelineEntry(order_id=order.id, at=now, actor_id=who.id if who else None, action=action, detail=detail))


def _plan_ladder(order: WorkOrder, clock: Clock, now: datetime) -> None:
    """The escalation steps from the order's deadlines, and the next check."""
    later = [dl.apply_rule(clock.cal, order.resolve_by, f"{n}wd", clock.zone) for n in (1, 2)]
    steps = st.ladder(order.kind, order.severity, order.escalate_by, order.answer_by, order.resolve_by, later)
    order.ladder = [{"at": s.at.isoformat(), "level": s.level, "reason": s.reason} for s in steps]
    _, _, order.next_escalation_at = st.due_level(steps, order.state, order.escalation_level, now)
    if order.next_escalation_at is None and any(s.at <= now and s.level > order.escalation_level for s in steps):
        order.next_escalation_at = now  # already due: the next pass takes it


def steps_of(order: WorkOrder) -> list[st.Step]:
    return [st.Step(datetime.fromisoformat(s["at"]), s["level"], s["reason"]) for s in order.ladder or []]


# --- scope ---------------------------------------------------------------------------------


async def departments_of(session: AsyncSession, user_id: int) -> set[int]:
    return set((await session.execute(select(DepartmentMember.department_id).where(DepartmentMember.user_id == user_id))).scalars())


async def visibility(session: AsyncSession, who: Principal) -> Any:
    """A WHERE clause for the orders `who` may see; None: every order.
    Admins and the director see all; a lead their teams' people's orders
    (first owner or assignee); an agent their own; department staff their
    department's."""
    if who.role in (Role.admin, Role.director):
        return None
    if who.role == Role.department:
        depts = await departments_of(session, who.id)
        return WorkOrder.department_id.in_(depts or {-1})
    users = who.sees.users or {who.id}
    return or_(WorkOrder.first_owner_id.in_(users), WorkOrder.assignee_id.in_(users))


async def visibility_parts(session: AsyncSession, who: Principal) -> list[Any]:
    """The same set as `visibility`, as disjoint clauses each answered by
    one index range (so the board counts a lead's orders from two narrow
    ranges, not a filter over every open order): [None] is every order."""
    if who.role in (Role.admin, Role.director):
        return [None]
    if who.role == Role.department:
        return [WorkOrder.department_id.in_(await departments_of(session, who.id) or {-1})]
    users = who.sees.users or {who.id}
    return [
        WorkOrder.first_owner_id.in_(users),
        and_(WorkOrder.assignee_id.in_(users), or_(WorkOrder.first_owner_id.is_(None), WorkOrder.first_owner_id.not_in(users))),
    ]


async def can_see(session: AsyncSession, who: Principal, order: WorkOrder) -> bool:
    if who.role in (Role.admin, Role.director):
        return True
    if who.role == Role.department:
        return order.department_id is not None and order.department_id in await departments_of(session, who.id)
    users = who.sees.users or {who.id}
    return order.first_owner_id in users or order.assignee_id in users


def check_version(order: WorkOrder, version: int) -> None:
    if order.version != version:
        raise Conflict(f"version: the order is at version {order.version}, you sent {version}; reload it and try again")


# --- creating and moving ----------------------------------------------------------------------


async def create_order(session: AsyncSession, data: dict[str, Any], who: Principal, clock: Clock, now: datetime, area_code: str = "") -> WorkOrder:
    customer = None
    if data.get("customer_id") is not None:
        customer = await session.get(Customer, data["customer_id"])
        if customer is None:
            raise Invalid(f"customer_id: customer {data['customer_id']} not found")
    kind = Kind(data["kind"])
    severity = data.get("severity") or ("minor" if kind == Kind.complaint else "normal")
    if kind == Kind.complaint and severity == "normal":
        raise Invalid("severity: a complaint is serious, important or minor")
    if kind != Kind.complaint and severity != "normal":
        raise Invalid(f"severity: only complaints have a severity (got {severity!r} for a {kind.value})")
    number = normalise_number(data.get("number") or "", area_code) if data.get("number") else ""
    if not number and customer is not None and customer.phones:
        number = customer.phones[0].number
    d = dl.deadlines(kind, severity, now, clock.cal, clock.zone, clock.policy, data.get("customer_deadline"))
    order = WorkOrder(
        kind=kind,
        channel=data.get("channel") or "phone_in",
        severity=severity,
        category=data.get("category") or ("other" if kind == Kind.repair else ""),
        state=st.initial(kind),
        is_open=True,
        subject=data["subject"],
        description=data.get("description") or "",
        customer_id=customer.id if customer else None,
        customer_name=data.get("customer_name") or (customer.name if customer else ""),
        number=number,
        unit=data.get("unit") or (customer.unit if customer else ""),
        uniqueid=data.get("uniqueid") or "",
        calls=[data["uniqueid"]] if data.get("uniqueid") else [],
        first_owner_id=who.id,
        assignee_id=data.get("assignee_id"),
        department_id=data.get("department_id"),
        appointment_at=data.get("appointment_at"),
        customer_deadline=data.get("customer_deadline"),
        escalate_by=d.escalate_by,
        answer_by=d.answer_by,
        resolve_by=d.resolve_by,
        escalation_level=0,
        chases=0,
        reopens=0,
        created_by=who.id,
        created_at=now,
        updated_at=now,
    )
    _plan_ladder(order, clock, now)
    session.add(order)
    await session.flush()
    note(session, order, who, "created", now, kind=kind.value, severity=severity, channel=str(order.channel), resolve_by=_iso(d.resolve_by))
    return order


def _enter(order: WorkOrder, target: State, now: datetime) -> None:
    order.state = target
    order.is_open = st.is_open(target)
    order.updated_at = now
    if target == State.CLOSED:
        order.closed_at = now
    elif target in (State.RESULT_NOTIFIED,):
        order.customer_notified_at = now


async def move(
    session: AsyncSession, order: WorkOrder, target: State, who: Principal | None, clock: Clock, now: datetime,
    *, version: int | None = None, text: str = "", system: bool = False,
) -> WorkOrder:  # fmt: skip
    """One transition, with its side effects: a return-visit task where the
    machine needs one, a fresh ladder when reopened or reworked."""
    if version is not None:
        check_version(order, version)
    try:
        st.check_move(order.kind, order.state, target, system=system, category=order.category)
    except st.IllegalMove as exc:
        raise Conflict(str(exc)) from None
    if target == State.DISPATCHED and order.department_id is None and order.assignee_id is None:
        raise Conflict("department_id: dispatch needs a department or an assignee first")
    if target == State.CLOSED and order.kind == Kind.complaint and order.customer_notified_at is None:
        raise Conflict("state: a complaint closes after the customer was told the result (RESULT_NOTIFIED)")
    before = order.state
    _enter(order, target, now)
    if text and target in (State.ANSWERED, State.RESOLVED, State.DONE, State.CLOSED):
        order.resolution = text
    if target in (State.REOPENED, State.REWORK):
        order.reopens += 1
        d = dl.deadlines(order.kind, order.severity, now, clock.cal, clock.zone, clock.policy)
        order.escalate_by, order.answer_by, order.resolve_by = None, d.answer_by, d.resolve_by
        order.escalation_level = 0
    _plan_ladder(order, clock, now)
    note(session, order, who, "state", now, **{"from": before.value, "to": target.value, "text": text})
    if target in st.RETURN_VISIT_STATES:
        await _schedule_return_visit(session, order, clock, now)
    return order


async def _schedule_return_visit(session: AsyncSession, order: WorkOrder, clock: Clock, now: datetime) -> Task:
    """回訪: safety 2 days, leak 3 days after the leak test, others 2 days;
    worked by the first owner unless a lead hands it on."""
    n = 1 + (await session.execute(select(Task.id).where(Task.order_id == order.id, Task.kind == TaskKind.return_visit))).scalars().all().__len__()
    task = Task(
        key=f"rv:{order.id}:{n}",
        kind=TaskKind.return_visit,
        order_id=order.id,
        customer_id=order.customer_id,
        number=order.number,
        due_at=dl.return_visit_due(order.category or "other", now, clock.cal, clock.zone),
        assigned_to=order.first_owner_id,
        created_at=now,
    )
    session.add(task)
    await session.flush()
    note(session, order, None, "return_visit_due", now, task_id=task.id, due_at=_iso(task.due_at))
    return task


async def assign(
    session: AsyncSession, order: WorkOrder, who: Principal, now: datetime, version: int,
    assignee_id: int | None, department_id: int | None, ip: str = "",
) -> WorkOrder:  # fmt: skip
    check_version(order, version)
    before = {"assignee_id": order.assignee_id, "department_id": order.department_id}
    order.assignee_id, order.department_id, order.updated_at = assignee_id, department_id, now
    after = {"assignee_id": assignee_id, "department_id": department_id}
    note(session, order, who, "assign", now, before=before, after=after)
    auth_service.audit(session, who, "workorder.assign", str(order.id), ip, **after)
    return order


async def chase(session: AsyncSession, order: WorkOrder, who: Principal, now: datetime, text: str, ip: str = "") -> WorkOrder:
    """催办: a lead presses the assignee; counted for the weekly 督办 figure."""
    if not order.is_open:
        raise Conflict("state: a closed order is not chased")
    # A counter, not an edit: it leaves the version alone, so whoever is
    # working on the order is not sent back to reload it.
    t = WorkOrder.__table__
    await session.execute(update(t).where(t.c.id == order.id).values(chases=t.c.chases + 1, updated_at=now))
    await session.refresh(order)
    note(session, order, who, "chase", now, text=text, chases=order.chases)
    auth_service.audit(session, who, "workorder.chase", str(order.id), ip, text=text)
    return order


async def rectify(
    session: AsyncSession, order: WorkOrder, who: Principal, now: datetime, text: str, deadline_at: datetime, ip: str = "",
) -> RectificationNotice:  # fmt: skip
    """整改通知 to the order's department: promised progress was missed."""
    if order.department_id is None:
        raise Conflict("department_id: the order has no department to send a rectification notice to")
    if not order.is_open:
        raise Conflict("state: a closed order needs no rectification")
    if deadline_at <= now:
        raise Invalid("deadline_at: must be in the future")
    notice = RectificationNotice(order_id=order.id, department_id=order.department_id, issued_by=who.id, issued_at=now, deadline_at=deadline_at, text=text)
    session.add(notice)
    await session.flush()
    note(session, order, who, "rectify", now, notice_id=notice.id, text=text, deadline_at=_iso(deadline_at))
    auth_service.audit(session, who, "workorder.rectify", str(order.id), ip, notice_id=notice.id)
    return notice


async def overdue_plan(
    session: AsyncSession, order: WorkOrder, who: Principal, clock: Clock, now: datetime, version: int,
    reason: str, plan: str, new_deadline: datetime, ip: str = "",
) -> WorkOrder:  # fmt: skip
    """「不能完成的要查出原因、制定計劃,按規定的期限完成」: past its deadline an
    order records why, what next and by when; the ladder restarts from there
    (its level is kept: a late order does not drop back to its owner)."""
    check_version(order, version)
    if now <= order.resolve_by:
        raise Conflict(f"resolve_by: the order is not overdue (due {_iso(order.resolve_by)})")
    if not order.is_open:
        raise Conflict("state: the order is closed")
    if new_deadline <= now:
        raise Invalid("new_deadline: must be in the future")
    old = order.resolve_by
    order.overdue_reason, order.overdue_plan, order.resolve_by, order.updated_at = reason, plan, new_deadline, now
    _plan_ladder(order, clock, now)
    note(session, order, who, "overdue_plan", now, reason=reason, plan=plan, old_deadline=_iso(old), new_deadline=_iso(new_deadline))
    auth_service.audit(session, who, "workorder.overdue_plan", str(order.id), ip, new_deadline=_iso(new_deadline))
    return order


async def link_call(session: AsyncSession, order: WorkOrder, uniqueid: str, who: Principal | None, now: datetime) -> None:
    if uniqueid and uniqueid not in (order.calls or []):
        order.calls = [*(order.calls or []), uniqueid]
        note(session, order, who, "call", now, uniqueid=uniqueid)


async def order_for_call(session: AsyncSession, uniqueid: str) -> WorkOrder | None:
    """The order created from (or linked to) a call, for the disposition "ticket"."""
    return (await session.execute(select(WorkOrder).where(WorkOrder.uniqueid == uniqueid).limit(1))).scalar_one_or_none()
