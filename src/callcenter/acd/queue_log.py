"""Reading Asterisk's realtime queue_log table, for the backfill (backfill.py).

Asterisk writes one row per app_queue fact into the `queue_log` table our
migrations create (asterisk/extconfig.conf; logger.conf sets
queue_log_realtime_use_gmt, so `time` is naive UTC with microseconds).
The service reads the rows of a window it could not see, after a resync,
and hands them to the core as domain events.  The format itself (file
lines, table columns) is callcenter.ami.queue_log's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, MetaData, Table, select

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


def table(name: str = "queue_log") -> Table:
    """The queue_log table, or a site's own of the same shape: Asterisk
    fills only its columns, so with several PBXs (one per site) each site's
    extconfig.conf maps its queue_log to a table of its own
    (CALLCENTER_QUEUE_LOG_TABLE; created like queue_log by the operator), and
    a site's backfill never reads another's calls."""
    if name == QueueLogEntry.__tablename__:
        return QueueLogEntry.__table__
    if name not in _TABLES:
        _TABLES[name] = Table(name, MetaData(), *(Column(c.name, c.type, primary_key=c.primary_key) for c in QueueLogEntry.__table__.columns))
    return _TABLES[name]


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
