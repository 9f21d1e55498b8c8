"""One page of a report straight from SQL (issue 15: p95 ≤ 300 ms).

A month by agent and day is 15,000 rows; building and sending every one
cost ~24 µs of Python and ~420 bytes of JSON each.  The report browser shows
a page, so SQL answers: the page's rows (ORDER BY period, key; LIMIT/OFFSET),
the number of rows, the totals over every row and each period's totals (one
aggregate each, no row through Python).  The exports still take every row
(service.build with no page).

The order is the full report's: periods in time order, then keys as text
in code-point order (COLLATE "C" on PostgreSQL, SQLite's BINARY), team ids
as text like the Python sort.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.reports import document, service
from callcenter.reports.service import Query, _fetch, _floats, _pause_parts, _row_parts, _sums

MAX_LIMIT = 5000
DEFAULT_LIMIT = 500


async def build_page(
    s: AsyncSession, q: Query, zone: ZoneInfo, keys: list[str] | None, stable: tuple[datetime, datetime] | None,
    named: dict[str, str], page: tuple[int, int],
) -> dict[str, Any]:  # fmt: skip
    offset, limit = page
    t, when, key, fields, conds = _row_parts(q, keys, stable)
    postgres = (await s.connection()).dialect.name == "postgresql"
    text_key = cast(key, String) if q.by == "team" else key
    order_key = text_key.collate("C") if postgres else text_key
    sums = _sums(t, fields)
    grouped = select(when.label("when"), key.label("key"), *sums).select_from(t).where(*conds).group_by(when, key)
    label_of = service.labeler(q, zone)
    periods = await _fetch(s, select(when.label("when"), *sums).select_from(t).where(*conds).group_by(when).order_by(when))
    period_sums = [_floats(fields, tuple(r[1:])) for r in periods]
    by_period = [(label_of(r[0]), dict(zip(fields, v, strict=True))) for r, v in zip(periods, period_sums, strict=True)]
    total = document.column_totals(fields, period_sums)  # the sum of the periods' SQL sums (max for the longest wait)
    raw = await _fetch(s, grouped.order_by(when, order_key).offset(offset).limit(limit + 1))
    if len(raw) <= limit and (raw or offset == 0):  # the page holds the last row: no count needed
        count = offset + len(raw)
    else:
        count = (await s.execute(select(func.count()).select_from(grouped.subquery()))).scalar_one()
        raw = raw[:limit]
    rows = [(r[0], str(r[1]), _floats(fields, tuple(r[2:]))) for r in raw]
    pauses: dict[tuple[str, str], dict[str, float]] = {}
    total_pause: dict[str, float] = {}
    if q.by != "queue":
        pt, source, pwhen, pkey, pconds = _pause_parts(q, keys, stable)
        secs = func.sum(pt.c.seconds)
        for reason, v in await _fetch(s, select(pt.c.reason, secs).select_from(source).where(*pconds).group_by(pt.c.reason)):
            total_pause[reason] = float(v or 0)
        if rows:
            stmt = select(pwhen.label("when"), pkey.label("key"), pt.c.reason, secs).select_from(source).where(*pconds)
            if q.by == "agent":  # the page's agents and periods; teams are few (periods x teams x reasons), and
                # PostgreSQL chose a slow plan for these filters over the membership join (290 ms for a month)
                days = [d for w, _, _ in rows for d in _days(q, zone, w)]
                stmt = stmt.where(pkey.in_(list({k for _, k, _ in rows})), pt.c.day >= min(days), pt.c.day <= max(days))
            wanted = {(label_of(w), k) for w, k, _ in rows}
            for w, k, reason, v in await _fetch(s, stmt.group_by(pwhen, pkey, pt.c.reason)):
                kk = (label_of(w), str(k))
                if kk in wanted:
                    d = pauses.setdefault(kk, {})
                    d[reason] = d.get(reason, 0.0) + float(v or 0)
    out = [(label_of(w), k, sums_, pauses.get((label_of(w), k))) for w, k, sums_ in rows]
    return document.report_doc(q, zone, fields, out, total, total_pause, by_period, count, page, named, False)


def _days(q: Query, zone: ZoneInfo, when: Any) -> tuple[date, date]:
    """The first and last local day of a page row's period."""
    if q.level == "interval":
        d = service._utc(when).astimezone(zone).date()
        return d, d
    if q.level == "daily":
        d = when if isinstance(when, date) else date.fromisoformat(str(when))
        return d, d
    spans = {label: (a, b) for label, a, b in service._periods(q)}
    return spans.get(str(when), (q.start, q.end))
