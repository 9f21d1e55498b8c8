"""Transfers of an answered queue call by the agent's phone, the Redirect
and Hangup actions (main/bridge_basic.c, bridge.c, app_queue's
handle_blind_transfer / handle_attended_transfer):

- blind: BlindTransfer, AgentComplete Reason=transfer (BLINDTRANSFER), the
  agent's phone hangs up, the caller runs <context>,<exten> (a queue again
  in cc-queue, an agent or a number in agents);
- attended: the phone consults the target on a second call, then the
  target is swapped into the caller's bridge (DestType Bridge);
- blonde: the phone completes while the target still rings: the caller
  takes over the ringing Dial() (DestType App, DestApp Dial).

A Local member's phone (Local/…/n) transfers inside its own Local
bridge: app_queue does not see it (asterisk#759); the call goes on through
the Local pair.
"""

from __future__ import annotations

from typing import Any

from callcenter.simulator.base import outside
from callcenter.simulator.calls import Calls, DirectCall
from dataclasses import dataclass, field

from callcenter.simulator.dialplan import AGENTS, QUEUE, TRUNK, dial_target
from callcenter.simulator.model import Bridge, Call, Channel, LocalPair


@dataclass(eq=False)
class _Feature:
    """An attended transfer by the feature (AMI Atxfer) in progress."""

    pair: LocalPair  # Local/<exten>@<context>: ;1 in the consultation bridge
    bridge: Bridge  # the consultation bridge (the transferer and ;1)
    phone: Channel  # the target's phone, dialled by ;2
    transferer: Channel
    timers: list = field(default_factory=list)
    answered: bool = False
    completed: bool = False
    then: tuple[float, str] | None = None  # a script's (talk, who hangs up) once the target talks


class Transfers(Calls):
    @outside
    def transfer(self, call: Call, xfer: dict[str, Any]) -> None:
        """The agent transfers: {"type": "blind"|"attended"|"blonde", "to": queue or extension, ...}."""
        self._transfer(call, xfer)

    def _transfer(self, call: Call, xfer: dict[str, Any]) -> None:
        if call.state != "talking" or call.consult is not None or call.phone is None:
            return
        if call.on_hold and xfer.get("type", "blind") == "blind":
            self.hold(call, False)
        kind = xfer.get("type", "blind")
        if kind == "atxfer":  # the desktop's way: AMI Atxfer, then the agent hangs up
            context, exten = self._where(str(xfer["to"]))
            phone = call.phone
            if self.atxfer(phone.name, exten, context, answer_after=xfer.get("answer_after")):
                call.timers.append(self.after(float(xfer.get("consult", 10)), self._atxfer_done, call, phone, xfer))
            return
        if kind == "attended":
            self._attended(call, xfer, blonde=False)
        elif kind == "blonde":
            self._attended(call, xfer, blonde=True)
        else:
            self._blind(call, xfer)

    def _where(self, target: str) -> tuple[str, str]:
        """(context, exten) the desktop sends a transfer to (realtime/service.py)."""
        if target in self.queues:
            return QUEUE, target
        return AGENTS, target.split("/", 1)[1].split("@", 1)[0] if "/" in target else target

    def _blind(self, call: Call, xfer: dict[str, Any]) -> None:
        """BlindTransfer from the agent's phone; the transferee runs the target."""
        phone = call.phone
        assert phone is not None and phone.bridge is not None
        bridge = phone.bridge
        context, exten = self._where(str(xfer["to"]))
        transferee = next(c for c in bridge.channels if c is not phone)
        self.emit(
            "BlindTransfer",
            "call",
            [("Result", "Success")] + phone.snapshot("Transferer") + transferee.snapshot("Transferee") + bridge.snapshot()
            + [("IsExternal", "Yes"), ("Context", context), ("Extension", exten)],
        )  # fmt: skip
        plan = self._next_plan(call, xfer)
        if bridge is call.bridge:
            call.state = "transferring"  # handle_hangup ignores the transferer's hang-up
            self._complete(call, "transfer", "BLINDTRANSFER", (exten, context))
            call.caller.before_hangup = None
        call.state = "transferred"
        for t in call.timers:
            t.cancel()
        call.timers.clear()
        transferee.after_bridge = lambda ch: self._transferee_runs(ch, context, exten, plan)
        self._gone(phone, 16, soft=True)  # Asterisk ends the transferer: no HangupRequest from the phone

    def _next_plan(self, call: Call, xfer: dict[str, Any]) -> dict[str, Any]:
        plan = dict(call.plan)
        plan.update(answer=xfer.get("answer"), talk=xfer.get("talk", 60), hold=[], transfer=None,
                    hangup=xfer.get("hangup", "caller"), patience=xfer.get("patience"), timeout=None, key=None,
                    answer_after=xfer.get("answer_after"))  # fmt: skip
        return plan

    def _transferee_runs(self, ch: Channel, context: str, exten: str, plan: dict[str, Any]) -> None:
        """The transferee goes on at context,exten: another queue (cc-queue:
        still recorded, one file) or a Dial() through [agents]."""
        call = self.calls.get(ch.uniqueid)
        if context == QUEUE:
            if call is None:  # a Local ;2 half transferred into a queue: a new entry
                call = Call(caller=ch, queue=exten, plan=plan)
                self.calls[ch.uniqueid] = call
                ch.on_gone = self._caller_gone
            call.plan = plan
            call.member = call.leg = call.phone = call.bridge = None
            self._enter_queue(call, exten)
            return
        if call is not None:
            call.plan, call.state = plan, "transferred"
            call.member = call.leg = call.phone = call.bridge = None
        hangup = "a" if plan.get("hangup", "caller") == "caller" else "b"
        self._run_agents(ch, exten, talk=float(plan.get("talk") or 60), answer_after=plan.get("answer_after"), hangup=hangup)

    def _attended(self, call: Call, xfer: dict[str, Any], blonde: bool) -> None:
        """Hold, consult the target on a second call from the phone, then
        complete: into the caller's bridge (attended) or while it still rings (blonde)."""
        phone = call.phone
        assert phone is not None and call.member is not None
        self.hold(call, True)
        context, exten = self._where(str(xfer["to"]))
        iface = f"PJSIP/{exten}" if context == AGENTS and exten.isdigit() and len(exten) == 4 else f"PJSIP/{exten}@carrier"
        device = phone.device or call.member.state_interface
        leg2 = self.new_channel(device, phone.cid_num, phone.cid_name, context=AGENTS, exten=exten, state=4, device=device)
        self._newexten(leg2, "Dial", f"{iface},30", priority=2)
        wait = float(xfer.get("consult", 10))

        def consulted(dc: DirectCall) -> None:
            dc.timers.append(self.after(wait, self._attended_complete, call, xfer, leg2, dc))

        def abandoned(_dc: DirectCall) -> None:
            """The consultation ended without a transfer: back to the caller."""
            call.consult = None
            if call.state == "talking":
                self.hold(call, False)
                call.timers.append(self.after(10, self._end_talk, call, call.plan["hangup"]))

        answer_after = xfer.get("answer_after")
        if blonde:
            answer_after = wait + float(xfer.get("ring_after", 5))
        call.consult = DirectCall(self, leg2, iface, talk=None, answer_after=answer_after, timeout=60,
                                  on_answer=None if blonde else consulted, on_end=abandoned)  # fmt: skip
        if blonde:
            call.consult.timers.append(self.after(wait, self._blonde_complete, call, xfer, leg2, call.consult))

    def _attended_complete(self, call: Call, xfer: dict[str, Any], leg2: Channel, dc: DirectCall) -> None:
        if call.state != "talking":
            dc.end()
            return
        call.consult = None
        caller, phone, b = call.caller, call.phone, call.bridge
        target, consult_bridge = dc.b_leg, dc.bridge
        assert phone is not None and b is not None and consult_bridge is not None
        self.emit(
            "AttendedTransfer",
            "call",
            [("Result", "Success")] + phone.snapshot("OrigTransferer") + b.snapshot("Orig")
            + leg2.snapshot("SecondTransferer") + consult_bridge.snapshot("Second")
            + caller.snapshot("Transferee") + target.snapshot("TransferTarget")
            + [("IsExternal", "Yes"), ("DestType", "Bridge"), ("DestBridgeUniqueid", b.uniqueid)],
        )  # fmt: skip
        call.state = "transferring"
        self._complete(call, "transfer", "ATTENDEDTRANSFER", ("BRIDGE", b.uniqueid))
        call.on_hold = False
        dc.on_end = None
        dc._done()
        self._bridge_leave(consult_bridge, target)
        target.linkedid = caller.linkedid
        self._bridge_leave(b, phone)
        self._bridge_enter(b, target, swap=phone.uniqueid)
        self._bridge_leave(consult_bridge, leg2)
        self._bridge_destroy(consult_bridge)
        for ch in (phone, leg2):
            ch.dying = True
            self._hangup(ch, 16)
        self._chan_event("MusicOnHoldStop", caller)
        # The caller and the target talk on; the recording keeps running.
        call.phone, call.state = target, "transferred"
        for t in call.timers:
            t.cancel()
        call.timers.clear()
        who = caller if xfer.get("hangup", "caller") == "caller" else target
        call.timers.append(self.after(float(xfer.get("talk", 60)), self._hangs_up_bridged, who))

    def _blonde_complete(self, call: Call, xfer: dict[str, Any], leg2: Channel, dc: DirectCall) -> None:
        """The phone completes the transfer while the target rings: the
        caller takes over the consultation's Dial() (DestType App, Dial)."""
        if call.state != "talking" or dc.bridge is not None or not dc.b_leg.alive:
            return
        call.consult = None
        caller, phone, b = call.caller, call.phone, call.bridge
        target = dc.b_leg
        assert phone is not None and b is not None
        self.emit(
            "AttendedTransfer",
            "call",
            [("Result", "Success")] + phone.snapshot("OrigTransferer") + b.snapshot("Orig")
            + leg2.snapshot("SecondTransferer") + caller.snapshot("Transferee")
            + [("IsExternal", "Yes"), ("DestType", "App"), ("DestApp", "Dial")],
        )  # fmt: skip
        call.state = "transferring"
        self._complete(call, "transfer", "ATTENDEDTRANSFER", ("APP", "Dial"))
        call.on_hold = False
        caller.after_bridge = caller.before_hangup = None
        self._bridge_leave(b, phone)
        self._bridge_leave(b, caller)
        self._dial("DialEnd", leg2, target, [("DialStatus", "NOANSWER"), ("Forward", "")])
        leg2.dialing = None
        caller.dialing = target
        self._dial("DialBegin", caller, target, [("DialString", dc.target.split("/", 1)[1])])
        self._bridge_destroy(b)
        for ch in (leg2, phone):
            ch.dying = True
            self._hangup(ch, 16)
        self._chan_event("MusicOnHoldStop", caller)
        target.linkedid = caller.linkedid
        # The caller's Dial() goes on: the target answers (or not) on its own time.
        dc.a_leg, dc.on_end = caller, None
        dc.talk = float(xfer.get("talk", 60))
        dc.hangup = "a" if xfer.get("hangup", "caller") == "caller" else "b"
        call.state, call.phone, call.bridge = "transferred", target, None
        for t in call.timers:
            t.cancel()
        call.timers.clear()

    # -- the attended-transfer feature (AMI Atxfer, features.conf atxfer) ----------------------------

    @outside
    def atxfer(self, channel: str, exten: str, context: str = AGENTS, *, answer_after: float | None = None) -> bool:
        """AMI Atxfer on the agent's phone: bridge_basic's attended transfer.
        The caller is held, the phone moves into a consultation bridge with a
        Local/<exten>@<context> channel that dials the target.  The phone's
        hang-up completes it (hangup_channel): the consultation bridge merges
        into the caller's (DestType Bridge), answered or still ringing."""
        ch = self.channels.get(channel)
        call = next((c for c in self.calls.values() if c.state == "talking" and c.phone is ch), None)
        if ch is None or call is None or call.bridge is None or ch.bridge is not call.bridge:
            return False
        self.hold(call, True)
        pair = self._local_pair(f"Local/{exten}@{context}", ch)
        consult = self._bridge_create()
        self._local_call(pair)
        self._bridge_enter(consult, pair.one)
        self._bridge_leave(call.bridge, ch)
        self._bridge_enter(consult, ch)
        target = dial_target(context, exten)
        phone = self._local_runs_dial(pair)
        self.emit("DialState", "call", pair.one.snapshot("Dest") + [("DialStatus", "RINGING")])  # the feature has no caller channel
        behaviour = self.phone(target)
        after = answer_after if answer_after is not None else behaviour.answer_after
        f = call.consult = _Feature(pair, consult, phone, ch, [])
        f.timers.append(self.after(float(after), self._feature_answered, call, f))
        call.state = "consulting"
        return True

    def _feature_answered(self, call: Call, f: _Feature) -> None:
        if not f.phone.alive or f.answered:
            return
        pair, phone = f.pair, f.phone
        self._device(phone.device, 6)
        self._newstate(phone, 6)
        self._dial_end(pair.two, phone, "ANSWER")
        self._newstate(pair.two, 6)
        local_bridge = self._bridge_create()
        self._bridge_enter(local_bridge, phone)
        self._newstate(pair.one, 6)
        self.emit("DialEnd", "call", pair.one.snapshot("Dest") + [("DialStatus", "ANSWER"), ("Forward", "")])
        self._bridge_enter(local_bridge, pair.two)
        f.answered = True
        if pair.optimize and pair.one.bridge is not None and self.local_media:
            self._local_optimize(pair)
        if f.completed and f.then is not None:  # blonde: the caller and the target talk now
            talk, who = f.then
            party = call.caller if who == "caller" else f.phone
            call.timers.append(self.after(talk, self._hangs_up_bridged, party))

    def _feature_complete(self, call: Call) -> None:
        """The transferer hung up: its consultation bridge merges into the caller's."""
        f = call.consult
        assert isinstance(f, _Feature)
        caller, b, transferer, consult = call.caller, call.bridge, f.transferer, f.bridge
        assert b is not None
        call.consult = None
        call.state = "transferring"
        self._hangup_request(transferer, 16)
        self._bridge_leave(consult, transferer)
        moving = list(consult.channels)
        self.emit("BridgeMerge", "call", b.snapshot("To") + consult.snapshot("From"))
        for ch in moving:
            self._bridge_leave(consult, ch)
            self._bridge_enter(b, ch)
            ch.linkedid = caller.linkedid
        self._chan_event("MusicOnHoldStop", caller)
        if call.holds:
            call.holds[-1] = (call.holds[-1][0], self.now)
        target = moving[0] if moving else None
        self.emit(
            "AttendedTransfer",
            "call",
            [("Result", "Success")] + transferer.snapshot("OrigTransferer") + b.snapshot("Orig")
            + transferer.snapshot("SecondTransferer") + consult.snapshot("Second") + caller.snapshot("Transferee")
            + (target.snapshot("TransferTarget") if target is not None and f.answered else [])
            + [("IsExternal", "No"), ("DestType", "Bridge"), ("DestBridgeUniqueid", b.uniqueid)],
        )  # fmt: skip
        self._bridge_destroy(consult)
        self._hangup(transferer, 16)
        self._complete(call, "transfer", "ATTENDEDTRANSFER", ("BRIDGE", b.uniqueid))
        call.on_hold = False
        call.state, call.phone = "transferred", f.phone
        f.completed = True  # blonde if not answered: the target still rings, now for the caller
        for timer in call.timers:
            timer.cancel()
        call.timers.clear()

    def _atxfer_done(self, call: Call, phone: Channel, xfer: dict[str, Any]) -> None:
        """A scripted Atxfer: the agent hangs up `consult` s later; the caller
        and the target talk `talk` s once the target has answered."""
        f = call.consult
        if phone.alive and isinstance(f, _Feature):
            f.then = (float(xfer.get("talk", 60)), xfer.get("hangup", "caller"))
            self.hangup_channel(phone.name)
            if f.answered:
                talk, who = f.then
                party = call.caller if who == "caller" else f.phone
                call.timers.append(self.after(talk, self._hangs_up_bridged, party))

    def _hangs_up_bridged(self, ch: Channel) -> None:
        if ch.alive:
            self._gone(ch, 16)

    # -- actions -----------------------------------------------------------------------------------

    @outside
    def hangup_channel(self, name: str) -> bool:
        """Hangup action: whoever's channel it is hangs up (a waiting caller
        abandons, a ringing member's phone declines, a transferer in an
        attended transfer completes it)."""
        ch = self.channels.get(name)
        if ch is None:
            return False
        consulting = next((c for c in self.calls.values() if isinstance(c.consult, _Feature) and c.consult.transferer is ch), None)
        if consulting is not None:
            self._feature_complete(consulting)
            return True
        call = self.calls.get(ch.uniqueid)
        if call is not None and call.state == "waiting":
            self._abandon(call)
            return True
        for c in list(self.calls.values()):
            for ring in list(c.rings.values()):
                if ch in (ring.leg, ring.phone):
                    self._reject(c, ring)
                    return True
        self._gone(ch, 16)
        return True

    @outside
    def redirect(self, name: str, context: str, exten: str) -> bool:
        """Redirect action.  A queue caller is pulled out of wherever they are
        (waiting: QueueCallerLeave only; talking: the agent's part ends with
        AgentComplete Reason=transfer) and runs context,exten, which may be
        another queue; elsewhere they hear a prompt, then hang up."""
        ch = self.channels.get(name)
        if ch is None:
            return False
        call = self.calls.get(ch.uniqueid)
        plan = self._next_plan(call, {}) if call is not None else {}
        if call is not None and call.state == "waiting":
            self._cancel_rings(call)
            self._chan_event("MusicOnHoldStop", ch)
            self._leave(call)
            call.state = "redirected"
        elif ch.bridge is not None:
            if call is not None and call.completing:
                call.state = "transferring"
                self._complete(call, "transfer")
                ch.before_hangup = None
            ch.after_bridge = lambda c: self._redirected(c, context, exten, plan)
            b = ch.bridge
            self._bridge_leave(b, ch)
            self._bridge_ends(b, ch)
            return True
        self._redirected(ch, context, exten, plan)
        return True

    def _redirected(self, ch: Channel, context: str, exten: str, plan: dict[str, Any]) -> None:
        if context in (QUEUE, AGENTS) and (exten in self.queues or context == AGENTS):
            self._transferee_runs(ch, context, exten, plan or {"talk": 60, "hangup": "caller"})
            return
        self._newexten(ch, "Playback", "custom/redirected", context=context, exten=exten)
        self.after(float(plan.get("after_timeout", 10.0)) if plan else 10.0, self._hangs_up, ch)


__all__ = ["Transfers", "TRUNK"]
