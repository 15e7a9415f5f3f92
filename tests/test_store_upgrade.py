"""A version-1 data folder (written by the v1 store, commit 21caf86, with the
crash drift v1 could leave) is upgraded in place on first open: a backup first,
indexes re-derived from the records, NaN repaired, and then it runs as v2
(#18; #17 items 1 and 3; A-F9, RC-1, IS-4)."""
from __future__ import annotations

import json
import shutil
import tarfile
from datetime import datetime
from pathlib import Path

from eservice.clock import UTC, FixedClock
from eservice.intake_book import intake_book
from eservice.store import open_store
from eservice.store.maintenance import verify

V1 = Path(__file__).parent / "fixtures" / "store-v1"
AGENCY = "nonthaburi-city"
CLOCK = FixedClock(datetime(2026, 3, 10, 3, 0, tzinfo=UTC))


def test_v1_folder_is_upgraded_with_a_backup_and_its_drift_repaired(tmp_path):
    root = tmp_path / "store"
    shutil.copytree(V1, root)
    # What v1 shows after its crash: V1-4 submitted on disk but draft in the inbox,
    # V1-2 closed on disk but still open and missing from the archive.
    v1_inbox = json.loads((root / "open" / f"{AGENCY}.json").read_text())["open"]
    assert v1_inbox["V1-4"]["state"] == "draft" and "V1-2" in v1_inbox

    store = open_store(root, clock=CLOCK)

    report = store.startup
    assert report.upgraded_from == 1 and report.backup is not None
    with tarfile.open(report.backup) as tar:  # the backup holds the v1 folder as it was
        names = set(tar.getnames())
        assert "applications/cd7/V1-4.json" in names and f"open/{AGENCY}.json" in names
        assert tar.extractfile(f"open/{AGENCY}.json").read() == (V1 / "open" / f"{AGENCY}.json").read_bytes()
    assert (root / "FORMAT").read_text() == "eservice-store 2\n"

    inbox = {s["id"]: s for s in store.open_applications(AGENCY)}
    assert inbox["V1-4"]["state"] == "submitted" and inbox["V1-4"]["intake_number"] == "4/2569"
    assert "V1-2" not in inbox and "V1-3" not in inbox
    assert {s["id"] for s in store.closed_applications(AGENCY, "2026-03")} == {"V1-2", "V1-3"}
    assert store.get_application("V1-5")["answers"] == {"shop_name": "ร้าน 5", "shop_area": None}
    assert store.collection("users").get("user-0")["email"] == "a@example.com"
    assert {s["id"] for s in store.applications_of("user-0")} == {"V1-2", "V1-4"}
    assert verify(store).ok

    # It goes on as v2: numbers continue, and the book has every number so far.
    assert store.next_number("intake:nonthaburi-city:2569") == 5
    book = intake_book(store, AGENCY, 2569)
    assert [(r["number"], r["status"]) for r in book] == [
        ("1/2569", "used"), ("2/2569", "used"), ("3/2569", "used"), ("4/2569", "used"), ("5/2569", "not_used")]
    assert book[4]["drawn_for"] is None  # drawn without a note: the book still lists it


def test_second_open_does_not_upgrade_again(tmp_path):
    root = tmp_path / "store"
    shutil.copytree(V1, root)
    open_store(root, clock=CLOCK)
    again = open_store(root, clock=CLOCK)
    assert again.startup.upgraded_from is None
    assert len(list((root / "backups").iterdir())) == 1


def test_unknown_format_is_refused_with_a_clear_message(tmp_path):
    root = tmp_path / "store"
    open_store(root, clock=CLOCK)
    (root / "FORMAT").write_text("eservice-store 9\n")
    try:
        open_store(root, clock=CLOCK)
    except RuntimeError as exc:
        assert "ไม่รู้จัก" in str(exc) and "unknown data folder format" in str(exc)
    else:
        raise AssertionError("a folder of an unknown format was opened")
