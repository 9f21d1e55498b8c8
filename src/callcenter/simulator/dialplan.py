"""What the shipped dialplan (asterisk/extensions.conf) does around
app_queue, step by step as its events reach AMI:

  from-trunk,<DID>  __CC_DNIS, __CC_DIRECTION=inbound, Answer()
  cc-route          __CC_QUEUE, UserEvent CcRoute, QUEUE_PRIO, CALLERID(name)
  cc-queue,<queue>  CC_RECORDING, Gosub(cc-record): MixMonitor  <- before the join
                    Queue(<queue>,tc,,,300), then UserEvent QueueResult
  after Queue()     cc-survey (answered) or cc-callback (timeout, empty...)
  cc-queue-keys,9   a key while waiting: cc-callback
  agents,<exten>    what a phone dials and a Local member's ;2 runs: Dial(PJSIP/<exten>,30)

The context names are the shipped ones; tests/test_asterisk_config.py
checks that every context and extension the simulator uses exists there.
"""

from __future__ import annotations

import re
from typing import Any

from callcenter.simulator.base import outside
from callcenter.simulator.connect import Connect
from callcenter.simulator.model import RINGING, Call, Channel, LocalPair
from callcenter.simulator.monitor import Monitor

INBOUND = "from-trunk"
ROUTE = "cc-route"
QUEUE = "cc-queue"
QUEUE_KEYS = "cc-queue-keys"
SURVEY = "cc-survey"
CALLBACK = "cc-callback"
AGENTS = "agents"
OUTBOUND = "cc-outbound"
DUTY = "cc-duty"
CONTEXTS = (INBOUND, ROUTE, QUEUE, QUEUE_KEYS, SURVEY, CALLBACK, AGENTS, OUTBOUND, DUTY, "cc-record", "cc-predictive")
HOTLINE = "4008001234"
TRUNK = "PJSIP/carrier"  # asterisk/pjsip.conf [carrier]
EXTENSION = re.compile(r"^[78]\d{3}$")  # [agents] _[78]XXX


def dial_target(context: str, exten: str) -> str:
    """What [agents] / [cc-duty] / [cc-outbound] Dial() for `exten`: an agent's
    phone (PJSIP/8002) or the carrier (PJSIP/<number>@carrier)."""
    if EXTENSION.match(exten):
        return f"PJSIP/{exten}"
    number = exten[3:] if exten.startswith("+86") else exten
    return f"PJSIP/{number}@carrier"


class Dialplan(Connect, Monitor):
    @outside
    def new_call(
        self,
        queue: str,
        caller_number: str,
        caller_name: str = "",
        *,
        patience: float | None = None,
        answer: list[dict[str, Any]] | None = None,
        talk: float | None = None,
        hold: list[list[float]] | None = None,
        hangup: str = "caller",
        transfer: dict[str, Any] | None = None,
        timeout: float | None = None,
        after_timeout: float = 10.0,
        trunk: str = TRUNK,
        priority: int = 0,
        key: tuple[float, str] | list[Any] | None = None,
        survey: float = 6.0,
        dnis: str = HOTLINE,
        recording: str = "",
    ) -> Call:
        """A caller dials the hotline and the dialplan sends them to `queue` now.

        patience: seconds before they hang up while waiting (None: never).
        answer: [{"agent": iface, "after": s} | {"agent": iface, "reject": true, "after": s}]
          overrides phone behaviour for this call: listed agents answer (or
          reject) after `after` s of ringing, unlisted agents let it ring out.
        talk: seconds from connect to hangup; hold: [[at, duration], ...] from
        connect; hangup: who ends it; transfer: see callcenter.simulator.traffic.
        timeout: Queue() timeout (defaults to the queue's maxwait).
        priority: QUEUE_PRIO (the routing hook's); key: (at, digit) pressed while
        waiting; survey: seconds the caller spends in the survey when the agent
        hangs up first; recording: the hook's CC_RECORDING (else [cc-queue]'s name).
        """
        if queue not in self.queues:
            raise KeyError(queue)
        ch = self.new_channel(trunk, caller_number, "", context=INBOUND, exten=dnis, state=4, dnid=dnis)
        plan = {
            "patience": patience, "answer": answer, "talk": talk, "hold": hold or [], "hangup": hangup,
            "transfer": transfer, "timeout": timeout, "after_timeout": after_timeout, "key": key, "survey": survey,
        }  # fmt: skip
        call = Call(caller=ch, queue=queue, plan=plan, priority=priority)
        self.calls[ch.uniqueid] = call
        ch.on_gone = self._caller_gone
        # [from-trunk]
        self._varset(ch, "__CC_DNIS", dnis)
        self._varset(ch, "__CC_DIRECTION", "inbound")
        self._newexten(ch, "Answer", "", priority=5)
        self._newstate(ch, 6)
        # [cc-route]: the hook's decision on the feed, against the caller's Uniqueid.
        ch.context, ch.exten, ch.priority, ch.app = ROUTE, "s", 1, ""
        self._varset(ch, "__CC_QUEUE", queue)
        self._user_event(ch, "CcRoute", [("Uniqueid", ch.uniqueid), ("Queue", queue), ("Priority", str(priority)),
                                         ("Action", "queue"), ("Reason", ""), ("Fallback", "0")])  # fmt: skip
        self._varset(ch, "QUEUE_PRIO", str(priority))
        if caller_name:
            ch.cid_name = caller_name
            self._chan_event("NewCallerid", ch, [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")])
        self._enter_queue(call, queue, recording)
        return call

    def _enter_queue(self, call: Call, queue: str, recording: str = "") -> None:
        """[cc-queue],<queue>: record (once), then Queue()."""
        ch = call.caller
        ch.context, ch.exten, ch.priority, ch.app = QUEUE, queue, 1, ""
        self._varset(ch, "__CC_QUEUE", queue)
        if self.record and self.queues[queue].record and ch.name not in self.recordings:
            file = recording or self.default_recording(queue, ch)
            self._varset(ch, "CC_RECORDING", file)
            self._record(ch, file)
            ch.context, ch.exten, ch.priority = QUEUE, queue, 4
        timeout = call.plan["timeout"] if call.plan["timeout"] is not None else self.queues[queue].maxwait
        self._newexten(ch, "Queue", f"{queue},tc,,,{int(timeout) if timeout else ''}", priority=5)
        self._join(call, queue)

    def _caller_gone(self, ch: Channel) -> None:
        call = self.calls.pop(ch.uniqueid, None)
        if call is None:
            return
        call.state = "done"
        for t in call.timers:
            t.cancel()
        call.timers.clear()
        q = self.queues.get(call.queue)
        if q is not None and call in q.entries:
            q.entries.remove(call)

    # -- after Queue() -----------------------------------------------------------------------

    def _after_queue(self, call: Call, status: str) -> None:
        """Queue() returned unanswered: UserEvent QueueResult, then a callback
        is offered ([cc-callback]); the caller hangs up after `after_timeout`."""
        ch = call.caller
        if not ch.alive:
            return
        if call.plan.get("predictive"):
            self._predictive_after_queue(call, status)  # type: ignore[attr-defined]
            return
        call.state = "ivr"
        self._user_event(ch, "QueueResult", [("Uniqueid", ch.uniqueid), ("Queue", call.queue), ("Status", status)])
        self._varset(ch, "CC_QUEUE_OUTCOME", status)
        self._callback_offer(call)

    def _callback_offer(self, call: Call) -> None:
        """[cc-callback]: CC_CB_NUMBER, then /hooks/callback through CURL (the
        channel waits for its answer), UserEvent CcCallback with the task it
        made, Playback, Hangup.  `callback_hook` stands in for callcenter's
        hook ({"uniqueid", "caller", "number", "queue", "reason"} -> {"task",
        "status"} or None); without one, the simulator answers for it with
        task numbers of its own, as [cc-route] does for /hooks/route.  No
        task (the hook failed, or nothing to call): cc-callback-failed."""
        ch = call.caller
        self._newexten(ch, "Set", f"CC_CB_NUMBER={ch.cid_num}", context=CALLBACK, exten="s", priority=1)
        self._varset(ch, "CC_CB_NUMBER", ch.cid_num)
        task, status = "", ""
        if ch.cid_num.lstrip("+").isdigit():  # a withheld number would be asked for (Read); simulated callers leave it
            asked = {"uniqueid": ch.uniqueid, "caller": ch.cid_num, "number": ch.cid_num, "queue": call.queue,
                     "reason": "after_hours" if ch.vars.get("CC_AFTER_HOURS") == "1" else "requested"}  # fmt: skip
            if self.callback_hook is not None:
                answer = self.callback_hook(asked) or {}
            else:
                self.callback_tasks += 1
                answer = {"task": str(self.callback_tasks), "status": "created"}
            task, status = str(answer.get("task") or ""), str(answer.get("status") or "")
            self._newexten(ch, "Set", "HASH(cb)=${CURL(${CC_HOOK}/callback?...)}", priority=6)
        if task:
            self._newexten(ch, "UserEvent", "CcCallback", priority=8)
            self._user_event(ch, "CcCallback", [("Uniqueid", ch.uniqueid), ("Queue", call.queue), ("Task", task), ("Status", status)])
            self._newexten(ch, "Playback", "custom/cc-callback-ok", priority=9)
        else:
            self._newexten(ch, "Playback", "custom/cc-callback-failed", priority=11)
        call.timers.append(self.after(call.plan["after_timeout"], self._hangs_up, ch))

    def _exited_with_key(self, call: Call, key: str) -> None:
        """[cc-queue-keys],<key>: 9 asks for a callback."""
        call.state = "ivr"
        self._newexten(call.caller, "Goto", f"{CALLBACK},s,1", context=QUEUE_KEYS, exten=key)
        self._callback_offer(call)

    def _caller_after_queue(self, ch: Channel) -> None:
        """The member hung up (Queue option c): QUEUESTATUS=CONTINUE, QueueResult,
        and MEMBERINTERFACE sends the caller to the survey."""
        ch.before_hangup = None
        call = self.calls.get(ch.uniqueid)
        self._varset(ch, "QUEUESTATUS", "CONTINUE")
        if call is not None and call.plan.get("predictive"):
            self._predictive_after_agent(call, ch)  # type: ignore[attr-defined]
            return
        queue = call.queue if call is not None else ch.exten
        self._user_event(ch, "QueueResult", [("Uniqueid", ch.uniqueid), ("Queue", queue), ("Status", "CONTINUE")])
        if call is not None:
            call.state = "ivr"
        self._newexten(ch, "Read", "CC_SCORE,custom/cc-survey,1,,1,5", context=SURVEY, exten="s")
        survey = call.plan.get("survey", 6.0) if call is not None else 6.0
        t = self.after(float(survey), self._hangs_up, ch)
        if call is not None:
            call.timers.append(t)

    def _hangs_up(self, ch: Channel) -> None:
        """The dialplan's Hangup() (or the caller putting the phone down after a prompt)."""
        if ch.alive and ch.bridge is None:
            self._gone(ch, 16, soft=True)

    # -- a Local channel's ;2 half runs [agents] -----------------------------------------------

    def _local_runs_dial(self, pair: LocalPair) -> Channel:
        """;2 at <exten>@<context>: Dial(PJSIP/<exten>,30) rings the phone behind it."""
        two, one = pair.two, pair.one
        target = dial_target(pair.context, pair.exten)
        self._newexten(two, "Dial", f"{target},30", priority=2)
        phone = self._ring_device(two, target)
        self._newstate(one, 5)
        self._dial("DialState", two, phone, [("DialStatus", "RINGING")])
        return phone

    def _ring_device(self, a: Channel, target: str) -> Channel:
        """Dial() from `a`: the outgoing channel, DialBegin, and it rings
        (a phone's device goes RINGING; the carrier's channel is no device)."""
        carrier = target.endswith("@carrier")
        number = target.split("/", 1)[1].split("@", 1)[0]
        if carrier:
            b = self.new_channel(TRUNK, number, "", linkedid=a.linkedid, conn_num=a.cid_num, conn_name=a.cid_name,
                                 context="from-trunk", exten="s")  # fmt: skip
        else:
            b = self.new_channel(target, number, "", linkedid=a.linkedid, conn_num=a.cid_num, conn_name=a.cid_name,
                                 device=target, context="agents", exten="s")  # fmt: skip
            self._device(target, RINGING)
        a.dialing = b
        self._dial("DialBegin", a, b, [("DialString", target.split("/", 1)[1])])
        self._newstate(b, 5)
        return b
