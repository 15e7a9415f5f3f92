"""The embedded TinyDB store: correctness, concurrency and crash safety.

Everything runs on real files in ``tmp_path``; the multi-process tests use the
``spawn`` start method, so the children share nothing with the test process
except the data folder.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import time
from datetime import datetime
from pathlib import Path

import pytest

from eservice.clock import UTC, FixedClock
from eservice.store import ConflictError, NotFoundError, TinyDBStore, open_store
from eservice.store import atomic
from eservice.store.atomic import AtomicJSONStorage


def make_app(app_id: str, *, agency: str = "dol", applicant: str | None = "1100100000001",
             closed: bool = False, **extra) -> dict:
    return {"id": app_id, "agency": agency, "service": "land-survey", "state": "submitted",
            "closed": closed, "applicant": applicant, "answers": {"name": "สมชาย ใจดี"},
            "events": [], **extra}


@pytest.fixture
def store(tmp_path) -> TinyDBStore:
    clock = FixedClock(datetime(2024, 5, 10, 3, 0, tzinfo=UTC))
    return TinyDBStore(tmp_path / "data", clock=clock)


def all_json_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.json")]


# -- basic behaviour --------------------------------------------------------------

def test_create_get_round_trip_in_a_sharded_file(store):  # R: A-F9
    created = store.create_application(make_app("APP-1", answers={"ชื่อ": "ร้านค้า"}))
    assert created["version"] == 1
    got = store.get_application("APP-1")
    assert got == created and got["answers"] == {"ชื่อ": "ร้านค้า"}
    path = store.application_path("APP-1")
    assert not path.exists()  # the journal holds it until a checkpoint
    assert store.checkpoint() == 1
    assert store.get_application("APP-1") == created
    assert path.is_file() and path.relative_to(store.root).parts[0] == "applications"
    assert len(path.relative_to(store.root).parts) == 3  # applications/abc/APP-1.json
    assert "ร้านค้า" in path.read_text(encoding="utf-8")  # Thai stored readable, not \\u-escaped


def test_creating_an_existing_id_is_a_conflict(store):
    store.create_application(make_app("APP-1"))
    with pytest.raises(ConflictError) as info:
        store.create_application(make_app("APP-1", state="draft"))
    assert "already exists" in info.value.en and "มีข้อมูล APP-1 อยู่แล้ว" in info.value.th
    assert store.get_application("APP-1")["state"] == "submitted"


def test_missing_application_raises_not_found(store):
    with pytest.raises(NotFoundError) as info:
        store.get_application("NOPE")
    assert isinstance(info.value, KeyError)
    assert str(info.value) == "ไม่พบคำขอ NOPE / application NOPE not found"
    with pytest.raises(NotFoundError):
        store.update_application(make_app("NOPE"), 1)
    assert not list(store.root.rglob("NOPE*"))  # a lookup creates no file


def test_stale_update_raises_a_clear_conflict(store):  # two officers on one application
    first = store.create_application(make_app("APP-1"))
    officer_a, officer_b = dict(first), dict(first)
    officer_a["state"] = "approved"
    assert store.update_application(officer_a, expected_version=1)["version"] == 2
    officer_b["state"] = "rejected"
    with pytest.raises(ConflictError) as info:
        store.update_application(officer_b, expected_version=1)
    err = info.value
    assert (err.key, err.expected, err.actual) == ("APP-1", 1, 2)
    assert "changed by someone else" in err.en and "version 2, you had 1" in err.en
    assert "ถูกแก้ไขโดยผู้อื่นแล้ว" in err.th and str(err).startswith(err.th)
    stored = store.get_application("APP-1")
    assert stored["state"] == "approved" and stored["version"] == 2
    assert store.open_applications("dol")[0]["state"] == "approved"


def test_modify_application_in_place_or_by_return(store):
    store.create_application(make_app("APP-1"))
    store.modify_application("APP-1", lambda r: r["events"].append({"type": "submitted"}))
    after = store.modify_application("APP-1", lambda r: {**r, "state": "in_review"})
    assert after["version"] == 3 and after["state"] == "in_review"
    assert store.get_application("APP-1")["events"] == [{"type": "submitted"}]


def test_unsafe_names_are_rejected_before_touching_disk(store, tmp_path):  # R: A-X2
    for bad in ("../evil", "a/b", ".hidden", "", "x" * 200):
        with pytest.raises(ValueError):
            store.create_application(make_app(bad))
    with pytest.raises(ValueError):
        store.create_application(make_app("APP-1", agency="../../etc"))
    with pytest.raises(ValueError):
        store.open_applications("../dol")
    with pytest.raises(ValueError):
        store.collection("../users")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert not any(store.root.rglob("*evil*")) and not any(store.root.rglob("*etc*"))


# -- indexes --------------------------------------------------------------------

def test_closing_moves_the_summary_from_inbox_to_archive(store):  # R: A-R1, A-R6
    store.create_application(make_app("APP-1", applicant="A"))
    store.create_application(make_app("APP-2", applicant="A"))
    store.create_application(make_app("APP-3", applicant="B", agency="dopa"))
    assert [s["id"] for s in store.open_applications("dol")] == ["APP-1", "APP-2"]

    closed = store.modify_application("APP-1", lambda r: r.update(
        state="disposed", closed=True, closed_at="2024-05-31T18:00:00+00:00"))  # 1 June in Bangkok
    assert [s["id"] for s in store.open_applications("dol")] == ["APP-2"]
    archived = list(store.closed_applications("dol"))
    assert [(s["id"], s["state"], s["version"]) for s in archived] == [("APP-1", "disposed", 2)]
    assert list(store.closed_applications("dol", "2024-06")) == archived
    assert list(store.closed_applications("dol", "2024-05")) == []
    mine = {s["id"]: s for s in store.applications_of("A")}
    assert mine.keys() == {"APP-1", "APP-2"} and mine["APP-1"]["closed"] is True
    assert mine["APP-1"] == archived[0] == {k: closed.get(k) for k in archived[0]}
    assert [s["id"] for s in store.applications_of("B")] == ["APP-3"]
    assert store.open_applications("dopa")[0]["id"] == "APP-3"

    # A later update of a closed application stays in the same month's archive.
    store.modify_application("APP-1", lambda r: r.update(state="archived"))
    assert [s["state"] for s in store.closed_applications("dol", "2024-06")] == ["archived"]

    # Re-opening brings it back to the inbox and out of the archive.
    store.modify_application("APP-1", lambda r: r.update(state="reopened", closed=False))
    assert {s["id"] for s in store.open_applications("dol")} == {"APP-1", "APP-2"}
    assert list(store.closed_applications("dol")) == []


def test_archive_period_defaults_to_the_clock_month_in_bangkok(tmp_path):
    clock = FixedClock(datetime(2024, 12, 31, 17, 30, tzinfo=UTC))  # 1 Jan 2025 in Bangkok
    store = TinyDBStore(tmp_path, clock=clock)
    store.create_application(make_app("APP-1", closed=True))
    assert [s["id"] for s in store.closed_applications("dol", "2025-01")] == ["APP-1"]
    with pytest.raises(ValueError):
        list(store.closed_applications("dol", "2025-13"))


def test_moving_agency_or_applicant_updates_both_sides(store):
    store.create_application(make_app("APP-1", applicant="A"))
    store.modify_application("APP-1", lambda r: r.update(agency="dopa", applicant="B"))
    assert store.open_applications("dol") == []
    assert [s["id"] for s in store.open_applications("dopa")] == ["APP-1"]
    assert store.applications_of("A") == [] and len(store.applications_of("B")) == 1


def test_a_write_appends_one_journal_line_and_nothing_else(store, monkeypatch):  # R: NF-1 (load)
    """Neither history nor open work enters the write path: a create or update
    appends one line to the journal; the files are written by checkpoints, which
    touch only the application's own file, the inbox and the applicant's index."""
    for i in range(40):
        store.create_application(make_app(f"OLD-{i}", applicant=f"P{i}", closed=True))
    store.create_application(make_app("OPEN-1", applicant="P-new"))
    store.checkpoint()
    written: list[tuple[Path, int]] = []
    real = atomic.atomic_write_bytes
    monkeypatch.setattr(atomic, "atomic_write_bytes",
                        lambda path, data, **kw: (written.append((Path(path), len(data))), real(path, data, **kw)))
    journal = store.root / "journal.log"
    size = journal.stat().st_size
    store.create_application(make_app("NEW-1", applicant="P-new"))
    assert written == [] and 0 < journal.stat().st_size - size < 2000
    store.modify_application("NEW-1", lambda r: r.update(state="in_review"))
    assert written == []
    assert [(s["id"], s["state"]) for s in store.open_applications("dol")] == [
        ("NEW-1", "in_review"), ("OPEN-1", "submitted")]
    store.checkpoint()
    rel = sorted({str(p.relative_to(store.root).parts[0]) for p, _ in written})
    assert rel == ["applicants", "applications", "open"]
    open_index = json.loads((store.root / "open" / "dol.json").read_text())
    assert set(open_index["open"]) == {"OPEN-1", "NEW-1"}
    assert not any(p.parts[-2:-1] == ("archive",) for p, _ in written)


def test_rebuild_indexes_recovers_from_lost_index_files(store):
    store.create_application(make_app("APP-1", applicant="A"))
    store.create_application(make_app("APP-2", applicant="A", closed=True))
    before = (store.open_applications("dol"), list(store.closed_applications("dol")),
              store.applications_of("A"))
    store.checkpoint()
    for folder in ("open", "archive", "applicants"):
        for p in (store.root / folder).rglob("*.json"):
            p.unlink()
    store = TinyDBStore(store.root, clock=store.clock)  # a process that starts now
    assert store.open_applications("dol") == []
    assert store.rebuild_indexes() == 2
    assert (store.open_applications("dol"), list(store.closed_applications("dol")),
            store.applications_of("A")) == before


def test_bulk_import_builds_the_same_indexes(tmp_path):
    clock = FixedClock(datetime(2024, 5, 10, tzinfo=UTC))
    slow, fast = TinyDBStore(tmp_path / "a", clock=clock), TinyDBStore(tmp_path / "b", clock=clock)
    apps = [make_app(f"APP-{i}", applicant=f"P{i % 3}", closed=i % 4 == 0) for i in range(12)]
    for app in apps:
        slow.create_application(app)
    assert fast.bulk_import(apps) == 12
    assert fast.open_applications("dol") == slow.open_applications("dol")
    assert list(fast.closed_applications("dol")) == list(slow.closed_applications("dol"))
    assert fast.applications_of("P1") == slow.applications_of("P1")
    with pytest.raises(ValueError):
        fast.bulk_import(apps[:1])  # only into an empty store


# -- sequences and collections ------------------------------------------------------

def test_sequences_count_independently(store):
    assert [store.next_number("intake-2567") for _ in range(3)] == [1, 2, 3]
    assert store.next_number("receipt") == 1
    assert open_store(store.root).next_number("intake-2567") == 4  # persisted


def test_collection_put_get_find_delete_with_versions(store):
    users = store.collection("users")
    u = users.put("u1", {"name": "สมหญิง", "role": "officer"})
    users.put("u2", {"name": "B", "role": "citizen"})
    users.put("../../x", {"name": "odd key", "role": "citizen"})  # keys never become paths
    assert u["version"] == 1 and users.get("u1") == u and users.get("nobody") is None
    with pytest.raises(ConflictError):
        users.put("u1", {"name": "again"})  # insert over an existing key
    u2 = users.put("u1", {**u, "role": "approver"}, expected_version=1)
    assert u2["version"] == 2
    with pytest.raises(ConflictError) as info:
        users.put("u1", {**u, "role": "admin"}, expected_version=1)
    assert info.value.key == "users/u1" and info.value.actual == 2
    with pytest.raises(NotFoundError):
        users.put("ghost", {"name": "x"}, expected_version=3)
    assert {r["name"] for r in users.find(role="citizen")} == {"B", "odd key"}
    assert users.find(role="approver", name="สมหญิง") == [u2]
    assert len(list(users.all())) == 3
    assert all(p.is_relative_to(store.root / "collections" / "users") for p in all_json_files(store.root / "collections"))
    users.delete("u2")
    users.delete("u2")  # idempotent
    assert users.get("u2") is None and len(list(store.collection("users").all())) == 2
    assert list(store.collection("payments").all()) == []


# -- crash safety -----------------------------------------------------------------

def test_failed_replace_leaves_the_old_file_whole(tmp_path, monkeypatch):
    """Crash just before the rename: the old file is intact, no temp file remains."""
    path = tmp_path / "db.json"
    storage = AtomicJSONStorage(path)
    storage.write({"t": {"1": {"v": "old"}}})

    def crash(src, dst):
        raise OSError("simulated power cut")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        storage.write({"t": {"1": {"v": "new" * 1000}}})
    assert storage.read() == {"t": {"1": {"v": "old"}}}
    assert [p.name for p in tmp_path.iterdir()] == ["db.json"]


# Children for the multi-process tests (module level, so ``spawn`` can import them).

def _concurrent_writer(root: str, tag: str, n: int, barrier, out: str) -> None:
    store = open_store(root)
    users = store.collection("users")
    numbers, conflicts = [], 0
    barrier.wait()
    for i in range(n):
        store.create_application(make_app(f"{tag}-{i}", applicant=tag))
        store.modify_application("SHARED", lambda r: r["events"].append(tag))  # under the lock
        while True:  # optimistic: re-read and retry on conflict
            current = store.get_application("SHARED")
            current["count"] += 1
            try:
                store.update_application(current, current["version"])
                break
            except ConflictError:
                conflicts += 1
        numbers.append(store.next_number("intake"))
        users.put(f"{tag}-user-{i}", {"tag": tag})
    Path(out).write_text(json.dumps({"numbers": numbers, "conflicts": conflicts}))


def test_two_processes_writing_at_once_lose_nothing(tmp_path):  # R: A-F9
    root, n = tmp_path / "data", 25
    store = open_store(root)
    store.create_application(make_app("SHARED", applicant=None, count=0))
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_concurrent_writer, args=(str(root), tag, n, barrier, str(tmp_path / f"{tag}.out")))
             for tag in ("A", "B")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]

    shared = store.get_application("SHARED")
    assert shared["count"] == 2 * n                          # no lost optimistic update
    assert sorted(shared["events"]) == ["A"] * n + ["B"] * n  # no lost locked update
    assert shared["version"] == 1 + 4 * n
    inbox = {s["id"]: s for s in store.open_applications("dol")}
    assert len(inbox) == 2 * n + 1 and inbox["SHARED"]["version"] == shared["version"]
    assert {s["id"] for s in store.applications_of("A")} == {f"A-{i}" for i in range(n)}
    assert len(store.applications_of("B")) == n
    outs = [json.loads((tmp_path / f"{t}.out").read_text()) for t in ("A", "B")]
    numbers = outs[0]["numbers"] + outs[1]["numbers"]
    assert sorted(numbers) == list(range(1, 2 * n + 1))     # no number issued twice
    assert store.next_number("intake") == 2 * n + 1
    assert len(list(store.collection("users").all())) == 2 * n


def _payload(n: int) -> str:
    return f"{n:08d}" * 8000  # ~64 KB, so a kill often lands mid-write


def _update_until_killed(root: str) -> None:
    store = open_store(root)
    while True:
        store.modify_application("APP-K", lambda r: r.update(n=r["n"] + 1, payload=_payload(r["n"] + 1)))
        store.next_number("ticks")


def test_sigkill_mid_write_leaves_a_complete_earlier_version(tmp_path):  # R: A-F9
    root = tmp_path / "data"
    store = open_store(root, lock_timeout=5)
    store.create_application(make_app("APP-K", n=0, payload=_payload(0)))
    ctx = multiprocessing.get_context("spawn")
    rng = random.Random(7)
    last = 0
    for _ in range(3):
        child = ctx.Process(target=_update_until_killed, args=(str(root),))
        child.start()
        deadline = time.monotonic() + 20
        while store.get_application("APP-K")["n"] < last + 5 and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert child.exitcode == -signal.SIGKILL

        for path in all_json_files(root):
            json.loads(path.read_text(encoding="utf-8"))  # every file parses
        record = store.get_application("APP-K")
        assert record["n"] > last and record["version"] == record["n"] + 1
        assert record["payload"] == _payload(record["n"])  # complete, self-consistent
        summary = store.open_applications("dol")[0]
        assert summary["version"] in (record["version"], record["version"] - 1)
        last = record["n"]

    # Locks died with the child: the next writer goes straight through and heals the index.
    after = store.modify_application("APP-K", lambda r: r.update(n=r["n"] + 1, payload=_payload(r["n"] + 1)))
    assert store.open_applications("dol")[0]["version"] == after["version"]
    assert store.next_number("ticks") >= 1
