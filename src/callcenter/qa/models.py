"""QA tables: scoring forms (versioned), evaluations (each revision a row),
annotations on recordings, monthly sampling assignments, and the waveform
peaks cache."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Enum, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base, UTCDateTime, utcnow


class QaForm(Base):
    """One version of a scoring form.  A form is never edited in place:
    saving a change adds version n+1, so an evaluation always shows the
    exact items it was scored on."""

    __tablename__ = "qa_forms"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_qa_forms_code_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    name_zh: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(128))
    # {"sections": [{"key", "zh", "en", "items": [{"key", "zh", "en", "weight", "veto", "na_allowed", "hint_zh", "hint_en"}]}]}
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class EvalStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    acknowledged = "acknowledged"
    disputed = "disputed"
    resolved = "resolved"


class Evaluation(Base):
    """A scored call.  Once submitted the row never changes its scores;
    a correction is a new row (revision n+1, previous_id -> this one) and
    this one is marked `superseded` when the correction is submitted."""

    __tablename__ = "qa_evaluations"
    __table_args__ = (Index("ix_qa_evaluations_agent_created", "agent", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_record_id: Mapped[int] = mapped_column(ForeignKey("call_records.id", ondelete="CASCADE"), index=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("qa_forms.id", ondelete="RESTRICT"))
    evaluator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    agent: Mapped[str] = mapped_column(String(128))  # interface of the agent scored
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    queue: Mapped[str] = mapped_column(String(64), default="")
    month: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM of the call, local time
    status: Mapped[EvalStatus] = mapped_column(
        Enum(EvalStatus, name="eval_status", native_enum=False, length=16), default=EvalStatus.draft
    )
    revision: Mapped[int] = mapped_column(Integer, default=1)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("qa_evaluations.id", ondelete="SET NULL"))
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    # {item_key: {"score": float | None (N/A), "violated": bool (veto items), "comment": str}}
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total: Mapped[float | None] = mapped_column(Float)
    vetoed: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str] = mapped_column(Text, default="")
    agent_comment: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(String(16), default="")  # upheld | amended
    resolution_comment: Mapped[str] = mapped_column(Text, default="")
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # agent acknowledged or disputed
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Annotation(Base):
    """A timestamped comment on a call's recording."""

    __tablename__ = "qa_annotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_record_id: Mapped[int] = mapped_column(ForeignKey("call_records.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author: Mapped[str] = mapped_column(String(128))
    at_s: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Assignment(Base):
    """A call picked for review in a month (by the sampler or by hand),
    and the QA person who should score it."""

    __tablename__ = "qa_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_record_id: Mapped[int] = mapped_column(
        ForeignKey("call_records.id", ondelete="CASCADE"), unique=True
    )
    month: Mapped[str] = mapped_column(String(7), index=True)
    agent: Mapped[str] = mapped_column(String(128), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="sample")  # sample | manual
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecordingPeaks(Base):
    """Waveform peaks of one recording file, computed once.  Size and
    mtime detect a file rewritten since (then they are recomputed)."""

    __tablename__ = "qa_recording_peaks"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_file: Mapped[str] = mapped_column(String(255), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime: Mapped[float] = mapped_column(Float)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
