"""CSV import of customers (API upload and `callcenter customers import`).

Files come from Excel as often as from scripts, so UTF-8 (with or without
BOM) and GBK/GB18030 are both read.  Every bad row is reported with its
line number and the reason; the valid rows go in with bulk inserts inside
the caller's single transaction, so an import is all-or-nothing on a crash
and, with `strict`, all-or-nothing on any bad row.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import charset_normalizer
from sqlalchemy import insert, select
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.models import TIER_LABELS, Customer, CustomerPhone, Grade, Tier
from callcenter.crm.service import next_follow_up, normalise_number
from callcenter.auth.service import Principal, audit
from callcenter.db import Database, allocate_ids

# Accepted column headers (English or Chinese) -> field.
HEADERS = {
    "name": "name", "姓名": "name", "客户名称": "name", "名称": "name",
    "phones": "phones", "phone": "phones", "电话": "phones", "手机": "phones", "联系电话": "phones",
    "unit": "unit", "房号": "unit", "单元": "unit",
    "address": "address", "地址": "address",
    "grade": "grade", "等级": "grade", "客户等级": "grade",
    "tier": "tier", "客户类型": "tier", "类别": "tier", "vip": "tier",
    "account_manager": "account_manager", "客户经理": "account_manager", "大客户专员": "account_manager",
    "language": "language", "语言": "language",
    "notes": "notes", "备注": "notes",
    "tags": "tags", "标签": "tags",
}  # fmt: skip
# The same headers in traditional characters (Big5 files from Hong Kong or Taiwan).
HEADERS |= {
    "電話": "phones", "聯繫電話": "phones", "聯絡電話": "phones", "客戶名稱": "name", "名稱": "name",
    "房號": "unit", "單元": "unit", "地址": "address", "等級": "grade", "客戶等級": "grade",
    "客戶類型": "tier", "類別": "tier", "客戶經理": "account_manager", "大客戶專員": "account_manager",
    "語言": "language", "備註": "notes", "標籤": "tags",
}  # fmt: skip

TIERS = {t.value: t for t in Tier} | {label: t for t, label in TIER_LABELS.items()} | {
    "大客户(vip客户)": Tier.vip, "vip客户": Tier.vip, "主要客户": Tier.key, "普通客户": Tier.regular,
    "一般客户": Tier.general, "潜在大客户": Tier.potential, "潜在客户": Tier.potential,
}  # fmt: skip

# Numbers in one cell are separated by ; , / 、 or full-width ；，— never by
# spaces, which are part of "010-6552 1234".
_PHONE_SPLIT = re.compile(r"[;,/、；，|]+")
_TAG_SPLIT = re.compile(r"[;,、；，|]+")
_CHUNK = 2000
_LANGUAGE = re.compile(r"[a-z]{2,3}([_-][A-Za-z]{2,4})?")
GRADES = {g.value: g for g in Grade}


@dataclass
class ImportReport:
    encoding: str
    rows: int = 0
    imported: int = 0
    applied: bool = False
    strict: bool = False
    errors: list[tuple[int, str]] = field(default_factory=list)


# Legacy Chinese encodings we tell apart: GB18030 (the superset of GBK and
# GB2312 that mainland Excel writes) and Big5 (Hong Kong, Taiwan).
LEGACY = ("gb18030", "big5")


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding).  A BOM decides; then UTF-8 if the bytes are valid
    UTF-8; else charset-normalizer (a maintained detector) ranks GB18030
    against Big5 by how much mess each decoding makes.  Many short GBK
    files are valid Big5 too, and the detector may score both clean: a tie
    goes to GB18030, what mainland centres' files are.  NUL bytes are
    refused (a binary file, or UTF-16 without a BOM)."""
    if data.startswith(codecs.BOM_UTF8):
        text, encoding = data.decode("utf-8-sig", errors="strict"), "utf-8"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, encoding = data.decode("utf-16"), "utf-16"
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            encoding = _legacy(data)
            text = data.decode(encoding)
    if "\x00" in text:
        raise ValueError("the file contains NUL bytes; is it a CSV file? (save it as CSV UTF-8 or GBK)")
    return text, encoding


def _legacy(data: bytes) -> str:
    valid = []
    for enc in LEGACY:
        try:
            data.decode(enc)
            valid.append(enc)
        except UnicodeDecodeError:
            pass
    if not valid:
        raise ValueError("file is neither UTF-8, GB18030/GBK nor Big5; save it as CSV UTF-8")
    if len(valid) == 1:
        return valid[0]
    ranked = {m.encoding: m.chaos for m in charset_normalizer.from_bytes(data, cp_isolation=list(LEGACY))}
    if not ranked:
        return "gb18030"
    gb, big5 = ranked.get("gb18030"), ranked.get("big5")
    if gb is None:
        return "big5"
    if big5 is not None and big5 + 0.01 < gb:
        return "big5"
    return "gb18030"


def _row(values: dict[str, str], area: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """One CSV row -> (customer columns, [(number, raw)]); ValueError says why not."""
    name = values.get("name", "").strip()
    if not name:
        raise ValueError("name is empty")
    if len(name) > 128:
        raise ValueError("name is longer than 128 characters")
    phones: list[tuple[str, str]] = []
    for raw in _PHONE_SPLIT.split(values.get("phones", "")):
        raw = raw.strip()
        if not raw:
            continue
        n = normalise_number(raw, area)
        if not n or len(n) < 5 or len(n) > 20:
            raise ValueError(f"phone {raw!r} is not a phone number")
        if all(n != p for p, _ in phones):
            phones.append((n, raw[:64]))
    if not phones:
        raise ValueError("no phone number")
    grade_s = values.get("grade", "").strip().upper() or "C"
    grade = GRADES.get(grade_s)
    if grade is None:
        raise ValueError(f"grade {grade_s!r} is not one of A-E")
    tier_s = values.get("tier", "").strip().lower() or "regular"
    tier = TIERS.get(tier_s)
    if tier is None:
        raise ValueError(f"tier {tier_s!r} is not one of {', '.join(TIER_LABELS.values())} (or {', '.join(Tier)})")
    unit = values.get("unit", "").strip()
    if len(unit) > 64:
        raise ValueError("unit is longer than 64 characters")
    language = values.get("language", "").strip() or "zh"
    if not _LANGUAGE.fullmatch(language):
        raise ValueError(f"language {language!r} is not a language code such as zh or en")
    tags = [t.strip()[:32] for t in _TAG_SPLIT.split(values.get("tags", "")) if t.strip()]
    return (
        {
            "name": name,
            "unit": unit,
            "address": values.get("address", "").strip()[:255],
            "grade": grade,
            "tier": tier,
            "account_manager": values.get("account_manager", "").strip()[:128],
            "language": language,
            "notes": values.get("notes", "").strip(),
            "tags": list(dict.fromkeys(tags))[:20],
        },
        phones,
    )


def parse(text: str, area: str) -> tuple[list[tuple[int, dict[str, Any], list[tuple[str, str]]]], list[tuple[int, str]], int]:
    """(valid rows with their line numbers, errors, data rows read)."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return [], [(1, "the file is empty")], 0
    except csv.Error as exc:
        return [], [(1, f"not a CSV header: {exc}")], 0
    columns = [HEADERS.get(h.strip().lower()) for h in header]
    missing = {"name", "phones"} - set(columns)
    if missing:
        return [], [(1, f"header has no {' or '.join(sorted(missing))} column (got: {', '.join(header)})")], 0
    good: list[tuple[int, dict[str, Any], list[tuple[str, str]]]] = []
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    rows = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a cell over csv's field limit (131,072 characters)
            errors.append((reader.line_num, f"unreadable CSV from here on: {exc}"))
            break
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        rows += 1
        if len(cells) > len(columns):
            errors.append((line, f"{len(cells)} cells but the header has {len(columns)}"))
            continue
        values = {col: cell for col, cell in zip(columns, cells) if col}
        try:
            data, phones = _row(values, area)
        except ValueError as exc:
            errors.append((line, str(exc)))
            continue
        dupe = next((n for n, _ in phones if n in seen), None)
        if dupe is not None:
            errors.append((line, f"number {dupe} is also on line {seen[dupe]}"))
            continue
        for n, _ in phones:
            seen[n] = line
        good.append((line, data, phones))
    return good, errors, rows


async def import_customers(
    session: AsyncSession, data: bytes, tz: ZoneInfo, area: str, strict: bool = False
) -> ImportReport:
    """Parse, validate and (unless strict and something is wrong) insert.
    The caller commits; nothing is written when `applied` is False."""
    text, encoding = decode(data)
    report = ImportReport(encoding=encoding, strict=strict)
    good, errors, report.rows = parse(text, area)

    # Numbers that already belong to someone in the database.
    taken: dict[str, int] = {}
    numbers = [n for _, _, phones in good for n, _ in phones]
    for i in range(0, len(numbers), 500):
        chunk = numbers[i : i + 500]
        for n, cid in await session.execute(
            select(CustomerPhone.number, CustomerPhone.customer_id).where(CustomerPhone.number.in_(chunk))
        ):
            taken[n] = cid
    if taken:
        keep = []
        for line, row, phones in good:
            clash = next((n for n, _ in phones if n in taken), None)
            if clash is None:
                keep.append((line, row, phones))
            else:
                errors.append((line, f"number {clash} already belongs to customer {taken[clash]}"))
        good = keep

    report.errors = sorted(errors)
    if strict and report.errors:
        return report

    now = datetime.now(UTC)
    follow_up = {g: next_follow_up(g, now, tz) for g in Grade}
    # Ids are allocated up front so customers and their phones go in as two
    # executemany batches per chunk (RETURNING would cost a round trip per row on SQLite).
    ids = await allocate_ids(session, Customer.__tablename__, len(good))
    for i in range(0, len(good), _CHUNK):
        chunk = good[i : i + _CHUNK]
        chunk_ids = ids[i : i + _CHUNK]
        rows = [
            {**row, "id": cid, "next_follow_up_on": follow_up[row["grade"]], "created_at": now, "updated_at": now}
            for cid, (_, row, _) in zip(chunk_ids, chunk)
        ]
        await session.execute(insert(Customer.__table__), rows)
        phone_rows = [
            {"customer_id": cid, "number": n, "raw": raw} for cid, (_, _, phones) in zip(chunk_ids, chunk) for n, raw in phones
        ]
        await session.execute(insert(CustomerPhone.__table__), phone_rows)
    if session.bind.dialect.name == "postgresql":
        # Fresh statistics after a bulk load: without them the planner keeps
        # costing these tables as small and the next import's number checks
        # turn into sequential scans.
        await session.execute(sql("ANALYZE customers, customer_phones"))
    report.imported = len(good)
    report.applied = True
    return report


async def import_job(
    db: Database, data: bytes, tz: str, area: str, strict: bool, actor: Principal | None, filename: str, ip: str
) -> ImportReport:
    """The whole import in one transaction, audited, as a worker job
    (callcenter.worker): parsing 100k rows must not hold the event loop."""
    async with db.sessions() as session:
        report = await import_customers(session, data, ZoneInfo(tz), area, strict)
        if report.applied:
            audit(session, actor, "customers.import", filename, ip, imported=report.imported, errors=len(report.errors))
            await session.commit()
    return report
