"""The admin console's server side, on both databases: the scoped read of
the configuration (the role matrix: an admin sees and may change all of it,
a team lead sees what applies to their queues, read-only), the routing
test, the audit search, changes reaching the running services without a
restart, and calls left without a disposition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.acd.models import CallRecord, Outcome, Queue, default_dispositions
from callcenter.auth.models import Role
from callcenter.crm.models import Customer, CustomerPhone, Grade, Tier
from callcenter.demo import DEMO_HOURS, DEMO_ROUTE_RULES, HOTLINE, VIP_LINE
from callcenter.hooks.schemas import Calendar, RuleIn
from callcenter.hooks.service import put_hours, replace_rules


@pytest.fixture
async def centre(app, db, make_user):  # noqa: ANN001, ANN201
    """Three queues, the demo's routing, an admin, a lead of repairs, agents, a VIP customer."""
    async with db.sessions() as s:
        for name, zh in (("repairs", "报修"), ("complaints", "投诉"), ("vip", "VIP专线"), ("enquiries", "咨询"), ("fees", "缴费")):
            s.add(Queue(name=name, display_name=zh, display_name_en=name.title(), dispositions=default_dispositions()))
        await replace_rules(s, [RuleIn(dnis=d, choice=c, queue=q, vip_queue=v, label=lbl) for d, c, q, v, lbl in DEMO_ROUTE_RULES])
        for queue, cal in DEMO_HOURS.items():
            await put_hours(s, queue, Calendar.model_validate(cal))
        s.add(Customer(name="张三", tier=Tier.vip, grade=Grade.A, phones=[CustomerPhone(number="13800138000", raw="13800138000")]))
        await s.commit()
    await app.state.routes.table.load()
    return {
        "admin": await make_user(Role.admin),
        "lead": await make_user(Role.team_lead, interface="PJSIP/7001", queues=[("repairs", 0)]),
        "qa": await make_user(Role.qa),
        "repairer": await make_user(Role.agent, username="repairer", queues=[("repairs", 0)]),
        "complainer": await make_user(Role.agent, username="complainer", queues=[("complaints", 0)]),
    }


async def test_admin_sees_everything_and_may_edit(client, centre):
    r = await client.get("/api/admin/config", headers=centre["admin"].headers)
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["can_edit"] is True and c["scope"] is None
    assert {q["name"] for q in c["queues"]} == {"repairs", "complaints", "vip", "enquiries", "fees"}
    assert {"repairer", "complainer"} <= {u["username"] for u in c["users"]}
    assert len(c["rules"]) == len(DEMO_ROUTE_RULES)
    assert {h["queue"] for h in c["hours"]} == set(DEMO_HOURS)
    assert c["pause_reasons"][0]["code"] == "break" and "service_level" in c["thresholds"]["kpi"]
    assert c["forms"] and c["teams"] is False


async def test_a_lead_sees_what_applies_to_their_queues_read_only(client, centre):
    c = (await client.get("/api/admin/config", headers=centre["lead"].headers)).json()
    assert c["can_edit"] is False and c["scope"] == ["repairs"]
    assert [q["name"] for q in c["queues"]] == ["repairs"]
    users = {u["username"] for u in c["users"]}
    assert "repairer" in users and "complainer" not in users and centre["lead"].user.username in users
    assert {(r["dnis"], r["choice"]) for r in c["rules"]} == {(HOTLINE, "1")}
    assert [h["queue"] for h in c["hours"]] == ["repairs"]
    # ... and may change none of it: the console's writes are admin-only
    for method, url, body in (
        ("PUT", "/api/queues/repairs", {"display_name": "报修", "sl_threshold_s": 30}),
        ("PUT", "/api/routing/rules", {"rules": []}),
        ("PUT", "/api/routing/hours/repairs", {"always_open": True}),
        ("PUT", "/api/realtime/pause-reasons", {"reasons": [{"code": "x", "zh": "x", "en": "x"}]}),
        ("POST", "/api/users", {"username": "x1", "password": "湖边-静夜-蓝桥-7x", "display_name": "x", "role": "agent"}),
        ("GET", "/api/admin/audit", None),
    ):
        r = await client.request(method, url, json=body, headers=centre["lead"].headers)
        assert r.status_code == 403, (url, r.status_code, r.text)
        assert r.json()["code"] == "http_403"
    for who in ("qa", "repairer"):
        assert (await client.get("/api/admin/config", headers=centre[who].headers)).status_code == 403


async def test_routing_test_answers_like_the_hook_and_records_nothing(app, client, centre):
    h = centre["admin"].headers
    weekday_10am = "2026-01-14T10:00:00"  # the centre's local time (Asia/Shanghai)
    r = await client.post("/api/admin/routing/test", json={"caller": "13800138000", "dnis": HOTLINE, "choice": "1", "at": weekday_10am}, headers=h)
    assert r.status_code == 200, r.text
    d = r.json()
    # a VIP on the repairs key goes to the VIP line, first in line
    assert d["queue"] == "vip" and d["action"] == "queue" and d["customer_name"] == "张三"
    assert "vip_line" in d["reasons"] and "tier:vip" in d["reasons"] and d["priority"] >= 10
    assert d["rule"]["queue"] == "repairs"
    # an unknown caller at night on the repairs key reaches the night duty phone
    r = await client.post("/api/admin/routing/test", json={"caller": "13911112222", "dnis": HOTLINE, "choice": "1", "at": "2026-01-14T23:00:00+08:00"}, headers=h)
    d = r.json()
    assert d["queue"] == "repairs" and d["action"] == "duty" and d["duty"] == "13900001111" and "unknown_caller" in d["reasons"]
    # a lead may ask too; bad input is a 422 naming the field
    assert (await client.post("/api/admin/routing/test", json={"dnis": VIP_LINE}, headers=centre["lead"].headers)).json()["queue"] == "vip"
    bad = await client.post("/api/admin/routing/test", json={"caller": "138;drop"}, headers=h)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid" and bad.json()["errors"][0]["field"] == "caller"
    await app.state.routes.log.flush()
    assert app.state.routes.log.pending == []
    async with app.state.db.sessions() as s:
        from sqlalchemy import func, select

        from callcenter.hooks.models import RouteDecision

        assert await s.scalar(select(func.count()).select_from(RouteDecision)) == 0


async def test_changes_are_audited_searchable_and_reach_the_running_services(app, client, centre):
    h = centre["admin"].headers
    # a queue's SL settings reach the running core at once
    r = await client.put("/api/queues/repairs", json={"display_name": "报修", "sl_threshold_s": 45, "short_abandon_s": 8, "abandon_mode": "ignore"}, headers=h)
    assert r.status_code == 200, r.text
    qc = app.state.acd.core.config.queue("repairs")
    assert (qc.sl_threshold_s, qc.short_abandon_s, qc.abandon_mode) == (45, 8, "ignore")
    # a routing change is used by the next call
    rules = [{"dnis": "", "choice": "", "queue": "fees"}]
    assert (await client.put("/api/routing/rules", json={"rules": rules}, headers=h)).status_code == 200
    assert (await client.post("/api/admin/routing/test", json={"dnis": HOTLINE}, headers=h)).json()["queue"] == "fees"
    # a pause limit: open pages are told to fetch it again
    sent = []
    app.state.hub.settings_changed = sent.append
    reasons = [{"code": "break", "zh": "小休", "en": "Break", "max_s": 300}]
    assert (await client.put("/api/realtime/pause-reasons", json={"reasons": reasons}, headers=h)).status_code == 200
    assert sent == ["pause_reasons"]
    r = await client.post("/api/users", json={"username": "newbie", "password": "湖边-静夜-蓝桥-7x", "display_name": "新人", "role": "agent",
                                               "interface": "Local/8101@agents/n", "skills": [{"queue": "repairs", "penalty": 2}]}, headers=h)
    assert r.status_code == 201, r.text
    # the audit log has every change, newest first, and finds them by words, action and time
    page = (await client.get("/api/admin/audit", headers=h)).json()
    actions = [e["action"] for e in page["items"]]
    assert actions[:4] == ["user.create", "realtime.pause_reasons", "routing.rules", "queue.put"]
    assert {"queue.put", "routing.rules", "user.create"} <= set(page["actions"])
    found = (await client.get("/api/admin/audit", params={"q": "NEWBIE"}, headers=h)).json()
    assert [e["target"] for e in found["items"]] == ["newbie"] and found["total"] == 1
    assert [e["action"] for e in (await client.get("/api/admin/audit", params={"action": "queue."}, headers=h)).json()["items"]] == ["queue.put"]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await client.get("/api/admin/audit", params={"since": later}, headers=h)).json()["total"] == 0
    naive = await client.get("/api/admin/audit", params={"since": "2026-01-01T00:00:00"}, headers=h)
    assert naive.status_code == 422 and "since" in naive.json()["detail"]


async def test_interfaces_may_be_local_channels(client, centre):
    h = centre["admin"].headers
    for ok in ("PJSIP/8001", "Local/8001@agents", "Local/8001@from-queue/n", "SIP/trunk-1"):
        r = await client.patch(f"/api/users/{centre['repairer'].user.id}", json={"interface": ok}, headers=h)
        assert r.status_code == 200 and r.json()["interface"] == ok, r.text
    for bad in ("Local/8001", "PJSIP/", "Local/8001@agents/x/y", "8001"):
        r = await client.patch(f"/api/users/{centre['repairer'].user.id}", json={"interface": bad}, headers=h)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "interface", (bad, r.text)


async def _undisposed_call(db, call_id: str, queue: str, agent: str, disposition: str | None = None, wrap_s: float = 60.0) -> None:
    now = datetime.now(UTC)
    async with db.sessions() as s:
        s.add(CallRecord(call_id=call_id, uniqueid=call_id, queue=queue, caller_number="13800138000", entered_at=now - timedelta(minutes=5),
                         answered_at=now - timedelta(minutes=4), ended_at=now - timedelta(minutes=2), agent=agent, agent_name="王静",
                         outcome=Outcome.answered, wrap_up_s=wrap_s, disposition=disposition, timeline=[]))  # fmt: skip
        await s.commit()


async def test_calls_without_a_disposition_are_listed_and_completed(client, db, centre):
    me = centre["repairer"]
    await _undisposed_call(db, "c1", "repairs", me.user.interface)
    await _undisposed_call(db, "c2", "repairs", me.user.interface, disposition="resolved")  # done
    await _undisposed_call(db, "c3", "repairs", me.user.interface, wrap_s=0)  # a queue without wrap-up
    await _undisposed_call(db, "c4", "complaints", centre["complainer"].user.interface)
    mine = (await client.get("/api/acd/undisposed", headers=me.headers)).json()
    assert [c["call_id"] for c in mine["items"]] == ["c1"]
    assert [c["call_id"] for c in (await client.get("/api/acd/undisposed", headers=centre["lead"].headers)).json()["items"]] == ["c1"]
    assert {c["call_id"] for c in (await client.get("/api/acd/undisposed", headers=centre["admin"].headers)).json()["items"]} == {"c1", "c4"}
    assert (await client.get("/api/acd/undisposed", headers=centre["qa"].headers)).status_code == 403
    # someone else's call is not mine to complete; a code must be the queue's; then it is done, once
    r = await client.post("/api/acd/calls/c4/disposition", json={"code": "resolved"}, headers=me.headers)
    assert r.status_code == 404 and r.json()["code"] == "no_call"
    r = await client.post("/api/acd/calls/c1/disposition", json={"code": "nonsense"}, headers=me.headers)
    assert r.status_code == 422 and r.json()["code"] == "unknown_disposition" and r.json()["params"] == {"code": "nonsense", "queue": "repairs"}
    r = await client.post("/api/acd/calls/c1/disposition", json={"code": "ticket", "note": "已建工单"}, headers=me.headers)
    assert r.status_code == 422 and r.json()["code"] == "no_work_order"  # "ticket" links a real order
    r = await client.post("/api/workorders", json={"kind": "repair", "subject": "水管", "uniqueid": "c1"}, headers=me.headers)
    assert r.status_code == 201, r.text
    r = await client.post("/api/acd/calls/c1/disposition", json={"code": "ticket", "note": "已建工单"}, headers=me.headers)
    assert r.status_code == 200 and r.json()["disposition"] == "ticket" and r.json()["disposition_note"] == "已建工单"
    assert (await client.get("/api/acd/undisposed", headers=me.headers)).json()["items"] == []
    again = await client.post("/api/acd/calls/c1/disposition", json={"code": "resolved"}, headers=me.headers)
    assert again.status_code == 409 and again.json()["code"] == "already_disposed"
    # the lead may complete their queue's; the audit log says who did it, late
    assert (await client.post("/api/acd/calls/c4/disposition", json={"code": "other"}, headers=centre["lead"].headers)).status_code == 404
    audit = (await client.get("/api/admin/audit", params={"action": "call.disposition"}, headers=centre["admin"].headers)).json()["items"]
    assert [(e["actor"], e["target"], e["details"]) for e in audit] == [(me.user.username, "c1", {"code": "ticket", "late": True})]
    async with db.sessions() as s:
        from sqlalchemy import select

        row = (await s.execute(select(CallRecord).where(CallRecord.call_id == "c1"))).scalar_one()
        assert row.timeline[-1]["kind"] == "disposition" and row.timeline[-1]["late"] is True and row.timeline[-1]["by"] == me.user.username
