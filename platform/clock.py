"""One injectable clock (ARCHITECTURE "Time").

Every part of the platform that needs "now" takes a :class:`Clock` instead of
calling :func:`datetime.now` itself, so tests (and demos) can freeze or move
time.  Instants are always timezone-aware UTC; local dates and office hours are
in Asia/Bangkok unless an agency says otherwise.

    clock = SystemClock()
    clock.now()            # aware UTC datetime
    clock.today()          # the date in Bangkok

    frozen = FixedClock(datetime(2023, 1, 22, 14, 33, tzinfo=UTC))
    frozen.advance(timedelta(hours=1))
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["BANGKOK", "UTC", "Clock", "SystemClock", "FixedClock", "require_aware", "to_utc"]

UTC = timezone.utc
# Needs the IANA time-zone database: the system's /usr/share/zoneinfo, or the
# `tzdata` package from PyPI where the system has none (Windows).
BANGKOK = ZoneInfo("Asia/Bangkok")


def require_aware(value: datetime, what: str = "datetime") -> datetime:
    """Return *value* if it is timezone-aware; otherwise raise ``ValueError``.

    The message is in Thai and English because it may reach an agency's
    integrator or administrator.
    """
    if not isinstance(value, datetime):
        raise TypeError(f"{what}: expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(
            f"{what} ต้องระบุเขตเวลา (timezone-aware) — ได้รับเวลาที่ไม่มีเขตเวลา: {value.isoformat()} / "
            f"{what} must be timezone-aware; got a naive datetime: {value.isoformat()}"
        )
    return value


def to_utc(value: datetime, what: str = "datetime") -> datetime:
    """The same instant as an aware UTC datetime (naive input is rejected)."""
    return require_aware(value, what).astimezone(UTC)


class Clock:
    """Source of the current instant.  Subclasses implement :meth:`now`."""

    def now(self) -> datetime:  # pragma: no cover - abstract
        """The current instant, timezone-aware, in UTC."""
        raise NotImplementedError

    def today(self, tz: tzinfo = BANGKOK) -> date:
        """The current calendar date in *tz* (Bangkok by default)."""
        return self.now().astimezone(tz).date()

    def local_now(self, tz: tzinfo = BANGKOK) -> datetime:
        """The current instant expressed in *tz* (for display)."""
        return self.now().astimezone(tz)


class SystemClock(Clock):
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock(Clock):
    """A clock that stands still until told to move (for tests and demos).

    ``instant`` must be timezone-aware; it is kept in UTC.
    """

    def __init__(self, instant: datetime) -> None:
        self._now = to_utc(instant, "FixedClock instant")

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = to_utc(instant, "FixedClock.set instant")

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by *delta* (or ``timedelta(**kwargs)``); returns the new now."""
        if delta is None:
            delta = timedelta(**kwargs)
        elif kwargs:
            raise TypeError("give either a timedelta or keyword arguments, not both")
        self._now = self._now + delta
        return self._now

    def __repr__(self) -> str:
        return f"FixedClock({self._now.isoformat()})"
