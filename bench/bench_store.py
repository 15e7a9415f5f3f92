"""Write and inbox cost of the embedded store against one big TinyDB file.

    .venv/bin/python bench/bench_store.py [--sizes 1000,10000,100000] [--open 300] [--runs 7]

For each size, N applications are stored (all but ``--open`` of them closed,
spread over two years of monthly archives, one agency), then the median of
``--runs`` repetitions of three operations is timed:

* create: one new application;
* update: read one open application and write it back with a version check;
* inbox:  the agency's open applications (``open_applications``).

"naive" is the same data in a single TinyDB file (stock ``JSONStorage``, no
fsync, loaded with one ``insert_multiple``): every write rewrites the whole file.
"ours" is :class:`TinyDBStore` with fsync (the real setting) and without it
(the same durability as the naive baseline).  Our store is seeded with
``bulk_import`` (no fsync per file), which is only for migrations and this script.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tinydb import Query, TinyDB

from eservice.store import TinyDBStore

AGENCY = "dol"


def make_application(i: int, *, closed: bool, rng: random.Random) -> dict:
    """About 1 KB of JSON, like a short licence application."""
    start = datetime(2023, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
    app = {
        "id": f"APP-{i:07d}", "agency": AGENCY, "service": "shop-licence", "service_version": 3,
        "state": "approved" if closed else "in_review", "closed": closed,
        "applicant": f"1{rng.randrange(10**11, 10**12)}"[:13], "assignee": f"officer-{i % 12}",
        "intake_number": i, "intake_at": start.isoformat(), "reference": f"DOL-{i:07d}",
        "title": "ขออนุญาตประกอบกิจการร้านค้า",
        "answers": {"shop_name": f"ร้านค้าตัวอย่าง {i}", "owner": "สมชาย ใจดี", "area_sqm": rng.randrange(20, 400),
                    "address": "99/1 ถนนพหลโยธิน แขวงสามเสนใน เขตพญาไท กรุงเทพมหานคร 10400",
                    "phone": "0812345678", "email": f"user{i}@example.go.th", "floors": 2, "employees": 5},
        "events": [{"type": "submitted", "at": start.isoformat(), "actor": "citizen", "hash": f"{i:064x}"},
                   {"type": "accepted", "at": (start + timedelta(hours=3)).isoformat(), "actor": "officer"}],
        "documents": [{"name": "id_card", "sha256": f"{i * 7:064x}", "size": 182_331, "type": "application/pdf"}],
    }
    if closed:
        app["closed_at"] = (start + timedelta(days=5)).isoformat()
    return app


def median_ms(fn, runs: int) -> float:
    """Median of ``runs`` calls ``fn(k)``, after one untimed warm-up call."""
    fn(runs)
    times = []
    for k in range(runs):
        t0 = time.perf_counter()
        fn(k)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def bench_size(n: int, open_count: int, runs: int, workdir: Path) -> dict:
    rng = random.Random(n)
    apps = [make_application(i, closed=i < n - open_count, rng=rng) for i in range(n)]
    open_ids = [a["id"] for a in apps if not a["closed"]]
    result: dict = {"n": n}

    # -- naive: one TinyDB file with everything -----------------------------
    naive_path = workdir / f"naive-{n}.json"
    db = TinyDB(naive_path)
    t0 = time.perf_counter()
    doc_ids = db.insert_multiple(apps)
    result["seed_naive"] = time.perf_counter() - t0
    result["size_naive"] = naive_path.stat().st_size
    table = db.table("_default")
    by_id = dict(zip((a["id"] for a in apps), doc_ids))
    q = Query()

    def naive_update(k):
        doc_id = by_id[open_ids[k % len(open_ids)]]
        doc = table.get(doc_id=doc_id)  # the read a version check needs
        table.update({"state": f"step-{k}", "version": doc.get("version", 1) + 1}, doc_ids=[doc_id])

    def naive_inbox(k):
        table.clear_cache()  # TinyDB caches query results; a new request would not have them
        return table.search((q.agency == AGENCY) & (q.closed == False))  # noqa: E712

    result["naive"] = {
        "create": median_ms(lambda k: table.insert(make_application(n + k, closed=False, rng=rng)), runs),
        "update": median_ms(naive_update, runs),
        "inbox": median_ms(naive_inbox, runs),
    }
    assert len(naive_inbox(0)) == open_count + runs + 1
    db.close()
    naive_path.unlink()
    os.sync()  # else our first fsyncs pay for flushing the baseline's unsynced writes

    # -- ours -------------------------------------------------------------------
    root = workdir / f"ours-{n}"
    t0 = time.perf_counter()
    TinyDBStore(root).bulk_import(apps)
    result["seed_ours"] = time.perf_counter() - t0
    for label, durable, base in (("ours", True, 1000), ("ours_nofsync", False, 2000)):
        store = TinyDBStore(root, durable=durable)

        def update(k, store=store):
            current = store.get_application(open_ids[k % len(open_ids)])
            current["state"] = f"step-{k}"
            store.update_application(current, current["version"])

        result[label] = {
            "create": median_ms(lambda k: store.create_application(
                make_application(n + base + k, closed=False, rng=rng)), runs),
            "update": median_ms(update, runs),
            "inbox": median_ms(lambda k: store.open_applications(AGENCY), runs),
        }
    assert len(store.open_applications(AGENCY)) == open_count + 2 * (runs + 1)
    shutil.rmtree(root)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated numbers of stored applications")
    parser.add_argument("--open", type=int, default=300, help="how many of them are open (in the inbox)")
    parser.add_argument("--runs", type=int, default=7, help="repetitions per operation (median reported)")
    parser.add_argument("--dir", default=None, help="work folder (default: a temporary folder, removed after)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    workdir = Path(args.dir or tempfile.mkdtemp(prefix="bench-store-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = []
        for n in sizes:
            print(f"… {n:,} applications", flush=True)
            results.append(bench_size(n, args.open, args.runs, workdir))
    finally:
        if args.dir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(f"median of {args.runs} runs, milliseconds; {args.open} open applications in one agency")
    header = (f"{'stored':>9}  {'operation':<8} {'naive 1 file':>13} {'ours fsync':>11} "
              f"{'ours no-fsync':>14} {'naive/ours':>11} {'naive/no-fsync':>15}")
    print(header)
    print("-" * len(header))
    for r in results:
        for op in ("create", "update", "inbox"):
            naive, ours, fast = r["naive"][op], r["ours"][op], r["ours_nofsync"][op]
            print(f"{r['n']:>9,}  {op:<8} {naive:>13.2f} {ours:>11.2f} {fast:>14.2f} "
                  f"{naive / ours:>10.1f}× {naive / fast:>14.1f}×")
    print()
    for r in results:
        print(f"{r['n']:>9,} seeding: naive insert_multiple {r['seed_naive']:.1f} s "
              f"({r['size_naive'] / 1e6:.0f} MB file); ours bulk_import {r['seed_ours']:.1f} s")


if __name__ == "__main__":
    main()
