"""Settings and the application context (built once at start-up).

:class:`Settings` is read from the environment (``Settings.from_env()``) or
built directly in tests (``Settings(data=tmp_path, definitions=(defs,))``):

================================  ===============================================
``ESERVICE_DATA``                 data folder (default ``data``)
``ESERVICE_DEFINITIONS``          definition folders/files, ``os.pathsep``-separated
                                  (default ``service_definitions``)
``ESERVICE_SECRET``               signing secret for sessions; when unset one is
                                  generated once and kept in ``<data>/secret.key`` (0600)
``ESERVICE_ALLOWED_HOSTS``        host names accepted in the ``Host`` header besides the base URL's
                                  (comma-separated; e.g. the address a load balancer probes)
``ESERVICE_BASE_URL``             public address, e.g. ``https://eservice.go.th/nbr``;
                                  https turns on secure cookies and HSTS.  ``eservice serve``
                                  refuses to start without it (or ``ESERVICE_ALLOWED_HOSTS``)
                                  outside ``--demo`` (:func:`check_public_address`)
``ESERVICE_TEMPLATES``            template override folders, ``os.pathsep``-separated
``ESERVICE_SITE_NAME_TH/_EN``     the platform's name in the header
``ESERVICE_SMTP_HOST``            outgoing mail server; mail is off when unset
                                  (``Settings.smtp`` is None)
``ESERVICE_SMTP_TLS``             ``none`` (default) | ``starttls`` | ``ssl``; also
                                  accepted: ``plain``/``off``/``no``/``0`` = none,
                                  ``tls``/``on``/``yes``/``1`` = starttls,
                                  ``smtps``/``implicit`` = ssl
``ESERVICE_SMTP_PORT``            default follows TLS: 25 | 587 | 465
``ESERVICE_SMTP_USER/PASSWORD``   login, when the server wants one
``ESERVICE_SMTP_FROM``            the From: address (default ``eservice@<host name>``)
``ESERVICE_SMTP_TIMEOUT``         seconds (default 30)
``ESERVICE_SMTP_CA_FILE``         extra trusted roots for the server's certificate
``ESERVICE_TSA_URL``              RFC 3161 time-stamp service for signed documents (PAdES B-T);
                                  unset: signatures are B-B, without a time stamp
``ESERVICE_DEMO``                 ``1`` marks a demo installation (a banner says so)
``ESERVICE_DEBUG``                ``1`` reloads templates and shows tracebacks
================================  ===============================================

:class:`AppContext` holds what every handler needs: the settings, the loaded
:class:`~eservice.spec.loader.Catalogue`, the store, the file store, the clock
and the template renderer.  Handlers reach it as ``request.app.state.ctx`` or
``get_context(request)``.

Definitions that do not load stop the start: :func:`load_catalogue` prints every
problem (file, line, what to do) and raises :class:`StartupError`;
``create_app`` turns that into a clean exit without a traceback.

The ``ESERVICE_SMTP_*`` variables are read in one place only,
:meth:`eservice.notify.SmtpSettings.from_env` (the mail layer's own reading);
``Settings.smtp`` holds its result.  Public links (mails, receipts, the API's
``Location`` and ``links``) are built with :func:`public_url`, one rule
everywhere, and never from the request: a forged ``Host`` header must not end
up in a password-reset mail (issue #17).
"""
from __future__ import annotations

import importlib
import os
import secrets
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from starlette.requests import HTTPConnection

    from ..notify import SmtpSettings
    from ..spec.loader import Catalogue, CompiledService

__all__ = ["Settings", "AppContext", "StartupError", "load_catalogue", "get_context", "public_url",
           "smtp_from_env", "check_public_address", "DEFAULT_BASE_URL"]

DEFAULT_BASE_URL = "http://localhost:8000"  # when neither a base URL nor an allowed host is set

DEFAULT_SITE_NAME = {"th": "บริการภาครัฐอิเล็กทรอนิกส์", "en": "Government e-Services"}


class StartupError(Exception):
    """The platform cannot start; the message is for the operator (Thai / English)."""


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _paths(value: str | None, default: Sequence[str] = ()) -> tuple[Path, ...]:
    parts = [p for p in (value.split(os.pathsep) if value else default) if p.strip()]
    return tuple(Path(p) for p in parts)


def smtp_from_env(env: Mapping[str, str]) -> "SmtpSettings | None":
    """The mail settings, read by :meth:`eservice.notify.SmtpSettings.from_env`;
    None when ``ESERVICE_SMTP_HOST`` is not set (mail is off).  A bad value stops
    the start with :class:`StartupError`."""
    from ..notify import SmtpSettings

    if not (env.get("ESERVICE_SMTP_HOST") or "").strip():
        return None
    try:
        return SmtpSettings.from_env(env)
    except ValueError as exc:
        raise StartupError(f"การตั้งค่าอีเมล (ESERVICE_SMTP_*) ไม่ถูกต้อง / invalid mail settings "
                           f"(ESERVICE_SMTP_*): {exc}") from None


@dataclass(frozen=True)
class Settings:
    data: Path = Path("data")
    definitions: tuple[Path, ...] = (Path("service_definitions"),)
    secret: str | None = field(default=None, repr=False)
    base_url: str | None = None
    allowed_hosts: tuple[str, ...] = ()  # Host header values accepted besides the base URL's host
    templates: tuple[Path, ...] = ()
    site_name: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SITE_NAME))
    smtp: "SmtpSettings | None" = None  # None: mail is not configured
    tsa_url: str | None = None  # time-stamp service for issued documents (eservice.outputs)
    demo: bool = False
    debug: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", Path(self.data))
        defs = self.definitions
        if isinstance(defs, (str, Path)):
            defs = (defs,)
        object.__setattr__(self, "definitions", tuple(Path(p) for p in defs))
        object.__setattr__(self, "templates", tuple(Path(p) for p in self.templates))
        hosts = self.allowed_hosts
        if isinstance(hosts, str):
            hosts = hosts.split(",")
        object.__setattr__(self, "allowed_hosts", tuple(h.strip() for h in hosts if h and h.strip()))
        if self.base_url:
            object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        smtp = smtp_from_env(env)
        site = dict(DEFAULT_SITE_NAME)
        if env.get("ESERVICE_SITE_NAME_TH"):
            site["th"] = env["ESERVICE_SITE_NAME_TH"]
        if env.get("ESERVICE_SITE_NAME_EN"):
            site["en"] = env["ESERVICE_SITE_NAME_EN"]
        return cls(
            data=Path(env.get("ESERVICE_DATA") or "data"),
            definitions=_paths(env.get("ESERVICE_DEFINITIONS"), ["service_definitions"]),
            secret=env.get("ESERVICE_SECRET") or None,
            base_url=env.get("ESERVICE_BASE_URL") or None,
            allowed_hosts=env.get("ESERVICE_ALLOWED_HOSTS") or (),
            templates=_paths(env.get("ESERVICE_TEMPLATES")),
            site_name=site, smtp=smtp, tsa_url=env.get("ESERVICE_TSA_URL") or None,
            demo=_flag(env.get("ESERVICE_DEMO")), debug=_flag(env.get("ESERVICE_DEBUG")),
        )

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

    def with_(self, **changes: Any) -> "Settings":
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
            raise StartupError(f"ไฟล์ {path} ว่างเปล่า ให้ลบไฟล์แล้วเริ่มใหม่ / "
                               f"{path} is empty; delete it and start again") from None
        value = secrets.token_urlsafe(48)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(value + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return value


def _optional(module: str, attribute: str) -> Any | None:
    """``module.attribute`` if that module is installed yet, else None.

    Errors *inside* an existing module are not hidden."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise
    return getattr(mod, attribute, None)


def load_catalogue(definitions: Sequence[Path], stream=None) -> "Catalogue":
    """Load every definition; on any problem print them all and raise StartupError."""
    from ..spec.loader import load

    stream = stream or sys.stderr
    missing = [p for p in definitions if not Path(p).exists()]
    if missing:
        shown = ", ".join(str(p) for p in missing)
        raise StartupError(f"ไม่พบโฟลเดอร์นิยามบริการ: {shown} / definitions not found: {shown}")
    catalogue, problems = load(definitions)
    if problems:
        for problem in problems:
            print(problem.format(), file=stream)
            print(file=stream)
        raise StartupError(
            f"นิยามบริการมีปัญหา {len(problems)} รายการ ระบบจึงไม่เริ่มทำงาน แก้ไขแล้วตรวจด้วย `eservice check` / "
            f"{len(problems)} problem(s) in the service definitions; the platform did not start. "
            f"Fix them and run `eservice check`.")
    return catalogue


@dataclass
class AppContext:
    """Everything a handler needs, built once per process."""

    settings: Settings
    catalogue: "Catalogue"
    store: Any = None  # eservice.store.base.Store
    files: Any = None  # eservice.files.FileStore
    clock: Any = None  # eservice.clock.Clock
    renderer: Any = None  # eservice.renderers.html.Renderer
    secret: str = field(default="", repr=False)
    extra: dict[str, Any] = field(default_factory=dict)  # other modules may keep things here

    @classmethod
    def build(cls, settings: Settings, *, catalogue: "Catalogue | None" = None, clock: Any = None,
              store: Any = None, files: Any = None) -> "AppContext":
        from ..renderers.html import Renderer

        if catalogue is None:
            catalogue = load_catalogue(settings.definitions)
        settings.data.mkdir(parents=True, exist_ok=True)
        if clock is None:
            system_clock = _optional("eservice.clock", "SystemClock")
            clock = system_clock() if system_clock else None
        if store is None:
            open_store = _optional("eservice.store", "open_store")
            if open_store is not None:
                try:
                    store = open_store(settings.store_path, clock=clock) if clock else open_store(settings.store_path)
                except TypeError:
                    store = open_store(settings.store_path)
        if files is None:
            file_store = _optional("eservice.files", "FileStore")
            files = file_store(settings.files_path) if file_store else None
        return cls(settings=settings, catalogue=catalogue, store=store, files=files, clock=clock,
                   renderer=Renderer(overrides=settings.templates, auto_reload=settings.debug),
                   secret=settings.secret_key())

    # -- conveniences ---------------------------------------------------------
    def service(self, service_id: str, version: int | None = None) -> "CompiledService | None":
        if version is None:
            return self.catalogue.latest(service_id)
        return self.catalogue.get(service_id, version)

    def now(self):
        if self.clock is not None:
            return self.clock.now()
        from datetime import datetime, timezone
        return datetime.now(timezone.utc)

    def close(self) -> None:
        close = getattr(self.store, "close", None)
        if callable(close):
            close()


def get_context(request: "HTTPConnection") -> AppContext:
    """The :class:`AppContext` of the running app."""
    return request.app.state.ctx


def public_url(settings: "Settings | None", request: "HTTPConnection | None" = None, path: str = "") -> str:
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
        "ยังไม่ได้กำหนดที่อยู่สาธารณะของระบบ ลิงก์ในอีเมล (เช่น ลิงก์ตั้งรหัสผ่านใหม่) จึงไม่มีที่อยู่ที่เชื่อถือได้ "
        "ระบบจึงไม่เริ่มทำงาน: กำหนด ESERVICE_BASE_URL=https://… (หรือ --base-url https://…) "
        "หรือระบุชื่อโฮสต์ที่ยอมรับด้วย --allowed-hosts (ESERVICE_ALLOWED_HOSTS) "
        "ถ้าเพียงต้องการทดลองในเครื่อง ใช้ --demo / "
        "no public address is set, so links in e-mails (such as password-reset links) have no trusted "
        "address; the platform did not start. Set ESERVICE_BASE_URL=https://… (or pass --base-url "
        "https://…), or pass --allowed-hosts (ESERVICE_ALLOWED_HOSTS) with the host names to accept. "
        "For a trial on this computer, use --demo.")
