"""Reading Asterisk's realtime queue_log table, for the backfill (backfill.py).

Asterisk writes one row per app_queue fact into the `queue_log` table our
migrations create (asterisk/extconfig.conf; logger.conf sets
queue_log_realtime_use_gmt, so `time` is naive UTC with microseconds).
The service reads the rows of a window it could not see, after a resync,
and hands them to the core as domain events.  The format itself (file
lines, table columns) is callcenter.ami.queue_log's.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

from sqlalchemy import Column, Connection, Index, MetaData, Table, inspect, select, text

from callcenter.acd import events as ev
from callcenter.ami import queue_log as fmt
from callcenter.ami.models import QueueLogEntry
from callcenter.db import Database

MAX_ROWS = 200_000  # a whole busy day; a longer gap is read in the next pass


def domain_row(n: int, row: fmt.QueueLogRow) -> ev.QueueLogRow:
    return ev.QueueLogRow(n, row.time, row.callid, row.queuename, row.agent, row.event, row.data)


def rows_from_file(text: str) -> tuple[ev.QueueLogRow, ...]:
    """A queue_log file (/var/log/asterisk/queue_log) as domain rows."""
    out = []
    for n, line in enumerate(text.splitlines()):
        try:
            out.append(domain_row(n, fmt.parse_line(line)))
        except ValueError:
            continue
    return tuple(out)


_TABLES: dict[str, Table] = {}
BASE = QueueLogEntry.__tablename__
MAX_IDENT = 63  # PostgreSQL's identifier length


def _ident(name: str, prefix: str, suffix: str) -> str:
    """`prefix + name + suffix`, shortened (with a checksum) past 63 characters."""
    whole = prefix + name + suffix
    if len(whole) <= MAX_IDENT:
        return whole
    tag = f"_{zlib.crc32(name.encode()):08x}"
    return prefix + name[: MAX_IDENT - len(prefix) - len(suffix) - len(tag)] + tag + suffix


def table(name: str = BASE) -> Table:
    """The queue_log table, or a site's own of the same shape: Asterisk
    fills only its columns, so with several PBXs (one per site) each site's
    extconfig.conf maps its queue_log to a table of its own
    (CALLCENTER_QUEUE_LOG_TABLE; `callcenter migrate` creates it, see
    ensure_table), and a site's backfill never reads another's calls."""
    if name == BASE:
        return QueueLogEntry.__table__
    if name not in _TABLES:
        cols = [
            Column(c.name, c.type, primary_key=c.primary_key, autoincrement=c.autoincrement, nullable=c.nullable)
            for c in QueueLogEntry.__table__.columns
        ]
        t = Table(name, MetaData(), *cols)
        t.primary_key.name = _ident(name, "pk_", "")
        # The base table's indexes (ix_queue_log_time, ix_queue_log_callid), named after this table.
        for ix in QueueLogEntry.__table__.indexes:
            Index(_ident(name, "ix_", "_" + "_".join(c.name for c in ix.columns)), *(t.c[c.name] for c in ix.columns))
        _TABLES[name] = t
    return _TABLES[name]


def ensure_table(conn: Connection, name: str) -> list[str]:
    """Create the queue_log table `name` like queue_log, if it is missing,
    and any of queue_log's indexes it lacks (one on the same columns, by
    whatever name, counts: a table made by hand `LIKE queue_log INCLUDING
    ALL` is left as it is).  On PostgreSQL a new table gets queue_log's
    grants (the Asterisk role's INSERT, and USAGE of its id sequence), so
    Asterisk can write it at once.  Idempotent; returns what it made.
    Synchronous: run it in `conn.run_sync`."""
    if name == BASE:
        return []
    t = table(name)
    made: list[str] = []
    insp = inspect(conn)
    if not insp.has_table(name):
        t.create(conn)
        made.append(f"table {name}")
        made += [f"index {ix.name}" for ix in t.indexes]
        if conn.dialect.name == "postgresql":
            made += _copy_grants(conn, name)
        return made
    have = {tuple(ix["column_names"]) for ix in insp.get_indexes(name)}
    for ix in sorted(t.indexes, key=lambda i: i.name or ""):
        if tuple(c.name for c in ix.columns) not in have:
            ix.create(conn)
            made.append(f"index {ix.name}")
    return made


_GRANTS = """
SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END, a.privilege_type
FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
WHERE c.oid = to_regclass(:rel) AND a.grantee <> c.relowner
ORDER BY 1, 2
"""


def _copy_grants(conn: Connection, name: str) -> list[str]:
    """queue_log's grants to other roles, on `name` and its id sequence too."""
    done = []
    pairs = ((BASE, name, "TABLE"),)
    base_seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": BASE}).scalar()
    seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": name}).scalar()
    if base_seq and seq:
        pairs += ((base_seq, seq, "SEQUENCE"),)
    for src, dst, kind in pairs:
        # dst: a validated table name, or the sequence as pg_get_serial_sequence quotes it
        for grantee, privilege in conn.execute(text(_GRANTS), {"rel": src}).all():
            conn.execute(text(f"GRANT {privilege} ON {kind} {dst} TO {grantee}"))
            done.append(f"grant {privilege} on {dst} to {grantee}")
    return done


async def read_rows(db: Database, since: float, until: float, table_name: str = "queue_log") -> tuple[ev.QueueLogRow, ...]:
    """queue_log rows with since <= time <= until, oldest first."""
    lo = datetime.fromtimestamp(since, UTC).replace(tzinfo=None)
    hi = datetime.fromtimestamp(until, UTC).replace(tzinfo=None)
    t = table(table_name)
    q = select(t).where(t.c.time >= lo, t.c.time <= hi).order_by(t.c.time, t.c.id).limit(MAX_ROWS)
    async with db.sessions() as s:
        rows = (await s.execute(q)).mappings().all()
    return tuple(ev.QueueLogRow(int(r["id"]), *_fields(fmt.from_columns(dict(r)))) for r in rows)


def _fields(row: fmt.QueueLogRow) -> tuple[float, str, str, str, str, tuple[str, ...]]:
    return row.time, row.callid, row.queuename, row.agent, row.event, row.data
