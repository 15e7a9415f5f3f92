"""Dates and money as people read them (ARCHITECTURE "Text": Thai shows the Buddhist Era)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from eservice.dates import be_year, ce_year, format_date, format_datetime, parse_date, thai_digits
from eservice.money import format_money

UTC = dt.timezone.utc


def test_buddhist_era_year():
    assert be_year(2023) == 2566
    assert be_year(dt.date(2024, 12, 31)) == 2567
    assert ce_year(2566) == 2023


def test_thai_date_short_and_long():
    assert format_date(dt.date(2023, 1, 23), "th") == "23 ม.ค. 2566"
    assert format_date(dt.date(2023, 1, 23), "th", long=True) == "23 มกราคม พ.ศ. 2566"
    assert format_date(dt.date(2024, 12, 5), "th") == "5 ธ.ค. 2567"


def test_english_date_is_gregorian():
    assert format_date(dt.date(2023, 1, 23), "en") == "23 Jan 2023"
    assert format_date(dt.date(2023, 1, 23), "en", long=True) == "23 January 2023"


def test_iso_strings_and_empty_values():
    assert format_date("2023-01-23", "th") == "23 ม.ค. 2566"
    assert format_date(None) == ""
    assert format_date("") == ""
    assert parse_date("2023-01-22T14:33:00Z") == dt.datetime(2023, 1, 22, 14, 33, tzinfo=UTC)


def test_instants_are_shown_in_bangkok_time():
    # RC-4's example: sent Sunday 22 January 2023 21:33 Bangkok = 14:33 UTC.
    sent = dt.datetime(2023, 1, 22, 14, 33, tzinfo=UTC)
    assert format_datetime(sent, "th") == "22 ม.ค. 2566 21:33 น."
    assert format_datetime(sent, "en") == "22 Jan 2023, 21:33"
    # 18:00 UTC is already the next day in Bangkok.
    assert format_date(dt.datetime(2023, 1, 22, 18, 0, tzinfo=UTC), "th") == "23 ม.ค. 2566"


def test_thai_digits():
    assert thai_digits("2566") == "๒๕๖๖"


def test_money_in_thai_and_english():
    assert format_money(Decimal("1234.5"), "th") == "1,234.50 บาท"
    assert format_money(Decimal("1234.5"), "en") == "THB 1,234.50"
    assert format_money(500, "th") == "500.00 บาท"
    assert format_money(Decimal("0.005"), "th") == "0.01 บาท"  # half up, satang precision
    assert format_money(None) == ""


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        format_money(12.5)


# --- the one Thai date widget's reading (issue #10 item 6) ------------------------------
def test_typed_dates_are_buddhist_era_or_gregorian_and_other_years_are_refused():  # R: A-F3
    import datetime as _dt

    from eservice.dates import DateInputError, read_typed_date

    for typed in ("31/01/2570", "31/1/2027", "2027-01-31", "๓๑/๐๑/๒๕๗๐", "31.01.2570"):
        assert read_typed_date(typed) == _dt.date(2027, 1, 31), typed
    assert read_typed_date("1/1/2400") == _dt.date(1857, 1, 1) and read_typed_date("31/12/2157").year == 2157
    for typed, th, en in (("31/01/3113", "ปี 3113 อยู่นอกช่วงที่รับได้", "the year 3113 is out of range"),
                          ("31/01/2158", "ปี 2158", "1857–2157"), ("1/1/1856", "ปี 1856", "1857–2157"),
                          ("31/02/2570", "วันที่ที่มีอยู่จริง", "a real date"), ("soon", "วัน/เดือน/ปี", "day/month/year")):
        with pytest.raises(DateInputError) as refused:
            read_typed_date(typed)
        assert th in refused.value.th and en in refused.value.en, typed
