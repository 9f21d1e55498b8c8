"""Replay throughput and memory of the ACD pipeline, against raw panoramisk
parsing of the same capture in the same run.

    .venv/bin/python bench/replay.py [--calls 40000] [--repeat 5] [--memory-calls 100000]

1. A realistic day, generated and seeded (callcenter.acd.traffic): 10 queues
   x 30 agents, unanswered rings, holds, transfers, impatient callers,
   wrap-ups closed by disposition or by the limit, pauses.
2. The same day rendered as the AMI text Asterisk would send (every queue
   event with its channel snapshot blocks, plus the channel/dialplan events
   the bridge drops: Newchannel, Newstate, Newexten, VarSet, DialBegin,
   MusicOnHold*, Bridge*, HangupRequest ...).
3. Baseline: panoramisk's own message parser (`Message.from_line`, as its
   AMIProtocol calls it) over that text.
4. Pipeline: the domain events through AcdService.submit (core, KPI windows,
   views' inputs) with batched persistence into a fresh SQLite file, flushed
   every 5,000 events.  Parsing/normalising AMI into domain events is the
   bridge's (callcenter.ami) and is not on this branch; the projected full
   rate adds the measured parse cost to ours.
5. Memory: peak traced allocation of the core for 2,000 agents and 100,000 calls.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from panoramisk.message import Message  # noqa: E402

from callcenter.acd import events as ev  # noqa: E402
from callcenter.acd.core import Core, CoreConfig, QueueConfig  # noqa: E402
from callcenter.acd.service import AcdService  # noqa: E402
from callcenter.acd.traffic import Traffic, generate  # noqa: E402
from callcenter.db import Base, Database, import_all_models  # noqa: E402

EOL = "\r\n"
AMI_NAME = {
    "CallerJoined": "QueueCallerJoin",
    "CallerLeft": "QueueCallerLeave",
    "CallerAbandoned": "QueueCallerAbandon",
    "AgentCalled": "AgentCalled",
    "AgentRingNoAnswer": "AgentRingNoAnswer",
    "AgentConnected": "AgentConnect",
    "AgentCompleted": "AgentComplete",
    "DialEnded": "DialEnd",
    "MemberAdded": "QueueMemberAdded",
    "MemberPaused": "QueueMemberPause",
    "MemberStatus": "QueueMemberStatus",
    "Hangup": "Hangup",
    "Hold": "Hold",
    "Unhold": "Unhold",
    "BridgeEntered": "BridgeEnter",
    "BlindTransfer": "BlindTransfer",
    "AttendedTransfer": "AttendedTransfer",
    "VarSet": "VarSet",
    "DispositionSubmitted": None,  # from the desktop, not from Asterisk
    "Tick": None,
}
TWO_CHANNELS = {"AgentCalled", "AgentRingNoAnswer", "AgentConnect", "AgentComplete", "DialEnd"}
NOISE = [
    "Newchannel", "Newstate", "Newexten", "Newexten", "VarSet", "Newexten", "VarSet", "Newexten",
    "MusicOnHoldStart", "Newchannel", "DialBegin", "NewConnectedLine", "DialState", "Newstate",
    "MusicOnHoldStop", "BridgeCreate", "BridgeLeave", "HangupRequest", "SoftHangupRequest",
    "BridgeLeave", "BridgeDestroy", "DeviceStateChange",
]  # fmt: skip


def snapshot(prefix: str, uid: str, channel: str) -> list[str]:
    return [
        f"{prefix}Channel: {channel or 'PJSIP/trunk-00000001'}",
        f"{prefix}ChannelState: 6",
        f"{prefix}ChannelStateDesc: Up",
        f"{prefix}CallerIDNum: 13800138000",
        f"{prefix}CallerIDName: <unknown>",
        f"{prefix}ConnectedLineNum: 8001",
        f"{prefix}ConnectedLineName: Agent",
        f"{prefix}Language: zh",
        f"{prefix}AccountCode: ",
        f"{prefix}Context: from-trunk",
        f"{prefix}Exten: 4001",
        f"{prefix}Priority: 3",
        f"{prefix}Uniqueid: {uid}",
        f"{prefix}Linkedid: {uid}",
    ]


def render(events: list[ev.Event]) -> tuple[str, int]:
    """The AMI text of a capture, and how many messages it holds."""
    out: list[str] = ["Asterisk Call Manager/9.0.0" + EOL]
    n = 0
    for e in events:
        kind = type(e).__name__
        name = AMI_NAME.get(kind, kind)
        if name is None:
            continue
        uid = getattr(e, "uniqueid", "") or getattr(e, "transferee_uniqueid", "") or "1700000000.1"
        lines = [f"Event: {name}", "Privilege: agent,all", f"Timestamp: {e.ts:.6f}"]
        lines += snapshot("", uid, getattr(e, "channel", ""))
        if name in TWO_CHANNELS:
            lines += snapshot("Dest", getattr(e, "dest_uniqueid", uid), getattr(e, "dest_channel", ""))
        for field in e.__dataclass_fields__:
            if field not in ("ts", "uniqueid", "linkedid", "channel", "dest_uniqueid", "dest_channel"):
                lines.append(f"{field.title().replace('_', '')}: {getattr(e, field)}")
        out.append(EOL.join(lines) + EOL + EOL)
        n += 1
        if kind == "CallerJoined":
            for noise in NOISE:
                out.append(EOL.join([f"Event: {noise}", "Privilege: call,all", f"Timestamp: {e.ts:.6f}", *snapshot("", uid, "")]) + EOL + EOL)
                n += 1
    return "".join(out), n


def parse_panoramisk(text: str) -> int:
    """What panoramisk's AMIProtocol.data_received does with the bytes."""
    count = 0
    for chunk in text.split(EOL + EOL):
        if Message.from_line(chunk.strip()) is not None:
            count += 1
    return count


async def pipeline(events: list[ev.Event], config: CoreConfig, db_path: str) -> tuple[float, int]:
    url = f"sqlite+aiosqlite:///{db_path}"
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    svc = AcdService(db, config, tick_s=None, batch_max=2000, buffer_max=10_000_000)
    start = time.perf_counter()
    for i, e in enumerate(events, 1):
        svc.submit(e)
        if i % 5000 == 0:
            await svc.flush_all()
    await svc.flush_all()
    elapsed = time.perf_counter() - start
    await db.dispose()
    return elapsed, svc.core.stats["errors"]


def day(calls: int, queues: int, agents_per_queue: int, seed: int) -> Traffic:
    handle = 180 + 25
    return Traffic(
        calls=calls,
        queues=queues,
        agents_per_queue=agents_per_queue,
        arrival_rate=0.85 * agents_per_queue / handle,
        mean_talk_s=180,
        patience_s=90,
        ring_s=(2, 9),
        p_no_answer=0.05,
        p_hold=0.15,
        p_transfer=0.03,
        wrap_up_s=(5, 45),
        p_wrap_timeout=0.1,
        p_pause=0.05,
        seed=seed,
    )


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=40_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--memory-calls", type=int, default=100_000)
    ap.add_argument("--memory-agents", type=int, default=2_000)
    args = ap.parse_args()
    import_all_models()

    t0 = time.perf_counter()
    events = generate(day(args.calls, 10, 30, seed=7))
    text, ami_messages = render(events)
    print(f"capture: {args.calls} calls, {len(events)} domain events, {ami_messages} AMI messages "
          f"({len(text) / 1e6:.1f} MB), generated in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    config = CoreConfig(queues={f"q{i}": QueueConfig(f"q{i}") for i in range(10)})

    parse_s, pipe_s = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            gc.collect()
            t = time.perf_counter()
            parsed = parse_panoramisk(text)
            parse_s.append(time.perf_counter() - t)
            gc.collect()
            elapsed, errors = asyncio.run(pipeline(events, config, os.path.join(tmp, f"bench{r}.db")))
            pipe_s.append(elapsed)
            assert errors == 0 and parsed >= ami_messages
    parse_rate = [ami_messages / s for s in parse_s]
    pipe_rate = [len(events) / s for s in pipe_s]
    pipe_rate_ami = [ami_messages / s for s in pipe_s]
    med_parse, med_pipe, med_pipe_ami = (statistics.median(x) for x in (parse_rate, pipe_rate, pipe_rate_ami))
    projected = 1 / (1 / med_parse + 1 / med_pipe_ami)
    print(f"\nthroughput, median of {args.repeat} runs (min..max)")
    print(f"  baseline  panoramisk Message.from_line        {med_parse:>10,.0f} AMI msgs/s   ({min(parse_rate):,.0f}..{max(parse_rate):,.0f})")
    print(f"  pipeline  core + KPIs + SQLite batches        {med_pipe:>10,.0f} domain events/s ({min(pipe_rate):,.0f}..{max(pipe_rate):,.0f})")
    print(f"            same, per AMI message of the day     {med_pipe_ami:>10,.0f} AMI msgs/s")
    print(f"  ratio     pipeline / raw parse (per AMI msg)  {med_pipe_ami / med_parse:>10.2f}x")
    print(f"  projected parse + pipeline (no normaliser)    {projected:>10,.0f} AMI msgs/s = {projected / med_parse:.2f}x raw parse")

    # Per-event latency of the core alone (no persistence).
    core = Core(config)
    lat = []
    for e in events:
        t = time.perf_counter_ns()
        core.apply(e)
        lat.append(time.perf_counter_ns() - t)
    print(f"\ncore.apply latency: median {statistics.median(lat) / 1000:.1f} µs, p99 {pct(lat, 0.99) / 1000:.1f} µs, max {max(lat) / 1000:.0f} µs")
    t = time.perf_counter_ns()
    for _ in range(100):
        core.wallboard()
    print(f"wallboard() with 10 queues / 300 agents: {(time.perf_counter_ns() - t) / 100 / 1e6:.2f} ms")
    del events, text, core, lat
    gc.collect()

    # Memory: 2,000 agents, 100,000 calls.
    queues = 20
    t0 = time.perf_counter()
    big = generate(day(args.memory_calls, queues, args.memory_agents // queues, seed=8))
    gen_s = time.perf_counter() - t0
    gc.collect()
    tracemalloc.start()
    core = Core(CoreConfig())
    for e in big:
        core.apply(e)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"\nmemory: {args.memory_agents} agents, {args.memory_calls} calls ({len(big)} events, generated in {gen_s:.0f} s)")
    print(f"  core peak traced {peak / 2**20:.1f} MiB, retained at end {current / 2**20:.1f} MiB, "
          f"{len(core.agents)} agents, {core.stats['errors']} errors")  # fmt: skip


if __name__ == "__main__":
    main()
