"""The officers' side: inbox, application view, transitions, referral, disposal
(issue #4; A-R1…A-R6, A-A1…A-A6, PR-1, PR-2, PR-5, PR-13, RC-1, RC-2, CH-4, A-X1).

Routes (names for ``url()``):

=================================================  ======================  ==================================
``GET  /officer``                                  ``officer_home``        the inbox (one agency) or a choice
                                                                           of agencies (several)
``GET  /officer/{agency}``                         ``officer_inbox``       one agency's inbox; filters
                                                                           ``service``, ``state``,
                                                                           ``assignee`` (me/unassigned/anyone),
                                                                           ``due`` (overdue/warning), ``page``
``GET  /officer/{agency}/disposal``                ``officer_disposal``    applications proposed for disposal
``GET  /officer/applications/{app_id}``            ``officer_application`` everything about one application
``GET  /officer/applications/{app_id}/files/{sha256}``  ``officer_file``   one of its documents
                                                                           (images and text inline unless
                                                                           ``?download=1``; PDF and others
                                                                           always as attachment)
=================================================  ======================  ==================================

The actions on an application (claim, assign, transitions, referral, disposal)
are in :mod:`eservice.web.officer_actions`.  Every decision goes through
:mod:`eservice.policy`.  An application (or file) the officer may not see
answers 404, exactly like one that does not exist, so ids cannot be probed
across agencies.  Every POST carries the version the
officer saw (``expected_version``): when someone else acted first the page
comes back with the new state and a message (A-R3), nothing overwritten.

Every view of personal data (the application page, a document) and every
action is written to the audit log (:class:`eservice.audit.AuditLog`).

``changed`` (new, or the applicant acted) is kept until an officer takes a
workflow transition — opening, claiming or assigning does not clear it (see
:mod:`eservice.inbox`).
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from .. import events as history
from .. import inbox, referral
from ..engine import EngineError
from ..forms import ADDRESS_PARTS, pages as form_pages
from ..outputs import issued_documents
from ..policy import OFFICER_ROLES, Actor, allowed
from ..renderers.html import format_money, format_number, render
from ..renderers import dates
from . import deps
from .context import get_context
from .i18n import get_lang

__all__ = ["routes", "officer_agencies", "audit_log", "flash", "staff"]

log = logging.getLogger("eservice.web.officer")

FLASH = "officer_flash"
STAFF_TTL = 60.0  # seconds the list of colleagues is kept
# Shown in the browser: images inline, text in a frame; anything else, PDF included, is
# downloaded, so no PDF (which may carry scripts) is ever rendered from our origin (#17).
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/bmp", "image/gif"})
INLINE_FRAMES = frozenset({"text/plain"})
# Every served file: a sandboxed document that may load nothing (no script, no plugin).
FILE_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"

EVENT_NAMES = {
    "draft_started": ("เริ่มกรอกคำขอ", "Draft started"),
    "submitted": ("ยื่นคำขอ", "Submitted"),
    "transition": ("ดำเนินการ", "Action"),
    "document_added": ("แนบเอกสารเพิ่ม", "Document added"),
    "assigned": ("มอบหมายผู้รับผิดชอบ", "Assigned"),
    "referred": ("แจ้งหน่วยงานที่รับผิดชอบ", "Referred to another agency"),
    "disposed": ("จำหน่ายเรื่อง", "Disposed of"),
    "mail_bounced": ("อีเมลถึงผู้ยื่นคำขอถูกตีกลับ (ติดต่อไม่ได้)", "Mail to the applicant bounced (cannot be reached)"),
    "effect:issue_fee": ("แจ้งค่าธรรมเนียม", "Fee issued"),
    "effect:draft_licence": ("จัดทำร่างใบอนุญาต", "Licence drafted"),
    "effect:sign_licence": ("ลงนามใบอนุญาต", "Licence signed"),
    "effect:publish": ("ลงทะเบียนใบอนุญาต", "Licence published"),
    "effect:issue_letter": ("ออกหนังสือ", "Letter issued"),
}
EFFECT_DETAILS = {  # what an effect event shows in the history: who signed what (IS-2)
    "fee": ("ค่าธรรมเนียม", "Fee"), "amount": ("จำนวนเงิน", "Amount"), "licence": ("ใบอนุญาต", "Licence"),
    "number": ("เลขที่", "Number"), "letter": ("หนังสือ", "Letter"), "signer": ("ลงนามโดย", "Signed by"),
    "position": ("ตำแหน่ง", "Position"), "level": ("ลายมือชื่อดิจิทัล", "Digital signature"),
}
REASONS = {
    "proposed": ("ขั้นตอนของบริการเสนอให้จำหน่ายเรื่อง", "The service's workflow proposes disposal"),
    "deadline": ("ผู้ยื่นคำขอไม่ดำเนินการภายในกำหนด", "The applicant missed the deadline"),
    "unreachable": ("ติดต่อผู้ยื่นคำขอไม่ได้ (อีเมลถูกตีกลับ) เกิน 30 วัน",
                    "The applicant cannot be reached (mail bounced) for over 30 days"),
}


# ------------------------------------------------------------------ helpers
def _pick(request: Request, th: str, en: str) -> str:
    return en if get_lang(request) == "en" else th


def _t(value: Any, lang: str) -> str:
    from .i18n import text
    return text(value, lang)


def flash(request: Request, kind: str, th: str, en: str) -> None:
    """A message shown once on the next officer page (``kind``: success, warning, error)."""
    request.session[FLASH] = {"kind": kind, "th": th, "en": en}


def audit_log(request: Request):
    """The platform's audit log, or None while :mod:`eservice.audit` is not installed."""
    shared = getattr(deps, "audit", None)
    if callable(shared):
        return shared(request)
    ctx = get_context(request)
    found = ctx.extra.get("audit_log")
    if found is None:
        try:
            from ..audit import AuditLog
        except ImportError:  # pragma: no cover - the audit module ships with the platform
            return None
        found = ctx.extra["audit_log"] = AuditLog(ctx.settings.data, ctx.clock)
    return found


def _audit(request: Request, actor: Actor, action: str, record: Mapping[str, Any],
           details: Mapping[str, Any] | None = None) -> None:
    trail = audit_log(request)
    if trail is not None:
        trail.record(actor, action, target=record["id"], agency=record.get("agency", ""),
                     details=dict(details or {}), ip=actor.ip, user_agent=actor.user_agent)


def officer_agencies(request: Request, actor: Actor) -> list[str]:
    """The agencies whose inbox this actor may open (CH-4), in catalogue order."""
    catalogue = get_context(request).catalogue
    return [code for code in catalogue.agencies if allowed(actor, "view_inbox", agency=code)]


def staff(request: Request, agency: str, *, fresh: bool = False) -> list[dict]:
    """The agency's officers (for assignment and names), kept for a minute."""
    ctx = get_context(request)
    cache = ctx.extra.setdefault("officer_staff", {"at": 0.0, "data": None})
    if fresh or cache["data"] is None or time.monotonic() - cache["at"] > STAFF_TTL:
        users = ctx.store.collection("users").all()
        declared = {r for roles in deps.service_roles(request).values() for r in roles}  # engineer, ...
        cache.update(data=inbox.staff_by_agency(users, (*OFFICER_ROLES, *declared)), at=time.monotonic())
    return cache["data"].get(agency, [])


def _names(request: Request, agency: str) -> dict[str, str]:
    return {p["id"]: p["name"] for p in staff(request, agency)}


def _signed_in(request: Request) -> Actor | Response:
    if deps.current_user(request) is None:
        return deps.login_redirect(request)
    return deps.current_actor(request)


def _service_of(ctx, summary: Mapping[str, Any]):
    return ctx.catalogue.get(summary["service"], summary.get("service_version"))


def _load(request: Request, actor: Actor) -> dict[str, Any]:
    """The application in the path, if this actor may see it; else 404."""
    from ..store import NotFoundError

    app_id = request.path_params["app_id"]
    try:
        record = get_context(request).store.get_application(app_id)
    except (NotFoundError, ValueError):
        raise HTTPException(404) from None
    if not allowed(actor, "view_application", record) or not actor.is_officer:
        raise HTTPException(404)
    return record


def _version(form: Any) -> int:
    try:
        return int(str(form.get("expected_version", "")).strip())
    except ValueError:
        raise HTTPException(400, "expected_version") from None


def _inbox_url(request: Request, agency: str) -> str:
    return str(request.app.url_path_for("officer_inbox", agency=agency))


def _app_url(request: Request, app_id: str) -> str:
    return str(request.app.url_path_for("officer_application", app_id=app_id))


def _conflict_texts() -> tuple[str, str]:
    return ("มีผู้อื่นดำเนินการกับคำขอนี้ก่อนท่าน ข้อมูลด้านล่างเป็นสถานะล่าสุด กรุณาตรวจสอบแล้วดำเนินการอีกครั้งหากยังจำเป็น",
            "Someone else acted on this application first. Below is its current state; "
            "check it and act again if still needed.")


# ------------------------------------------------------------------ inbox
async def home(request: Request) -> Response:
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    agencies = officer_agencies(request, actor)
    if not agencies:
        raise HTTPException(403)
    if len(agencies) == 1:
        return _inbox_page(request, actor, agencies[0])
    ctx = get_context(request)
    engine = deps.engine(request)
    now = ctx.now()
    choices = []
    for code in agencies:
        rows = inbox.build_rows(ctx.store.open_applications(code), actor, now,
                                service_of=lambda s: _service_of(ctx, s), calendar_for=engine.calendar)
        choices.append({"agency": ctx.catalogue.agencies[code], "counts": inbox.counts(rows)})
    return render(request, "officer/agencies.html", choices=choices, flash=request.session.pop(FLASH, None))


async def agency_inbox(request: Request) -> Response:
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    agency = request.path_params["agency"]
    if agency not in officer_agencies(request, actor):
        raise HTTPException(404)
    return _inbox_page(request, actor, agency)


def _inbox_page(request: Request, actor: Actor, agency: str) -> Response:
    ctx = get_context(request)
    engine = deps.engine(request)
    now = ctx.now()
    filters = inbox.Filters.from_query(request.query_params)
    all_rows = inbox.build_rows(ctx.store.open_applications(agency), actor, now,
                                service_of=lambda s: _service_of(ctx, s), calendar_for=engine.calendar)
    rows = inbox.sort_rows(inbox.apply_filters(all_rows, filters, actor.user_id))
    shown, page, pages = inbox.paginate(rows, filters.page)
    services = [s for s in ctx.catalogue.of_agency(agency)
                if allowed(actor, "view_inbox", agency=agency, service=s.id)]
    states: dict[str, Any] = {}
    for svc in services:
        for state in svc.definition.workflow.states:
            if not state.final:
                states.setdefault(state.id, state.title)
    for row in all_rows:  # states of older versions still in flight
        states.setdefault(row.state, row.state_title)
    names = _names(request, agency)
    agencies = ctx.catalogue.agencies
    here = [dict(r, from_name=agencies[r["from"]].name if r.get("from") in agencies else r.get("from"))
            for r in referral.referred_here(engine, agency)]
    return render(
        request, "officer/inbox.html", unreachable=referral.unreachable_applications(ctx.store, all_rows_summaries(all_rows)),
        referred_here=here, agency=ctx.catalogue.agencies[agency], rows=shown, total=len(rows),
        counts=inbox.counts(all_rows), filters=filters, page=page, pages=pages, services=services,
        states=sorted(states.items(), key=lambda kv: _t(kv[1], get_lang(request))), names=names,
        me=actor.user_id, many_agencies=len(officer_agencies(request, actor)) > 1,
        may_claim={r.id for r in shown if not r.assignee and allowed(actor, "claim", r.summary)},
        may_report=allowed(actor, "view_reports", agency=agency),
        may_announce=allowed(actor, "publish_announcement", agency=agency),  # CH-2 (web/announcements.py)
        flash=request.session.pop(FLASH, None), payments_due=_payments_due(request, actor, agency))


def _payments_due(request: Request, actor: Actor, agency: str) -> dict | None:
    """For finance officers: proofs to verify and flagged payments (eservice.web.payments, #8)."""
    from .payment_panels import payments_due

    return payments_due(request, actor, agency)


def all_rows_summaries(rows: list) -> list[Mapping[str, Any]]:
    return [r.summary for r in rows]


# ------------------------------------------------------------------ the application page
def _display(field: Any, value: Any, lang: str) -> Any:
    """An answer as people read it: text, or a list of texts, or group items."""
    kind = field.type.value
    if value is None or value == "" or value == []:
        return None
    if kind == "money":
        return format_money(value, lang)
    if kind == "number":
        shown = format_number(value)
        return f"{shown} {_t(field.unit, lang)}" if field.unit else shown
    if kind == "date":
        try:
            return dates.format_date(value, lang, long=True)
        except (TypeError, ValueError):
            return str(value)
    if kind in ("yes_no", "consent"):
        if kind == "consent":
            return ("ยินยอม" if lang == "th" else "Agreed") if value else ("ไม่ยินยอม" if lang == "th" else "Not agreed")
        return ("ใช่" if lang == "th" else "Yes") if value is True else ("ไม่ใช่" if lang == "th" else "No")
    if kind == "choice":
        option = next((o for o in field.options if o.value == value), None)
        return _t(option.label, lang) if option else str(value)
    if kind == "checklist":
        labels = {o.value: _t(o.label, lang) for o in field.options}
        return [labels.get(v, str(v)) for v in (value if isinstance(value, list) else [value])]
    if kind == "thai_address" and isinstance(value, Mapping):
        return " ".join(str(value.get(p) or "") for p in ADDRESS_PARTS if value.get(p))
    if kind == "group" and isinstance(value, list):
        items = []
        for item in value:
            if not isinstance(item, Mapping):
                continue
            items.append([{"label": _t(c.label, lang), "value": _display(c, item.get(c.id), lang)}
                          for c in field.fields if item.get(c.id) not in (None, "", [])])
        return {"items": items, "item_label": _t(field.item_label, lang) if field.item_label else ""}
    return str(value)


def _answers(service: Any, record: Mapping[str, Any], lang: str) -> list[dict]:
    answers = record.get("answers") or {}
    out = []
    for section, page in form_pages(service):
        rows = []
        for field in page.fields:
            value = _display(field, answers.get(field.id), lang)
            if value is None:
                continue
            rows.append({"id": field.id, "label": _t(field.label, lang), "value": value,
                         "long": field.type.value == "long_text", "kind": field.type.value})
        if rows:
            out.append({"section": _t(section.title, lang), "page": _t(page.title, lang), "rows": rows})
    return out


def _documents(service: Any, record: Mapping[str, Any]) -> list[dict]:
    declared = {d.id: d for d in service.definition.documents}
    out = []
    for doc_id, items in (record.get("documents") or {}).items():
        doc = declared.get(doc_id)
        files = []
        for item in items:
            media = item.get("media_type") or "application/octet-stream"
            files.append(dict(item, preview="image" if media in INLINE_IMAGES
                              else "frame" if media in INLINE_FRAMES else None,
                              pdf=media == "application/pdf"))
        out.append({"id": doc_id, "title": doc.title if doc else {"th": doc_id, "en": doc_id}, "files": files})
    order = list(declared)
    out.sort(key=lambda d: order.index(d["id"]) if d["id"] in order else len(order))
    return out


def _duration(value: dt.timedelta, day: dt.timedelta, lang: str) -> str:
    """Office time as working days, hours and minutes."""
    seconds = max(0, int(value.total_seconds()))
    day_s = max(1, int(day.total_seconds()))
    days, rest = divmod(seconds, day_s)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if lang == "en":
        parts = [f"{days} working day{'s' if days != 1 else ''}" if days else "",
                 f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
        return " ".join(p for p in parts if p) or "0 min"
    parts = [f"{days} วันทำการ" if days else "", f"{hours} ชั่วโมง" if hours else "",
             f"{minutes} นาที" if minutes else ""]
    return " ".join(p for p in parts if p) or "0 นาที"


def _sla(request: Request, record: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    """The SLA clock (A-R5, A-A6): due, used, left, paused."""
    flow = deps.workflow(request)
    engine = deps.engine(request)
    lang = get_lang(request)
    status = flow.sla_status(record, now)
    calendar = engine.calendar(record["agency"])
    pauses = [(history_instant(a), history_instant(b)) for a, b in record.get("sla_paused") or []]
    intake = history_instant(record.get("intake_at"))
    out: dict[str, Any] = {"state": status["state"], "due": status.get("due"),
                           "paused": bool(pauses and pauses[-1][1] is None),
                           "paused_since": pauses[-1][0] if pauses and pauses[-1][1] is None else None}
    if intake is None:
        return out
    until = history_instant(record.get("closed_at")) if record.get("closed") else now
    until = until or now
    day = calendar.office_hours.length
    out["used"] = _duration(calendar.working_time(intake, until, pauses), day, lang)
    due = status.get("due")
    if due is not None and not record.get("closed"):
        if now <= due:
            out["left"] = _duration(calendar.working_time(now, due, pauses if out["paused"] else ()), day, lang)
        else:
            out["overdue_by"] = _duration(calendar.working_time(due, now, pauses), day, lang)
    out["paused_total"] = _duration(sum((calendar.working_time(a, b or until) for a, b in pauses if a),
                                        dt.timedelta()), day, lang) if pauses else None
    return out


def history_instant(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _input_value(spec: Any, value: Any, lang: str, service: Any) -> Any:
    if spec is None:
        return value if not isinstance(value, list) else ", ".join(map(str, value))
    if spec.type in ("choice", "checklist") and spec.options:
        labels = {o.value: _t(o.label, lang) for o in spec.options}
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(v, str(v)) for v in values)
    if spec.type == "documents":
        titles = {d.id: _t(d.title, lang) for d in service.definition.documents}
        values = value if isinstance(value, list) else [value]
        return ", ".join(titles.get(v, str(v)) for v in values)
    if spec.type == "date":
        try:
            return dates.format_date(value, lang, long=True)
        except (TypeError, ValueError):
            return str(value)
    if spec.type == "yes_no":
        return ("ใช่" if lang == "th" else "Yes") if value else ("ไม่ใช่" if lang == "th" else "No")
    if spec.type == "money":
        return format_money(value, lang)
    return value


def _history(request: Request, service: Any, record: Mapping[str, Any]) -> list[dict]:
    lang = get_lang(request)
    names = _names(request, record["agency"])
    transitions = service.transitions
    states = service.states
    out = []
    for event in record.get("events") or []:
        kind = event.get("type", "")
        data = event.get("data") or {}
        th, en = EVENT_NAMES.get(kind, (kind, kind))
        title = en if lang == "en" else th
        details: list[tuple[str, Any]] = []
        if kind == "transition":
            tr = transitions.get(data.get("transition", ""))
            if tr is not None:
                title = _t(tr.title, lang)
                specs = {i.id: i for i in tr.inputs}
            else:
                specs = {}
            for key, value in (data.get("inputs") or {}).items():
                spec = specs.get(key)
                details.append((_t(spec.label, lang) if spec else key, _input_value(spec, value, lang, service)))
        elif kind == "assigned":
            who = data.get("assignee")
            details.append((_pick(request, "ผู้รับผิดชอบ", "Assigned to"),
                            names.get(who, who) if who else _pick(request, "ไม่มี (ยกเลิกการมอบหมาย)", "nobody")))
        elif kind == "referred":
            details.append((_pick(request, "หน่วยงานที่รับผิดชอบ", "Responsible agency"), data.get("referred_to")))
            if data.get("note"):
                details.append((_pick(request, "หมายเหตุ", "Note"), data["note"]))
        elif kind == "disposed":
            details.append((_pick(request, "เหตุผล", "Reason"), data.get("reason")))
        elif kind == "mail_bounced":
            details.append((_pick(request, "อีเมล", "Address"), data.get("address")))
            details.append((_pick(request, "รหัสสถานะ", "Status"), f"{data.get('status', '')} {data.get('diagnostic', '')}"))
        elif kind == "submitted":
            details.append((_pick(request, "เลขรับ", "Intake number"), data.get("intake_number")))
            details.append((_pick(request, "เวลารับคำขอ", "Received at"),
                            dates.format_datetime(data.get("intake_at"), lang)))
        elif kind == "document_added":
            details.append((_pick(request, "ไฟล์", "File"), data.get("filename")))
        elif kind.startswith("effect:"):
            for key, (label_th, label_en) in EFFECT_DETAILS.items():
                if data.get(key):
                    details.append((label_en if lang == "en" else label_th,
                                    format_money(data[key], lang) if key == "amount" else data[key]))
        moved = None
        if data.get("from") and data.get("to") and data["from"] != data["to"]:
            def title_of(state_id: str) -> str:
                state = states.get(state_id)
                return _t(state.title, lang) if state else state_id
            moved = (title_of(data["from"]), title_of(data["to"]))
        actor = event.get("actor") or ""
        if actor == record.get("applicant"):
            who = _pick(request, "ผู้ยื่นคำขอ", "Applicant")
        elif actor == "system" and kind == "mail_bounced":
            who = _pick(request, "ระบบ (รายงานผลการส่งอีเมล)", "System (delivery report)")
        elif actor == "system":
            who = _pick(request, "ระบบ (ตามกำหนดเวลา)", "System (timer)")
        else:
            who = names.get(actor, actor)
        out.append({"seq": event.get("seq"), "at": event.get("at"), "title": title, "who": who,
                    "moved": moved, "details": [(k, v) for k, v in details if v not in (None, "", [])]})
    return out


def _forms(service: Any, record: Mapping[str, Any], available: list) -> list[dict]:
    """The transitions allowed now, each with the inputs its definition asks for."""
    docs = [(d.id, d.title) for d in service.definition.documents]
    out = []
    for tr in available:
        inputs = []
        for spec in tr.inputs:
            options = [(o.value, o.label) for o in spec.options]
            if spec.type == "documents":
                options = docs
            inputs.append({"spec": spec, "options": options, "id": f"{tr.id}-{spec.id}"})
        target = service.states.get(tr.to)
        out.append({"tr": tr, "inputs": inputs, "target": target,
                    "closes": bool(target and target.final)})
    return out


def _render_application(request: Request, actor: Actor, record: dict[str, Any], *, status_code: int = 200,
                        form_state: Mapping[str, Any] | None = None, notice: Mapping[str, Any] | None = None):
    ctx = get_context(request)
    engine = deps.engine(request)
    lang = get_lang(request)
    try:
        service = engine.service_of(record)
    except EngineError as exc:
        raise HTTPException(exc.status, exc.text(lang)) from None
    now = ctx.now()
    flow = deps.workflow(request)
    available = flow.available(record, actor)
    forms = _forms(service, record, available)
    defines_referral = any(f["target"] is not None and f["target"].outcome == "referred" for f in forms)
    candidate = None
    if allowed(actor, "approve_disposal", record) and not record.get("closed"):
        found = referral.disposal_candidates(engine, record["agency"], now, actor=actor, only=record["id"])
        candidate = found[0] if found else None
    people = staff(request, record["agency"])
    colleagues = [p for p in people if inbox.covers(p, None, record["service"])]
    state = service.states.get(record["state"])
    return render(
        request, "officer/application.html",
        unreachable=referral.unreachable_applications(ctx.store, [record]).get(record["id"]), status_code=status_code, record=record, service=service,
        state=state, agency=ctx.catalogue.agencies.get(record["agency"]),
        answers=_answers(service, record, lang), documents=_documents(service, record),
        signature=record.get("signature"), signature_ok=deps.applications(request).verify_signature(record),
        signature_state=deps.applications(request).signature_state(record),
        history=_history(request, service, record), chain_problems=history.verify_chain(record.get("events") or []),
        sla=_sla(request, record, now), forms=forms, form_state=form_state or {}, notice=notice,
        names={p["id"]: p["name"] for p in people}, colleagues=colleagues,
        may_claim=allowed(actor, "claim", record) and not record.get("closed")
        and record.get("assignee") != actor.user_id and not record.get("assignee"),
        may_assign=allowed(actor, "assign", record) and not record.get("closed"),
        may_refer=allowed(actor, "refer", record) and not record.get("closed"),  # RC-2: every service
        defines_referral=defines_referral, candidate=candidate,
        reasons=REASONS, other_agencies=[a for c, a in ctx.catalogue.agencies.items() if c != record["agency"]],
        may_report=allowed(actor, "view_reports", agency=record["agency"]),
        issued=issued_documents(record, service), drafts=_drafts(service, record),
        me=actor.user_id, flash=request.session.pop(FLASH, None), payment=_payment_panel(request, actor, record, service))


def _payment_panel(request: Request, actor: Actor, record: Mapping[str, Any], service: Any) -> dict | None:
    """The notice, proofs, payments and finance forms (eservice.web.payments, #8)."""
    from .payment_panels import officer_panel

    return officer_panel(request, actor, record, service)


def _drafts(service: Any, record: Mapping[str, Any]) -> list[dict]:
    """Licences drafted and not yet signed: the officers may preview them (A-L3)."""
    titles = {x.id: x.title for x in service.definition.outputs.licences}
    return [{"id": lid, "title": titles.get(lid, lid), "at": item.get("drafted_at")}
            for lid, item in (record.get("licences") or {}).items() if item.get("status") == "draft"]


async def application_page(request: Request) -> Response:
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    record = _load(request, actor)
    _audit(request, actor, "view_application", record, {"page": "officer_application"})
    return _render_application(request, actor, record)


async def application_file(request: Request) -> Response:
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    record = _load(request, actor)
    sha = request.path_params["sha256"]
    found = next(((doc_id, item) for doc_id, items in (record.get("documents") or {}).items()
                  for item in items if item.get("sha256") == sha), None)
    files = get_context(request).files
    if found is None or files is None or not files.exists(sha):
        raise HTTPException(404)
    doc_id, item = found
    media = item.get("media_type") or "application/octet-stream"
    inline = (media in INLINE_IMAGES or media in INLINE_FRAMES) and request.query_params.get("download") != "1"
    _audit(request, actor, "view_document", record, {"document": doc_id, "sha256": sha,
                                                     "disposition": "inline" if inline else "attachment"})
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
               "Cross-Origin-Resource-Policy": "same-origin", "Content-Security-Policy": FILE_CSP}
    if inline:  # may be framed by our own application page, nothing else
        headers["X-Frame-Options"] = "SAMEORIGIN"
    return FileResponse(files.path(sha), media_type=media, filename=item.get("filename") or sha,
                        headers=headers, content_disposition_type="inline" if inline else "attachment")


# ------------------------------------------------------------------ disposal (PR-2, A-R6)
async def disposal_page(request: Request) -> Response:
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    agency = request.path_params["agency"]
    if agency not in officer_agencies(request, actor):
        raise HTTPException(404)
    return _disposal(request, actor, agency)


def _disposal(request: Request, actor: Actor, agency: str, *, status_code: int = 200,
              form_state: Mapping[str, Any] | None = None) -> Response:
    ctx = get_context(request)
    candidates = referral.disposal_candidates(deps.engine(request), agency, ctx.now(), actor=actor)
    return render(request, "officer/disposal.html", status_code=status_code, agency=ctx.catalogue.agencies[agency],
                  candidates=candidates, reasons=REASONS, may_approve=allowed(actor, "approve_disposal", agency=agency),
                  may_report=allowed(actor, "view_reports", agency=agency),
                  names=_names(request, agency), form_state=form_state or {},
                  flash=request.session.pop(FLASH, None))


routes = [
    Route("/officer", home, name="officer_home"),
    Route("/officer/applications/{app_id:app_id}", application_page, name="officer_application"),
    Route("/officer/applications/{app_id:app_id}/files/{sha256:sha256}", application_file, name="officer_file"),
    Route("/officer/{agency:slug}/disposal", disposal_page, name="officer_disposal"),
    Route("/officer/{agency:slug}", agency_inbox, name="officer_inbox"),
]
