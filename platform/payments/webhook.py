"""A provider's payment callback, end to end (A-P3, A-P6): signature, replay,
then :func:`eservice.payments.ledger.record_payment`.

A provider (a :class:`eservice.plugin_api.PaymentProvider` with a
``verify(body, headers, secret=, now=)`` method) checks the HMAC signature and
the time stamp and returns a :class:`Callback`; this module refuses an event
id seen before (replay), then records the payment as ``system``: a
transaction seen before is a duplicate (nothing changes), a payment that does
not fit the notice is kept flagged for finance.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import BilingualError
from ..policy import SYSTEM
from ..store import ConflictError
from .records import WEBHOOK_EVENTS
from .ledger import record_payment

__all__ = ["Callback", "EVENTS", "WebhookRefused", "handle_callback", "hmac_hex", "MAX_AGE_SECONDS"]

EVENTS = WEBHOOK_EVENTS  # every accepted event id, by provider (replay protection)
MAX_AGE_SECONDS = 300  # a callback's time stamp may differ from our clock by at most this


class WebhookRefused(BilingualError):
    """A callback refused before anything was recorded (``status``: the HTTP answer)."""

    def __init__(self, code: str, th: str, en: str, status: int = 401):
        super().__init__(code, th, en, status=status)


@dataclass(frozen=True)
class Callback:
    """A verified callback: what the bank says was paid."""

    event_id: str
    transaction_id: str
    ref1: str
    ref2: str
    amount: str
    paid_at: str  # ISO 8601 with a zone
    method: str = "bill_payment"
    raw: Mapping[str, Any] | None = None


def hmac_hex(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 of ``<timestamp>.<body>`` with the shared secret, in hex."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def check_signature(secret: str, body: bytes, timestamp: str | None, signature: str | None,
                    now: dt.datetime) -> None:
    """Raise WebhookRefused unless *signature* is ours over *timestamp* and *body*
    and *timestamp* (Unix seconds) is within :data:`MAX_AGE_SECONDS` of *now*."""
    if not timestamp or not signature:
        raise WebhookRefused("unsigned", "ไม่มีลายมือชื่อหรือเวลาของข้อความ", "the callback is not signed")
    if not hmac.compare_digest(hmac_hex(secret, timestamp, body), signature.strip().lower()):
        raise WebhookRefused("forged", "ลายมือชื่อของข้อความไม่ถูกต้อง", "the callback's signature does not match")
    try:
        sent = float(timestamp)
    except ValueError:
        raise WebhookRefused("bad_timestamp", "เวลาของข้อความไม่ถูกต้อง", "the callback's time stamp is not a number") \
            from None
    if abs(now.timestamp() - sent) > MAX_AGE_SECONDS:
        raise WebhookRefused("stale", "ข้อความเก่าเกินไปหรือเวลาไม่ตรง (อาจเป็นการส่งซ้ำ)",
                             f"the callback's time stamp is more than {MAX_AGE_SECONDS} s away from now "
                             "(a replay or a wrong clock)")


def handle_callback(ctx: Any, provider: Any, body: bytes, headers: Mapping[str, str], secret: str) -> dict[str, Any]:
    """Verify, refuse replays, record. Returns ``{"status": "applied" |
    "flagged" | "duplicate", "payment", "flag", "receipt"}``."""
    callback = provider.verify(body, headers, secret=secret, now=ctx.now())
    events = ctx.store.collection(EVENTS)
    try:
        events.put(f"{provider.name}:{callback.event_id}",
                   {"provider": provider.name, "event_id": callback.event_id,
                    "transaction_id": callback.transaction_id, "received_at": ctx.now_iso()})
    except ConflictError:
        raise WebhookRefused("replay", "ได้รับข้อความนี้แล้ว (ส่งซ้ำ)", "this callback event was received before (replay)",
                             status=409) from None
    outcome = record_payment(ctx, ref1=callback.ref1, ref2=callback.ref2, amount=callback.amount,
                             method=callback.method, actor=SYSTEM, provider=provider.name,
                             provider_ref=callback.transaction_id, paid_at=callback.paid_at,
                             evidence={"event_id": callback.event_id})
    status = "duplicate" if outcome.duplicate else ("applied" if outcome.applied else "flagged")
    return {"status": status, "payment": outcome.payment["id"], "flag": outcome.flag,
            "receipt": (outcome.payment.get("receipt") or {}).get("number")}
