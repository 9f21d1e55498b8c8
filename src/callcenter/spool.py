"""The spool: writes that arrive from the dialplan or the PBX while the
database is unreachable wait here, on local disk, and go in once it is back.

- A local SQLite file (settings.spool_path, WAL, synchronous=FULL): an
  item put here survives a crash or a restart of the process.
- Writers try the database first; on a connection failure (see
  db.is_unavailable) they `put()` the item here instead.  While a kind has
  items waiting, new items of that kind queue behind them (`busy()`), so the
  order of writes is kept.
- The replayer (`run()`) writes items back in order, batch by batch, with
  the function each capability registered for its kind (`@writer("kind")`).
  Every item has a key (this spool's id + its sequence number), inserted into
  spool_applied in the same transaction as the item: an item whose write
  committed but was not yet removed from the spool (a crash in between) is
  skipped, never written twice.
- An item that fails on its own for a reason other than the database being
  away (a bug, a constraint) is set aside in the spool's `dead` table and
  logged, so it never blocks the others and is never thrown away.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import String, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base, Database, UTCDateTime, is_unavailable, utcnow

log = logging.getLogger("callcenter.spool")

SPOOLED = Counter("callcenter_spool_items_total", "Writes put in the local spool because the database was unreachable", ["kind"])
REPLAYED = Counter("callcenter_spool_replayed_total", "Spooled writes written to the database", ["kind"])
DEAD = Counter("callcenter_spool_dead_total", "Spooled writes set aside because they failed on their own", ["kind"])
WAITING = Gauge("callcenter_spool_waiting", "Writes waiting in the local spool")

Writer = Callable[[AsyncSession, list[dict[str, Any]]], Awaitable[list[Any] | None]]
WRITERS: dict[str, Writer] = {}
KEEP_APPLIED = timedelta(days=30)


def writer(kind: str) -> Callable[[Writer], Writer]:
    """Register how items of `kind` are written: `fn(session, payloads)`,
    inside the caller's transaction (the writer does not commit); it may
    return one result per payload.  The same function serves the direct
    write (Spool.write) and the replay, so both write the same thing."""

    def register(fn: Writer) -> Writer:
        WRITERS[kind] = fn
        return fn

    return register


class SpoolApplied(Base):
    """Keys of spooled writes that reached the database (see module docstring)."""

    __tablename__ = "spool_applied"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    raise TypeError(f"cannot spool {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$dt" in obj:
        return datetime.fromisoformat(obj["$dt"])
    return obj


class Spool:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=5)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(
            "CREATE TABLE IF NOT EXISTS items (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, payload TEXT NOT NULL, at REAL NOT NULL);"
            "CREATE TABLE IF NOT EXISTS dead (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, at REAL NOT NULL, error TEXT NOT NULL);"
            "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);"
        )
        row = self._conn.execute("SELECT v FROM meta WHERE k = 'id'").fetchone()
        if row is None:
            self.id = uuid.uuid4().hex[:16]
            self._conn.execute("INSERT INTO meta VALUES ('id', ?)", (self.id,))
        else:
            self.id = row[0]
        self._counts: dict[str, int] = {}
        self._recount()
        self._lock = asyncio.Lock()
        self._wake: asyncio.Event | None = None
        self.down_since: float | None = None
        if len(self):
            log.warning("spool %s holds %d writes from before the restart; they go in once the database answers", self.path, len(self))

    # --- putting -------------------------------------------------------------------

    def put(self, kind: str, *payloads: dict[str, Any]) -> None:
        """Store items durably (one transaction, fsync'd) before returning."""
        if not payloads:
            return
        now = time.time()
        rows = [(kind, json.dumps(p, ensure_ascii=False, default=_encode), now) for p in payloads]
        with self._conn:
            self._conn.executemany("INSERT INTO items (kind, payload, at) VALUES (?, ?, ?)", rows)
        self._counts[kind] = self._counts.get(kind, 0) + len(rows)
        SPOOLED.labels(kind).inc(len(rows))
        WAITING.set(len(self))
        if self._wake is not None and self.down_since is None:
            self._wake.set()  # try at once; while the database is away, the replayer's backoff paces it

    async def write(self, db: Database, kind: str, payload: dict[str, Any], budget_s: float) -> Any:
        """Write one item now, with its kind's writer, giving the database
        `budget_s`; if it is unreachable (or items of this kind are already
        waiting) spool it instead.  Returns the writer's result, or None
        when spooled.  Other errors (bugs) propagate."""
        if self.busy(kind):
            self.put(kind, payload)
            return None
        try:
            async with asyncio.timeout(budget_s):
                async with db.sessions() as s:
                    result = await WRITERS[kind](s, [payload])
                    await s.commit()
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            self.mark_down(exc)
            self.put(kind, payload)
            return None
        return result[0] if result else True

    def busy(self, kind: str) -> bool:
        """Items of this kind are waiting: new ones must queue behind them."""
        return self._counts.get(kind, 0) > 0

    def __len__(self) -> int:
        return sum(self._counts.values())

    def dead(self) -> list[tuple[str, dict[str, Any], str]]:
        rows = self._conn.execute("SELECT kind, payload, error FROM dead ORDER BY seq").fetchall()
        return [(k, json.loads(p, object_hook=_decode), e) for k, p, e in rows]

    # --- replaying -------------------------------------------------------------------

    async def replay(self, db: Database, batch: int = 500) -> int:
        """Write everything waiting, in order; returns how many went in.
        Raises if the database is still unreachable (the rest stays)."""
        done = 0
        async with self._lock:
            while True:
                rows = self._conn.execute("SELECT seq, kind, payload FROM items ORDER BY seq LIMIT ?", (batch,)).fetchall()
                if not rows:
                    self._recount()  # another process on the same file may have written some
                    break
                try:
                    done += await self._write(db, rows)
                except Exception as exc:
                    if is_unavailable(exc):
                        raise
                    log.warning("spooled batch failed (%s: %s); writing its items one by one", type(exc).__name__, exc)
                    for row in rows:
                        try:
                            done += await self._write(db, [row])
                        except Exception as one:
                            if is_unavailable(one):
                                raise
                            self._set_aside(row, one)
                    continue
        if done and self.down_since is not None:
            log.warning("spool: %d writes made after %.0f s without the database", done, time.time() - self.down_since)
        self.down_since = None
        return done

    async def _write(self, db: Database, rows: list[tuple[int, str, str]]) -> int:
        keys = {seq: f"{self.id}:{seq}" for seq, _, _ in rows}
        async with db.sessions() as s:
            applied = set((await s.execute(select(SpoolApplied.key).where(SpoolApplied.key.in_(list(keys.values()))))).scalars())
            todo = [(seq, kind, payload) for seq, kind, payload in rows if keys[seq] not in applied]
            i = 0
            while i < len(todo):  # consecutive items of one kind go to its writer together
                kind = todo[i][1]
                j = i
                while j < len(todo) and todo[j][1] == kind:
                    j += 1
                fn = WRITERS.get(kind)
                if fn is None:
                    raise LookupError(f"no spool writer for {kind!r}")
                await fn(s, [json.loads(p, object_hook=_decode) for _, _, p in todo[i:j]])
                i = j
            if todo:
                now = utcnow()
                await s.execute(insert(SpoolApplied.__table__), [{"key": keys[seq], "at": now} for seq, _, _ in todo])
            await s.commit()
        for _, kind, _ in todo:
            REPLAYED.labels(kind).inc()
        self._forget(rows)
        return len(todo)

    def _recount(self) -> None:
        self._counts = dict(self._conn.execute("SELECT kind, count(*) FROM items GROUP BY kind").fetchall())
        WAITING.set(len(self))

    def _forget(self, rows: list[tuple[int, str, str]]) -> None:
        with self._conn:
            self._conn.executemany("DELETE FROM items WHERE seq = ?", [(seq,) for seq, _, _ in rows])
        for _, kind, _ in rows:
            self._counts[kind] -= 1
            if not self._counts[kind]:
                del self._counts[kind]
        WAITING.set(len(self))

    def _set_aside(self, row: tuple[int, str, str], exc: BaseException) -> None:
        seq, kind, payload = row
        log.error("spooled %s write set aside (%s: %s): %s", kind, type(exc).__name__, exc, payload)
        with self._conn:
            self._conn.execute("INSERT OR REPLACE INTO dead VALUES (?, ?, ?, ?, ?)", (seq, kind, payload, time.time(), f"{type(exc).__name__}: {exc}"[:500]))
        self._forget([row])
        DEAD.labels(kind).inc()

    async def run(self, db: Database, interval_s: float = 1.0, max_backoff_s: float = 5.0) -> None:
        """The replayer: drains the spool whenever something is in it; while
        the database stays away, tries again every interval (backing off to
        max_backoff_s)."""
        self._wake = asyncio.Event()
        delay = interval_s
        last_prune = 0.0
        while True:
            if len(self):
                try:
                    await self.replay(db)
                    delay = interval_s
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - unreachable, or a bug logged per item
                    self.mark_down(exc)
                    delay = min(delay * 2, max_backoff_s)
            if time.monotonic() - last_prune > 3600:
                last_prune = time.monotonic()
                try:
                    await self.prune(db)
                except Exception:  # noqa: BLE001 - housekeeping only
                    pass
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass

    def mark_down(self, exc: BaseException) -> None:
        if self.down_since is None:
            self.down_since = time.time()
            log.error("database unreachable (%s: %s); writes wait in the spool %s until it is back", type(exc).__name__, exc, self.path)

    async def prune(self, db: Database) -> None:
        async with db.sessions() as s:
            await s.execute(delete(SpoolApplied).where(SpoolApplied.at < utcnow() - KEEP_APPLIED))
            await s.commit()

    def readiness(self) -> dict[str, Any]:
        """Informative: spooling is how this node keeps serving, not a reason to take it out."""
        dead = self._conn.execute("SELECT count(*) FROM dead").fetchone()[0]
        return {"ok": True, "waiting": len(self), "dead": dead, "replaying": self.down_since is None}

    def close(self) -> None:
        self._conn.close()
