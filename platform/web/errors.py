"""The one place errors become responses (STYLE 2.5): the API's JSON error under
``/api``, the error page in Thai and English everywhere else.

==========================================  =========================================
what reaches the web layer                  answer
==========================================  =========================================
``HTTPException`` (404, 405, …)             its status; ``detail`` when one was given
a :class:`~eservice.errors.BilingualError`  its ``status`` and its own words; under
with a status below 500                     ``/api`` the API's shape
                                            (:func:`eservice.web.api.errors.api_error`,
                                            which gives engine problems their paths)
``ConflictError`` on a page                 409, "someone else changed this first" (A-R3)
``Throttled``, a locked account             429 with ``Retry-After`` (issue #17)
anything else, or a status of 500 or more   logged; the 500 page (503 for a busy store)
==========================================  =========================================
"""
from __future__ import annotations

import http
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from ..errors import BilingualError
from ..renderers.html import renderer_for
from ..store.base import ConflictError
from ..throttle import Throttled
from .api.errors import api_error
from .security import security_headers

__all__ = ["ERRORS", "error_response", "handle_error", "is_api", "server_error_handler"]

log = logging.getLogger("eservice.web")

ERRORS = {
    400: ("คำขอไม่ถูกต้อง", "Bad request"),
    401: ("กรุณาเข้าสู่ระบบ", "Please sign in"),
    403: ("ไม่มีสิทธิ์เข้าถึงหน้านี้", "You cannot see this page"),
    404: ("ไม่พบหน้าที่ต้องการ", "Page not found"),
    405: ("ไม่รองรับวิธีการเรียกนี้", "Method not allowed"),
    409: ("ข้อมูลถูกแก้ไขโดยผู้อื่นหรือสถานะเปลี่ยนไปแล้ว กรุณาโหลดหน้าใหม่",
          "Someone else changed this first, or its state has moved on; reload the page"),
    413: ("ไฟล์หรือข้อมูลมีขนาดใหญ่เกินไป", "Too large"),
    422: ("ข้อมูลไม่ถูกต้อง", "Invalid data"),
    429: ("มีการเรียกใช้บ่อยเกินไป", "Too many requests"),
    500: ("ระบบขัดข้อง", "Something went wrong"),
    503: ("ระบบไม่ว่างชั่วคราว กรุณาลองใหม่อีกครั้ง", "The service is busy; please try again"),
}


def is_api(conn: HTTPConnection) -> bool:
    path = conn.scope.get("path", "")
    return path == "/api" or path.startswith("/api/")


def _error_texts(status: int) -> tuple[str, str]:
    return ERRORS.get(status, (f"ข้อผิดพลาด {status}", f"Error {status}"))


def error_response(request: HTTPConnection, status: int, *, headers: dict | None = None,
                   reason: str | None = None, detail: Any = None) -> Response:
    """The error page (or JSON under /api) for ``status``."""
    th, en = _error_texts(status)
    if is_api(request):
        code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 413: "too_large", 429: "too_many_requests",
                500: "server_error"}.get(status, "error")
        body = {"error": {"status": status, "code": code, "th": th, "en": en, "errors": []}}
        if isinstance(detail, str) and detail and detail not in (th, en):
            body["error"]["detail"] = detail
        return JSONResponse(body, status_code=status, headers=headers)
    renderer = renderer_for(request)
    names = [f"errors/{status}.html", "errors/error.html"]
    template = renderer.env.select_template(names)
    html = renderer.render_string(request, template.name, status=status, title_th=th, title_en=en,
                                  reason=reason, detail=detail if isinstance(detail, str) else None)
    return HTMLResponse(html, status_code=status, headers=headers)


def _default_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _retry_headers(exc: BilingualError) -> dict[str, str]:
    """``Retry-After`` for a refusal that says when to try again (throttling, a locked account)."""
    retry_after = getattr(exc, "retry_after", None)
    if not retry_after:
        return {}
    return {"Retry-After": str(retry_after), "Cache-Control": "no-store"}


async def handle_error(request: Request, exc: Exception) -> Response:
    """The exception handler for ``HTTPException`` and every ``BilingualError``."""
    if isinstance(exc, HTTPException):
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=exc.headers)
        detail = exc.detail if exc.detail != _default_phrase(exc.status_code) else None
        return error_response(request, exc.status_code, headers=exc.headers, detail=detail)
    assert isinstance(exc, BilingualError)
    if 500 <= exc.status < 600:
        raise exc  # a fault, not a refusal: the server-error handler logs it
    if is_api(request):
        response = api_error(exc).response()
        response.headers.update(_retry_headers(exc))
        response.headers.setdefault("Cache-Control", "no-store")
        return response
    if isinstance(exc, ConflictError):  # someone else changed the record first: a clear 409 (A-R3)
        return error_response(request, 409)
    if isinstance(exc, Throttled):  # both languages: the time to wait matters more than the page's language
        return error_response(request, 429, headers=_retry_headers(exc), detail=str(exc))
    lang = "en" if getattr(request.state, "lang", None) == "en" else "th"
    return error_response(request, exc.status if 400 <= exc.status < 500 else 400,
                          headers=_retry_headers(exc) or None, detail=exc.text(lang))


def server_error_handler(https: bool) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The last resort (``ServerErrorMiddleware``): log, then the 500 page (503 for a busy store)."""
    async def handler(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        status = 500
        if isinstance(exc, BilingualError) and 500 <= exc.status < 600:
            status = exc.status
        try:
            response = error_response(request, status)
        except Exception:  # the error page itself failed: keep it plain
            th, en = _error_texts(status)
            response = PlainTextResponse(f"{th}\n{en}\n", status_code=status)
        # This response leaves through ServerErrorMiddleware, outside our middleware.
        for name, value in security_headers(https=https).items():
            response.headers.setdefault(name, value)
        return response
    return handler
