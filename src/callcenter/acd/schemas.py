"""Wire shapes for queues (and, later, live KPIs)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from callcenter.acd.models import AbandonMode
from callcenter.auth.schemas import QUEUE_RE


class Disposition(BaseModel):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[\w.-]+$")
    zh: str = Field(min_length=1, max_length=64)
    en: str = Field(min_length=1, max_length=64)
    note_required: bool = False  # the agent must write a note with this code


class QueueIn(BaseModel):
    display_name: str = Field(min_length=1, max_length=128)
    display_name_en: str = Field("", max_length=128)
    sl_threshold_s: int = Field(20, ge=1, le=3600)
    short_abandon_s: int = Field(5, ge=0, le=600)
    abandon_mode: AbandonMode = AbandonMode.against
    wrap_up_s: int = Field(60, ge=0, le=3600)
    dispositions: list[Disposition] | None = None

    @field_validator("short_abandon_s")
    @classmethod
    def _short(cls, v: int, info) -> int:  # noqa: ANN001
        t = info.data.get("sl_threshold_s")
        if t is not None and v > t:
            raise ValueError("short-abandon threshold must not exceed the service-level threshold")
        return v


class QueueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    display_name: str
    display_name_en: str
    sl_threshold_s: int
    short_abandon_s: int
    abandon_mode: AbandonMode
    wrap_up_s: int
    dispositions: list[Disposition]


def check_queue_name(name: str) -> str:
    if not QUEUE_RE.match(name):
        raise ValueError("queue names use letters, digits, '_', '-' and '.'")
    return name


class DispositionIn(BaseModel):
    call_id: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=1, max_length=64)
    note: str = Field("", max_length=2000)


class LateDispositionIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    note: str = Field("", max_length=2000)


class CallOut(BaseModel):
    """A finished call from the history (the replay call shape plus extras)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    call_id: str
    uniqueid: str
    queue: str
    caller_number: str
    caller_name: str
    entered_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    wait_s: float
    talk_s: float
    hold_s: float
    wrap_up_s: float
    agent: str | None
    agent_name: str
    outcome: str
    short_abandon: bool
    abandon_position: int | None
    priority: int
    transfer_kind: str | None
    transfer_target: str | None
    disposition: str | None
    disposition_note: str
    recording_file: str | None


class CallPage(BaseModel):
    total: int
    items: list[CallOut]
