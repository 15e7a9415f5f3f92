"""kill -9 under concurrent submitters: every acknowledged submission is in the
officer's inbox after a restart, with no drift for ``store verify`` to find, and
every intake number drawn is either used or explained in the book (RC-1, A-F9).

Issue #17 item 1 / #18.  A child process runs four submitter threads against
the real store on disk (fsync on, small checkpoint interval so that kills also
land inside checkpoints); each thread creates a draft, draws an intake number,
submits, and sometimes closes the application.  Only *after* the store call
returns does the thread write an acknowledgement line.  The parent kills the
child at a random moment, opens the data folder as a restarted server would and
checks every acknowledgement against the inbox, the archive and the book.
"""
from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from datetime import datetime
from pathlib import Path

from eservice.clock import UTC, FixedClock
from eservice.intake_book import intake_book, intake_sequence
from eservice.store import open_store
from eservice.store.maintenance import verify

AGENCY = "dol"
YEAR = 2569
TRIALS = 30
CLOCK = FixedClock(datetime(2026, 5, 10, 3, 0, tzinfo=UTC))


def _submitter(root: str, acks: str, tag: str, seed: int) -> None:
    store = open_store(root, clock=CLOCK, checkpoint_lines=40)
    rng = random.Random(seed)
    fd = os.open(acks, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    i = 0
    while True:
        i += 1
        app_id = f"{tag}-{i}"
        applicant = f"P{rng.randrange(5)}"
        draft = store.create_application({
            "id": app_id, "agency": AGENCY, "service": "shop", "state": "draft", "closed": False,
            "applicant": applicant, "answers": {"n": i, "pad": "ก" * rng.randrange(2000)}, "events": []})
        number = store.next_number(intake_sequence(AGENCY, YEAR), {"application": app_id})
        submitted = dict(draft, state="submitted", intake_number=f"{number}/{YEAR}",
                         intake_at=f"2026-05-10T10:{i % 60:02d}:00+07:00")
        store.update_application(submitted, draft["version"])
        os.write(fd, f"submitted {app_id}\n".encode())
        if rng.random() < 0.3:
            store.modify_application(app_id, lambda r: r.update(
                state="approved", closed=True, closed_at="2026-05-11T10:00:00+07:00"))
            os.write(fd, f"closed {app_id}\n".encode())


def _child(root: str, acks: str, trial: int) -> None:
    threads = [threading.Thread(target=_submitter, args=(root, acks, f"T{trial}x{k}", trial * 10 + k), daemon=True)
               for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _acknowledged(acks: Path) -> dict[str, str]:
    state: dict[str, str] = {}
    if acks.exists():
        for line in acks.read_text().splitlines():
            kind, app_id = line.split()
            state[app_id] = kind
    return state


def test_acknowledged_submissions_survive_kill9_in_the_inbox(tmp_path):
    root, acks = tmp_path / "store", tmp_path / "acks.log"
    ctx = multiprocessing.get_context("spawn")
    rng = random.Random(2569)
    seen = 0
    for trial in range(TRIALS):
        child = ctx.Process(target=_child, args=(str(root), str(acks), trial))
        child.start()
        deadline = time.monotonic() + 30
        while len(_acknowledged(acks)) < seen + 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.08))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert child.exitcode == -signal.SIGKILL

        acked = _acknowledged(acks)
        assert len(acked) > seen, "the child acknowledged nothing before the kill"
        seen = len(acked)
        store = open_store(root, clock=CLOCK)  # the restarted server
        inbox = {s["id"]: s for s in store.open_applications(AGENCY)}
        archived = {s["id"] for s in store.closed_applications(AGENCY)}
        for app_id, kind in acked.items():
            if kind == "submitted":
                assert app_id in inbox and inbox[app_id]["state"] in ("submitted", "approved") \
                    or app_id in archived, f"trial {trial}: acknowledged {app_id} is hidden"
                if app_id in inbox:
                    assert inbox[app_id]["intake_number"], app_id
            else:
                assert app_id in archived and app_id not in inbox, f"trial {trial}: closed {app_id} still open"
        for app_id, summary in inbox.items():  # the inbox agrees with the records themselves
            record = store.get_application(app_id)
            assert (record["state"], record["version"]) == (summary["state"], summary["version"])
        if trial % 5 == 4 or trial == TRIALS - 1:
            report = verify(store)
            assert report.ok, [str(p) for p in report.problems]

    # The book is unbroken: numbers are unique, and each gap says what it was drawn for.
    store = open_store(root, clock=CLOCK)
    book = intake_book(store, AGENCY, YEAR)
    used = [row for row in book if row["status"] == "used"]
    assert len({row["application"] for row in used}) == len(used)
    assert [row["number"] for row in book] == [f"{n}/{YEAR}" for n in range(1, len(book) + 1)]
    for row in book:
        if row["status"] == "not_used":
            assert row["drawn_at"] and row["drawn_for"], row
            assert store.get_application(row["drawn_for"]).get("intake_number") != row["number"]
    submitted_ids = {app_id for app_id in _acknowledged(acks)}
    assert submitted_ids <= {row["application"] for row in used}
