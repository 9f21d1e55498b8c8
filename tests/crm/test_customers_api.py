"""Customers over the API: CRUD, search by number/name/unit with
pagination, follow-up cadence, tickets, and the screen-pop's lookups."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from callcenter.acd.models import CallRecord, Outcome
from callcenter.auth.models import Role
from callcenter.crm import service
from callcenter.crm.models import CallbackReason


async def test_crud_and_numbers_match_however_written(client, make_user, db):
    agent = await make_user(Role.agent)
    h = agent.headers
    r = await client.post(
        "/api/customers",
        json={"name": "王建国", "phones": ["+86 138 0013 8000", "010-6552 1234"], "unit": "3栋1201", "grade": "A", "tier": "vip",
              "account_manager": "钱经理", "tags": ["业主", "业主", " 楼长 "]},  # fmt: skip
        headers=h,
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert [p["number"] for p in c["phones"]] == ["13800138000", "01065521234"]
    assert c["tags"] == ["业主", "楼长"]
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert c["next_follow_up_on"] == (today + timedelta(days=1)).isoformat()  # grade A: daily
    for q in ("8613800138000", "+86 10 6552 1234", "01065521234", "王建", "1201", "3栋"):
        page = (await client.get("/api/customers", params={"q": q}, headers=h)).json()
        assert [i["id"] for i in page["items"]] == [c["id"]], q
    # The same number for someone else is a conflict, naming the field.
    r = await client.post("/api/customers", json={"name": "李四", "phones": ["13800138000"]}, headers=h)
    assert r.status_code == 409 and r.json()["detail"].startswith("phones:")
    r = await client.patch(f"/api/customers/{c['id']}", json={"phones": ["0755-12345678"], "grade": "E"}, headers=h)
    assert r.status_code == 200 and [p["number"] for p in r.json()["phones"]] == ["075512345678"]
    assert r.json()["grade"] == "E"
    async with db.sessions() as s:
        assert (await service.find_by_number(s, "13800138000", "")) is None
        assert (await service.find_by_number(s, "+86 755 1234 5678", "")).id == c["id"]
    # Agents may not give priority or delete; leads may.
    until = (datetime.now(UTC) + timedelta(hours=4)).isoformat()
    r = await client.patch(f"/api/customers/{c['id']}", json={"priority_until": until}, headers=h)
    assert r.status_code == 403
    lead = await make_user(Role.team_lead)
    r = await client.patch(f"/api/customers/{c['id']}", json={"priority_until": until, "priority_reason": "投诉未结"}, headers=lead.headers)
    assert r.status_code == 200 and r.json()["priority_reason"] == "投诉未结"
    assert (await client.delete(f"/api/customers/{c['id']}", headers=lead.headers)).status_code == 204
    assert (await client.get(f"/api/customers/{c['id']}", headers=h)).status_code == 404


async def test_bad_input_names_the_field(client, make_user):
    h = (await make_user(Role.agent)).headers
    r = await client.post("/api/customers", json={"name": "x", "phones": ["abc"], "grade": "F"}, headers=h)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"phones.0", "grade"} <= fields
    r = await client.get("/api/customers", params={"page_size": 1000}, headers=h)
    assert r.status_code == 422 and "page_size" in r.json()["detail"]


async def test_search_paginates(client, make_user):
    h = (await make_user(Role.agent)).headers
    for i in range(7):
        await client.post("/api/customers", json={"name": f"刘丽华{i}", "phones": [f"1370000000{i}"], "unit": f"5栋{i}01"}, headers=h)
    p1 = (await client.get("/api/customers", params={"q": "刘丽华", "page_size": 3}, headers=h)).json()
    p3 = (await client.get("/api/customers", params={"q": "刘丽华", "page_size": 3, "page": 3}, headers=h)).json()
    assert p1["total"] == 7 and len(p1["items"]) == 3 and len(p3["items"]) == 1
    assert p3["items"][0]["name"] == "刘丽华6"


async def test_follow_up_regrades_and_moves_the_date(client, make_user):
    h = (await make_user(Role.agent)).headers
    c = (await client.post("/api/customers", json={"name": "赵桂英", "phones": ["13600000001"], "grade": "E"}, headers=h)).json()
    r = await client.post(f"/api/customers/{c['id']}/follow-up", json={"grade": "B", "note": "有意向续约"}, headers=h)
    body = r.json()
    assert body["grade"] == "B" and "有意向续约" in body["notes"]
    done = datetime.fromisoformat(body["last_follow_up_at"]).astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert date.fromisoformat(body["next_follow_up_on"]) == done + timedelta(days=7)


async def test_tickets_and_screen_pop_lookups(client, make_user, db):
    h = (await make_user(Role.agent)).headers
    c = (await client.post("/api/customers", json={"name": "孙晓明", "phones": ["13500000001"]}, headers=h)).json()
    t1 = (await client.post("/api/tickets", json={"kind": "repair", "subject": "厨房漏水", "number": "+8613500000001"}, headers=h)).json()
    assert t1["customer_id"] == c["id"] and t1["number"] == "13500000001"
    t2 = (await client.post("/api/tickets", json={"kind": "complaint", "subject": "噪音", "customer_id": c["id"]}, headers=h)).json()
    r = await client.post(f"/api/tickets/{t1['id']}/close", json={"resolution": "已修复"}, headers=h)
    assert r.json()["status"] == "closed"
    assert [t["id"] for t in (await client.get("/api/tickets", params={"status": "open"}, headers=h)).json()] == [t2["id"]]
    now = datetime.now(UTC)
    async with db.sessions() as s:
        s.add(CallRecord(call_id="k1", uniqueid="1.1", queue="repairs", caller_number="8613500000001",
                         entered_at=now - timedelta(minutes=30), outcome=Outcome.answered, agent_name="王静"))  # fmt: skip
        await s.commit()
        await service.request_callback(s, "13500000001", CallbackReason.requested, "1.2", "repairs", ZoneInfo("Asia/Shanghai"), "")
        await s.commit()
        opened = await service.open_tickets(s, c["id"])
        assert [t["id"] for t in opened] == [t2["id"]] and opened[0]["kind"] == "complaint"
        recent = await service.recent_interactions(s, "+86 135 0000 0001", limit=10, default_area_code="")
    kinds = [i["kind"] for i in recent]
    assert sorted(kinds) == ["call", "callback", "ticket", "ticket"]
    assert [i["at"] for i in recent] == sorted((i["at"] for i in recent), reverse=True)
    call = next(i for i in recent if i["kind"] == "call")
    assert "王静" in call["summary"] and call["outcome"] == "answered"
