"""Demo accounts for ``eservice serve --demo``.

R: A-X1 (an account for each kind of user, with the right roles), A-I1/A-I2
(verified, able to sign in), A-F2 (citizens with complete, valid profiles).
"""
from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

import pytest
import yaml
from argon2 import PasswordHasher

from eservice.auth import Accounts
from eservice.clock import UTC, FixedClock
from eservice.plugins.thai_address import check_address
from eservice.plugins.thai_validators import check_thai_id, check_thai_phone
from eservice.store import open_store
from eservice.web.context import Settings, load_catalogue
from eservice.web.demo import DEMO_PASSWORD, OFFICER_ROLES, demo_accounts, seed_demo

FIXTURES = Path(__file__).parent / "fixtures" / "defs"
ROOT = Path(__file__).resolve().parent.parent
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
CLOCK = FixedClock(dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC))


@pytest.fixture
def defs(tmp_path) -> Path:
    """The fixture definitions, with a service-declared extra role (``engineer``)."""
    root = tmp_path / "defs"
    shutil.copytree(FIXTURES, root)
    path = root / "test-agency" / "minimal.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["roles"] = [{"id": "engineer", "title": {"th": "วิศวกร", "en": "Engineer"}}]
    for tr in data["workflow"]["transitions"]:
        if tr["id"] == "request_documents":
            tr["roles"] = ["reviewer", "engineer"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return root


def seed(tmp_path, defs, out=None):
    settings = Settings(data=tmp_path / "data", definitions=(defs,))
    return seed_demo(settings, clock=CLOCK, hasher=FAST, out=out or io.StringIO())


def open_accounts(tmp_path) -> Accounts:
    return Accounts(open_store(tmp_path / "data" / "store", clock=CLOCK), CLOCK, hasher=FAST)


def test_seeding_twice_creates_each_account_once(tmp_path, defs):  # R: A-X1
    first = seed(tmp_path, defs)
    assert all(created for _, created in first)
    emails = [a.email for a, _ in first]
    assert len(emails) == len(set(emails)) == len(OFFICER_ROLES) + 1 + 1 + 1 + 2  # + engineer, mayor, admin, 2 citizens
    before = {u["id"]: u["version"] for u in open_accounts(tmp_path).users.all()}

    out = io.StringIO()
    second = seed(tmp_path, defs, out)
    assert [a.email for a, _ in second] == emails
    assert not any(created for _, created in second)
    after = {u["id"]: u["version"] for u in open_accounts(tmp_path).users.all()}
    assert after == before  # nothing new, nothing rewritten
    printed = out.getvalue()
    assert DEMO_PASSWORD in printed and "0 new" in printed
    assert "reviewer@test-agency.demo.go.th" in printed and "somchai@demo.example" in printed


def test_officers_hold_exactly_their_roles(tmp_path, defs):  # R: A-X1
    seed(tmp_path, defs)
    acc = open_accounts(tmp_path)
    for role in (*OFFICER_ROLES, "engineer"):
        user = acc.find_by_email(f"{role}@test-agency.demo.go.th")
        assert user is not None and user["email_verified"], role
        grants = [(g.agency, g.role, g.services) for g in acc.roles_of(user)]
        assert grants == [("test-agency", role, None)], role
    admin = acc.find_by_email("admin@demo.go.th")
    assert [(g.agency, g.role) for g in acc.roles_of(admin)] == [("*", "system_admin")]
    for email in ("somchai@demo.example", "malee@demo.example"):
        assert acc.roles_of(acc.find_by_email(email)) == []  # citizens are applicants only


def test_every_account_signs_in_with_the_demo_password(tmp_path, defs):  # R: A-I2
    seed(tmp_path, defs)
    acc = open_accounts(tmp_path)
    for account in demo_accounts(load_catalogue([defs])):
        assert acc.authenticate(account.email, DEMO_PASSWORD)["email"] == account.email


def test_citizens_have_complete_valid_profiles(tmp_path, defs):  # R: A-F2
    seed(tmp_path, defs)
    acc = open_accounts(tmp_path)
    for email in ("somchai@demo.example", "malee@demo.example"):
        prefill = acc.prefill_profile(acc.find_by_email(email))
        assert all(prefill[k] for k in ("first_name", "last_name", "national_id", "phone", "address", "birth_date"))
        assert check_thai_id(prefill["national_id"]) == []
        assert check_thai_phone(prefill["phone"]) == []
        assert check_address(prefill["address"]) == []
        assert len(prefill["address"]["subdistrict_code"]) == 6  # a real place in the address dataset


def test_a_folder_with_real_accounts_is_refused(tmp_path, defs, capsys):
    store = open_store(tmp_path / "data" / "store", clock=CLOCK)
    Accounts(store, CLOCK, hasher=FAST).register("real.person@example.com", "a-real-password-1")
    with pytest.raises(SystemExit) as stopped:
        seed(tmp_path, defs)
    assert stopped.value.code == 1
    assert "real accounts" in capsys.readouterr().err
    assert open_accounts(tmp_path).find_by_email("admin@demo.go.th") is None


def test_docs_list_every_demo_account_of_the_example_services():
    text = (ROOT / "docs" / "demo.md").read_text(encoding="utf-8")
    assert DEMO_PASSWORD in text
    accounts = demo_accounts(load_catalogue([ROOT / "service_definitions"]))
    assert any(a.role == "engineer" for a in accounts)  # building-permit declares it
    for account in accounts:
        assert f"`{account.email}`" in text, account.email
