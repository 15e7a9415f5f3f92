"""The built-in texts of a referral (RC-2): the notice to the applicant and the
referral letter, and which of them is in force for a service.

Every service can be referred (:func:`eservice.referral.refer`).  The platform
brings its own notice and letter, in Thai and English, so that a definition
needs to declare nothing; a definition overrides either by declaring

* ``notifications.referred`` — the notice (same context as every notification,
  plus ``referral``: ``to``, ``agency``, ``contact``, ``note``), and/or
* ``outputs.letters`` with id ``referral_letter`` — the letter (same context as
  every letter; ``input`` holds ``referred_to``, ``referred_to_agency``,
  ``contact`` and ``note``).

``eservice check`` prints which one is in force (:func:`describe`).

The default letter (:mod:`eservice.outputs.referral_letter`) is
``renderers/templates/pdf/referral_letter.html``: it is rendered, signed and
stored by :mod:`eservice.outputs` like every other letter.
"""
from __future__ import annotations

from typing import Any

from .outputs.referral_letter import LETTER_ID, letter_for
from .spec.models import Notification

__all__ = ["DEFAULT_NOTICE", "LETTER_ID", "NOTICE_ID", "describe", "in_force", "letter_for", "notice_for"]

NOTICE_ID = "referred"

DEFAULT_NOTICE = Notification(
    subject={
        "th": "คำขอ {{ application.reference }} ส่งต่อไปยัง {{ referral.to }}",
        "en": "Application {{ application.reference }} referred to {{ referral.to }}",
    },
    body={
        "th": (
            "เรียน {{ applicant.name or 'ผู้ยื่นคำขอ' }}\n\n"
            "คำขอ{{ service.title.th }} ของท่าน (เลขรับที่ {{ application.intake_number }} "
            "รหัสติดตาม {{ application.reference }}) ไม่อยู่ในอำนาจหน้าที่ของ{{ agency.name.th }}\n\n"
            "หน่วยงานที่รับผิดชอบ: {{ referral.to }}\n"
            "ติดต่อ: {{ referral.contact }}\n"
            "{% if referral.note %}หมายเหตุจากเจ้าหน้าที่: {{ referral.note }}\n{% endif %}"
            "\nกรุณาติดต่อหน่วยงานดังกล่าวโดยตรง หนังสือแจ้งหน่วยงานที่รับผิดชอบแนบมากับอีเมลนี้ (เมื่อออกหนังสือแล้ว)\n"
            "ดูสถานะคำขอได้ที่: {{ tracking_url }}\n"
            "สอบถาม: {{ agency.name.th }} โทร {{ agency.phone }}\n"
        ),
        "en": (
            "Dear {{ applicant.name or 'applicant' }},\n\n"
            "Your application ({{ service.title.en }}, intake number {{ application.intake_number }}, "
            "tracking code {{ application.reference }}) is not a matter for {{ agency.name.en }}.\n\n"
            "Responsible agency: {{ referral.to }}\n"
            "Contact: {{ referral.contact }}\n"
            "{% if referral.note %}Note from the officer: {{ referral.note }}\n{% endif %}"
            "\nPlease contact that agency directly. The referral letter is attached when one was issued.\n"
            "Application status: {{ tracking_url }}\n"
            "Questions: {{ agency.name.en }}, telephone {{ agency.phone }}\n"
        ),
    },
)

def notice_for(service: Any) -> tuple[Notification, bool]:
    """``(notice, declared)``: the definition's ``notifications.referred``, else the platform's."""
    found = service.definition.notifications.get(NOTICE_ID)
    return (found, True) if found is not None else (DEFAULT_NOTICE, False)


def in_force(service: Any) -> dict[str, str]:
    """``{"notice": "declared" | "default", "letter": …}``."""
    return {"notice": "declared" if notice_for(service)[1] else "default",
            "letter": "declared" if letter_for(service)[1] else "default"}


def describe(service: Any) -> str:
    """One line (Thai / English) for ``eservice check``: which referral texts are in force."""
    which = in_force(service)
    th = {"declared": "ของนิยามบริการ", "default": "ค่าเริ่มต้นของระบบ"}
    en = {"declared": "declared by the definition", "default": "platform default"}
    return (f"{service.id}: การส่งต่อคำขอ (RC-2) ข้อความแจ้งผู้ยื่น = {th[which['notice']]}"
            f"{' (notifications.referred)' if which['notice'] == 'declared' else ''}, "
            f"หนังสือแจ้งหน่วยงานที่รับผิดชอบ = {th[which['letter']]}"
            f"{' (outputs.letters.referral_letter)' if which['letter'] == 'declared' else ''} / "
            f"referral (RC-2): notice = {en[which['notice']]}, letter = {en[which['letter']]}")
