"""Micro-benchmark of the working calendar (SLA arithmetic runs for every row of an inbox).

    .venv/bin/python bench/bench_calendar.py

Prints operations per second, the median of several runs, after a warm-up that
fills the per-year holiday caches.
"""
from __future__ import annotations

import statistics
import time
from datetime import date, datetime, timedelta

from eservice.calendar import WorkingCalendar
from eservice.clock import BANGKOK

RUNS = 7
N = 20_000


def bench(name, fn, n=N):
    rates = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        for i in range(n):
            fn(i)
        rates.append(n / (time.perf_counter() - t0))
    print(f"{name:<45} {statistics.median(rates):>12,.0f} ops/s")


def main() -> None:
    cal = WorkingCalendar(extra_holidays={date(2024, 6, 14): "วันหยุดจังหวัด"})
    base = date(2024, 1, 1)
    days = [base + timedelta(days=i % 700) for i in range(N)]
    sent = [datetime(2024, 1, 1, tzinfo=BANGKOK) + timedelta(minutes=97 * i) for i in range(N)]
    later = [s + timedelta(days=12, hours=5) for s in sent]
    pause = [((s + timedelta(days=2)), (s + timedelta(days=4))) for s in sent]
    t0 = time.perf_counter()
    cal.add_working_days(date(2023, 12, 1), 600)  # warm the caches (2023-2026)
    print(f"first use (build holiday years)               {time.perf_counter() - t0:.3f} s")

    bench("is_working_day", lambda i: cal.is_working_day(days[i]))
    bench("add_working_days(d, 15)", lambda i: cal.add_working_days(days[i], 15))
    bench("working_days_between(d, d+30)", lambda i: cal.working_days_between(days[i], days[i] + timedelta(days=30)))
    bench("intake_time", lambda i: cal.intake_time(sent[i]))
    bench("working_time(12 days)", lambda i: cal.working_time(sent[i], later[i]))
    bench("working_time(12 days, 1 pause)", lambda i: cal.working_time(sent[i], later[i], [pause[i]]))
    bench("due_at(intake, 15)", lambda i: cal.due_at(sent[i], 15))
    bench("due_at(intake, 15, 1 pause)", lambda i: cal.due_at(sent[i], 15, [pause[i]]))


if __name__ == "__main__":
    main()
