"""Scoring maths and the default form.

An item carries a weight (its points); the weights of the scored items add
up to 100.  An evaluator gives each item 0..weight points, or N/A where the
item allows it; N/A items leave the total and the rest are renormalised to
100.  A veto item (致命项, 嚴格禁止的行為) carries no points: if it is marked
violated the whole evaluation scores 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class FormError(ValueError):
    """A form definition or a set of answers is not valid; says why."""


def items(definition: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for section in definition.get("sections", []) for item in section.get("items", [])]


def check_definition(definition: dict[str, Any]) -> None:
    keys: set[str] = set()
    scored = 0.0
    if not definition.get("sections"):
        raise FormError("a form needs at least one section")
    for section in definition["sections"]:
        if not section.get("items"):
            raise FormError(f"section {section.get('key')!r} has no items")
        for item in section["items"]:
            key = item["key"]
            if key in keys:
                raise FormError(f"item key {key!r} is used twice")
            keys.add(key)
            if item.get("veto"):
                if item.get("weight", 0):
                    raise FormError(f"veto item {key!r} must have weight 0: it zeroes the total instead")
            elif item.get("weight", 0) <= 0:
                raise FormError(f"item {key!r} needs a positive weight")
            scored += item.get("weight", 0)
    if abs(scored - 100) > 1e-6:
        raise FormError(f"the weights of the scored items add up to {scored:g}, not 100")


@dataclass(frozen=True)
class Score:
    total: float | None  # None until every scored item is answered
    vetoed: bool
    earned: float
    possible: float
    missing: list[str]


def score(definition: dict[str, Any], answers: dict[str, Any]) -> Score:
    """The 100-point total of a set of answers (see the module doc)."""
    earned = possible = 0.0
    vetoed = False
    missing: list[str] = []
    for item in items(definition):
        key = item["key"]
        answer = answers.get(key) or {}
        if item.get("veto"):
            vetoed = vetoed or bool(answer.get("violated"))
            continue
        if answer.get("na"):
            if not item.get("na_allowed", False):
                raise FormError(f"item {key!r} may not be marked N/A")
            continue
        points = answer.get("score")
        if points is None:
            missing.append(key)
            continue
        weight = float(item["weight"])
        if not 0 <= float(points) <= weight:
            raise FormError(f"item {key!r}: score {points} is outside 0..{weight:g}")
        earned += float(points)
        possible += weight
    unknown = set(answers) - {i["key"] for i in items(definition)}
    if unknown:
        raise FormError(f"unknown items: {', '.join(sorted(unknown))}")
    if vetoed:
        return Score(0.0, True, earned, possible, missing)
    if missing:
        return Score(None, False, earned, possible, missing)
    if possible == 0:
        raise FormError("every scored item is N/A; nothing to score")
    return Score(round(earned / possible * 100, 2), False, earned, possible, missing)


def _i(key: str, zh: str, en: str, weight: float, hint_zh: str = "", hint_en: str = "", na: bool = False, veto: bool = False) -> dict[str, Any]:
    return {"key": key, "zh": zh, "en": en, "weight": weight, "veto": veto, "na_allowed": na, "hint_zh": hint_zh, "hint_en": hint_en}


# Built from the seeds: 001's 服务质量综合考评表 items (服务用语, 服务态度,
# 语气语调, 客户需求的归纳能力, 接待客户应变能力, 三声服务), 002's sections
# (业务知识, 话务处理技巧, 嚴格禁止的行為) and 六心, 003's service norms.
DEFAULT_FORM_CODE = "inbound-service"
DEFAULT_FORM: dict[str, Any] = {
    "code": DEFAULT_FORM_CODE,
    "name_zh": "呼入服务质检评分表",
    "name_en": "Inbound service scorecard",
    "definition": {
        "sections": [
            {
                "key": "etiquette", "zh": "电话接待礼仪（三声服务）", "en": "Call etiquette (greet, acknowledge, farewell)",
                "items": [
                    _i("greeting", "问声：规范开场问候并报工号", "Greeting: standard opening with agent ID", 8, "铃响三声内接起，使用标准开场白", "Answers promptly with the standard opening"),
                    _i("acknowledge", "应声：及时回应、称呼客户", "Acknowledgement: responds and addresses the caller by name", 6, "主动认出并称呼客户", "Recognises and names the customer"),
                    _i("farewell", "送声：规范结束语，待客户先挂机", "Farewell: standard closing, caller hangs up first", 6),
                ],
            },
            {
                "key": "attitude", "zh": "服务态度（六心）", "en": "Service attitude",
                "items": [
                    _i("warmth", "热心、诚心、责任心", "Warm, sincere and responsible", 10, "对待客户要热心；受理投诉要诚心；工作要有责任心", "Warm to every caller, sincere with complaints"),
                    _i("patience", "耐心、细心，不打断客户", "Patient and careful; does not interrupt", 10, "倾听不打断，然后总结客户对问题的看法", "Listens without interrupting, then summarises"),
                ],
            },
            {
                "key": "voice", "zh": "服务用语与语气语调", "en": "Language and tone",
                "items": [
                    _i("language", "服务用语规范，简练清晰，避免术语", "Standard service phrases; concise, clear, no jargon", 10),
                    _i("tone", "语气语调亲切、愉快，语速适中", "Friendly, pleasant tone at a steady pace", 10),
                ],
            },
            {
                "key": "needs", "zh": "客户需求的归纳能力", "en": "Needs analysis",
                "items": [
                    _i("probe", "有效提问，确认客户需求", "Asks the right questions to confirm the need", 8),
                    _i("summarise", "反馈性归纳，复述确认", "Paraphrases and confirms what the caller needs", 7),
                ],
            },
            {
                "key": "knowledge", "zh": "业务知识", "en": "Business knowledge",
                "items": [
                    _i("accuracy", "解答准确、完整", "Answers are accurate and complete", 10),
                    _i("process", "按流程受理、建单或转接（首问负责）", "Follows the process: ticket, transfer, first-contact ownership", 5, na=True),
                ],
            },
            {
                "key": "handling", "zh": "接待客户应变能力（话务处理技巧）", "en": "Handling skills",
                "items": [
                    _i("deescalate", "平伏客户情绪：致歉、共情、给出方案", "Calms the caller: apologises, empathises, offers a solution", 6, na=True),
                    _i("hold", "保留/转接前告知并致谢", "Asks before holding or transferring, thanks after", 4, na=True),
                ],
            },
            {
                "key": "forbidden", "zh": "严格禁止的行为（致命项）", "en": "Forbidden behaviour (veto)",
                "items": [
                    _i("argue", "与客户争吵、辩论或态度恶劣", "Argues with or is rude to the caller", 0, veto=True),
                    _i("promise", "随意许诺无法兑现的事项", "Makes promises that cannot be kept", 0, veto=True),
                    _i("disclose", "泄露客户信息或与客户闲聊", "Discloses customer data or chats off-topic", 0, veto=True),
                    _i("hangup", "先于客户挂机或无故挂断", "Hangs up on the caller", 0, veto=True),
                ],
            },
        ]
    },
}
check_definition(DEFAULT_FORM["definition"])
