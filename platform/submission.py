"""What an applicant signs and when it is complete (A-F6, A-F8, RC-1).

Shared by the first submission (:meth:`eservice.applications.Applications.submit`)
and by a later one, when the applicant sends an application on after changing it
(:meth:`eservice.workflow.Workflow.take`).  This module imports neither of them:
``applications → workflow → submission``.

* :func:`submission_content` / :func:`submission_digest` — the canonical content
  (answers and document hashes) and its SHA-256;
* :func:`signed_digest` — the digest last signed, as the hash-linked events record it;
* :func:`applicable_documents`, :func:`drop_inapplicable_documents` and
  :func:`problems` — which documents apply now, and every problem left before sending;
* :func:`resign` — renew the type-1 signature evidence after a change.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import events, forms
from .engine import EngineContext, ExprEnvironment
from .policy import Actor

if TYPE_CHECKING:  # pragma: no cover
    from .spec.models import Document

__all__ = [
    "applicable_documents", "drop_inapplicable_documents", "problems", "resign", "signed_digest",
    "submission_content", "submission_digest",
]


def submission_content(record: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical content an applicant signs: answers and document hashes."""
    return {
        "service": record["service"],
        "service_version": record["service_version"],
        "service_digest": record["service_digest"],
        "answers": record.get("answers", {}),
        "documents": {doc_id: sorted(item["sha256"] for item in items)
                      for doc_id, items in sorted(record.get("documents", {}).items())},
    }


def submission_digest(record: Mapping[str, Any]) -> str:
    return events.sha256_hex(events.canonical_json(submission_content(record)))


def signed_digest(record: Mapping[str, Any]) -> str | None:
    """The digest of the content last signed, as the hash-linked events record it."""
    signed = [e["data"]["content_sha256"] for e in record.get("events", [])
              if isinstance(e.get("data"), dict) and e["data"].get("content_sha256")
              and e["type"] in ("submitted", "transition")]
    return signed[-1] if signed else None


def applicable_documents(ctx: EngineContext, record: Mapping[str, Any]) -> list[Document]:
    """The service's documents whose condition holds for the answers now."""
    service = ctx.service_of(record)
    env = ExprEnvironment(ctx, record["agency"])
    ev = forms.Evaluation(service, forms.clean(service, record.get("answers", {}), env), env)
    return [d for d in service.definition.documents if ev.holds(d.when)]


def drop_inapplicable_documents(ctx: EngineContext, record: dict[str, Any]) -> list[str]:
    """Hidden means not applicable, for documents too: drop attachments of
    documents whose condition is now false (the files stay in the file store)."""
    keep = {d.id for d in applicable_documents(ctx, record)}
    dropped = sorted(set(record.get("documents", {})) - keep)
    for doc_id in dropped:
        del record["documents"][doc_id]
    return dropped


def problems(ctx: EngineContext, record: Mapping[str, Any]) -> tuple[list[forms.FieldError], list[dict]]:
    """Every answer and document problem before submission (A-F6)."""
    service = ctx.service_of(record)
    env = ExprEnvironment(ctx, record["agency"])
    _, field_errors = forms.validate(service, record.get("answers", {}), env)
    ev = forms.Evaluation(service, forms.clean(service, record.get("answers", {}), env), env)
    missing = []
    for doc in service.definition.documents:
        if not ev.holds(doc.when):
            continue
        needed = doc.required if doc.required_when is None else ev.holds(doc.required_when)
        if needed and not record.get("documents", {}).get(doc.id):
            missing.append({"document": doc.id, "code": "required",
                            "th": f"กรุณาแนบ “{doc.title.th}”",
                            "en": f"Attach “{doc.title.get('en')}”"})
    return field_errors, missing


def resign(ctx: EngineContext, record: dict[str, Any], actor: Actor) -> str:
    """Renew the type-1 signature evidence after the applicant changed a
    submitted application (more documents): who, when, from where, what."""
    digest = submission_digest(record)
    signature = record.setdefault("signature", {})
    signature.update(signer=actor.user_id, signed_at=ctx.now_iso(), content_sha256=digest,
                     ip=actor.ip, user_agent=actor.user_agent, intent_confirmed=True)
    return digest
