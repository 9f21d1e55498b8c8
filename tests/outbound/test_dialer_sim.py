"""The dialer against the simulator (a real TCP AMI server): each dial is
one Originate through the gateway; after a restart the dial in flight is
found on Asterisk and its number is not dialled again, by this or any
campaign, until its result is in."""

from __future__ import annotations

from datetime import UTC, datetime

from callcenter.auth.models import Role
from callcenter.outbound import dialer, service
from callcenter.outbound.models import Campaign, CampaignContact, CampaignStatus, Dial, DialMode, DialState
from callcenter.outbound.rules import Result
from tests.ami.conftest import ami_settings, until

NUMBERS = ["13800138001", "13800138002"]


async def _campaign(db, name: str, numbers: list[str]) -> int:  # noqa: ANN001
    async with db.sessions() as s:
        c = Campaign(name=name, type="sales", mode=DialMode.progressive, status=CampaignStatus.running, window="00:00-00:00")
        s.add(c)
        await s.flush()
        s.add_all(CampaignContact(campaign_id=c.id, number=n) for n in numbers)
        await s.commit()
        return c.id


async def test_dial_restart_recovery_never_double_dials(db, server, make_bridge, make_user):
    pbx = server.pbx
    emitted: list = []
    pbx.sinks.append(emitted.append)
    agent = await make_user(Role.agent, interface="PJSIP/8001")
    pbx.set_phone("PJSIP/8001", answer_after=2)
    pbx.set_phone(f"PJSIP/{NUMBERS[0]}@carrier", answer_after=5)
    bridge = await make_bridge(ami_settings(server.port))
    await until(lambda: bridge.readiness()["ok"], what="the bridge up")
    cid = await _campaign(db, "a", NUMBERS)
    other = await _campaign(db, "b", [NUMBERS[0]])
    now = datetime.now(UTC)

    async with db.sessions() as s:
        campaign = await s.get(Campaign, cid)
        [dial] = await service.reserve(s, campaign, now, agent.user.interface, agent.user.id)
        assert dial.number == NUMBERS[0]
        await dialer.originate(s, bridge.gateway, dial, campaign)
        dial_id = dial.id
    pbx.advance(10)  # the agent answers, then the customer: talking
    assert any(dict(m).get("Event") == "OriginateResponse" for m in emitted)

    # A restart: a new dialer, new sessions; only the database and Asterisk remain.
    async with db.sessions() as s:
        out = await dialer.recover(s, bridge.gateway, now)
        assert out == {"in_flight": 1, "gone": 0, "closed": 0}
        again = await service.reserve(s, await s.get(Campaign, cid), now, "PJSIP/8002", None, n=5)
        assert [d.number for d in again] == [NUMBERS[1]]  # not the number in flight
        assert await service.reserve(s, await s.get(Campaign, other), now, "PJSIP/8003", None, n=5) == []
    originates = [dict(m) for m in emitted if dict(m).get("Event") == "OriginateResponse"]
    assert len(originates) == 1 and originates[0]["Exten"] == NUMBERS[0]
    dials_to_customer = [dict(m) for m in emitted if dict(m).get("Event") == "DialBegin" and dict(m).get("DialString", "").startswith(NUMBERS[0])]
    assert len(dials_to_customer) == 1

    pbx.advance(400)  # the call ends while we are "down"
    async with db.sessions() as s:
        out = await dialer.recover(s, bridge.gateway, now)
        assert out == {"in_flight": 0, "gone": 1, "closed": 0}
        d = await s.get(Dial, dial_id)
        assert d.live_number == NUMBERS[0]  # held until the agent's result
        await service.finish(s, d, Result.success, datetime.now(UTC))
        await s.commit()
        assert (await s.get(Dial, dial_id)).state is DialState.ended
        # now the other campaign may have it
        [d2] = await service.reserve(s, await s.get(Campaign, other), datetime.now(UTC), "PJSIP/8003", None)
        assert d2.number == NUMBERS[0]


async def test_a_dial_without_an_agent_gone_after_a_restart_is_closed_and_retried_later(db, server, make_bridge):
    bridge = await make_bridge(ami_settings(server.port))
    await until(lambda: bridge.readiness()["ok"], what="the bridge up")
    cid = await _campaign(db, "c", [NUMBERS[0]])
    now = datetime.now(UTC)
    async with db.sessions() as s:
        [d] = await service.reserve(s, await s.get(Campaign, cid), now, "", None)
        d.state = DialState.sent  # marked sent, then the process died before (or after) the Originate
        await s.commit()
        out = await dialer.recover(s, bridge.gateway, now)
        assert out == {"in_flight": 0, "gone": 0, "closed": 1}
        contact = await s.get(CampaignContact, d.contact_id)
        assert contact.last_result == "failed" and contact.next_at is not None and contact.next_at > now
        assert await service.reserve(s, await s.get(Campaign, cid), now, "", None) == []  # not due again yet


async def test_an_originate_refused_ends_the_dial_as_failed(db, server, make_bridge, make_user):
    agent = await make_user(Role.agent, interface="PJSIP/8001")
    bridge = await make_bridge(ami_settings(server.port))
    await until(lambda: bridge.readiness()["ok"], what="the bridge up")
    cid = await _campaign(db, "d", [NUMBERS[1]])
    now = datetime.now(UTC)
    async with db.sessions() as s:
        campaign = await s.get(Campaign, cid)
        [d] = await service.reserve(s, campaign, now, "", agent.user.id)  # no channel: Asterisk says "Channel not specified"
        try:
            await dialer.originate(s, bridge.gateway, d, campaign)
        except Exception as exc:  # noqa: BLE001
            assert "Channel" in str(exc)
        else:
            raise AssertionError("the Originate should have been refused")
        d = await s.get(Dial, d.id)
        assert d.state is DialState.ended and d.result == "failed" and d.live_number is None
