"""Wire shapes for queues (and, later, live KPIs)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from callcenter.acd.models import AbandonMode
from callcenter.auth.schemas import QUEUE_RE


class Disposition(BaseModel):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[\w.-]+$")
    zh: str = Field(min_length=1, max_length=64)
    en: str = Field(min_length=1, max_length=64)


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
