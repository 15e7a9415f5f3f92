"""The audit trail: hash-linked daily files, tamper detection, crash repair,
concurrent writers, search and the ``eservice audit verify`` command.

Everything runs on real files in ``tmp_path``; the multi-process test uses the
``spawn`` start method.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from eservice.audit import AuditLog, audit_command
from eservice.clock import BANGKOK, UTC, FixedClock
from eservice.events import GENESIS, event_hash
from eservice.policy import Actor, Grant

START = datetime(2024, 1, 22, 8, 30, tzinfo=BANGKOK)  # a Monday morning in Bangkok
OFFICER = Actor(user_id="u-officer", grants=(Grant("dol", "reviewer"),), ip="203.0.113.9",
                user_agent="Firefox/122")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def log(tmp_path, clock) -> AuditLog:
    return AuditLog(tmp_path / "data", clock, durable=False)


def fill(log: AuditLog, clock: FixedClock, days: int = 4, per_day: int = 10) -> list[dict]:
    """``per_day`` events a day over ``days`` days, 50 minutes apart from 08:30."""
    recorded = []
    for day in range(days):
        clock.set(START + timedelta(days=day))
        for i in range(per_day):
            recorded.append(log.record(OFFICER, "application.view", target=f"app-{(day * per_day + i) % 7}",
                                       agency="dol", details={"page": "answers", "n": day * per_day + i}))
            clock.advance(minutes=50)
    return recorded


def day_files(log: AuditLog) -> list[Path]:
    return sorted(log.folder.glob("*/*/*.jsonl"))


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def problems_of(log: AuditLog, code: str | None = None):
    return [p for p in log.check().problems if code is None or p.code == code]


# -- recording -----------------------------------------------------------------------

def test_events_across_days_form_one_intact_chain(log, clock):  # R: A-X1, A-X2
    recorded = fill(log, clock)
    assert [e["seq"] for e in recorded] == list(range(1, 41))
    files = day_files(log)
    assert [p.relative_to(log.folder).as_posix() for p in files] == [
        "2024/01/22.jsonl", "2024/01/23.jsonl", "2024/01/24.jsonl", "2024/01/25.jsonl"]
    assert all(len(lines_of(p)) == 10 for p in files)
    # the first event of a day links to the last event of the previous file
    last_of_day1 = json.loads(lines_of(files[0])[-1])
    first_of_day2 = json.loads(lines_of(files[1])[0])
    assert first_of_day2["prev"] == last_of_day1["hash"] and recorded[0]["prev"] == GENESIS
    assert log.verify() == []
    check = log.check()
    assert check.intact and check.events == 40
    assert log.head() == {"seq": 40, "hash": recorded[-1]["hash"]}
    assert json.loads(log.head_path.read_text()) == {
        "seq": 40, "hash": recorded[-1]["hash"], "file": "2024/01/25.jsonl", "size": files[-1].stat().st_size}


def test_an_event_has_who_when_what_and_from_where(log, clock):  # R: A-X1
    event = log.record(OFFICER, "application.view", target="app-1", agency="dol",
                       details={"page": "documents", "when": date(2024, 1, 22)})
    assert event == {
        "seq": 1, "at": "2024-01-22T01:30:00+00:00", "actor": "u-officer", "action": "application.view",
        "target": "app-1", "agency": "dol", "ip": "203.0.113.9", "user_agent": "Firefox/122",
        "details": {"page": "documents", "when": "2024-01-22"}, "prev": GENESIS, "hash": event["hash"]}
    assert event_hash(event) == event["hash"]
    stored = json.loads(day_files(log)[0].read_text(encoding="utf-8"))
    assert stored == event  # the line reads back to exactly what was hashed
    second = log.record("u-citizen", "application.submit", ip="198.51.100.7", details={"ชื่อ": "คำขอ"})
    assert second["actor"] == "u-citizen" and second["ip"] == "198.51.100.7" and second["prev"] == event["hash"]
    assert "คำขอ" in day_files(log)[0].read_text(encoding="utf-8")  # Thai readable in the file
    with pytest.raises(ValueError):
        log.record("u-1", "  ")


def test_a_day_is_a_bangkok_day(log, clock):
    clock.set(datetime(2024, 1, 22, 16, 59, tzinfo=UTC))  # 23:59 Bangkok
    log.record("u-1", "login")
    clock.set(datetime(2024, 1, 22, 17, 1, tzinfo=UTC))  # 00:01 Bangkok, the 23rd
    log.record("u-1", "logout")
    assert [p.name for p in day_files(log)] == ["22.jsonl", "23.jsonl"]


def test_a_clock_stepping_back_never_writes_into_an_older_file(log, clock):
    clock.set(START + timedelta(days=1))
    log.record("u-1", "a")
    clock.set(START)  # the day before
    log.record("u-1", "b")
    assert [p.name for p in day_files(log)] == ["23.jsonl"]
    assert log.verify() == []


# -- tampering -------------------------------------------------------------------------

def test_one_changed_byte_is_found_with_its_seq(log, clock):  # R: A-X2
    fill(log, clock)
    path = day_files(log)[1]
    lines = lines_of(path)
    assert b'"n":13' in lines[3]
    lines[3] = lines[3].replace(b'"n":13', b'"n":18')  # one byte
    path.write_bytes(b"".join(lines))
    found = log.check().problems
    assert [(p.code, p.seq) for p in found] == [("changed", 14)]
    text = log.verify()
    assert len(text) == 1 and "event 14" in text[0] and "ลำดับที่ 14" in text[0]


def test_a_changed_event_with_a_recomputed_hash_breaks_the_next_link(log, clock):
    fill(log, clock)
    path = day_files(log)[0]
    lines = lines_of(path)
    event = json.loads(lines[4])
    event["actor"] = "u-someone-else"
    event["hash"] = event_hash(event)
    lines[4] = (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    path.write_bytes(b"".join(lines))
    assert [(p.code, p.seq) for p in log.check().problems] == [("broken_link", 6)]
    assert "event 5 was changed" in log.verify()[0]


def test_a_removed_line_is_found(log, clock):
    fill(log, clock)
    path = day_files(log)[2]
    lines = lines_of(path)
    del lines[5]  # event 26
    path.write_bytes(b"".join(lines))
    found = log.check().problems
    assert [(p.code, p.seq) for p in found] == [("missing", 26)]
    assert "event(s) 26 are missing" in str(found[0])


def test_a_removed_last_line_is_found_through_the_head(log, clock):
    fill(log, clock)
    path = day_files(log)[-1]
    path.write_bytes(b"".join(lines_of(path)[:-1]))  # event 40 removed, the chain itself still links
    found = log.check().problems
    assert [(p.code, p.seq) for p in found] == [("head", 40)]
    assert "event(s) 40 at the end are missing" in str(found[0])


def test_a_deleted_day_file_in_the_middle_is_found(log, clock):
    fill(log, clock)
    day_files(log)[1].unlink()  # events 11-20
    found = log.check().problems
    assert [(p.code, p.seq) for p in found] == [("missing", 11)]
    assert "11–20" in str(found[0]) and "day file" in str(found[0])
    assert "2024/01/22.jsonl" in found[0].en and "2024/01/24.jsonl" in found[0].en


def test_a_deleted_first_file_is_found(log, clock):
    fill(log, clock, days=2)
    day_files(log)[0].unlink()
    assert [(p.code, p.seq) for p in log.check().problems] == [("missing", 1)]


def test_reordered_events_are_found(log, clock):
    fill(log, clock, days=1)
    path = day_files(log)[0]
    lines = lines_of(path)
    lines[2], lines[3] = lines[3], lines[2]  # events 3 and 4 swapped
    path.write_bytes(b"".join(lines))
    assert [(p.code, p.seq) for p in log.check().problems] == [("reordered", 4), ("reordered", 3)]


def test_a_duplicated_event_is_found(log, clock):
    fill(log, clock, days=1)
    path = day_files(log)[0]
    lines = lines_of(path)
    path.write_bytes(b"".join(lines[:5] + [lines[4]] + lines[5:]))
    assert [(p.code, p.seq) for p in log.check().problems] == [("duplicate", 5)]


def test_a_garbled_line_is_reported_once(log, clock):
    fill(log, clock, days=1)
    path = day_files(log)[0]
    lines = lines_of(path)
    lines[6] = b"\x00\x00 not json\n"
    path.write_bytes(b"".join(lines))
    found = log.check().problems
    assert [(p.code, p.line) for p in found] == [("corrupt", 7)]


def test_a_rewritten_chain_is_caught_by_a_published_head(log, clock):
    fill(log, clock, days=1)
    published = log.head()  # e.g. e-mailed to the head of agency every evening
    # someone able to write the files rewrites event 3 and recomputes every hash after it
    path = day_files(log)[0]
    events = [json.loads(line) for line in lines_of(path)]
    events[2]["target"] = "app-other"
    for i in range(2, len(events)):
        events[i]["prev"] = events[i - 1]["hash"]
        events[i]["hash"] = event_hash(events[i])
    path.write_bytes(b"".join((json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
                              for e in events))
    log.head_path.write_text(json.dumps({"seq": 10, "hash": events[-1]["hash"], "file": "2024/01/22.jsonl",
                                         "size": path.stat().st_size}))
    assert log.verify() == []  # a consistent forgery: the chain alone cannot tell
    found = log.verify(expected_head=published)
    assert len(found) == 1 and "rewritten" in found[0]


# -- crashes ---------------------------------------------------------------------------

def test_a_torn_last_line_is_reported_then_repaired_in_the_open(log, clock):
    fill(log, clock, days=2)
    path = day_files(log)[-1]
    good_size = path.stat().st_size
    with open(path, "ab") as f:  # a crash in the middle of writing event 21
        f.write(b'{"seq":21,"at":"2024-01-23T10:00:00+00:00","actor":"u-offi')
    found = log.check().problems
    assert [(p.code, p.line) for p in found] == [("torn", 11)]
    assert "incomplete" in str(found[0]) and "ไม่สมบูรณ์" in str(found[0])

    event = log.record(OFFICER, "application.view", target="app-9")
    assert event["seq"] == 22  # 21 records the repair itself
    assert log.verify() == []
    repair = log.search(action="audit.recovered")
    assert len(repair) == 1 and repair[0]["seq"] == 21
    assert repair[0]["details"]["offset"] == good_size and repair[0]["details"]["file"] == "2024/01/23.jsonl"
    kept = log.folder / repair[0]["details"]["quarantine"]
    assert kept.read_bytes().startswith(b'{"seq":21')  # the evidence is kept, not deleted


def test_a_line_written_before_the_head_is_adopted(log, clock):
    fill(log, clock, days=1)
    before = log.head_path.read_bytes()
    clock.advance(minutes=5)
    log.record("u-1", "login")              # event 11 written...
    log.head_path.write_bytes(before)       # ...but the crash came before head.json was replaced
    assert log.verify() == []               # a whole line continuing the chain is not a problem
    event = log.record("u-1", "logout")
    assert event["seq"] == 12 and log.verify() == []
    assert [e["seq"] for e in log.events()] == list(range(1, 13))


def test_a_line_written_on_a_new_day_before_the_head_is_adopted(log, clock):
    fill(log, clock, days=1)
    before = log.head_path.read_bytes()
    clock.set(START + timedelta(days=1))
    log.record("u-1", "login")              # the first event of a new day file...
    log.head_path.write_bytes(before)       # ...and the crash before the head moved to it
    clock.set(START + timedelta(days=2))
    assert log.record("u-1", "logout")["seq"] == 12
    assert log.verify() == [] and len(day_files(log)) == 3


def test_a_missing_head_is_reported_and_the_repair_recorded(log, clock):
    fill(log, clock, days=1)
    log.head_path.unlink()
    assert [p.code for p in log.check().problems] == ["head"]
    event = log.record("u-1", "login")
    assert event["seq"] == 12
    anomaly = log.search(action="audit.anomaly")
    assert anomaly[0]["seq"] == 11 and anomaly[0]["details"]["problem"] == "head_missing"
    assert log.verify() == []


def test_appending_after_the_last_line_was_removed_keeps_the_gap_visible(log, clock):
    fill(log, clock, days=1)
    path = day_files(log)[0]
    path.write_bytes(b"".join(lines_of(path)[:-1]))  # event 10 removed
    log.record("u-1", "login")
    found = log.check().problems
    assert [(p.code, p.seq) for p in found] == [("missing", 10)]
    assert log.search(action="audit.anomaly")[0]["details"]["problem"] == "head_file_shorter"


# -- concurrency ---------------------------------------------------------------------------

def _append_many(root: str, tag: str, n: int, barrier) -> None:
    log = AuditLog(root)  # durable, real clock: as in production
    barrier.wait()
    for i in range(n):
        log.record(tag, "application.view", target=f"{tag}-{i}", details={"i": i})


def test_processes_appending_at_once_lose_nothing(tmp_path):  # R: A-X2
    root, n, tags = tmp_path / "data", 60, ("A", "B", "C")
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(tags))
    procs = [ctx.Process(target=_append_many, args=(str(root), tag, n, barrier)) for tag in tags]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * len(tags)
    log = AuditLog(root)
    events = list(log.events())
    assert [e["seq"] for e in events] == list(range(1, n * len(tags) + 1))
    for tag in tags:
        assert sorted(e["details"]["i"] for e in events if e["actor"] == tag) == list(range(n))
    assert log.verify() == []
    assert log.head()["seq"] == n * len(tags)


# -- search ----------------------------------------------------------------------------------

def test_search_for_the_back_office(log, clock):  # R: A-X1
    fill(log, clock)
    clock.set(START + timedelta(days=4))
    log.record("u-citizen", "application.submit", target="app-3", agency="dol")
    by_target = log.search(target="app-3")
    assert [e["details"].get("n") for e in by_target] == [None, 38, 31, 24, 17, 10, 3]  # newest first
    assert [e["seq"] for e in log.search(actor=OFFICER, limit=3)] == [40, 39, 38]
    assert [e["seq"] for e in log.search(actor="u-citizen")] == [41]
    one_day = log.search(since=date(2024, 1, 23), until=date(2024, 1, 23))
    assert sorted(e["seq"] for e in one_day) == list(range(11, 21))
    window = log.search(since=START + timedelta(days=1, minutes=100), until=START + timedelta(days=1, minutes=200))
    assert [e["seq"] for e in window] == [15, 14, 13]
    assert [e["seq"] for e in log.search(action="application.", target="app-3", limit=2)] == [41, 39]
    assert log.search(agency="other") == [] and log.search(limit=0) == []


# -- the command ----------------------------------------------------------------------------

def test_audit_verify_command(tmp_path, clock, capsys):
    data = tmp_path / "data"
    log = AuditLog(data, clock, durable=False)
    fill(log, clock, days=2, per_day=3)
    args = argparse.Namespace(data=str(data), audit_action="verify")
    assert audit_command(args) == 0
    assert "intact: 6 events" in capsys.readouterr().out

    path = day_files(log)[0]
    path.write_bytes(b"".join(lines_of(path)[:-1]))  # event 3 removed
    assert audit_command(args) == 1
    out = capsys.readouterr().out
    assert "event(s) 3 are missing" in out and "เหตุการณ์ลำดับที่ 3 หายไป" in out

    assert audit_command(argparse.Namespace(data=str(data), audit_action="verify", json=True)) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["intact"] is False and report["problems"][0]["seq"] == 3

    assert audit_command(argparse.Namespace(data=str(tmp_path / "nowhere"), audit_action="verify")) == 2
