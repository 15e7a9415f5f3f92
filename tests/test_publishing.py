"""Definitions through the web (issue #9 items 4-5; A-SP1..A-SP5, A-X1, CH-4).

Through the real app and store, over a copy of the example definitions: an
editor changes a label and a fee, a second editor approves, the new version is
live without a restart while an application started earlier keeps its own;
a definition with a problem is refused with the problem at its line; one
person cannot both prepare and approve; unpublishing closes a service to new
applications only; the versions survive a restart; uploads are checked.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from conftest import EXAMPLES, make_account, sign_in
from eservice.auth import Accounts
from eservice.engine import EngineError
from eservice.policy import Actor
from eservice.web.app import create_app
from eservice.web.context import Settings

SERVICE = "commercial-registration"
AGENCY = "chatuchak-district"


@pytest.fixture
def site(tmp_path: Path):
    defs = tmp_path / "defs"
    shutil.copytree(EXAMPLES, defs, ignore=shutil.ignore_patterns("_tools"))
    settings = Settings(data=tmp_path / "data", definitions=(defs,))
    app = create_app(settings)
    return app, settings, defs


def _staff(app, email: str, *roles: str) -> dict:
    user = make_account(app, email)
    accounts = Accounts(app.state.ctx.store, app.state.ctx.clock)
    for role in roles:
        user = accounts.grant_role(user["id"], AGENCY, role)
    return user


def _client(app, user) -> TestClient:
    client = TestClient(app)
    sign_in(client, user)
    return client


def _csrf(page_text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_text).group(1)


def _edit(text: str) -> str:
    new = text.replace("label: {th: ชื่อ, en: First name}", "label: {th: ชื่อตัว, en: Given name}", 1)
    new = new.replace("    amount: 50\n", "    amount: 60\n", 1)
    assert new != text
    return new


def _post_text(client: TestClient, text: str, action: str):
    page = client.get(f"/admin/services/{SERVICE}")
    return client.post(f"/admin/services/{SERVICE}", data={"csrf_token": _csrf(page.text), "text": text,
                                                          "action": action}, follow_redirects=False)


def _citizen_app(app) -> tuple[Actor, dict]:
    ctx = app.state.ctx
    citizen = make_account(app, "citizen@example.com")
    actor = Actor(user_id=citizen["id"])
    from eservice.web.deps import applications

    class _Req:  # the applications service of the running app, as handlers get it
        def __init__(self, app):
            self.app = app
    apps = applications(_Req(app))
    return actor, apps.start(SERVICE, actor)


def test_two_editors_publish_a_new_version_live_while_an_earlier_application_keeps_the_old(site):
    app, settings, defs = site
    ctx = app.state.ctx
    first = _staff(app, "editor1@example.com", "service_editor")
    second = _staff(app, "editor2@example.com", "service_editor")
    actor, earlier = _citizen_app(app)

    one = _client(app, first)
    page = one.get(f"/admin/services/{SERVICE}")
    assert page.status_code == 200
    assert "version: 2" in page.text  # a new draft starts with version raised
    draft_text = re.search(r'<textarea[^>]*>(.*?)</textarea>', page.text, re.S).group(1)
    import html
    draft_text = _edit(html.unescape(draft_text))
    response = _post_text(one, draft_text, "submit")
    assert response.status_code == 303, response.text[:2000]

    # the preparer cannot approve their own draft
    page = one.get(f"/admin/services/{SERVICE}")
    assert "อนุมัติและเผยแพร่" not in page.text
    refused = one.post(f"/admin/services/{SERVICE}/approve", data={"csrf_token": _csrf(page.text),
                                                                  "action": "approve"}, follow_redirects=True)
    assert "must be someone other" in refused.text or "ผู้อนุมัติต้องไม่ใช่" in refused.text
    assert ctx.catalogue.latest(SERVICE).version == 1

    two = _client(app, second)
    page = two.get(f"/admin/services/{SERVICE}/diff")
    assert "amount: 60" in page.text and "amount: 50" in page.text
    page = two.get(f"/admin/services/{SERVICE}")
    assert "อนุมัติและเผยแพร่" in page.text
    done = two.post(f"/admin/services/{SERVICE}/approve", data={"csrf_token": _csrf(page.text),
                                                               "action": "approve"}, follow_redirects=True)
    assert done.status_code == 200 and "ฉบับที่ 2" in done.text

    # live without a restart: the same process serves version 2 to new applicants
    assert ctx.catalogue.latest(SERVICE).version == 2
    citizen = TestClient(app)
    assert "60" in citizen.get(f"/services/{SERVICE}").text
    # the YAML file the CLI checks is the one written
    on_disk = (defs / "chatuchak-district" / "commercial-registration.yaml").read_text(encoding="utf-8")
    assert "amount: 60" in on_disk and "version: 2" in on_disk
    from eservice.spec.loader import load
    assert load([defs])[1] == []

    # the earlier application keeps version 1: its label and fee
    from eservice.runtime import engine_of
    old = engine_of(ctx).service_of(ctx.store.get_application(earlier["id"]))
    assert old.version == 1
    assert old.fields["first_name"].label.th == "ชื่อ"
    assert old.definition.fees[0].amount == "50"
    new = ctx.catalogue.latest(SERVICE)
    assert new.fields["first_name"].label.en == "Given name" and new.definition.fees[0].amount == "60"

    # both people are in the audit trail
    from eservice.audit import AuditLog
    events = [e for e in AuditLog(settings.data).events() if e["action"].startswith("definition.")]
    assert [e["action"] for e in events] == ["definition.submitted", "definition.published"]
    assert events[0]["actor"] == first["id"]
    assert events[1]["actor"] == second["id"] and events[1]["details"]["prepared_by"] == first["id"]

    # after a restart (a new process over the same data), version 1 is still there for the old application
    restarted = create_app(settings)
    rctx = restarted.state.ctx
    from eservice.publishing import refresh
    refresh(rctx)
    assert rctx.catalogue.latest(SERVICE).version == 2
    assert rctx.catalogue.get(SERVICE, 1).fields["first_name"].label.th == "ชื่อ"


def test_a_definition_with_a_problem_cannot_be_submitted_and_the_problem_is_at_its_line(site):
    app, _, _ = site
    editor = _staff(app, "editor@example.com", "service_editor")
    client = _client(app, editor)
    page = client.get(f"/admin/services/{SERVICE}")
    import html
    text = html.unescape(re.search(r'<textarea[^>]*>(.*?)</textarea>', page.text, re.S).group(1))
    broken = text.replace("    amount: 50\n", "    amount: fee_typo * 2\n", 1)
    line = broken.splitlines().index("    amount: fee_typo * 2") + 1
    checked = client.post(f"/admin/services/{SERVICE}/check", data={"text": broken},
                          headers={"X-CSRF-Token": _csrf(page.text)})
    problems = checked.json()["problems"]
    assert any(p["line"] == line and "fee_typo" in p["en"] and "fee_typo" in p["th"] for p in problems), problems
    response = _post_text(client, broken, "submit")
    assert response.status_code == 400
    assert f"<strong>บรรทัด {line}</strong> <span class=\"admin-code\">fees[0].amount</span>" in response.text
    # the text typed is kept (saved as a draft), nothing is published
    assert "fee_typo" in client.get(f"/admin/services/{SERVICE}").text
    assert app.state.ctx.catalogue.latest(SERVICE).version == 1
    # keeping the same version is a problem at the `version` line
    same = text.replace("version: 2", "version: 1", 1)
    same = same.replace("    amount: 50\n", "    amount: 70\n", 1)
    problems = client.post(f"/admin/services/{SERVICE}/check", data={"text": same},
                           headers={"X-CSRF-Token": _csrf(page.text)}).json()["problems"]
    version_line = same.splitlines().index("version: 1") + 1
    assert [p["line"] for p in problems] == [version_line]


def test_agency_admin_may_approve_and_other_agencies_and_citizens_see_nothing(site):
    app, _, _ = site
    editor = _staff(app, "editor@example.com", "service_editor")
    admin = _staff(app, "admin@example.com", "agency_admin")
    outsider = make_account(app, "other@example.com")
    Accounts(app.state.ctx.store, app.state.ctx.clock).grant_role(outsider["id"], "nonthaburi-city", "service_editor")
    client = _client(app, editor)
    page = client.get(f"/admin/services/{SERVICE}")
    import html
    text = _edit(html.unescape(re.search(r'<textarea[^>]*>(.*?)</textarea>', page.text, re.S).group(1)))
    assert _post_text(client, text, "submit").status_code == 303
    assert _client(app, outsider).get(f"/admin/services/{SERVICE}").status_code == 404
    citizen = TestClient(app)
    sign_in(citizen, make_account(app, "c@example.com"))
    assert citizen.get("/admin/services").status_code == 403
    assert "นิยามบริการ</a>" not in citizen.get("/").text
    assert "นิยามบริการ</a>" in _client(app, admin).get("/").text
    boss = _client(app, admin)
    page = boss.get(f"/admin/services/{SERVICE}")
    assert "textarea" in page.text and "readonly" in page.text  # the admin approves but does not edit
    boss.post(f"/admin/services/{SERVICE}/approve", data={"csrf_token": _csrf(page.text), "action": "approve"})
    assert app.state.ctx.catalogue.latest(SERVICE).version == 2


def test_unpublish_closes_to_new_applications_while_running_ones_go_on(site):
    app, _, _ = site
    ctx = app.state.ctx
    actor, running = _citizen_app(app)
    admin = _staff(app, "admin@example.com", "agency_admin")
    boss = _client(app, admin)
    page = boss.get(f"/admin/services/{SERVICE}")
    boss.post(f"/admin/services/{SERVICE}/open", data={"csrf_token": _csrf(page.text), "action": "close"})
    assert SERVICE in ctx.catalogue.closed
    assert SERVICE not in TestClient(app).get("/").text
    from eservice.web.deps import applications

    class _Req:
        def __init__(self, app):
            self.app = app
    with pytest.raises(EngineError) as refused:
        applications(_Req(app)).start(SERVICE, actor)
    assert refused.value.status == 410 and "ปิดรับ" in refused.value.th
    # the running application is still served by its definition
    from eservice.runtime import engine_of
    assert engine_of(ctx).service_of(ctx.store.get_application(running["id"])).version == 1
    page = boss.get(f"/admin/services/{SERVICE}")
    boss.post(f"/admin/services/{SERVICE}/open", data={"csrf_token": _csrf(page.text), "action": "open"})
    assert SERVICE not in ctx.catalogue.closed
    assert applications(_Req(app)).start(SERVICE, actor)["service_version"] == 1


def test_preview_shows_every_page_with_sample_answers_and_conditions(site):
    app, _, _ = site
    editor = _staff(app, "editor@example.com", "service_editor")
    page = _client(app, editor).get(f"/admin/services/{SERVICE}/preview")
    assert page.status_code == 200
    service = app.state.ctx.catalogue.latest(SERVICE)
    from eservice import forms
    all_pages = [p for _, p in forms.pages(service)]
    for p in all_pages:
        assert f'id="preview-{p.id}"' in page.text
    conditional = [p for p in all_pages if p.when]
    for p in conditional:
        assert p.when.replace('"', "&#34;") in page.text or p.when in page.text
    assert "ตัวอย่าง" in page.text  # sample answers are filled in
    assert 'aria-current="page">นิยามบริการ</a>' in page.text  # the editor's way in, in the main menu


def test_uploads_never_replace_a_live_file_and_are_checked_with_the_draft(site):  # R: A-SP4
    app, _, defs = site
    editor = _staff(app, "editor@example.com", "service_editor")
    client = _client(app, editor)
    service = app.state.ctx.catalogue.latest(SERVICE)
    folder = Path(service.file).parent
    live_template = next(lic.template for lic in service.definition.outputs.licences)
    before = (folder / live_template).read_bytes()
    page = client.get(f"/admin/services/{SERVICE}")
    assert "ฉบับร่างยังไม่ได้อ้างถึงไฟล์ใหม่" in page.text  # nothing to upload before the draft names a file
    refused = client.post(f"/admin/services/{SERVICE}/files", data={"csrf_token": _csrf(page.text),
                                                                    "target": live_template},
                          files={"file": ("t.html", before + b"<!-- x -->", "text/html")}, follow_redirects=True)
    assert "ไฟล์ที่ฉบับร่างอ้างถึง" in refused.text and (folder / live_template).read_bytes() == before
    import html
    text = html.unescape(re.search(r'<textarea[^>]*>(.*?)</textarea>', page.text, re.S).group(1))
    draft = text.replace(f"template: {live_template}", "template: templates/new-licence.html", 1)
    assert draft != text
    _post_text(client, draft, "save")
    page = client.get(f"/admin/services/{SERVICE}")
    assert 'value="templates/new-licence.html"' in page.text
    bad = b"{% extends 'nothing-like-this.html' %}"
    response = client.post(f"/admin/services/{SERVICE}/files", data={"csrf_token": _csrf(page.text),
                                                                     "target": "templates/new-licence.html"},
                           files={"file": ("t.html", bad, "text/html")})
    assert response.status_code == 400 and "outputs.licences[0].template" in response.text
    assert not (folder / "templates" / "new-licence.html").exists()
    response = client.post(f"/admin/services/{SERVICE}/files", data={"csrf_token": _csrf(page.text),
                                                                     "target": "templates/new-licence.html"},
                           files={"file": ("t.html", before, "text/html")}, follow_redirects=True)
    assert response.status_code == 200 and (folder / "templates" / "new-licence.html").read_bytes() == before
    assert (folder / live_template).read_bytes() == before  # the live file is untouched
    # a sample whose bytes are not what its name says is refused
    doc = next(d for d in service.definition.documents if d.sample)
    draft2 = draft.replace(f"sample: {doc.sample}\n", "sample: samples/new-sample.pdf\n", 1)
    assert draft2 != draft
    _post_text(client, draft2, "save")
    page = client.get(f"/admin/services/{SERVICE}")
    response = client.post(f"/admin/services/{SERVICE}/files", data={"csrf_token": _csrf(page.text),
                                                                     "target": "samples/new-sample.pdf"},
                           files={"file": ("x.pdf", b"GIF89a not a pdf", "application/pdf")}, follow_redirects=True)
    assert "ไม่ตรงกับชื่อไฟล์" in response.text and not (folder / "samples" / "new-sample.pdf").exists()


def test_service_editor_may_edit_and_approve_only_in_its_own_agency_and_services():  # R: A-X1, CH-4
    from eservice.policy import Grant, allowed
    editor = Actor(user_id="u-ed", grants=(Grant(AGENCY, "service_editor"),))
    limited = Actor(user_id="u-ed2", grants=(Grant(AGENCY, "service_editor", ("other-service",)),))
    admin = Actor(user_id="u-adm", grants=(Grant(AGENCY, "agency_admin"),))
    clerk = Actor(user_id="u-clerk", grants=(Grant(AGENCY, "registry_clerk"),))
    for action in ("edit_definition", "approve_definition"):
        assert allowed(editor, action, agency=AGENCY, service=SERVICE)
        assert not allowed(editor, action, agency="nonthaburi-city", service="food-shop-permit")
        assert not allowed(limited, action, agency=AGENCY, service=SERVICE)
        assert not allowed(clerk, action, agency=AGENCY, service=SERVICE)
    assert allowed(admin, "approve_definition", agency=AGENCY, service=SERVICE)
    assert not allowed(admin, "edit_definition", agency=AGENCY, service=SERVICE)
    # an editor is not an officer of the inbox
    assert not allowed(editor, "view_inbox", agency=AGENCY)


def test_without_javascript_the_check_button_shows_problems_and_keeps_the_text(site):  # R: A-SP1, NF-1 (works without JavaScript)
    app, _, _ = site
    client = _client(app, _staff(app, "editor@example.com", "service_editor"))
    page = client.get(f"/admin/services/{SERVICE}")
    assert "data-yaml-editor" in page.text and "<textarea" in page.text  # a plain form first
    import html
    text = html.unescape(re.search(r'<textarea[^>]*>(.*?)</textarea>', page.text, re.S).group(1))
    broken = text.replace("    due_days: 7\n", "    due_days: seven\n", 1)
    line = broken.splitlines().index("    due_days: seven") + 1
    response = _post_text(client, broken, "check")
    assert response.status_code == 200
    assert f"<strong>บรรทัด {line}</strong>" in response.text
    assert "due_days: seven" in response.text  # what was typed stays on the page
    from eservice.publishing import draft_of
    assert draft_of(app.state.ctx.store, SERVICE) is None  # checking saves nothing


def test_a_closed_service_page_says_so_and_offers_no_start(site):  # R: A-S1
    app, _, _ = site
    admin = _client(app, _staff(app, "admin@example.com", "agency_admin"))
    assert "/apply/commercial-registration" in TestClient(app).get(f"/services/{SERVICE}").text
    page = admin.get(f"/admin/services/{SERVICE}")
    admin.post(f"/admin/services/{SERVICE}/open", data={"csrf_token": _csrf(page.text), "action": "close"})
    shown = TestClient(app).get(f"/services/{SERVICE}").text
    assert "ปิดรับคำขอใหม่แล้ว" in shown and "/apply/commercial-registration" not in shown
    from eservice.audit import AuditLog
    assert any(e["action"] == "definition.unpublished" for e in AuditLog(app.state.ctx.settings.data).events())


def test_a_template_only_the_draft_names_can_be_uploaded_then_published(site):  # R: A-SP4
    app, _, defs = site
    ctx = app.state.ctx
    first = _client(app, _staff(app, "editor1@example.com", "service_editor"))
    second = _client(app, _staff(app, "editor2@example.com", "service_editor"))
    service = ctx.catalogue.latest(SERVICE)
    live = {"path": next(lic.template for lic in service.definition.outputs.licences)}
    page = first.get(f"/admin/services/{SERVICE}")
    import html
    text = html.unescape(re.search(r'<textarea[^>]*>(.*?)</textarea>', page.text, re.S).group(1))
    renamed = text.replace(f"template: {live['path']}", "template: templates/registration-v2.html", 1)
    assert renamed != text
    _post_text(first, renamed, "save")
    problems = first.post(f"/admin/services/{SERVICE}/check", data={"text": renamed},
                          headers={"X-CSRF-Token": _csrf(page.text)}).json()["problems"]
    assert problems, "the new template does not exist yet"
    page = first.get(f"/admin/services/{SERVICE}")
    assert "templates/registration-v2.html" in page.text  # offered for upload
    body = (Path(service.file).parent / live["path"]).read_bytes()
    first.post(f"/admin/services/{SERVICE}/files", data={"csrf_token": _csrf(page.text),
                                                         "target": "templates/registration-v2.html"},
               files={"file": ("registration-v2.html", body, "text/html")})
    assert (Path(service.file).parent / "templates" / "registration-v2.html").read_bytes() == body
    assert _post_text(first, renamed, "submit").status_code == 303
    page = second.get(f"/admin/services/{SERVICE}")
    second.post(f"/admin/services/{SERVICE}/approve", data={"csrf_token": _csrf(page.text), "action": "approve"})
    assert ctx.catalogue.latest(SERVICE).version == 2
    from eservice.spec.loader import load
    assert load([defs])[1] == []


def test_a_broken_file_on_disk_does_not_stop_a_publish_reaching_the_catalogue(site):  # R: A-SP1
    app, _, defs = site
    ctx = app.state.ctx
    other = defs / "nonthaburi-city" / "licence-information-request.yaml"
    other.write_text(other.read_text(encoding="utf-8").replace("version: 1", "version: [", 1), encoding="utf-8")
    first = _client(app, _staff(app, "editor1@example.com", "service_editor"))
    second = _client(app, _staff(app, "editor2@example.com", "service_editor"))
    page = first.get(f"/admin/services/{SERVICE}")
    import html
    text = _edit(html.unescape(re.search(r'<textarea[^>]*>(.*?)</textarea>', page.text, re.S).group(1)))
    assert _post_text(first, text, "submit").status_code == 303
    page = second.get(f"/admin/services/{SERVICE}")
    second.post(f"/admin/services/{SERVICE}/approve", data={"csrf_token": _csrf(page.text), "action": "approve"})
    assert ctx.catalogue.latest(SERVICE).version == 2
    assert ctx.catalogue.latest("licence-information-request").version == 1  # still served as loaded


def test_the_background_worker_follows_the_stamp_without_any_request(site):  # R: A-SP1 (issue #9 item 5)
    import asyncio
    import threading

    from eservice import publishing
    from eservice.worker import start_background, stop_background

    app, _, defs = site
    ctx = app.state.ctx
    # another process published version 2: the file and the stamp changed, no request came here
    path = defs / "chatuchak-district" / "commercial-registration.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("\nversion: 1", "\nversion: 2", 1)
                    .replace("    amount: 50\n", "    amount: 80\n", 1), encoding="utf-8")
    publishing.refresh(ctx)  # this process has seen the stamp before
    publishing._bump(ctx.store, lambda closed: closed)
    assert ctx.catalogue.latest(SERVICE).version == 1

    async def main():
        task = start_background(app, 0.02, force=True)
        for _ in range(200):
            await asyncio.sleep(0.02)
            if task.eservice_state["rounds"] >= 1:
                break
        await stop_background(task)

    thread = threading.Thread(target=lambda: asyncio.run(main()))
    thread.start()
    thread.join(60)
    assert ctx.catalogue.latest(SERVICE).version == 2
    assert ctx.catalogue.latest(SERVICE).definition.fees[0].amount == "80"
    assert ctx.catalogue.get(SERVICE, 1) is not None  # kept for the applications pinned to it


def test_search_and_the_openapi_document_follow_a_publish_and_an_unpublish(site):  # R: A-S2, A-SP1
    app, _, _ = site
    public = TestClient(app)
    assert SERVICE in public.get("/openapi.json").text
    assert SERVICE in public.get("/search?q=ทะเบียนพาณิชย์").text
    admin = _client(app, _staff(app, "admin@example.com", "agency_admin"))
    page = admin.get(f"/admin/services/{SERVICE}")
    admin.post(f"/admin/services/{SERVICE}/open", data={"csrf_token": _csrf(page.text), "action": "close"})
    assert SERVICE not in public.get("/openapi.json").text
    assert f"/services/{SERVICE}" not in public.get("/search?q=ทะเบียนพาณิชย์").text
