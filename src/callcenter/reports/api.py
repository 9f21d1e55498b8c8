"""Historical reports (from the 30-minute interval facts), SL dispersion,
abandon analysis, the scorecard and staffing from history.

Leads see their teams' queues, agents and teams (auth/scope.py); admin and
QA see everything; the scorecard's indicators are the admin's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import delete, select

from callcenter.auth.api import Admin, SessionDep, SettingsDep, client_ip, require
from callcenter.auth.models import Role
from callcenter.auth.service import Principal, audit
from callcenter.errors import CodedError
from callcenter.privacy import mask_phone, masks
from callcenter import worker
from callcenter.reports import jobs, paged, scorecard, service
from callcenter.reports.models import Indicator, ManualFigure
from callcenter.reports.schemas import IndicatorIn, IndicatorOut, ManualFigureIn
from callcenter.teams.models import Team
from callcenter.validation import Day

Viewer = Annotated[Principal, Depends(require(Role.admin, Role.team_lead, Role.qa))]
Key = Annotated[list[str], Query(max_length=50, description="queue names, team ids or agent interfaces; none = all in scope")]
QueueName = Annotated[str | None, Query(max_length=64)]
MonthQ = Annotated[str, Query(pattern=r"^(19[7-9]\d|20\d\d)-(0[1-9]|1[0-2])$", description="YYYY-MM")]

router = APIRouter(prefix="/api/reports", tags=["reports"])


def _fail(exc: service.ReportError) -> CodedError:
    code = {403: "forbidden", 404: "not_found"}.get(exc.status, "invalid")
    return CodedError(exc.status, code, str(exc), field=exc.field)


def _zone(settings: Any) -> ZoneInfo:
    return ZoneInfo(settings.timezone)


def _open_rows(request: Request) -> list[dict[str, Any]]:
    acd = getattr(request.app.state, "acd", None)
    return acd.core.open_interval_rows() if acd is not None else []


def _queues(principal: Principal, queue: str | None) -> list[str] | None:
    sees = principal.sees
    if queue is not None:
        if not sees.has_queue(queue):
            raise CodedError(403, "forbidden", "queue: not in your scope", field="queue")
        return [queue]
    return None if sees.everything else sees.queue_list


@router.get("/options")
async def options(principal: Viewer, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """What the pickers offer: the queues, teams and agents in the caller's scope."""
    sees = principal.sees
    queues = await service.names(session, "queue")
    teams = {i: n for i, n in (await session.execute(select(Team.id, Team.name).where(Team.active.is_(True)))).all()}
    agents = await service.names(session, "agent")
    return {
        "zone": settings.timezone,
        "queues": [{"key": k, "name": v} for k, v in sorted(queues.items()) if sees.has_queue(k)],
        "teams": [{"key": str(k), "name": v} for k, v in sorted(teams.items()) if sees.has_team(k)],
        "agents": [{"key": k, "name": v} for k, v in sorted(agents.items()) if sees.has_agent(k)],
    }


@router.get("/sl-dispersion")
async def sl_dispersion(principal: Viewer, session: SessionDep, settings: SettingsDep, month: MonthQ, day: Day, queue: QueueName = None) -> dict[str, Any]:
    """Coefficient of variation of the 30-second SL across the month's days and across one day's intervals."""
    try:
        first, _ = service.month_bounds(month)
    except service.ReportError as exc:
        raise _fail(exc) from None
    return await service.dispersion(session, first, day, _queues(principal, queue), _zone(settings))


@router.get("/abandons")
async def abandons(
    principal: Viewer, session: SessionDep, settings: SettingsDep,
    start: Annotated[Day, Query(alias="from")], end: Annotated[Day, Query(alias="to")], queue: QueueName = None,
) -> dict[str, Any]:  # fmt: skip
    """Abandons by wait bucket and by hour of the day."""
    if end < start or (end - start).days > 370:
        raise CodedError(422, "invalid", "to: on or after 'from', at most 371 days", field="to")
    return await service.abandons(session, start, end, _queues(principal, queue), _zone(settings))


@router.get("/abandons/unreturned")
async def unreturned(principal: Viewer, session: SessionDep, settings: SettingsDep, day: Day, queue: QueueName = None) -> dict[str, Any]:
    """日结日清: the day's abandoned callers not yet answered or called back."""
    out = await service.unreturned_abandons(session, day, _queues(principal, queue), _zone(settings))
    if masks(principal.role, settings.phone_masked_roles):
        for c in out["callers"]:
            c["number"] = mask_phone(c["number"])
    return out


@router.get("/staffing")
async def staffing(
    principal: Viewer, session: SessionDep, settings: SettingsDep, queue: Annotated[str, Query(min_length=1, max_length=64)], week: Day,
    weeks: Annotated[int, Query(ge=1, le=12)] = 4, held_back: Annotated[int, Query(ge=1, le=8)] = 2,
    target_sl: Annotated[float, Query(gt=0, lt=1)] = 0.8,
) -> dict[str, Any]:  # fmt: skip
    """Next week's offered calls, AHT and agents needed per 30 minutes (Erlang C), with the method's error on held-back weeks."""
    _queues(principal, queue)
    try:
        return JSONResponse(await service.staffing(session, queue, week, _zone(settings), weeks, held_back, target_sl))
    except service.ReportError as exc:
        raise _fail(exc) from None


# --- scorecard ------------------------------------------------------------------------------------


def _indicator(i: Indicator) -> scorecard.Indicator:
    return scorecard.Indicator(i.code, i.name, i.source, i.weight, i.excellent, i.target, i.warning, i.higher_is_better, i.owner, i.name_en)


@router.get("/scorecard/indicators", response_model=list[IndicatorOut])
async def list_indicators(_: Viewer, session: SessionDep) -> list[Indicator]:
    return list((await session.execute(select(Indicator).order_by(Indicator.position, Indicator.id))).scalars())


@router.put("/scorecard/indicators", response_model=list[IndicatorOut])
async def put_indicators(body: list[IndicatorIn], admin: Admin, session: SessionDep, request: Request) -> list[Indicator]:
    """Replace the whole card (weights must sum to 100)."""
    items = [scorecard.Indicator(b.code, b.name, b.source, b.weight, b.excellent, b.target, b.warning, b.higher_is_better, b.owner, b.name_en) for b in body]
    problems = scorecard.check(items)
    if problems:
        raise CodedError(422, "invalid", "; ".join(problems), field=problems[0].split(":")[0])
    old = {i.code: i for i in (await session.execute(select(Indicator))).scalars()}
    keep = {b.code for b in body}
    gone = [i.id for c, i in old.items() if c not in keep]
    if gone:
        await session.execute(delete(ManualFigure).where(ManualFigure.indicator_id.in_(gone)))
        await session.execute(delete(Indicator).where(Indicator.id.in_(gone)))
    for n, b in enumerate(body):
        row = old.get(b.code) or Indicator(code=b.code)
        for k, v in b.model_dump().items():
            setattr(row, k, v)
        row.position = n
        session.add(row)
    audit(session, admin, "scorecard.put", "indicators", client_ip(request), count=len(body))
    await session.commit()
    return list((await session.execute(select(Indicator).order_by(Indicator.position, Indicator.id))).scalars())


@router.put("/scorecard/manual")
async def put_manual(body: ManualFigureIn, admin: Admin, session: SessionDep, request: Request) -> dict[str, Any]:
    """A manual indicator's value for a month (satisfaction from the survey, ...)."""
    ind = (await session.execute(select(Indicator).where(Indicator.code == body.code))).scalar_one_or_none()
    if ind is None:
        raise CodedError(404, "not_found", "code: no such indicator", field="code")
    if ind.source != "manual":
        raise CodedError(422, "invalid", "code: this indicator is measured, not entered", field="code")
    row = (await session.execute(select(ManualFigure).where(ManualFigure.indicator_id == ind.id, ManualFigure.month == body.month))).scalar_one_or_none()
    if row is None:
        row = ManualFigure(indicator_id=ind.id, month=body.month, value=body.value)
        session.add(row)
    row.value = body.value
    audit(session, admin, "scorecard.manual", body.code, client_ip(request), month=body.month, value=body.value)
    await session.commit()
    return {"code": body.code, "month": body.month, "value": body.value}


@router.get("/scorecard")
async def month_score(principal: Viewer, session: SessionDep, settings: SettingsDep, month: MonthQ) -> dict[str, Any]:
    """The month's score out of 100 (centre-wide measures; manual figures as entered)."""
    rows = list((await session.execute(select(Indicator).order_by(Indicator.position, Indicator.id))).scalars())
    try:
        measured = await service.month_measures(session, month, _zone(settings))
    except service.ReportError as exc:
        raise _fail(exc) from None
    manual = {
        i: v for i, v in (await session.execute(select(ManualFigure.indicator_id, ManualFigure.value).where(ManualFigure.month == month))).all()
    }
    values = {r.code: (manual.get(r.id) if r.source == "manual" else measured.get(r.source.removeprefix("measure:"))) for r in rows}
    out = scorecard.score([_indicator(r) for r in rows], values)
    out["month"] = month
    return out


# --- the reports ----------------------------------------------------------------------------------


@router.get("/{level}")
async def report(
    level: Literal["interval", "daily", "weekly", "monthly"],
    principal: Viewer, session: SessionDep, settings: SettingsDep, request: Request,
    start: Annotated[Day, Query(alias="from")], end: Annotated[Day, Query(alias="to")],
    by: Literal["queue", "team", "agent"] = "queue", key: Key = [],  # noqa: B006 - FastAPI copies it
    format: Literal["json", "csv", "xlsx"] = "json",
    limit: Annotated[int, Query(ge=1, le=paged.MAX_LIMIT, description=f"rows per page (JSON; default {paged.DEFAULT_LIMIT}, at most {paged.MAX_LIMIT}); "
                                "CSV and XLSX always hold every row")] = paged.DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip (JSON), in report order: period, then key")] = 0,
) -> Any:  # fmt: skip
    """Offered, answered, 接通率, SL at T and at 30 s, abandons, ASA, AHT ... by queue;
    time by state, occupancy, utilisation, pauses ... by team or agent.  Every figure's formula is in `formulas`.

    JSON answers one page of rows (`limit`, default 500, at most 5000; `offset`) with `row_count` (every row),
    `totals` over every row and `by_period` (each period's totals over every key); CSV and XLSX hold every row."""
    q = service.Query(level, by, start, end, tuple(key))
    zone = _zone(settings)
    today = datetime.now(zone).date()
    open_rows = _open_rows(request) if start <= today <= end else None
    try:
        if format == "json":
            doc = await service.build(session, q, zone, principal.sees, open_rows, page=(offset, limit))
            return JSONResponse(doc)  # plain json.dumps: FastAPI's jsonable_encoder costs ~10x on 10k-row reports
        q.check()
        service.scoped_keys(q, principal.sees)  # a 403/422 before the worker is asked
        data, rows = await worker.run(settings, jobs.export_report, q, settings.timezone, principal.sees, open_rows, format)
    except service.ReportError as exc:
        raise _fail(exc) from None
    audit(session, principal, f"export.report_{format}", f"{level}/{by}", client_ip(request), start=str(start), end=str(end), rows=rows)
    await session.commit()
    name = f"report-{level}-{by}-{start}-{end}.{format}"
    media = "text/csv; charset=utf-8" if format == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
