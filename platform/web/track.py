"""Tracking: my applications, the status of one, and the applicant's own actions
(issue #3 item 7; A-F9, A-F10, A-R4, A-P1, PR-1, PR-5, RC-3).

Routes (names for ``url()``):

===============================================  ======================  ===================================
``/applications``                                ``my_applications``     drafts and submitted applications
``/track`` (``?ref=``)                           ``track``               find one of mine by its reference code
``/applications/{app_id}/status``                ``application_status``  status, what to do now, history,
                                                                         fees, documents sent by the agency
``/applications/{app_id}/actions/{transition}``  ``application_action``  POST: the applicant's transition
                                                                         (e.g. send the requested documents)
===============================================  ======================  ===================================

Plain language comes from the definition: a state's ``title``, ``description``
and ``applicant_action``; a transition's ``title`` and the labels of its
inputs.  Another person's application answers 404, never 403.
"""
from __future__ import annotations

import dataclasses

import re
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..engine import EngineError
from ..renderers.html import format_money, render
from ..renderers import dates
from ..store import ConflictError
from .apply import app_url, document_rows, is_editable, load_own, see_other, service_contact
from .catalogue import PAYMENT_METHODS
from .context import get_context
from .deps import actor_for, applications, current_user, login_redirect, workflow
from .i18n import get_lang, pick, text

__all__ = ["routes", "state_tag", "history"]

_REFERENCE = re.compile(r"^[A-Z0-9-]{4,20}$")


# ------------------------------------------------------------------ plain language
def state_tag(record: Mapping[str, Any], service: Any | None, lang: str) -> dict[str, str]:
    """``{text, colour}`` of an application's state for a tag."""
    if record.get("state") == "draft":
        return {"text": pick(lang, "ยังไม่ได้ยื่น (ฉบับร่าง)", "Draft – not sent"), "colour": "grey"}
    referral = record.get("referral") or {}
    if record.get("outcome") == "referred" and referral.get("referred_to"):  # RC-2: where, and whom to contact
        to, contact = referral["referred_to"], referral.get("contact") or "-"
        return {"text": pick(lang, f"ส่งต่อไปยัง {to} ติดต่อ {contact}", f"Referred to {to}, contact {contact}"),
                "colour": "grey"}
    state = service.states.get(record.get("state")) if service is not None else None
    label = text(state.title, lang) if state else str(record.get("state"))
    if state is None:
        return {"text": label, "colour": "blue"}
    if state.final:
        colour = {"approved": "green", "completed": "green", "rejected": "red"}.get(state.outcome or "", "grey")
    elif state.applicant_action:
        colour = "orange"
    else:
        colour = "blue"
    return {"text": label, "colour": colour}


def _input_value(spec: Any, value: Any, lang: str) -> Any:
    """An officer's input as the applicant reads it (option labels, BE dates)."""
    if value is None or value == "" or value == []:
        return None
    if spec is None:
        return str(value)
    if spec.type in ("choice", "checklist"):
        labels = {o.value: text(o.label, lang) for o in spec.options}
        values = value if isinstance(value, list) else [value]
        shown = [labels.get(v, str(v)) for v in values]
        return shown if spec.type == "checklist" else shown[0]
    if spec.type == "date":
        return dates.format_date(value, lang, long=True)
    if spec.type == "money":
        return format_money(value, lang)
    if spec.type == "yes_no":
        return pick(lang, "ใช่", "Yes") if value in (True, "yes") else pick(lang, "ไม่ใช่", "No")
    if spec.type == "documents":
        return [str(v) for v in value] if isinstance(value, list) else str(value)
    return str(value)


def _inputs(tr: Any, inputs: Mapping[str, Any], lang: str) -> list[dict]:
    specs = {i.id: i for i in tr.inputs} if tr is not None else {}
    out = []
    for key, value in inputs.items():
        spec = specs.get(key)
        shown = _input_value(spec, value, lang)
        if shown is None:
            continue
        out.append({"label": text(spec.label, lang) if spec else key, "value": shown,
                    "list": isinstance(shown, list), "multiline": bool(spec and spec.type == "long_text")})
    return out


def history(record: Mapping[str, Any], service: Any, lang: str, user_id: str) -> list[dict]:
    """The events an applicant should see, in plain language, newest first."""
    out = []
    licences = {x.id: x for x in service.definition.outputs.licences}
    letters = {x.id: x for x in service.definition.outputs.letters}
    docs = {d.id: d for d in service.definition.documents}
    for event in record.get("events", []):
        kind, data = event.get("type"), event.get("data") or {}
        item: dict[str, Any] = {"at": event.get("at"), "details": [], "by_you": event.get("actor") == user_id}
        if kind == "draft_started":
            item["title"] = pick(lang, "เริ่มกรอกคำขอ", "You started the application")
        elif kind == "submitted":
            item["title"] = pick(lang, f"ยื่นคำขอแล้ว เลขรับ {data.get('intake_number', '')}",
                                 f"You sent the application; intake number {data.get('intake_number', '')}")
            if data.get("intake_at"):
                item["details"].append({"label": pick(lang, "ลงรับเมื่อ", "Registered"),
                                        "value": dates.format_datetime(data["intake_at"], lang, long=True)})
        elif kind == "transition":
            tr = service.transitions.get(data.get("transition"))
            to = service.states.get(data.get("to"))
            title = text(tr.title, lang) if tr else str(data.get("transition"))
            item["title"] = title
            if to is not None:
                item["state"] = text(to.title, lang)
            item["details"] = _inputs(tr, data.get("inputs") or {}, lang)
        elif kind == "effect:issue_fee":
            if data.get("skipped"):
                continue
            fee = next((f for f in service.definition.fees if f.id == data.get("fee")), None)
            name = text(fee.title, lang) if fee else str(data.get("fee"))
            item["title"] = pick(lang, f"แจ้งให้ชำระ{name}", f"Payment requested: {name}")
            item["details"] = [
                {"label": pick(lang, "จำนวนเงิน", "Amount"), "value": format_money(data.get("amount"), lang)},
                {"label": pick(lang, "ชำระภายใน", "Pay by"), "value": dates.format_date(data.get("due_on"), lang, long=True)},
            ]
        elif kind == "effect:sign_licence":
            licence = licences.get(data.get("licence"))
            name = text(licence.title, lang) if licence else str(data.get("licence"))
            item["title"] = pick(lang, f"ออก{name}แล้ว", f"Issued: {name}")
            if data.get("number"):
                item["details"] = [{"label": pick(lang, "เลขที่", "Number"), "value": data["number"]}]
            item["details"] += _signed_by(data, lang)
        elif kind == "effect:issue_letter":
            letter = letters.get(data.get("letter"))
            name = text(letter.title, lang) if letter else str(data.get("letter"))
            item["title"] = pick(lang, f"ออก{name}", f"Letter sent: {name}")
            item["details"] = _signed_by(data, lang)
        elif kind == "referred":  # RC-2
            item["title"] = pick(lang, f"ส่งต่อไปยัง {data.get('referred_to', '')}",
                                 f"Referred to {data.get('referred_to', '')}")
            item["details"] = [{"label": pick(lang, "ติดต่อ", "Contact"), "value": data.get("contact") or "-"}]
            if data.get("note"):
                item["details"].append({"label": pick(lang, "หมายเหตุ", "Note"), "value": data["note"]})
            if data.get("letter"):
                item["details"] += _signed_by(data, lang)
        elif kind == "document_added":
            doc = docs.get(data.get("document"))
            name = text(doc.title, lang) if doc else str(data.get("document"))
            item["title"] = pick(lang, f"แนบเอกสาร “{name}”", f"Document attached: “{name}”")
            item["details"] = [{"label": pick(lang, "ไฟล์", "File"), "value": data.get("filename", "")}]
        else:
            continue  # internal events (drafting a licence, assignment, notes…) are not shown
        out.append(item)
    out.reverse()
    return out


def _signed_by(data: Mapping[str, Any], lang: str) -> list[dict]:
    """Who signed an issued document (its time is the event's), IS-2."""
    if not data.get("signer"):
        return []
    who = data["signer"] + (f" ({data['position']})" if data.get("position") else "")
    return [{"label": pick(lang, "ลงนามโดย", "Signed by"), "value": who}]


def _request_in_force(record: Mapping[str, Any], service: Any, lang: str) -> dict | None:
    """What the officer asked for when the application entered its current state:
    the inputs of that transition, the deadline, and which of its values name documents."""
    entering = None
    for event in record.get("events", []):
        if event.get("type") == "transition" and (event.get("data") or {}).get("to") == record.get("state"):
            entering = event
    if entering is None:
        return None
    data = entering.get("data") or {}
    tr = service.transitions.get(data.get("transition"))
    inputs = data.get("inputs") or {}
    if not inputs or (tr is not None and "applicant" in tr.roles):
        return None
    doc_ids = {d.id for d in service.definition.documents}
    asked_docs = []
    for value in inputs.values():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str) and v in doc_ids and v not in asked_docs:
                asked_docs.append(v)
    return {"title": text(tr.title, lang) if tr else "", "at": entering.get("at"),
            "details": _inputs(tr, {k: v for k, v in inputs.items() if "deadline" not in k}, lang),
            "documents": asked_docs}


def _fees(record: Mapping[str, Any], lang: str) -> list[dict]:
    out = []
    for fee in record.get("fees", []) or []:
        out.append({"title": text(fee.get("title"), lang), "amount": fee.get("amount"),
                    "due_on": fee.get("due_on"), "status": fee.get("status"),
                    "methods": [text(PAYMENT_METHODS.get(m, m), lang) for m in fee.get("methods", [])]})
    return out


def _issued(record: Mapping[str, Any], service: Any, lang: str) -> list[dict]:
    """Licences and letters the agency has issued to the applicant, each with its PDF (IS-3)."""
    from ..outputs import issued_documents

    return [{"kind": d["kind"], "id": d["id"], "title": text(d["title"], lang), "number": d["number"],
             "at": d["issued_at"], "valid_until": d["valid_until"], "signer": d["signer"],
             "href": f"/applications/{record['id']}/issued/{d['sha256']}"}
            for d in issued_documents(record, service)]


def _action_forms(record: Mapping[str, Any], service: Any, actor: Any, request: Request) -> list:
    if record.get("state") == "draft" or record.get("closed"):
        return []
    try:
        return [tr for tr in workflow(request).available(record, actor) if "applicant" in tr.roles]
    except EngineError:
        return []


def _status_view(request: Request, record: dict, service: Any, actor: Any, *, error: str | None = None,
                 error_href: str = "#actions", status_code: int = 200, done: str | None = None,
                 values: Mapping[str, Any] | None = None) -> Response:
    lang = get_lang(request)
    state = service.states.get(record.get("state"))
    deadline = record.get("deadline")
    asked = _request_in_force(record, service, lang)
    editable = is_editable(record, service)
    rows = document_rows(request, record, service)
    requested_docs = [r for r in rows if asked and r["doc"].id in asked["documents"]] if editable else []
    if requested_docs:
        from .attachments import _documents_module

        documents = _documents_module()
        for row in requested_docs:
            row["accept"] = documents.accept_attribute(row["doc"]) if documents else ""
            row["formats"] = [documents.format_label(f) if documents else f.upper() for f in row["doc"].formats]
            row["max_size"] = f"{row['doc'].max_size_mb.normalize():f}"
            row["errors"] = []
    done_tr = service.transitions.get(done) if done else None
    sla = None
    try:
        sla = workflow(request).sla_status(record) if record.get("intake_at") else None
    except Exception:
        sla = None
    return render(request, "track/status.html", status_code=status_code, record=record, service=service,
                  state=state, tag=state_tag(record, service, lang), deadline=deadline, asked=asked,
                  editable=editable, requested_docs=requested_docs, documents=rows,
                  actions=_action_forms(record, service, actor, request), fees=_fees(record, lang),
                  issued=_issued(record, service, lang), history=history(record, service, lang, actor.user_id),
                  contact=service_contact(service), error=error, error_href=error_href,
                  done=text(done_tr.title, lang) if done_tr else None, sla=sla, values=values or {},
                  signature_ok=applications(request).verify_signature(record) if record.get("signature") else None,
                  signature_state=applications(request).signature_state(record),
                  payment=_payment_panel(record, service))


def _payment_panel(record: Mapping[str, Any], service: Any) -> dict | None:
    """The fee notice, its QR and the proof form (eservice.web.payments, #8)."""
    from .payment_panels import status_panel

    return status_panel(record, service)


# ------------------------------------------------------------------ handlers
async def my_applications(request: Request) -> Response:
    user = current_user(request)
    if user is None:
        return login_redirect(request)
    lang = get_lang(request)
    catalogue = get_context(request).catalogue
    drafts, sent = [], []
    for summary in applications(request).of_applicant(actor_for(user, request)):
        service = catalogue.get(summary.get("service"), summary.get("service_version")) \
            or catalogue.latest(summary.get("service"))
        item = {"summary": summary, "title": text(service.definition.title, lang) if service else summary.get("title"),
                "tag": state_tag(summary, service, lang), "service": service}
        (drafts if summary.get("state") == "draft" else sent).append(item)
    return render(request, "track/list.html", drafts=drafts, sent=sent)


async def track(request: Request) -> Response:
    """Find one of my applications by its reference code (or go to the list)."""
    user = current_user(request)
    if user is None:
        return login_redirect(request)
    lang = get_lang(request)
    ref = (request.query_params.get("ref") or "").strip().upper().replace(" ", "")
    error = None
    if ref:
        if len(ref) == 12 and "-" not in ref:
            ref = f"{ref[:4]}-{ref[4:8]}-{ref[8:]}"
        if _REFERENCE.match(ref):
            try:
                record = applications(request).by_reference(ref, actor_for(user, request))
                return see_other(app_url(record["id"], "/status"))
            except EngineError:
                pass
        error = pick(lang, "ไม่พบคำขอที่มีรหัสอ้างอิงนี้ในบัญชีของท่าน กรุณาตรวจรหัสอีกครั้ง",
                     "None of your applications has this reference code. Check the code and try again.")
    return render(request, "track/find.html", status_code=404 if error else 200, ref=ref, error=error)


async def application_status(request: Request) -> Response:
    if current_user(request) is None:
        return login_redirect(request)
    record, service, actor = load_own(request, request.path_params["app_id"])
    if record["state"] == "draft":
        return see_other(app_url(record["id"]))
    return _status_view(request, record, service, actor, done=request.query_params.get("done"))


async def application_action(request: Request) -> Response:
    """The applicant takes one of their own transitions (A-R3/PR-1: send what was asked)."""
    if current_user(request) is None:
        return login_redirect(request)
    app_id, tid = request.path_params["app_id"], request.path_params["transition_id"]
    record, service, actor = load_own(request, app_id)
    lang = get_lang(request)
    tr = service.transitions.get(tid)
    if tr is None or "applicant" not in tr.roles:
        raise HTTPException(404)
    form = await request.form()
    inputs: dict[str, Any] = {}
    for spec in tr.inputs:
        if spec.type == "checklist":
            values = [v for v in form.getlist(spec.id) if isinstance(v, str) and v]
            if values:
                inputs[spec.id] = values
        else:
            value = form.get(spec.id)
            if spec.type == "date":  # the Thai date widget's boxes; the engine reads B.E. or C.E.
                parts = [form.get(f"{spec.id}.{p}") for p in ("day", "month", "year")]
                parts = [p.strip() for p in parts if isinstance(p, str)]
                value = "/".join(parts) if any(parts) else value
            if isinstance(value, str) and value.strip():
                inputs[spec.id] = value.strip()
    if tr not in _action_forms(record, service, actor, request):
        state = service.states.get(record.get("state"))
        return _status_view(request, record, service, actor, status_code=409, error=pick(
            lang, f"ทำรายการ “{tr.title.th}” ไม่ได้ในสถานะ “{state.title.th if state else record['state']}”",
            f"“{tr.title.get('en')}” is not possible while the application is "
            f"“{state.title.get('en') if state else record['state']}”"))
    try:
        # on their own application a person acts as the applicant only, whatever staff roles they hold
        as_applicant = dataclasses.replace(actor, grants=())
        workflow(request).take(app_id, tid, as_applicant, inputs, expected_version=record["version"])
    except EngineError as exc:
        if exc.status == 404:
            raise HTTPException(404) from exc
        field = exc.details.get("input") or (exc.details.get("inputs") or [None])[0]
        return _status_view(request, record, service, actor, error=exc.text(lang),
                            error_href=f"#in-{tid}-{field}" if field else f"#action-{tid}",
                            status_code=exc.status if 400 <= exc.status < 500 else 422, values=inputs)
    except Exception as exc:  # a stale version: someone (an officer) acted first
        if not isinstance(exc, ConflictError):
            raise
        record, service, actor = load_own(request, app_id)
        return _status_view(request, record, service, actor, status_code=409, error=pick(
            lang, "คำขอนี้เพิ่งมีการเปลี่ยนแปลง กรุณาตรวจสถานะล่าสุดแล้วลองอีกครั้ง",
            "This application has just changed; check its latest status and try again"))
    return see_other(app_url(app_id, "/status") + f"?done={tid}")


routes = [
    Route("/applications", my_applications, name="my_applications"),
    Route("/track", track, name="track"),
    Route("/applications/{app_id:app_id}/status", application_status, name="application_status"),
    Route("/applications/{app_id:app_id}/actions/{transition_id:ident}", application_action, name="application_action",
          methods=["POST"]),
]
