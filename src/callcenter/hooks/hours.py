"""Is a queue open at a given local time, and if not, who is on duty?

Pure functions of a Calendar and a local datetime (no clock reads), so the
seasonal rules of seeds B §2.8 are tested at exact instants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from callcenter.hooks.schemas import WEEKDAYS, Calendar, DutySlot, Season, parse_hhmm


@dataclass(frozen=True, slots=True)
class HoursStatus:
    open: bool
    season: str  # winter | summer
    duty: DutySlot | None = None


def _in_window(window: str, t: time) -> bool:
    a, b = window.split("-")
    start = parse_hhmm(a)
    end = time(23, 59, 59, 999999) if b == "24:00" else parse_hhmm(b)
    if start < end:
        return start <= t < end
    return t >= start or t < end  # runs past midnight


def season_of(cal: Calendar, local: datetime) -> tuple[str, Season]:
    if cal.summer is not None:
        md = local.strftime("%m-%d")
        lo, hi = cal.summer_from, cal.summer_to
        inside = lo <= md <= hi if lo <= hi else (md >= lo or md <= hi)
        if inside:
            return "summer", cal.summer
    return "winter", cal.winter


def status_at(cal: Calendar, local: datetime) -> HoursStatus:
    """Open or closed at `local` (a datetime in the centre's time zone)."""
    name, season = season_of(cal, local)
    if cal.always_open:
        return HoursStatus(True, name)
    day = local.date()
    t = local.time()
    weekday = WEEKDAYS[local.weekday()]
    if day in cal.holidays:
        windows: list[str] = []
    elif day in cal.workdays:
        windows = season.weekly.get("mon", [])
    else:
        windows = season.weekly.get(weekday, [])
    if any(_in_window(w, t) for w in windows):
        return HoursStatus(True, name)
    duty = next((d for d in season.duty if _in_window(d.window, t)), None)
    return HoursStatus(False, name, duty)
