"""Log-in, users, audit; and the dependencies every other router uses to
check who is calling (`require(...)`) and to get a database session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, WebSocket, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.auth import service
from callcenter.auth.models import AuditEntry, Role, User
from callcenter.auth.schemas import AuditOut, LoginIn, MeOut, PasswordIn, TokenOut, UserCreate, UserOut, UserUpdate
from callcenter.auth.service import TOKEN_COOKIE, Principal, TokenError
from callcenter.config import Settings

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


async def current_principal(request: Request, session: SessionDep) -> Principal:
    token = token_from(request.headers, request.cookies, {})
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in", headers={"WWW-Authenticate": "Bearer"})
    try:
        principal = await service.principal_from_token(session, token, request.app.state.settings.jwt_secret)
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
    async with ws.app.state.db.sessions() as session:
        try:
            return await service.principal_from_token(session, token, ws.app.state.settings.jwt_secret)
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
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
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
async def logout(response: Response) -> Response:
    response = Response(status_code=204)
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=MeOut)
async def me(principal: AnyUser, session: SessionDep, settings: SettingsDep) -> MeOut:
    user = await session.get(User, principal.id)
    assert user is not None  # current_principal checked it
    return MeOut.model_validate({**UserOut.model_validate(user).model_dump(), "timezone": settings.timezone})


@router.get("/users", response_model=list[UserOut])
async def list_users(_: Lead, session: SessionDep, role: Role | None = None) -> list[User]:
    return await service.list_users(session, role)


@router.post("/users", response_model=UserOut, status_code=201)
async def create_user(body: UserCreate, admin: Admin, session: SessionDep, request: Request) -> User:
    try:
        user = await service.create_user(session, body)
    except service.UserConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    service.audit(session, admin, "user.create", body.username, client_ip(request), role=body.role.value)
    await session.commit()
    return user


async def _user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {user_id}")
    return user


@router.get("/users/{user_id}", response_model=UserOut)
async def get_user(user_id: int, _: Lead, session: SessionDep) -> User:
    return await _user(session, user_id)


@router.patch("/users/{user_id}", response_model=UserOut)
async def update_user(user_id: int, body: UserUpdate, admin: Admin, session: SessionDep, request: Request) -> User:
    user = await _user(session, user_id)
    try:
        await service.update_user(session, user, body)
    except service.UserConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    service.audit(
        session, admin, "user.update", user.username, client_ip(request), fields=sorted(body.model_fields_set)
    )
    await session.commit()
    await session.refresh(user)
    return user


@router.put("/users/{user_id}/password", status_code=204)
async def set_password(
    user_id: int, body: PasswordIn, principal: AnyUser, session: SessionDep, request: Request
) -> Response:
    if principal.role != Role.admin and principal.id != user_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an admin may change another user's password")
    user = await _user(session, user_id)
    user.password_hash = service.hash_password(body.password)
    service.audit(session, principal, "user.password", user.username, client_ip(request))
    await session.commit()
    return Response(status_code=204)


@router.get("/audit", response_model=list[AuditOut])
async def audit_log(
    _: Admin,
    session: SessionDep,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: int | None = None,
) -> list[AuditEntry]:
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        q = q.where(AuditEntry.action == action)
    if before_id:
        q = q.where(AuditEntry.id < before_id)
    return list((await session.execute(q)).scalars())
