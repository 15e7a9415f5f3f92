"""Issuing one document: render, sign, store (A-L2, A-L4, A-L5, IS-1, IS-2).

:class:`Outputs` is what the workflow's effects call (``EngineContext.outputs``):

* :meth:`Outputs.ready` — the agency's keys are usable (called before a
  licence number is taken, so a missing key costs no number);
* :meth:`Outputs.issue_licence` / :meth:`Outputs.issue_letter` — render the
  template, sign it (PAdES, visible stamp, QR code), keep the PDF in the file
  store and return an :class:`Issued` to record;
* :meth:`Outputs.preview_licence` — the draft for the officers before anyone
  signs (A-L3): marked "ร่าง / DRAFT", no number, no QR code, not signed.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from ..renderers.pdf import PdfRenderError, english_datetime, thai_datetime
from .context import DEFAULT_POSITION, document_context, text_pair
from .errors import OutputError
from .render import qr_data_uri, render_document
from .sign import AgencySigners

__all__ = ["Issued", "Outputs"]

MEDIA_TYPE = "application/pdf"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Issued:
    """A signed document, stored; what the application and its history keep."""

    kind: str  # licence | letter
    output_id: str
    document_id: str
    number: str | None
    sha256: str
    size: int
    filename: str
    signed_at: str
    signer: str
    position: dict[str, str]
    level: str
    valid_until: str | None
    pdf: bytes = field(repr=False)

    def record(self) -> dict[str, Any]:
        """Kept on the licence or letter item of the application."""
        return {"document_id": self.document_id, "signer_name": self.signer, "signer_position": self.position,
                "signature_level": self.level, "valid_until": self.valid_until,
                "file": {"sha256": self.sha256, "size": self.size, "filename": self.filename,
                         "media_type": MEDIA_TYPE}}

    def event(self) -> dict[str, Any]:
        """Kept in the history (who signed what, when: the event's actor and time)."""
        return {"document": self.document_id, "sha256": self.sha256, "signer": self.signer,
                "position": self.position["th"], "level": self.level}

    @property
    def attachment(self) -> tuple[str, bytes, str]:
        """For :meth:`eservice.mail.Mailer.send`."""
        return self.filename, self.pdf, MEDIA_TYPE


class Outputs:
    """Rendering, signing and storing the documents agencies issue (see the module)."""

    def __init__(self, files: Any, data_dir: str | Path, *, base_url: str, clock: Any = None,
                 tsa_url: str | None = None):
        from ..clock import SystemClock

        self.files = files
        self.base_url = base_url.rstrip("/")
        self.clock = clock or SystemClock()
        self.signers = AgencySigners(data_dir, tsa_url=tsa_url)

    @classmethod
    def from_settings(cls, settings: Any, files: Any, clock: Any = None) -> "Outputs":
        """From the web app's Settings: the data folder (keys), the public address
        (links in QR codes) and ``tsa_url`` (``ESERVICE_TSA_URL``)."""
        return cls(files, settings.data, base_url=settings.public_base_url, clock=clock,
                   tsa_url=getattr(settings, "tsa_url", None))

    # -- the parts --------------------------------------------------------------------
    def ready(self, agency: str) -> None:
        """Raise OutputError now if *agency* cannot sign (no number is taken before this)."""
        self.signers.signer(agency)

    def verify_url(self, *, number: str | None = None, document_id: str | None = None) -> str:
        """Where the QR code points: ``/verify?licence=<number>`` for a licence,
        ``/verify?document=<id>`` for a letter (:mod:`eservice.web.verify`)."""
        if number:
            return f"{self.base_url}/verify?licence={quote(number, safe='')}"
        return f"{self.base_url}/verify?document={quote(document_id or '', safe='')}"

    @staticmethod
    def _signer(actor: Any, service: Any, output: Any) -> dict[str, Any]:
        position = text_pair(output.signed_as) if output.signed_as else dict(DEFAULT_POSITION)
        if getattr(actor, "is_system", False):
            agency = text_pair(service.agency.name)
            return {"name": f"ระบบอัตโนมัติของ{agency['th']}", "position": position}
        return {"name": getattr(actor, "name", "") or getattr(actor, "user_id", ""), "position": position}

    def _local(self, service: Any, now: dt.datetime) -> dt.datetime:
        try:
            return now.astimezone(ZoneInfo(service.agency.timezone))
        except Exception:  # an unknown zone was refused when the agency loaded; Bangkok as a fallback
            from ..clock import BANGKOK

            return now.astimezone(BANGKOK)

    def local_date(self, agency: Any, now: dt.datetime | None = None) -> dt.date:
        """Today (or *now*) in *agency*'s time zone."""
        try:
            zone = ZoneInfo(agency.timezone)
        except Exception:
            from ..clock import BANGKOK

            zone = BANGKOK
        return (now or self.clock.now()).astimezone(zone).date()

    # -- issuing -----------------------------------------------------------------------
    def issue_licence(self, record: Mapping[str, Any], service: Any, licence: Any, actor: Any,
                      inputs: Mapping[str, Any], calculations: Mapping[str, Any], number: str,
                      licence_inputs: Mapping[str, Any] | None = None) -> Issued:
        return self._issue(record, service, licence, "licence", actor, inputs, calculations, number,
                           licence_inputs)

    def issue_letter(self, record: Mapping[str, Any], service: Any, letter: Any, actor: Any,
                     inputs: Mapping[str, Any], calculations: Mapping[str, Any]) -> Issued:
        return self._issue(record, service, letter, "letter", actor, inputs, calculations, None, None)

    def _issue(self, record, service, output, kind, actor, inputs, calculations, number, licence_inputs) -> Issued:
        agency = record["agency"]
        self.ready(agency)
        now = self.clock.now()
        local = self._local(service, now)
        document_id = f"doc-{secrets.token_hex(8)}"
        url = self.verify_url(number=number, document_id=document_id)
        signer = self._signer(actor, service, output)
        context = document_context(
            record=record, service=service, output=output, kind=kind, inputs=inputs, calculations=calculations,
            issued_on=local.date(), signer=signer, document_id=document_id, verify_url=url,
            verify_qr=qr_data_uri(url), number=number, licence_inputs=licence_inputs)
        pdf, box = self._render(service, output, context)
        if box is None:
            raise OutputError(
                "no_stamp_place",
                f"แม่แบบ {output.template} ไม่มีที่สำหรับตราลายมือชื่อ (id=\"signature-stamp\") ให้ขยายจาก "
                "eservice/issued.html หรือหัวจดหมายของหน่วยงาน",
                f"the template {output.template} has no place for the signature stamp (id=\"signature-stamp\"); "
                "extend eservice/issued.html or the agency's letterhead")
        title = text_pair(output.title)
        agency_name = text_pair(service.agency.name)
        lines = [f"ลงนามโดย {signer['name']}", signer["position"]["th"],
                 f"วันที่ {thai_datetime(now)}", f"Signed {english_datetime(now)}"]
        reason = f"{title['th']} เลขที่ {number}" if number else \
            f"{title['th']} คำขอ {record.get('reference', '')}"
        signed = self.signers.sign(agency, pdf, reason=reason, location=agency_name["th"],
                                   stamp_lines=lines, stamp_box=box)
        try:
            sha = self.files.put(signed)
        except OSError as exc:
            raise OutputError("store_failed", f"บันทึกไฟล์เอกสารไม่สำเร็จ: {exc}",
                              f"the signed document could not be stored: {exc}") from exc
        safe = _UNSAFE.sub("-", f"{output.id}-{record.get('reference') or record.get('id')}").strip("-")
        return Issued(kind=kind, output_id=output.id, document_id=document_id, number=number, sha256=sha,
                      size=len(signed), filename=f"{safe}.pdf", signed_at=now.isoformat(),
                      signer=signer["name"], position=signer["position"], level=self.signers.level,
                      valid_until=context.get("valid_until"), pdf=signed)

    def _render(self, service: Any, output: Any, context: Mapping[str, Any]):
        try:
            return render_document(service, output, context)
        except PdfRenderError as exc:
            raise OutputError(
                "template_failed",
                f"สร้างเอกสารจากแม่แบบไม่สำเร็จ จึงยังไม่ได้บันทึกการดำเนินการนี้ (แจ้งผู้ดูแลนิยามบริการ): {exc.th}",
                f"the document could not be made from its template, so nothing was recorded "
                f"(tell whoever maintains the service definition): {exc.en}") from exc

    def preview_licence(self, record: Mapping[str, Any], service: Any, licence: Any,
                        calculations: Mapping[str, Any]) -> bytes:
        """The draft licence as it would be signed today (A-L3): marked as a draft, unsigned."""
        item = (record.get("licences") or {}).get(licence.id) or {}
        local = self._local(service, self.clock.now())
        signer = {"name": "ผู้มีอำนาจลงนาม / signing authority",
                  "position": text_pair(licence.signed_as) if licence.signed_as else dict(DEFAULT_POSITION)}
        context = document_context(
            record=record, service=service, output=licence, kind="licence", inputs={}, calculations=calculations,
            issued_on=local.date(), signer=signer, document_id="draft", verify_url="", verify_qr=None,
            number=None, licence_inputs=item.get("inputs") or {}, draft=True)
        return self._render(service, licence, context)[0]
