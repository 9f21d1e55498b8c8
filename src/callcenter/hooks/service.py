"""The routing decision and the other dialplan hooks.

Every call waits on /hooks/route before it reaches a queue, so the decision
is built for speed and for always answering:
- the routing configuration (rules, calendars) is held in memory and
  refreshed in the background, never read per call;
- the caller lookup is one indexed statement (customer by normalised
  number; recent abandons, callbacks and open tickets as EXISTS probes) on
  the driver's own prepared connection, run under a time budget: a slow or
  failing database yields the safe default route, never an error;
- the decision is written to route_decisions by a batching writer after the
  answer has gone, so the hook never waits on a write.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import delete, make_url, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd.events import RouteDecided
from callcenter.config import Settings
from callcenter.crm.models import Grade, Tier
from callcenter.crm.service import normalise_number, number_variants
from callcenter.db import Database, asyncpg_dsn
from callcenter.hooks.hours import status_at
from callcenter.hooks.models import QueueHours, RouteDecision, RouteRule
from callcenter.hooks.writes import DecisionLog
from callcenter.hooks.schemas import Calendar, RuleIn

log = logging.getLogger("callcenter.hooks")

# QUEUE_PRIO points: higher is answered first within the queue.
TIER_POINTS = {Tier.vip: 10, Tier.key: 6, Tier.regular: 2, Tier.general: 0, Tier.potential: 1}
GRADE_POINTS = {Grade.A: 3, Grade.B: 2, Grade.C: 1, Grade.D: 0, Grade.E: 0}
RECENT_ABANDON_POINTS = 5  # 未接通: called and gave up, or asked for a callback, lately
OPEN_COMPLAINT_POINTS = 5
PRIORITY_FLAG_POINTS = 5  # 階段性優先接入, set by a lead until a time

_SAFE_ID = re.compile(r"[^0-9A-Za-z._-]")


# --- the in-memory routing table -------------------------------------------------------


class RoutingTable:
    """Rules and calendars, in memory.  Reloaded after every change made
    through the API, and in the background when older than `max_age_s`
    (so several server processes converge without a per-call query)."""

    def __init__(self, db: Database, max_age_s: float = 10.0) -> None:
        self.db = db
        self.max_age_s = max_age_s
        self.rules: dict[tuple[str, str], RouteRule] = {}
        self.hours: dict[str, Calendar] = {}
        self.loaded_at = 0.0
        self._reloading: asyncio.Task[None] | None = None

    async def load(self) -> None:
        async with self.db.sessions() as s:
            rules = list((await s.execute(select(RouteRule))).scalars())
            hours = list((await s.execute(select(QueueHours))).scalars())
        self.rules = {(r.dnis, r.choice): r for r in rules}
        self.hours = {h.queue: Calendar.model_validate(h.calendar) for h in hours}
        self.loaded_at = time.monotonic()

    def refresh_if_stale(self) -> None:
        if time.monotonic() - self.loaded_at < self.max_age_s or (self._reloading and not self._reloading.done()):
            return

        async def reload() -> None:
            try:
                await self.load()
            except Exception as exc:  # noqa: BLE001 - keep serving the old table
                log.warning("routing table reload failed: %s: %s", type(exc).__name__, exc)
                self.loaded_at = time.monotonic()  # retry after max_age_s, not on every call

        self._reloading = asyncio.get_running_loop().create_task(reload())

    def resolve(self, dnis: str, choice: str) -> RouteRule | None:
        """Most specific rule first: this line and key, this line's default,
        any line with this key, the catch-all."""
        for key in ((dnis, choice), (dnis, ""), ("", choice), ("", "")):
            rule = self.rules.get(key)
            if rule is not None:
                return rule
        return None


async def replace_rules(session: AsyncSession, rules: list[RuleIn]) -> None:
    await session.execute(delete(RouteRule))
    session.add_all(RouteRule(**r.model_dump()) for r in rules)


async def put_hours(session: AsyncSession, queue: str, calendar: Calendar) -> None:
    row = await session.get(QueueHours, queue)
    data = calendar.model_dump(mode="json")
    if row is None:
        session.add(QueueHours(queue=queue, calendar=data))
    else:
        row.calendar = data


# --- the caller lookup ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallerFacts:
    customer_id: int | None = None
    name: str = ""
    grade: Grade | None = None
    tier: Tier | None = None
    language: str = ""
    priority_until: datetime | None = None
    priority_reason: str = ""
    recent_abandon: bool = False
    recent_callback: bool = False
    open_complaint: bool = False
    open_ticket: bool = False


# One statement, one round trip: the customer (if the number is known) and
# the four facts that raise priority, each an EXISTS on an index.  Plain SQL
# valid on SQLite and PostgreSQL, run on the driver's own connection: this
# is the one query on every call's path, and SQLAlchemy's execute cost more
# than the query itself (and on PostgreSQL its pool's pre-ping, BEGIN and
# ROLLBACK made one lookup four round trips).  Enum columns store their
# names, which equal their values.
VARIANT_SLOTS = 8  # number_variants() gives at most 6 spellings; padded so the SQL never changes
LOOKUP_SQL = f"""
SELECT c.id, c.name, c.grade, c.tier, c.language, c.priority_until, c.priority_reason,
  EXISTS (SELECT 1 FROM call_records r
          WHERE r.caller_number IN ({", ".join(f":v{i}" for i in range(VARIANT_SLOTS))})
            AND r.outcome = 'abandoned' AND NOT r.short_abandon AND r.entered_at >= :since) AS abandon,
  EXISTS (SELECT 1 FROM callback_tasks b
          WHERE b.number = :n AND b.created_at >= :since
            AND (b.status != 'done' OR b.result != 'reached')) AS callback,
  EXISTS (SELECT 1 FROM tickets t
          WHERE t.status = 'open' AND t.kind = 'complaint' AND (t.number = :n OR t.customer_id = c.id))
  OR EXISTS (SELECT 1 FROM work_orders w
          WHERE w.is_open AND w.kind = 'complaint' AND (w.number = :n OR w.customer_id = c.id)) AS complaint,
  EXISTS (SELECT 1 FROM tickets t
          WHERE t.status = 'open' AND (t.number = :n OR t.customer_id = c.id))
  OR EXISTS (SELECT 1 FROM work_orders w
          WHERE w.is_open AND (w.number = :n OR w.customer_id = c.id)) AS ticket
FROM (SELECT 1 AS one) AS q
LEFT OUTER JOIN customer_phones p ON p.number = :n
LEFT OUTER JOIN customers c ON c.id = p.customer_id
"""


class DatabaseDown(Exception):
    """The lookup was not tried: the database failed moments ago."""


def _lookup_params(number: str, variants: list[str], since: datetime) -> dict[str, Any]:
    padded = (variants or [number])[:VARIANT_SLOTS]
    padded += [padded[-1]] * (VARIANT_SLOTS - len(padded))
    return {"n": number, "since": since, **{f"v{i}": v for i, v in enumerate(padded)}}


def _facts(row: Any, priority_until: datetime | None) -> CallerFacts:
    facts = dict(recent_abandon=bool(row[7]), recent_callback=bool(row[8]), open_complaint=bool(row[9]), open_ticket=bool(row[10]))
    if row[0] is None:
        return CallerFacts(**facts)
    return CallerFacts(
        customer_id=row[0],
        name=row[1],
        grade=Grade(row[2]),
        tier=Tier(row[3]),
        language=row[4],
        priority_until=priority_until,
        priority_reason=row[6] or "",
        **facts,
    )


class SqliteReader:
    """A synchronous, read-only sqlite3 connection for the lookup.  The
    indexed query takes tens of microseconds, less than a hand-off to
    aiosqlite's thread; in WAL mode readers never wait for the writer.  A
    progress handler stops a query that overruns its budget, since a
    blocking call cannot be timed out from the event loop."""

    def __init__(self, url: str) -> None:
        self.path = make_url(url).database or ":memory:"
        self.conn: sqlite3.Connection | None = None  # opened on first use: the app starts without a database
        self.deadline = 0.0

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=0.1, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA query_only=ON")
        conn.set_progress_handler(lambda: time.perf_counter() > self.deadline, 100)
        return conn

    async def fetch(self, number: str, variants: list[str], since: datetime, budget_s: float) -> CallerFacts:
        params = _lookup_params(number, variants, since)
        params["since"] = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite storage format
        self.deadline = time.perf_counter() + budget_s
        try:
            self.conn = self.conn or self._connect()
            row = self.conn.execute(LOOKUP_SQL, params).fetchone()
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise TimeoutError from exc
            await self.close()  # start afresh next time
            raise
        until = datetime.fromisoformat(row[5]).replace(tzinfo=UTC) if row[5] else None
        return _facts(row, until)

    async def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# A connection that is gone, or a server that will not take one.
_CONNECTION_ERRORS = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.OperatorInterventionError)


class PostgresReader:
    """The lookup's own few asyncpg connections, each with the statement
    prepared once: a lookup is a single round trip.  A pooled connection
    the server dropped (a restart) is replaced on the spot; when a new one
    cannot be had either, lookups fail at once for `retry_s` (a breaker)
    instead of every caller waiting on a connect that will not come."""

    def __init__(self, url: str, size: int = 4, retry_s: float = 1.0) -> None:
        self.dsn = asyncpg_dsn(url)
        self.retry_s = retry_s
        self.slots: asyncio.LifoQueue[tuple[Any, Any] | None] = asyncio.LifoQueue()
        for _ in range(size):
            self.slots.put_nowait(None)
        self.down_until = 0.0
        self.sql, self.order = _dollar_params(LOOKUP_SQL)

    async def _connect(self, timeout: float) -> tuple[Any, Any]:
        conn = await asyncpg.connect(self.dsn, timeout=timeout, server_settings={"application_name": "callcenter-hooks"})
        try:
            return conn, await conn.prepare(self.sql)
        except BaseException:
            conn.terminate()
            raise

    async def fetch(self, number: str, variants: list[str], since: datetime, budget_s: float) -> CallerFacts:
        if time.monotonic() < self.down_until:
            raise DatabaseDown
        params = _lookup_params(number, variants, since)
        args = [params[k] for k in self.order]
        slot = await self.slots.get()
        try:
            if slot is not None:
                try:
                    row = await slot[1].fetchrow(*args)
                    return _facts(row, row[5])
                except Exception:  # noqa: BLE001 - whatever asyncpg makes of a dropped connection
                    slot[0].terminate()
                    slot = None  # one more try, on a new connection
            slot = await self._connect(budget_s)
            row = await slot[1].fetchrow(*args)
            return _facts(row, row[5])
        except BaseException as exc:
            if slot is not None:
                slot[0].terminate()  # cancelled mid-query or broken: never reuse it
                slot = None
            if isinstance(exc, _CONNECTION_ERRORS):
                self.down_until = time.monotonic() + self.retry_s
            raise
        finally:
            self.slots.put_nowait(slot)

    async def close(self) -> None:
        while not self.slots.empty():
            slot = self.slots.get_nowait()
            if slot is not None:
                await slot[0].close(timeout=2)


def _dollar_params(sql: str) -> tuple[str, list[str]]:
    """:name placeholders as asyncpg's $1.. and the names in that order."""
    order: list[str] = []

    def number(m: re.Match[str]) -> str:
        if m[1] not in order:
            order.append(m[1])
        return f"${order.index(m[1]) + 1}"

    return re.sub(r"(?<!:):([a-z]\w*)", number, sql), order


# --- the decision --------------------------------------------------------------------


@dataclass
class Decision:
    uniqueid: str
    caller: str
    number: str
    dnis: str
    choice: str
    queue: str
    action: str = "queue"  # queue | duty | voicemail
    priority: int = 0
    reasons: list[str] = field(default_factory=list)
    customer_id: int | None = None
    name: str = ""
    language: str = ""
    open_ticket: bool = False
    recording: str = ""
    duty: str = ""
    voicemail: str = ""
    fallback: bool = False
    elapsed_ms: float = 0.0

    def reply(self) -> dict[str, str]:
        """What the dialplan reads: flat strings, one key per HASH() field.
        Reasons are space-separated: the dialplan passes them to UserEvent(),
        whose arguments are split on commas."""
        return {
            "queue": self.queue,
            "action": self.action,
            "priority": str(self.priority),
            "name": self.name,
            "lang": self.language,
            "open_ticket": "1" if self.open_ticket else "0",
            "recording": self.recording,
            "duty": self.duty,
            "voicemail": self.voicemail,
            "customer_id": str(self.customer_id or ""),
            "reason": " ".join(self.reasons),
            "fallback": "1" if self.fallback else "0",
        }

    def row(self, at: datetime) -> dict[str, Any]:
        return {
            "uniqueid": self.uniqueid,
            "at": at,
            "caller": self.caller[:64],
            "number": self.number,
            "dnis": self.dnis,
            "choice": self.choice,
            "action": self.action,
            "queue": self.queue,
            "priority": self.priority,
            "reasons": self.reasons,
            "customer_id": self.customer_id,
            "customer_name": self.name,
            "language": self.language,
            "open_ticket": self.open_ticket,
            "recording": self.recording,
            "duty_number": self.duty,
            "fallback": self.fallback,
            "elapsed_ms": round(self.elapsed_ms, 2),
        }


def recording_name(uniqueid: str, number: str, local: datetime) -> str:
    """MixMonitor file name, relative to the recordings directory:
    one folder per day, the Uniqueid ties the file to the call."""
    uid = _SAFE_ID.sub("_", uniqueid)
    return f"{local:%Y%m%d}/{local:%Y%m%d-%H%M%S}-{uid}-{number or 'anonymous'}.wav"


def apply_facts(d: Decision, facts: CallerFacts, rule: RouteRule | None, now: datetime) -> None:
    """Priority, identity and the VIP line from what we know of the caller."""
    points = 0
    if facts.customer_id is None:
        d.reasons.append("unknown_caller")
    else:
        d.customer_id = facts.customer_id
        d.name = facts.name
        d.language = facts.language
        if facts.tier is not None and TIER_POINTS[facts.tier]:
            points += TIER_POINTS[facts.tier]
            d.reasons.append(f"tier:{facts.tier.value}")
        if facts.grade is not None and GRADE_POINTS[facts.grade]:
            points += GRADE_POINTS[facts.grade]
            d.reasons.append(f"grade:{facts.grade.value}")
        if facts.priority_until is not None and facts.priority_until > now:
            points += PRIORITY_FLAG_POINTS
            d.reasons.append("priority_flag" + (f":{facts.priority_reason}" if facts.priority_reason else ""))
        if facts.tier == Tier.vip and rule is not None and rule.vip_queue:
            d.queue = rule.vip_queue
            d.reasons.append("vip_line")
    if facts.recent_abandon or facts.recent_callback:
        points += RECENT_ABANDON_POINTS
        d.reasons.append("recent_abandon" if facts.recent_abandon else "recent_callback")
    if facts.open_complaint:
        points += OPEN_COMPLAINT_POINTS
        d.reasons.append("open_complaint")
    d.open_ticket = facts.open_ticket
    d.priority = points


class RouteService:
    """Decides routes; owns the routing table and the decision writer."""

    def __init__(self, db: Database, settings: Settings, spool: Any = None) -> None:
        self.db = db
        self.settings = settings
        self.table = RoutingTable(db)
        self.log = DecisionLog(db, spool=spool)
        self.reader = SqliteReader(db.url) if db.url.startswith("sqlite") else PostgresReader(db.url)
        self.lookup = self.reader.fetch  # replaceable in tests (a slow database)

    async def decide(
        self, caller: str, dnis: str, uniqueid: str, choice: str, now: datetime | None = None, record: bool = True
    ) -> Decision:
        """The route for a call; `record=False` for a what-if (the admin
        console's routing test), which leaves no decision row."""
        start = time.perf_counter()
        now = now or datetime.now(UTC)
        s = self.settings
        self.table.refresh_if_stale()
        number = normalise_number(caller, s.default_area_code)
        rule = self.table.resolve(dnis, choice)
        d = Decision(uniqueid, caller, number, dnis, choice, rule.queue if rule else s.hook_fallback_queue)
        if rule is None:
            d.reasons.append("no_rule")
        if number:
            since = now - timedelta(hours=s.priority_boost_hours)
            budget = s.hook_budget_ms / 1000 * 0.8  # leave room to answer
            try:
                async with asyncio.timeout(budget):
                    facts = await self.lookup(number, number_variants(caller, s.default_area_code), since, budget)
                apply_facts(d, facts, rule, now)
            except DatabaseDown:
                d.fallback = True
                d.reasons.append("fallback:database_down")
            except TimeoutError:
                d.fallback = True
                d.reasons.append("fallback:slow_lookup")
                log.warning("route lookup for %s exceeded %d ms; safe default", uniqueid, s.hook_budget_ms)
            except Exception as exc:  # noqa: BLE001 - any failure gets the safe default
                d.fallback = True
                d.reasons.append("fallback:lookup_error")
                log.warning("route lookup for %s failed (%s: %s); safe default", uniqueid, type(exc).__name__, exc)
        else:
            d.reasons.append("anonymous")
        local = now.astimezone(s.tz)
        cal = self.table.hours.get(d.queue)
        if cal is not None:
            hours = status_at(cal, local)
            if not hours.open:
                d.reasons.append(f"closed:{hours.season}")
                if cal.after_hours == "duty" and hours.duty is not None:
                    d.action = "duty"
                    d.duty = hours.duty.number
                else:
                    d.action = "voicemail"
                    d.voicemail = cal.voicemail
        if d.action == "queue":
            d.recording = recording_name(uniqueid, number, local)
        d.elapsed_ms = (time.perf_counter() - start) * 1000
        if record:
            self.log.add(d.row(now))
        return d


def route_decided(d: Decision, ts: float) -> RouteDecided:
    return RouteDecided(
        ts=ts,
        uniqueid=d.uniqueid,
        queue=d.queue,
        priority=d.priority,
        reason=" ".join(d.reasons),
        customer_id=d.customer_id,
        customer_name=d.name,
        choices=(d.choice,) if d.choice else (),
        details=(("action", d.action), ("dnis", d.dnis), ("fallback", "1" if d.fallback else "0")),
    )


def hand_to_acd(app_state: Any, event: Any) -> None:
    """Give the event to the ACD service if one runs; never wait, never fail the hook."""
    acd = getattr(app_state, "acd", None)
    if acd is None:
        return
    try:
        result = acd.submit(event)
        if isinstance(result, Awaitable):
            task = asyncio.ensure_future(result)
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # consume errors
    except Exception as exc:  # noqa: BLE001
        log.warning("acd.submit(%s) failed: %s: %s", type(event).__name__, type(exc).__name__, exc)


async def start(app: Any, stack: AsyncExitStack) -> None:
    """Lifespan hook: the route service with its table loaded and its
    writer running; stopped (after a last flush) when the app stops."""
    service = RouteService(app.state.db, app.state.settings, getattr(app.state, "spool", None))
    try:
        await service.table.load()
    except Exception as exc:  # noqa: BLE001 - start anyway; the default route still works
        log.warning("routing table not loaded (%s: %s); using the fallback queue", type(exc).__name__, exc)
    writer = asyncio.get_running_loop().create_task(service.log.run(), name="route-decision-log")

    async def stop() -> None:
        await service.reader.close()
        writer.cancel()
        try:
            await writer
        except asyncio.CancelledError:
            pass
        try:
            await service.log.flush()
        except Exception as exc:  # noqa: BLE001
            log.warning("%d route decisions not written at shutdown: %s", len(service.log.pending), exc)
        await service.log.close()

    stack.push_async_callback(stop)
    app.state.routes = service


# --- what the screen-pop and the core read -------------------------------------------------


async def decision_for(session: AsyncSession, uniqueid: str) -> dict[str, Any] | None:
    """The stored route decision for a call (its last one, if the caller went
    through several menus), with every IVR choice made on the way."""
    rows = list(
        (
            await session.execute(
                select(RouteDecision).where(RouteDecision.uniqueid == uniqueid).order_by(RouteDecision.at, RouteDecision.id)
            )
        ).scalars()
    )
    if not rows:
        return None
    last = rows[-1]
    return {
        "uniqueid": uniqueid,
        "at": last.at,
        "queue": last.queue,
        "action": last.action,
        "priority": last.priority,
        "reasons": list(last.reasons),
        "choices": [r.choice for r in rows if r.choice],
        "customer_id": last.customer_id,
        "customer_name": last.customer_name,
        "fallback": last.fallback,
        "dnis": last.dnis,
        "caller": last.caller,
    }
