"""Campaign logic over the database: who sees which campaign, list import,
do-not-call, reserving the next contact for a dial, and results.

The rules themselves (windows, retries, DNC, the choice of numbers) are in
outbound.rules; here they are fed from the tables.  A reservation is one
transaction: the dial row holds the number in `live_number` (unique), so
two agents, two campaigns or two nodes never dial one number at once.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.auth.models import Role
from callcenter.auth.service import Principal
from callcenter.crm.models import CustomerPhone, Ticket, TicketKind, TicketStatus
from callcenter.outbound import lists
from callcenter.outbound.models import (
    Campaign,
    CampaignContact,
    CampaignStatus,
    ContactStatus,
    Dial,
    DialState,
    DncEntry,
    ListImport,
    Script,
)
from callcenter.outbound.rules import (
    CONTACTS,
    CONVERSATIONS,
    Candidate,
    DoNotCall,
    FrequencyCap,
    Result,
    Window,
    capped,
    matches_segment,
    next_attempt,
    parse_window,
    pick,
    retry_rules,
)

ACTIVE = (CampaignStatus.draft, CampaignStatus.running, CampaignStatus.paused)
LIVE_STATES = (DialState.pending, DialState.sent, DialState.answered)


class Refused(Exception):
    """A request the rules refuse: (status, field, message) for the API."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- scope --------------------------------------------------------------------------------------


def sees(who: Principal, c: Campaign) -> bool:
    """Admin: all.  A lead: the campaigns of the teams they lead, or of a
    queue in their scope.  An agent: the campaigns of their queues."""
    if who.sees.everything:
        return True
    if who.role is Role.team_lead and c.team_id is not None and who.sees.has_team(c.team_id):
        return True
    return bool(c.queue) and c.queue in (who.sees.queues if who.role is Role.team_lead else set(who.queues))


async def visible_campaigns(session: AsyncSession, who: Principal) -> list[Campaign]:
    rows = (await session.scalars(select(Campaign).order_by(Campaign.id))).all()
    return [c for c in rows if sees(who, c)]


def window_of(c: Campaign, extra_holidays: set[date] | None = None) -> Window:
    start, end = parse_window(c.window)
    days = {date.fromisoformat(d) for d in c.holidays} | (extra_holidays or set())
    return Window(start=start, end=end, holidays=frozenset(days))


async def queue_holidays(session: AsyncSession, queue: str) -> set[date]:
    """The holidays of the campaign queue's business calendar (admin: hours)."""
    from callcenter.hooks.models import QueueHours

    if not queue:
        return set()
    row = await session.get(QueueHours, queue)
    out: set[date] = set()
    for d in (row.calendar.get("holidays", []) if row is not None and isinstance(row.calendar, dict) else []):
        try:
            out.add(date.fromisoformat(str(d)))
        except ValueError:
            continue
    return out


# --- do-not-call --------------------------------------------------------------------------------


async def dnc_lists(session: AsyncSession) -> DoNotCall:
    """The three sources: our list, opt-outs, open complaints (by the
    ticket's number and every phone of its customer)."""
    entries = (await session.execute(select(DncEntry.number, DncEntry.source))).all()
    internal = frozenset(n for n, s in entries if s != "opted_out")
    opted = frozenset(n for n, s in entries if s == "opted_out")
    open_complaints = (Ticket.kind == TicketKind.complaint) & (Ticket.status == TicketStatus.open)
    by_ticket = (await session.scalars(select(Ticket.number).where(open_complaints, Ticket.number != ""))).all()
    by_customer = (
        await session.scalars(select(CustomerPhone.number).join(Ticket, Ticket.customer_id == CustomerPhone.customer_id).where(open_complaints))
    ).all()
    return DoNotCall(internal=internal, opted_out=opted, complaints=frozenset(by_ticket) | frozenset(by_customer))


# --- lists ----------------------------------------------------------------------------------------


async def import_list(
    session: AsyncSession, campaign: Campaign, data: bytes, filename: str, strict: bool, who: Principal, area: str
) -> ListImport:
    """Read, check and (unless strict and any row is bad) insert; the report is kept."""
    rows, encoding = lists.read_rows(data)
    others = (
        await session.execute(
            select(CampaignContact.number, Campaign.name)
            .join(Campaign, Campaign.id == CampaignContact.campaign_id)
            .where(Campaign.status.in_(ACTIVE), Campaign.id != campaign.id, CampaignContact.status != ContactStatus.done)
        )
    ).all()
    elsewhere = {n: name for n, name in others}
    already = set((await session.scalars(select(CampaignContact.number).where(CampaignContact.campaign_id == campaign.id))).all())
    good, errors = lists.validate_list(rows, area, campaign.timezone, elsewhere, already)
    applied = not (strict and errors)
    if applied and good:
        for i in range(0, len(good), 2000):
            await session.execute(insert(CampaignContact), [{"campaign_id": campaign.id, **g} for g in good[i : i + 2000]])
    report = ListImport(
        campaign_id=campaign.id, filename=filename[:255], encoding=encoding, rows=len(rows), imported=len(good) if applied else 0,
        applied=applied, errors=[list(e) for e in errors], created_by=who.id,
    )  # fmt: skip
    session.add(report)
    await session.flush()
    return report


# --- the next contact, and its result -------------------------------------------------------------


async def live_numbers(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Dial.live_number).where(Dial.live_number.is_not(None)))).all())


async def latest_script(session: AsyncSession, campaign_id: int) -> Script | None:
    return await session.scalar(select(Script).where(Script.campaign_id == campaign_id).order_by(Script.version.desc()).limit(1))


def in_segment(campaign: Campaign, c: CampaignContact) -> bool:
    if not campaign.segment:
        return True
    return matches_segment(campaign.segment, {**(c.data or {}), "name": c.name, "number": c.number, "timezone": c.timezone or campaign.timezone})


async def candidates(session: AsyncSession, campaign: Campaign, now: datetime, limit: int = 500) -> list[Candidate]:
    """The due entries of the list (of its segment, if it has one)."""
    rows = (
        await session.scalars(
            select(CampaignContact)
            .where(
                CampaignContact.campaign_id == campaign.id,
                CampaignContact.status == ContactStatus.pending,
                or_(CampaignContact.next_at.is_(None), CampaignContact.next_at <= now),
            )
            .order_by(CampaignContact.next_at.is_not(None), CampaignContact.next_at, CampaignContact.id)
            .limit(limit * 4 if campaign.segment else limit)
        )
    ).all()
    rows = [r for r in rows if in_segment(campaign, r)][:limit]
    return [Candidate(r.id, r.number, r.timezone or campaign.timezone, r.next_at, 1 if r.last_result == Result.callback_later else 0) for r in rows]


async def dial_history(session: AsyncSession, numbers: list[str], now: datetime) -> dict[str, list[datetime]]:
    """When each number was dialled in the last 7 days, by any campaign."""
    out: dict[str, list[datetime]] = {}
    for i in range(0, len(numbers), 500):
        rows = (await session.execute(
            select(Dial.number, Dial.created_at).where(Dial.number.in_(numbers[i : i + 500]), Dial.created_at >= now - timedelta(days=7))
        )).all()  # fmt: skip
        for number, at in rows:
            out.setdefault(number, []).append(at)
    return out


async def reserve(
    session: AsyncSession, campaign: Campaign, now: datetime, agent: str, user_id: int | None, extra_holidays: set[date] | None = None, n: int = 1,
    cap: FrequencyCap | None = None,
) -> list[Dial]:  # fmt: skip
    """Take up to `n` contacts for dialling: persisted dials holding their
    numbers.  Commits; a number taken meanwhile by another node is skipped.
    `cap`: the frequency cap across campaigns (numbers over it wait)."""
    if campaign.status is not CampaignStatus.running:
        raise Refused(409, f"campaign {campaign.id} is {campaign.status.value}, not running")
    window = window_of(campaign, (extra_holidays or set()) | await queue_holidays(session, campaign.queue))
    dnc = await dnc_lists(session)
    due = await candidates(session, campaign, now)
    held = await live_numbers(session)
    if cap is not None and cap.active and due:
        held |= capped(await dial_history(session, [c.number for c in due], now), cap, now, ZoneInfo(campaign.timezone))
    chosen = pick(due, now, window, dnc, held, n)
    script = await latest_script(session, campaign.id)
    dials: list[Dial] = []
    for c in chosen:
        dial = Dial(
            campaign_id=campaign.id, contact_id=c.id, number=c.number, live_number=c.number, channel_id=f"cc-dial-{uuid.uuid4().hex[:20]}",
            agent=agent, user_id=user_id, state=DialState.pending, script_version=script.version if script else None, created_at=now,
        )  # fmt: skip
        session.add(dial)
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
            continue
        await session.execute(
            update(CampaignContact).where(CampaignContact.id == c.id).values(status=ContactStatus.dialling, attempts=CampaignContact.attempts + 1)
        )
        await session.commit()
        dials.append(dial)
    return dials


async def finish(
    session: AsyncSession, dial: Dial, result: Result, now: datetime, note: str = "", callback_at: datetime | None = None, talk_s: float = 0.0
) -> CampaignContact:
    """Record a dial's result: the dial ends and frees its number; the
    contact is rescheduled by the campaign's retry rules or finished; a
    "never call me" goes on the do-not-call list."""
    if dial.state is DialState.ended:
        raise Refused(409, f"dial {dial.id} already has its result ({dial.result})")
    campaign = await session.get(Campaign, dial.campaign_id)
    contact = await session.get(CampaignContact, dial.contact_id)
    assert campaign is not None and contact is not None
    same = await session.scalar(
        select(func.count()).select_from(Dial).where(Dial.contact_id == contact.id, Dial.result == result.value)
    )
    dial.state, dial.result, dial.note, dial.ended_at, dial.live_number = DialState.ended, result.value, note, now, None
    dial.talk_s = talk_s
    await link_call(session, dial)
    if result in CONTACTS and dial.answered_at is None:
        dial.answered_at = now
    due = next_attempt(retry_rules(campaign.retries), result, (same or 0) + 1, now, callback_at)
    contact.last_result = result.value
    contact.next_at = due
    contact.status = ContactStatus.pending if due is not None else ContactStatus.done
    if result is Result.do_not_call:
        exists = await session.scalar(select(DncEntry.id).where(DncEntry.number == contact.number))
        if exists is None:
            session.add(DncEntry(number=contact.number, source="opted_out", note=f"campaign {campaign.id}", created_by=dial.user_id))
    await session.flush()
    return contact


async def link_call(session: AsyncSession, dial: Dial) -> None:
    """The dial's call record (the core writes one for every outbound call,
    recorded by [cc-outbound]): by ChannelId where Asterisk honoured it,
    else the agent's first outbound call to the number since the dial."""
    from callcenter.acd.models import CallKind, CallRecord

    q = select(CallRecord).where(CallRecord.kind == CallKind.outbound, CallRecord.callee_number == dial.number)
    rec = await session.scalar(q.where(CallRecord.uniqueid == dial.channel_id).limit(1))
    if rec is None and dial.agent:
        rec = await session.scalar(
            q.where(CallRecord.agent == dial.agent, CallRecord.entered_at >= dial.created_at).order_by(CallRecord.entered_at).limit(1)
        )
    if rec is not None:
        dial.call_id = rec.call_id
        dial.talk_s = dial.talk_s or rec.talk_s
        if rec.answered_at is not None and dial.answered_at is None:
            dial.answered_at = rec.answered_at


async def team_kpis(session: AsyncSession, dials: list[Dial]) -> list[dict[str, Any]]:
    from callcenter.teams.models import Team, TeamMember

    users = {d.user_id for d in dials if d.user_id is not None}
    if not users:
        return []
    rows = (await session.execute(select(TeamMember.user_id, Team.id, Team.name).join(Team, Team.id == TeamMember.team_id).where(TeamMember.user_id.in_(users)))).all()
    teams: dict[tuple[int, str], set[int]] = {}
    for uid, tid, name in rows:
        teams.setdefault((tid, name), set()).add(uid)
    return [{"team_id": tid, "team": name, **kpis([d for d in dials if d.user_id in members], 0, 0)} for (tid, name), members in sorted(teams.items())]


# --- KPIs -------------------------------------------------------------------------------------------


def kpis(dials: list[Dial], list_size: int, touched: int) -> dict[str, Any]:
    """Outbound KPIs over a set of dials (seeds B §4.6, §4.9)."""
    ended = [d for d in dials if d.result]
    contacts = sum(1 for d in ended if d.result in CONTACTS)
    answered = sum(1 for d in ended if d.answered_at is not None or d.result == Result.abandoned)
    abandoned = sum(1 for d in ended if d.result == Result.abandoned)
    success = sum(1 for d in ended if d.result == Result.success)
    return {
        "dials": len(dials),
        "contacts": contacts,
        "contact_rate": contacts / len(ended) if ended else 0.0,
        "conversations": sum(1 for d in ended if d.result in CONVERSATIONS),
        "successes": success,
        "success_rate": success / contacts if contacts else 0.0,
        "success_per_dial": success / len(ended) if ended else 0.0,
        "list_size": list_size,
        "list_utilisation": touched / list_size if list_size else 0.0,
        "talk_s": round(sum(d.talk_s for d in ended), 1),
        "abandoned": abandoned,
        "abandon_rate": abandoned / answered if answered else 0.0,
    }


async def campaign_kpis(session: AsyncSession, campaign_id: int, since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    q = select(Dial).where(Dial.campaign_id == campaign_id)
    if since is not None:
        q = q.where(Dial.created_at >= since)
    if until is not None:
        q = q.where(Dial.created_at < until)
    dials = list((await session.scalars(q)).all())
    size = await session.scalar(select(func.count()).select_from(CampaignContact).where(CampaignContact.campaign_id == campaign_id)) or 0
    touched = await session.scalar(
        select(func.count()).select_from(CampaignContact).where(CampaignContact.campaign_id == campaign_id, CampaignContact.attempts > 0)
    ) or 0
    out = kpis(dials, size, touched)
    by_agent: dict[int, list[Dial]] = {}
    for d in dials:
        if d.user_id is not None:
            by_agent.setdefault(d.user_id, []).append(d)
    from callcenter.auth.models import User

    names = dict((await session.execute(select(User.id, User.display_name).where(User.id.in_(by_agent)))).all()) if by_agent else {}
    out["agents"] = [{"user_id": uid, "name": names.get(uid, ""), **kpis(ds, 0, 0)} for uid, ds in sorted(by_agent.items())]
    out["teams"] = await team_kpis(session, dials)
    return out
