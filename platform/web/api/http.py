"""The API's plumbing: one route's handlers by method, bodies read within limits,
strict JSON, versions (``ETag`` / ``If-Match``) and links.
"""
from __future__ import annotations

import inspect
import json
import math
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import NoMatchFound

from ...store.base import ConflictError
from ..context import get_context, public_url
from .errors import ApiError, problem

JSON_LIMIT = 2 * 1024 * 1024  # a JSON body larger than this is refused (413)
MAX_JSON_DEPTH = 32  # arrays and objects nested deeper are refused (400); answers need about 5
MAX_NUMBER_CHARS = 100  # a longer number literal is refused (400): 5,000 digits used to 500
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_VERSION = re.compile(r'^\s*(?:W/)?"?(\d{1,12})"?\s*$')


Handler = Callable[..., Any]


def endpoint(**methods: Handler) -> Callable[[Request], Awaitable[Response]]:
    """One route's handlers by method, with the API's own 405.  Errors leave
    through the one error handler (:mod:`eservice.web.errors`) in the API's shape.

    A sync handler ``(request, body: bytes)`` runs in the thread pool (store and
    password hashing block); the body (up to JSON_LIMIT) is read first.  An async
    handler ``(request)`` reads the body itself (uploads)."""
    table = {m.upper(): h for m, h in methods.items()}
    if "GET" in table:
        table.setdefault("HEAD", table["GET"])
    allow = ", ".join(sorted(table))

    async def call(request: Request) -> Response:
        handler = table.get(request.method)
        if request.method == "OPTIONS" and handler is None:
            return Response(status_code=204, headers={"Allow": allow})
        if handler is None:
            raise ApiError(405, "method_not_allowed", "ไม่รองรับวิธีการเรียกนี้",
                           f"use one of: {allow}", headers={"Allow": allow})
        if inspect.iscoroutinefunction(handler):
            response = await handler(request)
        else:
            body = b""
            if request.method in ("POST", "PUT", "PATCH", "DELETE"):
                body = await read_body(request, JSON_LIMIT)
            response = await run_in_threadpool(_in_one_commit, handler, request, body)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return call


def _in_one_commit(handler: Handler, request: Request, body: bytes) -> Response:
    """Run a handler so that its writes reach the disk with one wait, before the
    response is sent (a submission writes four or five records)."""
    store = getattr(get_context(request), "store", None)
    if store is None:
        return handler(request, body)
    with store.commit_group():
        return handler(request, body)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    mb = f"{limit / (1024 * 1024):.2f}".rstrip("0").rstrip(".")
    return ApiError(413, "too_large", f"ข้อมูลที่ส่งมีขนาดเกิน {mb} MB", f"the request body is over {mb} MB")


class _Refused(ValueError):
    """A JSON value the API does not take (raised from the parser's hooks)."""

    def __init__(self, code: str, th: str, en: str):
        super().__init__(en)
        self.code, self.th, self.en = code, th, en


def _non_finite(name: str) -> Any:
    raise _Refused("invalid_json", f"ข้อมูลมี {name} ซึ่งไม่ใช่ตัวเลขใน JSON กรุณาส่งตัวเลขจริง",
                   f"{name} is not a JSON number; send a real number")


def _number_too_large() -> _Refused:
    return _Refused("number_too_large",
                    f"ตัวเลขในข้อมูลใหญ่หรือยาวเกินไป (ไม่เกิน {MAX_NUMBER_CHARS} ตัวอักษร)",
                    f"a number in the body is too large or too long (at most {MAX_NUMBER_CHARS} characters)")


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:  # int() of 5,000 digits raises ValueError (and is slow)
        raise _number_too_large()
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _number_too_large()
    value = float(text)
    if not math.isfinite(value):  # 1e999 reads as infinity
        raise _number_too_large()
    return value


_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def _depth(data: Any) -> int:
    """How deep arrays and objects nest in parsed JSON (level by level, stopping past the limit)."""
    depth, level = 0, [data]
    while depth <= MAX_JSON_DEPTH:
        containers = [v for v in level if isinstance(v, (list, dict))]
        if not containers:
            break
        depth += 1
        level = [item for c in containers for item in (c.values() if isinstance(c, dict) else c)]
    return depth


def read_json(body: bytes) -> Any:
    """The one reader of JSON request bodies: strict UTF-8 JSON (RFC 8259) with
    nesting at most MAX_JSON_DEPTH deep, numbers at most MAX_NUMBER_CHARS long
    and no NaN or Infinity, none of which the store or the responses can hold
    (issue #17 items 3 and 4).  An empty body reads as ``{}``; anything else
    refused is an ApiError 400."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "ข้อมูลที่ส่งไม่ใช่ UTF-8", "the body is not valid UTF-8") from None
    if not text.strip():
        return {}
    too_deep = ApiError(400, "too_deep", f"ข้อมูลซ้อนกันลึกเกิน {MAX_JSON_DEPTH} ชั้น",
                        f"the body nests arrays and objects more than {MAX_JSON_DEPTH} deep")
    try:
        data = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_non_finite)
    except _Refused as exc:
        raise ApiError(400, exc.code, exc.th, exc.en) from None
    except RecursionError:  # the C parser's own limit (about 1,000 deep)
        raise too_deep from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", "ข้อมูลที่ส่งไม่ใช่ JSON ที่ถูกต้อง",
                       f"the body is not valid JSON: {exc}") from None
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth(data) > MAX_JSON_DEPTH:
        raise too_deep
    if _SURROGATE.search(text):
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(400, "invalid_json", "ข้อความในข้อมูลมีรหัส \\u ที่ไม่ครบคู่ (surrogate)",
                           "a string holds an unpaired \\u surrogate escape") from None
    return data


Check = tuple[Callable[[Any], bool], str, str, str]  # (predicate, code, th, en)


def json_body(request: Request, body: bytes, allowed: Iterable[str], required: Iterable[str] = (),
              checks: Mapping[str, Check] | None = None) -> dict:
    """The body (:func:`read_json`) as a JSON object with only ``allowed``
    members, the ``required`` ones present and each member in ``checks``
    passing its predicate; every problem at once (422)."""
    kind = request.headers.get("content-type", "application/json").split(";", 1)[0].strip().lower()
    if kind and kind != "application/json" and not kind.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "กรุณาส่งข้อมูลเป็น JSON (Content-Type: application/json)",
                       "send JSON (Content-Type: application/json)")
    data = read_json(body)
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_body", "ข้อมูลที่ส่งต้องเป็นออบเจกต์ JSON", "the body must be a JSON object",
                       [problem("", "type", "ต้องเป็นออบเจกต์ JSON", "must be a JSON object")])
    allowed = set(allowed)
    errors = [problem(key, "unknown_field", f"ไม่รู้จักข้อมูล “{key}” ในคำขอนี้",
                      f"“{key}” is not a member of this request") for key in sorted(set(data) - allowed)]
    errors += [problem(key, "required", f"กรุณาส่ง “{key}”", f"“{key}” is required")
               for key in required if key not in data]
    for key, (ok, code, th, en) in (checks or {}).items():
        if key in data and not ok(data[key]):
            errors.append(problem(key, code, th, en))
    if errors:
        raise ApiError(422, "invalid_body", "ข้อมูลที่ส่งไม่ถูกต้อง", "the request body is not valid", errors)
    return data


def _ok(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=dict(headers or {}))


def _base(request: Request) -> str:
    return public_url(get_context(request).settings, request)


def _path(request: Request, name: str, fallback: str, **params: str) -> str:
    try:
        return str(request.app.url_path_for(name, **params))
    except NoMatchFound:
        return fallback


def _url(request: Request, path: str) -> str:
    return _base(request) + path


def _text(value: Any) -> dict[str, str] | None:
    """A definition Text as ``{th, en}`` (English falls back to Thai)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {"th": value.get("th", ""), "en": value.get("en") or value.get("th", "")}
    return {"th": value.th, "en": value.get("en")}


def _public(response: JSONResponse) -> JSONResponse:
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _etag(record: Mapping[str, Any]) -> dict[str, str]:
    return {"ETag": f'"{record["version"]}"'}


def _expected_version(request: Request, data: Mapping[str, Any], required: bool) -> int | None:
    """``If-Match`` or ``version`` in the body; 428 when required and absent."""
    header = request.headers.get("if-match")
    body_version = data.get("version")
    if isinstance(body_version, float) and body_version.is_integer():  # 3.0 is an integer in JSON Schema
        body_version = int(body_version)
    if body_version is not None and (not isinstance(body_version, int) or isinstance(body_version, bool)):
        raise ApiError(422, "invalid_body", "ข้อมูลที่ส่งไม่ถูกต้อง", "the request body is not valid",
                       [problem("version", "type", "“version” ต้องเป็นจำนวนเต็ม", "“version” must be an integer")])
    if header is not None:
        match = _VERSION.match(header)
        if not match:
            raise ApiError(400, "invalid_if_match", "ส่วนหัว If-Match ต้องเป็นหมายเลขฉบับ เช่น \"3\"",
                           'If-Match must be a version number such as "3"')
        header_version = int(match.group(1))
        if body_version is not None and body_version != header_version:
            # at most one of the two is the current version: a stale request, like any other
            raise ApiError(409, "version_conflict", "If-Match และ version ไม่ตรงกัน อย่างน้อยหนึ่งค่าไม่ใช่ฉบับล่าสุด",
                           "If-Match and version disagree, so at least one of them is not the current version",
                           [problem("version", "version_conflict", "If-Match และ version ไม่ตรงกัน",
                                    "If-Match and version disagree")])
        return header_version
    if body_version is None and required:
        raise ApiError(428, "version_required",
                       "กรุณาส่งหมายเลขฉบับของคำขอที่อ่านไว้ (ส่วนหัว If-Match หรือ version) เพื่อไม่ให้เขียนทับการแก้ไขของผู้อื่น",
                       "send the version you read (If-Match header or `version`) so no one else's change is overwritten",
                       [problem("version", "required", "กรุณาส่ง “version”", "“version” is required")])
    return body_version


def _check_version(record: Mapping[str, Any], expected: int | None) -> None:
    if expected is not None and record["version"] != expected:
        raise ConflictError(record["id"], expected, record["version"])


