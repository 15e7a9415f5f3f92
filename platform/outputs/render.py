"""A document template → PDF bytes, with the QR code, and the place of the stamp.

Templates are rendered in the platform's Jinja2 sandbox with strict undefined
names (:func:`eservice.renderers.pdf.render_template_file_html`), then laid
out by WeasyPrint with the Thai font.  The QR code is an SVG made by ``segno``
and embedded as a ``data:`` URL, so it is part of the signed page.  The box
``#signature-stamp`` that ``eservice/issued.html`` keeps is found after layout;
the signer draws the visible stamp exactly there.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..renderers.pdf import PdfRenderError, render_pdf_with_boxes, render_template_file_html

__all__ = ["STAMP_ID", "qr_data_uri", "render_document", "render_html", "template_path"]

STAMP_ID = "signature-stamp"


def qr_data_uri(url: str) -> str:
    """A QR code of *url* as an SVG ``data:`` URL (error correction M, no border)."""
    import segno

    return segno.make(url, error="m", micro=False).svg_data_uri(border=0, dark="#000")


def template_path(service: Any, output: Any) -> Path:
    """The template file of a licence or letter: relative to its definition."""
    return (Path(service.file).parent / output.template).resolve()


def render_html(service: Any, output: Any, context: Mapping[str, Any]) -> str:
    """The template's HTML (raises PdfRenderError with the file and line on an error)."""
    path = template_path(service, output)
    return render_template_file_html(path, context, root=path.parent)


def render_document(service: Any, output: Any, context: Mapping[str, Any]
                    ) -> tuple[bytes, tuple[int, tuple[float, float, float, float]] | None]:
    """``(pdf, (page, box) of the stamp or None)``."""
    html = render_html(service, output, context)
    root = template_path(service, output).parent
    pdf, boxes = render_pdf_with_boxes(html, (STAMP_ID,), base_url=root)
    return pdf, boxes.get(STAMP_ID)


__all__ += ["PdfRenderError"]
