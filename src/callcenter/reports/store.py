"""Writing interval facts: one multi-row INSERT per table, in the ACD
service's batch transaction.  A row already written for the same interval
and key is replaced (a retried batch, or the partial row written at
shutdown that the full interval now supersedes)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, insert, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.reports.intervals import AGENT_SUMS, QUEUE_FIELDS
from callcenter.reports.models import AgentFact, AgentPauseFact, QueueFact


def _values(row: dict[str, Any], key: str, fields: tuple[str, ...]) -> dict[str, Any]:
    v = {f: row[f] for f in fields}
    v["interval_start"] = datetime.fromtimestamp(row["interval_start"], UTC)
    v["day"] = date.fromisoformat(row["day"])
    v[key] = row["key"]
    return v


async def write_facts(s: AsyncSession, rows: list[dict[str, Any]]) -> None:
    for model, kind, key, fields in (
        (QueueFact, "queue", "queue", QUEUE_FIELDS),
        (AgentFact, "agent", "interface", AGENT_SUMS),
    ):
        values = [_values(r, key, fields) for r in rows if r["kind"] == kind]
        if not values:
            continue
        table = model.__table__
        keys = list({(v["interval_start"], v[key]) for v in values})
        await s.execute(delete(table).where(tuple_(table.c.interval_start, table.c[key]).in_(keys)))
        if kind == "agent":
            pauses = AgentPauseFact.__table__
            await s.execute(delete(pauses).where(tuple_(pauses.c.interval_start, pauses.c.interface).in_(keys)))
            p = [
                {"interval_start": v["interval_start"], "day": v["day"], "interface": v["interface"], "reason": reason, "seconds": secs}
                for v, r in zip(values, (r for r in rows if r["kind"] == kind), strict=True)
                for reason, secs in (r.get("pause_s") or {}).items()
            ]
            if p:
                await s.execute(insert(pauses), p)
        await s.execute(insert(table), values)
