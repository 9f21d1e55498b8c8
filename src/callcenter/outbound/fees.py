"""Fee reminders (催费): arrears imported from the billing system (we do no
billing), the reminder ladder per bill (outbound.rules.next_fee_step), and
the collection rate against the seeds' targets."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.service import find_by_number
from callcenter.outbound import lists
from callcenter.outbound.models import Arrear
from callcenter.outbound.rules import FeeStep, collection_rate, next_fee_step

TARGET_MONTH_END = 0.95
TARGET_TENTH = 0.99


async def import_arrears(session: AsyncSession, data: bytes, strict: bool, area: str) -> dict[str, Any]:
    """Insert new bills, update the amount of known ones (unit + period)."""
    rows, encoding = lists.read_rows(data, required="unit")
    good, errors = lists.validate_arrears(rows, area)
    applied = not (strict and errors)
    if applied:
        known = {(a.unit, a.period): a for a in (await session.scalars(select(Arrear))).all()}
        for g in good:
            a = known.get((g["unit"], g["period"]))
            if a is None:
                customer = await find_by_number(session, g["number"], area) if g["number"] else None
                session.add(Arrear(**g, customer_id=customer.id if customer else None))
            else:
                a.amount, a.due_on = g["amount"], g["due_on"]
        await session.flush()
    return {"encoding": encoding, "rows": len(rows), "imported": len(good) if applied else 0, "applied": applied,
            "errors": [{"line": line, "field": f, "reason": r} for line, f, r in errors]}  # fmt: skip


def _done(a: Arrear) -> dict[FeeStep, date]:
    return {FeeStep(k): date.fromisoformat(v) for k, v in a.steps.items() if k in FeeStep.__members__}


async def due_steps(session: AsyncSession, today: date) -> list[dict[str, Any]]:
    unpaid = (await session.scalars(select(Arrear).where(Arrear.paid_on.is_(None)).order_by(Arrear.due_on, Arrear.id))).all()
    out = []
    for a in unpaid:
        step = next_fee_step(_done(a), a.due_on, today)
        if step is not None:
            out.append({"id": a.id, "unit": a.unit, "name": a.name, "number": a.number, "period": a.period,
                        "amount": a.amount, "due_on": a.due_on.isoformat(), "step": step.value})  # fmt: skip
    return out


def _month_end(period: str) -> date:
    first = date.fromisoformat(period + "-01")
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


async def kpis(session: AsyncSession, period: str) -> dict[str, Any]:
    bills = (await session.scalars(select(Arrear).where(Arrear.period == period))).all()
    end = _month_end(period)
    tenth = end + timedelta(days=10)
    billed = sum(a.amount for a in bills)
    by_end = sum(a.amount for a in bills if a.paid_on is not None and a.paid_on <= end)
    by_tenth = sum(a.amount for a in bills if a.paid_on is not None and a.paid_on <= tenth)
    letters = [a for a in bills if FeeStep.letter.value in a.steps]
    return {
        "period": period,
        "bills": len(bills),
        "billed": round(billed, 2),
        "rate_month_end": collection_rate(billed, by_end),
        "rate_10th": collection_rate(billed, by_tenth),
        "target_month_end": TARGET_MONTH_END,
        "target_10th": TARGET_TENTH,
        "steps": {s.value: sum(1 for a in bills if s.value in a.steps) for s in FeeStep},
        "letters_sent": len(letters),
        "paid_after_letter": sum(1 for a in letters if a.paid_on is not None and a.paid_on >= date.fromisoformat(a.steps[FeeStep.letter.value])),
    }
