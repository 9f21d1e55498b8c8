"""Reading the real Asterisk captures (tests/fixtures/asterisk/<version>/,
recorded with the shipped config by tests/tools/ami_capture.py) for the
simulator's order tests: parse the AMI bytes, name channels by their role,
and reduce each role to its own sequence of events.

The captures stand in for PJSIP with Local channels: an agent phone is
Local/<ext>@sim-phone;1 (its ;2 is the handset), a caller's trunk channel
is Local/<number>@sim-caller;1.  Events that only exist because of those
stand-ins (their own LocalBridge, their handsets) carry no role and drop out."""

from __future__ import annotations

import os
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "asterisk"
DIRS = [Path(os.environ["CALLCENTER_ASTERISK_CAPTURES"])] if os.environ.get("CALLCENTER_ASTERISK_CAPTURES") else [ROOT]
VERSIONS = ("20.20.1", "22.10.1")

# What each role's sequence keeps: the call's structure and app_queue's own events.
# AgentComplete is apart (`completes`): app_queue sends it from a stasis
# thread, before or after the hang-ups depending on the run.  Music on hold
# is apart too: the stand-in callers (Local channels) play it differently.
KEPT = {
    "DialBegin", "DialEnd", "BridgeEnter", "BridgeLeave", "Hangup", "HangupRequest", "QueueCallerJoin", "QueueCallerLeave",
    "QueueCallerAbandon", "AgentCalled", "AgentConnect", "AgentRingNoAnswer", "AgentDump", "MixMonitorStart",
    "LocalOptimizationBegin", "LocalOptimizationEnd", "BlindTransfer", "AttendedTransfer",
}  # fmt: skip
VARIABLES = {"QUEUESTATUS", "MIXMONITOR_FILENAME", "QUEUE_PRIO", "MEMBERINTERFACE"}
DEST = {"DialBegin", "DialEnd", "AgentCalled", "AgentConnect", "AgentRingNoAnswer", "AgentDump"}


def capture(version: str, scenario: str) -> list[dict[str, str]] | None:
    for d in DIRS:
        path = d / version / f"{scenario}.ami" if (d / version).is_dir() else d / f"{scenario}.ami"
        if path.is_file():
            return parse(path.read_bytes())
    return None


def parse(data: bytes) -> list[dict[str, str]]:
    out = []
    for block in data.decode("utf-8", "replace").split("\r\n\r\n"):
        frame: dict[str, str] = {}
        for line in block.split("\r\n"):
            key, sep, value = line.partition(": ")
            if sep and key not in frame:
                frame[key] = value
        if "Event" in frame:
            out.append(frame)
    return out


def roles(events: list[dict[str, str]], patterns: dict[str, str]) -> dict[str, str]:
    """Channel -> role: each pattern (a regex on the channel name) names, in
    creation order, the channels it matches ("phone" for the first, "phone#2"...)."""
    out: dict[str, str] = {}
    count: dict[str, int] = defaultdict(int)
    for e in events:
        if e["Event"] != "Newchannel":
            continue
        for pattern, role in patterns.items():
            if re.fullmatch(pattern, e["Channel"]):
                count[role] += 1
                out[e["Channel"]] = role if count[role] == 1 else f"{role}#{count[role]}"
                break
    return out


def sequences(events: list[dict[str, str]], named: dict[str, str]) -> dict[str, list[str]]:
    by_uid = {e["Uniqueid"]: named[e["Channel"]] for e in events if e.get("Channel") in named and e.get("Uniqueid")}
    out: dict[str, list[str]] = defaultdict(list)
    for e in events:
        ev = e["Event"]
        if ev == "VarSet" and e.get("Variable", "").lstrip("_") in VARIABLES:
            token = f"VarSet:{e['Variable'].lstrip('_')}" + (f"={e['Value']}" if e["Variable"] == "QUEUESTATUS" else "")
        elif ev == "UserEvent" and e.get("UserEvent") == "CcRoute":
            token = "CcRoute"
        elif ev in KEPT:
            token = ev
        else:
            continue
        if ev in DEST:
            src, dst = named.get(e.get("Channel", "")), named.get(e.get("DestChannel", ""))
            status = f":{e['DialStatus']}" if ev == "DialEnd" else f":{e['Reason']}" if ev == "AgentComplete" else ""
            if src and dst:
                out[src].append(f"{token}>{dst}{status}")
                out[dst].append(f"{token}<{src}{status}")
            continue
        if ev.startswith("LocalOptimization"):
            role = named.get(e.get("LocalOneChannel", ""))
            if role:
                src = named.get(e.get("SourceChannel", ""), "")
                out[role].append(token + (f" source:{src} dest:{by_uid.get(e.get('DestUniqueId', ''), '?')}" if src else ""))
            continue
        if ev in ("BlindTransfer", "AttendedTransfer"):
            for key in ("TransfererChannel", "OrigTransfererChannel", "TransfereeChannel"):
                if (role := named.get(e.get(key, ""))) is not None:
                    out[role].append(f"{token}:{key.replace('Channel', '')}" + (f":{e['DestType']}" if "DestType" in e else ""))
            continue
        role = named.get(e.get("Channel", ""))
        if role is None:
            continue
        if ev == "BridgeEnter" and e.get("SwapUniqueid"):
            token += f" swap:{by_uid.get(e['SwapUniqueid'], '?')}"
        out[role].append(token)
    # After a Local optimisation the two halves' threads race to hang up:
    # which half gets a HangupRequest varies from run to run (the captures
    # show both), so those requests are not compared.
    optimised = {r[:-2] for r, seq in out.items() if any(s.startswith("LocalOptimizationEnd") for s in seq)}
    for role in out:
        if role[-2:] in (";1", ";2") and role[:-2] in optimised:
            out[role] = [s for s in out[role] if s != "HangupRequest"]
    return dict(out)


def completes(events: list[dict[str, str]], named: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """(caller role, member role, Reason, Interface) of every AgentComplete."""
    return [(named.get(e.get("Channel", ""), "?"), named.get(e.get("DestChannel", ""), "?"), e["Reason"], e["Interface"])
            for e in events if e["Event"] == "AgentComplete"]  # fmt: skip
