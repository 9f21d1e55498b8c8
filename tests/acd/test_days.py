"""The core's "today" follows the centre's zone (acd/days.py), daylight
saving included: a fixed offset taken at start put an evening's calls in the
wrong day for half the year.  The core stays pure: the moment comes from
the events, the zone is configuration."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from callcenter.acd import events as ev
from callcenter.acd.core import Core, CoreConfig
from callcenter.acd.days import DayClock

from .test_core_scenarios import Script


def at(zone: str, *wall: int) -> float:
    return datetime(*wall, tzinfo=ZoneInfo(zone)).timestamp()


def test_shanghai_days_start_at_local_midnight():
    days = DayClock("Asia/Shanghai")
    assert days.date_of(at("Asia/Shanghai", 2026, 11, 26, 23, 59, 59)) == date(2026, 11, 26)
    assert days.date_of(at("Asia/Shanghai", 2026, 11, 27, 0, 0, 0)) == date(2026, 11, 27)
    d = days.day_of(at("Asia/Shanghai", 2026, 11, 27, 12))
    assert days.start(d + 1) - days.start(d) == 86400
    assert days.start(d) == at("Asia/Shanghai", 2026, 11, 27)


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/Berlin", date(2026, 3, 29), 23),  # clocks forward at 02:00
        ("Europe/Berlin", date(2026, 10, 25), 25),  # clocks back at 03:00
        ("America/New_York", date(2026, 3, 8), 23),
        ("America/New_York", date(2026, 11, 1), 25),
    ],
)
def test_a_dst_day_is_23_or_25_hours_and_its_evening_stays_in_it(zone, day, hours):
    for reset in (0, 6 * 3600):
        days = DayClock(zone, reset)
        n = day.toordinal()
        # From midnight the change falls in the day itself; from 06:00, in the day before it.
        short = n if reset == 0 else n - 1
        assert days.start(short + 1) - days.start(short) == hours * 3600
        assert days.start(n) == at(zone, day.year, day.month, day.day, reset // 3600)
        late = at(zone, day.year, day.month, day.day, 23, 30)
        assert days.date_of(late) == day
        assert days.date_of(days.start(n + 1)) == date.fromordinal(n + 1)
        assert days.date_of(days.start(n + 1) - 0.001) == day


def test_the_cores_today_across_the_autumn_change_in_berlin():
    """Started in summer (UTC+2), the centre's evening of 25 Oct (UTC+1) is
    still the 25th: with the offset taken at start 23:30 looked like 00:30."""
    zone = "Europe/Berlin"
    core = Core(CoreConfig(zone=zone, tz_offset_s=2 * 3600))
    s = Script()
    early = s.join(at(zone, 2026, 10, 24, 23, 50), "q", "1")
    s.abandon(at(zone, 2026, 10, 24, 23, 51), early)
    late = s.join(at(zone, 2026, 10, 25, 23, 30), "q", "2")
    s.abandon(at(zone, 2026, 10, 25, 23, 31), late)
    for e in s.events:
        core.apply(e)
    core.apply(ev.Tick(at(zone, 2026, 10, 25, 23, 45)))
    assert core.queue_view("q")["kpi"]["today"]["offered"] == 1  # the 25th's call, not the 24th's
    assert core.today_start(core.now) == at(zone, 2026, 10, 25)
    core.apply(ev.Tick(at(zone, 2026, 10, 26, 0, 0, 1)))
    assert core.queue_view("q")["kpi"]["today"]["offered"] == 0


def test_the_cores_today_in_shanghai():
    zone = "Asia/Shanghai"
    core = Core(CoreConfig(zone=zone))
    s = Script()
    c = s.join(at(zone, 2026, 11, 26, 23, 59), "q", "1")
    s.abandon(at(zone, 2026, 11, 26, 23, 59, 30), c)
    for e in s.events:
        core.apply(e)
    assert core.queue_view("q")["kpi"]["today"]["offered"] == 1
    core.apply(ev.Tick(at(zone, 2026, 11, 27, 0, 0, 1)))
    assert core.queue_view("q")["kpi"]["today"]["offered"] == 0
    assert core.today_start(core.now) == at(zone, 2026, 11, 27)
