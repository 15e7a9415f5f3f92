"""The agency's organisation certificate: create (demo/dev/tests) and load.

IS-2: an organisation certificate installed in the system certifies every
document sent to citizens.  Each agency keeps its key material in its own
folder::

    <data>/keys/<agency>/
        signing-key.pem    the signing private key (PKCS#8 PEM, file mode 0600)
        signing-cert.pem   the agency's signing certificate
        chain.pem          the issuing CA certificate(s), issuer first (optional
                           when ca.pem is present)
        ca.pem             the organisation CA that issued signing-cert.pem
        ca-key.pem         the CA's private key (0600) - only for the demo CA
                           made by :func:`create_agency_keys`

**Production.**  A real agency gets its organisation certificate from a CA
accredited by the NRCA (or an Adobe AATL member, PR-8), usually as a PKCS#12
file, and installs it with ``eservice keys import FILE.p12 --agency CODE``
(:func:`import_pkcs12`: key, certificate and CA chain, checked first).  There
is no ``ca-key.pem`` then.

**Demo/dev/tests.**  :func:`create_agency_keys` makes a small organisation CA
and a signing certificate with ``cryptography`` (RSA 2048 by default, or EC
P-256): the signing certificate has keyUsage digitalSignature +
nonRepudiation (contentCommitment) and the agency's Thai name in its subject.
Nothing here implements cryptography itself.

Private keys are written with mode 0600 (readable by the service account only),
through a temporary file and ``os.replace``.  They may be encrypted with a
password (``key_password``); the platform then needs that password to sign.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from eservice.clock import Clock, SystemClock
from eservice.errors import BilingualError
from eservice.store.atomic import atomic_write_bytes

__all__ = [
    "AgencyKeys",
    "CertificateError",
    "agency_keys_dir",
    "certificate_subject",
    "certificate_validity",
    "create_agency_keys",
    "ensure_agency_keys",
    "import_pkcs12",
    "load_agency_keys",
    "load_pem_certificates",
    "platform_trust_roots",
]

KEY_FILE = "signing-key.pem"
CERT_FILE = "signing-cert.pem"
CHAIN_FILE = "chain.pem"
CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"

_AGENCY_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class CertificateError(BilingualError):
    """Key material is missing, unreadable or inconsistent."""

    code = "certificate"

    def __init__(self, th: str, en: str):
        super().__init__(self.code, th, en)


@dataclass(frozen=True)
class AgencyKeys:
    """An agency's signing key, its certificate and the chain above it (PEM)."""

    agency: str
    folder: Path
    key_pem: bytes
    cert_pem: bytes
    chain_pems: tuple[bytes, ...]  # issuer first, up to (and including) the root

    @property
    def ca_pem(self) -> bytes | None:
        """The top of the chain (the organisation CA), if known."""
        return self.chain_pems[-1] if self.chain_pems else None

    @property
    def subject(self) -> str:
        return certificate_subject(self.cert_pem)

    def signer(self, **kwargs):
        """A :class:`eservice.signing.PdfSigner` for these keys (built once; keep it)."""
        from eservice.signing import PdfSigner

        return PdfSigner(self.key_pem, self.cert_pem, self.chain_pems, **kwargs)


def agency_keys_dir(data_dir: str | Path, agency: str) -> Path:
    """``<data>/keys/<agency>``; the agency id must be a safe folder name."""
    if not _AGENCY_ID.match(agency or ""):
        raise CertificateError(
            f"รหัสหน่วยงาน {agency!r} ใช้เป็นชื่อโฟลเดอร์ไม่ได้ (ใช้ a-z 0-9 _ . - เท่านั้น)",
            f"agency id {agency!r} is not a safe folder name (use a-z 0-9 _ . - only)",
        )
    return Path(data_dir) / "keys" / agency


def load_pem_certificates(data: bytes | str | Path) -> list[x509.Certificate]:
    """All certificates in a PEM file or PEM bytes (empty list for empty input)."""
    if isinstance(data, (str, Path)):
        data = Path(data).read_bytes()
    if not data.strip():
        return []
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise CertificateError(
            f"อ่านใบรับรองแบบ PEM ไม่ได้: {exc}", f"cannot read the PEM certificate(s): {exc}"
        ) from exc


def _split_pems(data: bytes) -> tuple[bytes, ...]:
    return tuple(
        c.public_bytes(serialization.Encoding.PEM) for c in load_pem_certificates(data)
    )


def certificate_subject(cert_pem: bytes) -> str:
    """The certificate's subject as text (RFC 4514, Thai kept readable)."""
    cert = load_pem_certificates(cert_pem)[0]
    return cert.subject.rfc4514_string()


def _new_key(key_type: str):
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"key_type must be 'rsa' or 'ec', not {key_type!r}")


def _key_pem(key, password: bytes | None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _fit_common_name(*candidates: str | None) -> str:
    """X.509 limits a common name to 64 bytes of UTF-8 (about 21 Thai
    letters): the first candidate that fits, else the first one cut short."""
    options = [c.strip() for c in candidates if c and c.strip()]
    for option in options:
        if len(option.encode("utf-8")) <= 64:
            return option
    cut = options[0]
    while len(cut.encode("utf-8")) > 64:
        cut = cut[:-1]
    return cut


def _name(org_th: str, org_en: str | None, common_name: str) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_th)]
    if org_en:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, org_en))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def create_agency_keys(
    data_dir: str | Path,
    agency: str,
    *,
    org_name_th: str,
    org_name_en: str | None = None,
    key_type: str = "rsa",
    key_password: bytes | None = None,
    ca_years: int = 10,
    cert_years: int = 3,
    clock: Clock | None = None,
    overwrite: bool = False,
) -> AgencyKeys:
    """Create a demo organisation CA and the agency's signing certificate.

    For demo, development and tests only (see the module docstring).  Refuses
    to replace existing keys unless ``overwrite=True``.
    """
    folder = agency_keys_dir(data_dir, agency)
    if (folder / KEY_FILE).exists() and not overwrite:
        raise CertificateError(
            f"หน่วยงาน {agency} มีกุญแจสำหรับลงนามอยู่แล้วที่ {folder}",
            f"agency {agency} already has a signing key in {folder}",
        )
    now = (clock or SystemClock()).now()
    not_before = now - timedelta(minutes=5)  # tolerate small clock differences

    ca_key = _new_key(key_type)
    ca_name = _name(
        org_name_th, org_name_en,
        _fit_common_name(f"CA สาธิต {org_name_th}", f"Demo CA {org_name_en or ''}", "Demo CA"),
    )
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(now + timedelta(days=365 * ca_years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = _new_key(key_type)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(org_name_th, org_name_en, _fit_common_name(org_name_th, org_name_en)))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(min(now + timedelta(days=365 * cert_years), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    atomic_write_bytes(folder / CA_KEY_FILE, _key_pem(ca_key, key_password), mode=0o600)
    atomic_write_bytes(folder / KEY_FILE, _key_pem(key, key_password), mode=0o600)
    atomic_write_bytes(folder / CA_FILE, ca_cert.public_bytes(pem), mode=0o644)
    atomic_write_bytes(folder / CERT_FILE, cert.public_bytes(pem), mode=0o644)
    stale_chain = folder / CHAIN_FILE
    if stale_chain.exists():
        stale_chain.unlink()
    return load_agency_keys(data_dir, agency)


def load_agency_keys(data_dir: str | Path, agency: str) -> AgencyKeys:
    """Read an agency's key material from ``<data>/keys/<agency>/``."""
    folder = agency_keys_dir(data_dir, agency)
    key_path, cert_path = folder / KEY_FILE, folder / CERT_FILE
    if not key_path.is_file() or not cert_path.is_file():
        raise CertificateError(
            f"ไม่พบกุญแจหรือใบรับรองสำหรับลงนามของหน่วยงาน {agency} ใน {folder} "
            f"(ต้องมี {KEY_FILE} และ {CERT_FILE})",
            f"no signing key/certificate for agency {agency} in {folder} "
            f"({KEY_FILE} and {CERT_FILE} are required)",
        )
    mode = key_path.stat().st_mode & 0o777
    if mode & 0o077:
        raise CertificateError(
            f"ไฟล์กุญแจ {key_path} ผู้อื่นอ่านได้ (สิทธิ์ {mode:o}) — ตั้งเป็น 600 ด้วย chmod 600",
            f"the key file {key_path} is readable by others (mode {mode:o}); run chmod 600",
        )
    cert_pem = cert_path.read_bytes()
    chain: tuple[bytes, ...] = ()
    if (folder / CHAIN_FILE).is_file():
        chain = _split_pems((folder / CHAIN_FILE).read_bytes())
    elif (folder / CA_FILE).is_file():
        chain = _split_pems((folder / CA_FILE).read_bytes())
    return AgencyKeys(agency, folder, key_path.read_bytes(), _split_pems(cert_pem)[0], chain)


def _issuer_chain(cert: x509.Certificate, pool: list[x509.Certificate]) -> list[x509.Certificate]:
    """The certificates above *cert* in *pool*, issuer first, each checked to
    have signed the one below it."""
    chain: list[x509.Certificate] = []
    current = cert
    while current.issuer != current.subject:
        issuer = next((c for c in pool if c.subject == current.issuer and c not in chain), None)
        if issuer is None:
            break
        try:
            current.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise CertificateError(
                f"ใบรับรอง {issuer.subject.rfc4514_string()} ไม่ได้ออกใบรับรอง {current.subject.rfc4514_string()}",
                f"{issuer.subject.rfc4514_string()} did not issue {current.subject.rfc4514_string()}: {exc}",
            ) from exc
        chain.append(issuer)
        current = issuer
    return chain


def import_pkcs12(
    data_dir: str | Path,
    agency: str,
    p12: bytes,
    password: bytes | None,
    *,
    extra_chain: bytes = b"",
    overwrite: bool = False,
    clock: Clock | None = None,
) -> AgencyKeys:
    """Install the agency's organisation certificate from a PKCS#12 file (IS-2).

    The file holds the private key, the signing certificate and (usually) the
    CA certificates above it; ``extra_chain`` (PEM) adds CA certificates the
    file lacks.  Checked before anything is written: the key matches the
    certificate, the certificate is valid now and meant for signing documents
    (digitalSignature or nonRepudiation), and a chain up to an issuing CA is
    present, each certificate signed by the next.  Writes ``signing-key.pem``
    (0600, unencrypted: the folder is the service account's alone),
    ``signing-cert.pem`` and ``chain.pem``, and removes a demo CA left in the
    folder.  Refuses to replace existing keys unless ``overwrite=True``.
    """
    from cryptography.hazmat.primitives.serialization import pkcs12

    folder = agency_keys_dir(data_dir, agency)
    if (folder / KEY_FILE).exists() and not overwrite:
        raise CertificateError(
            f"หน่วยงาน {agency} มีกุญแจสำหรับลงนามอยู่แล้วที่ {folder} (ใช้ --overwrite เพื่อแทนที่)",
            f"agency {agency} already has a signing key in {folder} (use --overwrite to replace it)",
        )
    try:
        key, cert, others = pkcs12.load_key_and_certificates(p12, password)
    except (ValueError, TypeError) as exc:
        raise CertificateError(
            f"อ่านไฟล์ PKCS#12 ไม่ได้ (รหัสผ่านผิดหรือไฟล์เสียหาย): {exc}",
            f"cannot read the PKCS#12 file (wrong password or damaged file): {exc}",
        ) from exc
    if key is None or cert is None:
        raise CertificateError("ไฟล์ PKCS#12 ต้องมีทั้งกุญแจส่วนตัวและใบรับรอง",
                               "the PKCS#12 file must hold both the private key and its certificate")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, spki) != \
            cert.public_key().public_bytes(serialization.Encoding.DER, spki):
        raise CertificateError("กุญแจส่วนตัวไม่ตรงกับใบรับรอง", "the private key does not match the certificate")
    now = (clock or SystemClock()).now()
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise CertificateError(
            f"ใบรับรองใช้ได้ระหว่าง {cert.not_valid_before_utc:%Y-%m-%d} ถึง {cert.not_valid_after_utc:%Y-%m-%d} "
            "จึงใช้ลงนามตอนนี้ไม่ได้",
            f"the certificate is valid from {cert.not_valid_before_utc:%Y-%m-%d} to "
            f"{cert.not_valid_after_utc:%Y-%m-%d}, so it cannot sign now")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        for_signing = usage.digital_signature or usage.content_commitment
    except x509.ExtensionNotFound:
        for_signing = True
    if not for_signing:
        raise CertificateError("ใบรับรองนี้ไม่ได้มีไว้สำหรับลงนามเอกสาร (keyUsage)",
                               "this certificate is not meant for signing documents (keyUsage)")
    chain = _issuer_chain(cert, [*(others or []), *load_pem_certificates(extra_chain or b"")])
    if not chain:
        raise CertificateError(
            "ไม่พบใบรับรองของผู้ออกใบรับรอง (CA) ในไฟล์ ให้ระบุไฟล์ chain ด้วย --chain ไฟล์.pem",
            "the file holds no certificate of the issuing CA; give the chain with --chain FILE.pem")
    pem = serialization.Encoding.PEM
    atomic_write_bytes(folder / KEY_FILE, _key_pem(key, None), mode=0o600)
    atomic_write_bytes(folder / CERT_FILE, cert.public_bytes(pem), mode=0o644)
    atomic_write_bytes(folder / CHAIN_FILE, b"".join(c.public_bytes(pem) for c in chain), mode=0o644)
    for stale in (CA_FILE, CA_KEY_FILE):  # a demo CA must not stay trusted for this agency
        if (folder / stale).exists():
            (folder / stale).unlink()
    return load_agency_keys(data_dir, agency)


def ensure_agency_keys(data_dir: str | Path, agency: str, **create_kwargs) -> AgencyKeys:
    """Load the agency's keys, creating demo keys first if there are none."""
    folder = agency_keys_dir(data_dir, agency)
    if (folder / KEY_FILE).exists():
        return load_agency_keys(data_dir, agency)
    return create_agency_keys(data_dir, agency, **create_kwargs)


def platform_trust_roots(data_dir: str | Path) -> list[bytes]:
    """The organisation CA certificates of every agency on this platform
    (``<data>/keys/*/ca.pem``, or the last certificate of ``chain.pem``), so
    that documents the platform issued verify as trusted (PR-8, IS-2)."""
    roots: list[bytes] = []
    keys = Path(data_dir) / "keys"
    if not keys.is_dir():
        return roots
    for folder in sorted(p for p in keys.iterdir() if p.is_dir()):
        for name in (CA_FILE, CHAIN_FILE):
            if (folder / name).is_file():
                pems = _split_pems((folder / name).read_bytes())
                if pems:
                    roots.append(pems[-1])
                break
    return list(dict.fromkeys(roots))


def certificate_validity(cert_pem: bytes) -> tuple[datetime, datetime]:
    """(not before, not after) of the first certificate in *cert_pem*, aware UTC."""
    cert = load_pem_certificates(cert_pem)[0]
    return cert.not_valid_before_utc, cert.not_valid_after_utc
