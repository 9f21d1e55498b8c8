"""Reports from the interval facts: SQL sums per (day or interval, key),
folded into weeks and months here, then the formulas of measures.py.

Today's report also holds the open interval, read from the live core
(`Core.open_interval_rows`), so it agrees with the live KPIs for today.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd.models import CallKind, CallRecord, Outcome, Queue
from callcenter.auth.models import User
from callcenter.auth.scope import EVERYTHING, Scope
from callcenter.reports import document, measures
from callcenter.reports.intervals import AGENT_SUMS, BUCKETS, QUEUE_FIELDS
from callcenter.reports import scorecard
from callcenter.reports.models import AgentDay, AgentFact, AgentPauseDay, AgentPauseFact, Indicator, QueueDay, QueueFact, TeamDay, TeamFact
from callcenter.teams.models import Team, TeamMember

LEVELS = ("interval", "daily", "weekly", "monthly")
BY = ("queue", "team", "agent")
MAX_DAYS = {"interval": 7, "daily": 92, "weekly": 371, "monthly": 731}


class ReportError(ValueError):
    """A request a report cannot answer: the field and why (a 422)."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.status = field, status


@dataclass(frozen=True, slots=True)
class Query:
    level: str
    by: str
    start: date
    end: date  # inclusive
    keys: tuple[str, ...] = ()  # queue names, team ids (as text) or interfaces; () = all in scope

    def check(self) -> None:
        if self.level not in LEVELS:
            raise ReportError("level", f"one of {', '.join(LEVELS)}")
        if self.by not in BY:
            raise ReportError("by", f"one of {', '.join(BY)}")
        if self.end < self.start:
            raise ReportError("to", "before 'from'")
        if (self.end - self.start).days + 1 > MAX_DAYS[self.level]:
            raise ReportError("to", f"a {self.level} report covers at most {MAX_DAYS[self.level]} days")


def period_label(level: str, day: date | None, start: datetime | None, zone: ZoneInfo) -> str:
    if level == "interval":
        assert start is not None
        return start.astimezone(zone).isoformat(timespec="minutes")
    assert day is not None
    if level == "daily":
        return day.isoformat()
    if level == "weekly":
        y, w, _ = day.isocalendar()
        return f"{y}-W{w:02d}"
    return f"{day.year}-{day.month:02d}"


def _utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


# --- the rows, summed in SQL ------------------------------------------------------------------


def _sums(table: Any, fields: tuple[str, ...]) -> list[Any]:
    return [(func.max(table.c[f]) if f == "max_wait_s" else func.sum(table.c[f])).label(f) for f in fields]


def _periods(q: Query) -> list[tuple[str, date, date]]:
    """(label, first day, last day) of each week or month the range touches."""
    out: list[tuple[str, date, date]] = []
    d = q.start
    while d <= q.end:
        label = period_label(q.level, d, None, ZoneInfo("UTC"))
        if out and out[-1][0] == label:
            out[-1] = (label, out[-1][1], d)
        else:
            out.append((label, d, d))
        d += timedelta(days=1)
    return out


def _when(q: Query, t: Any) -> Any:
    """The period column: the interval, the day, or the week/month label (CASE over days)."""
    if q.level == "interval":
        return t.c.interval_start
    if q.level == "daily":
        return t.c.day
    return case(*[(t.c.day.between(a, b), literal(label)) for label, a, b in _periods(q)], else_=literal(""))


def _source(q: Query, interval_model: Any, day_model: Any, stable: Any = None) -> Any:
    """Day rows unless the report needs intervals (the 30-minute level, or
    teams whose membership changed inside the range: membership at each interval)."""
    by_interval = q.level == "interval" or (q.by == "team" and stable is None)
    return (interval_model if by_interval else day_model).__table__


def _bounds(q: Query, zone: ZoneInfo) -> tuple[datetime, datetime]:
    lo = datetime.combine(q.start, datetime.min.time(), zone).astimezone(UTC)
    hi = datetime.combine(q.end + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    return lo, hi


async def _stable_teams(s: AsyncSession, q: Query, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The range's bounds when no membership starts or ends inside it (then
    each agent was in one team the whole range and day rows are exact); else None."""
    lo, hi = _bounds(q, zone)
    m = TeamMember
    moved = select(m.id).where(or_(and_(m.from_at > lo, m.from_at < hi), and_(m.to_at.is_not(None), m.to_at > lo, m.to_at < hi))).limit(1)
    return None if (await s.execute(moved)).first() is not None else (lo, hi)


def _row_parts(q: Query, keys: list[str] | None, stable: tuple[datetime, datetime] | None) -> tuple[Any, Any, Any, tuple[str, ...], list[Any]]:
    """(table, period column, key column, summed fields, conditions) of a report's rows."""
    if q.by == "queue":
        t, fields = _source(q, QueueFact, QueueDay), QUEUE_FIELDS
        key = t.c.queue
    elif q.by == "team":  # the team rows store.write_facts keeps (membership at each interval)
        t, fields = (TeamFact if q.level == "interval" else TeamDay).__table__, AGENT_SUMS
        key = t.c.team_id
    else:
        t, fields = _source(q, AgentFact, AgentDay, stable), AGENT_SUMS
        key = t.c.interface
    conds = [t.c.day >= q.start, t.c.day <= q.end]
    if keys is not None:
        conds.append(key.in_([int(k) for k in keys] if q.by == "team" else keys))
    return t, _when(q, t), key, fields, conds


def _pause_parts(q: Query, keys: list[str] | None, stable: tuple[datetime, datetime] | None) -> tuple[Any, Any, Any, Any, list[Any]]:
    """(table, source with joins, period column, key column, conditions) of the pause rows."""
    t = _source(q, AgentPauseFact, AgentPauseDay, stable)
    if q.by == "team":
        source, key = _membership_join(t, stable)
    else:
        source, key = t, t.c.interface
    conds = [t.c.day >= q.start, t.c.day <= q.end]
    if keys is not None:
        conds.append(key.in_([int(k) for k in keys] if q.by == "team" else keys))
    return t, source, _when(q, t), key, conds


async def _report_rows(s: AsyncSession, q: Query, keys: list[str] | None, stable: tuple[datetime, datetime] | None = None) -> list[tuple[Any, Any, str, dict[str, float]]]:
    t, when, key, fields, conds = _row_parts(q, keys, stable)
    stmt = select(when.label("when"), key.label("key"), *_sums(t, fields)).select_from(t).where(*conds).group_by(when, key)
    return [(r[0], None, str(r[1]), _floats(fields, r[2:])) for r in await _fetch(s, stmt)]


async def _pause_rows(s: AsyncSession, q: Query, keys: list[str] | None, stable: tuple[datetime, datetime] | None = None) -> list[tuple[Any, str, str, float]]:
    t, source, when, key, conds = _pause_parts(q, keys, stable)
    stmt = select(when.label("when"), key.label("key"), t.c.reason, func.sum(t.c.seconds).label("seconds")).select_from(source).where(*conds)
    stmt = stmt.group_by(when, key, t.c.reason)
    return [(r[0], str(r[1]), r[2], float(r[3] or 0)) for r in await _fetch(s, stmt)]


async def _fetch(s: AsyncSession, stmt: Any) -> list[Any]:
    """A report query's rows.  On PostgreSQL straight from asyncpg (records,
    decoded in C): SQLAlchemy's per-row processing was most of the time of a
    15,000-row report.  Interval starts come back as aware UTC datetimes either way."""
    conn = await s.connection()
    if conn.dialect.name != "postgresql":
        return list((await s.execute(stmt)).all())
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    raw = await conn.get_raw_connection()
    return await raw.driver_connection.fetch(str(compiled), *(params[k] for k in compiled.positiontup or ()))


def _floats(fields: tuple[str, ...], values: Any) -> tuple[float, ...]:
    """A row's sums as they came (SQL sums of NOT NULL columns), a None as 0."""
    return tuple(values) if None not in values else tuple(0 if v is None else v for v in values)


def _sort_key(when: Any) -> Any:
    """Intervals in time order (their local labels may not sort so across a DST change)."""
    return _utc(when).timestamp() if isinstance(when, datetime) else float(when)


def _membership_join(t: Any, stable: tuple[datetime, datetime] | None) -> tuple[Any, Any]:
    """Agent rows -> the team the agent was in at the interval's start (or,
    membership being stable, the whole range)."""
    u, m = User.__table__, TeamMember.__table__
    if stable is None:
        cond = and_(m.c.user_id == u.c.id, m.c.from_at <= t.c.interval_start, or_(m.c.to_at.is_(None), m.c.to_at > t.c.interval_start))
    else:
        lo, hi = stable
        cond = and_(m.c.user_id == u.c.id, m.c.from_at <= lo, or_(m.c.to_at.is_(None), m.c.to_at >= hi))
    return t.join(u, u.c.interface == t.c.interface).join(m, cond), m.c.team_id


# --- names, scope -------------------------------------------------------------------------------


async def names(s: AsyncSession, by: str) -> dict[str, str]:
    if by == "queue":
        return {n: d for n, d in await s.execute(select(Queue.name, Queue.display_name))}
    if by == "team":
        return {str(i): n for i, n in await s.execute(select(Team.id, Team.name))}
    return {i: n for i, n in await s.execute(select(User.interface, User.display_name).where(User.interface.is_not(None)))}


def scoped_keys(q: Query, scope: Scope) -> list[str] | None:
    """The keys to read: the ones asked for (each must be in scope), or all in scope (None: everything)."""
    allowed: Iterable[str] | None
    if scope.everything:
        allowed = None
    elif q.by == "queue":
        allowed = scope.queues
    elif q.by == "agent":
        allowed = scope.interfaces
    else:
        allowed = {str(t) for t in scope.teams}
    if q.keys:
        if q.by == "team" and not all(k.isdigit() for k in q.keys):
            raise ReportError("team", "team ids are numbers")
        if allowed is not None and not set(q.keys) <= set(allowed):
            raise ReportError(q.by, "not in your scope", 403)
        return list(q.keys)
    return None if allowed is None else sorted(allowed)


# --- the report -----------------------------------------------------------------------------------


async def build(
    s: AsyncSession, q: Query, zone: ZoneInfo, scope: Scope, open_rows: list[dict[str, Any]] | None = None,
    page: tuple[int, int] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The report: rows per (period, key), totals, per-period totals, formulas.
    `open_rows`: the live core's open interval (added when its day is in the
    range).  `page`: (offset, limit) -> only those rows (in report order);
    totals, `by_period` and `row_count` still cover every row.  No page: every
    row (the exports)."""
    q.check()
    keys = scoped_keys(q, scope)
    fields = QUEUE_FIELDS if q.by == "queue" else AGENT_SUMS
    if (await s.connection()).dialect.name == "postgresql":
        # asyncpg prepares and caches each statement; from the 6th run PostgreSQL may switch to a
        # generic plan, blind to the range and keys: the month's page pauses went from 8 ms to 160-330 ms.
        await s.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    stable = await _stable_teams(s, q, zone) if q.by == "team" and q.level != "interval" else None
    extra = _open_rows(q, open_rows or [], keys, zone)
    if q.by == "team" and extra:
        extra = await _teams_of(s, extra)
    named = await names(s, q.by)
    if page is not None and not extra:  # the page, the totals and the count from SQL
        from callcenter.reports import paged

        return await paged.build_page(s, q, zone, keys, stable, named, page)
    # Every row through Python: the exports, and a range holding today's
    # open interval (merged with the written rows of its period).
    raw = await _report_rows(s, q, keys, stable)
    pauses = await _pause_rows(s, q, keys, stable) if q.by != "queue" else []
    with _no_gc():  # no await inside: nothing else runs meanwhile
        return _assemble(q, zone, fields, raw, pauses, extra, named, page)


def labeler(q: Query, zone: ZoneInfo) -> Any:
    """when (an interval start, a day, or a week/month label from SQL) -> the period's label (memoised)."""
    labels: dict[Any, str] = {}

    def label_of(when: Any) -> str:
        label = labels.get(when)
        if label is None:
            if isinstance(when, str) and q.level in ("weekly", "monthly"):
                label = when
            elif q.level == "interval":
                label = period_label(q.level, None, _utc(when), zone)
            else:
                label = period_label(q.level, when if isinstance(when, date) else date.fromisoformat(str(when)), None, zone)
            labels[when] = label
        return label

    return label_of


@contextmanager
def _no_gc() -> Iterator[None]:
    """The collector paused while a report's rows are made: building 15,000
    rows of nested dicts set off collections that scanned them again and
    again (~40 % of a big report's CPU).  Only around code with no await."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _assemble(
    q: Query, zone: ZoneInfo, fields: tuple[str, ...], raw: list[Any], pauses: list[Any], extra: list[Any], named: dict[str, str],
    page: tuple[int, int] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The report from the fetched rows (pure Python, no I/O)."""
    # SQL grouped by (period, key): each pair is usually one row, merged
    # only with the open interval's; totals are column sums (C loops).
    acc: dict[tuple[str, str], Any] = {}
    pause_acc: dict[tuple[str, str], dict[str, float]] = {}
    total_pause: dict[str, float] = {}
    label_of = labeler(q, zone)
    order: dict[tuple[str, str], Any] = {}
    for when, _, key, sums in raw:
        k = (label_of(when), key)
        if k in acc:
            acc[k] = measures.add(dict(zip(fields, acc[k], strict=True)) if not isinstance(acc[k], dict) else acc[k], dict(zip(fields, sums, strict=True)), fields)
        else:
            acc[k] = sums
            order[k] = when
    for when, key, sums, _ in extra:
        k = (label_of(when), key)
        have = acc.get(k)
        if have is None:
            acc[k] = {f: float(sums.get(f) or 0) for f in fields}
            order[k] = when
        else:
            acc[k] = measures.add(dict(zip(fields, have, strict=True)) if not isinstance(have, dict) else have, sums, fields)
    tuples = [tuple(v[f] for f in fields) if isinstance(v, dict) else v for v in acc.values()]
    total = document.column_totals(fields, tuples)
    for when, key, reason, secs in pauses + [(w, k, r, x) for w, k, _, p in extra for r, x in p.items()]:
        d = pause_acc.setdefault((label_of(when), key), {})
        d[reason] = d.get(reason, 0.0) + secs
        total_pause[reason] = total_pause.get(reason, 0.0) + secs
    items = sorted(zip(acc, tuples), key=lambda kv: (_sort_key(order[kv[0]]) if q.level == "interval" else kv[0][0], kv[0][1]))
    per_period: dict[str, list[tuple[float, ...]]] = {}
    for (label, _), t in items:
        per_period.setdefault(label, []).append(t)
    by_period = [(label, document.column_totals(fields, ts)) for label, ts in per_period.items()]
    count = len(items)
    if page is not None:
        items = items[page[0] : page[0] + page[1]]
    return document.report_doc(q, zone, fields, [(k[0], k[1], t, pause_acc.get(k)) for k, t in items], total, total_pause, by_period, count, page, named, bool(extra))


def _open_rows(q: Query, rows: list[dict[str, Any]], keys: list[str] | None, zone: ZoneInfo) -> list[tuple[Any, str, dict[str, float], dict[str, float]]]:
    kind = "queue" if q.by == "queue" else "agent"
    out = []
    for r in rows:
        if r["kind"] != kind:
            continue
        day = date.fromisoformat(r["day"])
        if not q.start <= day <= q.end:
            continue
        if q.by != "team" and keys is not None and r["key"] not in keys:
            continue
        when: Any = datetime.fromtimestamp(r["interval_start"], UTC) if q.level == "interval" else day
        out.append((when, r["key"], r, r.get("pause_s") or {}))
    return out


async def _teams_of(s: AsyncSession, extra: list[tuple[Any, str, dict[str, float], dict[str, float]]]) -> list[Any]:
    """Open-interval agent rows re-keyed by the agent's current team."""
    m, u = TeamMember, User
    rows = await s.execute(select(u.interface, m.team_id).join(m, m.user_id == u.id).where(m.to_at.is_(None), u.interface.is_not(None)))
    team = {i: str(t) for i, t in rows}
    return [(w, team[k], v, p) for w, k, v, p in extra if k in team]


# --- SL dispersion, abandons ------------------------------------------------------------------------


async def dispersion(s: AsyncSession, month: date, day: date, queues: list[str] | None, zone: ZoneInfo) -> dict[str, Any]:
    """CV of 30-second SL across the month's days and across one day's intervals."""
    t = QueueFact.__table__
    first = month.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    cond = [t.c.day >= first, t.c.day <= last]
    if queues is not None:
        cond.append(t.c.queue.in_(queues))
    dt = QueueDay.__table__  # the day rows: 48 times fewer than the intervals
    dcond = [dt.c.day >= first, dt.c.day <= last] + ([dt.c.queue.in_(queues)] if queues is not None else [])
    daily = await s.execute(select(dt.c.day, func.sum(dt.c.sl30_met), func.sum(dt.c.sl30_counted)).where(*dcond).group_by(dt.c.day).order_by(dt.c.day))
    by_day = measures.dispersion((d.isoformat(), float(m or 0), float(c or 0)) for d, m, c in daily)
    cond = [t.c.day == day] + ([t.c.queue.in_(queues)] if queues is not None else [])
    stmt = select(t.c.interval_start, func.sum(t.c.sl30_met), func.sum(t.c.sl30_counted)).where(*cond)
    intervals = await s.execute(stmt.group_by(t.c.interval_start).order_by(t.c.interval_start))
    by_interval = measures.dispersion((period_label("interval", None, _utc(w), zone), float(m or 0), float(c or 0)) for w, m, c in intervals)
    return {"month": first.isoformat()[:7], "day": day.isoformat(), "across_days": by_day, "across_intervals": by_interval}


async def abandons(s: AsyncSession, start: date, end: date, queues: list[str] | None, zone: ZoneInfo) -> dict[str, Any]:
    """Abandons by wait bucket and by local hour, from the interval rows."""
    t = QueueFact.__table__
    cols = [func.sum(t.c[f"abandoned_{b}"]).label(b) for b in BUCKETS]
    cond = [t.c.day >= start, t.c.day <= end] + ([t.c.queue.in_(queues)] if queues is not None else [])
    stmt = select(
        t.c.interval_start, *cols, func.sum(t.c.abandoned), func.sum(t.c.short_abandoned), func.sum(t.c.offered)
    ).where(*cond).group_by(t.c.interval_start)
    by_bucket = dict.fromkeys(BUCKETS, 0)
    by_hour = {h: {"abandoned": 0, "short_abandoned": 0, "offered": 0} for h in range(24)}
    for row in await s.execute(stmt):
        hour = _utc(row[0]).astimezone(zone).hour
        for i, b in enumerate(BUCKETS):
            by_bucket[b] += int(row[1 + i] or 0)
        h = by_hour[hour]
        h["abandoned"] += int(row[-3] or 0)
        h["short_abandoned"] += int(row[-2] or 0)
        h["offered"] += int(row[-1] or 0)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "by_wait": by_bucket,
        "by_hour": [{"hour": h, **v} for h, v in by_hour.items()],
        "formula": measures.QUEUE_FORMULAS["abandoned_by_wait"] + "; hours in the centre's time zone",
    }


async def unreturned_abandons(s: AsyncSession, day: date, queues: list[str] | None, zone: ZoneInfo) -> dict[str, Any]:
    """日结日清: the day's abandoned callers (short abandons left out) who
    have not since been answered on a call of their own, nor reached by an
    answered outbound call.  A list of callers, so it reads the day's call
    records (not a measure: the interval rows cannot say who)."""
    lo = datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)
    hi = lo + timedelta(days=1)
    c = CallRecord
    cond = [c.entered_at >= lo, c.entered_at < hi, c.outcome == Outcome.abandoned, c.short_abandon.is_(False), c.caller_number != ""]
    if queues is not None:
        cond.append(c.queue.in_(queues))
    abandoned = (await s.execute(select(c.caller_number, c.queue, c.entered_at, c.wait_s, c.call_id).where(*cond).order_by(c.entered_at))).all()
    if not abandoned:
        return {"day": day.isoformat(), "callers": [], "rule": UNRETURNED_RULE}
    numbers = list({a.caller_number for a in abandoned})
    reached: dict[str, datetime] = {}
    answered_in = select(c.caller_number.label("n"), func.max(c.answered_at).label("t")).where(
        c.caller_number.in_(numbers), c.answered_at.is_not(None), c.entered_at >= lo, c.kind != CallKind.outbound
    ).group_by(c.caller_number)
    called_back = select(c.callee_number.label("n"), func.max(c.answered_at).label("t")).where(
        c.callee_number.in_(numbers), c.answered_at.is_not(None), c.entered_at >= lo, c.kind == CallKind.outbound
    ).group_by(c.callee_number)
    for stmt in (answered_in, called_back):
        for n, t in await s.execute(stmt):
            if t is not None:
                reached[n] = max(reached.get(n, _utc(t)), _utc(t))
    last: dict[str, Any] = {}
    for a in abandoned:
        last[a.caller_number] = a  # the caller's last abandon of the day
    callers = []
    for n, a in last.items():
        at = _utc(a.entered_at)
        if n in reached and reached[n] > at:
            continue
        count = sum(1 for x in abandoned if x.caller_number == n)
        callers.append({"number": n, "queue": a.queue, "last_abandoned_at": at.astimezone(zone).isoformat(timespec="seconds"),
                        "wait_s": round(a.wait_s, 1), "abandons": count, "call_id": a.call_id})  # fmt: skip
    return {"day": day.isoformat(), "callers": callers, "rule": UNRETURNED_RULE}


UNRETURNED_RULE = (
    "abandoned (not a short abandon) on this day, with no later answered call from the number and no later answered "
    "outbound call to it"
)



# --- scorecard ---------------------------------------------------------------------------------------


def month_bounds(month: str) -> tuple[date, date]:
    try:
        first = date.fromisoformat(month + "-01")
    except ValueError:
        raise ReportError("month", "YYYY-MM") from None
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last


async def month_measures(s: AsyncSession, month: str, zone: ZoneInfo) -> dict[str, float | None]:
    """The measures a scorecard can take, for the whole centre and month."""
    first, last = month_bounds(month)
    # Centre-wide totals straight from the day rows (no per-queue or per-agent report to build).
    qt, at = QueueDay.__table__, AgentDay.__table__
    qrow = (await s.execute(select(*_sums(qt, QUEUE_FIELDS)).where(qt.c.day >= first, qt.c.day <= last))).one()
    arow = (await s.execute(select(*_sums(at, AGENT_SUMS)).where(at.c.day >= first, at.c.day <= last))).one()
    q = {"totals": measures.queue_figures(dict(zip(QUEUE_FIELDS, _floats(QUEUE_FIELDS, tuple(qrow)), strict=True)))}
    a = {"totals": measures.agent_figures(dict(zip(AGENT_SUMS, _floats(AGENT_SUMS, tuple(arow)), strict=True)))}
    values: dict[str, float | None] = {k: q["totals"].get(k) for k in ("service_level_30", "service_level", "answer_rate", "abandon_rate", "asa_s", "aht_s", "transfer_rate")}
    values["occupancy"] = a["totals"].get("occupancy")
    values["utilisation"] = a["totals"].get("utilisation")
    d = await dispersion(s, first, first, None, zone)
    values["sl_cv_days"] = d["across_days"]["cv"]
    # The month's interval dispersion: the mean of each day's CV across its intervals.
    t = QueueFact.__table__
    rows = await s.execute(
        select(t.c.day, t.c.interval_start, func.sum(t.c.sl30_met), func.sum(t.c.sl30_counted))
        .where(t.c.day >= first, t.c.day <= last)
        .group_by(t.c.day, t.c.interval_start)
    )
    per_day: dict[date, list[tuple[str, float, float]]] = {}
    for day, when, met, counted in rows:
        per_day.setdefault(day, []).append((str(when), float(met or 0), float(counted or 0)))
    cvs = [c for c in (measures.dispersion(v)["cv"] for v in per_day.values()) if c is not None]
    values["sl_cv_intervals"] = round(sum(cvs) / len(cvs), 4) if cvs else None
    return values


# --- staffing -----------------------------------------------------------------------------------------


def slot_of(start: datetime, zone: ZoneInfo) -> tuple[date, int]:
    """(the Monday of its local week, slot in the week) for an interval start."""
    local = _utc(start).astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    return monday, local.weekday() * 48 + local.hour * 2 + local.minute // 30


async def queue_history(s: AsyncSession, queue: str, since: date, until: date, zone: ZoneInfo) -> dict[date, dict[int, Any]]:
    from callcenter.reports.forecast import Slot

    t = QueueFact.__table__
    stmt = select(t.c.interval_start, t.c.offered, t.c.handled, t.c.talk_s + t.c.hold_s + t.c.wrap_s).where(
        t.c.queue == queue, t.c.day >= since, t.c.day <= until
    )
    out: dict[date, dict[int, Any]] = {}
    for when, offered, handled, handle in await s.execute(stmt):
        monday, slot = slot_of(when, zone)
        cells = out.setdefault(monday, {})
        old = cells.get(slot, Slot())
        cells[slot] = Slot(old.offered + offered, old.handled + handled, old.handle_s + float(handle or 0))
    return out


async def logged_in_by_slot(s: AsyncSession, interfaces: list[str], monday: date, zone: ZoneInfo) -> dict[int, float]:
    """Average agents logged in per slot of the week starting `monday` (Σ logged-in time / 1800 s)."""
    if not interfaces:
        return {}
    t = AgentFact.__table__
    stmt = (
        select(t.c.interval_start, func.sum(t.c.logged_in_s))
        .where(t.c.interface.in_(interfaces), t.c.day >= monday - timedelta(days=1), t.c.day <= monday + timedelta(days=7))
        .group_by(t.c.interval_start)
    )
    out: dict[int, float] = {}
    for when, secs in await s.execute(stmt):
        m, slot = slot_of(when, zone)
        if m == monday:
            out[slot] = out.get(slot, 0.0) + float(secs or 0) / 1800
    return out


async def staffing(
    s: AsyncSession, queue: str, monday: date, zone: ZoneInfo, weeks: int = 4, held_back: int = 2, target_sl: float = 0.8
) -> dict[str, Any]:
    """Next week's offered calls, AHT and agents needed per interval, the
    method's error on held-back weeks, and the agents logged in on the
    same intervals of the last week (the queue's skilled agents)."""
    from callcenter.reports import forecast

    if monday.weekday() != 0:
        raise ReportError("week", "a Monday (the first day of the week)")
    q = await s.get(Queue, queue)
    if q is None:
        raise ReportError("queue", "no such queue", 404)
    since = monday - timedelta(days=7 * (weeks + held_back))
    hist = await queue_history(s, queue, since - timedelta(days=1), monday - timedelta(days=1), zone)
    index = {m: (m - since).days // 7 for m in hist if m >= since}
    history = {index[m]: cells for m, cells in hist.items() if m in index}
    target_week = weeks + held_back
    f = forecast.forecast_week(history, target_week, weeks)
    err = forecast.error(history, target_week - 1, weeks, held_back)
    from callcenter.auth.models import Skill

    skilled = [i for (i,) in await s.execute(select(User.interface).join(Skill, Skill.user_id == User.id).where(Skill.queue == queue, User.interface.is_not(None)))]
    last_week = await logged_in_by_slot(s, skilled, monday - timedelta(days=7), zone)
    intervals = []
    for slot in range(forecast.SLOTS):
        offered, aht = f.get(slot, (0.0, None))
        start = datetime.combine(monday + timedelta(days=slot // 48), datetime.min.time(), zone) + timedelta(minutes=30 * (slot % 48))
        intervals.append({
            "slot": slot,
            "start": start.isoformat(timespec="minutes"),
            "offered": round(offered, 2),
            "aht_s": None if aht is None else round(aht, 1),
            "agents_needed": forecast.agents_needed(offered, aht, target_sl, float(q.sl_threshold_s)),
            "logged_in_last_week": round(last_week.get(slot, 0.0), 2),
        })  # fmt: skip
    return {
        "queue": queue,
        "week": monday.isoformat(),
        "weeks_of_history": len([w for w in history if target_week - weeks <= w < target_week]),
        "target_sl": target_sl,
        "threshold_s": q.sl_threshold_s,
        "method": forecast.METHOD,
        "error": err,
        "intervals": intervals,
    }


async def seed_example(session: AsyncSession) -> int:
    """The seeds' example card (scorecard.EXAMPLE) when no card is defined yet."""
    if (await session.execute(select(Indicator.id).limit(1))).first() is not None:
        return 0
    for n, i in enumerate(scorecard.EXAMPLE):
        session.add(Indicator(code=i.code, name=i.name, name_en=i.name_en, source=i.source, weight=i.weight, excellent=i.excellent,
                              target=i.target, warning=i.warning, higher_is_better=i.higher_is_better, owner=i.owner, position=n))  # fmt: skip
    return len(scorecard.EXAMPLE)

