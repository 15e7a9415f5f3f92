"""The signed PDF e-receipt of an applied payment (PR-12, A-P6).

The number is drawn when the payment is applied
(:func:`eservice.payments.ledger.next_receipt_number`: per agency, per Thai
fiscal year, gapless and unique across processes) and shown as
``ใบเสร็จ 2570/000123``.  This module renders and signs the document through
the one signed-PDF pipeline (:mod:`eservice.payments.documents`), keeps it on
the application's ``letters`` (downloadable from the status page and the API
like any issued letter) and on the payment record.  The receipt goes to the
applicant by e-mail as an attachment of the notification of the step the
payment opens (:func:`receipt_attachments`, called by the workflow).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..policy import SYSTEM
from .records import PAYMENTS
from .documents import RECEIPT, issue_receipt_pdf

__all__ = ["issue_receipt", "pending_receipts", "receipt_attachments", "retry_receipts"]
log = logging.getLogger(__name__)


def issue_receipt(ctx: Any, app_id: str, payment: Mapping[str, Any]) -> dict[str, Any] | None:
    """Render, sign and attach the receipt of *payment* (applied, numbered) to
    the application; returns the saved application, or None when it cannot be
    signed now (no outputs configured, keys or time stamps failing): the
    number stays taken and explained in the sequence's log, the payment keeps
    ``receipt.document_id`` empty, :func:`pending_receipts` lists it and
    :func:`retry_receipts` (the background worker) signs it later."""
    if ctx.outputs is None or not payment.get("receipt"):
        return None
    from ..engine import EngineError
    record = ctx.store.get_application(app_id)
    if any(x.get("id") == RECEIPT and x.get("payment") == payment["id"] for x in record.get("letters") or []):
        return record
    service = ctx.service_of(record)
    try:
        doc = issue_receipt_pdf(ctx.outputs, record, service, SYSTEM, payment)
    except EngineError as exc:  # OutputError: keys, time-stamp server, template
        log.warning("receipt %s for payment %s waits: %s", payment["receipt"]["number"], payment["id"], exc.en)
        return None
    stamp = ctx.now_iso()
    item = {"id": RECEIPT, "issued_at": stamp, "number": payment["receipt"]["number"], "payment": payment["id"],
            "title": {"th": f"ใบเสร็จรับเงิน {payment['receipt']['number']}",
                      "en": f"Receipt {payment['receipt']['number']}"}, **doc.record()}

    def attach(rec: dict[str, Any]) -> None:
        if not any(x.get("id") == RECEIPT and x.get("payment") == payment["id"] for x in rec.get("letters") or []):
            rec.setdefault("letters", []).append(item)
            from .. import events

            events.append(rec["events"], "payment:receipt", SYSTEM.user_id, stamp,
                          {"payment": payment["id"], "receipt": item["number"], **doc.event()})

    saved = ctx.store.modify_application(app_id, attach)
    from ..register.model import Register

    try:  # /verify finds it by its id and its SHA-256, as every signed document (PR-8)
        Register(ctx.store, ctx.catalogue, ctx.clock).index_issued(saved, service, [doc])
    except Exception:
        log.exception("the receipt of payment %s was not indexed for /verify", payment["id"])
    payments = ctx.store.collection(PAYMENTS)
    for _ in range(5):
        current = payments.get(payment["id"])
        receipt = dict(current.get("receipt") or {}, document_id=doc.document_id, file=item["file"])
        try:
            payments.put(current["id"], dict(current, receipt=receipt), expected_version=current["version"])
            break
        except Exception:  # ConflictError: someone noted a flag at once; read again
            continue
    return saved


def pending_receipts(ctx: Any) -> list[dict[str, Any]]:
    """Applied payments whose receipt PDF is not signed yet (to retry)."""
    return [p for p in ctx.store.collection(PAYMENTS).all()
            if p.get("status") == "applied" and not (p.get("receipt") or {}).get("document_id")]


def receipt_attachments(ctx: Any, record: Mapping[str, Any]) -> list[tuple[str, bytes, str]]:
    """The receipt of the payment that paid the current notice, for the mail of
    the step the payment opened (empty when there is none or no file store)."""
    notice = record.get("payment_notice") or {}
    if not notice.get("payment") or ctx.files is None:
        return []
    out = []
    for item in record.get("letters") or []:
        if item.get("id") == RECEIPT and item.get("payment") == notice["payment"] and item.get("file"):
            file = item["file"]
            out.append((file["filename"], ctx.files.get(file["sha256"]), file.get("media_type", "application/pdf")))
    return out


def retry_receipts(ctx: Any) -> list[str]:
    """Sign the receipts that could not be signed when their payment was applied
    (the background worker calls this every round); returns their numbers.  A
    receipt signed late is on the status page and the API; it is not mailed."""
    done = []
    for payment in pending_receipts(ctx):
        if payment.get("application") and issue_receipt(ctx, payment["application"], payment) is not None:
            done.append(payment["receipt"]["number"])
    return done
