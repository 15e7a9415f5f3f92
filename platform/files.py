"""Content-addressed storage for attachments (A-F4, A-F9).

Files live outside the database, named by the SHA-256 of their bytes::

    <root>/ab/cd/abcd…(64 hex)

so the same document uploaded twice is stored once, a record that names a hash
always means exactly those bytes, and :meth:`FileStore.verify` detects a file
altered on disk.  Writes are atomic (temporary file, fsync, ``os.replace``): a
crash never leaves a truncated attachment under a valid name.  Names are
checked before they touch the file system, so a hash from a request can never
reach outside the root.
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from .store.atomic import atomic_write_bytes, replace_file, write_temp_file
from .store.base import NotFoundError

__all__ = ["FileStore", "InvalidHashError"]

_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


class InvalidHashError(ValueError):
    """A file name that is not 64 lowercase hex digits (maybe an attack)."""

    def __init__(self, sha: object):
        super().__init__(
            f"รหัสไฟล์ไม่ถูกต้อง: {sha!r} (ต้องเป็น SHA-256 เลขฐานสิบหกตัวเล็ก 64 ตัว) / "
            f"invalid file hash {sha!r} (expected 64 lowercase hex digits of SHA-256)"
        )


class FileStore:
    """Attachments by SHA-256.  ``durable=False`` skips fsync (tests only)."""

    def __init__(self, root: str | os.PathLike, *, durable: bool = True):
        self.root = Path(root)
        self.durable = durable
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha: str) -> Path:
        """Where the file named ``sha`` lives (whether or not it exists)."""
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise InvalidHashError(sha)
        return self.root / sha[:2] / sha[2:4] / sha

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def put(self, data: bytes) -> str:
        """Store ``data``; return its SHA-256.  Storing the same bytes again writes
        nothing (unless the stored copy was damaged, which it then repairs)."""
        sha = hashlib.sha256(data).hexdigest()
        if not self.verify(sha):  # missing, or damaged on disk: (re)write it
            atomic_write_bytes(self.path(sha), data, durable=self.durable)
        return sha

    def put_stream(self, stream: BinaryIO | Iterable[bytes]) -> str:
        """Store a file read in chunks (a binary file object or an iterable of
        ``bytes``) without holding it all in memory; return its SHA-256."""
        chunks = iter(lambda: stream.read(_CHUNK), b"") if hasattr(stream, "read") else stream
        digest = hashlib.sha256()

        def hashed() -> Iterable[bytes]:
            for chunk in chunks:
                digest.update(chunk)
                yield chunk

        # The name is known only at the end: write a temporary file in
        # ``incoming`` (inside root, so the replace stays on one file system),
        # then move it into place.
        tmp = write_temp_file(self.root / "incoming", hashed(), durable=self.durable, prefix="tmp")
        sha = digest.hexdigest()
        try:
            stored = self.verify(sha)
        except BaseException:
            os.unlink(tmp)
            raise
        if stored:
            os.unlink(tmp)
        else:
            replace_file(tmp, self.path(sha), durable=self.durable)
        return sha

    def put_file(self, source: str | os.PathLike) -> str:
        """Store a copy of the file at ``source``; return its SHA-256."""
        with open(source, "rb") as f:
            return self.put_stream(f)

    def open(self, sha: str) -> BinaryIO:
        """The stored file opened for reading (for streaming a download)."""
        try:
            return open(self.path(sha), "rb")
        except FileNotFoundError:
            raise NotFoundError("file", sha, "ไฟล์") from None

    def get(self, sha: str) -> bytes:
        """The stored bytes; raises NotFoundError.  Does not re-hash: see :meth:`verify`."""
        with self.open(sha) as f:
            return f.read()

    def verify(self, sha: str) -> bool:
        """True if the file exists and its bytes still hash to its name."""
        digest = hashlib.sha256()
        try:
            with self.open(sha) as f:
                for chunk in iter(lambda: f.read(_CHUNK), b""):
                    digest.update(chunk)
        except NotFoundError:
            return False
        return digest.hexdigest() == sha
