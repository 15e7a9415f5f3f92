"""The expression type checker on its own: types, problems and the int -> double
rewrite, and the rewritten text giving the arithmetic's value at run time.
# R: A-SP3
"""
from __future__ import annotations

import pytest

from eservice.expr import compile_expression
from eservice.expr._parser import _Parser, _tokenize
from eservice.expr.types import BOOL, DATE, DOUBLE, INT, MONEY, STRING, check_result, check_types, list_of, record

ENV = {
    "area": DOUBLE, "fee": MONEY, "name": STRING, "born": DATE, "ok": BOOL, "kinds": list_of(STRING),
    "machines": list_of(record({"hp": DOUBLE, "label": STRING}, "an item of the group `machines`")),
}


def check(source: str):
    return check_types(source, _Parser(_tokenize(source)).parse(), ENV)


@pytest.mark.parametrize("source, rewritten, value", [
    ("(area - 5) * 10", "(area - 5.0) * 10.0", 25.0),
    ("-5 + area", "-5.0 + area", 2.5),
    ("area > 3 ? 1 : 2.5", "area > 3 ? 1.0 : 2.5", 1.0),
    ("size(name) * area", "double(size(name)) * area", 22.5),
    ("int(area * 2) + area", "double(int(area * 2.0)) + area", 22.5),
    ("machines.map(m, m.hp * 2)[0] + size(kinds)", "machines.map(m, m.hp * 2.0)[0] + double(size(kinds))", 4.0),
    ("fee + 20", "fee + 20.0", 120.0),
    ("area * 0x10", "area * double(0x10)", 120.0),
    ("size(kinds) + 1", "size(kinds) + 1", 2),  # whole numbers alone stay whole
])
def test_whole_numbers_meeting_decimals_are_rewritten_and_evaluate(source, rewritten, value):
    result = check(source)
    assert result.problems == []
    assert result.rewritten == rewritten
    bindings = {"area": 7.5, "fee": 100.0, "name": "abc", "kinds": ["x"], "machines": [{"hp": 1.5, "label": "a"}]}
    assert compile_expression(result.rewritten).evaluate(bindings) == value


@pytest.mark.parametrize("source, says", [
    ("machines.exists(m, m.hpp > 1)", "has no member `hpp`"),
    ("age(area) > 1", "`age()` needs a date"),
    ("working_days(area, born) > 1", "`working_days()` needs two dates"),
    ("size(ok) > 1", "`size()` needs a text or a list"),
    ("thai_id_valid(area)", "`thai_id_valid()` needs the ID as text"),
    ('born + duration("6M") > today()', 'duration("6M")'),
    ('born > timestamp("2024-13-01T00:00:00Z")', "not a timestamp"),
    ("name + 1 == name", "`+` cannot combine a text and a whole number"),
    ('area > "5"', "cannot be compared"),
    ("!area", "`!` needs true/false"),
    ("area && ok", "`&&` joins true/false values"),
    ("kinds.contains(\"a\")", "`.contains()` works on a text"),
    ("born.getFullYear() > 2000 && area.getMonth() > 1", "`.getMonth()` reads a date"),
    ("area ? 1 : 2", "must be true/false"),
])
def test_type_problems(source, says):
    problems = check(source).problems
    assert any(says in p.en for p in problems), [p.en for p in problems]
    p = next(p for p in problems if says in p.en)
    assert p.th and 0 <= p.pos < len(source)


@pytest.mark.parametrize("source, want, wrong", [
    ("area * 2", "bool", True), ("area > 2", "bool", False), ("name", "money", True),
    ("area * 2", "money", False), ("size(name)", "money", False), ("ok", "money", True),
])
def test_what_a_place_needs(source, want, wrong):
    assert (check_result(check(source).type, want) is not None) is wrong


def test_result_types():
    assert check("born.getFullYear()").type == INT
    assert check("fee - 20").type == MONEY
    assert check("machines.filter(m, m.hp > 2)").type.kind == "list"
    assert check("today() - born").type.kind == "duration"
