"""The same-day callback list (日结日清、及时回访, seeds B §2.5).

Every inbound caller who abandoned or was not answered today is on it,
except withheld numbers and misdials (short abandons).  A caller drops off
once they called again and were answered, or were called back and reached.
The list becomes the day's callback tasks (crm.CallbackTask, reason
"abandoned"), worked from the desktop with retries; each new task sends an
SMS, and a caller still unreached after the last retry gets an explanatory
SMS and priority on their next call.
"""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd.models import CallRecord, Outcome
from callcenter.crm.models import CallbackReason, CallbackStatus, CallbackTask, Customer
from callcenter.crm.service import find_by_number, normalise_number
from callcenter.outbound.sms import Sender

MISSED = (Outcome.abandoned, Outcome.timeout, Outcome.left_empty, Outcome.exit_key, Outcome.no_answer, Outcome.busy, Outcome.cancelled, Outcome.rejected)
SMS_MISSED = "您好，您今天的来电未能及时接通，我们将尽快回电。"
SMS_FAILED = "您好，我们多次回电未能联系到您，您再次来电时将优先接入。"


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tz).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)


def missed_list(records: list[Any], callbacks_reached: set[str], area: str, min_wait_s: float) -> list[dict[str, Any]]:
    """Pure: the day's list from its call records (any order).  Each entry:
    number, first and last miss, misses, queue, uniqueid of the last miss."""
    entries: dict[str, dict[str, Any]] = {}
    for r in sorted(records, key=lambda r: r.entered_at):
        inbound = r.direction == "inbound"
        number = normalise_number(r.caller_number if inbound else r.callee_number, area)
        if not number:
            continue  # withheld
        if not inbound:
            if r.answered_at is not None and number in entries:  # called back and reached
                entries.pop(number)
            continue
        if r.answered_at is not None:
            entries.pop(number, None)  # called again and got through
            continue
        if r.outcome not in MISSED or r.short_abandon or (r.queue and r.outcome is Outcome.abandoned and r.wait_s < min_wait_s):
            continue
        e = entries.setdefault(number, {"number": number, "first_missed_at": r.entered_at, "misses": 0})
        e.update(last_missed_at=r.entered_at, queue=r.queue, uniqueid=r.uniqueid)
        e["misses"] += 1
    return [e for n, e in entries.items() if n not in callbacks_reached]


async def today(session: AsyncSession, day: date, tz: ZoneInfo, area: str, min_wait_s: float) -> list[dict[str, Any]]:
    start, end = day_bounds(day, tz)
    records = (await session.scalars(select(CallRecord).where(CallRecord.entered_at >= start, CallRecord.entered_at < end))).all()
    reached = set(
        (
            await session.scalars(
                select(CallbackTask.number).where(CallbackTask.due_on == day, CallbackTask.status == CallbackStatus.done, CallbackTask.result == "reached")
            )
        ).all()
    )
    return missed_list(list(records), reached, area, min_wait_s)


async def sync(session: AsyncSession, day: date, tz: ZoneInfo, area: str, min_wait_s: float, now: datetime, sms: Sender) -> dict[str, int]:
    """Make today's tasks from the list (one per number; an SMS each), and
    close the open ones whose caller has since got through."""
    listed = await today(session, day, tz, area, min_wait_s)
    tasks = {t.number: t for t in (await session.scalars(select(CallbackTask).where(CallbackTask.due_on == day))).all()}
    _, due_at = day_bounds(day, tz)
    created = closed = 0
    for e in listed:
        if e["number"] in tasks:
            continue
        customer = await find_by_number(session, e["number"], area)
        session.add(
            CallbackTask(
                number=e["number"], customer_id=customer.id if customer else None, uniqueid=e["uniqueid"], queue=e["queue"],
                reason=CallbackReason.abandoned, due_on=day, due_at=due_at - timedelta(seconds=1), created_at=e["last_missed_at"],
            )
        )  # fmt: skip
        await sms.send(e["number"], SMS_MISSED, f"callback:{day}")
        created += 1
    on_list = {e["number"] for e in listed}
    for number, t in tasks.items():
        if t.reason is CallbackReason.abandoned and t.status is not CallbackStatus.done and number not in on_list:
            t.status, t.result, t.completed_at = CallbackStatus.done, "called_in", now
            closed += 1
    await session.flush()
    return {"listed": len(listed), "created": created, "closed": closed}


async def record_attempt(
    session: AsyncSession, task: CallbackTask, result: str, note: str, user_id: int, now: datetime, retries: int, retry_s: int, sms: Sender
) -> CallbackTask:
    """One callback attempt: reached closes it; otherwise it is retried
    after `retry_s` until `retries` attempts, then closed as failed with
    the explanatory SMS and priority for the caller's next call."""
    task.attempts = (task.attempts or 0) + 1
    task.first_try_at = task.first_try_at or now
    task.note = (task.note + "\n" if task.note else "") + f"{now:%H:%M} {result} {note}".strip()
    if result == "reached":
        task.status, task.result, task.completed_at = CallbackStatus.done, "reached", now
    elif result == "wrong_number" or task.attempts >= retries:
        task.status, task.result, task.completed_at = CallbackStatus.done, result if result == "wrong_number" else "failed", now
        if result != "wrong_number":
            await sms.send(task.number, SMS_FAILED, f"callback-failed:{task.id}")
            if task.customer_id is not None:
                customer = await session.get(Customer, task.customer_id)
                if customer is not None:
                    customer.priority_until, customer.priority_reason = now + timedelta(days=2), "未接通回访失败"
    else:
        task.status, task.assigned_to, task.claimed_at = CallbackStatus.open, None, None
        task.due_at = now + timedelta(seconds=retry_s)  # back on the list at the retry time
        task.result = result
    if task.status is CallbackStatus.done:
        task.assigned_to = user_id
    await session.flush()
    return task


async def day_kpis(session: AsyncSession, day: date, tz: ZoneInfo) -> dict[str, Any]:
    """Due, made, reached; abandon -> first callback time; the share cleared the same day."""
    tasks = (await session.scalars(select(CallbackTask).where(CallbackTask.due_on == day))).all()
    _, end = day_bounds(day, tz)
    made = [t for t in tasks if (t.attempts or 0) > 0]
    waits = sorted((t.first_try_at - t.created_at).total_seconds() for t in made if t.first_try_at and t.created_at)
    cleared = [t for t in tasks if t.status is CallbackStatus.done and t.completed_at is not None and t.completed_at < end]
    return {
        "day": day.isoformat(),
        "due": len(tasks),
        "made": len(made),
        "reached": sum(1 for t in tasks if t.result == "reached"),
        "called_in": sum(1 for t in tasks if t.result == "called_in"),
        "failed": sum(1 for t in tasks if t.result == "failed"),
        "abandon_to_callback_median_s": statistics.median(waits) if waits else None,
        "abandon_to_callback_max_s": waits[-1] if waits else None,
        "same_day_share": len(cleared) / len(tasks) if tasks else 1.0,
        "target": 1.0,
    }
