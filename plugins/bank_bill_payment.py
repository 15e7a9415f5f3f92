"""First-party payment provider: the bank's bill-payment callback (``bank_bill_payment``).

The citizen scans the notice's Thai QR (bill payment, tag 30; or PromptPay,
tag 29, with the references in tag 62) in a banking app.  The agency's bank
then POSTs a JSON callback to ``/payments/webhook/bank_bill_payment``::

    {"event_id": "...", "transaction_id": "...", "ref1": "...", "ref2": "...",
     "amount": "1500.00", "paid_at": "2026-06-15T10:00:00+07:00", "channel": "bill_payment"}

with the headers ``X-Bank-Timestamp`` (Unix seconds) and ``X-Bank-Signature``
(hex HMAC-SHA256 of ``<timestamp>.<body>`` with the shared secret
``ESERVICE_BANK_WEBHOOK_SECRET``).  The bank pushes; there is no pull API, so
:meth:`status` can only say ``"pending"`` (the payments collection knows the
rest).  Tests run ``tests/bank_simulator.py`` as this bank.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from eservice.payments.qr import for_agency
from eservice.payments.webhook import Callback, WebhookRefused, check_signature
from eservice.plugin_api import hookimpl

__all__ = ["BankBillPaymentProvider"]


class BankBillPaymentProvider:
    name = "bank_bill_payment"

    def create(self, reference: str, amount: Any, description: str, **details: Any) -> Mapping[str, Any]:
        """The Thai QR payload for a notice: ``reference`` is ``"<ref1>:<ref2>"``,
        ``details["agency"]`` the agency (its ``biller_id`` or ``promptpay_id``)."""
        ref1, _, ref2 = reference.partition(":")
        payload = for_agency(details.get("agency"), ref1, ref2, amount)
        return {"reference": reference, "amount": str(amount), "description": description, "qr_payload": payload}

    def status(self, reference: str) -> str:
        return "pending"  # the bank pushes callbacks; it is never asked

    def verify(self, body: bytes, headers: Mapping[str, str], *, secret: str, now: Any) -> Callback:
        """Check the signature and time stamp, then read the callback (WebhookRefused otherwise)."""
        check_signature(secret, body, headers.get("x-bank-timestamp"), headers.get("x-bank-signature"), now)
        try:
            data = json.loads(body)
            amount = str(Decimal(str(data["amount"])))
            fields = {k: str(data[k]) for k in ("event_id", "transaction_id", "ref1", "ref2", "paid_at")}
        except (ValueError, KeyError, TypeError, InvalidOperation):
            raise WebhookRefused("malformed", "ข้อความไม่ครบหรือผิดรูปแบบ",
                                 "the callback is malformed or incomplete", status=400) from None
        method = "promptpay" if data.get("channel") == "promptpay" else "bill_payment"
        return Callback(amount=amount, method=method, raw=data, **fields)


@hookimpl
def eservice_payment_providers():
    return [BankBillPaymentProvider()]
