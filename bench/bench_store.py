"""Write and inbox cost of the embedded store against one big TinyDB file.

    .venv/bin/python bench/bench_store.py [--sizes 1000,10000,100000] [--open 5000,20000] [--runs 7]

For each size N and each open count, N applications are stored (all but
``--open`` of them closed, spread over two years of monthly archives, one
agency), then the median of ``--runs`` repetitions of each operation is timed:

* create: one new application;
* update: read one open application and write it back with a version check;
* inbox:  the agency's open applications (``open_applications``), warm: the
  process has the inbox in memory and follows the journal;
* inbox cold: a process that has just started (opening the store, replaying the
  journal, loading the inbox from its index file);
* checkpoint: what the concurrent creates below wrote, once: the *seal* (writers
  wait for it: the pause a checkpoint puts into the p99) and the *fold* into the
  files (in the background: writers go on meanwhile).

"naive" is the same data in a single TinyDB file (stock ``JSONStorage``, no
fsync, loaded with one ``insert_multiple``): every write rewrites the whole file.
It is measured once per size (its cost hardly depends on the open count).
"ours" is :class:`TinyDBStore` with fsync (the real setting) and without it
(the same durability as the naive baseline).  Our store is seeded with
``bulk_import`` (no fsync per file), which is only for migrations and this script.
Last, ``--threads`` threads create applications at once for two seconds: with
group commit they share fsyncs, so durable creates/s grow with the threads.
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


def bench_naive(n: int, open_count: int, runs: int, workdir: Path) -> dict:
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
    return result


def bench_ours(n: int, open_count: int, runs: int, workdir: Path) -> dict:
    rng = random.Random(n)
    apps = [make_application(i, closed=i < n - open_count, rng=rng) for i in range(n)]
    open_ids = [a["id"] for a in apps if not a["closed"]]
    result: dict = {"n": n, "open": open_count}
    root = workdir / f"ours-{n}-{open_count}"
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
            "inbox_cold": median_ms(lambda k: TinyDBStore(root, durable=durable).open_applications(AGENCY), runs),
        }
    assert len(store.open_applications(AGENCY)) == open_count + 2 * (runs + 1)
    store.checkpoint()
    # Group commit without a checkpoint in the window; then the checkpoint of all it wrote.
    busy = TinyDBStore(root, checkpoint_lines=10**9, checkpoint_bytes=1 << 40)
    result["group_commit"] = concurrent_creates(busy, n + 10_000, rng)
    t0 = time.perf_counter()
    with busy.exclusive():
        source = busy._seal_locked()
    t1 = time.perf_counter()
    folded = busy._fold(source) if source is not None else 0
    result["checkpoint"] = (t1 - t0) * 1000, (time.perf_counter() - t1) * 1000, folded
    shutil.rmtree(root)
    return result


def concurrent_creates(store: TinyDBStore, start: int, rng: random.Random, seconds: float = 2.0) -> dict:
    """Durable creates per second from 1 thread and from 16 threads at once."""
    import threading

    rates = {}
    for threads in (1, 16):
        counter = [0]
        stop = time.perf_counter() + seconds
        lock = threading.Lock()

        def worker(base: int) -> None:
            i = 0
            while time.perf_counter() < stop:
                store.create_application(make_application(base + i, closed=False, rng=random.Random(i)))
                i += 1
            with lock:
                counter[0] += i

        pool = [threading.Thread(target=worker, args=(start + threads * 100_000 + t * 10_000,)) for t in range(threads)]
        t0 = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        rates[threads] = counter[0] / (time.perf_counter() - t0)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated numbers of stored applications")
    parser.add_argument("--open", default="5000,20000", help="comma-separated: how many of them are open (the inbox)")
    parser.add_argument("--runs", type=int, default=7, help="repetitions per operation (median reported)")
    parser.add_argument("--dir", default=None, help="work folder (default: a temporary folder, removed after)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    open_counts = [int(s) for s in args.open.split(",")]

    workdir = Path(args.dir or tempfile.mkdtemp(prefix="bench-store-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        naive, ours = {}, []
        for n in sizes:
            print(f"… {n:,} applications: naive single file", flush=True)
            naive[n] = bench_naive(n, min(open_counts[0], n // 2), args.runs, workdir)
            for open_count in open_counts:
                print(f"… {n:,} applications, {open_count:,} open: ours", flush=True)
                ours.append(bench_ours(n, min(open_count, n // 2), args.runs, workdir))
    finally:
        if args.dir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(f"median of {args.runs} runs, milliseconds, one agency (naive measured once per size)")
    header = (f"{'stored':>9} {'open':>7}  {'operation':<10} {'naive 1 file':>13} {'ours fsync':>11} "
              f"{'ours no-fsync':>14} {'naive/ours':>11}")
    print(header)
    print("-" * len(header))
    for r in ours:
        base = naive[r["n"]]["naive"]
        for op in ("create", "update", "inbox", "inbox_cold"):
            b = base.get(op if op != "inbox_cold" else "inbox")
            fast, durable = r["ours_nofsync"][op], r["ours"][op]
            print(f"{r['n']:>9,} {r['open']:>7,}  {op:<10} {b:>13.2f} {durable:>11.2f} {fast:>14.2f} "
                  f"{b / durable:>10.1f}×")
    print()
    for r in ours:
        seal_ms, fold_ms, folded = r["checkpoint"]
        rates = r["group_commit"]
        print(f"{r['n']:>9,} stored, {r['open']:>6,} open: checkpoint of {folded} lines: writers paused "
              f"{seal_ms:.1f} ms (seal), folded in the background in {fold_ms:.0f} ms; "
              f"durable creates/s: 1 thread {rates[1]:.0f}, 16 threads {rates[16]:.0f} "
              f"({rates[16] / rates[1]:.1f}× with group commit)")
    for n, r in naive.items():
        print(f"{n:>9,} seeding: naive insert_multiple {r['seed_naive']:.1f} s ({r['size_naive'] / 1e6:.0f} MB file)")


if __name__ == "__main__":
    main()
