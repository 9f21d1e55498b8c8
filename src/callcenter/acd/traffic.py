"""Synthetic queue traffic, seeded, as the domain events Asterisk's queue
would produce (through `Script`, so the sequences are those of ami.md §3).

Used by the M/M/c check against Erlang C (no abandons, no ring time, no
wrap-up, exponential talk) and by the replay benchmark (a realistic day:
rings that go unanswered, holds, transfers, impatient callers, wrap-ups
closed by disposition or by the limit, pauses for lunch and training).
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass

from callcenter.acd import events as ev
from callcenter.acd.script import Caller, Script


@dataclass
class Traffic:
    calls: int = 1000
    queues: int = 1
    agents_per_queue: int = 10
    arrival_rate: float = 1 / 20  # calls per second, per queue
    mean_talk_s: float = 180.0
    patience_s: float | None = None  # mean; None: callers never give up
    ring_s: tuple[float, float] = (0.0, 0.0)  # uniform ring time before answer
    ring_timeout_s: float = 15.0
    p_no_answer: float = 0.0
    p_hold: float = 0.0
    p_transfer: float = 0.0
    wrap_up_s: tuple[float, float] = (0.0, 0.0)  # uniform time to disposition
    p_wrap_timeout: float = 0.0  # the agent lets the limit run out
    wrap_limit_s: float = 60.0
    p_pause: float = 0.0  # after a call, the agent pauses for a while
    seed: int = 1
    start: float = 1_700_000_000.0


def generate(t: Traffic) -> list[ev.Event]:
    """All events of `t.calls` callers spread over `t.queues` queues, in time order."""
    rng = random.Random(t.seed)
    s = Script(prefix=str(int(t.start)))
    heap: list[tuple[float, int, str, object]] = []
    seq = 0

    def at(when: float, kind: str, data: object) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (when, seq, kind, data))

    queues = [f"q{i}" for i in range(t.queues)]
    free: dict[str, deque[str]] = {q: deque() for q in queues}
    waiting: dict[str, deque[Caller]] = {q: deque() for q in queues}
    for q in queues:
        for n in range(t.agents_per_queue):
            iface = f"PJSIP/{q}-{n:04d}"
            s.member(t.start, q, iface)
            free[q].append(iface)
    total_rate = t.arrival_rate * t.queues  # one Poisson stream, split at random
    at(t.start + rng.expovariate(total_rate), "arrive", rng.choice(queues))
    arrived = 0
    state: dict[str, str] = {}  # caller uid -> waiting | ringing | talking | gone

    def assign(q: str, now: float) -> None:
        while waiting[q] and free[q]:
            c = waiting[q].popleft()
            agent = free[q].popleft()
            state[c.uniqueid] = "ringing"
            s.ring(now, c, agent)
            lo, hi = t.ring_s
            if rng.random() < t.p_no_answer:
                at(now + t.ring_timeout_s, "rna", (c, agent, now))
            else:
                at(now + rng.uniform(lo, hi), "answer", (c, agent, now))

    while heap:
        now, _, kind, data = heapq.heappop(heap)
        if kind == "arrive":
            q = data  # type: ignore[assignment]
            arrived += 1
            c = s.join(now, q, f"1{rng.randrange(10**9, 10**10)}")
            state[c.uniqueid] = "waiting"
            waiting[q].append(c)
            if t.patience_s:
                at(now + rng.expovariate(1 / t.patience_s), "abandon", c)
            if arrived < t.calls:
                at(now + rng.expovariate(total_rate), "arrive", rng.choice(queues))
            assign(q, now)
        elif kind == "abandon":
            c = data  # type: ignore[assignment]
            if state.get(c.uniqueid) in ("waiting", "ringing"):
                for agent in list(c.ringing):
                    free[c.queue].append(agent)
                if c in waiting[c.queue]:
                    waiting[c.queue].remove(c)
                state[c.uniqueid] = "gone"
                s.abandon(now, c)
                assign(c.queue, now)
        elif kind == "rna":
            c, agent, started = data  # type: ignore[misc]
            if state.get(c.uniqueid) == "ringing" and agent in c.ringing:
                s.no_answer(now, c, agent, now - started)
                state[c.uniqueid] = "waiting"
                waiting[c.queue].appendleft(c)
                at(now + 5, "free", (c.queue, agent))
        elif kind == "answer":
            c, agent, started = data  # type: ignore[misc]
            if state.get(c.uniqueid) != "ringing" or agent not in c.ringing:
                continue
            state[c.uniqueid] = "talking"
            s.answer(now, c, agent, started)
            talk = rng.expovariate(1 / t.mean_talk_s)
            if rng.random() < t.p_hold and talk > 30:
                h0 = now + talk * rng.uniform(0.2, 0.6)
                at(h0, "hold", c)
                at(h0 + rng.uniform(10, 60), "unhold", c)
                talk += 40
            at(now + talk, "end", c)
        elif kind == "hold":
            s.hold(now, data)  # type: ignore[arg-type]
        elif kind == "unhold":
            s.unhold(now, data)  # type: ignore[arg-type]
        elif kind == "end":
            c = data  # type: ignore[assignment]
            agent = c.agent
            state[c.uniqueid] = "gone"
            if rng.random() < t.p_transfer:
                s.blind_transfer(now, c, "8000")
                s.caller_gone(now + 30, c)
            else:
                s.hang_up(now, c, by=rng.choice(("caller", "agent")))
            lo, hi = t.wrap_up_s
            if hi > 0:
                s.pause(now, c.queue, agent, True, "wrap-up")  # Asterisk's answer to the core's PauseMember
                if rng.random() < t.p_wrap_timeout:
                    done = now + t.wrap_limit_s
                else:
                    done = now + rng.uniform(lo, hi)
                    s.disposition(done, agent, c.linkedid, "resolved")
                at(done, "unpause", (c.queue, agent))
            else:
                at(now, "free", (c.queue, agent))
        elif kind == "unpause":
            q, agent = data  # type: ignore[misc]
            s.pause(now, q, agent, False)
            if rng.random() < t.p_pause:
                s.pause(now, q, agent, True, rng.choice(("lunch", "training", "toilet")))
                at(now + rng.uniform(60, 900), "back", (q, agent))
            else:
                at(now, "free", (q, agent))
        elif kind == "back":
            q, agent = data  # type: ignore[misc]
            s.pause(now, q, agent, False)
            at(now, "free", (q, agent))
        elif kind == "free":
            q, agent = data  # type: ignore[misc]
            free[q].append(agent)
            assign(q, now)
    s.events.sort(key=lambda e: e.ts)
    return s.events
