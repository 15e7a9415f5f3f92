"""Bounces (issue #21; PR-2): VERP return path, delivery-status notifications read
by an SMTP listener or from an IMAP mailbox, hard and soft bounces told apart.

Real parts only: the platform's mail goes to a test MTA on loopback
(``tests/bounce_mta.py``: aiosmtpd) that accepts it and *then* bounces it with an
RFC 3464 report to the message's return path — over SMTP to the platform's
bounce listener, or into a real IMAP server (Debian's dovecot, run as an
unprivileged process on loopback with a temporary configuration).
"""
from __future__ import annotations

import datetime as dt
import os
import pwd
import shutil
import smtplib
import subprocess
import time
from pathlib import Path

import pytest

from bounce_mta import BouncingMta, dsn_bytes, imap_append, smtp_to
from eservice.bounce_sources import BounceListener, poll_imap
from eservice.bounces import parse_dsn, process_reports
from eservice.clock import FixedClock
from eservice.mail import Mailer, Outbox, message_token
from eservice.settings import BounceSettings
from eservice.store import open_store
from eservice.worker import run_once, start_bounce_listener
from smtp_server import closed_port
from test_outputs_journey import World, token_of
from tsa_server import tsa_server  # noqa: F401  (fixture)

NOW = dt.datetime(2026, 6, 15, 3, 0, tzinfo=dt.timezone.utc)
HARD = ("5.1.1", "failed", "550 5.1.1 <somchai@example.com>: Recipient address rejected: User unknown")
SOFT = ("4.2.2", "failed", "452 4.2.2 <somchai@example.com>: Mailbox full")
DELAYED = ("4.4.1", "delayed", "421 4.4.1 Connection timed out")
DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)


# --------------------------------------------------------------------------- parsing (stdlib email)
def original(message_id: str = "<0123456789abcdef01234567@eservice.test>") -> bytes:
    return (f"From: noreply@eservice.test\r\nTo: somchai@example.com\r\nSubject: test\r\n"
            f"Message-ID: {message_id}\r\n\r\nhello\r\n").encode()


@pytest.mark.parametrize("with_message", [False, True])
def test_a_report_is_read_with_the_standard_email_package(with_message):
    report = dsn_bytes("bounces+0123456789abcdef01234567@bounces.eservice.test", "somchai@example.com",
                       original(), *HARD, with_message=with_message)
    dsn = parse_dsn(report)
    assert dsn.token == "0123456789abcdef01234567"
    assert dsn.message_id == "<0123456789abcdef01234567@eservice.test>"
    [rcpt] = dsn.recipients
    assert (rcpt.address, rcpt.action, rcpt.status, rcpt.smtp_code) == ("somchai@example.com", "failed", "5.1.1", 550)
    assert rcpt.permanent and not rcpt.temporary
    soft = parse_dsn(dsn_bytes("bounces+0123456789abcdef01234567@b.test", "somchai@example.com", original(),
                               *SOFT)).recipients[0]
    assert soft.temporary and not soft.permanent  # told apart by the status class, not the words
    delayed = parse_dsn(dsn_bytes("x@b.test", "somchai@example.com", original(), *DELAYED))
    assert delayed.recipients[0].action == "delayed" and delayed.token == "0123456789abcdef01234567"  # from Message-ID


def test_what_is_not_a_report_is_not_taken_for_one():
    assert parse_dsn(b"From: a@b.test\r\nSubject: Out of office\r\n\r\nI am away.\r\n") is None
    assert parse_dsn(b"Content-Type: multipart/report; report-type=disposition-notification; boundary=x\r\n\r\n"
                     b"--x\r\nContent-Type: text/plain\r\n\r\nread\r\n--x--\r\n") is None


# --------------------------------------------------------------------------- mail, store and listener
@pytest.fixture
def plant(tmp_path):
    """A store, an outbox with a spool, a listener, and an MTA that bounces to the listener."""
    clock = FixedClock(NOW)
    store = open_store(tmp_path / "data", clock=clock, durable=False)
    listener = BounceListener(store, clock, "127.0.0.1", closed_port())
    listener.start()
    mta = BouncingMta(deliver=smtp_to(listener.host, listener.port))
    mta.start()
    outbox = Outbox(store, clock, spool=tmp_path / "data" / "mail-spool")
    mailer = Mailer(mta.settings(), outbox=outbox, clock=clock)
    yield {"store": store, "clock": clock, "mta": mta, "mailer": mailer, "outbox": outbox, "listener": listener}
    mta.stop()
    listener.stop()


def test_each_message_carries_its_own_return_path(plant):
    mailer, mta = plant["mailer"], plant["mta"]
    first = mailer.send("somchai@example.com", "หนึ่ง", "ข้อความ")
    second = mailer.send("somchai@example.com", "สอง", "ข้อความ")
    a, b = mta.wait_for(2)
    assert a.mail_from == f"bounces+{message_token(first)}@bounces.eservice.test"
    assert b.mail_from == f"bounces+{message_token(second)}@bounces.eservice.test" != a.mail_from
    assert a.message["Message-ID"] == first
    assert [r["token"] for r in plant["outbox"].all()] == [message_token(first), message_token(second)]
    without = Mailer(mta.settings(bounce_domain=None), outbox=plant["outbox"], clock=plant["clock"])
    without.send("somchai@example.com", "สาม", "ข้อความ")
    assert mta.wait_for(3)[2].mail_from == "noreply@eservice.test"  # no bounce domain: the From: address


def test_the_listener_takes_only_bounce_addresses(plant):
    listener = plant["listener"]
    with smtplib.SMTP(listener.host, listener.port, timeout=5) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail("", ["somchai@example.com"], b"Subject: x\r\n\r\nx\r\n")
    assert refused.value.recipients["somchai@example.com"][0] == 550
    assert list(plant["store"].collection("bounce_reports").all()) == []


def test_a_hard_bounce_marks_the_address_unreachable(plant):
    mta, mailer, outbox, store = plant["mta"], plant["mailer"], plant["outbox"], plant["store"]
    mta.bounce = {"somchai@example.com": HARD}
    mailer.send("somchai@example.com", "แจ้ง", "ข้อความ")
    mta.wait_for_reports(1)
    [kept] = store.collection("bounce_reports").all()
    assert kept["status"] == "new" and kept["source"] == "smtp"
    assert outbox.all()[0]["status"] == "sent"  # accepted by the server: nothing known yet
    [done] = process_reports(store, plant["clock"], outbox)
    assert done["status"] == "applied" and done["actions"][0]["result"] == "unreachable"
    item = outbox.all()[0]
    assert item["status"] == "bounced" and item["error"]["permanent"] and item["error"]["dsn_status"] == "5.1.1"
    assert "User unknown" in item["error"]["en"] and "ตีกลับถาวร" in item["error"]["th"]
    assert outbox.unreachable("somchai@example.com")
    assert process_reports(store, plant["clock"], outbox) == []  # read once


def test_a_soft_bounce_is_sent_again_with_backoff(plant):
    mta, mailer, outbox, store, clock = plant["mta"], plant["mailer"], plant["outbox"], plant["store"], plant["clock"]
    mta.bounce = {"somchai@example.com": SOFT}
    message_id = mailer.send("somchai@example.com", "แจ้ง", "ข้อความ")
    mta.wait_for_reports(1)
    [done] = process_reports(store, clock, outbox)
    assert done["actions"][0]["result"] == "retry"
    item = outbox.all()[0]
    assert item["status"] == "failed" and not item["error"]["permanent"]
    assert item["retry"]["next_at"] == (NOW + dt.timedelta(minutes=5)).isoformat()
    assert not outbox.unreachable("somchai@example.com")
    mta.bounce = {}
    clock.advance(minutes=4)
    assert mailer.retry_due() == []  # not yet
    clock.advance(minutes=1)
    assert mailer.retry_due() == [item["id"]]
    again = mta.wait_for(2)[1]
    assert again.message["Message-ID"] == message_id and again.mail_from.startswith("bounces+")
    item = outbox.all()[0]
    assert item["status"] == "sent" and item["retry"] is None and item["attempts"] == 2
    assert mailer.retry_due() == []


def test_a_temporary_refusal_at_submission_is_retried_and_backs_off(plant):
    mta, outbox, clock = plant["mta"], plant["outbox"], plant["clock"]
    mta.reject = {"somchai@example.com": "451 4.3.0 try again later"}
    mailer = plant["mailer"]
    with pytest.raises(Exception):
        mailer.send("somchai@example.com", "แจ้ง", "ข้อความ")
    item = outbox.all()[0]
    assert item["retry"]["attempts"] == 1
    clock.advance(minutes=5)
    assert mailer.retry_due() == [item["id"]]  # refused again: the next wait is longer
    item = outbox.all()[0]
    assert item["retry"]["attempts"] == 2
    assert item["retry"]["next_at"] == (clock.now() + dt.timedelta(minutes=15)).isoformat()
    mta.reject = {}
    clock.advance(minutes=15)
    assert mailer.retry_due() == [item["id"]]
    assert outbox.all()[0]["status"] == "sent" and len(mta.wait_for(1)) == 1


def test_a_delay_report_is_recorded_not_resent(plant):
    mta, mailer, outbox, store, clock = plant["mta"], plant["mailer"], plant["outbox"], plant["store"], plant["clock"]
    mta.bounce = {"somchai@example.com": DELAYED}
    mailer.send("somchai@example.com", "แจ้ง", "ข้อความ")
    mta.wait_for_reports(1)
    [done] = process_reports(store, clock, outbox)
    assert done["actions"][0]["result"] == "delayed"
    item = outbox.all()[0]
    assert item["status"] == "sent" and item["delayed"]["status"] == "4.4.1" and not item.get("retry")


# --------------------------------------------------------------------------- end to end, through the web app
def world_with_bounces(tmp_path, tsa, mta, **bounces) -> World:
    return World(tmp_path / "data", tsa, mta, bounces=BounceSettings(**bounces))


def test_bounce_after_acceptance_reaches_the_officer_and_the_head_in_one_round(tmp_path, tsa_server):  # noqa: F811
    """PR-2: accepted, then bounced with a real DSN → one worker round → "cannot be reached";
    kept 30 days → the head disposes of it with that reason."""
    port = closed_port()
    mta = BouncingMta(deliver=smtp_to("127.0.0.1", port))
    with mta:
        world = world_with_bounces(tmp_path, tsa_server, mta, listen_host="127.0.0.1", listen_port=port)
        listener = start_bounce_listener(world.app.state.ctx)  # what the app's lifespan starts
        try:
            mta.bounce = {"somchai@example.com": HARD}
            app_id = world.apply("food-shop-permit")
            mta.wait_for_reports(1)
            clerk = world.web("registry_clerk.nonthaburi-city")
            assert "ติดต่อผู้ยื่นคำขอไม่ได้" not in clerk.get("/officer/nonthaburi-city").text  # not read yet

            report = run_once(world.app.state.ctx)  # one round of the background jobs
            assert [a["result"] for r in report.bounces for a in r["actions"]] == ["unreachable_applicant"]
            record = world.store.get_application(app_id)
            assert record["unreachable"]["address"] == "somchai@example.com"
            assert record["unreachable"]["status"] == "5.1.1" and record["events"][-1]["type"] == "mail_bounced"

            inbox = clerk.get("/officer/nonthaburi-city").text
            assert "ติดต่อผู้ยื่นคำขอไม่ได้" in inbox
            assert "Applicant cannot be reached" in clerk.get("/officer/nonthaburi-city?lang=en").text
            page = clerk.get(f"/officer/applications/{app_id}").text
            assert 'id="unreachable"' in page and "5.1.1" in page and "cannot be reached" in page
            clerk.get("/?lang=th")

            head = world.web("head_of_agency.nonthaburi-city")
            assert app_id not in head.get("/officer/nonthaburi-city/disposal").text  # kept 30 days first
            world.clock.advance(days=31)
            disposal = head.get("/officer/nonthaburi-city/disposal")
            assert app_id in disposal.text and "ติดต่อผู้ยื่นคำขอไม่ได้ (อีเมลถูกตีกลับ) เกิน 30 วัน" in disposal.text
            from axe_pages import assert_axe_clean
            assert_axe_clean(clerk, ["/officer/nonthaburi-city", f"/officer/applications/{app_id}"])
            assert_axe_clean(head, ["/officer/nonthaburi-city/disposal"])
            disposal = head.get("/officer/nonthaburi-city/disposal")
            version = world.store.get_application(app_id)["version"]
            done = head.post(f"/officer/applications/{app_id}/dispose", follow_redirects=False, data={
                "csrf_token": token_of(disposal.text), "expected_version": version,
                "reason": "ติดต่อผู้ยื่นคำขอไม่ได้ อีเมลถูกตีกลับเกิน 30 วัน"})
            assert done.status_code == 303, done.text[:2000]
            record = world.store.get_application(app_id)
            assert record["closed"] and record["outcome"] == "disposed"
            assert "อีเมลถูกตีกลับ" in str(record["events"][-1]["data"])
        finally:
            if listener is not None:
                listener.stop()


# --------------------------------------------------------------------------- IMAP (dovecot)
class Dovecot:
    """Debian's dovecot-imapd on loopback, unprivileged, with a temporary configuration."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, closed_port()
        self.user, self.password = "bounces", "Bounce-Box-7"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Dovecot":
        f = self.folder
        for sub in ("run", "state", "home"):
            (f / sub).mkdir(parents=True, exist_ok=True)
        root = os.getuid() == 0
        account = pwd.getpwnam("nobody") if root else pwd.getpwuid(os.getuid())
        group = next((g for g in ("nogroup", "nobody") if _group_exists(g)), str(account.pw_gid)) if root else \
            _group_name(account.pw_gid)
        (f / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        (f / "dovecot.conf").write_text(f"""
base_dir = {f}/run
state_dir = {f}/state
log_path = {f}/dovecot.log
instance_name = eservice-test-{self.port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = {account.pw_name}
default_internal_group = {group}
default_login_user = {account.pw_name}
first_valid_uid = 1
mail_location = maildir:{f}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {f}/passwd
}}
userdb {{
  driver = static
  args = uid={account.pw_uid} gid={account.pw_gid} home={f}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
""")
        command = [DOVECOT, "-F", "-c", str(f / "dovecot.conf")]
        if root:  # never as root: the unprivileged account owns the folder and runs the server
            subprocess.run(["chown", "-R", f"{account.pw_uid}:{account.pw_gid}", str(f)], check=True)
            os.chmod(f, 0o755)
            command = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups",
                       *command]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        import socket
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.proc.stdout.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("dovecot did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def count(self) -> int:
        import imaplib
        conn = imaplib.IMAP4("127.0.0.1", self.port)
        conn.login(self.user, self.password)
        kind, data = conn.select("INBOX")
        conn.logout()
        return int(data[0])


def _group_exists(name: str) -> bool:
    import grp
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def _group_name(gid: int) -> str:
    import grp
    return grp.getgrgid(gid).gr_name


@pytest.fixture
def dovecot():
    if DOVECOT is None:
        pytest.skip("needs dovecot-imapd (scripts/test.sh installs it)")
    import tempfile
    folder = Path(tempfile.mkdtemp(prefix="eservice-dovecot-"))  # under /tmp: reachable by the server's account
    server = Dovecot(folder).start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


def test_reports_in_an_imap_mailbox_are_read_in_one_round(tmp_path, tsa_server, dovecot):  # noqa: F811
    mta = BouncingMta(deliver=imap_append("127.0.0.1", dovecot.port, dovecot.user, dovecot.password),
                      with_message=True)
    with mta:
        world = world_with_bounces(tmp_path, tsa_server, mta, imap_host="127.0.0.1", imap_port=dovecot.port,
                                   imap_security="none", imap_user=dovecot.user, imap_password=dovecot.password)
        mta.bounce = {"somchai@example.com": HARD}
        app_id = world.apply("commercial-registration")
        mta.wait_for_reports(1)
        assert dovecot.count() == 1
        report = run_once(world.app.state.ctx)
        assert report.errors == [], report.errors
        assert [a["result"] for r in report.bounces for a in r["actions"]] == ["unreachable_applicant"]
        assert dovecot.count() == 0  # taken out of the mailbox once stored
        assert world.store.get_application(app_id)["unreachable"]["status"] == "5.1.1"
        page = world.web("registry_clerk.chatuchak-district").get(f"/officer/applications/{app_id}").text
        assert 'id="unreachable"' in page


def test_a_wrong_imap_password_is_reported_not_fatal(tmp_path, dovecot):
    clock = FixedClock(NOW)
    store = open_store(tmp_path / "data", clock=clock, durable=False)
    settings = BounceSettings(imap_host="127.0.0.1", imap_port=dovecot.port, imap_security="none",
                              imap_user=dovecot.user, imap_password="wrong")
    from eservice.bounce_sources import BounceSourceError
    with pytest.raises(BounceSourceError) as err:
        poll_imap(settings, store, clock)
    assert "refused the login" in err.value.en and "ไม่สำเร็จ" in err.value.th


def test_bounce_settings_from_the_environment():
    s = BounceSettings.from_env({"ESERVICE_BOUNCE_LISTEN": "0.0.0.0:2525",
                                 "ESERVICE_BOUNCE_IMAP_URL": "imaps://bounce%40x:p%3Ass@imap.example.go.th/Bounces"})
    assert (s.listen_host, s.listen_port) == ("0.0.0.0", 2525)
    assert (s.imap_host, s.imap_port, s.imap_security, s.imap_user, s.imap_password, s.imap_mailbox) == \
        ("imap.example.go.th", 993, "ssl", "bounce@x", "p:ss", "Bounces")
    assert BounceSettings.from_env(s.to_env()) == s
    assert BounceSettings.from_env({}) is None
    with pytest.raises(ValueError, match="host:port"):
        BounceSettings.from_env({"ESERVICE_BOUNCE_LISTEN": "2525"})
    with pytest.raises(ValueError, match="imaps://"):
        BounceSettings.from_env({"ESERVICE_BOUNCE_IMAP_URL": "http://x"})
