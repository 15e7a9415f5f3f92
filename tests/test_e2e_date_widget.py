"""The one Thai date widget in real Chromium (issue #10 item 6; A-F3, WCAG 2.1 AA):
a Buddhist-Era year in Thai and a Gregorian one in English are written out as they
are typed, a year outside B.E. 2400–2700 / C.E. 1857–2157 is refused on the page
and by the server, and the page passes axe-core in both languages."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.register_assert_rewrite("browser")
pytest_plugins = ("browser",)  # the harness's fixtures and screenshots on failure
from browser import PASSWORD, expect, seed_user, sign_in  # noqa: E402

CITIZEN = "date.widget@example.com"


def seed(data: Path) -> None:
    seed_user(data, CITIZEN, PASSWORD, {"first_name": "สมหญิง", "last_name": "วันดี"})


def _axe_violations(page) -> list:
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:  # pragma: no cover - the [test] extra installs it
        pytest.skip("axe-playwright-python is not installed")
    results = Axe().run(page)
    return [v["id"] for v in results.response["violations"]]


def test_the_date_widget_reads_be_and_ce_and_refuses_other_years(server_factory, new_context):
    server = server_factory(seed=seed)
    page = new_context().new_page()
    sign_in(page, server, CITIZEN)
    page.goto(f"{server.base_url}/profile")
    box = page.get_by_role("group", name="วันเกิด (ไม่บังคับ)")
    shown = box.locator("[data-date-shown]")
    box.get_by_label("วัน", exact=True).fill("31")
    box.get_by_label("เดือน", exact=True).fill("01")
    box.get_by_label("ปี (พ.ศ.)", exact=True).fill("2530")
    expect(shown).to_have_text("31 มกราคม พ.ศ. 2530")  # 1987, written out in Thai
    box.get_by_label("ปี (พ.ศ.)", exact=True).fill("3113")
    expect(shown).to_have_text("ปี 3113 อยู่นอกช่วงที่รับได้: ใช้ปี พ.ศ. 2400–2700")
    assert _axe_violations(page) == []
    page.get_by_role("button", name="บันทึก").click()
    expect(page.locator(".error-summary")).to_be_visible()  # refused by the server too
    expect(box.get_by_label("ปี (พ.ศ.)", exact=True)).to_have_value("3113")  # kept as typed

    page.goto(f"{server.base_url}/profile?lang=en")
    box = page.get_by_role("group", name="Date of birth (optional)")
    shown = box.locator("[data-date-shown]")
    box.get_by_label("Day", exact=True).fill("31")
    box.get_by_label("Month", exact=True).fill("1")
    box.get_by_label("Year", exact=True).fill("1987")
    expect(shown).to_have_text("31 January 1987")
    assert _axe_violations(page) == []
    page.get_by_role("button", name="Save").click()
    page.goto(f"{server.base_url}/profile?lang=en")
    box = page.get_by_role("group", name="Date of birth (optional)")
    expect(box.get_by_label("Year", exact=True)).to_have_value("1987")  # stored as 1987-01-31, shown in C.E.
    expect(box.locator("[data-date-shown]")).to_have_text("31 January 1987")  # by the server, no JS needed
