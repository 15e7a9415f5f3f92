"""Account pages end to end (issue #3 item 2): the real app, a real SMTP server.

R: A-I1 (register, confirm the address), A-I2 (e-mail + password, reset),
A-F2 (the profile forms prefill from), A-X1 (back office only for staff),
A-X2 (CSRF, no open redirect, no account enumeration).
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from eservice.auth import Accounts
from eservice.clock import UTC, FixedClock
from eservice.mail import SmtpSettings
from eservice.web.accounts import safe_next
from smtp_server import smtp_server  # noqa: F401  (fixture used by name)

FIXTURES = Path(__file__).parent / "fixtures" / "defs"
NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)  # Monday 10:00 in Bangkok
PASSWORD = "ม้าลายกระโดด-42"
EMAIL = "somchai@example.com"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def smtp_of(server) -> SmtpSettings:
    return server.settings(sender="ระบบ e-Service <noreply@eservice.test>")


@pytest.fixture
def make_client(app_factory):
    """``make_client(**settings)``: a browser on a new app over the test definitions."""
    def make(**settings) -> TestClient:
        app = app_factory(FIXTURES, clock=FixedClock(NOW), **settings)
        ctx = app.state.ctx
        # The same Accounts the handlers use (deps.accounts caches it here), with a fast hash for tests.
        ctx.extra["accounts"] = Accounts(ctx.store, ctx.clock, hasher=FAST)
        return TestClient(app, follow_redirects=False)
    return make


@pytest.fixture
def client(make_client, smtp_server):
    with make_client(smtp=smtp_of(smtp_server)) as c:
        yield c


def accounts_of(client: TestClient) -> Accounts:
    return client.app.state.ctx.extra["accounts"]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def csrf(client: TestClient, path: str) -> str:
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, f"no CSRF field on {path}"
    return found.group(1)


def post(client: TestClient, path: str, data: dict, form_path: str | None = None):
    return client.post(path, data={"csrf_token": csrf(client, form_path or path), **data})


def register(client: TestClient, email: str = EMAIL, **extra):
    data = {"email": email, "password": PASSWORD, "password_confirm": PASSWORD,
            "first_name": "สมชาย", "last_name": "ใจดี", **extra}
    return post(client, "/register", data)


def link_in(mail, path: str) -> str:
    found = re.search(r"https?://\S+" + re.escape(path) + r"\?token=\S+", mail.text)
    assert found, mail.text
    parts = urlsplit(found.group(0))
    return f"{parts.path}?{parts.query}"


def login(client: TestClient, email: str = EMAIL, password: str = PASSWORD, next_path: str | None = None):
    data = {"email": email, "password": password}
    if next_path is not None:
        data["next"] = next_path
    return post(client, "/login", data)


def signed_in(client: TestClient) -> bool:
    return client.get("/profile").status_code == 200


def verified_user(client: TestClient, email: str = EMAIL, **profile) -> dict:
    acc = accounts_of(client)
    user, token = acc.register(email, PASSWORD, {"first_name": "สมชาย", "last_name": "ใจดี", **profile})
    return acc.verify_email(token)


# --------------------------------------------------------------------------- the journey
def test_register_verify_login_edit_profile_logout(client, smtp_server):  # R: A-I1, A-I2, A-F2
    form = client.get("/register")
    assert form.status_code == 200
    assert 'autocomplete="new-password"' in form.text and 'autocomplete="given-name"' in form.text
    assert 'aria-describedby="password-hint"' in form.text

    done = register(client, national_id="3-1005-00123-45-8", phone="081 234 5678")
    assert done.status_code == 303 and done.headers["location"] == "/register/check-email"
    page = client.get("/register/check-email")
    assert EMAIL in page.text and "ตรวจสอบอีเมลของท่าน" in page.text
    assert "/verify?token=" not in page.text  # never on the page outside demo mode

    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == [EMAIL]
    assert "ยืนยันอีเมล" in mail.message["Subject"] and "Confirm your e-mail" in mail.message["Subject"]
    assert "เรียน สมชาย ใจดี" in mail.text and "Dear สมชาย ใจดี" in mail.text
    link = link_in(mail, "/verify")

    # Not yet verified: the right password is refused with a clear message.
    early = login(client)
    assert early.status_code == 400
    assert "กรุณายืนยันอีเมลก่อนเข้าสู่ระบบ" in text_of(early.text)
    assert 'href="/verify/resend"' in early.text
    assert not signed_in(client)

    verified = client.get(link)
    assert verified.status_code == 200 and "ยืนยันอีเมลแล้ว" in verified.text
    again = client.get(link)
    assert again.status_code == 400 and "ลิงก์นี้ถูกใช้ไปแล้ว" in again.text

    entered = login(client, next_path="/profile")
    assert entered.status_code == 303 and entered.headers["location"] == "/profile"
    profile_page = client.get("/profile")
    assert profile_page.status_code == 200
    assert "3100500123458" in profile_page.text  # kept from registration, digits only
    assert "สมชาย ใจดี" in text_of(profile_page.text)  # the name in the navigation
    assert 'href="/applications"' in profile_page.text and 'href="/officer"' not in profile_page.text

    version = re.search(r'name="version" value="(\d+)"', profile_page.text).group(1)
    saved = client.post("/profile", data={
        "csrf_token": csrf(client, "/profile"), "version": version,
        "first_name": "สมชาย", "last_name": "ใจงาม", "national_id": "3100500123458", "phone": "0812345678",
        "birth_date": "14/03/2528",  # typed with a Buddhist-Era year
        "address_line": "99/1 ถนนรัตนาธิเบศร์", "address_subdistrict": "บางกระสอ",
        "address_district": "เมืองนนทบุรี", "address_province": "นนทบุรี", "address_postcode": "11000",
    })
    assert saved.status_code == 303 and saved.headers["location"] == "/profile?saved=1"
    assert "บันทึกข้อมูลแล้ว" in client.get("/profile?saved=1").text
    stored = accounts_of(client).find_by_email(EMAIL)["profile"]
    assert stored["last_name"] == "ใจงาม"
    assert stored["birth_date"] == "1985-03-14"
    assert stored["address"]["subdistrict_code"] == "120104"  # normalised by the address plugin
    assert accounts_of(client).prefill_profile(accounts_of(client).find_by_email(EMAIL))["full_name"] == "สมชาย ใจงาม"

    out = post(client, "/logout", {}, form_path="/profile")
    assert out.status_code == 303 and out.headers["location"] == "/login?signed_out=1"
    assert "ท่านออกจากระบบแล้ว" in client.get("/login?signed_out=1").text
    bounced = client.get("/profile")
    assert bounced.status_code == 303 and bounced.headers["location"] == "/login?next=%2Fprofile"


def test_registration_errors_are_summarised_and_values_kept(client, smtp_server):  # R: A-I1
    r = post(client, "/register", {"email": "not-an-address", "password": "short", "password_confirm": "other",
                                   "first_name": "มาลี", "last_name": "", "national_id": "1234567890123",
                                   "phone": "12345"})
    assert r.status_code == 400
    summary = r.text[r.text.index('class="error-summary"'):r.text.index("</ul>", r.text.index('class="error-summary"'))]
    for field in ("email", "password", "password_confirm", "last_name", "national_id", "phone"):
        assert f'href="#{field}"' in summary, field
        assert f'id="{field}-error"' in r.text
    assert 'aria-describedby="password-hint password-error"' in r.text
    assert 'aria-invalid="true"' in r.text
    assert 'value="not-an-address"' in r.text and 'value="มาลี"' in r.text and 'value="12345"' in r.text
    assert "short" not in r.text  # passwords are never sent back
    assert "รหัสผ่านทั้งสองช่องไม่ตรงกัน" in r.text
    assert accounts_of(client).find_by_email("not-an-address") is None
    assert smtp_server.messages == []


def test_registering_a_taken_address_reveals_nothing_and_tells_the_owner(client, smtp_server):  # R: A-X2
    verified_user(client)
    first = register(client, email="new@example.com")
    taken = register(client, email=EMAIL)
    assert first.headers["location"] == taken.headers["location"] == "/register/check-email"
    mails = smtp_server.wait_for(2)
    to_owner = next(m for m in mails if m.rcpt_tos == [EMAIL])
    assert "มีบัญชีอยู่แล้ว" in to_owner.message["Subject"] and "/password/forgot" in to_owner.text
    assert "token=" not in to_owner.text
    assert accounts_of(client).find_by_email(EMAIL)["profile"]["last_name"] == "ใจดี"  # untouched


# --------------------------------------------------------------------------- signing in
def test_wrong_password_and_unknown_address_give_the_same_message(client):  # R: A-I2, A-X2
    verified_user(client)
    wrong = login(client, password="not-the-password-1")
    unknown = login(client, email="nobody@example.com", password="not-the-password-1")
    assert wrong.status_code == unknown.status_code == 400
    message = "อีเมลหรือรหัสผ่านไม่ถูกต้อง"
    assert message in wrong.text and message in unknown.text

    def body(r):
        return re.sub(r'value="[^"]*"', "", text_of(r.text))

    assert body(wrong) == body(unknown)
    assert not signed_in(client)


def test_next_is_kept_and_only_local_paths_are_followed(client):  # R: A-X2 (no open redirect)
    verified_user(client)
    page = client.get("/login?next=/services/minimal-permit")
    assert 'name="next" value="/services/minimal-permit"' in page.text
    assert login(client, next_path="/services/minimal-permit").headers["location"] == "/services/minimal-permit"
    for evil in ("https://evil.example", "//evil.example/x", "/\\evil.example", "https:/evil.example",
                 "javascript:alert(1)", "/ok\r\nLocation: https://evil.example"):
        post(client, "/logout", {}, form_path="/profile")
        shown = client.get("/login", params={"next": evil})
        assert 'name="next"' not in shown.text  # (the language links keep the query; they stay on this site)
        r = login(client, next_path=evil)
        assert r.status_code == 303, evil
        assert r.headers["location"] == "/applications", evil  # the default for a citizen
    assert safe_next("/applications/app-1?tab=docs") == "/applications/app-1?tab=docs"


def test_anonymous_visit_to_the_profile_comes_back_after_login(client):  # R: A-I2
    verified_user(client)
    bounced = client.get("/profile")
    assert bounced.headers["location"] == "/login?next=%2Fprofile"
    r = login(client, next_path="/profile")
    assert r.headers["location"] == "/profile"


def test_forms_without_the_csrf_token_are_refused(client):  # R: A-X2
    verified_user(client)
    assert client.post("/login", data={"email": EMAIL, "password": PASSWORD}).status_code == 403
    assert not signed_in(client)
    assert login(client).status_code == 303
    assert client.post("/logout", data={}).status_code == 403
    assert signed_in(client)  # a forged sign-out did nothing
    assert client.post("/register", data={"email": "x@example.com"}).status_code == 403
    assert client.post("/password/forgot", data={"email": EMAIL}).status_code == 403


def test_staff_see_the_back_office_link(client):  # R: A-X1
    user = verified_user(client)
    accounts_of(client).grant_role(user["id"], "test-agency", "reviewer")
    r = login(client)
    assert r.headers["location"] == "/officer"  # staff land in the back office
    home = client.get("/")
    assert 'href="/officer"' in home.text and 'action="/logout"' in home.text
    assert "สมชาย ใจดี" in text_of(home.text)


def test_anonymous_navigation_offers_sign_in_with_the_way_back(client):
    home = client.get("/services/minimal-permit")
    assert 'href="/login?next=/services/minimal-permit"' in home.text
    assert 'href="/register"' in home.text and 'action="/logout"' not in home.text
    english = client.get("/?lang=en")
    assert "Sign in" in english.text and "Create an account" in english.text


# --------------------------------------------------------------------------- password reset
def test_password_reset_mail_arrives_and_the_link_works_once(client, smtp_server):  # R: A-I2, A-X2
    verified_user(client)
    known = post(client, "/password/forgot", {"email": EMAIL})
    assert known.status_code == 303 and known.headers["location"] == "/password/forgot/sent"
    known_page = client.get("/password/forgot/sent")
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == [EMAIL] and "ตั้งรหัสผ่านใหม่" in mail.message["Subject"]
    link = link_in(mail, "/password/reset")

    unknown = post(client, "/password/forgot", {"email": "nobody@example.com"})
    assert unknown.headers["location"] == "/password/forgot/sent"
    unknown_page = client.get("/password/forgot/sent")
    assert text_of(unknown_page.text).replace("nobody@example.com", EMAIL) == text_of(known_page.text)
    assert len(smtp_server.messages) == 1  # nothing sent for an unknown address

    form = client.get(link)
    assert form.status_code == 200 and 'name="token"' in form.text
    token = re.search(r'name="token" value="([^"]+)"', form.text).group(1)
    mismatch = post(client, "/password/reset", {"token": token, "password": "ใหม่-รหัสผ่าน-2569",
                                                 "password_confirm": "อื่น"}, form_path=link)
    assert mismatch.status_code == 400 and "ไม่ตรงกัน" in mismatch.text
    weak = post(client, "/password/reset", {"token": token, "password": "1234567890",
                                            "password_confirm": "1234567890"}, form_path=link)
    assert weak.status_code == 400 and 'href="#password"' in weak.text
    done = post(client, "/password/reset", {"token": token, "password": "ใหม่-รหัสผ่าน-2569",
                                            "password_confirm": "ใหม่-รหัสผ่าน-2569"}, form_path=link)
    assert done.status_code == 303 and done.headers["location"] == "/login?reset=1"

    used = client.get(link)
    assert used.status_code == 400 and "ลิงก์นี้ถูกใช้ไปแล้ว" in used.text and 'name="password"' not in used.text
    assert login(client).status_code == 400  # the old password no longer works
    assert login(client, password="ใหม่-รหัสผ่าน-2569").status_code == 303


def test_reset_link_that_is_not_a_token_is_explained(client):
    r = client.get("/password/reset?token=" + "x" * 43)
    assert r.status_code == 400 and "ลิงก์ไม่ถูกต้อง" in r.text and 'href="/password/forgot"' in r.text


# --------------------------------------------------------------------------- profile
def test_stale_profile_version_is_a_conflict_and_nothing_is_lost(client):  # R: A-F2
    user = verified_user(client, phone="0812345678")
    login(client)
    page = client.get("/profile")
    stale = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    # Meanwhile the same person saves from another tab.
    other = accounts_of(client).update_profile(user["id"], {"phone": "0899999999"}, int(stale))

    r = client.post("/profile", data={"csrf_token": csrf(client, "/profile"), "version": stale,
                                      "first_name": "สมชาย", "last_name": "ใจเย็น", "phone": "0811111111"})
    assert r.status_code == 409
    page = text_of(r.text)
    assert "ข้อมูลถูกแก้ไขจากที่อื่นก่อนที่ท่านจะบันทึก" in page
    assert 'value="ใจเย็น"' in r.text and 'value="0811111111"' in r.text  # what was typed stays
    assert "0899999999" in page  # what is saved now is shown
    stored = accounts_of(client).get(user["id"])
    assert stored["profile"]["phone"] == "0899999999" and stored["profile"]["last_name"] == "ใจดี"
    fresh = re.search(r'name="version" value="(\d+)"', r.text).group(1)
    assert int(fresh) == other["version"]

    again = client.post("/profile", data={"csrf_token": csrf(client, "/profile"), "version": fresh,
                                          "first_name": "สมชาย", "last_name": "ใจเย็น", "phone": "0811111111"})
    assert again.status_code == 303
    assert accounts_of(client).get(user["id"])["profile"]["last_name"] == "ใจเย็น"


def test_a_wrong_address_is_pointed_at_and_not_saved(client):  # R: A-F2
    user = verified_user(client)
    login(client)
    version = re.search(r'name="version" value="(\d+)"', client.get("/profile").text).group(1)
    r = client.post("/profile", data={
        "csrf_token": csrf(client, "/profile"), "version": version, "first_name": "สมชาย", "last_name": "ใจดี",
        "address_line": "1", "address_subdistrict": "บางกระสอ", "address_district": "เมืองนนทบุรี",
        "address_province": "นนทบุรี", "address_postcode": "10900", "birth_date": "2999-01-01"})
    assert r.status_code == 400
    assert 'href="#address_postcode"' in r.text and "11000" in r.text  # the right postcode is suggested
    assert 'href="#birth_date"' in r.text
    assert 'value="10900"' in r.text
    assert "address" not in accounts_of(client).get(user["id"])["profile"]


# --------------------------------------------------------------------------- demo mode
def test_demo_without_mail_shows_the_verification_link(make_client):  # R: A-I1 (try it without a mail server)
    with make_client(demo=True) as c:
        register(c)
        page = c.get("/register/check-email")
        found = re.search(r'href="https?://[^"/]+(/verify\?token=[^"]+)"', page.text)
        assert found and "ระบบสาธิต" in page.text
        assert "ยืนยันอีเมลแล้ว" in c.get(found.group(1).replace("&amp;", "&")).text
        assert login(c).status_code == 303


def test_without_demo_the_link_is_never_shown(make_client):
    with make_client() as c:  # no mail server, not a demo
        register(c)
        page = c.get("/register/check-email")
        assert "token=" not in page.text
        assert c.app.state.ctx.store.collection("auth_tokens").all()  # a token exists, only by mail
        post(c, "/password/forgot", {"email": EMAIL})
        assert "token=" not in c.get("/password/forgot/sent").text
