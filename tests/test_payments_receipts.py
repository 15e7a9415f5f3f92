"""Receipt numbers: per agency, per Thai fiscal year, gapless and unique with
two processes paying at once (issue #8 item 5; PR-12, A-P6, RC-1).

1,000 applications, each with an open notice, are paid by two separate
processes at the same time (500 each) through
:func:`eservice.payments.record_payment` on one store.  The receipt numbers
must be exactly 1…1,000, each once, and the store's number log must say which
payment drew each.  (No PDFs here: this installation has no signing keys, so
only the numbers are drawn; the journeys sign real receipts.)
"""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap

from eservice.payments import PAYMENTS, fiscal_year_be, payment_reference
from eservice.payments.ledger import NOTICES, notice_key
from eservice.payments.words import baht_text
from eservice.store import open_store

N = 1000
AGENCY = "nonthaburi-city"

WORKER = textwrap.dedent("""
    import sys, types
    from eservice.engine import EngineContext
    from eservice.payments import record_payment
    from eservice.policy import SYSTEM
    from eservice.store import open_store
    data, start, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ctx = EngineContext(catalogue=types.SimpleNamespace(agencies={}), store=open_store(data))
    for i in range(start, stop):
        rec = ctx.store.get_application(f"app-{i:06x}")
        n = rec["payment_notice"]
        out = record_payment(ctx, ref1=n["ref1"], ref2=n["ref2"], amount=n["amount"], method="bill_payment",
                             actor=SYSTEM, provider="bank", provider_ref=f"TX{i}", move_on=False)
        assert out.applied, out.flag
    print("done", flush=True)
""")


def seed(data) -> None:
    store = open_store(data)
    today = dt.date.today()
    fy = fiscal_year_be(today)
    for i in range(N):
        record = {"id": f"app-{i:06x}", "reference": f"R{i:011d}", "agency": AGENCY, "service": "s",
                  "service_version": 1, "state": "awaiting_payment", "closed": False, "applicant": "u", "events": [],
                  "fees": [{"id": "fee", "amount": "50.00", "status": "unpaid", "due_on": "2999-01-01"}]}
        ref1 = payment_reference(record)
        record["payment_notice"] = {"number": f"{fy}-{i + 1:06d}", "ref1": ref1, "ref2": f"{fy}{i + 1:06d}",
                                    "amount": "50.00", "fees": [], "due_on": "2999-01-01", "status": "open",
                                    "payment": None}
        store.create_application(record)
        store.collection(NOTICES).put(notice_key(ref1, record["payment_notice"]["ref2"]),
                                      {"application": record["id"], "agency": AGENCY, "ref1": ref1,
                                       "ref2": record["payment_notice"]["ref2"], "status": "open"})


def test_two_processes_draw_1000_gapless_unique_receipt_numbers(tmp_path):  # R: PR-12, A-P6, RC-1
    data = tmp_path / "data"
    seed(data)
    half = N // 2
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(data), str(a), str(b)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for a, b in ((0, half), (half, N))]
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0 and "done" in out, err[-3000:]
    store = open_store(data)
    payments = [p for p in store.collection(PAYMENTS).all()]
    assert len(payments) == N and all(p["status"] == "applied" for p in payments)
    seqs = sorted(p["receipt"]["seq"] for p in payments)
    assert seqs == list(range(1, N + 1))  # no gap, no duplicate
    fy = payments[0]["receipt"]["fiscal_year_be"]
    assert {p["receipt"]["number"] for p in payments} == {f"{fy}/{i:06d}" for i in range(1, N + 1)}
    log = store.number_log(f"receipt:{AGENCY}:{fy}")
    assert [e["value"] for e in log] == list(range(1, N + 1))
    assert {e["payment"] for e in log} == {p["id"] for p in payments}  # each number explained


def test_thai_fiscal_year_and_amount_in_words():  # R: PR-12, A-P1
    assert fiscal_year_be(dt.date(2026, 9, 30)) == 2569
    assert fiscal_year_be(dt.date(2026, 10, 1)) == 2570
    assert baht_text("1500") == "หนึ่งพันห้าร้อยบาทถ้วน"
    assert baht_text("21.50") == "ยี่สิบเอ็ดบาทห้าสิบสตางค์"
    assert baht_text("101") == "หนึ่งร้อยเอ็ดบาทถ้วน"
    assert baht_text("0.25") == "ยี่สิบห้าสตางค์"
    assert baht_text("11000000") == "สิบเอ็ดล้านบาทถ้วน"
    assert baht_text("1000001") == "หนึ่งล้านเอ็ดบาทถ้วน"
