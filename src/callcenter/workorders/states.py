"""Work-order state machines and the escalation ladder (pure).

Repairs and complaints follow the seeds (B §3.1, §3.2); the other kinds
(enquiry, suggestion, praise, fee, request) a short one.  An illegal move
is refused with the reason (the API answers 409).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Kind(enum.StrEnum):
    repair = "repair"  # 报修
    complaint = "complaint"  # 投诉
    enquiry = "enquiry"  # 咨询
    suggestion = "suggestion"  # 建议
    praise = "praise"  # 表扬
    fee = "fee"  # 催费
    request = "request"  # 业务受理


class Channel(enum.StrEnum):
    phone_in = "phone_in"
    phone_out = "phone_out"
    walk_in = "walk_in"
    letter = "letter"
    email = "email"
    sms = "sms"
    wechat = "wechat"
    web = "web"


class Severity(enum.StrEnum):
    serious = "serious"  # 重大
    important = "important"  # 重要
    minor = "minor"  # 轻微
    normal = "normal"  # not a complaint


class State(enum.StrEnum):
    # repair
    NEW = "NEW"
    DISPATCHED = "DISPATCHED"
    ON_SITE = "ON_SITE"
    DONE = "DONE"
    LEAK_TEST = "LEAK_TEST"
    RETURN_VISIT_DUE = "RETURN_VISIT_DUE"
    RETURN_VISITED = "RETURN_VISITED"
    REWORK = "REWORK"
    # complaint
    RECEIVED = "RECEIVED"
    CLASSIFIED = "CLASSIFIED"
    ESCALATED = "ESCALATED"
    ASSIGNED = "ASSIGNED"
    IN_PROGRESS = "IN_PROGRESS"
    ANSWERED = "ANSWERED"
    RESOLVED = "RESOLVED"
    RESULT_NOTIFIED = "RESULT_NOTIFIED"
    RETURN_VISIT = "RETURN_VISIT"
    REOPENED = "REOPENED"
    # every kind
    CLOSED = "CLOSED"


S = State
REPAIR: dict[State, tuple[State, ...]] = {
    S.NEW: (S.DISPATCHED,),
    S.DISPATCHED: (S.ON_SITE, S.DISPATCHED),  # DISPATCHED -> DISPATCHED: a new appointment
    S.ON_SITE: (S.DONE,),
    S.DONE: (S.LEAK_TEST, S.RETURN_VISIT_DUE),
    S.LEAK_TEST: (S.RETURN_VISIT_DUE, S.REWORK),
    S.RETURN_VISIT_DUE: (S.RETURN_VISITED, S.REWORK),
    S.RETURN_VISITED: (S.CLOSED, S.REWORK),
    S.REWORK: (S.DISPATCHED,),
    S.CLOSED: (),
}
COMPLAINT: dict[State, tuple[State, ...]] = {
    S.RECEIVED: (S.CLASSIFIED,),
    S.CLASSIFIED: (S.ESCALATED, S.ASSIGNED),
    S.ESCALATED: (S.ASSIGNED, S.IN_PROGRESS),
    S.ASSIGNED: (S.IN_PROGRESS, S.ESCALATED),
    S.IN_PROGRESS: (S.ANSWERED, S.ESCALATED),
    S.ANSWERED: (S.RESOLVED, S.IN_PROGRESS),
    S.RESOLVED: (S.RESULT_NOTIFIED,),
    S.RESULT_NOTIFIED: (S.RETURN_VISIT,),
    S.RETURN_VISIT: (S.CLOSED, S.REOPENED),
    S.REOPENED: (S.ASSIGNED, S.IN_PROGRESS),
    S.CLOSED: (S.REOPENED,),
}
SIMPLE: dict[State, tuple[State, ...]] = {
    S.NEW: (S.ASSIGNED, S.ANSWERED, S.CLOSED),  # NEW -> CLOSED: answered on the call (FCR)
    S.ASSIGNED: (S.IN_PROGRESS, S.ANSWERED),
    S.IN_PROGRESS: (S.ANSWERED,),
    S.ANSWERED: (S.CLOSED, S.IN_PROGRESS),
    S.CLOSED: (S.REOPENED,),
    S.REOPENED: (S.ASSIGNED, S.IN_PROGRESS),
}


def machine(kind: Kind | str) -> dict[State, tuple[State, ...]]:
    return REPAIR if kind == Kind.repair else COMPLAINT if kind == Kind.complaint else SIMPLE


def initial(kind: Kind | str) -> State:
    return S.NEW if kind != Kind.complaint else S.RECEIVED


# Moves the service makes itself (a return visit's result, closing): not
# offered to a plain transition request.
SYSTEM_ONLY = {(S.RETURN_VISIT_DUE, S.RETURN_VISITED), (S.RETURN_VISIT, S.CLOSED), (S.RETURN_VISIT, S.REOPENED), (S.RETURN_VISITED, S.REWORK)}

# Where a return-visit task is created: the repair is done (after the leak
# test for leaks), the complaint's result was told to the customer.
RETURN_VISIT_STATES = (S.RETURN_VISIT_DUE, S.RETURN_VISIT)
# A state past the "answer" milestone, and past "resolve".
_ANSWERED = {S.ANSWERED, S.RESOLVED, S.RESULT_NOTIFIED, S.RETURN_VISIT, S.RETURN_VISIT_DUE, S.RETURN_VISITED, S.CLOSED, S.DONE, S.LEAK_TEST}
RESOLVED_STATES = _RESOLVED = {S.RESOLVED, S.RESULT_NOTIFIED, S.RETURN_VISIT, S.RETURN_VISIT_DUE, S.RETURN_VISITED, S.CLOSED, S.DONE, S.LEAK_TEST}
_ESCALATED_OR_LATER = _ANSWERED | {S.ESCALATED, S.ASSIGNED, S.IN_PROGRESS, S.DISPATCHED, S.ON_SITE}


class IllegalMove(Exception):
    """A transition the kind's machine does not have."""


def check_move(kind: Kind | str, current: State | str, target: State | str, *, system: bool = False, category: str = "") -> None:
    cur, tgt = State(current), State(target)
    allowed = machine(kind).get(cur)
    if allowed is None:
        raise IllegalMove(f"state: a {kind} is never {cur.value}")
    if tgt not in allowed:
        shown = ", ".join(s.value for s in allowed) or "nothing (it is final)"
        raise IllegalMove(f"state: a {kind} cannot go from {cur.value} to {tgt.value}; from {cur.value} it may go to {shown}")
    if not system and (cur, tgt) in SYSTEM_ONLY:
        raise IllegalMove(f"state: {cur.value} -> {tgt.value} follows a return visit's result; record the result instead")
    if kind == Kind.repair and cur == S.DONE and tgt == S.RETURN_VISIT_DUE and category == "leak":
        raise IllegalMove("state: a leak repair goes to LEAK_TEST before its return visit (試漏後3天內回訪)")


def is_open(state: State | str) -> bool:
    return State(state) != S.CLOSED


# --- escalation ladder ------------------------------------------------------------------

LEVELS = ("owner", "team_lead", "department_head", "director")  # 首问 -> 班长 -> 部门主管 -> 主任


@dataclass(frozen=True, slots=True)
class Step:
    """At `at`, if the order is not yet past `unless`, it goes to `level`."""

    at: datetime
    level: int
    reason: str  # escalate_missed | answer_missed | overdue | overdue_1wd | overdue_2wd


def ladder(kind: str, severity: str, escalate_by: datetime | None, answer_by: datetime | None, resolve_by: datetime,
           later: list[datetime]) -> list[Step]:  # fmt: skip
    """The ladder of a new order: `later` are resolve_by + 1 and + 2 working days."""
    steps = []
    if escalate_by is not None:
        steps.append(Step(escalate_by, 3 if severity == Severity.serious else 2, "escalate_missed"))
    if answer_by is not None:
        steps.append(Step(answer_by, 2, "answer_missed"))
    steps.append(Step(resolve_by, 1, "overdue"))
    for i, at in enumerate(later[:2]):
        steps.append(Step(at, 2 + i, f"overdue_{i + 1}wd"))
    return sorted(steps, key=lambda s: (s.at, s.level))


def _applies(step: Step, state: State) -> bool:
    if step.reason == "escalate_missed":
        return state not in _ESCALATED_OR_LATER
    if step.reason == "answer_missed":
        return state not in _ANSWERED
    return state not in _RESOLVED


def due_level(steps: list[Step], state: State | str, level: int, now: datetime) -> tuple[int, str, datetime | None]:
    """(level the order should be at now, why, when to look again).  Never
    lowers a level, so a second pass at the same instant changes nothing."""
    st = State(state)
    target, why = level, ""
    next_at = None
    if st == S.CLOSED:
        return level, "", None
    for step in steps:
        if not _applies(step, st):
            continue
        if step.at <= now:
            if step.level > target:
                target, why = step.level, step.reason
        elif step.level > max(target, level) and next_at is None:
            next_at = step.at
    return target, why, next_at
