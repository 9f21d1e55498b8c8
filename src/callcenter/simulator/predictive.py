"""Customer-first Originate (predictive dialling) through the shipped
[cc-predictive] context:

  Originate Channel=PJSIP/<number>@carrier Context=cc-predictive Exten=<queue>
            ChannelId=<the dial's id> Variable=CC_CAMPAIGN,CC_DIAL,CC_NUMBER,CC_CONNECT_S

The order is main/pbx.c pbx_outgoing_attempt + main/dial.c run by
manager.c fast_originate (Async=true):
  Newchannel (the carrier channel, Uniqueid = ChannelId), VarSet for each
  Variable, DialBegin with no caller (ast_dial_run(dial, NULL, 0): Dest*
  fields only), Newstate Ringing, DialState RINGING; then either
  answered:  Newstate Up, DialEnd ANSWER, OriginateResponse Success
             (Reason 4), and the channel runs [cc-predictive]: __CC_DIRECTION,
             __CC_QUEUE, CC_RECORDING + MixMonitor, UserEvent CcPredictive,
             Queue(<queue>,c,,,CC_CONNECT_S): QueueCallerJoin ... as any
             caller.  No agent within CC_CONNECT_S: QUEUESTATUS=TIMEOUT,
             QueueResult, Playback(custom/cc-outbound-sorry), Hangup: an
             abandon of a connected call.  An agent hung up: Hangup.
  not:       DialEnd NOANSWER/BUSY, Hangup (the dial is destroyed), then
             OriginateResponse Failure, Channel = the requested
             PJSIP/<number>@carrier, Reason 3 (no answer) or 5 (busy),
             Uniqueid = the ChannelId.
"""

from __future__ import annotations

from typing import Any

from callcenter.simulator.dialplan import TRUNK, Dialplan
from callcenter.simulator.model import Call, Channel

PREDICTIVE = "cc-predictive"
SORRY_S = 4.0  # custom/cc-outbound-sorry


class Predictive(Dialplan):
    def _originate_customer(
        self, channel: str, queue: str, callerid: str, action_id: str, timeout: float, variables: dict[str, str], channel_id: str,
        talk: float | None = None,
    ) -> None:  # fmt: skip
        number = channel.split("/", 1)[1].split("@", 1)[0]
        behaviour = self.phone(channel)
        cid = callerid.split("<")[-1].rstrip(">").strip() if "<" in callerid else callerid.strip()
        a = self.new_channel(TRUNK, cid or number, "", context="from-trunk", exten="s", uniqueid=channel_id)
        a.vars.update(variables)
        for k, v in variables.items():
            self._varset(a, k, v)
        a.context, a.exten, a.priority = PREDICTIVE, queue, 1
        self.emit("DialBegin", "call", a.snapshot("Dest") + [("DialString", channel.split("/", 1)[1])])
        self._newstate(a, 5)
        self.emit("DialState", "call", a.snapshot("Dest") + [("DialStatus", "RINGING"), ("Forward", "")])
        result = (channel, queue, action_id, number)
        after = behaviour.answer_after
        if behaviour.busy:
            self.after(min(after, timeout), self._customer_failed, a, result, "BUSY", 17, 5)
        elif (behaviour.miss_prob and self.rng.random() < behaviour.miss_prob) or after >= timeout:
            self.after(timeout, self._customer_failed, a, result, "NOANSWER", 19, 3)
        else:
            self.after(after, self._customer_answered, a, result, talk if talk is not None else behaviour.talk_s)

    def _customer_response(self, a: Channel, result: tuple[str, ...], ok: bool, reason: int) -> None:
        channel, queue, action_id, _number = result
        self.emit(
            "OriginateResponse",
            "call",
            ([("ActionID", action_id)] if action_id else [])
            + [("Response", "Success" if ok else "Failure"), ("Channel", a.name if ok else channel), ("Context", PREDICTIVE),
               ("Exten", queue), ("Reason", str(reason)), ("Uniqueid", a.uniqueid), ("CallerIDNum", a.cid_num or "<unknown>"),
               ("CallerIDName", a.cid_name or "<unknown>")],
        )  # fmt: skip

    def _customer_failed(self, a: Channel, result: tuple[str, ...], status: str, cause: int, reason: int) -> None:
        if not a.alive:
            return
        self.emit("DialEnd", "call", a.snapshot("Dest") + [("DialStatus", status), ("Forward", "")])
        a.dying = True
        self._hangup(a, cause)
        self._customer_response(a, result, False, reason)

    def _customer_answered(self, a: Channel, result: tuple[str, ...], talk: float) -> None:
        if not a.alive:
            return
        _channel, queue, _aid, number = result
        self._newstate(a, 6)
        self.emit("DialEnd", "call", a.snapshot("Dest") + [("DialStatus", "ANSWER"), ("Forward", "")])
        self._customer_response(a, result, True, 4)
        # [cc-predictive],<queue>
        connect_s = a.vars.get("CC_CONNECT_S") or "2"
        self._varset(a, "__CC_DIRECTION", "outbound")
        self._varset(a, "__CC_QUEUE", queue)
        a.cid_num = a.vars.get("CC_NUMBER", number)  # Set(CALLERID(num)=${CC_NUMBER})
        self._chan_event("NewCallerid", a, [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")])
        call = Call(caller=a, queue=queue, plan=self._predictive_plan(float(connect_s), talk))
        call.plan["predictive"] = True
        self.calls[a.uniqueid] = call
        a.on_gone = self._caller_gone
        if self.record:
            file = f"{self._stamp('%Y%m%d')}/{self._stamp('%Y%m%d-%H%M%S')}-{a.uniqueid}-pd-{number}.wav"
            self._varset(a, "CC_RECORDING", file)
            self._record(a, file)
            a.context, a.exten = PREDICTIVE, queue
        self._user_event(a, "CcPredictive", [("Uniqueid", a.uniqueid), ("Queue", queue), ("Campaign", a.vars.get("CC_CAMPAIGN", "")),
                                             ("Dial", a.vars.get("CC_DIAL", "")), ("Number", a.vars.get("CC_NUMBER", number))])  # fmt: skip
        self._newexten(a, "Queue", f"{queue},c,,,{connect_s}", priority=8)
        self._join(call, queue)

    @staticmethod
    def _predictive_plan(connect_s: float, talk: float) -> dict[str, Any]:
        return {
            "patience": None, "answer": None, "talk": talk, "hold": [], "hangup": "caller", "transfer": None,
            "timeout": connect_s, "after_timeout": SORRY_S, "key": None, "survey": 0.0,
        }  # fmt: skip

    def _predictive_after_queue(self, call: Call, status: str) -> None:
        """No agent in time: QueueResult, the apology, Hangup()."""
        ch = call.caller
        call.state = "ivr"
        self._user_event(ch, "QueueResult", [("Uniqueid", ch.uniqueid), ("Queue", call.queue), ("Status", status)])
        self._newexten(ch, "Playback", "custom/cc-outbound-sorry", priority=11)
        call.timers.append(self.after(SORRY_S, self._predictive_hangup, ch))

    def _predictive_after_agent(self, call: Call | None, ch: Channel) -> None:
        """The agent hung up (Queue option c): QueueResult, then Hangup()."""
        queue = call.queue if call is not None else ch.exten
        self._user_event(ch, "QueueResult", [("Uniqueid", ch.uniqueid), ("Queue", queue), ("Status", "CONTINUE")])
        if call is not None:
            call.state = "ivr"
        self._newexten(ch, "Hangup", "", priority=12)
        self._predictive_hangup(ch)

    def _predictive_hangup(self, ch: Channel) -> None:
        if ch.alive and ch.bridge is None:
            self._gone(ch, 16, soft=True)
