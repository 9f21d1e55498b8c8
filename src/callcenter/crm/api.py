"""Customers (CRUD, search, follow-ups, CSV import), tickets and callback
tasks.  Agents keep customer files up to date (seeds A §6.4), so they may
create and edit; deleting and time-boxed priority are for team leads, bulk
import for admins.  QA works on recordings and never sees or edits
customer files.  Opening a customer's file is audited; phone numbers are
masked for the roles in `phone_masked_roles`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, Response, UploadFile, status
from callcenter.auth import service as auth_service
from callcenter.auth.api import Admin, Lead, SessionDep, SettingsDep, client_ip, require
from callcenter.auth.models import Role
from callcenter.auth.service import Principal
from callcenter.crm import service
from callcenter import worker
from callcenter.crm.imports import import_job
from callcenter.privacy import mask_phone, masks
from callcenter.validation import INT32_MAX, Day, Id, Page
from callcenter.crm.models import CallbackStatus, CallbackTask, Customer, Grade, Ticket, TicketKind, TicketStatus
from callcenter.crm.schemas import (
    CallbackComplete,
    CallbackOut,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    FollowUpIn,
    ImportOut,
    PhoneOut,
    TicketClose,
    TicketIn,
    TicketOut,
)

router = APIRouter(prefix="/api", tags=["crm"])

Worker = Annotated[Principal, Depends(require(Role.agent, Role.team_lead, Role.admin))]
MAX_IMPORT_BYTES = 64 * 1024 * 1024


async def _customer(session, customer_id: int) -> Customer:  # noqa: ANN001
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"customer {customer_id} not found")
    return customer


def _conflict(exc: service.NumberTaken) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, f"phones: {exc}")


def _shown(customer: Customer, who: Principal, settings) -> CustomerOut:  # noqa: ANN001
    out = CustomerOut.model_validate(customer)
    if masks(who.role, settings.phone_masked_roles):
        out.phones = [PhoneOut(number=mask_phone(p.number) or "", raw=mask_phone(p.raw) or "") for p in out.phones]
    return out


@router.get("/customers", response_model=CustomerPage)
async def search_customers(
    who: Worker,
    session: SessionDep,
    settings: SettingsDep,
    q: Annotated[str, Query(max_length=64, description="number, name or unit (房号)")] = "",
    grade: Grade | None = None,
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CustomerPage:
    items, total = await service.search_customers(session, q, page, page_size, settings.default_area_code, grade)
    return CustomerPage(items=[_shown(c, who, settings) for c in items], total=total, page=page, page_size=page_size)


@router.post("/customers", response_model=CustomerOut, status_code=201)
async def create_customer(body: CustomerIn, _: Worker, session: SessionDep, settings: SettingsDep) -> Customer:
    try:
        customer = await service.create_customer(session, body.model_dump(), settings.tz, settings.default_area_code)
    except service.NumberTaken as exc:
        raise _conflict(exc) from None
    await session.commit()
    return customer


@router.post("/customers/import", response_model=ImportOut)
async def import_csv(
    admin: Admin,
    settings: SettingsDep,
    request: Request,
    file: Annotated[UploadFile, File(description="CSV, UTF-8 or GBK; header: name, phones, unit, grade, tier, ...")],
    strict: Annotated[bool, Form(description="apply nothing if any row is bad")] = False,
) -> ImportOut:
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"file: larger than {MAX_IMPORT_BYTES} bytes")
    try:
        report = await worker.run(
            settings, import_job, data, settings.timezone, settings.default_area_code, strict, admin, file.filename or "", client_ip(request)
        )
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"file: {exc}") from None
    return ImportOut(
        encoding=report.encoding,
        rows=report.rows,
        imported=report.imported if report.applied else 0,
        applied=report.applied,
        strict=report.strict,
        errors=[{"line": line, "reason": reason} for line, reason in report.errors],
    )


@router.get("/customers/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: Id, who: Worker, session: SessionDep, settings: SettingsDep, request: Request) -> CustomerOut:
    """A customer's file; every opening is in the audit log (customer.view)."""
    customer = await _customer(session, customer_id)
    auth_service.audit(session, who, "customer.view", str(customer_id), client_ip(request))
    await session.commit()
    return _shown(customer, who, settings)


@router.patch("/customers/{customer_id}", response_model=CustomerOut)
async def patch_customer(
    customer_id: Id, body: CustomerPatch, who: Worker, session: SessionDep, settings: SettingsDep, request: Request
) -> CustomerOut:
    data = body.model_dump(exclude_unset=True)
    if {"priority_until", "priority_reason"} & data.keys() and who.role not in (Role.admin, Role.team_lead):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "priority_until: only team leads may give a caller priority")
    customer = await _customer(session, customer_id)
    try:
        await service.update_customer(session, customer, data, settings.tz, settings.default_area_code)
    except service.NumberTaken as exc:
        raise _conflict(exc) from None
    if "priority_until" in data:
        auth_service.audit(
            session, who, "customer.priority", str(customer_id), client_ip(request),
            until=str(data["priority_until"]), reason=data.get("priority_reason", ""),
        )  # fmt: skip
    await session.commit()
    await session.refresh(customer)
    return _shown(customer, who, settings)


@router.delete("/customers/{customer_id}", status_code=204)
async def delete_customer(customer_id: Id, lead: Lead, session: SessionDep, request: Request) -> Response:
    if not await service.delete_customer(session, customer_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"customer {customer_id} not found")
    auth_service.audit(session, lead, "customer.delete", str(customer_id), client_ip(request))
    await session.commit()
    return Response(status_code=204)


@router.post("/customers/{customer_id}/follow-up", response_model=CustomerOut)
async def follow_up(customer_id: Id, body: FollowUpIn, _: Worker, session: SessionDep, settings: SettingsDep) -> Customer:
    customer = await _customer(session, customer_id)
    await service.record_follow_up(session, customer, body.grade, body.note, settings.tz)
    await session.commit()
    return customer


# --- tickets ------------------------------------------------------------------------------


@router.get("/tickets", response_model=list[TicketOut])
async def list_tickets(
    _: Worker,
    session: SessionDep,
    status_: Annotated[TicketStatus | None, Query(alias="status")] = None,
    customer_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
    kind: TicketKind | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Ticket]:
    return await service.list_tickets(session, status_, customer_id, kind, limit)


@router.post("/tickets", response_model=TicketOut, status_code=201)
async def create_ticket(body: TicketIn, who: Worker, session: SessionDep, settings: SettingsDep) -> Ticket:
    if body.customer_id is not None:
        await _customer(session, body.customer_id)
    ticket = await service.create_ticket(
        session, body.kind, body.subject, body.customer_id, body.number, body.uniqueid, who.id, settings.default_area_code
    )
    await session.commit()
    return ticket


@router.post("/tickets/{ticket_id}/close", response_model=TicketOut)
async def close_ticket(ticket_id: Id, body: TicketClose, _: Worker, session: SessionDep) -> Ticket:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"ticket {ticket_id} not found")
    if ticket.status != TicketStatus.closed:
        ticket.status = TicketStatus.closed
        ticket.closed_at = datetime.now(UTC)
        ticket.resolution = body.resolution
        await session.commit()
    return ticket


# --- callback tasks -----------------------------------------------------------------------


@router.get("/callbacks", response_model=list[CallbackOut])
async def list_callbacks(
    who: Worker,
    session: SessionDep,
    status_: Annotated[CallbackStatus | None, Query(alias="status")] = None,
    day: Day | None = None,
) -> list[CallbackTask]:
    """Agents see the unclaimed tasks and their own; leads and admins see all."""
    mine = who.id if who.role == Role.agent else None
    return await service.list_callbacks(session, mine, status_, day)


async def _task(session, task_id: int) -> CallbackTask:  # noqa: ANN001
    task = await session.get(CallbackTask, task_id, with_for_update=True)
    if task is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"callback {task_id} not found")
    return task


@router.post("/callbacks/{task_id}/claim", response_model=CallbackOut)
async def claim_callback(task_id: Id, who: Worker, session: SessionDep) -> CallbackTask:
    task = await _task(session, task_id)
    if task.status == CallbackStatus.done:
        raise HTTPException(status.HTTP_409_CONFLICT, f"callback {task_id} is already done")
    if task.status == CallbackStatus.claimed and task.assigned_to != who.id:
        raise HTTPException(status.HTTP_409_CONFLICT, f"callback {task_id} is claimed by user {task.assigned_to}")
    task.status = CallbackStatus.claimed
    task.assigned_to = who.id
    task.claimed_at = task.claimed_at or datetime.now(UTC)
    await session.commit()
    return task


@router.post("/callbacks/{task_id}/complete", response_model=CallbackOut)
async def complete_callback(task_id: Id, body: CallbackComplete, who: Worker, session: SessionDep) -> CallbackTask:
    task = await _task(session, task_id)
    if task.status == CallbackStatus.done:
        raise HTTPException(status.HTTP_409_CONFLICT, f"callback {task_id} is already done")
    lead = who.role in (Role.admin, Role.team_lead)
    if task.status == CallbackStatus.claimed and task.assigned_to != who.id and not lead:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"callback {task_id} is claimed by another agent")
    now = datetime.now(UTC)
    task.assigned_to = task.assigned_to or who.id
    task.claimed_at = task.claimed_at or now
    task.status = CallbackStatus.done
    task.completed_at = now
    task.result = body.result
    task.note = body.note
    await session.commit()
    return task

