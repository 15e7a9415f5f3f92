"""Thai identification numbers and telephone numbers.

Field types: ``thai_national_id`` (เลขประจำตัวประชาชน), ``thai_juristic_id``
(เลขทะเบียนนิติบุคคล) and ``thai_phone`` (หมายเลขโทรศัพท์).  The checks are also
usable directly: :func:`is_valid_thai_id`, :func:`is_valid_juristic_id`,
:func:`is_valid_thai_phone` and the ``normalize_*`` / ``check_*`` functions.

The 13-digit checks (national id and juristic id, with their checksum) are the
core's, in :mod:`eservice.thai_ids`; this plugin re-exports them and adds the
telephone numbers and the field types.
"""
from __future__ import annotations

import re
from typing import Any

from eservice.plugin_api import FieldType, Message, hookimpl
from eservice.thai_ids import (
    THAI_TO_ASCII_DIGITS,
    check_juristic_id,
    check_thai_id,
    is_valid_juristic_id,
    is_valid_thai_id,
    normalize_juristic_id,
    normalize_thai_id,
    thai_id_check_digit,
)

__all__ = [
    "THAI_TO_ASCII_DIGITS",
    "check_juristic_id",
    "check_thai_id",
    "check_thai_phone",
    "is_valid_juristic_id",
    "is_valid_thai_id",
    "is_valid_thai_phone",
    "normalize_juristic_id",
    "normalize_thai_id",
    "normalize_thai_phone",
    "thai_id_check_digit",
]


# --------------------------------------------------------------------------- #
# Telephone numbers
# --------------------------------------------------------------------------- #

# Mobile numbers: 06, 08, 09 and eight more digits.  Fixed lines: area codes
# 02 (Bangkok), 03x, 04x, 05x, 07x and seven more digits (nine in all).
_MOBILE = re.compile(r"0[689]\d{8}")
_LANDLINE = re.compile(r"0[23457]\d{7}")
_PHONE_JUNK = re.compile(r"[\s\-\u2010-\u2015.()/]+")


def _phone_digits(value: Any) -> str | None:
    """Digits of a phone number in national form (0…), or None if not text."""
    if not isinstance(value, str):
        return None
    text = value.strip().translate(THAI_TO_ASCII_DIGITS)
    text = text.replace("(0)", "")  # "+66 (0)81 234 5678"
    text = _PHONE_JUNK.sub("", text)
    for prefix in ("+66", "0066"):
        if text.startswith(prefix):
            # "+66 81…", and also the common slip "+66 081…"
            return "0" + text[len(prefix):].removeprefix("0")
    if text.startswith("66") and len(text) in (10, 11):  # "66812345678"
        return "0" + text[2:]
    return text


def check_thai_phone(value: Any) -> list[Message]:
    """Problems with a Thai phone number; empty when valid.

    Accepted: ``081 234 5678``, ``081-234-5678``, ``+66 81 234 5678``,
    ``+66812345678``, ``02-123-4567``, ``+66 2 123 4567``.
    """
    digits = _phone_digits(value)
    if not digits:
        return [
            Message(
                "thai_phone.required",
                "กรุณากรอกหมายเลขโทรศัพท์",
                "Enter a phone number",
            )
        ]
    if digits.startswith("+") and digits[1:].isascii() and digits[1:].isdigit():
        return [
            Message(
                "thai_phone.prefix",
                "รับเฉพาะหมายเลขโทรศัพท์ในประเทศไทย (ขึ้นต้นด้วย 0 หรือ +66)",
                "Only Thai phone numbers are accepted (starting with 0 or +66)",
            )
        ]
    if not (digits.isascii() and digits.isdigit()):
        return [
            Message(
                "thai_phone.not_digits",
                "หมายเลขโทรศัพท์ต้องเป็นตัวเลข (เว้นวรรค ขีดคั่น หรือขึ้นต้นด้วย +66 ได้)",
                "A phone number must contain only digits (spaces, dashes or a +66 "
                "prefix are allowed)",
            )
        ]
    if not digits.startswith("0"):
        return [
            Message(
                "thai_phone.prefix",
                "หมายเลขโทรศัพท์ต้องขึ้นต้นด้วย 0 หรือ +66",
                "A Thai phone number starts with 0 or +66",
            )
        ]
    if _MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits):
        return []
    if digits[:2] in ("06", "08", "09"):
        return [
            Message(
                "thai_phone.length",
                f"หมายเลขโทรศัพท์มือถือต้องมี 10 หลัก แต่กรอกมา {len(digits)} หลัก",
                f"A mobile number has 10 digits; you entered {len(digits)}",
            )
        ]
    if digits[:2] in ("02", "03", "04", "05", "07"):
        return [
            Message(
                "thai_phone.length",
                f"หมายเลขโทรศัพท์บ้าน/สำนักงานต้องมี 9 หลัก แต่กรอกมา {len(digits)} หลัก",
                f"A landline number has 9 digits; you entered {len(digits)}",
            )
        ]
    return [
        Message(
            "thai_phone.prefix",
            "หมายเลขโทรศัพท์ไม่ถูกต้อง: มือถือขึ้นต้นด้วย 06 08 หรือ 09 (10 หลัก) "
            "โทรศัพท์บ้านขึ้นต้นด้วย 02 03 04 05 หรือ 07 (9 หลัก)",
            "Not a Thai phone number: mobiles start with 06, 08 or 09 (10 digits), "
            "landlines with 02, 03, 04, 05 or 07 (9 digits)",
        )
    ]


def is_valid_thai_phone(value: Any) -> bool:
    return not check_thai_phone(value)


def normalize_thai_phone(value: Any) -> str:
    """``"+66 81 234 5678"`` → ``"0812345678"``; ValueError when invalid."""
    messages = check_thai_phone(value)
    if messages:
        raise ValueError(messages[0].en)
    return _phone_digits(value)  # type: ignore[return-value]


def is_mobile(value: Any) -> bool:
    """True for a valid Thai mobile number (SMS can reach it)."""
    digits = _phone_digits(value)
    return bool(digits and _MOBILE.fullmatch(digits))


# --------------------------------------------------------------------------- #
# Plugin hooks
# --------------------------------------------------------------------------- #

THAI_NATIONAL_ID = FieldType(
    name="thai_national_id",
    schema={"type": "string", "pattern": "^[0-9]{13}$"},
    validate=check_thai_id,
    normalize=normalize_thai_id,
    title={"th": "เลขประจำตัวประชาชน", "en": "National ID number"},
)

THAI_JURISTIC_ID = FieldType(
    name="thai_juristic_id",
    schema={"type": "string", "pattern": "^0[0-9]{12}$"},
    validate=check_juristic_id,
    normalize=normalize_juristic_id,
    title={"th": "เลขทะเบียนนิติบุคคล", "en": "Juristic person registration number"},
)

THAI_PHONE = FieldType(
    name="thai_phone",
    schema={"type": "string", "pattern": "^0(?:[689][0-9]{8}|[23457][0-9]{7})$"},
    validate=check_thai_phone,
    normalize=normalize_thai_phone,
    title={"th": "หมายเลขโทรศัพท์", "en": "Phone number"},
)


@hookimpl
def eservice_field_types() -> list[FieldType]:
    return [THAI_NATIONAL_ID, THAI_JURISTIC_ID, THAI_PHONE]
