"""Interval facts: the core's facts summed per 30-minute interval, one row
per queue and one per agent, closed at each boundary in *event time*.

Pure (no I/O, no clock): the core calls the `offered / exited / handled /
callback / agent_time / agent_handled / outbound` hooks at the moment each fact
happens (the same moments its live KPI windows count them), and `close`
when event time crosses a boundary.  A replay of a capture therefore
closes the same intervals with the same sums as the live run did.

Attribution (stated in every report): a call is offered in the interval it
joined the queue, answered/abandoned in the interval it left the queue,
handled (talk, hold, wrap-up, transfer) in the interval its wrap-up ended,
as the live "this interval" and "today" windows count it.  Agent time is
split at the boundary.  Facts older than the open interval (a restart's
reload of today's calls) are already in a written row and are dropped.

Intervals start at multiples of 1800 s of Unix time: that is a local
half-hour boundary in every zone whose offset is a whole half hour
(Asia/Shanghai, Europe/*, America/*), with or without daylight saving.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo
from typing import Any

from callcenter.acd.common import QueueConfig
from callcenter.acd.kpi import sl_decision

INTERVAL_S = 1800
# Wait buckets (seconds): 0-5, 5-10, 10-20, 20-30, 30-60, 60-120, 120+.
EDGES = (5, 10, 20, 30, 60, 120)
BUCKETS = ("0_5", "5_10", "10_20", "20_30", "30_60", "60_120", "120_")
SL30_S = 30.0

# Queue row counters, in this order (all sums; max_wait_s is a maximum).
QUEUE_SUMS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "timeouts",
    "other_exits",  # left empty, exit key, callback requested
    "sl_met",  # the queue's own T and abandon rule (kpi.sl_decision)
    "sl_counted",
    "sl30_met",  # the same rule at 30 s
    "sl30_counted",
    "answered_30",  # answered within 30 s (whole seconds)
    "wait_answered_s",
    "wait_abandoned_s",
    "handled",
    "talk_s",
    "hold_s",
    "wrap_s",
    "transfers",
    "outbound_attempts",
    "outbound_connects",
    # Queued callbacks (acd/qcallbacks.py): asked for (in the interval the caller
    # pressed the key), dialled, reached, reached on the day asked (日结日清),
    # and for those reached, Σ original entry -> connect, Σ request -> connect.
    "callbacks_requested",
    "callbacks_made",
    "callbacks_reached",
    "callbacks_same_day",
    "callback_wait_s",
    "callback_delay_s",
    *(f"abandoned_{b}" for b in BUCKETS),
    *(f"answered_{b}" for b in BUCKETS),
)
QUEUE_FIELDS = (*QUEUE_SUMS, "max_wait_s")
_Q = {name: i for i, name in enumerate(QUEUE_FIELDS)}
_MAXW = _Q["max_wait_s"]
_AB0 = _Q["abandoned_0_5"]
_AN0 = _Q["answered_0_5"]

# Agent row: seconds by state (as the desktop's state machine has them),
# calls handled, outbound attempts, and the pause as set, by reason.
AGENT_SUMS = (
    "logged_in_s",
    "available_s",
    "ringing_s",
    "talk_s",
    "dialing_s",
    "hold_s",
    "wrap_s",
    "paused_s",
    "handled",
    "handled_inbound",
    "handled_outbound",
    "handled_talk_s",
    "outbound_attempts",
    "outbound_connects",
)
_A = {name: i for i, name in enumerate(AGENT_SUMS)}
_STATE_SLOT = {
    "available": _A["available_s"],
    "ringing": _A["ringing_s"],
    "on_call": _A["talk_s"],
    "on_hold": _A["hold_s"],
    "wrap_up": _A["wrap_s"],
    "paused": _A["paused_s"],
}


def bucket_of(wait_s: float) -> int:
    for i, edge in enumerate(EDGES):
        if wait_s < edge:
            return i
    return len(EDGES)


def interval_start(ts: float) -> int:
    return int(ts // INTERVAL_S) * INTERVAL_S


@dataclass(slots=True)
class _AgentRow:
    sums: list[float] = field(default_factory=lambda: [0.0] * len(AGENT_SUMS))
    pause: dict[str, float] = field(default_factory=dict)


class IntervalAccumulator:
    """The open interval's counters; `close` hands back its rows."""

    def __init__(self, queue_config: Callable[[str], QueueConfig], zone: str = "Asia/Shanghai") -> None:
        self.queue_config = queue_config
        self.zone = ZoneInfo(zone)
        self.start: int | None = None
        # Facts before `floor` (inside the open interval) are already in a
        # partial row written at a graceful stop and resumed (`resume`).
        self.floor: float | None = None
        self.queues: dict[str, list[float]] = {}
        self.agents: dict[str, _AgentRow] = {}
        self.known_queues: set[str] = set()
        self.late = 0  # facts older than the open interval (dropped)
        # A queue_log backfill corrects calls of intervals already written:
        # while `correcting`, their facts go to signed delta rows per
        # (interval, key), which the store adds to the written rows.
        self.correcting = False
        self.deltas_q: dict[tuple[int, str], list[float]] = {}
        self.deltas_a: dict[tuple[int, str], _AgentRow] = {}

    # --- where a fact goes --------------------------------------------------------

    def _open(self, ts: float) -> bool:
        if self.start is None:
            self.start = interval_start(ts)
        if ts < self.start or (self.floor is not None and ts < self.floor):
            self.late += 1
            return False
        return True

    def _queue(self, name: str) -> list[float]:
        row = self.queues.get(name)
        if row is None:
            row = self.queues[name] = [0.0] * len(QUEUE_FIELDS)
            self.known_queues.add(name)
        return row

    def _agent(self, iface: str) -> _AgentRow:
        row = self.agents.get(iface)
        if row is None:
            row = self.agents[iface] = _AgentRow()
        return row

    # --- queue facts --------------------------------------------------------------

    def _qrow(self, queue: str, ts: float) -> list[float] | None:
        """The row a queue fact at `ts` goes to: the open interval's, a
        correction's (while correcting), or none (already written)."""
        if self._open(ts):
            return self._queue(queue)
        if not self.correcting:
            return None
        key = (interval_start(ts), queue)
        row = self.deltas_q.get(key)
        if row is None:
            row = self.deltas_q[key] = [0.0] * len(QUEUE_FIELDS)
        return row

    def _arow(self, iface: str, ts: float) -> _AgentRow | None:
        if self._open(ts):
            return self._agent(iface)
        if not self.correcting:
            return None
        key = (interval_start(ts), iface)
        row = self.deltas_a.get(key)
        if row is None:
            row = self.deltas_a[key] = _AgentRow()
        return row

    def offered(self, queue: str, ts: float) -> None:
        q = self._qrow(queue, ts)
        if q is not None:
            q[0] += 1

    def exited(self, queue: str, ts: float, outcome: str, wait: float, sl_wait: float, short: bool, sign: float = 1.0) -> None:
        """A caller left the queue (sign -1: a backfill takes back the figures an estimate counted)."""
        q = self._qrow(queue, ts)
        if q is None:
            return
        cfg = self.queue_config(queue)
        met, counted = sl_decision(cfg, outcome, sl_wait)
        q[_Q["sl_met"]] += sign * met
        q[_Q["sl_counted"]] += sign * counted
        cfg30 = QueueConfig(cfg.name, SL30_S, cfg.short_abandon_s, cfg.abandon_mode, cfg.wrap_up_s)
        met30, counted30 = sl_decision(cfg30, outcome, sl_wait)
        q[_Q["sl30_met"]] += sign * met30
        q[_Q["sl30_counted"]] += sign * counted30
        if sign > 0 and wait > q[_MAXW]:
            q[_MAXW] = wait
        b = bucket_of(wait)
        if outcome == "answered":
            q[_Q["answered"]] += sign
            q[_Q["wait_answered_s"]] += sign * wait
            q[_AN0 + b] += sign
            if sl_wait <= SL30_S:
                q[_Q["answered_30"]] += sign
        elif outcome == "abandoned":
            q[_Q["abandoned"]] += sign
            q[_Q["wait_abandoned_s"]] += sign * wait
            q[_AB0 + b] += sign
            if short:
                q[_Q["short_abandoned"]] += sign
        elif outcome == "timeout":
            q[_Q["timeouts"]] += sign
        else:
            q[_Q["other_exits"]] += sign
            if outcome == "callback_requested":
                q[_Q["callbacks_requested"]] += sign

    def handled(self, queue: str, ts: float, talk: float, hold: float, wrap: float, transferred: bool = False, sign: float = 1.0) -> None:
        q = self._qrow(queue, ts)
        if q is None:
            return
        q[_Q["handled"]] += sign
        q[_Q["talk_s"]] += sign * talk
        q[_Q["hold_s"]] += sign * hold
        q[_Q["wrap_s"]] += sign * wrap
        q[_Q["transfers"]] += sign * transferred

    def outbound(self, queue: str, agent: str | None, ts: float, connected: bool) -> None:
        if queue:
            q = self._qrow(queue, ts)
            if q is not None:
                q[_Q["outbound_attempts"]] += 1
                q[_Q["outbound_connects"]] += connected
        if agent:
            row = self._arow(agent, ts)
            if row is not None:
                a = row.sums
                a[_A["outbound_attempts"]] += 1
                a[_A["outbound_connects"]] += connected

    def callback(self, queue: str, ts: float, reached: bool, wait: float = 0.0, delay: float = 0.0, same_day: bool = False) -> None:
        """A queued callback dialled (`reached` False) or reached, in the interval it happened."""
        q = self._qrow(queue, ts)
        if q is None:
            return
        if not reached:
            q[_Q["callbacks_made"]] += 1
            return
        q[_Q["callbacks_reached"]] += 1
        q[_Q["callbacks_same_day"]] += same_day
        q[_Q["callback_wait_s"]] += wait
        q[_Q["callback_delay_s"]] += delay

    # --- agent facts --------------------------------------------------------------

    def agent_time(self, iface: str, state: str, reason: str, start: float, end: float) -> None:
        """A closed stretch of one state (or, state "pause", of a pause as
        set); the part before the open interval was credited at its close."""
        if self.start is None:
            self.start = interval_start(end)
        begin = max(start, self.start, self.floor or 0.0)
        seconds = end - begin
        if seconds <= 0 or state == "logged_out":
            return
        self._credit(iface, state, reason, seconds)

    def _credit(self, iface: str, state: str, reason: str, seconds: float) -> None:
        a = self._agent(iface)
        if state == "pause":
            key = reason or "unspecified"
            a.pause[key] = a.pause.get(key, 0.0) + seconds
            return
        slot = _STATE_SLOT.get(state)
        if state == "on_call" and reason == "dialing":
            slot = _A["dialing_s"]
        if slot is None:
            return
        a.sums[slot] += seconds
        a.sums[0] += seconds

    def agent_handled(self, iface: str, ts: float, direction: str, talk: float) -> None:
        row = self._arow(iface, ts)
        if row is None:
            return
        a = row.sums
        a[_A["handled"]] += 1
        a[_A["handled_talk_s"]] += talk
        if direction == "inbound":
            a[_A["handled_inbound"]] += 1
        elif direction == "outbound":
            a[_A["handled_outbound"]] += 1

    # --- closing ------------------------------------------------------------------

    def due(self, now: float) -> bool:
        return self.start is not None and now >= self.start + INTERVAL_S

    def peek(self, open_states: Iterable[tuple[str, str, str, float, float | None, str]], now: float) -> list[dict[str, Any]]:
        """The open interval's rows so far (open states credited up to `now`), leaving it open."""
        if self.start is None or now <= self.start:
            return []
        clone = copy.deepcopy(self)
        return clone.close(open_states, until=now)

    def close(self, open_states: Iterable[tuple[str, str, str, float, float | None, str]], until: float | None = None) -> list[dict[str, Any]]:
        """Close the open interval: credit each agent's open state (and open
        pause) up to the boundary, and return its rows (queue rows for every
        queue seen so far, agent rows for agents with time or calls).
        `open_states`: (interface, state, reason, since, pause_since, pause_reason)."""
        assert self.start is not None
        start = self.start
        end = start + INTERVAL_S if until is None else min(until, start + INTERVAL_S)
        begin = max(start, self.floor or 0.0)
        day = datetime.fromtimestamp(start, self.zone).date().isoformat()
        for iface, state, reason, since, pause_since, pause_reason in open_states:
            if state != "logged_out" and since < end and end > begin:
                self._credit(iface, state, reason, end - max(since, begin))
            if pause_since is not None and pause_since < end and end > begin:
                self._credit(iface, "pause", pause_reason, end - max(pause_since, begin))
        rows: list[dict[str, Any]] = []
        for name in sorted(self.known_queues):
            q = self.queues.get(name) or [0.0] * len(QUEUE_FIELDS)
            row: dict[str, Any] = {"kind": "queue", "interval_start": start, "day": day, "key": name}
            row.update({f: _num(v) for f, v in zip(QUEUE_FIELDS, q, strict=True)})
            rows.append(row)
        for iface in sorted(self.agents):
            a = self.agents[iface]
            if not any(a.sums) and not a.pause:
                continue
            row = {"kind": "agent", "interval_start": start, "day": day, "key": iface}
            row.update({f: _num(v) for f, v in zip(AGENT_SUMS, a.sums, strict=True)})
            row["pause_s"] = {k: round(v, 3) for k, v in sorted(a.pause.items())}
            rows.append(row)
        self.start = start + INTERVAL_S
        self.floor = None
        self.queues = {}
        self.agents = {}
        return rows

    def take_corrections(self) -> list[dict[str, Any]]:
        """The signed delta rows a backfill made for written intervals (`delta`: True)."""
        rows: list[dict[str, Any]] = []
        for (start, name), q in sorted(self.deltas_q.items()):
            row: dict[str, Any] = {"kind": "queue", "interval_start": start, "day": self._day(start), "key": name, "delta": True}
            row.update({f: _num(v) for f, v in zip(QUEUE_FIELDS, q, strict=True)})
            rows.append(row)
        for (start, iface), a in sorted(self.deltas_a.items()):
            row = {"kind": "agent", "interval_start": start, "day": self._day(start), "key": iface, "delta": True}
            row.update({f: _num(v) for f, v in zip(AGENT_SUMS, a.sums, strict=True)})
            row["pause_s"] = {k: round(v, 3) for k, v in sorted(a.pause.items())}
            rows.append(row)
        self.deltas_q, self.deltas_a = {}, {}
        return rows

    def _day(self, start: int) -> str:
        return datetime.fromtimestamp(start, self.zone).date().isoformat()

    def resume(self, rows: Iterable[dict[str, Any]], until: float) -> None:
        """Go on with an interval whose rows were written up to `until` at a
        graceful stop (`peek`): its sums are the starting point, and facts
        before `until` (a restart's reload of the calls) are not counted again."""
        rows = list(rows)
        if not rows:
            return
        self.start = int(rows[0]["interval_start"])
        self.floor = until
        for r in rows:
            if r["kind"] == "queue":
                self.queues[r["key"]] = [float(r.get(f) or 0) for f in QUEUE_FIELDS]
                self.known_queues.add(r["key"])
            elif r["kind"] == "agent":
                self.agents[r["key"]] = _AgentRow([float(r.get(f) or 0) for f in AGENT_SUMS], dict(r.get("pause_s") or {}))


def _num(v: float) -> float | int:
    return int(v) if v == int(v) else round(v, 3)
