"""How much a worker round pays per bounce report (issue #21).

    .venv/bin/python bench/bench_bounces.py

Three measures, medians of 7 runs, in the same run:

* baseline: parsing the same report bytes with ``email.message_from_bytes`` alone;
* ``parse_dsn`` of a hard-bounce report (the per-recipient fields, the token);
* ``process_reports`` on N kept reports against an outbox of N messages (find the
  message by its token, mark it ``bounced``): the whole job of one round, per report.

Prints each median and its ratio to the baseline.
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bounce_mta import dsn_bytes  # noqa: E402
from eservice.bounces import parse_dsn, process_reports, save_report  # noqa: E402
from eservice.clock import FixedClock  # noqa: E402
from eservice.mail import Outbox  # noqa: E402
from eservice.store import open_store  # noqa: E402

RUNS = 7
N = 300
NOW = dt.datetime(2026, 6, 15, 3, 0, tzinfo=dt.timezone.utc)


def report(i: int) -> tuple[str, bytes]:
    token = f"{i:024x}"
    original = (f"From: noreply@eservice.test\r\nTo: p{i}@example.com\r\nSubject: x\r\n"
                f"Message-ID: <{token}@eservice.test>\r\n\r\nhello\r\n").encode()
    return token, dsn_bytes(f"bounces+{token}@bounces.test", f"p{i}@example.com", original,
                            "5.1.1", "failed", "550 5.1.1 User unknown")


def per_item(fn, items) -> float:
    t0 = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - t0) / len(items)


def main() -> None:
    reports = [report(i) for i in range(N)]
    raws = [r for _, r in reports]
    base = statistics.median(per_item(lambda r: email.message_from_bytes(r, policy=email.policy.default), raws)
                             for _ in range(RUNS))
    parse = statistics.median(per_item(parse_dsn, raws) for _ in range(RUNS))
    rounds = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as folder:
            clock = FixedClock(NOW)
            store = open_store(Path(folder) / "data", clock=clock, durable=False)
            outbox = Outbox(store, clock)
            for i, (token, raw) in enumerate(reports):
                outbox.record([f"p{i}@example.com"], "x", "sent", message_id=f"<{token}@eservice.test>")
                save_report(store, raw, source="smtp", envelope_to=[f"bounces+{token}@bounces.test"],
                            received_at=NOW)
            t0 = time.perf_counter()
            done = process_reports(store, clock, outbox)
            rounds.append((time.perf_counter() - t0) / len(done))
            store.close() if hasattr(store, "close") else None
    job = statistics.median(rounds)
    print(f"{'baseline: email.message_from_bytes':<45} {base * 1e6:>10.0f} µs/report  1.00×")
    print(f"{'parse_dsn':<45} {parse * 1e6:>10.0f} µs/report  {parse / base:.2f}×")
    print(f"{f'process_reports ({N} reports, outbox of {N})':<45} {job * 1e6:>10.0f} µs/report  {job / base:.2f}×")


if __name__ == "__main__":
    main()
