"""Users, their skills (queues with a penalty) and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcenter.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    agent = "agent"
    team_lead = "team_lead"
    qa = "qa"
    admin = "admin"
    department = "department"  # a department's staff (工程部, 秩序部 ...): its work orders only
    director = "director"  # 主任: every work order, its board and reports; 重大 complaints reach them the same day


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[Role] = mapped_column(Enum(Role, name="role", native_enum=False, length=16))
    password_hash: Mapped[str] = mapped_column(String(255))
    # The phone this user sits at, e.g. PJSIP/8001.  Agents are queue
    # members by it; supervisors are rung on it to listen/whisper/barge.
    interface: Mapped[str | None] = mapped_column(String(128), unique=True)
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of every token: bumping it (password change, deactivation,
    # "sign out everywhere") makes every token issued before invalid.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    skills: Mapped[list[Skill]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin", order_by="Skill.queue"
    )


class Skill(Base):
    """A queue the user may work (agents) or leads (team leads), with the
    penalty sent in QueueAdd: lower penalty is rung first."""

    __tablename__ = "skills"
    __table_args__ = (UniqueConstraint("user_id", "queue", name="uq_skills_user_queue"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    queue: Mapped[str] = mapped_column(String(64))
    penalty: Mapped[int] = mapped_column(Integer, default=0)

    user: Mapped[User] = relationship(back_populates="skills")


class RevokedToken(Base):
    """A signed-out token (its jti), refused until it would have expired
    anyway; rows past `expires_at` are purged."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuditEntry(Base):
    """Who did what to whom, when.  Written for supervisor actions,
    recording playback, evaluation changes and user administration."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(255), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")
