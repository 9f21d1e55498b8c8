"""The websocket (/ws), the agent desktop's and the supervisor's actions,
and the realtime settings (pause reasons, wallboard thresholds)."""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket, status
from sqlalchemy import select

from callcenter.acd.models import Queue
from callcenter.auth import service as auth_service
from callcenter.auth.api import Admin, AnyUser, Lead, SessionDep, client_ip, require, token_from, websocket_principal
from callcenter.auth.models import Role, User
from callcenter.auth.service import Principal
from callcenter.errors import CodedError
from callcenter.realtime import service
from callcenter.realtime.hub import CLOSE_UNAUTHORISED
from callcenter.realtime.schemas import (
    DialIn,
    ForcePauseIn,
    PauseIn,
    PauseReasonsIn,
    PopRefreshIn,
    QueueLoginIn,
    QueueLogoutIn,
    SpyIn,
    ThresholdsIn,
    TransferIn,
)
from callcenter.realtime.service import DeskError
from callcenter.validation import Id

router = APIRouter(tags=["realtime"])

# Who sits at a desk: agents, and leads/admins who also take calls.
Desk = Annotated[Principal, Depends(require(Role.agent, Role.team_lead, Role.admin))]


def _http(exc: DeskError) -> HTTPException:
    return CodedError(exc.status, exc.code, str(exc), **exc.params)


# --- websocket -------------------------------------------------------------------


def origin_allowed(origin: str | None, host: str | None, public_url: str) -> bool:
    """A browser's websocket must come from our own pages: its Origin is
    the configured public URL's, or (without one) the host it connected
    to.  Clients that send no Origin are not browsers (the token is still
    needed); cross-site websocket hijacking needs a browser."""
    if origin is None:
        return True
    o = urlsplit(origin)
    if public_url:
        p = urlsplit(public_url)
        return (o.scheme, _netloc(o)) == (p.scheme, _netloc(p))
    return bool(host) and _netloc(o) == _netloc(urlsplit(f"{o.scheme}://{host}"))


def _netloc(u: Any) -> str:
    default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(u.scheme)
    port = u.port if u.port is not None else default
    return f"{(u.hostname or '').lower()}:{port}"


@router.websocket("/ws")
async def websocket(ws: WebSocket) -> None:
    settings = ws.app.state.settings
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host"), settings.public_url):
        # Refused before the handshake completes: the browser gets a 403.
        await ws.close(1008, "origin not allowed")
        return
    principal = await websocket_principal(ws)
    if principal is None:
        # Accept-then-close so the browser sees a reason, not a bare 403.
        await ws.accept()
        await ws.close(CLOSE_UNAUTHORISED, "not signed in")
        return
    await ws.accept()
    # The socket lives no longer than its token: at expiry it is closed
    # with 4401 and the page sends the user to sign in again.
    token = token_from(ws.headers, ws.cookies, ws.query_params) or ""
    expires = auth_service.decode_token(token, ws.app.state.settings.jwt_secret)["exp"]
    await ws.app.state.hub.serve(ws, principal, expires_at=float(expires))


# --- settings --------------------------------------------------------------------


@router.get("/api/realtime/pause-reasons")
async def get_pause_reasons(_: AnyUser, session: SessionDep) -> dict[str, Any]:
    return {"reasons": await service.get_setting(session, service.PAUSE_REASONS)}


@router.put("/api/realtime/pause-reasons")
async def put_pause_reasons(body: PauseReasonsIn, admin: Admin, session: SessionDep, request: Request) -> dict[str, Any]:
    value = [r.model_dump() for r in body.reasons]
    await service.put_setting(session, service.PAUSE_REASONS, value, admin.username)
    auth_service.audit(session, admin, "realtime.pause_reasons", "", client_ip(request), codes=[r["code"] for r in value])
    await session.commit()
    _changed(request, "pause_reasons")
    return {"reasons": value}


@router.get("/api/realtime/sites")
async def get_sites(_: Lead, request: Request) -> dict[str, Any]:
    """The centre's sites (PBXs) the wallboard can show: this node's first.
    `centre` says whether the `centre` topic (every site's board) is served."""
    settings = request.app.state.settings
    hub = getattr(request.app.state, "hub", None)
    return {"sites": settings.sites, "local": settings.pbx, "centre": getattr(hub, "centre", None) is not None}


@router.get("/api/realtime/wallboard-thresholds")
async def get_thresholds(_: Lead, session: SessionDep) -> dict[str, Any]:
    return await service.get_setting(session, service.THRESHOLDS)


@router.put("/api/realtime/wallboard-thresholds")
async def put_thresholds(body: ThresholdsIn, admin: Admin, session: SessionDep, request: Request) -> dict[str, Any]:
    value = body.model_dump(mode="json")
    await service.put_setting(session, service.THRESHOLDS, value, admin.username)
    auth_service.audit(session, admin, "realtime.thresholds", "", client_ip(request))
    await session.commit()
    _changed(request, "wallboard_thresholds")
    return value


def _changed(request: Request, key: str) -> None:
    hub = getattr(request.app.state, "hub", None)
    if hub is not None:
        hub.settings_changed(key)


# --- the agent desktop -------------------------------------------------------------


@router.get("/api/desktop/context")
async def desktop_context(me: Desk, session: SessionDep, request: Request) -> dict[str, Any]:
    """Everything the desktop needs once at start: my skills with each
    queue's wrap-up limit and disposition codes, and the pause reasons.
    Live state then comes over the websocket."""
    user = await session.get(User, me.id)
    assert user is not None
    names = [s.queue for s in user.skills]
    queues = {q.name: q for q in (await session.execute(select(Queue).where(Queue.name.in_(names)))).scalars()}
    skills = []
    for s in user.skills:
        q = queues.get(s.queue)
        skills.append(
            {
                "queue": s.queue,
                "penalty": s.penalty,
                "display_name": q.display_name if q else s.queue,
                "display_name_en": (q.display_name_en if q else "") or s.queue,
                "wrap_up_s": q.wrap_up_s if q else None,
                "dispositions": q.dispositions if q else [],
            }
        )
    return {
        "user": {"id": user.id, "username": user.username, "display_name": user.display_name,
                 "role": user.role.value, "interface": user.interface},
        "skills": skills,
        "pause_reasons": await service.get_setting(session, service.PAUSE_REASONS),
        "gateway": getattr(request.app.state, "gateway", None) is not None,
    }


@router.post("/api/desktop/queues/login")
async def queue_login(body: QueueLoginIn, me: Desk, session: SessionDep, request: Request) -> dict[str, Any]:
    """QueueAdd into my own skills only, each with its penalty."""
    try:
        iface = service.my_interface(me)
        user = await session.get(User, me.id)
        assert user is not None
        skills = {s.queue: s.penalty for s in user.skills}
        wanted = body.queues or list(skills)
        foreign = [q for q in wanted if q not in skills]
        if foreign:
            raise DeskError(403, f"queues: you have no skill for {', '.join(foreign)}", "no_skill", queues=", ".join(foreign))
        gw = service.gateway(request.app.state)
        done = []
        for q in wanted:
            await service.act(f"log in to {q}", gw.queue_add(q, iface, member_name=me.display_name, penalty=skills[q]))
            done.append({"queue": q, "penalty": skills[q]})
    except DeskError as exc:
        raise _http(exc) from None
    return {"ok": True, "queues": done}


@router.post("/api/desktop/queues/logout")
async def queue_logout(body: QueueLogoutIn, me: Desk, session: SessionDep, request: Request) -> dict[str, Any]:
    try:
        iface = service.my_interface(me)
        gw = service.gateway(request.app.state)
        if body.queues is None:
            queues = await _member_queues(request, session, me.id, iface)
        else:
            queues = body.queues
        for q in queues:
            await service.act(f"log out of {q}", gw.queue_remove(q, iface))
    except DeskError as exc:
        raise _http(exc) from None
    return {"ok": True, "queues": queues}


async def _member_queues(request: Request, session: SessionDep, user_id: int, iface: str) -> list[str]:
    """The queues an interface is in: the core knows; else the user's skills."""
    acd = getattr(request.app.state, "acd", None)
    if getattr(acd, "core", None) is not None:
        return [q["queue"] for q in acd.core.agent_view(iface).get("queues", [])]
    user = await session.get(User, user_id)
    return [s.queue for s in user.skills] if user else []


@router.post("/api/desktop/pause")
async def pause(body: PauseIn, me: Desk, session: SessionDep, request: Request) -> dict[str, Any]:
    try:
        iface = service.my_interface(me)
        await service.pause_reason(session, body.reason)
        gw = service.gateway(request.app.state)
        await service.act("pause", gw.queue_pause(iface, True, reason=body.reason))
    except DeskError as exc:
        raise _http(exc) from None
    return {"ok": True, "reason": body.reason}


@router.post("/api/desktop/ready")
async def ready(me: Desk, request: Request) -> dict[str, Any]:
    """Unpause.  In wrap-up the disposition comes first (POST
    /api/acd/disposition ends wrap-up); this refuses until it is given."""
    try:
        iface = service.my_interface(me)
        acd = getattr(request.app.state, "acd", None)
        if getattr(acd, "core", None) is not None:
            view = acd.core.agent_view(iface)
            wrap = view.get("wrap_up")
            if view.get("state") == "wrap_up" and wrap and wrap.get("dispositions_required"):
                raise DeskError(409, "submit a disposition code and a note to finish wrap-up first", "disposition_first")
        gw = service.gateway(request.app.state)
        # A queued callback that is theirs to take: held for it with the
        # callback pause, never unpaused (app_queue would ring them for a live
        # caller as the callback's dial rings them too: acd/qcallbacks.py).
        qcb = getattr(getattr(acd, "core", None), "qcallbacks", None)
        act = qcb.ready_action(iface, acd.core.now) if qcb is not None else None
        if act is not None and act.paused:
            await service.act("ready", gw.queue_pause(iface, True, reason=act.reason))
            return {"ok": True, "held_for": "callback"}
        await service.act("ready", gw.queue_pause(iface, False))
    except DeskError as exc:
        raise _http(exc) from None
    return {"ok": True}


@router.post("/api/desktop/dial")
async def dial(body: DialIn, me: Desk, request: Request) -> dict[str, Any]:
    """Click-to-call: ring my phone, then dial the number."""
    try:
        iface = service.my_interface(me)
        gw = service.gateway(request.app.state)
        if body.callback_task is None:
            await service.act("call", gw.click_to_call(iface, body.number, service.DIAL_CONTEXT))
        else:
            await service.act("call", gw.click_to_call(iface, body.number, service.DIAL_CONTEXT, callback_task=body.callback_task))
    except DeskError as exc:
        raise _http(exc) from None
    return {"ok": True, "number": body.number}


async def _on_my_call(me: Principal, request: Request, what: str, method: str, *args: Any) -> dict[str, Any]:
    try:
        iface = service.my_interface(me)
        channel = service.current_channel(request.app.state, iface)
        gw = service.gateway(request.app.state)
        fn = getattr(gw, method, None)
        if fn is None:
            raise DeskError(501, f"{what} is not supported by this actions gateway", "not_supported")
        await service.act(what, fn(channel, *args))
    except DeskError as exc:
        raise _http(exc) from None
    return {"ok": True, "channel": channel}


@router.post("/api/desktop/pop/refresh")
async def refresh_pop(body: PopRefreshIn, me: Desk, request: Request) -> dict[str, Any]:
    """Look my current screen-pop up again, after creating the caller as a customer."""
    try:
        iface = service.my_interface(me)
    except DeskError as exc:
        raise _http(exc) from None
    hub = getattr(request.app.state, "hub", None)
    if hub is None or not hub.refresh_pop(iface, body.call_id):
        raise CodedError(409, "not_your_pop", f"call_id: {body.call_id!r} is not your current screen-pop")
    return {"ok": True}


@router.post("/api/desktop/hold")
async def hold(me: Desk, request: Request) -> dict[str, Any]:
    return await _on_my_call(me, request, "hold", "hold")


@router.post("/api/desktop/unhold")
async def unhold(me: Desk, request: Request) -> dict[str, Any]:
    return await _on_my_call(me, request, "unhold", "unhold")


@router.post("/api/desktop/hangup")
async def hangup(me: Desk, request: Request) -> dict[str, Any]:
    return await _on_my_call(me, request, "hang up", "hangup")


@router.post("/api/desktop/transfer")
async def transfer(body: TransferIn, me: Desk, request: Request) -> dict[str, Any]:
    """Blind (the caller goes at once) or attended (I talk to the target
    first, then hang up to complete) to a queue, an agent or a number."""
    try:
        exten, context = service.transfer_target(body.to, body.target)
    except DeskError as exc:
        raise _http(exc) from None
    method = "blind_transfer" if body.kind == "blind" else "atxfer"
    result = await _on_my_call(me, request, f"{body.kind} transfer to {body.target}", method, exten, context)
    return {**result, "kind": body.kind, "exten": exten, "context": context}


# --- supervisor ----------------------------------------------------------------------


async def _supervise(
    lead: Principal, user_id: int, what: str, session: SessionDep, request: Request, run: Any, **details: Any
) -> dict[str, Any]:
    """Run a supervisor action on an agent; audit it and publish the result
    on the supervisor topic, whether it worked or not."""
    target = await session.get(User, user_id)
    if target is None or not target.interface:
        raise CodedError(status.HTTP_404_NOT_FOUND, "no_agent", f"user_id: no agent {user_id} with a phone interface")
    if not lead.sees.has_user(target.id):
        raise CodedError(status.HTTP_403_FORBIDDEN, "not_your_team", f"user_id: {target.username} is not in a team you lead")
    result: dict[str, Any] = {"action": what, "by": lead.username, "target": target.username,
                              "interface": target.interface, "at": time.time(), **details}
    try:
        gw = service.gateway(request.app.state)
        await run(gw, target)
        result["ok"] = True
    except DeskError as exc:
        result.update(ok=False, error=str(exc), status=exc.status, code=exc.code, params=exc.params)
    auth_service.audit(session, lead, f"supervisor.{what}", target.username, client_ip(request),
                       interface=target.interface, ok=result["ok"], error=result.get("error"), **details)
    await session.commit()
    request.app.state.hub.action_result(result)
    if not result["ok"]:
        raise CodedError(result["status"], result["code"], result["error"], **result.get("params", {}))
    return result


@router.post("/api/supervisor/agents/{user_id}/spy")
async def spy(user_id: Id, body: SpyIn, lead: Lead, session: SessionDep, request: Request) -> dict[str, Any]:
    """Listen, whisper or barge: my own phone rings and runs ChanSpy on the agent."""

    async def run(gw: Any, target: User) -> None:
        mine = service.my_interface(lead)
        await service.act(f"{body.mode} on {target.username}", gw.spy(mine, target.interface, body.mode))

    return await _supervise(lead, user_id, "spy", session, request, run, mode=body.mode)


@router.post("/api/supervisor/agents/{user_id}/pause")
async def force_pause(user_id: Id, body: ForcePauseIn, lead: Lead, session: SessionDep, request: Request) -> dict[str, Any]:
    try:
        await service.pause_reason(session, body.reason)
    except DeskError as exc:
        raise _http(exc) from None

    async def run(gw: Any, target: User) -> None:
        await service.act(f"pause {target.username}", gw.queue_pause(target.interface, True, reason=body.reason))

    return await _supervise(lead, user_id, "pause", session, request, run, reason=body.reason)


@router.post("/api/supervisor/agents/{user_id}/unpause")
async def force_unpause(user_id: Id, lead: Lead, session: SessionDep, request: Request) -> dict[str, Any]:
    async def run(gw: Any, target: User) -> None:
        await service.act(f"unpause {target.username}", gw.queue_pause(target.interface, False))

    return await _supervise(lead, user_id, "unpause", session, request, run)


@router.post("/api/supervisor/agents/{user_id}/logout")
async def force_logout(user_id: Id, lead: Lead, session: SessionDep, request: Request) -> dict[str, Any]:
    async def run(gw: Any, target: User) -> None:
        for q in await _member_queues(request, session, target.id, target.interface):
            await service.act(f"log {target.username} out of {q}", gw.queue_remove(q, target.interface))

    return await _supervise(lead, user_id, "logout", session, request, run)
