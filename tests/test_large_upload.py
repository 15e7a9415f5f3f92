"""The applicant-only upload link for files too large for the form (A-F4).

Runs the real app with the example food-shop-permit service (``id_card_copy``:
PDF/JPEG/PNG up to 5 MB, always needed).  A link is issued from the documents
page, then the file is PUT as a raw body (as curl would) or posted with the
link's own form; refusals are checked to attach nothing and leave no file.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from eservice.documents import limit_bytes

from test_web_apply import at, pdf_bytes, png_bytes, start, stored, token

DOC = "id_card_copy"


@pytest.fixture
def app(app_factory):
    return app_factory(clock=at())


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def citizen(client, signed_in):
    return signed_in(client, "somchai@example.com", {"first_name": "สมชาย", "last_name": "ใจดี"})


@pytest.fixture
def app_id(client, citizen):
    return start(client)


def issue(client: TestClient, app_id: str, doc: str = DOC) -> str:
    """Follow the documents page's link, ask for an upload link; return its path."""
    docs = client.get(f"/applications/{app_id}/documents")
    large = f"/applications/{app_id}/documents/{doc}/large"
    assert f'href="{large}"' in docs.text
    page = client.get(large)
    assert page.status_code == 200, page.text[:1000]
    assert "5 MB" in page.text
    response = client.post(large, data={"csrf_token": token(page.text)}, follow_redirects=False)
    assert response.status_code == 200, response.text[:1000]
    assert response.headers["cache-control"] == "private, no-store"
    found = re.search(r'href="(/upload/[A-Za-z0-9_-]{43})"', response.text)
    assert found, response.text[:2000]
    return found.group(1)


def put(client: TestClient, link: str, content, filename: str = "scan.pdf", csrf: str | None = None):
    """A raw PUT, as curl would send it (session cookie plus the X-CSRF-Token header)."""
    csrf = csrf or session_csrf(client)
    return client.put(link, content=content, params={"filename": filename},
                      headers={"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"})


def session_csrf(client: TestClient, app_id: str | None = None) -> str:
    """The session's CSRF token (from any page with a form)."""
    return token(client.get("/apply/food-shop-permit").text)


def stored_files(app) -> list[Path]:
    root = app.state.ctx.files.root
    return sorted(p for p in root.rglob("*") if p.is_file())


def links(app) -> list[dict]:
    return list(app.state.ctx.store.collection("upload_links").all())


# --------------------------------------------------------------------------- the happy path
def test_put_a_real_pdf_attaches_it_with_its_sha256(app, client, app_id):
    link = issue(client, app_id)
    [entry] = links(app)
    token_part = link.rsplit("/", 1)[1]
    assert entry["key"] == hashlib.sha256(token_part.encode()).hexdigest()  # only the hash is stored
    assert token_part not in str(entry)
    assert entry["owner"] and entry["application"] == app_id and entry["document"] == DOC
    assert entry["used"] is False

    data = pdf_bytes("large scan")
    response = put(client, link, data, filename="บัตรประชาชน.pdf", csrf=session_csrf(client, app_id))
    assert response.status_code == 201, response.text
    sha = hashlib.sha256(data).hexdigest()
    assert response.json()["sha256"] == sha
    [item] = stored(app, app_id)["documents"][DOC]
    assert item["sha256"] == sha and item["size"] == len(data)
    assert item["filename"] == "บัตรประชาชน.pdf" and item["media_type"] == "application/pdf"
    assert app.state.ctx.files.get(sha) == data
    assert links(app)[0]["used"] is True and links(app)[0]["sha256"] == sha

    # one time only: the same token is refused, nothing changes
    again = put(client, link, pdf_bytes("other"), csrf=session_csrf(client, app_id))
    assert again.status_code == 410
    error = again.json()["error"]
    assert error["code"] == "link_used" and "ใช้แนบไฟล์ไปแล้ว" in error["th"] and "already been used" in error["en"]
    assert [x["sha256"] for x in stored(app, app_id)["documents"][DOC]] == [sha]
    page = client.get(link)
    assert page.status_code == 410 and "already been used" in page.text and "ใช้แนบไฟล์ไปแล้ว" in page.text


def test_the_link_page_form_posts_multipart_with_csrf_first(app, client, app_id):
    link = issue(client, app_id)
    page = client.get(link)
    assert page.status_code == 200
    form = page.text[page.text.index('enctype="multipart/form-data"'):]
    assert form.index('name="csrf_token"') < form.index('name="file"')  # the token comes first
    data = pdf_bytes("from the form")
    fields = [("csrf_token", (None, token(page.text))), ("file", ("scan.pdf", data, "application/pdf"))]
    response = client.post(link, files=fields, follow_redirects=False)
    assert response.status_code == 303, response.text[:2000]
    assert response.headers["location"].startswith(f"/applications/{app_id}/documents?uploaded={DOC}")
    assert stored(app, app_id)["documents"][DOC][0]["sha256"] == hashlib.sha256(data).hexdigest()

    # a form post with no file chosen keeps the link usable and says what to do
    link2 = issue(client, app_id)
    page = client.get(link2)
    empty = client.post(link2, files=[("csrf_token", (None, token(page.text))),
                                      ("file", ("", b"", "application/octet-stream"))])
    assert empty.status_code == 422 and "กรุณาเลือกไฟล์" in empty.text
    assert client.get(link2).status_code == 200


def test_without_the_csrf_token_a_put_is_refused(app, client, app_id):
    link = issue(client, app_id)
    response = client.put(link, content=pdf_bytes(), params={"filename": "a.pdf"})
    assert response.status_code == 403
    assert DOC not in stored(app, app_id)["documents"]


# --------------------------------------------------------------------------- refusals
def test_an_expired_link_is_refused(app, client, app_id):
    link = issue(client, app_id)
    app.state.ctx.clock.advance(hours=24, minutes=1)
    response = put(client, link, pdf_bytes(), csrf=session_csrf(client, app_id))
    assert response.status_code == 410
    error = response.json()["error"]
    assert error["code"] == "link_expired" and "หมดอายุ" in error["th"] and "expired" in error["en"]
    assert DOC not in stored(app, app_id)["documents"]


def test_another_user_gets_404(app, client, app_id, signed_in):
    link = issue(client, app_id)
    with TestClient(app) as intruder:
        signed_in(intruder, "somsri@example.com", {"first_name": "สมศรี"})
        csrf = session_csrf(intruder)
        assert intruder.get(link).status_code == 404
        response = intruder.put(link, content=pdf_bytes(), params={"filename": "a.pdf"},
                                headers={"X-CSRF-Token": csrf})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "unknown_link"
        assert intruder.get(f"/applications/{app_id}/documents/{DOC}/large").status_code == 404
    assert DOC not in stored(app, app_id)["documents"]
    # the owner can still use it
    assert put(client, link, pdf_bytes(), csrf=session_csrf(client, app_id)).status_code == 201


def test_unknown_token_and_signed_out(app, client, app_id):
    csrf = session_csrf(client, app_id)
    response = client.put("/upload/" + "x" * 43, content=b"abc", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 404 and "ไม่พบลิงก์" in response.json()["error"]["th"]
    link = issue(client, app_id)
    with TestClient(app) as anonymous:
        page = anonymous.get(link, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_an_oversize_stream_is_stopped_with_413_and_leaves_nothing(app, client, app_id):
    link = issue(client, app_id)
    before = stored_files(app)
    doc = next(d for d in app.state.ctx.catalogue.latest("food-shop-permit").definition.documents if d.id == DOC)
    limit = limit_bytes(doc)
    head = pdf_bytes()

    def body():  # streamed in chunks, no Content-Length: the limit is found while reading
        yield head
        sent = len(head)
        while sent <= limit:
            yield b"\0" * 65536
            sent += 65536

    response = put(client, link, body(), csrf=session_csrf(client, app_id))
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "file_too_large" and "5 MB" in error["th"] and "5 MB" in error["en"]
    assert DOC not in stored(app, app_id)["documents"]
    assert stored_files(app) == before  # no partial file, in incoming/ or anywhere
    assert links(app)[0]["used"] is False  # a refusal gives the link back

    # a declared Content-Length over the limit is refused before anything is read
    big = put(client, link, b"\0" * (limit + 1), csrf=session_csrf(client, app_id))
    assert big.status_code == 413
    assert stored_files(app) == before

    # and the link still works for a smaller file
    assert put(client, link, pdf_bytes(), csrf=session_csrf(client, app_id)).status_code == 201


def test_the_limit_is_enforced_while_chunks_arrive(app, client, app_id):
    """Through an ASGI transport that really sends the body in chunks: reading stops
    soon after the limit, the partial file is removed, nothing is attached."""
    import anyio
    import httpx

    link = issue(client, app_id)
    csrf = session_csrf(client)
    before = stored_files(app)
    chunk, chunks = 256 * 1024, 40  # 10 MiB offered, the limit is 5 MiB
    sent = []

    async def body():
        yield pdf_bytes()
        for _ in range(chunks):
            sent.append(1)
            yield b"\0" * chunk

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                     cookies=dict(client.cookies)) as ac:
            return await ac.put(link, content=body(), params={"filename": "big.pdf"},
                                headers={"X-CSRF-Token": csrf})

    response = anyio.run(go)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "file_too_large"
    assert len(sent) < chunks  # stopped reading: the rest was never consumed
    assert DOC not in stored(app, app_id)["documents"]
    assert stored_files(app) == before


def test_a_disguised_file_is_refused_by_its_content(app, client, app_id):
    link = issue(client, app_id)
    before = stored_files(app)
    response = put(client, link, png_bytes(), filename="scan.pdf", csrf=session_csrf(client, app_id))
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "extension_mismatch"
    assert "ภาพ PNG" in error["th"] and "a PNG image" in error["en"]
    assert DOC not in stored(app, app_id)["documents"]
    assert stored_files(app) == before  # the refused bytes were not kept

    # the same through the form: the page shows both languages
    page = client.get(link)
    fields = [("csrf_token", (None, token(page.text))), ("file", ("scan.pdf", png_bytes(), "application/pdf"))]
    shown = client.post(link, files=fields)
    assert shown.status_code == 415 and "ภาพ PNG" in shown.text and "a PNG image" in shown.text


def test_a_refusal_keeps_what_is_already_attached(app, client, app_id):
    first = pdf_bytes("first")
    link = issue(client, app_id)
    assert put(client, link, first, csrf=session_csrf(client, app_id)).status_code == 201
    link2 = issue(client, app_id)
    assert put(client, link2, b"not a document \x00\x01", filename="x.pdf",
               csrf=session_csrf(client, app_id)).status_code in (415, 422)
    assert [x["sha256"] for x in stored(app, app_id)["documents"][DOC]] == [hashlib.sha256(first).hexdigest()]
    assert app.state.ctx.files.exists(hashlib.sha256(first).hexdigest())


def test_a_document_not_applicable_is_refused(app, client, app_id):
    # company_certificate is only for a juristic person; this draft has no answers yet
    response = client.get(f"/applications/{app_id}/documents/company_certificate/large")
    assert response.status_code == 409
    assert "ไม่ต้องใช้เอกสารนี้" in response.text and "no longer call for this document" in response.text
    assert client.get(f"/applications/{app_id}/documents/nope/large").status_code == 404


def test_a_link_for_an_application_no_longer_editable_is_refused(app, client, app_id):
    link = issue(client, app_id)
    store = app.state.ctx.store
    record = store.get_application(app_id)
    record["state"] = "submitted"
    store.update_application(record, record["version"])
    response = put(client, link, pdf_bytes(), csrf=session_csrf(client, app_id))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "not_editable" and "แนบหรือเปลี่ยนเอกสารไม่ได้" in error["th"]
    assert DOC not in store.get_application(app_id)["documents"]


def test_the_multipart_stream_parser_passes_only_the_file_across_chunk_boundaries():
    from eservice.web.large_upload import _FilePart

    data = pdf_bytes("split") + b"\r\n--not-the-boundary\r\n"
    boundary = b"----xyzBOUNDARY"
    body = (b"------xyzBOUNDARY\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok\r\n"
            b"------xyzBOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.pdf\"\r\n"
            b"Content-Type: application/pdf\r\n\r\n" + data + b"\r\n"
            b"------xyzBOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"second.pdf\"\r\n\r\n"
            b"ignored\r\n------xyzBOUNDARY--\r\n")
    for size in (1, 7, 4096):
        part, out = _FilePart(boundary), []
        for i in range(0, len(body), size):
            out += part.feed(body[i:i + size])
        out += part.finish()
        assert b"".join(out) == data
        assert part.filename == "a b.pdf" and part.fields == {"csrf_token": "tok"}
