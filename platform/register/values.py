"""One register field: kept as published, shown, exported and read back (PL-1, PL-2, PL-3).

A licence's ``register`` lists form fields and calculations.  When the licence
is published each of them is kept in the entry as it was printed::

    {"id": "shop_area", "type": "number", "label": {"th", "en"},
     "value": 120, "text": {"th": "120 ตร.ม.", "en": "120 m²"}}

``value`` is the answer as stored (numbers and money as text, dates ISO,
choices by value; ``None`` when an import gave only text, e.g. an address);
``text`` is what the register page shows in each language.

In the exports a field is one *plain* cell (:func:`plain`): numbers and money
as digits, dates ISO, choices by their Thai label, lists joined with ``; ``,
the rest as its Thai text.  :func:`parse` reads such a cell back (an import of
historical licences, PL-2) and says in Thai and English what is wrong with it,
so ``plain(parse(plain(x))) == plain(x)``: the import round-trips the export.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ..spec.models import text_pair as pair
from ..forms import ADDRESS_PARTS
from .. import dates

__all__ = ["CellError", "FieldSpec", "field_specs", "pair", "parse", "plain", "read_date", "snapshot", "text_of"]

LIST_SEPARATOR = "; "
_YES = {"ใช่", "yes", "true", "1", "y", "ยินยอม", "agreed"}
_NO = {"ไม่ใช่", "no", "false", "0", "n", "ไม่ยินยอม", "not agreed"}


class CellError(Exception):
    """A cell that cannot be read as its field: Thai and English."""

    def __init__(self, th: str, en: str):
        super().__init__(en)
        self.th = th
        self.en = en



class FieldSpec:
    """What the register needs of a form field or a calculation."""

    def __init__(self, id: str, type: str, label: Any, *, options: Any = (), unit: Any = None,
                 sub: tuple[FieldSpec, ...] = ()):
        self.id = id
        self.type = type
        self.label = pair(label)
        self.options = tuple((o.value, pair(o.label)) for o in options)
        self.unit = pair(unit) if unit else None
        self.sub = sub

    @classmethod
    def of_field(cls, field: Any) -> FieldSpec:
        return cls(field.id, field.type.value, field.label, options=field.options, unit=field.unit,
                   sub=tuple(cls.of_field(f) for f in field.fields))

    @classmethod
    def of_calculation(cls, calc: Any) -> FieldSpec:
        return cls(calc.id, calc.type, calc.label or calc.id)


def field_specs(service: Any, licence: Any) -> list[FieldSpec]:
    """The register fields of a licence of *service*, in the definition's order."""
    fields = {f.id: f for section in service.definition.form.sections for page in section.pages
              for f in page.fields}
    calculations = {c.id: c for c in service.definition.calculations}
    out = []
    for name in licence.register_fields:
        if name in fields:
            out.append(FieldSpec.of_field(fields[name]))
        elif name in calculations:
            out.append(FieldSpec.of_calculation(calculations[name]))
    return out


# --------------------------------------------------------------------------- shown
def _number(value: Any) -> str:
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return f"{number.to_integral_value():,}"
    return f"{number.normalize():,f}"


def _money(value: Any, lang: str) -> str:
    shown = f"{Decimal(str(value)).quantize(Decimal('0.01')):,.2f}"
    return f"THB {shown}" if lang == "en" else f"{shown} บาท"


def text_of(spec: FieldSpec, value: Any, lang: str) -> str:
    """How *value* is shown in *lang* ("" when there is nothing)."""
    if value is None or value == "" or value == [] or value == {}:
        return ""
    kind = spec.type
    try:
        if kind == "money":
            return _money(value, lang)
        if kind == "number":
            shown = _number(value)
            return f"{shown} {spec.unit[lang]}" if spec.unit else shown
        if kind == "date":
            return dates.format_date(value, lang, long=True)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    if kind in ("yes_no", "consent"):
        truth = value is True or str(value).lower() in ("true", "yes")
        if kind == "consent":
            return ("ยินยอม" if truth else "ไม่ยินยอม") if lang == "th" else ("Agreed" if truth else "Not agreed")
        return ("ใช่" if truth else "ไม่ใช่") if lang == "th" else ("Yes" if truth else "No")
    labels = dict(spec.options)
    if kind == "choice":
        return labels[value][lang] if value in labels else str(value)
    if kind == "checklist":
        values = value if isinstance(value, list) else [value]
        return LIST_SEPARATOR.join(labels[v][lang] if v in labels else str(v) for v in values)
    if kind == "thai_address" and isinstance(value, Mapping):
        return " ".join(str(value.get(p)) for p in ADDRESS_PARTS if value.get(p))
    if kind == "group" and isinstance(value, list):
        subs = {s.id: s for s in spec.sub}
        items = []
        for item in value:
            if isinstance(item, Mapping):
                items.append(", ".join(text_of(subs[k], v, lang) for k, v in item.items()
                                       if k in subs and text_of(subs[k], v, lang)))
        return LIST_SEPARATOR.join(i for i in items if i)
    return str(value)


def _stored(value: Any) -> Any:
    """A value as JSON keeps it: Decimals as text, dates ISO."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_stored(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _stored(v) for k, v in value.items()}
    return value


def snapshot(spec: FieldSpec, value: Any) -> dict[str, Any]:
    """The field as the entry keeps it (see the module docstring)."""
    value = _stored(value)
    if value == "" or value == []:
        value = None
    return {"id": spec.id, "type": spec.type, "label": dict(spec.label), "value": value,
            "text": {"th": text_of(spec, value, "th"), "en": text_of(spec, value, "en")}}


# --------------------------------------------------------------------------- exported
def plain(item: Mapping[str, Any]) -> str:
    """The export cell of a kept field (see the module docstring)."""
    value, kind = item.get("value"), item.get("type")
    if value is None:
        return (item.get("text") or {}).get("th", "")
    try:
        if kind == "money":
            return f"{Decimal(str(value)):.2f}"
        if kind == "number":
            number = Decimal(str(value))
            return str(number.to_integral_value()) if number == number.to_integral_value() \
                else format(number.normalize(), "f")
        if kind == "date":
            return dt.date.fromisoformat(str(value)[:10]).isoformat()
    except (InvalidOperation, ValueError):
        pass
    return (item.get("text") or {}).get("th", "") or str(value)


def _decimal(spec: FieldSpec, raw: Any) -> Decimal:
    text = str(raw).strip().replace(",", "")
    for suffix in ("บาท", "THB"):
        text = text.replace(suffix, "").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CellError(f"“{raw}” ไม่ใช่ตัวเลข", f"“{raw}” is not a number") from None
    if not number.is_finite():
        raise CellError(f"“{raw}” ไม่ใช่ตัวเลข", f"“{raw}” is not a number")
    return number


def read_date(raw: Any) -> dt.date:
    """A date cell: a spreadsheet date, or ``YYYY-MM-DD`` (a year from 2400 on is
    taken as the Buddhist Era, as Thai spreadsheets often write it)."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = str(raw).strip()
    try:
        day = dt.date.fromisoformat(text[:10])
    except ValueError:
        raise CellError(f"“{raw}” ไม่ใช่วันที่แบบ ปปปป-ดด-วว (เช่น 2026-06-15)",
                          f"“{raw}” is not a date as YYYY-MM-DD (e.g. 2026-06-15)") from None
    if day.year >= 2400:
        day = day.replace(year=dates.ce_year(day.year))
    return day


def parse(spec: FieldSpec, raw: Any) -> dict[str, Any]:
    """A cell read back into a kept field; raises :class:`CellError`."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return snapshot(spec, None)
    kind = spec.type
    if kind in ("number", "money"):
        number = _decimal(spec, raw)
        return snapshot(spec, f"{number:.2f}" if kind == "money" else str(number))
    if kind == "date":
        return snapshot(spec, read_date(raw).isoformat())
    text = str(raw).strip()
    if kind in ("yes_no", "consent"):
        if text.lower() in _YES:
            return snapshot(spec, True)
        if text.lower() in _NO:
            return snapshot(spec, False)
        raise CellError(f"“{raw}” ต้องเป็น ใช่ หรือ ไม่ใช่", f"“{raw}” must be yes or no")
    if kind in ("choice", "checklist"):
        wanted = [text] if kind == "choice" else [p.strip() for p in text.split(";") if p.strip()]
        values = []
        for part in wanted:
            found = next((v for v, label in spec.options if part in (v, label["th"], label["en"])), None)
            if found is None:
                shown = ", ".join(label["th"] for _, label in spec.options)
                raise CellError(f"“{part}” ไม่อยู่ในตัวเลือก ({shown})",
                                  f"“{part}” is not one of the options ({shown})")
            values.append(found)
        return snapshot(spec, values[0] if kind == "choice" else values)
    if kind in ("thai_address", "group"):  # kept as the text given
        item = snapshot(spec, None)
        item["text"] = {"th": text, "en": text}
        return item
    return snapshot(spec, text)
