"""Predictive against progressive on the real stack: the simulator (a TCP
AMI server) -> the bridge -> the ACD core -> the dialer, which sends its
Originates back through the gateway.  Same list, same customers, same
agents; the simulator runs in virtual time, one second per step, and a
UserEvent round trip after each step makes sure the core has seen it all
before the dialer decides (so a run is repeatable).

Predictive dials the customer first into [cc-predictive]: the measured
abandon rate of connected calls must stay at or under the cap, and the
agents must be busier than with progressive (agent first, one call per
free agent) on the same list."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from callcenter.acd import events as ev
from callcenter.acd.common import CoreConfig, QueueConfig
from callcenter.acd.service import AcdService
from callcenter.outbound.models import Campaign, CampaignContact, CampaignStatus, Dial, DialMode, DialState
from callcenter.outbound.predictive import LiveDialer, result_of
from callcenter.outbound.rules import Result
from callcenter.simulator.clock import VirtualClock
from callcenter.simulator.pbx import PBX, Queue
from callcenter.simulator.server import AmiServer
from tests.ami.conftest import SECRET, USER, ami_settings, until

AGENTS = 8
NUMBERS = 700
MINUTES = 10
STEP_S = 2.0
CAP = 0.03


def customers(pbx: PBX, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    numbers = []
    for i in range(NUMBERS):
        n = f"139{i:08d}"
        numbers.append(n)
        if rng.random() < 0.35:
            pbx.set_phone(f"PJSIP/{n}@carrier", answer_after=rng.uniform(3, 10), talk_s=min(200.0, max(15.0, rng.expovariate(1 / 60))))
        else:
            pbx.set_phone(f"PJSIP/{n}@carrier", miss_prob=1.0)
    return numbers


async def run(db: Any, mode: str) -> dict[str, Any]:
    pbx = PBX(queues=[Queue("campaigns", strategy="leastrecent")], clock=VirtualClock())
    numbers = customers(pbx)
    for i in range(AGENTS):
        iface = f"PJSIP/80{i + 10:02d}"
        pbx.add_member("campaigns", iface, name=f"agent {i}")
        pbx.set_phone(iface, answer_after=0.5)
    server = AmiServer(username=USER, secret=SECRET, pbx=pbx)
    server.faults.login_delay_s = 0.0
    port = await server.start()
    synced: set[str] = set()
    config = CoreConfig(default_queue=QueueConfig(name="*", wrap_up_s=5.0))
    acd = AcdService(None, config, tick_s=None)

    def on_event(e: ev.Event) -> None:
        if isinstance(e, ev.UserEvent) and e.name == "CcSync":
            synced.add(e.get("Seq"))
        acd.submit(e)

    from callcenter.ami.bridge import Bridge

    bridge = Bridge(ami_settings(port, ami_ping_interval_s=5.0, ami_dead_after_s=60.0, ami_action_timeout_s=10.0), on_event)
    await bridge.start()
    try:
        await until(lambda: bridge.readiness()["ok"], what="the bridge up")
        acd.gateway = bridge.gateway
        async with db.sessions() as s:
            c = Campaign(name=f"live-{mode}", type="sales", queue="campaigns", status=CampaignStatus.running, window="00:00-00:00",
                         mode=DialMode(mode), abandon_cap=CAP)  # fmt: skip
            s.add(c)
            await s.flush()
            s.add_all(CampaignContact(campaign_id=c.id, number=n) for n in numbers)
            await s.commit()
            cid = c.id
        dialer = LiveDialer(db.sessions, bridge.gateway, acd, cid, mode=mode, connect_s=2.0, cap=CAP, ring_s=20.0)
        stop = dialer.start()
        seq = 0

        async def sync() -> None:
            nonlocal seq
            seq += 1
            await bridge.gateway.user_event({"UserEvent": "CcSync", "Seq": str(seq)})
            await until(lambda: str(seq) in synced, what="the core caught up")

        await sync()
        for _ in range(int(MINUTES * 60 / STEP_S)):
            await dialer.tick()
            pbx.advance(STEP_S)
            await sync()
        # no new dials: let what is in flight end
        for _ in range(200):
            if not dialer.in_flight:
                break
            pbx.advance(STEP_S)
            await sync()
            await dialer.tick(place=False)
        stop()
        f = dialer.figures
        async with db.sessions() as s:
            from sqlalchemy import select

            dials = (await s.scalars(select(Dial).where(Dial.campaign_id == cid))).all()
        return {"figures": f, "dials": dials, "pbx": pbx, "minutes": MINUTES}
    finally:
        await bridge.stop()
        await server.stop()


def utilisation(r: dict[str, Any]) -> float:
    f = r["figures"]
    return (f.talk_s + f.wrap_s) / (AGENTS * r["minutes"] * 60)


async def test_predictive_holds_the_abandon_cap_and_beats_progressive(db):
    pred = await run(db, "predictive")
    prog = await run(db, "progressive")
    fp, fg = pred["figures"], prog["figures"]
    assert fp.answered >= 40, fp  # enough connected calls to measure
    assert fp.abandon_rate <= CAP, fp
    assert fg.abandoned == 0, fg  # agent first: nobody answers to silence
    assert utilisation(pred) > utilisation(prog), (utilisation(pred), utilisation(prog))
    assert fp.connected > fg.connected, (fp, fg)
    # every dial of the predictive run has its result, and it is one of the dialer's
    assert all(d.state is DialState.ended for d in pred["dials"])
    assert {d.result for d in pred["dials"]} <= {r.value for r in (Result.normal_conversation, Result.abandoned, Result.no_answer, Result.busy, Result.failed)}
    assert sum(d.result == Result.abandoned for d in pred["dials"]) == fp.abandoned


def test_result_of_a_record():
    assert result_of({"answered_at": 1.0, "queue": "campaigns", "outcome": "answered"}) is Result.normal_conversation
    assert result_of({"answered_at": None, "queue": "campaigns", "outcome": "timeout"}) is Result.abandoned
    assert result_of({"answered_at": None, "queue": "campaigns", "outcome": "abandoned"}) is Result.abandoned
    assert result_of({"answered_at": None, "queue": "campaigns", "outcome": "no_answer"}) is Result.no_answer
    assert result_of({"answered_at": None, "queue": "", "outcome": "busy"}) is Result.busy
