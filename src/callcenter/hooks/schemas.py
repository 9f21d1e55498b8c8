"""Wire shapes of the routing configuration: rules and business calendars.

A calendar is stored as JSON on QueueHours; `Calendar` validates it on the
way in, so the hook never meets a malformed one.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_HHMM = r"([01]\d|2[0-3]):[0-5]\d"


def parse_hhmm(s: str) -> time:
    h, m = s.split(":")
    return time(int(h), int(m))


def _window(v: str) -> str:
    """"08:30-12:00"; an end before the start runs past midnight (17:30-08:30)."""
    if not re.fullmatch(f"{_HHMM}-({_HHMM}|24:00)", v):
        raise ValueError(f"{v!r} is not a time window like 08:30-12:00")
    start, end = v.split("-")
    if start == end:
        raise ValueError(f"{v!r} is empty")
    return v


def _month_day(v: str) -> str:
    if not re.fullmatch(r"(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", v):
        raise ValueError(f"{v!r} is not a month-day like 05-01")
    return v


Window = Annotated[str, AfterValidator(_window)]
MonthDay = Annotated[str, AfterValidator(_month_day)]


class DutySlot(BaseModel):
    """Who answers while the queue is closed (值班), e.g. the noon duty
    clerk or the night maintenance technician (seeds B §2.8)."""

    window: Window
    number: str = Field(min_length=1, max_length=32, pattern=r"^\+?[0-9]+$")
    label: str = Field("", max_length=64)


class Season(BaseModel):
    weekly: dict[Weekday, list[Window]] = Field(default_factory=dict, description="opening windows within each day")
    duty: list[DutySlot] = Field(default_factory=list, description="duty slots; may run past midnight")

    @field_validator("weekly")
    @classmethod
    def _same_day(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, windows in v.items():
            for w in windows:
                a, b = w.split("-")
                if b != "24:00" and b < a:
                    raise ValueError(f"{day} {w}: opening windows end the same day (use 24:00 and the next day)")
        return v


class Calendar(BaseModel):
    """A queue's business hours: a weekly calendar per season (夏季/冬季),
    holidays, 调休 working days, and where calls go when closed."""

    always_open: bool = False
    winter: Season = Field(default_factory=Season, description="the default hours")
    summer: Season | None = Field(None, description="hours between summer_from and summer_to")
    summer_from: MonthDay = "05-01"
    summer_to: MonthDay = "09-30"
    holidays: list[date] = Field(default_factory=list, description="closed all day")
    workdays: list[date] = Field(default_factory=list, description="调休: weekend days worked with Monday's hours")
    after_hours: Literal["duty", "voicemail"] = "duty"
    voicemail: str = Field("", max_length=64, pattern=r"^[0-9A-Za-z_@.-]*$", description="mailbox, e.g. 800@callcenter")


class RuleIn(BaseModel):
    dnis: str = Field("", max_length=32, pattern=r"^\+?[0-9]*$")
    choice: str = Field("", max_length=8, pattern=r"^[0-9*#]*$")
    queue: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    vip_queue: str = Field("", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")
    label: str = Field("", max_length=64)


class RuleOut(RuleIn):
    model_config = ConfigDict(from_attributes=True)


class HoursOut(BaseModel):
    queue: str
    calendar: Calendar


class RoutingOut(BaseModel):
    rules: list[RuleOut]
    hours: list[HoursOut]


class RulesIn(BaseModel):
    rules: list[RuleIn] = Field(max_length=1000)

    @field_validator("rules")
    @classmethod
    def _unique(cls, v: list[RuleIn]) -> list[RuleIn]:
        seen = set()
        for r in v:
            key = (r.dnis, r.choice)
            if key in seen:
                raise ValueError(f"two rules for dnis {r.dnis!r} choice {r.choice!r}")
            seen.add(key)
        return v


class DecisionOut(BaseModel):
    uniqueid: str
    at: datetime
    queue: str
    action: str
    priority: int
    reasons: list[str]
    choices: list[str]
    customer_id: int | None
    customer_name: str
    fallback: bool
    dnis: str
    caller: str
