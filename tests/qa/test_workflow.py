"""Evaluation workflow over HTTP: draft -> submitted -> acknowledged or
disputed -> resolved; revisions; forbidden transitions give 409."""

from __future__ import annotations

from sqlalchemy import select

from callcenter.auth.models import AuditEntry
from callcenter.qa.scoring import DEFAULT_FORM, items

DEF = DEFAULT_FORM["definition"]


def full_marks(**over):  # noqa: ANN001, ANN201
    a = {i["key"]: ({"violated": False} if i["veto"] else {"score": i["weight"]}) for i in items(DEF)}
    a.update(over)
    return a


async def _new(client, actor, call_id="c1"):  # noqa: ANN001, ANN202
    r = await client.post(f"/api/qa/calls/{call_id}/evaluations", json={}, headers=actor.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_full_workflow_acknowledged(client, scored_call, db):
    qa, agent = scored_call["qa"], scored_call["agent"]
    ev = await _new(client, qa)
    assert ev["status"] == "draft" and ev["agent_user_id"] == agent.user.id and ev["month"] == "2026-11"
    # the agent does not see drafts
    assert (await client.get(f"/api/qa/evaluations/{ev['id']}", headers=agent.headers)).status_code == 403
    assert (await client.get("/api/qa/evaluations", headers=agent.headers)).json() == []

    r = await client.patch(f"/api/qa/evaluations/{ev['id']}", json={"answers": {"greeting": {"score": 8}}}, headers=qa.headers)
    assert r.status_code == 200 and r.json()["total"] is None
    r = await client.post(f"/api/qa/evaluations/{ev['id']}/submit", headers=qa.headers)
    assert r.status_code == 409 and "items not scored" in r.json()["detail"]

    answers = full_marks(tone={"score": 5, "comment": "语速偏快"}, hold={"na": True})
    r = await client.patch(f"/api/qa/evaluations/{ev['id']}", json={"answers": answers, "comment": "整体良好"}, headers=qa.headers)
    assert r.json()["total"] == round(91 / 96 * 100, 2)
    r = await client.post(f"/api/qa/evaluations/{ev['id']}/submit", headers=qa.headers)
    assert r.status_code == 200 and r.json()["status"] == "submitted"

    # immutable once submitted
    r = await client.patch(f"/api/qa/evaluations/{ev['id']}", json={"comment": "x"}, headers=qa.headers)
    assert r.status_code == 409 and "create a revision" not in r.json()["detail"] and "it is submitted" in r.json()["detail"]
    r = await client.post(f"/api/qa/evaluations/{ev['id']}/submit", headers=qa.headers)
    assert r.status_code == 409

    seen = (await client.get("/api/qa/evaluations", headers=agent.headers)).json()
    assert [e["id"] for e in seen] == [ev["id"]]
    assert seen[0]["evaluator_name"] == "林芳" and seen[0]["call"]["call_id"] == "c1"
    r = await client.post(f"/api/qa/evaluations/{ev['id']}/acknowledge", json={"comment": "收到"}, headers=agent.headers)
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    r = await client.post(f"/api/qa/evaluations/{ev['id']}/dispute", json={"comment": "late"}, headers=agent.headers)
    assert r.status_code == 409 and "it is acknowledged" in r.json()["detail"]

    detail = (await client.get(f"/api/qa/evaluations/{ev['id']}", headers=agent.headers)).json()
    assert [t["action"] for t in detail["trail"]] == [
        "evaluation.create", "evaluation.update", "evaluation.update", "evaluation.submit", "evaluation.acknowledge"
    ]
    assert detail["form"]["code"] == "inbound-service"


async def test_dispute_amended_creates_a_revision_and_keeps_both(client, scored_call, db):
    qa, agent, lead = scored_call["qa"], scored_call["agent"], scored_call["lead"]
    ev = await _new(client, qa)
    await client.patch(f"/api/qa/evaluations/{ev['id']}", json={"answers": full_marks(argue={"violated": True})}, headers=qa.headers)
    r = await client.post(f"/api/qa/evaluations/{ev['id']}/submit", headers=qa.headers)
    assert r.json()["total"] == 0 and r.json()["vetoed"] is True

    r = await client.post(f"/api/qa/evaluations/{ev['id']}/dispute", json={"comment": "  "}, headers=agent.headers)
    assert r.status_code == 409 and "needs a comment" in r.json()["detail"]
    r = await client.post(f"/api/qa/evaluations/{ev['id']}/dispute", json={"comment": "我没有争吵，是客户情绪激动"}, headers=agent.headers)
    assert r.json()["status"] == "disputed"
    # only the agent acknowledges; others are refused by role
    assert (await client.post(f"/api/qa/evaluations/{ev['id']}/acknowledge", json={}, headers=qa.headers)).status_code == 403
    # agents cannot resolve
    r = await client.post(f"/api/qa/evaluations/{ev['id']}/resolve", json={"decision": "upheld", "comment": "x"}, headers=agent.headers)
    assert r.status_code == 403

    r = await client.post(f"/api/qa/evaluations/{ev['id']}/resolve", json={"decision": "amended", "comment": "复听后撤销致命项"}, headers=lead.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["evaluation"]["status"] == "resolved" and body["evaluation"]["resolution"] == "amended"
    rev = body["revision"]
    assert rev["status"] == "draft" and rev["revision"] == 2 and rev["previous_id"] == ev["id"]

    r = await client.post(f"/api/qa/evaluations/{ev['id']}/resolve", json={"decision": "upheld", "comment": "again"}, headers=lead.headers)
    assert r.status_code == 409 and "it is resolved" in r.json()["detail"]

    await client.patch(f"/api/qa/evaluations/{rev['id']}", json={"answers": full_marks()}, headers=qa.headers)
    r = await client.post(f"/api/qa/evaluations/{rev['id']}/submit", headers=qa.headers)
    assert r.json()["total"] == 100.0

    old = (await client.get(f"/api/qa/evaluations/{ev['id']}", headers=qa.headers)).json()
    assert old["superseded"] is True and old["total"] == 0 and old["vetoed"] is True  # kept as it was
    assert [x["revision"] for x in old["revisions"]] == [1, 2]
    actions = [t["action"] for t in old["trail"]]
    assert "evaluation.resolve" in actions and "evaluation.revise" in actions
    # the current list shows only the live revision
    live = (await client.get("/api/qa/evaluations", headers=qa.headers)).json()
    assert [e["id"] for e in live] == [rev["id"]]
    # a superseded evaluation cannot be revised again
    r = await client.post(f"/api/qa/evaluations/{ev['id']}/revisions", headers=qa.headers)
    assert r.status_code == 409 and "superseded" in r.json()["detail"]


async def test_forbidden_transitions(client, scored_call):
    qa, agent = scored_call["qa"], scored_call["agent"]
    ev = await _new(client, qa)
    eid = ev["id"]
    # a second evaluation of the same call
    r = await client.post("/api/qa/calls/c1/evaluations", json={}, headers=qa.headers)
    assert r.status_code == 409 and "already has evaluation" in r.json()["detail"]
    # revising a draft
    r = await client.post(f"/api/qa/evaluations/{eid}/revisions", headers=qa.headers)
    assert r.status_code == 409 and "still a draft" in r.json()["detail"]
    # resolving what is not disputed
    r = await client.post(f"/api/qa/evaluations/{eid}/resolve", json={"decision": "upheld", "comment": "x"}, headers=qa.headers)
    assert r.status_code == 409 and "needs disputed" in r.json()["detail"]
    # bad scores name the item
    r = await client.patch(f"/api/qa/evaluations/{eid}", json={"answers": {"greeting": {"score": 9}}}, headers=qa.headers)
    assert r.status_code == 422 and "greeting" in r.json()["detail"]
    r = await client.patch(f"/api/qa/evaluations/{eid}", json={"answers": {"tone": {"na": True}}}, headers=qa.headers)
    assert r.status_code == 422 and "may not be marked N/A" in r.json()["detail"]
    # a bad decision names the field
    r = await client.post(f"/api/qa/evaluations/{eid}/resolve", json={"decision": "maybe", "comment": "x"}, headers=qa.headers)
    assert r.status_code == 422 and "decision" in r.json()["detail"]
    # revising a submitted one, then a second draft revision is refused
    await client.patch(f"/api/qa/evaluations/{eid}", json={"answers": full_marks()}, headers=qa.headers)
    await client.post(f"/api/qa/evaluations/{eid}/submit", headers=qa.headers)
    r = await client.post(f"/api/qa/evaluations/{eid}/revisions", headers=qa.headers)
    assert r.status_code == 201
    r = await client.post(f"/api/qa/evaluations/{eid}/revisions", headers=qa.headers)
    assert r.status_code == 409 and "already has a draft revision" in r.json()["detail"]
    # the agent can still acknowledge the submitted one while a revision is drafted
    r = await client.post(f"/api/qa/evaluations/{eid}/acknowledge", json={}, headers=agent.headers)
    assert r.status_code == 200


async def test_other_agent_cannot_see_or_acknowledge(client, scored_call, make_user):
    from callcenter.auth.models import Role

    qa = scored_call["qa"]
    other = await make_user(Role.agent, interface="PJSIP/8009")
    ev = await _new(client, qa)
    await client.patch(f"/api/qa/evaluations/{ev['id']}", json={"answers": full_marks()}, headers=qa.headers)
    await client.post(f"/api/qa/evaluations/{ev['id']}/submit", headers=qa.headers)
    assert (await client.get(f"/api/qa/evaluations/{ev['id']}", headers=other.headers)).status_code == 403
    assert (await client.post(f"/api/qa/evaluations/{ev['id']}/acknowledge", json={}, headers=other.headers)).status_code == 403
    assert (await client.get("/api/qa/calls/c1", headers=other.headers)).status_code == 403


async def test_call_detail_timeline_is_aligned_to_the_recording(client, scored_call, db):
    qa = scored_call["qa"]
    d = (await client.get("/api/qa/calls/c1", headers=qa.headers)).json()
    kinds = {e["kind"]: e["at_s"] for e in d["timeline"]}
    # recorded from the answer (no explicit recording-start entry)
    assert kinds["answered"] == 0 and kinds["queued"] == -12 and kinds["ringing"] == -4
    assert kinds["hold"] == 30 and kinds["unhold"] == 40 and kinds["hangup"] == 120
    assert d["can_play"] is True
    r = await client.post("/api/qa/calls/c1/annotations", json={"at_s": 30.5, "text": "保留前未告知客户"}, headers=qa.headers)
    assert r.status_code == 201 and r.json()["author"] == "林芳"
    d = (await client.get("/api/qa/calls/c1", headers=qa.headers)).json()
    assert [(a["at_s"], a["text"]) for a in d["annotations"]] == [(30.5, "保留前未告知客户")]


async def test_explicit_recording_start_wins(client, db, make_user):
    from callcenter.auth.models import Role

    from .factories import T0, make_call

    qa = await make_user(Role.qa)
    t = T0.timestamp()
    tl = [{"t": t, "kind": "queued"}, {"t": t + 1, "kind": "recording"}, {"t": t + 10, "kind": "answered"}, {"t": t + 70, "kind": "transfer", "target": "8002"}]
    await make_call(db, "c9", timeline=tl, wait_s=10)
    d = (await client.get("/api/qa/calls/c9", headers=qa.headers)).json()
    assert [(e["kind"], e["at_s"]) for e in d["timeline"]] == [("queued", -1), ("answered", 9), ("transfer", 69)]
    assert d["timeline"][-1]["target"] == "8002"


async def test_every_step_is_audited(client, scored_call, db):
    qa = scored_call["qa"]
    ev = await _new(client, qa)
    await client.patch(f"/api/qa/evaluations/{ev['id']}", json={"answers": full_marks()}, headers=qa.headers)
    await client.post(f"/api/qa/evaluations/{ev['id']}/submit", headers=qa.headers)
    async with db.sessions() as s:
        rows = list((await s.execute(select(AuditEntry).where(AuditEntry.target == f"evaluation:{ev['id']}").order_by(AuditEntry.id))).scalars())
    assert [r.action for r in rows] == ["evaluation.create", "evaluation.update", "evaluation.submit"]
    assert rows[-1].details["total"] == 100.0 and rows[-1].actor == qa.user.username
