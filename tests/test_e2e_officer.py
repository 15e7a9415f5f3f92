"""The officers' journey in a real browser (issue #4 "Done means").

The food-shop permit of Nonthaburi City, with its own workflow
(service_definitions/nonthaburi-city/food-shop-permit.yaml):

    submitted --request_documents (registry_clerk, reviewer; inputs: missing_items, note, deadline)-->
    awaiting_documents --send_documents (applicant)--> under_review
    --approve_notification (reviewer, approver; guard !needs_licence: 120 m² <= 200)--> approved

Three browser contexts side by side — the applicant, a reviewer and an approver
of the agency (accounts seeded before the server starts) — against a real
server and a real SMTP server.  Assertions are on what each person sees and on
the mails the applicant receives.

R: A-R1, A-R2, A-R3, A-R4, A-A1, A-A2, A-A3, A-A4, A-A5, PR-1, PR-13, RC-1, A-X1, NF-1.
"""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from eservice.dates import THAI_MONTHS

pytest.register_assert_rewrite("browser")  # before the import: its asserts report like pytest's
pytest_plugins = ("browser",)  # the harness's fixtures and screenshots on failure

from browser import (AGENCY, PASSWORD, SERVICE_TITLE, apply_for_food_shop, attach, expect, links_in,  # noqa: E402
                     make_pdf, seed_user, sign_in, thai_id, wait_for_mail)

CITIZEN = "somsri.rakdee@example.com"
REVIEWER = "reviewer@nakornnont.example.go.th"
APPROVER = "approver@nakornnont.example.go.th"
NOTE = "แผนผังที่แนบไม่แสดงตำแหน่งอ่างล้างภาชนะและจุดทิ้งขยะ กรุณาแนบแผนผังฉบับใหม่"


def seed(data: Path) -> None:
    seed_user(data, CITIZEN, PASSWORD, {"first_name": "สมศรี", "last_name": "รักดี",
                                        "national_id": thai_id("110170034567"), "phone": "0891234567"})
    seed_user(data, REVIEWER, PASSWORD, {"first_name": "วิภา", "last_name": "ตรวจการ"},
              roles=[(AGENCY, "reviewer")])
    seed_user(data, APPROVER, PASSWORD, {"first_name": "ประเสริฐ", "last_name": "อนุมัติ"},
              roles=[(AGENCY, "approver")])


def inbox_row(page, intake: str):
    """The inbox row of one application (its first cell is the intake number link)."""
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=intake, exact=True))


def test_officers_ask_for_documents_then_approve(server_factory, new_context):
    started = time.monotonic()
    server = server_factory(seed=seed)
    smtp = server.smtp

    # The applicant sends an application through the e-Form.
    applicant = new_context().new_page()
    sign_in(applicant, server, CITIZEN)
    intake = apply_for_food_shop(applicant, server, "ร้านสมศรีก๋วยเตี๋ยวเรือ")
    reference = applicant.locator(".reference").inner_text().strip()
    wait_for_mail(smtp, CITIZEN, f"เลขรับที่ {intake}")

    # 1. The reviewer signs in and finds it in the inbox, marked new (A-R1, RC-1).
    reviewer = new_context().new_page()
    sign_in(reviewer, server, REVIEWER)
    expect(reviewer.get_by_role("heading", level=1)).to_have_text("กล่องงาน")
    row = inbox_row(reviewer, intake)
    expect(row).to_contain_text(SERVICE_TITLE)
    expect(row).to_contain_text("ยื่นคำขอแล้ว")
    expect(row).to_contain_text("ใหม่/มีความเคลื่อนไหว")

    # 2. Opens it: every answer, the documents, the signature (A-R2).
    row.get_by_role("link", name=intake, exact=True).click()
    expect(reviewer.get_by_role("heading", level=1)).to_have_text(f"คำขอเลขรับ {intake}")
    main = reviewer.get_by_role("main")
    for shown in ("ร้านสมศรีก๋วยเตี๋ยวเรือ", "สมศรี", "floor_plan.pdf", "ข้อมูลตรงกับที่ลงนามไว้"):
        expect(main).to_contain_text(shown)

    # 3. Asks for more documents with the transition's inputs: what is missing and a deadline (PR-1, A-R3).
    deadline = dt.date.today() + dt.timedelta(days=14)
    deadline_th = f"{deadline.day} {THAI_MONTHS[deadline.month - 1]} พ.ศ. {deadline.year + 543}"
    form = reviewer.locator("form#form-request_documents")
    form.get_by_role("group", name="รายการที่ขาด").get_by_label("แผนผังสถานที่", exact=True).check()
    form.get_by_label("รายละเอียดสิ่งที่ต้องแก้ไขหรือส่งเพิ่ม").fill(NOTE)
    # the Thai date widget (issue #10 item 6): day, month and Buddhist-Era year, written out as typed
    box = form.get_by_role("group", name="กำหนดส่งภายในวันที่")
    box.get_by_label("วัน", exact=True).fill(str(deadline.day))
    box.get_by_label("เดือน", exact=True).fill(str(deadline.month))
    box.get_by_label("ปี (พ.ศ.)", exact=True).fill(str(deadline.year + 543))
    expect(box.locator("[data-date-shown]")).to_have_text(deadline_th)
    form.get_by_role("button", name="ขอเอกสารเพิ่มเติม").click()
    expect(reviewer.get_by_role("heading", level=1)).to_have_text("กล่องงาน")
    expect(reviewer.get_by_role("status").first).to_contain_text(f"ขอเอกสารเพิ่มเติม” ของคำขอเลขรับ {intake}")
    expect(inbox_row(reviewer, intake)).to_contain_text("รอเอกสารเพิ่มเติม")

    # 4. The applicant is told by e-mail (A-R4), with what is missing, the deadline and a link.
    mail = wait_for_mail(smtp, CITIZEN, f"ขอเอกสารเพิ่มเติม คำขอ {reference}")
    assert "แผนผังสถานที่" in mail.text and NOTE in mail.text, mail.text
    assert deadline_th in mail.text, mail.text  # the deadline, in Thai with the Buddhist-Era year
    links = [u for u in links_in(mail.text, server.base_url) if "/applications/" in u]
    assert links, mail.text

    # 5. The applicant opens the link and sees exactly what was asked, with the deadline.
    applicant.goto(links[0])
    expect(applicant.get_by_role("heading", level=1)).to_have_text("สถานะคำขอ")
    main = applicant.get_by_role("main")
    expect(main.locator(".tag").first).to_have_text("รอเอกสารเพิ่มเติม")
    todo = applicant.get_by_role("region", name="สิ่งที่ท่านต้องดำเนินการ")
    expect(todo).to_contain_text("รายการที่เจ้าหน้าที่แจ้ง")
    expect(todo).to_contain_text("แผนผังสถานที่")
    expect(todo).to_contain_text(NOTE)
    expect(todo).to_contain_text(f"กำหนดส่งภายใน {deadline_th}")

    # 6. Uploads the new floor plan there and sends the documents back (A-F4, PR-1).
    expect(main).to_contain_text("แนบเอกสารที่ขอเพิ่ม")
    attach(applicant, "floor_plan", "floor_plan_v2.pdf", make_pdf("floor plan v2 with sinks and waste point"))
    applicant.get_by_role("button", name="ส่งเอกสารเพิ่มเติม").click()
    expect(applicant.get_by_role("status").first).to_contain_text("ดำเนินการแล้ว: ส่งเอกสารเพิ่มเติม")
    expect(main.locator(".tag").first).to_have_text("อยู่ระหว่างพิจารณา")
    wait_for_mail(smtp, CITIZEN, f"ได้รับเอกสารเพิ่มเติม คำขอ {reference}")

    # 7. Back in the inbox, marked changed (A-R1: requests that changed).
    reviewer.reload()
    row = inbox_row(reviewer, intake)
    expect(row).to_contain_text("อยู่ระหว่างพิจารณา")
    expect(row).to_contain_text("ใหม่/มีความเคลื่อนไหว")

    # 8. The approver — the next role of this workflow — sees it changed, with the new file, and approves.
    approver = new_context().new_page()
    sign_in(approver, server, APPROVER)
    row = inbox_row(approver, intake)
    expect(row).to_contain_text("ใหม่/มีความเคลื่อนไหว")
    row.get_by_role("link", name=intake, exact=True).click()
    main = approver.get_by_role("main")
    expect(main).to_contain_text("floor_plan_v2.pdf")
    expect(main).to_contain_text(NOTE)  # the history shows what was asked
    expect(approver.locator("form#form-request_documents")).to_have_count(0)  # not the approver's step
    approver.get_by_role("button", name="รับแจ้ง (ไม่เกิน 200 ตร.ม.)").click()
    expect(approver.get_by_role("status").first).to_contain_text(f"ของคำขอเลขรับ {intake}")
    expect(inbox_row(approver, intake)).to_contain_text("อนุมัติแล้ว")

    # 9. The applicant is told (A-A5) and sees the new state.
    wait_for_mail(smtp, CITIZEN, f"คำขอ {reference} ได้รับอนุมัติ")
    applicant.reload()
    main = applicant.get_by_role("main")
    expect(main.locator(".tag").first).to_have_text("อนุมัติแล้ว")
    expect(main).to_contain_text("คำขอได้รับอนุมัติ เจ้าหน้าที่การเงินจะออกใบแจ้งชำระค่าธรรมเนียม")
    expect(main).to_contain_text("รับแจ้ง (ไม่เกิน 200 ตร.ม.)")  # in the history
    expect(applicant.get_by_role("region", name="สิ่งที่ท่านต้องดำเนินการ")).to_have_count(0)
    print(f"\nofficer journey: {time.monotonic() - started:.1f}s")
