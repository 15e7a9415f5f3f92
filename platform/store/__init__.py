"""Storage for applications, indexes, sequences and collections.

``open_store(path)`` gives the embedded TinyDB backend rooted at a data folder;
engine code depends only on the :class:`Store` interface in :mod:`.base`.

Requirements: A-F9 (requests and documents stored securely), RC-1 (every request registered).
"""
from __future__ import annotations

from pathlib import Path

from .base import (
    Collection, ConflictError, LockTimeoutError, NotFoundError, Record, Store, StoreError, summarize,
)
from .tinydb_store import TinyDBStore

__all__ = [
    "Collection", "ConflictError", "LockTimeoutError", "NotFoundError", "Record", "Store",
    "StoreError", "TinyDBStore", "open_store", "summarize",
]


def open_store(path: str | Path, **options) -> Store:
    """The store kept in the data folder ``path`` (created if missing).

    ``options`` go to :class:`TinyDBStore` (``clock``, ``durable``, ``lock_timeout``,
    ``checkpoint_lines``, ``checkpoint_bytes``).
    """
    return TinyDBStore(path, **options)
