"""Types of expressions, checked when a definition loads (A-SP3, issue #10 item 1).

Every name an expression can read has a type (:class:`T`): the form's fields
by their field type, calculations by what their expression gives, an officer's
inputs by the input type, and the names guards get (``input``, ``paid``,
``state``, ``documents``).  :func:`check_types` walks the analysis tree of
:mod:`eservice.expr._parser` and reports, each at its place in the text:

* a member a group item, an address or ``input`` does not have
  (``item.horsepowr``), with the closest name;
* arguments of the wrong type for ``age()``, ``working_days()``, ``size()``,
  ``thai_id_valid()``, ``contains()`` … and for the conversions;
* a ``duration("6M")`` or ``timestamp("…")`` literal the engine would refuse
  at run time;
* operators between types that never combine (text + number, a date < a
  number, ``!`` on a number);
* a ``when`` / guard / rule that does not give true or false, and a fee that
  is not a number (the callers say which result they need: :func:`check_result`).

**Whole and decimal numbers mix freely.**  CEL never mixes ``int`` and
``double`` in arithmetic (``(horsepower - 5) * 10`` fails at run time when
``horsepower`` is a decimal).  Where one side is a whole number and the other a
decimal, the engine converts the whole number itself: :func:`check_types`
returns the expression rewritten (``(horsepower - 5.0) * 10.0``; a whole-number
expression such as ``size(items)`` becomes ``double(size(items))``), and the
loader compiles that text.  A clerk never needs ``double()``; it still works.
The conversion is sound: every whole number an answer can hold is exact as a
double.  Nothing converts a decimal to a whole number (that would lose the
fraction): ``int(x)`` says so explicitly.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from ._parser import _is_macro, _Node, _qualified

__all__ = ["T", "TypeProblem", "TypeResult", "check_types", "check_result", "INT", "DOUBLE", "MONEY",
           "STRING", "BOOL", "DATE", "DURATION", "DYN", "NULL", "list_of", "record", "map_of"]


@dataclass(frozen=True)
class T:
    """A type: ``kind`` is int, double, string, bool, timestamp, duration,
    list, map, null, bytes, uint or dyn (unknown: anything goes).  ``elem`` is
    a list's item type or a map's value type; ``fields`` the known members of
    a record-like map (a group item, an address, ``input``); ``label`` how a
    clerk calls it (``decimal``, ``money``, ``date``)."""

    kind: str
    elem: "T | None" = None
    fields: "Mapping[str, T] | None" = field(default=None, compare=False, hash=False)
    label: str = ""
    what: str = ""  # what a record is ("group item `machines`"), for messages

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        if self.kind == "list" and self.elem is not None and self.elem.kind != "dyn":
            return f"list of {self.elem.name}"
        return _NAMES.get(self.kind, self.kind)

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "double", "uint")


_NAMES = {"int": "whole number", "double": "decimal", "string": "text", "bool": "true/false",
          "timestamp": "date", "duration": "duration", "map": "record", "dyn": "any"}
_NAMES_TH = {"int": "จำนวนเต็ม", "double": "ทศนิยม", "string": "ข้อความ", "bool": "จริง/เท็จ",
             "timestamp": "วันที่", "duration": "ช่วงเวลา", "list": "รายการ", "map": "ชุดข้อมูล",
             "null": "ค่าว่าง", "dyn": "ค่าใดก็ได้", "uint": "จำนวนเต็มไม่ติดลบ", "bytes": "ไบต์"}

INT = T("int")
DOUBLE = T("double", label="decimal")
MONEY = T("double", label="money")
STRING = T("string")
BOOL = T("bool")
DATE = T("timestamp", label="date")
DURATION = T("duration")
DYN = T("dyn")
NULL = T("null")


def list_of(elem: T) -> T:
    return T("list", elem)


def map_of(value: T) -> T:
    return T("map", value)


def record(fields: Mapping[str, T], what: str = "") -> T:
    return T("map", DYN, dict(fields), what=what)


def th_name(t: T) -> str:
    if t.label == "money":
        return "จำนวนเงิน"
    return _NAMES_TH.get(t.kind, t.kind)


@dataclass
class TypeProblem:
    """One finding, at character ``pos`` of the expression."""

    pos: int
    th: str
    en: str
    fix_th: str = ""
    fix_en: str = ""


@dataclass
class TypeResult:
    type: T
    problems: list[TypeProblem]
    rewritten: str  # the source with whole numbers converted where they meet decimals




@lru_cache(maxsize=512)
def _engine_reads(fn: str, literal: str) -> bool:
    """Does the engine accept ``fn(literal)`` (a string literal as written)?"""
    import cel

    try:
        cel.compile(f"{fn}({literal})").execute({})
    except Exception:
        return False
    return True

_DURATION_UNITS = {"d": 24, "D": 24, "w": 24 * 7, "W": 24 * 7}

_TIMESTAMP_GETTERS = frozenset({"getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfWeek",
                                "getDayOfYear", "getHours", "getMinutes", "getSeconds", "getMilliseconds"})
_STRING_BOOL = frozenset({"contains", "startsWith", "endsWith", "matches"})
_STRING_STRING = frozenset({"lowerAscii", "upperAscii", "trim", "replace", "substring", "charAt", "reverse",
                            "format", "quote"})


def _literal_text(source: str, node: _Node) -> str:
    return source[node.start:node.end]


def _string_value(source: str, node: _Node) -> str | None:
    """The value of a plain string literal (no escapes), else None."""
    if node.kind != "lit" or node.name != "str":
        return None
    text = _literal_text(source, node)
    if text[:1] in "rRbB":
        return None
    for q in ('"""', "'''", '"', "'"):
        if text.startswith(q) and text.endswith(q) and len(text) >= 2 * len(q):
            inner = text[len(q):-len(q)]
            return None if "\\" in inner else inner
    return None


class _Checker:
    def __init__(self, source: str, env: Mapping[str, T]):
        self.src = source
        self.env = env
        self.problems: list[TypeProblem] = []
        self.edits: list[tuple[int, int, int, str]] = []  # (position, order, -, text)

    # -- reporting and conversions -----------------------------------------
    def problem(self, node: _Node, th: str, en: str, fix: tuple[str, str] = ("", "")) -> None:
        self.problems.append(TypeProblem(node.pos, th, en, fix[0], fix[1]))

    def to_double(self, node: _Node) -> None:
        """Rewrite *node* (a whole number) so that it gives a decimal."""
        if node.kind == "lit" and node.name == "num":
            text = _literal_text(self.src, node)
            if re.fullmatch(r"[0-9]+", text):
                self.edits.append((node.end, 0, node.end - node.start, ".0"))
                return
        if node.kind == "unary" and node.name == "-" and node.kids[0].kind == "lit":
            self.to_double(node.kids[0])
            return
        span = node.end - node.start
        self.edits.append((node.start, 1, span, "double("))
        self.edits.append((node.end, 0, span, ")"))

    def rewritten(self) -> str:
        # insert from the end; at one position: closing texts of wider spans first
        # (they end up after the inner ones), opening texts of narrower spans first
        out = self.src
        for pos, kind, span, text in sorted(self.edits, key=lambda e: (e[0], e[1], -e[2] if e[1] == 0 else e[2]),
                                            reverse=True):
            out = out[:pos] + text + out[pos:]
        return out

    # -- the walk ----------------------------------------------------------
    def walk(self, node: _Node, scope: Mapping[str, T]) -> T:
        method = getattr(self, "k_" + node.kind, None)
        if method is None:
            for kid in node.kids:
                self.walk(kid, scope)
            return DYN
        result: T = method(node, scope)
        return result

    def k_lit(self, node: _Node, scope: Mapping[str, T]) -> T:
        if node.name == "bool":
            return BOOL
        if node.name == "null":
            return NULL
        if node.name == "str":
            return T("bytes") if _literal_text(self.src, node)[:1] in "bB" else STRING
        text = _literal_text(self.src, node)
        if text[-1:] in "uU":
            return T("uint")
        if text[:2] in ("0x", "0X"):
            return INT
        return DOUBLE if ("." in text or "e" in text or "E" in text) else INT

    def k_ident(self, node: _Node, scope: Mapping[str, T]) -> T:
        if node.name in scope:
            return scope[node.name]
        return self.env.get(node.name, DYN)

    def k_select(self, node: _Node, scope: Mapping[str, T]) -> T:
        base = self.walk(node.kids[0], scope)
        return self.member(node, base, node.name)

    def member(self, node: _Node, base: T, name: str) -> T:
        if base.kind == "dyn":
            return DYN
        if base.kind == "map":
            if base.fields is not None:
                if name in base.fields:
                    return base.fields[name]
                from difflib import get_close_matches
                close = get_close_matches(name, list(base.fields), n=1, cutoff=0.6)
                listed = ", ".join(f"`{k}`" for k in sorted(base.fields))
                what = base.what or "this record"
                fix = ((f"คุณหมายถึง `{close[0]}` ใช่หรือไม่", f"did you mean `{close[0]}`?") if close else
                       (f"ใช้ได้: {listed}", f"use one of: {listed}") if listed else
                       ("ประกาศไว้ก่อนใช้ (เช่น ใน `inputs` ของการดำเนินการ)",
                        "declare it before use (e.g. under the transition's `inputs`)"))
                self.problem(node, f"{what} ไม่มี `{name}`", f"{what} has no member `{name}`", fix)
                return DYN
            return base.elem or DYN
        self.problem(node, f"{th_name(base)} ไม่มีสมาชิก `{name}`",
                     f"a {base.name} has no member `.{name}`",
                     ("ใช้ `.` กับชุดข้อมูลเท่านั้น เช่น รายการในกลุ่ม หรือที่อยู่",
                      "`.` reads a member of a record only (a group item, an address, `input`)"))
        return DYN

    def k_index(self, node: _Node, scope: Mapping[str, T]) -> T:
        base = self.walk(node.kids[0], scope)
        key = self.walk(node.kids[1], scope)
        if base.kind == "list":
            if key.kind not in ("int", "uint", "dyn"):
                self.problem(node, "ลำดับในรายการต้องเป็นจำนวนเต็ม", f"a list index must be a whole number, "
                             f"not {key.name}", ("เขียนเลขลำดับ เช่น `[0]`", "write a position such as `[0]`"))
            return base.elem or DYN
        if base.kind == "map":
            if base.fields is not None and node.kids[1].kind == "lit":
                name = _string_value(self.src, node.kids[1])
                if name is not None:
                    return self.member(node, base, name)
            return base.elem or DYN
        if base.kind != "dyn":
            self.problem(node, f"ใช้ [ ] กับ{th_name(base)}ไม่ได้", f"a {base.name} cannot be indexed with [ ]")
        return DYN

    def k_list(self, node: _Node, scope: Mapping[str, T]) -> T:
        types = [self.walk(k, scope) for k in node.kids]
        return list_of(self.unify(node.kids, types) if types else DYN)

    def k_map(self, node: _Node, scope: Mapping[str, T]) -> T:
        values = []
        for i, kid in enumerate(node.kids):
            t = self.walk(kid, scope)
            if i % 2:
                values.append(t)
        return map_of(self.unify(node.kids[1::2], values) if values else DYN)

    def unify(self, nodes: Sequence[_Node], types: list[T]) -> T:
        """The common type of list items or ?: branches (whole numbers become
        decimals when decimals are among them)."""
        kinds = {t.kind for t in types} - {"dyn", "null"}
        if kinds == {"int", "double"}:
            for n, t in zip(nodes, types):
                if t.kind == "int":
                    self.to_double(n)
            return next(t for t in types if t.kind == "double")
        concrete = [t for t in types if t.kind not in ("dyn", "null")]
        if len(kinds) == 1:
            return concrete[0]
        return DYN

    def k_unary(self, node: _Node, scope: Mapping[str, T]) -> T:
        t = self.walk(node.kids[0], scope)
        if node.name == "!":
            if t.kind not in ("bool", "dyn"):
                self.problem(node, f"`!` ใช้กับจริง/เท็จเท่านั้น ไม่ใช่{th_name(t)}",
                             f"`!` needs true/false, not a {t.name}",
                             ("เขียนการเปรียบเทียบ เช่น `!(x > 0)`", "write a comparison, e.g. `!(x > 0)`"))
            return BOOL
        if t.kind not in ("int", "double", "dyn", "duration"):
            self.problem(node, f"`-` ใช้กับตัวเลขเท่านั้น ไม่ใช่{th_name(t)}", f"`-` needs a number, not a {t.name}")
            return DYN
        return t

    def k_cond(self, node: _Node, scope: Mapping[str, T]) -> T:
        cond = self.walk(node.kids[0], scope)
        self.need_bool(node.kids[0], cond, "`?`")
        a, b = self.walk(node.kids[1], scope), self.walk(node.kids[2], scope)
        return self.unify(node.kids[1:], [a, b])

    def need_bool(self, node: _Node, t: T, where: str) -> None:
        if t.kind not in ("bool", "dyn"):
            self.problem(node, f"เงื่อนไขก่อน {where} ต้องเป็นจริง/เท็จ ไม่ใช่{th_name(t)}",
                         f"the condition before {where} must be true/false, not a {t.name}",
                         ("เขียนการเปรียบเทียบ เช่น `x > 0` หรือ `x == \"a\"`",
                          "write a comparison such as `x > 0` or `x == \"a\"`"))

    def k_binary(self, node: _Node, scope: Mapping[str, T]) -> T:
        op = node.name
        left, right = node.kids
        a, b = self.walk(left, scope), self.walk(right, scope)
        if op in ("&&", "||"):
            for kid, t in ((left, a), (right, b)):
                if t.kind not in ("bool", "dyn"):
                    self.problem(kid, f"`{op}` ใช้กับจริง/เท็จเท่านั้น ไม่ใช่{th_name(t)}",
                                 f"`{op}` joins true/false values, not a {t.name}",
                                 ("เขียนการเปรียบเทียบ เช่น `x > 0`", "write a comparison such as `x > 0`"))
            return BOOL
        if "dyn" in (a.kind, b.kind):
            if op in ("==", "!=", "<", "<=", ">", ">=", "in"):
                return BOOL
            return a if b.kind == "dyn" else b if op != "-" or a.kind != "timestamp" else DYN
        if op == "in":
            if b.kind not in ("list", "map"):
                self.problem(node, f"หลัง `in` ต้องเป็นรายการ ไม่ใช่{th_name(b)}",
                             f"`in` needs a list after it, not a {b.name}",
                             ("เช่น `\"a\" in checklist_field` หรือ `x in [\"a\", \"b\"]`",
                              "e.g. `\"a\" in checklist_field` or `x in [\"a\", \"b\"]`"))
            return BOOL
        if op in ("==", "!=", "<", "<=", ">", ">="):
            if a.kind == "null" or b.kind == "null":
                return BOOL
            if not (a.kind == b.kind or (a.numeric and b.numeric)):
                self.problem(node, f"เปรียบเทียบ{th_name(a)}กับ{th_name(b)}ไม่ได้",
                             f"a {a.name} cannot be compared with a {b.name}", _compare_fix(a, b))
            elif op not in ("==", "!=") and a.kind in ("bool", "list", "map"):
                self.problem(node, f"`{op}` ใช้กับ{th_name(a)}ไม่ได้", f"`{op}` does not order a {a.name}")
            return BOOL
        # arithmetic
        if a.numeric and b.numeric:
            if a.kind == b.kind:
                if a.kind == "double" and "money" in (a.label, b.label) and op in ("+", "-"):
                    return MONEY
                return a if a.label == "money" or b.label != "money" else b
            if {a.kind, b.kind} == {"int", "double"}:
                self.to_double(left if a.kind == "int" else right)
                return a if a.kind == "double" else b
            self.problem(node, "ใช้ตัวเลขแบบไม่ติดลบ (u) ปนกับตัวเลขอื่นไม่ได้",
                         "an unsigned number (u) cannot be mixed with other numbers",
                         ("ลบ `u` ออกจากตัวเลข", "remove the `u` from the number"))
            return DYN
        if op == "+":
            if a.kind == b.kind and a.kind in ("string", "list", "bytes", "duration"):
                return a
            if {a.kind, b.kind} == {"timestamp", "duration"}:
                return DATE
        if op == "-":
            if a.kind == "timestamp" and b.kind == "timestamp":
                return DURATION
            if a.kind == "timestamp" and b.kind == "duration":
                return DATE
            if a.kind == b.kind == "duration":
                return DURATION
        self.problem(node, f"ใช้ `{op}` กับ{th_name(a)}และ{th_name(b)}ไม่ได้",
                     f"`{op}` cannot combine a {a.name} and a {b.name}", _arith_fix(a, b))
        return DYN

    # -- calls -----------------------------------------------------------------
    def k_call(self, node: _Node, scope: Mapping[str, T]) -> T:
        if _is_macro(node):
            return self.macro(node, scope)
        qualified = _qualified(node, frozenset(scope))
        if qualified is not None:
            for kid in node.kids:
                self.walk(kid, scope)
            return DYN
        target = self.walk(node.target, scope) if node.target is not None else None
        args = [self.walk(k, scope) for k in node.kids]
        name = node.name
        if target is not None:
            return self.method(node, name, target, args)
        return self.function(node, name, args)

    def macro(self, node: _Node, scope: Mapping[str, T]) -> T:
        if node.target is None:  # has(a.b)
            arg = node.kids[0]
            if arg.kind == "select":
                self.walk(arg.kids[0], scope)
            return BOOL
        base = self.walk(node.target, scope)
        if base.kind == "list":
            var_t = base.elem or DYN
        elif base.kind == "map":
            var_t = STRING
        else:
            if base.kind != "dyn":
                self.problem(node, f"`{node.name}()` ใช้กับรายการเท่านั้น ไม่ใช่{th_name(base)}",
                             f"`{node.name}()` works on a list, not a {base.name}")
            var_t = DYN
        inner = {**scope, node.kids[0].name: var_t}
        results = [self.walk(k, inner) for k in node.kids[1:]]
        if node.name in ("all", "exists", "exists_one", "filter"):
            self.need_bool(node.kids[-1], results[-1], f"`{node.name}()`")
        if node.name == "map":
            return list_of(results[-1])
        if node.name == "filter":
            return list_of(var_t)
        return BOOL

    def arg_problem(self, node: _Node, fn: str, want_th: str, want_en: str, got: T,
                    fix: tuple[str, str] = ("", "")) -> None:
        self.problem(node, f"`{fn}()` ต้องการ{want_th} แต่ได้{th_name(got)}",
                     f"`{fn}()` needs {want_en}, not a {got.name}", fix)

    def function(self, node: _Node, name: str, args: list[T]) -> T:
        def ok(t: T, *kinds: str) -> bool:
            return t.kind == "dyn" or t.kind in kinds
        if name in ("age",):
            if len(args) == 1 and not ok(args[0], "timestamp", "string"):
                self.arg_problem(node, name, "วันที่ (เช่น ช่องวันเกิด)", "a date (e.g. a birth-date field)",
                                 args[0], ("ใช้ช่องข้อมูลแบบ `date`", "pass a field of type `date`"))
            return INT
        if name == "working_days":
            for t in args:
                if not ok(t, "timestamp", "string"):
                    self.arg_problem(node, name, "วันที่สองวัน", "two dates", t,
                                     ("เช่น `working_days(start_date, today())`",
                                      "e.g. `working_days(start_date, today())`"))
                    break
            return INT
        if name == "today":
            return DATE
        if name == "thai_id_valid":
            if args and not ok(args[0], "string"):
                self.arg_problem(node, name, "ข้อความเลขประจำตัว", "the ID as text", args[0])
            return BOOL
        if name == "size":
            if args and not ok(args[0], "string", "list", "map", "bytes"):
                self.arg_problem(node, name, "ข้อความหรือรายการ", "a text or a list", args[0],
                                 ("`size()` นับตัวอักษรหรือจำนวนรายการ", "`size()` counts characters or items"))
            return INT
        if name == "double":
            if args and not ok(args[0], "int", "double", "uint", "string"):
                self.arg_problem(node, name, "ตัวเลขหรือข้อความตัวเลข", "a number or a numeric text", args[0])
            return DOUBLE
        if name == "int":
            if args and not ok(args[0], "int", "double", "uint", "string", "timestamp"):
                self.arg_problem(node, name, "ตัวเลข", "a number", args[0])
            return INT
        if name == "string":
            return STRING
        if name == "bool":
            return BOOL
        if name == "duration":
            self.literal_check(node, "duration")
            return DURATION
        if name == "timestamp":
            self.literal_check(node, "timestamp")
            return DATE
        if name in ("max", "min"):
            return self.unify(node.kids, args) if args else DYN
        if name in _STRING_BOOL and len(args) == 2:  # contains(a, b) style is not CEL; methods below
            return BOOL
        return DYN

    def literal_check(self, node: _Node, fn: str) -> None:
        """A ``duration("…")`` / ``timestamp("…")`` literal: the engine itself
        judges it now, rather than when the expression first runs."""
        if len(node.kids) != 1:
            return
        value = _string_value(self.src, node.kids[0])
        if value is None or _engine_reads(fn, _literal_text(self.src, node.kids[0])):
            return
        if fn == "duration":
            m = re.fullmatch(r"(\d+)\s*([a-zA-Z]+)", value.strip())
            hint = ""
            if m and m.group(2) in _DURATION_UNITS:
                hint = f"`duration(\"{int(m.group(1)) * _DURATION_UNITS[m.group(2)]}h\")`"
            fix = ((f"เขียนเป็นชั่วโมง เช่น {hint}" if hint else
                    "ใช้หน่วย h (ชั่วโมง) m (นาที) s (วินาที) เช่น `duration(\"720h\")` คือ 30 วัน "
                    "ระยะเป็นเดือนหรือปีให้เปรียบเทียบวันที่ด้วย `age()` หรือ getMonth()/getFullYear()"),
                   (f"write it in hours: {hint}" if hint else
                    "use the units h, m, s (e.g. `duration(\"720h\")` is 30 days); months and years have no "
                    "fixed length: compare dates with `age()` or getMonth()/getFullYear()"))
            self.problem(node.kids[0], f"`duration(\"{value}\")` ไม่ใช่ช่วงเวลาที่ระบบอ่านได้",
                         f"`duration(\"{value}\")` is not a duration the engine can read", fix)
        else:
            self.problem(node.kids[0], f"`timestamp(\"{value}\")` ไม่ใช่วันเวลาที่ระบบอ่านได้",
                         f"`timestamp(\"{value}\")` is not a timestamp the engine can read",
                         ("เขียนแบบ `timestamp(\"2024-05-01T00:00:00+07:00\")`",
                          "write it as `timestamp(\"2024-05-01T00:00:00+07:00\")`"))

    def method(self, node: _Node, name: str, target: T, args: list[T]) -> T:
        kind = target.kind
        if name in _TIMESTAMP_GETTERS:
            if kind not in ("timestamp", "dyn", "duration"):
                self.problem(node, f"`.{name}()` ใช้กับวันที่เท่านั้น ไม่ใช่{th_name(target)}",
                             f"`.{name}()` reads a date, not a {target.name}",
                             ("ใช้กับช่องข้อมูลแบบ `date` หรือ `today()`", "use it on a `date` field or `today()`"))
            return INT
        if name in _STRING_BOOL:
            if kind not in ("string", "dyn"):
                self.problem(node, f"`.{name}()` ใช้กับข้อความเท่านั้น ไม่ใช่{th_name(target)}",
                             f"`.{name}()` works on a text, not a {target.name}",
                             ('สำหรับรายการ ใช้ `"a" in list`', 'for a list, write `"a" in list`')
                             if kind == "list" else ("", ""))
            for t in args:
                if t.kind not in ("string", "dyn"):
                    self.arg_problem(node, name, "ข้อความ", "a text", t)
            return BOOL
        if name == "size":
            if kind not in ("string", "list", "map", "bytes", "dyn"):
                self.arg_problem(node, name, "ข้อความหรือรายการ", "a text or a list", target)
            return INT
        if name in _STRING_STRING:
            return STRING
        if name in ("split",):
            return list_of(STRING)
        if name == "join":
            return STRING
        if name in ("indexOf", "lastIndexOf"):
            return INT
        return DYN


def _compare_fix(a: T, b: T) -> tuple[str, str]:
    if "string" in (a.kind, b.kind) and (a.numeric or b.numeric):
        return ("เขียนตัวเลขโดยไม่มีเครื่องหมายคำพูด เช่น `x > 5`", "write the number without quotes, e.g. `x > 5`")
    if "timestamp" in (a.kind, b.kind):
        return ("เปรียบเทียบวันที่กับวันที่ เช่น `start_date > today()` หรือใช้ `age()`/`working_days()`",
                "compare a date with a date, e.g. `start_date > today()`, or use `age()`/`working_days()`")
    if "bool" in (a.kind, b.kind):
        return ("เปรียบเทียบกับ `true` หรือ `false`", "compare with `true` or `false`")
    return "", ""


def _arith_fix(a: T, b: T) -> tuple[str, str]:
    if "string" in (a.kind, b.kind):
        return ("ต่อข้อความกับข้อความเท่านั้น: ใช้ `string(x)` แปลงตัวเลขเป็นข้อความ",
                "join text with text only: `string(x)` turns a number into text")
    if "timestamp" in (a.kind, b.kind):
        return ("นับวันด้วย `working_days(a, b)` หรือบวกช่วงเวลา เช่น `d + duration(\"720h\")`",
                "count days with `working_days(a, b)` or add a duration, e.g. `d + duration(\"720h\")`")
    return "", ""


def check_types(source: str, tree: _Node, env: Mapping[str, T]) -> TypeResult:
    """Check *tree* (parsed from *source*) against the types of the names in *env*."""
    checker = _Checker(source, env)
    result = checker.walk(tree, {})
    return TypeResult(result, checker.problems, checker.rewritten())


def check_result(result: T, want: str) -> tuple[str, str, str, str] | None:
    """``(th, en, fix_th, fix_en)`` when an expression's type is not what its
    place needs: ``bool`` (when, required_when, rules, guards) or ``money``
    (fee amounts, money calculations)."""
    if result.kind in ("dyn",):
        return None
    if want == "bool" and result.kind != "bool":
        return (f"เงื่อนไขต้องให้ผลเป็นจริง/เท็จ แต่นิพจน์นี้ให้{th_name(result)}",
                f"a condition must give true/false, but this gives a {result.name}",
                "เขียนการเปรียบเทียบ เช่น `shop_area > 20` หรือ `has_kitchen == true`",
                "write a comparison, e.g. `shop_area > 20` or `has_kitchen == true`")
    if want == "money" and not result.numeric:
        return (f"จำนวนเงินต้องเป็นตัวเลข แต่นิพจน์นี้ให้{th_name(result)}",
                f"a money amount must be a number, but this gives a {result.name}",
                "เขียนตัวเลข (เช่น `50`) หรือนิพจน์ที่คำนวณจากช่องตัวเลข (เช่น `shop_area * 10`)",
                "write a number (e.g. `50`) or an expression on number fields (e.g. `shop_area * 10`)")
    return None
