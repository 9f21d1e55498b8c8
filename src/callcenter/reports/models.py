"""Persisted 30-minute interval facts (reports/intervals.py) and the
scorecard's indicators and manual monthly figures.

Every report reads these rows, never the raw calls: one queue row and one
agent row per interval, keyed by (interval_start, queue | interface).
`day` is the interval's local date in the centre's zone at write time, so
daily/weekly/monthly reports group without time-zone arithmetic in SQL.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base, UTCDateTime, utcnow
from callcenter.reports.intervals import AGENT_SUMS, QUEUE_FIELDS

_SECONDS = lambda name: name.endswith("_s")  # noqa: E731


def _columns(names: tuple[str, ...]) -> dict[str, Any]:
    return {n: mapped_column(Float if _SECONDS(n) else Integer, default=0, nullable=False) for n in names}


class QueueFact(Base):
    __tablename__ = "report_queue_intervals"
    __table_args__ = (
        UniqueConstraint("interval_start", "queue", name="uq_report_queue_intervals_start_queue"),
        Index("ix_report_queue_intervals_day_queue", "day", "queue"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interval_start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    queue: Mapped[str] = mapped_column(String(64), nullable=False)
    locals().update(_columns(QUEUE_FIELDS))
    # Set on the rows of an interval written at a graceful stop (up to then); a restart resumes from them.
    partial_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AgentFact(Base):
    __tablename__ = "report_agent_intervals"
    __table_args__ = (
        UniqueConstraint("interval_start", "interface", name="uq_report_agent_intervals_start_interface"),
        Index("ix_report_agent_intervals_day_interface", "day", "interface"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interval_start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    interface: Mapped[str] = mapped_column(String(128), nullable=False)
    locals().update(_columns(AGENT_SUMS))
    # Set on the rows of an interval written at a graceful stop (up to then); a restart resumes from them.
    partial_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AgentPauseFact(Base):
    """Pause time as the agent set it, by reason, in one interval (a row
    per reason, so SQL sums them; the reasons are the centre's own)."""

    __tablename__ = "report_agent_pauses"
    __table_args__ = (
        UniqueConstraint("interval_start", "interface", "reason", name="uq_report_agent_pauses_start_interface_reason"),
        Index("ix_report_agent_pauses_day_interface", "day", "interface"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interval_start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    interface: Mapped[str] = mapped_column(String(128), nullable=False)
    reason: Mapped[str] = mapped_column(String(64), nullable=False)
    seconds: Mapped[float] = mapped_column(Float, nullable=False)


class QueueDay(Base):
    """The day's sums of a queue's interval rows (kept by store.write_facts),
    so daily, weekly and monthly reports read 48 times fewer rows."""

    __tablename__ = "report_queue_days"
    __table_args__ = (UniqueConstraint("day", "queue", name="uq_report_queue_days_day_queue"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    queue: Mapped[str] = mapped_column(String(64), nullable=False)
    locals().update(_columns(QUEUE_FIELDS))


class AgentDay(Base):
    __tablename__ = "report_agent_days"
    __table_args__ = (UniqueConstraint("day", "interface", name="uq_report_agent_days_day_interface"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    interface: Mapped[str] = mapped_column(String(128), nullable=False)
    locals().update(_columns(AGENT_SUMS))


class AgentPauseDay(Base):
    __tablename__ = "report_agent_pause_days"
    __table_args__ = (UniqueConstraint("day", "interface", "reason", name="uq_report_agent_pause_days_day_interface_reason"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    interface: Mapped[str] = mapped_column(String(128), nullable=False)
    reason: Mapped[str] = mapped_column(String(64), nullable=False)
    seconds: Mapped[float] = mapped_column(Float, nullable=False)


class TeamFact(Base):
    """An interval's agent sums per team: each agent in the team it was in
    at the interval's start (team_members history), kept by store.write_facts
    from the agent rows, so team reports read no join."""

    __tablename__ = "report_team_intervals"
    __table_args__ = (
        UniqueConstraint("interval_start", "team_id", name="uq_report_team_intervals_start_team"),
        Index("ix_report_team_intervals_day_team", "day", "team_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interval_start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    team_id: Mapped[int] = mapped_column(Integer, nullable=False)
    locals().update(_columns(AGENT_SUMS))


class TeamDay(Base):
    __tablename__ = "report_team_days"
    __table_args__ = (UniqueConstraint("day", "team_id", name="uq_report_team_days_day_team"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    team_id: Mapped[int] = mapped_column(Integer, nullable=False)
    locals().update(_columns(AGENT_SUMS))


class Indicator(Base):
    """One scorecard row: where its monthly value comes from, its weight
    (all weights sum to 100), its excellent / target / warning values and
    direction, and who owns it."""

    __tablename__ = "scorecard_indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))  # zh-CN
    name_en: Mapped[str] = mapped_column(String(128), default="")
    source: Mapped[str] = mapped_column(String(64))  # "measure:<name>" or "manual"
    weight: Mapped[float] = mapped_column(Float)
    excellent: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    warning: Mapped[float] = mapped_column(Float)
    higher_is_better: Mapped[bool] = mapped_column(default=True)
    owner: Mapped[str] = mapped_column(String(128), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ManualFigure(Base):
    """A manual monthly value of an indicator (satisfaction from the survey...)."""

    __tablename__ = "scorecard_manual_figures"
    __table_args__ = (UniqueConstraint("indicator_id", "month", name="uq_scorecard_manual_figures_indicator_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(Integer, index=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
