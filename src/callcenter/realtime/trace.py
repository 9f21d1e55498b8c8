"""Stage timestamps for the deltas of chosen topics (bench/cluster.py --trace).

Off unless ``CALLCENTER_TRACE_FILE`` is set.  Then every stage a delta of a
topic starting with ``CALLCENTER_TRACE_PREFIX`` passes (AMI bytes read, hub
publish, stream write, stream read on a follower, websocket send) appends
one line ``stage topic seq monotonic`` to that file (``.<pid>`` appended).  time.monotonic() is
CLOCK_MONOTONIC, one clock for every process on a Linux host, so the bench
joins these lines with its own emit and receive times to see where a
delta's latency goes.

It also marks, as ``span`` lines, every cycle-collector pass of 2 ms or
more (``gc0/1/2``) and how late the event loop woke (``loop_late``); with
``CALLCENTER_TRACE_CENSUS=1``, one full pass after 25 s writes what the
collector tracked, by type (``census``).
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import os
import sys
import threading
import time

_FILE = os.environ.get("CALLCENTER_TRACE_FILE", "")
PREFIX = os.environ.get("CALLCENTER_TRACE_PREFIX", "agent:")
ON = bool(_FILE)
_lines: list[str] = []
_flushed = [0.0]


def mark(stage: str, topic: str, seq: int | str, t: float | None = None) -> None:
    if not topic.startswith(PREFIX):
        return
    now = time.monotonic()
    _lines.append(f"{stage} {topic} {seq} {now if t is None else t:.6f}\n")
    if len(_lines) >= 1000 or now - _flushed[0] > 0.5:
        _flushed[0] = now
        flush()


def span(name: str, started: float) -> None:
    """A piece of synchronous work that held the event loop (when >= 2 ms)."""
    now = time.monotonic()
    if now - started >= 0.002:
        _lines.append(f"span {name} {1000 * (now - started):.1f} {now:.6f}\n")


def flush() -> None:
    if not _lines:
        return
    with open(f"{_FILE}.{os.getpid()}", "a") as f:
        f.writelines(_lines)
    _lines.clear()


_gc_start = [0.0]
_census: list[int] = []
_T0 = time.monotonic()


def _gc(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _gc_start[0] = time.monotonic()
    else:
        span(f"gc{info.get('generation', '?')}", _gc_start[0])
        if info.get("generation") == 2 and os.environ.get("CALLCENTER_TRACE_CENSUS") and not _census and time.monotonic() - _T0 > 25:
            _census.append(1)
            from collections import Counter

            objs = gc.get_objects()
            c = Counter(type(o).__qualname__ for o in objs)
            _lines.append(f"census total {len(objs)} {time.monotonic():.6f}\n")
            _lines.append(f"census frozen {gc.get_freeze_count()} {time.monotonic():.6f}\n")
            for name, n in c.most_common(40):
                _lines.append(f"census {name.replace(' ', '_')} {n} {time.monotonic():.6f}\n")


_beat = [0.0]


async def watch_loop(every: float = 0.005) -> None:
    """How late this loop wakes: the stalls no span names (marked when >= 2 ms);
    a thread samples where the loop's thread is while it is 40 ms late."""
    threading.Thread(target=_sample_stalls, args=(threading.get_ident(),), name="trace-stalls", daemon=True).start()
    while True:
        t = _beat[0] = time.monotonic()
        await asyncio.sleep(every)
        span("loop_late", t + every)


def _sample_stalls(main: int, late: float = 0.04, every: float = 0.02) -> None:
    """``stack <frames> <ms late> <t>`` lines: the loop thread's innermost
    frames (file:line:function, innermost last), every `every` s of a stall."""
    while True:
        time.sleep(every)
        now = time.monotonic()
        if not _beat[0] or now - _beat[0] < late:
            continue
        frame = sys._current_frames().get(main)
        frames = []
        while frame is not None and len(frames) < 8:
            code = frame.f_code
            frames.append(f"{os.path.basename(code.co_filename)}:{frame.f_lineno}:{code.co_name}")
            frame = frame.f_back
        _lines.append(f"stack {'<'.join(frames).replace(' ', '_') or '-'} {1000 * (now - _beat[0]):.0f} {now:.6f}\n")


if ON:
    atexit.register(flush)
    gc.callbacks.append(_gc)
