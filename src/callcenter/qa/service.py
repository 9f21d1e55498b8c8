"""QA logic: finding calls, the evaluation workflow and the scheduled jobs
(monthly sampling is qa/sampling.py, score summaries qa/summary.py).
Routes (api.py) translate the exceptions here into HTTP.

Evaluation workflow::

    draft --submit--> submitted --acknowledge--> acknowledged
                          |
                          +--dispute--> disputed --resolve(upheld)--> resolved
                                            |
                                            +--resolve(amended)--> resolved, and a new draft revision

A submitted evaluation never changes its answers.  `revise` starts a new
draft (revision n+1) from any submitted-or-later evaluation; submitting
that draft marks the old one superseded.  Every step is audited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd.models import CallRecord, Outcome
from callcenter.auth.models import AuditEntry, Role, User
from callcenter.auth.service import Principal, audit
from callcenter.cluster.leader import Fenced
from callcenter.db import utcnow
from callcenter.hooks.models import SurveyResponse
from callcenter.qa import scoring
from callcenter.qa.models import Annotation, Assignment, EvalStatus, Evaluation, QaForm


class NotFound(Exception):
    pass


class Forbidden(Exception):
    pass


class Conflict(Exception):
    """A workflow step that is not allowed from the current state (409)."""


REVIEWERS = (Role.qa, Role.team_lead, Role.admin)


# --- access -----------------------------------------------------------------


def may_see_call(principal: Principal, call: CallRecord, agents_can_play_own: bool) -> bool:
    """QA and admins see every call; a team lead the calls of their teams'
    queues and agents (auth.scope); an agent only their own, and only if
    the operator allows it (settings.agents_can_play_own)."""
    if principal.role in REVIEWERS:
        return principal.sees.has_call(call.queue, call.agent)
    return agents_can_play_own and bool(principal.interface) and call.agent == principal.interface


async def call_by_id(session: AsyncSession, call_id: str) -> CallRecord:
    call = (await session.execute(select(CallRecord).where(CallRecord.call_id == call_id))).scalar_one_or_none()
    if call is None:
        raise NotFound(f"no call {call_id}")
    return call


PLAY_SESSION = timedelta(minutes=30)
_play_locks: dict[tuple[int, str], asyncio.Lock] = {}


async def audit_playback(
    session: AsyncSession, principal: Principal, call: CallRecord, ip: str, range_header: str | None, download: bool
) -> bool:
    """Write one audit row per listening session, whatever the request.

    A listening session is one user on one call: the first request of
    any kind (no Range, `bytes=0-`, a seek further in, a suffix range
    `bytes=-N`, several ranges) opens it with a row; further requests
    within 30 minutes of that row belong to it (players fetch in pieces
    and re-open on replay).  Every download is its own row.  Concurrent
    first requests (a player's parallel range fetches) write one row: they
    are serialised per user and call.  The row is committed before a byte
    is sent: no audit, no audio.  Returns whether a row was written.
    """
    if download:
        audit(session, principal, "recording.download", call.call_id, ip, file=call.recording_file, range=(range_header or "")[:100])
        await session.commit()
        return True
    key = (principal.id, call.call_id)
    lock = _play_locks.setdefault(key, asyncio.Lock())
    try:
        async with lock:
            since = utcnow() - PLAY_SESSION
            recent = await session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(
                    AuditEntry.actor_id == principal.id,
                    AuditEntry.action == "recording.play",
                    AuditEntry.target == call.call_id,
                    AuditEntry.at >= since,
                )
            )
            if recent:
                return False
            audit(session, principal, "recording.play", call.call_id, ip, file=call.recording_file, range=(range_header or "")[:100])
            await session.commit()
            return True
    finally:
        if not lock.locked() and not lock._waiters:  # type: ignore[attr-defined]
            _play_locks.pop(key, None)


# --- timeline ------------------------------------------------------------------

TIMELINE_KINDS = ("queued", "ringing", "answered", "hold", "unhold", "transfer", "hangup")
RECORDING_START_KINDS = ("recording", "recording_started", "mixmonitor_start")


def recording_start(call: CallRecord) -> float | None:
    """Epoch seconds of audio t=0: an explicit recording-start entry in
    the timeline if the ACD wrote one, else the answer (MixMonitor started
    by the queue on connect), else when the call entered."""
    for e in call.timeline or []:
        if e.get("kind") in RECORDING_START_KINDS and isinstance(e.get("t"), int | float):
            return float(e["t"])
    if call.answered_at:
        return call.answered_at.timestamp()
    return call.entered_at.timestamp() if call.entered_at else None


def aligned_timeline(call: CallRecord) -> list[dict[str, Any]]:
    """Timeline entries with `at_s`: seconds into the recording (negative
    for what happened before recording began, e.g. queueing)."""
    t0 = recording_start(call)
    out = []
    for e in call.timeline or []:
        kind = e.get("kind")
        if kind not in TIMELINE_KINDS or not isinstance(e.get("t"), int | float) or t0 is None:
            continue
        extra = {k: v for k, v in e.items() if k not in ("t", "kind") and isinstance(v, str | int | float)}
        out.append({"kind": kind, "at_s": round(float(e["t"]) - t0, 2), **extra})
    return out


# --- search --------------------------------------------------------------------


@dataclass
class CallFilter:
    date_from: date | None = None
    date_to: date | None = None
    queue: str | None = None
    agent: str | None = None
    outcome: Outcome | None = None
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    caller: str | None = None
    disposition: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    min_survey: int | None = None
    max_survey: int | None = None
    evaluated: bool | None = None
    assigned_to_me: bool = False
    month: str | None = None


def _local_day_bounds(d: date, tz: ZoneInfo) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(UTC)


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    y, m = (int(p) for p in month.split("-"))
    start = datetime(y, m, 1, tzinfo=tz)
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def month_of(ts: datetime, tz: ZoneInfo) -> str:
    return ts.astimezone(tz).strftime("%Y-%m")


def _current_eval(drafts: bool):  # noqa: ANN202
    """Latest non-superseded evaluation per call, as a subquery; without
    drafts for agents (a draft is the evaluator's working notes)."""
    q = select(Evaluation.call_record_id, func.max(Evaluation.id).label("eval_id")).where(Evaluation.superseded.is_(False))
    if not drafts:
        q = q.where(Evaluation.status != EvalStatus.draft)
    return q.group_by(Evaluation.call_record_id).subquery()


async def search_calls(
    session: AsyncSession, principal: Principal, f: CallFilter, tz: ZoneInfo, agents_can_play_own: bool, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    cur = _current_eval(drafts=principal.role != Role.agent)
    q: Select[Any] = (
        select(CallRecord, Evaluation, Assignment, SurveyResponse)
        .outerjoin(cur, cur.c.call_record_id == CallRecord.id)
        .outerjoin(Evaluation, Evaluation.id == cur.c.eval_id)
        .outerjoin(Assignment, Assignment.call_record_id == CallRecord.id)
        .outerjoin(SurveyResponse, SurveyResponse.uniqueid == CallRecord.uniqueid)
    )
    conds = []
    sees = principal.sees
    if principal.role in REVIEWERS and not sees.everything:
        conds.append(or_(CallRecord.queue.in_(sees.queue_list), CallRecord.agent.in_(sees.interface_list)))
    if principal.role == Role.agent:
        if not agents_can_play_own or not principal.interface:
            # Agents still see calls that have a submitted evaluation of theirs.
            conds.append(and_(CallRecord.agent == (principal.interface or "-"), Evaluation.id.is_not(None)))
        else:
            conds.append(CallRecord.agent == principal.interface)
    if f.month:
        start, end = month_bounds(f.month, tz)
        conds += [CallRecord.entered_at >= start, CallRecord.entered_at < end]
    if f.date_from:
        conds.append(CallRecord.entered_at >= _local_day_bounds(f.date_from, tz))
    if f.date_to:
        conds.append(CallRecord.entered_at < _local_day_bounds(f.date_to + timedelta(days=1), tz))
    if f.queue:
        conds.append(CallRecord.queue == f.queue)
    if f.agent:
        conds.append(or_(CallRecord.agent == f.agent, CallRecord.agent_name == f.agent))
    if f.outcome:
        conds.append(CallRecord.outcome == f.outcome)
    if f.min_duration_s is not None:
        conds.append(CallRecord.talk_s >= f.min_duration_s)
    if f.max_duration_s is not None:
        conds.append(CallRecord.talk_s <= f.max_duration_s)
    if f.caller:
        conds.append(or_(CallRecord.caller_number.contains(f.caller), CallRecord.caller_name.contains(f.caller)))
    if f.disposition:
        conds.append(CallRecord.disposition == f.disposition)
    if f.min_score is not None:
        conds.append(Evaluation.total >= f.min_score)
    if f.max_score is not None:
        conds.append(Evaluation.total <= f.max_score)
    if f.min_survey is not None:
        conds.append(SurveyResponse.score >= f.min_survey)
    if f.max_survey is not None:
        conds.append(SurveyResponse.score <= f.max_survey)
    if f.evaluated is True:
        conds.append(Evaluation.id.is_not(None))
    elif f.evaluated is False:
        conds.append(Evaluation.id.is_(None))
    if f.assigned_to_me:
        conds.append(Assignment.reviewer_id == principal.id)
    if conds:
        q = q.where(and_(*conds))
    total = await session.scalar(select(func.count()).select_from(q.subquery()))
    rows = (await session.execute(q.order_by(CallRecord.entered_at.desc(), CallRecord.id.desc()).limit(limit).offset(offset))).all()
    return int(total or 0), [call_summary(c, e, a, sv) for c, e, a, sv in rows]


def call_summary(call: CallRecord, ev: Evaluation | None, asg: Assignment | None, survey: SurveyResponse | None = None) -> dict[str, Any]:
    return {
        "call_id": call.call_id,
        "queue": call.queue,
        "caller_number": call.caller_number,
        "caller_name": call.caller_name,
        "entered_at": call.entered_at,
        "answered_at": call.answered_at,
        "talk_s": call.talk_s,
        "wait_s": call.wait_s,
        "agent": call.agent,
        "agent_name": call.agent_name,
        "outcome": call.outcome.value,
        "disposition": call.disposition,
        "has_recording": bool(call.recording_file),
        "evaluation": None
        if ev is None
        else {"id": ev.id, "status": ev.status.value, "total": ev.total, "vetoed": ev.vetoed, "revision": ev.revision},
        "assignment": None if asg is None else {"id": asg.id, "reviewer_id": asg.reviewer_id, "month": asg.month, "source": asg.source},
        "survey": None if survey is None else {"score": survey.score, "scale": survey.scale},
    }


# --- forms -------------------------------------------------------------------


async def ensure_default_form(session: AsyncSession) -> QaForm:
    """The shipped form, version 1, created once (idempotent, and safe
    when two first requests race: the loser reads the winner's row)."""
    q = select(QaForm).where(QaForm.code == scoring.DEFAULT_FORM_CODE).order_by(QaForm.version.desc())
    form = (await session.execute(q)).scalars().first()
    if form is None:
        d = scoring.DEFAULT_FORM
        try:
            async with session.begin_nested():
                form = QaForm(code=d["code"], version=1, name_zh=d["name_zh"], name_en=d["name_en"], definition=d["definition"])
                session.add(form)
        except IntegrityError:
            form = (await session.execute(q)).scalars().one()
    return form


async def save_form(session: AsyncSession, principal: Principal, code: str, name_zh: str, name_en: str, definition: dict[str, Any]) -> QaForm:
    """A new version of form `code` (version 1 if new); older versions stay
    for the evaluations scored on them but stop being offered."""
    scoring.check_definition(definition)
    latest = (await session.execute(select(QaForm).where(QaForm.code == code).order_by(QaForm.version.desc()))).scalars().first()
    if latest is not None:
        latest.active = False
    form = QaForm(
        code=code,
        version=(latest.version + 1) if latest else 1,
        name_zh=name_zh,
        name_en=name_en,
        definition=definition,
        created_by=principal.id,
    )
    session.add(form)
    await session.flush()
    return form


# --- evaluations ---------------------------------------------------------------


async def evaluation(session: AsyncSession, eval_id: int) -> Evaluation:
    ev = await session.get(Evaluation, eval_id)
    if ev is None:
        raise NotFound(f"no evaluation {eval_id}")
    return ev


def may_see_evaluation(principal: Principal, ev: Evaluation) -> bool:
    """QA and admins see all, a team lead those of their teams' queues and
    agents; an agent sees their own once submitted (drafts are the
    evaluator's working notes)."""
    if principal.role in REVIEWERS:
        return principal.sees.has_call(ev.queue, ev.agent)
    return ev.agent_user_id == principal.id and ev.status != EvalStatus.draft


def _apply_score(ev: Evaluation, form: QaForm, answers: dict[str, Any]) -> None:
    s = scoring.score(form.definition, answers)
    ev.answers = answers
    ev.total = s.total
    ev.vetoed = s.vetoed


async def create_evaluation(
    session: AsyncSession, principal: Principal, call: CallRecord, form_id: int | None, tz: ZoneInfo, ip: str
) -> Evaluation:
    if not call.agent:
        raise Conflict(f"call {call.call_id} was not answered by an agent; there is nobody to evaluate")
    open_ = await session.scalar(
        select(Evaluation.id).where(Evaluation.call_record_id == call.id, Evaluation.superseded.is_(False))
    )
    if open_:
        raise Conflict(f"call {call.call_id} already has evaluation {open_}; open it, or create a revision of it")
    form = await session.get(QaForm, form_id) if form_id else await ensure_default_form(session)
    if form is None:
        raise NotFound(f"no form {form_id}")
    agent_user = (await session.execute(select(User).where(User.interface == call.agent))).scalar_one_or_none()
    ev = Evaluation(
        call_record_id=call.id,
        form_id=form.id,
        evaluator_id=principal.id,
        agent=call.agent,
        agent_user_id=agent_user.id if agent_user else None,
        queue=call.queue,
        month=month_of(call.entered_at, tz),
        status=EvalStatus.draft,
        answers={},
    )
    session.add(ev)
    await session.flush()
    audit(session, principal, "evaluation.create", f"evaluation:{ev.id}", ip, call=call.call_id, form=form.id)
    return ev


def _need(ev: Evaluation, *allowed: EvalStatus, action: str) -> None:
    if ev.status not in allowed:
        raise Conflict(
            f"cannot {action} evaluation {ev.id}: it is {ev.status.value}; "
            f"{action} needs {' or '.join(s.value for s in allowed)}"
        )


async def update_draft(
    session: AsyncSession, principal: Principal, ev: Evaluation, answers: dict[str, Any] | None, comment: str | None, ip: str
) -> Evaluation:
    _need(ev, EvalStatus.draft, action="edit")
    if ev.superseded:
        raise Conflict(f"evaluation {ev.id} was superseded")
    form = await session.get(QaForm, ev.form_id)
    assert form is not None
    if answers is not None:
        _apply_score(ev, form, answers)
    if comment is not None:
        ev.comment = comment
    audit(session, principal, "evaluation.update", f"evaluation:{ev.id}", ip, total=ev.total)
    return ev


async def submit(session: AsyncSession, principal: Principal, ev: Evaluation, ip: str) -> Evaluation:
    _need(ev, EvalStatus.draft, action="submit")
    form = await session.get(QaForm, ev.form_id)
    assert form is not None
    s = scoring.score(form.definition, ev.answers)
    if s.total is None:
        raise Conflict(f"cannot submit evaluation {ev.id}: items not scored: {', '.join(s.missing)}")
    ev.status = EvalStatus.submitted
    ev.submitted_at = utcnow()
    if ev.previous_id:
        prev = await session.get(Evaluation, ev.previous_id)
        if prev is not None:
            prev.superseded = True
    audit(session, principal, "evaluation.submit", f"evaluation:{ev.id}", ip, total=ev.total, vetoed=ev.vetoed, revision=ev.revision)
    return ev


async def acknowledge(session: AsyncSession, principal: Principal, ev: Evaluation, comment: str, ip: str) -> Evaluation:
    if ev.agent_user_id != principal.id:
        raise Forbidden("only the agent evaluated may acknowledge an evaluation")
    _need(ev, EvalStatus.submitted, action="acknowledge")
    ev.status = EvalStatus.acknowledged
    ev.agent_comment = comment
    ev.answered_at = utcnow()
    audit(session, principal, "evaluation.acknowledge", f"evaluation:{ev.id}", ip)
    return ev


async def dispute(session: AsyncSession, principal: Principal, ev: Evaluation, comment: str, ip: str) -> Evaluation:
    if ev.agent_user_id != principal.id:
        raise Forbidden("only the agent evaluated may dispute an evaluation")
    _need(ev, EvalStatus.submitted, action="dispute")
    if not comment.strip():
        raise Conflict("a dispute needs a comment saying what is wrong")
    ev.status = EvalStatus.disputed
    ev.agent_comment = comment
    ev.answered_at = utcnow()
    audit(session, principal, "evaluation.dispute", f"evaluation:{ev.id}", ip, comment=comment[:500])
    return ev


async def revise(session: AsyncSession, principal: Principal, ev: Evaluation, ip: str) -> Evaluation:
    """A new draft revision copying `ev`'s answers; `ev` stays as it is."""
    if ev.status == EvalStatus.draft:
        raise Conflict(f"evaluation {ev.id} is still a draft; edit it instead of revising it")
    if ev.superseded:
        raise Conflict(f"evaluation {ev.id} was already superseded by a later revision")
    pending = await session.scalar(select(Evaluation.id).where(Evaluation.previous_id == ev.id, Evaluation.status == EvalStatus.draft))
    if pending:
        raise Conflict(f"evaluation {ev.id} already has a draft revision {pending}")
    new = Evaluation(
        call_record_id=ev.call_record_id,
        form_id=ev.form_id,
        evaluator_id=principal.id,
        agent=ev.agent,
        agent_user_id=ev.agent_user_id,
        queue=ev.queue,
        month=ev.month,
        status=EvalStatus.draft,
        revision=ev.revision + 1,
        previous_id=ev.id,
        answers=dict(ev.answers),
        total=ev.total,
        vetoed=ev.vetoed,
        comment=ev.comment,
    )
    session.add(new)
    await session.flush()
    audit(session, principal, "evaluation.revise", f"evaluation:{new.id}", ip, previous=ev.id)
    return new


async def resolve(
    session: AsyncSession, principal: Principal, ev: Evaluation, decision: str, comment: str, ip: str
) -> tuple[Evaluation, Evaluation | None]:
    """Close a dispute: `upheld` keeps the score, `amended` also opens a
    draft revision for the correction."""
    if principal.role not in (Role.qa, Role.team_lead, Role.admin):
        raise Forbidden("only QA, a team lead or an admin may resolve a dispute")
    _need(ev, EvalStatus.disputed, action="resolve")
    ev.status = EvalStatus.resolved
    ev.resolution = decision
    ev.resolution_comment = comment
    ev.resolved_by = principal.id
    ev.resolved_at = utcnow()
    audit(session, principal, "evaluation.resolve", f"evaluation:{ev.id}", ip, decision=decision, comment=comment[:500])
    new = None
    if decision == "amended":
        new = await revise(session, principal, ev, ip)
    return ev, new


async def history(session: AsyncSession, ev: Evaluation) -> list[Evaluation]:
    """Every revision of this evaluation's call, oldest first."""
    return list(
        (await session.execute(select(Evaluation).where(Evaluation.call_record_id == ev.call_record_id).order_by(Evaluation.id))).scalars()
    )


async def audit_trail(session: AsyncSession, eval_ids: list[int]) -> list[AuditEntry]:
    targets = [f"evaluation:{i}" for i in eval_ids]
    return list(
        (await session.execute(select(AuditEntry).where(AuditEntry.target.in_(targets)).order_by(AuditEntry.id))).scalars()
    )


# --- annotations ------------------------------------------------------------------


async def annotations(session: AsyncSession, call: CallRecord) -> list[Annotation]:
    return list(
        (await session.execute(select(Annotation).where(Annotation.call_record_id == call.id).order_by(Annotation.at_s, Annotation.id))).scalars()
    )


# --- scheduled jobs ---------------------------------------------------------------

JOB_INTERVAL_S = 3600.0
JOB_FIRST_RUN_S = 30.0


def previous_month(month: str) -> str:
    y, m = (int(p) for p in month.split("-"))
    return f"{y - (m == 1)}-{(m - 2) % 12 + 1:02d}"


async def run_jobs_once(settings: Any, db: Any, now: datetime) -> dict[str, Any]:
    """One round of the QA housekeeping: retention purge, then sampling of
    the current month (quota to date) and the previous one (full quota,
    for calls that arrived late)."""
    from callcenter.qa import recordings
    from callcenter.qa.sampling import sample_month

    tz = settings.tz
    today = now.astimezone(tz).date()
    month = today.strftime("%Y-%m")
    out: dict[str, Any] = {}
    async with db.sessions() as s:
        purged = await recordings.purge(s, settings.recordings_dir, settings.recording_retention_days, now)
        if purged.files:
            audit(s, None, "recording.purge", f"{len(purged.files)} files", "", bytes=purged.bytes, days=settings.recording_retention_days)
            await s.commit()
        out["purged"] = len(purged.files)
        if settings.qa_samples_per_agent:
            created = 0
            for m in (previous_month(month), month):
                r = await sample_month(s, m, settings.qa_samples_per_agent, settings.qa_min_talk_s, tz, today)
                created += r.created
            await s.commit()
            out["sampled"] = created
    return out


@asynccontextmanager
async def scheduled_jobs(settings: Any, db: Any, runs_here: Any = None, fence_of: Any = None) -> AsyncIterator[asyncio.Task[None]]:
    """The hourly QA job as a task for the app's lifespan (first run shortly
    after start-up, so start-up itself stays fast).  `runs_here()` False
    skips a round (a cluster runs it on the jobs lock's holder only, not
    once per node); `fence_of(name)` fences each run there (cluster.jobs)."""
    log = logging.getLogger("callcenter.qa.jobs")

    async def loop() -> None:
        await asyncio.sleep(JOB_FIRST_RUN_S)
        while True:
            if runs_here is not None and not runs_here():
                await asyncio.sleep(JOB_FIRST_RUN_S)
                continue
            try:
                from callcenter import worker  # noqa: PLC0415 - the worker imports this module's jobs
                from callcenter.qa import jobs  # noqa: PLC0415

                fence = fence_of("qa.housekeeping") if fence_of is not None else None
                result = await worker.run(settings, jobs.housekeeping, settings, utcnow(), fence=fence)  # off the event loop
                log.info("qa jobs ran", extra=result)
            except Fenced as exc:  # the jobs lock moved to another node: it runs them now
                log.info("qa jobs handed over: %s", exc)
            except Exception:  # noqa: BLE001 - keep the schedule alive; the next run retries
                log.exception("qa jobs failed")
            await asyncio.sleep(JOB_INTERVAL_S)

    task = asyncio.create_task(loop(), name="qa-jobs")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
