"""Who may be dialled, when, and when again: calling windows, retries per
result code, do-not-call, and the choice of the next numbers to dial.

Pure functions (no I/O, no clock: `now` is always an argument, an aware
UTC datetime) so every rule is tested at exact instants, across time
zones and holidays, and a property test can throw random lists and clocks
at `pick` (tests/outbound/test_rules.py).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class Result(enum.StrEnum):
    """How one attempt ended (seeds B §4.6).  The agent records the
    conversation results; the dialer records the technical ones."""

    no_answer = "no_answer"
    busy = "busy"
    invalid_number = "invalid_number"  # 無效電話
    wrong_number = "wrong_number"  # wrong person
    callback_later = "callback_later"  # 預約回撥, at a booked time
    contacted = "contacted"  # 接觸, no conversation to speak of
    normal_conversation = "normal_conversation"  # 正常通話
    success = "success"
    refused = "refused"
    do_not_call = "do_not_call"  # the customer asked never to be called again
    abandoned = "abandoned"  # the dialer connected the customer and no agent was free
    failed = "failed"  # the carrier or Asterisk refused the call


# Results that mean someone answered (接觸率's numerator).
CONTACTS = frozenset({Result.wrong_number, Result.callback_later, Result.contacted, Result.normal_conversation,
                      Result.success, Result.refused, Result.do_not_call})  # fmt: skip
# Results that count as a "normal conversation" toward the weekly quota (150 -> 200).
CONVERSATIONS = frozenset({Result.normal_conversation, Result.success, Result.refused, Result.callback_later})


@dataclass(frozen=True, slots=True)
class RetryRule:
    """Retry after `delay_s`, at most `max_attempts` attempts in all for
    this result (0: never again)."""

    delay_s: int
    max_attempts: int


# The defaults; a campaign overrides any of them.  The seeds give no
# counts (§4.5), so these are the usual contact-centre ones.
DEFAULT_RETRIES: dict[Result, RetryRule] = {
    Result.no_answer: RetryRule(2 * 3600, 4),
    Result.busy: RetryRule(15 * 60, 4),
    Result.abandoned: RetryRule(30 * 60, 4),
    Result.failed: RetryRule(3600, 3),
    Result.callback_later: RetryRule(0, 6),  # at the booked time
    Result.contacted: RetryRule(24 * 3600, 3),
    Result.invalid_number: RetryRule(0, 0),
    Result.wrong_number: RetryRule(0, 0),
    Result.normal_conversation: RetryRule(0, 0),
    Result.success: RetryRule(0, 0),
    Result.refused: RetryRule(0, 0),
    Result.do_not_call: RetryRule(0, 0),
}


def retry_rules(overrides: Mapping[str, Mapping[str, int]] | None) -> dict[Result, RetryRule]:
    """The defaults with a campaign's overrides ({"busy": {"delay_s": 600, "max_attempts": 2}})."""
    rules = dict(DEFAULT_RETRIES)
    for key, value in (overrides or {}).items():
        r = Result(key)
        base = rules[r]
        rules[r] = RetryRule(int(value.get("delay_s", base.delay_s)), int(value.get("max_attempts", base.max_attempts)))
    return rules


def next_attempt(
    rules: Mapping[Result, RetryRule], result: Result, attempts_with_result: int, now: datetime, booked_at: datetime | None = None
) -> datetime | None:
    """When to try this number again after an attempt that ended in
    `result` (the `attempts_with_result`-th attempt ending so); None: the
    number is finished with.  A booked call-back is due at the booked time
    (or after the rule's delay if none was booked)."""
    rule = rules.get(result, RetryRule(0, 0))
    if attempts_with_result >= rule.max_attempts:
        return None
    if result is Result.callback_later and booked_at is not None:
        return max(booked_at, now)
    return now + timedelta(seconds=rule.delay_s)


# --- calling windows ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """Local hours a customer may be called, e.g. 09:00-21:00.  `end`
    before `start` runs past midnight; holidays are local dates."""

    start: time = time(9, 0)
    end: time = time(21, 0)
    holidays: frozenset[date] = frozenset()
    weekdays: frozenset[int] = frozenset(range(7))  # 0 = Monday

    def _day_ok(self, day: date) -> bool:
        return day not in self.holidays and day.weekday() in self.weekdays

    def _inside(self, t: time) -> bool:
        if self.start < self.end:
            return self.start <= t < self.end
        if self.start == self.end:
            return True  # all day
        return t >= self.start or t < self.end

    def allows(self, now: datetime, tz: ZoneInfo) -> bool:
        """May a customer in `tz` be called at the instant `now`?  A window
        running past midnight belongs to the day it started on."""
        local = now.astimezone(tz)
        if not self._inside(local.time()):
            return False
        day = local.date()
        if self.start > self.end and local.time() < self.end:
            day -= timedelta(days=1)
        return self._day_ok(day)

    def next_open(self, now: datetime, tz: ZoneInfo, horizon_days: int = 400) -> datetime | None:
        """The first instant at or after `now` the window allows, in UTC; None
        if it never opens within the horizon (every day a holiday)."""
        if self.allows(now, tz):
            return now
        local_day = now.astimezone(tz).date()
        for k in range(-1, horizon_days + 1):
            day = local_day + timedelta(days=k)
            if not self._day_ok(day):
                continue
            start = _local_instant(day, self.start, tz)
            if start >= now:
                return start
        return None


def _local_instant(day: date, t: time, tz: ZoneInfo) -> datetime:
    """`day t` in `tz` as UTC.  A wall time skipped by a DST jump gives the
    first instant the clock shows a later time (the jump itself); an
    ambiguous one its first occurrence."""
    naive = datetime.combine(day, t)
    early = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    late = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if early.astimezone(tz).replace(tzinfo=None) == naive:
        return min(early, late) if late.astimezone(tz).replace(tzinfo=None) == naive else early
    # in a gap: search the jump between the two readings, to the second
    lo, hi = min(early, late), max(early, late)
    while (hi - lo) > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


def parse_window(text: str) -> tuple[time, time]:
    """'09:00-21:00' -> (09:00, 21:00); ValueError names what is wrong."""
    try:
        a, b = text.split("-")
        start, end = time.fromisoformat(a.strip()), time.fromisoformat(b.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not HH:MM-HH:MM") from None
    return start, end


# --- do-not-call ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DoNotCall:
    """The three sources of the do-not-call check (numbers normalised)."""

    internal: frozenset[str] = frozenset()  # the centre's own list
    opted_out: frozenset[str] = frozenset()  # customers who said "never call me"
    complaints: frozenset[str] = frozenset()  # numbers with an open complaint

    def reason(self, number: str) -> str | None:
        """Why `number` must not be dialled, or None if it may be."""
        if not number:
            return "no_number"
        if number in self.internal:
            return "internal"
        if number in self.opted_out:
            return "opted_out"
        if number in self.complaints:
            return "open_complaint"
        return None


# --- choosing the next numbers ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """A list entry as the dialer sees it."""

    id: int
    number: str
    tz: str
    due_at: datetime | None = None  # None: never tried, due now
    priority: int = 0  # higher first (a booked call-back)
    extra: Mapping[str, object] = field(default_factory=dict)


def pick(
    candidates: Iterable[Candidate],
    now: datetime,
    window: Window,
    dnc: DoNotCall,
    in_flight: Iterable[str],
    n: int,
) -> list[Candidate]:
    """Up to `n` entries to dial at `now`: due, inside their own window,
    not on the do-not-call list, not already being dialled (by this or any
    campaign: `in_flight`), and each number once.  Booked call-backs first,
    then the longest-waiting."""
    if n <= 0:
        return []
    busy = set(in_flight)
    zones: dict[str, ZoneInfo] = {}
    chosen: list[Candidate] = []
    ordered = sorted(candidates, key=lambda c: (-c.priority, c.due_at or datetime.min.replace(tzinfo=UTC), c.id))
    for c in ordered:
        if c.number in busy or (c.due_at is not None and c.due_at > now) or dnc.reason(c.number):
            continue
        tz = zones.get(c.tz)
        if tz is None:
            tz = zones[c.tz] = ZoneInfo(c.tz)
        if not window.allows(now, tz):
            continue
        busy.add(c.number)
        chosen.append(c)
        if len(chosen) == n:
            break
    return chosen


# --- contact frequency across campaigns, segments ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    """At most `per_day` dials of one number per local day and `per_week`
    in the last 7 days, whatever the campaign (0: no cap)."""

    per_day: int = 0
    per_week: int = 0

    @property
    def active(self) -> bool:
        return self.per_day > 0 or self.per_week > 0

    def allows(self, dialled_at: Iterable[datetime], now: datetime, tz: ZoneInfo) -> bool:
        """May a number dialled at `dialled_at` (earlier dials) be dialled at `now`?"""
        if not self.active:
            return True
        today = now.astimezone(tz).date()
        week_from = now - timedelta(days=7)
        day = week = 0
        for t in dialled_at:
            if t > now:
                continue
            if t > week_from:
                week += 1
            if t.astimezone(tz).date() == today:
                day += 1
        return not ((self.per_day and day >= self.per_day) or (self.per_week and week >= self.per_week))


def capped(history: Mapping[str, Iterable[datetime]], cap: FrequencyCap, now: datetime, tz: ZoneInfo) -> set[str]:
    """The numbers the frequency cap holds back now."""
    return {n for n, times in history.items() if not cap.allows(times, now, tz)}


SEGMENT_OPS = ("eq", "ne", "in", "gte", "lte", "prefix", "contains")


def _num(v: object) -> float | None:
    try:
        return float(str(v).replace(",", ""))
    except ValueError:
        return None


def matches_segment(segment: Mapping[str, object], fields: Mapping[str, object]) -> bool:
    """A list entry in the segment?  `segment`: {field: value} (equal) or
    {field: {"op": one of SEGMENT_OPS, "value": ...}}; all must hold.
    `fields`: the entry's card (its data) plus name, number, timezone."""
    for key, cond in segment.items():
        op, want = (cond.get("op", "eq"), cond.get("value")) if isinstance(cond, Mapping) else ("eq", cond)
        have = fields.get(key)
        text = "" if have is None else str(have)
        if op == "eq" and text != str(want):
            return False
        if op == "ne" and text == str(want):
            return False
        if op == "in" and text not in {str(w) for w in (want if isinstance(want, list | tuple) else [want])}:
            return False
        if op == "prefix" and not text.startswith(str(want)):
            return False
        if op == "contains" and str(want) not in text:
            return False
        if op in ("gte", "lte"):
            a, b = _num(have), _num(want)
            if a is None or b is None or (a < b if op == "gte" else a > b):
                return False
    return True


def check_segment(segment: object) -> str | None:
    """Why a segment is malformed (None: fine)."""
    if not isinstance(segment, Mapping):
        return "must be an object of field: condition"
    for key, cond in segment.items():
        if not isinstance(key, str) or not key or len(key) > 64:
            return f"field name {key!r} is not a name"
        if isinstance(cond, Mapping):
            if cond.get("op", "eq") not in SEGMENT_OPS:
                return f"{key}: op must be one of {', '.join(SEGMENT_OPS)}"
            if "value" not in cond:
                return f"{key}: a condition needs a value"
            if cond.get("op") in ("gte", "lte") and _num(cond["value"]) is None:
                return f"{key}: {cond.get('op')} needs a number"
        elif isinstance(cond, list | dict):
            return f"{key}: a list needs op 'in'"
    return None


# --- the campaign's lifecycle ---------------------------------------------------------------------

# draft -> running (active) <-> paused -> closed (finished); closed is final.
TRANSITIONS = {
    "draft": {"running", "closed"},
    "running": {"paused", "closed"},
    "paused": {"running", "closed"},
    "closed": set(),
}


def transition_refused(current: str, wanted: str, *, contacts: int, queue: str, mode: str) -> str | None:
    """Why a campaign may not go from `current` to `wanted` (None: it may)."""
    if wanted == current:
        return None
    if wanted not in TRANSITIONS.get(current, set()):
        return f"a {current} campaign cannot become {wanted}"
    if wanted == "running":
        if contacts == 0:
            return "the list is empty: import contacts first"
        if mode != "preview" and not queue:
            return f"a {mode} campaign needs the queue of its agents"
    return None


# --- fee reminders (催费) --------------------------------------------------------------------------


class FeeStep(enum.StrEnum):
    phone = "phone"
    sms = "sms"
    letter = "letter"  # 正式催繳函 by express post


def next_fee_step(done: Mapping[FeeStep, date], due_on: date, today: date, letter_after_days: int = 90) -> FeeStep | None:
    """The next rung of the arrears ladder (seeds B §3.5) for a bill unpaid
    since `due_on`: a phone reminder first, an SMS once phoned (or the next
    day), and a formal letter `letter_after_days` after the phone notice
    while it is still unpaid.  None: nothing due today."""
    if today <= due_on:
        return None
    if FeeStep.phone not in done:
        return FeeStep.phone
    if FeeStep.sms not in done:
        return FeeStep.sms
    if FeeStep.letter not in done and (today - done[FeeStep.phone]).days >= letter_after_days:
        return FeeStep.letter
    return None


def collection_rate(billed: float, paid: float) -> float:
    """收繳率: the share of the billed amount collected (targets: 95 % by
    month end, 99 % by the 10th of the next month)."""
    return paid / billed if billed > 0 else 1.0
