"""A report as CSV (UTF-8 with BOM, so Excel opens Chinese text right) or
XLSX (XlsxWriter in constant-memory mode: a month by agent and day writes
in well under the 5 s budget).  The XLSX has a second sheet with each
measure's formula and the report's notes."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from typing import Any

import xlsxwriter

from callcenter.reports.intervals import BUCKETS


def columns(report: dict[str, Any]) -> list[str]:
    """Flat column names: nested figures become parent.child."""
    cols: list[str] = []
    seen: set[str] = set()
    reasons: set[str] = set()
    for row in report["rows"] + [{"figures": report["totals"]}]:
        for k, v in row["figures"].items():
            if isinstance(v, dict):
                if k == "pause_s":
                    reasons |= set(v)
                elif k not in seen:
                    seen.add(k)
                    cols += [f"{k}.{b}" for b in (BUCKETS if k == "abandoned_by_wait" else v)]
            elif k not in seen:
                seen.add(k)
                cols.append(k)
    return cols + [f"pause_s.{r}" for r in sorted(reasons)]


def _cell(figures: dict[str, Any], col: str) -> Any:
    if "." in col:
        parent, child = col.split(".", 1)
        return (figures.get(parent) or {}).get(child, 0)
    return figures.get(col)


def table(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    cols = columns(report)
    head = ["period", "key", "name", *cols]
    body = [[r["period"], r["key"], r["name"], *(_cell(r["figures"], c) for c in cols)] for r in report["rows"]]
    body.append(["total", "", "", *(_cell(report["totals"], c) for c in cols)])
    return head, body


def to_csv(report: dict[str, Any]) -> bytes:
    head, body = table(report)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(head)
    w.writerows(["" if v is None else v for v in row] for row in body)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(report: dict[str, Any]) -> bytes:
    """XlsxWriter in constant-memory mode (each row streamed to a temporary
    file as it is finished; `in_memory` would turn that mode off), cells
    written by type with no per-cell dispatch."""
    head, body = table(report)
    with tempfile.TemporaryDirectory(prefix="cc-xlsx-") as tmp:
        path = os.path.join(tmp, "report.xlsx")
        wb = xlsxwriter.Workbook(path, {"constant_memory": True, "tmpdir": tmp})
        _fill(wb, report, head, body)
        wb.close()
        with open(path, "rb") as f:
            return f.read()


def _fill(wb: Any, report: dict[str, Any], head: list[str], body: list[list[Any]]) -> None:
    bold = wb.add_format({"bold": True})
    ws = wb.add_worksheet("report")
    ws.write_row(0, 0, head, bold)
    number, string = ws.write_number, ws.write_string
    for n, row in enumerate(body, 1):
        for c, v in enumerate(row):
            if v is None:
                continue
            if v.__class__ is str:
                string(n, c, v)
            else:
                number(n, c, v)
    ws.freeze_panes(1, 3)
    fs = wb.add_worksheet("formulas")
    fs.write_row(0, 0, ["measure", "formula"], bold)
    n = 0
    for n, (k, f) in enumerate(report["formulas"].items(), 1):
        fs.write_row(n, 0, [k, f])
    for m, note in enumerate(report["notes"], n + 2):
        fs.write_row(m, 0, ["note", note])
    fs.write_row(n + 2 + len(report["notes"]), 0, ["period", f"{report['level']} {report['from']} – {report['to']} ({report['zone']})"])

