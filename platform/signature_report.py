"""What a check of PDF signatures reports (PR-8): each problem as a Thai and English
pair, one :class:`SignatureReport` per signature and the :class:`VerificationResult`
of the document.

:func:`eservice.signing.verify_pdf` fills them in (and re-exports them); they are
apart from it so that the vocabulary reads on its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "ALTERED",
    "BAD_SIGNATURE",
    "EXPIRED",
    "KEY_USAGE",
    "MODIFIED",
    "NO_SIGNATURE",
    "PARTIAL",
    "Problem",
    "REVOCATION_UNKNOWN",
    "REVOKED",
    "SignatureReport",
    "UNREADABLE_SIGNATURE",
    "UNTRUSTED",
    "UNTRUSTED_TIMESTAMP",
    "VerificationResult",
    "WEAK_ALGORITHM",
    "trust_problems",
]

Problem = tuple[str, str]  # (Thai, English)

NO_SIGNATURE: Problem = ("เอกสารนี้ไม่มีลายมือชื่อดิจิทัล", "the document has no digital signature")
ALTERED: Problem = (
    "เนื้อหาที่ลงนามไว้ถูกเปลี่ยนแปลง เอกสารไม่ตรงกับลายมือชื่อ",
    "the signed content was altered: the document no longer matches its signature",
)
BAD_SIGNATURE: Problem = ("ลายมือชื่อดิจิทัลไม่ถูกต้อง", "the digital signature is not valid")
UNTRUSTED: Problem = (
    "ใบรับรองของผู้ลงนามไม่ได้ออกโดยผู้ออกใบรับรองที่เชื่อถือ (CA ที่ได้รับการรับรองจาก NRCA, สมาชิก AATL หรือ CA ของระบบ)",
    "the signer's certificate was not issued by a trusted CA (NRCA-accredited, AATL member or the platform's own CA)",
)
REVOKED: Problem = ("ใบรับรองของผู้ลงนามถูกเพิกถอนแล้ว", "the signer's certificate has been revoked")
REVOCATION_UNKNOWN: Problem = (
    "ตรวจสอบสถานะการเพิกถอนใบรับรองไม่ได้ในขณะนี้ โปรดลองใหม่ภายหลัง",
    "the certificate's revocation status could not be checked; try again later",
)
EXPIRED: Problem = (
    "ใบรับรองของผู้ลงนามหมดอายุหรือยังไม่มีผล ณ เวลาที่ตรวจสอบ",
    "the signer's certificate is expired or not yet valid at the validation time",
)
KEY_USAGE: Problem = (
    "ใบรับรองของผู้ลงนามไม่ได้มีไว้สำหรับลงนามเอกสาร",
    "the signer's certificate is not meant for signing documents",
)
WEAK_ALGORITHM: Problem = (
    "ลายมือชื่อใช้อัลกอริทึมที่ไม่ปลอดภัยแล้ว", "the signature uses an algorithm that is no longer safe"
)
MODIFIED: Problem = (
    "เอกสารถูกแก้ไขหลังการลงนาม (เพิ่มหน้า เนื้อหา หรือหมายเหตุ)",
    "the document was changed after it was signed (pages, content or annotations added)",
)
PARTIAL: Problem = (
    "ลายมือชื่อไม่ได้ครอบคลุมเนื้อหาทั้งหมดของเอกสาร",
    "the signature does not cover the whole document",
)
UNTRUSTED_TIMESTAMP: Problem = (
    "ตราประทับเวลา (time stamp) บนลายมือชื่อไม่ถูกต้องหรือออกโดยผู้ให้บริการที่ไม่เชื่อถือ",
    "the time stamp on the signature is not valid or comes from an untrusted time-stamp authority",
)
UNREADABLE_SIGNATURE: Problem = (
    "อ่านลายมือชื่อดิจิทัลในเอกสารไม่ได้", "a digital signature in the document cannot be read"
)


@dataclass(frozen=True)
class SignatureReport:
    """One signature of a document, as checked."""

    field_name: str
    signer: str  # the signer certificate's common name (or organisation)
    signer_subject: str  # the full subject, human-readable
    signed_at: datetime | None  # from a trusted timestamp if any, else as the signer claims
    timestamped: bool
    intact: bool  # the signed bytes are unchanged
    signature_ok: bool  # the signature value verifies with the certificate
    trusted: bool  # the certificate chains to a trust root (revocation as configured)
    certified: bool  # a certification (DocMDP) signature
    modification_level: str  # none | lta_updates | form_filling | annotations | other | unknown
    modified_after_signing: bool
    valid: bool
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class VerificationResult:
    """The verdict on a document's signatures.

    ``valid`` is True only when the document has at least one signature and
    every signature is intact, cryptographically valid, trusted and not
    followed by disallowed changes.  ``signer``/``signed_at`` describe the
    first (original) signature; ``signatures`` has every one.
    """

    valid: bool
    intact: bool
    trusted: bool
    signer: str
    signed_at: datetime | None
    modified_after_signing: bool
    problems: list[Problem] = field(default_factory=list)
    signatures: list[SignatureReport] = field(default_factory=list)


def trust_problems(status: Any) -> list[Problem]:
    from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate

    indic = status.trust_problem_indic
    if indic is None:
        return [UNTRUSTED]
    if indic in (AdESIndeterminate.REVOKED_NO_POE, AdESIndeterminate.REVOKED_CA_NO_POE) or (
        indic == AdESFailure.REVOKED
    ):
        return [REVOKED]
    if indic in (AdESIndeterminate.TRY_LATER, AdESIndeterminate.REVOCATION_OUT_OF_BOUNDS_NO_POE):
        return [REVOCATION_UNKNOWN]
    if indic in (
        AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
        AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
        AdESIndeterminate.EXPIRED,
        AdESIndeterminate.NOT_YET_VALID,
        AdESFailure.NOT_YET_VALID,
    ):
        return [EXPIRED]
    if indic in (AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
                 AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE):
        return [WEAK_ALGORITHM]
    if indic == AdESIndeterminate.SIG_CONSTRAINTS_FAILURE:
        return [KEY_USAGE]
    return [UNTRUSTED]
