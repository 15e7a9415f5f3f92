"""An amount in Thai words, as on a notice or a receipt: ``1,500.50`` →
``หนึ่งพันห้าร้อยบาทห้าสิบสตางค์``; whole baht end in ``บาทถ้วน`` (A-P1)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["baht_text"]

_DIGITS = ("ศูนย์", "หนึ่ง", "สอง", "สาม", "สี่", "ห้า", "หก", "เจ็ด", "แปด", "เก้า")
_PLACES = ("", "สิบ", "ร้อย", "พัน", "หมื่น", "แสน")


def _below_million(n: int, after_more: bool) -> str:
    """*n* < 1,000,000 in words; ``after_more``: a higher part (millions) comes before it."""
    out = []
    digits = str(n)
    size = len(digits)
    for i, ch in enumerate(digits):
        d, place = int(ch), size - i - 1
        if d == 0:
            continue
        if place == 1:
            out.append("สิบ" if d == 1 else ("ยี่สิบ" if d == 2 else _DIGITS[d] + "สิบ"))
        elif place == 0 and d == 1 and (n > 1 or after_more):
            out.append("เอ็ด")
        else:
            out.append(_DIGITS[d] + _PLACES[place])
    return "".join(out)


def _words(n: int) -> str:
    if n == 0:
        return _DIGITS[0]
    millions, rest = divmod(n, 1_000_000)
    head = _words(millions) + "ล้าน" if millions else ""
    return head + (_below_million(rest, bool(millions)) if rest else "")


def baht_text(amount: Any) -> str:
    """Thai words for a baht amount (a Decimal, int or string; never a float)."""
    if isinstance(amount, float):
        raise TypeError("money must be a Decimal or a string, not a float")
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if value < 0:
        raise ValueError("a negative amount")
    baht, satang = divmod(int(value * 100), 100)
    if satang == 0:
        return _words(baht) + "บาทถ้วน"
    return (_words(baht) + "บาท" if baht else "") + _words(satang) + "สตางค์"
