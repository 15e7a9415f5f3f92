"""Bounces: delivery-status notifications (RFC 3464) read and acted on (issue #21; PR-2).

A submission server may accept a message and only later find it cannot be
delivered; the report (DSN) then goes to the message's return path.  With
``ESERVICE_BOUNCE_DOMAIN`` that is ``bounces+<token>@<bounce domain>``
(:meth:`eservice.mail.Mailer.envelope_sender`, VERP), and the token names the
message in the outbox.  Reports come in two ways (:mod:`eservice.bounce_sources`):
an SMTP listener for the bounce domain, or an IMAP mailbox polled every round;
both put the raw report in the store collection ``bounce_reports`` and
:func:`process_reports` (a background job, :mod:`eservice.worker`) reads them:

* parsed with the standard library's :mod:`email` package (:func:`parse_dsn`):
  the ``message/delivery-status`` part's per-recipient fields
  (``Final-Recipient``, ``Action``, ``Status``, ``Diagnostic-Code``), the
  original message's ``Message-ID`` (``message/rfc822`` or
  ``text/rfc822-headers``), and the VERP token of the address it came to;
* a **permanent** failure (``Action: failed``, ``Status: 5.x.x``) marks the
  outbox record ``bounced`` (so :func:`eservice.referral.unreachable_since`
  counts the address as unreachable: officers see "cannot be reached", and after
  30 days the application is a disposal candidate, PR-2) and, when the address is
  the applicant's, marks the application ``unreachable`` with a ``mail_bounced``
  event in its history;
* a **temporary** failure (``Action: failed`` with ``Status: 4.x.x``) puts the
  message up for a retry from the outbox with backoff
  (:meth:`eservice.mail.Mailer.retry_due`); ``Action: delayed`` (the remote
  server is still trying) is only recorded on the outbox record, not resent.

Soft and hard bounces are told apart by the status code's class (RFC 3463),
never by the wording of the diagnostic.
"""
from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import logging
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser, HeaderParser
from email.utils import getaddresses
from typing import Any

from . import events
from .mail import BOUNCE_LOCAL, Outbox
from .store import ConflictError, NotFoundError

__all__ = ["REPORTS", "Dsn", "DsnRecipient", "apply_dsn", "parse_dsn", "process_reports", "save_report",
           "token_of_address"]

log = logging.getLogger(__name__)

REPORTS = "bounce_reports"
MAX_REPORT = 512 * 1024  # a report is kept up to this size (the original message it quotes is not needed)
_STATUS = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")
_VERP = re.compile(rf"^{BOUNCE_LOCAL}\+([0-9a-f]{{16,64}})@", re.IGNORECASE)


@dataclass(frozen=True)
class DsnRecipient:
    address: str
    action: str  # failed | delayed | delivered | relayed | expanded
    status: str  # "5.1.1"
    diagnostic: str = ""
    smtp_code: int | None = None

    @property
    def permanent(self) -> bool:
        return self.action == "failed" and self.status.startswith("5.")

    @property
    def temporary(self) -> bool:
        return self.status.startswith("4.") and self.action in ("failed", "delayed")


@dataclass(frozen=True)
class Dsn:
    token: str | None  # the VERP token (of the address it came to, else of the original Message-ID)
    message_id: str | None  # the original message's Message-ID, when quoted
    recipients: tuple[DsnRecipient, ...] = field(default_factory=tuple)


def token_of_address(address: str) -> str | None:
    """``bounces+1f2e…@bounce.example`` → ``1f2e…`` (lower case), else None."""
    found = _VERP.match(str(address or "").strip().strip("<>"))
    return found.group(1).lower() if found else None


def _typed(value: Any) -> str:
    """``rfc822; somchai@example.com`` → ``somchai@example.com``."""
    text = " ".join(str(value or "").split())
    return text.partition(";")[2].strip() if ";" in text else text


def _blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [b for b in payload if isinstance(b, Message)]
    # some parsers leave the fields as text: one header block per blank-line-separated group
    raw = part.get_payload(decode=True) or b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return [HeaderParser().parsestr(chunk.strip() + "\n") for chunk in re.split(r"\r?\n\r?\n", text) if chunk.strip()]


def _original_message_id(part: Message) -> str | None:
    kind = part.get_content_type()
    if kind == "message/rfc822":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        return str(inner.get("Message-ID") or "").strip() or None if inner is not None else None
    if kind == "text/rfc822-headers":
        raw = part.get_payload(decode=True) or b""
        headers = BytesHeaderParser(policy=email.policy.default).parsebytes(raw if isinstance(raw, bytes) else
                                                                           str(raw).encode())
        return str(headers.get("Message-ID") or "").strip() or None
    return None


def parse_dsn(raw: bytes, envelope_to: Sequence[str] = ()) -> Dsn | None:
    """The delivery-status notification in ``raw`` (RFC 3464), or None when it is
    not one (an auto-reply, spam…).  ``envelope_to``: the addresses it was
    delivered to (the listener's RCPT TO), which carry the VERP token."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if msg.get_content_type() != "multipart/report" or \
            str(msg.get_param("report-type") or "").lower() != "delivery-status":
        return None
    recipients: list[DsnRecipient] = []
    message_id = None
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            for block in _blocks(part):
                address = _typed(block.get("Final-Recipient") or block.get("Original-Recipient"))
                action = str(block.get("Action") or "").strip().lower()
                status = str(block.get("Status") or "").strip().split(" ")[0]
                if not address or not action or not _STATUS.match(status):
                    continue  # the per-message block, or a malformed one
                diagnostic = _typed(block.get("Diagnostic-Code"))
                code = re.match(r"^([245]\d\d)\b", diagnostic)
                recipients.append(DsnRecipient(address=address.lower(), action=action, status=status,
                                               diagnostic=diagnostic[:500],
                                               smtp_code=int(code.group(1)) if code else None))
        elif message_id is None and kind in ("message/rfc822", "text/rfc822-headers"):
            message_id = _original_message_id(part)
    if not recipients:
        return None
    candidates = list(envelope_to) + [a for _, a in getaddresses(
        [str(msg.get(h) or "") for h in ("Delivered-To", "X-Original-To", "To")])]
    token = next((t for t in map(token_of_address, candidates) if t), None)
    if token is None and message_id:
        from .mail import message_token

        token = message_token(message_id)
    return Dsn(token=token, message_id=message_id, recipients=tuple(recipients))


# ------------------------------------------------------------------ the reports collection
def save_report(store: Any, raw: bytes, *, source: str, envelope_to: Iterable[str] = (),
                received_at: dt.datetime) -> dict[str, Any]:
    """Keep one incoming report for :func:`process_reports` (the listener and the IMAP poller)."""
    key = f"{received_at:%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}"
    return store.collection(REPORTS).put(key, {
        "id": key, "source": source, "received_at": received_at.isoformat(), "envelope_to": list(envelope_to),
        "raw": base64.b64encode(raw[:MAX_REPORT]).decode("ascii"), "status": "new"})


def process_reports(store: Any, clock: Any, outbox: Outbox | None = None,
                    now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Read every new report and act on it (see the module); return what was done,
    one entry per report: ``{"report", "status", "actions"}``.  Each report is
    marked (``applied``, ``unmatched``, ``not_a_dsn``) so it is read once."""
    outbox = outbox or Outbox(store, clock)
    reports = store.collection(REPORTS)
    done = []
    for report in sorted(reports.find(status="new"), key=lambda r: r["id"]):
        raw = base64.b64decode(report.get("raw") or "")
        dsn = parse_dsn(raw, report.get("envelope_to") or ())
        if dsn is None:
            status, actions = "not_a_dsn", []
        else:
            actions = apply_dsn(store, outbox, dsn, now or clock.now())
            status = "applied" if actions else "unmatched"
        try:
            reports.put(report["id"], {**{k: v for k, v in report.items() if k != "version"}, "status": status,
                                       "actions": actions, "raw": "" if status == "applied" else report["raw"]},
                        expected_version=report["version"])
        except ConflictError:
            continue  # another process read it at the same moment
        done.append({"report": report["id"], "status": status, "actions": actions})
    return done


def apply_dsn(store: Any, outbox: Outbox, dsn: Dsn, now: dt.datetime) -> list[dict[str, Any]]:
    """Act on one report (see the module); returns ``[{"outbox", "address", "result"}]``."""
    item = None
    if dsn.token:
        found = outbox.items.find(token=dsn.token)
        item = sorted(found, key=lambda r: r["id"])[-1] if found else None
    if item is None and dsn.message_id:
        item = outbox.by_message_id(dsn.message_id)
    if item is None:
        log.info("bounce report for a message not in the outbox (token %s)", dsn.token)
        return []
    actions = []
    sent_to = {a.strip().lower() for a in item.get("to") or ()}
    for rcpt in dsn.recipients:
        if rcpt.address not in sent_to and len(sent_to) != 1:
            continue  # a report about an address this message was not sent to
        address = rcpt.address if rcpt.address in sent_to else next(iter(sent_to))
        error = {"code": "bounced" if rcpt.permanent else "deferred", "smtp_code": rcpt.smtp_code,
                 "permanent": rcpt.permanent, "refused": {address: [rcpt.smtp_code or 0, rcpt.diagnostic]},
                 "dsn_status": rcpt.status, "diagnostic": rcpt.diagnostic}
        if rcpt.permanent:
            error.update(th=f"อีเมลถึง {address} ถูกตีกลับถาวร ({rcpt.status}) ติดต่อผู้รับทางอีเมลนี้ไม่ได้: "
                            f"{rcpt.diagnostic}",
                         en=f"mail to {address} bounced permanently ({rcpt.status}); the recipient cannot be "
                            f"reached at this address: {rcpt.diagnostic}")
            item = outbox.update(item, status="bounced", error=error, retry=None, bounced_at=now.isoformat())
            result = "unreachable"
            if item.get("application") and _mark_application(store, item["application"], address, rcpt, now,
                                                             item["id"]):
                result = "unreachable_applicant"
        elif rcpt.temporary and rcpt.action == "failed":
            error.update(th=f"อีเมลถึง {address} ส่งไม่สำเร็จชั่วคราว ({rcpt.status}) ระบบจะส่งใหม่: {rcpt.diagnostic}",
                         en=f"mail to {address} failed temporarily ({rcpt.status}); it will be sent again: "
                            f"{rcpt.diagnostic}")
            attempts = int((item.get("retry") or {}).get("attempts") or item.get("attempts") or 1)
            retry = outbox.next_retry(attempts, now, [address])
            item = outbox.update(item, status="failed", error=error, retry=retry)
            result = "retry" if retry else "no_retry"
        elif rcpt.temporary:  # delayed: the remote server is still trying
            item = outbox.update(item, delayed={"status": rcpt.status, "diagnostic": rcpt.diagnostic,
                                                "at": now.isoformat()})
            result = "delayed"
        else:
            result = "ignored"  # delivered, relayed, expanded
        actions.append({"outbox": item["id"], "address": address, "status": rcpt.status, "result": result})
    return actions


def _mark_application(store: Any, app_id: str, address: str, rcpt: DsnRecipient, now: dt.datetime,
                      outbox_id: str) -> bool:
    """Mark the applicant unreachable on the application (only if ``address`` is theirs)."""
    for _ in range(5):  # a concurrent officer's change: read again and retry
        try:
            record = store.get_application(app_id)
        except (NotFoundError, ValueError):
            return False
        user = store.collection("users").get(record.get("applicant") or "") if record.get("applicant") else None
        if str((user or {}).get("email") or "").strip().lower() != address:
            return False  # an officer's mail about this application (SLA alert…): not the applicant
        previous = record.get("unreachable") or {}
        record["unreachable"] = {"address": address, "since": previous.get("since") or now.isoformat(),
                                 "status": rcpt.status, "diagnostic": rcpt.diagnostic, "outbox": outbox_id}
        events.append(record["events"], "mail_bounced", "system", now.isoformat(),
                      {"address": address, "status": rcpt.status, "diagnostic": rcpt.diagnostic})
        try:
            store.update_application(record, record["version"])
            return True
        except ConflictError:
            continue
    log.warning("application %s: could not record the bounce (too many concurrent changes)", app_id)
    return False
