"""Outbound's background work in the app: after each (re)connection to
Asterisk, recover the dials in flight (outbound.dialer.recover); every few
minutes, turn today's missed callers into callback tasks (outbound.callbacks.sync):
once per centre, so in a cluster only on the node holding the jobs lock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

from callcenter.outbound import callbacks, dialer
from callcenter.outbound.sms import make_sender

log = logging.getLogger("callcenter.outbound")
POLL_S = 1.0


async def _loop(app: Any) -> None:
    settings = app.state.settings
    db = app.state.db
    recovered_session = -1
    loop = asyncio.get_running_loop()
    last_sync = loop.time()  # the first round after one interval, not at start-up
    every = settings.callback_sync_s
    while True:
        bridge = getattr(app.state, "bridge", None)
        try:
            if bridge is not None and bridge.readiness()["ok"] and bridge.sessions != recovered_session:
                async with db.sessions() as s:
                    await dialer.recover(s, app.state.gateway, datetime.now(UTC))
                recovered_session = bridge.sessions
            runs_here = getattr(app.state, "runs_jobs", None)
            # Once per centre: in a cluster, on the node that holds the jobs lock (the dial recovery
            # above needs the AMI link, so it runs on the PBX's leader, the only node with a bridge).
            if every > 0 and loop.time() - last_sync >= every and (runs_here is None or runs_here()):
                last_sync = loop.time()
                sender = getattr(app.state, "sms_sender", None)
                if sender is None:
                    sender = app.state.sms_sender = make_sender(settings.sms_provider, settings.sms_url, settings.sms_token)
                now = datetime.now(UTC)
                async with db.sessions() as s:
                    await callbacks.sync(s, now.astimezone(settings.tz).date(), settings.tz, settings.default_area_code,
                                         settings.callback_min_wait_s, now, sender)  # fmt: skip
                    await s.commit()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a database or link outage: try again next round
            log.warning("outbound background round failed", exc_info=True)
        await asyncio.sleep(POLL_S)


async def start(app: Any, stack: AsyncExitStack) -> None:
    task = asyncio.create_task(_loop(app), name="outbound")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)
