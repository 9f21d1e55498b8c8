"""Call search filters, score summaries and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from callcenter.acd.models import Outcome
from callcenter.auth.models import Role
from callcenter.qa.scoring import DEFAULT_FORM, items

from .factories import make_call

DEF = DEFAULT_FORM["definition"]


def marks(delta: float = 0, veto: bool = False):  # noqa: ANN201
    a = {i["key"]: ({"violated": False} if i["veto"] else {"score": i["weight"]}) for i in items(DEF)}
    a["tone"] = {"score": 10 - delta}
    if veto:
        a["argue"] = {"violated": True}
    return a


async def _score(client, qa, call_id, answers):  # noqa: ANN001, ANN202
    ev = (await client.post(f"/api/qa/calls/{call_id}/evaluations", json={}, headers=qa.headers)).json()
    await client.patch(f"/api/qa/evaluations/{ev['id']}", json={"answers": answers}, headers=qa.headers)
    r = await client.post(f"/api/qa/evaluations/{ev['id']}/submit", headers=qa.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_search_filters(client, db, make_user):
    qa = await make_user(Role.qa)
    await make_user(Role.agent, interface="PJSIP/8001", display_name="王静")
    await make_call(db, "a", agent="PJSIP/8001", queue="repairs", talk_s=300, caller_number="13900001111", disposition="resolved", recording_file="a.wav")
    await make_call(db, "b", agent="PJSIP/8002", queue="complaints", talk_s=40, entered_at=datetime(2026, 11, 20, 3, tzinfo=UTC), disposition="ticket", agent_name="李伟")
    await make_call(db, "c", agent=None, outcome=Outcome.abandoned, entered_at=datetime(2026, 10, 31, 17, tzinfo=UTC), agent_name="")  # Nov 1 in Shanghai
    await _score(client, qa, "a", marks(delta=5))

    async def ids(**params):  # noqa: ANN003, ANN202
        r = await client.get("/api/qa/calls", params=params, headers=qa.headers)
        assert r.status_code == 200, r.text
        return sorted(c["call_id"] for c in r.json()["calls"])

    assert await ids() == ["a", "b", "c"]
    assert await ids(queue="complaints") == ["b"]
    assert await ids(agent="PJSIP/8001") == ["a"]
    assert await ids(agent="王静") == ["a"]  # by name too
    assert await ids(outcome="abandoned") == ["c"]
    assert await ids(min_duration_s=100) == ["a"]
    assert await ids(max_duration_s=100) == ["b", "c"]
    assert await ids(caller="0000111") == ["a"]
    assert await ids(disposition="ticket") == ["b"]
    assert await ids(date_from="2026-11-01", date_to="2026-11-01") == ["c"]
    assert await ids(date_from="2026-11-15") == ["b"]
    assert await ids(month="2026-11") == ["a", "b", "c"]
    assert await ids(min_score=90) == ["a"]
    assert await ids(max_score=90) == []
    assert await ids(evaluated="false") == ["b", "c"]
    r = await client.get("/api/qa/calls", params={"min_score": 101}, headers=qa.headers)
    assert r.status_code == 422 and "min_score" in r.json()["detail"]
    r = await client.get("/api/qa/calls", params={"date_from": "yesterday"}, headers=qa.headers)
    assert r.status_code == 422 and "date_from" in r.json()["detail"]
    row = (await client.get("/api/qa/calls", params={"queue": "repairs"}, headers=qa.headers)).json()["calls"][0]
    assert row["evaluation"]["total"] == 95.0 and row["evaluation"]["status"] == "submitted"


async def test_agents_search_only_their_evaluated_calls(client, db, make_user):
    qa = await make_user(Role.qa)
    me = await make_user(Role.agent, interface="PJSIP/8001")
    await make_call(db, "mine1", agent="PJSIP/8001")
    await make_call(db, "mine2", agent="PJSIP/8001")
    await make_call(db, "theirs", agent="PJSIP/8002")
    await _score(client, qa, "mine1", marks())
    await _score(client, qa, "theirs", marks())
    r = await client.get("/api/qa/calls", headers=me.headers)
    assert [c["call_id"] for c in r.json()["calls"]] == ["mine1"]
    # a draft revision neither hides the call nor shows its working score
    ev_id = r.json()["calls"][0]["evaluation"]["id"]
    rev = (await client.post(f"/api/qa/evaluations/{ev_id}/revisions", headers=qa.headers)).json()
    await client.patch(f"/api/qa/evaluations/{rev['id']}", json={"answers": marks(veto=True)}, headers=qa.headers)
    r = await client.get("/api/qa/calls", headers=me.headers)
    assert [(c["call_id"], c["evaluation"]["id"], c["evaluation"]["total"]) for c in r.json()["calls"]] == [("mine1", ev_id, 100.0)]
    r = await client.get("/api/qa/calls", params={"queue": "repairs", "evaluated": "true"}, headers=qa.headers)
    assert {c["call_id"]: c["evaluation"]["status"] for c in r.json()["calls"]}["mine1"] == "draft"


async def test_summaries_and_csv(client, db, make_user):
    qa = await make_user(Role.qa)
    agent = await make_user(Role.agent, interface="PJSIP/8001", display_name="王静")
    await make_user(Role.agent, interface="PJSIP/8002", display_name="李伟")
    await make_call(db, "a1", agent="PJSIP/8001", queue="repairs")
    await make_call(db, "a2", agent="PJSIP/8001", queue="repairs", entered_at=datetime(2026, 10, 5, tzinfo=UTC))
    await make_call(db, "b1", agent="PJSIP/8002", queue="complaints")
    await _score(client, qa, "a1", marks(delta=10))  # 90
    await _score(client, qa, "a2", marks())  # 100
    await _score(client, qa, "b1", marks(veto=True))  # 0

    by_agent = (await client.get("/api/qa/summary", params={"group": "agent"}, headers=qa.headers)).json()
    assert [(r["key"], r["name"], r["count"], r["average"], r["vetoed"]) for r in by_agent] == [
        ("PJSIP/8001", "王静", 2, 95.0, 0), ("PJSIP/8002", "李伟", 1, 0.0, 1)
    ]
    by_month = (await client.get("/api/qa/summary", params={"group": "month"}, headers=qa.headers)).json()
    assert [(r["key"], r["average"]) for r in by_month] == [("2026-10", 100.0), ("2026-11", 45.0)]
    by_queue = (await client.get("/api/qa/summary", params={"group": "queue", "month_from": "2026-11"}, headers=qa.headers)).json()
    assert [(r["key"], r["average"]) for r in by_queue] == [("complaints", 0.0), ("repairs", 90.0)]
    by_item = {r["key"]: r for r in (await client.get("/api/qa/summary", params={"group": "item"}, headers=qa.headers)).json()}
    assert by_item["tone"]["average"] == round((0 + 100 + 100) / 3, 2)
    assert by_item["argue"]["violations"] == 1 and by_item["argue"]["average"] is None
    # agents get their own figures only, whatever they ask for
    mine = (await client.get("/api/qa/summary", params={"group": "agent", "agent": "PJSIP/8002"}, headers=agent.headers)).json()
    assert [r["key"] for r in mine] == ["PJSIP/8001"]

    r = await client.get("/api/qa/summary.csv", params={"group": "agent"}, headers=qa.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["key", "name", "count", "average"]
    assert rows[1][:4] == ["PJSIP/8001", "王静", "2", "95.0"]
    r = await client.get("/api/qa/summary", params={"group": "colour"}, headers=qa.headers)
    assert r.status_code == 422 and "group" in r.json()["detail"]


async def test_summary_by_team_follows_membership_history(client, db, make_user):
    """"team" is the 班组 the agent was in when the call came in (teams and
    their history), not the queue."""
    from callcenter.teams.models import Team, TeamMember

    qa = await make_user(Role.qa)
    wang = await make_user(Role.agent, interface="PJSIP/8001", display_name="王静")
    li = await make_user(Role.agent, interface="PJSIP/8002", display_name="李伟")
    async with db.sessions() as s:
        early, late = Team(name="早班"), Team(name="晚班")
        s.add_all([early, late])
        await s.flush()
        moved = datetime(2026, 10, 20, tzinfo=UTC)
        s.add_all([
            TeamMember(team_id=early.id, user_id=wang.user.id, from_at=datetime(2026, 1, 1, tzinfo=UTC), to_at=moved),
            TeamMember(team_id=late.id, user_id=wang.user.id, from_at=moved),
            TeamMember(team_id=late.id, user_id=li.user.id, from_at=datetime(2026, 1, 1, tzinfo=UTC)),
        ])  # fmt: skip
        await s.commit()
        early_id, late_id = early.id, late.id
    await make_call(db, "a1", agent="PJSIP/8001", queue="repairs")  # November: 晚班
    await make_call(db, "a2", agent="PJSIP/8001", queue="repairs", entered_at=datetime(2026, 10, 5, tzinfo=UTC))  # 早班 then
    await make_call(db, "b1", agent="PJSIP/8002", queue="repairs")
    await _score(client, qa, "a1", marks(delta=10))  # 90
    await _score(client, qa, "a2", marks())  # 100
    await _score(client, qa, "b1", marks(delta=5))  # 95
    by_team = (await client.get("/api/qa/summary", params={"group": "team"}, headers=qa.headers)).json()
    assert [(r["key"], r["name"], r["count"], r["average"]) for r in by_team] == [
        (f"team:{early_id}", "早班", 1, 100.0), (f"team:{late_id}", "晚班", 2, 92.5)
    ]  # all three calls are in one queue: grouping by queue could not tell the teams apart
    r = await client.get("/api/qa/summary.csv", params={"group": "team"}, headers=qa.headers)
    assert r.status_code == 200 and "晚班" in r.content.decode("utf-8-sig")
