"""The whole product against the simulated PBX, with every fault the
issue 12 checks, for the fault tests and bench/soak.py.

    stack = CallStack(database_url, tmp_dir, speed=40)
    await stack.start()                  # PBX + ledger, proxy, the app (bridge, ACD, hooks, spool)
    await stack.sim(120)                 # let 120 simulated seconds of traffic pass
    await stack.cut_link(30)             # the AMI link is cut for 30 simulated seconds
    await stack.restart_serve()          # `callcenter serve` stops and starts (same database, same spool)
    await stack.restart_pbx()            # Asterisk restarts: every call dropped, new channel ids
    report = await stack.finish()        # traffic stops, calls end, call_records vs the ledger
    await stack.close()

The simulated PBX runs on a real clock sped up `speed` times, so fault
lengths are given in simulated seconds (a 30 s cut at speed 40 lasts 0.75 s
of wall time).  The bridge talks to the PBX through tests.linkproxy; the
PBX writes its queue_log rows into the same database, as a real Asterisk
with the shipped extconfig.conf does (the backfill after a blind window
reads them).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import select

from callcenter.acd import events as ev
from callcenter.acd.models import CallRecord
from callcenter.acd.replay import settle_s
from callcenter.app import create_app
from callcenter.config import Settings, load_settings
from callcenter.demo import demo_agents
from callcenter.simulator.clock import RealClock
from callcenter.simulator.ledger import Ledger, Report, compare
from callcenter.simulator.pbx import PBX
from callcenter.simulator.queue_log import QueueLogTable
from callcenter.simulator.server import AmiServer
from callcenter.simulator.traffic import QueueLoad, Traffic, TrafficModel
from tests.linkproxy import LinkProxy

USER, SECRET = "cc", "fault-test-secret"
# Short calls, some impatient callers, holds and transfers: many calls of every kind per simulated minute.
LOADS = [QueueLoad("enquiries", 0.55, 50.0), QueueLoad("repairs", 0.35, 70.0), QueueLoad("complaints", 0.10, 80.0)]


class CallStack:
    def __init__(
        self,
        database_url: str,
        tmp: Path,
        *,
        speed: float = 40.0,
        agents: int = 10,
        seed: int = 11,
        occupancy: float = 0.8,
        **settings: Any,
    ) -> None:
        self.database_url = database_url
        self.tmp = tmp
        self.speed = speed
        self.seed = seed
        self.people = demo_agents(agents)
        self.model = TrafficModel.for_occupancy(
            len(self.people), occupancy, wrap_s=10.0, loads=list(LOADS), patience_mean_s=90.0, warm_start=len(self.people) // 2
        )
        self.overrides = settings
        self.ledger = Ledger()
        self.reconnects: list[float] = []  # wall seconds from link back to bridge ready
        self.restarts = 0
        self.pbx: PBX | None = None
        self.server: AmiServer | None = None
        self.traffic: Traffic | None = None
        self.proxy: LinkProxy | None = None
        self.app: Any = None
        self._app_stack: AsyncExitStack | None = None
        self.queue_log = QueueLogTable(database_url)
        self._queue_log_task: asyncio.Task[None] | None = None

    # --- assembling ------------------------------------------------------------------

    def settings(self) -> Settings:
        assert self.proxy is not None
        base: dict[str, Any] = {
            "database_url": self.database_url,
            "jwt_secret": "fault-test-jwt-secret-0123456789abcdef",
            "hook_secret": "fault-test-hook-secret-0123456789",
            "ami_enabled": True,
            "ami_host": "127.0.0.1",
            "ami_port": self.proxy.port,
            "ami_user": USER,
            "ami_secret": SECRET,
            "ami_ping_interval_s": 1.0,
            "ami_dead_after_s": 10.0,  # a loaded box must not cut the link by itself
            "simulator": False,
            "spool_path": self.tmp / "spool.db",
            "recordings_dir": self.tmp / "recordings",
            "log_format": "console",
        }
        base.update(self.overrides)
        return load_settings(**base)

    def _new_pbx(self, start: float | None = None) -> None:
        self.pbx = PBX(clock=RealClock(speed=self.speed, start=start), seed=self.seed + self.restarts)
        self.ledger.attach(self.pbx)
        self.pbx.queue_log.append(self.queue_log)  # Asterisk's realtime queue_log, into our database (the backfill reads it)
        self.server = AmiServer(username=USER, secret=SECRET, pbx=self.pbx)
        self.server.faults.login_delay_s = 0.0

    def _new_traffic(self) -> None:
        assert self.pbx is not None
        self.traffic = Traffic(self.pbx, self.model, seed=self.seed + 100 * self.restarts)
        for _username, name, iface, skills in self.people:
            self.traffic.login(iface, name, skills)
        self.traffic.start()

    async def start(self) -> None:
        self._queue_log_task = asyncio.create_task(self.queue_log.run(0.1))  # Asterisk INSERTs each row at once
        self._new_pbx()
        assert self.server is not None
        port = await self.server.start()
        self.proxy = LinkProxy("127.0.0.1", port)
        await self.proxy.start()
        await self._start_app()
        # Traffic once the bridge is up and the first queue_log backfill has
        # read its window: everything the core knows then came over AMI.
        await self._backfilled()
        self._new_traffic()

    async def _backfilled(self) -> None:
        acd = self.app.state.acd
        if acd.backfill_delay_s is None:
            return
        running = lambda: any(t.get_name() == "acd-backfill" for t in acd._tasks)  # noqa: E731
        await self.until(running, 10, "the first backfill to start")
        await self.until(lambda: not running(), 20, "the first backfill to end")

    async def _start_app(self) -> None:
        self._app_stack = AsyncExitStack()
        self.app = create_app(self.settings())
        await self._app_stack.enter_async_context(self.app.router.lifespan_context(self.app))
        await self.until(lambda: self.app.state.bridge.readiness()["ok"], 20, "the bridge up")

    # --- time ------------------------------------------------------------------------------

    async def until(self, predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.01)

    async def sim(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass."""
        assert self.pbx is not None
        clock = self.pbx.clock
        end = clock.wall(self.pbx.schedule) + seconds
        while clock.wall(self.pbx.schedule) < end:
            await asyncio.sleep(min(0.05, max(0.001, (end - clock.wall(self.pbx.schedule)) / self.speed)))

    # --- faults -----------------------------------------------------------------------------

    async def cut_link(self, seconds: float) -> float:
        """Cut the AMI link for `seconds` simulated seconds; returns the wall
        seconds the bridge then took to be back (connected and resynced)."""
        assert self.proxy is not None
        bridge = self.app.state.bridge
        await self.proxy.cut()
        await self.until(lambda: not bridge.readiness()["ok"], 10, "the bridge to see the cut")
        await self.sim(seconds)
        await self.proxy.restore()
        t0 = time.monotonic()
        await self.until(lambda: bridge.readiness()["ok"], 30, "the bridge back")
        took = time.monotonic() - t0
        self.reconnects.append(took)
        return took

    async def restart_serve(self, down_s: float = 0.0) -> None:
        """`callcenter serve` stops (gracefully) and starts again; the PBX carries on."""
        assert self._app_stack is not None
        await self._app_stack.aclose()
        if down_s:
            await self.sim(down_s)
        await self._start_app()

    async def restart_pbx(self, down_s: float = 5.0) -> None:
        """Asterisk restarts: every channel is gone at once (no events), it is
        down for `down_s` simulated seconds, then comes back with the agents
        logged in again (persistent members) and new channel ids."""
        assert self.pbx is not None and self.server is not None and self.traffic is not None
        self.traffic.stop()
        now = self.pbx.now
        self.ledger.crash(now)
        port = self.server._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        await self.server.stop()
        self.pbx.sinks.clear()
        await asyncio.sleep(down_s / self.speed)
        self.restarts += 1
        self._new_pbx(start=now + down_s)
        await self.server.start(port=port)
        self._new_traffic()
        bridge = self.app.state.bridge
        t0 = time.monotonic()
        await self.until(lambda: bridge.readiness()["ok"] and bridge.sessions > 0, 30, "the bridge back on the new PBX")
        self.reconnects.append(time.monotonic() - t0)

    # --- the verdict --------------------------------------------------------------------------

    async def finish(self, drain_sim_s: float = 1800.0, with_hold: bool = False) -> Report:
        """No more arrivals; wait for every call to end, let wrap-up limits
        pass, write everything, and compare call_records with the ledger."""
        assert self.pbx is not None and self.traffic is not None
        self.traffic.stop()
        await self.until(lambda: not self.pbx.calls, drain_sim_s / self.speed + 10, "the calls in progress to end")
        await self.sim(5)  # the last events cross the link
        acd = self.app.state.acd
        # A queue_log backfill still due (it waits a couple of wall seconds
        # for Asterisk to write its rows) is part of the service's work.
        await self.until(lambda: not any(t.get_name() == "acd-backfill" for t in acd._tasks), 30, "the backfill to end")
        acd.submit(ev.Tick(acd.core.now + settle_s(acd.core.config)))  # wrap-up limits pass
        await acd.flush_all()
        spool = self.app.state.spool
        if len(spool):
            await spool.replay(self.app.state.db)
        return compare(self.ledger, await self.records(), with_hold=with_hold)

    async def records(self) -> list[dict[str, Any]]:
        async with self.app.state.db.sessions() as s:
            rows = (await s.execute(select(CallRecord))).scalars().all()
        return [
            {"call_id": r.call_id, "uniqueid": r.uniqueid, "entered_at": r.entered_at, "outcome": r.outcome.value,
             "agent": r.agent, "talk_s": r.talk_s, "hold_s": r.hold_s, "queue": r.queue,
             "source": r.source, "timeline": r.timeline}
            for r in rows
        ]  # fmt: skip

    async def close(self) -> None:
        if self._app_stack is not None:
            await self._app_stack.aclose()
        if self._queue_log_task is not None:
            self._queue_log_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._queue_log_task
        await self.queue_log.close()
        if self.proxy is not None:
            await self.proxy.stop()
        if self.server is not None:
            await self.server.stop()

    def reconnect_percentiles(self) -> tuple[float, float]:
        xs = sorted(self.reconnects)
        if not xs:
            return float("nan"), float("nan")
        p99 = xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]
        return statistics.median(xs), p99
