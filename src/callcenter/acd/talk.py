"""A queue call once answered: the agent's phone, talk, hold, transfers,
and when the agent's part ends.

Works on the queue ACD's calls (queues.py); the ACD hands it the moments
that belong to the conversation.  Rules from Asterisk:
- talk ends at the first of AgentComplete, the caller's or the agent's
  phone hanging up, or a transfer; AgentComplete's own TalkTime stops at
  the transfer too (app_queue's send_agent_complete);
- the member leg of a Local-channel member is a Local half: the agent's
  phone is the real channel the tracker finds connected to the caller, or
  the one that swaps into the bridge in its place; a Local half hanging up
  (optimised away, in either direction) never ends the talk;
- a transfer is read from the transfer events (blind, attended, blonde:
  an AttendedTransfer into the Dial application), wherever the agent's
  and the caller's channels are by then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from callcenter.acd import events as ev
from callcenter.acd.agents import Agent
from callcenter.acd.calls import Call, Connected, Transferred
from callcenter.acd.channels import interface_of
from callcenter.acd.common import Output
from callcenter.acd.queue_call import Attempt, QueueCall
from callcenter.acd.queues import LINGER_S

if TYPE_CHECKING:
    from callcenter.acd.queues import Queues


class Talk:
    def __init__(self, qa: Queues) -> None:
        self.qa = qa

    def connected(self, e: ev.AgentConnected, out: Output) -> None:
        call = self.qa.own(e.uniqueid)
        if call is None:
            call = self.qa.unseen(e.ts, e.queue, e.uniqueid, e.linkedid, e.hold_time_s, 1)
            if call is None:
                self.qa.late_or_unknown(e.uniqueid, e.linkedid)
                return
        if call.answered_at is not None or (call.outcome is not None and call.outcome != "answered"):
            self.qa.skip("duplicate")
            return
        if call.left_at is None:
            self.qa.left_queue(call, e.ts, out, cancel=False)
        call.pending = None
        att = self.qa.open_attempt(call, interface=e.interface, dest_uid=e.dest_uniqueid)
        if att is None:
            att = Attempt(e.interface, e.member_name, e.ts - e.ring_time_s, e.dest_uniqueid)
            call.attempts.append(att)
        a = self.qa.agents.agent(e.interface, e.member_name, e.ts)
        if e.queue not in a.queues:
            self.qa.agents.member(a, e.queue)
        self.qa.end_attempt(call, att, e.ts, "answered", out, ring_s=e.ring_time_s)
        for other in call.open_attempts():  # ringall: the others are cancelled
            self.qa.end_attempt(call, other, e.ts, "cancelled", out)
        call.answered_at = e.ts
        call.outcome = "answered"
        call.agent, call.agent_name = e.interface, e.member_name
        call.member_uid = e.dest_uniqueid
        call.state = "talking"
        call.sl_wait = int(e.hold_time_s) if e.hold_time_s >= 0 else None
        if e.dest_uniqueid:
            self.qa.by_uid[e.dest_uniqueid] = call
            call.legs.setdefault(e.dest_uniqueid, {"uniqueid": e.dest_uniqueid, "channel": e.dest_channel, "role": "agent", "start": e.ts, "end": None})
            if not e.dest_channel.startswith("Local/"):
                self._phone(call, e.dest_uniqueid, e.dest_channel, a)
        thread = self.qa.tracker.calls.get(call.thread)
        if thread is not None and thread.talking_to:
            self._phone_from_tracker(call, thread.talking_to)
        wait = max(0.0, e.ts - call.entered_at)
        if not call.inferred:
            self.qa.kpi_exit(call.queue, call.left_at or e.ts, "answered", wait, self.qa.sl_wait_of(call, e.ts), False)
        call.note(e.ts, "answered", agent=e.interface)
        self.qa.agents.connected(a, call, e.ts, out)
        out.calls.add(call.call_id)
        out.queues.add(call.queue)

    def _phone(self, call: QueueCall, uid: str, channel: str, a: Agent | None) -> None:
        call.phone_uid = uid
        self.qa.by_uid[uid] = call
        if a is not None:
            self.qa.agents.learn_device(a, interface_of(channel))

    def _phone_from_tracker(self, call: QueueCall, uid: str) -> None:
        ch = self.qa.tracker.graph.get(uid)
        if ch is None or ch.local or uid == call.uniqueid:
            return
        self._phone(call, uid, ch.name, self.qa.agents.get(call.agent or ""))
        if uid not in call.legs:
            call.legs[uid] = {"uniqueid": uid, "channel": ch.name, "role": "agent", "start": self.qa.now, "end": None}

    def completed(self, e: ev.AgentCompleted, out: Output) -> None:
        call = self.qa.by_uid.get(e.uniqueid)
        if call is None or call.answered_at is None:
            self.qa.late_or_unknown(e.uniqueid, e.linkedid)
            return
        if call.talk_end is not None:
            return  # already ended by the hangup or the transfer
        if e.reason == "transfer" and call.transfer is None:
            call.transfer = {"kind": "unknown", "target": ""}
        self.end_talk(call, e.ts, out, e.reason or "complete")

    def end_talk(self, call: QueueCall, ts: float, out: Output, why: str) -> None:
        if call.talk_end is not None or call.answered_at is None:
            return
        ts = max(ts, call.answered_at)
        if call.hold_started is not None:
            call.hold_s += ts - call.hold_started
            call.hold_started = None
            call.note(ts, "unhold")
        call.talk_end = ts
        call.talk_s = max(0.0, ts - call.answered_at - call.hold_s)
        call.note(ts, "talk_end", by=why)
        a = self.qa.agents.get(call.agent or "")
        if a is not None and not call.inferred and not call.agent_counted:
            # Their handled call counts when their part ends, not when the
            # caller leaves the survey after it (Queue option c).
            call.agent_counted = True
            self.qa.agents.handled(a, ts, call.direction, call.talk_s, out)
        if a is not None and a.call is call:
            self.qa.agents.talk_ended(a, call, ts, out)
        else:
            call.wrap_done = True
        if call.state != "wrap_up":
            call.state = "ended" if call.ended_at is not None else "talking"
        if call.ended_at is None:
            self.qa.timers.add(ts + LINGER_S, "linger", call.call_id)
        out.calls.add(call.call_id)
        out.queues.add(call.queue)
        self.qa.maybe_finish(call, out)

    def linger_timer(self, call_id: str, deadline: float, out: Output) -> None:
        call = self.qa.calls.get(call_id)
        if call and call.ended_at is None and call.talk_end is not None and call.talk_end + LINGER_S <= deadline:
            call.ended_at = deadline
            call.note(deadline, "closed", note="caller still connected after transfer")
            self.qa.maybe_finish(call, out)

    @staticmethod
    def _is_local(call: QueueCall, uid: str, channel: str = "") -> bool:
        return (channel or call.legs.get(uid, {}).get("channel", "")).startswith("Local/")

    def is_agent_side(self, call: QueueCall, e: ev.Hangup) -> bool:
        """The agent's side ended: their phone, or a member leg that is not a
        Local half (a Local half goes when Asterisk optimises it away, while
        the agent talks on)."""
        if e.uniqueid == call.phone_uid:
            return True
        if e.uniqueid != call.member_uid or call.phone_uid:
            return False
        # A Local member half ends the agent's side unless Asterisk optimised
        # it away (then the phone talks on, and its own hangup will come).
        return not (call.member_optimised and self._is_local(call, e.uniqueid, e.channel))

    def hold(self, e: ev.Hold | ev.Unhold, out: Output) -> None:
        call = self.qa.call(e.uniqueid, e.linkedid)
        if call is None or call.answered_at is None or call.talk_end is not None:
            self.qa.skip("hold_ignored")
            return
        on = isinstance(e, ev.Hold)
        if on == (call.hold_started is not None):
            self.qa.skip("hold_ignored")
            return
        if on:
            call.hold_started = e.ts
            call.state = "on_hold"
            call.note(e.ts, "hold")
        else:
            call.hold_s += max(0.0, e.ts - call.hold_started)  # type: ignore[operator]
            call.hold_started = None
            call.state = "talking"
            call.note(e.ts, "unhold")
        a = self.qa.agents.get(call.agent or "")
        if a is not None:
            self.qa.agents.refresh(a, e.ts, out)
        out.calls.add(call.call_id)

    def bridge_entered(self, e: ev.BridgeEntered, out: Output) -> None:
        """A channel takes another's place in a bridge (SwapUniqueid): the
        agent's phone replacing a Local member half (optimisation), or an
        attended transfer's target replacing the agent."""
        if not e.swap_uniqueid:
            return
        call = self.qa.by_uid.get(e.swap_uniqueid) or self.qa.own(e.uniqueid)
        if call is None or call.answered_at is None:
            return
        swapped = self.qa.tracker.graph.get(e.swap_uniqueid)
        if e.uniqueid == call.uniqueid:
            # The caller moving into the agent's bridge: a Local member
            # optimised "the other way" (the caller swaps out its ;2).
            if swapped is not None and swapped.local and call.talk_end is None:
                call.member_optimised = True
            return
        if call.talk_end is None and call.transfer is None and self._is_local(call, e.swap_uniqueid):
            call.member_optimised = True
            self._phone(call, e.uniqueid, e.channel, self.qa.agents.get(call.agent or ""))
            call.legs.setdefault(e.uniqueid, {"uniqueid": e.uniqueid, "channel": e.channel, "role": "agent", "start": e.ts, "end": None})
            out.calls.add(call.call_id)
            return
        if call.transfer is None and call.talk_end is None:
            return  # not ours to read: the transfer event says what happened
        leg = call.legs.setdefault(e.uniqueid, {"uniqueid": e.uniqueid, "channel": e.channel, "role": "transfer_target", "start": e.ts, "end": None})
        leg["role"] = "transfer_target"
        out.calls.add(call.call_id)

    def facts(self, facts: list[Any], out: Output) -> None:
        """The tracker's view: the agent's phone behind a Local member."""
        for f in facts:
            if isinstance(f, Connected):
                call = self._talking_call_of(f.call)
                if call is not None and not call.phone_uid and f.target.uniqueid != call.uniqueid:
                    self._phone_from_tracker(call, f.target.uniqueid)

    def _talking_call_of(self, thread: Call | None) -> QueueCall | None:
        if thread is None:
            return None
        for call_id in reversed(thread.queue_calls):
            call = self.qa.calls.get(call_id)
            if call is not None and call.answered_at is not None and call.talk_end is None:
                return call
        return None

    def transferred(self, e: ev.BlindTransfer | ev.AttendedTransfer, facts: list[Any], out: Output) -> None:
        if e.result.lower() != "success":
            call = self._transfer_call(e)
            if call is not None:
                kind = "blind" if isinstance(e, ev.BlindTransfer) else "attended"
                target = e.extension if isinstance(e, ev.BlindTransfer) else (e.target_number or e.target_channel)
                call.note(e.ts, "transfer_failed", transfer=kind, target=target, result=e.result)
            return
        call = self._transfer_call(e)
        if call is None:
            self.qa.skip("unknown_call")
            return
        if isinstance(e, ev.BlindTransfer):
            kind, target, extra = "blind", e.extension, {"context": e.context}
        else:
            fact = next((f for f in facts if isinstance(f, Transferred)), None)
            if e.dest_type == "Threeway":
                call.note(e.ts, "threeway", target=e.target_number or e.exten or e.target_channel)
                return  # app_queue ignores a three-way: the agent stays on the call
            blonde = (fact is not None and fact.kind == "blonde") or (e.dest_type == "App" and e.dest_app.lower() == "dial")
            kind = "blonde" if blonde else "attended"
            target = self._target_name(e, fact)
            if not blonde and e.target_uniqueid:
                self.qa.by_uid[e.target_uniqueid] = call
                call.legs.setdefault(e.target_uniqueid, {"uniqueid": e.target_uniqueid, "channel": e.target_channel, "role": "transfer_target", "start": e.ts, "end": None})
            extra = {"dest_type": e.dest_type}
        call.transfer = {"kind": kind, "target": target}
        call.note(e.ts, "transfer", transfer=kind, target=target, **extra)
        self.end_talk(call, e.ts, out, "transfer")

    def _target_name(self, e: ev.AttendedTransfer, fact: Transferred | None) -> str:
        """Whom the caller was handed to: the number, or what the agent dialled."""
        if e.target_number:
            return e.target_number
        if e.target_exten and e.target_exten != "s":
            return e.target_exten
        graph = self.qa.tracker.graph
        for uid in [e.target_uniqueid] + [t.uniqueid for t in (fact.targets if fact else ())]:
            ch = graph.get(uid) if uid else None
            if ch is not None and ch.dial_string:
                return ch.dial_string.split("@")[0].rsplit("/", 1)[-1]
        if e.exten and e.exten != "s":
            return e.exten
        if fact is not None and fact.targets:
            return fact.targets[0].number or fact.targets[0].channel
        return e.target_channel

    def _transfer_call(self, e: ev.BlindTransfer | ev.AttendedTransfer) -> QueueCall | None:
        if isinstance(e, ev.BlindTransfer):
            uids = (e.transferee_uniqueid, e.transferer_uniqueid)
            linked = e.transferee_linkedid
        else:
            uids = (e.transferee_uniqueid, e.orig_transferer_uniqueid, e.second_transferer_uniqueid)
            linked = e.transferee_linkedid
        for uid in uids:
            call = self.qa.by_uid.get(uid)
            if call is not None and call.answered_at is not None and call.talk_end is None:
                return call
            call = self._talking_call_of(self.qa.tracker.find_call(uid)) if uid else None
            if call is not None:
                return call
        call = self.qa.by_linked.get(linked) if linked else None
        if call is not None and call.answered_at is not None and call.talk_end is None:
            return call
        return None
