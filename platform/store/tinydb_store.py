"""The embedded store: many small TinyDB files under one data folder.

TinyDB rewrites a whole file on every write, so one big file makes every write
cost as much as the whole history.  Here every file stays small and bounded by
*current* work, never by how many applications were ever stored::

    <root>/
      applications/abc/<id>.json     one application: the full record (answers,
                                     events, document metadata); written only
                                     when that application changes
      open/<agency>.json             summaries of the agency's open applications
                                     (the inbox)
      archive/<agency>/<YYYY-MM>.json  summaries of applications closed that month
      applicants/abc/<digest>.json   ids of one applicant's applications
      sequences.json                 named counters
      collections/<name>/<xx>.json   a named collection, hashed into 256 shards
      locks/                         one lock file per shard / index

Creating or updating an application writes its own file, the agency's open
index (or one month's archive when closed) and, at most, one applicant file.

Every read-modify-write runs under a cross-process file lock and every write
is atomic (see :mod:`.atomic`).  Locks are always taken in the order
application → applicant → open index → archive, so two writers never deadlock.
The application file is written first; it is the truth, and
:meth:`TinyDBStore.rebuild_indexes` re-derives every index from it.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from ..clock import BANGKOK, Clock, SystemClock
from .atomic import AtomicJSONStorage, KeyedTable, locked
from .base import Collection, ConflictError, NotFoundError, Record, Store, summarize

__all__ = ["TinyDBStore", "TinyDBCollection"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_REQUIRED = ("id", "agency", "service", "state", "closed")


def _safe(name: str, what: str) -> str:
    """Names that become file names: letters, digits, ``.``, ``_``, ``-`` only
    (no path separators, no leading dot), so no input can escape the folder."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"ชื่อ{what}ไม่ถูกต้อง: {name!r} (ใช้ได้เฉพาะ A-Z a-z 0-9 . _ - ไม่เกิน 128 ตัวอักษร) / "
            f"invalid {what} name {name!r} (use A-Z a-z 0-9 . _ -, at most 128 characters)"
        )
    return name


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _ordered(summaries: Iterable[Record]) -> list[Record]:
    """Results come in intake order (then id), whatever order the files hold them in."""
    return sorted(summaries, key=lambda s: (str(s.get("intake_at") or ""), str(s.get("id") or "")))


def _check_period(period: str) -> str:
    if not isinstance(period, str) or not _PERIOD.fullmatch(period):
        raise ValueError(f"งวดต้องอยู่ในรูป YYYY-MM: {period!r} / period must be YYYY-MM, got {period!r}")
    return period


class TinyDBStore(Store):
    """The TinyDB backend, rooted at one data folder.

    ``durable=False`` skips fsync (tests and throw-away demos only).
    """

    def __init__(self, root: str | Path, *, clock: Clock | None = None,
                 durable: bool = True, lock_timeout: float = 30.0):
        self.root = Path(root)
        self.clock = clock or SystemClock()
        self.durable = durable
        self.lock_timeout = lock_timeout
        self.root.mkdir(parents=True, exist_ok=True)

    # -- where things live ---------------------------------------------------
    def _lock(self, name: str):
        return locked(self.root / "locks" / f"{name}.lock", self.lock_timeout)

    def application_path(self, app_id: str) -> Path:
        """``applications/abc/<id>.json``: 4096 hashed folders keep each one small
        (about 2,500 files at ten million applications) without a folder per file."""
        h = _digest(_safe(app_id, "application id"))
        return self.root / "applications" / h[:3] / f"{app_id}.json"

    def _app_lock(self, app_id: str):
        return self._lock(f"application-{_digest(app_id)[:2]}")  # 256 lock stripes

    def _table(self, path: Path, name: str, durable: bool | None = None) -> KeyedTable:
        return KeyedTable(path, name, durable=self.durable if durable is None else durable)

    def _open_index(self, agency: str, durable: bool | None = None) -> KeyedTable:
        return self._table(self.root / "open" / f"{_safe(agency, 'agency')}.json", "open", durable)

    def _archive(self, agency: str, period: str, durable: bool | None = None) -> KeyedTable:
        folder = self.root / "archive" / _safe(agency, "agency")
        return self._table(folder / f"{_check_period(period)}.json", "closed", durable)

    def _applicant_index(self, applicant: str, durable: bool | None = None) -> KeyedTable:
        # Hashed, so a national id does not show in a file listing (not secret: a
        # 13-digit id can be guessed back from its hash; protect the data folder).
        h = _digest(applicant)
        return self._table(self.root / "applicants" / h[:3] / f"{h}.json", "applications", durable)

    def _applicant_lock(self, applicant: str):
        return self._lock(f"applicant-{_digest(applicant)[:2]}")

    # -- one application file --------------------------------------------------
    # Tables: "application" {id: record}; "meta" {"archive": {"period": …}} remembers
    # which month's archive holds the summary, so later updates find it again.
    def _read_app(self, app_id: str) -> tuple[Record, dict[str, Any]] | None:
        data = AtomicJSONStorage(self.application_path(app_id)).read()
        if not data:
            return None
        record = data["application"][app_id]
        return record, data.get("meta", {}).get("archive", {})

    def _write_app(self, record: Record, archive: dict[str, Any], durable: bool | None = None) -> None:
        data = {"application": {record["id"]: record}, "meta": {"archive": archive}}
        storage = AtomicJSONStorage(self.application_path(record["id"]),
                                    durable=self.durable if durable is None else durable)
        storage.write(data)

    def _period_of(self, record: Record) -> str:
        """The archive month: the month ``closed_at`` falls in (Bangkok), else now."""
        closed_at = record.get("closed_at")
        if isinstance(closed_at, str):
            try:
                when = datetime.fromisoformat(closed_at)
            except ValueError:
                when = None
            if when is not None:
                if when.tzinfo is not None:
                    when = when.astimezone(BANGKOK)
                return when.strftime("%Y-%m")
        return self.clock.local_now().strftime("%Y-%m")

    @staticmethod
    def _check_record(record: Record) -> None:
        missing = [k for k in _REQUIRED if k not in record]
        if missing:
            raise ValueError(f"คำขอขาดข้อมูล {missing} / application record lacks {missing}")
        if not isinstance(record["closed"], bool):
            raise ValueError("'closed' ต้องเป็น true/false / 'closed' must be a bool")
        _safe(record["id"], "application id")  # both become file names
        _safe(record["agency"], "agency")

    # -- applications --------------------------------------------------------
    def create_application(self, record: Record) -> Record:
        self._check_record(record)
        app_id = record["id"]
        new = dict(record, version=1)
        with self._app_lock(app_id):
            existing = self._read_app(app_id)
            if existing is not None:
                raise ConflictError(app_id, None, existing[0].get("version"))
            archive = {"period": self._period_of(new)} if new["closed"] else {}
            self._write_app(new, archive)
            self._reindex(new, None, archive, {})
        return dict(new)

    def get_application(self, app_id: str) -> Record:
        found = self._read_app(app_id)
        if found is None:
            raise NotFoundError("application", app_id, "คำขอ")
        return found[0]

    def update_application(self, record: Record, expected_version: int) -> Record:
        self._check_record(record)
        app_id = record["id"]
        with self._app_lock(app_id):
            found = self._read_app(app_id)
            if found is None:
                raise NotFoundError("application", app_id, "คำขอ")
            old, old_archive = found
            if old.get("version") != expected_version:
                raise ConflictError(app_id, expected_version, old.get("version"))
            new = dict(record, version=old["version"] + 1)
            archive: dict[str, Any] = {}
            if new["closed"]:  # keep the month it was first archived under
                same_agency = old["agency"] == new["agency"]
                archive = old_archive if (old_archive and same_agency) else {"period": self._period_of(new)}
            self._write_app(new, archive)
            self._reindex(new, old, archive, old_archive)
        return dict(new)

    def modify_application(self, app_id: str, change: Callable[[Record], Record | None]) -> Record:
        """Read, change and write under the application's lock: never a ConflictError
        between processes using this method (the lock is re-entrant per thread)."""
        with self._app_lock(app_id):
            return super().modify_application(app_id, change)

    def _reindex(self, new: Record, old: Record | None,
                 archive: dict[str, Any], old_archive: dict[str, Any]) -> None:
        """Bring the applicant, open and archive indexes in step with ``new``.

        Idempotent: it states where the application must (and must not) be, so
        the next write repairs an index a crash left behind.
        """
        app_id, agency = new["id"], new["agency"]
        applicant, old_applicant = new.get("applicant"), (old or {}).get("applicant")
        if old_applicant and old_applicant != applicant:
            with self._applicant_lock(old_applicant):
                self._applicant_index(old_applicant).delete(app_id)
        if applicant:
            with self._applicant_lock(applicant):
                table = self._applicant_index(applicant)
                if table.get_key(app_id) is None:
                    table.put(app_id, {"id": app_id, "agency": agency})

        if old is not None and old["agency"] != agency:  # moved to another agency
            self._drop_from(old["agency"], app_id, old_archive)
            old_archive = {}

        summary = summarize(new)
        if new["closed"]:
            with self._lock(f"open-{agency}"):
                self._open_index(agency).delete(app_id)
            with self._lock(f"archive-{agency}"):
                if old_archive and old_archive != archive:
                    self._archive(agency, old_archive["period"]).delete(app_id)
                self._archive(agency, archive["period"]).put(app_id, summary)
        else:
            with self._lock(f"open-{agency}"):
                self._open_index(agency).put(app_id, summary)
            if old_archive:  # re-opened
                with self._lock(f"archive-{agency}"):
                    self._archive(agency, old_archive["period"]).delete(app_id)

    def _drop_from(self, agency: str, app_id: str, archive: dict[str, Any]) -> None:
        with self._lock(f"open-{agency}"):
            self._open_index(agency).delete(app_id)
        if archive:
            with self._lock(f"archive-{agency}"):
                self._archive(agency, archive["period"]).delete(app_id)

    def open_applications(self, agency: str) -> list[Record]:
        """The inbox, in intake order."""
        return _ordered(summary for _, summary in self._open_index(agency).items())

    def closed_applications(self, agency: str, period: str | None = None) -> Iterator[Record]:
        """Month by month (oldest first), each month in intake order."""
        if period is not None:
            yield from _ordered(s for _, s in self._archive(agency, period).items())
            return
        folder = self.root / "archive" / _safe(agency, "agency")
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
            yield from _ordered(s for _, s in self._archive(agency, path.stem).items())

    def applications_of(self, applicant: str) -> list[Record]:
        """In intake order.  Reads each of the applicant's application files, so
        the summaries are never stale."""
        result = []
        for app_id, _ in self._applicant_index(applicant).items():
            found = self._read_app(app_id)
            if found is not None and found[0].get("applicant") == applicant:
                result.append(summarize(found[0]))
        return _ordered(result)

    # -- sequences and collections ---------------------------------------------
    def next_number(self, sequence: str) -> int:
        with self._lock("sequences"):
            table = self._table(self.root / "sequences.json", "sequences")
            current = table.get_key(sequence) or {"value": 0}
            value = current["value"] + 1
            table.put(sequence, {"value": value})
        return value

    def collection(self, name: str) -> Collection:
        return TinyDBCollection(self, _safe(name, "collection"))

    # -- maintenance -----------------------------------------------------------
    def _application_files(self) -> Iterator[Path]:
        return (self.root / "applications").glob("*/*.json")

    def bulk_import(self, records: Iterable[Record], *, durable: bool = False) -> int:
        """Load many applications into an *empty* store, fast: no locks, no fsync
        per file (``durable=False``; one ``os.sync`` at the end), indexes
        written once at the end.

        For migrations and benchmarks only; no other process may write meanwhile.
        Records keep their ``version`` (1 if absent).  Returns how many were loaded.
        """
        if next(self._application_files(), None) is not None:
            raise ValueError("bulk_import ใช้ได้กับที่เก็บข้อมูลว่างเท่านั้น / bulk_import needs an empty store")
        entries = []
        for record in records:
            self._check_record(record)
            new = dict(record, version=record.get("version") or 1)
            archive = {"period": self._period_of(new)} if new["closed"] else {}
            self._write_app(new, archive, durable=durable)
            entries.append((summarize(new), archive))
        self._write_indexes(entries, durable=durable)
        if not durable and hasattr(os, "sync"):
            os.sync()  # one flush for everything, instead of one per file
        return len(entries)

    def rebuild_indexes(self) -> int:
        """Re-derive every index from the application files (after a crash between
        an application write and its index write, or a restore).  Run with
        writers stopped.  Returns the number of applications seen."""
        entries = []
        for path in self._application_files():
            data = AtomicJSONStorage(path).read() or {}
            for record in data.get("application", {}).values():
                entries.append((record, data.get("meta", {}).get("archive", {})))
        self._write_indexes(entries, durable=self.durable)
        return len(entries)

    def _write_indexes(self, entries: list[tuple[Record, dict[str, Any]]], *, durable: bool) -> None:
        opened: dict[str, dict[str, Record]] = defaultdict(dict)
        closed: dict[tuple[str, str], dict[str, Record]] = defaultdict(dict)
        by_applicant: dict[str, dict[str, Record]] = defaultdict(dict)
        for record, archive in entries:
            app_id, agency = record["id"], record["agency"]
            if record["closed"]:
                closed[agency, archive.get("period") or self._period_of(record)][app_id] = summarize(record)
            else:
                opened[agency][app_id] = summarize(record)
            if record.get("applicant"):
                by_applicant[record["applicant"]][app_id] = {"id": app_id, "agency": agency}
        for folder in ("open", "archive", "applicants"):
            shutil.rmtree(self.root / folder, ignore_errors=True)
        for agency, docs in opened.items():
            self._open_index(agency, durable).replace_all(docs)
        for (agency, period), docs in closed.items():
            self._archive(agency, period, durable).replace_all(docs)
        for applicant, docs in by_applicant.items():
            self._applicant_index(applicant, durable).replace_all(docs)


class TinyDBCollection(Collection):
    """A named collection, hashed by key into up to 256 shard files so a write
    rewrites about 1/256 of it (users, payments, licences can grow large)."""

    def __init__(self, store: TinyDBStore, name: str):
        self.store = store
        self.name = name
        self.folder = store.root / "collections" / name

    def _shard(self, key: str) -> tuple[KeyedTable, str]:
        if not isinstance(key, str) or not key:
            raise ValueError(f"key ต้องเป็นข้อความที่ไม่ว่าง / key must be a non-empty string, got {key!r}")
        shard = _digest(key)[:2]
        return self.store._table(self.folder / f"{shard}.json", "records"), shard

    def _shards(self) -> Iterator[KeyedTable]:
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else ():
            yield self.store._table(path, "records")

    def get(self, key: str) -> Record | None:
        return self._shard(key)[0].get_key(key)

    def put(self, key: str, record: Record, expected_version: int | None = None) -> Record:
        table, shard = self._shard(key)
        with self.store._lock(f"collection-{self.name}-{shard}"):
            current = table.get_key(key)
            actual = current.get("version") if current else None
            if expected_version is None and current is not None:
                raise ConflictError(f"{self.name}/{key}", None, actual)
            if expected_version is not None:
                if current is None:
                    raise NotFoundError(self.name, key)
                if actual != expected_version:
                    raise ConflictError(f"{self.name}/{key}", expected_version, actual)
            new = dict(record, version=(actual or 0) + 1)
            table.put(key, new)
        return dict(new)

    def delete(self, key: str) -> None:
        """Deleting a missing key is not an error, so a retried delete is safe."""
        table, shard = self._shard(key)
        with self.store._lock(f"collection-{self.name}-{shard}"):
            table.delete(key)

    def find(self, **equals: Any) -> list[Record]:
        return [r for r in self.all() if all(r.get(k) == v for k, v in equals.items())]

    def all(self) -> Iterator[Record]:
        for table in self._shards():
            for _, record in table.items():
                yield record
