"""What the workflow engine knows about money: "fee issued", "fee paid" and
"fee overdue" (issue #8; A-P1, A-P5, A-P6, A-P8, PR-12).

This is the one door between payments and the engine.  Everything else in
:mod:`eservice.payments` (the notice PDF, the Thai QR, providers and their
webhook, receipts, the finance pages) goes through these functions, and so do
the other helpers' pieces (overdue reminders, reconciliation, ``eservice
simulate``).  The API is stable; see ``docs/payments.md``.

The three events
----------------
* :func:`fee_issued` — called by :class:`eservice.workflow.Workflow` when a
  transition's ``issue_fee`` effects have put fees on the application.  It
  opens (or renews) the application's *payment notice*: a number, the two
  references used for matching, the total, the due date.  A zero total opens
  no notice (nothing to pay; the ``paid`` guard already holds).
* :func:`record_payment` — "fee paid": one payment (from a provider's
  webhook, a finance officer at the counter, an accepted proof of payment or
  a simulation) is written to the ``payments`` collection **once** (the
  provider's transaction id is the idempotency key).  When it matches the
  open notice (references and amount) and the application still waits for it,
  the fees become ``paid``, a receipt number is drawn and the application is
  moved on by :func:`advance` as the ``system`` actor.  Anything else (late,
  already paid, closed, wrong amount, unknown notice) is kept with a ``flag``
  for finance: never lost, never applied twice.
* :func:`fee_overdue` — "fee overdue": when an open notice's due date has
  passed unpaid, take the fee's ``on_overdue`` transition as ``system``.

Records
-------
The application keeps ``payment_notice`` (the open or last notice)::

    {"number": "2570-000045",          # per agency, per Thai fiscal year
     "ref1": "K7QM2XHP9TRA",           # the application's payment reference
     "ref2": "2570000045",             # the notice number, digits only
     "amount": "1500.00",              # baht, a decimal string, never a float
     "fees": [{"id", "title": {th, en}, "amount"}],
     "due_on": "2026-12-18", "issued_at": "<iso>", "issued_by": "<user id>",
     "message": {"th", "en"} | None,   # the officer's free message
     "status": "open" | "paid" | "overdue" | "void",
     "payment": "<payment id>" | None}

and each ``fees[]`` item gains ``notice`` (its number) and, once paid,
``payment`` and ``paid_at``.  The ``notices`` collection, keyed by
``"<ref1>:<ref2>"`` (:func:`notice_key`; reference 2 alone repeats across
agencies), points back: ``{"application", "agency", "service", "ref1",
"ref2", "number", "amount", "due_on", "status"}``.

A payment (collection ``payments``, key :func:`payment_key`)::

    {"id": "bank_bill_payment:TX123" | "pay-<hex>",
     "application": "<id>" | None, "agency": "<code>" | None,
     "ref1", "ref2", "amount": "1500.00",
     "method": one of METHODS, "provider": "<name>" | None,
     "provider_ref": "<bank transaction id>" | None,
     "receipt_ref": "<counter book/slip number>" | None,
     "evidence": {"event_id"} | {"proof", "sha256"} | None,
     "paid_at": "<iso>", "recorded_at": "<iso>", "recorded_by": "<user id>",
     "status": "received" | "applied" | "flagged",   # "received": kept, not yet decided
                                                      # (only seen if a process died in between)
     "flag": None | "already_paid" | "closed" | "late"
             | "wrong_amount" | "unknown_notice" | "stale_notice",
     "resolved": None | {"by", "at", "note"},     # finance's note on a flag
     "receipt": None | {"number": "2570/000123", "seq": 123,
                        "fiscal_year_be": 2570, "document_id", "file"}}
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .. import events
from ..dates import be_year
from ..policy import SYSTEM, Actor
from ..store import ConflictError, NotFoundError
from .records import NOTICES, PAYMENTS  # re-exported: part of the API

__all__ = [
    "METHODS", "NOTICES", "PAYMENTS", "PaymentOutcome", "advance", "fee_issued", "fee_overdue",
    "fiscal_year_be", "find_notice", "money", "next_receipt_number", "notice_key", "open_amount", "payment_key",
    "payment_reference", "record_payment",
]

# how a payment was made: the definition's methods, plus the bank bill-payment QR
METHODS = ("bill_payment", "promptpay", "card", "bank_transfer", "counter", "cheque", "cash")
FLAGS = ("already_paid", "closed", "late", "wrong_amount", "unknown_notice", "stale_notice")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
log = logging.getLogger(__name__)


def money(value: Any) -> Decimal:
    """Baht as a Decimal with two places (refuses floats' surprises: give strings)."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ValueError(f"not an amount: {value!r}") from None
    if amount < 0:
        raise ValueError(f"a negative amount: {value!r}")
    return amount


def payment_reference(record: Mapping[str, Any]) -> str:
    """Reference 1: the application's tracking code without dashes (A-Z, 0-9)."""
    return _NOT_ALNUM.sub("", str(record.get("reference") or record["id"]).upper())[:20]


def fiscal_year_be(day: dt.date) -> int:
    """The Thai fiscal year (1 October – 30 September) of *day*, in the Buddhist Era:
    2026-10-01 → 2570, 2026-09-30 → 2569."""
    return be_year(day.year + 1 if day.month >= 10 else day.year)


def payment_key(provider: str | None, provider_ref: str | None) -> str:
    """A payment's store key: ``"<provider>:<transaction id>"`` when a provider
    names the transaction (so the same callback twice is one payment), else a
    fresh ``"pay-<hex>"``."""
    if provider and provider_ref:
        return f"{provider}:{provider_ref}"
    return f"pay-{secrets.token_hex(8)}"


def open_amount(record: Mapping[str, Any]) -> Decimal:
    """What the application still owes: the unpaid fees."""
    return sum((money(f["amount"]) for f in record.get("fees") or [] if f.get("status") != "paid"), Decimal("0.00"))


def notice_key(ref1: str, ref2: str) -> str:
    """The ``notices`` collection key of a notice."""
    return f"{ref1}:{ref2}"


def find_notice(ctx: Any, ref2: str, ref1: str | None = None) -> dict[str, Any] | None:
    """The notice with these references (``notices`` collection), or None.
    Without ``ref1``: the notice with this reference 2 when exactly one has it."""
    if not ref2:
        return None
    notices = ctx.store.collection(NOTICES)
    if ref1 is not None:
        return notices.get(notice_key(str(ref1), str(ref2)))
    found = notices.find(ref2=str(ref2))
    return found[0] if len(found) == 1 else None


# --------------------------------------------------------------------------- fee issued
def fee_issued(ctx: Any, record: dict[str, Any], service: Any, *, actor: Actor, stamp: str,
               message: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """Open the payment notice for the unpaid fees of *record* (mutated, not
    saved: the workflow saves it with the transition).  Returns the notice, or
    None when nothing is owed (a free service or a zero amount skips payment).

    Draws the notice number (``notice:<agency>:<fiscal year>``), writes the
    ``notices`` pointer, appends a ``payment:notice`` event.  The PDF is made
    by :mod:`eservice.payments.notice` from this record."""
    unpaid = [f for f in record.get("fees") or [] if f.get("status") != "paid"]
    total = open_amount(record)
    if not unpaid or total == 0:
        for fee in unpaid:
            fee.update(status="paid", paid_at=stamp, payment=None)
        return None
    local = ctx.calendar(record["agency"]).to_local(ctx.now())
    fy = fiscal_year_be(local.date())
    seq = ctx.store.next_number(f"notice:{record['agency']}:{fy}", {"application": record["id"]})
    previous = record.get("payment_notice")
    if previous and previous.get("status") == "open":
        _notice_status(ctx, notice_key(previous["ref1"], previous["ref2"]), "void")
    due = max(dt.date.fromisoformat(f["due_on"]) for f in unpaid)
    notice = {"number": f"{fy}-{seq:06d}", "ref1": payment_reference(record), "ref2": f"{fy}{seq:06d}",
              "amount": str(total),
              "fees": [{"id": f["id"], "title": f.get("title"), "amount": str(money(f["amount"]))} for f in unpaid],
              "due_on": due.isoformat(), "issued_at": stamp, "issued_by": actor.user_id,
              "message": dict(message) if message else None, "status": "open", "payment": None}
    for fee in unpaid:
        fee["notice"] = notice["number"]
    record["payment_notice"] = notice
    ctx.store.collection(NOTICES).put(notice_key(notice["ref1"], notice["ref2"]), {
        "application": record["id"], "agency": record["agency"], "service": record.get("service"),
        "ref1": notice["ref1"], "ref2": notice["ref2"], "amount": notice["amount"], "due_on": notice["due_on"],
        "number": notice["number"], "status": "open"})
    events.append(record["events"], "payment:notice", actor.user_id, stamp,
                  {"notice": notice["number"], "ref2": notice["ref2"], "amount": notice["amount"],
                   "due_on": notice["due_on"]})
    return notice


def _notice_status(ctx: Any, key: str, status: str) -> None:
    notices = ctx.store.collection(NOTICES)
    for _ in range(5):
        found = notices.get(key)
        if found is None or found.get("status") == status:
            return
        try:
            notices.put(key, dict(found, status=status), expected_version=found["version"])
            return
        except ConflictError:
            continue


# --------------------------------------------------------------------------- fee paid
@dataclass(frozen=True)
class PaymentOutcome:
    """What :func:`record_payment` did: ``payment`` as stored; ``applied`` when
    it paid the notice; ``duplicate`` when the same transaction came before
    (nothing new was recorded); ``flag`` why it was not applied;
    ``application`` the application after any move."""

    payment: dict[str, Any]
    applied: bool
    duplicate: bool = False
    flag: str | None = None
    application: dict[str, Any] | None = None


def next_receipt_number(ctx: Any, agency: str, payment_id: str, application: str | None) -> dict[str, Any]:
    """Draw the next receipt number of *agency* in the current Thai fiscal year:
    gapless and unique across processes (the store's ``next_number``; the
    allocation is logged with the payment id)."""
    local = ctx.calendar(agency).to_local(ctx.now())
    fy = fiscal_year_be(local.date())
    seq = ctx.store.next_number(f"receipt:{agency}:{fy}", {"payment": payment_id, "application": application})
    return {"number": f"{fy}/{seq:06d}", "seq": seq, "fiscal_year_be": fy}


def record_payment(ctx: Any, *, ref1: str, ref2: str, amount: Any, method: str, actor: Actor,
                   provider: str | None = None, provider_ref: str | None = None, paid_at: str | None = None,
                   receipt_ref: str | None = None, evidence: Mapping[str, Any] | None = None,
                   move_on: bool = True) -> PaymentOutcome:
    """"Fee paid": record one payment and, when it pays the open notice, apply it.

    Idempotent: the same ``(provider, provider_ref)`` again returns the first
    payment with ``duplicate=True`` and changes nothing.  Applying marks the
    fees paid (under the application's lock, so two payments never both pay
    one notice), draws the receipt number, appends a ``payment`` event and —
    with ``move_on`` — calls :func:`advance` (the ``system`` actor takes the
    transition the ``paid`` guard opens).  The signed receipt PDF is made by
    :mod:`eservice.payments.receipts` when ``ctx.outputs`` can sign."""
    if method not in METHODS:
        raise ValueError(f"unknown payment method {method!r}")
    amount_d = money(amount)
    now = ctx.now_iso()
    key = payment_key(provider, provider_ref)
    payments = ctx.store.collection(PAYMENTS)
    notice = find_notice(ctx, str(ref2), str(ref1))
    payment = {"id": key, "application": notice["application"] if notice else None,
               "agency": notice["agency"] if notice else None, "ref1": str(ref1), "ref2": str(ref2),
               "amount": str(amount_d), "method": method, "provider": provider, "provider_ref": provider_ref,
               "receipt_ref": receipt_ref, "evidence": dict(evidence) if evidence else None,
               "paid_at": paid_at or now, "recorded_at": now, "recorded_by": actor.user_id,
               "status": "received", "flag": None, "resolved": None, "receipt": None}
    try:
        payment = payments.put(key, payment)
    except ConflictError:
        first = payments.get(key)
        return PaymentOutcome(first, applied=first.get("status") == "applied", duplicate=True, flag=first.get("flag"))
    return _apply(ctx, payment, actor, move_on)


def _apply(ctx: Any, payment: dict[str, Any], actor: Actor, move_on: bool) -> PaymentOutcome:
    payments = ctx.store.collection(PAYMENTS)
    if payment["application"] is None:
        saved = payments.put(payment["id"], dict(payment, status="flagged", flag="unknown_notice"),
                             expected_version=payment["version"])
        return PaymentOutcome(saved, applied=False, flag="unknown_notice")
    verdict: dict[str, Any] = {}

    def change(record: dict[str, Any]) -> None:
        verdict["flag"] = flag = _why_not(ctx, record, payment)
        stamp = ctx.now_iso()
        if flag:
            events.append(record["events"], "payment:flagged", actor.user_id, stamp,
                          {"payment": payment["id"], "amount": payment["amount"], "method": payment["method"],
                           "flag": flag})
            return
        receipt = next_receipt_number(ctx, record["agency"], payment["id"], record["id"])
        verdict["receipt"] = receipt
        notice = record["payment_notice"]
        for fee in record.get("fees") or []:
            if fee.get("status") != "paid":
                fee.update(status="paid", paid_at=payment["paid_at"], payment=payment["id"])
        notice.update(status="paid", payment=payment["id"])
        record.setdefault("receipts", []).append({"number": receipt["number"], "payment": payment["id"],
                                                  "amount": payment["amount"], "method": payment["method"],
                                                  "issued_at": stamp})
        events.append(record["events"], "payment", actor.user_id, stamp,
                      {"payment": payment["id"], "amount": payment["amount"], "method": payment["method"],
                       "notice": notice["number"], "receipt": receipt["number"]})

    try:
        record = ctx.store.modify_application(payment["application"], change)
    except NotFoundError:
        verdict = {"flag": "unknown_notice"}
        record = None
    flag = verdict.get("flag")
    update = {"status": "flagged", "flag": flag} if flag else {"status": "applied", "receipt": verdict["receipt"]}
    saved = payments.put(payment["id"], dict(payment, **update), expected_version=payment["version"])
    if flag:
        return PaymentOutcome(saved, applied=False, flag=flag, application=record)
    _notice_status(ctx, notice_key(payment["ref1"], payment["ref2"]), "paid")
    from .receipts import issue_receipt  # the signed PDF (needs ctx.outputs; later if it cannot sign now)

    record = issue_receipt(ctx, record["id"], saved) or record
    if move_on:
        record = advance(ctx, record["id"]) or record
    return PaymentOutcome(payments.get(saved["id"]), applied=True, application=record)


def _why_not(ctx: Any, record: Mapping[str, Any], payment: Mapping[str, Any]) -> str | None:
    notice = record.get("payment_notice")
    if record.get("closed"):
        return "closed"
    if not notice or notice.get("ref2") != payment["ref2"]:
        return "stale_notice"
    if notice.get("ref1") != payment["ref1"]:
        return "unknown_notice"
    if notice.get("status") == "paid" or all(f.get("status") == "paid" for f in record.get("fees") or []):
        return "already_paid"
    if notice.get("status") != "open":
        return "stale_notice"
    if money(payment["amount"]) != money(notice["amount"]) or money(notice["amount"]) != open_amount(record):
        return "wrong_amount"
    paid_on = dt.datetime.fromisoformat(payment["paid_at"])
    local = ctx.calendar(record["agency"]).to_local(paid_on).date()
    if local > dt.date.fromisoformat(notice["due_on"]):
        return "late"
    return None


def advance(ctx: Any, app_id: str) -> dict[str, Any] | None:
    """Move a paid application on as ``system``: take the first transition out
    of its state that ``system`` may take and whose guard holds now (the
    definition's "payment confirmed" step).  None when there is none."""
    from ..engine import EngineError
    from ..workflow import Workflow

    flow = Workflow(ctx)
    for _ in range(3):
        record = ctx.store.get_application(app_id)
        service = ctx.service_of(record)
        choices = [t for t in flow.available(record, SYSTEM)
                   if t.guard and "paid" in service.expr(t.guard).names and not any(i.required for i in t.inputs)]
        if not choices:
            return None
        try:
            return flow.take(app_id, choices[0].id, SYSTEM, {}, expected_version=record["version"])
        except ConflictError:
            continue
        except EngineError as exc:  # e.g. a document of that step cannot be signed now: finance can take it
            log.warning("paid application %s was not moved on by %s: %s", app_id, choices[0].id, exc.en)
            return None
    return None


# --------------------------------------------------------------------------- fee overdue
def fee_overdue(ctx: Any, app_id: str, today: dt.date | None = None) -> dict[str, Any] | None:
    """"Fee overdue": when the application's open notice is past its due date
    (on *today*, the agency's local date) and unpaid, mark it ``overdue`` and
    take the first unpaid fee's ``on_overdue`` transition as ``system``.
    Returns the saved application, or None when nothing was due (paid, not
    yet due, no ``on_overdue``, or the application moved on)."""
    from ..engine import EngineError
    from ..workflow import Workflow

    record = ctx.store.get_application(app_id)
    notice = record.get("payment_notice")
    if not notice or notice.get("status") != "open" or record.get("closed"):
        return None
    today = today or ctx.calendar(record["agency"]).to_local(ctx.now()).date()
    if today <= dt.date.fromisoformat(notice["due_on"]):
        return None
    service = ctx.service_of(record)
    fees = {f.id: f for f in service.definition.fees}
    target = next((fees[f["id"]].on_overdue for f in record.get("fees") or []
                   if f.get("status") != "paid" and f["id"] in fees and fees[f["id"]].on_overdue), None)
    if target is None:
        return None
    try:
        saved = Workflow(ctx).take(app_id, target, SYSTEM, {}, expected_version=record["version"])
    except (ConflictError, EngineError):
        return None

    def mark(rec: dict[str, Any]) -> None:
        if (rec.get("payment_notice") or {}).get("ref2") == notice["ref2"]:
            rec["payment_notice"]["status"] = "overdue"

    _notice_status(ctx, notice_key(notice["ref1"], notice["ref2"]), "overdue")
    return ctx.store.modify_application(app_id, mark) if saved else None
