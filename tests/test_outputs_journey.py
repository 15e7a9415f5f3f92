"""Issued documents end to end, through the real web app (issue #7 items 1-3).

R: A-L1…A-L5, IS-1, IS-2, IS-3, A-D1, A-D2, PR-8.

The shipped example definitions run in one app with a real time-stamp server
on loopback (``tests/tsa_server.py``) and a real SMTP server.  Applicants
apply through the JSON API; officers act through their web pages (signed in
at ``/login``, forms with CSRF tokens), as in ``tests/test_web_officer.py``.
Fees are paid at the counter: the finance officer records the payment on the
application page, which issues the receipt and moves the application on as
``system`` (issue #8; the other ways to pay are in ``test_payments_*``).

Every issued PDF is downloaded (status page and API) and checked by the
platform's verifier and by poppler's ``pdfsig`` with the agency's demo CA
trusted in an NSS database, its text by ``pdftotext``; a byte changed inside
the signed range must fail both.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from eservice.auth import Accounts
from eservice.clock import BANGKOK, FixedClock
from eservice.plugins.pdf_signature_verifier import PdfSignatureVerifier
from eservice.renderers.pdf import normalize_extracted_thai
from eservice.web.app import create_app
from eservice.web.context import Settings
from eservice.web.demo import install_demo_keys
from smtp_server import SmtpTestServer
from test_web_apply import ADDRESS, NATIONAL_ID, pdf_bytes
from tsa_server import tsa_server  # noqa: F401  (fixture)

DEFINITIONS = Path(__file__).resolve().parent.parent / "service_definitions"
NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=BANGKOK)  # a Monday, in office hours
PASSWORD = "Sapphire-Mango-42!"
BANGKOK_ADDRESS = {"line": "1 ซอยพหลโยธิน 24", "subdistrict": "จอมพล", "district": "จตุจักร",
                   "province": "กรุงเทพมหานคร", "postcode": "10900"}
TOOLS = all(shutil.which(t) for t in ("pdfsig", "pdftotext", "certutil"))
needs_tools = pytest.mark.skipif(not TOOLS, reason="needs poppler-utils and libnss3-tools (scripts/test.sh)")

PERSON = {"first_name": "สมชาย", "last_name": "ใจดี", "national_id": NATIONAL_ID}
ANSWERS = {
    "commercial-registration": {
        **PERSON, "birth_date": "1985-03-14", "nationality": "thai", "phone": "0812345678",
        "email": "somchai@example.com", "home_address": BANGKOK_ADDRESS, "submitted_by_agent": False,
        "trade_name": "ร้านสมชายการค้า", "business_types": ["retail"], "goods": "เครื่องเขียน",
        "capital": "50000", "start_date": "2026-07-01", "business_address": BANGKOK_ADDRESS, "premises": "own"},
    "building-permit": {
        "applicant_type": "person", **PERSON, "submitted_by_agent": False, "phone": "0812345678",
        "email": "somchai@example.com", "applicant_address": ADDRESS, "land_title_type": "chanote",
        "land_title_number": "12345", "site_address": ADDRESS, "applicant_owns_land": True,
        "building_use": "detached_house", "structure_type": "reinforced_concrete", "storeys": 2,
        "building_height": 7.5, "floor_area": 120, "distance_to_boundary": 5, "planned_start": "2026-08-01",
        "accept_conditions": True},
    "food-shop-permit": {
        "applicant_type": "person", "submitted_by_agent": False, **PERSON, "birth_date": "1980-02-05",
        "phone": "0812345678", "email": "somchai@example.com", "applicant_address": ADDRESS,
        "shop_name": "ร้านป้าแดง", "establishment_type": "restaurant", "food_kinds": ["cooked_to_order"],
        "shop_address": ADDRESS, "shop_area": 120, "seats": 30, "premises_owned": True,
        "opening_date": "2026-07-01",
        "food_handlers": [{"handler_name": "นางแดง ใจดี", "handler_role": "cook", "trained": True,
                           "has_health_certificate": False}],
        "accept_inspection": True, "accept_data_check": True},
}
DOCUMENTS = {
    "commercial-registration": ["id_card_copy", "location_map"],
    "building-permit": ["id_card_copy", "land_title_copy", "building_plans"],
    "food-shop-permit": ["id_card_copy", "house_registration_copy", "floor_plan", "training_certificates"],
}


# --------------------------------------------------------------------------- the world
def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


class World:
    """The app over the example definitions, its people and a few helpers."""

    def __init__(self, data: Path, tsa, smtp: SmtpTestServer, **settings):
        self.tsa, self.smtp, self.data = tsa, smtp, data
        self.clock = FixedClock(NOW.astimezone(dt.timezone.utc))
        self.settings = Settings(data=data, definitions=(DEFINITIONS,), tsa_url=tsa.url, smtp=smtp.settings(),
                                 **settings)
        self.app = create_app(self.settings, clock=self.clock)
        ctx = self.app.state.ctx
        self.store = ctx.store
        self.accounts = ctx.extra["accounts"] = Accounts(
            ctx.store, self.clock, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        install_demo_keys(data, ctx.catalogue)  # what `eservice serve --demo` does (IS-2)
        self.clients: dict[str, TestClient] = {}
        self.person("somchai")
        self.person("other")
        for agency in ("nonthaburi-city", "chatuchak-district"):
            for role in ("registry_clerk", "reviewer", "approver", "finance_officer", "signing_authority",
                         "head_of_agency"):
                self.person(f"{role}.{agency}", (agency, role), first=role.replace("_", " ").title())
        tokens = self.api().post("/api/tokens", json={"email": "somchai@example.com", "password": PASSWORD})
        self.bearer = {"Authorization": f"Bearer {tokens.json()['token']}"}

    def person(self, key: str, *grants: tuple, first: str = "") -> dict:
        user, token = self.accounts.register(f"{key}@example.com", PASSWORD,
                                             {"first_name": first or "สมชาย", "last_name": "ใจดี"})
        self.accounts.verify_email(token)
        for agency, role in grants:
            user = self.accounts.grant_role(user["id"], agency, role)
        return user

    def api(self) -> TestClient:
        return self.clients.setdefault("api", TestClient(self.app))

    def web(self, key: str) -> TestClient:
        """A browser signed in as ``key`` (through /login)."""
        if key not in self.clients:
            client = TestClient(self.app)
            page = client.get("/login")
            response = client.post("/login", data={"csrf_token": token_of(page.text),
                                                   "email": f"{key}@example.com", "password": PASSWORD},
                                   follow_redirects=False)
            assert response.status_code == 303, response.text[:300]
            self.clients[key] = client
        return self.clients[key]

    # the applicant, through the API -------------------------------------------------
    def apply(self, service: str, **changes) -> str:
        api = self.api()
        created = api.post("/api/applications", headers=self.bearer,
                           json={"service": service, "answers": {**ANSWERS[service], **changes}})
        assert created.status_code == 201, created.text
        draft = created.json()
        assert [e for e in draft["errors"] if not e["path"].startswith("documents.")] == [], draft["errors"]
        for doc in DOCUMENTS[service]:
            r = api.post(f"/api/applications/{draft['id']}/documents/{doc}", headers=self.bearer,
                         files={"file": (f"{doc}.pdf", pdf_bytes(doc), "application/pdf")})
            assert r.status_code == 201, r.text
        draft = api.get(f"/api/applications/{draft['id']}", headers=self.bearer).json()
        done = api.post(f"/api/applications/{draft['id']}/submit", headers=self.bearer,
                        json={"declaration": draft["declaration"], "intent": True})
        assert done.status_code == 201, done.text
        return draft["id"]

    # officers, through their pages --------------------------------------------------
    def act(self, who: str, app_id: str, transition: str, expect: int = 303, **inputs):
        client = self.web(who)
        page = client.get(f"/officer/applications/{app_id}")
        assert page.status_code == 200, page.text[:300]
        version = self.store.get_application(app_id)["version"]
        response = client.post(f"/officer/applications/{app_id}/transitions/{transition}",
                               data={"csrf_token": token_of(page.text), "expected_version": version, **inputs},
                               follow_redirects=False)
        assert response.status_code == expect, response.text[:3000]
        return response

    def pay(self, app_id: str) -> None:
        """The finance officer records a counter payment of the notice (eservice.web.payments, #8)."""
        record = self.store.get_application(app_id)
        client = self.web(f"finance_officer.{record['agency']}")
        page = client.get(f"/officer/applications/{app_id}")
        method = re.search(r'id="counter-method" name="method"><option value="([a-z_]+)"', page.text).group(1)
        response = client.post(f"/officer/applications/{app_id}/payment/counter",
                               data={"csrf_token": token_of(page.text), "method": method,
                                     "receipt_ref": f"CTR-{record['reference']}",
                                     "amount": record["payment_notice"]["amount"]}, follow_redirects=False)
        assert response.status_code == 303, response.text[:2000]
        assert self.store.get_application(app_id)["payment_notice"]["status"] == "paid"

    def state(self, app_id: str) -> str:
        return self.store.get_application(app_id)["state"]

    def ca(self, agency: str) -> Path:
        return self.data / "keys" / agency / "ca.pem"


@pytest.fixture(scope="module")
def world(tmp_path_factory, tsa_server):  # noqa: F811
    with SmtpTestServer() as smtp:
        yield World(tmp_path_factory.mktemp("outputs") / "data", tsa_server, smtp)


@pytest.fixture(scope="module")
def nss(world, tmp_path_factory):
    """An NSS database trusting each agency's demo CA, for pdfsig."""
    if not TOOLS:
        pytest.skip("needs poppler-utils and libnss3-tools")
    folder = tmp_path_factory.mktemp("nss")
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True, capture_output=True)
    for agency in ("nonthaburi-city", "chatuchak-district"):
        subprocess.run(["certutil", "-A", "-d", f"sql:{folder}", "-n", f"{agency} demo CA", "-t", "CT,C,C",
                        "-i", str(world.ca(agency))], check=True, capture_output=True)
    return folder


# --------------------------------------------------------------------------- checks of one PDF
def verifier(world) -> PdfSignatureVerifier:
    """The platform's verifier: its trust bundle, its own agency CAs, and the test TSA's root."""
    return PdfSignatureVerifier(extra_trust_roots=[world.tsa.ca_pem], data_dir=world.data)


def pdfsig(pdf: bytes, nss: Path, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(path)], capture_output=True, text=True).stdout


def pdftext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "text.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return normalize_extracted_thai(out)


def tampered(pdf: bytes) -> bytes:
    """One byte changed inside the first content stream, which the signature covers."""
    start = pdf.index(b"stream", pdf.index(b"/Length")) + len(b"stream\n") + 10
    out = bytearray(pdf)
    out[start] ^= 0x01
    return bytes(out)


def check_signed(world, nss: Path, tmp_path: Path, pdf: bytes, *texts: str) -> None:
    """Valid for the platform and for pdfsig, the texts inside; one byte changed fails both."""
    result = verifier(world).verify(pdf)
    assert result.ok, [m.en for m in result.messages]
    [signature] = result.details["signatures"]
    assert signature["timestamped"] and signature["certified"]  # PAdES B-T, certified by the agency
    report = pdfsig(pdf, nss, tmp_path)
    assert "Signature is Valid" in report and "Certificate is Trusted" in report, report
    assert "ETSI.CAdES.detached" in report, report  # PAdES
    text = pdftext(pdf, tmp_path)
    for wanted in texts:
        assert normalize_extracted_thai(wanted) in text, (wanted, text[:1500])
    broken = tampered(pdf)
    assert not verifier(world).verify(broken).ok
    report = pdfsig(broken, nss, tmp_path)
    assert "Signature is Valid" not in report, report


def downloads(world, app_id: str) -> list[tuple[dict, bytes]]:
    """Each issued document, from the status page (web) and the API; both the same bytes."""
    status = world.web("somchai").get(f"/applications/{app_id}/status")
    links = re.findall(rf'href="(/applications/{app_id}/issued/[0-9a-f]{{64}})"', status.text)
    issued = world.api().get(f"/api/applications/{app_id}", headers=world.bearer).json()["issued"]
    assert len(links) == len(issued) >= 1
    out = []
    for entry in issued:
        link = next(x for x in links if x.endswith(entry["sha256"]))
        web = world.web("somchai").get(link)
        api = world.api().get(urlsplit(entry["href"]).path, headers=world.bearer)
        assert web.status_code == api.status_code == 200
        assert web.headers["content-type"] == "application/pdf"
        assert web.headers["content-disposition"].startswith("attachment")
        assert web.content == api.content
        out.append((entry, web.content))
    return out


def licence_download(world, app_id: str) -> list[tuple[dict, bytes]]:
    """The licences among the downloads (a fee's notice and receipt are letters)."""
    return [d for d in downloads(world, app_id) if d[0]["kind"] == "licence"]


def mailed(world, entry: dict, timeout: float = 5.0) -> bytes:
    """The PDF attached to the mail the applicant got for the step that issued *entry*."""
    deadline = time.monotonic() + timeout
    while True:
        for mail in list(world.smtp.messages):
            for part in mail.message.iter_attachments():
                if part.get_filename() == entry["filename"]:
                    assert part.get_content_type() == "application/pdf"
                    assert mail.rcpt_tos == ["somchai@example.com"]
                    return part.get_content()
        assert time.monotonic() < deadline, f"no mail carries {entry['filename']}"
        time.sleep(0.05)


# --------------------------------------------------------------------------- licences
CASES = {
    # service, changes to the answers, the officers' steps (who, transition, inputs) with pay and draft marks
    "commercial_registration": ("commercial-registration", {}, "chatuchak-district", [
        ("registry_clerk", "accept_and_bill", {}), "pay", "draft",
        ("signing_authority", "register", {})], "registered"),
    "building_permit": ("building-permit", {}, "nonthaburi-city", [
        ("registry_clerk", "accept", {}), ("reviewer", "forward_for_approval", {"review_note": "แบบถูกต้อง"}),
        ("approver", "approve", {}), "pay", "draft",
        ("signing_authority", "sign", {})], "issued"),
    "notification_certificate": ("food-shop-permit", {}, "nonthaburi-city", [
        ("registry_clerk", "accept", {}), ("reviewer", "approve_notification", {}),
        ("finance_officer", "issue_payment_notice", {}), "pay", "draft",
        ("signing_authority", "sign_certificate", {})], "issued"),
    "food_licence": ("food-shop-permit", {"shop_area": 250}, "nonthaburi-city", [
        ("registry_clerk", "accept", {}),
        ("reviewer", "schedule_inspection", {"inspection_date": "2026-06-20", "inspection_note": "ช่วงเช้า"}),
        ("approver", "approve_licence", {"inspection_result": "ผ่านเกณฑ์สุขลักษณะ"}),
        ("finance_officer", "issue_payment_notice", {}), "pay", "draft",
        ("signing_authority", "sign_food_licence", {})], "issued"),
}


@needs_tools
@pytest.mark.parametrize("case", list(CASES))
def test_every_example_licence_is_issued_signed_delivered_and_verifiable(world, nss, tmp_path, case):
    # R: A-L1, A-L2, A-L3, A-L4, A-L5, IS-1, IS-2, IS-3, A-D1, PR-8
    service, changes, agency, steps, final = CASES[case]
    app_id = world.apply(service, **changes)
    for step in steps:
        if step == "pay":
            world.pay(app_id)
        elif step == "draft":  # A-L3: the officers see the draft before anyone signs it
            draft = world.web(f"signing_authority.{agency}").get(
                f"/officer/applications/{app_id}/licences/{case}/draft")
            assert draft.status_code == 200 and draft.headers["content-type"] == "application/pdf"
            assert b"/ByteRange" not in draft.content  # not signed
            assert "ร่าง" in pdftext(draft.content, tmp_path)
            assert world.web("somchai").get(f"/officer/applications/{app_id}/licences/{case}/draft",
                                            follow_redirects=False).status_code in (403, 404)
        else:
            who, transition, inputs = step
            world.act(f"{who}.{agency}", app_id, transition, **inputs)
    record = world.store.get_application(app_id)
    assert record["state"] == final
    licence = record["licences"][case]
    assert licence["status"] == "signed" and licence["number"]
    [(entry, pdf)] = licence_download(world, app_id)  # beside the payment notice and the receipt
    assert entry["kind"] == "licence" and entry["number"] == licence["number"]
    assert entry["signature_level"] == "PAdES-B-T"
    texts = [licence["number"], record["reference"]]
    if licence.get("valid_until"):  # the licences with `validity`: one year, the day before the anniversary
        assert licence["valid_until"] == "2027-06-14"
        texts.append("14 มิถุนายน 2570")
    check_signed(world, nss, tmp_path, pdf, *texts)
    # the history: who signed what, when (officers' page and the applicant's status page)
    signer = "Signing Authority ใจดี"
    officer_page = world.web(f"signing_authority.{agency}").get(f"/officer/applications/{app_id}").text
    assert signer in officer_page and licence["number"] in officer_page
    assert signer in world.web("somchai").get(f"/applications/{app_id}/status").text
    assert mailed(world, entry) == pdf  # the result mail carries it (IS-3, A-D2)


# --------------------------------------------------------------------------- letters
@needs_tools
def test_refusal_letter_is_signed_and_delivered(world, nss, tmp_path):  # R: IS-1, IS-2, IS-3, A-A5
    app_id = world.apply("food-shop-permit")
    world.act("registry_clerk.nonthaburi-city", app_id, "accept")
    world.act("approver.nonthaburi-city", app_id, "reject", reason="สถานที่ไม่ถูกสุขลักษณะตามกฎกระทรวง")
    assert world.state(app_id) == "rejected"
    [(entry, pdf)] = downloads(world, app_id)
    assert entry["kind"] == "letter" and entry["id"] == "rejection_letter"
    record = world.store.get_application(app_id)
    check_signed(world, nss, tmp_path, pdf, "สถานที่ไม่ถูกสุขลักษณะตามกฎกระทรวง", record["reference"],
                 "แจ้งคำสั่งไม่อนุญาต")
    assert mailed(world, entry) == pdf


@needs_tools
def test_disposal_notice_is_signed_and_delivered(world, nss, tmp_path):  # R: IS-1, IS-2, IS-3, PR-2
    app_id = world.apply("building-permit")
    world.act("registry_clerk.nonthaburi-city", app_id, "accept")
    world.act("reviewer.nonthaburi-city", app_id, "forward_for_approval")
    world.act("approver.nonthaburi-city", app_id, "approve")
    world.act("head_of_agency.nonthaburi-city", app_id, "payment_overdue")  # not paid in time
    assert world.state(app_id) == "disposed"
    [(entry, pdf)] = [d for d in downloads(world, app_id) if d[0]["id"] == "disposal_notice"]
    assert entry["kind"] == "letter" and entry["id"] == "disposal_notice"
    record = world.store.get_application(app_id)
    check_signed(world, nss, tmp_path, pdf, "แจ้งการจำหน่ายเรื่อง", record["reference"])
    assert mailed(world, entry) == pdf


# --------------------------------------------------------------------------- who may download
def test_only_the_applicant_and_the_agencys_officers_may_download(world):  # R: IS-3, CH-4, A-X1
    app_id = world.apply("food-shop-permit")
    world.act("registry_clerk.nonthaburi-city", app_id, "accept")
    world.act("approver.nonthaburi-city", app_id, "reject", reason="ไม่ผ่าน")
    sha = world.store.get_application(app_id)["letters"][0]["file"]["sha256"]
    path = f"/applications/{app_id}/issued/{sha}"
    assert world.web("somchai").get(path).status_code == 200
    assert world.web("reviewer.nonthaburi-city").get(path).status_code == 200  # an officer of the agency
    assert world.web("reviewer.chatuchak-district").get(path).status_code == 404  # another agency
    assert world.web("other").get(path).status_code == 404  # another citizen
    anonymous = TestClient(world.app).get(path, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert world.web("somchai").get(f"/applications/{app_id}/issued/{'0' * 64}").status_code == 404
    other = world.api().post("/api/tokens", json={"email": "other@example.com", "password": PASSWORD}).json()
    as_other = {"Authorization": f"Bearer {other['token']}"}
    assert world.api().get(f"/api/applications/{app_id}/issued/{sha}", headers=as_other).status_code == 404
    assert world.api().get(f"/api/applications/{app_id}/issued/{sha}").status_code == 401


def test_the_api_lists_issued_documents_as_its_openapi_says(world):  # R: CH-5, IS-3
    from jsonschema import Draft202012Validator

    document = world.api().get("/openapi.json").json()
    assert "/api/applications/{app_id}/issued/{sha256}" in document["paths"]
    app_id = world.apply("food-shop-permit")
    world.act("registry_clerk.nonthaburi-city", app_id, "accept")
    world.act("approver.nonthaburi-city", app_id, "reject", reason="ไม่ผ่าน")
    body = world.api().get(f"/api/applications/{app_id}", headers=world.bearer).json()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": document["components"],
              "$ref": "#/components/schemas/Application"}
    assert [e.message for e in Draft202012Validator(schema).iter_errors(body)] == []
    [entry] = body["issued"]
    assert entry["signed_by"]["name"] == "Approver ใจดี" and entry["href"].endswith(entry["sha256"])


# --------------------------------------------------------------------------- failures record nothing
def test_a_signing_failure_stops_the_transition_and_records_nothing(world):  # R: A-L4, IS-2
    app_id = world.apply("food-shop-permit")
    world.act("registry_clerk.nonthaburi-city", app_id, "accept")
    before = world.store.get_application(app_id)
    world.tsa.failing = True  # the time-stamp service is down
    try:
        page = world.act("approver.nonthaburi-city", app_id, "reject", expect=503, reason="ไม่ผ่าน")
    finally:
        world.tsa.failing = False
    assert "ตราประทับเวลา" in page.text and "nothing was recorded" not in page.text  # Thai page
    after = world.store.get_application(app_id)
    assert after["version"] == before["version"] and after["state"] == "under_review"
    assert not after.get("letters") and len(after["events"]) == len(before["events"])
    # the agency's keys are missing: the same, with what to do
    keys = world.data / "keys" / "nonthaburi-city"
    hidden = keys.with_name("hidden")
    keys.rename(hidden)
    try:
        page = world.act("approver.nonthaburi-city", app_id, "reject", expect=503, reason="ไม่ผ่าน")
    finally:
        hidden.rename(keys)
    assert "eservice keys import" in page.text
    assert world.store.get_application(app_id)["version"] == before["version"]
    # once the service is back, the same action goes through
    world.act("approver.nonthaburi-city", app_id, "reject", reason="ไม่ผ่าน")
    assert world.state(app_id) == "rejected"
