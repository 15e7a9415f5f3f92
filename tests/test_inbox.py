"""The inbox logic as pure functions over summaries (issue #4; A-R1, A-A1, A-A6, CH-4)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from eservice import inbox
from eservice.applications import Applications, declaration_of
from eservice.calendar import WorkingCalendar
from eservice.clock import BANGKOK, FixedClock
from eservice.engine import EngineContext
from eservice.inbox import Filters
from eservice.policy import Actor, Grant
from eservice.spec.loader import load_or_raise
from eservice.store import open_store
from eservice.store.base import summarize
from eservice.workflow import Workflow

FIXTURES = Path(__file__).parent / "fixtures" / "defs"
CATALOGUE = load_or_raise([FIXTURES])
SERVICE = CATALOGUE.latest("minimal-permit")  # 15 working days, warn when 1 is left
CALENDAR = WorkingCalendar()
UTC = dt.timezone.utc
NOW = dt.datetime(2023, 1, 23, 10, 0, tzinfo=BANGKOK)
REVIEWER = Actor(user_id="u-rev", grants=(Grant("test-agency", "reviewer"),))


def summary(app_id: str, *, state: str = "submitted", changed: bool = False, due: dt.datetime | None = None,
            intake: dt.datetime | None = None, agency: str = "test-agency", service: str = "minimal-permit",
            assignee: str | None = None, closed: bool = False) -> dict:
    intake = intake or dt.datetime(2023, 1, 23, 8, 30, tzinfo=BANGKOK)
    return {"id": app_id, "agency": agency, "service": service, "service_version": 1, "state": state,
            "closed": closed, "applicant": "u-citizen", "assignee": assignee, "intake_number": f"{app_id}/2566",
            "intake_at": intake.astimezone(UTC).isoformat() if state != "draft" else None,
            "sla_due": due.astimezone(UTC).isoformat() if due else None, "changed": changed,
            "updated_at": NOW.isoformat(), "reference": "X", "title": "t", "version": 3}


def service_of(s):
    return CATALOGUE.get(s["service"], s["service_version"])


def rows(summaries, actor=REVIEWER, now=NOW):
    return inbox.build_rows(summaries, actor, now, service_of=service_of, calendar_for=lambda a: CALENDAR)


def day(d: int, hour: int = 16, minute: int = 30) -> dt.datetime:
    return dt.datetime(2023, 1, d, hour, minute, tzinfo=BANGKOK)


# --------------------------------------------------------------------------- filters
def test_filters_from_query_accept_only_known_values():
    f = Filters.from_query({"service": " minimal-permit ", "state": "submitted", "assignee": "me", "due": "overdue",
                            "page": "3"})
    assert (f.service, f.state, f.assignee, f.due, f.page) == ("minimal-permit", "submitted", "me", "overdue", 3)
    bad = Filters.from_query({"assignee": "everyone", "due": "tomorrow", "page": "x"})
    assert (bad.assignee, bad.due, bad.page) == ("anyone", "", 1)
    assert not Filters().active and f.active
    assert Filters.from_query({"page": "-5"}).page == 1
    assert f.query(page=1) == {"service": "minimal-permit", "state": "submitted", "assignee": "me", "due": "overdue"}


# --------------------------------------------------------------------------- what is shown
def test_drafts_closed_and_other_agencies_are_hidden():  # R: CH-4, A-X1
    shown = rows([summary("a"), summary("draft", state="draft"), summary("closed", closed=True),
                  summary("foreign", agency="other-agency")])
    assert [r.id for r in shown] == ["a"]


def test_a_role_limited_to_another_service_sees_nothing_here():  # R: A-X1
    limited = Actor(user_id="u-l", grants=(Grant("test-agency", "reviewer", ("other-service",)),))
    assert rows([summary("a")], actor=limited) == []
    nobody = Actor(user_id="u-citizen")
    assert rows([summary("a")], actor=nobody) == []


# --------------------------------------------------------------------------- order
def test_changed_first_then_by_due_then_by_intake():  # R: A-R1, A-A1
    early_due, late_due = day(27), day(31)
    summaries = [
        summary("old-late", due=late_due),
        summary("new-late", changed=True, due=late_due),
        summary("old-early", due=early_due),
        summary("new-early", changed=True, due=early_due),
        summary("new-nosla", changed=True, due=None),
        summary("new-early-2", changed=True, due=early_due, intake=day(23, 9, 0)),
    ]
    ordered = [r.id for r in inbox.sort_rows(rows(summaries))]
    assert ordered == ["new-early", "new-early-2", "new-late", "new-nosla", "old-early", "old-late"]


# --------------------------------------------------------------------------- filters on rows
def test_apply_filters():  # R: A-R1
    summaries = [summary("mine", assignee="u-rev", due=day(23, 9, 0)),  # overdue at 10:00
                 summary("theirs", assignee="u-other", due=day(24)),  # warning (1 working day left)
                 summary("free", due=day(31)),  # ok
                 summary("waiting", state="awaiting_documents", due=day(31))]  # paused
    all_rows = rows(summaries)
    tags = {r.id: r.sla for r in all_rows}
    assert tags == {"mine": "overdue", "theirs": "warning", "free": "ok", "waiting": "paused"}

    def ids(**kw):
        return {r.id for r in inbox.apply_filters(all_rows, Filters(**kw), "u-rev")}

    assert ids(assignee="me") == {"mine"}
    assert ids(assignee="unassigned") == {"free", "waiting"}
    assert ids(due="overdue") == {"mine"}
    assert ids(due="warning") == {"theirs"}
    assert ids(state="awaiting_documents") == {"waiting"}
    assert ids(service="other") == set()
    assert ids() == {"mine", "theirs", "free", "waiting"}
    counts = inbox.counts(all_rows)
    assert counts["total"] == 4 and counts["overdue"] == 1 and counts["warning"] == 1 and counts["unassigned"] == 2


def test_query_is_the_whole_pipeline():
    found = inbox.query([summary("b", due=day(31)), summary("a", changed=True, due=day(31)), summary("d", state="draft")],
                        REVIEWER, Filters(), NOW, service_of=service_of, calendar_for=lambda a: CALENDAR)
    assert [r.id for r in found] == ["a", "b"]


def test_paginate():
    items = list(range(120))
    page, shown, pages = inbox.paginate(items, 3, size=50)
    assert (page, shown, pages) == (list(range(100, 120)), 3, 3)
    assert inbox.paginate(items, 99, size=50)[1] == 3
    assert inbox.paginate([], 1) == ([], 1, 1)


# --------------------------------------------------------------------------- SLA tags
def test_sla_tag_rules():  # R: A-A6
    s = summary("a", due=day(24))
    assert inbox.sla_tag(s, SERVICE, CALENDAR, NOW)["state"] == "warning"  # 1 working day left
    assert inbox.sla_tag(s, SERVICE, CALENDAR, day(20, 10, 0))["state"] == "ok"
    assert inbox.sla_tag(s, SERVICE, CALENDAR, day(24, 16, 31))["state"] == "overdue"
    assert inbox.sla_tag(summary("w", state="awaiting_documents", due=day(24)), SERVICE, CALENDAR,
                         day(25))["state"] == "paused"
    assert inbox.sla_tag(summary("n", due=None), SERVICE, CALENDAR, NOW)["state"] == "none"
    assert inbox.sla_tag(s, None, CALENDAR, NOW)["state"] == "none"  # the service version is not loaded
    assert inbox.sla_tag(summary("c", due=day(24), closed=True), SERVICE, CALENDAR, NOW)["state"] == "closed"


def test_sla_tag_agrees_with_the_workflow(tmp_path):  # R: A-A6, A-R5 — the summary's due is exact
    clock = FixedClock(dt.datetime(2023, 1, 22, 21, 33, tzinfo=BANGKOK))
    ctx = EngineContext(catalogue=CATALOGUE, store=open_store(tmp_path / "s", durable=False), clock=clock)
    citizen = Actor(user_id="u-citizen")
    apps, flow = Applications(ctx), Workflow(ctx)
    record = apps.start("minimal-permit", citizen)
    apps.save_page(record["id"], citizen, "shop", {"shop_name": "ร้าน", "shop_area": 10})
    record = apps.submit(record["id"], citizen, declaration_shown=declaration_of(SERVICE), intent_confirmed=True)
    # a pause of two working days (documents requested, then sent)
    clock.set(dt.datetime(2023, 1, 24, 10, 0, tzinfo=BANGKOK))
    flow.take(record["id"], "request_documents", REVIEWER, {"missing": "x"})
    clock.set(dt.datetime(2023, 1, 26, 10, 0, tzinfo=BANGKOK))
    record = flow.take(record["id"], "resubmit", citizen)
    for when in [dt.datetime(2023, 1, 26, 11, 0, tzinfo=BANGKOK), dt.datetime(2023, 2, 13, 9, 0, tzinfo=BANGKOK),
                 dt.datetime(2023, 2, 14, 16, 0, tzinfo=BANGKOK), dt.datetime(2023, 2, 15, 9, 0, tzinfo=BANGKOK),
                 dt.datetime(2023, 3, 1, 9, 0, tzinfo=BANGKOK)]:
        expected = flow.sla_status(record, when)
        got = inbox.sla_tag(summarize(record), SERVICE, ctx.calendar("test-agency"), when)
        assert (got["state"], got["due"]) == (expected["state"], expected["due"]), when
    states = {inbox.sla_tag(summarize(record), SERVICE, ctx.calendar("test-agency"), w)["state"]
              for w in [dt.datetime(2023, 1, 26, 11, 0, tzinfo=BANGKOK), dt.datetime(2023, 3, 1, 9, 0, tzinfo=BANGKOK)]}
    assert states == {"ok", "overdue"}


# --------------------------------------------------------------------------- staff
def test_staff_by_agency_and_covers():
    users = [
        {"id": "u1", "email": "a@x", "profile": {"first_name": "ก", "last_name": "ข"},
         "roles": [{"agency": "test-agency", "role": "reviewer", "services": None},
                   {"agency": "other", "role": "head_of_agency", "services": ["s1"]}]},
        {"id": "u2", "email": "b@x", "profile": {}, "roles": [{"agency": "*", "role": "system_admin"}]},
        {"id": "u3", "email": "c@x", "profile": {}, "disabled": True,
         "roles": [{"agency": "test-agency", "role": "approver", "services": None}]},
        {"id": "u4", "email": "d@x", "profile": {}, "roles": []},
    ]
    staff = inbox.staff_by_agency(users, ("reviewer", "approver", "head_of_agency"))
    assert set(staff) == {"test-agency", "other"}
    [person] = staff["test-agency"]
    assert person["name"] == "ก ข" and person["roles"] == [("reviewer", None)]
    [head] = staff["other"]
    assert inbox.covers(head, {"head_of_agency"}, "s1") and not inbox.covers(head, {"head_of_agency"}, "s2")
    assert not inbox.covers(person, {"approver"}, "anything") and inbox.covers(person, None, "anything")


@pytest.mark.parametrize("tag", ["ok", "warning", "overdue", "paused", "none"])
def test_counts_has_every_tag(tag):
    assert tag in inbox.counts([])
