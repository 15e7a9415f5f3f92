"""The platform's date formats (:mod:`eservice.dates`), re-exported for the renderers.

The rules live in the core so that the engine, which numbers intakes by
Buddhist-Era year, never imports the renderers.
"""
from __future__ import annotations

from ..dates import (  # noqa: F401
    BANGKOK, BE_OFFSET, EN_MONTHS, EN_MONTHS_SHORT, STYLES, THAI_MONTHS, THAI_MONTHS_SHORT, __all__, be_year,
    ce_year, format_date, format_datetime, parse_date, thai_digits,
)
