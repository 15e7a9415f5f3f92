"""The API's error shape (A-X2), and the paths it gives the platform's errors.

Every refusal answers ``{"error": {"status", "code", "th", "en", "errors": [...]}}``;
``errors`` lists problems with a ``path`` into the application as the API shows it:
``answers.<field>`` (``answers.items[2].name`` inside a group), ``documents.<document id>``,
``inputs.<input id>``, or a member of the request body (``version``, ``intent``, …).
:func:`api_error` is what :mod:`eservice.web.errors` (the one error handler) calls
for an error under ``/api``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette.responses import JSONResponse

from ...engine import EngineError
from ...errors import BilingualError
from ...store.base import ConflictError, NotFoundError
from ..api_tokens import TokenError


class ApiError(BilingualError):
    """A refusal with the API's error shape."""

    def __init__(self, status: int, code: str, th: str, en: str, errors: Iterable[Mapping] = (),
                 headers: Mapping[str, str] | None = None, **extra: Any):
        super().__init__(code, th, en, status=status)
        self.errors = [dict(e) for e in errors]
        self.headers = dict(headers or {})
        self.extra = extra

    def response(self) -> JSONResponse:
        body = {"status": self.status, "code": self.code, "th": self.th, "en": self.en,
                "errors": self.errors, **self.extra}
        return JSONResponse({"error": body}, status_code=self.status, headers=self.headers)


def problem(path: str, code: str, th: str, en: str) -> dict[str, str]:
    return {"path": path, "code": code, "th": th, "en": en}


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


def _conflict(exc: ConflictError) -> ApiError:
    return ApiError(409, "version_conflict", exc.th, exc.en,
                    [problem("version", "version_conflict", exc.th, exc.en)],
                    current_version=exc.actual)


def api_error(exc: BilingualError) -> ApiError:
    """``exc`` in the API's shape: engine problems get their paths, a stale version
    points at ``version``, and a 401 carries the bearer challenge (RFC 6750)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, EngineError):
        return _from_engine(exc)
    if isinstance(exc, ConflictError):
        return _conflict(exc)
    if isinstance(exc, NotFoundError):
        return _not_found()
    headers = {}
    if exc.status == 401:  # no error attribute when no token was sent; invalid_token for a bad one
        invalid = isinstance(exc, TokenError) and exc.code != "missing_token"
        headers["WWW-Authenticate"] = 'Bearer realm="eservice", error="invalid_token"' if invalid \
            else 'Bearer realm="eservice"'
    return ApiError(exc.status, exc.code, exc.th, exc.en, headers=headers)
