"""The ACD routes on a running app: who sees what, the disposition rules,
the Erlang calculator and the call history."""

from __future__ import annotations

import pytest

from callcenter.acd.models import Queue
from callcenter.acd.script import Script
from callcenter.auth.models import Role


def call_in_wrap_up(app, iface: str, queue: str = "support", number: str = "13900000000") -> str:  # noqa: ANN001
    acd = app.state.acd
    t = acd.stamp()
    s = Script(prefix=str(int(t)))
    s.member(t, queue, iface)
    c = s.join(t, queue, number)
    s.ring(t, c, iface)
    s.answer(t + 1, c, iface, t)
    s.hang_up(t + 2, c)
    for e in s.events:
        acd.submit(e)
    return c.linkedid


async def test_wallboard_shows_a_lead_their_queues(app, client, make_user):
    lead = await make_user(Role.team_lead, queues=[("support", 0)])
    admin = await make_user(Role.admin)
    call_in_wrap_up(app, "PJSIP/7001", "support")
    call_in_wrap_up(app, "PJSIP/7002", "sales", "13900000001")
    r = await client.get("/api/acd/wallboard", headers=lead.headers)
    assert r.status_code == 200
    body = r.json()
    assert set(body["queues"]) == {"support"} and set(body["agents"]) == {"PJSIP/7001"}
    assert body["agents"]["PJSIP/7001"]["state"] == "wrap_up"
    assert body["totals"]["kpi"]["today"]["answered"] == 1
    body = (await client.get("/api/acd/wallboard", headers=admin.headers)).json()
    assert set(body["queues"]) == {"support", "sales"} and body["totals"]["kpi"]["today"]["answered"] == 2
    q = (await client.get("/api/acd/queues/support", headers=lead.headers)).json()
    assert q["queue"] == "support" and q["kpi"]["today"]["offered"] == 1 and q["sl_formula"].startswith("SL =")
    assert (await client.get("/api/acd/queues/nope", headers=lead.headers)).status_code == 403  # not a queue of theirs
    assert (await client.get("/api/acd/queues/nope", headers=admin.headers)).status_code == 404


async def test_agent_sees_only_self(app, client, make_user):
    agent = await make_user(Role.agent, interface="PJSIP/7005")
    call_in_wrap_up(app, "PJSIP/7005")
    r = await client.get("/api/acd/agents/PJSIP/7005", headers=agent.headers)
    assert r.status_code == 200 and r.json()["wrap_up"]["dispositions_required"] is True
    assert (await client.get("/api/acd/agents/PJSIP/7006", headers=agent.headers)).status_code == 403


async def test_disposition_rules(app, client, make_user, db):
    async with db.sessions() as s:
        s.add(Queue(name="support", display_name="报修", dispositions=[
            {"code": "fixed", "zh": "已修复", "en": "Fixed"},
            {"code": "complaint", "zh": "投诉", "en": "Complaint", "note_required": True},
        ]))  # fmt: skip
        await s.commit()
    agent = await make_user(Role.agent, interface="PJSIP/7010")
    h = agent.headers
    r = await client.post("/api/acd/disposition", json={"call_id": "x", "code": "fixed"}, headers=h)
    assert r.status_code == 409
    call_id = call_in_wrap_up(app, "PJSIP/7010")
    r = await client.post("/api/acd/disposition", json={"call_id": call_id, "code": "resolved"}, headers=h)
    assert r.status_code == 422 and "code" in r.json()["detail"] and "fixed" in r.json()["detail"]
    r = await client.post("/api/acd/disposition", json={"call_id": call_id, "code": "complaint", "note": "  "}, headers=h)
    assert r.status_code == 422 and r.json()["detail"].startswith("note")
    r = await client.post("/api/acd/disposition", json={"call_id": call_id, "code": "complaint", "note": "漏水三次"}, headers=h)
    assert r.status_code == 200 and r.json()["agent"]["state"] == "available"
    assert (await client.post("/api/acd/disposition", json={"call_id": call_id, "code": "fixed"}, headers=h)).status_code == 409
    await app.state.acd.flush_all()
    lead = await make_user(Role.admin)
    page = (await client.get("/api/acd/calls", params={"disposition": "complaint"}, headers=lead.headers)).json()
    assert page["total"] == 1 and page["items"][0]["disposition_note"] == "漏水三次" and page["items"][0]["agent"] == "PJSIP/7010"


async def test_call_history_filters_and_pages(app, client, make_user):
    for i in range(5):
        call_in_wrap_up(app, f"PJSIP/72{i:02d}", "support" if i % 2 == 0 else "sales", f"1390000{i:04d}")
        app.state.acd.disposition(f"PJSIP/72{i:02d}", "", "resolved")
    await app.state.acd.flush_all()
    admin = await make_user(Role.admin)
    lead = await make_user(Role.team_lead, queues=[("sales", 0)])
    page = (await client.get("/api/acd/calls", params={"limit": 2}, headers=admin.headers)).json()
    assert page["total"] == 5 and len(page["items"]) == 2
    page2 = (await client.get("/api/acd/calls", params={"limit": 2, "offset": 4}, headers=admin.headers)).json()
    assert len(page2["items"]) == 1
    sales = (await client.get("/api/acd/calls", headers=lead.headers)).json()
    assert sales["total"] == 2 and {c["queue"] for c in sales["items"]} == {"sales"}
    one = (await client.get("/api/acd/calls", params={"caller_number": "13900000002"}, headers=admin.headers)).json()
    assert one["total"] == 1
    r = await client.get("/api/acd/calls", params={"outcome": "lost"}, headers=admin.headers)
    assert r.status_code == 422 and "outcome" in r.json()["detail"]
    r = await client.get("/api/acd/calls", params={"since": "2026-01-01T00:00:00"}, headers=admin.headers)
    assert r.status_code == 422 and "since" in r.json()["detail"]


async def test_erlang_endpoint(client, make_user):
    lead = await make_user(Role.team_lead)
    r = await client.get("/api/erlang", params={"calls": 100, "aht_s": 180, "target_sl": 0.8, "threshold_s": 20}, headers=lead.headers)
    body = r.json()
    assert r.status_code == 200 and body["model"] == "erlang_c" and body["agents"] == 14
    assert body["service_level"] == pytest.approx(0.8884, abs=1e-4)
    assert [row["agents"] for row in body["table"]] == list(range(11, 18))
    assert body["table"][0]["p_wait"] == pytest.approx(0.6821, abs=1e-4)
    a = (await client.get("/api/erlang", params={"calls": 100, "aht_s": 180, "target_sl": 0.8, "patience_s": 60}, headers=lead.headers)).json()
    assert a["model"] == "erlang_a" and a["agents"] <= 14 and a["p_abandon"] > 0
    r = await client.get("/api/erlang", params={"calls": -1, "aht_s": 180}, headers=lead.headers)
    assert r.status_code == 422 and "calls" in r.json()["detail"]
