"""Definitions through the web (issue #9 item 4; A-SP1..A-SP5, A-X1, CH-4).

An agency's ``service_editor`` edits a service's YAML in the browser, sees the
problems of ``eservice check`` at their lines (the same loader and checker,
:func:`eservice.publishing.check_text`), previews every e-Form page with sample
answers, compares the draft with the live version, uploads templates and
sample files, and submits; another editor or the agency admin approves, and
the new version is live in every process without a restart
(:mod:`eservice.publishing`).  Every page works without JavaScript (a plain
textarea); ``static/editor.js`` (CodeMirror 6, built by
``scripts/editor/build.sh``) adds highlighting, completion from the JSON
Schema and live checking.

======================================================  ==============================
``/admin/services``                                     ``admin_services``
``/admin/services/schema.json``                         ``admin_services_schema``
``/admin/services/{service_id}``                        ``admin_service_edit`` (GET, POST)
``/admin/services/{service_id}/check``                  ``admin_service_check`` (POST, JSON)
``/admin/services/{service_id}/preview``                ``admin_service_preview``
``/admin/services/{service_id}/diff``                   ``admin_service_diff``
``/admin/services/{service_id}/approve``                ``admin_service_approve`` (POST)
``/admin/services/{service_id}/open``                   ``admin_service_open`` (POST)
``/admin/services/{service_id}/files``                  ``admin_service_files`` (POST)
======================================================  ==============================
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ... import forms, publishing
from ...engine import ExprEnvironment
from ...policy import Actor, allowed
from ...renderers.html import render
from ...spec.loader import compile_service
from ...spec.schema import definition_schema
from ...spec.yamlsource import parse_yaml
from ..context import get_context
from ..deps import current_actor, engine, login_redirect
from ..i18n import get_lang
from ..officer import audit_log

__all__ = ["routes"]

MAX_TEXT = 512 * 1024  # characters of YAML accepted from the editor
MAX_UPLOAD = 10 * 1024 * 1024
FLASH = "admin_services_flash"


# ------------------------------------------------------------------ helpers
def _actor_or_redirect(request: Request) -> Actor | Response:
    actor = current_actor(request)
    if not actor.user_id:
        return login_redirect(request)
    return actor


def _may_open(actor: Actor, service: Any) -> bool:
    code = service.agency.code
    return allowed(actor, "edit_definition", agency=code, service=service.id) or \
        allowed(actor, "approve_definition", agency=code, service=service.id)


def _service(request: Request, actor: Actor) -> Any:
    ctx = get_context(request)
    service = ctx.catalogue.latest(request.path_params["service_id"])
    if service is None or not _may_open(actor, service):
        raise HTTPException(404)  # another agency's service is not there, as in CH-4
    return service


def _flash(request: Request, kind: str, th: str, en: str) -> None:
    request.session[FLASH] = {"kind": kind, "th": th, "en": en}


def _see(request: Request, name: str, **params: Any) -> RedirectResponse:
    return RedirectResponse(request.url_for(name, **params).path, status_code=303)


def _problem_dicts(problems: list) -> list[dict[str, Any]]:
    return [{"line": p.line, "column": p.column, "path": p.path, "th": p.th, "en": p.en,
             "fix_th": p.fix_th, "fix_en": p.fix_en} for p in problems]


def _text_of(request: Request, service: Any) -> tuple[str, dict | None]:
    """The text the editor shows: the draft, else the live text with ``version`` raised."""
    draft = publishing.draft_of(get_context(request).store, service.id)
    return (draft["text"] if draft else publishing.next_version_text(service)), draft


async def _form_text(request: Request) -> tuple[Any, str]:
    form = await request.form()
    text = form.get("text")
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise HTTPException(413 if isinstance(text, str) else 400)
    return form, text.replace("\r\n", "\n")


# ------------------------------------------------------------------ list
async def services_list(request: Request) -> Response:
    actor = _actor_or_redirect(request)
    if isinstance(actor, Response):
        return actor
    ctx = get_context(request)
    rows = []
    ids = sorted({sid for sid, _ in ctx.catalogue.services})
    for sid in ids:
        service = ctx.catalogue.latest(sid)
        if service is None or not _may_open(actor, service):
            continue
        rows.append({"service": service, "draft": publishing.draft_of(ctx.store, sid),
                     "closed": sid in ctx.catalogue.closed})
    if not rows:
        raise HTTPException(403)
    return render(request, "admin/services/list.html", rows=rows)


async def schema(request: Request) -> Response:
    """The exported JSON Schema (the editor's completion), served from the package."""
    actor = _actor_or_redirect(request)
    if isinstance(actor, Response):
        return actor
    return JSONResponse(definition_schema("service"))


# ------------------------------------------------------------------ editor
async def _editor(request: Request, service: Any, actor: Actor, text: str, draft: dict | None, *,
                  problems: list | None = None, checked: bool = False, status_code: int = 200) -> Response:
    ctx = get_context(request)
    if problems is None:  # the check renders templates: off the event loop
        _, problems = await run_in_threadpool(publishing.check_text, ctx.catalogue, service, text)
        checked = True
    submitted = bool(draft and draft.get("status") == "submitted")
    return render(
        request, "admin/services/edit.html", status_code=status_code, service=service, text=text, draft=draft,
        problems=_problem_dicts(problems), checked=checked, flash=request.session.pop(FLASH, None),
        closed=service.id in ctx.catalogue.closed, submitted=submitted,
        may_edit=allowed(actor, "edit_definition", agency=service.agency.code, service=service.id),
        may_approve=submitted and publishing.may_approve(actor, service) and draft["prepared_by"] != actor.user_id,
        may_open=publishing.may_approve(actor, service),
        versions=publishing.versions_of(ctx.store, service.id),
        files=_upload_targets(service, _draft_service(request, service) if draft else None),
        line_count=text.count("\n") + 1)


async def edit(request: Request) -> Response:
    actor = _actor_or_redirect(request)
    if isinstance(actor, Response):
        return actor
    ctx = get_context(request)
    service = _service(request, actor)
    if request.method == "GET":
        text, draft = _text_of(request, service)
        return await _editor(request, service, actor, text, draft)
    form, text = await _form_text(request)
    action = form.get("action") or "save"
    if action == "check":  # without JavaScript: check what was typed, keep it on the page
        _, draft = _text_of(request, service)
        return await _editor(request, service, actor, text, draft)
    try:
        publishing.save_draft(ctx, service, text, actor)
        if action == "submit":
            await run_in_threadpool(publishing.submit, ctx, service, actor, audit_log(request))
            _flash(request, "success", "ส่งขออนุมัติแล้ว ผู้แก้ไขอีกคนหรือผู้ดูแลหน่วยงานต้องอนุมัติก่อนเผยแพร่",
                   "Sent for approval: another editor or the agency admin must approve it before it is live.")
        else:
            _flash(request, "success", "บันทึกฉบับร่างแล้ว", "Draft saved.")
    except publishing.PublishError as exc:
        return await _editor(request, service, actor, text, publishing.draft_of(ctx.store, service.id),
                       problems=exc.problems or None, status_code=exc.status)
    return _see(request, "admin_service_edit", service_id=service.id)


async def check(request: Request) -> Response:
    """The editor's live check: the problems of ``eservice check`` for the posted text."""
    actor = _actor_or_redirect(request)
    if isinstance(actor, Response):
        return JSONResponse({"error": "login"}, status_code=401)
    service = _service(request, actor)
    _, text = await _form_text(request)
    _, problems = await run_in_threadpool(publishing.check_text, get_context(request).catalogue, service, text)
    return JSONResponse({"problems": _problem_dicts(problems)})


# ------------------------------------------------------------------ approve, open/close
async def approve(request: Request) -> Response:
    actor = _actor_or_redirect(request)
    if isinstance(actor, Response):
        return actor
    ctx = get_context(request)
    service = _service(request, actor)
    form = await request.form()
    try:
        if form.get("action") == "return":
            if not publishing.may_approve(actor, service):
                raise HTTPException(403)
            if publishing.draft_of(ctx.store, service.id) is not None:
                publishing.withdraw(ctx, service, actor, audit_log(request))
            _flash(request, "success", "ส่งฉบับร่างกลับไปแก้ไขแล้ว", "The draft was sent back for changes.")
        else:
            new = await run_in_threadpool(publishing.approve, ctx, service, actor, audit_log(request))
            _flash(request, "success", f"เผยแพร่ฉบับที่ {new.version} แล้ว คำขอใหม่ใช้ฉบับนี้ คำขอที่เริ่มไว้ก่อนใช้ฉบับเดิม",
                   f"Version {new.version} is live: new applications use it; those started earlier keep theirs.")
    except publishing.PublishError as exc:
        if exc.problems:
            text, draft = _text_of(request, service)
            return await _editor(request, service, actor, text, draft, problems=exc.problems, status_code=400)
        _flash(request, "error", exc.th, exc.en)
    return _see(request, "admin_service_edit", service_id=service.id)


async def open_close(request: Request) -> Response:
    actor = _actor_or_redirect(request)
    if isinstance(actor, Response):
        return actor
    ctx = get_context(request)
    service = _service(request, actor)
    form = await request.form()
    close = form.get("action") == "close"
    try:
        await run_in_threadpool(publishing.set_closed, ctx, service, actor, close, audit_log(request))
    except publishing.PublishError as exc:
        _flash(request, "error", exc.th, exc.en)
        return _see(request, "admin_service_edit", service_id=service.id)
    if close:
        _flash(request, "success", "ปิดรับคำขอใหม่แล้ว คำขอที่ยื่นไว้ยังดำเนินการต่อ",
               "Closed to new applications; those already made go on.")
    else:
        _flash(request, "success", "เปิดรับคำขอใหม่อีกครั้งแล้ว", "Open to new applications again.")
    return _see(request, "admin_service_edit", service_id=service.id)


# ------------------------------------------------------------------ preview and diff
def _draft_service(request: Request, service: Any) -> Any:
    """The draft as the loader reads it (problems or not), for the files it names; or None."""
    draft = publishing.draft_of(get_context(request).store, service.id)
    if draft is None:
        return None
    doc = parse_yaml(draft["text"], str(service.file))
    if doc.data is None or doc.problems or not isinstance(doc.data, dict):
        return None
    compiled, _ = compile_service(Path(service.file), doc, get_context(request).catalogue.agencies,
                                  check_files=False)
    return compiled


def _draft_compiled(request: Request, service: Any) -> tuple[Any, list]:
    """The draft compiled by the loader (publishing rules aside), or the live version."""
    text, draft = _text_of(request, service)
    if draft is None:
        return service, []
    doc = parse_yaml(text, str(service.file))
    if doc.data is None or doc.problems or not isinstance(doc.data, dict):
        return service, list(doc.problems) or ["?"]
    compiled, problems = compile_service(Path(service.file), doc, get_context(request).catalogue.agencies)
    return (compiled, []) if compiled is not None and not problems else (service, problems)


async def preview(request: Request) -> Response:
    """Every e-Form page as an applicant sees it, filled with sample answers; a
    conditional page says when it is shown and whether these answers show it."""
    actor = _actor_or_redirect(request)
    if isinstance(actor, Response):
        return actor
    from ...outputs.context import sample_answers
    from ..widgets import build_page

    live = _service(request, actor)
    service, problems = await run_in_threadpool(_draft_compiled, request, live)
    lang = get_lang(request)
    env = ExprEnvironment(engine(request), service.agency.code)
    answers = sample_answers(service)
    ev = forms.Evaluation(service, answers, env)
    pages = []
    for section, page in forms.pages(service):
        widgets, _ = build_page(page, answers, lang, ev=ev)
        pages.append({"section": section, "page": page, "widgets": widgets,
                      "shown": ev.holds(page.when) if page.when else True})
    return render(request, "admin/services/preview.html", service=service, live=live, pages=pages,
                  draft_problems=bool(problems), multi=len(service.definition.form.sections) > 1)


async def diff(request: Request) -> Response:
    actor = _actor_or_redirect(request)
    if isinstance(actor, Response):
        return actor
    service = _service(request, actor)
    text, draft = _text_of(request, service)
    rows = []
    for line in difflib.unified_diff(service.text.splitlines(), text.splitlines(), lineterm="", n=3):
        if line.startswith(("---", "+++")):
            continue
        kind = {"@": "hunk", "+": "added", "-": "removed"}.get(line[:1], "same")
        rows.append({"kind": kind, "text": line[1:] if kind != "hunk" else line})
    return render(request, "admin/services/diff.html", service=service, rows=rows, draft=draft)


# ------------------------------------------------------------------ uploads
def _upload_targets(service: Any, draft: Any = None) -> list[dict[str, Any]]:
    """The files a draft names that the live version does not use (templates and
    sample files, relative to the service's file).  A file the live version uses
    is never replaced: applications pinned to it keep their documents, and a new
    file becomes live only with the draft that names it (two-person approval)."""
    if draft is None:
        return []
    live = {t["path"] for t in _named_files(service, live=True)}
    return [t for t in _named_files(draft, live=False) if t["path"] not in live]


def _named_files(service: Any, live: bool) -> list[dict[str, Any]]:
    d = service.definition
    out = []
    for kind in ("licences", "letters"):
        for index, spec in enumerate(getattr(d.outputs, kind, ()) or ()):
            out.append({"path": spec.template, "kind": "template", "id": spec.id, "live": live,
                        "where": f"outputs.{kind}[{index}].template"})
    for index, doc in enumerate(d.documents):
        if doc.sample:
            out.append({"path": doc.sample, "kind": "sample", "id": doc.id, "live": live,
                        "where": f"documents[{index}].sample"})
    return out


async def upload(request: Request) -> Response:
    """Upload a template or sample file the draft names (and the live version
    does not use); the draft is checked again with it (templates rendered
    against sample answers) and the file removed when that finds a problem in it."""
    actor = _actor_or_redirect(request)
    if isinstance(actor, Response):
        return actor
    from .service_files import replace_file

    ctx = get_context(request)
    service = _service(request, actor)
    if not allowed(actor, "edit_definition", agency=service.agency.code, service=service.id):
        raise HTTPException(403)
    form = await request.form(max_part_size=MAX_UPLOAD)
    target = form.get("target") or ""
    upload_file = form.get("file")
    text, draft = _text_of(request, service)
    targets = _upload_targets(service, _draft_service(request, service))
    chosen = next((t for t in targets if t["path"] == target), None)
    result = await replace_file(ctx, service, text, chosen, upload_file, actor, audit_log(request))
    if result.problems:
        return await _editor(request, service, actor, text, draft, problems=result.problems, status_code=400)
    _flash(request, result.kind, result.th, result.en)
    return _see(request, "admin_service_edit", service_id=service.id)


routes = [
    Route("/admin/services", services_list, name="admin_services"),
    Route("/admin/services/schema.json", schema, name="admin_services_schema"),
    Route("/admin/services/{service_id:slug}", edit, name="admin_service_edit", methods=["GET", "POST"]),
    Route("/admin/services/{service_id:slug}/check", check, name="admin_service_check", methods=["POST"]),
    Route("/admin/services/{service_id:slug}/preview", preview, name="admin_service_preview"),
    Route("/admin/services/{service_id:slug}/diff", diff, name="admin_service_diff"),
    Route("/admin/services/{service_id:slug}/approve", approve, name="admin_service_approve", methods=["POST"]),
    Route("/admin/services/{service_id:slug}/open", open_close, name="admin_service_open", methods=["POST"]),
    Route("/admin/services/{service_id:slug}/files", upload, name="admin_service_files", methods=["POST"]),
]
