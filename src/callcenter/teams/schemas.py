"""Wire shapes of teams and memberships."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from callcenter.validation import INT32_MAX, omittable

def _ids(v: list[int] | None) -> list[int] | None:
    if v is None:
        return v
    for i in v:
        if not 1 <= i <= INT32_MAX:
            raise ValueError(f"{i} is not a user id")
    return list(dict.fromkeys(v))


class TeamIn(BaseModel):
    name: str = Field(min_length=1, max_length=64, description="e.g. 一组 or 报修班")
    description: str = Field("", max_length=255)
    lead_ids: list[int] = Field(default_factory=list, max_length=20, description="users with role team_lead")

    @field_validator("lead_ids")
    @classmethod
    def _leads(cls, v: list[int]) -> list[int]:
        return _ids(v) or []

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("must not be blank")
        return v


class TeamPatch(BaseModel):
    name: str = omittable(min_length=1, max_length=64)
    description: str = omittable(max_length=255)
    lead_ids: list[int] = omittable(max_length=20)

    @field_validator("lead_ids")
    @classmethod
    def _leads(cls, v: list[int]) -> list[int]:
        return _ids(v) or []

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("must not be blank")
        return v


class UserRef(BaseModel):
    id: int
    username: str
    display_name: str


class MemberOut(BaseModel):
    user_id: int
    username: str
    display_name: str
    interface: str | None
    since: datetime


class TeamOut(BaseModel):
    id: int
    name: str
    description: str
    active: bool
    created_at: datetime
    leads: list[UserRef]
    members: list[MemberOut]


class MembershipOut(BaseModel):
    """One stretch of an agent in a team; `to_at` null = still there."""

    id: int
    team_id: int
    team_name: str
    user_id: int
    username: str
    from_at: datetime
    to_at: datetime | None
