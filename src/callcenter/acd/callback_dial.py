"""The service's side of a queued callback (qcallbacks.py): the core says
which agent takes which callback now (`Output.offers`); this dials it
through the actions gateway and keeps the callback task (crm.CallbackTask,
made by /hooks/callback) in step.

- Offer: the task's number (the one the caller keyed in, or their own),
  Originate to the agent's phone first (gateway.click_to_call, context
  agents, CC_CALLBACK_TASK = the task), the task claimed by that agent.
- Dialled (the core's "made" fact: the agent answered and the customer is
  dialled): the task's dial is counted (attempts, first_try_at: request ->
  callback time), as the core counts it; an offer the agent let ring is not.
- Connected: the task is done, result "reached".  Given up after the core's
  MAX_ATTEMPTS dials: it goes back on the same-day list (status open,
  result no_answer) for people to work, as outbound/callbacks.py does.

A failed Originate is only logged: the core's offer lapses
(qcallbacks.OFFER_TIMEOUT_S) or the OriginateResponse puts the callback back
in its place, and the next free agent gets it.

The core's callback facts (`Output.callback_facts`: dialled, reached) are
written with the service's batches (`write_facts`, acd_callback_facts) and
read back at start (`load_facts`), so the live callback KPIs and the open
30-minute row count from the database, not from zero, after a restart or a
cluster leader change.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd.common import CallbackOffer, Output
from callcenter.acd.models import CallbackFact
from callcenter.db import dialect_insert
from callcenter.realtime.service import DIAL_CONTEXT  # the desktop's [agents]: dials the number once the agent answers

if TYPE_CHECKING:
    from callcenter.acd.service import AcdService

log = logging.getLogger("callcenter.acd.callbacks")


class CallbackDialer:
    """An AcdService listener: `listener(out, core)`."""

    def __init__(self, service: AcdService) -> None:
        self.service = service
        self.tasks: set[asyncio.Task[None]] = set()
        self.dialled: list[tuple[str, str, str]] = []  # (callback id, interface, number), for tests and logs

    def __call__(self, out: Output, core: Any) -> None:
        for offer in out.offers:
            self._spawn(self.dial(offer))
        for fact in out.callback_facts:
            if fact["kind"] == "made" and str(fact.get("task") or "").isdigit() and self.service.db is not None:
                self._spawn(self.made(fact))
        for cb in out.callbacks:
            self._spawn(self.ended(cb))

    def _spawn(self, coro: Any) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:  # no loop (replay, tools): nothing to dial
            coro.close()
            return
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def dial(self, offer: CallbackOffer) -> None:
        gateway = self.service.gateway
        task_id = int(offer.task) if offer.task.isdigit() else None
        number = offer.number
        if task_id is None and self.service.db is not None:
            try:
                task_id = await self._find(offer)
            except Exception as exc:  # noqa: BLE001 - the database is away: dial the number the core has
                log.warning("queued callback %s: task not looked up (%s: %s)", offer.callback_id, type(exc).__name__, exc)
        if self.service.db is not None and task_id is not None:
            try:
                number = await self._claim(task_id, offer) or number
            except Exception as exc:  # noqa: BLE001 - the database is away: dial the number the core has
                log.warning("callback task %s not claimed (%s: %s); dialling anyway", task_id, type(exc).__name__, exc)
        if gateway is None:
            log.info("no AMI gateway: queued callback %s for %s not dialled", offer.callback_id, offer.interface)
            return
        self.dialled.append((offer.callback_id, offer.interface, number))
        try:
            await gateway.click_to_call(offer.interface, number, DIAL_CONTEXT, callback_task=task_id)
        except Exception as exc:  # noqa: BLE001 - the core's offer lapses and goes to the next free agent
            log.warning("queued callback %s to %s not originated: %s: %s", offer.callback_id, offer.interface, type(exc).__name__, exc)

    async def _find(self, offer: CallbackOffer) -> int | None:
        """The task of a callback the core rebuilt from queue_log (its
        UserEvent CcCallback, which names the task, was missed): the one
        /hooks/callback made for this call, or the number's open one of the
        day.  The dial carries it (CC_CALLBACK_TASK), so the core learns it
        from the CcOutbound."""
        from callcenter.crm.models import CallbackStatus, CallbackTask

        assert self.service.db is not None
        since = datetime.fromtimestamp(offer.requested_at, UTC) - timedelta(days=1)
        t = CallbackTask
        async with self.service.db.sessions() as s:
            q = select(t.id).where(t.status != CallbackStatus.done, t.created_at >= since)
            q = q.where(or_(t.uniqueid == offer.uniqueid, t.number == offer.number)).order_by((t.uniqueid == offer.uniqueid).desc(), t.id.desc())
            return (await s.execute(q.limit(1))).scalar_one_or_none()

    async def _claim(self, task_id: int, offer: CallbackOffer) -> str | None:
        from callcenter.auth.models import User
        from callcenter.crm.models import CallbackStatus, CallbackTask

        assert self.service.db is not None
        async with self.service.db.sessions() as s:
            task = await s.get(CallbackTask, task_id)
            if task is None:
                return None
            now = datetime.now(UTC)
            user = (await s.execute(select(User.id).where(User.interface == offer.interface))).scalar_one_or_none()
            task.status, task.assigned_to, task.claimed_at = CallbackStatus.claimed, user, now
            if not task.uniqueid:
                task.uniqueid = offer.uniqueid
            if "queued callback" not in task.note:
                entered = datetime.fromtimestamp(offer.entered_at, UTC).isoformat(timespec="seconds")
                asked = datetime.fromtimestamp(offer.requested_at, UTC).isoformat(timespec="seconds")
                kept = f"queued callback {offer.callback_id}: joined {offer.queue} {entered} at position {offer.position}, pressed 9 {asked}"
                task.note = f"{task.note}\n{kept}".strip()
            await s.commit()
            return task.number

    async def made(self, fact: dict[str, Any]) -> None:
        """The customer is dialled: one attempt on the task (one UPDATE, so
        it cannot lose a count to the claim's or the end's write)."""
        from callcenter.crm.models import CallbackTask

        assert self.service.db is not None
        at = datetime.fromtimestamp(fact["at"], UTC)
        try:
            async with self.service.db.sessions() as s:
                await s.execute(
                    update(CallbackTask)
                    .where(CallbackTask.id == int(fact["task"]))
                    .values(attempts=func.coalesce(CallbackTask.attempts, 0) + 1, first_try_at=func.coalesce(CallbackTask.first_try_at, literal(at, CallbackTask.first_try_at.type)))
                )
                await s.commit()
        except Exception as exc:  # noqa: BLE001 - the fact itself is persisted with the core's batch
            log.warning("callback task %s: dial not counted (%s: %s)", fact["task"], type(exc).__name__, exc)

    async def ended(self, cb: dict[str, Any]) -> None:
        if self.service.db is None or not str(cb.get("task") or "").isdigit():
            return
        from callcenter.crm.models import CallbackStatus, CallbackTask

        try:
            async with self.service.db.sessions() as s:
                task = await s.get(CallbackTask, int(cb["task"]))
                if task is None or task.status is CallbackStatus.done:
                    return
                if cb["state"] == "connected":
                    task.status, task.result = CallbackStatus.done, "reached"
                    task.completed_at = datetime.fromtimestamp(cb["connected_at"], UTC)
                else:
                    task.status, task.result, task.assigned_to, task.claimed_at = CallbackStatus.open, "no_answer", None, None
                note = f"queued callback {cb['callback_id']}: {cb['state']} after {cb['attempts']} dial(s)"
                task.note = f"{task.note}\n{note}".strip()
                await s.commit()
        except Exception as exc:  # noqa: BLE001 - the list still shows the task; people work it
            log.warning("callback task %s not updated (%s: %s)", cb.get("task"), type(exc).__name__, exc)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


async def write_facts(s: AsyncSession, facts: list[dict[str, Any]], pbx: str) -> None:
    """Insert the facts, skipping any already written (their key: pbx,
    callback, attempt, kind), in the caller's transaction."""
    if not facts:
        return
    rows = [
        {"pbx": pbx, "callback_id": f["callback_id"], "attempt": f["attempt"], "kind": f["kind"], "at": _utc(f["at"]), "queue": f["queue"],
         "task": f.get("task") or "", "agent": f.get("agent") or "", "entered_at": _utc(f["entered_at"]), "requested_at": _utc(f["requested_at"])}
        for f in facts
    ]  # fmt: skip
    await s.execute(dialect_insert(s, CallbackFact.__table__).on_conflict_do_nothing(), rows)


async def load_facts(s: AsyncSession, since: datetime, pbx: str) -> list[dict[str, Any]]:
    """This PBX's facts from `since` (the day's start), in the core's shape, in time order."""
    c = CallbackFact
    q = select(c.callback_id, c.attempt, c.kind, c.at, c.queue, c.task, c.agent, c.entered_at, c.requested_at)
    rows = (await s.execute(q.where(c.pbx == pbx, c.at >= since).order_by(c.at, c.id))).all()
    return [
        {"callback_id": r.callback_id, "attempt": r.attempt, "kind": r.kind, "at": r.at.timestamp(), "queue": r.queue, "task": r.task,
         "agent": r.agent, "entered_at": r.entered_at.timestamp(), "requested_at": r.requested_at.timestamp()}
        for r in rows
    ]  # fmt: skip
