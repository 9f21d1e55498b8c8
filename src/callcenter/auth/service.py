"""Passwords, tokens, log-in throttling, user administration and audit."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.auth.models import AuditEntry, Role, Skill, User
from callcenter.auth.schemas import SkillIn, UserCreate, UserUpdate

_hasher = PasswordHasher()
# A hash of a random password: verifying against it when the user does not
# exist keeps the response time the same, so usernames cannot be probed.
_DUMMY_HASH = _hasher.hash("no-such-user-placeholder")

TOKEN_COOKIE = "cc_token"
JWT_ALG = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- tokens ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: decoded from the token, checked against the users
    table on every request so a deactivated user is cut off at once."""

    id: int
    username: str
    role: Role
    display_name: str
    interface: str | None
    queues: tuple[str, ...] = ()


def issue_token(user: User, secret: str, ttl_s: int, now: float | None = None) -> str:
    now = time.time() if now is None else now
    claims = {
        "sub": str(user.id),
        "name": user.username,
        "role": user.role.value,
        "iat": int(now),
        "exp": int(now) + ttl_s,
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALG)


class TokenError(Exception):
    pass


def decode_token(token: str, secret: str) -> dict[str, Any]:
    try:
        return jwt.decode(token, secret, algorithms=[JWT_ALG], options={"require": ["sub", "exp", "role"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired; sign in again") from None
    except jwt.PyJWTError:
        raise TokenError("invalid token") from None


async def principal_from_token(session: AsyncSession, token: str, secret: str) -> Principal:
    claims = decode_token(token, secret)
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError):
        raise TokenError("invalid token") from None
    user = await session.get(User, user_id)
    if user is None or not user.active:
        raise TokenError("user is not active")
    return principal_of(user)


def principal_of(user: User) -> Principal:
    return Principal(
        id=user.id,
        username=user.username,
        role=user.role,
        display_name=user.display_name,
        interface=user.interface,
        queues=tuple(s.queue for s in user.skills),
    )


# --- log-in throttling ------------------------------------------------------


class LoginThrottle:
    """Counts failed log-ins per (username, address) and locks the pair out
    for a while after too many.  In memory: callcenter runs as one process
    (the ACD core is in memory too), and a restart clearing it is harmless."""

    def __init__(self, max_failures: int, lockout_s: int, clock=time.monotonic) -> None:
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.clock = clock
        self._failures: dict[tuple[str, str], list[float]] = {}

    def retry_after(self, username: str, addr: str) -> int:
        """Seconds until this pair may try again; 0 if it may now."""
        key = (username.lower(), addr)
        now = self.clock()
        recent = [t for t in self._failures.get(key, []) if now - t < self.lockout_s]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        if len(recent) >= self.max_failures:
            return max(1, int(self.lockout_s - (now - recent[-1])) + 1)
        return 0

    def failed(self, username: str, addr: str) -> None:
        key = (username.lower(), addr)
        self._failures.setdefault(key, []).append(self.clock())
        if len(self._failures) > 100_000:  # bound memory under a spray attack
            self._failures.pop(next(iter(self._failures)))

    def succeeded(self, username: str, addr: str) -> None:
        self._failures.pop((username.lower(), addr), None)


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    return user


# --- users -------------------------------------------------------------------


class UserConflict(Exception):
    pass


def _skills(items: list[SkillIn]) -> list[Skill]:
    seen: dict[str, Skill] = {}
    for s in items:
        seen[s.queue] = Skill(queue=s.queue, penalty=s.penalty)
    return list(seen.values())


async def create_user(session: AsyncSession, data: UserCreate) -> User:
    user = User(
        username=data.username,
        display_name=data.display_name,
        role=data.role,
        password_hash=hash_password(data.password),
        interface=data.interface,
        language=data.language,
        skills=_skills(data.skills),
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise UserConflict("username or interface already in use") from None
    return user


async def update_user(session: AsyncSession, user: User, data: UserUpdate) -> User:
    fields = data.model_dump(exclude_unset=True)
    skills = fields.pop("skills", None)
    for k, v in fields.items():
        setattr(user, k, v)
    if skills is not None:
        user.skills.clear()
        await session.flush()
        user.skills.extend(_skills(data.skills or []))
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise UserConflict("interface already in use") from None
    return user


async def list_users(session: AsyncSession, role: Role | None = None) -> list[User]:
    q = select(User).order_by(User.username)
    if role is not None:
        q = q.where(User.role == role)
    return list((await session.execute(q)).scalars())


async def user_by_interface(session: AsyncSession, interface: str) -> User | None:
    return (await session.execute(select(User).where(User.interface == interface))).scalar_one_or_none()


def audit(
    session: AsyncSession,
    actor: Principal | None,
    action: str,
    target: str = "",
    ip: str = "",
    **details: Any,
) -> AuditEntry:
    """Add an audit row to the caller's transaction (it commits with it)."""
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        actor=actor.username if actor else "system",
        action=action,
        target=target,
        details=details,
        ip=ip,
    )
    session.add(entry)
    return entry
