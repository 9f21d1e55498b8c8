"""The campaign lifecycle, segments, the frequency cap across campaigns and
the masked list export, through the API on both databases."""

from __future__ import annotations

from callcenter.auth.models import Role

from .test_api import RecordingGateway, campaign, csv_bytes, upload


async def test_lifecycle_is_checked(client, make_user):
    admin = await make_user(Role.admin)
    c = await campaign(client, admin.headers, mode="progressive", queue="")
    url = f"/api/outbound/campaigns/{c['id']}"
    r = await client.patch(url, json={"status": "paused"}, headers=admin.headers)
    assert r.status_code == 409 and r.json()["detail"] == "status: a draft campaign cannot become paused"
    r = await client.patch(url, json={"status": "running"}, headers=admin.headers)
    assert r.status_code == 409 and "list is empty" in r.text
    await upload(client, admin.headers, c["id"], csv_bytes([["number"], ["13800138001"]]))
    r = await client.patch(url, json={"status": "running"}, headers=admin.headers)
    assert r.status_code == 409 and "needs the queue" in r.text
    r = await client.patch(url, json={"status": "running", "queue": "sales"}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["status"] == "running" and r.json()["queue"] == "sales"
    assert (await client.patch(url, json={"status": "paused"}, headers=admin.headers)).json()["status"] == "paused"
    assert (await client.patch(url, json={"status": "running"}, headers=admin.headers)).json()["status"] == "running"
    assert (await client.patch(url, json={"status": "closed"}, headers=admin.headers)).json()["status"] == "closed"
    r = await client.patch(url, json={"window": "08:00-20:00"}, headers=admin.headers)
    assert r.status_code == 409 and "closed" in r.text


async def test_segment_selects_who_is_dialled(client, make_user, app):
    app.state.gateway = RecordingGateway()
    admin = await make_user(Role.admin)
    agent = await make_user(Role.agent, queues=[("sales", 0)])
    c = await campaign(client, admin.headers)
    rows = [["number", "building", "amount"], ["13800138001", "3", "100"], ["13800138002", "5", "2000"], ["13800138003", "3", "1500"]]
    await upload(client, admin.headers, c["id"], csv_bytes(rows))
    url = f"/api/outbound/campaigns/{c['id']}"
    r = await client.patch(url, json={"segment": {"amount": {"op": "between", "value": 1}}}, headers=admin.headers)
    assert r.status_code == 422 and "segment" in r.text
    seg = {"building": "3", "amount": {"op": "gte", "value": 1000}}
    assert (await client.patch(url, json={"segment": seg, "status": "running"}, headers=admin.headers)).json()["segment"] == seg
    assert (await client.get(url + "/segment", headers=admin.headers)).json() == {"segment": seg, "total": 3, "selected": 1, "pending": 1}
    card = (await client.post(url + "/next", headers=agent.headers)).json()
    assert card["contact"]["number"] == "13800138003"
    await client.post(f"/api/outbound/dials/{card['dial']['id']}/result", json={"result": "success"}, headers=agent.headers)
    assert (await client.post(url + "/next", headers=agent.headers)).json() is None  # the others are outside the segment


async def test_frequency_cap_across_campaigns(client, make_user, app, db):
    from callcenter.outbound.models import CampaignContact

    app.state.gateway = RecordingGateway()
    app.state.settings.outbound_max_dials_day = 1
    admin = await make_user(Role.admin)
    agent = await make_user(Role.agent, queues=[("sales", 0)])
    a = await campaign(client, admin.headers, name="a")
    b = await campaign(client, admin.headers, name="b")
    await upload(client, admin.headers, a["id"], csv_bytes([["number"], ["13800138001"]]))
    async with db.sessions() as s:  # the import refuses a number active elsewhere; a list loaded earlier may hold it
        s.add(CampaignContact(campaign_id=b["id"], number="13800138001"))
        await s.commit()
    for c in (a, b):
        assert (await client.patch(f"/api/outbound/campaigns/{c['id']}", json={"status": "running"}, headers=admin.headers)).status_code == 200
    card = (await client.post(f"/api/outbound/campaigns/{a['id']}/next", headers=agent.headers)).json()
    assert card["contact"]["number"] == "13800138001"
    await client.post(f"/api/outbound/dials/{card['dial']['id']}/result", json={"result": "success"}, headers=agent.headers)
    # dialled once today by campaign a: campaign b waits until tomorrow
    assert (await client.post(f"/api/outbound/campaigns/{b['id']}/next", headers=agent.headers)).json() is None
    app.state.settings.outbound_max_dials_day = 0
    assert (await client.post(f"/api/outbound/campaigns/{b['id']}/next", headers=agent.headers)).json()["contact"]["number"] == "13800138001"


async def test_export_masks_numbers_for_leads(client, make_user, make_team):
    admin = await make_user(Role.admin)
    lead = await make_user(Role.team_lead)
    team = await make_team(lead)
    c = await campaign(client, lead.headers, team_id=team)
    await upload(client, admin.headers, c["id"], csv_bytes([["number", "name", "unit"], ["13812348000", "张三", "3栋1201"]]))
    url = f"/api/outbound/campaigns/{c['id']}/contacts.csv"
    full = (await client.get(url, headers=admin.headers)).content.decode("utf-8-sig")
    masked = (await client.get(url, headers=lead.headers)).content.decode("utf-8-sig")
    assert full.splitlines()[0] == "number,name,status,attempts,last_result,next_at,unit"
    assert "13812348000,张三,pending,0,,,3栋1201" in full
    assert "138****8000,张三,pending,0,,,3栋1201" in masked and "13812348000" not in masked


async def test_a_predictive_call_put_through_shows_its_card_and_becomes_the_agents(client, make_user, app, db):
    from types import SimpleNamespace

    from callcenter.outbound.models import Campaign, CampaignContact, CampaignStatus, Dial, DialMode, DialState, Script

    me = await make_user(Role.agent, queues=[("sales", 0)], interface="PJSIP/8001")
    other = await make_user(Role.agent, queues=[("sales", 0)], interface="PJSIP/8002")
    async with db.sessions() as s:
        c = Campaign(name="pd", type="sales", queue="sales", mode=DialMode.predictive, status=CampaignStatus.running)
        s.add(c)
        await s.flush()
        contact = CampaignContact(campaign_id=c.id, number="13900139001", name="赵六", data={"unit": "5栋101"})
        s.add_all([contact, Script(campaign_id=c.id, version=1, body="您好")])
        await s.flush()
        d = Dial(campaign_id=c.id, contact_id=contact.id, number=contact.number, live_number=contact.number, channel_id="cc-dial-x1",
                 agent="", state=DialState.sent, script_version=1)  # fmt: skip
        s.add(d)
        await s.commit()
        dial_id = d.id
    calls = {"cc-dial-x1": SimpleNamespace(agent="PJSIP/8001")}
    app.state.acd = SimpleNamespace(core=SimpleNamespace(queue_acd=SimpleNamespace(own=calls.get)))
    assert (await client.post("/api/outbound/calls/cc-dial-x1/card", headers=other.headers)).status_code == 403  # not on their phone
    assert (await client.post("/api/outbound/calls/cc-dial-nope/card", headers=me.headers)).status_code == 404
    assert (await client.post("/api/outbound/calls/bad%20id/card", headers=me.headers)).status_code == 422
    card = (await client.post("/api/outbound/calls/cc-dial-x1/card", headers=me.headers)).json()
    assert card["contact"]["name"] == "赵六" and card["script"]["body"] == "您好" and card["dial"]["id"] == dial_id
    r = await client.post(f"/api/outbound/dials/{dial_id}/result", json={"result": "success"}, headers=me.headers)
    assert r.status_code == 200 and r.json()["status"] == "done"
    assert (await client.post(f"/api/outbound/dials/{dial_id}/result", json={"result": "success"}, headers=other.headers)).status_code == 403
