"""Campaigns, their lists, scripts, dials and results; the do-not-call
list; arrears for fee reminders (催费).

A dial in flight holds its number in `dials.live_number`, which is unique:
the database itself refuses a second dial of a number that is still being
dialled, by any campaign, on any node, before or after a restart.  The
column goes back to NULL when the dial ends.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Enum, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base, UTCDateTime, utcnow


class CampaignType(enum.StrEnum):
    sales = "sales"
    service = "service"  # return visit, survey
    collection = "collection"  # 催费, loans
    retention = "retention"
    return_visit = "return_visit"
    survey = "survey"


class CampaignStatus(enum.StrEnum):
    draft = "draft"
    running = "running"
    paused = "paused"
    closed = "closed"


class DialMode(enum.StrEnum):
    preview = "preview"  # the agent sees the card, then dials
    progressive = "progressive"  # one call per free agent
    predictive = "predictive"  # paced from contact rate and AHT under the abandon cap


class ContactStatus(enum.StrEnum):
    pending = "pending"  # to dial (now or at next_at)
    dialling = "dialling"
    done = "done"  # finished with: success, refused, out of attempts...
    blocked = "blocked"  # on the do-not-call list


class DialState(enum.StrEnum):
    pending = "pending"  # persisted, Originate not yet acknowledged
    sent = "sent"  # Asterisk queued the Originate
    answered = "answered"
    ended = "ended"


def _enum(cls: type[enum.StrEnum], name: str, length: int = 16) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=length)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    type: Mapped[CampaignType] = mapped_column(_enum(CampaignType, "campaign_type"))
    status: Mapped[CampaignStatus] = mapped_column(_enum(CampaignStatus, "campaign_status", 8), default=CampaignStatus.draft)
    mode: Mapped[DialMode] = mapped_column(_enum(DialMode, "dial_mode", 12), default=DialMode.preview)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    queue: Mapped[str] = mapped_column(String(64), default="")  # whose agents work it
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")  # default for list entries
    window: Mapped[str] = mapped_column(String(11), default="09:00-21:00")
    holidays: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO dates
    retries: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # result -> {delay_s, max_attempts}
    abandon_cap: Mapped[float] = mapped_column(Float, default=0.03)
    segment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")  # rules.matches_segment over the card
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CampaignContact(Base):
    """One entry of a campaign's list."""

    __tablename__ = "campaign_contacts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "number", name="uq_campaign_contacts_campaign_number"),
        Index("ix_campaign_contacts_due", "campaign_id", "status", "next_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(32), index=True)  # normalised
    name: Mapped[str] = mapped_column(String(128), default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    timezone: Mapped[str] = mapped_column(String(64), default="")  # "" = the campaign's
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the card: amount, unit, product...
    status: Mapped[ContactStatus] = mapped_column(_enum(ContactStatus, "contact_status", 12), default=ContactStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_result: Mapped[str] = mapped_column(String(24), default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # a booked call-back's agent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Script(Base):
    """话术: a campaign's script, never edited in place: a new version each time."""

    __tablename__ = "campaign_scripts"
    __table_args__ = (UniqueConstraint("campaign_id", "version", name="uq_campaign_scripts_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Dial(Base):
    """One attempt: persisted before the Originate is sent, so a restart
    knows it may be in flight (ChannelId = `channel_id`)."""

    __tablename__ = "campaign_dials"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("campaign_contacts.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(32))
    live_number: Mapped[str | None] = mapped_column(String(32), unique=True)  # set while in flight
    channel_id: Mapped[str] = mapped_column(String(64), unique=True)  # Originate's ChannelId / the call's Uniqueid
    agent: Mapped[str] = mapped_column(String(128), default="")  # interface, "" for a predictive dial
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    state: Mapped[DialState] = mapped_column(_enum(DialState, "dial_state", 8), default=DialState.pending)
    result: Mapped[str] = mapped_column(String(24), default="", index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    script_version: Mapped[int | None] = mapped_column(Integer)
    call_id: Mapped[str] = mapped_column(String(64), default="", server_default="")  # the call record it became (acd.CallRecord)
    talk_s: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DncEntry(Base):
    """The centre's own do-not-call list (opt-outs are added here too)."""

    __tablename__ = "dnc_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    source: Mapped[str] = mapped_column(String(16), default="internal")  # internal | opted_out
    note: Mapped[str] = mapped_column(String(255), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ListImport(Base):
    """A list upload and its error report (downloadable as CSV)."""

    __tablename__ = "campaign_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    encoding: Mapped[str] = mapped_column(String(16), default="")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    applied: Mapped[bool] = mapped_column(default=False)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[line, field, reason], ...]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Arrear(Base):
    """An unpaid bill from the billing system's arrears file; its reminder
    ladder steps (phone, SMS, letter) are recorded in `steps`."""

    __tablename__ = "fee_arrears"
    __table_args__ = (UniqueConstraint("unit", "period", name="uq_fee_arrears_unit_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit: Mapped[str] = mapped_column(String(64))  # 房号
    name: Mapped[str] = mapped_column(String(128), default="")
    number: Mapped[str] = mapped_column(String(32), default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM billed
    amount: Mapped[float] = mapped_column(Float)
    due_on: Mapped[date] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)
    steps: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # step -> ISO date done
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
