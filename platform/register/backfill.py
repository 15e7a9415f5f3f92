"""Back-filling the register with historical licences (PL-2): ``eservice register import``.

The file is a CSV (UTF-8, with or without a byte-order mark) or an XLSX (its
first sheet) with the columns of the export (:mod:`eservice.register.exports`):
``agency``, ``service``, ``licence``, ``licence_number``, ``status``,
``issued_on`` are required, ``valid_until`` and the register fields of the
licences are optional.  So an export imports as it is.

Every row is checked before anything is written: the agency, service and kind
of licence exist and belong together, the number is there, the status is one
of active / suspended / revoked / expired (Thai or English names too), dates
are ``YYYY-MM-DD`` (a year from 2400 on is read as Buddhist Era), each field
reads as its type (:func:`eservice.register.values.parse`) and is one the
licence's ``register`` lists.  Each problem names its row (as a spreadsheet
numbers it: the header is row 1) and column, in Thai and English.  With any
problem nothing is imported, unless ``skip_bad``: then the good rows are.

Importing is idempotent: an entry is keyed by agency, service, kind and
number (:func:`eservice.register.model.entry_id`); a row equal to what the
register holds is left alone, a changed row of an imported licence updates it
(with a line in its history), and a licence the platform issued itself is
never overwritten (its status changes through the officers' page).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import values
from .exports import FIXED, Column, row
from .model import STATUS_TEXT, STATUSES, Register

__all__ = ["ImportReport", "Problem", "TableError", "import_rows", "read_table"]

REQUIRED = ("agency", "service", "licence", "licence_number", "status", "issued_on")
MAX_NUMBER = 100
_STATUS_NAMES = {name.casefold(): code for code, names in STATUS_TEXT.items() for name in names.values()}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Problem:
    row: int  # as a spreadsheet numbers it (1: the header)
    column: str
    th: str
    en: str

    def __str__(self) -> str:
        where = f"แถว {self.row} คอลัมน์ {self.column}" if self.column else f"แถว {self.row}"
        where_en = f"row {self.row}, column {self.column}" if self.column else f"row {self.row}"
        return f"{where}: {self.th} / {where_en}: {self.en}"


@dataclass
class ImportReport:
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def imported(self) -> bool:
        return self.added + self.updated > 0


class TableError(Exception):
    def __init__(self, th: str, en: str):
        super().__init__(en)
        self.th, self.en = th, en


def read_table(path: Path) -> tuple[list[str], list[list[Any]]]:
    """The header and the rows of a CSV or XLSX file (TableError when it is neither)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise TableError("ไฟล์ CSV ต้องเป็น UTF-8", "the CSV file must be UTF-8") from None
        table = list(csv.reader(io.StringIO(text, newline="")))
    elif suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        except Exception as exc:  # not a workbook: say so, no traceback
            raise TableError(f"อ่านไฟล์ XLSX ไม่ได้: {exc}", f"cannot read the XLSX file: {exc}") from None
        table = [list(r) for r in sheet.iter_rows(values_only=True)]
    else:
        raise TableError("รองรับเฉพาะไฟล์ .csv และ .xlsx", "only .csv and .xlsx files can be imported")
    table = [r for r in table if any(c not in (None, "") for c in r)]
    if not table:
        raise TableError("ไฟล์ว่างเปล่า", "the file is empty")
    header = ["" if c is None else str(c).strip() for c in table[0]]
    return header, table[1:]


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("'") and value[1:2] in _FORMULA_START:
            value = value[1:]  # the export's guard against formulas
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value)


def _header_problems(header: Sequence[str], known: set[str]) -> list[Problem]:
    problems = []
    for name in REQUIRED:
        if name not in header:
            problems.append(Problem(1, name, f"ไม่มีคอลัมน์ {name} ซึ่งต้องมี",
                                    f"the required column {name} is missing"))
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(1, name, "ชื่อคอลัมน์ซ้ำ", "the column appears twice"))
        seen.add(name)
        if name and name not in known:
            problems.append(Problem(1, name, "ไม่รู้จักคอลัมน์นี้ (ไม่ใช่ช่องข้อมูลในทะเบียนของใบอนุญาตใด)",
                                    "unknown column (not a register field of any licence)"))
    return problems


class _Row:
    """One row checked: its problems, or the entry it makes."""

    def __init__(self, register: Register, number: int, cells: dict[str, Any]):
        self.register = register
        self.number = number
        self.cells = cells
        self.problems: list[Problem] = []
        self.entry: dict[str, Any] | None = None
        self.columns: list[Column] = []

    def problem(self, column: str, th: str, en: str) -> None:
        self.problems.append(Problem(self.number, column, th, en))

    def check(self) -> None:
        catalogue = self.register.catalogue
        get = self.cells.get
        agency, service_id, licence_id = (_text(get(k)) for k in ("agency", "service", "licence"))
        if agency not in catalogue.agencies:
            self.problem("agency", f"ไม่มีหน่วยงานรหัส “{agency}”", f"no agency “{agency}”")
        service = catalogue.latest(service_id) if service_id else None
        if service is None:
            self.problem("service", f"ไม่มีบริการ “{service_id}”", f"no service “{service_id}”")
        elif agency in catalogue.agencies and service.agency.code != agency:
            self.problem("service", f"บริการ “{service_id}” ไม่ใช่ของหน่วยงาน {agency}",
                         f"the service “{service_id}” is not {agency}'s")
        licence = next((x for x in service.definition.outputs.licences if x.id == licence_id), None) \
            if service is not None else None
        if service is not None and licence is None:
            known = ", ".join(x.id for x in service.definition.outputs.licences) or "-"
            self.problem("licence", f"บริการนี้ไม่มีใบอนุญาตประเภท “{licence_id}” (มี: {known})",
                         f"this service issues no licence “{licence_id}” (it has: {known})")
        number = _text(get("licence_number")).strip()
        if not number:
            self.problem("licence_number", "ไม่มีเลขที่ใบอนุญาต", "the licence number is missing")
        elif len(number) > MAX_NUMBER or any(ord(c) < 32 for c in number):
            self.problem("licence_number", f"เลขที่ใบอนุญาตยาวเกิน {MAX_NUMBER} ตัวอักษรหรือมีอักขระควบคุม",
                         f"the licence number is longer than {MAX_NUMBER} characters or has control characters")
        raw_status = _text(get("status")).strip()
        status = raw_status if raw_status in STATUSES else _STATUS_NAMES.get(raw_status.casefold())
        if status is None:
            self.problem("status", f"สถานะ “{raw_status}” ไม่ถูกต้อง ใช้ active, suspended, revoked หรือ expired",
                         f"status “{raw_status}” is not one of active, suspended, revoked, expired")
        issued_on = self._date("issued_on", required=True)
        valid_until = self._date("valid_until", required=False)
        if issued_on and valid_until and valid_until < issued_on:
            self.problem("valid_until", "วันที่ใช้ได้ถึงต้องไม่ก่อนวันที่ออก", "valid until is before the day of issue")
        fields = self._fields(service, licence)
        if self.problems or service is None or licence is None or status is None or issued_on is None:
            return
        self.entry = self.register.build(
            service=service, licence=licence, number=number, issued_on=issued_on,
            valid_until=valid_until.isoformat() if valid_until else None, fields=fields, status=status,
            source="imported")
        self.columns = [Column(*c) for c in FIXED] + [Column(f["id"], "", "", f["type"]) for f in fields]

    def _date(self, column: str, *, required: bool) -> dt.date | None:
        raw = self.cells.get(column)
        if raw in (None, ""):
            if required:
                self.problem(column, "ไม่มีวันที่", "the date is missing")
            return None
        try:
            return values.read_date(raw)
        except values.CellError as exc:
            self.problem(column, exc.th, exc.en)
            return None

    def _fields(self, service: Any, licence: Any) -> list[dict[str, Any]]:
        specs = {s.id: s for s in values.field_specs(service, licence)} if licence is not None else {}
        fixed = {c[0] for c in FIXED}
        for name, raw in self.cells.items():
            if name not in fixed and name not in specs and raw not in (None, "") and licence is not None:
                self.problem(name, f"ใบอนุญาตประเภท {licence.id} ไม่มีช่องข้อมูลนี้ในทะเบียน",
                             f"the register of a {licence.id} licence has no such field")
        out = []
        for spec in specs.values():
            try:
                out.append(values.parse(spec, self.cells.get(spec.id)))
            except values.CellError as exc:
                self.problem(spec.id, exc.th, exc.en)
        return out


def import_rows(register: Register, header: Sequence[str], table: Sequence[Sequence[Any]], *,
                skip_bad: bool = False, progress: Callable[[str, int, int], None] | None = None) -> ImportReport:
    """Check every row, then (when all are good, or ``skip_bad``) write them."""
    report = ImportReport(rows=len(table))
    catalogue = register.catalogue
    known = {c[0] for c in FIXED} | {spec.id for svc in catalogue.current() for lic in svc.definition.outputs.licences
                                      for spec in values.field_specs(svc, lic)}
    report.problems = _header_problems(header, known)
    if report.problems:
        return report
    checked: list[_Row] = []
    seen: dict[str, int] = {}
    for n, cells in enumerate(table, 2):
        item = _Row(register, n, {name: _cell(cells[i]) if i < len(cells) else None
                                  for i, name in enumerate(header) if name})
        item.check()
        if item.entry is not None:
            first = seen.setdefault(item.entry["id"], n)
            if first != n:
                item.problem("licence_number", f"ใบอนุญาตนี้ซ้ำกับแถว {first}", f"the same licence as row {first}")
                item.entry = None
        checked.append(item)
        if progress:
            progress("check", n - 1, len(table))
    for item in checked:
        report.problems.extend(item.problems)
    if report.problems and not skip_bad:
        return report
    collection = register.entries_collection
    for done, item in enumerate(checked, 1):
        if item.entry is None:
            report.skipped += 1
        else:
            _write(register, collection, item, report)
        if progress:
            progress("write", done, len(checked))
    return report


def _write(register: Register, collection: Any, item: _Row, report: ImportReport) -> None:
    entry = item.entry
    assert entry is not None
    current = collection.get(entry["id"])
    if current is None:
        collection.put(entry["id"], entry)
        report.added += 1
        return
    if row(register._shown(current), item.columns) == row(register._shown(entry), item.columns):
        report.unchanged += 1
        return
    if current.get("source") != "imported":
        report.problems.append(Problem(
            item.number, "licence_number",
            "ใบอนุญาตนี้ออกโดยระบบและข้อมูลต่างจากในไฟล์ จึงไม่ได้นำเข้าทับ (เปลี่ยนสถานะได้ที่หน้าเจ้าหน้าที่)",
            "this licence was issued by the platform and differs from the file, so it was not overwritten "
            "(change its status on the officers' page)"))
        report.skipped += 1
        return
    step = dict(entry["history"][-1], action="import", **{"from": register.status_of(current)})
    collection.put(entry["id"], dict(entry, history=[*(current.get("history") or []), step]),
                   expected_version=current["version"])
    report.updated += 1

