"""KPI windows: incremental counters for one queue (or all queues together).

Every fact (a call offered, a caller leaving the queue, a handled call) is
added once, in O(1), to four windows: a ring buffer of per-minute buckets
(the last 15 and 60 minutes are sums over it), the current 30-minute
interval, today, and the whole life of the core (what `replay` reports).
Reading a sliding window sums at most 60 buckets; nothing is recomputed
from history and nothing touches a database.

Service level is decided per call when the caller leaves the queue, with
the queue's own rule, and stored as two counts (met, counted).  That is
what lets "all queues" combine queues that use different thresholds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callcenter.acd.core import QueueConfig
    from callcenter.acd.days import DayClock

# Counter slots.  MAX_WAIT is a maximum, every other slot a sum.
OFFERED, ANSWERED, SL_MET, SL_COUNTED, ABANDONED, SHORT, TIMEOUTS, LEFT_EMPTY, EXIT_KEY, CALLBACKS = range(10)
WAIT_ANSWERED, HANDLED, TALK, HOLD, WRAP, MAX_WAIT = range(10, 16)
# Queued callbacks (qcallbacks.py): dialled, reached, Σ wait (entry -> connect), Σ request -> connect,
# reached on the local day it was requested (日结日清).
CB_MADE, CB_REACHED, CB_WAIT, CB_DELAY, CB_SAME_DAY = range(16, 21)
NSLOTS = 21

INTERVAL_S = 1800
DAY_S = 86400


def _zero() -> list[float]:
    return [0.0] * NSLOTS


def merge(into: list[float], src: list[float]) -> None:
    for i in range(NSLOTS):
        if i != MAX_WAIT:
            into[i] += src[i]
    if src[MAX_WAIT] > into[MAX_WAIT]:
        into[MAX_WAIT] = src[MAX_WAIT]


class KpiSet:
    """The windows of one queue, or of all queues (name "*")."""

    __slots__ = ("_minutes", "_buckets", "interval_id", "interval", "day_id", "today", "total", "days", "_lo", "_hi", "_cached")

    def __init__(self, days: DayClock) -> None:
        self._minutes = [-1] * 60
        self._buckets = [_zero() for _ in range(60)]
        self.days = days  # the centre's local days (acd/days.py), shared by the core
        self.interval_id = -1
        self.interval = _zero()
        self.day_id = -1
        self.today = _zero()
        self.total = _zero()
        # Facts in [_lo, _hi) while the clock is before _hi, go to the same counters.
        self._lo = self._hi = 0.0
        self._cached: list[list[float]] = []

    def day_of(self, ts: float) -> int:
        return self.days.day_of(ts)

    def interval_of(self, ts: float) -> int:
        # Local half hours start at multiples of 1800 s of Unix time in every
        # zone whose offset (daylight saving or not) is a whole half hour.
        return int(ts // INTERVAL_S)

    def roll(self, now: float) -> None:
        """Start a new interval / day when `now` has moved into one."""
        iid = self.interval_of(now)
        if iid > self.interval_id:
            self.interval_id = iid
            self.interval = _zero()
            self._hi = 0.0
        did = self.day_of(now)
        if did > self.day_id:
            self.day_id = did
            self.today = _zero()
            self._hi = 0.0

    def _targets(self, ts: float, now: float) -> list[list[float]]:
        """The counters a fact at `ts` belongs in, seen at `now` (a fact
        may be slightly older than the clock, e.g. a reloaded record)."""
        self.roll(max(ts, now))
        out = [self.total]
        if self.day_of(ts) == self.day_id:
            out.append(self.today)
        if self.interval_of(ts) == self.interval_id:
            out.append(self.interval)
        minute = int(ts // 60)
        if minute > int(max(ts, now) // 60) - 60:
            idx = minute % 60
            if self._minutes[idx] != minute:
                if self._minutes[idx] > minute:
                    return out  # that slot already holds a newer minute
                self._minutes[idx] = minute
                self._buckets[idx] = _zero()
            out.append(self._buckets[idx])
        return out

    def add(self, ts: float, now: float, pairs: tuple[tuple[int, float], ...]) -> None:
        if self._lo <= ts < self._hi and now < self._hi:
            targets = self._cached
        else:
            targets = self._targets(ts, now)
            if ts >= now and len(targets) == 4:
                # The same minute, interval and day until the next minute starts.
                self._lo, self._hi, self._cached = ts // 60 * 60, ts // 60 * 60 + 60, targets
        for counters in targets:
            for slot, value in pairs:
                if slot == MAX_WAIT:
                    if value > counters[MAX_WAIT]:
                        counters[MAX_WAIT] = value
                else:
                    counters[slot] += value

    def window(self, name: str, now: float) -> list[float]:
        if name == "total":
            return self.total
        if name in ("interval", "today"):
            self.roll(now)
            return self.interval if name == "interval" else self.today
        span = 15 if name == "15m" else 60
        now_min = int(now // 60)
        out = _zero()
        for idx in range(60):
            m = self._minutes[idx]
            if now_min - span < m <= now_min:
                merge(out, self._buckets[idx])
        return out


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _avg(num: float, den: float) -> float | None:
    return round(num / den, 3) if den > 0 else None


def figures(c: list[float]) -> dict[str, Any]:
    """The K shape of queue_view: counts, rates (0..1 or None), seconds."""
    short = c[SHORT]
    exits = c[ANSWERED] + c[ABANDONED] + c[TIMEOUTS] + c[LEFT_EMPTY] + c[EXIT_KEY] + c[CALLBACKS]
    handled = c[HANDLED]
    return {
        "offered": int(c[OFFERED]),
        "answered": int(c[ANSWERED]),
        "abandoned": int(c[ABANDONED]),
        "short_abandoned": int(short),
        "timeouts": int(c[TIMEOUTS]),
        "service_level": _ratio(c[SL_MET], c[SL_COUNTED]),
        "abandon_rate": _ratio(c[ABANDONED] - short, exits - short),
        "asa_s": _avg(c[WAIT_ANSWERED], c[ANSWERED]),
        "aht_s": _avg(c[TALK] + c[HOLD] + c[WRAP], handled),
        "avg_talk_s": _avg(c[TALK], handled),
        "avg_hold_s": _avg(c[HOLD], handled),
        "avg_wrap_up_s": _avg(c[WRAP], handled),
        "longest_wait_s": round(c[MAX_WAIT], 3),
        "callbacks_requested": int(c[CALLBACKS]),
        "callbacks_made": int(c[CB_MADE]),
        "callbacks_reached": int(c[CB_REACHED]),
        "callback_wait_s": _avg(c[CB_WAIT], c[CB_REACHED]),
        "callback_delay_s": _avg(c[CB_DELAY], c[CB_REACHED]),
        "callbacks_same_day": int(c[CB_SAME_DAY]),
        "callback_same_day_share": _ratio(c[CB_SAME_DAY], c[CALLBACKS]),
    }


def sl_decision(q: QueueConfig, outcome: str, wait_s: float) -> tuple[bool, bool]:
    """(met, counted) for one caller leaving queue `q`, by its abandon mode.

    against: met = answered within T; counted = answered, abandoned at or
             after S, timed out.
    ignore:  answered calls only.
    favour:  abandons within T count as met (Asterisk's ServicelevelPerf2).
    Left-empty, exit-key and callback exits never enter the service level.
    `wait_s` is the wait as app_queue counts it (AgentConnect's and
    QueueCallerAbandon's HoldTime: whole seconds), so ≤ T means what it
    means in Asterisk's ServicelevelPerf and queue_log.
    """
    t = q.sl_threshold_s
    if outcome == "answered":
        return wait_s <= t, True
    if q.abandon_mode == "ignore":
        return False, False
    if outcome == "abandoned":
        if q.abandon_mode == "favour":
            return wait_s <= t, True
        return False, wait_s >= q.short_abandon_s
    if outcome == "timeout":
        return False, True
    return False, False


WHOLE_SECONDS = "waits in whole seconds, as app_queue counts them"


def sl_formula(q: QueueConfig) -> str:
    t, s = f"{q.sl_threshold_s:g}", f"{q.short_abandon_s:g}"
    if q.abandon_mode == "ignore":
        return f"SL = answered ≤ {t}s / answered; {WHOLE_SECONDS}"
    if q.abandon_mode == "favour":
        return f"SL = (answered ≤ {t}s + abandoned ≤ {t}s) / (answered + abandoned + timed out); {WHOLE_SECONDS}"
    return f"SL = answered ≤ {t}s / (answered + abandoned ≥ {s}s + timed out); {WHOLE_SECONDS}"


TOTALS_FORMULA = "SL = Σ calls met / Σ calls counted, each queue by its own rule"
ABANDON_FORMULA = "abandon rate = (abandoned − short) / (left the queue − short); a queued callback left the queue, not abandoned"
CALLBACK_FORMULA = (
    "callback wait = Σ (callback connected − original entry) / callbacks reached; "
    "callback delay = Σ (callback connected − request) / callbacks reached; "
    "cleared the same day = callbacks reached on the day they were requested / callbacks requested (target 100 %)"
)
