"""Queue configuration, the live ACD views (wallboard, queue, agent), the
agent's disposition, the Erlang calculator and the call history."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from sqlalchemy import func, select

from callcenter.acd import erlang
from callcenter.acd.models import CallRecord, Outcome, Queue, default_dispositions
from callcenter.acd.schemas import (
    CallOut,
    CallPage,
    DispositionIn,
    QueueIn,
    QueueOut,
    check_queue_name,
)
from callcenter.acd.service import AcdService, queue_config
from callcenter.auth import service as auth_service
from callcenter.auth.api import Admin, AnyUser, Lead, SessionDep, client_ip, require
from callcenter.auth.models import Role
from callcenter.auth.service import Principal

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
        acd.configure(queue_config(queue))
    return queue


# --- live ACD ---------------------------------------------------------------------


def _acd(request: Request) -> AcdService:
    acd = getattr(request.app.state, "acd", None)
    if acd is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the ACD service is not running")
    return acd


def _visible_queues(principal: Principal, acd: AcdService) -> list[str]:
    """Admins see every queue; a team lead the queues they lead (their skills)."""
    names = acd.core.queue_names()
    if principal.role == Role.admin:
        return names
    return [q for q in names if q in principal.queues]


@router.get("/acd/wallboard")
async def wallboard(principal: Lead, request: Request) -> dict[str, Any]:
    acd = _acd(request)
    core = acd.core
    queues = _visible_queues(principal, acd)
    members = {i for q in queues for i in core.queues[q].members | core.queues[q].known}
    return {
        "ts": core.now,
        "queues": {q: core.queue_view(q) for q in queues},
        "agents": {i: core.agent_view(i) for i in sorted(members)},
        "totals": core.totals_view(None if principal.role == Role.admin else queues),
    }


@router.get("/acd/queues/{name}")
async def queue_live(name: str, _: Lead, request: Request) -> dict[str, Any]:
    core = _acd(request).core
    if name not in core.queues:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no queue {name!r}")
    return core.queue_view(name)


@router.get("/acd/agents/{interface:path}")
async def agent_live(interface: str, principal: AnyUser, request: Request) -> dict[str, Any]:
    """An agent sees only their own state; leads and admins anyone's."""
    if principal.role not in (Role.admin, Role.team_lead) and interface != principal.interface:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "agents may only see their own state")
    return _acd(request).core.agent_view(interface)


@router.post("/acd/disposition")
async def disposition(body: DispositionIn, principal: AgentOnly, session: SessionDep, request: Request) -> dict[str, Any]:
    """Close the caller's own wrap-up with a disposition code (and note)."""
    acd = _acd(request)
    if not principal.interface:
        raise HTTPException(status.HTTP_409_CONFLICT, "you have no phone interface, so no wrap-up")
    wrap = acd.core.wrap_up_of(principal.interface)
    if wrap is None or wrap["call_id"] != body.call_id:
        raise HTTPException(status.HTTP_409_CONFLICT, f"call {body.call_id} is not in your wrap-up")
    queue = await session.get(Queue, wrap["queue"])
    codes = {d["code"]: d for d in (queue.dispositions if queue else default_dispositions())}
    if body.code not in codes:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"code: {body.code!r} is not a disposition of queue {wrap['queue']} ({', '.join(codes)})")
    if codes[body.code].get("note_required") and not body.note.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"note: required with disposition {body.code!r}")
    await acd.submit_disposition(principal.interface, body.call_id, body.code, body.note.strip())
    return {"call_id": body.call_id, "code": body.code, "agent": acd.core.agent_view(principal.interface)}


@router.get("/erlang")
async def erlang_calc(
    _: Lead,
    calls: Annotated[float, Query(ge=0, le=1_000_000, description="Calls offered in the interval")],
    aht_s: Annotated[float, Query(gt=0, le=86_400, description="Average handle time, s")],
    interval_s: Annotated[float, Query(gt=0, le=86_400)] = 1800,
    target_sl: Annotated[float | None, Query(gt=0, lt=1, description="Share answered within threshold_s")] = None,
    threshold_s: Annotated[float, Query(ge=0, le=3600)] = 20,
    target_asa_s: Annotated[float | None, Query(gt=0, le=3600)] = None,
    patience_s: Annotated[float | None, Query(gt=0, le=86_400, description="Mean patience; gives Erlang A")] = None,
) -> dict[str, Any]:
    try:
        best = erlang.staff(calls, interval_s, aht_s, target_sl=target_sl, threshold_s=threshold_s, target_asa_s=target_asa_s, patience_s=patience_s)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"calls: {exc}") from None
    around = range(max(1, best.agents - 3), best.agents + 4)
    model = "erlang_a" if patience_s else "erlang_c"

    def row(n: int) -> dict[str, Any]:
        s = (
            erlang.erlang_a_staffing(n, calls, interval_s, aht_s, threshold_s, patience_s)
            if patience_s
            else erlang.erlang_c_staffing(n, calls, interval_s, aht_s, threshold_s)
        )
        return _finite(s.as_dict())

    return {"model": model, **_finite(best.as_dict()), "table": [row(n) for n in around]}


def _finite(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


@router.get("/acd/calls", response_model=CallPage)
async def call_history(
    principal: Lead,
    session: SessionDep,
    queue: str | None = None,
    agent: str | None = None,
    outcome: Outcome | None = None,
    caller_number: Annotated[str | None, Query(max_length=64)] = None,
    disposition: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CallPage:
    """Finished calls, newest first.  A team lead sees the queues they lead."""
    conds = []
    if principal.role != Role.admin:
        conds.append(CallRecord.queue.in_(principal.queues))
    for column, value in ((CallRecord.queue, queue), (CallRecord.agent, agent), (CallRecord.outcome, outcome), (CallRecord.disposition, disposition)):
        if value is not None:
            conds.append(column == value)
    if caller_number:
        conds.append(CallRecord.caller_number.startswith(caller_number, autoescape=True))
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: give a time zone, e.g. 2026-01-01T00:00:00+08:00")
    if since is not None:
        conds.append(CallRecord.entered_at >= since)
    if until is not None:
        conds.append(CallRecord.entered_at < until)
    total = await session.scalar(select(func.count()).select_from(CallRecord).where(*conds)) or 0
    rows = (
        await session.execute(select(CallRecord).where(*conds).order_by(CallRecord.entered_at.desc(), CallRecord.id.desc()).limit(limit).offset(offset))
    ).scalars()
    return CallPage(total=total, items=[CallOut.model_validate(r) for r in rows])
