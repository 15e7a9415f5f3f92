"""The public service catalogue (CH-5): every service, one in detail, and the
JSON Schema of its answers.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ... import forms
from ...applications import declaration_of
from ...spec.models import FieldType
from ..catalogue import FORMAT_NAMES, PAYMENT_METHODS, fee_amount, fee_summary, office_hours_text, sla_text
from ..context import get_context
from ..convertors import matches
from .errors import ApiError
from .http import _ok, _path, _public, _text, _url

def _agency_json(agency: Any, full: bool = False) -> dict[str, Any]:
    out = {"code": agency.code, "name": _text(agency.name), "phone": agency.phone, "email": agency.email}
    if full:
        out.update(address=_text(agency.address), website=agency.website,
                   office_hours=office_hours_text(agency.office_hours))
    return out


def _documents_json(svc: Any) -> list[dict[str, Any]]:
    from ...documents import limit_bytes

    out = []
    for doc in svc.definition.documents:
        out.append({
            "id": doc.id, "title": _text(doc.title), "description": _text(doc.description),
            "formats": list(doc.formats), "format_names": [FORMAT_NAMES.get(f, f.upper()) for f in doc.formats],
            "max_size_mb": f"{Decimal(doc.max_size_mb).normalize():f}", "max_bytes": limit_bytes(doc),
            "required": bool(doc.required) and doc.when is None and doc.required_when is None,
            "conditional": doc.when is not None or doc.required_when is not None,
            "multiple": doc.multiple,
        })
    return out


def _fees_json(svc: Any) -> dict[str, Any]:
    items = []
    for fee in svc.definition.fees:
        amount = fee_amount(fee.amount)
        items.append({"id": fee.id, "title": _text(fee.title),
                      "amount": None if amount is None else f"{amount:.2f}",
                      "depends_on_answers": amount is None, "conditional": fee.when is not None,
                      "methods": [{"id": m, **PAYMENT_METHODS.get(m, {"th": m, "en": m})} for m in fee.methods],
                      "due_days": fee.due_days})
    return {"summary": fee_summary(svc), "currency": "THB", "items": items}


def service_summary(request: Request, svc: Any) -> dict[str, Any]:
    d = svc.definition
    return {
        "id": svc.id, "version": svc.version,
        "agency": _agency_json(svc.agency),
        "title": _text(d.title), "summary": _text(d.summary), "category": _text(d.category),
        "keywords": list(d.keywords),
        "fees": _fees_json(svc),
        "sla": {"working_days": d.sla.working_days, "text": sla_text(d.sla.working_days)},
        "documents": _documents_json(svc),
        "links": {
            "html": _url(request, _path(request, "service", f"/services/{svc.id}", service_id=svc.id)),
            "self": _url(request, f"/api/services/{svc.id}"),
            "schema": _url(request, f"/api/services/{svc.id}/schema"),
            "apply": _url(request, "/api/applications"),
        },
    }


def _field_json(f: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": f.id, "type": f.type.value, "label": _text(f.label),
                           "required": bool(f.required), "required_when": f.required_when, "when": f.when}
    hint = getattr(f, "hint", None)
    if hint is not None:
        out["hint"] = _text(hint)
    if f.options:
        out["options"] = [{"value": o.value, "label": _text(o.label)} for o in f.options]
    if f.type is FieldType.group:
        out["fields"] = [_field_json(c) for c in f.fields]
    return out


def service_detail(request: Request, svc: Any) -> dict[str, Any]:
    d = svc.definition
    out = service_summary(request, svc)
    out["agency"] = _agency_json(svc.agency, full=True)
    contact = d.contact
    out.update({
        "who_can_apply": _text(getattr(d, "who_can_apply", None)),
        "steps": [_text(s) for s in getattr(d, "steps", ()) or ()],
        "legal_basis": [_text(s) for s in d.legal_basis],
        "contact": None if contact is None else {"phone": contact.phone, "email": contact.email,
                                                 "office": _text(contact.office)},
        "declaration": declaration_of(svc),
        "form": [{"id": section.id, "title": _text(section.title),
                  "pages": [{"id": page.id, "title": _text(page.title), "when": page.when,
                             "fields": [_field_json(f) for f in page.fields]} for page in section.pages]}
                 for section in d.form.sections],
        "states": [{"id": s.id, "title": _text(s.title), "description": _text(s.description),
                    "final": s.final, "outcome": s.outcome} for s in d.workflow.states],
    })
    return out


def _service(request: Request) -> Any:
    service_id = request.path_params["service_id"]
    svc = get_context(request).service(service_id) if matches("slug", service_id) else None
    if svc is None:
        raise ApiError(404, "no_service", "ไม่พบบริการนี้", "no such service")
    return svc


def list_services(request: Request, body: bytes) -> Response:
    """The machine-readable service catalogue (CH-5); ``?agency=`` and ``?q=`` filter."""
    ctx = get_context(request)
    services = ctx.catalogue.current()
    agency = request.query_params.get("agency")
    if agency:
        services = [s for s in services if s.agency.code == agency]
    query = (request.query_params.get("q") or "").strip()[:200]
    if query:
        from ..catalogue import search_entries
        from ..search import search

        wanted = {h.payload.id for h in search(query, search_entries(ctx))}
        services = [s for s in services if s.id in wanted]
    items = [service_summary(request, s) for s in services]
    return _public(_ok({"count": len(items), "services": items}))


def get_service(request: Request, body: bytes) -> Response:
    return _public(_ok(service_detail(request, _service(request))))


def get_schema(request: Request, body: bytes) -> Response:
    schema = forms.submission_schema(_service(request))
    return _public(JSONResponse(schema, media_type="application/schema+json"))


