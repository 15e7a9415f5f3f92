"""Server-rendered HTML: the Jinja2 environment and ``render()``.

Templates live in ``renderers/templates``; a deployer may put folders in front
of it (``ESERVICE_TEMPLATES``), so any template, ``base.html`` included, can be
overridden by a file of the same name, as in Datasette.  Autoescaping is on
for every template.

In a handler::

    from eservice.renderers.html import render

    async def page(request):
        return render(request, "catalogue/service.html", service=svc)

Every template gets ``request``, ``lang`` (``"th"``/``"en"``), ``ctx`` (the
:class:`~eservice.web.context.AppContext`) and ``site_name``, and can use:

==========================  =====================================================
``t(text)`` / ``|t``        a definition text (``Text``, ``{th, en}``) in the page language
``_("ไทย", "English")``     an engine string written inline as a pair
``csrf_field()``            the hidden CSRF input: put it first in every POST form
``csrf_token()``            the token itself (for ``X-CSRF-Token`` in scripts)
``url(name, **params)``     the path of a named route (``url("service", service_id=…)``)
``has_route(name)``         whether a route of that name exists (optional modules)
``static(path)``            the address of a file in ``renderers/static``
``lang_url(code)``          this page in another language
``|date_th``, ``|datetime_th``  a date/instant: Buddhist Era in Thai, Gregorian in English
``|money``                  ``1,234.50 บาท`` / ``THB 1,234.50``
``|number``                 ``1,234`` (thousands separators)
==========================  =====================================================
"""
from __future__ import annotations

import os
from contextvars import ContextVar
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, pass_context, select_autoescape
from starlette.background import BackgroundTask
from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse
from starlette.routing import NoMatchFound

from ..money import format_money  # the core's rule, re-exported for pages
from .. import dates

__all__ = ["TEMPLATES", "STATIC", "Renderer", "render", "format_money", "default_renderer"]

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def format_number(value: Any) -> str:
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if number == number.to_integral_value():
        return f"{number.to_integral_value():,}"
    return f"{number:,}"


# The request being rendered, so that helpers also work inside macros imported
# without context (``{% from "x.html" import m %}``).
_current_request: ContextVar[HTTPConnection | None] = ContextVar("eservice_current_request", default=None)


def _request(context: Mapping[str, Any]) -> HTTPConnection:
    request = context.get("request") or _current_request.get()
    if request is None:
        raise RuntimeError("this template helper needs `request` in the context")
    return request


def _lang(context: Mapping[str, Any]) -> str:
    lang = context.get("lang")
    if lang:
        return lang
    request = context.get("request") or _current_request.get()
    if request is not None:
        from eservice.web.i18n import get_lang
        return get_lang(request)
    return "th"


class Renderer:
    """One Jinja2 environment per application."""

    def __init__(self, overrides: Iterable[str | os.PathLike] = (), *, auto_reload: bool = False) -> None:
        folders = [str(Path(p)) for p in overrides] + [str(TEMPLATES)]
        self.env = Environment(
            loader=ChoiceLoader([FileSystemLoader(f) for f in folders]),
            autoescape=select_autoescape(default=True, default_for_string=True),
            auto_reload=auto_reload,
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.do"],
        )
        self._static_versions: dict[str, str] = {}
        self._install()

    # -- helpers ----------------------------------------------------------------
    def _install(self) -> None:
        from eservice.web import i18n, security

        @pass_context
        def t(context, value: Any) -> str:
            return i18n.text(value, _lang(context))

        @pass_context
        def pair(context, th: str, en: str) -> str:
            return en if _lang(context) == "en" else th

        @pass_context
        def csrf_token(context) -> str:
            return security.csrf_token(_request(context))

        @pass_context
        def csrf_field(context):
            return security.csrf_field(_request(context))

        @pass_context
        def url(context, name: str, **params: Any) -> str:
            request = _request(context)
            return str(request.app.url_path_for(name, **{k: str(v) for k, v in params.items()}))

        @pass_context
        def has_route(context, name: str, **params: Any) -> bool:
            try:
                url(context, name, **params)
            except NoMatchFound:
                return False
            return True

        @pass_context
        def lang_url(context, code: str) -> str:
            return i18n.lang_url(_request(context), code)

        @pass_context
        def date_th(context, value: Any, long: bool = False) -> str:
            return dates.format_date(value, _lang(context), long=long)

        @pass_context
        def date_widget(context, wid: str, name: str, value: Any, auto: str | None = None) -> dict[str, Any]:
            """The parts of the Thai date widget (widgets/date.html) in the page's language."""
            from .dates import date_widget as build

            return build(wid, name, value, _lang(context), auto)

        @pass_context
        def datetime_th(context, value: Any, long: bool = False) -> str:
            return dates.format_datetime(value, _lang(context), long=long)

        @pass_context
        def money(context, value: Any) -> str:
            return format_money(value, _lang(context))

        self.env.globals.update(
            t=t, _=pair, csrf_token=csrf_token, csrf_field=csrf_field, url=url, has_route=has_route,
            lang_url=lang_url, static=self.static_url, date_widget=date_widget,
        )
        self.env.filters.update(
            t=t, date_th=date_th, datetime_th=datetime_th, money=money, number=format_number,
            be_year=dates.be_year, thai_digits=dates.thai_digits,
        )

    def static_url(self, path: str) -> str:
        """``/static/<path>?v=<mtime>``: a new version busts browser caches."""
        version = self._static_versions.get(path)
        if version is None:
            try:
                version = str(int((STATIC / path).stat().st_mtime))
            except OSError:
                version = "0"
            self._static_versions[path] = version
        return f"/static/{path}?v={version}"

    # -- rendering ----------------------------------------------------------------
    def context(self, request: HTTPConnection, values: Mapping[str, Any]) -> dict[str, Any]:
        from eservice.web.i18n import get_lang

        app_ctx = getattr(getattr(request.app, "state", None), "ctx", None) if "app" in request.scope else None
        settings = getattr(app_ctx, "settings", None)
        out: dict[str, Any] = {
            "request": request,
            "lang": get_lang(request),
            "ctx": app_ctx,
            "settings": settings,
            "site_name": getattr(settings, "site_name", None) or {"th": "บริการภาครัฐอิเล็กทรอนิกส์",
                                                                 "en": "Government e-Services"},
            "demo": bool(getattr(settings, "demo", False)),
        }
        out.update(values)
        return out

    def render_string(self, request: HTTPConnection, template: str, **values: Any) -> str:
        token = _current_request.set(request)
        try:
            return self.env.get_template(template).render(self.context(request, values))
        finally:
            _current_request.reset(token)

    def render(self, request: HTTPConnection, template: str, *, status_code: int = 200,
               headers: Mapping[str, str] | None = None, background: BackgroundTask | None = None,
               **values: Any) -> HTMLResponse:
        html = self.render_string(request, template, **values)
        return HTMLResponse(html, status_code=status_code, headers=headers, background=background)


_default: Renderer | None = None


def default_renderer() -> Renderer:
    """A renderer without overrides, for code running outside an app."""
    global _default
    if _default is None:
        _default = Renderer()
    return _default


def renderer_for(request: HTTPConnection) -> Renderer:
    app_ctx = getattr(getattr(request.app, "state", None), "ctx", None) if "app" in request.scope else None
    return getattr(app_ctx, "renderer", None) or default_renderer()


def render(request: HTTPConnection, template: str, *, status_code: int = 200,
           headers: Mapping[str, str] | None = None, background: BackgroundTask | None = None,
           **values: Any) -> HTMLResponse:
    """Render ``template`` with ``values`` for this request as an HTMLResponse."""
    return renderer_for(request).render(request, template, status_code=status_code, headers=headers,
                                        background=background, **values)
