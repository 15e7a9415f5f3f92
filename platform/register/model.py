"""The register's entries, their statuses, and the index of issued documents.

Entries live in the store's ``register`` collection, one per licence, keyed by
:func:`entry_id` (a digest of agency, service, licence kind and number, so a
licence published by the platform and the same licence in an import are the
same entry)::

    {"id": "lic-…", "agency", "service", "service_version", "licence",
     "title": {"th", "en"}, "number", "issued_on": "2026-06-15", "valid_until": "2027-06-14" | None,
     "status": "active" | "suspended" | "revoked" | "expired", "status_since": "<instant>",
     "fields": [<values.snapshot>, …],          # exactly the definition's `register`
     "source": "issued" | "imported", "document": {"id", "sha256"} | None,
     "published_at", "history": [{"at", "action", "from", "to", "reason", "by", "by_name"}], "version"}

Nothing else of the application is copied: the public pages and the exports
show these fields only (PL-1).

Statuses (PL-1, PL-4): *active* when published; *suspended* and *revoked* by
an officer (:meth:`Register.change_status`, with a reason, recorded in the
audit chain); *expired* the day after ``valid_until`` — shown so at once by
:func:`effective_status`, and written by the daily job
(:meth:`Register.expire_due`, run by :mod:`eservice.worker`).  A revoked
licence stays revoked.

The ``issued_documents`` collection lets ``/verify`` find a document the
platform signed, by its id (``doc:<id>``, the letters' QR code) or by the
SHA-256 of the signed file (``sha:<hex>``, an uploaded copy).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..engine import EngineError
from . import values
from ..outputs.referral_letter import builtin_output

__all__ = ["ACTIONS", "ISSUED", "REGISTER", "STATUSES", "STATUS_TEXT", "Page", "Register", "after_transition",
           "effective_status", "entry_id"]

log = logging.getLogger(__name__)

REGISTER = "register"
ISSUED = "issued_documents"
JOBS = "register_jobs"
STATUSES = ("active", "suspended", "revoked", "expired")
STATUS_TEXT = {
    "active": {"th": "มีผลใช้บังคับ", "en": "In force"},
    "suspended": {"th": "ถูกพักใช้", "en": "Suspended"},
    "revoked": {"th": "ถูกเพิกถอน", "en": "Revoked"},
    "expired": {"th": "สิ้นอายุ", "en": "Expired"},
}
# action → (from statuses, to status, Thai, English)
ACTIONS: dict[str, tuple[tuple[str, ...], str, str, str]] = {
    "suspend": (("active",), "suspended", "พักใช้ใบอนุญาต", "Suspend the licence"),
    "reinstate": (("suspended",), "active", "ยกเลิกการพักใช้", "Lift the suspension"),
    "revoke": (("active", "suspended"), "revoked", "เพิกถอนใบอนุญาต", "Revoke the licence"),
}
MAX_REASON = 2000


def entry_id(agency: str, service: str, licence: str, number: str) -> str:
    """The entry's key: the same for the same licence, however it came in."""
    digest = hashlib.sha256("\x1f".join((agency, service, licence, number)).encode("utf-8")).hexdigest()
    return f"lic-{digest[:24]}"


def effective_status(entry: Mapping[str, Any], today: dt.date) -> str:
    """The status now: a licence past its ``valid_until`` is expired even before
    the daily job writes it (PL-4); a revoked one stays revoked."""
    status = entry.get("status") or "active"
    if status in ("revoked", "expired"):
        return status
    until = entry.get("valid_until")
    if until and dt.date.fromisoformat(until) < today:
        return "expired"
    return status


@dataclass
class Page:
    """One page of a search."""

    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1


def _words(entry: Mapping[str, Any]) -> str:
    parts = [entry.get("number") or "", *values.pair(entry.get("title")).values()]
    for item in entry.get("fields") or ():
        parts += list((item.get("text") or {}).values())
    return " ".join(parts).casefold()


class Register:
    """The public licence register over a store (see the module docstring)."""

    def __init__(self, store: Any, catalogue: Any = None, clock: Any = None):
        from ..clock import SystemClock

        self.store = store
        self.catalogue = catalogue
        self.clock = clock or SystemClock()

    @property
    def entries_collection(self) -> Any:
        return self.store.collection(REGISTER)

    # -- reading -------------------------------------------------------------------
    def today(self, agency: str | None = None) -> dt.date:
        """Today in the agency's time zone (Bangkok when unknown)."""
        from zoneinfo import ZoneInfo

        from ..clock import BANGKOK

        tz = BANGKOK
        found = self.catalogue.agencies.get(agency) if self.catalogue is not None and agency else None
        if found is not None:
            try:
                tz = ZoneInfo(found.timezone)
            except Exception:  # refused when the agency loaded; Bangkok as a fallback
                tz = BANGKOK
        return self.clock.now().astimezone(tz).date()

    def status_of(self, entry: Mapping[str, Any]) -> str:
        return effective_status(entry, self.today(entry.get("agency")))

    def get(self, key: str) -> dict[str, Any] | None:
        if not isinstance(key, str) or not key.startswith("lic-") or len(key) > 64:
            return None
        found = self.entries_collection.get(key)
        return self._shown(found) if found else None

    def _shown(self, entry: dict[str, Any]) -> dict[str, Any]:
        return dict(entry, status=self.status_of(entry), stored_status=entry.get("status"))

    def entries(self, *, agency: str | None = None, service: str | None = None) -> list[dict[str, Any]]:
        """Every entry (of an agency, of a service), newest first, each with its status now."""
        found = [self._shown(e) for e in self.entries_collection.all()
                 if (agency is None or e.get("agency") == agency) and (service is None or e.get("service") == service)]
        found.sort(key=lambda e: (e.get("issued_on") or "", e.get("number") or ""), reverse=True)
        return found

    def search(self, *, agency: str | None = None, service: str | None = None, query: str = "", status: str = "",
               page: int = 1, per_page: int = 20) -> Page:
        """Entries whose number, title or register fields contain every word of *query*."""
        words = [w for w in query.casefold().split() if w]
        found = [e for e in self.entries(agency=agency, service=service)
                 if (not status or e["status"] == status) and all(w in _words(e) for w in words)]
        pages = max(1, math.ceil(len(found) / per_page))
        page = min(max(1, page), pages)
        return Page(found[(page - 1) * per_page: page * per_page], len(found), page, per_page)

    def by_number(self, number: str) -> list[dict[str, Any]]:
        """The entries with this licence number (one, unless two services number alike)."""
        number = (number or "").strip()
        return [e for e in self.entries() if e.get("number") == number] if number else []

    # -- publishing (the workflow's `publish` effect) ---------------------------------
    def build(self, *, service: Any, licence: Any, number: str, issued_on: dt.date, valid_until: str | None,
              fields: list[dict[str, Any]], status: str = "active", source: str = "issued",
              document: Mapping[str, Any] | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
        now = now or self.clock.now()
        return {
            "id": entry_id(service.agency.code, service.id, licence.id, number),
            "agency": service.agency.code, "service": service.id, "service_version": service.version,
            "licence": licence.id, "title": values.pair(licence.title), "number": number,
            "issued_on": issued_on.isoformat(), "valid_until": valid_until, "status": status,
            "status_since": now.isoformat(), "fields": fields, "source": source,
            "document": dict(document) if document else None, "published_at": now.isoformat(),
            "history": [{"at": now.isoformat(), "action": "publish" if source == "issued" else "import",
                         "from": None, "to": status, "reason": "", "by": "system", "by_name": ""}],
        }

    def publish(self, record: Mapping[str, Any], service: Any, licence_id: str, calculations: Mapping[str, Any],
                issued_on: dt.date) -> dict[str, Any] | None:
        """Enter a signed licence of *record* in the register (the ``publish`` effect, PL-1)."""
        licence = next((x for x in service.definition.outputs.licences if x.id == licence_id), None)
        item = (record.get("licences") or {}).get(licence_id) or {}
        if licence is None or not item.get("number"):
            log.warning("licence %s of %s is not signed yet: not published", licence_id, record.get("id"))
            return None
        answers = record.get("answers") or {}
        calculation_ids = {c.id for c in service.definition.calculations}
        fields = [values.snapshot(spec, calculations.get(spec.id) if spec.id in calculation_ids
                                  else answers.get(spec.id))
                  for spec in values.field_specs(service, licence)]
        document = {"id": item.get("document_id"), "sha256": (item.get("file") or {}).get("sha256")}
        entry = self.build(service=service, licence=licence, number=item["number"], issued_on=issued_on,
                           valid_until=item.get("valid_until"), fields=fields, document=document)
        entry["application"] = record.get("id")
        collection = self.entries_collection
        current = collection.get(entry["id"])
        if current is not None:  # published again (e.g. a second `publish` effect): the same licence
            entry["history"] = list(current.get("history") or []) + entry["history"]
            entry["status"], entry["status_since"] = current.get("status"), current.get("status_since")
            return collection.put(entry["id"], entry, expected_version=current["version"])
        return collection.put(entry["id"], entry)

    # -- statuses (PL-1, PL-4) --------------------------------------------------------
    def change_status(self, key: str, action: str, actor: Any, reason: str, *, expected_version: int | None = None,
                      audit: Any = None) -> dict[str, Any]:
        """Suspend, reinstate or revoke; the reason is kept and the change recorded in
        the audit chain.  Raises EngineError (in Thai and English) when it cannot be done."""
        if action not in ACTIONS:
            raise EngineError("no_action", "ไม่มีการดำเนินการนี้", "no such action", status=404)
        reason = (reason or "").strip()
        if not reason:
            raise EngineError("reason_missing", "กรุณาระบุเหตุผล", "give the reason", status=422, input="reason")
        if len(reason) > MAX_REASON:
            raise EngineError("reason_too_long", f"เหตุผลยาวเกิน {MAX_REASON:,} ตัวอักษร",
                              f"the reason is longer than {MAX_REASON:,} characters", status=422, input="reason")
        collection = self.entries_collection
        entry = collection.get(key) if isinstance(key, str) else None
        if entry is None:
            raise EngineError("not_found", "ไม่พบใบอนุญาตนี้ในทะเบียน", "this licence is not in the register",
                              status=404)
        if expected_version is not None and entry["version"] != expected_version:
            from ..store import ConflictError

            raise ConflictError(f"{REGISTER}/{key}", expected_version, entry["version"])
        allowed_from, target, th, en = ACTIONS[action]
        now_status = self.status_of(entry)
        if now_status not in allowed_from:
            shown = STATUS_TEXT[now_status]
            raise EngineError("wrong_status", f"{th}ไม่ได้ เพราะใบอนุญาตนี้{shown['th']}",
                              f"cannot {en[0].lower() + en[1:]}: the licence is {shown['en'].lower()}", status=409)
        now = self.clock.now().isoformat()
        step = {"at": now, "action": action, "from": now_status, "to": target, "reason": reason,
                "by": getattr(actor, "user_id", str(actor)), "by_name": getattr(actor, "name", "")}
        saved = collection.put(key, dict(entry, status=target, status_since=now, status_reason=reason,
                                         history=[*(entry.get("history") or []), step]),
                               expected_version=entry["version"])
        if audit is not None:
            audit.record(actor, f"licence.{action}", target=key, agency=entry["agency"],
                         details={"number": entry["number"], "service": entry["service"], "licence": entry["licence"],
                                  "from": now_status, "to": target, "reason": reason})
        return self._shown(saved)

    def expire_due(self, audit: Any = None) -> list[str]:
        """Write *expired* on every licence past its ``valid_until`` (the daily job, PL-4)."""
        from ..store import ConflictError

        done = []
        collection = self.entries_collection
        for entry in list(collection.all()):
            if entry.get("status") not in ("active", "suspended") or self.status_of(entry) != "expired":
                continue
            now = self.clock.now().isoformat()
            step = {"at": now, "action": "expire", "from": entry["status"], "to": "expired",
                    "reason": f"valid until {entry['valid_until']}", "by": "system", "by_name": ""}
            try:
                collection.put(entry["id"], dict(entry, status="expired", status_since=now,
                                                 history=[*(entry.get("history") or []), step]),
                               expected_version=entry["version"])
            except ConflictError:
                continue  # changed meanwhile: the next round looks again
            if audit is not None:
                audit.record("system", "licence.expire", target=entry["id"], agency=entry["agency"],
                             details={"number": entry["number"], "service": entry["service"],
                                      "valid_until": entry["valid_until"]})
            done.append(entry["id"])
        return done

    def daily(self, audit: Any = None) -> list[str]:
        """:meth:`expire_due` once a day (Bangkok), however often it is called."""
        from ..store import ConflictError

        jobs = self.store.collection(JOBS)
        today = self.today().isoformat()
        state = jobs.get("expiry")
        if state and state.get("day") == today:
            return []
        try:
            jobs.put("expiry", {"day": today}, expected_version=state["version"] if state else None)
        except ConflictError:
            return []  # another process claimed today's round
        return self.expire_due(audit)

    # -- the index of issued documents (/verify) ---------------------------------------
    def index_issued(self, record: Mapping[str, Any], service: Any, issued: Iterable[Any]) -> None:
        """Remember each signed document by its id and its SHA-256 (PR-8)."""
        index = self.store.collection(ISSUED)
        outputs = {o.id: o for o in (*service.definition.outputs.licences, *service.definition.outputs.letters)}
        for doc in issued:
            output = outputs.get(doc.output_id) or builtin_output(doc.output_id)  # the platform's referral letter
            entry = {"document_id": doc.document_id, "sha256": doc.sha256, "kind": doc.kind,
                     "output": doc.output_id, "title": values.pair(output.title if output else doc.output_id),
                     "number": doc.number, "agency": record.get("agency"), "service": record.get("service"),
                     "application": record.get("id"), "signed_at": doc.signed_at, "signer": doc.signer,
                     "position": dict(doc.position), "level": doc.level,
                     "entry": entry_id(record["agency"], record["service"], doc.output_id, doc.number)
                     if doc.kind == "licence" and doc.number else None}
            for key in (f"doc:{doc.document_id}", f"sha:{doc.sha256}"):
                if index.get(key) is None:
                    index.put(key, entry)

    def issued_document(self, *, document_id: str | None = None, sha256: str | None = None) -> dict | None:
        key = f"doc:{document_id}" if document_id else f"sha:{sha256}" if sha256 else None
        if key is None or len(key) > 100:
            return None
        return self.store.collection(ISSUED).get(key)


def after_transition(ctx: Any, record: Mapping[str, Any], service: Any, transition: Any, issued: Sequence[Any],
                     calculations: Mapping[str, Any]) -> None:
    """After a transition is saved: index what it signed, publish what it publishes.

    Called by the workflow once the application is stored, so a refused or
    conflicting step never leaves a licence in the public register.  A failure
    here is logged, not raised: the step itself is done."""
    register = Register(ctx.store, ctx.catalogue, ctx.clock)
    try:
        if issued:
            register.index_issued(record, service, issued)
        for effect in transition.effects:
            if effect.kind == "publish":
                item = (record.get("licences") or {}).get(effect.target) or {}
                signed = dt.datetime.fromisoformat(item["signed_at"]) if item.get("signed_at") else ctx.now()
                issued_on = ctx.calendar(record["agency"]).to_local(signed).date()
                register.publish(record, service, effect.target, calculations, issued_on)
    except Exception:  # the application is saved; say loudly that the register missed it
        log.exception("the register could not be updated for application %s (transition %s)",
                      record.get("id"), transition.id)
