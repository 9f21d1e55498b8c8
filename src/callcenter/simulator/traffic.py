"""What drives the PBX: a stochastic traffic model, or an exact script.

Traffic model: per queue, Poisson arrivals (non-homogeneous, by thinning
against a 24-hour profile); each caller has an exponential patience, so
abandons emerge when agents are short; talk times are log-normal around a
per-queue mean; some calls are held or transferred.  `TrafficModel.mmc`
turns all of that off for a textbook M/M/c queue (exponential talk, infinite
patience), which is what checks the KPIs against Erlang C.  Agents answer after a
ring delay, sometimes miss a call (RNA), and between calls now and then
pause with a reason (小休, 就餐, 培训...).  Everything comes from one
seeded RNG, so the same seed replays the same day.

Script (exact tests): a JSON list of steps, each with "at" (seconds from the
start).  A step is either a call:

    {"at": 0, "queue": "repairs", "caller": "13800138000", "name": "张三",
     "patience": 60,                       # hang up after 60 s waiting (null: never)
     "answer": [{"agent": "PJSIP/8001", "after": 3}],
                                           # who answers after how many s of ringing;
                                           # {"agent":..., "reject": true, "after": 2}
                                           # declines, "dump": true picks up and hangs
                                           # up (AgentDump); unlisted agents ring out
     "talk": 30, "hold": [[10, 5]],        # talk s after connect; holds [at, duration]
     "hangup": "caller",                   # or "agent"
     "timeout": null, "after_timeout": 10, # Queue() timeout; the caller survives it
     "transfer": null,                     # or {"type": "blind", "at": 20, "to": "complaints"
                                           #      | "8002", "talk": 40, "answer": [...]}
                                           # or {"type": "attended", "at": 20, "to": "8002",
                                           #      "consult": 10, "answer_after": 2, "talk": 40}
                                           # or {"type": "blonde", ..., "consult": 3, "ring_after": 4}
     "priority": 0, "key": [30, "9"],      # QUEUE_PRIO; a key pressed at 30 s (ExitWithKey)
     "survey": 6}                          # s in the survey when the agent hangs up first

or an agent step:

    {"at": 0, "login": "PJSIP/8001", "queue": "repairs", "name": "王静", "penalty": 0}
    {"at": 0, "login": "Local/8006@agents/n", "queue": "repairs", "state_interface": "PJSIP/8006"}
    {"at": 5, "dial": "PJSIP/8001", "to": "8002", "talk": 20}   # an agent's phone dials ([agents])
    {"at": 7, "pickup": "PJSIP/8003"}                           # *8
    {"at": 90, "logout": "PJSIP/8001", "queue": "repairs"}
    {"at": 5, "pause": "PJSIP/8001", "reason": "小休"}      # optional "queue"
    {"at": 65, "unpause": "PJSIP/8001"}
    {"at": 0, "phone": "PJSIP/8001", "answer_after": 2, "miss_prob": 0}

Timings are exact: a call answered "after": 3 by a free agent has
AgentConnect HoldTime 3.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from callcenter.simulator.pbx import PBX, Member, Phone

# Calls per hour relative to the busiest hour, for a Chinese service hotline
# (Beijing time): a morning peak after 9:00, lunch dip, an afternoon peak.
HOTLINE_PROFILE = [
    0.05, 0.03, 0.02, 0.02, 0.03, 0.05, 0.12, 0.35, 0.75, 1.00, 0.95, 0.80,
    0.55, 0.70, 0.90, 0.95, 0.85, 0.70, 0.50, 0.40, 0.30, 0.22, 0.15, 0.08,
]  # fmt: skip
FLAT_PROFILE = [1.0] * 24

# (reason, weight, mean minutes): what agents pause for between calls.
PAUSE_REASONS = [("小休", 6, 6.0), ("就餐", 2, 25.0), ("培训", 1, 20.0), ("会议", 1, 15.0)]


@dataclass
class QueueLoad:
    queue: str
    share: float  # fraction of all calls
    talk_mean_s: float


DEMO_LOADS = [
    QueueLoad("enquiries", 0.50, 90.0),
    QueueLoad("repairs", 0.33, 150.0),
    QueueLoad("complaints", 0.04, 210.0),
    QueueLoad("vip", 0.05, 180.0),
    QueueLoad("fees", 0.08, 120.0),
]


@dataclass
class TrafficModel:
    loads: list[QueueLoad] = field(default_factory=lambda: list(DEMO_LOADS))
    calls_per_hour: float = 120.0  # at profile 1.0, all queues together
    profile: list[float] = field(default_factory=lambda: list(FLAT_PROFILE))
    utc_offset_h: float = 8.0  # the profile is in local time
    patience_mean_s: float | None = 180.0  # exponential; None: callers never hang up while waiting
    talk_dist: str = "lognormal"  # or "exponential" (M/M/c, to check the KPIs against Erlang C)
    talk_sigma: float = 0.5  # log-normal shape
    answer_after_s: float = 4.0
    answer_jitter_s: float = 2.5
    miss_prob: float = 0.03
    pause_prob: float = 0.08  # chance an agent pauses after a call
    hold_prob: float = 0.15
    transfer_prob: float = 0.03
    agent_hangup_prob: float = 0.3
    warm_start: int = 0  # calls arriving in the first seconds, so a demo moves at once
    wrap_mean_s: float = 15.0  # after-call work before a person submits the disposition (log-normal)

    @classmethod
    def mmc(cls, queue: str, erlangs: float, mean_talk_s: float, **kw: Any) -> TrafficModel:
        """Textbook M/M/c on one queue: Poisson arrivals offering `erlangs`,
        exponential talk, instant answer, nobody abandons, misses, pauses,
        holds or transfers.  (Zero wrap-up is the queue's wrapuptime.)"""
        return cls(
            loads=[QueueLoad(queue, 1.0, mean_talk_s)],
            calls_per_hour=erlangs * 3600.0 / mean_talk_s,
            patience_mean_s=None, talk_dist="exponential", answer_after_s=0.0, answer_jitter_s=0.0,
            miss_prob=0.0, pause_prob=0.0, hold_prob=0.0, transfer_prob=0.0, **kw,
        )  # fmt: skip

    @classmethod
    def for_occupancy(cls, agents: int, occupancy: float = 0.7, wrap_s: float = 50.0, **kw: Any) -> TrafficModel:
        """Arrival rate that keeps `agents` busy `occupancy` of the time."""
        model = cls(**kw)
        aht = sum(ld.share * ld.talk_mean_s for ld in model.loads) + wrap_s
        model.calls_per_hour = occupancy * agents * 3600.0 / aht
        return model

    def rate(self, ts: float) -> float:
        """All-queue arrivals per second at epoch `ts`."""
        hour = int(((ts / 3600.0) + self.utc_offset_h) % 24)
        return self.calls_per_hour * self.profile[hour] / 3600.0


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"


class Traffic:
    """Feeds a PBX from a TrafficModel."""

    def __init__(
        self,
        pbx: PBX,
        model: TrafficModel,
        seed: int = 0,
        on_wrap_up_done: Callable[[str], None] | None = None,
        caller: Callable[[str], dict[str, Any]] | None = None,
        on_call: Callable[[Any, dict[str, Any]], None] | None = None,
    ) -> None:
        self.pbx = pbx
        self.model = model
        self.rng = random.Random(f"traffic-{seed}")
        # Who calls: caller(queue) -> {"number", "name", "patience"?} (the
        # demo picks its seeded customers); on_call(call, that dict) once the
        # call is placed (the demo runs its dialplan hooks).  Without them,
        # random numbers from this RNG, as before.
        self.caller = caller
        self.on_call = on_call
        # Simulated people finish wrap-up: `on_wrap_up_done(interface)` when
        # their after-call work is done (the demo submits their disposition).
        # A separate RNG, so the day's calls are the same with or without it.
        self.on_wrap_up_done = on_wrap_up_done
        self.wrap_rng = random.Random(f"wrap-{seed}")
        self.agents: set[str] = set()
        self.arrivals = 0
        self.running = True
        pbx.on_member_free.append(self._member_free)
        pbx.on_autopause.append(self._auto_paused)
        # People logged in through the bridge (QueueAdd) answer like the simulated ones.
        pbx.default_phone = Phone(model.answer_after_s, model.answer_jitter_s, model.miss_prob)

    def login(self, interface: str, name: str, skills: list[tuple[str, int]]) -> None:
        """A simulated person: logs into their queues, answers like people do."""
        m = self.model
        self.pbx.set_phone(interface, answer_after=m.answer_after_s, answer_jitter=m.answer_jitter_s, miss_prob=m.miss_prob)
        for queue, penalty in skills:
            if queue in self.pbx.queues:
                self.pbx.add_member(queue, interface, name, penalty)
        self.agents.add(interface)

    def start(self) -> None:
        shares = [ld.share for ld in self.model.loads]
        for _ in range(self.model.warm_start):
            load = self.rng.choices(self.model.loads, shares)[0]
            self.pbx.after(self.rng.uniform(0, 5), self._arrive, load)
        self._next()

    def _next(self) -> None:
        """Thinning: candidates at the peak rate, kept with rate(t)/peak."""
        peak = self.model.calls_per_hour * max(self.model.profile) / 3600.0
        if peak <= 0:
            return
        t = self.pbx.now
        while True:
            t += self.rng.expovariate(peak)
            if self.rng.random() * peak <= self.model.rate(t):
                break
        self.pbx.schedule.at(t, self._arrival)

    def stop(self) -> None:
        """No more arrivals; calls in progress finish."""
        self.running = False

    def _arrival(self) -> None:
        if not self.running:
            return
        shares = [ld.share for ld in self.model.loads]
        self._arrive(self.rng.choices(self.model.loads, shares)[0])
        self._next()

    def _arrive(self, load: QueueLoad) -> None:
        m, rng = self.model, self.rng
        self.arrivals += 1
        if m.talk_dist == "exponential":
            talk = min(3600.0, rng.expovariate(1.0 / load.talk_mean_s))
        else:
            talk = min(3600.0, rng.lognormvariate(math.log(load.talk_mean_s) - m.talk_sigma**2 / 2, m.talk_sigma))
        hold: list[list[float]] = []
        if rng.random() < m.hold_prob and talk > 60:
            hold = [[round(talk * rng.uniform(0.3, 0.6)), round(rng.uniform(10, 40))]]
            talk += hold[0][1]
        transfer = None
        others = [ld.queue for ld in m.loads if ld.queue != load.queue and ld.queue in self.pbx.queues]
        if others and rng.random() < m.transfer_prob:
            transfer = {"type": "blind", "at": round(talk * 0.5), "to": rng.choice(others), "talk": round(talk * 0.7)}
        who = self.caller(load.queue) if self.caller is not None else {"number": self._number(), "name": self._name()}
        patience = None if m.patience_mean_s is None else rng.expovariate(1.0 / m.patience_mean_s)
        call = self.pbx.new_call(
            load.queue,
            who["number"],
            who["name"],
            patience=who.get("patience", patience),
            talk=round(talk, 1),
            hold=hold,
            hangup="agent" if rng.random() < m.agent_hangup_prob else "caller",
            transfer=transfer,
        )
        if self.on_call is not None:
            self.on_call(call, who)

    def _number(self) -> str:
        r = self.rng
        if r.random() < 0.8:
            return f"1{r.choice('3456789')}{r.randrange(10**9):09d}"
        return f"0{r.choice(['10', '21', '755', '571', '20'])}{r.randrange(10**8):08d}"

    def _name(self) -> str:
        r = self.rng
        x = r.random()
        if x < 0.3:
            return ""  # no name in the CRM: sent as <unknown>
        surname = r.choice(SURNAMES)
        return surname + ("先生" if x < 0.65 else "女士")

    def _member_free(self, member: Member) -> None:
        """Between calls, a simulated agent finishes wrap-up and sometimes takes a break."""
        iface = member.interface
        if iface in self.agents and self.on_wrap_up_done is not None:
            sigma = 0.6
            wrap = self.wrap_rng.lognormvariate(math.log(self.model.wrap_mean_s) - sigma**2 / 2, sigma)
            self.pbx.after(wrap, self.on_wrap_up_done, iface)
        if iface not in self.agents or self.rng.random() >= self.model.pause_prob:
            return
        if any(m.paused for m in self.pbx.memberships(iface)):
            return
        reasons = PAUSE_REASONS
        reason, _, minutes = self.rng.choices(reasons, [w for _, w, _ in reasons])[0]
        self.pbx.pause(iface, True, reason)
        self.pbx.after(self.rng.expovariate(1.0 / (minutes * 60)), self._back, iface)

    def _auto_paused(self, member: Member) -> None:
        """A simulated agent who missed a call notices the Auto-Pause and resumes."""
        if member.interface in self.agents:
            self.pbx.after(self.rng.uniform(15, 90), self._back, member.interface)

    def _back(self, iface: str) -> None:
        if any(m.paused for m in self.pbx.memberships(iface)):
            self.pbx.pause(iface, False)


class Script:
    """Schedules a JSON script's steps on a PBX (see the module docstring)."""

    CALL_KEYS = ("patience", "answer", "talk", "hold", "hangup", "transfer", "timeout", "after_timeout", "priority", "key",
                 "survey", "dnis", "recording")  # fmt: skip

    def __init__(self, pbx: PBX, steps: list[dict[str, Any]]) -> None:
        self.pbx = pbx
        self.steps = steps

    def start(self) -> None:
        t0 = self.pbx.now
        for step in self.steps:
            self.pbx.schedule.at(t0 + float(step.get("at", 0)), self._run, step)

    def _run(self, step: dict[str, Any]) -> None:
        pbx = self.pbx
        if "login" in step:
            pbx.add_member(step["queue"], step["login"], step.get("name"), int(step.get("penalty", 0)),
                           bool(step.get("paused", False)), step.get("reason", ""), step.get("wrapuptime"),
                           state_interface=step.get("state_interface", ""))  # fmt: skip
        elif "dial" in step:
            pbx.dial(step["dial"], str(step["to"]), answer_after=step.get("answer_after"), talk=step.get("talk"))
        elif "pickup" in step:
            pbx.pickup(step["pickup"])
        elif "logout" in step:
            pbx.remove_member(step["queue"], step["logout"])
        elif "pause" in step:
            pbx.pause(step["pause"], True, step.get("reason", ""), step.get("queue"))
        elif "unpause" in step:
            pbx.pause(step["unpause"], False, "", step.get("queue"))
        elif "phone" in step:
            pbx.set_phone(step["phone"], **{k: v for k, v in step.items() if k not in ("at", "phone")})
        else:
            kw = {k: step[k] for k in self.CALL_KEYS if k in step}
            pbx.new_call(step["queue"], str(step.get("caller", "")), step.get("name", ""), **kw)
