"""The 100-point scorecard of weighted indicators (seeds B §7, the 10086
example): each indicator has a source (a report measure or a manual
monthly figure), a weight (all weights sum to 100), excellent / target /
warning values, a direction and an owner.

Scoring, the seeds' way: an indicator worse than its warning value scores
0 (「低于预警值…得分判定为0」).  The seeds do not say how the rest scores;
ours, stated in every answer: at or better than excellent, the full weight;
from target to excellent, 80 % to 100 % of the weight (linear); from warning
to target, 60 % to 80 %.  An indicator with no value this month scores 0
and says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

RULE = (
    "worse than warning: 0; warning → target: 60–80 % of the weight; target → excellent: 80–100 %; "
    "at or better than excellent: 100 %; no value: 0"
)
MEASURES = (
    "service_level_30",
    "service_level",
    "answer_rate",
    "abandon_rate",
    "asa_s",
    "aht_s",
    "transfer_rate",
    "occupancy",
    "utilisation",
    "sl_cv_days",
    "sl_cv_intervals",
)


@dataclass(frozen=True, slots=True)
class Indicator:
    code: str
    name: str
    source: str  # "measure:<name>" | "manual"
    weight: float
    excellent: float
    target: float
    warning: float
    higher_is_better: bool = True
    owner: str = ""
    name_en: str = ""


def check(indicators: Iterable[Indicator]) -> list[str]:
    """Problems with a set of indicators, each naming the field ([] = fine)."""
    problems: list[str] = []
    items = list(indicators)
    total = round(sum(i.weight for i in items), 6)
    if items and abs(total - 100) > 1e-6:
        problems.append(f"weight: the weights sum to {total:g}, not 100")
    codes = [i.code for i in items]
    if len(set(codes)) != len(codes):
        problems.append("code: two indicators have the same code")
    for n, i in enumerate(items):
        if i.weight <= 0:
            problems.append(f"indicators[{n}].weight: must be > 0")
        if i.source != "manual" and i.source.removeprefix("measure:") not in MEASURES:
            problems.append(f"indicators[{n}].source: 'manual' or measure:<one of {', '.join(MEASURES)}>")
        ordered = (i.warning <= i.target <= i.excellent) if i.higher_is_better else (i.warning >= i.target >= i.excellent)
        if not ordered:
            side = "warning ≤ target ≤ excellent" if i.higher_is_better else "warning ≥ target ≥ excellent (lower is better)"
            problems.append(f"indicators[{n}].target: needs {side}")
    return problems


def points(i: Indicator, value: float | None) -> tuple[float, str]:
    """(points out of the weight, band) for one value."""
    if value is None:
        return 0.0, "missing"
    sign = 1 if i.higher_is_better else -1
    v, w, t, e = sign * value, sign * i.warning, sign * i.target, sign * i.excellent
    if v < w:
        return 0.0, "below_warning"
    if v >= e:
        return i.weight, "excellent"
    if v >= t:
        share = 0.8 + 0.2 * ((v - t) / (e - t) if e > t else 1.0)
        return round(i.weight * share, 4), "target"
    share = 0.6 + 0.2 * ((v - w) / (t - w) if t > w else 1.0)
    return round(i.weight * share, 4), "warning"


def score(indicators: Iterable[Indicator], values: Mapping[str, float | None]) -> dict[str, Any]:
    """The month's card: each indicator's value, band and points; the total out of 100."""
    rows = []
    for i in indicators:
        value = values.get(i.code)
        p, band = points(i, value)
        rows.append({"code": i.code, "name": i.name, "name_en": i.name_en, "source": i.source, "owner": i.owner, "weight": i.weight,
                     "excellent": i.excellent, "target": i.target, "warning": i.warning, "higher_is_better": i.higher_is_better,
                     "value": value, "points": p, "band": band})  # fmt: skip
    return {"total": round(sum(r["points"] for r in rows), 2), "indicators": rows, "rule": RULE}


# The seeds' example (002: 30-second answer rate weighted 12.25 %), the rows
# our reports measure, and the manual rows the seeds name; together 100.
EXAMPLE: tuple[Indicator, ...] = (
    Indicator("sl30", "30秒接通率", "measure:service_level_30", 12.25, 0.90, 0.85, 0.80, True, "运营主管", "30-second answer rate"),
    Indicator("answer_rate", "电话接通率", "measure:answer_rate", 12.0, 0.98, 0.95, 0.90, True, "运营主管", "Answer rate"),
    Indicator("abandon_rate", "呼叫放弃率", "measure:abandon_rate", 8.0, 0.03, 0.05, 0.08, False, "运营主管", "Abandon rate"),
    Indicator("asa", "平均应答速度", "measure:asa_s", 6.0, 15.0, 20.0, 40.0, False, "班长", "Average speed of answer (s)"),
    Indicator("sl_cv_days", "30秒接通率日离散系数", "measure:sl_cv_days", 6.0, 0.10, 0.13, 0.16, False, "排班专员", "SL30 dispersion across days"),
    Indicator("sl_cv_intervals", "30秒接通率时段离散系数", "measure:sl_cv_intervals", 6.0, 0.12, 0.15, 0.16, False, "排班专员", "SL30 dispersion across intervals"),
    Indicator("aht", "平均处理时长", "measure:aht_s", 5.0, 240.0, 300.0, 420.0, False, "班长", "Average handle time (s)"),
    Indicator("transfer_rate", "转接率", "measure:transfer_rate", 4.0, 0.01, 0.03, 0.05, False, "班长", "Transfer rate"),
    Indicator("occupancy", "座席占用率", "measure:occupancy", 5.75, 0.90, 0.85, 0.75, True, "排班专员", "Occupancy"),
    Indicator("satisfaction", "客户满意度", "manual", 15.0, 0.97, 0.95, 0.90, True, "客服部主任", "Customer satisfaction"),
    Indicator("ivr_guidance", "自助语音引导合理性", "manual", 5.0, 0.95, 0.92, 0.90, True, "IVR 专员", "IVR guidance rated reasonable"),
    Indicator("fcr", "一次问题解决率", "manual", 10.0, 0.90, 0.86, 0.80, True, "质检主管", "First-contact resolution"),
    Indicator("callback_satisfaction", "未接回访满意度", "manual", 5.0, 0.97, 0.95, 0.90, True, "回访专员", "Unanswered-callback satisfaction"),
)
