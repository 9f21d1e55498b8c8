"""What the dialplan's hooks write: route decisions, survey scores and
callback requests.  None of it may be lost to a database outage: each kind
has one writer (callcenter.spool.writer), used for the direct write and
for the replay of what was spooled while the database was away.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import spool as spooling
from callcenter.crm import service as crm
from callcenter.crm.models import CallbackReason
from callcenter.db import Database, asyncpg_dsn, is_unavailable
from callcenter.hooks.models import RouteDecision, SurveyResponse

log = logging.getLogger("callcenter.hooks")

DECISION, SURVEY, CALLBACK = "hooks.route_decision", "hooks.survey", "hooks.callback"


# --- survey scores and callback requests --------------------------------------------------


async def record_survey(
    session: AsyncSession, uniqueid: str, score: int, scale: int, queue: str, agent: str, number: str, at: datetime | None = None
) -> SurveyResponse:
    """One score per call; a later key (by `at`) replaces an earlier one."""
    at = at or datetime.now(UTC)
    row = (await session.execute(select(SurveyResponse).where(SurveyResponse.uniqueid == uniqueid))).scalar_one_or_none()
    if row is None:
        row = SurveyResponse(uniqueid=uniqueid, score=score, scale=scale, queue=queue, agent=agent, number=number, at=at)
        session.add(row)
    elif at >= row.at:
        row.score, row.scale, row.at = score, scale, at
        row.queue, row.agent, row.number = queue or row.queue, agent or row.agent, number or row.number
    await session.flush()
    return row


@spooling.writer(SURVEY)
async def _write_surveys(session: AsyncSession, items: list[dict[str, Any]]) -> list[Any]:
    return [await record_survey(session, **item) for item in items]


@spooling.writer(CALLBACK)
async def _write_callbacks(session: AsyncSession, items: list[dict[str, Any]]) -> list[Any]:
    """The day's task for the number, for the day the caller asked (`now`)."""
    out = []
    for item in items:
        out.append(
            await crm.request_callback(
                session, item["number"], CallbackReason(item["reason"]), item["uniqueid"], item["queue"],
                ZoneInfo(item["tz"]), item["area"], now=item["now"],
            )
        )  # fmt: skip
    return out


# --- route decisions ---------------------------------------------------------------------


@spooling.writer(DECISION)
async def _write_decisions(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await session.execute(insert(RouteDecision.__table__), rows)
    return None


class DecisionLog:
    """Writes decisions in batches, off the hook's path.  While the database
    is unreachable the rows go to the spool (durably, in order) and from
    there into route_decisions once it is back; without a spool they wait
    in memory (up to `max_pending`, oldest dropped first, with a warning).

    On PostgreSQL a batch is one binary COPY on the log's own connection;
    through SQLAlchemy, preparing the rows held the event loop ~50 us a row
    (5 ms for a 0.2 s batch at 500 calls/s), and every hook answered in that
    time waited.  SQLite's batches go in slices, for the same reason."""

    SLICE = 20
    COLUMNS = tuple(c.name for c in RouteDecision.__table__.columns if c.name != "id")

    def __init__(
        self, db: Database, interval_s: float = 0.2, batch: int = 1000, max_pending: int = 50_000, spool: spooling.Spool | None = None
    ) -> None:
        self.db = db
        self.interval_s = interval_s
        self.batch = batch
        self.max_pending = max_pending
        self.spool = spool
        self.pending: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._pg_dsn = asyncpg_dsn(db.url) if db.url.startswith("postgresql") else None
        self._pg: Any = None

    def add(self, row: dict[str, Any]) -> None:
        if self.spool is not None and self.spool.busy(DECISION):
            self.spool.put(DECISION, row)  # queue behind the spooled ones, durably
            return
        self.pending.append(row)
        if len(self.pending) > self.max_pending:
            drop = len(self.pending) - self.max_pending
            if self.spool is not None:
                self.spool.put(DECISION, *self.pending[:drop])
            else:
                log.warning("route decision log full; dropped %d oldest rows", drop)
            del self.pending[:drop]
        if len(self.pending) >= self.batch:
            self._wake.set()

    async def flush(self) -> None:
        async with self._lock:
            while self.pending:
                rows = self.pending[: self.batch]
                try:
                    await (self._copy(rows) if self._pg_dsn else self._insert(rows))
                except Exception as exc:
                    if self.spool is None or not is_unavailable(exc):
                        raise
                    self.spool.mark_down(exc)
                    self.spool.put(DECISION, *self.pending)
                    self.pending.clear()
                    return
                del self.pending[: len(rows)]

    async def _insert(self, rows: list[dict[str, Any]]) -> None:
        async with self.db.engine.begin() as conn:
            for i in range(0, len(rows), self.SLICE):
                await conn.execute(insert(RouteDecision.__table__), rows[i : i + self.SLICE])

    async def _copy(self, rows: list[dict[str, Any]]) -> None:
        if self._pg is None or self._pg.is_closed():
            self._pg = await asyncpg.connect(self._pg_dsn, timeout=5, server_settings={"application_name": "callcenter-hooks-log"})
        records = [tuple(json.dumps(r[c]) if c == "reasons" else r[c] for c in self.COLUMNS) for r in rows]
        try:
            await self._pg.copy_records_to_table(RouteDecision.__tablename__, records=records, columns=self.COLUMNS, timeout=10)
        except BaseException:
            self._pg.terminate()  # a fresh connection next time
            self._pg = None
            raise

    async def close(self) -> None:
        if self._pg is not None:
            await self._pg.close(timeout=2)
            self._pg = None

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep the rows, try again
                log.warning("writing route decisions failed (%s: %s); %d waiting", type(exc).__name__, exc, len(self.pending))
                await asyncio.sleep(1.0)
