"""The journal of the embedded store (#18): what a checkpoint folds, what a torn
line costs, what `store verify` finds and repairs, and two store objects (as two
processes) on one folder across generations.  A-F9, RC-1, NF-1."""
from __future__ import annotations

import json
import math
from datetime import datetime

import pytest

from eservice.clock import UTC, FixedClock
from eservice.store import StoreError, TinyDBStore
from eservice.store.maintenance import verify

CLOCK = FixedClock(datetime(2024, 5, 10, 3, 0, tzinfo=UTC))


def make_app(app_id, *, agency="dol", applicant="A", closed=False, **extra):
    return {"id": app_id, "agency": agency, "service": "s", "state": "submitted", "closed": closed,
            "applicant": applicant, "answers": {}, "events": [], **extra}


@pytest.fixture
def root(tmp_path):
    return tmp_path / "store"


def test_nan_and_infinity_are_refused_and_nothing_is_written(root):  # #17 item 3
    store = TinyDBStore(root, clock=CLOCK)
    size = (root / "journal.log").stat().st_size
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(StoreError) as info:
            store.create_application(make_app("APP-1", answers={"shop_area": bad}))
        assert "NaN" in info.value.en and "ตัวเลข" in info.value.th
        with pytest.raises(StoreError):
            store.collection("users").put("u", {"score": bad})
    assert (root / "journal.log").stat().st_size == size
    with pytest.raises(Exception):
        store.get_application("APP-1")


def test_a_torn_last_line_is_skipped_and_the_next_write_starts_clean(root):
    store = TinyDBStore(root, clock=CLOCK)
    store.create_application(make_app("APP-1"))
    with open(root / "journal.log", "ab") as f:  # a writer killed in the middle of its line
        f.write(b'{"t":"a","k":"APP-2","v":1,"s":{"id":"APP-2"')
    restarted = TinyDBStore(root, clock=CLOCK)
    assert [s["id"] for s in restarted.open_applications("dol")] == ["APP-1"]
    restarted.create_application(make_app("APP-3"))
    again = TinyDBStore(root, clock=CLOCK)
    assert [s["id"] for s in again.open_applications("dol")] == ["APP-1", "APP-3"]
    assert again.catch_up().file.torn == 1
    assert verify(again).ok


def test_two_store_objects_follow_each_other_across_checkpoints(root):
    a, b = TinyDBStore(root, clock=CLOCK), TinyDBStore(root, clock=CLOCK)
    a.create_application(make_app("APP-1"))
    assert [s["id"] for s in b.open_applications("dol")] == ["APP-1"]  # b has its inbox in memory now
    b.modify_application("APP-1", lambda r: r.update(state="in_review"))
    a.checkpoint()  # a new generation under b's feet
    a.create_application(make_app("APP-2", closed=True, closed_at="2024-04-30T10:00:00+07:00"))
    assert [(s["id"], s["state"]) for s in b.open_applications("dol")] == [("APP-1", "in_review")]
    assert [s["id"] for s in b.closed_applications("dol", "2024-04")] == ["APP-2"]
    b.modify_application("APP-2", lambda r: r.update(closed=False, state="reopened"))
    b.checkpoint()
    fresh = TinyDBStore(root, clock=CLOCK)
    assert [s["id"] for s in fresh.open_applications("dol")] == ["APP-1", "APP-2"]
    assert list(fresh.closed_applications("dol")) == []
    assert json.loads((root / "open" / "dol.json").read_text())["open"].keys() == {"APP-1", "APP-2"}
    assert verify(fresh).ok


def test_collections_and_numbers_survive_checkpoints(root):
    store = TinyDBStore(root, clock=CLOCK, checkpoint_lines=3)  # checkpoints every few writes
    users = store.collection("users")
    for i in range(10):
        users.put(f"u{i}", {"i": i})
    users.delete("u3")
    users.delete("u3")  # a retried delete is no error
    assert [store.next_number("seq", {"application": f"APP-{i}"}) for i in range(5)] == [1, 2, 3, 4, 5]
    fresh = TinyDBStore(root, clock=CLOCK)
    assert sorted(r["i"] for r in fresh.collection("users").all()) == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert fresh.collection("users").get("u3") is None
    assert fresh.current_number("seq") == 5
    assert [(n["value"], n["application"]) for n in fresh.number_log("seq")] == [
        (i + 1, f"APP-{i}") for i in range(5)]
    assert all(n["at"] == CLOCK.now().isoformat() for n in fresh.number_log("seq"))


def test_verify_finds_drift_and_repair_mends_it(root):
    store = TinyDBStore(root, clock=CLOCK)
    store.create_application(make_app("APP-1"))
    store.create_application(make_app("APP-2", closed=True))
    store.checkpoint()
    (root / "open" / "dol.json").write_text('{"open": {}}')  # an index that lost its entry
    archive = next((root / "archive" / "dol").glob("*.json"))
    archive.write_text('{"closed": {"GHOST": {"id": "GHOST"}}}')
    (root / "applications" / "leftover.json.tmp").parent.mkdir(exist_ok=True)
    (root / "applications" / "leftover.json.tmp").write_text("{")
    fresh = TinyDBStore(root, clock=CLOCK)
    report = verify(fresh)
    codes = sorted(p.code for p in report.problems)
    assert codes == ["archive", "archive", "open", "temp_file"], [str(p) for p in report.problems]
    assert any("APP-1" in p.en and "missing" in p.en for p in report.problems)
    assert any("GHOST" in p.en and "should not list" in p.en for p in report.problems)
    assert all(p.th and p.en for p in report.problems)
    repaired = verify(fresh, repair=True)
    assert repaired.repaired and verify(fresh).ok
    assert [s["id"] for s in fresh.open_applications("dol")] == ["APP-1"]
    assert [s["id"] for s in fresh.closed_applications("dol")] == ["APP-2"]


def test_a_commit_group_waits_for_the_disk_once(root, monkeypatch):
    """One request's writes (draw a number, update, schedule a timer, log a mail)
    reach the disk with a single fsync, before the block ends."""
    from eservice.store import journal

    store = TinyDBStore(root, clock=CLOCK)
    store.create_application(make_app("APP-1"))
    synced = []
    real = journal.os.fsync
    monkeypatch.setattr(journal.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    with store.commit_group():
        number = store.next_number("intake")
        store.modify_application("APP-1", lambda r: r.update(intake_number=number))
        store.collection("timers").put("APP-1", {"due": "later"})
        assert synced == []  # nothing acknowledged yet, nothing waited for
        assert store.get_application("APP-1")["intake_number"] == 1  # visible inside
    assert len(synced) == 1
    store.next_number("intake")  # outside a group: one fsync per write again
    assert len(synced) == 2
