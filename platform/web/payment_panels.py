"""What the status page and the officers' pages show of a fee (issue #8; A-P1,
A-P3, A-P4, A-P6): built here, used by :mod:`eservice.web.track`,
:mod:`eservice.web.officer` and :mod:`eservice.web.payments` (which holds
the routes)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from ..payments.documents import METHOD_NAMES, notice_view
from ..payments.ledger import NOTICES, PAYMENTS
from ..payments.proofs import COUNTER_METHODS, pending_proof
from ..policy import allowed
from .apply import app_url
from .context import get_context

__all__ = ["FLAGS", "officer_panel", "payments_due", "status_panel", "work"]

FLAGS = {
    "already_paid": {"th": "คำขอชำระแล้ว (ชำระซ้ำ)", "en": "already paid (paid twice)"},
    "closed": {"th": "คำขอสิ้นสุดแล้ว", "en": "the application is closed"},
    "late": {"th": "ชำระหลังกำหนด", "en": "paid after the due date"},
    "wrong_amount": {"th": "จำนวนเงินไม่ตรงกับใบแจ้ง", "en": "the amount differs from the notice"},
    "unknown_notice": {"th": "ไม่พบใบแจ้งชำระตามอ้างอิง", "en": "no notice with these references"},
    "stale_notice": {"th": "ใบแจ้งชำระนี้ไม่ใช้แล้ว", "en": "the notice is no longer in force"},
    "interrupted": {"th": "บันทึกแล้วแต่ระบบหยุดก่อนพิจารณา ให้ตรวจสอบ", "en": "recorded, but the system stopped before "
                    "deciding it: check it"},
}


# ------------------------------------------------------------------ what the pages show
def _methods(record: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for fee in record.get("fees") or []:
        out += [m for m in fee.get("methods") or [] if m not in out]
    return out


def status_panel(record: Mapping[str, Any], service: Any) -> dict[str, Any] | None:
    """The notice as the applicant sees it, with the proof form when it is open."""
    view = notice_view(record, service)
    if view is None:
        return None
    proofs = list(record.get("payment_proofs") or [])
    return {**view, "qr_href": app_url(record["id"], "/payment/qr.png") if view["qr_payload"] else None,
            "proofs": proofs, "pending": pending_proof(record),
            "may_upload": view["status"] == "open" and not record.get("closed") and not pending_proof(record),
            "receipts": [x for x in record.get("letters") or [] if x.get("id") == "payment_receipt"],
            "formats": "PDF, JPEG, PNG", "max_mb": "5"}


def officer_panel(request: Request, actor: Any, record: Mapping[str, Any], service: Any) -> dict[str, Any] | None:
    """The notice, the proofs, the payments and the finance forms for the officers' page."""
    view = notice_view(record, service)
    if view is None:
        return None
    payments = get_context(request).store.collection(PAYMENTS).find(application=record["id"])
    may_verify = allowed(actor, "verify_payment", record) and view["status"] == "open" and not record.get("closed")
    methods = [m for m in _methods(record) if m in COUNTER_METHODS] or ["counter"]
    return {**view, "proofs": list(record.get("payment_proofs") or []), "payments": payments,
            "may_verify": may_verify, "methods": [(m, METHOD_NAMES[m]) for m in methods], "flags": FLAGS,
            "pending": pending_proof(record)}


def work(request: Request, actor: Any, agency: str) -> tuple[list, list]:
    store = get_context(request).store
    to_verify = []
    for notice in store.collection(NOTICES).find(agency=agency, status="open"):
        record = store.get_application(notice["application"])
        proof = pending_proof(record)
        if proof and allowed(actor, "verify_payment", record):
            to_verify.append({"record": record, "proof": proof})
    payments = store.collection(PAYMENTS)
    # a callback whose references match no notice has no agency: every agency's finance sees it
    # a payment still "received" minutes later was interrupted (its process died): finance must see it too
    stuck_before = (get_context(request).now() - dt.timedelta(minutes=10)).isoformat()
    flagged = [p if p.get("status") == "flagged" else dict(p, flag="interrupted")
               for p in [*payments.find(agency=agency), *payments.find(agency=None)]
               if not p.get("resolved") and (p.get("status") == "flagged" or (
                   p.get("status") == "received" and (p.get("recorded_at") or "") < stuck_before))]
    flagged.sort(key=lambda p: p.get("recorded_at") or "")
    return to_verify, flagged


def payments_due(request: Request, actor: Any, agency: str) -> dict[str, int] | None:
    """``{"proofs", "flagged"}`` for the inbox of a finance officer (None for others or when none)."""
    if not allowed(actor, "verify_payment", agency=agency):
        return None
    to_verify, flagged = work(request, actor, agency)
    if not to_verify and not flagged:
        return None
    return {"proofs": len(to_verify), "flagged": len(flagged)}
