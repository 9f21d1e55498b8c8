"""The dialplan's HTTP hooks (/hooks/*) and the routing configuration API.

Hooks are called by Asterisk's CURL(), not by people: they authenticate
with the hook secret (header X-Hook-Secret or ?secret=) and an optional IP
allowlist, never with user tokens.  They answer in the format the dialplan
asks for: key=value&... (URL-encoded, for HASH() with CURLOPT hashcompat)
by default, or JSON (format=json or Accept: application/json) for
JSON_DECODE.  A bad parameter is a 400 naming it; nothing else is an error.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import time
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status
from fastapi.responses import PlainTextResponse

from callcenter.acd.events import CallbackRequested
from callcenter.auth.api import Admin, Lead, SessionDep, SettingsDep, client_ip
from callcenter.auth import service as auth_service
from callcenter.crm import service as crm
from callcenter.crm.models import CallbackReason
from callcenter.hooks import service, writes
from callcenter.hooks.schemas import Calendar, DecisionOut, HoursOut, RoutingOut, RuleOut, RulesIn
from callcenter.privacy import mask_fields, masks

log = logging.getLogger("callcenter.hooks")
router = APIRouter(prefix="/hooks", tags=["hooks"])
admin_router = APIRouter(prefix="/api/routing", tags=["hooks"])

_UNIQUEID = r"[0-9A-Za-z._-]{1,64}"
_NUMBER = r"\+?[0-9*#() -]{0,40}"  # CALLERID(num) as presented; may be empty
_DNIS = r"\+?[0-9*#]{0,32}"
_CHOICE = r"[0-9*#]{0,8}"
_QUEUE = r"[A-Za-z0-9_-]{0,64}"


def _allowed(addr: str, allowlist: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in allowlist)


async def hook_auth(request: Request) -> None:
    """The dialplan's credentials: the shared secret, and the caller's IP
    when an allowlist is set."""
    settings = request.app.state.settings
    if settings.hook_allowlist and not _allowed(client_ip(request), settings.hook_allowlist):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"address {client_ip(request)} may not call hooks")
    given = request.headers.get("x-hook-secret") or request.query_params.get("secret") or ""
    if not hmac.compare_digest(given.encode(), settings.hook_secret.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong hook secret (X-Hook-Secret or ?secret=)")


HookAuth = Annotated[None, Depends(hook_auth)]


async def _params(request: Request) -> dict[str, str]:
    """Query string, plus the form body of a POST (CURL's post-data)."""
    params = dict(request.query_params)
    if request.method == "POST" and request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


# What Asterisk puts in CALLERID(num) when there is no number to show.
WITHHELD = frozenset({"anonymous", "withheld", "unknown", "<unknown>", "restricted", "private", "unavailable", "blocked", "asterisk"})
_URI = re.compile(r"^(?:sips?|tel):([^@;>]*)", re.IGNORECASE)


def caller_id(raw: str) -> str:
    """The number in a caller ID as Asterisk presents it, or "" when the
    caller is withheld or it is not a number.  `sip:8613800138000@host`
    and `<sip:...>` give their user part; `+86 138...` and `0086...` stay
    for normalise_number; anonymous, Unknown, Restricted and the like give "".
    Never an error: a real call must get a route."""
    s = raw.strip().strip("<>\"").strip()
    if len(s) > 256 or s.lower() in WITHHELD:
        return ""
    m = _URI.match(s)
    if m:
        s = unquote(m[1]).strip()
    s = s.strip()
    return s if re.fullmatch(_NUMBER, s) and any(c.isdigit() for c in s) else ""


def _param(params: dict[str, str], name: str, pattern: str, required: bool = False) -> str:
    value = params.get(name, "").strip()
    if required and not value:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{name}: required")
    if not re.fullmatch(pattern, value):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{name}: {value[:40]!r} does not match {pattern}")
    return value


def _wants_json(request: Request, params: dict[str, str]) -> bool:
    fmt = params.get("format", "").lower()
    if fmt not in ("", "json", "hash", "text"):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"format: {fmt[:20]!r} is not json or hash")
    if fmt:
        return fmt == "json"
    return "application/json" in request.headers.get("accept", "")


def reply(data: dict[str, str], as_json: bool) -> Response:
    """key=value&... with every value percent-encoded (UTF-8), which
    func_curl's hashcompat decodes back into HASH() fields; or JSON."""
    if as_json:
        return Response(json.dumps(data, ensure_ascii=False), media_type="application/json")
    body = "&".join(f"{k}={quote(v, safe='')}" for k, v in data.items())
    return PlainTextResponse(body)


@router.get("/route")
async def route(request: Request, _: HookAuth) -> Response:
    """The routing decision for a call: queue, priority, caller name,
    language, open ticket, recording file, or the after-hours branch."""
    params = await _params(request)
    as_json = _wants_json(request, params)
    uniqueid = _param(params, "uniqueid", _UNIQUEID, required=True)
    caller = caller_id(params.get("caller", ""))
    dnis = caller_id(params.get("dnis", ""))
    if not re.fullmatch(_DNIS, dnis):
        dnis = re.sub(r"[^0-9*#+]", "", dnis)[:32]
    choice = _param(params, "choice", _CHOICE)
    routes: service.RouteService = request.app.state.routes
    try:
        decision = await routes.decide(caller, dnis, uniqueid, choice)
    except Exception:  # a bug must not stop calls: the dialplan still gets a queue
        log.exception("route decision for %s failed; answering the fallback queue", uniqueid)
        fallback = request.app.state.settings.hook_fallback_queue
        return reply({"queue": fallback, "action": "queue", "priority": "0", "reason": "fallback:error", "fallback": "1"}, as_json)
    service.hand_to_acd(request.app.state, service.route_decided(decision, time.time()))
    return reply(decision.reply(), as_json)


@router.get("/survey", operation_id="hook_survey")
@router.post("/survey", operation_id="hook_survey_post")
async def survey(request: Request, _: HookAuth, settings: SettingsDep) -> Response:
    """A post-call IVR satisfaction score (1..survey_scale) for the call.
    With the database away the score is spooled (status=queued) and stored
    once it is back: the caller's key press is never lost."""
    params = await _params(request)
    as_json = _wants_json(request, params)
    uniqueid = _param(params, "uniqueid", _UNIQUEID, required=True)
    raw = _param(params, "score", r"[0-9]{1,2}", required=True)
    score = int(raw)
    if not 1 <= score <= settings.survey_scale:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"score: {score} is outside 1..{settings.survey_scale}")
    queue = _param(params, "queue", _QUEUE)
    agent = _param(params, "agent", r"[A-Za-z0-9/@._-]{0,128}")
    number = crm.normalise_number(caller_id(params.get("caller", "")), settings.default_area_code)
    item = {"uniqueid": uniqueid, "score": score, "scale": settings.survey_scale, "queue": queue, "agent": agent,
            "number": number, "at": datetime.now(UTC)}  # fmt: skip
    stored = await _write(request, writes.SURVEY, item)
    return reply({"status": "ok" if stored is not None else "queued", "score": str(score)}, as_json)


@router.get("/callback", operation_id="hook_callback")
@router.post("/callback", operation_id="hook_callback_post")
async def callback(request: Request, _: HookAuth, settings: SettingsDep) -> Response:
    """The caller chose to be called back instead of waiting (or left a
    request out of hours): a callback task for agents, one per number per
    day, and the call is not counted as abandoned.  With the database away
    the request is spooled (status=queued, no task number yet) and the task
    made once it is back, for the day the caller asked."""
    params = await _params(request)
    as_json = _wants_json(request, params)
    uniqueid = _param(params, "uniqueid", _UNIQUEID, required=True)
    caller = caller_id(params.get("caller", ""))
    # The caller may key in another number to be called on.
    number = caller_id(params.get("number", "")) or caller
    queue = _param(params, "queue", _QUEUE)
    reason_s = _param(params, "reason", r"[a-z_]{0,16}") or "requested"
    if reason_s not in (CallbackReason.requested, CallbackReason.after_hours):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"reason: {reason_s!r} is not requested or after_hours")
    normalised = crm.normalise_number(number, settings.default_area_code)
    if not normalised:
        # Withheld and nothing keyed in: no number to call back.  An
        # answer, not an error: the dialplan asks for one (no task given).
        return reply({"status": "no_number", "task": "", "due": ""}, as_json)
    now = datetime.now(UTC)
    item = {"number": number, "reason": reason_s, "uniqueid": uniqueid, "queue": queue, "tz": settings.timezone,
            "area": settings.default_area_code, "now": now}  # fmt: skip
    stored = await _write(request, writes.CALLBACK, item)
    service.hand_to_acd(request.app.state, CallbackRequested(ts=time.time(), uniqueid=uniqueid, queue=queue, number=normalised))
    if stored is None:
        _, due_at = crm.end_of_local_day(now, settings.tz)
        return reply({"status": "queued", "task": "", "due": due_at.astimezone(settings.tz).strftime("%H:%M")}, as_json)
    task, created = stored
    return reply(
        {"status": "created" if created else "exists", "task": str(task.id), "due": task.due_at.astimezone(settings.tz).strftime("%H:%M")},
        as_json,
    )


async def _write(request: Request, kind: str, item: dict[str, Any]) -> Any:
    """The writer's result, or None if the database was away and the item spooled."""
    state = request.app.state
    return await state.spool.write(state.db, kind, item, state.settings.hook_write_budget_ms / 1000)


# --- routing configuration --------------------------------------------------------------


@admin_router.get("", response_model=RoutingOut)
async def get_routing(_: Lead, request: Request) -> RoutingOut:
    table: service.RoutingTable = request.app.state.routes.table
    await table.load()
    rules = sorted(table.rules.values(), key=lambda r: (r.dnis, r.choice))
    return RoutingOut(
        rules=[RuleOut.model_validate(r) for r in rules],
        hours=[HoursOut(queue=q, calendar=c) for q, c in sorted(table.hours.items())],
    )


@admin_router.put("/rules", response_model=list[RuleOut])
async def put_rules(body: RulesIn, admin: Admin, session: SessionDep, request: Request) -> list[RuleOut]:
    await service.replace_rules(session, body.rules)
    auth_service.audit(session, admin, "routing.rules", "", client_ip(request), count=len(body.rules))
    await session.commit()
    await request.app.state.routes.table.load()
    return [RuleOut.model_validate(r.model_dump()) for r in body.rules]


@admin_router.put("/hours/{queue}", response_model=HoursOut)
async def put_hours(queue: Annotated[str, Path(max_length=64)], body: Calendar, admin: Admin, session: SessionDep, request: Request) -> HoursOut:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", queue):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"queue: {queue!r} is not a queue name")
    await service.put_hours(session, queue, body)
    auth_service.audit(session, admin, "routing.hours", queue, client_ip(request))
    await session.commit()
    await request.app.state.routes.table.load()
    return HoursOut(queue=queue, calendar=body)


@admin_router.get("/decisions/{uniqueid}", response_model=DecisionOut)
async def get_decision(
    uniqueid: Annotated[str, Path(pattern=f"^{_UNIQUEID}$")], who: Lead, session: SessionDep, request: Request
) -> dict[str, Any]:
    """Why a call was routed the way it was (it names the caller and the
    customer: leads of the queue it went to, and admins)."""
    await request.app.state.routes.log.flush()
    found = await service.decision_for(session, uniqueid)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no route decision for {uniqueid}")
    if not who.sees.has_queue(found["queue"]):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the call went to queue {found['queue']!r}, not one of your teams'")
    if masks(who.role, request.app.state.settings.phone_masked_roles):
        found = mask_fields(found, "caller")
    return found

