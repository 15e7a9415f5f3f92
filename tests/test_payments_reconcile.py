"""Daily reconciliation (issue #8 item 6; A-P6): per working day and agency —
notices, payments by method, receipts, unmatched callbacks, refused proofs —
as a page for finance officers (Thai and English, Buddhist Era, axe-clean in
Chromium), as CSV and XLSX; and ``eservice payments reconcile --date
--bank-file`` matching a bank statement by reference 1 and 2.

Payments are recorded through the payments engine's own door
(:func:`eservice.payments.ledger.record_payment`), proofs through
:mod:`eservice.payments.proofs`, on applications billed through the real
officer pages.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from test_payments_overdue import FEE_SERVICE, _bill, _world, with_fee_service  # noqa: F401 (fixture)
from test_web_officer import World

from eservice.clock import BANGKOK
from eservice.payments.ledger import record_payment
from eservice.payments.reconcile import (ReconcileError, daily_report, match_bank, read_bank_file,
                                         report_window)
from eservice.policy import SYSTEM

MONDAY = dt.date(2023, 1, 23)


def _at(day: int, hour: int, month: int = 1) -> str:
    return dt.datetime(2023, month, day, hour, 0, tzinfo=BANGKOK).isoformat()


class Day:
    """Three applications billed on Monday 23 Jan 2023 and what happened to them."""

    def __init__(self, world: World):
        self.world = world
        world.officer("finance", ("test-agency", "finance_officer"))
        self.a, self.b, self.c = (_bill(world, name=f"ร้าน {x}") for x in "ABC")
        notice = lambda r: r["payment_notice"]  # noqa: E731
        self.na, self.nb, self.nc = notice(self.a), notice(self.b), notice(self.c)
        engine = world.engine
        # A: the bank's bill-payment callback, then the same callback again (one payment)
        self.pa = record_payment(engine, ref1=self.na["ref1"], ref2=self.na["ref2"], amount=self.na["amount"],
                                 method="bill_payment", actor=SYSTEM, provider="bank_bill_payment",
                                 provider_ref="TX1", paid_at=_at(23, 11), move_on=False)
        again = record_payment(engine, ref1=self.na["ref1"], ref2=self.na["ref2"], amount=self.na["amount"],
                               method="bill_payment", actor=SYSTEM, provider="bank_bill_payment",
                               provider_ref="TX1", paid_at=_at(23, 11), move_on=False)
        assert self.pa.applied and again.duplicate
        # B: cash at the counter
        self.pb = record_payment(engine, ref1=self.nb["ref1"], ref2=self.nb["ref2"], amount=self.nb["amount"],
                                 method="cash", actor=SYSTEM, receipt_ref="เล่ม 3 เลขที่ 12", paid_at=_at(23, 12),
                                 move_on=False)
        assert self.pb.applied
        # C: a callback with the wrong amount; and one for a notice nobody issued
        self.pc = record_payment(engine, ref1=self.nc["ref1"], ref2=self.nc["ref2"], amount="1.00",
                                 method="bill_payment", actor=SYSTEM, provider="bank_bill_payment",
                                 provider_ref="TX3", paid_at=_at(23, 13), move_on=False)
        self.px = record_payment(engine, ref1="NOBODY", ref2="9999999999", amount="5.00", method="promptpay",
                                 actor=SYSTEM, provider="bank_bill_payment", provider_ref="TX4",
                                 paid_at=_at(23, 14), move_on=False)
        assert self.pc.flag == "wrong_amount" and self.px.flag == "unknown_notice"
        # C's applicant uploads a slip; finance refuses it (eservice.payments.proofs)
        from eservice.payments.proofs import refuse_proof, submit_proof
        from eservice.policy import Actor, Grant

        world.at(dt.datetime(2023, 1, 23, 15, 0, tzinfo=BANGKOK))
        sha = engine.files.put(b"%PDF-1.4 slip")
        applicant = Actor(user_id=world.citizen["id"], name="สมชาย ใจดี")
        saved = submit_proof(engine, self.c["id"], applicant, {"sha256": sha, "filename": "slip.pdf",
                                                               "media_type": "application/pdf", "size": 13})
        self.proof = saved["payment_proofs"][-1]["id"]
        finance = Actor(user_id=world.users["finance"]["id"], grants=(Grant("test-agency", "finance_officer"),))
        refuse_proof(engine, self.c["id"], self.proof, finance, "สลิปไม่ชัด")

    def report(self, day: dt.date = MONDAY):
        return daily_report(self.world.store, self.world.engine.calendar("test-agency"), "test-agency", day)


@pytest.fixture
def day(tmp_path, with_fee_service) -> Day:  # noqa: F811
    return Day(_world(tmp_path))


# --------------------------------------------------------------------------- the report
def test_the_daily_report_counts_each_thing_once(day):  # R: A-P6, PR-12
    report = day.report()
    assert [n["number"] for n in report.notices] == [day.na["number"], day.nb["number"], day.nc["number"]]
    assert {n["number"]: n["status"] for n in report.notices} == {
        day.na["number"]: "paid", day.nb["number"]: "paid", day.nc["number"]: "open"}
    assert report.total_noticed == 3000
    # applied payments by method: the duplicate callback is one payment
    assert report.by_method == [{"method": "bill_payment", "count": 1, "total": "1000.00"},
                                {"method": "cash", "count": 1, "total": "1000.00"}]
    assert report.total_paid == 2000
    receipts = report.receipts
    assert [r["payment"] for r in receipts] == [day.pa.payment["id"], day.pb.payment["id"]]
    assert all(r["used"] for r in receipts)
    assert [int(r["number"].split("/")[1]) for r in receipts] == [1, 2]  # gapless
    unmatched = {p["id"]: p for p in report.unmatched}
    assert set(unmatched) == {"bank_bill_payment:TX3", "bank_bill_payment:TX4"}
    assert unmatched["bank_bill_payment:TX4"]["no_agency"] and not unmatched["bank_bill_payment:TX3"]["no_agency"]
    assert [(p["id"], p["application"], p["reason"], p["amount"]) for p in report.refused_proofs] == [
        (day.proof, day.c["id"], "สลิปไม่ชัด", "1000.00")]
    # the next working day has none of it
    empty = day.report(dt.date(2023, 1, 24))
    assert (empty.notices, empty.payments, empty.receipts, empty.unmatched) == ([], [], [], [])


def test_a_working_day_covers_the_days_off_before_it(tmp_path):  # R: A-P6
    calendar = World(tmp_path).engine.calendar("test-agency")
    assert report_window(calendar, dt.date(2023, 1, 30)) == (dt.date(2023, 1, 28), dt.date(2023, 1, 30))
    assert report_window(calendar, dt.date(2023, 1, 24)) == (dt.date(2023, 1, 24), dt.date(2023, 1, 24))
    # after Songkran (13-14 April 2023 and the substitute day 17 April) and the weekend
    assert report_window(calendar, dt.date(2023, 4, 18)) == (dt.date(2023, 4, 13), dt.date(2023, 4, 18))
    with pytest.raises(ReconcileError) as refused:
        report_window(calendar, dt.date(2023, 1, 28))
    assert "2023-01-30" in refused.value.th and "not a working day" in refused.value.en


def test_a_weekend_payment_is_in_mondays_report(day):  # R: A-P6
    world = day.world
    record_payment(world.engine, ref1=day.nc["ref1"], ref2=day.nc["ref2"], amount=day.nc["amount"],
                   method="promptpay", actor=SYSTEM, provider="bank_bill_payment", provider_ref="TX5",
                   paid_at=_at(28, 10), move_on=False)  # Saturday
    friday, monday = day.report(dt.date(2023, 1, 27)), day.report(dt.date(2023, 1, 30))
    assert friday.payments == []
    assert [p["id"] for p in monday.payments] == ["bank_bill_payment:TX5"]


# --------------------------------------------------------------------------- exports
def test_csv_and_xlsx_hold_the_same_sections(day):  # R: A-P6
    from eservice.payments.reconcile import report_csv, report_xlsx

    report = day.report()
    data = report_csv(report)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    sections = [r[0] for r in rows if r and r[0].startswith("# ")]
    assert sections == ["# summary", "# by_method", "# notices", "# payments", "# receipts", "# unmatched",
                        "# refused_proofs"]
    summary = dict(zip(rows[1], rows[2]))
    assert summary["notices"] == "3" and summary["paid_total"] == "2000.00" and summary["unmatched_callbacks"] == "2"
    book = load_workbook(io.BytesIO(report_xlsx(report)))
    assert book.sheetnames == [s[2:] for s in sections]
    methods = [[c.value for c in row] for row in book["by_method"].iter_rows()]
    assert methods == [["method", "count", "total"], ["bill_payment", 1, "1000.00"], ["cash", 1, "1000.00"]]


# --------------------------------------------------------------------------- the page
def test_finance_sees_the_page_in_thai_and_english_with_buddhist_era_dates(day):  # R: A-P6, A-X1
    from test_web_officer import World as _W  # noqa: F401

    finance = day.world.client("finance")
    page = finance.get("/officer/payments/reconciliation?agency=test-agency&date=2023-01-23")
    assert page.status_code == 200
    html = page.text
    assert "กระทบยอดรับชำระรายวัน" in html and "23 มกราคม พ.ศ. 2566" in html
    assert day.na["number"] in html and "ยอดเงินไม่ตรง" in html and "ไม่ทราบหน่วยงาน" in html
    assert "2,000.00 บาท" in html and "สลิปไม่ชัด" in html
    english = finance.get("/officer/payments/reconciliation?agency=test-agency&date=2023-01-23&lang=en").text
    assert "Daily reconciliation" in english and "23 January 2023" in english and "Wrong amount" in english
    # a Saturday: the report that holds it (Monday 30 Jan), said so
    weekend = finance.get("/officer/payments/reconciliation?agency=test-agency&date=2023-01-28&lang=th")
    assert weekend.status_code == 200 and "2023-01-30" in weekend.text
    bad = finance.get("/officer/payments/reconciliation?agency=test-agency&date=soon")
    assert bad.status_code == 400 and "วันที่ไม่ถูกต้อง" in bad.text
    xlsx = finance.get("/officer/payments/reconciliation.xlsx?agency=test-agency&date=2023-01-23")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert "attachment" in xlsx.headers["content-disposition"]
    got = finance.get("/officer/payments/reconciliation.csv?agency=test-agency&date=2023-01-23")
    assert got.status_code == 200 and "bank_bill_payment:TX3" in got.content.decode("utf-8-sig")
    from eservice.audit import AuditLog

    trail = AuditLog(day.world.settings.data)
    views = trail.search(target="reconciliation:test-agency", action="view_reconciliation")
    exports = trail.search(target="reconciliation:test-agency", action="export_reconciliation")
    assert len(views) == 4 and views[0]["actor"] == day.world.users["finance"]["id"]
    assert sorted(e["details"]["format"] for e in exports) == ["csv", "xlsx"]


def test_only_finance_and_the_head_may_see_it(day):  # R: A-X1, CH-4
    day.world.officer("reviewer9", ("test-agency", "reviewer"))
    day.world.officer("head9", ("test-agency", "head_of_agency"))
    assert day.world.client("reviewer9").get("/officer/payments/reconciliation").status_code == 403
    assert day.world.client("head9").get("/officer/payments/reconciliation").status_code == 200
    assert day.world.client("finance").get(
        "/officer/payments/reconciliation?agency=other-agency").status_code == 404
    anonymous = day.world.client().get("/officer/payments/reconciliation", follow_redirects=False)
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["location"]


# --------------------------------------------------------------------------- the bank file
def _bank(tmp_path: Path, text: str, name: str = "bank.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bank_file_matched_by_references_lists_the_differences(day, tmp_path):  # R: A-P6
    a, c = day.na, day.nc
    path = _bank(tmp_path, "\n".join([
        "date,time,ref1,ref2,amount,bank_ref",
        f"2023-01-23,11:00,{a['ref1']},{a['ref2']},1000.00,TX1",
        f"2023-01-23,11:05,{a['ref1']},{a['ref2']},1000.00,TX1",  # the same transaction twice
        f"2023-01-23,13:00,{c['ref1']},{c['ref2']},\"1,000.00\",TX3",  # we recorded 1.00
        "2023-01-23,16:00,SOMEONE,1234,50.00,TX9",  # money we know nothing of
        ""]))
    lines = read_bank_file(path)
    assert [line.line for line in lines] == [2, 3, 4, 5]
    report = day.report()
    found = match_bank(lines, report.payments + report.unmatched)
    kinds = sorted((d.kind, d.ref2, d.line) for d in found)
    assert kinds == sorted([
        ("twice_in_bank", a["ref2"], 3),
        ("amount", c["ref2"], 4),
        ("not_recorded", "1234", 5),
        ("not_in_bank", "9999999999", None),  # the unknown-notice callback never reached the bank
    ])
    amount = next(d for d in found if d.kind == "amount")
    assert (amount.bank_amount, amount.recorded_amount) == ("1000.00", "1.00")
    # the cash payment is not expected on the bank statement
    assert all(d.ref2 != day.nb["ref2"] for d in found)


@pytest.mark.parametrize("text, th, en", [
    ("ref1,ref2\nA,B\n", "บรรทัดที่ 1", "line 1: missing column(s) amount"),
    ("ref1,ref2,amount\nA,B,12.5.0\n", "บรรทัดที่ 2", "line 2: amount “12.5.0” is not valid"),
    ("ref1,ref2,amount\nA,B,-3.00\n", "บรรทัดที่ 2", "line 2: amount “-3.00”"),
    ("ref1,ref2,amount\nA,B,1.001\n", "บรรทัดที่ 2", "line 2: amount “1.001”"),
    ("ref1,ref2,amount,date\nA,B,1.00,23/01/2566\n", "บรรทัดที่ 2", "must be YYYY-MM-DD"),
    ("ref1,ref2,amount\nA,B\n", "บรรทัดที่ 2", "line 2: 2 fields, the header has 3"),
    ("ref1,ref2,amount\n,B,1.00\n", "บรรทัดที่ 2", "line 2: ref1 or ref2 is empty"),
    ("", "ไฟล์ว่าง", "the file is empty"),
])
def test_bad_bank_files_are_refused_with_the_line(tmp_path, text, th, en):  # R: A-P6
    with pytest.raises(ReconcileError) as refused:
        read_bank_file(_bank(tmp_path, text))
    assert th in refused.value.th and en in refused.value.en


def test_a_bank_file_that_is_not_utf8_or_missing(tmp_path):  # R: A-P6
    path = tmp_path / "tis620.csv"
    path.write_bytes("ref1,ref2,amount\nร้าน,1,1.00\n".encode("cp874"))
    with pytest.raises(ReconcileError) as refused:
        read_bank_file(path)
    assert "UTF-8" in refused.value.en and "UTF-8" in refused.value.th
    with pytest.raises(ReconcileError) as missing:
        read_bank_file(tmp_path / "nothing.csv")
    assert "no such file" in missing.value.en


def _cli(day: Day, *args: str) -> subprocess.CompletedProcess:
    settings = day.world.settings
    return subprocess.run([sys.executable, "-m", "eservice.cli", "payments", "reconcile", "--data",
                           str(settings.data), "--definitions", *map(str, settings.definitions), *args],
                          capture_output=True, text=True, timeout=120)


def test_the_command_prints_the_day_and_the_differences(day, tmp_path):  # R: A-P6
    a = day.na
    good = _bank(tmp_path, f"ref1,ref2,amount,bank_ref\n{a['ref1']},{a['ref2']},1000.00,TX1\n"
                           f"{day.nc['ref1']},{day.nc['ref2']},1.00,TX3\nNOBODY,9999999999,5.00,TX4\n", "good.csv")
    ok = _cli(day, "--date", "2023-01-23", "--bank-file", str(good), "--agency", "test-agency")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ใบแจ้งชำระ / notices: 3" in ok.stdout and "0 difference(s)" in ok.stdout
    assert "23 มกราคม พ.ศ. 2566" in ok.stdout
    short = _bank(tmp_path, f"ref1,ref2,amount\n{a['ref1']},{a['ref2']},1000.00\n", "short.csv")
    differ = _cli(day, "--date", "2023-01-23", "--bank-file", str(short), "--json", "--agency", "test-agency")
    assert differ.returncode == 1, differ.stderr
    parsed = json.loads(differ.stdout)
    assert sorted(d["kind"] for d in parsed["differences"]) == ["not_in_bank", "not_in_bank"]
    assert parsed["agencies"][0]["by_method"][0] == {"method": "bill_payment", "count": 1, "total": "1000.00"}
    bad = _cli(day, "--date", "2023-01-23", "--bank-file", str(_bank(tmp_path, "ref1\n", "bad.csv")))
    assert bad.returncode == 2 and "line 1: missing column(s) ref2, amount" in bad.stderr
    assert "บรรทัดที่ 1" in bad.stderr
    weekend = _cli(day, "--date", "2023-01-28", "--agency", "test-agency")
    assert weekend.returncode == 2 and "2023-01-30" in weekend.stderr
    wrong = _cli(day, "--date", "28/01/2566")
    assert wrong.returncode == 2 and "YYYY-MM-DD" in wrong.stderr
