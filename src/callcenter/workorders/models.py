"""Work orders (工单), their timeline, departments and tasks (回访, follow-ups).

A WorkOrder replaces crm's minimal Ticket for new work: migration 0008
copies every ticket into work_orders (legacy_ticket_id) and crm's
screen-pop and "open complaint" checks read work orders too.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base, UTCDateTime, utcnow
from callcenter.workorders.states import Channel, Kind, Severity, State


def _enum(cls: type[enum.StrEnum], name: str, length: int = 16) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=length)


class Department(Base):
    """工程部, 秩序部, 保洁部, 客服部 ... (configurable)."""

    __tablename__ = "wo_departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    head_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # 部门主管
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class DepartmentMember(Base):
    """Staff of a department (role `department`): they see its orders only."""

    __tablename__ = "wo_department_members"
    __table_args__ = (UniqueConstraint("department_id", "user_id", name="uq_wo_department_members"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("wo_departments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class TaskKind(enum.StrEnum):
    return_visit = "return_visit"  # 回访
    follow_up = "follow_up"  # grade cadence (客户追踪志)


class TaskStatus(enum.StrEnum):
    open = "open"
    done = "done"
    given_up = "given_up"  # unreachable after every retry


class WorkOrder(Base):
    __tablename__ = "work_orders"
    __table_args__ = (
        # my tasks: assignee's open orders by due; the board: open by due / level / department
        Index("ix_work_orders_assignee_open_due", "assignee_id", "is_open", "resolve_by"),
        Index("ix_work_orders_owner_open", "first_owner_id", "is_open"),
        Index("ix_work_orders_open_due", "is_open", "resolve_by"),
        Index("ix_work_orders_dept_open_due", "department_id", "is_open", "resolve_by"),
        Index("ix_work_orders_next_escalation", "next_escalation_at"),
        Index("ix_work_orders_customer_open", "customer_id", "is_open"),
        # The board's counts and lists over open orders only, answered from the index (index-only scan).
        Index(
            "ix_work_orders_open_board", "escalation_level", "resolve_by", "department_id", "created_at", "state", "first_owner_id", "assignee_id",
            postgresql_where=text("is_open"), sqlite_where=text("is_open"),
        ),
        # The board's counts for a lead (their people's orders: owned, or assigned and owned by others)
        # and for a department's staff, each from a narrow range of open orders, index-only.
        Index(
            "ix_work_orders_open_owner", "first_owner_id", "department_id", "created_at", "resolve_by", "escalation_level", "state", "assignee_id",
            postgresql_where=text("is_open"), sqlite_where=text("is_open"),
        ),
        Index(
            "ix_work_orders_open_assignee", "assignee_id", "department_id", "created_at", "resolve_by", "escalation_level", "state", "first_owner_id",
            postgresql_where=text("is_open"), sqlite_where=text("is_open"),
        ),
        Index(
            "ix_work_orders_open_dept", "department_id", "created_at", "resolve_by", "escalation_level", "state",
            postgresql_where=text("is_open"), sqlite_where=text("is_open"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[Kind] = mapped_column(_enum(Kind, "wo_kind"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "wo_channel"), default=Channel.phone_in)
    severity: Mapped[Severity] = mapped_column(_enum(Severity, "wo_severity"), default=Severity.normal)
    category: Mapped[str] = mapped_column(String(32), default="")  # repair: safety_facility | leak | other
    state: Mapped[State] = mapped_column(_enum(State, "wo_state", 24))
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    subject: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    customer_name: Mapped[str] = mapped_column(String(128), default="")
    number: Mapped[str] = mapped_column(String(32), default="", index=True)  # normalised caller number
    unit: Mapped[str] = mapped_column(String(64), default="")  # 房号
    uniqueid: Mapped[str] = mapped_column(String(64), default="", index=True)  # the call it came from
    calls: Mapped[list[str]] = mapped_column(JSON, default=list)  # every linked call (return visits too)
    first_owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # 首问负责, never changes
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("wo_departments.id", ondelete="SET NULL"))
    appointment_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    customer_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalate_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_by: Mapped[datetime] = mapped_column(UTCDateTime)
    ladder: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{at, level, reason}]
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)  # 0 owner .. 3 director
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_reason: Mapped[str] = mapped_column(Text, default="")
    overdue_plan: Mapped[str] = mapped_column(Text, default="")
    chases: Mapped[int] = mapped_column(Integer, default=0)  # 催办
    reopens: Mapped[int] = mapped_column(Integer, default=0)
    satisfaction: Mapped[str] = mapped_column(String(16), default="")  # last return visit's result
    resolution: Mapped[str] = mapped_column(Text, default="")
    customer_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    legacy_ticket_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}


class TimelineEntry(Base):
    """Everything that happened to an order, oldest first."""

    __tablename__ = "wo_timeline"
    __table_args__ = (Index("ix_wo_timeline_order", "order_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # None: the system
    action: Mapped[str] = mapped_column(String(32))  # created | state | assign | chase | escalate | rectify | note | ...
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RectificationNotice(Base):
    """整改通知: the department missed promised progress.  The department
    acknowledges it (who, when, what it will do); the job flags a notice
    whose deadline passed with the order still not resolved (`missed_at`)."""

    __tablename__ = "wo_rectifications"
    __table_args__ = (Index("ix_wo_rectifications_open_deadline", "missed_at", "deadline_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("wo_departments.id", ondelete="SET NULL"))
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ack_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # flagged: deadline passed, order not resolved


class Task(Base):
    """A return visit of an order, or a grade follow-up of a customer.
    `key` makes the jobs that create them idempotent."""

    __tablename__ = "wo_tasks"
    __table_args__ = (
        Index("ix_wo_tasks_assignee_status_due", "assigned_to", "status", "due_at"),
        Index("ix_wo_tasks_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # rv:<order>:<n> | fu:<customer>:<date>
    kind: Mapped[TaskKind] = mapped_column(_enum(TaskKind, "wo_task_kind"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(32), default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus, "wo_task_status"), default=TaskStatus.open)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    result: Mapped[str] = mapped_column(String(16), default="")  # satisfied | not_satisfied | unreachable | done
    uniqueid: Mapped[str] = mapped_column(String(64), default="")  # the (recorded) call
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_time: Mapped[bool | None] = mapped_column(Boolean)


class EscalationRun(Base):
    """One row per escalation pass: the job's heartbeat (restart-safe: the
    ladder state lives on the orders, this only records that it ran)."""

    __tablename__ = "wo_escalation_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked: Mapped[int] = mapped_column(Integer, default=0)
    escalated: Mapped[int] = mapped_column(Integer, default=0)
    ms: Mapped[int] = mapped_column(Integer, default=0)
