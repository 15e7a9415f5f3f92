"""axe-core on the pages of the head's announcements (CH-2), in Thai and English, in Chromium.

The app is the one of ``tests/test_announcements.py`` (real keys, a real time-stamp
server on loopback), served by uvicorn on loopback; an announcement is signed and
published before the browser starts, so the agency page shows its section.

R: CH-2, A-X2 (accessible pages).
"""
from __future__ import annotations

import threading
import time

import pytest
from starlette.testclient import TestClient

from browser import browser, chromium_path, free_port, new_context, playwright_instance  # noqa: F401
from smtp_server import SmtpTestServer
from test_outputs_journey import PASSWORD, World, token_of
from tsa_server import tsa_server  # noqa: F401  (fixture)

AGENCY = "nonthaburi-city"


@pytest.fixture(scope="module")
def served(tmp_path_factory, tsa_server):  # noqa: F811
    if chromium_path() is None:
        pytest.skip("Chromium is not installed (scripts/test.sh installs it)")
    import uvicorn

    folder = tmp_path_factory.mktemp("announcements-a11y")
    with SmtpTestServer() as smtp:
        world = World(folder / "data", tsa_server, smtp)
        head = world.web(f"head_of_agency.{AGENCY}")
        page = head.get(f"/officer/agencies/{AGENCY}/announcements")
        done = head.post(f"/officer/agencies/{AGENCY}/announcements/eservice_announcement/publish",
                         data={"csrf_token": token_of(page.text)}, follow_redirects=False)
        assert done.status_code == 303
        assert "/announcements/doc-" in TestClient(world.app).get(f"/agencies/{AGENCY}").text
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(world.app, host="127.0.0.1", port=port, log_level="warning",
                                               lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(10)


def violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.response["testEngine"]["name"] == "axe-core"  # it ran
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in results.response["violations"]]


@pytest.mark.parametrize("lang", ["th", "en"])
def test_the_announcement_pages_pass_axe(served, new_context, lang):  # noqa: F811
    context = new_context()
    page = context.new_page()
    page.goto(f"{served}/agencies/{AGENCY}?lang={lang}")
    assert page.locator("#announcements").count() == 1
    assert violations(page) == []
    verify_link = page.locator("a[href^='/verify?document=']").first.get_attribute("href")
    page.goto(f"{served}{verify_link}&lang={lang}")
    assert page.locator("[data-verdict]").count() == 1
    assert violations(page) == []

    page.goto(f"{served}/login?lang={lang}")
    page.fill("input[name=email]", f"head_of_agency.{AGENCY}@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    page.goto(f"{served}/officer/agencies/{AGENCY}/announcements?lang={lang}")
    assert page.url.split("?")[0].endswith(f"/officer/agencies/{AGENCY}/announcements")  # signed in, not sent back
    assert page.locator("h1").count() == 1 and page.locator("form button").count() >= 2
    assert violations(page) == []
