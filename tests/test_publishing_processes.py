"""Two `eservice serve` processes over one data folder: a publish through one reaches
the other without a restart, through the version stamp in the store (issue #9 item 5;
A-SP1, NF-1).  Real subprocesses and HTTP; no browser needed (the Chromium journey is
tests/test_e2e_publish.py)."""
from __future__ import annotations

import re
import shutil

import httpx
import pytest

pytest.register_assert_rewrite("browser")
pytest_plugins = ("browser",)
from browser import DEFINITIONS, PASSWORD, LiveServer, seed_user  # noqa: E402

SERVICE = "commercial-registration"
AGENCY = "chatuchak-district"


def _csrf(text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def _signed_in(server: LiveServer, email: str) -> httpx.Client:
    client = httpx.Client(base_url=server.base_url, timeout=60)
    page = client.get("/login")
    done = client.post("/login", data={"csrf_token": _csrf(page.text), "email": email, "password": PASSWORD})
    assert done.status_code in (302, 303), done.text[:300]
    return client


def test_a_publish_and_an_unpublish_reach_the_other_process_without_restart(smtp_server, tmp_path):
    defs = tmp_path / "defs"
    shutil.copytree(DEFINITIONS, defs, ignore=shutil.ignore_patterns("_tools"))
    data = tmp_path / "data"
    data.mkdir()
    for n in (1, 2):
        seed_user(data, f"editor{n}@example.com", PASSWORD, roles=[(AGENCY, "service_editor")])
    one = LiveServer(data=data, smtp=smtp_server, definitions=defs).start()
    two = LiveServer(data=data, smtp=smtp_server, definitions=defs).start()
    try:
        public_two = httpx.Client(base_url=two.base_url, timeout=60)
        before = public_two.get(f"/services/{SERVICE}").text

        first = _signed_in(one, "editor1@example.com")
        page = first.get(f"/admin/services/{SERVICE}")
        text = re.search(r"<textarea[^>]*>(.*?)</textarea>", page.text, re.S).group(1)
        import html
        text = html.unescape(text).replace("    amount: 50\n", "    amount: 75\n", 1)
        sent = first.post(f"/admin/services/{SERVICE}", data={"csrf_token": _csrf(page.text), "text": text,
                                                             "action": "submit"})
        assert sent.status_code == 303, sent.text[:500]

        second = _signed_in(two, "editor2@example.com")  # approves through the other process
        page = second.get(f"/admin/services/{SERVICE}")
        assert "อนุมัติและเผยแพร่" in page.text
        second.post(f"/admin/services/{SERVICE}/approve", data={"csrf_token": _csrf(page.text), "action": "approve"})

        # process one did not publish it, and serves it without a restart
        public_one = httpx.Client(base_url=one.base_url, timeout=60)
        after = public_one.get(f"/services/{SERVICE}").text
        from decimal import Decimal

        from eservice.renderers.html import format_money
        old_fee, new_fee = format_money(Decimal(50), "th"), format_money(Decimal(75), "th")
        assert old_fee in before and new_fee not in before
        assert new_fee in after and old_fee not in after

        page = second.get(f"/admin/services/{SERVICE}")
        second.post(f"/admin/services/{SERVICE}/open", data={"csrf_token": _csrf(page.text), "action": "close"})
        home = public_one.get("/").text
        assert f"/services/{SERVICE}" not in home
        assert "ปิดรับคำขอใหม่แล้ว" in public_one.get(f"/services/{SERVICE}").text
    finally:
        one.stop()
        two.stop()
