"""Delivery of issued documents (A-D1, A-D2, IS-3): what an application holds,
and who may download it.

The documents live on the application record (``licences[<id>]`` once signed,
``letters[]``), each with its ``file`` in the content-addressed file store.
:func:`issued_documents` lists them for the status page, the officers' page
and the JSON API; :func:`find_issued` finds one by the SHA-256 of its file.

Who may download (:func:`may_download`): the applicant, and officers who may
see the application (its agency, within the services their role covers).
Anyone else gets the same 404 as for a file that does not exist.  Every
issued document also goes to the applicant by e-mail as an attachment of the
notification of the same step (see :class:`eservice.workflow.Workflow`).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .context import text_pair

__all__ = ["find_issued", "issued_documents", "may_download"]


def issued_documents(record: Mapping[str, Any], service: Any | None) -> list[dict[str, Any]]:
    """Every signed document of *record*, licences first, each as
    ``{kind, id, title {th, en}, number, issued_at, valid_until, signer,
    position {th, en}, level, document_id, sha256, filename, size}``."""
    licences = {x.id: x for x in service.definition.outputs.licences} if service is not None else {}
    letters = {x.id: x for x in service.definition.outputs.letters} if service is not None else {}
    out = []
    for lid, item in (record.get("licences") or {}).items():
        if item.get("status") != "signed" or not item.get("file"):
            continue  # a draft is the agency's own work; a record from before #7 has no file
        out.append(_entry("licence", lid, licences.get(lid), item, item.get("signed_at")))
    for item in record.get("letters") or []:
        if item.get("file"):
            out.append(_entry("letter", item.get("id", ""), letters.get(item.get("id")), item, item.get("issued_at")))
    return out


def _entry(kind: str, ident: str, output: Any, item: Mapping[str, Any], at: str | None) -> dict[str, Any]:
    file = item.get("file") or {}
    title = output.title if output is not None else item.get("title") or ident  # payments keep their own title
    return {"kind": kind, "id": ident, "title": text_pair(title),
            "number": item.get("number"), "issued_at": at, "valid_until": item.get("valid_until"),
            "signer": item.get("signer_name"), "position": text_pair(item.get("signer_position")),
            "level": item.get("signature_level"), "document_id": item.get("document_id"),
            "sha256": file.get("sha256"), "filename": file.get("filename"), "size": file.get("size")}


def find_issued(record: Mapping[str, Any], sha256: str) -> dict[str, Any] | None:
    """The issued document whose file has this SHA-256, or None."""
    return next((d for d in issued_documents(record, None) if d["sha256"] == sha256), None)


def may_download(actor: Any, record: Mapping[str, Any]) -> bool:
    """The applicant, or an officer allowed to see this application."""
    from ..policy import allowed

    if not getattr(actor, "user_id", ""):
        return False
    if record.get("applicant") == actor.user_id:
        return True
    return bool(actor.is_officer and allowed(actor, "view_application", record))
