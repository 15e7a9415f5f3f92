"""The e-Form engine: what is shown, what is valid, what is kept.

Everything here is driven by a compiled service definition; nothing knows a
particular service.  The one rule that removes the most common class of form
bugs: **hidden means not applicable** — a page, field or group item field whose
condition is false is cleared and never validated (A-F6, A-SP3).

Answers are stored as JSON values:

========================  ===========================================
text-like, choice          ``str`` (normalised by the field type)
number                     ``int`` or ``float``
money                      ``str`` with two decimals, e.g. ``"1250.00"``
date                       ``str``, ISO ``YYYY-MM-DD``
checklist                  ``list[str]`` of option values
yes_no, consent            ``bool``
thai_address               ``{line, subdistrict, district, province, postcode}``
group                      ``list[dict]`` of item answers
========================  ===========================================
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from . import expr as expressions
from .plugin_api import field_types
from .spec.models import FieldType, FormField, Page, Section

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_TEXT = 2_000
MAX_LONG_TEXT = 20_000
MAX_INPUT_TEXT = 5_000  # a text input of a workflow action (an officer's reason, a note)
MIN_YEAR, MAX_YEAR = 1900, 2200  # dates outside are refused: 2569 is a Buddhist-Era year
BE_OFFSET = 543  # Buddhist Era (พ.ศ.) = Gregorian (ค.ศ.) + 543
# Text may hold TAB, and LF in multi-line text; every other C0 control character and DEL
# is refused (NUL, ESC, a bare CR).  CRLF, as browsers send textarea lines, is read as LF.
# The same rules go into the JSON Schema (ECMA-262 syntax, which Python's re also reads).
LINE_PATTERN = r"^[^\x00-\x08\x0a-\x1f\x7f]*$"
MULTILINE_PATTERN = r"^(?:[^\x00-\x08\x0b-\x1f\x7f]|\r\n)*$"
DATE_PATTERN = r"^(?:19[0-9][0-9]|2[01][0-9][0-9]|2200)-"  # with format: date (MIN_YEAR..MAX_YEAR)
_LINE = re.compile(LINE_PATTERN)
_MULTILINE = re.compile(MULTILINE_PATTERN)
_FORBIDDEN_LINE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_FORBIDDEN_MULTILINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
ADDRESS_PARTS = ("line", "subdistrict", "district", "province", "postcode")


@dataclass(frozen=True)
class FieldError:
    """One problem with one answer; ``path`` is ``field`` or ``group[2].field``."""

    path: str
    field: str
    code: str
    th: str
    en: str

    def text(self, lang: str = "th") -> str:
        return self.en if lang == "en" else self.th

    def as_dict(self) -> dict:
        return {"path": self.path, "field": self.field, "code": self.code, "th": self.th, "en": self.en}


def _error(path: str, f: FormField, code: str, th: str, en: str) -> FieldError:
    return FieldError(path, f.id, code, th, en)


# ------------------------------------------------- text and dates (issue #17)
def normalise_newlines(value: Any) -> Any:
    """CRLF → LF in every string of an answer (lists and dicts too)."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n")
    if isinstance(value, list):
        return [normalise_newlines(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise_newlines(v) for k, v in value.items()}
    return value


def is_multiline(f: FormField) -> bool:
    return f.type is FieldType.long_text


def has_control_characters(value: Any, multiline: bool = False) -> bool:
    """Whether a string (or any string inside a list or dict) holds a refused
    control character; LF and CRLF pass only in multi-line text."""
    if isinstance(value, str):
        return not (_MULTILINE if multiline else _LINE).fullmatch(value)
    if isinstance(value, list):
        return any(has_control_characters(v, multiline) for v in value)
    if isinstance(value, dict):
        return any(has_control_characters(v, multiline) for v in value.values())
    return False


def control_texts(label_th: str, label_en: str, multiline: bool, removed: bool = False) -> tuple[str, str]:
    """The message for text with refused control characters."""
    what_th = "เช่น NUL, ESC หรือ CR ที่ไม่ตามด้วย LF" if multiline else "เช่น NUL, ESC หรือการขึ้นบรรทัดใหม่"
    what_en = "such as NUL, ESC or a CR without LF" if multiline else "such as NUL, ESC or a line break"
    if removed:
        return (f"“{label_th}” มีอักขระควบคุม ({what_th}) ซึ่งรับไม่ได้ ระบบลบออกแล้ว กรุณาตรวจสอบข้อความแล้วบันทึกอีกครั้ง",
                f"“{label_en}” contained control characters ({what_en}), which are not accepted; they were "
                f"removed: check the text and save again")
    return (f"“{label_th}” มีอักขระควบคุม ({what_th}) ซึ่งรับไม่ได้ กรุณาลบออก",
            f"“{label_en}” contains control characters ({what_en}), which are not accepted; remove them")


def date_range_texts(label_th: str, label_en: str, year: int | None) -> tuple[str, str]:
    """The message for a date whose year is outside MIN_YEAR..MAX_YEAR, naming a
    Buddhist-Era year when that is what it looks like."""
    th = f"“{label_th}” ต้องเป็นปี ค.ศ. {MIN_YEAR}–{MAX_YEAR} (ระบบรับวันที่เป็นปี ค.ศ.)"
    en = f"“{label_en}” must be in the years {MIN_YEAR}–{MAX_YEAR}: dates are in Gregorian years"
    if year is not None and MIN_YEAR <= year - BE_OFFSET <= MAX_YEAR:
        th += f" ปี {year} น่าจะเป็นปี พ.ศ. กรุณาลบ {BE_OFFSET} (เป็น {year - BE_OFFSET})"
        en += f"; {year} looks like a Buddhist-Era year: subtract {BE_OFFSET} ({year - BE_OFFSET})"
    return th, en


# ----------------------------------------------------------------- bindings
@dataclass
class Evaluation:
    """Answers bound for expressions, with calculations computed once."""

    service: Any  # CompiledService
    answers: Mapping[str, Any]
    env: Any = None
    values: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        definition = self.service.definition
        fields = {f.id: f for f in _top_fields(definition)}
        self.values = {f: None for f in fields}
        self.values.update({k: _typed(fields[k], v) for k, v in self.answers.items() if k in fields})
        for calc in _calculation_order(self.service):
            self.values[calc.id] = self._calculate(calc)

    def _calculate(self, calc) -> Any:
        program = self.service.expr(calc.expr)
        try:
            if calc.type == "money":
                return program.evaluate_money(self.values, self.env)
            result = program.evaluate(self.values, self.env)
            return None if result is None else result
        except expressions.ExpressionError:
            return None

    def holds(self, source: str | None, extra: Mapping[str, Any] | None = None) -> bool:
        """A condition; absent means true; an evaluation error counts as false."""
        if source is None:
            return True
        scope = {**self.values, **extra} if extra else self.values
        return self.service.expr(source).evaluate_bool(scope, self.env)

    def money(self, source: str) -> Decimal:
        return self.service.expr(source).evaluate_money(self.values, self.env)


def _typed(f: FormField, value: Any) -> Any:
    """Answers as expressions see them: money as Decimal (stored as text)."""
    if value is None:
        return None
    if f.type is FieldType.money:
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    if f.type is FieldType.number:
        # one type whatever was typed: CEL does not mix int and double (3 * 10.0 fails)
        try:
            return float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            return None
    if f.type is FieldType.date:
        try:
            return dt.date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None
    if f.type is FieldType.group and isinstance(value, list):
        inner = {c.id: c for c in f.fields}
        return [{k: _typed(inner[k], v) if k in inner else v for k, v in item.items()}
                for item in value if isinstance(item, dict)]
    return value


def _top_fields(definition) -> Iterator[FormField]:
    for section in definition.form.sections:
        for page in section.pages:
            yield from page.fields


def _calculation_order(service) -> list:
    """Calculations sorted so each comes after those it uses (cycles are load errors)."""
    calcs = {c.id: c for c in service.definition.calculations}
    done: list = []
    seen: set[str] = set()

    def visit(cid: str) -> None:
        if cid in seen:
            return
        seen.add(cid)
        for dep in sorted(service.expr(calcs[cid].expr).names & calcs.keys()):
            visit(dep)
        done.append(calcs[cid])

    for cid in calcs:
        visit(cid)
    return done


# ---------------------------------------------------------------- visibility
def pages(service) -> Iterator[tuple[Section, Page]]:
    for section in service.definition.form.sections:
        for page in section.pages:
            yield section, page


def visible_pages(service, answers: Mapping[str, Any], env=None) -> list[tuple[Section, Page]]:
    ev = Evaluation(service, clean(service, answers, env), env)
    return [(s, p) for s, p in pages(service) if ev.holds(p.when)]


def clean(service, answers: Mapping[str, Any], env=None) -> dict[str, Any]:
    """Drop every answer that is not applicable: unknown keys, fields on hidden
    pages, hidden fields and hidden fields inside group items.  Repeats until
    nothing changes, since hiding one answer can hide another."""
    known = {f.id: f for f in _top_fields(service.definition)}
    current = {k: v for k, v in answers.items() if k in known}
    for _ in range(len(known) + 1):
        ev = Evaluation(service, current, env)
        kept: dict[str, Any] = {}
        for _section, page in pages(service):
            if not ev.holds(page.when):
                continue
            for f in page.fields:
                if f.id in current and ev.holds(f.when):
                    value = current[f.id]
                    if f.type is FieldType.group and isinstance(value, list):
                        value = [_clean_item(f, item, ev) for item in value if isinstance(item, dict)]
                    kept[f.id] = value
        if kept == current:
            return kept
        current = kept
    return current


def _item_scope(group: FormField, item: Mapping[str, Any]) -> dict[str, Any]:
    """A group item's answers as its conditions and rules see them (typed, nulls bound)."""
    fields = {f.id: f for f in group.fields}
    return {**{k: None for k in fields}, **{k: _typed(fields[k], v) for k, v in item.items() if k in fields}}


def _clean_item(group: FormField, item: Mapping[str, Any], ev: Evaluation) -> dict[str, Any]:
    item_fields = {f.id: f for f in group.fields}
    current = {k: v for k, v in item.items() if k in item_fields}
    for _ in range(len(item_fields) + 1):
        scope = _item_scope(group, current)
        kept = {k: v for k, v in current.items() if ev.holds(item_fields[k].when, scope)}
        if kept == current:
            return kept
        current = kept
    return current


# ---------------------------------------------------------------- validation
def validate(service, answers: Mapping[str, Any], env=None,
             only_pages: Iterable[str] | None = None) -> tuple[dict[str, Any], list[FieldError]]:
    """Check typed answers against the definition.  Returns the cleaned answers
    (hidden ones removed) and every error, in page order.  ``only_pages``
    limits the check to those page ids (a page of the e-Form)."""
    cleaned = clean(service, answers, env)
    ev = Evaluation(service, cleaned, env)
    wanted = set(only_pages) if only_pages is not None else None
    errors: list[FieldError] = []
    for _section, page in pages(service):
        if wanted is not None and page.id not in wanted:
            continue
        if not ev.holds(page.when):
            continue
        for f in page.fields:
            if not ev.holds(f.when):
                continue
            errors.extend(_validate_field(f, cleaned.get(f.id), f.id, ev, {}))
    return cleaned, errors


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _validate_field(f: FormField, value: Any, path: str, ev: Evaluation,
                    scope: Mapping[str, Any]) -> list[FieldError]:
    required = f.required or (f.required_when is not None and ev.holds(f.required_when, scope))
    if _is_empty(value) or (f.type is FieldType.consent and value is False):
        if required:
            if f.type is FieldType.consent:
                return [_error(path, f, "consent", f"กรุณายืนยัน “{f.label.th}”",
                               f"Please confirm “{f.label.get('en')}”")]
            return [_error(path, f, "required", f"กรุณากรอก “{f.label.th}”",
                           f"Enter “{f.label.get('en')}”")]
        return []
    problems = check_value(f, value, path, today=_today(ev))
    if problems:
        return problems
    if f.type is FieldType.group:
        for index, item in enumerate(value):
            item_scope = _item_scope(f, item)
            for child in f.fields:
                if ev.holds(child.when, item_scope):
                    problems += _validate_field(child, item.get(child.id), f"{path}[{index}].{child.id}",
                                                ev, item_scope)
    for rule in f.rules:
        rule_scope = {**scope, f.id: _typed(f, value)} if scope else None
        if not ev.holds(rule.check, rule_scope):
            problems.append(_error(path, f, "rule", rule.message.th, rule.message.get("en")))
    return problems


def _today(ev: Evaluation) -> dt.date | None:
    env = ev.env
    return env.today_date() if env is not None and hasattr(env, "today_date") else None


def check_value(f: FormField, value: Any, path: str | None = None,
                today: dt.date | None = None) -> list[FieldError]:
    """Type and range checks of one non-empty, already typed value.  ``today``
    is the Bangkok date of the engine's clock (for ``min_date: today``)."""
    path = path or f.id
    label_th, label_en = f.label.th, f.label.get("en")
    t = f.type

    def err(code: str, th: str, en: str) -> list[FieldError]:
        return [_error(path, f, code, th, en)]

    if t in (FieldType.text, FieldType.long_text, FieldType.email):
        if not isinstance(value, str):
            return err("type", f"“{label_th}” ต้องเป็นข้อความ", f"“{label_en}” must be text")
        limit = f.max_length or (MAX_LONG_TEXT if t is FieldType.long_text else MAX_TEXT)
        if len(value) > limit:
            return err("too_long", f"“{label_th}” ยาวเกิน {limit:,} ตัวอักษร",
                       f"“{label_en}” must be {limit:,} characters or fewer")
        if has_control_characters(value, is_multiline(f)):
            return err("control_characters", *control_texts(label_th, label_en, is_multiline(f)))
        if t is FieldType.email and not EMAIL.match(value):
            return err("email", f"“{label_th}” ไม่ใช่อีเมลที่ถูกต้อง เช่น name@example.com",
                       f"“{label_en}” must be an e-mail address like name@example.com")
        if f.pattern and not re.fullmatch(f.pattern, value):
            return err("pattern", f"“{label_th}” มีรูปแบบไม่ถูกต้อง", f"“{label_en}” is not in the right format")
        return []
    if t in (FieldType.number, FieldType.money):
        try:
            number = Decimal(str(value))
            if isinstance(value, bool) or not number.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            return err("number", f"“{label_th}” ต้องเป็นตัวเลข", f"“{label_en}” must be a number")
        if t is FieldType.money and number.as_tuple().exponent < -2:
            return err("satang", f"“{label_th}” มีทศนิยมได้ไม่เกิน 2 ตำแหน่ง",
                       f"“{label_en}” can have at most 2 decimal places")
        if t is FieldType.number and f.decimals is not None and number.normalize().as_tuple().exponent < -f.decimals:
            if f.decimals == 0:
                return err("decimals", f"“{label_th}” ต้องเป็นจำนวนเต็ม", f"“{label_en}” must be a whole number")
            return err("decimals", f"“{label_th}” มีทศนิยมได้ไม่เกิน {f.decimals} ตำแหน่ง",
                       f"“{label_en}” can have at most {f.decimals} decimal places")
        if f.min is not None and number < f.min:
            return err("min", f"“{label_th}” ต้องไม่น้อยกว่า {f.min}", f"“{label_en}” must be at least {f.min}")
        if f.max is not None and number > f.max:
            return err("max", f"“{label_th}” ต้องไม่เกิน {f.max}", f"“{label_en}” must be at most {f.max}")
        return []
    if t is FieldType.date:
        try:
            day = dt.date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            day = None
        if day is None:
            return err("date", f"“{label_th}” ต้องเป็นวันที่ที่มีอยู่จริง", f"“{label_en}” must be a real date")
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            return err("date_range", *date_range_texts(label_th, label_en, day.year))
        for bound, code, cmp in ((f.min_date, "min_date", lambda a, b: a < b),
                                 (f.max_date, "max_date", lambda a, b: a > b)):
            if bound:
                if bound == "today":
                    limit = today or dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).date()
                else:
                    limit = dt.date.fromisoformat(bound)
                if cmp(day, limit):
                    word_th = "ก่อน" if code == "min_date" else "หลัง"
                    word_en = "before" if code == "min_date" else "after"
                    return err(code, f"“{label_th}” ต้องไม่{word_th}วันที่ {limit.isoformat()}",
                               f"“{label_en}” must not be {word_en} {limit.isoformat()}")
        return []
    if t is FieldType.choice:
        if value not in {o.value for o in f.options}:
            return err("choice", f"กรุณาเลือก “{label_th}” จากรายการ", f"Choose “{label_en}” from the list")
        return []
    if t is FieldType.checklist:
        allowed = {o.value for o in f.options}
        if not isinstance(value, list) or any(v not in allowed for v in value):
            return err("checklist", f"กรุณาเลือก “{label_th}” จากรายการ", f"Choose “{label_en}” from the list")
        return []
    if t in (FieldType.yes_no, FieldType.consent):
        if not isinstance(value, bool):
            return err("yes_no", f"กรุณาตอบ “{label_th}” ว่าใช่หรือไม่ใช่", f"Answer “{label_en}” with yes or no")
        return []
    if t is FieldType.group:
        if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
            return err("group", f"“{label_th}” ไม่ถูกต้อง", f"“{label_en}” is not valid")
        if f.min_items is not None and len(value) < f.min_items:
            return err("min_items", f"“{label_th}” ต้องมีอย่างน้อย {f.min_items} รายการ",
                       f"“{label_en}” needs at least {f.min_items} item(s)")
        if f.max_items is not None and len(value) > f.max_items:
            return err("max_items", f"“{label_th}” มีได้ไม่เกิน {f.max_items} รายการ",
                       f"“{label_en}” can have at most {f.max_items} item(s)")
        return []
    plugin = field_types().get(t.value)
    if plugin is not None and has_control_characters(value):
        return err("control_characters", *control_texts(label_th, label_en, False))
    if plugin is not None:
        return [_error(path + (f".{'.'.join(map(str, m.path))}" if m.path else ""), f,
                       m.code, f"“{label_th}”: {m.th}", f"“{label_en}”: {m.en}")
                for m in plugin.validate(value)]
    return []


# ------------------------------------------------------- HTML form parsing
def parse_page(page: Page, form: Mapping[str, Any] | Any) -> tuple[dict[str, Any], list[FieldError]]:
    """Turn the strings of a submitted HTML page into typed answers.

    ``form`` is a Starlette ``FormData`` (or any mapping with ``getlist``).
    Names: ``field``; checklist repeats ``field``; address parts
    ``field.line`` …; group items ``group.0.field``.  Values that cannot be
    typed are kept as typed (strings) so the page shows them again, and an
    error is returned for each.
    """
    answers: dict[str, Any] = {}
    errors: list[FieldError] = []
    for f in page.fields:
        value, problems = _parse(f, f.id, form)
        if value is not None:
            answers[f.id] = value
        errors += problems
    return answers, errors


def _getlist(form: Any, name: str) -> list[str]:
    if hasattr(form, "getlist"):
        return [v for v in form.getlist(name) if isinstance(v, str)]
    value = form.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _parse(f: FormField, name: str, form: Any) -> tuple[Any, list[FieldError]]:
    t = f.type
    if t is FieldType.checklist:
        values = [v for v in _getlist(form, name) if v]
        return (values or None), []
    if t is FieldType.thai_address:
        parts, errors = {}, []
        for p in ADDRESS_PARTS:
            parts[p], problems = _plain_text(f, name, (_getlist(form, f"{name}.{p}") or [""])[0], False)
            errors = errors or problems
        return (parts if any(parts.values()) else None), errors
    if t is FieldType.group:
        indices = sorted({int(k.split(".")[1]) for k in _keys(form)
                          if k.startswith(f"{name}.") and k.split(".")[1].isdigit()})
        items, errors = [], []
        for index in indices[: (f.max_items or 500) + 1]:
            item: dict[str, Any] = {}
            for child in f.fields:
                value, problems = _parse(child, f"{name}.{index}.{child.id}", form)
                if value is not None:
                    item[child.id] = value
                errors += [FieldError(f"{f.id}[{len(items)}].{p.field}", p.field, p.code, p.th, p.en)
                           for p in problems]
            if item:
                items.append(item)
        return (items or None), errors
    raw, problems = _plain_text(f, name, (_getlist(form, name) or [""])[0], is_multiline(f))
    value, more = _parse_text(f, name, raw)
    return value, problems + more


def _plain_text(f: FormField, name: str, raw: str, multiline: bool) -> tuple[str, list[FieldError]]:
    """What was typed, stripped, CRLF read as LF and without refused control
    characters; an error says they were removed (so they are never stored)."""
    raw = normalise_newlines(raw).strip()
    if not has_control_characters(raw, multiline):
        return raw, []
    cleaned = (_FORBIDDEN_MULTILINE if multiline else _FORBIDDEN_LINE).sub("", raw).strip()
    return cleaned, [_error(name, f, "control_characters",
                            *control_texts(f.label.th, f.label.get("en"), multiline, removed=True))]


def _parse_text(f: FormField, name: str, raw: str) -> tuple[Any, list[FieldError]]:
    t = f.type
    if raw == "":
        return None, []
    if t in (FieldType.yes_no, FieldType.consent):
        if raw in ("yes", "true", "1", "on"):
            return True, []
        if raw in ("no", "false", "0"):
            return False, []
        return raw, [_error(name, f, "yes_no", f"กรุณาตอบ “{f.label.th}” ว่าใช่หรือไม่ใช่",
                            f"Answer “{f.label.get('en')}” with yes or no")]
    if t in (FieldType.number, FieldType.money):
        cleaned = raw.replace(",", "").replace(" ", "")
        try:
            number = Decimal(cleaned)
            if not number.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            return raw, [_error(name, f, "number", f"“{f.label.th}” ต้องเป็นตัวเลข เช่น 1250 หรือ 1,250.50",
                                f"“{f.label.get('en')}” must be a number like 1250 or 1,250.50")]
        if t is FieldType.money:
            return (str(number.quantize(Decimal("0.01"))) if number.as_tuple().exponent >= -2 else cleaned), []
        return (int(number) if number == number.to_integral_value() else float(number)), []
    if t is FieldType.date:  # the Thai date widget (issue #10 item 6): B.E. or C.E., other years refused
        from .dates import DateInputError, read_typed_date

        try:
            return read_typed_date(raw).isoformat(), []
        except DateInputError as exc:
            return raw, [_error(name, f, "date", f"“{f.label.th}”: {exc.th}", f"“{f.label.get('en')}”: {exc.en}")]
    plugin = field_types().get(t.value)
    if plugin is not None and not plugin.validate(raw):
        return plugin.normalize(raw), []
    if t is FieldType.email:
        return raw.lower(), []
    return raw, []


def _keys(form: Any) -> list[str]:
    return list(form.keys()) if hasattr(form, "keys") else []


def _parse_date(raw: str) -> str:
    """ISO dates pass; ``dd/mm/yyyy`` is read as Buddhist Era when the year > 2400."""
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", raw)
    if match:
        day, month, year = map(int, match.groups())
        if year > 2400:
            year -= 543
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            return raw
    return raw


# ------------------------------------------------------------ JSON Schema
def _single_lines(schema: Any) -> Any:
    """A copy of a plugin's schema whose free strings refuse control characters."""
    if isinstance(schema, list):
        return [_single_lines(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _single_lines(v) for k, v in schema.items()}
    if out.get("type") == "string" and not {"pattern", "enum", "const", "format"} & out.keys():
        out["pattern"] = LINE_PATTERN
    return out


def submission_schema(service) -> dict[str, Any]:
    """JSON Schema 2020-12 of a service's answers, for API clients (CH-5).
    Conditions are not expressible in JSON Schema; the server applies them."""
    plugins = field_types()

    def schema_of(f: FormField) -> dict[str, Any]:
        t = f.type
        base: dict[str, Any]
        if t in (FieldType.text, FieldType.long_text):
            base = {"type": "string", "maxLength": f.max_length or (
                MAX_LONG_TEXT if t is FieldType.long_text else MAX_TEXT),
                "pattern": MULTILINE_PATTERN if t is FieldType.long_text else LINE_PATTERN}
        elif t is FieldType.email:
            base = {"type": "string", "format": "email", "pattern": LINE_PATTERN}
        elif t is FieldType.number:
            base = {"type": "number"}
            if f.min is not None:
                base["minimum"] = float(f.min)
            if f.max is not None:
                base["maximum"] = float(f.max)
        elif t is FieldType.money:
            base = {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$"}
        elif t is FieldType.date:
            base = {"type": "string", "format": "date", "pattern": DATE_PATTERN}
        elif t is FieldType.choice:
            base = {"type": "string", "enum": [o.value for o in f.options]}
        elif t is FieldType.checklist:
            base = {"type": "array", "items": {"enum": [o.value for o in f.options]}, "uniqueItems": True}
        elif t in (FieldType.yes_no, FieldType.consent):
            base = {"type": "boolean"}
        elif t is FieldType.group:
            base = {"type": "array", "items": {
                "type": "object", "additionalProperties": False,
                "properties": {c.id: schema_of(c) for c in f.fields}}}
            if f.min_items is not None:
                base["minItems"] = f.min_items
            if f.max_items is not None:
                base["maxItems"] = f.max_items
        elif t.value in plugins:
            base = _single_lines(plugins[t.value].schema)
        else:
            base = {"type": "string"}
        base["title"] = f.label.th
        if f.label.en:
            base["description"] = f.label.en
        return base

    fields = list(_top_fields(service.definition))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"/api/services/{service.id}/schema",
        "title": service.definition.title.th,
        "description": service.definition.title.get("en"),
        "type": "object",
        "additionalProperties": False,
        "properties": {f.id: schema_of(f) for f in fields},
        "required": [f.id for f in fields if f.required and f.when is None and not any(
            p.when for _, p in pages(service) if f in p.fields)],
    }
