"""The exported JSON Schema is true: every shipped and fixture definition
validates against it, and the loader and the schema accept the same values
(issue #10 item 4; the README offers the schema to editors).
# R: A-SP1 A-SP4
"""
from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

from eservice.spec.models import Service
from eservice.spec.schema import definition_schema
from eservice.spec.validation import validate
from eservice.spec.yamlsource import SourceMap

ROOT = Path(__file__).parent.parent


class EditorLoader(yaml.SafeLoader):
    """YAML as an editor's language server sees it: `2024-01-01` stays text."""


EditorLoader.yaml_implicit_resolvers = {
    key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

DEFINITIONS = sorted(
    [*(ROOT / "service_definitions").rglob("*.yaml"), *(ROOT / "tests" / "fixtures").rglob("*.yaml")],
    key=str)


def read(path: Path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=EditorLoader)


@pytest.fixture(scope="module")
def validator():
    schema = definition_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_there_are_definitions_to_check():
    names = {p.name for p in DEFINITIONS}
    assert {"food-shop-permit.yaml", "building-permit.yaml", "commercial-registration.yaml",
            "licence-information-request.yaml", "minimal.yaml"} <= names


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_definition_validates_against_the_schema(validator, path):
    data = read(path)
    if not isinstance(data, dict) or data.get("kind") not in ("service", "agency", None) \
            or "schema_version" not in data:
        pytest.skip("not a definition")
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(data)]
    assert errors == []


MINIMAL = ROOT / "tests" / "fixtures" / "defs" / "test-agency" / "minimal.yaml"


def _set(doc: dict, path: tuple, value) -> dict:
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@pytest.mark.parametrize("path, value, accepted", [
    (("fees", 0, "amount"), 50, True),             # the case of issue #10
    (("fees", 0, "amount"), 12.5, True),
    (("fees", 0, "amount"), "area_fee * 2", True),
    (("fees", 0, "amount"), -5, False),
    (("fees", 0, "amount"), True, False),
    (("title",), "ใบอนุญาตทดสอบ", True),          # a plain string is Thai only
    (("title",), {"en": "no Thai key"}, False),
    (("workflow", "transitions", 0, "from"), "submitted", True),
    (("workflow", "transitions", 0, "from"), ["submitted"], True),
    (("workflow", "transitions", 0, "roles"), [], False),
    (("fees", 0, "due_days"), 0, False),
    (("sla", "working_days"), 15, True),
    (("form", "sections", 0, "pages", 0, "fields", 1, "min"), 0.5, True),
    (("documents",), [{"id": "plan", "title": "แบบแปลน", "max_size_mb": 0}], False),
])
def test_loader_and_schema_agree(validator, path, value, accepted):
    doc = _set(read(MINIMAL), path, value)
    schema_ok = not list(validator.iter_errors(doc))
    model, problems = validate(Service, doc, SourceMap("minimal.yaml"))
    loader_ok = model is not None and not problems
    assert (schema_ok, loader_ok) == (accepted, accepted), (schema_ok, loader_ok)
