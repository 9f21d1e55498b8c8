"""Report measures from summed interval facts, each with the formula that
produced it (anchors.md §3; the live KPIs in acd/kpi.py use the same ones).

Pure: counters in (dicts of sums), figures out.  Sums add across intervals,
queues, days and agents; rates are ratios of sums, never averages of rates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from callcenter.reports.intervals import AGENT_SUMS, BUCKETS, QUEUE_FIELDS

ATTRIBUTION = (
    "A call is offered in the interval it joined the queue, answered or abandoned in the interval it left the queue, "
    "and its talk, hold and wrap-up count in the interval its wrap-up ended (as the live windows count them). "
    "Agent time is split at interval boundaries. Days, weeks (ISO, Monday first) and months follow the centre's time zone."
)

QUEUE_FORMULAS: dict[str, str] = {
    "offered": "offered = callers who joined the queue",
    "answered": "answered = callers an agent answered",
    "answer_rate": "接通率 = answered / offered",
    "service_level": "SL = Σ met / Σ counted, each queue by its own threshold T and abandon rule; waits in whole seconds",
    "service_level_30": "SL30 = Σ met / Σ counted at T = 30 s, each queue's abandon rule; waits in whole seconds",
    "abandon_rate": "abandon rate = (abandoned − short) / (left the queue − short); short = abandoned before the queue's short-abandon time",
    "abandoned": "abandoned = callers who hung up while waiting",
    "short_abandoned": "short abandons = abandoned before the queue's short-abandon time",
    "asa_s": "ASA = Σ wait of answered calls / answered",
    "avg_abandon_s": "average time to abandon = Σ wait of abandoned calls / abandoned",
    "aht_s": "AHT = (Σ talk + Σ hold + Σ wrap-up) / calls handled",
    "avg_talk_s": "average talk = Σ talk / calls handled",
    "avg_hold_s": "average hold = Σ hold / calls handled",
    "avg_wrap_up_s": "average ACW = Σ wrap-up / calls handled",
    "transfer_rate": "transfer rate = calls transferred / calls handled",
    "max_wait_s": "longest wait = max over the period",
    "outbound_connect_rate": "outbound connect rate = outbound calls answered / outbound attempts",
    "abandoned_by_wait": "abandons by wait bucket (s): " + ", ".join(b.replace("_", "–") for b in BUCKETS),
    "callbacks_requested": "queued callbacks asked for = callers who pressed the callback key (they left the queue, not abandoned)",
    "callbacks_made": "callbacks made = dials of the customer for a queued callback (an offer the agent did not take is not one)",
    "callback_reach_rate": "callback reach rate = callbacks reached / callbacks made",
    "callback_delay_s": "time to callback = Σ (callback connected − key press) / callbacks reached",
    "callback_wait_s": "callback wait = Σ (callback connected − original entry in the queue) / callbacks reached",
    "callback_same_day_share": "cleared the same day (日结日清) = callbacks reached on the local day they were asked for / callbacks asked for; target 100 %",
}

AGENT_FORMULAS: dict[str, str] = {
    "logged_in_s": "logged-in time = time in any state but logged out",
    "handled": "calls handled = calls whose wrap-up ended in the period",
    "occupancy": "occupancy = (talk + dialing + hold + wrap-up) / (talk + dialing + hold + wrap-up + available + ringing); pauses excluded",
    "utilisation": "utilisation = (talk + dialing + hold + wrap-up) / logged-in time",
    "calls_per_hour": "calls per hour = calls handled / logged-in hours",
    "agent_aht_s": "AHT (agent) = (time on call + on hold + in wrap-up) / calls handled",
    "pause_s": "pause time by reason = the pause as the agent set it (may overlap a call)",
    "paused_s": "not-ready time = paused and not on a call",
    "outbound_connect_rate": "outbound connect rate = outbound calls answered / outbound attempts",
}


def ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den > 0 else None


def avg(num: float, den: float) -> float | None:
    return round(num / den, 1) if den > 0 else None


def add(into: dict[str, float], row: Mapping[str, Any], fields: Iterable[str]) -> dict[str, float]:
    """Sums field by field (max_wait_s: the maximum); `into` holds every field."""
    for f in fields:
        v = row.get(f)
        if v:
            if f == "max_wait_s":
                if v > into[f]:
                    into[f] = v
            else:
                into[f] += v
    return into


def zero_queue() -> dict[str, float]:
    return dict.fromkeys(QUEUE_FIELDS, 0.0)


def zero_agent() -> dict[str, float]:
    return dict.fromkeys(AGENT_SUMS, 0.0)


def queue_figures(c: Mapping[str, float]) -> dict[str, Any]:
    short = c["short_abandoned"]
    exits = c["answered"] + c["abandoned"] + c["timeouts"] + c["other_exits"]
    handled = c["handled"]
    return {
        "offered": int(c["offered"]),
        "answered": int(c["answered"]),
        "abandoned": int(c["abandoned"]),
        "short_abandoned": int(short),
        "timeouts": int(c["timeouts"]),
        "answer_rate": ratio(c["answered"], c["offered"]),
        "service_level": ratio(c["sl_met"], c["sl_counted"]),
        "service_level_30": ratio(c["sl30_met"], c["sl30_counted"]),
        "abandon_rate": ratio(c["abandoned"] - short, exits - short),
        "abandoned_by_wait": {b: int(c[f"abandoned_{b}"]) for b in BUCKETS},
        "asa_s": avg(c["wait_answered_s"], c["answered"]),
        "avg_abandon_s": avg(c["wait_abandoned_s"], c["abandoned"]),
        "handled": int(handled),
        "aht_s": avg(c["talk_s"] + c["hold_s"] + c["wrap_s"], handled),
        "avg_talk_s": avg(c["talk_s"], handled),
        "avg_hold_s": avg(c["hold_s"], handled),
        "avg_wrap_up_s": avg(c["wrap_s"], handled),
        "transfers": int(c["transfers"]),
        "transfer_rate": ratio(c["transfers"], handled),
        "max_wait_s": round(c["max_wait_s"], 1),
        "outbound_attempts": int(c["outbound_attempts"]),
        "outbound_connects": int(c["outbound_connects"]),
        "outbound_connect_rate": ratio(c["outbound_connects"], c["outbound_attempts"]),
        "callbacks_requested": int(c["callbacks_requested"]),
        "callbacks_made": int(c["callbacks_made"]),
        "callbacks_reached": int(c["callbacks_reached"]),
        "callback_reach_rate": ratio(c["callbacks_reached"], c["callbacks_made"]),
        "callback_delay_s": avg(c["callback_delay_s"], c["callbacks_reached"]),
        "callback_wait_s": avg(c["callback_wait_s"], c["callbacks_reached"]),
        "callback_same_day_share": ratio(c["callbacks_same_day"], c["callbacks_requested"]),
    }


def agent_figures(c: Mapping[str, float], pauses: Mapping[str, float] | None = None) -> dict[str, Any]:
    # Called once per row of a report (15,000 for a month by agent and day): plain locals, no helper calls.
    talk, hold, wrap, handled = c["talk_s"], c["hold_s"], c["wrap_s"], c["handled"]
    busy = talk + c["dialing_s"] + hold + wrap
    idle = c["available_s"] + c["ringing_s"]
    logged = c["logged_in_s"]
    attempts, connects = c["outbound_attempts"], c["outbound_connects"]
    return {
        "logged_in_s": round(logged, 1),
        "available_s": round(c["available_s"], 1),
        "talk_s": round(talk, 1),
        "hold_s": round(hold, 1),
        "wrap_s": round(wrap, 1),
        "paused_s": round(c["paused_s"], 1),
        "handled": int(handled),
        "handled_inbound": int(c["handled_inbound"]),
        "handled_outbound": int(c["handled_outbound"]),
        "occupancy": round(busy / (busy + idle), 4) if busy + idle > 0 else None,
        "utilisation": round(busy / logged, 4) if logged > 0 else None,
        "calls_per_hour": round(handled / (logged / 3600), 2) if logged > 0 else None,
        "agent_aht_s": round((talk + hold + wrap) / handled, 1) if handled > 0 else None,
        "pause_s": {k: round(v, 1) for k, v in sorted(pauses.items())} if pauses else {},
        "outbound_attempts": int(attempts),
        "outbound_connects": int(connects),
        "outbound_connect_rate": round(connects / attempts, 4) if attempts > 0 else None,
    }


# --- SL dispersion ------------------------------------------------------------------------

MIN_CALLS = 10  # an interval or a day with fewer SL-counted calls is left out of the dispersion
DISPERSION_ALERT = 0.16
DISPERSION_FORMULA = (
    "CV = population standard deviation / mean of the 30-second SL of each period (day, or 30-minute interval); "
    f"periods with fewer than {MIN_CALLS} SL-counted calls are left out; alert at CV ≥ {DISPERSION_ALERT}"
)


def dispersion(periods: Iterable[tuple[str, float, float]], min_calls: int = MIN_CALLS) -> dict[str, Any]:
    """(label, met, counted) per period -> the CV of SL30 over the periods kept."""
    kept, left_out = [], []
    for label, met, counted in periods:
        if counted >= min_calls:
            kept.append((label, met / counted))
        else:
            left_out.append(label)
    values = [v for _, v in kept]
    cv = None
    mean = sum(values) / len(values) if values else None
    if len(values) >= 2 and mean:
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        cv = round(sd / mean, 4)
    return {
        "cv": cv,
        "mean": None if mean is None else round(mean, 4),
        "alert": cv is not None and cv >= DISPERSION_ALERT,
        "periods": [{"period": label, "service_level_30": round(v, 4)} for label, v in kept],
        "left_out": left_out,
        "formula": DISPERSION_FORMULA,
    }
