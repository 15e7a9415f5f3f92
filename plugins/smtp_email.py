"""SMTP e-mail as a notification channel (``email``).

The channel reads the ``ESERVICE_SMTP_*`` settings when it sends (see
:class:`eservice.notify.SmtpSettings`), so a deployment configures it through
the environment only.  Delivery problems are raised as
:class:`eservice.notify.DeliveryError` (``.permanent``: the address bounced).
"""
from __future__ import annotations

from eservice.notify import Mailer, Outbox, SmtpSettings
from eservice.plugin_api import Notification, NotificationChannel, hookimpl

__all__ = ["SmtpEmailChannel"]


class SmtpEmailChannel:
    name = "email"

    def __init__(self, settings: SmtpSettings | None = None, outbox: Outbox | None = None):
        self.settings = settings
        self.outbox = outbox

    def send(self, notification: Notification) -> None:
        mailer = Mailer(self.settings or SmtpSettings.from_env(), outbox=self.outbox)
        mailer.send(notification.to, notification.subject, notification.body,
                    html=notification.html, attachments=notification.attachments)


assert isinstance(SmtpEmailChannel(), NotificationChannel)


@hookimpl
def eservice_notification_channels() -> list[NotificationChannel]:
    return [SmtpEmailChannel()]
