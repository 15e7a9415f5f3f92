"""A real RFC 3161 time-stamp server on loopback, for tests (issue #7, IS-2).

pyHanko's :class:`~pyhanko.sign.timestamps.DummyTimeStamper` answers the
time-stamp requests; this module puts it behind a plain HTTP server (the
standard library's, in a thread) so that the platform's signer talks to it
exactly as it talks to a real time-stamp authority: a POST of
``application/timestamp-query``, a reply of ``application/timestamp-reply``.
Nothing inside the signer is replaced.

The TSA has its own little CA (``ca_pem``): give it to a verifier as a trust
root to have the time stamp judged trusted.

    with TsaServer() as tsa:        # or the ``tsa_server`` fixture
        tsa.url                     # http://127.0.0.1:<port>/tsa
        tsa.requests                # how many time stamps were given
        tsa.failing = True          # answer 503 from now on (an outage)
"""
from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps import DummyTimeStamper

__all__ = ["TsaServer", "tsa_server"]


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test TSA"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _tsa_material():
    """A root CA and a time-stamping certificate it issued (RSA: the dummy is RSA-only)."""
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = (x509.CertificateBuilder().subject_name(_name("Test TSA Root")).issuer_name(_name("Test TSA Root"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(_name("Test TSA")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .sign(ca_key, hashes.SHA256()))
    der = serialization.Encoding.DER
    key_info = asn1_keys.PrivateKeyInfo.load(key.private_bytes(
        der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return (asn1_x509.Certificate.load(cert.public_bytes(der)), key_info,
            asn1_x509.Certificate.load(ca.public_bytes(der)), ca.public_bytes(serialization.Encoding.PEM))


class TsaServer:
    """The time-stamp server (see the module docstring)."""

    def __init__(self) -> None:
        cert, key, ca, self.ca_pem = _tsa_material()
        self.stamper = DummyTimeStamper(tsa_cert=cert, tsa_key=key, certs_to_embed=[ca])
        self.requests = 0
        self.failing = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if server.failing or self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_response(503 if server.failing else 415)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                reply = server.stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/tsa"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="test-tsa", daemon=True)

    def __enter__(self) -> "TsaServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def tsa_server():
    """One time-stamp server for the whole run (each test may reset ``failing``)."""
    with TsaServer() as server:
        yield server
        server.failing = False
