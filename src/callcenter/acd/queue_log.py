"""Reading Asterisk's realtime queue_log table, for the backfill (backfill.py).

Asterisk writes one row per app_queue fact into the `queue_log` table our
migrations create (asterisk/extconfig.conf; logger.conf sets
queue_log_realtime_use_gmt, so `time` is naive UTC with microseconds).
The service reads the rows of a window it could not see, after a resync.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from callcenter.acd import events as ev
from callcenter.db import Database

MAX_ROWS = 200_000  # a whole busy day; a longer gap is read in the next pass


def _epoch(t: object) -> float:
    if isinstance(t, datetime):
        return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()
    if isinstance(t, str):
        return datetime.fromisoformat(t).replace(tzinfo=UTC).timestamp()
    return float(t)  # type: ignore[arg-type]


async def read_rows(db: Database, since: float, until: float) -> tuple[ev.QueueLogRow, ...]:
    """queue_log rows with since <= time <= until, oldest first."""
    lo = datetime.fromtimestamp(since, UTC).replace(tzinfo=None)
    hi = datetime.fromtimestamp(until, UTC).replace(tzinfo=None)
    sql = text(
        "SELECT id, time, callid, queuename, agent, event, data1, data2, data3, data4, data5 "
        "FROM queue_log WHERE time >= :lo AND time <= :hi ORDER BY time, id LIMIT :n"
    )
    async with db.sessions() as s:
        result = await s.execute(sql, {"lo": lo, "hi": hi, "n": MAX_ROWS})
        return tuple(
            ev.QueueLogRow(int(r[0]), _epoch(r[1]), r[2] or "", r[3] or "", r[4] or "", r[5] or "", tuple(x or "" for x in r[6:11]))
            for r in result.all()
        )
