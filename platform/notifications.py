"""Telling people what happened: the applicant after each step, officers twice a day.

R: RC-3 (the acknowledgement with the intake number and the agency's contact
number), A-F10 (expected time and how to track), A-R3/A-R4 (what is still
needed, through the applicant's channel: e-mail), A-A5 (the result), CH-3 (the
08:30/16:30 digest for officers), PR-2 (a bounce is recorded, so officers can
see the applicant cannot be reached).

The engine calls a notifier after it has saved a change (``EngineContext.notifier``)::

    notifier = Notifier.from_app_context(ctx)       # SMTP settings, outbox, base URL
    notifier(application, "submitted", service, {})  # after submission
    notifier(application, "documents_requested", service,
             {"inputs": {...}, "transition": "request_documents"})  # a `notify:` effect

A notification is the definition's ``notifications[<id>]`` (subject and body,
Thai and English), rendered in the sandbox of :func:`render_notification` (below)
with this context:

==================  ============================================================
``application``     ``id``, ``reference``, ``intake_number``, ``intake_at_th``/``_en``
                    (Buddhist Era in Thai), ``state``, ``state_title`` (``th``/``en``),
                    ``deadline_th``/``_en`` (when an officer set one)
``service``         ``id``, ``title`` (``th``/``en``)
``agency``          ``code``, ``name`` (``th``/``en``), ``phone``, ``email`` (RC-3)
``applicant``       ``name``, ``email``
``answers``         the applicant's answers
``due_date_th``     the SLA due date (``application["sla_due"]``), long form; ``due_date_en``
``tracking_url``    ``{base_url}/applications/{id}``
``inputs``          what the officer gave with the transition (missing items, deadline…)
``inputs_text``     the same as ready-made lines ``{label_th, label_en, value_th, value_en}``
``transition``      the transition id (``""`` for the acknowledgement)
``referral``        a referral (RC-2) only: ``to``, ``agency``, ``contact``, ``note``
==================  ============================================================

``extra["attachments"]`` (``(filename, bytes, media type)``, set by the
workflow for the documents a step issued) are attached to the mail.

``"submitted"`` falls back to a built-in acknowledgement when the definition
declares none, ``"referred"`` to the built-in referral notice
(:mod:`eservice.referral_texts`).  The officer's inputs, the tracking link and the agency's phone
are appended when the template did not show them, so every mail carries them.

Delivery never breaks the caller: the applicant's submission or the officer's
decision is already saved.  Every attempt — sent, refused, not configured, no
address — is recorded in the :class:`~eservice.mail.Outbox` (collection
``outbox``) with the application id and the notification id as ``kind``.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .spec.models import text_pair as _text_pair
from . import dates
from .auth import Accounts
from .clock import BANGKOK, Clock, SystemClock
from .money import format_money
from .mail import DeliveryError, Mailer, Outbox, RenderError, SmtpSettings, spool_folder
from .settings import DEFAULT_BASE_URL, public_url  # one rule for public links (settings, else localhost)
from .spec.models import Notification

if TYPE_CHECKING:  # pragma: no cover
    from .spec.loader import CompiledService

__all__ = [
    "ACKNOWLEDGEMENT", "DEFAULT_BASE_URL", "Notifier", "RenderedMail", "build_context", "mailer_from_settings",
    "render_notification", "render_template", "smtp_settings", "template_problem",
]

log = logging.getLogger(__name__)

DIGEST_COLLECTION = "digests"

# The built-in acknowledgement (RC-3, A-F10) for services that declare no `submitted`.
ACKNOWLEDGEMENT = Notification(
    subject={
        "th": "ได้รับคำขอแล้ว เลขรับที่ {{ application.intake_number }} — {{ service.title.th }}",
        "en": "Application received: intake number {{ application.intake_number }} — {{ service.title.en }}",
    },
    body={
        "th": (
            "เรียน {{ applicant.name or 'ผู้ยื่นคำขอ' }}\n\n"
            "{{ agency.name.th }} ได้รับคำขอ{{ service.title.th }} ของท่านแล้ว\n\n"
            "เลขรับที่: {{ application.intake_number }}\n"
            "วันและเวลาที่รับคำขอ: {{ application.intake_at_th }}\n"
            "รหัสติดตามคำขอ: {{ application.reference }}\n"
            "{% if due_date_th %}กำหนดแล้วเสร็จภายใน: {{ due_date_th }} "
            "(ไม่นับช่วงที่รอเอกสารหรือการชำระเงินจากท่าน)\n{% endif %}"
            "\nติดตามสถานะคำขอได้ที่: {{ tracking_url }}\n"
            "สอบถาม: {{ agency.name.th }} โทร {{ agency.phone }} ในวันและเวลาราชการ\n\n"
            "อีเมลนี้ส่งจากระบบโดยอัตโนมัติ กรุณาอย่าตอบกลับ\n"
        ),
        "en": (
            "Dear {{ applicant.name or 'applicant' }},\n\n"
            "{{ agency.name.en }} has received your application: {{ service.title.en }}.\n\n"
            "Intake number: {{ application.intake_number }}\n"
            "Received on: {{ application.intake_at_en }}\n"
            "Tracking code: {{ application.reference }}\n"
            "{% if due_date_en %}Expected decision by: {{ due_date_en }} "
            "(not counting time spent waiting for your documents or payment)\n{% endif %}"
            "\nTrack your application: {{ tracking_url }}\n"
            "Questions: {{ agency.name.en }}, telephone {{ agency.phone }}, during office hours.\n\n"
            "This message was sent automatically; please do not reply.\n"
        ),
    },
)


# --------------------------------------------------------------------------- rendering (in a sandbox)


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str


# Sandboxed and immutable: templates cannot reach Python internals nor change
# the application data they are given (``{{ answers.update(...) }}`` is refused).
_ENV = ImmutableSandboxedEnvironment(autoescape=False, undefined=ChainableUndefined, keep_trailing_newline=True)


@lru_cache(maxsize=1024)
def _compile(source: str):
    return _ENV.from_string(source)


def template_problem(source: str) -> str | None:
    """Why ``source`` is not a valid template (for load-time checks), or None."""
    try:
        _compile(source)
    except TemplateError as exc:
        return str(exc)
    return None


def render_template(source: str, context: Mapping[str, Any]) -> str:
    """Render one template in the sandbox; unknown names render as empty text.
    Raises :class:`RenderError` for syntax errors and unsafe access."""
    try:
        return _compile(source).render(dict(context))
    except Exception as exc:  # syntax, sandbox refusal, a filter's TypeError, a huge range…
        raise RenderError(f"แม่แบบข้อความแจ้งเตือนไม่ถูกต้อง: {exc}",
                          f"the notification template cannot be rendered: {exc}") from None


def render_notification(notification: Any, context: Mapping[str, Any], lang: str | None = None) -> RenderedMail:
    """Subject and body of a definition's notification (``.subject`` and
    ``.body`` are ``Text`` with ``.th`` / ``.en``).

    ``lang`` "th" or "en": that language only (English falls back to Thai).
    ``None``: both in one mail, Thai first — subject "ไทย / English", body
    Thai, a separator, then English (or Thai only when there is no English).
    """
    def one(text: Any, which: str) -> str:
        source = text.en if which == "en" and getattr(text, "en", None) else text.th
        return render_template(source, context)

    if lang in ("th", "en"):
        subject = one(notification.subject, lang)
        body = one(notification.body, lang)
    elif lang is None:
        subject_th = one(notification.subject, "th")
        body_th = one(notification.body, "th")
        subject_en = one(notification.subject, "en") if notification.subject.en else ""
        body_en = one(notification.body, "en") if notification.body.en else ""
        subject = f"{subject_th} / {subject_en}" if subject_en and subject_en != subject_th else subject_th
        body = body_th.rstrip("\n")
        if body_en and body_en != body_th:
            body += "\n\n" + "-" * 40 + " English " + "-" * 10 + "\n\n" + body_en.rstrip("\n")
        body += "\n"
    else:
        raise ValueError(f"lang must be 'th', 'en' or None, got {lang!r}")
    return RenderedMail(" ".join(subject.split()), body)


# --------------------------------------------------------------------------- settings


def smtp_settings(smtp: SmtpSettings | None) -> SmtpSettings | None:
    """The mail settings of the web app (``Settings.smtp``: read from ESERVICE_SMTP_*
    by :meth:`SmtpSettings.from_env`), None when mail is not configured."""
    if smtp is None or isinstance(smtp, SmtpSettings):
        return smtp
    raise TypeError(f"expected eservice.mail.SmtpSettings or None, got {type(smtp).__name__}")


def mailer_from_settings(smtp: SmtpSettings | None, outbox: Outbox | None = None, clock: Clock | None = None) -> Mailer | None:
    """A :class:`Mailer` for the configured server, or None when mail is not configured."""
    settings = smtp_settings(smtp)
    if settings is None:
        return None
    return Mailer(settings, outbox=outbox, clock=clock)


def not_configured_error() -> DeliveryError:
    return DeliveryError(
        "ยังไม่ได้ตั้งค่าการส่งอีเมลของระบบ (ESERVICE_SMTP_HOST) จึงไม่ได้ส่งอีเมล",
        "e-mail is not configured (ESERVICE_SMTP_HOST is not set); nothing was sent",
        code="config")


# --------------------------------------------------------------------------- context



def _when(value: Any, lang: str, *, with_time: bool) -> str:
    if not value:
        return ""
    try:
        if with_time:
            return dates.format_datetime(value, lang, long=True)
        return dates.format_date(value, lang, long=True)
    except (TypeError, ValueError):
        return str(value)


def _input_lines(service: CompiledService, transition_id: str | None, inputs: Mapping[str, Any]) -> list[dict[str, str]]:
    """The officer's inputs as labelled Thai/English lines (A-R3)."""
    specs = {}
    transitions = getattr(service, "transitions", None) or {}
    if transition_id and transition_id in transitions:
        specs = {i.id: i for i in transitions[transition_id].inputs}
    lines = []
    for key, value in inputs.items():
        if value in (None, "", []):
            continue
        spec = specs.get(key)
        label = _text_pair(spec.label) if spec is not None else {"th": key, "en": key}
        kind = getattr(spec, "type", None)
        if kind == "date":
            value_th, value_en = _when(value, "th", with_time=False), _when(value, "en", with_time=False)
        elif kind in ("choice", "checklist"):
            options = {o.value: _text_pair(o.label) for o in getattr(spec, "options", ())}
            values = value if isinstance(value, list) else [value]
            value_th = ", ".join(options.get(v, {"th": str(v)})["th"] for v in values)
            value_en = ", ".join(options.get(v, {"en": str(v)})["en"] for v in values)
        elif kind == "yes_no" or isinstance(value, bool):
            value_th, value_en = ("ใช่", "Yes") if value else ("ไม่ใช่", "No")
        elif kind == "money":
            value_th, value_en = format_money(value, "th"), format_money(value, "en")
        elif isinstance(value, list):
            value_th = value_en = ", ".join(str(v) for v in value)
        else:
            value_th = value_en = str(value)
        lines.append({"id": key, "label_th": label["th"], "label_en": label["en"],
                      "value_th": value_th, "value_en": value_en})
    return lines


def build_context(application: Mapping[str, Any], service: CompiledService, extra: Mapping[str, Any] | None = None, *,
                  user: Mapping[str, Any] | None = None, base_url: str = DEFAULT_BASE_URL) -> dict[str, Any]:
    """The names a notification template can use (see the module docstring)."""
    extra = dict(extra or {})
    definition = service.definition
    agency = service.agency
    state_id = application.get("state")
    state = service.states.get(state_id) if state_id else None
    profile = (user or {}).get("profile") or {}
    name = " ".join(p for p in (profile.get("first_name"), profile.get("last_name")) if p)
    inputs = dict(extra.get("inputs") or {})
    app_id = application.get("id", "")
    return {
        "application": {
            "id": app_id,
            "reference": application.get("reference", ""),
            "intake_number": application.get("intake_number") or "",
            "intake_at": application.get("intake_at") or "",
            "intake_at_th": _when(application.get("intake_at"), "th", with_time=True),
            "intake_at_en": _when(application.get("intake_at"), "en", with_time=True),
            "submitted_at_th": _when(application.get("submitted_at"), "th", with_time=True),
            "submitted_at_en": _when(application.get("submitted_at"), "en", with_time=True),
            "state": state_id or "",
            "state_title": _text_pair(state.title if state is not None else state_id),
            "outcome": application.get("outcome") or "",
            "deadline_th": _when(application.get("deadline"), "th", with_time=True),
            "deadline_en": _when(application.get("deadline"), "en", with_time=True),
        },
        "service": {"id": service.id, "version": service.version, "title": _text_pair(definition.title)},
        "agency": {"code": agency.code, "name": _text_pair(agency.name), "phone": agency.phone,
                   "email": agency.email or ""},
        "applicant": {"name": name, "email": (user or {}).get("email", "")},
        "answers": dict(application.get("answers") or {}),
        "due_date_th": _when(application.get("sla_due"), "th", with_time=False),
        "due_date_en": _when(application.get("sla_due"), "en", with_time=False),
        "tracking_url": f"{base_url.rstrip('/')}/applications/{app_id}",
        "inputs": inputs,
        "inputs_text": _input_lines(service, extra.get("transition"), inputs),
        "transition": extra.get("transition") or "",
        "referral": dict(extra.get("referral") or {}),  # RC-2: to, agency, contact, note
    }


def _mentions(notification: Notification, word: str) -> bool:
    sources = [notification.subject.th, notification.subject.en or "", notification.body.th,
               notification.body.en or ""]
    return any(word in s for s in sources)


def _footer(notification: Notification, context: Mapping[str, Any], text: str) -> str:
    """What every mail must carry and the template did not show (RC-3, A-R3)."""
    parts: list[str] = []
    lines = context["inputs_text"]
    if lines and not _mentions(notification, "inputs"):
        block = ["รายละเอียดจากเจ้าหน้าที่ / Details from the officer:"]
        for line in lines:
            block.append(f"- {line['label_th']}: {line['value_th']}")
            if (line["label_en"], line["value_en"]) != (line["label_th"], line["value_th"]):
                block.append(f"  {line['label_en']}: {line['value_en']}")
        parts.append("\n".join(block))
    referral = context.get("referral") or {}
    if referral.get("to") and not _mentions(notification, "referral"):  # RC-2: where, and whom to contact
        parts.append(f"ส่งต่อไปยัง {referral['to']} ติดต่อ {referral.get('contact') or '-'}\n"
                     f"Referred to {referral['to']}, contact {referral.get('contact') or '-'}")
    agency = context["agency"]
    contact = []
    if context["tracking_url"] not in text:
        contact.append(f"ติดตามคำขอ / Track your application: {context['tracking_url']}")
    if agency["phone"] and agency["phone"] not in text:
        contact.append(f"สอบถาม {agency['name']['th']} โทร {agency['phone']}")
        contact.append(f"Questions: {agency['name']['en']}, telephone {agency['phone']}")
    if contact:
        parts.append("\n".join(contact))
    if not parts:
        return text
    return text.rstrip("\n") + "\n\n" + "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------- the notifier


class Notifier:
    """Sends the applicant the notification a step of the workflow names (see the module)."""

    def __init__(self, store: Any, mailer: Mailer | None, *, outbox: Outbox | None = None,
                 clock: Clock | None = None, base_url: str | None = None, accounts: Any = None) -> None:
        self.store = store
        self.clock = clock or (outbox.clock if outbox is not None else SystemClock())
        self.outbox = outbox if outbox is not None else Outbox(store, self.clock)
        self.mailer = mailer
        if self.mailer is not None and self.mailer.outbox is None:
            self.mailer.outbox = self.outbox
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._accounts = accounts

    @classmethod
    def from_app_context(cls, ctx: Any) -> "Notifier":
        """From the web app's :class:`~eservice.web.context.AppContext`: the SMTP
        settings (ESERVICE_SMTP_*), the outbox in its store and the public address."""
        clock = ctx.clock or SystemClock()
        settings = ctx.settings
        outbox = Outbox(ctx.store, clock, spool=spool_folder(settings))
        return cls(ctx.store, mailer_from_settings(settings.smtp, outbox, clock), outbox=outbox, clock=clock,
                   base_url=public_url(settings))

    @property
    def accounts(self):
        if self._accounts is None:
            self._accounts = Accounts(self.store, self.clock)
        return self._accounts

    # -- one applicant --------------------------------------------------------------
    def notification_for(self, service: CompiledService, notification_id: str) -> Notification | None:
        found = service.definition.notifications.get(notification_id)
        if found is None and notification_id == "submitted":
            return ACKNOWLEDGEMENT
        if notification_id == "referred":  # RC-2: the definition's, else the platform's (eservice.referral_texts)
            from .referral_texts import notice_for

            return notice_for(service)[0]
        return found

    def __call__(self, application: Mapping[str, Any], notification_id: str, service: CompiledService,
                 extra: Mapping[str, Any] | None = None) -> dict | None:
        """Render and send; return the outbox record (None when the service has no
        such notification).  Never raises: the caller's change is already saved."""
        try:
            return self._notify(application, notification_id, service, extra or {})
        except Exception:  # never break the applicant's or the officer's action
            log.exception("notification %s for application %s failed", notification_id, application.get("id"))
            return None

    def _notify(self, application: Mapping[str, Any], notification_id: str, service: CompiledService,
                extra: Mapping[str, Any]) -> dict | None:
        notification = self.notification_for(service, notification_id)
        if notification is None:
            log.warning("service %s has no notification %r", getattr(service, "key", service), notification_id)
            return None
        app_id = application.get("id")
        user = None
        try:
            user = self.accounts.get(application.get("applicant", ""))
        except Exception:  # AuthError("not_found"): an applicant without an account
            user = None
        address = (user or {}).get("email")
        context = build_context(application, service, extra, user=user, base_url=self.base_url)
        try:
            mail = render_notification(notification, context)
        except RenderError as err:
            return self._failed([address] if address else [], f"[{notification_id}]", app_id, notification_id,
                                DeliveryError(err.th, err.en, code="render", permanent=True))
        text = _footer(notification, context, mail.text)
        if not address:
            return self._failed([], mail.subject, app_id, notification_id, DeliveryError(
                "ไม่พบอีเมลของผู้ยื่นคำขอ จึงแจ้งทางอีเมลไม่ได้",
                "the applicant has no e-mail address on record; nothing was sent",
                code="no_address", permanent=True))
        if self.mailer is None:
            return self._failed([address], mail.subject, app_id, notification_id, not_configured_error())
        try:
            # the documents the step issued go with its mail (IS-3; eservice.outputs)
            message_id = self.mailer.send(address, mail.subject, text, attachments=extra.get("attachments") or (),
                                          application=app_id, kind=notification_id)
        except DeliveryError as err:  # recorded by the Mailer (PR-2); the caller carries on
            return self.outbox.items.get(err.outbox_id) if err.outbox_id else None
        found = [r for r in self.outbox.for_application(app_id) if r.get("message_id") == message_id]
        return found[-1] if found else None

    def _failed(self, to: Sequence[str], subject: str, app_id: str | None, kind: str,
                error: DeliveryError) -> dict:
        log.warning("notification %s for %s not sent: %s", kind, app_id, error.en)
        return self.outbox.record(list(to), subject, "failed", error=error, application=app_id, kind=kind)

    # -- officers' digest (CH-3) --------------------------------------------------------
    def digest(self, agency: Any, officers: Iterable[Any], now: dt.datetime,
               summaries: Sequence[Mapping[str, Any]] | None = None) -> list[dict]:
        """Send each officer the list of new and changed applications (the 08:30 and
        16:30 digest, CH-3).  ``agency``: a code or an Agency; ``officers``: user
        records or e-mail addresses; ``summaries``: the inbox summaries to report
        (by default: the agency's open applications received or changed since the
        last digest).  Returns the outbox records; nothing is sent when there is
        nothing to report.  Never raises for a delivery problem."""
        code = agency if isinstance(agency, str) else agency.code
        names = _text_pair(getattr(agency, "name", None) or code)
        marks = self.store.collection(DIGEST_COLLECTION)
        previous = marks.get(code)
        if summaries is None:
            summaries = self._since(code, previous.get("sent_at") if previous else None)
        items = sorted(summaries, key=lambda s: (s.get("intake_at") or "", s.get("intake_number") or ""))
        results: list[dict] = []
        if items:
            subject, text = self._digest_text(code, names, items, now)
            addresses = []
            for officer in officers:
                address = officer if isinstance(officer, str) else (officer or {}).get("email")
                if address and address not in addresses:
                    addresses.append(address)
            for address in addresses:
                if self.mailer is None:
                    results.append(self.outbox.record([address], subject, "failed", error=not_configured_error(),
                                                      kind="digest"))
                    continue
                try:
                    message_id = self.mailer.send(address, subject, text, kind="digest")
                except DeliveryError as err:
                    if err.outbox_id:
                        results.append(self.outbox.items.get(err.outbox_id))
                    continue
                results.extend(r for r in self.outbox.items.find(message_id=message_id))
        record = {"agency": code, "sent_at": now.isoformat(), "count": len(items)}
        try:
            marks.put(code, record, expected_version=previous["version"] if previous else None)
        except Exception:  # another worker sent the same digest; its mark is as good
            log.info("digest mark for %s written concurrently", code)
        return results

    def _since(self, code: str, since: str | None) -> list[dict]:
        out = []
        for summary in self.store.open_applications(code):
            if not summary.get("intake_at"):
                continue  # a draft is nobody's work yet
            new = since is None or (summary.get("intake_at") or "") > since
            changed = bool(summary.get("changed")) and (since is None or (summary.get("updated_at") or "") > since)
            if new or changed:
                out.append(dict(summary, is_new=new))
        return out

    def _digest_text(self, code: str, names: Mapping[str, str], items: Sequence[Mapping[str, Any]],
                     now: dt.datetime) -> tuple[str, str]:
        local = now.astimezone(BANGKOK)
        when_th = _when(now, "th", with_time=True)
        when_en = _when(now, "en", with_time=True)
        count = len(items)
        subject = (f"งานใหม่และงานที่มีความเคลื่อนไหว {count} รายการ — {names['th']} ({local:%H:%M} น.) / "
                   f"{count} new or changed application{'s' if count != 1 else ''} — {names['en']}")
        inbox = f"{self.base_url}/officer"
        lines_th = [f"สรุปงานของ{names['th']} ณ {when_th}", "",
                    f"มีคำขอใหม่หรือคำขอที่มีความเคลื่อนไหว {count} รายการ:", ""]
        lines_en = [f"Work summary for {names['en']} at {when_en}", "",
                    f"{count} new or changed application{'s' if count != 1 else ''}:", ""]
        for item in items:
            number = item.get("intake_number") or item.get("reference") or item.get("id")
            title = item.get("title") or item.get("service") or ""
            due_th = _when(item.get("sla_due"), "th", with_time=False)
            due_en = _when(item.get("sla_due"), "en", with_time=False)
            tag_th = "ใหม่" if item.get("is_new", not item.get("changed")) else "มีความเคลื่อนไหว"
            tag_en = "new" if item.get("is_new", not item.get("changed")) else "changed"
            lines_th.append(f"- เลขรับ {number} {title} [{tag_th}]" + (f" กำหนดเสร็จ {due_th}" if due_th else ""))
            lines_en.append(f"- Intake {number} {title} [{tag_en}]" + (f" due {due_en}" if due_en else ""))
        lines_th += ["", f"เปิดดูงานทั้งหมดได้ที่ {inbox}"]
        lines_en += ["", f"Open the work list: {inbox}"]
        text = "\n".join(lines_th) + "\n\n" + "-" * 40 + " English " + "-" * 10 + "\n\n" + "\n".join(lines_en) + "\n"
        return subject, text
