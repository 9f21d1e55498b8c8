"""The centre's days: which local day a moment belongs to, in its IANA zone
(daylight saving included), "today" starting at the configured reset time.

Pure: the moment comes from the events, the zone and the reset time are
configuration; the zone's rules are read once, when the clock is made.  A
fixed UTC offset taken at start was wrong for half the year in a zone with
daylight saving: a day there is 23 or 25 hours long twice a year.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class DayClock:
    __slots__ = ("zone", "reset", "_lo", "_hi", "_id")

    def __init__(self, zone: str, reset_s: int = 0) -> None:
        self.zone = ZoneInfo(zone)
        self.reset = timedelta(seconds=reset_s)
        self._lo = self._hi = 0.0
        self._id = 0

    def day_of(self, ts: float) -> int:
        """The local day (a proleptic ordinal, date.toordinal) that `ts` is in."""
        if self._lo <= ts < self._hi:
            return self._id
        day = (datetime.fromtimestamp(ts, self.zone) - self.reset).date().toordinal()
        lo, hi = self.start(day), self.start(day + 1)
        if lo <= ts < hi:  # cache the day's bounds: most facts fall in the same day
            self._lo, self._hi, self._id = lo, hi, day
        return day

    def start(self, day: int) -> float:
        """When day `day` begins (its reset time, local wall clock)."""
        if day == self._id and self._hi:  # the cached day: every agent view asks for today's start
            return self._lo
        wall = datetime.combine(date.fromordinal(day), time(), self.zone) + self.reset
        return wall.timestamp()

    def date_of(self, ts: float) -> date:
        return date.fromordinal(self.day_of(ts))
