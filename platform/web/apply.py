"""Applying: the e-Form, documents, check answers, signature and acknowledgement
(issue #3 items 3–6; A-F1…A-F10, A-F2 prefill, RC-1, RC-3, PR-4, PR-6, PR-7).

Every page is generated from the service definition; nothing here knows a
particular service.  Works without JavaScript: every action is a form post
(``forms.js`` only adds the address cascade and instant show/hide).

Routes (names for ``url()``):

===============================================  ======================  =============================
``/apply/{service_id}`` GET/POST                 ``apply``               GET: start page (drafts to resume);
                                                                         POST: create a draft
``/applications/{app_id}`` GET                   ``application``         task list of a draft
``/applications/{app_id}/pages/{page_id}``       ``application_page``    one page of the e-Form
``/applications/{app_id}/check`` GET/POST        ``application_check``   every answer; sign and submit
``/applications/{app_id}/submitted``             ``application_submitted``  acknowledgement (RC-3, A-F10)
``/applications/{app_id}/summary.pdf``           ``application_summary_pdf``  PDF of what was submitted
===============================================  ======================  =============================

The documents page and the attached files are in :mod:`eservice.web.attachments`.
Another person's application answers 404, never 403, so ids cannot be probed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .. import forms
from ..applications import declaration_of
from ..engine import EngineError
from ..events import canonical_json
from ..renderers.html import render
from ..profiles import plugin_prefill
from ..spec.models import FieldType
from .context import get_context, public_url
from .deps import accounts, actor_for, applications, current_user, engine, login_redirect
from .i18n import get_lang, pick
from .widgets import (answer_rows, build_page, combine_dates, dedupe_errors, html_id, prefill_values,
                      remove_item)

__all__ = ["routes", "declaration_digest", "section_status", "document_rows", "load_own"]

log = logging.getLogger("eservice.web.apply")

RETURN_TARGETS = ("check", "tasks", "status")


# ------------------------------------------------------------------ helpers
def declaration_digest(service: Any) -> str:
    """SHA-256 of the declaration text exactly as the check page shows it (A-F8)."""
    return hashlib.sha256(canonical_json(declaration_of(service))).hexdigest()


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _q(**params: Any) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return f"?{urlencode(clean)}" if clean else ""


def app_url(app_id: str, tail: str = "") -> str:
    return f"/applications/{quote(app_id)}{tail}"


def page_url(app_id: str, page_id: str, **params: Any) -> str:
    return app_url(app_id, f"/pages/{page_id}") + _q(**params)


def load_own(request: Request, app_id: str) -> tuple[dict, Any, Any]:
    """(record, service, actor) of the signed-in applicant's own application, else 404."""
    user = current_user(request)
    actor = actor_for(user, request)
    try:
        record = applications(request).get(app_id, actor, "view_own")
    except EngineError as exc:
        raise HTTPException(404) from exc
    service = get_context(request).catalogue.get(record["service"], record["service_version"])
    if service is None:
        raise HTTPException(409, detail=pick(get_lang(request), "ไม่พบนิยามบริการฉบับที่คำขอนี้ใช้",
                                             "The service version of this application is not loaded"))
    return record, service, actor


def is_editable(record: Mapping[str, Any], service: Any) -> bool:
    """Whether the applicant may change answers and documents now."""
    if record.get("state") == "draft":
        return True
    state = service.states.get(record.get("state"))
    return bool(state and state.editable_by_applicant and not record.get("closed"))


def _env(request: Request, record: Mapping[str, Any]):
    return applications(request).env(record)


def _evaluation(request: Request, service: Any, record: Mapping[str, Any]) -> forms.Evaluation:
    env = _env(request, record)
    return forms.Evaluation(service, forms.clean(service, record.get("answers", {}), env), env)


def _visible(request: Request, service: Any, record: Mapping[str, Any]) -> list:
    return forms.visible_pages(service, record.get("answers", {}), _env(request, record))


def _multi(service: Any) -> bool:
    return len(service.definition.form.sections) > 1


def _page(service: Any, page_id: str):
    for section, page in forms.pages(service):
        if page.id == page_id:
            return section, page
    raise HTTPException(404)


def _page_of_field(service: Any) -> dict[str, str]:
    return {f.id: page.id for _, page in forms.pages(service) for f in page.fields}


def _return_to(value: Any) -> str | None:
    return value if value in RETURN_TARGETS else None


def _return_url(record: Mapping[str, Any], target: str | None) -> str | None:
    if target == "check":
        return app_url(record["id"], "/check")
    if target == "tasks":
        return app_url(record["id"])
    if target == "status":
        return app_url(record["id"], "/status")
    return None


def entry_url(request: Request, record: Mapping[str, Any], service: Any) -> str:
    """Where a (new or resumed) draft starts: the task list, or the first page."""
    if _multi(service):
        return app_url(record["id"])
    visible = _visible(request, service, record)
    return page_url(record["id"], visible[0][1].id) if visible else app_url(record["id"], "/check")


def _after_pages_url(request: Request, record: Mapping[str, Any]) -> str:
    if record.get("state") != "draft":
        return app_url(record["id"], "/status")
    if applications(request).applicable_documents(record):
        return app_url(record["id"], "/documents")
    return app_url(record["id"], "/check")


def next_url(request: Request, record: Mapping[str, Any], service: Any, page_id: str) -> str:
    """The next visible page; at the end of a section the task list (several
    sections), at the end of the form the documents or the check page."""
    visible = _visible(request, service, record)
    ids = [p.id for _, p in visible]
    if record.get("state") != "draft":
        if page_id in ids and ids.index(page_id) + 1 < len(ids):
            return page_url(record["id"], ids[ids.index(page_id) + 1], **{"return": "status"})
        return app_url(record["id"], "/check")
    if page_id not in ids:
        return app_url(record["id"])
    index = ids.index(page_id)
    section = visible[index][0]
    if index + 1 < len(visible):
        next_section, next_page = visible[index + 1]
        if not _multi(service) or next_section.id == section.id:
            return page_url(record["id"], next_page.id)
    if _multi(service):
        return app_url(record["id"])
    return _after_pages_url(request, record)


def _back_url(request: Request, record: Mapping[str, Any], service: Any, page_id: str,
              return_to: str | None) -> str:
    if return_to:
        return _return_url(record, return_to) or app_url(record["id"])
    visible = _visible(request, service, record)
    ids = [p.id for _, p in visible]
    if page_id in ids and ids.index(page_id) > 0:
        index = ids.index(page_id)
        if not _multi(service) or visible[index - 1][0].id == visible[index][0].id:
            return page_url(record["id"], ids[index - 1])
    if record.get("state") != "draft":
        return app_url(record["id"], "/status")
    return app_url(record["id"])


def _profile_prefill(request: Request, fields: Any = ()) -> dict[str, Any]:
    """``{"profile": …}`` and, for the plugin sources *fields* name, their answers (A-F2)."""
    user = current_user(request)
    if user is None:
        return {}
    try:
        out: dict[str, Any] = {"profile": accounts(request).prefill_profile(user)}
    except Exception:  # the accounts module may not offer prefill: nothing to offer
        out = {}
    wanted: dict[str, set[str]] = {}
    for f in fields:
        if f.prefill:
            source, _, key = f.prefill.partition(".")
            wanted.setdefault(source, set()).add(key)
    out.update(plugin_prefill(user, wanted))
    return out


def service_contact(service: Any) -> dict[str, Any]:
    """The phone and e-mail to show (RC-3): the service's own, and the agency's registry."""
    agency = service.agency
    contact = service.definition.contact
    return {"agency": agency, "agency_phone": agency.phone, "agency_email": agency.email,
            "service_phone": contact.phone if contact else None,
            "service_email": contact.email if contact else None,
            "office": contact.office if contact else None}


# ------------------------------------------------------------------ start (A-F1, A-F2, A-F5)
async def apply_start(request: Request) -> Response:
    user = current_user(request)
    if user is None:
        return login_redirect(request)
    ctx = get_context(request)
    service = ctx.catalogue.latest(request.path_params["service_id"])
    if service is None:
        raise HTTPException(404)
    actor = actor_for(user, request)
    apps = applications(request)
    if request.method == "POST":  # only a POST (CSRF-checked) makes a draft, never a GET
        try:
            record = apps.start(service.id, actor, prefill=_profile_prefill(request, service.fields.values()))
        except EngineError as exc:
            raise HTTPException(exc.status, detail=exc.text(get_lang(request))) from exc
        return see_other(entry_url(request, record, service))
    # GET shows a start page (with the drafts to resume): a prefetcher or a link from
    # another site must not create drafts.
    drafts = [s for s in apps.of_applicant(actor) if s.get("service") == service.id and s.get("state") == "draft"]
    return render(request, "apply/start.html", service=service, drafts=drafts)


# ------------------------------------------------------------------ one page (A-F1, A-F3, A-F5, A-F6)
def _render_page(request: Request, record: dict, service: Any, page_id: str, *,
                 errors: list | tuple = (), add_to: Mapping[str, int] | None = None, return_to: str | None = None,
                 status_code: int = 200) -> Response:
    lang = get_lang(request)
    section, page = _page(service, page_id)
    ev = _evaluation(request, service, record)
    answers = dict(record.get("answers", {}))
    answers.update(prefill_values(page, answers, _profile_prefill(request, page.fields)))
    widgets, summary = build_page(page, answers, lang, errors=errors, ev=ev, add_to=add_to)
    provinces = address_lists(None)["province"] if _attach_address_lists(widgets) else []
    visible = _visible(request, service, record)
    ids = [p.id for _, p in visible]
    position = (ids.index(page_id) + 1, len(ids)) if page_id in ids else None
    return render(request, "apply/page.html", status_code=status_code, record=record, service=service,
                  section=section, page=page, widgets=widgets, errors=summary, return_to=return_to,
                  multi=_multi(service), position=position, provinces=provinces,
                  back_url=_back_url(request, record, service, page_id, return_to),
                  action_url=page_url(record["id"], page_id))


async def application_page(request: Request) -> Response:
    if current_user(request) is None:
        return login_redirect(request)
    app_id, page_id = request.path_params["app_id"], request.path_params["page_id"]
    record, service, actor = load_own(request, app_id)
    _page(service, page_id)  # 404 for a page the form does not have
    lang = get_lang(request)
    if not is_editable(record, service):
        if request.method == "POST":
            raise HTTPException(409, detail=pick(lang, "คำขอนี้ยื่นแล้ว แก้ไขไม่ได้",
                                                 "This application has been submitted and cannot be changed"))
        return see_other(app_url(app_id, "/status"))
    if request.method == "GET":
        return_to = _return_to(request.query_params.get("return"))
        if page_id not in [p.id for _, p in _visible(request, service, record)]:
            return see_other(app_url(app_id) if record["state"] == "draft" else app_url(app_id, "/status"))
        errors: list = []
        if request.query_params.get("errors"):
            env = _env(request, record)
            _, errors = forms.validate(service, record.get("answers", {}), env, only_pages=[page_id])
        add = request.query_params.get("add")
        blanks = request.query_params.get("blanks") or "1"
        add_to = {add: min(int(blanks), 20) if blanks.isdigit() else 1} if add else {}
        return _render_page(request, record, service, page_id, errors=errors, add_to=add_to,
                            return_to=return_to)

    form = await request.form()
    return_to = _return_to(form.get("return"))
    action = str(form.get("action") or "continue")
    pairs = combine_dates(form.multi_items())
    _, page = _page(service, page_id)
    groups = {f.id: f for f in page.fields if f.type is FieldType.group}
    removing = None
    if action.startswith("remove_item:"):
        _, group, index = (action.split(":") + ["", ""])[:3]
        if group in groups and index.isdigit():
            removing = group
            pairs = remove_item(pairs, group, int(index))
    answers, parse_errors = forms.parse_page(page, FormData(pairs))
    try:
        record, errors = applications(request).save_page(app_id, actor, page_id, answers)
    except EngineError as exc:
        if exc.status == 404:
            raise HTTPException(404) from exc
        raise HTTPException(exc.status, detail=exc.text(lang)) from exc
    extra = {"return": return_to} if return_to else {}
    if action.startswith("add_item:"):
        group = action.split(":", 1)[1]
        if group in groups:
            saved = len(record["answers"].get(group) or [])
            posted = {k.split(".")[1] for k, _ in pairs if k.startswith(f"{group}.") and k.count(".") >= 2}
            blanks = max(0, len(posted) - saved) + 1  # keep the empty items on screen, and one more
            return see_other(page_url(app_id, page_id, add=group, blanks=blanks, **extra)
                             + f"#{html_id(group)}-{saved + blanks - 1}")
    if removing:
        return see_other(page_url(app_id, page_id, **extra) + f"#{html_id(removing)}")
    if action == "later":
        if record["state"] == "draft":
            return see_other(app_url(app_id) + "?saved=1")
        return see_other(app_url(app_id, "/status"))
    problems = dedupe_errors([*parse_errors, *errors])
    if problems:
        return _render_page(request, record, service, page_id, errors=problems, return_to=return_to,
                            status_code=422)
    return see_other(_return_url(record, return_to) or next_url(request, record, service, page_id))


# ------------------------------------------------------------------ task list
def section_status(request: Request, record: Mapping[str, Any], service: Any) -> list[dict]:
    """Each section: its status (not_started / in_progress / completed) and where to go."""
    env = _env(request, record)
    answers = record.get("answers", {})
    visible = forms.visible_pages(service, answers, env)
    out = []
    for section in service.definition.form.sections:
        pages = [p for s, p in visible if s.id == section.id]
        if not pages:
            continue
        ids = [p.id for p in pages]
        _, errors = forms.validate(service, answers, env, only_pages=ids)
        # answers the profile prefilled do not count as the applicant having started
        typed = {f.id for p in pages for f in p.fields if not f.prefill}
        started = any(k in answers for k in typed) or record.get("current_page") in ids
        if not errors:
            status = "completed"
        elif started:
            status = "in_progress"
        else:
            status = "not_started"
        field_page = {f.id: p.id for p in pages for f in p.fields}
        first_error_page = next((field_page.get(re.split(r"[\[.]", e.path)[0]) for e in errors), None)
        target = first_error_page or ids[0]
        out.append({"section": section, "status": status, "pages": pages, "errors": len(errors),
                    "url": page_url(record["id"], target)})
    return out


def document_rows(request: Request, record: Mapping[str, Any], service: Any) -> list[dict]:
    """The applicable documents with whether each is needed now and what is attached."""
    ev = _evaluation(request, service, record)
    attached = record.get("documents", {})
    rows = []
    for doc in applications(request).applicable_documents(record):
        needed = doc.required if doc.required_when is None else ev.holds(doc.required_when)
        rows.append({"doc": doc, "needed": bool(needed), "files": attached.get(doc.id, []),
                     "anchor": f"doc-{doc.id}"})
    return rows


async def task_list(request: Request) -> Response:
    if current_user(request) is None:
        return login_redirect(request)
    record, service, _ = load_own(request, request.path_params["app_id"])
    if record["state"] != "draft":
        return see_other(app_url(record["id"], "/status"))
    sections = section_status(request, record, service)
    docs = document_rows(request, record, service)
    missing = [d for d in docs if d["needed"] and not d["files"]]
    if not docs:
        docs_status = None
    elif not missing:
        docs_status = "completed"
    elif any(d["files"] for d in docs):
        docs_status = "in_progress"
    else:
        docs_status = "not_started"
    ready = all(s["status"] == "completed" for s in sections) and not missing
    return render(request, "apply/tasks.html", record=record, service=service, sections=sections,
                  docs_status=docs_status, ready=ready, saved=bool(request.query_params.get("saved")),
                  done=sum(1 for s in sections if s["status"] == "completed") + (docs_status == "completed"),
                  total=len(sections) + (1 if docs_status else 0))


# ------------------------------------------------------------------ check answers, sign, submit
def _problem_links(request: Request, record: Mapping[str, Any], service: Any, items: list[Mapping[str, Any]]) -> list[dict]:
    """Field errors and missing documents as links to where to fix them."""
    lang = get_lang(request)
    where = _page_of_field(service)
    out = []
    for item in items:
        message = item.get("en") if lang == "en" else item.get("th")
        if item.get("document"):
            out.append({"text": message, "href": app_url(record["id"], "/documents") + _q(**{"return": "check"})
                        + f"#doc-{item['document']}"})
            continue
        path = item.get("path") or item.get("field") or ""
        top = re.split(r"[\[.]", path)[0]
        page_id = where.get(top)
        if page_id is None:
            out.append({"text": message, "href": "#answers"})
            continue
        out.append({"text": message, "href": page_url(record["id"], page_id, errors=1, **{"return": "check"})
                    + f"#{html_id(path)}"})
    return out


def _fee_estimates(request: Request, record: Mapping[str, Any], service: Any) -> list[dict]:
    ev = _evaluation(request, service, record)
    out = []
    for fee in service.definition.fees:
        try:
            if not ev.holds(fee.when):
                continue
            out.append({"fee": fee, "amount": ev.money(fee.amount)})
        except Exception:  # an answer the amount needs is missing or invalid
            out.append({"fee": fee, "amount": None})
    return out


def _check_view(request: Request, record: dict, service: Any, *, errors: list[dict] | None = None,
                status_code: int = 200, intent_error: bool = False) -> Response:
    lang = get_lang(request)
    ev = _evaluation(request, service, record)
    rows = answer_rows(service, forms.clean(service, record.get("answers", {}), _env(request, record)), ev, lang)
    draft = record["state"] == "draft"
    if errors is None and draft:
        field_errors, missing = applications(request).problems(record)
        errors = _problem_links(request, record, service, [e.as_dict() for e in field_errors] + missing)
    return render(request, "apply/check.html", status_code=status_code, record=record, service=service,
                  sections=rows, documents=document_rows(request, record, service), errors=errors or [],
                  draft=draft, declaration=declaration_of(service), digest=declaration_digest(service),
                  fees=_fee_estimates(request, record, service) if draft else [],
                  intent_error=intent_error, change_return="check" if draft else "status",
                  back_url=app_url(record["id"]) if draft else app_url(record["id"], "/status"))


async def application_check(request: Request) -> Response:
    if current_user(request) is None:
        return login_redirect(request)
    app_id = request.path_params["app_id"]
    record, service, actor = load_own(request, app_id)
    lang = get_lang(request)
    if request.method == "GET":
        if not is_editable(record, service):
            return see_other(app_url(app_id, "/status"))
        return _check_view(request, record, service)
    if record["state"] != "draft":
        return see_other(app_url(app_id, "/submitted"))
    form = await request.form()
    digest = form.get("declaration_digest") or ""
    current = declaration_of(service)
    shown = current if isinstance(digest, str) and digest == declaration_digest(service) else {"digest": str(digest)}
    intent = form.get("intent") == "yes"
    try:
        applications(request).submit(app_id, actor, declaration_shown=shown, intent_confirmed=intent)
    except EngineError as exc:
        if exc.status == 404:
            raise HTTPException(404) from exc
        record, service, actor = load_own(request, app_id)
        if exc.code == "intent":
            items = [{"text": exc.text(lang), "href": "#intent"}]
        elif exc.code == "declaration_changed":
            items = [{"text": exc.text(lang), "href": "#declaration"}]
        elif exc.details.get("errors"):
            items = _problem_links(request, record, service, exc.details["errors"])
        else:
            items = [{"text": exc.text(lang), "href": "#declaration"}]
        return _check_view(request, record, service, errors=items, intent_error=exc.code == "intent",
                           status_code=exc.status if 400 <= exc.status < 500 else 422)
    return see_other(app_url(app_id, "/submitted"))


# ------------------------------------------------------------------ acknowledgement (RC-3, A-F9, A-F10)
def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


async def application_submitted(request: Request) -> Response:
    if current_user(request) is None:
        return login_redirect(request)
    record, service, _ = load_own(request, request.path_params["app_id"])
    if record["state"] == "draft":
        return see_other(app_url(record["id"], "/check"))
    submitted_at, intake_at = _when(record.get("submitted_at")), _when(record.get("intake_at"))
    return render(request, "apply/submitted.html", record=record, service=service,
                  contact=service_contact(service), pdf=_pdf_renderer() is not None,
                  out_of_hours=bool(submitted_at and intake_at and intake_at > submitted_at),
                  status_url=app_url(record["id"], "/status"))


def _pdf_renderer():
    try:
        from ..renderers.pdf import render_template_pdf
    except ImportError:
        return None
    return render_template_pdf


def summary_context(request: Request, record: Mapping[str, Any], service: Any) -> dict[str, Any]:
    """What ``renderers/templates/pdf/submission_summary.html`` expects."""
    env = _env(request, record)
    answers = record.get("answers", {})
    ev = forms.Evaluation(service, forms.clean(service, answers, env), env)
    th_rows = answer_rows(service, answers, ev, "th")
    en_rows = answer_rows(service, answers, ev, "en")
    sections = []
    for sec_th, sec_en in zip(th_rows, en_rows):
        rows = []
        for page_th, page_en in zip(sec_th["pages"], sec_en["pages"]):
            for row_th, row_en in zip(page_th["rows"], page_en["rows"]):
                value = row_th["value"]
                if row_th["kind"] == "group":
                    for item_th, item_en in zip(value, row_en["value"]):
                        for r_th, r_en in zip(item_th["rows"], item_en["rows"]):
                            rows.append({"label_th": f"{row_th['label']} — {item_th['title']}: {r_th['label']}",
                                         "label_en": f"{row_en['label']} — {item_en['title']}: {r_en['label']}",
                                         "value": r_th["value"] or "—"})
                    continue
                if isinstance(value, list):
                    value = ", ".join(value)
                rows.append({"label_th": row_th["label"], "label_en": row_en["label"], "value": value or "—"})
        sections.append({"title": {"th": sec_th["title"], "en": sec_en["title"]}, "rows": rows})
    titles = {d.id: d.title for d in service.definition.documents}
    documents = []
    for doc_id, items in record.get("documents", {}).items():
        title = titles.get(doc_id)
        for item in items:
            documents.append({"label_th": title.th if title else doc_id,
                              "label_en": title.get("en") if title else doc_id,
                              "filename": item.get("filename"), "size": item.get("size"),
                              "sha256": item.get("sha256")})
    signature = record.get("signature") or {}
    base = public_url(get_context(request).settings, request)
    return {
        "agency": {"th": service.agency.name.th, "en": service.agency.name.get("en")},
        "service_title": {"th": service.definition.title.th, "en": service.definition.title.get("en")},
        "intake_number": record.get("intake_number"),
        "reference_code": record.get("reference"),
        "received_at": _when(record.get("intake_at")),
        "submitted_at": _when(record.get("submitted_at")),
        "applicant": signature.get("signer_name") or "",
        "sections": sections,
        "documents": documents,
        "signature": {
            "signer": signature.get("signer_name") or signature.get("signer"),
            "signed_at": _when(signature.get("signed_at")),
            "declaration": signature.get("declaration"),
            "submission_hash": signature.get("content_sha256"),
        } if signature else None,
        "tracking_url": f"{base}{app_url(record['id'], '/status')}",
        "generated_at": get_context(request).clock.now(),
    }


def _summary_pdf(request: Request, record: Mapping[str, Any], renderer: Any, context: dict[str, Any]) -> bytes:
    """The summary, signed with the agency's organisation certificate (IS-2;
    PAdES, time-stamped when ESERVICE_TSA_URL is set).  When it cannot be
    signed (no keys installed, the time-stamp service down) it is still given,
    but it says so on every page and the log says why: never unsigned in silence."""
    from ..outputs import OutputError

    outputs = engine(request).outputs
    agency = record["agency"]
    try:
        if outputs is None:
            raise OutputError("outputs_unavailable", "ระบบนี้ยังไม่ได้ตั้งค่าการลงนามเอกสาร",
                              "this installation is not set up to sign documents")
        outputs.ready(agency)
        pdf = renderer("submission_summary.html", **context)
        agencies = get_context(request).catalogue.agencies
        return outputs.signers.sign(
            agency, pdf, reason=f"สรุปคำขอ เลขรับ {record.get('intake_number')}",
            location=agencies[agency].name.th if agency in agencies else None, stamp_lines=(), stamp_box=None)
    except OutputError as exc:
        log.warning("the submission summary of %s is given UNSIGNED: %s", record["id"], exc.en)
        return renderer("submission_summary.html", **context, unsigned={"th": exc.th, "en": exc.en})


async def application_summary_pdf(request: Request) -> Response:
    if current_user(request) is None:
        return login_redirect(request)
    record, service, _ = load_own(request, request.path_params["app_id"])
    if record["state"] == "draft":
        raise HTTPException(404)
    renderer = _pdf_renderer()
    if renderer is None:
        raise HTTPException(404, detail=pick(get_lang(request), "ยังไม่มีบริการสร้างไฟล์ PDF ในระบบนี้",
                                             "PDF summaries are not available on this installation"))
    import anyio

    context = summary_context(request, record, service)

    def make() -> bytes:
        return _summary_pdf(request, record, renderer, context)

    data = await anyio.to_thread.run_sync(make)
    name = f"summary-{record.get('reference') or record['id']}.pdf"
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})


# ------------------------------------------------------------------ Thai address suggestions
def _address():
    try:
        from eservice.plugins import thai_address
    except ImportError:  # the plugin is optional: the form still works with plain inputs
        return None
    return thai_address


def _attach_address_lists(widgets: list[dict]) -> bool:
    """Give each address widget its district/subdistrict suggestions; True if any."""
    found = False
    for w in widgets:
        if w["kind"] == "address":
            found = True
            w["lists"] = address_lists({p["part"]: p["value"] for p in w["parts"]})
        elif w["kind"] == "group":
            for item in w["entries"]:
                found = _attach_address_lists(item["children"]) or found
    return found


def address_lists(value: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """Suggestions for the address inputs without JavaScript: every province, and the
    districts/subdistricts of what is already entered."""
    ta = _address()
    if ta is None:
        return {"province": [], "district": [], "subdistrict": []}
    value = value or {}
    out = {"province": [p.name_th for p in ta.provinces()], "district": [], "subdistrict": []}
    province, district = (value.get("province") or "").strip(), (value.get("district") or "").strip()
    try:
        if province:
            out["district"] = [d.name_th for d in ta.districts(province)]
        if province and district:
            out["subdistrict"] = [s.name_th for s in ta.subdistricts(province, district)]
    except Exception:
        pass
    return out


routes = [
    Route("/apply/{service_id:slug}", apply_start, name="apply", methods=["GET", "POST"]),
    Route("/applications/{app_id:app_id}", task_list, name="application"),
    Route("/applications/{app_id:app_id}/pages/{page_id:ident}", application_page, name="application_page",
          methods=["GET", "POST"]),
    Route("/applications/{app_id:app_id}/check", application_check, name="application_check", methods=["GET", "POST"]),
    Route("/applications/{app_id:app_id}/submitted", application_submitted, name="application_submitted"),
    Route("/applications/{app_id:app_id}/summary.pdf", application_summary_pdf, name="application_summary_pdf"),
]
