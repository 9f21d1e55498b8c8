"""When a work order is due, counted in the centre's own calendar.

Pure: a function of (kind, severity, created_at, calendar, zone, policy),
no clock, no I/O, so the seeds' time limits are tested at exact instants
across weekends, holidays, 调休 working days and the end of a shift.

The calendar is the routing calendar (hooks.schemas.Calendar): its opening
windows are the working time; holidays close a day, `workdays` (调休) open
a weekend day with Monday's hours.

A rule is a short string:
    "eod"   the end of the working day (after hours: the next working day's);
    "3h"    3 working hours (counted inside opening windows only);
    "2wd"   2 working days: the same clock time on the 2nd working day after
            (a start out of hours counts from the next opening; an end past
            that day's close is the close);
    "10d"   10 calendar days (then moved into working time if it lands out of it).

Seeds B §3.2 (complaints) and §3.1 (repairs, return visits):
    重大 serious:   to the director the same day, a clear answer in 2 days, resolved in 10;
    重要 important: to the department head within 1 hour of intake, resolved in 3 days;
    轻微 minor:     2 days, or the customer's own deadline;
    repairs:        same day (「當天能完成必須當天完成」);
    return visits:  safety 2 days, leak 3 days after the leak test, others 2 days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.hooks.hours import season_of
from callcenter.hooks.schemas import WEEKDAYS, Calendar, parse_hhmm

_RULE = re.compile(r"^(eod|(\d{1,3})(h|wd|d))$")
MAX_SCAN_DAYS = 400  # a calendar with no working day at all ends the search

# kind -> severity ("" = any) -> milestone -> rule.  Milestones:
#   escalate: by when it must have reached the next level (首问 -> lead/head/director);
#   answer:   by when the customer has a clear answer (明確答復);
#   resolve:  by when it is done.
DEFAULT_POLICY: dict[str, dict[str, dict[str, str]]] = {
    "complaint": {
        "serious": {"escalate": "eod", "answer": "2wd", "resolve": "10wd"},
        "important": {"escalate": "1h", "resolve": "3wd"},
        "minor": {"resolve": "2wd"},
    },
    "repair": {"": {"resolve": "eod"}},
    "enquiry": {"": {"answer": "1wd", "resolve": "1wd"}},
    "suggestion": {"": {"resolve": "5wd"}},
    "praise": {"": {"resolve": "2wd"}},
    "fee": {"": {"resolve": "5wd"}},
    "request": {"": {"resolve": "2wd"}},
}

# Return visits (回访), by repair category; complaints and the rest use "other".
RETURN_VISIT_POLICY: dict[str, str] = {"safety_facility": "2wd", "leak": "3wd", "other": "2wd"}
# An unreachable customer is tried again after these working hours, then given up.
RETRY_RULES: tuple[str, ...] = ("2h", "1wd", "2wd")


class BadRule(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Deadlines:
    """UTC instants; None where the policy has no such milestone."""

    escalate_by: datetime | None
    answer_by: datetime | None
    resolve_by: datetime


def check_rule(rule: str) -> str:
    if not _RULE.match(rule):
        raise BadRule(f"{rule!r} is not a rule like eod, 1h, 2wd or 10d")
    return rule


def check_policy(policy: dict[str, Any]) -> dict[str, dict[str, dict[str, str]]]:
    """Validates an override (settings) and returns it merged over the defaults."""
    merged = {k: {s: dict(m) for s, m in v.items()} for k, v in DEFAULT_POLICY.items()}
    for kind, by_sev in policy.items():
        if kind not in DEFAULT_POLICY:
            raise BadRule(f"{kind!r} is not a work-order kind")
        for sev, milestones in by_sev.items():
            for name, rule in milestones.items():
                if name not in ("escalate", "answer", "resolve"):
                    raise BadRule(f"{kind}.{sev}.{name}: milestones are escalate, answer, resolve")
                check_rule(rule)
            merged[kind].setdefault(sev, {}).update(milestones)
    return merged


# --- the working calendar -----------------------------------------------------------------


def windows_on(cal: Calendar, day: date) -> list[tuple[time, time]]:
    """The day's opening windows (start, end), sorted; [] on a day off."""
    if cal.always_open:
        return [(time(0), time.max)]
    if day in cal.holidays:
        return []
    _, season = season_of(cal, datetime.combine(day, time(12)))
    weekday = "mon" if day in cal.workdays else WEEKDAYS[day.weekday()]
    out = []
    for w in season.weekly.get(weekday, []):
        a, b = w.split("-")
        out.append((parse_hhmm(a), time.max if b == "24:00" else parse_hhmm(b)))
    return sorted(out)


def _at(day: date, t: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, t, tzinfo=zone)


def next_working_moment(cal: Calendar, local: datetime) -> datetime:
    """`local` if it is inside an opening window, else the next opening."""
    day = local.date()
    for _ in range(MAX_SCAN_DAYS):
        for start, end in windows_on(cal, day):
            s, e = _at(day, start, local.tzinfo), _at(day, end, local.tzinfo)  # type: ignore[arg-type]
            if local < e:
                return max(local, s)
        day += timedelta(days=1)
    raise BadRule("the calendar has no working time in the next 400 days")


def end_of_working_day(cal: Calendar, local: datetime) -> datetime:
    """The close of the working day `local` falls in; after the close (or on
    a day off) the close of the next working day."""
    m = next_working_moment(cal, local)
    return _at(m.date(), windows_on(cal, m.date())[-1][1], m.tzinfo)  # type: ignore[arg-type]


def add_working_hours(cal: Calendar, local: datetime, hours: float) -> datetime:
    left = timedelta(hours=hours)
    m = next_working_moment(cal, local)
    for _ in range(MAX_SCAN_DAYS * 4):
        window_end = next(_at(m.date(), e, m.tzinfo) for s, e in windows_on(cal, m.date()) if m < _at(m.date(), e, m.tzinfo))  # type: ignore[arg-type]
        if m + left <= window_end:
            return m + left
        left -= window_end - m
        m = next_working_moment(cal, window_end + timedelta(microseconds=1))
    raise BadRule("the calendar has too little working time")


def add_working_days(cal: Calendar, local: datetime, days: int) -> datetime:
    m = next_working_moment(cal, local)
    day, t = m.date(), m.time()
    for _ in range(days):
        day += timedelta(days=1)
        for _ in range(MAX_SCAN_DAYS):
            if windows_on(cal, day):
                break
            day += timedelta(days=1)
    windows = windows_on(cal, day)
    first, last = windows[0][0], windows[-1][1]
    return _at(day, min(max(t, first), last), m.tzinfo)  # type: ignore[arg-type]


def apply_rule(cal: Calendar, start_utc: datetime, rule: str, zone: ZoneInfo) -> datetime:
    """The instant (UTC) `rule` after `start_utc`."""
    m = _RULE.match(rule)
    if not m:
        raise BadRule(f"{rule!r} is not a rule like eod, 1h, 2wd or 10d")
    local = start_utc.astimezone(zone)
    if rule == "eod":
        out = end_of_working_day(cal, local)
    else:
        n, unit = int(m.group(2)), m.group(3)
        if unit == "h":
            out = add_working_hours(cal, local, n)
        elif unit == "wd":
            out = add_working_days(cal, local, n)
        else:
            out = next_working_moment(cal, (local.replace(tzinfo=None) + timedelta(days=n)).replace(tzinfo=zone))
    return out.astimezone(UTC)


def rules_for(kind: str, severity: str, policy: dict[str, dict[str, dict[str, str]]] | None = None) -> dict[str, str]:
    by_sev = (policy or DEFAULT_POLICY).get(kind, {})
    return by_sev.get(severity) or by_sev.get("") or {"resolve": "2wd"}


def deadlines(
    kind: str,
    severity: str,
    created_at: datetime,
    cal: Calendar,
    zone: ZoneInfo,
    policy: dict[str, dict[str, dict[str, str]]] | None = None,
    customer_deadline: datetime | None = None,
) -> Deadlines:
    """The milestones of a new order.  A minor complaint with the customer's
    own deadline is due then (「或在住戶要求的期限內解決」)."""
    rules = rules_for(kind, severity, policy)
    got = {name: apply_rule(cal, created_at, rule, zone) for name, rule in rules.items()}
    resolve = got.get("resolve") or apply_rule(cal, created_at, "2wd", zone)
    if customer_deadline is not None and kind == "complaint" and severity == "minor":
        resolve = customer_deadline.astimezone(UTC)
    return Deadlines(got.get("escalate"), got.get("answer"), resolve)


def return_visit_due(category: str, start: datetime, cal: Calendar, zone: ZoneInfo) -> datetime:
    """A return visit's deadline from DONE (or the leak test for leaks)."""
    return apply_rule(cal, start, RETURN_VISIT_POLICY.get(category, RETURN_VISIT_POLICY["other"]), zone)


def retry_at(attempt: int, start: datetime, cal: Calendar, zone: ZoneInfo) -> datetime | None:
    """When to try an unreachable customer again after `attempt` failures; None: give up."""
    if attempt > len(RETRY_RULES):
        return None
    return apply_rule(cal, start, RETRY_RULES[attempt - 1], zone)


# The centre's calendar when no queue's is configured: Mon–Fri 08:30–12:00, 13:30–17:30.
DEFAULT_CALENDAR = Calendar.model_validate(
    {"winter": {"weekly": {d: ["08:30-12:00", "13:30-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}}}
)
