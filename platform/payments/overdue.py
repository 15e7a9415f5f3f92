"""Overdue fees (A-P8): a reminder before the due date, then the definition's
``on_overdue`` transition, run by the background worker (:mod:`eservice.worker`).

Each round (:func:`run`) looks at the open applications that wait in a state
where an unpaid fee matters — a state a fee-issuing transition leads to, or a
state an ``on_overdue`` transition starts from — and, for each fee whose
``status`` is still ``unpaid``:

1. **Reminder** — on the day given by :func:`eservice.payments.due.reminder_on`
   (``remind_days_before``, default 3, counted like ``due_days``) and up to the
   due date, the applicant gets one e-mail in Thai and English (amount, due
   date in the Buddhist Era, what happens if it is not paid, the tracking link),
   sent through the platform's mailer and recorded in the outbox.  The reminder
   is claimed first in the ``fee_reminders`` collection under
   ``<application>:<fee>:<issued_at>`` (a create-only write: of two processes
   one wins), so it goes at most once; a temporary mail failure frees the claim
   for the next round, a permanent one is kept as ``failed``.  Without SMTP
   settings nothing is claimed (the reminder waits).
2. **Overdue** — from the first instant after the due date
   (:func:`eservice.payments.due.overdue_from`), the fee is marked overdue in
   the application (``overdue_at`` on the fee and a hash-linked ``fee_overdue``
   event, written with the store's version check: one process wins), and then
   the fee's ``on_overdue`` transition is taken as the ``system`` actor with the
   version the mark produced.  A restart between the two steps finds the mark
   and takes the transition; a second process meets a version conflict or a
   state the transition no longer leaves from, so it never runs twice.  A fee
   with no ``on_overdue`` is only marked (officers see the event).  When the
   transition cannot be signed yet (documents, status 503) it is tried again
   next round; any other refusal is written on the fee as ``overdue_refused``
   and logged, and not retried.

A fee whose status is anything but ``unpaid`` (paid, or a proof of payment
waiting for finance) is left alone.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import events
from ..dates import format_date
from ..engine import EngineContext, EngineError
from ..mail import DeliveryError
from ..money import format_money
from ..policy import SYSTEM
from ..store import ConflictError, NotFoundError
from ..workflow import Workflow
from .due import is_overdue, reminder_on

if TYPE_CHECKING:  # pragma: no cover
    from ..spec.loader import CompiledService

__all__ = ["REMINDERS", "OverdueReport", "run", "watched_states", "reminder_mail"]

log = logging.getLogger("eservice.payments.overdue")

REMINDERS = "fee_reminders"


@dataclass
class OverdueReport:
    reminders: list[str] = field(default_factory=list)  # "<application>:<fee>" reminded
    overdue: list[str] = field(default_factory=list)  # "<application>:<fee>" marked overdue this round
    transitions: list[str] = field(default_factory=list)  # "<application>:<transition>" taken
    mails: int = 0
    errors: list[str] = field(default_factory=list)


def watched_states(service: CompiledService) -> set[str]:
    """States where an unpaid fee is looked at: where a fee-issuing transition
    leads, and where an ``on_overdue`` transition starts."""
    found: set[str] = set()
    for tr in service.definition.workflow.transitions:
        if any(e.kind == "issue_fee" for e in tr.effects):
            found.add(tr.to)
    for fee in service.definition.fees:
        tr = service.transitions.get(fee.on_overdue) if fee.on_overdue else None
        if tr is not None:
            found.update(tr.from_)
    return found


def _parse_day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _issued_day(calendar: Any, fee: Mapping[str, Any]) -> dt.date | None:
    try:
        return calendar.to_local(dt.datetime.fromisoformat(fee["issued_at"])).date()
    except (KeyError, TypeError, ValueError):
        return None


def run(engine: EngineContext, now: dt.datetime, mailer: Any, *, base_url: str = "",
        report: OverdueReport | None = None) -> OverdueReport:
    """One round: reminders due, fees overdue (see the module's docstring)."""
    report = report or OverdueReport()
    for agency in engine.catalogue.agencies:
        calendar = engine.calendar(agency)
        for summary in engine.store.open_applications(agency):
            if summary.get("state") in (None, "draft") or summary.get("closed"):
                continue
            service = engine.catalogue.get(summary["service"], summary.get("service_version"))
            if service is None or not service.definition.fees or summary["state"] not in watched_states(service):
                continue
            try:
                record = engine.store.get_application(summary["id"])
            except NotFoundError:
                continue
            for fee in list(record.get("fees") or []):
                if fee.get("status") != "unpaid":
                    continue
                spec = next((f for f in service.definition.fees if f.id == fee.get("id")), None)
                due = _parse_day(fee.get("due_on"))
                if spec is None or due is None:
                    continue
                try:
                    if is_overdue(calendar, due, now):
                        record = _overdue(engine, record, service, fee["id"], spec, now, report)
                    else:
                        _remind(engine, record, service, fee, spec, calendar, due, now, mailer, base_url, report)
                except Exception as exc:  # one application must never stop the others
                    log.exception("overdue fee %s of %s failed", fee.get("id"), record["id"])
                    report.errors.append(f"fee {record['id']}:{fee.get('id')}: {exc}")
    return report


# ------------------------------------------------------------------ overdue
def _overdue(engine: EngineContext, record: dict, service: CompiledService, fee_id: str, spec: Any,
             now: dt.datetime, report: OverdueReport) -> dict:
    fee = next(f for f in record["fees"] if f["id"] == fee_id)
    stamp = now.isoformat()
    if not fee.get("overdue_at"):
        fee["overdue_at"] = stamp
        events.append(record["events"], "fee_overdue", SYSTEM.user_id, stamp,
                      {"fee": fee_id, "due_on": fee.get("due_on"), "amount": fee.get("amount"),
                       "on_overdue": spec.on_overdue})
        try:
            record = engine.store.update_application(record, record["version"])
        except ConflictError:
            return record  # another process (or an officer) wrote first: look again next round
        report.overdue.append(f"{record['id']}:{fee_id}")
        fee = next(f for f in record["fees"] if f["id"] == fee_id)
    tr = service.transitions.get(spec.on_overdue) if spec.on_overdue else None
    if tr is None or record["state"] not in tr.from_ or fee.get("overdue_refused"):
        return record
    try:
        saved = Workflow(engine).take(record["id"], tr.id, SYSTEM, {}, expected_version=record["version"])
    except (ConflictError, NotFoundError):
        return record  # someone acted first; the next round sees the new state
    except EngineError as exc:
        if exc.status == 503:  # a document could not be signed yet: next round
            log.warning("on_overdue %s of %s waits: %s", tr.id, record["id"], exc.en)
            return record
        log.error("on_overdue %s of %s refused: %s", tr.id, record["id"], exc.en)
        report.errors.append(f"on_overdue {record['id']}:{tr.id}: {exc.en}")
        return _refused(engine, record, fee_id, tr.id, exc, now)
    report.transitions.append(f"{record['id']}:{tr.id}")
    return saved


def _refused(engine: EngineContext, record: dict, fee_id: str, transition: str, exc: EngineError,
             now: dt.datetime) -> dict:
    """Write the refusal on the fee (kept for officers; not retried)."""
    def change(current: dict) -> None:
        for fee in current.get("fees") or []:
            if fee["id"] == fee_id:
                fee["overdue_refused"] = {"transition": transition, "code": exc.code, "th": exc.th, "en": exc.en,
                                          "at": now.isoformat()}
    try:
        return engine.store.modify_application(record["id"], change)
    except (ConflictError, NotFoundError):
        return record


# ------------------------------------------------------------------ reminders
def _remind(engine: EngineContext, record: Mapping[str, Any], service: CompiledService, fee: Mapping[str, Any],
            spec: Any, calendar: Any, due: dt.date, now: dt.datetime, mailer: Any, base_url: str,
            report: OverdueReport) -> None:
    if mailer is None:
        return  # mail is not configured: the reminder waits
    issued = _issued_day(calendar, fee)
    if issued is None:
        return
    day = reminder_on(calendar, issued, due, spec)
    if day is None or calendar.to_local(now).date() < day:
        return
    sent = engine.store.collection(REMINDERS)
    key = f"{record['id']}:{fee['id']}:{fee.get('issued_at')}"
    if sent.get(key) is not None:
        return
    user = engine.store.collection("users").get(record.get("applicant") or "") or {}
    address = str(user.get("email") or "").strip()
    entry = {"application": record["id"], "agency": record["agency"], "fee": fee["id"], "due_on": due.isoformat(),
             "to": [address] if address else [], "at": now.isoformat(),
             "status": "sending" if address else "no_address"}
    try:
        claimed = sent.put(key, entry)
    except ConflictError:
        return  # another process sends it
    if not address:
        log.warning("fee reminder for %s: the applicant has no e-mail address", record["id"])
        return
    subject, text = reminder_mail(record, service, fee, spec, due, base_url)
    try:
        mailer.send(address, subject, text, application=record["id"], kind="fee_reminder")
    except DeliveryError as exc:
        if exc.permanent:
            sent.put(key, dict(entry, status="failed", error=exc.en), expected_version=claimed["version"])
        else:
            sent.delete(key)  # try again next round
        report.errors.append(f"fee reminder {key}: {exc.en}")
        return
    sent.put(key, dict(entry, status="sent"), expected_version=claimed["version"])
    report.mails += 1
    report.reminders.append(f"{record['id']}:{fee['id']}")


def reminder_mail(record: Mapping[str, Any], service: CompiledService, fee: Mapping[str, Any], spec: Any,
                  due: dt.date, base_url: str) -> tuple[str, str]:
    """The reminder's subject and text, Thai then English."""
    number = record.get("intake_number") or record.get("reference") or record["id"]
    title = service.definition.title
    fee_title = fee.get("title") or {}
    link = f"{base_url.rstrip('/')}/applications/{record['id']}"
    tr = service.transitions.get(spec.on_overdue) if spec.on_overdue else None
    after_state = service.states.get(tr.to) if tr is not None else None
    subject = (f"แจ้งเตือนชำระค่าธรรมเนียม คำขอ {number} ภายใน {format_date(due, 'th')} / "
               f"Fee reminder: application {number}, pay by {format_date(due, 'en')}")
    th = ["ค่าธรรมเนียมของคำขอนี้ยังไม่ได้ชำระ",
          f"บริการ: {title.th}",
          f"เลขที่คำขอ: {number}",
          f"ค่าธรรมเนียม: {fee_title.get('th', fee['id'])} {format_money(fee.get('amount'), 'th')}",
          f"ชำระภายใน: {format_date(due, 'th', long=True)}"]
    en = ["The fee of this application has not been paid yet.",
          f"Service: {title.get('en')}",
          f"Application: {number}",
          f"Fee: {fee_title.get('en') or fee['id']} {format_money(fee.get('amount'), 'en')}",
          f"Pay by: {format_date(due, 'en', long=True)}"]
    if tr is not None:
        th.append(f"หากไม่ชำระภายในกำหนด: {tr.title.th}"
                  + (f" (สถานะจะเป็น “{after_state.title.th}”)" if after_state else ""))
        en.append(f"If it is not paid in time: {tr.title.get('en')}"
                  + (f" (the status becomes “{after_state.title.get('en')}”)" if after_state else ""))
    th += [f"ดูใบแจ้งและชำระเงิน: {link}", "หากชำระแล้ว ไม่ต้องดำเนินการใด ๆ"]
    en += [f"See the notice and pay: {link}", "If you have paid already, there is nothing to do."]
    text = "\n".join(th + ["", "-" * 40 + " English " + "-" * 10, ""] + en + [""])
    return subject, text
