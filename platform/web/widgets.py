"""From a form field of the definition to what a template draws (issue #3 item 3).

Nothing here knows a particular service: every control is chosen from the
field's type (``spec.models.FieldType``) and its options.  The templates in
``renderers/templates/widgets/`` draw the dicts built here (one macro per
``kind``).

Names and ids
-------------
Input names are the ones :func:`eservice.forms.parse_page` reads: ``field``;
a checklist repeats ``field``; address parts ``field.line`` …; group items
``group.0.field``; a date is three inputs ``field.day``, ``field.month`` and
``field.year`` (Buddhist Era) that :func:`combine_dates` joins into
``dd/mm/yyyy`` before parsing (``forms._parse_date`` reads years over 2400 as
BE).  The id of a control is ``f-`` + its error path with every run of
punctuation turned into ``-`` (``food_handlers[0].trained`` →
``f-food_handlers-0-trained``), so an error summary links straight to it.

Conditions (hidden means not applicable, A-SP3): a field whose ``when`` is false
is not drawn, except when the condition is a simple ``x == value`` on a field of
the same page (or of the same group item): then it is drawn with ``hidden`` and
``data-show-if`` so ``forms.js`` can reveal it at once.  Without JavaScript the
server shows it after the page is saved.  Either way the server drops answers
to fields whose condition is false (``forms.clean``).

Requirements: A-F1, A-F3 (structured inputs: drop-downs, checklists, date selectors).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ..forms import Evaluation, FieldError
from ..renderers import dates
from ..renderers.html import format_money, format_number
from ..spec.models import FieldType, FormField, Page
from .i18n import pick, text

__all__ = [
    "html_id", "combine_dates", "remove_item", "build_page", "error_summary", "dedupe_errors",
    "format_answer", "answer_rows", "prefill_values", "YES_NO", "simple_condition",
]

YES_NO = {"yes": ("ใช่", "Yes"), "no": ("ไม่ใช่", "No")}
RADIOS_UP_TO = 5  # a choice without `widget` is radios up to this many options, else a drop-down

# autocomplete tokens for profile prefill keys (A-F2)
_AUTOCOMPLETE = {
    "first_name": "given-name", "last_name": "family-name", "full_name": "name",
    "email": "email", "phone": "tel", "birth_date": "bday", "national_id": "off",
}
_ADDRESS_TOKENS = {"line": "address-line1", "province": "address-level1", "district": "address-level2",
                   "subdistrict": "address-level3", "postcode": "postal-code"}
ADDRESS_ORDER = ("line", "province", "district", "subdistrict", "postcode")
ADDRESS_LABELS = {
    "line": ("บ้านเลขที่ หมู่ ซอย ถนน", "House number, village, lane and road"),
    "province": ("จังหวัด", "Province"),
    "district": ("อำเภอ / เขต", "District (amphoe / khet)"),
    "subdistrict": ("ตำบล / แขวง", "Subdistrict (tambon / khwaeng)"),
    "postcode": ("รหัสไปรษณีย์", "Postcode"),
}
_SIMPLE = re.compile(r'^\s*([a-z][a-z0-9_]*)\s*==\s*(?:"([^"\\]*)"|\'([^\'\\]*)\'|(true|false))\s*$')
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def html_id(path: str) -> str:
    """``food_handlers[0].trained`` / ``food_handlers.0.trained`` → ``f-food_handlers-0-trained``."""
    return "f-" + re.sub(r"[^A-Za-z0-9_]+", "-", path).strip("-")


# ------------------------------------------------------------------ incoming forms
def combine_dates(items: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Join ``x.day``/``x.month``/``x.year`` into ``x`` = ``d/m/yyyy`` (empty when all
    three are empty); every other pair passes unchanged, in order."""
    pairs = list(items)
    parts: dict[str, dict[str, str]] = {}
    for key, value in pairs:
        if not isinstance(value, str):
            continue
        base, dot, part = key.rpartition(".")
        if dot and part in ("day", "month", "year"):
            parts.setdefault(base, {})[part] = value.strip()
    dates_done: set[str] = set()
    out: list[tuple[str, Any]] = []
    for key, value in pairs:
        base, dot, part = key.rpartition(".")
        if dot and part in ("day", "month", "year") and base in parts:
            if base not in dates_done:
                dates_done.add(base)
                p = parts[base]
                if any(p.get(x) for x in ("day", "month", "year")):
                    out.append((base, f"{p.get('day', '')}/{p.get('month', '')}/{p.get('year', '')}"))
                else:
                    out.append((base, ""))
            continue
        out.append((key, value))
    return out


def remove_item(items: Iterable[tuple[str, Any]], group: str, index: int) -> list[tuple[str, Any]]:
    """The pairs without those of item ``index`` of ``group`` (``group.<index>.…``)."""
    prefix = f"{group}.{index}."
    return [(k, v) for k, v in items if not k.startswith(prefix)]


def dedupe_errors(errors: Iterable[FieldError]) -> list[FieldError]:
    """One error per path: the first wins (the parser's message is the more helpful)."""
    seen: set[str] = set()
    out = []
    for error in errors:
        if error.path in seen:
            continue
        seen.add(error.path)
        out.append(error)
    return out


def simple_condition(source: str | None) -> tuple[str, str] | None:
    """``x == "a"`` → ``("x", "a")``; ``x == true`` → ``("x", "yes")``; else None."""
    if not source:
        return None
    found = _SIMPLE.match(source)
    if not found:
        return None
    name, dq, sq, boolean = found.groups()
    if boolean is not None:
        return name, "yes" if boolean == "true" else "no"
    return name, dq if dq is not None else sq


def prefill_values(page: Page, answers: Mapping[str, Any], prefill: Mapping[str, Any] | None) -> dict[str, Any]:
    """Profile values for a page never saved yet (none of its fields answered), A-F2.
    Answers the engine prefilled at the start may have been cleared while the page
    was hidden; they are offered again, never saved until the page is."""
    if not prefill or any(f.id in answers for f in page.fields):
        return {}
    out = {}
    for f in page.fields:
        if not f.prefill:
            continue
        source, _, key = f.prefill.partition(".")
        found = prefill.get(source)
        value = found.get(key) if isinstance(found, Mapping) else prefill.get(key)
        if value not in (None, ""):
            out[f.id] = value
    return out


# ------------------------------------------------------------------ drawing a page
class _Builder:
    def __init__(self, lang: str, errors: Iterable[FieldError], ev: Evaluation | None,
                 add_to: Mapping[str, int] | None = None):
        self.lang = lang
        self.ev = ev
        self.add_to = dict(add_to or {})  # group id -> empty items to add after the saved ones
        self.by_path: dict[str, list[str]] = {}
        for e in errors:
            self.by_path.setdefault(e.path, []).append(e.text(lang))
        self.ids: list[str] = []  # every control id in page order (for error links)

    def p(self, th: str, en: str) -> str:
        return pick(self.lang, th, en)

    def t(self, value: Any) -> str:
        return text(value, self.lang) if value is not None else ""

    def holds(self, source: str | None, scope: Mapping[str, Any] | None = None) -> bool:
        if source is None:
            return True
        if self.ev is None:
            return True
        return self.ev.holds(source, scope)

    # -- one field ---------------------------------------------------------------
    def field(self, f: FormField, value: Any, name: str, path: str, *, page_fields: set[str],
              scope: Mapping[str, Any] | None = None, name_prefix: str = "") -> dict | None:
        hidden = False
        show_if = None
        if f.when is not None:
            simple = simple_condition(f.when)
            local = simple is not None and simple[0] in page_fields
            if local:
                show_if = {"name": name_prefix + simple[0], "value": simple[1]}
            if not self.holds(f.when, scope):
                if not local:
                    return None
                hidden = True
        wid = html_id(path)
        w: dict[str, Any] = {
            "kind": "text", "field": f, "type": f.type.value, "name": name, "path": path, "id": wid,
            "label": self.t(f.label), "hint": self.t(f.hint) if f.hint else "",
            "unit": self.t(f.unit) if f.unit else "",
            "optional": not f.required and f.required_when is None,
            "errors": self.by_path.get(path, []), "hidden": hidden, "show_if": show_if,
            "value": "", "attrs": {},
        }
        t = f.type
        self.ids.append(wid)
        if t in (FieldType.text, FieldType.email, FieldType.thai_phone, FieldType.thai_national_id,
                 FieldType.thai_juristic_id, FieldType.number, FieldType.money):
            w["value"] = "" if value is None else _display_scalar(value)
            w["attrs"] = self._input_attrs(f)
            if t is FieldType.money:
                w["prefix"] = "฿"
                w["unit"] = w["unit"] or self.p("บาท", "baht")
        elif t is FieldType.long_text:
            w["kind"] = "textarea"
            w["value"] = "" if value is None else str(value)
        elif t is FieldType.date:
            w["kind"] = "date"
            auto = "bday" if f.prefill == "profile.birth_date" else None
            w.update(dates.date_widget(wid, name, value, self.lang, auto))
            self.ids += [f"{wid}-month", f"{wid}-year"]
        elif t is FieldType.choice:
            style = f.widget or ("radios" if len(f.options) <= RADIOS_UP_TO else "dropdown")
            w["kind"] = "radios" if style == "radios" else "select"
            w["options"] = self._options(f, wid, [value] if value is not None else [])
            w["inline"] = False
        elif t is FieldType.checklist:
            w["kind"] = "checkboxes"
            chosen = value if isinstance(value, list) else ([value] if value else [])
            w["options"] = self._options(f, wid, chosen)
        elif t is FieldType.yes_no:
            w["kind"] = "radios"
            current = "yes" if value is True else "no" if value is False else value
            w["options"] = [
                {"value": v, "label": self.p(*YES_NO[v]), "id": wid if i == 0 else f"{wid}-{v}",
                 "checked": current == v} for i, v in enumerate(("yes", "no"))]
            self.ids.append(f"{wid}-no")
            w["inline"] = True
        elif t is FieldType.consent:
            w["kind"] = "consent"
            w["checked"] = value is True
            w["consent_text"] = self.t(f.consent_text) if f.consent_text else ""
        elif t is FieldType.thai_address:
            w["kind"] = "address"
            w["parts"] = self._address_parts(f, value if isinstance(value, Mapping) else {}, name, path, wid)
            w["province_list"] = f"{wid}-provinces"
        elif t is FieldType.group:
            w["kind"] = "group"
            self._group(w, f, value if isinstance(value, list) else [], name, path)
        else:  # a field type added by a plugin: a plain text input
            w["value"] = "" if value is None else _display_scalar(value)
        return w

    def _input_attrs(self, f: FormField) -> dict[str, Any]:
        t = f.type
        auto = _AUTOCOMPLETE.get(f.prefill.partition(".")[2]) if f.prefill else None
        attrs: dict[str, Any] = {"type": "text"}
        width = None
        if t is FieldType.email:
            attrs.update(type="email", spellcheck="false", autocomplete=auto or "email")
            width = "20"
        elif t is FieldType.thai_phone:
            attrs.update(type="tel", autocomplete=auto or "tel", inputmode="tel")
            width = "10"
        elif t in (FieldType.thai_national_id, FieldType.thai_juristic_id):
            attrs.update(inputmode="numeric", spellcheck="false", autocomplete=auto or "off")
            width = "10"
        elif t in (FieldType.number, FieldType.money):
            integral = t is FieldType.number and (f.decimals == 0)
            attrs.update(inputmode="numeric" if integral else "decimal", spellcheck="false")
            width = "10"
        else:
            if auto:
                attrs["autocomplete"] = auto
            if f.max_length and f.max_length <= 20:
                width = "10"
        if width:
            attrs["width"] = width
        return attrs

    def _options(self, f: FormField, wid: str, chosen: list[Any]) -> list[dict]:
        out = []
        for i, o in enumerate(f.options):
            oid = wid if i == 0 else f"{wid}-{o.value}"
            if i:
                self.ids.append(oid)
            out.append({"value": o.value, "label": self.t(o.label), "id": oid, "checked": o.value in chosen})
        return out

    def _address_parts(self, f: FormField, value: Mapping[str, Any], name: str, path: str, wid: str) -> list[dict]:
        parts = []
        profile = f.prefill == "profile.address"
        for i, part in enumerate(ADDRESS_ORDER):
            pid = wid if i == 0 else html_id(f"{path}.{part}")
            if i:
                self.ids.append(pid)
            parts.append({
                "part": part, "name": f"{name}.{part}", "id": pid,
                "label": self.p(*ADDRESS_LABELS[part]),
                "value": "" if value.get(part) is None else str(value.get(part)),
                "errors": self.by_path.get(f"{path}.{part}", []),
                "autocomplete": _ADDRESS_TOKENS[part] if profile else "off",
            })
        return parts

    def _group(self, w: dict, f: FormField, items: list, name: str, path: str) -> None:
        item_label = self.t(f.item_label) if f.item_label else self.p("รายการ", "Item")
        rows = [i for i in items if isinstance(i, Mapping)]
        blanks = self.add_to.get(f.id, 0) or (0 if rows else 1)
        room = blanks if f.max_items is None else max(0, f.max_items - len(rows))
        rows = [*rows, *({} for _ in range(min(blanks, room)))]
        siblings = {c.id for c in f.fields}
        out = []
        for index, item in enumerate(rows):
            scope = {**{c.id: None for c in f.fields}, **item}
            children = []
            for child in f.fields:
                cw = self.field(child, item.get(child.id), f"{name}.{index}.{child.id}",
                                f"{path}[{index}].{child.id}", page_fields=siblings, scope=scope,
                                name_prefix=f"{name}.{index}.")
                if cw is not None:
                    children.append(cw)
            out.append({"index": index, "number": index + 1, "title": f"{item_label} {index + 1}",
                        "id": html_id(f"{path}[{index}]"), "children": children,
                        "remove": f"remove_item:{f.id}:{index}"})
        w["entries"] = out
        w["item_label"] = item_label
        w["can_add"] = f.max_items is None or len(rows) < f.max_items
        w["add"] = f"add_item:{f.id}"
        w["limits"] = _group_limits(f, self.lang)


def _group_limits(f: FormField, lang: str) -> str:
    if f.min_items and f.max_items:
        return pick(lang, f"อย่างน้อย {f.min_items} ไม่เกิน {f.max_items} รายการ",
                    f"At least {f.min_items}, at most {f.max_items}")
    if f.max_items:
        return pick(lang, f"ไม่เกิน {f.max_items} รายการ", f"At most {f.max_items}")
    if f.min_items:
        return pick(lang, f"อย่างน้อย {f.min_items} รายการ", f"At least {f.min_items}")
    return ""


def _display_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format(Decimal(str(value)).normalize(), "f")
    return str(value)


def _iso_date(value: Any) -> dt.date | None:
    if isinstance(value, str) and _ISO.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def build_page(page: Page, answers: Mapping[str, Any], lang: str, *, errors: Iterable[FieldError] = (),
               ev: Evaluation | None = None, add_to: Mapping[str, int] | None = None) -> tuple[list[dict], list[dict]]:
    """The widgets of ``page`` filled with ``answers``, and the error summary
    (``[{text, href}]`` in page order, each linking to its control).  ``add_to``:
    how many empty items to show after the saved ones of a group ("add another")."""
    errors = list(errors)
    builder = _Builder(lang, errors, ev, add_to)
    own = {f.id for f in page.fields}
    widgets = []
    for f in page.fields:
        w = builder.field(f, answers.get(f.id), f.id, f.id, page_fields=own)
        if w is not None:
            widgets.append(w)
    return widgets, error_summary(errors, builder.ids, lang)


def error_summary(errors: Iterable[FieldError], ids: list[str], lang: str) -> list[dict]:
    """Each error with the id of the control it is about (the nearest one drawn)."""
    order = {i: n for n, i in enumerate(ids)}
    out = []
    for e in errors:
        anchor = html_id(e.path)
        while anchor not in order and "-" in anchor[2:]:
            anchor = anchor.rsplit("-", 1)[0]
        if anchor not in order:
            anchor = html_id(e.field) if html_id(e.field) in order else (ids[0] if ids else anchor)
        out.append({"text": e.text(lang), "href": f"#{anchor}", "path": e.path,
                    "_order": order.get(anchor, len(order))})
    out.sort(key=lambda x: x["_order"])
    for item in out:
        del item["_order"]
    return out


# ------------------------------------------------------------------ showing answers
def _format_national_id(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if len(digits) == 13:
        return f"{digits[0]}-{digits[1:5]}-{digits[5:10]}-{digits[10:12]}-{digits[12]}"
    return value


def _format_address(value: Mapping[str, Any], lang: str) -> str:
    try:
        from eservice.plugins.thai_address import format_address
        return format_address(value, lang)
    except Exception:  # incomplete or inconsistent (or the plugin is absent): the parts as typed
        return " ".join(str(value.get(p) or "").strip() for p in
                        ("line", "subdistrict", "district", "province", "postcode") if value.get(p))


def format_answer(f: FormField, value: Any, lang: str) -> Any:
    """An answer as people read it: option labels, money with separators, dates in
    the Buddhist Era (Thai), addresses in one line.  A checklist gives a list of
    labels; a group gives ``[{title, rows: [{label, value}]}]``; empty gives ''."""
    if value is None or value == "" or value == [] or value == {}:
        return ""
    t = f.type
    if t is FieldType.money:
        try:
            return format_money(Decimal(str(value)), lang)
        except (InvalidOperation, TypeError):
            return str(value)
    if t is FieldType.number:
        shown = format_number(value)
        return f"{shown} {text(f.unit, lang)}" if f.unit else shown
    if t is FieldType.date:
        day = _iso_date(value)
        return dates.format_date(day, lang, long=True) if day else str(value)
    if t is FieldType.choice:
        option = next((o for o in f.options if o.value == value), None)
        return text(option.label, lang) if option else str(value)
    if t is FieldType.checklist:
        labels = {o.value: text(o.label, lang) for o in f.options}
        return [labels.get(v, str(v)) for v in (value if isinstance(value, list) else [value])]
    if t is FieldType.yes_no:
        if isinstance(value, bool):
            return pick(lang, *YES_NO["yes" if value else "no"])
        return str(value)
    if t is FieldType.consent:
        return pick(lang, "ยินยอม", "Agreed") if value is True else pick(lang, "ไม่ยินยอม", "Not agreed")
    if t is FieldType.thai_address:
        return _format_address(value, lang) if isinstance(value, Mapping) else str(value)
    if t is FieldType.thai_national_id:
        return _format_national_id(str(value))
    if t is FieldType.group:
        item_label = text(f.item_label, lang) if f.item_label else pick(lang, "รายการ", "Item")
        items = []
        for n, item in enumerate(value if isinstance(value, list) else [], start=1):
            if not isinstance(item, Mapping):
                continue
            rows = []
            for child in f.fields:
                if child.id in item:
                    shown = format_answer(child, item[child.id], lang)
                    rows.append({"label": text(child.label, lang),
                                 "value": ", ".join(shown) if isinstance(shown, list) else shown})
            items.append({"title": f"{item_label} {n}", "rows": rows})
        return items
    return str(value)


def answer_rows(service: Any, answers: Mapping[str, Any], ev: Evaluation, lang: str) -> list[dict]:
    """Every visible section → pages → fields with their shown answers (A-F7):
    ``[{section, title, pages: [{page, rows: [{field, label, value, kind, anchor}]}]}]``."""
    out = []
    for section in service.definition.form.sections:
        pages = []
        for page in section.pages:
            if not ev.holds(page.when):
                continue
            rows = []
            for f in page.fields:
                if not ev.holds(f.when):
                    continue
                shown = format_answer(f, answers.get(f.id), lang)
                kind = "group" if f.type is FieldType.group else "list" if isinstance(shown, list) else "text"
                rows.append({"field": f, "id": f.id, "label": text(f.label, lang), "value": shown,
                             "kind": kind, "anchor": html_id(f.id),
                             "multiline": f.type is FieldType.long_text})
            if rows:
                pages.append({"page": page, "title": text(page.title, lang), "rows": rows})
        if pages:
            out.append({"section": section, "title": text(section.title, lang), "pages": pages})
    return out
