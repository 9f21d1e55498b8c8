"""Wire shapes of the admin console."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from callcenter.acd.schemas import QueueOut
from callcenter.auth.schemas import AuditOut, UserOut
from callcenter.hooks.schemas import HoursOut, RuleOut
from callcenter.qa.schemas import FormOut


class ConfigOut(BaseModel):
    """Everything the console shows, cut to what the caller may see: all of
    it for an admin; for a team lead, what applies to their teams."""

    can_edit: bool
    scope: list[str] | None = Field(description="queues a team lead's view is limited to; null = everything (admin)")
    queues: list[QueueOut]
    users: list[UserOut]
    rules: list[RuleOut]
    hours: list[HoursOut]
    pause_reasons: list[dict[str, Any]]
    thresholds: dict[str, Any]
    forms: list[FormOut]
    teams: bool = Field(False, description="this server has the teams API (GET /api/teams)")


class RouteTestIn(BaseModel):
    caller: str = Field("", max_length=40, pattern=r"^\+?[0-9*#() -]*$", description="the caller's number as presented")
    dnis: str = Field("", max_length=32, pattern=r"^\+?[0-9*#]*$", description="the number dialled")
    choice: str = Field("", max_length=8, pattern=r"^[0-9*#]*$", description="IVR key pressed")
    at: datetime | None = Field(None, description="when; without a zone, the centre's local time; default now")


class RouteTestOut(BaseModel):
    queue: str
    action: str
    priority: int
    reasons: list[str]
    customer_id: int | None
    customer_name: str
    language: str
    open_ticket: bool
    duty: str
    voicemail: str
    fallback: bool
    rule: RuleOut | None
    at: datetime


class AuditPage(BaseModel):
    total: int
    items: list[AuditOut]
    actions: list[str]
