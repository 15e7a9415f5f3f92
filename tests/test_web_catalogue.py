"""The public catalogue and the web shell (issue #2, issue #3 item 1).

Runs the real app (``create_app``) with starlette's TestClient over a temporary
data folder and definitions written here (so the tests do not depend on the
example services): two agencies, a service with an expression fee, one with a
fixed fee, documents and a sample file, and a free service.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

import pytest
import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from eservice.web.app import collect_routes, create_app
from eservice.web.context import Settings, StartupError
from eservice.web.security import CSRF_FIELD, csrf_token

FIXTURES = Path(__file__).parent / "fixtures" / "defs"
SAMPLE_BYTES = b"%PDF-1.4\n% sample floor plan\n%%EOF\n"


# --------------------------------------------------------------------------- fixtures
def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def make_definitions(root: Path) -> Path:
    """The fixture definitions plus a food-shop service and a second agency."""
    defs = root / "defs"
    shutil.copytree(FIXTURES, defs)
    base = yaml.safe_load((FIXTURES / "test-agency" / "minimal.yaml").read_text(encoding="utf-8"))

    food = dict(base)
    food.update({
        "id": "food-shop-permit",
        "category": {"th": "สาธารณสุข", "en": "Public health"},
        "title": {"th": "ใบอนุญาตจัดตั้งสถานที่จำหน่ายอาหาร", "en": "Food shop permit"},
        "summary": {"th": "ขออนุญาตเปิดร้านอาหารหรือแผงลอยจำหน่ายอาหาร",
                    "en": "Permission to open a restaurant or food stall"},
        "who_can_apply": {"th": "ผู้ประกอบการร้านอาหารในเขตเทศบาล", "en": "Food businesses in the municipality"},
        "steps": [{"th": "กรอกคำขอ", "en": "Fill in the form"}, {"th": "รอตรวจสถานที่", "en": "Wait for the inspection"}],
        "keywords": ["ร้านอาหาร", "restaurant"],
        "contact": {"phone": "02-589-0500 ต่อ 123", "email": "food@example.go.th",
                    "office": {"th": "กองสาธารณสุข ชั้น 2", "en": "Public Health Division, 2nd floor"}},
        "documents": [
            {"id": "floor_plan", "title": {"th": "แผนผังร้าน", "en": "Floor plan"},
             "description": {"th": "แสดงตำแหน่งครัวและทางหนีไฟ", "en": "Showing the kitchen and fire exits"},
             "formats": ["pdf"], "max_size_mb": 5, "sample": "samples/floor_plan.pdf",
             "sample_explanation": {"th": "วาดด้วยมือได้ ไม่ต้องใช้สถาปนิก", "en": "A hand drawing is fine"}},
            {"id": "owner_id", "title": {"th": "สำเนาบัตรประชาชน", "en": "Copy of the ID card"},
             "formats": ["pdf", "jpeg"], "required": False},
        ],
        "fees": [{"id": "licence_fee", "title": {"th": "ค่าธรรมเนียมใบอนุญาต", "en": "Licence fee"},
                  "amount": "500", "methods": ["promptpay", "counter"]}],
        "sla": {"working_days": 15},
    })
    _write(defs / "test-agency" / "food.yaml", food)
    samples = defs / "test-agency" / "samples"
    samples.mkdir()
    (samples / "floor_plan.pdf").write_bytes(SAMPLE_BYTES)

    _write(defs / "agencies" / "other.yaml", {
        "schema_version": 1, "kind": "agency", "code": "other-district",
        "name": {"th": "สำนักงานเขตทดสอบ", "en": "Test District Office"},
        "phone": "02-999-9999", "email": "district@example.go.th",
        "office_hours": {"days": ["mon", "tue", "wed", "thu", "fri", "sat"], "start": "08:00", "end": "16:00"},
    })
    free = dict(base)
    # The free service's sample points outside the definitions folder: never served.
    (root / "outside.pdf").write_bytes(b"%PDF secret outside\n")
    free.update({
        "id": "residence-certificate", "agency": "other-district",
        "category": {"th": "ทะเบียน", "en": "Registration"},
        "title": {"th": "หนังสือรับรองถิ่นที่อยู่", "en": "Certificate of residence"},
        "summary": {"th": "รับรองว่าท่านมีภูมิลำเนาในเขต", "en": "Certifies where you live"},
        "documents": [{"id": "escape", "title": {"th": "เอกสาร", "en": "Document"}, "sample": "../../outside.pdf"}],
        "fees": [], "outputs": {},
        "sla": {"working_days": 3},
    })
    wf = free["workflow"] = dict(base["workflow"])
    wf["transitions"] = [dict(t) for t in base["workflow"]["transitions"]]
    for t in wf["transitions"]:
        t["effects"] = [e for e in t.get("effects", []) if "issue_fee" not in e and "draft_licence" not in e]
    _write(defs / "other-district" / "residence.yaml", free)
    return defs


def _csrf_probe(request: Request):
    return PlainTextResponse(csrf_token(request))


async def _csrf_target(request: Request):
    form = await request.form()
    upload = form.get("file")
    size = len(await upload.read()) if upload is not None and hasattr(upload, "read") else 0
    return PlainTextResponse(f"ok {form.get('name', '')} {size}")


async def _api_target(request: Request):
    return JSONResponse({"ok": True})


async def _boom(request: Request):
    raise RuntimeError("kaboom")


TEST_ROUTES = [
    Route("/_test/form", _csrf_probe, methods=["GET"]),
    Route("/_test/form", _csrf_target, methods=["POST"]),
    Route("/api/_test/echo", _api_target, methods=["POST"]),
    Route("/_test/boom", _boom),
]


@pytest.fixture(scope="module")
def defs(tmp_path_factory) -> Path:
    return make_definitions(tmp_path_factory.mktemp("catalogue"))


@pytest.fixture
def settings(tmp_path, defs) -> Settings:
    return Settings(data=tmp_path / "data", definitions=(defs,))


@pytest.fixture
def client(app_factory, settings) -> TestClient:
    app = app_factory(settings=settings, extra_routes=TEST_ROUTES)
    with TestClient(app) as c:
        yield c


def text_of(html: str) -> str:
    """The visible text, whitespace collapsed (for assertions on sentences)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --------------------------------------------------------------------------- landing page
def test_landing_page_lists_every_service_in_thai(client):
    # R: A-S1 — a landing page with each service, a short description and a link.
    r = client.get("/")
    assert r.status_code == 200
    assert '<html lang="th">' in r.text
    page = text_of(r.text)
    for title in ("ใบอนุญาตทดสอบ", "ใบอนุญาตจัดตั้งสถานที่จำหน่ายอาหาร", "หนังสือรับรองถิ่นที่อยู่"):
        assert title in page
    assert "ขออนุญาตเปิดร้านอาหารหรือแผงลอยจำหน่ายอาหาร" in page  # the summary
    assert 'href="/services/food-shop-permit"' in r.text
    # agencies head their groups (CH-4)
    assert "หน่วยงานทดสอบ" in page and "สำนักงานเขตทดสอบ" in page
    # fee summaries: free, fixed amount, depends on answers; and the time
    assert "ไม่มีค่าธรรมเนียม" in page
    assert "500.00 บาท" in page
    assert "ตามข้อมูลในคำขอ" in page
    assert "15 วันทำการ" in page and "3 วันทำการ" in page
    assert "Food shop permit" not in page


def test_landing_page_in_english_and_the_choice_is_remembered(client):
    r = client.get("/?lang=en")
    assert '<html lang="en">' in r.text
    page = text_of(r.text)
    assert "Food shop permit" in page and "Certificate of residence" in page
    assert "No fee" in page and "THB 500.00" in page and "Depends on your answers" in page
    assert "15 working days" in page
    assert "ใบอนุญาตจัดตั้งสถานที่จำหน่ายอาหาร" not in page
    assert "lang=en" in r.headers["set-cookie"]
    # the cookie keeps English on the next page, without ?lang
    again = client.get("/services/food-shop-permit")
    assert '<html lang="en">' in again.text
    # and ?lang=th switches back
    assert '<html lang="th">' in client.get("/?lang=th").text
    assert '<html lang="th">' in client.get("/").text


def test_default_language_is_thai_and_bad_lang_is_ignored(client):
    r = client.get("/?lang=fr")
    assert '<html lang="th">' in r.text
    assert "set-cookie" not in r.headers or "lang=" not in r.headers["set-cookie"]


def test_landing_page_filters_by_agency_and_category(client):
    by_agency = text_of(client.get("/?agency=other-district").text)
    assert "หนังสือรับรองถิ่นที่อยู่" in by_agency
    assert "ใบอนุญาตจัดตั้งสถานที่จำหน่ายอาหาร" not in by_agency
    assert "แสดง 1 จาก 3 บริการ" in by_agency
    by_category = text_of(client.get("/", params={"category": "สาธารณสุข"}).text)
    assert "ใบอนุญาตจัดตั้งสถานที่จำหน่ายอาหาร" in by_category
    assert "ใบอนุญาตทดสอบ" not in by_category


def test_page_layout_is_accessible(client):
    html = client.get("/").text
    assert 'class="skip-link" href="#main"' in html
    assert '<main id="main"' in html
    for landmark in ("<header", "<nav", "<footer"):
        assert landmark in html
    assert 'hreflang="en"' in html  # the language switch
    # no inline scripts or styles (the CSP forbids them)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html and "<style" not in html


def test_stylesheet_uses_the_thai_font_stack(client):
    css = client.get("/static/site.css")
    assert css.status_code == 200
    assert '"Sarabun", "Noto Sans Thai", "Loma"' in css.text
    assert client.get("/static/site.js").status_code == 200


# --------------------------------------------------------------------------- search
def _result_links(html: str) -> set[str]:
    return set(re.findall(r'class="service-card__title">\s*<a href="/services/([a-z0-9-]+)"', html))


def test_search_finds_a_partial_thai_word(client):
    # R: A-S2
    r = client.get("/search", params={"q": "จำหน่าย"})
    assert r.status_code == 200
    assert _result_links(r.text) == {"food-shop-permit"}
    assert "พบ 1 บริการ" in text_of(r.text)


def test_search_tolerates_spaces_in_thai(client):
    assert _result_links(client.get("/search", params={"q": "ร้าน อาหาร"}).text) == {"food-shop-permit"}
    assert _result_links(client.get("/search", params={"q": "ถิ่น ที่อยู่"}).text) == {"residence-certificate"}


def test_search_finds_english_words_and_agency_names(client):
    assert _result_links(client.get("/search", params={"q": "Restaurant"}).text) == {"food-shop-permit"}
    assert _result_links(client.get("/search", params={"q": "perm"}).text) == {"food-shop-permit",
                                                                              "minimal-permit"}
    assert _result_links(client.get("/search", params={"q": "District Office"}).text) == {"residence-certificate"}


def test_search_ranks_title_matches_first(client):
    # "อาหาร" is in the food-shop title; no other service mentions it.
    # "อนุญาต" is in two titles and in the food-shop summary ("ขออนุญาต").
    html = client.get("/search", params={"q": "อนุญาต"}).text
    order = re.findall(r'class="service-card__title">\s*<a href="/services/([a-z0-9-]+)"', html)
    assert set(order) == {"food-shop-permit", "minimal-permit"}
    assert order[0] == "food-shop-permit"  # title and summary beat title alone


def test_search_with_nonsense_says_no_results(client):
    r = client.get("/search", params={"q": "xyzzyqq"})
    assert r.status_code == 200
    assert _result_links(r.text) == set()
    assert "ไม่พบบริการที่ตรงกับ “xyzzyqq”" in text_of(r.text)
    en = client.get("/search", params={"q": "xyzzyqq", "lang": "en"})
    assert "No services found for “xyzzyqq”" in text_of(en.text)


def test_search_escapes_the_query(client):
    r = client.get("/search", params={"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;" in r.text


# --------------------------------------------------------------------------- service page
def test_service_page_shows_what_an_applicant_needs(client):
    # R: A-S1 (description, start link), A-S3 (contact details)
    r = client.get("/services/food-shop-permit")
    assert r.status_code == 200
    page = text_of(r.text)
    assert "ผู้ประกอบการร้านอาหารในเขตเทศบาล" in page  # who can apply
    assert "รอตรวจสถานที่" in page  # steps
    # documents: title, description, format, size, sample and its explanation
    assert "แผนผังร้าน" in page and "แสดงตำแหน่งครัวและทางหนีไฟ" in page
    assert "PDF" in page and "ขนาดไม่เกิน 5 MB" in page
    assert 'href="/services/food-shop-permit/samples/floor_plan"' in r.text
    assert "วาดด้วยมือได้ ไม่ต้องใช้สถาปนิก" in page
    assert "ไม่บังคับ" in page  # the optional ID-card copy
    # fee and how to pay
    assert "ค่าธรรมเนียมใบอนุญาต" in page and "500.00 บาท" in page
    assert "พร้อมเพย์" in page and "ชำระที่เคาน์เตอร์" in page
    # time and legal basis
    assert "15 วันทำการ" in page
    assert "ระเบียบทดสอบ พ.ศ. 2567" in page
    # contacts: the service's and the agency's
    assert "02-589-0500 ต่อ 123" in page and "mailto:food@example.go.th" in r.text
    assert "กองสาธารณสุข ชั้น 2" in page
    assert "02-123-4567" in page
    assert "จันทร์–ศุกร์ 08:30–16:30 น." in page
    # start now
    assert 'href="/apply/food-shop-permit"' in r.text and "เริ่มยื่นคำขอ" in page


def test_service_page_in_english(client):
    page = text_of(client.get("/services/food-shop-permit?lang=en").text)
    assert "Floor plan" in page and "up to 5 MB" in page
    assert "THB 500.00" in page and "PromptPay (QR)" in page
    assert "15 working days" in page and "Start now" in page
    assert "Monday–Friday 08:30–16:30" in page


def test_agency_page_lists_contacts_and_services(client):
    r = client.get("/agencies/other-district")
    page = text_of(r.text)
    assert r.status_code == 200
    assert "02-999-9999" in page and "district@example.go.th" in page
    assert "จันทร์–เสาร์ 08:00–16:00 น." in page
    assert "หนังสือรับรองถิ่นที่อยู่" in page and "ใบอนุญาตทดสอบ" not in page
    assert client.get("/agencies/nobody").status_code == 404


def test_unknown_service_gives_a_404_page_in_thai_and_english(client):
    r = client.get("/services/no-such-service")
    assert r.status_code == 404
    page = text_of(r.text)
    assert "ไม่พบหน้าที่ต้องการ" in page and "Page not found" in page
    assert "text/html" in r.headers["content-type"]
    assert client.get("/services/Bad_ID!").status_code == 404


def test_unknown_api_path_gives_json_errors(client):
    r = client.get("/api/_test/does-not-exist")
    assert r.status_code == 404
    body = r.json()["error"]
    assert body["status"] == 404 and body["th"] and body["en"] == "Page not found"


# --------------------------------------------------------------------------- samples
def test_sample_file_is_served(client):
    r = client.get("/services/food-shop-permit/samples/floor_plan")
    assert r.status_code == 200
    assert r.content == SAMPLE_BYTES
    assert r.headers["content-type"] == "application/pdf"
    assert "inline" in r.headers["content-disposition"]


@pytest.mark.parametrize("path", [
    "/services/food-shop-permit/samples/..%2F..%2Fagencies%2Ftest-agency.yaml",
    "/services/food-shop-permit/samples/..%2Fsamples%2Ffloor_plan.pdf",
    "/services/food-shop-permit/samples/%2E%2E",
    "/services/food-shop-permit/samples/owner_id",  # declared, but has no sample
    "/services/food-shop-permit/samples/nothing",
    "/services/residence-certificate/samples/escape",  # the sample lies outside the definitions
])
def test_sample_download_refuses_anything_not_declared(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert b"%PDF" not in r.content and b"agency" not in r.content[:20]


def test_sample_outside_the_definitions_is_not_offered(client):
    html = client.get("/services/residence-certificate").text
    assert "/samples/escape" not in html


# --------------------------------------------------------------------------- security (A-X2)
def test_security_headers_on_pages_and_errors(client):
    for path in ("/", "/services/no-such-service", "/static/site.css"):
        h = client.get(path).headers
        csp = h["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert h["x-content-type-options"] == "nosniff"
        assert h["x-frame-options"] == "DENY"
        assert h["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in h  # plain http here


def test_https_base_url_makes_cookies_secure_and_sends_hsts(app_factory, tmp_path, defs):
    app = app_factory(defs, data=tmp_path, base_url="https://eservice.example.go.th/", extra_routes=TEST_ROUTES)
    with TestClient(app, base_url="https://eservice.example.go.th") as c:
        r = c.get("/_test/form")
        assert "max-age=" in r.headers["strict-transport-security"]
        cookie = r.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_session_cookie_is_httponly_and_samesite(client):
    cookie = client.get("/_test/form").headers["set-cookie"].lower()
    assert cookie.startswith("eservice_session=")
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie


def test_post_without_csrf_token_is_refused(client):
    client.get("/_test/form")  # a session exists, but the form carries no token
    r = client.post("/_test/form", data={"name": "x"})
    assert r.status_code == 403
    page = text_of(r.text)
    assert "ไม่ผ่านการตรวจสอบความปลอดภัย" in page and "security check" in page


def test_post_with_a_wrong_token_or_no_session_is_refused(client):
    assert client.post("/_test/form", data={CSRF_FIELD: "forged", "name": "x"}).status_code == 403
    client.get("/_test/form")
    assert client.post("/_test/form", data={CSRF_FIELD: "forged", "name": "x"}).status_code == 403
    assert client.post("/_test/form", headers={"X-CSRF-Token": "forged"}).status_code == 403


def test_post_with_the_session_token_passes(client):
    token = client.get("/_test/form").text
    r = client.post("/_test/form", data={CSRF_FIELD: token, "name": "ร้านป้าแดง"})
    assert r.status_code == 200 and r.text == "ok ร้านป้าแดง 0"
    r = client.post("/_test/form", data={"name": "y"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.text == "ok y 0"


def test_multipart_post_needs_the_token_as_first_field(client):
    token = client.get("/_test/form").text
    upload = b"x" * 200_000
    boundary = "----eserviceboundary"

    def body(*parts: tuple[str, bytes, str | None]) -> bytes:
        out = b""
        for name, value, filename in parts:
            disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
            out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
            if filename:
                out += b"Content-Type: application/pdf\r\n"
            out += b"\r\n" + value + b"\r\n"
        return out + f"--{boundary}--\r\n".encode()

    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    good = body((CSRF_FIELD, token.encode(), None), ("name", "แผน".encode(), None), ("file", upload, "a.pdf"))
    r = client.post("/_test/form", content=good, headers=headers)
    assert r.status_code == 200 and r.text == f"ok แผน {len(upload)}"  # the body reached the handler whole
    late = body(("file", upload, "a.pdf"), (CSRF_FIELD, token.encode(), None))
    assert client.post("/_test/form", content=late, headers=headers).status_code == 403
    forged = body((CSRF_FIELD, b"forged", None), ("file", upload, "a.pdf"))
    assert client.post("/_test/form", content=forged, headers=headers).status_code == 403


def test_cross_site_form_posts_are_refused_even_with_a_token(client):
    token = client.get("/_test/form").text
    r = client.post("/_test/form", data={CSRF_FIELD: token}, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403


def test_json_api_is_exempt_from_csrf(client):
    r = client.post("/api/_test/echo", json={"x": 1})
    assert r.status_code == 200 and r.json() == {"ok": True}


def test_server_errors_show_a_bilingual_page_with_security_headers(app_factory, settings):
    app = app_factory(settings=settings, extra_routes=TEST_ROUTES)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/_test/boom")
    assert r.status_code == 500
    page = text_of(r.text)
    assert "ระบบขัดข้อง" in page and "Something went wrong" in page
    assert "kaboom" not in r.text and "Traceback" not in r.text
    assert r.headers["x-frame-options"] == "DENY"


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"ok": True}


# --------------------------------------------------------------------------- start-up
def test_broken_definitions_stop_the_start_with_clear_problems(tmp_path, capsys):
    defs = tmp_path / "defs"
    shutil.copytree(FIXTURES, defs)
    broken = (defs / "test-agency" / "minimal.yaml").read_text(encoding="utf-8")
    (defs / "test-agency" / "minimal.yaml").write_text(
        broken.replace("working_days: 15", "working_dayz: 15"), encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        create_app(Settings(data=tmp_path / "data", definitions=(defs,)))
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "minimal.yaml:" in err and "working_dayz" in err
    assert "นิยามบริการมีปัญหา" in err and "problem(s)" in err
    assert "Traceback" not in err


def test_missing_definitions_folder_stops_the_start(tmp_path, capsys):
    with pytest.raises(SystemExit):
        create_app(Settings(data=tmp_path, definitions=(tmp_path / "nowhere",)))
    assert "nowhere" in capsys.readouterr().err


def test_secret_is_generated_once_and_kept_private(tmp_path, defs):
    settings = Settings(data=tmp_path / "data", definitions=(defs,))
    first = create_app(settings).state.ctx.secret
    key = settings.secret_file
    assert key.exists() and len(first) >= 40
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert create_app(settings).state.ctx.secret == first
    assert create_app(settings.with_(secret="given")).state.ctx.secret == "given"


def test_a_session_signed_with_another_secret_is_ignored(tmp_path, defs):
    a = TestClient(create_app(Settings(data=tmp_path / "a", definitions=(defs,)), extra_routes=TEST_ROUTES))
    b = TestClient(create_app(Settings(data=tmp_path / "b", definitions=(defs,)), extra_routes=TEST_ROUTES))
    token = a.get("/_test/form").text
    b.cookies = a.cookies  # a session cookie from another installation
    assert b.post("/_test/form", data={CSRF_FIELD: token}).status_code == 403


def test_context_holds_catalogue_store_files_and_clock(client):
    ctx = client.app.state.ctx
    assert ctx.service("food-shop-permit").definition.sla.working_days == 15
    assert ctx.store is not None and ctx.files is not None and ctx.clock is not None
    assert ctx.now().tzinfo is not None


def test_settings_from_environment():
    s = Settings.from_env({
        "ESERVICE_DATA": "/srv/data",
        "ESERVICE_DEFINITIONS": os.pathsep.join(["/a", "/b"]),
        "ESERVICE_BASE_URL": "https://x.go.th/",
        "ESERVICE_SMTP_HOST": "mail.x.go.th", "ESERVICE_SMTP_TLS": "ssl",
        "ESERVICE_DEMO": "1",
    })
    assert s.data == Path("/srv/data") and s.definitions == (Path("/a"), Path("/b"))
    assert s.https and s.base_url == "https://x.go.th"
    assert s.smtp.host == "mail.x.go.th" and s.smtp.port == 465 and s.smtp.security == "ssl"
    assert s.demo is True
    assert Settings.from_env({}).definitions == (Path("service_definitions"),)
    assert Settings.from_env({}).smtp is None  # no ESERVICE_SMTP_HOST: mail is off
    with pytest.raises(StartupError):
        Settings.from_env({"ESERVICE_SMTP_HOST": "mail.x.go.th", "ESERVICE_SMTP_TLS": "maybe"})
    with pytest.raises(StartupError):
        Settings.from_env({"ESERVICE_SMTP_HOST": "mail.x.go.th", "ESERVICE_SMTP_PORT": "twenty-five"})
    secret = Settings.from_env({"ESERVICE_SMTP_HOST": "mail.x.go.th", "ESERVICE_SMTP_PASSWORD": "password"})
    assert secret.smtp.password == "password" and "password" not in repr(secret.smtp)


@pytest.mark.parametrize("env", [
    {"ESERVICE_SMTP_HOST": "mail.x.go.th"},
    {"ESERVICE_SMTP_HOST": "mail.x.go.th", "ESERVICE_SMTP_TLS": "tls"},
    {"ESERVICE_SMTP_HOST": "mail.x.go.th", "ESERVICE_SMTP_TLS": "starttls", "ESERVICE_SMTP_USER": "u",
     "ESERVICE_SMTP_PASSWORD": "p", "ESERVICE_SMTP_FROM": "noreply@x.go.th", "ESERVICE_SMTP_TIMEOUT": "7"},
    {"ESERVICE_SMTP_HOST": "mail.x.go.th", "ESERVICE_SMTP_TLS": "ssl", "ESERVICE_SMTP_PORT": "2465"},
])
def test_the_web_settings_read_mail_settings_as_the_mail_layer_does(env):  # review M2: one reading
    from eservice.mail import SmtpSettings

    assert Settings.from_env(env).smtp == SmtpSettings.from_env(env)


def test_public_url_has_one_rule(tmp_path):  # review M3
    from starlette.requests import Request

    from eservice.notifications import DEFAULT_BASE_URL
    from eservice.web.context import public_url

    def request(host: str) -> Request:
        return Request({"type": "http", "method": "GET", "path": "/x", "root_path": "", "query_string": b"",
                        "scheme": "http", "server": (host, 80), "headers": [(b"host", host.encode())]})

    configured = Settings(data=tmp_path, base_url="https://eservice.go.th/nbr/")
    bare = Settings(data=tmp_path)
    assert public_url(configured, request("other.example"), "/login") == "https://eservice.go.th/nbr/login"
    assert public_url(configured) == "https://eservice.go.th/nbr"
    # never the request's Host header (issue #17: a forged Host must not reach a reset mail)
    assert public_url(bare, request("office.local"), "verify") == DEFAULT_BASE_URL + "/verify"
    assert public_url(bare, request("office.local")) == DEFAULT_BASE_URL
    hosts = Settings(data=tmp_path, allowed_hosts="eservice.office.local, other.local")
    assert public_url(hosts, request("other.local"), "/login") == "http://eservice.office.local/login"
    assert public_url(bare, path="/officer") == DEFAULT_BASE_URL + "/officer" == "http://localhost:8000/officer"
    assert public_url(None) == DEFAULT_BASE_URL


def test_demo_banner(tmp_path, defs):
    with TestClient(create_app(Settings(data=tmp_path, definitions=(defs,), demo=True))) as c:
        assert "ระบบสาธิต" in c.get("/").text


def test_a_missing_route_module_stops_the_start():  # R: issue #20 item 4
    # The parts of the web layer are imported by name (see eservice.web.app): a typo
    # or a missing module fails at start-up instead of leaving its pages out.
    routes = collect_routes(("catalogue",), plugins=False)
    paths = {getattr(r, "path", None) for r in routes}
    assert "/" in paths and "/static" in paths
    with pytest.raises(ModuleNotFoundError):
        collect_routes(("catalogue", "no_such_module_here"), plugins=False)


def test_forged_host_header_is_refused_when_the_base_url_is_set(tmp_path):  # R: A-X2
    from eservice.web.app import create_app
    from eservice.web.context import Settings

    app = create_app(Settings(data=tmp_path, definitions=(FIXTURES,), base_url="https://eservice.example.go.th"))
    client = TestClient(app, base_url="https://eservice.example.go.th")
    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz", headers={"host": "evil.example"}).status_code == 400
