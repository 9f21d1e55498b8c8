"""Calling windows, retries, do-not-call and the dialer's choice: exact
instants across time zones, DST and holidays, plus a property test."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from callcenter.outbound.rules import (
    DEFAULT_RETRIES,
    Candidate,
    DoNotCall,
    FeeStep,
    Result,
    RetryRule,
    Window,
    collection_rate,
    next_attempt,
    next_fee_step,
    parse_window,
    pick,
    retry_rules,
)

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
UTC_Z = ZoneInfo("UTC")


def at(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)


# --- windows -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "ok"),
    [((8, 59, 59), False), ((9, 0, 0), True), ((12, 0, 0), True), ((20, 59, 59), True), ((21, 0, 0), False), ((23, 0, 0), False), ((0, 0, 0), False)],
)
def test_default_window_edges_in_shanghai(local, ok):
    w = Window()
    assert w.allows(at(SH, 2026, 11, 26, *local), SH) is ok


def test_the_same_instant_is_inside_for_one_zone_and_outside_for_another():
    w = Window()
    now = at(SH, 2026, 11, 26, 10, 0)  # 02:00 UTC, 21:00 in New York the day before
    assert w.allows(now, SH)
    assert not w.allows(now, NY)
    assert not w.allows(now, UTC_Z)  # 02:00


def test_holidays_are_local_dates():
    national_day = date(2026, 10, 1)
    w = Window(holidays=frozenset({national_day}))
    assert not w.allows(at(SH, 2026, 10, 1, 10, 0), SH)
    assert w.allows(at(SH, 2026, 10, 2, 10, 0), SH)
    # 10:00 on 1 October in New York is 22:00 in Shanghai: a New York holiday, not Shanghai's hours
    assert not w.allows(at(NY, 2026, 10, 1, 10, 0), NY)
    assert not w.allows(at(NY, 2026, 9, 30, 22, 30), SH)  # already 1 Oct 10:30 in Shanghai -> holiday
    assert w.allows(at(NY, 2026, 9, 30, 10, 0), NY)  # 30 Sep in New York
    assert not w.allows(at(SH, 2026, 10, 1, 10, 30), SH)


def test_weekdays_restrict_the_window():
    w = Window(weekdays=frozenset(range(5)))
    assert w.allows(at(SH, 2026, 11, 27, 10, 0), SH)  # Friday
    assert not w.allows(at(SH, 2026, 11, 28, 10, 0), SH)  # Saturday


def test_a_window_past_midnight_belongs_to_the_day_it_opened():
    w = Window(start=time(22, 0), end=time(2, 0), holidays=frozenset({date(2026, 11, 27)}))
    assert w.allows(at(SH, 2026, 11, 26, 23, 0), SH)
    assert w.allows(at(SH, 2026, 11, 27, 1, 0), SH)  # opened on the 26th
    assert not w.allows(at(SH, 2026, 11, 27, 23, 0), SH)  # the 27th is a holiday
    assert not w.allows(at(SH, 2026, 11, 28, 1, 0), SH)
    assert not w.allows(at(SH, 2026, 11, 27, 3, 0), SH)


def test_next_open_skips_night_and_holidays():
    w = Window(holidays=frozenset({date(2026, 11, 27)}))
    assert w.next_open(at(SH, 2026, 11, 26, 22, 0), SH) == at(SH, 2026, 11, 28, 9, 0)
    assert w.next_open(at(SH, 2026, 11, 26, 7, 0), SH) == at(SH, 2026, 11, 26, 9, 0)
    now = at(SH, 2026, 11, 26, 12, 0)
    assert w.next_open(now, SH) == now
    assert w.next_open(at(NY, 2026, 11, 26, 7, 0), NY) == at(NY, 2026, 11, 26, 9, 0)


def test_next_open_across_a_dst_change():
    # New York springs forward on 8 March 2026: 09:00 local is 13:00 UTC after, 14:00 before
    w = Window()
    assert w.next_open(at(NY, 2026, 3, 7, 22, 0), NY) == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)
    assert w.next_open(at(NY, 2026, 3, 6, 22, 0), NY) == datetime(2026, 3, 7, 14, 0, tzinfo=UTC)
    # a window opening inside the skipped hour opens when the clock reaches it
    gap = Window(start=time(2, 30), end=time(4, 0))
    assert gap.next_open(at(NY, 2026, 3, 7, 22, 0), NY) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT


def test_next_open_none_when_every_day_is_a_holiday():
    days = frozenset(date(2026, 1, 1) + timedelta(days=i) for i in range(800))
    assert Window(holidays=days).next_open(at(SH, 2026, 1, 1, 8, 0), SH, horizon_days=30) is None


def test_parse_window():
    assert parse_window("09:00-21:00") == (time(9), time(21))
    with pytest.raises(ValueError, match="HH:MM"):
        parse_window("9-21h")


# --- retries -----------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("result", list(Result))
def test_every_result_has_a_default_rule(result):
    assert result in DEFAULT_RETRIES


@pytest.mark.parametrize(
    ("result", "n", "expected"),
    [
        (Result.no_answer, 1, NOW + timedelta(hours=2)),
        (Result.no_answer, 3, NOW + timedelta(hours=2)),
        (Result.no_answer, 4, None),
        (Result.busy, 1, NOW + timedelta(minutes=15)),
        (Result.busy, 4, None),
        (Result.wrong_number, 1, None),
        (Result.invalid_number, 1, None),
        (Result.success, 1, None),
        (Result.refused, 1, None),
        (Result.do_not_call, 1, None),
        (Result.callback_later, 1, NOW),
        (Result.callback_later, 6, None),
    ],
)
def test_retry_defaults(result, n, expected):
    assert next_attempt(DEFAULT_RETRIES, result, n, NOW) == expected


def test_a_booked_callback_is_due_at_the_booked_time_never_in_the_past():
    booked = NOW + timedelta(days=1, hours=5)
    assert next_attempt(DEFAULT_RETRIES, Result.callback_later, 1, NOW, booked) == booked
    assert next_attempt(DEFAULT_RETRIES, Result.callback_later, 1, NOW, NOW - timedelta(hours=1)) == NOW


def test_campaign_overrides():
    rules = retry_rules({"busy": {"delay_s": 60, "max_attempts": 2}, "success": {"max_attempts": 1}})
    assert rules[Result.busy] == RetryRule(60, 2)
    assert next_attempt(rules, Result.busy, 1, NOW) == NOW + timedelta(seconds=60)
    assert next_attempt(rules, Result.busy, 2, NOW) is None
    assert rules[Result.no_answer] == DEFAULT_RETRIES[Result.no_answer]
    with pytest.raises(ValueError):
        retry_rules({"nonsense": {"delay_s": 1}})


# --- do-not-call -------------------------------------------------------------------------------------


def test_dnc_sources():
    dnc = DoNotCall(internal=frozenset({"1"}), opted_out=frozenset({"2"}), complaints=frozenset({"3"}))
    assert [dnc.reason(n) for n in ("1", "2", "3", "4", "")] == ["internal", "opted_out", "open_complaint", None, "no_number"]


def test_pick_skips_dnc_in_flight_not_due_and_out_of_window_and_orders():
    now = at(SH, 2026, 11, 26, 10, 0)
    cands = [
        Candidate(1, "13800000001", "Asia/Shanghai"),
        Candidate(2, "13800000002", "Asia/Shanghai"),  # DNC
        Candidate(3, "13800000003", "Asia/Shanghai"),  # in flight elsewhere
        Candidate(4, "13800000004", "America/New_York"),  # 21:00 there
        Candidate(5, "13800000005", "Asia/Shanghai", due_at=now + timedelta(minutes=1)),
        Candidate(6, "13800000006", "Asia/Shanghai", due_at=now - timedelta(hours=1)),
        Candidate(7, "13800000001", "Asia/Shanghai"),  # same number twice in the list
        Candidate(8, "13800000008", "Asia/Shanghai", priority=5, due_at=now),
    ]
    dnc = DoNotCall(internal=frozenset({"13800000002"}))
    got = pick(cands, now, Window(), dnc, {"13800000003"}, 10)
    assert [c.id for c in got] == [8, 1, 6]
    assert [c.id for c in pick(cands, now, Window(), dnc, (), 1)] == [8]
    assert pick(cands, now, Window(), dnc, (), 0) == []


# --- the property: never twice at once, never outside the window, never on DNC -------------------

ZONES = ["Asia/Shanghai", "Asia/Hong_Kong", "America/New_York", "Europe/London", "Australia/Sydney", "UTC"]
numbers = st.sampled_from([f"1380000{i:04d}" for i in range(25)])


@settings(max_examples=150, deadline=None)
@given(
    entries=st.lists(st.tuples(numbers, st.sampled_from(ZONES), st.integers(-3000, 3000), st.integers(0, 3)), max_size=40),
    dnc=st.frozensets(numbers, max_size=6),
    clock=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    holidays=st.frozensets(st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)), max_size=30),
    start=st.integers(0, 23),
    hours=st.integers(1, 23),
    ticks=st.integers(1, 6),
    batch=st.integers(1, 12),
)
def test_property_no_number_twice_at_once_none_outside_window_or_on_dnc(entries, dnc, clock, holidays, start, hours, ticks, batch):
    now = clock.replace(tzinfo=UTC)
    window = Window(start=time(start), end=time((start + hours) % 24), holidays=holidays)
    cands = [Candidate(i, n, z, due_at=now + timedelta(minutes=m), priority=p) for i, (n, z, m, p) in enumerate(entries)]
    dnc_lists = DoNotCall(internal=dnc)
    in_flight: set[str] = set()
    for t in range(ticks):
        tick = now + timedelta(minutes=37 * t)
        got = pick(cands, tick, window, dnc_lists, in_flight, batch)
        assert len(got) <= batch
        numbers_now = [c.number for c in got]
        assert len(numbers_now) == len(set(numbers_now)), "a number picked twice in one batch"
        assert not set(numbers_now) & in_flight, "a number dialled while it is in flight"
        for c in got:
            assert c.number not in dnc
            assert window.allows(tick, ZoneInfo(c.tz))
            assert c.due_at is None or c.due_at <= tick
        in_flight |= set(numbers_now)
        # some calls end: the earliest half of what is in flight
        for n in sorted(in_flight)[: len(in_flight) // 2]:
            in_flight.discard(n)


# --- fee ladder -------------------------------------------------------------------------------------


def test_fee_ladder():
    due = date(2026, 6, 30)
    assert next_fee_step({}, due, date(2026, 6, 30)) is None
    assert next_fee_step({}, due, date(2026, 7, 1)) is FeeStep.phone
    phoned = {FeeStep.phone: date(2026, 7, 1)}
    assert next_fee_step(phoned, due, date(2026, 7, 1)) is FeeStep.sms
    both = phoned | {FeeStep.sms: date(2026, 7, 2)}
    assert next_fee_step(both, due, date(2026, 9, 28)) is None  # 89 days
    assert next_fee_step(both, due, date(2026, 9, 29)) is FeeStep.letter  # 90 days after the phone notice
    assert next_fee_step(both | {FeeStep.letter: date(2026, 9, 29)}, due, date(2027, 1, 1)) is None
    assert next_fee_step(both, due, date(2026, 8, 1), letter_after_days=30) is FeeStep.letter
    assert collection_rate(1000, 950) == 0.95
    assert collection_rate(0, 0) == 1.0
