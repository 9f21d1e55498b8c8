"""The escalation pass (idempotent, restart-safe, told live over the
websocket) and the grade follow-ups, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import func, select, update

from callcenter.auth.models import AuditEntry, Role
from callcenter.crm.models import Customer
from callcenter.db import Database
from callcenter.workorders import jobs
from callcenter.workorders.models import EscalationRun, Task, TimelineEntry, WorkOrder

from ..realtime.conftest import live, ws_connect  # noqa: F401 - fixtures
from .test_api import always_open


async def _escalations(db: Database, order_id: int) -> list[dict]:
    async with db.sessions() as s:
        rows = (await s.execute(select(TimelineEntry).where(TimelineEntry.order_id == order_id, TimelineEntry.action == "escalate"))).scalars()
        return [r.detail for r in rows]


async def test_escalation_runs_once_and_survives_a_restart(client, make_user, make_team, db, db_url):
    await always_open(db)
    agent, lead = await make_user(Role.agent), await make_user(Role.team_lead)
    await make_team(lead, agent)
    r = await client.post("/api/workorders", json={"kind": "complaint", "severity": "important", "subject": "物业费多收"}, headers=agent.headers)
    o = r.json()
    created = datetime.fromisoformat(o["created_at"])
    async with db.sessions() as s:
        assert await jobs.escalate_due(s, created + timedelta(minutes=30)) == []  # within the hour
        made = await jobs.escalate_due(s, created + timedelta(hours=2))
    assert [(m["order_id"], m["to"], m["reason"]) for m in made] == [(o["id"], "department_head", "escalate_missed")]
    async with db.sessions() as s:
        assert await jobs.escalate_due(s, created + timedelta(hours=2)) == []  # twice: once
    assert len(await _escalations(db, o["id"])) == 1
    # A restart: a new engine (nothing in memory) picks up from the orders.
    fresh = Database(db_url)
    try:
        async with fresh.sessions() as s:
            assert await jobs.escalate_due(s, created + timedelta(days=3, hours=1)) == []  # overdue: lead, below the level it has
            made = await jobs.escalate_due(s, created + timedelta(days=5, hours=1))  # resolve + 2 working days: the director
            assert [m["to"] for m in made] == ["director"]
            assert await jobs.escalate_due(s, created + timedelta(days=30)) == []
            order = await s.get(WorkOrder, o["id"])
            assert order.escalation_level == 3 and order.next_escalation_at is None
            assert (await s.execute(select(func.count()).select_from(EscalationRun))).scalar_one() >= 5
            audit = (await s.execute(select(AuditEntry.target).where(AuditEntry.action == "workorder.escalate"))).scalars().all()
            assert audit == [str(o["id"])] * 2
    finally:
        await fresh.dispose()
    board = (await client.get("/api/workorders/board", headers=lead.headers)).json()
    assert board["totals"]["escalated"] == 1 and [x["id"] for x in board["escalated"]] == [o["id"]]


async def test_closed_orders_do_not_escalate(client, make_user, db):
    await always_open(db)
    agent = await make_user(Role.agent)
    o = (await client.post("/api/workorders", json={"kind": "enquiry", "subject": "停车"}, headers=agent.headers)).json()
    r = await client.post(f"/api/workorders/{o['id']}/state", json={"state": "CLOSED", "version": o["version"]}, headers=agent.headers)
    assert r.status_code == 200, r.text
    async with db.sessions() as s:
        assert await jobs.escalate_due(s, datetime.now(UTC) + timedelta(days=60)) == []


async def test_escalation_is_told_live_to_the_lead(live, ws_connect, make_user, make_team, db):  # noqa: F811
    await always_open(db)
    agent, lead, other_lead, admin = await make_user(Role.agent), await make_user(Role.team_lead), await make_user(Role.team_lead), await make_user(Role.admin)
    await make_team(lead, agent)
    ws_lead, ws_other = await ws_connect(lead), await ws_connect(other_lead)
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as c:
        o = (await c.post("/api/workorders", json={"kind": "complaint", "severity": "serious", "subject": "电梯困人"}, headers=agent.headers)).json()
        got = await ws_lead.until(lambda m: m.get("type") == "workorder")
        assert got["event"]["what"] == "created" and got["event"]["order_id"] == o["id"]
        async with db.sessions() as s:  # the same day has passed
            await s.execute(update(WorkOrder).where(WorkOrder.id == o["id"]).values(next_escalation_at=datetime.now(UTC) - timedelta(seconds=1),
                                                                                     escalate_by=datetime.now(UTC) - timedelta(seconds=1)))  # fmt: skip
            row = await s.get(WorkOrder, o["id"])
            row.ladder = [{**step, "at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()} if step["reason"] == "escalate_missed" else step
                          for step in row.ladder]  # fmt: skip
            await s.commit()
        r = await c.post("/api/workorders/escalate", headers=admin.headers)
        assert r.status_code == 200 and [e["to"] for e in r.json()["escalated"]] == ["director"]
        got = await ws_lead.until(lambda m: m.get("type") == "workorder" and m["event"]["what"] == "escalated", timeout=10)
        assert got["event"]["order_id"] == o["id"] and got["event"]["reason"] == "escalate_missed"
    assert [m for m in await ws_other.quiet() if m.get("type") == "workorder"] == []  # not their team


async def test_follow_ups_by_grade(client, make_user, make_team, db):
    agent, lead = await make_user(Role.agent), await make_user(Role.team_lead)
    await make_team(lead, agent)
    ids = []
    for grade in ("A", "E"):
        r = await client.post("/api/customers", json={"name": f"客户{grade}", "phones": [f"1380013800{ord(grade) % 10}"], "grade": grade}, headers=agent.headers)
        ids.append(r.json()["id"])
    today = date(2026, 11, 26)
    now = datetime(2026, 11, 26, 2, tzinfo=UTC)
    async with db.sessions() as s:
        await s.execute(update(Customer).where(Customer.id == ids[0]).values(next_follow_up_on=today - timedelta(days=2)))
        await s.execute(update(Customer).where(Customer.id == ids[1]).values(next_follow_up_on=today + timedelta(days=200)))
        await s.commit()
        assert await jobs.create_follow_ups(s, today, now) == 1
        assert await jobs.create_follow_ups(s, today, now) == 0  # once per customer and due day
        task = (await s.execute(select(Task))).scalar_one()
        assert task.kind == "follow_up" and task.customer_id == ids[0]
        task.assigned_to = agent.user.id
        await s.commit()
    late = (await client.get("/api/workorders/follow-ups/overdue", headers=lead.headers)).json()
    assert [t["customer_id"] for t in late] == [ids[0]]
    mine = (await client.get("/api/workorders/mine", headers=agent.headers)).json()
    assert [t["kind"] for t in mine["tasks"]] == ["follow_up"]
    r = await client.post(f"/api/workorders/tasks/{task.id}/result", json={"result": "satisfied"}, headers=agent.headers)
    assert r.status_code == 422 and r.json()["detail"].startswith("result:")
    r = await client.post(f"/api/workorders/tasks/{task.id}/result", json={"result": "done", "grade": "B", "note": "下周签约"}, headers=agent.headers)
    assert r.status_code == 200, r.text
    c = (await client.get(f"/api/customers/{ids[0]}", headers=agent.headers)).json()
    assert c["grade"] == "B" and date.fromisoformat(c["next_follow_up_on"]) > today  # re-graded: weekly now
    assert (await client.get("/api/workorders/follow-ups/overdue", headers=lead.headers)).json() == []
