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
from callcenter.reports.models import AgentFact, QueueFact


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
        values = []
        for r in rows:
            if r["kind"] == kind:
                v = _values(r, key, fields)
                if kind == "agent":
                    v["pause_s"] = r.get("pause_s") or {}
                values.append(v)
        if not values:
            continue
        table = model.__table__
        keys = {(v["interval_start"], v[key]) for v in values}
        await s.execute(delete(table).where(tuple_(table.c.interval_start, table.c[key]).in_(list(keys))))
        await s.execute(insert(table), values)
