"""Definitions published through the web, in Chromium (issue #9 items 4-5 "done when";
A-SP1..A-SP5, A-X1, CH-4, NF-1).

1. A citizen starts an application (version 1).
2. An editor opens the definition, the CodeMirror editor shows a problem at its line
   (and the draft with it cannot be sent), then changes a field label and a fee.
3. A second editor approves; the new version is live without a restart: a new
   application shows the new label and fee, the earlier one the old.
4. Two server processes over one data folder: a publish through one reaches the
   other without a restart (the version stamp in the store).
5. axe-core finds nothing on the definition pages, in Thai and in English.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

pytest.register_assert_rewrite("browser")
pytest_plugins = ("browser",)
from browser import DEFINITIONS, PASSWORD, LiveServer, expect, seed_user, sign_in  # noqa: E402

SERVICE = "commercial-registration"
AGENCY = "chatuchak-district"
AXE = Path(__file__).resolve().parent / "fixtures" / "axe-core" / "axe.min.js"
FILE = Path(AGENCY) / f"{SERVICE}.yaml"


@pytest.fixture
def two_servers(smtp_server, tmp_path):
    """Two `eservice serve` processes over one data folder and one copy of the definitions."""
    defs = tmp_path / "defs"
    shutil.copytree(DEFINITIONS, defs, ignore=shutil.ignore_patterns("_tools"))
    data = tmp_path / "data"
    data.mkdir()
    seed_user(data, "editor1@example.com", PASSWORD, {"first_name": "สมใจ"},
              roles=[(AGENCY, "service_editor")])
    seed_user(data, "editor2@example.com", PASSWORD, {"first_name": "สมหมาย"},
              roles=[(AGENCY, "service_editor")])
    seed_user(data, "citizen@example.com", PASSWORD,
              {"first_name": "มานี", "last_name": "มีนา"})
    servers = [LiveServer(data=data, smtp=smtp_server, definitions=defs) for _ in range(2)]
    for server in servers:
        server.start()
    yield servers, defs
    for server in servers:
        server.stop()


def _start_application(page, server) -> str:
    page.goto(server.url(f"/apply/{SERVICE}"))
    page.get_by_role("button", name=re.compile("เริ่มกรอกคำขอ|เริ่มคำขอใหม่")).click()
    page.wait_for_url(re.compile(r"/applications/app-"))
    return re.search(r"/applications/(app-[0-9a-f]+)", page.url).group(1)


def _fee_on_check(page, server, app_id: str) -> str:
    page.goto(server.url(f"/applications/{app_id}/check"))
    row = page.locator(".summary-list__row", has_text="ค่าธรรมเนียมจดทะเบียนพาณิชย์")
    return row.locator("dd").inner_text()


def _label_on_first_page(page, server, app_id: str) -> str:
    page.goto(server.url(f"/applications/{app_id}/pages/owner_details"))
    return page.locator("label[for='f-first_name']").inner_text()


def _axe(page) -> list:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                           ".map(v => ({id: v.id, nodes: v.nodes.map(n => n.target.join(' '))}))")
    return result


def _replace_in_editor(page, old: str, new: str) -> None:
    page.wait_for_function("() => !!window.eserviceEditor")
    page.evaluate("""([old, neu]) => {
        const view = window.eserviceEditor; const text = view.state.doc.toString();
        const at = text.indexOf(old); if (at < 0) throw new Error('not found: ' + old);
        view.dispatch({changes: {from: at, to: at + old.length, insert: neu}, selection: {anchor: at}, scrollIntoView: true});
    }""", [old, new])


def test_two_editors_publish_live_without_restart_in_two_processes(two_servers, new_context):
    (one, two), defs = two_servers
    citizen = new_context().new_page()
    sign_in(citizen, one, "citizen@example.com")
    earlier = _start_application(citizen, one)
    assert _label_on_first_page(citizen, one, earlier).startswith("ชื่อ")

    editor = new_context().new_page()
    sign_in(editor, one, "editor1@example.com")
    editor.goto(one.url("/admin/services"))
    editor.get_by_role("link", name=re.compile("จดทะเบียนพาณิชย์")).click()
    expect(editor.locator(".cm-editor")).to_be_visible()  # CodeMirror replaced the textarea
    expect(editor.locator(".cm-content")).to_contain_text("version: 2")

    # completion from the JSON Schema: a key the service does not use yet is offered
    editor.wait_for_function("() => !!window.eserviceEditor")
    editor.evaluate("""() => { const v = window.eserviceEditor; const n = v.state.doc.length;
        v.dispatch({changes: {from: n, insert: "\\nro"}, selection: {anchor: n + 3}, scrollIntoView: true});
        v.focus(); }""")
    editor.keyboard.type("l")
    expect(editor.locator(".cm-tooltip-autocomplete")).to_contain_text("roles")
    editor.keyboard.press("Escape")
    editor.evaluate("""() => { const v = window.eserviceEditor; const n = v.state.doc.length;
        v.dispatch({changes: {from: n - 4, to: n}}); }""")
    assert editor.evaluate("window.eserviceEditor.state.doc.toString()").endswith("\n")

    # a problem is shown at its line, live, and the draft cannot be sent
    _replace_in_editor(editor, "    amount: 50\n", "    amount: fee_typo\n")
    text = editor.evaluate("window.eserviceEditor.state.doc.toString()")
    line = text.splitlines().index("    amount: fee_typo") + 1
    expect(editor.locator("#problems")).to_contain_text(f"บรรทัด {line}:", timeout=20_000)
    expect(editor.locator("#problems")).to_contain_text("fee_typo")
    marked = editor.locator(".cm-lintRange-error").first
    expect(marked).to_be_visible()
    at_line = editor.evaluate("""() => { const v = window.eserviceEditor;
        const el = document.querySelector('.cm-lintRange-error');
        return v.state.doc.lineAt(v.posAtDOM(el)).number; }""")
    assert at_line == line
    editor.get_by_role("button", name="บันทึกและส่งขออนุมัติ").click()
    expect(editor.locator("#problems")).to_contain_text(f"บรรทัด {line}")
    expect(editor.locator(".tag", has_text="รออนุมัติ")).to_have_count(0)
    editor.wait_for_function("() => !!window.eserviceEditor")
    assert _axe(editor) == []  # the editor with a problem listed

    # the editor changes a label and a fee, and sends it
    _replace_in_editor(editor, "    amount: fee_typo\n", "    amount: 60\n")
    _replace_in_editor(editor, "label: {th: ชื่อ, en: First name}", "label: {th: ชื่อตัว, en: Given name}")
    expect(editor.locator("#problems")).to_contain_text("ไม่พบปัญหา", timeout=20_000)
    editor.get_by_role("button", name="บันทึกและส่งขออนุมัติ").click()
    expect(editor.locator(".tag", has_text="รออนุมัติ")).to_be_visible()
    expect(editor.get_by_role("button", name="อนุมัติและเผยแพร่")).to_have_count(0)  # not by the preparer

    # a second editor, on the other process, checks the diff and approves
    second = new_context().new_page()
    sign_in(second, two, "editor2@example.com")
    second.goto(two.url(f"/admin/services/{SERVICE}/diff"))
    expect(second.locator(".admin-diff__added", has_text="amount: 60")).to_be_visible()
    second.goto(two.url(f"/admin/services/{SERVICE}"))
    for lang in ("en", "th"):  # the approval view
        second.goto(two.url(f"/admin/services/{SERVICE}?lang={lang}"))
        second.wait_for_function("() => !!window.eserviceEditor")
        assert _axe(second) == [], lang
    second.get_by_role("button", name="อนุมัติและเผยแพร่").click()
    expect(second.locator(".notification")).to_contain_text("เผยแพร่ฉบับที่ 2 แล้ว")
    assert "amount: 60" in (defs / FILE).read_text(encoding="utf-8")

    # live in both processes without a restart; the earlier application keeps version 1
    for server in (one, two):
        citizen.goto(server.url(f"/services/{SERVICE}"))
        expect(citizen.locator("main")).to_contain_text("60")
        assert _label_on_first_page(citizen, server, earlier).strip().startswith("ชื่อ")
        assert "ชื่อตัว" not in _label_on_first_page(citizen, server, earlier)
        assert re.search(r"\b50\b", _fee_on_check(citizen, server, earlier))
    later = _start_application(citizen, two)
    assert "ชื่อตัว" in _label_on_first_page(citizen, one, later)
    assert re.search(r"\b60\b", _fee_on_check(citizen, one, later))

    # unpublish through process two: process one stops new applications at once
    second.goto(two.url(f"/admin/services/{SERVICE}"))
    second.get_by_role("button", name="ยกเลิกการเผยแพร่").click()
    expect(second.locator(".notification")).to_contain_text("ปิดรับคำขอใหม่แล้ว")
    citizen.goto(one.url("/"))
    expect(citizen.locator("main")).not_to_contain_text("จดทะเบียนพาณิชย์ (ตั้งใหม่)")
    assert "ชื่อตัว" in _label_on_first_page(citizen, one, later)  # running ones go on

    # axe-core on every definition page, Thai and English
    for lang in ("th", "en"):
        for path in ("/admin/services", f"/admin/services/{SERVICE}", f"/admin/services/{SERVICE}/preview",
                     f"/admin/services/{SERVICE}/diff"):
            second.goto(two.url(path) + f"?lang={lang}")
            expect(second.locator("html")).to_have_attribute("lang", lang)
            violations = _axe(second)
            assert violations == [], (lang, path, violations)
