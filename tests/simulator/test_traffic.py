"""The traffic model, determinism, recordings and the demo wiring."""

from __future__ import annotations

import wave
from array import array
from pathlib import Path

from typer.testing import CliRunner

from callcenter.simulator.clock import VirtualClock
from callcenter.simulator.pbx import PBX, Queue
from callcenter.simulator.server import encode
from callcenter.simulator.service import build
from callcenter.simulator.traffic import HOTLINE_PROFILE, Traffic, TrafficModel
from tests.simulator.conftest import Events


def wire(seed: int, hours: float = 1.0) -> bytes:
    server = build(agents=20, seed=seed, clock=VirtualClock())
    out = bytearray()
    server.pbx.sinks.append(lambda f: out.extend(encode(f)))
    server.pbx.advance(hours * 3600)
    return bytes(out)


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    a, b, c = wire(7), wire(7), wire(8)
    assert a == b
    assert a != c
    assert a.count(b"Event: AgentConnect\r\n") > 50


def test_arrival_rate_matches_the_model() -> None:
    pbx = PBX(queues=[Queue("enquiries", maxwait=None)], seed=3)
    model = TrafficModel(calls_per_hour=120, loads=[TrafficModel().loads[0]], patience_mean_s=30)
    model.loads[0].share = 1.0
    traffic = Traffic(pbx, model, seed=3)
    traffic.start()
    pbx.advance(10 * 3600)
    assert 1080 <= traffic.arrivals <= 1320  # 1200 expected; > 5 sigma margin


def test_profile_shapes_the_day() -> None:
    pbx = PBX(queues=[Queue("enquiries", maxwait=None)], seed=3)
    ev = Events(pbx)
    model = TrafficModel(calls_per_hour=200, loads=[TrafficModel().loads[0]], profile=list(HOTLINE_PROFILE), utc_offset_h=0)
    model.loads[0].share = 1.0
    # Start at 00:00 UTC so hours of the run are hours of the (UTC) profile.
    pbx.schedule.now = pbx.schedule.now - pbx.schedule.now % 86400
    Traffic(pbx, model, seed=1).start()
    pbx.advance(86400)
    hours = [int(float(e["Timestamp"]) // 3600 % 24) for e in ev.of("QueueCallerJoin")]
    assert hours.count(9) > 5 * hours.count(3)


def abandon_rate(patience: float) -> tuple[float, int]:
    pbx = PBX(queues=[Queue("enquiries", maxwait=None)], seed=5)
    ev = Events(pbx)
    model = TrafficModel(calls_per_hour=60, loads=[TrafficModel().loads[0]], patience_mean_s=patience, pause_prob=0)
    model.loads[0].share = 1.0
    traffic = Traffic(pbx, model, seed=5)
    traffic.login("PJSIP/8001", "王静", [("enquiries", 0)])
    traffic.start()
    pbx.advance(8 * 3600)
    joins, abandons = len(ev.of("QueueCallerJoin")), len(ev.of("QueueCallerAbandon"))
    return abandons / joins, len(ev.of("AgentRingNoAnswer"))


def test_abandons_emerge_from_patience() -> None:
    impatient, rna = abandon_rate(15)
    patient, _ = abandon_rate(1e9)
    assert impatient > 0.3  # one agent, 60 calls/h of 90 s: the queue builds up
    assert patient == 0.0
    assert rna > 0  # agents sometimes miss a call


def test_simulated_agents_pause_miss_and_resume() -> None:
    server = build(agents=20, seed=7, clock=VirtualClock())
    ev = Events(server.pbx)
    server.pbx.advance(4 * 3600)
    reasons = {e["PausedReason"] for e in ev.of("QueueMemberPause") if e["Paused"] == "1"}
    assert {"小休", "就餐"} <= reasons
    connects = ev.of("AgentConnect")
    assert sum(int(c["HoldTime"]) <= 20 for c in connects) / len(connects) > 0.6
    auto = [e for e in ev.of("QueueMemberPause") if e["PausedReason"] == "Auto-Pause"]
    assert auto  # they miss calls now and then (autopause=yes)...
    still = [m for q in server.pbx.queues.values() for m in q.members.values() if m.paused_reason == "Auto-Pause"]
    assert len(still) <= 2  # ...notice, and resume within a minute or so


def test_recording_wav_written_with_talk_duration(tmp_path: Path) -> None:
    server = build(
        seed=1,
        clock=VirtualClock(),
        recordings_dir=tmp_path,
        script=[
            {"at": 0, "login": "PJSIP/8001", "queue": "repairs", "name": "王静"},
            {"at": 1, "queue": "repairs", "caller": "13800138000", "name": "张三",
             "answer": [{"agent": "PJSIP/8001", "after": 2}], "talk": 12, "hold": [[4, 3]]},
        ],
    )  # fmt: skip
    ev = Events(server.pbx)
    server.pbx.run_until_idle()
    var = next(e for e in ev.of("VarSet") if e["Variable"] == "MIXMONITOR_FILENAME")
    path = Path(var["Value"])
    assert path.is_file() and path.is_relative_to(tmp_path) and path.suffix == ".wav"
    names = ev.names()
    assert names.index("MixMonitorStart") < names.index("QueueCallerJoin")  # [cc-queue]: MixMonitor, then Queue()
    stop = names.index("MixMonitorStop")
    assert names[stop + 1] == "Hangup" and ev.msgs[stop + 1] and dict(ev.msgs[stop + 1])["Channel"] == var["Channel"]
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 8000)
        assert w.getnframes() == 12 * 8000
        frames = array("h", w.readframes(w.getnframes()))
    left, right = frames[0::2], frames[1::2]
    assert max(left) > 1000 and max(right) > 1000 and left != right
    agent_on_hold = right[5 * 8000 : 7 * 8000]
    assert max(agent_on_hold) == 0  # silence from the agent while holding


async def test_demo_starts_simulator_for_the_bridge(tmp_path: Path) -> None:
    from callcenter.config import load_settings
    from callcenter.simulator.service import start_demo

    settings = load_settings(simulator=True, simulator_agents=6, recordings_dir=tmp_path, ami_port=5038, simulator_queue_log_table=False)
    server, effective = await start_demo(settings)
    try:
        assert effective.ami_host == "127.0.0.1" and effective.ami_port != 5038
        assert server._server is not None and server._server.sockets[0].getsockname()[1] == effective.ami_port
        logged = {m.interface for q in server.pbx.queues.values() for m in q.members.values()}
        assert "PJSIP/8001" not in logged and "PJSIP/8002" in logged and len(logged) == 5
        assert sorted(server.pbx.queues) == ["complaints", "enquiries", "fees", "repairs", "vip"]
    finally:
        await server.stop()


def test_cli_rejects_bad_version() -> None:
    from callcenter.cli import app

    result = CliRunner().invoke(app, ["simulate", "--version", "19"])
    assert result.exit_code == 2 and "--version must be 18 or 20" in result.output


async def test_app_lifespan_runs_the_simulator(db_url: str, tmp_path: Path) -> None:
    """settings.simulator: the app starts it before the bridge and points
    app.state.settings at it; a client can log in and see the demo queues."""
    from callcenter.app import create_app
    from tests.conftest import make_settings
    from tests.simulator.conftest import Client, get

    settings = make_settings(database_url=db_url, simulator=True, simulator_agents=4, recordings_dir=tmp_path)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        effective = app.state.settings
        assert effective.ami_host == "127.0.0.1" and effective.ami_port != settings.ami_port
        port = effective.ami_port
        c = await Client.connect(port)
        await c.login()
        c.send(Action="QueueSummary", Queue="enquiries", ActionID="s")
        msgs = await c.until(lambda m: get(m, "Event") == "QueueSummaryComplete")
        summary = next(dict(m) for m in msgs if get(m, "Event") == "QueueSummary")
        assert summary["LoggedIn"] == "3"  # agents 2-4; agent01 is left for a person
        await c.close()
    assert app.state.simulator._server is None  # stopped with the app
    # Like Asterisk's realtime queue_log (asterisk/extconfig.conf): the rows are in our table.
    from sqlalchemy import select

    from callcenter.ami.models import QueueLogEntry
    from callcenter.db import Database

    db = Database(db_url)
    try:
        async with db.sessions() as s:
            rows = (await s.execute(select(QueueLogEntry.event, QueueLogEntry.callid))).all()
    finally:
        await db.dispose()
    assert rows.count(("ADDMEMBER", "MANAGER")) >= 3


def test_random_interference_leaves_no_loose_ends() -> None:
    """Traffic plus random hangups, transfers, redirects, pauses and
    removals: afterwards every call has ended cleanly."""
    import random

    server = build(agents=12, seed=11, clock=VirtualClock())
    pbx = server.pbx
    ev = Events(pbx)
    rng = random.Random(11)
    for _ in range(400):
        pbx.advance(rng.uniform(1, 20))
        names = sorted(pbx.channels)
        if not names:
            continue
        ch = rng.choice(names)
        what = rng.random()
        if what < 0.3:
            pbx.hangup_channel(ch)
        elif what < 0.45:
            call = next((c for c in pbx.calls.values() if c.state == "talking" and ch in (c.caller.name, c.leg and c.leg.name)), None)
            if call is not None:
                pbx.transfer(call, rng.choice([{"type": "blind", "to": "complaints", "talk": 20},
                                                {"type": "attended", "to": "8099", "consult": 5, "talk": 20}]))  # fmt: skip
        elif what < 0.55:
            pbx.redirect(ch, "queues", rng.choice(["enquiries", "ivr-menu"]))
        elif what < 0.75:
            iface = f"PJSIP/80{rng.randrange(2, 13):02d}"
            pbx.pause(iface, rng.random() < 0.5, "小休")
        elif what < 0.8:
            q = rng.choice(list(pbx.queues.values()))
            if q.members:
                pbx.remove_member(q.name, rng.choice(sorted(q.members)))
    server.traffic.stop()
    for q in pbx.queues.values():
        for iface in list(q.members):
            pbx.pause(iface, False)
    for name in sorted(pbx.channels):  # callers left in an IVR after a redirect hang up
        if name in pbx.channels:
            pbx.hangup_channel(name)
    pbx.run_until_idle()
    assert not pbx.channels and not pbx.calls and not pbx.others
    assert all(not q.entries for q in pbx.queues.values())
    assert all(p.status == 1 for p in pbx.phones.values())
    opened = {e["Uniqueid"] for e in ev.of("Newchannel")}
    closed = [e["Uniqueid"] for e in ev.of("Hangup")]
    assert opened == set(closed) and len(closed) == len(set(closed))
    joins, leaves = ev.of("QueueCallerJoin"), ev.of("QueueCallerLeave")
    assert len(joins) == len(leaves) > 100
    assert len(ev.of("AgentConnect")) == len(ev.of("AgentComplete"))


async def test_cli_simulate_script_and_record(tmp_path: Path) -> None:
    """`callcenter simulate --script --record` end to end, as a process."""
    import asyncio
    import json
    import os
    import re
    import signal
    import sys

    from tests.simulator.conftest import Client, get

    script = tmp_path / "calls.json"
    script.write_text(json.dumps([
        {"at": 0, "login": "PJSIP/8001", "queue": "repairs", "name": "王静"},
        {"at": 1, "queue": "repairs", "caller": "13800138000", "name": "张三",
         "answer": [{"agent": "PJSIP/8001", "after": 2}], "talk": 10},
    ], ensure_ascii=False), encoding="utf-8")  # fmt: skip
    record = tmp_path / "wire.ami"
    env = dict(os.environ, CALLCENTER_RECORDINGS_DIR=str(tmp_path / "rec"))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter", "simulate", "--port", "0", "--script", str(script),
        "--record", str(record), "--speed", "20", "--version", "20",
        stdout=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        port = int(re.search(r":(\d+),", line).group(1))
        assert "AMI 9.0.0" in line
        c = await Client.connect(port)
        assert c.banner == "Asterisk Call Manager/9.0.0\r\n"
        await c.login()
        msgs = await c.until(lambda m: get(m, "Event") == "AgentComplete", timeout=5)
        assert dict(next(m for m in msgs if get(m, "Event") == "AgentConnect"))["HoldTime"] == "2"
        c.send(Action="Logoff")
        while await c.read() is not None:
            pass
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()  # never leak a simulator
            await proc.wait()
            raise
    assert record.read_bytes() == c.raw
    assert list((tmp_path / "rec").rglob("*.wav"))


async def test_same_seed_same_bytes_over_the_socket() -> None:
    """What a client receives, banner to Logoff, is a function of the seed."""
    from tests.simulator.conftest import Client

    async def session(seed: int) -> bytes:
        server = build(agents=8, seed=seed, clock=VirtualClock())
        server.faults.login_delay_s = 0
        port = await server.start()
        c = await Client.connect(port)
        await c.login()
        await c.read()
        server.pbx.advance(1800)
        c.send(Action="QueueStatus", ActionID="qs")
        await c.until(lambda m: ("Event", "QueueStatusComplete") in m)
        c.send(Action="Logoff")
        while await c.read() is not None:
            pass
        await server.stop()
        return c.raw

    a, b = await session(5), await session(5)
    assert a == b and len(a) > 100_000
    blocks = [blk for blk in a.split(b"\r\n\r\n") if blk.startswith(b"Event: ") and b"Privilege: " in blk]
    assert all(blk.split(b"\r\n")[2].startswith(b"Timestamp: ") for blk in blocks)


async def test_demo_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import asyncio

    import pytest

    from callcenter.config import load_settings
    from callcenter.simulator.service import start_demo

    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = blocker.sockets[0].getsockname()[1]
    try:
        with pytest.raises(RuntimeError, match="CALLCENTER_SIMULATOR_PORT"):
            await start_demo(load_settings(simulator=True, simulator_port=port, simulator_agents=2, recordings_dir=tmp_path,
                                           simulator_queue_log_table=False))
    finally:
        blocker.close()


def test_simulated_agents_finish_wrap_up_like_people():
    """The demo's simulated agents submit a disposition after their modelled
    after-call work (log-normal, mean 15 s), so a call's wrap_up_s follows
    that model, not the queue's 30-90 s limit; the PBX (Asterisk's 5 s
    wrapuptime floor) does not hold them longer."""
    import math
    import statistics

    import pytest

    from callcenter.acd import events as ev
    from callcenter.acd.core import Core, CoreConfig, QueueConfig
    from callcenter.ami.normaliser import EventStream
    from callcenter.demo import DEMO_QUEUES
    from callcenter.simulator.clock import VirtualClock
    from callcenter.simulator.server import encode
    from callcenter.simulator.service import build

    core = Core(CoreConfig(queues={n: QueueConfig(n, sl_threshold_s=sl, wrap_up_s=wrap) for n, _zh, _en, sl, wrap in DEMO_QUEUES}))
    stream, records = EventStream(), []
    submitted = []

    def apply(event: object) -> None:
        out = core.apply(event)
        records.extend(out.records)
        for a in out.actions:  # what the gateway does with the wrap-up pause: QueuePause, a moment later
            server.pbx.after(0.01, server.pbx.pause, a.interface, a.paused, a.reason)

    def on_wire(fields: list[tuple[str, str]]) -> None:  # the bridge, without the socket
        for e in stream.feed(encode(fields), server.pbx.now):
            apply(e)

    def done(iface: str) -> None:  # what the app's callback does, on the core directly
        wrap = core.wrap_up_of(iface)
        if wrap is not None:
            submitted.append(iface)
            apply(ev.DispositionSubmitted(server.pbx.now, iface, wrap["call_id"], "resolved"))

    server = build(agents=12, seed=5, clock=VirtualClock(), on_wrap_up_done=done)
    server.pbx.sinks.append(on_wire)
    server.pbx.advance(4 * 3600)
    server.traffic.stop()
    server.pbx.run_until_idle()
    handled = [r for r in records if r["outcome"] == "answered"]
    assert len(handled) > 200 and len(submitted) >= 0.9 * len(handled)
    wraps = [r["wrap_up_s"] for r in handled]
    limits = {n: wrap for n, _zh, _en, _sl, wrap in DEMO_QUEUES}
    at_limit = sum(r["wrap_up_s"] >= limits[r["queue"]] - 0.5 for r in handled)
    assert at_limit / len(handled) < 0.1
    assert statistics.median(wraps) == pytest.approx(15 * math.exp(-0.18), rel=0.2)  # log-normal median
    assert {r["disposition"] for r in handled} >= {"resolved"}


def test_the_app_submits_a_demo_agents_disposition():
    """The lifespan's callback closes the agent's wrap-up with a disposition."""
    from types import SimpleNamespace

    from callcenter.acd.core import CoreConfig, QueueConfig
    from callcenter.acd.script import Script
    from callcenter.acd.service import AcdService
    from callcenter.app import _demo_disposition

    acd = AcdService(None, CoreConfig(queues={"q": QueueConfig("q", wrap_up_s=60)}), tick_s=None, clock=lambda: 1_700_000_050.0)
    s, a = Script(), "PJSIP/8002"
    s.member(1_700_000_000.0, "q", a)
    c = s.join(1_700_000_000.0, "q", "13800000000")
    s.ring(1_700_000_001.0, c, a)
    s.answer(1_700_000_003.0, c, a, ring_started=1_700_000_001.0)
    s.hang_up(1_700_000_040.0, c, by="caller")
    for e in s.events:
        acd.submit(e)
    assert acd.core.wrap_up_of(a) is not None
    records = []
    acd.subscribe(lambda out, core: records.extend(out.records))
    _demo_disposition(SimpleNamespace(state=SimpleNamespace(acd=acd)), a)
    assert acd.core.wrap_up_of(a) is None
    assert records[0]["wrap_up_s"] == 10 and records[0]["disposition"] in {"resolved", "ticket", "callback", "other"}
    _demo_disposition(SimpleNamespace(state=SimpleNamespace(acd=acd)), a)  # nothing in wrap-up: nothing happens
