"""A test mail server that accepts a message and bounces it afterwards, as an MTA
does (issue #21): it answers 250, then sends a delivery-status notification
(RFC 3464, laid out as Postfix writes them) to the message's return path.

    mta = BouncingMta(bounce={"somchai@example.com": ("5.1.1", "failed", "550 5.1.1 User unknown")},
                      deliver=smtp_to("127.0.0.1", listener_port))   # or imap_append(...)
    with mta: ...

``bounce`` maps a recipient to ``(status, action, diagnostic)`` (a callable
taking the address is fine too); ``deliver(return_path, dsn_bytes)`` hands the
report over: :func:`smtp_to` by SMTP with the null sender ``<>`` (as MTAs send
bounces), :func:`imap_append` into an IMAP mailbox.
"""
from __future__ import annotations

import asyncio
import imaplib
import secrets
import smtplib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime, make_msgid
from typing import Any
import datetime as dt

from smtp_server import SmtpTestServer, _BoundController, _Handler

__all__ = ["BouncingMta", "dsn_bytes", "imap_append", "smtp_to"]

Outcome = tuple[str, str, str]  # status, action, diagnostic


def dsn_bytes(return_path: str, recipient: str, original: bytes, status: str, action: str, diagnostic: str,
              *, with_message: bool = False) -> bytes:
    """A delivery-status notification about ``original`` for ``recipient``
    (``text/rfc822-headers``, or the whole message as ``message/rfc822``)."""
    boundary = f"{secrets.token_hex(8)}.mta.test"
    headers = original.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in original else original.split(b"\n\n", 1)[0]
    now = dt.datetime.now(dt.timezone.utc)
    human = ("I'm sorry to have to inform you that your message could not\r\nbe delivered to one or more "
             "recipients." if action == "failed" else "Delivery to the following recipient has been delayed.")
    lines = [
        "From: MAILER-DAEMON@mta.test (Mail Delivery System)",
        f"To: {return_path}",
        "Subject: Undelivered Mail Returned to Sender" if action == "failed" else
        "Subject: Delayed Mail (still being retried)",
        f"Date: {format_datetime(now)}",
        f"Message-ID: {make_msgid(domain='mta.test')}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="{boundary}"',
        "",
        "This is a MIME-encapsulated message.",
        "",
        f"--{boundary}",
        "Content-Description: Notification",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "This is the mail system at host mta.test.",
        "",
        human,
        "",
        f"<{recipient}>: host mx.example.com said: {diagnostic}",
        "",
        f"--{boundary}",
        "Content-Description: Delivery report",
        "Content-Type: message/delivery-status",
        "",
        "Reporting-MTA: dns; mta.test",
        f"X-Postfix-Queue-ID: {secrets.token_hex(5).upper()}",
        f"X-Postfix-Sender: rfc822; {return_path}",
        f"Arrival-Date: {format_datetime(now)}",
        "",
        f"Final-Recipient: rfc822; {recipient}",
        f"Original-Recipient: rfc822;{recipient}",
        f"Action: {action}",
        f"Status: {status}",
        "Remote-MTA: dns; mx.example.com",
        f"Diagnostic-Code: smtp; {diagnostic}",
        "",
        f"--{boundary}",
        "Content-Description: " + ("Undelivered Message" if with_message else "Undelivered Message Headers"),
        "Content-Type: " + ("message/rfc822" if with_message else "text/rfc822-headers"),
        "",
    ]
    body = "\r\n".join(lines).encode("ascii") + b"\r\n"
    body += (original if with_message else headers + b"\r\n")
    body += f"\r\n--{boundary}--\r\n".encode("ascii")
    return body


def smtp_to(host: str, port: int) -> Callable[[str, bytes], None]:
    def deliver(return_path: str, report: bytes) -> None:
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            smtp.sendmail("", [return_path], report)
    return deliver


def imap_append(host: str, port: int, user: str, password: str, mailbox: str = "INBOX") -> Callable[[str, bytes], None]:
    def deliver(return_path: str, report: bytes) -> None:
        conn = imaplib.IMAP4(host, port, timeout=10)
        try:
            conn.login(user, password)
            kind, data = conn.append(mailbox, None, None, report)
            assert kind == "OK", data
        finally:
            conn.logout()
    return deliver


class _BouncingHandler(_Handler):
    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        raw = envelope.original_content or envelope.content
        for rcpt in envelope.rcpt_tos:
            outcome = self.server.outcome_for(rcpt)
            if outcome is not None:
                loop = asyncio.get_running_loop()
                loop.run_in_executor(None, self.server.send_bounce, envelope.mail_from, rcpt, raw, outcome)
        return reply  # accepted first: the bounce comes afterwards, as from a real MTA


@dataclass
class BouncingMta(SmtpTestServer):
    bounce: dict[str, Outcome] | Callable[[str], Outcome | None] = field(default_factory=dict)
    deliver: Callable[[str, bytes], None] | None = None
    bounce_domain: str = "bounces.eservice.test"
    with_message: bool = False
    reports: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._sent = threading.Condition()

    def outcome_for(self, address: str) -> Outcome | None:
        if callable(self.bounce):
            return self.bounce(address)
        return self.bounce.get(address.lower())

    def send_bounce(self, return_path: str, recipient: str, original: bytes, outcome: Outcome) -> None:
        status, action, diagnostic = outcome
        report = dsn_bytes(return_path, recipient, original, status, action, diagnostic,
                           with_message=self.with_message)
        if self.deliver is not None:
            self.deliver(return_path, report)
        with self._sent:
            self.reports.append(report)
            self._sent.notify_all()

    def wait_for_reports(self, count: int, timeout: float = 10.0) -> list[bytes]:
        with self._sent:
            if not self._sent.wait_for(lambda: len(self.reports) >= count, timeout):
                raise AssertionError(f"expected {count} bounce report(s), got {len(self.reports)}")
            return list(self.reports)

    def start(self) -> BouncingMta:
        import socket

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(16)
        sock.setblocking(False)
        self._controller = _BoundController(_BouncingHandler(self), sock, enable_SMTPUTF8=True)
        self.port = self._controller.port
        self._controller.start()
        return self

    def settings(self, **overrides: Any):
        return super().settings(**{"bounce_domain": self.bounce_domain, **overrides})
