"""Answers and officer inputs made up from a definition's field types, checked
with the real form rules (for ``eservice simulate``, issue #10 item 5)."""
from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from . import forms
from .spec.models import FieldType

__all__ = ["answer_variants", "candidates", "example_of", "generate_answers", "input_sets"]

MAX_INPUT_COMBINATIONS = 16
APPLICANT_EMAIL = "applicant@simulate.invalid"


# ------------------------------------------------------------ generated answers
def _national_id(first12: str) -> str:
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return first12 + str((11 - total % 11) % 10)


ADDRESSES = (
    {"line": "99/9 ถนนรัตนาธิเบศร์", "subdistrict": "บางกระสอ", "district": "เมืองนนทบุรี",
     "province": "นนทบุรี", "postcode": "11000"},
    {"line": "1 ซอยพหลโยธิน 24", "subdistrict": "จอมพล", "district": "จตุจักร",
     "province": "กรุงเทพมหานคร", "postcode": "10900"},
)


def _numbers(f: Any) -> list[Any]:
    low = f.min if f.min is not None else None
    high = f.max if f.max is not None else None
    found: list[Decimal] = []
    if low is not None and high is not None:
        found.append((low + high) / 2)
    found += [Decimal(v) for v in (1, 10, 100, 250, 50, 20, 5, 1000, 30)]
    for bound in (low, high):
        if bound is not None:
            found += [bound, bound + 1, bound - 1]
    kept: list[Any] = []
    for number in found:
        if (low is not None and number < low) or (high is not None and number > high):
            continue
        if f.type is FieldType.money:
            value: Any = str(number.quantize(Decimal("0.01")))
        elif (f.decimals or 0) == 0:
            if number != number.to_integral_value():
                continue
            value = int(number)
        else:
            value = float(round(number, f.decimals))
        if value not in kept:
            kept.append(value)
    return kept or [int(low or 0)]


def _dates(f: Any, today: dt.date) -> list[str]:
    def bound(text: str | None) -> dt.date | None:
        if not text:
            return None
        return today if text == "today" else dt.date.fromisoformat(text)

    low, high = bound(f.min_date), bound(f.max_date)
    days = [today.replace(year=today.year - 35), today + dt.timedelta(days=30), today,
            today - dt.timedelta(days=365), today + dt.timedelta(days=365), today.replace(year=today.year - 18)]
    kept = [d for d in days if (low is None or d >= low) and (high is None or d <= high)]
    return [d.isoformat() for d in kept] or [(low or high or today).isoformat()]


def example_of(pattern: str) -> str | None:
    """One short string the regular expression matches (None when this reader
    cannot tell: look-arounds, back references)."""
    import re._parser as parser  # the parse tree `re` itself builds

    def emit(items) -> str:
        out = []
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(arg))
            elif name == "ANY":
                out.append("a")
            elif name == "IN":
                out.append(_first_in(arg))
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, _high, sub = arg
                out.append(emit(sub) * max(low, 1) if low else "")
            elif name == "SUBPATTERN":
                out.append(emit(arg[-1]))
            elif name == "BRANCH":
                out.append(emit(arg[1][0]))
            elif name in ("AT",):
                continue
            else:
                raise ValueError(name)
        return "".join(out)

    def _first_in(arg) -> str:
        for op, value in arg:
            name = str(op)
            if name == "LITERAL":
                return chr(value)
            if name == "RANGE":
                return chr(value[0])
            if name == "CATEGORY":
                return {"CATEGORY_DIGIT": "1", "CATEGORY_SPACE": " "}.get(str(value), "a")
        raise ValueError("negated class")

    try:
        text = emit(parser.parse(pattern))
    except (ValueError, TypeError, re.error):
        return None
    return text if re.fullmatch(pattern, text) else None


def _texts(f: Any) -> list[str]:
    if f.type is FieldType.email:
        return [APPLICANT_EMAIL]
    words = ["ทดสอบการจำลอง", "ABC-123", "1234567890", "ทดสอบ", "Test 1"]
    if f.pattern:
        example = example_of(f.pattern)
        words = ([example] if example else []) + [w for w in words if re.fullmatch(f.pattern, w)]
    limit = f.max_length or 2000
    return [w[:limit] for w in words]


def candidates(f: Any, today: dt.date) -> list[Any]:
    """Values a field of this type can take, the likeliest valid one first."""
    t = f.type
    if t in (FieldType.text, FieldType.long_text, FieldType.email):
        return _texts(f)
    if t in (FieldType.number, FieldType.money):
        return _numbers(f)
    if t is FieldType.date:
        return _dates(f, today)
    if t is FieldType.choice:
        return [o.value for o in f.options]
    if t is FieldType.checklist:
        values = [o.value for o in f.options]
        return [values[:1], values, *([v] for v in values[1:])]
    if t is FieldType.yes_no:
        return [True, False]
    if t is FieldType.consent:
        return [True]
    if t is FieldType.thai_national_id:
        return [_national_id("110170023070"), _national_id("310050012345")]
    if t is FieldType.thai_juristic_id:
        return [_national_id("010754400010"), _national_id("010555012345")]
    if t is FieldType.thai_phone:
        return ["0812345678", "025890500"]
    if t is FieldType.thai_address:
        return [dict(a) for a in ADDRESSES]
    if t is FieldType.group:
        count = max(f.min_items or 1, 1)
        item = {g.id: candidates(g, today)[0] for g in f.fields}
        return [[dict(item) for _ in range(count)]]
    return ["ทดสอบ"]


def _top_fields(service: Any) -> list[Any]:
    return [f for _s, page in forms.pages(service) for f in page.fields]


def generate_answers(service: Any, env: Any, today: dt.date, base: Mapping[str, Any] | None = None,
                     fixed: frozenset[str] = frozenset()) -> dict[str, Any] | None:
    """Answers the real form rules accept (None when no candidate set passes).
    ``base`` gives starting values; ``fixed`` names fields not to change."""
    fields = {f.id: f for f in _top_fields(service)}
    options = {fid: candidates(f, today) for fid, f in fields.items()}
    chosen: dict[str, int] = {}
    answers = {fid: options[fid][0] for fid in fields}
    if base:
        answers.update({k: v for k, v in base.items() if k in fields})
    answers = json.loads(json.dumps(answers))  # group items are changed in place below
    for _round in range(12):
        _cleaned, errors = forms.validate(service, answers, env)
        if not errors:
            return answers
        moved = False
        for error in errors:
            item = re.fullmatch(r"([a-z0-9_]+)\[(\d+)\]\.([a-z0-9_]+)", error.path)
            if item:  # a field of a group item
                group, index, sub = item.group(1), int(item.group(2)), item.group(3)
                spec = next((g for g in fields[group].fields if g.id == sub), None) if group in fields else None
                if spec is None or group in fixed:
                    continue
                values, key = candidates(spec, today), error.path
                if chosen.get(key, 0) + 1 < len(values):
                    chosen[key] = chosen.get(key, 0) + 1
                    answers[group][index][sub] = values[chosen[key]]
                    moved = True
                continue
            fid = error.field if error.field in fields else error.path.split(".")[0].split("[")[0]
            if fid not in fields or fid in fixed:
                continue
            if chosen.get(fid, 0) + 1 < len(options[fid]):
                chosen[fid] = chosen.get(fid, 0) + 1
                answers[fid] = options[fid][chosen[fid]]
                moved = True
        if not moved:
            return None
    return None


def answer_variants(service: Any, env: Any, today: dt.date, base: dict[str, Any]):
    """Answer sets that differ from ``base`` in one field (each other candidate)."""
    for f in _top_fields(service):
        if f.type not in (FieldType.choice, FieldType.yes_no, FieldType.number, FieldType.money,
                          FieldType.checklist, FieldType.date):
            continue
        for value in candidates(f, today):
            if value == base.get(f.id):
                continue
            found = generate_answers(service, env, today, {**base, f.id: value}, frozenset({f.id}))
            if found is not None:
                yield found


def _input_values(spec: Any, today: dt.date, limit_days: int | None) -> list[Any]:
    t = spec.type
    if t == "date":
        days = min(14, limit_days) if limit_days else 14
        return [(today + dt.timedelta(days=days)).isoformat()]
    if t in ("number", "money"):
        return ["100"]
    if t == "choice":
        return [o.value for o in spec.options] or ["x"]
    if t in ("checklist", "documents"):
        values = [o.value for o in spec.options]
        return [values[:1]] if values else [["x"]]
    if t == "yes_no":
        return [True, False]
    return ["ข้อความจำลองจากเจ้าหน้าที่ / simulated officer text"]


def input_sets(tr: Any, today: dt.date) -> list[dict[str, Any]]:
    """The inputs to try for a transition (every combination of choices, capped)."""
    specs = list(tr.inputs)
    if not specs:
        return [{}]
    values = [_input_values(s, today, getattr(s, "max_days_ahead", None)) for s in specs]
    combos = itertools.islice(itertools.product(*values), MAX_INPUT_COMBINATIONS)
    return [{s.id: v for s, v in zip(specs, combo)} for combo in combos]


