"""Phone numbers match however they are written or presented."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from callcenter.crm.models import Grade
from callcenter.crm.service import next_follow_up, normalise_number, number_variants


@pytest.mark.parametrize(
    "raw",
    ["+86 138 0013 8000", "8613800138000", "13800138000", "138-0013-8000", "0086 13800138000", "013800138000", " +86-138 0013 8000 "],
)
def test_mobiles_match(raw):
    assert normalise_number(raw) == "13800138000"


@pytest.mark.parametrize("raw", ["010-6552 1234", "+86 10 6552 1234", "01065521234", "(010) 65521234", "+86 010 65521234", "861065521234"])
def test_beijing_landline_matches(raw):
    assert normalise_number(raw) == "01065521234"


@pytest.mark.parametrize("raw", ["0755-12345678", "+86 755 1234 5678", "075512345678", "86 755 12345678"])
def test_shenzhen_landline_matches(raw):
    assert normalise_number(raw) == "075512345678"


def test_local_landline_needs_a_default_area_code():
    assert normalise_number("6552 1234") == "65521234"
    assert normalise_number("6552 1234", "010") == "01065521234"
    assert normalise_number("65521234", "10") == "01065521234"
    assert normalise_number("1234567", "0755") == "07551234567"


def test_other_numbers_are_kept():
    assert normalise_number("95555") == "95555"
    assert normalise_number("400-810-8888") == "4008108888"
    assert normalise_number("+1 415 555 0100") == "0014155550100"
    assert normalise_number("") == ""
    assert normalise_number("anonymous") == ""


def test_variants_cover_what_asterisk_may_present():
    v = number_variants("13800138000")
    assert {"13800138000", "+8613800138000", "8613800138000", "013800138000"} <= set(v)
    v = number_variants("01065521234", "010")
    assert {"01065521234", "+861065521234", "65521234"} <= set(v)


def test_follow_up_cadence_per_grade():
    tz = ZoneInfo("Asia/Shanghai")
    since = datetime(2026, 1, 1, 20, 0, tzinfo=UTC)  # 2026-01-02 04:00 in Shanghai
    days = {g: (next_follow_up(g, since, tz) - since.astimezone(tz).date()).days for g in Grade}
    assert days == {Grade.A: 1, Grade.B: 7, Grade.C: 15, Grade.D: 30, Grade.E: 365}
    assert next_follow_up(Grade.A, since, tz).isoformat() == "2026-01-03"
