"""Calls in progress, as plain data: what a restart of `callcenter serve`
needs to go on where it stopped.

The service writes `dump(core)` to the database every few seconds and when
it stops; on start it gives the rows back to `load(core, rows)` before the
bridge connects, so a caller who was waiting keeps their wait, a call that
was answered keeps its answer time, an agent in wrap-up keeps their
deadline, and their KPI contributions are counted again (the finished
calls come back through `Core.restore`).  The first resync then settles
what changed while no process was listening.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from callcenter.acd.agents import Wrap
from callcenter.acd.calls import Party
from callcenter.acd.common import Output
from callcenter.acd.direct import DirectCall
from callcenter.acd.qcallbacks import OFFER_TIMEOUT_S, QueuedCallback
from callcenter.acd.queue_call import Attempt, QueueCall

if TYPE_CHECKING:
    from callcenter.acd.core import Core

VERSION = 1

_FIELDS: dict[type, tuple[str, ...]] = {}


def plain(obj: Any) -> Any:
    """dataclasses.asdict, several times faster on the core's records: field
    names are looked up once per class and str / number / None values are
    returned as they are (asdict deep-copies each).  A cluster leader dumps
    every call in progress twice a second on the loop that feeds the
    websockets: asdict held it 30-100 ms each time (bench/cluster.py --trace)."""
    cls = obj.__class__
    if cls is str or cls is float or cls is int or cls is bool or obj is None:
        return obj
    names = _FIELDS.get(cls)
    if names is None and dataclasses.is_dataclass(cls):
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    if names is not None:
        return {n: plain(getattr(obj, n)) for n in names}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return cls(*[plain(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return cls(plain(v) for v in obj)
    if isinstance(obj, dict):
        return cls((plain(k), plain(v)) for k, v in obj.items())
    return copy.deepcopy(obj)


def dump(core: Core) -> list[dict[str, Any]]:
    return list(dump_iter(core))


def dump_iter(core: Core) -> Iterator[dict[str, Any]]:
    """dump's rows one at a time, so a caller on an event loop can let
    others run between them; the calls are listed before the first row."""
    calls, directs = list(core.queue_acd.calls.values()), list(core.direct.live.values())
    agents, callbacks = list(core.agent_states.by_interface.values()), list(core.qcallbacks.live.values())
    for call in calls:
        yield {"kind": "queue", "key": call.call_id, "data": plain(call), "version": VERSION}
    rows: list[dict[str, Any]] = []
    for d in directs:
        data = {f.name: getattr(d, f.name) for f in dataclasses.fields(d) if f.name != "thread"}
        data["caller"] = plain(d.caller)
        data["remote"] = plain(d.remote) if d.remote else None
        rows.append({"kind": "direct", "key": d.call_id, "data": data})
    for a in agents:
        if a.wrap is not None:
            w = a.wrap
            rows.append(
                {
                    "kind": "wrap",
                    "key": a.interface,
                    "data": {"call_id": w.call.call_id, "started": w.started, "deadline": w.deadline, "paused_by_us": w.paused_by_us, "name": a.name},
                }
            )
    for cb in callbacks:  # queued callbacks keep their place across a restart
        data = {f.name: getattr(cb, f.name) for f in dataclasses.fields(cb) if f.name != "direct"}
        rows.append({"kind": "callback", "key": cb.cb_id, "data": data})
    for row in rows:
        row["version"] = VERSION
        yield row


def load(core: Core, rows: list[dict[str, Any]], now: float) -> int:
    """Put the calls back; returns how many.  Rows from another version are skipped."""
    agents = core.agent_states
    calls: dict[str, Any] = {}
    for row in rows:
        if row.get("version") != VERSION:
            continue
        if row["kind"] == "queue":
            call = _queue_call(row["data"])
            calls[call.call_id] = call
            _put_queue_call(core, call)
        elif row["kind"] == "direct":
            d = _direct_call(row["data"])
            calls[d.call_id] = d
            core.direct.live[d.call_id] = d
            for phone, iface in d.phones.items():
                core.direct.by_phone[phone] = d
                a = agents.agent(iface, "", now)
                if d.talk_end is None:
                    a.others[d.call_id] = d
    for row in rows:
        if row.get("version") == VERSION and row["kind"] == "wrap":
            w = row["data"]
            call = calls.get(w["call_id"])
            if call is None:
                continue
            a = agents.agent(row["key"], w.get("name", ""), now)
            a.wrap = Wrap(call, w["started"], w["deadline"], w["paused_by_us"])
            core.timers.add(w["deadline"], "wrap", a.interface)
        elif row.get("version") == VERSION and row["kind"] == "callback":
            _put_callback(core, row["data"])
    for a in agents.by_interface.values():
        agents.refresh(a, now, Output(now))  # restoring is not news: nobody reads this Output
    return len(calls)


def _put_callback(core: Core, data: dict[str, Any]) -> None:
    """A queued callback back in its place.  One offered when we stopped
    stays that agent's until the offer lapses (their phone may still ring:
    offered to someone else meanwhile, both would dial the customer); one
    being dialled stays with its agent's outbound call when that call came
    back too (the resync ends it if it is gone), and waits again otherwise;
    if the agent took it meanwhile, their CcOutbound (Task) claims it back
    (qcallbacks.outbound), so it is not dialled twice."""
    cb = QueuedCallback(**data)
    qc = core.qcallbacks
    if cb.state == "offered" and cb.agent and cb.offered_at is not None and cb.agent not in qc.by_agent:
        qc.by_agent[cb.agent] = cb
        core.timers.add(cb.offered_at + OFFER_TIMEOUT_S, "cboffer", cb.cb_id)
    elif cb.state == "dialing" and cb.agent and cb.agent_uid in core.direct.by_phone and cb.agent not in qc.by_agent:
        qc.by_agent[cb.agent] = cb
    elif cb.state in ("offered", "dialing"):
        cb.state, cb.agent, cb.agent_uid, cb.paused_by_us = "waiting", None, "", False
    qc.live[cb.cb_id] = cb
    qc.by_call[cb.call_id] = qc.by_call[cb.uniqueid] = cb
    qc._dirty = True


def _queue_call(data: dict[str, Any]) -> QueueCall:
    data = dict(data)
    data["attempts"] = [Attempt(**x) for x in data.get("attempts", [])]
    return QueueCall(**data)


def _direct_call(data: dict[str, Any]) -> DirectCall:
    data = dict(data)
    data["caller"] = Party(**data["caller"])
    data["remote"] = Party(**data["remote"]) if data.get("remote") else None
    return DirectCall(**data)


def _put_queue_call(core: Core, call: QueueCall) -> None:
    qa = core.queue_acd
    qa.calls[call.call_id] = call
    qa.by_linked[call.linkedid] = call
    for uid in (call.uniqueid, call.member_uid, call.phone_uid, *call.legs):
        if uid:
            qa.by_uid[uid] = call
    for att in call.open_attempts():  # a ring in progress when we stopped: it is over by now or will be re-offered
        att.result = "cancelled"
    ch = core.tracker.graph.ensure(call.uniqueid, call.legs.get(call.uniqueid, {}).get("channel", ""), call.linkedid, call.entered_at)
    thread = core.tracker.call_of(ch, call.entered_at)
    call.thread = thread.call_id
    thread.queue_calls.append(call.call_id)
    call.offered_counted = False  # the KPIs start from the database's finished calls: count it again
    qa.count_offered(call)
    if call.left_at is None:
        call.state = "waiting"
        qa.queue(call.queue).waiting[call.call_id] = call
        return
    if call.answered_at is not None and not call.inferred:
        wait = call.answered_at - call.entered_at
        qa.kpi_exit(call.queue, call.left_at, "answered", wait, qa.sl_wait_of(call, call.answered_at), False)
    if call.pending:
        core.timers.add(call.left_at + 10.0, "exit", call.call_id)
    if call.answered_at is not None and call.talk_end is None:
        a = core.agent_states.agent(call.agent or "", call.agent_name, call.answered_at)
        a.call = call

