"""The JSON API for central portals (issue #3 item 9; CH-5, PR-3, A-F6, A-F8, A-F9,
A-F10, A-X2).

Runs the real app (``create_app``, through the ``app_factory`` fixture) with
starlette's TestClient over a temporary data folder.  Most tests use a service
written here (``api-permit``: a hidden field, a hidden page, money, a group, a
required PDF and a conditional photo);
the catalogue tests use the example services in ``service_definitions/``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import shutil
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from pypdf import PdfWriter
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from eservice.auth import Accounts
from eservice.clock import BANGKOK, FixedClock
from eservice.engine import EngineContext
from eservice.policy import Actor, Grant
from eservice.web.api_tokens import COLLECTION
from eservice.web.deps import accounts as web_accounts
from eservice.web.deps import sign_in
from eservice.workflow import Workflow

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "defs"
EXAMPLES = ROOT / "service_definitions"
SUNDAY_EVENING = dt.datetime(2023, 1, 22, 21, 33, tzinfo=BANGKOK)
PASSWORD = "correct horse battery"
THAI = re.compile(r"[\u0E00-\u0E7F]")


# --------------------------------------------------------------------------- fixtures
def make_definitions(root: Path) -> Path:
    defs = root / "defs"
    shutil.copytree(FIXTURES, defs)
    service = yaml.safe_load((FIXTURES / "test-agency" / "minimal.yaml").read_text(encoding="utf-8"))
    service["id"] = "api-permit"
    shop = service["form"]["sections"][0]["pages"][0]
    shop["fields"] += [
        {"id": "owner_name", "type": "text", "label": {"th": "ชื่อเจ้าของ", "en": "Owner's name"},
         "prefill": "profile.full_name"},
        {"id": "deposit", "type": "money", "label": {"th": "เงินประกัน", "en": "Deposit"}},
        {"id": "opening", "type": "date", "label": {"th": "วันเปิดร้าน", "en": "Opening day"}},
        {"id": "shop_kind", "type": "choice", "label": {"th": "ประเภทร้าน", "en": "Kind of shop"},
         "options": [{"value": "cafe", "label": {"th": "ร้านกาแฟ", "en": "Cafe"}},
                     {"value": "stall", "label": {"th": "แผงลอย", "en": "Stall"}}]},
        {"id": "staff", "type": "group", "label": {"th": "พนักงาน", "en": "Staff"},
         "fields": [{"id": "name", "type": "text", "label": {"th": "ชื่อพนักงาน", "en": "Name"}, "required": True},
                    {"id": "age", "type": "number", "label": {"th": "อายุ", "en": "Age"}}]},
    ]
    service["form"]["sections"][0]["pages"].append({
        "id": "large", "title": {"th": "ร้านขนาดใหญ่", "en": "Large shops"}, "when": "shop_area > 100.0",
        "fields": [{"id": "fire_exits", "type": "number", "label": {"th": "จำนวนทางหนีไฟ", "en": "Fire exits"},
                    "required": True}]})
    service["documents"] = [
        {"id": "floor_plan", "title": {"th": "แผนผังร้าน", "en": "Floor plan"}, "formats": ["pdf"],
         "max_size_mb": 1, "required": True},
        {"id": "kitchen_photo", "title": {"th": "ภาพถ่ายครัว", "en": "Photo of the kitchen"},
         "formats": ["jpeg", "png"], "required": False, "when": "has_kitchen == true"},
    ]
    (defs / "test-agency" / "api.yaml").write_text(
        yaml.safe_dump(service, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return defs


def login_route(request: Request):
    """Test-only: put a session cookie in the browser (as the sign-in page would)."""
    user = web_accounts(request).find_by_email(request.query_params["email"])
    sign_in(request, user)
    return JSONResponse({"ok": True})


@pytest.fixture
def clock():
    return FixedClock(SUNDAY_EVENING)


@pytest.fixture
def app(app_factory, tmp_path, clock):
    return app_factory(make_definitions(tmp_path), clock=clock, extra_routes=[Route("/test-login", login_route)])


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def register(app, clock, email: str, *, verify: bool = True, profile: dict | None = None) -> dict:
    accounts = Accounts(app.state.ctx.store, clock)
    user, token = accounts.register(email, PASSWORD, profile if profile is not None else
                                    {"first_name": "สมชาย", "last_name": "ใจดี"})
    if verify:
        user = accounts.verify_email(token)
    return user


def token_for(client, email: str) -> str:
    r = client.post("/api/tokens", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return r.json()["token"]


@pytest.fixture
def somchai(app, clock, client):
    register(app, clock, "somchai@example.com")
    return {"Authorization": f"Bearer {token_for(client, 'somchai@example.com')}"}


@pytest.fixture
def malee(app, clock, client):
    register(app, clock, "malee@example.com", profile={"first_name": "มาลี", "last_name": "ศรีสุข"})
    return {"Authorization": f"Bearer {token_for(client, 'malee@example.com')}"}


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


PNG = png_bytes()

GOOD = {"shop_name": "ร้านป้าแดง", "shop_area": 80, "has_kitchen": False, "deposit": "1500",
        "opening": "2023-03-01", "shop_kind": "cafe", "staff": [{"name": "สมศรี", "age": 30}]}


def error_of(response, status: int, code: str | None = None) -> dict:
    """The error body, after checking the one shape every API error has."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status"] == status
    assert isinstance(error["code"], str) and error["code"]
    assert THAI.search(error["th"]) and error["en"] and not THAI.search(error["en"])
    assert isinstance(error["errors"], list)
    for item in error["errors"]:
        assert set(item) == {"path", "code", "th", "en"}
        assert item["code"] and THAI.search(item["th"]) and item["en"]
    if code is not None:
        assert error["code"] == code
    return error


def paths(error: dict) -> dict[str, str]:
    return {e["path"]: e["code"] for e in error["errors"]}


def create(client, headers, **body) -> dict:
    r = client.post("/api/applications", json={"service": "api-permit", **body}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def put(client, headers, app_json: dict, answers: dict, version: int | None = None):
    v = app_json["version"] if version is None else version
    return client.put(f"/api/applications/{app_json['id']}/answers", json={"answers": answers},
                      headers={**headers, "If-Match": f'"{v}"'})


def upload(client, headers, app_id: str, document: str, data: bytes, filename: str, media="application/pdf"):
    return client.post(f"/api/applications/{app_id}/documents/{document}",
                       files={"file": (filename, data, media)}, headers=headers)


# --------------------------------------------------------------------------- tokens
def test_token_is_issued_and_only_its_hash_is_stored(app, clock, client):  # R: A-X2
    register(app, clock, "somchai@example.com")
    r = client.post("/api/tokens", json={"email": "SomChai@Example.com", "password": PASSWORD})
    assert r.status_code == 201
    body = r.json()
    assert body["token_type"] == "Bearer" and len(body["token"]) >= 40
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert expires - SUNDAY_EVENING == dt.timedelta(days=30)
    stored = list(app.state.ctx.store.collection(COLLECTION).all())
    assert len(stored) == 1
    assert stored[0]["key"] == hashlib.sha256(body["token"].encode()).hexdigest()
    assert body["token"] not in repr(stored)
    assert r.headers["cache-control"] == "no-store"
    me = client.get("/api/tokens/current", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json()["user"]["email"] == "somchai@example.com"


def test_wrong_password_is_401_in_thai_and_english(app, clock, client):  # R: A-X2
    register(app, clock, "somchai@example.com")
    error = error_of(client.post("/api/tokens", json={"email": "somchai@example.com", "password": "wrong one!"}),
                     401, "invalid_credentials")
    assert error["th"] == "อีเมลหรือรหัสผ่านไม่ถูกต้อง"
    unknown = error_of(client.post("/api/tokens", json={"email": "nobody@example.com", "password": PASSWORD}), 401)
    assert unknown["en"] == error["en"]  # no account enumeration


def test_lock_out_applies_to_api_sign_in(app, clock, client):  # R: A-X2
    register(app, clock, "somchai@example.com")
    for _ in range(5):
        client.post("/api/tokens", json={"email": "somchai@example.com", "password": "wrong one!"})
    locked = client.post("/api/tokens", json={"email": "somchai@example.com", "password": PASSWORD})
    error_of(locked, 429, "locked")


def test_unverified_email_gets_no_token(app, clock, client):
    register(app, clock, "new@example.com", verify=False)
    error_of(client.post("/api/tokens", json={"email": "new@example.com", "password": PASSWORD}),
             403, "email_not_verified")


def test_token_request_must_be_well_formed(client):
    error = error_of(client.post("/api/tokens", json={"email": "a@b.co", "password": 5, "remember": True}), 422)
    assert paths(error) == {"password": "type", "remember": "unknown_field"}
    error_of(client.post("/api/tokens", content=b"{not json", headers={"Content-Type": "application/json"}),
             400, "invalid_json")
    error_of(client.post("/api/tokens", content=b"email=a", headers={"Content-Type": "text/plain"}),
             415, "unsupported_media_type")


@pytest.mark.parametrize("header, code", [
    (None, "missing_token"),
    ("Bearer", "missing_token"),
    ("Basic c29tY2hhaTpwYXNz", "missing_token"),
    ("Bearer " + "x" * 43, "invalid_token"),
])
def test_no_or_bad_token_is_401(client, somchai, header, code):  # R: A-X2
    headers = {"Authorization": header} if header else {}
    r = client.get("/api/applications", headers=headers)
    error_of(r, 401, code)
    assert r.headers["www-authenticate"].startswith('Bearer realm="eservice"')


def test_expired_token_is_401(client, clock, somchai):  # R: A-X2
    assert client.get("/api/applications", headers=somchai).status_code == 200
    clock.advance(days=30, seconds=1)
    error_of(client.get("/api/applications", headers=somchai), 401, "expired_token")


def test_revoked_token_and_ended_sessions_stop_working(app, clock, client, somchai):  # R: A-X2
    assert client.delete("/api/tokens/current", headers=somchai).status_code == 204
    error_of(client.get("/api/applications", headers=somchai), 401, "invalid_token")
    other = {"Authorization": f"Bearer {token_for(client, 'somchai@example.com')}"}
    assert client.get("/api/applications", headers=other).status_code == 200
    accounts = Accounts(app.state.ctx.store, clock)
    accounts.end_all_sessions(accounts.find_by_email("somchai@example.com")["id"])  # e.g. a password reset
    error_of(client.get("/api/applications", headers=other), 401, "invalid_token")


def test_session_cookie_alone_does_not_authenticate(app, clock, client, somchai):  # R: A-X2
    assert client.get("/test-login", params={"email": "somchai@example.com"}).status_code == 200
    assert client.cookies.get("eservice_session")
    error_of(client.get("/api/applications"), 401, "missing_token")
    error_of(client.post("/api/applications", json={"service": "api-permit"}), 401, "missing_token")
    assert app.state.ctx.store.applications_of(
        Accounts(app.state.ctx.store, clock).find_by_email("somchai@example.com")["id"]) == []


# --------------------------------------------------------------------------- catalogue
@pytest.fixture
def example_client(app_factory, tmp_path, clock):
    app = app_factory(EXAMPLES, data=tmp_path / "examples", clock=clock)
    with TestClient(app) as c:
        yield c


def test_catalogue_lists_the_example_services(example_client):  # R: CH-5
    r = example_client.get("/api/services")
    assert r.status_code == 200 and "no-store" not in r.headers["cache-control"]
    services = {s["id"]: s for s in r.json()["services"]}
    assert {"commercial-registration", "licence-information-request", "building-permit",
            "food-shop-permit"} <= set(services)
    info = services["licence-information-request"]
    assert info["agency"]["code"] == "nonthaburi-city" and info["agency"]["phone"]
    assert info["title"]["en"] == "Request for information about a licence"
    assert info["sla"]["working_days"] == 3 and info["sla"]["text"]["th"] == "3 วันทำการ"
    assert info["fees"]["summary"] == {"th": "ไม่มีค่าธรรมเนียม", "en": "No fee"}
    assert info["links"]["html"].endswith("/services/licence-information-request")
    assert info["links"]["schema"].endswith("/api/services/licence-information-request/schema")
    food = services["food-shop-permit"]
    ids = {d["id"]: d for d in food["documents"]}
    assert ids["id_card_copy"]["formats"] == ["pdf", "jpeg", "png"] and ids["id_card_copy"]["required"] is True
    assert ids["id_card_copy"]["max_bytes"] == 5 * 1024 * 1024
    assert ids["house_registration_copy"]["conditional"] is True
    only = example_client.get("/api/services", params={"agency": "chatuchak-district"}).json()
    assert [s["id"] for s in only["services"]] == ["commercial-registration"]
    html = example_client.get(info["links"]["html"])
    assert html.status_code == 200 and "ขอข้อมูลเกี่ยวกับใบอนุญาต" in html.text


def test_service_detail_and_unknown_service(example_client):  # R: CH-5
    detail = example_client.get("/api/services/licence-information-request").json()
    fields = {f["id"]: f for s in detail["form"] for p in s["pages"] for f in p["fields"]}
    assert fields["licence_kind_other"]["when"] == 'licence_kind == "other"'
    assert detail["declaration"]["th"].startswith("ข้าพเจ้า")
    assert {s["id"] for s in detail["states"]} >= {"submitted", "answered"}
    error_of(example_client.get("/api/services/no-such-service"), 404, "no_service")
    error_of(example_client.get("/api/services/Bad_Id"), 404, "no_service")


LICENCE_ANSWERS = {"licence_kind": "food_licence", "licence_number": "สอ.0123/2568", "purpose": "before_contract",
                   "requester_name": "สมชาย ใจดี", "email": "somchai@example.com", "accept_use": True}


def test_schema_endpoint_gives_a_json_schema_that_checks_answers(example_client):  # R: CH-5, PR-3
    r = example_client.get("/api/services/licence-information-request/schema")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/schema+json")
    schema = r.json()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert list(validator.iter_errors(LICENCE_ANSWERS)) == []
    bad = dict(LICENCE_ANSWERS, licence_kind="spaceship", accept_use="yes", is_admin=True)
    problems = {e.validator for e in validator.iter_errors(bad)}
    assert problems == {"enum", "type", "additionalProperties"}
    assert list(validator.iter_errors({k: v for k, v in LICENCE_ANSWERS.items() if k != "licence_number"}))


def test_data_matching_the_schema_is_a_lawful_request(example_client, tmp_path, clock):  # R: PR-3, CH-5
    ctx = example_client.app.state.ctx
    accounts = Accounts(ctx.store, clock)
    user, token = accounts.register("somchai@example.com", PASSWORD, {"first_name": "สมชาย"})
    accounts.verify_email(token)
    headers = {"Authorization": f"Bearer {token_for(example_client, 'somchai@example.com')}"}
    r = example_client.post("/api/applications", headers=headers,
                            json={"service": "licence-information-request", "answers": LICENCE_ANSWERS})
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["errors"] == []
    submitted = example_client.post(f"/api/applications/{draft['id']}/submit", headers=headers,
                                    json={"declaration": draft["declaration"], "intent": True})
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["receipt"]["agency"]["code"] == "nonthaburi-city"


# --------------------------------------------------------------------------- the full flow
def test_full_flow_create_answer_upload_submit_track(app, client, somchai):  # R: CH-5, A-F6, A-F8, A-F9, A-F10, RC-3
    draft = create(client, somchai)
    assert draft["state"]["id"] == "draft" and draft["version"] == 1
    assert draft["answers"] == {"owner_name": "สมชาย ใจดี"}  # prefilled from the profile (A-F2)
    assert {"answers.shop_name": "required", "answers.shop_area": "required",
            "documents.floor_plan": "required"}.items() <= paths({"errors": draft["errors"]}).items()
    assert draft["declaration"]["th"].startswith("ข้าพเจ้าขอรับรอง")
    assert draft["links"]["submit"].endswith(f"/api/applications/{draft['id']}/submit")

    r = put(client, somchai, draft, {**GOOD, "owner_name": "สมชาย ใจดี"})
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["version"] == 2 and r.headers["etag"] == '"2"'
    assert saved["answers"]["deposit"] == "1500.00"  # money is stored as text with two decimals
    assert saved["answers"]["staff"] == [{"name": "สมศรี", "age": 30}]
    assert paths({"errors": saved["errors"]}) == {"documents.floor_plan": "required"}
    assert saved["estimated_fees"] == [{"id": "licence_fee", "title": {"th": "ค่าธรรมเนียมใบอนุญาต",
                                                                      "en": "Licence fee"}, "amount": "500.00"}]

    pdf = pdf_bytes()
    r = upload(client, somchai, draft["id"], "floor_plan", pdf, "แผนผัง.pdf")
    assert r.status_code == 201, r.text
    assert r.json()["file"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert r.json()["file"]["media_type"] == "application/pdf"
    assert app.state.ctx.files.get(hashlib.sha256(pdf).hexdigest()) == pdf
    current = r.json()["application"]
    assert current["errors"] == []

    r = client.post(f"/api/applications/{draft['id']}/submit", headers=somchai,
                    json={"declaration": current["declaration"], "intent": True, "version": current["version"]})
    assert r.status_code == 201, r.text
    receipt = r.json()["receipt"]
    assert receipt["intake_number"] == "1/2566"
    # sent Sunday 21:33 → registered Monday 08:30 (RC-4)
    assert dt.datetime.fromisoformat(receipt["intake_at"]) == dt.datetime(2023, 1, 23, 8, 30, tzinfo=BANGKOK)
    assert receipt["reference"] == draft["reference"]
    assert dt.datetime.fromisoformat(receipt["sla_due"]) > dt.datetime.fromisoformat(receipt["intake_at"])
    assert receipt["expected_completion"]["th"].startswith("ภายในวันที่")
    assert receipt["agency"] == {"code": "test-agency", "name": {"th": "หน่วยงานทดสอบ", "en": "Test Agency"},
                                 "phone": "02-123-4567", "email": None}
    assert receipt["tracking"]["api"].endswith(f"/api/applications/{draft['id']}")

    status = client.get(f"/api/applications/{draft['id']}", headers=somchai)
    assert status.status_code == 200
    body = status.json()
    assert body["state"]["id"] == "submitted" and body["state"]["title"] == {"th": "ยื่นแล้ว", "en": "Submitted"}
    assert body["intake_number"] == "1/2566" and body["declaration"] is None
    assert [h["type"] for h in body["history"]] == ["draft_started", "submitted"]
    assert "1/2566" in body["history"][1]["th"] and body["history"][1]["by"] == "applicant"
    assert body["documents"][0]["files"][0]["filename"].endswith(".pdf")
    assert "ยื่นแล้ว".encode() in status.content  # UTF-8, not \u escapes

    stored = app.state.ctx.store.get_application(draft["id"])
    assert stored["signature"]["declaration"] == current["declaration"]
    assert stored["signature"]["content_sha256"] == receipt["content_sha256"]

    found = client.get("/api/applications", params={"reference": draft["reference"].lower()}, headers=somchai)
    assert found.status_code == 200 and found.json()["applications"][0]["id"] == draft["id"]
    listing = client.get("/api/applications", headers=somchai).json()
    assert [a["reference"] for a in listing["applications"]] == [draft["reference"]]

    error_of(put(client, somchai, body, GOOD), 409, "not_editable")
    error_of(client.post(f"/api/applications/{draft['id']}/submit", headers=somchai,
                         json={"declaration": current["declaration"], "intent": True}), 409)


def test_create_with_answers_saves_them(client, somchai):  # R: CH-5
    draft = create(client, somchai, answers=GOOD)
    assert draft["answers"]["shop_name"] == "ร้านป้าแดง" and draft["answers"]["owner_name"] == "สมชาย ใจดี"
    assert draft["dropped"] == []


# --------------------------------------------------------------------------- bad input
def test_wrong_types_are_422_with_paths_and_nothing_is_stored(app, client, somchai):  # R: A-F6
    draft = create(client, somchai)
    r = put(client, somchai, draft, {"shop_name": 42, "shop_area": "big", "has_kitchen": "yes",
                                     "deposit": "12.345", "opening": "2023-02-30", "shop_kind": "bar",
                                     "staff": [{"age": "thirty"}]})
    error = error_of(r, 422, "invalid_answers")
    assert paths(error) == {
        "answers.shop_name": "type", "answers.shop_area": "type", "answers.has_kitchen": "type",
        "answers.deposit": "money", "answers.opening": "date", "answers.shop_kind": "choice",
        "answers.staff[0].age": "type"}
    area = next(e for e in error["errors"] if e["path"] == "answers.shop_area")
    assert "พื้นที่" in area["th"] and "number" in area["en"]
    record = app.state.ctx.store.get_application(draft["id"])
    assert record["version"] == 1 and record["answers"] == {"owner_name": "สมชาย ใจดี"}


def test_unknown_fields_are_422(app, client, somchai):  # R: A-F6, A-X2
    draft = create(client, somchai)
    error = error_of(put(client, somchai, draft, {"shop_name": "ร้าน", "is_admin": True,
                                                   "staff": [{"name": "ก", "salary": 1}]}), 422)
    assert paths(error) == {"answers.is_admin": "unknown_field", "answers.staff[0].salary": "unknown_field"}
    error = error_of(client.put(f"/api/applications/{draft['id']}/answers", headers={**somchai, "If-Match": "1"},
                                json={"answers": {}, "state": "approved"}), 422, "invalid_body")
    assert paths(error) == {"state": "unknown_field"}
    assert app.state.ctx.store.get_application(draft["id"])["state"] == "draft"


def test_invalid_answers_at_creation_create_nothing(client, somchai):
    error_of(client.post("/api/applications", headers=somchai,
                         json={"service": "api-permit", "answers": {"shop_area": "big"}}), 422, "invalid_answers")
    assert client.get("/api/applications", headers=somchai).json()["count"] == 0
    error = error_of(client.post("/api/applications", headers=somchai, json={"service": "nope"}), 422)
    assert paths(error) == {"service": "no_service"}
    error = error_of(client.post("/api/applications", headers=somchai, json={"answers": {}}), 422)
    assert paths(error) == {"service": "required"}


def test_engine_rules_run_after_the_schema(client, somchai):  # R: A-F6
    draft = create(client, somchai)
    r = put(client, somchai, draft, dict(GOOD, shop_area=-5))
    assert r.status_code == 200  # a draft keeps what was typed
    rule = next(e for e in r.json()["errors"] if e["path"] == "answers.shop_area")
    assert rule == {"path": "answers.shop_area", "code": "rule", "th": "พื้นที่ต้องมากกว่าศูนย์",
                    "en": "The area must be above zero"}


def test_missing_required_at_submit_is_409_with_paths(client, somchai):  # R: A-F6 (409 since #17: the draft, not the request)
    draft = create(client, somchai)
    put(client, somchai, draft, {"shop_area": 150})
    current = client.get(f"/api/applications/{draft['id']}", headers=somchai).json()
    error = error_of(client.post(f"/api/applications/{draft['id']}/submit", headers=somchai,
                                 json={"declaration": current["declaration"], "intent": True}), 409, "invalid")
    assert paths(error) == {"answers.shop_name": "required", "answers.fire_exits": "required",
                            "documents.floor_plan": "required"}
    assert client.get(f"/api/applications/{draft['id']}", headers=somchai).json()["state"]["id"] == "draft"


def test_hidden_fields_sent_anyway_are_dropped(app, client, somchai):  # R: A-F6 (hidden means not applicable)
    draft = create(client, somchai)
    r = put(client, somchai, draft, dict(GOOD, has_kitchen=False, kitchen_size=40, shop_area=80, fire_exits=2))
    assert r.status_code == 200
    assert sorted(r.json()["dropped"]) == ["answers.fire_exits", "answers.kitchen_size"]
    stored = app.state.ctx.store.get_application(draft["id"])["answers"]
    assert "kitchen_size" not in stored and "fire_exits" not in stored
    r = put(client, somchai, r.json(), dict(GOOD, has_kitchen=True, kitchen_size=40))
    assert r.json()["answers"]["kitchen_size"] == 40 and r.json()["dropped"] == []


def test_disguised_and_oversized_files_are_refused(app, client, somchai):  # R: PR-4, A-F6
    draft = create(client, somchai, answers=GOOD)
    error = error_of(upload(client, somchai, draft["id"], "floor_plan", PNG, "plan.pdf"), 415, "extension_mismatch")
    assert paths(error) == {"documents.floor_plan": "extension_mismatch"}
    error = error_of(client.post(f"/api/applications/{draft['id']}/documents/floor_plan",
                                 params={"filename": "plan.pdf"}, content=b"%PDF-1.4 not really",
                                 headers={**somchai, "Content-Type": "application/pdf"}), 422)
    assert "documents.floor_plan" in paths(error)
    big = pdf_bytes() + b"0" * (1024 * 1024 + 1)
    error_of(upload(client, somchai, draft["id"], "floor_plan", big, "big.pdf"), 413)
    assert app.state.ctx.store.get_application(draft["id"])["documents"] == {}
    # a document that the answers make not applicable, and one the service does not have
    error_of(upload(client, somchai, draft["id"], "kitchen_photo", PNG, "k.png", "image/png"), 422, "not_applicable")
    error_of(upload(client, somchai, draft["id"], "passport", PNG, "k.png", "image/png"), 404, "no_document")


def test_raw_body_upload(client, somchai):  # R: PR-4
    draft = create(client, somchai, answers=dict(GOOD, has_kitchen=True))
    r = client.post(f"/api/applications/{draft['id']}/documents/kitchen_photo", params={"filename": "ครัว.png"},
                    content=PNG, headers={**somchai, "Content-Type": "image/png"})
    assert r.status_code == 201, r.text
    assert r.json()["file"]["media_type"] == "image/png"
    docs = {d["id"]: d for d in r.json()["application"]["documents"]}
    assert docs["kitchen_photo"]["files"][0]["sha256"] == hashlib.sha256(PNG).hexdigest()


def test_stale_version_is_409_and_missing_version_428(client, somchai):  # R: A-F9
    draft = create(client, somchai)
    assert put(client, somchai, draft, {"shop_name": "ก"}).status_code == 200
    error = error_of(put(client, somchai, draft, {"shop_name": "ข"}, version=1), 409, "version_conflict")
    assert error["current_version"] == 2 and paths(error) == {"version": "version_conflict"}
    r = client.put(f"/api/applications/{draft['id']}/answers", headers=somchai,
                   json={"answers": {"shop_name": "ข"}, "version": 1})
    error_of(r, 409, "version_conflict")
    error_of(client.put(f"/api/applications/{draft['id']}/answers", headers=somchai,
                        json={"answers": {"shop_name": "ข"}}), 428, "version_required")
    current = client.get(f"/api/applications/{draft['id']}", headers=somchai).json()
    assert current["answers"]["shop_name"] == "ก"
    error_of(client.post(f"/api/applications/{draft['id']}/submit", headers=somchai,
                         json={"declaration": current["declaration"], "intent": True, "version": 1}), 409)


def test_another_users_application_is_not_found(client, somchai, malee):  # R: A-X2
    draft = create(client, somchai, answers=GOOD)
    app_id = draft["id"]
    for response in (
        client.get(f"/api/applications/{app_id}", headers=malee),
        put(client, malee, draft, GOOD),
        upload(client, malee, app_id, "floor_plan", pdf_bytes(), "plan.pdf"),
        client.post(f"/api/applications/{app_id}/submit", headers=malee,
                    json={"declaration": draft["declaration"], "intent": True}),
        client.get("/api/applications", params={"reference": draft["reference"]}, headers=malee),
        client.get("/api/applications/app-0000000000000000", headers=somchai),
    ):
        assert error_of(response, 404, "not_found")["en"] == "application not found"
    assert client.get("/api/applications", headers=malee).json() == {"count": 0, "applications": []}
    assert client.get(f"/api/applications/{app_id}", headers=somchai).status_code == 200


def test_declaration_must_match_and_intent_be_true(app, client, somchai):  # R: A-F8
    draft = create(client, somchai, answers=GOOD)
    upload(client, somchai, draft["id"], "floor_plan", pdf_bytes(), "plan.pdf")
    changed = dict(draft["declaration"], th=draft["declaration"]["th"] + " (แก้ไข)")
    error = error_of(client.post(f"/api/applications/{draft['id']}/submit", headers=somchai,
                                 json={"declaration": changed, "intent": True}), 409, "declaration_changed")
    assert paths(error) == {"declaration": "declaration_changed"}
    error = error_of(client.post(f"/api/applications/{draft['id']}/submit", headers=somchai,
                                 json={"declaration": draft["declaration"], "intent": False}), 422)
    assert paths(error) == {"intent": "intent"}
    error = error_of(client.post(f"/api/applications/{draft['id']}/submit", headers=somchai,
                                 json={"declaration": "I agree", "intent": "yes"}), 422)
    assert paths(error) == {"declaration": "type", "intent": "intent"}
    record = app.state.ctx.store.get_application(draft["id"])
    assert record["state"] == "draft" and "signature" not in record


def test_unknown_routes_and_methods(client, somchai):
    r = client.delete("/api/services", headers=somchai)
    error_of(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "GET, HEAD"
    assert client.get("/api/nothing-here").json()["error"]["status"] == 404


def test_oversized_json_body_is_413(client, somchai):
    huge = {"service": "api-permit", "answers": {"shop_name": "ก" * (3 * 1024 * 1024)}}
    error_of(client.post("/api/applications", json=huge, headers=somchai), 413, "too_large")


# ------------------------------------------------- sent back for changes (actions)
ENGINE_FIXTURES = Path(__file__).parent / "fixtures" / "engine"
STALL = {"stall_name": "แผงป้าแดง", "stall_width": 3, "sells_food": False}
REVIEWER = Actor(user_id="officer-1", grants=(Grant("test-agency", "reviewer"),), name="เจ้าหน้าที่")


@pytest.fixture
def stall_app(app_factory, tmp_path, clock):
    return app_factory(FIXTURES, ENGINE_FIXTURES, data=tmp_path / "stall", clock=clock)


@pytest.fixture
def stall_client(stall_app):
    with TestClient(stall_app) as c:
        yield c


def officer_flow(app) -> Workflow:
    ctx = app.state.ctx
    return Workflow(EngineContext(catalogue=ctx.catalogue, store=ctx.store, files=ctx.files, clock=ctx.clock))


def submitted_stall(client, headers) -> dict:
    r = client.post("/api/applications", json={"service": "market-stall", "answers": STALL}, headers=headers)
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["actions"] == [] and draft["errors"] == []
    r = client.post(f"/api/applications/{draft['id']}/submit", headers=headers,
                    json={"declaration": draft["declaration"], "intent": True, "version": draft["version"]})
    assert r.status_code == 201, r.text
    return r.json()["application"]


def test_applicant_sends_the_changes_asked_for(stall_app, clock, stall_client):  # R: CH-5, A-R3, PR-1, A-F6, A-F8
    client, app = stall_client, stall_app
    register(app, clock, "somchai@example.com")
    register(app, clock, "malee@example.com")
    somchai = {"Authorization": f"Bearer {token_for(client, 'somchai@example.com')}"}
    malee = {"Authorization": f"Bearer {token_for(client, 'malee@example.com')}"}
    sent = submitted_stall(client, somchai)
    app_id, url = sent["id"], f"/api/applications/{sent['id']}"
    assert sent["state"]["id"] == "submitted" and sent["actions"] == []
    assert "answers" not in sent["links"]
    error_of(client.post(f"{url}/actions/send_changes", headers=somchai, json={}), 409, "wrong_state")
    error_of(client.post(f"{url}/actions/approve", headers=somchai, json={}), 403, "forbidden")
    error_of(client.post(f"{url}/actions/no_such_action", headers=somchai, json={}), 404, "no_transition")

    officer_flow(app).take(app_id, "ask_changes", REVIEWER)
    current = client.get(url, headers=somchai).json()
    assert current["state"]["id"] == "needs_changes"
    assert current["actions"] == [{"id": "send_changes",
                                   "title": {"th": "ส่งคำขอที่แก้ไขแล้ว", "en": "Send the changes"},
                                   "inputs": [], "href": current["actions"][0]["href"]}]
    assert current["actions"][0]["href"].endswith(f"{url}/actions/send_changes")
    assert current["links"]["answers"].endswith(f"{url}/answers") and "submit" not in current["links"]

    # a change that blanks a required answer is stored (nothing typed is lost) …
    r = put(client, somchai, current, {**STALL, "stall_name": None, "sells_food": True})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert "stall_name" not in changed["answers"] and changed["state"]["id"] == "needs_changes"
    assert paths({"errors": changed["errors"]}) == {"answers.stall_name": "required",
                                                     "documents.food_permit": "required"}
    assert changed["history"][-1]["type"] == "answers_changed" and changed["history"][-1]["by"] == "applicant"
    assert "ชื่อแผง" in changed["history"][-1]["th"]
    # … but sending it is refused with each problem's path
    error = error_of(client.post(f"{url}/actions/send_changes", headers=somchai,
                                 json={"version": changed["version"]}), 409, "invalid")
    assert paths(error) == {"answers.stall_name": "required", "documents.food_permit": "required"}
    # a stale version, another person's token, inputs the action does not take
    error = error_of(client.post(f"{url}/actions/send_changes", headers=somchai, json={"version": 1}),
                     409, "version_conflict")
    assert error["current_version"] == changed["version"]
    error_of(client.post(f"{url}/actions/send_changes", headers={**somchai, "If-Match": '"1"'}), 409,
             "version_conflict")
    for response in (client.post(f"{url}/actions/send_changes", headers=malee, json={}),
                     client.get(url, headers=malee),
                     put(client, malee, changed, STALL)):
        error_of(response, 404, "not_found")
    error = error_of(client.post(f"{url}/actions/send_changes", headers=somchai,
                                 json={"inputs": {"note": "x"}}), 422, "unknown_input")
    assert paths(error) == {"inputs.note": "unknown_field"}
    assert app.state.ctx.store.get_application(app_id)["state"] == "needs_changes"

    r = put(client, somchai, changed, {**STALL, "sells_food": True})
    assert r.status_code == 200, r.text
    r = upload(client, somchai, app_id, "food_permit", pdf_bytes(), "สุขาภิบาล.pdf")
    assert r.status_code == 201, r.text
    fixed = r.json()["application"]
    assert fixed["errors"] == [] and fixed["history"][-1]["type"] == "document_added"
    signed_before = app.state.ctx.store.get_application(app_id)["signature"]["content_sha256"]

    r = client.post(f"{url}/actions/send_changes", headers={**somchai, "If-Match": f'"{fixed["version"]}"'})
    assert r.status_code == 200, r.text
    back = r.json()
    assert back["state"]["id"] == "submitted" and back["actions"] == [] and back["errors"] == []
    assert r.headers["etag"] == f'"{back["version"]}"'
    assert back["history"][-1]["type"] == "transition" and back["history"][-1]["by"] == "applicant"
    record = app.state.ctx.store.get_application(app_id)
    assert record["state"] == "submitted" and record["answers"]["sells_food"] is True
    assert record["signature"]["content_sha256"] != signed_before  # re-signed what was sent (A-F8)
    assert record["events"][-1]["data"]["content_sha256"] == record["signature"]["content_sha256"]

    error_of(put(client, somchai, back, STALL), 409, "not_editable")
    error_of(client.post(f"{url}/actions/send_changes", headers=somchai, json={}), 409, "wrong_state")
    document = client.get("/openapi.json").json()
    assert _conforms(document, "Application", back) == []
    assert _conforms(document, "Application", current) == []
    assert _conforms(document, "Error", {"error": error}) == []


def test_an_officers_own_application_is_handled_as_the_applicants(stall_app, clock, stall_client):  # R: A-X2
    client, app = stall_client, stall_app
    user = register(app, clock, "officer@example.com")
    Accounts(app.state.ctx.store, clock).grant_role(user["id"], "test-agency", "reviewer")
    headers = {"Authorization": f"Bearer {token_for(client, 'officer@example.com')}"}
    sent = submitted_stall(client, headers)
    assert sent["actions"] == []  # not the reviewer's ask_changes on their own application
    error_of(client.post(f"/api/applications/{sent['id']}/actions/ask_changes", headers=headers, json={}),
             403, "forbidden")


def test_action_body_must_be_well_formed(stall_app, clock, stall_client):
    client, app = stall_client, stall_app
    register(app, clock, "somchai@example.com")
    somchai = {"Authorization": f"Bearer {token_for(client, 'somchai@example.com')}"}
    sent = submitted_stall(client, somchai)
    url = f"/api/applications/{sent['id']}/actions/send_changes"
    error = error_of(client.post(url, headers=somchai, json={"inputs": [], "extra": 1}), 422, "invalid_body")
    assert paths(error) == {"inputs": "type", "extra": "unknown_field"}
    error_of(client.post(url, headers=somchai, json={"version": "2"}), 422, "invalid_body")
    error_of(client.post(url, json={}), 401)
    error_of(client.get(url, headers=somchai), 405, "method_not_allowed")


# --------------------------------------------------------------------------- OpenAPI
def test_openapi_document_is_valid_and_describes_the_api(client):  # R: CH-5
    from openapi_spec_validator import validate

    r = client.get("/openapi.json")
    assert r.status_code == 200
    document = r.json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) >= {
        "/api/tokens", "/api/tokens/current", "/api/services", "/api/services/{service_id}",
        "/api/services/{service_id}/schema", "/api/applications", "/api/applications/{app_id}",
        "/api/applications/{app_id}/answers", "/api/applications/{app_id}/documents/{document_id}",
        "/api/applications/{app_id}/submit", "/api/applications/{app_id}/actions/{transition_id}"}
    assert document["components"]["securitySchemes"]["bearerToken"] == {
        "type": "http", "scheme": "bearer", "description": "a personal access token from POST /api/tokens"}
    assert document["paths"]["/api/applications"]["post"]["security"] == [{"bearerToken": []}]
    assert document["paths"]["/api/services"]["get"]["security"] == []
    assert "Answers.api-permit" in document["components"]["schemas"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text and "<script" not in docs.text


def _conforms(document: dict, name: str, instance) -> list:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "components": document["components"], "$ref": f"#/components/schemas/{name}"}
    return [e.message for e in Draft202012Validator(schema).iter_errors(instance)]


def test_responses_match_the_openapi_schemas(client, somchai):  # R: CH-5
    document = client.get("/openapi.json").json()
    assert _conforms(document, "ServiceList", client.get("/api/services").json()) == []
    assert _conforms(document, "ServiceDetail", client.get("/api/services/api-permit").json()) == []
    draft = create(client, somchai, answers=GOOD)
    assert _conforms(document, "Application", draft) == []
    up = upload(client, somchai, draft["id"], "floor_plan", pdf_bytes(), "plan.pdf").json()
    assert _conforms(document, "UploadResult", up) == []
    done = client.post(f"/api/applications/{draft['id']}/submit", headers=somchai,
                       json={"declaration": draft["declaration"], "intent": True}).json()
    assert _conforms(document, "SubmitResult", done) == []
    assert _conforms(document, "ApplicationList", client.get("/api/applications", headers=somchai).json()) == []
    bad = client.put(f"/api/applications/{draft['id']}/answers", headers=somchai, json={"answers": {}})
    assert _conforms(document, "Error", bad.json()) == []
    # and a broken instance does not conform (the check can fail)
    assert _conforms(document, "Application", {"id": 1}) != []
