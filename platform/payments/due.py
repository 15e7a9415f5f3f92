"""When a fee is due, when its reminder goes, and when it is overdue (A-P8).

Pure date rules over the agency's :class:`eservice.calendar.WorkingCalendar`
(Thai public holidays, the agency's own closures); no store, no workflow, so
the engine (:mod:`eservice.workflow`, when it issues a fee) and the overdue job
(:mod:`eservice.payments.overdue`) share them.

* ``due_days_are: calendar_days`` (the default): the due date is the issue day
  plus ``due_days`` calendar days; when that day is not a working day of the
  agency (a weekend, a public holiday), the period ends on the next working day
  (as a period under the Civil and Commercial Code, s. 193/8).
* ``due_days_are: working_days``: the due date is the ``due_days``-th working
  day after the issue day (the issue day itself is not counted).
* The fee may be paid until the end of its due date (midnight, agency time): it
  is overdue from the first instant of the next day.
* The reminder goes on the day ``remind_days_before`` days before the due date,
  counted the same way as ``due_days``; ``0`` means no reminder, and no reminder
  goes when that day is not after the issue day (the notice itself is enough).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["DEFAULT_REMIND_DAYS", "due_on", "overdue_from", "reminder_on", "is_overdue"]

DEFAULT_REMIND_DAYS = 3  # the model's default for `remind_days_before`


def _working(fee: Any) -> bool:
    return getattr(fee, "due_days_are", "calendar_days") == "working_days"


def due_on(calendar: Any, issued: dt.date, fee: Any) -> dt.date:
    """The last day to pay a fee (definition ``fee``) issued on ``issued`` (a local date)."""
    if _working(fee):
        return calendar.add_working_days(issued, fee.due_days)
    day = issued + dt.timedelta(days=fee.due_days)
    return day if calendar.is_working_day(day) else calendar.next_working_day(day)


def reminder_on(calendar: Any, issued: dt.date, due: dt.date, fee: Any) -> dt.date | None:
    """The local day the reminder goes, or None (no reminder)."""
    days = getattr(fee, "remind_days_before", DEFAULT_REMIND_DAYS)
    if not days:
        return None
    day = calendar.add_working_days(due, -days) if _working(fee) else due - dt.timedelta(days=days)
    return day if day > issued else None


def overdue_from(calendar: Any, due: dt.date) -> dt.datetime:
    """The first instant (UTC) at which a fee due on ``due`` is overdue: the
    start of the next day in the agency's time zone."""
    start = dt.datetime.combine(due + dt.timedelta(days=1), dt.time(0, 0), tzinfo=calendar.tz)
    return start.astimezone(dt.timezone.utc)


def is_overdue(calendar: Any, due: dt.date, now: dt.datetime) -> bool:
    return now >= overdue_from(calendar, due)
