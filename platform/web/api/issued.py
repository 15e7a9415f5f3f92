"""Issued documents in the JSON API (issue #7; IS-3, A-D1).

=============================================================  ======  ================================
``/api/applications/{app_id}/issued/{sha256}``                 GET     a signed licence or letter (PDF)
=============================================================  ======  ================================

An application in the API lists what the agency issued under ``issued``
(:func:`issued_json`): kind, title, number, dates, who signed it, the
signature level and the ``href`` of the PDF.  As everywhere in the API, only
the token's own applications are visible; any other id or file answers 404.
The paths are described in ``/openapi.json`` (:func:`openapi_paths`).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...outputs import find_issued, issued_documents
from ..context import get_context, public_url
from ..deps import actor_for, applications
from ..issued import pdf_response
from .errors import ApiError
from .http import ALL_METHODS, endpoint
from .tokens import api_user

__all__ = ["issued_json", "openapi_paths", "routes"]

_APP_ID = re.compile(r"^app-[0-9a-f]{16}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def issued_json(request: Request, service: Any, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The documents an application holds, as the API shows them."""
    base = public_url(get_context(request).settings, request)
    return [{"kind": d["kind"], "id": d["id"], "title": d["title"], "number": d["number"],
             "issued_at": d["issued_at"], "valid_until": d["valid_until"],
             "signed_by": {"name": d["signer"], "position": d["position"]}, "signature_level": d["level"],
             "document_id": d["document_id"], "filename": d["filename"], "size": d["size"], "sha256": d["sha256"],
             "href": f"{base}/api/applications/{record['id']}/issued/{d['sha256']}"}
            for d in issued_documents(record, service)]


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "ไม่พบเอกสารนี้", "document not found")


def download(request: Request, body: bytes) -> Response:
    """GET: the PDF of one issued document of the token's own application."""
    _entry, user = api_user(request)
    actor = actor_for(user, request)
    app_id, sha = request.path_params["app_id"], request.path_params["sha256"]
    if not _APP_ID.match(app_id or "") or not _SHA256.match(sha or ""):
        raise _not_found()
    record = applications(request).get(app_id, actor, "view_own")
    files = get_context(request).files
    found = find_issued(record, sha) if record.get("applicant") == actor.user_id else None
    if found is None or files is None or not files.exists(sha):
        raise _not_found()
    return pdf_response(files.get(sha), found["filename"] or f"{sha[:16]}.pdf")


def openapi_paths() -> dict[str, Any]:
    """This module's paths for /openapi.json."""
    return {"/api/applications/{app_id}/issued/{sha256}": {"get": {
        "operationId": "getIssuedDocument", "tags": ["applications"], "security": [{"bearerToken": []}],
        "summary": "ดาวน์โหลดเอกสารที่หน่วยงานออก / Download an issued document",
        "description": "A licence, letter or notice the agency issued for this application: a PDF signed "
                       "with the agency's certificate (PAdES). The application's `issued` lists each with its "
                       "`href`. Another person's application or document answers 404.",
        "parameters": [
            {"name": "app_id", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "the application id (`app-…`)"},
            {"name": "sha256", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "`sha256` of an entry of the application's `issued`"}],
        "responses": {
            "200": {"description": "the signed PDF (sent as an attachment)",
                    "content": {"application/pdf": {"schema": {"type": "string",
                                                               "contentMediaType": "application/pdf"}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "404": {"$ref": "#/components/responses/NotFound"}},
    }}}


routes = [
    Route("/api/applications/{app_id}/issued/{sha256}", endpoint(get=download), methods=ALL_METHODS,
          name="api_issued_document"),
]
