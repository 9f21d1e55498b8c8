"""app_queue after a member answers: the connect (try_calling), the
conversation the call's plan asks for (holds, who hangs up), and the end
app_queue sees through its stasis subscription (AgentComplete and
COMPLETECALLER/COMPLETEAGENT when the caller's or the member's hang-up is
requested; Local optimisation moves which channel it watches)."""

from __future__ import annotations

from callcenter.simulator.model import INUSE, Call, Channel, Phone, Ring
from callcenter.simulator.queue import AppQueue


class Connect(AppQueue):
    def _answer(self, call: Call, ring: Ring, picked: bool = False) -> None:
        """A member answers (or a colleague picked the ring up: `picked`, the
        answer's dial events are out already)."""
        self._end_ring(call, ring)
        m, leg, caller = ring.member, ring.leg, call.caller
        q = self.queues[call.queue]
        phone = ring.phone or leg
        if picked:
            pass
        elif ring.phone is not None and leg.local is not None:
            pair = leg.local
            self._device(phone.device, INUSE)
            self._newstate(phone, 6)
            self._dial_end(pair.two, phone, "ANSWER")
            self._local_answered(pair)
            self._bridge_two(phone, pair.two)
        else:
            self._device(phone.device, INUSE)
            self._newstate(leg, 6)
        if not picked:
            self._dial_end(caller, leg, "ANSWER")
        for other in list(call.rings.values()):  # ringall: the others get CANCEL, twice (as captured)
            self._dial("DialEnd", caller, other.leg, [("DialStatus", "CANCEL"), ("Forward", "")])
            self._cancel_ring(call, other, "CANCEL", 26)
        self._chan_event("MusicOnHoldStop", caller)
        hold = int(self.now - call.joined)
        ring_s = int(self.now - ring.started)
        # queues.conf setinterfacevar = yes: on the caller, then on the member's channel.
        interface_vars = [("MEMBERINTERFACE", m.interface), ("MEMBERNAME", m.name), ("MEMBERCALLS", str(m.calls_taken)),
                          ("MEMBERLASTCALL", str(m.last_call)), ("MEMBERPENALTY", str(m.penalty)),
                          ("MEMBERDYNAMIC", "1" if m.membership == "dynamic" else "0"), ("MEMBERREALTIME", "0")]  # fmt: skip
        for ch in (caller, leg):
            for name, value in interface_vars:
                self._varset(ch, name, value)
        self._leave(call)
        call.state, call.member, call.leg, call.phone, call.connected = "talking", m, leg, phone, self.now
        m.in_call = True
        caller.conn_num, caller.conn_name = leg.cid_num, leg.cid_name
        q.holdtime = (q.holdtime * 3 + hold) / 4
        self.log(q.name, caller.uniqueid, m.name, "CONNECT", hold, leg.uniqueid, ring_s)
        self._agent_event("AgentConnect", call, leg, m, [("HoldTime", str(hold)), ("RingTime", str(ring_s))])
        # setup_stasis_subs: watch both channels until one hangs up or a transfer.
        call.caller_uid, call.member_uid, call.completing = caller.uniqueid, leg.uniqueid, True
        self._watch(call)
        call.bridge = self._bridge_two(leg, caller, swap_inhibit_from=True)
        # Queue(...,c): the caller goes on in the dialplan if the member hangs up.
        caller.after_bridge = self._caller_after_queue  # type: ignore[attr-defined]
        caller.before_hangup = self._queue_returns
        if leg.local is not None and leg.local.optimize:
            self._local_optimize(leg.local)
        self._schedule_conversation(call)

    def _queue_returns(self, caller: Channel) -> None:
        """Queue() returns after a bridged call (option c): QUEUESTATUS=CONTINUE,
        even when the caller is the one hanging up."""
        self._varset(caller, "QUEUESTATUS", "CONTINUE")

    # -- app_queue's watch on the connected call ------------------------------------------

    def _watch(self, call: Call) -> None:
        self.watching[call.caller_uid] = call
        self.watching[call.member_uid] = call
        if self._on_hangup_request not in self.hangup_watchers:
            self.hangup_watchers.append(self._on_hangup_request)

    def _unwatch(self, call: Call) -> None:
        for uid in (call.caller_uid, call.member_uid):
            if self.watching.get(uid) is call:
                del self.watching[uid]

    def _on_hangup_request(self, ch: Channel) -> None:
        """handle_hangup: the caller's or the member's hang-up request ends
        the member's part, unless the channel is in a transfer."""
        call = self.watching.get(ch.uniqueid)
        if call is None or not call.completing or call.state == "transferring":
            return
        self._complete(call, "caller" if ch.uniqueid == call.caller_uid else "agent")

    def _optimised(self, pair, moved: Channel, replaced: Channel) -> None:  # type: ignore[no-untyped-def]
        """handle_local_optimization_end: watch the channel that moved in."""
        watching = self.watching
        call = watching.pop(replaced.uniqueid, None)
        if call is not None:
            if call.member_uid == replaced.uniqueid:
                call.member_uid = moved.uniqueid
                call.leg = moved if call.leg is replaced else call.leg
            if call.caller_uid == replaced.uniqueid:
                call.caller_uid = moved.uniqueid
            watching[moved.uniqueid] = call

    def _member_channel(self, call: Call) -> Channel:
        """The latest snapshot of the channel app_queue watches as the member's."""
        ch = next((c for c in self.channels.values() if c.uniqueid == call.member_uid), None)
        return ch or call.phone or call.leg  # type: ignore[return-value]

    def _complete(self, call: Call, reason: str, verb: str = "", data: tuple[object, ...] = ()) -> None:
        """send_agent_complete + the queue_log line + update_queue: the
        member's part of the call is over (hang-up or transfer)."""
        m = call.member
        assert m is not None
        if not call.completing:
            return
        call.completing = False
        self._unwatch(call)
        q = self.queues[m.queue]
        talk = int(self.now - call.connected)
        hold = int(call.connected - call.joined)
        if verb:
            self.log(q.name, call.caller.uniqueid, m.name, verb, *data, hold, talk, call.original_position)
        else:
            self.log(q.name, call.caller.uniqueid, m.name, "COMPLETECALLER" if reason == "caller" else "COMPLETEAGENT",
                     hold, talk, call.original_position)  # fmt: skip
        fields = [("Queue", m.queue), ("Interface", m.interface), ("MemberName", m.name),
                  ("HoldTime", str(hold)), ("TalkTime", str(talk)), ("Reason", reason)]  # fmt: skip
        if reason != "transfer" and self.late_agent_complete and self.rng.random() < self.late_agent_complete:
            # app_queue builds it from the channels' latest snapshots; when its stasis
            # thread runs after both channels are gone it has none: no Channel, no
            # Uniqueid, no Dest* (3 of 22 AgentCompletes in the real 20.20.1 captures).
            self.after(0, self.emit, "AgentComplete", "agent", fields)
        else:
            self.emit("AgentComplete", "agent", call.caller.snapshot() + self._member_channel(call).snapshot("Dest") + fields)
        # update_queue: the member's calls and last call (shared_lastcall: in every queue).
        q.completed += 1
        if hold <= q.servicelevel:
            q.completed_in_sl += 1
        q.talktime = (q.talktime * 3 + talk) / 4
        m.in_call = False
        for mm in self.memberships(m.interface):
            if mm is m:
                mm.calls_taken += 1
            mm.last_call = int(self.now)
        for wrap in {mm.wrapuptime for mm in self.memberships(m.interface) if mm.wrapuptime}:
            self.after(wrap, self._kick)
        for fn in list(self.on_member_free):
            fn(m)

    # -- the conversation -------------------------------------------------------------------

    def _schedule_conversation(self, call: Call) -> None:
        plan = call.plan
        talk = plan["talk"] if plan["talk"] is not None else self._default_talk(call)
        for at, dur in plan["hold"]:
            call.timers.append(self.after(at, self.hold, call, True))
            call.timers.append(self.after(at + dur, self.hold, call, False))
        xfer = plan["transfer"]
        if xfer:
            call.timers.append(self.after(float(xfer.get("at", talk)), self._transfer, call, xfer))  # type: ignore[attr-defined]
        else:
            call.timers.append(self.after(talk, self._end_talk, call, plan["hangup"]))

    def _default_talk(self, call: Call) -> float:
        p = self.phone(call.member.interface) if call.member else Phone()
        return p.talk_s

    def hold(self, call: Call, on: bool) -> None:
        """The agent's phone holds/unholds: Hold on the phone's channel, music
        to whoever its bridge peer is (the caller, or a Local ;2 half)."""
        phone = call.phone
        if call.state != "talking" or phone is None or phone.bridge is None or call.on_hold == on:
            return
        call.on_hold = on
        peer = next((c for c in phone.bridge.channels if c is not phone), call.caller)
        if on:
            self._chan_event("Hold", phone, [("MusicClass", "default")])
            self._chan_event("MusicOnHoldStart", peer, [("Class", "default")])
            call.holds.append((self.now, self.now))
        else:
            self._chan_event("Unhold", phone)
            self._chan_event("MusicOnHoldStop", peer)
            start, _ = call.holds[-1]
            call.holds[-1] = (start, self.now)
        rec = self.recordings.get(call.caller.name)
        if rec is not None:
            rec.holds = list(call.holds)

    def _end_talk(self, call: Call, who: str) -> None:
        """Caller or agent hangs up a bridged queue call (§3.2 order)."""
        if call.state != "talking":
            return
        if call.on_hold:
            self.hold(call, False)
        for t in call.timers:
            t.cancel()
        call.timers.clear()
        first = call.caller if who == "caller" else call.phone
        assert first is not None
        self._gone(first, 16)
