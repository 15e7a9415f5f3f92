"""The public catalogue: landing page, search, service pages, agencies (A-S1..A-S3).

Routes (their names, for ``url()`` in templates and ``request.url_for``):

======================================  ==================  ===========================
``/``                                   ``home``            every current service, by agency
                                                            (``?agency=`` and ``?category=`` filter)
``/search?q=``                          ``search``          search in Thai or English (A-S2)
``/services/{service_id}``              ``service``         who, steps, documents, fees, time,
                                                            legal basis, contacts (A-S3)
``/services/{service_id}/samples/{document_id}``
                                        ``service_sample``  a document's sample file
``/agencies/{code}``                    ``agency``          an agency, its contacts and services
``/healthz``                            ``healthz``         ``{"ok": true}``
======================================  ==================  ===========================

Nothing here knows a particular service: every page is driven by the loaded
definitions.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from ..renderers.html import render
from .context import AppContext, get_context
from .convertors import matches
from .search import Entry, search

__all__ = ["routes", "fee_summary", "fee_amount", "sla_text", "office_hours_text", "search_entries",
           "sample_path"]

_PLAIN_NUMBER = re.compile(r"^\s*\d+(\.\d+)?\s*$")

PAYMENT_METHODS = {
    "promptpay": {"th": "พร้อมเพย์ (QR)", "en": "PromptPay (QR)"},
    "card": {"th": "บัตรเครดิต/เดบิต", "en": "Credit or debit card"},
    "bank_transfer": {"th": "โอนเงินผ่านธนาคาร", "en": "Bank transfer"},
    "counter": {"th": "ชำระที่เคาน์เตอร์", "en": "At a counter"},
    "cheque": {"th": "เช็ค", "en": "Cheque"},
    "cash": {"th": "เงินสด ณ หน่วยงาน", "en": "Cash at the office"},
}
FORMAT_NAMES = {"jpeg": "JPEG", "pdf": "PDF", "png": "PNG", "tiff": "TIFF", "bmp": "BMP",
                "doc": "DOC", "docx": "DOCX", "txt": "TXT"}
DAY_NAMES = {
    "mon": {"th": "จันทร์", "en": "Monday"}, "tue": {"th": "อังคาร", "en": "Tuesday"},
    "wed": {"th": "พุธ", "en": "Wednesday"}, "thu": {"th": "พฤหัสบดี", "en": "Thursday"},
    "fri": {"th": "ศุกร์", "en": "Friday"}, "sat": {"th": "เสาร์", "en": "Saturday"},
    "sun": {"th": "อาทิตย์", "en": "Sunday"},
}
# Sample files: served inline only for types a browser shows safely.
SAMPLE_TYPES = {
    ".pdf": ("application/pdf", True), ".png": ("image/png", True), ".jpg": ("image/jpeg", True),
    ".jpeg": ("image/jpeg", True), ".txt": ("text/plain; charset=utf-8", True),
    ".tif": ("image/tiff", False), ".tiff": ("image/tiff", False), ".bmp": ("image/bmp", False),
    ".doc": ("application/msword", False),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", False),
}


# ------------------------------------------------------------------ summaries
def fee_amount(expression: str) -> Decimal | None:
    """The amount of a fee whose expression is a plain number, else None."""
    if not _PLAIN_NUMBER.match(expression or ""):
        return None
    try:
        return Decimal(expression.strip())
    except InvalidOperation:  # pragma: no cover - the pattern already checked
        return None


def _money(amount: Decimal) -> dict[str, str]:
    from ..renderers.html import format_money
    return {"th": format_money(amount, "th"), "en": format_money(amount, "en")}


def fee_summary(service: Any) -> dict[str, str]:
    """One line about what the service costs, ``{th, en}``."""
    fees = service.definition.fees
    if not fees:
        return {"th": "ไม่มีค่าธรรมเนียม", "en": "No fee"}
    amounts = [fee_amount(f.amount) for f in fees]
    if all(a is not None for a in amounts):
        total = sum(amounts, Decimal(0))
        if total == 0:
            return {"th": "ไม่มีค่าธรรมเนียม", "en": "No fee"}
        shown = _money(total)
        if any(f.when for f in fees):
            return {"th": f"ตามกรณี ไม่เกิน {shown['th']}", "en": f"Depends on your case, up to {shown['en']}"}
        return shown
    return {"th": "ตามข้อมูลในคำขอ", "en": "Depends on your answers"}


def sla_text(working_days: int) -> dict[str, str]:
    if working_days <= 0:
        return {"th": "ภายในวันทำการเดียวกัน", "en": "The same working day"}
    plural = "" if working_days == 1 else "s"
    return {"th": f"{working_days} วันทำการ", "en": f"{working_days} working day{plural}"}


_DAY_ORDER = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def office_hours_text(hours: Any) -> dict[str, str]:
    """``จันทร์–ศุกร์ 08:30–16:30 น.`` / ``Monday–Friday 08:30–16:30``."""
    days = sorted(hours.days, key=_DAY_ORDER.index)
    runs: list[list[str]] = []
    for day in days:
        if runs and _DAY_ORDER.index(day) == _DAY_ORDER.index(runs[-1][-1]) + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    out = {}
    for lang in ("th", "en"):
        parts = []
        for run in runs:
            first, last = DAY_NAMES[run[0]][lang], DAY_NAMES[run[-1]][lang]
            if len(run) == 1:
                parts.append(first)
            elif len(run) == 2:
                parts.append(f"{first}, {last}")
            else:
                parts.append(f"{first}–{last}")
        when = ", ".join(parts)
        suffix = " น." if lang == "th" else ""
        out[lang] = f"{when} {hours.start}–{hours.end}{suffix}"
    return out


def _texts(*values: Any) -> list[str]:
    out: list[str] = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, str):
            out.append(value)
        elif hasattr(value, "th"):
            out.extend(x for x in (value.th, value.en) if x)
        elif isinstance(value, (list, tuple)):
            out.extend(_texts(*value))
    return out


def search_entries(ctx: AppContext) -> list[Entry]:
    """Search entries for the current services (built once per process)."""
    cached = ctx.extra.get("search_entries")
    if cached is None:
        cached = []
        for order, svc in enumerate(ctx.catalogue.current()):
            d = svc.definition
            cached.append(Entry(
                key=svc.id, order=order, payload=svc,
                fields={
                    "title": _texts(d.title),
                    "keywords": _texts(list(d.keywords)),
                    "summary": _texts(d.summary),
                    "category": _texts(d.category),
                    "agency": _texts(svc.agency.name, svc.agency.code),
                }))
        ctx.extra["search_entries"] = cached
    return cached


def sample_path(service: Any, document_id: str, roots: tuple[Path, ...] = ()) -> Path | None:
    """The sample file of a declared document, only if it lies inside the service's
    folder or one of the definition roots (no path traversal), else None."""
    if not matches("ident", document_id):
        return None
    doc = next((d for d in service.definition.documents if d.id == document_id), None)
    if doc is None or not doc.sample:
        return None
    base = Path(service.file).resolve().parent
    target = (base / doc.sample).resolve()
    allowed = [base, *(Path(r).resolve() for r in roots)]
    if not any(target == a or a in target.parents for a in allowed if a.is_dir()):
        return None
    return target if target.is_file() else None


# ------------------------------------------------------------------ views
def _card(svc: Any) -> dict[str, Any]:
    return {"service": svc, "fee": fee_summary(svc), "time": sla_text(svc.definition.sla.working_days)}


async def home(request: Request) -> Response:
    """A-S1: every current service of every agency, with a short description."""
    ctx = get_context(request)
    services = ctx.catalogue.current()
    agency_filter = request.query_params.get("agency") or ""
    category_filter = request.query_params.get("category") or ""
    categories: OrderedDict[str, Any] = OrderedDict()
    for svc in services:
        categories.setdefault(svc.definition.category.th, svc.definition.category)
    shown = [s for s in services
             if (not agency_filter or s.agency.code == agency_filter)
             and (not category_filter or s.definition.category.th == category_filter)]
    groups: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for svc in shown:
        group = groups.setdefault(svc.agency.code, {"agency": svc.agency, "cards": []})
        group["cards"].append(_card(svc))
    return render(request, "catalogue/home.html", groups=list(groups.values()), total=len(services),
                  shown=len(shown), agencies=list(ctx.catalogue.agencies.values()),
                  categories=sorted(categories.values(), key=lambda c: c.th),
                  agency_filter=agency_filter, category_filter=category_filter)


async def search_page(request: Request) -> Response:
    """A-S2: search by partial words, in Thai or English, with or without spaces."""
    ctx = get_context(request)
    query = (request.query_params.get("q") or "").strip()[:200]
    hits = search(query, search_entries(ctx)) if query else []
    return render(request, "catalogue/search.html", query=query,
                  results=[dict(_card(h.payload), matched=h.fields) for h in hits])


def _service_or_404(ctx: AppContext, service_id: str) -> Any:
    svc = ctx.service(service_id)
    if svc is None:
        raise HTTPException(404)
    return svc


async def service_page(request: Request) -> Response:
    """A-S1, A-S3: everything an applicant needs to know before starting."""
    ctx = get_context(request)
    svc = _service_or_404(ctx, request.path_params["service_id"])
    d = svc.definition
    fees = [{"fee": f, "amount": fee_amount(f.amount),
             "methods": [PAYMENT_METHODS.get(m, {"th": m, "en": m}) for m in f.methods]} for f in d.fees]
    documents = [{"doc": doc, "formats": [FORMAT_NAMES.get(f, f.upper()) for f in doc.formats],
                  "max_size": f"{doc.max_size_mb.normalize():f}",
                  "has_sample": sample_path(svc, doc.id, ctx.settings.definitions) is not None}
                 for doc in d.documents]
    contact = d.contact
    service_contact = None
    if contact is not None:
        # The service's own contact, without repeating what the agency box shows.
        service_contact = {
            "phone": contact.phone if contact.phone != svc.agency.phone else None,
            "email": contact.email if contact.email != svc.agency.email else None,
            "office": contact.office,
        }
        if not any(service_contact.values()):
            service_contact = None
    return render(request, "catalogue/service.html", service=svc, d=d, agency=svc.agency,
                  service_contact=service_contact, closed=svc.id in ctx.catalogue.closed,
                  fees=fees, documents=documents, fee=fee_summary(svc), time=sla_text(d.sla.working_days),
                  office_hours=office_hours_text(svc.agency.office_hours))


async def service_sample(request: Request) -> Response:
    ctx = get_context(request)
    svc = _service_or_404(ctx, request.path_params["service_id"])
    path = sample_path(svc, request.path_params["document_id"], ctx.settings.definitions)
    if path is None:
        raise HTTPException(404)
    media_type, inline = SAMPLE_TYPES.get(path.suffix.lower(), ("application/octet-stream", False))
    return FileResponse(path, media_type=media_type, filename=path.name,
                        content_disposition_type="inline" if inline else "attachment")


async def agency_page(request: Request) -> Response:
    ctx = get_context(request)
    agency = ctx.catalogue.agencies.get(request.path_params["code"])
    if agency is None:
        raise HTTPException(404)
    from .announcements import agency_announcements  # the head's signed announcements (CH-2)

    return render(request, "catalogue/agency.html", agency=agency,
                  cards=[_card(s) for s in ctx.catalogue.of_agency(agency.code)],
                  office_hours=office_hours_text(agency.office_hours),
                  announcements=await run_in_threadpool(agency_announcements, request, agency.code))


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


routes = [
    Route("/", home, name="home"),
    Route("/search", search_page, name="search"),
    Route("/services/{service_id:slug}", service_page, name="service"),
    Route("/services/{service_id:slug}/samples/{document_id:ident}", service_sample, name="service_sample"),
    Route("/agencies/{code:slug}", agency_page, name="agency"),
    Route("/healthz", healthz, name="healthz"),
]
