"""The PostgreSQL backend: the same :class:`Store` interface on a server database.

For an agency that outgrows one machine (several application servers behind a
load balancer, one database).  Selected by ``ESERVICE_DATABASE_URL``; the
embedded TinyDB store stays the default.  The schema comes with the package
(:mod:`.pg_schema`) and is created or upgraded by ``eservice db upgrade``; a
store opened on an older schema refuses to start and names that command.

* Applications are rows with the full record and its inbox summary in JSONB.
  The inbox, the monthly archives and an applicant's list are indexed queries
  (partial indexes on open and closed rows), so each costs what it returns.
* Every write is one transaction.  An update checks the version in its
  ``WHERE`` clause; :meth:`modify_application` holds the row (``FOR UPDATE``).
* Sequence numbers are drawn with ``INSERT … ON CONFLICT DO UPDATE … RETURNING``
  and logged in the same transaction: unique and without gaps across any number
  of processes, since a rolled-back draw takes its number back.
* Ordering matches the embedded store byte for byte (``COLLATE "C"``).

Requirements: A-F9 (requests stored securely), RC-1 (every request registered),
NF-1 (load beyond one machine).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..clock import Clock, SystemClock
from .base import (
    Collection, ConflictError, NotFoundError, Record, Store, StoreError, archive_period, summarize,
)
from .journal import encode_json
from .pg_schema import SCHEMA_VERSION, schema_version

__all__ = ["PostgresStore"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_REQUIRED = ("id", "agency", "service", "state", "closed")
_ORDER = 'intake_at COLLATE "C", id COLLATE "C"'


def _json(value: Any) -> str:
    return encode_json(value).decode("utf-8")  # NaN/Infinity refused, as in the embedded store


class PostgresStore(Store):
    """``url``: a libpq connection string (``postgresql://user@host/db``).
    ``schema``: the PostgreSQL schema the tables live in (default ``public``)."""

    def __init__(self, url: str, *, schema: str | None = None, clock: Clock | None = None,
                 min_connections: int = 1, max_connections: int = 10, **_ignored: Any):
        try:
            from psycopg_pool import ConnectionPool
        except ImportError:  # pragma: no cover - the dependency is declared
            raise StoreError("ต้องติดตั้ง psycopg เพื่อใช้ PostgreSQL (pip install 'eservice[postgres]')",
                             "PostgreSQL needs psycopg: pip install 'eservice[postgres]'") from None
        if schema is not None and not _NAME.fullmatch(schema):
            raise ValueError(f"ชื่อ schema ไม่ถูกต้อง / invalid schema name {schema!r}")
        self.url = url
        self.schema = schema
        self.clock = clock or SystemClock()
        kwargs: dict[str, Any] = {"autocommit": False}
        if schema:
            kwargs["options"] = f"-c search_path={schema}"
        self.pool = ConnectionPool(url, min_size=min_connections, max_size=max_connections,
                                   kwargs=kwargs, open=True, name="eservice")
        with self.pool.connection() as conn:
            found = schema_version(conn)
        if found != SCHEMA_VERSION:
            self.pool.close()
            raise StoreError(
                f"ฐานข้อมูลใช้โครงสร้างรุ่น {found} แต่ระบบนี้ต้องการรุ่น {SCHEMA_VERSION}: "
                "สั่ง eservice db upgrade ก่อน",
                f"the database schema is version {found}, this eservice needs {SCHEMA_VERSION}: "
                "run `eservice db upgrade` first")

    def close(self) -> None:
        self.pool.close()

    # -- applications --------------------------------------------------------
    @staticmethod
    def _check_record(record: Record) -> None:
        missing = [k for k in _REQUIRED if k not in record]
        if missing:
            raise ValueError(f"คำขอขาดข้อมูล {missing} / application record lacks {missing}")
        if not isinstance(record["closed"], bool):
            raise ValueError("'closed' ต้องเป็น true/false / 'closed' must be a bool")

    def _row(self, new: Record, period: str | None) -> tuple[Any, ...]:
        return (new["agency"], new.get("applicant"), new["closed"], period, str(new.get("intake_at") or ""),
                _json(summarize(new)), _json(new), new["version"], new["id"])

    def create_application(self, record: Record) -> Record:
        self._check_record(record)
        new = dict(record, version=1)
        period = archive_period(new, self.clock) if new["closed"] else None
        with self.pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO applications (agency, applicant, closed, period, intake_at, summary, record, "
                "version, id) VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s) "
                "ON CONFLICT (id) DO NOTHING RETURNING id", self._row(new, period)).fetchone()
            if row is None:
                actual = conn.execute("SELECT version FROM applications WHERE id = %s", (new["id"],)).fetchone()
                raise ConflictError(new["id"], None, actual[0] if actual else None)
        return new

    def get_application(self, app_id: str) -> Record:
        with self.pool.connection() as conn:
            row = conn.execute("SELECT record FROM applications WHERE id = %s", (app_id,)).fetchone()
        if row is None:
            raise NotFoundError("application", app_id, "คำขอ")
        return dict(row[0])

    def _write(self, conn: Any, record: Record, expected_version: int) -> Record:
        """Under ``FOR UPDATE`` of the row: check the version, keep the archive month."""
        old = conn.execute("SELECT version, agency, period FROM applications WHERE id = %s FOR UPDATE",
                           (record["id"],)).fetchone()
        if old is None:
            raise NotFoundError("application", record["id"], "คำขอ")
        version, agency, old_period = old
        if version != expected_version:
            raise ConflictError(record["id"], expected_version, version)
        new = dict(record, version=version + 1)
        period = None
        if new["closed"]:  # keep the month it was first archived under
            period = old_period if (old_period and agency == new["agency"]) else archive_period(new, self.clock)
        conn.execute("UPDATE applications SET agency = %s, applicant = %s, closed = %s, period = %s, "
                      "intake_at = %s, summary = %s::jsonb, record = %s::jsonb, version = %s WHERE id = %s",
                      self._row(new, period))
        return new

    def update_application(self, record: Record, expected_version: int) -> Record:
        self._check_record(record)
        with self.pool.connection() as conn:
            return self._write(conn, record, expected_version)

    def modify_application(self, app_id: str, change: Callable[[Record], Record | None]) -> Record:
        """Read, change and write in one transaction holding the row: never a
        ConflictError between processes using this method."""
        with self.pool.connection() as conn:
            row = conn.execute("SELECT record FROM applications WHERE id = %s FOR UPDATE", (app_id,)).fetchone()
            if row is None:
                raise NotFoundError("application", app_id, "คำขอ")
            current = dict(row[0])
            version = current["version"]
            result = change(current)
            new = result if result is not None else current
            self._check_record(new)
            return self._write(conn, new, version)

    def _summaries(self, where: str, params: tuple[Any, ...]) -> list[Record]:
        with self.pool.connection() as conn:
            rows = conn.execute(f"SELECT summary FROM applications WHERE {where} ORDER BY {_ORDER}",
                                params).fetchall()
        return [dict(r[0]) for r in rows]

    def open_applications(self, agency: str) -> list[Record]:
        return self._summaries("agency = %s AND NOT closed", (agency,))

    def closed_applications(self, agency: str, period: str | None = None) -> Iterator[Record]:
        """Month by month (oldest first), each month in intake order."""
        with self.pool.connection() as conn:
            if period is None:
                rows = conn.execute("SELECT summary FROM applications WHERE agency = %s AND closed "
                                    f'ORDER BY period COLLATE "C", {_ORDER}', (agency,)).fetchall()
            else:
                rows = conn.execute("SELECT summary FROM applications WHERE agency = %s AND closed "
                                    f"AND period = %s ORDER BY {_ORDER}", (agency, period)).fetchall()
        for r in rows:
            yield dict(r[0])

    def applications_of(self, applicant: str) -> list[Record]:
        return self._summaries("applicant = %s", (applicant,))

    # -- sequences ------------------------------------------------------------
    def next_number(self, sequence: str, note: Mapping[str, Any] | None = None) -> int:
        if not isinstance(sequence, str) or not sequence:
            raise ValueError("ชื่อลำดับเลขต้องเป็นข้อความ / a sequence name must be a non-empty string")
        with self.pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO sequences (name, value) VALUES (%s, 1) "
                "ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value",
                (sequence,)).fetchone()
            assert row is not None  # RETURNING of an upsert always gives the row
            value = row[0]
            if note is not None:
                entry = dict(note, value=value, at=self.clock.now().isoformat())
                conn.execute("INSERT INTO sequence_log (name, value, entry) VALUES (%s, %s, %s::jsonb)",
                             (sequence, value, _json(entry)))
        return int(value)

    def current_number(self, sequence: str) -> int:
        with self.pool.connection() as conn:
            row = conn.execute("SELECT value FROM sequences WHERE name = %s", (sequence,)).fetchone()
        return int(row[0]) if row else 0

    def number_log(self, sequence: str) -> list[Record]:
        with self.pool.connection() as conn:
            rows = conn.execute("SELECT entry FROM sequence_log WHERE name = %s ORDER BY value",
                                (sequence,)).fetchall()
        return [dict(r[0]) for r in rows]

    def collection(self, name: str) -> Collection:
        if not isinstance(name, str) or not name:
            raise ValueError("ชื่อชุดข้อมูลต้องไม่ว่าง / a collection name must be a non-empty string")
        return PostgresCollection(self, name)


class PostgresCollection(Collection):
    """One named collection: rows of ``collections`` keyed by (name, key)."""

    def __init__(self, store: PostgresStore, name: str):
        self.store = store
        self.name = name

    @staticmethod
    def _key(key: str) -> str:
        if not isinstance(key, str) or not key:
            raise ValueError(f"key ต้องเป็นข้อความที่ไม่ว่าง / key must be a non-empty string, got {key!r}")
        return key

    def get(self, key: str) -> Record | None:
        with self.store.pool.connection() as conn:
            row = conn.execute("SELECT record FROM collections WHERE name = %s AND key = %s",
                               (self.name, self._key(key))).fetchone()
        return dict(row[0]) if row else None

    def put(self, key: str, record: Record, expected_version: int | None = None) -> Record:
        self._key(key)
        with self.store.pool.connection() as conn:
            old = conn.execute("SELECT version FROM collections WHERE name = %s AND key = %s FOR UPDATE",
                               (self.name, key)).fetchone()
            actual = old[0] if old else None
            if expected_version is None and old is not None:
                raise ConflictError(f"{self.name}/{key}", None, actual)
            if expected_version is not None:
                if old is None:
                    raise NotFoundError(self.name, key)
                if actual != expected_version:
                    raise ConflictError(f"{self.name}/{key}", expected_version, actual)
            new = dict(record, version=(actual or 0) + 1)
            conn.execute("INSERT INTO collections (name, key, record, version) VALUES (%s, %s, %s::jsonb, %s) "
                         "ON CONFLICT (name, key) DO UPDATE SET record = EXCLUDED.record, version = EXCLUDED.version",
                         (self.name, key, _json(new), new["version"]))
        return dict(new)

    def delete(self, key: str) -> None:
        """Deleting a missing key is not an error, so a retried delete is safe."""
        with self.store.pool.connection() as conn:
            conn.execute("DELETE FROM collections WHERE name = %s AND key = %s", (self.name, self._key(key)))

    def find(self, **equals: Any) -> list[Record]:
        # Containment narrows by index; the exact test keeps "equal", not "contains", for lists and objects.
        with self.store.pool.connection() as conn:
            rows = conn.execute('SELECT record FROM collections WHERE name = %s AND record @> %s::jsonb '
                                'ORDER BY key COLLATE "C"', (self.name, _json(equals))).fetchall()
        records = [dict(r[0]) for r in rows]
        return [r for r in records if all(r.get(k) == v for k, v in equals.items())]

    def all(self) -> Iterator[Record]:
        with self.store.pool.connection() as conn:
            rows = conn.execute('SELECT record FROM collections WHERE name = %s ORDER BY key COLLATE "C"',
                                (self.name,)).fetchall()
        for r in rows:
            yield dict(r[0])
