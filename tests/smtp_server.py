"""A real SMTP server on loopback for tests (aiosmtpd), with pytest fixtures.

    from tests.smtp_server import SmtpTestServer, smtp_server   # fixture re-export

    def test_mail(smtp_server):
        mailer = Mailer(smtp_server.settings())
        mailer.send("somchai@example.com", "ทดสอบ", "สวัสดี")
        [got] = smtp_server.wait_for(1)
        assert got.message["Subject"] == "ทดสอบ"

The server listens on 127.0.0.1 on a port the kernel chose (the socket is bound
before the server starts, so there is no race for a "free" port).  Each
received mail is a :class:`Received`: the envelope and the message parsed with
``email.policy.default`` (headers decoded, ``get_body()`` / ``iter_attachments()``).

Options of :class:`SmtpTestServer`: ``reject`` (recipient → SMTP reply, e.g.
``{"nobody@example.com": "550 5.1.1 User unknown"}``, or a callable returning a
reply or None), ``tls`` (a :class:`TlsFiles` from :func:`make_tls_files` →
STARTTLS, required), ``implicit_tls`` (SMTPS, like port 465), ``users``
(``{login: password}`` → AUTH required).
"""
from __future__ import annotations

import datetime as _dt
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = [
    "Received", "SmtpTestServer", "TlsFiles", "closed_port", "make_tls_files",
    "smtp_server", "smtp_server_factory", "tls_files",
]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage

    @property
    def text(self) -> str:
        """The plain-text body, decoded."""
        part = self.message.get_body(("plain",))
        return part.get_content() if part is not None else ""

    @property
    def attachments(self) -> list[EmailMessage]:
        return list(self.message.iter_attachments())


class _Handler:
    def __init__(self, server: SmtpTestServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.server.reply_for(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):  # pragma: no cover - decode_data is off
            raw = raw.encode("utf-8")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self.server._cond:
            self.server.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, message))
            self.server._cond.notify_all()
        return "250 Message accepted for delivery"


class _BoundController(Controller):
    """A Controller serving on a socket bound before start (port 0 → kernel's choice)."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any):
        self._sock = sock
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


@dataclass(frozen=True)
class TlsFiles:
    cert: Path  # PEM certificate, also the CA file clients should trust
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_tls_files(folder: Path, common_name: str = "localhost") -> TlsFiles:
    """A self-signed certificate for ``localhost`` and 127.0.0.1 (needs ``cryptography``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _dt.datetime.now(_dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return TlsFiles(cert_path, key_path)


@dataclass
class SmtpTestServer:
    reject: Mapping[str, str] | Callable[[str], str | None] = field(default_factory=dict)
    tls: TlsFiles | None = None
    implicit_tls: bool = False
    users: Mapping[str, str] | None = None
    host: str = "127.0.0.1"
    messages: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self._controller: _BoundController | None = None
        self.port = 0
        self.logins: list[str] = []

    # -- behaviour ---------------------------------------------------------------
    def reply_for(self, address: str) -> str | None:
        if callable(self.reject):
            return self.reject(address)
        return self.reject.get(address) or self.reject.get(address.lower())

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and self.users is not None:
            login = auth_data.login.decode("utf-8")
            if self.users.get(login) == auth_data.password.decode("utf-8"):
                self.logins.append(login)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    # -- life cycle ----------------------------------------------------------------
    def start(self) -> SmtpTestServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(16)
        sock.setblocking(False)
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": True}
        if self.tls is not None and self.implicit_tls:
            kwargs["ssl_context"] = self.tls.server_context()
        elif self.tls is not None:
            kwargs.update(tls_context=self.tls.server_context(), require_starttls=True)
        if self.users is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=self.tls is not None)
        self._controller = _BoundController(_Handler(self), sock, **kwargs)
        self.port = self._controller.port
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- for assertions ---------------------------------------------------------
    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[Received]:
        """The first ``count`` messages, waiting up to ``timeout`` seconds for them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} message(s), got {len(self.messages)}")
                self._cond.wait(left)
            return list(self.messages[:count])

    def settings(self, **overrides: Any):
        """:class:`eservice.mail.SmtpSettings` pointing at this server."""
        from eservice.mail import SmtpSettings

        values: dict[str, Any] = dict(host=self.host, port=self.port, sender="ระบบ e-Service <noreply@eservice.test>",
                                      timeout=5.0)
        if self.tls is not None:
            values.update(security="ssl" if self.implicit_tls else "starttls", ca_file=str(self.tls.cert))
        values.update(overrides)
        return SmtpSettings(**values)


def closed_port(host: str = "127.0.0.1") -> int:
    """A port on which nothing listens (bound then released; nothing re-binds it at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def smtp_server():
    """A plain SMTP server accepting every recipient."""
    with SmtpTestServer() as server:
        yield server


@pytest.fixture
def smtp_server_factory():
    """Make servers with options: ``smtp_server_factory(reject={...}, tls=..., users=...)``."""
    started: list[SmtpTestServer] = []

    def make(**options: Any) -> SmtpTestServer:
        server = SmtpTestServer(**options).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("smtp-tls"))
