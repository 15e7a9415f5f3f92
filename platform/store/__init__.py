"""Storage for applications, indexes, sequences and collections.

``open_store(path)`` gives the embedded TinyDB backend rooted at a data folder,
or with ``database_url`` the PostgreSQL backend (:mod:`.postgres`); engine code
depends only on the :class:`Store` interface in :mod:`.base`.

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


def open_store(path: str | Path, *, database_url: str | None = None, **options) -> Store:
    """The store kept in the data folder ``path`` (created if missing), or, with
    ``database_url`` (``ESERVICE_DATABASE_URL``), in that PostgreSQL database.

    ``options`` go to :class:`TinyDBStore` (``clock``, ``durable``, ``lock_timeout``,
    ``checkpoint_lines``, ``checkpoint_bytes``) or to :class:`.postgres.PostgresStore`
    (``clock``, ``schema``).
    """
    if database_url:
        from .postgres import PostgresStore
        pg = {k: v for k, v in options.items() if k in ("clock", "schema")}
        return PostgresStore(database_url, **pg)
    return TinyDBStore(path, **options)
