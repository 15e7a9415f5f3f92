"""The register as open data: CSV, XLSX and JSON with the same columns, and its
description for a CKAN catalogue and as DCAT JSON-LD (PL-3).

Columns: first the ones every entry has (:data:`FIXED`), then each field the
selected licences list under ``register``, in the definitions' order.  The
header row holds the column ids (stable, what a CKAN DataStore or a script
reads); their Thai and English names are in the JSON's ``fields``, the XLSX's
second sheet and the CKAN resource descriptions.  Cells are *plain*
(:func:`eservice.register.values.plain`): statuses by code, dates ISO,
numbers as digits, choices by their Thai label.  ``eservice register import``
reads the CSV and the XLSX back (:mod:`eservice.register.backfill`).

* CSV: UTF-8 with a byte-order mark (so Excel shows Thai), CRLF lines; a text
  cell that starts with ``= + - @`` gets a leading ``'`` so that no
  spreadsheet runs it as a formula (the import takes it off again).
* XLSX: the sheet ``register`` (dates as dates, numbers as numbers, text
  never as a formula) and the sheet ``columns``.
* JSON: ``{"fields": [{"id", "label": {"th", "en"}}], "records": [{column: cell}]}``,
  the shape of CKAN's ``datastore_search`` answer.

:func:`ckan_package` gives the fields CKAN's ``package_create`` takes (one
dataset per agency, a CSV, XLSX and JSON resource per service), so the
register can be posted to a CKAN government data catalogue as it is;
:func:`dcat_dataset` describes the same dataset in DCAT (JSON-LD).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import values
from .model import STATUS_TEXT, Register

__all__ = ["FIXED", "FORMATS", "Column", "ckan_package", "columns", "dcat_dataset", "export", "rows",
           "to_csv", "to_json", "to_xlsx"]

FIXED: tuple[tuple[str, str, str, str], ...] = (  # id, Thai, English, kind
    ("agency", "หน่วยงาน (รหัส)", "Agency (code)", "text"),
    ("service", "บริการ (รหัส)", "Service (id)", "text"),
    ("licence", "ประเภทใบอนุญาต (รหัส)", "Kind of licence (id)", "text"),
    ("licence_number", "เลขที่ใบอนุญาต", "Licence number", "text"),
    ("status", "สถานะ (active มีผลใช้บังคับ, suspended ถูกพักใช้, revoked ถูกเพิกถอน, expired สิ้นอายุ)",
     "Status (active, suspended, revoked, expired)", "status"),
    ("issued_on", "วันที่ออก", "Issued on", "date"),
    ("valid_until", "ใช้ได้ถึง", "Valid until", "date"),
)
RESERVED = frozenset(c[0] for c in FIXED)
FORMATS = {  # format → (file suffix, media type)
    "csv": ("csv", "text/csv"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "json": ("json", "application/json"),
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    id: str
    th: str
    en: str
    kind: str  # text | status | date | number | money | a field type


def columns(catalogue: Any, entries: Iterable[Mapping[str, Any]], *, agency: str | None = None,
            service: str | None = None) -> list[Column]:
    """The fixed columns, then every register field of the selection."""
    out = [Column(*c) for c in FIXED]
    seen = set(RESERVED)
    for svc in catalogue.current() if catalogue is not None else ():
        if (agency and svc.agency.code != agency) or (service and svc.id != service):
            continue
        for licence in svc.definition.outputs.licences:
            for spec in values.field_specs(svc, licence):
                if spec.id not in seen:
                    seen.add(spec.id)
                    out.append(Column(spec.id, spec.label["th"], spec.label["en"], spec.type))
    for entry in entries:  # fields of older versions, or of services no longer loaded
        for item in entry.get("fields") or ():
            if item["id"] not in seen:
                seen.add(item["id"])
                label = values.pair(item.get("label"))
                out.append(Column(item["id"], label["th"], label["en"], item.get("type") or "text"))
    return out


def row(entry: Mapping[str, Any], cols: Sequence[Column]) -> dict[str, str]:
    """One entry as plain cells (``status``: its status now)."""
    fixed = {"agency": entry["agency"], "service": entry["service"], "licence": entry["licence"],
             "licence_number": entry["number"], "status": entry["status"], "issued_on": entry["issued_on"],
             "valid_until": entry.get("valid_until") or ""}
    kept = {item["id"]: values.plain(item) for item in entry.get("fields") or ()}
    return {c.id: fixed[c.id] if c.id in fixed else kept.get(c.id, "") for c in cols}


def rows(entries: Iterable[Mapping[str, Any]], cols: Sequence[Column]) -> list[dict[str, str]]:
    return [row(e, cols) for e in entries]


# --------------------------------------------------------------------------- files
def _safe(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(cols: Sequence[Column], records: Iterable[Mapping[str, str]],
           progress: Callable[[int], None] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.id for c in cols])
    for n, record in enumerate(records, 1):
        writer.writerow([_safe(str(record.get(c.id, ""))) for c in cols])
        if progress:
            progress(n)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx_value(col: Column, text: str) -> Any:
    if not text:
        return None
    try:
        if col.kind == "date":
            return dt.date.fromisoformat(text)
        if col.kind in ("number", "money"):
            number = Decimal(text)
            return int(number) if number == number.to_integral_value() and col.kind == "number" else float(number)
    except (ValueError, ArithmeticError):
        pass
    return text


def to_xlsx(cols: Sequence[Column], records: Iterable[Mapping[str, str]],
            progress: Callable[[int], None] | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "register"
    ws.append([c.id for c in cols])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for n, record in enumerate(records, 1):
        r = n + 1
        for i, col in enumerate(cols, 1):
            value = _xlsx_value(col, str(record.get(col.id, "")))
            cell = ws.cell(row=r, column=i)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula
            elif isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
            elif col.kind == "money":
                cell.number_format = "0.00"
        if progress:
            progress(n)
    ws.freeze_panes = "A2"
    for i, col in enumerate(cols, 1):
        ws.column_dimensions[get_column_letter(i)].width = 16 if col.kind in ("date", "status") else 24
    info = wb.create_sheet("columns")
    info.append(["id", "ชื่อคอลัมน์", "column"])
    for col in cols:
        info.append([col.id, col.th, col.en])
        for cell in info[info.max_row]:
            cell.data_type = "s"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def to_json(cols: Sequence[Column], records: Iterable[Mapping[str, str]],
            progress: Callable[[int], None] | None = None, **meta: Any) -> bytes:
    listed = []
    for n, record in enumerate(records, 1):
        listed.append({c.id: record.get(c.id, "") for c in cols})
        if progress:
            progress(n)
    body = {**meta, "fields": [{"id": c.id, "label": {"th": c.th, "en": c.en}} for c in cols],
            "records": listed}
    return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")


def export(register: Register, fmt: str, *, agency: str | None = None, service: str | None = None,
           progress: Callable[[int, int], None] | None = None) -> bytes:
    """The selection as ``csv``, ``xlsx`` or ``json`` (``progress(done, total)`` per row)."""
    entries = register.entries(agency=agency, service=service)
    cols = columns(register.catalogue, entries, agency=agency, service=service)
    records = rows(entries, cols)
    step = (lambda n: progress(n, len(records))) if progress else None
    if fmt == "csv":
        return to_csv(cols, records, step)
    if fmt == "xlsx":
        return to_xlsx(cols, records, step)
    if fmt == "json":
        meta = {"agency": agency, "service": service, "statuses": STATUS_TEXT}
        return to_json(cols, records, step, **{k: v for k, v in meta.items() if v})
    raise ValueError(f"unknown format {fmt!r}")


# --------------------------------------------------------------------------- catalogues
def _name(text: str) -> str:
    """A CKAN name: lowercase letters, digits, ``-`` and ``_``, 2 to 100 characters."""
    name = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")
    return (name or "register")[:100].ljust(2, "0")


def _services(catalogue: Any, agency: str) -> list[Any]:
    return [s for s in catalogue.of_agency(agency) if s.definition.outputs.licences]


def _modified(register: Register, agency: str) -> str:
    stamps = [max(e.get("status_since") or "", e.get("published_at") or "") for e in register.entries(agency=agency)]
    return max(stamps) if stamps else register.clock.now().isoformat()


def _resources(catalogue: Any, agency: str, link: Callable[[str], str]) -> list[dict[str, Any]]:
    out = []
    for svc in _services(catalogue, agency):
        title = values.pair(svc.definition.title)
        cols = columns(catalogue, (), service=svc.id)
        described = "; ".join(f"{c.id}: {c.th} / {c.en}" for c in cols)
        for fmt, (suffix, media) in FORMATS.items():
            out.append({
                "name": f"ทะเบียนใบอนุญาต {title['th']} ({suffix.upper()}) / Licence register: {title['en']}",
                "url": link(f"/licences/services/{svc.id}/register.{suffix}"),
                "format": suffix.upper(), "mimetype": media, "resource_type": "file",
                "description": f"คอลัมน์ / columns — {described}",
            })
    return out


def ckan_package(register: Register, agency: str, link: Callable[[str], str]) -> dict[str, Any]:
    """The agency's register as the fields of CKAN's ``package_create`` (with resources).

    ``owner_org`` is the agency code: create the organisation with that name in
    the catalogue once.  ``link(path)`` makes a public address."""
    found = register.catalogue.agencies[agency]
    name = values.pair(found.name)
    services = _services(register.catalogue, agency)
    titles = "; ".join(values.pair(s.definition.title)["th"] for s in services)
    package: dict[str, Any] = {
        "name": _name(f"{agency}-licence-register"),
        "title": f"ทะเบียนใบอนุญาต {name['th']} / Licence register of {name['en']}",
        "notes": (f"ใบอนุญาตที่{name['th']}ออกผ่านระบบบริการอิเล็กทรอนิกส์และที่นำเข้าย้อนหลัง พร้อมสถานะปัจจุบัน "
                  f"(มีผลใช้บังคับ ถูกพักใช้ ถูกเพิกถอน สิ้นอายุ) เฉพาะข้อมูลที่นิยามบริการกำหนดให้เปิดเผย: {titles}\n\n"
                  f"Licences issued by {name['en']} through its e-Services, and historical ones entered later, "
                  "with their status now (active, suspended, revoked, expired); only the data declared public."),
        "owner_org": _name(agency),
        "author": name["th"],
        "maintainer": name["th"],
        "url": link(f"/licences/agencies/{agency}"),
        "license_id": "other-open",
        "version": _modified(register, agency)[:10],
        "private": False,
        "state": "active",
        "type": "dataset",
        "tags": [{"name": t} for t in ("licence", "register", "open-data", _name(agency))],
        "extras": [{"key": "language", "value": "th, en"},
                   {"key": "update_frequency", "value": "monthly"},
                   {"key": "modified", "value": _modified(register, agency)},
                   {"key": "dcat", "value": link(f"/licences/agencies/{agency}/dcat.jsonld")}],
        "resources": _resources(register.catalogue, agency, link),
    }
    if found.email:
        package["author_email"] = package["maintainer_email"] = found.email
    return package


def dcat_dataset(register: Register, agency: str, link: Callable[[str], str]) -> dict[str, Any]:
    """The same dataset in DCAT, as JSON-LD."""
    package = ckan_package(register, agency, link)
    found = register.catalogue.agencies[agency]
    name = values.pair(found.name)

    def both(th: str, en: str) -> list[dict[str, str]]:
        return [{"@value": th, "@language": "th"}, {"@value": en, "@language": "en"}]

    title_th, _, title_en = package["title"].partition(" / ")
    notes_th, _, notes_en = package["notes"].partition("\n\n")
    publisher: dict[str, Any] = {"@type": "foaf:Organization", "foaf:name": both(name["th"], name["en"])}
    contact: dict[str, Any] = {"@type": "vcard:Organization", "vcard:fn": name["th"]}
    if found.email:
        publisher["foaf:mbox"] = {"@id": f"mailto:{found.email}"}
        contact["vcard:hasEmail"] = {"@id": f"mailto:{found.email}"}
    return {
        "@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
                     "foaf": "http://xmlns.com/foaf/0.1/", "vcard": "http://www.w3.org/2006/vcard/ns#",
                     "xsd": "http://www.w3.org/2001/XMLSchema#"},
        "@id": package["url"],
        "@type": "dcat:Dataset",
        "dct:identifier": package["name"],
        "dct:title": both(title_th, title_en),
        "dct:description": both(notes_th, notes_en),
        "dct:publisher": publisher,
        "dcat:contactPoint": contact,
        "dcat:keyword": [t["name"] for t in package["tags"]],
        "dct:language": [{"@id": "http://id.loc.gov/vocabulary/iso639-1/th"},
                         {"@id": "http://id.loc.gov/vocabulary/iso639-1/en"}],
        "dct:modified": {"@value": _modified(register, agency), "@type": "xsd:dateTime"},
        "dct:accrualPeriodicity": {"@id": "http://purl.org/cld/freq/monthly"},
        "dcat:landingPage": {"@id": package["url"]},
        "dcat:distribution": [{
            "@type": "dcat:Distribution",
            "dct:title": r["name"],
            "dct:description": r["description"],
            "dcat:accessURL": {"@id": r["url"]},
            "dcat:downloadURL": {"@id": r["url"]},
            "dcat:mediaType": {"@id": f"https://www.iana.org/assignments/media-types/{r['mimetype']}"},
            "dct:format": r["format"],
        } for r in package["resources"]],
    }
