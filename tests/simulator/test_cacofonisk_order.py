"""The simulator against real Asterisk captures (cacofonisk's, MIT, in
tests/fixtures/cacofonisk): the same call run through the simulator gives
every channel the same sequence of dial, bridge and hang-up events.

Across channels Asterisk's threads interleave freely (a capture is one
possible order), so each channel's own sequence is what must agree; the
Local optimisation's moves are compared with the channel that was swapped
out.  Channels are named by their role in the call (caller, the Local
halves, the phone) in both."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from callcenter.simulator.clock import VirtualClock
from callcenter.simulator.pbx import PBX, Queue

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cacofonisk"
KEPT = {"DialBegin", "DialEnd", "BridgeEnter", "BridgeLeave", "Hangup", "LocalBridge", "QueueCallerAbandon"}


def load(name: str) -> list[dict[str, str]]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def per_role(events: list[dict[str, str]], roles: dict[str, str]) -> dict[str, list[str]]:
    """Each role's own sequence: DialBegin>dest / DialBegin<src, DialEnd with
    its status, BridgeEnter/Leave with the bridge's label (B1, B2... by first
    entry) and the swapped-out role, LocalBridge, Hangup."""
    by_uid = {e["Uniqueid"]: roles[e["Channel"]] for e in events if e.get("Channel") in roles and e.get("Uniqueid")}
    bridges: dict[str, str] = {}
    out: dict[str, list[str]] = defaultdict(list)
    for e in events:
        ev = e["Event"]
        if ev not in KEPT:
            continue
        if ev in ("DialBegin", "DialEnd"):
            src, dst = roles.get(e["Channel"]), roles.get(e["DestChannel"])
            status = f":{e['DialStatus']}" if ev == "DialEnd" else ""
            if src:
                out[src].append(f"{ev}>{dst}{status}")
            if dst:
                out[dst].append(f"{ev}<{src}{status}")
        elif ev in ("BridgeEnter", "BridgeLeave"):
            role = roles.get(e["Channel"])
            if role is None:
                continue
            label = bridges.setdefault(e["BridgeUniqueid"], f"B{len(bridges) + 1}")
            swap = f" swap:{by_uid.get(e['SwapUniqueid'], '?')}" if e.get("SwapUniqueid") else ""
            out[role].append(f"{ev}@{label}{swap}")
        elif ev == "LocalBridge":
            for prefix in ("LocalOne", "LocalTwo"):
                if (role := roles.get(e[f"{prefix}Channel"])) is not None:
                    out[role].append("LocalBridge")
        elif (role := roles.get(e.get("Channel", ""))) is not None:
            out[role].append(ev)
    return dict(out)


def run(pbx: PBX, steps) -> list[dict[str, str]]:  # noqa: ANN001
    seen: list[dict[str, str]] = []
    pbx.sinks.append(lambda fields: seen.append(dict(fields)))
    steps(pbx)
    pbx.run_until_idle()
    return seen


def roles_by_prefix(events: list[dict[str, str]], prefixes: dict[str, str]) -> dict[str, str]:
    """Channel name -> role, by the first channel whose name starts with each prefix (in creation order)."""
    names = [e["Channel"] for e in events if e["Event"] == "Newchannel"]
    out = {}
    for prefix, role in prefixes.items():
        name = next(n for n in names if n.startswith(prefix) and n not in out)
        out[name] = role
    return out


def test_queue_call_to_local_members_one_busy_one_answers():
    """queue_simple: ringall over two Local members; one phone is busy, the
    other answers; its phone moves into the queue's bridge (swap ;1)."""
    cap = load("queue/queue_simple.json")
    cap_roles = {
        "SIP/voipgrid-siproute-docker-00000025": "caller",
        "Local/ID730152@osvpi_route_phoneaccount-00000015;1": "busy;1",
        "Local/ID730152@osvpi_route_phoneaccount-00000015;2": "busy;2",
        "SIP/150010003-00000027": "busy-phone",
        "Local/ID730151@osvpi_route_phoneaccount-00000016;1": "agent;1",
        "Local/ID730151@osvpi_route_phoneaccount-00000016;2": "agent;2",
        "SIP/150010002-00000026": "agent-phone",
    }

    def steps(pbx: PBX) -> None:
        pbx.add_member("q", "Local/8003@agents", "busy", state_interface="PJSIP/8003")
        pbx.add_member("q", "Local/8002@agents", "agent", state_interface="PJSIP/8002")
        pbx.advance(0)
        pbx.new_call("q", "0612345678", answer=[{"agent": "Local/8003@agents", "reject": True, "after": 0.5},
                                                 {"agent": "Local/8002@agents", "after": 3}], talk=20)  # fmt: skip

    sim = run(PBX([Queue("q", strategy="ringall")], clock=VirtualClock(), seed=3), steps)
    sim_roles = roles_by_prefix(sim, {"PJSIP/carrier": "caller", "Local/8003@agents-": "busy;1", "PJSIP/8003": "busy-phone",
                                      "Local/8002@agents-": "agent;1", "PJSIP/8002": "agent-phone"})  # fmt: skip
    for name in list(sim_roles):
        if name.endswith(";1"):
            sim_roles[name[:-1] + "2"] = sim_roles[name][:-1] + "2"
    want, got = per_role(cap, cap_roles), per_role(sim, sim_roles)
    assert got["agent-phone"] == want["agent-phone"] == [
        "DialBegin<agent;2", "DialEnd<agent;2:ANSWER", "BridgeEnter@B1", "BridgeLeave@B1", "BridgeEnter@B2 swap:agent;1",
        "BridgeLeave@B2", "Hangup"]  # fmt: skip
    for role in ("caller", "busy;1", "busy;2", "busy-phone", "agent;1", "agent;2"):
        assert got[role] == want[role], role


def test_caller_abandons_while_a_local_member_rings():
    """queue_a_cancel: the caller hangs up while the member's phone rings."""
    cap = load("queue/queue_a_cancel.json")
    cap_roles = {
        "SIP/voipgrid-siproute-docker-00000019": "caller",
        "Local/ID310171@osvpi_route_phoneaccount-0000000c;1": ";1",
        "Local/ID310171@osvpi_route_phoneaccount-0000000c;2": ";2",
        "SIP/150010002-0000001a": "phone",
    }

    def steps(pbx: PBX) -> None:
        pbx.add_member("q", "Local/8002@agents", "agent", state_interface="PJSIP/8002")
        pbx.advance(0)
        pbx.new_call("q", "0612345678", answer=[], patience=11)

    sim = run(PBX([Queue("q", timeout=30)], clock=VirtualClock(), seed=3), steps)
    sim_roles = roles_by_prefix(sim, {"PJSIP/carrier": "caller", "Local/8002@agents-": ";1", "PJSIP/8002": "phone"})
    sim_roles[next(n for n in sim_roles if n.endswith(";1"))[:-1] + "2"] = ";2"
    want, got = per_role(cap, cap_roles), per_role(sim, sim_roles)
    assert want["caller"] == ["DialBegin>;1", "DialEnd>;1:CANCEL", "DialEnd>;1:CANCEL", "QueueCallerAbandon", "Hangup"]
    for role in ("caller", ";1", ";2", "phone"):
        assert got[role] == want[role], role
    ab = next(e for e in sim if e["Event"] == "QueueCallerAbandon")
    assert ab["HoldTime"] == "11" == next(e for e in cap if e["Event"] == "QueueCallerAbandon")["HoldTime"]


def test_a_local_call_optimised_the_other_way():
    """ab_success_a_hangup: the caller's channel moves into the phone's
    bridge (SwapUniqueid = the ;2 half).  The shipped dialplan's Local call
    is the after-hours duty line (Local/<duty>@cc-duty)."""
    cap = load("simple/ab_success_a_hangup.json")
    cap_roles = {
        "SIP/150010001-00000004": "caller",
        "Local/ID730151@osvpi_route_phoneaccount-00000002;1": ";1",
        "Local/ID730151@osvpi_route_phoneaccount-00000002;2": ";2",
        "SIP/150010002-00000005": "phone",
    }
    sim = run(PBX(clock=VirtualClock(), seed=3), lambda pbx: pbx.after_hours_call("0612345678", "8020", answer_after=2,
                                                                                   talk=20, first_writer="one"))  # fmt: skip
    sim_roles = roles_by_prefix(sim, {"PJSIP/carrier": "caller", "Local/8020@cc-duty-": ";1", "PJSIP/8020": "phone"})
    sim_roles[next(n for n in sim_roles if n.endswith(";1"))[:-1] + "2"] = ";2"
    want, got = per_role(cap, cap_roles), per_role(sim, sim_roles)
    assert "BridgeEnter@B1 swap:;2" in want["caller"]
    for role in ("caller", ";1", ";2", "phone"):
        assert got[role] == want[role], role
    begin = next(e for e in sim if e["Event"] == "LocalOptimizationBegin")
    assert begin["SourceChannel"] == next(n for n, r in sim_roles.items() if r == "caller")
    assert begin["DestUniqueId"] == next(e["Uniqueid"] for e in sim if e["Event"] == "Newchannel" and e["Channel"].endswith(";2"))  # always ;2


def test_star_pickup_of_a_ringing_phone():
    """star_pickup: a colleague dials *8 while the phone behind a Local
    channel rings; the picker replaces it (CANCEL, then a new Dial to the
    picker answered at once) and the rung phone hangs up answered elsewhere."""
    cap = load("xfer_misc/star_pickup.json")
    cap_roles = {
        "SIP/150010001-00000022": "caller",
        "Local/ID730151@osvpi_route_phoneaccount-0000000e;1": ";1",
        "Local/ID730151@osvpi_route_phoneaccount-0000000e;2": ";2",
        "SIP/150010002-00000023": "phone",
        "SIP/150010003-00000024": "picker",
    }

    def steps(pbx: PBX) -> None:
        pbx.set_phone("PJSIP/8020", answer_after=30)
        pbx.after_hours_call("0612345678", "8020", talk=20)
        pbx.advance(6)
        assert pbx.pickup("PJSIP/8003")

    sim = run(PBX(clock=VirtualClock(), seed=3), steps)
    sim_roles = roles_by_prefix(sim, {"PJSIP/carrier": "caller", "Local/8020@cc-duty-": ";1", "PJSIP/8020": "phone", "PJSIP/8003": "picker"})
    sim_roles[next(n for n in sim_roles if n.endswith(";1"))[:-1] + "2"] = ";2"
    want, got = per_role(cap, cap_roles), per_role(sim, sim_roles)
    assert want["phone"] == ["DialBegin<;2", "DialEnd<;2:CANCEL", "Hangup"]
    for role in ("caller", ";1", ";2", "phone", "picker"):
        assert got[role] == want[role], role
    hangup = next(e for e in sim if e["Event"] == "Hangup" and sim_roles.get(e["Channel"]) == "phone")
    assert hangup["Cause"] == "26"
    pickup = next(e for e in sim if e["Event"] == "Pickup")
    assert sim_roles[pickup["Channel"]] == "picker" and sim_roles[pickup["TargetChannel"]] == "phone"
