"""Signed-in sessions: from a token to a Principal, and taking it back.

Every request's token is checked against the users table (active, token
version, not signed out) and the user's scope is loaded with it.  When the
database cannot be reached, a user verified within the last
`auth_cache_s` seconds stays signed in from the copy kept here, so reads of
live state (wallboard, queues) and websockets go on through an outage;
what needs the database still fails with the database's own exception
(answered 503 by the app's handler).

Revocation:
* sign-out revokes the token's jti (a row in revoked_tokens, refused
  until the token would have expired anyway);
* a password change or deactivation bumps users.token_version, which
  every token carries: all the user's tokens stop working at once;
* either way the cached copy is dropped at once in this process, and the
  listeners (the websocket hub) close that user's sockets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.auth.models import RevokedToken, User
from callcenter.auth.scope import load_scope
from callcenter.auth.service import Principal, TokenError, decode_token, principal_of
from callcenter.db import Database

log = logging.getLogger("callcenter.auth")

# (user_id, jti or None for every session of the user, reason)
Listener = Callable[[int, str | None, str], None]


def is_outage(exc: BaseException) -> bool:
    """The database could not be reached (as opposed to a bad query)."""
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout, OSError, asyncio.TimeoutError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class Sessions:
    def __init__(self, db: Database, secret: str, cache_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.secret = secret
        self.cache_s = cache_s
        self.clock = clock
        # user id -> (verified at, principal without jti, token version)
        self._verified: dict[int, tuple[float, Principal, int]] = {}
        # jti -> expiry (epoch s): sign-outs this process knows, even with the database down
        self._revoked: dict[str, float] = {}
        self.listeners: list[Listener] = []
        self.outage_hits = 0  # requests answered from the cache during an outage

    # --- checking ----------------------------------------------------------------

    async def principal(self, token: str) -> Principal:
        """The signed-in user for a token, or TokenError (401)."""
        claims = decode_token(token, self.secret)
        try:
            user_id = int(claims["sub"])
        except (TypeError, ValueError):
            raise TokenError("invalid token") from None
        if not 0 < user_id < 2**31:
            raise TokenError("invalid token")
        jti: str = claims["jti"]
        if jti in self._revoked:
            raise TokenError("signed out; sign in again")
        try:
            base, version, revoked = await self._load(user_id, jti)
        except Exception as exc:
            cached = self._verified.get(user_id)
            if not is_outage(exc) or cached is None or self.clock() - cached[0] > self.cache_s:
                raise
            self.outage_hits += 1
            log.debug("database unreachable; %s signed in from the verified copy", cached[1].username)
            _, base, version = cached
            revoked = False
        if base is None:
            self._verified.pop(user_id, None)
            raise TokenError("user is not active")
        if revoked:
            self._revoked[jti] = float(claims["exp"])
            raise TokenError("signed out; sign in again")
        if claims.get("tv", 0) != version:
            raise TokenError("this sign-in was revoked (password changed or account changed); sign in again")
        return replace(base, jti=jti, tv=version)

    async def _load(self, user_id: int, jti: str) -> tuple[Principal | None, int, bool]:
        async with self.db.sessions() as session:
            user = await session.get(User, user_id)
            if user is None or not user.active:
                return None, 0, False
            revoked = await session.get(RevokedToken, jti) is not None
            base = principal_of(user, await load_scope(session, user))
            version = user.token_version
        self._verified[user_id] = (self.clock(), base, version)
        return base, version, revoked

    # --- changes -------------------------------------------------------------------

    def invalidate(self, user_id: int | None = None) -> None:
        """Forget the verified copy of a user (all users if None): their
        role, skills or teams changed, so the next request reloads them."""
        if user_id is None:
            self._verified.clear()
        else:
            self._verified.pop(user_id, None)

    def _notify(self, user_id: int, jti: str | None, reason: str) -> None:
        for listener in list(self.listeners):
            try:
                listener(user_id, jti, reason)
            except Exception:  # noqa: BLE001 - one listener must not stop the revocation
                log.exception("session listener failed")

    async def sign_out(self, session: AsyncSession, principal: Principal, expires_at: float) -> None:
        """Revoke this one token: at once in this process (its websockets
        close), then in the database for the other nodes (the caller
        commits; during an outage that part fails and the caller decides)."""
        self._revoked[principal.jti] = expires_at
        now = time.time()
        if len(self._revoked) > 10_000:
            self._revoked = {j: e for j, e in self._revoked.items() if e > now}
        self._notify(principal.id, principal.jti, "signed out")
        await session.execute(delete(RevokedToken).where(RevokedToken.expires_at < datetime.now(UTC)))
        session.add(
            RevokedToken(jti=principal.jti, user_id=principal.id, expires_at=datetime.fromtimestamp(expires_at, UTC))
        )

    async def revoke_user(self, session: AsyncSession, user: User, reason: str) -> None:
        """Every token of the user stops working (the caller commits)."""
        await session.execute(update(User).where(User.id == user.id).values(token_version=User.token_version + 1))
        await session.refresh(user, ["token_version"])
        self.invalidate(user.id)
        self._notify(user.id, None, reason)

    def scope_changed(self, user_ids: set[int] | None) -> None:
        """Roles, skills or teams changed: reload these users (None: all)
        and have their websockets reconnect with the new scope."""
        if user_ids is None:
            self.invalidate()
            self._notify(0, None, "scope")
            return
        for uid in user_ids:
            self.invalidate(uid)
            self._notify(uid, None, "scope")

    # --- websockets on other nodes ------------------------------------------------

    async def ended(self, principals: list[Principal]) -> set[str]:
        """Of these sessions (by jti), the ones the database says are over:
        deactivated, token version bumped or signed out, perhaps by another
        node.  Database errors are the caller's to ignore."""
        if not principals:
            return set()
        ids = {p.id for p in principals}
        jtis = {p.jti for p in principals if p.jti}
        async with self.db.sessions() as session:
            rows = (await session.execute(select(User.id, User.active, User.token_version).where(User.id.in_(ids)))).all()
            revoked = set((await session.execute(select(RevokedToken.jti).where(RevokedToken.jti.in_(jtis)))).scalars())
        users = {uid: (active, tv) for uid, active, tv in rows}
        over = set()
        for p in principals:
            active, tv = users.get(p.id, (False, -1))
            if not active or p.jti in revoked or p.tv != tv:
                over.add(p.jti)
        return over
