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
function ``routes()`` returning one.  :data:`ROUTE_MODULES` imports them by
name, in the order they are matched, so a missing module stops the start
instead of leaving its pages out; a new part is one module and one name here::

    # platform/web/track.py
    from starlette.routing import Route
    from ..renderers.html import render
    from .context import get_context

    async def track(request):
        ctx = get_context(request)            # settings, catalogue, store, files, clock
        return render(request, "track/find.html")

    routes = [Route("/track", track, name="track", methods=["GET", "POST"])]

Plugins add routes through the ``eservice_routes`` hook (:mod:`eservice.plugin_api`);
they come after the platform's own, so they can never shadow them.  Give routes a
``name``: templates link with ``url("name", …)`` and show navigation items only
when ``has_route("name")``.

Middleware (outermost first): security headers → sessions (signed cookie,
``SameSite=Lax``, ``Secure`` when the base URL is https) → language →
CSRF (every unsafe method outside ``/api/``).  See :mod:`eservice.web.security`.

Errors: one handler (:mod:`eservice.web.errors`) answers ``HTTPException`` and
every :class:`~eservice.errors.BilingualError` with a page in Thai and English
(``renderers/templates/errors/``), or under ``/api/`` with the API's JSON error
``{"error": {"status", "code", "th", "en", "errors"}}``.
"""
from __future__ import annotations

import contextlib
import importlib
import logging
import sys
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from ..errors import BilingualError
from ..renderers.html import STATIC
from . import accounts, api, apply, attachments, catalogue, issued, large_upload, officer, officer_actions, payments, \
    officer_reports, register, track, verify
from .admin import staff as admin_staff, system as admin_system
from . import announcements
from .context import AppContext, Settings, StartupError, check_public_address
from .errors import error_response, handle_error, server_error_handler
from .i18n import LanguageMiddleware
from .stamp import DefinitionsStampMiddleware
from .security import REFUSAL_TEXTS, CSRFMiddleware, SecurityHeadersMiddleware, refusal_status

__all__ = ["ROUTE_MODULES", "SESSION_COOKIE", "create_app", "collect_routes", "error_response"]

log = logging.getLogger("eservice.web")

# The parts of the web layer, in the order their routes are matched (see the docstring).
# ``verify`` comes before ``accounts``: GET /verify is the public document check, and it hands
# the e-mail confirmation links (/verify?token=…) on to accounts.verify_email.
ROUTE_MODULES: tuple[ModuleType | str, ...] = (
    catalogue, verify, accounts, large_upload, apply, attachments, track, payments, api, issued, officer_reports,
    "payment_reports",  # A-P6 daily reconciliation (imported by name)
    officer_actions, officer, register, announcements, admin_staff, admin_system, "admin.services",
)
SESSION_COOKIE = "eservice_session"
SESSION_MAX_AGE = 8 * 3600  # a working day; sign-in lasts no longer


def _module_routes(module: ModuleType | str) -> list[BaseRoute]:
    """A route module's routes; a name is imported here, so a missing one fails the start."""
    if isinstance(module, str):
        module = importlib.import_module(f"{__package__}.{module}")
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


def collect_routes(modules: Sequence[ModuleType | str] = ROUTE_MODULES, *,
                   plugins: bool = True) -> list[BaseRoute]:
    """Static files, then the route modules, then plugin routes."""
    out: list[BaseRoute] = [Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static")]
    for name in modules:
        out.extend(_module_routes(name))
    if plugins:
        out.extend(_plugin_routes())
    return out


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
               route_modules: Sequence[ModuleType | str] = ROUTE_MODULES, plugins: bool = True) -> Starlette:
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
        from ..worker import start_background, start_bounce_listener, stop_background  # issue #4, #21

        worker = start_background(app)  # one process runs the jobs (a file lock in the data folder)
        listener = start_bounce_listener(ctx)  # ESERVICE_BOUNCE_LISTEN (issue #21)
        try:
            yield
        finally:
            if listener is not None:
                listener.stop()
            await stop_background(worker)
            ctx.close()

    middleware = [
        Middleware(SecurityHeadersMiddleware, https=settings.https),
        Middleware(SessionMiddleware, secret_key=ctx.secret, session_cookie=SESSION_COOKIE,
                   max_age=SESSION_MAX_AGE, same_site="lax", https_only=settings.https),
        Middleware(LanguageMiddleware, secure=settings.https),
        Middleware(CSRFMiddleware, on_refuse=_csrf_refused),
        Middleware(DefinitionsStampMiddleware),  # a publish reaches every process (issue #9 item 5)
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
        exception_handlers={HTTPException: handle_error, BilingualError: handle_error,
                            500: server_error_handler(settings.https)},
    )
    app.state.ctx = ctx
    return app

