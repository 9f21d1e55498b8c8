"""Soak: a simulated day of traffic through every fault issue 12 lists,
counted against the simulated PBX's own ledger.

The whole product (AMI bridge, ACD core and service, hooks, spool; the app
as `callcenter serve` builds it) runs against the simulated PBX through a
TCP proxy that cuts the AMI link (tests/outage/stack.py).  Over one
simulated day at --speed times real time:

- --drops link drops (default 120), spread over the day, of random length
  (log-uniform, 1 s to 10 min of simulated time);
- one graceful restart of serve (mid-morning);
- one database outage of --db-outage-s wall seconds (default 60, early
  afternoon): on PostgreSQL a private cluster (tests/pgcluster.py, its own
  port) really stopped and started; on SQLite the app's database handle
  pointed at a file that cannot be opened.

Then every call the PBX handled is looked up in call_records.  Prints calls
made, recorded, lost (must be 0), mislabelled (must be 0), duplicated, and
the reconnect time after each drop (wall seconds from the link's return to
the bridge connected and resynced: p50, p99, max; target < 1 s).

    .venv/bin/python bench/soak.py [--speed 200] [--drops 120] [--backend postgresql|sqlite]
                                   [--db-outage-s 60] [--hours 24] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]


def plan(args: argparse.Namespace, rng: random.Random) -> list[tuple[float, str, float]]:
    """(simulated second of the day, what, how long) in order."""
    day = args.hours * 3600
    steps: list[tuple[float, str, float]] = []
    gap = day / (args.drops + 1)
    for i in range(args.drops):
        at = gap * (i + 1) + rng.uniform(-0.3, 0.3) * gap
        steps.append((at, "drop", math.exp(rng.uniform(math.log(1), math.log(600)))))
    steps.append((day * 0.40, "restart", 0.0))
    steps.append((day * 0.55, "db_outage", args.db_outage_s))
    return sorted(steps)


async def soak(args: argparse.Namespace, tmp: Path) -> int:
    from callcenter.simulator.ledger import compare
    from tests.outage.stack import CallStack
    from tests.outage.test_api_outage import unreachable

    logging.basicConfig(level=logging.ERROR, format="  %(levelname)s %(name)s: %(message)s")
    logging.getLogger("callcenter").setLevel(logging.ERROR)  # 120 'link lost' warnings say nothing new
    rng = random.Random(args.seed)
    pg = None
    if args.backend == "postgresql":
        from sqlalchemy import text  # noqa: F401

        from callcenter.db import Base, Database
        from tests.pgcluster import PrivatePostgres

        pg = PrivatePostgres()
        pg.init()
        pg.start()
        url = pg.create_database("soak")
    else:
        from callcenter.db import Base, Database

        url = f"sqlite+aiosqlite:///{tmp / 'soak.db'}"
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await db.dispose()

    stack = CallStack(url, tmp, speed=args.speed, agents=args.agents, seed=args.seed, occupancy=0.6)
    steps = plan(args, rng)
    drops = Counter()
    blind = 0.0
    t_wall = time.monotonic()
    await stack.start()
    start = stack.pbx.now
    try:
        for at, what, length in steps:
            await stack.sim(max(0.0, start + at - stack.pbx.now))
            if what == "drop":
                took = await stack.cut_link(length)
                drops["drops"] += 1
                blind += length
                if drops["drops"] % 20 == 0:
                    print(f"  {drops['drops']:>3} drops, day {100 * (stack.pbx.now - start) / (args.hours * 3600):4.1f} %, "
                          f"last reconnect {took * 1000:.0f} ms", flush=True)  # fmt: skip
            elif what == "restart":
                print("  restarting serve", flush=True)
                await stack.restart_serve()
            else:
                print(f"  database outage: {length:.0f} s", flush=True)
                if pg is not None:
                    pg.stop()
                    await asyncio.sleep(length)
                    pg.start()
                else:
                    app_db = stack.app.state.db
                    dead = unreachable(url, tmp)
                    saved = app_db.engine, app_db.sessions
                    app_db.engine, app_db.sessions = dead.engine, dead.sessions
                    await asyncio.sleep(length)
                    app_db.engine, app_db.sessions = saved
                spooled = len(stack.app.state.spool)
                print(f"  database back; {spooled} writes waiting in the spool", flush=True)
        await stack.sim(max(0.0, start + args.hours * 3600 - stack.pbx.now))
        report = await stack.finish()
        # Holds that began and ended in a blind window leave no AMI trace: talk + hold too.
        with_hold = compare(stack.ledger, await stack.records(), with_hold=True)
    finally:
        await stack.close()
        if pg is not None:
            pg.destroy()
    wall = time.monotonic() - t_wall
    p50, p99 = stack.reconnect_percentiles()
    outcomes = Counter(v.outcome for v in stack.ledger.finished())
    print(f"\n== soak: {args.hours} simulated hours at {args.speed:g}x in {wall:.0f} s wall ({args.backend}, seed {args.seed})")
    print(f"  faults: {drops['drops']} link drops ({blind / 3600:.1f} simulated hours blind), 1 serve restart, "
          f"1 database outage of {args.db_outage_s:g} s")  # fmt: skip
    print(f"  calls made       {report.made:>6}   ({', '.join(f'{k} {n}' for k, n in outcomes.most_common())})")
    print(f"  calls recorded   {report.recorded:>6}")
    print(f"  lost             {len(report.lost):>6}   (must be 0)")
    print(f"  mislabelled      {len(report.mislabelled):>6}   (must be 0; {len(with_hold.mislabelled)} comparing talk + hold)")
    print(f"  duplicated       {len(report.duplicated):>6}")
    print(f"  unknown          {len(report.unknown):>6}")
    print(f"  reconnect p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(stack.reconnects) * 1000:.0f} ms "
          f"(n={len(stack.reconnects)}; target < 1000 ms)")  # fmt: skip
    why = Counter(w.split(" ")[0] for _, _, w in report.mislabelled)
    if why:
        print(f"  mislabelled by field: {dict(why)}")
    return 0 if report.ok and max(stack.reconnects) < 1.0 else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--speed", type=float, default=200.0, help="simulated seconds per wall second")
    ap.add_argument("--hours", type=float, default=24.0, help="simulated hours")
    ap.add_argument("--drops", type=int, default=120)
    ap.add_argument("--agents", type=int, default=12)
    ap.add_argument("--db-outage-s", type=float, default=60.0, help="wall seconds")
    ap.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.backend == "postgresql" and os.geteuid() == 0 and not Path("/usr/lib/postgresql").exists():
        print("no PostgreSQL binaries for the private cluster; use --backend sqlite", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="cc-soak-") as tmp:
        return asyncio.run(soak(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
