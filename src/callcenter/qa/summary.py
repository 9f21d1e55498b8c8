"""QA score summaries: average scores of the current evaluations, grouped
by agent, queue, team, month, evaluator or form item, and their CSV."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd.models import CallRecord
from callcenter.auth.models import User
from callcenter.auth.scope import Scope
from callcenter.qa.models import EvalStatus, Evaluation, QaForm
from callcenter.teams.models import Team, TeamMember


async def summary(
    session: AsyncSession,
    group: str,
    month_from: str | None,
    month_to: str | None,
    agent: str | None,
    queue: str | None,
    scope: Scope | None = None,
) -> list[dict[str, Any]]:
    """Average scores of current (not superseded) submitted evaluations,
    grouped by agent, queue, team (the agent's team when the call was
    taken), month, evaluator or form item.  Item rows give the share of
    its points earned, 0..100.  `scope` (a team lead's) limits the
    evaluations to their teams' queues and agents."""
    q = select(Evaluation).where(
        Evaluation.superseded.is_(False), Evaluation.status != EvalStatus.draft, Evaluation.total.is_not(None)
    )
    if scope is not None and not scope.everything:
        q = q.where(or_(Evaluation.queue.in_(scope.queue_list), Evaluation.agent.in_(scope.interface_list)))
    if month_from:
        q = q.where(Evaluation.month >= month_from)
    if month_to:
        q = q.where(Evaluation.month <= month_to)
    if agent:
        q = q.where(Evaluation.agent == agent)
    if queue:
        q = q.where(Evaluation.queue == queue)
    evs = list((await session.execute(q)).scalars())
    if group == "item":
        forms = {f.id: f for f in (await session.execute(select(QaForm).where(QaForm.id.in_({e.form_id for e in evs})))).scalars()}
        acc: dict[str, dict[str, Any]] = {}
        for e in evs:
            for section in forms[e.form_id].definition["sections"]:
                for item in section["items"]:
                    a = e.answers.get(item["key"]) or {}
                    row = acc.setdefault(item["key"], {"key": item["key"], "zh": item["zh"], "en": item["en"], "veto": bool(item.get("veto")), "n": 0, "sum": 0.0, "violations": 0})
                    if item.get("veto"):
                        row["n"] += 1
                        row["violations"] += bool(a.get("violated"))
                    elif not a.get("na") and a.get("score") is not None:
                        row["n"] += 1
                        row["sum"] += float(a["score"]) / float(item["weight"]) * 100
        return [
            {"key": r["key"], "zh": r["zh"], "en": r["en"], "veto": r["veto"], "count": r["n"], "violations": r["violations"],
             "average": None if r["veto"] or not r["n"] else round(r["sum"] / r["n"], 2)}
            for r in acc.values()
        ]
    names: dict[str, str] = {}
    if group in ("agent", "evaluator"):
        for u in (await session.execute(select(User))).scalars():
            names[u.interface or ""] = u.display_name
            names[f"id:{u.id}"] = u.display_name
    teams: dict[int, str] = {}
    if group == "team":
        teams, names = await _teams_of(session, evs)
    buckets: dict[str, list[Evaluation]] = defaultdict(list)
    for e in evs:
        key = {"agent": e.agent, "queue": e.queue, "month": e.month, "evaluator": f"id:{e.evaluator_id}",
               "team": teams.get(e.id, "")}[group]  # fmt: skip
        buckets[key].append(e)
    out = []
    for key in sorted(buckets):
        rows = buckets[key]
        totals = [e.total for e in rows if e.total is not None]
        out.append(
            {
                "key": key.removeprefix("id:"),
                "name": names.get(key, key.removeprefix("id:")),
                "count": len(rows),
                "average": round(sum(totals) / len(totals), 2) if totals else None,
                "min": min(totals) if totals else None,
                "max": max(totals) if totals else None,
                "vetoed": sum(e.vetoed for e in rows),
                "disputed": sum(e.status in (EvalStatus.disputed, EvalStatus.resolved) for e in rows),
            }
        )
    return out


async def _teams_of(session: AsyncSession, evs: list[Evaluation]) -> tuple[dict[int, str], dict[str, str]]:
    """evaluation id -> "team:<id>" of its agent when the call came in
    ("" = in no team then), and those keys' team names."""
    agents = {e.agent_user_id for e in evs} - {None}
    if not agents:
        return {}, {}
    calls = dict((await session.execute(select(CallRecord.id, CallRecord.entered_at).where(CallRecord.id.in_({e.call_record_id for e in evs})))).all())
    stretches: dict[int, list[tuple[TeamMember, Team]]] = defaultdict(list)
    for m, t in (await session.execute(select(TeamMember, Team).join(Team, Team.id == TeamMember.team_id).where(TeamMember.user_id.in_(agents)))).all():
        stretches[m.user_id].append((m, t))
    out: dict[int, str] = {}
    names: dict[str, str] = {"": "—"}
    for e in evs:
        at = calls.get(e.call_record_id)
        for m, t in stretches.get(e.agent_user_id or 0, ()):
            if at is not None and m.from_at <= at and (m.to_at is None or at < m.to_at):
                out[e.id] = f"team:{t.id}"
                names[f"team:{t.id}"] = t.name
                break
    return out, names


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    """UTF-8 with a BOM: Excel opens Chinese text correctly only with it."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")

