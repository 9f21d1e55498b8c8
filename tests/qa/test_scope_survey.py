"""Survey-score search, team-lead scoping by led queues, and the centre's
time zone for the page."""

from __future__ import annotations

from datetime import UTC, datetime

from callcenter.auth.models import Role
from callcenter.hooks.models import SurveyResponse
from callcenter.qa.models import EvalStatus, Evaluation
from callcenter.qa.service import ensure_default_form

from .factories import make_call


async def _survey(db, uniqueid: str, score: int) -> None:  # noqa: ANN001
    async with db.sessions() as s:
        s.add(SurveyResponse(uniqueid=uniqueid, score=score, scale=5, queue="repairs"))
        await s.commit()


async def test_search_by_survey_score(client, db, make_user):
    qa = await make_user(Role.qa)
    for cid, score in (("happy", 5), ("meh", 3), ("angry", 1)):
        await make_call(db, cid)
        await _survey(db, f"{cid}.1", score)
    await make_call(db, "silent")  # hung up before the survey

    async def ids(**params) -> list[str]:  # noqa: ANN003
        r = await client.get("/api/qa/calls", params=params, headers=qa.headers)
        assert r.status_code == 200, r.text
        return sorted(c["call_id"] for c in r.json()["calls"])

    assert await ids(max_survey=2) == ["angry"]
    assert await ids(min_survey=3) == ["happy", "meh"]
    assert await ids(min_survey=2, max_survey=4) == ["meh"]
    assert await ids() == ["angry", "happy", "meh", "silent"]
    rows = {c["call_id"]: c for c in (await client.get("/api/qa/calls", headers=qa.headers)).json()["calls"]}
    assert rows["happy"]["survey"] == {"score": 5, "scale": 5}
    assert rows["silent"]["survey"] is None
    r = await client.get("/api/qa/calls", params={"min_survey": 11}, headers=qa.headers)
    assert r.status_code == 422 and "min_survey" in r.text


async def _evaluation(db, call, queue: str) -> int:  # noqa: ANN001
    async with db.sessions() as s:
        form = await ensure_default_form(s)
        ev = Evaluation(call_record_id=call.id, form_id=form.id, agent=call.agent, month="2026-11", queue=queue,
                        status=EvalStatus.submitted, answers={}, total=88.0, submitted_at=datetime.now(UTC))
        s.add(ev)
        await s.commit()
        return ev.id


async def test_team_lead_sees_only_the_queues_they_lead(client, db, make_user):
    lead = await make_user(Role.team_lead, queues=[("repairs", 0)])
    idle_lead = await make_user(Role.team_lead)
    qa = await make_user(Role.qa)
    admin = await make_user(Role.admin)
    mine = await make_call(db, "mine", queue="repairs", recording_file="x.wav")
    other = await make_call(db, "other", queue="billing", recording_file="y.wav")
    ev_mine = await _evaluation(db, mine, "repairs")
    ev_other = await _evaluation(db, other, "billing")

    async def calls(actor) -> list[str]:  # noqa: ANN001
        r = await client.get("/api/qa/calls", headers=actor.headers)
        assert r.status_code == 200, r.text
        return sorted(c["call_id"] for c in r.json()["calls"])

    assert await calls(lead) == ["mine"]
    assert await calls(idle_lead) == []
    assert await calls(qa) == await calls(admin) == ["mine", "other"]
    assert (await client.get("/api/qa/calls/mine", headers=lead.headers)).status_code == 200
    assert (await client.get("/api/qa/calls/other", headers=lead.headers)).status_code == 403
    assert (await client.post("/api/qa/calls/other/evaluations", json={}, headers=lead.headers)).status_code == 403

    evs = (await client.get("/api/qa/evaluations", headers=lead.headers)).json()
    assert [e["id"] for e in evs] == [ev_mine]
    assert len((await client.get("/api/qa/evaluations", headers=qa.headers)).json()) == 2
    assert (await client.get(f"/api/qa/evaluations/{ev_other}", headers=lead.headers)).status_code == 403
    assert (await client.get(f"/api/qa/evaluations/{ev_mine}", headers=lead.headers)).status_code == 200

    summary = (await client.get("/api/qa/summary", params={"group": "queue"}, headers=lead.headers)).json()
    assert [r["key"] for r in summary] == ["repairs"]
    assert (await client.get("/api/qa/summary", params={"group": "queue"}, headers=idle_lead.headers)).json() == []
    everything = (await client.get("/api/qa/summary", params={"group": "queue"}, headers=admin.headers)).json()
    assert sorted(r["key"] for r in everything) == ["billing", "repairs"]


async def test_context_and_sampling_month_in_the_centre_zone(client, db, make_user, monkeypatch):
    import callcenter.qa.api as qa_api

    # 2026-11-30 17:00 UTC is already December 1st in Shanghai.
    monkeypatch.setattr(qa_api, "utcnow", lambda: datetime(2026, 11, 30, 17, 0, tzinfo=UTC))
    qa = await make_user(Role.qa)
    ctx = (await client.get("/api/qa/context", headers=qa.headers)).json()
    assert ctx == {"timezone": "Asia/Shanghai", "month": "2026-12"}
    r = await client.post("/api/qa/sampling", json={}, headers=qa.headers)
    assert r.status_code == 200, r.text
    assert r.json()["month"] == "2026-12"
