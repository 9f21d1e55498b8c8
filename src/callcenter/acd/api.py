"""Queue configuration (live KPIs and history join this router later)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import select

from callcenter.acd.models import Queue, default_dispositions
from callcenter.acd.schemas import QueueIn, QueueOut, check_queue_name
from callcenter.auth import service as auth_service
from callcenter.auth.api import Admin, AnyUser, SessionDep, client_ip

router = APIRouter(prefix="/api", tags=["acd"])


@router.get("/queues", response_model=list[QueueOut])
async def list_queues(_: AnyUser, session: SessionDep) -> list[Queue]:
    return list((await session.execute(select(Queue).order_by(Queue.name))).scalars())


@router.put("/queues/{name}", response_model=QueueOut)
async def put_queue(name: str, body: QueueIn, admin: Admin, session: SessionDep, request: Request) -> Queue:
    try:
        check_queue_name(name)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"name: {exc}") from None
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
    return queue
