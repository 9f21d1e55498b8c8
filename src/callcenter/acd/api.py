"""Queue configuration, the live ACD views (wallboard, queue, agent), the
agent's disposition, the Erlang calculator and the call history."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from sqlalchemy import func, or_, select

from callcenter.acd import erlang
from callcenter.acd.models import CallRecord, Outcome, Queue, default_dispositions
from callcenter.acd.schemas import CallOut, CallPage, DispositionIn, LateDispositionIn, QueueIn, QueueOut, check_queue_name
from callcenter.acd.service import AcdService, queue_config
from callcenter.auth import service as auth_service
from callcenter.auth.api import Admin, AnyUser, Lead, SessionDep, client_ip, require
from callcenter.auth.models import Role
from callcenter.auth.service import Principal
from callcenter.errors import CodedError
from callcenter.privacy import mask_fields, mask_phone, masks
from callcenter.validation import Moment, Offset
from callcenter.workorders.service import order_for_call

AgentOnly = Annotated[Principal, Depends(require(Role.agent))]

router = APIRouter(prefix="/api", tags=["acd"])


@router.get("/queues", response_model=list[QueueOut])
async def list_queues(_: AnyUser, session: SessionDep) -> list[Queue]:
    return list((await session.execute(select(Queue).order_by(Queue.name))).scalars())


@router.put("/queues/{name}", response_model=QueueOut)
async def put_queue(name: str, body: QueueIn, admin: Admin, session: SessionDep, request: Request) -> Queue:
    try:
        check_queue_name(name)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"name: {exc}") from None
    queue = await session.get(Queue, name)
    fields = body.model_dump(exclude={"dispositions"})
    dispositions = [d.model_dump() for d in body.dispositions] if body.dispositions is not None else None
    if queue is None:
        queue = Queue(name=name, dispositions=dispositions or default_dispositions(), **fields)
        session.add(queue)
    else:
        for k, v in fields.items():
            setattr(queue, k, v)
        if dispositions is not None:
            queue.dispositions = dispositions
    auth_service.audit(session, admin, "queue.put", name, client_ip(request), **body.model_dump(mode="json"))
    await session.commit()
    acd = getattr(request.app.state, "acd", None)
    if acd is not None:
        acd.configure(queue_config(queue))  # the running core uses the new SL settings from now on
    hub = getattr(request.app.state, "hub", None)
    if hub is not None:
        hub.settings_changed("queues")
    return queue


# --- live ACD ---------------------------------------------------------------------


def _acd(request: Request) -> AcdService:
    acd = getattr(request.app.state, "acd", None)
    if acd is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the ACD service is not running")
    return acd


def _visible_queues(principal: Principal, acd: AcdService) -> list[str]:
    """The live queues in the caller's scope (auth.scope)."""
    return [q for q in acd.core.queue_names() if principal.sees.has_queue(q)]


def _masked_agent(view: dict[str, Any]) -> dict[str, Any]:
    call = view.get("call")
    if not call:
        return view
    return {**view, "call": mask_fields(call, "caller_number", "connected_number")}


@router.get("/acd/wallboard")
async def wallboard(principal: Lead, request: Request) -> dict[str, Any]:
    """The wallboard's figures (shown on screens in the room: numbers masked)."""
    acd = _acd(request)
    core = acd.core
    queues = _visible_queues(principal, acd)
    members = {i for q in queues for i in core.queues[q].members | core.queues[q].known}
    return {
        "ts": core.now,
        "queues": {q: core.queue_view(q) for q in queues},
        "agents": {i: _masked_agent(core.agent_view(i)) for i in sorted(members)},
        "totals": core.totals_view(None if principal.sees.everything else queues),
    }


@router.get("/acd/queues/{name}")
async def queue_live(name: Annotated[str, Path(max_length=64)], principal: Lead, request: Request) -> dict[str, Any]:
    core = _acd(request).core
    if not principal.sees.has_queue(name):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"queue {name!r} is not one of your teams' queues")
    if name not in core.queues:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no queue {name!r}")
    return core.queue_view(name)


@router.get("/acd/agents/{interface:path}")
async def agent_live(interface: Annotated[str, Path(max_length=128)], principal: AnyUser, request: Request) -> dict[str, Any]:
    """An agent sees only their own state; a lead their teams' agents."""
    if interface != principal.interface and not (principal.role in (Role.admin, Role.team_lead) and principal.sees.has_agent(interface)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "you may see only your own state, or your teams' agents'")
    view = _acd(request).core.agent_view(interface)
    return _masked_agent(view) if masks(principal.role, request.app.state.settings.phone_masked_roles) else view


async def _check_disposition(session: SessionDep, queue_name: str, code: str, note: str, call_id: str = "") -> None:
    """The code is one of the queue's dispositions, with a note if it needs
    one; "ticket" (已建工单) only with a work order linked to the call."""
    queue = await session.get(Queue, queue_name)
    codes = {d["code"]: d for d in (queue.dispositions if queue else default_dispositions())}
    if code not in codes:
        raise CodedError(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "unknown_disposition",
            f"code: {code!r} is not a disposition of queue {queue_name} ({', '.join(codes)})", code=code, queue=queue_name,
        )  # fmt: skip
    if codes[code].get("note_required") and not note.strip():
        raise CodedError(status.HTTP_422_UNPROCESSABLE_CONTENT, "note_required", f"note: required with disposition {code!r}", code=code)
    if code == "ticket" and call_id and await order_for_call(session, call_id) is None:
        raise CodedError(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "no_work_order",
            f"code: 'ticket' needs a work order created from call {call_id}; create it first", code=code, call_id=call_id,
        )  # fmt: skip


@router.post("/acd/disposition")
async def disposition(body: DispositionIn, principal: AgentOnly, session: SessionDep, request: Request) -> dict[str, Any]:
    """Close the caller's own wrap-up with a disposition code (and note)."""
    acd = _acd(request)
    if not principal.interface:
        raise CodedError(status.HTTP_409_CONFLICT, "no_interface", "you have no phone interface, so no wrap-up")
    wrap = acd.core.wrap_up_of(principal.interface)
    if wrap is None or wrap["call_id"] != body.call_id:
        raise CodedError(status.HTTP_409_CONFLICT, "not_in_wrap_up", f"call {body.call_id} is not in your wrap-up")
    await _check_disposition(session, wrap["queue"], body.code, body.note, body.call_id)
    await acd.submit_disposition(principal.interface, body.call_id, body.code, body.note.strip())
    return {"call_id": body.call_id, "code": body.code, "agent": acd.core.agent_view(principal.interface)}


ERLANG_BUDGET_S = 1.0


@router.get("/erlang")
async def erlang_calc(
    _: Lead,
    calls: Annotated[float, Query(ge=0, le=1_000_000, description="Calls offered in the interval")],
    aht_s: Annotated[float, Query(gt=0, le=86_400, description="Average handle time, s")],
    interval_s: Annotated[float, Query(ge=60, le=86_400, description="Interval length, s (at least a minute)")] = 1800,
    target_sl: Annotated[float | None, Query(gt=0, lt=1, description="Share answered within threshold_s")] = None,
    threshold_s: Annotated[float, Query(ge=0, le=3600)] = 20,
    target_asa_s: Annotated[float | None, Query(gt=0, le=3600)] = None,
    patience_s: Annotated[float | None, Query(gt=0, le=86_400, description="Mean patience; gives Erlang A")] = None,
) -> dict[str, Any]:
    """Agents needed for a target.  The offered load (calls x AHT /
    interval) must stay under 5000 Erlangs, and the work runs in a thread
    under a 1 s budget, so no request can stall the server."""
    deadline = time.monotonic() + ERLANG_BUDGET_S
    model = "erlang_a" if patience_s else "erlang_c"

    def work() -> dict[str, Any]:
        best = erlang.staff(calls, interval_s, aht_s, target_sl=target_sl, threshold_s=threshold_s,
                            target_asa_s=target_asa_s, patience_s=patience_s, deadline=deadline)  # fmt: skip

        def row(n: int) -> dict[str, Any]:
            s = (
                erlang.erlang_a_staffing(n, calls, interval_s, aht_s, threshold_s, patience_s, deadline)
                if patience_s
                else erlang.erlang_c_staffing(n, calls, interval_s, aht_s, threshold_s)
            )
            return _finite(s.as_dict())

        around = range(max(1, best.agents - 3), best.agents + 4)
        return {"model": model, **_finite(best.as_dict()), "table": [row(n) for n in around]}

    try:
        return await asyncio.to_thread(work)
    except erlang.TooExpensive as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"calls: {exc}") from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"calls: {exc}") from None


def _finite(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


@router.get("/acd/calls", response_model=CallPage)
async def call_history(
    principal: Lead,
    session: SessionDep,
    request: Request,
    queue: Annotated[str | None, Query(max_length=64)] = None,
    agent: Annotated[str | None, Query(max_length=128)] = None,
    outcome: Outcome | None = None,
    caller_number: Annotated[str | None, Query(max_length=64)] = None,
    disposition: Annotated[str | None, Query(max_length=32)] = None,
    since: Moment | None = None,
    until: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> CallPage:
    """Finished calls, newest first.  A team lead sees the calls of their
    teams' queues and agents."""
    conds = []
    sees = principal.sees
    if not sees.everything:
        conds.append(or_(CallRecord.queue.in_(sees.queue_list), CallRecord.agent.in_(sees.interface_list)))
    for column, value in ((CallRecord.queue, queue), (CallRecord.agent, agent), (CallRecord.outcome, outcome), (CallRecord.disposition, disposition)):
        if value is not None:
            conds.append(column == value)
    if caller_number:
        conds.append(CallRecord.caller_number.startswith(caller_number, autoescape=True))
    if since is not None:
        conds.append(CallRecord.entered_at >= since)
    if until is not None:
        conds.append(CallRecord.entered_at < until)
    total = await session.scalar(select(func.count()).select_from(CallRecord).where(*conds)) or 0
    rows = (
        await session.execute(select(CallRecord).where(*conds).order_by(CallRecord.entered_at.desc(), CallRecord.id.desc()).limit(limit).offset(offset))
    ).scalars()
    items = [CallOut.model_validate(r) for r in rows]
    if masks(principal.role, request.app.state.settings.phone_masked_roles):
        for item in items:
            item.caller_number = mask_phone(item.caller_number) or ""
    return CallPage(total=total, items=items)


# --- calls left without a disposition ---------------------------------------------------
#
# A wrap-up that ran out before the agent chose a code stores the call with
# no disposition.  Such calls are listed for the agent (their own) and the
# team lead (their queues) until someone completes them.  Derived from the
# stored records: answered, a wrap-up was held (wrap_up_s > 0), no code.

DeskUser = Annotated[Principal, Depends(require(Role.agent, Role.team_lead, Role.admin))]


def _undisposed(principal: Principal) -> list[Any]:
    conds = [CallRecord.outcome == Outcome.answered, CallRecord.agent.is_not(None), CallRecord.disposition.is_(None), CallRecord.wrap_up_s > 0]
    if principal.role == Role.agent:
        conds.append(CallRecord.agent == (principal.interface or "-"))
    elif not principal.sees.everything:  # a lead: their teams' queues and agents (auth/scope.py)
        conds.append(or_(CallRecord.queue.in_(principal.sees.queue_list), CallRecord.agent.in_(principal.sees.interface_list)))
    return conds


@router.get("/acd/undisposed", response_model=CallPage)
async def undisposed_calls(
    principal: DeskUser,
    session: SessionDep,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CallPage:
    """Calls whose wrap-up ended without a disposition, newest first: an
    agent's own, a lead's queues', every one for an admin."""
    conds = _undisposed(principal)
    if since is not None:
        if since.tzinfo is None:
            raise CodedError(status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid", "since: give a time zone, e.g. 2026-01-01T00:00:00+08:00")
        conds.append(CallRecord.entered_at >= since)
    total = await session.scalar(select(func.count()).select_from(CallRecord).where(*conds)) or 0
    rows = (await session.execute(select(CallRecord).where(*conds).order_by(CallRecord.entered_at.desc(), CallRecord.id.desc()).limit(limit))).scalars()
    return CallPage(total=total, items=[CallOut.model_validate(r) for r in rows])


@router.post("/acd/calls/{call_id}/disposition", response_model=CallOut)
async def complete_disposition(
    call_id: str, body: LateDispositionIn, principal: DeskUser, session: SessionDep, request: Request
) -> CallRecord:
    """Give a stored call the disposition its wrap-up ran out without."""
    row = (await session.execute(select(CallRecord).where(CallRecord.call_id == call_id))).scalar_one_or_none()
    if row is None or not _may_dispose(principal, row):
        raise CodedError(status.HTTP_404_NOT_FOUND, "no_call", f"call_id: no stored call {call_id} of yours", call_id=call_id)
    if row.disposition is not None:
        raise CodedError(status.HTTP_409_CONFLICT, "already_disposed", f"call {call_id} already has disposition {row.disposition!r}", code=row.disposition)
    await _check_disposition(session, row.queue, body.code, body.note, call_id)
    row.disposition = body.code
    row.disposition_note = body.note.strip()
    row.timeline = [*row.timeline, {"t": time.time(), "kind": "disposition", "code": body.code, "late": True, "by": principal.username}]
    auth_service.audit(session, principal, "call.disposition", call_id, client_ip(request), code=body.code, late=True)
    await session.commit()
    await session.refresh(row)
    return row


def _may_dispose(principal: Principal, row: CallRecord) -> bool:
    if principal.role == Role.admin:
        return True
    if principal.role == Role.team_lead:
        return principal.sees.has_call(row.queue, row.agent)
    return bool(principal.interface) and row.agent == principal.interface
