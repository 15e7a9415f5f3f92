"""The officers' pages end to end (issue #4): inbox, application view, transitions,
referral, disposal, claim/assign, files, audit.

Runs the real app (``create_app``) over a temporary data folder with the test
definitions plus a second agency and a quicker service; officers are real
accounts signed in through ``/login``; applications are made with
``Applications.start/save_page/submit`` directly.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import yaml
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from eservice.applications import Applications, declaration_of
from eservice.auth import Accounts
from eservice.clock import BANGKOK, FixedClock
from eservice.engine import EngineContext
from eservice.policy import Actor, Grant
from eservice.web.app import create_app
from eservice.web.context import Settings

FIXTURES = Path(__file__).parent / "fixtures" / "defs"
SUNDAY_EVENING = dt.datetime(2023, 1, 22, 21, 33, tzinfo=BANGKOK)  # → received Monday 23 Jan 08:30
MONDAY_MORNING = dt.datetime(2023, 1, 23, 10, 0, tzinfo=BANGKOK)
PASSWORD = "Sapphire-Mango-42!"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# --------------------------------------------------------------------------- set-up
def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def make_definitions(root: Path) -> Path:
    """The fixture definitions, plus: a document on minimal-permit, a quicker
    service with an ``under_review`` step, and a second agency with its own service."""
    defs = root / "defs"
    shutil.copytree(FIXTURES, defs)
    base = yaml.safe_load((FIXTURES / "test-agency" / "minimal.yaml").read_text(encoding="utf-8"))
    base["documents"] = [{"id": "floor_plan", "title": {"th": "แผนผังร้าน", "en": "Floor plan"},
                          "formats": ["pdf", "png"], "required": False}]
    _write(defs / "test-agency" / "minimal.yaml", base)

    quick = yaml.safe_load(yaml.safe_dump(base))
    quick.update(id="quick-permit", title={"th": "ใบอนุญาตด่วน", "en": "Quick permit"}, sla={"working_days": 3})
    quick["workflow"]["states"].insert(1, {"id": "under_review", "title": {"th": "กำลังพิจารณา", "en": "Under review"}})
    for tr in quick["workflow"]["transitions"]:
        if tr["id"] in ("approve", "request_documents"):
            tr["from"] = ["submitted", "under_review"]
    quick["workflow"]["transitions"].append({
        "id": "accept", "title": {"th": "รับเรื่อง", "en": "Accept"}, "from": "submitted", "to": "under_review",
        "roles": ["reviewer", "registry_clerk"]})
    _write(defs / "test-agency" / "quick.yaml", quick)

    _write(defs / "agencies" / "other.yaml", {
        "schema_version": 1, "kind": "agency", "code": "other-agency",
        "name": {"th": "สำนักงานเขตอื่น", "en": "Other District"}, "phone": "02-999-9999"})
    other = yaml.safe_load(yaml.safe_dump(base))
    other.update(id="other-permit", agency="other-agency")
    _write(defs / "other-agency" / "other.yaml", other)
    shutil.copytree(FIXTURES / "test-agency" / "templates", defs / "other-agency" / "templates")
    return defs


class Sent(list):
    """A notifier that records what the applicant would be told."""

    def __call__(self, application, notification, service, extra):
        self.append((application["id"], notification, dict(extra or {})))


class World:
    """The app, its clock, accounts and a few helpers."""

    def __init__(self, tmp_path: Path, *, record: bool = True, **settings):
        """``record``: notifications go to ``self.sent`` instead of the real notifier."""
        self.clock = FixedClock(SUNDAY_EVENING.astimezone(dt.timezone.utc))
        self.settings = Settings(data=tmp_path / "data", definitions=(make_definitions(tmp_path),), **settings)
        self.app = create_app(self.settings, clock=self.clock)
        ctx = self.app.state.ctx
        self.sent = Sent()
        if record:
            self.engine = EngineContext(catalogue=ctx.catalogue, store=ctx.store, files=ctx.files, clock=self.clock,
                                        notifier=self.sent)
            ctx.extra["engine"] = self.engine  # the handlers use this one (deps.engine)
        else:
            from eservice.runtime import notifier_of

            self.engine = ctx.extra["engine"] = EngineContext(
                catalogue=ctx.catalogue, store=ctx.store, files=ctx.files, clock=self.clock, notifier=notifier_of(ctx))
        self.store = ctx.store
        # cheap password hashing in tests; the sign-in pages use this one too (deps.accounts)
        self.accounts = ctx.extra["accounts"] = Accounts(
            ctx.store, self.clock, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        self.apps = Applications(self.engine)
        self.users: dict[str, dict] = {}
        self.citizen = self.person("citizen", "สมชาย", "ใจดี")

    # people -----------------------------------------------------------------
    def person(self, key: str, first: str = "", last: str = "", *grants: tuple) -> dict:
        user, token = self.accounts.register(f"{key}@example.com", PASSWORD,
                                             {"first_name": first or key, "last_name": last or "ทดสอบ"})
        self.accounts.verify_email(token)
        for grant in grants:
            agency, role, *services = grant
            user = self.accounts.grant_role(user["id"], agency, role, services[0] if services else None)
        self.users[key] = user
        return user

    def officer(self, key: str, *grants: tuple) -> dict:
        return self.person(key, key.capitalize(), "เจ้าหน้าที่", *grants)

    def client(self, key: str | None = None) -> TestClient:
        client = TestClient(self.app)
        if key is not None:
            page = client.get("/login")
            response = client.post("/login", data={"csrf_token": token_of(page.text),
                                                   "email": f"{key}@example.com", "password": PASSWORD},
                                   follow_redirects=False)
            assert response.status_code == 303, response.text
        return client

    # applications ---------------------------------------------------------------
    def submit(self, service_id: str = "minimal-permit", name: str = "ร้านป้าแดง", area: int = 250,
               attach: bytes | None = None) -> dict:
        actor = Actor(user_id=self.citizen["id"], name="สมชาย ใจดี", ip="203.0.113.9", user_agent="pytest")
        record = self.apps.start(service_id, actor)
        record, errors = self.apps.save_page(record["id"], actor, "shop", {"shop_name": name, "shop_area": area,
                                                                           "has_kitchen": True, "kitchen_size": 12})
        assert errors == []
        if attach is not None:
            sha = self.engine.files.put(attach)
            self.apps.attach(record["id"], actor, "floor_plan", {"sha256": sha, "filename": "แผนผัง ร้าน.pdf",
                                                                 "media_type": "application/pdf",
                                                                 "size": len(attach)})
        service = self.engine.catalogue.latest(service_id)
        return self.apps.submit(record["id"], actor, declaration_shown=declaration_of(service), intent_confirmed=True)

    def get(self, app_id: str) -> dict:
        return self.store.get_application(app_id)

    def at(self, when: dt.datetime) -> None:
        self.clock.set(when.astimezone(dt.timezone.utc))


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def post(client: TestClient, path: str, data: dict, page: str = "/officer"):
    """POST a form with the CSRF token of a page just loaded (as a browser does)."""
    token = token_of(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


@pytest.fixture
def world(tmp_path) -> World:
    w = World(tmp_path)
    w.officer("reviewer", ("test-agency", "reviewer"))
    w.officer("reviewer2", ("test-agency", "reviewer"))
    w.officer("approver", ("test-agency", "approver"))
    w.officer("clerk", ("test-agency", "registry_clerk"))
    w.officer("head", ("test-agency", "head_of_agency"))
    w.officer("foreign", ("other-agency", "reviewer"))
    w.officer("limited", ("test-agency", "reviewer", ["quick-permit"]))
    return w


def _order(html: str, *ids: str) -> list[int]:
    return [html.index(f"/officer/applications/{i}\"") for i in ids]


# --------------------------------------------------------------------------- access
def test_sign_in_needed_and_staff_only(world):  # R: A-X1
    anonymous = world.client()
    response = anonymous.get("/officer", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    assert world.client("citizen").get("/officer").status_code == 403


def test_inbox_shows_only_own_agency_changed_first_then_by_due(world):  # R: CH-4, A-R1, A-A1, A-A6, RC-1
    slow = world.submit("minimal-permit", "ร้านช้า")       # 15 working days, changed (new)
    quick_done = world.submit("quick-permit", "ร้านรับแล้ว")  # 3 working days, accepted: not changed
    quick_new = world.submit("quick-permit", "ร้านใหม่")     # 3 working days, changed (new)
    foreign = world.submit("other-permit", "ร้านต่างเขต")
    draft = world.apps.start("minimal-permit", Actor(user_id=world.citizen["id"]))
    world.at(MONDAY_MORNING)
    reviewer = world.client("reviewer")
    response = post(reviewer, f"/officer/applications/{quick_done['id']}/transitions/accept",
                    {"expected_version": quick_done["version"]})
    assert response.status_code == 303

    html = reviewer.get("/officer").text
    assert foreign["id"] not in html and draft["id"] not in html  # CH-4; drafts never appear
    a, b, c = _order(html, quick_new["id"], slow["id"], quick_done["id"])
    assert a < b < c  # changed first (by due: quick before slow), then the rest
    assert "ใหม่/มีความเคลื่อนไหว" in html and "ตามกำหนด" in html
    assert "พบ 3 เรื่อง" in html

    # the other agency's officer sees only the other agency's work
    other = world.client("foreign").get("/officer").text
    assert foreign["id"] in other and slow["id"] not in other
    # an officer limited to one service sees that service only
    limited = world.client("limited").get("/officer").text
    assert quick_new["id"] in limited and slow["id"] not in limited


def test_inbox_filters(world):  # R: A-R1
    slow = world.submit("minimal-permit")
    quick = world.submit("quick-permit")
    accepted = world.submit("quick-permit")
    world.at(MONDAY_MORNING)
    reviewer = world.client("reviewer")
    post(reviewer, f"/officer/applications/{accepted['id']}/transitions/accept", {"expected_version": accepted["version"]})
    post(reviewer, f"/officer/applications/{quick['id']}/claim", {"expected_version": quick["version"], "next": "inbox"})

    def shown(query: str) -> set[str]:
        html = reviewer.get(f"/officer/test-agency?{query}").text
        return {i for i in (slow["id"], quick["id"], accepted["id"]) if f"/officer/applications/{i}\"" in html}

    assert shown("service=quick-permit") == {quick["id"], accepted["id"]}
    assert shown("state=under_review") == {accepted["id"]}
    assert shown("assignee=me") == {quick["id"]}
    assert shown("assignee=unassigned") == {slow["id"], accepted["id"]}
    assert shown("assignee=bogus&due=nonsense") == {slow["id"], quick["id"], accepted["id"]}  # ignored
    assert shown("due=overdue") == set()
    # received Monday 08:30, 3 working days: due Wednesday 25 Jan 16:30 → Tuesday: warning; Thursday: overdue
    world.at(dt.datetime(2023, 1, 24, 15, 0, tzinfo=BANGKOK))
    assert shown("due=warning") == {quick["id"], accepted["id"]}
    world.at(dt.datetime(2023, 1, 26, 9, 0, tzinfo=BANGKOK))
    assert shown("due=overdue") == {quick["id"], accepted["id"]}
    assert "เกินกำหนด" in reviewer.get("/officer").text


def test_officer_of_several_agencies_chooses(world):  # R: CH-4
    world.officer("both", ("test-agency", "reviewer"), ("other-agency", "reviewer"))
    mine = world.submit("minimal-permit")
    theirs = world.submit("other-permit")
    client = world.client("both")
    page = client.get("/officer").text
    assert "/officer/test-agency" in page and "/officer/other-agency" in page
    assert mine["id"] in client.get("/officer/test-agency").text
    assert theirs["id"] in client.get("/officer/other-agency").text
    assert world.client("reviewer").get("/officer/other-agency").status_code == 404


# --------------------------------------------------------------------------- the application page
def test_application_page_shows_everything_and_is_audited(world):  # R: A-R2, A-A2, A-F8, A-R5
    record = world.submit(attach=PDF)
    world.at(MONDAY_MORNING)
    reviewer = world.client("reviewer")
    response = reviewer.get(f"/officer/applications/{record['id']}")
    assert response.status_code == 200
    html = response.text
    assert "ชื่อร้าน" in html and "ร้านป้าแดง" in html  # labels and answers
    assert "250" in html and "ใช่" in html and "ขนาดครัว" in html  # number, yes/no, conditional field shown
    assert "แผนผัง ร้าน.pdf" in html and "<iframe" not in html  # a PDF is downloaded, never framed (#17)
    assert "ไฟล์ PDF ไม่แสดงในหน้านี้" in html
    sha = record["documents"]["floor_plan"][0]["sha256"]
    assert f"/officer/applications/{record['id']}/files/{sha}?download=1" in html
    assert "ข้อมูลตรงกับที่ลงนามไว้" in html and record["signature"]["content_sha256"] in html  # A-F8
    assert "ยื่นคำขอ" in html and "ตรวจแล้วครบถ้วน" in html  # history and its hash chain
    assert "กำหนดแล้วเสร็จ" in html and "ใช้ไปแล้ว" in html and "เหลือ" in html  # SLA clock
    assert 'name="expected_version"' in html and "ขอเอกสารเพิ่ม" in html  # transition form
    assert 'name="missing"' in html and 'name="deadline.year"' in html  # its inputs
    assert "form-approve" not in html  # the approver's action is not offered to a reviewer
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " style=" not in html  # CSP: nothing inline
    english = reviewer.get(f"/officer/applications/{record['id']}?lang=en").text
    assert "Shop name" in english and "Request documents" in english and "Yes" in english

    from eservice.audit import AuditLog
    views = AuditLog(world.settings.data).search(target=record["id"], action="view_application")
    assert len(views) == 2 and views[0]["actor"] == world.users["reviewer"]["id"]  # Thai, then English
    assert views[0]["agency"] == "test-agency" and views[0]["ip"]


def test_documents_are_served_only_for_their_application(world):  # R: A-R2, CH-4, A-X2
    record = world.submit(attach=PDF)
    other = world.submit(attach=PDF + b"% other\n")
    world.at(MONDAY_MORNING)
    reviewer = world.client("reviewer")
    sha = record["documents"]["floor_plan"][0]["sha256"]
    response = reviewer.get(f"/officer/applications/{record['id']}/files/{sha}")
    assert response.status_code == 200 and response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment")  # PDFs never inline (#17)
    assert "filename*=utf-8''" in response.headers["content-disposition"]  # the Thai file name
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("sandbox")
    download = reviewer.get(f"/officer/applications/{record['id']}/files/{sha}?download=1")
    assert download.headers["content-disposition"].startswith("attachment")
    other_sha = other["documents"]["floor_plan"][0]["sha256"]
    assert reviewer.get(f"/officer/applications/{record['id']}/files/{other_sha}").status_code == 404
    assert reviewer.get(f"/officer/applications/{record['id']}/files/{'0' * 64}").status_code == 404
    assert reviewer.get(f"/officer/applications/{record['id']}/files/..%2Fsecret").status_code == 404

    foreign = world.client("foreign")
    assert foreign.get(f"/officer/applications/{record['id']}").status_code == 404
    assert foreign.get(f"/officer/applications/{record['id']}/files/{sha}").status_code == 404
    assert foreign.get("/officer/applications/app-doesnotexist").status_code == 404

    from eservice.audit import AuditLog
    seen = AuditLog(world.settings.data).search(target=record["id"], action="view_document")
    assert len(seen) == 2 and seen[0]["details"]["sha256"] == sha


def test_drafts_are_not_shown_to_officers(world):  # R: A-X1
    draft = world.apps.start("minimal-permit", Actor(user_id=world.citizen["id"]))
    assert world.client("reviewer").get(f"/officer/applications/{draft['id']}").status_code == 404


# --------------------------------------------------------------------------- transitions
def test_request_documents_changes_state_and_notifies(world):  # R: PR-1, PR-5, A-R3, A-R4
    record = world.submit()
    world.at(MONDAY_MORNING)
    reviewer = world.client("reviewer")
    response = post(reviewer, f"/officer/applications/{record['id']}/transitions/request_documents",
                    {"expected_version": record["version"], "missing": "สำเนาทะเบียนบ้าน", "deadline": "10/02/2566"},
                    page=f"/officer/applications/{record['id']}")
    assert response.status_code == 303 and response.headers["location"] == "/officer/test-agency"
    after = world.get(record["id"])
    assert after["state"] == "awaiting_documents" and after["changed"] is False
    assert after["deadline"].startswith("2023-02-10")  # the Buddhist-Era date was read
    assert after["events"][-1]["data"]["inputs"] == {"missing": "สำเนาทะเบียนบ้าน", "deadline": "2023-02-10"}
    assert (record["id"], "documents_requested") in [(a, n) for a, n, _ in world.sent]
    inbox = reviewer.get("/officer").text
    assert "บันทึก “ขอเอกสารเพิ่ม”" in inbox  # the confirmation
    assert "พักนับเวลา" in inbox  # the SLA clock stopped while waiting for the applicant


def test_missing_input_keeps_what_was_typed_and_changes_nothing(world):  # R: PR-1
    record = world.submit()
    world.at(MONDAY_MORNING)
    reviewer = world.client("reviewer")
    response = post(reviewer, f"/officer/applications/{record['id']}/transitions/request_documents",
                    {"expected_version": record["version"], "missing": "  ", "deadline": "2023-02-10"})
    assert response.status_code == 400
    assert "กรุณากรอก “รายการที่ขาด”" in response.text
    assert re.search(r'name="deadline.year"\s+type="text" inputmode="numeric" value="2566"', response.text)  # kept
    assert "10 กุมภาพันธ์ พ.ศ. 2566" in response.text  # written out beside the date widget (no JS)
    assert 'href="#request_documents-missing"' in response.text  # the error summary links to the field
    assert world.get(record["id"])["state"] == "submitted" and world.sent == [(record["id"], "submitted", {})]
    past = post(reviewer, f"/officer/applications/{record['id']}/transitions/request_documents",
                {"expected_version": record["version"], "missing": "x", "deadline": "2023-01-01"})
    assert past.status_code == 400 and "ต้องไม่เป็นวันที่ผ่านมาแล้ว" in past.text
    english = reviewer.post(f"/officer/applications/{record['id']}/transitions/request_documents?lang=en",
                            data={"csrf_token": token_of(reviewer.get("/officer").text),
                                  "expected_version": record["version"]})
    assert english.status_code == 400 and "enter “Missing items”" in english.text


def test_two_officers_at_once_second_sees_conflict_and_new_state(world):  # R: A-R3
    record = world.submit()
    world.at(MONDAY_MORNING)
    first, second = world.client("reviewer"), world.client("reviewer2")
    page_first = first.get(f"/officer/applications/{record['id']}").text
    page_second = second.get(f"/officer/applications/{record['id']}").text
    ok = first.post(f"/officer/applications/{record['id']}/transitions/request_documents",
                    data={"csrf_token": token_of(page_first), "expected_version": record["version"], "missing": "a"},
                    follow_redirects=False)
    assert ok.status_code == 303
    late = second.post(f"/officer/applications/{record['id']}/transitions/request_documents",
                       data={"csrf_token": token_of(page_second), "expected_version": record["version"],
                             "missing": "b"}, follow_redirects=False)
    assert late.status_code == 409
    assert "มีผู้อื่นดำเนินการกับคำขอนี้ก่อนท่าน" in late.text and "รอเอกสารเพิ่ม" in late.text
    assert [e["data"]["inputs"]["missing"] for e in world.get(record["id"])["events"]
            if e["type"] == "transition"] == ["a"]


def test_approver_approves_and_the_application_leaves_the_inbox(world):  # R: A-A3, A-A4, A-A5
    record = world.submit()
    world.at(MONDAY_MORNING)
    reviewer = world.client("reviewer")
    assert "form-approve" not in reviewer.get(f"/officer/applications/{record['id']}").text  # not the reviewer's
    refused = post(reviewer, f"/officer/applications/{record['id']}/transitions/approve",
                   {"expected_version": record["version"]})
    assert refused.status_code == 403 and world.get(record["id"])["state"] == "submitted"
    approver = world.client("approver")
    assert "form-approve" in approver.get(f"/officer/applications/{record['id']}").text
    done = post(approver, f"/officer/applications/{record['id']}/transitions/approve",
                {"expected_version": record["version"]})
    assert done.status_code == 303
    after = world.get(record["id"])
    assert after["state"] == "approved" and after["closed"] and after["fees"][0]["amount"] == "1000.00"
    assert record["id"] not in approver.get("/officer").text
    # a closed application can still be read, with no actions
    assert "คำขอนี้สิ้นสุดแล้ว" in approver.get(f"/officer/applications/{record['id']}").text


# --------------------------------------------------------------------------- claim and assign
def test_claim_and_assign(world):  # R: A-R1, PR-13
    record = world.submit()
    world.at(MONDAY_MORNING)
    reviewer = world.client("reviewer")
    response = post(reviewer, f"/officer/applications/{record['id']}/claim",
                    {"expected_version": record["version"], "next": "inbox"})
    assert response.status_code == 303 and response.headers["location"] == "/officer/test-agency"
    claimed = world.get(record["id"])
    assert claimed["assignee"] == world.users["reviewer"]["id"] and claimed["events"][-1]["type"] == "assigned"
    assert claimed["changed"] is True  # claiming does not clear "changed": only a decision does
    # a stale claim by a colleague: the version moved on
    stale = post(world.client("reviewer2"), f"/officer/applications/{record['id']}/claim",
                 {"expected_version": record["version"]})
    assert stale.status_code == 303 and world.get(record["id"])["assignee"] == world.users["reviewer"]["id"]
    # reviewers may not assign to others; the registry clerk may
    assert post(reviewer, f"/officer/applications/{record['id']}/assign",
                {"expected_version": claimed["version"], "assignee": world.users["reviewer2"]["id"]}).status_code == 403
    clerk = world.client("clerk")
    done = post(clerk, f"/officer/applications/{record['id']}/assign",
                {"expected_version": claimed["version"], "assignee": world.users["reviewer2"]["id"]})
    assert done.status_code == 303 and world.get(record["id"])["assignee"] == world.users["reviewer2"]["id"]
    # only colleagues of this agency can be chosen
    current = world.get(record["id"])
    wrong = post(clerk, f"/officer/applications/{record['id']}/assign",
                 {"expected_version": current["version"], "assignee": world.users["foreign"]["id"]})
    assert wrong.status_code == 400 and "กรุณาเลือกเจ้าหน้าที่จากรายการ" in wrong.text
    html = world.client("reviewer2").get("/officer?assignee=me").text
    assert record["id"] in html


# --------------------------------------------------------------------------- referral (RC-2)
def test_referral_to_the_right_agency(world):  # R: RC-2
    record = world.submit()
    world.at(MONDAY_MORNING)
    reviewer = world.client("reviewer")
    assert post(reviewer, f"/officer/applications/{record['id']}/refer",
                {"expected_version": record["version"], "referred_to": "x"}).status_code == 403
    clerk = world.client("clerk")
    page = clerk.get(f"/officer/applications/{record['id']}").text
    assert "ยื่นผิดหน่วยงาน" in page and "สำนักงานเขตอื่น" in page
    empty = post(clerk, f"/officer/applications/{record['id']}/refer", {"expected_version": record["version"]})
    assert empty.status_code == 400 and "หน่วยงานที่รับผิดชอบ" in empty.text
    done = post(clerk, f"/officer/applications/{record['id']}/refer",
                {"expected_version": record["version"], "referred_to_agency": "other-agency",
                 "note": "โปรดติดต่อสำนักงานเขต"})
    assert done.status_code == 303
    after = world.get(record["id"])
    assert after["closed"] and after["outcome"] == "referred" and after["state"] == "submitted"  # no such state
    event = after["events"][-1]
    assert event["type"] == "referred" and event["data"]["referred_to"] == "สำนักงานเขตอื่น"
    sent_id, notice, extra = world.sent[-1]
    assert (sent_id, notice) == (record["id"], "referred")
    assert extra["referral"] == {"to": "สำนักงานเขตอื่น", "agency": "other-agency",
                                 "contact": "โทร. / tel. 02-999-9999", "note": "โปรดติดต่อสำนักงานเขต"}
    assert extra["attachments"] == []  # this app issues no documents (no outputs): no letter
    from eservice.events import verify_chain
    assert verify_chain(after["events"]) == []
    assert record["id"] not in clerk.get("/officer").text


# --------------------------------------------------------------------------- disposal (PR-2, A-R6)
def test_disposal_after_the_deadline_is_approved_by_the_head_only(world):  # R: PR-2, A-R6
    record = world.submit()
    world.at(MONDAY_MORNING)
    reviewer = world.client("reviewer")
    post(reviewer, f"/officer/applications/{record['id']}/transitions/request_documents",
         {"expected_version": record["version"], "missing": "ใบรับรองแพทย์", "deadline": "2023-01-27"})
    head = world.client("head")
    assert record["id"] not in head.get("/officer/test-agency/disposal").text  # the deadline has not passed
    world.at(dt.datetime(2023, 1, 30, 9, 0, tzinfo=BANGKOK))
    listing = head.get("/officer/test-agency/disposal").text
    assert record["id"] in listing and "ไม่ดำเนินการภายในกำหนด" in listing
    current = world.get(record["id"])
    clerk = world.client("clerk")
    assert "เฉพาะหัวหน้าหน่วยงาน" in clerk.get("/officer/test-agency/disposal").text
    assert post(clerk, f"/officer/applications/{record['id']}/dispose",
                {"expected_version": current["version"], "reason": "ไม่ส่งเอกสาร"}).status_code == 403
    missing = post(head, f"/officer/applications/{record['id']}/dispose", {"expected_version": current["version"]},
                   page="/officer/test-agency/disposal")
    assert missing.status_code == 400 and "เหตุผลการจำหน่ายเรื่อง" in missing.text
    done = post(head, f"/officer/applications/{record['id']}/dispose",
                {"expected_version": current["version"], "reason": "ไม่ส่งเอกสารภายในกำหนด"},
                page="/officer/test-agency/disposal")
    assert done.status_code == 303
    after = world.get(record["id"])
    # the definition's own transition was taken, by the head, with the reason
    assert after["state"] == "disposed" and after["outcome"] == "disposed" and after["closed"]
    last = after["events"][-1]
    assert last["type"] == "transition" and last["data"]["transition"] == "dispose"
    assert last["actor"] == world.users["head"]["id"]
    assert record["id"] not in head.get("/officer/test-agency/disposal").text


def test_disposal_of_an_unreachable_applicant_closes_by_event(world):  # R: PR-2, A-R6
    record = world.submit()
    # the acknowledgement bounced 31 days ago (a permanent refusal for the applicant's address)
    world.store.collection("outbox").put("20221222T000000000000-000000001", {
        "id": "20221222T000000000000-000000001", "to": [world.citizen["email"]],
        "at": dt.datetime(2022, 12, 22, tzinfo=dt.timezone.utc).isoformat(), "subject": "x", "status": "failed",
        "message_id": None, "application": record["id"], "kind": "submitted", "attachments": [],
        "error": {"code": "recipient_refused", "th": "", "en": "", "smtp_code": 550, "permanent": True,
                  "refused": {world.citizen["email"]: [550, "User unknown"]}}})
    world.at(MONDAY_MORNING)
    head = world.client("head")
    listing = head.get("/officer/test-agency/disposal").text
    assert record["id"] in listing and "ติดต่อผู้ยื่นคำขอไม่ได้" in listing
    page = head.get(f"/officer/applications/{record['id']}").text
    assert "อนุมัติจำหน่ายเรื่อง" in page
    done = post(head, f"/officer/applications/{record['id']}/dispose",
                {"expected_version": record["version"], "reason": "ติดต่อไม่ได้เกิน 30 วัน", "next": "application"})
    assert done.status_code == 303
    after = world.get(record["id"])
    # no transition leads from "submitted" to "disposed": closed by an event, into the disposed state
    assert after["closed"] and after["outcome"] == "disposed" and after["state"] == "disposed"
    assert after["events"][-1]["type"] == "disposed" and after["events"][-1]["data"]["reason"] == "ติดต่อไม่ได้เกิน 30 วัน"
    assert after["answers"] == record["answers"]  # nothing deleted


def test_proposal_states_of_the_example_services():  # R: A-R6 — the definition proposes disposal
    from eservice.referral import disposal_transition, is_proposal_state
    from eservice.spec.loader import load_or_raise

    catalogue = load_or_raise([Path(__file__).parent.parent / "service_definitions"])
    food = catalogue.latest("food-shop-permit")
    assert is_proposal_state(food, "disposal_proposed")  # entered by a timer; the head decides
    assert not is_proposal_state(food, "awaiting_documents")  # waiting for the applicant
    assert not is_proposal_state(food, "under_review")
    commercial = catalogue.latest("commercial-registration")
    assert not is_proposal_state(commercial, "awaiting_documents")  # a timer disposes of it by itself
    head = Actor(user_id="u-head", grants=(Grant("nonthaburi-city", "head_of_agency"),))
    found = disposal_transition(food, {"state": "disposal_proposed", "agency": "nonthaburi-city",
                                       "service": "food-shop-permit"}, head)
    assert found is not None and found[0].id == "dispose" and found[1] is True  # taken as the head
    found = disposal_transition(food, {"state": "awaiting_payment", "agency": "nonthaburi-city",
                                       "service": "food-shop-permit"}, head)
    assert found is not None and found[0].id == "payment_overdue"
    assert disposal_transition(food, {"state": "under_review", "agency": "nonthaburi-city",
                                      "service": "food-shop-permit"}, head) is None


# --------------------------------------------------------------------------- reports (A-SP5)
def test_reports_page_and_downloads_for_allowed_roles(world):  # R: A-SP5, A-X1
    done = world.submit()
    world.submit("quick-permit")
    world.at(MONDAY_MORNING)
    approver = world.client("approver")
    post(approver, f"/officer/applications/{done['id']}/transitions/approve", {"expected_version": done["version"]})
    head = world.client("head")
    page = head.get("/officer/reports?from=2023-01-01&to=2023-01-31")
    assert page.status_code == 200
    assert "<svg" in page.text and 'role="img"' in page.text  # the inline chart
    assert "ใบอนุญาตทดสอบ" in page.text and "ใบอนุญาตด่วน" in page.text  # one row per service
    assert "/officer/reports/export.csv?agency=test-agency" in page.text
    csv = head.get("/officer/reports/export.csv?agency=test-agency&from=2023-01-01&to=2023-01-31")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith(b"\xef\xbb\xbf") and "attachment" in csv.headers["content-disposition"]
    xlsx = head.get("/officer/reports/export.xlsx?agency=test-agency&from=01/01/2566&to=31/01/2566")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert head.get("/officer/reports?from=nonsense").status_code == 200  # a message, the default period
    assert world.client("reviewer").get("/officer/reports").status_code == 403  # not a reporting role
    assert head.get("/officer/reports?agency=other-agency").status_code == 404  # CH-4
    from eservice.audit import AuditLog
    assert AuditLog(world.settings.data).search(action="export_report")


def test_thai_date_widget_reads_buddhist_era_and_refuses_a_year_out_of_range(world):  # R: issue #10 item 6, A-F3
    record = world.submit()
    world.at(MONDAY_MORNING)
    reviewer = world.client("reviewer")
    page = f"/officer/applications/{record['id']}"
    form = reviewer.get(page).text
    assert 'type="date"' not in form  # no browser picker: the Thai date widget
    assert 'name="deadline.year"' in form and "ตัวอย่าง 31 1 2570 (ปีพุทธศักราช)" in form
    action = f"{page}/transitions/request_documents"
    typed = {"deadline.day": "31", "deadline.month": "01", "deadline.year": "3113"}
    refused = post(reviewer, action, {"expected_version": record["version"], "missing": "x", **typed}, page=page)
    assert refused.status_code == 400
    assert "ปี 3113 อยู่นอกช่วงที่รับได้: ใช้ปี พ.ศ. 2400–2700" in refused.text
    assert re.search(r'name="deadline.year"\s+type="text" inputmode="numeric" value="3113"', refused.text)  # kept
    assert world.get(record["id"])["state"] == "submitted"
    # no JS: the server shows what a readable typed date means, beside it, with the other errors
    other = post(reviewer, action, {"expected_version": record["version"], "missing": " ",
                                    **typed, "deadline.year": "2570"}, page=page)
    assert other.status_code == 400 and "31 มกราคม พ.ศ. 2570" in other.text
    taken = post(reviewer, action, {"expected_version": record["version"], "missing": "x",
                                    **typed, "deadline.year": "2570"}, page=page)
    assert taken.status_code == 303
    after = world.get(record["id"])
    assert after["deadline"].startswith("2027-01-31")  # 31/01/2570 (B.E.) is 31 January 2027
    assert after["events"][-1]["data"]["inputs"]["deadline"] == "2027-01-31"
    again = world.submit()
    english = reviewer.post(f"/officer/applications/{again['id']}/transitions/request_documents?lang=en", data={
        "csrf_token": token_of(reviewer.get(page).text), "expected_version": again["version"],
        "missing": "x", "deadline": "31/01/3113"})  # one d/m/yyyy value, as an API client sends it
    assert english.status_code == 400 and "the year 3113 is out of range: use 1857–2157" in english.text
    assert 'name="deadline.year"' in english.text and ">Year<" in english.text  # Gregorian in English
