"""Applying through the web (issue #3 items 3–6): the e-Form generated from a real
example service (food-shop-permit), documents, check answers, the type-1
e-signature and the acknowledgement; and every kind of bad input, each of which
must give a clear error and lose nothing already saved.

Runs the real app (``create_app``, through the ``app_factory`` fixture) with
starlette's TestClient over a temporary data folder and a fixed clock (Monday 15
June 2026, 10:00 Bangkok).  Users are made and verified with
``eservice.auth.Accounts`` directly and sign in through the real ``/login`` page
(the ``signed_in`` fixture).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from eservice.clock import BANGKOK, FixedClock

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "service_definitions"
FIXTURES = Path(__file__).parent / "fixtures" / "defs"
MONDAY_MORNING = dt.datetime(2026, 6, 15, 10, 0, tzinfo=BANGKOK)
SERVICE = "food-shop-permit"


# --------------------------------------------------------------------------- helpers
def at(when: dt.datetime = MONDAY_MORNING) -> FixedClock:
    """The fixed clock of these tests (``app_factory(…, clock=at())``)."""
    return FixedClock(when.astimezone(dt.timezone.utc))


def token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "every POST form carries the CSRF token"
    return found.group(1)


def csrf(client: TestClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.text[:500]
    return token(response.text)


def post(client: TestClient, url: str, data: dict, *, get_url: str | None = None, **kwargs):
    """POST a form the way a browser does, with the page's CSRF token."""
    body = {"csrf_token": csrf(client, get_url or url), **data}
    return client.post(url, data=body, follow_redirects=False, **kwargs)


def upload(client: TestClient, app_id: str, document: str, filename: str, content: bytes,
           media_type: str = "application/pdf", **extra):
    """A multipart upload with the CSRF token as the first field (what csrf_field() makes)."""
    docs_url = f"/applications/{app_id}/documents"
    fields = [("csrf_token", (None, csrf(client, docs_url))), ("action", (None, "upload")),
              ("document", (None, document))]
    fields += [(k, (None, v)) for k, v in extra.items()]
    fields.append(("file", (filename, content, media_type)))
    return client.post(docs_url, files=fields, follow_redirects=False)


def stored(app, app_id: str) -> dict:
    return app.state.ctx.store.get_application(app_id)


def thai_id(first12: str) -> str:
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return first12 + str((11 - total % 11) % 10)


def pdf_bytes(text: str = "scan") -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": text})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


NATIONAL_ID = thai_id("110170012345")
ADDRESS = {"line": "99/1 ถนนรัตนาธิเบศร์", "province": "นนทบุรี", "district": "เมืองนนทบุรี",
           "subdistrict": "บางกระสอ", "postcode": "11000"}


def address_fields(name: str, value: dict = ADDRESS) -> dict:
    return {f"{name}.{k}": v for k, v in value.items()}


PAGES = {
    "applicant_kind": {"applicant_type": "person", "submitted_by_agent": "no"},
    "person": {"first_name": "สมชาย", "last_name": "ใจดี", "national_id": NATIONAL_ID,
               "birth_date.day": "5", "birth_date.month": "2", "birth_date.year": "2523"},
    "contact_details": {"phone": "081-234-5678", "email": "somchai@example.com",
                        **address_fields("applicant_address")},
    "shop_details": {"shop_name": "ร้านป้าแดง", "establishment_type": "restaurant",
                     "food_kinds": ["cooked_to_order", "beverages"], **address_fields("shop_address"),
                     "shop_area": "120", "seats": "30", "premises_owned": "yes",
                     "opening_date.day": "1", "opening_date.month": "7", "opening_date.year": "2569"},
    "handlers": {"food_handlers.0.handler_name": "นางแดง ใจดี", "food_handlers.0.handler_role": "cook",
                 "food_handlers.0.trained": "yes", "food_handlers.0.has_health_certificate": "no"},
    "consents": {"accept_inspection": "yes", "accept_data_check": "yes"},
}


@pytest.fixture
def app(app_factory):
    return app_factory(DEFINITIONS, clock=at())


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def citizen(client, signed_in):
    return signed_in(client, "somchai@example.com", {"first_name": "สมชาย", "last_name": "ใจดี",
                                                     "phone": "0812345678"})


def begin(client: TestClient, service: str = SERVICE):
    """The start page (GET, creates nothing), then its "start" button (a POST with CSRF)."""
    page = client.get(f"/apply/{service}", follow_redirects=False)
    assert page.status_code == 200, page.text[:500]
    return client.post(f"/apply/{service}", data={"csrf_token": token(page.text)}, follow_redirects=False)


def start(client: TestClient, service: str = SERVICE) -> str:
    response = begin(client, service)
    assert response.status_code == 303
    found = re.match(r"^/applications/(app-[0-9a-f]+)", response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


def page_url(app_id: str, page: str) -> str:
    return f"/applications/{app_id}/pages/{page}"


def fill(client: TestClient, app_id: str, pages=PAGES) -> None:
    for page, data in pages.items():
        response = post(client, page_url(app_id, page), {**data, "action": "continue"})
        assert response.status_code == 303, (page, response.text[:2000])


def attach_required(client: TestClient, app_id: str) -> None:
    for doc in ("id_card_copy", "house_registration_copy", "floor_plan", "training_certificates"):
        response = upload(client, app_id, doc, f"{doc}.pdf", pdf_bytes(doc))
        assert response.status_code == 303, response.text[:2000]


def submit(client: TestClient, app_id: str):
    check = client.get(f"/applications/{app_id}/check")
    digest = re.search(r'name="declaration_digest" value="([0-9a-f]{64})"', check.text).group(1)
    return client.post(f"/applications/{app_id}/check", data={
        "csrf_token": token(check.text), "declaration_digest": digest, "intent": "yes"}, follow_redirects=False)


# --------------------------------------------------------------------------- the journey
def test_full_journey_on_the_food_shop_permit(app, client, citizen, signed_in):
    # R: A-F1, A-F2, A-F3, A-F4, A-F5, A-F6, A-F7, A-F8, A-F9, A-F10, RC-1, RC-3
    # Start: several sections, so the task list comes first.
    response = begin(client)
    assert response.status_code == 303
    app_id = response.headers["location"].rsplit("/", 1)[-1]
    tasks = client.get(f"/applications/{app_id}")
    assert tasks.status_code == 200
    assert "ข้อมูลผู้ขอ" in tasks.text and "ข้อมูลสถานที่" in tasks.text and "แนบเอกสาร" in tasks.text
    assert "ยังทำไม่ได้" in tasks.text  # check answers cannot start yet

    # Page 1: radios for a choice, yes/no radios; an error when nothing is chosen.
    first = client.get(page_url(app_id, "applicant_kind"))
    assert 'type="radio" value="person"' in first.text and 'name="submitted_by_agent"' in first.text
    response = post(client, page_url(app_id, "applicant_kind"), {"action": "continue"})
    assert response.status_code == 422
    assert 'href="#f-applicant_type"' in response.text  # the error summary links to the field
    response = post(client, page_url(app_id, "applicant_kind"), {**PAGES["applicant_kind"], "action": "continue"})
    assert response.headers["location"] == page_url(app_id, "person")

    # Page 2 is prefilled from the profile (A-F2); the date is three inputs with a BE year.
    person = client.get(page_url(app_id, "person"))
    assert 'value="สมชาย"' in person.text and 'value="ใจดี"' in person.text
    assert 'name="birth_date.year"' in person.text and 'autocomplete="given-name"' in person.text
    assert 'inputmode="numeric"' in person.text  # the national ID
    fill(client, app_id, {k: PAGES[k] for k in ("person", "contact_details")})
    assert stored(app, app_id)["answers"]["birth_date"] == "1980-02-05"  # 5/2/2523 BE
    assert stored(app, app_id)["answers"]["phone"] == "0812345678"

    # The shop page: letters in a number keep what was typed and say what is wrong (A-F6).
    bad = {**PAGES["shop_details"], "shop_area": "หนึ่งร้อย", "action": "continue"}
    response = post(client, page_url(app_id, "shop_details"), bad)
    assert response.status_code == 422
    assert 'href="#f-shop_area"' in response.text and "ต้องเป็นตัวเลข" in response.text
    assert 'value="หนึ่งร้อย"' in response.text and 'value="ร้านป้าแดง"' in response.text
    assert response.text.count("ต้องเป็นตัวเลข") == 2  # once in the summary, once by the field
    kept = stored(app, app_id)["answers"]
    assert kept["shop_area"] == "หนึ่งร้อย" and kept["shop_name"] == "ร้านป้าแดง"
    assert kept["food_kinds"] == ["cooked_to_order", "beverages"]
    response = post(client, page_url(app_id, "shop_details"), {**PAGES["shop_details"], "action": "continue"})
    assert response.headers["location"] == page_url(app_id, "handlers")
    assert stored(app, app_id)["answers"]["shop_area"] == 120

    # Repeating group without JavaScript: "add another" keeps an empty item on screen and adds one more…
    response = post(client, page_url(app_id, "handlers"), {"food_handlers.0.handler_name": "",  # as a browser sends it
                                                          "action": "add_item:food_handlers"})
    empty = client.get(response.headers["location"].split("#")[0])
    assert 'name="food_handlers.1.handler_name"' in empty.text and "food_handlers.2." not in empty.text
    assert "food_handlers" not in stored(app, app_id)["answers"]  # nothing typed, nothing stored
    # … add an item, fill it, remove it again.
    handlers = dict(PAGES["handlers"])
    response = post(client, page_url(app_id, "handlers"), {**handlers, "action": "add_item:food_handlers"})
    assert response.status_code == 303 and "add=food_handlers" in response.headers["location"]
    two = client.get(response.headers["location"].split("#")[0])
    assert 'name="food_handlers.1.handler_name"' in two.text and "ผู้สัมผัสอาหาร 2" in two.text
    second = {"food_handlers.1.handler_name": "นายดำ", "food_handlers.1.handler_role": "server",
              "food_handlers.1.trained": "no", "food_handlers.1.has_health_certificate": "no"}
    response = post(client, page_url(app_id, "handlers"), {**handlers, **second, "action": "remove_item:food_handlers:0"})
    assert response.status_code == 303
    assert [h["handler_name"] for h in stored(app, app_id)["answers"]["food_handlers"]] == ["นายดำ"]
    # … and a rule on the group: at least one trained handler.
    response = post(client, page_url(app_id, "handlers"), {**{k.replace(".1.", ".0."): v for k, v in second.items()},
                                                          "action": "continue"})
    assert response.status_code == 422 and "ผ่านการอบรมแล้วอย่างน้อย 1 คน" in response.text
    # Save and come back later (A-F5): saved even though the page has an error.
    response = post(client, page_url(app_id, "handlers"), {**handlers, "action": "later"})
    assert response.headers["location"] == f"/applications/{app_id}?saved=1"
    assert stored(app, app_id)["answers"]["food_handlers"][0]["handler_name"] == "นางแดง ใจดี"

    # Leave (a new browser), sign in again, and resume the same draft.
    client.cookies.clear()
    assert client.get(f"/applications/{app_id}", follow_redirects=False).headers["location"].startswith("/login")
    signed_in(client, citizen)
    resume = client.get(f"/apply/{SERVICE}")
    assert resume.status_code == 200 and f"/applications/{app_id}" in resume.text
    tasks = client.get(f"/applications/{app_id}")
    assert "เสร็จแล้ว" in tasks.text  # the applicant section is completed

    fill(client, app_id, {"consents": PAGES["consents"]})
    # Documents: one attach button per document, formats, size limit, the sample.
    docs = client.get(f"/applications/{app_id}/documents")
    assert docs.text.count('type="file"') == 5  # id card, house registration, floor plan, certificates ×2
    assert 'accept=".pdf,application/pdf,.jpg' in docs.text and "ขนาดไม่เกิน 5 MB" in docs.text
    assert f"/services/{SERVICE}/samples/id_card_copy" in docs.text
    assert "power_of_attorney" not in docs.text
    attach_required(client, app_id)
    files = stored(app, app_id)["documents"]
    assert set(files) == {"id_card_copy", "house_registration_copy", "floor_plan", "training_certificates"}
    assert files["floor_plan"][0]["media_type"] == "application/pdf"

    # Check answers (A-F7): labels, not values; BE dates; address and group shown; change links.
    check = client.get(f"/applications/{app_id}/check")
    assert check.status_code == 200
    text = check.text
    assert "บุคคลธรรมดา" in text and "ร้านอาหาร" in text and "ปรุงสำเร็จตามสั่ง" in text
    assert "5 กุมภาพันธ์ พ.ศ. 2523" in text
    assert "ตำบลบางกระสอ อำเภอเมืองนนทบุรี จังหวัดนนทบุรี 11000" in text
    assert "นางแดง ใจดี" in text and "ผู้ปรุงอาหาร" in text
    assert "120 ตารางเมตร" in text and "1,000.00 บาท" in text  # fee estimate for 100–200 m²
    assert f'href="/applications/{app_id}/pages/shop_details?return=check#f-shop_area"' in text
    sha = files["floor_plan"][0]["sha256"]
    assert sha[:12] in text
    assert "ข้อความและเอกสารที่ยื่นพร้อมคำขอนี้เป็นความจริงทุกประการ" in text  # the declaration

    # Sign and submit.
    response = submit(client, app_id)
    assert response.status_code == 303 and response.headers["location"] == f"/applications/{app_id}/submitted"
    record = stored(app, app_id)
    assert record["state"] == "submitted" and record["intake_number"] == "1/2569"
    assert record["signature"]["declaration"]["th"].startswith("ข้าพเจ้าขอรับรอง")
    ack = client.get(f"/applications/{app_id}/submitted")
    assert "1/2569" in ack.text and record["reference"] in ack.text
    assert "15 มิถุนายน พ.ศ. 2569 10:00 น." in ack.text  # intake time in the Buddhist Era
    assert "02-589-0500" in ack.text  # the agency's contact number (RC-3)
    assert f"/applications/{app_id}/status" in ack.text
    due = dt.datetime.fromisoformat(record["sla_due"]).astimezone(BANGKOK)
    from eservice.dates import format_date
    assert format_date(due.date(), "th", long=True) in ack.text  # expected completion (A-F10)

    status = client.get(f"/applications/{app_id}/status")
    assert status.status_code == 200 and "ยื่นคำขอแล้ว" in status.text
    assert "ยื่นคำขอแล้ว เลขรับ 1/2569" in status.text  # the history

    # Once submitted, the answers can no longer change (A-F9).
    response = post(client, page_url(app_id, "shop_details"), {**PAGES["shop_details"], "shop_name": "X"},
                    get_url=f"/applications/{app_id}/status")
    assert response.status_code == 409
    assert stored(app, app_id)["answers"]["shop_name"] == "ร้านป้าแดง"


def test_pdf_summary_of_what_was_submitted(app, client, citizen):  # R: A-F9, A-F10, A-F8, IS-2
    from eservice.certificates import create_agency_keys
    from eservice.renderers.pdf import normalize_extracted_thai

    create_agency_keys(app.state.ctx.settings.data, "nonthaburi-city", org_name_th="เทศบาลนครนนทบุรี")
    app_id = start(client)
    fill(client, app_id)
    attach_required(client, app_id)
    assert submit(client, app_id).status_code == 303
    response = client.get(f"/applications/{app_id}/summary.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    from pypdf import PdfReader

    text = normalize_extracted_thai("".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages))
    record = stored(app, app_id)
    assert record["intake_number"] in text and record["reference"] in text
    assert record["signature"]["content_sha256"] in text.replace(" ", "").replace("\n", "")
    assert b"/ByteRange" in response.content  # signed with the agency's organisation certificate


def test_single_section_service_goes_straight_to_its_page_then_check(app_factory, signed_in):  # R: A-F1, A-F7
    app = app_factory(FIXTURES, clock=at())
    with TestClient(app) as client:
        signed_in(client, "one@example.com")
        response = begin(client, "minimal-permit")
        app_id = response.headers["location"].split("/")[2]
        assert response.headers["location"] == page_url(app_id, "shop")
        response = post(client, page_url(app_id, "shop"), {"shop_name": "ร้าน", "shop_area": "1,250.5",
                                                           "has_kitchen": "no", "action": "continue"})
        assert response.headers["location"] == f"/applications/{app_id}/check"  # no documents to attach
        assert stored(app, app_id)["answers"]["shop_area"] == 1250.5


# --------------------------------------------------------------------------- bad input
@pytest.fixture
def draft(app, client, citizen):
    app_id = start(client)
    fill(client, app_id, {k: PAGES[k] for k in ("applicant_kind", "person", "contact_details", "shop_details")})
    return app_id


def test_required_and_wrong_types_keep_every_other_answer(app, client, draft):  # R: A-F6, A-F5
    before = stored(app, draft)["answers"]
    data = {**PAGES["contact_details"], "email": "not-an-email", "phone": "", "action": "continue"}
    response = post(client, page_url(draft, "contact_details"), data)
    assert response.status_code == 422
    assert 'href="#f-email"' in response.text and 'href="#f-phone"' in response.text
    assert 'aria-invalid="true"' in response.text and 'value="not-an-email"' in response.text
    after = stored(app, draft)["answers"]
    assert after["email"] == "not-an-email" and "phone" not in after
    for key in ("first_name", "national_id", "shop_name", "shop_address", "food_kinds"):
        assert after[key] == before[key]


def test_an_impossible_date_is_an_error_and_stays_typed(app, client, draft):  # R: A-F3, A-F6
    data = {**PAGES["shop_details"], "opening_date.day": "31", "opening_date.month": "2", "action": "continue"}
    response = post(client, page_url(draft, "shop_details"), data)
    assert response.status_code == 422 and 'href="#f-opening_date"' in response.text
    assert "วันที่ที่มีอยู่จริง" in response.text
    assert re.search(r'name="opening_date.day"\s+type="text" inputmode="numeric" value="31"', response.text)
    assert stored(app, draft)["answers"]["opening_date"] == "31/2/2569"


def test_an_address_that_does_not_exist_names_the_part(app, client, draft):  # R: A-F3, A-F6
    wrong = dict(ADDRESS, district="บางรัก")  # a Bangkok district, not in Nonthaburi
    data = {**PAGES["contact_details"], **address_fields("applicant_address", wrong), "action": "continue"}
    response = post(client, page_url(draft, "contact_details"), data)
    assert response.status_code == 422
    assert 'href="#f-applicant_address-district"' in response.text
    assert stored(app, draft)["answers"]["applicant_address"]["district"] == "บางรัก"


def test_a_hidden_field_sent_anyway_is_dropped(app_factory, signed_in):  # R: A-SP3 (hidden means not applicable)
    app = app_factory(FIXTURES, clock=at())
    with TestClient(app) as client:
        signed_in(client, "hidden@example.com")
        app_id = start(client, "minimal-permit")
        page = client.get(page_url(app_id, "shop"))
        # a simple same-page condition: drawn hidden, revealed by forms.js
        assert re.search(r'id="group-f-kitchen_size"[^>]*data-show-if-name="has_kitchen"'
                         r'[^>]*data-show-if-value="yes"[^>]*hidden', page.text)
        response = post(client, page_url(app_id, "shop"), {"shop_name": "ร้าน", "shop_area": "20",
                                                           "has_kitchen": "no", "kitchen_size": "99",
                                                           "action": "continue"})
        assert response.status_code == 303
        answers = stored(app, app_id)["answers"]
        assert "kitchen_size" not in answers and answers["has_kitchen"] is False
        response = post(client, page_url(app_id, "shop"), {"shop_name": "ร้าน", "shop_area": "20",
                                                           "has_kitchen": "yes", "kitchen_size": "12",
                                                           "action": "continue"})
        assert stored(app, app_id)["answers"]["kitchen_size"] == 12
        shown = client.get(page_url(app_id, "shop"))
        assert not re.search(r'id="group-f-kitchen_size"[^>]*hidden', shown.text)


def test_a_hidden_page_sent_anyway_is_dropped(app, client, draft):  # R: A-SP3
    # The applicant is a person: the company page is hidden; posting it stores nothing.
    response = post(client, page_url(draft, "company"), {"company_name": "บริษัทแฝง จำกัด", "action": "continue"},
                    get_url=f"/applications/{draft}")
    assert response.status_code == 303
    assert "company_name" not in stored(app, draft)["answers"]
    assert client.get(page_url(draft, "company"), follow_redirects=False).status_code == 303


def test_fields_of_another_page_are_ignored(app, client, draft):  # R: A-F6, A-X2
    data = {**PAGES["person"], "shop_name": "ร้านปลอม", "shop_area": "999", "action": "continue"}
    response = post(client, page_url(draft, "person"), data)
    assert response.status_code == 303
    answers = stored(app, draft)["answers"]
    assert answers["shop_name"] == "ร้านป้าแดง" and answers["shop_area"] == 120


def test_unknown_page_is_404(app, client, draft):
    assert client.get(page_url(draft, "no_such_page")).status_code == 404


def test_post_without_csrf_token_is_refused(app, client, draft):  # R: A-X2
    before = stored(app, draft)
    response = client.post(page_url(draft, "shop_details"), data={"shop_name": "ถูกแก้", "action": "continue"},
                           follow_redirects=False)
    assert response.status_code == 403
    after = stored(app, draft)
    assert after["answers"] == before["answers"] and after["version"] == before["version"]
    # a multipart upload without the token first is refused as well
    response = client.post(f"/applications/{draft}/documents", files=[
        ("action", (None, "upload")), ("document", (None, "floor_plan")),
        ("file", ("plan.pdf", pdf_bytes(), "application/pdf"))], follow_redirects=False)
    assert response.status_code == 403 and stored(app, draft)["documents"] == {}


def test_another_users_draft_is_404_everywhere(app, client, draft, signed_in):  # R: A-X1
    before = stored(app, draft)
    with TestClient(app) as other:
        signed_in(other, "other@example.com")
        for url in (f"/applications/{draft}", page_url(draft, "person"), f"/applications/{draft}/documents",
                    f"/applications/{draft}/check", f"/applications/{draft}/submitted",
                    f"/applications/{draft}/status", f"/applications/{draft}/summary.pdf"):
            response = other.get(url)
            assert response.status_code == 404, url
            assert "ร้านป้าแดง" not in response.text and NATIONAL_ID not in response.text
        tok = csrf(other, "/applications")
        response = other.post(page_url(draft, "shop_details"), data={
            "csrf_token": tok, "shop_name": "ของคนอื่น", "action": "continue"}, follow_redirects=False)
        assert response.status_code == 404
        response = other.post(f"/applications/{draft}/check", data={"csrf_token": tok, "intent": "yes"},
                              follow_redirects=False)
        assert response.status_code == 404
    assert stored(app, draft)["answers"] == before["answers"] and stored(app, draft)["state"] == "draft"


def test_get_apply_creates_nothing_and_the_start_form_posts_with_csrf_first(app, client, citizen):  # review B13
    """A prefetcher or a link from another site (GET) must not create drafts;
    a POST without the CSRF token is refused and creates nothing either."""
    def mine() -> int:
        return len(app.state.ctx.store.applications_of(citizen["id"]))

    before = mine()
    for _ in range(3):
        page = client.get(f"/apply/{SERVICE}", follow_redirects=False)
        assert page.status_code == 200
    assert mine() == before
    form = re.search(r'<form method="post" action="/apply/food-shop-permit">\s*(<input[^>]*>)', page.text)
    assert form and 'name="csrf_token"' in form.group(1)  # the token is the first field
    assert "เริ่มกรอกคำขอ" in page.text
    refused = client.post(f"/apply/{SERVICE}", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert mine() == before
    created = client.post(f"/apply/{SERVICE}", data={"csrf_token": token(page.text)}, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"].startswith("/applications/app-")
    app_id = created.headers["location"].split("/")[2]
    assert mine() == before + 1
    # now the start page offers to continue that draft (still creating nothing)
    resume = client.get(f"/apply/{SERVICE}")
    assert resume.status_code == 200 and f"/applications/{app_id}" in resume.text and "เริ่มคำขอใหม่" in resume.text


def test_anonymous_visitors_are_sent_to_sign_in(app):  # R: A-I1, A-X1
    with TestClient(app) as anonymous:
        response = anonymous.get(f"/apply/{SERVICE}", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fapply%2Ffood-shop-permit"
        assert anonymous.get("/applications", follow_redirects=False).status_code == 303


# --------------------------------------------------------------------------- documents
def test_oversize_file_is_refused_and_the_earlier_file_kept(app, client, draft):  # R: A-F4, A-F6
    assert upload(client, draft, "id_card_copy", "บัตร.pdf", pdf_bytes("first")).status_code == 303
    first = stored(app, draft)["documents"]["id_card_copy"]
    big = b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024) + b"\n%%EOF\n"  # over the 5 MB limit
    response = upload(client, draft, "id_card_copy", "ใหญ่.pdf", big)
    assert response.status_code == 413
    assert 'href="#file-id_card_copy"' in response.text and "เกินขนาดสูงสุดที่รับได้ 5 MB" in response.text
    assert stored(app, draft)["documents"]["id_card_copy"] == first


def test_a_png_named_pdf_is_refused(app, client, draft):  # R: PR-4, A-F6
    response = upload(client, draft, "floor_plan", "plan.pdf", png_bytes())
    assert response.status_code == 415
    assert "ภาพ PNG" in response.text and "plan.pdf" in response.text
    assert "floor_plan" not in stored(app, draft)["documents"]


def test_empty_file_and_no_file_are_clear_errors(app, client, draft):  # R: A-F6
    response = upload(client, draft, "floor_plan", "plan.pdf", b"")
    assert response.status_code == 422 and "ว่างเปล่า" in response.text
    response = upload(client, draft, "floor_plan", "", b"", media_type="application/octet-stream")
    assert response.status_code == 422 and "กรุณาเลือกไฟล์" in response.text


def test_a_corrupt_pdf_is_refused(app, client, draft):  # R: PR-4
    broken = pdf_bytes()[:200]
    response = upload(client, draft, "floor_plan", "plan.pdf", broken)
    assert response.status_code == 422 and "เสียหาย" in response.text
    assert "floor_plan" not in stored(app, draft)["documents"]


def test_a_document_that_does_not_apply_cannot_be_attached(app, client, draft):  # R: A-SP3
    # The applicant is not an agent: no power of attorney.
    response = upload(client, draft, "power_of_attorney", "poa.pdf", pdf_bytes())
    assert response.status_code == 404
    assert stored(app, draft)["documents"] == {}


def test_remove_and_replace_a_file(app, client, draft):  # R: A-F4
    upload(client, draft, "floor_plan", "a.pdf", pdf_bytes("a"))
    upload(client, draft, "floor_plan", "b.pdf", pdf_bytes("b"))  # one file: replaced
    files = stored(app, draft)["documents"]["floor_plan"]
    assert [f["filename"] for f in files] == ["b.pdf"]
    download = client.get(f"/applications/{draft}/files/{files[0]['sha256']}")
    assert download.status_code == 200 and download.content == pdf_bytes("b")
    assert "attachment" in download.headers["content-disposition"]
    response = post(client, f"/applications/{draft}/documents", {
        "action": "remove", "document": "floor_plan", "sha256": files[0]["sha256"]})
    assert response.status_code == 303 and "floor_plan" not in stored(app, draft)["documents"]


def test_reuse_a_file_from_another_of_my_applications(app, client, citizen, signed_in):  # R: A-F4, PR-6
    first = start(client)
    fill(client, first)
    attach_required(client, first)
    assert submit(client, first).status_code == 303
    sha = stored(app, first)["documents"]["id_card_copy"][0]["sha256"]
    second = client.post(f"/apply/{SERVICE}", data={"csrf_token": csrf(client, "/applications")},
                         follow_redirects=False).headers["location"].split("/")[2]
    fill(client, second, {k: PAGES[k] for k in ("applicant_kind",)})
    docs = client.get(f"/applications/{second}/documents")
    assert "ใช้ไฟล์ที่เคยแนบในคำขออื่นของท่าน" in docs.text and sha in docs.text
    response = post(client, f"/applications/{second}/documents",
                    {"action": "reuse", "document": "id_card_copy", "sha256": sha})
    assert response.status_code == 303
    assert stored(app, second)["documents"]["id_card_copy"][0]["sha256"] == sha

    # someone else's file cannot be taken by its hash
    with TestClient(app) as other:
        signed_in(other, "thief@example.com")
        theirs = start(other)
        post(other, page_url(theirs, "applicant_kind"), {**PAGES["applicant_kind"], "action": "continue"})
        response = post(other, f"/applications/{theirs}/documents",
                        {"action": "reuse", "document": "id_card_copy", "sha256": sha})
        assert response.status_code == 404
        assert stored(app, theirs)["documents"] == {}
        assert other.get(f"/applications/{first}/files/{sha}").status_code == 404


# --------------------------------------------------------------------------- signing
@pytest.fixture
def complete(app, client, citizen):
    app_id = start(client)
    fill(client, app_id)
    attach_required(client, app_id)
    return app_id


def test_a_tampered_declaration_digest_is_refused(app, client, complete):  # R: A-F8
    check = client.get(f"/applications/{complete}/check")
    wrong = hashlib.sha256(b"another text").hexdigest()
    response = client.post(f"/applications/{complete}/check", data={
        "csrf_token": token(check.text), "declaration_digest": wrong, "intent": "yes"}, follow_redirects=False)
    assert response.status_code == 409
    assert 'href="#declaration"' in response.text and "ข้อความคำรับรองไม่ตรง" in response.text
    record = stored(app, complete)
    assert record["state"] == "draft" and "signature" not in record and "intake_number" not in record
    assert record["answers"]["shop_name"] == "ร้านป้าแดง"


def test_intent_must_be_confirmed(app, client, complete):  # R: A-F8
    check = client.get(f"/applications/{complete}/check")
    digest = re.search(r'name="declaration_digest" value="([0-9a-f]{64})"', check.text).group(1)
    response = client.post(f"/applications/{complete}/check", data={
        "csrf_token": token(check.text), "declaration_digest": digest}, follow_redirects=False)
    assert response.status_code == 400 and 'href="#intent"' in response.text
    assert stored(app, complete)["state"] == "draft"


def test_an_incomplete_application_lists_what_to_fix(app, client, citizen):  # R: A-F6, A-F7
    app_id = start(client)
    fill(client, app_id, {k: PAGES[k] for k in ("applicant_kind", "person")})
    check = client.get(f"/applications/{app_id}/check")
    assert "คำขอยังยื่นไม่ได้" in check.text
    # the phone came from the profile (A-F2); the address is still missing
    assert f"/applications/{app_id}/pages/contact_details?errors=1&amp;return=check#f-applicant_address" in check.text
    assert "errors=1&amp;return=check#f-phone" not in check.text
    assert f"/applications/{app_id}/documents?return=check#doc-floor_plan" in check.text
    response = submit(client, app_id)
    assert response.status_code == 400
    assert f"/applications/{app_id}/pages/shop_details?errors=1&amp;return=check#f-shop_name" in response.text
    assert stored(app, app_id)["state"] == "draft"
    # following the link shows that page's errors at once
    page = client.get(f"/applications/{app_id}/pages/contact_details?errors=1&return=check")
    assert 'href="#f-applicant_address"' in page.text and 'name="return" value="check"' in page.text


def test_submitting_twice_gives_one_intake_number(app, client, complete):  # R: RC-1
    assert submit(client, complete).status_code == 303
    number = stored(app, complete)["intake_number"]
    check = client.get(f"/applications/{complete}/check", follow_redirects=False)
    assert check.status_code == 303  # no longer editable: to the status page
    again = client.post(f"/applications/{complete}/check", data={"csrf_token": csrf(client, "/applications"),
                                                                 "intent": "yes"}, follow_redirects=False)
    assert again.status_code == 303 and stored(app, complete)["intake_number"] == number


def test_sent_out_of_hours_is_registered_next_working_morning(app_factory, signed_in):  # R: RC-4, RC-3
    sunday_night = dt.datetime(2026, 6, 14, 21, 33, tzinfo=BANGKOK)
    app = app_factory(FIXTURES, clock=at(sunday_night))
    with TestClient(app) as client:
        signed_in(client, "night@example.com")
        app_id = start(client, "minimal-permit")
        post(client, page_url(app_id, "shop"), {"shop_name": "ร้าน", "shop_area": "20", "action": "continue"})
        assert submit(client, app_id).status_code == 303
        ack = client.get(f"/applications/{app_id}/submitted")
        assert "15 มิถุนายน พ.ศ. 2569 08:30 น." in ack.text  # Monday 08:30
        assert "ยื่นนอกเวลาราชการ" in ack.text and "02-123-4567" in ack.text


# --------------------------------------------------------------------------- address lists
def test_address_api_cascades(app, client):  # R: A-F3
    provinces = client.get("/api/address/provinces").json()
    assert any(p["name"] == "นนทบุรี" for p in provinces) and len(provinces) == 77
    districts = client.get("/api/address/districts", params={"province": "นนทบุรี"}).json()
    assert "เมืองนนทบุรี" in [d["name"] for d in districts]
    subs = client.get("/api/address/subdistricts", params={"province": "นนทบุรี", "district": "เมืองนนทบุรี"}).json()
    assert "บางกระสอ" in [s["name"] for s in subs]
    codes = client.get("/api/address/postcodes", params={"province": "นนทบุรี", "district": "เมืองนนทบุรี",
                                                         "subdistrict": "บางกระสอ"}).json()
    assert codes == ["11000"]
    assert client.get("/api/address/districts", params={"province": "ไม่มีจังหวัดนี้"}).json() == []


def test_address_inputs_work_without_javascript(app, client, draft):  # R: A-F3
    page = client.get(page_url(draft, "contact_details"))
    assert '<datalist id="address-provinces">' in page.text and '<option value="นนทบุรี">' in page.text
    # the districts of the province already entered are offered too
    assert '<option value="ปากเกร็ด">' in page.text
    assert 'autocomplete="postal-code"' in page.text  # this address is the applicant's own (prefill)
    assert 'name="applicant_address.postcode"' in page.text and 'maxlength="5"' in page.text


def test_pages_are_in_english_too(app, client, draft):
    page = client.get(page_url(draft, "shop_details") + "?lang=en")
    assert "Name of the shop or place" in page.text and "Save and continue" in page.text
    assert "Year" in page.text and "Year (B.E.)" not in page.text  # Gregorian in English (issue #10 item 6)
