"""Every role of every shipped service walks the pages it must reach and the ones it must not.

R: A-X1 (access per role), CH-4 (never another agency's work), issue #9 item 1
(roles a service declares under ``roles:`` — the shipped ``engineer`` — open the
inbox and the applications of their service; one person may hold many roles;
no demo account lands on a 403 after signing in).

The expectations are written out by hand below, not computed from ``policy.py``.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from eservice.applications import Applications
from eservice.auth import Accounts
from eservice.clock import UTC, FixedClock
from eservice.policy import Actor
from eservice.runtime import engine_of
from eservice.web.app import create_app
from eservice.web.context import Settings
from eservice.web.demo import DEMO_PASSWORD, demo_accounts, seed_demo

ROOT = Path(__file__).resolve().parent.parent
DEFS = ROOT / "service_definitions"
NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
PASSWORD = "a long enough passphrase 42"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

# The shipped services by agency, and the roles they declare.
SERVICES = {
    "nonthaburi-city": ("building-permit", "food-shop-permit", "licence-information-request"),
    "chatuchak-district": ("commercial-registration",),
}
DECLARED = {"nonthaburi-city": {"engineer": ("building-permit",)}, "chatuchak-district": {}}
BUILT_IN = ("registry_clerk", "reviewer", "approver", "signing_authority", "finance_officer",
            "head_of_agency", "agency_admin")

#                     inbox  reports  staff admin   (own agency; "." = refused)
PAGES = {
    "registry_clerk":    ("Y", ".", "."),
    "reviewer":          ("Y", ".", "."),
    "approver":          ("Y", "Y", "."),
    "signing_authority": ("Y", ".", "."),
    "finance_officer":   ("Y", ".", "."),
    "head_of_agency":    ("Y", "Y", "."),
    "agency_admin":      ("Y", "Y", "Y"),
    "engineer":          ("Y", ".", "."),
}


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(app, email: str, password: str = PASSWORD) -> tuple[TestClient, str]:
    client = TestClient(app, follow_redirects=False)
    page = client.get("/login")
    r = client.post("/login", data={"csrf_token": token_of(page.text), "email": email, "password": password})
    assert r.status_code == 303, (email, r.text[:300])
    return client, r.headers["location"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("walk")
    clock = FixedClock(NOW)
    app = create_app(Settings(data=tmp / "data", definitions=(DEFS,)), clock=clock)
    ctx = app.state.ctx
    accounts = ctx.extra["accounts"] = Accounts(ctx.store, clock, hasher=FAST)
    engine = engine_of(ctx)
    assert {a: tuple(sorted(s.id for s in ctx.catalogue.of_agency(a))) for a in SERVICES} == \
        {a: tuple(sorted(s)) for a, s in SERVICES.items()}, "a shipped service was added: extend the walk"
    citizen, token = accounts.register("citizen@example.com", PASSWORD, {"first_name": "สมชาย", "last_name": "ใจดี"})
    accounts.verify_email(token)
    apps = Applications(engine)
    actor = Actor(user_id=citizen["id"], name="สมชาย ใจดี")
    made = {}
    for agency, services in SERVICES.items():
        for n, service_id in enumerate(services, 1):
            record = apps.start(service_id, actor)
            initial = ctx.catalogue.latest(service_id).definition.workflow.initial
            stamp = NOW.isoformat()  # as Applications.submit leaves it (the forms themselves are tested elsewhere)
            ctx.store.modify_application(record["id"], lambda r, n=n: r.update(
                state=initial, submitted_at=stamp, intake_at=stamp, intake_number=f"{n}/2569",
                state_entered_at=stamp, sla_paused=[], sla_due=None, changed=True,
                signature={"type": "etda-type-1", "signer": citizen["id"], "signer_name": "สมชาย ใจดี",
                           "signed_at": stamp, "declaration": "", "intent_confirmed": True,
                           "content_sha256": "0" * 64, "ip": "", "user_agent": ""}))
            made[service_id] = record["id"]
    return app, accounts, made


def _account(accounts: Accounts, email: str, *grants: tuple[str, str]) -> None:
    user, token = accounts.register(email, PASSWORD, {"first_name": email.split("@")[0], "last_name": "ทดสอบ"})
    accounts.verify_email(token)
    for agency, role in grants:
        accounts.grant_role(user["id"], agency, role)


def _walk_cases():
    for agency in SERVICES:
        for role in (*BUILT_IN, *DECLARED[agency]):
            yield agency, role


@pytest.mark.parametrize(("agency", "role"), list(_walk_cases()))
def test_role_walk(world, agency, role):  # R: A-X1, CH-4
    app, accounts, made = world
    email = f"{role}@{agency}.walk.go.th"
    _account(accounts, email, (agency, role))
    client, landing = sign_in(app, email)
    assert client.get(landing).status_code == 200, landing  # never a 403 after signing in
    inbox, reports, staff_admin = (mark == "Y" for mark in PAGES[role])
    other = next(a for a in SERVICES if a != agency)

    page = client.get(f"/officer/{agency}")
    assert page.status_code == (200 if inbox else 404)
    assert client.get(f"/officer/{agency}/disposal").status_code == (200 if inbox else 404)
    assert client.get(f"/officer/{other}").status_code == 404
    declared_for = DECLARED[agency].get(role)
    for service_id in SERVICES[agency]:
        sees = role in BUILT_IN or service_id in (declared_for or ())
        assert client.get(f"/officer/applications/{made[service_id]}").status_code == (200 if sees else 404), \
            service_id
        row = f"/officer/applications/{made[service_id]}\""
        assert (row in page.text) is sees, service_id  # the inbox lists exactly the applications it may open
    for service_id in SERVICES[other]:
        assert client.get(f"/officer/applications/{made[service_id]}").status_code == 404

    assert client.get(f"/officer/reports?agency={agency}").status_code == (200 if reports else 403)
    assert client.get(f"/admin/agencies/{agency}/staff").status_code == (200 if staff_admin else 403)
    assert client.get(f"/admin/agencies/{other}/staff").status_code == 403
    assert client.get("/admin/system").status_code == 403
    assert client.get("/admin/system/checks").status_code == 403


def test_system_admin_walk(world):  # R: A-X1
    app, accounts, made = world
    _account(accounts, "root@walk.go.th", ("*", "system_admin"))
    client, landing = sign_in(app, "root@walk.go.th")
    assert landing == "/admin" and client.get(landing).status_code == 200
    for path in ("/admin/system", "/admin/system/checks", *(f"/admin/agencies/{a}/staff" for a in SERVICES)):
        assert client.get(path).status_code == 200, path
    assert client.get("/officer").status_code == 403  # no inbox: it holds no agency's work
    for app_id in made.values():
        assert client.get(f"/officer/applications/{app_id}").status_code == 404


def test_one_account_holds_head_of_agency_and_signing_authority(world):  # R: A-X1 — the mayor
    app, accounts, made = world
    _account(accounts, "mayor@walk.go.th", ("nonthaburi-city", "head_of_agency"),
             ("nonthaburi-city", "signing_authority"))
    client, landing = sign_in(app, "mayor@walk.go.th")
    assert client.get(landing).status_code == 200
    assert client.get("/officer/reports?agency=nonthaburi-city").status_code == 200
    page = client.get(f"/officer/applications/{made['food-shop-permit']}")
    assert page.status_code == 200


def test_no_demo_account_lands_on_a_403(tmp_path):  # R: A-X1, issue #9
    settings = Settings(data=tmp_path / "data", definitions=(DEFS,), demo=True)
    app = create_app(settings, clock=FixedClock(NOW))
    ctx = app.state.ctx
    seed_demo(settings, clock=ctx.clock, store=ctx.store, catalogue=ctx.catalogue, out=io.StringIO(), hasher=FAST)
    ctx.extra["accounts"] = Accounts(ctx.store, ctx.clock, hasher=FAST)
    accounts = demo_accounts(ctx.catalogue)
    assert any(a.email.startswith("mayor@") and a.also == ("signing_authority",) for a in accounts)
    for account in accounts:
        client, landing = sign_in(app, account.email, DEMO_PASSWORD)
        page = client.get(landing)
        assert page.status_code == 200, (account.email, landing, page.status_code)
