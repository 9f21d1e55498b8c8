"""Deadlines in the centre's calendar: weekend, holiday, 调休, shift end."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from callcenter.hooks.schemas import Calendar
from callcenter.workorders.deadlines import (
    DEFAULT_CALENDAR,
    BadRule,
    apply_rule,
    check_policy,
    deadlines,
    retry_at,
    return_visit_due,
)

SH = ZoneInfo("Asia/Shanghai")
# 2026-09-25 is a Friday; 10-01..10-07 National Day holidays; Sun 09-27 and
# Sat 10-10 are 调休 working days.
CAL = Calendar.model_validate(
    {
        "winter": {"weekly": {d: ["08:30-12:00", "13:30-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}},
        "holidays": [f"2026-10-0{i}" for i in range(1, 8)],
        "workdays": ["2026-09-27", "2026-10-10"],
    }
)


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH).astimezone(UTC)


def shown(dt: datetime | None) -> str:
    return dt.astimezone(SH).strftime("%a %m-%d %H:%M") if dt else "-"


def test_repair_same_day_before_shift_end():
    d = deadlines("repair", "normal", local(2026, 9, 24, 16, 0), CAL, SH)
    assert shown(d.resolve_by) == "Thu 09-24 17:30"


def test_repair_after_shift_end_is_due_end_of_next_working_day():
    d = deadlines("repair", "normal", local(2026, 9, 24, 17, 45), CAL, SH)
    assert shown(d.resolve_by) == "Fri 09-25 17:30"


def test_repair_friday_evening_goes_to_the_tiaoxiu_sunday():
    d = deadlines("repair", "normal", local(2026, 9, 25, 18, 0), CAL, SH)
    assert shown(d.resolve_by) == "Sun 09-27 17:30"  # 调休: a working Sunday


def test_repair_over_an_ordinary_weekend():
    d = deadlines("repair", "normal", local(2026, 10, 16, 19, 0), CAL, SH)
    assert shown(d.resolve_by) == "Mon 10-19 17:30"


def test_important_complaint_one_working_hour_across_lunch_and_night():
    d = deadlines("complaint", "important", local(2026, 9, 24, 11, 30), CAL, SH)
    assert shown(d.escalate_by) == "Thu 09-24 14:00"  # 30 min before lunch, 30 after
    d = deadlines("complaint", "important", local(2026, 9, 24, 17, 10), CAL, SH)
    assert shown(d.escalate_by) == "Fri 09-25 09:10"  # 20 min left today, 40 tomorrow
    assert shown(d.resolve_by) == "Mon 09-28 17:10"  # 3 working days: Fri, Sun (调休), Mon


def test_serious_complaint_over_the_holiday():
    d = deadlines("complaint", "serious", local(2026, 9, 30, 10, 0), CAL, SH)
    assert shown(d.escalate_by) == "Wed 09-30 17:30"  # same day
    # 2 working days: 10-01..07 holidays, 10-08 Thu, 10-09 Fri
    assert shown(d.answer_by) == "Fri 10-09 10:00"
    # 10 working days: 10-08, 09, 10(调休 Sat), 12..16, 19, 20
    assert shown(d.resolve_by) == "Tue 10-20 10:00"


def test_intake_on_a_holiday_counts_from_the_next_opening():
    d = deadlines("complaint", "serious", local(2026, 10, 3, 15, 0), CAL, SH)
    assert shown(d.escalate_by) == "Thu 10-08 17:30"
    assert shown(d.answer_by) == "Sat 10-10 08:30"  # 调休 Saturday


def test_minor_complaint_customer_deadline_wins():
    own = local(2026, 9, 28, 12, 0)
    d = deadlines("complaint", "minor", local(2026, 9, 24, 9, 0), CAL, SH, customer_deadline=own)
    assert d.resolve_by == own and d.escalate_by is None and d.answer_by is None
    d = deadlines("complaint", "minor", local(2026, 9, 24, 9, 0), CAL, SH)
    assert shown(d.resolve_by) == "Sun 09-27 09:00"  # Fri, then the 调休 Sunday


def test_working_days_clamp_to_the_close():
    # created after hours Thursday: counts from Friday 08:30
    assert shown(apply_rule(CAL, local(2026, 9, 24, 20, 0), "1wd", SH)) == "Sun 09-27 08:30"


def test_calendar_days_land_in_working_time():
    assert shown(apply_rule(CAL, local(2026, 9, 30, 10, 0), "3d", SH)) == "Thu 10-08 08:30"


def test_return_visits_by_category():
    done = local(2026, 10, 16, 15, 0)  # Friday
    assert shown(return_visit_due("safety_facility", done, CAL, SH)) == "Tue 10-20 15:00"
    assert shown(return_visit_due("leak", done, CAL, SH)) == "Wed 10-21 15:00"
    assert shown(return_visit_due("other", done, CAL, SH)) == "Tue 10-20 15:00"


def test_unreachable_retries_then_gives_up():
    at = local(2026, 10, 16, 16, 0)
    assert shown(retry_at(1, at, CAL, SH)) == "Mon 10-19 09:00"  # 2 working hours: 1.5 today
    assert shown(retry_at(2, at, CAL, SH)) == "Mon 10-19 16:00"
    assert retry_at(4, at, CAL, SH) is None


def test_always_open_calendar():
    cal = Calendar(always_open=True)
    assert shown(apply_rule(cal, local(2026, 10, 3, 23, 30), "1h", SH)) == "Sun 10-04 00:30"


def test_default_calendar_is_weekdays():
    assert shown(apply_rule(DEFAULT_CALENDAR, local(2026, 10, 3, 10, 0), "eod", SH)) == "Mon 10-05 17:30"


def test_policy_override_and_bad_rules():
    merged = check_policy({"repair": {"": {"resolve": "2wd"}}})
    assert merged["repair"][""]["resolve"] == "2wd" and merged["complaint"]["serious"]["resolve"] == "10wd"
    assert shown(deadlines("repair", "normal", local(2026, 9, 24, 9, 0), CAL, SH, merged).resolve_by) == "Sun 09-27 09:00"
    for bad in ({"nope": {}}, {"repair": {"": {"resolve": "2 weeks"}}}, {"repair": {"": {"when": "1h"}}}):
        with pytest.raises(BadRule):
            check_policy(bad)


def test_a_calendar_without_working_time_is_refused():
    with pytest.raises(BadRule):
        apply_rule(Calendar(), local(2026, 9, 24, 9, 0), "eod", SH)


@pytest.mark.parametrize("day", [date(2026, 9, 26), date(2026, 10, 4)])
def test_nothing_is_due_on_a_day_off(day):
    for h in range(0, 24, 3):
        for kind, sev in (("repair", "normal"), ("complaint", "serious"), ("complaint", "important"), ("enquiry", "normal")):
            d = deadlines(kind, sev, local(day.year, day.month, day.day, h), CAL, SH)
            for at in (d.escalate_by, d.answer_by, d.resolve_by):
                assert at is None or at.astimezone(SH).date() not in (date(2026, 9, 26), *[date(2026, 10, i) for i in range(1, 8)])
