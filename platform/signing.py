"""Signing PDFs with the agency's organisation certificate, and verifying PDF signatures.

IS-1/IS-2/A-L4/A-L5: every licence, result, letter and receipt the platform
sends is signed (PAdES baseline B-B) with the agency's organisation
certificate.  PR-8: a PDF the citizen uploads that is signed with a
certificate from an NRCA-accredited CA or an Adobe AATL member is accepted
without further checks, after the signature is verified here.

Signing
-------
:class:`PdfSigner` is built once per agency and kept (for example on the
application object): it parses the private key once and reserves a fixed
signature size.  pyHanko's stock ``SimpleSigner`` parses the key from DER on
every raw signature, and without ``bytes_reserved`` it signs twice per
document (a dry run to size the signature), i.e. two RSA key parses (with
their consistency checks) per PDF: measured with ``bench/bench_pdf.py`` on a
2-core machine, about 100-130 ms per invisible signature with the stock
signer against about 11 ms here.

The first signature on a document is a *certification* signature (DocMDP
"form filling": further signatures may be added, nothing else may change),
so readers show the document as certified by the agency; a document that is
already signed gets an ordinary approval signature.  Reason and location are
in Thai.  A visible stamp (:class:`VisibleStamp`) is drawn by pyHanko with the
Thai font, shaped by HarfBuzz (``uharfbuzz``, pyHanko's ``[opentype]`` extra),
with a line spacing of 1.6 × the font size so that stacked tone marks are not
clipped.

Verification
------------
What a check reports (the Thai/English problems, :class:`SignatureReport`,
:class:`VerificationResult`) is in :mod:`eservice.signature_report`, re-exported here.
:func:`verify_pdf` (and :func:`async_verify_pdf` inside an event loop) checks
every signature of a PDF against **trust roots passed explicitly** - never the
operating system's TLS list, which is pyHanko's deprecated fallback and has
nothing to do with document signing.  The platform passes the curated bundle
(``plugins/data/trust_roots/*.pem``: NRCA-accredited CAs and AATL members)
plus its own organisation CAs (:func:`eservice.certificates.platform_trust_roots`).

Revocation is checked in **"hard-fail"** mode by default, and that choice is
deliberate:

* ``"soft-fail"`` (pyHanko's default) silently accepts a certificate whose
  revocation status could not be obtained, so a revoked certificate passes
  whenever the CA's server is unreachable - not acceptable for PR-8, where a
  valid signature means "no further checks".
* ``"hard-fail"`` checks every certificate that names a CRL or OCSP service
  (every certificate from a public CA does) and fails the signature if its
  status cannot be established - from revocation data embedded in the PDF
  (its DSS), data passed in, or fetched online (``allow_fetching=True``).  A
  certificate that names no revocation service (the platform's own demo CA)
  is not checked, which is the point: there is nothing to check it against.
  An unreachable CA therefore makes a document *not valid yet*
  (``revocation_unknown`` in the problems: "try again later"), never valid.
* ``"require"`` additionally fails certificates that name no revocation
  service at all; use it for long-term (LTV) checks.

Time: without a trusted timestamp, a signature is judged at the present
moment, so a document signed with a certificate that has since expired is not
trusted (PAdES B-B documents need to be verified while the certificate is
valid, or carry LTV data).  ``moment=`` changes the validation time.

What counts as modified: the signature covers the file up to its own
revision.  Later revisions that only add validation data (DSS), document
timestamps or further signatures are allowed; anything else (a page, drawn
content, an annotation, a changed form value) makes the signature report
``modified_after_signing`` and not ``valid``.  A changed byte inside the
signed range makes it not ``intact`` (and not ``valid``).
"""
from __future__ import annotations

import asyncio
import functools
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .dates import format_datetime
from .signature_report import (  # noqa: F401  (re-exported: the vocabulary of verify_pdf)
    ALTERED, BAD_SIGNATURE, EXPIRED, KEY_USAGE, MODIFIED, NO_SIGNATURE, PARTIAL, REVOCATION_UNKNOWN, REVOKED,
    UNREADABLE_SIGNATURE, UNTRUSTED, UNTRUSTED_TIMESTAMP, WEAK_ALGORITHM, Problem, SignatureReport,
    VerificationResult, trust_problems,
)

__all__ = [
    "DEFAULT_LOCATION",
    "DEFAULT_REASON",
    "PdfSigner",
    "SignatureReport",
    "SigningError",
    "VerificationError",
    "VerificationResult",
    "VisibleStamp",
    "async_verify_pdf",
    "verify_pdf",
]

log = logging.getLogger(__name__)

DEFAULT_REASON = "หน่วยงานรับรองว่าเอกสารอิเล็กทรอนิกส์นี้ออกโดยระบบของหน่วยงาน"
DEFAULT_LOCATION = "ประเทศไทย"
REVOCATION_MODES = ("hard-fail", "soft-fail", "require")
TIMESTAMP_RESERVE = 2 * 12_000  # hex digits kept for an RFC 3161 token (TSA certificate chain included)


class SigningError(Exception):
    """The PDF or the key material cannot be used for signing."""

    def __init__(self, th: str, en: str):
        super().__init__(f"{th} / {en}")
        self.th = th
        self.en = en


class VerificationError(ValueError):
    """The input is not a PDF that can be checked at all (not a PDF, damaged)."""

    def __init__(self, th: str, en: str):
        super().__init__(f"{th} / {en}")
        self.th = th
        self.en = en


# --------------------------------------------------------------------------- #
# Signing
# --------------------------------------------------------------------------- #


class _KeptKeySigner(signers.SimpleSigner):
    """A ``SimpleSigner`` that uses an already parsed ``cryptography`` key
    instead of re-parsing its DER on every signature."""

    def __init__(self, private_key, **kwargs):
        self._private_key = private_key
        super().__init__(**kwargs)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism_spec = self.get_signature_mechanism_for_digest(digest_algorithm)
        mechanism = mechanism_spec.signature_algo
        key = self._private_key
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if mechanism == "rsassa_pss" and isinstance(key, rsa.RSAPrivateKey):
            pss, hash_algo = process_pss_params(mechanism_spec["parameters"])
            return key.sign(data, pss, hash_algo)
        if mechanism == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return super().sign_raw(data, digest_algorithm)  # other key types: stock path


@dataclass(frozen=True)
class VisibleStamp:
    """A visible signature stamp.

    ``box`` is (x1, y1, x2, y2) in whole PDF points from the page's bottom-left
    corner (A4 is 595 × 842 pt); ``page`` is a page index (negative counts from
    the end).  The default box sits at the bottom right just above the 22 mm
    footer of ``base.html``; a template that wants a stamp should leave that
    space empty on its last page.  ``lines`` default to the signer and the
    signing time, in Thai (Buddhist Era) and English.
    """

    box: tuple[int, int, int, int] = (330, 70, 570, 130)
    page: int = -1
    lines: Sequence[str] | None = None
    font_size: int = 8
    line_spacing: float = 1.6  # × font size; less clips Thai tone marks


@functools.lru_cache(maxsize=4)
def _stamp_font(path: str) -> str:
    """The font for stamps cut down once to Thai, Latin and common punctuation:
    pyHanko parses the font's layout tables for every stamp, and a smaller font
    halves that time.  Kept in a temporary file for the life of the process
    (the original is used if cutting fails)."""
    import atexit
    import os
    import tempfile

    try:
        from fontTools import subset, ttLib

        options = subset.Options()
        options.layout_features = ["*"]  # keep Thai shaping (marks, ligatures)
        options.name_IDs = ["*"]
        options.notdef_outline = True
        font = ttLib.TTFont(path)
        subsetter = subset.Subsetter(options=options)
        subsetter.populate(unicodes=[*range(0x20, 0x7F), *range(0xA0, 0x100), *range(0x0E00, 0x0E80),
                                     *range(0x2010, 0x2027)])
        subsetter.subset(font)
        fd, out = tempfile.mkstemp(prefix="eservice-stamp-", suffix=".ttf")
        with os.fdopen(fd, "wb") as fh:
            font.save(fh)
        atexit.register(lambda: os.path.exists(out) and os.unlink(out))
        return out
    except Exception:  # a font fontTools cannot cut: use it whole
        log.warning("could not prepare the stamp font from %s; using it whole", path, exc_info=True)
        return path


def _load_key(key_pem: bytes, password: bytes | None):
    try:
        return serialization.load_pem_private_key(key_pem, password=password)
    except (ValueError, TypeError) as exc:
        raise SigningError(
            f"อ่านกุญแจส่วนตัวไม่ได้ (รหัสผ่านผิดหรือไฟล์เสียหาย): {exc}",
            f"cannot read the private key (wrong password or damaged file): {exc}",
        ) from exc


def _to_asn1_cert(cert: bytes | str | x509.Certificate | asn1_x509.Certificate) -> asn1_x509.Certificate:
    if isinstance(cert, asn1_x509.Certificate):
        return cert
    if isinstance(cert, x509.Certificate):
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    data = cert.encode() if isinstance(cert, str) else bytes(cert)
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise ValueError(f"not a PEM/DER certificate: {exc}") from exc
    return asn1_x509.Certificate.load(certs[0].public_bytes(serialization.Encoding.DER))


def _to_asn1_certs(items: Iterable[Any]) -> list[asn1_x509.Certificate]:
    out: list[asn1_x509.Certificate] = []
    for item in items:
        if isinstance(item, (bytes, str)) and not isinstance(item, asn1_x509.Certificate):
            data = item.encode() if isinstance(item, str) else item
            if data.count(b"-----BEGIN CERTIFICATE-----") > 1:
                out += [
                    _to_asn1_cert(c) for c in x509.load_pem_x509_certificates(data)
                ]
                continue
        out.append(_to_asn1_cert(item))
    return out


def _signer_name(cert: asn1_x509.Certificate) -> str:
    subject = cert.subject.native
    return subject.get("common_name") or subject.get("organization_name") or cert.subject.human_friendly


class PdfSigner:
    """Signs PDFs with one key and certificate.  Build once, reuse (thread-safe
    for concurrent ``sign`` calls: it keeps no per-signature state)."""

    def __init__(
        self,
        key_pem: bytes,
        cert_pem: bytes,
        chain_pems: Sequence[bytes] = (),
        *,
        key_password: bytes | None = None,
        reason: str = DEFAULT_REASON,
        location: str = DEFAULT_LOCATION,
        contact_info: str | None = None,
        md_algorithm: str = "sha256",
    ):
        private_key = _load_key(key_pem, key_password)
        try:
            cert = _to_asn1_cert(cert_pem)
            chain = _to_asn1_certs(chain_pems)
        except ValueError as exc:
            raise SigningError(f"อ่านใบรับรองไม่ได้: {exc}", f"cannot read the certificate: {exc}") from exc
        crypto_cert = x509.load_der_x509_certificate(cert.dump())
        if crypto_cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ) != private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ):
            raise SigningError(
                "กุญแจส่วนตัวไม่ตรงกับใบรับรอง", "the private key does not match the certificate"
            )
        key_info = asn1_keys.PrivateKeyInfo.load(
            private_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.certificate = cert
        self.chain = tuple(chain)
        self.signer_name = _signer_name(cert)
        self.reason = reason
        self.location = location
        self.contact_info = contact_info
        self.md_algorithm = md_algorithm
        self._signer = _KeptKeySigner(
            private_key,
            signing_cert=cert,
            signing_key=key_info,
            cert_registry=SimpleCertificateStore.from_certs([cert, *chain]),
        )
        # Room for the CMS object, hex-encoded: the certificates, the signature
        # and the signed attributes, with a margin.  Fixed, so pyHanko does not
        # sign a dry run to measure it.
        key_bytes = (private_key.key_size + 7) // 8
        cms_estimate = sum(len(c.dump()) for c in (cert, *chain)) + 2 * key_bytes + 1024
        self.bytes_reserved = 2 * (cms_estimate + cms_estimate // 4)

    @classmethod
    def from_agency_keys(cls, keys, **kwargs) -> "PdfSigner":
        """From :class:`eservice.certificates.AgencyKeys`."""
        return cls(keys.key_pem, keys.cert_pem, keys.chain_pems, **kwargs)

    def _stamp_style(self, stamp: VisibleStamp):
        from pyhanko.pdf_utils.text import TextBoxStyle
        from pyhanko.stamp import TextStampStyle

        try:
            from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
        except ImportError as exc:
            raise SigningError(
                "การประทับตราลายมือชื่อที่มองเห็นได้ต้องใช้แพ็กเกจ uharfbuzz (pyHanko[opentype])",
                "a visible signature stamp needs uharfbuzz (pyHanko[opentype]) for Thai text shaping",
            ) from exc
        from eservice.renderers.fonts import find_thai_font

        size = max(1, round(stamp.font_size))  # pyHanko's layout works in whole points
        font = GlyphAccumulatorFactory(
            _stamp_font(str(find_thai_font().regular)), font_size=size, bcp47_lang_code="th"
        )
        return TextStampStyle(
            stamp_text="%(stamp_text)s",
            text_box_style=TextBoxStyle(
                font=font,
                font_size=size,
                leading=max(size, round(size * stamp.line_spacing)),
            ),
            border_width=1,
            background=None,
        )

    def _stamp_lines(self, stamp: VisibleStamp, reason: str) -> list[str]:
        if stamp.lines is not None:
            return list(stamp.lines)
        now = datetime.now(timezone.utc)
        return [
            f"ลงลายมือชื่อดิจิทัลโดย {self.signer_name}",
            f"เมื่อ {format_datetime(now, 'th', long=True, style='document')}",
            f"Digitally signed {format_datetime(now, 'en', long=True, style='document')}",
        ]

    def sign(
        self,
        pdf: bytes,
        *,
        reason: str | None = None,
        location: str | None = None,
        field_name: str | None = None,
        stamp: VisibleStamp | None = None,
        certify: bool | None = None,
        timestamper: Any = None,
    ) -> bytes:
        """Sign *pdf* (bytes) and return the signed PDF (an incremental update).

        ``certify=None`` certifies an unsigned document and adds an approval
        signature to one that is already signed.  ``timestamper`` (a pyHanko
        ``TimeStamper``, e.g. ``HTTPTimeStamper(url)``) adds an RFC 3161 time
        stamp on the signature: PAdES B-T instead of B-B.
        """
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

        if not isinstance(pdf, (bytes, bytearray, memoryview)):
            raise TypeError("sign() expects the PDF as bytes")
        if not bytes(pdf[:1024]).lstrip().startswith(b"%PDF-"):
            raise SigningError("ข้อมูลที่ให้ลงนามไม่ใช่ไฟล์ PDF", "the data to sign is not a PDF file")
        try:
            writer = IncrementalPdfFileWriter(io.BytesIO(bytes(pdf)), strict=False)
            existing = len(writer.prev.embedded_signatures)
        except Exception as exc:
            raise SigningError(
                f"ไฟล์ PDF เสียหาย อ่านไม่ได้: {exc}", f"the PDF is damaged and cannot be read: {exc}"
            ) from exc
        if certify is None:
            certify = existing == 0
        field_name = field_name or f"Signature{existing + 1}"
        reason = reason or self.reason
        meta = signers.PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm=self.md_algorithm,
            reason=reason,
            location=location or self.location,
            contact_info=self.contact_info,
            name=self.signer_name,
            certify=certify,
            docmdp_permissions=fields.MDPPerm.FILL_FORMS,
            subfilter=fields.SigSeedSubFilter.PADES,
        )
        kwargs: dict[str, Any] = {}
        text_params = None
        if stamp is not None:
            pages = int(writer.root["/Pages"]["/Count"])
            page = stamp.page if stamp.page >= 0 else pages + stamp.page
            if not 0 <= page < pages:
                raise SigningError(
                    f"ไม่มีหน้าที่ {stamp.page} ในเอกสาร ({pages} หน้า)",
                    f"page {stamp.page} does not exist ({pages} pages)",
                )
            kwargs["stamp_style"] = self._stamp_style(stamp)
            kwargs["new_field_spec"] = fields.SigFieldSpec(
                sig_field_name=field_name, on_page=page,
                box=tuple(int(round(v)) for v in stamp.box),
            )
            text_params = {"stamp_text": "\n".join(self._stamp_lines(stamp, reason))}
        pdf_signer = signers.PdfSigner(meta, signer=self._signer, timestamper=timestamper, **kwargs)
        out = io.BytesIO()
        try:
            pdf_signer.sign_pdf(
                writer,
                # a time-stamp token carries the TSA's certificates: room for them too
                bytes_reserved=self.bytes_reserved + (TIMESTAMP_RESERVE if timestamper is not None else 0),
                appearance_text_params=text_params,
                output=out,
            )
        except SigningError:
            raise
        except Exception as exc:
            raise SigningError(f"ลงนามเอกสารไม่สำเร็จ: {exc}", f"signing failed: {exc}") from exc
        return out.getvalue()


# --------------------------------------------------------------------------- #
# Verification
# --------------------------------------------------------------------------- #

def _dss_material(reader) -> tuple[list, list, list]:
    """Certificates, CRLs and OCSP responses stored in the PDF's DSS (LTV data)."""
    from asn1crypto import crl as asn1_crl
    from asn1crypto import ocsp as asn1_ocsp

    certs, crls, ocsps = [], [], []
    try:
        dss = reader.root.get("/DSS")
        if dss is None:
            return certs, crls, ocsps
        dss = dss.get_object()
        for ref in dss.get("/Certs", []):
            certs.append(asn1_x509.Certificate.load(ref.get_object().data))
        for ref in dss.get("/CRLs", []):
            crls.append(asn1_crl.CertificateList.load(ref.get_object().data))
        for ref in dss.get("/OCSPs", []):
            ocsps.append(asn1_ocsp.OCSPResponse.load(ref.get_object().data))
    except Exception:  # damaged DSS: verify without it
        log.info("ignoring an unreadable DSS", exc_info=True)
    return certs, crls, ocsps


async def _check_one(embedded, vc, signature_fields: set[str], lenient_vc=None) -> SignatureReport:
    from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel
    from pyhanko.sign.validation import KeyUsageConstraints
    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    field_name = embedded.field_name or ""
    try:
        cert = embedded.signer_cert
        signer, subject = _signer_name(cert), cert.subject.human_friendly
    except Exception:
        signer = subject = ""
    try:
        status = await async_validate_pdf_signature(
            embedded,
            signer_validation_context=vc,
            # NRCA/AATL document-signing certificates carry digitalSignature,
            # nonRepudiation or both; either is acceptable.
            key_usage_settings=KeyUsageConstraints(
                key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
            ),
        )
    except Exception as exc:
        log.info("signature %s could not be validated", field_name, exc_info=True)
        return SignatureReport(
            field_name, signer, subject, None, False, False, False, False, False,
            "unknown", False, False, (UNREADABLE_SIGNATURE, (f"รายละเอียด: {exc}", f"detail: {exc}")),
        )

    problems: list[Problem] = []
    if not status.intact:
        problems.append(ALTERED)
    elif not status.valid:
        problems.append(BAD_SIGNATURE)
    if not status.trusted:
        found = trust_problems(status)
        if found == [UNTRUSTED] and lenient_vc is not None:
            # pyHanko reports a failed revocation check as a general chain
            # failure; if the chain is fine without revocation checks, say so.
            try:
                again = await async_validate_pdf_signature(
                    embedded, signer_validation_context=lenient_vc(), skip_diff=True,
                    key_usage_settings=KeyUsageConstraints(
                        key_usage={"digital_signature", "non_repudiation"},
                        match_all_key_usages=False,
                    ),
                )
                if again.trusted:
                    found = [REVOCATION_UNKNOWN]
            except Exception:
                log.debug("second validation without revocation failed", exc_info=True)
        problems.extend(found)

    coverage = status.coverage
    level = status.modification_level
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        modified = False
        level_name = "none"
    elif coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        modified = True
        level_name = "other"
        problems.append(PARTIAL)
    elif level is None:
        modified, level_name = True, "unknown"
    else:
        level_name = level.name.lower()
        if level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES):
            modified = False
        elif level == ModificationLevel.FORM_FILLING:
            # Allowed only when the changed fields are later signatures.
            changed = (
                set(status.diff_result.changed_form_fields)
                if isinstance(status.diff_result, DiffResult)
                else {"?"}
            )
            modified = not changed <= (signature_fields - {field_name})
        else:
            modified = True
    if modified or status.docmdp_ok is False:
        modified = True
        if PARTIAL not in problems:
            problems.append(MODIFIED)

    ts = status.timestamp_validity
    timestamped = ts is not None and ts.valid and ts.intact and ts.trusted
    if ts is not None and not timestamped:
        problems.append(UNTRUSTED_TIMESTAMP)  # pyHanko's bottom line is false then; say why
    signed_at = ts.timestamp if timestamped else status.signer_reported_dt
    valid = bool(status.bottom_line) and not modified
    return SignatureReport(
        field_name=field_name,
        signer=signer,
        signer_subject=subject,
        signed_at=signed_at,
        timestamped=timestamped,
        intact=bool(status.intact),
        signature_ok=bool(status.valid),
        trusted=bool(status.trusted),
        certified=embedded.docmdp_level is not None,
        modification_level=level_name,
        modified_after_signing=modified,
        valid=valid,
        problems=tuple(dict.fromkeys(problems)),
    )


async def async_verify_pdf(
    data: bytes,
    trust_roots: Sequence[bytes | str | x509.Certificate],
    *,
    revocation: str = "hard-fail",
    allow_fetching: bool = True,
    crls: Sequence[bytes] = (),
    ocsps: Sequence[bytes] = (),
    other_certs: Sequence[bytes] = (),
    moment: datetime | None = None,
) -> VerificationResult:
    """Check every signature in *data* (see the module docstring).

    *trust_roots*: the CA certificates (PEM/DER bytes, possibly several per
    item, or ``cryptography`` certificates) that make a signer trusted.  It is
    required; an empty list trusts nobody.  *revocation*: ``"hard-fail"``
    (default), ``"require"`` or ``"soft-fail"``.  *allow_fetching*: fetch CRLs
    and OCSP responses online for certificates that name them.

    Raises :class:`VerificationError` when *data* is not a readable PDF; a PDF
    without signatures is a result with ``valid=False``.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko_certvalidator import ValidationContext

    if trust_roots is None:
        raise TypeError("trust_roots must be given explicitly (the OS trust list is never used)")
    if revocation not in REVOCATION_MODES:
        raise ValueError(f"revocation must be one of {REVOCATION_MODES}, not {revocation!r}")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("verify_pdf expects the PDF as bytes")
    data = bytes(data)
    if not data[:1024].lstrip().startswith(b"%PDF-"):
        raise VerificationError("ไฟล์นี้ไม่ใช่ไฟล์ PDF", "this file is not a PDF")
    try:
        roots = _to_asn1_certs(trust_roots)
        extra = _to_asn1_certs(other_certs)
    except ValueError as exc:
        raise ValueError(f"bad trust root or certificate: {exc}") from exc
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as exc:
        raise VerificationError(
            f"ไฟล์ PDF เสียหาย อ่านไม่ได้: {exc}", f"the PDF is damaged and cannot be read: {exc}"
        ) from exc

    if not embedded:
        return VerificationResult(False, False, False, "", None, False, [NO_SIGNATURE], [])

    dss_certs, dss_crls, dss_ocsps = _dss_material(reader)
    vc_kwargs: dict[str, Any] = dict(
        trust_roots=roots,
        other_certs=[*extra, *dss_certs],
        allow_fetching=allow_fetching and moment is None,
        revocation_mode=revocation,
        crls=[*dss_crls, *crls],
        ocsps=[*dss_ocsps, *ocsps],
    )
    if moment is not None:
        vc_kwargs["moment"] = moment
    vc = ValidationContext(**vc_kwargs)

    def lenient_vc():
        """The same trust, no revocation checks: only to explain a failure."""
        return ValidationContext(**{
            **vc_kwargs, "revocation_mode": "soft-fail", "allow_fetching": False,
        })

    signature_fields = {e.field_name for e in embedded}
    try:
        reports = [
            await _check_one(e, vc, signature_fields, None if revocation == "soft-fail" else lenient_vc)
            for e in embedded
        ]
    finally:
        # release the HTTP session pyHanko opened for fetching, in this loop
        try:
            await vc.aclose()
        except Exception:
            log.debug("closing the validation context failed", exc_info=True)

    problems: list[Problem] = []
    for r in reports:
        for p in r.problems:
            if p not in problems:
                problems.append(p)
    first = reports[0]
    return VerificationResult(
        valid=all(r.valid for r in reports),
        intact=all(r.intact for r in reports),
        trusted=all(r.trusted for r in reports),
        signer=first.signer,
        signed_at=first.signed_at,
        modified_after_signing=any(r.modified_after_signing for r in reports),
        problems=problems,
        signatures=reports,
    )


def verify_pdf(
    data: bytes,
    trust_roots: Sequence[bytes | str | x509.Certificate],
    *,
    revocation: str = "hard-fail",
    allow_fetching: bool = True,
    crls: Sequence[bytes] = (),
    ocsps: Sequence[bytes] = (),
    other_certs: Sequence[bytes] = (),
    moment: datetime | None = None,
) -> VerificationResult:
    """Synchronous :func:`async_verify_pdf`.  Do not call it from inside a
    running event loop (a Starlette handler): await :func:`async_verify_pdf`
    there, or run this in a worker thread."""
    return asyncio.run(
        async_verify_pdf(
            data, trust_roots, revocation=revocation, allow_fetching=allow_fetching,
            crls=crls, ocsps=ocsps, other_certs=other_certs, moment=moment,
        )
    )
