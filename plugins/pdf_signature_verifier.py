"""Document verifier: digital signatures in uploaded PDFs (PR-8).

PR-8: a PDF signed with a certificate from an NRCA-accredited CA or an Adobe
AATL member is valid without further checks, once software has verified the
signature.  This verifier says ``ok`` only when every signature in the PDF is
intact, cryptographically valid, chains to a trusted root, passes the
revocation check ("hard-fail", see :mod:`eservice.signing`) and was not
followed by changes (added pages, drawn content, annotations).

Trusted roots, passed explicitly (never the operating system's list):

* the curated bundle in ``plugins/data/trust_roots/*.pem`` (NRCA-accredited
  CAs and AATL members; see the README there - AATL has no package, so the
  bundle is maintained by hand);
* the platform's own organisation CAs (``<data>/keys/*/ca.pem``: the
  ``data_dir`` or ``settings`` given, else ``ESERVICE_DATA``), so documents
  the platform issued itself verify as well;
* the installation's trust bundle: ``Settings.trust_roots``
  (``ESERVICE_TRUST_ROOTS``), PEM files or folders of ``*.pem`` — the place for
  the NRCA-accredited CAs, AATL roots and the time-stamp service's root that an
  operator has checked (``docs/trust.md``);
* any extra roots an installation passes to :class:`PdfSignatureVerifier`.

Registered through the ``eservice`` entry-point group::

    [project.entry-points.eservice]
    pdf_signature_verifier = "eservice.plugins.pdf_signature_verifier"
"""
from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eservice.plugin_api import Message, Verification, hookimpl
from eservice.settings import Settings, env_data_folder, env_trust_roots

# eservice.signing (pyHanko) and eservice.certificates are imported on first
# use, not here: the plugin manager imports every plugin at start-up, and
# pyHanko alone takes about half a second to import.

__all__ = ["BUNDLE_DIR", "PdfSignatureVerifier", "bundled_trust_roots", "configured_trust_roots", "TrustListError",
           "eservice_document_verifiers"]

BUNDLE_DIR = Path(__file__).resolve().parent / "data" / "trust_roots"

_CODE_NAMES = {
    "NO_SIGNATURE": "pdf_signature.unsigned",
    "ALTERED": "pdf_signature.altered",
    "BAD_SIGNATURE": "pdf_signature.bad_signature",
    "UNTRUSTED": "pdf_signature.untrusted",
    "REVOKED": "pdf_signature.revoked",
    "REVOCATION_UNKNOWN": "pdf_signature.revocation_unknown",
    "EXPIRED": "pdf_signature.expired",
    "KEY_USAGE": "pdf_signature.key_usage",
    "WEAK_ALGORITHM": "pdf_signature.weak_algorithm",
    "MODIFIED": "pdf_signature.modified",
    "PARTIAL": "pdf_signature.partial",
    "UNREADABLE_SIGNATURE": "pdf_signature.unreadable",
    "UNTRUSTED_TIMESTAMP": "pdf_signature.untrusted_timestamp",
}


def _code(problem: tuple[str, str]) -> str:
    """The stable message code of one of :mod:`eservice.signing`'s problems."""
    from eservice import signing

    for attr, code in _CODE_NAMES.items():
        if getattr(signing, attr) == problem:
            return code
    return "pdf_signature.problem"


def bundled_trust_roots(folder: Path = BUNDLE_DIR) -> list[bytes]:
    """The curated trust roots shipped with the platform (one or more PEM
    certificates per ``*.pem`` file)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from eservice.certificates import load_pem_certificates

    roots: list[bytes] = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.pem")):
            roots += [c.public_bytes(Encoding.PEM) for c in load_pem_certificates(path)]
    return roots


class TrustListError(ValueError):
    """The configured trust bundle cannot be read (Thai and English)."""

    def __init__(self, th: str, en: str):
        super().__init__(f"{th} / {en}")
        self.th, self.en = th, en


def configured_trust_roots(paths: Sequence[str | Path]) -> list[bytes]:
    """The certificates of the configured bundle: each path a PEM file (one or more
    certificates) or a folder of ``*.pem`` files.  A path that is missing, unreadable
    or without a certificate raises :class:`TrustListError`: a trust list that
    silently trusts nothing would report every signer as untrusted without saying why."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from eservice.certificates import CertificateError, load_pem_certificates

    roots: list[bytes] = []
    for path in (Path(p) for p in paths):
        try:
            if path.is_dir():
                found = bundled_trust_roots(path)
            elif path.is_file():
                found = [c.public_bytes(Encoding.PEM) for c in load_pem_certificates(path)]
            else:
                raise TrustListError(f"ไม่พบไฟล์หรือโฟลเดอร์ใบรับรองที่เชื่อถือ {path} (ESERVICE_TRUST_ROOTS)",
                                     f"the trust roots {path} (ESERVICE_TRUST_ROOTS) do not exist")
        except (CertificateError, OSError) as exc:
            raise TrustListError(f"อ่านใบรับรองที่เชื่อถือใน {path} ไม่ได้ (ESERVICE_TRUST_ROOTS): {exc}",
                                 f"cannot read the trust roots in {path} (ESERVICE_TRUST_ROOTS): {exc}") from None
        if not found:
            raise TrustListError(f"ไม่มีใบรับรองรูปแบบ PEM ใน {path} (ESERVICE_TRUST_ROOTS)",
                                 f"no PEM certificate in {path} (ESERVICE_TRUST_ROOTS)")
        roots += found
    return roots


def _run(coro):
    """Run *coro* to completion from synchronous code, even when this thread
    already runs an event loop (then in a helper thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


class PdfSignatureVerifier:
    """The ``pdf_signature`` document verifier (see the module docstring)."""

    name = "pdf_signature"
    media_types = ("application/pdf",)

    def __init__(
        self,
        extra_trust_roots: Sequence[bytes] = (),
        *,
        data_dir: str | Path | None = None,
        settings: Settings | None = None,
        bundle_dir: Path = BUNDLE_DIR,
        revocation: str = "hard-fail",
        allow_fetching: bool = True,
        trust_paths: Sequence[str | Path] | None = None,
    ):
        self.extra_trust_roots = tuple(extra_trust_roots)
        self.data_dir = data_dir if data_dir is not None or settings is None else settings.data
        if trust_paths is None:  # the installation's bundle: its settings, else ESERVICE_TRUST_ROOTS
            trust_paths = settings.trust_roots if settings is not None else env_trust_roots()
        self.trust_paths = tuple(Path(p) for p in trust_paths)
        self.bundle_dir = bundle_dir
        self.revocation = revocation
        self.allow_fetching = allow_fetching

    def trust_roots(self) -> list[bytes]:
        """Bundle + configured bundle + the platform's own CAs + extra roots (read on
        each call, so a CA added to the bundle or a new agency counts at once)."""
        from eservice.certificates import platform_trust_roots

        data_dir = self.data_dir if self.data_dir is not None else env_data_folder()
        roots = bundled_trust_roots(self.bundle_dir) + configured_trust_roots(self.trust_paths)
        if data_dir:
            roots += platform_trust_roots(data_dir)
        roots += list(self.extra_trust_roots)
        return list(dict.fromkeys(roots))

    async def averify(self, data: bytes):
        """The full :class:`eservice.signing.VerificationResult` (await it in async code)."""
        from eservice.signing import async_verify_pdf

        return await async_verify_pdf(
            data, self.trust_roots(), revocation=self.revocation,
            allow_fetching=self.allow_fetching,
        )

    def verify(self, data: bytes, *, filename: str = "", media_type: str = "") -> Verification:
        """Never raises for bad input: a non-PDF or damaged file is ``ok=False``."""
        from eservice.signing import VerificationError

        try:
            result = _run(self.averify(data))
        except TrustListError as exc:  # the installation's fault, not the file's: say so
            return Verification(ok=False, messages=[Message("pdf_signature.trust_list", exc.th, exc.en)],
                                details={"filename": filename})
        except (VerificationError, TypeError) as exc:
            th = getattr(exc, "th", "ไฟล์นี้ตรวจสอบลายมือชื่อดิจิทัลไม่ได้")
            en = getattr(exc, "en", str(exc))
            return Verification(
                ok=False,
                messages=[Message("pdf_signature.unreadable_file", th, en)],
                details={"filename": filename},
            )
        messages = [
            Message(_code(problem), problem[0], problem[1])
            for problem in result.problems
        ]
        details: dict[str, Any] = {
            "filename": filename,
            "signer": result.signer,
            "signed_at": result.signed_at.isoformat() if result.signed_at else None,
            "intact": result.intact,
            "trusted": result.trusted,
            "modified_after_signing": result.modified_after_signing,
            "signatures": [
                {
                    "field": s.field_name,
                    "signer": s.signer,
                    "subject": s.signer_subject,
                    "signed_at": s.signed_at.isoformat() if s.signed_at else None,
                    "timestamped": s.timestamped,
                    "certified": s.certified,
                    "valid": s.valid,
                    "modification_level": s.modification_level,
                }
                for s in result.signatures
            ],
        }
        return Verification(ok=result.valid, messages=messages, details=details)


@hookimpl
def eservice_document_verifiers():
    return [PdfSignatureVerifier()]
