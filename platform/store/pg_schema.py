"""The PostgreSQL backend's schema and its migrations, shipped with the package.

Each migration is a list of SQL statements, applied in order by
``eservice db upgrade`` inside one transaction under an advisory lock (two
servers upgrading at once take turns).  ``eservice_schema`` holds the version
reached.  A migration is never edited once released: a change is a new one.
"""
from __future__ import annotations

from typing import Any

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "schema_version", "upgrade"]

MIGRATIONS: list[list[str]] = [
    [  # 1: applications with their summaries, sequences and their log, collections
        """CREATE TABLE applications (
            id text PRIMARY KEY,
            agency text NOT NULL,
            applicant text,
            closed boolean NOT NULL,
            period text,
            intake_at text NOT NULL DEFAULT '',
            summary jsonb NOT NULL,
            record jsonb NOT NULL,
            version integer NOT NULL)""",
        'CREATE INDEX applications_open ON applications (agency, intake_at COLLATE "C", id COLLATE "C") '
        "WHERE NOT closed",
        'CREATE INDEX applications_closed ON applications (agency, period COLLATE "C", intake_at COLLATE "C", '
        'id COLLATE "C") WHERE closed',
        'CREATE INDEX applications_applicant ON applications (applicant, intake_at COLLATE "C", id COLLATE "C")',
        "CREATE TABLE sequences (name text PRIMARY KEY, value bigint NOT NULL)",
        "CREATE TABLE sequence_log (name text NOT NULL, value bigint NOT NULL, entry jsonb NOT NULL, "
        "PRIMARY KEY (name, value))",
        "CREATE TABLE collections (name text NOT NULL, key text NOT NULL, record jsonb NOT NULL, "
        "version integer NOT NULL, PRIMARY KEY (name, key))",
        "CREATE INDEX collections_record ON collections USING gin (record jsonb_path_ops)",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)
_LOCK = 7_310_2565  # the advisory lock id that upgrades take


def schema_version(conn: Any) -> int:
    """The version reached in the connection's schema (0: nothing yet)."""
    exists = conn.execute("SELECT to_regclass('eservice_schema')").fetchone()[0]
    if exists is None:
        conn.rollback()
        return 0
    row = conn.execute("SELECT max(version) FROM eservice_schema").fetchone()
    conn.rollback()
    return int(row[0] or 0)


def upgrade(url: str, schema: str | None = None) -> tuple[int, int]:
    """Apply the missing migrations; returns (version before, version after)."""
    import psycopg

    options = f"-c search_path={schema}" if schema else None
    with psycopg.connect(url, options=options) if options else psycopg.connect(url) as conn:
        if schema:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS eservice_schema (version integer PRIMARY KEY, "
                     "applied_at timestamptz NOT NULL DEFAULT now())")
        row = conn.execute("SELECT coalesce(max(version), 0) FROM eservice_schema").fetchone()
        before = int(row[0]) if row else 0
        for number, statements in enumerate(MIGRATIONS[before:], start=before + 1):
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO eservice_schema (version) VALUES (%s)", (number,))
        conn.commit()
    return before, SCHEMA_VERSION
