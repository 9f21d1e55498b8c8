"""Calls outside app_queue, through the shipped dialplan: Dial() from one
channel to a phone, the carrier or a Local channel (apps/app_dial.c order),
an agent's internal and outbound calls, Originate (click-to-call and
callbacks: answered, busy, no answer), the after-hours duty line (a Local
channel, optimised either way), and *8 pickup (main/pickup.c)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from callcenter.simulator.base import outside
from callcenter.simulator.dialplan import AGENTS, DUTY, EXTENSION, OUTBOUND, TRUNK, dial_target
from callcenter.simulator.model import INUSE, Call, Channel, LocalPair
from callcenter.simulator.predictive import PREDICTIVE, Predictive


class DirectCall:
    """Dial(target,timeout) run by channel `a`: ring, then answer (bridge),
    busy or no answer.  `b_leg` is what Dial() rang (a Local ;1 for Local
    targets, whose ;2 dials the phone behind it); `peer` the party talking."""

    def __init__(
        self,
        pbx: Calls,
        a: Channel,
        target: str,
        *,
        talk: float | None,
        answer_after: float | None = None,
        timeout: float = 30.0,
        on_answer: Callable[[DirectCall], None] | None = None,
        on_end: Callable[[DirectCall], None] | None = None,
        hangup: str = "a",
        first_writer: str = "",
    ) -> None:
        self.pbx, self.a_leg, self.target, self.on_answer, self.on_end = pbx, a, target, on_answer, on_end
        self.talk, self.hangup = talk, hangup
        self.bridge: Any = None
        self.pair: LocalPair | None = None
        self.phone: Channel | None = None
        self.timers: list[Any] = []
        pbx.others.append(self)
        if not target:  # `a` runs an application (ChanSpy), nobody is dialled
            if talk is not None:
                self.timers.append(pbx.after(talk, self.end))
            return
        if target.startswith("Local/"):
            pair = self.pair = pbx._local_pair(target, a, first_writer=first_writer)
            self.b_leg = pair.one
            a.dialing = pair.one
            pbx._local_call(pair)
            pbx._dial("DialBegin", a, pair.one, [("DialString", target.split("/", 1)[1])])
            self.phone = pbx._local_runs_dial(pair)
            behaviour = pbx.phone(dial_target(pair.context, pair.exten))
        else:
            self.b_leg = self.phone = pbx._ring_device(a, target)
            behaviour = pbx.phone(target)
        pbx._dial("DialState", a, self.b_leg, [("DialStatus", "RINGING")])
        after = answer_after if answer_after is not None else behaviour.answer_after
        if behaviour.miss_prob >= 1.0 or after >= timeout:
            self.timers.append(pbx.after(timeout, self._failed, "NOANSWER", 16))
        elif behaviour.busy:
            self.timers.append(pbx.after(float(after), self._failed, "BUSY", 17))
        else:
            self.timers.append(pbx.after(float(after), self._answered))

    @property
    def channels(self) -> list[Channel]:
        return [c for c in (self.a_leg, getattr(self, "b_leg", None), self.phone) if c is not None and c.alive]

    def _failed(self, status: str, cause: int) -> None:
        """BUSY or NOANSWER: DIALSTATUS, and [agents]'s next priority hangs up."""
        pbx, a = self.pbx, self.a_leg
        if self.pair is not None and self.phone is not None:
            pbx._dial_end(self.pair.two, self.phone, status, cause)
        pbx._dial_end(a, self.b_leg, status, cause)
        pbx._varset(a, "DIALSTATUS", status)
        self._done()
        if a.alive:
            pbx._newexten(a, "Hangup", "")
            pbx._gone(a, 16, soft=True)

    def _answered(self, picked: bool = False) -> None:
        """B answers (or a colleague picked it up: `picked`, B's answer is out already)."""
        pbx, a, b = self.pbx, self.a_leg, self.b_leg
        phone = self.phone
        assert phone is not None
        if not picked:
            if phone.device:
                pbx._device(phone.device, INUSE)
            pbx._newstate(phone, 6)
        if self.pair is not None:
            if not picked:
                pbx._dial_end(self.pair.two, phone, "ANSWER")
            pbx._local_answered(self.pair)
            pbx._bridge_two(phone, self.pair.two)
        if not picked or self.pair is not None:
            pbx._dial_end(a, b, "ANSWER")
        if a.state != 6:
            pbx._newstate(a, 6)
        self.bridge = pbx._bridge_two(b, a)
        if self.pair is not None:
            pbx._local_optimize(self.pair)
        if self.on_answer is not None:
            self.on_answer(self)
        if self.talk is not None:
            self.timers.append(pbx.after(self.talk, self.end))

    def end(self) -> None:
        """The conversation is over: `hangup` ("a" or "b") hangs up first."""
        if self not in self.pbx.others:
            return
        first = self.a_leg if self.hangup == "a" else (self.phone or self.b_leg)
        self._done()
        if first.alive:
            self.pbx._gone(first, 16)
        for ch in self.channels:  # a ringing B leg, or a party left alone
            self.pbx._gone(ch, 16)

    def _done(self) -> None:
        if self in self.pbx.others:
            self.pbx.others.remove(self)
        for t in self.timers:
            t.cancel()
        self.timers.clear()
        if self.on_end is not None:
            fn, self.on_end = self.on_end, None
            fn(self)


class Calls(Predictive):
    # -- an agent's phone dials --------------------------------------------------------------

    @outside
    def dial(
        self, interface: str, exten: str, *, answer_after: float | None = None, talk: float | None = None, hangup: str = "a"
    ) -> DirectCall:
        """The agent's desk phone dials `exten` ([agents]): another agent
        (internal) or a number (through [cc-outbound]: recorded, CcOutbound)."""
        num = interface.split("/", 1)[1]
        a = self.new_channel(interface, num, "", context=AGENTS, exten=exten, state=4, device=interface)
        self._device(interface, INUSE)
        return self._run_agents(a, exten, answer_after=answer_after, talk=talk, hangup=hangup)

    def _run_agents(self, a: Channel, exten: str, **kw: Any) -> DirectCall:
        """[agents],<exten>: internal, or Goto(cc-outbound)."""
        talk = kw.pop("talk", None)
        if EXTENSION.match(exten):
            self._varset(a, "__CC_DIRECTION", "internal")
            target = f"PJSIP/{exten}"
            self._newexten(a, "Dial", f"{target},30", context=AGENTS, exten=exten, priority=2)
            return DirectCall(self, a, target, talk=talk if talk is not None else self.phone(a.device or target).talk_s, timeout=30, **kw)
        number = exten[3:] if exten.startswith("+86") else exten
        a.context, a.exten, a.priority, a.app = OUTBOUND, number, 1, ""
        self._varset(a, "__CC_DIRECTION", "outbound")
        agent = a.name.rsplit("-", 1)[0]
        if not a.vars.get("CC_AGENT"):
            self._varset(a, "__CC_AGENT", agent)
        if self.record:
            file = f"{self._stamp('%Y%m%d')}/{self._stamp('%Y%m%d-%H%M%S')}-{a.uniqueid}-out-{number}.wav"
            self._varset(a, "CC_RECORDING", file)
            self._record(a, file)
            a.context, a.exten = OUTBOUND, number
        else:
            file = ""
        self._user_event(a, "CcOutbound", [("Uniqueid", a.uniqueid), ("Agent", a.vars.get("CC_AGENT") or agent),
                                           ("Number", number), ("Task", a.vars.get("CC_CALLBACK_TASK", "")), ("Recording", file)])  # fmt: skip
        target = dial_target(OUTBOUND, number)
        self._newexten(a, "Dial", f"{target},60", priority=7)
        if talk is None:  # how long the customer talks: their own phone's, when a test set one
            talk = self.phones[target].talk_s if target in self.phones else 60.0
        return DirectCall(self, a, target, talk=talk, timeout=60, **kw)

    def _stamp(self, fmt: str) -> str:
        from datetime import UTC, datetime

        return datetime.fromtimestamp(self.now, UTC).strftime(fmt)

    # -- Originate: click-to-call, callbacks, ChanSpy -------------------------------------------

    @outside
    def originate(
        self,
        channel: str,
        *,
        exten: str = "",
        context: str = AGENTS,
        application: str = "",
        data: str = "",
        callerid: str = "",
        action_id: str = "",
        talk: float | None = None,
        timeout: float = 30.0,
        variables: dict[str, str] | None = None,
        channel_id: str = "",
    ) -> None:
        """Originate: ring `channel` (the agent's phone) first (its Uniqueid is
        `channel_id` when the action gave ChannelId, as Asterisk does); when it answers
        run exten@context (dial the customer through [agents]) or the
        application (ChanSpy).  OriginateResponse follows the first leg's
        answer, or reports Failure: Reason 3 nobody picked up, 5 busy.
        Context cc-predictive: `channel` is the customer (predictive.py)."""
        if context == PREDICTIVE:
            self._originate_customer(channel, exten, callerid, action_id, timeout, variables or {}, channel_id, talk)
            return
        iface = channel
        p = self.phone(iface)
        num, name = _split_callerid(callerid)
        a = self.new_channel(iface, num or iface.split("/")[-1], name, context=context, exten=exten or "s", device=iface, uniqueid=channel_id)
        for k, v in (variables or {}).items():
            a.vars[k] = v
            self._varset(a, k, v)
        self._device(iface, 6)
        self._newstate(a, 5)
        after = max(0.5, p.answer_after)
        result = (iface, exten, context, application, data, action_id)
        if p.busy:
            self.after(after, self._originate_failed, a, result, 5, 17)
        elif (p.miss_prob and self.rng.random() < p.miss_prob) or after >= timeout:
            self.after(timeout, self._originate_failed, a, result, 3, 19)
        else:
            self.after(after, self._originate_answered, a, result, talk)

    def _originate_response(self, a: Channel, result: tuple[str, ...], ok: bool, reason: str) -> None:
        iface, exten, context, application, data, action_id = result
        self.emit(
            "OriginateResponse",
            "call",
            ([("ActionID", action_id)] if action_id else [])
            + [("Response", "Success" if ok else "Failure"), ("Channel", a.name if ok else iface), ("Context", context),
               ("Exten", exten), ("Application", application), ("Data", data), ("Reason", reason),
               ("Uniqueid", a.uniqueid if ok else "<null>"), ("CallerIDNum", "<unknown>" if not a.cid_num else a.cid_num),
               ("CallerIDName", a.cid_name or "<unknown>")],
        )  # fmt: skip

    def _originate_failed(self, a: Channel, result: tuple[str, ...], reason: int, cause: int) -> None:
        a.dying = True
        self._hangup(a, cause)
        self._originate_response(a, result, False, str(reason))

    def _originate_answered(self, a: Channel, result: tuple[str, ...], talk: float | None) -> None:
        if not a.alive:
            return
        iface, exten, context, application, data, _aid = result
        self._device(iface, INUSE)
        self._newstate(a, 6)
        self._originate_response(a, result, True, "4")
        if application:
            self._newexten(a, application, data)
            if application.lower() == "chanspy":
                prefix = data.split(",")[0]
                spyee = next((c for c in self.channels.values() if c.name.startswith(prefix) and c is not a), None)
                if spyee is not None:
                    self.emit("ChanSpyStart", "call", a.snapshot("Spyer") + spyee.snapshot("Spyee"))
            # The application holds the channel until someone hangs up.
            DirectCall(self, a, "", talk=talk)
            return
        self._run_agents(a, exten, talk=talk)

    # -- after hours: the duty line through a Local channel ---------------------------------------

    @outside
    def after_hours_call(
        self, caller_number: str, duty: str = "8020", *, answer_after: float | None = None, talk: float = 60.0,
        first_writer: str = "two", hangup: str = "a",
    ) -> DirectCall:  # fmt: skip
        """A caller out of hours: the hook answers action=duty and [cc-closed]
        dials Local/<duty>@cc-duty, which rings the duty phone.  Asterisk then
        optimises the Local pair: `first_writer` "two" moves the duty phone
        into the caller's bridge (SwapUniqueid = ;1), "one" moves the caller
        into the phone's bridge (SwapUniqueid = ;2)."""
        ch = self.new_channel(TRUNK, caller_number, "", context="from-trunk", exten="4008001234", state=4)
        self._varset(ch, "__CC_DIRECTION", "inbound")
        self._newexten(ch, "Answer", "", priority=5)
        self._newstate(ch, 6)
        ch.context, ch.exten, ch.priority, ch.app = "cc-route", "s", 1, ""
        self._user_event(ch, "CcRoute", [("Uniqueid", ch.uniqueid), ("Queue", ""), ("Priority", "0"), ("Action", "duty"),
                                         ("Reason", "after_hours"), ("Fallback", "0")])  # fmt: skip
        self._varset(ch, "__CC_AFTER_HOURS", "1")
        self._newexten(ch, "Dial", f"Local/{duty}@{DUTY},45", context="cc-closed", exten="duty", priority=3)
        return DirectCall(self, ch, f"Local/{duty}@{DUTY}", talk=talk, answer_after=answer_after, timeout=45,
                          first_writer=first_writer, hangup=hangup)  # fmt: skip

    # -- pickup ----------------------------------------------------------------------------------

    @outside
    def pickup(self, interface: str) -> bool:
        """The phone at `interface` dials *8 and picks up a ringing phone
        (ast_do_pickup): the picker answers, replaces the ringing channel as
        the dialled one, Pickup, and the rung channel hangs up "answered
        elsewhere".  A queue ring keeps app_queue's member (the one rung)."""
        for call in list(self.calls.values()):
            for ring in list(call.rings.values()):
                if ring.phone is None and ring.leg.device != interface:
                    return self._pickup_queue_ring(interface, call, ring)
        for dc in list(self.others):
            phone = dc.phone
            if dc.bridge is None and phone is not None and phone.alive and phone.state == 5 and phone.device and phone.device != interface:
                return self._pickup_direct(interface, dc)
        return False

    def _picker(self, interface: str) -> Channel:
        num = interface.split("/", 1)[1]
        picker = self.new_channel(interface, num, "", context=AGENTS, exten="*8", state=4, device=interface)
        self._newexten(picker, "Pickup", "")
        self._device(interface, INUSE)
        self._newstate(picker, 6)
        return picker

    def _swap_in(self, dialler: Channel, target: Channel, picker: Channel, dial_string: str) -> None:
        self._dial("DialEnd", dialler, target, [("DialStatus", "CANCEL"), ("Forward", "")])
        self._dial("DialBegin", dialler, picker, [("DialString", dial_string)])
        picker.linkedid = dialler.linkedid
        self._dial("DialEnd", dialler, picker, [("DialStatus", "ANSWER"), ("Forward", "")])
        self.emit("Pickup", "call", picker.snapshot() + target.snapshot("Target"))
        target.dying = True
        self._hangup(target, 26)

    def _pickup_queue_ring(self, interface: str, call: Call, ring: Any) -> bool:
        picker = self._picker(interface)
        self._swap_in(call.caller, ring.leg, picker, ring.member.interface)
        ring.leg = ring.phone = picker  # app_queue's outgoing channel is now the picker
        for t in ring.timers:
            t.cancel()
        ring.timers.clear()
        self._answer_picked(call, ring)
        return True

    def _answer_picked(self, call: Call, ring: Any) -> None:
        """The connect, with the picker's channel as the member's (DestChannel)."""
        ring.phone = None
        self._answer(call, ring, picked=True)

    def _pickup_direct(self, interface: str, dc: DirectCall) -> bool:
        """The ringing phone is the one a Dial() rings (or a Local pair's ;2 does)."""
        picker = self._picker(interface)
        target = dc.phone
        assert target is not None
        dialler = dc.pair.two if dc.pair is not None else dc.a_leg
        dialler.dialing = None
        self._swap_in(dialler, target, picker, target.name.rsplit("-", 1)[0].split("/", 1)[1])
        for t in dc.timers:
            t.cancel()
        dc.timers.clear()
        dc.phone = picker
        if dc.pair is None:
            dc.b_leg = picker
        dc._answered(picked=True)
        return True


def _split_callerid(cid: str) -> tuple[str, str]:
    """'"张三" <8001>' -> ('8001', '张三')."""
    cid = cid.strip()
    if "<" in cid and cid.endswith(">"):
        name, _, num = cid[:-1].partition("<")
        return num.strip(), name.strip().strip('"')
    return cid, ""
