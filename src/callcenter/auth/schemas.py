"""Wire shapes for users and log-in."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from callcenter.auth.models import Role
from callcenter.validation import omittable

# tech/resource; a Local channel may end with its options ("/n"), e.g.
# Local/8006@agents/n (the FreePBX way of making queue members).
INTERFACE_RE = re.compile(r"^(?:(?:PJSIP|SIP|IAX2|DAHDI)/[A-Za-z0-9_.@;+-]{1,100}|Local/[A-Za-z0-9_.+*#-]{1,80}@[A-Za-z0-9_.-]{1,80}(?:/[a-zA-Z]{1,8})?)$")
QUEUE_RE = re.compile(r"^[\w.-]{1,64}$")


def check_interface(v: str | None) -> str | None:
    if v is None or v == "":
        return None
    if not INTERFACE_RE.match(v):
        raise ValueError("must look like PJSIP/8001 (technology/resource) or Local/8001@agents/n")
    return v


class SkillIn(BaseModel):
    queue: str = Field(min_length=1, max_length=64)
    penalty: int = Field(0, ge=0, le=100)

    @field_validator("queue")
    @classmethod
    def _queue(cls, v: str) -> str:
        if not QUEUE_RE.match(v):
            raise ValueError("queue names use letters, digits, '_', '-' and '.'")
        return v


class SkillOut(SkillIn):
    model_config = ConfigDict(from_attributes=True)


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserOut


class UserBase(BaseModel):
    display_name: str = Field(min_length=1, max_length=128)
    role: Role
    interface: str | None = None
    language: str = Field("zh-CN", pattern=r"^(zh-CN|en)$")
    skills: list[SkillIn] = Field(default_factory=list, max_length=100)

    @field_validator("interface")
    @classmethod
    def _iface(cls, v: str | None) -> str | None:
        return check_interface(v)


class UserCreate(UserBase):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=256)


class UserUpdate(BaseModel):
    """Only the fields sent change.  null is refused where the column
    cannot be empty (only `interface` may be cleared)."""

    display_name: str = omittable(min_length=1, max_length=128)
    role: Role = omittable()
    interface: str | None = None
    language: str = omittable(pattern=r"^(zh-CN|en)$")
    skills: list[SkillIn] = omittable(max_length=100)
    active: bool = omittable()

    @field_validator("interface")
    @classmethod
    def _iface(cls, v: str | None) -> str | None:
        return check_interface(v)


class PasswordIn(BaseModel):
    password: str = Field(min_length=8, max_length=256, description="the new password")
    current_password: str | None = Field(
        None, max_length=256, description="your current password: required when you change your own"
    )


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    interface: str | None
    language: str
    active: bool
    skills: list[SkillOut]


class MeOut(UserOut):
    """The signed-in user, and the centre's time zone every page shows times in."""

    timezone: str


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    ip: str


TokenOut.model_rebuild()
