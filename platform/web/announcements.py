"""The head's announcements and orders (CH-2): signed by the head, published on the agency page.

=====================================================  ================================================
``GET  /agencies/{code}/announcements/{id}.pdf``       the signed PDF, for anyone (it is public)
``GET  /officer/agencies/{code}/announcements``        the head's page: each declared announcement,
                                                       its draft and what was published
``GET  /officer/agencies/{code}/announcements/{a}/draft.pdf``  the draft, unsigned, marked DRAFT
``POST /officer/agencies/{code}/announcements/{a}/publish``    sign (the agency's certificate) and publish
=====================================================  ================================================

Only the agency's ``head_of_agency`` may see the officers' pages and publish
(``publish_announcement`` in :mod:`eservice.policy`); anyone else gets 404.  The
agency's public page (:mod:`eservice.web.catalogue`) lists the newest signed
document of each announcement with its download link, and ``/verify`` checks
it like a letter (:mod:`eservice.outputs.announcements`).
"""
from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..outputs import OutputError
from ..outputs.announcements import (ANNOUNCEMENTS, KIND_TEXT, adopted_services, preview_announcement,
                                     publish_announcement, published)
from ..policy import allowed
from ..renderers.html import render
from . import deps
from .context import get_context

__all__ = ["routes"]

FLASH = "announcement_flash"
_DOCUMENT = re.compile(r"^doc-[0-9a-f]{16}$")


def _pdf(data: bytes, filename: str, *, inline: bool = True) -> Response:
    disposition = "inline" if inline else "attachment"
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'{disposition}; filename="{filename}"',
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


async def download(request: Request) -> Response:
    """A published announcement's signed PDF (public)."""
    ctx = get_context(request)
    document_id = request.path_params["document_id"]
    if not _DOCUMENT.match(document_id):
        raise HTTPException(404)
    item = ctx.store.collection(ANNOUNCEMENTS).get(document_id)
    if item is None or item.get("agency") != request.path_params["code"] or ctx.files is None \
            or not ctx.files.exists(item["sha256"]):
        raise HTTPException(404)
    return _pdf(await run_in_threadpool(ctx.files.get, item["sha256"]), item["filename"])


def _head(request: Request) -> tuple[Any, Any] | Response:
    """``(actor, agency)`` for the agency's head; a sign-in redirect; else 404."""
    if deps.current_user(request) is None:
        return deps.login_redirect(request)
    actor = deps.current_actor(request)
    agency = get_context(request).catalogue.agencies.get(request.path_params["code"])
    if agency is None or not allowed(actor, "publish_announcement", agency=agency.code):
        raise HTTPException(404)  # like an agency that does not exist: nothing to probe
    return actor, agency


def _declared(agency: Any, announcement_id: str) -> Any:
    found = next((a for a in agency.announcements if a.id == announcement_id), None)
    if found is None:
        raise HTTPException(404)
    return found


def _page(request: Request, agency: Any, *, status_code: int = 200, error: Any = None) -> Response:
    ctx = get_context(request)
    mine = sorted((i for i in ctx.store.collection(ANNOUNCEMENTS).all() if i.get("agency") == agency.code),
                  key=lambda i: (i["signed_at"], i.get("seq") or 0), reverse=True)
    rows = []
    for announcement in agency.announcements:
        rows.append({"declared": announcement, "kind": KIND_TEXT[announcement.kind],
                     "services": adopted_services(agency, announcement, ctx.catalogue),
                     "signed": [i for i in mine if i["announcement"] == announcement.id]})
    return render(request, "announcements/officer.html", status_code=status_code, agency=agency, rows=rows,
                  error=error, flash=request.session.pop(FLASH, None))


async def officer_page(request: Request) -> Response:
    found = await run_in_threadpool(_head, request)
    if isinstance(found, Response):
        return found
    return _page(request, found[1])


async def draft(request: Request) -> Response:
    found = await run_in_threadpool(_head, request)
    if isinstance(found, Response):
        return found
    actor, agency = found
    ctx = get_context(request)
    announcement = _declared(agency, request.path_params["announcement"])
    from ..runtime import outputs_of

    try:
        data = await run_in_threadpool(preview_announcement, outputs_of(ctx), agency,
                                       ctx.catalogue.agency_files[agency.code], announcement, ctx.catalogue,
                                       actor.name or actor.user_id)
    except OutputError as exc:
        return _page(request, agency, status_code=422, error={"th": exc.th, "en": exc.en})
    return _pdf(data, f"{agency.code}-{announcement.id}-draft.pdf")


async def publish(request: Request) -> Response:
    found = await run_in_threadpool(_head, request)
    if isinstance(found, Response):
        return found
    actor, agency = found
    ctx = get_context(request)
    announcement = _declared(agency, request.path_params["announcement"])
    from ..runtime import outputs_of
    from .register import _audit_log

    try:
        saved = await run_in_threadpool(publish_announcement, outputs_of(ctx), ctx.store, agency,
                                        ctx.catalogue.agency_files[agency.code], announcement, ctx.catalogue, actor,
                                        _audit_log(request))
    except OutputError as exc:  # nothing kept: say why, in Thai and English
        return _page(request, agency, status_code=422, error={"th": exc.th, "en": exc.en})
    request.session[FLASH] = {"th": f"ลงนามและเผยแพร่ “{saved['title']['th']}” ในหน้าหน่วยงานแล้ว",
                              "en": f"“{saved['title']['en']}” is signed and published on the agency page"}
    return RedirectResponse(request.app.url_path_for("officer_announcements", code=agency.code), status_code=303)


def agency_announcements(request: Request, code: str) -> list[dict[str, Any]]:
    """What the agency's public page lists: the newest signed document of each."""
    return [dict(item, kind_text=KIND_TEXT.get(item["kind"], KIND_TEXT["announcement"]))
            for item in published(get_context(request).store, code)]


routes = [
    Route("/agencies/{code:slug}/announcements/{document_id}.pdf", download, name="announcement_pdf"),
    Route("/officer/agencies/{code:slug}/announcements", officer_page, name="officer_announcements"),
    Route("/officer/agencies/{code:slug}/announcements/{announcement:ident}/draft.pdf", draft,
          name="announcement_draft"),
    Route("/officer/agencies/{code:slug}/announcements/{announcement:ident}/publish", publish,
          name="announcement_publish", methods=["POST"]),
]
