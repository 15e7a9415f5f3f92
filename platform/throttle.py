"""Attempt counters that hold across parallel requests and worker processes.

R: A-X2 (lock-out and throttling of credential guessing); issue #17 item 5.

An attempt is counted *before* the work it guards (checking a password, sending
a mail), not after: :meth:`Counters.reserve` writes the new count with the
record's version (``expected_version``) and counts again on a
:class:`~eservice.store.base.ConflictError`, so of any number of simultaneous
requests at most ``Limit.max_attempts`` get through, in any process that shares
the store.  Where only failures should count (sign-in), the caller gives the
attempt back with :meth:`Counters.release` when it succeeded.

Each counter is one record ``{key, count, first_at, last_at, locked_until}`` in
a store collection; keys are SHA-256 digests, so no e-mail address or IP
address is stored in clear.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .clock import BANGKOK
from .errors import BilingualError
from .store.base import ConflictError

__all__ = ["Counters", "Limit", "Throttled", "counter_key"]

_RETRIES = 50  # conflicts in a row before giving up (and refusing: fail closed)


@dataclass(frozen=True)
class Limit:
    """``max_attempts`` within ``window``; the one that reaches the limit blocks
    further attempts for ``lock_for`` (default: until the window ends)."""

    max_attempts: int
    window: timedelta
    lock_for: timedelta | None = None


class Throttled(BilingualError):
    """Too many attempts: answer 429 with ``Retry-After: retry_after`` (seconds)."""

    status = 429

    def __init__(self, until: datetime, now: datetime):
        self.until = until
        self.retry_after = max(1, math.ceil((until - now).total_seconds()))
        local = until.astimezone(BANGKOK).strftime("%H:%M")
        super().__init__(
            "too_many_requests",
            f"มีการลองหลายครั้งเกินไป กรุณาลองใหม่หลังเวลา {local} น. (อีกประมาณ {self._minutes()} นาที)",
            f"Too many attempts; please try again after {local} Bangkok time (in about {self._minutes()} minutes)")

    def _minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


def counter_key(*parts: str) -> str:
    """The key of a counter, e.g. ``counter_key("sign_in", "client", ip)``: a SHA-256."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


class Counters:
    """Counters in one store collection (``collection`` has get/put/delete/all)."""

    def __init__(self, collection: Any, clock: Any):
        self.collection = collection
        self.clock = clock

    def reserve(self, key: str, limit: Limit) -> datetime | None:
        """Count one attempt, or raise :class:`Throttled` when the limit is reached.

        Returns the end of the block when this attempt is the one that reached
        the limit (so a failing caller can say so), else None."""
        for _ in range(_RETRIES):
            now = self.clock.now()
            state = self.collection.get(key)
            locked = _parse(state.get("locked_until")) if state else None
            if locked is not None and now < locked:
                raise Throttled(locked, now)
            first = _parse(state.get("first_at")) if state else None
            fresh = first is None or locked is not None or now - first >= limit.window
            count = 1 if fresh else int(state.get("count", 0)) + 1
            first = now if fresh else first
            blocked_until = None
            if count >= limit.max_attempts:
                blocked_until = now + limit.lock_for if limit.lock_for else first + limit.window
            record = {"key": key, "count": count, "first_at": first.isoformat(), "last_at": now.isoformat(),
                      "locked_until": blocked_until.isoformat() if blocked_until else None}
            try:
                self.collection.put(key, record, expected_version=state["version"] if state else None)
            except ConflictError:
                continue  # a parallel attempt counted first: count again on top of it
            return blocked_until
        now = self.clock.now()
        raise Throttled(now + timedelta(seconds=1), now)

    def release(self, key: str) -> None:
        """Give one reserved attempt back (it succeeded, and only failures count)."""
        for _ in range(_RETRIES):
            state = self.collection.get(key)
            if state is None:
                return
            count = max(0, int(state.get("count", 0)) - 1)
            try:
                self.collection.put(key, dict(state, count=count, locked_until=None),
                                    expected_version=state["version"])
                return
            except ConflictError:
                continue

    def clear(self, key: str) -> None:
        self.collection.delete(key)

    def purge(self, keep_for: timedelta) -> int:
        """Delete counters untouched for ``keep_for`` and not blocked; return how many."""
        now = self.clock.now()
        stale = []
        for rec in list(self.collection.all()):
            last = _parse(rec.get("last_at") or rec.get("last_failure_at"))
            locked = _parse(rec.get("locked_until"))
            if (last is None or now - last > keep_for) and (locked is None or locked <= now):
                stale.append(rec["key"])
        for key in stale:
            self.collection.delete(key)
        return len(stale)
