"""QA routes: call search, recording streaming and waveform, annotations,
forms, evaluations and their workflow, sampling and summaries."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import FileResponse
from sqlalchemy import or_, select

from callcenter.acd.models import CallRecord, Outcome
from callcenter.auth.api import AnyUser, SessionDep, SettingsDep, client_ip, require
from callcenter.auth.models import Role, User
from callcenter.auth.service import Principal, audit
from callcenter.db import utcnow
from callcenter import worker
from callcenter.qa import jobs, recordings, scoring, service, summary
from callcenter.qa.models import EvalStatus, Evaluation, QaForm
from callcenter.qa.schemas import (
    AgentResponse,
    AnnotationIn,
    AnnotationOut,
    EvaluationCreate,
    EvaluationOut,
    EvaluationUpdate,
    FormIn,
    FormOut,
    Resolution,
    SampleIn,
    SampleOut,
    check_month,
)
from callcenter.qa.models import Annotation
from callcenter.privacy import mask_fields, masks
from callcenter.validation import Day, Id, Offset

CallId = Annotated[str, Path(min_length=1, max_length=64)]

log = logging.getLogger("callcenter.qa")

router = APIRouter(prefix="/api/qa", tags=["qa"])

Reviewer = Annotated[Principal, Depends(require(Role.qa, Role.team_lead, Role.admin))]
FormAdmin = Annotated[Principal, Depends(require(Role.qa, Role.admin))]
Agent = Annotated[Principal, Depends(require(Role.agent))]


def _http(exc: Exception) -> HTTPException:
    if isinstance(exc, service.NotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, service.Forbidden):
        return HTTPException(status.HTTP_403_FORBIDDEN, str(exc))
    if isinstance(exc, service.Conflict):
        return HTTPException(status.HTTP_409_CONFLICT, str(exc))
    if isinstance(exc, scoring.FormError):
        return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))
    raise exc


async def _visible_call(session, principal: Principal, call_id: CallId, settings) -> CallRecord:  # noqa: ANN001
    try:
        call = await service.call_by_id(session, call_id)
    except service.NotFound as exc:
        raise _http(exc) from None
    if not service.may_see_call(principal, call, settings.agents_can_play_own) and not await _hears_own_evaluated(session, principal, call):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"you may not open call {call_id}")
    return call


async def _hears_own_evaluated(session, principal: Principal, call: CallRecord) -> bool:  # noqa: ANN001
    """An agent may hear their own call once it has an evaluation they can
    see: they must hear what they acknowledge or dispute (playback is
    audited like any other), even where agents_can_play_own is off."""
    if principal.role != Role.agent or not principal.interface or call.agent != principal.interface:
        return False
    evs = (await session.execute(select(Evaluation).where(Evaluation.call_record_id == call.id))).scalars()
    return any(service.may_see_evaluation(principal, e) for e in evs)


def _month(v: str | None, name: str) -> str | None:
    try:
        return check_month(v)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: {exc}") from None


@router.get("/context")
async def qa_context(_: AnyUser, settings: SettingsDep) -> dict[str, str]:
    """The centre's time zone and current month there: the page shows
    times in the centre's zone, not the browser's (a remote QA person
    in another zone must see the same clock as the hotline)."""
    return {"timezone": settings.timezone, "month": utcnow().astimezone(settings.tz).strftime("%Y-%m")}


# --- calls and recordings ----------------------------------------------------


@router.get("/calls")
async def search_calls(
    principal: AnyUser,
    session: SessionDep,
    settings: SettingsDep,
    date_from: Day | None = None,
    date_to: Day | None = None,
    month: Annotated[str | None, Query(max_length=7)] = None,
    queue: Annotated[str | None, Query(max_length=64)] = None,
    agent: Annotated[str | None, Query(max_length=128)] = None,
    outcome: Outcome | None = None,
    min_duration_s: Annotated[float | None, Query(ge=0, le=1e7)] = None,
    max_duration_s: Annotated[float | None, Query(ge=0, le=1e7)] = None,
    caller: Annotated[str | None, Query(max_length=64)] = None,
    disposition: Annotated[str | None, Query(max_length=32)] = None,
    min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
    max_score: Annotated[float | None, Query(ge=0, le=100)] = None,
    min_survey: Annotated[int | None, Query(ge=0, le=10)] = None,
    max_survey: Annotated[int | None, Query(ge=0, le=10)] = None,
    evaluated: bool | None = None,
    assigned_to_me: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Find calls.  min/max_score filter the QA evaluation total (0..100),
    min/max_survey the caller's post-call survey key (as pressed, on the
    survey's own scale; joined by the caller channel's uniqueid).  Team
    leads get the calls of the queues they lead."""
    f = service.CallFilter(
        date_from=date_from, date_to=date_to, month=_month(month, "month"), queue=queue, agent=agent, outcome=outcome,
        min_duration_s=min_duration_s, max_duration_s=max_duration_s, caller=caller, disposition=disposition,
        min_score=min_score, max_score=max_score, min_survey=min_survey, max_survey=max_survey, evaluated=evaluated, assigned_to_me=assigned_to_me,
    )
    total, rows = await service.search_calls(session, principal, f, settings.tz, settings.agents_can_play_own, limit, offset)
    if masks(principal.role, settings.phone_masked_roles):
        rows = [mask_fields(r, "caller_number") for r in rows]
    return {"total": total, "calls": rows}


@router.get("/calls/{call_id}")
async def call_detail(call_id: CallId, principal: AnyUser, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """A call with its aligned timeline, annotations and evaluations.
    Agents may open their own calls that have a submitted evaluation even
    when they may not play recordings."""
    try:
        call = await service.call_by_id(session, call_id)
    except service.NotFound as exc:
        raise _http(exc) from None
    can_play = service.may_see_call(principal, call, settings.agents_can_play_own)
    evs = list((await session.execute(select(Evaluation).where(Evaluation.call_record_id == call.id).order_by(Evaluation.id))).scalars())
    evs = [e for e in evs if service.may_see_evaluation(principal, e)]
    can_play = can_play or (principal.role == Role.agent and bool(evs) and call.agent == principal.interface)
    if not can_play and not evs:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"you may not open call {call_id}")
    out = service.call_summary(call, None, None)
    if masks(principal.role, settings.phone_masked_roles):
        out = mask_fields(out, "caller_number")
    out.update(
        can_play=can_play and bool(call.recording_file),
        timeline=service.aligned_timeline(call),
        hold_s=call.hold_s,
        transfer_target=call.transfer_target,
        disposition_note=call.disposition_note,
        annotations=[AnnotationOut.model_validate(a).model_dump(mode="json") for a in await service.annotations(session, call)],
        evaluations=[EvaluationOut.model_validate(e).model_dump(mode="json") for e in evs],
    )
    return out


def _recording_path(call: CallRecord, settings) -> Any:  # noqa: ANN001
    if not call.recording_file:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"call {call.call_id} has no recording")
    try:
        path = recordings.resolve(settings.recordings_dir, call.recording_file)
    except recordings.RecordingRefused:
        log.warning("recording path refused", extra={"call": call.call_id, "file": call.recording_file})
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the recording of call {call.call_id} is not in the recordings directory") from None
    if not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"the recording of call {call.call_id} is missing (deleted by retention?)")
    return path


@router.get("/calls/{call_id}/audio")
async def call_audio(
    call_id: CallId, principal: AnyUser, session: SessionDep, settings: SettingsDep, request: Request, download: bool = False
) -> Response:
    """The recording, with HTTP Range support (206) so players seek at once.
    Audited once per playback session (see service.audit_playback)."""
    call = await _visible_call(session, principal, call_id, settings)
    path = _recording_path(call, settings)
    await service.audit_playback(session, principal, call, client_ip(request), request.headers.get("range"), download)
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    name = f"{call.call_id}{path.suffix}"
    return FileResponse(
        path,
        media_type=recordings.content_type(path),
        headers=headers,
        filename=name,
        content_disposition_type="attachment" if download else "inline",
    )


@router.get("/calls/{call_id}/peaks")
async def call_peaks(call_id: CallId, principal: AnyUser, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """Waveform peaks (0..100 per bucket and channel; stereo = caller, agent)."""
    call = await _visible_call(session, principal, call_id, settings)
    _recording_path(call, settings)
    try:
        return await recordings.peaks_for(session, settings.recordings_dir, call.recording_file or "")
    except ValueError as exc:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"no waveform for this recording: {exc}") from None


@router.post("/calls/{call_id}/annotations", response_model=AnnotationOut, status_code=201)
async def add_annotation(
    call_id: CallId, body: AnnotationIn, principal: Reviewer, session: SessionDep, settings: SettingsDep, request: Request
) -> Annotation:
    call = await _visible_call(session, principal, call_id, settings)
    a = Annotation(call_record_id=call.id, author_id=principal.id, author=principal.display_name, at_s=body.at_s, text=body.text)
    session.add(a)
    await session.flush()
    audit(session, principal, "annotation.create", call.call_id, client_ip(request), at_s=body.at_s)
    await session.commit()
    return a


# --- forms ------------------------------------------------------------------


@router.get("/forms", response_model=list[FormOut])
async def list_forms(_: AnyUser, session: SessionDep, all_versions: bool = False) -> list[QaForm]:
    """Scoring forms; agents may read them too (they must know how they
    are scored).  Only active versions unless all_versions."""
    await service.ensure_default_form(session)
    await session.commit()
    q = select(QaForm).order_by(QaForm.code, QaForm.version.desc())
    if not all_versions:
        q = q.where(QaForm.active.is_(True))
    return list((await session.execute(q)).scalars())


@router.get("/forms/{form_id}", response_model=FormOut)
async def get_form(form_id: Id, _: AnyUser, session: SessionDep) -> QaForm:
    form = await session.get(QaForm, form_id)
    if form is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no form {form_id}")
    return form


@router.post("/forms", response_model=FormOut, status_code=201)
async def save_form(body: FormIn, principal: FormAdmin, session: SessionDep, request: Request) -> QaForm:
    """Save a form: a new version each time (evaluations keep theirs)."""
    try:
        form = await service.save_form(session, principal, body.code, body.name_zh, body.name_en, body.definition.model_dump())
    except scoring.FormError as exc:
        raise _http(exc) from None
    audit(session, principal, "form.save", f"form:{form.code}", client_ip(request), version=form.version)
    await session.commit()
    return form


# --- evaluations ---------------------------------------------------------------


async def _evaluation(session, principal: Principal, eval_id: int) -> Evaluation:  # noqa: ANN001
    try:
        ev = await service.evaluation(session, eval_id)
    except service.NotFound as exc:
        raise _http(exc) from None
    if not service.may_see_evaluation(principal, ev):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"you may not see evaluation {eval_id}")
    return ev


@router.post("/calls/{call_id}/evaluations", response_model=EvaluationOut, status_code=201)
async def create_evaluation(
    call_id: CallId, body: EvaluationCreate, principal: Reviewer, session: SessionDep, settings: SettingsDep, request: Request
) -> Evaluation:
    call = await _visible_call(session, principal, call_id, settings)
    try:
        ev = await service.create_evaluation(session, principal, call, body.form_id, settings.tz, client_ip(request))
    except (service.NotFound, service.Conflict) as exc:
        raise _http(exc) from None
    await session.commit()
    return ev


@router.get("/evaluations")
async def list_evaluations(
    principal: AnyUser,
    session: SessionDep,
    status_: Annotated[EvalStatus | None, Query(alias="status")] = None,
    month: Annotated[str | None, Query(max_length=7)] = None,
    agent: Annotated[str | None, Query(max_length=128)] = None,
    mine: bool = False,
    include_superseded: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Evaluations with their call.  Agents get their own, submitted ones;
    `mine` gives a reviewer the ones they wrote."""
    q = select(Evaluation, CallRecord).join(CallRecord, CallRecord.id == Evaluation.call_record_id)
    if principal.role == Role.agent:
        q = q.where(Evaluation.agent_user_id == principal.id, Evaluation.status != EvalStatus.draft)
    elif not principal.sees.everything:
        q = q.where(or_(Evaluation.queue.in_(principal.sees.queue_list), Evaluation.agent.in_(principal.sees.interface_list)))
    if status_:
        q = q.where(Evaluation.status == status_)
    if month:
        q = q.where(Evaluation.month == _month(month, "month"))
    if agent:
        q = q.where(Evaluation.agent == agent)
    if mine:
        q = q.where(Evaluation.evaluator_id == principal.id)
    if not include_superseded:
        q = q.where(Evaluation.superseded.is_(False))
    rows = (await session.execute(q.order_by(Evaluation.id.desc()).limit(limit))).all()
    ids = {ev.evaluator_id for ev, _ in rows} - {None}
    names = dict((await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))).all()) if ids else {}
    out = []
    for ev, call in rows:
        d = EvaluationOut.model_validate(ev).model_dump(mode="json")
        d["call"] = service.call_summary(call, None, None)
        d["evaluator_name"] = names.get(ev.evaluator_id, "")
        out.append(d)
    return out


@router.get("/evaluations/{eval_id}")
async def get_evaluation(eval_id: Id, principal: AnyUser, session: SessionDep) -> dict[str, Any]:
    """An evaluation with its form, every revision of the call's scoring
    and the audit trail of the workflow."""
    ev = await _evaluation(session, principal, eval_id)
    form = await session.get(QaForm, ev.form_id)
    revisions = [e for e in await service.history(session, ev) if service.may_see_evaluation(principal, e)]
    trail = await service.audit_trail(session, [e.id for e in revisions])
    users = {u.id: u.display_name for u in (await session.execute(select(User).where(User.id.in_({ev.evaluator_id, ev.agent_user_id} - {None})))).scalars()}
    out = EvaluationOut.model_validate(ev).model_dump(mode="json")
    out.update(
        form=FormOut.model_validate(form).model_dump(mode="json"),
        evaluator_name=users.get(ev.evaluator_id or 0, ""),
        agent_name=users.get(ev.agent_user_id or 0, ev.agent),
        revisions=[{"id": e.id, "revision": e.revision, "status": e.status.value, "total": e.total, "superseded": e.superseded} for e in revisions],
        trail=[{"at": a.at.isoformat(), "actor": a.actor, "action": a.action, "target": a.target, "details": a.details} for a in trail],
    )
    return out


async def _step(session, ev: Evaluation, fn, *args) -> Evaluation:  # noqa: ANN001
    try:
        result = await fn(*args)
    except (service.Conflict, service.Forbidden, scoring.FormError, service.NotFound) as exc:
        await session.rollback()
        raise _http(exc) from None
    await session.commit()
    return result


@router.patch("/evaluations/{eval_id}", response_model=EvaluationOut)
async def update_evaluation(eval_id: Id, body: EvaluationUpdate, principal: Reviewer, session: SessionDep, request: Request) -> Evaluation:
    ev = await _evaluation(session, principal, eval_id)
    answers = {k: v.model_dump() for k, v in body.answers.items()} if body.answers is not None else None
    return await _step(session, ev, service.update_draft, session, principal, ev, answers, body.comment, client_ip(request))


@router.post("/evaluations/{eval_id}/submit", response_model=EvaluationOut)
async def submit_evaluation(eval_id: Id, principal: Reviewer, session: SessionDep, request: Request) -> Evaluation:
    ev = await _evaluation(session, principal, eval_id)
    return await _step(session, ev, service.submit, session, principal, ev, client_ip(request))


@router.post("/evaluations/{eval_id}/acknowledge", response_model=EvaluationOut)
async def acknowledge_evaluation(eval_id: Id, body: AgentResponse, principal: Agent, session: SessionDep, request: Request) -> Evaluation:
    ev = await _evaluation(session, principal, eval_id)
    return await _step(session, ev, service.acknowledge, session, principal, ev, body.comment, client_ip(request))


@router.post("/evaluations/{eval_id}/dispute", response_model=EvaluationOut)
async def dispute_evaluation(eval_id: Id, body: AgentResponse, principal: Agent, session: SessionDep, request: Request) -> Evaluation:
    ev = await _evaluation(session, principal, eval_id)
    return await _step(session, ev, service.dispute, session, principal, ev, body.comment, client_ip(request))


@router.post("/evaluations/{eval_id}/resolve")
async def resolve_evaluation(eval_id: Id, body: Resolution, principal: Reviewer, session: SessionDep, request: Request) -> dict[str, Any]:
    ev = await _evaluation(session, principal, eval_id)
    resolved, new = await _step(session, ev, service.resolve, session, principal, ev, body.decision, body.comment, client_ip(request))
    return {
        "evaluation": EvaluationOut.model_validate(resolved).model_dump(mode="json"),
        "revision": None if new is None else EvaluationOut.model_validate(new).model_dump(mode="json"),
    }


@router.post("/evaluations/{eval_id}/revisions", response_model=EvaluationOut, status_code=201)
async def revise_evaluation(eval_id: Id, principal: Reviewer, session: SessionDep, request: Request) -> Evaluation:
    ev = await _evaluation(session, principal, eval_id)
    return await _step(session, ev, service.revise, session, principal, ev, client_ip(request))


# --- sampling and summaries ---------------------------------------------------------


@router.post("/sampling", response_model=SampleOut)
async def run_sampling(body: SampleIn, principal: Reviewer, settings: SettingsDep, request: Request) -> SampleOut:
    """Pick a month's calls for review now (the hourly job does the same);
    without a month, the current one in the centre's time zone."""
    today = utcnow().astimezone(settings.tz).date()
    month = body.month or today.strftime("%Y-%m")
    result = await worker.run(
        settings, jobs.sample, month, settings.qa_samples_per_agent, settings.qa_min_talk_s, settings.timezone, today, body.seed,
        principal, client_ip(request),
    )  # fmt: skip
    return SampleOut(**result.__dict__)


SummaryGroup = Literal["agent", "queue", "team", "month", "item", "evaluator"]


async def _summary(principal: Principal, settings, group: str, month_from: str | None, month_to: str | None, agent: str | None, queue: str | None):  # noqa: ANN001, ANN202
    if principal.role == Role.agent:
        agent = principal.interface or "-"
    # A report build: in the worker, off the event loop.
    return await worker.run(settings, jobs.summary, group, _month(month_from, "month_from"), _month(month_to, "month_to"), agent, queue, principal.sees)


@router.get("/summary")
async def score_summary(
    principal: AnyUser,
    settings: SettingsDep,
    group: SummaryGroup = "agent",
    month_from: Annotated[str | None, Query(max_length=7)] = None,
    month_to: Annotated[str | None, Query(max_length=7)] = None,
    agent: Annotated[str | None, Query(max_length=128)] = None,
    queue: Annotated[str | None, Query(max_length=64)] = None,
) -> list[dict[str, Any]]:
    """Average scores by agent, queue, team (the 班组 the agent was in when the call came in), month, evaluator or item.
    Agents get their own figures only."""
    return await _summary(principal, settings, group, month_from, month_to, agent, queue)


@router.get("/summary.csv")
async def score_summary_csv(
    principal: AnyUser,
    settings: SettingsDep,
    session: SessionDep,
    request: Request,
    group: SummaryGroup = "agent",
    month_from: Annotated[str | None, Query(max_length=7)] = None,
    month_to: Annotated[str | None, Query(max_length=7)] = None,
    agent: Annotated[str | None, Query(max_length=128)] = None,
    queue: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    rows = await _summary(principal, settings, group, month_from, month_to, agent, queue)
    audit(session, principal, "export.qa_summary", group, client_ip(request), month_from=month_from, month_to=month_to,
          agent=agent, queue=queue, rows=len(rows))  # fmt: skip
    await session.commit()
    cols = ["key", "zh", "en", "count", "average", "violations"] if group == "item" else ["key", "name", "count", "average", "min", "max", "vetoed", "disputed"]
    return Response(
        summary.to_csv(rows, cols),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="qa-{group}.csv"'},
    )
