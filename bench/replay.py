"""Replay throughput and memory of the FULL ingest pipeline, against raw
panoramisk parsing of the same bytes in the same run.

    .venv/bin/python bench/replay.py [--agents 100] [--hours 8] [--repeat 5]
                                     [--memory-agents 2000] [--memory-calls 100000]

1. The capture: a realistic day from the Asterisk simulator (virtual clock,
   seeded): the demo centre's 5 queues, the hotline's hourly profile from
   08:00 Beijing time, log-normal talk, impatient callers, missed rings,
   holds, transfers, breaks; every event Asterisk would send (Newchannel,
   Newexten, VarSet, Dial*, Bridge*, MusicOnHold*...).  Cached in the temp
   directory by its parameters, so repeated runs skip generation.
2. Baseline: panoramisk 1.4's AMIProtocol.data_received (decode, split,
   Message.from_line, dispatch) over the capture in 64 KiB chunks.
3. Pipeline: the same chunks through the bridge's EventStream (split, drop
   unused events unread, parse, normalise) -> AcdService.submit (core, KPI
   windows, records and intervals) -> batched persistence into a fresh SQLite
   file, flushed every 5,000 events.
4. Memory: a bigger day (2,000 agents, 100,000 calls) streamed from its
   capture through EventStream and the core in a fresh process; peak RSS
   (resource.getrusage; tracemalloc would triple the run time).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from panoramisk.ami_protocol import AMIProtocol  # noqa: E402

from callcenter.acd import kpi  # noqa: E402
from callcenter.acd.core import Core, CoreConfig, QueueConfig  # noqa: E402
from callcenter.acd.service import AcdService  # noqa: E402
from callcenter.ami.normaliser import EventStream  # noqa: E402
from callcenter.db import Base, Database, import_all_models  # noqa: E402
from callcenter.demo import DEMO_QUEUES, demo_agents  # noqa: E402
from callcenter.simulator.clock import VirtualClock  # noqa: E402
from callcenter.simulator.pbx import PBX  # noqa: E402
from callcenter.simulator.server import encode  # noqa: E402
from callcenter.simulator.traffic import FLAT_PROFILE, HOTLINE_PROFILE, Traffic, TrafficModel  # noqa: E402

CHUNK = 64 << 10
DAY_START = 1_700_006_400.0  # 2023-11-15 00:00 UTC = 08:00 Beijing


def capture(agents: int, hours: float, seed: int, profile: str, calls: int | None = None) -> Path:
    """Generate (or reuse) a simulator capture; stops at `hours` or `calls`."""
    path = Path(tempfile.gettempdir()) / f"callcenter-bench-{agents}a-{hours}h-{calls}c-{profile}-s{seed}.ami"
    if path.exists():
        return path
    t0 = time.perf_counter()
    part = path.with_suffix(".part")
    with open(part, "wb") as f:
        f.write(b"Asterisk Call Manager/7.0.3\r\n")
        # What simulator.service.build does, with the warm start capped: a
        # thousand callers at once would only measure the PBX's distribution loop.
        pbx = PBX(clock=VirtualClock(DAY_START), seed=seed)
        people = demo_agents(agents)
        shape = HOTLINE_PROFILE if profile == "hotline" else FLAT_PROFILE
        model = TrafficModel.for_occupancy(len(people), 0.85, profile=list(shape), warm_start=min(100, round(0.85 * len(people))))
        traffic = Traffic(pbx, model, seed)
        for _username, name, iface, skills in people:
            traffic.login(iface, name, skills)
        traffic.start()
        buf = bytearray()
        pbx.sinks.append(lambda fields: buf.extend(encode(fields)))
        end = pbx.now + hours * 3600
        while pbx.now < end and (calls is None or traffic.arrivals < calls):
            pbx.advance(60)
            f.write(buf)
            buf.clear()
        traffic.stop()
        pbx.run_until_idle(4 * 3600)
        f.write(buf)
    part.replace(path)
    print(f"generated {path} ({traffic.arrivals} calls) in {time.perf_counter() - t0:.0f} s")
    return path


def chunks(path: Path) -> list[bytes]:
    data = path.read_bytes()
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


class _Factory:
    save_stream = None

    def __init__(self) -> None:
        self.events = 0

    def dispatch(self, message: object) -> None:
        self.events += 1


def panoramisk_parse(data: list[bytes]) -> int:
    proto = AMIProtocol()
    proto.connection_made(None)
    proto.factory = _Factory()
    proto.encoding = "utf-8"
    for chunk in data:
        proto.data_received(chunk)
    return proto.factory.events


def config() -> CoreConfig:
    return CoreConfig(queues={n: QueueConfig(n, sl_threshold_s=sl, wrap_up_s=wrap) for n, _zh, _en, sl, wrap in DEMO_QUEUES})


async def pipeline(data: list[bytes], db_path: str) -> tuple[float, int, int]:
    """Seconds for bytes -> EventStream -> AcdService -> SQLite; (s, events, records)."""
    db = Database(f"sqlite+aiosqlite:///{db_path}")
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    svc = AcdService(db, config(), tick_s=None, batch_max=2000, buffer_max=10_000_000)
    stream = EventStream()
    n = records = 0
    last = 0.0
    next_flush = 5000
    start = time.perf_counter()
    for chunk in data:
        for e in stream.feed(chunk, last):
            last = e.ts  # type: ignore[union-attr]
            records += len(svc.submit(e).records)  # type: ignore[arg-type]
            n += 1
        if n >= next_flush:
            await svc.flush_all()
            next_flush = n + 5000
    await svc.flush_all()
    elapsed = time.perf_counter() - start
    errors = svc.core.stats["errors"] + sum(stream.problems.counts.values())
    await db.dispose()
    assert errors == 0, (svc.core.stats, stream.problems.counts)
    return elapsed, n, records


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=100)
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--memory-agents", type=int, default=2_000)
    ap.add_argument("--memory-calls", type=int, default=100_000, help="0 skips the memory step (slow: see docs/benchmarks.md)")
    ap.add_argument("--memory-of", type=Path, help=argparse.SUPPRESS)  # the child process of step 4
    args = ap.parse_args()
    if args.memory_of:
        return memory_of(args.memory_of)
    import_all_models()

    path = capture(args.agents, args.hours, seed=7, profile="hotline")
    data = chunks(path)
    size = sum(map(len, data))
    frames = data[0].count(b"\r\n\r\n") and sum(c.count(b"\r\n\r\n") for c in data)
    print(f"capture: {args.agents} agents, {args.hours:g} h hotline profile, {frames:,} AMI frames, {size / 1e6:.1f} MB")

    parse_rate, pipe_rate = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            gc.collect()
            t = time.perf_counter()
            parsed = panoramisk_parse(data)
            parse_rate.append(frames / (time.perf_counter() - t))
            gc.collect()
            elapsed, events, records = asyncio.run(pipeline(data, os.path.join(tmp, f"bench{r}.db")))
            pipe_rate.append(frames / elapsed)
    print(f"  {parsed:,} events dispatched by panoramisk; {events:,} domain events and {records:,} call records from the pipeline")
    mp, mq = statistics.median(parse_rate), statistics.median(pipe_rate)
    print(f"\nAMI frames/s over {args.repeat} runs: median, p99 (slowest run), min..max")
    print(f"  baseline  panoramisk AMIProtocol.data_received     {mp:>10,.0f}  p99 {pct([-x for x in parse_rate], 0.99) * -1:>10,.0f}  ({min(parse_rate):,.0f}..{max(parse_rate):,.0f})")
    print(f"  pipeline  EventStream + core + KPIs + SQLite       {mq:>10,.0f}  p99 {pct([-x for x in pipe_rate], 0.99) * -1:>10,.0f}  ({min(pipe_rate):,.0f}..{max(pipe_rate):,.0f})")
    print(f"  ratio     pipeline / raw panoramisk (medians)      {mq / mp:>10.2f}x")
    del data
    gc.collect()

    if not args.memory_calls:
        return
    big = capture(args.memory_agents, 48.0, seed=8, profile="flat", calls=args.memory_calls)
    child = subprocess.run([sys.executable, __file__, "--memory-of", str(big)], capture_output=True, text=True, check=True)
    m = json.loads(child.stdout)
    print(f"\nmemory: {args.memory_agents} agents, {m['calls']:,} calls ({big.stat().st_size / 1e9:.2f} GB capture, streamed "
          f"through EventStream + core in {m['seconds']:.0f} s, {m['frames']:,} frames, {m['agents']} agents, {m['errors']} errors)")  # fmt: skip
    print(f"  EventStream + core: peak traced {m['traced_peak_mib']:.1f} MiB, retained at end {m['traced_end_mib']:.1f} MiB; process peak RSS {m['rss_mib']:.0f} MiB")


def memory_of(path: Path) -> None:
    """In a fresh process: stream a capture through EventStream and the core;
    print tracemalloc's peak and the process's peak RSS as JSON."""
    tracemalloc.start()
    core, stream, last = Core(config()), EventStream(), 0.0
    t = time.perf_counter()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            for e in stream.feed(chunk, last):
                last = e.ts  # type: ignore[union-attr]
                core.apply(e)  # type: ignore[arg-type]
    current, peak = tracemalloc.get_traced_memory()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    errors = core.stats["errors"] + sum(stream.problems.counts.values())
    calls = sum(kpi.figures(q.kpi.window("total", core.now))["offered"] for q in core.queues.values())
    print(json.dumps({"traced_peak_mib": peak / 2**20, "traced_end_mib": current / 2**20, "rss_mib": rss, "calls": calls, "seconds": time.perf_counter() - t, "frames": stream.frames,
                      "agents": len(core.agents), "errors": errors}))  # fmt: skip


if __name__ == "__main__":
    main()
