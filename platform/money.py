"""Money as Thai and English readers expect it: ``1,234.50 บาท`` / ``THB 1,234.50``.

A core module, so that mail (:mod:`eservice.notifications`) and pages
(:mod:`eservice.renderers.html`, which re-exports it) show amounts alike.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

__all__ = ["format_money"]

_CENT = Decimal("0.01")


def format_money(amount: Any, lang: str = "th") -> str:
    """Baht with satang: ``1,234.50 บาท`` in Thai, ``THB 1,234.50`` in English.
    Floats are refused (money is never a float); ints, strings and Decimals are fine."""
    if amount is None or amount == "":
        return ""
    if isinstance(amount, float):
        raise TypeError("money must be a Decimal, not a float")
    try:
        value = Decimal(str(amount)).quantize(_CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return str(amount)
    shown = f"{value:,.2f}"
    return f"THB {shown}" if lang == "en" else f"{shown} บาท"
