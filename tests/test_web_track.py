"""Tracking through the web (issue #3 item 7): my applications, the status page in
plain language, what the officer asked for, sending it back with the applicant's
own transition, fees, letters from the agency, and nobody else's applications.

Officers act through the engine (``Workflow.take``) since their pages are another
module; the applicant acts only through the web pages.
"""
from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from eservice.engine import EngineContext
from eservice.policy import Actor, Grant
from eservice.workflow import Workflow

from test_web_apply import (FIXTURES, SERVICE, at, attach_required, csrf, fill, page_url, pdf_bytes, post, start,
                            stored, submit, upload)

AGENCY = "nonthaburi-city"
CLERK = Actor(user_id="u-clerk", grants=(Grant(AGENCY, "registry_clerk"),), name="เจ้าหน้าที่ธุรการ")
REVIEWER = Actor(user_id="u-reviewer", grants=(Grant(AGENCY, "reviewer"),), name="ผู้ตรวจ")
APPROVER = Actor(user_id="u-approver", grants=(Grant(AGENCY, "approver"),), name="ผู้อนุมัติ")


def workflow_of(app) -> Workflow:
    from eservice.outputs import Outputs

    ctx = app.state.ctx
    return Workflow(EngineContext(catalogue=ctx.catalogue, store=ctx.store, files=ctx.files, clock=ctx.clock,
                                  outputs=Outputs.from_settings(ctx.settings, ctx.files, ctx.clock)))


@pytest.fixture
def app(app_factory):
    return app_factory(clock=at())


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def citizen(client, signed_in):
    return signed_in(client, "track@example.com", {"first_name": "สมชาย", "last_name": "ใจดี"})


@pytest.fixture
def submitted(app, client, citizen):
    app_id = start(client)
    fill(client, app_id)
    attach_required(client, app_id)
    assert submit(client, app_id).status_code == 303
    return app_id


def test_my_applications_lists_drafts_and_sent_ones(app, client, submitted):  # R: A-F5, A-F9
    draft = client.post(f"/apply/{SERVICE}", data={"csrf_token": csrf(client, "/applications")},
                        follow_redirects=False).headers["location"].split("/")[2]
    page = client.get("/applications")
    assert page.status_code == 200
    record = stored(app, submitted)
    assert record["intake_number"] in page.text and record["reference"] in page.text
    assert f'/applications/{submitted}/status' in page.text
    assert "tag--blue" in page.text and "ยื่นคำขอแล้ว" in page.text  # the state's title as a tag
    assert f'href="/applications/{draft}"' in page.text and "ฉบับร่างที่ยังไม่ได้ยื่น" in page.text


def test_status_page_in_plain_language(app, client, submitted):  # R: A-F10, RC-3
    status = client.get(f"/applications/{submitted}/status")
    assert status.status_code == 200
    text = status.text
    assert "ยื่นคำขอแล้ว" in text
    assert "เทศบาลได้รับคำขอแล้ว เจ้าหน้าที่จะตรวจความครบถ้วนของคำขอและเอกสาร" in text  # state description
    assert "ยื่นคำขอแล้ว เลขรับ 1/2569" in text and "เริ่มกรอกคำขอ" in text  # history
    assert "02-589-0500" in text  # who to call (RC-3)
    assert "ถอนคำขอ" in text  # the applicant's own action in this state (withdraw)
    assert "ส่งเอกสารเพิ่มเติม" not in text  # not possible before documents are asked for
    english = client.get(f"/applications/{submitted}/status?lang=en")
    assert "The municipality has your request" in english.text


def test_documents_asked_for_then_sent_back(app, client, submitted):  # R: PR-1, PR-5, A-R3, A-R4, A-F4
    flow = workflow_of(app)
    flow.take(submitted, "request_documents", CLERK, {
        "missing_items": ["floor_plan", "other"], "note": "แผนผังอ่านไม่ออก กรุณาสแกนใหม่",
        "deadline": "2026-06-30"})
    status = client.get(f"/applications/{submitted}/status")
    text = status.text
    assert "รอเอกสารเพิ่มเติม" in text and "tag--orange" in text
    assert "แก้ไขข้อมูลหรือแนบเอกสารตามรายการที่เจ้าหน้าที่แจ้ง" in text  # applicant_action
    assert "แผนผังสถานที่" in text and "อื่น ๆ (ระบุในหมายเหตุ)" in text  # option labels, not values
    assert "แผนผังอ่านไม่ออก กรุณาสแกนใหม่" in text
    assert "กำหนดส่งภายใน 30 มิถุนายน พ.ศ. 2569" in text
    assert "หยุดนับเวลาไว้ระหว่างรอท่านดำเนินการ" in text  # SLA paused
    # an upload control for exactly the document asked for, returning to this page
    assert re.search(r'name="document" value="floor_plan">\s*<input type="hidden" name="return" value="status">', text)
    assert 'name="document" value="id_card_copy"' not in text

    response = upload(client, submitted, "floor_plan", "แผนผังใหม่.pdf", pdf_bytes("new plan"), **{"return": "status"})
    assert response.status_code == 303 and response.headers["location"].startswith(f"/applications/{submitted}/status")
    record = stored(app, submitted)
    assert [f["filename"] for f in record["documents"]["floor_plan"]] == ["แผนผังใหม่.pdf"]
    assert record["events"][-1]["type"] == "document_added"
    status = client.get(f"/applications/{submitted}/status")
    assert "แนบเอกสาร “แผนผังแสดงที่ตั้งและผังภายในสถานที่”" in status.text

    # a refused file on the status page keeps the earlier one
    response = upload(client, submitted, "floor_plan", "plan.pdf", b"\x89PNG\r\n\x1a\n" + b"0" * 50,
                      **{"return": "status"})
    assert response.status_code == 415
    assert [f["filename"] for f in stored(app, submitted)["documents"]["floor_plan"]] == ["แผนผังใหม่.pdf"]

    response = post(client, f"/applications/{submitted}/actions/send_documents", {},
                    get_url=f"/applications/{submitted}/status")
    assert response.status_code == 303
    record = stored(app, submitted)
    assert record["state"] == "under_review" and record["changed"] is True
    status = client.get(response.headers["location"])
    assert "ดำเนินการแล้ว: ส่งเอกสารเพิ่มเติม" in status.text and "อยู่ระหว่างพิจารณา" in status.text


def test_an_action_not_allowed_now_changes_nothing(app, client, submitted):  # R: A-A4
    before = stored(app, submitted)
    response = post(client, f"/applications/{submitted}/actions/send_documents", {},
                    get_url=f"/applications/{submitted}/status")
    assert response.status_code == 409 and 'href="#actions"' in response.text
    assert "ทำรายการ “ส่งเอกสารเพิ่มเติม” ไม่ได้ในสถานะ “ยื่นคำขอแล้ว”" in response.text
    after = stored(app, submitted)
    assert after["state"] == "submitted" and after["version"] == before["version"]
    # an officer's transition cannot be taken by the applicant at all
    response = post(client, f"/applications/{submitted}/actions/accept", {},
                    get_url=f"/applications/{submitted}/status")
    assert response.status_code == 404 and stored(app, submitted)["state"] == "submitted"


def test_refusal_letter_and_final_state(app, client, submitted):  # R: IS-3, A-A5
    from eservice.certificates import create_agency_keys

    create_agency_keys(app.state.ctx.settings.data, AGENCY, org_name_th="เทศบาลนครนนทบุรี")  # signs the letter
    flow = workflow_of(app)
    flow.take(submitted, "accept", CLERK)
    flow.take(submitted, "reject", APPROVER, {"reason": "สถานที่ไม่ถูกสุขลักษณะตามกฎกระทรวง"})
    status = client.get(f"/applications/{submitted}/status")
    text = status.text
    assert "tag--red" in text and "ไม่อนุญาต" in text
    assert "หนังสือแจ้งคำสั่งไม่อนุญาต" in text  # the letter the agency issued, to download
    link = re.search(rf'href="(/applications/{submitted}/issued/[0-9a-f]{{64}})"', text)
    assert link and client.get(link.group(1)).content.startswith(b"%PDF-")
    assert "สถานที่ไม่ถูกสุขลักษณะตามกฎกระทรวง" in text  # the reason, in the history
    assert "ถอนคำขอ" not in text.split("ความเป็นมา")[0]  # no actions left on a closed application
    assert "คาดว่าจะแล้วเสร็จภายใน" not in text


def test_fees_are_shown_with_amount_deadline_and_ways_to_pay(app_factory, signed_in):  # R: A-P1
    from eservice.web.demo import install_demo_keys

    app = app_factory(FIXTURES, clock=at())
    install_demo_keys(app.state.ctx.settings.data, app.state.ctx.catalogue)  # the notice is a signed PDF (#8)
    with TestClient(app) as client:
        signed_in(client, "fee@example.com")
        app_id = start(client, "minimal-permit")
        post(client, page_url(app_id, "shop"), {"shop_name": "ร้าน", "shop_area": "20", "action": "continue"})
        assert submit(client, app_id).status_code == 303
        workflow_of(app).take(app_id, "approve", Actor(user_id="u-a", grants=(Grant("test-agency", "approver"),)))
        status = client.get(f"/applications/{app_id}/status")
        assert "ค่าธรรมเนียมใบอนุญาต" in status.text and "500.00 บาท" in status.text
        assert "30 มิถุนายน พ.ศ. 2569" in status.text and "พร้อมเพย์ (QR)" in status.text
        assert "รอชำระ" in status.text and "tag--green" in status.text  # approved


def test_resubmit_on_the_fixture_service(app_factory, signed_in):  # R: PR-1, A-R1
    app = app_factory(FIXTURES, clock=at())
    with TestClient(app) as client:
        signed_in(client, "again@example.com")
        app_id = start(client, "minimal-permit")
        post(client, page_url(app_id, "shop"), {"shop_name": "ร้าน", "shop_area": "20", "action": "continue"})
        assert submit(client, app_id).status_code == 303
        reviewer = Actor(user_id="u-r", grants=(Grant("test-agency", "reviewer"),))
        workflow_of(app).take(app_id, "request_documents", reviewer, {"missing": "สำเนาสัญญาเช่า"})
        status = client.get(f"/applications/{app_id}/status")
        assert "สำเนาสัญญาเช่า" in status.text and f'action="/applications/{app_id}/actions/resubmit"' in status.text
        response = post(client, f"/applications/{app_id}/actions/resubmit", {},
                        get_url=f"/applications/{app_id}/status")
        assert response.status_code == 303 and stored(app, app_id)["state"] == "submitted"
        history = client.get(f"/applications/{app_id}/status").text.split("ความเป็นมา")[1]
        assert history.index("ส่งเอกสารเพิ่ม") < history.index("ขอเอกสารเพิ่ม")  # newest first


def test_track_by_reference_code(app, client, submitted):  # R: A-F9
    reference = stored(app, submitted)["reference"]
    response = client.get("/track", params={"ref": reference.lower()}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/applications/{submitted}/status"
    response = client.get("/track", params={"ref": reference.replace("-", "")}, follow_redirects=False)
    assert response.status_code == 303
    response = client.get("/track", params={"ref": "AAAA-BBBB-CCCC"})
    assert response.status_code == 404 and 'href="#ref"' in response.text
    assert client.get("/track").status_code == 200


def test_nobody_else_sees_or_acts_on_my_application(app, client, submitted, signed_in):  # R: A-X1
    reference = stored(app, submitted)["reference"]
    before = stored(app, submitted)
    with TestClient(app) as other:
        signed_in(other, "stranger@example.com")
        assert other.get(f"/applications/{submitted}/status").status_code == 404
        assert other.get("/track", params={"ref": reference}).status_code == 404
        assert reference not in other.get("/applications").text
        response = other.post(f"/applications/{submitted}/actions/withdraw",
                              data={"csrf_token": csrf(other, "/applications")}, follow_redirects=False)
        assert response.status_code == 404
    after = stored(app, submitted)
    assert after["state"] == "submitted" and after["version"] == before["version"]


def test_withdraw_needs_the_csrf_token(app, client, submitted):  # R: A-X2
    response = client.post(f"/applications/{submitted}/actions/withdraw", data={"reason": "x"},
                           follow_redirects=False)
    assert response.status_code == 403 and stored(app, submitted)["state"] == "submitted"
