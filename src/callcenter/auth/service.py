"""Passwords, tokens, log-in throttling, user administration and audit."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from zxcvbn import zxcvbn
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.auth.models import AuditEntry, Role, Skill, User
from callcenter.auth.schemas import SkillIn, UserCreate, UserUpdate
from callcenter.auth.scope import Scope, default_scope

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


class WeakPassword(ValueError):
    """The password fails the policy; the message says why, for the user."""


def password_problem(password: str, min_score: int, *user_inputs: str) -> str | None:
    """Why a new password is refused, or None.  zxcvbn (a maintained
    estimator with its own lists of common passwords, names and words)
    estimates the guesses needed; below `min_score` (0-4) is refused, and
    so is a password built on the user's own name.  Only the first 72
    characters are scored (zxcvbn's limit): a longer password is long."""
    result = zxcvbn(password[:72], user_inputs=[u for u in user_inputs if u])
    if result["score"] >= min_score:
        return None
    fb = result["feedback"]
    why = fb.get("warning") or "it is too easy to guess"
    hint = " ".join(fb.get("suggestions") or [])
    return f"too easy to guess (strength {result['score']} of 4, needs {min_score}): {why}" + (f" {hint}" if hint else "")


async def check_password(password: str, min_score: int, *user_inputs: str) -> None:
    """Raise WeakPassword if the policy refuses it (scored off the loop)."""
    problem = await asyncio.to_thread(password_problem, password, min_score, *user_inputs)
    if problem:
        raise WeakPassword(problem)


# --- tokens ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: decoded from the token, checked against the users
    table (auth.sessions) so a deactivated user is cut off at once.
    `queues` are the user's own skills; `scope` what they may see
    (auth.scope); `jti` the token's id, for signing this session out."""

    id: int
    username: str
    role: Role
    display_name: str
    interface: str | None
    queues: tuple[str, ...] = ()
    scope: Scope | None = None
    jti: str = ""
    tv: int = 0  # the token version the session was verified with

    def __post_init__(self) -> None:
        if self.scope is None:
            object.__setattr__(self, "scope", default_scope(self.role, self.id, self.interface, self.queues))

    @property
    def sees(self) -> Scope:
        assert self.scope is not None
        return self.scope


def issue_token(user: User, secret: str, ttl_s: int, now: float | None = None) -> str:
    now = time.time() if now is None else now
    claims = {
        "sub": str(user.id),
        "name": user.username,
        "role": user.role.value,
        "tv": user.token_version or 0,
        "jti": secrets.token_hex(16),
        "iat": int(now),
        "exp": int(now) + ttl_s,
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALG)


class TokenError(Exception):
    pass


def decode_token(token: str, secret: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(token, secret, algorithms=[JWT_ALG], options={"require": ["sub", "exp", "role", "jti"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired; sign in again") from None
    except jwt.PyJWTError:
        raise TokenError("invalid token") from None
    if not isinstance(claims.get("jti"), str) or not isinstance(claims.get("tv", 0), int):
        raise TokenError("invalid token")
    return claims


def principal_of(user: User, scope: Scope | None = None, jti: str = "") -> Principal:
    return Principal(
        id=user.id,
        username=user.username,
        role=user.role,
        display_name=user.display_name,
        interface=user.interface,
        queues=tuple(s.queue for s in user.skills),
        scope=scope,
        jti=jti,
    )


# --- log-in throttling ------------------------------------------------------


class LoginThrottle:
    """Failed log-ins, counted three ways, each locking out for a while:

    * per (username, address): someone mistyping, or guessing one account;
    * per address across usernames: a spray of one password over many
      accounts from one machine;
    * per username across addresses: a distributed guess at one account.

    In memory: callcenter serves from one process (the ACD core is in
    memory too), and a restart clearing it is harmless.  A success clears
    only its own (username, address) pair, so a sprayer cannot reset the
    address count by signing in to an account of their own.
    """

    def __init__(
        self, max_failures: int, lockout_s: int, clock=time.monotonic, max_per_addr: int = 10, max_per_user: int = 20
    ) -> None:
        self.max_failures = max_failures
        self.max_per_addr = max_per_addr
        self.max_per_user = max_per_user
        self.lockout_s = lockout_s
        self.clock = clock
        self._failures: dict[tuple[str, str], list[float]] = {}

    def _wait(self, key: tuple[str, str], limit: int, now: float) -> int:
        recent = [t for t in self._failures.get(key, []) if now - t < self.lockout_s]
        if recent:
            self._failures[key] = recent[-limit:]
        else:
            self._failures.pop(key, None)
        if len(recent) >= limit:
            return max(1, int(self.lockout_s - (now - recent[-1])) + 1)
        return 0

    def retry_after(self, username: str, addr: str) -> int:
        """Seconds until this username may try again from this address; 0 if now."""
        now = self.clock()
        user = username.lower()
        return max(
            self._wait((user, addr), self.max_failures, now),
            self._wait(("", addr), self.max_per_addr, now),
            self._wait((user, ""), self.max_per_user, now),
        )

    def failed(self, username: str, addr: str) -> None:
        now = self.clock()
        user = username.lower()
        for key in ((user, addr), ("", addr), (user, "")):
            self._failures.setdefault(key, []).append(now)
        while len(self._failures) > 100_000:  # bound memory under a spray attack
            self._failures.pop(next(iter(self._failures)))

    def succeeded(self, username: str, addr: str) -> None:
        self._failures.pop((username.lower(), addr), None)


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    """The user if the password is right.  Argon2 runs in a thread: at
    ~50 ms a verify would stall every hook and websocket on the loop."""
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if user is None:
        await asyncio.to_thread(verify_password, _DUMMY_HASH, password)
        return None
    if not await asyncio.to_thread(verify_password, user.password_hash, password) or not user.active:
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
        password_hash=await asyncio.to_thread(hash_password, data.password),
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
