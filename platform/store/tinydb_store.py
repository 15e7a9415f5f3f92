"""The embedded store: a write-ahead journal in front of many small TinyDB files.

Every write — an application, a collection record, a sequence number — is one
line appended to ``journal.log`` and is durable once that line is fsynced
(group commit, see :mod:`.journal`).  Nothing else is written on the request
path.  Each process follows the journal and keeps what it added since the last
checkpoint in memory (the *overlay*): the latest version of every application
and record written, and the agency inboxes it was asked for.  So a write costs
one append however many applications are open or stored, an inbox is a
dictionary in memory, and after ``kill -9`` at any moment every acknowledged
write is in the journal, where every process (the restarted one included)
reads it back before it answers anything — indexes included.

A *checkpoint*, every few thousand lines, first *seals* the journal: under the
exclusive lock (a few milliseconds) the current file becomes
``journal.sealed.log`` and an empty journal of the next generation takes its
place.  Writers go on at once; readers follow both files.  Then, in the
background and holding only the fold lock, the sealed generation is written
into the TinyDB files below, made durable with one ``sync`` and deleted.  Those
files are ordinary TinyDB documents, readable with ``tinydb.TinyDB(path)``::

    <root>/
      FORMAT                         "eservice-store 2"
      journal.log                    the journal (current generation)
      journal.sealed.log             the previous generation, while it is folded in
      applications/abc/<id>.json     one application: the full record (answers,
                                     events, document metadata)
      open/<agency>.json             summaries of the agency's open applications
      archive/<agency>/<YYYY-MM>.json  summaries of applications closed that month
      applicants/abc/<digest>.json   ids of one applicant's applications
      sequences.json                 named counters
      sequences/<digest>.json        what each logged number was drawn for
      collections/<name>/<xx>.json   a named collection, hashed into 256 shards
      locks/                         lock files
      CHECKPOINTING                  present only while a fold runs (or was killed)

Locks: an application's lock stripe (version check and write of one
application), a collection shard's or the sequences' lock, then the shared
checkpoint lock (held only while appending; a checkpoint holds it exclusively),
then the journal's own ``flock`` while the bytes go in.  Always in that order,
so no two writers deadlock.  The fold lock is taken by folds alone, never while
waiting for another lock except by maintenance that already holds the exclusive
one (a fold never asks for it), so it cannot deadlock either.
"""
from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import threading
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..clock import Clock, SystemClock
from .atomic import TMP_SUFFIX, AtomicJSONStorage, KeyedTable, fsync_dir, locked
from .base import Collection, ConflictError, NotFoundError, Record, Store, archive_period, summarize
from .journal import Journal, JournalFile, Line, encode_json, flocked
from .layout import CHECKPOINT_MARKER, SEALED_JOURNAL
from .layout import name_digest as _digest
from .fold import write_into_files
from .maintenance import open_data_folder
from .tinydb_collection import TinyDBCollection

__all__ = ["TinyDBStore", "TinyDBCollection"]

log = logging.getLogger("eservice.store")

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


def _intake_key(s: Record) -> tuple[str, str]:
    return str(s.get("intake_at") or ""), str(s.get("id") or "")


def _ordered(summaries: Iterable[Record]) -> list[Record]:
    """Results come in intake order (then id), whatever order the files hold them in."""
    return sorted(summaries, key=_intake_key)


def _check_period(period: str) -> str:
    if not isinstance(period, str) or not _PERIOD.fullmatch(period):
        raise ValueError(f"งวดต้องอยู่ในรูป YYYY-MM: {period!r} / period must be YYYY-MM, got {period!r}")
    return period


@dataclass(slots=True)
class _AppRef:
    """An application written in this journal generation: where its record is,
    its inbox summary and its archive month (None while open)."""
    line: Line
    summary: Record
    period: str | None


@dataclass
class _Overlay:
    """What the journal holds beyond the files, as read so far by this process:
    the sealed generation (while it is folded in) and then the current one."""
    file: JournalFile
    sealed: JournalFile | None = None
    apps: dict[str, _AppRef] = field(default_factory=dict)
    records: dict[tuple[str, str], Line] = field(default_factory=dict)  # (collection, key); v None: deleted
    numbers: dict[str, int] = field(default_factory=dict)
    notes: dict[str, list[Record]] = field(default_factory=lambda: defaultdict(list))
    inboxes: dict[str, dict[str, Record]] = field(default_factory=dict)  # agency -> id -> summary
    sorted_inboxes: dict[str, list[Record]] = field(default_factory=dict)
    lines: int = 0  # of the current generation: what bounds the journal

    def snapshot(self) -> _Overlay:
        """A copy that later lines do not change (what a fold writes out)."""
        return _Overlay(self.file, None, dict(self.apps), dict(self.records), dict(self.numbers),
                        defaultdict(list, {k: list(v) for k, v in self.notes.items()}), lines=self.lines)


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


class TinyDBStore(Store):
    """The embedded backend, rooted at one data folder.

    ``durable=False`` skips fsync (tests and throw-away demos only: a killed
    process still loses nothing, a power cut may lose the last writes).
    ``checkpoint_lines`` / ``checkpoint_bytes`` bound the journal.
    """

    def __init__(self, root: str | Path, *, clock: Clock | None = None, durable: bool = True,
                 lock_timeout: float = 30.0, checkpoint_lines: int = 2048,
                 checkpoint_bytes: int = 64 << 20):
        self.root = Path(root)
        self.clock = clock or SystemClock()
        self.durable = durable
        self.lock_timeout = lock_timeout
        self.checkpoint_lines = checkpoint_lines
        self.checkpoint_bytes = checkpoint_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "locks").mkdir(exist_ok=True)
        self.journal = Journal(self.root / "journal.log", durable=durable, lock_timeout=lock_timeout)
        self._memory_lock = threading.RLock()
        self._overlay: _Overlay | None = None
        self._group = threading.local()  # see commit_group
        self._folding = threading.Lock()  # held while this process checkpoints in the background
        self.sealed_path = self.root / SEALED_JOURNAL
        self.startup = open_data_folder(self)  # the start-up part of `store verify`

    # -- where things live ---------------------------------------------------
    def _lock(self, name: str):
        return locked(self.root / "locks" / f"{name}.lock", self.lock_timeout)

    def _checkpoint_lock(self, mode: int):
        """Shared while appending; exclusive for a checkpoint or a migration."""
        return flocked(self.root / "locks" / "checkpoint.lock", mode, self.lock_timeout)

    def exclusive(self):
        """Hold every writer off (sealing the journal, rebuilds, verification, migration)."""
        return self._checkpoint_lock(fcntl.LOCK_EX)

    def fold_lock(self, timeout: float | None = None):
        """Held while a sealed generation is written into the files."""
        return flocked(self.root / "locks" / "fold.lock", fcntl.LOCK_EX,
                       self.lock_timeout if timeout is None else timeout)

    def application_path(self, app_id: str) -> Path:
        """``applications/abc/<id>.json``: 4096 hashed folders keep each one small
        (about 2,500 files at ten million applications) without a folder per file.
        Written at checkpoints; the journal holds anything newer."""
        h = _digest(_safe(app_id, "application id"))
        return self.root / "applications" / h[:3] / f"{app_id}.json"

    def _app_lock(self, app_id: str):
        return self._lock(f"application-{_digest(app_id)[:2]}")  # 256 lock stripes

    def _table(self, path: Path, name: str, durable: bool = False) -> KeyedTable:
        # Files below are written only by checkpoints, which make them durable with
        # one sync at the end; so no fsync per file.
        return KeyedTable(path, name, durable=durable)

    def _open_index(self, agency: str) -> KeyedTable:
        return self._table(self.root / "open" / f"{_safe(agency, 'agency')}.json", "open")

    def _archive(self, agency: str, period: str) -> KeyedTable:
        folder = self.root / "archive" / _safe(agency, "agency")
        return self._table(folder / f"{_check_period(period)}.json", "closed")

    def _applicant_index(self, applicant: str) -> KeyedTable:
        # Hashed, so a national id does not show in a file listing (not secret: a
        # 13-digit id can be guessed back from its hash; protect the data folder).
        h = _digest(applicant)
        return self._table(self.root / "applicants" / h[:3] / f"{h}.json", "applications")

    def _sequences(self) -> KeyedTable:
        return self._table(self.root / "sequences.json", "sequences")

    def _number_log(self, sequence: str) -> KeyedTable:
        return self._table(self.root / "sequences" / f"{_digest(sequence)[:32]}.json", "numbers")

    # -- following the journal -------------------------------------------------
    def catch_up(self) -> _Overlay:
        """Read what any process appended since last time.  When the generation we
        follow was sealed, keep its lines and go on with the next; when a sealed
        generation was folded away, start again from the files.  Cheap when
        nothing changed: two ``stat`` and one ``fstat``."""
        with self._memory_lock:
            while True:
                current, sealed = _inode(self.journal.path), _inode(self.sealed_path)
                if sealed == current:
                    sealed = None  # a seal killed between its link and the new generation
                overlay = self._overlay
                if overlay is not None and overlay.file.inode == current and \
                        (overlay.sealed.inode if overlay.sealed else None) == sealed:
                    break
                try:
                    if overlay is not None and overlay.sealed is None and overlay.file.inode == sealed:
                        for line in overlay.file.new_lines():  # the rest of the sealed generation
                            self._apply(overlay, line)
                        following = JournalFile(self.journal.path)
                        overlay.sealed, overlay.file, overlay.lines = overlay.file, following, 0
                    else:
                        overlay = _Overlay(JournalFile(self.journal.path))
                        if sealed is not None:
                            overlay.sealed = JournalFile(self.sealed_path)
                            for line in overlay.sealed.new_lines():
                                self._apply(overlay, line)
                            overlay.lines = 0
                except FileNotFoundError:  # folded or sealed meanwhile: look again
                    self._overlay = None
                    continue
                self._overlay = overlay
                if overlay.file.inode != current or (overlay.sealed and overlay.sealed.inode != sealed):
                    self._overlay = None  # moved on between the stat and the open
                    continue
                break
            for line in overlay.file.new_lines():
                self._apply(overlay, line)
            return overlay

    def _apply(self, overlay: _Overlay, line: Line) -> None:
        h = line.header
        overlay.lines += 1
        kind = h["t"]
        if kind == "a":
            app_id, summary = h["k"], h["s"]
            overlay.apps[app_id] = _AppRef(line, summary, h.get("p"))
            for agency, inbox in overlay.inboxes.items():
                if not summary["closed"] and summary["agency"] == agency:
                    inbox[app_id] = summary
                    overlay.sorted_inboxes.pop(agency, None)
                elif inbox.pop(app_id, None) is not None:
                    overlay.sorted_inboxes.pop(agency, None)
        elif kind == "c":
            overlay.records[h["n"], h["k"]] = line
        elif kind == "n":
            overlay.numbers[h["k"]] = h["v"]
            if h.get("note") is not None:
                overlay.notes[h["k"]].append(dict(h["note"], value=h["v"], at=h["at"]))

    def _append(self, entries: list[tuple[dict[str, Any], Any]]) -> tuple[tuple[int, int], int]:
        """Append one line per ``(header, record)`` (record ``...``: none) in one
        write, then follow the journal so this process sees them at once.
        Returns what :meth:`_durable` waits for."""
        lines = []
        for header, record in entries:
            if record is ...:
                lines.append(encode_json(header) + b"\n")
            else:
                body = encode_json(record)
                header["c"] = zlib.crc32(body)
                lines.append(encode_json(header) + b"\t" + body + b"\n")
        with self._checkpoint_lock(fcntl.LOCK_SH):
            ticket = self.journal.append(lines)
        self.catch_up()
        return ticket

    @contextmanager
    def commit_group(self) -> Iterator[None]:
        if getattr(self._group, "active", False):
            yield
            return
        self._group.active, self._group.ticket = True, None
        try:
            yield
        finally:
            ticket = self._group.ticket
            self._group.active, self._group.ticket = False, None
            if ticket is not None:
                self._durable(ticket)

    def _durable(self, ticket: tuple[tuple[int, int], int]) -> None:
        """Wait for the fsync (shared with every writer queued meanwhile; inside a
        :meth:`commit_group`, once at its end), then checkpoint if the journal has
        grown past its bounds."""
        if getattr(self._group, "active", False):
            self._group.ticket = ticket  # later lines of one file cover earlier ones
            return
        self.journal.wait_durable(*ticket)
        overlay = self._overlay
        if overlay and (overlay.lines >= self.checkpoint_lines or overlay.file.position >= self.checkpoint_bytes) \
                and self._folding.acquire(blocking=False):
            threading.Thread(target=self._background_checkpoint, name="eservice-checkpoint", daemon=True).start()

    def _background_checkpoint(self) -> None:
        """Seal and fold without making any request wait for the fold (a process
        that dies meanwhile leaves the sealed file, which the next start folds)."""
        try:
            self.checkpoint()
        except Exception:  # every write is committed in the journal; the next write retries
            log.warning("checkpoint of %s failed; the journal keeps everything, retrying on the next write",
                        self.root, exc_info=True)
        finally:
            self._folding.release()

    # -- one application ------------------------------------------------------
    def _current(self, app_id: str, overlay: _Overlay) -> tuple[Record, str | None] | None:
        ref = overlay.apps.get(app_id)
        if ref is not None:
            return ref.line.record(), ref.period
        return self._read_app_file(app_id)

    def _read_app_file(self, app_id: str) -> tuple[Record, str | None] | None:
        # Tables: "application" {id: record}; "meta" {"archive": {"period": …}}.
        data = AtomicJSONStorage(self.application_path(app_id)).read()
        if not data:
            return None
        return data["application"][app_id], data.get("meta", {}).get("archive", {}).get("period")

    def _write_app_file(self, record: Record, period: str | None, durable: bool = False) -> None:
        archive = {"period": period} if period else {}
        data = {"application": {record["id"]: record}, "meta": {"archive": archive}}
        AtomicJSONStorage(self.application_path(record["id"]), durable=durable).write(data)

    def _period_of(self, record: Record) -> str:
        return archive_period(record, self.clock)

    @staticmethod
    def _check_record(record: Record) -> None:
        missing = [k for k in _REQUIRED if k not in record]
        if missing:
            raise ValueError(f"คำขอขาดข้อมูล {missing} / application record lacks {missing}")
        if not isinstance(record["closed"], bool):
            raise ValueError("'closed' ต้องเป็น true/false / 'closed' must be a bool")
        _safe(record["id"], "application id")  # both become file names
        _safe(record["agency"], "agency")

    def _app_entry(self, new: Record, period: str | None) -> tuple[dict[str, Any], Record]:
        return {"t": "a", "k": new["id"], "v": new["version"], "s": summarize(new), "p": period}, new

    # -- applications --------------------------------------------------------
    def create_application(self, record: Record) -> Record:
        self._check_record(record)
        app_id = record["id"]
        new = dict(record, version=1)
        with self._app_lock(app_id):
            existing = self._current(app_id, self.catch_up())
            if existing is not None:
                raise ConflictError(app_id, None, existing[0].get("version"))
            ticket = self._append([self._app_entry(new, self._period_of(new) if new["closed"] else None)])
        self._durable(ticket)
        return dict(new)

    def get_application(self, app_id: str) -> Record:
        found = self._current(_safe(app_id, "application id"), self.catch_up())
        if found is None:
            raise NotFoundError("application", app_id, "คำขอ")
        return found[0]

    def update_application(self, record: Record, expected_version: int) -> Record:
        self._check_record(record)
        app_id = record["id"]
        with self._app_lock(app_id):
            found = self._current(app_id, self.catch_up())
            if found is None:
                raise NotFoundError("application", app_id, "คำขอ")
            old, old_period = found
            if old.get("version") != expected_version:
                raise ConflictError(app_id, expected_version, old.get("version"))
            new = dict(record, version=old["version"] + 1)
            period = None
            if new["closed"]:  # keep the month it was first archived under
                same_agency = old["agency"] == new["agency"]
                period = old_period if (old_period and same_agency) else self._period_of(new)
            ticket = self._append([self._app_entry(new, period)])
        self._durable(ticket)
        return dict(new)

    def modify_application(self, app_id: str, change: Callable[[Record], Record | None]) -> Record:
        """Read, change and write under the application's lock: never a ConflictError
        between processes using this method (the lock is re-entrant per thread)."""
        with self._app_lock(app_id):
            return super().modify_application(app_id, change)

    def open_applications(self, agency: str) -> list[Record]:
        """The inbox, in intake order: from memory once loaded (see :meth:`_inbox`)."""
        _safe(agency, "agency")
        with self._memory_lock:
            overlay = self.catch_up()
            rows = overlay.sorted_inboxes.get(agency)
            if rows is None:
                rows = overlay.sorted_inboxes[agency] = _ordered(self._inbox(overlay, agency).values())
            return [dict(s) for s in rows]

    def _inbox(self, overlay: _Overlay, agency: str) -> dict[str, Record]:
        """The agency's open applications: the checkpointed index, corrected by the
        overlay; kept and then updated line by line as the journal grows."""
        inbox = overlay.inboxes.get(agency)
        if inbox is None:
            inbox = {k: s for k, s in self._open_index(agency).items() if k not in overlay.apps}
            for app_id, ref in overlay.apps.items():
                if ref.summary["agency"] == agency and not ref.summary["closed"]:
                    inbox[app_id] = ref.summary
            overlay.inboxes[agency] = inbox
        return inbox

    def closed_applications(self, agency: str, period: str | None = None) -> Iterator[Record]:
        """Month by month (oldest first), each month in intake order."""
        overlay = self.catch_up()
        folder = self.root / "archive" / _safe(agency, "agency")
        periods = {_check_period(period)} if period is not None else \
            {p.stem for p in folder.glob("*.json")} if folder.is_dir() else set()
        recent: dict[str, dict[str, Record]] = defaultdict(dict)
        for app_id, ref in list(overlay.apps.items()):
            if ref.summary["closed"] and ref.summary["agency"] == agency and ref.period \
                    and (period is None or ref.period == period):
                recent[ref.period][app_id] = ref.summary
        for month in sorted(periods | set(recent)):
            rows = {k: s for k, s in self._archive(agency, month).items() if k not in overlay.apps}
            rows.update(recent.get(month, {}))
            yield from _ordered(rows.values())

    def applications_of(self, applicant: str) -> list[Record]:
        """In intake order.  Reads each of the applicant's applications, so the
        summaries are never stale."""
        overlay = self.catch_up()
        ids = {k for k, _ in self._applicant_index(applicant).items()}
        ids.update(k for k, ref in list(overlay.apps.items()) if ref.summary.get("applicant") == applicant)
        result = []
        for app_id in ids:
            found = self._current(app_id, overlay)
            if found is not None and found[0].get("applicant") == applicant:
                result.append(summarize(found[0]))
        return _ordered(result)

    # -- sequences and collections ---------------------------------------------
    def next_number(self, sequence: str, note: Mapping[str, Any] | None = None) -> int:
        if not isinstance(sequence, str) or not sequence:
            raise ValueError("ชื่อลำดับเลขต้องเป็นข้อความ / a sequence name must be a non-empty string")
        with self._lock("sequences"):
            value = self._current_number(sequence, self.catch_up()) + 1
            header: dict[str, Any] = {"t": "n", "k": sequence, "v": value,
                                      "at": self.clock.now().isoformat()}
            if note is not None:
                header["note"] = dict(note)
            ticket = self._append([(header, ...)])
        self._durable(ticket)
        return value

    def _current_number(self, sequence: str, overlay: _Overlay) -> int:
        current = overlay.numbers.get(sequence)
        if current is None:
            current = (self._sequences().get_key(sequence) or {"value": 0})["value"]
        return current

    def current_number(self, sequence: str) -> int:
        return self._current_number(sequence, self.catch_up())

    def number_log(self, sequence: str) -> list[Record]:
        overlay = self.catch_up()
        logged = {int(k): v for k, v in self._number_log(sequence).items()}
        for note in overlay.notes.get(sequence, []):
            logged[note["value"]] = note
        return [logged[k] for k in sorted(logged)]

    def collection(self, name: str) -> Collection:
        return TinyDBCollection(self, _safe(name, "collection"))

    # -- checkpoints -----------------------------------------------------------
    def checkpoint(self) -> int:
        """Write the journal into the files: fold a sealed generation left over, seal
        the current one, fold it.  Writers wait only for the seal.  Returns how many
        lines were folded in (0: nothing to do)."""
        folded = self.fold_pending()
        with self.exclusive():
            source = self._seal_locked()
        return folded + (self._fold(source) if source is not None else 0)

    def _checkpoint_locked(self) -> int:
        """:meth:`checkpoint` for a caller that holds the exclusive lock (maintenance):
        everything is in the files when it returns."""
        folded = self.fold_pending()
        source = self._seal_locked()
        return folded + (self._fold(source) if source is not None else 0)

    def _seal_locked(self) -> _Overlay | None:
        """Under the exclusive lock: make every line of the current generation durable,
        keep it as ``journal.sealed.log`` and start the next generation.  Returns a
        snapshot of what to fold, or None (nothing written, or a fold pending)."""
        overlay = self.catch_up()
        if overlay.sealed is not None or (overlay.lines == 0 and overlay.file.torn == 0):
            return None
        with self._memory_lock:
            source = overlay.snapshot()  # complete: no line can arrive under the exclusive lock
        self._touch(self.root / CHECKPOINT_MARKER)  # the new journal is written through a temp file
        if self.durable:
            self.journal.sync_file()  # then waiters on the old file may return at once
        self.sealed_path.unlink(missing_ok=True)  # only a name left by a killed seal (see catch_up)
        os.link(self.journal.path, self.sealed_path)  # never a moment without the lines
        self.journal.create(source.file.generation + 1)  # fsyncs the folder: the link is durable too
        self.catch_up()
        return source

    def fold_pending(self, timeout: float | None = None) -> int:
        """Fold a sealed generation left by a seal whose fold has not finished (a
        process killed, or another one folding: then wait for it)."""
        with self.fold_lock(timeout):
            sealed = _inode(self.sealed_path)
            if sealed is None or sealed == _inode(self.journal.path):
                return 0
            source = _Overlay(JournalFile(self.sealed_path))
            for line in source.file.new_lines():
                self._apply(source, line)
            return self._fold_locked(source)

    def _fold(self, source: _Overlay) -> int:
        with self.fold_lock():
            if _inode(self.sealed_path) != source.file.inode:
                return 0  # another process folded it already
            return self._fold_locked(source)

    def _fold_locked(self, source: _Overlay) -> int:
        """Write the sealed generation into the files, then delete it.  Readers keep
        reading it from the overlay meanwhile, so a half-folded file never shows."""
        marker = self.root / CHECKPOINT_MARKER  # tells the next start to look for temp files
        self._touch(marker)
        write_into_files(self, source)
        if self.durable:
            os.sync()  # one flush for every file written above
        self.sealed_path.unlink()
        if self.durable:
            fsync_dir(self.root)
        marker.unlink()
        return source.lines

    def _touch(self, path: Path) -> None:
        """Create an empty file, durably (not through a temporary file: it marks them)."""
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        if self.durable:
            fsync_dir(path.parent)

    # -- maintenance -----------------------------------------------------------
    def _application_files(self) -> Iterator[Path]:
        return (self.root / "applications").glob("*/*.json")

    def bulk_import(self, records: Iterable[Record], *, durable: bool = False) -> int:
        """Load many applications into an *empty* store, fast: files and indexes
        written directly (no journal), one ``os.sync`` at the end.

        For migrations and benchmarks only.  Records keep their ``version``
        (1 if absent).  Returns how many were loaded.
        """
        with self.exclusive(), self._memory_lock:
            overlay = self.catch_up()
            if next(self._application_files(), None) is not None or overlay.apps:
                raise ValueError("bulk_import ใช้ได้กับที่เก็บข้อมูลว่างเท่านั้น / bulk_import needs an empty store")
            entries = []
            for record in records:
                self._check_record(record)
                new = dict(record, version=record.get("version") or 1)
                period = self._period_of(new) if new["closed"] else None
                self._write_app_file(new, period)
                entries.append((summarize(new), period))
            self._write_indexes(entries)
            if durable and hasattr(os, "sync"):
                os.sync()
            overlay.inboxes.clear()
            overlay.sorted_inboxes.clear()
        return len(entries)

    def rebuild_indexes(self) -> int:
        """Re-derive every index from the application files (after a restore, or
        to repair drift found by ``eservice store verify``).  Holds writers off
        meanwhile.  Returns the number of applications seen."""
        with self.exclusive(), self._memory_lock:
            self._checkpoint_locked()
            entries = [(record, period) for record, period in self.stored_applications()]
            self._write_indexes(entries)
            if self.durable:
                os.sync()
            overlay = self.catch_up()
            overlay.inboxes.clear()
            overlay.sorted_inboxes.clear()
        return len(entries)

    def stored_applications(self) -> Iterator[tuple[Record, str | None]]:
        """Every application file with its archive month (files only: checkpoint first)."""
        for path in self._application_files():
            data = AtomicJSONStorage(path).read() or {}
            period = data.get("meta", {}).get("archive", {}).get("period")
            for record in data.get("application", {}).values():
                yield record, period

    def expected_indexes(self, entries: Iterable[tuple[Record, str | None]]):
        """What the open, archive and applicant index files must hold for these
        applications: ``(opened, closed, by_applicant)``."""
        opened: dict[str, dict[str, Record]] = defaultdict(dict)
        closed: dict[tuple[str, str], dict[str, Record]] = defaultdict(dict)
        by_applicant: dict[str, dict[str, Record]] = defaultdict(dict)
        for record, period in entries:
            app_id, agency = record["id"], record["agency"]
            if record["closed"]:
                closed[agency, period or self._period_of(record)][app_id] = summarize(record)
            else:
                opened[agency][app_id] = summarize(record)
            if record.get("applicant"):
                by_applicant[record["applicant"]][app_id] = {"id": app_id, "agency": agency}
        return opened, closed, by_applicant

    def _write_indexes(self, entries: list[tuple[Record, str | None]]) -> None:
        opened, closed, by_applicant = self.expected_indexes(entries)
        for folder in ("open", "archive", "applicants"):
            shutil.rmtree(self.root / folder, ignore_errors=True)
        for agency, docs in opened.items():
            self._open_index(agency).replace_all(docs)
        for (agency, period), docs in closed.items():
            self._archive(agency, period).replace_all(docs)
        for applicant, docs in by_applicant.items():
            self._applicant_index(applicant).replace_all(docs)

    def temp_files(self) -> list[Path]:
        """Temporary files a killed checkpoint left behind (never in use while the
        exclusive lock is held: only checkpoints write below the root)."""
        return [p for p in self.root.rglob(f"*{TMP_SUFFIX}") if p.is_file()]
