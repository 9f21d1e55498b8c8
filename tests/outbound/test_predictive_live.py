"""Predictive against progressive on the real stack: the simulator (a TCP
AMI server) -> the bridge -> the ACD core -> the dialer, which sends its
Originates back through the gateway (outbound.livesim).  Same list, same
customers, same agents, virtual time; a UserEvent round trip after each
step makes sure the core has seen it all before the dialer decides, so
the run is repeatable.

Predictive dials the customer first into [cc-predictive]: the measured
abandon rate of connected calls must stay at or under the cap, and the
agents must be busier than with progressive (agent first, one call per
free agent) on the same list."""

from __future__ import annotations

from callcenter.outbound.livesim import Floor, run
from callcenter.outbound.models import DialState
from callcenter.outbound.predictive import result_of
from callcenter.outbound.rules import Result

FLOOR = Floor(agents=8, numbers=700, minutes=10, cap=0.03)


async def test_predictive_holds_the_abandon_cap_and_beats_progressive(db):
    pred = await run(db, "predictive", FLOOR)
    prog = await run(db, "progressive", FLOOR)
    fp, fg = pred.figures, prog.figures
    assert fp.answered >= 40, fp  # enough connected calls to measure
    assert fp.abandon_rate <= FLOOR.cap, fp
    assert fg.abandoned == 0, fg  # agent first: nobody answers to silence
    assert pred.utilisation > prog.utilisation, (pred.summary(), prog.summary())
    assert fp.connected > fg.connected, (fp, fg)
    # every dial has its result, one of the dialer's, and the abandons are on the dials
    assert all(d.state is DialState.ended and d.live_number is None for d in pred.dials)
    assert {d.result for d in pred.dials} <= {r.value for r in (Result.normal_conversation, Result.abandoned, Result.no_answer, Result.busy, Result.failed)}
    assert sum(d.result == Result.abandoned for d in pred.dials) == fp.abandoned
    assert len({d.number for d in pred.dials}) == len(pred.dials)  # nobody dialled twice


async def test_a_tight_connect_wait_is_measured_as_abandons(db):
    """The same stack with agents too slow for the wait (their phones answer
    after 3 s, the customer waits 1 s): the drops are seen by the core and
    land on the dials as abandons, and the pacing falls back toward
    progressive once the measured rate is over the cap."""
    floor = Floor(agents=3, numbers=120, minutes=3, connect_s=1.0, cap=0.03, seed=9)
    r = await run(db, "predictive", floor, agent_answer_s=3.0)
    assert r.figures.answered > 0
    assert r.figures.abandoned == r.figures.answered  # nobody was ever reached in time
    assert sum(d.result == Result.abandoned for d in r.dials) == r.figures.abandoned


def test_result_of_a_record():
    assert result_of({"answered_at": 1.0, "queue": "campaigns", "outcome": "answered"}) is Result.normal_conversation
    assert result_of({"answered_at": None, "queue": "campaigns", "outcome": "timeout"}) is Result.abandoned
    assert result_of({"answered_at": None, "queue": "campaigns", "outcome": "abandoned"}) is Result.abandoned
    assert result_of({"answered_at": None, "queue": "campaigns", "outcome": "no_answer"}) is Result.no_answer
    assert result_of({"answered_at": None, "queue": "", "outcome": "busy"}) is Result.busy


async def test_the_app_job_runs_a_dialer_per_running_predictive_campaign(db):
    """outbound.jobs._predictive: a LiveDialer (subscribed to the core) for
    each running predictive campaign, with the campaign's cap and the
    settings' frequency cap; a paused one is dropped once nothing of it is
    in flight."""
    from types import SimpleNamespace

    from callcenter.acd.service import AcdService
    from callcenter.outbound import jobs
    from callcenter.outbound.models import Campaign, CampaignContact, CampaignStatus, DialMode
    from tests.conftest import make_settings

    from .test_api import RecordingGateway

    async with db.sessions() as s:
        c = Campaign(name="pd", type="sales", queue="campaigns", mode=DialMode.predictive, status=CampaignStatus.running, abandon_cap=0.02)
        other = Campaign(name="pv", type="sales", queue="campaigns", status=CampaignStatus.running)
        s.add_all([c, other])
        await s.flush()
        s.add(CampaignContact(campaign_id=c.id, number="13900139001"))
        await s.commit()
        cid = c.id
    acd = AcdService(None, tick_s=None)
    app = SimpleNamespace(state=SimpleNamespace(settings=make_settings(outbound_max_dials_day=2), db=db, gateway=RecordingGateway(), acd=acd))
    dialers: dict = {}
    before = list(acd._listeners)  # the service's own (the queued-callback dialer)
    await jobs._predictive(app, dialers)
    [(d, _)] = dialers.values()
    assert d.campaign_id == cid and d.cap == 0.02 and d.freq_cap.per_day == 2 and len(acd._listeners) == len(before) + 1
    assert app.state.gateway.originates == []  # nobody free in the core's view of the queue: nothing dialled
    async with db.sessions() as s:
        (await s.get(Campaign, cid)).status = CampaignStatus.paused
        await s.commit()
    await jobs._predictive(app, dialers)
    assert dialers == {} and acd._listeners == before
