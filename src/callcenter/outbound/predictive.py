"""Live dialling of one campaign by the dialer itself: predictive (the
customer first, paced by outbound.pacing) or progressive (one call per
free agent, the agent's phone first).

Predictive: each dial is an Originate of the customer's leg through the
carrier into [cc-predictive] (asterisk/extensions.conf), ChannelId = the
dial's `channel_id`.  An answered customer waits in the campaign's queue
for `connect_s` at most; the ACD core tracks the call (a queue call of
direction outbound, written as an outbound record) and says how it
ended: an agent took it, or nobody did (an abandon of a connected call).
A customer who did not answer comes back as a failed OriginateResponse,
which the core also writes as an outbound record (no agent).

The dialer listens to the core's output (AcdService.subscribe): every
record whose uniqueid is a dial in flight ends that dial with a result
(outbound.service.finish) and feeds the pacing's measurements.  Free and
busy agents, and customers already waiting, are the core's view of the
campaign's queue.  Everything else (which numbers, windows, do-not-call,
nothing twice at once, retries) is outbound.service.reserve.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from callcenter.outbound.models import Campaign, Dial, DialState
from callcenter.outbound.pacing import Measured, calls_to_place
from callcenter.outbound.rules import FrequencyCap, Result
from callcenter.outbound.service import Refused, dnc_lists, finish, reserve

log = logging.getLogger("callcenter.outbound.predictive")

PREDICTIVE_CONTEXT = "cc-predictive"
TRUNK = "carrier"  # asterisk/pjsip.conf [carrier]
BUSY_STATES = ("ringing", "on_call", "on_hold", "wrap_up")
AHT_PRIOR_S, AHT_PRIOR_N = 180.0, 20
OUTCOME_RESULT = {"no_answer": Result.no_answer, "busy": Result.busy, "failed": Result.failed}


async def originate_customer(session: Any, gw: Any, dial: Dial, campaign: Campaign, connect_s: float, hotline: str = "", ring_s: float = 30) -> None:
    """Dial the customer first into [cc-predictive]; `sent` is committed before the Originate."""
    if dial.state is not DialState.pending:
        raise ValueError(f"dial {dial.id} is {dial.state.value}, not pending")
    reason = (await dnc_lists(session)).reason(dial.number)
    if reason is not None:  # blocked since it was reserved
        await finish(session, dial, Result.failed, _now(), note=f"do-not-call: {reason}")
        await session.commit()
        raise Refused(409, f"number: {dial.number} is on the do-not-call list ({reason})")
    dial.state = DialState.sent
    await session.commit()
    variables = {"CC_CAMPAIGN": str(campaign.id), "CC_DIAL": str(dial.id), "CC_NUMBER": dial.number, "CC_CONNECT_S": f"{connect_s:g}"}
    try:
        await gw.originate(
            f"PJSIP/{dial.number}@{TRUNK}", exten=campaign.queue, context=PREDICTIVE_CONTEXT,
            caller_id=f'"{hotline}" <{hotline}>' if hotline else None, variables=variables, channel_id=dial.channel_id, timeout_s=ring_s,
        )  # fmt: skip
    except Exception as exc:  # the gateway's errors, or the link down
        log.warning("predictive dial %s to %s refused: %s", dial.id, dial.number, exc)
        await finish(session, dial, Result.failed, _now(), note=f"originate refused: {exc}")
        await session.commit()
        raise


def _now() -> datetime:
    return datetime.now(UTC)


def result_of(record: dict[str, Any]) -> Result:
    """A dial's result from the core's record of its call."""
    if record.get("answered_at") is not None:
        return Result.normal_conversation  # the agent may record a finer one; this is what the dialer knows
    if record.get("queue") and record.get("outcome") not in OUTCOME_RESULT:
        return Result.abandoned  # the customer answered and no agent took the call
    return OUTCOME_RESULT.get(record.get("outcome") or "", Result.failed)


@dataclass
class Figures:
    """What a run measured (the test and bench/dialer.py --live report these)."""

    dials: int = 0
    answered: int = 0  # customers who picked up
    abandoned: int = 0  # of those, no agent took the call
    connected: int = 0  # taken by an agent
    talk_s: float = 0.0
    wrap_s: float = 0.0
    # (PBX time, abandoned) per answered customer, the last 200,000 (a dialer runs as long as its campaign)
    answers: deque[tuple[float, bool]] = field(default_factory=lambda: deque(maxlen=200_000))

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.answered if self.answered else 0.0

    def by_window(self, start: float, width_s: float = 300.0) -> list[tuple[int, int]]:
        """(answered, abandoned) per window of `width_s` from `start`: is an
        overshoot the start-up (priors) or the pacing itself?"""
        out: list[tuple[int, int]] = []
        for t, dropped in self.answers:
            i = max(0, int((t - start) // width_s))
            while len(out) <= i:
                out.append((0, 0))
            a, d = out[i]
            out[i] = (a + 1, d + int(dropped))
        return out


@dataclass
class LiveDialer:
    """One campaign dialled by the dialer (predictive or progressive).

    `sessions` opens a database session; `gateway` sends the Originates;
    `acd` is the AcdService (its core's view of the queue, and its records).
    `clock` is the PBX's time as the core sees it (event time)."""

    sessions: Callable[[], Any]
    gateway: Any
    acd: Any
    campaign_id: int
    mode: str = "predictive"  # predictive | progressive
    connect_s: float = 2.0
    cap: float = 0.03
    ring_s: float = 30.0
    hotline: str = ""
    window: int = 500  # measurements over the last attempts
    freq_cap: FrequencyCap | None = None  # dials per number across campaigns
    figures: Figures = field(default_factory=Figures)
    in_flight: dict[str, int] = field(default_factory=dict)  # uniqueid (ChannelId) -> dial id
    agent_first: dict[str, str] = field(default_factory=dict)  # progressive: the agent's interface -> ChannelId
    _recent: deque[list[Any]] = field(default_factory=deque)  # [answered, abandoned, ring_s] per resolved dial
    _answers: dict[str, list[Any]] = field(default_factory=dict)  # a dial answered, its call not ended yet -> its entry
    _aht: deque[float] = field(default_factory=deque)
    _done: list[dict[str, Any]] = field(default_factory=list)
    _sent_at: dict[str, float] = field(default_factory=dict)
    _queue: str | None = None

    def start(self) -> Callable[[], None]:
        return self.acd.subscribe(self._on_output)

    def _on_output(self, out: Any, core: Any) -> None:
        for r in out.records:
            uid = r.get("uniqueid") or ""
            if uid in self.in_flight or (r.get("linkedid") or "") in self.in_flight:
                self._done.append(r)

    # --- measurements ------------------------------------------------------------------------------

    def measured(self) -> Measured:
        # A dial resolves when the customer answers (the core has them in the queue) or the call fails:
        # answered dials wait for no conversation to end, or the early rate would count failures only.
        dialled = len(self._recent)
        answered = sum(1 for a, _, _ in self._recent if a)
        abandoned = sum(1 for _, d, _ in self._recent if d)
        delays = sorted(s for a, _, s in self._recent if a and s > 0)
        # The first calls to end are the short ones: a prior of AHT_PRIOR_N calls of AHT_PRIOR_S keeps
        # the early estimate from running low (which would dial too much for agents not free yet).
        aht = (sum(self._aht) + AHT_PRIOR_N * AHT_PRIOR_S) / (len(self._aht) + AHT_PRIOR_N)
        return Measured(
            dialled, answered, abandoned, aht, answer_s=sum(delays) / len(delays) if delays else 10.0, answer_delays=tuple(delays),
        )  # fmt: skip

    def _note(self, answered: bool, abandoned: bool, ring: float) -> list[Any]:
        entry = [answered, abandoned, ring]
        self._recent.append(entry)
        while len(self._recent) > self.window:
            self._recent.popleft()
        return entry

    def _see_answers(self) -> None:
        """Note the dials whose customer has answered since the last tick (predictive)."""
        for uid in self.in_flight:
            if uid in self._answers:
                continue
            call = self.acd.core.queue_acd.own(uid) if self.mode == "predictive" else None
            if call is not None:
                sent = self._sent_at.get(uid, call.entered_at)
                self._answers[uid] = self._note(True, False, max(0.0, call.entered_at - sent))

    def agents(self) -> tuple[int, int, int, list[str]]:
        """(free, busy, waiting customers, free interfaces) in the campaign's queue, as the core sees them."""
        core = self.acd.core
        q = core.queues.get(self._queue or "")
        if q is None:
            return 0, 0, 0, []
        free: list[str] = []
        busy = 0
        for iface in q.members:
            a = core.agents.get(iface)
            if a is None:
                continue
            state = a.state
            m = a.queues.get(q.name)
            if state == "available" and not (m is not None and m.not_ready):
                free.append(iface)
            elif state in BUSY_STATES:
                busy += 1
        return len(free), busy, len(q.waiting), sorted(free)

    # --- one step ------------------------------------------------------------------------------------

    async def tick(self, now: datetime | None = None, place: bool = True) -> int:
        """Close the dials whose calls ended, then (unless not `place`) place
        new ones; returns how many.  No database work when there is nothing to do."""
        now = now or _now()
        if self._queue is None:
            async with self.sessions() as s:
                self._queue = (await s.get(Campaign, self.campaign_id)).queue
        if self._done:
            async with self.sessions() as s:
                await self._close_done(s, now)
        if not place:
            return 0
        self._see_answers()
        free, busy, waiting, free_ifaces = self.agents()
        idle = [i for i in free_ifaces if i not in self.agent_first]
        if self.mode == "progressive":
            n = len(idle)
        else:
            m = self.measured()
            clock = self.acd.core.now
            ages = [clock - self._sent_at.get(uid, clock) for uid in self.in_flight if uid not in self._answers]
            ringing_p = sum(m.still_answers(a) for a in ages) / len(ages) if ages else None
            n = calls_to_place(max(0, free - waiting), busy, len(ages), m, self.cap, ringing_p=ringing_p, connect_s=self.connect_s)
        if n <= 0:
            return 0
        async with self.sessions() as s:
            campaign = await s.get(Campaign, self.campaign_id)
            try:
                dials = await reserve(s, campaign, now, "", None, n=n, cap=self.freq_cap)
            except Refused:
                return 0
            placed = 0
            for i, d in enumerate(dials):
                self.figures.dials += 1
                try:
                    if self.mode == "progressive":
                        await self._agent_first(s, d, campaign, idle[i])
                    else:
                        await originate_customer(s, self.gateway, d, campaign, self.connect_s, self.hotline, self.ring_s)
                except Exception:  # noqa: BLE001 - refused: finished as failed already
                    continue
                self.in_flight[d.channel_id] = d.id
                self._sent_at[d.channel_id] = self.acd.core.now
                placed += 1
            return placed

    async def _agent_first(self, s: Any, d: Dial, campaign: Campaign, iface: str) -> None:
        from callcenter.outbound.dialer import originate

        d.agent = iface
        await s.commit()
        self.agent_first[iface] = d.channel_id
        try:
            await originate(s, self.gateway, d, campaign)
        except Exception:
            self.agent_first.pop(iface, None)
            raise

    async def _close_done(self, s: Any, now: datetime) -> None:
        done, self._done = self._done, []
        for r in done:
            uid = r.get("uniqueid") or ""
            key = uid if uid in self.in_flight else r.get("linkedid") or ""
            dial_id = self.in_flight.pop(key, None)
            if dial_id is None:
                continue
            if self.mode == "progressive":
                for iface, cid in list(self.agent_first.items()):
                    if cid == key:
                        del self.agent_first[iface]
            d = await s.get(Dial, dial_id)
            if d is None:
                continue
            result = result_of(r)
            if self.mode == "progressive" and r.get("answered_at") is None and result is Result.abandoned:
                result = Result.no_answer
            answered = result in (Result.normal_conversation, Result.abandoned)
            # ring: from the dial to the customer's answer (the join) or to the failure
            sent = self._sent_at.pop(key, None)
            ring = 0.0
            if sent is not None:
                ring = max(0.0, float((r.get("entered_at") if answered else r.get("ended_at")) or sent) - sent)
            entry = self._answers.pop(key, None)
            if entry is None:  # failed, or answered and over between two ticks
                self._note(answered, result is Result.abandoned, ring)
            else:
                entry[1] = result is Result.abandoned
            f = self.figures
            if answered:
                f.answered += 1
                f.answers.append((float(r.get("entered_at") or sent or 0.0), result is Result.abandoned))
            if result is Result.abandoned:
                f.abandoned += 1
            if r.get("answered_at") is not None:
                f.connected += 1
                f.talk_s += float(r.get("talk_s") or 0.0)
                f.wrap_s += float(r.get("wrap_up_s") or 0.0)
                self._aht.append(float(r.get("talk_s") or 0.0) + float(r.get("wrap_up_s") or 0.0))
                while len(self._aht) > self.window:
                    self._aht.popleft()
            if d.state is DialState.ended:  # the agent recorded its result already (desktop)
                continue
            if r.get("agent") and d.agent == "":
                d.agent = r["agent"]
            await finish(s, d, result, now, note=f"dialer: {r.get('outcome') or ''}", talk_s=float(r.get("talk_s") or 0.0))
        if done:
            await s.commit()
