"""The public licence register, its statuses and /verify, through the real web app
(issue #7 items 4, 5 and 9).

R: PL-1, PL-4, PL-5, PR-8, A-X1.

Licences are issued as a new user would get them (``tests/test_outputs_journey.py``:
the applicant through the JSON API, officers through their pages, a real
time-stamp server on loopback); the register and ``/verify`` are then read by
an anonymous browser.  The installation's trust bundle holds the test
time-stamp service's root (``Settings.trust_roots``), as ``docs/trust.md``
tells an operator to do.
"""
from __future__ import annotations

import html
import io
import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from starlette.testclient import TestClient

from eservice.audit import AuditLog
from eservice.register.values import field_specs
from eservice.settings import Settings
from smtp_server import SmtpTestServer
from test_outputs_journey import ANSWERS, CASES, NATIONAL_ID, World, licence_download, tampered, token_of
from tsa_server import tsa_server  # noqa: F401  (fixture)

REVOKE_REASON = "คำสั่งเขตจตุจักร ที่ 12/2569 เพิกถอนเพราะเลิกประกอบกิจการ"


# --------------------------------------------------------------------------- the world
@pytest.fixture(scope="module")
def world(tmp_path_factory, tsa_server):  # noqa: F811
    folder = tmp_path_factory.mktemp("register")
    root = folder / "tsa-root.pem"
    root.write_bytes(tsa_server.ca_pem)
    with SmtpTestServer() as smtp:
        yield World(folder / "data", tsa_server, smtp, trust_roots=(root,))


def issue(world: World, case: str) -> dict:
    """One licence of the examples, from application to signature, through the web."""
    service, changes, agency, steps, final = CASES[case]
    app_id = world.apply(service, **changes)
    for step in steps:
        if step == "pay":
            world.pay(app_id)
        elif step != "draft":
            who, transition, inputs = step
            world.act(f"{who}.{agency}", app_id, transition, **inputs)
    record = world.store.get_application(app_id)
    assert record["state"] == final
    return record


@pytest.fixture(scope="module")
def licences(world) -> dict[str, dict]:
    return {case: issue(world, case) for case in ("commercial_registration", "food_licence")}


def anonymous(world) -> TestClient:
    return TestClient(world.app)


def entry_blocks(page: str) -> list[str]:
    return re.findall(r'<li class="register-entry">(.*?)</li>\s*(?=<li class="register-entry">|</ul>)', page, re.S)


def block_of(page: str, number: str) -> str:
    found = [b for b in entry_blocks(page) if html.escape(number) in b or number in b]
    assert len(found) == 1, f"{number} listed {len(found)} times"
    return found[0]


def shown_fields(block: str) -> list[tuple[str, str, str]]:
    """(field id, label, value) of each register field shown in an entry."""
    rows = re.findall(r'data-field="([a-z0-9_]+)"><dt class="summary-list__key">(.*?)</dt>'
                      r'<dd class="summary-list__value">(.*?)</dd>', block, re.S)
    return [(f, html.unescape(label).strip(), html.unescape(value).strip()) for f, label, value in rows]


def licence_of(world, record: dict, case: str):
    service = world.app.state.ctx.catalogue.get(record["service"], record["service_version"])
    return service, next(x for x in service.definition.outputs.licences if x.id == case)


def entry_link(page: str, number: str) -> str:
    block = block_of(page, number)
    return re.search(r'href="(/licences/lic-[0-9a-f]{24})"', block).group(1)


# --------------------------------------------------------------------------- the register (PL-1)
@pytest.mark.parametrize("case", ["commercial_registration", "food_licence"])
def test_the_register_lists_a_published_licence_with_exactly_its_declared_fields(world, licences, case):
    # R: PL-1 (the licence with its data as printed and its status, without signing in)
    record = licences[case]
    number = record["licences"][case]["number"]
    service, licence = licence_of(world, record, case)
    client = anonymous(world)
    pages = [client.get(p) for p in ("/licences", f"/licences/agencies/{record['agency']}",
                                     f"/licences/services/{record['service']}")]
    for page in pages:
        assert page.status_code == 200
        block = block_of(page.text, number)
        fields = shown_fields(block)
        assert [f for f, _, _ in fields] == list(licence.register_fields)  # exactly these, in this order
        assert "มีผลใช้บังคับ" in block
        for personal in (NATIONAL_ID, "0812345678", "somchai@example.com", "1985-03-14", "14 มีนาคม"):
            assert personal not in page.text  # nothing of the application outside `register`
    fields = {f: (label, value) for f, label, value in shown_fields(block_of(pages[2].text, number))}
    if case == "commercial_registration":  # a calculation is a register field like any other
        assert fields["owner_name"] == ("ชื่อผู้ประกอบการ", "สมชาย ใจดี")
        assert fields["trade_name"][1] == ANSWERS["commercial-registration"]["trade_name"]
    else:  # validity: one year, the day before the anniversary
        assert "14 มิถุนายน พ.ศ. 2570" in block_of(pages[2].text, number)
        assert fields["shop_name"][1] == "ร้านป้าแดง" and fields["seats"][1] == "30 ที่นั่ง"
    english = client.get(f"/licences/services/{record['service']}?lang=en")
    en_fields = {f: label for f, label, _ in shown_fields(block_of(english.text, number))}
    assert en_fields == {spec.id: spec.label["en"] for spec in field_specs(service, licence)}
    assert "In force" in block_of(english.text, number)
    if case == "commercial_registration":
        assert en_fields["owner_name"] == "Owner's name"
    detail = client.get(entry_link(pages[2].text, number))
    assert detail.status_code == 200 and number in html.unescape(detail.text)
    assert NATIONAL_ID not in detail.text and "/verify?licence=" in detail.text


def test_the_register_has_search(world, licences):  # R: PL-1
    client = anonymous(world)
    number = licences["commercial_registration"]["licences"]["commercial_registration"]["number"]
    found = client.get("/licences", params={"q": "ร้านสมชาย"})
    assert [b for b in entry_blocks(found.text)] and block_of(found.text, number)
    assert "พบ 1 รายการ" in found.text
    none = client.get("/licences", params={"q": "ไม่มีร้านนี้แน่นอน"})
    assert entry_blocks(none.text) == [] and "ไม่พบใบอนุญาตที่ตรงกับการค้นหา" in none.text
    assert "No licence matches the search" in client.get("/licences", params={"q": "zzz", "lang": "en"}).text
    assert client.get("/licences/agencies/no-such-agency").status_code == 404
    assert client.get("/licences/services/no-such-service").status_code == 404
    assert client.get(f"/licences/lic-{'0' * 24}").status_code == 404


# --------------------------------------------------------------------------- statuses (PL-4)
def exported_status(world, number: str) -> dict[str, str]:
    """The licence's status in each file the register offers."""
    client = anonymous(world)
    out = {}
    csv_text = client.get("/licences/register.csv").content.decode("utf-8-sig")
    import csv

    out["csv"] = next(r["status"] for r in csv.DictReader(io.StringIO(csv_text)) if r["licence_number"] == number)
    body = client.get("/licences/register.json").json()
    out["json"] = next(r["status"] for r in body["records"] if r["licence_number"] == number)
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(client.get("/licences/register.xlsx").content)).worksheets[0]
    header = [c.value for c in sheet[1]]
    out["xlsx"] = next(r[header.index("status")] for r in sheet.iter_rows(min_row=2, values_only=True)
                       if r[header.index("licence_number")] == number)
    return out


def officer_form(client: TestClient, path: str) -> tuple[str, int]:
    page = client.get(path)
    assert page.status_code == 200, page.text[:300]
    version = int(re.search(r'name="expected_version" value="(\d+)"', page.text).group(1))
    return token_of(page.text), version


def test_suspending_and_revoking_change_the_register_verify_and_every_export(world, licences):
    # R: PL-1, PL-4 (a suspension or revocation shows at once), PR-8, A-X1 (audit chain)
    record = licences["commercial_registration"]
    number = record["licences"]["commercial_registration"]["number"]
    public = anonymous(world)
    path = entry_link(public.get("/licences").text, number)
    key = path.rsplit("/", 1)[1]
    officer_path = f"/officer{path}"
    assert exported_status(world, number) == {"csv": "active", "json": "active", "xlsx": "active"}

    # who may: the agency's signing authority and head; anyone else sees nothing
    assert public.get(officer_path, follow_redirects=False).headers["location"].startswith("/login")
    for other in ("reviewer.chatuchak-district", "signing_authority.nonthaburi-city", "somchai"):
        assert world.web(other).get(officer_path).status_code == 404
    officer = world.web("signing_authority.chatuchak-district")
    application = officer.get(f"/officer/applications/{record['id']}").text  # how an officer finds it
    assert f'href="/licences?q={quote(number)}"' in application
    token, version = officer_form(officer, officer_path)
    refused = world.web("reviewer.chatuchak-district").post(
        f"{officer_path}/status", data={"csrf_token": token_of(world.web("reviewer.chatuchak-district")
                                                               .get("/licences").text),
                                        "expected_version": version, "action": "revoke", "reason": "x"})
    assert refused.status_code == 404

    # a reason is required; a stale page is refused; nothing changes either way
    no_reason = officer.post(f"{officer_path}/status", data={"csrf_token": token, "expected_version": version,
                                                            "action": "suspend", "reason": "  "})
    assert no_reason.status_code == 422 and "กรุณาระบุเหตุผล" in no_reason.text
    stale = officer.post(f"{officer_path}/status", data={"csrf_token": token, "expected_version": version - 1,
                                                        "action": "suspend", "reason": "ตรวจพบการฝ่าฝืน"})
    assert stale.status_code == 409 and "มีผู้อื่นเปลี่ยนสถานะ" in stale.text
    assert "มีผลใช้บังคับ" in block_of(public.get("/licences").text, number)

    # suspend, lift, revoke; the holder is told each time, by e-mail, with the reason (PL-4)
    for action, reason, shown in (("suspend", "ตรวจพบการฝ่าฝืนเงื่อนไข พักใช้ 30 วัน", "ถูกพักใช้"),
                                  ("reinstate", "แก้ไขแล้ว", "มีผลใช้บังคับ"),
                                  ("revoke", REVOKE_REASON, "ถูกเพิกถอน")):
        token, version = officer_form(officer, officer_path)
        before = len(world.smtp.messages)
        done = officer.post(f"{officer_path}/status", data={"csrf_token": token, "expected_version": version,
                                                           "action": action, "reason": reason},
                            follow_redirects=False)
        assert done.status_code == 303, done.text[:500]
        mail = world.smtp.wait_for(before + 1)[-1]
        assert len(world.smtp.messages) == before + 1  # one mail, to the holder only
        assert mail.rcpt_tos == ["somchai@example.com"]
        assert number in mail.message["Subject"] and reason in mail.text
        assert shown in mail.text  # the status now, in Thai ...
        english = {"suspend": "has been suspended", "reinstate": "is in force again", "revoke": "has been revoked"}
        assert english[action] in mail.message["Subject"] and english[action] in mail.text  # ... and English
        assert f"/licences/{key}" in mail.text and "/verify?licence=" in mail.text
        sent = [r for r in world.store.collection("outbox").all() if r.get("kind") == f"licence.{action}"]
        assert [r["status"] for r in sent] == ["sent"] and sent[0]["application"] == record["id"]
        assert shown in block_of(public.get(f"/licences/services/{record['service']}").text, number)
        if action == "suspend":
            assert exported_status(world, number)["csv"] == "suspended"
    assert "Revoked" in block_of(anonymous(world).get("/licences?lang=en").text, number)
    assert public.get("/licences", params={"status": "revoked"}).text.count('class="register-entry"') == 1
    assert REVOKE_REASON not in public.get(path).text  # the grounds are for officers
    assert REVOKE_REASON in officer.get(officer_path).text
    assert "เปลี่ยนสถานะไม่ได้อีก" in officer.get(officer_path).text  # revoked is final

    # /verify: the signature still holds, and the register says revoked
    verified = public.get("/verify", params={"licence": number})
    assert 'data-verdict="valid"' in verified.text and "ใบอนุญาตนี้ถูกเพิกถอนแล้ว" in verified.text
    english = anonymous(world).get("/verify", params={"licence": number, "lang": "en"})
    assert "This licence has been revoked" in english.text
    assert exported_status(world, number) == {"csv": "revoked", "json": "revoked", "xlsx": "revoked"}

    # the audit chain holds each step with its reason, and is intact
    trail = AuditLog(world.data)
    events = trail.search(target=key, action="licence.")
    assert [e["action"] for e in reversed(events)] == ["licence.suspend", "licence.reinstate", "licence.revoke"]
    assert events[0]["details"]["reason"] == REVOKE_REASON and events[0]["details"]["number"] == number
    assert trail.check().intact


# --------------------------------------------------------------------------- /verify (PR-8)
def verify_upload(world, data: bytes, name: str = "licence.pdf", lang: str = "th"):
    client = anonymous(world)
    page = client.get("/verify", params={"lang": lang})
    return client.post("/verify", data={"csrf_token": token_of(page.text)},
                       files={"file": (name, data, "application/pdf")})


def verdict(page) -> str:
    return re.search(r'data-verdict="([a-z]+)"', page.text).group(1)


def test_verify_checks_an_uploaded_licence_and_says_what_the_register_says(world, licences):  # R: PR-8, PL-1
    record = licences["food_licence"]
    [(_, pdf)] = licence_download(world, record["id"])
    good = verify_upload(world, pdf)
    assert good.status_code == 200 and verdict(good) == "valid"
    assert "ไม่ถูกแก้ไขหลังลงนาม" in good.text and "ไฟล์นี้เป็นเอกสารที่ระบบนี้ออก" in good.text
    assert "ใบอนุญาตนี้มีผลใช้บังคับ" in good.text and record["licences"]["food_licence"]["number"] in good.text
    assert "มีตราประทับเวลา" in good.text and "ผู้ลงนามเชื่อถือได้" in good.text
    english = verify_upload(world, pdf, lang="en")
    assert "The digital signature is valid" in english.text and "This licence is in force" in english.text

    changed = verify_upload(world, tampered(pdf))
    assert verdict(changed) == "invalid" and "ลายมือชื่อดิจิทัลถูกต้อง" not in changed.text
    assert "ถูกแก้ไขหลังลงนาม" in changed.text

    # the QR code's link (what the licence prints) opens the same answer directly
    number = record["licences"]["food_licence"]["number"]
    link = urlsplit(world.app.state.ctx.extra["outputs"].verify_url(number=number))
    qr = anonymous(world).get(f"{link.path}?{link.query}")
    assert verdict(qr) == "valid" and "ใบอนุญาตนี้มีผลใช้บังคับ" in qr.text and number in qr.text


def test_an_untrusted_signer_is_reported_and_never_passes(world, tmp_path):  # R: PR-8
    from eservice.certificates import create_agency_keys
    from eservice.renderers.pdf import render_pdf

    rogue = create_agency_keys(tmp_path / "elsewhere", "rogue-office", org_name_th="สำนักงานปลอม",
                               org_name_en="Fake Office")
    signed = rogue.signer().sign(render_pdf("<h1>ใบอนุญาต เลขที่ 1/2569</h1>"))
    page = verify_upload(world, signed)
    assert verdict(page) == "untrusted"
    assert "ผู้ลงนามไม่อยู่ในรายการที่เชื่อถือ" in page.text and "ลายมือชื่อดิจิทัลถูกต้อง" not in page.text
    assert "ไม่ถูกแก้ไขหลังลงนาม" in page.text  # intact, and still not valid
    english = verify_upload(world, signed, lang="en")
    assert "the signer is not trusted" in english.text and "The digital signature is valid" not in english.text
    assert "ไฟล์นี้ไม่ใช่เอกสารที่ระบบนี้ออก" in page.text
    unsigned = verify_upload(world, render_pdf("<p>ไม่มีลายมือชื่อ</p>"))
    assert verdict(unsigned) == "unsigned"
    not_pdf = verify_upload(world, b"hello", name="x.pdf")
    assert not_pdf.status_code == 422 and "ไม่ใช่ PDF" in not_pdf.text


def test_verify_answers_for_letters_and_unknown_numbers(world):  # R: PR-8, IS-1
    app_id = world.apply("food-shop-permit")
    world.act("registry_clerk.nonthaburi-city", app_id, "accept")
    world.act("approver.nonthaburi-city", app_id, "reject", reason="ไม่ผ่าน")
    [letter] = world.store.get_application(app_id)["letters"]
    client = anonymous(world)
    page = client.get("/verify", params={"document": letter["document_id"]})
    assert verdict(page) == "valid" and "หนังสือนี้ไม่ใช่ใบอนุญาต" in page.text
    missing = client.get("/verify", params={"licence": "ไม่มี/2569"})
    assert missing.status_code == 200 and "ไม่พบเอกสารนี้" in missing.text
    assert "No such document" in client.get("/verify", params={"document": "doc-0000", "lang": "en"}).text
    assert client.get("/verify").status_code == 200  # the form
    # /verify?token= is still the account confirmation link
    assert "ยืนยันอีเมลไม่สำเร็จ" in client.get("/verify", params={"token": "not-a-token", "lang": "th"}).text


# --------------------------------------------------------------------------- the trust list (PR-8)
def test_the_verifier_trusts_the_configured_bundle_and_the_platforms_own_cas(world, licences, tmp_path):
    # R: PR-8 (trusted roots only; the platform's own CAs for its own documents)
    from eservice.plugins.pdf_signature_verifier import PdfSignatureVerifier

    [(_, pdf)] = licence_download(world, licences["food_licence"]["id"])
    root = world.settings.trust_roots[0]
    assert PdfSignatureVerifier(settings=world.settings).verify(pdf).ok
    without_bundle = PdfSignatureVerifier(settings=Settings(data=world.data)).verify(pdf)
    assert not without_bundle.ok  # the time stamp's root is not in any trust list
    folder = tmp_path / "roots"
    folder.mkdir()
    (folder / "tsa.pem").write_bytes(root.read_bytes())
    assert PdfSignatureVerifier(settings=Settings(data=world.data, trust_roots=(folder,))).verify(pdf).ok
    no_agency_cas = PdfSignatureVerifier(settings=Settings(data=tmp_path / "empty", trust_roots=(root,))).verify(pdf)
    assert not no_agency_cas.ok and "pdf_signature.untrusted" in [m.code for m in no_agency_cas.messages]
    broken = PdfSignatureVerifier(settings=Settings(data=world.data, trust_roots=(tmp_path / "missing.pem",)))
    result = broken.verify(pdf)
    assert not result.ok and [m.code for m in result.messages] == ["pdf_signature.trust_list"]
    assert "ESERVICE_TRUST_ROOTS" in result.messages[0].th and result.messages[0].en


# --------------------------------------------------------------------------- definitions
def test_register_may_list_calculations_but_not_a_national_id(tmp_path):  # R: PL-1
    import shutil

    from eservice.spec.loader import load

    defs = tmp_path / "defs"
    shutil.copytree(Path(__file__).parent / "fixtures" / "defs", defs)
    path = defs / "test-agency" / "minimal.yaml"
    text = path.read_text(encoding="utf-8")

    def problems(new_register: str, extra_field: str = "") -> list[str]:
        changed = text.replace("register: [shop_name]", f"register: {new_register}")
        if extra_field:
            kitchen = "            - id: has_kitchen\n"
            changed = changed.replace(kitchen, extra_field + kitchen)
        path.write_text(changed, encoding="utf-8")
        return [p.format() for p in load([defs])[1]]

    assert problems("[shop_name, area_fee]") == []  # a calculation
    [typo] = problems("[shop_nme]")
    assert "no field or calculation `shop_nme`" in typo and "shop_name" in typo
    owner_id = ("            - id: owner_id\n              type: thai_national_id\n"
                "              label: {th: เลขประจำตัวประชาชน, en: ID number}\n")
    [personal] = problems("[shop_name, owner_id]", owner_id)
    assert "personal data" in personal


def test_an_imported_licence_has_no_holder_to_tell_and_the_outbox_says_so(tmp_path):
    # R: PL-4, PR-2 (every attempt is in the outbox): a back-filled licence has no application and no address
    import datetime as dt
    import types

    from eservice.clock import SystemClock
    from eservice.policy import Actor
    from eservice.register import Register
    from eservice.register.notify import notify_holder
    from eservice.spec.loader import load_or_raise
    from eservice.store import open_store

    from test_outputs_journey import DEFINITIONS

    catalogue = load_or_raise([DEFINITIONS])
    service = catalogue.latest("commercial-registration")
    licence = service.definition.outputs.licences[0]
    store = open_store(tmp_path / "data")
    register = Register(store, catalogue)
    entry = register.build(service=service, licence=licence, number="จจ.1/2560", issued_on=dt.date(2017, 1, 5),
                           valid_until=None, fields=[], source="imported")
    register.entries_collection.put(entry["id"], entry)
    with SmtpTestServer() as smtp:
        ctx = types.SimpleNamespace(store=store, catalogue=catalogue, clock=SystemClock(),
                                    settings=Settings(data=tmp_path / "data", smtp=smtp.settings()))
        saved = register.change_status(entry["id"], "revoke", Actor(user_id="u-1", name="ผอ."), "เลิกกิจการ")
        record = notify_holder(ctx, saved, "revoke", "เลิกกิจการ")
        assert smtp.messages == []  # nobody to send to
    assert record["status"] == "failed" and record["kind"] == "licence.revoke"
    assert record["error"]["code"] == "no_address" and "imported" in record["error"]["en"]
    assert "จจ.1/2560" in record["subject"] and "has been revoked" in record["subject"]
    assert register.get(entry["id"])["status"] == "revoked"  # the change stands
