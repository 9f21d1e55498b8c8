"""Monthly sampling: quota, spread, skipping short calls, fair
assignment, idempotence, seeded randomness."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from callcenter.acd.models import CallRecord, Outcome
from callcenter.auth.models import Role
from callcenter.qa.models import Assignment
from callcenter.qa.sampling import quota_to_date, sample_month

from .factories import make_call

TZ = ZoneInfo("Asia/Shanghai")
END = date(2026, 12, 3)  # after the month: the full quota is due


async def _month_of_calls(db, agents=("PJSIP/8001", "PJSIP/8002", "PJSIP/8003")):  # noqa: ANN001, ANN202
    n = 0
    for agent in agents:
        for day in range(1, 31):
            for k, queue in enumerate(("repairs", "complaints")):
                n += 1
                start = datetime(2026, 11, day, 1 + k, tzinfo=UTC)
                await make_call(db, f"{agent[-4:]}-{n}", agent=agent, recording_file=f"{n}.wav", entered_at=start, queue=queue, talk_s=60 + n % 50)
        # too short, unanswered, unrecorded and next month's calls are never picked
        await make_call(db, f"short-{agent}", agent=agent, recording_file="s.wav", talk_s=5)
        await make_call(db, f"abandon-{agent}", agent=None, recording_file=None, outcome=Outcome.abandoned)
        await make_call(db, f"norec-{agent}", agent=agent, recording_file=None)
        await make_call(db, f"dec-{agent}", agent=agent, recording_file="d.wav", entered_at=datetime(2026, 12, 1, 0, tzinfo=UTC))


async def _assignments(db):  # noqa: ANN001, ANN202
    async with db.sessions() as s:
        return list((await s.execute(select(Assignment, CallRecord).join(CallRecord, CallRecord.id == Assignment.call_record_id))).all())


def test_quota_grows_through_the_month():
    assert quota_to_date(5, "2026-11", date(2026, 10, 31)) == 0
    assert quota_to_date(5, "2026-11", date(2026, 11, 1)) == 1
    assert quota_to_date(5, "2026-11", date(2026, 11, 15)) == 3
    assert quota_to_date(5, "2026-11", date(2026, 11, 30)) == 5
    assert quota_to_date(5, "2026-11", date(2027, 1, 1)) == 5


async def test_sampling_picks_n_per_agent_fairly_and_idempotently(db, make_user):
    reviewers = [await make_user(Role.qa) for _ in range(2)]
    await make_user(Role.team_lead)
    await _month_of_calls(db)
    async with db.sessions() as s:
        r = await sample_month(s, "2026-11", 5, 30, TZ, END, seed=42)
        await s.commit()
    assert r.created == 15 and r.per_agent == {"PJSIP/8001": 5, "PJSIP/8002": 5, "PJSIP/8003": 5}
    rows = await _assignments(db)
    assert len(rows) == 15
    load = Counter(a.reviewer_id for a, _ in rows)
    assert set(load) == {u.user.id for u in reviewers} and sorted(load.values()) == [7, 8]
    for a, call in rows:
        assert call.talk_s >= 30 and call.recording_file and call.outcome == Outcome.answered
        assert call.entered_at.astimezone(TZ).strftime("%Y-%m") == "2026-11" == a.month
    for agent in ("PJSIP/8001", "PJSIP/8002", "PJSIP/8003"):
        mine = [c for a, c in rows if a.agent == agent]
        assert len({c.entered_at.astimezone(TZ).date() for c in mine}) == 5  # different days
        assert len({c.queue for c in mine}) == 2  # both queues
    # a second run adds nothing
    async with db.sessions() as s:
        again = await sample_month(s, "2026-11", 5, 30, TZ, END, seed=42)
        await s.commit()
    assert again.created == 0 and len(await _assignments(db)) == 15


async def test_seeded_runs_repeat_and_seeds_differ(db, make_user):
    await make_user(Role.qa)
    await _month_of_calls(db, agents=("PJSIP/8001",))

    async def picks(seed):  # noqa: ANN001, ANN202
        async with db.sessions() as s:
            await sample_month(s, "2026-11", 5, 30, TZ, END, seed=seed)
            ids = sorted(c.call_id for _, c in [(a, await s.get(CallRecord, a.call_record_id)) for a in (await s.execute(select(Assignment))).scalars()])
            await s.rollback()
        return ids

    assert await picks(1) == await picks(1)
    assert await picks(1) != await picks(2)


async def test_calls_already_evaluated_are_not_sampled(db, make_user):
    from callcenter.qa.models import Evaluation
    from callcenter.qa.service import ensure_default_form

    await make_user(Role.qa)
    a = await make_call(db, "done", agent="PJSIP/8001", recording_file="a.wav")
    await make_call(db, "fresh", agent="PJSIP/8001", recording_file="b.wav")
    async with db.sessions() as s:
        form = await ensure_default_form(s)
        s.add(Evaluation(call_record_id=a.id, form_id=form.id, agent="PJSIP/8001", month="2026-11"))
        await s.commit()
        r = await sample_month(s, "2026-11", 5, 30, TZ, END, seed=1)
        await s.commit()
    assert r.created == 1
    assert [c.call_id for _, c in await _assignments(db)] == ["fresh"]


async def test_mid_month_takes_a_share_then_tops_up(db, make_user):
    await make_user(Role.qa)
    await _month_of_calls(db, agents=("PJSIP/8001",))
    async with db.sessions() as s:
        early = await sample_month(s, "2026-11", 5, 30, TZ, date(2026, 11, 10), seed=3)
        await s.commit()
        late = await sample_month(s, "2026-11", 5, 30, TZ, END, seed=3)
        await s.commit()
    assert early.created == 2 and late.created == 3


async def test_sampling_over_http_and_assigned_to_me(client, db, make_user):
    qa = await make_user(Role.qa)
    await _month_of_calls(db, agents=("PJSIP/8001",))
    r = await client.post("/api/qa/sampling", json={"month": "2026-11", "seed": 5}, headers=qa.headers)
    assert r.status_code == 200 and r.json()["created"] >= 1
    r = await client.get("/api/qa/calls", params={"assigned_to_me": "true"}, headers=qa.headers)
    assert r.json()["total"] == r.json()["calls"].__len__() >= 1
    assert all(c["assignment"]["reviewer_id"] == qa.user.id for c in r.json()["calls"])
    r = await client.post("/api/qa/sampling", json={"month": "2026-13"}, headers=qa.headers)
    assert r.status_code == 422 and "month" in r.json()["detail"]
