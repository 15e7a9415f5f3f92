"""The platform's date formats (:mod:`eservice.dates`), re-exported for the renderers.

The rules live in the core so that the engine, which numbers intakes by
Buddhist-Era year, never imports the renderers.
"""
from __future__ import annotations

from typing import Any

from ..dates import (  # noqa: F401
    BANGKOK, BE_OFFSET, EN_MONTHS, EN_MONTHS_SHORT, STYLES, THAI_MONTHS, THAI_MONTHS_SHORT, __all__, be_year,
    ce_year, format_date, format_datetime, parse_date, read_typed_date, thai_digits, typed_parts,
)


def date_widget(wid: str, name: str, value: Any, lang: str, auto: str | None = None) -> dict[str, Any]:
    """The parts of the one Thai date widget (citizens' fields, officers' inputs,
    report ranges; issue #10 item 6): day, month and year boxes, the example and
    the date written out.  Thai takes the Buddhist-Era year, English the
    Gregorian; the server reads either (read_typed_date)."""
    day, month, year = typed_parts(value, lang)
    th = lang == "th"
    parts = [
        {"name": f"{name}.day", "id": wid, "label": "วัน" if th else "Day", "value": day, "width": "2",
         "autocomplete": f"{auto}-day" if auto else None},
        {"name": f"{name}.month", "id": f"{wid}-month", "label": "เดือน" if th else "Month", "value": month,
         "width": "2", "autocomplete": f"{auto}-month" if auto else None},
        {"name": f"{name}.year", "id": f"{wid}-year", "label": "ปี (พ.ศ.)" if th else "Year", "value": year,
         "width": "4", "autocomplete": None},
    ]
    try:
        shown = format_date(read_typed_date(f"{day}/{month}/{year}"), lang, long=True) \
            if day and month and year else ""
    except ValueError:
        shown = ""
    example = "ตัวอย่าง 31 1 2570 (ปีพุทธศักราช)" if th else "For example 31 1 2027"
    return {"parts": parts, "shown": shown, "example": example}
