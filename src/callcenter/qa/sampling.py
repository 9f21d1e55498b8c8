"""QA's monthly sampling: which answered, recorded calls each agent gets
reviewed, spread over the month's days and queues, and which reviewer
gets each (see sample_month)."""

from __future__ import annotations

import calendar
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd.models import CallRecord, Outcome
from callcenter.auth.models import Role, User
from callcenter.qa.models import Assignment, Evaluation
from callcenter.qa.service import month_bounds


def quota_to_date(per_agent: int, month: str, today: date) -> int:
    """How many samples an agent should have by `today`: the full quota
    once the month is over, else a share growing day by day, so running
    the job daily spreads picks over the whole month instead of taking
    them all from its first days."""
    y, m = (int(p) for p in month.split("-"))
    days = calendar.monthrange(y, m)[1]
    first = date(y, m, 1)
    if today < first:
        return 0
    elapsed = (today - first).days + 1
    if elapsed >= days:
        return per_agent
    return min(per_agent, -(-per_agent * elapsed // days))


@dataclass
class SampleResult:
    month: str
    created: int
    per_agent: dict[str, int]
    per_reviewer: dict[int, int]


def _day(call: CallRecord, tz: ZoneInfo) -> str:
    return call.entered_at.astimezone(tz).date().isoformat()


async def sample_month(
    session: AsyncSession,
    month: str,
    per_agent: int,
    min_talk_s: float,
    tz: ZoneInfo,
    today: date,
    seed: int | None = None,
) -> SampleResult:
    """Pick calls for review and assign them to QA staff.

    Candidates are answered, recorded calls of the month at least
    `min_talk_s` long, not yet assigned or evaluated.  For each agent the job tops up to the quota due
    by `today` (see quota_to_date), never above it, so it is idempotent:
    a second run the same day adds nothing.  Picks are random, spread
    across days and queues (each pick prefers the least-used day, then
    the least-used queue), and go to the reviewer with the fewest assignments
    this month.  `seed` fixes the randomness for tests.
    """
    rng = random.Random(f"{seed}:{month}" if seed is not None else None)
    start, end = month_bounds(month, tz)
    due = quota_to_date(per_agent, month, today)
    calls = list(
        (
            await session.execute(
                select(CallRecord)
                .outerjoin(Assignment, Assignment.call_record_id == CallRecord.id)
                .where(
                    CallRecord.entered_at >= start,
                    CallRecord.entered_at < end,
                    CallRecord.outcome == Outcome.answered,
                    CallRecord.agent.is_not(None),
                    CallRecord.recording_file.is_not(None),
                    CallRecord.talk_s >= min_talk_s,
                    Assignment.id.is_(None),
                    ~select(Evaluation.id).where(Evaluation.call_record_id == CallRecord.id).exists(),
                )
                .order_by(CallRecord.id)
            )
        ).scalars()
    )
    have: dict[str, int] = defaultdict(int)
    for agent, n in (await session.execute(select(Assignment.agent, func.count()).where(Assignment.month == month).group_by(Assignment.agent))).all():
        have[agent] = n
    reviewers = list(
        (await session.execute(select(User.id).where(User.role == Role.qa, User.active.is_(True)).order_by(User.id))).scalars()
    )
    load: dict[int, int] = {r: 0 for r in reviewers}
    for rid, n in (
        await session.execute(
            select(Assignment.reviewer_id, func.count()).where(Assignment.month == month, Assignment.reviewer_id.is_not(None)).group_by(Assignment.reviewer_id)
        )
    ).all():
        if rid in load:
            load[rid] = n
    by_agent: dict[str, list[CallRecord]] = defaultdict(list)
    for c in calls:
        by_agent[c.agent].append(c)  # type: ignore[index]
    created: dict[str, int] = {}
    for agent in sorted(by_agent):
        need = due - have[agent]
        if need <= 0:
            continue
        pool = list(by_agent[agent])
        rng.shuffle(pool)
        days: Counter[str] = Counter()
        queues: Counter[str] = Counter()
        picks: list[CallRecord] = []
        while pool and len(picks) < need:
            # The least-used day first, then the least-used queue; ties
            # fall to the random order.
            best = min(range(len(pool)), key=lambda i: (days[_day(pool[i], tz)], queues[pool[i].queue]))
            c = pool.pop(best)
            days[_day(c, tz)] += 1
            queues[c.queue] += 1
            picks.append(c)
        for c in picks:
            reviewer = min(load, key=lambda r: (load[r], r)) if load else None
            if reviewer is not None:
                load[reviewer] += 1
            session.add(Assignment(call_record_id=c.id, month=month, agent=agent, reviewer_id=reviewer, source="sample"))
        created[agent] = len(picks)
    await session.flush()
    return SampleResult(month, sum(created.values()), created, dict(load))

