"""Wire shapes for customers, tickets and callback tasks."""

from __future__ import annotations

from datetime import date, datetime

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from callcenter.validation import Moment, omittable
from callcenter.crm.models import CallbackReason, CallbackStatus, Grade, Tier, TicketKind, TicketStatus


def _clean_tags(v: list[str]) -> list[str]:
    out: list[str] = []
    for t in v:
        t = t.strip()
        if t and t not in out:
            out.append(t[:32])
    return out


def _check_phone(p: str) -> str:
    if not any(ch.isdigit() for ch in p) or len(p) > 32:
        raise ValueError(f"{p!r} is not a phone number")
    return p


Phone = Annotated[str, AfterValidator(_check_phone)]
Tags = Annotated[list[str], AfterValidator(_clean_tags), Field(max_length=20)]
Language = Annotated[str, Field(max_length=16, pattern=r"^[a-z]{2,3}([_-][A-Za-z]{2,4})?$")]


class CustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    phones: list[Phone] = Field(default_factory=list, max_length=10)
    unit: str = Field("", max_length=64)
    address: str = Field("", max_length=255)
    grade: Grade = Grade.C
    tier: Tier = Tier.regular
    account_manager: str = Field("", max_length=128)
    language: Language = "zh"
    notes: str = Field("", max_length=10_000)
    tags: Tags = Field(default_factory=list)


class CustomerPatch(BaseModel):
    """Only the fields sent change.  null clears `priority_until` and is
    refused for the others, whose columns cannot be empty (send "" or [])."""

    name: str = omittable(min_length=1, max_length=128)
    phones: list[Phone] = omittable(max_length=10)
    unit: str = omittable(max_length=64)
    address: str = omittable(max_length=255)
    grade: Grade = omittable()
    tier: Tier = omittable()
    account_manager: str = omittable(max_length=128)
    language: Language = omittable()
    notes: str = omittable(max_length=10_000)
    tags: Tags = omittable()
    priority_until: Moment | None = None
    priority_reason: str = omittable(max_length=128)


class PhoneOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: str
    raw: str


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    phones: list[PhoneOut]
    unit: str
    address: str
    grade: Grade
    tier: Tier
    account_manager: str
    language: str
    notes: str
    tags: list[str]
    priority_until: datetime | None
    priority_reason: str
    last_follow_up_at: datetime | None
    next_follow_up_on: date | None
    created_at: datetime


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    total: int
    page: int
    page_size: int


class FollowUpIn(BaseModel):
    grade: Grade | None = None
    note: str = Field("", max_length=2000)


class ImportError_(BaseModel):
    line: int
    reason: str


class ImportOut(BaseModel):
    encoding: str
    rows: int
    imported: int
    applied: bool
    strict: bool
    errors: list[ImportError_]


class TicketIn(BaseModel):
    kind: TicketKind
    subject: str = Field(min_length=1, max_length=255)
    customer_id: int | None = Field(None, ge=1, le=2**31 - 1)
    number: str = Field("", max_length=32)
    uniqueid: str = Field("", max_length=64)


class TicketClose(BaseModel):
    resolution: str = Field("", max_length=5000)


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: TicketKind
    status: TicketStatus
    subject: str
    customer_id: int | None
    number: str
    uniqueid: str
    created_by: int | None
    created_at: datetime
    closed_at: datetime | None
    resolution: str


class CallbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    customer_id: int | None
    uniqueid: str
    queue: str
    reason: CallbackReason
    due_on: date
    due_at: datetime
    status: CallbackStatus
    assigned_to: int | None
    claimed_at: datetime | None
    completed_at: datetime | None
    result: str
    note: str
    created_at: datetime


class CallbackComplete(BaseModel):
    result: str = Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$", description="reached | no_answer | wrong_number | ...")
    note: str = Field("", max_length=5000)
