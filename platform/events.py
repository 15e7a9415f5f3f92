"""Hash-linked events: the history of an application and the audit trail.

Each event carries the SHA-256 of the previous one, so changing or removing any
event breaks every hash after it.  The same chain is used for an application's
own history and for the platform-wide audit log (A-F8, A-F9, issue #4 item 9).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> bytes:
    """One byte sequence per value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def event_hash(event: Mapping[str, Any]) -> str:
    body = {k: v for k, v in event.items() if k != "hash"}
    return sha256_hex(canonical_json(body))


def new_event(previous: Mapping[str, Any] | None, type_: str, actor: str, at: str,
              data: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """The next event after ``previous`` (None for the first)."""
    event = {
        "seq": (previous["seq"] + 1) if previous else 1,
        "type": type_,
        "actor": actor,
        "at": at,
        "data": dict(data or {}),
        "prev": previous["hash"] if previous else GENESIS,
        **extra,
    }
    event["hash"] = event_hash(event)
    return event


def append(events: list[dict[str, Any]], type_: str, actor: str, at: str,
           data: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    event = new_event(events[-1] if events else None, type_, actor, at, data, **extra)
    events.append(event)
    return event


def verify_chain(events: Iterable[Mapping[str, Any]], start: str = GENESIS) -> list[str]:
    """Problems in a chain (empty when intact): a changed, removed or reordered event."""
    problems: list[str] = []
    expected_prev, expected_seq = start, None
    for event in events:
        seq = event.get("seq")
        if expected_seq is not None and seq != expected_seq:
            problems.append(f"event {seq}: expected sequence {expected_seq} (an event was removed or reordered)")
        if event.get("prev") != expected_prev:
            problems.append(f"event {seq}: does not follow the previous event's hash")
        if event_hash(event) != event.get("hash"):
            problems.append(f"event {seq}: its content was changed after it was recorded")
        expected_prev = event.get("hash")
        expected_seq = (seq or 0) + 1
    return problems
