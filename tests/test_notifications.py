"""The applicant is told over real SMTP after submission and after each step;
officers get the twice-daily digest.

R: RC-3 (acknowledgement with the intake number and the agency's phone), A-F10
(expected time, how to track), A-R3/A-R4 (what is missing and by when, by
e-mail), A-A5 (the result), CH-3 (08:30/16:30 digest), PR-2 (a refused address
is recorded, the action still succeeds).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from eservice.applications import Applications, declaration_of
from eservice.auth import Accounts
from eservice.clock import BANGKOK, FixedClock
from eservice.engine import EngineContext
from eservice.mail import Mailer, Outbox, RenderError
from eservice.notifications import Notifier, build_context, render_notification, render_template, template_problem
from eservice.policy import Actor, Grant
from eservice.spec.loader import load_or_raise
from eservice.spec.models import Notification
from eservice.store import open_store
from eservice.web.context import AppContext, Settings
from eservice.workflow import Workflow
from smtp_server import closed_port, smtp_server, smtp_server_factory  # noqa: F401  (fixtures)

FIXTURES = Path(__file__).parent / "fixtures" / "defs"
MONDAY = dt.datetime(2026, 1, 5, 10, 0, tzinfo=BANGKOK)
BASE = "https://eservice.test/nbr"
EMAIL = "somchai@example.com"
REVIEWER = Actor(user_id="u-reviewer", grants=(Grant("test-agency", "reviewer"),))


@pytest.fixture
def world(tmp_path):
    clock = FixedClock(MONDAY)
    store = open_store(tmp_path / "data", clock=clock, durable=False)
    catalogue = load_or_raise([FIXTURES])
    accounts = Accounts(store, clock, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    user, token = accounts.register(EMAIL, "a-long-password-1", {"first_name": "สมชาย", "last_name": "ใจดี"})
    accounts.verify_email(token)
    return {"clock": clock, "store": store, "catalogue": catalogue, "user": user}


def notifier_for(world, settings) -> Notifier:
    outbox = Outbox(world["store"], world["clock"])
    mailer = Mailer(settings, outbox=outbox) if settings is not None else None
    return Notifier(world["store"], mailer, outbox=outbox, clock=world["clock"], base_url=BASE)


def submit(world, notifier) -> dict:
    """A real submission through the engine, which calls the notifier (RC-1, RC-3)."""
    ctx = EngineContext(catalogue=world["catalogue"], store=world["store"], clock=world["clock"], notifier=notifier)
    actor = Actor(user_id=world["user"]["id"], name="สมชาย ใจดี")
    apps = Applications(ctx)
    record = apps.start("minimal-permit", actor)
    record, errors = apps.save_page(record["id"], actor, "shop", {"shop_name": "ร้านป้าแดง", "shop_area": 250})
    assert errors == []
    service = world["catalogue"].latest("minimal-permit")
    return apps.submit(record["id"], actor, declaration_shown=declaration_of(service), intent_confirmed=True)


def test_acknowledgement_arrives_with_intake_number_phone_and_link(world, smtp_server):  # R: RC-3, A-F10
    notifier = notifier_for(world, smtp_server.settings())
    record = submit(world, notifier)
    assert record["intake_number"] == "1/2569"

    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == [EMAIL]
    assert "1/2569" in mail.message["Subject"] and "Application received" in mail.message["Subject"]
    text = mail.text
    thai, english = text.split(" English ", 1)
    link = f"{BASE}/applications/{record['id']}"
    for part in (thai, english):
        assert "1/2569" in part and "02-123-4567" in part and link in part and record["reference"] in part
    assert "เลขรับที่: 1/2569" in thai and "เรียน สมชาย ใจดี" in thai
    assert "5 มกราคม พ.ศ. 2569 10:00 น." in thai  # intake time in the Buddhist Era
    assert "Intake number: 1/2569" in english and "5 January 2026, 10:00" in english
    due = dt.datetime.fromisoformat(record["sla_due"]).astimezone(BANGKOK).date()
    assert f"{due.day} มกราคม พ.ศ. {due.year + 543}" in thai  # SLA due date (A-F10)
    assert f"{due.day} January {due.year}" in english

    [sent] = Outbox(world["store"]).for_application(record["id"])
    assert sent["status"] == "sent" and sent["kind"] == "submitted" and sent["to"] == [EMAIL]
    assert sent["message_id"] == mail.message["Message-ID"]


def test_documents_requested_carries_the_officers_inputs(world, smtp_server):  # R: A-R3, A-R4, PR-1
    notifier = notifier_for(world, smtp_server.settings())
    ctx = EngineContext(catalogue=world["catalogue"], store=world["store"], clock=world["clock"], notifier=notifier)
    record = submit(world, notifier)
    Workflow(ctx).take(record["id"], "request_documents", REVIEWER,
                       {"missing": "สำเนาบัตรประชาชนไม่ชัด", "deadline": "2026-01-20"})
    mail = smtp_server.wait_for(2)[1]
    assert mail.message["Subject"] == "ขอเอกสารเพิ่มเติม / More documents needed"  # the definition's own text
    text = mail.text
    assert f"กรุณาส่งเอกสารเพิ่มเติมสำหรับคำขอ {record['reference']}" in text
    assert f"Please send more documents for {record['reference']}" in text
    assert "รายการที่ขาด: สำเนาบัตรประชาชนไม่ชัด" in text
    assert "กำหนดส่ง: 20 มกราคม พ.ศ. 2569" in text and "Deadline: 20 January 2026" in text
    assert f"{BASE}/applications/{record['id']}" in text and "02-123-4567" in text
    kinds = [r["kind"] for r in Outbox(world["store"]).for_application(record["id"])]
    assert kinds == ["submitted", "documents_requested"]


def test_refused_address_is_recorded_and_the_submission_stands(world, smtp_server_factory):  # R: PR-2
    server = smtp_server_factory(reject={EMAIL: "550 5.1.1 User unknown"})
    notifier = notifier_for(world, server.settings())
    record = submit(world, notifier)  # no exception reaches the applicant
    stored = world["store"].get_application(record["id"])
    assert stored["state"] == "submitted" and stored["intake_number"] == "1/2569"
    assert [e["type"] for e in stored["events"]][-1] == "submitted"  # nothing appended by the notifier
    outbox = Outbox(world["store"])
    [failed] = outbox.failures(application=record["id"])
    assert failed["kind"] == "submitted" and failed["error"]["smtp_code"] == 550
    assert failed["error"]["permanent"] is True
    assert outbox.unreachable(EMAIL)
    assert server.messages == []


def test_unreachable_server_and_missing_settings_never_raise(world):  # R: PR-2
    from eservice.mail import SmtpSettings

    down = notifier_for(world, SmtpSettings(host="127.0.0.1", port=closed_port(), timeout=3))
    record = submit(world, down)
    assert world["store"].get_application(record["id"])["state"] == "submitted"
    [failed] = Outbox(world["store"]).failures(application=record["id"])
    assert failed["error"]["code"] == "connect" and failed["error"]["permanent"] is False

    unset = notifier_for(world, None)
    second = submit(world, unset)
    [failed] = Outbox(world["store"]).failures(application=second["id"])
    assert failed["error"]["code"] == "config" and failed["to"] == [EMAIL]


def test_applicant_without_account_is_recorded_not_raised(world, smtp_server):
    notifier = notifier_for(world, smtp_server.settings())
    service = world["catalogue"].latest("minimal-permit")
    result = notifier({"id": "app-x", "applicant": "u-gone", "reference": "AAAA-BBBB-CCCC", "state": "submitted"},
                      "submitted", service, {})
    assert result["status"] == "failed" and result["error"]["code"] == "no_address"
    assert notifier({"id": "app-x", "applicant": "u-gone"}, "no_such_notification", service, {}) is None
    assert smtp_server.messages == []


def test_from_app_context_uses_the_web_settings(world, smtp_server, tmp_path):
    settings = Settings(data=tmp_path / "web", definitions=(FIXTURES,), base_url="https://eservice.go.th/nbr/",
                        smtp=smtp_server.settings(sender="noreply@nbr.go.th"))
    ctx = AppContext(settings=settings, catalogue=world["catalogue"], store=world["store"], clock=world["clock"])
    notifier = Notifier.from_app_context(ctx)
    assert notifier.base_url == "https://eservice.go.th/nbr"
    record = submit(world, notifier)
    [mail] = smtp_server.wait_for(1)
    assert mail.mail_from == "noreply@nbr.go.th"
    assert f"https://eservice.go.th/nbr/applications/{record['id']}" in mail.text

    unset = Notifier.from_app_context(AppContext(settings=Settings(data=tmp_path / "w2", definitions=(FIXTURES,)),
                                                 catalogue=world["catalogue"], store=world["store"],
                                                 clock=world["clock"]))
    assert unset.mailer is None


def test_build_context_names(world):
    service = world["catalogue"].latest("minimal-permit")
    context = build_context({"id": "app-1", "reference": "R", "state": "awaiting_documents",
                             "sla_due": "2026-01-26T09:30:00+00:00", "deadline": "2026-01-20T09:00:00+00:00",
                             "answers": {"shop_name": "ร้าน"}}, service, {}, base_url=BASE)
    assert context["application"]["state_title"] == {"th": "รอเอกสารเพิ่ม", "en": "Awaiting documents"}
    assert context["due_date_th"] == "26 มกราคม พ.ศ. 2569" and context["due_date_en"] == "26 January 2026"
    assert context["application"]["deadline_th"] == "20 มกราคม พ.ศ. 2569 16:00 น."
    assert context["agency"] == {"code": "test-agency", "name": {"th": "หน่วยงานทดสอบ", "en": "Test Agency"},
                                 "phone": "02-123-4567", "email": ""}
    assert context["answers"] == {"shop_name": "ร้าน"}


# --------------------------------------------------------------------------- digest (CH-3)
def test_digest_lists_new_work_for_each_officer(world, smtp_server):  # R: CH-3, A-R1
    notifier = notifier_for(world, None)
    first = submit(world, notifier)
    second = submit(world, notifier)
    digest = notifier_for(world, smtp_server.settings())
    officers = [{"email": "clerk@agency.go.th"}, "reviewer@agency.go.th", {"email": "clerk@agency.go.th"}]
    at = dt.datetime(2026, 1, 5, 16, 30, tzinfo=BANGKOK)
    sent = digest.digest(world["catalogue"].agencies["test-agency"], officers, at)
    assert [r["status"] for r in sent] == ["sent", "sent"]
    mails = smtp_server.wait_for(2)
    assert sorted(m.rcpt_tos[0] for m in mails) == ["clerk@agency.go.th", "reviewer@agency.go.th"]
    text = mails[0].text
    assert "2 รายการ" in mails[0].message["Subject"] and "16:30" in mails[0].message["Subject"]
    assert first["intake_number"] in text and second["intake_number"] in text
    assert "ใบอนุญาตทดสอบ" in text and f"{BASE}/officer" in text and "Work summary for Test Agency" in text

    # Nothing new since: nothing is sent at the next digest.
    world["clock"].set(dt.datetime(2026, 1, 6, 8, 30, tzinfo=BANGKOK))
    assert digest.digest("test-agency", officers, world["clock"].now()) == []
    assert len(smtp_server.messages) == 2

    # Given summaries are reported as they are.
    given = [{"id": "app-9", "intake_number": "9/2569", "title": "ใบอนุญาตทดสอบ", "changed": True}]
    [record] = digest.digest("test-agency", ["a@agency.go.th"], world["clock"].now(), summaries=given)
    assert "9/2569" in smtp_server.wait_for(3)[2].text and record["kind"] == "digest"


# --------------------------------------------------------------------------- rendering


def make_notification() -> Notification:
    return Notification(
        subject={"th": "ได้รับคำขอ {{ application.reference }}", "en": "Application {{ application.reference }} received"},
        body={"th": "เรียน {{ answers.applicant_name }}\nเลขรับ {{ application.intake_number }}\n",
              "en": "Dear {{ answers.applicant_name }}\nReceipt number {{ application.intake_number }}\n"},
    )


CONTEXT = {"application": {"reference": "K7Q-2M4", "intake_number": "123/2567"},
           "answers": {"applicant_name": "สมชาย ใจดี"}}


def test_render_both_languages_thai_first():  # R: RC-3
    mail = render_notification(make_notification(), CONTEXT)
    assert mail.subject == "ได้รับคำขอ K7Q-2M4 / Application K7Q-2M4 received"
    assert mail.text.index("เรียน สมชาย ใจดี") < mail.text.index("Dear สมชาย ใจดี")
    assert "เลขรับ 123/2567" in mail.text and "Receipt number 123/2567" in mail.text


def test_render_one_language_and_english_fallback():
    assert render_notification(make_notification(), CONTEXT, "en").subject == "Application K7Q-2M4 received"
    thai_only = Notification(subject="แจ้งผล", body="ผล: {{ result }}")
    mail = render_notification(thai_only, {"result": "อนุมัติ"}, "en")
    assert (mail.subject, mail.text) == ("แจ้งผล", "ผล: อนุมัติ")
    both = render_notification(thai_only, {"result": "อนุมัติ"})
    assert both.subject == "แจ้งผล" and "English" not in both.text


def test_undefined_renders_empty_without_crash():
    assert render_template("[{{ missing }}|{{ a.b.c }}|{{ answers.nope | default('-') }}]", {"answers": {}}) == "[||-]"


def test_text_mail_is_not_html_escaped():
    assert render_template("{{ name }}", {"name": "<หจก. A & B>"}) == "<หจก. A & B>"


def test_sandbox_refuses_python_internals_and_mutation():  # R: A-X2
    with pytest.raises(RenderError):
        render_template("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})
    answers = {"x": 1}
    with pytest.raises(RenderError):
        render_template("{{ answers.update({'x': 2}) }}", {"answers": answers})
    assert answers == {"x": 1}
    with pytest.raises(RenderError):
        render_template("{{ range(10**9) | list }}", {})


def test_template_problem_reports_syntax_errors():
    assert template_problem("{{ ok }}") is None
    problem = template_problem("{% if %}")
    assert problem is not None and "expected" in problem.lower()
    with pytest.raises(RenderError):
        render_template("{{ unclosed ", {})


def test_rendered_notification_sent_end_to_end(smtp_server):  # R: RC-3
    mail = render_notification(make_notification(), CONTEXT)
    Mailer(smtp_server.settings()).send("somchai@example.com", mail.subject, mail.text)
    [got] = smtp_server.wait_for(1)
    assert got.message["Subject"] == "ได้รับคำขอ K7Q-2M4 / Application K7Q-2M4 received"
    assert "เลขรับ 123/2567" in got.text
