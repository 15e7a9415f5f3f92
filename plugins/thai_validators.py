"""Thai identification numbers and telephone numbers.

Field types: ``thai_national_id`` (เลขประจำตัวประชาชน), ``thai_juristic_id``
(เลขทะเบียนนิติบุคคล) and ``thai_phone`` (หมายเลขโทรศัพท์).  The checks are also
usable directly: :func:`is_valid_thai_id`, :func:`is_valid_juristic_id`,
:func:`is_valid_thai_phone` and the ``normalize_*`` / ``check_*`` functions.

The checks themselves (the 13-digit numbers with their checksum, and telephone
numbers) are the core's, in :mod:`eservice.thai_ids`, which the account profile
and expressions use too; this plugin re-exports them and adds the field types.
"""
from __future__ import annotations

from eservice.plugin_api import FieldType, hookimpl
from eservice.thai_ids import (
    THAI_TO_ASCII_DIGITS,
    check_juristic_id,
    check_thai_id,
    check_thai_phone,
    is_mobile,
    is_valid_juristic_id,
    is_valid_thai_id,
    is_valid_thai_phone,
    normalize_juristic_id,
    normalize_thai_id,
    normalize_thai_phone,
    thai_id_check_digit,
)

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
