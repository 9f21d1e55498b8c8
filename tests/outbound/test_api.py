"""The outbound API on both databases: campaigns with scope, list import
(encodings, XLSX, strict or row by row, duplicates, the error report),
scripts with versions, do-not-call enforced at every dial, results and
retries, KPIs, same-day callbacks and fee reminders."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from callcenter.acd.models import CallKind, CallRecord, Outcome
from callcenter.auth.models import Role
from callcenter.crm.models import Customer, CustomerPhone, Ticket, TicketKind
from callcenter.outbound.models import CampaignContact, Dial


class RecordingGateway:
    """Records Originates (the simulator test drives the real gateway)."""

    def __init__(self) -> None:
        self.originates: list[dict] = []

    async def originate(self, channel, **kw):  # noqa: ANN001, ANN003, ANN201
        self.originates.append({"channel": channel, **kw})

    async def core_show_channels(self):  # noqa: ANN201
        return []


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    return "\n".join(",".join(r) for r in rows).encode(encoding)


async def campaign(client, headers, **kw):  # noqa: ANN001, ANN003, ANN201
    body = {"name": kw.pop("name", "回访 2026-11"), "type": "service", "queue": "sales", "window": "00:00-00:00"} | kw
    r = await client.post("/api/outbound/campaigns", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def upload(client, headers, cid, data, name="list.csv", strict=False):  # noqa: ANN001, ANN201
    return await client.post(
        f"/api/outbound/campaigns/{cid}/imports", headers=headers, files={"file": (name, data)}, data={"strict": str(strict).lower()}
    )


async def test_campaign_scope_and_validation(client, make_user, make_team):
    admin = await make_user(Role.admin)
    lead = await make_user(Role.team_lead)
    other_lead = await make_user(Role.team_lead)
    agent = await make_user(Role.agent, queues=[("sales", 0)])
    team = await make_team(lead, agent)
    other_team = await make_team(other_lead)
    r = await client.post("/api/outbound/campaigns", json={"name": "x", "type": "sales", "window": "9-21"}, headers=admin.headers)
    assert r.status_code == 422 and "window" in r.text
    r = await client.post("/api/outbound/campaigns", json={"name": "x", "type": "sales", "timezone": "Mars/Base"}, headers=admin.headers)
    assert r.status_code == 422 and "timezone" in r.text
    r = await client.post("/api/outbound/campaigns", json={"name": "x", "type": "sales", "team_id": other_team}, headers=lead.headers)
    assert r.status_code == 403 and "team_id" in r.text
    mine = await campaign(client, lead.headers, team_id=team, queue="")
    theirs = await campaign(client, admin.headers, name="theirs", team_id=other_team, queue="other")
    r = await client.post("/api/outbound/campaigns", json={"name": "theirs", "type": "sales"}, headers=admin.headers)
    assert r.status_code == 409 and "name" in r.text
    assert (await client.get(f"/api/outbound/campaigns/{theirs['id']}", headers=lead.headers)).status_code == 403
    assert [c["id"] for c in (await client.get("/api/outbound/campaigns", headers=lead.headers)).json()] == [mine["id"]]
    assert (await client.get(f"/api/outbound/campaigns/{mine['id']}", headers=agent.headers)).status_code == 403  # not their queue
    sales = await campaign(client, admin.headers, name="sales", queue="sales")
    assert [c["id"] for c in (await client.get("/api/outbound/campaigns", headers=agent.headers)).json()] == [sales["id"]]
    assert (await client.patch(f"/api/outbound/campaigns/{sales['id']}", json={"status": "running"}, headers=agent.headers)).status_code == 403


async def test_list_import_encodings_xlsx_duplicates_and_error_report(client, make_user):
    admin = await make_user(Role.admin)
    c = await campaign(client, admin.headers)
    rows = [["电话", "姓名", "房号"], ["13800138001", "张三", "1-101"], ["+86 138 0013 8002", "李四", "1-102"], ["138-0013-8001", "重复", ""], ["12", "坏号", ""]]
    r = await upload(client, admin.headers, c["id"], csv_bytes(rows, "gb18030"), strict=True)
    body = r.json()
    assert r.status_code == 200 and body["encoding"] == "gb18030" and body["applied"] is False and body["imported"] == 0
    assert {(e["line"], e["field"]) for e in body["errors"]} == {(4, "number"), (5, "number")}
    assert "duplicate of line 2" in body["errors"][0]["reason"]
    report = await client.get(f"/api/outbound/imports/{body['id']}/errors.csv", headers=admin.headers)
    assert report.status_code == 200 and "duplicate of line 2" in report.text and report.text.startswith("\ufeffline,field,reason")
    r = await upload(client, admin.headers, c["id"], csv_bytes(rows, "gb18030"))
    assert r.json()["applied"] and r.json()["imported"] == 2
    big5 = [["電話", "客戶名稱"], ["13800138003", "陳大文"]]
    r = await upload(client, admin.headers, c["id"], csv_bytes(big5, "big5"))
    assert r.json()["encoding"] == "big5" and r.json()["imported"] == 1
    # the same number on another active campaign is refused there
    other = await campaign(client, admin.headers, name="营销")
    book = openpyxl.Workbook()
    book.active.append(["phone", "name", "timezone"])
    book.active.append([13800138001, "张三", ""])
    book.active.append([13800138009, "王五", "America/New_York"])
    book.active.append([13800138010, "赵六", "Mars/Base"])
    buf = io.BytesIO()
    book.save(buf)
    r = await upload(client, admin.headers, other["id"], buf.getvalue(), name="list.xlsx")
    body = r.json()
    assert body["encoding"] == "xlsx" and body["imported"] == 1
    assert [(e["line"], e["field"]) for e in body["errors"]] == [(2, "number"), (4, "timezone")]
    assert "回访 2026-11" in body["errors"][0]["reason"]
    contacts = (await client.get(f"/api/outbound/campaigns/{other['id']}/contacts", headers=admin.headers)).json()
    assert [(x["number"], x["timezone"]) for x in contacts] == [("13800138009", "America/New_York")]
    r = await upload(client, admin.headers, c["id"], b"name\nfoo\n")
    assert r.status_code == 400 and r.json()["detail"].startswith("file:")


async def test_dnc_is_checked_at_every_dial_and_results_retry(client, make_user, app, db):
    gw = app.state.gateway = RecordingGateway()
    admin = await make_user(Role.admin)
    agent = await make_user(Role.agent, queues=[("sales", 0)])
    c = await campaign(client, admin.headers, mode="progressive", retries={"busy": {"delay_s": 600, "max_attempts": 2}})
    numbers = ["13800138001", "13800138002", "13800138003", "13800138004"]
    await upload(client, admin.headers, c["id"], csv_bytes([["number"], *[[n] for n in numbers]]))
    # 1: on our list; 2: opted out; 3: open complaint by a customer's phone
    assert (await client.post("/api/outbound/dnc", json={"number": "138 0013 8001"}, headers=admin.headers)).status_code == 201
    await client.post("/api/outbound/dnc", json={"number": "13800138002", "source": "opted_out"}, headers=admin.headers)
    async with db.sessions() as s:
        cust = Customer(name="投诉人", phones=[CustomerPhone(number="13800138003", raw="13800138003")])
        s.add(cust)
        await s.flush()
        s.add(Ticket(customer_id=cust.id, kind=TicketKind.complaint, subject="噪音"))
        await s.commit()
    chk = (await client.get("/api/outbound/dnc/check", params={"number": "13800138003"}, headers=agent.headers)).json()
    assert chk == {"number": "13800138003", "blocked": True, "reason": "open_complaint"}
    r = await client.post(f"/api/outbound/campaigns/{c['id']}/next", headers=agent.headers)
    assert r.status_code == 409 and "not running" in r.text
    await client.patch(f"/api/outbound/campaigns/{c['id']}", json={"status": "running"}, headers=admin.headers)
    await client.post(f"/api/outbound/campaigns/{c['id']}/scripts", json={"body": "您好，v1"}, headers=admin.headers)
    s2 = await client.post(f"/api/outbound/campaigns/{c['id']}/scripts", json={"body": "您好，v2"}, headers=admin.headers)
    assert s2.json()["version"] == 2
    card = (await client.post(f"/api/outbound/campaigns/{c['id']}/next", headers=agent.headers)).json()
    assert card["contact"]["number"] == "13800138004" and card["script"]["version"] == 2 and card["dial"]["state"] == "sent"
    assert [o["exten"] for o in gw.originates] == ["13800138004"]
    assert gw.originates[0]["channel"] == agent.user.interface and gw.originates[0]["channel_id"].startswith("cc-dial-")
    # asking again returns the held card, never a second dial
    again = (await client.post(f"/api/outbound/campaigns/{c['id']}/next", headers=agent.headers)).json()
    assert again["dial"]["id"] == card["dial"]["id"] and len(gw.originates) == 1
    dial_id = card["dial"]["id"]
    r = await client.post(f"/api/outbound/dials/{dial_id}/result", json={"result": "maybe"}, headers=agent.headers)
    assert r.status_code == 422 and "result" in r.text
    other_agent = await make_user(Role.agent, queues=[("sales", 0)])
    assert (await client.post(f"/api/outbound/dials/{dial_id}/result", json={"result": "busy"}, headers=other_agent.headers)).status_code == 403
    r = await client.post(f"/api/outbound/dials/{dial_id}/result", json={"result": "busy"}, headers=agent.headers)
    assert r.json()["status"] == "pending" and r.json()["attempts"] == 1
    due = datetime.fromisoformat(r.json()["next_at"])
    assert timedelta(seconds=590) < due - datetime.now(UTC) <= timedelta(seconds=600)
    # nothing else may be dialled: the rest is on the do-not-call list, the busy one not due yet
    assert (await client.post(f"/api/outbound/campaigns/{c['id']}/next", headers=agent.headers)).json() is None
    assert (await client.post(f"/api/outbound/dials/{dial_id}/result", json={"result": "busy"}, headers=agent.headers)).status_code == 409
    kpis = (await client.get(f"/api/outbound/campaigns/{c['id']}/kpis", headers=admin.headers)).json()
    assert kpis["dials"] == 1 and kpis["contacts"] == 0 and kpis["list_size"] == 4 and kpis["list_utilisation"] == 0.25
    # a "never call me" ends on the do-not-call list
    async with db.sessions() as s:
        contact = await s.get(CampaignContact, card["contact"]["id"])
        contact.next_at = datetime.now(UTC) - timedelta(seconds=1)
        await s.commit()
    card2 = (await client.post(f"/api/outbound/campaigns/{c['id']}/next", headers=agent.headers)).json()
    assert card2["contact"]["number"] == "13800138004"
    r = await client.post(f"/api/outbound/dials/{card2['dial']['id']}/result", json={"result": "do_not_call"}, headers=agent.headers)
    assert r.json()["status"] == "done"
    chk = (await client.get("/api/outbound/dnc/check", params={"number": "13800138004"}, headers=agent.headers)).json()
    assert chk["reason"] == "opted_out"


async def test_preview_dials_only_when_asked_once(client, make_user, make_team, app, db):
    from callcenter.hooks.models import QueueHours

    gw = app.state.gateway = RecordingGateway()
    admin = await make_user(Role.admin)
    agent = await make_user(Role.agent, queues=[("sales", 0)])
    c = await campaign(client, admin.headers)
    await upload(client, admin.headers, c["id"], csv_bytes([["number"], ["13800138001"]]))
    await client.patch(f"/api/outbound/campaigns/{c['id']}", json={"status": "running"}, headers=admin.headers)
    # today is a holiday in the queue's calendar: nobody is called
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    async with db.sessions() as s:
        s.add(QueueHours(queue="sales", calendar={"holidays": [today.isoformat()]}))
        await s.commit()
    assert (await client.post(f"/api/outbound/campaigns/{c['id']}/next", headers=agent.headers)).json() is None
    async with db.sessions() as s:
        (await s.get(QueueHours, "sales")).calendar = {"holidays": [(today - timedelta(days=1)).isoformat()]}
        await s.commit()
    card = (await client.post(f"/api/outbound/campaigns/{c['id']}/next", headers=agent.headers)).json()
    assert card["dial"]["state"] == "pending" and gw.originates == []
    # blocked while the card waited: the dial itself checks the do-not-call list again
    await upload(client, admin.headers, c["id"], csv_bytes([["number"], ["13800138005"]]))
    blocked = (await client.post(f"/api/outbound/campaigns/{c['id']}/next", headers=await _second_agent(make_user))).json()
    assert blocked["contact"]["number"] == "13800138005"
    await client.post("/api/outbound/dnc", json={"number": "13800138005"}, headers=admin.headers)
    r = await client.post(f"/api/outbound/dials/{blocked['dial']['id']}/dial", headers=admin.headers)
    assert r.status_code == 409 and r.json()["detail"].startswith("number:") and gw.originates == []
    d = await client.post(f"/api/outbound/dials/{card['dial']['id']}/dial", headers=agent.headers)
    assert d.json()["state"] == "sent" and len(gw.originates) == 1
    assert (await client.post(f"/api/outbound/dials/{card['dial']['id']}/dial", headers=agent.headers)).status_code == 409
    # the core's record of the call (kind outbound, [cc-outbound]) is linked to the dial
    now = datetime.now(UTC)
    async with db.sessions() as s:
        s.add(CallRecord(call_id="out-1", uniqueid="1700.9", kind=CallKind.outbound, direction="outbound", queue="", agent=agent.user.interface,
                         callee_number="13800138001", entered_at=now, answered_at=now, talk_s=95.0, outcome=Outcome.answered, legs=[]))  # fmt: skip
        await s.commit()
    r = await client.post(f"/api/outbound/dials/{card['dial']['id']}/result", json={"result": "success"}, headers=agent.headers)
    assert r.json()["status"] == "done"
    async with db.sessions() as s:
        dial = await s.get(Dial, card["dial"]["id"])
        assert (dial.call_id, dial.talk_s) == ("out-1", 95.0)
    kpis = (await client.get(f"/api/outbound/campaigns/{c['id']}/kpis", headers=agent.headers)).json()
    assert kpis["successes"] == 1 and kpis["success_rate"] == 1.0 and kpis["conversations"] == 1 and kpis["talk_s"] == 95.0
    assert [a["user_id"] for a in kpis["agents"]] == [agent.user.id] and kpis["teams"] == []
    team = await make_team(None, agent, name="外呼一组")
    kpis = (await client.get(f"/api/outbound/campaigns/{c['id']}/kpis", headers=admin.headers)).json()
    assert [(x["team_id"], x["team"], x["successes"]) for x in kpis["teams"]] == [(team, "外呼一组", 1)]
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    week = (await client.get(f"/api/outbound/campaigns/{c['id']}/kpis", params={"day": today.isoformat(), "days": 7}, headers=admin.headers)).json()
    assert week["conversations"] == 1
    before = (await client.get(f"/api/outbound/campaigns/{c['id']}/kpis", params={"day": (today - timedelta(days=1)).isoformat()}, headers=admin.headers)).json()
    assert before["dials"] == 0


async def _second_agent(make_user):  # noqa: ANN001, ANN202
    return (await make_user(Role.agent, queues=[("sales", 0)])).headers


def _record(n: int, number: str, outcome: Outcome, at: datetime, *, direction: str = "inbound", answered: bool = False, wait: float = 40, short: bool = False):
    return CallRecord(
        call_id=f"c{n}", uniqueid=f"u{n}", kind=CallKind.queue if direction == "inbound" else CallKind.outbound, direction=direction,
        queue="sales" if direction == "inbound" else "", caller_number=number if direction == "inbound" else "8001",
        callee_number=number if direction == "outbound" else "", entered_at=at, answered_at=at + timedelta(seconds=wait) if answered else None,
        wait_s=wait, outcome=outcome, short_abandon=short, legs=[],
    )  # fmt: skip


async def test_same_day_callbacks_list_retries_sms_and_kpis(client, make_user, app, db, monkeypatch):
    from callcenter.outbound import api as outbound_api
    from callcenter.outbound.sms import LoggingSender

    sms = app.state.sms_sender = LoggingSender()
    admin = await make_user(Role.admin)
    agent = await make_user(Role.agent, queues=[("sales", 0)])
    # Noon of the centre's today: half an hour earlier is still today at any hour the suite runs (it failed just after midnight).
    tz = app.state.settings.tz
    now = datetime.now(tz).replace(hour=12, minute=0, second=0, microsecond=0).astimezone(UTC)
    monkeypatch.setattr(outbound_api, "_now", lambda: now)
    t0 = now - timedelta(minutes=30)
    async with db.sessions() as s:
        s.add_all([
            _record(1, "13800138001", Outcome.abandoned, t0),  # on the list
            _record(2, "", Outcome.abandoned, t0),  # withheld
            _record(3, "13800138003", Outcome.abandoned, t0, wait=3, short=True),  # misdial
            _record(4, "13800138004", Outcome.timeout, t0),  # called again and answered: off
            _record(5, "13800138004", Outcome.answered, t0 + timedelta(minutes=5), answered=True),
            _record(6, "13800138006", Outcome.abandoned, t0),  # called back and reached: off
            _record(7, "13800138006", Outcome.answered, t0 + timedelta(minutes=9), direction="outbound", answered=True),
            _record(8, "13800138008", Outcome.abandoned, t0),
        ])  # fmt: skip
        await s.commit()
    today = (await client.get("/api/outbound/callbacks/today", headers=agent.headers)).json()
    assert sorted(e["number"] for e in today["list"]) == ["13800138001", "13800138008"]
    out = (await client.post("/api/outbound/callbacks/sync", headers=admin.headers)).json()
    assert out == {"listed": 2, "created": 2, "closed": 0}
    assert sorted(m[0] for m in sms.sent) == ["13800138001", "13800138008"]
    assert (await client.post("/api/outbound/callbacks/sync", headers=admin.headers)).json()["created"] == 0
    tasks = {t["number"]: t for t in (await client.get("/api/outbound/callbacks/today", headers=agent.headers)).json()["tasks"]}
    t1, t8 = tasks["13800138001"], tasks["13800138008"]
    r = await client.post(f"/api/outbound/callbacks/{t1['id']}/result", json={"result": "reached"}, headers=agent.headers)
    assert r.json()["status"] == "done"
    for i in range(3):
        r = await client.post(f"/api/outbound/callbacks/{t8['id']}/result", json={"result": "no_answer"}, headers=agent.headers)
        assert r.json()["status"] == ("open" if i < 2 else "done"), i
    assert r.json()["result"] == "failed" and sms.sent[-1][0] == "13800138008" and "优先" in sms.sent[-1][1]
    assert (await client.post(f"/api/outbound/callbacks/{t8['id']}/result", json={"result": "reached"}, headers=agent.headers)).status_code == 409
    k = (await client.get("/api/outbound/callbacks/kpis", headers=admin.headers)).json()
    assert (k["due"], k["made"], k["reached"], k["failed"], k["same_day_share"]) == (2, 2, 1, 1, 1.0)
    assert 1700 < k["abandon_to_callback_median_s"] < 1900
    # a caller who gets through later drops off and the open task closes
    async with db.sessions() as s:
        s.add(_record(9, "13800138010", Outcome.abandoned, t0))
        await s.commit()
    await client.post("/api/outbound/callbacks/sync", headers=admin.headers)
    async with db.sessions() as s:
        s.add(_record(10, "13800138010", Outcome.answered, now, answered=True))
        await s.commit()
    assert (await client.post("/api/outbound/callbacks/sync", headers=admin.headers)).json()["closed"] == 1


async def test_fee_reminders(client, make_user):
    admin = await make_user(Role.admin)
    rows = [["房号", "姓名", "电话", "金额", "账期", "到期日"], ["1-101", "张三", "13800138001", "300.50", "2026-06", "2026-06-30"],
            ["1-102", "李四", "", "200", "2026-06", "2026-06-30"], ["1-103", "", "", "-5", "2026-06", "2026-06-30"],
            ["1-104", "", "", "10", "2026-13", "2026-06-30"]]  # fmt: skip
    r = await client.post("/api/outbound/arrears/import", headers=admin.headers, files={"file": ("a.csv", csv_bytes(rows))})
    body = r.json()
    assert body["imported"] == 2 and [(e["line"], e["field"]) for e in body["errors"]] == [(4, "amount"), (5, "period")]
    due = (await client.get("/api/outbound/arrears/due", params={"day": "2026-07-01"}, headers=admin.headers)).json()
    assert [(d["unit"], d["step"]) for d in due] == [("1-101", "phone"), ("1-102", "phone")]
    a = due[0]["id"]
    r = await client.post(f"/api/outbound/arrears/{a}/steps", json={"step": "fax"}, headers=admin.headers)
    assert r.status_code == 422 and "step" in r.text
    await client.post(f"/api/outbound/arrears/{a}/steps", json={"step": "phone"}, headers=admin.headers)
    await client.post(f"/api/outbound/arrears/{due[1]['id']}/paid", json={"paid_on": "2026-07-05"}, headers=admin.headers)
    k = (await client.get("/api/outbound/arrears/kpis", params={"period": "2026-06"}, headers=admin.headers)).json()
    assert k["bills"] == 2 and k["rate_month_end"] == 0.0 and k["rate_10th"] == pytest.approx(200 / 500.5)
    assert k["steps"]["phone"] == 1
