"""A file attached through the API: multipart with one file part, or the raw
bytes; checked by its bytes (PR-4, A-F6).
"""
from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from ..convertors import matches
from ..deps import applications
from .applications import _own, application_json
from .errors import ApiError, problem
from .http import _check_version, _etag, _expected_version, _ok, read_body
from .tokens import _actor

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around an upload


async def upload_document(request: Request) -> Response:
    """Attach a file: ``multipart/form-data`` with one file part, or the raw bytes
    with their ``Content-Type`` and ``?filename=``.  Checked by its bytes (PR-4, A-F6)."""
    from ...documents import limit_bytes, store_upload

    app_id, document_id = request.path_params["app_id"], request.path_params["document_id"]

    def prepare() -> tuple[Any, dict, Any]:
        actor = _actor(request)
        record = _own(request, app_id, actor)
        apps = applications(request)
        svc = apps.ctx.service_of(record)
        doc = next((d for d in svc.definition.documents if d.id == document_id), None) \
            if matches("ident", document_id) else None
        if doc is None:
            raise ApiError(404, "no_document", "ไม่มีเอกสารนี้ในบริการ", "no such document for this service",
                           [problem(f"documents.{document_id}", "no_document", "ไม่มีเอกสารนี้ในบริการ",
                                    "no such document for this service")])
        if doc.id not in {d.id for d in apps.applicable_documents(record)}:
            raise ApiError(422, "not_applicable", "เอกสารนี้ไม่ต้องแนบตามคำตอบในคำขอ",
                           "this document does not apply given the answers",
                           [problem(f"documents.{doc.id}", "not_applicable", "เอกสารนี้ไม่ต้องแนบตามคำตอบในคำขอ",
                                    "this document does not apply given the answers")])
        return actor, record, doc

    actor, record, doc = await run_in_threadpool(prepare)
    expected = _expected_version(request, {}, required=False)
    _check_version(record, expected)
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    limit = limit_bytes(doc)
    if kind == "multipart/form-data":
        raw = await read_body(request, limit + MULTIPART_OVERHEAD)

        async def replay():
            yield raw

        try:
            form = await MultiPartParser(request.headers, replay(), max_files=1, max_fields=10).parse()
        except MultiPartException as exc:
            raise ApiError(400, "invalid_multipart", "ข้อมูล multipart ไม่ถูกต้อง",
                           f"the multipart body is not valid: {exc.message}") from None
        uploads = [v for _, v in form.multi_items() if not isinstance(v, str)]
        if not uploads:
            raise ApiError(422, "no_file", "ไม่พบไฟล์ในคำขอ กรุณาส่งไฟล์ในส่วน multipart ชื่อ file",
                           "no file in the request; send it as a multipart part named `file`",
                           [problem(f"documents.{doc.id}", "no_file", "ไม่พบไฟล์", "no file")])
        upload = uploads[0]
        data = await upload.read()
        filename = upload.filename or "document"
        await form.close()
    elif kind in ("", "application/x-www-form-urlencoded"):
        raise ApiError(415, "unsupported_media_type",
                       "ส่งไฟล์แบบ multipart/form-data หรือส่งเนื้อไฟล์โดยตรงพร้อม Content-Type และ ?filename=",
                       "send multipart/form-data, or the raw bytes with their Content-Type and ?filename=")
    else:
        data = await read_body(request, limit)
        filename = request.query_params.get("filename") or "document"

    def store() -> Response:
        apps = applications(request)
        stored = store_upload(apps.ctx.files, data, filename, doc)
        saved = apps.attach(record["id"], actor, doc.id, stored, expected_version=expected)
        out = {"file": {**stored, "document": doc.id},
               "application": application_json(request, saved, actor=actor)}
        return _ok(out, 201, _etag(saved))

    return await run_in_threadpool(store)
