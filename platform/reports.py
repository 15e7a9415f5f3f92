"""Statistics of an agency's e-Services over a period (A-SP5; issue #4 item 10).

:func:`report` counts, per service and for the whole agency, what happened in
a period and how long it took in **working days**; :mod:`eservice.renderers.exports`
turns the result into CSV, XLSX and an SVG chart.

What each figure means
----------------------
The period is the days ``period_from`` … ``period_to`` (both included) in the
agency's time zone, i.e. ``[start, end)`` with ``start`` the midnight that
begins ``period_from`` and ``end`` the midnight that ends ``period_to``.
``as_of`` is ``min(end, now)``.  Drafts (no intake yet) are never counted.

received
    intake (เวลารับคำขอ, RC-4) in the period.
completed / approved / rejected
    closed in the period with outcome ``approved``, ``rejected`` or
    ``completed`` (a final state without an outcome counts as completed).
disposed / referred / withdrawn
    closed in the period with that outcome (A-R6: disposal is a state).
in progress
    received before ``as_of`` and not closed at ``as_of`` (the backlog at the
    end of the period; "now" when the period has not ended).
overdue
    in progress with its SLA due instant (pauses counted up to ``as_of``)
    before ``as_of``.
processing time
    for the *completed* applications: office time from intake to closing,
    minus the time the SLA clock was paused (``sla_paused``), computed by the
    agency calendar's :meth:`~eservice.calendar.WorkingCalendar.working_time`
    and divided by the length of an office day, so 1.0 is one full working
    day.  ``median`` is the usual median (mean of the middle two for an even
    count); ``p90`` is the nearest-rank 90th percentile: the smallest time
    within which at least 90 % of the applications were completed
    (``sorted[ceil(0.9 n) - 1]``), always an observed value.
SLA met %
    of the completed applications that have an SLA due instant, the share
    closed on or before it.
per state
    the applications in progress at ``as_of``, by the state they were in then
    (replayed from their transition events).
per officer
    transition events in the period, by the officer who took them (events by
    the applicant or by the system's timers are not officers' actions).

Reading the store
-----------------
Summaries come from the open index and the per-month archives; a full record
is read only for an application received before ``end`` (the ones that can
count at all).  Archives are read from the month ``period_from`` falls in up to
the month of ``now``, not only the months of the range: an application
received in the period but closed later sits in a later month's archive and
must still count as received (and as in progress at the end of the period).

The closing instant is the record's ``closed_at`` when present, else the time
of the last transition event into its final state, else ``updated_at``.
"""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from .calendar import WorkingCalendar
from .clock import BANGKOK, require_aware

__all__ = ["Report", "ServiceRow", "StateRow", "OfficerRow", "report", "percentile_nearest_rank",
           "COMPLETED_OUTCOMES"]

COMPLETED_OUTCOMES = frozenset({"approved", "rejected", "completed"})
_OTHER_OUTCOMES = ("disposed", "referred", "withdrawn")


@dataclass
class ServiceRow:
    """The figures of one service (or, for :attr:`Report.total`, of the agency)."""

    service: str
    title_th: str
    title_en: str
    sla_working_days: int | None = None
    received: int = 0
    completed: int = 0
    approved: int = 0
    rejected: int = 0
    disposed: int = 0
    referred: int = 0
    withdrawn: int = 0
    in_progress: int = 0
    overdue: int = 0
    median_days: float | None = None
    p90_days: float | None = None
    sla_measured: int = 0
    sla_met: int = 0
    sla_met_pct: float | None = None
    #: processing times in working days of the completed applications (unrounded)
    days: list[float] = field(default_factory=list, repr=False)

    def finish(self) -> None:
        self.days.sort()
        if self.days:
            self.median_days = round(statistics.median(self.days), 2)
            self.p90_days = round(percentile_nearest_rank(self.days, 90), 2)
        if self.sla_measured:
            self.sla_met_pct = round(100 * self.sla_met / self.sla_measured, 1)


@dataclass
class StateRow:
    service: str
    state: str
    title_th: str
    title_en: str
    count: int


@dataclass
class OfficerRow:
    officer: str
    actions: int
    applications: int
    by_transition: dict[str, int]


@dataclass
class Report:
    agency: str
    agency_th: str
    agency_en: str
    period_from: date
    period_to: date
    generated_at: datetime
    as_of: datetime
    services: list[ServiceRow]
    total: ServiceRow
    states: list[StateRow]
    officers: list[OfficerRow]
    applications_read: int = 0  # full records read (for benchmarks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (dates as ISO text; the raw processing times left out)."""
        def row(r: ServiceRow) -> dict[str, Any]:
            d = asdict(r)
            d.pop("days")
            return d
        return {
            "agency": self.agency, "agency_th": self.agency_th, "agency_en": self.agency_en,
            "period_from": self.period_from.isoformat(), "period_to": self.period_to.isoformat(),
            "generated_at": self.generated_at.isoformat(), "as_of": self.as_of.isoformat(),
            "services": [row(r) for r in self.services], "total": row(self.total),
            "states": [asdict(s) for s in self.states], "officers": [asdict(o) for o in self.officers],
        }


def percentile_nearest_rank(sorted_values: list[float], pct: float) -> float:
    """The nearest-rank percentile of already sorted values (non-empty)."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


# ------------------------------------------------------------------- helpers
def _instant(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return None
    if not isinstance(parsed, datetime) or parsed.tzinfo is None:
        return None
    return parsed


def _months(first: date, last: date) -> list[str]:
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _transitions(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [e for e in record.get("events") or () if e.get("type") == "transition"]


def _closed_at(record: Mapping[str, Any], transitions: list[dict[str, Any]]) -> datetime | None:
    when = _instant(record.get("closed_at"))
    if when is not None:
        return when
    for event in reversed(transitions):
        if (event.get("data") or {}).get("to") == record.get("state"):
            return _instant(event.get("at"))
    return _instant(record.get("updated_at"))


def _pauses(record: Mapping[str, Any], until: datetime | None = None) -> list[tuple[datetime, datetime | None]]:
    """SLA pauses; with ``until``, as they stood then (later ones dropped, a pause
    still running at ``until`` left open)."""
    out = []
    for item in record.get("sla_paused") or ():
        try:
            a, b = _instant(item[0]), _instant(item[1])
        except (IndexError, TypeError):
            continue
        if a is None:
            continue
        if until is not None:
            if a >= until:
                continue
            if b is not None and b > until:
                b = None
        out.append((a, b))
    return out


def _state_at(record: Mapping[str, Any], transitions: list[dict[str, Any]], when: datetime) -> str:
    state = None
    for event in transitions:
        at = _instant(event.get("at"))
        data = event.get("data") or {}
        if at is not None and at < when:
            state = data.get("to")
            continue
        if state is None:
            state = data.get("from")  # the state it was in before this later transition
        break
    return state or record.get("state") or "?"


class _Titles:
    """Service, state and agency names from the catalogue, falling back to ids."""

    def __init__(self, catalogue: Any):
        self.catalogue = catalogue

    def service(self, service_id: str, version: int | None = None):
        cat = self.catalogue
        if cat is None:
            return None
        found = cat.get(service_id, version) if version is not None else None
        return found or cat.latest(service_id)

    def service_row(self, service_id: str) -> ServiceRow:
        svc = self.service(service_id)
        if svc is None:
            return ServiceRow(service_id, service_id, service_id)
        title = svc.definition.title
        days = svc.definition.sla.working_days or None
        return ServiceRow(service_id, title.th, title.get("en"), sla_working_days=days)

    def state(self, service_id: str, version: int | None, state: str) -> tuple[str, str]:
        svc = self.service(service_id, version)
        found = svc.states.get(state) if svc is not None else None
        if found is None:
            return state, state
        return found.title.th, found.title.get("en")

    def sla_days(self, service_id: str, version: int | None) -> int | None:
        svc = self.service(service_id, version)
        return (svc.definition.sla.working_days or None) if svc is not None else None

    def agency(self, code: str) -> tuple[str, str]:
        agency = getattr(self.catalogue, "agencies", {}).get(code) if self.catalogue is not None else None
        if agency is None:
            return code, code
        return agency.name.th, agency.name.get("en")

    def agency_services(self, code: str) -> list[str]:
        if self.catalogue is None:
            return []
        return [s.id for s in self.catalogue.of_agency(code)]


def _candidates(store: Any, agency: str, start: datetime, end: datetime, now: datetime) -> Iterable[dict]:
    """Summaries of every application that can count: received before ``end``,
    and either open or closed in a month from ``start``'s onwards."""
    seen: set[str] = set()
    for summary in store.open_applications(agency):
        seen.add(summary["id"])
        yield summary
    first = start.astimezone(BANGKOK).date()  # the store files archives by Bangkok month
    last = max(now, end).astimezone(BANGKOK).date()
    for period in _months(first, last):
        for summary in store.closed_applications(agency, period):
            if summary["id"] not in seen:
                seen.add(summary["id"])
                yield summary


# ------------------------------------------------------------------- the report
def report(store: Any, catalogue: Any, calendar_for: Callable[[str], WorkingCalendar], agency: str,
           period_from: date, period_to: date, now: datetime) -> Report:
    """The statistics of ``agency`` for the days ``period_from`` … ``period_to``.

    ``calendar_for(agency)`` gives the agency's working calendar (for example
    ``EngineContext.calendar``); ``catalogue`` gives service and state titles
    (``None``: ids only).  See the module documentation for each figure.
    """
    if isinstance(period_from, datetime) or isinstance(period_to, datetime):
        raise TypeError("period_from/period_to are dates / ช่วงเวลาต้องเป็นวันที่ (date)")
    if period_to < period_from:
        raise ValueError(f"period_to {period_to} is before period_from {period_from} / "
                         "วันสิ้นสุดอยู่ก่อนวันเริ่มต้น")
    now = require_aware(now, "now")
    calendar = calendar_for(agency)
    tz = calendar.tz
    start = datetime.combine(period_from, time.min, tzinfo=tz)
    end = datetime.combine(period_to + timedelta(days=1), time.min, tzinfo=tz)
    as_of = min(end, now)
    day_length = calendar.office_hours.length / timedelta(seconds=1)
    titles = _Titles(catalogue)

    rows: dict[str, ServiceRow] = {sid: titles.service_row(sid) for sid in titles.agency_services(agency)}
    states: dict[tuple[str, str], list] = {}
    officers: dict[str, dict[str, Any]] = defaultdict(lambda: {"actions": 0, "apps": set(),
                                                               "by": defaultdict(int)})
    read = 0
    for summary in _candidates(store, agency, start, end, now):
        intake = _instant(summary.get("intake_at"))
        if intake is None or intake >= end:
            continue
        record = store.get_application(summary["id"])
        read += 1
        if record.get("agency") != agency:
            continue
        intake = _instant(record.get("intake_at"))
        if intake is None or intake >= end:
            continue
        service_id = record.get("service") or "?"
        version = record.get("service_version")
        row = rows.get(service_id)
        if row is None:
            row = rows[service_id] = titles.service_row(service_id)
        transitions = _transitions(record)
        closed = _closed_at(record, transitions) if record.get("closed") else None

        if start <= intake:
            row.received += 1
        if closed is not None and start <= closed < end:
            outcome = record.get("outcome") or "completed"
            if outcome in _OTHER_OUTCOMES:
                setattr(row, outcome, getattr(row, outcome) + 1)
            else:
                row.completed += 1
                if outcome == "approved":
                    row.approved += 1
                elif outcome == "rejected":
                    row.rejected += 1
                try:
                    worked = calendar.working_time(intake, closed, _pauses(record))
                except ValueError:  # a damaged pause (ends before it starts): no time rather than a wrong one
                    worked = None
                if worked is not None:
                    row.days.append(worked / timedelta(seconds=1) / day_length)
                due = _instant(record.get("sla_due"))
                if due is not None:
                    row.sla_measured += 1
                    row.sla_met += closed <= due
        if intake < as_of and (closed is None or closed >= as_of):
            row.in_progress += 1
            state = _state_at(record, transitions, as_of)
            key = (service_id, state)
            if key not in states:
                states[key] = [version, 0]
            states[key][1] += 1
            due = _due_at(calendar, record, titles.sla_days(service_id, version), intake, as_of)
            if due is not None and due < as_of:
                row.overdue += 1
        applicant = record.get("applicant")
        for event in transitions:
            at = _instant(event.get("at"))
            actor = event.get("actor")
            if at is None or not (start <= at < end) or not actor or actor in ("system", applicant):
                continue
            entry = officers[actor]
            entry["actions"] += 1
            entry["apps"].add(record["id"])
            entry["by"][(event.get("data") or {}).get("transition") or "?"] += 1

    service_rows = sorted(rows.values(), key=lambda r: (r.title_th, r.service))
    th, en = titles.agency(agency)
    total = ServiceRow("*", f"รวมทั้ง{th}" if th != agency else "รวม", f"All of {en}" if en != agency else "Total")
    for r in service_rows:
        r.finish()
        for name in ("received", "completed", "approved", "rejected", "disposed", "referred", "withdrawn",
                     "in_progress", "overdue", "sla_measured", "sla_met"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        total.days.extend(r.days)
    total.finish()
    state_rows = []
    for (service_id, state), (version, count) in sorted(states.items()):
        sth, sen = titles.state(service_id, version, state)
        state_rows.append(StateRow(service_id, state, sth, sen, count))
    officer_rows = sorted(
        (OfficerRow(name, e["actions"], len(e["apps"]), dict(sorted(e["by"].items())))
         for name, e in officers.items()),
        key=lambda o: (-o.actions, o.officer))
    return Report(agency=agency, agency_th=th, agency_en=en, period_from=period_from, period_to=period_to,
                  generated_at=now, as_of=as_of, services=service_rows, total=total, states=state_rows,
                  officers=officer_rows, applications_read=read)


def _due_at(calendar: WorkingCalendar, record: Mapping[str, Any], sla_days: int | None,
            intake: datetime, as_of: datetime) -> datetime | None:
    """The SLA due instant as it stood at ``as_of`` (pauses up to then); the
    stored ``sla_due`` when the service's SLA is not known."""
    if sla_days:
        try:
            return calendar.due_at(intake, sla_days, paused=_pauses(record, as_of), now=as_of)
        except ValueError:  # a damaged pause: fall back to what the workflow stored
            pass
    return _instant(record.get("sla_due"))
