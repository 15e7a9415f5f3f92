"""Checkpoints that do not stop writers (#18): the journal is sealed under the
exclusive lock in a moment, and the sealed generation is folded into the files
while writes go on.  A killed fold, a killed seal and a second process reading
in the middle lose nothing.  A-F9, RC-1, NF-1."""
from __future__ import annotations

import os
import time
from datetime import datetime

import pytest

from eservice.clock import UTC, FixedClock
from eservice.store import TinyDBStore
from eservice.store.maintenance import verify

CLOCK = FixedClock(datetime(2024, 5, 10, 3, 0, tzinfo=UTC))


def make_app(app_id, *, agency="dol", applicant="A", closed=False, **extra):
    return {"id": app_id, "agency": agency, "service": "s", "state": "submitted", "closed": closed,
            "applicant": applicant, "answers": {}, "events": [], **extra}


@pytest.fixture
def root(tmp_path):
    return tmp_path / "store"


def inbox(store):
    return [s["id"] for s in store.open_applications("dol")]


def seal(store):
    with store.exclusive():
        return store._seal_locked()


def test_writes_go_on_while_a_sealed_generation_waits_to_be_folded(root):
    a = TinyDBStore(root, clock=CLOCK)
    b = TinyDBStore(root, clock=CLOCK)  # as a second process
    for i in range(3):
        a.create_application(make_app(f"APP-{i}"))
    a.collection("users").put("u1", {"name": "one"})
    first = a.next_number("intake-2567")
    assert inbox(b) == ["APP-0", "APP-1", "APP-2"]  # b holds this inbox in memory
    source = seal(a)
    assert source is not None and source.lines == 5
    assert (root / "journal.sealed.log").is_file()
    # Not folded yet: the files know nothing, writers and readers go on.
    assert not a.application_path("APP-0").exists()
    a.create_application(make_app("APP-3"))
    record = a.get_application("APP-1")
    a.update_application(dict(record, closed=True, state="approved", closed_at="2024-05-10T03:00:00+00:00"), 1)
    assert a.next_number("intake-2567") == first + 1
    assert seal(a) is None  # one fold at a time
    for store in (a, b):  # (a store opened now would fold the sealed file at its start)
        assert inbox(store) == ["APP-0", "APP-2", "APP-3"]
        assert store.get_application("APP-1")["state"] == "approved"
        assert store.collection("users").get("u1") == {"name": "one", "version": 1}
        assert store.current_number("intake-2567") == first + 1
    assert a._fold(source) == 5
    assert not (root / "journal.sealed.log").exists()
    assert a.application_path("APP-0").exists() and not a.application_path("APP-3").exists()
    for store in (a, b, TinyDBStore(root, clock=CLOCK)):  # back to the files + current generation
        assert inbox(store) == ["APP-0", "APP-2", "APP-3"]
        assert [s["id"] for s in store.closed_applications("dol")] == ["APP-1"]
        assert store.current_number("intake-2567") == first + 1
    assert verify(a).ok


def test_a_fold_killed_half_way_is_finished_by_the_next_start(root):
    store = TinyDBStore(root, clock=CLOCK)
    for i in range(4):
        store.create_application(make_app(f"APP-{i}", applicant=f"P{i % 2}"))
    source = seal(store)
    # The fold dies after writing one application file and leaving a temp file.
    (root / "CHECKPOINTING").touch()
    store._write_app_file(store.get_application("APP-0"), None)
    (root / "open").mkdir(exist_ok=True)
    (root / "open" / ".dol.json.killed.tmp").write_text("{half")
    store.create_application(make_app("APP-4"))  # in the next generation
    del store, source
    restarted = TinyDBStore(root, clock=CLOCK)
    assert any("removed" in r for r in restarted.startup.repaired)
    assert not (root / "journal.sealed.log").exists() and not (root / "CHECKPOINTING").exists()
    assert restarted.temp_files() == []
    assert inbox(restarted) == [f"APP-{i}" for i in range(5)]
    assert [s["id"] for s in restarted.applications_of("P0")] == ["APP-0", "APP-2"]
    assert verify(restarted).ok


def test_a_seal_killed_between_link_and_new_generation_loses_nothing(root):
    store = TinyDBStore(root, clock=CLOCK)
    store.create_application(make_app("APP-1"))
    os.link(root / "journal.log", root / "journal.sealed.log")  # the link made, the new journal not
    restarted = TinyDBStore(root, clock=CLOCK)
    assert inbox(restarted) == ["APP-1"]
    restarted.create_application(make_app("APP-2"))
    assert restarted.checkpoint() == 2
    assert not (root / "journal.sealed.log").exists()
    assert inbox(TinyDBStore(root, clock=CLOCK)) == ["APP-1", "APP-2"]
    assert verify(restarted).ok


def test_the_journal_is_folded_in_the_background_once_it_grows(root):
    store = TinyDBStore(root, clock=CLOCK, checkpoint_lines=10)
    for i in range(35):
        store.create_application(make_app(f"APP-{i:02}"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait for the background thread to finish
        if store._folding.acquire(blocking=False):
            store._folding.release()
            if not (root / "journal.sealed.log").exists():
                break
        time.sleep(0.01)
    assert store.application_path("APP-00").exists()  # folded without anybody calling checkpoint()
    assert store.catch_up().lines < 35
    assert inbox(TinyDBStore(root, clock=CLOCK)) == [f"APP-{i:02}" for i in range(35)]
    assert verify(store).ok
