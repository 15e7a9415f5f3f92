"""Benchmark of the statistics report (A-SP5) on the embedded TinyDB store.

    .venv/bin/python bench/bench_reports.py [--sizes 1000 10000] [--runs 5]

For each size, loads that many applications of one agency (received over
2024, four in five closed, 2–5 transition events each, some SLA pauses) with
``bulk_import`` into a fresh store in a temporary folder, then times
:func:`eservice.reports.report` for one month and for the whole year (the
median of several runs; the operating system's file cache is warm after the
first run), and the CSV, XLSX and SVG exports of the year's report.
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta

from eservice import events
from eservice.calendar import WorkingCalendar
from eservice.clock import BANGKOK, FixedClock
from eservice.renderers.exports import report_chart_svg, report_csv, report_xlsx
from eservice.reports import report
from eservice.store import TinyDBStore

AGENCY = "bench-agency"
SERVICES = [f"service-{i}" for i in range(8)]
OFFICERS = [f"u-officer-{i}" for i in range(12)]
NOW = datetime(2025, 1, 15, 10, 0, tzinfo=BANGKOK)


def make_records(n: int, calendar: WorkingCalendar, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=BANGKOK)
    records = []
    for i in range(n):
        sent = start + timedelta(minutes=rng.randrange(366 * 24 * 60))
        intake = calendar.intake_time(sent)
        history: list = []
        events.append(history, "submitted", f"u-citizen-{i}", intake.isoformat(), {})
        at, state, pauses = intake, "submitted", []
        for step in range(rng.randint(2, 5)):
            at = at + timedelta(hours=rng.randint(2, 96))
            if step == 0 and rng.random() < 0.3:
                pauses.append([at.isoformat(), (at + timedelta(days=3)).isoformat()])
                events.append(history, "transition", rng.choice(OFFICERS), at.isoformat(),
                              {"transition": "request_documents", "from": state, "to": "awaiting_documents"})
                at += timedelta(days=3)
                events.append(history, "transition", f"u-citizen-{i}", at.isoformat(),
                              {"transition": "resubmit", "from": "awaiting_documents", "to": "submitted"})
                continue
            events.append(history, "transition", rng.choice(OFFICERS), at.isoformat(),
                          {"transition": "review", "from": state, "to": "under_review"})
            state = "under_review"
        closed = rng.random() < 0.8 and at < NOW
        outcome = rng.choice(["approved", "approved", "approved", "rejected", "disposed"]) if closed else None
        if closed:
            events.append(history, "transition", rng.choice(OFFICERS), at.isoformat(),
                          {"transition": outcome, "from": state, "to": outcome})
            state = outcome
        records.append({
            "id": f"app-{i:07d}", "reference": f"R{i:07d}", "agency": AGENCY, "service": rng.choice(SERVICES),
            "service_version": 1, "state": state, "closed": closed, "outcome": outcome,
            "applicant": f"u-citizen-{i}", "assignee": None, "intake_number": f"{i + 1}/2567",
            "intake_at": intake.isoformat(), "submitted_at": sent.isoformat(),
            "sla_due": calendar.due_at(intake, 15).isoformat(), "sla_paused": pauses,
            "answers": {"name": "ร้านค้าทดสอบ", "area": rng.randint(10, 500)}, "events": history,
            "updated_at": at.isoformat(), **({"closed_at": at.isoformat()} if closed else {}),
        })
    return records


def timed(fn, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    calendar = WorkingCalendar()
    calendar.add_working_days(date(2023, 12, 1), 400)  # warm the holiday caches
    print(f"{'applications':>12} {'period':>8} {'read':>6} {'report':>10} {'per read':>10}")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            store = TinyDBStore(folder, clock=FixedClock(NOW), durable=False)
            t0 = time.perf_counter()
            store.bulk_import(make_records(n, calendar))
            load = time.perf_counter() - t0
            for label, first, last in (("month", date(2024, 6, 1), date(2024, 6, 30)),
                                       ("year", date(2024, 1, 1), date(2024, 12, 31))):
                seconds, rep = timed(lambda: report(store, None, lambda a: calendar, AGENCY, first, last, NOW),
                                     args.runs)
                print(f"{n:>12,} {label:>8} {rep.applications_read:>6,} {seconds * 1000:>8.0f} ms "
                      f"{seconds / max(rep.applications_read, 1) * 1e6:>7.0f} µs")
            csv_s, _ = timed(lambda: report_csv(rep), args.runs)
            xlsx_s, _ = timed(lambda: report_xlsx(rep), args.runs)
            svg_s, _ = timed(lambda: report_chart_svg(rep), args.runs)
            print(f"{'':>12} exports of the year: csv {csv_s * 1000:.1f} ms, xlsx {xlsx_s * 1000:.1f} ms, "
                  f"svg {svg_s * 1000:.1f} ms  (bulk load {load:.1f} s)")


if __name__ == "__main__":
    main()
