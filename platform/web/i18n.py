"""The language of each request (ARCHITECTURE "Text": Thai is the default).

``?lang=th`` or ``?lang=en`` on any page switches the language and keeps the
choice in a ``lang`` cookie; without either, pages are in Thai.  The
:class:`LanguageMiddleware` decides once per request and puts the answer in
``request.state.lang``; :func:`get_lang` reads it (and works without the
middleware, e.g. in an error handler).

Engine strings are written inline as Thai/English pairs, ``pick(lang, th, en)``
in Python and ``_("ไทย", "English")`` in templates; definition texts are
:class:`~eservice.spec.text.Text` objects (``text.get(lang)``) or ``{th, en}``
dicts, handled by :func:`text`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["LANGUAGES", "DEFAULT_LANG", "COOKIE", "get_lang", "pick", "text", "lang_url",
           "LanguageMiddleware"]

LANGUAGES = ("th", "en")
DEFAULT_LANG = "th"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600


def _valid(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value if value in LANGUAGES else None


def decide(conn: HTTPConnection) -> tuple[str, bool]:
    """(language, whether the query string chose it)."""
    chosen = _valid(conn.query_params.get("lang"))
    if chosen:
        return chosen, True
    return _valid(conn.cookies.get(COOKIE)) or DEFAULT_LANG, False


def get_lang(conn: HTTPConnection) -> str:
    """``"th"`` or ``"en"`` for this request."""
    state = conn.scope.get("state") or {}
    lang = state.get("lang") if isinstance(state, Mapping) else None
    return lang or decide(conn)[0]


def pick(lang: str, th: str, en: str) -> str:
    """The Thai or English form of an inline engine string."""
    return en if lang == "en" else th


def text(value: Any, lang: str) -> str:
    """A definition text in ``lang``: a ``Text``, a ``{th, en}`` mapping, a
    ``(th, en)`` pair or a plain string (returned as is).  English falls back to
    Thai when missing."""
    if value is None:
        return ""
    get = getattr(value, "get", None)
    if isinstance(value, Mapping):
        found = value.get(lang) or value.get(DEFAULT_LANG) or next(iter(value.values()), "")
        return "" if found is None else str(found)
    if callable(get) and hasattr(value, "th"):
        return value.get(lang)
    if isinstance(value, tuple) and len(value) == 2:
        return str(value[1] if lang == "en" and value[1] else value[0])
    return str(value)


def lang_url(conn: HTTPConnection, lang: str) -> str:
    """This page's address with ``lang`` set (for the language switch)."""
    params = [(k, v) for k, v in conn.query_params.multi_items() if k != "lang"]
    params.append(("lang", lang))
    return f"{conn.url.path}?{urlencode(params)}"


class LanguageMiddleware:
    """Sets ``request.state.lang`` and remembers a ``?lang=`` choice in a cookie."""

    def __init__(self, app: ASGIApp, *, secure: bool = False) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        lang, from_query = decide(conn)
        scope.setdefault("state", {})["lang"] = lang
        remember = from_query and conn.cookies.get(COOKIE) != lang

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if remember:
                    flags = f"; Max-Age={COOKIE_MAX_AGE}; Path=/; SameSite=Lax"
                    if self.secure:
                        flags += "; Secure"
                    headers.append("Set-Cookie", f"{COOKIE}={lang}{flags}")
                if "content-language" not in headers:
                    headers["Content-Language"] = lang
                headers.add_vary_header("Cookie")
            await send(message)

        await self.app(scope, receive, send_with_cookie)
