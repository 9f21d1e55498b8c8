"""Business hours with the property centre's summer/winter duty roster
(seeds B §2.8), holidays and 调休 working days."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from callcenter.demo import DEMO_HOURS, NIGHT_DUTY, NOON_DUTY
from callcenter.hooks.hours import status_at
from callcenter.hooks.schemas import Calendar

SH = ZoneInfo("Asia/Shanghai")
PROPERTY = Calendar.model_validate(DEMO_HOURS["repairs"])
OFFICE = Calendar.model_validate(DEMO_HOURS["enquiries"])


def at(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=SH)


@pytest.mark.parametrize(
    ("when", "open_", "season", "duty"),
    [
        ("2026-01-14 09:00", True, "winter", None),
        ("2026-01-14 12:00", False, "winter", NOON_DUTY),
        ("2026-01-14 13:29", False, "winter", NOON_DUTY),
        ("2026-01-14 13:30", True, "winter", None),  # winter noon duty ends 13:30
        ("2026-07-14 13:30", False, "summer", NOON_DUTY),  # summer noon duty runs to 14:00
        ("2026-07-14 14:00", True, "summer", None),
        ("2026-01-14 17:30", False, "winter", NIGHT_DUTY),  # winter night duty from 17:30
        ("2026-07-14 17:30", True, "summer", None),  # summer: still open until 18:00
        ("2026-07-14 18:00", False, "summer", NIGHT_DUTY),
        ("2026-07-15 03:00", False, "summer", NIGHT_DUTY),  # past midnight, to 08:30
        ("2026-07-15 08:29", False, "summer", NIGHT_DUTY),
        ("2026-07-15 08:30", True, "summer", None),
        ("2026-05-01 13:45", False, "summer", NOON_DUTY),  # first day of summer hours
        ("2026-09-30 13:45", False, "summer", NOON_DUTY),
        ("2026-10-01 13:45", True, "winter", None),
    ],
)
def test_property_roster(when, open_, season, duty):
    s = status_at(PROPERTY, at(when))
    assert (s.open, s.season, s.duty.number if s.duty else None) == (open_, season, duty)


def test_office_hours_weekends_holidays_and_workdays():
    assert status_at(OFFICE, at("2026-01-14 10:00")).open  # Wednesday
    assert status_at(OFFICE, at("2026-01-17 10:00")).open  # Saturday morning desk
    assert not status_at(OFFICE, at("2026-01-17 14:00")).open  # Saturday afternoon
    assert not status_at(OFFICE, at("2026-01-18 10:00")).open  # Sunday
    assert not status_at(OFFICE, at("2026-10-01 10:00")).open  # National Day (a Thursday)
    assert status_at(OFFICE, at("2026-10-10 15:00")).open  # 调休: Saturday worked with Monday's hours
    closed = status_at(OFFICE, at("2026-01-14 20:00"))
    assert not closed.open and closed.duty is None


def test_always_open():
    assert status_at(Calendar(always_open=True), at("2026-10-01 03:00")).open


@pytest.mark.parametrize(
    "bad",
    [
        {"winter": {"weekly": {"mon": ["17:30-08:30"]}}},  # opening windows end the same day
        {"winter": {"weekly": {"mon": ["8:30-12:00"]}}},
        {"winter": {"weekly": {"xyz": ["08:30-12:00"]}}},
        {"summer_from": "13-01"},
        {"winter": {"duty": [{"window": "12:00-13:30", "number": "abc"}]}},
    ],
)
def test_bad_calendars_are_rejected(bad):
    with pytest.raises(ValueError):
        Calendar.model_validate(bad)
