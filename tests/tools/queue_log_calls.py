"""Per-call figures from an Asterisk queue_log file, as app_queue wrote them.

  python tests/tools/queue_log_calls.py FILE [FILE ...]        # a Markdown table
  python tests/tools/queue_log_calls.py --json FILE            # one JSON list

Fields per call (callid = the caller's Uniqueid): queue, caller, outcome
(answered / abandoned / timeout / left_empty / exit_key, the names
`callcenter replay --json` uses), agent (the
queue_log agent field: MemberName with log_membername_as_agent = yes), wait
(seconds, as app_queue counts them: whole seconds), talk (seconds, to the
end or to the transfer), transfer, and the ring attempts that did not connect.
Verbs and fields are those of app_queue.c's ast_queue_log() calls (22.x).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

END_VERBS = {
    "ABANDON": ("abandoned", 2),  # position|origposition|waittime
    "EXITWITHTIMEOUT": ("timeout", 2),
    "EXITEMPTY": ("left_empty", 2),
    "EXITWITHKEY": ("exit_key", 3),  # key|position|origposition|waittime
}


def calls(text: str) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) < 5:
            continue
        ts, callid, queue, agent, verb, *data = parts
        if callid in ("NONE", "MANAGER"):
            continue
        c = out.setdefault(callid, {"callid": callid, "queue": queue, "caller": "", "entered": int(ts), "outcome": "",
                                    "agent": "", "wait_s": None, "talk_s": None, "transfer": "", "rings": []})
        if verb == "ENTERQUEUE":
            c["caller"] = data[1] if len(data) > 1 else ""
        elif verb == "CONNECT":
            c.update(outcome="answered", agent=agent, wait_s=int(data[0]))
        elif verb in ("COMPLETEAGENT", "COMPLETECALLER"):
            c.update(talk_s=int(data[1]), ended_by="agent" if verb == "COMPLETEAGENT" else "caller")
        elif verb == "BLINDTRANSFER":  # exten|context|holdtime|calltime|origposition
            c.update(talk_s=int(data[3]), transfer=f"blind to {data[0]}@{data[1]}")
        elif verb == "ATTENDEDTRANSFER":  # BRIDGE|bridge|holdtime|calltime|origposition (APP/LINK/THREEWAY differ)
            c.update(talk_s=int(data[-2]), transfer=f"attended ({data[0]})")
        elif verb in END_VERBS:
            outcome, idx = END_VERBS[verb]
            c.update(outcome=outcome, wait_s=int(data[idx]))
        elif verb in ("RINGNOANSWER", "RINGCANCELED"):
            c["rings"].append(f"{agent} {verb} {int(data[0]) / 1000:g}s")
        elif verb == "JOINEMPTY":  # only with a queue_log that logs it; 22.10.1 wrote none here
            c.update(outcome="left_empty", wait_s=0)
    return sorted(out.values(), key=lambda c: (c["entered"], c["callid"]))


def table(name: str, rows: list[dict[str, Any]]) -> str:
    lines = []
    for c in rows:
        talk = "" if c["talk_s"] is None else str(c["talk_s"])
        extra = "; ".join(x for x in [c["transfer"], c.get("ended_by") and f"ended by {c['ended_by']}", ", ".join(c["rings"])] if x)
        lines.append(f"| {name} | {c['callid']} | {c['queue']} | {c['caller']} | {c['outcome']} | {c['agent']} | {c['wait_s']} | {talk} | {extra} |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    as_json = "--json" in argv
    files = [a for a in argv if a != "--json"]
    if as_json:
        print(json.dumps({Path(f).stem: calls(Path(f).read_text("utf-8")) for f in files}, ensure_ascii=False, indent=1))
        return
    print("| scenario | callid | queue | caller | outcome | agent | wait s | talk s | notes |")
    print("|---|---|---|---|---|---|---|---|---|")
    for f in files:
        rows = calls(Path(f).read_text("utf-8"))
        if rows:
            print(table(Path(f).stem, rows))


if __name__ == "__main__":
    main(sys.argv[1:])
