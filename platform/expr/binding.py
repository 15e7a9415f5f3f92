"""Binding values: host values converted to what the CEL engine takes, with size caps.

See the module docstring of :mod:`eservice.expr` for each type, and "Bounded
work" for the caps.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from .errors import ExpressionError
from .functions import BANGKOK_OFFSET, _as_date
from .limits import _INT64_MAX, _INT64_MIN, _MAX_BIND_DEPTH, MAX_BOUND_SIZE, MAX_COLLECTION_ITEMS, MAX_STRING_CHARS


class _Stats:
    __slots__ = ("items", "size")

    def __init__(self) -> None:
        self.items = 0  # largest collection
        self.size = 0   # characters + items, in all


def _too_big(th: str, en: str) -> ExpressionError:
    return ExpressionError(th, en)


def _convert(value: Any, stats: _Stats, depth: int) -> Any:
    if value is None or value is True or value is False:
        stats.size += 1
        return value
    t = type(value)
    if t is str:
        n = len(value)
        if n > MAX_STRING_CHARS:
            raise _too_big(f"ข้อความยาวเกิน {MAX_STRING_CHARS} ตัวอักษร",
                           f"a text longer than {MAX_STRING_CHARS} characters cannot be used in an expression")
        stats.size += n + 1
        return value
    if t is int:
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ExpressionError("ตัวเลขใหญ่เกินไป", f"the number {value} is too large for an expression")
        stats.size += 1
        return value
    if t is float:
        stats.size += 1
        return value
    if isinstance(value, Decimal):
        stats.size += 1
        return float(value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ExpressionError("วันเวลาต้องระบุเขตเวลา", "a datetime bound to an expression must be timezone-aware")
        stats.size += 1
        return value.astimezone(BANGKOK_OFFSET)
    if isinstance(value, date):
        stats.size += 1
        return datetime(value.year, value.month, value.day, tzinfo=BANGKOK_OFFSET)
    if isinstance(value, Enum):  # before int/str: `class Kind(str, Enum)` members
        return _convert(value.value, stats, depth)
    if isinstance(value, bool):
        stats.size += 1
        return bool(value)
    if isinstance(value, int):
        return _convert(int(value), stats, depth)
    if isinstance(value, float):
        return _convert(float(value), stats, depth)
    if isinstance(value, str):
        return _convert(str(value), stats, depth)
    if depth >= _MAX_BIND_DEPTH:
        raise ExpressionError("ข้อมูลซ้อนกันลึกเกินไป", "bound data is nested too deeply")
    if isinstance(value, Mapping):
        n = len(value)
        if n > MAX_COLLECTION_ITEMS:
            raise _too_big(f"ข้อมูลมีมากกว่า {MAX_COLLECTION_ITEMS} รายการ",
                           f"a collection of more than {MAX_COLLECTION_ITEMS} items cannot be used in an expression")
        stats.items = max(stats.items, n)
        stats.size += n + 1
        out: dict[Any, Any] = {}
        for k, v in value.items():
            if isinstance(k, Enum):
                k = k.value
            if not isinstance(k, (str, int, bool)):
                raise ExpressionError("คีย์ของข้อมูลต้องเป็นข้อความหรือตัวเลข",
                                      f"a map key of type {type(k).__name__} cannot be used in an expression")
            out[k] = _convert(v, stats, depth + 1)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        n = len(value)
        if n > MAX_COLLECTION_ITEMS:
            raise _too_big(f"ข้อมูลมีมากกว่า {MAX_COLLECTION_ITEMS} รายการ",
                           f"a collection of more than {MAX_COLLECTION_ITEMS} items cannot be used in an expression")
        stats.items = max(stats.items, n)
        stats.size += n + 1
        items = value if not isinstance(value, (set, frozenset)) else sorted(value, key=repr)
        return [_convert(v, stats, depth + 1) for v in items]
    if isinstance(value, (bytes, bytearray)):
        if len(value) > MAX_STRING_CHARS:
            raise _too_big(f"ข้อมูลยาวเกิน {MAX_STRING_CHARS} ไบต์",
                           f"bytes longer than {MAX_STRING_CHARS} cannot be used in an expression")
        stats.size += len(value) + 1
        return bytes(value)
    if isinstance(value, timedelta):
        stats.size += 1
        return value
    raise ExpressionError(f"ใช้ค่าชนิด {t.__name__} ในนิพจน์ไม่ได้",
                          f"a value of type {t.__name__} cannot be used in an expression")


def to_cel(value: Any) -> Any:
    """*value* as the engine takes it (see :mod:`eservice.expr` for each type).

    ``None`` -> null; ``bool``/``int``/``float``/``str`` as they are (integers
    beyond 64 bits are refused); ``Decimal`` -> float; ``date`` -> datetime at
    00:00 +07:00; aware ``datetime`` -> the same instant at +07:00 (naive is
    refused); ``Enum`` -> its value; mappings -> dicts, lists/tuples/sets ->
    lists, recursively; ``bytes`` and ``timedelta`` as they are.  Any other
    object raises :class:`ExpressionError`: host objects never reach an
    expression.
    """
    stats = _Stats()
    result = _convert(value, stats, 0)
    if stats.size > MAX_BOUND_SIZE:
        raise _too_big("ข้อมูลที่ใช้ในนิพจน์มีขนาดใหญ่เกินไป", "the data bound to the expression is too large")
    return result


def bind(declared: Iterable[str], answers: Mapping[str, Any], *, dates: Iterable[str] = ()) -> dict[str, Any]:
    """Bindings for an evaluation: every declared name, ``None`` when unanswered.

    Names in *dates* whose answer is an ISO string (``"2024-05-01"``) are
    turned into ``datetime.date`` so that they compare with ``today()``.
    Extra answers (not declared) are left out.  Values are not converted here:
    :meth:`Expression.evaluate` converts what the expression uses.
    """
    date_names = set(dates)
    out: dict[str, Any] = {}
    for name in declared:
        value = answers.get(name)
        if name in date_names and isinstance(value, str) and value:
            try:
                value = _as_date(value, name)
            except ValueError:
                pass  # left as text: the expression fails and says so
        out[name] = value
    return out
