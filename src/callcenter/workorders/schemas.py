"""Wire shapes of work orders, their timeline, tasks and departments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from callcenter.crm.models import Grade
from callcenter.validation import INT32_MAX, Moment
from callcenter.workorders.models import TaskKind, TaskStatus
from callcenter.workorders import states as st
from callcenter.workorders.states import Channel, Kind, Severity, State

UserId = Field(None, ge=1, le=INT32_MAX)
Version = Field(ge=1, le=INT32_MAX, description="the version you read; a different one answers 409")


class OrderIn(BaseModel):
    kind: Kind
    subject: str = Field(min_length=1, max_length=255)
    description: str = Field("", max_length=10000)
    channel: Channel = Channel.phone_in
    severity: Severity | None = Field(None, description="complaints: serious | important | minor; others: normal")
    category: Literal["", "safety_facility", "leak", "other"] = Field("", description="repairs: safety_facility | leak | other")
    customer_id: int | None = UserId
    customer_name: str = Field("", max_length=128)
    number: str = Field("", max_length=32, pattern=r"^[0-9+\-() ]*$")
    unit: str = Field("", max_length=64)
    uniqueid: str = Field("", max_length=64, description="the call the order comes from")
    assignee_id: int | None = UserId
    department_id: int | None = UserId
    appointment_at: Moment | None = None
    customer_deadline: Moment | None = Field(None, description="a minor complaint is due then (the customer's own deadline)")


class MoveIn(BaseModel):
    state: State
    version: int = Version
    text: str = Field("", max_length=5000)


class AssignIn(BaseModel):
    version: int = Version
    assignee_id: int | None = UserId
    department_id: int | None = UserId


class ChaseIn(BaseModel):
    text: str = Field("", max_length=2000)


class RectifyIn(BaseModel):
    text: str = Field(min_length=1, max_length=5000)
    deadline_at: Moment


class OverduePlanIn(BaseModel):
    version: int = Version
    reason: str = Field(min_length=1, max_length=2000)
    plan: str = Field(min_length=1, max_length=5000)
    new_deadline: Moment


class LinkCallIn(BaseModel):
    uniqueid: str = Field(min_length=1, max_length=64)


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: Kind
    channel: Channel
    severity: Severity
    category: str
    state: State
    is_open: bool
    subject: str
    description: str
    customer_id: int | None
    customer_name: str
    number: str
    unit: str
    uniqueid: str
    calls: list[str]
    first_owner_id: int | None
    assignee_id: int | None
    department_id: int | None
    appointment_at: datetime | None
    customer_deadline: datetime | None
    escalate_by: datetime | None
    answer_by: datetime | None
    resolve_by: datetime
    escalation_level: int
    overdue_reason: str
    overdue_plan: str
    chases: int
    reopens: int
    satisfaction: str
    resolution: str
    customer_notified_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def late(self) -> bool:
        """Open, past its deadline and not yet done."""
        return self.is_open and self.state not in st.RESOLVED_STATES and self.resolve_by < datetime.now(UTC)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def moves(self) -> list[State]:
        """The states a person may move it to now (the pages' buttons)."""
        return [t for t in st.machine(self.kind).get(self.state, ()) if (self.state, t) not in st.SYSTEM_ONLY]


class OrderPage(BaseModel):
    items: list[OrderOut]
    total: int


class TimelineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: int | None
    action: str
    detail: dict[str, Any]


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: TaskKind
    order_id: int | None
    customer_id: int | None
    number: str
    due_at: datetime
    status: TaskStatus
    attempts: int
    assigned_to: int | None
    result: str
    uniqueid: str
    note: str
    completed_at: datetime | None
    on_time: bool | None


class TaskResultIn(BaseModel):
    result: Literal["satisfied", "not_satisfied", "unreachable", "done"] = Field(
        description="return visits: satisfied | not_satisfied | unreachable; follow-ups: done"
    )
    note: str = Field("", max_length=5000)
    uniqueid: str = Field("", max_length=64, description="the recorded call it was made on")
    grade: Grade | None = Field(None, description="follow-ups: the customer's new grade")


class TaskAssignIn(BaseModel):
    assigned_to: int = Field(ge=1, le=INT32_MAX)


class MyTasksOut(BaseModel):
    now: datetime
    orders: list[OrderOut]
    tasks: list[TaskOut]


class DeptCount(BaseModel):
    department_id: int | None
    name: dict[str, str] | None
    open: int
    overdue: int
    escalated: int


class BoardOrderOut(BaseModel):
    """An order's row on the board (what the row and its chase/reassign
    need; the detail comes from GET /api/workorders/{id})."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: Kind
    channel: Channel
    severity: Severity
    state: State
    is_open: bool
    subject: str
    unit: str
    first_owner_id: int | None
    assignee_id: int | None
    department_id: int | None
    resolve_by: datetime
    escalation_level: int
    chases: int
    version: int
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def late(self) -> bool:
        return self.is_open and self.state not in st.RESOLVED_STATES and self.resolve_by < datetime.now(UTC)


class BoardOut(BaseModel):
    now: datetime
    totals: dict[str, int]
    by_department: list[DeptCount]
    by_age: dict[str, int]
    overdue: list[BoardOrderOut]
    escalated: list[BoardOrderOut]


class TilesOut(BaseModel):
    overdue_orders: int
    return_visits_due_today: int


class DepartmentIn(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str = Field(min_length=1, max_length=64)
    name_en: str = Field(min_length=1, max_length=64)
    head_user_id: int | None = UserId
    members: list[int] = Field(default_factory=list, max_length=500, description="user ids of its staff")


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str
    head_user_id: int | None
    active: bool
    members: list[int] = []


class RectificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    department_id: int | None
    issued_by: int | None
    issued_at: datetime
    deadline_at: datetime
    text: str
    acknowledged_at: datetime | None = None
    acknowledged_by: int | None = None
    ack_note: str = ""
    missed_at: datetime | None = None


class AcknowledgeIn(BaseModel):
    note: str = Field("", max_length=5000, description="what the department will do")


class DialOut(BaseModel):
    ok: bool
    task_id: int
    uniqueid: str = Field(description="the call's Uniqueid (Originate ChannelId): its call record and recording")
    number: str


class EscalationOut(BaseModel):
    escalated: list[dict[str, Any]]
