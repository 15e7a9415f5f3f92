"""Thai QR Code payloads (A-P3): bill payment (tag 30) and PromptPay (tag 29).

The payload follows the EMVCo merchant-presented QR format as Thai banks read
it: each field is ``ID`` (2 digits) + length (2 digits) + value, and the last
field, tag 63, is the CRC-16/CCITT-FALSE (polynomial 0x1021, start 0xFFFF)
of everything before it, including ``"6304"``.

* **Bill payment** (agencies with a biller ID): tag 30 holds the AID
  ``A000000677010112``, the biller ID (sub-tag 01), reference 1 (02) and
  reference 2 (03).
* **PromptPay** (agencies without one): tag 29 holds the AID
  ``A000000677010111`` and the agency's PromptPay id: a mobile number
  (sub-tag 01, as ``0066`` + 9 digits) or a 13-digit tax id (02).  PromptPay
  has no reference fields, so reference 1 and 2 go in tag 62 (sub-tags 01
  "bill number" and 05 "reference label") for the bank to report back.

Both carry tag 53 currency ``764`` (baht), tag 54 the amount with two
decimals, tag 58 country ``TH``; tag 01 is ``12`` (a dynamic code, one
payment).  :func:`parse` reads a payload back into its fields (tests, the bank
simulator) and checks the CRC.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["BILL_PAYMENT_AID", "PROMPTPAY_AID", "QrError", "QrPayment", "bill_payment", "crc16", "parse",
           "png", "promptpay", "svg_data_uri", "tlv"]

BILL_PAYMENT_AID = "A000000677010112"
PROMPTPAY_AID = "A000000677010111"
_REF = re.compile(r"^[A-Z0-9]{1,20}$")
_BILLER = re.compile(r"^[0-9]{15}$")


class QrError(ValueError):
    """A payload that cannot be made or read (the message says why, Thai and English)."""

    def __init__(self, th: str, en: str):
        super().__init__(en)
        self.th, self.en = th, en


def crc16(data: str) -> str:
    """CRC-16/CCITT-FALSE of *data* (UTF-8) as 4 upper-case hex digits
    (``crc16("123456789") == "29B1"``)."""
    crc = 0xFFFF
    for byte in data.encode("utf-8"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return f"{crc:04X}"


def tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise QrError(f"ข้อมูลช่อง {tag} ยาวเกิน 99 ตัวอักษร", f"field {tag} is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def _amount(amount: Any) -> str:
    if isinstance(amount, float):
        raise TypeError("money must be a Decimal or a string, not a float")
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    if value <= 0:
        raise QrError("จำนวนเงินต้องมากกว่า 0", "the amount must be more than 0")
    return f"{value:.2f}"


def _ref(value: str, which: str) -> str:
    if not _REF.match(value or ""):
        raise QrError(f"{which} ต้องเป็นตัวอักษร A-Z หรือตัวเลข ไม่เกิน 20 ตัว",
                      f"{which} must be 1-20 characters A-Z or 0-9")
    return value


def _finish(fields: list[str]) -> str:
    body = "".join(fields) + "6304"
    return body + crc16(body)


def bill_payment(biller_id: str, ref1: str, ref2: str, amount: Any) -> str:
    """A Thai QR bill-payment payload (tag 30)."""
    if not _BILLER.match(biller_id or ""):
        raise QrError("รหัสผู้เรียกเก็บเงิน (Biller ID) ต้องเป็นตัวเลข 15 หลัก",
                      "the biller ID must be 15 digits")
    merchant = tlv("00", BILL_PAYMENT_AID) + tlv("01", biller_id) + tlv("02", _ref(ref1, "ref1")) + \
        tlv("03", _ref(ref2, "ref2"))
    return _finish([tlv("00", "01"), tlv("01", "12"), tlv("30", merchant), tlv("53", "764"),
                    tlv("54", _amount(amount)), tlv("58", "TH")])


def promptpay_target(promptpay_id: str) -> tuple[str, str]:
    """``(sub-tag, value)`` of a PromptPay id: a 10-digit mobile number or a 13-digit tax id."""
    digits = re.sub(r"[^0-9]", "", promptpay_id or "")
    if len(digits) == 10 and digits.startswith("0"):
        return "01", "0066" + digits[1:]
    if len(digits) == 13:
        return "02", digits
    raise QrError("พร้อมเพย์ต้องเป็นเบอร์มือถือ 10 หลัก หรือเลขประจำตัวผู้เสียภาษี 13 หลัก",
                  "a PromptPay id is a 10-digit mobile number or a 13-digit tax id")


def promptpay(promptpay_id: str, ref1: str, ref2: str, amount: Any) -> str:
    """A PromptPay payload (tag 29), the references in tag 62."""
    sub, value = promptpay_target(promptpay_id)
    merchant = tlv("00", PROMPTPAY_AID) + tlv(sub, value)
    extra = tlv("01", _ref(ref1, "ref1")) + tlv("05", _ref(ref2, "ref2"))
    return _finish([tlv("00", "01"), tlv("01", "12"), tlv("29", merchant), tlv("53", "764"),
                    tlv("54", _amount(amount)), tlv("58", "TH"), tlv("62", extra)])


@dataclass(frozen=True)
class QrPayment:
    """A payload read back: what a bank app would pay."""

    kind: str  # "bill_payment" | "promptpay"
    fields: Mapping[str, str]  # top-level tag -> value
    target: Mapping[str, str]  # sub-tags of tag 30 or 29
    ref1: str
    ref2: str
    amount: str
    biller_id: str | None = None
    promptpay_id: str | None = None


def _split(data: str) -> dict[str, str]:
    out: dict[str, str] = {}
    i = 0
    while i < len(data):
        if i + 4 > len(data):
            raise QrError("ข้อมูล QR ไม่ครบ", "the QR payload is truncated")
        tag, size = data[i:i + 2], data[i + 2:i + 4]
        if not size.isdigit():
            raise QrError("ข้อมูล QR ผิดรูปแบบ", f"bad length at position {i}")
        value = data[i + 4:i + 4 + int(size)]
        if len(value) != int(size):
            raise QrError("ข้อมูล QR ไม่ครบ", "the QR payload is truncated")
        out[tag] = value
        i += 4 + int(size)
    return out


def parse(payload: str) -> QrPayment:
    """Read a payload back; raise QrError on a bad CRC or an unknown kind."""
    if len(payload) < 8 or payload[-8:-4] != "6304" or crc16(payload[:-4]) != payload[-4:].upper():
        raise QrError("รหัสตรวจสอบ (CRC) ของ QR ไม่ถูกต้อง", "the QR payload's CRC does not match")
    fields = _split(payload)
    if "30" in fields:
        target = _split(fields["30"])
        if target.get("00") != BILL_PAYMENT_AID:
            raise QrError("ไม่ใช่ QR ชำระบิล", "not a bill-payment QR code")
        return QrPayment("bill_payment", fields, target, target.get("02", ""), target.get("03", ""),
                         fields.get("54", ""), biller_id=target.get("01"))
    if "29" in fields:
        target = _split(fields["29"])
        if target.get("00") != PROMPTPAY_AID:
            raise QrError("ไม่ใช่ QR พร้อมเพย์", "not a PromptPay QR code")
        extra = _split(fields.get("62", ""))
        ident = target.get("01") or target.get("02") or target.get("03") or ""
        return QrPayment("promptpay", fields, target, extra.get("01", ""), extra.get("05", ""),
                         fields.get("54", ""), promptpay_id=ident)
    raise QrError("ไม่ใช่ QR ชำระเงินที่รู้จัก", "not a known payment QR code")


def for_agency(agency: Any, ref1: str, ref2: str, amount: Any) -> str | None:
    """The payload for an agency: bill payment with its ``biller_id``, else
    PromptPay with its ``promptpay_id``; None when it has neither."""
    biller = getattr(agency, "biller_id", None)
    if biller:
        return bill_payment(biller, ref1, ref2, amount)
    pp = getattr(agency, "promptpay_id", None)
    if pp:
        return promptpay(pp, ref1, ref2, amount)
    return None


def _qr(payload: str):
    import segno

    return segno.make(payload, error="m", micro=False)


def png(payload: str, scale: int = 6) -> bytes:
    """The QR code as a PNG image (segno), with the quiet zone banks' scanners expect."""
    import io

    out = io.BytesIO()
    _qr(payload).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def svg_data_uri(payload: str) -> str:
    """The QR code as an SVG ``data:`` URL (for pages and PDFs)."""
    return _qr(payload).svg_data_uri(border=4, dark="#000", scale=4)


__all__ += ["for_agency", "promptpay_target"]
