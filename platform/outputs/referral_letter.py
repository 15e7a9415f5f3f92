"""The platform's own referral letter (RC-2; see :mod:`eservice.referral_texts`).

A service that declares no letter ``referral_letter`` in ``outputs.letters``
issues this one when it refers an application: the template
``renderers/templates/pdf/referral_letter.html`` (Thai, then English), rendered,
signed and stored by :class:`eservice.outputs.Outputs` like every other letter.
Its ``input``: ``referred_to``, ``referred_to_agency``, ``contact``, ``note``.
"""
from __future__ import annotations

from typing import Any

from ..renderers.pdf import PDF_TEMPLATE_DIR
from ..spec.models import Letter

__all__ = ["DEFAULT_LETTER", "LETTER_ID", "SAMPLE_INPUT", "builtin_output", "letter_for"]

LETTER_ID = "referral_letter"

DEFAULT_LETTER = Letter(
    id=LETTER_ID,
    title={"th": "หนังสือแจ้งหน่วยงานที่รับผิดชอบ", "en": "Letter naming the responsible agency"},
    template=str(PDF_TEMPLATE_DIR / "referral_letter.html"),
)

# What `eservice check` gives a declared referral letter's template as ``input``.
SAMPLE_INPUT = {"referred_to": "สำนักงานเขตตัวอย่าง", "referred_to_agency": "", "contact": "02-000-0000",
                "note": "ตัวอย่างหมายเหตุ"}


def letter_for(service: Any) -> tuple[Letter, bool]:
    """``(letter, declared)``: the definition's letter ``referral_letter``, else the platform's."""
    found = next((x for x in service.definition.outputs.letters if x.id == LETTER_ID), None)
    return (found, True) if found is not None else (DEFAULT_LETTER, False)


def builtin_output(output_id: str) -> Letter | None:
    """The platform's own output of that id (for titles of issued documents), or None."""
    return DEFAULT_LETTER if output_id == LETTER_ID else None
