"""Staffing from history: next week's offered calls and AHT per 30-minute
interval, from the same interval of the weeks before, turned into agents
by Erlang C (acd/erlang.py) at the queue's SL target.

Method (stated in every answer): the forecast for an interval is the mean
of offered calls in the same weekday and half hour over the last N weeks
(N = 4 by default; fewer when there is less history), and its AHT is the
handle time of those weeks summed over the calls they handled.  Its error
is measured on held-back weeks: each of the last H weeks is forecast from
the N weeks before it and compared with what happened (WAPE = Σ|actual −
forecast| / Σ actual, and the mean absolute error per interval).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from callcenter.acd import erlang

SLOTS = 7 * 48  # half hours in a week, Monday 00:00 local first
METHOD = (
    "offered = mean of the same weekday and half hour over the last N weeks; AHT = Σ handle time / Σ handled over "
    "those weeks; agents = Erlang C at the queue's SL target and threshold; error = WAPE on held-back weeks"
)


@dataclass(frozen=True, slots=True)
class Slot:
    offered: float = 0.0
    handled: float = 0.0
    handle_s: float = 0.0  # talk + hold + wrap-up


History = Mapping[int, Mapping[int, Slot]]  # week index (0 = oldest) -> slot -> facts


def forecast_week(history: History, week: int, n: int) -> dict[int, tuple[float, float | None]]:
    """slot -> (offered, AHT or None) for `week`, from weeks week-n .. week-1."""
    past = [history[w] for w in range(week - n, week) if w in history]
    out: dict[int, tuple[float, float | None]] = {}
    if not past:
        return out
    for slot in range(SLOTS):
        cells = [p.get(slot, Slot()) for p in past]
        offered = sum(c.offered for c in cells) / len(cells)
        handled = sum(c.handled for c in cells)
        out[slot] = (offered, sum(c.handle_s for c in cells) / handled if handled else None)
    return out


def error(history: History, last_week: int, n: int, held_back: int) -> dict[str, Any]:
    """WAPE and MAE of the method on the last `held_back` weeks of history."""
    abs_err = actual_sum = 0.0
    cells = 0
    weeks = []
    for week in range(last_week - held_back + 1, last_week + 1):
        if week not in history or not any(w in history for w in range(week - n, week)):
            continue
        f = forecast_week(history, week, n)
        e = a = 0.0
        for slot in range(SLOTS):
            actual = history[week].get(slot, Slot()).offered
            e += abs(actual - f.get(slot, (0.0, None))[0])
            a += actual
        weeks.append({"week": week, "wape": round(e / a, 4) if a else None, "offered": a})
        abs_err += e
        actual_sum += a
        cells += SLOTS
    return {
        "held_back_weeks": len(weeks),
        "wape": round(abs_err / actual_sum, 4) if actual_sum else None,
        "mae_per_interval": round(abs_err / cells, 3) if cells else None,
        "weeks": weeks,
    }


def agents_needed(offered: float, aht_s: float | None, target_sl: float, threshold_s: float) -> int | None:
    if offered <= 0:
        return 0
    if not aht_s:
        return None
    try:
        return erlang.staff(offered, 1800.0, aht_s, target_sl=target_sl, threshold_s=threshold_s).agents
    except ValueError:
        return None
