"""The token's own applications: list, create, read, replace answers, submit
(A-F8 signature, RC-3 receipt) and the applicant's own workflow actions.
Any other id answers 404, the same as one that does not exist.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import forms
from ...applications import declaration_of
from ...engine import EngineError
from ...store.base import NotFoundError
from ..catalogue import sla_text
from ..context import get_context
from ..convertors import matches
from ..deps import accounts, actor_for, applications, workflow
from .answers import _editable, checked_answers, replace_answers
from .issued import issued_json
from .errors import ApiError, _engine_problems, _not_found, problem
from .http import _check_version, _etag, _expected_version, _ok, _path, _text, _url, json_body
from .services import _agency_json
from .tokens import _actor, api_user

DRAFT_STATE = {
    "id": "draft",
    "title": {"th": "ฉบับร่าง (ยังไม่ได้ยื่น)", "en": "Draft (not submitted)"},
    "description": {"th": "คำขอนี้ยังไม่ได้ยื่นต่อหน่วยงาน",
                    "en": "This application has not been sent to the agency yet"},
    "applicant_action": {"th": "กรอกข้อมูลและแนบเอกสารให้ครบ แล้วยื่นคำขอ",
                         "en": "Complete the answers and documents, then submit"},
    "final": False, "outcome": None,
}


def _own(request: Request, app_id: str, actor: Any) -> dict:
    """The actor's own application, else 404 (also for an officer's token)."""
    if not matches("app_id", app_id):
        raise _not_found()
    record = applications(request).get(app_id, actor, "view_own")
    if record.get("applicant") != actor.user_id:
        raise _not_found()
    return record


def _state_json(svc: Any, record: Mapping[str, Any]) -> dict[str, Any]:
    state = svc.states.get(record["state"])
    if state is None:
        if record["state"] == "draft":
            return dict(DRAFT_STATE)
        return {"id": record["state"], "title": {"th": record["state"], "en": record["state"]},
                "description": None, "applicant_action": None, "final": bool(record.get("closed")),
                "outcome": record.get("outcome")}
    return {"id": state.id, "title": _text(state.title), "description": _text(state.description),
            "applicant_action": _text(state.applicant_action), "final": state.final, "outcome": state.outcome}


def _by(record: Mapping[str, Any], actor: str) -> str:
    if actor == record.get("applicant"):
        return "applicant"
    return "system" if actor in ("system", "") else "officer"


def _event_text(svc: Any, record: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, str] | None:
    """One history event in plain language, or None when it says nothing to the applicant."""
    kind, data = event.get("type", ""), event.get("data") or {}
    from ...renderers.dates import format_datetime

    if kind == "draft_started":
        return {"th": "เริ่มกรอกคำขอ", "en": "Started the application"}
    if kind == "submitted":
        intake = data.get("intake_at")
        return {"th": f"ยื่นคำขอแล้ว เลขรับที่ {data.get('intake_number')} "
                      f"(ลงรับ {format_datetime(intake, 'th')})",
                "en": f"Submitted; intake number {data.get('intake_number')} "
                      f"(registered {format_datetime(intake, 'en')})"}
    if kind == "transition":
        tr = svc.transitions.get(data.get("transition"))
        to = svc.states.get(data.get("to"))
        to_th = to.title.th if to else data.get("to")
        to_en = to.title.get("en") if to else data.get("to")
        if tr is None:
            return {"th": f"สถานะเปลี่ยนเป็น “{to_th}”", "en": f"Status changed to “{to_en}”"}
        return {"th": f"{tr.title.th}: สถานะเปลี่ยนเป็น “{to_th}”",
                "en": f"{tr.title.get('en')}: status changed to “{to_en}”"}
    if kind == "document_added":
        return {"th": f"แนบเอกสารเพิ่ม: {data.get('filename')}", "en": f"Added a document: {data.get('filename')}"}
    if kind == "document_removed":
        return {"th": "นำเอกสารออก", "en": "Removed a document"}
    if kind == "answers_changed":
        fields = [svc.fields.get(f) for f in data.get("fields", [])]
        th = ", ".join(f.label.th for f in fields if f is not None)
        en = ", ".join(f.label.get("en") for f in fields if f is not None)
        return {"th": "แก้ไขคำตอบ" + (f": {th}" if th else ""), "en": "Changed answers" + (f": {en}" if en else "")}
    if kind == "effect:issue_fee":
        if data.get("skipped"):
            return None
        fee = next((f for f in svc.definition.fees if f.id == data.get("fee")), None)
        from ...renderers.html import format_money

        title_th = fee.title.th if fee else data.get("fee")
        title_en = fee.title.get("en") if fee else data.get("fee")
        return {"th": f"แจ้งชำระ{title_th} {format_money(data.get('amount'), 'th')}",
                "en": f"Fee due: {title_en}, {format_money(data.get('amount'), 'en')}"}
    if kind == "effect:issue_letter":
        return {"th": "ออกหนังสือแจ้งผล", "en": "A letter was issued"}
    if kind == "effect:sign_licence":
        return {"th": f"ลงนามใบอนุญาตแล้ว เลขที่ {data.get('number')}",
                "en": f"The licence was signed, number {data.get('number')}"}
    if kind == "effect:publish":
        return {"th": "เผยแพร่ใบอนุญาตในทะเบียนแล้ว", "en": "The licence was published in the register"}
    if kind.startswith("effect:"):
        return None
    readable = kind.replace("_", " ")
    return {"th": f"บันทึกเหตุการณ์: {readable}", "en": readable.capitalize()}


def _history(svc: Any, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for event in record.get("events", []):
        text = _event_text(svc, record, event)
        if text is not None:
            out.append({"seq": event.get("seq"), "at": event.get("at"), "type": event.get("type"),
                        "by": _by(record, event.get("actor", "")), **text})
    return out


def _expected_completion(record: Mapping[str, Any]) -> dict[str, str] | None:
    if not record.get("sla_due"):
        return None
    from ...renderers.dates import format_date

    return {"th": f"ภายในวันที่ {format_date(record['sla_due'], 'th', long=True)}",
            "en": f"By {format_date(record['sla_due'], 'en', long=True)}"}


def _estimated_fees(apps: Any, svc: Any, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    env = apps.env(record)
    ev = forms.Evaluation(svc, forms.clean(svc, record.get("answers", {}), env), env)
    out = []
    for fee in svc.definition.fees:
        if not ev.holds(fee.when):
            continue
        try:
            amount = f"{ev.money(fee.amount):.2f}"
        except Exception:  # an expression that cannot be evaluated yet (answers missing)
            amount = None
        out.append({"id": fee.id, "title": _text(fee.title), "amount": amount})
    return out


def _as_applicant(actor: Any) -> Any:
    """The API acts for the applicant only: the same person without officer grants,
    so the engine checks and re-signs their changes as the applicant's (A-F6, A-F8)."""
    return replace(actor, grants=()) if actor.grants else actor


def _input_json(spec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": spec.id, "type": spec.type, "label": _text(spec.label),
                           "required": bool(spec.required)}
    if spec.options:
        out["options"] = [{"value": o.value, "label": _text(o.label)} for o in spec.options]
    return out


def _actions_json(request: Request, record: Mapping[str, Any], actor: Any) -> list[dict[str, Any]]:
    """The workflow transitions the applicant may take now (none in a draft: see ``submit``)."""
    if record.get("state") == "draft" or record.get("closed"):
        return []
    try:
        found = workflow(request).available(record, _as_applicant(actor))
    except EngineError:  # a guard that cannot be evaluated now: offer nothing rather than fail the read
        return []
    return [{"id": tr.id, "title": _text(tr.title), "inputs": [_input_json(i) for i in tr.inputs],
             "href": _url(request, f"/api/applications/{record['id']}/actions/{tr.id}")}
            for tr in found if "applicant" in tr.roles]


def application_json(request: Request, record: Mapping[str, Any], *, full: bool = True,
                     actor: Any = None) -> dict[str, Any]:
    apps = applications(request)
    svc = apps.ctx.service_of(record)
    app_id = record["id"]
    editable = _editable(svc, record)
    links = {
        "self": _url(request, f"/api/applications/{app_id}"),
        "service": _url(request, f"/api/services/{svc.id}"),
        "schema": _url(request, f"/api/services/{svc.id}/schema"),
        "tracking": _url(request, _path(request, "track", "/track")),
    }
    if editable:
        links.update(answers=_url(request, f"/api/applications/{app_id}/answers"),
                     documents=_url(request, f"/api/applications/{app_id}/documents/{{document_id}}"))
    if record["state"] == "draft":
        links.update(submit=_url(request, f"/api/applications/{app_id}/submit"))
    out: dict[str, Any] = {
        "id": app_id, "reference": record["reference"], "version": record["version"],
        "service": {"id": svc.id, "version": svc.version, "title": _text(svc.definition.title)},
        "agency": _agency_json(svc.agency),
        "state": _state_json(svc, record), "closed": bool(record.get("closed")),
        "created_at": record.get("created_at"), "updated_at": record.get("updated_at"),
        "submitted_at": record.get("submitted_at"), "intake_number": record.get("intake_number"),
        "intake_at": record.get("intake_at"), "sla_due": record.get("sla_due"),
        "expected_completion": _expected_completion(record),
        "links": links,
    }
    if not full:
        return out
    attached = record.get("documents", {})
    shown = {d.id for d in apps.applicable_documents(record)} | set(attached)
    documents = []
    for doc in svc.definition.documents:
        if doc.id not in shown:
            continue
        documents.append({
            "id": doc.id, "title": _text(doc.title), "formats": list(doc.formats),
            "files": [{k: item.get(k) for k in ("filename", "media_type", "size", "sha256", "uploaded_at")}
                      for item in attached.get(doc.id, [])],
        })
    errors: list[dict[str, str]] = []
    if editable:
        field_errors, missing = apps.problems(record)
        errors = _engine_problems([e.as_dict() for e in field_errors] + missing)
    out.update({
        "answers": record.get("answers", {}),
        "documents": documents,
        "errors": errors,
        "fees": [{"id": f.get("id"), "title": f.get("title"), "amount": f.get("amount"),
                  "status": f.get("status"), "due_on": f.get("due_on"), "methods": f.get("methods", [])}
                 for f in record.get("fees", [])],
        "history": _history(svc, record),
        "issued": issued_json(request, svc, record),
        "declaration": declaration_of(svc) if record["state"] == "draft" else None,
        "actions": _actions_json(request, record, actor if actor is not None else _actor(request)),
    })
    if record["state"] == "draft":
        out["estimated_fees"] = _estimated_fees(apps, svc, record)
    return out


def list_applications(request: Request, body: bytes) -> Response:
    """The token's applications, newest first; ``?reference=`` gives one in full."""
    actor = _actor(request)
    apps = applications(request)
    reference = (request.query_params.get("reference") or "").strip()
    if reference:
        if len(reference) > 40:
            raise _not_found()
        record = apps.by_reference(reference, actor)
        if record.get("applicant") != actor.user_id:
            raise _not_found()
        return _ok({"count": 1, "applications": [application_json(request, record, actor=actor)]})
    items = []
    for summary in apps.of_applicant(actor):
        try:
            record = apps.ctx.store.get_application(summary["id"])
        except NotFoundError:
            continue
        if record.get("applicant") == actor.user_id:
            items.append(application_json(request, record, full=False))
    return _ok({"count": len(items), "applications": items})


def create_application(request: Request, body: bytes) -> Response:
    """A draft for the token's user, prefilled from the profile (A-F2), with answers if given."""
    _entry, user = api_user(request)
    data = json_body(request, body, ("service", "answers"), ("service",))
    actor = actor_for(user, request)
    ctx = get_context(request)
    service_id = data["service"]
    svc = ctx.service(service_id) if matches("slug", service_id) else None
    if svc is None:
        raise ApiError(422, "no_service", "ไม่พบบริการนี้", "no such service",
                       [problem("service", "no_service", "ไม่พบบริการนี้ ดูรายการได้ที่ /api/services",
                                "no such service; see /api/services")])
    given = None
    if "answers" in data:
        given = checked_answers(request, svc, data["answers"])
    apps = applications(request)
    record = apps.start(svc.id, actor, prefill={"profile": accounts(request).prefill_profile(user)})
    dropped: list[str] = []
    if given is not None:
        record, dropped = replace_answers(request, record, actor, {**record["answers"], **given})
    out = application_json(request, record, actor=actor)
    out["dropped"] = dropped
    return _ok(out, 201, {"Location": out["links"]["self"], **_etag(record)})


def get_application(request: Request, body: bytes) -> Response:
    actor = _actor(request)
    record = _own(request, request.path_params["app_id"], actor)
    return _ok(application_json(request, record, actor=actor), headers=_etag(record))


def put_answers(request: Request, body: bytes) -> Response:
    """Replace a draft's answers ``{answers, version?}`` (``If-Match`` or ``version``)."""
    actor = _actor(request)
    data = json_body(request, body, ("answers", "version"), ("answers",))
    record = _own(request, request.path_params["app_id"], actor)  # 404 before any precondition
    expected = _expected_version(request, data, required=True)
    _check_version(record, expected)
    svc = applications(request).ctx.service_of(record)
    answers = checked_answers(request, svc, data["answers"])
    record, dropped = replace_answers(request, record, actor, answers)
    out = application_json(request, record, actor=actor)
    out["dropped"] = dropped
    return _ok(out, headers=_etag(record))


def _is_declaration(value: Any) -> bool:
    return (isinstance(value, dict) and "th" in value and set(value) <= {"th", "en"}
            and all(isinstance(v, str) and len(v) <= 10_000 for v in value.values()))


def submit_application(request: Request, body: bytes) -> Response:
    """Sign (ETDA type 1, A-F8) and submit; the receipt (RC-3, A-F10)."""
    actor = _actor(request)
    data = json_body(request, body, ("declaration", "intent", "version"), ("declaration", "intent"), {
        "declaration": (_is_declaration, "type",
                        "“declaration” ต้องเป็น {th, en} ตามข้อความคำรับรองที่แสดงต่อผู้ยื่น",
                        "“declaration” must be {th, en}: the declaration text shown to the applicant"),
        "intent": (lambda v: v is True, "intent", "กรุณายืนยันเจตนาลงลายมือชื่ออิเล็กทรอนิกส์ (intent: true)",
                   "confirm the intent to sign electronically (intent: true)"),
    })
    declaration = data["declaration"]
    record = _own(request, request.path_params["app_id"], actor)
    expected = _expected_version(request, data, required=False)
    _check_version(record, expected)
    apps = applications(request)
    saved = apps.submit(record["id"], actor, declaration_shown=declaration, intent_confirmed=True,
                        expected_version=expected)
    svc = apps.ctx.service_of(saved)
    tracking = _path(request, "track", "/track")
    receipt = {
        "reference": saved["reference"],
        "intake_number": saved["intake_number"],
        "intake_at": saved["intake_at"],
        "submitted_at": saved["submitted_at"],
        "sla_due": saved.get("sla_due"),
        "expected_completion": _expected_completion(saved),
        "sla": {"working_days": svc.definition.sla.working_days,
                "text": sla_text(svc.definition.sla.working_days)},
        "agency": _agency_json(svc.agency),
        "content_sha256": saved["signature"]["content_sha256"],
        "tracking": {"html": _url(request, tracking), "api": _url(request, f"/api/applications/{saved['id']}"),
                     "reference": saved["reference"]},
    }
    return _ok({"receipt": receipt, "application": application_json(request, saved, actor=actor)}, 201,
               _etag(saved))


def take_action(request: Request, body: bytes) -> Response:
    """Take one of the applicant's own workflow transitions ``{inputs?, version?}``
    (e.g. send the changes or documents the agency asked for; A-R3, PR-1)."""
    actor = _actor(request)
    data = json_body(request, body, ("inputs", "version"), (), {
        "inputs": (lambda v: isinstance(v, dict), "type", "“inputs” ต้องเป็นออบเจกต์ {รหัสข้อมูล: ค่า}",
                   "“inputs” must be an object {input id: value}"),
    })
    record = _own(request, request.path_params["app_id"], actor)
    transition_id = request.path_params["transition_id"]
    svc = applications(request).ctx.service_of(record)
    tr = svc.transitions.get(transition_id) if matches("ident", transition_id) else None
    if tr is None:
        raise ApiError(404, "no_transition", "ไม่มีการดำเนินการนี้ในบริการ", "no such action for this service")
    expected = _expected_version(request, data, required=False)
    _check_version(record, expected)
    inputs = data.get("inputs") or {}
    declared = {i.id for i in tr.inputs}
    unknown = sorted(set(inputs) - declared)
    if unknown:
        raise ApiError(422, "unknown_input", "มีข้อมูลที่การดำเนินการนี้ไม่ได้ขอ", "inputs this action does not take",
                       [problem(f"inputs.{key}", "unknown_field", f"การดำเนินการนี้ไม่มีข้อมูล “{key}”",
                                f"“{key}” is not an input of this action") for key in unknown])
    saved = workflow(request).take(record["id"], tr.id, _as_applicant(actor), inputs, expected_version=expected)
    return _ok(application_json(request, saved, actor=actor), headers=_etag(saved))


