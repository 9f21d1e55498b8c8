"""Predictive pacing: how many customers to dial now so that agents wait
little and few answered customers find nobody free.

An answered customer with no free agent within the connect grace is an
abandon of a connected call; regulators and the seeds' centres cap its
share (3 % by default).  The answers X of the calls ringing and the new
ones are close to Binomial: a new dial is answered with the measured
contact rate p (its upper bound: a new campaign starts progressive and
opens up as dials resolve), a dial already ringing for t seconds with
the lower chance that it still will be (the answer delays seen so far
say how many answers come that late).  The agents free to take them are those
idle now, plus each busy agent with the chance that their call ends
before the customer's answer and grace (memoryless, mean AHT): Binomial
too, so that the overflow E[max(0, X - A)] counts the spread on both
sides.  We dial the largest number whose overflow share stays under a
target, lowered when the measured abandon rate runs near or above the
cap (feedback), down to progressive (one per free agent).

Pure: the dialer service feeds it counts it measured.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Measured:
    """What the campaign saw recently (a sliding window of attempts)."""

    dialled: int = 0  # dials that have resolved (answered or not): never count those still ringing
    answered: int = 0  # customers who picked up (connected)
    abandoned: int = 0  # of those, dropped with no agent free
    aht_s: float = 180.0  # mean handling time (talk + wrap-up) of connected calls
    answer_s: float = 10.0  # mean time from dial to the customer's answer, answered dials only
    answer_delays: tuple[float, ...] = ()  # recent answered dials' delays, sorted

    @property
    def contact_rate(self) -> float:
        """Answers per dial, with a prior of 1 in 3 until 30 dials are seen."""
        prior_n, prior_p = 30, 1 / 3
        return (self.answered + prior_n * prior_p) / (self.dialled + prior_n)

    @property
    def contact_rate_bound(self) -> float:
        """What the pacing dials by: the upper Wilson bound (z = 2) of the
        contact rate over the resolved dials, 1 with none resolved yet.  A
        campaign starts progressive and opens up as answers are counted; a
        list that answers more than the last one did (or than a prior
        guessed) never floods the agents while it is being measured."""
        n = self.dialled
        if n <= 0:
            return 1.0
        p, z2 = min(1.0, self.answered / n), 4.0
        return min(1.0, (p + z2 / (2 * n) + math.sqrt(z2 * p * (1 - p) / n + z2 * z2 / (4 * n * n))) / (1 + z2 / n))

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.answered if self.answered else 0.0

    def still_answers(self, ringing_for_s: float) -> float:
        """The chance that a dial ringing for this long is answered yet.

        Answered dials' delays say which share of answers come later than
        this; with fewer than 20 seen, the contact rate bound (no credit)."""
        p = self.contact_rate_bound
        if p >= 1:
            return 1.0
        n = len(self.answer_delays)
        if n < 20 or ringing_for_s <= 0:
            return p
        later = (n - bisect_right(self.answer_delays, ringing_for_s) + 1) / (n + 1)  # +1: never quite none
        return p * later / (p * later + (1 - p))


def _binom_pmf(k: int, p: float) -> list[float]:
    q = 1 - p
    if p <= 0:
        return [1.0] + [0.0] * k
    if p >= 1:
        return [0.0] * k + [1.0]
    if k * math.log(q) < -700:  # q**k underflows: start from the mode in log space
        return _binom_pmf_log(k, p)
    out = [q**k]
    for i in range(1, k + 1):
        out.append(out[-1] * (k - i + 1) / i * p / q)
    return out


def _binom_pmf_log(k: int, p: float) -> list[float]:
    lp, lq, lk = math.log(p), math.log1p(-p), math.lgamma(k + 1)
    return [math.exp(lk - math.lgamma(i + 1) - math.lgamma(k - i + 1) + i * lp + (k - i) * lq) for i in range(k + 1)]


def _excess(pmf: list[float]) -> list[float]:
    """G[a] = E[max(0, X - a)] for a = 0..len(pmf), from X's pmf."""
    g = [0.0] * (len(pmf) + 1)
    tail = 0.0  # P(X > a)
    for a in range(len(pmf) - 1, -1, -1):
        tail += pmf[a + 1] if a + 1 < len(pmf) else 0.0
        g[a] = g[a + 1] + tail
    return g


def overflow_share(calls: int, p: float, free: int, busy: int = 0, q: float = 0.0) -> float:
    """E[max(0, X - free - Y)] / E[X] for X ~ Binomial(calls, p) answers
    and Y ~ Binomial(busy, q) agents freed in time."""
    if calls <= 0 or p <= 0:
        return 0.0
    g = _excess(_binom_pmf(calls, p))
    py = _binom_pmf(busy, q) if busy > 0 and q > 0 else [1.0]
    over = sum(w * g[free + y] for y, w in enumerate(py) if free + y < len(g) and w > 1e-15)
    return over / (calls * p)


def target_share(cap: float, m: Measured) -> float:
    """The overflow share aimed at: half the cap (a margin for estimation
    error), a quarter of it when the measured rate nears the cap, and
    progressive (0) while it is above."""
    if m.answered < 50:
        return cap * 0.5
    rate = m.abandon_rate
    if rate > cap:
        return 0.0  # progressive until it settles
    if rate > 0.8 * cap:
        return cap * 0.25
    return cap * 0.5


def calls_to_place(
    free_agents: int, busy_agents: int, ringing: int, m: Measured, cap: float = 0.03, max_ratio: float = 3.0,
    *, ringing_p: float | None = None, connect_s: float = 2.0,
) -> int:  # fmt: skip
    """New dials to place now (never negative).

    free_agents idle and waiting; busy_agents on a campaign call (some will
    be free by the time new dials answer); ringing: dials already placed
    and not yet answered or failed, each answered with `ringing_p` on
    average (default: the contact rate; the dialer knows better from how
    long they have rung, Measured.still_answers); connect_s: how long an
    answered customer waits for an agent before the call is dropped."""
    p = m.contact_rate_bound
    rp = p if ringing_p is None else ringing_p
    free = max(0, free_agents)
    q = 1 - math.exp(-(m.answer_s + connect_s) / max(m.aht_s, 1.0))  # a busy agent frees up in time
    if free <= 0 and busy_agents * q < 1:
        return 0
    target = target_share(cap, m)
    if target <= 0 or p >= 1:  # progressive: each free agent one expected answer at most
        return max(0, free - ringing)

    def share(n: int) -> float:
        calls = ringing + n
        if calls <= 0:
            return 0.0
        mix = (ringing * rp + n * p) / calls  # Binomial with the mean answers: a little wider than the truth
        return overflow_share(calls, mix, free, busy_agents, q)

    limit = int(max_ratio * max(free + busy_agents * q, 1) / max(p, 0.05)) + 1
    lo, hi = 0, limit  # the overflow share grows with n: the largest n within the target
    if share(1) > target:
        best = 0
    else:
        lo = 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if share(mid) <= target:
                lo = mid
            else:
                hi = mid - 1
        best = lo
    # Never fewer than progressive would place.
    return max(best, free - ringing, 0)
