"""Customers, tickets and callback tasks: the logic behind crm.api, the
routing hook and the screen-pop.

Phone numbers are compared in one canonical form (`normalise_number`), so
a customer entered as "010-6552 1234" is found when Asterisk presents
"+861065521234" or a PBX adds its trunk 0 to a mobile.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd.models import CallRecord
from callcenter.crm.models import (
    FOLLOW_UP_DAYS,
    CallbackReason,
    CallbackStatus,
    CallbackTask,
    Customer,
    CustomerPhone,
    Grade,
    Ticket,
    TicketKind,
    TicketStatus,
)

# --- phone numbers --------------------------------------------------------------

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalise_number(raw: str, default_area_code: str = "") -> str:
    """The canonical form of a Chinese phone number, as dialled nationally.

    Mobiles are their 11 digits (13800138000); landlines keep the trunk 0
    and area code (01065521234, 075512345678); a 7-8 digit local landline
    gets `default_area_code` if one is configured.  +86 / 0086 / 86 prefixes
    and a PBX's trunk 0 before a mobile are removed; foreign numbers become
    00 + country code; service numbers (95555, 4008...) stay as they are.
    Returns "" when there are no digits (anonymous, <unknown>).
    """
    s = raw.strip()
    digits = re.sub(r"\D", "", s)
    if not digits:
        return ""
    international = s.startswith("+") or digits.startswith("00")
    if digits.startswith("00"):
        digits = digits[2:]
    if international and not digits.startswith("86"):
        return "00" + digits
    if digits.startswith("86") and (international or len(digits) >= 11):
        rest = digits[2:]
        if rest.startswith("0") or _MOBILE.match(rest):
            digits = rest
        else:
            digits = "0" + rest
    if len(digits) == 12 and digits.startswith("0") and _MOBILE.match(digits[1:]):
        return digits[1:]
    if _MOBILE.match(digits) or digits.startswith("0"):
        return digits
    if len(digits) in (7, 8) and default_area_code:
        return "0" + default_area_code.lstrip("0") + digits
    return digits


def number_variants(raw: str, default_area_code: str = "") -> list[str]:
    """Spellings a number may have in data we do not normalise ourselves
    (call records hold the caller ID exactly as Asterisk presented it)."""
    n = normalise_number(raw, default_area_code)
    if not n:
        return []
    out = {n, raw.strip()}
    if _MOBILE.match(n):
        out |= {"0" + n, "86" + n, "+86" + n, "0086" + n}
    elif n.startswith("0") and not n.startswith("00"):
        out |= {"86" + n[1:], "+86" + n[1:], "0086" + n[1:]}
        area = "0" + default_area_code.lstrip("0") if default_area_code else ""
        if area and n.startswith(area) and len(n) - len(area) in (7, 8):
            out.add(n[len(area) :])
    return sorted(out - {""})


# --- follow-up cadence ---------------------------------------------------------------


def next_follow_up(grade: Grade, since: datetime, tz: ZoneInfo) -> date:
    """The day the next follow-up is due: the grade's cadence after the
    last one (or after the customer was created)."""
    return since.astimezone(tz).date() + timedelta(days=FOLLOW_UP_DAYS[grade])


# --- lookups the hook and the screen-pop use -------------------------------------------


async def find_by_number(session: AsyncSession, number: str, default_area_code: str) -> Customer | None:
    """The customer owning this number, however it is written.  The area
    code is the running app's (app.state.settings), never re-read from
    the environment: a test or an embedding app configures it there."""
    n = normalise_number(number, default_area_code)
    if not n:
        return None
    stmt = select(Customer).join(CustomerPhone).where(CustomerPhone.number == n)
    return (await session.execute(stmt)).scalar_one_or_none()


def _ticket_dict(t: Ticket) -> dict[str, Any]:
    return {
        "id": t.id,
        "kind": t.kind.value,
        "status": t.status.value,
        "subject": t.subject,
        "number": t.number,
        "customer_id": t.customer_id,
        "uniqueid": t.uniqueid,
        "created_at": t.created_at.isoformat(),
        "closed_at": t.closed_at.isoformat() if t.closed_at else None,
        "age_h": round((datetime.now(UTC) - t.created_at).total_seconds() / 3600, 1),
    }


async def open_tickets(session: AsyncSession, customer_id: int) -> list[dict[str, Any]]:
    """Open work orders (and tickets not yet carried into work orders) of a
    customer, oldest first (the one waiting longest leads)."""
    from callcenter.workorders.models import WorkOrder  # noqa: PLC0415 - workorders builds on crm

    carried = select(WorkOrder.legacy_ticket_id).where(WorkOrder.legacy_ticket_id.is_not(None))
    stmt = (
        select(Ticket)
        .where(Ticket.customer_id == customer_id, Ticket.status == TicketStatus.open, Ticket.id.not_in(carried))
        .order_by(Ticket.created_at, Ticket.id)
    )
    out = [_ticket_dict(t) for t in (await session.execute(stmt)).scalars()]
    orders = select(WorkOrder).where(WorkOrder.customer_id == customer_id, WorkOrder.is_open == true()).order_by(WorkOrder.created_at, WorkOrder.id)
    for o in (await session.execute(orders)).scalars():
        out.append({
            "id": o.id, "kind": o.kind.value, "status": o.state.value, "subject": o.subject, "number": o.number,
            "customer_id": o.customer_id, "uniqueid": o.uniqueid, "created_at": o.created_at.isoformat(), "closed_at": None,
            "age_h": round((datetime.now(UTC) - o.created_at).total_seconds() / 3600, 1), "work_order": True,
            "resolve_by": o.resolve_by.isoformat(),
        })  # fmt: skip
    return sorted(out, key=lambda d: d["created_at"])


async def recent_interactions(
    session: AsyncSession, number: str, default_area_code: str, limit: int = 5
) -> list[dict[str, Any]]:
    """The last calls, tickets and callbacks for this number, newest first:
    each {"at", "kind": "call|ticket|callback", "summary", ...}."""
    area = default_area_code
    n = normalise_number(number, area)
    if not n:
        return []
    out: list[dict[str, Any]] = []
    calls = (
        await session.execute(
            select(CallRecord)
            .where(CallRecord.caller_number.in_(number_variants(number, area)))
            .order_by(CallRecord.entered_at.desc())
            .limit(limit)
        )
    ).scalars()
    for c in calls:
        who = c.agent_name or c.agent or ""
        out.append(
            {
                "at": c.entered_at.isoformat(),
                "kind": "call",
                "summary": f"{c.queue} {c.outcome.value}" + (f" · {who}" if who else "") + (f" · {c.disposition}" if c.disposition else ""),
                "call_id": c.call_id,
                "queue": c.queue,
                "outcome": c.outcome.value,
                "agent": who,
                "wait_s": c.wait_s,
                "talk_s": c.talk_s,
                "disposition": c.disposition,
            }
        )
    customer = await find_by_number(session, n, area)
    cond = Ticket.number == n
    if customer is not None:
        cond = or_(cond, Ticket.customer_id == customer.id)
    for t in (await session.execute(select(Ticket).where(cond).order_by(Ticket.created_at.desc()).limit(limit))).scalars():
        td = _ticket_dict(t)
        td["ticket_kind"] = td.pop("kind")
        out.append({**td, "at": t.created_at.isoformat(), "kind": "ticket", "summary": f"{t.kind.value}: {t.subject}"})
    from callcenter.workorders.models import WorkOrder  # noqa: PLC0415 - workorders builds on crm

    wcond = WorkOrder.number == n
    if customer is not None:
        wcond = or_(wcond, WorkOrder.customer_id == customer.id)
    for o in (await session.execute(select(WorkOrder).where(wcond, WorkOrder.legacy_ticket_id.is_(None)).order_by(WorkOrder.created_at.desc()).limit(limit))).scalars():
        out.append({"id": o.id, "at": o.created_at.isoformat(), "kind": "ticket", "ticket_kind": o.kind.value, "subject": o.subject,
                    "status": o.state.value, "summary": f"{o.kind.value}: {o.subject}"})  # fmt: skip
    callbacks = (
        await session.execute(
            select(CallbackTask).where(CallbackTask.number == n).order_by(CallbackTask.created_at.desc()).limit(limit)
        )
    ).scalars()
    for cb in callbacks:
        out.append(
            {
                "at": cb.created_at.isoformat(),
                "kind": "callback",
                "summary": f"callback {cb.reason.value} {cb.status.value}" + (f" · {cb.result}" if cb.result else ""),
                "id": cb.id,
                "reason": cb.reason.value,
                "status": cb.status.value,
                "result": cb.result,
            }
        )
    out.sort(key=lambda d: d["at"], reverse=True)
    return out[:limit]


# --- customers ------------------------------------------------------------------------


class NumberTaken(Exception):
    """A phone number already belongs to another customer."""

    def __init__(self, number: str, customer_id: int) -> None:
        super().__init__(f"number {number} already belongs to customer {customer_id}")
        self.number = number
        self.customer_id = customer_id


async def _check_numbers_free(session: AsyncSession, numbers: list[str], own_id: int | None) -> None:
    if not numbers:
        return
    rows = await session.execute(
        select(CustomerPhone.number, CustomerPhone.customer_id).where(CustomerPhone.number.in_(numbers))
    )
    for number, cid in rows:
        if cid != own_id:
            raise NumberTaken(number, cid)


def _phones(raw_numbers: list[str], area: str) -> list[CustomerPhone]:
    seen: dict[str, CustomerPhone] = {}
    for raw in raw_numbers:
        n = normalise_number(raw, area)
        if n and n not in seen:
            seen[n] = CustomerPhone(number=n, raw=raw.strip())
    return list(seen.values())


async def create_customer(session: AsyncSession, data: dict[str, Any], tz: ZoneInfo, area: str) -> Customer:
    phones = _phones(data.pop("phones", []), area)
    await _check_numbers_free(session, [p.number for p in phones], None)
    now = datetime.now(UTC)
    customer = Customer(**data, phones=phones, created_at=now)
    customer.next_follow_up_on = next_follow_up(customer.grade, now, tz)
    session.add(customer)
    await session.flush()
    return customer


async def update_customer(session: AsyncSession, customer: Customer, data: dict[str, Any], tz: ZoneInfo, area: str) -> Customer:
    if "phones" in data:
        phones = _phones(data.pop("phones") or [], area)
        await _check_numbers_free(session, [p.number for p in phones], customer.id)
        keep = {p.number: p for p in customer.phones}
        customer.phones = [keep.get(p.number, p) for p in phones]
    for k, v in data.items():
        setattr(customer, k, v)
    if "grade" in data:
        customer.next_follow_up_on = next_follow_up(customer.grade, customer.last_follow_up_at or customer.created_at, tz)
    await session.flush()
    return customer


async def record_follow_up(session: AsyncSession, customer: Customer, grade: Grade | None, note: str, tz: ZoneInfo) -> Customer:
    """A follow-up done: re-grade (客户追踪 re-grading rule) and derive the next date."""
    now = datetime.now(UTC)
    if grade is not None:
        customer.grade = grade
    customer.last_follow_up_at = now
    customer.next_follow_up_on = next_follow_up(customer.grade, now, tz)
    if note:
        stamp = now.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        customer.notes = (customer.notes + "\n" if customer.notes else "") + f"[{stamp} {customer.grade.value}] {note}"
    await session.flush()
    return customer


# Substring search cannot use an index; it stops after this many hits.
CONTAINS_CAP = 200


def _starts_with(column, q: str):  # noqa: ANN001, ANN202 - a SQL expression
    """`column` starts with `q`, as a range both SQLite and PostgreSQL
    answer from the column's B-tree index (LIKE 'q%' uses it on neither
    by default: SQLite's LIKE is case-insensitive, PostgreSQL's needs the
    C collation)."""
    return and_(column >= q, column < q + "\U0010ffff")


def _number_condition(q: str, area: str):  # noqa: ANN202 - a SQL expression, or None for text
    digits = re.sub(r"\D", "", q)
    if digits and len(digits) >= 4 and re.fullmatch(r"[\d\s()+-]+", q):
        n = normalise_number(q, area)
        ids = select(CustomerPhone.customer_id).where(
            or_(CustomerPhone.number == n, CustomerPhone.number.contains(digits, autoescape=True))
        )
        return or_(Customer.id.in_(ids), Customer.unit.contains(q, autoescape=True))
    return None


async def search_customers(
    session: AsyncSession, q: str, page: int, page_size: int, area: str, grade: Grade | None = None
) -> tuple[list[Customer], int]:
    """Customers by number (however written; a tail of it too), or by the
    start of a name or unit (indexed, fast at a million rows).  Only when
    no name or unit starts with `q` does it look inside them (王建国 for
    建国): a scan, so it stops at CONTAINS_CAP hits and `total` says so."""
    q = q.strip()
    base = [Customer.grade == grade] if grade is not None else []
    page_of = select(Customer).order_by(Customer.id).offset((page - 1) * page_size).limit(page_size)
    if not q:
        conds = base
    elif (by_number := _number_condition(q, area)) is not None:
        conds = [*base, by_number]
    else:
        conds = [*base, or_(_starts_with(Customer.name, q), _starts_with(Customer.unit, q))]
        total = (await session.execute(select(func.count()).select_from(Customer).where(*conds))).scalar_one()
        if total:
            return list((await session.execute(page_of.where(*conds))).scalars()), total
        # Latin letters ignore case (lower() costs a little); Chinese has none.
        has_case = re.search(r"[A-Za-z]", q) is not None
        name_in = Customer.name.icontains(q, autoescape=True) if has_case else Customer.name.contains(q, autoescape=True)
        unit_in = Customer.unit.icontains(q, autoescape=True) if has_case else Customer.unit.contains(q, autoescape=True)
        stmt = select(Customer.id).where(*base, or_(name_in, unit_in)).order_by(Customer.id).limit(CONTAINS_CAP)
        ids = list((await session.execute(stmt)).scalars())
        wanted = ids[(page - 1) * page_size : page * page_size]
        rows = (await session.execute(select(Customer).where(Customer.id.in_(wanted)).order_by(Customer.id))).scalars()
        return list(rows), len(ids)
    total = (await session.execute(select(func.count()).select_from(Customer).where(*conds))).scalar_one()
    return list((await session.execute(page_of.where(*conds))).scalars()), total


async def delete_customer(session: AsyncSession, customer_id: int) -> bool:
    result = await session.execute(delete(Customer).where(Customer.id == customer_id))
    return bool(result.rowcount)


# --- tickets --------------------------------------------------------------------------


async def create_ticket(
    session: AsyncSession,
    kind: TicketKind,
    subject: str,
    customer_id: int | None,
    number: str,
    uniqueid: str,
    created_by: int | None,
    area: str,
) -> Ticket:
    n = normalise_number(number, area)
    if customer_id is None and n:
        customer = await find_by_number(session, n, area)
        customer_id = customer.id if customer else None
    ticket = Ticket(kind=kind, subject=subject, customer_id=customer_id, number=n, uniqueid=uniqueid, created_by=created_by)
    session.add(ticket)
    await session.flush()
    return ticket


async def list_tickets(
    session: AsyncSession, status: TicketStatus | None, customer_id: int | None, kind: TicketKind | None, limit: int
) -> list[Ticket]:
    stmt = select(Ticket)
    if status is not None:
        stmt = stmt.where(Ticket.status == status)
    if customer_id is not None:
        stmt = stmt.where(Ticket.customer_id == customer_id)
    if kind is not None:
        stmt = stmt.where(Ticket.kind == kind)
    return list((await session.execute(stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit))).scalars())


# --- callback tasks ----------------------------------------------------------------------


def end_of_local_day(now: datetime, tz: ZoneInfo) -> tuple[date, datetime]:
    day = now.astimezone(tz).date()
    return day, datetime.combine(day, time(23, 59, 59), tz).astimezone(UTC)


async def request_callback(
    session: AsyncSession,
    number: str,
    reason: CallbackReason,
    uniqueid: str,
    queue: str,
    tz: ZoneInfo,
    area: str,
    now: datetime | None = None,
) -> tuple[CallbackTask, bool]:
    """The day's callback task for this number, created if there is none
    (日结日清: due by the end of the local day).  Returns (task, created)."""
    now = now or datetime.now(UTC)
    n = normalise_number(number, area)
    day, due_at = end_of_local_day(now, tz)
    existing = (
        await session.execute(select(CallbackTask).where(CallbackTask.number == n, CallbackTask.due_on == day))
    ).scalar_one_or_none()
    if existing is not None:
        return existing, False
    customer = await find_by_number(session, n, area)
    task = CallbackTask(
        number=n,
        customer_id=customer.id if customer else None,
        uniqueid=uniqueid,
        queue=queue,
        reason=reason,
        due_on=day,
        due_at=due_at,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(task)
    except IntegrityError:  # the same caller, twice at once: the other request won
        existing = (
            await session.execute(select(CallbackTask).where(CallbackTask.number == n, CallbackTask.due_on == day))
        ).scalar_one()
        return existing, False
    return task, True


async def list_callbacks(
    session: AsyncSession, user_id: int | None, status: CallbackStatus | None, day: date | None
) -> list[CallbackTask]:
    """Callbacks, due first.  `user_id` limits to that agent's own tasks plus
    the unclaimed ones (what an agent sees); None shows all (team leads)."""
    stmt = select(CallbackTask)
    if user_id is not None:
        stmt = stmt.where(or_(CallbackTask.assigned_to == user_id, CallbackTask.status == CallbackStatus.open))
    if status is not None:
        stmt = stmt.where(CallbackTask.status == status)
    if day is not None:
        stmt = stmt.where(CallbackTask.due_on == day)
    return list((await session.execute(stmt.order_by(CallbackTask.due_at, CallbackTask.id).limit(500))).scalars())
