"""Stand-ins for the ACD service and the actions gateway, until the real
ones land: the same method names and view shapes (acd/core.py contract),
with state you drive from a test.

`FakeAcd` is what `app.state.acd` will be (`.core`, `.subscribe`); the
`FakeCore` behind it keeps agents, calls and per-queue counters and answers
queue_view / agent_view / call_view / wallboard.  `FakeGateway` records
actions and, like Asterisk, feeds their effect back (QueueAdd makes the
member appear, QueuePause pauses it).  At integration the tests swap these
for the simulator + real core + real gateway; the assertions stay.
"""

from __future__ import annotations

import time
from typing import Any

from callcenter.acd.core import Output, ScreenPop

STATES = ("available", "ringing", "on_call", "on_hold", "wrap_up", "paused", "logged_out")


class FakeCore:
    def __init__(self, queues: dict[str, dict[str, Any]] | None = None, auto_on_call: bool = False) -> None:
        self.queues = queues or {"repairs": {"sl_threshold_s": 20, "wrap_up_s": 60}}
        self.agents: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, dict[str, Any]] = {}
        self.counts = {q: {"offered": 0, "answered": 0, "answered_in_sl": 0, "abandoned": 0, "talk": 0.0} for q in self.queues}
        self.auto_on_call = auto_on_call  # every unknown agent is on a call (for the RBAC matrix)
        self.now = time.time()
        self.view_calls = 0

    # --- state changes (return what changed, like Core.apply) ---------------

    def agent(self, iface: str, name: str = "") -> dict[str, Any]:
        a = self.agents.get(iface)
        if a is None:
            a = self.agents[iface] = {
                "interface": iface, "name": name or iface, "state": "logged_out", "reason": "",
                "since": self.now, "queues": [], "call": None, "wrap_up": None,
                "today": {"handled": 0, "talk_s": 0.0, "hold_s": 0.0, "wrap_up_s": 0.0, "aht_s": None,
                          "occupancy": None, "paused_s": {}},
            }
            if self.auto_on_call:
                a["state"] = "on_call"
                a["call"] = {"call_id": "c-" + iface, "queue": "repairs", "caller_number": "13800000000",
                             "caller_name": "", "answered_at": self.now, "wait_s": 3.0, "channel": iface + "-00000001"}
        return a

    def _set(self, a: dict[str, Any], state: str, reason: str = "") -> None:
        a["state"], a["reason"], a["since"] = state, reason, self.now

    def member_added(self, iface: str, queue: str, name: str = "", penalty: int = 0) -> Output:
        a = self.agent(iface, name)
        if name:
            a["name"] = name
        if not any(q["queue"] == queue for q in a["queues"]):
            a["queues"].append({"queue": queue, "penalty": penalty, "paused": False})
        if a["state"] == "logged_out":
            self._set(a, "available")
        return Output(ts=self.now, agents={iface}, queues={queue})

    def member_removed(self, iface: str, queue: str) -> Output:
        a = self.agent(iface)
        a["queues"] = [q for q in a["queues"] if q["queue"] != queue]
        if not a["queues"]:
            self._set(a, "logged_out")
        return Output(ts=self.now, agents={iface}, queues={queue})

    def paused(self, iface: str, paused: bool, reason: str = "") -> Output:
        a = self.agent(iface)
        if paused:
            self._set(a, "paused", reason)
        elif a["state"] in ("paused", "wrap_up"):
            self._set(a, "available")
            a["wrap_up"] = None
        return Output(ts=self.now, agents={iface}, queues={q["queue"] for q in a["queues"]})

    def caller_joined(self, call_id: str, queue: str, number: str, name: str = "", priority: int = 0) -> Output:
        self.calls[call_id] = {
            "call_id": call_id, "uniqueid": call_id, "queue": queue, "caller_number": number, "caller_name": name,
            "entered_at": self.now, "answered_at": None, "agent": None, "state": "waiting", "wait_s": 0.0,
            "priority": priority, "route": None, "recording_file": None, "channel": f"PJSIP/trunk-{call_id}",
        }
        self.counts[queue]["offered"] += 1
        return Output(ts=self.now, queues={queue}, calls={call_id})

    def ring(self, iface: str, call_id: str) -> Output:
        a, c = self.agent(iface), self.calls[call_id]
        self._set(a, "ringing")
        c["state"] = "ringing"
        c["wait_s"] = self.now - c["entered_at"]
        return Output(ts=self.now, agents={iface}, queues={c["queue"]}, calls={call_id},
                      pops=[ScreenPop(iface, call_id, "ringing")])

    def answer(self, iface: str, call_id: str) -> Output:
        a, c = self.agent(iface), self.calls[call_id]
        c.update(state="answered", answered_at=self.now, agent=iface, wait_s=self.now - c["entered_at"])
        n = self.counts[c["queue"]]
        n["answered"] += 1
        if c["wait_s"] <= self.queues[c["queue"]]["sl_threshold_s"]:
            n["answered_in_sl"] += 1
        self._set(a, "on_call")
        a["call"] = {"call_id": call_id, "queue": c["queue"], "caller_number": c["caller_number"],
                     "caller_name": c["caller_name"], "answered_at": self.now, "wait_s": c["wait_s"],
                     "channel": f"{iface}-0000{len(self.calls):04d}"}
        return Output(ts=self.now, agents={iface}, queues={c["queue"]}, calls={call_id},
                      pops=[ScreenPop(iface, call_id, "answered")])

    def abandon(self, call_id: str) -> Output:
        c = self.calls.pop(call_id)
        self.counts[c["queue"]]["abandoned"] += 1
        return Output(ts=self.now, queues={c["queue"]}, calls={call_id})

    def hangup(self, iface: str, call_id: str) -> Output:
        a, c = self.agent(iface), self.calls.pop(call_id)
        talk = self.now - (c["answered_at"] or self.now)
        self.counts[c["queue"]]["talk"] += talk
        a["today"]["handled"] += 1
        a["today"]["talk_s"] += talk
        a["call"] = None
        self._set(a, "wrap_up")
        a["wrap_up"] = {"call_id": call_id, "queue": c["queue"],
                        "deadline": self.now + self.queues[c["queue"]]["wrap_up_s"], "dispositions_required": True}
        return Output(ts=self.now, agents={iface}, queues={c["queue"]}, calls={call_id},
                      pops=[ScreenPop(iface, call_id, "cleared")])

    def disposition(self, iface: str) -> Output:
        a = self.agent(iface)
        a["wrap_up"] = None
        self._set(a, "available")
        return Output(ts=self.now, agents={iface}, queues={q["queue"] for q in a["queues"]})

    # --- views (the contract) --------------------------------------------------

    def _kpi(self, queue: str) -> dict[str, Any]:
        n = self.counts[queue]
        done = n["answered"] + n["abandoned"]
        return {
            "offered": n["offered"], "answered": n["answered"], "abandoned": n["abandoned"], "short_abandoned": 0,
            "timeouts": 0, "service_level": n["answered_in_sl"] / done if done else None,
            "abandon_rate": n["abandoned"] / done if done else None, "asa_s": 4.0 if n["answered"] else None,
            "aht_s": n["talk"] / n["answered"] if n["answered"] else None, "avg_talk_s": None, "avg_hold_s": None,
            "avg_wrap_up_s": None, "longest_wait_s": None,
        }

    def queue_view(self, name: str) -> dict[str, Any]:
        self.view_calls += 1
        waiting = [c for c in self.calls.values() if c["queue"] == name and c["state"] in ("waiting", "ringing")]
        by_state = {s: 0 for s in STATES}
        for a in self.agents.values():
            if any(q["queue"] == name for q in a["queues"]):
                by_state[a["state"]] += 1
        k = self._kpi(name)
        return {
            "queue": name, "waiting": len(waiting),
            "longest_wait_s": max((self.now - c["entered_at"] for c in waiting), default=0.0),
            "callers": [{"call_id": c["call_id"], "caller_number": c["caller_number"], "caller_name": c["caller_name"],
                         "position": i + 1, "wait_s": self.now - c["entered_at"], "priority": c["priority"]}
                        for i, c in enumerate(waiting)],
            "agents": by_state, "kpi": {"15m": k, "60m": k, "interval": k, "today": k},
            "sl_threshold_s": self.queues[name]["sl_threshold_s"], "short_abandon_s": 5, "abandon_mode": "against",
            "sl_formula": "answered within 20 s / (answered + abandoned after 5 s)",
        }

    def agent_view(self, interface: str) -> dict[str, Any]:
        self.view_calls += 1
        return dict(self.agent(interface))

    def wrap_up_of(self, interface: str) -> dict[str, Any] | None:
        w = self.agents.get(interface, {}).get("wrap_up")
        return None if w is None else {"call_id": w["call_id"], "queue": w["queue"], "deadline": w["deadline"]}

    def call_view(self, call_id: str) -> dict[str, Any] | None:
        c = self.calls.get(call_id)
        return dict(c) if c else None

    def wallboard(self) -> dict[str, Any]:
        return {"ts": self.now, "queues": {q: self.queue_view(q) for q in self.queues},
                "agents": {i: self.agent_view(i) for i in self.agents}, "totals": {}}


class FakeAcd:
    """`app.state.acd`: the core plus `subscribe(callback(output, core))`."""

    def __init__(self, core: FakeCore | None = None) -> None:
        self.core = core or FakeCore()
        self.subscribers: list[Any] = []

    def subscribe(self, callback: Any) -> Any:
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    def emit(self, output: Output) -> Output:
        for cb in self.subscribers:
            cb(output, self.core)
        return output

    def do(self, method: str, *args: Any, **kw: Any) -> Output:
        """Change the fake core and tell the subscribers, as apply() would."""
        self.core.now = time.time()
        return self.emit(getattr(self.core, method)(*args, **kw))


class NotConnected(Exception):
    pass


class ActionError(Exception):
    pass


class ActionTimeout(Exception):
    pass


class FakeGateway:
    """Records actions; QueueAdd/Remove/Pause take effect in the fake core,
    as Asterisk's member events would.  `fail_with` makes the next action fail."""

    def __init__(self, acd: FakeAcd | None = None) -> None:
        self.acd = acd
        self.actions: list[tuple[Any, ...]] = []
        self.fail_with: Exception | None = None

    async def _do(self, *action: Any) -> dict[str, str]:
        self.actions.append(action)
        if self.fail_with is not None:
            exc, self.fail_with = self.fail_with, None
            raise exc
        return {"Response": "Success"}

    async def queue_add(self, queue: str, interface: str, member_name: str = "", penalty: int = 0, paused: bool = False):
        r = await self._do("queue_add", queue, interface, member_name, penalty)
        if self.acd:
            self.acd.do("member_added", interface, queue, member_name, penalty)
        return r

    async def queue_remove(self, queue: str, interface: str):
        r = await self._do("queue_remove", queue, interface)
        if self.acd:
            self.acd.do("member_removed", interface, queue)
        return r

    async def queue_pause(self, interface: str, paused: bool, reason: str = "", queue: str | None = None):
        r = await self._do("queue_pause", interface, paused, reason)
        if self.acd:
            self.acd.do("paused", interface, paused, reason)
        return r

    async def click_to_call(self, interface: str, number: str, context: str, **variables: Any):
        if variables:
            return await self._do("click_to_call", interface, number, context, variables)
        return await self._do("click_to_call", interface, number, context)

    async def spy(self, supervisor_interface: str, target_interface: str, mode: str):
        return await self._do("spy", supervisor_interface, target_interface, mode)

    async def blind_transfer(self, channel: str, exten: str, context: str):
        return await self._do("blind_transfer", channel, exten, context)

    async def atxfer(self, channel: str, exten: str, context: str):
        return await self._do("atxfer", channel, exten, context)

    async def hangup(self, channel: str):
        return await self._do("hangup", channel)

    async def hold(self, channel: str):
        return await self._do("hold", channel)

    async def unhold(self, channel: str):
        return await self._do("unhold", channel)


def install(app: Any, core: FakeCore | None = None) -> tuple[FakeAcd, FakeGateway]:
    """Put the fakes where the real services will be, and wire the hub."""
    acd = FakeAcd(core)
    gw = FakeGateway(acd)
    app.state.acd = acd
    app.state.gateway = gw
    app.state.hub.attach(acd)
    return acd, gw
