"""The citizen's journey in a real browser (issue #3 "Done means").

A real ``eservice serve`` process, a real SMTP server (aiosmtpd) and Debian's
headless Chromium: register, confirm the e-mail from the mail, sign in, find the
food-shop permit of Nonthaburi City in the catalogue, fill the e-Form (one page
sent back with an error first), save and leave, come back through "my
applications", attach real PDFs, check the answers, sign, submit, read the
acknowledgement on screen and in the mail, and open the status page from the
mail's link.  Assertions are on what the person sees and receives.

R: A-S1, A-S3, A-I1, A-I2, A-F1, A-F2, A-F3, A-F4, A-F5, A-F6, A-F7, A-F8, A-F9,
A-F10, RC-1, RC-3, PR-4, NF-1.
"""
from __future__ import annotations

import re
import time

import pytest

pytest.register_assert_rewrite("browser")  # before the import: its asserts report like pytest's
pytest_plugins = ("browser",)  # the harness's fixtures and screenshots on failure

from browser import (AGENCY_PHONE, SERVICE_TITLE, attach_required_documents, expect,
                     fill_applicant_kind, fill_consents, fill_contact, fill_handlers, fill_person_birth_date,
                     fill_shop_rest, fill_shop_start, intake_number_on, links_in, open_service_from_catalogue,
                     open_task, register, save_and_continue, sign_and_submit, sign_in, sign_out,
                     thai_id, wait_for_mail)  # noqa: E402


def test_catalogue_lists_the_service_and_its_page_offers_to_start(live_server, page):  # R: A-S1, A-S3
    page.goto(live_server.url("/"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="เทศบาลนครนนทบุรี")).to_be_visible()
    page.get_by_role("link", name=SERVICE_TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SERVICE_TITLE)
    main = page.get_by_role("main")
    expect(main).to_contain_text("สำเนาบัตรประจำตัวประชาชน")  # the documents it asks for
    expect(main).to_contain_text(AGENCY_PHONE)
    start = page.get_by_role("button", name="เริ่มยื่นคำขอ").first
    expect(start).to_be_visible()
    start.click()  # not signed in: sign in first, then back to the service
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fapply%2Ffood-shop-permit$"))


def test_citizen_registers_applies_and_tracks(live_server, page):  # R: A-I1 … A-F10, RC-3
    started = time.monotonic()
    smtp = live_server.smtp
    email = "nida.thongdee@example.com"
    national_id = thai_id("310050012345")

    # 1. Register and confirm the address from the mail (A-I1).
    register(page, live_server, email, first_name="นิดา", last_name="ทองดี", national_id=national_id,
             phone="081 234 5678")

    # 2. Sign in (A-I2) from the confirmation page.
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    sign_in(page, live_server, email)
    expect(page.get_by_role("heading", level=1)).to_have_text("คำขอของฉัน")

    # 3. Find the service in the catalogue and start (A-S1, A-F1).
    open_service_from_catalogue(page, live_server)
    expect(page.get_by_role("heading", level=1)).to_have_text(SERVICE_TITLE)  # the task list
    expect(page.get_by_role("main")).to_contain_text("กรอกแล้ว 0 จาก 4 ส่วน")
    draft_url = page.url

    # 4. The applicant pages; the profile prefilled the name and ID (A-F2).
    open_task(page, "ข้อมูลผู้ขอ")
    fill_applicant_kind(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("ข้อมูลผู้ขอ (บุคคลธรรมดา)")
    expect(page.get_by_label("ชื่อ", exact=True)).to_have_value("นิดา")
    expect(page.get_by_label("นามสกุล", exact=True)).to_have_value("ทองดี")
    assert re.sub(r"\D", "", page.get_by_label("เลขประจำตัวประชาชน").input_value()) == national_id

    # 5. A page sent with an error comes back with a summary linking to the field (A-F6).
    fill_person_birth_date(page, 1, 1, 2560)  # 9 years old: the service's own rule refuses it
    save_and_continue(page)
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("มีข้อผิดพลาด กรุณาแก้ไข")
    expect(summary).to_contain_text("อายุ 20 ปีบริบูรณ์ขึ้นไป")
    expect(page).to_have_title(re.compile(r"^ข้อผิดพลาด"))
    expect(page.get_by_label("ปี (พ.ศ.)")).to_have_value("2560")  # what was typed is kept
    summary.get_by_role("link", name=re.compile("อายุ 20 ปี")).click()
    expect(page.get_by_label("วัน", exact=True)).to_be_focused()  # the link leads to the field
    fill_person_birth_date(page, 14, 3, 2528)  # fix it
    expect(page.get_by_role("main")).to_contain_text("14 มีนาคม พ.ศ. 2528")  # the date written out
    save_and_continue(page)
    expect(page.get_by_role("alert")).to_have_count(0)
    fill_contact(page)
    expect(page.get_by_role("main")).to_contain_text("กรอกแล้ว 1 จาก 4 ส่วน")

    # 6. Half of the shop page, then "save and come back later" and leave (A-F5).
    open_task(page, "ข้อมูลสถานที่")
    fill_shop_start(page, "ร้านนิดาข้าวแกง")
    page.get_by_role("button", name="บันทึกไว้ทำต่อภายหลัง").click()
    expect(page.get_by_role("status")).to_contain_text("บันทึกข้อมูลที่กรอกไว้แล้ว")
    expect(page.get_by_role("main")).to_contain_text("กำลังกรอก")
    sign_out(page)

    # 7. Come back: sign in, "my applications", continue the draft; the answers are kept.
    sign_in(page, live_server, email)
    expect(page.get_by_role("heading", level=1)).to_have_text("คำขอของฉัน")
    drafts = page.get_by_role("table", name="ฉบับร่าง")
    expect(drafts).to_contain_text(SERVICE_TITLE)
    drafts.get_by_role("link", name=re.compile("^กรอกต่อ")).click()
    assert page.url == draft_url
    open_task(page, "ข้อมูลสถานที่")
    expect(page.get_by_label("ชื่อร้าน / ชื่อสถานที่")).to_have_value("ร้านนิดาข้าวแกง")
    expect(page.get_by_label("ประเภทของสถานที่", exact=True)).to_have_value("restaurant")
    fill_shop_rest(page)
    fill_handlers(page)
    open_task(page, "ความยินยอม")
    fill_consents(page)
    expect(page.get_by_role("main")).to_contain_text("กรอกแล้ว 3 จาก 4 ส่วน")

    # 8. Attach real PDF files, each with its own button (A-F4, PR-4).
    open_task(page, "แนบเอกสาร")
    files = attach_required_documents(page)
    page.get_by_role("main").get_by_role("link", name="ดำเนินการต่อ").click()

    # 9. Check the answers (A-F7), sign (A-F8) and send.
    main = page.get_by_role("main")
    expect(page.get_by_role("heading", level=1)).to_have_text("ตรวจสอบข้อมูลก่อนยื่นคำขอ")
    for shown in ("นิดา", "ร้านนิดาข้าวแกง", "ร้านอาหาร", "14 มีนาคม พ.ศ. 2528", "นางแดง ใจดี", *files.values()):
        expect(main).to_contain_text(shown)
    expect(main).to_contain_text("ข้าพเจ้าขอรับรองว่าข้อความและเอกสารที่ยื่นพร้อมคำขอนี้เป็นความจริงทุกประการ")
    expect(page.get_by_role("link", name=re.compile("^แก้ไข")).first).to_be_visible()  # a way back (A-F7)
    # Sending without the intent box is refused (A-F8: the intent is recorded).
    page.get_by_role("button", name="ยืนยันและยื่นคำขอ").click()
    expect(page.get_by_role("alert")).to_contain_text("ยืนยันเจตนา")
    sign_and_submit(page)

    # 10. The acknowledgement on screen (RC-3, A-F9, A-F10).
    main = page.get_by_role("main")
    intake = intake_number_on(page)
    expect(main).to_contain_text(AGENCY_PHONE)
    expect(main).to_contain_text("รหัสอ้างอิงสำหรับติดตาม")
    expect(main).to_contain_text("คาดว่าจะแล้วเสร็จภายใน")
    reference = page.locator(".reference").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", reference), reference

    # 11. The acknowledgement by e-mail: intake number, the agency's phone, the tracking link.
    mail = wait_for_mail(smtp, email, f"เลขรับที่ {intake}")
    body = mail.text
    assert intake in body and reference in body and AGENCY_PHONE in body, body
    tracking = [u for u in links_in(body, live_server.base_url) if "/applications/" in u]
    assert tracking, f"no tracking link in the acknowledgement:\n{body}"

    # 12. The status page from the mail's link shows the state in plain words.
    page.goto(tracking[0])
    expect(page.get_by_role("heading", level=1)).to_have_text("สถานะคำขอ")
    main = page.get_by_role("main")
    expect(main.locator(".tag").first).to_have_text("ยื่นคำขอแล้ว")
    expect(main).to_contain_text(intake)
    expect(main).to_contain_text(reference)
    expect(main).to_contain_text("เทศบาลได้รับคำขอแล้ว เจ้าหน้าที่จะตรวจความครบถ้วนของคำขอและเอกสาร")
    for name in files.values():
        expect(main).to_contain_text(name)

    # ... and "my applications" lists it as sent, with its intake number.
    page.get_by_role("navigation", name="เมนูหลัก").get_by_role("link", name="คำขอของฉัน").click()
    sent = page.get_by_role("table", name="คำขอที่ยื่นแล้ว")
    expect(sent).to_contain_text(intake)
    expect(sent).to_contain_text("ยื่นคำขอแล้ว")
    expect(page.get_by_role("table", name="ฉบับร่าง")).to_have_count(0)
    print(f"\ncitizen journey: {time.monotonic() - started:.1f}s")
