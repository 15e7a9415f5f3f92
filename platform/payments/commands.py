"""``eservice payments reconcile --date YYYY-MM-DD [--bank-file F.csv]`` (A-P6).

Prints each agency's daily reconciliation (:mod:`eservice.payments.reconcile`)
for that working day and, with a bank statement file, the differences between
the file and the recorded payments matched by reference 1 and 2.

Exit status: 0 — nothing differs; 1 — differences were listed; 2 — the
request or the bank file is wrong (the message names the line).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "reconcile_command"]


def add_parser(sub: Any, data_default: str, definitions_default: str) -> None:
    payments = sub.add_parser("payments", help="payments / การชำระค่าธรรมเนียม")
    payments_sub = payments.add_subparsers(dest="payments_action", required=True)
    rec = payments_sub.add_parser(
        "reconcile", help="daily reconciliation and bank file matching / กระทบยอดรายวันกับรายการเดินบัญชี")
    rec.add_argument("--date", required=True, help="the working day, YYYY-MM-DD (Christian Era)")
    rec.add_argument("--bank-file", help="bank statement CSV: ref1,ref2,amount[,date,time,bank_ref]")
    rec.add_argument("--agency", action="append", help="agency code (repeatable; default: every agency)")
    rec.add_argument("--data", default=data_default)
    rec.add_argument("--definitions", nargs="+", default=[definitions_default])
    rec.add_argument("--json", action="store_true", help="print the result as JSON")
    rec.set_defaults(func=reconcile_command)


def _fail(th: str, en: str) -> int:
    print(f"eservice: {th}\neservice: {en}", file=sys.stderr)
    return 2


def reconcile_command(args: argparse.Namespace) -> int:
    from ..calendar import from_agency
    from ..dates import format_date
    from ..spec.loader import load
    from ..store import open_store
    from .reconcile import ReconcileError, daily_report, match_bank, read_bank_file

    try:
        day = dt.date.fromisoformat(args.date)
    except ValueError:
        return _fail(f"--date “{args.date}” ต้องเป็นวันที่ ค.ศ. รูปแบบ YYYY-MM-DD",
                     f"--date “{args.date}” must be a date as YYYY-MM-DD")
    catalogue, problems = load(args.definitions)
    if not catalogue.agencies:
        return _fail("ไม่พบหน่วยงานในนิยามบริการ", "no agency found in the definitions")
    agencies = args.agency or sorted(catalogue.agencies)
    unknown = [a for a in agencies if a not in catalogue.agencies]
    if unknown:
        return _fail(f"ไม่พบหน่วยงาน {', '.join(unknown)}", f"unknown agency: {', '.join(unknown)}")
    try:
        lines = read_bank_file(args.bank_file) if args.bank_file else None
    except ReconcileError as exc:
        return _fail(f"{args.bank_file}: {exc.th}", f"{args.bank_file}: {exc.en}")
    store = open_store(Path(args.data) / "store")
    reports = []
    try:
        for code in agencies:
            reports.append(daily_report(store, from_agency(catalogue.agencies[code]), code, day))
    except ReconcileError as exc:
        return _fail(exc.th, exc.en)
    differences = []
    if lines is not None:
        seen: dict[str, Any] = {}
        for report in reports:
            for p in report.payments + report.unmatched:
                seen.setdefault(p["id"], p)
        differences = match_bank(lines, seen.values())
    if args.json:
        print(json.dumps({"date": day.isoformat(), "agencies": [{
            "agency": r.agency, "covers_from": r.first.isoformat(), "notices": len(r.notices),
            "notices_total": str(r.total_noticed), "by_method": r.by_method, "paid_total": str(r.total_paid),
            "receipts": [x["number"] for x in r.receipts], "unmatched_callbacks": [x["id"] for x in r.unmatched],
            "refused_proofs": [x.get("id") for x in r.refused_proofs]} for r in reports],
            "bank_lines": None if lines is None else len(lines),
            "differences": [vars(d) for d in differences]}, ensure_ascii=False, indent=2))
    else:
        for r in reports:
            print(f"{r.agency} · วันทำการ {format_date(r.day, 'th', long=True)} / working day "
                  f"{format_date(r.day, 'en', long=True)} (ตั้งแต่ / from {r.first.isoformat()})")
            print(f"  ใบแจ้งชำระ / notices: {len(r.notices)} ({r.total_noticed} บาท / THB)")
            for m in r.by_method:
                print(f"  รับชำระ / paid {m['method']}: {m['count']} ({m['total']})")
            print(f"  รวมรับชำระ / paid in total: {r.total_paid}")
            print(f"  ใบเสร็จ / receipts: {len(r.receipts)}"
                  + (f" ({r.receipts[0]['number']} – {r.receipts[-1]['number']})" if r.receipts else ""))
            print(f"  แจ้งชำระที่จับคู่ไม่ได้ / unmatched callbacks: {len(r.unmatched)}")
            for p in r.unmatched:
                print(f"    {p['id']} {p.get('flag')} ref1={p.get('ref1')} ref2={p.get('ref2')} {p.get('amount')}")
            print(f"  หลักฐานการชำระที่ไม่รับ / refused proofs: {len(r.refused_proofs)}")
        if lines is not None:
            print(f"รายการเดินบัญชี {len(lines)} รายการ / {len(lines)} bank line(s); "
                  f"ไม่ตรงกัน {len(differences)} รายการ / {len(differences)} difference(s)")
            for d in differences:
                print(f"  {d.describe()}")
    return 1 if differences else 0
