"""Queue configuration, call records and agent state intervals.

Call records and intervals are written in batches by the ACD service from
the core's output; nothing on the event path reads them.  Reports, QA search
and the restart reload ("today so far") do.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcenter.db import Base, UTCDateTime, utcnow


class AbandonMode(enum.StrEnum):
    """How abandoned calls enter the service level (anchors.md §3.1)."""

    against = "against"  # abandons after S count in the denominator (default)
    ignore = "ignore"  # answered calls only
    favour = "favour"  # abandons within T count as met


class Outcome(enum.StrEnum):
    # a queue call
    answered = "answered"
    abandoned = "abandoned"
    timeout = "timeout"
    left_empty = "left_empty"
    exit_key = "exit_key"
    callback_requested = "callback_requested"
    # a call outside queues that nobody answered
    no_answer = "no_answer"
    busy = "busy"
    cancelled = "cancelled"
    rejected = "rejected"
    failed = "failed"
    ivr = "ivr"  # an inbound call that ended in the dialplan, ringing nobody


class CallKind(enum.StrEnum):
    queue = "queue"  # a caller's stay in one queue
    outbound = "outbound"  # an agent's call out (dialled, click-to-call, callback, campaign)
    internal = "internal"  # extension to extension
    direct = "direct"  # inbound, put straight through to an extension or a mobile
    ivr = "ivr"  # inbound, ended in the dialplan
    consult = "consult"  # an agent's consultation before a transfer (its own leg)


def default_dispositions() -> list[dict[str, str]]:
    return [
        {"code": "resolved", "zh": "已解决", "en": "Resolved"},
        {"code": "ticket", "zh": "已建工单", "en": "Ticket created"},
        {"code": "callback", "zh": "需回访", "en": "Needs callback"},
        {"code": "transferred", "zh": "已转接", "en": "Transferred"},
        {"code": "other", "zh": "其他", "en": "Other"},
    ]


class Queue(Base):
    """A queue as callcenter sees it; its name matches queues.conf."""

    __tablename__ = "queues"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(128))  # zh-CN, e.g. 报修
    display_name_en: Mapped[str] = mapped_column(String(128), default="")
    sl_threshold_s: Mapped[int] = mapped_column(Integer, default=20)
    short_abandon_s: Mapped[int] = mapped_column(Integer, default=5)
    abandon_mode: Mapped[AbandonMode] = mapped_column(
        Enum(AbandonMode, name="abandon_mode", native_enum=False, length=16), default=AbandonMode.against
    )
    wrap_up_s: Mapped[int] = mapped_column(Integer, default=60)
    dispositions: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=default_dispositions)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallRecord(Base):
    """One row per call (keyed by call_id), written when the call ends: a
    caller's stay in a queue, or a call that never waited in one (`kind`).
    Rows of one conversation share `linkedid`."""

    __tablename__ = "call_records"
    __table_args__ = (
        Index("ix_call_records_queue_entered", "queue", "entered_at"),
        Index("ix_call_records_agent_entered", "agent", "entered_at"),
        # The calls a queue_log backfill corrected: a cluster follower's warm standby
        # looks for them every 2 s (acd/warm.py); a scan of today's rows otherwise.
        Index("ix_call_records_backfill", "pbx", "entered_at", postgresql_where=text("source = 'backfill'"), sqlite_where=text("source = 'backfill'")),
        # A call is one row per PBX: a leader change (cluster/) upserts on this key and never writes a call twice.
        UniqueConstraint("pbx", "call_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pbx: Mapped[str] = mapped_column(String(32), default="default", server_default="default")  # which Asterisk (settings.pbx)
    call_id: Mapped[str] = mapped_column(String(64))
    uniqueid: Mapped[str] = mapped_column(String(64), index=True)  # caller's channel
    linkedid: Mapped[str] = mapped_column(String(64), default="", index=True)
    kind: Mapped[CallKind] = mapped_column(Enum(CallKind, name="call_kind", native_enum=False, length=16), default=CallKind.queue)
    direction: Mapped[str] = mapped_column(String(16), default="inbound")  # inbound | outbound | internal
    source: Mapped[str] = mapped_column(String(16), default="live")  # live | resync | backfill
    queue: Mapped[str] = mapped_column(String(64))  # "" outside queues
    caller_number: Mapped[str] = mapped_column(String(64), default="", index=True)
    caller_name: Mapped[str] = mapped_column(String(128), default="")
    callee_number: Mapped[str] = mapped_column(String(64), default="")  # who an outbound or direct call reached
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wait_s: Mapped[float] = mapped_column(Float, default=0.0)
    sl_wait_s: Mapped[int | None] = mapped_column(Integer)  # whole seconds, as app_queue counts them for the SL
    talk_s: Mapped[float] = mapped_column(Float, default=0.0)
    hold_s: Mapped[float] = mapped_column(Float, default=0.0)
    wrap_up_s: Mapped[float] = mapped_column(Float, default=0.0)
    agent: Mapped[str | None] = mapped_column(String(128))  # member interface
    agent_name: Mapped[str] = mapped_column(String(128), default="")
    peer_agent: Mapped[str | None] = mapped_column(String(128))  # the other agent of an internal call
    outcome: Mapped[Outcome] = mapped_column(Enum(Outcome, name="outcome", native_enum=False, length=24))
    short_abandon: Mapped[bool] = mapped_column(Boolean, default=False)
    abandon_position: Mapped[int | None] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    transfer_kind: Mapped[str | None] = mapped_column(String(16))  # blind | attended | blonde
    end_reason: Mapped[str | None] = mapped_column(String(24))  # how the caller's side ended: completed, busy, no-answer ...
    transfer_target: Mapped[str | None] = mapped_column(String(128))
    disposition: Mapped[str | None] = mapped_column(String(64), index=True)
    disposition_note: Mapped[str] = mapped_column(Text, default="")
    recording_file: Mapped[str | None] = mapped_column(String(255))
    # Channels of the call: [{"uniqueid", "channel", "role", "start", "end"}]
    legs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # What happened, in order: [{"t": epoch s, "kind": "queued|ringing|answered|hold|unhold|transfer|hangup|...", ...}]
    timeline: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    ring_attempts: Mapped[list[RingAttempt]] = relationship(
        back_populates="call", cascade="all, delete-orphan", lazy="selectin", order_by="RingAttempt.id"
    )


class RingAttempt(Base):
    __tablename__ = "ring_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_record_id: Mapped[int] = mapped_column(ForeignKey("call_records.id", ondelete="CASCADE"), index=True)
    agent: Mapped[str] = mapped_column(String(128), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ring_s: Mapped[float] = mapped_column(Float, default=0.0)
    result: Mapped[str] = mapped_column(String(16))  # answered | no_answer | cancelled | dumped | busy

    call: Mapped[CallRecord] = relationship(back_populates="ring_attempts")


class AgentInterval(Base):
    """A stretch of time an agent spent in one state (for reports and
    occupancy).  Closed intervals only; the open one lives in the core."""

    __tablename__ = "agent_intervals"
    __table_args__ = (
        Index("ix_agent_intervals_interface_started", "interface", "started_at"),
        # Upserted on this key: an interval written by two leaders in turn is one row.
        UniqueConstraint("pbx", "interface", "state", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pbx: Mapped[str] = mapped_column(String(32), default="default", server_default="default")
    interface: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))  # logged_out | available | ringing | on_call | on_hold | wrap_up | paused
    reason: Mapped[str] = mapped_column(String(64), default="")  # pause reason
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_s: Mapped[float] = mapped_column(Float)
    call_id: Mapped[str | None] = mapped_column(String(64))


class LiveCall(Base):
    """A call in progress (acd/snapshot.py), rewritten every few seconds and
    at shutdown, so a restart of serve goes on where the last one stopped."""

    __tablename__ = "acd_live_calls"

    pbx: Mapped[str] = mapped_column(String(32), primary_key=True, default="default", server_default="default")
    key: Mapped[str] = mapped_column(String(160), primary_key=True)  # "<kind>:<call id or interface>"
    kind: Mapped[str] = mapped_column(String(16))  # queue | direct | wrap
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallbackFact(Base):
    """A queued callback dialled (`made`) or reached (qcallbacks.py), as the
    core counted it: the source of the callback KPIs after a restart or a
    cluster leader change (Core.restore reloads today's).  Append-only and
    upserted on its key, so a retried batch or two leaders in turn never
    count a fact twice."""

    __tablename__ = "acd_callback_facts"
    __table_args__ = (
        UniqueConstraint("pbx", "callback_id", "attempt", "kind"),
        Index("ix_acd_callback_facts_pbx_at", "pbx", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pbx: Mapped[str] = mapped_column(String(32), default="default", server_default="default")
    callback_id: Mapped[str] = mapped_column(String(96))
    attempt: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))  # made | reached
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    queue: Mapped[str] = mapped_column(String(64))
    task: Mapped[str] = mapped_column(String(32), default="")  # the callback task (crm.CallbackTask id)
    agent: Mapped[str] = mapped_column(String(128), default="")
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the caller's original entry
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the key press
