"""Public verification of licences and letters (issue #7 items 5 and 9; PR-8, PL-1).

Routes (names for ``url()``):

==========================  ==========  ==========================================================
``GET  /verify``            ``verify``  the form; ``?licence=<number>`` (the QR code of a licence)
                                        or ``?document=<id>`` (of a letter) opens the result directly
``POST /verify``            ``verify``  an uploaded PDF (multipart, the CSRF token first)
==========================  ==========  ==========================================================

``/verify?token=…`` is the link of the account confirmation mail: it is handed
to :func:`eservice.web.accounts.verify_email` (this module's routes come first,
see ``ROUTE_MODULES``).

The answer says, in Thai and English: whether the document is intact (not
changed since it was signed), who signed it and when, whether the signer is
trusted, and what the register says about the licence now (its status and
published data).  A signature is *valid* only when it is intact **and** its
signer chains to a trusted root (:class:`~eservice.plugins.pdf_signature_verifier.PdfSignatureVerifier`
with the installation's trust bundle, ``Settings.trust_roots``, and the
platform's own agency CAs); an untrusted signer is reported as such and never
passes.

For a number or a document id the platform checks its own signed copy (the
file it issued); for an upload it checks the file given and recognises it as
one the platform issued when the signed revision's SHA-256 is in the index
(:meth:`eservice.register.Register.issued_document`), even if a reader
appended to the file later.  Nothing about the application or the applicant
is shown beyond the register's public fields.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..register import STATUS_TEXT
from ..renderers.html import render
from .context import get_context
from .register import register_of

__all__ = ["routes", "signed_revision"]

MAX_UPLOAD = 20 * 1024 * 1024
MAX_NUMBER = 100
_DOCUMENT = re.compile(r"^doc-[0-9a-f]{16}$")
_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def signed_revision(data: bytes) -> bytes | None:
    """The bytes the first signature covers (the file as it was signed), or None."""
    found = _BYTE_RANGE.search(data)
    if not found:
        return None
    start, length = int(found.group(3)), int(found.group(4))
    end = start + length
    return data[:end] if 0 < end <= len(data) else None


def _verifier(request: Request) -> Any:
    from ..plugins.pdf_signature_verifier import PdfSignatureVerifier

    ctx = get_context(request)
    found = ctx.extra.get("verify_page_verifier")
    if found is None:
        found = ctx.extra["verify_page_verifier"] = PdfSignatureVerifier(settings=ctx.settings)
    return found


def _check(request: Request, data: bytes) -> dict[str, Any]:
    """The verifier's answer, as the page shows it."""
    result = _verifier(request).verify(data)
    details = result.details or {}
    intact = bool(details.get("intact")) and not details.get("modified_after_signing")
    trusted = bool(details.get("trusted"))
    signatures = details.get("signatures") or []
    if result.ok:
        verdict = "valid"
    elif not signatures:
        verdict = "unsigned"
    elif intact and not trusted:
        verdict = "untrusted"
    else:
        verdict = "invalid"
    return {"verdict": verdict, "intact": intact if signatures else None, "trusted": trusted if signatures else None,
            "signatures": signatures,
            "messages": [{"code": m.code, "th": m.th, "en": m.en} for m in result.messages]}


def _issued_file(request: Request, document: dict[str, Any] | None) -> bytes | None:
    files = get_context(request).files
    sha = (document or {}).get("sha256")
    if not sha or files is None or not files.exists(sha):
        return None
    return files.get(sha)


def _for_number(request: Request, number: str) -> dict[str, Any]:
    register = register_of(request)
    entries = register.by_number(number)
    answer: dict[str, Any] = {"source": "licence", "asked": number, "entries": entries, "check": None,
                              "document": None}
    for entry in entries:
        document = entry.get("document") or {}
        data = _issued_file(request, document)
        if data is not None:
            answer["document"] = register.issued_document(sha256=document.get("sha256"))
            answer["check"] = _check(request, data)
            break
    return answer


def _for_document(request: Request, document_id: str) -> dict[str, Any]:
    register = register_of(request)
    document = register.issued_document(document_id=document_id)
    answer: dict[str, Any] = {"source": "document", "asked": document_id, "entries": [], "check": None,
                              "document": document}
    if document is not None:
        if document.get("entry"):
            found = register.get(document["entry"])
            answer["entries"] = [found] if found else []
        data = _issued_file(request, document)
        if data is not None:
            answer["check"] = _check(request, data)
    return answer


def _for_upload(request: Request, data: bytes, filename: str) -> dict[str, Any]:
    register = register_of(request)
    answer: dict[str, Any] = {"source": "upload", "asked": filename, "entries": [], "document": None,
                              "check": _check(request, data)}
    candidates = [data]
    revision = signed_revision(data)
    if revision is not None and revision != data:
        candidates.append(revision)
    for candidate in candidates:
        document = register.issued_document(sha256=hashlib.sha256(candidate).hexdigest())
        if document is not None:
            answer["document"] = document
            answer["exact"] = candidate is data
            if document.get("entry"):
                found = register.get(document["entry"])
                answer["entries"] = [found] if found else []
            break
    return answer


def _page(request: Request, answer: dict[str, Any] | None = None, *, status_code: int = 200,
          error: dict[str, str] | None = None, number: str = "") -> Response:
    return render(request, "verify/page.html", status_code=status_code, answer=answer, error=error,
                  number=number, statuses=STATUS_TEXT, max_mb=MAX_UPLOAD // (1024 * 1024))


async def verify(request: Request) -> Response:
    if request.method == "POST":
        return await _upload(request)
    number = (request.query_params.get("licence") or "").strip()
    document_id = (request.query_params.get("document") or "").strip()
    if "token" in request.query_params and not (number or document_id):  # an e-mail confirmation link
        from .accounts import verify_email

        return await verify_email(request)
    if number:
        if len(number) > MAX_NUMBER:
            return _page(request, status_code=422, number=number[:MAX_NUMBER], error={
                "th": f"เลขที่ใบอนุญาตยาวเกิน {MAX_NUMBER} ตัวอักษร", "en": f"licence numbers are at most "
                                                                        f"{MAX_NUMBER} characters"})
        return _page(request, await run_in_threadpool(_for_number, request, number), number=number)
    if document_id:
        if not _DOCUMENT.match(document_id):
            return _page(request, {"source": "document", "asked": document_id[:40], "entries": [], "check": None,
                                   "document": None})
        return _page(request, await run_in_threadpool(_for_document, request, document_id))
    return _page(request)


async def _upload(request: Request) -> Response:
    from .throttle import limit

    await run_in_threadpool(limit, request, "verify")
    form = await request.form(max_files=1, max_fields=5)
    upload = form.get("file")
    if not hasattr(upload, "read") or not (getattr(upload, "filename", "") or getattr(upload, "size", 0)):
        return _page(request, status_code=422, error={"th": "กรุณาเลือกไฟล์ PDF ที่จะตรวจสอบ",
                                                      "en": "Choose the PDF file to check", "field": "file"})
    if upload.size is not None and upload.size > MAX_UPLOAD:
        raise HTTPException(413, f"ไฟล์ใหญ่เกิน {MAX_UPLOAD // (1024 * 1024)} MB / "
                                 f"the file is larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    data = await upload.read()
    if not data.startswith(b"%PDF-"):
        return _page(request, status_code=422, error={"th": "ไฟล์นี้ไม่ใช่ PDF ตรวจสอบได้เฉพาะไฟล์ PDF",
                                                      "en": "This is not a PDF; only PDF files can be checked",
                                                      "field": "file"})
    name = (upload.filename or "document.pdf")[-150:]
    return _page(request, await run_in_threadpool(_for_upload, request, data, name))


routes = [Route("/verify", verify, name="verify", methods=["GET", "POST"])]
