"""Scope by team (issue 13, issue 15 "Teams"): a team lead sees,
supervises and spies on the agents and queues of their teams only; an
agent only their own topics; QA never edits customers; route decisions are
not for everyone.  Teams are administered over REST, with history."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from callcenter.auth.models import AuditEntry, Role
from callcenter.teams.models import TeamMember

from ..realtime.fakes import FakeAcd, FakeCore, FakeGateway

FEES_AGENT = "PJSIP/8101"
REPAIRS_AGENT = "PJSIP/8102"


@pytest.fixture
async def fees_lead(app, make_user, make_team):
    """A lead who leads only the fees team; an agent in it (fees) and one
    outside it (repairs), both on a call."""
    lead = await make_user(Role.team_lead, interface="PJSIP/7001", queues=[("fees", 0)])
    mine = await make_user(Role.agent, interface=FEES_AGENT, queues=[("fees", 0)])
    theirs = await make_user(Role.agent, interface=REPAIRS_AGENT, queues=[("repairs", 0)])
    await make_team(lead, mine, name="缴费组")
    await make_team(None, theirs, name="报修组")
    from callcenter.acd import events as ev

    # The real ACD core knows both queues; the PBX is a fake that answers.
    acd = app.state.acd
    for queue, iface in (("fees", FEES_AGENT), ("repairs", REPAIRS_AGENT)):
        acd.submit(ev.MemberAdded(acd.stamp(), queue, iface, iface, 0, False, "", 1))
    gw = FakeGateway(FakeAcd(FakeCore(auto_on_call=True)))
    app.state.gateway = gw
    return lead, mine, theirs, gw


async def test_a_fees_lead_cannot_barge_outside_fees(client, fees_lead, db):
    lead, mine, theirs, gw = fees_lead
    for mode in ("listen", "whisper", "barge"):
        r = await client.post(f"/api/supervisor/agents/{theirs.user.id}/spy", json={"mode": mode}, headers=lead.headers)
        assert r.status_code == 403, r.text
    assert not [a for a in gw.actions if a[0] == "spy"]  # nothing reached the PBX
    r = await client.post(f"/api/supervisor/agents/{mine.user.id}/spy", json={"mode": "barge"}, headers=lead.headers)
    assert r.status_code == 200 and gw.actions[-1] == ("spy", "PJSIP/7001", FEES_AGENT, "barge")
    for action in ("pause", "unpause", "logout"):
        body = {"reason": "meeting"} if action == "pause" else None
        r = await client.post(f"/api/supervisor/agents/{theirs.user.id}/{action}", json=body, headers=lead.headers)
        assert r.status_code == 403, (action, r.text)


async def test_a_fees_lead_sees_only_fees_on_the_live_views(client, fees_lead):
    lead, mine, theirs, _ = fees_lead
    assert (await client.get("/api/acd/queues/repairs", headers=lead.headers)).status_code == 403
    assert (await client.get("/api/acd/queues/fees", headers=lead.headers)).status_code == 200
    assert (await client.get(f"/api/acd/agents/{REPAIRS_AGENT}", headers=lead.headers)).status_code == 403
    assert (await client.get(f"/api/acd/agents/{FEES_AGENT}", headers=lead.headers)).status_code == 200
    board = (await client.get("/api/acd/wallboard", headers=lead.headers)).json()
    assert set(board["queues"]) == {"fees"} and REPAIRS_AGENT not in board["agents"]
    assert {u["id"] for u in (await client.get("/api/users", headers=lead.headers)).json()} == {lead.user.id, mine.user.id}
    assert (await client.get(f"/api/users/{theirs.user.id}", headers=lead.headers)).status_code == 403


async def test_moving_an_agent_moves_the_lead_scope_at_once(client, fees_lead, make_user):
    lead, mine, theirs, _ = fees_lead
    admin = await make_user(Role.admin)
    teams = {t["name"]: t for t in (await client.get("/api/teams", headers=admin.headers)).json()}
    fees = teams["缴费组"]["id"]
    r = await client.put(f"/api/teams/{fees}/members/{theirs.user.id}", headers=admin.headers)
    assert r.status_code == 200 and {m["user_id"] for m in r.json()["members"]} == {mine.user.id, theirs.user.id}
    # the repairs agent now belongs to the fees lead: their queue too
    assert (await client.get("/api/acd/queues/repairs", headers=lead.headers)).status_code == 200
    r = await client.post(f"/api/supervisor/agents/{theirs.user.id}/spy", json={"mode": "listen"}, headers=lead.headers)
    assert r.status_code == 200
    # one team at a time, with history: the old stretch is closed, not deleted
    hist = (await client.get("/api/teams/memberships", params={"user_id": theirs.user.id}, headers=admin.headers)).json()
    assert [(h["team_name"], h["to_at"] is None) for h in hist] == [("缴费组", True), ("报修组", False)]
    assert hist[1]["to_at"] == hist[0]["from_at"]
    # a lead reads the history of their own teams only
    led = (await client.get("/api/teams/memberships", headers=lead.headers)).json()
    assert {h["team_name"] for h in led} == {"缴费组"}
    r = await client.delete(f"/api/teams/{fees}/members/{theirs.user.id}", headers=admin.headers)
    assert r.status_code == 204
    assert (await client.get("/api/acd/queues/repairs", headers=lead.headers)).status_code == 403


async def test_team_administration(client, make_user, db):
    admin = await make_user(Role.admin)
    lead = await make_user(Role.team_lead)
    agent = await make_user(Role.agent)
    r = await client.post("/api/teams", json={"name": "一组", "lead_ids": [lead.user.id]}, headers=admin.headers)
    assert r.status_code == 201 and r.json()["leads"][0]["id"] == lead.user.id
    team = r.json()["id"]
    assert (await client.post("/api/teams", json={"name": "一组"}, headers=admin.headers)).status_code == 409
    bad = await client.post("/api/teams", json={"name": "二组", "lead_ids": [agent.user.id]}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "lead_ids"
    r = await client.put(f"/api/teams/{team}/members/{lead.user.id}", headers=admin.headers)
    assert r.status_code == 422 and "not agent" in r.json()["detail"]
    assert (await client.put(f"/api/teams/{team}/members/{agent.user.id}", headers=admin.headers)).status_code == 200
    assert (await client.delete(f"/api/teams/{team}", headers=admin.headers)).status_code == 409  # still has members
    r = await client.patch(f"/api/teams/{team}", json={"name": None}, headers=admin.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "name"
    r = await client.patch(f"/api/teams/{team}", json={"description": "早班", "lead_ids": []}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["leads"] == [] and r.json()["description"] == "早班"
    assert (await client.get(f"/api/teams/{team}", headers=lead.headers)).status_code == 403  # no longer leads it
    assert (await client.delete(f"/api/teams/{team}/members/{agent.user.id}", headers=admin.headers)).status_code == 204
    assert (await client.delete(f"/api/teams/{team}", headers=admin.headers)).status_code == 204
    assert (await client.get("/api/teams", headers=admin.headers)).json() == []
    archived = (await client.get("/api/teams", params={"include_archived": True}, headers=admin.headers)).json()
    assert [t["active"] for t in archived] == [False]
    async with db.sessions() as s:
        actions = [a.action for a in (await s.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars()]
        rows = list((await s.execute(select(TeamMember))).scalars())
    assert actions.count("team.create") == 1 and "team.member.add" in actions and "team.archive" in actions
    assert len(rows) == 1 and rows[0].to_at is not None


async def test_websocket_topics_follow_the_scope(live, ws_connect, make_user, make_team):
    """A fees lead cannot subscribe to another team's agent, and never gets
    their screen-pops; an agent only their own topic."""
    lead = await make_user(Role.team_lead, queues=[("fees", 0)])
    mine = await make_user(Role.agent, interface=FEES_AGENT)
    theirs = await make_user(Role.agent, interface=REPAIRS_AGENT)
    await make_team(lead, mine)
    lws = await ws_connect(lead)
    err = await lws.subscribe("agent:" + REPAIRS_AGENT)
    assert err["type"] == "error" and err["code"] == 403
    assert (await lws.subscribe("agent:" + FEES_AGENT))["type"] == "snapshot"
    aws = await ws_connect(mine)
    assert (await aws.subscribe("agent:" + REPAIRS_AGENT))["code"] == 403
    live.do("member_added", REPAIRS_AGENT, "repairs")
    live.do("caller_joined", "c1", "repairs", "13800138000")
    live.do("ring", REPAIRS_AGENT, "c1")
    got = await lws.quiet(0.5)
    assert not [m for m in got if m.get("topic") == "agent:" + REPAIRS_AGENT]
    del theirs


async def test_qa_never_edits_customers(client, make_user):
    qa = await make_user(Role.qa)
    agent = await make_user(Role.agent)
    r = await client.post("/api/customers", json={"name": "陈海燕", "phones": ["13800138000"]}, headers=agent.headers)
    cid = r.json()["id"]
    assert (await client.post("/api/customers", json={"name": "x", "phones": ["13800138001"]}, headers=qa.headers)).status_code == 403
    assert (await client.patch(f"/api/customers/{cid}", json={"tier": "vip"}, headers=qa.headers)).status_code == 403
    assert (await client.get(f"/api/customers/{cid}", headers=qa.headers)).status_code == 403


async def test_route_decisions_are_not_for_everyone(client, make_user, settings):
    agent = await make_user(Role.agent)
    qa = await make_user(Role.qa)
    lead = await make_user(Role.team_lead, queues=[("fees", 0)])
    admin = await make_user(Role.admin)
    await client.get("/hooks/route", params={"uniqueid": "1700.9", "caller": "13800138000"}, headers={"X-Hook-Secret": settings.hook_secret})
    url = "/api/routing/decisions/1700.9"
    assert (await client.get(url, headers=agent.headers)).status_code == 403
    assert (await client.get(url, headers=qa.headers)).status_code == 403
    assert (await client.get(url, headers=lead.headers)).status_code == 403  # went to enquiries, not fees
    assert (await client.get(url, headers=admin.headers)).status_code == 200
