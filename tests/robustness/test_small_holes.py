"""The smaller holes of issue #17 item 8 (A-X2, A-F6, PR-1, CH-5).

Each test sends what the outside attack test sent and checks the refusal:
officers' text without a length limit, control characters in answers, forms
that are not UTF-8, Buddhist-Era years read as Gregorian, an oversize form
answered 403, malformed multipart answered 403/404, pages with personal data
that browsers and proxies could keep, and errors the OpenAPI document did not
describe.
"""
from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from eservice.forms import MAX_INPUT_TEXT
from eservice.web.security import FORM_LIMIT
from robustness_apps import api_app, bearer, csrf_of, signed_in, web_draft
from test_api import THAI, error_of, paths
from test_web_officer import MONDAY_MORNING, World, post, token_of

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


# --------------------------------------------------------------------------- set-ups
@pytest.fixture
def officers(tmp_path) -> World:
    world = World(tmp_path)
    world.officer("reviewer", ("test-agency", "reviewer"))
    return world


@pytest.fixture
def api(tmp_path):
    """(app, client, auth headers, a draft of api-permit as the API shows it)."""
    app, clock = api_app(tmp_path)
    _user, auth = bearer(app, clock)
    with TestClient(app) as client:
        draft = client.post("/api/applications", json={"service": "api-permit"}, headers=auth).json()
        yield app, client, auth, draft


@pytest.fixture
def web(tmp_path):
    """(app, a signed-in browser, the id of its draft, the URL of the draft's first page)."""
    app, clock = api_app(tmp_path)
    bearer(app, clock)  # the account
    with signed_in(app, "somchai@example.com") as client:
        app_id = web_draft(client)
        yield app, client, app_id, f"/applications/{app_id}/pages/shop"


def _put(client, auth, draft, answers: dict):
    return client.put(f"/api/applications/{draft['id']}/answers", json={"answers": answers},
                      headers={**auth, "If-Match": f'"{draft["version"]}"'})


# --------------------------------------------------------------------------- officers' text
def test_officer_text_over_the_limit_is_refused_and_kept(officers):  # R: PR-1, A-X2
    record = officers.submit()
    officers.at(MONDAY_MORNING)
    reviewer = officers.client("reviewer")
    url = f"/officer/applications/{record['id']}/transitions/request_documents"
    typed = "ขาดสำเนาทะเบียนบ้าน " * (MAX_INPUT_TEXT // 10)  # about 10,000 characters
    response = post(reviewer, url, {"expected_version": record["version"], "missing": typed,
                                    "deadline": "2023-02-10"}, page=f"/officer/applications/{record['id']}")
    assert response.status_code == 400
    assert f"ยาวเกิน {MAX_INPUT_TEXT:,} ตัวอักษร" in response.text
    assert typed.strip() in response.text  # what the officer typed is still in the form
    after = officers.get(record["id"])
    assert after["state"] == "submitted" and after["version"] == record["version"]
    english = reviewer.post(url + "?lang=en", data={"csrf_token": token_of(reviewer.get("/officer").text),
                                                    "expected_version": record["version"], "missing": typed})
    assert english.status_code == 400 and f"must be {MAX_INPUT_TEXT:,} characters or fewer" in english.text
    # at the limit it is taken
    exact = post(reviewer, url, {"expected_version": record["version"], "missing": "ก" * MAX_INPUT_TEXT,
                                 "deadline": "2023-02-10"})
    assert exact.status_code == 303 and officers.get(record["id"])["state"] == "awaiting_documents"


def test_officer_text_with_control_characters_is_refused(officers):  # R: PR-1, A-X2
    record = officers.submit()
    officers.at(MONDAY_MORNING)
    reviewer = officers.client("reviewer")
    response = post(reviewer, f"/officer/applications/{record['id']}/transitions/request_documents",
                    {"expected_version": record["version"], "missing": "สำเนา\x00ทะเบียน\x1b[31m",
                     "deadline": "2023-02-10"})
    assert response.status_code == 400 and "อักขระควบคุม" in response.text
    assert officers.get(record["id"])["state"] == "submitted"
    lines = post(reviewer, f"/officer/applications/{record['id']}/transitions/request_documents",
                 {"expected_version": record["version"], "missing": "สำเนาบัตร\r\nสำเนาทะเบียนบ้าน",
                  "deadline": "2023-02-10"})
    assert lines.status_code == 303
    inputs = officers.get(record["id"])["events"][-1]["data"]["inputs"]
    assert inputs["missing"] == "สำเนาบัตร\nสำเนาทะเบียนบ้าน"  # CRLF read as LF, lines kept


# --------------------------------------------------------------------------- control characters
@pytest.mark.parametrize("field, value", [
    ("shop_name", "ร้าน\x00ป้าแดง"),  # NUL
    ("shop_name", "ร้าน\x1b[2Jป้าแดง"),  # ESC
    ("shop_name", "ร้าน\nป้าแดง"),  # a line break in single-line text
    ("directions", "ซอย 5\rเลี้ยวซ้าย"),  # a bare CR
    ("directions", "ซอย 5\x07"),  # BEL
])
def test_api_refuses_control_characters_in_answers(api, field, value):  # R: A-F6, A-X2
    app, client, auth, draft = api
    error = error_of(_put(client, auth, draft, {field: value}), 422, "invalid_answers")
    assert paths(error) == {f"answers.{field}": "control_characters"}
    problem = error["errors"][0]
    assert "อักขระควบคุม" in problem["th"] and "control characters" in problem["en"]
    assert app.state.ctx.store.get_application(draft["id"])["version"] == draft["version"]  # nothing stored


def test_api_refuses_control_characters_inside_a_group_and_an_address(api):  # R: A-F6, A-X2
    app, client, auth, draft = api
    error = error_of(_put(client, auth, draft, {
        "staff": [{"name": "สมศรี"}, {"name": "ก\x00"}],
        "shop_address": {"line": "1\x00", "subdistrict": "คลองเตย", "district": "คลองเตย",
                         "province": "กรุงเทพมหานคร", "postcode": "10110"}}), 422)
    assert paths(error) == {"answers.staff[1].name": "control_characters",
                            "answers.shop_address.line": "control_characters"}


def test_api_keeps_newlines_in_multi_line_text_and_reads_crlf_as_lf(api):  # R: A-F6
    app, client, auth, draft = api
    r = _put(client, auth, draft, {"directions": "ซอย 5\r\nเลี้ยวซ้าย\n\tตึกสีฟ้า"})
    assert r.status_code == 200, r.text
    assert r.json()["answers"]["directions"] == "ซอย 5\nเลี้ยวซ้าย\n\tตึกสีฟ้า"


def test_eform_refuses_control_characters_per_field_and_stores_none(web):  # R: A-F6, A-X2
    app, client, app_id, page = web
    token = csrf_of(client.get(page).text)
    response = client.post(page, data={"csrf_token": token, "shop_name": "ร้าน\x00ป้า\x1bแดง",
                                       "directions": "ซอย 5\r\nเลี้ยวซ้าย\rตึก", "action": "continue"},
                           follow_redirects=False)
    assert response.status_code == 422
    assert response.text.count("อักขระควบคุม") >= 2  # one error for each field (summary and field)
    answers = app.state.ctx.store.get_application(app_id)["answers"]
    assert answers["shop_name"] == "ร้านป้าแดง"  # never stored with them; the rest of the text is kept
    assert answers["directions"] == "ซอย 5\nเลี้ยวซ้ายตึก"
    english = client.post(page + "?lang=en", data={"csrf_token": token, "shop_name": "a\x00b", "action": "continue"},
                          follow_redirects=False)
    assert english.status_code == 422 and "contained control characters" in english.text


def test_eform_reads_textarea_lines_as_lf(web):  # R: A-F6
    app, client, app_id, page = web
    response = client.post(page, data={"csrf_token": csrf_of(client.get(page).text), "shop_name": "ร้านป้าแดง",
                                       "directions": "ซอย 5\r\nเลี้ยวซ้าย", "action": "later"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert app.state.ctx.store.get_application(app_id)["answers"]["directions"] == "ซอย 5\nเลี้ยวซ้าย"


# --------------------------------------------------------------------------- form encodings and sizes
@pytest.mark.parametrize("raw", [b"shop_name=%FF%FE", b"shop_name=\xff\xfe", b"shop_%C3=x"])
def test_a_form_that_is_not_utf8_is_400_and_saves_nothing(web, raw):  # R: A-X2
    app, client, app_id, page = web
    token = csrf_of(client.get(page).text)
    before = app.state.ctx.store.get_application(app_id)
    response = client.post(page, content=b"csrf_token=" + token.encode() + b"&" + raw, headers=FORM,
                           follow_redirects=False)
    assert response.status_code == 400
    assert "UTF-8" in response.text and THAI.search(response.text)
    assert app.state.ctx.store.get_application(app_id)["version"] == before["version"]
    # the same with the token in the header
    response = client.post(page, content=raw, headers={**FORM, "X-CSRF-Token": token}, follow_redirects=False)
    assert response.status_code == 400


def test_an_oversize_form_is_413_with_a_page_in_thai_and_english(web):  # R: A-X2
    app, client, app_id, page = web
    token = csrf_of(client.get(page).text)
    big = b"csrf_token=" + token.encode() + b"&shop_name=" + b"a" * (9 * 1024 * 1024)
    response = client.post(page, content=big, headers=FORM, follow_redirects=False)
    assert response.status_code == 413
    mb = f"{FORM_LIMIT // (1024 * 1024)} MB"
    assert "ใหญ่เกิน" in response.text and "larger than" in response.text and mb in response.text
    assert "shop_name" not in app.state.ctx.store.get_application(app_id)["answers"]
    header = client.post(page, content=big[len(b"csrf_token=" + token.encode() + b"&"):],
                         headers={**FORM, "X-CSRF-Token": token}, follow_redirects=False)
    assert header.status_code == 413


@pytest.mark.parametrize("content_type, body", [
    ("multipart/form-data", b"--x\r\n"),  # no boundary
    ("multipart/form-data; boundary=XYZ", b"garbage without any boundary"),
    ("multipart/form-data; boundary=XYZ", b"--XYZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n"),
    ("multipart/form-data; boundary=XYZ", b""),
])
def test_malformed_multipart_is_400(web, content_type, body):  # R: A-X2
    app, client, app_id, page = web
    client.get(page)  # a session with a CSRF token
    for url in (page, f"/applications/{app_id}/documents"):
        response = client.post(url, content=body, headers={"Content-Type": content_type}, follow_redirects=False)
        assert response.status_code == 400, (url, response.status_code)
        assert "multipart" in response.text and THAI.search(response.text)
    # a well-formed body whose first field is not the token is still a CSRF refusal
    well_formed = b'--XYZ\r\nContent-Disposition: form-data; name="shop_name"\r\n\r\nx\r\n--XYZ--\r\n'
    response = client.post(page, content=well_formed, headers={"Content-Type": "multipart/form-data; boundary=XYZ"})
    assert response.status_code == 403


def test_multipart_cut_after_the_token_is_400_on_the_documents_page(web):  # R: A-X2, A-F4
    app, client, app_id, page = web
    docs = f"/applications/{app_id}/documents"
    token = csrf_of(client.get(docs).text)
    body = (b'--XYZ\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n' + token.encode()
            + b"\r\n--XYZ\r\nContent-Disposition: form-da")
    response = client.post(docs, content=body, headers={"Content-Type": "multipart/form-data; boundary=XYZ"},
                           follow_redirects=False)
    assert response.status_code == 400


# --------------------------------------------------------------------------- Buddhist-Era years
def test_api_refuses_a_buddhist_era_year_and_says_so(api):  # R: A-F3, A-F6
    app, client, auth, draft = api
    error = error_of(_put(client, auth, draft, {"opening": "2569-02-28"}), 422, "invalid_answers")
    assert paths(error) == {"answers.opening": "date_range"}
    problem = error["errors"][0]
    assert "Gregorian" in problem["en"] and "543" in problem["en"] and "2026" in problem["en"]
    assert "พ.ศ." in problem["th"] and "543" in problem["th"]
    old = error_of(_put(client, auth, draft, {"opening": "1899-12-31"}), 422)["errors"][0]
    assert old["code"] == "date_range" and "543" not in old["en"]
    assert _put(client, auth, draft, {"opening": "2026-02-28"}).status_code == 200


def test_the_answers_schema_says_the_years_and_the_control_characters(api):  # R: CH-5
    app, client, auth, draft = api
    schema = client.get("/api/services/api-permit/schema").json()
    opening, name, directions = (schema["properties"][k] for k in ("opening", "shop_name", "directions"))
    assert re.search(opening["pattern"], "2026-02-28") and not re.search(opening["pattern"], "2569-02-28")
    assert re.fullmatch(name["pattern"], "ร้าน ป้าแดง") and not re.fullmatch(name["pattern"], "a\x00")
    assert re.fullmatch(directions["pattern"], "a\r\nb\nc") and not re.fullmatch(directions["pattern"], "a\rb")


# --------------------------------------------------------------------------- caching
def test_pages_with_personal_data_are_not_stored_by_browsers_or_proxies(officers):  # R: A-X2
    record = officers.submit()
    reviewer = officers.client("reviewer")
    for url in ("/officer", "/officer/test-agency", f"/officer/applications/{record['id']}"):
        response = reviewer.get(url)
        assert response.status_code == 200 and "no-store" in response.headers["cache-control"], url
    citizen = officers.client("citizen")
    for url in (f"/applications/{record['id']}/status", "/applications", "/track", "/profile"):
        response = citizen.get(url)
        assert response.status_code == 200 and "no-store" in response.headers["cache-control"], url
    static = citizen.get("/static/site.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")


def test_draft_and_form_pages_are_not_stored_either(web):  # R: A-X2
    app, client, app_id, page = web
    for url in (f"/applications/{app_id}", page, f"/applications/{app_id}/documents", "/login"):
        response = client.get(url)
        assert response.status_code == 200 and "no-store" in response.headers["cache-control"], url


# --------------------------------------------------------------------------- OpenAPI
def test_openapi_describes_every_error_the_api_answers(api):  # R: CH-5
    app, client, auth, draft = api
    document = client.get("/openapi.json").json()
    responses = document["components"]["responses"]
    ops = {(path, method): op for path, item in document["paths"].items() for method, op in item.items()}

    def described(path, method, status, code):
        op = ops[(path, method)]
        assert status in op["responses"], (path, method, status)
        name = op["responses"][status]["$ref"].rsplit("/", 1)[-1]
        assert code in responses[name]["description"], (status, code)

    for path in ("/api/applications/{app_id}/answers", "/api/applications/{app_id}/submit",
                 "/api/applications/{app_id}/actions/{transition_id}",
                 "/api/applications/{app_id}/documents/{document_id}"):
        method = "put" if path.endswith("answers") else "post"
        described(path, method, "400", "invalid_if_match")
        if_match = next(p for p in ops[(path, method)]["parameters"] if p["name"] == "If-Match")
        assert re.search(if_match["schema"]["pattern"], 'W/"12"') and not re.search(if_match["schema"]["pattern"],
                                                                                      "abc")
    described("/api/applications/{app_id}/answers", "put", "428", "version_required")
    described("/api/applications", "post", "422", "no_service")
    for code in ("too_deep", "number_too_large", "invalid_json"):
        described("/api/tokens", "post", "400", code)
    # each draft names its service, from the catalogue
    create = document["components"]["schemas"]["CreateApplication"]
    assert {v["properties"]["service"]["const"] for v in create["oneOf"]} == {"api-permit", "minimal-permit"}
