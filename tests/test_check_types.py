"""Typed expressions: `eservice check` finds type mistakes at file:line with a fix,
and whole numbers meeting decimals are converted by the engine (issue #10 item 1).
# R: A-SP3 A-SP1
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from eservice import forms
from eservice.expr import compile_expression
from eservice.spec.loader import load, load_or_raise

FIXTURES = Path(__file__).parent / "fixtures" / "defs"

MACHINES = '''            - id: machines
              type: group
              label: {th: เครื่องจักร, en: Machines}
              fields:
                - id: horsepower
                  type: number
                  label: {th: แรงม้า, en: Horsepower}
                - id: machine_name
                  type: text
                  label: {th: ชื่อเครื่อง, en: Name}
'''


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    target = tmp_path / "defs"
    shutil.copytree(FIXTURES, target)
    path = target / "test-agency" / "minimal.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = "            - id: kitchen_size\n"
    path.write_text(text.replace(anchor, MACHINES + anchor), encoding="utf-8")
    return target


def edit(defs: Path, old: str, new: str) -> int:
    path = defs / "test-agency" / "minimal.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


def problem_at(defs: Path, line: int, contains: str):
    _, problems = load([defs])
    found = [p for p in problems if contains in p.en]
    assert found, f"no problem mentions {contains!r}: {[p.format() for p in problems]}"
    p = found[0]
    assert p.file.endswith("minimal.yaml") and p.line == line, p.format()
    assert p.th and p.en and p.fix_th and p.fix_en, "Thai, English and a fix"
    return p


CALC = '''  - id: area_fee
    expr: "shop_area > 200.0 ? 1000.0 : 500.0"
    type: money
'''


def test_whole_numbers_with_a_decimal_field_are_converted_and_work_at_run_time(defs: Path):
    # the expression from issue #10: CEL alone fails on it (int and double never mix)
    edit(defs, CALC, CALC + '''  - id: strong_machines
    expr: "machines.exists(a, (a.horsepower - 5) * 10 > 100)"
    type: yes_no
  - id: area_charge
    expr: "(shop_area - 5) * 10"
''')
    edit(defs, 'amount: "area_fee"', 'amount: "area_charge + size(shop_name)"')
    catalogue = load_or_raise([defs])
    service = catalogue.latest("minimal-permit")
    raw = compile_expression("(shop_area - 5) * 10")
    with pytest.raises(Exception):
        raw.evaluate({"shop_area": 7.5})  # what the engine does without the conversion
    answers = {"shop_name": "ร้านดี", "shop_area": 7.5,
               "machines": [{"horsepower": 16.5, "machine_name": "A"}]}
    ev = forms.Evaluation(service, answers)
    assert ev.values["area_charge"] == 25.0
    assert ev.values["strong_machines"] is True
    assert ev.money('area_charge + size(shop_name)') == Decimal("31.00")  # 25 + 6 characters
    weak = forms.Evaluation(service, {**answers, "machines": [{"horsepower": 15, "machine_name": "B"}]})
    assert weak.values["strong_machines"] is False


def test_writing_double_still_works(defs: Path):
    edit(defs, CALC, CALC + '''  - id: area_charge
    expr: "(shop_area - double(5)) * 10.0"
''')
    service = load_or_raise([defs]).latest("minimal-permit")
    assert forms.Evaluation(service, {"shop_area": 7.5}).values["area_charge"] == 25.0


def test_unknown_member_of_a_group_item(defs: Path):
    line = edit(defs, CALC, CALC + '''  - id: strong_machines
    expr: "machines.exists(a, a.horsepowr > 100)"
    type: yes_no
''') + 3
    p = problem_at(defs, line + 1, "has no member `horsepowr`")
    assert "did you mean `horsepower`" in p.fix_en
    assert "machines" in p.en


def test_invalid_duration_literal(defs: Path):
    line = edit(defs, '      guard: "shop_area > 0"', '      guard: \'shop_area > 0 && today() < timestamp("2030-01-01T00:00:00+07:00") + duration("6M")\'')
    p = problem_at(defs, line, 'duration("6M")')
    assert "h" in p.fix_en and "months" in p.fix_en
    line = edit(defs, "    amount: \"area_fee\"", "    amount: \"area_fee\"\n    when: 'today() - timestamp(\"2024-01-01T00:00:00Z\") > duration(\"30d\")'")
    p = problem_at(defs, line + 1, 'duration("30d")')
    assert 'duration("720h")' in p.fix_en


def test_condition_that_is_not_true_or_false(defs: Path):
    line = edit(defs, 'when: "has_kitchen == true"', 'when: "shop_area * 2"')
    p = problem_at(defs, line, "must give true/false")
    assert "shop_area > 20" in p.fix_en


def test_fee_that_is_not_money(defs: Path):
    line = edit(defs, 'amount: "area_fee"', "amount: 'shop_name + \"baht\"'")
    problem_at(defs, line, "money amount must be a number")


def test_wrong_argument_types_for_our_functions(defs: Path):
    line = edit(defs, '- check: "shop_area > 0"', '- check: "age(shop_area) > 0 && size(has_kitchen) > 0"')
    problem_at(defs, line, "`age()` needs a date")
    problem_at(defs, line, "`size()` needs a text or a list")
    edit(defs, '- check: "age(shop_area) > 0 && size(has_kitchen) > 0"', '- check: "working_days(shop_name, 3) > 0"')
    problem_at(defs, line, "`working_days()` needs two dates")


def test_text_compared_with_a_number(defs: Path):
    line = edit(defs, '- check: "shop_area > 0"', '- check: \'shop_area > "0"\'')
    p = problem_at(defs, line, "cannot be compared")
    assert "without quotes" in p.fix_en


def test_calculation_declared_type_must_match(defs: Path):
    line = edit(defs, CALC, CALC + '''  - id: big
    expr: "shop_area > 100.0"
    type: date
''')
    problem_at(defs, line + 5, "declared `date`")


def test_guard_sees_typed_inputs(defs: Path):
    line = edit(defs, "      to: awaiting_documents\n", "      to: awaiting_documents\n      guard: 'input.deadlin > today()'\n")
    p = problem_at(defs, line + 1, "has no member `deadlin`")
    assert "deadline" in p.fix_en
    edit(defs, "input.deadlin > today()", "input.deadline > today()")
    load_or_raise([defs])  # a date input is a date: compares with today()
    line = edit(defs, '      guard: "shop_area > 0"', '      guard: "input.reason != \'\'"')
    p = problem_at(defs, line, "has no member `reason`")
    assert "inputs" in p.fix_en


def test_cli_reports_type_problem_with_file_line_and_fix(defs: Path):
    line = edit(defs, 'when: "has_kitchen == true"', "when: 'has_kitchen == true && today() + duration(\"6M\") > today()'")
    out = subprocess.run([sys.executable, "-m", "eservice.cli", "check", str(defs)], capture_output=True, text=True)
    assert out.returncode == 1
    assert f"minimal.yaml:{line}:" in out.stdout
    assert 'duration("6M")' in out.stdout and "วิธีแก้" in out.stdout and "Fix:" in out.stdout


def test_a_typed_date_input_works_in_a_guard_at_run_time(defs, tmp_path):
    """`input.deadline` is a date in guards (not ISO text): "at most 30 days" holds for a
    near deadline and refuses a far one (A-SP3, A-A4, PR-1)."""
    import datetime as dt

    from eservice.applications import Applications, declaration_of
    from eservice.clock import BANGKOK, FixedClock
    from eservice.engine import EngineContext, EngineError
    from eservice.policy import Actor, Grant
    from eservice.store import open_store
    from eservice.workflow import Workflow

    edit(defs, "      to: awaiting_documents\n",
         "      to: awaiting_documents\n      guard: 'input.deadline <= today() + duration(\"720h\")'\n")
    catalogue = load_or_raise([defs])
    clock = FixedClock(dt.datetime(2023, 1, 23, 10, 0, tzinfo=BANGKOK).astimezone(dt.timezone.utc))
    ctx = EngineContext(catalogue=catalogue, store=open_store(tmp_path / "data"), clock=clock,
                        notifier=lambda *a: None)
    citizen = Actor(user_id="u-citizen", name="สมชาย ใจดี", ip="203.0.113.9", user_agent="pytest")
    reviewer = Actor(user_id="u-reviewer", grants=(Grant("test-agency", "reviewer"),))
    apps = Applications(ctx)
    service = catalogue.latest("minimal-permit")
    ids = []
    for _ in range(2):
        record = apps.start("minimal-permit", citizen)
        record, errors = apps.save_page(record["id"], citizen, "shop", {"shop_name": "ร้าน", "shop_area": 25})
        assert errors == []
        ids.append(apps.submit(record["id"], citizen, declaration_shown=declaration_of(service),
                               intent_confirmed=True)["id"])
    flow = Workflow(ctx)
    with pytest.raises(EngineError) as refused:
        flow.take(ids[0], "request_documents", reviewer, {"missing": "x", "deadline": "2023-04-30"})
    assert refused.value.code == "guard"
    done = flow.take(ids[1], "request_documents", reviewer, {"missing": "x", "deadline": "2023-02-10"})
    assert done["state"] == "awaiting_documents"


def test_a_calculation_without_type_must_give_a_number(defs: Path):
    line = edit(defs, CALC, CALC + '''  - id: big
    expr: "shop_area > 100.0"
''')
    p = problem_at(defs, line + 3, "declared `number` but its expression gives a true/false")
    assert "`type: number` is the default" in p.fix_en
