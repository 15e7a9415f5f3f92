"""Running an agency without a developer, in a real browser (issue #9 "Done when" 1-3).

1. The agency admin of Nonthaburi City invites a structural engineer (``engineer``,
   the role building-permit.yaml declares under ``roles:``) by e-mail.
2. The invitee opens the link from the real mail, sets a password and sees the
   inbox of the building permit, and only that service.
3. The mayor — one account holding head_of_agency and signing_authority — signs a
   building permit and approves the closing of another request.

Every administration page passes axe-core with 0 violations, in Thai and in English.
Real server (subprocess), real SMTP (aiosmtpd), real Chromium.

R: A-X1, CH-4, A-I2, A-L4, PR-2, NF-1.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

pytest.register_assert_rewrite("browser")
pytest_plugins = ("browser",)

from browser import DEFINITIONS, PASSWORD, expect, links_in, seed_user, sign_in, wait_for_mail  # noqa: E402

CITY = "nonthaburi-city"
ADMIN = "admin@nakornnont.example.go.th"
MAYOR = "mayor@nakornnont.example.go.th"
ROOT_ADMIN = "root@example.go.th"
ENGINEER = "wichai.engineer@nakornnont.example.go.th"
FEW = ("registry_clerk", "reviewer", "approver", "finance_officer")


def _prepare(data: Path) -> dict[str, str]:
    """Before the server starts: accounts, signing keys, and two building-permit requests —
    one waiting for the permit to be signed, one proposed for closure (as its timer leaves it)."""
    from argon2 import PasswordHasher
    from starlette.testclient import TestClient

    from eservice.auth import Accounts
    from eservice.clock import FixedClock
    from eservice.web.app import create_app
    from eservice.web.context import Settings
    from eservice.web.demo import install_demo_keys
    from test_outputs_journey import ANSWERS, DOCUMENTS, NOW, pdf_bytes, token_of

    app = create_app(Settings(data=data, definitions=(DEFINITIONS,)), clock=FixedClock(NOW.astimezone(dt.timezone.utc)))
    ctx = app.state.ctx
    accounts = ctx.extra["accounts"] = Accounts(ctx.store, ctx.clock,
                                                hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    install_demo_keys(data, ctx.catalogue)
    try:
        def person(email, first, last, *roles):
            user, token = accounts.register(email, PASSWORD, {"first_name": first, "last_name": last})
            user = accounts.verify_email(token)
            for role in roles:
                accounts.grant_role(user["id"], role[0], role[1])
            return user

        person("somchai@example.com", "สมชาย", "ใจดี")
        for role in FEW:
            person(f"{role}@nakornnont.example.go.th", role, "ทดสอบ", (CITY, role))
        person(ADMIN, "อรุณ", "ดูแลระบบ", (CITY, "agency_admin"))
        person(MAYOR, "สมศักดิ์", "นายกเทศมนตรี", (CITY, "head_of_agency"), (CITY, "signing_authority"))
        person(ROOT_ADMIN, "ผู้ดูแล", "ระบบกลาง", ("*", "system_admin"))
        api = TestClient(app)
        bearer = {"Authorization": "Bearer " + api.post("/api/tokens", json={
            "email": "somchai@example.com", "password": PASSWORD}).json()["token"]}

        def apply() -> str:
            draft = api.post("/api/applications", headers=bearer,
                             json={"service": "building-permit", "answers": ANSWERS["building-permit"]}).json()
            for doc in DOCUMENTS["building-permit"]:
                api.post(f"/api/applications/{draft['id']}/documents/{doc}", headers=bearer,
                         files={"file": (f"{doc}.pdf", pdf_bytes(doc), "application/pdf")})
            draft = api.get(f"/api/applications/{draft['id']}", headers=bearer).json()
            done = api.post(f"/api/applications/{draft['id']}/submit", headers=bearer,
                            json={"declaration": draft["declaration"], "intent": True})
            assert done.status_code == 201, done.text
            return draft["id"]

        def act(role: str, app_id: str, transition: str, **inputs) -> None:
            web = TestClient(app)
            page = web.get("/login")
            web.post("/login", data={"csrf_token": token_of(page.text), "password": PASSWORD,
                                     "email": f"{role}@nakornnont.example.go.th"})
            page = web.get(f"/officer/applications/{app_id}")
            version = ctx.store.get_application(app_id)["version"]
            r = web.post(f"/officer/applications/{app_id}/transitions/{transition}", follow_redirects=False,
                         data={"csrf_token": token_of(page.text), "expected_version": version, **inputs})
            assert r.status_code == 303, r.text[:2000]

        to_sign = apply()
        act("registry_clerk", to_sign, "accept")
        act("reviewer", to_sign, "forward_for_approval", review_note="แบบถูกต้อง")
        act("approver", to_sign, "approve")
        record = ctx.store.get_application(to_sign)
        for fee in record["fees"]:  # paid at the counter (the payment pages are issue #8)
            fee["status"] = "paid"
        ctx.store.update_application(record, record["version"])
        act("finance_officer", to_sign, "confirm_payment")
        assert ctx.store.get_application(to_sign)["state"] == "awaiting_signature"
        to_close = apply()
        ctx.store.modify_application(to_close, lambda r: r.update(state="disposal_proposed"))  # as the 30-day timer
        return {"to_sign": to_sign, "to_close": to_close,
                "to_sign_intake": ctx.store.get_application(to_sign)["intake_number"],
                "to_close_intake": ctx.store.get_application(to_close)["intake_number"]}
    finally:
        ctx.close()


def axe_clean(page, what: str) -> None:
    """axe-core on the page as it is now: 0 violations."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, f"{what} ({page.url}):\n{results.generate_report()}"


def in_language(page, lang: str) -> None:
    url = re.sub(r"[?&]lang=(th|en)", "", page.url)
    page.goto(url + ("&" if "?" in url else "?") + f"lang={lang}")


def assert_accessible(page, what: str) -> None:
    """axe-core on a page in English and in Thai (left in Thai)."""
    for lang in ("en", "th"):
        in_language(page, lang)
        axe_clean(page, f"{what} [{lang}]")


def assert_errors_accessible(page, what: str, form_url: str, submit) -> None:
    """axe-core on a form's error state, in Thai and in English (the form at ``form_url``;
    ``submit()`` sends it again, in English)."""
    axe_clean(page, f"{what} [th]")
    page.goto(form_url + "?lang=en")
    submit("en")
    axe_clean(page, f"{what} [en]")
    page.goto(form_url + "?lang=th")


def test_invite_an_engineer_and_the_mayor_signs_and_closes(server_factory, new_context):  # R: A-X1, CH-4, A-I2
    made: dict[str, str] = {}
    server = server_factory(seed=lambda data: made.update(_prepare(data)))
    smtp = server.smtp

    # 1. The agency admin invites the engineer.
    admin = new_context().new_page()
    sign_in(admin, server, ADMIN)
    admin.get_by_role("navigation", name="เมนูหลัก").get_by_role("link", name="ผู้ดูแลระบบ").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text("เจ้าหน้าที่")
    assert_accessible(admin, "staff list")
    admin.get_by_role("button", name="ส่งคำเชิญ").click()  # empty: errors in Thai, nothing sent
    expect(admin.get_by_role("alert").first).to_contain_text("กรุณากรอกอีเมล")
    assert_errors_accessible(admin, "staff list with errors", server.url(f"/admin/agencies/{CITY}/staff"), lambda lang: (
        admin.get_by_role("button", name="Send the invitation").click(),
        expect(admin.get_by_role("alert").first).to_contain_text("Enter the e-mail address")))
    admin.get_by_label("อีเมล", exact=True).fill(ENGINEER)
    admin.get_by_label("ชื่อ-นามสกุล (ภาษาไทย)").fill("วิชัย โครงสร้างดี")
    admin.get_by_label("ชื่อ-นามสกุล (ภาษาอังกฤษ)").fill("Wichai Khrongsangdee")
    admin.get_by_label("บทบาท", exact=True).select_option("engineer")
    admin.get_by_role("button", name="ส่งคำเชิญ").click()
    expect(admin.get_by_role("status").first).to_contain_text("ส่งคำเชิญถึง วิชัย โครงสร้างดี")
    row = admin.get_by_role("row").filter(has_text=ENGINEER)
    expect(row).to_contain_text("วิศวกรผู้ตรวจสอบโครงสร้าง")
    expect(row).to_contain_text("รอตั้งรหัสผ่าน")
    row.get_by_role("link").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("วิชัย โครงสร้างดี")
    assert_accessible(admin, "person page")

    # 2. The invitee sets a password from the mail and sees the building permit's inbox.
    mail = wait_for_mail(smtp, ENGINEER, "คำเชิญ")
    [link] = sorted({u for u in links_in(mail.text, server.base_url) if "/staff/welcome" in u})
    invitee = new_context().new_page()
    invitee.goto(link)
    expect(invitee.get_by_role("heading", level=1)).to_have_text("ตั้งรหัสผ่านเจ้าหน้าที่")
    assert_accessible(invitee, "set-password page")
    invitee.get_by_label("รหัสผ่าน", exact=True).fill(PASSWORD)
    invitee.get_by_label("ยืนยันรหัสผ่าน").fill(PASSWORD)
    invitee.get_by_role("button", name="บันทึกรหัสผ่าน").click()
    expect(invitee).to_have_url(re.compile(r"/officer$"))
    main = invitee.get_by_role("main")
    expect(main.get_by_role("link", name=made["to_sign_intake"], exact=True)).to_be_visible()
    expect(main.get_by_role("link", name=made["to_close_intake"], exact=True)).to_be_visible()
    main.get_by_role("link", name=made["to_sign_intake"], exact=True).click()
    expect(invitee.get_by_role("heading", level=1)).to_be_visible()
    expect(invitee.get_by_role("main")).to_contain_text("รอลงนามใบอนุญาต")
    fresh = new_context().new_page()
    fresh.goto(link)  # single use
    expect(fresh.get_by_role("main")).to_contain_text("ลิงก์นี้ถูกใช้ไปแล้ว")
    assert_accessible(fresh, "used set-password link")

    # 3. The mayor signs one permit and approves closing the other, with one account.
    mayor = new_context().new_page()
    sign_in(mayor, server, MAYOR)
    mayor.goto(server.url(f"/officer/applications/{made['to_sign']}"))
    mayor.get_by_role("button", name="ลงนามใบอนุญาต").click()
    expect(mayor.get_by_role("status").first).to_contain_text(made["to_sign_intake"])
    mayor.goto(server.url(f"/officer/applications/{made['to_sign']}"))
    expect(mayor.get_by_role("main")).to_contain_text("ออกใบอนุญาตแล้ว")
    mayor.goto(server.url(f"/officer/applications/{made['to_close']}"))
    mayor.get_by_label("เหตุผลในการจำหน่ายเรื่อง").fill("ไม่ได้รับแบบแก้ไขภายใน 30 วัน")
    mayor.get_by_role("button", name="อนุมัติให้จำหน่ายเรื่อง").click()
    expect(mayor.get_by_role("status").first).to_contain_text(made["to_close_intake"])
    mayor.goto(server.url(f"/officer/applications/{made['to_close']}"))
    expect(mayor.get_by_role("main").locator(".tag").first).to_have_text("จำหน่ายเรื่อง")


def test_system_admin_pages_are_accessible(server_factory, new_context):  # R: A-X1, NF-1
    server = server_factory(seed=lambda data: seed_user(data, ROOT_ADMIN, PASSWORD, {"first_name": "ผู้ดูแล"},
                                                        roles=[("*", "system_admin")]))
    page = new_context().new_page()
    sign_in(page, server, ROOT_ADMIN)
    expect(page).to_have_url(re.compile(r"/admin$"))  # not a 403
    assert_accessible(page, "administration home")
    page.get_by_role("link", name="หน่วยงาน ปลั๊กอิน อีเมล บันทึกการใช้งาน และที่เก็บข้อมูล").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ผู้ดูแลระบบกลาง")
    assert_accessible(page, "system page")
    page.get_by_label("ส่งข้อความทดสอบถึง").fill("ops@example.go.th")
    page.get_by_role("button", name="ส่งข้อความทดสอบ").click()
    expect(page.get_by_role("status").first).to_contain_text("ส่งข้อความทดสอบถึง ops@example.go.th แล้ว")
    wait_for_mail(server.smtp, "ops@example.go.th", "Test message")
    page.get_by_role("button", name="ตรวจและเพิ่มหน่วยงาน").click()  # nothing filled: errors
    expect(page.get_by_role("alert").first).to_contain_text("เพิ่มหน่วยงานไม่ได้")
    assert_errors_accessible(page, "system page with errors", server.url("/admin/system"), lambda lang: (
        page.get_by_role("button", name="Check and add the agency").click(),
        expect(page.get_by_role("alert").first).to_contain_text("The agency was not added")))
    page.goto(server.url("/admin/system/checks"))
    expect(page.get_by_role("main")).to_contain_text("ถูกต้อง")
    assert_accessible(page, "checks page")
    page.goto(server.url(f"/admin/agencies/{CITY}/staff"))
    assert_accessible(page, "staff page (system admin)")
