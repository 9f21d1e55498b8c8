"""What every part of the core shares: its configuration, the Output of one
event, the actions it asks for, and its timers.  Plain data, no logic
beyond a heap."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, Literal

WRAP_REASON = "wrap-up"  # the pause reason of the core's own wrap-up pause
CALLBACK_REASON = "callback"  # ... and of its hold on an agent a queued callback is offered to
CORE_PAUSES = frozenset({WRAP_REASON, CALLBACK_REASON})  # pauses the core sets, not a person
UNSPECIFIED = "unspecified"


@dataclass(frozen=True, slots=True)
class QueueConfig:
    name: str
    sl_threshold_s: float = 20.0
    short_abandon_s: float = 5.0
    abandon_mode: Literal["against", "ignore", "favour"] = "against"
    wrap_up_s: float = 60.0


@dataclass(slots=True)
class CoreConfig:
    queues: dict[str, QueueConfig] = field(default_factory=dict)
    default_queue: QueueConfig = field(default_factory=lambda: QueueConfig(name="*"))
    # "today" resets at this local time of the centre's IANA zone (acd/days.py:
    # the day follows the zone's rules, daylight saving included).
    day_reset_s: int = 0
    tz_offset_s: int = 8 * 3600  # unused by the core's days since they follow `zone`; kept for callers that pass it
    # The centre's IANA zone: "today", and the local day of each 30-minute report row.
    zone: str = "Asia/Shanghai"
    # The keys a waiting caller presses for a callback (extensions.conf [cc-queue-keys]):
    # a queue_log EXITWITHKEY with one of them is a callback request (backfill.py).
    callback_keys: tuple[str, ...] = ("9",)

    def queue(self, name: str) -> QueueConfig:
        return self.queues.get(name) or QueueConfig(
            name=name,
            sl_threshold_s=self.default_queue.sl_threshold_s,
            short_abandon_s=self.default_queue.short_abandon_s,
            abandon_mode=self.default_queue.abandon_mode,
            wrap_up_s=self.default_queue.wrap_up_s,
        )


@dataclass(frozen=True, slots=True)
class PauseMember:
    """Ask the gateway to pause (paused=True) or unpause an interface in
    every queue it is in; reason "wrap-up" for the core's own wrap-up."""

    interface: str
    paused: bool
    reason: str


@dataclass(frozen=True, slots=True)
class ScreenPop:
    """Tell the agent's desktop a call is ringing, was answered, or is gone."""

    interface: str
    call_id: str
    phase: Literal["ringing", "answered", "cleared"]


@dataclass(frozen=True, slots=True)
class CallbackOffer:
    """Originate a queued callback (qcallbacks.py): the agent's phone first,
    then the number; `task` is the callback task (CC_CALLBACK_TASK)."""

    callback_id: str
    queue: str
    interface: str
    number: str
    task: str
    uniqueid: str
    entered_at: float  # the caller's original entry: the place kept
    position: int = 0  # their position when they joined (QueueCallerJoin)
    requested_at: float = 0.0  # when they pressed the key


@dataclass(slots=True)
class Output:
    ts: float
    agents: set[str] = field(default_factory=set)  # interfaces whose view changed
    queues: set[str] = field(default_factory=set)  # queues whose view/KPIs changed
    calls: set[str] = field(default_factory=set)  # call ids whose live view changed
    pops: list[ScreenPop] = field(default_factory=list)
    actions: list[PauseMember] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)  # finished calls, `replay --json` call shape + extras
    intervals: list[dict[str, Any]] = field(default_factory=list)  # closed agent state intervals
    facts: list[Any] = field(default_factory=list)  # the call tracker's facts (calls.Fact)
    interval_rows: list[dict[str, Any]] = field(default_factory=list)  # closed 30-minute report rows (reports/intervals.py)
    offers: list[CallbackOffer] = field(default_factory=list)  # queued callbacks to originate now
    callbacks: list[dict[str, Any]] = field(default_factory=list)  # queued callbacks that ended (connected or given up)
    callback_facts: list[dict[str, Any]] = field(default_factory=list)  # a queued callback dialled / reached (persisted: the KPIs' source)


class Timers:
    """Deadlines by kind and key; the core fires them as event time passes
    them, at their own deadline, so a replay without ticks and a live feed
    with ticks agree exactly."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str, str]] = []
        self._seq = 0

    def add(self, deadline: float, kind: str, key: str) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (deadline, self._seq, kind, key))

    def due(self, ts: float) -> tuple[float, str, str] | None:
        """The next timer at or before `ts`, removed; None when none is due."""
        if self._heap and self._heap[0][0] <= ts:
            deadline, _, kind, key = heapq.heappop(self._heap)
            return deadline, kind, key
        return None

    def __len__(self) -> int:
        return len(self._heap)


def rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 3)
