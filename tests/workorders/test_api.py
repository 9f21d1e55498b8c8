"""Work orders over the API, on both databases: create, move (409 on an
illegal move or a stale version), dispatch, return visits, scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from callcenter.auth.models import AuditEntry, Role
from callcenter.hooks.models import QueueHours
from callcenter.workorders.models import Task, TimelineEntry, WorkOrder


async def always_open(db) -> None:  # noqa: ANN001
    """The centre works round the clock: deadlines are plain hours."""
    async with db.sessions() as s:
        s.add(QueueHours(queue="workorders", calendar={"always_open": True}))
        await s.commit()


async def department(client, admin, code: str, members) -> int:  # noqa: ANN001
    r = await client.put(f"/api/workorders/departments/{code}", json={"code": code, "name_zh": "工程部", "name_en": "Engineering",
                                                                       "members": [m.user.id for m in members]}, headers=admin.headers)  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()["id"]


async def move(client, who, order, state: str, text: str = "") -> dict:  # noqa: ANN001
    r = await client.post(f"/api/workorders/{order['id']}/state", json={"state": state, "version": order["version"], "text": text}, headers=who.headers)
    assert r.status_code == 200, (state, r.text)
    return r.json()


async def test_complaint_flow_with_return_visit_and_reopen(client, make_user, make_team, db):
    await always_open(db)
    agent, lead, admin = await make_user(Role.agent), await make_user(Role.team_lead), await make_user(Role.admin)
    await make_team(lead, agent)
    r = await client.post(
        "/api/workorders",
        json={"kind": "complaint", "severity": "important", "subject": "保安态度差", "number": "138-0013-8000", "unit": "3栋1201",
              "uniqueid": "1700000000.1", "channel": "phone_in"},  # fmt: skip
        headers=agent.headers,
    )
    assert r.status_code == 201, r.text
    o = r.json()
    assert o["state"] == "RECEIVED" and o["number"] == "13800138000" and o["first_owner_id"] == agent.user.id
    created = datetime.fromisoformat(o["created_at"])
    assert abs(datetime.fromisoformat(o["escalate_by"]) - (created + timedelta(hours=1))) < timedelta(seconds=2)
    assert abs(datetime.fromisoformat(o["resolve_by"]) - (created + timedelta(days=3))) < timedelta(seconds=2)
    # An illegal move says why; a stale version is caught.
    r = await client.post(f"/api/workorders/{o['id']}/state", json={"state": "RESOLVED", "version": o["version"]}, headers=agent.headers)
    assert r.status_code == 409 and "RECEIVED to RESOLVED" in r.json()["detail"]
    o = await move(client, agent, o, "CLASSIFIED")
    r = await client.post(f"/api/workorders/{o['id']}/state", json={"state": "ASSIGNED", "version": o["version"] - 1}, headers=agent.headers)
    assert r.status_code == 409 and r.json()["detail"].startswith("version:")
    for s in ("ESCALATED", "IN_PROGRESS", "ANSWERED", "RESOLVED"):
        o = await move(client, agent, o, s, "已道歉" if s == "RESOLVED" else "")
    r = await client.post(f"/api/workorders/{o['id']}/state", json={"state": "CLOSED", "version": o["version"]}, headers=agent.headers)
    assert r.status_code == 409
    o = await move(client, agent, o, "RESULT_NOTIFIED")
    o = await move(client, agent, o, "RETURN_VISIT")
    mine = (await client.get("/api/workorders/mine", headers=agent.headers)).json()
    [task] = [t for t in mine["tasks"] if t["order_id"] == o["id"]]
    assert task["kind"] == "return_visit" and task["status"] == "open"
    # Not satisfied reopens, with fresh deadlines; the next visit closes it.
    r = await client.post(f"/api/workorders/tasks/{task['id']}/result", json={"result": "not_satisfied", "note": "还是吵", "uniqueid": "1700000100.5"},
                          headers=agent.headers)  # fmt: skip
    assert r.status_code == 200, r.text
    o = (await client.get(f"/api/workorders/{o['id']}", headers=agent.headers)).json()
    assert o["state"] == "REOPENED" and o["reopens"] == 1 and "1700000100.5" in o["calls"]
    r = await client.post(f"/api/workorders/tasks/{task['id']}/result", json={"result": "satisfied"}, headers=agent.headers)
    assert r.status_code == 409  # that visit is done
    for s in ("IN_PROGRESS", "ANSWERED", "RESOLVED", "RESULT_NOTIFIED", "RETURN_VISIT"):
        o = await move(client, agent, o, s)
    tasks = (await client.get(f"/api/workorders/{o['id']}/tasks", headers=agent.headers)).json()
    assert len(tasks) == 2
    r = await client.post(f"/api/workorders/tasks/{tasks[1]['id']}/result", json={"result": "satisfied"}, headers=lead.headers)
    assert r.status_code == 200 and r.json()["on_time"] is True
    o = (await client.get(f"/api/workorders/{o['id']}", headers=agent.headers)).json()
    assert o["state"] == "CLOSED" and not o["is_open"] and o["satisfaction"] == "satisfied"
    tl = (await client.get(f"/api/workorders/{o['id']}/timeline", headers=lead.headers)).json()
    assert tl[0]["action"] == "created" and [e["action"] for e in tl].count("return_visit") == 2
    # Reports see it.
    csv = (await client.get("/api/workorders/reports/performance.csv", headers=admin.headers)).text
    assert "complaint,1,1," in csv
    weekly = (await client.get("/api/workorders/reports/weekly.csv", headers=admin.headers)).text
    assert weekly.lstrip("\ufeff").startswith("week,intake,chased,feedback,return_visits")


async def test_leak_repair_dispatch_leak_test_unreachable_then_rework(client, make_user, make_team, db):
    await always_open(db)
    agent, lead, admin, tech = await make_user(Role.agent), await make_user(Role.team_lead), await make_user(Role.admin), await make_user(Role.department)
    await make_team(lead, agent)
    dept = await department(client, admin, "engineering", [tech])
    o = (await client.post("/api/workorders", json={"kind": "repair", "category": "leak", "subject": "卫生间漏水"}, headers=agent.headers)).json()
    assert o["state"] == "NEW" and o["severity"] == "normal"
    r = await client.post(f"/api/workorders/{o['id']}/state", json={"state": "DISPATCHED", "version": o["version"]}, headers=agent.headers)
    assert r.status_code == 409 and r.json()["detail"].startswith("department_id:")
    # The department's staff do not see it before it is theirs.
    assert (await client.get(f"/api/workorders/{o['id']}", headers=tech.headers)).status_code == 403
    r = await client.post(f"/api/workorders/{o['id']}/assign", json={"version": o["version"], "department_id": dept}, headers=lead.headers)
    assert r.status_code == 200, r.text
    o = r.json()
    o = await move(client, agent, o, "DISPATCHED")
    o = await move(client, tech, o, "ON_SITE")
    o = await move(client, tech, o, "DONE", "换了密封圈")
    r = await client.post(f"/api/workorders/{o['id']}/state", json={"state": "RETURN_VISIT_DUE", "version": o["version"]}, headers=tech.headers)
    assert r.status_code == 409 and "LEAK_TEST" in r.json()["detail"]
    o = await move(client, tech, o, "LEAK_TEST")
    o = await move(client, tech, o, "RETURN_VISIT_DUE")
    dept_board = (await client.get("/api/workorders/board", headers=tech.headers)).json()
    assert dept_board["totals"]["open"] == 1
    [task] = (await client.get(f"/api/workorders/{o['id']}/tasks", headers=agent.headers)).json()
    due = datetime.fromisoformat(task["due_at"])
    assert timedelta(days=2, hours=23) < due - datetime.fromisoformat(o["updated_at"]) <= timedelta(days=3, seconds=2)  # leak: 3 days
    r = await client.post(f"/api/workorders/tasks/{task['id']}/result", json={"result": "unreachable"}, headers=agent.headers)
    t = r.json()
    assert t["status"] == "open" and t["attempts"] == 1 and datetime.fromisoformat(t["due_at"]) < due  # retried in 2 hours
    r = await client.post(f"/api/workorders/tasks/{task['id']}/result", json={"result": "not_satisfied", "note": "还在渗"}, headers=agent.headers)
    o = (await client.get(f"/api/workorders/{o['id']}", headers=agent.headers)).json()
    assert o["state"] == "REWORK" and o["satisfaction"] == "not_satisfied"
    o = await move(client, tech, o, "DISPATCHED")


async def test_bad_input_names_the_field(client, make_user, db):
    agent = await make_user(Role.agent)
    for body, field in (
        ({"kind": "repair", "subject": "x", "severity": "serious"}, "severity"),
        ({"kind": "complaint", "subject": "x", "severity": "normal"}, "severity"),
        ({"kind": "nope", "subject": "x"}, "kind"),
        ({"kind": "repair", "subject": ""}, "subject"),
        ({"kind": "repair", "subject": "x", "customer_id": 999}, "customer_id"),
        ({"kind": "repair", "subject": "x", "department_id": 999}, "department_id"),
        ({"kind": "repair", "subject": "x", "appointment_at": "2026-01-01T10:00:00"}, "appointment_at"),
    ):
        r = await client.post("/api/workorders", json=body, headers=agent.headers)
        assert r.status_code == 422 and field in r.json()["detail"], (body, r.text)
    r = await client.post("/api/workorders/1/state", json={"state": "DONE"}, headers=agent.headers)
    assert r.status_code == 422 and "version" in r.json()["detail"]


async def test_scope_agents_leads_departments(client, make_user, make_team, db):
    a1, a2 = await make_user(Role.agent), await make_user(Role.agent)
    lead1, lead2 = await make_user(Role.team_lead), await make_user(Role.team_lead)
    admin, staff = await make_user(Role.admin), await make_user(Role.department)
    await make_team(lead1, a1)
    await make_team(lead2, a2)
    o = (await client.post("/api/workorders", json={"kind": "enquiry", "subject": "停水时间"}, headers=a1.headers)).json()
    assert (await client.get(f"/api/workorders/{o['id']}", headers=a2.headers)).status_code == 403
    assert (await client.get(f"/api/workorders/{o['id']}", headers=lead1.headers)).status_code == 200
    assert (await client.get(f"/api/workorders/{o['id']}", headers=lead2.headers)).status_code == 403
    assert (await client.get(f"/api/workorders/{o['id']}", headers=staff.headers)).status_code == 403
    assert (await client.post(f"/api/workorders/{o['id']}/chase", json={"text": "快"}, headers=lead2.headers)).status_code == 403
    assert (await client.post(f"/api/workorders/{o['id']}/chase", json={"text": "快"}, headers=a1.headers)).status_code == 403
    assert (await client.get("/api/workorders", headers=a2.headers)).json()["total"] == 0
    assert (await client.get("/api/workorders", headers=lead1.headers)).json()["total"] == 1
    assert (await client.get("/api/workorders", headers=staff.headers)).json()["total"] == 0
    assert (await client.get("/api/workorders", headers=admin.headers)).json()["total"] == 1
    r = await client.post(f"/api/workorders/{o['id']}/chase", json={"text": "今天内回复"}, headers=lead1.headers)
    assert r.status_code == 200 and r.json()["chases"] == 1
    async with db.sessions() as s:
        assert (await s.execute(select(AuditEntry).where(AuditEntry.action == "workorder.chase"))).scalar_one().target == str(o["id"])


async def test_rectification_and_overdue_plan(client, make_user, make_team, db):
    await always_open(db)
    agent, lead, admin = await make_user(Role.agent), await make_user(Role.team_lead), await make_user(Role.admin)
    await make_team(lead, agent)
    dept = await department(client, admin, "cleaning", [])
    o = (await client.post("/api/workorders", json={"kind": "request", "subject": "清理楼道", "department_id": dept}, headers=agent.headers)).json()
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = await client.post(f"/api/workorders/{o['id']}/rectify", json={"text": "两天未处理,限期整改", "deadline_at": soon}, headers=lead.headers)
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/workorders/{o['id']}/overdue-plan", json={"version": o["version"], "reason": "x", "plan": "y", "new_deadline": soon},
                          headers=agent.headers)  # fmt: skip
    assert r.status_code == 409 and r.json()["detail"].startswith("resolve_by:")  # not overdue yet
    async with db.sessions() as s:
        row = await s.get(WorkOrder, o["id"])
        row.resolve_by = datetime.now(UTC) - timedelta(hours=1)
        await s.commit()
        version = row.version
    r = await client.post(f"/api/workorders/{o['id']}/overdue-plan", json={"version": version, "reason": "缺配件", "plan": "周五到货",
                                                                           "new_deadline": soon}, headers=agent.headers)  # fmt: skip
    assert r.status_code == 200 and r.json()["overdue_plan"] == "周五到货"
    async with db.sessions() as s:
        actions = [e.action for e in (await s.execute(select(TimelineEntry).where(TimelineEntry.order_id == o["id"]))).scalars()]
    assert actions == ["created", "rectify", "overdue_plan"]


async def test_disposition_ticket_needs_a_real_order(client, make_user, db):
    agent = await make_user(Role.agent)
    o = (await client.post("/api/workorders", json={"kind": "repair", "subject": "灯不亮", "uniqueid": "1700000000.9"}, headers=agent.headers)).json()
    page = (await client.get("/api/workorders", params={"uniqueid": "1700000000.9"}, headers=agent.headers)).json()
    assert [i["id"] for i in page["items"]] == [o["id"]]
    async with db.sessions() as s:
        assert (await s.execute(select(Task))).first() is None


async def test_concurrent_edits_one_wins_the_other_gets_409(client, make_user, make_team, db):
    """Both read version 1 and pass the check; the database's version
    compare stops the second write."""
    import asyncio

    agent, lead = await make_user(Role.agent), await make_user(Role.team_lead)
    await make_team(lead, agent)
    o = (await client.post("/api/workorders", json={"kind": "enquiry", "subject": "车位"}, headers=agent.headers)).json()
    results = await asyncio.gather(
        client.post(f"/api/workorders/{o['id']}/state", json={"state": "ASSIGNED", "version": 1}, headers=agent.headers),
        client.post(f"/api/workorders/{o['id']}/assign", json={"version": 1, "assignee_id": agent.user.id}, headers=lead.headers),
        client.post(f"/api/workorders/{o['id']}/state", json={"state": "ANSWERED", "version": 1}, headers=agent.headers),
    )
    codes = sorted(r.status_code for r in results)
    assert codes[0] == 200 and set(codes[1:]) == {409}, [r.text for r in results]
    final = (await client.get(f"/api/workorders/{o['id']}", headers=agent.headers)).json()
    assert final["version"] == 2
