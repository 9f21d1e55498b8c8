"""Desktop and supervisor actions over REST, against the fake gateway and
core: what is sent to Asterisk, who may do it, and the errors people see."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from callcenter.auth.models import AuditEntry, Role

from .fakes import ActionError, ActionTimeout, NotConnected, install

ME = "PJSIP/8501"


@pytest.fixture
def fakes(app):  # noqa: ANN001, ANN201
    return install(app)


@pytest.fixture
async def agent(make_user):  # noqa: ANN001, ANN201
    return await make_user(Role.agent, interface=ME, display_name="王静", queues=[("repairs", 2), ("enquiries", 0)])


async def test_queue_login_uses_my_skills_and_penalties(client, fakes, agent):
    acd, gw = fakes
    r = await client.post("/api/desktop/queues/login", json={"queues": ["repairs"]}, headers=agent.headers)
    assert r.status_code == 200, r.text
    assert gw.actions == [("queue_add", "repairs", ME, "王静", 2)]
    r = await client.post("/api/desktop/queues/login", json={"queues": ["vip"]}, headers=agent.headers)
    assert r.status_code == 403 and "vip" in r.json()["detail"]
    r = await client.post("/api/desktop/queues/login", json={}, headers=agent.headers)  # all my skills
    assert [a[1] for a in gw.actions[1:]] == ["enquiries", "repairs"]
    assert acd.core.agent_view(ME)["state"] == "available"
    r = await client.post("/api/desktop/queues/logout", json={}, headers=agent.headers)
    assert r.status_code == 200 and sorted(r.json()["queues"]) == ["enquiries", "repairs"]
    assert acd.core.agent_view(ME)["state"] == "logged_out"


async def test_pause_reasons_are_checked_and_configurable(client, fakes, agent, make_user):
    _, gw = fakes
    r = await client.post("/api/desktop/pause", json={"reason": "nap"}, headers=agent.headers)
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    r = await client.post("/api/desktop/pause", json={"reason": "meal"}, headers=agent.headers)
    assert r.status_code == 200 and gw.actions[-1] == ("queue_pause", ME, True, "meal")
    admin = await make_user(Role.admin)
    body = {"reasons": [{"code": "nap", "zh": "午休", "en": "Nap", "max_s": 1200}]}
    assert (await client.put("/api/realtime/pause-reasons", json=body, headers=admin.headers)).status_code == 200
    r = await client.get("/api/realtime/pause-reasons", headers=agent.headers)
    assert [x["code"] for x in r.json()["reasons"]] == ["nap"]
    assert (await client.post("/api/desktop/pause", json={"reason": "nap"}, headers=agent.headers)).status_code == 200
    dup = {"reasons": body["reasons"] * 2}
    r = await client.put("/api/realtime/pause-reasons", json=dup, headers=admin.headers)
    assert r.status_code == 422 and "unique" in r.json()["detail"]


async def test_ready_needs_the_disposition_during_wrap_up(client, fakes, agent):
    acd, gw = fakes
    acd.do("member_added", ME, "repairs")
    acd.do("caller_joined", "c1", "repairs", "13800000001")
    acd.do("ring", ME, "c1")
    acd.do("answer", ME, "c1")
    acd.do("hangup", ME, "c1")
    r = await client.post("/api/desktop/ready", headers=agent.headers)
    assert r.status_code == 409 and "disposition" in r.json()["detail"]
    acd.do("disposition", ME)
    assert (await client.post("/api/desktop/ready", headers=agent.headers)).status_code == 200


async def test_call_controls_act_on_my_own_call_only(client, fakes, agent):
    acd, gw = fakes
    r = await client.post("/api/desktop/hangup", headers=agent.headers)
    assert r.status_code == 409 and "not on a call" in r.json()["detail"]
    acd.do("member_added", ME, "repairs")
    acd.do("caller_joined", "c1", "repairs", "13800000001")
    acd.do("ring", ME, "c1")
    acd.do("answer", ME, "c1")
    channel = acd.core.agent_view(ME)["call"]["channel"]
    for path, body, expect in [
        ("/api/desktop/hold", None, ("hold", channel)),
        ("/api/desktop/unhold", None, ("unhold", channel)),
        ("/api/desktop/transfer", {"kind": "blind", "to": "queue", "target": "complaints"},
         ("blind_transfer", channel, "complaints", "cc-queue")),
        ("/api/desktop/transfer", {"kind": "attended", "to": "agent", "target": "PJSIP/8002"},
         ("atxfer", channel, "8002", "agents")),
        ("/api/desktop/transfer", {"kind": "blind", "to": "number", "target": "+8613912345678"},
         ("blind_transfer", channel, "+8613912345678", "agents")),
        ("/api/desktop/hangup", None, ("hangup", channel)),
    ]:
        r = await client.post(path, json=body, headers=agent.headers)
        assert r.status_code == 200, (path, r.text)
        assert gw.actions[-1] == expect
    r = await client.post("/api/desktop/transfer", json={"kind": "blind", "to": "number", "target": "12;Hangup"},
                          headers=agent.headers)
    assert r.status_code == 422 and r.json()["detail"].startswith("target")
    r = await client.post("/api/desktop/dial", json={"number": "abc"}, headers=agent.headers)
    assert r.status_code == 422 and "number" in r.json()["detail"]
    r = await client.post("/api/desktop/dial", json={"number": "13912345678"}, headers=agent.headers)
    assert r.status_code == 200 and gw.actions[-1] == ("click_to_call", ME, "13912345678", "agents")


@pytest.mark.parametrize(
    ("exc", "status"),
    [(NotConnected("AMI link is down"), 503), (ActionError("Interface not found"), 502),
     (ActionTimeout("no response in 5 s"), 504)],
)
async def test_gateway_errors_reach_the_page(client, fakes, agent, exc, status):
    _, gw = fakes
    gw.fail_with = exc
    r = await client.post("/api/desktop/pause", json={"reason": "break"}, headers=agent.headers)
    assert r.status_code == status and str(exc) in r.json()["detail"]


async def test_without_ami_actions_say_so(client, agent):
    # AMI disabled: the app's offline gateway refuses every action at once
    r = await client.post("/api/desktop/dial", json={"number": "10086"}, headers=agent.headers)
    assert r.status_code == 503 and "AMI link is down" in r.json()["detail"]


async def test_supervisor_actions_are_audited(client, fakes, agent, make_user, make_team, db):
    acd, gw = fakes
    lead = await make_user(Role.team_lead, username="lead1", interface="PJSIP/7001", queues=[("repairs", 0)])
    await make_team(lead, agent)
    aid = agent.user.id
    for mode in ("listen", "whisper", "barge"):
        r = await client.post(f"/api/supervisor/agents/{aid}/spy", json={"mode": mode}, headers=lead.headers)
        assert r.status_code == 200, r.text
        assert gw.actions[-1] == ("spy", "PJSIP/7001", ME, mode)
    assert (await client.post(f"/api/supervisor/agents/{aid}/pause", json={"reason": "meeting"}, headers=lead.headers)).status_code == 200
    assert gw.actions[-1] == ("queue_pause", ME, True, "meeting")
    assert (await client.post(f"/api/supervisor/agents/{aid}/unpause", headers=lead.headers)).status_code == 200
    acd.do("member_added", ME, "repairs")
    assert (await client.post(f"/api/supervisor/agents/{aid}/logout", headers=lead.headers)).status_code == 200
    assert gw.actions[-1] == ("queue_remove", "repairs", ME)
    gw.fail_with = ActionError("No such channel")
    r = await client.post(f"/api/supervisor/agents/{aid}/spy", json={"mode": "barge"}, headers=lead.headers)
    assert r.status_code == 502 and "No such channel" in r.json()["detail"]
    r = await client.post(f"/api/supervisor/agents/{aid}/spy", json={"mode": "listen"}, headers=agent.headers)
    assert r.status_code == 403
    async with db.sessions() as s:
        rows = list((await s.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars())
    assert [(e.actor, e.action, e.target, e.details.get("mode"), e.details["ok"]) for e in rows] == [
        ("lead1", "supervisor.spy", agent.user.username, "listen", True),
        ("lead1", "supervisor.spy", agent.user.username, "whisper", True),
        ("lead1", "supervisor.spy", agent.user.username, "barge", True),
        ("lead1", "supervisor.pause", agent.user.username, None, True),
        ("lead1", "supervisor.unpause", agent.user.username, None, True),
        ("lead1", "supervisor.logout", agent.user.username, None, True),
        ("lead1", "supervisor.spy", agent.user.username, "barge", False),
    ]
    assert all(e.at is not None and e.details["interface"] == ME for e in rows)


async def test_spy_needs_the_supervisors_own_phone(client, fakes, agent, make_user):
    admin = await make_user(Role.admin)  # no interface
    r = await client.post(f"/api/supervisor/agents/{agent.user.id}/spy", json={"mode": "listen"}, headers=admin.headers)
    assert r.status_code == 409 and "interface" in r.json()["detail"]


async def test_thresholds_config(client, make_user):
    admin, lead = await make_user(Role.admin), await make_user(Role.team_lead)
    r = await client.get("/api/realtime/wallboard-thresholds", headers=lead.headers)
    assert r.json()["kpi"]["service_level"]["target"] == 0.8
    assert r.json()["kpi"]["abandon_rate"]["target"] == 0.05
    body = r.json()
    body["kpi"]["service_level"] = {"excellent": 0.95, "target": 0.9, "warning": 0.8, "higher_is_better": True}
    assert (await client.put("/api/realtime/wallboard-thresholds", json=body, headers=admin.headers)).status_code == 200
    r = await client.get("/api/realtime/wallboard-thresholds", headers=lead.headers)
    assert r.json()["kpi"]["service_level"]["target"] == 0.9
    body["kpi"]["service_level"] = {"excellent": 0.5, "target": 0.9, "warning": 0.8, "higher_is_better": True}
    r = await client.put("/api/realtime/wallboard-thresholds", json=body, headers=admin.headers)
    assert r.status_code == 422 and "order" in r.json()["detail"]
    assert (await client.put("/api/realtime/wallboard-thresholds", json=body, headers=lead.headers)).status_code == 403


async def test_one_site_without_a_cluster(client, make_user):
    """The wallboard's site picker shows only with several sites (a cluster's CALLCENTER_CLUSTER_SITES)."""
    lead = await make_user(Role.team_lead)
    r = await client.get("/api/realtime/sites", headers=lead.headers)
    assert r.status_code == 200 and r.json() == {"sites": ["default"], "local": "default", "centre": False}, r.text


async def test_the_hub_follows_the_acd_service(app):
    from callcenter.acd import events as ev

    acd, hub = app.state.acd, app.state.hub
    assert hub.core is acd.core
    acd.submit(ev.MemberAdded(1_800_000_000.0, "repairs", "PJSIP/8123", "王静", 0, False, "", 1))
    assert hub.ts == 1_800_000_000.0  # the hub saw the core's output
