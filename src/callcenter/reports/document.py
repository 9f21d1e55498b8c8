"""A report's JSON document from its rows' sums (shared by the full build
in service.py and the SQL page in paged.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from callcenter.reports import measures

if TYPE_CHECKING:
    from callcenter.reports.service import Query


def column_totals(fields: tuple[str, ...], tuples: list[tuple[float, ...]]) -> dict[str, float]:
    """Field -> the sum of the column (max_wait_s: the maximum)."""
    columns = list(zip(*tuples)) if tuples else [() for _ in fields]
    return {f: float(max(col, default=0) if f == "max_wait_s" else sum(col)) for f, col in zip(fields, columns, strict=True)}


def report_doc(
    q: Query, zone: ZoneInfo, fields: tuple[str, ...], rows: list[tuple[str, str, tuple[float, ...], dict[str, float] | None]],
    total: dict[str, float], total_pause: dict[str, float], by_period: list[tuple[str, dict[str, float]]], count: int,
    page: tuple[int, int] | None, named: dict[str, str], open_interval: bool,
) -> dict[str, Any]:  # fmt: skip
    """The report's JSON document from (period label, key, sums, pauses) rows and the sums over all rows."""
    by_queue = q.by == "queue"
    figures = measures.queue_figures if by_queue else measures.agent_figures
    out = []
    for label, key, t, pause in rows:
        c = dict(zip(fields, t, strict=True))
        out.append({"period": label, "key": key, "name": named.get(key, key), "figures": figures(c) if by_queue else figures(c, pause)})
    return {
        "level": q.level,
        "by": q.by,
        "from": q.start.isoformat(),
        "to": q.end.isoformat(),
        "zone": zone.key,
        "row_count": count,
        "offset": page[0] if page else 0,
        "limit": page[1] if page else None,
        "rows": out,
        "totals": figures(total) if by_queue else figures(total, total_pause),
        "by_period": [{"period": label, "figures": figures(c)} for label, c in by_period],
        "formulas": measures.QUEUE_FORMULAS if by_queue else measures.AGENT_FORMULAS,
        "notes": [measures.ATTRIBUTION] + (["includes the current interval up to now (not yet written)"] if open_interval else []),
    }
