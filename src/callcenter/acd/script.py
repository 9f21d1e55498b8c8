"""Scripted queue calls as domain events, in the order Asterisk sends them
(ami.md §3.2-3.5).  The scenario tests, the M/M/c check and the replay
benchmark all drive the core with these, so one place knows the sequences.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callcenter.acd import events as ev


@dataclass
class Caller:
    uniqueid: str
    linkedid: str
    channel: str
    queue: str
    number: str
    name: str = ""
    ringing: dict[str, str] = field(default_factory=dict)  # interface -> member leg uniqueid
    agent: str = ""
    agent_uid: str = ""
    entered_at: float = 0.0
    position: int = 1


class Script:
    """Appends events to `self.events`; every method takes the event time."""

    def __init__(self, prefix: str = "1700000000") -> None:
        self.events: list[ev.Event] = []
        self._prefix = prefix
        self._seq = 0
        self._bridge = 0
        self.waiting: dict[str, list[Caller]] = {}
        self.paused: dict[tuple[str, str], str] = {}  # (queue, interface) -> reason

    def _status(self, t: float, queue: str, iface: str, status: int) -> None:
        reason = self.paused.get((queue, iface))
        self.add(ev.MemberStatus(t, queue, iface, iface, status, reason is not None, reason or "", False))

    def uid(self) -> str:
        self._seq += 1
        return f"{self._prefix}.{self._seq}"

    def add(self, e: ev.Event) -> None:
        self.events.append(e)

    # --- members ---------------------------------------------------------------

    def member(self, t: float, queue: str, iface: str, name: str = "", paused: bool = False, reason: str = "") -> None:
        self.add(ev.MemberAdded(t, queue, iface, name or iface, 0, paused, reason, 1))

    def pause(self, t: float, queue: str, iface: str, paused: bool, reason: str = "") -> None:
        if paused:
            self.paused[(queue, iface)] = reason
        else:
            self.paused.pop((queue, iface), None)
        self.add(ev.MemberPaused(t, queue, iface, iface, paused, reason))

    # --- callers ---------------------------------------------------------------

    def join(self, t: float, queue: str, number: str, name: str = "") -> Caller:
        uid = self.uid()
        line = self.waiting.setdefault(queue, [])
        c = Caller(uid, uid, f"PJSIP/trunk-{uid}", queue, number, name, entered_at=t, position=len(line) + 1)
        line.append(c)
        self.add(ev.CallerJoined(t, queue, uid, uid, c.channel, number, name, c.position, len(line)))
        return c

    def _leave(self, t: float, c: Caller) -> None:
        line = self.waiting.get(c.queue, [])
        pos = line.index(c) + 1 if c in line else 1
        if c in line:
            line.remove(c)
        self.add(ev.CallerLeft(t, c.queue, c.uniqueid, c.linkedid, pos, len(line)))

    def ring(self, t: float, c: Caller, iface: str) -> str:
        leg = self.uid()
        c.ringing[iface] = leg
        self._status(t, c.queue, iface, 6)
        self.add(ev.AgentCalled(t, c.queue, c.uniqueid, c.linkedid, iface, iface, leg, f"{iface}-{leg}", c.number, c.name))
        return leg

    def no_answer(self, t: float, c: Caller, iface: str, ring_s: float) -> None:
        """The ring timeout expired: RingNoAnswer (ms) before DialEnd NOANSWER."""
        leg = c.ringing.pop(iface)
        self.add(ev.AgentRingNoAnswer(t, c.queue, c.uniqueid, c.linkedid, iface, iface, ring_s))
        self.add(ev.DialEnded(t, c.uniqueid, leg, f"{iface}-{leg}", "NOANSWER"))
        self.add(ev.Hangup(t, leg, c.linkedid, f"{iface}-{leg}", 19, "No answer"))
        self._status(t, c.queue, iface, 1)

    def answer(self, t: float, c: Caller, iface: str, ring_started: float) -> None:
        """DialEnd ANSWER (others CANCEL under ringall), Leave, Connect, bridge."""
        leg = c.ringing.pop(iface)
        self._status(t, c.queue, iface, 2)
        self.add(ev.DialEnded(t, c.uniqueid, leg, f"{iface}-{leg}", "ANSWER"))
        for other, oleg in list(c.ringing.items()):
            self.add(ev.DialEnded(t, c.uniqueid, oleg, f"{other}-{oleg}", "CANCEL"))
            self.add(ev.Hangup(t, oleg, c.linkedid, f"{other}-{oleg}", 26, "Answered elsewhere"))
        c.ringing.clear()
        self._leave(t, c)
        self.add(ev.AgentConnected(t, c.queue, c.uniqueid, c.linkedid, iface, iface, leg, f"{iface}-{leg}", round(t - c.entered_at), round(t - ring_started)))
        self._bridge += 1
        bridge = f"bridge-{self._bridge}"
        self.add(ev.BridgeEntered(t, bridge, leg, c.linkedid, f"{iface}-{leg}"))
        self.add(ev.BridgeEntered(t, bridge, c.uniqueid, c.linkedid, c.channel))
        c.agent, c.agent_uid = iface, leg

    def hold(self, t: float, c: Caller) -> None:
        self.add(ev.Hold(t, c.agent_uid, c.linkedid, f"{c.agent}-{c.agent_uid}"))

    def unhold(self, t: float, c: Caller) -> None:
        self.add(ev.Unhold(t, c.agent_uid, c.linkedid, f"{c.agent}-{c.agent_uid}"))

    def hang_up(self, t: float, c: Caller, by: str = "caller", complete_after_hangup: bool = False) -> None:
        """End an answered call.  AgentComplete may come after the Hangups."""
        complete = ev.AgentCompleted(t, c.queue, c.uniqueid, c.linkedid, c.agent, c.agent, 0, 0, by)
        if not complete_after_hangup:
            self.add(complete)
        first, second = (c.uniqueid, c.agent_uid) if by == "caller" else (c.agent_uid, c.uniqueid)
        self.add(ev.Hangup(t, first, c.linkedid, "", 16, "Normal Clearing"))
        self.add(ev.Hangup(t, second, c.linkedid, "", 16, "Normal Clearing"))
        if complete_after_hangup:
            self.add(complete)
        self._status(t, c.queue, c.agent, 1)

    def abandon(self, t: float, c: Caller) -> None:
        """Caller hangs up while waiting (ringing legs get DialEnd CANCEL)."""
        for iface, leg in list(c.ringing.items()):
            self.add(ev.DialEnded(t, c.uniqueid, leg, f"{iface}-{leg}", "CANCEL"))
            self.add(ev.Hangup(t, leg, c.linkedid, f"{iface}-{leg}", 0, "Unknown"))
        c.ringing.clear()
        line = self.waiting.get(c.queue, [])
        pos = line.index(c) + 1 if c in line else 1
        self.add(ev.CallerAbandoned(t, c.queue, c.uniqueid, c.linkedid, pos, c.position, round(t - c.entered_at)))
        self._leave(t, c)
        self.add(ev.Hangup(t, c.uniqueid, c.linkedid, c.channel, 16, "Normal Clearing"))

    def queue_exit(self, t: float, c: Caller, status: str = "TIMEOUT") -> None:
        """Timeout / leavewhenempty: QueueCallerAbandon too, then QUEUESTATUS."""
        line = self.waiting.get(c.queue, [])
        pos = line.index(c) + 1 if c in line else 1
        self.add(ev.CallerAbandoned(t, c.queue, c.uniqueid, c.linkedid, pos, c.position, round(t - c.entered_at)))
        self._leave(t, c)
        self.add(ev.VarSet(t, c.uniqueid, c.linkedid, c.channel, "QUEUESTATUS", status))

    def exit_with_key(self, t: float, c: Caller, task: str = "", key: str = "9") -> None:
        """ExitWithKey (queues.conf context=cc-queue-keys): rings cancelled,
        EXITWITHKEY in queue_log, QueueCallerLeave, no QueueCallerAbandon and
        no QUEUESTATUS; [cc-callback]'s hook answers and UserEvent CcCallback
        names the task."""
        for iface, leg in list(c.ringing.items()):
            self.add(ev.DialEnded(t, c.uniqueid, leg, f"{iface}-{leg}", "CANCEL"))
            self.add(ev.Hangup(t, leg, c.linkedid, f"{iface}-{leg}", 0, "Unknown"))
        c.ringing.clear()
        self._leave(t, c)
        self.add(ev.VarSet(t, c.uniqueid, c.linkedid, c.channel, "CC_CB_NUMBER", c.number))
        if task:
            fields = (("Uniqueid", c.uniqueid), ("Queue", c.queue), ("Task", task), ("Status", "created"))
            self.add(ev.UserEvent(t, c.uniqueid, c.linkedid, "CcCallback", fields))

    def blind_transfer(self, t: float, c: Caller, exten: str) -> None:
        self.add(ev.BlindTransfer(t, c.agent_uid, f"{c.agent}-{c.agent_uid}", c.uniqueid, c.linkedid, "from-internal", exten, "Success"))
        self.add(ev.AgentCompleted(t, c.queue, c.uniqueid, c.linkedid, c.agent, c.agent, 0, 0, "transfer"))
        self.add(ev.Hangup(t, c.agent_uid, c.linkedid, "", 16, "Normal Clearing"))

    def attended_transfer(self, t_hold: float, t: float, c: Caller, target: str) -> str:
        """Hold, consult a second leg, transfer; the target swaps in for the agent leg."""
        self.hold(t_hold, c)
        second = self.uid()
        target_uid = self.uid()
        self.add(ev.AttendedTransfer(t, c.agent_uid, f"{c.agent}-{c.agent_uid}", second, c.uniqueid, c.linkedid, target_uid, f"PJSIP/{target}-x", target, "Bridge", "Success"))
        self.add(ev.AgentCompleted(t, c.queue, c.uniqueid, c.linkedid, c.agent, c.agent, 0, 0, "transfer"))
        self.add(ev.BridgeEntered(t, f"bridge-{self._bridge}", target_uid, c.linkedid, f"PJSIP/{target}-x", swap_uniqueid=c.agent_uid))
        self.add(ev.Hangup(t, c.agent_uid, c.linkedid, "", 16, "Normal Clearing"))
        self.add(ev.Hangup(t, second, second, "", 16, "Normal Clearing"))
        return target_uid

    def caller_gone(self, t: float, c: Caller) -> None:
        self.add(ev.Hangup(t, c.uniqueid, c.linkedid, c.channel, 16, "Normal Clearing"))

    def disposition(self, t: float, iface: str, call_id: str, code: str, note: str = "") -> None:
        self.add(ev.DispositionSubmitted(t, iface, call_id, code, note))

    def tick(self, t: float) -> None:
        self.add(ev.Tick(t))
