"""The store's write-ahead journal: one append-only file, the commit point of every write.

A write is durable once its journal line is fsynced.  Writers in every thread
and process append under a short exclusive ``flock`` and then wait until the
file is fsynced past their line; whoever fsyncs first covers every line
written before it (group commit: one fsync serves all the writers that arrived
while the last one ran, with no extra thread).

A line is ``<header JSON>\\t<record JSON>\\n`` (or only the header).  The header
is small (type, key, version, the inbox summary, a CRC of the record part), so
following the journal parses headers only; a record is read back by its offset
when somebody asks for it.  JSON escapes tabs and newlines inside strings, so
the first tab and the newline are unambiguous.

The first line names the journal's *generation*.  A checkpoint writes what the
journal holds into the TinyDB files and then replaces the journal by an empty
one of the next generation (see :mod:`.tinydb_store`); readers notice the new
inode and reload.

Requirements: A-F9 (requests stored securely), RC-1 (every acknowledged request
registered), NF-1 (load).
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomic import _flock_within, atomic_write_bytes, fsync_dir
from .base import LockTimeoutError, StoreError

__all__ = ["Journal", "JournalFile", "Line", "encode_json", "flocked"]

FORMAT = 2


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON; NaN and ±Infinity are refused (they are not JSON, and a
    record holding one could never be served again)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except ValueError as exc:
        raise StoreError("ไม่สามารถบันทึกค่าที่ไม่ใช่ตัวเลขจริง (NaN หรือ Infinity) ได้",
                         f"cannot store a value that is not a finite number (NaN or Infinity): {exc}") from None


@contextmanager
def flocked(path: Path, mode: int, timeout: float) -> Iterator[None]:
    """Hold ``flock(mode)`` on ``path`` through a descriptor of its own, so that
    threads of one process take part as processes do (the shared checkpoint
    lock: many holders at once, or one exclusive).  Released by the kernel if
    the holder dies."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            _flock_within(fd, mode, timeout)
        except BlockingIOError:
            raise LockTimeoutError(str(path), timeout) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@dataclass(frozen=True, slots=True)
class Line:
    """One parsed journal line: its header and where its record part lies."""
    header: dict[str, Any]
    file: JournalFile
    record_at: int
    record_len: int

    def record(self) -> Any:
        return self.file.read_record(self.record_at, self.record_len, self.header.get("c"))


class JournalFile:
    """One generation of the journal, opened for reading (kept open while any
    :class:`Line` of it is referenced, so a checkpoint never pulls it away)."""

    def __init__(self, path: Path):
        self.fd = os.open(path, os.O_RDONLY)
        st = os.fstat(self.fd)
        self.inode = (st.st_dev, st.st_ino)
        first = os.pread(self.fd, 4096, 0)
        end = first.find(b"\n")
        if end < 0:
            os.close(self.fd)
            raise StoreError("บันทึกธุรกรรม (journal) ของที่เก็บข้อมูลเสีย: ไม่มีส่วนหัว",
                             f"the store journal {path} has no header line")
        head = json.loads(first[:end])
        self.generation: int = head["generation"]
        self.position = end + 1  # how far lines have been read
        self.torn = 0            # lines that did not parse (a writer killed mid-line)

    def __del__(self):
        try:
            os.close(self.fd)
        except (OSError, AttributeError):
            pass

    def read_record(self, at: int, length: int, crc: int | None) -> Any:
        data = os.pread(self.fd, length, at)
        if len(data) != length or (crc is not None and zlib.crc32(data) != crc):
            raise StoreError("ข้อมูลในบันทึกธุรกรรมเสียหาย (checksum ไม่ตรง)",
                             f"a journal record at offset {at} is damaged (checksum mismatch)")
        return json.loads(data)

    def new_lines(self) -> list[Line]:
        """Complete lines appended since the last call (a line still being written
        is left for next time)."""
        size = os.fstat(self.fd).st_size
        if size <= self.position:
            return []
        data = os.pread(self.fd, size - self.position, self.position)
        last = data.rfind(b"\n")
        if last < 0:
            return []
        lines = []
        base, start = self.position, 0
        while start <= last:
            end = data.index(b"\n", start)
            line = self._parse(data, start, end, base)
            if line is not None:
                lines.append(line)
            start = end + 1
        self.position = base + last + 1
        return lines

    def _parse(self, data: bytes, start: int, end: int, base: int) -> Line | None:
        tab = data.find(b"\t", start, end)
        head_end = end if tab < 0 else tab
        try:
            header = json.loads(data[start:head_end])
            if not isinstance(header, dict) or "t" not in header:
                raise ValueError
        except ValueError:
            self.torn += 1
            return None
        if tab < 0:
            return Line(header, self, 0, 0)
        at, length = tab + 1, end - tab - 1
        if header.get("c") is not None and zlib.crc32(data[at:end]) != header["c"]:
            self.torn += 1
            return None
        return Line(header, self, base + at, length)


class Journal:
    """Appending to the current generation of ``<root>/journal.log``."""

    def __init__(self, path: Path, *, durable: bool, lock_timeout: float):
        self.path = path
        self.durable = durable
        self.lock_timeout = lock_timeout
        self._append_mutex = threading.Lock()
        self._sync_mutex = threading.Lock()
        self._fd: int | None = None
        self._inode: tuple[int, int] | None = None
        self._synced: tuple[tuple[int, int] | None, int] = (None, 0)

    # -- creation ---------------------------------------------------------------
    def create(self, generation: int) -> None:
        """Replace the journal by an empty one of ``generation`` (caller holds the
        exclusive checkpoint lock)."""
        head = encode_json({"journal": FORMAT, "generation": generation}) + b"\n"
        atomic_write_bytes(self.path, head, durable=self.durable)

    def exists(self) -> bool:
        return self.path.is_file()

    def sync_file(self) -> None:
        """fsync the current file to its end (before a checkpoint seals it)."""
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- appending ----------------------------------------------------------------
    def append(self, lines: list[bytes]) -> tuple[tuple[int, int], int]:
        """Append ``lines`` (each ending in ``\\n``) in one write; returns the
        file's identity and the offset just past them, for :meth:`wait_durable`.
        The caller holds the shared checkpoint lock, so the file cannot be
        replaced meanwhile."""
        data = b"".join(lines)
        with self._append_mutex:
            fd = self._current_fd()
            fcntl.flock(fd, fcntl.LOCK_EX)  # processes; the mutex orders this process's threads
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    # A writer died mid-line: end its torn line so ours starts clean.
                    os.write(fd, b"\n")
                    size += 1
                try:
                    written = os.write(fd, data)
                    if written != len(data):
                        raise OSError(f"short write ({written} of {len(data)} bytes)")
                except OSError:
                    os.ftruncate(fd, size)  # never leave half a line for the next writer
                    raise
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            return self._inode, size + len(data)  # type: ignore[return-value]

    def _current_fd(self) -> int:
        st = os.stat(self.path)
        inode = (st.st_dev, st.st_ino)
        if inode != self._inode:
            if self._fd is not None:
                os.close(self._fd)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
            self._inode = inode
        return self._fd  # type: ignore[return-value]

    def wait_durable(self, inode: tuple[int, int], end: int) -> None:
        """Return once the journal is fsynced at least to ``end`` (group commit:
        the first waiter fsyncs for everybody queued behind it)."""
        if not self.durable:
            return
        with self._sync_mutex:
            synced_inode, synced = self._synced
            if synced_inode == inode and synced >= end:
                return
            with self._append_mutex:
                if inode != self._inode:
                    return  # a checkpoint replaced the file after syncing everything
                fd = os.dup(self._fd)  # type: ignore[arg-type]
            try:
                size = os.fstat(fd).st_size
                os.fsync(fd)
            finally:
                os.close(fd)
            self._synced = (inode, size)

    def sync_folder(self) -> None:
        fsync_dir(self.path.parent)
