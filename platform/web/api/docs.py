"""The OpenAPI 3.1 document and the page that links it."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ...renderers.openapi import build_openapi, docs_html
from ..context import get_context
from .http import _base, _ok, _public


def openapi_document(request: Request, body: bytes) -> Response:
    ctx = get_context(request)
    key = ("openapi", _base(request))
    cached = ctx.extra.get(key)
    if cached is None:
        cached = ctx.extra[key] = build_openapi(ctx.catalogue.current(), server_url=_base(request))
    return _public(_ok(cached))


def docs_page(request: Request, body: bytes) -> Response:
    ctx = get_context(request)
    document = build_openapi(ctx.catalogue.current(), server_url=_base(request))
    return HTMLResponse(docs_html(document, openapi_url="/openapi.json"))
