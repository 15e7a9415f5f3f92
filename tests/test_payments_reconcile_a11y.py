"""The daily reconciliation page in a real Chromium against the real server
(``eservice serve``): axe-core finds no violation, in Thai and in English
(issue #8 item 6; A-P6, NF-1).

The data folder is seeded before the server starts with a finance officer and
one day of payment records in the shapes of :mod:`eservice.payments.ledger`
(notices and receipts drawn from the store's logged sequences, as the ledger
draws them), so the notices, payments, receipts and unmatched tables have rows.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

pytest.register_assert_rewrite("browser")
pytest_plugins = ("browser",)

from browser import AGENCY, DEFINITIONS, PASSWORD, expect, seed_user, sign_in  # noqa: E402

axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright",
                               reason="axe-playwright-python is a test dependency (pip install -e '.[test]')")

FINANCE = "finance@nakornnont.example.go.th"


def _seed(data: Path) -> None:
    from eservice.payments.ledger import fiscal_year_be
    from eservice.store import open_store

    seed_user(data, FINANCE, PASSWORD, {"first_name": "มาลี", "last_name": "การเงิน"},
              roles=[(AGENCY, "finance_officer")])
    store = open_store(Path(data) / "store")
    try:
        now = dt.datetime.now(dt.timezone.utc)
        fy = fiscal_year_be(now.astimezone(dt.timezone(dt.timedelta(hours=7))).date())
        for i, (method, status, flag) in enumerate([("bill_payment", "applied", None), ("cash", "applied", None),
                                                    ("bill_payment", "flagged", "wrong_amount")], start=1):
            seq = store.next_number(f"notice:{AGENCY}:{fy}", {"application": f"app-{i}"})
            ref2 = f"{fy}{seq:06d}"
            store.collection("notices").put(ref2, {
                "application": f"app-{i}", "agency": AGENCY, "ref1": f"REF{i}", "ref2": ref2,
                "amount": "1500.00", "due_on": (now + dt.timedelta(days=15)).date().isoformat(),
                "number": f"{fy}-{seq:06d}", "status": "paid" if status == "applied" else "open"})
            payment = {"id": f"bank:TX{i}", "application": f"app-{i}", "agency": AGENCY, "ref1": f"REF{i}",
                       "ref2": ref2, "amount": "1500.00" if status == "applied" else "15.00", "method": method,
                       "provider": "bank" if method == "bill_payment" else None, "paid_at": now.isoformat(),
                       "recorded_at": now.isoformat(), "status": status, "flag": flag, "receipt": None}
            if status == "applied":
                r = store.next_number(f"receipt:{AGENCY}:{fy}", {"payment": payment["id"],
                                                                  "application": f"app-{i}"})
                payment["receipt"] = {"number": f"{fy}/{r:06d}", "seq": r, "fiscal_year_be": fy}
            store.collection("payments").put(payment["id"], payment)
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            close()


def _report_day() -> dt.date:
    """The working day whose report holds today (agency calendar)."""
    from eservice.calendar import from_agency
    from eservice.spec.loader import load_or_raise

    calendar = from_agency(load_or_raise([DEFINITIONS]).agencies[AGENCY])
    today = dt.datetime.now(calendar.tz).date()
    return today if calendar.is_working_day(today) else calendar.next_working_day(today)


def test_reconciliation_page_is_axe_clean_in_thai_and_english(server_factory, page):  # R: A-P6, NF-1
    server = server_factory(seed=_seed)
    sign_in(page, server, FINANCE)
    day = _report_day()
    for lang, heading in (("th", "กระทบยอดรับชำระรายวัน"), ("en", "Daily reconciliation")):
        page.goto(server.url(f"/officer/payments/reconciliation?agency={AGENCY}&date={day.isoformat()}&lang={lang}"))
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.get_by_role("cell", name="bank:TX3")).to_be_visible()  # the tables have rows
        results = axe_sync.Axe().run(page)
        assert results.violations_count == 0, results.generate_report()
    # the checker itself is live: a page with an unlabelled field fails it
    page.set_content('<!DOCTYPE html><html lang="th"><head><title>x</title></head><body><main><input></main></body></html>')
    assert axe_sync.Axe().run(page).violations_count > 0
