"""Folding a sealed journal generation into the store's TinyDB files.

A checkpoint seals the journal (see :mod:`.tinydb_store`); this module writes
what the sealed generation holds into the files: index files first, then the
application records, then collections and numbers.  Every function is
idempotent (each file is rewritten whole, from its current content and the
lines), so a fold killed half-way is simply done again.
"""
from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from .base import Record
from .journal import Line
from .layout import name_digest

if TYPE_CHECKING:
    from .tinydb_store import TinyDBStore, _Overlay

__all__ = ["write_into_files"]


def write_into_files(store: TinyDBStore, overlay: _Overlay) -> None:
    """Everything ``overlay`` holds, written (not yet synced) into the files."""
    _applications(store, overlay)
    _records(store, overlay)
    _numbers(store, overlay)


def _applications(store: TinyDBStore, overlay: _Overlay) -> None:
    """Index files first, records second: if a crash comes between, the next
    checkpoint still reads each record's old placement from its old file."""
    opened, archives, applicants = set(), set(), set()
    for app_id, ref in overlay.apps.items():
        old = store._read_app_file(app_id)
        for record, period in ((old[0], old[1]) if old else (None, None), (ref.summary, ref.period)):
            if record is None:
                continue
            if record["closed"] and period:
                archives.add((record["agency"], period))
            else:
                opened.add(record["agency"])
            if record.get("applicant"):
                applicants.add(record["applicant"])
    apps = overlay.apps
    open_now: dict[str, dict[str, Record]] = defaultdict(dict)
    closed_now: dict[tuple[str, str | None], dict[str, Record]] = defaultdict(dict)
    by_applicant: dict[str, dict[str, Record]] = defaultdict(dict)
    for k, r in apps.items():
        agency = r.summary["agency"]
        if r.summary["closed"]:
            closed_now[agency, r.period][k] = r.summary
        else:
            open_now[agency][k] = r.summary
        if r.summary.get("applicant"):
            by_applicant[r.summary["applicant"]][k] = {"id": k, "agency": agency}
    for agency in opened:
        table = store._open_index(agency)
        rows = {k: s for k, s in table.items() if k not in apps}
        rows.update(open_now.get(agency, {}))
        table.replace_all(rows)
    for agency, period in archives:
        table = store._archive(agency, period)
        rows = {k: s for k, s in table.items() if k not in apps}
        rows.update(closed_now.get((agency, period), {}))
        table.replace_all(rows)
    for applicant in applicants:
        table = store._applicant_index(applicant)
        rows = {k: v for k, v in table.items() if k not in apps}
        rows.update(by_applicant.get(applicant, {}))
        table.replace_all(rows)
    for ref in apps.values():
        store._write_app_file(ref.line.record(), ref.period)

def _records(store: TinyDBStore, overlay: _Overlay) -> None:
    shards: dict[tuple[str, str], list[tuple[str, Line]]] = defaultdict(list)
    for (name, key), line in overlay.records.items():
        shards[name, name_digest(key)[:2]].append((key, line))
    for (name, shard), changes in shards.items():
        table = store._table(store.root / "collections" / name / f"{shard}.json", "records")
        rows = dict(table.items())
        for key, line in changes:
            if line.header["v"] is None:
                rows.pop(key, None)
            else:
                rows[key] = line.record()
        table.replace_all(rows)

def _numbers(store: TinyDBStore, overlay: _Overlay) -> None:
    if overlay.numbers:
        table = store._sequences()
        rows = dict(table.items())
        rows.update((k, {"value": v}) for k, v in overlay.numbers.items())
        table.replace_all(rows)
    for sequence, notes in overlay.notes.items():
        table = store._number_log(sequence)
        rows = dict(table.items())
        rows.update((str(n["value"]), n) for n in notes)
        table.replace_all(rows)
