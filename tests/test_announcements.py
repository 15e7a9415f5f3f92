"""The head's announcement and order adopting the e-Service (CH-2, issue #7 item 8),
through the real web app: declared in the agency file, checked by ``eservice check``,
drafted, signed by the head (the agency's certificate, B-T from a real time-stamp
server on loopback), published on the agency's public page, and verified by the
platform's verifier, by poppler's ``pdfsig`` and by ``/verify``.

R: CH-2, IS-1, IS-2, PR-8, A-X1.
"""
from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from eservice.audit import AuditLog
from eservice.outputs.announcements import ANNOUNCEMENTS
from eservice.spec.loader import load
from smtp_server import SmtpTestServer
from test_outputs_journey import DEFINITIONS, World, check_signed, nss, pdftext, token_of  # noqa: F401
from tsa_server import tsa_server  # noqa: F401  (fixture)

AGENCY = "nonthaburi-city"
OFFICER_PAGE = f"/officer/agencies/{AGENCY}/announcements"


@pytest.fixture(scope="module")
def world(tmp_path_factory, tsa_server):  # noqa: F811
    folder = tmp_path_factory.mktemp("announcements")
    root = folder / "tsa-root.pem"  # the installation trusts its time-stamp service (docs/trust.md)
    root.write_bytes(tsa_server.ca_pem)
    with SmtpTestServer() as smtp:
        yield World(folder / "data", tsa_server, smtp, trust_roots=(root,))


def head(world) -> TestClient:
    return world.web(f"head_of_agency.{AGENCY}")


def publish(world, client: TestClient, announcement: str, agency: str = AGENCY):
    page = client.get(f"/officer/agencies/{agency}/announcements")
    assert page.status_code == 200, page.text[:300]
    return client.post(f"/officer/agencies/{agency}/announcements/{announcement}/publish",
                       data={"csrf_token": token_of(page.text)}, follow_redirects=False)


def published_links(page: str) -> list[str]:
    return re.findall(rf'href="(/agencies/{AGENCY}/announcements/doc-[0-9a-f]{{16}}\.pdf)"', page)


def titles(world, *service_ids: str) -> list[str]:
    return [world.app.state.ctx.catalogue.latest(s).definition.title.th for s in service_ids]


# --------------------------------------------------------------------------- who may
def test_only_the_agency_head_sees_the_announcements_page(world):
    # R: CH-2 (the head's announcement), policy: publish_announcement is the head's
    anonymous = TestClient(world.app)
    assert anonymous.get(OFFICER_PAGE, follow_redirects=False).headers["location"].startswith("/login")
    for other in (f"signing_authority.{AGENCY}", f"registry_clerk.{AGENCY}", "head_of_agency.chatuchak-district",
                  "somchai"):
        assert world.web(other).get(OFFICER_PAGE).status_code == 404
        assert world.web(other).post(f"{OFFICER_PAGE}/eservice_announcement/publish",
                                     data={"csrf_token": token_of(world.web(other).get("/licences").text)}
                                     ).status_code == 404
    inbox = head(world).get(f"/officer/{AGENCY}")
    assert f'href="{OFFICER_PAGE}"' in inbox.text  # how the head finds it
    assert f'href="{OFFICER_PAGE}"' not in world.web(f"registry_clerk.{AGENCY}").get(
        f"/officer/{AGENCY}").text
    page = head(world).get(OFFICER_PAGE)
    assert page.status_code == 200
    assert "ประกาศเทศบาลนครนนทบุรี เรื่อง การให้บริการประชาชนผ่านระบบอิเล็กทรอนิกส์" in page.text
    assert "Announcements and orders on the e-Service" in head(world).get(OFFICER_PAGE + "?lang=en").text
    head(world).get(OFFICER_PAGE + "?lang=th")  # the choice of language is kept: back to Thai
    assert head(world).get(f"{OFFICER_PAGE}/no_such/draft.pdf").status_code == 404
    assert list(world.store.collection(ANNOUNCEMENTS).all()) == []  # nothing published by anyone


def test_the_draft_is_marked_and_unsigned(world, tmp_path):
    # R: CH-2; as A-L3 for licences: the head reads it before signing
    draft = head(world).get(f"{OFFICER_PAGE}/eservice_order/draft.pdf")
    assert draft.status_code == 200 and draft.headers["content-type"] == "application/pdf"
    text = pdftext(draft.content, tmp_path)
    assert "Draft,notsigned" in text and "คำสั่งเทศบาลนครนนทบุรี" in text
    assert b"/ByteRange" not in draft.content  # no signature in a draft


# --------------------------------------------------------------------------- sign and publish
def test_the_head_signs_and_the_agency_page_publishes_it(world, nss, tmp_path):  # noqa: F811
    # R: CH-2 (announcement of the e-channel with its URL and services), IS-2 (the agency's certificate),
    # PR-8 (verifiable), A-X1 (audit)
    assert "Announcements and orders" not in TestClient(world.app).get(f"/agencies/{AGENCY}?lang=en").text  # none yet
    public = TestClient(world.app)
    done = publish(world, head(world), "eservice_announcement")
    assert done.status_code == 303, done.text[:500]
    assert "ลงนามและเผยแพร่" in head(world).get(done.headers["location"]).text  # the flash

    page = public.get(f"/agencies/{AGENCY}")
    [link] = published_links(page.text)
    assert "ประกาศเทศบาลนครนนทบุรี เรื่อง การให้บริการประชาชนผ่านระบบอิเล็กทรอนิกส์" in page.text
    assert "นายกเทศมนตรีนครนนทบุรี" in page.text
    english = TestClient(world.app).get(f"/agencies/{AGENCY}?lang=en").text
    assert "Nonthaburi City Municipality announcement on electronic public services" in english
    assert "Announcements and orders on the e-Service" in english and link in english

    pdf = public.get(link)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    services = titles(world, "food-shop-permit", "building-permit", "licence-information-request")
    check_signed(world, nss, tmp_path, pdf.content, "ประกาศเทศบาลนครนนทบุรี", *services,
                 world.settings.public_base_url)  # all the agency's services: the announcement names none

    document_id = link.rsplit("/", 1)[1].removesuffix(".pdf")
    verified = public.get("/verify", params={"document": document_id})
    assert 'data-verdict="valid"' in verified.text, verified.text[:2000]
    assert "ประกาศหรือคำสั่งของหน่วยงาน" in verified.text
    assert "This is the agency's announcement or order" in html.unescape(TestClient(world.app).get(
        "/verify", params={"document": document_id, "lang": "en"}).text)
    events = AuditLog(world.data).search(target=document_id, action="announcement.")
    assert [e["action"] for e in events] == ["announcement.publish"]
    assert events[0]["details"]["sha256"] == world.store.collection(ANNOUNCEMENTS).get(document_id)["sha256"]


def test_the_order_names_its_services_and_a_new_version_replaces_the_shown_one(world, nss, tmp_path):  # noqa: F811
    # R: CH-2 (the head's order designating the system as official, §3.6 Annex 2)
    public = TestClient(world.app)
    assert publish(world, head(world), "eservice_order").status_code == 303
    links = published_links(public.get(f"/agencies/{AGENCY}").text)
    assert len(links) == 2  # the announcement and the order
    order = next(pdf for pdf in (public.get(x).content for x in links)
                 if "คำสั่งเทศบาลนครนนทบุรี" in pdftext(pdf, tmp_path))
    text = pdftext(order, tmp_path)
    food, building, information = titles(world, "food-shop-permit", "building-permit", "licence-information-request")
    check_signed(world, nss, tmp_path, order, food, building)
    from eservice.renderers.pdf import normalize_extracted_thai

    assert normalize_extracted_thai(information) not in text  # only the services it names

    # publishing again signs a new document; the page shows the newest; the old one stays verifiable
    before = set(links)
    assert publish(world, head(world), "eservice_order").status_code == 303
    after = set(published_links(public.get(f"/agencies/{AGENCY}").text))
    assert len(after) == 2 and len(after - before) == 1
    old = (before - after).pop().rsplit("/", 1)[1].removesuffix(".pdf")
    assert 'data-verdict="valid"' in public.get("/verify", params={"document": old}).text
    assert public.get(f"/agencies/chatuchak-district/announcements/{old}.pdf").status_code == 404  # not theirs
    assert public.get(f"/agencies/{AGENCY}/announcements/doc-0000000000000000.pdf").status_code == 404


def test_a_signing_failure_publishes_nothing_and_says_why(world):
    # R: IS-2 (never unsigned), CH-2
    keys = world.data / "keys" / "chatuchak-district"
    hidden = keys.parent / "chatuchak-hidden"
    shutil.move(keys, hidden)
    try:
        before = len(list(world.store.collection(ANNOUNCEMENTS).all()))
        client = world.web("head_of_agency.chatuchak-district")
        refused = publish(world, client, "eservice_announcement", agency="chatuchak-district")
        assert refused.status_code == 422
        assert "ลงนามไม่สำเร็จ ยังไม่ได้เผยแพร่" in refused.text and "eservice keys import" in refused.text
        assert len(list(world.store.collection(ANNOUNCEMENTS).all())) == before
        assert not published_links(TestClient(world.app).get("/agencies/chatuchak-district").text)
    finally:
        shutil.move(hidden, keys)
    assert publish(world, world.web("head_of_agency.chatuchak-district"), "eservice_announcement",
                   agency="chatuchak-district").status_code == 303


# --------------------------------------------------------------------------- eservice check
def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "defs"
    shutil.copytree(DEFINITIONS, target)
    return target


def _messages(folder: Path) -> list[str]:
    return [f"{p.path}: {p.en}" for p in load([folder])[1]]


def test_check_accepts_the_shipped_announcements():
    catalogue, problems = load([DEFINITIONS])
    assert problems == []
    assert [a.id for a in catalogue.agencies[AGENCY].announcements] == ["eservice_announcement", "eservice_order"]
    assert catalogue.agencies["chatuchak-district"].announcements


@pytest.mark.parametrize("change, expected", [
    (("eservice_order.html", "nope.html"), "announcements[1].template: template file not found"),
    (("services: [food-shop-permit, building-permit]", "services: [food-shop-permit, no-such-service]"),
     "announcements[1].services[1]: agency nonthaburi-city has no service `no-such-service`"),
    (("    kind: order\n", "    kind: order\n    colour: red\n"), "colour"),
    (("    kind: order\n", "    kind: decree\n"), "kind"),
])
def test_check_refuses_a_wrong_announcement(tmp_path, change, expected):
    # R: CH-2; no silent keys: an unknown key or a missing template is an error at its line
    folder = _copy(tmp_path)
    agency_file = folder / "agencies" / f"{AGENCY}.yaml"
    text = agency_file.read_text(encoding="utf-8")
    assert change[0] in text
    agency_file.write_text(text.replace(change[0], change[1]), encoding="utf-8")
    messages = _messages(folder)
    assert any(expected in m for m in messages), messages


def test_check_renders_the_template_with_strict_names(tmp_path):
    folder = _copy(tmp_path)
    template = folder / AGENCY / "templates" / "eservice_announcement.html"
    template.write_text(template.read_text(encoding="utf-8").replace("{{ portal_url }} สำหรับ", "{{ portal_ur }} สำหรับ"),
                        encoding="utf-8")
    messages = _messages(folder)
    assert any("announcements[0].template" in m and "'portal_ur' is undefined" in m for m in messages), messages


def test_the_eservice_check_command_fails_on_a_missing_template(tmp_path):
    folder = _copy(tmp_path)
    (folder / AGENCY / "templates" / "eservice_order.html").unlink()
    done = subprocess.run([sys.executable, "-m", "eservice.cli", "check", str(folder)], capture_output=True,
                          text=True)
    assert done.returncode != 0
    assert "ไม่พบไฟล์แม่แบบ" in done.stdout + done.stderr and "template file not found" in done.stdout + done.stderr
