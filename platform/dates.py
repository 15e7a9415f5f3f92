"""Dates as Thai and English readers expect them (ARCHITECTURE "Text").

Pure functions, no I/O: a core module, so the engine (intake numbers in the
Buddhist Era), mail and pages share one set of rules; :mod:`eservice.renderers.dates`
re-exports it for templates.  Stored dates are ISO; on screen, Thai shows the
Buddhist Era (พ.ศ. = Gregorian year + 543) with Thai month names and Arabic
digits, English shows the Gregorian date::

    >>> format_date(date(2023, 1, 23), "th")
    '23 ม.ค. 2566'
    >>> format_date(date(2023, 1, 23), "th", long=True)
    '23 มกราคม พ.ศ. 2566'
    >>> format_date(date(2023, 1, 23), "en")
    '23 Jan 2023'

Official documents (the PDFs) print the long form without "พ.ศ." and a
fuller time: ``style="document"``::

    >>> format_date(date(2023, 1, 23), "th", long=True, style="document")
    '23 มกราคม 2566'
    >>> format_datetime(datetime(2023, 1, 23, 1, 30, tzinfo=timezone.utc), "th", long=True, style="document")
    '23 มกราคม 2566 เวลา 08:30 น.'
    >>> format_datetime(datetime(2023, 1, 23, 1, 30, tzinfo=timezone.utc), "en", long=True, style="document")
    '23 January 2023, 08:30 (UTC+07:00)'

Instants (aware datetimes) are shown in Asia/Bangkok time.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

__all__ = [
    "BE_OFFSET", "STYLES", "THAI_MONTHS", "THAI_MONTHS_SHORT", "EN_MONTHS", "EN_MONTHS_SHORT",
    "be_year", "ce_year", "parse_date", "format_date", "format_datetime", "thai_digits",
]

BE_OFFSET = 543
#: ``screen`` for web pages and messages, ``document`` for official documents (PDFs).
STYLES = ("screen", "document")
BANGKOK = ZoneInfo("Asia/Bangkok")

THAI_MONTHS = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)
THAI_MONTHS_SHORT = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)
EN_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
EN_MONTHS_SHORT = tuple(m[:3] for m in EN_MONTHS)

_THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")


def be_year(value: dt.date | int) -> int:
    """The Buddhist-Era year of a date or of a Gregorian year: 2023 → 2566."""
    year = value if isinstance(value, int) else value.year
    return year + BE_OFFSET


def ce_year(be: int) -> int:
    """The Gregorian year of a Buddhist-Era year: 2566 → 2023."""
    return be - BE_OFFSET


def thai_digits(text: str) -> str:
    """Arabic digits as Thai digits ("2566" → "๒๕๖๖"), for documents that want them."""
    return str(text).translate(_THAI_DIGITS)


def parse_date(value: dt.date | dt.datetime | str | None) -> dt.date | dt.datetime | None:
    """An ISO string (``2023-01-23`` or ``2023-01-23T01:30:00+00:00``) as a date or
    datetime; dates and datetimes pass through; None and '' give None."""
    if value is None or value == "":
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value
    text = str(value).strip()
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _local(value: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    return value.astimezone(tz) if value.tzinfo is not None else value


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, not {style!r}")


def format_date(value: dt.date | dt.datetime | str | None, lang: str = "th", *, long: bool = False,
                style: str = "screen", tz: dt.tzinfo = BANGKOK) -> str:
    """A date for people.  Thai: ``23 ม.ค. 2566`` (``long``: ``23 มกราคม พ.ศ. 2566``,
    or ``23 มกราคม 2566`` with ``style="document"``); English: ``23 Jan 2023``
    (``long``: ``23 January 2023``).  A datetime is first moved to ``tz``.
    None gives ''."""
    _check_style(style)
    value = parse_date(value)
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _local(value, tz).date()
    if lang == "en":
        month = (EN_MONTHS if long else EN_MONTHS_SHORT)[value.month - 1]
        return f"{value.day} {month} {value.year}"
    if long:
        era = "" if style == "document" else "พ.ศ. "
        return f"{value.day} {THAI_MONTHS[value.month - 1]} {era}{be_year(value)}"
    return f"{value.day} {THAI_MONTHS_SHORT[value.month - 1]} {be_year(value)}"


def format_datetime(value: dt.datetime | str | None, lang: str = "th", *, long: bool = False,
                    style: str = "screen", tz: dt.tzinfo = BANGKOK) -> str:
    """An instant in Bangkok time.  Thai: ``23 ม.ค. 2566 08:30 น.``; English:
    ``23 Jan 2023, 08:30``.  ``style="document"``: ``23 มกราคม 2566 เวลา 08:30 น.``
    and ``23 January 2023, 08:30 (UTC+07:00)`` (with ``long``).  A plain date is
    shown as a date."""
    _check_style(style)
    value = parse_date(value)
    if value is None:
        return ""
    if not isinstance(value, dt.datetime):
        return format_date(value, lang, long=long, style=style)
    local = _local(value, tz)
    day = format_date(local.date(), lang, long=long, style=style)
    if style == "document":
        if lang == "en":
            offset = local.strftime("%z")
            zone = f" (UTC{offset[:3]}:{offset[3:]})" if offset else ""
            return f"{day}, {local:%H:%M}{zone}"
        return f"{day} เวลา {local:%H:%M} น."
    if lang == "en":
        return f"{day}, {local:%H:%M}"
    return f"{day} {local:%H:%M} น."
