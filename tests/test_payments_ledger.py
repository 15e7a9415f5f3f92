"""The engine's payment events on a real store (issue #8 items 1, 8; A-P1, A-P5, A-P6, A-P8).

Free services and zero amounts skip payment cleanly: no notice, nothing to
pay, the ``paid`` guard holds.  An officer's adjusted amount needs a reason
and is kept with it; a free message goes on the notice.
"""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from eservice.clock import BANGKOK, FixedClock
from eservice.engine import EngineContext, EngineError
from eservice.payments import NOTICES, find_notice, open_amount, record_payment
from eservice.payments.notice import notice_issued
from eservice.policy import SYSTEM, Actor, Grant
from eservice.spec.loader import load_or_raise
from eservice.store import open_store
from eservice.workflow import Workflow
from test_engine import APPROVER, CITIZEN, FIXTURES, MORE_FIXTURES, Sent
from eservice.applications import Applications, declaration_of

NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=BANGKOK)


@pytest.fixture
def ctx(tmp_path):
    defs = tmp_path / "defs"
    shutil.copytree(FIXTURES, defs)
    minimal = defs / "test-agency" / "minimal.yaml"
    text = minimal.read_text(encoding="utf-8")
    minimal.write_text(text.replace('"shop_area > 200.0 ? 1000.0 : 500.0"', '"shop_area > 200.0 ? 1000.0 : 0.0"'),
                       encoding="utf-8")
    catalogue = load_or_raise([defs, MORE_FIXTURES])
    return EngineContext(catalogue=catalogue, store=open_store(tmp_path / "data"),
                         clock=FixedClock(NOW.astimezone(dt.timezone.utc)), notifier=Sent())


def submitted(ctx, area):
    apps = Applications(ctx)
    record = apps.start("minimal-permit", CITIZEN)
    record, errors = apps.save_page(record["id"], CITIZEN, "shop", {"shop_name": "ร้าน", "shop_area": area})
    assert errors == []
    service = ctx.catalogue.latest("minimal-permit")
    return apps.submit(record["id"], CITIZEN, declaration_shown=declaration_of(service), intent_confirmed=True)


def test_a_zero_amount_skips_payment(ctx):  # R: A-P1 (free services and zero amounts)
    record = Workflow(ctx).take(submitted(ctx, 10)["id"], "approve", APPROVER)
    assert record["fees"][0]["amount"] == "0.00" and record["fees"][0]["status"] == "paid"
    assert "payment_notice" not in record and open_amount(record) == 0
    assert list(ctx.store.collection(NOTICES).all()) == []
    ev, extra = Workflow(ctx).bindings(record, ctx.service_of(record))
    assert extra["paid"] is True


def test_a_fee_opens_a_notice_and_a_payment_is_recorded_once(ctx):  # R: A-P1, A-P5, A-P6
    record = Workflow(ctx).take(submitted(ctx, 250)["id"], "approve", APPROVER)
    notice = record["payment_notice"]
    assert notice["amount"] == "1000.00" and notice["status"] == "open" and notice["due_on"] == "2026-06-30"
    assert notice["ref1"] == record["reference"].replace("-", "") and notice["ref2"].startswith("2569")
    assert find_notice(ctx, notice["ref2"], notice["ref1"])["application"] == record["id"]
    assert find_notice(ctx, notice["ref2"])["application"] == record["id"]
    # this fixture issues its fee as it closes the application: a payment then cannot apply; it is kept, flagged
    paid = record_payment(ctx, ref1=notice["ref1"], ref2=notice["ref2"], amount="1000", method="cash",
                          actor=SYSTEM, provider="counter", provider_ref="A1")
    assert not paid.applied and paid.flag == "closed" and paid.payment["status"] == "flagged"
    again = record_payment(ctx, ref1=notice["ref1"], ref2=notice["ref2"], amount="1000", method="cash",
                           actor=SYSTEM, provider="counter", provider_ref="A1")
    assert again.duplicate and again.payment["id"] == paid.payment["id"]
    saved = ctx.store.get_application(record["id"])
    assert saved["fees"][0]["status"] == "unpaid" and "receipts" not in saved
    assert [e["type"] for e in saved["events"]].count("payment:flagged") == 1
    with pytest.raises(ValueError):
        record_payment(ctx, ref1="A", ref2="B", amount="1", method="bitcoin", actor=SYSTEM)


def test_adjusted_amount_needs_a_reason_and_is_kept(ctx):  # R: A-P1, A-P5
    officer = Actor(user_id="u-fin", grants=(Grant("test-agency", "finance_officer"),))
    record = submitted(ctx, 250)
    service = ctx.service_of(record)
    stamp = ctx.now_iso()
    record["fees"] = [{"id": "licence_fee", "title": {"th": "ค่า", "en": "Fee"}, "amount": "1000.00",
                       "issued_at": stamp, "due_on": "2026-06-30", "methods": ["cash"], "status": "unpaid"}]
    with pytest.raises(EngineError) as refused:
        notice_issued(ctx, record, service, officer, stamp, {"adjusted_amount": "600"}, [])
    assert refused.value.code == "adjustment_reason" and refused.value.th and refused.value.en
    notice = notice_issued(ctx, record, service, officer, stamp,
                           {"adjusted_amount": "600", "adjustment_reason": "ลดหย่อนตามเทศบัญญัติ ข้อ 5",
                            "notice_message": "ชำระที่กองคลัง ชั้น 1"}, [])
    assert notice["amount"] == "600.00" and notice["message"]["th"] == "ชำระที่กองคลัง ชั้น 1"
    fee = record["fees"][0]
    assert fee["adjustment"] == {"computed": "1000.00", "amount": "600.00", "reason": "ลดหย่อนตามเทศบัญญัติ ข้อ 5",
                                 "by": "u-fin", "at": stamp}
    assert [e["type"] for e in record["events"]][-2:] == ["payment:adjusted", "payment:notice"]
