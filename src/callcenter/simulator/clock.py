"""Time for the simulator: one discrete-event schedule, driven either by the
wall clock (demo, `callcenter simulate`) or by nothing at all (tests).

Everything the PBX does happens in a timer callback at an exact simulated
instant, and every event it emits is stamped with that instant.  So a run is
a pure function of its inputs and seed: with a VirtualClock it completes as
fast as the CPU allows and is byte-for-byte repeatable; with a RealClock the
same schedule is paced against time.monotonic().
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any

# 2023-11-14 22:13:20 UTC: a fixed epoch makes virtual runs reproducible.
VIRTUAL_EPOCH = 1_700_000_000.0


class Timer:
    __slots__ = ("when", "fn", "args", "cancelled")

    def __init__(self, when: float, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.when = when
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Schedule:
    """A heap of timers; ties run in the order they were scheduled."""

    def __init__(self, start: float) -> None:
        self.now = start
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self.changed: asyncio.Event | None = None  # set by RealClock to wake its runner
        self.firing = False  # inside run_until: timers are running

    def at(self, when: float, fn: Callable[..., Any], *args: Any) -> Timer:
        timer = Timer(max(when, self.now), fn, args)
        heapq.heappush(self._heap, (timer.when, next(self._seq), timer))
        if self.changed is not None:
            self.changed.set()
        return timer

    def after(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        return self.at(self.now + max(0.0, delay), fn, *args)

    def next_time(self) -> float | None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def run_until(self, until: float) -> int:
        """Fire every timer due at or before `until`, then set now = until."""
        fired = 0
        self.firing = True
        try:
            while True:
                t = self.next_time()
                if t is None or t > until:
                    break
                _, _, timer = heapq.heappop(self._heap)
                self.now = max(self.now, timer.when)
                timer.fn(*timer.args)
                fired += 1
        finally:
            self.firing = False
        self.now = max(self.now, until)
        return fired


class VirtualClock:
    """Simulated time only moves when the test says so (`advance`)."""

    realtime = False

    def __init__(self, start: float = VIRTUAL_EPOCH) -> None:
        self.start = start

    def wall(self, schedule: Schedule) -> float:
        return schedule.now


class RealClock:
    """Simulated time = start + elapsed wall time x speed."""

    realtime = True

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = speed
        self.start = time.time() if start is None else start
        self._mono0 = time.monotonic()

    def wall(self, schedule: Schedule) -> float:
        return self.start + (time.monotonic() - self._mono0) * self.speed

    async def run(self, schedule: Schedule) -> None:
        """Fire timers as their moment comes, forever (cancel the task to stop)."""
        schedule.changed = asyncio.Event()
        while True:
            schedule.changed.clear()
            schedule.run_until(self.wall(schedule))
            t = schedule.next_time()
            delay = 3600.0 if t is None else max(0.0, (t - self.wall(schedule)) / self.speed)
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a
            # cancel that lands as the wait ends, and then this loop never
            # stops (AmiServer.stop waited on it forever).
            try:
                async with asyncio.timeout(delay):
                    await schedule.changed.wait()
            except TimeoutError:
                pass
