"""Attaching documents to an application, and downloading them again
(issue #3 item 4; A-F4, PR-4, PR-6).

Routes (names for ``url()``):

===============================================  ======================  =============================
``/applications/{app_id}/documents`` GET/POST    ``application_documents``  attach, remove, re-use files
``/applications/{app_id}/files/{sha256}`` GET    ``application_file``    an attached file (owner only)
===============================================  ======================  =============================

Every file is checked by its bytes (:mod:`eservice.documents`) before it is
kept.  Another person's application answers 404, never 403.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..engine import EngineError
from ..renderers.html import render
from .apply import _multi, _q, _return_to, _return_url, _visible, app_url, document_rows, is_editable, load_own, \
    page_url, see_other
from .context import get_context
from .convertors import matches
from .deps import applications, current_user, login_redirect
from .i18n import get_lang, pick

__all__ = ["routes", "reusable_files"]

MAX_FILES = 20


def _documents_module():
    try:
        from .. import documents
    except ImportError:  # pragma: no cover - the documents module ships with the platform
        return None
    return documents


def reusable_files(request: Request, record: Mapping[str, Any], actor: Any, doc_ids: set[str]) -> dict[str, list]:
    """Files this applicant attached to the same document id in their other
    applications, not attached here yet: ``{doc_id: [{sha256, filename, size, …, source}]}``."""
    ctx = get_context(request)
    out: dict[str, list] = {d: [] for d in doc_ids}
    seen: dict[str, set[str]] = {d: {x["sha256"] for x in record.get("documents", {}).get(d, [])} for d in doc_ids}
    for summary in applications(request).of_applicant(actor):
        if summary.get("id") == record["id"]:
            continue
        try:
            other = ctx.store.get_application(summary["id"])
        except Exception:
            continue
        if other.get("applicant") != actor.user_id:
            continue
        for doc_id, items in (other.get("documents") or {}).items():
            if doc_id not in doc_ids:
                continue
            for item in items:
                if item.get("sha256") in seen[doc_id] or not ctx.files.exists(item.get("sha256", "")):
                    continue
                seen[doc_id].add(item["sha256"])
                out[doc_id].append({**item, "source_title": other.get("title"),
                                    "source_reference": other.get("reference"),
                                    "source_intake": other.get("intake_number")})
    return out


def _doc_view(request: Request, record: dict, service: Any, actor: Any, *,
              errors: Mapping[str, list[str]] | None = None, status_code: int = 200,
              return_to: str | None = None, notice: str | None = None) -> Response:
    documents = _documents_module()
    rows = document_rows(request, record, service)
    reuse = reusable_files(request, record, actor, {r["doc"].id for r in rows})
    errors = dict(errors or {})
    for row in rows:
        doc = row["doc"]
        row["accept"] = documents.accept_attribute(doc) if documents else ""
        row["formats"] = [documents.format_label(f) if documents else f.upper() for f in doc.formats]
        row["max_size"] = f"{doc.max_size_mb.normalize():f}"
        row["reuse"] = reuse.get(doc.id, [])
        row["errors"] = errors.get(doc.id, [])
        row["has_sample"] = bool(doc.sample)
    summary = [{"text": message, "href": f"#file-{doc_id}"} for doc_id, messages in errors.items()
               for message in messages]
    back = _return_url(record, return_to)
    if back is None:
        if record["state"] != "draft":
            back = app_url(record["id"], "/status")
        elif _multi(service):
            back = app_url(record["id"])
        else:
            visible = _visible(request, service, record)
            back = page_url(record["id"], visible[-1][1].id) if visible else app_url(record["id"])
    return render(request, "apply/documents.html", status_code=status_code, record=record, service=service,
                  rows=rows, errors=summary, return_to=return_to, back_url=back, notice=notice,
                  continue_url=_return_url(record, return_to) or (
                      app_url(record["id"], "/check") if record["state"] == "draft"
                      else app_url(record["id"], "/status")))


def _too_large(documents: Any, filename: str, size: int, doc: Any) -> EngineError:
    refusal = getattr(documents, "_Refusal", None)
    if refusal is not None:
        try:
            refusal(documents.safe_filename(filename, fallback=doc.id), doc).too_large(size)
        except EngineError as exc:
            return exc
    limit = f"{doc.max_size_mb.normalize():f}"
    return EngineError("file_too_large", f'ไฟล์ "{filename}" มีขนาดเกิน {limit} MB กรุณาลดขนาดไฟล์แล้วแนบใหม่',
                       f'The file "{filename}" is over the limit of {limit} MB. Please make it smaller '
                       "and attach it again.", status=413)


async def application_documents(request: Request) -> Response:
    if current_user(request) is None:
        return login_redirect(request)
    app_id = request.path_params["app_id"]
    record, service, actor = load_own(request, app_id)
    lang = get_lang(request)
    if not is_editable(record, service):
        if request.method == "POST":
            raise HTTPException(409, detail=pick(lang, "คำขอนี้ยื่นแล้ว แก้ไขเอกสารไม่ได้",
                                                 "This application has been submitted; its documents cannot change"))
        return see_other(app_url(app_id, "/status"))
    if request.method == "GET":
        uploaded = request.query_params.get("uploaded")
        notice = None
        if uploaded:
            doc = next((d for d in service.definition.documents if d.id == uploaded), None)
            if doc is not None:
                notice = pick(lang, f"แนบ “{doc.title.th}” แล้ว", f"“{doc.title.get('en')}” attached")
        return _doc_view(request, record, service, actor, return_to=_return_to(request.query_params.get("return")),
                         notice=notice)

    documents = _documents_module()
    form = await request.form(max_files=MAX_FILES)
    try:
        return_to = _return_to(form.get("return"))
        action = form.get("action") or "upload"
        if "document" not in form:  # every form of the page names its document: a cut or broken body
            raise HTTPException(400, detail=pick(lang, "ข้อมูลแบบฟอร์มไม่ครบหรือไม่ถูกต้อง กรุณาโหลดหน้าใหม่แล้วส่งอีกครั้ง",
                                                 "The form data is incomplete or malformed; reload the page and "
                                                 "send it again"))
        doc_id = form.get("document") or ""
        applicable = {d.id: d for d in applications(request).applicable_documents(record)}
        doc = applicable.get(doc_id) if isinstance(doc_id, str) else None
        if doc is None:
            raise HTTPException(404)
        apps = applications(request)
        extra = {"return": return_to} if return_to else {}
        target = app_url(app_id, "/documents") + _q(uploaded=doc.id, **extra) + f"#doc-{doc.id}"
        if return_to == "status":
            target = app_url(app_id, "/status") + f"#doc-{doc.id}"
        try:
            if action == "remove":
                sha = form.get("sha256") or ""
                if not matches("sha256", sha):
                    raise HTTPException(400)
                apps.detach(app_id, actor, doc.id, sha)
                return see_other(app_url(app_id, "/documents") + _q(**extra) + f"#doc-{doc.id}")
            if action == "reuse":
                sha = form.get("sha256") or ""
                offered = reusable_files(request, record, actor, {doc.id}).get(doc.id, [])
                chosen = next((x for x in offered if x["sha256"] == sha), None)
                if chosen is None:
                    raise HTTPException(404)
                files = get_context(request).files
                data = await run_in_threadpool(files.get, sha)
                stored = await run_in_threadpool(documents.store_upload, files, data, chosen["filename"], doc)
                await run_in_threadpool(apps.attach, app_id, actor, doc.id, stored, replace=not doc.multiple)
                return see_other(target)
            uploads = [u for u in form.getlist("file") if hasattr(u, "read")]
            uploads = [u for u in uploads if (u.filename or "") != "" or (u.size or 0) > 0]
            if not uploads:
                message = pick(lang, f"กรุณาเลือกไฟล์ “{doc.title.th}” ก่อนกดแนบไฟล์",
                               f"Choose a file for “{doc.title.get('en')}” before pressing Attach")
                return _doc_view(request, record, service, actor, errors={doc.id: [message]}, status_code=422,
                                 return_to=return_to)
            if not doc.multiple:
                uploads = uploads[:1]
            limit = documents.limit_bytes(doc)
            problems: list[str] = []
            status = 422
            for upload in uploads:
                try:
                    if upload.size is not None and upload.size > limit:
                        raise _too_large(documents, upload.filename or "", upload.size, doc)
                    data = await upload.read()
                    # checking, storing and verifying (which may ask a CA) stay off the event loop
                    stored = await run_in_threadpool(documents.store_upload, get_context(request).files, data,
                                                     upload.filename or "", doc)
                    record = await run_in_threadpool(apps.attach, app_id, actor, doc.id, stored,
                                                     replace=not doc.multiple)
                except EngineError as exc:
                    if exc.status == 404 or exc.code == "not_found":
                        raise
                    problems.append(exc.text(lang))
                    status = exc.status if 400 <= exc.status < 500 else 422
            if problems:
                record, service, actor = load_own(request, app_id)
                return _doc_view(request, record, service, actor, errors={doc.id: problems},
                                 status_code=status, return_to=return_to)
            return see_other(target)
        except EngineError as exc:
            if exc.status == 404:
                raise HTTPException(404) from exc
            record, service, actor = load_own(request, app_id)
            return _doc_view(request, record, service, actor, errors={doc.id: [exc.text(lang)]},
                             status_code=exc.status if 400 <= exc.status < 500 else 422, return_to=return_to)
    finally:
        await form.close()


async def application_file(request: Request) -> Response:
    """An attached file, for its applicant only (downloaded, never shown inline)."""
    if current_user(request) is None:
        return login_redirect(request)
    record, _, _ = load_own(request, request.path_params["app_id"])
    sha = request.path_params["sha256"]
    item = next((x for items in record.get("documents", {}).values() for x in items if x["sha256"] == sha), None)
    if item is None:
        raise HTTPException(404)
    data = get_context(request).files.get(sha)
    name = item.get("filename") or "document"
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "document"
    return Response(data, media_type=item.get("media_type") or "application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'"})  # never a live document from our origin


routes = [
    Route("/applications/{app_id:app_id}/documents", application_documents, name="application_documents",
          methods=["GET", "POST"]),
    Route("/applications/{app_id:app_id}/files/{sha256:sha256}", application_file, name="application_file"),
]
