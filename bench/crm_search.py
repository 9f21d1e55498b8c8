"""Benchmark: customer search by name/unit at N customers (default 100,000),
on SQLite and PostgreSQL.  Baseline, in the same run: the substring scan
the search used before (name LIKE '%q%' OR unit LIKE '%q%', with a count),
against crm.service.search_customers (indexed prefix range first, capped
substring scan only when nothing starts with the text).

Queries are realistic: a surname + given-name prefix ("王建"), a building
prefix ("12栋"), both of which hit the index.  Also reported: the fallback
path (text found only inside names), which is a scan by design.

    .venv/bin/python bench/crm_search.py [--customers 100000] [--queries 300] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import func, insert, or_, select, text  # noqa: E402

import callcenter.models  # noqa: E402,F401  (every table, for create_all)
from callcenter.crm import service  # noqa: E402
from callcenter.crm.models import Customer  # noqa: E402
from callcenter.db import Base, Database  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "建国伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"


def name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


async def load(db: Database, n: int) -> None:
    rng = random.Random(7)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        rows = [{"name": name(rng), "unit": f"{rng.randrange(1, 40)}栋{rng.randrange(1, 33):02d}{rng.randrange(1, 5):02d}",
                 "address": "", "notes": "", "tags": [], "account_manager": "", "language": "zh", "priority_reason": ""}
                for _ in range(n)]
        for i in range(0, n, 5000):
            await conn.execute(insert(Customer.__table__), rows[i : i + 5000])
        if db.engine.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE customers"))
        else:
            await conn.execute(text("ANALYZE"))


async def old_search(s, q: str, page_size: int = 20):  # noqa: ANN001, ANN201
    """The search before this change: substring on both columns, exact count."""
    cond = or_(Customer.name.contains(q, autoescape=True), Customer.unit.contains(q, autoescape=True))
    total = (await s.execute(select(func.count()).select_from(Customer).where(cond))).scalar_one()
    rows = list((await s.execute(select(Customer).where(cond).order_by(Customer.id).limit(page_size))).scalars())
    return rows, total


async def timed(db: Database, fn, queries: list[str]) -> list[float]:  # noqa: ANN001
    out = []
    async with db.sessions() as s:
        for q in queries:
            t = time.perf_counter()
            await fn(s, q)
            out.append((time.perf_counter() - t) * 1000)
    return out


def p(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def run(backend: str, n: int, nq: int) -> None:
    if backend == "postgresql":
        import asyncpg

        dbname = f"bench_crm_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        await conn.execute(f'CREATE DATABASE "{dbname}"')
        await conn.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{dbname}"
    else:
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/crm.db"
    db = Database(url)
    try:
        t = time.perf_counter()
        await load(db, n)
        print(f"[{backend}] loaded {n} customers in {time.perf_counter() - t:.1f}s")
        rng = random.Random(1)
        kinds = {
            "name prefix (王建)": [rng.choice(SURNAMES) + rng.choice(GIVEN) for _ in range(nq)],
            "unit prefix (12栋)": [f"{rng.randrange(1, 40)}栋" for _ in range(nq)],
            "inside a name (建国)": [rng.choice(GIVEN) + rng.choice(GIVEN) + rng.choice(GIVEN) for _ in range(nq // 3)],
        }
        new = lambda s, q: service.search_customers(s, q, 1, 20, "")  # noqa: E731
        for label, qs in kinds.items():
            base = await timed(db, old_search, qs)
            ours = await timed(db, new, qs)
            ratio = statistics.median(base) / statistics.median(ours)
            print(f"[{backend}] {label:22s} substring p50 {statistics.median(base):7.2f} ms p99 {p(base, .99):7.2f} | "
                  f"search p50 {statistics.median(ours):7.2f} ms p99 {p(ours, .99):7.2f} | p50 ratio {ratio:5.1f}x")
    finally:
        await db.dispose()
        if backend == "postgresql":
            conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
            await conn.execute(f'DROP DATABASE "{dbname}"')
            await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    a = ap.parse_args()
    for b in a.backend or ["sqlite", "postgresql"]:
        asyncio.run(run(b, a.customers, a.queries))


if __name__ == "__main__":
    main()
