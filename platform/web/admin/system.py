"""System administration from the web (issue #9 item 3; A-X1, CH-4).

Routes (names for ``url()``), every one for the system administrator only
(:func:`eservice.policy.allowed` ``manage_agencies`` / ``view_audit``):

=====================================  =========================  ============================================
``GET  /admin/system``                 ``admin_system``           agencies, plugins and their health, mail
                                                                  settings, the size of the data folder
``POST /admin/system/agencies``        ``admin_agency_add``       add an agency from the form or a YAML upload
``POST /admin/system/mail-test``       ``admin_mail_test``        send a test message through the mail settings
``GET  /admin/system/checks``          ``admin_checks``           the audit chain's verification and the
                                                                  store's check (:func:`eservice.store.maintenance.verify`)
=====================================  =========================  ============================================

An agency is checked exactly as ``eservice check`` checks an agency file (the
same YAML reader, model validation and text checks of :mod:`eservice.spec`), and
a code already in use is refused.  A good one is written as
``<first definitions folder>/agencies/<code>.yaml`` and added to this process's
catalogue at once; other server processes see it after their next start.  The
checks run on demand (they read the whole audit log and every index of the store).
Every change and every test message is an audited event.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import yaml
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ...credentials import AuthError, normalize_email
from ...policy import Actor, allowed
from ...renderers.html import render
from .. import deps
from ..context import get_context
from ..officer import audit_log, flash

__all__ = ["routes", "check_agency_text", "plugin_health", "folder_size"]

log = logging.getLogger("eservice.web.admin")
MAX_UPLOAD = 256 * 1024  # an agency file is a page of YAML


def _admin(request: Request, action: str = "manage_agencies") -> Actor | Response:
    if deps.current_user(request) is None:
        return deps.login_redirect(request)
    actor = deps.current_actor(request)
    if not allowed(actor, action):
        raise HTTPException(403)
    return actor


# ------------------------------------------------------------------ facts
def check_agency_text(text: str, known: Any) -> tuple[Any, list[dict[str, str]]]:
    """Check an agency YAML text as ``eservice check`` does; ``(Agency | None, problems)``."""
    from ...spec.check import check_agency_texts
    from ...spec.models import Agency
    from ...spec.validation import validate
    from ...spec.yamlsource import parse_yaml

    doc = parse_yaml(text, "agency.yaml")
    problems = list(doc.problems)
    agency = None
    if doc.data is not None and not isinstance(doc.data, dict):
        problems.append(doc.source.problem((), "ไฟล์ต้องเป็นชุดคีย์: ค่า (mapping)", "the file must be a mapping of keys to values"))
    elif doc.data is not None:
        if doc.data.get("kind") != "agency":
            problems.append(doc.source.problem(("kind",), "ไฟล์หน่วยงานต้องมี `kind: agency`", "an agency file needs `kind: agency`"))
        else:
            agency, found = validate(Agency, doc.data, doc.source)
            problems.extend(found)
            if agency is not None:
                problems.extend(check_agency_texts(agency, doc.source))
                if agency.code in known:
                    problems.append(doc.source.problem(("code",), f"รหัสหน่วยงาน `{agency.code}` มีอยู่แล้ว",
                                                       f"agency code `{agency.code}` is already in use"))
    shown = [{"th": getattr(p, "th", str(p)), "en": getattr(p, "en", str(p)), "line": getattr(p, "line", None)}
             for p in problems]
    return (agency if not problems else None), shown


def _form_yaml(values: dict[str, str]) -> str:
    data: dict[str, Any] = {"schema_version": 1, "kind": "agency", "code": values["code"],
                            "name": {"th": values["name_th"], "en": values["name_en"] or values["name_th"]},
                            "phone": values["phone"]}
    if values.get("address_th"):
        data["address"] = {"th": values["address_th"], "en": values.get("address_en") or values["address_th"]}
    if values.get("email"):
        data["email"] = values["email"]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def plugin_health() -> list[dict[str, Any]]:
    """Every installed plugin: what it provides, and whether asking it worked (its
    ``health()`` when it has one)."""
    from ...plugin_api import get_plugin_manager

    pm = get_plugin_manager()
    out = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda kv: str(kv[0])):
        if plugin is None:
            continue
        provides, problems = [], []
        for impl_hook in pm.get_hookcallers(plugin) or []:
            for impl in impl_hook.get_hookimpls():
                if impl.plugin is not plugin:
                    continue
                try:
                    items = impl.function() or []
                    names = [getattr(i, "name", None) or getattr(i, "path", None) or type(i).__name__ for i in items]
                    provides.append({"hook": impl_hook.name.removeprefix("eservice_"), "names": [str(n) for n in names]})
                except Exception as exc:  # a broken plugin is shown, not fatal
                    problems.append(f"{impl_hook.name}: {type(exc).__name__}: {exc}")
        health = getattr(plugin, "health", None)
        if callable(health):
            try:
                result = health()
                if result not in (None, True):
                    problems.append(str(result))
            except Exception as exc:
                problems.append(f"health: {type(exc).__name__}: {exc}")
        out.append({"name": str(name), "module": getattr(plugin, "__name__", type(plugin).__name__),
                    "provides": provides, "problems": problems})
    return out


def folder_size(root: Path) -> tuple[int, int]:
    """``(bytes, files)`` under ``root``."""
    total = count = 0
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
                count += 1
            except OSError:
                continue
    return total, count


def _mail_facts(request: Request) -> dict[str, Any] | None:
    smtp = get_context(request).settings.smtp
    if smtp is None:
        return None
    return {"host": smtp.host, "port": smtp.port, "security": smtp.security, "sender": smtp.sender,
            "username": smtp.username or "", "password_set": bool(smtp.password), "ca_file": smtp.ca_file or ""}


# ------------------------------------------------------------------ pages
def _render(request: Request, *, status_code: int = 200, agency_errors: list | None = None,
            values: dict | None = None, mail_result: dict | None = None) -> Response:
    ctx = get_context(request)
    catalogue = ctx.catalogue
    size, files = folder_size(ctx.settings.data)
    agencies = [{"agency": a, "services": len(catalogue.of_agency(code))} for code, a in catalogue.agencies.items()]
    return render(request, "admin/system.html", status_code=status_code, agencies=agencies,
                  plugins=plugin_health(), mail=_mail_facts(request), data_size=size, data_files=files,
                  data_path=str(ctx.settings.data), agency_errors=agency_errors or [], values=values or {},
                  mail_result=mail_result, flash=request.session.pop("officer_flash", None))


async def system_page(request: Request) -> Response:
    actor = _admin(request)
    if isinstance(actor, Response):
        return actor
    return await run_in_threadpool(_render, request)


def _definitions_folder(request: Request) -> Path | None:
    for path in get_context(request).settings.definitions:
        if Path(path).is_dir():
            return Path(path)
    return None


async def agency_add(request: Request) -> Response:
    actor = _admin(request)
    if isinstance(actor, Response):
        return actor
    form = await request.form()
    upload = form.get("file")
    values = {k: str(form.get(k) or "").strip() for k in
              ("code", "name_th", "name_en", "phone", "email", "address_th", "address_en")}
    if upload is not None and getattr(upload, "filename", ""):
        raw = await upload.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            return _render(request, status_code=400, values=values, agency_errors=[
                {"th": "ไฟล์ใหญ่เกินไป (ไม่เกิน 256 KB)", "en": "The file is too large (at most 256 KB)", "line": None}])
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _render(request, status_code=400, values=values, agency_errors=[
                {"th": "ไฟล์ต้องเป็นข้อความ UTF-8", "en": "The file must be UTF-8 text", "line": None}])
    else:
        missing = [k for k in ("code", "name_th", "phone") if not values[k]]
        if missing:
            return _render(request, status_code=400, values=values, agency_errors=[
                {"th": "กรุณากรอกรหัส ชื่อภาษาไทย และโทรศัพท์ของหน่วยงาน หรืออัปโหลดไฟล์ YAML",
                 "en": "Enter the agency's code, Thai name and phone, or upload a YAML file", "line": None}])
        text = _form_yaml(values)
    catalogue = get_context(request).catalogue
    agency, problems = check_agency_text(text, catalogue.agencies)
    folder = _definitions_folder(request)
    if agency is not None and folder is None:
        problems = [{"th": "ไม่มีโฟลเดอร์นิยามบริการให้บันทึกไฟล์", "en": "There is no definitions folder to write to",
                     "line": None}]
    if agency is None or problems:
        return _render(request, status_code=400, values=values, agency_errors=problems)
    target = folder / "agencies" / f"{agency.code}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        return _render(request, status_code=400, values=values, agency_errors=[
            {"th": f"มีไฟล์ {target.name} อยู่แล้ว", "en": f"{target.name} already exists", "line": None}])
    target.write_text(text, encoding="utf-8")
    catalogue.agencies[agency.code] = agency
    trail = audit_log(request)
    if trail is not None:
        trail.record(actor, "system.agency_add", target=agency.code, agency=agency.code, details={"file": str(target)})
    flash(request, "success", f"เพิ่มหน่วยงาน {agency.name.th} แล้ว",
          f"Agency {agency.name.get('en') or agency.name.th} added.")
    return RedirectResponse(str(request.app.url_path_for("admin_system")), status_code=303)


def _send_test(request: Request, to: str) -> dict[str, str]:
    from ...mail import DeliveryError, Outbox
    from ...notifications import mailer_from_settings

    ctx = get_context(request)
    mailer = mailer_from_settings(ctx.settings.smtp, Outbox(ctx.store, ctx.clock), ctx.clock)
    if mailer is None:
        return {"kind": "warning", "th": "ยังไม่ได้ตั้งค่าการส่งอีเมล (ESERVICE_SMTP_HOST)",
                "en": "Mail is not configured (ESERVICE_SMTP_HOST)"}
    try:
        mailer.send(to, "ทดสอบการส่งอีเมล / Test message",
                    "ข้อความทดสอบจากหน้าผู้ดูแลระบบ\n\nA test message from the administration page.\n", kind="test")
    except DeliveryError as err:
        return {"kind": "warning", "th": f"ส่งไม่สำเร็จ: {err.th}", "en": f"Not sent: {err.en}"}
    return {"kind": "success", "th": f"ส่งข้อความทดสอบถึง {to} แล้ว", "en": f"Test message sent to {to}."}


async def mail_test(request: Request) -> Response:
    actor = _admin(request)
    if isinstance(actor, Response):
        return actor
    form = await request.form()
    try:
        to = normalize_email(str(form.get("to") or ""))
    except AuthError as err:
        return _render(request, status_code=400, mail_result={"kind": "warning", "th": err.th, "en": err.en,
                                                              "field": True})
    result = await run_in_threadpool(_send_test, request, to)
    trail = audit_log(request)
    if trail is not None:
        trail.record(actor, "system.mail_test", target=to, details={"result": result["kind"]})
    return await run_in_threadpool(lambda: _render(request, mail_result=result))


def _checks(request: Request) -> dict[str, Any]:
    ctx = get_context(request)
    trail = audit_log(request)
    audit = trail.check() if trail is not None else None
    store_report = None
    try:
        from ...store.maintenance import verify
        from ...store.tinydb_store import TinyDBStore
        if isinstance(ctx.store, TinyDBStore):
            store_report = verify(ctx.store)
    except ImportError:  # pragma: no cover - the store ships with the platform
        store_report = None
    store_size = folder_size(Path(ctx.settings.store_path))
    return {"audit": audit, "store": store_report, "store_size": store_size[0], "store_files": store_size[1]}


async def checks_page(request: Request) -> Response:
    actor = _admin(request, "view_audit")
    if isinstance(actor, Response):
        return actor
    found = await run_in_threadpool(_checks, request)
    return render(request, "admin/checks.html", **found)


routes = [
    Route("/admin/system", system_page, name="admin_system"),
    Route("/admin/system/agencies", agency_add, name="admin_agency_add", methods=["POST"]),
    Route("/admin/system/mail-test", mail_test, name="admin_mail_test", methods=["POST"]),
    Route("/admin/system/checks", checks_page, name="admin_checks"),
]
