"""Thai identification numbers (national id, juristic person id) and telephone numbers.

Core rules, used by the expression function ``thai_id_valid``
(:mod:`eservice.expr`), the account profile (:mod:`eservice.auth`) and the
``thai_national_id`` / ``thai_juristic_id`` / ``thai_phone`` field types of the
first-party plugin :mod:`eservice.plugins.thai_validators`, which imports them
from here: plugins import the core, never the other way round.

The checksum (both for people and for juristic persons registered by the
Department of Business Development, whose number is also their tax id):
multiply the first twelve digits by 13, 12, …, 2, add them up, and the last
digit is ``(11 - sum % 11) % 10``.  Public examples that satisfy it:
PTT Public Company Limited 0107544000108, CP ALL 0107542000011.
"""
from __future__ import annotations

import re
from typing import Any

from .plugin_api import Message

__all__ = [
    "THAI_TO_ASCII_DIGITS",
    "check_juristic_id",
    "check_thai_id",
    "check_thai_phone",
    "is_mobile",
    "is_valid_juristic_id",
    "is_valid_thai_id",
    "is_valid_thai_phone",
    "normalize_juristic_id",
    "normalize_thai_id",
    "normalize_thai_phone",
    "thai_id_check_digit",
]

# Characters people type between groups of digits.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015.]+")
# Thai digits ๐–๙ are accepted and read as 0–9 (``text.translate(THAI_TO_ASCII_DIGITS)``);
# the platform's one table for this.
THAI_TO_ASCII_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")


def thai_id_check_digit(first12: str) -> int:
    """The 13th digit for twelve digits (national id and juristic id alike)."""
    if len(first12) != 12 or not first12.isascii() or not first12.isdigit():
        raise ValueError("need exactly 12 ASCII digits")
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return (11 - total % 11) % 10


def _compact(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    return _SEPARATORS.sub("", value.strip().translate(THAI_TO_ASCII_DIGITS))


def _check_13(value: Any, code: str, what_th: str, what_en: str) -> list[Message]:
    digits = _compact(value)
    if digits is None or digits == "":
        return [
            Message(
                f"{code}.required",
                f"กรุณากรอก{what_th} 13 หลัก",
                f"Enter the 13-digit {what_en}",
            )
        ]
    if not (digits.isascii() and digits.isdigit()):
        return [
            Message(
                f"{code}.not_digits",
                f"{what_th}ต้องเป็นตัวเลขเท่านั้น (เว้นวรรคหรือขีดคั่นได้)",
                f"The {what_en} must contain only digits (spaces and dashes are allowed)",
            )
        ]
    if len(digits) != 13:
        return [
            Message(
                f"{code}.length",
                f"{what_th}ต้องมี 13 หลัก แต่กรอกมา {len(digits)} หลัก",
                f"The {what_en} must have 13 digits; you entered {len(digits)}",
            )
        ]
    if thai_id_check_digit(digits[:12]) != int(digits[12]):
        return [
            Message(
                f"{code}.checksum",
                f"{what_th}ไม่ถูกต้อง (เลขตรวจสอบหลักสุดท้ายไม่ตรง) กรุณาตรวจสอบว่ากรอกครบและถูกต้อง",
                f"This {what_en} is not valid (the check digit does not match); "
                "check for a mistyped digit",
            )
        ]
    return []


def check_thai_id(value: Any) -> list[Message]:
    """Problems with a national id number (เลขประจำตัวประชาชน); empty when valid."""
    return _check_13(value, "thai_id", "เลขประจำตัวประชาชน", "national ID number")


def is_valid_thai_id(value: Any) -> bool:
    return not check_thai_id(value)


def normalize_thai_id(value: Any) -> str:
    """``"1-2345-67890-12-1"`` → ``"1234567890121"``; ValueError when invalid."""
    messages = check_thai_id(value)
    if messages:
        raise ValueError(messages[0].en)
    return _compact(value)  # type: ignore[return-value]


def check_juristic_id(value: Any) -> list[Message]:
    """Problems with a juristic person registration number (เลขทะเบียนนิติบุคคล).

    The number is 0-XX-X-XXX-XXXXX-X: a leading 0, the registering office, the
    kind of juristic person, the Buddhist-Era year, a running number and the
    same check digit as the national id.
    """
    what_th, what_en = "เลขทะเบียนนิติบุคคล", "juristic person registration number"
    messages = _check_13(value, "juristic_id", what_th, what_en)
    if messages:
        return messages
    if _compact(value)[0] != "0":  # type: ignore[index]
        return [
            Message(
                "juristic_id.prefix",
                f"{what_th}ต้องขึ้นต้นด้วยเลข 0 (เลขที่ขึ้นต้นด้วย 1–8 เป็นเลขประจำตัวประชาชน)",
                f"A {what_en} starts with 0 (a number starting with 1–8 is a "
                "personal national ID number)",
            )
        ]
    return []


def is_valid_juristic_id(value: Any) -> bool:
    return not check_juristic_id(value)


def normalize_juristic_id(value: Any) -> str:
    messages = check_juristic_id(value)
    if messages:
        raise ValueError(messages[0].en)
    return _compact(value)  # type: ignore[return-value]


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
