"""Outbound's background work in the app: after each (re)connection to
Asterisk, recover the dials in flight (outbound.dialer.recover); every
second, run the dialer of each running predictive campaign
(outbound.predictive.LiveDialer, fed by the ACD core; it needs the AMI
link, so in a cluster it runs on the PBX's leader); every few minutes,
turn today's missed callers into callback tasks (outbound.callbacks.sync):
once per centre, so in a cluster only on the node holding the jobs lock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

from callcenter.cluster.jobs import fenced
from callcenter.cluster.leader import Fenced
from callcenter.outbound import callbacks, dialer
from callcenter.outbound.predictive import LiveDialer
from callcenter.outbound.rules import FrequencyCap
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
    dialers: dict[int, tuple[LiveDialer, Any]] = {}  # campaign id -> (its dialer, unsubscribe)
    while True:
        bridge = getattr(app.state, "bridge", None)
        try:
            if bridge is not None and bridge.readiness()["ok"] and bridge.sessions != recovered_session:
                async with db.sessions() as s:
                    await dialer.recover(s, app.state.gateway, datetime.now(UTC))
                recovered_session = bridge.sessions
            if bridge is not None and bridge.readiness()["ok"] and getattr(app.state, "acd", None) is not None:
                await _predictive(app, dialers)
            runs_here = getattr(app.state, "runs_jobs", None)
            # Once per centre: in a cluster, on the node that holds the jobs lock (the dial recovery
            # above needs the AMI link, so it runs on the PBX's leader, the only node with a bridge).
            if every > 0 and loop.time() - last_sync >= every and (runs_here is None or runs_here()):
                last_sync = loop.time()
                sender = getattr(app.state, "sms_sender", None)
                if sender is None:
                    sender = app.state.sms_sender = make_sender(settings.sms_provider, settings.sms_url, settings.sms_token)
                fence_of = getattr(app.state, "jobs_fence", None)
                await fenced(db, fence_of("outbound.callbacks") if fence_of else None, _sync_callbacks, settings, sender)
        except asyncio.CancelledError:
            raise
        except Fenced as exc:  # the jobs lock moved to another node: it runs them now
            log.info("callback tasks handed over: %s", exc)
        except Exception:  # noqa: BLE001 - a database or link outage: try again next round
            log.warning("outbound background round failed", exc_info=True)
        await asyncio.sleep(POLL_S)


async def _sync_callbacks(db: Any, settings: Any, sender: Any) -> None:
    """Today's missed callers as callback tasks (in this process: a short job).
    In a cluster fenced by the jobs token (cluster.jobs.fenced)."""
    now = datetime.now(UTC)
    async with db.sessions() as s:
        await callbacks.sync(s, now.astimezone(settings.tz).date(), settings.tz, settings.default_area_code,
                             settings.callback_min_wait_s, now, sender)  # fmt: skip
        await s.commit()


async def _predictive(app: Any, dialers: dict[int, tuple[LiveDialer, Any]]) -> None:
    """One step of every running predictive campaign; a campaign paused or
    closed places nothing more, and its dialer goes once its calls ended."""
    from sqlalchemy import select

    from callcenter.outbound.models import Campaign, CampaignStatus, DialMode

    settings = app.state.settings
    async with app.state.db.sessions() as s:
        running = set((await s.scalars(select(Campaign.id).where(Campaign.status == CampaignStatus.running, Campaign.mode == DialMode.predictive))).all())
    for cid in running - dialers.keys():
        d = LiveDialer(app.state.db.sessions, app.state.gateway, app.state.acd, cid, connect_s=settings.outbound_connect_s,
                       ring_s=settings.outbound_ring_s, hotline=settings.outbound_hotline,
                       freq_cap=FrequencyCap(settings.outbound_max_dials_day, settings.outbound_max_dials_week))  # fmt: skip
        async with app.state.db.sessions() as s:
            c = await s.get(Campaign, cid)
            d.cap = c.abandon_cap if c is not None else d.cap
        dialers[cid] = (d, d.start())
    for cid, (d, unsubscribe) in list(dialers.items()):
        await d.tick(place=cid in running)
        if cid not in running and not d.in_flight:
            unsubscribe()
            del dialers[cid]


async def start(app: Any, stack: AsyncExitStack) -> None:
    task = asyncio.create_task(_loop(app), name="outbound")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)
