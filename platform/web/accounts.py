"""Accounts on the web: register, verify the e-mail, sign in and out, reset a
password, edit the profile (issue #3 item 2).

R: A-I1 (first-time users register with the e-Service), A-I2 (username +
password), A-F2 (the profile that forms prefill from), A-X1 (the back-office
link only for staff), A-X2 (CSRF on every form, no open redirect, no account
enumeration, passwords never echoed).

Routes (names for ``url()``):

================================  ====================  ===========================================
``/register``                     ``sign_up``           create an account (GET form, POST)
``/register/check-email``         ``sign_up_done``      "we sent you a link" (after POST, PRG)
``/verify?token=``                ``verify_email``      confirm the address from the e-mailed link
``/verify/resend``                ``verify_resend``     send the confirmation link again
``/login?next=``                  ``login``             sign in; ``next`` only a local path
``/logout``                       ``logout``            POST signs out (GET shows a button)
``/password/forgot``              ``password_forgot``   ask for a reset link (same answer for any address)
``/password/forgot/sent``         ``password_forgot_sent``
``/password/reset?token=``        ``password_reset``    choose a new password (single-use link, 1 h)
``/profile``                      ``profile``           view and edit name, ID, phone, address, birth date
================================  ====================  ===========================================

(The route is named ``sign_up``, not ``register``: ``register`` is the public
register of licences, which ``base.html`` links when it exists.)

Mail goes through :class:`eservice.mail.Mailer` with the settings of the app
(``ESERVICE_SMTP_*``) and is recorded in the outbox (subject only, never the
link).  When mail is not configured and the app runs in demo mode
(``ESERVICE_DEMO=1``), the page shows the link instead, so a newcomer can try
the whole flow without a mail server; outside demo mode it never does.

Links in mails follow :func:`eservice.web.context.public_url`: ``ESERVICE_BASE_URL``
(``eservice serve`` does not start without it outside demo mode), never the
request's ``Host`` header (issue #17).
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import NoMatchFound, Route

from ..auth import AuthError, hash_token, normalize_email, password_problems
from ..clock import BANGKOK
from ..dates import DateInputError, read_typed_date
from ..mail import DeliveryError, Outbox
from ..notifications import mailer_from_settings
from ..plugins.thai_address import check_address, normalize_address
from ..renderers.html import render
from ..thai_ids import check_thai_id, check_thai_phone
from .context import get_context, public_url
from .deps import accounts, current_user, landing_path, login_redirect, sign_in, sign_out
from .throttle import Throttled, give_back, limit

__all__ = ["routes", "safe_next", "send_account_mail"]

log = logging.getLogger("eservice.web.accounts")

PROFILE_INPUTS = ("first_name", "last_name", "national_id", "phone", "birth_date")
ADDRESS_PARTS = ("line", "subdistrict", "district", "province", "postcode")
RESEND_LIMIT = 3  # confirmation mails per address per hour (no mail bombing)


# --------------------------------------------------------------------------- helpers


def safe_next(value: Any) -> str | None:
    """``value`` if it is a path on this site (``/…``), else None — no open redirect (A-X2).

    Refused: absolute URLs, scheme-relative ``//host``, backslashes (browsers
    read ``/\\host`` as ``//host``), control characters and anything with a
    scheme or a host."""
    if not isinstance(value, str) or not value or len(value) > 2000:
        return None
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def _staff(user: Mapping[str, Any] | None) -> bool:
    return bool(user and user.get("roles"))


def _path_of(request: Request, name: str, fallback: str) -> str:
    try:
        return str(request.app.url_path_for(name))
    except NoMatchFound:
        return fallback


def _default_target(request: Request, user: Mapping[str, Any]) -> str:
    """Staff land in the back office, citizens on their applications."""
    if _staff(user):  # the inbox, else the administration pages; never a page that refuses them
        found = landing_path(request, user)
        if found:
            return found
    return _path_of(request, "my_applications", "/applications")


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v.strip() if isinstance(v, str) and not k.startswith("password") else v
            for k, v in form.items() if isinstance(v, str)}


class Errors:
    """Field errors in page order: the summary links each to its input."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, field: str | None, th: str, en: str) -> None:
        if field and any(e["field"] == field for e in self.items):
            return  # one message per field, the first found
        self.items.append({"field": field or "", "th": th, "en": en})

    def by_field(self) -> dict[str, dict[str, str]]:
        return {e["field"]: e for e in self.items if e["field"]}

    def __bool__(self) -> bool:
        return bool(self.items)


_FIELD_OF_CODE = (
    ("profile.first_name", "first_name"), ("profile.last_name", "last_name"),
    ("thai_id", "national_id"), ("thai_phone", "phone"), ("phone", "phone"),
    ("profile.birth_date", "birth_date"), ("profile.address", "address_line"),
    ("password", "password"), ("invalid_email", "email"),
)


def _field_for(code: str) -> str | None:
    for prefix, field in _FIELD_OF_CODE:
        if code == prefix or code.startswith(prefix + "."):
            return field
    return None


def _add_auth_error(errors: Errors, err: AuthError, default_field: str | None = None) -> None:
    if err.problems:
        for code, th, en in err.problems:
            errors.add(_field_for(code) or default_field, th, en)
    else:
        errors.add(_field_for(err.code) or default_field, err.th, err.en)


def _base_url(request: Request) -> str:
    return public_url(get_context(request).settings, request)


def _mail_ready(request: Request) -> bool:
    return get_context(request).settings.smtp is not None


def _show_links(request: Request) -> bool:
    """Demo without a mail server: links are shown on the page (never otherwise)."""
    return bool(get_context(request).settings.demo) and not _mail_ready(request)


def send_account_mail(request: Request, to: str, subject: str, text: str, kind: str) -> bool:
    """Send one account mail (blocking; call in a thread).  True when the server
    took it; False when mail is not configured or delivery failed (recorded in
    the outbox, logged)."""
    ctx = get_context(request)
    outbox = Outbox(ctx.store, ctx.clock) if ctx.clock is not None else Outbox(ctx.store)
    mailer = mailer_from_settings(ctx.settings.smtp, outbox, ctx.clock)
    if mailer is None:
        log.warning("e-mail is not configured (ESERVICE_SMTP_HOST); %s mail not sent", kind)
        return False
    try:
        mailer.send(to, subject, text, kind=kind)
    except DeliveryError as err:
        log.warning("%s mail not delivered: %s", kind, err.en)
        return False
    return True


def _site(request: Request) -> dict[str, str]:
    name = get_context(request).settings.site_name
    return {"th": name.get("th", ""), "en": name.get("en") or name.get("th", "")}


def _verification_mail(request: Request, name: str, link: str) -> tuple[str, str]:
    site = _site(request)
    subject = f"ยืนยันอีเมลของท่าน — {site['th']} / Confirm your e-mail address"
    text = (
        f"เรียน {name}\n\n"
        f"ขอบคุณที่ลงทะเบียนใช้งาน{site['th']} กรุณากดลิงก์ด้านล่างเพื่อยืนยันอีเมลของท่าน "
        "ลิงก์นี้ใช้ได้ครั้งเดียวภายใน 48 ชั่วโมง\n\n"
        f"{link}\n\n"
        "หากท่านไม่ได้ลงทะเบียน ไม่ต้องดำเนินการใด ๆ บัญชีจะใช้งานไม่ได้จนกว่าจะยืนยันอีเมล\n\n"
        + "-" * 40 + " English " + "-" * 10 + "\n\n"
        f"Dear {name},\n\n"
        f"Thank you for registering with {site['en']}. Open the link below to confirm your e-mail "
        "address. It works once, within 48 hours.\n\n"
        f"{link}\n\n"
        "If you did not register, you need not do anything: the account cannot be used until the "
        "address is confirmed.\n"
    )
    return subject, text


def _already_registered_mail(request: Request) -> tuple[str, str]:
    site = _site(request)
    base = _base_url(request)
    subject = f"ท่านมีบัญชีอยู่แล้ว — {site['th']} / You already have an account"
    text = (
        f"มีการลงทะเบียนใช้งาน{site['th']} ด้วยอีเมลนี้ แต่อีเมลนี้มีบัญชีอยู่แล้ว\n\n"
        f"เข้าสู่ระบบ: {base}/login\n"
        f"ลืมรหัสผ่าน: {base}/password/forgot\n\n"
        "หากท่านไม่ได้ดำเนินการนี้ ไม่ต้องทำอะไร บัญชีของท่านไม่มีการเปลี่ยนแปลง\n\n"
        + "-" * 40 + " English " + "-" * 10 + "\n\n"
        f"Someone tried to register with {site['en']} using this e-mail address, which already has "
        "an account.\n\n"
        f"Sign in: {base}/login\n"
        f"Forgot your password: {base}/password/forgot\n\n"
        "If this was not you, you need not do anything: your account has not changed.\n"
    )
    return subject, text


def _reset_mail(request: Request, link: str) -> tuple[str, str]:
    site = _site(request)
    subject = f"ตั้งรหัสผ่านใหม่ — {site['th']} / Reset your password"
    text = (
        f"มีการขอตั้งรหัสผ่านใหม่สำหรับบัญชี{site['th']} ของท่าน กรุณากดลิงก์ด้านล่าง "
        "ลิงก์นี้ใช้ได้ครั้งเดียวภายใน 1 ชั่วโมง\n\n"
        f"{link}\n\n"
        "หากท่านไม่ได้ขอ ไม่ต้องดำเนินการใด ๆ รหัสผ่านเดิมยังใช้ได้\n\n"
        + "-" * 40 + " English " + "-" * 10 + "\n\n"
        f"Someone asked to reset the password of your {site['en']} account. Open the link below; it "
        "works once, within 1 hour.\n\n"
        f"{link}\n\n"
        "If you did not ask, you need not do anything: your password has not changed.\n"
    )
    return subject, text


def _display_name(user: Mapping[str, Any]) -> str:
    profile = user.get("profile") or {}
    return " ".join(p for p in (profile.get("first_name"), profile.get("last_name")) if p) or user.get("email", "")


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


# --------------------------------------------------------------------------- register (A-I1)


def _check_optional(errors: Errors, values: Mapping[str, str]) -> None:
    """National ID and phone: optional, but checked when given (the same checks as the profile)."""
    if values.get("national_id"):
        for m in check_thai_id(values["national_id"]):
            errors.add("national_id", m.th, m.en)
    if values.get("phone"):
        for m in check_thai_phone(values["phone"]):
            errors.add("phone", m.th, m.en)


def _check_names(errors: Errors, values: Mapping[str, str]) -> None:
    if not values.get("first_name"):
        errors.add("first_name", "กรุณากรอกชื่อ", "Enter your first name")
    if not values.get("last_name"):
        errors.add("last_name", "กรุณากรอกนามสกุล", "Enter your last name")


async def sign_up(request: Request) -> Response:
    if request.method == "GET":
        if current_user(request):
            return _redirect("/profile")
        return render(request, "accounts/register.html", values={}, errors=[], field_errors={})
    values = await _form(request)
    errors = Errors()
    email = values.get("email", "")
    try:
        email = normalize_email(email)
    except AuthError as err:
        errors.add("email", "กรุณากรอกอีเมล" if not email else err.th,
                   "Enter your e-mail address" if not email else err.en)
    password = values.get("password", "")
    for _code, th, en in password_problems(password, email or None):
        errors.add("password", th, en)
    if not values.get("password_confirm"):
        errors.add("password_confirm", "กรุณายืนยันรหัสผ่าน", "Confirm your password")
    elif values.get("password_confirm") != password:
        errors.add("password_confirm", "รหัสผ่านทั้งสองช่องไม่ตรงกัน", "The two passwords do not match")
    _check_names(errors, values)
    _check_optional(errors, values)
    kept = {k: values.get(k, "") for k in ("email", "first_name", "last_name", "national_id", "phone")}
    if errors:
        return render(request, "accounts/register.html", status_code=400, values=kept,
                      errors=errors.items, field_errors=errors.by_field())

    # per client and per address, counted whether the address has an account or not (issue #17)
    await run_in_threadpool(limit, request, "register", account=email)
    profile = {k: values[k] for k in ("first_name", "last_name", "national_id", "phone") if values.get(k)}
    acc = accounts(request)
    demo_link = None
    try:
        user, token = await run_in_threadpool(acc.register, email, password, profile)
    except AuthError as err:
        if err.code != "email_taken":
            _add_auth_error(errors, err)
            return render(request, "accounts/register.html", status_code=400, values=kept,
                          errors=errors.items, field_errors=errors.by_field())
        # The same answer as for a new address, so the form cannot tell who has an
        # account (A-X2); the owner gets a mail saying they already have one.
        subject, text = _already_registered_mail(request)
        sent = await run_in_threadpool(send_account_mail, request, email, subject, text, "account_exists")
    else:
        link = f"{_base_url(request)}/verify?{urlencode({'token': token})}"
        subject, text = _verification_mail(request, _display_name(user), link)
        sent = await run_in_threadpool(send_account_mail, request, email, subject, text, "verify_email")
        if _show_links(request):
            demo_link = link
    request.session["signup"] = {"email": email, "demo_link": demo_link,
                                 "failed": bool(_mail_ready(request) and not sent)}
    return _redirect("/register/check-email")


async def sign_up_done(request: Request) -> Response:
    done = request.session.get("signup")
    if not done:
        return _redirect("/register")
    return render(request, "accounts/check_email.html", email=done.get("email", ""),
                  demo_link=done.get("demo_link") if _show_links(request) else None,
                  failed=done.get("failed", False))


# --------------------------------------------------------------------------- verification


async def verify_email(request: Request) -> Response:
    token = request.query_params.get("token", "")
    try:
        user = await run_in_threadpool(accounts(request).verify_email, token)
    except AuthError as err:
        return render(request, "accounts/verify.html", status_code=400, ok=False, error=err)
    request.session.pop("signup", None)
    return render(request, "accounts/verify.html", ok=True, email=user["email"], error=None)


def _resend_allowed(request: Request, address: str) -> bool:
    """At most RESEND_LIMIT confirmation mails per address per hour."""
    ctx = get_context(request)
    now = ctx.now()
    log_ = ctx.store.collection("verification_resends")
    key = hash_token(address)
    found = log_.get(key)
    recent = [t for t in (found or {}).get("at", []) if now - dt.datetime.fromisoformat(t) < dt.timedelta(hours=1)]
    if len(recent) >= RESEND_LIMIT:
        return False
    try:
        log_.put(key, {"at": recent + [now.isoformat()]}, expected_version=found["version"] if found else None)
    except Exception:  # a parallel request counted first
        return False
    return True


async def verify_resend(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "accounts/resend.html", sent=False, values={}, errors=[], field_errors={},
                      demo_link=None)
    values = await _form(request)
    errors = Errors()
    try:
        address = normalize_email(values.get("email", ""))
    except AuthError as err:
        errors.add("email", err.th, err.en)
        return render(request, "accounts/resend.html", status_code=400, sent=False, values=values,
                      errors=errors.items, field_errors=errors.by_field(), demo_link=None)
    await run_in_threadpool(limit, request, "verify_resend")  # per address: RESEND_LIMIT below
    acc = accounts(request)
    user = acc.find_by_email(address)
    demo_link = None
    task = None
    if user is not None and not user.get("email_verified") and not user.get("disabled") \
            and _resend_allowed(request, address):
        token = acc.new_verification_token(user["id"])
        link = f"{_base_url(request)}/verify?{urlencode({'token': token})}"
        subject, text = _verification_mail(request, _display_name(user), link)
        if _show_links(request):
            demo_link = link
        task = BackgroundTask(send_account_mail, request, address, subject, text, "verify_email")
    return render(request, "accounts/resend.html", sent=True, email=address, values={}, errors=[],
                  field_errors={}, demo_link=demo_link, background=task)


# --------------------------------------------------------------------------- sign in / out (A-I2)


async def login(request: Request) -> Response:
    next_path = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        user = current_user(request)
        if user:
            return _redirect(next_path or _default_target(request, user))
        notice = None
        if request.query_params.get("signed_out"):
            notice = ("ท่านออกจากระบบแล้ว", "You have signed out")
        elif request.query_params.get("reset"):
            notice = ("ตั้งรหัสผ่านใหม่แล้ว กรุณาเข้าสู่ระบบด้วยรหัสผ่านใหม่",
                      "Your password has been changed. Sign in with the new password")
        return render(request, "accounts/login.html", values={}, errors=[], field_errors={},
                      next_path=next_path, notice=notice, unverified=False)
    values = await _form(request)
    next_path = safe_next(values.get("next")) or next_path
    errors = Errors()
    if not values.get("email"):
        errors.add("email", "กรุณากรอกอีเมล", "Enter your e-mail address")
    if not values.get("password"):
        errors.add("password", "กรุณากรอกรหัสผ่าน", "Enter your password")
    unverified = False
    status, headers = 400, None
    if not errors:
        try:
            # per client first, per account in authenticate (the lock-out), issue #17
            await run_in_threadpool(limit, request, "sign_in")
            user = await run_in_threadpool(accounts(request).authenticate, values["email"], values["password"])
        except Throttled as err:
            errors.add("email", err.th, err.en)
            status, headers = 429, {"Retry-After": str(err.retry_after)}
        except AuthError as err:
            if err.code != "invalid_credentials":  # locked (nothing checked), or the right password
                await run_in_threadpool(give_back, request, "sign_in")
            # invalid_credentials is one message for an unknown address and a wrong password
            errors.add("email" if err.code in ("invalid_credentials", "locked") else None, err.th, err.en)
            unverified = err.code == "email_not_verified"
            if err.code == "locked":
                status, headers = 429, {"Retry-After": str(err.retry_after or 60)}
        else:
            await run_in_threadpool(give_back, request, "sign_in")
            sign_in(request, user)
            log.info("sign-in of account %s", user["id"])
            return _redirect(next_path or _default_target(request, user))
    response = render(request, "accounts/login.html", status_code=status, values={"email": values.get("email", "")},
                      errors=errors.items, field_errors=errors.by_field(), next_path=next_path, notice=None,
                      unverified=unverified)
    response.headers.update(headers or {})
    return response


async def logout(request: Request) -> Response:
    if request.method == "GET":
        if not current_user(request):
            return _redirect("/login")
        return render(request, "accounts/logout.html")
    await run_in_threadpool(sign_out, request)  # every copy of the cookie ends (issue #17)
    return _redirect("/login?signed_out=1")


# --------------------------------------------------------------------------- password reset


async def password_forgot(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "accounts/forgot.html", values={}, errors=[], field_errors={})
    values = await _form(request)
    errors = Errors()
    try:
        address = normalize_email(values.get("email", ""))
    except AuthError as err:
        if not values.get("email"):
            errors.add("email", "กรุณากรอกอีเมล", "Enter your e-mail address")
        else:
            errors.add("email", err.th, err.en)
        return render(request, "accounts/forgot.html", status_code=400, values=values,
                      errors=errors.items, field_errors=errors.by_field())
    # Per client here; per account the reset mails are capped in Accounts (issue #17).
    await run_in_threadpool(limit, request, "password_reset")
    # None for an unknown address: the page and the timing are the same either
    # way; the mail leaves after the response (A-X2, no enumeration).
    token = await run_in_threadpool(accounts(request).request_password_reset, address)
    task = None
    demo_link = None
    if token:
        link = f"{_base_url(request)}/password/reset?{urlencode({'token': token})}"
        subject, text = _reset_mail(request, link)
        task = BackgroundTask(send_account_mail, request, address, subject, text, "password_reset")
        if _show_links(request):
            demo_link = link
    request.session["forgot"] = {"email": address, "demo_link": demo_link}
    response = _redirect("/password/forgot/sent")
    response.background = task
    return response


async def password_forgot_sent(request: Request) -> Response:
    done = request.session.get("forgot")
    if not done:
        return _redirect("/password/forgot")
    return render(request, "accounts/forgot_sent.html", email=done.get("email", ""),
                  demo_link=done.get("demo_link") if _show_links(request) else None)


def _token_problem(request: Request, token: str) -> AuthError | None:
    """Why a reset link cannot be used, checked before showing the form."""
    acc = accounts(request)
    peek = getattr(acc, "_peek_token", None)
    if peek is None:  # pragma: no cover - the form then reports it on submission
        return None
    try:
        peek(token, "reset")
    except AuthError as err:
        return err
    return None


async def password_reset(request: Request) -> Response:
    if request.method == "GET":
        token = request.query_params.get("token", "")
        problem = _token_problem(request, token)
        return render(request, "accounts/reset.html", status_code=400 if problem else 200, token=token,
                      link_error=problem, errors=[], field_errors={})
    values = await _form(request)
    token = values.get("token", "")
    errors = Errors()
    password = values.get("password", "")
    if not password:
        errors.add("password", "กรุณากำหนดรหัสผ่านใหม่", "Enter a new password")
    elif values.get("password_confirm") != password:
        errors.add("password_confirm", "รหัสผ่านทั้งสองช่องไม่ตรงกัน", "The two passwords do not match")
    if errors:
        return render(request, "accounts/reset.html", status_code=400, token=token, link_error=None,
                      errors=errors.items, field_errors=errors.by_field())
    try:
        await run_in_threadpool(accounts(request).reset_password, token, password)
    except AuthError as err:
        if err.code == "weak_password":
            _add_auth_error(errors, err, "password")
            return render(request, "accounts/reset.html", status_code=400, token=token, link_error=None,
                          errors=errors.items, field_errors=errors.by_field())
        return render(request, "accounts/reset.html", status_code=400, token=token, link_error=err,
                      errors=[], field_errors={})
    await run_in_threadpool(sign_out, request)  # every session ended with the reset; this one too
    return _redirect("/login?reset=1")


# --------------------------------------------------------------------------- profile (A-F2)


def _profile_values(user: Mapping[str, Any]) -> dict[str, str]:
    profile = user.get("profile") or {}
    values = {k: str(profile.get(k) or "") for k in PROFILE_INPUTS}
    address = profile.get("address") or {}
    for part in ADDRESS_PARTS:
        values[f"address_{part}"] = str(address.get(part) or "")
    return values


def _parse_birth_date(text: str) -> str | None:
    """What the Thai date widget sent (dates.read_typed_date: B.E. or C.E.); None when it is not a date."""
    try:
        return read_typed_date(text).isoformat()
    except DateInputError:
        return None


def _address_from(values: Mapping[str, str], errors: Errors) -> dict[str, str] | None:
    parts = {p: values.get(f"address_{p}", "") for p in ADDRESS_PARTS}
    if not any(parts.values()):
        return None
    problems = check_address(parts)
    for m in problems:
        part = m.path[0] if m.path else "line"
        errors.add(f"address_{part}", m.th, m.en)
    if problems:
        return None
    return normalize_address(parts)


def _changed_fields(saved: Mapping[str, str], typed: Mapping[str, str]) -> list[str]:
    return [k for k in saved if (saved.get(k) or "") != (typed.get(k) or "")]


async def profile(request: Request) -> Response:
    user = current_user(request)
    if user is None:
        return login_redirect(request)
    if request.method == "GET":
        return render(request, "accounts/profile.html", user=user, values=_profile_values(user),
                      version=user["version"], errors=[], field_errors={},
                      saved=bool(request.query_params.get("saved")), conflict=None)
    values = await _form(request)
    parts = [values.get(f"birth_date.{p}", "").strip() for p in ("day", "month", "year")]
    if any(parts):  # the Thai date widget's boxes (issue #10 item 6)
        values = {**values, "birth_date": "/".join(parts)}
    typed = {k: values.get(k, "") for k in PROFILE_INPUTS + tuple(f"address_{p}" for p in ADDRESS_PARTS)}
    errors = Errors()
    _check_names(errors, values)
    _check_optional(errors, values)
    birth = None
    if values.get("birth_date"):
        birth = _parse_birth_date(values["birth_date"])
        today = get_context(request).now().astimezone(BANGKOK).date()
        if birth is not None and not (dt.date(1900, 1, 1) <= dt.date.fromisoformat(birth) <= today):
            birth = None
        if birth is None:
            errors.add("birth_date", "วันเกิดไม่ถูกต้อง ต้องเป็นวันที่ที่ผ่านมาแล้ว กรอกเป็น วว/ดด/ปปปป เช่น 31/12/2530",
                       "Enter a date of birth in the past, for example 31/12/1987")
    address = _address_from(values, errors)
    try:
        version = int(values.get("version", ""))
    except ValueError:
        version = -1
    if errors:
        return render(request, "accounts/profile.html", status_code=400, user=user, values=typed,
                      version=version, errors=errors.items, field_errors=errors.by_field(), saved=False,
                      conflict=None)
    changes = {
        "first_name": values["first_name"], "last_name": values["last_name"],
        "national_id": values.get("national_id") or None, "phone": values.get("phone") or None,
        "birth_date": birth, "address": address,
    }
    try:
        await run_in_threadpool(accounts(request).update_profile, user["id"], changes, version)
    except AuthError as err:
        if err.code == "conflict":
            # Someone (another tab, an officer) saved first: keep what was typed,
            # show what is saved now, and let the person save again knowingly.
            fresh = accounts(request).get(user["id"])
            saved_now = _profile_values(fresh)
            return render(request, "accounts/profile.html", status_code=409, user=fresh, values=typed,
                          version=fresh["version"], errors=[], field_errors={}, saved=False,
                          conflict={"saved": saved_now, "changed": _changed_fields(saved_now, typed)})
        _add_auth_error(errors, err, "first_name")
        return render(request, "accounts/profile.html", status_code=400, user=user, values=typed,
                      version=version, errors=errors.items, field_errors=errors.by_field(), saved=False,
                      conflict=None)
    return _redirect("/profile?saved=1")


routes = [
    Route("/register", sign_up, name="sign_up", methods=["GET", "POST"]),
    Route("/register/check-email", sign_up_done, name="sign_up_done", methods=["GET"]),
    Route("/verify", verify_email, name="verify_email", methods=["GET"]),
    Route("/verify/resend", verify_resend, name="verify_resend", methods=["GET", "POST"]),
    Route("/login", login, name="login", methods=["GET", "POST"]),
    Route("/logout", logout, name="logout", methods=["GET", "POST"]),
    Route("/password/forgot", password_forgot, name="password_forgot", methods=["GET", "POST"]),
    Route("/password/forgot/sent", password_forgot_sent, name="password_forgot_sent", methods=["GET"]),
    Route("/password/reset", password_reset, name="password_reset", methods=["GET", "POST"]),
    Route("/profile", profile, name="profile", methods=["GET", "POST"]),
]
