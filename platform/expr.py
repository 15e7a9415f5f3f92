"""Expressions in service definitions: CEL, compiled once, evaluated safely.

ARCHITECTURE "Expressions: CEL" (R: A-SP3).  Staff write small expressions in
YAML (``when``, ``required_when``, rules, calculations, fee amounts, workflow
guards).  This module is the only place that talks to the CEL engine
(``common-expression-language``, import name ``cel``)::

    expr = compile_expression("has_employees == true && shop_area > 20.0")
    expr.names                      # frozenset({'has_employees', 'shop_area'})
    expr.evaluate_bool(answers)     # a run-time error counts as False (logged)
    fee = compile_expression("shop_area * 12.345").evaluate_money(answers)  # Decimal

Decisions
---------
* **Not Python.**  No ``eval``, no deny-list sandbox: CEL has no statements, no
  imports, no attribute access on host objects, and only the values this module
  converts ever reach the engine (:func:`to_cel` refuses everything else).
* **Compile at load time.**  :func:`compile_expression` rejects, before the engine
  sees the text: non-strings, empty text, more than :data:`MAX_SOURCE_CHARS`
  characters, brackets nested deeper than :data:`MAX_NESTING`, comprehension
  macros nested deeper than :data:`MAX_MACRO_NESTING`, and expressions whose
  estimated work or result size is too large even for ordinary data (a list
  literal of 300 items mapped over itself, a string doubled in nested macros).
  The same estimate is checked again at run time with the real sizes of the
  bound data (see *Bounded work* below).
* **Free names.**  ``Program.variables()`` also lists names bound by macros
  (the ``i`` of ``items.exists(i, i > 3)``); this module parses the expression
  itself (a small recursive-descent CEL parser, used only for analysis; the
  engine stays the judge of syntax) and reports the truly free top-level names
  in :attr:`Expression.names` (``shop.area`` -> ``shop``), the dotted paths in
  :attr:`Expression.paths`, and the functions called in
  :attr:`Expression.functions` (macros included, operators not).
* **Dates are bound as timestamps**: a ``datetime.date`` becomes a tz-aware
  ``datetime`` at 00:00 in Asia/Bangkok, written with the fixed offset +07:00
  (the engine cannot convert ``ZoneInfo`` datetimes; Bangkok has had no
  daylight saving since 1920, so the fixed offset is exact).  ``today()``
  returns the same kind of value, so ``start_date > today()`` compares, and
  ``start_date.getFullYear()`` / ``getMonth()`` / ``getDate()`` read the Bangkok
  calendar day.  Aware ``datetime`` values keep their instant, shown at +07:00;
  naive datetimes are refused (as in :mod:`eservice.clock`).  ``age()`` and
  ``working_days()`` also accept ISO strings (``"2024-05-01"``), so a date
  answer still stored as text works there; :func:`bind` turns ISO strings of
  date fields into dates so that comparisons work too.
* **Numbers.**  ``Decimal`` is bound as a double (the engine has no decimal
  type); integers stay integers.  CEL never mixes ``int`` and ``double`` in
  arithmetic (``area * 10`` fails when ``area`` is a double: write ``10.0`` or
  ``double(n)``); comparisons across the two work.  Fees come back through
  :meth:`Expression.evaluate_money`, which rounds to satang (ROUND_HALF_UP)
  after first rounding away binary noise at 1e-6 baht, so ``37.5 * 12.345``
  (462.9375) is 462.94 and ``1.07 * 2.5`` (2.6750000000000003) is 2.68.
* **Null.**  Every declared field is bound; unanswered ones as ``null``.
  ``has_employees == true`` is then simply false; ``shop_area > 20.0`` is a
  run-time type error, which :meth:`Expression.evaluate_bool` counts as false.
* **``size()`` counts characters.**  The engine's native ``size`` counts UTF-8
  *bytes* of a string (``size("สวัสดี")`` is 18, not 6); every ``size`` call is
  redirected to a function of this module that counts code points (and list
  items, map entries, bytes).
* **Functions.**  Ours: ``today()``, ``age(date)``, ``working_days(a, b)``,
  ``thai_id_valid(s)``; the engine's standard ones (``size``, ``contains``,
  ``startsWith``, ``endsWith``, ``matches``, conversions, timestamp getters) and
  a selection of the cel-go extension libraries shipped with the engine
  (strings, math, ``min``/``max``/``sum``, list helpers, sets).  Every function
  that can produce a big value is guarded (``replace`` and ``join`` check the
  size before building their result).  :data:`KNOWN_FUNCTIONS` lists them all.

Bounded work
------------
The engine has no step limit and its ``map``/``filter`` are quadratic (each
step copies the accumulated list).  Every expression therefore carries a cost
model: work and value size estimated from its syntax tree, given the largest
collection (``L``) and the total size (``B``) of the data bound to it.  At
compile time ``L`` = :data:`ASSUMED_ITEMS` and ``B`` = :data:`ASSUMED_DATA`; at
run time the real figures (collected while converting the bindings) are used
whenever the expression has macros or repeats large data.  Over
:data:`MAX_COST` (about 0.2 s of engine time) or :data:`MAX_VALUE_SIZE` the
evaluation is refused with an :class:`ExpressionError` (so a condition is
false, a fee is an error) instead of hanging a worker.  Bound data is capped:
:data:`MAX_COLLECTION_ITEMS` per list or map, :data:`MAX_STRING_CHARS` per
string, :data:`MAX_BOUND_SIZE` in all.
"""
from __future__ import annotations

import difflib
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import Enum
from functools import lru_cache
from typing import Any

import cel
from cel import stdlib as _cel_stdlib

from eservice.plugins.thai_validators import is_valid_thai_id

__all__ = [
    "ASSUMED_ITEMS",
    "BANGKOK_OFFSET",
    "ExprEnv",
    "Expression",
    "EXTENSION_FUNCTIONS",
    "ExpressionError",
    "KNOWN_FUNCTIONS",
    "MACROS",
    "MAX_BOUND_SIZE",
    "MAX_COLLECTION_ITEMS",
    "MAX_COST",
    "MAX_MACRO_NESTING",
    "MAX_NESTING",
    "MAX_SOURCE_CHARS",
    "MAX_STRING_CHARS",
    "MAX_TREE_DEPTH",
    "NATIVE_FUNCTIONS",
    "OWN_FUNCTIONS",
    "RESERVED_WORDS",
    "bind",
    "compile_expression",
    "suggest",
    "thai_id_valid",
    "to_cel",
    "validate_functions",
    "validate_names",
]

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------- limits
#: Longest expression accepted (characters).  The definition models use the same.
MAX_SOURCE_CHARS = 2000
#: Deepest nesting of brackets ``( [ {`` and of the ``?:`` operator.
MAX_NESTING = 32
#: Deepest syntax tree (long chains such as ``!!!!x`` or ``a + b + … + z``).
MAX_TREE_DEPTH = 200
#: Deepest nesting of comprehension macros (``all``, ``exists``, ``map``…).
MAX_MACRO_NESTING = 3
#: Work budget of one evaluation, in cost units (1 unit ≈ 50 ns of engine time).
MAX_COST = 4_000_000
#: Largest value (characters + items) an evaluation may build.
MAX_VALUE_SIZE = 10_000_000
#: Compile-time assumption: items in a bound collection.
ASSUMED_ITEMS = 50
#: Compile-time assumption: total size of the bound data (characters + items).
ASSUMED_DATA = 10_000
#: Run-time caps on bound data (and on what guarded functions return).
MAX_COLLECTION_ITEMS = 10_000
MAX_STRING_CHARS = 100_000
MAX_BOUND_SIZE = 1_000_000
_MAX_BIND_DEPTH = 32
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

#: Asia/Bangkok as the fixed offset the engine understands (no DST since 1920).
BANGKOK_OFFSET = timezone(timedelta(hours=7), "+07:00")
_MIDNIGHT = time(0, 0)
_SATANG = Decimal("0.01")
_NOISE = Decimal("0.000001")


# ----------------------------------------------------------------------- errors
class ExpressionError(Exception):
    """An expression that cannot be compiled or evaluated.

    ``th`` and ``en`` say what is wrong in words an agency clerk can act on;
    ``source`` is the expression; ``line`` and ``column`` (1-based) point into it
    when known.
    """

    def __init__(self, th: str, en: str, source: str | None = None,
                 column: int | None = None, line: int | None = None):
        self.th = th
        self.en = en
        self.source = source
        self.column = column
        self.line = line
        where = ""
        if column is not None:
            where = f" (line {line}, column {column})" if line and line > 1 else f" (column {column})"
        super().__init__(f"{th} / {en}{where}")


def _pos_to_line_col(source: str, pos: int) -> tuple[int, int]:
    line = source.count("\n", 0, pos) + 1
    start = source.rfind("\n", 0, pos) + 1
    return line, pos - start + 1


def _error_at(source: str, pos: int | None, th: str, en: str) -> ExpressionError:
    if pos is None:
        return ExpressionError(th, en, source)
    line, col = _pos_to_line_col(source, pos)
    return ExpressionError(th, en, source, col, line)


# ------------------------------------------------------------------ environment
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
    _functions: dict = field(default=None, init=False, repr=False, compare=False, hash=False)

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
    the ``thai_national_id`` field type's (:mod:`eservice.plugins.thai_validators`).
    """
    return is_valid_thai_id(value)


def _as_date(value: Any, fn: str) -> date:
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


# The name every ``size`` call is redirected to (see module docstring).
_SIZE_FN = "_eservice_size"
_STATIC_FUNCTIONS = _static_functions()
EXTENSION_FUNCTIONS = frozenset(n for n in _STATIC_FUNCTIONS if n not in (_SIZE_FN, "thai_id_valid"))

#: Every function name an expression may call (for the load-time check).
KNOWN_FUNCTIONS: frozenset[str] = frozenset(OWN_FUNCTIONS | MACROS | NATIVE_FUNCTIONS | EXTENSION_FUNCTIONS)

# Functions implemented in Python (a call crosses into the interpreter: dearer).
_PY_FUNCTIONS = frozenset(EXTENSION_FUNCTIONS | OWN_FUNCTIONS | {"size"})

#: Words CEL reserves: they can never be names of fields.
RESERVED_WORDS = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
    "function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
    "void", "while",
})


# ---------------------------------------------------------------- tokenizer
class _Tok:
    __slots__ = ("kind", "text", "pos")

    def __init__(self, kind: str, text: str, pos: int):
        self.kind = kind  # id | num | str | op | eof
        self.text = text
        self.pos = pos

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{self.kind}:{self.text!r}@{self.pos}"


_NUM_RE = re.compile(
    r"0[xX][0-9a-fA-F]+[uU]?"
    r"|(?:[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)"
    r"|[0-9]+[uU]?"
)
_ID_RE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_OPS2 = frozenset({"==", "!=", "<=", ">=", "&&", "||"})
_OPS1 = frozenset("-+*/%<>!?:.,()[]{}")
_SPACE = frozenset(" \t\n\r\f\v")


class _SyntaxProblem(Exception):
    def __init__(self, pos: int, th: str, en: str):
        super().__init__(en)
        self.pos = pos
        self.th = th
        self.en = en


def _tokenize(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c in _SPACE:
            i += 1
            continue
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        # string literal, with optional r/b prefixes
        j = i
        while j < n and j - i < 2 and src[j] in "rRbB":
            j += 1
        if j < n and src[j] in "'\"" and (j == i or _ID_RE.fullmatch(src[i:j])):
            raw = "r" in src[i:j].lower()
            q = src[j]
            quote = q * 3 if src.startswith(q * 3, j) else q
            k = j + len(quote)
            while True:
                if k >= n:
                    raise _SyntaxProblem(i, "ข้อความไม่มีเครื่องหมายคำพูดปิด", "a string has no closing quote")
                if not raw and src[k] == "\\":
                    k += 2
                    continue
                if src.startswith(quote, k):
                    k += len(quote)
                    break
                if len(quote) == 1 and src[k] == "\n":
                    raise _SyntaxProblem(i, "ข้อความไม่มีเครื่องหมายคำพูดปิด", "a string has no closing quote")
                k += 1
            toks.append(_Tok("str", src[i:k], i))
            i = k
            continue
        m = _NUM_RE.match(src, i) if (c.isdigit() or (c == "." and i + 1 < n and src[i + 1].isdigit())) else None
        if m and c.isascii():
            toks.append(_Tok("num", m.group(), i))
            i = m.end()
            continue
        m = _ID_RE.match(src, i)
        if m:
            toks.append(_Tok("id", m.group(), i))
            i = m.end()
            continue
        if src[i:i + 2] in _OPS2:
            toks.append(_Tok("op", src[i:i + 2], i))
            i += 2
            continue
        if c in _OPS1:
            toks.append(_Tok("op", c, i))
            i += 1
            continue
        raise _SyntaxProblem(i, f"มีอักขระที่ใช้ไม่ได้ `{c}`", f"character `{c}` is not allowed here")
    toks.append(_Tok("eof", "", n))
    return toks


def _bracket_depth(toks: list[_Tok]) -> tuple[int, int]:
    """Deepest nesting of brackets and of ``?`` and where it is reached."""
    depth = best = best_pos = 0
    for t in toks:
        if t.kind != "op":
            continue
        if t.text in "([{?":
            depth += 1
            if depth > best:
                best, best_pos = depth, t.pos
        elif t.text in ")]}":
            depth -= 1
    return best, best_pos


# ------------------------------------------------------------------- parser
class _Node:
    """A syntax-tree node of the analysis parser.

    kinds: lit (name = literal kind, size = characters of a string), ident,
    select (name = field), call (name, target or None, kids = args), index,
    list, map (kids = k1, v1, k2, v2 …), msg, unary, binary (name = op), cond.
    """

    __slots__ = ("kind", "pos", "name", "kids", "target", "size", "depth")

    def __init__(self, kind: str, pos: int, name: str = "", kids: tuple = (),
                 target: _Node | None = None, size: int = 1):
        self.kind = kind
        self.pos = pos
        self.name = name
        self.kids = kids
        self.target = target
        self.size = size
        depth = target.depth if target is not None else 0
        for kid in kids:
            if kid.depth > depth:
                depth = kid.depth
        self.depth = depth + 1


_RELOPS = frozenset({"<", "<=", ">=", ">", "==", "!=", "in"})


class _Parser:
    def __init__(self, toks: list[_Tok]):
        self.toks = toks
        self.i = 0
        self.depth = 0

    # token helpers
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def at(self, text: str) -> bool:
        t = self.toks[self.i]
        return t.kind in ("op", "id") and t.text == text

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, text: str) -> _Tok:
        if not self.at(text):
            t = self.tok
            raise _SyntaxProblem(t.pos, f"ต้องมี `{text}` ตรงนี้", f"expected `{text}` here")
        return self.take()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING * 2:
            raise _SyntaxProblem(self.tok.pos, "นิพจน์ซ้อนกันลึกเกินไป", "the expression is nested too deeply")

    # grammar
    def parse(self) -> _Node:
        node = self.expr()
        if self.tok.kind != "eof":
            raise _SyntaxProblem(self.tok.pos, f"ไม่ควรมี `{self.tok.text}` ตรงนี้",
                                 f"unexpected `{self.tok.text}`")
        return node

    def expr(self) -> _Node:
        self.enter()
        cond = self.or_()
        if self.at("?"):
            pos = self.take().pos
            a = self.or_()
            self.expect(":")
            b = self.expr()
            cond = _Node("cond", pos, kids=(cond, a, b))
        self.depth -= 1
        return cond

    def or_(self) -> _Node:
        left = self.and_()
        while self.at("||"):
            pos = self.take().pos
            left = _Node("binary", pos, "||", (left, self.and_()))
        return left

    def and_(self) -> _Node:
        left = self.rel()
        while self.at("&&"):
            pos = self.take().pos
            left = _Node("binary", pos, "&&", (left, self.rel()))
        return left

    def rel(self) -> _Node:
        left = self.add()
        while self.tok.text in _RELOPS and self.tok.kind in ("op", "id"):
            t = self.take()
            left = _Node("binary", t.pos, t.text, (left, self.add()))
        return left

    def add(self) -> _Node:
        left = self.mul()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            t = self.take()
            left = _Node("binary", t.pos, t.text, (left, self.mul()))
        return left

    def mul(self) -> _Node:
        left = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/", "%"):
            t = self.take()
            left = _Node("binary", t.pos, t.text, (left, self.unary()))
        return left

    def unary(self) -> _Node:
        ops: list[_Tok] = []
        while self.tok.kind == "op" and self.tok.text in ("!", "-"):
            ops.append(self.take())
        node = self.member()
        for t in reversed(ops):
            node = _Node("unary", t.pos, t.text, (node,))
        return node

    def member(self) -> _Node:
        node = self.primary()
        while True:
            if self.at("."):
                self.take()
                t = self.take()
                if t.kind != "id":
                    raise _SyntaxProblem(t.pos, "ต้องมีชื่อหลังจุด", "expected a name after `.`")
                if self.at("("):
                    args = self.args("(", ")")
                    node = _Node("call", t.pos, t.text, args, target=node)
                elif self.at("{") and _is_ident_chain(node):
                    node = self.message(node, t)
                else:
                    node = _Node("select", t.pos, t.text, (node,))
            elif self.at("["):
                pos = self.take().pos
                self.enter()
                index = self.expr()
                self.depth -= 1
                self.expect("]")
                node = _Node("index", pos, "", (node, index))
            else:
                return node

    def args(self, open_: str, close: str) -> tuple[_Node, ...]:
        self.expect(open_)
        self.enter()
        out: list[_Node] = []
        if not self.at(close):
            out.append(self.expr())
            while self.at(","):
                self.take()
                if self.at(close):  # trailing comma (lists)
                    break
                out.append(self.expr())
        self.expect(close)
        self.depth -= 1
        return tuple(out)

    def message(self, type_node: _Node, t: _Tok) -> _Node:
        self.expect("{")
        self.enter()
        values: list[_Node] = []
        while not self.at("}"):
            name = self.take()
            if name.kind != "id":
                raise _SyntaxProblem(name.pos, "ต้องมีชื่อช่อง", "expected a field name")
            self.expect(":")
            values.append(self.expr())
            if not self.at(","):
                break
            self.take()
        self.expect("}")
        self.depth -= 1
        return _Node("msg", t.pos, t.text, tuple(values))

    def primary(self) -> _Node:
        t = self.tok
        if t.kind == "op" and t.text == "." and self.toks[self.i + 1].kind == "id":
            self.take()
            name = self.take()
            if self.at("("):
                return _Node("call", name.pos, name.text, self.args("(", ")"))
            return _Node("ident", name.pos, name.text)
        if t.kind == "id":
            if t.text in ("true", "false"):
                self.take()
                return _Node("lit", t.pos, "bool")
            if t.text == "null":
                self.take()
                return _Node("lit", t.pos, "null")
            if t.text in RESERVED_WORDS:
                raise _SyntaxProblem(t.pos, f"`{t.text}` เป็นคำสงวน", f"`{t.text}` is a reserved word")
            self.take()
            if self.at("("):
                return _Node("call", t.pos, t.text, self.args("(", ")"))
            if self.at("{"):
                return self.message(_Node("ident", t.pos, t.text), t)
            return _Node("ident", t.pos, t.text)
        if t.kind == "num":
            self.take()
            return _Node("lit", t.pos, "num")
        if t.kind == "str":
            self.take()
            return _Node("lit", t.pos, "str", size=max(1, len(t.text)))
        if t.kind == "op" and t.text == "(":
            self.take()
            node = self.expr()
            self.expect(")")
            return node
        if t.kind == "op" and t.text == "[":
            return _Node("list", t.pos, "", self.args("[", "]"))
        if t.kind == "op" and t.text == "{":
            self.take()
            self.enter()
            kids: list[_Node] = []
            while not self.at("}"):
                kids.append(self.expr())
                self.expect(":")
                kids.append(self.expr())
                if not self.at(","):
                    break
                self.take()
            self.expect("}")
            self.depth -= 1
            return _Node("map", t.pos, "", tuple(kids))
        if t.kind == "eof":
            raise _SyntaxProblem(t.pos, "นิพจน์จบก่อนครบ", "the expression ends too early")
        raise _SyntaxProblem(t.pos, f"ไม่ควรมี `{t.text}` ตรงนี้", f"unexpected `{t.text}`")


def _is_ident_chain(node: _Node) -> bool:
    while node.kind == "select":
        node = node.kids[0]
    return node.kind == "ident"


def _chain_name(node: _Node) -> str | None:
    """``a.b.c`` for a chain of selects on an identifier, else None."""
    parts: list[str] = []
    while node.kind == "select":
        parts.append(node.name)
        node = node.kids[0]
    if node.kind != "ident":
        return None
    parts.append(node.name)
    return ".".join(reversed(parts))


def _is_macro(node: _Node) -> bool:
    if node.kind != "call":
        return False
    if node.target is None:
        return node.name == "has" and len(node.kids) == 1
    if node.name not in _COMPREHENSIONS or not node.kids or node.kids[0].kind != "ident":
        return False
    return len(node.kids) == 2 or (node.name == "map" and len(node.kids) == 3)


def _qualified(node: _Node, scope: frozenset[str]) -> str | None:
    """The qualified function name of ``math.ceil(x)``-style calls, else None."""
    if node.target is None:
        return None
    chain = _chain_name(node.target)
    if chain is None:
        return None
    root = chain.split(".", 1)[0]
    if root in scope or root not in _NAMESPACES:
        return None
    return f"{chain}.{node.name}"


class _Analysis:
    def __init__(self) -> None:
        self.names: set[str] = set()
        self.paths: set[str] = set()
        self.functions: set[str] = set()
        self.bound: set[str] = set()
        self.macro_depth = 0
        self.macro_pos = 0
        self.macros = 0
        self.free_refs = 0
        self.max_literal_items = 0
        self.nodes = 0

    def walk(self, node: _Node, scope: frozenset[str], macro_depth: int) -> None:
        self.nodes += 1
        kind = node.kind
        if kind == "ident":
            if node.name in scope:
                return
            self.names.add(node.name)
            self.paths.add(node.name)
            self.free_refs += 1
            return
        if kind == "select":
            chain = _chain_name(node)
            if chain is not None:
                root = chain.split(".", 1)[0]
                if root not in scope:
                    self.names.add(root)
                    self.paths.add(chain)
                    self.free_refs += 1
                self.nodes += chain.count(".")
                return
        if kind in ("list", "map"):
            self.max_literal_items = max(self.max_literal_items, len(node.kids) // (2 if kind == "map" else 1))
        if kind == "call":
            if _is_macro(node):
                self.functions.add(node.name)
                if node.target is None:  # has(a.b)
                    self.walk(node.kids[0], scope, macro_depth)
                    return
                self.macros += 1
                depth = macro_depth + 1
                if depth > self.macro_depth:
                    self.macro_depth, self.macro_pos = depth, node.pos
                var = node.kids[0].name
                self.bound.add(var)
                self.walk(node.target, scope, macro_depth)
                inner = scope | {var}
                for kid in node.kids[1:]:
                    self.walk(kid, inner, depth)
                return
            qualified = _qualified(node, scope)
            if qualified is not None:
                self.functions.add(qualified)
                for kid in node.kids:
                    self.walk(kid, scope, macro_depth)
                return
            self.functions.add(node.name)
        if node.target is not None:
            self.walk(node.target, scope, macro_depth)
        for kid in node.kids:
            self.walk(kid, scope, macro_depth)


# -------------------------------------------------------------------- cost model
_FN_RESULT_SAME = frozenset({"substring", "trim", "lowerAscii", "upperAscii", "reverse", "charAt",
                             "sort", "distinct", "slice", "string", "bytes", "dyn"})
_FN_RESULT_CAPPED = frozenset({"replace", "join", "split", "flatten"})


class _Budget(Exception):
    pass


class _Estimator:
    """Upper estimates of work (cost units) and value size for one evaluation.

    *items* is the largest collection in the bound data, *data* its total size
    (characters + items).  See the module docstring, "Bounded work".
    """

    def __init__(self, items: int, data: int, literal_items: int):
        self.items = max(items, literal_items, 1)
        self.data = max(data, 1)
        self.max_size = 0

    def run(self, root: _Node) -> tuple[int, int]:
        cost, size, _ = self.est(root, {})
        return cost, max(size, self.max_size)

    def note(self, size: int) -> int:
        if size > self.max_size:
            self.max_size = size
            if size > MAX_VALUE_SIZE:
                raise _Budget()
        return size

    def est(self, node: _Node, scope: dict[str, tuple[int, int]]) -> tuple[int, int, int]:
        """(cost, size, items) of *node*."""
        kind = node.kind
        if kind == "lit":
            return 1, node.size, 0
        if kind == "ident":
            if node.name in scope:
                size, items = scope[node.name]
                return 1, size, items
            return 1, self.data, self.items
        if kind == "select":
            chain = _chain_name(node)
            if chain is not None:
                root = chain.split(".", 1)[0]
                if root in scope:
                    size, items = scope[root]
                    return 1 + chain.count("."), size, self.items
                return 1 + chain.count("."), self.data, self.items
            cost, size, _ = self.est(node.kids[0], scope)
            return cost + 1, size, self.items
        if kind == "index":
            c1, s1, _ = self.est(node.kids[0], scope)
            c2, _, _ = self.est(node.kids[1], scope)
            return c1 + c2 + 1, s1, self.items
        if kind in ("list", "map", "msg"):
            cost = size = 1
            for kid in node.kids:
                c, s, _ = self.est(kid, scope)
                cost += c
                size += s
            n = len(node.kids) // (2 if kind == "map" else 1)
            return cost, self.note(size), n
        if kind == "unary":
            c, s, _ = self.est(node.kids[0], scope)
            return c + 1, 1, 0
        if kind == "binary":
            cl, sl, il = self.est(node.kids[0], scope)
            cr, sr, ir = self.est(node.kids[1], scope)
            op = node.name
            if op == "+":
                size = self.note(sl + sr)
                return cl + cr + 1 + size // 256, size, il + ir
            if op in ("==", "!=", "in"):
                return cl + cr + 1 + (sl + sr) // 256 + (ir if op == "in" else 0), 1, 0
            return cl + cr + 1, 1, 0
        if kind == "cond":
            c0, _, _ = self.est(node.kids[0], scope)
            c1, s1, i1 = self.est(node.kids[1], scope)
            c2, s2, i2 = self.est(node.kids[2], scope)
            return c0 + c1 + c2 + 1, max(s1, s2), max(i1, i2)
        if kind == "call":
            return self.call(node, scope)
        return 1, 1, 0  # pragma: no cover - every kind is handled above

    def call(self, node: _Node, scope: dict[str, tuple[int, int]]) -> tuple[int, int, int]:
        if _is_macro(node):
            if node.target is None:  # has()
                return 2, 1, 0
            ct, st, it = self.est(node.target, scope)
            n = max(it, 0)
            inner = dict(scope)
            # an element: on average its share of the collection (summed over
            # the steps this is the whole collection, which is what matters)
            inner[node.kids[0].name] = (max(1, st // max(n, 1)), self.items)
            cb = sb = 0
            for kid in node.kids[1:]:
                c, s, _ = self.est(kid, inner)
                cb += c
                sb = s
            cost = ct + n * (1 + cb)
            name = node.name
            if name in ("map", "filter"):
                out_size = self.note(n * sb if name == "map" else st)
                # each step copies the list built so far
                cost += n * n // 2 + n * out_size // 512
                return cost, out_size, n
            return cost, 1, 0
        qualified = _qualified(node, frozenset(scope))
        name = qualified or node.name
        cost = 20 if name in _PY_FUNCTIONS else 1
        sizes: list[int] = []
        items_first = 0
        args = list(node.kids)
        if node.target is not None and qualified is None:
            args.insert(0, node.target)
        for k, arg in enumerate(args):
            c, s, i = self.est(arg, scope)
            cost += c
            sizes.append(s)
            if k == 0:
                items_first = i
        if name in _PY_FUNCTIONS:
            cost += sum(sizes) // 64  # converting the arguments to Python
        first = sizes[0] if sizes else 1
        if name in _FN_RESULT_CAPPED:
            return cost + MAX_STRING_CHARS // 256, self.note(MAX_STRING_CHARS), MAX_COLLECTION_ITEMS
        if name in _FN_RESULT_SAME:
            return cost + first // 256, self.note(first + 32), items_first
        return cost, 1, 0


# ---------------------------------------------------------------- binding values
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
    """*value* as the engine takes it (see the module docstring for each type).

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


# -------------------------------------------------------------- engine messages
_ENGINE_ERR = re.compile(r"<input>:(\d+):(\d+): (.*)")
_TOKEN_QUOTE = re.compile(r"'([^']*)'")


def _syntax_error(source: str, exc: Exception) -> ExpressionError:
    text = str(exc)
    m = _ENGINE_ERR.search(text)
    if not m:
        return ExpressionError("นิพจน์เขียนไม่ถูกต้องตามไวยากรณ์", f"syntax error: {text[:300]}", source)
    line, col, detail = int(m.group(1)), int(m.group(2)), m.group(3).strip()
    lines = source.split("\n")
    before = lines[line - 1][:col - 1] if 0 < line <= len(lines) else ""
    word = re.search(r"\b(and|or|not)\s*$", before)
    if word:
        op = {"and": "&&", "or": "||", "not": "!"}[word.group(1)]
        return ExpressionError(f"ใช้ `{op}` แทน `{word.group(1)}`", f"use `{op}` instead of `{word.group(1)}`",
                               source, col - len(word.group(0)), line)
    th, en = _explain(detail)
    return ExpressionError(th, en, source, col, line)


def _explain(detail: str) -> tuple[str, str]:
    if "token recognition error at: " in detail:
        token = detail.split("token recognition error at: ", 1)[1]
        token = token[1:-1] if len(token) >= 2 and token[0] == token[-1] == "'" else token
    else:
        quoted = (re.search(r"input '(.*?)' expecting", detail)
                  or re.search(r"input '(.*)'", detail) or _TOKEN_QUOTE.search(detail))
        token = quoted.group(1) if quoted else ""
    lowered = token.strip().lower()
    if "reserved identifier" in detail:
        word = detail.rsplit(":", 1)[-1].strip()
        return (f"`{word}` เป็นคำสงวน ใช้เป็นชื่อไม่ได้",
                f"`{word}` is a reserved word and cannot be used as a name")
    if "token recognition error" in detail:
        if token.startswith("="):
            return ("ใช้ `==` เพื่อเปรียบเทียบ (เครื่องหมาย `=` ตัวเดียวใช้ไม่ได้)",
                    "use `==` to compare (a single `=` is not allowed)")
        if token[:1] in ("'", '"'):
            return "ข้อความไม่มีเครื่องหมายคำพูดปิด", "a string has no closing quote"
        if token and not token[0].isascii():
            return (f"มีอักขระ `{token[0]}` ที่ใช้ไม่ได้: ชื่อในนิพจน์ใช้ได้เฉพาะ a–z, 0–9 และ _ "
                    "(ข้อความภาษาไทยต้องอยู่ในเครื่องหมายคำพูด)",
                    f"character `{token[0]}` is not allowed: names use only a–z, 0–9 and _ "
                    "(put Thai text inside quotes)")
        return f"มีอักขระที่ใช้ไม่ได้ `{token.strip()}`", f"character `{token.strip()}` is not allowed here"
    if lowered in ("and", "or", "not"):
        op = {"and": "&&", "or": "||", "not": "!"}[lowered]
        return f"ใช้ `{op}` แทน `{token}`", f"use `{op}` instead of `{token}`"
    if "missing" in detail:
        m = re.search(r"missing '([^']*)'", detail)
        if m:
            return f"ขาด `{m.group(1)}`", f"missing `{m.group(1)}`"
    if token == "<EOF>" or "Incomplete" in detail:
        return ("นิพจน์จบก่อนครบ (ขาดตัวเลข ชื่อ หรือวงเล็บปิดหรือไม่)",
                "the expression ends too early (a missing operand or closing bracket?)")
    if token:
        return f"ไม่ควรมี `{token}` ตรงนี้", f"unexpected `{token}`"
    return "นิพจน์เขียนไม่ถูกต้องตามไวยากรณ์", f"syntax error: {detail[:200]}"


def _runtime_error(source: str, exc: Exception) -> ExpressionError:
    text = str(exc)
    if isinstance(exc, ZeroDivisionError) or "division by zero" in text:
        th, en = "หารด้วยศูนย์", "division by zero"
    elif isinstance(exc, OverflowError) or "overflow" in text.lower():
        th, en = "ผลคำนวณใหญ่เกินไป", "arithmetic overflow"
    elif "No such overload" in text or "Unsupported operation" in text or "Unsupported" in text:
        th = ("ชนิดข้อมูลไม่เข้ากัน เช่น ค่าว่าง (ยังไม่ได้ตอบ) หรือจำนวนเต็มกับทศนิยม "
              "(เขียน 10.0 หรือ double(x))")
        en = ("the values have types that do not go together, e.g. null (unanswered) or an integer "
              "with a decimal (write 10.0 or double(x))")
    elif "Undefined variable or function" in text:
        m = re.search(r"'([^']+)'", text)
        name = m.group(1) if m else "?"
        th, en = f"ไม่รู้จักชื่อ `{name}`", f"unknown name `{name}`"
    elif isinstance(exc, KeyError):
        th, en = f"ไม่มีข้อมูล {text}", f"no such key {text}"
    elif isinstance(exc, IndexError):
        th, en = "ลำดับรายการเกินขอบเขต", f"index out of range ({text})"
    else:
        th, en = "คำนวณนิพจน์ไม่ได้", f"evaluation failed: {type(exc).__name__}: {text[:300]}"
    return ExpressionError(f"คำนวณไม่ได้: {th}", f"cannot evaluate: {en}", source)


# ---------------------------------------------------------------- expressions
_DEFAULT_ENV: ExprEnv | None = None


def _default_env() -> ExprEnv:
    global _DEFAULT_ENV
    if _DEFAULT_ENV is None:
        _DEFAULT_ENV = ExprEnv()
    return _DEFAULT_ENV


class Expression:
    """One compiled expression; immutable and safe to share between threads.

    ``source`` is the text; ``names`` the free top-level names it reads;
    ``paths`` the dotted paths it reads (``shop.area``); ``functions`` the
    functions and macros it calls; ``bound_names`` the names its macros bind.
    """

    __slots__ = ("source", "names", "paths", "functions", "bound_names", "macro_depth",
                 "_program", "_names", "_fns_env", "_fns_static", "_tree", "_literal_items",
                 "_check_always", "_free_refs", "_cost_cache", "__weakref__")

    def __init__(self, source: str, program: Any, tree: _Node, analysis: _Analysis):
        self.source = source
        self.names: frozenset[str] = frozenset(analysis.names)
        self.paths: frozenset[str] = frozenset(analysis.paths)
        self.functions: frozenset[str] = frozenset(analysis.functions)
        self.bound_names: frozenset[str] = frozenset(analysis.bound)
        self.macro_depth: int = analysis.macro_depth
        self._program = program
        self._names = tuple(sorted(self.names))
        used = set(self.functions) | ({_SIZE_FN} if "size" in self.functions else set())
        self._fns_env = tuple(sorted(used & {"today", "age", "working_days"}))
        self._fns_static = tuple((n, _STATIC_FUNCTIONS[n]) for n in sorted(used) if n in _STATIC_FUNCTIONS)
        self._tree = tree
        self._literal_items = analysis.max_literal_items
        self._check_always = analysis.macros > 0
        self._free_refs = analysis.free_refs
        self._cost_cache: dict[tuple[int, int], bool] = {}

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(self, "_cost_cache"):
            raise AttributeError("Expression is immutable")
        object.__setattr__(self, name, value)

    # -- evaluation ------------------------------------------------------------
    def _within_budget(self, items: int, size: int) -> bool:
        # round up to powers of two: a small cache and a conservative answer
        key = (1 << max(items, 1).bit_length(), 1 << max(size, 1).bit_length())
        ok = self._cost_cache.get(key)
        if ok is None:
            ok = _cost_ok(self._tree, key[0], key[1], self._literal_items)
            if len(self._cost_cache) > 64:
                self._cost_cache.clear()
            self._cost_cache[key] = ok
        return ok

    def _context(self, bindings: Mapping[str, Any], env: ExprEnv | None,
                 declared: Iterable[str] | None) -> tuple[Any, dict[str, Any]]:
        variables: dict[str, Any] = {}
        stats = _Stats()
        for name in self._names:
            try:
                value = bindings[name]
            except KeyError:
                if declared is not None and name not in declared:
                    raise ExpressionError(f"ไม่รู้จักชื่อ `{name}`", f"unknown name `{name}`", self.source) from None
                value = None
            t = type(value)
            if value is None or t is bool or t is float:
                variables[name] = value
                stats.size += 1
            else:
                variables[name] = _convert(value, stats, 0)
        if stats.size > MAX_BOUND_SIZE:
            raise ExpressionError("ข้อมูลที่ใช้ในนิพจน์มีขนาดใหญ่เกินไป",
                                  "the data bound to the expression is too large", self.source)
        if (self._check_always or self._free_refs * stats.size > 100_000) and not self._within_budget(
                stats.items, stats.size):
            raise ExpressionError(
                "ข้อมูลชุดนี้ทำให้นิพจน์ต้องคำนวณมากเกินกำหนด",
                f"with this data the expression would need more work than allowed "
                f"({stats.items} items, {stats.size} characters)", self.source)
        if not self._fns_env and not self._fns_static:
            return variables, variables
        functions = dict(self._fns_static)
        if self._fns_env:
            env_fns = (env or _default_env())._functions
            for name in self._fns_env:
                functions[name] = env_fns[name]
        return cel.Context(variables=variables, functions=functions), variables

    def evaluate(self, bindings: Mapping[str, Any] | None = None, env: ExprEnv | None = None, *,
                 declared: Iterable[str] | None = None) -> Any:
        """The value of the expression; raises :class:`ExpressionError` on failure.

        Only the names the expression reads are taken from *bindings* and
        converted (:func:`to_cel`).  A name missing from *bindings* is bound as
        null, unless *declared* is given and does not contain it (then it is an
        error).
        """
        if declared is not None and not isinstance(declared, (set, frozenset, dict)):
            declared = set(declared)
        try:
            context, _ = self._context(bindings or {}, env, declared)
        except ExpressionError as exc:
            if exc.source is None:
                exc.source = self.source
            raise
        try:
            return self._program.execute(context)
        except Exception as exc:  # the engine raises ValueError/TypeError/RuntimeError/…
            raise _runtime_error(self.source, exc) from exc

    def evaluate_bool(self, bindings: Mapping[str, Any] | None = None, env: ExprEnv | None = None, *,
                      declared: Iterable[str] | None = None) -> bool:
        """``True`` only when the expression evaluates to ``true``.

        A run-time error (a comparison with an unanswered field, a division by
        zero, data too large…) counts as ``False`` and is logged: at DEBUG when
        a name the expression reads is unanswered (the usual, harmless case),
        otherwise at WARNING.  A result that is not a boolean is ``False`` too.
        """
        bindings = bindings or {}
        try:
            result = self.evaluate(bindings, env, declared=declared)
        except ExpressionError as exc:
            unanswered = [n for n in self._names if bindings.get(n) is None]
            level = logging.DEBUG if unanswered else logging.WARNING
            if log.isEnabledFor(level):
                log.log(level, "expression %r counts as false: %s%s", self.source, exc.en,
                        f" (unanswered: {', '.join(unanswered)})" if unanswered else "")
            return False
        if result is True or result is False:
            return result
        if result is not None:
            log.warning("expression %r gave %s, not true/false: counts as false",
                        self.source, type(result).__name__)
        return False

    def evaluate_money(self, bindings: Mapping[str, Any] | None = None, env: ExprEnv | None = None, *,
                       declared: Iterable[str] | None = None) -> Decimal:
        """The value as baht with satang precision (``Decimal``, ROUND_HALF_UP).

        Raises :class:`ExpressionError` when evaluation fails or the value is
        not a number, is negative, NaN or infinite.
        """
        value = self.evaluate(bindings, env, declared=declared)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ExpressionError(
                "จำนวนเงินต้องเป็นตัวเลข", f"a money amount must be a number, got {type(value).__name__}",
                self.source)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ExpressionError("จำนวนเงินไม่ใช่ตัวเลขที่ใช้ได้ (NaN หรืออนันต์)",
                                      "the money amount is not a finite number", self.source)
            amount = Decimal(repr(value)).quantize(_NOISE, rounding=ROUND_HALF_EVEN)
        else:
            amount = Decimal(value)
        if amount < 0:
            raise ExpressionError("จำนวนเงินติดลบไม่ได้", f"a money amount cannot be negative ({amount})",
                                  self.source)
        return amount.quantize(_SATANG, rounding=ROUND_HALF_UP)


def _cost_ok(tree: _Node, items: int, size: int, literal_items: int) -> bool:
    try:
        cost, value = _Estimator(items, size, literal_items).run(tree)
    except _Budget:
        return False
    except RecursionError:  # pragma: no cover - nesting is bounded long before
        return False
    return cost <= MAX_COST and value <= MAX_VALUE_SIZE


# ---------------------------------------------------------------- compiling
def compile_expression(source: str) -> Expression:
    """Compile *source* once (cached); raise :class:`ExpressionError` if unusable."""
    if not isinstance(source, str):
        raise ExpressionError("นิพจน์ต้องเป็นข้อความ",
                              f"an expression must be text, not {type(source).__name__}", None)
    return _compile(source)


@lru_cache(maxsize=4096)
def _compile(source: str) -> Expression:
    if not source.strip():
        raise ExpressionError("นิพจน์ว่างเปล่า", "the expression is empty", source)
    if len(source) > MAX_SOURCE_CHARS:
        raise ExpressionError(f"นิพจน์ยาวเกิน {MAX_SOURCE_CHARS} ตัวอักษร",
                              f"the expression is longer than {MAX_SOURCE_CHARS} characters "
                              f"({len(source)})", source)
    if "\x00" in source:
        raise ExpressionError("นิพจน์มีอักขระ NUL", "the expression contains a NUL character", source)
    try:
        toks = _tokenize(source)
    except _SyntaxProblem:
        toks = None  # let the engine describe it
    if toks is not None:
        depth, pos = _bracket_depth(toks)
        if depth > MAX_NESTING:
            raise _error_at(source, pos, f"วงเล็บ (หรือ ?:) ซ้อนกันลึกเกิน {MAX_NESTING} ชั้น",
                            f"brackets (or ?:) are nested deeper than {MAX_NESTING} levels")
    tree: _Node | None = None
    problem: _SyntaxProblem | None = None
    if toks is not None:
        try:
            tree = _Parser(toks).parse()
        except _SyntaxProblem as exc:
            problem = exc
        except RecursionError:  # pragma: no cover - bounded by MAX_NESTING
            problem = _SyntaxProblem(0, "นิพจน์ซ้อนกันลึกเกินไป", "the expression is nested too deeply")
    if tree is None:
        try:
            cel.compile(source)
        except Exception as exc:
            raise _syntax_error(source, exc) from None
        if problem is not None:
            raise _error_at(source, problem.pos, problem.th, problem.en)
        raise ExpressionError("นิพจน์เขียนไม่ถูกต้อง", "the expression cannot be read", source)
    if tree.depth > MAX_TREE_DEPTH:
        raise ExpressionError(f"นิพจน์มีตัวดำเนินการต่อกันยาวเกินไป (เกิน {MAX_TREE_DEPTH} ชั้น)",
                              f"the expression chains too many operators (more than {MAX_TREE_DEPTH} levels)",
                              source)
    analysis = _Analysis()
    analysis.walk(tree, frozenset(), 0)
    if analysis.macro_depth > MAX_MACRO_NESTING:
        raise _error_at(source, analysis.macro_pos,
                        f"all/exists/map/filter ซ้อนกันเกิน {MAX_MACRO_NESTING} ชั้น",
                        f"all/exists/map/filter are nested deeper than {MAX_MACRO_NESTING} levels")
    try:
        program = cel.compile(source)
    except Exception as exc:
        raise _syntax_error(source, exc) from None
    if not _cost_ok(tree, ASSUMED_ITEMS, ASSUMED_DATA, analysis.max_literal_items):
        raise ExpressionError(
            "นิพจน์นี้ต้องคำนวณมากเกินไป (รายการซ้อนกันหรือข้อความที่ขยายตัวมากเกินไป)",
            "the expression would need too much work or build too large a value "
            "(nested lists or repeatedly growing text)", source)
    if "size" in analysis.functions:
        rewritten = _rewrite_size(source, toks)
        if rewritten != source:
            program = cel.compile(rewritten)
    return Expression(source, program, tree, analysis)


def _rewrite_size(source: str, toks: list[_Tok]) -> str:
    """Every call of ``size`` -> our character-counting function."""
    out: list[str] = []
    last = 0
    for k, t in enumerate(toks[:-1]):
        if t.kind == "id" and t.text == "size" and toks[k + 1].kind == "op" and toks[k + 1].text == "(":
            out.append(source[last:t.pos])
            out.append(_SIZE_FN)
            last = t.pos + len(t.text)
    out.append(source[last:])
    return "".join(out)


# ---------------------------------------------------------------- load-time help
def validate_names(expr: Expression, declared: Iterable[str]) -> list[str]:
    """The names *expr* reads that are not in *declared*, sorted."""
    known = declared if isinstance(declared, (set, frozenset)) else set(declared)
    return sorted(n for n in expr.names if n not in known)


def validate_functions(expr: Expression, known: Iterable[str] = KNOWN_FUNCTIONS) -> list[str]:
    """The functions *expr* calls that do not exist, sorted."""
    known = known if isinstance(known, (set, frozenset)) else set(known)
    return sorted(n for n in expr.functions if n not in known)


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to *name* ("did you mean `shop_area`?"), or None."""
    pool = [c for c in candidates if c and c != name]
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if close:
        return close[0]
    lowered = {c.lower(): c for c in pool}
    return lowered.get(name.lower())
