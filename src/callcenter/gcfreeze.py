"""Keep the long-lived objects out of the cycle collector's full passes.

Why: a node serving 1,500 websockets holds ~300,000 objects the collector
tracks (~210 per connection: the ASGI stack's coroutines and frames, its
tasks, the protocol objects).  Python 3.11 walks every one of them in a
full collection, which it starts whenever a quarter as many new objects
have survived since the last: 6 to 9 times in 30 s at 1,000 AMI events/s,
each holding the event loop 130-490 ms.  That was the whole tail of
event-to-browser latency (bench/cluster.py --trace: p99 150-220 ms, with
p50 5-9 ms).

So each full collection ends by freezing what survived it (`gc.freeze`:
the permanent generation, which no collection walks), and the next one
walks only what is newer.  A frozen object still goes when its last
reference does; only a reference cycle among frozen objects would stay
(a closed websocket left one of ~100 objects until the hub dropped its
tasks' tracebacks).  So when the frozen set has grown to `grow` times its
size after the last clean pass, and `every_s` have passed since, it is
unfrozen and the next full collection walks, and cleans, everything once:
one long pause at most every `every_s` (the first after the clients have
connected), none at all while the frozen set holds steady.  Its size is
asked (`gc.get_freeze_count`, itself a walk of the whole frozen list:
30-60 ms at 300,000 objects) only once that interval has passed.

One more step keeps the full passes small: Python starts the next full pass
when a quarter as many objects as the last one left alive are new, so
after a pass that froze 300,000 objects (a connect storm) the next one
would wait for 75,000 and walk them at once (70 ms seen).  Right after a
freeze a full pass over what is left (little: what is not frozen) is run
from the event loop, and the next ones come as often, and as small, as
the objects that survive.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Iterator
from typing import Any


class FreezeAfterFull:
    """The `gc.callbacks` hook: after each full pass, freeze; now and then, thaw once."""

    def __init__(self, grow: float = 2.0, floor: int = 200_000, every_s: float = 3600.0, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop  # where the settling pass runs (None: no settling pass)
        self._settling = False
        self._settle_due = False
        self.grow = grow
        self.floor = floor  # below this many frozen objects, never bother unfreezing
        self.every_s = every_s
        self.clean = gc.get_freeze_count()  # frozen objects after the last pass that walked them all
        self.clean_at = time.monotonic()
        self.unfrozen = False
        self.count_every_s = min(60.0, every_s)
        self._next_count = 0.0
        self.stats = {"frozen": 0, "clean_passes": 0, "settled": 0}

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        # Runs inside the collector, after the pass: freeze() only moves list heads.
        if phase != "stop" or info.get("generation") != 2:
            return
        settling, self._settling = self._settling, False
        if self.unfrozen:  # this pass walked everything: it is the new clean size
            self.unfrozen = False
            gc.freeze()
            self.clean = gc.get_freeze_count()
            self.clean_at = time.monotonic()
            self.stats["clean_passes"] += 1
            return
        now = time.monotonic()
        if now - self.clean_at >= self.every_s and now >= self._next_count:
            # Counting the frozen set walks it (gc_list_size: 30-60 ms at 300,000
            # objects, seen as a 60 ms stall after every full pass), so only when a
            # clean pass is due by time, and then at most every `count_every_s`.
            self._next_count = now + self.count_every_s
            if gc.get_freeze_count() > max(self.floor, self.grow * self.clean):
                gc.unfreeze()  # the next full pass sees everything once and collects what is dead
                self.unfrozen = True
                return
        gc.freeze()
        self.stats["frozen"] += 1
        if not settling and self.loop is not None and not self._settle_due:
            self._settle_due = True
            try:
                self.loop.call_soon_threadsafe(self._settle)
            except RuntimeError:  # the loop is closed
                self._settle_due = False

    def _settle(self) -> None:
        """A full pass over what is not frozen: the collector's count of
        long-lived objects becomes that (small) number."""
        self._settle_due = False
        self._settling = True
        try:
            gc.collect()
        finally:
            self._settling = False
        self.stats["settled"] += 1


@contextlib.contextmanager
def keeping(
    grow: float = 2.0, floor: int = 200_000, every_s: float = 3600.0, loop: asyncio.AbstractEventLoop | None = None
) -> Iterator[FreezeAfterFull]:
    """For a server's lifetime: freeze what startup built, then every full
    pass's survivors (settling passes run on `loop`)."""
    gc.freeze()
    keeper = FreezeAfterFull(grow, floor, every_s, loop)
    gc.callbacks.append(keeper)
    try:
        yield keeper
    finally:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(keeper)
        gc.unfreeze()
