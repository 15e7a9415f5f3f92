"""Per-client and per-account throttles for the pages and the API.

R: A-X2; issue #17 item 5.  Whatever costs a password hash or sends a mail
counts attempts per client (its IP address, as uvicorn reports it — behind a
trusted proxy, the forwarded one) and, where it names an account, per account.
Over a limit :class:`~eservice.throttle.Throttled` is raised; the app answers
429 with ``Retry-After`` (the API's error shape under ``/api/``, an error page
elsewhere; see ``create_app``).  The counters live in the store (collection
``throttle``), so every worker process sees the same counts.

Also per account, in :mod:`eservice.auth`: the sign-in lock-out
(:class:`~eservice.auth.LockoutPolicy`) and the cap on reset mails
(``MAX_RESETS_PER_HOUR``, silent, so the answer tells nothing about which
addresses have accounts).

OTP, when it comes: call ``limit(request, "otp", account=user_id)`` before
checking a code and ``give_back(request, "otp")`` after a right one.
"""
from __future__ import annotations

from datetime import timedelta

from starlette.requests import HTTPConnection

from ..throttle import Counters, Limit, Throttled, counter_key
from .deps import _cached, client_ip

__all__ = ["LIMITS", "Throttled", "give_back", "limit"]

COLLECTION = "throttle"

# (action, "client" | "account") → limit.  "sign_in" counts failures only (page and
# POST /api/tokens together); the others count every request.
LIMITS: dict[tuple[str, str], Limit] = {
    ("sign_in", "client"): Limit(20, timedelta(minutes=15)),
    ("password_reset", "client"): Limit(20, timedelta(hours=1)),
    ("register", "client"): Limit(20, timedelta(hours=1)),
    ("register", "account"): Limit(5, timedelta(hours=1)),
    ("verify_resend", "client"): Limit(20, timedelta(hours=1)),
    ("otp", "client"): Limit(20, timedelta(minutes=15)),
    ("otp", "account"): Limit(5, timedelta(minutes=15)),
    ("verify", "client"): Limit(60, timedelta(hours=1)),  # PDFs checked on /verify (eservice.web.verify)
}


def _counters(request: HTTPConnection) -> Counters:
    return _cached(request, "throttle", lambda ctx: Counters(ctx.store.collection(COLLECTION), ctx.clock))


def limit(request: HTTPConnection, action: str, *, account: str | None = None) -> None:
    """Count one attempt at ``action`` by this client (and for ``account``, e.g. a
    normalised e-mail address); raise Throttled over a limit.  Blocking (store)."""
    counters = _counters(request)
    counters.reserve(counter_key(action, "client", client_ip(request)), LIMITS[(action, "client")])
    if account is not None and (action, "account") in LIMITS:
        counters.reserve(counter_key(action, "account", account), LIMITS[(action, "account")])


def give_back(request: HTTPConnection, action: str) -> None:
    """The attempt succeeded (or no password was checked): it does not count against the client."""
    _counters(request).release(counter_key(action, "client", client_ip(request)))
