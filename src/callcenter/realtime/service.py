"""Desktop and supervisor actions, and the realtime settings.

Actions go out through the one actions gateway (`app.state.gateway`,
callcenter.ami.gateway); what the agent may act on is read from the ACD
core's live views (`app.state.acd.core`), never from the database.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.auth.schemas import INTERFACE_RE
from callcenter.realtime.models import RealtimeSetting
from callcenter.realtime.schemas import default_pause_reasons, default_thresholds

# Dialplan contexts the actions dial into (asterisk/extensions.conf, checked
# by tests/test_asterisk_config.py): numbers and agents' extensions are
# dialled as a desk phone would ([agents]), a queue by its name in [cc-queue]
# (recorded, then Queue()).
DIAL_CONTEXT = "agents"
QUEUE_CONTEXT = "cc-queue"

PAUSE_REASONS = "pause_reasons"
THRESHOLDS = "wallboard_thresholds"
DEFAULTS = {PAUSE_REASONS: default_pause_reasons, THRESHOLDS: default_thresholds}

# The gateway's errors, by name (callcenter.ami.gateway lands separately):
# not connected -> 503, Asterisk said no -> 502, no answer in time -> 504.
GATEWAY_STATUS = {"NotConnected": 503, "ActionError": 502, "ActionTimeout": 504, "TimeoutError": 504}


class DeskError(Exception):
    """An action that cannot be done; `status` is the HTTP status to answer,
    `code` what the desktop translates (web/static/common/errors.js)."""

    def __init__(self, status: int, message: str, error_code: str = "", **params: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = error_code or f"http_{status}"
        self.params = params


# --- settings ------------------------------------------------------------------


async def get_setting(session: AsyncSession, key: str) -> Any:
    row = await session.get(RealtimeSetting, key)
    return row.value if row is not None else DEFAULTS[key]()


async def put_setting(session: AsyncSession, key: str, value: Any, by: str) -> Any:
    row = await session.get(RealtimeSetting, key)
    if row is None:
        session.add(RealtimeSetting(key=key, value=value, updated_by=by))
    else:
        row.value = value
        row.updated_by = by
    return value


async def pause_reason(session: AsyncSession, code: str) -> dict[str, Any]:
    reasons = await get_setting(session, PAUSE_REASONS)
    for r in reasons:
        if r["code"] == code:
            return r
    allowed = ", ".join(r["code"] for r in reasons)
    raise DeskError(422, f"reason: {code!r} is not a configured pause reason ({allowed})", "unknown_pause_reason", reason=code)


# --- the live state ------------------------------------------------------------


def gateway(state: Any) -> Any:
    gw = getattr(state, "gateway", None)
    if gw is None:
        raise DeskError(503, "the actions gateway is not running (no connection to Asterisk)", "pbx_down")
    return gw


def core(state: Any) -> Any:
    acd = getattr(state, "acd", None)
    c = getattr(acd, "core", None)
    if c is None:
        raise DeskError(503, "the ACD service is not running", "acd_down")
    return c


def my_interface(principal: Any) -> str:
    if not principal.interface:
        raise DeskError(409, "your user has no phone interface (e.g. PJSIP/8001); ask an admin to set one", "no_interface")
    return principal.interface


def agent_view(state: Any, interface: str) -> dict[str, Any]:
    return core(state).agent_view(interface)


def current_channel(state: Any, interface: str) -> str:
    """The agent leg of the agent's current call."""
    view = agent_view(state, interface)
    call = view.get("call")
    if not call:
        raise DeskError(409, f"{interface} is not on a call", "not_on_call")
    channel = call.get("channel")
    if not channel:
        raise DeskError(409, "the call's channel is not known yet; try again in a moment", "channel_unknown")
    return channel


def transfer_target(to: str, target: str) -> tuple[str, str]:
    """(exten, context) of a transfer to a queue, an agent or a number."""
    if to == "queue":
        return target, QUEUE_CONTEXT
    if to == "agent":
        if not INTERFACE_RE.match(target):
            raise DeskError(422, "target: an agent is given by interface, e.g. PJSIP/8002", "bad_agent_target")
        resource = target.split("/", 1)[1]
        if target.startswith("Local/"):  # Local/8001@agents/n: its extension in its own context
            exten, _, rest = resource.partition("@")
            return exten, rest.split("/", 1)[0]
        return resource, DIAL_CONTEXT
    if not target.lstrip("+").replace("*", "").replace("#", "").isdigit():
        raise DeskError(422, "target: a number has digits, *, # and a leading + only", "bad_number_target")
    return target, DIAL_CONTEXT


async def act(what: str, call: Any) -> Any:
    """Await a gateway call; its failures become DeskErrors with the message."""
    try:
        return await call
    except DeskError:
        raise
    except Exception as exc:  # noqa: BLE001 - mapped by name below, else re-raised
        for cls in type(exc).__mro__:
            status = GATEWAY_STATUS.get(cls.__name__)
            if status is not None or cls is asyncio.TimeoutError:
                status = status or 504
                code = {503: "pbx_down", 502: "pbx_refused"}.get(status, "pbx_timeout")
                raise DeskError(status, f"{what} failed: {exc or type(exc).__name__}", code, reason=str(exc)[:200]) from None
        raise
