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
import re
from zoneinfo import ZoneInfo

__all__ = [
    "BE_OFFSET", "STYLES", "THAI_MONTHS", "THAI_MONTHS_SHORT", "EN_MONTHS", "EN_MONTHS_SHORT",
    "be_year", "ce_year", "parse_date", "read_typed_date", "typed_parts", "DateInputError", "BE_RANGE", "CE_RANGE", "format_date", "format_datetime", "thai_digits",
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


#: the years a typed date may have (issue #10 item 6): Buddhist Era, or Gregorian
BE_RANGE = (2400, 2700)
CE_RANGE = (BE_RANGE[0] - BE_OFFSET, BE_RANGE[1] - BE_OFFSET)  # 1857–2157


_ARABIC_OF_THAI = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")  # ๓๑/๐๑/๒๕๗๐ is read too


class DateInputError(ValueError):
    """A typed date that cannot be read, with the reason in Thai and English."""

    def __init__(self, th: str, en: str):
        super().__init__(en)
        self.th, self.en = th, en


def read_typed_date(raw: str) -> dt.date:
    """The date a person typed: ``dd/mm/yyyy`` (also ``-`` or ``.`` between) or
    ISO ``yyyy-mm-dd``.  A year in BE_RANGE is Buddhist Era (what Thai readers
    type), a year in CE_RANGE is Gregorian (English); the two never overlap, so
    31/01/2570 and 31/01/2027 are the same day.  Any other year is refused::

        >>> read_typed_date("31/01/2570")
        datetime.date(2027, 1, 31)
    """
    text = str(raw).strip().translate(_ARABIC_OF_THAI)
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    typed = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    if iso:
        year, month, day = map(int, iso.groups())
    elif typed:
        day, month, year = map(int, typed.groups())
    else:
        raise DateInputError("พิมพ์วันที่เป็น วัน/เดือน/ปี เช่น 31/01/2570",
                             "type the date as day/month/year, e.g. 31/01/2027")
    if BE_RANGE[0] <= year <= BE_RANGE[1]:
        year -= BE_OFFSET
    elif not CE_RANGE[0] <= year <= CE_RANGE[1]:
        raise DateInputError(
            f"ปี {year} อยู่นอกช่วงที่รับได้: ใช้ปี พ.ศ. {BE_RANGE[0]}–{BE_RANGE[1]} (หรือ ค.ศ. {CE_RANGE[0]}–{CE_RANGE[1]})",
            f"the year {year} is out of range: use {CE_RANGE[0]}–{CE_RANGE[1]} "
            f"(or Buddhist Era {BE_RANGE[0]}–{BE_RANGE[1]})")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise DateInputError("ต้องเป็นวันที่ที่มีอยู่จริง (ไม่มีวันนี้ในปฏิทิน)",
                             "must be a real date (there is no such day in the calendar)") from None


def typed_parts(value: object, lang: str = "th") -> tuple[str, str, str]:
    """(day, month, year) to show in the date widget: a stored ISO date with the
    Buddhist-Era year in Thai and the Gregorian year in English; what was typed
    (``d/m/y``) as typed."""
    if value is None or value == "":
        return "", "", ""
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            return "", "", text
        return str(day.day), str(day.month), str(be_year(day) if lang == "th" else day.year)
    parts = re.split(r"[/.-]", text)
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    return "", "", text


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
