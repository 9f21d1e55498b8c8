"""Return visits worked by phone on the real stack (the simulator behind
the real AMI bridge, core and persister, on both databases): the dial goes
out through the gateway's Originate with our ChannelId, the simulator's
recorded outbound call ends as a call record with that Uniqueid, and the
order's timeline names the call and its recording.  Then the result:
not satisfied sends the repair back to REWORK, unreachable retries.
Plus: rectification notices acknowledged and flagged when missed, the
director's scope, follow-ups due at the centre's local midnight."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select, update

from callcenter.acd.models import CallRecord
from callcenter.auth.models import AuditEntry, Role
from callcenter.db import Database
from callcenter.hooks.models import QueueHours
from callcenter.workorders import jobs
from callcenter.workorders.models import RectificationNotice, Task, TimelineEntry, WorkOrder

from ..realtime.stack import PASSWORD, LiveStack
from .test_api import always_open, department, move


async def _login(c: httpx.AsyncClient, user: str) -> dict[str, str]:
    r = await c.post("/api/auth/login", json={"username": user, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _wait(fn, what: str, tries: int = 100):  # noqa: ANN001, ANN202
    for _ in range(tries):
        got = await fn()
        if got:
            return got
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _repair_due_for_visit(c: httpx.AsyncClient, agent: dict[str, str], lead: dict[str, str]) -> tuple[dict, dict]:
    r = await c.post("/api/workorders", json={"kind": "repair", "subject": "厨房水龙头漏水", "number": "13912345678", "unit": "3-2-501"}, headers=agent)
    assert r.status_code == 201, r.text
    o = r.json()
    r = await c.post(f"/api/workorders/{o['id']}/assign", json={"version": o["version"], "assignee_id": o["first_owner_id"]}, headers=lead)
    assert r.status_code == 200, r.text
    o = r.json()
    for s in ("DISPATCHED", "ON_SITE", "DONE", "RETURN_VISIT_DUE"):
        r = await c.post(f"/api/workorders/{o['id']}/state", json={"state": s, "version": o["version"]}, headers=agent)
        assert r.status_code == 200, (s, r.text)
        o = r.json()
    [task] = (await c.get(f"/api/workorders/{o['id']}/tasks", headers=agent)).json()
    return o, task


async def test_return_visit_dialled_recorded_and_linked_on_the_simulator(db_url, tmp_path):
    stack = LiveStack(tmp_path, [{"at": 0, "phone": "PJSIP/8001", "answer_after": 0.5, "miss_prob": 0}], url=db_url)
    db = Database(db_url)
    try:
        async with db.sessions() as s:
            s.add(QueueHours(queue="workorders", calendar={"always_open": True}))
            await s.commit()
        async with httpx.AsyncClient(base_url=stack.server.url, timeout=30) as c:
            agent, lead = await _login(c, "agent01"), await _login(c, "lead")
            r = await c.post("/api/desktop/queues/login", json={"queues": ["repairs"]}, headers=agent)
            assert r.status_code == 200, r.text
            order, task = await _repair_due_for_visit(c, agent, lead)
            r = await c.post(f"/api/workorders/tasks/{task['id']}/dial", headers=agent)
            assert r.status_code == 200, r.text
            uid = r.json()["uniqueid"]
            assert uid.startswith(f"cc-rv-{task['id']}-") and r.json()["number"] == "13912345678"
            # The simulator rings PJSIP/8001, it answers, the customer is dialled through [cc-outbound].
            await _wait(lambda: asyncio.sleep(0, stack.on_sim(lambda: stack.acd.core.agent_view("PJSIP/8001")["state"] == "on_call")), "the agent on the call")
            r = await c.post("/api/desktop/hangup", headers=agent)
            assert r.status_code == 200, r.text
            view = await _wait(lambda: asyncio.sleep(0, (v := stack.on_sim(lambda: stack.acd.core.agent_view("PJSIP/8001")))["state"] != "on_call" and v),
                               "the end of the call")  # fmt: skip
            if view["state"] == "wrap_up":  # an answered outbound call is followed by wrap-up, as a queue call is
                r = await c.post("/api/acd/disposition", json={"call_id": view["wrap_up"]["call_id"], "code": "resolved", "note": "回访：仍漏水"},
                                 headers=agent)  # fmt: skip
                assert r.status_code in (200, 202), r.text

            async def record():  # noqa: ANN202
                async with db.sessions() as s:
                    return (await s.execute(select(CallRecord).where(CallRecord.uniqueid == uid))).scalar_one_or_none()

            rec = await _wait(record, f"the call record of {uid}")
            assert rec.kind == "outbound" and rec.callee_number == "13912345678" and rec.agent == "PJSIP/8001"
            # The result: not satisfied sends the repair back (REWORK); the timeline names the call.
            r = await c.post(f"/api/workorders/tasks/{task['id']}/result", json={"result": "not_satisfied", "note": "仍漏水"}, headers=agent)
            assert r.status_code == 200, r.text
            assert r.json()["uniqueid"] == uid
            o = (await c.get(f"/api/workorders/{order['id']}", headers=agent)).json()
            assert o["state"] == "REWORK" and uid in o["calls"] and o["reopens"] == 1
            tl = (await c.get(f"/api/workorders/{order['id']}/timeline", headers=agent)).json()
            [dialled] = [e for e in tl if e["action"] == "return_visit_dial"]
            assert dialled["detail"]["uniqueid"] == uid and dialled["detail"]["call"]["call_id"] == rec.call_id
            [visit] = [e for e in tl if e["action"] == "return_visit"]
            assert visit["detail"]["result"] == "not_satisfied" and visit["detail"]["call"]["call_id"] == rec.call_id
    finally:
        stack.stop()
        await db.dispose()


async def test_unreachable_retries_then_gives_up(client, make_user, db):
    await always_open(db)
    agent, lead = await make_user(Role.agent), await make_user(Role.team_lead)
    o = (await client.post("/api/workorders", json={"kind": "enquiry", "subject": "停水", "number": "13800138000"}, headers=agent.headers)).json()
    o = await move(client, agent, o, "ANSWERED")
    o = await move(client, agent, o, "CLOSED")
    async with db.sessions() as s:  # an enquiry has no visit: give it one to exercise the schedule
        s.add(Task(key=f"rv:{o['id']}:1", kind="return_visit", order_id=o["id"], number="13800138000", due_at=datetime.now(UTC), assigned_to=agent.user.id))
        await s.commit()
    [task] = (await client.get(f"/api/workorders/{o['id']}/tasks", headers=agent.headers)).json()
    dues = []
    for _ in range(3):
        r = await client.post(f"/api/workorders/tasks/{task['id']}/result", json={"result": "unreachable"}, headers=agent.headers)
        assert r.status_code == 200 and r.json()["status"] == "open"
        dues.append(datetime.fromisoformat(r.json()["due_at"]))
    assert dues == sorted(dues) and dues[0] > datetime.now(UTC)
    r = await client.post(f"/api/workorders/tasks/{task['id']}/result", json={"result": "unreachable"}, headers=agent.headers)
    assert r.json()["status"] == "given_up" and r.json()["attempts"] == 4


async def test_dial_without_asterisk_says_so_and_records_nothing(client, make_user, db):
    await always_open(db)
    agent = await make_user(Role.agent)
    o = (await client.post("/api/workorders", json={"kind": "enquiry", "subject": "停水", "number": "13800138000"}, headers=agent.headers)).json()
    async with db.sessions() as s:
        s.add(Task(key=f"rv:{o['id']}:1", kind="return_visit", order_id=o["id"], number="", due_at=datetime.now(UTC), assigned_to=agent.user.id))
        await s.commit()
    [task] = (await client.get(f"/api/workorders/{o['id']}/tasks", headers=agent.headers)).json()
    r = await client.post(f"/api/workorders/tasks/{task['id']}/dial", headers=agent.headers)
    assert r.status_code == 503 and "AMI link is down" in r.json()["detail"]  # no Asterisk in this app: said, not a 500
    assert (await client.get(f"/api/workorders/{o['id']}/timeline", headers=agent.headers)).json()[-1]["action"] == "created"  # nothing dialled


async def test_rectification_acknowledged_and_flagged_once_when_missed(client, make_user, make_team, db):
    await always_open(db)
    agent, lead, tech, other = (await make_user(Role.agent), await make_user(Role.team_lead), await make_user(Role.department),
                                await make_user(Role.department))  # fmt: skip
    admin = await make_user(Role.admin)
    await make_team(lead, agent)
    dept = await department(client, admin, "engineering", [tech])
    await department(client, admin, "cleaning", [other])
    o = (await client.post("/api/workorders", json={"kind": "repair", "subject": "电梯异响", "department_id": dept}, headers=agent.headers)).json()
    deadline = datetime.now(UTC) + timedelta(hours=4)
    r = await client.post(f"/api/workorders/{o['id']}/rectify", json={"text": "未按承诺时间上门", "deadline_at": deadline.isoformat()}, headers=lead.headers)
    assert r.status_code == 201, r.text
    notice = r.json()
    assert [n["id"] for n in (await client.get("/api/workorders/rectifications?open=true", headers=tech.headers)).json()] == [notice["id"]]
    assert (await client.get("/api/workorders/rectifications", headers=other.headers)).json() == []
    r = await client.post(f"/api/workorders/rectifications/{notice['id']}/acknowledge", json={"note": "明早九点上门"}, headers=other.headers)
    assert r.status_code == 403
    r = await client.post(f"/api/workorders/rectifications/{notice['id']}/acknowledge", json={"note": "明早九点上门"}, headers=tech.headers)
    assert r.status_code == 200 and r.json()["acknowledged_by"] == tech.user.id and r.json()["ack_note"] == "明早九点上门"
    r = await client.post(f"/api/workorders/rectifications/{notice['id']}/acknowledge", json={}, headers=tech.headers)
    assert r.status_code == 409 and r.json()["detail"].startswith("acknowledged_at:")
    # Before the deadline nothing is flagged; after it, once, however often the job runs.
    assert [e for e in await jobs.escalation_job(db, (deadline - timedelta(minutes=1)).isoformat()) if e.get("what") == "rectify_missed"] == []
    async with db.sessions() as s:
        assert (await s.get(RectificationNotice, notice["id"])).missed_at is None
    runs = [await jobs.escalation_job(db, (deadline + timedelta(minutes=m)).isoformat()) for m in (1, 2)]
    assert [e["notice_id"] for e in runs[0] if e.get("what") == "rectify_missed"] == [notice["id"]]
    assert [e for e in runs[1] if e.get("what") == "rectify_missed"] == []
    async with db.sessions() as s:
        assert (await s.get(RectificationNotice, notice["id"])).missed_at is not None
        acts = (await s.execute(select(TimelineEntry.action).where(TimelineEntry.order_id == o["id"]).order_by(TimelineEntry.id))).scalars().all()
        assert acts.count("rectify_missed") == 1 and "rectify_ack" in acts
        assert (await s.execute(select(AuditEntry).where(AuditEntry.action == "workorder.rectify_missed"))).scalars().all()
    [n] = (await client.get(f"/api/workorders/{o['id']}/rectifications", headers=agent.headers)).json()
    assert n["missed_at"] is not None


async def test_director_sees_every_order_and_serious_complaints_are_theirs(client, make_user, db):
    await always_open(db)
    agent, director = await make_user(Role.agent), await make_user(Role.director)
    serious = (await client.post("/api/workorders", json={"kind": "complaint", "severity": "serious", "subject": "电梯困人"}, headers=agent.headers)).json()
    minor = (await client.post("/api/workorders", json={"kind": "complaint", "severity": "minor", "subject": "绿化"}, headers=agent.headers)).json()
    assert (await client.get(f"/api/workorders/{minor['id']}", headers=director.headers)).status_code == 200
    mine = (await client.get("/api/workorders/mine", headers=director.headers)).json()
    assert [o["id"] for o in mine["orders"]] == [serious["id"]]
    board = (await client.get("/api/workorders/board", headers=director.headers)).json()
    assert board["totals"]["open"] == 2
    r = await client.post(f"/api/workorders/{minor['id']}/chase", json={"text": "尽快"}, headers=director.headers)
    assert r.status_code == 200
    assert (await client.post("/api/workorders", json={"kind": "repair", "subject": "x"}, headers=director.headers)).status_code == 403


def test_follow_ups_fall_due_at_the_centres_local_midnight():
    shanghai = ZoneInfo("Asia/Shanghai")
    assert jobs.follow_up_due(date(2026, 11, 26), shanghai) == datetime(2026, 11, 26, 16, tzinfo=UTC)
    assert jobs.follow_up_due(date(2026, 11, 26), ZoneInfo("UTC")) == datetime(2026, 11, 27, tzinfo=UTC)
    # A DST zone: the local day ends at its own midnight (23 hours on the spring-forward day).
    assert jobs.follow_up_due(date(2026, 3, 28), ZoneInfo("Europe/Berlin")) == datetime(2026, 3, 28, 23, tzinfo=UTC)
    assert jobs.follow_up_due(date(2026, 3, 29), ZoneInfo("Europe/Berlin")) == datetime(2026, 3, 29, 22, tzinfo=UTC)


async def test_lead_board_counts_each_order_in_scope_once(client, make_user, make_team, db):
    """The board counts a lead's orders from two disjoint parts (owned by
    their people; assigned to them and owned by others): each order once."""
    await always_open(db)
    a1, a2, outsider, lead, admin = (await make_user(Role.agent), await make_user(Role.agent), await make_user(Role.agent),
                                     await make_user(Role.team_lead), await make_user(Role.admin))  # fmt: skip
    await make_team(lead, a1, a2)
    made = []
    for owner, assignee in ((a1, a2), (a1, None), (outsider, a1), (outsider, outsider), (outsider, None)):
        o = (await client.post("/api/workorders", json={"kind": "enquiry", "subject": "x"}, headers=owner.headers)).json()
        if assignee is not None:
            r = await client.post(f"/api/workorders/{o['id']}/assign", json={"version": o["version"], "assignee_id": assignee.user.id}, headers=admin.headers)
            assert r.status_code == 200, r.text
        made.append(o["id"])
    async with db.sessions() as s:
        await s.execute(update(WorkOrder).where(WorkOrder.id.in_(made)).values(resolve_by=datetime.now(UTC) - timedelta(hours=1), escalation_level=1))
        await s.commit()
    board = (await client.get("/api/workorders/board", headers=lead.headers)).json()
    assert board["totals"] == {"open": 3, "overdue": 3, "escalated": 3}
    assert sorted(o["id"] for o in board["overdue"]) == made[:3] and sorted(o["id"] for o in board["escalated"]) == made[:3]
    assert board["overdue"][0]["late"] is True and "description" not in board["overdue"][0]  # the row, not the whole order
    assert (await client.get("/api/workorders/board", headers=admin.headers)).json()["totals"]["open"] == 5


def test_serious_complaints_and_level_three_reach_the_director_live():
    """重大 complaints go to the director the same day: every live notice of
    one, and of any order raised to the director, reaches role director;
    other orders' notices do not."""
    from callcenter.auth.service import Principal
    from callcenter.workorders.api import _notify_hub

    class Hub:
        def __init__(self) -> None:
            self.sent: list[tuple[dict, object]] = []

        def notice(self, msg: dict, to) -> None:  # noqa: ANN001
            self.sent.append((msg, to))

    director = Principal(id=90, username="boss", role=Role.director, display_name="主任", interface=None)
    agent = Principal(id=91, username="a", role=Role.agent, display_name="a", interface=None)
    hub = Hub()
    for event in ({"what": "created", "order_id": 1, "severity": "serious", "first_owner_id": 5},
                  {"what": "escalated", "order_id": 2, "severity": "normal", "level": 3, "first_owner_id": 5},
                  {"what": "created", "order_id": 3, "severity": "minor", "first_owner_id": 5},
                  {"what": "escalated", "order_id": 4, "severity": "normal", "level": 2, "first_owner_id": 5}):  # fmt: skip
        _notify_hub(hub, event)
    assert [m["event"]["order_id"] for m, to in hub.sent if to(director)] == [1, 2]
    assert [m["event"]["order_id"] for m, to in hub.sent if to(agent)] == []
