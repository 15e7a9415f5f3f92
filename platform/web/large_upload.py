"""An applicant-only upload link for files too large for the form (A-F4).

A file that is big for a browser form on a slow connection can be sent through a
one-time link instead.  The body is streamed to the file store in chunks (never
held whole in memory while it arrives), the document's size limit is enforced
while streaming, and only then is the stored file checked by its content
(:func:`eservice.documents.check_upload`) and attached
(:meth:`Applications.attach`) exactly like a file from the documents page.

Routes (names for ``url()``):

=====================================================  ============================  ==========================
``/applications/{app_id}/documents/{doc_id}/large``    ``application_large_upload``  GET: explains the limit;
                                                                                     POST: issues a link
``/upload/{token}`` GET/POST/PUT                       ``large_upload``              GET: a file form; POST:
                                                                                     that form (multipart,
                                                                                     CSRF token first); PUT:
                                                                                     the raw body
                                                                                     (``?filename=``)
=====================================================  ============================  ==========================

Storage (store collection ``upload_links``), keyed by the SHA-256 of the token;
the token itself is shown once to its owner and never stored::

    {key, application, document, owner, created_at, expires_at, used, used_at, sha256}

A link works only for the signed-in owner (the session user must be the person
it was issued to: another person gets the same 404 as an unknown link), for 24
hours, once: it is claimed while a file streams in and marked used when the file
is attached.  A refused file (too large, wrong content…) releases the claim, so
the applicant can send a corrected file through the same link until it expires.
Like every unsafe request outside ``/api/``, a PUT needs the session's CSRF token
(``X-CSRF-Token`` header) besides the session cookie.  Refusals are Thai and
English (JSON ``{"error": {status, code, th, en, errors}}`` for a PUT) and never
change what is already attached.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import quote

import anyio.from_thread
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import documents
from ..engine import EngineError
from ..errors import BilingualError
from ..renderers.html import render
from ..store.base import ConflictError, NotFoundError
from .context import get_context, public_url
from .deps import actor_for, applications, current_user, login_redirect
from .i18n import get_lang, pick
from .security import csrf_token

__all__ = ["COLLECTION", "LINK_TTL", "routes"]

log = logging.getLogger("eservice.web.large_upload")

COLLECTION = "upload_links"
LINK_TTL = dt.timedelta(hours=24)
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, headers and the CSRF field around the file
MAX_FIELD = 1024  # bytes kept of a non-file multipart field
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,200}$")
NO_STORE = {"Cache-Control": "private, no-store"}


# ------------------------------------------------------------------ helpers
def _key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _links(request: Request):
    return get_context(request).store.collection(COLLECTION)


def _now(request: Request) -> dt.datetime:
    return get_context(request).clock.now()


def _docs_url(app_id: str, doc_id: str | None = None, **query: str) -> str:
    url = f"/applications/{quote(app_id)}/documents"
    if query:
        url += "?" + "&".join(f"{k}={quote(v)}" for k, v in query.items())
    return url + (f"#doc-{doc_id}" if doc_id else "")


def _apply():
    from . import apply  # the documents page owns load_own / is_editable

    return apply


class Refusal(BilingualError):
    """A refused request: HTTP status, stable code, Thai and English text."""

    def __init__(self, status: int, code: str, th: str, en: str):
        super().__init__(code, th, en, status=status)

    @classmethod
    def of(cls, exc: EngineError) -> "Refusal":
        status = exc.status if 400 <= exc.status < 500 else 422
        return cls(status, exc.code, exc.th, exc.en)


def _unknown() -> Refusal:
    return Refusal(404, "unknown_link", "ไม่พบลิงก์อัปโหลดนี้ ลิงก์อาจพิมพ์ผิด หรือไม่ใช่ลิงก์ของบัญชีที่เข้าสู่ระบบอยู่ "
                   "กรุณาขอลิงก์ใหม่จากหน้าแนบเอกสารของคำขอ",
                   "This upload link was not found. It may be mistyped, or it belongs to another account "
                   "than the one signed in. Please get a new link from the documents page of your application.")


def _used() -> Refusal:
    return Refusal(410, "link_used", "ลิงก์อัปโหลดนี้ใช้แนบไฟล์ไปแล้ว (ใช้ได้ครั้งเดียว) หากต้องการแนบไฟล์อื่น "
                   "กรุณาขอลิงก์ใหม่จากหน้าแนบเอกสาร",
                   "This upload link has already been used (it works once). To attach another file, please "
                   "get a new link from the documents page.")


def _expired() -> Refusal:
    return Refusal(410, "link_expired", "ลิงก์อัปโหลดนี้หมดอายุแล้ว (ใช้ได้ 24 ชั่วโมง) กรุณาขอลิงก์ใหม่จากหน้าแนบเอกสาร",
                   "This upload link has expired (links last 24 hours). Please get a new one from the "
                   "documents page.")


def _not_editable() -> Refusal:
    return Refusal(409, "not_editable", "คำขอนี้ยื่นแล้วหรืออยู่ระหว่างพิจารณา จึงแนบหรือเปลี่ยนเอกสารไม่ได้ในขณะนี้",
                   "This application has been submitted or is being considered, so its documents cannot "
                   "change now.")


def _not_applicable() -> Refusal:
    return Refusal(409, "document_not_applicable",
                   "คำตอบในคำขอตอนนี้ไม่ต้องใช้เอกสารนี้ จึงแนบไม่ได้ กรุณากลับไปดูรายการเอกสารที่ต้องแนบ",
                   "Your answers no longer call for this document, so it cannot be attached. Please go "
                   "back to the list of documents to attach.")


def _sign_in() -> Refusal:
    return Refusal(401, "sign_in", "กรุณาเข้าสู่ระบบด้วยบัญชีที่ขอลิงก์นี้ก่อนอัปโหลด",
                   "Please sign in with the account that asked for this link before uploading.")


def _over_limit(filename: str, doc: Any) -> Refusal:
    name = documents.safe_filename(filename, fallback=doc.id)
    limit = f"{doc.max_size_mb.normalize():f}"
    return Refusal(413, "file_too_large",
                   f'ไฟล์ "{name}" มีขนาดเกิน {limit} MB ซึ่งเป็นขนาดสูงสุดของเอกสารนี้ ระบบหยุดรับไฟล์แล้วและไม่ได้แนบไฟล์นี้ '
                   "กรุณาลดขนาดไฟล์ (เช่น สแกนด้วยความละเอียดต่ำลง หรือบีบอัดภาพ) แล้วส่งใหม่",
                   f'The file "{name}" is over {limit} MB, the limit for this document. It was stopped and '
                   "not attached. Please make it smaller (for example scan at a lower resolution or compress "
                   "the images) and send it again.")


def _choose_file(doc: Any) -> Refusal:
    return Refusal(422, "no_file", f"กรุณาเลือกไฟล์ “{doc.title.th}” ก่อนกดอัปโหลด",
                   f"Choose a file for “{doc.title.get('en')}” before pressing Upload.")


def _editable_doc(request: Request, record: dict, service: Any, doc_id: str) -> Any:
    """The document ``doc_id`` if the application may change and needs it now."""
    if not _apply().is_editable(record, service):
        raise _not_editable()
    applicable = {d.id: d for d in applications(request).applicable_documents(record)}
    doc = applicable.get(doc_id)
    if doc is None:
        raise _not_applicable()
    return doc


def _doc_context(doc: Any) -> dict[str, Any]:
    return {"doc": doc, "formats": [documents.format_label(f) for f in doc.formats],
            "accept": documents.accept_attribute(doc), "max_size": f"{doc.max_size_mb.normalize():f}"}


def _refused_page(request: Request, refusal: Refusal, *, back_url: str | None = None) -> Response:
    if request.method == "PUT":
        return JSONResponse({"error": {"status": refusal.status, "code": refusal.code, "th": refusal.th,
                                       "en": refusal.en, "errors": []}},
                            status_code=refusal.status, headers=NO_STORE)
    return render(request, "apply/large_upload_refused.html", status_code=refusal.status, headers=NO_STORE,
                  refusal=refusal, back_url=back_url)


# ------------------------------------------------------------------ issuing a link
async def large_upload_page(request: Request) -> Response:
    """GET: what the limit is and how the link works; POST: a new one-time link."""
    if current_user(request) is None:
        return login_redirect(request)
    app_id, doc_id = request.path_params["app_id"], request.path_params["doc_id"]
    apply = _apply()
    record, service, actor = await run_in_threadpool(apply.load_own, request, app_id)  # 404 for others
    if not any(d.id == doc_id for d in service.definition.documents):
        raise HTTPException(404)
    back = _docs_url(app_id, doc_id)
    try:
        doc = await run_in_threadpool(_editable_doc, request, record, service, doc_id)
    except Refusal as refusal:
        if refusal.code == "not_editable" and request.method == "GET":
            return RedirectResponse(f"/applications/{quote(app_id)}/status", status_code=303)
        return _refused_page(request, refusal, back_url=back)
    link = None
    if request.method == "POST":
        await request.form()  # the CSRF token only (checked by the middleware)
        token = secrets.token_urlsafe(32)
        now = _now(request)
        entry = {"key": _key(token), "application": app_id, "document": doc.id, "owner": actor.user_id,
                 "created_at": now.isoformat(), "expires_at": (now + LINK_TTL).isoformat(),
                 "used": False, "used_at": None, "sha256": None}
        await run_in_threadpool(_links(request).put, entry["key"], entry)
        path = f"/upload/{token}"
        link = {"url": public_url(get_context(request).settings, request, path), "path": path,
                "expires_at": now + LINK_TTL}
        log.info("upload link issued for %s/%s", app_id, doc.id)
    return render(request, "apply/large_upload.html", headers=NO_STORE, record=record, service=service,
                  link=link, back_url=back, **_doc_context(doc))


# ------------------------------------------------------------------ using a link
def _resolve(request: Request, token: str, user: dict) -> tuple[dict, dict, Any, Any, Any]:
    """(link, record, service, actor, doc) for a live link of ``user``, else Refusal."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise _unknown()
    link = _links(request).get(_key(token))
    if link is None or link.get("owner") != user["id"]:
        raise _unknown()  # another person's link answers exactly like an unknown one
    if link.get("used"):
        raise _used()
    if _now(request) >= dt.datetime.fromisoformat(link["expires_at"]):
        raise _expired()
    try:
        record, service, actor = _apply().load_own(request, link["application"])
    except HTTPException as exc:
        if exc.status_code == 404:
            raise _unknown() from exc
        raise
    doc = _editable_doc(request, record, service, link["document"])
    return link, record, service, actor, doc


def _claim(request: Request, link: dict) -> dict:
    """Mark the link used before reading the body, so two uploads cannot both use it."""
    try:
        return _links(request).put(link["key"], dict(link, used=True, used_at=_now(request).isoformat()),
                                   expected_version=link["version"])
    except (ConflictError, NotFoundError) as exc:
        raise _used() from exc


def _release(request: Request, link: dict) -> None:
    """A refused file gives the link back (until it expires)."""
    try:
        _links(request).put(link["key"], dict(link, used=False, used_at=None), expected_version=link["version"])
    except (ConflictError, NotFoundError):
        log.warning("could not release upload link %s", link["key"][:12])


def _finish(request: Request, link: dict, sha: str) -> None:
    try:
        _links(request).put(link["key"], dict(link, sha256=sha), expected_version=link["version"])
    except (ConflictError, NotFoundError):
        log.warning("could not record the file of upload link %s", link["key"][:12])


class _TooLarge(Exception):
    pass


class _FilePart:
    """A streaming multipart parser that passes on the bytes of the first file
    part only (other fields are kept up to MAX_FIELD bytes)."""

    def __init__(self, boundary: bytes):
        self.filename: str | None = None
        self.found = False
        self.fields: dict[str, str] = {}
        self.out: list[bytes] = []
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._state: str | None = None  # "file", "field" or "skip"
        self._name = ""
        self._value = bytearray()
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_part_data": self._data, "on_part_end": self._end,
            "on_header_field": self._hfield, "on_header_value": self._hvalue,
            "on_header_end": self._hend, "on_headers_finished": self._headers_done,
        })

    def _begin(self) -> None:
        self._disposition, self._state, self._value = b"", None, bytearray()

    def _hfield(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _hvalue(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _hend(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            if self.found:
                self._state = "skip"
            else:
                self.found, self._state = True, "file"
                self.filename = options[b"filename"].decode("utf-8", "replace")
        else:
            self._state = "field"

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._state == "file":
            self.out.append(bytes(data[start:end]))
        elif self._state == "field" and len(self._value) < MAX_FIELD:
            self._value.extend(data[start:min(end, start + MAX_FIELD - len(self._value))])

    def _end(self) -> None:
        if self._state == "field":
            self.fields.setdefault(self._name, self._value.decode("utf-8", "replace"))
        self._state = "skip"

    def feed(self, chunk: bytes) -> list[bytes]:
        self.parser.write(chunk)
        out, self.out = self.out, []
        return out

    def finish(self) -> list[bytes]:
        self.parser.finalize()
        out, self.out = self.out, []
        return out


class _Ingest:
    """Streams a request body (raw, or the file of a multipart form) into the
    file store from a worker thread, stopping at ``limit`` bytes."""

    def __init__(self, files: Any, next_chunk: Callable[[], Awaitable[bytes | None]], limit: int,
                 boundary: bytes | None = None):
        self.files = files
        self.next_chunk = next_chunk
        self.limit = limit
        self.part = _FilePart(boundary) if boundary else None
        self.size = 0
        self.sha: str | None = None
        self.existed = False

    @property
    def filename(self) -> str | None:
        return self.part.filename if self.part else None

    @property
    def found(self) -> bool:
        return self.part.found if self.part else True

    def _raw(self) -> Iterator[bytes]:
        total = 0
        overhead = MULTIPART_OVERHEAD if self.part else 0
        while True:
            chunk = anyio.from_thread.run(self.next_chunk)
            if chunk is None:
                return
            total += len(chunk)
            if total > self.limit + overhead:
                raise _TooLarge()
            if chunk:
                yield chunk

    def _body(self) -> Iterator[bytes]:
        if self.part is None:
            yield from self._raw()
            return
        for chunk in self._raw():
            yield from self.part.feed(chunk)
        yield from self.part.finish()

    def _limited(self) -> Iterator[bytes]:
        digest = hashlib.sha256()
        for chunk in self._body():
            self.size += len(chunk)
            if self.size > self.limit:
                raise _TooLarge()  # write_temp_file removes the partial file
            digest.update(chunk)
            yield chunk
        self.sha = digest.hexdigest()
        # known before put_stream moves the file into place: whether these bytes
        # were stored already (then a refusal must not remove them)
        self.existed = self.files.exists(self.sha)

    def run(self) -> str:
        sha = self.files.put_stream(self._limited())
        if sha != self.sha:  # cannot happen unless the store is broken
            raise RuntimeError("file store returned a different SHA-256")
        return sha

    def discard(self) -> None:
        """Remove a refused file this upload stored (never bytes that were there before)."""
        if self.sha and not self.existed:
            try:
                self.files.path(self.sha).unlink(missing_ok=True)
            except OSError:
                log.warning("could not remove refused upload %s", self.sha[:12])


def _check_stored(files: Any, sha: str, filename: str, doc: Any) -> dict[str, Any]:
    """Check the stored file by its content; what ``Applications.attach`` records."""
    data = files.get(sha)  # at most the document's limit: the stream stopped there
    checked = documents.check_upload(data, filename, doc)
    if checked.sha256 != sha:
        raise RuntimeError("stored file changed while it was checked")
    return checked.stored()


def _boundary(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "")
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        return b""
    return boundary


async def upload_link(request: Request) -> Response:
    token = request.path_params["token"]
    user = current_user(request)
    if user is None:
        if request.method == "GET":
            return login_redirect(request)
        return _refused_page(request, _sign_in())
    try:
        link, record, service, actor, doc = await run_in_threadpool(_resolve, request, token, user)
    except Refusal as refusal:
        return _refused_page(request, refusal)
    back = _docs_url(record["id"], doc.id)
    view = {"record": record, "service": service, "back_url": back, "expires_at":
            dt.datetime.fromisoformat(link["expires_at"]), "action": f"/upload/{token}",
            "put_url": public_url(get_context(request).settings, request, f"/upload/{token}"),
            "csrf": csrf_token(request), **_doc_context(doc)}
    if request.method == "GET":
        return render(request, "apply/large_upload_link.html", headers=NO_STORE, **view)

    put = request.method == "PUT"
    limit = documents.limit_bytes(doc)
    boundary = None if put else _boundary(request)
    filename = (request.query_params.get("filename") or "")[:1000] if put else ""

    def refuse(refusal: Refusal) -> Response:
        if put:
            return _refused_page(request, refusal)
        return render(request, "apply/large_upload_link.html", status_code=refusal.status, headers=NO_STORE,
                      errors=[{"text": pick(get_lang(request), refusal.th, refusal.en), "href": "#file"}],
                      refusal=refusal, **view)

    if not put and not boundary:
        return refuse(_choose_file(doc))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + (0 if put else MULTIPART_OVERHEAD):
        return refuse(_over_limit(filename or doc.id, doc))  # refused before a byte is read

    try:
        link = await run_in_threadpool(_claim, request, link)
    except Refusal as refusal:
        return refuse(refusal)

    stream = request.stream()

    async def next_chunk() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    ingest = _Ingest(get_context(request).files, next_chunk, limit, boundary)
    try:
        try:
            sha = await run_in_threadpool(ingest.run)
        except _TooLarge:
            raise _over_limit(filename or ingest.filename or doc.id, doc) from None
        if not put:
            filename = ingest.filename or ""
            if not ingest.found or (ingest.size == 0 and not filename):
                ingest.discard()
                raise _choose_file(doc)
        try:
            stored = await run_in_threadpool(_check_stored, get_context(request).files, sha,
                                             filename or doc.id, doc)
        except EngineError:
            await run_in_threadpool(ingest.discard)
            raise
        apps = applications(request)
        await run_in_threadpool(apps.attach, record["id"], actor, doc.id, stored, replace=not doc.multiple)
    except EngineError as exc:
        await run_in_threadpool(_release, request, link)
        if exc.status == 404 or exc.code == "not_found":
            return refuse(_unknown())
        if exc.code in ("not_editable", "not_allowed", "closed") or exc.status == 409:
            return refuse(Refusal(409, exc.code, exc.th, exc.en))
        return refuse(Refusal.of(exc))
    except Refusal as refusal:
        await run_in_threadpool(_release, request, link)
        return refuse(refusal)
    except ClientDisconnect:
        await run_in_threadpool(_release, request, link)
        return Response(status_code=400)
    except BaseException:
        await run_in_threadpool(_release, request, link)
        raise
    await run_in_threadpool(_finish, request, link, sha)
    log.info("large upload attached to %s/%s (%s bytes)", record["id"], doc.id, stored["size"])
    if put:
        return JSONResponse({"document": doc.id, "sha256": stored["sha256"], "filename": stored["filename"],
                             "media_type": stored["media_type"], "size": stored["size"],
                             "th": f"แนบไฟล์ “{stored['filename']}” กับเอกสาร “{doc.title.th}” แล้ว",
                             "en": f"“{stored['filename']}” attached to “{doc.title.get('en')}”"},
                            status_code=201, headers=NO_STORE)
    return RedirectResponse(_docs_url(record["id"], doc.id, uploaded=doc.id), status_code=303)


routes = [
    Route("/applications/{app_id:app_id}/documents/{doc_id:ident}/large", large_upload_page, name="application_large_upload",
          methods=["GET", "POST"]),
    Route("/upload/{token}", upload_link, name="large_upload", methods=["GET", "POST", "PUT"]),
]
