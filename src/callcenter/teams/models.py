"""Teams, their leads, and memberships with history.

A membership row is one stretch of an agent in a team: [from_at, to_at).
The open row (to_at NULL) is the agent's current team; a partial unique
index makes "one team at a time" a database fact, not a hope.  Reports
ask which team an agent was in at a time (teams.service.team_at).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcenter.db import Base, UTCDateTime, utcnow

_OPEN = text("to_at IS NULL")


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    # An archived team keeps its history but has no members or leads.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    leads: Mapped[list[TeamLead]] = relationship(cascade="all, delete-orphan", lazy="selectin", order_by="TeamLead.user_id")


class TeamLead(Base):
    """A user (a team lead) who leads the team; a team may have several
    (day and night shift) and a lead may lead several teams."""

    __tablename__ = "team_leads"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class TeamMember(Base):
    __tablename__ = "team_members"
    __table_args__ = (
        Index("uq_team_members_open", "user_id", unique=True, sqlite_where=_OPEN, postgresql_where=_OPEN),
        Index("ix_team_members_team_open", "team_id", "to_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    from_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    to_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
