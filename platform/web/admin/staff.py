"""Agency administration: staff accounts and their roles, from the web (issue #9 item 2; A-X1, CH-4).

Routes (names for ``url()``):

==============================================================  ====================  ==============================
``GET  /admin``                                                 ``admin_home``        what this person administers
``GET  /admin/agencies/{agency}/staff``                         ``admin_staff``       who holds what; invite form
``POST /admin/agencies/{agency}/staff``                         (same)                invite by e-mail
``GET  /admin/agencies/{agency}/staff/{user_id}``               ``admin_person``      one person: names, roles
``POST /admin/agencies/{agency}/staff/{user_id}/roles``         ``admin_grant``       grant a role (some services)
``POST /admin/agencies/{agency}/staff/{user_id}/revoke``        ``admin_revoke``      take a role back
``POST /admin/agencies/{agency}/staff/{user_id}/status``        ``admin_status``      deactivate / reactivate
``POST /admin/agencies/{agency}/staff/{user_id}/name``          ``admin_name``        Thai and English names
``GET|POST /staff/welcome?token=…``                             ``staff_welcome``     the invitee sets a password
==============================================================  ====================  ==============================

Who may: :func:`eservice.policy.allowed` ``manage_staff`` for the agency (its
``agency_admin``, or the system administrator).  The roles offered are the
built-in officer roles and the roles the agency's services declare under
``roles:`` (a declared role is granted for the services that declare it).  The
account and grant logic is :class:`eservice.auth.Accounts`; every change is an
event in the audit log (``staff.invite``, ``staff.grant``, ``staff.revoke``,
``staff.deactivate``, ``staff.reactivate``, ``staff.rename``).

An invitation is a set-password link (single use, :data:`eservice.auth.INVITE_TTL`),
mailed to the address.  Deactivating an account ends its sessions and hands its
open assignments back to the team inbox (unassigned, with an entry in each
application's history).  A person who also holds roles in another agency is not
deactivated by one agency's admin: their roles here are revoked instead.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ... import events as history
from ...auth import INVITE_TTL, Accounts, AuthError
from ...policy import OFFICER_ROLES, SERVICE_EDITOR, Actor, allowed
from ...renderers.html import render
from .. import deps
from ...settings import public_url
from ..context import get_context
from ..demo import ROLE_INFO
from ..i18n import get_lang
from ..officer import audit_log, flash

__all__ = ["routes", "role_choices", "manageable_agencies"]

log = logging.getLogger("eservice.web.admin")


# ------------------------------------------------------------------ helpers
def _signed_in(request: Request) -> Actor | Response:
    if deps.current_user(request) is None:
        return deps.login_redirect(request)
    return deps.current_actor(request)


def manageable_agencies(request: Request, actor: Actor) -> list[str]:
    catalogue = get_context(request).catalogue
    return [code for code in catalogue.agencies if allowed(actor, "manage_staff", agency=code)]


def role_choices(request: Request, agency: str) -> list[dict[str, Any]]:
    """The roles an agency admin may grant: built-in officer roles, then the ones the
    agency's services declare (with the services that declare them)."""
    out = []
    for role in (*OFFICER_ROLES, SERVICE_EDITOR):
        info = ROLE_INFO.get(role, (role, role))
        out.append({"id": role, "th": info[0], "en": info[1], "services": None})
    declared = deps.service_roles(request).get(agency, {})
    for service in get_context(request).catalogue.of_agency(agency):
        for decl in service.definition.roles:
            if decl.id in declared and not any(r["id"] == decl.id for r in out):
                out.append({"id": decl.id, "th": decl.title.th, "en": decl.title.get("en") or decl.title.th,
                            "services": declared[decl.id]})
    return out


def _agency_or_404(request: Request, actor: Actor) -> str:
    agency = request.path_params["agency"]
    if agency not in get_context(request).catalogue.agencies:
        raise HTTPException(404)
    if not allowed(actor, "manage_staff", agency=agency):
        raise HTTPException(403)
    return agency


def _people(request: Request, agency: str) -> list[dict[str, Any]]:
    """Everyone holding a role in ``agency`` (disabled and invited accounts too)."""
    lang = get_lang(request)
    out = []
    for user in get_context(request).store.collection("users").all():
        grants = [g for g in Accounts.roles_of(user) if g.agency == agency]
        if grants:
            out.append({"user": user, "grants": grants, "name": Accounts.staff_name(user, lang),
                        "other_agencies": sorted({g.agency for g in Accounts.roles_of(user)} - {agency})})
    out.sort(key=lambda p: (p["user"].get("disabled", False), p["name"], p["user"]["id"]))
    return out


def _person_or_404(request: Request, agency: str) -> dict[str, Any]:
    user_id = request.path_params["user_id"]
    found = next((p for p in _people(request, agency) if p["user"]["id"] == user_id), None)
    if found is None:
        raise HTTPException(404)
    return found


def _audit(request: Request, actor: Actor, action: str, agency: str, target: str, **details: Any) -> None:
    trail = audit_log(request)
    if trail is not None:
        trail.record(actor, action, target=target, agency=agency, details=details)


def _person_url(request: Request, agency: str, user_id: str) -> str:
    return str(request.app.url_path_for("admin_person", agency=agency, user_id=user_id))


def _staff_url(request: Request, agency: str) -> str:
    return str(request.app.url_path_for("admin_staff", agency=agency))


def _services(request: Request, agency: str) -> list[Any]:
    return get_context(request).catalogue.of_agency(agency)


# ------------------------------------------------------------------ pages
async def home(request: Request) -> Response:
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    agencies = manageable_agencies(request, actor)
    if not agencies and not actor.is_system_admin:
        raise HTTPException(403)
    if len(agencies) == 1 and not actor.is_system_admin:
        return RedirectResponse(_staff_url(request, agencies[0]), status_code=303)
    catalogue = get_context(request).catalogue
    return render(request, "admin/home.html", agencies=[catalogue.agencies[a] for a in agencies],
                  system=allowed(actor, "manage_agencies"), flash=request.session.pop("officer_flash", None))


async def staff_page(request: Request) -> Response:
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    agency = _agency_or_404(request, actor)
    if request.method == "POST":
        return await _invite(request, actor, agency)
    return _render_staff(request, agency)


def _render_staff(request: Request, agency: str, *, status_code: int = 200, errors: list | None = None,
                  values: Mapping[str, Any] | None = None, invite_link: str | None = None) -> Response:
    errors = errors or []
    return render(request, "admin/staff.html", status_code=status_code,
                  agency=get_context(request).catalogue.agencies[agency], people=_people(request, agency),
                  roles=role_choices(request, agency), services=_services(request, agency),
                  errors=errors, field_errors={e["field"]: e for e in errors if e.get("field")},
                  values=values or {}, invite_link=invite_link, invite_days=INVITE_TTL.days,
                  flash=request.session.pop("officer_flash", None))


def _invite_mail(request: Request, agency_name: Any, link: str | None) -> tuple[str, str]:
    site = get_context(request).settings.site_name
    site_th, site_en = site.get("th", ""), site.get("en") or site.get("th", "")
    subject = f"คำเชิญเข้าใช้งานระบบเจ้าหน้าที่ {agency_name.th} / Invitation to the staff pages, " \
              f"{agency_name.get('en') or agency_name.th}"
    if link:
        th = (f"ท่านได้รับเชิญเป็นเจ้าหน้าที่ของ {agency_name.th} ใน {site_th}\n\n"
              f"กรุณาตั้งรหัสผ่านที่ลิงก์นี้ (ใช้ได้ครั้งเดียว ภายใน {INVITE_TTL.days} วัน):\n{link}\n")
        en = (f"You have been invited to work for {agency_name.get('en') or agency_name.th} in {site_en}.\n\n"
              f"Choose your password here (the link works once, within {INVITE_TTL.days} days):\n{link}\n")
    else:
        login = public_url(get_context(request).settings, request, "/login")
        th = f"ท่านได้รับบทบาทเจ้าหน้าที่ของ {agency_name.th} ใน {site_th} เข้าสู่ระบบด้วยบัญชีเดิมที่ {login}\n"
        en = (f"You have been given a staff role in {agency_name.get('en') or agency_name.th} in {site_en}. "
              f"Sign in with your existing account at {login}\n")
    return subject, th + "\n---\n\n" + en


async def _invite(request: Request, actor: Actor, agency: str) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("email", "name_th", "name_en", "role")}
    chosen = [str(s) for s in form.getlist("services")]
    roles = {r["id"]: r for r in role_choices(request, agency)}
    errors = []
    if not values["email"]:
        errors.append({"field": "email", "th": "กรุณากรอกอีเมล", "en": "Enter the e-mail address"})
    if not values["name_th"]:
        errors.append({"field": "name_th", "th": "กรุณากรอกชื่อ-นามสกุลภาษาไทย", "en": "Enter the name in Thai"})
    if not values["name_en"]:
        errors.append({"field": "name_en", "th": "กรุณากรอกชื่อ-นามสกุลภาษาอังกฤษ", "en": "Enter the name in English"})
    if values["role"] not in roles:
        errors.append({"field": "role", "th": "กรุณาเลือกบทบาท", "en": "Choose a role"})
    services, problem = _chosen_services(request, agency, roles.get(values["role"]), chosen)
    if problem:
        errors.append(problem)
    acc = deps.accounts(request)
    if not errors:
        try:
            user, token = await run_in_threadpool(acc.invite_staff, values["email"], values["name_th"],
                                                  values["name_en"], invited_by=actor.user_id)
            await run_in_threadpool(acc.grant_role, user["id"], agency, values["role"], services,
                                    granted_by=actor.user_id)
        except AuthError as err:
            field = {"invalid_email": "email", "invalid_name": "name_th", "email_taken": "email"}.get(err.code)
            errors.append({"field": field, "th": err.th, "en": err.en})
    if errors:
        return _render_staff(request, agency, status_code=400, errors=errors, values=values)
    link = public_url(get_context(request).settings, request, f"/staff/welcome?token={token}") if token else None
    _audit(request, actor, "staff.invite", agency, user["id"], email=user["email"], role=values["role"],
           services=list(services) if services else None, new_account=bool(token))
    agency_name = get_context(request).catalogue.agencies[agency].name
    subject, text = _invite_mail(request, agency_name, link)
    from ..accounts import _show_links, send_account_mail
    sent = await run_in_threadpool(send_account_mail, request, user["email"], subject, text, "staff_invite")
    name = Accounts.staff_name(user, get_lang(request))
    if sent:
        flash(request, "success", f"ส่งคำเชิญถึง {name} ({user['email']}) แล้ว",
              f"The invitation to {name} ({user['email']}) has been sent.")
    else:
        flash(request, "warning", f"เพิ่ม {name} แล้ว แต่ส่งอีเมลไม่สำเร็จ กรุณาตรวจการตั้งค่าอีเมล",
              f"{name} was added, but the e-mail could not be sent; check the mail settings.")
        if link and _show_links(request):  # the demo without a mail server shows the link
            return _render_staff(request, agency, invite_link=link)
    return RedirectResponse(_staff_url(request, agency), status_code=303)


def _chosen_services(request: Request, agency: str, role: Mapping[str, Any] | None,
                     chosen: list[str]) -> tuple[tuple[str, ...] | None, dict | None]:
    """The services a grant covers (None: all the role may cover), or a form problem."""
    known = {s.id for s in _services(request, agency)}
    allowed_ids = set(role["services"]) if role and role.get("services") else known
    bad = [s for s in chosen if s not in allowed_ids]
    if bad:
        return None, {"field": "services", "th": "บริการที่เลือกใช้กับบทบาทนี้ไม่ได้",
                      "en": "The services chosen do not go with this role"}
    if not chosen:
        return (tuple(sorted(allowed_ids)) if role and role.get("services") else None), None
    return tuple(sorted(set(chosen))), None


async def person_page(request: Request) -> Response:
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    agency = _agency_or_404(request, actor)
    return _render_person(request, actor, agency, _person_or_404(request, agency))


def _render_person(request: Request, actor: Actor, agency: str, person: dict, *, status_code: int = 200,
                   errors: list | None = None) -> Response:
    errors = errors or []
    titles = {r["id"]: r for r in role_choices(request, agency)}
    services = {s.id: s.definition.title for s in _services(request, agency)}
    return render(request, "admin/person.html", status_code=status_code,
                  agency=get_context(request).catalogue.agencies[agency], person=person, titles=titles,
                  service_titles=services, roles=list(titles.values()), services=_services(request, agency),
                  errors=errors, field_errors={e["field"]: e for e in errors if e.get("field")},
                  me=actor.user_id, flash=request.session.pop("officer_flash", None))


async def grant(request: Request) -> Response:
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    agency = _agency_or_404(request, actor)
    person = _person_or_404(request, agency)
    form = await request.form()
    role_id = str(form.get("role") or "")
    roles = {r["id"]: r for r in role_choices(request, agency)}
    if role_id not in roles:
        return _render_person(request, actor, agency, person, status_code=400, errors=[
            {"field": "role", "th": "กรุณาเลือกบทบาท", "en": "Choose a role"}])
    services, problem = _chosen_services(request, agency, roles[role_id], [str(s) for s in form.getlist("services")])
    if problem:
        return _render_person(request, actor, agency, person, status_code=400, errors=[problem])
    user_id = person["user"]["id"]
    await run_in_threadpool(deps.accounts(request).grant_role, user_id, agency, role_id, services,
                            granted_by=actor.user_id)
    _audit(request, actor, "staff.grant", agency, user_id, role=role_id, services=list(services) if services else None)
    r = roles[role_id]
    flash(request, "success", f"ให้บทบาท “{r['th']}” แก่ {person['name']} แล้ว", f"{person['name']} now holds “{r['en']}”.")
    return RedirectResponse(_person_url(request, agency, user_id), status_code=303)


async def revoke(request: Request) -> Response:
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    agency = _agency_or_404(request, actor)
    person = _person_or_404(request, agency)
    form = await request.form()
    role_id = str(form.get("role") or "")
    user_id = person["user"]["id"]
    if role_id not in {g.role for g in person["grants"]}:
        return _render_person(request, actor, agency, person, status_code=400, errors=[
            {"field": None, "th": "บุคคลนี้ไม่มีบทบาทนี้แล้ว", "en": "This person no longer holds that role"}])
    if user_id == actor.user_id and role_id == "agency_admin" and not actor.is_system_admin:
        return _render_person(request, actor, agency, person, status_code=400, errors=[
            {"field": None, "th": "ท่านถอนบทบาทผู้ดูแลระบบของหน่วยงานจากตนเองไม่ได้ ให้ผู้ดูแลอีกคนทำแทน",
             "en": "You cannot take the agency administrator role from yourself; ask another administrator"}])
    await run_in_threadpool(deps.accounts(request).revoke_role, user_id, agency, role_id)
    _audit(request, actor, "staff.revoke", agency, user_id, role=role_id)
    flash(request, "success", f"ถอนบทบาท {role_id} จาก {person['name']} แล้ว", f"{role_id} taken from {person['name']}.")
    return RedirectResponse(_person_url(request, agency, user_id), status_code=303)


def _return_assignments(request: Request, actor: Actor, user_id: str, agencies: set[str]) -> int:
    """Unassign the person's open applications: they come back to the team inbox."""
    ctx = get_context(request)
    stamp = ctx.now().isoformat()
    count = 0
    for agency in agencies:
        for summary in list(ctx.store.open_applications(agency)):
            if summary.get("assignee") != user_id:
                continue

            def change(record: dict) -> None:
                if record.get("assignee") == user_id:
                    record["assignee"] = None
                    history.append(record["events"], "assigned", actor.user_id, stamp,
                                   {"assignee": None, "previous": user_id, "reason": "deactivated", "ip": actor.ip})

            ctx.store.modify_application(summary["id"], change)
            count += 1
    return count


async def status(request: Request) -> Response:
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    agency = _agency_or_404(request, actor)
    person = _person_or_404(request, agency)
    form = await request.form()
    user_id = person["user"]["id"]
    acc = deps.accounts(request)
    if form.get("active") == "1":
        await run_in_threadpool(acc.set_disabled, user_id, False)
        _audit(request, actor, "staff.reactivate", agency, user_id)
        flash(request, "success", f"เปิดใช้บัญชีของ {person['name']} อีกครั้งแล้ว",
              f"{person['name']}'s account is active again.")
        return RedirectResponse(_person_url(request, agency, user_id), status_code=303)
    if user_id == actor.user_id:
        return _render_person(request, actor, agency, person, status_code=400, errors=[
            {"field": None, "th": "ท่านระงับบัญชีของตนเองไม่ได้", "en": "You cannot deactivate your own account"}])
    if person["other_agencies"] and not actor.is_system_admin:
        return _render_person(request, actor, agency, person, status_code=400, errors=[
            {"field": None, "th": "บุคคลนี้มีบทบาทในหน่วยงานอื่นด้วย ให้ถอนบทบาทในหน่วยงานนี้แทนการระงับบัญชี",
             "en": "This person also holds roles in another agency: take back their roles here instead"}])
    await run_in_threadpool(acc.set_disabled, user_id, True)
    agencies = {g.agency for g in Accounts.roles_of(person["user"]) if g.agency != "*"}
    returned = await run_in_threadpool(_return_assignments, request, actor, user_id, agencies)
    get_context(request).extra.pop("officer_staff", None)  # the assignment lists forget the person
    _audit(request, actor, "staff.deactivate", agency, user_id, returned_assignments=returned)
    flash(request, "success", f"ระงับบัญชีของ {person['name']} แล้ว งานที่ได้รับมอบหมาย {returned} เรื่องกลับไปที่กล่องงานของทีม",
          f"{person['name']}'s account is deactivated; {returned} assigned application(s) went back to the team inbox.")
    return RedirectResponse(_person_url(request, agency, user_id), status_code=303)


async def rename(request: Request) -> Response:
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    agency = _agency_or_404(request, actor)
    person = _person_or_404(request, agency)
    form = await request.form()
    user_id = person["user"]["id"]
    try:
        await run_in_threadpool(deps.accounts(request).set_staff_name, user_id, form.get("name_th"), form.get("name_en"))
    except AuthError as err:
        return _render_person(request, actor, agency, person, status_code=400,
                              errors=[{"field": "name_th", "th": err.th, "en": err.en}])
    _audit(request, actor, "staff.rename", agency, user_id, th=str(form.get("name_th")), en=str(form.get("name_en")))
    flash(request, "success", "บันทึกชื่อแล้ว", "The names are saved.")
    return RedirectResponse(_person_url(request, agency, user_id), status_code=303)


# ------------------------------------------------------------------ the invitee
async def welcome(request: Request) -> Response:
    """The invitee chooses a password with the link from the invitation (single use)."""
    acc = deps.accounts(request)
    if request.method == "GET":
        token = request.query_params.get("token", "")
        try:
            user = await run_in_threadpool(acc.check_invitation, token)
        except AuthError as err:
            return render(request, "admin/welcome.html", status_code=400, token=token, link_error=err,
                          errors=[], field_errors={}, user=None)
        return render(request, "admin/welcome.html", token=token, link_error=None, errors=[], field_errors={},
                      user=user)
    form = await request.form()
    token = str(form.get("token") or "")
    password = str(form.get("password") or "")
    errors = []
    if not password:
        errors.append({"field": "password", "th": "กรุณากำหนดรหัสผ่าน", "en": "Choose a password"})
    elif str(form.get("password_confirm") or "") != password:
        errors.append({"field": "password_confirm", "th": "รหัสผ่านทั้งสองช่องไม่ตรงกัน", "en": "The two passwords do not match"})
    user = None
    if not errors:
        try:
            user = await run_in_threadpool(acc.accept_invitation, token, password)
        except AuthError as err:
            if err.code != "weak_password":
                return render(request, "admin/welcome.html", status_code=400, token=token, link_error=err,
                              errors=[], field_errors={}, user=None)
            errors.append({"field": "password", "th": err.th, "en": err.en})
    if errors:
        try:
            shown = await run_in_threadpool(acc.check_invitation, token)
        except AuthError as err:
            return render(request, "admin/welcome.html", status_code=400, token=token, link_error=err,
                          errors=[], field_errors={}, user=None)
        return render(request, "admin/welcome.html", status_code=400, token=token, link_error=None, errors=errors,
                      field_errors={e["field"]: e for e in errors}, user=shown)
    trail = audit_log(request)
    if trail is not None:
        trail.record(user["id"], "staff.password_set", target=user["id"], ip=deps.client_ip(request),
                     user_agent=request.headers.get("user-agent", "")[:300])
    await run_in_threadpool(deps.sign_in, request, user)
    return RedirectResponse(deps.landing_path(request, user) or "/applications", status_code=303)


routes = [
    Route("/admin", home, name="admin_home"),
    Route("/admin/agencies/{agency}/staff", staff_page, name="admin_staff", methods=["GET", "POST"]),
    Route("/admin/agencies/{agency}/staff/{user_id}", person_page, name="admin_person"),
    Route("/admin/agencies/{agency}/staff/{user_id}/roles", grant, name="admin_grant", methods=["POST"]),
    Route("/admin/agencies/{agency}/staff/{user_id}/revoke", revoke, name="admin_revoke", methods=["POST"]),
    Route("/admin/agencies/{agency}/staff/{user_id}/status", status, name="admin_status", methods=["POST"]),
    Route("/admin/agencies/{agency}/staff/{user_id}/name", rename, name="admin_name", methods=["POST"]),
    Route("/staff/welcome", welcome, name="staff_welcome", methods=["GET", "POST"]),
]
