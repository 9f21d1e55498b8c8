"""/hooks/survey and /hooks/callback, and the agents' callback tasks."""

from __future__ import annotations

from sqlalchemy import select

from callcenter.acd.events import CallbackRequested
from callcenter.auth.models import Role
from callcenter.hooks.models import SurveyResponse

from .test_route import fields


async def test_survey_records_one_score_per_call(client, db, hook_headers):
    r = await client.get("/hooks/survey", params={"uniqueid": "1700.1", "score": "4", "queue": "repairs", "agent": "PJSIP/8001",
                                                  "caller": "+8613800138000"}, headers=hook_headers)  # fmt: skip
    assert r.status_code == 200 and fields(r.text) == {"status": "ok", "score": "4"}
    # CURL's post-data form, and a changed mind: the last key wins.
    r = await client.post("/hooks/survey", data={"uniqueid": "1700.1", "score": "5"}, headers=hook_headers)
    assert r.status_code == 200
    async with db.sessions() as s:
        [row] = (await s.execute(select(SurveyResponse))).scalars().all()
    assert (row.score, row.scale, row.queue, row.agent, row.number) == (5, 5, "repairs", "PJSIP/8001", "13800138000")


async def test_survey_rejects_scores_off_the_scale(client, hook_headers):
    for score, msg in (("0", "score: 0 is outside 1..5"), ("6", "score: 6 is outside 1..5"), ("x", "score:"), ("", "score: required")):
        r = await client.get("/hooks/survey", params={"uniqueid": "1.1", "score": score}, headers=hook_headers)
        assert r.status_code == 400 and r.json()["detail"].startswith(msg), score
    r = await client.get("/hooks/survey", params={"score": "3"}, headers=hook_headers)
    assert r.status_code == 400 and r.json()["detail"] == "uniqueid: required"
    assert (await client.get("/hooks/survey", params={"uniqueid": "1.1", "score": "3"})).status_code == 401


async def test_callback_request_makes_one_task_per_number_per_day(client, hook_headers, acd):
    params = {"uniqueid": "1700.2", "caller": "+86 138 0013 8000", "queue": "repairs", "format": "json"}
    first = (await client.get("/hooks/callback", params=params, headers=hook_headers)).json()
    assert first["status"] == "created" and first["due"] == "23:59"
    again = (await client.get("/hooks/callback", params={**params, "caller": "13800138000", "uniqueid": "1700.3"}, headers=hook_headers)).json()
    assert again == {**first, "status": "exists"}
    assert [type(e) for e in acd.events] == [CallbackRequested, CallbackRequested]
    assert acd.events[0].uniqueid == "1700.2" and acd.events[0].queue == "repairs" and acd.events[0].number == "13800138000"


async def test_callback_needs_a_number(client, hook_headers):
    # Withheld and nothing keyed in: an answer without a task (the dialplan
    # asks for a number), never an error for a real call.
    for caller in ("", "anonymous", "Restricted"):
        r = await client.get("/hooks/callback", params={"uniqueid": "1.1", "caller": caller, "format": "json"}, headers=hook_headers)
        assert r.status_code == 200 and r.json() == {"status": "no_number", "task": "", "due": ""}
    r = await client.get("/hooks/callback", params={"uniqueid": "1.1", "caller": "13800138000", "reason": "whim"}, headers=hook_headers)
    assert r.status_code == 400 and r.json()["detail"].startswith("reason:")


async def test_callback_without_acd_service_still_works(client, hook_headers, app):
    app.state.acd = None  # e.g. the ACD service failed to start: hooks still answer
    r = await client.get("/hooks/callback", params={"uniqueid": "1.1", "number": "010-6552 1234"}, headers=hook_headers)
    assert r.status_code == 200 and fields(r.text)["status"] == "created"


async def test_agents_claim_and_complete_leads_see_all(client, hook_headers, make_user):
    a1, a2, lead = await make_user(Role.agent), await make_user(Role.agent), await make_user(Role.team_lead)
    t1 = fields((await client.get("/hooks/callback", params={"uniqueid": "1.1", "caller": "13800000001"}, headers=hook_headers)).text)["task"]
    t2 = fields((await client.get("/hooks/callback", params={"uniqueid": "1.2", "caller": "13800000002"}, headers=hook_headers)).text)["task"]
    r = await client.post(f"/api/callbacks/{t1}/claim", headers=a1.headers)
    assert r.status_code == 200 and r.json()["status"] == "claimed"
    assert (await client.post(f"/api/callbacks/{t1}/claim", headers=a2.headers)).status_code == 409
    assert (await client.post(f"/api/callbacks/{t1}/complete", json={"result": "reached"}, headers=a2.headers)).status_code == 403
    # a2 sees the unclaimed task only; a1 sees both; the lead sees both.
    ids = lambda r: sorted(str(t["id"]) for t in r.json())  # noqa: E731
    assert ids(await client.get("/api/callbacks", headers=a2.headers)) == [t2]
    assert ids(await client.get("/api/callbacks", headers=a1.headers)) == sorted([t1, t2])
    assert ids(await client.get("/api/callbacks", headers=lead.headers)) == sorted([t1, t2])
    r = await client.post(f"/api/callbacks/{t1}/complete", json={"result": "no_answer", "note": "无人接听"}, headers=a1.headers)
    assert r.status_code == 200 and (r.json()["status"], r.json()["result"]) == ("done", "no_answer")
    assert (await client.post(f"/api/callbacks/{t1}/complete", json={"result": "reached"}, headers=a1.headers)).status_code == 409
    r = await client.post(f"/api/callbacks/{t2}/complete", json={"result": "Reached!"}, headers=a1.headers)
    assert r.status_code == 422 and "result" in r.json()["detail"]


async def test_an_unreached_callback_raises_the_next_call_priority(client, hook_headers, routing, make_user):
    agent = await make_user(Role.agent)
    t = fields((await client.get("/hooks/callback", params={"uniqueid": "1.1", "caller": "13800000009"}, headers=hook_headers)).text)["task"]
    await client.post(f"/api/callbacks/{t}/complete", json={"result": "no_answer"}, headers=agent.headers)
    f = fields((await client.get("/hooks/route", params={"uniqueid": "1.5", "caller": "13800000009"}, headers=hook_headers)).text)
    assert "recent_callback" in f["reason"] and f["priority"] == "5"
