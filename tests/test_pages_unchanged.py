"""The pages stay byte-identical through a refactor (issue #20, "Done when").

One fixed journey through the real app (``create_app`` over a temporary data
folder, the example definitions in ``service_definitions/``, a fixed clock):
a visitor reads the catalogue, a citizen applies for the food shop permit and
follows it, an officer handles it, and the API and error pages answer.  Each
response is captured, in Thai and in English, and compared byte for byte with
the snapshot stored in ``tests/fixtures/pages/`` (``index.txt`` lists every
request with its status and headers; the bodies are the other files).

Only values that differ on every run are replaced, each distinct value by a
numbered placeholder so that where it appears is still compared (see
:class:`Normaliser`): CSRF tokens, application ids, reference codes, user ids,
API tokens and the session cookie (signed with the real time).

Updating the snapshots: only when a change to a page is intended, run::

    ESERVICE_UPDATE_PAGE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_pages_unchanged.py

then review ``git diff tests/fixtures/pages/`` and commit the snapshots with
the change.  A refactor (issue #20) must pass without updating them.
"""
from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from eservice.auth import Accounts
from eservice.clock import BANGKOK, FixedClock
from eservice.web.app import create_app
from eservice.web.context import Settings

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "service_definitions"
SNAPSHOTS = Path(__file__).parent / "fixtures" / "pages"
UPDATE = os.environ.get("ESERVICE_UPDATE_PAGE_SNAPSHOTS") == "1"
INDEX = "index.txt"

MONDAY_MORNING = dt.datetime(2026, 6, 15, 10, 0, tzinfo=BANGKOK)
SERVICE = "food-shop-permit"
AGENCY = "nonthaburi-city"
PASSWORD = "a long enough passphrase 42"
LANGS = ("th", "en")
ONE = ("th",)  # JSON that carries both languages itself; errors are still fetched in both
NO_SUCH_APP = "app-0000000000000000"  # the shape of an application id, but no application: kept as it is


# --------------------------------------------------------------------------- normalising
# (kind, pattern): group 1 is a value that differs on every run.  Each distinct
# value becomes <kind-N>, numbered in the order the journey first meets it.
# Reference codes have no pattern of their own (the API docs show an example
# code that must stay): the journey names each one when it makes the application.
TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("csrf", re.compile(r'name="csrf_token" value="([A-Za-z0-9_-]{43})"')),
    ("app-id", re.compile(r"\b(app-[0-9a-f]{16})\b")),
    ("user-id", re.compile(r"\b(u-[0-9a-f]{20})\b")),
    ("api-token", re.compile(r'"token":"([A-Za-z0-9_-]{43})"')),
    ("session", re.compile(r"\beservice_session=([A-Za-z0-9_.=-]+)")),
)
# /static/x?v=<mtime>: the files' modification times, new in every clone (and equal or not
# depending on how the files were written), so every one becomes the same placeholder.
STATIC_VERSION = re.compile(r"(/static/[A-Za-z0-9_./-]+\?v=)\d+")


class Normaliser:
    """Replaces per-run values by stable placeholders such as ``<csrf-1>``."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.counts: dict[str, int] = {}

    def name(self, kind: str, value: str) -> str:
        if value not in self.names:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.names[value] = f"<{kind}-{self.counts[kind]}>"
        return self.names[value]

    def __call__(self, text: str) -> str:
        text = STATIC_VERSION.sub(r"\1<static-version>", text)
        for kind, pattern in TOKEN_PATTERNS:
            for value in pattern.findall(text):
                if value != NO_SUCH_APP:
                    self.name(kind, value)
        # Longest first, so that no value is cut by a shorter one inside it.
        for value in sorted(self.names, key=len, reverse=True):
            text = text.replace(value, self.names[value])
        return text


# --------------------------------------------------------------------------- capturing
@dataclass
class Capture:
    name: str  # file name in tests/fixtures/pages
    request: str  # "GET /path"
    head: str  # status and headers, normalised
    body: bytes  # normalised


class Journey:
    """The app, its clock, the people, and what was captured so far."""

    def __init__(self, tmp_path: Path) -> None:
        self.clock = FixedClock(MONDAY_MORNING.astimezone(dt.timezone.utc))
        settings = Settings(data=tmp_path / "data", definitions=(DEFINITIONS,))
        self.app = create_app(settings, clock=self.clock, extra_routes=[
            Route("/test-server-error", _fail), Route("/api/test-server-error", _fail)])
        ctx = self.app.state.ctx
        # cheap password hashing; the sign-in pages use this one too (deps.accounts)
        self.accounts = ctx.extra["accounts"] = Accounts(
            ctx.store, self.clock, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        self.normalise = Normaliser()
        self.captures: list[Capture] = []

    def person(self, email: str, profile: dict, *grants: tuple[str, str]) -> dict:
        user, token = self.accounts.register(email, PASSWORD, profile)
        user = self.accounts.verify_email(token)
        for agency, role in grants:
            user = self.accounts.grant_role(user["id"], agency, role)
        self.normalise.name("user-id", user["id"])  # numbered in the order people are made
        return user

    def made(self, response) -> str:
        """The id of the application a start form just made; names its id and reference."""
        assert response.status_code == 303, response.text[:500]
        app_id = re.search(r"/applications/(app-[0-9a-f]{16})", response.headers["location"]).group(1)
        self.normalise.name("app-id", app_id)
        self.normalise.name("ref", self.app.state.ctx.store.get_application(app_id)["reference"])
        return app_id

    def client(self, email: str | None = None) -> TestClient:
        """A browser (no lifespan: the background worker stays off); signed in as ``email``."""
        client = TestClient(self.app, raise_server_exceptions=False)
        if email is not None:
            page = client.get("/login")
            response = client.post("/login", data={"csrf_token": token_of(page.text), "email": email,
                                                   "password": PASSWORD}, follow_redirects=False)
            assert response.status_code == 303, response.text[:500]
        return client

    def capture(self, name: str, client: TestClient, method: str, url: str, *, langs: tuple[str, ...] = LANGS,
                **kwargs) -> None:
        """Send the request once per language (``?lang=``) and keep each response."""
        for lang in langs:
            target = f"{url}{'&' if '?' in url else '?'}lang={lang}"
            response = client.request(method, target, follow_redirects=False, **kwargs)
            self.keep(f"{name}.{lang}", f"{method} {target}", response)

    def keep(self, name: str, request: str, response) -> None:
        media = response.headers.get("content-type", "").split(";")[0]
        extension = {"text/html": "html", "application/json": "json"}.get(media, "txt")
        lines = [f"{response.status_code}"]
        for key, value in sorted((k.lower(), v) for k, v in response.headers.multi_items()):
            if key != "content-length":  # the body itself is compared
                lines.append(f"{key}: {value}")
        head = self.normalise("\n".join(lines))
        body = self.normalise(response.content.decode("utf-8")).encode("utf-8")
        number = len(self.captures) + 1
        self.captures.append(Capture(f"{number:03d}-{name}.{extension}", self.normalise(request), head, body))

    def index(self) -> bytes:
        parts = [f"## {c.name}\n{c.request}\n{c.head}\n" for c in self.captures]
        return "\n".join(parts).encode("utf-8")


async def _fail(request: Request):
    """A handler that breaks, for the 500 page."""
    raise RuntimeError("a bug, on purpose")


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def post_form(client: TestClient, url: str, data: dict, *, page: str | None = None):
    """POST a form with the CSRF token of the page it is on (as a browser does)."""
    token = token_of(client.get(page or url.split("?")[0]).text)
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def pdf(label: str) -> bytes:
    """A small valid PDF whose bytes (and so its sha256) are the same on every run."""
    body = (f"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            f"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            f"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
            f"4 0 obj<</Title({label})>>endobj\n")
    xref = len(body)
    offsets = [body.index(f"{n} 0 obj") for n in range(1, 5)]
    table = "xref\n0 5\n0000000000 65535 f \n" + "".join(f"{o:010d} 00000 n \n" for o in offsets)
    return (body + table + f"trailer<</Size 5/Root 1 0 R/Info 4 0 R>>\nstartxref\n{xref}\n%%EOF\n").encode()


ADDRESS = {"line": "99/1 ถนนรัตนาธิเบศร์", "province": "นนทบุรี", "district": "เมืองนนทบุรี",
           "subdistrict": "บางกระสอ", "postcode": "11000"}
PAGES = {
    "applicant_kind": {"applicant_type": "person", "submitted_by_agent": "no"},
    "person": {"first_name": "สมชาย", "last_name": "ใจดี", "national_id": "1101700123456",
               "birth_date.day": "5", "birth_date.month": "2", "birth_date.year": "2523"},
    "contact_details": {"phone": "081-234-5678", "email": "somchai@example.com",
                        **{f"applicant_address.{k}": v for k, v in ADDRESS.items()}},
    "shop_details": {"shop_name": "ร้านป้าแดง", "establishment_type": "restaurant",
                     "food_kinds": ["cooked_to_order", "beverages"],
                     **{f"shop_address.{k}": v for k, v in ADDRESS.items()},
                     "shop_area": "120", "seats": "30", "premises_owned": "yes",
                     "opening_date.day": "1", "opening_date.month": "7", "opening_date.year": "2569"},
    "handlers": {"food_handlers.0.handler_name": "นางแดง ใจดี", "food_handlers.0.handler_role": "cook",
                 "food_handlers.0.trained": "yes", "food_handlers.0.has_health_certificate": "no"},
    "consents": {"accept_inspection": "yes", "accept_data_check": "yes"},
}
DOCUMENTS = ("id_card_copy", "house_registration_copy", "floor_plan", "training_certificates")


# --------------------------------------------------------------------------- the journey
def walk(j: Journey) -> None:
    """The fixed journey; every ``capture`` adds its pages in Thai and English."""
    j.person("somchai@example.com", {"first_name": "สมชาย", "last_name": "ใจดี", "phone": "0812345678"})
    j.person("clerk@example.com", {"first_name": "สมศรี", "last_name": "ทะเบียน"}, (AGENCY, "registry_clerk"))
    j.person("head@example.com", {"first_name": "สมปอง", "last_name": "หัวหน้า"}, (AGENCY, "head_of_agency"))

    # A visitor: the catalogue, sign-in pages, errors, the public API.
    visitor = j.client()
    j.capture("landing", visitor, "GET", "/")
    j.capture("search", visitor, "GET", "/search?q=อาหาร")
    j.capture("search-nothing", visitor, "GET", "/search?q=zzzz")
    j.capture("service", visitor, "GET", f"/services/{SERVICE}")
    j.capture("agency", visitor, "GET", f"/agencies/{AGENCY}")
    j.capture("sign-in", visitor, "GET", "/login")
    j.capture("register", visitor, "GET", "/register")
    j.capture("password-forgot", visitor, "GET", "/password/forgot")
    j.capture("apply-anonymous", visitor, "GET", f"/apply/{SERVICE}")  # → sign in first
    j.capture("not-found", visitor, "GET", "/no-such-page")
    j.capture("service-not-found", visitor, "GET", "/services/no-such-service")
    j.capture("csrf-refused", visitor, "POST", "/login", data={"email": "x@example.com", "password": "x"})
    j.capture("server-error", visitor, "GET", "/test-server-error")
    j.capture("api-services", visitor, "GET", "/api/services", langs=ONE)
    j.capture("api-service", visitor, "GET", f"/api/services/{SERVICE}", langs=ONE)
    j.capture("api-service-not-found", visitor, "GET", "/api/services/no-such-service")
    j.capture("api-method-not-allowed", visitor, "DELETE", "/api/services")
    j.capture("api-unauthorized", visitor, "GET", "/api/applications")
    j.capture("api-server-error", visitor, "GET", "/api/test-server-error")
    j.capture("api-address-districts", visitor, "GET", "/api/address/districts?province=นนทบุรี", langs=ONE)
    j.capture("openapi", visitor, "GET", "/openapi.json", langs=ONE)
    j.capture("api-docs", visitor, "GET", "/api/docs")

    # A citizen applies for the food shop permit.
    citizen = j.client("somchai@example.com")
    j.capture("apply-start", citizen, "GET", f"/apply/{SERVICE}")
    app_id = j.made(post_form(citizen, f"/apply/{SERVICE}", {}))
    base = f"/applications/{app_id}"
    j.capture("task-list-new", citizen, "GET", base)
    for page, data in PAGES.items():
        if page in ("applicant_kind", "person"):  # before answering: empty, then prefilled from the profile
            j.capture(f"page-{page}-before", citizen, "GET", f"{base}/pages/{page}")
        if page == "shop_details":  # a mistake first: what was typed stays, the error is named
            j.capture("page-shop_details-error", citizen, "POST", f"{base}/pages/{page}",
                      data={"csrf_token": token_of(citizen.get(base).text), **data, "shop_area": "หนึ่งร้อย",
                            "action": "continue"})
        response = post_form(citizen, f"{base}/pages/{page}", {**data, "action": "continue"})
        assert response.status_code == 303, (page, response.text[:1000])
        j.clock.advance(minutes=1)
    for page in PAGES:
        j.capture(f"page-{page}", citizen, "GET", f"{base}/pages/{page}")
    j.capture("task-list-filled", citizen, "GET", base)
    j.capture("documents-empty", citizen, "GET", f"{base}/documents")
    for doc in DOCUMENTS:
        fields = [("csrf_token", (None, token_of(citizen.get(f"{base}/documents").text))),
                  ("action", (None, "upload")), ("document", (None, doc)),
                  ("file", (f"{doc}.pdf", pdf(doc), "application/pdf"))]
        response = citizen.post(f"{base}/documents", files=fields, follow_redirects=False)
        assert response.status_code == 303, (doc, response.text[:1000])
    j.capture("documents-attached", citizen, "GET", f"{base}/documents")
    j.capture("check-answers", citizen, "GET", f"{base}/check")
    check = citizen.get(f"{base}/check")
    digest = re.search(r'name="declaration_digest" value="([0-9a-f]{64})"', check.text).group(1)
    response = citizen.post(f"{base}/check", data={"csrf_token": token_of(check.text), "declaration_digest": digest,
                                                   "intent": "yes"}, follow_redirects=False)
    assert response.status_code == 303, response.text[:1000]
    j.capture("acknowledgement", citizen, "GET", f"{base}/submitted")
    j.capture("status-submitted", citizen, "GET", f"{base}/status")
    j.capture("edit-after-submit", citizen, "POST", f"{base}/pages/shop_details",
              data={"csrf_token": token_of(citizen.get(f"{base}/status").text), **PAGES["shop_details"],
                    "action": "continue"})
    reference = j.app.state.ctx.store.get_application(app_id)["reference"]
    j.capture("track-form", citizen, "GET", "/track")
    j.capture("track", citizen, "GET", f"/track?ref={reference}")
    j.clock.advance(minutes=5)
    j.made(post_form(citizen, "/apply/licence-information-request", {}))  # a second one, left as a draft
    j.capture("my-applications", citizen, "GET", "/applications")
    j.capture("profile", citizen, "GET", "/profile")
    j.capture("officer-forbidden", citizen, "GET", "/officer")
    j.capture("others-not-found", citizen, "GET", f"/applications/{NO_SUCH_APP}")

    # The same citizen through the API.
    api = j.client()
    response = api.post("/api/tokens", json={"email": "somchai@example.com", "password": PASSWORD})
    j.keep("api-token", "POST /api/tokens", response)
    auth = {"Authorization": f"Bearer {response.json()['token']}"}
    j.capture("api-application", api, "GET", f"/api/{base.lstrip('/')}", headers=auth, langs=ONE)
    j.capture("api-applications", api, "GET", "/api/applications", headers=auth, langs=ONE)
    j.capture("api-application-not-found", api, "GET", f"/api/applications/{NO_SUCH_APP}", headers=auth)
    j.capture("api-create-invalid", api, "POST", "/api/applications", headers=auth, json={"service": "nope"})
    j.capture("api-answers-invalid", api, "POST", "/api/applications", headers=auth,
              json={"service": SERVICE, "answers": {"shop_area": "หนึ่งร้อย", "unknown": 1}})

    # An officer: the inbox, the application, a transition.
    j.clock.set(dt.datetime(2026, 6, 16, 9, 0, tzinfo=BANGKOK))
    clerk = j.client("clerk@example.com")
    j.capture("officer-home", clerk, "GET", "/officer")
    j.capture("officer-inbox", clerk, "GET", f"/officer/{AGENCY}")
    j.capture("officer-application", clerk, "GET", f"/officer/applications/{app_id}")
    record = j.app.state.ctx.store.get_application(app_id)
    response = post_form(clerk, f"/officer/applications/{app_id}/transitions/accept",
                         {"expected_version": record["version"]}, page=f"/officer/applications/{app_id}")
    assert response.status_code == 303, response.text[:1000]
    j.capture("officer-application-accepted", clerk, "GET", f"/officer/applications/{app_id}")
    j.capture("officer-reports-forbidden", clerk, "GET", "/officer/reports")
    j.capture("status-under-review", citizen, "GET", f"{base}/status")

    # The head of agency: the reports.
    head = j.client("head@example.com")
    j.capture("officer-reports", head, "GET", "/officer/reports")
    j.capture("officer-reports-bad-period", head, "GET", "/officer/reports?from=2026-07-01&to=2026-06-01")


# --------------------------------------------------------------------------- the test
def _readable(data: bytes, name: str) -> list[str]:
    text = data.decode("utf-8", "replace")
    if name.endswith(".json"):
        try:
            text = json.dumps(json.loads(text), ensure_ascii=False, indent=1, sort_keys=True)
        except ValueError:
            pass
    return text.splitlines()


def _diff(name: str, old: bytes, new: bytes, limit: int = 60) -> str:
    lines = list(difflib.unified_diff(_readable(old, name), _readable(new, name), f"stored/{name}",
                                      f"now/{name}", lineterm="", n=2))
    if not lines and old != new:
        lines = ["(differs only in bytes a readable diff does not show, e.g. whitespace or key order)"]
    return "\n".join(lines[:limit] + (["…"] if len(lines) > limit else []))


def test_pages_are_unchanged(tmp_path):  # R: issue #20 "Done when"; A-X2 (headers), bilingual pages
    journey = Journey(tmp_path)
    walk(journey)
    produced = {c.name: c.body for c in journey.captures}
    produced[INDEX] = journey.index()

    if UPDATE:
        SNAPSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SNAPSHOTS.iterdir():
            if old.is_file() and old.name not in produced:
                old.unlink()
        for name, data in produced.items():
            (SNAPSHOTS / name).write_bytes(data)
        pytest.skip(f"{len(produced)} page snapshots rewritten in {SNAPSHOTS}; review the diff before committing")

    stored = {p.name: p.read_bytes() for p in SNAPSHOTS.iterdir() if p.is_file()} if SNAPSHOTS.is_dir() else {}
    problems = []
    for name in sorted(set(stored) | set(produced)):
        if name not in stored:
            problems.append(f"{name}: new, no snapshot stored")
        elif name not in produced:
            problems.append(f"{name}: stored, but the journey no longer produces it")
        elif stored[name] != produced[name]:
            problems.append(f"{name}: changed\n{_diff(name, stored[name], produced[name])}")
    if problems:
        pytest.fail(f"{len(problems)} page(s) differ from tests/fixtures/pages/ (if the change is intended, rerun "
                    f"with ESERVICE_UPDATE_PAGE_SNAPSHOTS=1 and review the diff):\n\n" + "\n\n".join(problems[:8]),
                    pytrace=False)
