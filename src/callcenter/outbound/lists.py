"""Campaign list and arrears-file import: CSV (UTF-8, GB18030, Big5: the
decoding of crm.imports) or XLSX, read into rows, each bad row reported as
(line, field, reason).  Duplicates within the file and numbers already on
another active campaign's list are bad rows too.  All-or-nothing
(`strict`) or row by row; the report is kept for download as CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.crm.imports import decode
from callcenter.crm.service import normalise_number
from callcenter.privacy import mask_phone

XLSX_MAGIC = b"PK\x03\x04"
MAX_ROWS = 200_000

LIST_HEADERS = {
    "number": "number", "phone": "number", "phones": "number", "电话": "number", "手机": "number", "联系电话": "number",
    "電話": "number", "聯繫電話": "number", "號碼": "number", "号码": "number",
    "name": "name", "姓名": "name", "客户名称": "name", "客戶名稱": "name",
    "timezone": "timezone", "时区": "timezone", "時區": "timezone",
    "unit": "unit", "房号": "unit", "房號": "unit",
    "amount": "amount", "金额": "amount", "金額": "amount", "欠费": "amount", "欠費": "amount",
    "period": "period", "月份": "period", "账期": "period", "賬期": "period",
    "due_on": "due_on", "到期日": "due_on", "应缴日期": "due_on",
    "note": "note", "备注": "note", "備註": "note",
}  # fmt: skip


def read_rows(data: bytes, required: str = "number") -> tuple[list[tuple[int, dict[str, str]]], str]:
    """([(line, {field: value})], encoding) from CSV or XLSX bytes; unknown
    columns are kept under their own header (they go on the card).
    ValueError: the file cannot be read at all."""
    if data.startswith(XLSX_MAGIC):
        return _xlsx(data, required), "xlsx"
    text, encoding = decode(data)
    reader = csv.reader(io.StringIO(text))
    return _mapped(reader, required), encoding


def _xlsx(data: bytes, required: str) -> list[tuple[int, dict[str, str]]]:
    import openpyxl  # only for XLSX uploads

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad file
        raise ValueError(f"not a readable XLSX workbook ({type(exc).__name__})") from None
    sheet = book.worksheets[0]
    rows = ([("" if v is None else _cell(v)) for v in row] for row in sheet.iter_rows(values_only=True))
    try:
        return _mapped(rows, required)
    finally:
        book.close()


def _cell(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # a phone number typed as a number
    if hasattr(v, "date") and callable(v.date):
        return v.date().isoformat()  # type: ignore[union-attr]
    return str(v)


def _mapped(rows: Iterable[list[str]], required: str) -> list[tuple[int, dict[str, str]]]:
    it = iter(rows)
    header = next(it, None)
    if not header:
        raise ValueError("the file is empty (no header row)")
    keys = [LIST_HEADERS.get(h.strip().lower(), LIST_HEADERS.get(h.strip(), h.strip())) for h in header]
    if required not in keys:
        raise ValueError(f"no {required} column" + (" (number, phone, 电话 ...)" if required == "number" else ""))
    out = []
    for line, row in enumerate(it, start=2):
        if not any(str(c).strip() for c in row):
            continue
        if len(out) >= MAX_ROWS:
            raise ValueError(f"more than {MAX_ROWS} rows")
        out.append((line, {k: str(v).strip() for k, v in zip(keys, row, strict=False) if k}))
    return out


Error = tuple[int, str, str]  # line, field, reason


def validate_list(
    rows: list[tuple[int, dict[str, str]]], area: str, default_tz: str, elsewhere: dict[str, str], already: set[str]
) -> tuple[list[dict[str, Any]], list[Error]]:
    """Rows for campaign_contacts, and the bad ones.  `elsewhere` maps a
    number to the other active campaign it is on; `already` the numbers
    this campaign's list has."""
    good: list[dict[str, Any]] = []
    errors: list[Error] = []
    seen: dict[str, int] = {}
    for line, v in rows:
        raw = v.get("number", "")
        number = normalise_number(raw, area)
        if not number or not 5 <= len(number) <= 20:
            errors.append((line, "number", f"{raw!r} is not a phone number"))
            continue
        if number in seen:
            errors.append((line, "number", f"duplicate of line {seen[number]}"))
            continue
        seen[number] = line
        if number in already:
            errors.append((line, "number", "already on this campaign's list"))
            continue
        if number in elsewhere:
            errors.append((line, "number", f"already on active campaign {elsewhere[number]!r}"))
            continue
        tz = v.get("timezone", "")
        if tz:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                errors.append((line, "timezone", f"{tz!r} is not an IANA time zone"))
                continue
        name = v.get("name", "")[:128]
        data = {k: val[:255] for k, val in v.items() if k not in ("number", "name", "timezone") and val}
        good.append({"number": number, "name": name, "timezone": tz if tz and tz != default_tz else "", "data": data})
    return good, errors


def validate_arrears(rows: list[tuple[int, dict[str, str]]], area: str) -> tuple[list[dict[str, Any]], list[Error]]:
    """The billing system's arrears file: unit, amount, period (YYYY-MM), due_on; name and number optional."""
    good: list[dict[str, Any]] = []
    errors: list[Error] = []
    seen: dict[tuple[str, str], int] = {}
    for line, v in rows:
        unit = v.get("unit", "")
        if not unit or len(unit) > 64:
            errors.append((line, "unit", "empty or longer than 64 characters"))
            continue
        try:
            amount = float(v.get("amount", "").replace(",", ""))
            if not 0 < amount < 1e9:
                raise ValueError
        except ValueError:
            errors.append((line, "amount", f"{v.get('amount', '')!r} is not a positive amount"))
            continue
        period = v.get("period", "")
        try:
            date.fromisoformat(period + "-01")
            if len(period) != 7:
                raise ValueError
        except ValueError:
            errors.append((line, "period", f"{period!r} is not YYYY-MM"))
            continue
        try:
            due = date.fromisoformat(v.get("due_on", "")[:10])
        except ValueError:
            errors.append((line, "due_on", f"{v.get('due_on', '')!r} is not a date (YYYY-MM-DD)"))
            continue
        if (unit, period) in seen:
            errors.append((line, "unit", f"duplicate of line {seen[(unit, period)]} for {period}"))
            continue
        seen[(unit, period)] = line
        raw = v.get("number", "")
        good.append({"unit": unit, "name": v.get("name", "")[:128], "number": normalise_number(raw, area) if raw else "",
                     "amount": amount, "period": period, "due_on": due})  # fmt: skip
    return good, errors


def error_report(errors: list[Any]) -> str:
    """The downloadable report: CSV with a BOM so Excel shows Chinese."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf)
    w.writerow(["line", "field", "reason"])
    for line, field, reason in errors:
        w.writerow([line, field, reason])
    return buf.getvalue()


def export_contacts(rows: list[Any], full: bool) -> bytes:
    """A campaign's list with its results, UTF-8 with BOM (Excel)."""
    keys = sorted({k for r in rows for k in (r.data or {})})
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["number", "name", "status", "attempts", "last_result", "next_at", *keys])
    for r in rows:
        w.writerow([r.number if full else mask_phone(r.number), r.name, r.status.value, r.attempts, r.last_result,
                    r.next_at.isoformat() if r.next_at else "", *[(r.data or {}).get(k, "") for k in keys]])  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode("utf-8")
