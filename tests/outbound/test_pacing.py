"""Predictive pacing: more dials than agents when few answer, never more
overflow than the target, progressive when the abandon rate runs high."""

from __future__ import annotations

import random

import pytest

from callcenter.outbound.pacing import Measured, calls_to_place, expected_overflow_share, target_share


def test_overflow_share_is_zero_when_calls_cannot_exceed_agents():
    assert expected_overflow_share(5, 0.5, 5) == 0.0
    assert expected_overflow_share(0, 0.5, 5) == 0.0
    assert expected_overflow_share(10, 1.0, 5) == pytest.approx(0.5)


def test_low_contact_rate_dials_ahead():
    m = Measured(dialled=1000, answered=250, abandoned=5, aht_s=180, ring_s=20)
    n = calls_to_place(free_agents=10, busy_agents=0, ringing=0, m=m)
    assert n > 10  # more than progressive
    assert expected_overflow_share(n, m.contact_rate, 10) <= target_share(0.03, m)


def test_high_measured_abandon_rate_falls_back_to_progressive():
    m = Measured(dialled=1000, answered=300, abandoned=30, aht_s=180)  # 10 % > 1.5 x cap
    assert calls_to_place(10, 0, 0, m) == 10
    assert calls_to_place(10, 0, 4, m) == 6
    assert calls_to_place(0, 5, 0, m) == 0


def test_ringing_calls_count_against_the_agents():
    m = Measured(dialled=1000, answered=250, aht_s=180)
    a = calls_to_place(10, 0, 0, m)
    b = calls_to_place(10, 0, 20, m)
    assert b < a


def test_no_free_agents_no_dials_unless_busy_ones_free_up_soon():
    m = Measured(dialled=1000, answered=250, aht_s=30, ring_s=20)
    assert calls_to_place(0, 0, 0, m) == 0
    assert calls_to_place(0, 10, 0, m) > 0


def test_simulated_abandon_rate_stays_under_the_cap():
    """A crude one-shot check: each round dial, let answers land on free agents."""
    rng = random.Random(7)
    p = 0.3
    m = Measured(dialled=0, answered=0, abandoned=0)
    dialled = answered = abandoned = 0
    for _ in range(400):
        n = calls_to_place(20, 0, 0, Measured(dialled, answered, abandoned, 180, 20))
        x = sum(rng.random() < p for _ in range(n))
        dialled += n
        answered += x
        abandoned += max(0, x - 20)
    assert answered and abandoned / answered <= 0.03
    assert dialled / 400 > 20
    del m
