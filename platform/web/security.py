"""Web security in one place (A-X2: the NCSA website guideline, OWASP-style).

Two pure-ASGI middlewares and the CSRF helpers:

* :class:`SecurityHeadersMiddleware` adds to every response a Content Security
  Policy without inline scripts or styles (``script-src 'self'``), framing
  refused (``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``),
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``, a
  Permissions-Policy, and HSTS when the public address is https.  A handler that
  sets one of these headers itself keeps its own value.

* :class:`CSRFMiddleware` refuses every POST/PUT/PATCH/DELETE outside the JSON
  API (``/api/``) unless it carries the session's CSRF token, either in the
  ``X-CSRF-Token`` header or as the form field ``csrf_token``.  Forms put it in
  with ``{{ csrf_field() }}``.  **In a multipart form (file uploads) the token
  must be the first field**, so the check reads only the start of the body and
  never holds a whole upload in memory; ``csrf_field()`` placed right after
  ``<form …>`` does this.  Requests a browser marks ``Sec-Fetch-Site:
  cross-site`` are refused as well.  The JSON API is exempt and must therefore
  never accept the session cookie as authentication (it uses tokens).

  It also guards the form boundary (issue #17): an urlencoded form over
  FORM_LIMIT answers 413, one that is not UTF-8 answers 400 (it used to be read
  as Latin-1), and a multipart body whose start is not multipart answers 400
  (not 403).  :func:`refusal_status` gives the status of each refusal.

* Every response without its own ``Cache-Control`` gets ``private, no-store``
  (pages show personal data: officer pages, applications, tracking, accounts),
  except the static files.

In Python: ``csrf_token(request)`` gives the token (creating it in the session
on first use), ``rotate_csrf_token(request)`` gives a new one (call it at
sign-in and sign-out).
"""
from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qs, unquote_to_bytes

from markupsafe import Markup, escape
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CSRF_FIELD", "CSRF_HEADER", "CSRF_SESSION_KEY", "UNSAFE_METHODS", "EXEMPT_PREFIXES",
    "csrf_token", "rotate_csrf_token", "csrf_field", "security_headers", "refusal_status", "FORM_LIMIT",
    "CSRFMiddleware", "SecurityHeadersMiddleware",
]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_SESSION_KEY = "_csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXEMPT_PREFIXES: tuple[str, ...] = ("/api/", "/payments/webhook/")  # the webhook is HMAC-signed (#8)
MULTIPART_PEEK_LIMIT = 64 * 1024  # bytes read to find the token in a multipart body
FORM_LIMIT = 8 * 1024 * 1024  # an urlencoded form larger than this is refused (413)
NO_STORE = "private, no-store"
CACHEABLE_PREFIXES: tuple[str, ...] = ("/static/",)  # no personal data: the browser may keep these
# Refusals that are about the body, not the CSRF token; every other reason is a 403.
REFUSAL_STATUS = {"too-large": 413, "bad-encoding": 400, "bad-multipart": 400}
REFUSAL_TEXTS = {
    403: ("คำขอนี้ไม่ผ่านการตรวจสอบความปลอดภัย (CSRF) กรุณากลับไปโหลดหน้าแบบฟอร์มใหม่แล้วส่งอีกครั้ง",
          "This request failed the security check (CSRF). Go back, reload the form and send it again."),
    413: (f"ข้อมูลในแบบฟอร์มมีขนาดเกิน {FORM_LIMIT // (1024 * 1024)} MB ไม่ได้บันทึก กรุณาย่อข้อความแล้วส่งอีกครั้ง",
          f"The form is larger than {FORM_LIMIT // (1024 * 1024)} MB and was not saved; shorten it and send "
          f"it again."),
    400: ("ข้อมูลในแบบฟอร์มไม่ถูกต้อง (ไม่ใช่ UTF-8 หรือ multipart ที่สมบูรณ์) ไม่ได้บันทึก "
          "กรุณากลับไปโหลดหน้าแบบฟอร์มใหม่แล้วส่งอีกครั้ง",
          "The form data is malformed (not UTF-8, or broken multipart) and was not saved. Go back, reload "
          "the form and send it again."),
}

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


# --------------------------------------------------------------------------- CSRF
def _session(conn: HTTPConnection) -> dict | None:
    return conn.scope.get("session") if "session" in conn.scope else None


def csrf_token(conn: HTTPConnection) -> str:
    """This session's CSRF token (made and kept in the session on first use)."""
    session = _session(conn)
    if session is None:
        raise RuntimeError("CSRF needs SessionMiddleware in front of the app")
    token = session.get(CSRF_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def rotate_csrf_token(conn: HTTPConnection) -> str:
    """A fresh token (at sign-in/sign-out, so a token seen before is useless)."""
    session = _session(conn)
    if session is None:
        raise RuntimeError("CSRF needs SessionMiddleware in front of the app")
    session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)
    return session[CSRF_SESSION_KEY]


def csrf_field(conn: HTTPConnection) -> Markup:
    """The hidden input to put first inside every ``<form method="post">``."""
    return Markup('<input type="hidden" name="%s" value="%s">') % (CSRF_FIELD, escape(csrf_token(conn)))


def _same(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
_NAME = re.compile(rb'\bname="([^"]*)"', re.I)


def _first_multipart_field(body: bytes, boundary: bytes) -> tuple[bool, str | None, str | None]:
    """(complete, name, value) of the first part of a multipart body prefix."""
    opener = b"--" + boundary + b"\r\n"
    start = body.find(opener)
    if start < 0:
        return False, None, None
    head_start = start + len(opener)
    head_end = body.find(b"\r\n\r\n", head_start)
    if head_end < 0:
        return False, None, None
    headers = body[head_start:head_end]
    value_start = head_end + 4
    value_end = body.find(b"\r\n--" + boundary, value_start)
    if value_end < 0:
        return False, None, None
    name = _NAME.search(headers)
    value = body[value_start:value_end]
    return True, name.group(1).decode("utf-8") if name else None, value.decode("utf-8")


def refusal_status(reason: str) -> int:
    """The HTTP status of a refusal by :class:`CSRFMiddleware` (403 unless the body is at fault)."""
    return REFUSAL_STATUS.get(reason, 403)


def _utf8_form(body: bytes) -> bool:
    """Whether every name and value of an urlencoded body is UTF-8 once %-decoded."""
    try:
        for pair in body.split(b"&"):
            unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class CSRFMiddleware:
    """Refuses unsafe requests without the session's token (see the module docstring).

    Must sit *inside* SessionMiddleware.  ``exempt`` are path prefixes left to
    authenticate otherwise (default: the JSON API)."""

    def __init__(self, app: ASGIApp, *, exempt: Iterable[str] = EXEMPT_PREFIXES,
                 on_refuse=None) -> None:
        self.app = app
        self.exempt = tuple(exempt)
        self.on_refuse = on_refuse  # (request, reason) -> Response

    def _exempt(self, path: str) -> bool:
        return any(path.startswith(p) or path == p.rstrip("/") for p in self.exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS or self._exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        session = _session(conn)
        expected = session.get(CSRF_SESSION_KEY) if session is not None else None
        buffered: list[Message] = []
        reason = None
        if conn.headers.get("sec-fetch-site") == "cross-site":
            reason = "cross-site"
        elif CSRF_HEADER in conn.headers:
            if _kind(conn) == "application/x-www-form-urlencoded":  # its size and encoding, all the same
                _given, reason = await self._token_from_body(conn, receive, buffered)
            if reason is None and not _same(expected, conn.headers[CSRF_HEADER]):
                reason = "bad-token"
        else:
            given, reason = await self._token_from_body(conn, receive, buffered)
            if reason is None and not _same(expected, given):
                reason = "missing-token" if not given else "bad-token"
        if reason is not None:
            await self._refuse(conn, reason)(scope, receive, send)
            return

        async def replay() -> Message:
            if buffered:
                return buffered.pop(0)
            return await receive()

        await self.app(scope, replay, send)

    async def _token_from_body(self, conn: HTTPConnection, receive: Receive,
                               buffered: list[Message]) -> tuple[str | None, str | None]:
        content_type = conn.headers.get("content-type", "")
        kind = _kind(conn)
        body = b""
        more = True

        async def read_more() -> bool:
            nonlocal body, more
            message = await receive()
            buffered.append(message)
            if message["type"] == "http.disconnect":
                more = False
                return False
            body += message.get("body", b"")
            more = message.get("more_body", False)
            return True

        if kind == "application/x-www-form-urlencoded":
            while more:
                if not await read_more():
                    return None, "disconnect"
                if len(body) > FORM_LIMIT:
                    return None, "too-large"
            if not _utf8_form(body):
                return None, "bad-encoding"
            values = parse_qs(body.decode("utf-8"), keep_blank_values=True).get(CSRF_FIELD)
            return (values[0] if values else None), None
        if kind == "multipart/form-data":
            found = _BOUNDARY.search(content_type)
            if not found:
                return None, "bad-multipart"
            boundary = found.group(1).encode("latin-1")
            while True:
                try:
                    complete, name, value = _first_multipart_field(body, boundary)
                except UnicodeDecodeError:
                    return None, "bad-encoding"
                if complete:
                    if name != CSRF_FIELD:
                        return None, "token-not-first"
                    return value, None
                if not more or len(body) > MULTIPART_PEEK_LIMIT:
                    # a start that is not multipart at all is malformed; a long first part is not the token
                    return None, "token-not-first" if _opens(body, boundary) else "bad-multipart"
                if not await read_more():
                    return None, "disconnect"
        return None, "missing-token"

    def _refuse(self, conn: HTTPConnection, reason: str) -> Response:
        if self.on_refuse is not None:
            return self.on_refuse(conn, reason)
        status = refusal_status(reason)
        th, en = REFUSAL_TEXTS[status]
        return PlainTextResponse(f"{th}\n{en}\n", status_code=status)


def _kind(conn: HTTPConnection) -> str:
    return conn.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _opens(body: bytes, boundary: bytes) -> bool:
    """Whether a multipart body starts its first part with complete part headers."""
    start = body.find(b"--" + boundary + b"\r\n")
    return start >= 0 and body.find(b"\r\n\r\n", start) >= 0


# ------------------------------------------------------------------ headers
def security_headers(*, https: bool = False) -> dict[str, str]:
    """The headers every response carries (A-X2)."""
    headers = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, https: bool = False,
                 headers: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.headers = dict(headers if headers is not None else security_headers(https=https))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith(CACHEABLE_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
                if not cacheable and "cache-control" not in headers:
                    headers["Cache-Control"] = NO_STORE
            await send(message)

        await self.app(scope, receive, send_with_headers)
