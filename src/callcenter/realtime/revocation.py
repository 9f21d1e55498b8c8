"""Ending websockets when their session ends (auth.sessions' listeners).

In this process a sign-out, password change or deactivation closes the
user's sockets at once (4401: the page goes to the sign-in screen); a
revocation made on another node is found by a periodic check against the
users table.  A lead whose teams changed is reconnected (4000) so their
boards are cut to the new scope from a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from callcenter.auth.models import Role
from callcenter.realtime.hub import CLOSE_RESCOPE, CLOSE_UNAUTHORISED, Hub

log = logging.getLogger("callcenter.realtime")


def on_session_event(hub: Hub, user_id: int, jti: str | None, reason: str) -> None:
    """A session ended (close its sockets now), or a lead's scope changed
    (user 0: every lead)."""
    if reason == "scope":
        hub._rescoped[user_id] = time.monotonic()
        doomed = [c for c in hub.clients if c.principal.role == Role.team_lead and user_id in (0, c.principal.id)]
        code, why = CLOSE_RESCOPE, "your teams changed; reconnect"
    else:
        doomed = [c for c in hub.clients if c.principal.id == user_id and (jti is None or c.principal.jti == jti)]
        code, why = CLOSE_UNAUTHORISED, reason
    for client in doomed:
        hub._detach(client)
        asyncio.get_running_loop().create_task(hub._close(client, code, why))


@contextlib.asynccontextmanager
async def rechecking(hub: Hub, sessions: Any, every_s: float) -> AsyncIterator[None]:
    """Every `every_s`, ask the database whether each open socket's session
    is still valid; database errors (an outage) keep the sockets open."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(every_s)
            principals = [c.principal for c in hub.clients]
            try:
                over = await sessions.ended(principals)
            except Exception as exc:  # noqa: BLE001
                log.debug("websocket recheck skipped: %s", exc)
                continue
            for client in [c for c in hub.clients if c.principal.jti in over]:
                hub._detach(client)
                await hub._close(client, CLOSE_UNAUTHORISED, "signed out")

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
