"""Opening, upgrading and checking an embedded store's data folder.

``open_data_folder`` runs whenever a store is opened: it upgrades a version-1
folder in place (after a backup), creates the journal, removes temporary files a
killed checkpoint left, and reads the journal back (the replay after a crash).
``verify`` is ``eservice store verify``: it folds the journal into the files and
then checks every index against the application records; ``repair=True``
rebuilds what drifted.

Requirements: A-F9 (requests stored securely), RC-1 (nothing registered is lost
or hidden), IS-4 (a backup before any upgrade).
"""
from __future__ import annotations

import fcntl
import math
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .atomic import AtomicJSONStorage, atomic_write_bytes
from .base import LockTimeoutError
from .journal import flocked
from .layout import CHECKPOINT_MARKER, FORMAT_TEXT, V1_MARKERS
from .layout import name_digest as _digest

if TYPE_CHECKING:
    from .tinydb_store import TinyDBStore

__all__ = ["Problem", "Report", "open_data_folder", "verify", "finite"]


@dataclass(frozen=True)
class Problem:
    code: str
    th: str
    en: str

    def __str__(self) -> str:
        return f"{self.th} / {self.en}"


@dataclass
class Report:
    """What opening or verifying a data folder found and did."""
    problems: list[Problem] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    upgraded_from: int | None = None
    backup: Path | None = None

    def add(self, code: str, th: str, en: str) -> None:
        self.problems.append(Problem(code, th, en))

    @property
    def ok(self) -> bool:
        return not self.problems


def finite(value: Any) -> tuple[Any, int]:
    """``value`` with NaN and ±Infinity replaced by None, and how many were."""
    if isinstance(value, float) and not math.isfinite(value):
        return None, 1
    if isinstance(value, dict):
        count, out = 0, {}
        for k, v in value.items():
            out[k], n = finite(v)
            count += n
        return out, count
    if isinstance(value, list):
        count, items = 0, []
        for v in value:
            item, n = finite(v)
            items.append(item)
            count += n
        return items, count
    return value, 0


def _is_v1(root: Path) -> bool:
    return any((root / name).exists() for name in V1_MARKERS)


def open_data_folder(store: TinyDBStore) -> Report:
    """The cheap part of verification, run at every start."""
    report = Report()
    fmt = store.root / "FORMAT"
    if not fmt.is_file() or not store.journal.exists():
        with store.exclusive():
            if not fmt.is_file():
                if _is_v1(store.root):
                    _upgrade_v1(store, report)
                atomic_write_bytes(fmt, FORMAT_TEXT.encode(), durable=store.durable)
            if not store.journal.exists():
                store.journal.create(1)
    else:
        if fmt.read_text(encoding="utf-8") != FORMAT_TEXT:
            raise RuntimeError(
                f"รูปแบบโฟลเดอร์ข้อมูล {store.root} ไม่รู้จัก ({fmt.read_text(encoding='utf-8').strip()!r}): "
                f"ใช้ eservice รุ่นที่สร้างโฟลเดอร์นี้ / unknown data folder format in {store.root}; "
                "use the eservice version that wrote it")
    overlay = store.catch_up()  # replay the journal (the sealed generation first, if any)
    torn = overlay.file.torn + (overlay.sealed.torn if overlay.sealed else 0)
    if torn:  # a writer killed mid-line: never acknowledged, so nothing is lost
        report.repaired.append(f"skipped {torn} torn journal line(s) (never acknowledged)")
    _remove_temp_files(store, report)
    if overlay.sealed is not None:
        try:  # a fold that a killed process left: finish it now (idempotent)
            store.fold_pending(timeout=0.05)
        except LockTimeoutError:
            pass  # another process is folding it
    return report


def _remove_temp_files(store: TinyDBStore, report: Report) -> None:
    """After a fold that was killed (its marker is still there), and only when
    no seal or fold can be running (both locks are free now)."""
    if not (store.root / CHECKPOINT_MARKER).exists():
        return
    try:
        with _try_exclusive(store):
            with store.fold_lock(timeout=0.05):
                for path in store.temp_files():
                    path.unlink(missing_ok=True)
                    report.repaired.append(f"removed {path.relative_to(store.root)}")
            store._checkpoint_locked()  # finish what was interrupted (idempotent)
            (store.root / CHECKPOINT_MARKER).unlink(missing_ok=True)
    except LockTimeoutError:
        pass  # another process is sealing or folding: it is not ours to clean now


def _try_exclusive(store: TinyDBStore):
    return flocked(store.root / "locks" / "checkpoint.lock", fcntl.LOCK_EX, 0.05)


def _upgrade_v1(store: TinyDBStore, report: Report) -> None:
    """Back up the version-1 folder, then derive its indexes afresh from the
    records (version 1 could leave them behind after a crash) and repair
    non-finite numbers.  The caller holds the exclusive lock."""
    from datetime import datetime
    backups = store.root / "backups"
    backups.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    target = backups / f"store-v1-{stamp}.tar.gz"
    with tarfile.open(target, "w:gz", compresslevel=1) as tar:
        for path in sorted(store.root.iterdir()):
            if path.name not in ("backups", "locks"):
                tar.add(path, arcname=path.name)
    report.upgraded_from, report.backup = 1, target
    _repair_non_finite(store, report)
    if not store.journal.exists():
        store.journal.create(1)
    store._write_indexes(list(store.stored_applications()))
    report.repaired.append("indexes rebuilt from the application records")


def _repair_non_finite(store: TinyDBStore, report: Report) -> None:
    for path in store._application_files():
        storage = AtomicJSONStorage(path, durable=store.durable)
        data = storage.read() or {}
        fixed, count = finite(data)
        if count:
            storage.write(fixed)
            report.repaired.append(f"{path.relative_to(store.root)}: {count} NaN/Infinity value(s) set to null")


def verify(store: TinyDBStore, *, repair: bool = False) -> Report:
    """Fold the journal in, then compare every index file with what the
    application records say it must hold; report leftover temporary files and
    non-finite numbers.  ``repair`` rebuilds the indexes and removes leftovers."""
    report = Report()
    with store.exclusive():
        overlay = store.catch_up()
        torn = overlay.file.torn + (overlay.sealed.torn if overlay.sealed else 0)
        if torn:
            report.repaired.append(f"dropped {torn} torn journal line(s) (never acknowledged)")
        store._checkpoint_locked()
        for path in store.temp_files():
            report.add("temp_file", f"ไฟล์ชั่วคราวค้าง: {path.relative_to(store.root)}",
                       f"leftover temporary file: {path.relative_to(store.root)}")
            if repair:
                path.unlink(missing_ok=True)
        entries = []
        for record, period in store.stored_applications():
            if finite(record)[1]:
                report.add("non_finite", f"คำขอ {record['id']} มีค่า NaN/Infinity",
                           f"application {record['id']} holds NaN/Infinity")
            if record["closed"] and not period:
                report.add("archive_month", f"คำขอ {record['id']} ปิดแล้วแต่ไม่ได้ระบุเดือนที่เก็บ",
                           f"closed application {record['id']} has no archive month")
            entries.append((record, period))
        opened, closed, by_applicant = store.expected_indexes(entries)
        _compare(report, "open", {a: store._open_index(a) for a in _stems(store.root / "open") | set(opened)},
                 opened)
        archive_files = {(p.parent.name, p.stem) for p in (store.root / "archive").glob("*/*.json")}
        _compare(report, "archive", {k: store._archive(*k) for k in archive_files | set(closed)}, closed)
        applicant_files = {}
        for path in (store.root / "applicants").glob("*/*.json"):
            applicant_files[path.stem] = store._table(path, "applications")
        expected_applicants = {_digest(a): docs for a, docs in by_applicant.items()}
        for digest in expected_applicants:
            applicant_files.setdefault(digest, store._table(
                store.root / "applicants" / digest[:3] / f"{digest}.json", "applications"))
        _compare(report, "applicant", applicant_files, expected_applicants)
        if repair:
            if any(p.code == "non_finite" for p in report.problems):
                _repair_non_finite(store, report)
            if any(p.code in ("open", "archive", "applicant", "archive_month") for p in report.problems):
                store._write_indexes(entries)
                report.repaired.append("indexes rebuilt from the application records")
            overlay = store.catch_up()
            overlay.inboxes.clear()
            overlay.sorted_inboxes.clear()
    return report


def _stems(folder: Path) -> set[str]:
    return {p.stem for p in folder.glob("*.json")} if folder.is_dir() else set()


_WHAT = {"open": ("งานค้าง (inbox)", "open index"), "archive": ("ที่เก็บคำขอที่ปิดแล้ว", "archive"),
         "applicant": ("ดัชนีผู้ยื่นคำขอ", "applicant index")}


def _compare(report: Report, code: str, tables: dict, expected: dict) -> None:
    th_name, en_name = _WHAT[code]
    for key, table in tables.items():
        have = dict(table.items())
        want = expected.get(key, {})
        missing = sorted(set(want) - set(have))
        extra = sorted(set(have) - set(want))
        stale = sorted(k for k in set(want) & set(have) if have[k] != want[k])
        label = "/".join(key) if isinstance(key, tuple) else key
        for what_th, what_en, ids in (("ขาด", "missing", missing), ("เกิน", "should not list", extra),
                                      ("ไม่ตรงกับคำขอ", "out of date", stale)):
            if ids:
                report.add(code, f"{th_name} {label}: {what_th} {len(ids)} รายการ ({', '.join(ids[:5])})",
                           f"{en_name} {label}: {what_en} {len(ids)} ({', '.join(ids[:5])})")
