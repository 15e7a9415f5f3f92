"""The fee notice and the e-receipt as signed PDFs (A-P1, A-P5, PR-12).

Both go through the platform's one signed-PDF pipeline,
:meth:`eservice.outputs.Outputs.issue_letter` (render in the sandbox, sign
PAdES with the agency's key and a time stamp, store the file, QR to
``/verify``), with the platform's templates ``payment_notice.html`` and
``payment_receipt.html`` (``renderers/templates/pdf``).  The payment data
goes to the template as ``input.payment``.  The signed file is kept on the
application's ``letters`` (``id`` ``payment_notice`` / ``payment_receipt``),
so it is listed, downloaded and verified like every issued letter.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..money import format_money
from ..renderers.pdf import PDF_TEMPLATE_DIR, english_date, thai_date
from ..spec.models import text_pair
from . import qr
from .words import baht_text

__all__ = ["METHOD_NAMES", "NOTICE", "RECEIPT", "notice_view", "issue_notice_pdf", "issue_receipt_pdf"]

NOTICE, RECEIPT = "payment_notice", "payment_receipt"
METHOD_NAMES = {
    "bill_payment": {"th": "สแกน QR ชำระบิลด้วยแอปธนาคาร", "en": "Scan the bill-payment QR in a banking app"},
    "promptpay": {"th": "พร้อมเพย์ (QR)", "en": "PromptPay (QR)"},
    "card": {"th": "บัตรเครดิต/เดบิต", "en": "Credit or debit card"},
    "bank_transfer": {"th": "โอนเงินผ่านธนาคาร", "en": "Bank transfer"},
    "counter": {"th": "ชำระที่เคาน์เตอร์", "en": "At a counter"},
    "cheque": {"th": "เช็ค", "en": "Cheque"},
    "cash": {"th": "เงินสด ณ หน่วยงาน", "en": "Cash at the office"},
}
_TITLES = {NOTICE: {"th": "ใบแจ้งชำระค่าธรรมเนียม", "en": "Payment notice"},
           RECEIPT: {"th": "ใบเสร็จรับเงินอิเล็กทรอนิกส์", "en": "Electronic receipt"}}
_POSITION = {NOTICE: None,  # the officer who issued it, as any letter (eservice.outputs' default position)
             RECEIPT: {"th": "ผู้รับเงิน", "en": "Received by"}}


@dataclass(frozen=True)
class _Output:
    """What :meth:`Outputs.issue_letter` needs of a letter definition."""

    id: str
    template: str
    title: Mapping[str, str]
    signed_as: Mapping[str, str] | None


def _output(which: str) -> _Output:
    return _Output(which, str(PDF_TEMPLATE_DIR / f"{which}.html"), _TITLES[which], _POSITION[which])


def notice_view(record: Mapping[str, Any], service: Any) -> dict[str, Any] | None:
    """What the notice shows (the PDF and the status page alike): amounts and
    words, due date in the Buddhist Era, methods, bank account, references, QR."""
    notice = record.get("payment_notice")
    if not notice:
        return None
    agency = service.agency
    due = dt.date.fromisoformat(notice["due_on"])
    methods = []
    for fee in record.get("fees") or []:
        for m in fee.get("methods") or []:
            if m not in methods:
                methods.append(m)
    payload = None
    if notice.get("status") == "open":
        payload = qr.for_agency(agency, notice["ref1"], notice["ref2"], notice["amount"])
    kind = "bill_payment" if getattr(agency, "biller_id", None) else "promptpay"
    return {
        "number": notice["number"], "ref1": notice["ref1"], "ref2": notice["ref2"], "status": notice["status"],
        "amount": notice["amount"], "amount_th": format_money(notice["amount"], "th"),
        "amount_en": format_money(notice["amount"], "en"), "amount_words": baht_text(notice["amount"]),
        "fees": [{"title": text_pair(f.get("title")), "amount_th": format_money(f["amount"], "th"),
                  "amount_en": format_money(f["amount"], "en")} for f in notice["fees"]],
        "due_on": notice["due_on"], "due_th": thai_date(due), "due_en": english_date(due),
        "methods": [text_pair(METHOD_NAMES.get(m, {"th": m, "en": m})) for m in methods],
        "bank_account": text_pair(agency.bank_account) if agency.bank_account else None,
        "message": notice.get("message"), "qr_payload": payload, "qr_kind": kind,
        "qr": qr.svg_data_uri(payload) if payload else None,
        "biller_id": getattr(agency, "biller_id", None), "promptpay_id": getattr(agency, "promptpay_id", None),
    }


def issue_notice_pdf(outputs: Any, record: Mapping[str, Any], service: Any, actor: Any) -> Any:
    """The signed notice (an :class:`eservice.outputs.Issued`)."""
    return outputs.issue_letter(record, service, _output(NOTICE), actor, {"payment": notice_view(record, service)}, {})


def receipt_view(record: Mapping[str, Any], payment: Mapping[str, Any]) -> dict[str, Any]:
    answers = record.get("answers") or {}
    payer = " ".join(str(answers.get(k) or "") for k in ("first_name", "last_name")).strip() or \
        str(answers.get("company_name") or answers.get("applicant_name") or "")
    paid = dt.datetime.fromisoformat(payment["paid_at"])
    fees = [f for f in record.get("fees") or [] if f.get("payment") == payment["id"]]
    return {
        "number": payment["receipt"]["number"], "payer": payer,
        "fees": [{"title": text_pair(f.get("title")), "amount_th": format_money(f["amount"], "th"),
                  "amount_en": format_money(f["amount"], "en")} for f in fees],
        "amount_th": format_money(payment["amount"], "th"), "amount_en": format_money(payment["amount"], "en"),
        "amount_words": baht_text(payment["amount"]),
        "method": text_pair(METHOD_NAMES.get(payment["method"], {"th": payment["method"], "en": payment["method"]})),
        "paid_th": thai_date(paid), "paid_en": english_date(paid), "ref1": payment["ref1"], "ref2": payment["ref2"],
        "transaction": payment.get("provider_ref") or payment.get("receipt_ref") or payment["id"],
    }


def issue_receipt_pdf(outputs: Any, record: Mapping[str, Any], service: Any, actor: Any,
                      payment: Mapping[str, Any]) -> Any:
    """The signed receipt of an applied *payment*."""
    return outputs.issue_letter(record, service, _output(RECEIPT), actor,
                                {"payment": receipt_view(record, payment)}, {})
