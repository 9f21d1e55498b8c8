"""Audit and masking (issue 13): every playback once per listening
session whatever the Range; customer views and exports audited; phone
numbers masked (138****8000) per role and on wallboards."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from callcenter.auth.models import AuditEntry, Role
from callcenter.privacy import mask_phone

from ..qa.factories import make_call, write_wav


async def _audits(db, action: str) -> list[AuditEntry]:  # noqa: ANN001
    async with db.sessions() as s:
        return list((await s.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))).scalars())


@pytest.fixture
async def recorded(db, settings):  # noqa: ANN001, ANN201
    write_wav(settings.recordings_dir / "c1.wav", 3)
    await make_call(db, "call-1", recording_file="c1.wav", caller_number="13812348000")
    return "/api/qa/calls/call-1/audio"


@pytest.mark.parametrize("ranges", [["bytes=1000-"], ["bytes=-963240"], ["bytes=1-,0-0"], ["bytes=500-999", "bytes=0-", None]])
async def test_every_playback_is_audited_once_whatever_the_range(client, make_user, db, recorded, ranges):
    qa = await make_user(Role.qa)
    for rng in ranges:
        headers = {**qa.headers, **({"Range": rng} if rng else {})}
        r = await client.get(recorded, headers=headers)
        assert r.status_code in (200, 206), r.text
        assert r.content  # audio went out ...
    rows = await _audits(db, "recording.play")
    assert [(a.actor, a.target) for a in rows] == [(qa.user.username, "call-1")]  # ... audited exactly once
    assert rows[0].details["range"] == (ranges[0] or "")


async def test_parallel_range_requests_open_one_session(client, make_user, db, recorded):
    qa = await make_user(Role.qa)
    rs = await asyncio.gather(*(client.get(recorded, headers={**qa.headers, "Range": f"bytes={i * 100}-"}) for i in range(6)))
    assert {r.status_code for r in rs} == {206}
    assert len(await _audits(db, "recording.play")) == 1


async def test_another_listener_or_a_download_is_its_own_row(client, make_user, db, recorded):
    qa = await make_user(Role.qa)
    admin = await make_user(Role.admin)
    await client.get(recorded, headers={**qa.headers, "Range": "bytes=-100"})
    await client.get(recorded, headers={**admin.headers, "Range": "bytes=-100"})
    await client.get(recorded, params={"download": True}, headers=qa.headers)
    await client.get(recorded, params={"download": True}, headers={**qa.headers, "Range": "bytes=10-"})
    assert len(await _audits(db, "recording.play")) == 2
    assert len(await _audits(db, "recording.download")) == 2


async def test_customer_views_and_exports_are_audited(client, make_user, db):
    agent = await make_user(Role.agent)
    lead = await make_user(Role.team_lead)
    cid = (await client.post("/api/customers", json={"name": "陈大文", "phones": ["13800138000"]}, headers=agent.headers)).json()["id"]
    assert (await client.get(f"/api/customers/{cid}", headers=agent.headers)).status_code == 200
    assert [(a.actor, a.target) for a in await _audits(db, "customer.view")] == [(agent.user.username, str(cid))]
    assert (await client.get("/api/qa/summary.csv", params={"group": "queue"}, headers=lead.headers)).status_code == 200
    rows = await _audits(db, "export.qa_summary")
    assert len(rows) == 1 and rows[0].actor == lead.user.username and rows[0].target == "queue"


def test_mask_phone():
    assert mask_phone("13812348000") == "138****8000"
    assert mask_phone("+86 138 1234 8000").endswith("8000") and "1234" not in mask_phone("+86 138 1234 8000")
    assert mask_phone("01065521234") == "010****1234"
    assert mask_phone("95555") == "95555" and mask_phone("8001") == "8001"  # service numbers, extensions


async def test_numbers_are_masked_for_the_masked_roles(app, client, make_user, db, settings, recorded):
    """QA (masked by default) sees 138****8000 in calls; an agent sees the
    customer's full number (they call back); a setting masks agents too."""
    qa = await make_user(Role.qa)
    agent = await make_user(Role.agent)
    admin = await make_user(Role.admin)
    calls = (await client.get("/api/qa/calls", headers=qa.headers)).json()["calls"]
    assert calls[0]["caller_number"] == "138****8000"
    detail = (await client.get("/api/qa/calls/call-1", headers=qa.headers)).json()
    assert detail["caller_number"] == "138****8000"
    assert (await client.get("/api/qa/calls", headers=admin.headers)).json()["calls"][0]["caller_number"] == "13812348000"
    cid = (await client.post("/api/customers", json={"name": "陈大文", "phones": ["13900001111"]}, headers=agent.headers)).json()["id"]
    assert (await client.get(f"/api/customers/{cid}", headers=agent.headers)).json()["phones"][0]["number"] == "13900001111"
    app.state.settings = settings.model_copy(update={"phone_masked_roles": ["qa", "agent"]})
    shown = (await client.get(f"/api/customers/{cid}", headers=agent.headers)).json()["phones"][0]
    assert shown == {"number": "139****1111", "raw": "139****1111"}
    found = (await client.get("/api/customers", params={"q": "陈"}, headers=agent.headers)).json()["items"][0]
    assert found["phones"][0]["number"] == "139****1111"


async def test_the_wallboard_masks_callers(app, client, make_user):
    from callcenter.acd import events as ev

    lead = await make_user(Role.team_lead, queues=[("repairs", 0)])
    acd = app.state.acd
    t = acd.stamp()
    for e in (
        ev.MemberAdded(t, "repairs", "PJSIP/8001", "王静", 0, False, "", 1),
        ev.CallerJoined(t, "repairs", "c.1", "c.1", "PJSIP/trunk-1", "13812348000", "", 1, 1),
        ev.CallerLeft(t, "repairs", "c.1", "c.1", 1, 0),
        ev.AgentConnected(t, "repairs", "c.1", "c.1", "PJSIP/8001", "王静", "c.1m", "m", 0, 0),
    ):
        acd.submit(e)
    board = (await client.get("/api/acd/wallboard", headers=lead.headers)).json()
    assert board["agents"]["PJSIP/8001"]["call"]["caller_number"] == "138****8000"
    assert "13812348000" not in str(board)
