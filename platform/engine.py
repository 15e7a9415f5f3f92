"""What the engine's services share: the catalogue, the store, the clock and the
working calendars, plus the one error type the web layer turns into pages."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .calendar import WorkingCalendar, from_agency
from .clock import BANGKOK, Clock, SystemClock
from .errors import BilingualError


class EngineError(BilingualError):
    """A refusal a person can act on: a stable ``code``, Thai and English text,
    and the HTTP status the web layer should answer with."""

    status = 400

    def __init__(self, code: str, th: str, en: str, status: int = 400, **details: Any):
        super().__init__(code, th, en, status=status)
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), **self.details}


@dataclass
class EngineContext:
    catalogue: Any  # spec.loader.Catalogue
    store: Any  # store.base.Store
    files: Any = None  # files.FileStore
    clock: Clock = field(default_factory=SystemClock)
    notifier: Callable[..., None] | None = None  # (application, notification_id, service, extra) -> None
    outputs: Any = None  # eservice.outputs.Outputs: renders and signs what effects issue (None: cannot issue)

    def __post_init__(self) -> None:
        self._calendars: dict[str, WorkingCalendar] = {}

    def calendar(self, agency_code: str) -> WorkingCalendar:
        """The agency's working calendar (its office hours and extra days off)."""
        found = self._calendars.get(agency_code)
        if found is None:
            agency = self.catalogue.agencies.get(agency_code)
            found = from_agency(agency) if agency is not None else _default_calendar()
            self._calendars[agency_code] = found
        return found

    def now(self) -> dt.datetime:
        return self.clock.now()

    def now_iso(self) -> str:
        return self.clock.now().isoformat()

    def today(self) -> dt.date:
        return self.clock.now().astimezone(BANGKOK).date()

    def service_of(self, record: dict) -> Any:
        """The exact definition an application is pinned to (versions are immutable).

        Normally the loaded service of that id and version; when that file was
        removed, or edited in place without raising ``version``, the text kept in
        the store when the application started is compiled and used instead."""
        digest = record.get("service_digest")
        service = self.catalogue.get(record["service"], record["service_version"])
        if service is not None and digest in (None, service.digest):
            return service
        kept = self._kept(digest, record["service"]) if digest else None
        if kept is not None:
            return kept
        if service is not None:
            raise EngineError(
                "definition_changed",
                f"นิยามบริการ {record['service']} ฉบับที่ {record['service_version']} ถูกแก้ไขหลังจากคำขอนี้เริ่มต้น "
                "และไม่พบฉบับเดิมในระบบ ผู้ดูแลต้องคืนไฟล์เดิมและเพิ่มเลข `version` ในฉบับใหม่",
                f"the definition of {record['service']} version {record['service_version']} was edited after "
                "this application started and the original is not kept; restore the old file and raise "
                "`version` in the new one", status=409)
        raise EngineError(
            "service_version_missing",
            f"ไม่พบนิยามบริการ {record['service']} ฉบับที่ {record['service_version']}",
            f"service {record['service']} version {record['service_version']} is not loaded",
            status=409)

    def _kept(self, digest: str, service_id: str) -> Any:
        """The compiled kept definition with this digest (cached per process)."""
        cache = self.__dict__.setdefault("_kept_services", {})
        if digest not in cache:
            from .spec.loader import compile_kept
            from .spec.problems import DefinitionError

            kept = self.store.collection("definitions").get(digest)
            current = self.catalogue.latest(service_id)
            try:
                cache[digest] = compile_kept(kept["text"], self.catalogue, current.file if current else None) \
                    if kept else None
            except DefinitionError:
                cache[digest] = None
        return cache[digest]


@lru_cache(maxsize=1)
def _default_calendar() -> WorkingCalendar:
    return WorkingCalendar()


def ExprEnvironment(ctx: EngineContext, agency: str):
    """The expression environment of an agency: today from the engine's clock,
    working days from the agency's calendar (kept per agency)."""
    from .expr import ExprEnv

    envs = ctx.__dict__.setdefault("_expr_envs", {})
    env = envs.get(agency)
    if env is None:
        env = envs[agency] = ExprEnv(clock=ctx.clock, calendar=ctx.calendar(agency))
    return env
