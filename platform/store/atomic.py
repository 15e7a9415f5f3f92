"""Crash-safe files and cross-process locks for the embedded store.

TinyDB's stock ``JSONStorage`` truncates the file and writes it in place, so a
crash (power cut, ``kill -9``, a full disk) in the middle leaves half a file and
the whole database is lost.  :class:`AtomicJSONStorage` writes a temporary file
in the same directory, flushes and fsyncs it, then ``os.replace``-s it over the
old one and fsyncs the directory: a reader, or the next process after a crash,
sees either the complete old file or the complete new one, never a mix.

TinyDB also has no locking: two processes doing read-modify-write on one file
silently lose each other's documents.  :func:`locked` takes an exclusive
``flock`` (released by the kernel if the holder dies) plus an in-process mutex
around every read-modify-write.  Readers need no lock, because a replace
is atomic.

:class:`KeyedTable` is a TinyDB table whose documents are keyed by strings
(application ids, user ids…) and whose writes each cost one read and one write
of the file (TinyDB's own ``upsert`` costs two of each).
"""
from __future__ import annotations

import fcntl
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinydb.storages import Storage
from tinydb.table import Table

from .base import LockTimeoutError

__all__ = [
    "AtomicJSONStorage", "KeyedTable", "atomic_write_bytes", "fsync_dir", "locked", "replace_file",
    "write_temp_file",
]

#: Temporary files end with this suffix; every directory scan ignores them.
TMP_SUFFIX = ".tmp"


def fsync_dir(directory: str | os.PathLike) -> None:
    """Make a rename inside ``directory`` durable (POSIX needs the directory fsynced)."""
    if os.name != "posix":  # Windows cannot open a directory; NTFS journals renames
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_temp_file(
    directory: str | os.PathLike,
    chunks: Iterable[bytes],
    *,
    durable: bool = True,
    mode: int | None = None,
    prefix: str = ".",
) -> Path:
    """Write ``chunks`` to a new temporary file in ``directory`` (created if
    missing) and return its path; the caller moves it into place with
    :func:`replace_file` or deletes it.  ``durable`` fsyncs the content; the
    file is private to the service's user (0600, by mkstemp) unless ``mode``
    says otherwise.  Nothing is left behind when writing fails."""
    directory = Path(directory)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=TMP_SUFFIX)
    except FileNotFoundError:  # first file in this folder (no mkdir call on every write)
        directory.mkdir(parents=True, exist_ok=True)
        if durable:
            fsync_dir(directory.parent)  # make the new folder itself durable
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            if durable:
                os.fsync(f.fileno())
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return Path(tmp)


def replace_file(tmp: str | os.PathLike, path: str | os.PathLike, *, durable: bool = True) -> None:
    """``os.replace`` a file written by :func:`write_temp_file` over ``path``
    (same file system; ``path``'s folder is created if missing), then, when
    ``durable``, fsync that folder so the rename survives a power cut.  ``tmp``
    is removed if the replace fails."""
    path = Path(path)
    try:
        try:
            os.replace(tmp, path)
        except FileNotFoundError:
            if path.parent.is_dir():
                raise
            path.parent.mkdir(parents=True, exist_ok=True)
            if durable:
                fsync_dir(path.parent.parent)
            os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    if durable:
        fsync_dir(path.parent)


def _unlink_quietly(path: str | os.PathLike) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def atomic_write_bytes(
    path: str | os.PathLike,
    data: bytes,
    *,
    durable: bool = True,
    mode: int | None = None,
    sync_dir: bool = True,
) -> None:
    """Write ``data`` to ``path`` so that ``path`` is always either old or new, whole.

    ``durable=False`` skips the fsyncs (bulk loads and tests: a killed process
    still never leaves a half file, but a power cut may lose recent writes).
    ``sync_dir=False`` fsyncs the content but not the folder (the rename itself
    may then be lost to a power cut: for files whose old version is harmless).
    The file is created private to the service's user (mode 0600, by mkstemp)
    unless ``mode`` says otherwise (e.g. 0o644 for a public certificate).
    """
    path = Path(path)
    tmp = write_temp_file(path.parent, (data,), durable=durable, mode=mode, prefix=f".{path.name}.")
    replace_file(tmp, path, durable=durable and sync_dir)


class AtomicJSONStorage(Storage):
    """A TinyDB storage that never leaves a half-written file.

    Unlike ``JSONStorage`` it creates nothing until the first write (so looking
    up a missing application leaves no empty file behind) and keeps no file
    handle open, so thousands of small databases cost no descriptors.
    """

    def __init__(self, path: str | os.PathLike, *, durable: bool = True):
        self.path = Path(path)
        self.durable = durable

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            with open(self.path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return None
        return json.loads(raw) if raw else None

    def write(self, data: Mapping[str, Any]) -> None:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        atomic_write_bytes(self.path, text.encode("utf-8"), durable=self.durable)


class KeyedTable(Table):
    """A TinyDB table keyed by strings, with single-write put and delete.

    The file stays an ordinary TinyDB file (``{"table": {"key": {...}}}``), so
    ``tinydb.TinyDB(path)`` can open it for inspection.
    """

    document_id_class: type[Any] = str

    if TYPE_CHECKING:  # TinyDB declares its tables keyed by int; these are keyed by str
        def _update_table(self, updater: Callable[[dict[Any, Mapping[str, Any]]], object]) -> None: ...

    def __init__(self, path: str | os.PathLike, name: str, *, durable: bool = True):
        super().__init__(AtomicJSONStorage(path, durable=durable), name)

    def get_key(self, key: str) -> dict[str, Any] | None:
        """The document stored under ``key`` as a plain dict, or None."""
        doc = self._read_table().get(key)
        return dict(doc) if doc is not None else None

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for key, doc in self._read_table().items():
            yield key, dict(doc)

    def put(self, key: str, document: Mapping[str, Any]) -> None:
        """Insert or replace (not merge) the document under ``key``."""
        doc = dict(document)
        self._update_table(lambda table: table.__setitem__(key, doc))

    def delete(self, key: str) -> bool:
        """Remove ``key``; True if it was there.  Writes only when something changed."""
        if key not in self._read_table():
            return False
        self._update_table(lambda table: table.pop(key, None))
        return True

    def replace_all(self, documents: Mapping[str, Mapping[str, Any]]) -> None:
        """Write the table from scratch (index rebuilds and bulk loads)."""
        def refill(table: dict[Any, Mapping[str, Any]]) -> None:
            table.clear()
            table.update(documents)

        self._update_table(refill)


class _ProcessLock:
    """An exclusive lock on one lock file, for threads and processes alike: an
    in-process re-entrant mutex orders this process's threads, and one ``flock``
    on a descriptor kept open excludes other processes (the kernel releases it
    if the process dies).  Re-entrant per thread, so a read-modify-write can
    call a method that takes the same lock."""

    def __init__(self, path: str):
        self.path = path
        self.mutex = threading.RLock()
        self.depth = 0
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def acquire(self, timeout: float) -> None:
        if not self.mutex.acquire(timeout=timeout):
            raise LockTimeoutError(self.path, timeout)
        if self.depth == 0:
            try:
                _flock_within(self.fd, fcntl.LOCK_EX, timeout)
            except BlockingIOError:
                self.mutex.release()
                raise LockTimeoutError(self.path, timeout) from None
            except BaseException:
                self.mutex.release()
                raise
        self.depth += 1

    def release(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.mutex.release()


def _flock_within(fd: int, mode: int, timeout: float) -> None:
    """``flock(fd, mode)``, giving up after ``timeout`` seconds (BlockingIOError)."""
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        time.sleep(delay)
        delay = min(delay * 2, 0.005)
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise


# Keyed by process id too: a forked child must not reuse its parent's descriptors.
_locks: dict[tuple[int, str], _ProcessLock] = {}
_locks_guard = threading.Lock()


@contextmanager
def locked(lock_path: str | os.PathLike, timeout: float = 30.0) -> Iterator[None]:
    """Hold an exclusive cross-process lock on ``lock_path`` for the ``with`` block.

    Raises :class:`LockTimeoutError` after ``timeout`` seconds.
    """
    path = os.fspath(lock_path)
    key = (os.getpid(), path)
    lock = _locks.get(key)
    if lock is None:
        with _locks_guard:
            lock = _locks.get(key) or _locks.setdefault(key, _ProcessLock(path))
    lock.acquire(timeout)
    try:
        yield
    finally:
        lock.release()
