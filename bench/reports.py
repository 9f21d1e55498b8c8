"""Historical reports on a month of a 500-agent, 20-queue centre (issue 15).

    .venv/bin/python bench/reports.py [--agents 500] [--queues 20] [--days 30]
                                      [--calls 1500000] [--repeat 20] [--pg URL]

1. Data: one month of interval rows on PostgreSQL (a fresh database,
   dropped at the end): 20 queues x 48 intervals x 30 days with offered
   calls shaped by the hotline's day (08:00-22:00 busy, a trickle at
   night) summing to --calls; 500 agents on 8.5-hour shifts, each a row
   per interval worked, and a pause row for a third of them.  Loaded with
   COPY (the load is not what is measured).
2. Every report over HTTP (the app through httpx's ASGI transport: auth,
   scope, SQL, formulas, JSON), as admin, --repeat times each: p50, p95.
   Baseline in the same run: GET /healthz through the same transport.
3. The month's XLSX export (daily by agent: 500 x 30 rows) and CSV.
4. Closing one interval for 500 agents and 20 queues: the core replays
   seeded traffic on 20 queues x 25 agents (acd/traffic.py); every close
   (the accumulator crediting open states and building the rows) is timed,
   plus handing the rows to the service's persist buffer.  The write itself
   runs in the flusher task, awaiting the database; its time is shown too.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from callcenter.acd import events as ev  # noqa: E402
from callcenter.acd.core import Core, CoreConfig  # noqa: E402
from callcenter.acd.traffic import Traffic, generate  # noqa: E402
from callcenter.app import create_app  # noqa: E402
from callcenter.auth.models import Role, User  # noqa: E402
from callcenter.auth.service import hash_password, issue_token  # noqa: E402
from callcenter.config import load_settings  # noqa: E402
from callcenter.db import Base, Database  # noqa: E402
from callcenter.reports.intervals import AGENT_SUMS, QUEUE_FIELDS  # noqa: E402
from callcenter.reports.service import seed_example  # noqa: E402
from callcenter.reports.store import write_facts  # noqa: E402

ZONE = ZoneInfo("Asia/Shanghai")
PG = "postgresql+asyncpg://postgres@127.0.0.1:5432"


def shape(slot: int) -> float:
    """Relative arrivals in a half hour of the local day (the hotline's)."""
    h = slot / 2
    if 8 <= h < 22:
        return 1.0 + 0.8 * math.sin((h - 8) / 14 * math.pi)
    return 0.08


def month_rows(agents: int, queues: int, days: int, calls: int, first: date) -> tuple[list[tuple], list[tuple], list[tuple]]:
    rng = random.Random(15)
    weights = [shape(s) for s in range(48)]
    per_slot = calls / days / sum(weights) / queues
    qrows, arows, prows = [], [], []
    qcols, acols = list(QUEUE_FIELDS), list(AGENT_SUMS)
    for d in range(days):
        day = first + timedelta(days=d)
        base = datetime.combine(day, datetime.min.time(), ZONE)
        for slot in range(48):
            start = (base + timedelta(minutes=30 * slot)).astimezone(UTC)
            for q in range(queues):
                offered = max(0, round(rng.gauss(per_slot * weights[slot] * (0.6 + 0.8 * q / queues), 3)))
                ab = round(offered * rng.uniform(0.02, 0.09))
                short = ab // 3
                answered = offered - ab
                met = round(answered * rng.uniform(0.75, 0.95))
                v = dict.fromkeys(qcols, 0)
                buckets = [short, ab // 6, ab // 6, 0, 0, 0, 0]
                buckets[4] = ab - sum(buckets)
                v.update(offered=offered, answered=answered, abandoned=ab, short_abandoned=short, sl_met=met, sl_counted=answered + ab - short,
                         sl30_met=met + ab // 4, sl30_counted=answered + ab - short, answered_30=met, wait_answered_s=answered * rng.uniform(8, 25),
                         wait_abandoned_s=ab * 40.0, handled=answered, talk_s=answered * 200.0, hold_s=answered * 15.0, wrap_s=answered * 30.0,
                         transfers=answered // 40, max_wait_s=rng.uniform(30, 200),
                         **{f"abandoned_{b}": n for b, n in zip(("0_5", "5_10", "10_20", "20_30", "30_60", "60_120", "120_"), buckets, strict=True)})  # fmt: skip
                qrows.append((start, day, f"q{q:02d}", *(v[c] for c in qcols)))
        # Shifts: agent n starts at 07:00 + (n % 5) * 1.5 h, works 17 half hours.
        for n in range(agents):
            first_slot = 14 + (n % 5) * 3
            for slot in range(first_slot, min(48, first_slot + 17)):
                start = (base + timedelta(minutes=30 * slot)).astimezone(UTC)
                talk = rng.uniform(900, 1400)
                v = dict.fromkeys(acols, 0)
                v.update(logged_in_s=1800, talk_s=talk, hold_s=60, wrap_s=200, available_s=1800 - talk - 260 - 60, paused_s=60,
                         handled=rng.randint(3, 8), handled_inbound=5)  # fmt: skip
                arows.append((start, day, f"PJSIP/{8000 + n}", *(v[c] for c in acols)))
                if n % 3 == 0:
                    prows.append((start, day, f"PJSIP/{8000 + n}", ("休息", "培训", "午餐")[slot % 3], 60.0))
    return qrows, arows, prows


async def load(url: str, args: argparse.Namespace, first: date) -> tuple[int, int]:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await db.dispose()
    qrows, arows, prows = month_rows(args.agents, args.queues, args.days, args.calls, first)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.copy_records_to_table("report_queue_intervals", records=qrows, columns=["interval_start", "day", "queue", *QUEUE_FIELDS])
        await conn.copy_records_to_table("report_agent_intervals", records=arows, columns=["interval_start", "day", "interface", *AGENT_SUMS])
        await conn.copy_records_to_table("report_agent_pauses", records=prows, columns=["interval_start", "day", "interface", "reason", "seconds"])
        # The day tables, as store.write_facts keeps them after every write.
        qs = ", ".join(f"max({f})" if f == "max_wait_s" else f"sum({f})" for f in QUEUE_FIELDS)
        await conn.execute(f"INSERT INTO report_queue_days (day, queue, {', '.join(QUEUE_FIELDS)}) "
                           f"SELECT day, queue, {qs} FROM report_queue_intervals GROUP BY day, queue")  # fmt: skip
        ags = ", ".join(f"sum({f})" for f in AGENT_SUMS)
        await conn.execute(f"INSERT INTO report_agent_days (day, interface, {', '.join(AGENT_SUMS)}) "
                           f"SELECT day, interface, {ags} FROM report_agent_intervals GROUP BY day, interface")  # fmt: skip
        await conn.execute("INSERT INTO report_agent_pause_days (day, interface, reason, seconds) "
                           "SELECT day, interface, reason, sum(seconds) FROM report_agent_pauses GROUP BY day, interface, reason")  # fmt: skip
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    print(f"calls offered in the month's rows: {sum(r[3] for r in qrows):,}")
    return len(qrows), len(arows) + len(prows)


async def admin_token(url: str, settings, agents: int, queues: int) -> str:  # noqa: ANN001
    """The admin, and the centre's people: an agent user per interface, in
    20 teams of 25 since before the month (team reports read day rows)."""
    from callcenter.teams.models import Team, TeamMember

    db = Database(url)
    h = hash_password("bench-password-123")
    async with db.sessions() as s:
        u = User(username="bench-admin", display_name="bench", role=Role.admin, password_hash=h)
        s.add(u)
        people = [User(username=f"a{n}", display_name=f"坐席{n:03d}", role=Role.agent, interface=f"PJSIP/{8000 + n}", password_hash=h) for n in range(agents)]
        teams = [Team(name=f"班组{k:02d}") for k in range(queues)]
        s.add_all(people + teams)
        await s.flush()
        s.add_all(TeamMember(team_id=teams[n % queues].id, user_id=p.id, from_at=datetime(2026, 1, 1, tzinfo=UTC)) for n, p in enumerate(people))
        await seed_example(s)
        await s.flush()
        # The team rows, as store.write_facts keeps them after every write.
        from callcenter.reports.models import AgentFact
        from callcenter.reports.store import team_roll_up
        from sqlalchemy import select

        starts = list((await s.execute(select(AgentFact.interval_start).distinct())).scalars())
        await team_roll_up(s, starts)
        await s.commit()
        await s.refresh(u)
    await db.dispose()
    return issue_token(u, settings.jwt_secret, 3600)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, math.ceil(p / 100 * len(xs)) - 1)]


async def http(url: str, args: argparse.Namespace, first: date) -> None:
    settings = load_settings(database_url=url, jwt_secret="bench-jwt-secret-0123456789abcdefghij", hook_secret="bench-hook-secret-0123456789abcdef",
                             ami_enabled=False, simulator=False, log_level="WARNING")  # fmt: skip
    token = await admin_token(url, settings, args.agents, args.queues)
    app = create_app(settings)
    last = first + timedelta(days=args.days - 1)
    month = first.isoformat()[:7]
    mid = (first + timedelta(days=10)).isoformat()
    f, t = first.isoformat(), last.isoformat()
    page = "&limit=500&offset=0"  # the report browser's first page (the API's default); exports below hold every row
    reports = [
        ("/healthz (baseline)", "/healthz"),
        ("daily by queue, month", f"/api/reports/daily?from={f}&to={t}&by=queue{page}"),
        ("weekly by queue, month", f"/api/reports/weekly?from={f}&to={t}&by=queue{page}"),
        ("monthly by queue", f"/api/reports/monthly?from={f}&to={t}&by=queue{page}"),
        ("interval by queue, one day", f"/api/reports/interval?from={mid}&to={mid}&by=queue{page}"),
        ("monthly by agent (500)", f"/api/reports/monthly?from={f}&to={t}&by=agent{page}"),
        ("weekly by agent", f"/api/reports/weekly?from={f}&to={t}&by=agent{page}"),
        ("daily by agent, month (15k rows)", f"/api/reports/daily?from={f}&to={t}&by=agent{page}"),
        ("daily by agent, month, last page", f"/api/reports/daily?from={f}&to={t}&by=agent&limit=500&offset=14500"),
        ("interval by agent, one day", f"/api/reports/interval?from={mid}&to={mid}&by=agent{page}"),
        ("daily by one agent, month", f"/api/reports/daily?from={f}&to={t}&by=agent&key=PJSIP/8007{page}"),
        ("monthly by team (20 x 25 agents)", f"/api/reports/monthly?from={f}&to={t}&by=team{page}"),
        ("daily by team, month", f"/api/reports/daily?from={f}&to={t}&by=team{page}"),
        ("interval by team, one day", f"/api/reports/interval?from={mid}&to={mid}&by=team{page}"),
        ("SL dispersion", f"/api/reports/sl-dispersion?month={month}&day={mid}"),
        ("abandons, month", f"/api/reports/abandons?from={f}&to={t}"),
        ("scorecard, month", f"/api/reports/scorecard?month={month}"),
        ("staffing (6 weeks of history)", f"/api/reports/staffing?queue=q05&week={(last - timedelta(days=last.weekday())).isoformat()}&weeks=3&held_back=1"),
    ]
    headers = {"Authorization": f"Bearer {token}"}
    async with app.router.lifespan_context(app):
        from callcenter.acd.models import Queue

        async with app.state.db.sessions() as s:
            for q in range(args.queues):
                s.add(Queue(name=f"q{q:02d}", display_name=f"队列{q:02d}"))
            await s.commit()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as c:
            # cpu: this process's CPU per request (app, SQL building, asyncpg decoding, JSON; not
            # PostgreSQL's): on a shared, loaded box the wall time is mostly waiting for a core.
            print(f"{'report':40s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s} {'cpu p50':>8s} {'rows':>7s} {'of':>7s} {'bytes':>9s}")
            for name, path in reports:
                times, cpu = [], []
                for _ in range(args.repeat):
                    t0, c0 = time.perf_counter(), time.process_time()
                    r = await c.get(path, headers=headers)
                    times.append((time.perf_counter() - t0) * 1000)
                    cpu.append((time.process_time() - c0) * 1000)
                    assert r.status_code == 200, (path, r.status_code, r.text[:300])
                body = r.json() if path.startswith("/api") else {}
                rows = len(body.get("rows") or body.get("intervals") or body.get("indicators") or [])
                of = body.get("row_count", rows)
                print(f"{name:40s} {statistics.median(times):8.1f} {pct(times, 95):8.1f} {max(times):8.1f} {statistics.median(cpu):8.1f} {rows:7d} {of:7d} {len(r.content):9d}")
            for what, path in (("daily by agent (15,000 rows)", f"daily?from={f}&to={t}&by=agent"), ("monthly by agent (500 rows)", f"monthly?from={f}&to={t}&by=agent"),
                               ("daily by queue (600 rows)", f"daily?from={f}&to={t}&by=queue")):  # fmt: skip
                for fmt in ("xlsx", "csv"):
                    times = []
                    for _ in range(3):
                        t0 = time.perf_counter()
                        r = await c.get(f"/api/reports/{path}&format={fmt}", headers=headers)
                        times.append(time.perf_counter() - t0)
                        assert r.status_code == 200
                    print(f"month {fmt.upper()} export, {what}: best {min(times):.2f} s, worst {max(times):.2f} s, {len(r.content) / 1e6:.2f} MB")
            # The same export job in this process, for its CPU time: over HTTP it runs in the worker
            # process at nice 10, which on a box shared with other busy processes waits for a core.
            from callcenter.auth.scope import EVERYTHING
            from callcenter.reports import jobs
            from callcenter.reports.service import Query

            for fmt in ("xlsx", "csv"):
                c0, t0 = time.process_time(), time.perf_counter()
                await jobs.export_report(app.state.db, Query("daily", "agent", first, last), "Asia/Shanghai", EVERYTHING, None, fmt)
                print(f"month {fmt.upper()} export, daily by agent, the job's own CPU: {time.process_time() - c0:.2f} s "
                      f"(wall in this process {time.perf_counter() - t0:.2f} s)")  # fmt: skip


def closing(args: argparse.Namespace) -> None:
    """Closing intervals while 500 agents work 20 queues."""
    per_queue = args.agents // args.queues
    t = Traffic(calls=args.close_calls, queues=args.queues, agents_per_queue=per_queue, arrival_rate=per_queue * 0.8 / 240 / 1.0,
                mean_talk_s=200, patience_s=120, p_hold=0.2, p_transfer=0.03, wrap_up_s=(5, 40), p_pause=0.05, seed=15,
                start=1_700_006_400.0)  # fmt: skip
    t0 = time.perf_counter()
    events = generate(t)
    gen = time.perf_counter() - t0
    core = Core(CoreConfig())
    acc = core.interval_facts
    timings: list[float] = []
    cpu_timings: list[float] = []
    sizes: list[int] = []
    real_close = acc.close

    def timed_close(states, until=None):  # noqa: ANN001, ANN202
        s, c = time.perf_counter(), time.thread_time()
        rows = real_close(states, until)
        buffer = [("fact", r) for r in rows]  # what AcdService.submit hands to its persist buffer
        timings.append((time.perf_counter() - s) * 1000)
        cpu_timings.append((time.thread_time() - c) * 1000)
        sizes.append(len(buffer))
        return rows

    acc.close = timed_close  # type: ignore[method-assign]
    t0 = time.perf_counter()
    rows = []
    for e in events:
        rows += core.apply(e).interval_rows
    rows += core.apply(ev.Tick(events[-1].ts + 1800)).interval_rows
    run = time.perf_counter() - t0
    agents = [n for n in sizes]
    print(f"closing: {len(events):,} events ({gen:.1f} s to generate), core {run:.1f} s; {len(timings)} closes, rows per close "
          f"{min(agents)}-{max(agents)}; close p50 {statistics.median(timings):.2f} ms, max {max(timings):.2f} ms "
          f"(CPU of the loop's thread: p50 {statistics.median(cpu_timings):.2f} ms, max {max(cpu_timings):.2f} ms)")  # fmt: skip
    # The write of the biggest close, as the flusher does it (awaits the database).
    biggest = max(range(len(timings)), key=lambda i: sizes[i])
    start = sorted({r["interval_start"] for r in rows})[biggest]
    batch = [r for r in rows if r["interval_start"] == start]

    async def write() -> float:
        url = f"{PG}/cc_bench_close_{uuid.uuid4().hex[:8]}"
        await admin_sql(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
        try:
            db = Database(url)
            async with db.engine.begin() as conn:
                await conn.run_sync(Base.metadata.create_all)
            best, cpu = math.inf, math.inf
            for _ in range(5):
                async with db.sessions() as s:
                    t0, c0 = time.perf_counter(), time.thread_time()
                    await write_facts(s, batch)
                    await s.commit()
                    best = min(best, time.perf_counter() - t0)
                    cpu = min(cpu, time.thread_time() - c0)
            await db.dispose()
            return best * 1000, cpu * 1000
        finally:
            await admin_sql(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')

    wall, cpu = asyncio.run(write())
    print(f"writing the {len(batch)} rows of one close to PostgreSQL (flusher task, awaits I/O): best of 5 {wall:.1f} ms wall, "
          f"of which {cpu:.1f} ms on the event loop's thread (CPU: SQL building, asyncpg encoding)")


async def admin_sql(sql: str) -> None:
    conn = await asyncpg.connect(PG.replace("postgresql+asyncpg://", "postgresql://") + "/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in __import__('os').getloadavg())}")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--agents", type=int, default=500)
    p.add_argument("--queues", type=int, default=20)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--calls", type=int, default=1_500_000)
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--close-calls", type=int, default=8000)
    p.add_argument("--skip-close", action="store_true")
    args = p.parse_args()
    first = date(2026, 10, 1)
    name = f"cc_bench_reports_{uuid.uuid4().hex[:8]}"
    url = f"{PG}/{name}"
    asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
    try:
        t0 = time.perf_counter()
        nq, na = asyncio.run(load(url, args, first))
        print(f"data: {args.days} days, {args.queues} queues, {args.agents} agents: {nq:,} queue rows, {na:,} agent and pause rows "
              f"(loaded in {time.perf_counter() - t0:.1f} s)")  # fmt: skip
        asyncio.run(http(url, args, first))
    finally:
        asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    if not args.skip_close:
        closing(args)
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in __import__('os').getloadavg())}")


if __name__ == "__main__":
    main()
