"""The fee notice (A-P1, A-P5): what the workflow calls when a transition
issues fees.

:func:`notice_issued` applies what the officer gave with the transition,
opens the notice (:func:`eservice.payments.ledger.fee_issued`) and, when the
installation can sign, issues it as a signed PDF that goes with the step's
mail and is kept on the application's ``letters``.

What the officer may give (a definition *allows* it by declaring the input
on the transition that issues the fee):

* ``notice_message`` (text): a free message printed on the notice and shown
  on the status page;
* ``adjusted_amount`` (money) with ``adjustment_reason`` (text, required
  then): a different amount for the one fee the transition issues; the
  computed amount, the new one, the reason and the officer are kept on the fee
  and in the history.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import events
from ..engine import EngineError
from .documents import NOTICE, issue_notice_pdf
from .ledger import fee_issued, money

__all__ = ["notice_issued"]


def _adjust(record: dict[str, Any], service: Any, tr_fees: list[str], actor: Any, stamp: str,
            inputs: Mapping[str, Any]) -> None:
    if inputs.get("adjusted_amount") in (None, ""):
        return
    reason = str(inputs.get("adjustment_reason") or "").strip()
    if not reason:
        raise EngineError("adjustment_reason", "กรุณาระบุเหตุผลของการปรับจำนวนเงิน",
                          "give the reason for the adjusted amount", input="adjustment_reason")
    if len(tr_fees) != 1:
        raise EngineError("adjustment_fees", "ปรับจำนวนเงินได้เมื่อขั้นตอนนี้ออกค่าธรรมเนียมรายการเดียว",
                          "an amount can be adjusted only when this step issues one fee")
    try:
        new = money(inputs["adjusted_amount"])
    except ValueError:
        raise EngineError("adjusted_amount", "จำนวนเงินที่ปรับต้องเป็นตัวเลขไม่ติดลบ",
                          "the adjusted amount must be a number, not negative", input="adjusted_amount") from None
    fee = next(f for f in record["fees"] if f["id"] == tr_fees[0])
    fee["adjustment"] = {"computed": fee["amount"], "amount": str(new), "reason": reason, "by": actor.user_id,
                         "at": stamp}
    fee["amount"] = str(new)
    fee["status"] = "paid" if new == 0 else "unpaid"
    events.append(record["events"], "payment:adjusted", actor.user_id, stamp,
                  {"fee": fee["id"], "computed": fee["adjustment"]["computed"], "amount": str(new), "reason": reason})


def notice_issued(ctx: Any, record: dict[str, Any], service: Any, actor: Any, stamp: str,
                  inputs: Mapping[str, Any], issued: list) -> dict[str, Any] | None:
    """After a transition's ``issue_fee`` effects: adjust, open the notice, sign its PDF."""
    tr_fees = [f["id"] for f in record.get("fees") or [] if f.get("issued_at") == stamp]
    _adjust(record, service, tr_fees, actor, stamp, inputs)
    text = str(inputs.get("notice_message") or "").strip()
    notice = fee_issued(ctx, record, service, actor=actor, stamp=stamp,
                        message={"th": text, "en": text} if text else None)
    if notice is None or ctx.outputs is None:
        return notice
    doc = issue_notice_pdf(ctx.outputs, record, service, actor)
    issued.append(doc)
    record.setdefault("letters", []).append({
        "id": NOTICE, "issued_at": stamp, "number": notice["number"],
        "title": {"th": f"ใบแจ้งชำระค่าธรรมเนียม {notice['number']}", "en": f"Payment notice {notice['number']}"},
        **doc.record()})
    notice["document_id"] = doc.document_id
    return notice
