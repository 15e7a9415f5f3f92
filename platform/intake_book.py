"""The book of intake numbers (ทะเบียนเลขรับ): every number of an agency's year, in order.

RC-1 asks for an unbroken book: each number either names the request it was
given to or says why it was not used.  A number is drawn from the store's
sequence with a note of the application it is for, in the same durable write
(:meth:`Store.next_number`), so a number that a crash (or a failed submission)
left unused is shown as "not used", with the time it was drawn, instead of
silently missing.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .store import Store

__all__ = ["intake_sequence", "intake_book", "book_lines"]


def intake_sequence(agency: str, be_year: int) -> str:
    """The store sequence that numbers an agency's requests in a Buddhist-Era year."""
    return f"intake:{agency}:{be_year}"


def intake_book(store: Store, agency: str, be_year: int) -> list[dict[str, Any]]:
    """One row per number from 1 to the last one drawn: ``number``, ``status``
    (``used`` / ``not_used``), and ``application``, ``reference``, ``intake_at``
    (used) or ``drawn_at``, ``drawn_for`` (not used)."""
    suffix = f"/{be_year}"
    used: dict[int, dict[str, Any]] = {}
    for summary in _all_summaries(store, agency):
        number = str(summary.get("intake_number") or "")
        if number.endswith(suffix) and number[: -len(suffix)].isdigit():
            used[int(number[: -len(suffix)])] = summary
    sequence = intake_sequence(agency, be_year)
    log = {entry["value"]: entry for entry in store.number_log(sequence)}
    last = max([*used, store.current_number(sequence)], default=0)
    rows = []
    for n in range(1, last + 1):
        if n in used:
            s = used[n]
            rows.append({"number": f"{n}{suffix}", "status": "used", "application": s["id"],
                         "reference": s.get("reference"), "intake_at": s.get("intake_at")})
        else:
            entry = log.get(n, {})
            rows.append({"number": f"{n}{suffix}", "status": "not_used", "drawn_at": entry.get("at"),
                         "drawn_for": entry.get("application")})
    return rows


def _all_summaries(store: Store, agency: str) -> Iterator[dict[str, Any]]:
    yield from store.open_applications(agency)
    yield from store.closed_applications(agency)


def book_lines(rows: list[dict[str, Any]]) -> Iterator[str]:
    """The book as text lines, Thai first."""
    for row in rows:
        if row["status"] == "used":
            yield f"{row['number']}\t{row['application']}\t{row.get('reference') or ''}\t{row.get('intake_at') or ''}"
        else:
            when = row.get("drawn_at") or "?"
            yield (f"{row['number']}\tไม่ได้ใช้ (ระบบขัดข้องเมื่อ {when}) / not used (crash at {when})"
                   f"\t{row.get('drawn_for') or ''}")

