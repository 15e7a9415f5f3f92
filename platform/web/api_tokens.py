"""Personal access tokens for API clients (CH-5, A-X2).

The JSON API under ``/api/`` is exempt from CSRF checks, so it must never
accept the session cookie: a client signs in once with ``POST /api/tokens``
(e-mail + password, the same lock-out rules as the sign-in page) and sends the
token it receives as ``Authorization: Bearer <token>`` on every request.

Storage (store collection ``api_tokens``): the key is the SHA-256 of the token;
the token itself is shown to the client once and never stored or logged::

    {key, user_id, created_at, expires_at, revoked_at, epoch, ip, user_agent}

A token stops working when it expires (``TOKEN_TTL``, 30 days), when it is
revoked (``DELETE /api/tokens/current``), when the account is disabled, and
when the person's sessions are ended (password reset or change, "sign out
everywhere"), since ``epoch`` must equal the account's ``session_epoch``.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from ..auth import hash_token
from ..errors import BilingualError
from ..store.base import ConflictError, Record

__all__ = ["COLLECTION", "TOKEN_TTL", "ApiTokens", "TokenError", "bearer_token"]

COLLECTION = "api_tokens"
TOKEN_TTL = timedelta(days=30)
MAX_TOKEN_LENGTH = 200


class TokenError(BilingualError):
    """Why a request is not authenticated: ``missing_token``, ``invalid_token``,
    ``expired_token`` or ``revoked_token`` (always HTTP 401)."""

    status = 401


def _missing() -> TokenError:
    return TokenError("missing_token",
                      "กรุณาส่งโทเคนในส่วนหัว Authorization: Bearer <โทเคน> (ขอโทเคนได้ที่ POST /api/tokens)",
                      "Send a token as `Authorization: Bearer <token>` (get one with POST /api/tokens)")


def _invalid() -> TokenError:
    return TokenError("invalid_token", "โทเคนไม่ถูกต้องหรือถูกยกเลิกแล้ว กรุณาขอโทเคนใหม่",
                      "The token is not valid or has been revoked; get a new one")


def _expired() -> TokenError:
    return TokenError("expired_token", "โทเคนหมดอายุแล้ว กรุณาขอโทเคนใหม่ที่ POST /api/tokens",
                      "The token has expired; get a new one with POST /api/tokens")


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header, or TokenError."""
    if not authorization:
        raise _missing()
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise _missing()
    if len(value) > MAX_TOKEN_LENGTH or not value.isascii():
        raise _invalid()
    return value


def _iso(value: datetime) -> str:
    return value.isoformat()


class ApiTokens:
    """Issue, resolve and revoke API tokens over a store collection."""

    def __init__(self, store: Any, clock: Any, ttl: timedelta = TOKEN_TTL):
        self.collection = store.collection(COLLECTION)
        self.clock = clock
        self.ttl = ttl

    def issue(self, user: Record, *, ip: str = "", user_agent: str = "") -> tuple[str, Record]:
        """A new token for ``user`` (already authenticated) and its stored record."""
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        key = hash_token(token)
        record = self.collection.put(key, {
            "key": key, "user_id": user["id"], "epoch": user.get("session_epoch", 0),
            "created_at": _iso(now), "expires_at": _iso(now + self.ttl), "revoked_at": None,
            "ip": ip[:64], "user_agent": user_agent[:300],
        })
        return token, record

    def resolve(self, token: str, users: Any) -> tuple[Record, Record]:
        """``(token record, user)`` for a live token, else TokenError.  ``users``
        is the ``users`` collection (or anything with ``get(user_id)``)."""
        if not isinstance(token, str) or not 20 <= len(token) <= MAX_TOKEN_LENGTH:
            raise _invalid()
        entry = self.collection.get(hash_token(token))
        if entry is None or entry.get("revoked_at"):
            raise _invalid()
        if self.clock.now() >= datetime.fromisoformat(entry["expires_at"]):
            raise _expired()
        user = users.get(entry["user_id"])
        if user is None or user.get("disabled") or user.get("session_epoch", 0) != entry.get("epoch", 0):
            raise _invalid()
        return entry, user

    def revoke(self, entry: Record) -> None:
        """Mark the token revoked (kept until purged, so its use can be audited)."""
        for _ in range(5):
            try:
                self.collection.put(entry["key"], dict(entry, revoked_at=_iso(self.clock.now())),
                                    expected_version=entry["version"])
                return
            except ConflictError:
                entry = self.collection.get(entry["key"])
                if entry is None or entry.get("revoked_at"):
                    return

    def purge(self) -> int:
        """Delete expired and revoked tokens; return how many."""
        now = self.clock.now()
        stale = [r["key"] for r in list(self.collection.all())
                 if r.get("revoked_at") or now >= datetime.fromisoformat(r["expires_at"])]
        for key in stale:
            self.collection.delete(key)
        return len(stale)
