"""Benchmark / deep run: schemathesis over /openapi.json, and /healthz
while it runs.

The CI test (tests/test_fuzz.py) sends 5 generated requests per operation
and generation mode; this sends `--examples` (default 100) on SQLite and
PostgreSQL, as admin and as agent.  Beside it a prober asks /healthz every
20 ms: its latency during the run, against the same prober on the idle
server (the baseline, same run), shows whether any request blocked the
event loop (the target: /healthz within 50 ms while any request runs).

    .venv/bin/python bench/fuzz.py [--examples 100] [--backend sqlite|postgresql|both] [--role admin|agent|both]

Exit status 1 if any server error or schema violation was found.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from callcenter.auth.models import Role  # noqa: E402
from callcenter.db import Base, Database, import_all_models  # noqa: E402
from tests.conftest import PG_SERVER, make_settings, pg_create_database, pg_drop_database  # noqa: E402
from tests.fuzz import Fuzzer  # noqa: E402

import_all_models()


class Prober:
    """GET /healthz every `every_s` from a thread; latencies in ms."""

    def __init__(self, url: str, every_s: float = 0.02) -> None:
        self.url = url + "/healthz"
        self.every_s = every_s
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with requests.Session() as s:
            while not self._stop.is_set():
                t = time.perf_counter()
                s.get(self.url, timeout=10)
                self.samples.append((time.perf_counter() - t) * 1000)
                self._stop.wait(self.every_s)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def stats(self) -> str:
        xs = sorted(self.samples)
        if not xs:
            return "no samples"
        p99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))]
        over = sum(x > 50 for x in xs)
        return f"n={len(xs)} p50={statistics.median(xs):.1f} ms p99={p99:.1f} ms max={xs[-1]:.1f} ms >50ms: {over}"


def database(backend: str) -> tuple[str, object]:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/fuzz.db"
        cleanup = None
    else:
        url = pg_create_database()
        cleanup = url

    async def create() -> None:
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await db.dispose()

    asyncio.run(create())
    return url, cleanup


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=100)
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--role", choices=["admin", "agent", "both"], default="both")
    args = ap.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    roles = [Role.admin, Role.agent] if args.role == "both" else [Role(args.role)]
    print(f"schemathesis, {args.examples} examples per operation and mode (positive, negative); PostgreSQL at {PG_SERVER}")
    bad = 0
    for backend in backends:
        for role in roles:
            url, cleanup = database(backend)
            tmp = Path(tempfile.mkdtemp())
            settings = make_settings(database_url=url, recordings_dir=tmp / "rec", log_level="CRITICAL")
            fuzzer = Fuzzer(settings, role)
            try:
                with Prober(fuzzer.server.url) as idle:
                    while len(idle.samples) < 100:
                        time.sleep(0.05)
                with Prober(fuzzer.server.url) as busy:
                    report = fuzzer.run(args.examples)
            finally:
                fuzzer.close()
                if cleanup:
                    pg_drop_database(str(cleanup))
            print(f"== {backend} / {role.value}")
            print(report.summary())
            print(f"   /healthz idle (baseline): {idle.stats()}")
            print(f"   /healthz during the run:  {busy.stats()}")
            bad += len(report.failures)
    print("FAILED" if bad else "OK: 0 server errors, 0 schema violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
