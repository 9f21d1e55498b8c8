"""The simulated PBX's own record of every queue call it handled, to check
call_records against (issue 12's fault tests and bench/soak.py).

An independent observer: it listens to the PBX's event sink (what Asterisk
emits, before any TCP link, so link drops do not touch it) and reads only
app_queue's documented AMI events, never the PBX's internals:
QueueCallerJoin opens a visit; AgentConnect answers it (agent = Interface);
AgentComplete ends the talk; Hold/Unhold on the agent's leg count as hold;
QueueCallerAbandon followed by QUEUESTATUS=TIMEOUT is a timeout, followed
by the caller's Hangup an abandon.  One visit per QueueCallerJoin, as one
call_records row per queue call: a caller transferred into another queue
makes a second visit.

    ledger = Ledger(pbx)          # attach before traffic starts
    ...
    report = compare(ledger.finished(), rows)   # rows: call_records as dicts
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from callcenter.simulator.pbx import PBX, Fields


@dataclass
class Visit:
    uniqueid: str
    queue: str
    entered: float
    outcome: str | None = None  # answered | abandoned | timeout
    agent: str | None = None
    answered: float | None = None
    talk_end: float | None = None
    hold_s: float = 0.0
    ended: float | None = None
    pending: str | None = None  # "left": QueueCallerAbandon seen, timeout or hang-up to follow
    _hold_from: float | None = None
    # Ended by a PBX crash this long after the PBX's last event: no AMI
    # observer can know its end more closely than that.
    crash_gap_s: float = 0.0

    @property
    def talk_s(self) -> float:
        if self.answered is None or self.talk_end is None:
            return 0.0
        return max(0.0, self.talk_end - self.answered - self.hold_s)

    @property
    def done(self) -> bool:
        if self.outcome == "answered":
            return self.talk_end is not None
        return self.outcome is not None


class Ledger:
    def __init__(self, pbx: PBX | None = None) -> None:
        self.visits: list[Visit] = []
        self._open: dict[str, Visit] = {}  # caller uniqueid -> its current visit
        self._legs: dict[str, Visit] = {}  # agent leg uniqueid -> its visit
        self.last_event_ts = 0.0  # the PBX's last event, whatever it was
        if pbx is not None:
            self.attach(pbx)

    def attach(self, pbx: PBX) -> None:
        """Listen to a PBX (again after a restart: a new PBX, new channel ids)."""
        pbx.sinks.append(self.on_event)

    def crash(self, ts: float) -> None:
        """The PBX died at `ts` (a restart): every channel is gone at once,
        with no events.  Talking calls end there; waiting callers are cut off."""
        for v in list(self._open.values()):
            if v.outcome == "answered" and v.talk_end is None:
                self._end_talk(v, ts)
                v.crash_gap_s = max(0.0, ts - self.last_event_ts)
            elif v.outcome is None:
                v.outcome = "abandoned"
            if v.ended is None:
                v.ended = ts
        self._open.clear()
        self._legs.clear()

    def finished(self) -> list[Visit]:
        return [v for v in self.visits if v.done]

    # --- the events ------------------------------------------------------------

    def on_event(self, fields: Fields) -> None:
        kind = fields[0][1]
        for k, v in fields:
            if k == "Timestamp":
                self.last_event_ts = max(self.last_event_ts, float(v))
                break
        handler = self._HANDLERS.get(kind)
        if handler is not None:
            handler(self, dict(fields))

    def _join(self, e: dict[str, str]) -> None:
        uid, ts = e["Uniqueid"], float(e["Timestamp"])
        prev = self._open.get(uid)
        if prev is not None:  # into another queue (a transfer): the previous visit ends here
            if prev.outcome == "answered" and prev.talk_end is None:
                self._end_talk(prev, ts)
            prev.ended = prev.ended or ts
        v = Visit(uid, e["Queue"], ts)
        self.visits.append(v)
        self._open[uid] = v

    def _connect(self, e: dict[str, str]) -> None:
        v = self._open.get(e["Uniqueid"])
        if v is None:
            return
        v.outcome, v.agent, v.answered = "answered", e["Interface"], float(e["Timestamp"])
        self._legs[e.get("DestUniqueid", "")] = v

    def _complete(self, e: dict[str, str]) -> None:
        v = self._open.get(e["Uniqueid"])
        if v is not None and v.outcome == "answered" and v.talk_end is None:
            self._end_talk(v, float(e["Timestamp"]))

    def _end_talk(self, v: Visit, ts: float) -> None:
        if v._hold_from is not None:
            v.hold_s += ts - v._hold_from
            v._hold_from = None
        v.talk_end = ts

    def _hold(self, e: dict[str, str]) -> None:
        v = self._legs.get(e["Uniqueid"])
        if v is not None and v.talk_end is None and v._hold_from is None:
            v._hold_from = float(e["Timestamp"])

    def _unhold(self, e: dict[str, str]) -> None:
        v = self._legs.get(e["Uniqueid"])
        if v is not None and v._hold_from is not None and v.talk_end is None:
            v.hold_s += float(e["Timestamp"]) - v._hold_from
            v._hold_from = None

    def _abandon(self, e: dict[str, str]) -> None:
        v = self._open.get(e["Uniqueid"])
        if v is not None and v.outcome is None:
            v.pending = "left"

    def _varset(self, e: dict[str, str]) -> None:
        if e.get("Variable") != "QUEUESTATUS":
            return
        v = self._open.get(e["Uniqueid"])
        if v is not None and v.pending == "left" and e.get("Value") == "TIMEOUT":
            v.outcome, v.pending = "timeout", None

    def _hangup(self, e: dict[str, str]) -> None:
        uid, ts = e["Uniqueid"], float(e["Timestamp"])
        v = self._open.pop(uid, None)
        if v is not None:
            if v.pending == "left":
                v.outcome, v.pending = "abandoned", None
            elif v.outcome == "answered" and v.talk_end is None:
                self._end_talk(v, ts)
            v.ended = ts
            return
        leg = self._legs.pop(uid, None)
        if leg is not None and leg._hold_from is not None and leg.talk_end is None:
            leg.hold_s += ts - leg._hold_from
            leg._hold_from = None

    _HANDLERS: dict[str, Any] = {
        "QueueCallerJoin": _join,
        "AgentConnect": _connect,
        "AgentComplete": _complete,
        "Hold": _hold,
        "Unhold": _unhold,
        "QueueCallerAbandon": _abandon,
        "VarSet": _varset,
        "Hangup": _hangup,
    }


# --- checking call_records against it ----------------------------------------------------


@dataclass
class Report:
    made: int = 0  # visits the PBX finished
    recorded: int = 0  # of those, with exactly one record
    lost: list[Visit] = field(default_factory=list)  # no record
    duplicated: list[tuple[Visit, int]] = field(default_factory=list)  # more than one record
    mislabelled: list[tuple[Visit, dict[str, Any], str]] = field(default_factory=list)  # wrong outcome, agent or talk
    unknown: list[dict[str, Any]] = field(default_factory=list)  # records of calls the PBX never had

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.mislabelled or self.unknown)

    def summary(self) -> str:
        def show(items: list[Any]) -> str:
            return "; ".join(str(i) for i in items[:5])

        return (
            f"made {self.made}, recorded {self.recorded}, lost {len(self.lost)}, duplicated {len(self.duplicated)}, "
            f"mislabelled {len(self.mislabelled)}, unknown {len(self.unknown)}"
            + (f"\n  lost: {show(self.lost)}" if self.lost else "")
            + (f"\n  duplicated: {show(self.duplicated)}" if self.duplicated else "")
            + (f"\n  mislabelled: {show([(v.uniqueid, why) for v, _, why in self.mislabelled])}" if self.mislabelled else "")
            + "".join(f"\n    {v.uniqueid} {v}: record {r}" for v, r, _ in self.mislabelled[:3])
            + (f"\n  unknown: {show([(r['uniqueid'], r['outcome']) for r in self.unknown])}" if self.unknown else "")
        )


def _ts(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


def compare(
    ledger: Ledger, records: list[dict[str, Any]], talk_tolerance_s: float = 1.0, match_s: float = 5.0, with_hold: bool = False
) -> Report:
    """Every finished visit should have exactly one record (same caller
    Uniqueid, entered within `match_s`) with the same outcome and agent and
    talk time within `talk_tolerance_s`.  `records`: dicts with uniqueid,
    entered_at (datetime or epoch), outcome, agent, talk_s (and hold_s).
    `with_hold` compares talk + hold instead (queue_log's view: a hold that
    began and ended while the link was down leaves no AMI trace).  Records
    of callers the PBX never had are reported as unknown."""
    visits = ledger.finished()
    by_uid: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_uid.setdefault(r["uniqueid"], []).append(r)
    report = Report(made=len(visits))
    used: set[int] = set()
    known = {v.uniqueid for v in ledger.visits}
    for v in sorted(visits, key=lambda v: v.entered):
        matches = [r for r in by_uid.get(v.uniqueid, []) if id(r) not in used and abs(_ts(r["entered_at"]) - v.entered) <= match_s]
        if not matches:
            report.lost.append(v)
            continue
        matches.sort(key=lambda r: abs(_ts(r["entered_at"]) - v.entered))
        r = matches[0]
        used.add(id(r))
        # Further records for this caller at this moment: the same call twice.
        extra = [m for m in matches[1:] if abs(_ts(m["entered_at"]) - v.entered) <= 1.0]
        if extra:
            report.duplicated.append((v, 1 + len(extra)))
            used.update(id(m) for m in extra)
            continue
        outcome = str(getattr(r["outcome"], "value", r["outcome"]))
        why = []
        if outcome != v.outcome:
            why.append(f"outcome {outcome} != {v.outcome}")
        if (r.get("agent") or None) != v.agent:
            why.append(f"agent {r.get('agent')} != {v.agent}")
        talk, expected = float(r.get("talk_s") or 0.0), v.talk_s
        if with_hold:
            talk, expected = talk + float(r.get("hold_s") or 0.0), expected + v.hold_s
        if abs(talk - expected) > talk_tolerance_s + v.crash_gap_s:
            why.append(f"talk {talk:.1f} != {expected:.1f}" + (" (with hold)" if with_hold else ""))
        if why:
            report.mislabelled.append((v, r, ", ".join(why)))
        else:
            report.recorded += 1
    report.unknown = [r for r in records if id(r) not in used and r["uniqueid"] not in known]
    return report
