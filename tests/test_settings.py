"""One settings module (issue #20 item 3): ``eservice.settings`` reads the
environment and nothing else does; what it reads reaches the worker, the CLI's
server processes and the plugins as ``Settings``.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from eservice.mail import DeliveryError
from eservice.plugin_api import OutgoingMessage
from eservice.settings import DEFAULT_WORKER_INTERVAL, Settings, SmtpSettings, export_env
from eservice.web.app import create_app

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "defs"
READS_ENV = re.compile(r"\bos\.(?:environ|getenv|putenv|unsetenv)\b|^\s*from\s+os\s+import\b.*\b(?:environ|getenv)\b",
                       re.MULTILINE)


def full_settings(tmp_path: Path) -> Settings:
    """Settings with every field away from its default."""
    return Settings(
        data=tmp_path / "data", definitions=(tmp_path / "a", tmp_path / "b"), secret="s" * 48,
        base_url="https://eservice.example.go.th/nbr", allowed_hosts=("probe.internal", "eservice.example.go.th"),
        templates=(tmp_path / "templates",), site_name={"th": "บริการของเขต", "en": "District services"},
        smtp=SmtpSettings(host="mail.example.go.th", port=2465, security="ssl", username="u", password="p",
                          sender="noreply@example.go.th", timeout=7.5, ca_file="/etc/eservice/ca.pem"),
        tsa_url="http://tsa.example.go.th/tsa", trust_roots=(tmp_path / "roots", tmp_path / "nrca.pem"),
        demo=True, debug=True, worker_interval=0.5,
    )


def test_only_the_settings_module_reads_the_environment():
    readers = sorted(str(path.relative_to(REPO)) for folder in ("platform", "plugins", "renderers")
                     for path in (REPO / folder).rglob("*.py")
                     if READS_ENV.search(path.read_text(encoding="utf-8")))
    assert readers == ["platform/settings.py"]


def test_settings_go_through_the_environment_unchanged(tmp_path):
    """``eservice serve`` hands its settings to uvicorn's worker processes this way."""
    for settings in (Settings(), full_settings(tmp_path)):
        assert Settings.from_env(settings.to_env()) == settings
    environ = {"PATH": "/usr/bin", "ESERVICE_DATA": "/elsewhere"}
    export_env(full_settings(tmp_path), environ)
    assert Settings.from_env(environ) == full_settings(tmp_path) and environ["PATH"] == "/usr/bin"


def test_worker_interval_is_a_setting(caplog):
    assert Settings.from_env({}).worker_interval == DEFAULT_WORKER_INTERVAL == 60
    assert Settings.from_env({"ESERVICE_WORKER_INTERVAL": "0"}).worker_interval == 0
    with caplog.at_level(logging.WARNING):
        assert Settings.from_env({"ESERVICE_WORKER_INTERVAL": "soon"}).worker_interval == DEFAULT_WORKER_INTERVAL
    assert "ESERVICE_WORKER_INTERVAL='soon' is not a number" in caplog.text


@pytest.mark.parametrize("interval, runs", [(0, False), (DEFAULT_WORKER_INTERVAL, True)])
def test_the_app_runs_background_jobs_as_its_settings_say(tmp_path, interval, runs):
    app = create_app(Settings(data=tmp_path / "data", definitions=(FIXTURES,), worker_interval=interval))
    with TestClient(app):
        assert (getattr(app.state, "worker", None) is not None) is runs


def test_the_mail_channel_takes_the_platform_settings(smtp_server):  # R: RC-3
    from eservice.plugins.smtp_email import SmtpEmailChannel

    channel = SmtpEmailChannel(Settings(smtp=smtp_server.settings(sender="noreply@agency.go.th")))
    channel.send(OutgoingMessage(to="a@example.com", subject="แจ้งเตือน / Notice", body="ข้อความ"))
    [got] = smtp_server.wait_for(1)
    assert got.mail_from == "noreply@agency.go.th" and got.message["Subject"] == "แจ้งเตือน / Notice"

    with pytest.raises(DeliveryError) as off:  # the platform's mail is off: said so, in Thai and English
        SmtpEmailChannel(Settings()).send(OutgoingMessage(to="a@example.com", subject="s", body="b"))
    assert off.value.code == "config" and "ESERVICE_SMTP_HOST" in off.value.th and off.value.en


def test_the_signature_verifier_takes_the_platform_settings(tmp_path, monkeypatch):  # R: PR-8
    from eservice.certificates import create_agency_keys
    from eservice.plugins.pdf_signature_verifier import PdfSignatureVerifier
    from eservice.renderers.pdf import render_pdf

    monkeypatch.delenv("ESERVICE_DATA", raising=False)
    data = tmp_path / "data"
    keys = create_agency_keys(data, "test-agency", org_name_th="สำนักงานเขตทดสอบ", org_name_en="Test District Office")
    signed = keys.signer().sign(render_pdf("<h1>ใบอนุญาต</h1>"))
    assert PdfSignatureVerifier(settings=Settings(data=data)).verify(signed).ok
    elsewhere = PdfSignatureVerifier(settings=Settings(data=tmp_path / "other")).verify(signed)
    assert not elsewhere.ok and "pdf_signature.untrusted" in [m.code for m in elsewhere.messages]
