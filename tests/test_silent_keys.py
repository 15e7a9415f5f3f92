"""No silent keys: every key of the language is acted on or refused by `check`
(issue #10 item 3); prefill sources and keys are what installed plugins declare.
# R: A-SP1 A-SP4 A-F2 A-P8 PR-10
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eservice.plugin_api import get_plugin_manager, hookimpl, reset_plugin_manager
from eservice.profiles import plugin_prefill
from eservice.spec.loader import load, load_or_raise

FIXTURES = Path(__file__).parent / "fixtures" / "defs"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    target = tmp_path / "defs"
    shutil.copytree(FIXTURES, target)
    return target


@pytest.fixture
def dbd_plugin():
    """A juristic-registry prefill source declaring two keys (a remote system: behind the plugin interface)."""
    asked = []

    class Dbd:
        name = "dbd"
        keys = ("company_name", "registered_capital")

        def fetch(self, identity, keys):
            asked.append((identity.national_id, tuple(keys)))
            return {"company_name": "บริษัท ตัวอย่าง จำกัด", "registered_capital": "1000000.00",
                    "not_asked": "x"}

    class Plugin:
        @hookimpl
        def eservice_prefill_sources(self):
            return [Dbd()]

    reset_plugin_manager()
    get_plugin_manager().register(Plugin(), name="dbd_test")
    yield asked
    reset_plugin_manager()


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
    assert found[0].line == line and found[0].file.endswith("minimal.yaml"), found[0].format()
    assert found[0].th and found[0].fix_th and found[0].fix_en
    return found[0]


def test_risk_level_is_refused_as_not_yet_available(defs):
    line = edit(defs, "legal_basis:\n", "risk_level: high\nlegal_basis:\n")
    problem_at(defs, line, "not yet available")


def test_per_state_sla_is_refused_as_not_yet_available(defs):
    line = edit(defs, "      sla: paused\n", "      sla: paused\n      sla_working_days: 3\n")
    problem_at(defs, line + 1, "per-state `sla_working_days` is not yet available")


FEE = '    amount: "area_fee"\n'


def test_on_overdue_naming_no_transition(defs):
    line = edit(defs, FEE, FEE + "    on_overdue: cancel_unpaid\n")
    problem_at(defs, line + 1, "no transition `cancel_unpaid`")


def test_on_overdue_that_cannot_leave_the_waiting_state(defs):
    # the fee is issued by `approve` (to `approved`); `request_documents` leaves `submitted` only
    line = edit(defs, FEE, FEE + "    on_overdue: request_documents\n")
    problem_at(defs, line + 1, "does not start from the state this fee is issued into (approved)")


def test_on_overdue_must_be_taken_by_the_system(defs):
    line = edit(defs, FEE, FEE + "    on_overdue: resubmit\n")
    problem_at(defs, line + 1, "needs the role `system`")


def test_on_overdue_that_works_passes(defs):
    edit(defs, "      effects:\n        - notify: documents_requested\n",
         "      effects:\n        - notify: documents_requested\n        - issue_fee: licence_fee\n")
    edit(defs, FEE, FEE + "    on_overdue: dispose\n")
    load_or_raise([defs])


SHOP = "              label: {th: ชื่อร้าน, en: Shop name}\n"


def test_unknown_profile_key(defs):
    line = edit(defs, SHOP, SHOP + "              prefill: profile.shop_nme\n")
    problem_at(defs, line + 1, "profile has no `shop_nme`")


def test_unknown_prefill_source(defs):
    line = edit(defs, SHOP, SHOP + "              prefill: dbd.company_name\n")
    problem_at(defs, line + 1, "unknown prefill source `dbd`")


def test_prefill_key_the_plugin_does_not_declare(defs, dbd_plugin):
    line = edit(defs, SHOP, SHOP + "              prefill: dbd.no_such_key\n")
    p = problem_at(defs, line + 1, "offers no key `no_such_key`")
    assert "company_name" in p.fix_en


def test_declared_prefill_key_passes_and_is_fetched(defs, dbd_plugin):
    edit(defs, SHOP, SHOP + "              prefill: dbd.company_name\n")
    load_or_raise([defs])
    user = {"id": "u1", "email": "a@example.com", "profile": {"first_name": "ก", "national_id": "3100500123458"}}
    got = plugin_prefill(user, {"dbd": {"company_name"}, "profile": {"phone"}})
    assert got == {"dbd": {"company_name": "บริษัท ตัวอย่าง จำกัด"}}
    assert dbd_plugin == [("3100500123458", ("company_name",))]


def test_validity_and_register_are_acted_on():
    """`validity` sets valid_until on the licence; `register` lists the columns of
    the public register (both exercised end to end in test_outputs_* / test_register)."""
    from eservice.outputs.context import valid_until
    from eservice.register import values
    import datetime as dt
    from eservice.spec.models import Validity

    assert valid_until(dt.date(2023, 1, 23), Validity(years=1)) == dt.date(2024, 1, 22)
    assert "register_fields" in Path(values.__file__).read_text(encoding="utf-8")


def test_shipped_definitions_use_no_unbuilt_key():
    _, problems = load([ROOT / "service_definitions"])
    assert problems == [], "\n".join(p.format() for p in problems)


def test_decimals_is_acted_on(defs):
    """`decimals` limits the places a number answer may have (it was only a widget hint)."""
    from eservice import forms

    edit(defs, "              label: {th: พื้นที่ (ตร.ม.), en: Area (m²)}\n",
         "              label: {th: พื้นที่ (ตร.ม.), en: Area (m²)}\n              decimals: 1\n")
    service = load_or_raise([defs]).latest("minimal-permit")
    base = {"shop_name": "ร้าน", "has_kitchen": False}
    _, errors = forms.validate(service, {**base, "shop_area": 12.25})
    assert [(e.field, e.code) for e in errors] == [("shop_area", "decimals")]
    assert "1 decimal" in errors[0].en and "ทศนิยม" in errors[0].th
    _, errors = forms.validate(service, {**base, "shop_area": 12.5})
    assert errors == []
    _, errors = forms.validate(service, {**base, "shop_area": 1200})
    assert errors == []


def test_agency_timezone_must_exist(defs):
    """`timezone` is acted on by the working calendar; a misspelt one is refused at its line."""
    path = defs / "agencies" / "test-agency.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "timezone: Asia/Bangkokk\n", encoding="utf-8")
    line = text.count("\n") + 1
    _, problems = load([defs])
    found = [p for p in problems if "unknown time zone `Asia/Bangkokk`" in p.en]
    assert found and found[0].line == line and found[0].th and found[0].fix_en
