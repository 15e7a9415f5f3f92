"""Notifications rendered at check time under strict names; the guide's list of
template names is generated from the code that builds the contexts (issue #10 item 2).
# R: A-SP4 A-L2 RC-3
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eservice.spec.loader import load, load_or_raise
from eservice.template_vars import MARK_END, MARK_START, variables_markdown

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "defs"


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    target = tmp_path / "defs"
    shutil.copytree(FIXTURES, target)
    return target


def edit(defs: Path, old: str, new: str) -> int:
    path = defs / "test-agency" / "minimal.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


BODY = 'en: "Please send more documents for {{ application.reference }}"'


@pytest.mark.parametrize("typo, says", [
    ("{{ application.referense }}", "did you mean `reference`"),
    ("{{ answers.shop_nme }}", "did you mean `shop_name`"),
    ("{{ inputs.misssing }}", "misssing"),
    ("{{ application.reference | no_such_filter }}", "no_such_filter"),
])
def test_a_notification_naming_what_it_does_not_get_is_reported_at_its_line(defs, typo, says):
    line = edit(defs, BODY, f'en: "Please send more documents for {typo}"')
    _, problems = load([defs])
    found = [p for p in problems if says in p.en]
    assert found, [p.format() for p in problems]
    assert found[0].line == line and found[0].file.endswith("minimal.yaml")
    assert found[0].th and found[0].fix_th and found[0].fix_en


def test_names_a_notification_does_get_pass(defs):
    edit(defs, BODY, 'en: "{{ answers.shop_name }} {{ inputs.missing }} {{ inputs.deadline }} {{ due_date_en }} '
                     '{{ application.deadline_en }} {% for l in inputs_text %}{{ l.label_en }}{% endfor %}"')
    load_or_raise([defs])


def test_a_licence_template_typo_is_reported(defs):
    # the done-when case of issue #10: {{ licence.numbr }}
    template = defs / "test-agency" / "templates" / "permit.html"
    text = template.read_text(encoding="utf-8")
    assert "{{ licence.number }}" in text
    template.write_text(text.replace("{{ licence.number }}", "{{ licence.numbr }}", 1), encoding="utf-8")
    _, problems = load([defs])
    assert any("numbr" in p.en and p.path.endswith("template") for p in problems), [p.format() for p in problems]


def test_the_guide_lists_exactly_what_the_code_gives():
    guide = (ROOT / "docs" / "service-definition.md").read_text(encoding="utf-8")
    start, end = guide.index(MARK_START), guide.index(MARK_END) + len(MARK_END)
    assert guide[start:end] == variables_markdown(), \
        "docs/service-definition.md 2.26 is stale: paste the output of `python -m eservice.template_vars`"
    for name in ("application.reference", "licence.number", "licence.valid_until_th", "inputs.<input id>"):
        assert f"`{name}`" in guide[start:end]
