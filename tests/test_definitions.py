"""Loading and checking service definitions: every kind of mistake a clerk makes
is caught, and the message names the file, the line and a fix (issue #2, item 3).
# R: A-SP1 A-SP2 A-SP3 A-SP4
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from eservice.spec.loader import load, load_or_raise
from eservice.spec.problems import DefinitionError
from eservice.spec.schema import definition_schema

FIXTURES = Path(__file__).parent / "fixtures" / "defs"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    target = tmp_path / "defs"
    shutil.copytree(FIXTURES, target)
    return target


def service_file(defs: Path) -> Path:
    return defs / "test-agency" / "minimal.yaml"


def mutate(defs: Path, old: str, new: str, count: int = 1) -> int:
    """Replace text in the fixture; return the 1-based line where ``new`` starts."""
    path = service_file(defs)
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture does not contain {old!r}"
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return line


def problems_for(defs: Path):
    _, problems = load([defs])
    return problems


def one_problem(defs: Path, *, line: int, contains: str):
    problems = problems_for(defs)
    assert problems, "expected a problem, the broken definition passed"
    matching = [p for p in problems if contains in p.en]
    assert matching, f"no problem mentions {contains!r}: {[p.en for p in problems]}"
    p = matching[0]
    assert p.file.endswith("minimal.yaml"), p.file
    assert p.line == line, f"expected line {line}, got {p.line}: {p.format()}"
    assert p.th and p.en, "every message is in Thai and English"
    return p


def test_fixture_is_valid(defs: Path):
    catalogue = load_or_raise([defs])
    service = catalogue.latest("minimal-permit")
    assert service is not None and service.agency.code == "test-agency"
    assert set(service.states) == {"submitted", "awaiting_documents", "approved", "disposed"}
    assert service.fields["kitchen_size"].when == "has_kitchen == true"
    assert len(service.digest) == 64


def test_real_service_definitions_pass():
    catalogue, problems = load([ROOT / "service_definitions"])
    assert problems == [], "\n".join(p.format() for p in problems)
    assert len(catalogue.services) >= 3


def test_yaml_syntax_error_is_reported_at_its_line(defs: Path):
    line = mutate(defs, "  working_days: 15", "  working_days: [15")
    problems = problems_for(defs)
    syntax = [p for p in problems if "YAML syntax" in p.en]
    assert syntax and syntax[0].file.endswith("minimal.yaml")
    assert abs(syntax[0].line - line) <= 2
    assert "indentation" in syntax[0].fix_en


def test_typo_in_a_key_is_caught_with_a_suggestion(defs: Path):
    line = mutate(defs, "              required: true\n              rules:",
                  "              requried: true\n              rules:")
    p = one_problem(defs, line=line, contains="unknown key `requried`")
    assert "`required`" in p.fix_en and "`required`" in p.fix_th
    assert p.path.endswith("fields[1].requried")


def test_duplicate_key_is_caught(defs: Path):
    line = mutate(defs, "      title: {th: อนุมัติ, en: Approved}\n",
                  "      title: {th: อนุมัติ, en: Approved}\n      title: {th: อนุมัติแล้ว, en: Done}\n")
    one_problem(defs, line=line + 1, contains="appears twice")


def test_missing_required_key(defs: Path):
    line = mutate(defs, "          title: {th: ร้านค้า, en: Shop}\n", "") - 1  # the page starts a line above
    problems = [p for p in problems_for(defs) if "required key `title`" in p.en]
    assert problems and problems[0].line == line  # the page mapping starts on that line


def test_wrong_enum_value_suggests_the_right_one(defs: Path):
    line = mutate(defs, "type: yes_no", "type: yesno")
    p = one_problem(defs, line=line, contains="`yesno` is not allowed")
    assert "yes_no" in p.fix_en


def test_duplicate_ids(defs: Path):
    line = mutate(defs, "- id: has_kitchen", "- id: shop_name")
    one_problem(defs, line=line, contains="id `shop_name` is used twice")


def test_expression_that_does_not_compile(defs: Path):
    line = mutate(defs, 'check: "shop_area > 0"', 'check: "shop_area > > 0"')
    one_problem(defs, line=line, contains="does not compile")


def test_undeclared_name_in_expression_suggests_the_declared_one(defs: Path):
    line = mutate(defs, 'when: "has_kitchen == true"', 'when: "has_kitchn == true"')
    p = one_problem(defs, line=line, contains="uses `has_kitchn`")
    assert "has_kitchen" in p.fix_en


def test_unknown_function(defs: Path):
    line = mutate(defs, 'guard: "shop_area > 0"', 'guard: "agee(shop_area) > 0"')
    one_problem(defs, line=line, contains="calls `agee()`")


def test_calculation_cycle(defs: Path):
    text = service_file(defs).read_text(encoding="utf-8")
    text = text.replace(
        'calculations:\n  - id: area_fee\n    expr: "shop_area > 200.0 ? 1000.0 : 500.0"',
        'calculations:\n  - id: area_fee\n    expr: "base_fee * 2.0"\n  - id: base_fee\n    expr: "area_fee / 2.0"')
    service_file(defs).write_text(text, encoding="utf-8")
    problems = [p for p in problems_for(defs) if "cycle" in p.en]
    assert problems, "a cycle between calculations must be reported"
    assert "area_fee" in problems[0].en and "base_fee" in problems[0].en
    line = text[: text.index("- id: area_fee")].count("\n") + 1
    assert problems[0].line in (line + 1, line + 3)


def test_transition_to_undeclared_state(defs: Path):
    line = mutate(defs, "      to: approved\n", "      to: aproved\n")
    p = one_problem(defs, line=line, contains="no state `aproved`")
    assert "approved" in p.fix_en


def test_transition_with_undeclared_role(defs: Path):
    line = mutate(defs, "roles: [approver]", "roles: [aprover]")
    p = one_problem(defs, line=line, contains="no role `aprover`")
    assert "approver" in p.fix_en


def test_unreachable_state(defs: Path):
    text = service_file(defs).read_text(encoding="utf-8")
    text = text.replace("  transitions:\n", (
        "    - id: limbo\n      title: {th: ค้าง, en: Limbo}\n      final: true\n  transitions:\n"))
    service_file(defs).write_text(text, encoding="utf-8")
    line = text[: text.index("- id: limbo")].count("\n") + 1
    one_problem(defs, line=line, contains="cannot be reached")


def test_state_without_a_way_out(defs: Path):
    line = mutate(defs, "      from: awaiting_documents\n      to: submitted\n",
                  "      from: awaiting_documents\n      to: awaiting_documents\n")
    # awaiting_documents still has `dispose`; make submitted a dead end instead
    text = service_file(defs).read_text(encoding="utf-8")
    text = text.replace("from: submitted\n      to: awaiting_documents", "from: awaiting_documents\n      to: awaiting_documents")
    text = text.replace("from: submitted\n      to: approved", "from: awaiting_documents\n      to: approved")
    service_file(defs).write_text(text, encoding="utf-8")
    problems = [p for p in problems_for(defs) if "has no way out" in p.en]
    assert problems and "submitted" in problems[0].en
    assert line  # the mutation happened


def test_missing_template_file(defs: Path):
    line = mutate(defs, "template: templates/permit.html", "template: templates/permitt.html")
    p = one_problem(defs, line=line, contains="does not exist")
    assert "permitt.html" in p.fix_en


def test_missing_sample_file(defs: Path):
    text = service_file(defs).read_text(encoding="utf-8")
    text = text.replace("fees:\n", (
        "documents:\n  - id: id_card\n    title: {th: สำเนาบัตรประชาชน, en: ID card copy}\n"
        "    sample: samples/none.pdf\nfees:\n"))
    service_file(defs).write_text(text, encoding="utf-8")
    line = text[: text.index("sample: samples/none.pdf")].count("\n") + 1
    one_problem(defs, line=line, contains="`samples/none.pdf` does not exist")


def test_text_without_thai(defs: Path):
    line = mutate(defs, "label: {th: มีครัว, en: Has a kitchen}", "label: {th: Kitchen, en: Has a kitchen}")
    one_problem(defs, line=line, contains="has no Thai")


def test_effect_naming_undeclared_notification(defs: Path):
    line = mutate(defs, "- notify: documents_requested", "- notify: docs_requested")
    one_problem(defs, line=line, contains="`docs_requested`, which is not declared")


def test_unknown_agency(defs: Path):
    line = mutate(defs, "agency: test-agency", "agency: test-agncy")
    p = one_problem(defs, line=line, contains="agency `test-agncy` is not declared")
    assert "test-agency" in p.fix_en


def test_timer_transition_must_be_taken_by_the_system(defs: Path):
    line = mutate(defs, "          transition: dispose", "          transition: approve")
    p = one_problem(defs, line=line, contains="lacks the role `system`")
    assert "add `system`" in p.fix_en


def test_timer_transition_must_leave_its_state(defs: Path):
    mutate(defs, "      from: awaiting_documents\n      to: disposed", "      from: submitted\n      to: disposed")
    text = service_file(defs).read_text(encoding="utf-8")
    line = text[: text.index("transition: dispose")].count("\n") + 1
    one_problem(defs, line=line, contains="does not start from state `awaiting_documents`")


def test_every_problem_reported_at_once(defs: Path):
    mutate(defs, "type: yes_no", "type: yesno")
    mutate(defs, "template: templates/permit.html", "tempalte: templates/permit.html")
    mutate(defs, "agency: test-agency", "agency: nowhere")
    problems = problems_for(defs)
    texts = " | ".join(p.en for p in problems)
    assert "yesno" in texts and "tempalte" in texts
    with pytest.raises(DefinitionError) as raised:
        load_or_raise([defs])
    assert len(raised.value.problems) == len(problems) >= 2


def test_duplicate_service_version_across_files(defs: Path):
    shutil.copy(service_file(defs), defs / "test-agency" / "copy.yaml")
    problems = problems_for(defs)
    assert any("version 1 is also defined" in p.en for p in problems)


def test_cli_check_exit_codes_and_output(defs: Path):
    ok = subprocess.run([sys.executable, "-m", "eservice.cli", "check", str(defs)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK" in ok.stdout
    line = mutate(defs, "type: yes_no", "type: yesno")
    bad = subprocess.run([sys.executable, "-m", "eservice.cli", "check", str(service_file(defs))],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert f"minimal.yaml:{line}:" in bad.stdout
    assert "ค่า `yesno` ใช้ไม่ได้" in bad.stdout  # Thai message
    as_json = subprocess.run([sys.executable, "-m", "eservice.cli", "check", "--json", str(defs)],
                             capture_output=True, text=True)
    parsed = json.loads(as_json.stdout)
    assert parsed and parsed[0]["line"] == line


def test_schema_validates_definitions_as_an_editor_would(defs: Path):
    schema = definition_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = yaml.safe_load(service_file(defs).read_text(encoding="utf-8"))
    assert not list(validator.iter_errors(good))
    agency = yaml.safe_load((defs / "agencies" / "test-agency.yaml").read_text(encoding="utf-8"))
    assert not list(validator.iter_errors(agency))
    good["form"]["sections"][0]["pages"][0]["fields"][0]["requried"] = True
    assert list(validator.iter_errors(good)), "an unknown key must fail the editor's schema too"


def test_cli_schema_prints_json():
    out = subprocess.run([sys.executable, "-m", "eservice.cli", "schema", "--kind", "service"],
                         capture_output=True, text=True, check=True)
    schema = json.loads(out.stdout)
    assert schema["$schema"].endswith("2020-12/schema")
    assert "form" in schema["properties"]


def test_broken_notification_template(defs: Path):
    line = mutate(defs, 'en: "Please send more documents for {{ application.reference }}"',
                  'en: "Please send more documents for {{ application.reference }"')
    one_problem(defs, line=line, contains="notification template does not compile")
