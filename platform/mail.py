"""Sending e-mail over real SMTP, and the outbox that records every attempt.

R: RC-3 (the acknowledgement with the intake number reaches the applicant),
PR-2 (an address that bounces must be visible: "applicant cannot be reached").

This module is the transport; what to tell whom, and the rendering of a
definition's templates, is :mod:`eservice.notifications`::

    settings = SmtpSettings.from_env()          # ESERVICE_SMTP_HOST, … (eservice.settings)
    mailer = Mailer(settings, outbox=Outbox(store, clock))
    mail = render_notification(service.notifications["submitted"], context)  # eservice.notifications
    try:
        mailer.send(applicant_email, mail.subject, mail.text, application=app_id)
    except DeliveryError as err:               # err.permanent: the address bounced
        ...

The submission server may accept a message and bounce it later: with
``ESERVICE_BOUNCE_DOMAIN`` each message's return path is
``bounces+<token>@<bounce domain>`` (VERP; the token is the Message-ID's local
part), and :mod:`eservice.bounces` reads the delivery-status notifications
that come back.  A temporary failure is sent again from the spool with backoff
(:meth:`Mailer.retry_due`, run by the background jobs).
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import itertools
import logging
import mimetypes
import os
import re
import secrets
import smtplib
import ssl
from collections.abc import Iterable, Mapping, Sequence
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any

from .clock import Clock, SystemClock
from .errors import BilingualError
from .settings import SECURITY_MODES, SmtpSettings  # re-exported: the mail layer's settings
from .store.base import Record, Store

__all__ = ["BOUNCE_LOCAL", "DeliveryError", "Mailer", "NotifyError", "Outbox", "RenderError", "RETRY_DELAYS",
           "SmtpSettings", "message_token", "spool_folder"]

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- errors


class NotifyError(BilingualError):
    """Base class: Thai and English text for operators and officers."""

    code = "notify"

    def __init__(self, th: str, en: str):
        super().__init__(self.code, th, en)


class DeliveryError(NotifyError):
    """The mail was not handed over.

    ``code``: connect, tls, auth, sender_refused, recipient_refused,
    data_refused, disconnected, smtp, config.  ``smtp_code`` is the server's
    reply code when there was one; ``permanent`` is True for a 5xx reply (the
    address or the message is refused: retrying will not help, PR-2) and False
    for a temporary problem (4xx, network) worth retrying.  ``refused`` maps
    each refused recipient to ``(code, reason)``.
    """

    def __init__(self, th: str, en: str, *, code: str = "smtp", smtp_code: int | None = None,
                 reason: str = "", permanent: bool = False,
                 refused: Mapping[str, tuple[int, str]] | None = None, message_id: str | None = None):
        super().__init__(th, en)
        self.code = code
        self.smtp_code = smtp_code
        self.reason = reason
        self.permanent = permanent
        self.refused = dict(refused or {})
        self.message_id = message_id  # set when other recipients did get the mail
        self.outbox_id: str | None = None


class RenderError(NotifyError):
    """A notification template could not be rendered (syntax, or unsafe access)."""


# --------------------------------------------------------------------------- sending

Attachment = tuple[str, bytes, str]  # (file name, data, media type — "" to guess)


class Mailer:
    """Sends mail through one SMTP server, one connection per message.

    With an :class:`Outbox`, every attempt (sent or failed) is recorded so
    officers can see who could not be reached.
    """

    def __init__(self, settings: SmtpSettings | None = None, *, outbox: Outbox | None = None,
                 clock: Clock | None = None):
        self.settings = settings or SmtpSettings.from_env()
        self.outbox = outbox
        self.clock = clock or (outbox.clock if outbox else SystemClock())

    def build(self, to: str | Sequence[str], subject: str, text: str, html: str | None = None,
              attachments: Iterable[Attachment] = (), *, reply_to: str | None = None) -> EmailMessage:
        """The MIME message: UTF-8 text (and HTML alternative), attachments,
        RFC 2047-encoded Thai headers, RFC 2231-encoded Thai file names."""
        recipients = [to] if isinstance(to, str) else list(to)
        if not recipients:
            raise DeliveryError("ไม่มีผู้รับ", "no recipient given", code="config", permanent=True)
        # Python's header folder drops the space between encoded words when it folds
        # a long Thai subject; lines up to RFC 5322's 998 limit avoid folding it.
        msg = EmailMessage(policy=email.policy.default.clone(max_line_length=998))
        msg["From"] = self.settings.sender
        msg["To"] = ", ".join(recipients)
        if reply_to:
            msg["Reply-To"] = reply_to
        msg["Subject"] = " ".join(str(subject).split())  # no CR/LF: no header injection
        msg["Date"] = format_datetime(self.clock.now())
        domain = self.settings.sender.rpartition("@")[2].strip(" >") or "localhost"
        # Short enough never to be folded (a folded Message-ID comes back with a leading space).
        # Its local part is the message's token in the VERP return path (message_token).
        msg["Message-ID"] = f"<{secrets.token_hex(12)}@{domain}>"
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to us
        msg.set_content(text, charset="utf-8", cte="base64")
        if html is not None:
            msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
        for name, data, media_type in attachments:
            media_type = media_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
            maintype, _, subtype = media_type.partition("/")
            if maintype == "text":
                msg.add_attachment(data.decode("utf-8"), subtype=subtype or "plain",
                                   charset="utf-8", filename=name)
            else:
                msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                                   filename=name)
        return msg

    def send(self, to: str | Sequence[str], subject: str, text: str, html: str | None = None,
             attachments: Iterable[Attachment] = (), *, reply_to: str | None = None,
             application: str | None = None, kind: str | None = None, retry: bool = True) -> str:
        """Hand the mail to the SMTP server; return its Message-ID.

        Raises :class:`DeliveryError` (with the server's reason) when the
        server cannot be reached or refuses the sender, a recipient or the
        message.  ``application`` and ``kind`` only label the outbox record.
        With an outbox that keeps a spool, a temporary failure is retried later
        with backoff (:meth:`retry_due`) unless ``retry`` is False (the caller
        retries itself).
        """
        attachments = list(attachments)
        msg = self.build(to, subject, text, html, attachments, reply_to=reply_to)
        recipients = [to] if isinstance(to, str) else list(to)
        message_id = msg["Message-ID"]
        spooled = self.outbox is not None and self.outbox.spool_message(message_id, msg)
        try:
            self._deliver(msg, recipients)
        except DeliveryError as err:
            if err.message_id is None and err.refused and len(err.refused) < len(recipients):
                err.message_id = message_id
            if self.outbox is not None:
                later = spooled and retry and not err.permanent
                err.outbox_id = self.outbox.record(
                    recipients, msg["Subject"], "failed", message_id=message_id, error=err,
                    application=application, kind=kind, attachments=[a[0] for a in attachments],
                    retry=self.outbox.next_retry(1) if later else None)["id"]
            log.warning("mail to %d recipient(s) failed: %s", len(recipients), err.en)
            raise
        if self.outbox is not None:
            self.outbox.record(recipients, msg["Subject"], "sent", message_id=message_id,
                               application=application, kind=kind, attachments=[a[0] for a in attachments])
        return message_id

    def envelope_sender(self, message_id: str | None) -> str:
        """The return path: ``bounces+<token>@<bounce domain>`` (VERP) when a
        bounce domain is set, else the From: address."""
        domain = getattr(self.settings, "bounce_domain", None)
        token = message_token(message_id)
        if domain and token:
            return f"{BOUNCE_LOCAL}+{token}@{domain}"
        return _bare(self.settings.sender)

    # -- retries of temporary failures (issue #21) --------------------------------------
    def retry_due(self, now: dt.datetime | None = None) -> list[str]:
        """Send again every spooled message whose temporary failure (at
        submission, or reported later by a 4.x.x bounce) is due for a retry;
        return the outbox ids retried.  Each attempt updates the outbox record:
        ``sent``, ``failed`` permanently, or the next retry with a longer wait
        (:data:`RETRY_DELAYS`); after the last one the record stays ``failed``."""
        if self.outbox is None:
            return []
        now = now or self.clock.now()
        done = []
        for item in self.outbox.retries_due(now):
            msg = self.outbox.spooled(item.get("message_id"))
            attempts = int((item.get("retry") or {}).get("attempts") or 1) + 1
            if msg is None:  # spool gone (kept RETRY_KEEP): nothing left to send
                self.outbox.update(item, retry=None)
                continue
            recipients = list((item.get("retry") or {}).get("to") or item.get("to") or ())
            try:
                self._deliver(msg, recipients)
            except DeliveryError as err:
                later = not err.permanent and attempts < len(RETRY_DELAYS) + 1
                self.outbox.update(item, status="failed", error=_error_record(err), at=now.isoformat(),
                                   retry=self.outbox.next_retry(attempts, now, recipients) if later else None,
                                   attempts=attempts)
                log.warning("retry %d of mail %s failed: %s", attempts, item["id"], err.en)
            else:
                self.outbox.update(item, status="sent", error=None, at=now.isoformat(), retry=None,
                                   attempts=attempts)
            done.append(item["id"])
        return done

    def _deliver(self, msg: EmailMessage, recipients: list[str]) -> None:
        s = self.settings
        where = f"{s.host}:{s.port}"
        smtp: smtplib.SMTP | None = None
        try:
            if s.security == "ssl":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=s.ssl_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            smtp.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(
                        f"เซิร์ฟเวอร์อีเมล {where} ไม่รองรับ STARTTLS (ตั้งค่าให้ใช้การเข้ารหัส แต่เซิร์ฟเวอร์ไม่เสนอ)",
                        f"mail server {where} does not offer STARTTLS, which the settings require",
                        code="tls", permanent=False)
                smtp.starttls(context=s.ssl_context())
                smtp.ehlo()
            if s.username:
                _login(smtp, s.username, s.password or "")
            refused = smtp.send_message(msg, from_addr=self.envelope_sender(msg["Message-ID"]), to_addrs=recipients)
            if refused:
                raise _refused_error(where, {k: (c, _text(r)) for k, (c, r) in refused.items()},
                                     partial=True)
        except DeliveryError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            raise _refused_error(where, {k: (c, _text(r)) for k, (c, r) in exc.recipients.items()}) from None
        except smtplib.SMTPSenderRefused as exc:
            raise DeliveryError(
                f"เซิร์ฟเวอร์อีเมล {where} ไม่รับผู้ส่ง {exc.sender}: {exc.smtp_code} {_text(exc.smtp_error)}",
                f"mail server {where} refused the sender {exc.sender}: {exc.smtp_code} {_text(exc.smtp_error)}",
                code="sender_refused", smtp_code=exc.smtp_code, reason=_text(exc.smtp_error),
                permanent=exc.smtp_code >= 500) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"เข้าสู่ระบบเซิร์ฟเวอร์อีเมล {where} ไม่สำเร็จ (ตรวจสอบชื่อผู้ใช้/รหัสผ่าน SMTP): "
                f"{exc.smtp_code} {_text(exc.smtp_error)}",
                f"mail server {where} rejected the SMTP login (check ESERVICE_SMTP_USER/PASSWORD): "
                f"{exc.smtp_code} {_text(exc.smtp_error)}",
                code="auth", smtp_code=exc.smtp_code, reason=_text(exc.smtp_error)) from None
        except smtplib.SMTPDataError as exc:
            raise DeliveryError(
                f"เซิร์ฟเวอร์อีเมล {where} ไม่รับข้อความ: {exc.smtp_code} {_text(exc.smtp_error)}",
                f"mail server {where} refused the message: {exc.smtp_code} {_text(exc.smtp_error)}",
                code="data_refused", smtp_code=exc.smtp_code, reason=_text(exc.smtp_error),
                permanent=exc.smtp_code >= 500) from None
        except smtplib.SMTPServerDisconnected as exc:
            raise DeliveryError(
                f"เซิร์ฟเวอร์อีเมล {where} ตัดการเชื่อมต่อกลางคัน: {exc}",
                f"mail server {where} closed the connection unexpectedly: {exc}",
                code="disconnected", reason=str(exc)) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(
                f"เซิร์ฟเวอร์อีเมล {where} ไม่รองรับคำสั่งที่ต้องใช้: {exc}",
                f"mail server {where} does not support a needed feature: {exc}",
                code="smtp", reason=str(exc), permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"เซิร์ฟเวอร์อีเมล {where} ตอบกลับข้อผิดพลาด: {exc.smtp_code} {_text(exc.smtp_error)}",
                f"mail server {where} answered with an error: {exc.smtp_code} {_text(exc.smtp_error)}",
                code="smtp", smtp_code=exc.smtp_code, reason=_text(exc.smtp_error),
                permanent=exc.smtp_code >= 500) from None
        except ssl.SSLError as exc:
            raise DeliveryError(
                f"เชื่อมต่อแบบเข้ารหัส (TLS) กับเซิร์ฟเวอร์อีเมล {where} ไม่สำเร็จ: {exc}",
                f"TLS with mail server {where} failed: {exc}",
                code="tls", reason=str(exc)) from None
        except smtplib.SMTPException as exc:
            raise DeliveryError(
                f"ส่งอีเมลผ่าน {where} ไม่สำเร็จ: {exc}", f"sending mail through {where} failed: {exc}",
                code="smtp", reason=str(exc)) from None
        except UnicodeError as exc:
            raise DeliveryError(
                f"ที่อยู่อีเมลหรือการตั้งค่า SMTP มีอักขระที่เซิร์ฟเวอร์ {where} ไม่รองรับ: {exc}",
                f"an address or SMTP setting has characters mail server {where} cannot take: {exc}",
                code="config", reason=str(exc), permanent=True) from None
        except OSError as exc:  # refused, unreachable, unknown host, timeout
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise DeliveryError(
                f"ติดต่อเซิร์ฟเวอร์อีเมล {where} ไม่ได้ ({reason}) ตรวจสอบการตั้งค่า ESERVICE_SMTP_HOST/PORT "
                "และว่าเซิร์ฟเวอร์ทำงานอยู่",
                f"cannot connect to mail server {where} ({reason}); check ESERVICE_SMTP_HOST/PORT "
                "and that the server is running",
                code="connect", reason=reason) from None
        finally:
            if smtp is not None:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """``SMTP.login``, but also for non-ASCII (Thai) credentials, which smtplib
    cannot encode: those go as AUTH PLAIN in UTF-8 (RFC 4616)."""
    if username.isascii() and password.isascii():
        smtp.login(username, password)
        return
    import base64
    if "plain" not in smtp.esmtp_features.get("auth", "").lower().split():
        raise smtplib.SMTPNotSupportedError("the server offers no AUTH PLAIN, needed for a non-ASCII login")
    token = base64.b64encode(f"\0{username}\0{password}".encode("utf-8")).decode("ascii")
    code, reply = smtp.docmd("AUTH", "PLAIN " + token)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _bare(address: str) -> str:
    """``"กรมที่ดิน <noreply@dol.go.th>"`` → ``noreply@dol.go.th`` (the envelope sender)."""
    return parseaddr(address)[1] or address


def _refused_error(where: str, refused: dict[str, tuple[int, str]], partial: bool = False) -> DeliveryError:
    listing = "; ".join(f"{addr}: {code} {reason}" for addr, (code, reason) in refused.items())
    first_code = next(iter(refused.values()))[0]
    permanent = all(code >= 500 for code, _ in refused.values())
    if partial:
        th = f"เซิร์ฟเวอร์อีเมล {where} ส่งให้ผู้รับบางรายไม่ได้ — {listing}"
        en = f"mail server {where} refused some recipients — {listing}"
    else:
        th = f"ส่งอีเมลถึงผู้รับไม่ได้ (ติดต่อผู้ยื่นคำขอทางอีเมลไม่ได้) — {listing}"
        en = f"mail server {where} refused the recipient (the applicant cannot be reached by e-mail) — {listing}"
    return DeliveryError(th, en, code="recipient_refused", smtp_code=first_code,
                         reason=listing, permanent=permanent, refused=refused)


# --------------------------------------------------------------------------- outbox


_MAIL_COUNTER = itertools.count(1)
_TOKEN = re.compile(r"^[0-9a-f]{16,64}$")
BOUNCE_LOCAL = "bounces"  # the VERP return path: bounces+<token>@<bounce domain>
RETRY_DELAYS = (dt.timedelta(minutes=5), dt.timedelta(minutes=15), dt.timedelta(minutes=45),
                dt.timedelta(hours=2, minutes=15), dt.timedelta(hours=6, minutes=45))
RETRY_KEEP = dt.timedelta(days=3)  # spooled messages are kept this long (retries and late 4.x.x bounces)


def spool_folder(settings: Any) -> Path | None:
    """``<data>/mail-spool`` of the platform's settings (None without a data folder)."""
    data = getattr(settings, "data", None)
    return Path(data) / "mail-spool" if data else None


def message_token(message_id: str | None) -> str | None:
    """``<1f2e…@dol.go.th>`` → ``1f2e…``: the token of the VERP return path."""
    local = str(message_id or "").strip().strip("<>").partition("@")[0]
    return local if _TOKEN.match(local) else None


def _error_record(error: DeliveryError) -> dict[str, Any]:
    return {"code": error.code, "th": error.th, "en": error.en, "smtp_code": error.smtp_code,
            "permanent": error.permanent, "refused": {k: list(v) for k, v in error.refused.items()}}


class Outbox:
    """A record of every mail attempt in the store collection ``outbox``:
    recipients, time, subject, status ("sent" / "failed" / "bounced", see
    :mod:`eservice.bounces`), error.  No body is kept in the store.

    With ``spool`` (a folder; the web app uses ``<data>/mail-spool``), each
    message is also written there as it goes out, mode 0600, and kept
    :data:`RETRY_KEEP` so that a temporary failure — at submission, or a 4.x.x
    bounce reported later — can be sent again (:meth:`Mailer.retry_due`); the
    background jobs delete older files (:meth:`purge_spool`)."""

    def __init__(self, store: Store, clock: Clock | None = None, collection: str = "outbox",
                 spool: str | Path | None = None):
        self.clock = clock or SystemClock()
        self.store = store
        self.name = collection
        self.items = store.collection(collection)
        self.spool = Path(spool) if spool is not None else None

    # -- the spool of recent messages ----------------------------------------------------
    def _spool_path(self, message_id: str | None) -> Path | None:
        token = message_token(message_id)
        return self.spool / f"{token}.eml" if self.spool is not None and token else None

    def spool_message(self, message_id: str, msg: EmailMessage) -> bool:
        path = self._spool_path(message_id)
        if path is None:
            return False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(msg.as_bytes())
            return True
        except OSError as exc:  # no retry for this one; the mail itself still goes
            log.warning("mail spool %s not written: %s", path, exc)
            return False

    def spooled(self, message_id: str | None) -> EmailMessage | None:
        path = self._spool_path(message_id)
        if path is None or not path.is_file():
            return None
        policy = email.policy.default.clone(max_line_length=998)
        return email.message_from_bytes(path.read_bytes(), policy=policy)  # type: ignore[return-value]

    def purge_spool(self, now: dt.datetime | None = None) -> int:
        """Delete spooled messages older than :data:`RETRY_KEEP`; return how many."""
        if self.spool is None or not self.spool.is_dir():
            return 0
        limit = (now or self.clock.now()).timestamp() - RETRY_KEEP.total_seconds()
        gone = 0
        for path in self.spool.glob("*.eml"):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
                    gone += 1
            except OSError:
                continue
        return gone

    # -- retries ---------------------------------------------------------------------------
    def next_retry(self, attempts: int, now: dt.datetime | None = None,
                   to: Sequence[str] | None = None) -> dict[str, Any] | None:
        """The retry after ``attempts`` attempts: 5 min, 15 min, 45 min… (:data:`RETRY_DELAYS`)."""
        if self.spool is None or attempts > len(RETRY_DELAYS):
            return None
        at = (now or self.clock.now()) + RETRY_DELAYS[attempts - 1]
        out: dict[str, Any] = {"attempts": attempts, "next_at": at.isoformat()}
        if to:
            out["to"] = list(to)
        return out

    def retries_due(self, now: dt.datetime) -> list[Record]:
        due = []
        for item in self.all():
            retry = item.get("retry") or {}
            if not retry.get("next_at") or item.get("status") == "sent":
                continue
            try:
                when = dt.datetime.fromisoformat(retry["next_at"])
            except ValueError:
                continue
            if when <= now:
                due.append(item)
        return due

    def update(self, item: Mapping[str, Any], **changes: Any) -> Record:
        """Change one outbox record (a retry's result, a bounce), version-checked."""
        current = self.items.get(item["id"]) or dict(item)
        changed = {k: v for k, v in current.items() if k != "version"}
        changed.update(changes)
        return self.items.put(item["id"], changed, expected_version=current.get("version"))

    def by_message_id(self, message_id: str) -> Record | None:
        found = self.items.find(message_id=message_id)
        return sorted(found, key=lambda r: r["id"])[-1] if found else None

    def record(self, to: Sequence[str], subject: str, status: str, *, message_id: str | None = None,
               error: DeliveryError | None = None, application: str | None = None,
               kind: str | None = None, attachments: Sequence[str] = (),
               retry: Mapping[str, Any] | None = None) -> Record:
        now = self.clock.now()
        # Sortable by time, then by this process's counter; a random tail keeps
        # processes apart (a store-wide counter would cost one more durable write).
        key = f"{now:%Y%m%dT%H%M%S%f}-{next(_MAIL_COUNTER):09d}-{secrets.token_hex(4)}"
        record = {
            "id": key, "to": list(to), "at": now.isoformat(), "subject": subject, "status": status,
            "message_id": message_id, "token": message_token(message_id), "application": application, "kind": kind,
            "attachments": list(attachments),
            "error": None if error is None else _error_record(error),
            "retry": dict(retry) if retry else None,
        }
        return self.items.put(key, record)

    def all(self) -> list[Record]:
        return sorted(self.items.all(), key=lambda r: r["id"])

    def failures(self, application: str | None = None) -> list[Record]:
        """Failed attempts, oldest first (of one application if given)."""
        return [r for r in self.all() if r["status"] == "failed"
                and (application is None or r.get("application") == application)]

    def for_application(self, application: str) -> list[Record]:
        return sorted(self.items.find(application=application), key=lambda r: r["id"])

    def unreachable(self, address: str) -> bool:
        """True when the last attempt to ``address`` failed permanently (PR-2)."""
        address = address.strip().lower()
        attempts = [r for r in self.all() if address in (a.lower() for a in r["to"])]
        if not attempts or attempts[-1]["status"] not in ("failed", "bounced"):
            return False
        error = attempts[-1]["error"] or {}
        refused = {k.lower() for k in error.get("refused", {})}
        return bool(error.get("permanent")) and (not refused or address in refused)
