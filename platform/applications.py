"""An application from the applicant's side: draft, answers, documents,
signature and submission (issue #3; A-F1…A-F10, RC-1, RC-3, RC-4).

An application is one record in the store holding its answers, document
metadata, signature evidence and hash-linked events.  It is pinned to the
service id, version and definition digest it was started under, so editing the
YAML never changes an application in flight.
"""
from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import events, forms, submission
from .dates import be_year
from .engine import EngineContext, EngineError, ExprEnvironment
from .intake_book import intake_sequence
from .plugin_api import document_verifiers, field_types
from .policy import Actor, allowed
from .store import ConflictError, NotFoundError
from .submission import submission_content, submission_digest  # noqa: F401  (re-exported)
from .workflow import Workflow

if TYPE_CHECKING:  # pragma: no cover
    from .spec.loader import CompiledService

REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U
DEFAULT_DECLARATION = {
    "th": "ข้าพเจ้าขอรับรองว่าข้อความและเอกสารที่ยื่นมาพร้อมคำขอนี้เป็นความจริงทุกประการ "
          "และประสงค์ลงลายมือชื่ออิเล็กทรอนิกส์ในคำขอนี้",
    "en": "I certify that the information and documents submitted with this application are true, "
          "and I intend to sign this application electronically.",
}


def new_reference() -> str:
    """A random, unguessable tracking code such as ``K7QM-2XHP-9TRA`` (~59 bits)."""
    raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def declaration_of(service: CompiledService) -> dict[str, str]:
    text = service.definition.form.declaration
    if text is None:
        return dict(DEFAULT_DECLARATION)
    return {"th": text.th, "en": text.get("en")}


def _normalized(field, value: Any) -> Any:
    """A prefilled value in the stored form of its field type (e.g. a phone as 0812345678)."""
    plugin = field_types().get(field.type.value)
    if plugin is None or plugin.validate(value):
        return value
    return plugin.normalize(value)


class Applications:
    def __init__(self, ctx: EngineContext):
        self.ctx = ctx

    # -- reading ---------------------------------------------------------------
    def get(self, app_id: str, actor: Actor, action: str = "view_application") -> dict[str, Any]:
        try:
            record = self.ctx.store.get_application(app_id)
        except (NotFoundError, ValueError):  # ValueError: not even a well-formed id
            raise EngineError("not_found", "ไม่พบคำขอนี้", "application not found", status=404) from None
        if not (allowed(actor, action, record) or allowed(actor, "view_own", record)):
            # the same answer as "not found", so ids cannot be probed
            raise EngineError("not_found", "ไม่พบคำขอนี้", "application not found", status=404)
        return record

    def env(self, record: Mapping[str, Any]) -> ExprEnvironment:
        return ExprEnvironment(self.ctx, record["agency"])

    def by_reference(self, reference: str, actor: Actor) -> dict[str, Any]:
        for summary in self.ctx.store.applications_of(actor.user_id):
            if summary.get("reference") == reference.strip().upper():
                return self.get(summary["id"], actor)
        raise EngineError("not_found", "ไม่พบคำขอนี้", "application not found", status=404)

    def of_applicant(self, actor: Actor) -> list[dict[str, Any]]:
        return sorted(self.ctx.store.applications_of(actor.user_id),
                      key=lambda s: s.get("updated_at") or "", reverse=True)

    # -- drafts ------------------------------------------------------------------
    def start(self, service_id: str, actor: Actor, prefill: Mapping[str, Any] | None = None) -> dict:
        """A new draft of the current version of a service (A-F5), prefilled (A-F2)."""
        service = self.ctx.catalogue.latest(service_id)
        if service is None:
            raise EngineError("no_service", "ไม่พบบริการนี้", "no such service", status=404)
        if service_id in getattr(self.ctx.catalogue, "closed", ()):  # unpublished (web/admin/services.py)
            raise EngineError("service_closed", "บริการนี้ปิดรับคำขอใหม่แล้ว คำขอที่ยื่นไว้ก่อนหน้ายังดำเนินการต่อ",
                              "this service no longer takes new applications; those already made go on",
                              status=410)
        if not actor.user_id or actor.is_system:
            raise EngineError("login", "กรุณาเข้าสู่ระบบก่อนยื่นคำขอ", "sign in to apply", status=401)
        answers = {}
        for field in service.fields.values():
            if field.prefill and prefill:
                source, _, key = field.prefill.partition(".")
                value = (prefill.get(source) or {}).get(key) if isinstance(prefill.get(source), Mapping) \
                    else prefill.get(key)
                if value not in (None, ""):
                    answers[field.id] = _normalized(field, value)
        now = self.ctx.now_iso()
        record: dict[str, Any] = {
            "id": "app-" + secrets.token_hex(8),
            "reference": new_reference(),
            "agency": service.agency.code,
            "service": service.id,
            "service_version": service.version,
            "service_digest": service.digest,
            "title": service.definition.title.th,
            "applicant": actor.user_id,
            "state": "draft",
            "closed": False,
            "answers": answers,
            "documents": {},
            "current_page": None,
            "created_at": now,
            "updated_at": now,
            "events": [],
        }
        events.append(record["events"], "draft_started", actor.user_id, now,
                      {"service_version": service.version, "digest": service.digest})
        self._keep_definition(service)
        return self.ctx.store.create_application(record)

    def _keep_definition(self, service: CompiledService) -> None:
        """Keep the definition text the first time it is used (versions are immutable)."""
        kept = self.ctx.store.collection("definitions")
        if kept.get(service.digest) is None:
            try:
                kept.put(service.digest, {"service": service.id, "version": service.version,
                                          "text": service.text})
            except ConflictError:
                pass  # another process kept it first

    def _editable(self, app_id: str, actor: Actor, expected_version: int | None) -> dict:
        record = self.get(app_id, actor, "view_own")
        service = self.ctx.service_of(record)
        state = service.states.get(record["state"])
        if record["state"] != "draft" and not (state and state.editable_by_applicant):
            raise EngineError("not_editable", "คำขอนี้ยื่นแล้ว แก้ไขไม่ได้",
                              "this application has been submitted and cannot be changed", status=409)
        if record["applicant"] != actor.user_id:
            raise EngineError("not_found", "ไม่พบคำขอนี้", "application not found", status=404)
        if expected_version is not None and record["version"] != expected_version:
            raise ConflictError(record["id"], expected_version, record["version"])
        return record

    def save_page(self, app_id: str, actor: Actor, page_id: str, page_answers: Mapping[str, Any],
                  expected_version: int | None = None) -> tuple[dict, list[forms.FieldError]]:
        """Store a page's answers (even with errors: nothing typed is lost) and
        return the page's errors.  Answers of pages now hidden are dropped."""
        record = self._editable(app_id, actor, expected_version)
        service = self.ctx.service_of(record)
        page_ids = {p.id for _, p in forms.pages(service)}
        if page_id not in page_ids:
            raise EngineError("no_page", "ไม่พบหน้านี้ในแบบฟอร์ม", "no such page in this form", status=404)
        page = next(p for _, p in forms.pages(service) if p.id == page_id)
        own = {f.id for f in page.fields}
        stray = sorted(set(page_answers) - own)
        if stray:
            raise EngineError("unknown_fields", "มีข้อมูลที่ไม่อยู่ในหน้านี้: " + ", ".join(stray),
                              "fields not on this page: " + ", ".join(stray), fields=stray)
        answers = {k: v for k, v in record["answers"].items() if k not in own}
        answers.update(page_answers)
        env = self.env(record)
        cleaned, errors = forms.validate(service, answers, env, only_pages=[page_id])
        # `cleaned` keeps what was typed even when invalid, and drops what is not applicable
        changed = sorted(k for k in set(cleaned) | set(record["answers"])
                         if cleaned.get(k) != record["answers"].get(k))
        record["answers"] = cleaned
        record["current_page"] = page_id
        record["updated_at"] = self.ctx.now_iso()
        if record["state"] != "draft" and changed:
            events.append(record["events"], "answers_changed", actor.user_id, record["updated_at"],
                          {"page": page_id, "fields": changed, "content_sha256": submission_digest(record)})
        saved = self.ctx.store.update_application(record, record["version"])
        return saved, errors

    def attach(self, app_id: str, actor: Actor, document_id: str, stored: Mapping[str, Any],
               replace: bool = True, expected_version: int | None = None) -> dict:
        """Record an uploaded (already checked and stored) file against a document."""
        record = self._editable(app_id, actor, expected_version)
        service = self.ctx.service_of(record)
        doc = next((d for d in service.definition.documents if d.id == document_id), None)
        if doc is None:
            raise EngineError("no_document", "ไม่มีเอกสารนี้ในบริการ", "no such document for this service",
                              status=404)
        item = {k: stored[k] for k in ("sha256", "filename", "media_type", "size")}
        item["uploaded_at"] = self.ctx.now_iso()
        existing = [] if (replace and not doc.multiple) else list(record["documents"].get(document_id, []))
        if any(x["sha256"] == item["sha256"] for x in existing):
            return record
        if doc.verifiers:
            item["verifications"] = self._verify_document(doc.verifiers, item)
        record["documents"][document_id] = existing + [item]
        record["updated_at"] = item["uploaded_at"]
        if record["state"] != "draft":
            events.append(record["events"], "document_added", actor.user_id, item["uploaded_at"],
                          {"document": document_id, "sha256": item["sha256"], "filename": item["filename"]})
        return self.ctx.store.update_application(record, record["version"])

    def _verify_document(self, names, item: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run the document's verifier plugins on a stored file (PR-8).  Never
        blocks the upload: a verifier that fails to run is recorded as ``ok: false``."""
        failed = {"code": "verifier.error", "th": "ตรวจสอบไม่สำเร็จ", "en": "verification could not run"}
        results: list[dict[str, Any]] = []
        try:
            available = document_verifiers()
        except Exception:  # a broken plugin set must not break the upload
            logging.getLogger(__name__).exception("document verifiers unavailable")
            available = {}
        data: bytes | None = None
        for name in names:
            verifier = available.get(name)
            media_types = tuple(getattr(verifier, "media_types", ()) or ()) if verifier else ()
            if media_types and item["media_type"] not in media_types:
                continue
            entry: dict[str, Any] = {"verifier": name, "ok": False, "messages": [failed], "details": {}}
            try:
                if verifier is None:
                    raise LookupError(f"document verifier {name!r} is not installed")
                if data is None:
                    data = self.ctx.files.get(item["sha256"])
                outcome = verifier.verify(data, filename=item["filename"], media_type=item["media_type"])
                entry["ok"] = bool(outcome.ok)
                entry["messages"] = [{"code": m.code, "th": m.th, "en": m.en} for m in outcome.messages]
                entry["details"] = json.loads(json.dumps(dict(outcome.details or {}), default=str))
            except Exception:
                logging.getLogger(__name__).exception("document verifier %s failed", name)
            entry["at"] = self.ctx.now_iso()
            results.append(entry)
        return results

    def detach(self, app_id: str, actor: Actor, document_id: str, sha256: str) -> dict:
        record = self._editable(app_id, actor, None)
        items = record["documents"].get(document_id, [])
        record["documents"][document_id] = [x for x in items if x["sha256"] != sha256]
        if not record["documents"][document_id]:
            del record["documents"][document_id]
        record["updated_at"] = self.ctx.now_iso()
        if record["state"] != "draft":
            events.append(record["events"], "document_removed", actor.user_id, record["updated_at"],
                          {"document": document_id, "sha256": sha256})
        return self.ctx.store.update_application(record, record["version"])

    def drop_inapplicable_documents(self, record: dict) -> list[str]:
        """Drop attachments of documents that no longer apply (:mod:`eservice.submission`)."""
        return submission.drop_inapplicable_documents(self.ctx, record)

    def resign(self, record: dict, actor: Actor) -> str:
        """Renew the signature evidence after a change (:mod:`eservice.submission`)."""
        return submission.resign(self.ctx, record, actor)

    # -- checking ----------------------------------------------------------------
    def problems(self, record: Mapping[str, Any]) -> tuple[list[forms.FieldError], list[dict]]:
        """Every answer and document problem before submission (A-F6)."""
        return submission.problems(self.ctx, record)

    def applicable_documents(self, record: Mapping[str, Any]) -> list:
        return submission.applicable_documents(self.ctx, record)

    # -- signing and submission -----------------------------------------------------
    def submit(self, app_id: str, actor: Actor, *, declaration_shown: Mapping[str, str],
               intent_confirmed: bool, expected_version: int | None = None) -> dict:
        """Sign (ETDA type-1 e-signature, A-F8) and submit (RC-1, RC-4, A-F9, A-F10)."""
        record = self._editable(app_id, actor, expected_version)
        if record["state"] != "draft":
            raise EngineError("already_submitted", "คำขอนี้ยื่นแล้ว", "already submitted", status=409)
        service = self.ctx.service_of(record)
        expected_text = declaration_of(service)
        if dict(declaration_shown) != expected_text:
            raise EngineError("declaration_changed", "ข้อความคำรับรองไม่ตรงกับที่ระบบกำหนด กรุณาอ่านและยืนยันอีกครั้ง",
                              "the declaration text does not match; read and confirm it again", status=409)
        if not intent_confirmed:
            raise EngineError("intent", "กรุณายืนยันเจตนาลงลายมือชื่ออิเล็กทรอนิกส์",
                              "confirm that you intend to sign electronically")
        env = self.env(record)
        record["answers"] = forms.clean(service, record["answers"], env)
        self.drop_inapplicable_documents(record)
        field_errors, missing = self.problems(record)
        if field_errors or missing:
            raise EngineError("invalid", "คำขอยังไม่ครบถ้วน กรุณาแก้ไขรายการที่แจ้ง",
                              "the application is not complete; correct the listed items",
                              errors=[e.as_dict() for e in field_errors] + missing)
        now = self.ctx.now()
        calendar = self.ctx.calendar(record["agency"])
        intake = calendar.intake_time(now)
        year = be_year(calendar.to_local(intake).year)
        number = self.ctx.store.next_number(intake_sequence(record["agency"], year), {"application": app_id})
        digest = submission_digest(record)
        record["signature"] = {
            "type": "etda-type-1",
            "signer": actor.user_id,
            "signer_name": actor.name,
            "signed_at": now.isoformat(),
            "declaration": expected_text,
            "intent_confirmed": True,
            "content_sha256": digest,
            "ip": actor.ip,
            "user_agent": actor.user_agent,
        }
        record["submitted_at"] = now.isoformat()
        record["intake_at"] = intake.isoformat()
        record["intake_number"] = f"{number}/{year}"
        record["state"] = service.definition.workflow.initial
        record["state_entered_at"] = intake.isoformat()
        record["sla_paused"] = []
        record["sla_due"] = calendar.due_at(intake, service.definition.sla.working_days).isoformat() \
            if service.definition.sla.working_days else None
        record["changed"] = True
        record["updated_at"] = now.isoformat()
        events.append(record["events"], "submitted", actor.user_id, now.isoformat(), {
            "intake_number": record["intake_number"], "intake_at": record["intake_at"],
            "content_sha256": digest, "ip": actor.ip, "user_agent": actor.user_agent,
        })
        saved = self.ctx.store.update_application(record, record["version"])
        Workflow(self.ctx).schedule_timers(saved, service, saved["state"], intake, saved["events"][-1]["seq"])
        if self.ctx.notifier is not None:
            self.ctx.notifier(saved, "submitted", service, {})
        return saved

    def verify_signature(self, record: Mapping[str, Any]) -> bool:
        """Whether the stored answers and documents are still exactly what was
        signed.  The signed digest is read from the hash-linked events (the last
        one that carries a ``content_sha256``), so editing both the answers and
        the stored signature is detected too."""
        if not record.get("signature") or events.verify_chain(record.get("events", [])):
            return False
        digest = submission_digest(record)
        return self.signed_digest(record) == digest and record["signature"].get("content_sha256") == digest

    def signature_state(self, record: Mapping[str, Any]) -> str | None:
        """``intact``; ``pending`` — the applicant's recorded changes after signing,
        not yet sent (they will be checked and signed again when sent); ``broken`` —
        the content differs from what was signed with no recorded change (tampering);
        None before signing."""
        if not record.get("signature"):
            return None
        if self.verify_signature(record):
            return "intact"
        history = record.get("events", [])
        if events.verify_chain(history):
            return "broken"
        last_signed = max((e["seq"] for e in history if e["type"] in ("submitted", "transition")
                           and isinstance(e.get("data"), dict) and e["data"].get("content_sha256")), default=0)
        recorded = [e for e in history if e["seq"] > last_signed
                    and e["type"] in ("answers_changed", "document_added", "document_removed")
                    and e["actor"] == record.get("applicant")]
        return "pending" if recorded else "broken"

    @staticmethod
    def signed_digest(record: Mapping[str, Any]) -> str | None:
        """The digest of the content last signed (:func:`eservice.submission.signed_digest`)."""
        return submission.signed_digest(record)
