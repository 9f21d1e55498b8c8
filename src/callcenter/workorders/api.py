"""Work orders over HTTP.  Agents create and work orders (their own and
those assigned to them); team leads see their teams' orders and chase,
reassign and send rectification notices; department staff (role
`department`) see and work their department's orders only; admins all.
Illegal moves and stale versions answer 409 with the reason."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from sqlalchemy import delete, func, or_, select

from callcenter import worker
from callcenter.auth.api import Admin, SessionDep, SettingsDep, client_ip, require
from callcenter.auth.models import Role, User
from callcenter.auth.service import Principal
from callcenter.cluster.leader import Fenced
from callcenter.validation import INT32_MAX, Id, Moment, Offset
from callcenter.realtime import service as desk
from callcenter.workorders import jobs, service, views, visits
from callcenter.workorders.models import Department, DepartmentMember, RectificationNotice, Task, WorkOrder
from callcenter.workorders.schemas import (
    AcknowledgeIn,
    AssignIn,
    BoardOut,
    ChaseIn,
    DepartmentIn,
    DepartmentOut,
    DialOut,
    EscalationOut,
    LinkCallIn,
    MoveIn,
    MyTasksOut,
    OrderIn,
    OrderOut,
    OrderPage,
    OverduePlanIn,
    RectificationOut,
    RectifyIn,
    TaskAssignIn,
    TaskOut,
    TaskResultIn,
    TilesOut,
    TimelineOut,
)
from callcenter.workorders.states import Kind, State

router = APIRouter(prefix="/api/workorders", tags=["workorders"])

Desk = Annotated[Principal, Depends(require(Role.agent, Role.team_lead, Role.admin, Role.department, Role.director))]
Creator = Annotated[Principal, Depends(require(Role.agent, Role.team_lead, Role.admin))]
Supervisor = Annotated[Principal, Depends(require(Role.team_lead, Role.admin))]
# The director (主任) oversees every order: the board, tiles, reports, chase, rectification.
Overseer = Annotated[Principal, Depends(require(Role.team_lead, Role.admin, Role.director))]
Boarder = Annotated[Principal, Depends(require(Role.team_lead, Role.admin, Role.department, Role.director))]
Acknowledger = Annotated[Principal, Depends(require(Role.department, Role.admin))]  # 整改通知 签收: the department


def _now() -> datetime:
    return datetime.now(UTC)


def _conflict(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))


def _invalid(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


async def _clock(session, settings) -> service.Clock:  # noqa: ANN001
    return await service.load_clock(session, settings.tz, getattr(settings, "workorder_policy", None))


async def _order(session, who: Principal, order_id: int) -> WorkOrder:  # noqa: ANN001
    order = await session.get(WorkOrder, order_id)
    if order is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"work order {order_id} not found")
    if not await service.can_see(session, who, order):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"work order {order_id} is not yours, your teams' or your department's")
    return order


async def _check_refs(session, assignee_id: int | None, department_id: int | None) -> None:  # noqa: ANN001
    if assignee_id is not None and await session.get(User, assignee_id) is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"assignee_id: user {assignee_id} not found")
    if department_id is not None and await session.get(Department, department_id) is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"department_id: department {department_id} not found")


def notify(request: Request, event: dict[str, Any]) -> None:
    hub = getattr(request.app.state, "hub", None)
    if hub is not None:
        _notify_hub(hub, event)


def _notify_hub(hub: Any, event: dict[str, Any]) -> None:
    """Live to whoever the order concerns: its owner and assignee, the leads
    who see them, the department's staff, and admins."""
    users = {event.get("first_owner_id"), event.get("assignee_id")} - {None}
    dept_staff = set(event.get("department_staff") or ())
    # 重大 complaints reach the director the same day: every event of one, and every order raised to the director.
    for_director = event.get("severity") == "serious" or (event.get("level") or 0) >= 3

    def to(p: Principal) -> bool:
        if p.role == Role.admin or p.id in users or p.id in dept_staff:
            return True
        if p.role == Role.director:
            return for_director
        return p.role == Role.team_lead and any(p.sees.has_user(u) for u in users)

    hub.notice({"type": "workorder", "event": {k: v for k, v in event.items() if k != "department_staff"}}, to)


async def _staff(session, department_id: int | None) -> list[int]:  # noqa: ANN001
    if department_id is None:
        return []
    return list((await session.execute(select(DepartmentMember.user_id).where(DepartmentMember.department_id == department_id))).scalars())


def _event(order: WorkOrder, what: str, **extra: Any) -> dict[str, Any]:
    return {"what": what, "order_id": order.id, "kind": order.kind.value, "severity": str(order.severity), "subject": order.subject, "state": order.state.value,
            "first_owner_id": order.first_owner_id, "assignee_id": order.assignee_id, "department_id": order.department_id, **extra}  # fmt: skip


# --- static routes first (before /{order_id}) --------------------------------------------


@router.get("/mine", response_model=MyTasksOut)
async def my_tasks(who: Desk, session: SessionDep) -> dict[str, Any]:
    """My orders (assigned, or first-owned until the customer was told), my
    return visits and follow-ups: due first."""
    return await views.my_tasks(session, who, _now())


@router.get("/board", response_model=BoardOut)
async def board(
    who: Boarder, session: SessionDep, department_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None
) -> dict[str, Any]:
    """Open orders in scope: overdue, escalated, by department and by age (工单滞留)."""
    return await views.board(session, who, _now(), department_id)


@router.get("/tiles", response_model=TilesOut)
async def tiles(who: Overseer, session: SessionDep, settings: SettingsDep) -> dict[str, int]:
    """The wallboard's tiles: overdue orders and return visits due today."""
    return await views.tiles(session, who, _now(), settings.tz)


@router.get("/reports/{name}.csv")
async def report(
    name: str, who: Overseer, session: SessionDep,
    since: Annotated[Moment | None, Query()] = None, until: Annotated[Moment | None, Query()] = None,
) -> Response:  # fmt: skip
    """intake (by kind, channel, department), performance (on time, return
    visits, satisfaction, reopens) or weekly (受理/督办/反馈/回访)."""
    if name not in views.REPORTS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"name: no report {name!r} ({', '.join(views.REPORTS)})")
    until = until or _now()
    since = since or until - timedelta(days=31)
    if since >= until:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "since: must be before until")
    text = await views.report_csv(session, who, name, since, until)
    return Response("\ufeff" + text, media_type="text/csv; charset=utf-8", headers={"content-disposition": f'attachment; filename="workorders-{name}.csv"'})


@router.post("/escalate", response_model=EscalationOut)
async def escalate_now(_: Admin, settings: SettingsDep, request: Request, session: SessionDep) -> dict[str, Any]:
    """Run one escalation pass now (the job runs it every minute anyway)."""
    made = await worker.run(settings, jobs.escalation_job, None)
    for e in made:
        e["department_staff"] = await _staff(session, e.get("department_id"))
        notify(request, {"what": "escalated", **e})
    return {"escalated": [{k: v for k, v in e.items() if k != "department_staff"} for e in made]}


@router.post("/follow-ups/run")
async def follow_ups_now(_: Admin, settings: SettingsDep) -> dict[str, int]:
    """Create today's grade follow-up tasks now (the job runs it hourly)."""
    now = _now()
    return {"created": await worker.run(settings, jobs.follow_up_job, now.astimezone(settings.tz).date().isoformat(), now.isoformat(), settings.tz.key)}


@router.get("/follow-ups/overdue", response_model=list[TaskOut])
async def overdue_follow_ups(who: Supervisor, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[Task]:
    """Grade follow-ups past their day (due at the centre's local midnight),
    oldest first: a lead's teams' people's, and those not yet handed out."""
    stmt = select(Task).where(Task.kind == "follow_up", Task.status == "open", Task.due_at < _now())
    if who.role != Role.admin:
        stmt = stmt.where(or_(Task.assigned_to.in_(who.sees.users or {who.id}), Task.assigned_to.is_(None)))
    return list((await session.execute(stmt.order_by(Task.due_at, Task.id).limit(limit))).scalars())


@router.post("/tasks/{task_id}/result", response_model=TaskOut)
async def task_result(task_id: Id, body: TaskResultIn, who: Creator, session: SessionDep, settings: SettingsDep, request: Request) -> Task:
    """A return visit's result (satisfied closes, not satisfied reopens,
    unreachable retries) or a follow-up done (with a new grade)."""
    task = await _my_task(session, who, task_id)
    if (task.kind == "follow_up") != (body.result == "done"):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "result: a follow-up is 'done'; a return visit is satisfied, not_satisfied or unreachable")
    try:
        await jobs.return_visit_result(session, task, who, await _clock(session, settings), _now(), body.result, body.note, body.uniqueid, body.grade)
    except service.Conflict as exc:
        raise _conflict(exc) from None
    await session.commit()
    return task


async def _my_task(session, who: Principal, task_id: int) -> Task:  # noqa: ANN001
    task = await session.get(Task, task_id)
    if task is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"task {task_id} not found")
    if not (who.role == Role.admin or task.assigned_to == who.id or (who.role == Role.team_lead and who.sees.has_user(task.assigned_to))):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"task {task_id} is not yours or your teams'")
    return task


@router.post("/tasks/{task_id}/dial", response_model=DialOut)
async def task_dial(task_id: Id, who: Creator, session: SessionDep, request: Request) -> dict[str, Any]:
    """Work a return visit (or follow-up) from the desktop: ring my phone,
    then the customer, through the actions gateway's Originate.  The call
    is recorded by the dialplan and is on the order's timeline at once
    (its call record and recording when it ends)."""
    task = await _my_task(session, who, task_id)
    try:
        iface = desk.my_interface(who)
        gw = desk.gateway(request.app.state)
        out = await visits.dial(session, task, who, _GatewayCall(gw), iface, _now())
    except desk.DeskError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    except service.Conflict as exc:
        raise _conflict(exc) from None
    except service.Invalid as exc:
        raise _invalid(exc) from None
    await session.commit()
    return out


class _GatewayCall:
    """The gateway's click-to-call, its failures as the desktop's DeskErrors."""

    def __init__(self, gw: Any) -> None:
        self.gw = gw

    async def click_to_call(self, *args: Any, **kwargs: Any) -> Any:
        return await desk.act("call", self.gw.click_to_call(*args, **kwargs))


@router.get("/rectifications", response_model=list[RectificationOut])
async def rectifications(
    who: Boarder, session: SessionDep, open_: Annotated[bool | None, Query(alias="open")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Any]:  # fmt: skip
    """Rectification notices in scope (a department's staff: their
    department's), newest first; open=true: not yet acknowledged."""
    stmt = select(RectificationNotice).join(WorkOrder, WorkOrder.id == RectificationNotice.order_id)
    clause = await service.visibility(session, who)
    if clause is not None:
        stmt = stmt.where(clause)
    if open_ is True:
        stmt = stmt.where(RectificationNotice.acknowledged_at.is_(None))
    elif open_ is False:
        stmt = stmt.where(RectificationNotice.acknowledged_at.is_not(None))
    return list((await session.execute(stmt.order_by(RectificationNotice.id.desc()).limit(limit))).scalars())


@router.post("/rectifications/{notice_id}/acknowledge", response_model=RectificationOut)
async def acknowledge(notice_id: Id, body: AcknowledgeIn, who: Acknowledger, session: SessionDep, request: Request) -> Any:
    """The department acknowledges a rectification notice (整改通知 签收), saying what it will do."""
    notice = await session.get(RectificationNotice, notice_id)
    if notice is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"rectification notice {notice_id} not found")
    if not await visits.may_acknowledge(session, who, notice):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"rectification notice {notice_id} is not to your department")
    order = await _order(session, who, notice.order_id)
    try:
        await visits.acknowledge(session, notice, order, who, _now(), body.note, client_ip(request))
    except service.Conflict as exc:
        raise _conflict(exc) from None
    await session.commit()
    notify(request, {**_event(order, "rectify_ack", notice_id=notice.id), "department_staff": await _staff(session, order.department_id)})
    return notice


@router.post("/tasks/{task_id}/assign", response_model=TaskOut)
async def task_assign(task_id: Id, body: TaskAssignIn, who: Supervisor, session: SessionDep) -> Task:
    task = await session.get(Task, task_id)
    if task is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"task {task_id} not found")
    # A task not yet handed out (a grade follow-up the job made) may be handed out by any lead.
    if not (who.sees.has_user(task.assigned_to) or who.role == Role.admin or (task.assigned_to is None and task.kind == "follow_up")):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"task {task_id} is not your teams'")
    if not who.sees.has_user(body.assigned_to):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"assigned_to: user {body.assigned_to} is not in your teams")
    await _check_refs(session, body.assigned_to, None)
    task.assigned_to = body.assigned_to
    await session.commit()
    return task


@router.get("/departments", response_model=list[DepartmentOut])
async def departments(_: Desk, session: SessionDep) -> list[dict[str, Any]]:
    depts = (await session.execute(select(Department).order_by(Department.id))).scalars().all()
    members: dict[int, list[int]] = {}
    for dept_id, uid in (await session.execute(select(DepartmentMember.department_id, DepartmentMember.user_id))).all():
        members.setdefault(dept_id, []).append(uid)
    return [{**DepartmentOut.model_validate(d).model_dump(), "members": sorted(members.get(d.id, []))} for d in depts]


@router.put("/departments/{code}", response_model=DepartmentOut)
async def put_department(code: str, body: DepartmentIn, _: Admin, session: SessionDep) -> dict[str, Any]:
    """Create or replace a department and its staff (工程部, 秩序部, 保洁部, 客服部 ...)."""
    if code != body.code:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"code: the body's code {body.code!r} is not the path's {code!r}")
    for uid in {*body.members, *([body.head_user_id] if body.head_user_id else [])}:
        await _check_refs(session, uid, None)
    dept = (await session.execute(select(Department).where(Department.code == code))).scalar_one_or_none()
    if dept is None:
        dept = Department(code=code, name_zh=body.name_zh, name_en=body.name_en)
        session.add(dept)
    dept.name_zh, dept.name_en, dept.head_user_id = body.name_zh, body.name_en, body.head_user_id
    await session.flush()
    await session.execute(delete(DepartmentMember).where(DepartmentMember.department_id == dept.id))
    for uid in sorted(set(body.members)):
        session.add(DepartmentMember(department_id=dept.id, user_id=uid))
    await session.commit()
    return {**DepartmentOut.model_validate(dept).model_dump(), "members": sorted(set(body.members))}


# --- orders ------------------------------------------------------------------------------


@router.get("", response_model=OrderPage)
async def list_orders(
    who: Desk, session: SessionDep,
    state: State | None = None, kind: Kind | None = None,
    open_: Annotated[bool | None, Query(alias="open")] = None,
    customer_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
    department_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
    uniqueid: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Offset = 0,
) -> dict[str, Any]:  # fmt: skip
    conds = []
    for col, value in ((WorkOrder.state, state), (WorkOrder.kind, kind), (WorkOrder.is_open, open_), (WorkOrder.customer_id, customer_id),
                       (WorkOrder.department_id, department_id), (WorkOrder.uniqueid, uniqueid)):  # fmt: skip
        if value is not None:
            conds.append(col == value)
    clause = await service.visibility(session, who)
    if clause is not None:
        conds.append(clause)
    total = (await session.execute(select(func.count()).select_from(WorkOrder).where(*conds))).scalar_one()
    items = (await session.execute(select(WorkOrder).where(*conds).order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).limit(limit).offset(offset))).scalars().all()
    return {"items": items, "total": total}


@router.post("", response_model=OrderOut, status_code=201)
async def create_order(body: OrderIn, who: Creator, session: SessionDep, settings: SettingsDep, request: Request) -> WorkOrder:
    """A new order, e.g. from the desktop during a call (linked by `uniqueid`)."""
    await _check_refs(session, body.assignee_id, body.department_id)
    try:
        order = await service.create_order(session, body.model_dump(), who, await _clock(session, settings), _now(), settings.default_area_code)
    except service.Invalid as exc:
        raise _invalid(exc) from None
    await session.commit()
    notify(request, {**_event(order, "created"), "department_staff": await _staff(session, order.department_id)})
    return order


@router.get("/{order_id}", response_model=OrderOut)
async def get_order(order_id: Id, who: Desk, session: SessionDep) -> WorkOrder:
    return await _order(session, who, order_id)


@router.get("/{order_id}/timeline", response_model=list[TimelineOut])
async def get_timeline(order_id: Id, who: Desk, session: SessionDep) -> list[Any]:
    await _order(session, who, order_id)
    return await visits.timeline_with_calls(session, await views.timeline(session, order_id))


@router.get("/{order_id}/rectifications", response_model=list[RectificationOut])
async def order_rectifications(order_id: Id, who: Desk, session: SessionDep) -> list[Any]:
    await _order(session, who, order_id)
    stmt = select(RectificationNotice).where(RectificationNotice.order_id == order_id).order_by(RectificationNotice.id)
    return list((await session.execute(stmt)).scalars())


@router.get("/{order_id}/tasks", response_model=list[TaskOut])
async def order_tasks(order_id: Id, who: Desk, session: SessionDep) -> list[Task]:
    await _order(session, who, order_id)
    return list((await session.execute(select(Task).where(Task.order_id == order_id).order_by(Task.id))).scalars())


@router.post("/{order_id}/state", response_model=OrderOut)
async def move(order_id: Id, body: MoveIn, who: Desk, session: SessionDep, settings: SettingsDep, request: Request) -> WorkOrder:
    """One step of the kind's state machine; 409 with the reason otherwise."""
    order = await _order(session, who, order_id)
    try:
        await service.move(session, order, body.state, who, await _clock(session, settings), _now(), version=body.version, text=body.text)
    except service.Conflict as exc:
        raise _conflict(exc) from None
    await session.commit()
    notify(request, {**_event(order, "state"), "department_staff": await _staff(session, order.department_id)})
    return order


@router.post("/{order_id}/assign", response_model=OrderOut)
async def assign(order_id: Id, body: AssignIn, who: Supervisor, session: SessionDep, request: Request) -> WorkOrder:
    """Dispatch or reassign: to a department and/or a person."""
    order = await _order(session, who, order_id)
    await _check_refs(session, body.assignee_id, body.department_id)
    try:
        await service.assign(session, order, who, _now(), body.version, body.assignee_id, body.department_id, client_ip(request))
    except service.Conflict as exc:
        raise _conflict(exc) from None
    await session.commit()
    notify(request, {**_event(order, "assigned"), "department_staff": await _staff(session, order.department_id)})
    return order


@router.post("/{order_id}/chase", response_model=OrderOut)
async def chase(order_id: Id, body: ChaseIn, who: Overseer, session: SessionDep, request: Request) -> WorkOrder:
    """催办: presses the assignee (live) and counts for the weekly 督办 figure."""
    order = await _order(session, who, order_id)
    try:
        await service.chase(session, order, who, _now(), body.text, client_ip(request))
    except service.Conflict as exc:
        raise _conflict(exc) from None
    await session.commit()
    notify(request, {**_event(order, "chased", text=body.text), "department_staff": await _staff(session, order.department_id)})
    return order


@router.post("/{order_id}/rectify", response_model=RectificationOut, status_code=201)
async def rectify(order_id: Id, body: RectifyIn, who: Overseer, session: SessionDep, request: Request) -> Any:
    """整改通知 to the order's department: promised progress was missed."""
    order = await _order(session, who, order_id)
    try:
        notice = await service.rectify(session, order, who, _now(), body.text, body.deadline_at, client_ip(request))
    except service.Conflict as exc:
        raise _conflict(exc) from None
    except service.Invalid as exc:
        raise _invalid(exc) from None
    await session.commit()
    notify(request, {**_event(order, "rectify", text=body.text), "department_staff": await _staff(session, order.department_id)})
    return notice


@router.post("/{order_id}/overdue-plan", response_model=OrderOut)
async def overdue_plan(order_id: Id, body: OverduePlanIn, who: Desk, session: SessionDep, settings: SettingsDep, request: Request) -> WorkOrder:
    """Past its deadline: the reason, the plan and the new deadline."""
    order = await _order(session, who, order_id)
    try:
        await service.overdue_plan(
            session, order, who, await _clock(session, settings), _now(), body.version, body.reason, body.plan, body.new_deadline, client_ip(request)
        )
    except service.Conflict as exc:
        raise _conflict(exc) from None
    except service.Invalid as exc:
        raise _invalid(exc) from None
    await session.commit()
    return order


@router.post("/{order_id}/calls", response_model=OrderOut)
async def link_call(order_id: Id, body: LinkCallIn, who: Desk, session: SessionDep) -> WorkOrder:
    """Link another call (and its recording) to the order."""
    order = await _order(session, who, order_id)
    await service.link_call(session, order, body.uniqueid, who, _now())
    await session.commit()
    return order


# --- the schedule ------------------------------------------------------------------------

ESCALATION_INTERVAL_S = 60.0
FOLLOW_UP_INTERVAL_S = 3600.0
FIRST_RUN_S = 20.0


@asynccontextmanager
async def scheduled_jobs(app: Any) -> AsyncIterator[asyncio.Task[None]]:
    """The escalation pass every minute and the grade follow-ups hourly, in
    the worker; escalations are then told live.  Nothing is kept in memory:
    a restart picks up from the orders' `next_escalation_at`."""
    settings = app.state.settings
    log = logging.getLogger("callcenter.workorders.jobs")

    async def loop() -> None:
        await asyncio.sleep(FIRST_RUN_S)
        last_follow_up = 0.0
        while True:
            runs_here = getattr(app.state, "runs_jobs", None)
            if runs_here is not None and not runs_here():  # a cluster: another node runs them
                await asyncio.sleep(FIRST_RUN_S)
                continue
            try:
                fence_of = getattr(app.state, "jobs_fence", None)
                made = await worker.run(settings, jobs.escalation_job, None, fence=fence_of("workorders.escalation") if fence_of else None)
                hub = getattr(app.state, "hub", None)
                for e in made:
                    if hub is not None:
                        async with app.state.db.sessions() as session:
                            staff = await _staff(session, e.get("department_id"))
                        _notify_hub(hub, {"what": "escalated", **e, "department_staff": staff})
                if time.monotonic() - last_follow_up >= FOLLOW_UP_INTERVAL_S:
                    now = _now()
                    await worker.run(settings, jobs.follow_up_job, now.astimezone(settings.tz).date().isoformat(), now.isoformat(), settings.tz.key,
                                     fence=fence_of("workorders.follow_up") if fence_of else None)  # fmt: skip
                    last_follow_up = time.monotonic()
            except Fenced as exc:  # the jobs lock moved to another node: it runs them now
                log.info("work-order jobs handed over: %s", exc)
            except Exception:  # noqa: BLE001 - keep the schedule alive; the next run retries
                log.exception("work-order jobs failed")
            await asyncio.sleep(ESCALATION_INTERVAL_S)

    task = asyncio.create_task(loop(), name="workorder-jobs")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
