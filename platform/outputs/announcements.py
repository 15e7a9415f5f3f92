"""The head's announcement and order adopting the e-Service (CH-2), signed and published.

An agency file declares them (``announcements`` in the agency YAML,
:class:`eservice.spec.models.Announcement`)::

    announcements:
      - id: eservice_announcement
        kind: announcement            # ประกาศ (§1.6, Annex 1) | order: คำสั่ง (§3.6, Annex 2)
        title: {th: ประกาศ… เรื่อง การให้บริการผ่านระบบอิเล็กทรอนิกส์, en: …}
        template: ../nonthaburi-city/templates/eservice_announcement.html   # relative to the agency file
        services: [food-shop-permit]  # empty or absent: every service of the agency
        signed_as: {th: นายกเทศมนตรีนครนนทบุรี, en: Mayor of Nonthaburi City}

The head of agency signs and publishes one from the officers' page
(:mod:`eservice.web.announcements`).  It goes through the same pipeline as a
licence (:mod:`eservice.outputs`): the template is rendered in the sandbox with
strict names and the Thai font, laid out by WeasyPrint, and signed with the
agency's organisation certificate (PAdES B-T when ``ESERVICE_TSA_URL`` is set;
visible stamp; QR code to ``/verify?document=<id>``).  The signed PDF is kept in
the file store, listed on the agency's public page (newest of each
announcement), and indexed for ``/verify`` like an issued letter.

What a template sees:

=====================  =========================================================
``document``           ``id``, ``kind`` (announcement | order), ``title`` {th, en}, ``draft``
``announcement``       ``id``, ``kind``, ``title`` {th, en}
``agency``             as for licences: ``code``, ``name``, ``parent``, ``address``, ``phone``,
                       ``email``, ``website``
``services``           the adopted services: ``id``, ``title`` {th, en}, ``url`` (its page)
``portal_url``         the e-Service's public address (``ESERVICE_BASE_URL``)
``agency_url``         the agency's page on it
``signer``             ``name`` (the head who signs), ``position`` {th, en} (``signed_as``)
``issued_on``, ``issued_on_th``/``_en``, ``verify_url``, ``verify_page``, ``verify_qr``
=====================  =========================================================

Publishing again (a changed template or list of services) signs a new document;
the agency page shows the newest, and the older ones stay verifiable.
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..renderers.pdf import PdfRenderError, english_date, english_datetime, thai_date, thai_datetime
from .context import text_pair
from .errors import OutputError
from .render import STAMP_ID, qr_data_uri, render_document, render_html

__all__ = ["ANNOUNCEMENTS", "AgencyTemplates", "adopted_services", "announcement_context", "announcement_problems",
           "published", "publish_announcement"]

ANNOUNCEMENTS = "announcements"
KIND_TEXT = {"announcement": {"th": "ประกาศ", "en": "Announcement"},
             "order": {"th": "คำสั่ง", "en": "Order"}}


@dataclass(frozen=True)
class AgencyTemplates:
    """Where an agency's templates are looked up: beside its agency file (what
    :func:`eservice.outputs.render.template_path` reads as ``file``)."""

    file: Path


def adopted_services(agency: Any, announcement: Any, catalogue: Any) -> list[Any]:
    """The services an announcement adopts (all of the agency's when it names none)."""
    own = catalogue.of_agency(agency.code)
    if not announcement.services:
        return own
    by_id = {s.id: s for s in own}
    return [by_id[sid] for sid in announcement.services if sid in by_id]


def announcement_context(*, agency: Any, announcement: Any, services: Sequence[Any], base_url: str,
                         issued_on: dt.date, signer: Mapping[str, Any], document_id: str, verify_url: str,
                         verify_qr: str | None, draft: bool = False) -> dict[str, Any]:
    """The names an announcement template can use (the table in the module)."""
    base = base_url.rstrip("/")
    title = text_pair(announcement.title)
    return {
        "document": {"id": document_id, "kind": announcement.kind, "title": title, "draft": draft},
        "announcement": {"id": announcement.id, "kind": announcement.kind, "title": title},
        "agency": {"code": agency.code, "name": text_pair(agency.name),
                   "parent": text_pair(agency.parent) if agency.parent else None,
                   "address": text_pair(agency.address) if agency.address else None,
                   "phone": agency.phone, "email": agency.email or "", "website": agency.website or ""},
        "services": [{"id": s.id, "title": text_pair(s.definition.title), "url": f"{base}/services/{s.id}"}
                     for s in services],
        "portal_url": base,
        "agency_url": f"{base}/agencies/{agency.code}",
        "signer": {"name": signer.get("name") or "", "position": text_pair(signer.get("position"))},
        "issued_on": issued_on.isoformat(),
        "issued_on_th": thai_date(issued_on), "issued_on_en": english_date(issued_on),
        "verify_url": verify_url,
        "verify_page": verify_url.split("?", 1)[0],
        "verify_qr": verify_qr,
    }


def announcement_problems(agency: Any, agency_file: Path, catalogue: Any,
                          declared: set[str] | None = None) -> list[tuple[tuple, str, str]]:
    """``(path in the agency file, Thai, English)`` for each declared announcement
    whose template is missing or does not render, or that names a service the
    agency does not have (``eservice check``).  *declared*: the ids of the
    agency's service files, also those that did not load (they have their own problem)."""
    problems: list[tuple[tuple, str, str]] = []
    own = {s.id for s in catalogue.of_agency(agency.code)} | set(declared or ())  # a broken service: its own problem
    where = AgencyTemplates(Path(agency_file))
    seen: set[str] = set()
    for index, announcement in enumerate(agency.announcements):
        path = ("announcements", index)
        if announcement.id in seen:
            problems.append(((*path, "id"), f"ประกาศ `{announcement.id}` ซ้ำ", f"announcement `{announcement.id}` "
                                                                                 "is declared twice"))
        seen.add(announcement.id)
        for position, sid in enumerate(announcement.services):
            if sid not in own:
                problems.append(((*path, "services", position),
                                 f"หน่วยงาน {agency.code} ไม่มีบริการ `{sid}`",
                                 f"agency {agency.code} has no service `{sid}`"))
        for draft in (True, False):
            context = announcement_context(
                agency=agency, announcement=announcement, services=adopted_services(agency, announcement, catalogue),
                base_url="https://eservice.example.go.th", issued_on=dt.date(2026, 1, 23),
                signer={"name": "ตัวอย่าง", "position": announcement.signed_as}, document_id="doc-0000000000000000",
                verify_url="https://eservice.example.go.th/verify?document=doc-0000000000000000",
                verify_qr=None if draft else qr_data_uri("https://eservice.example.go.th/verify"), draft=draft)
            try:
                html = render_html(where, announcement, context)
            except PdfRenderError as exc:
                problems.append(((*path, "template"), exc.th, exc.en))
                break
            if f'id="{STAMP_ID}"' not in html:
                problems.append(((*path, "template"),
                                 f"แม่แบบ `{announcement.template}` ไม่มีที่สำหรับตราลายมือชื่อ (id=\"{STAMP_ID}\")",
                                 f"the template `{announcement.template}` keeps no place for the signature stamp "
                                 f"(id=\"{STAMP_ID}\")"))
                break
    return problems


def _render(where: AgencyTemplates, announcement: Any, context: Mapping[str, Any]):
    try:
        return render_document(where, announcement, context)
    except PdfRenderError as exc:
        raise OutputError(
            "template_failed", f"สร้างเอกสารจากแม่แบบไม่สำเร็จ จึงยังไม่ได้เผยแพร่: {exc.th}",
            f"the document could not be made from its template, so nothing was published: {exc.en}") from exc


def preview_announcement(outputs: Any, agency: Any, agency_file: Path, announcement: Any, catalogue: Any,
                         signer_name: str) -> bytes:
    """The draft as it would be signed today: marked "ร่าง / DRAFT", unsigned, no QR code."""
    context = announcement_context(
        agency=agency, announcement=announcement, services=adopted_services(agency, announcement, catalogue),
        base_url=outputs.base_url, issued_on=outputs.local_date(agency),
        signer={"name": signer_name, "position": announcement.signed_as}, document_id="draft", verify_url="",
        verify_qr=None, draft=True)
    return _render(AgencyTemplates(Path(agency_file)), announcement, context)[0]


def publish_announcement(outputs: Any, store: Any, agency: Any, agency_file: Path, announcement: Any,
                         catalogue: Any, actor: Any, audit: Any = None) -> dict[str, Any]:
    """Render, sign (the agency's certificate), store and publish; return the kept
    record.  Raises OutputError (Thai and English) and keeps nothing on a failure."""
    from ..register.model import ISSUED

    outputs.ready(agency.code)
    now = outputs.clock.now()
    document_id = f"doc-{secrets.token_hex(8)}"
    url = outputs.verify_url(document_id=document_id)
    signer = {"name": getattr(actor, "name", "") or getattr(actor, "user_id", ""),
              "position": text_pair(announcement.signed_as)}
    services = adopted_services(agency, announcement, catalogue)
    context = announcement_context(
        agency=agency, announcement=announcement, services=services, base_url=outputs.base_url,
        issued_on=outputs.local_date(agency, now), signer=signer, document_id=document_id, verify_url=url,
        verify_qr=qr_data_uri(url))
    pdf, box = _render(AgencyTemplates(Path(agency_file)), announcement, context)
    if box is None:
        raise OutputError("no_stamp_place", f"แม่แบบ {announcement.template} ไม่มีที่สำหรับตราลายมือชื่อ",
                          f"the template {announcement.template} has no place for the signature stamp")
    title = text_pair(announcement.title)
    lines = [f"ลงนามโดย {signer['name']}", signer["position"]["th"],
             f"วันที่ {thai_datetime(now)}", f"Signed {english_datetime(now)}"]
    signed = outputs.signers.sign(agency.code, pdf, reason=title["th"], location=text_pair(agency.name)["th"],
                                  stamp_lines=lines, stamp_box=box)
    try:
        sha = outputs.files.put(signed)
    except OSError as exc:
        raise OutputError("store_failed", f"บันทึกไฟล์เอกสารไม่สำเร็จ: {exc}",
                          f"the signed document could not be stored: {exc}") from exc
    collection = store.collection(ANNOUNCEMENTS)
    seq = 1 + sum(1 for item in collection.all() if item.get("agency") == agency.code)  # orders equal times
    record = {"id": document_id, "seq": seq, "agency": agency.code, "announcement": announcement.id,
              "kind": announcement.kind, "title": title, "services": [s.id for s in services],
              "sha256": sha, "size": len(signed), "filename": f"{agency.code}-{announcement.id}.pdf",
              "signed_at": now.isoformat(), "signer": signer["name"], "position": signer["position"],
              "level": outputs.signers.level, "by": getattr(actor, "user_id", "")}
    saved = collection.put(document_id, record)
    index = {"document_id": document_id, "sha256": sha, "kind": announcement.kind, "output": announcement.id,
             "title": title, "number": None, "agency": agency.code, "service": None, "application": None,
             "signed_at": record["signed_at"], "signer": signer["name"], "position": signer["position"],
             "level": record["level"], "entry": None}
    issued = store.collection(ISSUED)
    for key in (f"doc:{document_id}", f"sha:{sha}"):
        if issued.get(key) is None:
            issued.put(key, index)
    if audit is not None:
        audit.record(actor, "announcement.publish", target=document_id, agency=agency.code,
                     details={"announcement": announcement.id, "kind": announcement.kind, "sha256": sha,
                              "services": record["services"]})
    return saved


def published(store: Any, agency: str) -> list[dict[str, Any]]:
    """The newest signed document of each of *agency*'s announcements, newest first."""
    newest: dict[str, dict[str, Any]] = {}
    for item in store.collection(ANNOUNCEMENTS).all():
        if item.get("agency") != agency:
            continue
        current = newest.get(item["announcement"])
        if current is None or _order(item) > _order(current):
            newest[item["announcement"]] = item
    return sorted(newest.values(), key=_order, reverse=True)


def _order(item: Mapping[str, Any]) -> tuple:
    return item.get("signed_at") or "", item.get("seq") or 0


__all__ += ["KIND_TEXT", "preview_announcement"]
