"""Writing interval facts: one multi-row INSERT per table, in the ACD
service's batch transaction.  A row already written for the same interval
and key is replaced (a retried batch, or a partial row superseded).

The day tables (QueueDay, AgentDay, AgentPauseDay) are then recomputed for
the (day, key) pairs the batch touched, from the interval rows, in SQL:
idempotent, and daily/weekly/monthly reports read one row per day and key."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.reports.intervals import AGENT_SUMS, QUEUE_FIELDS
from callcenter.auth.models import User
from callcenter.reports.models import AgentDay, AgentFact, AgentPauseDay, AgentPauseFact, QueueDay, QueueFact, TeamDay, TeamFact
from callcenter.teams.models import TeamMember


def _values(row: dict[str, Any], key: str, fields: tuple[str, ...]) -> dict[str, Any]:
    v = {f: row[f] for f in fields}
    v["interval_start"] = datetime.fromtimestamp(row["interval_start"], UTC)
    v["day"] = date.fromisoformat(row["day"])
    v[key] = row["key"]
    until = row.get("until")
    v["partial_until"] = datetime.fromtimestamp(until, UTC) if until is not None else None
    return v


async def _roll_up(s: AsyncSession, src: Any, dst: Any, key: str, fields: tuple[str, ...], pairs: list[tuple[date, str]], extra: tuple[str, ...] = ()) -> None:
    days = sorted({d for d, _ in pairs})
    keys = sorted({k for _, k in pairs})
    await s.execute(delete(dst).where(dst.c.day.in_(days), dst.c[key].in_(keys)))
    sums = [(func.max(src.c[f]) if f == "max_wait_s" else func.sum(src.c[f])).label(f) for f in fields]
    group = [src.c.day, src.c[key], *(src.c[e] for e in extra)]
    stmt = select(*group, *sums).where(src.c.day.in_(days), src.c[key].in_(keys)).group_by(*group)
    await s.execute(insert(dst).from_select(["day", key, *extra, *fields], stmt))


async def team_roll_up(s: AsyncSession, starts: list[datetime]) -> None:
    """Team rows of these intervals, from their agent rows (each agent in the
    team it was in at the interval's start), then those days' team rows."""
    if not starts:
        return
    a, u, m, ti = AgentFact.__table__, User.__table__, TeamMember.__table__, TeamFact.__table__
    await s.execute(delete(ti).where(ti.c.interval_start.in_(starts)))
    cond = and_(m.c.user_id == u.c.id, m.c.from_at <= a.c.interval_start, or_(m.c.to_at.is_(None), m.c.to_at > a.c.interval_start))
    src = a.join(u, u.c.interface == a.c.interface).join(m, cond)
    group = [a.c.interval_start, a.c.day, m.c.team_id]
    stmt = select(*group, *(func.sum(a.c[f]) for f in AGENT_SUMS)).select_from(src).where(a.c.interval_start.in_(starts)).group_by(*group)
    await s.execute(insert(ti).from_select(["interval_start", "day", "team_id", *AGENT_SUMS], stmt))
    days = sorted(set((await s.execute(select(a.c.day).where(a.c.interval_start.in_(starts)).distinct())).scalars()))
    td = TeamDay.__table__
    await s.execute(delete(td).where(td.c.day.in_(days)))
    sums = select(ti.c.day, ti.c.team_id, *(func.sum(ti.c[f]) for f in AGENT_SUMS)).where(ti.c.day.in_(days)).group_by(ti.c.day, ti.c.team_id)
    await s.execute(insert(td).from_select(["day", "team_id", *AGENT_SUMS], sums))


async def write_facts(s: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Full rows first, then a backfill's signed delta rows (`delta`) added
    to the rows as written (or as just written in this batch)."""
    full = [r for r in rows if not r.get("delta")]
    if full:
        await _replace(s, full)
    deltas = [r for r in rows if r.get("delta")]
    if deltas:
        await _replace(s, await _apply_deltas(s, deltas))


async def _apply_deltas(s: AsyncSession, deltas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows as written plus the deltas (max_wait_s: the larger); a
    delta for an interval with no row yet becomes its row."""
    out: list[dict[str, Any]] = []
    for model, kind, key, fields in ((QueueFact, "queue", "queue", QUEUE_FIELDS), (AgentFact, "agent", "interface", AGENT_SUMS)):
        mine = [d for d in deltas if d["kind"] == kind]
        if not mine:
            continue
        keys = list({(datetime.fromtimestamp(d["interval_start"], UTC), d["key"]) for d in mine})
        have = {}
        for r in (await s.execute(select(model).where(tuple_(model.interval_start, getattr(model, key)).in_(keys)))).scalars():
            at = r.interval_start if r.interval_start.tzinfo else r.interval_start.replace(tzinfo=UTC)
            have[(int(at.timestamp()), getattr(r, key))] = r
        pauses: dict[tuple[int, str], dict[str, float]] = {}
        if kind == "agent":
            p = AgentPauseFact
            for r in (await s.execute(select(p).where(tuple_(p.interval_start, p.interface).in_(keys)))).scalars():
                at = r.interval_start if r.interval_start.tzinfo else r.interval_start.replace(tzinfo=UTC)
                pauses.setdefault((int(at.timestamp()), r.interface), {})[r.reason] = r.seconds
        merged: dict[tuple[int, str], dict[str, Any]] = {}
        for d in mine:
            k = (int(d["interval_start"]), d["key"])
            row = merged.get(k)
            if row is None:
                old = have.get(k)
                row = {"kind": kind, "interval_start": k[0], "day": d["day"], "key": d["key"], **{f: (getattr(old, f) if old is not None else 0) for f in fields}}
                if old is not None and old.partial_until is not None:
                    row["until"] = old.partial_until.timestamp() if old.partial_until.tzinfo else old.partial_until.replace(tzinfo=UTC).timestamp()
                if kind == "agent":
                    row["pause_s"] = dict(pauses.get(k, {}))
                merged[k] = row
            for f in fields:
                v = d.get(f) or 0
                row[f] = max(row[f], v) if f == "max_wait_s" else max(0, row[f] + v)  # a count never goes below zero
            for reason, secs in (d.get("pause_s") or {}).items():
                row["pause_s"][reason] = row["pause_s"].get(reason, 0.0) + secs
        out += merged.values()
    return out


async def _replace(s: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Interval rows replace any row of the same (interval, key): a retried
    batch, a partial row written at a graceful stop (`until` set) completed
    after the restart, or an interval recomputed after a backfill."""
    for model, day_model, kind, key, fields in (
        (QueueFact, QueueDay, "queue", "queue", QUEUE_FIELDS),
        (AgentFact, AgentDay, "agent", "interface", AGENT_SUMS),
    ):
        mine = [r for r in rows if r["kind"] == kind]
        if not mine:
            continue
        values = [_values(r, key, fields) for r in mine]
        table = model.__table__
        keys = list({(v["interval_start"], v[key]) for v in values})
        await s.execute(delete(table).where(tuple_(table.c.interval_start, table.c[key]).in_(keys)))
        await s.execute(insert(table), values)
        pairs = list({(v["day"], v[key]) for v in values})
        await _roll_up(s, table, day_model.__table__, key, fields, pairs)
        if kind == "agent":
            pauses = AgentPauseFact.__table__
            await s.execute(delete(pauses).where(tuple_(pauses.c.interval_start, pauses.c.interface).in_(keys)))
            p = [
                {"interval_start": v["interval_start"], "day": v["day"], "interface": v["interface"], "reason": reason, "seconds": secs}
                for v, r in zip(values, mine, strict=True)
                for reason, secs in (r.get("pause_s") or {}).items()
            ]
            if p:
                await s.execute(insert(pauses), p)
            await _roll_up(s, pauses, AgentPauseDay.__table__, "interface", ("seconds",), pairs, extra=("reason",))
            await team_roll_up(s, sorted({v["interval_start"] for v in values}))


async def partial_rows(s: AsyncSession, interval_start: int) -> tuple[list[dict[str, Any]], float | None]:
    """The rows of an interval written at a graceful stop (partial_until set), in
    the accumulator's shape, and the moment they run to; ([], None) if none."""
    at = datetime.fromtimestamp(interval_start, UTC)
    rows: list[dict[str, Any]] = []
    until: float | None = None
    for model, kind, key, fields in ((QueueFact, "queue", "queue", QUEUE_FIELDS), (AgentFact, "agent", "interface", AGENT_SUMS)):
        for r in (await s.execute(select(model).where(model.interval_start == at, model.partial_until.is_not(None)))).scalars():
            u = r.partial_until if r.partial_until.tzinfo else r.partial_until.replace(tzinfo=UTC)
            until = max(until or 0.0, u.timestamp())
            rows.append({"kind": kind, "interval_start": interval_start, "day": r.day.isoformat(), "key": getattr(r, key), **{f: getattr(r, f) for f in fields}})
    if rows:
        pauses: dict[str, dict[str, float]] = {}
        for p in (await s.execute(select(AgentPauseFact).where(AgentPauseFact.interval_start == at))).scalars():
            pauses.setdefault(p.interface, {})[p.reason] = p.seconds
        for r in rows:
            if r["kind"] == "agent":
                r["pause_s"] = pauses.get(r["key"], {})
    return rows, until
