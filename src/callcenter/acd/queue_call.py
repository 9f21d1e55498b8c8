"""A caller's stay in one queue (`QueueCall`), the members rung for it
(`Attempt`), a queue's live state (`QueueState`), and the call record a
finished one becomes (`queue_record`).  The rules that move them are in
queues.py; these are the shapes the tracker, talk, callbacks, resync,
backfill, views and snapshot share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from callcenter.acd import kpi
from callcenter.acd.common import CoreConfig, rounded

OUTCOME_SLOT = {
    "abandoned": kpi.ABANDONED,
    "timeout": kpi.TIMEOUTS,
    "left_empty": kpi.LEFT_EMPTY,
    "exit_key": kpi.EXIT_KEY,
    "callback_requested": kpi.CALLBACKS,
}


@dataclass(slots=True)
class Attempt:
    agent: str
    name: str
    started_at: float
    dest_uniqueid: str
    ring_s: float | None = None
    result: str | None = None


@dataclass(slots=True, eq=False)
class QueueCall:
    call_id: str
    uniqueid: str
    linkedid: str
    queue: str
    caller_number: str
    caller_name: str
    entered_at: float
    position: int
    priority: int = 0
    state: str = "waiting"  # waiting | ringing | talking | on_hold | wrap_up | ended
    route: dict[str, Any] | None = None
    attempts: list[Attempt] = field(default_factory=list)
    left_at: float | None = None
    pending: str | None = None  # "abandon" | "left": out of the queue, outcome not known yet
    callback: bool = False
    outcome: str | None = None
    abandon_position: int | None = None
    sl_wait: int | None = None  # the wait in whole seconds, as app_queue counts it
    answered_at: float | None = None
    agent: str | None = None
    agent_name: str = ""
    member_uid: str = ""  # the member leg app_queue dialled (a Local half for Local members)
    member_optimised: bool = False  # that Local half was swapped out of the call (optimised away)
    phone_uid: str = ""  # the agent's own phone channel on this call
    hold_started: float | None = None
    hold_s: float = 0.0
    talk_end: float | None = None
    talk_s: float = 0.0
    transfer: dict[str, str] | None = None
    ended_at: float | None = None
    wrap_done: bool = False
    wrap_up_s: float = 0.0
    disposition: str | None = None
    disposition_note: str = ""
    recording_file: str | None = None
    inferred: bool = False
    source: str = "live"  # live | resync | backfill: how we learned of it
    estimated: bool = False  # some of its times were guessed at a resync (the backfill corrects them)
    end_inferred: bool = False  # its talk ended in a blind window: the end is the resync's guess, not seen
    offered_counted: bool = False  # its OFFERED is in the KPIs (once, whatever the path)
    agent_counted: bool = False  # ... and the agent's handled call in their totals
    thread: str = ""  # the tracker's call (calls.Call.call_id) this queue call is part of
    direction: str = "inbound"  # outbound: a predictive dial's customer ([cc-predictive], CC_DIRECTION)
    callee_number: str = ""  # outbound: the number dialled (CC_NUMBER); its caller ID is the hotline
    legs: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)

    @property
    def guessed(self) -> bool:
        """Some of its figures are a resync's guesses (not all seen live): queue_log may correct them."""
        return self.inferred or self.estimated or self.source != "live"

    def open_attempts(self) -> list[Attempt]:
        return [a for a in self.attempts if a.result is None]

    def note(self, ts: float, what: str, **details: Any) -> None:
        self.timeline.append({"t": ts, "kind": what, **details})


class QueueState:
    __slots__ = ("name", "waiting", "members", "known", "kpi")

    def __init__(self, name: str, kpis: kpi.KpiSet) -> None:
        self.name = name
        self.waiting: dict[str, QueueCall] = {}
        self.members: set[str] = set()
        self.known: set[str] = set()
        self.kpi = kpis


def queue_record(c: QueueCall, config: CoreConfig) -> dict[str, Any]:
    if c.answered_at is not None:
        wait = c.answered_at - c.entered_at
    elif c.left_at is not None:
        wait = c.left_at - c.entered_at
    else:
        wait = 0.0
    short = c.outcome == "abandoned" and wait < config.queue(c.queue).short_abandon_s
    out = c.direction == "outbound"  # a predictive dial: the customer answered, then waited for an agent
    return {
        "call_id": c.call_id,
        "uniqueid": c.uniqueid,
        "linkedid": c.linkedid,
        "kind": "outbound" if out else "queue",
        "direction": c.direction,
        "queue": c.queue,
        "caller_number": c.caller_number,
        "caller_name": c.caller_name,
        "callee_number": (c.callee_number or c.caller_number) if out else "",
        "peer_agent": None,
        "entered_at": c.entered_at,
        "answered_at": c.answered_at,
        "ended_at": c.ended_at,
        "wait_s": rounded(max(0.0, wait)),
        "sl_wait_s": c.sl_wait if c.sl_wait is not None else (max(0, int(c.entered_at + wait) - int(c.entered_at))),
        "talk_s": rounded(c.talk_s),
        "hold_s": rounded(c.hold_s),
        "wrap_up_s": rounded(c.wrap_up_s),
        "agent": c.agent,
        "agent_name": c.agent_name,
        "outcome": c.outcome,
        "short_abandon": short,
        "abandon_position": c.abandon_position if c.outcome == "abandoned" else None,
        "priority": c.priority,
        "disposition": c.disposition,
        "disposition_note": c.disposition_note,
        "recording_file": c.recording_file,
        "ring_attempts": [
            {"agent": a.agent, "ring_s": rounded(a.ring_s or 0.0), "result": a.result or "cancelled", "started_at": a.started_at}
            for a in c.attempts
        ],
        "transfer": dict(c.transfer) if c.transfer else None,
        "legs": list(c.legs.values()),
        "timeline": c.timeline,
        "inferred": c.inferred,
        "source": c.source,
        # A connected outbound call no agent took (queue timeout, the customer hanging up): dropped.
        "end_reason": ("no-agent" if c.answered_at is None else None) if out else None,
    }
