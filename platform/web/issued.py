"""Documents the agency issued: download, and the draft licence preview
(issue #7; A-L3, A-D1, IS-3).

Routes (names for ``url()``):

=================================================================  ==========================  ==================
``GET /applications/{app_id}/issued/{sha256}``                      ``issued_document``         a signed licence
                                                                                                or letter (PDF)
``GET /officer/applications/{app_id}/licences/{licence_id}/draft``  ``officer_licence_draft``   the draft licence
                                                                                                as a PDF marked
                                                                                                "ร่าง / DRAFT"
=================================================================  ==========================  ==================

A document goes to the applicant and to the officers who may see the
application (its agency, within their services); anyone else gets 404, as
for a document that does not exist.  Officers' downloads and previews are
written to the audit log.  PDFs are always sent as attachments, never shown
inline from our origin (issue #17).  The JSON API's download is in
:mod:`eservice.web.api.issued`.
"""
from __future__ import annotations

import re
from typing import Any

import anyio
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..engine import EngineError
from ..outputs import find_issued, may_download
from ..policy import allowed
from ..store import NotFoundError
from . import deps
from .context import get_context
from .i18n import get_lang

__all__ = ["routes", "pdf_response"]

_APP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
FILE_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"


def pdf_response(data: bytes, filename: str) -> Response:
    """A PDF to save, never to show inline (no script of a PDF runs from our origin)."""
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": FILE_CSP,
        "Cross-Origin-Resource-Policy": "same-origin"})


def _record(request: Request) -> dict[str, Any]:
    app_id = request.path_params["app_id"]
    if not _APP_ID.match(app_id or ""):
        raise HTTPException(404)
    try:
        return get_context(request).store.get_application(app_id)
    except (NotFoundError, ValueError):
        raise HTTPException(404) from None


def _audit(request: Request, actor: Any, action: str, record: dict, details: dict) -> None:
    from .officer import audit_log

    trail = audit_log(request)
    if trail is not None:
        trail.record(actor, action, target=record["id"], agency=record.get("agency", ""), details=details,
                     ip=actor.ip, user_agent=actor.user_agent)


async def issued_document(request: Request) -> Response:
    """One issued document, to the applicant or an officer who may see the application."""
    if deps.current_user(request) is None:
        return deps.login_redirect(request)
    actor = deps.current_actor(request)
    record = _record(request)
    sha = request.path_params["sha256"]
    found = find_issued(record, sha) if _SHA256.match(sha or "") else None
    files = get_context(request).files
    if found is None or not may_download(actor, record) or files is None or not files.exists(sha):
        raise HTTPException(404)
    if record.get("applicant") != actor.user_id:
        _audit(request, actor, "view_issued_document", record,
               {"document": found["document_id"], "sha256": sha, "kind": found["kind"], "id": found["id"]})
    data = await anyio.to_thread.run_sync(files.get, sha)
    return pdf_response(data, found["filename"] or f"{sha[:16]}.pdf")


async def licence_draft(request: Request) -> Response:
    """The draft licence for the officers who hold the application, before anyone signs it (A-L3)."""
    if deps.current_user(request) is None:
        return deps.login_redirect(request)
    actor = deps.current_actor(request)
    record = _record(request)
    if not actor.is_officer or not allowed(actor, "view_application", record):
        raise HTTPException(404)
    licence_id = request.path_params["licence_id"]
    item = (record.get("licences") or {}).get(licence_id) if _ID.match(licence_id or "") else None
    if not item or item.get("status") != "draft":
        raise HTTPException(404)
    engine = deps.engine(request)
    lang = get_lang(request)
    try:
        service = engine.service_of(record)
        licence = next(x for x in service.definition.outputs.licences if x.id == licence_id)
        ev, _extra = deps.workflow(request).bindings(record, service)
        outputs = engine.outputs
        if outputs is None:
            raise HTTPException(404)
        data = await anyio.to_thread.run_sync(lambda: outputs.preview_licence(record, service, licence, ev.values))
    except StopIteration:
        raise HTTPException(404) from None
    except EngineError as exc:
        raise HTTPException(exc.status, exc.text(lang)) from None
    _audit(request, actor, "preview_licence", record, {"licence": licence_id})
    return pdf_response(data, f"draft-{licence_id}-{record.get('reference') or record['id']}.pdf")


routes = [
    Route("/applications/{app_id}/issued/{sha256}", issued_document, name="issued_document"),
    Route("/officer/applications/{app_id}/licences/{licence_id}/draft", licence_draft,
          name="officer_licence_draft"),
]
