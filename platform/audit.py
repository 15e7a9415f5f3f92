"""The audit trail: who did what, to which record, when and from where
(issue #4 item 9; A-X1, A-X2).

Every view of personal data and every action is recorded as one event in a
single hash-linked chain for the whole platform.  Each event carries the
SHA-256 of the one before it (:func:`eservice.events.event_hash`, the same
canonical hashing as an application's own history), so changing, removing or
reordering any event, or deleting a whole day's file, breaks the chain and
:meth:`AuditLog.verify` reports it, naming the event's sequence number::

    <data>/audit/
      2024/01/22.jsonl     one JSON line per event, for that day (Asia/Bangkok);
      2024/01/23.jsonl     the chain runs on across files: the first event of a
      ...                  day links to the last event of the previous file
      head.json            {"seq", "hash", "file", "size"} of the last event,
                           replaced atomically after every append
      quarantine/          bytes a crash left half-written (kept, never deleted)
    <data>/locks/audit.lock

An event::

    {"seq": 42, "at": "2024-01-22T03:10:00+00:00", "actor": "u-officer",
     "action": "application.view", "target": "app-1f…", "agency": "dol",
     "ip": "203.0.113.9", "user_agent": "Mozilla/5.0 …", "details": {…},
     "prev": "<hash of event 41>", "hash": "<hash of this event>"}

Keep personal data itself out of ``details``: record *that* a record was seen
(its id, which page), not what it contains.

Writing
-------
Appends run under a cross-process file lock (``filelock``, as the store does).
The line is written to the day file opened for appending, flushed and fsynced;
then ``head.json`` is replaced atomically (temporary file, fsync,
``os.replace``).  So an append never re-reads the day files: it reads the small
head and checks with one ``stat`` that the head's file is exactly as long as
the head says.

A crash can leave the newest line unacknowledged by the head (crash after the
line, before the head) or half-written (crash inside the write).  The next
append finds this from the size check and repairs it *in the open*: a whole
line that continues the chain is adopted; a half line is moved to
``quarantine/`` and the repair itself is recorded in the chain as an
``audit.recovered`` event.  Until then :meth:`AuditLog.verify` reports the torn
line.  Anything else the next append finds (a head file shorter than the head
says, a missing ``head.json``) is recorded as an ``audit.anomaly`` event and
the chain continues from the head, so the gap stays visible to ``verify``.

What the chain can and cannot prove
-----------------------------------
The chain detects any change made without recomputing hashes, and any removal
or reordering of events; ``head.json`` detects removal of the last events.
Someone able to rewrite the files *and* the head can forge a consistent chain:
publish or copy :meth:`AuditLog.head` elsewhere from time to time (a daily
e-mail, a signed report) and compare it with ``verify(expected_head=…)``.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from .clock import BANGKOK, Clock, SystemClock, require_aware
from .events import GENESIS, canonical_json, event_hash, sha256_hex
from .policy import Actor
from .settings import DEFAULT_DATA, env_data_folder
from .store.atomic import atomic_write_bytes, fsync_dir, locked

__all__ = ["AuditLog", "AuditProblem", "AuditCheck", "audit_command", "EVENT_FIELDS"]

#: The fields of every audit event, in the order they are written.
EVENT_FIELDS = ("seq", "at", "actor", "action", "target", "agency", "ip", "user_agent", "details",
                "prev", "hash")

_DAY_FILE = re.compile(r"^(\d{4})/(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])\.jsonl$")
_MAX_TEXT = 1000  # actor, action, target, agency, ip, user agent: longer values are cut


@dataclass(frozen=True)
class AuditProblem:
    """One thing wrong with the trail, in Thai and English, with where it is."""

    code: str  # changed | missing | reordered | duplicate | broken_link | torn | corrupt | head
    th: str
    en: str
    seq: int | None = None
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.th} / {self.en}"

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "th": self.th, "en": self.en, "seq": self.seq,
                "file": self.file, "line": self.line}


@dataclass
class AuditCheck:
    """The result of a full check: how many events were read and what is wrong."""

    events: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    problems: list[AuditProblem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Head:
    seq: int
    hash: str
    file: str | None  # path of the last event's file, relative to the audit folder
    size: int         # that file's size just after the last event was appended

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "file": self.file, "size": self.size}


_GENESIS_HEAD = _Head(0, GENESIS, None, 0)


def _clip(value: Any) -> str:
    text = "" if value is None else str(value)
    return text[:_MAX_TEXT]


def _seq_range(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}–{last}"


def _out_of_order(seq: int, expected: int | None, file: str, line: int) -> AuditProblem:
    here_th = f" (ตำแหน่งนี้ควรเป็นลำดับที่ {expected})" if expected is not None else ""
    here_en = f" (expected event {expected} here)" if expected is not None else ""
    return AuditProblem(
        "reordered", f"เหตุการณ์ลำดับที่ {seq} ({file} บรรทัด {line}) อยู่ผิดลำดับ{here_th}",
        f"event {seq} ({file} line {line}) is out of order{here_en}", seq=seq, file=file, line=line)


@dataclass
class _Gap:
    """Sequence numbers skipped when event ``jumper_seq`` came early."""

    first: int
    last: int
    jumper_seq: int
    file: str
    line: int
    hint: tuple[str, str]
    seen: set[int] = field(default_factory=set)  # found later (out of order)

    def holds(self, seq: int) -> bool:
        return self.first <= seq <= self.last and seq not in self.seen

    def fill(self, seq: int) -> None:
        self.seen.add(seq)

    @property
    def filled(self) -> bool:
        return bool(self.seen)

    @property
    def empty(self) -> bool:
        return len(self.seen) == self.last - self.first + 1

    def runs(self) -> Iterator[tuple[int, int]]:
        """The still-missing numbers as (first, last) runs."""
        start = self.first
        for seq in sorted(self.seen):
            if seq > start:
                yield start, seq - 1
            start = seq + 1
        if start <= self.last:
            yield start, self.last


class AuditLog:
    """The platform's audit trail, kept under ``<root>/audit``.

    ``root`` is the data folder (the same folder as the store).  ``clock``
    gives each event's time; ``tz`` decides which day's file it goes in.
    ``durable=False`` skips fsync (tests only).
    """

    def __init__(self, root: str | os.PathLike, clock: Clock | None = None, *, tz: tzinfo = BANGKOK,
                 durable: bool = True, lock_timeout: float = 30.0):
        self.root = Path(root)
        self.folder = self.root / "audit"
        self.head_path = self.folder / "head.json"
        self.lock_path = self.root / "locks" / "audit.lock"
        self.clock = clock or SystemClock()
        self.tz = tz
        self.durable = durable
        self.lock_timeout = lock_timeout

    # -- recording ---------------------------------------------------------------
    def record(self, actor: Actor | str, action: str, target: str = "", agency: str = "",
               details: Mapping[str, Any] | None = None, ip: str = "", user_agent: str = "") -> dict[str, Any]:
        """Append one event and return it (with its ``seq`` and ``hash``).

        ``actor`` is an :class:`~eservice.policy.Actor` (its ``ip`` and
        ``user_agent`` are used unless given) or a user id.  ``details`` must be
        JSON-like; other values (dates, decimals) are stored as text.
        """
        if isinstance(actor, Actor):
            actor_id = actor.user_id
            ip = ip or actor.ip
            user_agent = user_agent or actor.user_agent
        else:
            actor_id = actor
        if not isinstance(action, str) or not action.strip():
            raise ValueError("ต้องระบุการกระทำ (action) / action must be a non-empty string")
        # Normalise through the canonical form, so the stored line reads back to
        # exactly the value that was hashed.
        clean_details = json.loads(canonical_json(dict(details or {})))
        fields = {
            "actor": _clip(actor_id), "action": _clip(action), "target": _clip(target),
            "agency": _clip(agency), "ip": _clip(ip), "user_agent": _clip(user_agent),
            "details": clean_details,
        }
        with locked(self.lock_path, self.lock_timeout):
            head, notes = self._head_for_append()
            for note in notes:  # repairs and anomalies go into the chain first
                head, _ = self._append(head, {
                    "actor": "system", "action": note.pop("action"), "target": "audit", "agency": "",
                    "ip": "", "user_agent": "", "details": note})
            _, event = self._append(head, fields)
        return event

    def head(self) -> dict[str, Any]:
        """``{"seq", "hash"}`` of the last event: publish it elsewhere now and
        then, and pass it to :meth:`verify` later to prove nothing was rewritten."""
        head = self._read_head() or _GENESIS_HEAD
        return {"seq": head.seq, "hash": head.hash}

    # -- files -------------------------------------------------------------------
    def _day_file(self, instant: datetime) -> str:
        return instant.astimezone(self.tz).strftime("%Y/%m/%d") + ".jsonl"

    def _files(self) -> list[str]:
        """Every day file, oldest first (relative paths sort by date)."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/*.jsonl"):
            rel = path.relative_to(self.folder).as_posix()
            if _DAY_FILE.match(rel):
                found.append(rel)
        return sorted(found)

    def _read_head(self) -> _Head | None:
        try:
            raw = json.loads(self.head_path.read_bytes())
            return _Head(int(raw["seq"]), str(raw["hash"]), raw.get("file"), int(raw.get("size", 0)))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            return None  # unreadable: treated like a missing head (and reported by verify)

    def _write_head(self, head: _Head) -> None:
        """Replace ``head.json`` atomically.  Its content is fsynced before the
        rename, so after a crash it is whole, old or new; the folder is *not*
        fsynced (one fsync less per event): an old head is harmless, since
        the next append adopts the whole lines after it."""
        data = json.dumps(head.as_dict()).encode("utf-8")
        atomic_write_bytes(self.head_path, data, durable=self.durable, sync_dir=False)

    @staticmethod
    def _line(event: Mapping[str, Any]) -> bytes:
        ordered = {k: event[k] for k in EVENT_FIELDS}
        return (json.dumps(ordered, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")

    def _append(self, head: _Head, fields: Mapping[str, Any]) -> tuple[_Head, dict[str, Any]]:
        now = require_aware(self.clock.now(), "clock.now()")
        event: dict[str, Any] = {"seq": head.seq + 1, "at": now.isoformat(), **fields, "prev": head.hash}
        event["hash"] = event_hash(event)
        rel = self._day_file(now)
        if head.file and rel < head.file:  # the clock went back: never write to an older file
            rel = head.file
        path = self.folder / rel
        data = self._line(event)
        new_dirs = [p for p in (path.parent.parent, path.parent) if not p.is_dir()]
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o640)
        try:
            size = os.fstat(fd).st_size
            if size and not self._ends_with_newline(fd, size):
                data = b"\n" + data  # never glue an event onto a damaged line
            view = memoryview(data)
            while view:  # a regular file rarely takes less, but never assume it
                view = view[os.write(fd, view):]
            if self.durable:
                os.fsync(fd)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if self.durable and (size == len(data) or new_dirs):  # a new file (and folders)
            for folder in [path.parent, *reversed([d.parent for d in new_dirs])]:
                fsync_dir(folder)
        new_head = _Head(event["seq"], event["hash"], rel, size)
        self._write_head(new_head)
        return new_head, event

    @staticmethod
    def _ends_with_newline(fd: int, size: int) -> bool:
        os.lseek(fd, size - 1, os.SEEK_SET)  # O_APPEND still writes at the end
        return os.read(fd, 1) == b"\n"

    # -- crash recovery at append time -------------------------------------------------
    def _head_for_append(self) -> tuple[_Head, list[dict[str, Any]]]:
        """The head to continue from, repairing what a crash left behind.

        Returns the head and notes to record in the chain (repairs, anomalies).
        Fast path: ``head.json`` read, one ``stat``, nothing else.
        """
        notes: list[dict[str, Any]] = []
        head = self._read_head()
        if head is None:
            files = self._files()
            if not files:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._write_head(_GENESIS_HEAD)  # from now on a missing head means tampering
                if self.durable:
                    fsync_dir(self.folder)
                return _GENESIS_HEAD, notes
            last = self._last_valid_event(files)
            head = _Head(last["seq"], last["hash"], last["_file"], last["_end"]) if last else _GENESIS_HEAD
            notes.append({"action": "audit.anomaly", "problem": "head_missing",
                          "th": "ไม่พบ head.json จึงสร้างใหม่จากเหตุการณ์ล่าสุดในแฟ้ม",
                          "en": "head.json was missing; rebuilt from the last event in the files",
                          "rebuilt_seq": head.seq})
        today = self._day_file(self.clock.now())
        size = self._size(head.file)
        if head.file is not None and size == head.size and (today <= head.file):
            return head, notes  # the usual case
        if head.file is not None and (size is None or size < head.size):
            notes.append({"action": "audit.anomaly", "problem": "head_file_shorter",
                          "th": f"แฟ้ม {head.file} สั้นกว่าที่บันทึกไว้ (อาจถูกลบหรือแก้ไข)",
                          "en": f"{head.file} is shorter than recorded (removed or edited?)",
                          "file": head.file, "expected_size": head.size, "actual_size": size})
            return head, notes
        head, recovered = self._recover_tail(head)
        notes.extend(recovered)
        return head, notes

    def _size(self, rel: str | None) -> int | None:
        if rel is None:
            return None
        try:
            return (self.folder / rel).stat().st_size
        except FileNotFoundError:
            return None

    def _recover_tail(self, head: _Head) -> tuple[_Head, list[dict[str, Any]]]:
        """Adopt whole lines after the head that continue the chain; move any
        other bytes after the head (a torn write) to ``quarantine/``."""
        notes: list[dict[str, Any]] = []
        later = [f for f in self._files() if head.file is None or f >= head.file]
        for rel in later:
            path = self.folder / rel
            start = head.size if rel == head.file else 0
            with open(path, "rb") as f:
                f.seek(start)
                tail = f.read()
            pos = start
            for raw in tail.splitlines(keepends=True):
                event = self._parse(raw) if raw.endswith(b"\n") else None
                if (event is None or event.get("seq") != head.seq + 1 or event.get("prev") != head.hash
                        or event_hash(event) != event.get("hash")):
                    break
                pos += len(raw)
                head = _Head(event["seq"], event["hash"], rel, pos)
            end = start + len(tail)
            if pos < end:
                bad = tail[pos - start:]
                qname = f"{rel.replace('/', '-')}.{pos}.{sha256_hex(bad)[:16]}.bin"
                atomic_write_bytes(self.folder / "quarantine" / qname, bad, durable=self.durable)
                with open(path, "r+b") as f:
                    f.truncate(pos)
                    if self.durable:
                        os.fsync(f.fileno())
                notes.append({"action": "audit.recovered", "problem": "torn_tail",
                              "th": f"ย้ายข้อมูลที่เขียนไม่สมบูรณ์ท้ายแฟ้ม {rel} ไปเก็บที่ quarantine/{qname}",
                              "en": f"moved incomplete bytes at the end of {rel} to quarantine/{qname}",
                              "file": rel, "offset": pos, "length": len(bad), "sha256": sha256_hex(bad),
                              "quarantine": f"quarantine/{qname}"})
                if pos == 0:
                    path.unlink()
        return head, notes

    def _last_valid_event(self, files: list[str]) -> dict[str, Any] | None:
        for rel in reversed(files):
            data = (self.folder / rel).read_bytes()
            pos = len(data)
            for raw in reversed(data.splitlines(keepends=True)):
                event = self._parse(raw) if raw.endswith(b"\n") else None
                if event is not None and isinstance(event.get("seq"), int) and event_hash(event) == event.get("hash"):
                    return dict(event, _file=rel, _end=pos)
                pos -= len(raw)
        return None

    @staticmethod
    def _parse(raw: bytes) -> dict[str, Any] | None:
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return None
        return value if isinstance(value, dict) else None

    # -- reading -----------------------------------------------------------------
    def events(self) -> Iterator[dict[str, Any]]:
        """Every readable event, oldest first (damaged lines are skipped: use verify)."""
        for rel in self._files():
            for raw in (self.folder / rel).read_bytes().splitlines(keepends=True):
                event = self._parse(raw) if raw.endswith(b"\n") else None
                if event is not None:
                    yield event

    def search(self, target: str | None = None, actor: Actor | str | None = None,
               since: datetime | date | None = None, until: datetime | date | None = None,
               action: str | None = None, agency: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Events matching every filter given, newest first, at most ``limit``.

        ``since``/``until`` are inclusive; an aware datetime is an instant, a
        date a whole day in the log's time zone.  ``action`` ending in ``.``
        matches a prefix (``"application."``).  Only the day files inside the
        range are read.
        """
        if isinstance(actor, Actor):
            actor = actor.user_id
        lo = self._bound(since, start=True)
        hi = self._bound(until, start=False)
        lo_file = self._day_file(lo) if lo else None
        hi_file = self._day_file(hi) if hi else None
        found: list[dict[str, Any]] = []
        if limit <= 0:
            return found
        # exact-field filters as the bytes they are written as: most lines are skipped unparsed
        needles = [f'"{key}":{json.dumps(value, ensure_ascii=False)}'.encode("utf-8")
                   for key, value in (("target", target), ("actor", actor), ("agency", agency))
                   if value is not None]
        for rel in reversed(self._files()):
            # an event may sit in a later file than its day (clock stepped back): read one file beyond
            if hi_file and rel > hi_file and rel > self._next_day_file(hi_file):
                continue
            if lo_file and rel < lo_file:
                break
            for raw in reversed((self.folder / rel).read_bytes().splitlines(keepends=True)):
                if any(needle not in raw for needle in needles):
                    continue
                event = self._parse(raw) if raw.endswith(b"\n") else None
                if event is None:
                    continue
                if target is not None and event.get("target") != target:
                    continue
                if actor is not None and event.get("actor") != actor:
                    continue
                if agency is not None and event.get("agency") != agency:
                    continue
                if action is not None:
                    name = str(event.get("action", ""))
                    if not (name.startswith(action) if action.endswith(".") else name == action):
                        continue
                if lo or hi:
                    try:
                        at = datetime.fromisoformat(event["at"])
                    except (KeyError, TypeError, ValueError):
                        continue
                    if (lo and at < lo) or (hi and at > hi):
                        continue
                found.append(event)
                if len(found) >= limit:
                    return found
        return found

    def _bound(self, value: datetime | date | None, *, start: bool) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return require_aware(value, "since/until")
        if isinstance(value, date):
            if start:
                return datetime.combine(value, time.min, tzinfo=self.tz)
            return datetime.combine(value, time.max, tzinfo=self.tz)
        raise TypeError(f"since/until: expected a date or datetime, got {type(value).__name__}")

    @staticmethod
    def _next_day_file(rel: str) -> str:
        day = datetime.strptime(rel[:-len(".jsonl")], "%Y/%m/%d").date() + timedelta(days=1)
        return day.strftime("%Y/%m/%d") + ".jsonl"

    # -- verifying ---------------------------------------------------------------
    def verify(self, expected_head: Mapping[str, Any] | None = None) -> list[str]:
        """Every problem with the trail, each in Thai and English; empty when intact."""
        return [str(p) for p in self.check(expected_head).problems]

    def check(self, expected_head: Mapping[str, Any] | None = None) -> AuditCheck:
        """Read every day file and check each event's hash, sequence and link,
        the head, and (optionally) a head published earlier.

        Streams the files one at a time; memory stays small however long the
        trail (a window of recent hashes and the list of open gaps).
        """
        result = AuditCheck()
        problems = result.problems
        expected = 1
        recent: dict[int, str] = {}  # seq -> hash of the events read last
        gaps: list[_Gap] = []       # sequence numbers skipped and not (yet) seen later
        published_seq = int(expected_head["seq"]) if expected_head is not None else None
        published_hash: str | None = None
        previous_file: str | None = None
        any_line = False
        unreadable = 0  # damaged lines since the last good event: their hashes are unknown
        for rel in self._files():
            data = (self.folder / rel).read_bytes()
            for number, raw in enumerate(data.splitlines(keepends=True), 1):
                any_line = True
                where_th, where_en = f"{rel} บรรทัด {number}", f"{rel} line {number}"
                if not raw.endswith(b"\n"):
                    problems.append(AuditProblem(
                        "torn",
                        f"บรรทัดสุดท้ายของ {rel} (บรรทัด {number}) ไม่สมบูรณ์: การบันทึกถูกขัดจังหวะ "
                        "(ระบบหยุดระหว่างเขียน) หรือแฟ้มถูกตัดทอน",
                        f"the last line of {rel} (line {number}) is incomplete: a write was interrupted "
                        "(the system stopped while writing) or the file was cut",
                        file=rel, line=number))
                    continue
                event = self._parse(raw)
                if event is None or not isinstance(event.get("seq"), int) or not isinstance(event.get("hash"), str):
                    problems.append(AuditProblem(
                        "corrupt", f"{where_th}: ข้อมูลเสียหาย อ่านไม่ได้ (ไม่ใช่เหตุการณ์ที่ถูกต้อง)",
                        f"{where_en}: damaged, not a readable event", file=rel, line=number))
                    unreadable += 1
                    previous_file = rel
                    continue
                seq = event["seq"]
                result.events += 1
                in_order = True
                if event_hash(event) != event["hash"]:
                    problems.append(AuditProblem(
                        "changed", f"เหตุการณ์ลำดับที่ {seq} ({where_th}) ถูกแก้ไขหลังจากบันทึกแล้ว",
                        f"event {seq} ({where_en}) was changed after it was recorded",
                        seq=seq, file=rel, line=number))
                if seq < expected:
                    in_order = False
                    gap = next((g for g in gaps if g.holds(seq)), None)
                    if gap is None:
                        problems.append(AuditProblem(
                            "duplicate", f"เหตุการณ์ลำดับที่ {seq} ({where_th}) ปรากฏซ้ำ",
                            f"event {seq} ({where_en}) appears more than once", seq=seq, file=rel, line=number))
                    else:
                        problems.append(_out_of_order(seq, None, rel, number))
                        gap.fill(seq)
                        if gap.empty:
                            gaps.remove(gap)
                            problems.append(_out_of_order(gap.jumper_seq, gap.first, gap.file, gap.line))
                elif seq > expected:
                    first = expected + unreadable  # damaged lines stand for the events they held
                    if first < seq:
                        in_order = False
                        if previous_file is None:
                            hint = (" ที่ต้นบันทึก", " at the start of the trail")
                        elif previous_file != rel:
                            hint = (f" ระหว่างแฟ้ม {previous_file} และ {rel} (อาจมีแฟ้มรายวันถูกลบ)",
                                    f" between {previous_file} and {rel} (a day file may have been deleted)")
                        else:
                            hint = (f" ใน {rel} ก่อนบรรทัด {number}", f" in {rel} before line {number}")
                        gaps.append(_Gap(first, seq - 1, seq, rel, number, hint))
                link = recent.get(seq - 1, GENESIS if seq == 1 else None)
                if in_order and not unreadable and link is not None and event.get("prev") != link:
                    before = seq - 1
                    problems.append(AuditProblem(
                        "broken_link",
                        f"เหตุการณ์ลำดับที่ {seq} ({where_th}) ไม่ต่อเนื่องกับเหตุการณ์ก่อนหน้า: "
                        f"เหตุการณ์ลำดับที่ {before} ถูกแก้ไข แทนที่ หรือลบออก",
                        f"event {seq} ({where_en}) does not follow the event before it: "
                        f"event {before} was changed, replaced or removed",
                        seq=seq, file=rel, line=number))
                if seq == published_seq:
                    published_hash = event["hash"]
                expected = max(expected, seq + 1)
                recent[seq] = event["hash"]
                if len(recent) > 4096:  # reordering is local: keep a window, not every hash
                    del recent[next(iter(recent))]
                if seq == expected - 1:
                    result.last_seq, result.last_hash = seq, event["hash"]
                unreadable = 0
                previous_file = rel
        for gap in gaps:
            for first, last in gap.runs():
                problems.append(AuditProblem(
                    "missing", f"เหตุการณ์ลำดับที่ {_seq_range(first, last)} หายไป{gap.hint[0]}",
                    f"event(s) {_seq_range(first, last)} are missing{gap.hint[1]}",
                    seq=first, file=gap.file, line=gap.line))
            if gap.filled:  # part of the gap turned up later: the jumper is out of order too
                problems.append(_out_of_order(gap.jumper_seq, gap.first, gap.file, gap.line))
        problems.sort(key=lambda p: (p.file is None, p.file or "", p.line or 0))
        self._check_head(result, any_line)
        if expected_head is not None:
            self._check_published(result, expected_head, published_hash)
        return result

    def _check_head(self, result: AuditCheck, any_line: bool) -> None:
        problems = result.problems
        head = self._read_head()
        if head is None:
            if any_line or self.head_path.exists():
                problems.append(AuditProblem(
                    "head", "ไม่พบหรืออ่านแฟ้ม head.json ไม่ได้: ตรวจไม่ได้ว่าเหตุการณ์ท้ายสุดถูกลบหรือไม่",
                    "head.json is missing or unreadable: removal of the last events cannot be ruled out"))
            return
        if head.seq > result.last_seq:
            first = result.last_seq + 1
            problems.append(AuditProblem(
                "head",
                f"เหตุการณ์ลำดับที่ {_seq_range(first, head.seq)} ท้ายบันทึกหายไป "
                f"(head.json บันทึกไว้ถึงลำดับที่ {head.seq} แต่แฟ้มมีถึงลำดับที่ {result.last_seq})",
                f"event(s) {_seq_range(first, head.seq)} at the end are missing "
                f"(head.json records event {head.seq}, the files end at event {result.last_seq})",
                seq=first, file=head.file))
        elif head.seq == result.last_seq and head.hash != result.last_hash:
            problems.append(AuditProblem(
                "head",
                f"เหตุการณ์สุดท้าย (ลำดับที่ {head.seq}) ไม่ตรงกับที่ head.json บันทึกไว้ (ถูกแทนที่)",
                f"the last event ({head.seq}) is not the one head.json records (it was replaced)",
                seq=head.seq, file=head.file))
        # head.seq < last_seq: whole events after the head that continue the chain
        # (a crash between the line and the head); the next append adopts them.

    @staticmethod
    def _check_published(result: AuditCheck, expected: Mapping[str, Any], found: str | None) -> None:
        """The head published earlier must still be in the chain, unchanged."""
        seq, digest = int(expected["seq"]), str(expected["hash"])
        if seq == 0:
            return
        if found is None:
            result.problems.append(AuditProblem(
                "head", f"ไม่พบเหตุการณ์ลำดับที่ {seq} ซึ่งเป็นจุดอ้างอิงที่เผยแพร่ไว้",
                f"event {seq}, the published reference point, is not in the trail", seq=seq))
        elif found != digest:
            result.problems.append(AuditProblem(
                "head", f"เหตุการณ์ลำดับที่ {seq} ไม่ตรงกับจุดอ้างอิงที่เผยแพร่ไว้: บันทึกถูกเขียนใหม่",
                f"event {seq} differs from the published reference point: the trail was rewritten", seq=seq))


def audit_command(args: Any) -> int:
    """``eservice audit verify [--data DIR] [--json]``: 0 when intact, 1 on problems,
    2 when there is no audit trail in DIR."""
    data = Path(getattr(args, "data", None) or env_data_folder() or DEFAULT_DATA)
    action = getattr(args, "audit_action", "verify")
    log = AuditLog(data)
    if action != "verify":
        print(f"ไม่รู้จักคำสั่ง audit {action} / unknown audit command {action}")
        return 2
    if not log.folder.is_dir():
        print(f"ไม่พบบันทึกการตรวจสอบใน {log.folder} / no audit trail in {log.folder}")
        return 2
    result = log.check()
    if getattr(args, "json", False):
        print(json.dumps({"events": result.events, "intact": result.intact,
                          "problems": [p.as_dict() for p in result.problems]}, ensure_ascii=False, indent=2))
    elif result.intact:
        print(f"ครบถ้วน: {result.events} เหตุการณ์ / intact: {result.events} events")
    else:
        for problem in result.problems:
            print(str(problem))
        print(f"พบปัญหา {len(result.problems)} รายการ ใน {result.events} เหตุการณ์ / "
              f"{len(result.problems)} problem(s) in {result.events} events")
    return 0 if result.intact else 1
