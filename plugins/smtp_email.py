"""SMTP e-mail as a notification channel (``email``).

Give the channel the platform's :class:`eservice.settings.Settings` (its
``smtp``; mail is off when that is None) or :class:`eservice.settings.SmtpSettings`.
Without either — as the plugin hook builds it — it reads the ``ESERVICE_SMTP_*``
variables when it sends (:meth:`SmtpSettings.from_env`).  Delivery problems are
raised as :class:`eservice.mail.DeliveryError` (``.permanent``: the address
bounced; ``code == "config"``: mail is not configured).
"""
from __future__ import annotations

from eservice.mail import Mailer, Outbox
from eservice.plugin_api import NotificationChannel, OutgoingMessage, hookimpl
from eservice.settings import Settings, SmtpSettings

__all__ = ["SmtpEmailChannel"]


class SmtpEmailChannel:
    name = "email"

    def __init__(self, settings: Settings | SmtpSettings | None = None, outbox: Outbox | None = None):
        self.settings = settings
        self.outbox = outbox

    def smtp(self) -> SmtpSettings:
        """The mail server to use now; DeliveryError when the platform's settings turn mail off."""
        if isinstance(self.settings, Settings):
            if self.settings.smtp is None:
                from eservice.notifications import not_configured_error

                raise not_configured_error()
            return self.settings.smtp
        return self.settings or SmtpSettings.from_env()

    def send(self, message: OutgoingMessage) -> None:
        mailer = Mailer(self.smtp(), outbox=self.outbox)
        mailer.send(message.to, message.subject, message.body, html=message.html, attachments=message.attachments)


assert isinstance(SmtpEmailChannel(), NotificationChannel)


@hookimpl
def eservice_notification_channels() -> list[NotificationChannel]:
    return [SmtpEmailChannel()]
