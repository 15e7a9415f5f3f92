"""The functions an expression may call, and the environment they run in.

:class:`ExprEnv` gives ``today()`` its clock and ``working_days()`` its
calendar; :data:`KNOWN_FUNCTIONS` lists every function name an expression may
call (ours, the engine's, the guarded extension functions and the macros).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from cel import stdlib as _cel_stdlib

from ..thai_ids import is_valid_thai_id
from .limits import MAX_COLLECTION_ITEMS, MAX_STRING_CHARS

#: Asia/Bangkok as the fixed offset the engine understands (no DST since 1920).
BANGKOK_OFFSET = timezone(timedelta(hours=7), "+07:00")
_MIDNIGHT = time(0, 0)


def _weekdays_between(a: date, b: date) -> int:
    """Monday–Friday days in ``(a, b]``; negative when *b* is before *a*."""
    if b < a:
        return -_weekdays_between(b, a)
    days = (b - a).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    wd = a.weekday()
    for i in range(1, rest + 1):
        if (wd + i) % 7 < 5:
            count += 1
    return count


@dataclass(frozen=True)
class ExprEnv:
    """What the built-in functions need at run time.

    * ``clock`` — any object with ``now() -> aware datetime`` (an
      :class:`eservice.clock.Clock`); ``None`` means the system clock.
    * ``today`` — a fixed date for ``today()``; wins over ``clock`` (tests).
    * ``calendar`` — any object with ``working_days_between(a: date, b: date)
      -> int`` counting working days in ``(a, b]`` (an
      :class:`eservice.calendar.WorkingCalendar`); ``None`` counts Monday–Friday.
    """

    clock: Any = None
    today: date | None = None
    calendar: Any = None
    _functions: dict[str, Callable[..., Any]] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.today is not None and (isinstance(self.today, datetime) or not isinstance(self.today, date)):
            raise TypeError("ExprEnv.today must be a datetime.date (not a datetime)")
        object.__setattr__(self, "_functions", _env_functions(self))

    def today_date(self) -> date:
        """Today's date in Asia/Bangkok."""
        if self.today is not None:
            return self.today
        now = self.clock.now() if self.clock is not None else datetime.now(timezone.utc)
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("clock.now() must return a timezone-aware datetime")
        return now.astimezone(BANGKOK_OFFSET).date()

    def working_days(self, a: date, b: date) -> int:
        """Working days in ``(a, b]`` (negative when *b* is before *a*)."""
        if self.calendar is not None:
            return int(self.calendar.working_days_between(a, b))
        return _weekdays_between(a, b)


# ---------------------------------------------------------- built-in functions
def thai_id_valid(value: Any) -> bool:
    """Is *value* a 13-digit Thai national ID with a correct check digit?

    Spaces and dashes are ignored (``1-2345-67890-12-1``), Thai digits are
    accepted.  Check digit: ``(11 - sum(d[i] * (13 - i) for i < 12) % 11) % 10``.
    Anything else (null, a boolean, wrong length) is ``False``.  The rules are
    the ``thai_national_id`` field type's (:mod:`eservice.thai_ids`).
    """
    return is_valid_thai_id(value)


def _as_date(value: object, fn: str) -> date:
    """A CEL argument (timestamp or ISO string) as a Bangkok calendar date."""
    if isinstance(value, datetime):
        if value.tzinfo is None:  # the engine always hands over aware values
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(BANGKOK_OFFSET).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and 0 < len(value) <= 40:
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            parsed = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                return parsed.date()
            return parsed.astimezone(BANGKOK_OFFSET).date()
    raise ValueError(f"{fn}(): expected a date (timestamp or 'YYYY-MM-DD'), got {type(value).__name__}")


def _to_timestamp(d: date) -> datetime:
    return datetime.combine(d, _MIDNIGHT, tzinfo=BANGKOK_OFFSET)


def _age_years(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _size(value: Any) -> int:
    """CEL ``size``, counting characters of strings (code points, not bytes)."""
    if isinstance(value, (str, bytes, list, tuple, dict)):
        return len(value)
    raise TypeError(f"size(): not defined for {type(value).__name__}")


def _env_functions(env: ExprEnv) -> dict[str, Callable[..., Any]]:
    def today() -> datetime:
        return _to_timestamp(env.today_date())

    def age(value: Any) -> int:
        return _age_years(_as_date(value, "age"), env.today_date())

    def working_days(a: Any, b: Any) -> int:
        return env.working_days(_as_date(a, "working_days"), _as_date(b, "working_days"))

    return {"today": today, "age": age, "working_days": working_days}


#: Our own functions (the env-dependent ones are bound per :class:`ExprEnv`).
OWN_FUNCTIONS = frozenset({"today", "age", "working_days", "thai_id_valid"})

#: Comprehension macros and ``has``, expanded by the parser.
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter", "has"})
_COMPREHENSIONS = frozenset({"all", "exists", "exists_one", "map", "filter"})

#: Functions the engine implements natively.
NATIVE_FUNCTIONS = frozenset({
    "size", "contains", "startsWith", "endsWith", "matches",
    "int", "uint", "double", "string", "bytes", "timestamp", "duration", "dyn", "type",
    "getFullYear", "getMonth", "getDayOfYear", "getDayOfMonth", "getDate", "getDayOfWeek",
    "getHours", "getMinutes", "getSeconds", "getMilliseconds",
})

# The cel-go extension functions shipped (in Python) with the engine that we
# enable.  Left out: encoders (no use in forms), ``strings.quote``, ``first`` /
# ``last`` (they return optionals, whose syntax the engine does not parse) and
# ``lists.range`` (builds lists of any size).
_EXTENSION_NAMES = (
    "bool", "min", "max", "sum",
    "charAt", "indexOf", "lastIndexOf", "substring", "replace", "split", "join",
    "lowerAscii", "upperAscii", "trim", "reverse",
    "math.greatest", "math.least", "math.abs", "math.sign", "math.ceil", "math.floor",
    "math.round", "math.trunc", "math.isNaN", "math.isInf", "math.isFinite", "math.sqrt",
    "math.bitOr", "math.bitAnd", "math.bitXor", "math.bitNot",
    "math.bitShiftLeft", "math.bitShiftRight",
    "sets.contains", "sets.equivalent", "sets.intersects",
    "contains", "distinct", "flatten", "slice", "sort",
)
#: Namespaces of qualified function names (``math.ceil``).
_NAMESPACES = frozenset({"math", "sets", "strings", "lists", "base64", "optional"})


def _check_result(name: str, result: Any) -> Any:
    if isinstance(result, (str, bytes)) and len(result) > MAX_STRING_CHARS:
        raise ValueError(f"{name}(): result longer than {MAX_STRING_CHARS} characters")
    if isinstance(result, (list, tuple, dict)) and len(result) > MAX_COLLECTION_ITEMS:
        raise ValueError(f"{name}(): result has more than {MAX_COLLECTION_ITEMS} items")
    return result


def _guard(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*args: Any) -> Any:
        return _check_result(name, fn(*args))
    guarded.__name__ = f"cel_{name.replace('.', '_')}"
    return guarded


def _guarded_replace(fn: Callable[..., Any]) -> Callable[..., Any]:
    def replace(*args: Any) -> Any:
        if len(args) >= 3 and all(isinstance(a, str) for a in args[:3]):
            s, old, new = args[:3]
            limit = args[3] if len(args) > 3 and isinstance(args[3], int) else -1
            hits = (len(s) + 1) if old == "" else s.count(old)
            if limit >= 0:
                hits = min(hits, limit)
            if len(s) + hits * max(0, len(new) - len(old)) > MAX_STRING_CHARS:
                raise ValueError(f"replace(): result longer than {MAX_STRING_CHARS} characters")
        return fn(*args)
    return replace


def _guarded_join(fn: Callable[..., Any]) -> Callable[..., Any]:
    def join(*args: Any) -> Any:
        if args and isinstance(args[0], list):
            sep = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
            total = sum(len(x) for x in args[0] if isinstance(x, str)) + len(sep) * len(args[0])
            if total > MAX_STRING_CHARS:
                raise ValueError(f"join(): result longer than {MAX_STRING_CHARS} characters")
        return fn(*args)
    return join


def _static_functions() -> dict[str, Callable[..., Any]]:
    found = dict(_cel_stdlib.STDLIB_FUNCTIONS)
    out: dict[str, Callable[..., Any]] = {}
    for name in _EXTENSION_NAMES:
        fn = found.get(name)
        if fn is None:  # an engine release without it: simply not offered
            continue
        if name == "replace":
            fn = _guarded_replace(fn)
        elif name == "join":
            fn = _guarded_join(fn)
        out[name] = _guard(name, fn)
    out["thai_id_valid"] = thai_id_valid
    out[_SIZE_FN] = _size
    return out


# The name every ``size`` call is redirected to (see :mod:`eservice.expr`).
_SIZE_FN = "_eservice_size"
_STATIC_FUNCTIONS = _static_functions()
EXTENSION_FUNCTIONS = frozenset(n for n in _STATIC_FUNCTIONS if n not in (_SIZE_FN, "thai_id_valid"))

#: Every function name an expression may call (for the load-time check).
KNOWN_FUNCTIONS: frozenset[str] = frozenset(OWN_FUNCTIONS | MACROS | NATIVE_FUNCTIONS | EXTENSION_FUNCTIONS)

# Functions implemented in Python (a call crosses into the interpreter: dearer).
_PY_FUNCTIONS = frozenset(EXTENSION_FUNCTIONS | OWN_FUNCTIONS | {"size"})
