"""Live and replay give the same result on the same capture.

The simulator runs on a sped-up real clock over TCP; the real Bridge feeds
the real AcdService exactly as the app wires them (Bridge(settings,
on_event=acd.submit), the gateway carrying the core's wrap-up pauses back),
and the simulator records the wire stream.  `callcenter replay FILE --json`
on that recording must report the same calls, queue KPIs and agent totals
as the live core, and the database must hold the same calls.

No allowed difference: the agents log in after the bridge is connected, so
everything the live core knows is in the capture (what the bridge learns
from its connect-time QueueStatus only lives in action replies, which a
replay skips; here it is empty).  Agents submit dispositions the way the
desktop does (AcdService.submit_disposition): they travel through Asterisk
as a CcDisposition UserEvent, so the capture holds them and the replay ends
each wrap-up exactly where the live core did.  A link drop
mid-run would differ too (the live core resyncs from QueueStatus replies
and infers what it missed; the capture has no replies), so the ping/dead
timers are relaxed: a loaded CI box must not cut the link."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from callcenter.acd import events as ev
from callcenter.acd.replay import report, settle_s
from callcenter.acd.service import AcdService, core_config_from
from callcenter.ami.bridge import Bridge
from callcenter.demo import demo_agents
from callcenter.simulator.clock import RealClock
from callcenter.simulator.pbx import PBX
from callcenter.simulator.server import AmiServer
from callcenter.simulator.traffic import Traffic, TrafficModel
from tests.ami.conftest import SECRET, USER, ami_settings, until

from .test_service import stored_calls


async def test_live_and_replay_of_the_same_capture_agree(db, tmp_path):
    capture = tmp_path / "day.ami"
    speed = 150.0
    with open(capture, "wb") as rec:
        pbx = PBX(clock=RealClock(speed=speed), seed=3)
        server = AmiServer(username=USER, secret=SECRET, pbx=pbx, record=rec)
        server.faults.login_delay_s = 0.0
        port = await server.start()
        settings = ami_settings(port, ami_ping_interval_s=1.0, ami_dead_after_s=10.0)  # no reconnect on a loaded box
        acd = AcdService(db, core_config_from(settings), gateway=None)
        records: list[dict] = []
        acd.subscribe(lambda out, core: records.extend(out.records))
        loop = asyncio.get_running_loop()
        sent: set[str] = set()
        answers: list[asyncio.Task] = []

        def desktop(out, core) -> None:  # every other agent dispositions 4 simulated seconds into wrap-up
            for iface in out.agents:
                wrap = core.wrap_up_of(iface)
                if wrap is None or wrap["call_id"] in sent or sum(map(ord, wrap["call_id"])) % 2:
                    continue
                sent.add(wrap["call_id"])
                loop.call_later(4 / speed, lambda i=iface, c=wrap["call_id"]: answers.append(asyncio.ensure_future(acd.submit_disposition(i, c, "resolved", "修好了\n第二行"))))

        acd.subscribe(desktop)
        await acd.start()
        bridge = Bridge(settings, on_event=acd.submit)
        acd.gateway = bridge.gateway
        await bridge.start()
        try:
            await until(lambda: bridge.readiness()["ok"], 5.0, "bridge ready")
            people = demo_agents(16)
            model = TrafficModel.for_occupancy(len(people), 0.8, warm_start=8)
            traffic = Traffic(pbx, model, seed=3)
            for _username, name, iface, skills in people:
                traffic.login(iface, name, skills)
            traffic.start()
            start = pbx.now
            await until(lambda: pbx.now - start > 600, 15.0, "10 simulated minutes")
            traffic.stop()
            await until(lambda: not pbx.calls, 15.0, "calls in progress to end")
            await asyncio.sleep(150 / speed)  # the longest wrap-up limit passes, pauses go back and forth
        finally:
            await asyncio.gather(*answers, return_exceptions=True)
            await bridge.stop()
            await server.stop()
        last = acd.core.now
        acd.submit(ev.Tick(last + settle_s(acd.core.config)))  # as replay settles; the listener keeps its records
        await acd.flush_all()
        await acd.stop()
    live = json.loads(json.dumps(report(acd.core, records), ensure_ascii=False))
    run = subprocess.run([sys.executable, "-m", "callcenter", "replay", str(capture), "--json"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    replayed = json.loads(run.stdout)
    assert len(live["calls"]) > 30 and {c["outcome"] for c in live["calls"]} >= {"answered"}
    (tmp_path / "live.json").write_text(json.dumps(live, ensure_ascii=False, indent=1))
    assert [c["call_id"] for c in replayed["calls"]] == [c["call_id"] for c in live["calls"]], str(tmp_path)
    disposed = [c for c in live["calls"] if c.get("disposition") == "resolved"]
    assert len(disposed) >= 5, "the desktop's dispositions reached the core through Asterisk"
    assert replayed["calls"] == live["calls"]
    assert replayed["queues"] == live["queues"]
    assert replayed["agents"] == live["agents"]
    stored = {c["call_id"]: c for c in await stored_calls(db)}
    assert stored == {c["call_id"]: c for c in live["calls"]}
