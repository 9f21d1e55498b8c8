"""Backfill from Asterisk's own record of its queues: queue_log.

What happened entirely while we could not see Asterisk (the AMI link was
down, or serve was restarting) is not in the event stream, but app_queue
wrote it to queue_log, which Asterisk keeps in our database
(asterisk/extconfig.conf: realtime queue_log, microsecond times in UTC).
After a resync the service reads the rows of the blind window and hands
them here as one `QueueLogRows` event:

- a queue call we never heard of is made from its rows and recorded
  (`source="backfill"`): queued, answered by whom, talk, or how it left;
- a call the resync rebuilt or closed with estimates gets queue_log's exact
  times (answer, end); its KPIs are counted (again) with the real figures;
- a call we saw live is left alone: the events already said it exactly;
- a caller who pressed the callback key while we were blind (EXITWITHKEY
  with one of `CoreConfig.callback_keys`; the UserEvent CcCallback that
  names the task was missed) left the queue as `callback_requested`, and,
  if that was today, keeps their place in line as a queued callback
  (qcallbacks.py), exactly as if we had seen it: original entry time and
  position from queue_log.  The task is found by the service when it dials
  (callback_dial.py), and the CcOutbound of that dial names it to the core.

Verbs and fields are app_queue.c's ast_queue_log() calls (22.x):
ENTERQUEUE url|callerid|origpos, CONNECT holdtime|member-uniqueid|ringtime,
COMPLETECALLER/COMPLETEAGENT holdtime|calltime|origpos, ABANDON /
EXITWITHTIMEOUT / EXITEMPTY pos|origpos|waittime, EXITWITHKEY
key|pos|origpos|waittime, BLINDTRANSFER exten|context|holdtime|calltime|
origpos, ATTENDEDTRANSFER BRIDGE|id|holdtime|calltime|origpos (APP, LINK...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from callcenter.acd import events as ev
from callcenter.acd import kpi
from callcenter.acd.common import Output
from callcenter.acd.queue_call import OUTCOME_SLOT, QueueCall, queue_record

if TYPE_CHECKING:
    from callcenter.acd.core import Core

_DIALABLE = re.compile(r"\+?[0-9]+")  # [cc-callback]'s test of the caller's number
EXITS = {"ABANDON": ("abandoned", 2), "EXITWITHTIMEOUT": ("timeout", 2), "EXITEMPTY": ("left_empty", 2), "EXITWITHKEY": ("exit_key", 3)}


@dataclass(slots=True)
class Stay:
    """One caller's stay in one queue, as queue_log tells it."""

    callid: str
    queue: str
    entered: float | None  # None: its ENTERQUEUE is before the rows we have
    caller: str = ""
    connected: float | None = None
    hold_s: int | None = None
    agent: str = ""  # the MemberName (log_membername_as_agent = yes)
    member_uid: str = ""
    ended: float | None = None
    talk_s: int | None = None
    outcome: str | None = None
    wait_s: int | None = None
    ended_by: str = ""
    transfer: dict[str, str] | None = None
    rings: list[tuple[str, float, str]] = field(default_factory=list)  # (agent, seconds, verb)
    key: str = ""  # EXITWITHKEY's key
    origpos: int = 0  # the position the caller joined at (the exit rows' origpos)

    def entered_at(self) -> float:
        """When the caller joined: ENTERQUEUE, or worked back from the wait
        CONNECT or the exit reports (app_queue's whole seconds)."""
        if self.entered is not None:
            return self.entered
        if self.connected is not None:
            return self.connected - (self.hold_s or 0)
        if self.ended is not None:
            return self.ended - (self.wait_s or 0) - (self.talk_s or 0)
        return 0.0

    @property
    def finished(self) -> bool:
        return self.ended is not None or (self.outcome is not None and self.outcome != "answered")


def stays(rows: tuple[ev.QueueLogRow, ...]) -> list[Stay]:
    """queue_log rows -> stays, in order; a caller re-entering a queue starts a new one."""
    open_: dict[str, Stay] = {}
    out: list[Stay] = []
    for r in sorted(rows, key=lambda r: (r.time, r.id)):
        if r.callid in ("NONE", "MANAGER", "CLI", "REALTIME", ""):
            continue
        d = list(r.data) + [""] * 5
        s = open_.get(r.callid)
        if r.event == "ENTERQUEUE" or s is None:
            s = Stay(r.callid, r.queue, r.time if r.event == "ENTERQUEUE" else None, caller=d[1] if r.event == "ENTERQUEUE" else "")
            open_[r.callid] = s
            out.append(s)
            if r.event == "ENTERQUEUE":
                continue
        if r.event == "CONNECT":
            s.connected, s.hold_s, s.agent, s.member_uid, s.outcome = r.time, _int(d[0]), r.agent, d[1], "answered"
        elif r.event in ("COMPLETECALLER", "COMPLETEAGENT"):
            s.ended, s.talk_s, s.ended_by = r.time, _int(d[1]), "caller" if r.event == "COMPLETECALLER" else "agent"
        elif r.event == "BLINDTRANSFER":
            s.ended, s.talk_s, s.transfer = r.time, _int(d[3]), {"kind": "blind", "target": d[0]}
        elif r.event == "ATTENDEDTRANSFER":
            s.ended, s.talk_s, s.transfer = r.time, _int(d[3] if d[0] != "LINK" else d[4]), {"kind": "attended", "target": ""}
        elif r.event in EXITS:
            outcome, idx = EXITS[r.event]
            s.outcome, s.wait_s, s.ended, s.origpos = outcome, _int(d[idx]), r.time, _int(d[idx - 1])
            if r.event == "EXITWITHKEY":
                s.key = d[0]
        elif r.event in ("RINGNOANSWER", "RINGCANCELED"):
            s.rings.append((r.agent, _int(d[0]) / 1000.0, r.event))
    return out


def _int(v: str) -> int:
    try:
        return int(float(v))
    except ValueError:
        return 0


def apply_backfill(core: Core, e: ev.QueueLogRows, out: Output) -> None:
    qa = core.queue_acd
    for s in stays(e.rows):
        live = _live(core, s)
        if live is not None:
            _correct_live(core, live, s, out)
            continue
        done = qa.finished.get((s.callid, s.queue))
        if done is not None:
            _correct_finished(core, done, s, out)
            continue
        if s.finished and (s.callid, s.queue) not in qa.finished_keys:
            _make(core, s, out)


def _live(core: Core, s: Stay) -> QueueCall | None:
    """The unfinished queue call of this stay: still waiting, talking, or
    in its agent's wrap-up (then no longer found by the caller's channel)."""
    live = core.queue_acd.own(s.callid)
    if live is not None and live.queue == s.queue:
        return live
    for call in core.queue_acd.calls.values():
        if call.uniqueid == s.callid and call.queue == s.queue:
            return call
    return None


def _estimated(call: QueueCall) -> bool:
    """Were this call's figures guessed at a resync (not seen live), and not
    corrected yet?"""
    if any(i.get("kind") == "backfill" for i in call.timeline):
        return False
    return call.guessed


def _agent(core: Core, name: str) -> tuple[str | None, str]:
    if not name:
        return None, ""
    for a in core.agent_states.by_interface.values():
        if a.name == name or a.interface == name:
            return a.interface, a.name
    return name, name


def _correct_live(core: Core, call: QueueCall, s: Stay, out: Output) -> None:
    """A call in progress the resync rebuilt or ended: put queue_log's times in."""
    if not _estimated(call) or call.answered_at is None or (s.connected is None and not call.end_inferred):
        return
    # (No CONNECT in the rows read: the answer was seen live, only the end was guessed.)
    if s.connected is not None and call.inferred:
        call.entered_at = s.entered_at()
        call.left_at = s.connected
        call.inferred = False
        core.queue_acd.count_offered(call)
        core.queue_acd.kpi_exit(call.queue, s.connected, "answered", s.connected - call.entered_at, s.hold_s or 0, False)
    if s.connected is not None:
        call.answered_at = s.connected
        call.sl_wait = s.hold_s
    if call.talk_end is not None:
        # Talk ended while we were blind (the caller may still be on, in a
        # survey, say): at queue_log's COMPLETE, not at the resync.  An end
        # seen live stays; the talk before it follows the corrected answer.
        _talk_to(call, s.ended if _end_from_log(call, s) else call.talk_end)
    call.note(out.ts, "backfill", note="times from queue_log")
    out.calls.add(call.call_id)


def _end_from_log(call: QueueCall, s: Stay) -> bool:
    """Does queue_log's end replace ours?  Only one we did not see."""
    return s.ended is not None and s.outcome in (None, "answered") and (call.talk_end is None or call.end_inferred)


def _talk_to(call: QueueCall, end: float | None) -> None:
    """Talk up to queue_log's end.  A hold still open when we went blind
    was counted up to the resync; none of it can lie past the real end."""
    assert call.answered_at is not None and end is not None
    call.talk_end = end
    call.hold_s = min(call.hold_s, max(0.0, end - call.answered_at))
    call.talk_s = max(0.0, end - call.answered_at - call.hold_s)


def _correct_finished(core: Core, call: QueueCall, s: Stay, out: Output) -> None:
    """A finished call with estimates: queue_log's times where it has them
    (the answer, the end), the core's own where it saw them live."""
    if not _estimated(call) or not (s.finished or s.connected is not None):
        return
    qa = core.queue_acd
    counted = not call.inferred
    if counted:
        _count(core, call, -1.0)
    if s.entered is not None:
        call.entered_at = s.entered
    if s.outcome == "answered" and s.connected is not None:
        call.outcome = "answered"  # the resync may have guessed otherwise
        call.answered_at = call.left_at = s.connected
        call.sl_wait = s.hold_s
        if call.agent is None and s.agent:
            call.agent, call.agent_name = _agent(core, s.agent)
    if call.answered_at is not None and _end_from_log(call, s):
        _talk_to(call, s.ended)  # queue_log's end (COMPLETE*, or the transfer)
        if call.ended_at is None or call.ended_at > s.ended:
            call.ended_at = s.ended
    elif s.connected is not None and call.talk_end is not None:
        call.talk_s = max(0.0, call.talk_end - call.answered_at - call.hold_s)  # the end was seen live
    elif s.outcome is not None and s.outcome != "answered":
        call.outcome = "callback_requested" if _asked_callback(core, s, call) else s.outcome
        call.callback = call.callback or call.outcome == "callback_requested"
        call.left_at = call.ended_at = s.ended
        call.sl_wait = s.wait_s
    if s.transfer and not call.transfer:
        call.transfer = dict(s.transfer)
    call.inferred = False
    call.note(out.ts, "backfill", note="times from queue_log")
    _count(core, call, 1.0)
    a = core.agent_states.get(call.agent or "")
    if a is not None and call.outcome == "answered" and not call.agent_counted:
        call.agent_counted = True
        core.agent_states.handled(a, call.talk_end or out.ts, "inbound", call.talk_s, out)
    record = queue_record(call, qa.config)
    record["source"] = "backfill"
    record["correction"] = True
    out.records.append(record)
    out.queues.add(call.queue)
    _keep_place(core, call, out)


def _asked_callback(core: Core, s: Stay, call: QueueCall | None = None) -> bool:
    """Did this stay end with a callback request?  The key says so in
    queue_log; [cc-callback] then registers it for a number it can dial
    (the caller's own, when it is one), and /hooks/callback may have told
    the core already (`call.callback`)."""
    if s.outcome != "exit_key" or s.key not in core.config.callback_keys:
        return False
    number = (call.caller_number if call is not None else s.caller.rsplit("<", 1)[-1].rstrip(">")).strip()
    return (call is not None and call.callback) or _DIALABLE.fullmatch(number) is not None


def _keep_place(core: Core, call: QueueCall, out: Output) -> None:
    """A callback asked today keeps the caller's place (qcallbacks.requested);
    one from an earlier day is left to that day's list."""
    if call.outcome == "callback_requested" and call.left_at is not None and core.day_of(call.left_at) == core.day_of(core.now):
        core.queue_acd.on_callback(call, out)


def _count(core: Core, call: QueueCall, sign: float) -> None:
    """Add (sign 1) or take back (-1) a finished call's exit and handling in
    the KPIs; its OFFERED is counted once, whatever happens."""
    qa = core.queue_acd
    qa.count_offered(call)
    left = call.left_at if call.left_at is not None else call.entered_at
    wait = max(0.0, left - call.entered_at)
    met, counted = kpi.sl_decision(qa.config.queue(call.queue), call.outcome or "abandoned", qa.sl_wait_of(call, left))
    pairs: list[tuple[int, float]] = [(kpi.SL_MET, sign * met), (kpi.SL_COUNTED, sign * counted)]
    if call.outcome == "answered":
        pairs += [(kpi.ANSWERED, sign), (kpi.WAIT_ANSWERED, sign * wait), (kpi.HANDLED, sign), (kpi.TALK, sign * call.talk_s),
                  (kpi.HOLD, sign * call.hold_s), (kpi.WRAP, sign * call.wrap_up_s)]  # fmt: skip
    elif call.outcome in OUTCOME_SLOT:
        pairs.append((OUTCOME_SLOT[call.outcome], sign))
    qa.kpi_add(call.queue, call.entered_at, tuple(pairs))
    sink = qa.sink  # the 30-minute rows: in the interval of each fact, written or open
    if sink is not None:
        outcome = call.outcome or "abandoned"
        short = outcome == "abandoned" and wait < qa.config.queue(call.queue).short_abandon_s
        sink.exited(call.queue, left, outcome, wait, qa.sl_wait_of(call, left), short, sign)
        if outcome == "answered":
            done = (call.talk_end if call.talk_end is not None else call.ended_at or left) + call.wrap_up_s
            sink.handled(call.queue, done, call.talk_s, call.hold_s, call.wrap_up_s, bool(call.transfer), sign)


def _make(core: Core, s: Stay, out: Output) -> None:
    """A stay we never saw at all: recorded from queue_log alone."""
    qa = core.queue_acd
    agent, name = _agent(core, s.agent)
    call = QueueCall(
        call_id=qa.new_call_id(s.callid),
        uniqueid=s.callid,
        linkedid=s.callid,
        queue=s.queue,
        caller_number=s.caller,
        caller_name="",
        entered_at=s.entered_at(),
        position=1,
        source="backfill",
        state="ended",
    )
    call.note(call.entered_at, "queued", queue=s.queue, via="queue_log")
    for who, secs, verb in s.rings:
        call.note(call.entered_at, "ring_end", agent=who, result="no_answer" if verb == "RINGNOANSWER" else "cancelled", ring_s=secs)
    if s.outcome == "answered" and s.connected is not None:
        call.outcome = "answered"
        call.answered_at = call.left_at = s.connected
        call.sl_wait = s.hold_s
        call.agent, call.agent_name = agent, name
        call.talk_end = s.ended
        call.talk_s = max(0.0, (s.ended or s.connected) - s.connected)
        call.transfer = dict(s.transfer) if s.transfer else None
        call.ended_at = s.ended
        call.wrap_done = True
        call.note(s.connected, "answered", agent=agent or "")
    else:
        call.outcome = "callback_requested" if _asked_callback(core, s) else s.outcome or "abandoned"
        call.callback = call.outcome == "callback_requested"
        call.position = s.origpos or 1
        call.left_at = call.ended_at = s.ended
        call.sl_wait = s.wait_s
    call.note(out.ts, "backfill", note="made from queue_log: the AMI link was down all along")
    _count(core, call, 1.0)
    a = core.agent_states.get(agent or "")
    if a is not None and call.outcome == "answered":
        core.agent_states.handled(a, s.ended or s.connected or call.entered_at, "inbound", call.talk_s, out)
    qa.keep_finished(call)
    qa.remember(call.call_id)
    record = queue_record(call, qa.config)
    record["source"] = "backfill"
    out.records.append(record)
    out.queues.add(call.queue)
    _keep_place(core, call, out)
