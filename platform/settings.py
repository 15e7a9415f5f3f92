"""The platform's settings: the one place that reads the environment.

Every ``ESERVICE_*`` variable is read here and nowhere else (a test checks it):
:meth:`Settings.from_env` for the web app, the worker and the CLI,
:meth:`SmtpSettings.from_env` for the mail server, and two readers for code
that runs without an app's settings: :func:`env_data_folder` (command-line
defaults, plugins built by a hook) and :func:`env_font_folder` (the PDF
renderer).  Tests build the objects directly
(``Settings(data=tmp_path, definitions=(defs,))``).

Each variable, its default and what it does, in Thai and English:
``docs/settings.md`` (``tests/test_settings_docs.py`` keeps it complete).

``eservice serve`` hands its settings to uvicorn's worker processes through the
environment: :func:`export_env` writes :meth:`Settings.to_env`, which
:meth:`Settings.from_env` reads back unchanged.

Public links (mails, receipts, the API's ``Location`` and ``links``) are built
with :func:`public_url`, one rule everywhere, and never from the request: a
forged ``Host`` header must not end up in a password-reset mail (issue #17).
Outside demo mode the server does not start without a public address
(:func:`check_public_address`).
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import ssl
import time
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import BilingualError

if TYPE_CHECKING:  # pragma: no cover
    from starlette.requests import HTTPConnection

__all__ = [
    "DEFAULT_BASE_URL", "DEFAULT_DATA", "DEFAULT_DEFINITIONS", "DEFAULT_SITE_NAME", "DEFAULT_WORKER_INTERVAL",
    "FONT_DIR_VARIABLE", "SECURITY_MODES", "Settings", "SmtpSettings", "StartupError", "check_public_address",
    "env_data_folder", "env_font_folder", "env_trust_roots", "export_env", "public_url", "smtp_from_env",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://localhost:8000"  # when neither a base URL nor an allowed host is set
DEFAULT_DATA = "data"
DEFAULT_DEFINITIONS = "service_definitions"
DEFAULT_SITE_NAME = {"th": "บริการภาครัฐอิเล็กทรอนิกส์", "en": "Government e-Services"}
DEFAULT_WORKER_INTERVAL = 60.0  # seconds between rounds of the background jobs (eservice.worker)

FONT_DIR_VARIABLE = "ESERVICE_THAI_FONT_DIR"


class StartupError(BilingualError):
    """The platform cannot start; the message is for the operator (Thai / English)."""


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _paths(value: str | None, default: Sequence[str] = ()) -> tuple[Path, ...]:
    parts = [p for p in (value.split(os.pathsep) if value else default) if p.strip()]
    return tuple(Path(p) for p in parts)


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


# --------------------------------------------------------------------------- mail server

SECURITY_MODES = ("none", "starttls", "ssl")
_DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
_TLS_ALIASES = {
    "": "none", "none": "none", "0": "none", "false": "none", "no": "none", "off": "none", "plain": "none",
    "starttls": "starttls", "1": "starttls", "true": "starttls", "yes": "starttls", "on": "starttls",
    "tls": "starttls", "ssl": "ssl", "smtps": "ssl", "implicit": "ssl",
}


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand mail over.  ``security``: "none", "starttls" or "ssl"
    (implicit TLS, port 465).  ``ca_file`` adds trusted roots (an agency's own
    relay with a private CA); certificates and host names are always checked."""

    host: str = "localhost"
    port: int = 25
    security: str = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "eservice@localhost"
    timeout: float = 30.0
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ValueError(f"security ต้องเป็น none, starttls หรือ ssl / security must be one of "
                             f"{', '.join(SECURITY_MODES)}, got {self.security!r}")
        if not 0 < int(self.port) < 65536:
            raise ValueError(f"พอร์ตไม่ถูกต้อง / invalid port {self.port!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings:
        """``ESERVICE_SMTP_HOST``, ``_PORT``, ``_USER``, ``_PASSWORD``, ``_TLS``
        (none | starttls | ssl, and the aliases in ``_TLS_ALIASES``), ``_FROM``, ``_TIMEOUT``,
        ``_CA_FILE``.  Default: localhost:25 without TLS; the port follows the TLS mode when
        unset.  The only reading of these variables: the web app's ``Settings.smtp`` is this.
        A bad value raises ValueError."""
        env = _environ(environ)
        raw_tls = env.get("ESERVICE_SMTP_TLS", "none").strip().lower()
        if raw_tls not in _TLS_ALIASES:
            raise ValueError(f"ESERVICE_SMTP_TLS ต้องเป็น none, starttls หรือ ssl / "
                             f"ESERVICE_SMTP_TLS must be none, starttls or ssl, got {raw_tls!r}")
        security = _TLS_ALIASES[raw_tls]
        port_text = env.get("ESERVICE_SMTP_PORT", "").strip()
        timeout_text = env.get("ESERVICE_SMTP_TIMEOUT", "").strip()
        try:
            port = int(port_text) if port_text else _DEFAULT_PORTS[security]
        except ValueError:
            raise ValueError(f"ESERVICE_SMTP_PORT ต้องเป็นตัวเลข / ESERVICE_SMTP_PORT must be a number, "
                             f"got {port_text!r}") from None
        try:
            timeout = float(timeout_text) if timeout_text else 30.0
        except ValueError:
            raise ValueError(f"ESERVICE_SMTP_TIMEOUT ต้องเป็นตัวเลข (วินาที) / ESERVICE_SMTP_TIMEOUT must be "
                             f"a number of seconds, got {timeout_text!r}") from None
        host = env.get("ESERVICE_SMTP_HOST", "").strip() or "localhost"
        return cls(
            host=host,
            port=port,
            security=security,
            username=env.get("ESERVICE_SMTP_USER") or None,
            password=env.get("ESERVICE_SMTP_PASSWORD") or None,
            sender=env.get("ESERVICE_SMTP_FROM", "").strip() or f"eservice@{socket.getfqdn() or 'localhost'}",
            timeout=timeout,
            ca_file=env.get("ESERVICE_SMTP_CA_FILE") or None,
        )

    def to_env(self) -> dict[str, str]:
        """The ``ESERVICE_SMTP_*`` variables that :meth:`from_env` reads back as these settings."""
        env = {"ESERVICE_SMTP_HOST": self.host, "ESERVICE_SMTP_PORT": str(self.port),
               "ESERVICE_SMTP_TLS": self.security, "ESERVICE_SMTP_FROM": self.sender,
               "ESERVICE_SMTP_TIMEOUT": repr(float(self.timeout))}
        for name, value in (("ESERVICE_SMTP_USER", self.username), ("ESERVICE_SMTP_PASSWORD", self.password),
                            ("ESERVICE_SMTP_CA_FILE", self.ca_file)):
            if value:
                env[name] = value
        return env

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.ca_file:
            context.load_verify_locations(cafile=self.ca_file)
        return context


def smtp_from_env(env: Mapping[str, str]) -> SmtpSettings | None:
    """The mail settings, read by :meth:`SmtpSettings.from_env`; None when
    ``ESERVICE_SMTP_HOST`` is not set (mail is off).  A bad value stops the start
    with :class:`StartupError`."""
    if not (env.get("ESERVICE_SMTP_HOST") or "").strip():
        return None
    try:
        return SmtpSettings.from_env(env)
    except ValueError as exc:
        raise StartupError("mail_settings", "การตั้งค่าอีเมล (ESERVICE_SMTP_*) ไม่ถูกต้อง",
                           f"invalid mail settings (ESERVICE_SMTP_*): {exc}") from None


def _worker_interval(raw: str | None) -> float:
    """``ESERVICE_WORKER_INTERVAL``: a bad value is logged and the default used
    (the background jobs are not worth refusing to start for)."""
    raw = (raw or "").strip()
    try:
        return float(raw) if raw else DEFAULT_WORKER_INTERVAL
    except ValueError:
        log.warning("ESERVICE_WORKER_INTERVAL=%r is not a number; using %s", raw, DEFAULT_WORKER_INTERVAL)
        return DEFAULT_WORKER_INTERVAL


# --------------------------------------------------------------------------- the platform


@dataclass(frozen=True)
class Settings:
    data: Path = Path(DEFAULT_DATA)
    definitions: tuple[Path, ...] = (Path(DEFAULT_DEFINITIONS),)
    secret: str | None = field(default=None, repr=False)
    base_url: str | None = None
    allowed_hosts: tuple[str, ...] = ()  # Host header values accepted besides the base URL's host
    templates: tuple[Path, ...] = ()
    site_name: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SITE_NAME))
    smtp: SmtpSettings | None = None  # None: mail is not configured
    tsa_url: str | None = None  # time-stamp service for issued documents (eservice.outputs)
    trust_roots: tuple[Path, ...] = ()  # PEM files or folders the signature verifier trusts (PR-8)
    demo: bool = False
    debug: bool = False
    worker_interval: float = DEFAULT_WORKER_INTERVAL  # 0: no background jobs in this server
    bank_webhook_secret: str | None = field(default=None, repr=False)  # HMAC key of bank payment callbacks (#8)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", Path(self.data))
        defs = self.definitions
        if isinstance(defs, (str, Path)):
            defs = (defs,)
        object.__setattr__(self, "definitions", tuple(Path(p) for p in defs))
        object.__setattr__(self, "templates", tuple(Path(p) for p in self.templates))
        roots = (self.trust_roots,) if isinstance(self.trust_roots, (str, Path)) else self.trust_roots
        object.__setattr__(self, "trust_roots", tuple(Path(p) for p in roots))
        hosts = self.allowed_hosts
        if isinstance(hosts, str):
            hosts = hosts.split(",")
        object.__setattr__(self, "allowed_hosts", tuple(h.strip() for h in hosts if h and h.strip()))
        if self.base_url:
            object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = _environ(environ)
        smtp = smtp_from_env(env)
        site = dict(DEFAULT_SITE_NAME)
        if env.get("ESERVICE_SITE_NAME_TH"):
            site["th"] = env["ESERVICE_SITE_NAME_TH"]
        if env.get("ESERVICE_SITE_NAME_EN"):
            site["en"] = env["ESERVICE_SITE_NAME_EN"]
        return cls(
            data=Path(env.get("ESERVICE_DATA") or DEFAULT_DATA),
            definitions=_paths(env.get("ESERVICE_DEFINITIONS"), [DEFAULT_DEFINITIONS]),
            secret=env.get("ESERVICE_SECRET") or None,
            base_url=env.get("ESERVICE_BASE_URL") or None,
            allowed_hosts=env.get("ESERVICE_ALLOWED_HOSTS") or (),
            templates=_paths(env.get("ESERVICE_TEMPLATES")),
            site_name=site, smtp=smtp, tsa_url=env.get("ESERVICE_TSA_URL") or None,
            trust_roots=env_trust_roots(env),
            demo=_flag(env.get("ESERVICE_DEMO")), debug=_flag(env.get("ESERVICE_DEBUG")),
            worker_interval=_worker_interval(env.get("ESERVICE_WORKER_INTERVAL")),
            bank_webhook_secret=env.get("ESERVICE_BANK_WEBHOOK_SECRET") or None,
        )

    def to_env(self) -> dict[str, str]:
        """The variables that :meth:`from_env` reads back as these settings (what
        is off or at its default is left out)."""
        env = {"ESERVICE_DATA": str(self.data),
               "ESERVICE_DEFINITIONS": os.pathsep.join(str(p) for p in self.definitions)}
        if self.secret:
            env["ESERVICE_SECRET"] = self.secret
        if self.base_url:
            env["ESERVICE_BASE_URL"] = self.base_url
        if self.allowed_hosts:
            env["ESERVICE_ALLOWED_HOSTS"] = ",".join(self.allowed_hosts)
        if self.templates:
            env["ESERVICE_TEMPLATES"] = os.pathsep.join(str(p) for p in self.templates)
        for lang in ("th", "en"):
            name = self.site_name.get(lang)
            if name and name != DEFAULT_SITE_NAME[lang]:
                env[f"ESERVICE_SITE_NAME_{lang.upper()}"] = name
        if self.smtp is not None:
            env.update(self.smtp.to_env())
        if self.tsa_url:
            env["ESERVICE_TSA_URL"] = self.tsa_url
        if self.trust_roots:
            env["ESERVICE_TRUST_ROOTS"] = os.pathsep.join(str(p) for p in self.trust_roots)
        if self.demo:
            env["ESERVICE_DEMO"] = "1"
        if self.debug:
            env["ESERVICE_DEBUG"] = "1"
        if self.worker_interval != DEFAULT_WORKER_INTERVAL:
            env["ESERVICE_WORKER_INTERVAL"] = repr(float(self.worker_interval))
        if self.bank_webhook_secret:
            env["ESERVICE_BANK_WEBHOOK_SECRET"] = self.bank_webhook_secret
        return env

    # -- derived --------------------------------------------------------------
    @property
    def https(self) -> bool:
        return bool(self.base_url and self.base_url.lower().startswith("https://"))

    @property
    def public_base_url(self) -> str:
        """Where public links point: the base URL; else the first allowed host
        (plain http: set the base URL for https); else :data:`DEFAULT_BASE_URL`."""
        if self.base_url:
            return self.base_url
        named = [h for h in self.allowed_hosts if "*" not in h]
        return f"http://{named[0]}" if named else DEFAULT_BASE_URL

    @property
    def store_path(self) -> Path:
        return self.data / "store"

    @property
    def files_path(self) -> Path:
        return self.data / "files"

    @property
    def secret_file(self) -> Path:
        return self.data / "secret.key"

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def secret_key(self) -> str:
        """``ESERVICE_SECRET``, or the one kept in ``<data>/secret.key`` (made once, 0600).

        Several workers may start together: the file is created exclusively, and
        a worker that loses the race reads the winner's secret."""
        if self.secret:
            return self.secret
        path = self.secret_file
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            for _ in range(50):
                text = path.read_text(encoding="ascii").strip()
                if text:
                    return text
                time.sleep(0.02)
            raise StartupError("empty_secret", f"ไฟล์ {path} ว่างเปล่า ให้ลบไฟล์แล้วเริ่มใหม่",
                               f"{path} is empty; delete it and start again") from None
        value = secrets.token_urlsafe(48)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(value + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return value


def export_env(settings: Settings, environ: MutableMapping[str, str] | None = None) -> None:
    """Put ``settings`` into the environment (``os.environ`` when None), for
    processes that build their own from it: uvicorn's workers under ``eservice serve``."""
    target = os.environ if environ is None else environ
    target.update(settings.to_env())


# --------------------------------------------------------------------------- without an app


def env_data_folder(environ: Mapping[str, str] | None = None) -> str | None:
    """``ESERVICE_DATA`` when it is set, else None: for code that runs without an
    app's :class:`Settings` (command-line defaults, plugins built by a hook)."""
    return _environ(environ).get("ESERVICE_DATA") or None


def env_secret(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The variable an operator names on the command line to pass a secret (such
    as ``eservice keys import --password-env``), so it never shows in ``ps``."""
    return _environ(environ).get(name)


def env_trust_roots(environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """``ESERVICE_TRUST_ROOTS``: PEM files or folders of ``*.pem`` whose certificates the
    PDF signature verifier trusts (PR-8), separated by ``os.pathsep``; for code without
    an app's :class:`Settings` too (the verifier plugin built by its hook)."""
    return _paths(_environ(environ).get("ESERVICE_TRUST_ROOTS"))


def env_font_folder(environ: Mapping[str, str] | None = None) -> str | None:
    """``ESERVICE_THAI_FONT_DIR`` (an agency's own Thai font) when it is set, else None."""
    return _environ(environ).get(FONT_DIR_VARIABLE) or None


# --------------------------------------------------------------------------- public address


def public_url(settings: Settings | None, request: HTTPConnection | None = None, path: str = "") -> str:
    """The public address of ``path`` — the one rule for every link we hand out.

    :attr:`Settings.public_base_url`: ``ESERVICE_BASE_URL``, else the first
    ``ESERVICE_ALLOWED_HOSTS`` name, else :data:`DEFAULT_BASE_URL`.  Never the
    request: its ``Host`` header is whatever the sender typed, and a reset link
    built from it would send the victim's token to the attacker (issue #17).
    ``request`` is accepted so that callers need not change, and is not read.
    No trailing slash when ``path`` is empty."""
    base = settings.public_base_url if settings is not None else DEFAULT_BASE_URL
    base = base.rstrip("/")
    if path and not path.startswith("/"):
        path = "/" + path
    return base + path


def check_public_address(settings: Settings) -> None:
    """Refuse to serve when public links would have no known address.

    Outside demo mode a base URL (``ESERVICE_BASE_URL`` / ``--base-url``) or an
    explicit list of accepted host names (``ESERVICE_ALLOWED_HOSTS`` /
    ``--allowed-hosts``) must be set; raises :class:`StartupError` naming the fix."""
    if settings.demo or settings.base_url or any("*" not in h for h in settings.allowed_hosts):
        return
    raise StartupError(
        "no_public_address",
        "ยังไม่ได้กำหนดที่อยู่สาธารณะของระบบ ลิงก์ในอีเมล (เช่น ลิงก์ตั้งรหัสผ่านใหม่) จึงไม่มีที่อยู่ที่เชื่อถือได้ "
        "ระบบจึงไม่เริ่มทำงาน: กำหนด ESERVICE_BASE_URL=https://… (หรือ --base-url https://…) "
        "หรือระบุชื่อโฮสต์ที่ยอมรับด้วย --allowed-hosts (ESERVICE_ALLOWED_HOSTS) "
        "ถ้าเพียงต้องการทดลองในเครื่อง ใช้ --demo",
        "no public address is set, so links in e-mails (such as password-reset links) have no trusted "
        "address; the platform did not start. Set ESERVICE_BASE_URL=https://… (or pass --base-url "
        "https://…), or pass --allowed-hosts (ESERVICE_ALLOWED_HOSTS) with the host names to accept. "
        "For a trial on this computer, use --demo.")
