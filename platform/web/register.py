"""The public licence register on the web, and the officers' status changes
(issue #7 items 4 and 6; PL-1, PL-3, PL-4, PL-5).

Routes (names for ``url()``):

=================================================  ===========================  ================================
``GET  /licences``                                 ``register``                 every agency's register: search
                                                                                (``q``), status, paging (``page``)
``GET  /licences/agencies/{agency}``               ``register_agency``          one agency's register
``GET  /licences/services/{service_id}``           ``register_service``         one service's register
``GET  /licences/{entry_id}``                      ``register_entry``           one licence and its status history
``GET  /licences/register.{fmt}``                  ``register_export``          CSV, XLSX or JSON (same columns)
``GET  /licences/agencies/{agency}/register.{fmt}``  ``register_agency_export``
``GET  /licences/services/{service_id}/register.{fmt}``  ``register_service_export``
``GET  /licences/agencies/{agency}/ckan.json``     ``register_ckan``            CKAN ``package_create`` fields
``GET  /licences/agencies/{agency}/dcat.jsonld``   ``register_dcat``            the dataset in DCAT (JSON-LD)
``GET  /officer/licences/{entry_id}``              ``officer_licence``          the licence for its officers:
                                                                                history with reasons, actions
``POST /officer/licences/{entry_id}/status``       ``officer_licence_status``   suspend, lift, revoke (a reason)
=================================================  ===========================  ================================

(``/register`` is the account sign-up page, so the register lives at ``/licences``.)

The public pages need no sign-in and show, per licence, its number, kind,
status, dates and exactly the fields its definition lists under ``register``
— never anything else of the application (PL-1).  The reasons for a
suspension or revocation and who decided are for officers only.

Suspending, lifting a suspension and revoking are built-in officer actions on
the licence, not workflow transitions: the application is closed once the
licence is issued, and a definition's workflow has no step on an issued
licence.  They are open to the agency's ``signing_authority`` and
``head_of_agency`` (``change_licence_status`` in :mod:`eservice.policy`),
need a reason, check the version the officer saw, and are recorded in the
audit chain (:mod:`eservice.audit`).
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..engine import EngineError
from ..policy import allowed
from ..register import ACTIONS, STATUS_TEXT, STATUSES, Register
from ..register.exports import FORMATS, ckan_package, dcat_dataset, export
from ..renderers.html import render
from ..settings import public_url
from . import deps
from .context import get_context

__all__ = ["register_of", "routes"]

PER_PAGE = 20
FLASH = "register_flash"
_ENTRY = re.compile(r"^lic-[0-9a-f]{24}$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
MAX_QUERY = 200


def register_of(request: Request) -> Register:
    """The register of this app (kept per process)."""
    ctx = get_context(request)
    found = ctx.extra.get("register")
    if found is None:
        found = ctx.extra["register"] = Register(ctx.store, ctx.catalogue, ctx.clock)
    return found


def _audit_log(request: Request) -> Any:
    """The platform's audit chain (the same object the officers' pages use)."""
    ctx = get_context(request)
    found = ctx.extra.get("audit_log")
    if found is None:
        from ..audit import AuditLog

        found = ctx.extra["audit_log"] = AuditLog(ctx.settings.data, ctx.clock)
    return found


def _agency(request: Request) -> Any:
    code = request.path_params["agency"]
    found = get_context(request).catalogue.agencies.get(code) if _CODE.match(code or "") else None
    if found is None:
        raise HTTPException(404)
    return found


def _service(request: Request) -> Any:
    service_id = request.path_params["service_id"]
    found = get_context(request).catalogue.latest(service_id) if _CODE.match(service_id or "") else None
    if found is None or not found.definition.outputs.licences:
        raise HTTPException(404)
    return found


def _entry(request: Request) -> dict[str, Any]:
    key = request.path_params["entry_id"]
    found = register_of(request).get(key) if _ENTRY.match(key or "") else None
    if found is None:
        raise HTTPException(404)
    return found


def _scopes(request: Request) -> list[dict[str, Any]]:
    """Every agency that issues licences, with its services that do."""
    catalogue = get_context(request).catalogue
    out = []
    for code, agency in catalogue.agencies.items():
        services = [s for s in catalogue.of_agency(code) if s.definition.outputs.licences]
        if services:
            out.append({"agency": agency, "services": services})
    return out


# ------------------------------------------------------------------ public pages
async def _listing(request: Request, *, agency: Any = None, service: Any = None) -> Response:
    params = request.query_params
    query = (params.get("q") or "").strip()[:MAX_QUERY]
    status = params.get("status") or ""
    status = status if status in STATUSES else ""
    try:
        page_no = max(1, int(params.get("page") or 1))
    except ValueError:
        page_no = 1
    register = register_of(request)
    found = await run_in_threadpool(
        register.search, agency=agency.code if agency is not None else None,
        service=service.id if service is not None else None, query=query, status=status, page=page_no,
        per_page=PER_PAGE)

    def link(**changes: Any) -> str:
        values = {"q": query, "status": status, "page": found.page, **changes}
        return "?" + urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})

    if service is not None:
        downloads = {fmt: request.app.url_path_for("register_service_export", service_id=service.id, fmt=fmt)
                     for fmt in FORMATS}
    elif agency is not None:
        downloads = {fmt: request.app.url_path_for("register_agency_export", agency=agency.code, fmt=fmt)
                     for fmt in FORMATS}
    else:
        downloads = {fmt: request.app.url_path_for("register_export", fmt=fmt) for fmt in FORMATS}
    return render(request, "register/list.html", agency=agency, service=service, found=found, query=query,
                  status=status, statuses=STATUS_TEXT, link=link, downloads=downloads,
                  scopes=_scopes(request) if service is None else [],
                  services=[s for s in get_context(request).catalogue.of_agency(agency.code)
                            if s.definition.outputs.licences] if agency is not None and service is None else [])


async def index(request: Request) -> Response:
    return await _listing(request)


async def agency_page(request: Request) -> Response:
    return await _listing(request, agency=_agency(request))


async def service_page(request: Request) -> Response:
    service = _service(request)
    return await _listing(request, agency=service.agency, service=service)


async def entry_page(request: Request) -> Response:
    entry = await run_in_threadpool(_entry, request)
    ctx = get_context(request)
    actor = deps.current_actor(request) if deps.current_user(request) is not None else None
    may_change = actor is not None and allowed(actor, "change_licence_status", agency=entry["agency"],
                                               service=entry["service"])
    return render(request, "register/entry.html", entry=entry, statuses=STATUS_TEXT,
                  agency=ctx.catalogue.agencies.get(entry["agency"]),
                  service=ctx.catalogue.latest(entry["service"]), may_change=may_change)


# ------------------------------------------------------------------ exports (PL-3)
def _download(data: bytes, fmt: str, name: str) -> Response:
    suffix, media = FORMATS[fmt]
    media = f"{media}; charset=utf-8" if fmt in ("csv", "json") else media
    return Response(data, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}.{suffix}"', "X-Content-Type-Options": "nosniff"})


def _format(request: Request) -> str:
    fmt = request.path_params["fmt"]
    if fmt not in FORMATS:
        raise HTTPException(404)
    return fmt


async def export_all(request: Request) -> Response:
    fmt = _format(request)
    data = await run_in_threadpool(export, register_of(request), fmt)
    return _download(data, fmt, "licence-register")


async def export_agency(request: Request) -> Response:
    fmt, agency = _format(request), _agency(request)
    data = await run_in_threadpool(export, register_of(request), fmt, agency=agency.code)
    return _download(data, fmt, f"licence-register-{agency.code}")


async def export_service(request: Request) -> Response:
    fmt, service = _format(request), _service(request)
    data = await run_in_threadpool(export, register_of(request), fmt, service=service.id)
    return _download(data, fmt, f"licence-register-{service.id}")


def _link(request: Request):
    settings = get_context(request).settings
    return lambda path: public_url(settings, None, path)


async def ckan(request: Request) -> Response:
    agency = _agency(request)
    body = await run_in_threadpool(ckan_package, register_of(request), agency.code, _link(request))
    return JSONResponse(body)


async def dcat(request: Request) -> Response:
    agency = _agency(request)
    body = await run_in_threadpool(dcat_dataset, register_of(request), agency.code, _link(request))
    return JSONResponse(body, media_type="application/ld+json")


# ------------------------------------------------------------------ officers (PL-4)
def _officer_entry(request: Request) -> tuple[Any, dict[str, Any]] | Response:
    if deps.current_user(request) is None:
        return deps.login_redirect(request)
    actor = deps.current_actor(request)
    entry = _entry(request)
    if not allowed(actor, "change_licence_status", agency=entry["agency"], service=entry["service"]):
        raise HTTPException(404)  # like a licence that does not exist: nothing to probe
    return actor, entry


def _actions(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": action, "th": th, "en": en, "to": to} for action, (froms, to, th, en) in ACTIONS.items()
            if entry["status"] in froms]


def _officer_page(request: Request, entry: dict[str, Any], *, status_code: int = 200, error: Any = None,
                  form: str = "", reason: str = "") -> Response:
    ctx = get_context(request)
    return render(request, "register/officer.html", status_code=status_code, entry=entry, statuses=STATUS_TEXT,
                  agency=ctx.catalogue.agencies.get(entry["agency"]), actions=_actions(entry), error=error,
                  form=form, reason=reason, flash=request.session.pop(FLASH, None))


async def officer_licence(request: Request) -> Response:
    found = await run_in_threadpool(_officer_entry, request)
    if isinstance(found, Response):
        return found
    return _officer_page(request, found[1])


async def officer_status(request: Request) -> Response:
    found = await run_in_threadpool(_officer_entry, request)
    if isinstance(found, Response):
        return found
    actor, entry = found
    form = await request.form()
    action = str(form.get("action") or "")
    reason = str(form.get("reason") or "")
    try:
        expected = int(str(form.get("expected_version") or ""))
    except ValueError:
        raise HTTPException(400) from None
    if action not in ACTIONS:
        raise HTTPException(400)
    from ..store import ConflictError

    try:
        saved = await run_in_threadpool(register_of(request).change_status, entry["id"], action, actor, reason,
                                        expected_version=expected, audit=_audit_log(request))
    except ConflictError:
        fresh = register_of(request).get(entry["id"]) or entry
        error = {"th": "มีผู้อื่นเปลี่ยนสถานะใบอนุญาตนี้ก่อน ตรวจสถานะปัจจุบันแล้วลองอีกครั้ง",
                 "en": "Someone else changed this licence first; check its status now and try again"}
        return _officer_page(request, fresh, status_code=409, error=error, form=action, reason=reason)
    except EngineError as exc:
        return _officer_page(request, entry, status_code=exc.status if exc.status in (404, 409, 422) else 400,
                             error={"th": exc.th, "en": exc.en, "field": exc.details.get("input")},
                             form=action, reason=reason)
    from ..register.notify import notify_holder  # the holder hears of it, with the reason (PL-4)

    await run_in_threadpool(notify_holder, get_context(request), saved, action, reason.strip())
    shown = STATUS_TEXT[saved["status"]]
    request.session[FLASH] = {"th": f"ใบอนุญาตเลขที่ {saved['number']} {shown['th']}แล้ว",
                              "en": f"Licence {saved['number']} is now {shown['en'].lower()}"}
    return RedirectResponse(request.app.url_path_for("officer_licence", entry_id=saved["id"]), status_code=303)


routes = [
    Route("/licences", index, name="register"),
    Route("/licences/register.{fmt}", export_all, name="register_export"),
    Route("/licences/agencies/{agency}", agency_page, name="register_agency"),
    Route("/licences/agencies/{agency}/register.{fmt}", export_agency, name="register_agency_export"),
    Route("/licences/agencies/{agency}/ckan.json", ckan, name="register_ckan"),
    Route("/licences/agencies/{agency}/dcat.jsonld", dcat, name="register_dcat"),
    Route("/licences/services/{service_id}", service_page, name="register_service"),
    Route("/licences/services/{service_id}/register.{fmt}", export_service, name="register_service_export"),
    Route("/licences/{entry_id}", entry_page, name="register_entry"),
    Route("/officer/licences/{entry_id}", officer_licence, name="officer_licence"),
    Route("/officer/licences/{entry_id}/status", officer_status, name="officer_licence_status", methods=["POST"]),
]
