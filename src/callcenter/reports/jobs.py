"""Report exports in the worker process (callcenter/worker.py): a month by
agent and day is 15,000 rows and XlsxWriter spends seconds of Python time
on it, which must not hold the event loop."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from callcenter.auth.scope import Scope
from callcenter.db import Database
from callcenter.reports import export, service


async def export_report(db: Database, q: service.Query, zone: str, scope: Scope, open_rows: list[dict[str, Any]] | None, fmt: str) -> tuple[bytes, int]:
    """(file bytes, rows) of one report as CSV or XLSX."""
    async with db.sessions() as s:
        doc = await service.build(s, q, ZoneInfo(zone), scope, open_rows)
    data = export.to_xlsx(doc) if fmt == "xlsx" else export.to_csv(doc)
    return data, len(doc["rows"])
