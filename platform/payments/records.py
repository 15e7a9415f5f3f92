"""The store collections of payments (shapes: :mod:`eservice.payments.ledger`)."""
from __future__ import annotations

__all__ = ["NOTICES", "PAYMENTS", "WEBHOOK_EVENTS"]

PAYMENTS = "payments"  # one record per payment, keyed by provider:transaction or pay-<random>
NOTICES = "notices"  # one pointer per notice, keyed by "<ref1>:<ref2>"
WEBHOOK_EVENTS = "payment_webhook_events"  # accepted callback event ids, by provider (replay protection)
