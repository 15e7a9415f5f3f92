"""Agency and system administration from the web (issue #9 items 2-3).

R: A-X1 (staff accounts and roles per agency and service, administrators), CH-4
(one agency's admin manages only its own staff), A-I2 (a set-password link: single
use, expiring).  Real SMTP (aiosmtpd on loopback), the real app, real audit log.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from eservice.applications import Applications, declaration_of
from eservice.auth import INVITE_TTL, Accounts
from eservice.clock import UTC, FixedClock
from eservice.policy import Actor
from eservice.web.app import create_app
from eservice.web.context import Settings
from smtp_server import smtp_server  # noqa: F401  (fixture used by name)

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)  # Monday 10:00 in Bangkok
PASSWORD = "a long enough passphrase 42"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
CITY = "nonthaburi-city"


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


class Site:
    def __init__(self, tmp_path: Path, smtp=None, source: Path = ROOT / "service_definitions"):
        self.defs = tmp_path / "defs"
        shutil.copytree(source, self.defs)  # agencies are written here, not in the repo
        self.clock = FixedClock(NOW)
        fields = {"smtp": smtp.settings(sender="e-Service <noreply@eservice.test>")} if smtp else {}
        self.app = create_app(Settings(data=tmp_path / "data", definitions=(self.defs,), **fields), clock=self.clock)
        ctx = self.app.state.ctx
        self.store = ctx.store
        self.accounts = ctx.extra["accounts"] = Accounts(ctx.store, self.clock, hasher=FAST)

    def person(self, email: str, *grants: tuple) -> dict:
        user, token = self.accounts.register(email, PASSWORD, {"first_name": email.split("@")[0], "last_name": "ทดสอบ"})
        user = self.accounts.verify_email(token)
        for agency, role, *services in grants:
            user = self.accounts.grant_role(user["id"], agency, role, services[0] if services else None)
        return user

    def client(self, email: str | None = None, password: str = PASSWORD) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        if email:
            page = client.get("/login")
            r = client.post("/login", data={"csrf_token": token_of(page.text), "email": email, "password": password})
            assert r.status_code == 303, r.text[:300]
            client.landing = r.headers["location"]
        return client

    def audit(self) -> list[dict]:
        return list(self.app.state.ctx.extra["audit_log"].events()) if "audit_log" in self.app.state.ctx.extra else []


def post(client: TestClient, path: str, data: dict, page: str, files=None):
    token = token_of(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **data}, files=files)


@pytest.fixture
def site(tmp_path, smtp_server):
    s = Site(tmp_path, smtp_server)
    s.person("admin@city.go.th", (CITY, "agency_admin"))
    s.person("root@example.go.th", ("*", "system_admin"))
    return s


STAFF = f"/admin/agencies/{CITY}/staff"


# --------------------------------------------------------------------------- invitations
def test_invite_a_declared_role_set_password_and_land_on_the_inbox(site, smtp_server):  # R: A-X1, A-I2
    admin = site.client("admin@city.go.th")
    assert admin.landing == "/officer"  # an agency admin has the agency's inbox
    page = admin.get(STAFF)
    assert page.status_code == 200 and "admin@city.go.th" in page.text
    r = post(admin, STAFF, {"email": "Wichai@City.go.th", "name_th": "วิชัย  วิศวกร", "name_en": "Wichai Engineer",
                            "role": "engineer"}, STAFF)
    assert r.status_code == 303, text_of(r.text)[:500]
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ["wichai@city.go.th"]
    [link] = {u for u in re.findall(r"https?://\S+", mail.text) if "/staff/welcome" in u}  # once per language
    path = link[link.index("/staff/welcome"):]
    listing = text_of(admin.get(STAFF).text)
    assert "วิชัย วิศวกร" in listing and "รอตั้งรหัสผ่าน" in listing
    user = site.accounts.find_by_email("wichai@city.go.th")
    assert [(g.agency, g.role, g.services) for g in site.accounts.roles_of(user)] == \
        [(CITY, "engineer", ("building-permit",))]  # a declared role: the services that declare it

    invitee = site.client()
    form = invitee.get(path)
    assert form.status_code == 200 and "wichai@city.go.th" in form.text
    short = invitee.post("/staff/welcome", data={"csrf_token": token_of(form.text), "token": path.split("=", 1)[1],
                                                 "password": "short", "password_confirm": "short"})
    assert short.status_code == 400 and "10" in text_of(short.text)
    done = invitee.post("/staff/welcome", data={"csrf_token": token_of(form.text), "token": path.split("=", 1)[1],
                                                "password": PASSWORD, "password_confirm": PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/officer"
    inbox = invitee.get("/officer")
    assert inbox.status_code == 200
    assert "ขออนุญาตก่อสร้างอาคาร" in inbox.text  # the service that declares the role
    assert "สถานที่จำหน่ายอาหาร" not in inbox.text  # and not the agency's other services
    # the link works once
    again = site.client().get(path)
    assert again.status_code == 400 and "ถูกใช้ไปแล้ว" in again.text
    # and the account now signs in with its password
    assert site.client("wichai@city.go.th").landing == "/officer"
    actions = [(e["action"], e["target"]) for e in site.audit()]
    assert ("staff.invite", user["id"]) in actions and ("staff.password_set", user["id"]) in actions


def test_invitation_expires_and_a_new_one_replaces_it(site, smtp_server):  # R: A-I2
    user, first = site.accounts.invite_staff("new@city.go.th", "ใหม่ ทดสอบ", "New Test", invited_by="x")
    user, second = site.accounts.invite_staff("new@city.go.th", "ใหม่ ทดสอบ", "New Test", invited_by="x")
    client = site.client()
    assert client.get(f"/staff/welcome?token={first}").status_code == 400  # replaced by the newer link
    site.clock.set(NOW + INVITE_TTL + dt.timedelta(minutes=1))
    expired = client.get(f"/staff/welcome?token={second}")
    assert expired.status_code == 400 and "หมดอายุ" in expired.text
    assert site.accounts.find_by_email("new@city.go.th")["invited"] is True


def test_invite_errors_are_shown_in_thai_and_english_and_nothing_is_made(site, smtp_server):  # R: A-X1
    admin = site.client("admin@city.go.th")
    r = post(admin, STAFF, {"email": "not-an-address", "name_th": "", "name_en": "X", "role": "wizard"}, STAFF)
    assert r.status_code == 400
    page = text_of(r.text)
    assert "กรุณากรอกชื่อ-นามสกุลภาษาไทย" in page and "กรุณาเลือกบทบาท" in page
    en = post(admin, STAFF, {"email": "a@b.go.th", "name_th": "ก ข", "name_en": "", "role": "reviewer"}, STAFF)
    assert en.status_code == 400
    assert site.accounts.find_by_email("a@b.go.th") is None and smtp_server.messages == []
    # the form keeps what was typed
    assert 'value="a@b.go.th"' in en.text


def test_an_existing_account_gets_the_role_and_a_mail_without_a_link(site, smtp_server):  # R: A-X1
    citizen = site.person("somchai@example.com")
    admin = site.client("admin@city.go.th")
    r = post(admin, STAFF, {"email": "somchai@example.com", "name_th": "สมชาย ใจดี", "name_en": "Somchai Jaidee",
                            "role": "reviewer"}, STAFF)
    assert r.status_code == 303
    [mail] = smtp_server.wait_for(1)
    assert "/staff/welcome" not in mail.text and "/login" in mail.text
    assert site.accounts.has_role(site.accounts.get(citizen["id"]), CITY, "reviewer")


# --------------------------------------------------------------------------- roles and deactivation
def test_grant_revoke_and_who_holds_what(site):  # R: A-X1 — one person, many roles; every change audited
    mayor = site.person("mayor@city.go.th", (CITY, "head_of_agency"))
    admin = site.client("admin@city.go.th")
    person = f"{STAFF}/{mayor['id']}"
    r = post(admin, f"{person}/roles", {"role": "signing_authority"}, person)
    assert r.status_code == 303
    r = post(admin, f"{person}/roles", {"role": "reviewer", "services": "food-shop-permit"}, person)
    assert r.status_code == 303
    held = {(g.role, g.services) for g in site.accounts.roles_of(site.accounts.get(mayor["id"]))}
    assert held == {("head_of_agency", None), ("signing_authority", None), ("reviewer", ("food-shop-permit",))}
    shown = text_of(admin.get(person).text)
    assert "หัวหน้าหน่วยงาน" in shown and "ผู้มีอำนาจลงนาม" in shown
    bad = post(admin, f"{person}/roles", {"role": "engineer", "services": "food-shop-permit"}, person)
    assert bad.status_code == 400  # a declared role only for the services that declare it
    r = post(admin, f"{person}/revoke", {"role": "reviewer"}, person)
    assert r.status_code == 303
    assert not site.accounts.has_role(site.accounts.get(mayor["id"]), CITY, "reviewer")
    actions = [e["action"] for e in site.audit() if e["target"] == mayor["id"]]
    assert actions == ["staff.grant", "staff.grant", "staff.revoke"]
    # names in Thai and English
    r = post(admin, f"{person}/name", {"name_th": "นายกเทศมนตรี ทดสอบ", "name_en": "Mayor Test"}, person)
    assert r.status_code == 303
    assert site.accounts.get(mayor["id"])["staff_name"] == {"th": "นายกเทศมนตรี ทดสอบ", "en": "Mayor Test"}
    assert "Mayor Test" in admin.get(f"{STAFF}?lang=en").text
    assert "นายกเทศมนตรี ทดสอบ" in admin.get(f"{STAFF}?lang=th").text


def test_deactivate_hands_assignments_back_to_the_team(tmp_path, smtp_server):  # R: A-X1, A-R1
    site = Site(tmp_path, smtp_server, ROOT / "tests" / "fixtures" / "defs")
    from eservice.runtime import engine_of
    engine = engine_of(site.app.state.ctx)
    site.person("admin@test.go.th", ("test-agency", "agency_admin"))
    reviewer = site.person("rev@test.go.th", ("test-agency", "reviewer"))
    citizen = site.person("c@example.com")
    apps = Applications(engine)
    actor = Actor(user_id=citizen["id"], name="c", ip="203.0.113.9", user_agent="pytest")
    ids = []
    for name in ("ร้านหนึ่ง", "ร้านสอง"):
        record = apps.start("minimal-permit", actor)
        record, errors = apps.save_page(record["id"], actor, "shop", {"shop_name": name, "shop_area": 20,
                                                                      "has_kitchen": False})
        assert errors == []
        record = apps.submit(record["id"], actor, declaration_shown=declaration_of(engine.catalogue.latest("minimal-permit")),
                             intent_confirmed=True)
        ids.append(record["id"])
    site.store.modify_application(ids[0], lambda r: r.update(assignee=reviewer["id"]))
    admin = site.client("admin@test.go.th")
    person = f"/admin/agencies/test-agency/staff/{reviewer['id']}"
    r = post(admin, f"{person}/status", {"active": "0"}, person)
    assert r.status_code == 303
    assert site.accounts.get(reviewer["id"])["disabled"] is True
    back = site.store.get_application(ids[0])
    assert back.get("assignee") is None
    assert back["events"][-1]["data"]["reason"] == "deactivated"
    with pytest.raises(AssertionError):
        site.client("rev@test.go.th")  # a deactivated account cannot sign in
    [event] = [e for e in site.audit() if e["action"] == "staff.deactivate"]
    assert event["details"]["returned_assignments"] == 1
    own = post(admin, f"/admin/agencies/test-agency/staff/{site.accounts.find_by_email('admin@test.go.th')['id']}/status",
               {"active": "0"}, person)
    assert own.status_code == 400  # not oneself
    assert post(admin, f"{person}/status", {"active": "1"}, person).status_code == 303
    assert site.accounts.get(reviewer["id"])["disabled"] is False
    assert site.client("rev@test.go.th").landing == "/officer"


def test_only_the_agencys_admin_or_the_system_admin_manages_staff(site):  # R: A-X1, CH-4
    site.person("clerk@city.go.th", (CITY, "registry_clerk"))
    site.person("other@district.go.th", ("chatuchak-district", "agency_admin"))
    clerk = site.client("clerk@city.go.th")
    assert clerk.get(STAFF).status_code == 403
    assert clerk.get("/admin").status_code == 403
    other = site.client("other@district.go.th")
    assert other.get(STAFF).status_code == 403
    assert other.get("/admin").headers["location"] == "/admin/agencies/chatuchak-district/staff"
    root = site.client("root@example.go.th")
    assert root.landing == "/admin"
    assert root.get(STAFF).status_code == 200
    assert site.client().get(STAFF).status_code == 303  # anonymous: sign in first
    assert site.client("admin@city.go.th").get("/admin/system").status_code == 403


# --------------------------------------------------------------------------- system administration
def test_system_page_lists_agencies_plugins_mail_and_size(site):  # R: A-X1
    root = site.client("root@example.go.th")
    page = root.get("/admin/system")
    assert page.status_code == 200
    shown = text_of(page.text)
    for expected in ("nonthaburi-city", "chatuchak-district", "thai_validators", "pdf_signature_verifier",
                     "127.0.0.1", "noreply@eservice.test", "MB"):
        assert expected in shown, expected


AGENCY_YAML = """schema_version: 1
kind: agency
code: pak-kret-city
name: {th: เทศบาลนครปากเกร็ด, en: Pak Kret City Municipality}
phone: "02-583-7777"
"""


def test_add_an_agency_from_the_form_and_from_yaml_with_the_cli_check(site):  # R: CH-4
    root = site.client("root@example.go.th")
    r = post(root, "/admin/system/agencies", {"code": "bang-bua-thong", "name_th": "เทศบาลเมืองบางบัวทอง",
                                              "name_en": "Bang Bua Thong Town", "phone": "02-571-7777"},
             "/admin/system", files={"file": ("", b"", "application/octet-stream")})
    assert r.status_code == 303, text_of(r.text)[:800]
    assert (site.defs / "agencies" / "bang-bua-thong.yaml").exists()
    assert "bang-bua-thong" in site.app.state.ctx.catalogue.agencies
    # a broken file: the problem and its line, nothing written
    broken = AGENCY_YAML.replace('phone: "02-583-7777"\n', "phone: [1, 2]\n")
    r = post(root, "/admin/system/agencies", {}, "/admin/system",
             files={"file": ("pak-kret.yaml", broken.encode(), "text/yaml")})
    assert r.status_code == 400 and "บรรทัด 5" in text_of(r.text)
    assert not (site.defs / "agencies" / "pak-kret-city.yaml").exists()
    # a code already in use is refused
    r = post(root, "/admin/system/agencies", {}, "/admin/system",
             files={"file": ("x.yaml", AGENCY_YAML.replace("pak-kret-city", CITY).encode(), "text/yaml")})
    assert r.status_code == 400 and "มีอยู่แล้ว" in r.text
    r = post(root, "/admin/system/agencies", {}, "/admin/system",
             files={"file": ("pak-kret.yaml", AGENCY_YAML.encode(), "text/yaml")})
    assert r.status_code == 303
    # what the web wrote passes the CLI's own check
    from eservice.spec.loader import load
    catalogue, problems = load([site.defs])
    assert problems == [] and {"pak-kret-city", "bang-bua-thong"} <= set(catalogue.agencies)
    assert [e["target"] for e in site.audit() if e["action"] == "system.agency_add"] == ["bang-bua-thong", "pak-kret-city"]


def test_mail_test_message_goes_through_real_smtp(site, smtp_server):  # R: A-X1
    root = site.client("root@example.go.th")
    r = post(root, "/admin/system/mail-test", {"to": "ops@example.go.th"}, "/admin/system")
    assert r.status_code == 200 and "ops@example.go.th" in text_of(r.text)
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ["ops@example.go.th"] and "Test message" in mail.message["subject"]
    bad = post(root, "/admin/system/mail-test", {"to": "nope"}, "/admin/system")
    assert bad.status_code == 400


def test_checks_show_the_audit_chain_and_the_store(site):  # R: A-X1
    root = site.client("root@example.go.th")
    post(root, "/admin/system/mail-test", {"to": "ops@example.go.th"}, "/admin/system")  # an audited event
    page = root.get("/admin/system/checks")
    assert page.status_code == 200
    assert re.search(r'id="audit-result">.*ถูกต้อง', page.text, re.S)
    assert re.search(r'id="store-result">.*ถูกต้อง', page.text, re.S)
    # tamper with the audit log: the page says so
    audit_root = Path(site.app.state.ctx.settings.data) / "audit"
    day = sorted(audit_root.rglob("*.jsonl"))[0]
    day.write_text(day.read_text(encoding="utf-8").replace("ops@example.go.th", "xx@example.go.th"), encoding="utf-8")
    page = root.get("/admin/system/checks")
    assert "พบปัญหา" in page.text
    assert site.client("admin@city.go.th").get("/admin/system/checks").status_code == 403
