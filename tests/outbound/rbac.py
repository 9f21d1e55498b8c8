"""Seeds for the outbound rows of the RBAC matrix (tests/test_rbac.py):
a campaign of queue 'rbac' (the lead's team, a skill the caller is given)
and one of queue 'elsewhere' (no team of the lead's), dials owned by the
caller, an import report, an arrear."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from sqlalchemy import select

_seq = itertools.count(1)


async def _campaign(db: Any, ctx: Any, queue: str, team_key: str, dial: bool) -> None:
    from callcenter.auth.models import Skill, User
    from callcenter.outbound.models import Campaign, CampaignContact, CampaignStatus, Dial, DialState, ListImport, Script

    n = next(_seq)
    async with db.sessions() as s:
        user = await s.get(User, ctx.me_id) if ctx.me_id else None
        if user is not None and queue == "rbac" and not (await s.execute(select(Skill).where(Skill.user_id == user.id, Skill.queue == "rbac"))).first():
            s.add(Skill(user_id=user.id, queue="rbac", penalty=0))
        c = Campaign(name=f"rbac-{queue}-{n}", type="service", queue=queue, team_id=ctx.ids.get(team_key), status=CampaignStatus.running, window="00:00-00:00")
        s.add(c)
        await s.flush()
        contact = CampaignContact(campaign_id=c.id, number=f"1377{n:07d}")
        s.add_all([contact, Script(campaign_id=c.id, version=1, body="您好")])
        await s.flush()
        report = ListImport(campaign_id=c.id, errors=[[2, "number", "bad"]])
        s.add(report)
        if dial:
            d = Dial(campaign_id=c.id, contact_id=contact.id, number=contact.number, live_number=contact.number, channel_id=f"cc-dial-rbac-{n}",
                     agent=user.interface if user else "", user_id=ctx.me_id or None, state=DialState.pending)  # fmt: skip
            s.add(d)
            await s.flush()
            ctx.ids["dial"] = d.id
            ctx.ids["dial_n"] = n
        await s.commit()
        ctx.ids["campaign"] = c.id
        ctx.ids["import"] = report.id


async def campaign(db: Any, settings: Any, ctx: Any) -> None:
    await _campaign(db, ctx, "rbac", "team", dial=False)


async def foreign_campaign(db: Any, settings: Any, ctx: Any) -> None:
    await _campaign(db, ctx, "elsewhere", "other_team", dial=False)


async def my_dial(db: Any, settings: Any, ctx: Any) -> None:
    await _campaign(db, ctx, "rbac", "team", dial=True)


async def foreign_dial(db: Any, settings: Any, ctx: Any) -> None:
    await _campaign(db, ctx, "elsewhere", "other_team", dial=True)


async def arrear(db: Any, settings: Any, ctx: Any) -> None:
    from callcenter.outbound.models import Arrear

    async with db.sessions() as s:
        a = Arrear(unit=f"1-{next(_seq)}", amount=100.0, period="2026-06", due_on=date(2026, 6, 30))
        s.add(a)
        await s.commit()
        ctx.ids["arrear"] = a.id


async def dnc_entry(client: Any, admin: dict[str, str]) -> dict[str, Any]:
    r = await client.post("/api/outbound/dnc", json={"number": f"1366{next(_seq):07d}"}, headers=admin)
    return {"dnc": r.json()["id"]}


def gateway(app: Any, actors: Any, ids: Any) -> None:
    from .test_api import RecordingGateway

    app.state.gateway = RecordingGateway()


def list_file(_: Any) -> Any:
    return {"file": ("list.csv", f"number\n1355{next(_seq):07d}\n".encode())}


def arrears_file(_: Any) -> Any:
    return {"file": ("a.csv", f"unit,amount,period,due_on\n9-{next(_seq)},10,2026-06,2026-06-30\n".encode())}
