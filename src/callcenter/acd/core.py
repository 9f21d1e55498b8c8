"""The ACD core: domain events in, state and outputs out.  Pure: no I/O,
no clock reads (time comes from ``event.ts``), no randomness.

CONTRACT (other capabilities code against this; the implementation fills
it in without changing these names):

    core = Core(CoreConfig(queues={...}, day_reset_s=0, tz_offset_s=8*3600))
    out = core.apply(event)          # -> Output, for every event incl. Tick
    core.queue_view(name) -> dict    # JSON-ready live queue state + KPIs
    core.agent_view(interface) -> dict
    core.call_view(call_id) -> dict | None
    core.wallboard() -> dict         # {"queues": {...}, "agents": {...}, "totals": {...}}

The live service (acd/service.py) feeds it from the bridge and from the
desktop/hooks, executes `out.actions` through the gateway, persists
`out.records` / `out.intervals` in batches, and tells the realtime hub
which views changed (`out.agents`, `out.queues`, `out.calls`, `out.pops`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from callcenter.acd.events import Event


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
    # "today" resets at this local time; local = UTC + tz_offset_s (the
    # service passes the configured zone's offset, so the core stays pure).
    day_reset_s: int = 0
    tz_offset_s: int = 8 * 3600

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


class Core:
    def __init__(self, config: CoreConfig | None = None) -> None:
        self.config = config or CoreConfig()

    def apply(self, event: Event) -> Output:
        raise NotImplementedError

    def queue_view(self, name: str) -> dict[str, Any]:
        raise NotImplementedError

    def agent_view(self, interface: str) -> dict[str, Any]:
        raise NotImplementedError

    def call_view(self, call_id: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def wallboard(self) -> dict[str, Any]:
        raise NotImplementedError
