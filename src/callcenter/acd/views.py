"""Read models: what the wallboard, the desktop and the API show, built on
demand from the core's state.  Plain dicts, no state of their own."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from callcenter.acd import kpi
from callcenter.acd.agents import Agent, Membership, Totals
from callcenter.acd.common import rounded
from callcenter.acd.queue_call import QueueCall, QueueState

if TYPE_CHECKING:
    from callcenter.acd.core import Core

WINDOWS = ("15m", "60m", "interval", "today")
STATES = ("available", "ringing", "on_call", "on_hold", "wrap_up", "paused", "logged_out")


def agent_counts(core: Core, q: QueueState | None, members: Iterable[str], known: Iterable[str]) -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    members = set(members)
    for iface in members:
        a = core.agents.get(iface)
        if a is None:
            continue
        state = a.state
        if q is not None and state == "available" and a.queues.get(q.name, Membership()).not_ready:
            state = "paused"
        counts[state] += 1
    counts["logged_out"] += len(set(known) - members)
    return counts


def kpi_views(core: Core, kset: kpi.KpiSet) -> dict[str, dict[str, Any]]:
    return {w: kpi.figures(kset.window(w, core.now)) for w in WINDOWS}


def caller(core: Core, c: QueueCall) -> dict[str, Any]:
    return {
        "call_id": c.call_id,
        "caller_number": c.caller_number,
        "caller_name": c.caller_name,
        "position": c.position,
        "wait_s": rounded(max(0.0, core.now - c.entered_at)),
        "priority": c.priority,
        "entered_at": c.entered_at,  # lets a screen count the wait up between updates
    }


def queue_view(core: Core, name: str) -> dict[str, Any]:
    q = core.queues.get(name) or QueueState(name, core.kpiset())
    cfg = core.config.queue(name)
    callers = sorted(q.waiting.values(), key=lambda c: c.position)
    return {
        "queue": name,
        "waiting": len(callers),
        "longest_wait_s": rounded(max((core.now - c.entered_at for c in callers), default=0.0)),
        "callers": [caller(core, c) for c in callers],
        "callbacks": core.qcallbacks.view(name, core.now),  # queued callbacks keeping their place
        "agents": agent_counts(core, q, q.members, q.known),
        "kpi": kpi_views(core, q.kpi),
        "sl_threshold_s": cfg.sl_threshold_s,
        "short_abandon_s": cfg.short_abandon_s,
        "abandon_mode": cfg.abandon_mode,
        "sl_formula": kpi.sl_formula(cfg),
    }


def totals_view(core: Core, queues: list[str] | None = None) -> dict[str, Any]:
    """All queues together, or just `queues` (a team lead's)."""
    chosen = [core.queues[n] for n in (core.queues if queues is None else queues) if n in core.queues]
    callers = sorted((c for q in chosen for c in q.waiting.values()), key=lambda c: c.entered_at)
    members = {i for q in chosen for i in q.members}
    known = {i for q in chosen for i in q.known}
    if queues is None:
        kpis = kpi_views(core, core.totals)
    else:
        kpis = {}
        for w in WINDOWS:
            merged = [0.0] * kpi.NSLOTS
            for q in chosen:
                kpi.merge(merged, q.kpi.window(w, core.now))
            kpis[w] = kpi.figures(merged)
    return {
        "queue": "*",
        "waiting": len(callers),
        "longest_wait_s": rounded(max((core.now - c.entered_at for c in callers), default=0.0)),
        "callers": [caller(core, c) for c in callers],
        "agents": agent_counts(core, None, members, known),
        "kpi": kpis,
        "sl_threshold_s": None,
        "short_abandon_s": None,
        "abandon_mode": None,
        "sl_formula": kpi.TOTALS_FORMULA,
    }


def today(core: Core, a: Agent) -> Totals:
    """Today's totals including the open interval and the open pause so far."""
    day = core.day_of(core.now)
    t = (a.today if a.day_id == day else Totals()).copy()
    start = core.day_start(day)
    t.add(a.state, a.reason, core.now - max(a.since, start))
    if a.pause_since is not None:
        t.add("pause", a.pause_open, core.now - max(a.pause_since, start))
    return t


def _current_call(core: Core, a: Agent) -> dict[str, Any] | None:
    call = a.call
    if call is not None:
        return {
            "call_id": call.call_id,
            "queue": call.queue,
            "direction": "inbound",
            "caller_number": call.caller_number,
            "caller_name": call.caller_name,
            # The agent's own leg: the desktop's hold, transfer and hang-up act on it.
            "channel": call.legs.get(call.phone_uid or call.member_uid, {}).get("channel", ""),
            "answered_at": call.answered_at,
            "wait_s": rounded((call.answered_at or core.now) - call.entered_at),
        }
    if a.others:
        d = next(reversed(a.others.values()))
        own = next((uid for uid, iface in d.phones.items() if iface == a.interface), "")
        ch = core.tracker.graph.get(own)
        remote = d.remote if d.remote is not None and d.remote.uniqueid != own else d.caller
        return {
            "call_id": d.call_id,
            "queue": "",
            "direction": d.direction if a.interface == d.agent else ("internal" if d.kind == "internal" else "inbound"),
            "caller_number": remote.number if remote.uniqueid != own else "",
            "caller_name": remote.name if remote.uniqueid != own else "",
            "channel": ch.name if ch is not None else "",
            "answered_at": d.answered_at,
            "wait_s": rounded((d.answered_at or core.now) - d.started_at),
        }
    return None


def agent_view(core: Core, interface: str) -> dict[str, Any]:
    a = core.agents.get(interface) or Agent(interface, interface, since=core.now)
    t = today(core, a)
    busy = t.talk + t.hold + t.wrap
    return {
        "interface": a.interface,
        "name": a.name,
        "state": a.state,
        "reason": a.reason,
        "since": a.since,
        "queues": [{"queue": qn, "penalty": m.penalty, "paused": m.paused} for qn, m in sorted(a.queues.items())],
        "call": _current_call(core, a),
        "callback": core.qcallbacks.of_agent(interface),  # a queued callback offered to them or on the line
        "wrap_up": None
        if a.wrap is None
        else {"call_id": a.wrap.call.call_id, "queue": a.wrap.call.queue, "deadline": a.wrap.deadline, "dispositions_required": True},
        "today": {
            "handled": t.handled,
            "talk_s": rounded(t.talk),
            "hold_s": rounded(t.hold),
            "wrap_up_s": rounded(t.wrap),
            "dialing_s": rounded(t.dialing),
            "aht_s": rounded(busy / t.handled) if t.handled else None,
            "occupancy": t.occupancy(),
            "paused_s": {k: rounded(v) for k, v in t.paused.items()},
            "by_direction": {k: {"handled": int(v[0]), "talk_s": rounded(v[1])} for k, v in sorted(t.by_direction.items())},
        },
        "history": [
            {"state": st, "reason": why, "start": start, "end": end, "call_id": cid} for st, why, start, end, cid in list(a.history)[-10:]
        ],
    }


def agent_totals(core: Core, interface: str) -> dict[str, Any]:
    """Everything since the core started (what `replay` reports)."""
    a = core.agents[interface]
    t = a.total.copy()
    t.add(a.state, a.reason, core.now - a.since)
    if a.pause_since is not None:
        t.add("pause", a.pause_open, core.now - a.pause_since)
    return {
        "name": a.name,
        "state": a.state,
        "handled": t.handled,
        "talk_s": rounded(t.talk),
        "hold_s": rounded(t.hold),
        "wrap_up_s": rounded(t.wrap),
        "dialing_s": rounded(t.dialing),
        "paused_s": {k: rounded(v) for k, v in sorted(t.paused.items())},
        "occupancy": t.occupancy(),
        "by_direction": {k: {"handled": int(v[0]), "talk_s": rounded(v[1])} for k, v in sorted(t.by_direction.items())},
    }


def call_view(core: Core, call_id: str) -> dict[str, Any] | None:
    c = core.queue_acd.calls.get(call_id)
    if c is None:
        return core.qcallbacks.call_view(call_id, core.now)  # a queued callback's card, or None
    end = c.answered_at if c.answered_at is not None else (c.left_at if c.left_at is not None else core.now)
    return {
        "call_id": c.call_id,
        "uniqueid": c.uniqueid,
        "queue": c.queue,
        "caller_number": c.caller_number,
        "caller_name": c.caller_name,
        "entered_at": c.entered_at,
        "answered_at": c.answered_at,
        "agent": c.agent,
        "state": c.state,
        "wait_s": rounded(max(0.0, end - c.entered_at)),
        "priority": c.priority,
        "route": c.route,
        "recording_file": c.recording_file,
    }


def wallboard(core: Core) -> dict[str, Any]:
    return {
        "ts": core.now,
        "queues": {name: queue_view(core, name) for name in sorted(core.queues)},
        "agents": {iface: agent_view(core, iface) for iface in sorted(core.agents)},
        "totals": totals_view(core),
    }


def wrap_up_of(core: Core, interface: str) -> dict[str, Any] | None:
    """The call an agent must disposition now, or None."""
    a = core.agents.get(interface)
    if a is None or a.wrap is None:
        return None
    return {"call_id": a.wrap.call.call_id, "queue": a.wrap.call.queue, "deadline": a.wrap.deadline}
