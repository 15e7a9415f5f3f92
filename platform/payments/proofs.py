"""Proof of payment and counter payments: the finance officer's side (A-P4, A-P6).

* The applicant uploads a slip or other proof while the notice is open
  (:func:`submit_proof`); the file is checked by its bytes like every upload
  (:func:`eservice.documents.check_upload` against :data:`PROOF_DOCUMENT`).
* The finance officer accepts it (:func:`accept_proof`, which records the
  payment through :func:`eservice.payments.ledger.record_payment`) or refuses
  it with a reason (:func:`refuse_proof`); the reason is shown to the
  applicant and mailed to them, and they may upload again.
* At the counter the finance officer records a payment with its method and
  the receipt reference of the counter book (:func:`record_counter`).

Each is allowed only with the policy action ``verify_payment``
(:func:`eservice.policy.allowed`) and leaves an event in the application's
hash-linked history; the web layer writes the audit log.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .. import events
from ..engine import EngineError
from ..policy import Actor, allowed
from ..spec.models import Document
from .ledger import PaymentOutcome, money, open_amount, record_payment

__all__ = ["COUNTER_METHODS", "PROOF_DOCUMENT", "accept_proof", "pending_proof", "record_counter", "refuse_proof",
           "settle_flagged", "submit_proof"]
log = logging.getLogger(__name__)

PROOF_DOCUMENT = Document(id="payment_proof", title={"th": "หลักฐานการชำระเงิน", "en": "Proof of payment"},
                          formats=("pdf", "jpeg", "png"), max_size_mb=Decimal(5))
COUNTER_METHODS = ("counter", "cash", "cheque", "bank_transfer", "promptpay")


def _must(actor: Actor, record: Mapping[str, Any]) -> None:
    if not allowed(actor, "verify_payment", record):
        raise EngineError("forbidden", "เฉพาะเจ้าหน้าที่การเงินของหน่วยงานจึงยืนยันการชำระเงินได้",
                          "only the agency's finance officers may verify payments", status=403)


def _open_notice(record: Mapping[str, Any]) -> dict[str, Any]:
    notice = record.get("payment_notice")
    if record.get("closed") or not notice or notice.get("status") != "open":
        raise EngineError("no_open_notice", "คำขอนี้ไม่มีใบแจ้งชำระที่รอชำระอยู่",
                          "this application has no payment notice waiting to be paid", status=409)
    return notice


def pending_proof(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The proof waiting for finance (at most one at a time), or None."""
    return next((p for p in record.get("payment_proofs") or [] if p.get("status") == "pending"), None)


def submit_proof(ctx: Any, app_id: str, actor: Actor, stored: Mapping[str, Any], note: str = "") -> dict[str, Any]:
    """Keep an uploaded, already checked and stored proof (``stored``:
    ``{sha256, filename, media_type, size}``) on the application."""
    stamp = ctx.now_iso()

    def change(record: dict[str, Any]) -> None:
        if record.get("applicant") != actor.user_id:
            raise EngineError("not_found", "ไม่พบคำขอนี้", "application not found", status=404)
        notice = _open_notice(record)
        if pending_proof(record):
            raise EngineError("proof_pending", "หลักฐานที่แนบไว้ยังรอเจ้าหน้าที่ตรวจ กรุณารอผลก่อนแนบใหม่",
                              "the proof you sent is still waiting to be checked; wait for the answer first",
                              status=409)
        proof = {"id": f"proof-{secrets.token_hex(6)}", "ref2": notice["ref2"], "file": dict(stored),
                 "uploaded_at": stamp, "by": actor.user_id, "note": note[:500], "status": "pending"}
        record.setdefault("payment_proofs", []).append(proof)
        events.append(record["events"], "payment:proof", actor.user_id, stamp,
                      {"proof": proof["id"], "sha256": stored["sha256"], "notice": notice["number"]})

    return ctx.store.modify_application(app_id, change)


def _proof(record: Mapping[str, Any], proof_id: str) -> dict[str, Any]:
    found = next((p for p in record.get("payment_proofs") or [] if p.get("id") == proof_id), None)
    if found is None:
        raise EngineError("not_found", "ไม่พบหลักฐานนี้", "no such proof of payment", status=404)
    if found.get("status") != "pending":
        raise EngineError("proof_decided", "หลักฐานนี้ได้รับการพิจารณาแล้ว", "this proof was already decided", status=409)
    return found


def accept_proof(ctx: Any, app_id: str, proof_id: str, actor: Actor, *, method: str,
                 paid_on: dt.date | None = None) -> PaymentOutcome:
    """Accept a pending proof: record the payment (method as seen on the slip,
    paid on *paid_on*, today when None); a payment that does not fit (late…)
    is kept flagged, and so is the proof."""
    record = ctx.store.get_application(app_id)
    _must(actor, record)
    proof = _proof(record, proof_id)
    notice = _open_notice(record)
    if method not in COUNTER_METHODS:
        raise EngineError("method", "กรุณาเลือกวิธีชำระ", "choose how it was paid", status=422, input="method")
    paid_at = None
    if paid_on is not None:
        if paid_on > ctx.calendar(record["agency"]).to_local(ctx.now()).date():
            raise EngineError("paid_on_future", "วันที่ชำระต้องไม่เป็นวันในอนาคต", "the payment date cannot be in the future",
                              status=422, input="paid_on")
        paid_at = dt.datetime.combine(paid_on, dt.time(12, 0), ctx.calendar(record["agency"]).to_local(ctx.now()).tzinfo
                                      ).isoformat()
    outcome = record_payment(ctx, ref1=notice["ref1"], ref2=notice["ref2"], amount=notice["amount"], method=method,
                             actor=actor, provider="proof", provider_ref=proof_id, paid_at=paid_at,
                             evidence={"proof": proof_id, "sha256": proof["file"]["sha256"]})
    stamp = ctx.now_iso()

    def mark(rec: dict[str, Any]) -> None:
        for item in rec.get("payment_proofs") or []:
            if item.get("id") == proof_id and item.get("status") == "pending":
                item.update(status="accepted" if outcome.applied else "flagged", decided_at=stamp,
                            decided_by=actor.user_id, payment=outcome.payment["id"], flag=outcome.flag)
                events.append(rec["events"], "payment:proof_accepted", actor.user_id, stamp,
                              {"proof": proof_id, "payment": outcome.payment["id"], "flag": outcome.flag})

    ctx.store.modify_application(app_id, mark)
    return outcome


def refuse_proof(ctx: Any, app_id: str, proof_id: str, actor: Actor, reason: str) -> dict[str, Any]:
    """Refuse a pending proof with a reason the applicant sees (and gets by mail)."""
    reason = (reason or "").strip()
    if not reason:
        raise EngineError("reason", "กรุณาระบุเหตุผลที่ไม่รับหลักฐาน", "give the reason for refusing the proof",
                          status=422, input="reason")
    record = ctx.store.get_application(app_id)
    _must(actor, record)
    _proof(record, proof_id)
    stamp = ctx.now_iso()

    def change(rec: dict[str, Any]) -> None:
        item = _proof(rec, proof_id)
        item.update(status="refused", reason=reason[:1000], decided_at=stamp, decided_by=actor.user_id)
        events.append(rec["events"], "payment:proof_refused", actor.user_id, stamp,
                      {"proof": proof_id, "reason": item["reason"]})

    saved = ctx.store.modify_application(app_id, change)
    _mail_refusal(ctx, saved, reason)
    return saved


def _mail_refusal(ctx: Any, record: Mapping[str, Any], reason: str) -> None:
    """Tell the applicant (never raises: the refusal is saved and on the status page)."""
    notifier = ctx.notifier
    mailer = getattr(notifier, "mailer", None)
    if mailer is None:
        return
    try:
        user = notifier.accounts.get(record.get("applicant", ""))
        address = (user or {}).get("email")
        if not address:
            return
        ref = record.get("reference", "")
        mailer.send(address, f"หลักฐานการชำระเงินไม่ผ่านการตรวจ คำขอ {ref} / Proof of payment not accepted ({ref})",
                    f"เจ้าหน้าที่การเงินไม่รับหลักฐานการชำระเงินของคำขอ {ref}\nเหตุผล: {reason}\n"
                    f"กรุณาแนบหลักฐานใหม่ในหน้าติดตามสถานะคำขอ หรือชำระตามใบแจ้งชำระ\n\n"
                    f"The finance officer did not accept the proof of payment for {ref}.\nReason: {reason}\n"
                    f"Upload a new proof on the application's status page, or pay as the notice says.\n",
                    application=record.get("id"), kind="payment_proof_refused")
    except Exception:
        log.exception("the refusal of a proof of payment for %s was not mailed", record.get("id"))


def record_counter(ctx: Any, app_id: str, actor: Actor, *, method: str, receipt_ref: str,
                   amount: Any) -> PaymentOutcome:
    """A payment taken at the agency (counter, cash, cheque…): the officer gives
    the method, the counter book's receipt reference and the amount, which must
    be what the notice asks (otherwise nothing is recorded)."""
    record = ctx.store.get_application(app_id)
    _must(actor, record)
    notice = _open_notice(record)
    if method not in COUNTER_METHODS:
        raise EngineError("method", "กรุณาเลือกวิธีชำระ", "choose how it was paid", status=422, input="method")
    receipt_ref = (receipt_ref or "").strip()
    if not receipt_ref or len(receipt_ref) > 40:
        raise EngineError("receipt_ref", "กรุณากรอกเลขที่อ้างอิงการรับเงิน (ไม่เกิน 40 ตัวอักษร)",
                          "enter the counter receipt reference (at most 40 characters)", status=422,
                          input="receipt_ref")
    try:
        given = money(amount)
    except ValueError:
        raise EngineError("amount", "จำนวนเงินต้องเป็นตัวเลข", "the amount must be a number", status=422,
                          input="amount") from None
    owed = open_amount(record)
    if given != owed:
        raise EngineError("amount_differs", f"จำนวนเงินต้องเท่ากับยอดในใบแจ้งชำระ ({owed:,.2f} บาท)",
                          f"the amount must be what the notice asks (THB {owed:,.2f})", status=422, input="amount")
    return record_payment(ctx, ref1=notice["ref1"], ref2=notice["ref2"], amount=given, method=method, actor=actor,
                          provider="counter", provider_ref=f"{record['agency']}:{receipt_ref}",
                          receipt_ref=receipt_ref)


def settle_flagged(ctx: Any, payment_id: str, actor: Actor, agency: str, note: str) -> dict[str, Any]:
    """Finance notes how a flagged payment was settled outside the platform (a
    refund, the difference asked for…): ``resolved = {by, at, note}``.  The
    payment stays flagged and is never applied; it leaves the list of work."""
    from ..store import ConflictError
    from .records import PAYMENTS

    note = (note or "").strip()
    if not note:
        raise EngineError("note", "กรุณาบันทึกว่าดำเนินการอย่างไร", "say how it was settled", status=422, input="note")
    payments = ctx.store.collection(PAYMENTS)
    found = payments.get(payment_id)
    if found is None or found.get("status") == "applied" or found.get("agency") not in (agency, None) \
            or not allowed(actor, "verify_payment", agency=agency):
        raise EngineError("not_found", "ไม่พบรายการนี้", "no such flagged payment", status=404)
    if found.get("resolved"):
        raise EngineError("settled", "รายการนี้บันทึกไว้แล้ว", "this payment was already settled", status=409)
    resolved = {"by": actor.user_id, "at": ctx.now_iso(), "note": note[:1000], "agency": agency}
    try:
        return payments.put(payment_id, dict(found, resolved=resolved), expected_version=found["version"])
    except ConflictError:
        raise EngineError("settled", "มีผู้อื่นบันทึกรายการนี้ก่อน", "someone settled it first", status=409) from None
