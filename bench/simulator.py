"""How fast the simulated Asterisk produces a day of traffic, against the
rate the same traffic needs live (the baseline: simulated events per real
second at speed 1).  Two measures:

- PBX: events generated and serialised to AMI bytes in virtual time;
- wire: the same events delivered over loopback TCP to a raw reader.

Run: .venv/bin/python bench/simulator.py
     .venv/bin/python bench/simulator.py --agents 1000 --agents 2000 --runs 1   (a centre at scale; PBX only)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from callcenter.simulator.clock import VirtualClock
from callcenter.simulator.server import encode
from callcenter.simulator.service import build

HOURS = 1.0
RUNS = 7


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def pbx_run(agents: int, seed: int) -> tuple[int, float]:
    server = build(agents=agents, seed=seed, clock=VirtualClock())
    count = [0]

    def sink(fields: list[tuple[str, str]]) -> None:
        encode(fields)
        count[0] += 1

    server.pbx.sinks.append(sink)
    start = time.perf_counter()
    server.pbx.advance(HOURS * 3600)
    return count[0], time.perf_counter() - start


async def wire_run(agents: int, seed: int) -> tuple[int, float]:
    server = build(agents=agents, seed=seed, clock=VirtualClock())
    server.faults.login_delay_s = 0
    port = await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"Action: Login\r\nUsername: callcenter\r\nSecret: callcenter\r\n\r\n")
    await reader.readuntil(b"Fully Booted\r\n\r\n")
    start = time.perf_counter()
    server.pbx.advance(HOURS * 3600)
    writer.write(b"Action: Ping\r\nActionID: end\r\n\r\n")
    events, tail = 0, b""
    while True:  # count events as they arrive, until the Pong
        chunk = await reader.read(1 << 16)
        data = tail + chunk
        events += data.count(b"\r\nPrivilege: ")
        if b"ActionID: end\r\n" in data:
            break
        cut = max(0, len(data) - 16)
        events -= data[cut:].count(b"\r\nPrivilege: ")
        tail = data[cut:]
    elapsed = time.perf_counter() - start
    writer.close()
    await server.stop()
    return events, elapsed


def report(name: str, runs: list[tuple[int, float]]) -> None:
    rates = [n / s for n, s in runs]
    events = runs[0][0]
    live = events / (HOURS * 3600)  # baseline: what real time asks for
    med = statistics.median(rates)
    print(f"{name:<28} events/run {events:>7}  events/s median {med:>9,.0f}  p99 {pct(rates, 99):>9,.0f}  "
          f"baseline (live) {live:>6.2f}/s  ratio {med / live:>9,.0f}x")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", type=int, action="append", help="PBX runs with this many agents (repeatable); no wire runs")
    ap.add_argument("--runs", type=int, default=RUNS)
    args = ap.parse_args()
    for agents in args.agents or (20, 100):
        report(f"pbx, {agents} agents, {HOURS:g} h", [pbx_run(agents, 7) for _ in range(args.runs)])
    if args.agents:
        return
    for agents in (20,):
        report(f"wire, {agents} agents, {HOURS:g} h", [asyncio.run(wire_run(agents, 7)) for _ in range(args.runs)])


if __name__ == "__main__":
    main()
