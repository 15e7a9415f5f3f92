"""The web application factory (issue #2; ARCHITECTURE "Web").

``create_app(settings)`` builds one Starlette app: it loads and checks every
definition (a definition problem stops the start, printed clearly, without a
traceback), opens the store, the file store and the clock once into an
:class:`~eservice.web.context.AppContext` (``request.app.state.ctx``), and
mounts the routes.  ``eservice serve`` runs it through uvicorn with
``factory=True``; tests call ``create_app(Settings(data=tmp, definitions=(…,)))``.

Route modules — the convention
------------------------------
Each part of the web layer is one module in ``platform/web/`` exposing a
module-level list ``routes`` of Starlette routes (``Route``, ``Mount``, …), or a
function ``routes()`` returning one.  The modules named in
:data:`ROUTE_MODULES` are imported *if they exist*, in that order, so another
part can be added by creating its module, without editing this file::

    # platform/web/track.py
    from starlette.routing import Route
    from ..renderers.html import render
    from .context import get_context

    async def track(request):
        ctx = get_context(request)            # settings, catalogue, store, files, clock
        return render(request, "track/find.html")

    routes = [Route("/track", track, name="track", methods=["GET", "POST"])]

An import error *inside* an existing module is not hidden.  Plugins add routes
through the ``eservice_routes`` hook (:mod:`eservice.plugin_api`); they come
after the platform's own, so they can never shadow them.  Give routes a
``name``: templates link with ``url("name", …)`` and show navigation items only
when ``has_route("name")``.

Middleware (outermost first): security headers → sessions (signed cookie,
``SameSite=Lax``, ``Secure`` when the base URL is https) → language →
CSRF (every unsafe method outside ``/api/``).  See :mod:`eservice.web.security`.

Errors: 404/403/405/500 and the rest are pages in Thai and English
(``renderers/templates/errors/``); under ``/api/`` they are JSON
``{"error": {"status", "th", "en"}}``.
"""
from __future__ import annotations

import contextlib
import importlib
import logging
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from ..renderers.html import STATIC, renderer_for
from ..engine import EngineError
from ..store.base import ConflictError
from ..throttle import Throttled
from .context import AppContext, Settings, StartupError, check_public_address
from .i18n import LanguageMiddleware
from .security import REFUSAL_TEXTS, CSRFMiddleware, SecurityHeadersMiddleware, refusal_status, \
    security_headers

__all__ = ["ROUTE_MODULES", "SESSION_COOKIE", "create_app", "collect_routes", "error_response"]

log = logging.getLogger("eservice.web")

# Optional parts of the web layer, imported when present (see the docstring).
# "verify" comes before "accounts": GET /verify is the public document check, and it hands the
# e-mail confirmation links (/verify?token=…) on to accounts.verify_email.
ROUTE_MODULES: tuple[str, ...] = (
    "catalogue", "verify", "accounts", "large_upload", "apply", "track", "api", "api_documents", "issued",
    "officer_reports", "officer", "register",
)
SESSION_COOKIE = "eservice_session"
SESSION_MAX_AGE = 8 * 3600  # a working day; sign-in lasts no longer

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
}


def _module_routes(name: str) -> list[BaseRoute]:
    full = f"{__package__}.{name}"
    try:
        module = importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name == full:
            return []
        raise
    found = getattr(module, "routes", None)
    if callable(found):
        found = found()
    return list(found or [])


def _plugin_routes() -> list[BaseRoute]:
    try:
        from ..plugin_api import routes as plugin_routes
    except ImportError:  # pragma: no cover - the plugin API is part of the platform
        return []
    return list(plugin_routes())


def collect_routes(modules: Sequence[str] = ROUTE_MODULES, *, plugins: bool = True) -> list[BaseRoute]:
    """Static files, then the route modules that exist, then plugin routes."""
    out: list[BaseRoute] = [Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static")]
    for name in modules:
        out.extend(_module_routes(name))
    if plugins:
        out.extend(_plugin_routes())
    return out


# ------------------------------------------------------------------ errors
def _is_api(conn: HTTPConnection) -> bool:
    path = conn.scope.get("path", "")
    return path == "/api" or path.startswith("/api/")


def _error_texts(status: int) -> tuple[str, str]:
    return ERRORS.get(status, (f"ข้อผิดพลาด {status}", f"Error {status}"))


def error_response(request: HTTPConnection, status: int, *, headers: dict | None = None,
                   reason: str | None = None, detail: Any = None) -> Response:
    """The error page (or JSON under /api) for ``status``."""
    th, en = _error_texts(status)
    if _is_api(request):
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


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    detail = exc.detail if exc.detail != _default_phrase(exc.status_code) else None
    return error_response(request, exc.status_code, headers=exc.headers, detail=detail)


async def _conflict(request: Request, exc: Exception) -> Response:
    """Someone else changed the record first: a clear 409, never a 500 (A-R3)."""
    return error_response(request, 409)


async def _engine_error(request: Request, exc: Exception) -> Response:
    """An engine refusal no handler caught: its own status and bilingual text, never a 500."""
    assert isinstance(exc, EngineError)
    lang = "en" if getattr(request.state, "lang", None) == "en" else "th"
    return error_response(request, exc.status if 400 <= exc.status < 600 else 400, detail=exc.text(lang))


async def _throttled(request: Request, exc: Exception) -> Response:
    """Too many attempts (issue #17): 429 with Retry-After, the API's shape under /api."""
    assert isinstance(exc, Throttled)
    headers = {"Retry-After": str(exc.retry_after), "Cache-Control": "no-store"}
    if _is_api(request):
        body = {"error": {"status": 429, "code": "too_many_requests", "th": exc.th, "en": exc.en, "errors": []}}
        return JSONResponse(body, status_code=429, headers=headers)
    return error_response(request, 429, headers=headers, detail=str(exc))


def _default_phrase(status: int) -> str:
    import http
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _server_error_handler(https: bool):
    async def handler(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        try:
            response = error_response(request, 500)
        except Exception:  # the error page itself failed: keep it plain
            th, en = _error_texts(500)
            response = PlainTextResponse(f"{th}\n{en}\n", status_code=500)
        # This response leaves through ServerErrorMiddleware, outside our middleware.
        for name, value in security_headers(https=https).items():
            response.headers.setdefault(name, value)
        return response
    return handler


def _csrf_refused(conn: HTTPConnection, reason: str) -> Response:
    """A refusal of CSRFMiddleware: 403, or 400/413 when the form's body is at fault."""
    status = refusal_status(reason)
    request = Request(conn.scope)
    detail = None
    if status == 413:  # say the limit, in the page's language (the other one is below it)
        detail = REFUSAL_TEXTS[413][1 if getattr(request.state, "lang", None) == "en" else 0]
    return error_response(request, status, reason=f"{'csrf' if status == 403 else 'form'}:{reason}", detail=detail)


# ------------------------------------------------------------------ factory
def create_app(settings: Settings | None = None, *, clock: Any = None, store: Any = None,
               catalogue: Any = None, extra_routes: Iterable[BaseRoute] = (),
               route_modules: Sequence[str] = ROUTE_MODULES, plugins: bool = True) -> Starlette:
    """The platform as an ASGI app.  ``clock``, ``store`` and ``catalogue`` may be
    given (tests, demos); otherwise they are built from ``settings``
    (``Settings.from_env()`` when None).  ``extra_routes`` come first."""
    try:
        if settings is None:  # the server (eservice serve, uvicorn --factory): no public address, no start
            settings = Settings.from_env()
            check_public_address(settings)
        ctx = AppContext.build(settings, catalogue=catalogue, clock=clock, store=store)
    except StartupError as exc:
        print(f"eservice: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        from ..worker import start_background, stop_background  # timers, SLA alerts, digests (issue #4)

        worker = start_background(app)  # one process runs the jobs (a file lock in the data folder)
        try:
            yield
        finally:
            await stop_background(worker)
            ctx.close()

    middleware = [
        Middleware(SecurityHeadersMiddleware, https=settings.https),
        Middleware(SessionMiddleware, secret_key=ctx.secret, session_cookie=SESSION_COOKIE,
                   max_age=SESSION_MAX_AGE, same_site="lax", https_only=settings.https),
        Middleware(LanguageMiddleware, secure=settings.https),
        Middleware(CSRFMiddleware, on_refuse=_csrf_refused),
    ]
    if settings.base_url or settings.allowed_hosts:
        # Links never follow the Host header (public_url); refusing a foreign one is defence in depth.
        from urllib.parse import urlsplit

        from starlette.middleware.trustedhost import TrustedHostMiddleware

        hosts = [urlsplit(settings.base_url).hostname] if settings.base_url else []
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=[
            *[h for h in hosts if h], *settings.allowed_hosts, "127.0.0.1", "localhost", "::1"]))
    elif not settings.demo:
        log.warning("no ESERVICE_BASE_URL: links in e-mails point at %s", settings.public_base_url)
    routes = [*extra_routes, *collect_routes(route_modules, plugins=plugins)]
    app = Starlette(
        debug=settings.debug, routes=routes, middleware=middleware, lifespan=lifespan,
        exception_handlers={HTTPException: _http_exception, ConflictError: _conflict, EngineError: _engine_error,
                            Throttled: _throttled,
                            500: _server_error_handler(settings.https)},
    )
    app.state.ctx = ctx
    return app

