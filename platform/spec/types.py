"""The type of every name a definition's expressions can read (issue #10 item 1, A-SP3).

Fields by their field type, group items with their fields, calculations by what
their expression gives, officers' inputs by input type, and the names guards
get.  :mod:`eservice.expr.types` checks expressions against these.

==================================  =============================================
field type                          type in expressions
==================================  =============================================
text, long_text, email, thai_*      text (``thai_address``: a record of
id/phone, choice                    ``line, subdistrict, district, province, postcode``)
number                              decimal (every number answer, whole or not)
money                               money (a decimal)
date                                date
yes_no, consent                     true/false
checklist                           list of text (the option values)
group                               list of records with the group's fields
==================================  =============================================

The same table is in docs/service-definition.md ("Types in expressions").
"""
from __future__ import annotations

from collections.abc import Mapping

from ..expr.types import BOOL, DATE, DOUBLE, DYN, MONEY, STRING, T, list_of, map_of, record
from .models import FieldType, FormField, Input

ADDRESS_KEYS = ("line", "subdistrict", "district", "province", "postcode")

_SIMPLE = {
    FieldType.text: STRING, FieldType.long_text: STRING, FieldType.email: STRING,
    FieldType.thai_phone: STRING, FieldType.thai_national_id: STRING, FieldType.thai_juristic_id: STRING,
    FieldType.choice: STRING, FieldType.number: DOUBLE, FieldType.money: MONEY, FieldType.date: DATE,
    FieldType.yes_no: BOOL, FieldType.consent: BOOL, FieldType.checklist: list_of(STRING),
}

CALCULATION_TYPES = {"number": None, "money": MONEY, "text": STRING, "yes_no": BOOL, "date": DATE}


def field_type(field: FormField) -> T:
    if field.type is FieldType.group:
        return list_of(item_type(field))
    if field.type is FieldType.thai_address:
        return record({k: STRING for k in ADDRESS_KEYS}, "an address")
    return _SIMPLE.get(field.type, DYN)


def item_type(group: FormField) -> T:
    """One item of a group field: a record of its fields."""
    return record({f.id: field_type(f) for f in group.fields}, f"an item of the group `{group.id}`")


_INPUT_TYPES = {"text": STRING, "long_text": STRING, "date": DATE, "choice": STRING,
                "checklist": list_of(STRING), "number": DOUBLE, "money": MONEY, "yes_no": BOOL,
                "documents": list_of(STRING)}


def inputs_type(inputs: tuple[Input, ...]) -> T:
    """``input`` in a transition's guard: a record of that transition's inputs."""
    return record({i.id: _INPUT_TYPES.get(i.type, DYN) for i in inputs}, "`input` of this transition")


def guard_names(inputs: tuple[Input, ...]) -> dict[str, T]:
    return {"input": inputs_type(inputs), "paid": BOOL, "state": STRING, "documents": map_of(BOOL)}


def with_types(base: Mapping[str, T], extra: Mapping[str, T]) -> dict[str, T]:
    out = dict(base)
    out.update(extra)
    return out
