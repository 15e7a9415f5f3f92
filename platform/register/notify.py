"""Telling the licence holder that their licence was suspended, reinstated or revoked (PL-4).

When an officer changes a licence's status (:meth:`Register.change_status`),
the holder — the applicant of the application that issued it — gets an e-mail
in Thai and English with the licence, the new status, the reason the officer
gave, and where to check it (the public register entry and ``/verify``).

The mail goes through the installation's :class:`~eservice.mail.Mailer` and is
recorded in the :class:`~eservice.mail.Outbox` (``kind`` ``licence.<action>``,
``application`` the issuing application) like every other notification, so a
failure is visible to officers.  A licence loaded by ``eservice register
import`` has no application and no e-mail address on record: the outbox then
records that nothing could be sent.  Sending never undoes the status change.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ..dates import format_datetime
from .model import STATUS_TEXT
from . import values

__all__ = ["holder_mail", "notify_holder"]

log = logging.getLogger(__name__)

_ACTION_TEXT = {
    "suspend": ("ถูกพักใช้", "has been suspended"),
    "reinstate": ("ได้รับการยกเลิกการพักใช้ และกลับมามีผลใช้บังคับ", "is in force again (the suspension was lifted)"),
    "revoke": ("ถูกเพิกถอน", "has been revoked"),
}


def holder_mail(entry: Mapping[str, Any], action: str, reason: str, agency: Any, base_url: str) -> tuple[str, str]:
    """``(subject, text)`` of the mail to the holder, Thai first then English."""
    th_done, en_done = _ACTION_TEXT[action]
    title = values.pair(entry.get("title"))
    number = entry.get("number") or ""
    agency_name = values.pair(getattr(agency, "name", None) or entry.get("agency"))
    status = STATUS_TEXT.get(entry.get("status") or "", {"th": "", "en": ""})
    since = entry.get("status_since")
    when_th = format_datetime(since, "th", long=True) if since else ""
    when_en = format_datetime(since, "en", long=True) if since else ""
    base = base_url.rstrip("/")
    entry_url = f"{base}/licences/{entry.get('id', '')}"
    verify_url = f"{base}/verify?licence={quote(number, safe='')}"
    phone = getattr(agency, "phone", "") or ""
    email = getattr(agency, "email", "") or ""
    contact_th = f"โทร {phone}" + (f" อีเมล {email}" if email else "")
    contact_en = f"phone {phone}" + (f", e-mail {email}" if email else "")
    subject = f"{title['th']} เลขที่ {number} {th_done} / {title['en']} no. {number} {en_done}"
    text = "\n".join([
        "เรียน ผู้ถือใบอนุญาต",
        "",
        f"{title['th']} เลขที่ {number} ของท่าน{th_done} โดย{agency_name['th']}"
        + (f" เมื่อ {when_th}" if when_th else ""),
        f"สถานะปัจจุบัน: {status['th']}",
        f"เหตุผล: {reason}",
        "",
        f"ตรวจสอบสถานะในทะเบียนใบอนุญาต: {entry_url}",
        f"ตรวจสอบใบอนุญาต: {verify_url}",
        f"หากมีข้อสงสัย โปรดติดต่อ{agency_name['th']} {contact_th}",
        "",
        "— English —",
        "",
        "Dear licence holder,",
        "",
        f"Your {title['en']} no. {number} {en_done} by {agency_name['en']}"
        + (f" on {when_en}" if when_en else "") + ".",
        f"Status now: {status['en']}",
        f"Reason: {reason}",
        "",
        f"The licence in the public register: {entry_url}",
        f"Verify the licence: {verify_url}",
        f"Questions: {agency_name['en']}, {contact_en}",
        "",
        "ข้อความนี้ส่งโดยอัตโนมัติ / This message was sent automatically.",
    ])
    return subject, text


def _holder_address(store: Any, clock: Any, application_id: str | None) -> tuple[str | None, str | None]:
    """``(application id, e-mail)`` of the licence's holder, as far as the platform knows."""
    if not application_id:
        return None, None
    from ..auth import Accounts

    from ..store import NotFoundError

    try:
        record = store.get_application(application_id)
    except NotFoundError:
        return application_id, None
    try:
        user = Accounts(store, clock).get(record.get("applicant", ""))
    except Exception:  # an applicant without an account
        user = None
    return application_id, (user or {}).get("email")


def notify_holder(ctx: Any, entry: Mapping[str, Any], action: str, reason: str) -> dict | None:
    """Mail the holder of *entry* that *action* was done with *reason*; return the
    outbox record.  *ctx* is the web app's AppContext (store, settings, clock,
    catalogue).  Never raises: the status change is already saved."""
    try:
        return _notify(ctx, entry, action, reason)
    except Exception:
        log.exception("the holder of licence %s could not be told of %s", entry.get("number"), action)
        return None


def _notify(ctx: Any, entry: Mapping[str, Any], action: str, reason: str) -> dict | None:
    from ..clock import SystemClock
    from ..mail import DeliveryError, Outbox
    from ..notifications import mailer_from_settings, not_configured_error
    from ..settings import public_url

    if action not in _ACTION_TEXT:
        return None
    clock = ctx.clock or SystemClock()
    outbox = Outbox(ctx.store, clock)
    agency = ctx.catalogue.agencies.get(entry.get("agency")) if ctx.catalogue is not None else None
    subject, text = holder_mail(entry, action, reason, agency, public_url(ctx.settings))
    kind = f"licence.{action}"
    app_id, address = _holder_address(ctx.store, clock, entry.get("application"))
    if not address:
        error = DeliveryError(
            "ไม่พบอีเมลของผู้ถือใบอนุญาต (เช่น ใบอนุญาตที่นำเข้าจากทะเบียนเดิม) จึงแจ้งทางอีเมลไม่ได้",
            "the licence holder has no e-mail address on record (e.g. a licence imported from the old "
            "register); nothing was sent", code="no_address", permanent=True)
        return outbox.record([], subject, "failed", error=error, application=app_id, kind=kind)
    mailer = mailer_from_settings(ctx.settings.smtp, outbox, clock)
    if mailer is None:
        return outbox.record([address], subject, "failed", error=not_configured_error(), application=app_id,
                             kind=kind)
    try:
        message_id = mailer.send(address, subject, text, application=app_id, kind=kind)
    except DeliveryError as err:  # recorded by the Mailer
        return outbox.items.get(err.outbox_id) if err.outbox_id else None
    found = [r for r in outbox.for_application(app_id) if r.get("message_id") == message_id]
    return found[-1] if found else None
