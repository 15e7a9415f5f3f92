"""Referral of every shipped service, through the real web app (issue #21 item 1; RC-2).

The shipped definitions run in one app with a real time-stamp server and a real
SMTP server (as in ``tests/test_outputs_journey.py``).  The applicant applies
through the API; the registry clerk refers through the application page (a form
with its CSRF token).  Three services declare nothing about referral and get the
platform's notice and letter; ``licence-information-request`` overrides both.
"""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from eservice.referral import MAX_NOTE
from smtp_server import SmtpTestServer
from test_outputs_journey import ANSWERS, World, check_signed, nss, token_of, verifier  # noqa: F401
from tsa_server import tsa_server  # noqa: F401  (fixture)

INFO_ANSWERS = {"licence_kind": "food_licence", "licence_number": "นบ 12/2568", "purpose": "before_contract",
                "requester_name": "สมชาย ใจดี", "email": "somchai@example.com", "accept_use": True}
OWN_AGENCY = {"commercial-registration": "chatuchak-district", "building-permit": "nonthaburi-city",
              "food-shop-permit": "nonthaburi-city", "licence-information-request": "nonthaburi-city"}
OTHER = {"chatuchak-district": "nonthaburi-city", "nonthaburi-city": "chatuchak-district"}


@pytest.fixture(scope="module")
def world(tmp_path_factory, tsa_server):  # noqa: F811
    with SmtpTestServer() as smtp:
        w = World(tmp_path_factory.mktemp("referral") / "data", tsa_server, smtp)
        ANSWERS.setdefault("licence-information-request", INFO_ANSWERS)
        yield w


def refer(world, who: str, app_id: str, expect: int = 303, **fields):
    client = world.web(who)
    page = client.get(f"/officer/applications/{app_id}")
    assert page.status_code == 200, page.text[:300]
    assert 'id="form-refer"' in page.text  # RC-2: every service can be referred
    version = world.store.get_application(app_id)["version"]
    response = client.post(f"/officer/applications/{app_id}/refer",
                           data={"csrf_token": token_of(page.text), "expected_version": version, **fields},
                           follow_redirects=False)
    assert response.status_code == expect, response.text[:2000]
    return response


def apply(world, service: str) -> str:
    if service == "licence-information-request":
        from test_outputs_journey import DOCUMENTS
        DOCUMENTS.setdefault(service, [])
    return world.apply(service)


@pytest.mark.parametrize("service", sorted(OWN_AGENCY))
def test_refer_to_an_agency_on_this_installation(world, nss, tmp_path, service):  # noqa: F811
    """RC-2: referred to the other agency of the installation; its contact comes from its definition."""
    own, other = OWN_AGENCY[service], OTHER[OWN_AGENCY[service]]
    app_id = apply(world, service)
    before = len(world.smtp.messages)
    refer(world, f"registry_clerk.{own}", app_id, referred_to_agency=other, note="เรื่องนี้อยู่ในเขตของหน่วยงานนั้น")
    record = world.store.get_application(app_id)
    receiving = world.app.state.ctx.catalogue.agencies[other]
    assert record["closed"] and record["outcome"] == "referred"
    assert record["referral"]["referred_to"] == receiving.name.th
    assert receiving.phone in record["referral"]["contact"]
    assert record["events"][-1]["type"] == "referred"

    # the applicant's notice: the platform's, or the definition's own, with the signed letter attached
    [mail] = world.smtp.wait_for(before + 1)[before:]
    declared = service == "licence-information-request"
    if declared:
        assert mail.message["Subject"].startswith("แจ้งหน่วยงานที่รับผิดชอบ คำขอ")
    else:
        assert mail.message["Subject"] == (f"คำขอ {record['reference']} ส่งต่อไปยัง {receiving.name.th} / "
                                           f"Application {record['reference']} referred to {receiving.name.th}")
        assert "Responsible agency: " + receiving.name.th in mail.text
    assert receiving.phone in mail.text  # where, and whom to contact (the footer adds it to a declared notice)
    [letter] = mail.attachments
    pdf = letter.get_content()
    assert [x["id"] for x in record["letters"]] == ["referral_letter"]
    check_signed(world, nss, tmp_path, pdf, receiving.name.th, "แจ้งหน่วยงานที่รับผิดชอบ",
                 *(() if declared else ("Referral to the responsible agency",)))

    # the status page: current state and history say where and whom to contact, in Thai and in English
    client = world.web("somchai")
    status = client.get(f"/applications/{app_id}/status?lang=th").text
    assert f"ส่งต่อไปยัง {receiving.name.th} ติดต่อ" in status
    assert status.count(f"ส่งต่อไปยัง {receiving.name.th}") >= 3  # tag, "where it is now", history
    assert re.search(rf'href="/applications/{app_id}/issued/[0-9a-f]{{64}}"', status)
    english = client.get(f"/applications/{app_id}/status?lang=en").text
    assert f"Referred to {receiving.name.th}, contact" in english
    client.get("/?lang=th")

    # the receiving agency sees it in its inbox with the note, and may read it (nothing more)
    clerk = world.web(f"registry_clerk.{other}")
    inbox = clerk.get(f"/officer/{other}").text
    assert 'id="referred-here"' in inbox and "เรื่องนี้อยู่ในเขตของหน่วยงานนั้น" in inbox
    assert f"/officer/applications/{app_id}" in inbox
    page = clerk.get(f"/officer/applications/{app_id}")
    assert page.status_code == 200 and 'id="referral"' in page.text
    assert 'id="form-refer"' not in page.text
    # an officer of a third party (here: the referring agency's head seeing the other's inbox) gets nothing
    assert world.web(f"head_of_agency.{own}").get(f"/officer/{other}").status_code == 404


def test_refer_outside_the_installation_needs_a_contact(world):
    app_id = apply(world, "food-shop-permit")
    before = world.store.get_application(app_id)
    page = refer(world, "registry_clerk.nonthaburi-city", app_id, expect=400, referred_to="สำนักงานสาธารณสุขจังหวัด")
    assert "กรุณากรอกช่องทางติดต่อหน่วยงานที่รับผิดชอบ" in page.text
    assert world.store.get_application(app_id)["version"] == before["version"]
    refer(world, "registry_clerk.nonthaburi-city", app_id, referred_to="สำนักงานสาธารณสุขจังหวัดนนทบุรี",
          contact="02-580-0701 ssj@example.go.th")
    record = world.store.get_application(app_id)
    assert record["referral"]["contact"] == "02-580-0701 ssj@example.go.th"
    assert world.store.collection("referrals").get(app_id) is None  # not on this installation: no inbox
    status = world.web("somchai").get(f"/applications/{app_id}/status").text
    assert "ส่งต่อไปยัง สำนักงานสาธารณสุขจังหวัดนนทบุรี ติดต่อ 02-580-0701 ssj@example.go.th" in status


def test_an_over_long_note_is_refused_not_cut(world):
    """The note was cut silently at a limit; now it is refused with a Thai and English message."""
    app_id = apply(world, "building-permit")
    before = world.store.get_application(app_id)
    sent = len(world.smtp.messages)
    page = refer(world, "registry_clerk.nonthaburi-city", app_id, expect=400,
                 referred_to_agency="chatuchak-district", note="ก" * (MAX_NOTE + 1))
    assert "ยาวเกิน 2,000 ตัวอักษร" in page.text and 'id="refer-note-error"' in page.text
    english = world.web("registry_clerk.nonthaburi-city").get(f"/officer/applications/{app_id}?lang=en")
    assert english.status_code == 200
    record = world.store.get_application(app_id)
    assert record["version"] == before["version"] and not record.get("closed")
    assert len(world.smtp.messages) == sent
    world.web("registry_clerk.nonthaburi-city").get("/?lang=th")
    refer(world, "registry_clerk.nonthaburi-city", app_id, referred_to_agency="chatuchak-district",
          note="ข" * MAX_NOTE)  # exactly at the limit: kept whole
    assert world.store.get_application(app_id)["referral"]["note"] == "ข" * MAX_NOTE


def test_check_says_which_referral_texts_are_in_force():
    out = subprocess.run([sys.executable, "-m", "eservice.cli", "check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = {line.split(":", 1)[0]: line for line in out.stdout.splitlines() if "RC-2" in line}
    assert "notice = platform default, letter = platform default" in lines["food-shop-permit"]
    assert "ข้อความแจ้งผู้ยื่น = ค่าเริ่มต้นของระบบ" in lines["building-permit"]
    assert "notice = declared by the definition, letter = declared by the definition" in \
        lines["licence-information-request"]


def test_referral_pages_are_accessible(world):
    """axe-core, Thai and English: the refer form, the referred application (both agencies), the
    receiving inbox and the applicant's status page."""
    from axe_pages import assert_axe_clean

    open_app = apply(world, "commercial-registration")
    done = apply(world, "commercial-registration")
    refer(world, "registry_clerk.chatuchak-district", done, referred_to_agency="nonthaburi-city", note="ตัวอย่าง")
    referred = world.store.collection("referrals").get(done)
    assert_axe_clean(world.web("registry_clerk.chatuchak-district"),
                     [f"/officer/applications/{open_app}", f"/officer/applications/{referred['application']}"])
    assert_axe_clean(world.web("registry_clerk.nonthaburi-city"),
                     ["/officer/nonthaburi-city", f"/officer/applications/{referred['application']}"])
    assert_axe_clean(world.web("somchai"), [f"/applications/{referred['application']}/status", "/applications"])


def test_an_over_long_disposal_reason_is_refused_not_cut(world):
    """Same rule for the head's disposal reason (PR-2): refused with a message, nothing saved."""
    from eservice.referral import MAX_TEXT, dispose
    from eservice.engine import EngineError
    from eservice.policy import Actor, Grant

    app_id = apply(world, "food-shop-permit")
    head = Actor(user_id="head", grants=(Grant("nonthaburi-city", "head_of_agency", None),))
    from eservice.runtime import engine_of
    engine = engine_of(world.app.state.ctx)
    with pytest.raises(EngineError) as err:
        dispose(engine, app_id, head, reason="ก" * (MAX_TEXT + 1))
    assert err.value.code == "too_long" and "1,000" in err.value.th and "1,000" in err.value.en
    assert not world.store.get_application(app_id).get("closed")
