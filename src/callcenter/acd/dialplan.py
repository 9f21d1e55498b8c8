"""Facts our dialplan adds to a call: the recording MixMonitor writes, the
routing hook's decision, the queue priority, CC_* variables, a callback
request.  Our dialplan sets most of them before Queue() (MixMonitor runs
first in [cc-queue]), so a fact for a caller not yet in a queue waits on the
caller's channel (channels.Channel.variables / recording_at) and is taken
when the join comes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from callcenter.acd import events as ev
from callcenter.acd.channels import Channel
from callcenter.acd.common import Output
from callcenter.acd.queues import PENDING_MAX, QueueCall

if TYPE_CHECKING:
    from callcenter.acd.queues import Queues


class DialplanFacts:
    def __init__(self, qa: Queues) -> None:
        self.qa = qa
        # Decisions about callers not (yet) in a queue, by their Uniqueid.
        self.routes: dict[str, ev.RouteDecided] = {}
        self.callbacks: dict[str, float] = {}

    def forget(self, uniqueid: str) -> None:
        """The channel hung up: what waited for it will never be needed."""
        self.routes.pop(uniqueid, None)
        self.callbacks.pop(uniqueid, None)

    def recording(self, e: ev.RecordingStarted | ev.RecordingStopped, out: Output) -> None:
        call = self.qa.call(e.uniqueid, e.linkedid)
        if call is None:
            if isinstance(e, ev.RecordingStarted):
                ch = self.qa.tracker.graph.ensure(e.uniqueid, e.channel, e.linkedid, e.ts)
                if ch.recording_at is None:
                    ch.recording_at = e.ts  # before Queue(): kept for the join
            return
        if isinstance(e, ev.RecordingStarted):
            self._recording_started(call, e.ts, call.recording_file)
        else:
            call.note(e.ts, "recording_end")

    @staticmethod
    def _recording_started(call: QueueCall, ts: float, file: str | None) -> None:
        """One "recording" entry per MixMonitor run, at the instant it starts:
        the QA player's audio t=0.  MixMonitor sets MIXMONITOR_FILENAME and
        emits MixMonitorStart together (either may be missing: the event is
        Asterisk 14+, the VarSet needs the channel's VarSet events), so the
        second of the pair adds the file to the first's entry."""
        for item in reversed(call.timeline):
            if item["kind"] == "recording_end":
                break
            if item["kind"] == "recording":
                if file and not item.get("file"):
                    item["file"] = file
                return
        if file:
            call.note(ts, "recording", file=file)
        else:
            call.note(ts, "recording")

    def varset(self, e: ev.VarSet, out: Output) -> None:
        name = e.variable.upper()
        if name == "QUEUESTATUS":
            self.qa.queue_result(e.uniqueid, e.value, e.ts, out)
            return
        call = self.qa.own(e.uniqueid) if name == "QUEUE_PRIO" else self.qa.call(e.uniqueid, e.linkedid)
        if call is None or call.outcome not in (None, "answered"):
            # Not in a queue (yet): the value waits on the channel for the join.
            ch = self.qa.tracker.graph.ensure(e.uniqueid, e.channel, e.linkedid, e.ts)
            ch.variables[name] = e.value
            if name == "MIXMONITOR_FILENAME" and ch.recording_at is None:
                ch.recording_at = e.ts
            return
        if name == "QUEUE_PRIO":
            try:
                call.priority = int(e.value)
            except ValueError:
                self.qa.skip("bad_value")
                return
            out.calls.add(call.call_id)
        elif name == "MIXMONITOR_FILENAME":
            call.recording_file = e.value
            self._recording_started(call, e.ts, e.value)
        elif name == "CC_RECORDING":
            if not call.recording_file:
                call.recording_file = e.value
        elif name.startswith("CC_"):
            call.note(e.ts, "var", name=e.variable, value=e.value)

    def route(self, e: ev.RouteDecided, out: Output) -> None:
        call = self.qa.own(e.uniqueid)
        if call is not None and call.outcome is None:
            call.route = route_dict(e)
            call.priority = call.priority or e.priority
            out.calls.add(call.call_id)
        else:
            _bounded_put(self.routes, e.uniqueid, e)

    def callback(self, uniqueid: str, number: str, ts: float, out: Output) -> None:
        call = self.qa.own(uniqueid)
        if call is None:
            _bounded_put(self.callbacks, uniqueid, ts)
            return
        if call.callback:
            return
        call.callback = True
        call.note(ts, "callback_requested", number=number)
        if call.pending:
            self.qa.resolve(call, "callback_requested", ts, out)


    def adopt_channel_facts(self, call: QueueCall, ch: Channel) -> None:
        """What the dialplan did to the channel before Queue(): the routing
        decision, a callback request, recording, priority, CC_* variables."""
        route = self.routes.pop(ch.uniqueid, None)
        if route is not None:
            call.route = route_dict(route)
            call.priority = route.priority
        if self.callbacks.pop(ch.uniqueid, None) is not None:
            call.callback = True
        prio = ch.variables.get("QUEUE_PRIO")
        if prio is not None:
            try:
                call.priority = int(prio)
            except ValueError:
                self.qa.skip("bad_value")
        file = ch.variables.get("MIXMONITOR_FILENAME") or ch.variables.get("CC_RECORDING")
        if ch.recording_at is not None or file:
            call.recording_file = file or None
            entry: dict[str, Any] = {"t": ch.recording_at if ch.recording_at is not None else call.entered_at, "kind": "recording"}
            if file:
                entry["file"] = file
            call.timeline.append(entry)
        for name, value in ch.variables.items():
            if name.startswith("CC_"):
                call.note(call.entered_at, "var", name=name, value=value)
        if ch.variables.get("CC_DIRECTION") == "outbound":  # [cc-predictive]: the customer was dialled first
            call.direction = "outbound"
            call.callee_number = ch.variables.get("CC_NUMBER", "")


def route_dict(e: ev.RouteDecided) -> dict[str, Any]:
    return {
        "queue": e.queue,
        "priority": e.priority,
        "reason": e.reason,
        "customer_id": e.customer_id,
        "customer_name": e.customer_name,
        "choices": list(e.choices),
        "details": dict(e.details),
    }


def _bounded_put(d: dict[str, Any], key: str, value: Any) -> None:
    """Facts about a channel that may never join a queue: keep the newest."""
    d[key] = value
    if len(d) > PENDING_MAX:
        del d[next(iter(d))]
