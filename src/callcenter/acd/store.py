"""How the ACD's output is stored: a core record as CallRecord columns and
back, and one batch of records, agent intervals, interval facts and
callback facts written in the caller's transaction, each upserted on its
key so a retried batch or a second leader never writes a row twice.
The spool (callcenter.spool) replays batches through the same writer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import spool as spooling
from callcenter.acd import callback_dial
from callcenter.acd.models import AgentInterval, CallKind, CallRecord, Outcome, RingAttempt
from callcenter.db import dialect_insert
from callcenter.reports.store import write_facts

WRITTEN = Counter("callcenter_acd_persisted_total", "Rows written by the ACD persister", ["kind"])


def to_dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def to_ts(dt: datetime | None) -> float | None:
    return None if dt is None else dt.timestamp()


def record_values(r: dict[str, Any]) -> dict[str, Any]:
    """A core record as CallRecord column values (ring attempts apart)."""
    transfer = r.get("transfer") or {}
    return {
        "call_id": r["call_id"],
        "uniqueid": r["uniqueid"],
        "linkedid": r.get("linkedid") or "",
        "kind": CallKind(r.get("kind") or "queue"),
        "direction": r.get("direction") or "inbound",
        "source": r.get("source") or "live",
        "queue": r["queue"],
        "caller_number": r["caller_number"],
        "caller_name": r["caller_name"],
        "callee_number": r.get("callee_number") or "",
        "entered_at": to_dt(r["entered_at"]),
        "answered_at": to_dt(r["answered_at"]),
        "ended_at": to_dt(r["ended_at"]),
        "wait_s": r["wait_s"],
        "sl_wait_s": r.get("sl_wait_s"),
        "talk_s": r["talk_s"],
        "hold_s": r["hold_s"],
        "wrap_up_s": r["wrap_up_s"],
        "agent": r["agent"],
        "agent_name": r["agent_name"],
        "peer_agent": r.get("peer_agent"),
        "outcome": Outcome(r["outcome"]),
        "short_abandon": r["short_abandon"],
        "abandon_position": r["abandon_position"],
        "priority": r["priority"],
        "transfer_kind": transfer.get("kind"),
        "transfer_target": transfer.get("target"),
        "end_reason": r.get("end_reason"),
        "disposition": r["disposition"],
        "disposition_note": r["disposition_note"] or "",
        "recording_file": r["recording_file"],
        "legs": r["legs"],
        "timeline": r["timeline"] + ([{"t": r["ended_at"], "kind": "inferred"}] if r.get("inferred") else []),
    }


def record_dict(row: CallRecord) -> dict[str, Any]:
    """A stored call in the core's record shape (for the restart reload and the history API)."""
    return {
        "call_id": row.call_id,
        "uniqueid": row.uniqueid,
        "linkedid": row.linkedid,
        "kind": row.kind.value,
        "direction": row.direction,
        "source": row.source,
        "queue": row.queue,
        "caller_number": row.caller_number,
        "caller_name": row.caller_name,
        "callee_number": row.callee_number,
        "entered_at": to_ts(row.entered_at),
        "answered_at": to_ts(row.answered_at),
        "ended_at": to_ts(row.ended_at),
        "wait_s": row.wait_s,
        "sl_wait_s": row.sl_wait_s,
        "talk_s": row.talk_s,
        "hold_s": row.hold_s,
        "wrap_up_s": row.wrap_up_s,
        "agent": row.agent,
        "agent_name": row.agent_name,
        "peer_agent": row.peer_agent,
        "outcome": row.outcome.value,
        "short_abandon": row.short_abandon,
        "abandon_position": row.abandon_position,
        "priority": row.priority,
        "disposition": row.disposition,
        "disposition_note": row.disposition_note,
        "recording_file": row.recording_file,
        "ring_attempts": [{"agent": a.agent, "ring_s": a.ring_s, "result": a.result, "started_at": to_ts(a.started_at)} for a in row.ring_attempts],
        "transfer": {"kind": row.transfer_kind, "target": row.transfer_target or ""} if row.transfer_kind else None,
        "end_reason": row.end_reason,
        "inferred": any(t.get("kind") == "inferred" for t in row.timeline or []),
    }


def _upsert(s: AsyncSession, table: Any) -> Any:
    """INSERT .. ON CONFLICT DO NOTHING on either dialect."""
    return dialect_insert(s, table).on_conflict_do_nothing()


async def write_batch(s: AsyncSession, batch: list[tuple[str, dict[str, Any]]], pbx: str = "default") -> None:
    """Call records (with their ring attempts) and agent intervals as
    multi-row INSERTs (no ORM unit of work: this runs every second with
    thousands of rows at peak), in the caller's transaction.  Both are
    upserted on their keys ((pbx, call_id); (pbx, interface, state,
    started_at)): a retried batch, or two leaders of one PBX in turn, never
    write a row twice."""
    records = [item for kind, item in batch if kind == "record"]
    intervals = [item for kind, item in batch if kind == "interval"]
    if records:
        ids = [r["call_id"] for r in records]
        existing = set(
            (await s.execute(select(CallRecord.call_id).where(CallRecord.call_id.in_(ids), CallRecord.pbx == pbx))).scalars()
        )
        fresh = {r["call_id"]: r for r in records if r["call_id"] not in existing}
        for r in records:
            if r.get("correction") and r["call_id"] in existing:
                # queue_log's figures for a call we closed with estimates (backfill.py)
                values = record_values(r)
                del values["call_id"]
                await s.execute(update(CallRecord).where(CallRecord.call_id == r["call_id"], CallRecord.pbx == pbx).values(**values))
        if fresh:
            # Another leader may have written some of them since the select: those are skipped, and so are their attempts.
            rows = (
                await s.execute(
                    _upsert(s, CallRecord.__table__).returning(CallRecord.__table__.c.id, CallRecord.__table__.c.call_id),
                    [{**record_values(r), "pbx": pbx} for r in fresh.values()],
                )
            ).all()
            attempts = [
                {"call_record_id": rid, "agent": a["agent"], "started_at": to_dt(a["started_at"]), "ring_s": a["ring_s"], "result": a["result"]}
                for rid, call_id in rows
                for a in fresh[call_id]["ring_attempts"]
            ]
            if attempts:
                await s.execute(insert(RingAttempt.__table__), attempts)
    if intervals:
        await s.execute(
            _upsert(s, AgentInterval.__table__),
            [
                {
                    "pbx": pbx,
                    "interface": i["interface"],
                    "state": i["state"],
                    "reason": i["reason"],
                    "started_at": to_dt(i["started_at"]),
                    "ended_at": to_dt(i["ended_at"]),
                    "duration_s": i["duration_s"],
                    "call_id": i["call_id"],
                }
                for i in intervals
            ],
        )
    facts = [item for kind, item in batch if kind == "fact"]
    if facts:
        await write_facts(s, facts)
    await callback_dial.write_facts(s, [item for kind, item in batch if kind == "callback"], pbx)
    WRITTEN.labels("record").inc(len(records))
    WRITTEN.labels("interval").inc(len(intervals))


SPOOLED = "acd"


@spooling.writer(SPOOLED)
async def _write_spooled(s: AsyncSession, items: list[dict[str, Any]]) -> None:
    by_pbx: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for i in items:
        by_pbx.setdefault(i.get("pbx", "default"), []).append((i["kind"], i["item"]))
    for pbx, batch in by_pbx.items():
        await write_batch(s, batch, pbx)


