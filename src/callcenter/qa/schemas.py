"""Wire shapes for QA: forms, evaluations, annotations, sampling."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def check_month(v: str | None) -> str | None:
    if v is not None and not MONTH_RE.match(v):
        raise ValueError("use YYYY-MM, e.g. 2026-11")
    return v


class FormItem(BaseModel):
    key: str = Field(min_length=1, max_length=64, pattern=r"^[\w-]+$")
    zh: str = Field(min_length=1, max_length=200)
    en: str = Field(min_length=1, max_length=200)
    weight: float = Field(ge=0, le=100)
    veto: bool = False
    na_allowed: bool = False
    hint_zh: str = Field("", max_length=500)
    hint_en: str = Field("", max_length=500)


class FormSection(BaseModel):
    key: str = Field(min_length=1, max_length=64, pattern=r"^[\w-]+$")
    zh: str = Field(min_length=1, max_length=200)
    en: str = Field(min_length=1, max_length=200)
    items: list[FormItem] = Field(min_length=1)


class FormDefinition(BaseModel):
    sections: list[FormSection] = Field(min_length=1)


class FormIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[\w-]+$")
    name_zh: str = Field(min_length=1, max_length=128)
    name_en: str = Field(min_length=1, max_length=128)
    definition: FormDefinition


class FormOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    version: int
    name_zh: str
    name_en: str
    definition: dict[str, Any]
    active: bool
    created_at: datetime


class Answer(BaseModel):
    score: float | None = Field(None, ge=0, le=100)
    na: bool = False
    violated: bool = False
    comment: str = Field("", max_length=2000)


class EvaluationCreate(BaseModel):
    form_id: int | None = Field(None, ge=1, le=2**31 - 1)


class EvaluationUpdate(BaseModel):
    answers: dict[str, Answer] | None = None
    comment: str | None = Field(None, max_length=5000)


class AgentResponse(BaseModel):
    comment: str = Field("", max_length=2000)


class Resolution(BaseModel):
    decision: Literal["upheld", "amended"]
    comment: str = Field(min_length=1, max_length=2000)


class EvaluationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    call_record_id: int
    form_id: int
    evaluator_id: int | None
    agent: str
    agent_user_id: int | None
    queue: str
    month: str
    status: str
    revision: int
    previous_id: int | None
    superseded: bool
    answers: dict[str, Any]
    total: float | None
    vetoed: bool
    comment: str
    agent_comment: str
    resolution: str
    resolution_comment: str
    created_at: datetime
    submitted_at: datetime | None
    answered_at: datetime | None
    resolved_at: datetime | None


class AnnotationIn(BaseModel):
    at_s: float = Field(ge=0, le=24 * 3600)
    text: str = Field(min_length=1, max_length=2000)


class AnnotationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    author: str
    at_s: float
    text: str
    created_at: datetime


class SampleIn(BaseModel):
    month: str | None = None  # None: this month in settings.timezone
    seed: int | None = Field(None, ge=0, le=2**63 - 1)

    _m = field_validator("month")(classmethod(lambda cls, v: check_month(v)))


class SampleOut(BaseModel):
    month: str
    created: int
    per_agent: dict[str, int]
    per_reviewer: dict[int, int]
