"""Return visits (回访) worked from the desktop, and rectification notices
(整改通知) acknowledged and watched.

A return visit is dialled through the actions gateway's Originate, as the
desktop's click-to-call is, with a ChannelId we choose: the agent leg's
Uniqueid, which the core writes as the call record's `uniqueid`.  The
order's timeline names that call at once; the call record (its call_id,
talk time and recording) is found by that id whenever the timeline is
read, since the record is written only when the call (and its wrap-up)
ends.

A rectification notice is acknowledged by the department's staff (who,
when, what they will do).  The watch job flags a notice whose deadline
passed while its order is still not resolved: once (`missed_at`), on the
order's timeline, in the audit log and live.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd.models import CallRecord
from callcenter.auth import service as auth_service
from callcenter.auth.models import AuditEntry, Role
from callcenter.auth.service import Principal
from callcenter.crm.models import Customer
from callcenter.realtime.service import DIAL_CONTEXT  # the desktop's: numbers go through [cc-outbound] (recorded)
from callcenter.workorders import service
from callcenter.workorders.models import RectificationNotice, Task, TaskStatus, TimelineEntry, WorkOrder
from callcenter.workorders.states import RESOLVED_STATES



def channel_id_for(task: Task) -> str:
    return f"cc-rv-{task.id}-{uuid.uuid4().hex[:16]}"


async def number_of(session: AsyncSession, task: Task) -> str:
    """The task's number, else its order's, else the customer's first phone."""
    if task.number:
        return task.number
    if task.order_id is not None:
        order = await session.get(WorkOrder, task.order_id)
        if order is not None and order.number:
            return order.number
    if task.customer_id is not None:
        customer = await session.get(Customer, task.customer_id)
        if customer is not None and customer.phones:
            return customer.phones[0].number
    return ""


async def dial(session: AsyncSession, task: Task, who: Principal, gw: Any, interface: str, now: datetime) -> dict[str, Any]:
    """Ring my phone, then the customer: the call is recorded by the
    dialplan and linked to the order before it even rings."""
    if task.status != TaskStatus.open:
        raise service.Conflict(f"status: the task is already {task.status.value}")
    number = await number_of(session, task)
    if not number:
        raise service.Invalid("number: the task has no number to call (neither the order nor the customer has one)")
    channel_id = channel_id_for(task)
    await gw.click_to_call(interface, number, DIAL_CONTEXT, workorder_task=task.id, channel_id=channel_id)
    task.uniqueid = channel_id
    order = await session.get(WorkOrder, task.order_id) if task.order_id is not None else None
    if order is not None:
        await service.link_call(session, order, channel_id, who, now)
        service.note(session, order, who, "return_visit_dial", now, task_id=task.id, number=number, uniqueid=channel_id, attempt=task.attempts + 1)
    return {"ok": True, "task_id": task.id, "uniqueid": channel_id, "number": number}


async def calls_by_uniqueid(session: AsyncSession, uniqueids: set[str]) -> dict[str, CallRecord]:
    if not uniqueids:
        return {}
    rows = (await session.execute(select(CallRecord).where(or_(CallRecord.uniqueid.in_(uniqueids), CallRecord.call_id.in_(uniqueids))))).scalars()
    out: dict[str, CallRecord] = {}
    for r in rows:
        out.setdefault(r.uniqueid, r)
        out.setdefault(r.call_id, r)
    return out


def call_summary(r: CallRecord) -> dict[str, Any]:
    return {"call_id": r.call_id, "answered": r.answered_at is not None, "talk_s": round(r.talk_s or 0.0, 1), "recording": bool(r.recording_file),
            "outcome": r.outcome.value if hasattr(r.outcome, "value") else str(r.outcome)}  # fmt: skip


async def timeline_with_calls(session: AsyncSession, entries: list[TimelineEntry]) -> list[dict[str, Any]]:
    """The timeline, each entry that names a call carrying its record
    (call_id, talk, whether a recording exists) once the record is written."""
    ids = {str(e.detail.get("uniqueid")) for e in entries if isinstance(e.detail, dict) and e.detail.get("uniqueid")}
    records = await calls_by_uniqueid(session, ids)
    out = []
    for e in entries:
        item = {"id": e.id, "at": e.at, "actor_id": e.actor_id, "action": e.action, "detail": dict(e.detail or {})}
        uid = item["detail"].get("uniqueid")
        if uid and uid in records:
            item["detail"]["call"] = call_summary(records[uid])
        out.append(item)
    return out


# --- rectification notices -------------------------------------------------------------------


async def acknowledge(session: AsyncSession, notice: RectificationNotice, order: WorkOrder, who: Principal, now: datetime, text: str, ip: str = "") -> RectificationNotice:
    if notice.acknowledged_at is not None:
        raise service.Conflict(f"acknowledged_at: notice {notice.id} was acknowledged already ({service._iso(notice.acknowledged_at)})")
    notice.acknowledged_at, notice.acknowledged_by, notice.ack_note = now, who.id, text
    service.note(session, order, who, "rectify_ack", now, notice_id=notice.id, text=text)
    auth_service.audit(session, who, "workorder.rectify_ack", str(order.id), ip, notice_id=notice.id)
    return notice


async def may_acknowledge(session: AsyncSession, who: Principal, notice: RectificationNotice) -> bool:
    """The department's own staff (or its head); an admin on their behalf."""
    if who.role == Role.admin:
        return True
    if notice.department_id is None:
        return False
    return notice.department_id in await service.departments_of(session, who.id)


async def flag_missed(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    """Notices past their deadline whose order is not yet resolved: flagged
    once (compare-and-set on `missed_at IS NULL`), so two passes flag once."""
    rows = (
        await session.execute(
            select(RectificationNotice.id, RectificationNotice.order_id, RectificationNotice.department_id, RectificationNotice.deadline_at,
                   RectificationNotice.acknowledged_at, WorkOrder.state, WorkOrder.is_open, WorkOrder.subject, WorkOrder.kind,
                   WorkOrder.first_owner_id, WorkOrder.assignee_id)
            .join(WorkOrder, WorkOrder.id == RectificationNotice.order_id)
            .where(RectificationNotice.missed_at.is_(None), RectificationNotice.deadline_at <= now)
            .order_by(RectificationNotice.id)
        )
    ).all()  # fmt: skip
    missed = [r for r in rows if r.is_open and r.state not in RESOLVED_STATES]
    if not missed:
        return []
    t = RectificationNotice.__table__
    cas = update(t).where(t.c.id == bindparam("b_id"), t.c.missed_at.is_(None)).values(missed_at=now)
    made = []
    for r in missed:
        res = await session.execute(cas, {"b_id": r.id})
        if res.rowcount != 1:  # another pass took it
            continue
        detail = {"notice_id": r.id, "deadline_at": service._iso(r.deadline_at), "acknowledged": r.acknowledged_at is not None}
        session.add(TimelineEntry(order_id=r.order_id, at=now, actor_id=None, action="rectify_missed", detail=detail))
        session.add(AuditEntry(actor_id=None, actor="system", action="workorder.rectify_missed", target=str(r.order_id), details=detail, ip="", at=now))
        made.append({"order_id": r.order_id, "notice_id": r.id, "kind": r.kind.value, "subject": r.subject, "first_owner_id": r.first_owner_id,
                     "assignee_id": r.assignee_id, "department_id": r.department_id})  # fmt: skip
    return made
