"""Predictive pacing: more dials than agents when few answer, never more
overflow than the target, progressive when the abandon rate runs high."""

from __future__ import annotations

import random

import pytest

from callcenter.outbound.pacing import Measured, calls_to_place, overflow_share, target_share


def test_overflow_share_is_zero_when_calls_cannot_exceed_agents():
    assert overflow_share(5, 0.5, 5) == 0.0
    assert overflow_share(0, 0.5, 5) == 0.0
    assert overflow_share(10, 1.0, 5) == pytest.approx(0.5)


def test_low_contact_rate_dials_ahead():
    m = Measured(dialled=1000, answered=250, abandoned=5, aht_s=180)
    n = calls_to_place(free_agents=10, busy_agents=0, ringing=0, m=m)
    assert n > 10  # more than progressive
    assert overflow_share(n, m.contact_rate, 10) <= target_share(0.03, m)


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
    m = Measured(dialled=1000, answered=250, aht_s=30)
    assert calls_to_place(0, 0, 0, m) == 0
    # 20 busy agents, each free within the answer delay + grace with 1 - exp(-12/30) = 0.33:
    # none of them free is 0.03 %, so a dial is safe; with 3 busy (30 % none free) it is not.
    assert calls_to_place(0, 20, 0, m) > 0
    assert calls_to_place(0, 3, 0, m) == 0


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


def test_overflow_share_matches_a_monte_carlo_of_answers_and_freed_agents():
    """X ~ Bin(60, 0.35) answers against 10 idle agents plus Y ~ Bin(40, 0.2) freed in time."""
    rng = random.Random(3)
    runs, over, answers = 20000, 0, 0
    for _ in range(runs):
        x = sum(rng.random() < 0.35 for _ in range(60))
        y = sum(rng.random() < 0.2 for _ in range(40))
        over += max(0, x - 10 - y)
        answers += x
    assert overflow_share(60, 0.35, 10, 40, 0.2) == pytest.approx(over / answers, rel=0.05)
    # Counting the freed agents as a sure 8 (their mean) understates the overflow.
    assert overflow_share(60, 0.35, 18) < overflow_share(60, 0.35, 10, 40, 0.2)


def test_a_dial_that_has_rung_long_is_less_likely_to_be_answered():
    delays = tuple(sorted(3 + 7 * i / 99 for i in range(100)))  # answers come 3-10 s after the dial
    m = Measured(dialled=1000, answered=350, aht_s=65, answer_s=6.5, answer_delays=delays)
    p = m.contact_rate_bound
    assert m.contact_rate < p < m.contact_rate + 0.04  # 1,000 resolved: the bound is close
    assert m.still_answers(0) == pytest.approx(p)
    assert m.still_answers(2) == pytest.approx(p)  # every answer comes later than 2 s
    assert m.still_answers(6.5) < p / 1.5
    assert m.still_answers(12) < 0.01  # later than every answer seen
    assert Measured(dialled=1000, answered=350, answer_delays=delays[:10]).still_answers(12) == pytest.approx(p)  # too few seen


def test_agents_count_as_freed_only_within_the_answer_delay_and_grace():
    """The busy agents that help are those free by the customer's answer + grace, not by the ring-out."""
    quick = Measured(dialled=1000, answered=350, aht_s=65, answer_s=5)
    slow = Measured(dialled=1000, answered=350, aht_s=65, answer_s=15)
    assert calls_to_place(5, 80, 0, quick, connect_s=2) < calls_to_place(5, 80, 0, slow, connect_s=2)
    assert calls_to_place(5, 80, 0, quick, connect_s=2) < calls_to_place(5, 80, 0, quick, connect_s=10)


def test_a_new_campaign_starts_progressive_and_opens_up_as_dials_resolve():
    """Nothing measured: one dial per free agent, whatever the prior; the bound tightens with the count."""
    assert Measured().contact_rate_bound == 1.0
    assert calls_to_place(100, 0, 0, Measured()) == 100
    bounds = [Measured(dialled=n, answered=n * 6 // 10).contact_rate_bound for n in (10, 100, 500)]
    assert bounds[0] > bounds[1] > bounds[2] > 0.6
    assert bounds[2] < 0.65
    placed = [calls_to_place(100, 0, 0, Measured(dialled=n, answered=n * 6 // 10)) for n in (10, 100, 500)]
    assert 100 <= placed[0] < placed[1] < placed[2]


def test_calls_ringing_long_leave_room_for_new_dials():
    m = Measured(dialled=1000, answered=350, aht_s=65, answer_s=6.5)
    fresh = calls_to_place(10, 50, 30, m)
    stale = calls_to_place(10, 50, 30, m, ringing_p=0.02)
    assert stale > fresh
