"""Routing configuration (number + IVR choice -> queue; business hours per
queue) and what the hooks recorded: route decisions and survey scores.

The configuration is small and read on every call, so the hook keeps it in
memory (hooks.service.RoutingTable); these tables are its durable copy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base, UTCDateTime, utcnow


class RouteRule(Base):
    """Dialled number (DNIS) + IVR choice -> queue.  An empty dnis matches
    any number, an empty choice is the line's default (no key pressed)."""

    __tablename__ = "route_rules"
    __table_args__ = (UniqueConstraint("dnis", "choice", name="uq_route_rules_dnis_choice"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dnis: Mapped[str] = mapped_column(String(32), default="")
    choice: Mapped[str] = mapped_column(String(8), default="")
    queue: Mapped[str] = mapped_column(String(64))
    # 大客户 calling this line go here instead (seeds A §6.3 特别通道); "" = same queue.
    vip_queue: Mapped[str] = mapped_column(String(64), default="")
    label: Mapped[str] = mapped_column(String(64), default="")  # what the IVR prompt says, e.g. 报修


class QueueHours(Base):
    """A queue's business calendar (see hooks.hours.Calendar for the shape)
    and where calls go when it is closed."""

    __tablename__ = "queue_hours"

    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    calendar: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RouteDecision(Base):
    """What /hooks/route answered for a call, and why (correlated by the
    caller channel's Uniqueid, for the core and the screen-pop)."""

    __tablename__ = "route_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    uniqueid: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    caller: Mapped[str] = mapped_column(String(64), default="")  # as presented
    number: Mapped[str] = mapped_column(String(32), default="")  # normalised
    dnis: Mapped[str] = mapped_column(String(32), default="")
    choice: Mapped[str] = mapped_column(String(8), default="")
    action: Mapped[str] = mapped_column(String(16))  # queue | duty | voicemail
    queue: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    customer_id: Mapped[int | None] = mapped_column(Integer)
    customer_name: Mapped[str] = mapped_column(String(128), default="")
    language: Mapped[str] = mapped_column(String(16), default="")
    open_ticket: Mapped[bool] = mapped_column(Boolean, default=False)
    recording: Mapped[str] = mapped_column(String(255), default="")
    duty_number: Mapped[str] = mapped_column(String(32), default="")
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)  # the safe default, lookup failed or was slow
    elapsed_ms: Mapped[float] = mapped_column(Float, default=0.0)


class SurveyResponse(Base):
    """A post-call IVR satisfaction score; one per call (the last key wins)."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    uniqueid: Mapped[str] = mapped_column(String(64), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    score: Mapped[int] = mapped_column(Integer)
    scale: Mapped[int] = mapped_column(Integer)
    queue: Mapped[str] = mapped_column(String(64), default="")
    agent: Mapped[str] = mapped_column(String(128), default="")
    number: Mapped[str] = mapped_column(String(32), default="")
