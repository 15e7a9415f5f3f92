"""The officers' inbox as pure functions over the store's summaries (issue #4; A-R1, A-A1, A-A6, CH-4).

No I/O here: the caller reads ``store.open_applications(agency)`` (the open-work
index, whose cost grows with open work, not with history) and passes the
summaries in, with two look-ups — the service an application is pinned to and
the agency's working calendar.  Then::

    rows = inbox.query(summaries, actor, Filters.from_query(params), now,
                       service_of=catalogue_lookup, calendar_for=ctx.calendar)

Rules
-----
* Drafts never appear (they belong to the applicant alone), nor closed records.
* Only what the actor may see: ``policy.allowed(actor, "view_inbox", agency, service)``
  — the officer's agencies only (CH-4), and a role limited to some services sees
  only those services.
* Order: applications flagged ``changed`` first (new, or the applicant acted:
  more documents arrived, payment made), then by SLA due time (earliest first,
  applications without an SLA last), then by intake time.
* ``changed`` stays set until an officer takes a workflow transition (the
  workflow clears it): opening, claiming or assigning an application does not
  clear it, so a colleague still sees that something new is waiting for a
  decision, whoever looked at it first.

The SLA tag
-----------
:func:`sla_tag` gives ``ok`` / ``warning`` / ``overdue`` / ``paused`` / ``none``
by the same rules as :meth:`eservice.workflow.Workflow.sla_status`, but from the
summary alone: the summary's ``sla_due`` is recomputed by the workflow on every
transition (with every pause that has ended), so while the clock runs it is
exactly the due instant ``sla_status`` computes from the full record.  While the
application waits in a state marked ``sla: paused`` the tag is ``paused`` (the
due instant moves on with the pause).  ``tests/test_inbox.py`` checks the two
agree.  The application page itself uses ``Workflow.sla_status`` on the record.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .policy import Actor, allowed

__all__ = ["Filters", "Row", "ASSIGNEE_CHOICES", "DUE_CHOICES", "sla_tag", "visible", "build_rows",
           "sort_rows", "sort_key", "apply_filters", "query", "counts", "paginate", "staff_by_agency", "covers"]

ASSIGNEE_CHOICES = ("anyone", "me", "unassigned")
DUE_CHOICES = ("", "overdue", "warning")
PAGE_SIZE = 50
_FAR = dt.datetime.max.replace(tzinfo=dt.timezone.utc)


def _instant(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@dataclass(frozen=True)
class Filters:
    """What the officer asked to see; every value already checked."""

    service: str = ""
    state: str = ""
    assignee: str = "anyone"  # anyone | me | unassigned
    due: str = ""  # "" | overdue | warning
    page: int = 1

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> "Filters":
        """From query parameters; anything unexpected is ignored (never an error)."""
        def one(name: str) -> str:
            value = params.get(name)
            return value.strip()[:100] if isinstance(value, str) else ""

        assignee = one("assignee") or "anyone"
        due = one("due")
        try:
            page = max(1, min(10_000, int(one("page") or 1)))
        except ValueError:
            page = 1
        return cls(service=one("service"), state=one("state"),
                   assignee=assignee if assignee in ASSIGNEE_CHOICES else "anyone",
                   due=due if due in DUE_CHOICES else "", page=page)

    @property
    def active(self) -> bool:
        return bool(self.service or self.state or self.assignee != "anyone" or self.due)

    def query(self, **changes: Any) -> dict[str, str]:
        """These filters as query parameters (for links), with ``changes``."""
        values = {"service": self.service, "state": self.state, "assignee": self.assignee,
                  "due": self.due, "page": str(self.page)}
        values.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in values.items()
                if v and not (k == "assignee" and v == "anyone") and not (k == "page" and v == "1")}


@dataclass
class Row:
    """One line of the inbox."""

    summary: Mapping[str, Any]
    sla: str  # ok | warning | overdue | paused | none
    due: dt.datetime | None
    left_days: int | None = None
    service: Any = None  # the CompiledService the application is pinned to (None: not loaded)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.summary["id"]

    @property
    def changed(self) -> bool:
        return bool(self.summary.get("changed"))

    @property
    def state(self) -> str:
        return self.summary.get("state") or ""

    @property
    def state_title(self) -> Any:
        state = self.service.states.get(self.state) if self.service is not None else None
        return state.title if state is not None else {"th": self.state, "en": self.state}

    @property
    def assignee(self) -> str | None:
        return self.summary.get("assignee") or None


# ------------------------------------------------------------------ the SLA tag
def sla_tag(summary: Mapping[str, Any], service: Any, calendar: Any, now: dt.datetime, *,
            states: Mapping[str, Any] | None = None, today: dt.date | None = None) -> dict[str, Any]:
    """``{"state": tag, "due": instant|None, "left_days": int|None}`` of one summary.
    ``states`` (the service's states by id) and ``today`` (``now`` as a local date)
    may be given when tagging many rows."""
    due = _instant(summary.get("sla_due"))
    if summary.get("closed"):
        return {"state": "closed", "due": due, "left_days": None}
    if service is None or not summary.get("intake_at") or due is None:
        return {"state": "none", "due": due, "left_days": None}
    definition = service.definition
    if not definition.sla.working_days:
        return {"state": "none", "due": None, "left_days": None}
    state = (states if states is not None else service.states).get(summary.get("state") or "")
    if state is not None and state.sla == "paused":
        return {"state": "paused", "due": due, "left_days": None}
    if now > due:
        return {"state": "overdue", "due": due, "left_days": None}
    today = today or calendar.to_local(now).date()
    left = calendar.working_days_between(today, calendar.to_local(due).date())
    warn = left <= definition.sla.warn_when_left_working_days
    return {"state": "warning" if warn else "ok", "due": due, "left_days": left}


# ------------------------------------------------------------------ the pipeline
def visible(summary: Mapping[str, Any], actor: Actor) -> bool:
    """Shown in an inbox at all: submitted, open, and the actor may view it."""
    if summary.get("state") in (None, "", "draft") or summary.get("closed"):
        return False
    if not summary.get("intake_at"):
        return False
    # the inbox is staff work: the agency's inbox role for this service (not "my own application")
    return allowed(actor, "view_inbox", agency=summary.get("agency"), service=summary.get("service"))


def build_rows(summaries: Iterable[Mapping[str, Any]], actor: Actor, now: dt.datetime, *,
               service_of: Callable[[Mapping[str, Any]], Any],
               calendar_for: Callable[[str], Any]) -> list[Row]:
    """The rows the actor may see, each with its SLA tag (not yet sorted or filtered)."""
    out = []
    services: dict[tuple, tuple] = {}  # (service, version) → (service, its states)
    calendars: dict[str, tuple] = {}  # agency → (calendar, today there)
    for summary in summaries:
        if not visible(summary, actor):
            continue
        key = (summary.get("service"), summary.get("service_version"))
        found = services.get(key)
        if found is None:
            service = service_of(summary)
            found = services[key] = (service, dict(service.states) if service is not None else {})
        agency = summary["agency"]
        where = calendars.get(agency)
        if where is None:
            calendar = calendar_for(agency)
            where = calendars[agency] = (calendar, calendar.to_local(now).date())
        tag = sla_tag(summary, found[0], where[0], now, states=found[1], today=where[1])
        out.append(Row(summary, tag["state"], tag["due"], tag.get("left_days"), found[0]))
    return out


def sort_key(row: Row) -> tuple:
    return (not row.changed, row.due is None, row.due or _FAR,
            str(row.summary.get("intake_at") or ""), row.id)


def sort_rows(rows: Iterable[Row]) -> list[Row]:
    """Changed first, then by SLA due time, then by intake time."""
    return sorted(rows, key=sort_key)


def apply_filters(rows: Iterable[Row], filters: Filters, user_id: str) -> list[Row]:
    out = []
    for row in rows:
        s = row.summary
        if filters.service and s.get("service") != filters.service:
            continue
        if filters.state and s.get("state") != filters.state:
            continue
        if filters.assignee == "me" and row.assignee != user_id:
            continue
        if filters.assignee == "unassigned" and row.assignee:
            continue
        if filters.due and row.sla != filters.due:
            continue
        out.append(row)
    return out


def query(summaries: Iterable[Mapping[str, Any]], actor: Actor, filters: Filters, now: dt.datetime, *,
          service_of: Callable[[Mapping[str, Any]], Any], calendar_for: Callable[[str], Any]) -> list[Row]:
    """Visible rows, filtered and sorted (the whole inbox, before paging)."""
    rows = build_rows(summaries, actor, now, service_of=service_of, calendar_for=calendar_for)
    return sort_rows(apply_filters(rows, filters, actor.user_id))


def counts(rows: Sequence[Row]) -> dict[str, int]:
    """How many rows in all, changed, and by SLA tag (for the summary line)."""
    out = {"total": len(rows), "changed": 0, "ok": 0, "warning": 0, "overdue": 0, "paused": 0, "none": 0,
           "unassigned": 0}
    for row in rows:
        out["changed"] += row.changed
        out[row.sla] = out.get(row.sla, 0) + 1
        out["unassigned"] += not row.assignee
    return out


def paginate(rows: Sequence[Row], page: int, size: int = PAGE_SIZE) -> tuple[list[Row], int, int]:
    """(rows of ``page``, the page actually shown, number of pages)."""
    pages = max(1, -(-len(rows) // size))
    page = min(max(1, page), pages)
    return list(rows[(page - 1) * size: page * size]), page, pages


# ------------------------------------------------------------------ staff
def staff_by_agency(users: Iterable[Mapping[str, Any]], officer_roles: Iterable[str]) -> dict[str, list[dict]]:
    """``{agency: [{"id", "email", "name", "roles": [(role, services|None)]}]}`` of
    enabled, verified accounts holding an officer role (from the ``users`` records)."""
    wanted = set(officer_roles)
    out: dict[str, list[dict]] = {}
    for user in users:
        if user.get("disabled"):
            continue
        by_agency: dict[str, list] = {}
        for grant in user.get("roles") or ():
            if grant.get("role") in wanted and grant.get("agency") not in (None, "*"):
                services = grant.get("services")
                by_agency.setdefault(grant["agency"], []).append(
                    (grant["role"], tuple(services) if services is not None else None))
        if not by_agency:
            continue
        profile = user.get("profile") or {}
        name = " ".join(x for x in (profile.get("first_name"), profile.get("last_name")) if x) \
            or user.get("email", "")
        for agency, roles in by_agency.items():
            out.setdefault(agency, []).append({"id": user["id"], "email": user.get("email", ""),
                                               "name": name, "roles": roles})
    for people in out.values():
        people.sort(key=lambda p: (p["name"], p["id"]))
    return out


def covers(person: Mapping[str, Any], roles: Iterable[str] | None, service: str | None) -> bool:
    """Does a person from :func:`staff_by_agency` hold one of ``roles`` (None: any) for ``service``?"""
    wanted = set(roles) if roles is not None else None
    return any((wanted is None or role in wanted) and (services is None or service is None or service in services)
               for role, services in person["roles"])
