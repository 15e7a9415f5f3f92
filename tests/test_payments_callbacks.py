"""Callbacks that must not pay, payments at the office, refused proofs, free
services (issue #8 items 3, 4, 8; A-P3, A-P4, A-P6, PR-12).

The bank simulator (a separate process) sends forged, stale, replayed,
duplicate, wrong-amount and late callbacks, and callbacks for applications
already paid or disposed: each is refused (nothing recorded) or recorded and
flagged for finance (never applied, never lost), and no receipt is issued
twice.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest

from eservice.payments import PAYMENTS, fee_overdue, qr
from eservice.runtime import engine_of
from test_outputs_journey import token_of
from test_payments_journey import TOOLS, expected_payload, to_notice, world  # noqa: F401  (world: fixture)
from test_web_apply import pdf_bytes
from tsa_server import tsa_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(not TOOLS, reason="needs poppler-utils, libnss3-tools, zbar-tools (scripts/test.sh)")
SERVICE = "commercial-registration"
AGENCY = "chatuchak-district"


def payments_of(world, app_id: str) -> list[dict]:
    return world.store.collection(PAYMENTS).find(application=app_id)


def receipts_of(world, app_id: str) -> list[dict]:
    return [x for x in world.store.get_application(app_id).get("letters") or [] if x["id"] == "payment_receipt"]


def fresh(world) -> tuple[str, dict, str]:
    app_id, record = to_notice(world, SERVICE)
    return app_id, record["payment_notice"], expected_payload(SERVICE, record["payment_notice"])


def now(world) -> float:
    return world.clock.now().timestamp()


def finance_page(world) -> str:
    return world.web(f"finance_officer.{AGENCY}").get(f"/officer/{AGENCY}/payments").text


def test_forged_and_stale_callbacks_are_refused_and_record_nothing(world):  # R: A-P3, A-P6
    app_id, notice, payload = fresh(world)
    forged = world.bank.pay(payload, mode="forged", timestamp=now(world))["sent"]
    assert [s["status"] for s in forged] == [401] and forged[0]["body"]["error"] == "forged"
    assert forged[0]["body"]["th"] and forged[0]["body"]["en"]
    stale = world.bank.pay(payload, timestamp=now(world) - 3600)["sent"]
    assert [s["status"] for s in stale] == [401] and stale[0]["body"]["error"] == "stale"
    assert payments_of(world, app_id) == [] and world.state(app_id) == "awaiting_payment"


def test_a_replayed_request_is_refused_and_a_retried_transaction_counts_once(world):  # R: A-P3, A-P6, PR-12
    app_id, notice, payload = fresh(world)
    replay = world.bank.pay(payload, mode="replay", timestamp=now(world))["sent"]
    assert [s["status"] for s in replay] == [200, 409]
    assert replay[0]["body"]["status"] == "applied" and replay[1]["body"]["error"] == "replay"
    app2, notice2, payload2 = fresh(world)
    retried = world.bank.pay(payload2, mode="duplicate", timestamp=now(world))["sent"]
    assert [s["status"] for s in retried] == [200, 200]
    assert [s["body"]["status"] for s in retried] == ["applied", "duplicate"]
    assert retried[0]["body"]["receipt"] == retried[1]["body"]["receipt"]
    for one in (app_id, app2):
        assert len(payments_of(world, one)) == 1 and len(receipts_of(world, one)) == 1
        record = world.store.get_application(one)
        assert [e["type"] for e in record["events"]].count("payment") == 1
        assert record["state"] == "awaiting_signature"


def test_wrong_amount_is_flagged_then_the_right_payment_applies(world):  # R: A-P3, A-P6
    app_id, notice, payload = fresh(world)
    [sent] = world.bank.pay(payload, mode="wrong_amount", timestamp=now(world))["sent"]
    assert sent["status"] == 200 and sent["body"] == {**sent["body"], "status": "flagged", "flag": "wrong_amount"}
    assert world.state(app_id) == "awaiting_payment" and receipts_of(world, app_id) == []
    [flagged] = payments_of(world, app_id)
    assert flagged["amount"] == "49.00" and flagged["status"] == "flagged"
    assert "49.00" in finance_page(world) and notice["ref1"] in finance_page(world)
    [sent] = world.bank.pay(payload, timestamp=now(world))["sent"]
    assert sent["body"]["status"] == "applied" and world.state(app_id) == "awaiting_signature"
    assert len(payments_of(world, app_id)) == 2 and len(receipts_of(world, app_id)) == 1
    # finance notes how the 49 baht was settled outside the platform; it leaves the list, still flagged
    finance = world.web(f"finance_officer.{AGENCY}")
    page = finance.get(f"/officer/{AGENCY}/payments")
    action = f"/officer/{AGENCY}/payments/{flagged['id']}/settle"
    assert action in page.text
    assert finance.post(action, data={"csrf_token": token_of(page.text), "note": ""},
                        follow_redirects=False).status_code == 303
    assert not world.store.collection(PAYMENTS).get(flagged["id"]).get("resolved")  # a note is needed
    finance.post(action, data={"csrf_token": token_of(page.text), "note": "คืนเงิน 49 บาท ใบสำคัญ 12/2569"})
    settled = world.store.collection(PAYMENTS).get(flagged["id"])
    assert settled["resolved"]["note"] == "คืนเงิน 49 บาท ใบสำคัญ 12/2569" and settled["status"] == "flagged"
    assert action not in finance.get(f"/officer/{AGENCY}/payments").text


def test_a_late_payment_is_flagged_not_applied(world):  # R: A-P6, A-P8
    app_id, notice, payload = fresh(world)
    before = world.clock.now()
    try:
        world.clock.set(before + dt.timedelta(days=10))  # the notice was due in 7 days
        [sent] = world.bank.pay(payload, timestamp=now(world))["sent"]
    finally:
        world.clock.set(before)
    assert sent["body"]["status"] == "flagged" and sent["body"]["flag"] == "late"
    assert world.state(app_id) == "awaiting_payment" and receipts_of(world, app_id) == []


def test_paid_twice_or_after_disposal_is_kept_and_flagged(world):  # R: A-P6, A-R6
    app_id, notice, payload = fresh(world)
    assert world.bank.pay(payload, timestamp=now(world))["sent"][0]["body"]["status"] == "applied"
    [again] = world.bank.pay(payload, timestamp=now(world))["sent"]  # another transaction, same notice
    assert again["body"]["status"] == "flagged" and again["body"]["flag"] == "already_paid"
    assert len(receipts_of(world, app_id)) == 1 and len(payments_of(world, app_id)) == 2
    gone, notice2, payload2 = fresh(world)
    before = world.clock.now()
    try:  # "fee overdue": past the due date the fee's on_overdue transition runs as `system`
        world.clock.set(before + dt.timedelta(days=6))
        assert fee_overdue(engine_of(world.app.state.ctx), gone) is None  # not due yet
        world.clock.set(before + dt.timedelta(days=8))
        assert fee_overdue(engine_of(world.app.state.ctx), gone)["state"] == "disposed"
    finally:
        world.clock.set(before)
    assert world.state(gone) == "disposed"
    assert world.store.get_application(gone)["payment_notice"]["status"] == "overdue"
    [late] = world.bank.pay(payload2, timestamp=now(world))["sent"]
    assert late["body"]["status"] == "flagged" and late["body"]["flag"] == "closed"
    assert world.state(gone) == "disposed" and receipts_of(world, gone) == []
    history = [e["type"] for e in world.store.get_application(gone)["events"]]
    assert "payment:flagged" in history
    page = finance_page(world)
    assert notice2["ref2"] in page and notice["ref2"] in page
    unknown = qr.promptpay("0994000165510", "NOSUCHREF", "2569999999", "50")
    [lost] = world.bank.pay(unknown, timestamp=now(world))["sent"]
    assert lost["body"]["flag"] == "unknown_notice" and "NOSUCHREF" in finance_page(world)


def test_webhook_needs_its_secret_and_a_known_provider(world):  # R: A-P3
    api = world.api()
    assert api.post("/payments/webhook/nobody", content=b"{}").status_code == 404
    r = api.post("/payments/webhook/bank_bill_payment", content=b"{}")
    assert r.status_code == 401 and r.json()["error"] == "unsigned"


# --------------------------------------------------------------------------- at the office
def test_counter_payment_by_the_finance_officer(world):  # R: A-P4, A-P6, PR-12
    app_id, notice, _ = fresh(world)
    finance = world.web(f"finance_officer.{AGENCY}")
    page = finance.get(f"/officer/applications/{app_id}")
    assert "counter-ref" in page.text
    wrong = finance.post(f"/officer/applications/{app_id}/payment/counter",
                         data={"csrf_token": token_of(page.text), "method": "promptpay", "receipt_ref": "B12/345",
                               "amount": "40"})
    assert wrong.status_code == 422 and "50.00" in wrong.text and payments_of(world, app_id) == []
    done = finance.post(f"/officer/applications/{app_id}/payment/counter",
                        data={"csrf_token": token_of(page.text), "method": "promptpay", "receipt_ref": "B12/345",
                              "amount": "50.00"}, follow_redirects=False)
    assert done.status_code == 303
    [payment] = payments_of(world, app_id)
    assert payment["receipt_ref"] == "B12/345" and payment["recorded_by"] != "system"
    assert world.state(app_id) == "awaiting_signature" and len(receipts_of(world, app_id)) == 1
    clerk = world.web(f"registry_clerk.{AGENCY}")  # not a finance officer: verify_payment refused
    app2, _, _ = fresh(world)
    page = clerk.get(f"/officer/applications/{app2}")
    assert "counter-ref" not in page.text
    refused = clerk.post(f"/officer/applications/{app2}/payment/counter",
                         data={"csrf_token": token_of(page.text), "method": "promptpay", "receipt_ref": "X",
                               "amount": "50"})
    assert refused.status_code == 403 and payments_of(world, app2) == []


def test_a_refused_proof_goes_back_to_the_applicant(world):  # R: A-P4
    app_id, notice, _ = fresh(world)
    client = world.web("somchai")
    status = client.get(f"/applications/{app_id}/status")
    client.post(f"/applications/{app_id}/payment/proof", data={"csrf_token": token_of(status.text)},
                files={"file": ("slip.pdf", pdf_bytes("slip"), "application/pdf")})
    [proof] = world.store.get_application(app_id)["payment_proofs"]
    finance = world.web(f"finance_officer.{AGENCY}")
    page = finance.get(f"/officer/applications/{app_id}")
    empty = finance.post(f"/officer/applications/{app_id}/payment/proofs/{proof['id']}/refuse",
                         data={"csrf_token": token_of(page.text), "reason": ""})
    assert empty.status_code == 422
    done = finance.post(f"/officer/applications/{app_id}/payment/proofs/{proof['id']}/refuse",
                        data={"csrf_token": token_of(page.text), "reason": "ยอดเงินในสลิปไม่ครบ"},
                        follow_redirects=False)
    assert done.status_code == 303
    status = client.get(f"/applications/{app_id}/status").text
    assert "ยอดเงินในสลิปไม่ครบ" in status and 'id="payment-proof"' in status  # may upload again
    assert any("ยอดเงินในสลิปไม่ครบ" in m.message.get_body().get_content() for m in list(world.smtp.messages)
               if "Proof of payment" in m.message["Subject"])
    assert world.state(app_id) == "awaiting_payment" and payments_of(world, app_id) == []
    events = [e["type"] for e in world.store.get_application(app_id)["events"]]
    assert "payment:proof" in events and "payment:proof_refused" in events


def test_a_receipt_that_cannot_be_signed_at_once_is_signed_by_the_worker(world):  # R: PR-12, IS-2
    from eservice.worker import run_once

    app_id, notice, payload = fresh(world)
    world.tsa.failing = True  # the time-stamp service is down when the bank reports the payment
    try:
        [sent] = world.bank.pay(payload, timestamp=now(world))["sent"]
    finally:
        world.tsa.failing = False
    assert sent["body"]["status"] == "applied" and sent["body"]["receipt"]  # the number is taken
    [payment] = payments_of(world, app_id)
    assert receipts_of(world, app_id) == [] and not payment["receipt"].get("document_id")
    assert world.state(app_id) == "awaiting_signature"  # the payment still moved it on
    run_once(world.app.state.ctx)
    [receipt] = receipts_of(world, app_id)
    assert receipt["number"] == payment["receipt"]["number"]
    assert payments_of(world, app_id)[0]["receipt"]["document_id"] == receipt["document_id"]


def test_an_interrupted_payment_is_shown_to_finance(world):  # R: A-P6 (never lost)
    app_id, notice, _ = fresh(world)
    long_ago = (world.clock.now() - dt.timedelta(hours=1)).isoformat()
    world.store.collection(PAYMENTS).put("bank_bill_payment:TX-INTERRUPTED", {  # as a process that died leaves it
        "id": "bank_bill_payment:TX-INTERRUPTED", "application": app_id, "agency": AGENCY, "ref1": notice["ref1"],
        "ref2": notice["ref2"], "amount": "50.00", "method": "promptpay", "provider": "bank_bill_payment",
        "provider_ref": "TX-INTERRUPTED", "paid_at": long_ago, "recorded_at": long_ago, "recorded_by": "system",
        "status": "received", "flag": None, "resolved": None, "receipt": None})
    page = world.web(f"finance_officer.{AGENCY}").get(f"/officer/{AGENCY}/payments", params={"lang": "en"}).text
    assert "TX-INTERRUPTED" in page and "the system stopped before" in page
