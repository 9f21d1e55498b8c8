"""Assembling a simulated Asterisk for the demo, the CLI and tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
import weakref
from pathlib import Path
from typing import Any, BinaryIO

from callcenter.ami.queue_log import QueueLogRow
from callcenter.config import Settings
from callcenter.simulator.clock import RealClock, VirtualClock
from callcenter.simulator.pbx import PBX
from callcenter.simulator.queue_log import QueueLogFile, QueueLogTable
from callcenter.simulator.recording import WavWriter
from callcenter.simulator.server import AmiServer
from callcenter.simulator.traffic import HOTLINE_PROFILE, Script, Traffic, TrafficModel

log = logging.getLogger("callcenter.simulator")

VERSIONS = {"18": "7.0.3", "20": "9.0.0"}


def build(
    *,
    agents: int = 20,
    seed: int = 7,
    script: list[dict[str, Any]] | None = None,
    recordings_dir: Path | None = None,
    clock: RealClock | VirtualClock | None = None,
    version: str = "18",
    record: BinaryIO | None = None,
    occupancy: float = 0.7,
    profile: str = "flat",
    skip: tuple[str, ...] = (),
    username: str = "callcenter",
    secret: str = "callcenter",
    systemname: str = "",
    on_wrap_up_done: Callable[[str], None] | None = None,
    queue_log: Path | None = None,
    queue_log_sinks: tuple[Callable[[QueueLogRow], None], ...] = (),
    caller: Callable[[str], dict[str, Any]] | None = None,
    on_call: Callable[[Any, dict[str, Any]], None] | None = None,
) -> AmiServer:
    """A server whose PBX runs either `script` (exact) or the traffic model
    with the demo's agents (names and skills from callcenter.demo), minus
    the interfaces in `skip`.  Nothing runs until the server starts (real
    clock) or the test advances time (virtual clock)."""
    from callcenter.demo import demo_agents

    ami_version = VERSIONS.get(version, version)
    clock = clock or RealClock()
    pbx = PBX(clock=clock, seed=seed, recordings_dir=recordings_dir, version=ami_version, systemname=systemname)
    pbx.queue_log.extend(queue_log_sinks)  # before the agents log in: their ADDMEMBER lines too
    if recordings_dir is not None:
        writer = WavWriter(seed)
        # Live, synthesis runs in a worker thread so the event loop never stalls.
        pbx.wav_writer = (lambda rec, secs: asyncio.get_running_loop().run_in_executor(None, writer, rec, secs)) if clock.realtime else writer
    server = AmiServer(username=username, secret=secret, version=ami_version, pbx=pbx, record=record)
    if queue_log is not None:  # Asterisk's /var/log/asterisk/queue_log
        log_file = QueueLogFile(queue_log)
        pbx.queue_log.append(log_file)

        async def close_file() -> None:
            log_file.close()

        server.cleanups.append(close_file)
    if script is not None:
        Script(pbx, script).start()
        return server
    people = [a for a in demo_agents(agents) if a[2] not in skip]
    model = TrafficModel.for_occupancy(
        max(1, len(people)),
        occupancy,
        profile=list(HOTLINE_PROFILE) if profile == "hotline" else [1.0] * 24,
        warm_start=round(occupancy * len(people)),
    )
    traffic = Traffic(pbx, model, seed, on_wrap_up_done, caller=caller, on_call=on_call)
    for _username, name, iface, skills in people:
        traffic.login(iface, name, skills)
    traffic.start()
    server.traffic = traffic  # type: ignore[attr-defined]
    return server


def load_script(path: Path) -> list[dict[str, Any]]:
    """A script file: a JSON list of steps (see callcenter.simulator.traffic)."""
    steps = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise ValueError(f"{path}: a script is a JSON list of objects")
    return steps


async def start_demo(
    settings: Settings, on_wrap_up_done: Callable[[str], None] | None = None, dialplan: Any = None
) -> tuple[AmiServer, Settings]:
    """The in-process simulator of `make demo`: the demo agents logged in
    (except agent01, PJSIP/8001, left for a person to log in from the
    desktop), live traffic, recordings into settings.recordings_dir.
    `on_wrap_up_done(interface)` is called when a simulated agent's
    modelled wrap-up is over (the app submits their disposition).
    `dialplan` (callcenter.demo.DemoDialplan) picks the callers and runs
    the dialplan's hooks for them.  With
    settings.simulator_script it runs that script instead (end-to-end
    tests, demos of one situation); settings.simulator_record captures the
    wire for `callcenter replay`.
    Returns the running server and settings pointing the bridge at it."""
    script = load_script(settings.simulator_script) if settings.simulator_script else None
    # Asterisk's realtime queue_log (asterisk/extconfig.conf): the same rows in our database.
    table = QueueLogTable(settings.database_url) if settings.simulator_queue_log_table else None
    # Unbuffered: the capture can be replayed while the simulator still runs.
    record = settings.simulator_record.open("wb", buffering=0) if settings.simulator_record else None
    server = build(
        agents=settings.simulator_agents,
        seed=settings.simulator_seed,
        script=script,
        recordings_dir=settings.recordings_dir,
        skip=("PJSIP/8001",),
        username=settings.ami_user,
        secret=settings.ami_secret,
        on_wrap_up_done=on_wrap_up_done,
        record=record,
        queue_log=settings.simulator_queue_log,
        queue_log_sinks=(table,) if table is not None else (),
        caller=dialplan.caller if dialplan is not None else None,
        on_call=dialplan.on_call if dialplan is not None else None,
    )
    if dialplan is not None:
        dialplan.pbx = server.pbx
    if record is not None:
        weakref.finalize(server, record.close)
    if table is not None:
        writer = asyncio.create_task(table.run())

        async def stop_table() -> None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            await table.close()

        server.cleanups.append(stop_table)
    try:
        port = await server.start("127.0.0.1", settings.simulator_port)
    except OSError as exc:
        await server.stop()  # the queue_log writer and the recording file with it
        raise RuntimeError(
            f"the simulator cannot listen on 127.0.0.1:{settings.simulator_port} ({exc.strerror}); "
            "set CALLCENTER_SIMULATOR_PORT to a free port, or 0 for any"
        ) from None
    log.info("simulated Asterisk listening", extra={"port": port, "agents": settings.simulator_agents})
    return server, settings.model_copy(update={"ami_host": "127.0.0.1", "ami_port": port, "ami_enabled": True})
