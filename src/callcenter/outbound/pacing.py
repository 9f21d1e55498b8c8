"""Predictive pacing: how many customers to dial now so that agents wait
little and few answered customers find nobody free.

An answered customer with no free agent within the connect grace is an
abandon of a connected call; regulators and the seeds' centres cap its
share (3 % by default).  Each dial is answered with the measured contact
rate p, so the answers X of k calls ringing are Binomial(k, p); the agents
free by then are those idle now plus those whose calls (mean length AHT)
end within the ring time.  We dial the largest k whose expected overflow
E[max(0, X - A)] / E[X] stays under a target, and lower the target when
the measured abandon rate runs above the cap (feedback), down to
progressive (k = free agents) when it is far above.

Pure: the dialer service feeds it counts it measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Measured:
    """What the campaign saw recently (a sliding window of attempts)."""

    dialled: int = 0  # dials that have resolved (answered or not): never count those still ringing
    answered: int = 0  # customers who picked up (connected)
    abandoned: int = 0  # of those, dropped with no agent free
    aht_s: float = 180.0  # mean handling time (talk + wrap-up) of connected calls
    ring_s: float = 20.0  # mean time from dial to answer/fail

    @property
    def contact_rate(self) -> float:
        """Answers per dial, with a prior of 1 in 3 until 30 dials are seen."""
        prior_n, prior_p = 30, 1 / 3
        return (self.answered + prior_n * prior_p) / (self.dialled + prior_n)

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.answered if self.answered else 0.0


def _binom_pmf(k: int, p: float) -> list[float]:
    q = 1 - p
    if p <= 0:
        return [1.0] + [0.0] * k
    if p >= 1:
        return [0.0] * k + [1.0]
    out = [q**k]
    for i in range(1, k + 1):
        out.append(out[-1] * (k - i + 1) / i * p / q)
    return out


def expected_overflow_share(k: int, p: float, agents: float) -> float:
    """E[max(0, X - agents)] / E[X] for X ~ Binomial(k, p)."""
    if k <= 0 or p <= 0:
        return 0.0
    a = math.floor(agents)
    pmf = _binom_pmf(k, p)
    over = sum((x - a) * pmf[x] for x in range(a + 1, k + 1))
    return over / (k * p)


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


def calls_to_place(free_agents: int, busy_agents: int, ringing: int, m: Measured, cap: float = 0.03, max_ratio: float = 3.0) -> int:
    """New dials to place now (never negative).

    free_agents idle and waiting; busy_agents on a campaign call (some will
    be free by the time new dials answer); ringing: dials already placed
    and not yet answered or failed."""
    p = m.contact_rate
    soon = busy_agents * min(1.0, m.ring_s / max(m.aht_s, 1.0))
    agents = free_agents + soon
    if free_agents <= 0 and agents < 1:
        return 0
    target = target_share(cap, m)
    if target <= 0:  # progressive: each free agent one expected answer at most
        return max(0, free_agents - ringing)
    limit = int(max_ratio * max(agents, 1) / max(p, 0.05)) + 1
    # The overflow share grows with k: binary search the largest k within the target.
    lo, hi = ringing, ringing + limit  # lo is within the target (or is what is ringing already)
    if expected_overflow_share(lo + 1, p, agents) > target:
        best = 0
    else:
        lo += 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if expected_overflow_share(mid, p, agents) <= target:
                lo = mid
            else:
                hi = mid - 1
        best = lo - ringing
    # Never fewer than progressive would place.
    return max(best, free_agents - ringing, 0)
