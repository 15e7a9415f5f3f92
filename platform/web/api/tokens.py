"""Personal access tokens (A-X2): ``POST /api/tokens`` for e-mail and password,
then ``Authorization: Bearer <token>`` (:mod:`eservice.web.api_tokens`).  The
session cookie is never accepted under ``/api/``.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ...auth import AuthError
from ..api_tokens import ApiTokens, bearer_token
from ..context import get_context
from ..deps import accounts, actor_for, client_ip
from ..throttle import give_back, limit
from .http import _ok, json_body


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


