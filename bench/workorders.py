"""Benchmark: work orders at scale on PostgreSQL (issue 14).

200,000 orders (about 15 % open, spread over 180 days, 6 departments,
150 agents in 10 teams) with 1,000,000 timeline entries, in a throw-away
database.  Measured, medians and p95 over repeated calls:

* the lead's board (views.board) for a team lead (their 15 agents) and for
  an admin (every open order);
* "my tasks" (views.my_tasks) for random agents;
* one escalation pass (jobs.escalate_due) over all open orders, with a few
  thousand due; then the same pass again (idempotent: nothing to do).

Baseline in the same run: fetching one order by primary key (the floor a
request cannot beat), so the figures read as multiples of it too.

    .venv/bin/python bench/workorders.py [--orders 200000] [--timeline 1000000] [--runs 200]
        [--server postgresql+asyncpg://postgres@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import asyncpg  # noqa: E402

import callcenter.models  # noqa: E402,F401  (every table, for create_all)
from callcenter.auth.models import Role  # noqa: E402
from callcenter.auth.scope import EVERYTHING, Scope  # noqa: E402
from callcenter.auth.service import Principal  # noqa: E402
from callcenter.db import Base, Database  # noqa: E402
from callcenter.workorders import jobs, views  # noqa: E402
from callcenter.workorders.models import WorkOrder  # noqa: E402

KINDS = ["repair"] * 45 + ["complaint"] * 15 + ["enquiry"] * 25 + ["request"] * 8 + ["fee"] * 4 + ["suggestion", "praise", "praise"]
OPEN_STATES = {"repair": ["NEW", "DISPATCHED", "ON_SITE", "RETURN_VISIT_DUE"], "complaint": ["RECEIVED", "ASSIGNED", "IN_PROGRESS", "RETURN_VISIT"]}
ACTIONS = ["state", "state", "assign", "note", "chase", "return_visit"]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def load(url: str, n_orders: int, n_timeline: int, now: datetime) -> dict:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await db.dispose()
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    rng = random.Random(14)
    t0 = time.perf_counter()
    users = []
    for i in range(1, 151):
        users.append((i, f"agent{i:03d}", f"坐席{i}", "agent", "x", f"PJSIP/{8000 + i}", "zh-CN", True, 0, now))
    for i in range(151, 161):
        users.append((i, f"lead{i}", f"班长{i}", "team_lead", "x", None, "zh-CN", True, 0, now))
    for i in range(161, 181):
        users.append((i, f"dept{i}", f"部门{i}", "department", "x", None, "zh-CN", True, 0, now))
    await conn.copy_records_to_table("users", records=users, columns=["id", "username", "display_name", "role", "password_hash", "interface", "language",
                                                                      "active", "token_version", "created_at"])  # fmt: skip
    depts = [(i, code, zh, en, None, True) for i, (code, zh, en) in enumerate(
        [("engineering", "工程部", "Engineering"), ("security", "秩序部", "Security"), ("cleaning", "保洁部", "Cleaning"),
         ("service", "客服部", "Service"), ("greening", "绿化部", "Landscaping"), ("finance", "财务部", "Finance")], start=1)]  # fmt: skip
    await conn.copy_records_to_table("wo_departments", records=depts, columns=["id", "code", "name_zh", "name_en", "head_user_id", "active"])
    await conn.copy_records_to_table("wo_department_members", records=[(i - 160, 1 + (i - 161) % 6, i) for i in range(161, 181)],
                                     columns=["id", "department_id", "user_id"])  # fmt: skip
    orders = []
    open_ids = []
    for oid in range(1, n_orders + 1):
        kind = rng.choice(KINDS)
        created = now - timedelta(days=rng.random() * 180)
        is_open = rng.random() < 0.15 or created > now - timedelta(days=2)
        state = rng.choice(OPEN_STATES.get(kind, ["NEW", "ASSIGNED", "IN_PROGRESS"])) if is_open else "CLOSED"
        sev = rng.choice(["serious", "important", "minor", "minor"]) if kind == "complaint" else "normal"
        resolve = created + timedelta(days=rng.choice((0.5, 1, 2, 3, 10)))
        ladder = [{"at": resolve.isoformat(), "level": 1, "reason": "overdue"},
                  {"at": (resolve + timedelta(days=1)).isoformat(), "level": 2, "reason": "overdue_1wd"},
                  {"at": (resolve + timedelta(days=2)).isoformat(), "level": 3, "reason": "overdue_2wd"}]  # fmt: skip
        level = 0
        nxt = None
        if is_open:
            open_ids.append(oid)
            # most open orders were escalated by earlier passes as far as they are due; ~2 % wait for this pass
            due_steps = [s for s in ladder if datetime.fromisoformat(s["at"]) <= now]
            behind = rng.random() < 0.02
            level = max([s["level"] for s in due_steps], default=0) - (1 if behind and due_steps else 0)
            later = [datetime.fromisoformat(s["at"]) for s in ladder if s["level"] > level]
            nxt = min(later) if later else None
        owner = rng.randrange(1, 151)
        orders.append((
            oid, kind, "phone_in", sev, "other" if kind == "repair" else "", state, is_open, f"工单 {oid}", "", None, "", f"139{oid:08d}",
            f"{rng.randrange(1, 40)}栋{rng.randrange(1, 33):02d}01", "", "[]", owner, owner if rng.random() < 0.5 else rng.randrange(1, 151),
            rng.randrange(1, 7) if rng.random() < 0.8 else None, None, None, None, None, resolve, json.dumps(ladder), level, nxt, "", "", 0, 0, "",
            "", None, None, 1, owner, created, created, None if is_open else created + timedelta(days=1),
        ))  # fmt: skip
    cols = ["id", "kind", "channel", "severity", "category", "state", "is_open", "subject", "description", "customer_id", "customer_name", "number",
            "unit", "uniqueid", "calls", "first_owner_id", "assignee_id", "department_id", "appointment_at", "customer_deadline", "escalate_by",
            "answer_by", "resolve_by", "ladder", "escalation_level", "next_escalation_at", "overdue_reason", "overdue_plan", "chases", "reopens",
            "satisfaction", "resolution", "customer_notified_at", "legacy_ticket_id", "version", "created_by", "created_at", "updated_at", "closed_at"]  # fmt: skip
    for i in range(0, len(orders), 20000):
        await conn.copy_records_to_table("work_orders", records=orders[i : i + 20000], columns=cols)
    tl = []
    for tid in range(1, n_timeline + 1):
        oid = rng.randrange(1, n_orders + 1)
        tl.append((tid, oid, now - timedelta(days=rng.random() * 180), None, rng.choice(ACTIONS), '{"text": ""}'))
        if len(tl) == 50000:
            await conn.copy_records_to_table("wo_timeline", records=tl, columns=["id", "order_id", "at", "actor_id", "action", "detail"])
            tl = []
    if tl:
        await conn.copy_records_to_table("wo_timeline", records=tl, columns=["id", "order_id", "at", "actor_id", "action", "detail"])
    for table in ("users", "wo_departments", "wo_department_members", "work_orders", "wo_timeline"):
        await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    await conn.execute("VACUUM ANALYZE")  # what autovacuum leaves in steady state (the visibility map: index-only scans)
    due = await conn.fetchval("SELECT count(*) FROM work_orders WHERE next_escalation_at <= $1", now)
    await conn.close()
    return {"load_s": time.perf_counter() - t0, "open": len(open_ids), "due": due}


def lead(i: int) -> Principal:
    team = frozenset(range(1 + (i - 151) * 15, 16 + (i - 151) * 15))
    return Principal(id=i, username=f"lead{i}", role=Role.team_lead, display_name="", interface=None, scope=Scope(teams=frozenset({i}), users=team | {i}))


async def timed(fn, runs: int) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


async def measure(url: str, runs: int, now: datetime) -> dict:
    db = Database(url)
    rng = random.Random(3)
    res: dict[str, list[float]] = {}
    try:
        async with db.sessions() as s:
            async def floor():  # noqa: ANN202
                s.expunge_all()
                await s.get(WorkOrder, rng.randrange(1, 1000))

            async def board_lead():  # noqa: ANN202
                s.expunge_all()
                await views.board(s, lead(rng.randrange(151, 161)), now)

            async def board_admin():  # noqa: ANN202
                s.expunge_all()
                await views.board(s, Principal(id=999, username="admin", role=Role.admin, display_name="", interface=None, scope=EVERYTHING), now)

            async def board_dept():  # noqa: ANN202
                s.expunge_all()
                i = rng.randrange(161, 181)
                await views.board(s, Principal(id=i, username=f"dept{i}", role=Role.department, display_name="", interface=None), now)

            async def mine():  # noqa: ANN202
                s.expunge_all()
                i = rng.randrange(1, 151)
                await views.my_tasks(s, Principal(id=i, username=f"agent{i:03d}", role=Role.agent, display_name="", interface=f"PJSIP/{8000 + i}"), now)

            for name, fn in (("floor: one order by id", floor), ("board: team lead", board_lead), ("board: admin (all open)", board_admin),
                             ("board: department staff", board_dept), ("my tasks: agent", mine)):  # fmt: skip
                await timed(fn, 5)  # warm
                res[name] = await timed(fn, runs)
            await s.rollback()
        async with db.sessions() as s:
            t = time.perf_counter()
            made = await jobs.escalate_due(s, now)
            first = (time.perf_counter() - t) * 1000
        async with db.sessions() as s:
            t = time.perf_counter()
            again = await jobs.escalate_due(s, now)
            second = (time.perf_counter() - t) * 1000
    finally:
        await db.dispose()
    return {"latency": res, "escalation": {"escalated": len(made), "first_ms": first, "again_escalated": len(again), "again_ms": second}}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=200_000)
    ap.add_argument("--timeline", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--server", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    ap.add_argument("--keep", action="store_true", help="keep the database (its name is printed) to look at plans")
    a = ap.parse_args()
    name = f"cc_bench_wo_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(a.server.replace("postgresql+asyncpg://", "postgresql://") + "/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{a.server}/{name}"
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        info = await load(url, a.orders, a.timeline, now)
        print(f"loaded {a.orders} orders ({info['open']} open, {info['due']} due for escalation), {a.timeline} timeline entries in {info['load_s']:.1f} s")
        out = await measure(url, a.runs, now)
    finally:
        if a.keep:
            print(f"kept database {name}")
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    floor = statistics.median(out["latency"]["floor: one order by id"])
    print(f"{'':28} {'median ms':>10} {'p95 ms':>8} {'p99 ms':>8} {'x floor':>8}")
    for k, xs in out["latency"].items():
        print(f"{k:28} {statistics.median(xs):10.2f} {pct(xs, 95):8.2f} {pct(xs, 99):8.2f} {statistics.median(xs) / floor:8.1f}")
    e = out["escalation"]
    print(f"escalation pass: {e['escalated']} escalated in {e['first_ms']:.0f} ms; again at once: {e['again_escalated']} in {e['again_ms']:.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
