"""The storage interface every backend implements.

The engine talks only to this interface, so a server database can replace the
embedded TinyDB backend when an agency outgrows one machine.  Records are plain
JSON-compatible dicts; each carries an integer ``version`` that the store bumps
on every write and checks on every update (optimistic concurrency).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import contextmanager
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from ..clock import BANGKOK, Clock
from ..errors import BilingualError

Record = dict[str, Any]


class StoreError(BilingualError):
    """Base class: every store error carries a Thai and an English message."""

    code = "store_error"

    def __init__(self, th: str, en: str):
        super().__init__(self.code, th, en)


class ConflictError(StoreError):
    """Raised when an update was based on a version that is no longer current."""

    status = 409
    code = "version_conflict"

    def __init__(self, key: str, expected: int | None, actual: int | None):
        if expected is None:  # an insert found the key already taken
            th = f"มีข้อมูล {key} อยู่แล้ว (ฉบับที่ {actual}) ไม่สามารถสร้างซ้ำได้"
            en = f"{key} already exists (version {actual}); it cannot be created again"
        else:
            th = (f"ข้อมูล {key} ถูกแก้ไขโดยผู้อื่นแล้ว (ฉบับที่ {actual} ไม่ใช่ฉบับที่ {expected} ที่ท่านเปิดไว้) "
                  "กรุณาโหลดใหม่แล้วลองอีกครั้ง")
            en = (f"{key} was changed by someone else (now version {actual}, you had {expected}); "
                  "reload and try again")
        super().__init__(th, en)
        self.key = key
        self.expected = expected
        self.actual = actual


class NotFoundError(StoreError, KeyError):
    """``kind`` names the thing in English ("application"); ``kind_th`` in Thai
    ("คำขอ"), defaulting to ``kind``."""

    status = 404
    code = "not_found"

    def __init__(self, kind: str, key: str, kind_th: str | None = None):
        StoreError.__init__(self, f"ไม่พบ{kind_th or kind} {key}", f"{kind} {key} not found")
        self.kind = kind
        self.key = key


class LockTimeoutError(StoreError):
    """Another process held a store lock for too long (a stuck or very slow writer)."""

    status = 503
    code = "store_busy"

    def __init__(self, lock: str, timeout: float):
        super().__init__(
            f"ระบบจัดเก็บข้อมูลไม่ว่าง (รอล็อก {lock} เกิน {timeout:g} วินาที) กรุณาลองใหม่อีกครั้ง",
            f"the store is busy (waited more than {timeout:g} s for lock {lock}); try again",
        )
        self.lock = lock
        self.timeout = timeout


class Collection(ABC):
    """A named set of small records keyed by a string (users, payments, licences…)."""

    @abstractmethod
    def get(self, key: str) -> Record | None: ...

    @abstractmethod
    def put(self, key: str, record: Record, expected_version: int | None = None) -> Record:
        """Insert (``expected_version`` None: the key must be new) or update
        (``expected_version`` must equal the stored version).  Returns the
        stored record with its new ``version``; raises ConflictError."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def find(self, **equals: Any) -> list[Record]:
        """Records whose top-level fields equal the given values."""

    @abstractmethod
    def all(self) -> Iterator[Record]: ...


class Store(ABC):
    """Applications (each with its events and document metadata), the open-work
    index per agency, per-period archives of closed applications, sequences and
    named collections."""

    # -- applications -------------------------------------------------------
    @abstractmethod
    def create_application(self, record: Record) -> Record:
        """Store a new application.  ``record`` must have ``id``, ``agency``,
        ``service``, ``state`` and ``closed`` (bool).  Returns it with
        ``version`` 1.  Raises ConflictError if the id exists."""

    @abstractmethod
    def get_application(self, app_id: str) -> Record:
        """Raises NotFoundError."""

    @abstractmethod
    def update_application(self, record: Record, expected_version: int) -> Record:
        """Replace the application if its stored version equals
        ``expected_version``; bump the version; keep the open index and the
        archives in step (an application whose ``closed`` became true leaves the
        open index).  Raises ConflictError / NotFoundError."""

    def modify_application(self, app_id: str, change: Callable[[Record], Record | None]) -> Record:
        """Read, apply ``change`` and write back under the application's lock.
        ``change`` may mutate the record in place or return a new one."""
        current = self.get_application(app_id)
        version = current["version"]
        result = change(current)
        return self.update_application(result if result is not None else current, version)

    @abstractmethod
    def open_applications(self, agency: str) -> list[Record]:
        """Summaries of the agency's open applications (the inbox), read from
        the open index only: the cost grows with open work, not with history."""

    @abstractmethod
    def closed_applications(self, agency: str, period: str | None = None) -> Iterator[Record]:
        """Summaries of closed applications, from the per-period archives
        (``period`` as ``YYYY-MM``; None for all)."""

    @abstractmethod
    def applications_of(self, applicant: str) -> list[Record]:
        """Summaries of every application (open or closed) of one applicant."""

    # -- sequences and collections ------------------------------------------
    @abstractmethod
    def next_number(self, sequence: str, note: Mapping[str, Any] | None = None) -> int:
        """The next integer of a named sequence (1, 2, …), atomic across processes.

        With ``note`` (e.g. ``{"application": id}``) the allocation is logged,
        in the same durable write, with its time: :meth:`number_log` then tells
        what every number was drawn for, so a number that a crash left unused
        is explained in the book instead of silently missing (RC-1)."""

    @abstractmethod
    def current_number(self, sequence: str) -> int:
        """The last number drawn from ``sequence`` (0 if none)."""

    @abstractmethod
    def number_log(self, sequence: str) -> list[Record]:
        """The logged allocations of ``sequence``: ``{"value", "at", **note}``,
        in number order."""

    @abstractmethod
    def collection(self, name: str) -> Collection: ...

    @contextmanager
    def commit_group(self) -> Iterator[None]:
        """Writes made in this thread inside the block become durable together,
        once, when it ends (one request's several writes then cost one wait for
        the disk).  Nothing inside may be acknowledged to anybody before the block
        ends.  Backends without such a thing make every write durable at once."""
        yield

    def close(self) -> None:
        """Release resources (nothing for file backends)."""


SUMMARY_FIELDS = (
    "id", "agency", "service", "service_version", "state", "closed", "applicant",
    "assignee", "intake_number", "intake_at", "sla_due", "changed", "updated_at",
    "reference", "title", "version",
)


def archive_period(record: Record, clock: Clock) -> str:
    """The archive month of a closed application: the month ``closed_at`` falls
    in (Bangkok time), else the current month."""
    closed_at = record.get("closed_at")
    if isinstance(closed_at, str):
        try:
            when = datetime.fromisoformat(closed_at)
        except ValueError:
            when = None
        if when is not None:
            if when.tzinfo is not None:
                when = when.astimezone(BANGKOK)
            return when.strftime("%Y-%m")
    return clock.local_now().strftime("%Y-%m")


def summarize(record: Record, fields: Iterable[str] = SUMMARY_FIELDS) -> Record:
    """The fields of an application kept in the inbox index and archives."""
    return {k: record.get(k) for k in fields}
