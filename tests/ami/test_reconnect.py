"""Reconnect fast (issue 12 §3): when the AMI link comes back, the bridge is
back within a second whatever its backoff had grown to, through a proxy
that really cuts the TCP link."""

from __future__ import annotations

import time

import pytest

from callcenter.acd import events as ev
from callcenter.ami.bridge import Bridge
from callcenter.simulator.server import AmiServer
from tests.ami.conftest import Sink, ami_settings, until
from tests.linkproxy import LinkProxy

# A production-like backoff (seconds, growing to 30) with the default probe interval.
SLOW_BACKOFF = {"ami_backoff_initial_s": 1.0, "ami_backoff_max_s": 30.0, "ami_probe_interval_s": 0.25, "ami_action_timeout_s": 1.0}


@pytest.mark.parametrize("mode", ["refuse", "blackhole"])
async def test_back_within_a_second_after_a_cut_whatever_the_backoff(server: AmiServer, make_bridge, mode: str) -> None:
    proxy = LinkProxy("127.0.0.1", server.port, mode=mode)
    port = await proxy.start()
    try:
        sink = Sink()
        bridge: Bridge = await make_bridge(ami_settings(port, **SLOW_BACKOFF), sink)
        await sink.wait(ev.Resync)
        await proxy.cut()
        await until(lambda: bridge.state != "authenticated", what="the bridge to notice the cut")
        # Three seconds out: a plain backoff loop (1 s, 2 s, 4 s...) would
        # now sleep for seconds after the link is back.
        t_cut = time.monotonic()
        await until(lambda: time.monotonic() - t_cut > 3.0, timeout=4)
        await proxy.restore()
        t0 = time.monotonic()
        await until(lambda: bridge.readiness()["ok"], timeout=3, what="the bridge back")
        took = time.monotonic() - t0
        assert took < 1.0, f"back after {took:.2f} s"
        assert len(sink.of(ev.Resync)) == 2
    finally:
        await proxy.stop()


async def test_probing_is_cheap_and_full_sessions_keep_their_backoff(server: AmiServer, make_bridge) -> None:
    """During a cut the bridge probes often but tries full sessions only at
    the backoff's pace."""
    proxy = LinkProxy("127.0.0.1", server.port)
    port = await proxy.start()
    try:
        bridge: Bridge = await make_bridge(ami_settings(port, **{**SLOW_BACKOFF, "ami_probe_interval_s": 0.05}))
        await until(lambda: bridge.readiness()["ok"])
        await proxy.cut()
        await until(lambda: bridge.state == "lost")
        before = bridge.attempts
        t0 = time.monotonic()
        await until(lambda: time.monotonic() - t0 > 2.0, timeout=3)
        # Asterisk is gone: only probes run (every 25-50 ms), no sessions.
        assert bridge.attempts == before
        await proxy.restore()
        await until(lambda: bridge.readiness()["ok"], timeout=1.0, what="back within a second")
    finally:
        await proxy.stop()


async def test_a_server_that_answers_probes_but_refuses_the_login_is_not_hammered(server: AmiServer, make_bridge) -> None:
    bridge: Bridge = await make_bridge(ami_settings(server.port, ami_secret="wrong", **{**SLOW_BACKOFF, "ami_probe_interval_s": 0.05}))
    await until(lambda: bridge.error is not None, what="the first rejection")
    t0, before = time.monotonic(), bridge.attempts
    await until(lambda: time.monotonic() - t0 > 1.5, timeout=3)
    assert bridge.attempts - before <= 1  # the backoff (1 s, then 2 s), not the probe interval
    assert bridge.readiness()["ok"] is False


async def test_a_short_drop_of_an_authenticated_link_reconnects_at_once(server: AmiServer, make_bridge) -> None:
    """The link dies (a reset) but Asterisk is still there: the first retry
    comes after the first backoff step, not after whatever it had grown to."""
    sink = Sink()
    bridge: Bridge = await make_bridge(ami_settings(server.port, **{**SLOW_BACKOFF, "ami_backoff_initial_s": 0.1}), sink)
    await sink.wait(ev.Resync)
    for n in range(2, 5):
        await server.drop_connections(mid_event=False)
        t0 = time.monotonic()
        await sink.wait(ev.Resync, n, timeout=5)
        assert time.monotonic() - t0 < 1.5
