"""Payments (issue #8): fee notices with a Thai QR code, payment providers and
their webhook, counter/cash and proof of payment, e-receipts.

The engine-facing API is :mod:`eservice.payments.ledger` ("fee issued",
"fee paid", "fee overdue" and the payment record); see ``docs/payments.md``.
"""
from .ledger import (METHODS, NOTICES, PAYMENTS, PaymentOutcome, advance, fee_issued, fee_overdue,
                     find_notice, fiscal_year_be, money, next_receipt_number, notice_key, open_amount, payment_key,
                     payment_reference, record_payment)

__all__ = [
    "METHODS", "NOTICES", "PAYMENTS", "PaymentOutcome", "advance", "fee_issued", "fee_overdue", "find_notice",
    "fiscal_year_be", "money", "next_receipt_number", "notice_key", "open_amount", "payment_key", "payment_reference",
    "record_payment",
]
