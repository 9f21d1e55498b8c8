"""QA's long jobs (sampling, score summaries, the hourly purge and
sampling), as callcenter.worker runs them: off the event loop, each with
its own database session."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.auth.scope import Scope
from callcenter.auth.service import Principal, audit
from callcenter.db import Database
from callcenter.qa import sampling, service
from callcenter.qa import summary as summaries


async def sample(
    db: Database, month: str, per_agent: int, min_talk_s: float, tz: str, today: date, seed: int | None, actor: Principal, ip: str
) -> sampling.SampleResult:
    async with db.sessions() as s:
        result = await sampling.sample_month(s, month, per_agent, min_talk_s, ZoneInfo(tz), today, seed=seed)
        audit(s, actor, "qa.sample", month, ip, created=result.created)
        await s.commit()
    return result


async def summary(
    db: Database, group: str, month_from: str | None, month_to: str | None, agent: str | None, queue: str | None, scope: Scope | None
) -> list[dict[str, Any]]:
    async with db.sessions() as s:
        return await summaries.summary(s, group, month_from, month_to, agent, queue, scope)


async def housekeeping(db: Database, settings: Any, now: datetime) -> dict[str, Any]:
    """The hourly round: retention purge, then sampling (see service.run_jobs_once)."""
    return await service.run_jobs_once(settings, db, now)
