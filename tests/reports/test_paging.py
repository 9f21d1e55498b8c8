"""Reports answer a page of rows (SQL LIMIT/OFFSET) with the totals, the
per-period totals and the row count over every row: paging through gives
exactly the full report's rows in its order, the totals are the full
report's, and the exports still hold every row.  SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from callcenter.auth.models import Role
from callcenter.auth.scope import EVERYTHING
from callcenter.reports import service
from callcenter.reports.intervals import AGENT_SUMS, QUEUE_FIELDS
from callcenter.reports.store import write_facts
from callcenter.teams.models import TeamMember

# interfaces whose text order differs from numeric and from a locale's order (B < a in code points)
IFACES = ["PJSIP/7", "PJSIP/8", "PJSIP/9", "PJSIP/10", "PJSIP/100", "PJSIP/1000", "PJSIP/B", "PJSIP/a", "SIP/x-1", "PJSIP/8_2", "PJSIP/8-2"]
QUEUES = ["q10", "q9", "Q1", "fees"]
DAYS = [date(2026, 3, 30), date(2026, 3, 31), date(2026, 4, 1)]  # two ISO weeks, two months


@pytest.fixture
async def seeded(db, make_user, make_team, settings):  # noqa: ANN001
    zone = ZoneInfo(settings.timezone)
    agents = [await make_user(Role.agent, interface=i) for i in IFACES]
    for a in agents:
        await make_team(None, a)
    async with db.sessions() as s:
        await s.execute(TeamMember.__table__.update().values(from_at=datetime(2026, 1, 1, tzinfo=UTC)))
        rows = []
        for d_i, d in enumerate(DAYS):
            t0 = datetime.combine(d, datetime.min.time(), zone).timestamp() + 9 * 3600
            for k in range(2):
                start = int(t0 + 1800 * k)
                for n, iface in enumerate(IFACES):
                    row = {"kind": "agent", "interval_start": start, "day": d.isoformat(), "key": iface, **dict.fromkeys(AGENT_SUMS, 0)}
                    row.update(logged_in_s=1800, talk_s=300 + 37 * n + d_i, available_s=600 + 11 * k, wrap_s=60 + n, handled=n + k + d_i,
                               pause_s={"lunch": 30.0 + n} if n % 3 == 0 else {"meeting": 12.5} if n % 3 == 1 else {})  # fmt: skip
                    rows.append(row)
                for n, q in enumerate(QUEUES):
                    row = {"kind": "queue", "interval_start": start, "day": d.isoformat(), "key": q, **dict.fromkeys(QUEUE_FIELDS, 0)}
                    row.update(offered=10 + n + k, answered=9 + n, handled=9 + n, sl_met=7 + k, sl_counted=9 + n, sl30_met=8, sl30_counted=9 + n,
                               wait_answered_s=40.0 * (n + 1), talk_s=900.0 + d_i, max_wait_s=30.0 + 7 * n + d_i + k)  # fmt: skip
                    rows.append(row)
        await write_facts(s, rows)
        await s.commit()
    return zone


@pytest.mark.parametrize("level", ["interval", "daily", "weekly", "monthly"])
@pytest.mark.parametrize("by", ["queue", "agent", "team"])
async def test_pages_make_the_full_report(db, client, make_user, seeded, level, by):
    admin = await make_user(Role.admin)
    p = {"from": DAYS[0].isoformat(), "to": DAYS[-1].isoformat(), "by": by}
    async with db.sessions() as s:
        full = await service.build(s, service.Query(level, by, DAYS[0], DAYS[-1]), seeded, EVERYTHING)  # every row, in Python
    assert full["row_count"] == len(full["rows"]) > 0 and full["limit"] is None
    got, offset = [], 0
    while True:
        r = await client.get(f"/api/reports/{level}", params={**p, "limit": 7, "offset": offset}, headers=admin.headers)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["row_count"] == full["row_count"] and doc["limit"] == 7 and doc["offset"] == offset
        assert doc["totals"] == full["totals"] and doc["by_period"] == full["by_period"] and doc["formulas"] == full["formulas"]
        got += doc["rows"]
        if not doc["rows"]:
            break
        assert len(doc["rows"]) <= 7
        offset += 7
    assert got == full["rows"]  # same rows, same figures, same order
    # the default page is the first 500 rows; the exports hold every row
    doc = (await client.get(f"/api/reports/{level}", params=p, headers=admin.headers)).json()
    assert doc["rows"] == full["rows"][:500] and doc["limit"] == 500 and doc["offset"] == 0
    text = (await client.get(f"/api/reports/{level}", params={**p, "format": "csv", "limit": 1}, headers=admin.headers)).content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert len(lines) == 1 + full["row_count"] + 1 and lines[-1][0] == "total"


async def test_by_period_sums_every_key(db, client, make_user, seeded):
    admin = await make_user(Role.admin)
    p = {"from": DAYS[0].isoformat(), "to": DAYS[-1].isoformat(), "by": "queue", "limit": 1}
    doc = (await client.get("/api/reports/daily", params=p, headers=admin.headers)).json()
    assert [x["period"] for x in doc["by_period"]] == [d.isoformat() for d in DAYS]
    assert all(x["figures"]["offered"] == sum(2 * (10 + n) + 1 for n in range(len(QUEUES))) for x in doc["by_period"])
    assert doc["totals"]["offered"] == 3 * doc["by_period"][0]["figures"]["offered"]
    assert doc["totals"]["max_wait_s"] == 30.0 + 7 * 3 + 2 + 1
    assert len(doc["rows"]) == 1 and doc["row_count"] == 3 * len(QUEUES)
    # an offset past the end: no rows, the same totals
    past = (await client.get("/api/reports/daily", params={**p, "offset": 1000}, headers=admin.headers)).json()
    assert past["rows"] == [] and past["totals"] == doc["totals"] and past["row_count"] == doc["row_count"]


@pytest.mark.parametrize(("name", "value"), [("limit", "0"), ("limit", "5001"), ("limit", "ten"), ("offset", "-1"), ("offset", "x")])
async def test_bad_page_is_a_422_naming_the_field(client, make_user, name, value):
    admin = await make_user(Role.admin)
    p = {"from": "2026-03-01", "to": "2026-03-31", "by": "agent", name: value}
    r = await client.get("/api/reports/daily", params=p, headers=admin.headers)
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == [name]


async def test_the_limits_are_in_the_openapi(client):
    spec = (await client.get("/openapi.json")).json()
    params = {x["name"]: x for x in spec["paths"]["/api/reports/{level}"]["get"]["parameters"]}
    assert params["limit"]["schema"]["default"] == 500 and params["limit"]["schema"]["maximum"] == 5000
    assert params["offset"]["schema"]["default"] == 0 and params["offset"]["schema"]["minimum"] == 0
