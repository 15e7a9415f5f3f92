"""Fees paid for real, end to end through the web app (issue #8; A-P1, A-P3,
A-P4, A-P5, A-P6, PR-12).

Every shipped service that charges a fee is driven to its final approved
state twice: once paid by the bank simulator (``tests/bank_simulator.py``, a
separate process on loopback that reads the Thai QR and calls the signed
webhook of the app, served here by uvicorn on loopback), once by a proof of
payment uploaded by the applicant and accepted by the finance officer.  Each
run's receipt is downloaded and checked by ``pdfsig`` (and the platform's
verifier), the notice too, and the QR image of the status page is decoded by
``zbarimg`` to the payload the test writes out.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import uvicorn

from eservice.clock import BANGKOK
from eservice.payments import qr
from smtp_server import SmtpTestServer
from test_outputs_journey import World, check_signed, nss, pdftext, token_of  # noqa: F401  (nss: fixture)
from test_web_apply import pdf_bytes
from tsa_server import tsa_server  # noqa: F401  (fixture)

SECRET = "bank-shared-secret-for-tests"
HERE = Path(__file__).resolve().parent
TOOLS = all(shutil.which(t) for t in ("pdfsig", "pdftotext", "certutil", "zbarimg"))
needs_tools = pytest.mark.skipif(not TOOLS, reason="needs poppler-utils, libnss3-tools, zbar-tools (scripts/test.sh)")
BILLER = "099400016550100"  # service_definitions/agencies/nonthaburi-city.yaml
PROMPTPAY_TAX_ID = "0994000165510"  # service_definitions/agencies/chatuchak-district.yaml


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """The app on a loopback port (uvicorn in a thread), so another process can call it."""

    def __init__(self, app):
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, lifespan="off",
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the app did not start"
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)


class BankSimulator:
    def __init__(self, webhook: str, secret: str = SECRET):
        self.proc = subprocess.Popen([sys.executable, str(HERE / "bank_simulator.py"), "--webhook", webhook,
                                      "--secret", secret], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("READY "), line
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def page(self, payload: str) -> str:
        from urllib.parse import quote

        with urllib.request.urlopen(f"{self.url}/pay?payload={quote(payload)}", timeout=30) as r:
            return r.read().decode()

    def pay(self, payload: str, **order) -> dict:
        body = json.dumps({"payload": payload, **order}).encode()
        request = urllib.request.Request(f"{self.url}/pay", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as r:
            return json.loads(r.read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def world(tmp_path_factory, tsa_server):  # noqa: F811
    with SmtpTestServer() as smtp:
        w = World(tmp_path_factory.mktemp("payments") / "data", tsa_server, smtp, bank_webhook_secret=SECRET)
        w.served = Served(w.app)
        w.bank = BankSimulator(f"{w.served.url}/payments/webhook/bank_bill_payment")
        try:
            yield w
        finally:
            w.bank.stop()
            w.served.stop()


# --------------------------------------------------------------------------- the journeys
SERVICES = {
    # service: agency, the steps to the notice, the step the payment opens (taken by `system`), the steps after
    "commercial-registration": ("chatuchak-district", [("registry_clerk", "accept_and_bill")], "payment_confirmed",
                                [("signing_authority", "register")], "registered", "commercial_registration"),
    "building-permit": ("nonthaburi-city", [("registry_clerk", "accept"), ("reviewer", "forward_for_approval"),
                                            ("approver", "approve")], "confirm_payment",
                        [("signing_authority", "sign")], "issued", "building_permit"),
    "food-shop-permit": ("nonthaburi-city", [("registry_clerk", "accept"), ("reviewer", "approve_notification"),
                                             ("finance_officer", "issue_payment_notice")], "draft_certificate",
                         [("signing_authority", "sign_certificate")], "issued", "notification_certificate"),
}


def expected_payload(service: str, notice: dict) -> str:
    if service == "commercial-registration":
        return qr.promptpay(PROMPTPAY_TAX_ID, notice["ref1"], notice["ref2"], notice["amount"])
    return qr.bill_payment(BILLER, notice["ref1"], notice["ref2"], notice["amount"])


def status_qr(world, app_id: str, tmp_path: Path) -> str:
    """The QR of the status page, decoded from its image by zbar."""
    page = world.web("somchai").get(f"/applications/{app_id}/status")
    assert page.status_code == 200
    [src] = re.findall(r'<img src="(/applications/[^"]+/payment/qr\.png)"', page.text)
    image = world.web("somchai").get(src)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    path = tmp_path / "qr.png"
    path.write_bytes(image.content)
    return subprocess.run(["zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True,
                          check=True).stdout.strip()


def to_notice(world, service: str) -> tuple[str, dict]:
    agency, before, *_ = SERVICES[service]
    app_id = world.apply(service)
    for who, transition in before:
        world.act(f"{who}.{agency}", app_id, transition)
    record = world.store.get_application(app_id)
    assert record["state"] == "awaiting_payment"
    return app_id, record


def check_notice(world, nss, tmp_path, service: str, app_id: str, record: dict) -> str:  # noqa: F811
    """The notice: on the status page (amount in words, due date B.E., refs, QR) and as a signed PDF."""
    notice = record["payment_notice"]
    page = world.web("somchai").get(f"/applications/{app_id}/status").text
    for text in (notice["ref1"], notice["ref2"], notice["number"]):
        assert text in page
    assert "บาทถ้วน" in page  # the amount in Thai words
    assert re.search(r"25[67]\d", page)  # a Buddhist Era year
    payload = status_qr(world, app_id, tmp_path)
    assert payload == expected_payload(service, notice)
    read = qr.parse(payload)
    assert (read.ref1, read.ref2, read.amount) == (notice["ref1"], notice["ref2"], notice["amount"])
    assert read.fields["53"] == "764" and read.fields["58"] == "TH"
    [letter] = [x for x in record["letters"] if x["id"] == "payment_notice"]
    pdf = world.app.state.ctx.files.get(letter["file"]["sha256"])
    check_signed(world, nss, tmp_path, pdf, "ใบแจ้งชำระค่าธรรมเนียม", notice["ref1"], notice["ref2"])
    return payload


def finish(world, nss, tmp_path, service: str, app_id: str) -> None:  # noqa: F811
    agency, _, paid_step, after, final, _licence = SERVICES[service]
    record = world.store.get_application(app_id)
    moved = [e for e in record["events"] if e["type"] == "transition" and e["data"]["transition"] == paid_step]
    assert moved and moved[-1]["actor"] == "system"  # the payment moved it on by itself
    [receipt] = [x for x in record["letters"] if x["id"] == "payment_receipt"]
    assert re.fullmatch(r"\d{4}/\d{6}", receipt["number"])
    status = world.web("somchai").get(f"/applications/{app_id}/status").text
    href = f"/applications/{app_id}/issued/{receipt['file']['sha256']}"
    assert href in status  # downloadable from the status page
    pdf = world.web("somchai").get(href).content
    check_signed(world, nss, tmp_path, pdf, f"ใบเสร็จ {receipt['number']}", record["payment_notice"]["ref1"],
                 "บาทถ้วน")
    mailed = [part for m in list(world.smtp.messages) for part in m.message.iter_attachments()
              if part.get_filename() == receipt["file"]["filename"] and part.get_content() == pdf]
    assert mailed, "the receipt was not mailed"
    for who, transition in after:
        world.act(f"{who}.{agency}", app_id, transition)
    assert world.state(app_id) == final


@needs_tools
@pytest.mark.parametrize("service", list(SERVICES))
def test_paid_by_the_bank_simulators_qr_callback(world, nss, tmp_path, service):  # noqa: F811
    # R: A-P1, A-P3, A-P5, A-P6, PR-12
    app_id, record = to_notice(world, service)
    payload = check_notice(world, nss, tmp_path, service, app_id, record)
    notice = record["payment_notice"]
    page = world.bank.page(payload)  # the bank's payment page shows what the QR asks
    assert notice["ref1"] in page and notice["amount"] in page
    result = world.bank.pay(payload, timestamp=world.clock.now().timestamp())
    [sent] = result["sent"]
    assert sent["status"] == 200 and sent["body"]["status"] == "applied", sent
    finish(world, nss, tmp_path, service, app_id)


@needs_tools
@pytest.mark.parametrize("service", list(SERVICES))
def test_paid_by_proof_upload_and_finance_verification(world, nss, tmp_path, service):  # noqa: F811
    # R: A-P1, A-P4, A-P6, PR-12
    agency = SERVICES[service][0]
    app_id, record = to_notice(world, service)
    check_notice(world, nss, tmp_path, service, app_id, record)
    client = world.web("somchai")
    page = client.get(f"/applications/{app_id}/status")
    # a file that is not what it says is refused, with Thai and English, and nothing is kept
    bad = client.post(f"/applications/{app_id}/payment/proof", data={"csrf_token": token_of(page.text)},
                      files={"file": ("slip.pdf", b"not a pdf at all", "application/pdf")})
    assert bad.status_code in (415, 422) and not world.store.get_application(app_id).get("payment_proofs")
    sent = client.post(f"/applications/{app_id}/payment/proof", data={"csrf_token": token_of(page.text)},
                       files={"file": ("slip.pdf", pdf_bytes("slip"), "application/pdf")}, follow_redirects=False)
    assert sent.status_code == 303
    [proof] = world.store.get_application(app_id)["payment_proofs"]
    finance = world.web(f"finance_officer.{agency}")
    inbox = finance.get(f"/officer/{agency}")
    assert "Payment to verify" in inbox.text or "การชำระเงินรอตรวจ" in inbox.text
    assert app_id in finance.get(f"/officer/{agency}/payments").text
    # someone without verify_payment may not accept it
    officer_page = world.web(f"reviewer.{agency}").get(f"/officer/applications/{app_id}")
    refused = world.web(f"reviewer.{agency}").post(
        f"/officer/applications/{app_id}/payment/proofs/{proof['id']}/accept",
        data={"csrf_token": token_of(officer_page.text), "method": "bank_transfer"})
    assert refused.status_code == 403 and world.state(app_id) == "awaiting_payment"
    page = finance.get(f"/officer/applications/{app_id}")
    method = re.search(rf'id="accept-method-{proof["id"]}" name="method"><option value="([a-z_]+)"', page.text)[1]
    done = finance.post(f"/officer/applications/{app_id}/payment/proofs/{proof['id']}/accept",
                        data={"csrf_token": token_of(page.text), "method": method}, follow_redirects=False)
    assert done.status_code == 303, done.text[:2000]
    assert world.store.get_application(app_id)["payment_proofs"][0]["status"] == "accepted"
    finish(world, nss, tmp_path, service, app_id)
