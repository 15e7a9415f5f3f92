"""Daily reconciliation (issue #8 item 6; A-P6): per working day and per agency,
the notices issued, the payments by method, the receipts drawn, the callbacks
that did not match and the refused proofs of payment; and a bank statement
file matched against the payments by reference 1 and 2.

The records read are those of :mod:`eservice.payments.ledger` (see
``docs/payments.md``):

* notices — the store sequence ``notice:<agency>:<fiscal year>``'s allocation
  log (``number_log``: the time each number was drawn) joined with the
  ``notices`` collection (key ``ref2``: amount, status, application);
* payments — the ``payments`` collection, by their ``paid_at``;
* receipts — the sequence ``receipt:<agency>:<fiscal year>``'s allocation log
  (each names its payment), so a number drawn but never used shows too;
* unmatched callbacks — payments with ``status: flagged`` (late, wrong amount,
  already paid, closed, unknown or stale notice) that came from a provider;
  one whose references match no notice has no agency and is listed in every
  agency's report, marked so;
* refused proofs — the applications' ``payment_proofs`` (written by
  :mod:`eservice.payments.proofs`) with ``status: refused`` and
  ``decided_at`` in the window.

**The day.**  A report is for one *working day* of the agency's calendar and
covers every local date after the previous working day up to and including it:
Monday's report holds what was paid on Saturday and Sunday too, so every
instant belongs to exactly one report.  Asking for a day that is not a working
day is refused with the working day whose report holds it.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..errors import BilingualError
from .ledger import METHODS, NOTICES, PAYMENTS, fiscal_year_be, money

__all__ = ["refused_proofs", "ELECTRONIC", "DailyReport", "ReconcileError", "BankLine", "Difference", "daily_report",
           "report_window", "read_bank_file", "NOTICE_STATUS_TITLES", "FLAG_TITLES", "METHOD_TITLES", "match_bank", "report_csv", "report_xlsx", "BANK_COLUMNS"]

# methods whose money arrives through the bank (and so is on its statement)
ELECTRONIC = ("bill_payment", "promptpay", "card", "bank_transfer")
BANK_COLUMNS = ("ref1", "ref2", "amount")  # required; optional: date, time, bank_ref
MAX_BANK_FILE = 20 * 1024 * 1024
METHOD_TITLES = {
    "bill_payment": ("ชำระบิล (QR)", "Bill payment (QR)"), "promptpay": ("พร้อมเพย์", "PromptPay"),
    "card": ("บัตร", "Card"), "bank_transfer": ("โอนเงิน", "Bank transfer"),
    "counter": ("เคาน์เตอร์", "Counter"), "cheque": ("เช็ค", "Cheque"), "cash": ("เงินสด", "Cash"),
}

NOTICE_STATUS_TITLES = {
    "open": ("รอชำระ", "Open"), "paid": ("ชำระแล้ว", "Paid"), "overdue": ("เลยกำหนด", "Overdue"),
    "void": ("ยกเลิก (ออกใบใหม่)", "Void (replaced)"), "not_written": ("ไม่ได้บันทึก", "Not written"),
}
FLAG_TITLES = {
    "late": ("ชำระหลังกำหนด", "Paid after the due date"), "wrong_amount": ("ยอดเงินไม่ตรง", "Wrong amount"),
    "already_paid": ("ชำระแล้วก่อนหน้า", "Already paid"), "closed": ("คำขอสิ้นสุดแล้ว", "Application closed"),
    "unknown_notice": ("ไม่พบใบแจ้งชำระ", "Unknown notice"), "stale_notice": ("ใบแจ้งชำระไม่ใช่ฉบับปัจจุบัน",
                                                                          "Not the current notice"),
    "duplicate_notice": ("ใบแจ้งชำระซ้ำ", "Duplicate notice"),
}


class ReconcileError(BilingualError):
    """A bad request or a bad bank file: Thai and English, with the line."""


def _error(th: str, en: str) -> ReconcileError:
    return ReconcileError("reconcile", th, en, status=400)


# ------------------------------------------------------------------ the day
def report_window(calendar: Any, day: dt.date) -> tuple[dt.date, dt.date]:
    """``(first, last)`` local dates the report of working day ``day`` covers."""
    if not calendar.is_working_day(day):
        nxt = calendar.next_working_day(day)
        raise _error(f"วันที่ {day.isoformat()} ไม่ใช่วันทำการ รายการของวันนั้นอยู่ในรายงานของวันทำการ "
                     f"{nxt.isoformat()}",
                     f"{day.isoformat()} is not a working day; its entries are in the report of "
                     f"{nxt.isoformat()}")
    previous = calendar.add_working_days(day, -1)
    return previous + dt.timedelta(days=1), day


def _local_day(calendar: Any, value: Any) -> dt.date | None:
    try:
        instant = dt.datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    if instant.tzinfo is None:
        return None
    return calendar.to_local(instant).date()


def _fiscal_years(first: dt.date, last: dt.date) -> list[int]:
    return sorted({fiscal_year_be(first), fiscal_year_be(last)})


# ------------------------------------------------------------------ the report
@dataclass
class DailyReport:
    agency: str
    day: dt.date
    first: dt.date  # the window's first local date
    notices: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)  # every payment paid in the window
    by_method: list[dict[str, Any]] = field(default_factory=list)  # applied payments: method, count, total
    receipts: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    refused_proofs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_paid(self) -> Decimal:
        return sum((Decimal(r["total"]) for r in self.by_method), Decimal("0.00"))

    @property
    def total_noticed(self) -> Decimal:
        return sum((money(n["amount"]) for n in self.notices if n.get("amount")), Decimal("0.00"))


def daily_report(store: Any, calendar: Any, agency: str, day: dt.date) -> DailyReport:
    """The reconciliation of ``agency`` for working day ``day`` (see the module)."""
    first, last = report_window(calendar, day)
    report = DailyReport(agency=agency, day=day, first=first)

    def inside(value: Any) -> bool:
        local = _local_day(calendar, value)
        return local is not None and first <= local <= last

    notices = {n.get("ref2"): n for n in store.collection(NOTICES).find(agency=agency)}  # one read
    for fy in _fiscal_years(first, last):
        for entry in store.number_log(f"notice:{agency}:{fy}"):
            if not inside(entry.get("at")):
                continue
            ref2 = f"{fy}{int(entry['value']):06d}"
            found = notices.get(ref2) or {}
            report.notices.append({"number": f"{fy}-{int(entry['value']):06d}", "ref2": ref2,
                                   "ref1": found.get("ref1"), "application": found.get("application")
                                   or entry.get("application"), "amount": found.get("amount"),
                                   "due_on": found.get("due_on"), "status": found.get("status") or "not_written",
                                   "at": entry.get("at")})
    payments = [p for p in store.collection(PAYMENTS).all()
                if p.get("agency") in (agency, None) and inside(p.get("paid_at"))]
    payments.sort(key=lambda p: (str(p.get("paid_at")), str(p.get("id"))))
    report.payments = [p for p in payments if p.get("agency") == agency]
    totals: dict[str, list] = {}
    for p in report.payments:
        if p.get("status") == "applied":
            row = totals.setdefault(p.get("method") or "", [0, Decimal("0.00")])
            row[0] += 1
            row[1] += money(p["amount"])
    report.by_method = [{"method": m, "count": totals[m][0], "total": str(totals[m][1])}
                        for m in list(METHODS) + sorted(set(totals) - set(METHODS)) if m in totals]
    report.unmatched = [dict(p, no_agency=p.get("agency") is None) for p in payments
                        if p.get("status") == "flagged" and p.get("provider")]
    by_id = {p["id"]: p for p in store.collection(PAYMENTS).all() if p.get("agency") == agency}
    for fy in _fiscal_years(first, last):
        for entry in store.number_log(f"receipt:{agency}:{fy}"):
            if not inside(entry.get("at")):
                continue
            pay = by_id.get(entry.get("payment") or "") or {}
            report.receipts.append({"number": f"{fy}/{int(entry['value']):06d}", "payment": entry.get("payment"),
                                    "application": entry.get("application"), "amount": pay.get("amount"),
                                    "method": pay.get("method"), "at": entry.get("at"),
                                    "used": (pay.get("receipt") or {}).get("number") ==
                                    f"{fy}/{int(entry['value']):06d}"})
    report.refused_proofs = refused_proofs(store, calendar, agency, first, last)
    return report


def refused_proofs(store: Any, calendar: Any, agency: str, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """Proofs of payment finance refused in the window: the ``payment_proofs``
    of the agency's applications (:mod:`eservice.payments.proofs`) with
    ``status: refused`` and ``decided_at`` in it.  Only applications changed
    since the window began are read (open ones, then closed ones)."""
    start = dt.datetime.combine(first, dt.time(0, 0), tzinfo=calendar.tz)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    summaries = list(store.open_applications(agency)) + list(store.closed_applications(agency))
    for summary in summaries:
        try:
            updated = dt.datetime.fromisoformat(str(summary.get("updated_at")))
        except ValueError:
            continue
        if summary["id"] in seen or updated.tzinfo is None or updated < start:
            continue
        seen.add(summary["id"])
        record = store.get_application(summary["id"])
        notice = record.get("payment_notice") or {}
        for proof in record.get("payment_proofs") or []:
            local = _local_day(calendar, proof.get("decided_at"))
            if proof.get("status") == "refused" and local is not None and first <= local <= last:
                out.append({"id": proof.get("id"), "application": record["id"],
                            "reference": record.get("reference"), "ref2": proof.get("ref2"),
                            "amount": notice.get("amount") if notice.get("ref2") == proof.get("ref2") else None,
                            "decided_at": proof.get("decided_at"), "decided_by": proof.get("decided_by"),
                            "reason": proof.get("reason")})
    return sorted(out, key=lambda p: (str(p["decided_at"]), str(p["id"])))


# ------------------------------------------------------------------ exports
def _rows(report: DailyReport) -> Iterable[tuple[str, list[list[Any]]]]:
    """(sheet name, rows with a header row) — the one layout of the CSV and the XLSX."""
    yield "summary", [["agency", "working_day", "covers_from", "notices", "notices_total", "payments_applied",
                       "paid_total", "receipts", "unmatched_callbacks", "refused_proofs"],
                      [report.agency, report.day.isoformat(), report.first.isoformat(), len(report.notices),
                       str(report.total_noticed), sum(r["count"] for r in report.by_method),
                       str(report.total_paid), len(report.receipts), len(report.unmatched),
                       len(report.refused_proofs)]]
    yield "by_method", [["method", "count", "total"]] + [[r["method"], r["count"], r["total"]]
                                                          for r in report.by_method]
    yield "notices", [["number", "ref1", "ref2", "application", "amount", "due_on", "status", "issued_at"]] + [
        [n["number"], n["ref1"], n["ref2"], n["application"], n["amount"], n["due_on"], n["status"], n["at"]]
        for n in report.notices]
    yield "payments", [["id", "method", "ref1", "ref2", "amount", "paid_at", "status", "flag", "receipt",
                        "application"]] + [
        [p["id"], p.get("method"), p.get("ref1"), p.get("ref2"), p.get("amount"), p.get("paid_at"),
         p.get("status"), p.get("flag"), (p.get("receipt") or {}).get("number"), p.get("application")]
        for p in report.payments]
    yield "receipts", [["number", "payment", "application", "amount", "method", "drawn_at", "used"]] + [
        [r["number"], r["payment"], r["application"], r["amount"], r["method"], r["at"], "yes" if r["used"] else "no"]
        for r in report.receipts]
    yield "unmatched", [["id", "provider", "provider_ref", "ref1", "ref2", "amount", "paid_at", "flag",
                         "agency_known"]] + [
        [p["id"], p.get("provider"), p.get("provider_ref"), p.get("ref1"), p.get("ref2"), p.get("amount"),
         p.get("paid_at"), p.get("flag"), "no" if p["no_agency"] else "yes"] for p in report.unmatched]
    yield "refused_proofs", [["id", "application", "amount", "decided_at", "decided_by", "reason"]] + [
        [p.get("id"), p.get("application"), p.get("amount"), p.get("decided_at"), p.get("decided_by"),
         p.get("reason")] for p in report.refused_proofs]


def report_csv(report: DailyReport) -> bytes:
    """One CSV (UTF-8 with BOM, for Excel): each section starts with a line naming it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for name, rows in _rows(report):
        writer.writerow([f"# {name}"])
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
        writer.writerow([])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def report_xlsx(report: DailyReport) -> bytes:
    """The same sections, one sheet each (openpyxl)."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in _rows(report):
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(["" if v is None else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ------------------------------------------------------------------ the bank file
@dataclass(frozen=True)
class BankLine:
    line: int
    ref1: str
    ref2: str
    amount: Decimal
    date: dt.date | None = None
    time: str = ""
    bank_ref: str = ""


@dataclass(frozen=True)
class Difference:
    kind: str  # "not_recorded" | "not_in_bank" | "amount" | "twice_in_bank"
    ref1: str
    ref2: str
    bank_amount: str | None = None
    recorded_amount: str | None = None
    line: int | None = None
    payment: str | None = None

    TEXTS = {
        "not_recorded": ("อยู่ในรายการเดินบัญชีแต่ไม่มีการรับชำระในระบบ", "in the bank file, not recorded"),
        "not_in_bank": ("รับชำระในระบบแต่ไม่อยู่ในรายการเดินบัญชี", "recorded, not in the bank file"),
        "amount": ("จำนวนเงินไม่ตรงกัน", "amounts differ"),
        "twice_in_bank": ("อยู่ในรายการเดินบัญชีซ้ำ", "twice in the bank file"),
    }

    def describe(self) -> str:
        th, en = self.TEXTS[self.kind]
        where = f"line {self.line}: " if self.line else ""
        amounts = f" bank={self.bank_amount or '-'} recorded={self.recorded_amount or '-'}"
        return f"{where}{th} / {en}: ref1={self.ref1} ref2={self.ref2}{amounts}" + \
            (f" payment={self.payment}" if self.payment else "")


def read_bank_file(path: Path | str) -> list[BankLine]:
    """Read a bank statement CSV (see ``docs/payments_reconciliation.md``);
    raise :class:`ReconcileError` naming the line of the first problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _error(f"ไม่พบไฟล์ {path}", f"no such file: {path}") from None
    except OSError as exc:
        raise _error(f"อ่านไฟล์ {path} ไม่ได้: {exc.strerror}", f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_BANK_FILE:
        raise _error("ไฟล์ใหญ่เกิน 20 MB", "the file is larger than 20 MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _error(f"ไฟล์ต้องเป็น UTF-8 (ไบต์ที่ {exc.start + 1} ไม่ใช่)",
                     f"the file must be UTF-8 (byte {exc.start + 1} is not)") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise _error("ไฟล์ว่าง ต้องมีบรรทัดหัวตาราง ref1,ref2,amount", "the file is empty; it needs a header line "
                     "ref1,ref2,amount") from None
    names = [h.strip().lower() for h in header]
    missing = [c for c in BANK_COLUMNS if c not in names]
    if missing:
        raise _error(f"บรรทัดที่ 1: ไม่มีคอลัมน์ {', '.join(missing)} (ต้องมี ref1, ref2, amount)",
                     f"line 1: missing column(s) {', '.join(missing)} (ref1, ref2 and amount are required)")
    col = {n: i for i, n in enumerate(names)}
    lines: list[BankLine] = []
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            raise _error(f"บรรทัดที่ {number}: มี {len(row)} ช่อง แต่หัวตารางมี {len(names)} ช่อง",
                         f"line {number}: {len(row)} fields, the header has {len(names)}")

        def cell(name: str) -> str:
            return row[col[name]].strip() if name in col else ""
        ref1, ref2 = cell("ref1").upper(), cell("ref2")
        if not ref1 or not ref2:
            raise _error(f"บรรทัดที่ {number}: ไม่มี ref1 หรือ ref2", f"line {number}: ref1 or ref2 is empty")
        try:
            amount = Decimal(cell("amount").replace(",", ""))
            if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
                raise InvalidOperation
        except InvalidOperation:
            raise _error(f"บรรทัดที่ {number}: จำนวนเงิน “{cell('amount')}” ไม่ถูกต้อง (เช่น 1500.00)",
                         f"line {number}: amount “{cell('amount')}” is not valid (e.g. 1500.00)") from None
        day = None
        if cell("date"):
            try:
                day = dt.date.fromisoformat(cell("date"))
            except ValueError:
                raise _error(f"บรรทัดที่ {number}: วันที่ “{cell('date')}” ต้องเป็น ค.ศ. YYYY-MM-DD",
                             f"line {number}: date “{cell('date')}” must be YYYY-MM-DD") from None
        lines.append(BankLine(number, ref1, ref2, amount.quantize(Decimal("0.01")), day, cell("time"),
                              cell("bank_ref")))
    return lines


def match_bank(lines: Iterable[BankLine], payments: Iterable[Mapping[str, Any]]) -> list[Difference]:
    """Match bank lines with recorded electronic payments by (ref1, ref2).

    A recorded payment counts when it came through the bank (``ELECTRONIC``
    methods) and was applied, flagged or left ``received`` (interrupted).  Several of either with the same
    references are paired in order of amount."""
    recorded: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    unique = {str(p.get("id")): p for p in payments}  # a payment given twice counts once
    for p in unique.values():
        if p.get("method") in ELECTRONIC and p.get("status") in ("applied", "flagged", "received"):
            recorded.setdefault((str(p.get("ref1") or "").upper(), str(p.get("ref2") or "")), []).append(p)
    out: list[Difference] = []
    bank: dict[tuple[str, str], list[BankLine]] = {}
    seen: set[str] = set()
    for line in lines:
        if line.bank_ref and line.bank_ref in seen:  # the same bank transaction again
            out.append(Difference("twice_in_bank", line.ref1, line.ref2, str(line.amount), None, line.line))
            continue
        if line.bank_ref:
            seen.add(line.bank_ref)
        bank.setdefault((line.ref1, line.ref2), []).append(line)
    for key in sorted(set(bank) | set(recorded)):
        ours = sorted(recorded.get(key, []), key=lambda p: money(p["amount"]))
        theirs = sorted(bank.get(key, []), key=lambda b: b.amount)
        for ours_p, bank_l in zip(ours, theirs):
            if money(ours_p["amount"]) != bank_l.amount:
                out.append(Difference("amount", key[0], key[1], str(bank_l.amount), str(money(ours_p["amount"])),
                                      bank_l.line, ours_p.get("id")))
        for bank_l in theirs[len(ours):]:
            out.append(Difference("not_recorded", key[0], key[1], str(bank_l.amount), None, bank_l.line))
        for ours_p in ours[len(theirs):]:
            out.append(Difference("not_in_bank", key[0], key[1], None, str(money(ours_p["amount"])), None,
                                  ours_p.get("id")))
    return out
