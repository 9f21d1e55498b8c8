"""Dialling a campaign's contacts through the actions gateway.

A dial is persisted (outbound.service.reserve) before anything is sent,
and marked `sent` in its own commit *before* the Originate goes out: after
a crash a `sent` dial may or may not be on Asterisk, and is never sent
again.  `recover` asks Asterisk (CoreShowChannels) which are still up:
those stay in flight; an agent's dial that is gone waits for the agent's
result (the card is still theirs), a dial with no agent is closed as
failed and retried by the campaign's rules later.  The number stays held
(`live_number`) until then, so nothing is dialled twice at once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.outbound.models import Campaign, CampaignContact, ContactStatus, Dial, DialState
from callcenter.outbound.rules import Result
from callcenter.outbound.service import LIVE_STATES, Refused, dnc_lists, finish
from callcenter.realtime.service import DIAL_CONTEXT  # the desktop's [agents] -> [cc-outbound]: recorded, named on the AMI feed

log = logging.getLogger("callcenter.outbound.dialer")


async def originate(session: AsyncSession, gw: Any, dial: Dial, campaign: Campaign, hotline: str = "") -> Dial:
    """Ring the agent's phone, then the customer (agent first: preview and
    progressive).  Commits `sent` first; an Originate refused at once ends
    the dial as failed (retried by the rules)."""
    if dial.state is not DialState.pending:
        raise ValueError(f"dial {dial.id} is {dial.state.value}, not pending")
    # Checked again at the dial itself: a preview card may have waited while the number was blocked.
    reason = (await dnc_lists(session)).reason(dial.number)
    if reason is not None:
        dial.state, dial.ended_at, dial.live_number, dial.note = DialState.ended, _now(), None, f"do-not-call: {reason}"
        contact = await session.get(CampaignContact, dial.contact_id)
        if contact is not None:
            contact.status = ContactStatus.blocked
        await session.commit()
        raise Refused(409, f"number: {dial.number} is on the do-not-call list ({reason})")
    dial.state = DialState.sent
    await session.commit()
    variables = {"CC_AGENT": dial.agent, "CC_CAMPAIGN": str(campaign.id), "CC_DIAL": dial.channel_id}
    try:
        await gw.originate(
            dial.agent, exten=dial.number, context=DIAL_CONTEXT, caller_id=f'"{dial.number}" <{dial.number}>',
            variables=variables, channel_id=dial.channel_id,
        )  # fmt: skip
    except Exception as exc:  # the gateway's ActionError family, or the link being down
        log.warning("dial %s to %s refused: %s", dial.id, dial.number, exc)
        await finish(session, dial, Result.failed, _now(), note=f"originate refused: {exc}")
        await session.commit()
        raise
    return dial


def _now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


def _on_asterisk(dial: Dial, channels: list[Any]) -> bool:
    for ch in channels:
        get = ch.get if hasattr(ch, "get") else (lambda k, d="": d)
        if get("Uniqueid", "") == dial.channel_id:
            return True
        name = get("Channel", "")
        if dial.agent and name.startswith(dial.agent + "-") and dial.number in (get("Exten", ""), get("ConnectedLineNum", ""), get("CallerIDNum", "")):
            return True
    return False


async def recover(session: AsyncSession, gw: Any, now: datetime) -> dict[str, int]:
    """After a restart: which persisted dials are still on Asterisk."""
    live = (await session.scalars(select(Dial).where(Dial.state.in_(LIVE_STATES), Dial.state != DialState.pending))).all()
    if not live:
        return {"in_flight": 0, "gone": 0, "closed": 0}
    channels = await gw.core_show_channels()
    found = gone = closed = 0
    for d in live:
        if _on_asterisk(d, channels):
            found += 1
        elif d.agent:
            gone += 1
            d.note = (d.note + " " if d.note else "") + "recovered after a restart: no channel left on Asterisk"
        else:
            await finish(session, d, Result.failed, now, note="recovered after a restart: no channel left on Asterisk")
            closed += 1
    await session.commit()
    log.info("dialer recovered: %d in flight, %d awaiting the agent's result, %d closed", found, gone, closed)
    return {"in_flight": found, "gone": gone, "closed": closed}
