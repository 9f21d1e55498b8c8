"""app_queue while the caller waits: joining (joinempty, QUEUE_PRIO order),
the ways out (abandon, timeout, leavewhenempty, a key), and ringing the
members (strategies, ring-no-answer, autopause, reject, AgentDump).

Event order and queue_log lines follow apps/app_queue.c (queue_exec,
wait_our_turn, try_calling, ring_entry, wait_for_answer, rna); see
docs in /work/shared/docs/ami.md §3 for the sequences.
"""

from __future__ import annotations

from typing import Any

from callcenter.simulator.local import LocalChannels
from callcenter.simulator.members import Members
from callcenter.simulator.model import INUSE, RINGING, Call, Member, Queue, Ring


class AppQueue(Members, LocalChannels):
    # -- joining and leaving ----------------------------------------------------------

    def _join(self, call: Call, queue: str) -> bool:
        """Queue(): join (or JOINEMPTY), ENTERQUEUE, music on hold.  False if refused."""
        q = self.queues[queue]
        call.queue = queue
        call.reactions_used = set()
        ch = call.caller
        if q.join_conditions and self._empty(q, q.join_conditions):
            # join_queue refuses: no QueueCallerJoin, no queue_log line.
            self._varset(ch, "QUEUESTATUS", "JOINEMPTY")
            self.after(0, self._after_queue, call, "JOINEMPTY")  # type: ignore[attr-defined]
            return False
        # Behind everyone of the same or a higher priority (join_queue).
        pos = next((i for i, c in enumerate(q.entries) if call.priority > c.priority), len(q.entries))
        q.entries.insert(pos, call)
        call.state = "waiting"
        call.joined = self.now
        call.position = call.original_position = pos + 1
        call.tried = set()
        call.retry_until = 0.0
        self.emit("QueueCallerJoin", "agent", ch.snapshot() + [("Queue", queue), ("Position", str(call.position)), ("Count", str(len(q.entries)))])
        self.log(queue, ch.uniqueid, "NONE", "ENTERQUEUE", "", ch.cid_num, call.original_position)
        self._chan_event("MusicOnHoldStart", ch, [("Class", "default")])
        plan = call.plan
        if plan["patience"] is not None:
            call.timers.append(self.after(plan["patience"], self._abandon, call))
        timeout = plan["timeout"] if plan["timeout"] is not None else q.maxwait
        if timeout:
            call.timers.append(self.after(timeout, self._queue_exit, call, "TIMEOUT"))
        if plan.get("key"):
            at, key = plan["key"]
            call.timers.append(self.after(float(at), self._exit_with_key, call, str(key)))
        self._kick()
        return True

    def _leave(self, call: Call) -> None:
        q = self.queues[call.queue]
        pos = q.entries.index(call) + 1
        q.entries.remove(call)
        for t in call.timers:
            t.cancel()
        call.timers.clear()
        self.emit("QueueCallerLeave", "agent", call.caller.snapshot() + [("Queue", q.name), ("Position", str(pos)), ("Count", str(len(q.entries)))])

    def _position(self, call: Call) -> int:
        return self.queues[call.queue].entries.index(call) + 1

    def _record_abandon(self, call: Call) -> None:
        """record_abandoned(): QueueCallerAbandon, for every way out but a key."""
        q = self.queues[call.queue]
        wait = int(self.now - call.joined)
        q.abandoned += 1
        if wait <= q.servicelevel:
            q.abandoned_in_sl += 1
        self.emit(
            "QueueCallerAbandon",
            "agent",
            call.caller.snapshot()
            + [("Queue", q.name), ("Position", str(self._position(call))), ("OriginalPosition", str(call.original_position)), ("HoldTime", str(wait))],
        )

    def _cancel_rings(self, call: Call, cause: int = 16, log_canceled: bool = False) -> None:
        """The caller hung up or pressed a key while members rang
        (wait_for_answer's canceled_by_caller): DialEnd CANCEL and
        RINGCANCELED for each, then hangupcalls() publishes CANCEL again and
        hangs the legs up (a Local ;1 with cause 0, as in cacofonisk's
        queue_a_cancel capture)."""
        rings = list(call.rings.values())
        if log_canceled:
            for ring in rings:
                self._dial("DialEnd", call.caller, ring.leg, [("DialStatus", "CANCEL"), ("Forward", "")])
                self.log(call.queue, call.caller.uniqueid, ring.member.name, "RINGCANCELED", int(round((self.now - ring.started) * 1000)))
        for ring in rings:
            self._cancel_ring(call, ring, "CANCEL", 0 if ring.leg.local is not None else cause)

    def _abandon(self, call: Call) -> None:
        """The caller hangs up while waiting (or while members ring)."""
        if call.state != "waiting":
            return
        ch = call.caller
        self._hangup_request(ch, 16)
        self._cancel_rings(call, 16, log_canceled=True)
        self._record_abandon(call)
        self.log(call.queue, ch.uniqueid, "NONE", "ABANDON", self._position(call), call.original_position, int(self.now - call.joined))
        self._leave(call)
        self._chan_event("MusicOnHoldStop", ch)
        call.state = "done"
        self._hangup(ch, 16)

    def _queue_exit(self, call: Call, status: str) -> None:
        """Queue() gives up: TIMEOUT (EXITWITHTIMEOUT) or LEAVEEMPTY (EXITEMPTY).
        QueueCallerAbandon too; the caller lives on in the dialplan."""
        if call.state != "waiting":
            return
        call.state = "exiting"
        for ring in list(call.rings.values()):
            self._rna(call, ring, natural=False)
        self._record_abandon(call)
        verb = "EXITWITHTIMEOUT" if status == "TIMEOUT" else "EXITEMPTY"
        self.log(call.queue, call.caller.uniqueid, "NONE", verb, self._position(call), call.original_position, int(self.now - call.joined))
        self._chan_event("MusicOnHoldStop", call.caller)
        self._leave(call)
        self._varset(call.caller, "QUEUESTATUS", status)
        self._after_queue(call, status)  # type: ignore[attr-defined]

    def _exit_with_key(self, call: Call, key: str) -> None:
        """The caller presses a key with an extension in the queue's context
        (cc-queue-keys): EXITWITHKEY, no QueueCallerAbandon, no QUEUESTATUS."""
        q = self.queues[call.queue]
        if call.state != "waiting" or key not in q.keys:
            return
        call.state = "exiting"
        self._cancel_rings(call, 16, log_canceled=True)
        self.log(q.name, call.caller.uniqueid, "NONE", "EXITWITHKEY", key, self._position(call), call.original_position, int(self.now - call.joined))
        self._chan_event("MusicOnHoldStop", call.caller)
        self._leave(call)
        self._exited_with_key(call, key)  # type: ignore[attr-defined]

    def _members_changed(self, q: Queue) -> None:
        """leavewhenempty: waiting callers look again within a second
        (wait_our_turn's RECHECK) and leave if nobody is left to ring."""
        if q.leave_conditions and q.entries:
            self.after(1.0, self._check_empty, q)

    def _check_empty(self, q: Queue) -> None:
        if q.leave_conditions and self._empty(q, q.leave_conditions):
            for call in [c for c in q.entries if c.state == "waiting" and not c.rings]:
                self._queue_exit(call, "LEAVEEMPTY")

    # -- distribution -------------------------------------------------------------

    def _kick(self) -> None:
        """Distribute once the current step's events are out (a zero-delay
        timer), so a freed member is never rung in the middle of a sequence."""
        if not self._kicked:
            self._kicked = True
            self.after(0, self._dispatch)

    def _dispatch(self) -> None:
        """Offer waiting callers to free members (autofill: every caller in
        order, not only the head)."""
        self._kicked = False
        # Higher-weight queues get shared members first (queues.conf weight).
        for q in sorted(self.queues.values(), key=lambda q: -q.weight):
            # Is anyone free: asked once per queue and again only after a
            # ring, not before every waiting caller (with hundreds waiting
            # and nobody free, that scan was the simulator's whole cost).
            if not q.entries or not self._anyone_idle(q):
                continue
            for call in list(q.entries):
                if call.state != "waiting" or call.rings or call.retry_until > self.now:
                    continue
                picked = self._pick(q, call)
                if not picked and call.tried:
                    call.tried = set()  # a new cycle: everyone may be rung again
                    picked = self._pick(q, call)
                for m in picked:
                    self._ring(call, m)
                if picked and not self._anyone_idle(q):
                    break

    def _anyone_idle(self, q: Queue) -> bool:
        return any(self._member_idle(m) for m in q.members.values())

    def _pick(self, q: Queue, call: Call) -> list[Member]:
        free = [m for m in q.members.values() if m.interface not in call.tried and self._member_idle(m)]
        if not free:
            return []
        low = min(m.penalty for m in free)
        tier = sorted((m for m in free if m.penalty == low), key=lambda m: m.order)
        if q.strategy == "ringall":
            return tier
        if q.strategy == "rrmemory":
            after = [m for m in tier if m.order > q.rrpos]
            return [after[0] if after else tier[0]]
        if q.strategy == "leastrecent":
            return [min(tier, key=lambda m: (m.last_call, m.order))]
        if q.strategy == "fewestcalls":
            return [min(tier, key=lambda m: (m.calls_taken, m.order))]
        if q.strategy == "random":
            return [self.rng.choice(tier)]
        return [tier[0]]  # linear

    # -- ringing a member -------------------------------------------------------------

    def _ring(self, call: Call, m: Member) -> None:
        """ring_entry(): request the member's channel (a Local pair for
        Local/… members), call it, AgentCalled, DialBegin."""
        q = self.queues[call.queue]
        if q.strategy == "rrmemory":
            q.rrpos = m.order
        call.tried.add(m.interface)
        caller = call.caller
        pair = None
        if m.interface.startswith("Local/"):
            pair = self._local_pair(m.interface, caller)
            leg = pair.one
        else:
            ext = m.interface.split("/", 1)[-1]
            leg = self.new_channel(m.interface, ext, m.name, linkedid=caller.linkedid, conn_num=caller.cid_num,
                                   conn_name=caller.cid_name, device=m.interface)  # fmt: skip
            self._device(m.interface, RINGING)
        ring = Ring(member=m, leg=leg, started=self.now)
        call.rings[m.interface] = ring
        if pair is not None:
            self._local_call(pair)
        self._agent_event("AgentCalled", call, leg, m, [])
        self._dial("DialBegin", caller, leg, [("DialString", m.interface)])
        if pair is not None:
            ring.phone = self._local_runs_dial(pair)  # type: ignore[attr-defined]
        else:
            self._newstate(leg, 5)
        self._dial("DialState", caller, leg, [("DialStatus", "RINGING")])
        # What the person does: the call's plan wins, else the phone's habits.
        answer_after, how = self._reaction(call, m)
        if answer_after is not None and answer_after < q.timeout:
            fn = {"reject": self._reject, "dump": self._dump, "answer": self._answer}[how]  # type: ignore[attr-defined]
            ring.timers.append(self.after(answer_after, fn, call, ring))
        else:
            ring.timers.append(self.after(q.timeout, self._rna, call, ring))

    def _agent_event(self, event: str, call: Call, leg: Any, member: Member, extra: Any) -> None:
        body = call.caller.snapshot() + leg.snapshot("Dest")
        body += [("Queue", member.queue), ("Interface", member.interface), ("MemberName", member.name)]
        self.emit(event, "agent", body + list(extra))

    def _reaction(self, call: Call, m: Member) -> tuple[float | None, str]:
        """(seconds of ringing, "answer" | "reject" | "dump"), or (None, "") to ring out."""
        plan = call.plan["answer"]
        if plan is not None:
            for i, step in enumerate(plan):
                if step.get("agent") == m.interface and i not in call.reactions_used:
                    call.reactions_used.add(i)
                    how = "reject" if step.get("reject") else "dump" if step.get("dump") else "answer"
                    return float(step.get("after", 0)), how
            return None, ""
        p = self.phone(m.interface)
        if p.miss_prob and self.rng.random() < p.miss_prob:
            return None, ""
        jitter = self.rng.uniform(-p.answer_jitter, p.answer_jitter) if p.answer_jitter else 0.0
        return max(0.5, p.answer_after + jitter), "answer"

    def _end_ring(self, call: Call, ring: Ring) -> None:
        for t in ring.timers:
            t.cancel()
        call.rings.pop(ring.member.interface, None)

    def _cancel_ring(self, call: Call, ring: Ring, status: str, cause: int) -> None:
        """DialEnd and the leg hung up (a Local pair takes its phone leg with it)."""
        self._end_ring(call, ring)
        self._dial_end(call.caller, ring.leg, status, cause)

    def _rna(self, call: Call, ring: Ring, natural: bool = True) -> None:
        """Ring timeout: AgentRingNoAnswer before DialEnd NOANSWER (§3.4)."""
        self._end_ring(call, ring)
        m = ring.member
        ms = int(round((self.now - ring.started) * 1000))
        self._agent_event("AgentRingNoAnswer", call, ring.leg, m, [("RingTime", str(ms))])
        self.log(call.queue, call.caller.uniqueid, m.name, "RINGNOANSWER", ms)
        self._dial_end(call.caller, ring.leg, "NOANSWER")
        # try_calling ends the ring cycle with hangupcalls(): CANCEL again, then the hang-up.
        self._dial_end(call.caller, ring.leg, "CANCEL", 0 if ring.leg.local is not None else 19)
        self._after_rna(call, m, natural)

    def _reject(self, call: Call, ring: Ring) -> None:
        """The member's phone answers BUSY (wait_for_answer AST_CONTROL_BUSY):
        DialEnd BUSY, AgentRingNoAnswer with the whole seconds it rang (ms),
        the leg hung up; autopause only with autopausebusy.  A Local member
        (Local/…@agents/n): [agents]'s Dial() gets the BUSY, hangs its ;2 up,
        and app_queue sees only ;1 go: NOANSWER, and autopause applies
        (real captures member_busy / member_busy_local_agents)."""
        self._end_ring(call, ring)
        m, leg, caller = ring.member, ring.leg, call.caller
        ms = (int(self.now) - int(ring.started)) * 1000
        q = self.queues[call.queue]
        pair = leg.local
        if ring.phone is not None and pair is not None:
            one, two = pair.one, pair.two
            self._dial_end(two, ring.phone, "BUSY", 17)
            one.local = two.local = None  # the order below is the captures', not the generic one
            self._hangup_request(two, 16, soft=True)
            self._hangup_request(one, 16)
            self._hangup(two, 16)
            self._dial("DialEnd", caller, one, [("DialStatus", "NOANSWER"), ("Forward", "")])
            autopause = True
        else:
            self._dial("DialEnd", caller, leg, [("DialStatus", "BUSY"), ("Forward", "")])
            autopause = q.autopausebusy
        self._agent_event("AgentRingNoAnswer", call, leg, m, [("RingTime", str(ms))])
        self.log(call.queue, caller.uniqueid, m.name, "RINGNOANSWER", ms)
        leg.dying = True
        self._hangup(leg, 16 if pair is not None else 17)
        if q.strategy != "ringall":
            call.retry_until = 0.0  # non-ringall rings the next member at once (ring_one)
            self._after_rna(call, m, autopause, retry=False)
        else:
            self._after_rna(call, m, autopause)

    def _dump(self, call: Call, ring: Ring) -> None:
        """The member picks up and hangs up before being bridged (§3.2):
        AgentDump; the caller stays queued and the next member is rung."""
        self._end_ring(call, ring)
        m, leg = ring.member, ring.leg
        phone = ring.phone or leg
        self._device(phone.device, INUSE)
        self._newstate(phone, 6)
        self.log(call.queue, call.caller.uniqueid, m.name, "AGENTDUMP", "")
        self._agent_event("AgentDump", call, leg, m, [])
        if ring.phone is not None and leg.local is not None:
            self._dial_end(leg.local.two, ring.phone, "ANSWER")
        self._dial_end(call.caller, leg, "CANCEL", 16)
        if phone.alive:
            phone.dying = True
            self._hangup(phone, 16)
        # try_calling returns; queue_exec waits `retry` (wait_a_bit) before ringing again.
        q = self.queues[call.queue]
        call.retry_until = self.now + q.retry
        call.timers.append(self.after(q.retry, self._kick))

    def _after_rna(self, call: Call, m: Member, natural: bool, retry: bool = True) -> None:
        q = self.queues[call.queue]
        if natural and q.autopause != "no" and not m.paused:
            targets = self.memberships(m.interface) if q.autopause == "all" else [m]
            if q.autopause == "all":
                self.log("NONE", "NONE", m.name, "PAUSEALL", "Auto-Pause")
            for mm in targets:
                self._set_paused(mm, True, "Auto-Pause")
            for fn in list(self.on_autopause):
                fn(m)
            self._members_changed(q)
        if call.state == "waiting" and not call.rings and retry:
            call.retry_until = self.now + q.retry
            call.timers.append(self.after(q.retry, self._kick))
        self._kick()
