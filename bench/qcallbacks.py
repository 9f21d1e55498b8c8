"""Benchmark: what queued callbacks (acd/qcallbacks.py) add to the core's
cost per event.  The core looks for a callback to offer after every event;
this measures that with callbacks and live callers waiting and every agent
busy (paused), the case where it finds nothing to do and must say so fast.

    PYTHONPATH=src .venv/bin/python bench/qcallbacks.py

Prints CPU µs per applied event (a VarSet nobody reads, so the rest of the
core costs as little as possible) for 0, 20 and 100 callbacks waiting.
"""

from __future__ import annotations

import time

from callcenter.acd import events as ev
from callcenter.acd.core import Core, CoreConfig, QueueConfig
from callcenter.acd.script import Script

T0 = 1_700_000_000.0
AGENTS = 50
EVENTS = 20_000


def build(callbacks: int, live: int) -> Core:
    s = Script()
    for i in range(AGENTS):
        s.member(T0, "support", f"PJSIP/8{i:03d}", paused=True, reason="lunch")
    for i in range(callbacks):
        c = s.join(T0 + i * 0.01, "support", f"1380000{i:04d}")
        s.exit_with_key(T0 + 1 + i * 0.01, c, task=str(i + 1))
    for i in range(live):
        s.join(T0 + 2 + i * 0.01, "support", f"1390000{i:04d}")
    core = Core(CoreConfig(queues={"support": QueueConfig("support")}))
    for e in sorted(s.events, key=lambda e: e.ts):
        core.apply(e)
    return core


def main() -> None:
    for callbacks, live in ((0, 200), (20, 200), (100, 500)):
        core = build(callbacks, live)
        events = [ev.VarSet(T0 + 10 + i * 0.001, "x", "x", "PJSIP/x", "FOO", "1") for i in range(EVENTS)]
        t = time.process_time()
        for e in events:
            core.apply(e)
        dt = time.process_time() - t
        print(f"callbacks waiting {callbacks:4d}, live callers waiting {live}: {dt / EVENTS * 1e6:.1f} µs CPU per event ({AGENTS} agents, all paused)")


if __name__ == "__main__":
    main()
