"""Wire shapes of the outbound API; every field bounded, so bad input is a
422 naming the field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.outbound.models import CampaignStatus, CampaignType, ContactStatus, DialMode, DialState
from callcenter.outbound.rules import Result, parse_window
from callcenter.validation import INT32_MAX

Number = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^\+?[0-9 ()-]{3,32}$")]


def _zone(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{v!r} is not an IANA time zone") from None
    return v


def _segment(v: dict[str, Any]) -> dict[str, Any]:
    from callcenter.outbound.rules import check_segment

    if len(v) > 20:
        raise ValueError("at most 20 conditions")
    why = check_segment(v)
    if why:
        raise ValueError(why)
    return v


def _window(v: str) -> str:
    start, end = parse_window(v)
    return f"{start:%H:%M}-{end:%H:%M}"


class RetryIn(BaseModel):
    delay_s: int = Field(ge=0, le=90 * 86400)
    max_attempts: int = Field(ge=0, le=50)


class CampaignBase(BaseModel):
    mode: DialMode = DialMode.preview
    queue: str = Field("", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")
    timezone: Annotated[str, Field(max_length=64), AfterValidator(_zone)] = "Asia/Shanghai"
    window: Annotated[str, Field(max_length=11), AfterValidator(_window)] = "09:00-21:00"
    holidays: list[date] = Field(default_factory=list, max_length=400)
    retries: dict[Result, RetryIn] = Field(default_factory=dict)
    abandon_cap: float = Field(0.03, ge=0.0, le=0.2)
    segment: Annotated[dict[str, Any], AfterValidator(_segment)] = Field(default_factory=dict)


class CampaignIn(CampaignBase):
    name: str = Field(min_length=1, max_length=128)
    type: CampaignType
    team_id: int | None = Field(None, ge=1, le=INT32_MAX)


class CampaignPatch(BaseModel):
    status: CampaignStatus | None = None
    mode: DialMode | None = None
    queue: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]*$")
    window: Annotated[str | None, Field(max_length=11), AfterValidator(lambda v: v if v is None else _window(v))] = None
    holidays: list[date] | None = Field(None, max_length=400)
    retries: dict[Result, RetryIn] | None = None
    abandon_cap: float | None = Field(None, ge=0.0, le=0.2)
    segment: Annotated[dict[str, Any] | None, AfterValidator(lambda v: v if v is None else _segment(v))] = None


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    type: CampaignType
    status: CampaignStatus
    mode: DialMode
    team_id: int | None
    queue: str
    timezone: str
    window: str
    holidays: list[str]
    retries: dict[str, Any]
    abandon_cap: float
    segment: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime


class ImportOut(BaseModel):
    id: int
    encoding: str
    rows: int
    imported: int
    applied: bool
    errors: list[dict[str, Any]]


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    name: str
    timezone: str
    data: dict[str, Any]
    status: ContactStatus
    attempts: int
    next_at: datetime | None
    last_result: str


class ScriptIn(BaseModel):
    body: str = Field(min_length=1, max_length=20000)


class ScriptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    campaign_id: int
    version: int
    body: str
    created_at: datetime


class DncIn(BaseModel):
    number: Number
    source: str = Field("internal", pattern=r"^(internal|opted_out)$")
    note: str = Field("", max_length=255)


class DncOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    source: str
    note: str
    created_at: datetime


class DncCheck(BaseModel):
    number: str
    blocked: bool
    reason: str | None


class DialOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    campaign_id: int
    contact_id: int
    number: str
    agent: str
    state: DialState
    result: str
    script_version: int | None
    created_at: datetime


class Card(BaseModel):
    """What the agent's outbound mode shows: the contact, the script, the dial."""

    dial: DialOut
    contact: ContactOut
    script: ScriptOut | None


class ResultIn(BaseModel):
    result: Result
    note: str = Field("", max_length=2000)
    callback_at: datetime | None = None

    @field_validator("callback_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("callback_at needs a time zone offset")
        return v


class CallbackResultIn(BaseModel):
    result: str = Field(pattern=r"^(reached|no_answer|busy|wrong_number)$")
    note: str = Field("", max_length=2000)


class ArrearOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    unit: str
    name: str
    number: str
    period: str
    amount: float
    due_on: date
    paid_on: date | None
    steps: dict[str, str]


class StepIn(BaseModel):
    step: str = Field(pattern=r"^(phone|sms|letter)$")
    note: str = Field("", max_length=255)


class PaidIn(BaseModel):
    paid_on: date
