"""Cost of the officers' inbox and of one transition as history grows (issue #4).

    .venv/bin/python bench/bench_officer.py [--sizes 1000,10000,100000] [--open 300] [--drafts 50] [--runs 7]

For each size N the embedded store is seeded with ``bulk_import``: N submitted
applications of the test service ``minimal-permit`` in one agency, all but
``--open`` of them closed (spread over two years of monthly archives), plus
``--drafts`` drafts (drafts sit in the open index too, and the inbox must skip
them).  Then the median of ``--runs`` repetitions of:

* inbox: ``store.open_applications(agency)`` + ``inbox.query`` (visibility,
  SLA tag per row, filters, sort) for a reviewer — what ``GET /officer`` computes
  before rendering; also with a filter (``due=overdue``, ``assignee=unassigned``);
* take:  ``Workflow.take(... "request_documents" ...)`` on a different open
  application each run, with the version check, on the store with fsync (the
  real setting): read, check, append the event, write the application file and
  the open index, schedule the state's timer.

The open index holds only open work, so both should stay flat from 1k to 100k.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from eservice import events, inbox  # noqa: E402
from eservice.applications import submission_digest  # noqa: E402
from eservice.clock import BANGKOK, FixedClock  # noqa: E402
from eservice.engine import EngineContext  # noqa: E402
from eservice.policy import Actor, Grant  # noqa: E402
from eservice.spec.loader import load_or_raise  # noqa: E402
from eservice.store import TinyDBStore  # noqa: E402
from eservice.workflow import Workflow  # noqa: E402

AGENCY = "test-agency"
SERVICE = "minimal-permit"
NOW = dt.datetime(2024, 6, 3, 10, 0, tzinfo=BANGKOK)
REVIEWER = Actor(user_id="u-reviewer", grants=(Grant(AGENCY, "reviewer"),), ip="127.0.0.1")


def make_record(i: int, service, calendar, *, closed: bool, draft: bool, rng: random.Random) -> dict:
    days_back = rng.randrange(1, 35) if not closed else rng.randrange(36, 730)
    sent = NOW - dt.timedelta(days=days_back, minutes=rng.randrange(600))
    intake = calendar.intake_time(sent)
    record = {
        "id": f"app-{i:08d}", "reference": f"REF{i:09d}", "agency": AGENCY, "service": SERVICE,
        "service_version": service.version, "service_digest": service.digest, "title": "ใบอนุญาตทดสอบ",
        "applicant": f"u-citizen-{i % 5000}", "state": "draft" if draft else ("approved" if closed else "submitted"),
        "closed": closed, "answers": {"shop_name": f"ร้านตัวอย่าง {i}", "shop_area": rng.randrange(20, 400)},
        "documents": {}, "current_page": "shop", "created_at": sent.isoformat(), "updated_at": sent.isoformat(),
        "events": [], "assignee": f"u-officer-{i % 7}" if i % 3 == 0 else None,
    }
    events.append(record["events"], "draft_started", record["applicant"], sent.isoformat(), {})
    if draft:
        return record
    record.update(
        intake_at=intake.astimezone(dt.timezone.utc).isoformat(), intake_number=f"{i}/2567",
        submitted_at=sent.isoformat(), state_entered_at=intake.isoformat(), sla_paused=[],
        sla_due=calendar.due_at(intake, service.definition.sla.working_days).isoformat(),
        changed=rng.random() < 0.3 and not closed,
        signature={"type": "etda-type-1", "signer": record["applicant"], "content_sha256": submission_digest(record)},
    )
    events.append(record["events"], "submitted", record["applicant"], sent.isoformat(),
                  {"intake_number": record["intake_number"]})
    if closed:
        closed_at = intake + dt.timedelta(days=rng.randrange(1, 20))
        record.update(outcome="approved", closed_at=closed_at.isoformat())
        events.append(record["events"], "transition", "u-approver", closed_at.isoformat(),
                      {"transition": "approve", "from": "submitted", "to": "approved"})
    return record


def median_ms(fn, runs: int) -> float:
    fn(-1)  # warm-up (caches, first file reads)
    times = []
    for k in range(runs):
        t0 = time.perf_counter()
        fn(k)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def bench_size(n: int, open_count: int, drafts: int, runs: int, workdir: Path, catalogue) -> dict:
    rng = random.Random(n)
    service = catalogue.latest(SERVICE)
    clock = FixedClock(NOW.astimezone(dt.timezone.utc))
    root = workdir / f"store-{n}"
    seed = TinyDBStore(root, clock=clock, durable=False)
    calendar = EngineContext(catalogue=catalogue, store=seed, clock=clock).calendar(AGENCY)
    records = [make_record(i, service, calendar, closed=i < n - open_count, draft=False, rng=rng) for i in range(n)]
    records += [make_record(n + i, service, calendar, closed=False, draft=True, rng=rng) for i in range(drafts)]
    t0 = time.perf_counter()
    seed.bulk_import(records)
    seeded = time.perf_counter() - t0

    store = TinyDBStore(root, clock=clock, durable=True)  # the real setting: fsync on every write
    ctx = EngineContext(catalogue=catalogue, store=store, clock=clock)
    flow = Workflow(ctx)
    service_of = lambda s: catalogue.get(s["service"], s.get("service_version"))  # noqa: E731

    def query(filters: inbox.Filters):
        def run(_k: int):
            summaries = store.open_applications(AGENCY)
            return inbox.query(summaries, REVIEWER, filters, clock.now(), service_of=service_of,
                               calendar_for=ctx.calendar)
        return run

    rows = query(inbox.Filters())(0)
    assert len(rows) == open_count, (len(rows), open_count)
    inbox_ms = median_ms(query(inbox.Filters()), runs)
    filtered_ms = median_ms(query(inbox.Filters(due="overdue", assignee="unassigned")), runs)

    targets = [r.id for r in rows]

    def take(k: int):
        app_id = targets[k + 1]
        record = store.get_application(app_id)
        flow.take(app_id, "request_documents", REVIEWER, {"missing": "สำเนาบัตรประชาชน"},
                  expected_version=record["version"])

    take_ms = median_ms(take, runs)
    shutil.rmtree(root, ignore_errors=True)
    return {"n": n, "open": open_count, "seed_s": seeded, "inbox_ms": inbox_ms, "filtered_ms": filtered_ms,
            "take_ms": take_ms, "tags": inbox.counts(rows)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--open", type=int, default=300)
    parser.add_argument("--drafts", type=int, default=50)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    catalogue = load_or_raise([ROOT / "tests" / "fixtures" / "defs"])
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="bench-officer-"))
    results = []
    try:
        for n in sizes:
            result = bench_size(n, args.open, args.drafts, args.runs, workdir, catalogue)
            results.append(result)
            print(f"  {n:>7,} stored: seeded in {result['seed_s']:.1f} s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nofficer inbox and one transition, median of {args.runs} runs "
          f"({args.open} open + {args.drafts} drafts in the open index; store with fsync for writes)\n")
    print(f"{'stored':>9} | {'inbox (ms)':>10} | {'inbox filtered (ms)':>19} | {'take transition (ms)':>20} | "
          f"SLA tags (ok/warning/overdue)")
    print("-" * 9 + "-+-" + "-" * 10 + "-+-" + "-" * 19 + "-+-" + "-" * 20 + "-+-" + "-" * 30)
    for r in results:
        tags = r["tags"]
        print(f"{r['n']:>9,} | {r['inbox_ms']:>10.1f} | {r['filtered_ms']:>19.1f} | {r['take_ms']:>20.1f} | "
              f"{tags['ok']}/{tags['warning']}/{tags['overdue']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
