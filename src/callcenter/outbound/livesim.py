"""A campaign dialled live on the whole stack, for the test and
`bench/dialer.py --live`: the simulator (a TCP AMI server, virtual time)
-> the bridge -> the ACD core (AcdService) -> the LiveDialer, whose
Originates go back through the gateway.  Each step advances the PBX
`step_s` and then waits for a UserEvent sent through the gateway to come
back through the bridge: the core has then seen everything before the
dialer decides, so a run is repeatable and as fast as the CPU allows.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

from callcenter.acd import events as ev
from callcenter.acd.common import CoreConfig, QueueConfig
from callcenter.acd.service import AcdService
from callcenter.outbound.models import Campaign, CampaignContact, CampaignStatus, Dial, DialMode
from callcenter.outbound.predictive import Figures, LiveDialer
from callcenter.simulator.clock import VirtualClock
from callcenter.simulator.pbx import PBX, Queue
from callcenter.simulator.server import AmiServer

USER, SECRET = "cc", "live-sim"


@dataclass
class Floor:
    agents: int = 8
    numbers: int = 700
    minutes: float = 10.0
    answer: float = 0.35  # share of customers who pick up
    talk_mean_s: float = 60.0
    wrap_s: float = 5.0
    connect_s: float = 2.0
    ring_s: float = 20.0
    cap: float = 0.03
    seed: int = 5
    step_s: float = 2.0


@dataclass
class Run:
    mode: str
    figures: Figures
    dials: list[Dial]
    floor: Floor
    wall_s: float
    cpu_s: float  # the dialer's own process time (ticks)
    t0: float = 0.0  # PBX time of the first dial

    @property
    def utilisation(self) -> float:
        f = self.figures
        return (f.talk_s + f.wrap_s) / (self.floor.agents * self.floor.minutes * 60)

    @property
    def contacts_per_agent_hour(self) -> float:
        return self.figures.connected / (self.floor.agents * self.floor.minutes / 60)

    def summary(self) -> dict[str, Any]:
        f = self.figures
        return {
            "dials": f.dials, "answered": f.answered, "abandoned": f.abandoned, "connected": f.connected,
            "abandon_rate": round(f.abandon_rate, 4), "utilisation": round(self.utilisation, 4),
            "contacts_per_agent_hour": round(self.contacts_per_agent_hour, 2),
            "dialer_cpu_ms_per_dial": round(1000 * self.cpu_s / f.dials, 3) if f.dials else 0.0, "wall_s": round(self.wall_s, 2),
            "abandoned_of_answered_per_5_min": [f"{d}/{a}" for a, d in f.by_window(self.t0)],
        }  # fmt: skip


def customers(pbx: PBX, floor: Floor) -> list[str]:
    rng = random.Random(floor.seed)
    numbers = []
    for i in range(floor.numbers):
        n = f"139{i:08d}"
        numbers.append(n)
        if rng.random() < floor.answer:
            talk = min(5 * floor.talk_mean_s, max(10.0, rng.expovariate(1 / floor.talk_mean_s)))
            pbx.set_phone(f"PJSIP/{n}@carrier", answer_after=rng.uniform(3, 10), talk_s=talk)
        else:
            pbx.set_phone(f"PJSIP/{n}@carrier", miss_prob=1.0)
    return numbers


async def _until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)


async def run(db: Any, mode: str, floor: Floor, agent_answer_s: float = 0.5) -> Run:
    from callcenter.ami.bridge import Bridge
    from callcenter.config import load_settings

    w0 = time.perf_counter()
    pbx = PBX(queues=[Queue("campaigns", strategy="leastrecent")], clock=VirtualClock())
    numbers = customers(pbx, floor)
    for i in range(floor.agents):
        iface = f"PJSIP/8{i + 100:03d}"
        pbx.add_member("campaigns", iface, name=f"agent {i}")
        pbx.set_phone(iface, answer_after=agent_answer_s)
    server = AmiServer(username=USER, secret=SECRET, pbx=pbx)
    server.faults.login_delay_s = 0.0
    port = await server.start()
    synced: set[str] = set()
    acd = AcdService(None, CoreConfig(default_queue=QueueConfig(name="*", wrap_up_s=floor.wrap_s)), tick_s=None)

    def on_event(e: ev.Event) -> None:
        if e.__class__ is ev.UserEvent and e.name == "CcSync":  # type: ignore[attr-defined]
            synced.add(e.get("Seq"))  # type: ignore[attr-defined]
        acd.submit(e)

    settings = load_settings(
        jwt_secret="live-sim-jwt-secret-0123456789abcdef", hook_secret="live-sim-hook-secret-0123456789abcdef", simulator=False,
        ami_enabled=True, ami_host="127.0.0.1", ami_port=port, ami_user=USER, ami_secret=SECRET, ami_ping_interval_s=5.0,
        ami_dead_after_s=60.0, ami_action_timeout_s=10.0, ami_backoff_initial_s=0.02, ami_backoff_max_s=0.1,
    )  # fmt: skip
    bridge = Bridge(settings, on_event)
    await bridge.start()
    cpu = 0.0
    try:
        await _until(lambda: bridge.readiness()["ok"], 10.0, "the bridge up")
        acd.gateway = bridge.gateway
        async with db.sessions() as s:
            c = Campaign(name=f"live-{mode}-{floor.seed}-{time.time_ns()}", type="sales", queue="campaigns", status=CampaignStatus.running,
                         window="00:00-00:00", mode=DialMode(mode), abandon_cap=floor.cap)  # fmt: skip
            s.add(c)
            await s.flush()
            s.add_all(CampaignContact(campaign_id=c.id, number=n) for n in numbers)
            await s.commit()
            cid = c.id
        dialer = LiveDialer(db.sessions, bridge.gateway, acd, cid, mode=mode, connect_s=floor.connect_s, cap=floor.cap, ring_s=floor.ring_s)
        stop = dialer.start()
        seq = 0

        async def sync() -> None:
            nonlocal seq
            seq += 1
            await bridge.gateway.user_event({"UserEvent": "CcSync", "Seq": str(seq)})
            await _until(lambda: str(seq) in synced, 10.0, "the core to catch up")

        await sync()
        t0 = acd.core.now
        for _ in range(int(floor.minutes * 60 / floor.step_s)):
            c0 = time.process_time()
            await dialer.tick()
            cpu += time.process_time() - c0
            pbx.advance(floor.step_s)
            await sync()
        for _ in range(int(600 / floor.step_s)):  # no new dials: what is in flight ends
            if not dialer.in_flight:
                break
            pbx.advance(floor.step_s)
            await sync()
            await dialer.tick(place=False)
        stop()
        async with db.sessions() as s:
            from sqlalchemy import select

            dials = list((await s.scalars(select(Dial).where(Dial.campaign_id == cid))).all())
        return Run(mode, dialer.figures, dials, floor, time.perf_counter() - w0, cpu, t0)
    finally:
        await bridge.stop()
        await server.stop()
