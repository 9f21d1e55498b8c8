"""Customers (the one Customer model of the product), their phone numbers,
tickets and callback tasks.

Phone numbers live in their own table, stored normalised and unique, so the
routing hook finds a caller with one indexed equality lookup however the
number was written or presented (+86 138..., 0138..., 010-6552 1234).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcenter.db import Base, UTCDateTime, utcnow


class Grade(enum.StrEnum):
    """客户追踪志 grades (seeds A §6.2): how soon a deal is expected."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


# Follow-up cadence per grade, days: 日志 / 周志 / 半月志 / 月志 / 年志.
FOLLOW_UP_DAYS = {Grade.A: 1, Grade.B: 7, Grade.C: 15, Grade.D: 30, Grade.E: 365}


class Tier(enum.StrEnum):
    """Value tiers (seeds A §6.3)."""

    vip = "vip"  # 大客户
    key = "key"  # 主要客户
    regular = "regular"  # 普通客户
    general = "general"  # 一般客户
    potential = "potential"  # 潜在大客户


TIER_LABELS = {
    Tier.vip: "大客户",
    Tier.key: "主要",
    Tier.regular: "普通",
    Tier.general: "一般",
    Tier.potential: "潜在",
}


class TicketKind(enum.StrEnum):
    repair = "repair"  # 报修
    complaint = "complaint"  # 投诉
    enquiry = "enquiry"  # 咨询
    fee = "fee"  # 缴费催费
    other = "other"


class TicketStatus(enum.StrEnum):
    open = "open"
    closed = "closed"


class CallbackStatus(enum.StrEnum):
    open = "open"  # waiting for an agent
    claimed = "claimed"  # an agent is on it
    done = "done"


class CallbackReason(enum.StrEnum):
    requested = "requested"  # the caller pressed "call me back" instead of waiting
    after_hours = "after_hours"  # left a request out of hours
    abandoned = "abandoned"  # 未接通回访: hung up in the queue
    follow_up = "follow_up"  # grade cadence


def _enum(cls: type[enum.StrEnum], name: str, length: int = 16) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=length)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    unit: Mapped[str] = mapped_column(String(64), default="", index=True)  # 房号, e.g. 3栋1201
    address: Mapped[str] = mapped_column(String(255), default="")
    grade: Mapped[Grade] = mapped_column(_enum(Grade, "grade", 1), default=Grade.C)
    tier: Mapped[Tier] = mapped_column(_enum(Tier, "tier"), default=Tier.regular)
    account_manager: Mapped[str] = mapped_column(String(128), default="")  # 大客户服务专员
    language: Mapped[str] = mapped_column(String(16), default="zh")  # Asterisk sound language
    notes: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # 階段性優先接入 (seeds B §2.4): a time-boxed priority set by a lead.
    priority_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    priority_reason: Mapped[str] = mapped_column(String(128), default="")
    last_follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_follow_up_on: Mapped[date | None] = mapped_column(Date, index=True)  # derived from grade
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    phones: Mapped[list[CustomerPhone]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", lazy="selectin", order_by="CustomerPhone.id"
    )


class CustomerPhone(Base):
    __tablename__ = "customer_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # normalised, see crm.service.normalise_number
    raw: Mapped[str] = mapped_column(String(64), default="")  # as entered

    customer: Mapped[Customer] = relationship(back_populates="phones")


class Ticket(Base):
    """A work order, minimal: enough for "open complaint raises priority"
    and for the screen-pop's open tickets."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_customer_status", "customer_id", "status"),
        Index("ix_tickets_number_status", "number", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    number: Mapped[str] = mapped_column(String(32), default="")  # normalised caller number
    kind: Mapped[TicketKind] = mapped_column(_enum(TicketKind, "ticket_kind"))
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus, "ticket_status", 8), default=TicketStatus.open)
    subject: Mapped[str] = mapped_column(String(255))
    uniqueid: Mapped[str] = mapped_column(String(64), default="")  # the call it came from, if any
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str] = mapped_column(Text, default="")


class CallbackTask(Base):
    """A call an agent owes a caller.  日结日清: due the same local day; one
    task per number per day, however often the caller asks."""

    __tablename__ = "callback_tasks"
    __table_args__ = (
        UniqueConstraint("number", "due_on", name="uq_callback_tasks_number_due_on"),
        Index("ix_callback_tasks_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32))  # normalised, the number to call
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    uniqueid: Mapped[str] = mapped_column(String(64), default="")
    queue: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[CallbackReason] = mapped_column(_enum(CallbackReason, "callback_reason"))
    due_on: Mapped[date] = mapped_column(Date)  # local day
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[CallbackStatus] = mapped_column(_enum(CallbackStatus, "callback_status", 8), default=CallbackStatus.open)
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str] = mapped_column(String(32), default="")  # reached | no_answer | wrong_number | ...
    note: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")  # dials made (outbound.callbacks retries)
    first_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # abandon -> callback time
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
