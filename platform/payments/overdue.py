"""Overdue fees (A-P8): a reminder before the due date, then the definition's
``on_overdue`` transition, run by the background worker (:mod:`eservice.worker`).

Each round (:func:`run`) looks at the open applications that wait in a state
where an unpaid fee matters — a state a fee-issuing transition leads to, or a
state an ``on_overdue`` transition starts from — and at what they owe
(:func:`bills`): the open payment notice of :mod:`eservice.payments.ledger`
(its unpaid fees, due on the notice's due date), or each unpaid fee when there
is no notice.

1. **Reminder** — on the day given by :func:`eservice.payments.due.reminder_on`
   (``remind_days_before``, default 3, counted like ``due_days``) and up to the
   due date, the applicant gets one e-mail in Thai and English (fees, total,
   notice number, due date in the Buddhist Era, what happens if it is not paid,
   the tracking link), sent through the platform's mailer and recorded in the
   outbox (kind ``fee_reminder``).  The reminder is claimed first in the
   ``fee_reminders`` collection under ``<application>:<notice number>`` (or
   ``<application>:<fee>:<issued_at>``) with a create-only write — of two
   processes one wins — so it goes at most once; a temporary mail failure frees
   the claim for the next round, a permanent one is kept as ``failed``.
   Without SMTP settings nothing is claimed (the reminder waits).
2. **Fee overdue** — from the first instant after the due date
   (:func:`eservice.payments.due.overdue_from`), one version-checked write marks
   it: ``overdue_at`` on the fees, the notice's ``status`` becomes ``overdue``
   and a hash-linked ``fee_overdue`` event is appended (of two processes one
   wins).  Then the ``on_overdue`` transition (of the first of those fees that
   names one) is taken as the ``system`` actor with the version the mark
   produced.  A restart between the two steps finds the mark and takes the
   transition; a second process meets a version conflict or a state the
   transition no longer leaves from, so it never runs twice.  With no
   ``on_overdue`` the fee is only marked (officers see the event).  When the
   transition cannot be signed yet (documents, status 503) it is tried again
   next round; any other refusal is written on the fees as ``overdue_refused``
   and logged, and not retried.

A fee whose status is anything but ``unpaid``, a notice that is not
``open``, and an application with a proof of payment waiting for finance
(:mod:`eservice.payments.proofs`) are left alone: after finance refuses the
proof, the next round acts.
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

__all__ = ["REMINDERS", "OverdueReport", "bills", "run", "watched_states", "reminder_mail"]

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


def _issued_day(calendar: Any, issued_at: Any) -> dt.date | None:
    try:
        return calendar.to_local(dt.datetime.fromisoformat(str(issued_at))).date()
    except (TypeError, ValueError):
        return None


def bills(record: Mapping[str, Any], service: CompiledService) -> list[dict[str, Any]]:
    """What the applicant still owes, as the units a reminder and an overdue
    act on: the open payment notice (:mod:`eservice.payments.ledger`; all its
    unpaid fees, due on the notice's due date) or, with no notice, each unpaid
    fee.  A notice that is not ``open`` (paid, overdue, void) owes nothing here."""
    specs = {f.id: f for f in service.definition.fees}
    unpaid = [f for f in record.get("fees") or [] if f.get("status") == "unpaid" and f.get("id") in specs]
    if not unpaid:
        return []
    if any(p.get("status") == "pending" for p in record.get("payment_proofs") or []):
        return []  # a proof of payment waits for finance: their answer first (eservice.payments.proofs)
    notice = record.get("payment_notice")
    if notice:
        if notice.get("status") != "open" or not any(f.get("notice") == notice.get("number") for f in unpaid):
            return []
        mine = [f for f in unpaid if f.get("notice") == notice.get("number")]
        due = _parse_day(notice.get("due_on"))
        last = max(mine, key=lambda f: str(f.get("due_on") or ""))
        titles = [f.get("title") or {} for f in mine]
        return [{"key": f"{record['id']}:{notice['number']}", "due": due, "issued_at": notice.get("issued_at"),
                 "amount": notice.get("amount"), "titles": titles, "fees": [f["id"] for f in mine],
                 "rules": specs[last["id"]], "on_overdue": next(
                     (specs[f["id"]].on_overdue for f in mine if specs[f["id"]].on_overdue), None),
                 "notice": notice["number"], "ref1": notice.get("ref1"), "ref2": notice.get("ref2")}]
    return [{"key": f"{record['id']}:{f['id']}:{f.get('issued_at')}", "due": _parse_day(f.get("due_on")),
             "issued_at": f.get("issued_at"), "amount": f.get("amount"), "titles": [f.get("title") or {}],
             "fees": [f["id"]], "rules": specs[f["id"]], "on_overdue": specs[f["id"]].on_overdue,
             "notice": None, "ref1": None, "ref2": None} for f in unpaid]


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
            for bill in bills(record, service):
                if bill["due"] is None:
                    continue
                try:
                    if is_overdue(calendar, bill["due"], now):
                        record = _overdue(engine, record, service, bill, now, report)
                    else:
                        _remind(engine, record, service, bill, calendar, now, mailer, base_url, report)
                except Exception as exc:  # one application must never stop the others
                    log.exception("overdue %s failed", bill["key"])
                    report.errors.append(f"fee {bill['key']}: {exc}")
    return report


# ------------------------------------------------------------------ overdue
def _overdue(engine: EngineContext, record: dict, service: CompiledService, bill: Mapping[str, Any],
             now: dt.datetime, report: OverdueReport) -> dict:
    """"Fee overdue": mark first (one version-checked write), then take ``on_overdue``."""
    stamp = now.isoformat()
    fees = [f for f in record["fees"] if f["id"] in bill["fees"]]
    if not any(f.get("overdue_at") for f in fees):
        for fee in fees:
            fee["overdue_at"] = stamp
        if bill["notice"]:
            record["payment_notice"]["status"] = "overdue"  # the notice's own word (eservice.payments.ledger)
        events.append(record["events"], "fee_overdue", SYSTEM.user_id, stamp,
                      {"fees": bill["fees"], "notice": bill["notice"], "due_on": bill["due"].isoformat(),
                       "amount": bill["amount"], "on_overdue": bill["on_overdue"]})
        try:
            record = engine.store.update_application(record, record["version"])
        except ConflictError:
            return record  # another process (or an officer) wrote first: look again next round
        if bill["ref2"]:
            _notice_pointer(engine, bill["ref1"], bill["ref2"], "overdue")
        report.overdue.append(bill["key"])
    fees = [f for f in record["fees"] if f["id"] in bill["fees"]]
    tr = service.transitions.get(bill["on_overdue"]) if bill["on_overdue"] else None
    if tr is None or record["state"] not in tr.from_ or any(f.get("overdue_refused") for f in fees):
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
        return _refused(engine, record, bill["fees"], tr.id, exc, now)
    report.transitions.append(f"{record['id']}:{tr.id}")
    return saved


def _notice_pointer(engine: EngineContext, ref1: str, ref2: str, status: str) -> None:
    """Keep the ``notices`` collection's pointer in step with the application."""
    from .ledger import NOTICES, notice_key

    notices = engine.store.collection(NOTICES)
    key = notice_key(ref1, ref2)
    for _ in range(5):
        found = notices.get(key)
        if found is None or found.get("status") in (status, "paid", "void"):
            return
        try:
            notices.put(key, dict(found, status=status), expected_version=found["version"])
            return
        except ConflictError:
            continue


def _refused(engine: EngineContext, record: dict, fee_ids: list[str], transition: str, exc: EngineError,
             now: dt.datetime) -> dict:
    """Write the refusal on the fees (kept for officers; not retried)."""
    def change(current: dict) -> None:
        for fee in current.get("fees") or []:
            if fee["id"] in fee_ids:
                fee["overdue_refused"] = {"transition": transition, "code": exc.code, "th": exc.th, "en": exc.en,
                                          "at": now.isoformat()}
    try:
        return engine.store.modify_application(record["id"], change)
    except (ConflictError, NotFoundError):
        return record


# ------------------------------------------------------------------ reminders
def _remind(engine: EngineContext, record: Mapping[str, Any], service: CompiledService, bill: Mapping[str, Any],
            calendar: Any, now: dt.datetime, mailer: Any, base_url: str, report: OverdueReport) -> None:
    if mailer is None:
        return  # mail is not configured: the reminder waits
    issued = _issued_day(calendar, bill.get("issued_at"))
    if issued is None:
        return
    day = reminder_on(calendar, issued, bill["due"], bill["rules"])
    if day is None or calendar.to_local(now).date() < day:
        return
    sent = engine.store.collection(REMINDERS)
    key = bill["key"]
    if sent.get(key) is not None:
        return
    user = engine.store.collection("users").get(record.get("applicant") or "") or {}
    address = str(user.get("email") or "").strip()
    entry = {"application": record["id"], "agency": record["agency"], "fees": bill["fees"],
             "notice": bill["notice"], "due_on": bill["due"].isoformat(),
             "to": [address] if address else [], "at": now.isoformat(),
             "status": "sending" if address else "no_address"}
    try:
        claimed = sent.put(key, entry)
    except ConflictError:
        return  # another process sends it
    if not address:
        log.warning("fee reminder for %s: the applicant has no e-mail address", record["id"])
        return
    subject, text = reminder_mail(record, service, bill, base_url)
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
    report.reminders.append(key)


def reminder_mail(record: Mapping[str, Any], service: CompiledService, bill: Mapping[str, Any],
                  base_url: str) -> tuple[str, str]:
    """The reminder's subject and text, Thai then English."""
    number = record.get("intake_number") or record.get("reference") or record["id"]
    title = service.definition.title
    due = bill["due"]
    link = f"{base_url.rstrip('/')}/applications/{record['id']}"
    tr = service.transitions.get(bill["on_overdue"]) if bill["on_overdue"] else None
    after_state = service.states.get(tr.to) if tr is not None else None
    fees_th = ", ".join(t.get("th") or "" for t in bill["titles"])
    fees_en = ", ".join(t.get("en") or t.get("th") or "" for t in bill["titles"])
    subject = (f"แจ้งเตือนชำระค่าธรรมเนียม คำขอ {number} ภายใน {format_date(due, 'th')} / "
               f"Fee reminder: application {number}, pay by {format_date(due, 'en')}")
    th = ["ค่าธรรมเนียมของคำขอนี้ยังไม่ได้ชำระ",
          f"บริการ: {title.th}",
          f"เลขที่คำขอ: {number}",
          f"ค่าธรรมเนียม: {fees_th} รวม {format_money(bill['amount'], 'th')}"]
    en = ["The fee of this application has not been paid yet.",
          f"Service: {title.get('en')}",
          f"Application: {number}",
          f"Fee: {fees_en}, total {format_money(bill['amount'], 'en')}"]
    if bill["notice"]:
        th.append(f"ใบแจ้งชำระเลขที่: {bill['notice']}")
        en.append(f"Payment notice: {bill['notice']}")
    th.append(f"ชำระภายใน: {format_date(due, 'th', long=True)}")
    en.append(f"Pay by: {format_date(due, 'en', long=True)}")
    if tr is not None:
        th.append(f"หากไม่ชำระภายในกำหนด: {tr.title.th}"
                  + (f" (สถานะจะเป็น “{after_state.title.th}”)" if after_state else ""))
        en.append(f"If it is not paid in time: {tr.title.get('en')}"
                  + (f" (the status becomes “{after_state.title.get('en')}”)" if after_state else ""))
    th += [f"ดูใบแจ้งและชำระเงิน: {link}", "หากชำระแล้ว ไม่ต้องดำเนินการใด ๆ"]
    en += [f"See the notice and pay: {link}", "If you have paid already, there is nothing to do."]
    text = "\n".join(th + ["", "-" * 40 + " English " + "-" * 10, ""] + en + [""])
    return subject, text
