"""axe-core on pages of an in-process app, in real Chromium, in Thai and English.

    assert_axe_clean(client, ["/officer/nonthaburi-city", f"/applications/{app_id}/status"])

Chromium asks for ``http://testserver/...``; every request is answered by the
given Starlette ``TestClient`` (signed in already: its cookies go with each
request), so the page, its CSS and its scripts are the app's own.  The check is
axe-playwright-python's axe-core, 0 violations allowed.
"""
from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import pytest

from browser import CHROMIUM_ARGS, chromium_path

__all__ = ["assert_axe_clean"]

_HOP = {"content-length", "content-encoding", "transfer-encoding", "connection"}


def assert_axe_clean(client, paths: Iterable[str]) -> None:
    if chromium_path() is None:
        pytest.skip("needs Chromium (scripts/test.sh installs it)")
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    def answer(route) -> None:
        url = urlsplit(route.request.url)
        response = client.request(route.request.method, url.path + (f"?{url.query}" if url.query else ""),
                                  follow_redirects=False)
        route.fulfill(status=response.status_code, body=response.content,
                      headers={k: v for k, v in response.headers.items() if k.lower() not in _HOP})

    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(bypass_csp=True, locale="th-TH").new_page()
            page.route("http://testserver/**", answer)
            for path in paths:
                for lang in ("en", "th"):  # left in Thai for the client's later requests
                    page.goto(f"http://testserver{path}{'&' if '?' in path else '?'}lang={lang}")
                    results = Axe().run(page)
                    if results.violations_count:
                        problems.append(f"{path} [{lang}]:\n{results.generate_report()}")
        finally:
            browser.close()
    assert not problems, "\n".join(problems)
