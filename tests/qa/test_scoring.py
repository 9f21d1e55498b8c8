"""Form scoring maths: weights, N/A renormalisation, veto; form checks."""

from __future__ import annotations

import copy

import pytest

from callcenter.qa.scoring import DEFAULT_FORM, FormError, check_definition, items, score

FORM = {
    "sections": [
        {"key": "s1", "zh": "礼仪", "en": "Etiquette", "items": [
            {"key": "a", "zh": "a", "en": "a", "weight": 40},
            {"key": "b", "zh": "b", "en": "b", "weight": 20, "na_allowed": True},
        ]},
        {"key": "s2", "zh": "知识", "en": "Knowledge", "items": [
            {"key": "c", "zh": "c", "en": "c", "weight": 40},
            {"key": "v", "zh": "争吵", "en": "argues", "weight": 0, "veto": True},
        ]},
    ]
}


def test_weights_add_up():
    s = score(FORM, {"a": {"score": 30}, "b": {"score": 20}, "c": {"score": 40}})
    assert s.total == 90.0 and not s.vetoed and s.earned == 90 and s.possible == 100


def test_na_renormalises_the_remaining_weights():
    s = score(FORM, {"a": {"score": 30}, "b": {"na": True}, "c": {"score": 40}})
    assert s.total == pytest.approx(70 / 80 * 100) == 87.5
    assert s.possible == 80


def test_na_only_where_allowed():
    with pytest.raises(FormError, match="'a' may not be marked N/A"):
        score(FORM, {"a": {"na": True}, "b": {"score": 1}, "c": {"score": 1}})


def test_veto_zeroes_the_whole_evaluation():
    s = score(FORM, {"a": {"score": 40}, "b": {"score": 20}, "c": {"score": 40}, "v": {"violated": True}})
    assert s.total == 0.0 and s.vetoed
    # even with items still unscored
    assert score(FORM, {"v": {"violated": True}}).total == 0.0


def test_incomplete_has_no_total_and_names_missing_items():
    s = score(FORM, {"a": {"score": 40}})
    assert s.total is None and s.missing == ["b", "c"]


def test_out_of_range_and_unknown_items():
    with pytest.raises(FormError, match="outside 0..20"):
        score(FORM, {"b": {"score": 21}})
    with pytest.raises(FormError, match="unknown items: zz"):
        score(FORM, {"zz": {"score": 1}})


def test_all_na_cannot_be_scored():
    form = {"sections": [{"key": "s", "zh": "s", "en": "s", "items": [{"key": "x", "zh": "x", "en": "x", "weight": 100, "na_allowed": True}]}]}
    with pytest.raises(FormError, match="nothing to score"):
        score(form, {"x": {"na": True}})


def test_definition_checks():
    check_definition(FORM)
    bad = copy.deepcopy(FORM)
    bad["sections"][0]["items"][0]["weight"] = 30
    with pytest.raises(FormError, match="add up to 90"):
        check_definition(bad)
    bad = copy.deepcopy(FORM)
    bad["sections"][1]["items"][1]["weight"] = 5
    with pytest.raises(FormError, match="veto item 'v' must have weight 0"):
        check_definition(bad)
    bad = copy.deepcopy(FORM)
    bad["sections"][1]["items"][0]["key"] = "a"
    with pytest.raises(FormError, match="used twice"):
        check_definition(bad)


def test_default_form_is_bilingual_and_covers_the_seed_items():
    d = DEFAULT_FORM["definition"]
    check_definition(d)
    zh = " ".join(i["zh"] for i in items(d)) + " ".join(s["zh"] for s in d["sections"])
    for term in ("三声", "问声", "应声", "送声", "服务态度", "语气语调", "客户需求的归纳能力", "业务知识", "应变能力", "严格禁止的行为", "争吵"):
        assert term in zh, term
    assert all(i["en"] and i["zh"] for i in items(d))
    assert sum(1 for i in items(d) if i["veto"]) >= 3
    full = {i["key"]: ({"violated": False} if i["veto"] else {"score": i["weight"]}) for i in items(d)}
    assert score(d, full).total == 100.0
