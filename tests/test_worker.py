"""Background jobs (issue #4): timers after a restart, SLA alerts once, the
08:30/16:30 digest on working days only, once; one process runs the jobs.

Mail goes to a real SMTP server on loopback (``smtp_server`` from tests/smtp_server.py).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import threading

from test_web_officer import MONDAY_MORNING, World

from eservice.clock import BANGKOK, FixedClock
from eservice.mail import SmtpSettings
from eservice.web.app import create_app
from eservice.worker import ALERTS, DIGESTS, latest_slot, run_once, start_background, stop_background
from eservice.workflow import Workflow


def _smtp(server) -> SmtpSettings:
    return server.settings(sender="noreply@eservice.test")


def _mails(server, word: str, to: str | None = None) -> list:
    return [m for m in server.messages if word in str(m.message["Subject"])
            and (to is None or any(to in r for r in m.rcpt_tos))]


def _restart(world: World, when: dt.datetime):
    """A new process on the same data folder: a new app, store and context."""
    app = create_app(world.settings, clock=FixedClock(when.astimezone(dt.timezone.utc)))
    return app.state.ctx


# --------------------------------------------------------------------------- timers
def test_timers_fire_after_a_restart_exactly_once(tmp_path):  # R: PR-2, A-R6
    world = World(tmp_path)
    reviewer = world.officer("reviewer", ("test-agency", "reviewer"))
    record = world.submit()
    world.at(MONDAY_MORNING)
    from eservice.policy import Actor, Grant

    actor = Actor(user_id=reviewer["id"], grants=(Grant("test-agency", "reviewer"),))
    Workflow(world.engine).take(record["id"], "request_documents", actor, {"missing": "x"})
    # nothing due yet
    assert run_once(world.app.state.ctx).fired == []
    # the server is down; 31 days later a new process starts on the same data
    later = MONDAY_MORNING + dt.timedelta(days=31)
    first = run_once(_restart(world, later))
    assert len(first.fired) == 1 and first.errors == []
    after = world.get(record["id"])
    assert after["state"] == "disposed" and after["closed"] and after["events"][-1]["actor"] == "system"
    # again, and after another restart: nothing fires twice
    assert run_once(_restart(world, later + dt.timedelta(minutes=1))).fired == []
    assert run_once(_restart(world, later + dt.timedelta(days=1))).fired == []
    # without mail settings, alerts and digests wait (nothing is marked as sent)
    assert list(world.store.collection(DIGESTS).all()) == [] and list(world.store.collection(ALERTS).all()) == []


# --------------------------------------------------------------------------- SLA alerts (A-A6)
def test_sla_alert_is_mailed_once_and_overdue_reaches_the_head(tmp_path, smtp_server):  # R: A-A6
    world = World(tmp_path, record=False, smtp=_smtp(smtp_server))
    world.officer("reviewer", ("test-agency", "reviewer"))
    world.officer("reviewer2", ("test-agency", "reviewer"))
    world.officer("approver", ("test-agency", "approver"))
    world.officer("clerk", ("test-agency", "registry_clerk"))
    world.officer("head", ("test-agency", "head_of_agency"))
    world.officer("foreign", ("other-agency", "reviewer"))
    free = world.submit()
    assigned = world.submit()
    world.store.modify_application(assigned["id"], lambda r: r.update(assignee=world.users["reviewer2"]["id"]))
    due = dt.datetime.fromisoformat(free["sla_due"])
    assert due.astimezone(BANGKOK) == dt.datetime(2023, 2, 10, 16, 30, tzinfo=BANGKOK)  # 15 working days

    world.at(MONDAY_MORNING)
    assert run_once(world.app.state.ctx).alerts == []  # plenty of time
    world.at(due - dt.timedelta(hours=3))  # the due day: no working day left → warning
    report = run_once(world.app.state.ctx)
    assert len(report.alerts) == 2 and report.errors == []
    # nobody assigned: the roles that can act in "submitted" (reviewer, approver); assigned: the assignee only
    warnings = _mails(smtp_server, "ใกล้ครบกำหนด")
    assert len(warnings) == 2
    recipients = sorted(sorted(m.rcpt_tos) for m in warnings)
    assert recipients == [["approver@example.com", "reviewer2@example.com", "reviewer@example.com"],
                          ["reviewer2@example.com"]]
    assert free["intake_number"] in "".join(str(m.message["Subject"]) for m in warnings)
    assert "/officer/applications/" in warnings[0].text
    # no ESERVICE_BASE_URL: the one rule (eservice.web.context.public_url) gives an absolute link
    assert "http://localhost:8000/officer/applications/" in warnings[0].text

    # the next round (and a restart) does not send it again
    assert run_once(world.app.state.ctx).alerts == []
    assert run_once(_restart(world, due - dt.timedelta(hours=2))).alerts == []
    assert len(_mails(smtp_server, "ใกล้ครบกำหนด")) == 2

    # overdue: once more, now to the head of agency as well
    world.at(due + dt.timedelta(hours=1))
    assert len(run_once(world.app.state.ctx).alerts) == 2
    overdue = _mails(smtp_server, "เกินกำหนด")
    assert len(overdue) == 2 and all("head@example.com" in m.rcpt_tos for m in overdue)
    assert not any("clerk@example.com" in m.rcpt_tos or "foreign@example.com" in m.rcpt_tos
                   for m in warnings + overdue)
    assert run_once(world.app.state.ctx).alerts == []
    assert {r["status"] for r in world.store.collection(ALERTS).all()} == {"sent"}


# --------------------------------------------------------------------------- the digest (CH-3)
def test_digest_at_0830_and_1630_on_working_days_only_once(tmp_path, smtp_server):  # R: CH-3
    world = World(tmp_path, record=False, smtp=_smtp(smtp_server))
    world.officer("reviewer", ("test-agency", "reviewer"))
    world.officer("head", ("test-agency", "head_of_agency"))
    world.officer("foreign", ("other-agency", "reviewer"))
    digest = "งานใหม่และงานที่มีความเคลื่อนไหว"

    world.at(dt.datetime(2023, 3, 3, 8, 30, tzinfo=BANGKOK))  # Friday 08:30: the first digest, nothing new yet
    assert sorted(run_once(world.app.state.ctx).digests) == ["other-agency@2023-03-03T01:30:00+00:00",
                                                             "test-agency@2023-03-03T01:30:00+00:00"]
    assert _mails(smtp_server, digest) == []
    world.at(dt.datetime(2023, 3, 3, 10, 0, tzinfo=BANGKOK))
    first = world.submit(name="ร้านวันศุกร์")
    world.at(dt.datetime(2023, 3, 3, 16, 0, tzinfo=BANGKOK))
    assert run_once(world.app.state.ctx).digests == []  # no slot at 16:00
    world.at(dt.datetime(2023, 3, 3, 16, 30, tzinfo=BANGKOK))
    report = run_once(world.app.state.ctx)
    assert "test-agency@2023-03-03T09:30:00+00:00" in report.digests
    mails = _mails(smtp_server, digest)
    assert sorted(r for m in mails for r in m.rcpt_tos) == ["head@example.com", "reviewer@example.com"]
    assert first["intake_number"] in mails[0].text
    world.at(dt.datetime(2023, 3, 3, 16, 45, tzinfo=BANGKOK))
    run_once(world.app.state.ctx)
    assert len(_mails(smtp_server, digest)) == 2  # not twice

    # an application sent on Sunday is received on Tuesday (Monday 6 March 2023 is Makha Bucha)
    world.at(dt.datetime(2023, 3, 5, 12, 0, tzinfo=BANGKOK))
    second = world.submit(name="ร้านวันอาทิตย์")
    world.at(dt.datetime(2023, 3, 6, 8, 30, tzinfo=BANGKOK))
    run_once(world.app.state.ctx)
    assert len(_mails(smtp_server, digest)) == 2  # a holiday: no digest

    # Tuesday 08:30, in a restarted process
    restarted = _restart(world, dt.datetime(2023, 3, 7, 8, 30, tzinfo=BANGKOK))
    run_once(restarted)
    tuesday = _mails(smtp_server, digest)[2:]
    assert len(tuesday) == 2 and second["intake_number"] in tuesday[0].text
    assert f"เลขรับ {first['intake_number']} " not in tuesday[0].text  # already told on Friday
    run_once(_restart(world, dt.datetime(2023, 3, 7, 8, 31, tzinfo=BANGKOK)))
    assert len(_mails(smtp_server, digest)) == 4

    # down from Tuesday 10:00 to Wednesday 10:00: the missed slots are one digest, sent on start
    world.at(dt.datetime(2023, 3, 7, 10, 0, tzinfo=BANGKOK))
    third = world.submit(name="ร้านวันอังคาร")
    run_once(_restart(world, dt.datetime(2023, 3, 8, 10, 0, tzinfo=BANGKOK)))
    wednesday = _mails(smtp_server, digest)[4:]
    assert len(wednesday) == 2 and third["intake_number"] in wednesday[0].text
    assert not _mails(smtp_server, digest, to="foreign@")  # other agency's officers: nothing of ours


def test_latest_slot():  # R: CH-3
    from eservice.calendar import WorkingCalendar

    cal = WorkingCalendar()
    at = lambda *a: dt.datetime(*a, tzinfo=BANGKOK)  # noqa: E731
    assert latest_slot(cal, at(2023, 3, 7, 8, 29)) == at(2023, 3, 3, 16, 30)  # over the weekend and a holiday
    assert latest_slot(cal, at(2023, 3, 7, 8, 30)) == at(2023, 3, 7, 8, 30)
    assert latest_slot(cal, at(2023, 3, 7, 23, 0)) == at(2023, 3, 7, 16, 30)


# --------------------------------------------------------------------------- in the server
def test_background_jobs_run_in_one_process_only(tmp_path):
    world = World(tmp_path)
    other = create_app(world.settings, clock=world.clock)
    assert start_background(world.app) is None  # an injected clock: off unless forced
    assert start_background(world.app, 0, force=True) is None

    async def main():
        one = start_background(world.app, 0.02, force=True)
        two = start_background(other, 0.02, force=True)
        await asyncio.sleep(0.4)
        states = (dict(one.eservice_state), dict(two.eservice_state))
        await stop_background(one)  # the holder stops: the other takes over
        await asyncio.sleep(0.2)
        after = dict(two.eservice_state)
        await stop_background(two)
        return states, after

    # in a thread of its own: a browser test may have left an event loop running in this one
    result = {}
    thread = threading.Thread(target=lambda: result.update(value=asyncio.run(main())))
    thread.start()
    thread.join(30)
    (first, second), after = result["value"]
    assert first["held"] is True and first["rounds"] >= 2
    assert second["held"] is False and second["rounds"] == 0
    assert after["held"] is True and after["rounds"] >= 1
