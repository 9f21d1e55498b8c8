"""Where the simulated app_queue's queue_log lines go, as on a real PBX
(asterisk/logger.conf + extconfig.conf): the file, and rows of the
`queue_log` table (res_config_pgsql's INSERTs).  Plug either into
`PBX.queue_log`; rows are built by callcenter.ami.queue_log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from sqlalchemy import insert

from callcenter.ami.queue_log import QueueLogRow
from callcenter.db import make_engine

log = logging.getLogger("callcenter.simulator")


class QueueLogFile:
    """/var/log/asterisk/queue_log: one line per row, flushed as written
    (logger.c fflush()es every line too)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", encoding="utf-8", buffering=1)

    def __call__(self, row: QueueLogRow) -> None:
        self._file.write(row.line() + "\n")

    def close(self) -> None:
        self._file.close()


class QueueLogTable:
    """Rows of the `queue_log` table, in batches: `flush()` writes what came
    in, `run()` flushes every `every_s` until cancelled (the demo)."""

    def __init__(self, database_url: str, table: str = "queue_log") -> None:
        from callcenter.acd.queue_log import table as queue_log_table  # noqa: PLC0415

        self.url = database_url
        self.table = queue_log_table(table)  # a site's own with several PBXs (extconfig.conf)
        self.pending: list[QueueLogRow] = []
        self._engine = make_engine(database_url)
        self.written = 0
        self.max_pending = 100_000
        self._warned = False

    def __call__(self, row: QueueLogRow) -> None:
        self.pending.append(row)

    async def flush(self) -> int:
        rows, self.pending = self.pending, []
        if rows:
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(insert(self.table), [r.columns() for r in rows])
            except BaseException:
                self.pending[:0] = rows  # nothing lost: the next flush tries again
                raise
            self.written += len(rows)
        return len(rows)

    async def run(self, every_s: float = 1.0) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.flush()
            except Exception as exc:  # noqa: BLE001 - a database hiccup: keep the rows, retry next time
                if len(self.pending) > self.max_pending:  # down for long (or no table): keep the newest
                    del self.pending[: len(self.pending) - self.max_pending]
                if not self._warned:
                    log.warning("simulated queue_log rows not written yet: %s", exc)
                    self._warned = True

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.flush()
        await self._engine.dispose()
