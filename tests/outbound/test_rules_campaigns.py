"""The pure rules added for campaigns: the frequency cap across campaigns
(local days, a 7-day window, time zones), segments over the card, and the
lifecycle's transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callcenter.outbound.rules import FrequencyCap, capped, check_segment, matches_segment, transition_refused

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def test_no_cap_allows_everything():
    assert FrequencyCap().allows([NOW - timedelta(minutes=i) for i in range(50)], NOW, SH)


def test_per_day_counts_the_local_day_only():
    cap = FrequencyCap(per_day=2)
    yesterday_local = datetime(2026, 11, 25, 15, 59, tzinfo=UTC)  # 23:59 on the 25th in Shanghai
    today_local = datetime(2026, 11, 25, 16, 1, tzinfo=UTC)  # 00:01 on the 26th in Shanghai
    assert cap.allows([yesterday_local, yesterday_local, today_local], NOW, SH)
    assert not cap.allows([today_local, NOW - timedelta(hours=1)], NOW, SH)
    # the same instants seen from New York fall on another local day
    assert cap.allows([today_local, NOW - timedelta(hours=1)], NOW, ZoneInfo("America/New_York")) is False
    assert cap.allows([yesterday_local, today_local], NOW, ZoneInfo("America/New_York")) is False


def test_per_week_is_a_sliding_seven_days():
    cap = FrequencyCap(per_week=3)
    assert cap.allows([NOW - timedelta(days=7, minutes=1)] * 5 + [NOW - timedelta(days=2)] * 2, NOW, SH)
    assert not cap.allows([NOW - timedelta(days=6)] * 3, NOW, SH)
    assert cap.allows([NOW + timedelta(hours=1)] * 9, NOW, SH)  # not yet happened: not counted


def test_capped_numbers():
    history = {"1": [NOW - timedelta(hours=1)], "2": [], "3": [NOW - timedelta(hours=2), NOW - timedelta(hours=1)]}
    assert capped(history, FrequencyCap(per_day=2), NOW, SH) == {"3"}
    assert capped(history, FrequencyCap(per_day=1), NOW, SH) == {"1", "3"}


CARD = {"unit": "3栋1201", "amount": "1,250.50", "building": "3", "name": "张三", "number": "13800138001", "timezone": "Asia/Shanghai"}


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ({}, True),
        ({"building": "3"}, True),
        ({"building": "4"}, False),
        ({"building": {"op": "in", "value": ["3", "5"]}}, True),
        ({"amount": {"op": "gte", "value": 1000}}, True),
        ({"amount": {"op": "lte", "value": 1000}}, False),
        ({"amount": {"op": "gte", "value": 1000}, "building": "4"}, False),
        ({"unit": {"op": "prefix", "value": "3栋"}}, True),
        ({"unit": {"op": "contains", "value": "12"}}, True),
        ({"number": {"op": "prefix", "value": "139"}}, False),
        ({"missing": {"op": "gte", "value": 1}}, False),
        ({"building": {"op": "ne", "value": "3"}}, False),
    ],
)
def test_segments(segment, expected):
    assert matches_segment(segment, CARD) is expected


@pytest.mark.parametrize(
    ("segment", "why"),
    [
        ([], "must be an object"),
        ({"a": {"op": "between", "value": 1}}, "op must be one of"),
        ({"a": {"op": "gte"}}, "needs a value"),
        ({"a": {"op": "gte", "value": "x"}}, "needs a number"),
        ({"a": [1, 2]}, "needs op 'in'"),
        ({"": "x"}, "not a name"),
    ],
)
def test_bad_segments_are_named(segment, why):
    assert why in (check_segment(segment) or "")


def test_lifecycle():
    ok = {"contacts": 3, "queue": "sales", "mode": "predictive"}
    assert transition_refused("draft", "running", **ok) is None
    assert transition_refused("running", "paused", **ok) is None
    assert transition_refused("paused", "running", **ok) is None
    assert transition_refused("paused", "closed", **ok) is None
    assert transition_refused("draft", "closed", **ok) is None
    assert "cannot become" in transition_refused("draft", "paused", **ok)
    assert "cannot become" in transition_refused("closed", "running", **ok)
    assert "list is empty" in transition_refused("draft", "running", **(ok | {"contacts": 0}))
    assert "needs the queue" in transition_refused("draft", "running", **(ok | {"queue": ""}))
    assert transition_refused("draft", "running", **(ok | {"queue": "", "mode": "preview"})) is None
