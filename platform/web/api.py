"""The JSON API for central portals and integrators (CH-5; issue #3 item 9).

Every route here answers JSON in UTF-8.  Errors always have one shape::

    {"error": {"status": 422, "code": "invalid_answers", "th": "…", "en": "…",
               "errors": [{"path": "answers.shop_area", "code": "type", "th": "…", "en": "…"}]}}

``path`` points into the application as the API shows it: ``answers.<field>``
(``answers.items[2].name`` inside a group), ``documents.<document id>``, or a
member of the request body (``service``, ``declaration``, ``intent``, ``version``).

Authentication (A-X2): ``/api/`` is exempt from the CSRF check, so the session
cookie is **never** accepted here.  A client gets a personal access token with
``POST /api/tokens`` and sends ``Authorization: Bearer <token>``
(:mod:`eservice.web.api_tokens`).  The catalogue, the schemas and the OpenAPI
document are public.

=============================================================  ======  ===========================
``/api/tokens``                                                POST    a token for e-mail + password
``/api/tokens/current``                                        GET     the token's account and expiry
``/api/tokens/current``                                        DELETE  revoke the token
``/api/services``                                              GET     the service catalogue (CH-5)
``/api/services/{service_id}``                                 GET     one service in detail
``/api/services/{service_id}/schema``                          GET     JSON Schema of its answers
``/api/applications``                                          GET     the token's applications
                                                                       (``?reference=`` one of them)
``/api/applications``                                          POST    a draft ``{service, answers?}``
``/api/applications/{app_id}``                                 GET     status, history, fees, documents
``/api/applications/{app_id}/answers``                         PUT     replace the answers of a draft or
                                                                       of an application sent back for
                                                                       changes (``If-Match`` or ``version``)
``/api/applications/{app_id}/documents/{document_id}``         POST    attach a file (multipart or raw)
``/api/applications/{app_id}/submit``                          POST    sign (A-F8) and submit
``/api/applications/{app_id}/actions/{transition_id}``         POST    take one of the applicant's own
                                                                       workflow actions ``{inputs?, version?}``
``/openapi.json``                                              GET     the OpenAPI 3.1 document
``/api/docs``                                                  GET     a page linking the document
=============================================================  ======  ===========================

Answers are checked twice (A-F6, PR-3): first against the service's submission
JSON Schema (types, choices, unknown fields → 422, nothing stored), then by the
engine's own validation (:func:`eservice.forms.validate`: rules, conditions,
plugin field types).  A draft keeps answers that are still incomplete; their
problems are listed in the application's ``errors`` and stop submission.
Answers to fields that the other answers hide are dropped, never stored, and
listed in ``dropped``.

Only the token's own applications are visible; any other id answers 404, the
same as an id that does not exist, so ids cannot be probed.

After submission the agency may send an application back (a state with
``editable_by_applicant: true``, e.g. "send more documents").  Then, as in a
draft, ``PUT …/answers`` and document uploads are accepted (each change is
recorded in the history) and ``errors`` lists what is still missing; the
application's ``actions`` are the workflow transitions the applicant may take
now, each taken with ``POST …/actions/{transition_id}``.  Sending the changes
checks the whole application again (``invalid`` with the problems' paths) and
renews the signature evidence (A-F6, A-F8).  The API always acts as the
applicant: an officer's own application is handled with the applicant's rights,
never the officer's.
"""
from __future__ import annotations

import inspect
import json
import math
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from dataclasses import replace
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators
from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import NoMatchFound, Route

from .. import forms
from ..applications import declaration_of
from ..auth import AuthError
from ..engine import EngineError
from ..renderers.openapi import build_openapi, docs_html
from ..spec.models import FieldType
from ..store.base import ConflictError, NotFoundError
from .api_tokens import ApiTokens, TokenError, bearer_token
from .throttle import give_back, limit
from .catalogue import FORMAT_NAMES, PAYMENT_METHODS, fee_amount, fee_summary, office_hours_text, \
    sla_text
from .context import get_context, public_url
from .deps import accounts, actor_for, applications, client_ip, workflow

__all__ = ["routes", "ApiError", "JSON_LIMIT", "read_json"]

JSON_LIMIT = 2 * 1024 * 1024  # a JSON body larger than this is refused (413)
MAX_JSON_DEPTH = 32  # arrays and objects nested deeper are refused (400); answers need about 5
MAX_NUMBER_CHARS = 100  # a longer number literal is refused (400): 5,000 digits used to 500
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around an upload
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_SERVICE_ID = re.compile(r"^[a-z][a-z0-9-]{0,99}$")
_APP_ID = re.compile(r"^app-[0-9a-f]{16}$")
_DOC_ID = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_VERSION = re.compile(r'^\s*(?:W/)?"?(\d{1,12})"?\s*$')
DRAFT_STATE = {
    "id": "draft",
    "title": {"th": "ฉบับร่าง (ยังไม่ได้ยื่น)", "en": "Draft (not submitted)"},
    "description": {"th": "คำขอนี้ยังไม่ได้ยื่นต่อหน่วยงาน",
                    "en": "This application has not been sent to the agency yet"},
    "applicant_action": {"th": "กรอกข้อมูลและแนบเอกสารให้ครบ แล้วยื่นคำขอ",
                         "en": "Complete the answers and documents, then submit"},
    "final": False, "outcome": None,
}


# =========================================================================== errors
class ApiError(Exception):
    """A refusal with the API's error shape."""

    def __init__(self, status: int, code: str, th: str, en: str, errors: Iterable[Mapping] = (),
                 headers: Mapping[str, str] | None = None, **extra: Any):
        super().__init__(en)
        self.status, self.code, self.th, self.en = status, code, th, en
        self.errors = [dict(e) for e in errors]
        self.headers = dict(headers or {})
        self.extra = extra

    def response(self) -> JSONResponse:
        body = {"status": self.status, "code": self.code, "th": self.th, "en": self.en,
                "errors": self.errors, **self.extra}
        return JSONResponse({"error": body}, status_code=self.status, headers=self.headers)


def problem(path: str, code: str, th: str, en: str) -> dict[str, str]:
    return {"path": path, "code": code, "th": th, "en": en}


def _unauthorized(exc: TokenError) -> ApiError:
    # RFC 6750: no error attribute when no token was sent; invalid_token otherwise
    challenge = 'Bearer realm="eservice"' if exc.code == "missing_token" \
        else 'Bearer realm="eservice", error="invalid_token"'
    return ApiError(401, exc.code, exc.th, exc.en, headers={"WWW-Authenticate": challenge})


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "ไม่พบคำขอนี้", "application not found")


def _engine_problems(items: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Engine error items → API problems with paths into the application."""
    out = []
    for item in items:
        if "document" in item and "path" not in item:
            path = f"documents.{item['document']}"
        else:
            path = f"answers.{item.get('path') or item.get('field')}"
        out.append(problem(path, item.get("code", "invalid"), item.get("th", ""), item.get("en", "")))
    return out


# Engine codes that are about the request's content rather than the request itself.
_UNPROCESSABLE = {"unknown_fields", "intent", "unknown_input", "missing_input", "input_date",
                  "input_past", "input_number", "input_choice", "input_too_long", "input_control_characters"}


def _from_engine(exc: EngineError) -> ApiError:
    details = dict(exc.details)
    errors = _engine_problems(details.pop("errors", []) or [])
    status = exc.status
    if exc.code in _UNPROCESSABLE and status == 400:
        status = 422
    if exc.code == "invalid":  # the application is incomplete, not the request: fix it, then send again
        status = 409
    if exc.code == "unknown_fields":
        fields = details.pop("fields", [])
        errors += [problem(f"answers.{f}", "unknown_field", f"ไม่มีช่อง “{f}” ในแบบฟอร์มนี้",
                           f"“{f}” is not a field of this form") for f in fields]
    if exc.code == "intent":
        errors.append(problem("intent", "intent", exc.th, exc.en))
    if exc.code == "declaration_changed":
        errors.append(problem("declaration", "declaration_changed", exc.th, exc.en))
    if "input" in details:  # a workflow action's input (Workflow._check_inputs)
        errors.append(problem(f"inputs.{details.pop('input')}", exc.code, exc.th, exc.en))
    for input_id in details.pop("inputs", None) or []:
        errors.append(problem(f"inputs.{input_id}", "required", exc.th, exc.en))
    if "document" in details:  # an UploadError: name the document
        document = details.pop("document")
        errors.append(problem(f"documents.{document}", exc.code, exc.th, exc.en))
    details.pop("reason", None)  # a library's own words about a broken file: not for clients
    extra = {k: v for k, v in details.items() if isinstance(v, (str, int, float, bool)) or v is None}
    return ApiError(status, exc.code, exc.th, exc.en, errors, **extra)


def _from_auth(exc: AuthError) -> ApiError:
    status = {"invalid_credentials": 401, "locked": 429, "email_not_verified": 403,
              "disabled": 403}.get(exc.code, 400)
    headers = {"WWW-Authenticate": 'Bearer realm="eservice"'} if status == 401 else {}
    if exc.retry_after:
        headers["Retry-After"] = str(exc.retry_after)
    return ApiError(status, exc.code, exc.th, exc.en, headers=headers)


def _conflict(exc: ConflictError) -> ApiError:
    return ApiError(409, "version_conflict", exc.th, exc.en,
                    [problem("version", "version_conflict", exc.th, exc.en)],
                    current_version=exc.actual)


# ========================================================================= plumbing
Handler = Callable[..., Any]


def endpoint(**methods: Handler) -> Callable[[Request], Awaitable[Response]]:
    """One route's handlers by method, with the API's own 405 and error shape.

    A sync handler ``(request, body: bytes)`` runs in the thread pool (store and
    password hashing block); the body (up to JSON_LIMIT) is read first.  An async
    handler ``(request)`` reads the body itself (uploads)."""
    table = {m.upper(): h for m, h in methods.items()}
    if "GET" in table:
        table.setdefault("HEAD", table["GET"])
    allow = ", ".join(sorted(table))

    async def call(request: Request) -> Response:
        handler = table.get(request.method)
        try:
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
        except ApiError as exc:
            response = exc.response()
        except TokenError as exc:
            response = _unauthorized(exc).response()
        except ConflictError as exc:
            response = _conflict(exc).response()
        except NotFoundError:
            response = _not_found().response()
        except EngineError as exc:
            response = _from_engine(exc).response()
        except AuthError as exc:
            response = _from_auth(exc).response()
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


# ================================================================== authentication
def _tokens(request: Request) -> ApiTokens:
    ctx = get_context(request)
    found = ctx.extra.get("api_tokens")
    if found is None:
        found = ctx.extra["api_tokens"] = ApiTokens(ctx.store, ctx.clock)
    return found


def api_user(request: Request) -> tuple[dict, dict]:
    """``(token record, user)`` of the bearer token; never the session cookie."""
    token = bearer_token(request.headers.get("authorization"))
    return _tokens(request).resolve(token, accounts(request).users)


def _actor(request: Request):
    _entry, user = api_user(request)
    return actor_for(user, request)


def issue_token(request: Request, body: bytes) -> Response:
    """POST /api/tokens ``{email, password}`` → ``{token, token_type, expires_at}``."""
    data = json_body(request, body, ("email", "password"), ("email", "password"), {
        key: (lambda v: isinstance(v, str), "type", f"“{key}” ต้องเป็นข้อความ", f"“{key}” must be a string")
        for key in ("email", "password")})
    limit(request, "sign_in")  # per client; per account: the lock-out in authenticate (issue #17)
    try:
        user = accounts(request).authenticate(data["email"], data["password"])
    except AuthError as exc:
        if exc.code != "invalid_credentials":
            give_back(request, "sign_in")  # locked (nothing checked), or the right password
        raise
    give_back(request, "sign_in")
    token, record = _tokens(request).issue(user, ip=client_ip(request),
                                           user_agent=request.headers.get("user-agent", ""))
    return _ok({"token": token, "token_type": "Bearer", "expires_at": record["expires_at"],
                "user": {"id": user["id"], "email": user["email"]}}, 201)


def token_info(request: Request, body: bytes) -> Response:
    entry, user = api_user(request)
    return _ok({"user": {"id": user["id"], "email": user["email"]},
                "created_at": entry["created_at"], "expires_at": entry["expires_at"]})


def revoke_token(request: Request, body: bytes) -> Response:
    entry, _user = api_user(request)
    _tokens(request).revoke(entry)
    return Response(status_code=204)


# ============================================================================ links
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


# ======================================================================== catalogue
def _agency_json(agency: Any, full: bool = False) -> dict[str, Any]:
    out = {"code": agency.code, "name": _text(agency.name), "phone": agency.phone, "email": agency.email}
    if full:
        out.update(address=_text(agency.address), website=agency.website,
                   office_hours=office_hours_text(agency.office_hours))
    return out


def _documents_json(svc: Any) -> list[dict[str, Any]]:
    from ..documents import limit_bytes

    out = []
    for doc in svc.definition.documents:
        out.append({
            "id": doc.id, "title": _text(doc.title), "description": _text(doc.description),
            "formats": list(doc.formats), "format_names": [FORMAT_NAMES.get(f, f.upper()) for f in doc.formats],
            "max_size_mb": f"{Decimal(doc.max_size_mb).normalize():f}", "max_bytes": limit_bytes(doc),
            "required": bool(doc.required) and doc.when is None and doc.required_when is None,
            "conditional": doc.when is not None or doc.required_when is not None,
            "multiple": doc.multiple,
        })
    return out


def _fees_json(svc: Any) -> dict[str, Any]:
    items = []
    for fee in svc.definition.fees:
        amount = fee_amount(fee.amount)
        items.append({"id": fee.id, "title": _text(fee.title),
                      "amount": None if amount is None else f"{amount:.2f}",
                      "depends_on_answers": amount is None, "conditional": fee.when is not None,
                      "methods": [{"id": m, **PAYMENT_METHODS.get(m, {"th": m, "en": m})} for m in fee.methods],
                      "due_days": fee.due_days})
    return {"summary": fee_summary(svc), "currency": "THB", "items": items}


def service_summary(request: Request, svc: Any) -> dict[str, Any]:
    d = svc.definition
    return {
        "id": svc.id, "version": svc.version,
        "agency": _agency_json(svc.agency),
        "title": _text(d.title), "summary": _text(d.summary), "category": _text(d.category),
        "keywords": list(d.keywords),
        "fees": _fees_json(svc),
        "sla": {"working_days": d.sla.working_days, "text": sla_text(d.sla.working_days)},
        "documents": _documents_json(svc),
        "links": {
            "html": _url(request, _path(request, "service", f"/services/{svc.id}", service_id=svc.id)),
            "self": _url(request, f"/api/services/{svc.id}"),
            "schema": _url(request, f"/api/services/{svc.id}/schema"),
            "apply": _url(request, "/api/applications"),
        },
    }


def _field_json(f: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": f.id, "type": f.type.value, "label": _text(f.label),
                           "required": bool(f.required), "required_when": f.required_when, "when": f.when}
    hint = getattr(f, "hint", None)
    if hint is not None:
        out["hint"] = _text(hint)
    if f.options:
        out["options"] = [{"value": o.value, "label": _text(o.label)} for o in f.options]
    if f.type is FieldType.group:
        out["fields"] = [_field_json(c) for c in f.fields]
    return out


def service_detail(request: Request, svc: Any) -> dict[str, Any]:
    d = svc.definition
    out = service_summary(request, svc)
    out["agency"] = _agency_json(svc.agency, full=True)
    contact = d.contact
    out.update({
        "who_can_apply": _text(getattr(d, "who_can_apply", None)),
        "steps": [_text(s) for s in getattr(d, "steps", ()) or ()],
        "legal_basis": [_text(s) for s in d.legal_basis],
        "contact": None if contact is None else {"phone": contact.phone, "email": contact.email,
                                                 "office": _text(contact.office)},
        "declaration": declaration_of(svc),
        "form": [{"id": section.id, "title": _text(section.title),
                  "pages": [{"id": page.id, "title": _text(page.title), "when": page.when,
                             "fields": [_field_json(f) for f in page.fields]} for page in section.pages]}
                 for section in d.form.sections],
        "states": [{"id": s.id, "title": _text(s.title), "description": _text(s.description),
                    "final": s.final, "outcome": s.outcome} for s in d.workflow.states],
    })
    return out


def _service(request: Request) -> Any:
    service_id = request.path_params["service_id"]
    svc = get_context(request).service(service_id) if _SERVICE_ID.match(service_id) else None
    if svc is None:
        raise ApiError(404, "no_service", "ไม่พบบริการนี้", "no such service")
    return svc


def _public(response: JSONResponse) -> JSONResponse:
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def list_services(request: Request, body: bytes) -> Response:
    """The machine-readable service catalogue (CH-5); ``?agency=`` and ``?q=`` filter."""
    ctx = get_context(request)
    services = ctx.catalogue.current()
    agency = request.query_params.get("agency")
    if agency:
        services = [s for s in services if s.agency.code == agency]
    query = (request.query_params.get("q") or "").strip()[:200]
    if query:
        from .catalogue import search_entries
        from .search import search

        wanted = {h.payload.id for h in search(query, search_entries(ctx))}
        services = [s for s in services if s.id in wanted]
    items = [service_summary(request, s) for s in services]
    return _public(_ok({"count": len(items), "services": items}))


def get_service(request: Request, body: bytes) -> Response:
    return _public(_ok(service_detail(request, _service(request))))


def get_schema(request: Request, body: bytes) -> Response:
    schema = forms.submission_schema(_service(request))
    return _public(JSONResponse(schema, media_type="application/schema+json"))


# ========================================================================== answers
_TYPE_NAMES = {
    "string": ("ข้อความ", "a string"), "number": ("ตัวเลข", "a number"),
    "integer": ("จำนวนเต็ม", "an integer"), "boolean": ("true หรือ false", "true or false"),
    "array": ("รายการ (array)", "an array"), "object": ("ออบเจกต์ (object)", "an object"),
    "null": ("null", "null"),
}


def _validator(request: Request, svc: Any) -> Draft202012Validator:
    """The submission schema without ``required`` (a draft may be partial), cached."""
    cache = get_context(request).extra.setdefault("api_validators", {})
    found = cache.get(svc.key)
    if found is None:
        schema = dict(forms.submission_schema(svc))
        schema.pop("$id", None)
        schema.pop("required", None)
        found = cache[svc.key] = _Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return found


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Iterable[Any]:
    """``pattern`` as JSON Schema means it (ECMA-262): a final ``$`` is the very
    end, whereas Python's ``$`` also matches before a final newline."""
    if not validator.is_type(instance, "string"):
        return
    python = pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern
    if not re.search(python, instance, re.ASCII):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})


def _render_path(parts: Iterable[Any]) -> str:
    out = "answers"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _label(svc: Any, parts: list[Any]) -> tuple[str, str]:
    names = [p for p in parts if isinstance(p, str)]
    for name in reversed(names):
        f = svc.fields.get(name)
        if f is not None:
            return f.label.th, f.label.get("en")
    name = names[-1] if names else "answers"
    return name, name


def schema_problems(svc: Any, validator: Draft202012Validator, answers: Any) -> list[dict[str, str]]:
    """Every JSON Schema violation of ``answers`` as API problems, by path."""
    out: list[dict[str, str]] = []
    for error in validator.iter_errors(answers):
        parts = list(error.absolute_path)
        path = _render_path(parts)
        th_label, en_label = _label(svc, parts)
        kind, value = error.validator, error.validator_value
        if kind == "additionalProperties":
            known = set((error.schema or {}).get("properties", {}))
            for key in sorted(k for k in error.instance if k not in known):
                out.append(problem(_render_path([*parts, key]), "unknown_field",
                                   f"ไม่มีช่อง “{key}” ในแบบฟอร์มนี้", f"“{key}” is not a field of this form"))
            continue
        if kind == "required":
            for key in value:
                if isinstance(error.instance, dict) and key not in error.instance:
                    out.append(problem(_render_path([*parts, key]), "required",
                                       f"“{th_label}” ต้องมี “{key}”", f"“{en_label}” needs “{key}”"))
            continue
        if kind == "type":
            wanted = [value] if isinstance(value, str) else list(value)
            th = " หรือ ".join(_TYPE_NAMES.get(w, (w, w))[0] for w in wanted)
            en = " or ".join(_TYPE_NAMES.get(w, (w, w))[1] for w in wanted)
            field = svc.fields.get(parts[-1]) if parts and isinstance(parts[-1], str) else None
            if field is not None and field.type is FieldType.money:
                th += ' ที่เป็นจำนวนเงิน เช่น "1250.00"'
                en += ' holding an amount, e.g. "1250.00"'
            out.append(problem(path, "type", f"“{th_label}” ต้องเป็น{th}", f"“{en_label}” must be {en}"))
        elif kind == "enum":
            shown = ", ".join(json.dumps(v, ensure_ascii=False) for v in value)
            out.append(problem(path, "choice", f"“{th_label}” ต้องเป็นค่าใดค่าหนึ่งต่อไปนี้: {shown}",
                               f"“{en_label}” must be one of: {shown}"))
        elif kind == "pattern":
            field = svc.fields.get(parts[-1]) if parts and isinstance(parts[-1], str) else None
            if value in (forms.LINE_PATTERN, forms.MULTILINE_PATTERN):
                out.append(problem(path, "control_characters", *forms.control_texts(
                    th_label, en_label, value == forms.MULTILINE_PATTERN)))
            elif value == forms.DATE_PATTERN:
                year = error.instance[:4]
                out.append(problem(path, "date_range", *forms.date_range_texts(
                    th_label, en_label, int(year) if year.isdigit() else None)))
            elif field is not None and field.type is FieldType.money:
                out.append(problem(path, "money", f"“{th_label}” ต้องเป็นจำนวนเงินทศนิยมไม่เกิน 2 ตำแหน่ง เช่น \"1250.00\"",
                                   f"“{en_label}” must be an amount with at most 2 decimals, e.g. \"1250.00\""))
            else:
                out.append(problem(path, "pattern", f"“{th_label}” มีรูปแบบไม่ถูกต้อง",
                                   f"“{en_label}” is not in the right format ({value})"))
        elif kind == "format":
            if value == "date":
                out.append(problem(path, "date", f"“{th_label}” ต้องเป็นวันที่รูปแบบ ค.ศ. YYYY-MM-DD",
                                   f"“{en_label}” must be a date as YYYY-MM-DD"))
            elif value == "email":
                out.append(problem(path, "email", f"“{th_label}” ไม่ใช่อีเมลที่ถูกต้อง",
                                   f"“{en_label}” must be an e-mail address"))
            else:
                out.append(problem(path, "format", f"“{th_label}” มีรูปแบบไม่ถูกต้อง",
                                   f"“{en_label}” must be in the format {value}"))
        elif kind in ("maxLength", "minLength"):
            if kind == "maxLength":
                out.append(problem(path, "too_long", f"“{th_label}” ยาวเกิน {value:,} ตัวอักษร",
                                   f"“{en_label}” must be {value:,} characters or fewer"))
            else:
                out.append(problem(path, "required" if value == 1 else "too_short",
                                   f"“{th_label}” ต้องมีอย่างน้อย {value:,} ตัวอักษร",
                                   f"“{en_label}” needs at least {value:,} character(s)"))
        elif kind in ("minimum", "exclusiveMinimum"):
            out.append(problem(path, "min", f"“{th_label}” ต้องไม่น้อยกว่า {value:g}",
                               f"“{en_label}” must be at least {value:g}"))
        elif kind in ("maximum", "exclusiveMaximum"):
            out.append(problem(path, "max", f"“{th_label}” ต้องไม่เกิน {value:g}",
                               f"“{en_label}” must be at most {value:g}"))
        elif kind in ("minItems", "maxItems"):
            code = "min_items" if kind == "minItems" else "max_items"
            word = ("อย่างน้อย", "at least") if kind == "minItems" else ("ไม่เกิน", "at most")
            out.append(problem(path, code, f"“{th_label}” ต้องมี{word[0]} {value} รายการ",
                               f"“{en_label}” needs {word[1]} {value} item(s)"))
        elif kind == "uniqueItems":
            out.append(problem(path, "duplicate", f"“{th_label}” มีรายการซ้ำ", f"“{en_label}” has duplicates"))
        else:
            out.append(problem(path, kind, f"“{th_label}” ไม่ถูกต้อง", f"“{en_label}”: {error.message}"))
    first = {}  # one problem per path: the first found (e.g. "not a date" before "year out of range")
    for item in out:
        first.setdefault(item["path"], item)
    return sorted(first.values(), key=lambda p: p["path"])


def _normalise_money(svc: Any, answers: dict[str, Any]) -> dict[str, Any]:
    """Money answers as stored by the e-Form: text with two decimals."""
    def fix(f: Any, value: Any) -> Any:
        if f.type is FieldType.money and isinstance(value, str):
            try:
                return str(Decimal(value).quantize(Decimal("0.01")))
            except InvalidOperation:
                return value
        if f.type is FieldType.group and isinstance(value, list):
            inner = {c.id: c for c in f.fields}
            return [{k: fix(inner[k], v) if k in inner else v for k, v in item.items()}
                    if isinstance(item, dict) else item for item in value]
        return value

    return {k: fix(svc.fields[k], v) if k in svc.fields else v for k, v in answers.items()}


def checked_answers(request: Request, svc: Any, answers: Any) -> dict[str, Any]:
    """Answers that pass the submission schema (nulls mean "no answer"), or 422."""
    if isinstance(answers, dict):
        answers = {k: v for k, v in answers.items() if v is not None}
    answers = forms.normalise_newlines(answers)  # CRLF → LF, as the e-Form reads a textarea
    errors = schema_problems(svc, _validator(request, svc), answers)
    if errors:
        raise ApiError(422, "invalid_answers", "ข้อมูลในคำขอไม่ถูกต้อง ไม่ได้บันทึก กรุณาแก้ไขรายการที่แจ้ง",
                       "the answers are not valid and were not saved; correct the listed items", errors)
    return _normalise_money(svc, answers)


def _dropped(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = "answers") -> list[str]:
    """Paths of answers removed because they are not applicable (hidden)."""
    out = []
    for key, value in before.items():
        if key not in after:
            out.append(f"{prefix}.{key}")
        elif isinstance(value, list) and isinstance(after[key], list):
            for index, (old, new) in enumerate(zip(value, after[key])):
                if isinstance(old, dict) and isinstance(new, dict):
                    out += _dropped(old, new, f"{prefix}.{key}[{index}]")
    return out


def _editable(svc: Any, record: Mapping[str, Any]) -> bool:
    """The engine's rule (``Applications._editable``): a draft, or a state in
    which the applicant may change answers and documents."""
    if record.get("state") == "draft":
        return True
    state = svc.states.get(record.get("state"))
    return bool(state and state.editable_by_applicant and not record.get("closed"))


def replace_answers(request: Request, record: dict, actor: Any, answers: dict[str, Any]) -> tuple[dict, list[str]]:
    """Replace the answers as a whole (a draft, or an application sent back for
    changes): the engine's validation decides what is kept (hidden answers
    dropped); the store's version check refuses a stale write.  After submission
    the change is recorded in the history, as the e-Form does.  Returns the saved
    record and the dropped paths."""
    apps = applications(request)
    svc = apps.ctx.service_of(record)
    if not _editable(svc, record):
        raise ApiError(409, "not_editable", "คำขอนี้ยื่นแล้ว แก้ไขคำตอบไม่ได้",
                       "this application has been submitted; its answers cannot be replaced")
    cleaned, _errors = forms.validate(svc, answers, apps.env(record))
    before = record.get("answers", {})
    changed = sorted(k for k in set(cleaned) | set(before) if cleaned.get(k) != before.get(k))
    record["answers"] = cleaned
    record["updated_at"] = apps.ctx.now_iso()
    if record["state"] != "draft" and changed:
        from .. import events
        from ..applications import submission_digest

        events.append(record["events"], "answers_changed", actor.user_id, record["updated_at"],
                      {"fields": changed, "content_sha256": submission_digest(record)})
    saved = apps.ctx.store.update_application(record, record["version"])
    return saved, _dropped(answers, cleaned)


# ===================================================================== applications
def _own(request: Request, app_id: str, actor: Any) -> dict:
    """The actor's own application, else 404 (also for an officer's token)."""
    if not _APP_ID.match(app_id or ""):
        raise _not_found()
    record = applications(request).get(app_id, actor, "view_own")
    if record.get("applicant") != actor.user_id:
        raise _not_found()
    return record


def _state_json(svc: Any, record: Mapping[str, Any]) -> dict[str, Any]:
    state = svc.states.get(record["state"])
    if state is None:
        if record["state"] == "draft":
            return dict(DRAFT_STATE)
        return {"id": record["state"], "title": {"th": record["state"], "en": record["state"]},
                "description": None, "applicant_action": None, "final": bool(record.get("closed")),
                "outcome": record.get("outcome")}
    return {"id": state.id, "title": _text(state.title), "description": _text(state.description),
            "applicant_action": _text(state.applicant_action), "final": state.final, "outcome": state.outcome}


def _by(record: Mapping[str, Any], actor: str) -> str:
    if actor == record.get("applicant"):
        return "applicant"
    return "system" if actor in ("system", "") else "officer"


def _event_text(svc: Any, record: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, str] | None:
    """One history event in plain language, or None when it says nothing to the applicant."""
    kind, data = event.get("type", ""), event.get("data") or {}
    from ..renderers.dates import format_datetime

    if kind == "draft_started":
        return {"th": "เริ่มกรอกคำขอ", "en": "Started the application"}
    if kind == "submitted":
        intake = data.get("intake_at")
        return {"th": f"ยื่นคำขอแล้ว เลขรับที่ {data.get('intake_number')} "
                      f"(ลงรับ {format_datetime(intake, 'th')})",
                "en": f"Submitted; intake number {data.get('intake_number')} "
                      f"(registered {format_datetime(intake, 'en')})"}
    if kind == "transition":
        tr = svc.transitions.get(data.get("transition"))
        to = svc.states.get(data.get("to"))
        to_th = to.title.th if to else data.get("to")
        to_en = to.title.get("en") if to else data.get("to")
        if tr is None:
            return {"th": f"สถานะเปลี่ยนเป็น “{to_th}”", "en": f"Status changed to “{to_en}”"}
        return {"th": f"{tr.title.th}: สถานะเปลี่ยนเป็น “{to_th}”",
                "en": f"{tr.title.get('en')}: status changed to “{to_en}”"}
    if kind == "document_added":
        return {"th": f"แนบเอกสารเพิ่ม: {data.get('filename')}", "en": f"Added a document: {data.get('filename')}"}
    if kind == "document_removed":
        return {"th": "นำเอกสารออก", "en": "Removed a document"}
    if kind == "answers_changed":
        fields = [svc.fields.get(f) for f in data.get("fields", [])]
        th = ", ".join(f.label.th for f in fields if f is not None)
        en = ", ".join(f.label.get("en") for f in fields if f is not None)
        return {"th": "แก้ไขคำตอบ" + (f": {th}" if th else ""), "en": "Changed answers" + (f": {en}" if en else "")}
    if kind == "effect:issue_fee":
        if data.get("skipped"):
            return None
        fee = next((f for f in svc.definition.fees if f.id == data.get("fee")), None)
        from ..renderers.html import format_money

        title_th = fee.title.th if fee else data.get("fee")
        title_en = fee.title.get("en") if fee else data.get("fee")
        return {"th": f"แจ้งชำระ{title_th} {format_money(data.get('amount'), 'th')}",
                "en": f"Fee due: {title_en}, {format_money(data.get('amount'), 'en')}"}
    if kind == "effect:issue_letter":
        return {"th": "ออกหนังสือแจ้งผล", "en": "A letter was issued"}
    if kind == "effect:sign_licence":
        return {"th": f"ลงนามใบอนุญาตแล้ว เลขที่ {data.get('number')}",
                "en": f"The licence was signed, number {data.get('number')}"}
    if kind == "effect:publish":
        return {"th": "เผยแพร่ใบอนุญาตในทะเบียนแล้ว", "en": "The licence was published in the register"}
    if kind.startswith("effect:"):
        return None
    readable = kind.replace("_", " ")
    return {"th": f"บันทึกเหตุการณ์: {readable}", "en": readable.capitalize()}


def _history(svc: Any, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for event in record.get("events", []):
        text = _event_text(svc, record, event)
        if text is not None:
            out.append({"seq": event.get("seq"), "at": event.get("at"), "type": event.get("type"),
                        "by": _by(record, event.get("actor", "")), **text})
    return out


def _expected_completion(record: Mapping[str, Any]) -> dict[str, str] | None:
    if not record.get("sla_due"):
        return None
    from ..renderers.dates import format_date

    return {"th": f"ภายในวันที่ {format_date(record['sla_due'], 'th', long=True)}",
            "en": f"By {format_date(record['sla_due'], 'en', long=True)}"}


def _estimated_fees(apps: Any, svc: Any, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    env = apps.env(record)
    ev = forms.Evaluation(svc, forms.clean(svc, record.get("answers", {}), env), env)
    out = []
    for fee in svc.definition.fees:
        if not ev.holds(fee.when):
            continue
        try:
            amount = f"{ev.money(fee.amount):.2f}"
        except Exception:  # an expression that cannot be evaluated yet (answers missing)
            amount = None
        out.append({"id": fee.id, "title": _text(fee.title), "amount": amount})
    return out


def _as_applicant(actor: Any) -> Any:
    """The API acts for the applicant only: the same person without officer grants,
    so the engine checks and re-signs their changes as the applicant's (A-F6, A-F8)."""
    return replace(actor, grants=()) if actor.grants else actor


def _input_json(spec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": spec.id, "type": spec.type, "label": _text(spec.label),
                           "required": bool(spec.required)}
    if spec.options:
        out["options"] = [{"value": o.value, "label": _text(o.label)} for o in spec.options]
    return out


def _actions_json(request: Request, record: Mapping[str, Any], actor: Any) -> list[dict[str, Any]]:
    """The workflow transitions the applicant may take now (none in a draft: see ``submit``)."""
    if record.get("state") == "draft" or record.get("closed"):
        return []
    try:
        found = workflow(request).available(record, _as_applicant(actor))
    except EngineError:  # a guard that cannot be evaluated now: offer nothing rather than fail the read
        return []
    return [{"id": tr.id, "title": _text(tr.title), "inputs": [_input_json(i) for i in tr.inputs],
             "href": _url(request, f"/api/applications/{record['id']}/actions/{tr.id}")}
            for tr in found if "applicant" in tr.roles]


def application_json(request: Request, record: Mapping[str, Any], *, full: bool = True,
                     actor: Any = None) -> dict[str, Any]:
    apps = applications(request)
    svc = apps.ctx.service_of(record)
    app_id = record["id"]
    editable = _editable(svc, record)
    links = {
        "self": _url(request, f"/api/applications/{app_id}"),
        "service": _url(request, f"/api/services/{svc.id}"),
        "schema": _url(request, f"/api/services/{svc.id}/schema"),
        "tracking": _url(request, _path(request, "track", "/track")),
    }
    if editable:
        links.update(answers=_url(request, f"/api/applications/{app_id}/answers"),
                     documents=_url(request, f"/api/applications/{app_id}/documents/{{document_id}}"))
    if record["state"] == "draft":
        links.update(submit=_url(request, f"/api/applications/{app_id}/submit"))
    out: dict[str, Any] = {
        "id": app_id, "reference": record["reference"], "version": record["version"],
        "service": {"id": svc.id, "version": svc.version, "title": _text(svc.definition.title)},
        "agency": _agency_json(svc.agency),
        "state": _state_json(svc, record), "closed": bool(record.get("closed")),
        "created_at": record.get("created_at"), "updated_at": record.get("updated_at"),
        "submitted_at": record.get("submitted_at"), "intake_number": record.get("intake_number"),
        "intake_at": record.get("intake_at"), "sla_due": record.get("sla_due"),
        "expected_completion": _expected_completion(record),
        "links": links,
    }
    if not full:
        return out
    attached = record.get("documents", {})
    shown = {d.id for d in apps.applicable_documents(record)} | set(attached)
    documents = []
    for doc in svc.definition.documents:
        if doc.id not in shown:
            continue
        documents.append({
            "id": doc.id, "title": _text(doc.title), "formats": list(doc.formats),
            "files": [{k: item.get(k) for k in ("filename", "media_type", "size", "sha256", "uploaded_at")}
                      for item in attached.get(doc.id, [])],
        })
    errors: list[dict[str, str]] = []
    if editable:
        field_errors, missing = apps.problems(record)
        errors = _engine_problems([e.as_dict() for e in field_errors] + missing)
    from .api_documents import issued_json  # issued licences and letters (#7); that module builds on this one

    out.update({
        "answers": record.get("answers", {}),
        "documents": documents,
        "errors": errors,
        "fees": [{"id": f.get("id"), "title": f.get("title"), "amount": f.get("amount"),
                  "status": f.get("status"), "due_on": f.get("due_on"), "methods": f.get("methods", [])}
                 for f in record.get("fees", [])],
        "history": _history(svc, record),
        "issued": issued_json(request, svc, record),
        "declaration": declaration_of(svc) if record["state"] == "draft" else None,
        "actions": _actions_json(request, record, actor if actor is not None else _actor(request)),
    })
    if record["state"] == "draft":
        out["estimated_fees"] = _estimated_fees(apps, svc, record)
    return out


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


def list_applications(request: Request, body: bytes) -> Response:
    """The token's applications, newest first; ``?reference=`` gives one in full."""
    actor = _actor(request)
    apps = applications(request)
    reference = (request.query_params.get("reference") or "").strip()
    if reference:
        if len(reference) > 40:
            raise _not_found()
        record = apps.by_reference(reference, actor)
        if record.get("applicant") != actor.user_id:
            raise _not_found()
        return _ok({"count": 1, "applications": [application_json(request, record, actor=actor)]})
    items = []
    for summary in apps.of_applicant(actor):
        try:
            record = apps.ctx.store.get_application(summary["id"])
        except NotFoundError:
            continue
        if record.get("applicant") == actor.user_id:
            items.append(application_json(request, record, full=False))
    return _ok({"count": len(items), "applications": items})


def create_application(request: Request, body: bytes) -> Response:
    """A draft for the token's user, prefilled from the profile (A-F2), with answers if given."""
    _entry, user = api_user(request)
    data = json_body(request, body, ("service", "answers"), ("service",))
    actor = actor_for(user, request)
    ctx = get_context(request)
    service_id = data["service"]
    svc = ctx.service(service_id) if isinstance(service_id, str) and _SERVICE_ID.match(service_id) else None
    if svc is None:
        raise ApiError(422, "no_service", "ไม่พบบริการนี้", "no such service",
                       [problem("service", "no_service", "ไม่พบบริการนี้ ดูรายการได้ที่ /api/services",
                                "no such service; see /api/services")])
    given = None
    if "answers" in data:
        given = checked_answers(request, svc, data["answers"])
    apps = applications(request)
    record = apps.start(svc.id, actor, prefill={"profile": accounts(request).prefill_profile(user)})
    dropped: list[str] = []
    if given is not None:
        record, dropped = replace_answers(request, record, actor, {**record["answers"], **given})
    out = application_json(request, record, actor=actor)
    out["dropped"] = dropped
    return _ok(out, 201, {"Location": out["links"]["self"], **_etag(record)})


def get_application(request: Request, body: bytes) -> Response:
    actor = _actor(request)
    record = _own(request, request.path_params["app_id"], actor)
    return _ok(application_json(request, record, actor=actor), headers=_etag(record))


def put_answers(request: Request, body: bytes) -> Response:
    """Replace a draft's answers ``{answers, version?}`` (``If-Match`` or ``version``)."""
    actor = _actor(request)
    data = json_body(request, body, ("answers", "version"), ("answers",))
    record = _own(request, request.path_params["app_id"], actor)  # 404 before any precondition
    expected = _expected_version(request, data, required=True)
    _check_version(record, expected)
    svc = applications(request).ctx.service_of(record)
    answers = checked_answers(request, svc, data["answers"])
    record, dropped = replace_answers(request, record, actor, answers)
    out = application_json(request, record, actor=actor)
    out["dropped"] = dropped
    return _ok(out, headers=_etag(record))


def _is_declaration(value: Any) -> bool:
    return (isinstance(value, dict) and "th" in value and set(value) <= {"th", "en"}
            and all(isinstance(v, str) and len(v) <= 10_000 for v in value.values()))


def submit_application(request: Request, body: bytes) -> Response:
    """Sign (ETDA type 1, A-F8) and submit; the receipt (RC-3, A-F10)."""
    actor = _actor(request)
    data = json_body(request, body, ("declaration", "intent", "version"), ("declaration", "intent"), {
        "declaration": (_is_declaration, "type",
                        "“declaration” ต้องเป็น {th, en} ตามข้อความคำรับรองที่แสดงต่อผู้ยื่น",
                        "“declaration” must be {th, en}: the declaration text shown to the applicant"),
        "intent": (lambda v: v is True, "intent", "กรุณายืนยันเจตนาลงลายมือชื่ออิเล็กทรอนิกส์ (intent: true)",
                   "confirm the intent to sign electronically (intent: true)"),
    })
    declaration = data["declaration"]
    record = _own(request, request.path_params["app_id"], actor)
    expected = _expected_version(request, data, required=False)
    _check_version(record, expected)
    apps = applications(request)
    saved = apps.submit(record["id"], actor, declaration_shown=declaration, intent_confirmed=True,
                        expected_version=expected)
    svc = apps.ctx.service_of(saved)
    tracking = _path(request, "track", "/track")
    receipt = {
        "reference": saved["reference"],
        "intake_number": saved["intake_number"],
        "intake_at": saved["intake_at"],
        "submitted_at": saved["submitted_at"],
        "sla_due": saved.get("sla_due"),
        "expected_completion": _expected_completion(saved),
        "sla": {"working_days": svc.definition.sla.working_days,
                "text": sla_text(svc.definition.sla.working_days)},
        "agency": _agency_json(svc.agency),
        "content_sha256": saved["signature"]["content_sha256"],
        "tracking": {"html": _url(request, tracking), "api": _url(request, f"/api/applications/{saved['id']}"),
                     "reference": saved["reference"]},
    }
    return _ok({"receipt": receipt, "application": application_json(request, saved, actor=actor)}, 201,
               _etag(saved))


_TRANSITION_ID = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


def take_action(request: Request, body: bytes) -> Response:
    """Take one of the applicant's own workflow transitions ``{inputs?, version?}``
    (e.g. send the changes or documents the agency asked for; A-R3, PR-1)."""
    actor = _actor(request)
    data = json_body(request, body, ("inputs", "version"), (), {
        "inputs": (lambda v: isinstance(v, dict), "type", "“inputs” ต้องเป็นออบเจกต์ {รหัสข้อมูล: ค่า}",
                   "“inputs” must be an object {input id: value}"),
    })
    record = _own(request, request.path_params["app_id"], actor)
    transition_id = request.path_params["transition_id"]
    svc = applications(request).ctx.service_of(record)
    tr = svc.transitions.get(transition_id) if _TRANSITION_ID.match(transition_id) else None
    if tr is None:
        raise ApiError(404, "no_transition", "ไม่มีการดำเนินการนี้ในบริการ", "no such action for this service")
    expected = _expected_version(request, data, required=False)
    _check_version(record, expected)
    inputs = data.get("inputs") or {}
    declared = {i.id for i in tr.inputs}
    unknown = sorted(set(inputs) - declared)
    if unknown:
        raise ApiError(422, "unknown_input", "มีข้อมูลที่การดำเนินการนี้ไม่ได้ขอ", "inputs this action does not take",
                       [problem(f"inputs.{key}", "unknown_field", f"การดำเนินการนี้ไม่มีข้อมูล “{key}”",
                                f"“{key}” is not an input of this action") for key in unknown])
    saved = workflow(request).take(record["id"], tr.id, _as_applicant(actor), inputs, expected_version=expected)
    return _ok(application_json(request, saved, actor=actor), headers=_etag(saved))


async def upload_document(request: Request) -> Response:
    """Attach a file: ``multipart/form-data`` with one file part, or the raw bytes
    with their ``Content-Type`` and ``?filename=``.  Checked by its bytes (PR-4, A-F6)."""
    from ..documents import limit_bytes, store_upload

    app_id, document_id = request.path_params["app_id"], request.path_params["document_id"]

    def prepare() -> tuple[Any, dict, Any]:
        actor = _actor(request)
        record = _own(request, app_id, actor)
        apps = applications(request)
        svc = apps.ctx.service_of(record)
        doc = next((d for d in svc.definition.documents if d.id == document_id), None) \
            if _DOC_ID.match(document_id) else None
        if doc is None:
            raise ApiError(404, "no_document", "ไม่มีเอกสารนี้ในบริการ", "no such document for this service",
                           [problem(f"documents.{document_id}", "no_document", "ไม่มีเอกสารนี้ในบริการ",
                                    "no such document for this service")])
        if doc.id not in {d.id for d in apps.applicable_documents(record)}:
            raise ApiError(422, "not_applicable", "เอกสารนี้ไม่ต้องแนบตามคำตอบในคำขอ",
                           "this document does not apply given the answers",
                           [problem(f"documents.{doc.id}", "not_applicable", "เอกสารนี้ไม่ต้องแนบตามคำตอบในคำขอ",
                                    "this document does not apply given the answers")])
        return actor, record, doc

    actor, record, doc = await run_in_threadpool(prepare)
    expected = _expected_version(request, {}, required=False)
    _check_version(record, expected)
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    limit = limit_bytes(doc)
    if kind == "multipart/form-data":
        raw = await read_body(request, limit + MULTIPART_OVERHEAD)

        async def replay():
            yield raw

        try:
            form = await MultiPartParser(request.headers, replay(), max_files=1, max_fields=10).parse()
        except MultiPartException as exc:
            raise ApiError(400, "invalid_multipart", "ข้อมูล multipart ไม่ถูกต้อง",
                           f"the multipart body is not valid: {exc.message}") from None
        uploads = [v for _, v in form.multi_items() if not isinstance(v, str)]
        if not uploads:
            raise ApiError(422, "no_file", "ไม่พบไฟล์ในคำขอ กรุณาส่งไฟล์ในส่วน multipart ชื่อ file",
                           "no file in the request; send it as a multipart part named `file`",
                           [problem(f"documents.{doc.id}", "no_file", "ไม่พบไฟล์", "no file")])
        upload = uploads[0]
        data = await upload.read()
        filename = upload.filename or "document"
        await form.close()
    elif kind in ("", "application/x-www-form-urlencoded"):
        raise ApiError(415, "unsupported_media_type",
                       "ส่งไฟล์แบบ multipart/form-data หรือส่งเนื้อไฟล์โดยตรงพร้อม Content-Type และ ?filename=",
                       "send multipart/form-data, or the raw bytes with their Content-Type and ?filename=")
    else:
        data = await read_body(request, limit)
        filename = request.query_params.get("filename") or "document"

    def store() -> Response:
        apps = applications(request)
        stored = store_upload(apps.ctx.files, data, filename, doc)
        saved = apps.attach(record["id"], actor, doc.id, stored, expected_version=expected)
        out = {"file": {**stored, "document": doc.id},
               "application": application_json(request, saved, actor=actor)}
        return _ok(out, 201, _etag(saved))

    return await run_in_threadpool(store)


# ============================================================================ OpenAPI
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


routes = [
    Route("/api/tokens", endpoint(post=issue_token), methods=ALL_METHODS, name="api_tokens"),
    Route("/api/tokens/current", endpoint(get=token_info, delete=revoke_token), methods=ALL_METHODS,
          name="api_token_current"),
    Route("/api/services", endpoint(get=list_services), methods=ALL_METHODS, name="api_services"),
    Route("/api/services/{service_id}", endpoint(get=get_service), methods=ALL_METHODS, name="api_service"),
    Route("/api/services/{service_id}/schema", endpoint(get=get_schema), methods=ALL_METHODS,
          name="api_service_schema"),
    Route("/api/applications", endpoint(get=list_applications, post=create_application), methods=ALL_METHODS,
          name="api_applications"),
    Route("/api/applications/{app_id}", endpoint(get=get_application), methods=ALL_METHODS,
          name="api_application"),
    Route("/api/applications/{app_id}/answers", endpoint(put=put_answers), methods=ALL_METHODS,
          name="api_application_answers"),
    Route("/api/applications/{app_id}/documents/{document_id}", endpoint(post=upload_document),
          methods=ALL_METHODS, name="api_application_document"),
    Route("/api/applications/{app_id}/submit", endpoint(post=submit_application), methods=ALL_METHODS,
          name="api_application_submit"),
    Route("/api/applications/{app_id}/actions/{transition_id}", endpoint(post=take_action),
          methods=ALL_METHODS, name="api_application_action"),
    Route("/openapi.json", endpoint(get=openapi_document), methods=ALL_METHODS, name="openapi"),
    Route("/api/docs", endpoint(get=docs_page), methods=ALL_METHODS, name="api_docs"),
]
