"""Where bounce reports come in (issue #21): an SMTP listener, or an IMAP mailbox.

Both only *take* reports and keep them (:func:`eservice.bounces.save_report`);
reading and acting on them is :func:`eservice.bounces.process_reports`, a job of
every background round (:mod:`eservice.worker`).

* :class:`BounceListener` — an SMTP server (aiosmtpd) for the bounce domain
  (``ESERVICE_BOUNCE_LISTEN``).  It accepts only the VERP addresses
  ``bounces+<token>@…`` (anything else: ``550 5.1.1``), keeps each message,
  and answers 250 once it is stored (so a sending server never loses a report:
  a store error answers ``451``, and the server tries again).  The web app starts
  it from its lifespan; with several processes the first to bind the port runs it.
* :func:`poll_imap` — reads every message of an IMAP mailbox
  (``ESERVICE_BOUNCE_IMAP_URL``), keeps it and deletes it from the mailbox
  (flag ``\\Deleted`` then ``EXPUNGE``) only after it is stored.
"""
from __future__ import annotations

import imaplib
import logging
import ssl
from collections.abc import Callable
from typing import Any

from .bounces import save_report, token_of_address
from .errors import BilingualError

__all__ = ["BounceListener", "BounceSourceError", "poll_imap"]

log = logging.getLogger(__name__)

MAX_MESSAGE = 10 * 1024 * 1024


class BounceSourceError(BilingualError):
    """The IMAP mailbox could not be read (the reason in Thai and English)."""

    def __init__(self, th: str, en: str):
        super().__init__("bounce_source", th, en)


class _Handler:
    def __init__(self, listener: BounceListener):
        self.listener = listener

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if token_of_address(address) is None:
            return "550 5.1.1 only bounce reports are accepted here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):  # pragma: no cover - decode_data is off
            raw = raw.encode("utf-8")
        try:
            self.listener.keep(raw, list(envelope.rcpt_tos))
        except Exception:  # the sender keeps the report and tries again later
            log.exception("a bounce report could not be stored")
            return "451 4.3.0 could not store the report now; try again later"
        return "250 OK: report kept"


class BounceListener:
    """The inbound SMTP listener for the bounce domain (see the module)::

        listener = BounceListener(store, clock, "0.0.0.0", 2525)
        listener.start()  # a thread of its own
        ...
        listener.stop()
    """

    def __init__(self, store: Any, clock: Any, host: str, port: int, *,
                 on_report: Callable[[dict], None] | None = None):
        self.store, self.clock, self.host, self.port = store, clock, host, port
        self.on_report = on_report
        self._controller = None

    def keep(self, raw: bytes, rcpt_tos: list[str]) -> dict:
        report = save_report(self.store, raw, source="smtp", envelope_to=rcpt_tos, received_at=self.clock.now())
        if self.on_report is not None:
            self.on_report(report)
        return report

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port,
                                      data_size_limit=MAX_MESSAGE, server_hostname="eservice-bounces",
                                      ready_timeout=10)
        self._controller.start()
        log.info("bounce listener on %s:%d", self.host, self.port)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def _imap(settings: Any, timeout: float) -> imaplib.IMAP4:
    host, port = settings.imap_host, settings.imap_port
    if settings.imap_security == "ssl":
        return imaplib.IMAP4_SSL(host, port, ssl_context=ssl.create_default_context(), timeout=timeout)
    conn = imaplib.IMAP4(host, port, timeout=timeout)
    if settings.imap_security == "starttls":
        conn.starttls(ssl_context=ssl.create_default_context())
    return conn


def poll_imap(settings: Any, store: Any, clock: Any, *, timeout: float = 30.0, limit: int = 500) -> int:
    """Take every message (up to ``limit``) from the mailbox of ``settings``
    (a :class:`eservice.settings.BounceSettings`); return how many were kept.
    Raises :class:`BounceSourceError` when the mailbox cannot be read."""
    where = f"{settings.imap_host}:{settings.imap_port}"
    try:
        conn = _imap(settings, timeout)
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
        raise BounceSourceError(f"ติดต่อกล่องอีเมลตีกลับ {where} ไม่ได้: {exc}",
                                f"cannot connect to the bounce mailbox {where}: {exc}") from None
    kept = 0
    try:
        try:
            conn.login(settings.imap_user or "", settings.imap_password or "")
        except imaplib.IMAP4.error as exc:
            raise BounceSourceError(f"เข้าสู่ระบบกล่องอีเมลตีกลับ {where} ไม่สำเร็จ: {exc}",
                                    f"the bounce mailbox {where} refused the login: {exc}") from None
        kind, _ = conn.select(_quoted(settings.imap_mailbox))
        if kind != "OK":
            raise BounceSourceError(f"ไม่พบกล่อง {settings.imap_mailbox} ใน {where}",
                                    f"no mailbox {settings.imap_mailbox} at {where}")
        kind, data = conn.uid("SEARCH", None, "ALL")
        uids = (data[0] or b"").split()[:limit] if kind == "OK" and data else []
        for uid in uids:
            kind, parts = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((p[1] for p in parts or () if isinstance(p, tuple) and len(p) > 1), None)
            if kind != "OK" or raw is None:
                continue
            save_report(store, raw, source="imap", received_at=clock.now())
            conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")  # only once it is stored
            kept += 1
        if kept:
            conn.expunge()
    except (OSError, imaplib.IMAP4.error) as exc:
        raise BounceSourceError(f"อ่านกล่องอีเมลตีกลับ {where} ไม่สำเร็จ: {exc}",
                                f"reading the bounce mailbox {where} failed: {exc}") from None
    finally:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
    return kept


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
