"""Fixtures for the AMI bridge: a real TCP AMI server (the simulator) and
bridges tuned to tenths of a second so fault tests stay fast."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from callcenter.acd import events as ev
from callcenter.ami.bridge import Bridge
from callcenter.config import Settings
from callcenter.simulator.pbx import PBX, Queue
from callcenter.simulator.server import AmiServer
from tests.conftest import make_settings

USER, SECRET = "cc", "s3cret"


def ami_settings(port: int, **overrides: object) -> Settings:
    base: dict[str, object] = {
        "ami_enabled": True,
        "ami_host": "127.0.0.1",
        "ami_port": port,
        "ami_user": USER,
        "ami_secret": SECRET,
        "ami_ping_interval_s": 0.05,
        "ami_dead_after_s": 0.3,
        "ami_backoff_initial_s": 0.02,
        "ami_backoff_max_s": 0.1,
        "ami_action_timeout_s": 1.0,
    }
    base.update(overrides)
    return make_settings(**base)


async def until(predicate: Callable[[], object], timeout: float = 3.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


@dataclass
class Sink:
    """The bridge's on_event: keeps everything, in order."""

    events: list[ev.Event] = field(default_factory=list)

    def __call__(self, event: ev.Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:  # noqa: ANN001
        return [e for e in self.events if isinstance(e, kind)]

    async def wait(self, kind: type, n: int = 1, timeout: float = 3.0) -> list:
        await until(lambda: len(self.of(kind)) >= n, timeout, f"{n} x {kind.__name__}")
        return self.of(kind)


@pytest.fixture
def pbx() -> PBX:
    return PBX(queues=[Queue("support", strategy="ringall"), Queue("sales")])


@pytest.fixture
async def server(pbx: PBX) -> AsyncIterator[AmiServer]:
    srv = AmiServer(username=USER, secret=SECRET, pbx=pbx)
    srv.faults.login_delay_s = 0.0
    srv.port = await srv.start()  # type: ignore[attr-defined]
    yield srv
    await srv.stop()


@pytest.fixture
async def make_bridge() -> AsyncIterator[Callable[..., Bridge]]:
    bridges: list[Bridge] = []

    async def make(settings: Settings, on_event: Callable[[ev.Event], object] | None = None) -> Bridge:
        bridge = Bridge(settings, on_event or Sink())
        bridges.append(bridge)
        await bridge.start()
        return bridge

    yield make  # type: ignore[misc]
    for bridge in bridges:
        await bridge.stop()
