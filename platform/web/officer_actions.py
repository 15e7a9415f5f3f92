"""The officer's actions on one application (issue #4; A-R1, A-R3, A-R6, PR-1, PR-2, RC-2).

Routes (names for ``url()``), each a form on the application page:

=================================================  ======================  ==================================
``POST /officer/applications/{app_id}/claim``      ``officer_claim``       assign to me
``POST /officer/applications/{app_id}/assign``     ``officer_assign``      assign to a colleague
``POST /officer/applications/{app_id}/transitions/{transition_id}``  ``officer_take``  take a transition
``POST /officer/applications/{app_id}/refer``      ``officer_refer``       wrong agency (RC-2)
``POST /officer/applications/{app_id}/dispose``    ``officer_dispose``     head of agency approves disposal
=================================================  ======================  ==================================

Every POST carries the version the officer saw (``expected_version``): when
someone else acted first the page comes back with the new state and a message
(A-R3), nothing overwritten.  Every action is written to the audit log.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .. import events as history
from .. import inbox, referral
from ..engine import EngineError
from ..policy import Actor, allowed
from ..store import ConflictError
from . import deps
from .context import get_context
from .i18n import get_lang
from .officer import _app_url, _audit, _conflict_texts, _disposal, _inbox_url, _load, _names, \
    _render_application, _signed_in, _version, flash, staff

__all__ = ["routes"]


def _parse_inputs(tr: Any, form: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(inputs for the workflow, values as typed for the form)."""
    inputs: dict[str, Any] = {}
    typed: dict[str, Any] = {}
    for spec in tr.inputs:
        if spec.type in ("checklist", "documents"):
            values = [v.strip() for v in form.getlist(spec.id) if isinstance(v, str) and v.strip()]
            inputs[spec.id] = values
            typed[spec.id] = values
            continue
        raw = form.get(spec.id)
        raw = raw.strip() if isinstance(raw, str) else ""
        if spec.type == "date":  # the Thai date widget's boxes (or one d/m/yyyy value, as the API sends)
            parts = [form.get(f"{spec.id}.{p}") for p in ("day", "month", "year")]
            parts = [p.strip() for p in parts if isinstance(p, str)]
            if any(parts):
                raw = "/".join(parts)
        typed[spec.id] = raw
        inputs[spec.id] = raw  # a date is read by the engine (dates.read_typed_date), BE or CE
    return inputs, typed


def _field_errors(exc: EngineError, lang: str, prefix: str) -> dict[str, str]:
    names = list(exc.details.get("inputs") or [])
    if exc.details.get("input"):
        names.append(exc.details["input"])
    return {f"{prefix}-{name}": exc.text(lang) for name in names}


async def take_transition(request: Request) -> Response:
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    record = _load(request, actor)
    lang = get_lang(request)
    transition_id = request.path_params["transition_id"]
    try:
        service = deps.engine(request).service_of(record)
    except EngineError as exc:
        raise HTTPException(exc.status, exc.text(lang)) from None
    tr = service.transitions.get(transition_id)
    if tr is None:
        raise HTTPException(404)
    form = await request.form()
    expected = _version(form)
    inputs, typed = _parse_inputs(tr, form)
    state = {"form": tr.id, "values": typed}
    try:
        # in a worker thread: a transition may render and sign documents (eservice.outputs)
        saved = await run_in_threadpool(deps.workflow(request).take, record["id"], tr.id, actor, inputs,
                                        expected_version=expected)
    except ConflictError:
        current = get_context(request).store.get_application(record["id"])
        th, en = _conflict_texts()
        return _render_application(request, actor, current, status_code=409, form_state=state,
                                   notice={"kind": "conflict", "th": th, "en": en})
    except EngineError as exc:
        if exc.code == "not_found":
            raise HTTPException(404) from None
        current = get_context(request).store.get_application(record["id"])
        state.update(error={"th": exc.th, "en": exc.en}, fields=_field_errors(exc, lang, tr.id))
        return _render_application(request, actor, current, status_code=exc.status, form_state=state)
    _audit(request, actor, "take_transition", saved, {"transition": tr.id, "from": record["state"],
                                                      "to": saved["state"]})
    number = saved.get("intake_number") or saved["id"]
    flash(request, "success", f"บันทึก “{tr.title.th}” ของคำขอเลขรับ {number} แล้ว",
          f"“{tr.title.get('en')}” recorded for application {number}.")
    return RedirectResponse(_inbox_url(request, saved["agency"]), status_code=303)


def _set_assignee(request: Request, actor: Actor, record: dict, assignee: str | None, expected: int) -> dict:
    if record["version"] != expected:
        raise ConflictError(record["id"], expected, record["version"])
    stamp = get_context(request).now().isoformat()
    previous = record.get("assignee")
    record["assignee"] = assignee
    history.append(record["events"], "assigned", actor.user_id, stamp,
                   {"assignee": assignee, "previous": previous, "ip": actor.ip})
    return get_context(request).store.update_application(record, expected)


def _back(request: Request, form: Any, record: Mapping[str, Any]) -> str:
    if form.get("next") == "inbox":
        return _inbox_url(request, record["agency"])
    return _app_url(request, record["id"])


async def claim(request: Request) -> Response:
    """Assign to me (A-R1): only an unassigned application; the version must still be current."""
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    record = _load(request, actor)
    form = await request.form()
    expected = _version(form)
    back = _back(request, form, record)
    if not allowed(actor, "claim", record) or record.get("closed"):
        raise HTTPException(403)
    if record.get("assignee") and record["assignee"] != actor.user_id:
        name = _names(request, record["agency"]).get(record["assignee"], record["assignee"])
        flash(request, "warning", f"คำขอนี้มีผู้รับผิดชอบแล้ว ({name})", f"This application is already assigned ({name}).")
        return RedirectResponse(back, status_code=303)
    try:
        saved = _set_assignee(request, actor, record, actor.user_id, expected)
    except ConflictError:
        th, en = _conflict_texts()
        flash(request, "warning", th, en)
        return RedirectResponse(_app_url(request, record["id"]), status_code=303)
    _audit(request, actor, "claim", saved)
    number = saved.get("intake_number") or saved["id"]
    flash(request, "success", f"ท่านเป็นผู้รับผิดชอบคำขอเลขรับ {number} แล้ว", f"Application {number} is now yours.")
    return RedirectResponse(back, status_code=303)


async def assign(request: Request) -> Response:
    """Assign to a colleague holding an officer role for this service (or to nobody)."""
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    record = _load(request, actor)
    form = await request.form()
    expected = _version(form)
    if not allowed(actor, "assign", record) or record.get("closed"):
        raise HTTPException(403)
    target = str(form.get("assignee") or "").strip()
    if target:
        people = {p["id"]: p for p in staff(request, record["agency"])}
        if target not in people:
            people = {p["id"]: p for p in staff(request, record["agency"], fresh=True)}
        if target not in people or not inbox.covers(people[target], None, record["service"]):
            th, en = "กรุณาเลือกเจ้าหน้าที่จากรายการ", "Choose an officer from the list."
            return _render_application(request, actor, record, status_code=400,
                                       form_state={"form": "assign", "error": {"th": th, "en": en},
                                                   "fields": {"assign-assignee": en if get_lang(request) == "en" else th}})
    try:
        saved = _set_assignee(request, actor, record, target or None, expected)
    except ConflictError:
        current = get_context(request).store.get_application(record["id"])
        th, en = _conflict_texts()
        return _render_application(request, actor, current, status_code=409,
                                   notice={"kind": "conflict", "th": th, "en": en})
    _audit(request, actor, "assign", saved, {"assignee": target or None})
    name = _names(request, record["agency"]).get(target, target)
    number = saved.get("intake_number") or saved["id"]
    if target:
        flash(request, "success", f"มอบหมายคำขอเลขรับ {number} ให้ {name} แล้ว", f"Application {number} assigned to {name}.")
    else:
        flash(request, "success", f"ยกเลิกการมอบหมายคำขอเลขรับ {number} แล้ว", f"Application {number} is unassigned.")
    return RedirectResponse(_back(request, form, saved), status_code=303)


async def refer(request: Request) -> Response:
    """RC-2: answer a request sent to the wrong agency with the name of the right one."""
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    record = _load(request, actor)
    if not allowed(actor, "refer", record):
        raise HTTPException(403)
    form = await request.form()
    expected = _version(form)
    typed = {k: str(form.get(k) or "").strip() for k in ("referred_to", "referred_to_agency", "contact", "note")}
    state = {"form": "refer", "values": typed}
    try:
        saved = referral.refer(deps.engine(request), record["id"], actor, agency_name=typed["referred_to"],
                               agency_code=typed["referred_to_agency"], contact=typed["contact"], note=typed["note"],
                               expected_version=expected)
    except ConflictError:
        current = get_context(request).store.get_application(record["id"])
        th, en = _conflict_texts()
        return _render_application(request, actor, current, status_code=409, form_state=state,
                                   notice={"kind": "conflict", "th": th, "en": en})
    except EngineError as exc:
        if exc.code == "not_found":
            raise HTTPException(404) from None
        state.update(error={"th": exc.th, "en": exc.en}, fields=_field_errors(exc, get_lang(request), "refer"))
        return _render_application(request, actor, get_context(request).store.get_application(record["id"]),
                                   status_code=exc.status, form_state=state)
    referred_to = saved["events"][-1]["data"].get("referred_to")
    _audit(request, actor, "refer", saved, {"referred_to": referred_to})
    number = saved.get("intake_number") or saved["id"]
    flash(request, "success", f"แจ้งผู้ยื่นคำขอเลขรับ {number} ให้ติดต่อ {referred_to} แล้ว",
          f"The applicant of {number} was referred to {referred_to}.")
    return RedirectResponse(_inbox_url(request, saved["agency"]), status_code=303)


async def dispose(request: Request) -> Response:
    """The head of agency approves a disposal (a status change; nothing is deleted)."""
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    record = _load(request, actor)
    if not allowed(actor, "approve_disposal", record):
        raise HTTPException(403)
    form = await request.form()
    expected = _version(form)
    reason = str(form.get("reason") or "").strip()
    back_to_app = form.get("next") == "application"
    state = {"form": "dispose", "app": record["id"], "values": {"reason": reason}}
    try:
        saved = referral.dispose(deps.engine(request), record["id"], actor, reason=reason, expected_version=expected)
    except ConflictError:
        th, en = _conflict_texts()
        if back_to_app:
            current = get_context(request).store.get_application(record["id"])
            return _render_application(request, actor, current, status_code=409, form_state=state,
                                       notice={"kind": "conflict", "th": th, "en": en})
        flash(request, "warning", th, en)
        return RedirectResponse(str(request.app.url_path_for("officer_disposal", agency=record["agency"])),
                                status_code=303)
    except EngineError as exc:
        if exc.code == "not_found":
            raise HTTPException(404) from None
        state.update(error={"th": exc.th, "en": exc.en},
                     fields={f"dispose-{record['id']}-reason": exc.text(get_lang(request))})
        if back_to_app:
            return _render_application(request, actor, get_context(request).store.get_application(record["id"]),
                                       status_code=exc.status, form_state=state)
        return _disposal(request, actor, record["agency"], status_code=exc.status, form_state=state)
    _audit(request, actor, "approve_disposal", saved, {"reason": reason, "state": saved["state"]})
    number = saved.get("intake_number") or saved["id"]
    flash(request, "success", f"จำหน่ายเรื่องคำขอเลขรับ {number} แล้ว", f"Application {number} has been disposed of.")
    return RedirectResponse(str(request.app.url_path_for("officer_disposal", agency=saved["agency"])),
                            status_code=303)


routes = [
    Route("/officer/applications/{app_id:app_id}/claim", claim, name="officer_claim", methods=["POST"]),
    Route("/officer/applications/{app_id:app_id}/assign", assign, name="officer_assign", methods=["POST"]),
    Route("/officer/applications/{app_id:app_id}/transitions/{transition_id:ident}", take_transition, name="officer_take",
          methods=["POST"]),
    Route("/officer/applications/{app_id:app_id}/refer", refer, name="officer_refer", methods=["POST"]),
    Route("/officer/applications/{app_id:app_id}/dispose", dispose, name="officer_dispose", methods=["POST"]),
]
