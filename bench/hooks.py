"""Benchmark: /hooks/route latency next to /healthz, under the same steady
load, with 1,000,000 customers, on SQLite and on PostgreSQL.  Also times the
CSV import of the first 100,000 customers.

For each database:
1. a fresh database, migrated with `callcenter migrate`;
2. 1,000,000 customers loaded through the CSV importer in 100,000-row files
   (the first file's time is the import figure), plus recent abandoned calls
   and open complaints so the priority probes find something;
3. a real server (`callcenter serve`, uvicorn, one process) on a free port;
4. a load generator in another process sends /hooks/route at each --route-rps and
   /healthz at a fifth of that rate, on a fixed open-loop schedule over keep-alive
   connections; latency is measured from the scheduled send time, so a
   stalled server cannot hide its queueing (no coordinated omission).
Prints p50/p99 of both and the p99 ratio.  Target: route p99 <= 2x healthz
p99 and <= 5 ms.

Then, at the first --route-rps, the hook budget during a 100k-row import
(issue 12 §5): the same open-loop load while an admin uploads 100,000 new
customers to /api/customers/import (the import runs in the worker process);
route latencies whose send time falls inside the import window, against
the steady-state run above (same server, same rate).  Target: route p99
during the import < 300 ms (the hook budget), no fallbacks, no errors.
--no-import skips it.

    .venv/bin/python bench/hooks.py [--customers 1000000] [--seconds 20] [--backend sqlite|postgresql]
                                    [--route-rps 500 --route-rps 150] [--keep DIR] [--no-import] [--worker-processes 1]

--keep loads each database once and reuses it on later runs (the import is
then not timed): for iterating on the hook, not for the recorded figures.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing as mp
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SECRET = "bench-hook-secret-0123456789abcdef"
JWT_SECRET = "bench-jwt-secret-0123456789abcdef0123456789"
HOTLINE = "4008001234"
PG_SERVER = os.environ.get("CALLCENTER_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红"
TIERS = ["大客户", "主要", "普通", "普通", "普通", "一般", "一般", "潜在"]


def mobile(i: int) -> str:
    """The i-th customer's mobile, 11 digits, distinct for i < 10^8."""
    return f"13{5 + i % 5}{(i * 7919) % 100_000_000:08d}"


def csv_rows(start: int, n: int) -> bytes:
    out = io.StringIO()
    out.write("name,phones,unit,grade,tier,account_manager,tags\n")
    for i in range(start, start + n):
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % len(GIVEN)] + GIVEN[(i // 3) % len(GIVEN)]
        phones = mobile(i) + (f";0755-{20_000_000 + i:08d}" if i % 4 == 0 else "")
        unit = f"{1 + i % 40}栋{1 + (i // 40) % 33}{1 + i % 4:02d}"
        out.write(f"{name},{phones},{unit},{'ABCDE'[i % 5]},{TIERS[i % len(TIERS)]},,业主\n")
    return out.getvalue().encode()


# --- database setup ---------------------------------------------------------------------


def migrate(url: str) -> None:
    env = {**os.environ, "CALLCENTER_DATABASE_URL": url, "CALLCENTER_ENV_FILE": "/nonexistent"}
    subprocess.run([sys.executable, "-m", "callcenter", "migrate"], env=env, check=True, capture_output=True)


async def load(url: str, customers: int) -> float:
    """Load customers through the importer; returns the first 100k-row file's seconds."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from callcenter.acd.models import CallRecord, Outcome
    from callcenter.crm.imports import import_customers
    from callcenter.crm.models import Ticket, TicketKind
    from callcenter.db import Database

    tz = ZoneInfo("Asia/Shanghai")
    db = Database(url)
    first = 0.0
    try:
        for start in range(0, customers, 100_000):
            n = min(100_000, customers - start)
            data = csv_rows(start, n)
            t = time.perf_counter()
            async with db.sessions() as s:
                report = await import_customers(s, data, tz, "", strict=True)
                await s.commit()
            took = time.perf_counter() - t
            assert report.applied and report.imported == n, report.errors[:5]
            if start == 0:
                first = took
            print(f"  imported rows {start:>9,}..{start + n - 1:>9,} in {took:5.2f} s", flush=True)
        # History the priority probes look at: a recent abandon for every 50th
        # customer, an open complaint for every 100th.
        now = datetime.now(UTC)
        calls = [
            {"call_id": f"b{i}", "uniqueid": f"1.{i}", "queue": "repairs", "caller_number": mobile(i),
             "entered_at": now - timedelta(hours=2), "outcome": Outcome.abandoned, "legs": [], "timeline": []}
            for i in range(0, customers, 50)
        ]  # fmt: skip
        tickets = [
            {"customer_id": i + 1, "number": mobile(i), "kind": TicketKind.complaint, "subject": "噪音", "created_at": now}
            for i in range(0, customers, 100)
        ]
        async with db.engine.begin() as conn:
            for i in range(0, len(calls), 5000):
                await conn.execute(insert(CallRecord.__table__), calls[i : i + 5000])
            for i in range(0, len(tickets), 5000):
                await conn.execute(insert(Ticket.__table__), tickets[i : i + 5000])
        if url.startswith("postgresql"):
            async with db.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                from sqlalchemy import text

                await conn.execute(text("VACUUM ANALYZE"))
    finally:
        await db.dispose()
    return first


def seed_routing(url: str) -> None:
    from callcenter.config import load_settings
    from callcenter.demo import seed

    asyncio.run(seed(load_settings(database_url=url, simulator_agents=0)))


# --- server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, log: Path, worker_processes: int = 1) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CALLCENTER_WORKER_PROCESSES": str(worker_processes),
        "CALLCENTER_DATABASE_URL": url,
        "CALLCENTER_ENV_FILE": "/nonexistent",
        "CALLCENTER_HOOK_SECRET": SECRET,
        "CALLCENTER_JWT_SECRET": JWT_SECRET,
        "CALLCENTER_SPOOL_PATH": str(log.with_suffix(".spool.db")),
        "CALLCENTER_AMI_ENABLED": "false",
        "CALLCENTER_LOG_FORMAT": "json",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "callcenter", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-2000:]}") from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


# --- load generator (runs in its own process) ------------------------------------------------


class Conn:
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, target: str, headers: str) -> tuple[int, bytes]:
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: bench\r\n{headers}\r\n".encode())
        return await self.get_response()

    async def get_response(self) -> tuple[int, bytes]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length)
        return status, body


async def upload(port: int, body: bytes, boundary: str, token: str) -> tuple[int, bytes]:
    """POST the CSV to /api/customers/import on a connection of its own."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    try:
        w.write(
            f"POST /api/customers/import HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        return await Conn(r, w).get_response()
    finally:
        w.close()


def multipart(csv: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"customers.csv\"\r\n"
        f"Content-Type: text/csv\r\n\r\n".encode()
        + csv
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, boundary


async def generate(
    port: int, customers: int, route_rps: int, health_rps: int, seconds: float, warmup: float, importing: tuple[bytes, str, str] | None = None
) -> dict[str, object]:
    """With `importing` (body, boundary, token) the import is posted at the
    end of the warm-up and the load runs until it is over (+1 s), at most
    `seconds`; route latencies inside the import window are kept apart."""
    rng = random.Random(7)
    pool: asyncio.Queue[Conn] = asyncio.Queue()
    for _ in range(64):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        pool.put_nowait(Conn(r, w))
    lat: dict[str, list[float]] = {"route": [], "healthz": []}
    errors: list[str] = []
    fallbacks = 0
    known = 0
    dues: list[tuple[float, float]] = []

    def caller() -> str:
        if rng.random() < 0.1:
            return f"1860000{rng.randrange(10_000):04d}"  # not a customer
        i = rng.randrange(customers)
        return rng.choice([mobile(i), "+86" + mobile(i), "86" + mobile(i)])

    async def one(kind: str, target: str, headers: str, due: float, record: bool) -> None:
        nonlocal fallbacks, known
        conn = await pool.get()
        try:
            status, body = await conn.get(target, headers)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            r, w = await asyncio.open_connection("127.0.0.1", port)
            conn = Conn(r, w)
            return
        finally:
            pool.put_nowait(conn)
        done = time.perf_counter()
        if status != 200:
            errors.append(f"{kind}: HTTP {status} {body[:100]!r}")
        if record:
            lat[kind].append((done - due) * 1000)
            if kind == "route":
                dues.append((due, (done - due) * 1000))
                fallbacks += b"fallback=1" in body
                known += b"customer_id=&" not in body

    start = time.perf_counter() + 0.2
    end = start + warmup + seconds
    events: list[tuple[float, str]] = []
    for kind, rps in (("route", route_rps), ("healthz", health_rps)):
        t = start
        while t < end:
            events.append((t, kind))
            t += 1 / rps
    events.sort()
    tasks = []
    n = 0
    window: list[float] = []  # import start, end (perf_counter)
    launched = False
    imported: dict[str, object] = {}

    async def run_import() -> None:
        assert importing is not None
        window.append(time.perf_counter())
        status, body = await upload(port, *importing)
        window.append(time.perf_counter())
        imported.update(status=status, body=body[:300].decode(errors="replace"))

    for due, kind in events:
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if importing is not None:
            if not launched and due >= start + warmup:
                launched = True
                tasks.append(asyncio.ensure_future(run_import()))
            elif len(window) == 2 and due > window[1] + 1.0:
                break
        record = due >= start + warmup
        if kind == "route":
            n += 1
            ch = rng.choice("1234")
            target = f"/hooks/route?caller={caller()}&dnis={HOTLINE}&choice={ch}&uniqueid=1700000000.{n}"
            tasks.append(asyncio.ensure_future(one(kind, target, f"X-Hook-Secret: {SECRET}\r\n", due, record)))
        else:
            tasks.append(asyncio.ensure_future(one(kind, "/healthz", "", due, record)))
    await asyncio.gather(*tasks)
    out: dict[str, object] = {"lat": lat, "errors": errors, "fallbacks": fallbacks, "known": known}
    if importing is not None:
        t0, t1 = window if len(window) == 2 else (window[0], float("inf"))
        out["import"] = {"seconds": t1 - t0, **imported, "route": [ms for due, ms in dues if t0 <= due <= t1]}
    return out


async def back_to_back(port: int, customers: int, n: int) -> dict[str, object]:
    """Service time without queueing: one connection, one request at a time,
    route and healthz alternating."""
    rng = random.Random(11)
    r, w = await asyncio.open_connection("127.0.0.1", port)
    conn = Conn(r, w)
    lat: dict[str, list[float]] = {"route": [], "healthz": []}
    errors: list[str] = []
    fallbacks = known = 0
    for i in range(n + 200):
        number = mobile(rng.randrange(customers))
        for kind, target, headers in (
            ("route", f"/hooks/route?caller={number}&dnis={HOTLINE}&choice=1&uniqueid=1800000000.{i}", f"X-Hook-Secret: {SECRET}\r\n"),
            ("healthz", "/healthz", ""),
        ):
            t = time.perf_counter()
            status, body = await conn.get(target, headers)
            if status != 200:
                errors.append(f"{kind}: HTTP {status}")
            if i >= 200:  # the first 200 warm up
                lat[kind].append((time.perf_counter() - t) * 1000)
                if kind == "route":
                    fallbacks += b"fallback=1" in body
                    known += b"customer_id=&" not in body
    return {"lat": lat, "errors": errors, "fallbacks": fallbacks, "known": known}


def _generator_main(port: int, customers: int, route_rps: int, health_rps: int, seconds: float, warmup: float, out, importing=None) -> None:  # noqa: ANN001
    try:
        import uvloop  # the server runs on uvloop too (uvicorn[standard])

        uvloop.install()
    except ImportError:
        pass
    if route_rps == 0:
        out.put(asyncio.run(back_to_back(port, customers, int(seconds * 100))))
    else:
        out.put(asyncio.run(generate(port, customers, route_rps, health_rps, seconds, warmup, importing)))


def admin_token(url: str) -> str:
    """An admin in the bench database and a token the server accepts."""
    from callcenter.auth.models import Role, User
    from callcenter.auth.service import issue_token
    from callcenter.db import Database

    async def make() -> User:
        db = Database(url)
        try:
            async with db.sessions() as s:
                user = User(username=f"bench-admin-{uuid.uuid4().hex[:6]}", display_name="Bench", role=Role.admin, password_hash="x")
                s.add(user)
                await s.commit()
                await s.refresh(user)
                return user
        finally:
            await db.dispose()

    return issue_token(asyncio.run(make()), JWT_SECRET, 3600)


IMPORT_ROWS: list[dict[str, object]] = []


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=1000, method="inclusive")[int(p * 10) - 1] if len(values) > 1 else values[0]


# --- one backend --------------------------------------------------------------------------------


def run_backend(backend: str, args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    print(f"\n== {backend}: {args.customers:,} customers (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)", flush=True)
    pg_name = None
    keep = args.keep
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{keep / 'bench.db' if keep else tmp / 'bench.db'}"
        fresh = not (keep and (keep / "bench.db").exists())
    else:
        import asyncpg

        pg_name = "cc_bench_hooks_kept" if keep else f"cc_bench_{uuid.uuid4().hex[:10]}"

        async def admin(sql: str) -> None:
            conn = await asyncpg.connect(PG_SERVER.replace("postgresql+asyncpg://", "postgresql://") + "/postgres")
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        fresh = True
        try:
            asyncio.run(admin(f'CREATE DATABASE "{pg_name}"'))
        except asyncpg.DuplicateDatabaseError:
            fresh = False
        url = f"{PG_SERVER}/{pg_name}"
    try:
        import_100k = float("nan")
        if fresh:
            if keep:
                keep.mkdir(parents=True, exist_ok=True)
            migrate(url)
            seed_routing(url)
            t = time.perf_counter()
            import_100k = asyncio.run(load(url, args.customers))
            print(f"  loaded in {time.perf_counter() - t:.1f} s; 100,000-row import: {import_100k:.2f} s", flush=True)
        else:
            print("  reusing the kept database (no import timed)", flush=True)
        port = free_port()
        server = start_server(url, port, tmp / f"server-{backend}.log", args.worker_processes)
        results = []
        imp_result = None
        try:
            for rps in args.route_rps:
                q: mp.Queue = mp.get_context("spawn").Queue()
                gen = mp.get_context("spawn").Process(
                    target=_generator_main,
                    args=(port, args.customers, rps, max(1, rps // 5), args.seconds, args.warmup, q),
                )
                gen.start()
                results.append((rps, q.get(timeout=args.seconds + args.warmup + 300)))
                gen.join()
            if args.route_rps[0] and not args.no_import:
                rps = args.route_rps[0]
                # New numbers every run (mobile(i) is distinct for i < 10^8), so a kept database takes them too.
                first = 2_000_000 + (int(time.time()) % 900) * 100_000
                body, boundary = multipart(csv_rows(first, 100_000))
                importing = (body, boundary, admin_token(url))
                q = mp.get_context("spawn").Queue()
                gen = mp.get_context("spawn").Process(
                    target=_generator_main,
                    args=(port, args.customers, rps, max(1, rps // 5), 300.0, args.warmup, q, importing),
                )
                gen.start()
                imp_result = q.get(timeout=700)
                gen.join()
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
    finally:
        if pg_name and not keep:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
    rows = []
    if imp_result is not None:
        imp = imp_result["import"]
        during = imp["route"]
        steady = results[0][1]["lat"]["route"]
        row = {
            "backend": backend, "rps": args.route_rps[0], "import_s": imp["seconds"], "import_status": imp.get("status"),
            "n": len(during), "p50": pct(during, 50), "p99": pct(during, 99), "max": max(during) if during else float("nan"),
            "steady_p99": pct(steady, 99), "errors": imp_result["errors"], "fallbacks": imp_result["fallbacks"],
        }  # fmt: skip
        print(
            f"  during a 100,000-row import via /api/customers/import ({imp['seconds']:.1f} s, HTTP {imp.get('status')}) "
            f"at {row['rps']} route req/s:\n"
            f"  /hooks/route p50 {row['p50']:.2f} ms  p99 {row['p99']:.2f} ms  max {row['max']:.1f} ms  (n={row['n']}; "
            f"steady p99 {row['steady_p99']:.2f} ms, x{row['p99'] / row['steady_p99']:.1f}; fallbacks {row['fallbacks']}, "
            f"errors {len(row['errors'])})",
            flush=True,
        )
        if imp.get("status") != 200:
            print("  import answered:", imp.get("body"))
        IMPORT_ROWS.append(row)
    for rps, result in results:
        route, health = result["lat"]["route"], result["lat"]["healthz"]
        row = {
            "backend": backend,
            "rps": rps,
            "import_100k_s": import_100k,
            "route_p50": pct(route, 50),
            "route_p99": pct(route, 99),
            "health_p50": pct(health, 50),
            "health_p99": pct(health, 99),
            "errors": result["errors"],
            "fallbacks": result["fallbacks"],
        }
        row["ratio"] = row["route_p99"] / row["health_p99"]
        label = f"at {rps} route req/s + {max(1, rps // 5)} healthz req/s" if rps else "back to back (service time, one request at a time)"
        print(
            f"  {label}:\n"
            f"  /hooks/route p50 {row['route_p50']:.2f} ms  p99 {row['route_p99']:.2f} ms  (n={len(route)}, "
            f"known callers {result['known']}, fallbacks {row['fallbacks']}, errors {len(row['errors'])})\n"
            f"  /healthz     p50 {row['health_p50']:.2f} ms  p99 {row['health_p99']:.2f} ms  (n={len(health)})\n"
            f"  p99 ratio route/healthz {row['ratio']:.2f}",
            flush=True,
        )
        print(f"  load average after: {os.getloadavg()[0]:.1f}")
        for e in row["errors"][:5]:
            print("  error:", e)
        rows.append(row)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=20.0, help="measured seconds per backend")
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--route-rps", type=int, action="append", help="route req/s (repeatable; default 500); healthz runs at a fifth of it; 0 = back to back")
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    ap.add_argument("--no-import", action="store_true", help="skip the route-during-a-100k-import measurement")
    ap.add_argument("--worker-processes", type=int, default=1, help="the server's CALLCENTER_WORKER_PROCESSES (0: jobs in a thread)")
    ap.add_argument("--keep", type=Path, metavar="DIR",
                    help="keep the loaded databases (SQLite file in DIR, PostgreSQL cc_bench_hooks_kept) and reuse them next time")
    args = ap.parse_args()
    args.route_rps = args.route_rps or [500]
    rows = []
    with tempfile.TemporaryDirectory(prefix="cc-bench-hooks-") as tmp:
        for backend in args.backend or ["sqlite", "postgresql"]:
            rows += run_backend(backend, args, Path(tmp))
    print(f"\n{'backend':<11} {'req/s':>5} {'import 100k':>11} {'route p50':>9} {'route p99':>9} {'healthz p50':>11} {'healthz p99':>11} {'p99 ratio':>9}")
    ok = any(r["rps"] for r in rows)  # back to back alone says nothing about the target
    for r in rows:
        print(
            f"{r['backend']:<11} {r['rps'] or 'seq':>5} {r['import_100k_s']:>9.2f} s {r['route_p50']:>6.2f} ms {r['route_p99']:>6.2f} ms "
            f"{r['health_p50']:>8.2f} ms {r['health_p99']:>8.2f} ms {r['ratio']:>9.2f}"
        )
        if not r["rps"]:
            continue  # service time is informative; the target is about load
        ok &= r["route_p99"] <= 5.0 and r["ratio"] <= 2.0 and not r["errors"] and not r["fallbacks"]
    print("target (route p99 <= 5 ms and <= 2x healthz p99 under load, no errors, no fallbacks):", "MET" if ok else "NOT MET")
    if IMPORT_ROWS:
        print(f"\n{'backend':<11} {'req/s':>5} {'import':>8} {'route p50':>9} {'route p99':>9} {'route max':>9} {'steady p99':>10} {'x':>5}")
        for r in IMPORT_ROWS:
            print(f"{r['backend']:<11} {r['rps']:>5} {r['import_s']:>6.1f} s {r['p50']:>6.2f} ms {r['p99']:>6.2f} ms "
                  f"{r['max']:>6.1f} ms {r['steady_p99']:>7.2f} ms {r['p99'] / r['steady_p99']:>5.1f}")  # fmt: skip
        met = all(r["p99"] < 300 and r["import_status"] == 200 and not r["fallbacks"] and not r["errors"] for r in IMPORT_ROWS)
        print("target (route p99 < 300 ms during a 100k-row import, no fallbacks, no errors):", "MET" if met else "NOT MET")
    return 0


if __name__ == "__main__":
    sys.exit(main())
