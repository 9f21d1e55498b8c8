"""Queue membership (app_queue's QueueAdd/QueueRemove/QueuePause and their
events and queue_log lines) and whether a member can be rung."""

from __future__ import annotations

from callcenter.simulator.base import PbxBase, outside
from callcenter.simulator.model import INUSE, INVALID, NOT_INUSE, RINGING, UNAVAILABLE, UNKNOWN, Fields, Member, Queue


class Members(PbxBase):
    def member_block(self, m: Member) -> Fields:
        return [
            ("Queue", m.queue),
            ("MemberName", m.name),
            ("Interface", m.interface),
            ("StateInterface", m.state_interface),
            ("Membership", m.membership),
            ("Penalty", str(m.penalty)),
            ("CallsTaken", str(m.calls_taken)),
            ("LastCall", str(m.last_call)),
            ("LastPause", str(m.last_pause)),
            ("LoginTime", str(m.login_time)),
            ("InCall", "1" if m.in_call else "0"),
            ("Status", str(self.device_state(m.state_interface))),
            ("Paused", "1" if m.paused else "0"),
            ("PausedReason", m.paused_reason),
            ("Ringinuse", "0"),
            ("Wrapuptime", str(int(m.wrapuptime))),
        ]

    def memberships(self, interface: str) -> list[Member]:
        return [q.members[interface] for q in self.queues.values() if interface in q.members]

    @outside
    def add_member(
        self,
        queue: str,
        interface: str,
        name: str | None = None,
        penalty: int = 0,
        paused: bool = False,
        reason: str = "",
        wrapuptime: float | None = None,
        state_interface: str = "",
        callid: str = "MANAGER",
    ) -> Member:
        """QueueAdd.  Raises KeyError (no such queue) or ValueError (already there)."""
        q = self.queues[queue]
        if interface in q.members:
            raise ValueError("already there")
        self._member_order += 1
        m = Member(
            queue=queue,
            interface=interface,
            name=name or interface,
            penalty=penalty,
            paused=paused,
            paused_reason=reason if paused else "",
            login_time=int(self.now),
            last_pause=int(self.now) if paused else 0,
            wrapuptime=q.wrapuptime if wrapuptime is None else wrapuptime,
            order=self._member_order,
            state_interface=state_interface,
        )
        self.phone(interface)
        q.members[interface] = m
        self.by_state.setdefault(m.state_interface, []).append(m)
        # log_membername_as_agent = yes (asterisk/queues.conf): the agent column is the name.
        self.log(queue, callid, m.name, "ADDMEMBER", "PAUSED" if paused else "")
        self.emit("QueueMemberAdded", "agent", self.member_block(m))
        self._kick()
        return m

    @outside
    def remove_member(self, queue: str, interface: str, callid: str = "MANAGER") -> None:
        """QueueRemove.  Raises KeyError (no such queue / not there)."""
        q = self.queues[queue]
        m = q.members.pop(interface)
        self.by_state[m.state_interface].remove(m)
        for call in q.entries:
            if interface in call.rings:
                self._cancel_ring(call, call.rings[interface], "CANCEL", 16)  # type: ignore[attr-defined]
        self.log(queue, callid, m.name, "REMOVEMEMBER", "")
        self.emit("QueueMemberRemoved", "agent", self.member_block(m))
        self._members_changed(q)
        self._kick()

    @outside
    def pause(self, interface: str, paused: bool, reason: str = "", queue: str | None = None) -> list[Member]:
        """QueuePause (all queues unless `queue`).  Returns the members changed.
        Without a queue app_queue logs PAUSEALL/UNPAUSEALL once, then each queue's PAUSE."""
        members = [m for m in self.memberships(interface) if queue is None or m.queue == queue]
        for i, m in enumerate(members):
            if i == 0 and queue is None:
                self.log("NONE", "NONE", m.name, "PAUSEALL" if paused else "UNPAUSEALL", reason)
            self._set_paused(m, paused, reason)
        if not paused:
            self._kick()
        for q in {m.queue for m in members}:
            self._members_changed(self.queues[q])
        return members

    def _set_paused(self, m: Member, paused: bool, reason: str) -> None:
        m.paused = paused
        m.paused_reason = reason if paused else ""
        m.last_pause = int(self.now) if paused else m.last_pause
        self.log(m.queue, "NONE", m.name, "PAUSE" if paused else "UNPAUSE", reason)
        self.emit("QueueMemberPause", "agent", self.member_block(m))

    def _member_idle(self, m: Member) -> bool:
        """Can be rung: logged in, not paused, phone idle, wrap-up over."""
        if m.paused or self.device_state(m.state_interface) not in (NOT_INUSE, UNKNOWN):
            return False
        return not (m.wrapuptime and m.last_call and m.last_call + m.wrapuptime > self.now)

    def _empty(self, q: Queue, conditions: frozenset[str]) -> bool:
        """app_queue's get_member_status: no member, or none that `conditions`
        (joinempty/leavewhenempty words) leave reachable."""
        if not q.members:
            return True
        for m in q.members.values():
            status = self.device_state(m.state_interface)
            if status == INVALID and "invalid" in conditions:
                continue
            if status == UNAVAILABLE and "unavailable" in conditions:
                continue
            if status == INUSE and "inuse" in conditions:
                continue
            if status == RINGING and "ringing" in conditions:
                continue
            if status == UNKNOWN and "unknown" in conditions:
                continue
            if m.paused and "paused" in conditions:
                continue
            if "wrapup" in conditions and m.wrapuptime and m.last_call and self.now - m.wrapuptime < m.last_call:
                continue
            return False
        return True

    def _members_changed(self, q: Queue) -> None:  # pragma: no cover - app_queue (leavewhenempty)
        pass
