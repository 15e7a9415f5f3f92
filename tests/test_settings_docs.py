"""Every setting is documented in docs/settings.md (issue #20 item 3).

Like Datasette's tests/test_docs.py: a field added to ``Settings`` or a variable
read in ``platform/settings.py`` without a row in the tables fails here, and so
does a row for a variable that is no longer read.
"""
from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from eservice import settings as settings_module
from eservice.settings import Settings, SmtpSettings, env_data_folder, env_font_folder

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "settings.md"


class Recorder(Mapping):
    """An environment that remembers every name it is asked for."""

    def __init__(self, values: Mapping[str, str]):
        self.values = dict(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def table_rows() -> list[list[str]]:
    """The cells of every table row that documents a variable."""
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `ESERVICE_"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def documented_variables() -> set[str]:
    return {re.fullmatch(r"`(ESERVICE_[A-Z0-9_]+)`", row[0]).group(1) for row in table_rows()}


def documented_fields() -> set[str]:
    """The names in the ``Settings`` column: ``data``, ``smtp.host``, …"""
    return {name for row in table_rows() for name in re.findall(r"`([a-z_.]+)`", row[1])}


def variables_read() -> set[str]:
    """What settings.py reads: every reader run on a recording environment (mail on,
    so the ESERVICE_SMTP_* reads happen), plus every ``"ESERVICE_…"`` literal in it."""
    env = Recorder({"ESERVICE_SMTP_HOST": "mail.example.go.th"})
    Settings.from_env(env)
    SmtpSettings.from_env(env)
    env_data_folder(env)
    env_font_folder(env)
    tree = ast.parse(Path(settings_module.__file__).read_text(encoding="utf-8"))
    literals = {node.value for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and isinstance(node.value, str)
                and re.fullmatch(r"ESERVICE_[A-Z0-9_]*[A-Z0-9]", node.value)}
    return env.read | literals


def test_the_document_has_a_row_per_variable():
    assert len(table_rows()) == len(documented_variables()) >= 10  # the tables were found
    for row in table_rows():
        assert len(row) == 5 and all(row), row  # variable, field, default, Thai, English


@pytest.mark.parametrize("name", sorted(variables_read()))
def test_every_variable_settings_reads_is_documented(name):
    assert name in documented_variables(), f"{name} is read in platform/settings.py but not in docs/settings.md"


def test_every_documented_variable_is_read():
    stale = documented_variables() - variables_read()
    assert not stale, f"docs/settings.md documents variables nothing reads: {sorted(stale)}"


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(Settings)]
                         + [f"smtp.{f.name}" for f in dataclasses.fields(SmtpSettings)])
def test_every_field_is_documented(name):
    assert name in documented_fields(), f"Settings field {name} has no row in docs/settings.md"


def test_the_recorder_sees_what_from_env_reads():
    """The check above is only as good as the recorder: it sees the reads."""
    env = Recorder({})
    Settings.from_env(env)
    assert {"ESERVICE_DATA", "ESERVICE_BASE_URL", "ESERVICE_WORKER_INTERVAL"} <= env.read
    assert "ESERVICE_SMTP_PORT" not in env.read  # mail is off: its variables are not read
