"""E-mail over real SMTP (aiosmtpd on loopback) and the outbox (eservice.mail).

R: RC-3 (the acknowledgement reaches the applicant), PR-2 (a refused address is
visible to callers and officers), A-X2 (no header injection).  Rendering the
definitions' templates is tested in test_notifications.py.
"""
from __future__ import annotations

import smtplib
from datetime import datetime

import pytest

from eservice.clock import UTC, FixedClock
from eservice.mail import DeliveryError, Mailer, Outbox, SmtpSettings
from eservice.store import open_store
from smtp_server import (  # noqa: F401  (fixtures used by name)
    closed_port, smtp_server, smtp_server_factory, tls_files,
)

THAI_SUBJECT = "ได้รับคำขออนุญาตก่อสร้างอาคารแล้ว เลขรับ ๑๒๓/๒๕๖๗ — ปั้น ที่นี่ กรุณาเก็บไว้เป็นหลักฐาน"


@pytest.fixture
def clock():
    return FixedClock(datetime(2024, 1, 23, 1, 30, tzinfo=UTC))


@pytest.fixture
def outbox(tmp_path, clock):
    return Outbox(open_store(tmp_path / "data", clock=clock, durable=False), clock)


# --------------------------------------------------------------------------- sending


def test_thai_subject_and_body_arrive_intact(smtp_server, clock):  # R: RC-3
    mailer = Mailer(smtp_server.settings(), clock=clock)
    body = "เรียน คุณสมชาย ใจดี\n\nหน่วยงานได้รับคำขอของท่านแล้ว เลขรับ 123/2567\nติดต่อ 02-123-4567\n"
    message_id = mailer.send("somchai@example.com", THAI_SUBJECT, body)

    [got] = smtp_server.wait_for(1)
    assert got.rcpt_tos == ["somchai@example.com"]
    assert got.mail_from == "noreply@eservice.test"  # the bare envelope sender
    assert got.message["Subject"] == THAI_SUBJECT  # long Thai subject: folded, then decoded intact
    assert got.message["Message-ID"] == message_id
    assert got.message["From"].addresses[0].display_name == "ระบบ e-Service"
    assert got.text == body
    assert got.message.get_content_charset() == "utf-8"
    # On the wire the header is RFC 2047-encoded, never raw 8-bit.
    raw_subject = next(line for line in got.raw.split(b"\r\n") if line.startswith(b"Subject:"))
    assert raw_subject.isascii() and b"=?utf-8?" in raw_subject.lower()
    assert got.message["Date"].datetime == clock.now()


def test_attachment_and_html_alternative(smtp_server):
    mailer = Mailer(smtp_server.settings())
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\n%%EOF"
    mailer.send(["a@example.com", "b@example.com"], "ใบอนุญาต", "ดูไฟล์แนบ", html="<p>ดู<b>ไฟล์แนบ</b></p>",
                attachments=[("ใบอนุญาต-123.pdf", pdf, "application/pdf"),
                             ("notes.txt", "บันทึก".encode(), "")])

    [got] = smtp_server.wait_for(1)
    assert sorted(got.rcpt_tos) == ["a@example.com", "b@example.com"]
    assert got.message.get_body(("html",)).get_content().strip() == "<p>ดู<b>ไฟล์แนบ</b></p>"
    assert got.text.strip() == "ดูไฟล์แนบ"
    first, second = got.attachments
    assert first.get_filename() == "ใบอนุญาต-123.pdf"
    assert first.get_content_type() == "application/pdf"
    assert first.get_content() == pdf
    assert second.get_content_type() == "text/plain"  # guessed from the name
    assert second.get_content().strip() == "บันทึก"


def test_subject_cannot_inject_headers(smtp_server):  # R: A-X2
    Mailer(smtp_server.settings()).send("a@example.com", "ปกติ\r\nBcc: victim@example.com", "x")
    [got] = smtp_server.wait_for(1)
    assert got.message["Bcc"] is None
    assert got.rcpt_tos == ["a@example.com"]
    assert got.message["Subject"] == "ปกติ Bcc: victim@example.com"


def test_refused_recipient_raises_with_reason_and_is_recorded(smtp_server_factory, outbox):  # R: PR-2
    server = smtp_server_factory(reject={"gone@example.com": "550 5.1.1 <gone@example.com>: User unknown"})
    mailer = Mailer(server.settings(), outbox=outbox)
    with pytest.raises(DeliveryError) as caught:
        mailer.send("gone@example.com", "แจ้งผล", "ข้อความ", application="app-1", kind="approved")
    err = caught.value
    assert err.code == "recipient_refused"
    assert err.smtp_code == 550 and err.permanent
    assert "User unknown" in err.en and "User unknown" in err.th
    assert err.refused == {"gone@example.com": (550, "5.1.1 <gone@example.com>: User unknown")}
    assert server.messages == []

    [record] = outbox.failures(application="app-1")
    assert record["id"] == err.outbox_id
    assert record["to"] == ["gone@example.com"] and record["subject"] == "แจ้งผล"
    assert record["status"] == "failed" and record["kind"] == "approved"
    assert record["error"]["smtp_code"] == 550 and record["error"]["permanent"] is True
    assert outbox.unreachable("Gone@example.com")


def test_temporary_refusal_is_not_permanent(smtp_server_factory):
    server = smtp_server_factory(reject=lambda addr: "450 4.2.1 Mailbox busy, try later" if addr.startswith("busy") else None)
    with pytest.raises(DeliveryError) as caught:
        Mailer(server.settings()).send("busy@example.com", "s", "t")
    assert caught.value.smtp_code == 450
    assert not caught.value.permanent
    assert "Mailbox busy" in caught.value.en


def test_partly_refused_mail_reaches_the_others_and_says_who_not(smtp_server_factory, outbox):
    server = smtp_server_factory(reject={"gone@example.com": "550 No such user"})
    mailer = Mailer(server.settings(), outbox=outbox)
    with pytest.raises(DeliveryError) as caught:
        mailer.send(["ok@example.com", "gone@example.com"], "s", "t")
    assert set(caught.value.refused) == {"gone@example.com"}
    assert caught.value.message_id is not None  # the mail did go out to ok@
    [got] = server.wait_for(1)
    assert got.rcpt_tos == ["ok@example.com"]
    assert outbox.unreachable("gone@example.com") and not outbox.unreachable("ok@example.com")


def test_closed_port_gives_clear_delivery_error(outbox):
    port = closed_port()
    mailer = Mailer(SmtpSettings(host="127.0.0.1", port=port, timeout=3), outbox=outbox)
    with pytest.raises(DeliveryError) as caught:
        mailer.send("a@example.com", "s", "t")
    err = caught.value
    assert err.code == "connect" and not err.permanent
    assert f"127.0.0.1:{port}" in err.en and "refused" in err.en.lower()
    assert f"127.0.0.1:{port}" in err.th and "ติดต่อเซิร์ฟเวอร์อีเมล" in err.th
    assert outbox.failures()[0]["error"]["code"] == "connect"


def test_sent_mail_is_recorded_in_the_outbox(smtp_server, outbox, clock):
    mailer = Mailer(smtp_server.settings(), outbox=outbox)
    first = mailer.send("a@example.com", "ยืนยันการรับคำขอ", "t", application="app-9", kind="submitted")
    clock.advance(minutes=1)
    second = mailer.send("a@example.com", "นัดหมาย", "t", application="app-9")
    records = outbox.for_application("app-9")
    assert [r["message_id"] for r in records] == [first, second]
    assert [r["status"] for r in records] == ["sent", "sent"]
    assert records[0]["at"] == "2024-01-23T01:30:00+00:00" and records[0]["subject"] == "ยืนยันการรับคำขอ"
    assert "body" not in records[0] and "text" not in records[0]
    assert outbox.failures() == []


# --------------------------------------------------------------------------- TLS and login


def test_starttls_with_login(smtp_server_factory, tls_files):  # R: A-X2
    server = smtp_server_factory(tls=tls_files, users={"relay": "รหัส-relay-123"})
    settings = server.settings(username="relay", password="รหัส-relay-123")
    assert settings.security == "starttls"
    Mailer(settings).send("a@example.com", "ทดสอบ TLS", "เข้ารหัสแล้ว")
    [got] = server.wait_for(1)
    assert got.message["Subject"] == "ทดสอบ TLS"
    assert server.logins == ["relay"]


def test_starttls_refuses_an_untrusted_certificate(smtp_server_factory, tls_files):
    server = smtp_server_factory(tls=tls_files)
    with pytest.raises(DeliveryError) as caught:
        Mailer(server.settings(ca_file=None)).send("a@example.com", "s", "t")
    assert caught.value.code == "tls"
    assert "certificate" in caught.value.en.lower()
    assert server.messages == []


def test_wrong_smtp_password_is_an_auth_error(smtp_server_factory, tls_files):
    server = smtp_server_factory(tls=tls_files, users={"relay": "right-password"})
    with pytest.raises(DeliveryError) as caught:
        Mailer(server.settings(username="relay", password="wrong")).send("a@example.com", "s", "t")
    assert caught.value.code == "auth" and caught.value.smtp_code == 535
    assert "ESERVICE_SMTP_USER" in caught.value.en


def test_starttls_required_but_not_offered(smtp_server):
    with pytest.raises(DeliveryError) as caught:
        Mailer(smtp_server.settings(security="starttls")).send("a@example.com", "s", "t")
    assert caught.value.code == "tls" and "STARTTLS" in caught.value.en
    assert smtp_server.messages == []


def test_implicit_tls(smtp_server_factory, tls_files):
    server = smtp_server_factory(tls=tls_files, implicit_tls=True)
    Mailer(server.settings()).send("a@example.com", "SMTPS", "ok")
    assert server.wait_for(1)[0].message["Subject"] == "SMTPS"


# --------------------------------------------------------------------------- settings


def test_settings_from_env():
    assert SmtpSettings.from_env({"ESERVICE_SMTP_FROM": "x@y.th"}) == SmtpSettings(sender="x@y.th")
    s = SmtpSettings.from_env({
        "ESERVICE_SMTP_HOST": "mail.dol.go.th", "ESERVICE_SMTP_TLS": "starttls",
        "ESERVICE_SMTP_USER": "u", "ESERVICE_SMTP_PASSWORD": "secret-pw", "ESERVICE_SMTP_FROM": "noreply@dol.go.th",
    })
    assert (s.host, s.port, s.security, s.username) == ("mail.dol.go.th", 587, "starttls", "u")
    assert SmtpSettings.from_env({"ESERVICE_SMTP_TLS": "ssl", "ESERVICE_SMTP_PORT": "2465"}).port == 2465
    assert "secret-pw" not in repr(s)
    with pytest.raises(ValueError):
        SmtpSettings.from_env({"ESERVICE_SMTP_TLS": "maybe"})


def test_test_server_is_a_real_smtp_server(smtp_server):
    """The fixture speaks SMTP to any client, not only to our Mailer."""
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        client.sendmail("x@example.com", ["y@example.com"], b"Subject: hi\r\n\r\nbody\r\n")
    assert smtp_server.wait_for(1)[0].message["Subject"] == "hi"


# --------------------------------------------------------------------------- plugin channel


def test_smtp_email_channel_plugin(smtp_server, monkeypatch):
    import pluggy

    from eservice import plugin_api
    from eservice.plugins import smtp_email

    pm = pluggy.PluginManager(plugin_api.PROJECT)
    pm.add_hookspecs(plugin_api.HookSpecs)
    pm.register(smtp_email, "smtp_email")
    channel = plugin_api.notification_channels(pm)["email"]

    monkeypatch.setenv("ESERVICE_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("ESERVICE_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("ESERVICE_SMTP_FROM", "noreply@agency.go.th")
    channel.send(plugin_api.OutgoingMessage(to="a@example.com", subject="แจ้งเตือน", body="ข้อความ",
                                            attachments=[("a.pdf", b"%PDF", "application/pdf")]))
    [got] = smtp_server.wait_for(1)
    assert got.message["Subject"] == "แจ้งเตือน" and got.mail_from == "noreply@agency.go.th"
    assert [a.get_filename() for a in got.attachments] == ["a.pdf"]

    monkeypatch.setenv("ESERVICE_SMTP_PORT", str(closed_port()))
    with pytest.raises(DeliveryError):
        channel.send(plugin_api.OutgoingMessage(to="a@example.com", subject="s", body="b"))


def test_long_thai_subject_keeps_its_spaces(smtp_server):  # R: RC-3
    subject = "ได้รับคำขอแล้ว เลขรับที่ 1/2569 — ใบอนุญาตจัดตั้งสถานที่จำหน่ายอาหาร / Application received"
    Mailer(smtp_server.settings()).send("somchai@example.com", subject, "เนื้อความ")
    smtp_server.wait_for(1)
    assert smtp_server.messages[-1].message["Subject"] == subject
