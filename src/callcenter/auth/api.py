"""Log-in, users, audit; and the dependencies every other router uses to
check who is calling (`require(...)`) and to get a database session."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, WebSocket, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.auth import service
from callcenter.auth.models import AuditEntry, Role, User
from callcenter.auth.schemas import AuditOut, LoginIn, MeOut, PasswordIn, TokenOut, UserCreate, UserOut, UserUpdate
from callcenter.auth.service import TOKEN_COOKIE, Principal, TokenError
from callcenter.auth.sessions import is_outage
from callcenter.config import Settings
from callcenter.validation import INT32_MAX, Id

log = logging.getLogger("callcenter.auth")

# --- dependencies -------------------------------------------------------------


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.db.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def token_from(headers: Any, cookies: Any, query: Any) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return cookies.get(TOKEN_COOKIE) or query.get("token") or None


async def current_principal(request: Request) -> Principal:
    """The signed-in caller (auth.sessions: checked against the users table,
    or its recent copy while the database is down)."""
    token = token_from(request.headers, request.cookies, {})
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in", headers={"WWW-Authenticate": "Bearer"})
    try:
        principal = await request.app.state.sessions.principal(token)
    except TokenError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    request.state.principal = principal
    return principal


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency: the caller must hold one of `roles` (any role if none given)."""
    allowed = frozenset(roles)

    async def dep(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if allowed and principal.role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {principal.role.value} may not do this; needs {', '.join(sorted(r.value for r in allowed))}",
            )
        return principal

    dep.allowed_roles = allowed  # type: ignore[attr-defined]  # read by the RBAC matrix test
    return dep


async def websocket_principal(ws: WebSocket) -> Principal | None:
    """Authenticate a websocket by the same token (cookie, bearer or ?token=)."""
    token = token_from(ws.headers, ws.cookies, ws.query_params)
    if not token:
        return None
    try:
        return await ws.app.state.sessions.principal(token)
    except TokenError:
        return None


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


AnyUser = Annotated[Principal, Depends(require())]
Admin = Annotated[Principal, Depends(require(Role.admin))]
Lead = Annotated[Principal, Depends(require(Role.admin, Role.team_lead))]

# --- routes -------------------------------------------------------------------

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/auth/login", response_model=TokenOut)
async def login(body: LoginIn, request: Request, response: Response, session: SessionDep, settings: SettingsDep):
    throttle: service.LoginThrottle = request.app.state.login_throttle
    addr = client_ip(request)
    wait = throttle.retry_after(body.username, addr)
    if wait:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed sign-ins for {body.username}; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    user = await service.authenticate(session, body.username, body.password)
    if user is None:
        throttle.failed(body.username, addr)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password", headers={"WWW-Authenticate": "Bearer"})
    throttle.succeeded(body.username, addr)
    token = service.issue_token(user, settings.jwt_secret, settings.jwt_ttl_s)
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        max_age=settings.jwt_ttl_s,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return TokenOut(access_token=token, expires_in=settings.jwt_ttl_s, user=UserOut.model_validate(user))


@router.post("/auth/logout", status_code=204)
async def logout(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Sign this session out: the token is revoked (not just the cookie
    dropped) and its websockets are closed."""
    token = token_from(request.headers, request.cookies, {})
    if token:
        try:
            claims = service.decode_token(token, settings.jwt_secret)
            principal = await request.app.state.sessions.principal(token)
        except TokenError:
            principal = None
        if principal is not None:
            try:
                await request.app.state.sessions.sign_out(session, principal, float(claims["exp"]))
                service.audit(session, principal, "auth.logout", principal.username, client_ip(request))
                await session.commit()
            except Exception as exc:
                if not is_outage(exc):
                    raise
                # Signed out here already (and its websockets closed); other
                # nodes learn it when the database is back, or at expiry.
                log.warning("sign-out of %s not stored: the database is unreachable", principal.username)
    response = Response(status_code=204)
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=MeOut)
async def me(principal: AnyUser, session: SessionDep, settings: SettingsDep) -> MeOut:
    user = await session.get(User, principal.id)
    assert user is not None  # current_principal checked it
    return MeOut.model_validate({**UserOut.model_validate(user).model_dump(), "timezone": settings.timezone})


@router.get("/users", response_model=list[UserOut])
async def list_users(lead: Lead, session: SessionDep, role: Role | None = None) -> list[User]:
    """Admins get everyone; a team lead the users in their scope."""
    return [u for u in await service.list_users(session, role) if lead.sees.has_user(u.id)]


@router.post("/users", response_model=UserOut, status_code=201)
async def create_user(body: UserCreate, admin: Admin, session: SessionDep, request: Request, settings: SettingsDep) -> User:
    try:
        await service.check_password(body.password, settings.password_min_score, body.username, body.display_name)
    except service.WeakPassword as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"password: {exc}") from None
    try:
        user = await service.create_user(session, body)
    except service.UserConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    service.audit(session, admin, "user.create", body.username, client_ip(request), role=body.role.value)
    await session.commit()
    return user


async def _user(session: AsyncSession, user_id: int) -> User:  # noqa: D103
    user = await session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {user_id}")
    return user


@router.get("/users/{user_id}", response_model=UserOut)
async def get_user(user_id: Id, lead: Lead, session: SessionDep) -> User:
    """A lead may read the users in their scope (their teams' agents)."""
    if not lead.sees.has_user(user_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"user {user_id} is not in your teams")
    return await _user(session, user_id)


@router.patch("/users/{user_id}", response_model=UserOut)
async def update_user(user_id: Id, body: UserUpdate, admin: Admin, session: SessionDep, request: Request) -> User:
    user = await _user(session, user_id)
    before = (user.role, user.active, user.interface)
    try:
        await service.update_user(session, user, body)
    except service.UserConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    service.audit(
        session, admin, "user.update", user.username, client_ip(request), fields=sorted(body.model_fields_set)
    )
    sessions = request.app.state.sessions
    if before != (user.role, user.active, user.interface):
        # Deactivated, or now someone else: every token of theirs ends.
        await sessions.revoke_user(session, user, "account changed")
    await session.commit()
    if "skills" in body.model_fields_set:
        sessions.scope_changed(None)  # leads' scopes include their agents' queues
    await session.refresh(user)
    return user


@router.put("/users/{user_id}/password", status_code=204)
async def set_password(
    user_id: Id, body: PasswordIn, principal: AnyUser, session: SessionDep, request: Request, settings: SettingsDep
) -> Response:
    """A new password.  Your own needs your current one (a borrowed,
    signed-in screen must not be enough); an admin resets others'.
    Every sign-in of the user ends, this one included."""
    if principal.role != Role.admin and principal.id != user_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an admin may change another user's password")
    user = await _user(session, user_id)
    if principal.id == user_id:
        if not body.current_password or not await asyncio.to_thread(
            service.verify_password, user.password_hash, body.current_password
        ):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "current_password: wrong or missing")
    try:
        await service.check_password(body.password, settings.password_min_score, user.username, user.display_name)
    except service.WeakPassword as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"password: {exc}") from None
    user.password_hash = await asyncio.to_thread(service.hash_password, body.password)
    service.audit(session, principal, "user.password", user.username, client_ip(request))
    await request.app.state.sessions.revoke_user(session, user, "password changed")
    await session.commit()
    return Response(status_code=204)


@router.get("/audit", response_model=list[AuditOut])
async def audit_log(
    _: Admin,
    session: SessionDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
    target: Annotated[str | None, Query(max_length=255)] = None,
) -> list[AuditEntry]:
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        q = q.where(AuditEntry.action == action)
    if target:
        q = q.where(AuditEntry.target == target)
    if before_id:
        q = q.where(AuditEntry.id < before_id)
    return list((await session.execute(q)).scalars())
