"""The working calendar: office hours, Thai government holidays, intake and SLA time.

ARCHITECTURE "Time": the intake rule (RC-4) and all SLA arithmetic (A-R5, A-A6)
live here and nowhere else.

Conventions
-----------
* **Instants** are timezone-aware.  Every method that returns an instant returns
  it in **UTC** (``tzinfo=timezone.utc``); use :meth:`WorkingCalendar.to_local`
  to show it in the calendar's zone (Asia/Bangkok by default).  Naive datetimes
  are rejected with a ``ValueError`` (message in Thai and English).
* **Dates** (``datetime.date``) are calendar days in the calendar's zone.
  Passing a ``datetime`` where a date is expected is a ``TypeError``: convert
  with ``cal.to_local(dt).date()`` so the time zone is never guessed.
* **Office hours** are the half-open interval ``[start, end)`` of local wall
  time on a working day: a request sent at 16:30:00 is already outside hours.

Which days are days off
-----------------------
Thai public holidays and government holidays from the ``holidays`` package
(``holidays.country_holidays("TH", categories=(PUBLIC, GOVERNMENT))``):

* ``PUBLIC`` — the holidays under the Holidays Act, the in-lieu days
  (วันหยุดชดเชย) the package computes by rule, and the special days off the
  Cabinet declares (วันหยุดพิเศษ (เพิ่มเติม), "bridge" holidays, election days)
  which the package lists year by year.
* ``GOVERNMENT`` — the Royal Ploughing Ceremony (วันพืชมงคล), a day off for
  government offices only.

Not used: ``BANK`` (closing days of banks), ``ARMED_FORCES`` (Armed Forces
Day, military only), ``SCHOOL`` (Teacher's Day, Ministry of Education only),
``WORKDAY`` (national observances that are working days).

National Labour Day (1 May) and its in-lieu day are **removed**: it is a day
off for the private sector under labour law, not for government offices.

On top of that, each agency keeps its own list of extra days off (e.g. a
special holiday the Cabinet declares after this package was released, a
provincial day off) and of extra working days (a day the agency opens although
it would be closed).  An extra working day wins over every holiday and weekend.

The ``holidays`` package can only list Cabinet-declared special days off that
were known when it was released; for later years agencies add them to
``extra_holidays`` (and upgrading the package picks them up).

SLA due date (A-A6)
-------------------
:meth:`WorkingCalendar.due_at` follows the Civil and Commercial Code, ss. 193/3
and 193/8, as registry clerks apply it to periods counted in days: the first
day is **not** counted, unless the matter began at the start of office hours
that day; and the period ends at the close of office hours on the last day.
So with an SLA of N working days:

* received at the opening (08:30) of a working day — which is the case for every
  request sent outside office hours (RC-4) — the intake day is day 1 and the due
  instant is 16:30 on the N-th working day counting the intake day;
* received later during office hours, day 1 is the next working day and the due
  instant is 16:30 on the N-th working day after the intake day.

Example: sent Sunday 22 January 2023 21:33 → received Monday 23 January 08:30;
SLA 1 working day → due Monday 23 January 16:30.  Received Monday 10:00 instead
→ due Tuesday 24 January 16:30.

Office time is computed from real instants, so it is exact in any zone; only
for a zone with daylight saving whose change falls *inside* office hours would
a whole day in the middle of an interval be counted at its nominal length.

Time the application spends in a paused state (waiting for the applicant or for
payment) is added back as office time: see ``paused`` in :meth:`due_at`.
"""
from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Union
from zoneinfo import ZoneInfo

import holidays as _holidays
from holidays.constants import GOVERNMENT, PUBLIC

from .clock import BANGKOK, UTC, require_aware, to_utc

__all__ = [
    "OfficeHours",
    "WorkingCalendar",
    "HOLIDAY_CATEGORIES",
    "thai_government_holidays",
    "from_agency",
]

#: The categories of ``holidays`` Thailand that government offices observe.
HOLIDAY_CATEGORIES: tuple[str, ...] = (PUBLIC, GOVERNMENT)

_LABOUR_DAY_TH = "วันแรงงานแห่งชาติ"
_LABOUR_DAY_EN = ("labor day", "labour day")

_DEFAULT_EXTRA_NAME = ("วันหยุดของหน่วยงาน", "Agency day off")

_DAY_NAMES = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}

_LANGS = {"th": 0, "en": 1, "en_US": 1, "en-US": 1}

PausedInterval = tuple[datetime, Union[datetime, None]]


# --------------------------------------------------------------------- holidays
@lru_cache(maxsize=256)
def thai_government_holidays(year: int) -> Mapping[date, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Days off of Thai government offices in *year* from the ``holidays`` package.

    Returns ``{date: (thai_names, english_names)}``; several names when several
    holidays fall on one day.  Categories :data:`HOLIDAY_CATEGORIES`; National
    Labour Day and its in-lieu day removed.  Weekends are not included.
    Cached per year (the package takes milliseconds to build a year).
    """
    th = _holidays.country_holidays("TH", years=year, categories=HOLIDAY_CATEGORIES, language="th")
    en = _holidays.country_holidays("TH", years=year, categories=HOLIDAY_CATEGORIES, language="en_US")
    result: dict[date, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for day in sorted(th):
        th_names = tuple(n for n in th.get_list(day) if _LABOUR_DAY_TH not in n)
        if not th_names:
            continue  # only Labour Day (or its in-lieu day): a working day for government
        en_names = tuple(
            n for n in en.get_list(day) if not any(k in n.lower() for k in _LABOUR_DAY_EN)
        ) or th_names
        result[day] = (th_names, en_names)
    return MappingProxyType(result)


# ----------------------------------------------------------------- office hours
def _parse_time(value: time | str) -> time:
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError("office hours are local wall time: give a time without tzinfo")
        return value
    if isinstance(value, str):
        return time.fromisoformat(value)
    raise TypeError(f"expected a time or 'HH:MM', got {value!r}")


def _parse_weekday(value: int | str) -> int:
    if isinstance(value, str):
        key = value.strip().lower()[:3]
        if key not in _DAY_NAMES:
            raise ValueError(f"unknown weekday {value!r}")
        return _DAY_NAMES[key]
    if isinstance(value, int) and 0 <= value <= 6:
        return value
    raise ValueError(f"weekday must be 0 (Monday) … 6 (Sunday) or 'mon' … 'sun', got {value!r}")


@dataclass(frozen=True)
class OfficeHours:
    """When the agency is open: weekdays (0 = Monday … 6 = Sunday) and
    ``[start, end)`` in local wall time of *tz*.

    Default: Monday–Friday 08:30–16:30, Asia/Bangkok.  ``weekdays`` also accepts
    ``"mon"``…``"sun"``; ``start``/``end`` accept ``"HH:MM"``; ``tz`` accepts an
    IANA name.
    """

    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    start: time = time(8, 30)
    end: time = time(16, 30)
    tz: tzinfo = field(default=BANGKOK)

    def __post_init__(self) -> None:
        weekdays = frozenset(_parse_weekday(w) for w in self.weekdays)
        if not weekdays:
            raise ValueError("office hours need at least one weekday")
        start, end = _parse_time(self.start), _parse_time(self.end)
        if not start < end:
            raise ValueError(f"office hours: start {start} must be before end {end}")
        tz = ZoneInfo(self.tz) if isinstance(self.tz, str) else self.tz
        if not isinstance(tz, tzinfo):
            raise TypeError(f"tz must be a tzinfo or an IANA name, got {self.tz!r}")
        object.__setattr__(self, "weekdays", weekdays)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "tz", tz)

    @property
    def length(self) -> timedelta:
        """Length of an ordinary working day (wall-clock)."""
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)


# ------------------------------------------------------------------- per year
@dataclass(frozen=True)
class _Year:
    work: list[int]            # sorted ordinals of working days
    work_set: frozenset[int]   # the same, for membership


# -------------------------------------------------------------------- calendar
class WorkingCalendar:
    """Working days and office time of one agency.

    ``extra_holidays``: the agency's own days off, either a mapping
    ``{date: name}`` (name a Thai ``str``, a ``(thai, english)`` tuple, or an
    object with ``.th``/``.en``) or an iterable of dates, ``(date, name)`` pairs
    or objects with ``.date``/``.name`` (the agency config's ``DayOff``).
    ``extra_working_days``: days the agency is open although it would be closed;
    they override weekends and every holiday.

    Instances are immutable after construction and safe to share between
    threads; per-year lookups are cached inside the instance.
    """

    def __init__(
        self,
        office_hours: OfficeHours | None = None,
        extra_holidays: Mapping[date, Any] | Iterable[Any] = (),
        extra_working_days: Iterable[date] = (),
    ) -> None:
        self.office_hours = office_hours if office_hours is not None else OfficeHours()
        self.tz = self.office_hours.tz
        self._extra_off = _normalise_extra_holidays(extra_holidays)
        self._extra_work = frozenset(_require_date(d, "extra_working_days") for d in extra_working_days)
        both = sorted(self._extra_off.keys() & self._extra_work)
        if both:
            raise ValueError(
                "วันเดียวกันเป็นทั้งวันหยุดเพิ่มและวันทำการเพิ่ม / the same day is both an extra holiday "
                f"and an extra working day: {', '.join(d.isoformat() for d in both)}"
            )
        self._day_length = self.office_hours.length
        self._years: dict[int, _Year] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        oh = self.office_hours
        return (f"WorkingCalendar({sorted(oh.weekdays)} {oh.start:%H:%M}-{oh.end:%H:%M} {oh.tz}, "
                f"{len(self._extra_off)} extra holidays, {len(self._extra_work)} extra working days)")

    # ------------------------------------------------------------ year cache
    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._years.get(year)
            if cached is not None:
                return cached
            official = thai_government_holidays(year)
            weekdays = self.office_hours.weekdays
            work: list[int] = []
            first = date(year, 1, 1).toordinal()
            last = date(year, 12, 31).toordinal()
            for o in range(first, last + 1):
                d = date.fromordinal(o)
                if d in self._extra_work or (
                    d.weekday() in weekdays and d not in official and d not in self._extra_off
                ):
                    work.append(o)
            built = _Year(work=work, work_set=frozenset(work))
            self._years[year] = built
            return built

    # ------------------------------------------------------------ days
    def is_working_day(self, d: date) -> bool:
        """Is *d* a day the agency is open?"""
        _require_date(d)
        return d.toordinal() in self._year(d.year).work_set

    def holiday_name(self, d: date, lang: str = "th") -> str | None:
        """Name of the day off *d* in Thai (``"th"``) or English (``"en"``).

        ``None`` for working days (including extra working days and Labour
        Day) and for plain weekends.  Several names are joined with ", ".
        """
        _require_date(d)
        idx = _lang_index(lang)
        if self.is_working_day(d):
            return None
        names: list[str] = []
        extra = self._extra_off.get(d)
        if extra is not None:
            names.append(extra[idx])
        official = thai_government_holidays(d.year).get(d)
        if official is not None:
            names.extend(official[idx])
        return ", ".join(names) if names else None

    def holidays_in(self, year: int, lang: str = "th") -> list[tuple[date, str]]:
        """Every named day off in *year* (official and the agency's), in date order."""
        idx = _lang_index(lang)
        days = set(thai_government_holidays(year)) | {d for d in self._extra_off if d.year == year}
        out = []
        for d in sorted(days):
            name = self.holiday_name(d, ["th", "en"][idx])
            if name is not None:
                out.append((d, name))
        return out

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after *d*."""
        return self.add_working_days(d, 1)

    def add_working_days(self, start: date, n: int) -> date:
        """The date *n* working days after *start* (*start* itself is not
        counted, whether or not it is a working day).  ``n == 0`` returns
        *start*; negative *n* counts backwards."""
        _require_date(start, "start")
        if not isinstance(n, int):
            raise TypeError(f"n must be an int, got {type(n).__name__}")
        if n == 0:
            return start
        year = start.year
        o = start.toordinal()
        if n > 0:
            i = bisect_right(self._year(year).work, o)
            while True:
                work = self._year(year).work
                avail = len(work) - i
                if n <= avail:
                    return date.fromordinal(work[i + n - 1])
                n -= avail
                year += 1
                i = 0
                if year > 9999:
                    raise OverflowError("date out of range")
        else:
            n = -n
            i = bisect_left(self._year(year).work, o)
            while True:
                work = self._year(year).work
                if n <= i:
                    return date.fromordinal(work[i - n])
                n -= i
                year -= 1
                if year < 1:
                    raise OverflowError("date out of range")
                i = len(self._year(year).work)

    def working_days_between(self, a: date, b: date) -> int:
        """Number of working days in ``(a, b]`` — after *a*, up to and including *b*.

        The inverse of :meth:`add_working_days`:
        ``working_days_between(a, add_working_days(a, n)) == n``.  Negative
        when *b* is before *a*; 0 when equal.
        """
        _require_date(a, "a")
        _require_date(b, "b")
        if b < a:
            return -self.working_days_between(b, a)
        ao, bo = a.toordinal(), b.toordinal()
        total = 0
        for year in range(a.year, b.year + 1):
            work = self._year(year).work
            lo = bisect_right(work, ao) if year == a.year else 0
            hi = bisect_right(work, bo) if year == b.year else len(work)
            total += hi - lo
        return total

    # ------------------------------------------------------------ instants
    def to_local(self, instant: datetime) -> datetime:
        """*instant* in the calendar's time zone (for display)."""
        return require_aware(instant, "instant").astimezone(self.tz)

    def opening(self, d: date) -> datetime:
        """Opening instant of day *d* (UTC), whether or not *d* is a working day."""
        _require_date(d)
        return datetime.combine(d, self.office_hours.start, tzinfo=self.tz).astimezone(UTC)

    def closing(self, d: date) -> datetime:
        """Closing instant of day *d* (UTC), whether or not *d* is a working day."""
        _require_date(d)
        return datetime.combine(d, self.office_hours.end, tzinfo=self.tz).astimezone(UTC)

    def is_office_time(self, instant: datetime) -> bool:
        """Is the agency open at *instant*?"""
        loc = self.to_local(instant)
        d = loc.date()
        return self.is_working_day(d) and self.opening(d) <= instant < self.closing(d)

    def intake_time(self, sent: datetime) -> datetime:
        """RC-4: when a request sent at *sent* is received (UTC).

        During office hours of a working day: at once.  Otherwise: at the
        opening of the next working time — the same day's opening if sent
        before it on a working day, else the next working day's opening.
        Sunday 22 January 2023 21:33 Bangkok → Monday 23 January 2023 08:30.
        """
        utc = to_utc(sent, "sent")
        d = utc.astimezone(self.tz).date()
        if self.is_working_day(d):
            opening = self.opening(d)
            if utc < opening:
                return opening
            if utc < self.closing(d):
                return utc
        return self.opening(self.next_working_day(d))

    def working_time(
        self,
        start: datetime,
        end: datetime,
        paused: Iterable[PausedInterval] = (),
    ) -> timedelta:
        """Office time elapsed between *start* and *end*, excluding *paused*.

        *paused* is an iterable of ``(from, to)`` instants; ``to`` may be
        ``None`` for a pause still running, which then lasts until *end*.
        Pauses may overlap each other and may extend outside ``[start, end]``;
        only office time inside both counts.  ``timedelta(0)`` if *end* is not
        after *start*.
        """
        s = to_utc(start, "start")
        e = to_utc(end, "end")
        if e <= s:
            return timedelta(0)
        total = self._office_between(s, e)
        for p0, p1 in _merge_pauses(paused, s, e, open_end=e):
            total -= self._office_between(p0, p1)
        return total

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The instant (UTC) when *duration* of office time has passed after *start*.

        A *start* outside office hours first moves to the next opening (as
        :meth:`intake_time`).  Landing exactly on a closing returns that closing,
        not the next opening.
        """
        if not isinstance(duration, timedelta):
            raise TypeError("duration must be a timedelta")
        if duration < timedelta(0):
            raise ValueError("duration must not be negative")
        cur = self.intake_time(start)
        d = cur.astimezone(self.tz).date()
        left = self.closing(d) - cur
        if duration <= left:
            return cur + duration
        remaining = duration - left
        full_days, rest = divmod(remaining, self._day_length)
        if not rest:
            return self.closing(self.add_working_days(d, full_days))
        return self.opening(self.add_working_days(d, full_days + 1)) + rest

    def due_at(
        self,
        intake: datetime,
        working_days: int,
        paused: Iterable[PausedInterval] = (),
        now: datetime | None = None,
    ) -> datetime:
        """The SLA due instant (UTC): *working_days* working days after *intake*.

        Rule (Civil and Commercial Code ss. 193/3, 193/8): if the request was
        received at the opening of a working day (every request sent outside
        office hours is, by RC-4), that day is day 1; otherwise day 1 is the
        next working day.  Due at the closing of day *working_days*.

        *intake* is normalised with :meth:`intake_time` first, so either the
        sending or the receiving instant may be given.

        *paused*: intervals during which the SLA clock stood still (states
        marked ``sla: paused``).  The office time they cover, from intake up to
        the due instant, is added after the due instant (repeated until stable,
        since a longer deadline can take in a later pause).  A running pause
        ``(t, None)`` lasts until *now*, which must then be given.
        """
        if not isinstance(working_days, int) or working_days < 1:
            raise ValueError("working_days must be an int ≥ 1 / จำนวนวันทำการต้องไม่น้อยกว่า 1")
        received = self.intake_time(intake)
        d = received.astimezone(self.tz).date()
        if received == self.opening(d):
            last = self.add_working_days(d, working_days - 1)
        else:
            last = self.add_working_days(d, working_days)
        base = self.closing(last)
        pauses = list(paused)
        if not pauses:
            return base
        now_utc = to_utc(now, "now") if now is not None else None
        if now_utc is None and any(p[1] is None for p in pauses):
            raise ValueError(
                "มีช่วงพักนับเวลาที่ยังไม่สิ้นสุด ต้องระบุ now / a running pause (to=None) needs `now`"
            )
        due = base
        for _ in range(len(pauses) + 2):
            stopped = timedelta(0)
            for p0, p1 in _merge_pauses(pauses, received, due, open_end=now_utc):
                stopped += self._office_between(p0, p1)
            new_due = self.add_working_time(base, stopped) if stopped else base
            if new_due == due:
                break
            due = new_due
        return due

    # ------------------------------------------------------------ internals
    def _office_between(self, s: datetime, e: datetime) -> timedelta:
        """Office time in ``[s, e)``; both aware UTC, ``s <= e``."""
        if e <= s:
            return timedelta(0)
        ds = s.astimezone(self.tz).date()
        de = e.astimezone(self.tz).date()
        if ds == de:
            return self._overlap(ds, s, e)
        total = self._overlap(ds, s, self.closing(ds)) + self._overlap(de, self.opening(de), e)
        between = self.working_days_between(ds, de - timedelta(days=1))
        if between:
            total += between * self._day_length
        return total

    def _overlap(self, d: date, s: datetime, e: datetime) -> timedelta:
        if not self.is_working_day(d):
            return timedelta(0)
        lo = max(s, self.opening(d))
        hi = min(e, self.closing(d))
        return hi - lo if hi > lo else timedelta(0)


# ------------------------------------------------------------------- helpers
def _require_date(d: Any, what: str = "d") -> date:
    if isinstance(d, datetime):
        raise TypeError(
            f"{what}: expected a date, got a datetime; use calendar.to_local(dt).date() "
            f"/ ต้องเป็นวันที่ (date) ไม่ใช่วันเวลา (datetime)"
        )
    if not isinstance(d, date):
        raise TypeError(f"{what}: expected a date, got {type(d).__name__}")
    return d


def _as_date(d: Any, what: str) -> date:
    if isinstance(d, str):
        return date.fromisoformat(d)
    return _require_date(d, what)


def _lang_index(lang: str) -> int:
    try:
        return _LANGS[lang]
    except KeyError:
        raise ValueError(f"lang must be 'th' or 'en', got {lang!r}") from None


def _name_pair(name: Any) -> tuple[str, str]:
    if name is None:
        return _DEFAULT_EXTRA_NAME
    if isinstance(name, str):
        return (name, name)
    if isinstance(name, tuple):
        if len(name) == 1:
            return (str(name[0]), str(name[0]))
        if len(name) == 2:
            th, en = name
            return (str(th), str(en or th))
        raise ValueError(f"holiday name tuple must be (thai, english), got {name!r}")
    if isinstance(name, Mapping):
        th = name.get("th")
        return (str(th), str(name.get("en") or th))
    th = getattr(name, "th", None)
    if th is not None:
        return (str(th), str(getattr(name, "en", None) or th))
    return (str(name), str(name))


def _normalise_extra_holidays(extra: Mapping[date, Any] | Iterable[Any]) -> dict[date, tuple[str, str]]:
    out: dict[date, tuple[str, str]] = {}
    if isinstance(extra, Mapping):
        for d, name in extra.items():
            out[_require_date(d, "extra_holidays")] = _name_pair(name)
        return out
    for item in extra:
        if isinstance(item, date):
            out[_require_date(item, "extra_holidays")] = _DEFAULT_EXTRA_NAME
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], date):
            out[_require_date(item[0], "extra_holidays")] = _name_pair(item[1])
        elif isinstance(item, Mapping):
            out[_as_date(item["date"], "extra_holidays")] = _name_pair(item.get("name"))
        elif hasattr(item, "date"):
            out[_as_date(item.date, "extra_holidays")] = _name_pair(getattr(item, "name", None))
        else:
            raise TypeError(f"extra_holidays: cannot read {item!r}")
    return out


def _merge_pauses(
    paused: Iterable[PausedInterval],
    lo: datetime,
    hi: datetime,
    open_end: datetime | None,
) -> list[tuple[datetime, datetime]]:
    """Pauses clipped to ``[lo, hi]``, sorted and merged (no double counting)."""
    clipped: list[tuple[datetime, datetime]] = []
    for item in paused:
        try:
            p0, p1 = item
        except (TypeError, ValueError):
            raise TypeError(f"a pause is a (from, to) pair, got {item!r}") from None
        a = to_utc(p0, "pause start")
        if p1 is None:
            if open_end is None:
                raise ValueError("a running pause (to=None) needs an end instant")
            b = open_end
        else:
            b = to_utc(p1, "pause end")
            if b < a:
                raise ValueError(f"pause ends before it starts: {p0.isoformat()} → {p1.isoformat()}")
        a, b = max(a, lo), min(b, hi)
        if b > a:
            clipped.append((a, b))
    clipped.sort()
    merged: list[tuple[datetime, datetime]] = []
    for a, b in clipped:
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def from_agency(agency: Any) -> WorkingCalendar:
    """A calendar from an agency configuration (the ``Agency`` model of
    :mod:`eservice.spec.models`, or the same keys as a plain mapping):
    ``timezone``, ``office_hours: {days, start, end}``, ``extra_holidays:
    [{date, name}]``, ``extra_working_days: [date]``."""
    oh = _get(agency, "office_hours")
    default = OfficeHours()
    office_hours = OfficeHours(
        weekdays=frozenset(_get(oh, "days", None) or default.weekdays),
        start=_get(oh, "start", None) or default.start,
        end=_get(oh, "end", None) or default.end,
        tz=_get(agency, "timezone", None) or default.tz,
    )
    return WorkingCalendar(
        office_hours=office_hours,
        extra_holidays=tuple(_get(agency, "extra_holidays", ()) or ()),
        extra_working_days=tuple(
            _as_date(d, "extra_working_days") for d in (_get(agency, "extra_working_days", ()) or ())
        ),
    )
