"""Overdue fees (issue #8 item 7; A-P8): due dates in calendar or working days,
one reminder before the due date, then the definition's ``on_overdue`` as the
``system`` actor — once, across restarts and with two processes — and the head
of agency's approval of the proposed disposal through the real web app.

Time is a FixedClock (eservice.clock); mail goes to a real SMTP server on
loopback (tests/smtp_server.py); the two-process test runs two real Python
processes on one data folder.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

import test_web_officer
from test_web_officer import MONDAY_MORNING, World, post

from eservice import events
from eservice.clock import BANGKOK, FixedClock
from eservice.payments import due as due_rules
from eservice.payments.overdue import REMINDERS
from eservice.policy import Actor, Grant
from eservice.spec.loader import load
from eservice.worker import run_once
from eservice.workflow import Workflow

FEE_SERVICE = "fee-permit"


def fee_service(base: dict) -> dict:
    """minimal-permit with a fee that is due in 10 working days, a reminder 2
    working days before, and ``on_overdue`` proposing disposal to the head."""
    svc = yaml.safe_load(yaml.safe_dump(base))
    svc.update(id=FEE_SERVICE, title={"th": "ใบอนุญาตมีค่าธรรมเนียม", "en": "Permit with a fee"})
    svc.pop("outputs", None)
    svc["fees"] = [{"id": "permit_fee", "title": {"th": "ค่าธรรมเนียมใบอนุญาต", "en": "Permit fee"},
                    "amount": "area_fee", "due_days": 10, "due_days_are": "working_days",
                    "remind_days_before": 2, "methods": ["promptpay", "counter"], "on_overdue": "payment_overdue"}]
    svc["workflow"] = {
        "initial": "submitted",
        "states": [
            {"id": "submitted", "title": {"th": "ยื่นแล้ว", "en": "Submitted"}},
            {"id": "awaiting_payment", "title": {"th": "รอชำระค่าธรรมเนียม", "en": "Waiting for payment"},
             "sla": "paused"},
            {"id": "disposal_proposed", "title": {"th": "เสนอจำหน่ายเรื่อง", "en": "Proposed for closure"},
             "sla": "paused"},
            {"id": "approved", "title": {"th": "อนุมัติ", "en": "Approved"}, "final": True, "outcome": "approved"},
            {"id": "disposed", "title": {"th": "จำหน่ายเรื่อง", "en": "Closed"}, "final": True,
             "outcome": "disposed"},
        ],
        "transitions": [
            {"id": "bill", "title": {"th": "แจ้งชำระค่าธรรมเนียม", "en": "Bill the fee"}, "from": "submitted",
             "to": "awaiting_payment", "roles": ["reviewer"], "effects": [{"issue_fee": "permit_fee"}]},
            {"id": "payment_confirmed", "title": {"th": "ได้รับชำระแล้ว", "en": "Payment received"},
             "from": "awaiting_payment", "to": "approved", "roles": ["system", "finance_officer"], "guard": "paid"},
            {"id": "payment_overdue", "title": {"th": "ไม่ชำระภายในกำหนด เสนอจำหน่ายเรื่อง",
                                                "en": "Not paid in time: propose closing"},
             "from": "awaiting_payment", "to": "disposal_proposed", "roles": ["system"]},
            {"id": "dispose", "title": {"th": "อนุมัติให้จำหน่ายเรื่อง", "en": "Approve closing the request"},
             "from": "disposal_proposed", "to": "disposed", "roles": ["head_of_agency"],
             "inputs": [{"id": "reason", "type": "long_text",
                         "label": {"th": "เหตุผลในการจำหน่ายเรื่อง", "en": "Reason for closing"}}]},
        ],
    }
    svc.pop("notifications", None)
    return svc


@pytest.fixture
def with_fee_service(monkeypatch):
    original = test_web_officer.make_definitions

    def make(root: Path) -> Path:
        defs = original(root)
        base = yaml.safe_load((defs / "test-agency" / "minimal.yaml").read_text(encoding="utf-8"))
        test_web_officer._write(defs / "test-agency" / "fee.yaml", fee_service(base))
        return defs

    monkeypatch.setattr(test_web_officer, "make_definitions", make)


def _world(tmp_path, smtp=None) -> World:
    world = World(tmp_path, **({"smtp": smtp.settings(sender="noreply@eservice.test")} if smtp else {}))
    world.officer("reviewer", ("test-agency", "reviewer"))
    world.officer("head", ("test-agency", "head_of_agency"))
    return world


def _bill(world: World, name: str = "ร้านป้าแดง") -> dict:
    record = world.submit(FEE_SERVICE, name=name)
    world.at(MONDAY_MORNING)
    reviewer = world.client("reviewer")
    done = post(reviewer, f"/officer/applications/{record['id']}/transitions/bill",
                {"expected_version": record["version"]})
    assert done.status_code == 303, done.text
    return world.get(record["id"])


def _at(day: int, month: int = 2, hour: int = 9, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2023, month, day, hour, minute, second, tzinfo=BANGKOK)


def _reminders(server) -> list:
    return [m for m in server.messages if "แจ้งเตือนชำระค่าธรรมเนียม" in str(m.message["Subject"])]


# --------------------------------------------------------------------------- the whole way (A-P8)
def test_unpaid_fee_is_reminded_once_then_proposed_for_disposal_which_the_head_approves(
        tmp_path, with_fee_service, smtp_server):  # R: A-P8, A-P1, PR-2, A-R6
    world = _world(tmp_path, smtp_server)
    record = _bill(world)
    fee = record["fees"][0]
    # issued Monday 23 Jan 2023; 10 *working* days → Monday 6 Feb (calendar days would give Thursday 2 Feb)
    assert fee["status"] == "unpaid" and fee["due_on"] == "2023-02-06"
    ctx = world.app.state.ctx

    # the day before the reminder day (2 working days before the due date: Thursday 2 Feb): nothing
    report = run_once(ctx, _at(1, hour=23, minute=59))
    assert report.fees.reminders == [] and _reminders(smtp_server) == []

    report = run_once(ctx, _at(2))
    assert report.fees.reminders == [f"{record['id']}:{record['payment_notice']['number']}"], report.errors
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == [world.citizen["email"]]
    text = mail.text
    assert "6 กุมภาพันธ์ พ.ศ. 2566" in text and "6 February 2023" in text  # Buddhist Era in Thai
    notice = record["payment_notice"]
    assert "1,000.00 บาท" in text and "THB 1,000.00" in text and notice["number"] in text
    assert "ไม่ชำระภายในกำหนด เสนอจำหน่ายเรื่อง" in text and "Not paid in time: propose closing" in text
    assert f"/applications/{record['id']}" in text
    outbox = [o for o in world.store.collection("outbox").all() if o.get("kind") == "fee_reminder"]
    assert len(outbox) == 1 and outbox[0]["status"] == "sent" and outbox[0]["application"] == record["id"]

    # again, later that day, and after a restart (a new process on the same data): no second reminder
    assert run_once(ctx, _at(2, hour=16)).fees.reminders == []
    assert run_once(_restart(world, _at(3)), _at(3)).fees.reminders == []
    assert len(_reminders(smtp_server)) == 1

    # the last minute of the due date: still payable, nothing happens
    report = run_once(ctx, _at(6, hour=23, minute=59, second=59))
    assert report.fees.overdue == [] and world.get(record["id"])["state"] == "awaiting_payment"

    # the first instant after it: marked overdue, and on_overdue taken as `system`
    report = run_once(_restart(world, _at(7, hour=0)), _at(7, hour=0))
    assert report.fees.overdue == [f"{record['id']}:{record['payment_notice']['number']}"], report.errors
    assert report.fees.transitions == [f"{record['id']}:payment_overdue"]
    after = world.get(record["id"])
    assert after["state"] == "disposal_proposed" and not after["closed"]
    marked, moved = after["events"][-2:]
    assert marked["type"] == "fee_overdue" and marked["actor"] == "system"
    assert marked["data"]["fees"] == ["permit_fee"] and marked["data"]["due_on"] == "2023-02-06"
    assert marked["data"]["on_overdue"] == "payment_overdue"
    assert moved["type"] == "transition" and moved["actor"] == "system"
    assert moved["data"]["transition"] == "payment_overdue"
    assert after["fees"][0]["overdue_at"] and after["fees"][0]["status"] == "unpaid"
    assert after["payment_notice"]["status"] == "overdue"
    assert world.store.collection("notices").get(f"{notice['ref1']}:{notice['ref2']}")["status"] == "overdue"
    assert events.verify_chain(after["events"]) == []

    # more rounds, another process: nothing twice
    for when in (_at(7, hour=0, minute=1), _at(8)):
        again = run_once(_restart(world, when), when)
        assert again.fees.overdue == [] and again.fees.transitions == []
    assert sum(e["type"] == "fee_overdue" for e in world.get(record["id"])["events"]) == 1

    # the head sees it among the matters proposed for disposal, and approves it through the web app
    head = world.client("head")
    listing = head.get("/officer/test-agency/disposal").text
    assert record["id"] in listing
    current = world.get(record["id"])
    done = post(head, f"/officer/applications/{record['id']}/dispose",
                {"expected_version": current["version"], "reason": "ไม่ชำระค่าธรรมเนียมภายในกำหนด"},
                page="/officer/test-agency/disposal")
    assert done.status_code == 303, done.text
    final = world.get(record["id"])
    assert final["state"] == "disposed" and final["outcome"] == "disposed" and final["closed"]
    last = final["events"][-1]
    assert last["data"]["transition"] == "dispose" and last["actor"] == world.users["head"]["id"]
    assert last["data"]["inputs"] == {"reason": "ไม่ชำระค่าธรรมเนียมภายในกำหนด"}
    assert len(_reminders(smtp_server)) == 1


def _restart(world: World, when: dt.datetime):
    from eservice.web.app import create_app

    return create_app(world.settings, clock=FixedClock(when.astimezone(dt.timezone.utc))).state.ctx


def test_a_paid_fee_is_neither_reminded_nor_overdue(tmp_path, with_fee_service, smtp_server):  # R: A-P8
    world = _world(tmp_path, smtp_server)
    record = _bill(world)

    from eservice.payments.ledger import record_payment
    from eservice.policy import SYSTEM

    notice = record["payment_notice"]
    outcome = record_payment(world.engine, ref1=notice["ref1"], ref2=notice["ref2"], amount=notice["amount"],
                             method="counter", actor=SYSTEM, receipt_ref="เล่ม 1/12", move_on=False)
    assert outcome.applied, outcome
    ctx = world.app.state.ctx
    assert run_once(ctx, _at(2)).fees.reminders == []
    report = run_once(ctx, _at(10))
    assert report.fees.overdue == [] and world.get(record["id"])["state"] == "awaiting_payment"
    assert _reminders(smtp_server) == []


def test_a_proof_waiting_for_finance_holds_the_reminder_and_the_overdue(tmp_path, with_fee_service,
                                                                          smtp_server):  # R: A-P8, A-P4
    from eservice.payments.proofs import refuse_proof, submit_proof

    world = _world(tmp_path, smtp_server)
    world.officer("finance", ("test-agency", "finance_officer"))
    record = _bill(world)
    sha = world.engine.files.put(b"%PDF-1.4 slip")
    applicant = Actor(user_id=world.citizen["id"], name="สมชาย ใจดี")
    saved = submit_proof(world.engine, record["id"], applicant, {"sha256": sha, "filename": "slip.pdf",
                                                                 "media_type": "application/pdf", "size": 13})
    ctx = world.app.state.ctx
    assert run_once(ctx, _at(2)).fees.reminders == []
    report = run_once(ctx, _at(8))  # past the due date, the proof still waits: finance decides first
    assert report.fees.overdue == [] and world.get(record["id"])["state"] == "awaiting_payment"
    world.at(_at(8, hour=10))
    finance = Actor(user_id=world.users["finance"]["id"], grants=(Grant("test-agency", "finance_officer"),))
    refuse_proof(world.engine, record["id"], saved["payment_proofs"][-1]["id"], finance, "ยอดไม่ตรง")
    report = run_once(ctx, _at(8, hour=11))
    assert report.fees.transitions == [f"{record['id']}:payment_overdue"]
    assert _reminders(smtp_server) == []  # the reminder day passed while the proof waited


def test_a_crash_between_the_mark_and_the_transition_is_finished_next_round(tmp_path, with_fee_service):  # R: A-P8
    world = _world(tmp_path)
    record = _bill(world)
    stamp = _at(7, hour=0).astimezone(dt.timezone.utc).isoformat()

    def marked_only(current: dict) -> None:  # the state a crash after the first write leaves
        current["fees"][0]["overdue_at"] = stamp
        events.append(current["events"], "fee_overdue", "system", stamp, {"fee": "permit_fee"})
    world.store.modify_application(record["id"], marked_only)
    report = run_once(_restart(world, _at(7, hour=1)), _at(7, hour=1))
    assert report.fees.overdue == [] and report.fees.transitions == [f"{record['id']}:payment_overdue"]
    after = world.get(record["id"])
    assert after["state"] == "disposal_proposed"
    assert sum(e["type"] == "fee_overdue" for e in after["events"]) == 1


def test_without_mail_settings_the_reminder_waits(tmp_path, with_fee_service, smtp_server):  # R: A-P8
    world = _world(tmp_path)  # no SMTP
    record = _bill(world)
    assert run_once(world.app.state.ctx, _at(2)).fees.reminders == []
    assert list(world.store.collection(REMINDERS).all()) == []  # nothing claimed: it goes once mail works
    world.settings = dataclasses.replace(world.settings, smtp=smtp_server.settings(sender="noreply@eservice.test"))
    ctx = _restart(world, _at(3))
    assert run_once(ctx, _at(3)).fees.reminders == [f"{record['id']}:{record['payment_notice']['number']}"]


# --------------------------------------------------------------------------- two processes
WORKER = textwrap.dedent('''
    import datetime as dt, sys, time
    from pathlib import Path
    from eservice.clock import FixedClock
    from eservice.mail import SmtpSettings
    from eservice.web.app import create_app
    from eservice.web.context import Settings
    from eservice.worker import run_once

    data, defs, port, when, go, ready = sys.argv[1:7]
    settings = Settings(data=Path(data), definitions=(Path(defs),),
                        smtp=SmtpSettings(host="127.0.0.1", port=int(port), sender="noreply@eservice.test"))
    now = dt.datetime.fromisoformat(when)
    ctx = create_app(settings, clock=FixedClock(now)).state.ctx
    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.01)
    report = run_once(ctx, now)
    print(len(report.fees.reminders), len(report.fees.transitions), len(report.errors))
''')


def _two_processes(tmp_path: Path, world: World, smtp_server, when: dt.datetime, name: str) -> list[str]:
    script = tmp_path / "round.py"
    script.write_text(WORKER, encoding="utf-8")
    go = tmp_path / f"go-{name}"
    readies = [tmp_path / f"ready-{name}-{i}" for i in range(2)]
    procs = [subprocess.Popen([sys.executable, str(script), str(world.settings.data), str(tmp_path / "defs"),
                               str(smtp_server.port), when.isoformat(), str(go), str(ready)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for ready in readies]
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in readies):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
            [p.communicate() for p in procs if p.poll() is not None]
        time.sleep(0.05)
    go.touch()  # both start their round at once
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outs.append(out.strip())
    return outs


def test_two_processes_remind_once_and_transition_once(tmp_path, with_fee_service, smtp_server):  # R: A-P8
    world = _world(tmp_path, smtp_server)
    records = [_bill(world, name=f"ร้านที่ {i}") for i in range(6)]
    outs = _two_processes(tmp_path, world, smtp_server, _at(2), "remind")
    assert sum(int(o.split()[0]) for o in outs) == 6, outs  # six reminders between the two
    assert len(_reminders(smtp_server)) == 6
    assert sorted(r for m in _reminders(smtp_server) for r in m.rcpt_tos) == [world.citizen["email"]] * 6
    outs = _two_processes(tmp_path, world, smtp_server, _at(7, hour=8), "overdue")
    assert sum(int(o.split()[1]) for o in outs) == 6, outs
    for record in records:
        after = world.get(record["id"])
        assert after["state"] == "disposal_proposed"
        assert sum(e["type"] == "fee_overdue" for e in after["events"]) == 1
        assert sum(e["type"] == "transition" and e["data"]["transition"] == "payment_overdue"
                   for e in after["events"]) == 1
    assert len(_reminders(smtp_server)) == 6


# --------------------------------------------------------------------------- due-date rules
def test_due_dates_in_calendar_and_working_days_skip_thai_holidays(tmp_path, with_fee_service):  # R: A-P8
    world = _world(tmp_path)
    calendar = world.engine.calendar("test-agency")
    service = world.engine.catalogue.latest(FEE_SERVICE)
    spec = service.definition.fees[0]
    songkran_week = dt.date(2023, 4, 10)  # Monday; 13-14 April Songkran, 15 April a Saturday → 17 April off
    assert not calendar.is_working_day(dt.date(2023, 4, 13)) and not calendar.is_working_day(dt.date(2023, 4, 17))
    working = spec.model_copy(update={"due_days": 5})
    assert due_rules.due_on(calendar, songkran_week, working) == dt.date(2023, 4, 20)
    calendar_days = spec.model_copy(update={"due_days": 3, "due_days_are": "calendar_days"})
    # 13 April is a holiday: the period ends on the next working day, 18 April
    assert due_rules.due_on(calendar, songkran_week, calendar_days) == dt.date(2023, 4, 18)
    plain = spec.model_copy(update={"due_days": 2, "due_days_are": "calendar_days"})
    assert due_rules.due_on(calendar, songkran_week, plain) == dt.date(2023, 4, 12)
    # reminders: counted like the due date; none on or before the issue day; 0 = none
    assert due_rules.reminder_on(calendar, songkran_week, dt.date(2023, 4, 20), working) == dt.date(2023, 4, 18)
    assert due_rules.reminder_on(calendar, songkran_week, dt.date(2023, 4, 12), plain.model_copy(
        update={"remind_days_before": 2})) is None
    assert due_rules.reminder_on(calendar, songkran_week, dt.date(2023, 4, 20),
                                 working.model_copy(update={"remind_days_before": 0})) is None
    # overdue from midnight after the due date, Bangkok time
    start = due_rules.overdue_from(calendar, dt.date(2023, 4, 20))
    assert start == dt.datetime(2023, 4, 20, 17, 0, tzinfo=dt.timezone.utc)


def test_a_fee_with_the_default_counts_calendar_days(tmp_path):  # R: A-P8
    world = World(tmp_path)
    world.officer("approver", ("test-agency", "approver"))
    record = world.submit()
    world.at(MONDAY_MORNING)
    actor = Actor(user_id=world.users["approver"]["id"], grants=(Grant("test-agency", "approver"),))
    after = Workflow(world.engine).take(record["id"], "approve", actor, {})
    # minimal-permit: due_days 15 (default), calendar days → Tuesday 7 Feb 2023
    assert after["fees"][0]["due_on"] == "2023-02-07"


# --------------------------------------------------------------------------- eservice check
FIXTURES = Path(__file__).parent / "fixtures" / "defs"


def _check_fee(tmp_path: Path, **fee) -> list:
    import shutil

    defs = tmp_path / "defs"
    shutil.copytree(FIXTURES, defs)
    base = yaml.safe_load((defs / "test-agency" / "minimal.yaml").read_text(encoding="utf-8"))
    svc = fee_service(base)
    svc["fees"][0].update(fee)
    (defs / "test-agency" / "minimal.yaml").unlink()
    path = defs / "test-agency" / "fee.yaml"
    path.write_text(yaml.safe_dump(svc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load([defs])[1]


def test_check_refuses_an_on_overdue_naming_no_transition(tmp_path):  # R: A-P8, A-SP3
    assert _check_fee(tmp_path / "ok") == []
    problems = _check_fee(tmp_path / "bad", on_overdue="payment_overdu")
    [p] = [p for p in problems if "payment_overdu" in p.en]
    assert p.file.endswith("fee.yaml") and p.line > 0
    text = (tmp_path / "bad" / "defs" / "test-agency" / "fee.yaml").read_text(encoding="utf-8").splitlines()
    assert "on_overdue: payment_overdu" in text[p.line - 1]
    assert "payment_overdue" in p.format()  # did you mean …
    assert p.th and p.en
    # and from the command line, with file:line
    out = subprocess.run([sys.executable, "-m", "eservice.cli", "check", str(tmp_path / "bad" / "defs")],
                         capture_output=True, text=True)
    assert out.returncode == 1 and f"fee.yaml:{p.line}:" in out.stdout


def test_check_refuses_an_on_overdue_that_cannot_start_and_a_reminder_that_cannot_go(tmp_path):  # R: A-P8
    problems = _check_fee(tmp_path / "a", on_overdue="dispose")
    assert any("does not start from the state this fee is issued into" in p.en and "awaiting_payment" in p.format()
               for p in problems), [p.en for p in problems]
    problems = _check_fee(tmp_path / "b", remind_days_before=10)
    assert any("cannot go" in p.en and "remind_days_before" in p.format() for p in problems), \
        [p.en for p in problems]
