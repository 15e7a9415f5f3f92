"""Browser tests of the citizen's side (issue #3)."""
from __future__ import annotations

from playwright.sync_api import expect

pytest_plugins = ("browser",)


def test_catalogue_smoke(live_server, page):
    page.goto(live_server.url("/"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.get_by_role("link", name="แจ้งจัดตั้งหรือขออนุญาตจัดตั้งสถานที่จำหน่ายอาหารและสถานที่สะสมอาหาร").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("สถานที่จำหน่ายอาหาร")
    expect(page.get_by_role("button", name="เริ่มยื่นคำขอ").first).to_be_visible()
