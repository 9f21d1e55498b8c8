"""Outbound: campaigns (set up and lists by leads and admins, worked by
agents), the do-not-call list, the same-day callback list, fee reminders.

Scope: a lead acts on the campaigns of the teams they lead (or of queues in
their scope), an agent on the campaigns of their queues and on their own
dials only (outbound.service.sees)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Query, Request, Response, UploadFile, status
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from callcenter.auth.api import Admin, Lead, SessionDep, SettingsDep, require
from callcenter.auth.models import Role
from callcenter.auth.service import Principal, audit
from callcenter.crm.models import CallbackStatus, CallbackTask
from callcenter.crm.schemas import CallbackOut
from callcenter.crm.service import normalise_number
from callcenter.privacy import masks
from callcenter.outbound import callbacks, dialer, fees, lists, rules, service
from callcenter.outbound.models import (
    Arrear,
    Campaign,
    CampaignContact,
    CampaignStatus,
    ContactStatus,
    Dial,
    DialMode,
    DialState,
    DncEntry,
    ListImport,
    Script,
)
from callcenter.outbound.schemas import (
    ArrearOut,
    CallbackResultIn,
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    Card,
    ContactOut,
    DialOut,
    DncCheck,
    DncIn,
    DncOut,
    ImportOut,
    PaidIn,
    ResultIn,
    ScriptIn,
    ScriptOut,
    StepIn,
)
from callcenter.outbound.sms import make_sender
from callcenter.validation import Day, Id, Page

router = APIRouter(prefix="/api/outbound", tags=["outbound"])
Desk = Annotated[Principal, Depends(require(Role.agent, Role.team_lead, Role.admin))]
MAX_UPLOAD = 32 * 1024 * 1024


def _now() -> datetime:
    return datetime.now(UTC)


def _sender(request: Request, settings) -> Any:  # noqa: ANN001
    sender = getattr(request.app.state, "sms_sender", None)
    if sender is None:
        sender = request.app.state.sms_sender = make_sender(settings.sms_provider, settings.sms_url, settings.sms_token)
    return sender


async def _campaign(session, campaign_id: int, who: Principal) -> Campaign:  # noqa: ANN001
    c = await session.get(Campaign, campaign_id)
    if c is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"campaign {campaign_id} not found")
    if not service.sees(who, c):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"campaign {campaign_id} is outside your teams")
    return c


def frequency_cap(settings) -> rules.FrequencyCap:  # noqa: ANN001
    return rules.FrequencyCap(settings.outbound_max_dials_day, settings.outbound_max_dials_week)


def _refused(exc: service.Refused) -> HTTPException:
    return HTTPException(exc.status, exc.message)


# --- campaigns ------------------------------------------------------------------------------------


@router.get("/campaigns", response_model=list[CampaignOut])
async def list_campaigns(who: Desk, session: SessionDep) -> list[Campaign]:
    return await service.visible_campaigns(session, who)


@router.post("/campaigns", response_model=CampaignOut, status_code=201)
async def create_campaign(body: CampaignIn, who: Lead, session: SessionDep, request: Request) -> Campaign:
    if who.role is Role.team_lead and not (body.team_id is not None and who.sees.has_team(body.team_id)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "team_id: a lead creates campaigns for a team they lead")
    data = body.model_dump(mode="json")
    c = Campaign(**data, created_by=who.id)
    session.add(c)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, f"name: a campaign named {body.name!r} exists") from None
    audit(session, who, "campaign.create", str(c.id), request.client.host if request.client else "")
    await session.commit()
    return c


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
async def get_campaign(campaign_id: Id, who: Desk, session: SessionDep) -> Campaign:
    return await _campaign(session, campaign_id, who)


@router.patch("/campaigns/{campaign_id}", response_model=CampaignOut)
async def update_campaign(campaign_id: Id, body: CampaignPatch, who: Lead, session: SessionDep, request: Request) -> Campaign:
    """Settings, and the lifecycle: draft -> running (active) <-> paused ->
    closed (finished, final), each step checked (409 with the reason)."""
    c = await _campaign(session, campaign_id, who)
    changes = {k: v for k, v in body.model_dump(mode="json", exclude_unset=True).items() if v is not None}
    if c.status is CampaignStatus.closed and changes:
        raise HTTPException(status.HTTP_409_CONFLICT, f"status: campaign {campaign_id} is closed (finished): nothing more changes")
    wanted = changes.get("status")
    if wanted is not None and wanted != c.status.value:
        contacts = await session.scalar(select(func.count()).select_from(CampaignContact).where(CampaignContact.campaign_id == c.id)) or 0
        why = rules.transition_refused(c.status.value, wanted, contacts=contacts, queue=changes.get("queue", c.queue), mode=changes.get("mode", c.mode.value))
        if why:
            raise HTTPException(status.HTTP_409_CONFLICT, f"status: {why}")
        audit(session, who, f"campaign.{wanted}", str(c.id), request.client.host if request.client else "")
    for k, v in changes.items():
        setattr(c, k, v)
    await session.commit()
    return c


@router.get("/campaigns/{campaign_id}/segment")
async def segment_size(campaign_id: Id, who: Lead, session: SessionDep) -> dict[str, Any]:
    """How many entries of the list the campaign's segment selects (and how many are still to call)."""
    c = await _campaign(session, campaign_id, who)
    rows = (await session.scalars(select(CampaignContact).where(CampaignContact.campaign_id == c.id))).all()
    chosen = [r for r in rows if service.in_segment(c, r)]
    return {"segment": c.segment, "total": len(rows), "selected": len(chosen),
            "pending": sum(1 for r in chosen if r.status is ContactStatus.pending)}  # fmt: skip


@router.get("/campaigns/{campaign_id}/contacts.csv")
async def export_contacts(campaign_id: Id, who: Lead, session: SessionDep, settings: SettingsDep) -> Response:
    """The list with its results.  Numbers are masked (138****1234) for the
    roles in CALLCENTER_EXPORT_MASKED_ROLES (team_lead) and PHONE_MASKED_ROLES."""
    c = await _campaign(session, campaign_id, who)
    rows = (await session.scalars(select(CampaignContact).where(CampaignContact.campaign_id == c.id).order_by(CampaignContact.id))).all()
    full = not (masks(who.role, settings.export_masked_roles) or masks(who.role, settings.phone_masked_roles))
    body = lists.export_contacts(rows, full)
    return Response(body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="campaign-{c.id}.csv"'})


@router.get("/campaigns/{campaign_id}/contacts", response_model=list[ContactOut])
async def list_contacts(
    campaign_id: Id, who: Lead, session: SessionDep, page: Page = 1, page_size: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[CampaignContact]:
    await _campaign(session, campaign_id, who)
    q = select(CampaignContact).where(CampaignContact.campaign_id == campaign_id).order_by(CampaignContact.id)
    return list((await session.scalars(q.offset((page - 1) * page_size).limit(page_size))).all())


@router.post("/campaigns/{campaign_id}/imports", response_model=ImportOut)
async def import_list(
    campaign_id: Id,
    who: Lead,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8, GB18030 or Big5) or XLSX; a number/电话 column")],
    strict: Annotated[bool, Form(description="all-or-nothing: apply nothing if any row is bad")] = False,
) -> ImportOut:
    c = await _campaign(session, campaign_id, who)
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"file: larger than {MAX_UPLOAD} bytes")
    try:
        report = await service.import_list(session, c, data, file.filename or "", strict, who, settings.default_area_code)
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"file: {exc}") from None
    await session.commit()
    return _import_out(report)


def _import_out(r: ListImport) -> ImportOut:
    return ImportOut(
        id=r.id, encoding=r.encoding, rows=r.rows, imported=r.imported, applied=r.applied,
        errors=[{"line": line, "field": f, "reason": reason} for line, f, reason in r.errors],
    )  # fmt: skip


@router.get("/imports/{import_id}/errors.csv")
async def import_errors(import_id: Id, who: Lead, session: SessionDep) -> Response:
    r = await session.get(ListImport, import_id)
    if r is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"import {import_id} not found")
    await _campaign(session, r.campaign_id, who)
    return Response(
        lists.error_report(r.errors), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{import_id}-errors.csv"'},
    )  # fmt: skip


# --- scripts --------------------------------------------------------------------------------------


@router.get("/campaigns/{campaign_id}/scripts", response_model=list[ScriptOut])
async def list_scripts(campaign_id: Id, who: Desk, session: SessionDep) -> list[Script]:
    await _campaign(session, campaign_id, who)
    return list((await session.scalars(select(Script).where(Script.campaign_id == campaign_id).order_by(Script.version.desc()))).all())


@router.post("/campaigns/{campaign_id}/scripts", response_model=ScriptOut, status_code=201)
async def add_script(campaign_id: Id, body: ScriptIn, who: Lead, session: SessionDep) -> Script:
    """A new version; earlier ones stay (each dial records the version shown)."""
    await _campaign(session, campaign_id, who)
    last = await session.scalar(select(func.max(Script.version)).where(Script.campaign_id == campaign_id)) or 0
    s = Script(campaign_id=campaign_id, version=last + 1, body=body.body, created_by=who.id)
    session.add(s)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "version: another version was saved at the same time; retry") from None
    return s


# --- working a campaign: next card, dial, result ----------------------------------------------------


async def _card(session, dial: Dial) -> Card:  # noqa: ANN001
    contact = await session.get(CampaignContact, dial.contact_id)
    script = None
    if dial.script_version is not None:
        script = await session.scalar(select(Script).where(Script.campaign_id == dial.campaign_id, Script.version == dial.script_version))
    return Card(dial=DialOut.model_validate(dial), contact=ContactOut.model_validate(contact),
                script=ScriptOut.model_validate(script) if script else None)  # fmt: skip


def _gateway(request: Request) -> Any:
    gw = getattr(request.app.state, "gateway", None)
    if gw is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the actions gateway is not running (no connection to Asterisk)")
    return gw


@router.post("/campaigns/{campaign_id}/next", response_model=Card | None)
async def next_card(campaign_id: Id, who: Desk, session: SessionDep, settings: SettingsDep, request: Request) -> Card | None:
    """The agent's next contact (null: none due now).  A card already held
    is returned again.  Preview: the agent dials from the card; progressive
    and predictive: the call is placed at once."""
    c = await _campaign(session, campaign_id, who)
    if not who.interface:
        raise HTTPException(status.HTTP_409_CONFLICT, "interface: you have no phone (interface) to dial from")
    held = await session.scalar(
        select(Dial).where(Dial.user_id == who.id, Dial.campaign_id == c.id, Dial.state.in_(service.LIVE_STATES)).limit(1)
    )
    if held is not None:
        return await _card(session, held)
    try:
        dials = await service.reserve(session, c, _now(), who.interface, who.id, cap=frequency_cap(settings))
    except service.Refused as exc:
        raise _refused(exc) from None
    if not dials:
        return None
    dial = dials[0]
    if c.mode is not DialMode.preview:
        await _originate(session, request, dial, c)
    return await _card(session, dial)


async def _own_dial(session, dial_id: int, who: Principal) -> Dial:  # noqa: ANN001
    d = await session.get(Dial, dial_id)
    if d is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"dial {dial_id} not found")
    c = await _campaign(session, d.campaign_id, who)
    if who.role is Role.agent and d.user_id != who.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"dial {dial_id} is another agent's")
    del c
    return d


async def _originate(session, request: Request, dial: Dial, c: Campaign) -> None:  # noqa: ANN001
    gw = _gateway(request)
    try:
        await dialer.originate(session, gw, dial, c)
    except service.Refused as exc:
        raise _refused(exc) from None
    except Exception as exc:  # noqa: BLE001 - the gateway's errors: the dial is closed as failed
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"Asterisk refused the call: {exc}") from None


@router.post("/calls/{uniqueid}/card", response_model=Card)
async def predictive_card(
    uniqueid: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")], who: Desk, session: SessionDep, request: Request
) -> Card:
    """The card of a predictive dial the agent has been put through to (the
    call's Uniqueid is the dial's ChannelId): the contact and the script,
    and the dial becomes the agent's, so they record its result."""
    d = await session.scalar(select(Dial).where(Dial.channel_id == uniqueid))
    if d is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"uniqueid: no campaign dial is call {uniqueid}")
    await _campaign(session, d.campaign_id, who)
    if who.role is Role.agent and d.user_id != who.id:
        acd = getattr(request.app.state, "acd", None)
        call = acd.core.queue_acd.own(uniqueid) if acd is not None else None
        if call is None or not who.interface or call.agent != who.interface:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"uniqueid: call {uniqueid} is not on your phone")
        if d.user_id is None:
            d.user_id, d.agent = who.id, who.interface
            await session.commit()
    return await _card(session, d)


@router.post("/dials/{dial_id}/dial", response_model=DialOut)
async def dial_now(dial_id: Id, who: Desk, session: SessionDep, request: Request) -> Dial:
    d = await _own_dial(session, dial_id, who)
    if d.state is not DialState.pending:
        raise HTTPException(status.HTTP_409_CONFLICT, f"dial {dial_id} is {d.state.value}; it is dialled once")
    c = await session.get(Campaign, d.campaign_id)
    await _originate(session, request, d, c)
    return d


@router.post("/dials/{dial_id}/result", response_model=ContactOut)
async def dial_result(dial_id: Id, body: ResultIn, who: Desk, session: SessionDep) -> CampaignContact:
    d = await _own_dial(session, dial_id, who)
    try:
        contact = await service.finish(session, d, body.result, _now(), body.note, body.callback_at)
    except service.Refused as exc:
        raise _refused(exc) from None
    await session.commit()
    return contact


@router.get("/campaigns/{campaign_id}/kpis")
async def campaign_kpis(
    campaign_id: Id, who: Desk, session: SessionDep, settings: SettingsDep, day: Day = None,
    days: Annotated[int, Query(ge=1, le=366, description="with day: this many days ending on it (7: the week's quota)")] = 1,
) -> dict[str, Any]:  # fmt: skip
    """Dials, contacts (接触率), normal conversations, success, list
    utilisation, talk time, abandon rate; per agent and team (all time, or
    the local days ending on `day`).  An agent sees their own line only."""
    c = await _campaign(session, campaign_id, who)
    since = until = None
    if day is not None:
        since = callbacks.day_bounds(day - timedelta(days=days - 1), settings.tz)[0]
        until = callbacks.day_bounds(day, settings.tz)[1]
    out = await service.campaign_kpis(session, c.id, since, until)
    if who.role is Role.agent:
        out["agents"] = [a for a in out["agents"] if a["user_id"] == who.id]
        out["teams"] = []
    elif who.role is Role.team_lead:
        out["teams"] = [x for x in out["teams"] if who.sees.has_team(x["team_id"])]
    out["campaign"] = {"id": c.id, "name": c.name, "mode": c.mode.value, "status": c.status.value, "abandon_cap": c.abandon_cap}
    return out


# --- do-not-call ----------------------------------------------------------------------------------


@router.get("/dnc", response_model=list[DncOut])
async def list_dnc(_: Lead, session: SessionDep, page: Page = 1) -> list[DncEntry]:
    return list((await session.scalars(select(DncEntry).order_by(DncEntry.id.desc()).offset((page - 1) * 200).limit(200))).all())


@router.post("/dnc", response_model=DncOut, status_code=201)
async def add_dnc(body: DncIn, who: Lead, session: SessionDep, settings: SettingsDep) -> DncEntry:
    number = normalise_number(body.number, settings.default_area_code)
    if not number:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "number: no digits")
    existing = await session.scalar(select(DncEntry).where(DncEntry.number == number))
    if existing is not None:
        return existing
    e = DncEntry(number=number, source=body.source, note=body.note, created_by=who.id)
    session.add(e)
    await session.commit()
    return e


@router.delete("/dnc/{entry_id}", status_code=204)
async def remove_dnc(entry_id: Id, _: Admin, session: SessionDep) -> Response:
    gone = (await session.execute(delete(DncEntry).where(DncEntry.id == entry_id))).rowcount
    if not gone:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"do-not-call entry {entry_id} not found")
    await session.commit()
    return Response(status_code=204)


@router.get("/dnc/check", response_model=DncCheck)
async def check_dnc(
    _: Desk, session: SessionDep, settings: SettingsDep, number: Annotated[str, Query(min_length=3, max_length=32, pattern=r"^\+?[0-9 ()-]+$")]
) -> DncCheck:
    n = normalise_number(number, settings.default_area_code)
    reason = (await service.dnc_lists(session)).reason(n)
    return DncCheck(number=n, blocked=reason is not None, reason=reason)


# --- same-day callbacks ----------------------------------------------------------------------------


def _task_in_scope(who: Principal, t: CallbackTask) -> bool:
    return who.sees.everything or not t.queue or who.sees.has_queue(t.queue)


@router.get("/callbacks/today")
async def callbacks_today(who: Desk, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """Today's list (who is still owed a call) and the day's tasks."""
    day = _now().astimezone(settings.tz).date()
    listed = await callbacks.today(session, day, settings.tz, settings.default_area_code, settings.callback_min_wait_s)
    tasks = (await session.scalars(select(CallbackTask).where(CallbackTask.due_on == day).order_by(CallbackTask.due_at))).all()
    return {
        "day": day.isoformat(),
        "list": [e for e in listed if who.sees.everything or not e["queue"] or who.sees.has_queue(e["queue"])],
        "tasks": [CallbackOut.model_validate(t).model_dump(mode="json") | {"attempts": t.attempts, "created_at": t.created_at.isoformat()} for t in tasks if _task_in_scope(who, t)],
    }


@router.post("/callbacks/sync")
async def callbacks_sync(_: Lead, session: SessionDep, settings: SettingsDep, request: Request) -> dict[str, int]:
    """Turn today's list into tasks (an SMS to each new one); close those who got through since."""
    now = _now()
    out = await callbacks.sync(
        session, now.astimezone(settings.tz).date(), settings.tz, settings.default_area_code, settings.callback_min_wait_s, now, _sender(request, settings)
    )
    await session.commit()
    return out


@router.post("/callbacks/{task_id}/result", response_model=CallbackOut)
async def callback_result(task_id: Id, body: CallbackResultIn, who: Desk, session: SessionDep, settings: SettingsDep, request: Request) -> CallbackTask:
    t = await session.get(CallbackTask, task_id)
    if t is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"callback {task_id} not found")
    if not _task_in_scope(who, t):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"callback {task_id} is outside your queues")
    if t.status is CallbackStatus.done:
        raise HTTPException(status.HTTP_409_CONFLICT, f"callback {task_id} is already done")
    if t.assigned_to not in (None, who.id) and who.role is Role.agent:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"callback {task_id} is claimed by another agent")
    await callbacks.record_attempt(
        session, t, body.result, body.note, who.id, _now(), settings.callback_retries, settings.callback_retry_s, _sender(request, settings)
    )
    await session.commit()
    return t


@router.get("/callbacks/kpis")
async def callback_kpis(_: Lead, session: SessionDep, settings: SettingsDep, day: Day = None) -> dict[str, Any]:
    return await callbacks.day_kpis(session, day or _now().astimezone(settings.tz).date(), settings.tz)


# --- fee reminders (催费) ---------------------------------------------------------------------------


@router.post("/arrears/import", response_model=ImportOut)
async def import_arrears(
    who: Lead,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="the billing system's arrears file: unit, amount, period, due_on, name, number")],
    strict: Annotated[bool, Form()] = False,
) -> ImportOut:
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"file: larger than {MAX_UPLOAD} bytes")
    try:
        out = await fees.import_arrears(session, data, strict, settings.default_area_code)
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"file: {exc}") from None
    await session.commit()
    return ImportOut(id=0, **out)


@router.get("/arrears/due", response_model=list[dict[str, Any]])
async def arrears_due(_: Lead, session: SessionDep, settings: SettingsDep, day: Day = None) -> list[dict[str, Any]]:
    """Today's rungs of the ladder: who gets a phone reminder, an SMS, a letter."""
    return await fees.due_steps(session, day or _now().astimezone(settings.tz).date())


@router.post("/arrears/{arrear_id}/steps", response_model=ArrearOut)
async def record_step(arrear_id: Id, body: StepIn, _: Lead, session: SessionDep, settings: SettingsDep) -> Arrear:
    a = await session.get(Arrear, arrear_id)
    if a is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"arrear {arrear_id} not found")
    a.steps = {**a.steps, body.step: _now().astimezone(settings.tz).date().isoformat()}
    await session.commit()
    return a


@router.post("/arrears/{arrear_id}/paid", response_model=ArrearOut)
async def record_paid(arrear_id: Id, body: PaidIn, _: Lead, session: SessionDep) -> Arrear:
    a = await session.get(Arrear, arrear_id)
    if a is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"arrear {arrear_id} not found")
    a.paid_on = body.paid_on
    await session.commit()
    return a


@router.get("/arrears/kpis")
async def arrears_kpis(_: Lead, session: SessionDep, period: Annotated[str, Query(pattern=r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$", description="YYYY-MM")]) -> dict[str, Any]:
    """收繳率 for a billed month: by its month end (target 95 %) and by the 10th of the next (99 %); letters sent vs paid."""
    return await fees.kpis(session, period)
