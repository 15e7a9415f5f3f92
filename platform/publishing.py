"""Definitions published through the web: drafts, two-person approval, versions
kept in the store, unpublishing, and the version stamp every process follows
(issue #9 items 4-5; A-SP1..A-SP5, A-X1, CH-4).

The YAML files under ``ESERVICE_DEFINITIONS`` stay the source: publishing
writes the approved text over the service's own file (so ``eservice check``
and a git repository see exactly what the web published) after checking it
with the same loader as the CLI (:func:`eservice.spec.loader.compile_service`).

What the store keeps (named collections):

``service_drafts/<service>``
    the draft being edited: ``text``, ``status`` (``editing`` or
    ``submitted``), ``prepared_by`` and when.  Saving a changed text sets it back
    to ``editing``: what is approved is exactly what was submitted.
``service_versions/<service>.v<version>``
    every published version's text, ``service_version``, digest, who prepared
    and who approved it (``version`` is the store's own record version).
    The version a service had before its first web publish is kept too, so
    running applications keep their rules after the file is replaced, also in
    a process started later (:func:`refresh` compiles kept versions that are no
    longer on disk).
``definitions/<digest>``
    the text by digest, as :mod:`eservice.applications` keeps it when a draft
    starts (the engine's fallback, :meth:`EngineContext.service_of`).
``definition_state/stamp``
    ``{"stamp": n, "closed": [service ids]}``: raised by every publish and
    (un)publish.  Each process compares it with the stamp it loaded
    (:func:`refresh`, called before every request by the web app), and reloads
    the definitions when it changed, so a publish reaches every server process
    without a restart.
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .engine import EngineError
from .policy import Actor, allowed
from .spec.loader import CompiledService, compile_kept, compile_service, load
from .spec.problems import DefinitionError, Problem
from .spec.yamlsource import parse_yaml
from .store.base import ConflictError

__all__ = ["DRAFTS", "VERSIONS", "STATE", "check_text", "draft_of", "save_draft", "submit", "approve",
           "withdraw", "set_closed", "refresh", "stamp_of", "versions_of", "PublishError"]

log = logging.getLogger("eservice.publishing")

DRAFTS = "service_drafts"
VERSIONS = "service_versions"
KEPT = "definitions"
STATE = "definition_state"
STAMP_KEY = "stamp"
_reload_lock = threading.Lock()


class PublishError(EngineError):
    """A refused step of publishing, with the problems that stop it (if any)."""

    def __init__(self, code: str, th: str, en: str, status: int = 409, problems: list[Problem] | None = None):
        super().__init__(code, th, en, status=status)
        self.problems = list(problems or [])


# ------------------------------------------------------------------ checking
def _display(service: CompiledService) -> str:
    try:
        return str(Path(service.file).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(service.file)


def check_text(catalogue: Any, service: CompiledService, text: str) -> tuple[CompiledService | None, list[Problem]]:
    """Check a new text for ``service`` with the loader and checker of ``eservice
    check`` (templates and sample files beside the service's file included),
    plus what publishing needs: the same ``id`` and a ``version`` above every
    published one.  Returns the compiled service (None when there are problems)
    and every problem, each at its line."""
    display = _display(service)
    doc = parse_yaml(text, display)
    if doc.data is None or doc.problems:
        return None, list(doc.problems) or [Problem(display, 1, 1, "(document)", "ไฟล์ว่าง", "the file is empty")]
    if not isinstance(doc.data, dict) or doc.data.get("kind") == "agency":
        return None, [doc.source.problem((), "ไฟล์ต้องเป็นนิยามบริการ (ชุดคีย์: ค่า)",
                                         "the file must be a service definition (a mapping of keys to values)")]
    compiled, problems = compile_service(Path(service.file), doc, catalogue.agencies)
    if compiled is None:
        return None, problems
    if compiled.id != service.id:
        problems.append(doc.source.problem(
            ("id",), f"รหัสบริการต้องเป็น `{service.id}` เหมือนเดิม", f"the service id must stay `{service.id}`",
            "สร้างบริการใหม่ด้วยไฟล์ใหม่", "make a new service with a new file"))
    newest = catalogue.latest(service.id)
    if newest is not None and compiled.version <= newest.version and compiled.digest != newest.digest:
        problems.append(doc.source.problem(
            ("version",), f"ต้องเพิ่มเลขฉบับ (`version`) เป็น {newest.version + 1} หรือมากกว่า "
            f"(ฉบับที่ใช้อยู่คือ {newest.version})",
            f"raise `version` to {newest.version + 1} or more (version {newest.version} is live)",
            f"ตั้ง `version: {newest.version + 1}`", f"set `version: {newest.version + 1}`"))
    return (None if problems else compiled), problems


def next_version_text(service: CompiledService) -> str:
    """The live text with ``version`` raised by one: where a new draft starts."""
    line = service.source.position(("version",))[0]
    lines = service.text.splitlines(keepends=True)
    if 1 <= line <= len(lines) and lines[line - 1].lstrip().startswith("version:"):
        old = lines[line - 1]
        indent = old[: len(old) - len(old.lstrip())]
        lines[line - 1] = f"{indent}version: {service.version + 1}\n"
        return "".join(lines)
    return service.text


# ------------------------------------------------------------------ the stamp and the catalogue
def stamp_of(store: Any) -> dict[str, Any]:
    found = store.collection(STATE).get(STAMP_KEY)
    return dict(found) if found else {"stamp": 0, "closed": []}


def _bump(store: Any, change) -> dict[str, Any]:
    """Raise the stamp (and change the closed list) with a version check; retried on a race."""
    states = store.collection(STATE)
    for _ in range(20):
        found = states.get(STAMP_KEY)
        record = {"stamp": (found or {}).get("stamp", 0) + 1, "closed": list((found or {}).get("closed", []))}
        record["closed"] = sorted(change(set(record["closed"])))
        try:
            return states.put(STAMP_KEY, record, expected_version=found["version"] if found else None)
        except ConflictError:
            continue
    raise PublishError("busy", "ระบบไม่ว่าง ลองอีกครั้ง", "the system is busy; try again", status=503)


def _stored_versions(catalogue: Any, store: Any) -> dict[tuple[str, int], CompiledService]:
    """Published versions kept in the store that ``catalogue`` does not have
    (their files were replaced by a later publish)."""
    out: dict[tuple[str, int], CompiledService] = {}
    for record in store.collection(VERSIONS).all():
        key = (record["service"], record["service_version"])
        if key in catalogue.services:
            continue
        current = catalogue.latest(record["service"])
        try:
            out[key] = compile_kept(record["text"], catalogue, current.file if current else None)
        except (DefinitionError, KeyError) as exc:
            log.warning("kept version %s@%s does not compile: %s", *key, exc)
    return out


def refresh(ctx: Any, force: bool = False) -> bool:
    """Bring this process's catalogue up to the store's stamp; True when it changed.

    The first call of a process only adds the kept versions (the files were
    read at start); a later stamp reloads the definition folders with the same
    loader as the start.  Versions already loaded stay (running applications
    are pinned to them).  A file that no longer loads cleanly is logged and its
    service keeps the version loaded before; the others are reloaded."""
    state = stamp_of(ctx.store)
    seen = ctx.extra.get("definitions_stamp")
    if seen == state["stamp"] and not force:
        return False
    with _reload_lock:
        seen = ctx.extra.get("definitions_stamp")
        if seen == state["stamp"] and not force:
            return False
        catalogue = ctx.catalogue
        if seen is not None or force:
            fresh, problems = load(ctx.settings.definitions)
            if problems:  # what loads is taken; a broken file keeps the version loaded before
                log.error("definitions on disk have %d problem(s); those services keep their loaded version: %s",
                          len(problems), problems[0].format())
            merged = dict(catalogue.services)
            merged.update(fresh.services)
            catalogue.agencies = {**catalogue.agencies, **fresh.agencies}
            catalogue.services = merged
        if state["stamp"]:
            extra = _stored_versions(catalogue, ctx.store)
            if extra:
                catalogue.services = {**catalogue.services, **extra}
        catalogue.closed = set(state.get("closed", ()))
        # what pages built from the current services (search, the OpenAPI document per base URL)
        for key in [k for k in ctx.extra if k == "search_entries" or (isinstance(k, tuple) and k[:1] == ("openapi",))]:
            ctx.extra.pop(key, None)
        ctx.extra["definitions_stamp"] = state["stamp"]
    return seen is not None


# ------------------------------------------------------------------ drafts
def _may_edit(actor: Actor, service: CompiledService) -> bool:
    return allowed(actor, "edit_definition", agency=service.agency.code, service=service.id)


def _refuse_edit(actor: Actor, service: CompiledService) -> None:
    if not _may_edit(actor, service):
        raise PublishError("forbidden", "คุณไม่มีสิทธิ์แก้ไขนิยามบริการนี้",
                           "you may not edit this service's definition", status=403)


def draft_of(store: Any, service_id: str) -> dict[str, Any] | None:
    found = store.collection(DRAFTS).get(service_id)
    return dict(found) if found else None


def save_draft(ctx: Any, service: CompiledService, text: str, actor: Actor) -> dict[str, Any]:
    """Keep the edited text (problems or not: nothing typed is lost)."""
    _refuse_edit(actor, service)
    drafts = ctx.store.collection(DRAFTS)
    found = drafts.get(service.id)
    text = text.replace("\r\n", "\n")
    if found and found["text"] == text:
        return dict(found)
    record = {"service": service.id, "agency": service.agency.code, "text": text, "status": "editing",
              "base_version": service.version, "prepared_by": actor.user_id, "prepared_at": ctx.now().isoformat()}
    return drafts.put(service.id, record, expected_version=found["version"] if found else None)


def submit(ctx: Any, service: CompiledService, actor: Actor, audit: Any = None) -> dict[str, Any]:
    """The editor asks for approval; refused while the draft has problems."""
    _refuse_edit(actor, service)
    draft = draft_of(ctx.store, service.id)
    if draft is None:
        raise PublishError("no_draft", "ยังไม่มีฉบับร่าง", "there is no draft", status=404)
    _, problems = check_text(ctx.catalogue, service, draft["text"])
    if problems:
        raise PublishError("problems", f"ฉบับร่างมีปัญหา {len(problems)} รายการ แก้ไขก่อนส่งขออนุมัติ",
                           f"the draft has {len(problems)} problem(s); fix them before asking for approval",
                           status=400, problems=problems)
    record = {**draft, "status": "submitted", "prepared_by": actor.user_id, "submitted_at": ctx.now().isoformat()}
    record.pop("version", None)
    saved = ctx.store.collection(DRAFTS).put(service.id, record, expected_version=draft["version"])
    _audit(audit, actor, "definition.submitted", service, {"draft_version": saved["version"]})
    return saved


def withdraw(ctx: Any, service: CompiledService, actor: Actor, audit: Any = None) -> dict[str, Any]:
    """Back to editing (the preparer changes their mind, or a reviewer sends it back)."""
    _refuse_edit(actor, service)
    draft = draft_of(ctx.store, service.id)
    if draft is None:
        raise PublishError("no_draft", "ยังไม่มีฉบับร่าง", "there is no draft", status=404)
    record = {**draft, "status": "editing"}
    record.pop("version", None)
    saved = ctx.store.collection(DRAFTS).put(service.id, record, expected_version=draft["version"])
    _audit(audit, actor, "definition.returned", service, {})
    return saved


def may_approve(actor: Actor, service: CompiledService) -> bool:
    return allowed(actor, "approve_definition", agency=service.agency.code, service=service.id)


def _write_file(path: Path, text: str) -> None:
    """Replace the YAML file atomically (temporary file, fsync, ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _keep(store: Any, service: CompiledService, extra: Mapping[str, Any]) -> None:
    versions = store.collection(VERSIONS)
    key = f"{service.id}.v{service.version}"
    if versions.get(key) is None:
        try:
            versions.put(key, {"service": service.id, "service_version": service.version, "digest": service.digest,
                               "text": service.text, **extra})
        except ConflictError:
            pass
    kept = store.collection(KEPT)
    if kept.get(service.digest) is None:
        try:
            kept.put(service.digest, {"service": service.id, "version": service.version, "text": service.text})
        except ConflictError:
            pass


def approve(ctx: Any, service: CompiledService, actor: Actor, audit: Any = None) -> CompiledService:
    """The second person publishes the submitted draft: checked again, written to
    the service's YAML file, kept as a version, and the stamp raised."""
    if not may_approve(actor, service):
        raise PublishError("forbidden", "คุณไม่มีสิทธิ์อนุมัติการเผยแพร่บริการนี้",
                           "you may not approve publishing this service", status=403)
    draft = draft_of(ctx.store, service.id)
    if draft is None or draft.get("status") != "submitted":
        raise PublishError("not_submitted", "ยังไม่มีฉบับร่างที่ส่งขออนุมัติ", "no draft is waiting for approval")
    if draft["prepared_by"] == actor.user_id:
        raise PublishError("same_person", "ผู้อนุมัติต้องไม่ใช่ผู้เตรียมฉบับร่าง ให้ผู้แก้ไขอีกคนหรือผู้ดูแลหน่วยงานอนุมัติ",
                           "the approver must be someone other than the person who prepared the draft: "
                           "another editor or the agency admin", status=403)
    compiled, problems = check_text(ctx.catalogue, service, draft["text"])
    if compiled is None:
        raise PublishError("problems", f"ฉบับร่างมีปัญหา {len(problems)} รายการ เผยแพร่ไม่ได้",
                           f"the draft has {len(problems)} problem(s) and cannot be published",
                           status=400, problems=problems)
    now = ctx.now().isoformat()
    # The live version is kept first: applications pinned to it keep their rules in every process.
    _keep(ctx.store, service, {"published_at": None, "prepared_by": None, "approved_by": None})
    _write_file(Path(service.file), draft["text"])
    _keep(ctx.store, compiled, {"published_at": now, "prepared_by": draft["prepared_by"],
                                "approved_by": actor.user_id, "previous": service.version})
    ctx.store.collection(DRAFTS).delete(service.id)
    _bump(ctx.store, lambda closed: closed)
    refresh(ctx)
    _audit(audit, actor, "definition.published", service,
           {"version": compiled.version, "digest": compiled.digest, "previous": service.version,
            "prepared_by": draft["prepared_by"], "approved_by": actor.user_id})
    return compiled


def set_closed(ctx: Any, service: CompiledService, actor: Actor, closed: bool, audit: Any = None) -> None:
    """Unpublish (close to new applications; running ones go on) or publish again."""
    if not may_approve(actor, service):
        raise PublishError("forbidden", "คุณไม่มีสิทธิ์เปิดหรือปิดบริการนี้",
                           "you may not open or close this service", status=403)
    _bump(ctx.store, lambda ids: (ids | {service.id}) if closed else (ids - {service.id}))
    refresh(ctx)
    _audit(audit, actor, "definition.unpublished" if closed else "definition.reopened", service, {})


def versions_of(store: Any, service_id: str) -> list[dict[str, Any]]:
    """The kept versions of a service, newest first."""
    found = [dict(r) for r in store.collection(VERSIONS).find(service=service_id)]
    return sorted(found, key=lambda r: r["service_version"], reverse=True)


def _audit(audit: Any, actor: Actor, action: str, service: CompiledService, details: Mapping[str, Any]) -> None:
    if audit is not None:
        audit.record(actor, action, target=service.id, agency=service.agency.code,
                     details={"service": service.id, **details})

