"""The plugin API: hook specifications, descriptors and the plugin manager.

eservice uses pluggy, the hook system of pytest and datasette.  A plugin is any
module or object with functions marked ``@hookimpl`` whose names match the hook
specifications below.  Plugins are found through the ``eservice`` entry-point
group, so first-party plugins (``eservice.plugins.*``, declared in the project's
``pyproject.toml``) are registered exactly like third-party ones::

    # a third-party package's pyproject.toml
    [project.entry-points.eservice]
    my_agency = "my_agency_plugin"

    # my_agency_plugin.py
    from eservice.plugin_api import FieldType, Message, hookimpl

    @hookimpl
    def eservice_field_types():
        return [FieldType(name="land_title_no", schema={"type": "string"},
                          validate=check_title_no, normalize=str.strip)]

Every hook returns a *list* of small descriptors; the collection helpers
(:func:`field_types`, :func:`payment_providers`, …) merge the lists of all
plugins into one ``{name: descriptor}`` dict and refuse duplicate names, so two
plugins never silently fight over one name.  To replace a first-party plugin,
block it (``get_plugin_manager().set_blocked("thai_address")``) and register
your own.

This module must stay importable without importing any plugin: plugins import
:data:`hookimpl` and the descriptors from here.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import pluggy

from .errors import BilingualError

PROJECT = "eservice"
ENTRY_POINT_GROUP = "eservice"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = [
    "ENTRY_POINT_GROUP",
    "DocumentVerifier",
    "FieldType",
    "Identity",
    "IdentityProvider",
    "Message",
    "NotificationChannel",
    "OutgoingMessage",
    "PaymentProvider",
    "PluginError",
    "PrefillSource",
    "Verification",
    "document_verifiers",
    "field_types",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "identity_providers",
    "notification_channels",
    "payment_providers",
    "prefill_sources",
    "reset_plugin_manager",
    "routes",
]


# --------------------------------------------------------------------------- #
# Descriptors
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Message:
    """A bilingual message for a person (a validation failure, a warning…).

    ``code`` is stable and machine-readable (``"thai_id.checksum"``); ``th`` and
    ``en`` are the sentences shown on screen.  ``path`` optionally points at a
    part of a compound value (``("postcode",)`` inside an address), so a form
    can link the message to the right input.
    """

    code: str
    th: str
    en: str
    path: tuple[str | int, ...] = ()

    def text(self, lang: str = "th") -> str:
        return self.en if lang == "en" else self.th

    def __str__(self) -> str:
        return f"{self.th} / {self.en}"


@dataclass(frozen=True)
class FieldType:
    """A field type that service definitions can use (``type: thai_national_id``).

    Contract: ``validate(raw)`` takes the value as the person typed it and returns
    the list of problems (empty when valid); it never raises for bad input.
    ``normalize(raw)`` turns a value that ``validate`` accepted into the
    canonical form that is stored; on a value ``validate`` rejected it may raise
    ``ValueError``.  ``schema`` is a JSON-Schema (2020-12) fragment describing
    the *normalized* (stored) value; it is embedded into each service's
    submission schema.  ``title`` is a human label ``{"th": …, "en": …}``.
    """

    name: str
    schema: Mapping[str, Any]
    validate: Callable[[Any], list[Message]]
    normalize: Callable[[Any], Any] = lambda value: value
    title: Mapping[str, str] = field(default_factory=dict)

    def clean(self, value: Any) -> tuple[Any, list[Message]]:
        """Validate then normalize: ``(normalized_or_raw_value, messages)``."""
        messages = self.validate(value)
        if messages:
            return value, messages
        return self.normalize(value), []


@dataclass(frozen=True)
class Verification:
    """The result of a :class:`DocumentVerifier`.

    ``ok`` is True only when the document was positively verified;
    ``details`` carries verifier-specific facts (signer, signing time…).
    """

    ok: bool
    messages: list[Message] = field(default_factory=list)
    details: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class DocumentVerifier(Protocol):
    """Checks an uploaded document (PDF signature, e-stamp duty, …)."""

    name: str
    media_types: Sequence[str]  # e.g. ("application/pdf",); empty = any

    def verify(self, data: bytes, *, filename: str = "", media_type: str = "") -> Verification: ...


@runtime_checkable
class PrefillSource(Protocol):
    """Supplies answers known elsewhere (civil registry, juristic registry, …).

    ``fetch`` returns ``{field_id: value}`` for the fields it can fill, given
    the signed-in person's identity; it returns an empty dict when it knows
    nothing and never invents values.
    """

    name: str

    def fetch(self, identity: Identity, fields: Sequence[str]) -> dict[str, Any]: ...


@runtime_checkable
class PaymentProvider(Protocol):
    """Takes a fee to the citizen (PromptPay QR, counter service, card, …).

    ``create`` gets the payment's reference, amount in baht (a ``Decimal``) and
    description and returns what the citizen needs to pay (for a QR: the
    payload and/or an image); ``status`` reports ``"pending" | "paid" |
    "failed" | "expired"`` for a reference.  Amounts are never floats.

    A provider that reports payments by callback also has
    ``verify(body, headers, *, secret, now) -> eservice.payments.webhook.Callback``
    (raising ``WebhookRefused``); ``POST /payments/webhook/<name>`` calls it and
    records the payment (``eservice.payments``; the first-party
    ``bank_bill_payment`` plugin, docs/payments.md).
    """

    name: str

    def create(self, reference: str, amount: Any, description: str) -> Mapping[str, Any]: ...

    def status(self, reference: str) -> str: ...


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to one person through one channel (what a NotificationChannel sends;
    not a definition's ``notifications`` entry, which is :class:`eservice.spec.models.Notification`)."""

    to: str  # an address meaningful to the channel: e-mail, phone, user id…
    subject: str
    body: str
    html: str | None = None
    attachments: Sequence[tuple[str, bytes, str]] = ()  # (filename, data, media type)


@runtime_checkable
class NotificationChannel(Protocol):
    """Delivers notifications (SMTP e-mail, SMS, LINE, …)."""

    name: str

    def send(self, message: OutgoingMessage) -> None: ...


@dataclass(frozen=True)
class Identity:
    """A person as an identity provider vouches for them."""

    provider: str
    subject: str  # the provider's stable id for the person
    name: str = ""
    national_id: str | None = None
    email: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class IdentityProvider(Protocol):
    """Signs people in (local passwords, ThaID, Digital ID, agency SSO, …).

    ``title`` is the label of its sign-in button ``{"th": …, "en": …}``.
    ``authenticate`` receives the submitted credentials or callback
    parameters and returns an :class:`Identity`, or ``None`` when they do not
    prove one.
    """

    name: str
    title: Mapping[str, str]

    def authenticate(self, credentials: Mapping[str, Any]) -> Identity | None: ...


# --------------------------------------------------------------------------- #
# Hook specifications
# --------------------------------------------------------------------------- #


class HookSpecs:
    """The hooks a plugin may implement.  Each returns a list (possibly empty).

    The bodies are never run: pluggy calls the plugins' implementations.
    """

    @hookspec
    def eservice_field_types(self) -> list[FieldType]:
        """Field types with their validators and normalizers."""
        raise NotImplementedError

    @hookspec
    def eservice_document_verifiers(self) -> list[DocumentVerifier]:
        """Verifiers for uploaded documents."""
        raise NotImplementedError

    @hookspec
    def eservice_prefill_sources(self) -> list[PrefillSource]:
        """Sources that pre-fill answers."""
        raise NotImplementedError

    @hookspec
    def eservice_payment_providers(self) -> list[PaymentProvider]:
        """Ways to pay fees."""
        raise NotImplementedError

    @hookspec
    def eservice_notification_channels(self) -> list[NotificationChannel]:
        """Ways to notify people."""
        raise NotImplementedError

    @hookspec
    def eservice_identity_providers(self) -> list[IdentityProvider]:
        """Ways to sign in."""
        raise NotImplementedError

    @hookspec
    def eservice_routes(self) -> list[Any]:
        """Extra Starlette routes (``starlette.routing.BaseRoute`` objects)
        mounted into the web application."""
        raise NotImplementedError


# --------------------------------------------------------------------------- #
# The plugin manager
# --------------------------------------------------------------------------- #


class PluginError(BilingualError):
    """A plugin is broken or two plugins claim the same name."""

    code = "plugin"

    def __init__(self, th: str, en: str):
        super().__init__(self.code, th, en)


def _new_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(HookSpecs)
    # First-party plugins are declared as entry points in eservice's own
    # pyproject.toml, so they are found here exactly like third-party ones.
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    pm.check_pending()
    return pm


@functools.cache
def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, created (and plugins loaded) once."""
    return _new_plugin_manager()


def reset_plugin_manager() -> None:
    """Forget the cached manager; the next call rediscovers entry points."""
    get_plugin_manager.cache_clear()


def _plain_impls(hook: Any) -> list[Any]:
    """The hook's implementations in registration order, without wrappers
    (our hooks take no arguments and only gather lists)."""
    return [
        impl
        for impl in hook.get_hookimpls()
        if not (getattr(impl, "hookwrapper", False) or getattr(impl, "wrapper", False))
    ]


def _collect(hook_name: str, pm: pluggy.PluginManager | None = None) -> dict[str, Any]:
    pm = pm or get_plugin_manager()
    hook = getattr(pm.hook, hook_name)
    found: dict[str, Any] = {}
    owner: dict[str, str] = {}
    # Call each implementation separately so that a duplicate can be blamed on
    # the plugins involved.  Order: registration order (entry points first).
    for impl in _plain_impls(hook):
        plugin_name = impl.plugin_name
        items = impl.function() or []
        for item in items:
            name = getattr(item, "name", None)
            if not isinstance(name, str) or not name:
                raise PluginError(
                    f"ปลั๊กอิน {plugin_name} ส่งคืนรายการที่ไม่มีชื่อจาก {hook_name}",
                    f"plugin {plugin_name} returned an item without a name from {hook_name}",
                )
            if name in found:
                raise PluginError(
                    f"ชื่อ “{name}” ซ้ำกันระหว่างปลั๊กอิน {owner[name]} และ {plugin_name} ({hook_name})",
                    f"“{name}” is provided by both plugin {owner[name]} and plugin "
                    f"{plugin_name} ({hook_name})",
                )
            found[name] = item
            owner[name] = plugin_name
    return found


def field_types(pm: pluggy.PluginManager | None = None) -> dict[str, FieldType]:
    """All field types from all plugins, by name."""
    return _collect("eservice_field_types", pm)


def document_verifiers(pm: pluggy.PluginManager | None = None) -> dict[str, DocumentVerifier]:
    return _collect("eservice_document_verifiers", pm)


def prefill_sources(pm: pluggy.PluginManager | None = None) -> dict[str, PrefillSource]:
    return _collect("eservice_prefill_sources", pm)


def payment_providers(pm: pluggy.PluginManager | None = None) -> dict[str, PaymentProvider]:
    return _collect("eservice_payment_providers", pm)


def notification_channels(
    pm: pluggy.PluginManager | None = None,
) -> dict[str, NotificationChannel]:
    return _collect("eservice_notification_channels", pm)


def identity_providers(pm: pluggy.PluginManager | None = None) -> dict[str, IdentityProvider]:
    return _collect("eservice_identity_providers", pm)


def routes(pm: pluggy.PluginManager | None = None) -> list[Any]:
    """All extra Starlette routes, in plugin registration order."""
    pm = pm or get_plugin_manager()
    out: list[Any] = []
    for impl in _plain_impls(pm.hook.eservice_routes):
        out.extend(impl.function() or [])
    return out
