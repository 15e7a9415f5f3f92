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
  arithmetic (``area * 10`` fails when ``area`` is a double); comparisons
  across the two work.  A definition's expressions are type-checked when it
  loads (:mod:`eservice.expr.types`) and whole numbers that meet decimals are
  rewritten there (``10`` -> ``10.0``), so clerks need not write ``double()``;
  an expression compiled here directly gets no such help.  Fees come back through
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

Modules
-------
==================  =========================================================
``__init__``        :class:`Expression`, :func:`compile_expression`, load-time help
``limits``          the limits above (``MAX_*``, ``ASSUMED_*``)
``errors``          :class:`ExpressionError`; the engine's messages in Thai and English
``functions``       :class:`ExprEnv`, our functions, :data:`KNOWN_FUNCTIONS`
``_parser``         tokenizer, analysis parser, free names and paths
``_cost``           the cost model ("Bounded work")
``binding``         :func:`to_cel`, :func:`bind`: host values to CEL values
``types``           types of names and expressions, checked at load; int -> double conversion
==================  =========================================================
"""
from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

import cel

from ._cost import _cost_ok
from ._parser import (
    RESERVED_WORDS,
    _Analysis,
    _bracket_depth,
    _Node,
    _Parser,
    _SyntaxProblem,
    _Tok,
    _tokenize,
)
from .binding import _convert, _Stats, bind, to_cel
from .errors import ExpressionError, _error_at, _runtime_error, _syntax_error
from .functions import (
    _SIZE_FN,
    _STATIC_FUNCTIONS,
    BANGKOK_OFFSET,
    EXTENSION_FUNCTIONS,
    KNOWN_FUNCTIONS,
    MACROS,
    NATIVE_FUNCTIONS,
    OWN_FUNCTIONS,
    ExprEnv,
    thai_id_valid,
)
from .limits import (
    ASSUMED_DATA,
    ASSUMED_ITEMS,
    MAX_BOUND_SIZE,
    MAX_COLLECTION_ITEMS,
    MAX_COST,
    MAX_MACRO_NESTING,
    MAX_NESTING,
    MAX_SOURCE_CHARS,
    MAX_STRING_CHARS,
    MAX_TREE_DEPTH,
    MAX_VALUE_SIZE,
)

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

_SATANG = Decimal("0.01")
_NOISE = Decimal("0.000001")


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
        assert toks is not None  # a tree is only ever parsed from tokens
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
