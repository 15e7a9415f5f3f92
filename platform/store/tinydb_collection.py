"""One named collection of the embedded store (settings, counters' notes, accounts...).

Kept apart from the store itself: a collection is the journal first, then shard files
folded in at checkpoints, and it needs only the store's lock, journal and tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .base import Collection, ConflictError, NotFoundError, Record
from .layout import name_digest as _digest

if TYPE_CHECKING:
    from .atomic import KeyedTable
    from .tinydb_store import TinyDBStore, _Overlay


class TinyDBCollection(Collection):
    """A named collection: the journal first, then (at checkpoints) up to 256
    shard files hashed by key, so a checkpoint rewrites only the shards touched."""

    def __init__(self, store: TinyDBStore, name: str):
        self.store = store
        self.name = name
        self.folder = store.root / "collections" / name

    def _shard(self, key: str) -> str:
        if not isinstance(key, str) or not key:
            raise ValueError(f"key ต้องเป็นข้อความที่ไม่ว่าง / key must be a non-empty string, got {key!r}")
        return _digest(key)[:2]

    def _file(self, shard: str) -> KeyedTable:
        return self.store._table(self.folder / f"{shard}.json", "records")

    def _get(self, key: str, overlay: _Overlay) -> Record | None:
        line = overlay.records.get((self.name, key))
        if line is not None:
            return None if line.header["v"] is None else line.record()
        return self._file(self._shard(key)).get_key(key)

    def get(self, key: str) -> Record | None:
        self._shard(key)
        return self._get(key, self.store.catch_up())

    def put(self, key: str, record: Record, expected_version: int | None = None) -> Record:
        shard = self._shard(key)
        with self.store._lock(f"collection-{self.name}-{shard}"):
            current = self._get(key, self.store.catch_up())
            actual = current.get("version") if current else None
            if expected_version is None and current is not None:
                raise ConflictError(f"{self.name}/{key}", None, actual)
            if expected_version is not None:
                if current is None:
                    raise NotFoundError(self.name, key)
                if actual != expected_version:
                    raise ConflictError(f"{self.name}/{key}", expected_version, actual)
            new = dict(record, version=(actual or 0) + 1)
            ticket = self.store._append([({"t": "c", "n": self.name, "k": key, "v": new["version"]}, new)])
        self.store._durable(ticket)
        return dict(new)

    def delete(self, key: str) -> None:
        """Deleting a missing key is not an error, so a retried delete is safe."""
        shard = self._shard(key)
        with self.store._lock(f"collection-{self.name}-{shard}"):
            if self._get(key, self.store.catch_up()) is None:
                return
            ticket = self.store._append([({"t": "c", "n": self.name, "k": key, "v": None}, ...)])
        self.store._durable(ticket)

    def find(self, **equals: Any) -> list[Record]:
        return [r for r in self.all() if all(r.get(k) == v for k, v in equals.items())]

    def all(self) -> Iterator[Record]:
        overlay = self.store.catch_up()
        recent = {key: line for (name, key), line in list(overlay.records.items()) if name == self.name}
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else ():
            for key, record in self.store._table(path, "records").items():
                if key not in recent:
                    yield record
        for line in recent.values():
            if line.header["v"] is not None:
                yield line.record()
