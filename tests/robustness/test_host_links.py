"""Links in mails and in the API never come from the request's Host header.

Issue #17 item 2 (High).  R: A-X2.  Before the fix, without ESERVICE_BASE_URL,
``POST /password/forgot`` with ``Host: evil.example`` mailed the victim
``http://evil.example/password/reset?token=…``; ``/register`` and the API's
``links`` did the same; and ``eservice serve`` started in that setup.

The real app through starlette's TestClient with the real SMTP server of
tests/smtp_server.py; ``eservice serve`` as a subprocess.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from eservice.auth import Accounts
from eservice.web.app import create_app
from eservice.web.context import DEFAULT_BASE_URL, Settings

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "defs"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "ม้าลายกระโดด-42"
EVIL = "evil.example"
LINK = re.compile(r"https?://[^\s/]+/\S*")
START_TIMEOUT = 90  # seconds; a safety net for a stuck process, not a measurement


def mail_links(mail) -> list[str]:
    return LINK.findall(mail.text)


@pytest.fixture
def client(tmp_path, smtp_server):
    """The app as tests and embedders build it: settings in code, no base URL
    (links then point at DEFAULT_BASE_URL, whatever the request says)."""
    settings = Settings(data=tmp_path / "data", definitions=(FIXTURES,),
                        smtp=smtp_server.settings(sender="e-Service <noreply@eservice.test>"))
    app = create_app(settings)
    ctx = app.state.ctx
    ctx.extra["accounts"] = Accounts(ctx.store, ctx.clock, hasher=FAST)
    with TestClient(app, follow_redirects=False) as c:
        yield c


def csrf_of(client, path: str, **kwargs) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path, **kwargs).text)
    assert found, path
    return found.group(1)


def forged_post(client, path: str, data: dict):
    """A form post whose Host header names the attacker's site (the CSRF token is a real one)."""
    token = csrf_of(client, path)
    return client.post(path, data={"csrf_token": token, **data}, headers={"host": EVIL})


def test_reset_link_ignores_a_forged_host(client, smtp_server):  # R: A-X2, A-I2
    accounts = client.app.state.ctx.extra["accounts"]
    user, token = accounts.register("somchai@example.com", PASSWORD)
    accounts.verify_email(token)
    answer = forged_post(client, "/password/forgot", {"email": "somchai@example.com"})
    assert answer.status_code == 303
    [mail] = smtp_server.wait_for(1)
    links = mail_links(mail)
    assert EVIL not in mail.text
    assert links and all(link.startswith(DEFAULT_BASE_URL + "/") for link in links), links


def test_verification_link_ignores_a_forged_host(client, smtp_server):  # R: A-X2, A-I1
    answer = forged_post(client, "/register", {
        "email": "malee@example.com", "password": PASSWORD, "password_confirm": PASSWORD,
        "first_name": "มาลี", "last_name": "ศรีสุข"})
    assert answer.status_code == 303
    [mail] = smtp_server.wait_for(1)
    assert EVIL not in mail.text
    assert any(link.startswith(DEFAULT_BASE_URL + "/verify?token=") for link in mail_links(mail)), mail.text


def test_api_links_ignore_a_forged_host(client):  # R: A-X2, CH-5
    answer = client.get("/api/services", headers={"host": EVIL})
    assert answer.status_code == 200
    text = answer.text
    assert "/api/services/" in text and EVIL not in text


def test_the_app_from_the_environment_refuses_to_start_without_a_base_url(tmp_path, monkeypatch, capsys):
    for name in list(os.environ):
        if name.startswith("ESERVICE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ESERVICE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("ESERVICE_DEFINITIONS", str(FIXTURES))
    with pytest.raises(SystemExit) as stopped:
        create_app()  # what `uvicorn eservice.web.app:create_app --factory` runs in each worker
    assert stopped.value.code != 0
    said = capsys.readouterr().err
    assert "ESERVICE_BASE_URL=https://" in said and "--allowed-hosts" in said and "ไม่เริ่มทำงาน" in said


# --------------------------------------------------------------------------- eservice serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESERVICE_")}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def test_serve_without_a_base_url_exits_with_the_fix(tmp_path):  # R: A-X2
    port = free_port()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "eservice.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--data", str(tmp_path / "data"), "--definitions", str(FIXTURES)],
            cwd=str(REPO), env=clean_env(), capture_output=True, text=True, timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("eservice serve started (and kept running) without a base URL")
    assert done.returncode != 0
    assert "ESERVICE_BASE_URL=https://" in done.stderr and "--allowed-hosts" in done.stderr
    assert "ระบบจึงไม่เริ่มทำงาน" in done.stderr  # Thai and English
    assert "Serving" not in done.stderr and "Uvicorn running" not in done.stderr


def test_demo_links_point_at_its_own_address_and_foreign_hosts_are_refused(tmp_path, smtp_server):  # R: A-X2
    """The README's start command (`scripts/run.sh` → `serve --demo --host 127.0.0.1 --port …`)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(ESERVICE_SMTP_HOST=smtp_server.host, ESERVICE_SMTP_PORT=str(smtp_server.port),
                    ESERVICE_SMTP_TLS="none", ESERVICE_SMTP_FROM="demo <noreply@eservice.test>")
    log = open(tmp_path / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "eservice.cli", "serve", "--demo", "--host", "127.0.0.1", "--port", str(port),
         "--data", str(tmp_path / "data")],
        cwd=str(REPO), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as http:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                assert server.poll() is None, (tmp_path / "server.log").read_text(errors="replace")
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the demo server did not answer /healthz"
                time.sleep(0.2)

            assert http.get("/healthz", headers={"host": EVIL}).status_code == 400
            token = csrf_of(http, "/password/forgot")
            forged = http.post("/password/forgot", data={"csrf_token": token, "email": "somchai@demo.example"},
                               headers={"host": EVIL})
            assert forged.status_code == 400  # refused before anything is mailed
            sent = http.post("/password/forgot", data={"csrf_token": token, "email": "somchai@demo.example"})
            assert sent.status_code == 303
            [mail] = smtp_server.wait_for(1, timeout=30)
            assert any(link.startswith(f"{base}/password/reset?token=") for link in mail_links(mail)), mail.text
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
