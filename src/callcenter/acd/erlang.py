"""Workforce maths: how many agents an interval needs.

Erlang C (M/M/N): Poisson arrivals, exponential handling, callers wait for
ever.  Erlang A (M/M/N+M, Palm/Garnett-Mandelbaum-Reiman): callers also
give up after an exponential patience with the given mean, which is what
real queues do and why Erlang C over-staffs under heavy load.

Service level here is the share of *offered* calls answered within T.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

MAX_AGENTS = 5000


class TooExpensive(ValueError):
    """The calculation ran past its time budget (see `staff(deadline=)`)."""


def _check(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise TooExpensive("the calculation ran past its time budget; use smaller inputs")


@dataclass(frozen=True, slots=True)
class Staffing:
    agents: int
    traffic_erlangs: float
    p_wait: float  # probability a caller waits at all
    service_level: float  # answered within T / offered
    asa_s: float  # average wait of answered calls (Erlang C: of all calls)
    occupancy: float
    p_abandon: float = 0.0  # Erlang A only

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def erlang_b(agents: int, traffic: float) -> float:
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return b


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that a caller has to wait (1 if the agents cannot keep up)."""
    if agents <= traffic:
        return 1.0
    b = erlang_b(agents, traffic)
    return agents * b / (agents - traffic * (1 - b))


def erlang_c_staffing(agents: int, calls: float, interval_s: float, aht_s: float, threshold_s: float) -> Staffing:
    a = calls * aht_s / interval_s
    c = erlang_c(agents, a)
    if agents <= a:
        return Staffing(agents, a, 1.0, 0.0, math.inf, 1.0)
    sl = 1 - c * math.exp(-(agents - a) * threshold_s / aht_s)
    asa = c * aht_s / (agents - a)
    return Staffing(agents, a, c, sl, asa, a / agents)


def erlang_a_staffing(
    agents: int, calls: float, interval_s: float, aht_s: float, threshold_s: float, patience_s: float, deadline: float | None = None
) -> Staffing:
    """M/M/N+M by its birth-death chain.  A caller who finds i callers ahead
    (all agents busy) moves up at rate Nμ + iθ and gives up at rate θ, so
    P(served) = Nμ / (Nμ + (i+1)θ) and the time to service, given served, is
    a sum of exponentials with rates Nμ + mθ (m = 1..i+1), whose CDF is the
    regularised incomplete beta I_x(i+1, Nμ/θ + 1) with x = 1 − e^(−θT)."""
    lam, mu, theta = calls / interval_s, 1 / aht_s, 1 / patience_s
    a = lam / mu
    n = agents
    # Unnormalised stationary probabilities p_k, in a scaled form to avoid overflow.
    weights: list[float] = [1.0]
    scale_log = 0.0
    for k in range(1, n + 1):
        weights.append(weights[-1] * a / k)
        if weights[-1] > 1e250:
            weights = [w / 1e250 for w in weights]
            scale_log += 250
    below = sum(weights[:n])  # callers answered at once
    queue: list[float] = []
    w = weights[n]
    k = n
    while True:
        queue.append(w)
        k += 1
        w = w * lam / (n * mu + (k - n) * theta)
        if w < 1e-16 * (below + sum(queue[-50:])) and k - n > 10:
            break
        if k - n > 200_000:
            break
        if not k % 4096:
            _check(deadline)
    total = below + sum(queue)
    p_now = below / total
    nmu = n * mu
    b = nmu / theta + 1
    x = 1 - math.exp(-theta * threshold_s)
    # I_x(1, b), then I_x(i+1, b) = I_x(i, b) − t_i with t_{i+1} = t_i · x (i + b) / (i + 1).
    inc = 1 - (1 - x) ** b
    term = b * x * (1 - x) ** b
    served_in_t = p_now
    served = p_now
    wait_served = 0.0
    stage_mean = 0.0
    for i, q in enumerate(queue):  # i callers ahead; the caller's place is i+1
        pos = i + 1
        p_served = nmu / (nmu + pos * theta)
        stage_mean += 1 / (nmu + pos * theta)
        pq = q / total
        served += pq * p_served
        served_in_t += pq * p_served * max(0.0, min(1.0, inc))
        wait_served += pq * p_served * stage_mean
        inc -= term
        term *= x * (pos + b) / (pos + 1)
    p_wait = 1 - p_now
    p_abandon = max(0.0, 1 - served)
    asa = wait_served / served if served > 0 else math.inf
    occupancy = min(1.0, a * (1 - p_abandon) / n)
    return Staffing(agents, a, p_wait, served_in_t, asa, occupancy, p_abandon)


def staff(
    calls: float,
    interval_s: float,
    aht_s: float,
    *,
    target_sl: float | None = None,
    threshold_s: float = 20.0,
    target_asa_s: float | None = None,
    patience_s: float | None = None,
    deadline: float | None = None,
) -> Staffing:
    """The fewest agents that meet every target given (SL within T, ASA).
    `deadline` (time.monotonic()) bounds the work: TooExpensive past it."""
    if calls < 0 or interval_s <= 0 or aht_s <= 0:
        raise ValueError("calls must be ≥ 0, interval_s and aht_s > 0")
    if target_sl is None and target_asa_s is None:
        target_sl = 0.8
    a = calls * aht_s / interval_s
    if a >= MAX_AGENTS:
        # Also what keeps a request cheap: every evaluation is O(agents).
        raise ValueError(f"an offered load of {a:,.0f} Erlangs needs more than {MAX_AGENTS} agents")

    def at(n: int) -> Staffing:
        _check(deadline)
        if patience_s:
            return erlang_a_staffing(n, calls, interval_s, aht_s, threshold_s, patience_s, deadline)
        return erlang_c_staffing(n, calls, interval_s, aht_s, threshold_s)

    def ok(s: Staffing) -> bool:
        return (target_sl is None or s.service_level >= target_sl) and (target_asa_s is None or s.asa_s <= target_asa_s)

    # Both measures improve with every agent added: find a staffing that
    # meets the targets by doubling, then the smallest one by bisection.
    lo = max(1, math.floor(a) + 1) if not patience_s else 1
    hi = lo
    while not ok(at(hi)):
        if hi >= MAX_AGENTS:
            raise ValueError(f"more than {MAX_AGENTS} agents would be needed")
        lo, hi = hi + 1, min(MAX_AGENTS, hi * 2)
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(at(mid)):
            hi = mid
        else:
            lo = mid + 1
    return at(hi)
