"""State machines (every legal and illegal move) and the escalation ladder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.workorders import states as st
from callcenter.workorders.states import IllegalMove, Kind, State

T0 = datetime(2026, 9, 24, 1, 0, tzinfo=UTC)

REPAIR_PATH = ["NEW", "DISPATCHED", "ON_SITE", "DONE", "LEAK_TEST", "RETURN_VISIT_DUE"]
COMPLAINT_PATH = ["RECEIVED", "CLASSIFIED", "ESCALATED", "ASSIGNED", "IN_PROGRESS", "ANSWERED", "RESOLVED", "RESULT_NOTIFIED", "RETURN_VISIT"]


@pytest.mark.parametrize("kind", list(Kind))
def test_every_pair_is_legal_or_refused_with_a_reason(kind):
    m = st.machine(kind)
    for cur in m:
        for tgt in State:
            legal = tgt in m[cur] and (cur, tgt) not in st.SYSTEM_ONLY
            if legal:
                st.check_move(kind, cur, tgt)
            else:
                with pytest.raises(IllegalMove, match="state: "):
                    st.check_move(kind, cur, tgt)


def test_the_seeds_paths():
    for a, b in zip(REPAIR_PATH, REPAIR_PATH[1:], strict=False):
        st.check_move(Kind.repair, a, b, category="leak")
    for a, b in zip(COMPLAINT_PATH, COMPLAINT_PATH[1:], strict=False):
        st.check_move(Kind.complaint, a, b)
    st.check_move(Kind.complaint, "RETURN_VISIT", "REOPENED", system=True)
    st.check_move(Kind.repair, "RETURN_VISIT_DUE", "REWORK")
    st.check_move(Kind.repair, "REWORK", "DISPATCHED")


def test_a_leak_is_leak_tested_before_its_return_visit():
    with pytest.raises(IllegalMove, match="LEAK_TEST"):
        st.check_move(Kind.repair, "DONE", "RETURN_VISIT_DUE", category="leak")
    st.check_move(Kind.repair, "DONE", "RETURN_VISIT_DUE", category="other")


def test_a_closed_repair_is_final_and_the_message_says_so():
    with pytest.raises(IllegalMove, match="final"):
        st.check_move(Kind.repair, "CLOSED", "NEW")
    with pytest.raises(IllegalMove, match="never"):
        st.check_move(Kind.repair, "RECEIVED", "CLASSIFIED")


def test_return_visit_results_are_not_plain_moves():
    with pytest.raises(IllegalMove, match="return visit"):
        st.check_move(Kind.complaint, "RETURN_VISIT", "CLOSED")
    st.check_move(Kind.complaint, "RETURN_VISIT", "CLOSED", system=True)


def _ladder(sev: str = "serious"):
    h = timedelta(hours=1)
    return st.ladder("complaint", sev, T0 + h, T0 + 10 * h, T0 + 50 * h, [T0 + 60 * h, T0 + 70 * h])


def test_ladder_levels_in_time():
    steps = _ladder()
    assert st.due_level(steps, "RECEIVED", 0, T0) == (0, "", T0 + timedelta(hours=1))
    assert st.due_level(steps, "RECEIVED", 0, T0 + timedelta(hours=2)) == (3, "escalate_missed", None)
    # escalated in time: the answer deadline is next, then overdue levels
    assert st.due_level(steps, "ESCALATED", 0, T0 + timedelta(hours=2)) == (0, "", T0 + timedelta(hours=10))
    assert st.due_level(steps, "IN_PROGRESS", 0, T0 + timedelta(hours=11)) == (2, "answer_missed", T0 + timedelta(hours=70))
    assert st.due_level(steps, "ANSWERED", 0, T0 + timedelta(hours=51)) == (1, "overdue", T0 + timedelta(hours=60))
    assert st.due_level(steps, "ANSWERED", 1, T0 + timedelta(hours=65)) == (2, "overdue_1wd", T0 + timedelta(hours=70))
    assert st.due_level(steps, "RESOLVED", 0, T0 + timedelta(hours=100)) == (0, "", None)
    assert st.due_level(steps, "CLOSED", 2, T0 + timedelta(hours=100)) == (2, "", None)


def test_ladder_is_idempotent_and_never_lowers():
    steps = _ladder("important")
    at = T0 + timedelta(hours=61)
    level, _, nxt = st.due_level(steps, "IN_PROGRESS", 0, at)
    assert level == 2
    assert st.due_level(steps, "IN_PROGRESS", level, at) == (level, "", nxt)
    assert st.due_level(steps, "IN_PROGRESS", 3, at)[0] == 3
