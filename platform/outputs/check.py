"""``eservice check`` for document templates: render each one before it is needed.

Every template of ``outputs.licences`` and ``outputs.letters`` is rendered
(to HTML; no PDF is laid out) against sample contexts built from the
definition (:func:`eservice.outputs.context.sample_context`):

* once per transition that issues it (``sign_licence`` / ``issue_letter``),
  with that transition's inputs — every input, then only the required ones;
* with every field answered, then with only the required fields answered
  (both cleaned by the form's conditions, as an application would be);
* for a licence, also as the draft the officers preview (no signing inputs yet).

Names are strict: a typo (``{{ licence.numbr }}``, ``{{ input.reasn }}``) is a
problem with the template's file and line, not a blank on a licence.  The
rendered page must keep the signature stamp's place (``id="signature-stamp"``),
which ``eservice/issued.html`` provides.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from .. import forms
from ..renderers.pdf import PdfRenderError
from .context import DEFAULT_POSITION, sample_input, document_context, sample_answers, sample_context
from .render import STAMP_ID, render_html

from .referral_letter import LETTER_ID, SAMPLE_INPUT

__all__ = ["template_problems"]


def _issuers(service: Any, kind: str, output_id: str) -> list[Any]:
    effect = "sign_licence" if kind == "licence" else "issue_letter"
    return [tr for tr in service.definition.workflow.transitions
            if any(e.kind == effect and e.target == output_id for e in tr.effects)]


def _drafting_inputs(service: Any, output_id: str) -> dict[str, Any]:
    for tr in service.definition.workflow.transitions:
        if any(e.kind == "draft_licence" and e.target == output_id for e in tr.effects):
            return {spec.id: sample_input(spec) for spec in tr.inputs}
    return {}


def _contexts(service: Any, output: Any, kind: str, samples: dict) -> Iterator[tuple[str, dict[str, Any]]]:
    issuers = _issuers(service, kind, output.id) or [None]
    for tr in issuers:
        for required_only in (False, True):
            answers, values = samples[required_only]
            context = sample_context(service, output, kind, tr, required_only=required_only, answers=answers,
                                     values=values)
            if kind == "licence":
                context["licence"]["inputs"] = _drafting_inputs(service, output.id)
            if tr is None and kind == "letter" and output.id == LETTER_ID:  # issued by the built-in referral (RC-2)
                context["input"] = dict(SAMPLE_INPUT)
            label = f"{tr.id if tr else '-'}/{'required answers' if required_only else 'all answers'}"
            yield label, context
    if kind == "licence":
        answers, values = samples[True]
        record = {"id": "app-0000000000000000", "reference": "ABCD-EFGH-JKLM", "intake_number": "1/2566",
                  "answers": answers}
        yield "draft", document_context(
            record=record, service=service, output=output, kind=kind, inputs={}, calculations=values,
            issued_on=dt.date(2023, 1, 23), signer={"name": "ตัวอย่าง", "position": DEFAULT_POSITION},
            document_id="draft", verify_url="", verify_qr=None, number=None,
            licence_inputs=_drafting_inputs(service, output.id), draft=True)


_CACHE: dict[tuple, list] = {}


def _fingerprint(service: Any) -> tuple | None:
    """What the result depends on: the definition, its agency, and every template
    file that could be read (the templates' folders and the platform's own)."""
    from ..renderers.pdf import PDF_TEMPLATE_DIR
    from .render import template_path

    outputs = (*service.definition.outputs.licences, *service.definition.outputs.letters)
    if not outputs:
        return None
    folders = {template_path(service, o).parent for o in outputs} | {PDF_TEMPLATE_DIR}
    files = []
    for folder in sorted(folders):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                stat = path.stat()
                files.append((str(path), stat.st_mtime_ns, stat.st_size))
    return (service.definition.model_dump_json(), service.agency.model_dump_json(), str(service.file),
            tuple(files))


def template_problems(service: Any) -> list[tuple[tuple, str, str]]:
    """``(path in the definition, Thai, English)`` for each template that does
    not render.  *service* needs ``definition``, ``agency``, ``file``, ``id``,
    ``version`` and ``expr`` (a CompiledService, or the checker's stand-in)."""
    key = _fingerprint(service)
    if key is None:
        return []
    if key in _CACHE:  # the same definition and templates again (e.g. each start of the app)
        return list(_CACHE[key])
    problems: list[tuple[tuple, str, str]] = []
    samples = {}
    for required_only in (False, True):
        answers = sample_answers(service, required_only=required_only)
        samples[required_only] = (answers, forms.Evaluation(service, answers).values)
    groups = (("licence", "licences", service.definition.outputs.licences),
              ("letter", "letters", service.definition.outputs.letters))
    for kind, key, outputs in groups:
        for index, output in enumerate(outputs):
            path = ("outputs", key, index, "template")
            for label, context in _contexts(service, output, kind, samples):
                try:
                    html = render_html(service, output, context)
                except PdfRenderError as exc:
                    problems.append((path, f"{exc.th} (ตัวอย่าง: {label})", f"{exc.en} (sample: {label})"))
                    break
                if f'id="{STAMP_ID}"' not in html:
                    problems.append((
                        path,
                        f"แม่แบบ `{output.template}` ไม่มีที่สำหรับตราลายมือชื่อและ QR code (id=\"{STAMP_ID}\"): "
                        "ให้ขยายจากหัวจดหมายของหน่วยงานหรือ eservice/issued.html",
                        f"the template `{output.template}` keeps no place for the signature stamp and QR code "
                        f"(id=\"{STAMP_ID}\"): extend the agency's letterhead or eservice/issued.html"))
                    break
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[key] = list(problems)
    return problems
