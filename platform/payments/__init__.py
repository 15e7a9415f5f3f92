"""Payments (issue #8): fee notices, payment providers, receipts, reconciliation
and overdue fees.  The workflow engine only sees "fee issued", "fee paid" and
"fee overdue"."""
