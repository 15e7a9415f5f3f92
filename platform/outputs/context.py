"""What a document template sees, and how long a licence is valid.

The context of every licence, letter and notice (A-L1, A-L2; see the table in
:mod:`eservice.outputs`) is built here from the application, the officer's
inputs, the licence number and dates, the agency and the signer.  Dates are
shown in Thai with the Buddhist Era (``23 มกราคม 2566``) and in English.

:func:`sample_context` builds the same context from a definition alone — an
answer for every field, consistent with the form's conditions — so that
``eservice check`` can render every template before any application exists
(an undefined name is an error then, not a blank on a licence).
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from typing import Any

from ..spec.models import text_pair
from ..dates import format_datetime
from ..renderers.pdf import english_date, thai_date

__all__ = ["DEFAULT_POSITION", "document_context", "sample_answers", "sample_context", "sample_input",
           "text_pair", "valid_until"]

DEFAULT_POSITION = {"th": "ผู้มีอำนาจลงนาม", "en": "Signing authority"}



def _add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def valid_until(issued_on: dt.date, validity: Any) -> dt.date | None:
    """The last day a licence is valid, from its ``validity`` (None: no end).

    A period counts from the day of issue and ends the day before its
    anniversary (issued 23 Jan 2566 for one year: valid until 22 Jan 2567).
    ``until_end_of_year`` then runs to 31 December of that year (alone: of the
    year of issue)."""
    if validity is None:
        return None
    end = None
    if validity.years or validity.months or validity.days:
        day = _add_months(issued_on, 12 * (validity.years or 0) + (validity.months or 0))
        end = day + dt.timedelta(days=validity.days or 0) - dt.timedelta(days=1)
    if validity.until_end_of_year:
        end = dt.date((end or issued_on).year, 12, 31)
    return end


def _when(value: Any, lang: str) -> str:
    if not value:
        return ""
    return format_datetime(value, lang, long=True, style="document")


def document_context(*, record: Mapping[str, Any], service: Any, output: Any, kind: str,
                     inputs: Mapping[str, Any], calculations: Mapping[str, Any], issued_on: dt.date,
                     signer: Mapping[str, Any], document_id: str, verify_url: str, verify_qr: str | None,
                     number: str | None = None, licence_inputs: Mapping[str, Any] | None = None,
                     draft: bool = False) -> dict[str, Any]:
    """The names a document template can use (the table in :mod:`eservice.outputs`)."""
    agency = service.agency
    context: dict[str, Any] = {
        "document": {"id": document_id, "kind": kind, "title": text_pair(output.title), "draft": draft},
        "application": {
            "id": record.get("id", ""), "reference": record.get("reference", ""),
            "intake_number": record.get("intake_number") or "",
            "intake_at_th": _when(record.get("intake_at"), "th"), "intake_at_en": _when(record.get("intake_at"), "en"),
            "submitted_at_th": _when(record.get("submitted_at"), "th"),
            "submitted_at_en": _when(record.get("submitted_at"), "en"),
        },
        "answers": dict(record.get("answers") or {}),
        "calculations": {c.id: calculations.get(c.id) for c in service.definition.calculations},
        "input": dict(inputs),
        "agency": {"code": agency.code, "name": text_pair(agency.name),
                   "parent": text_pair(agency.parent) if agency.parent else None,
                   "address": text_pair(agency.address) if agency.address else None,
                   "phone": agency.phone, "email": agency.email or "", "website": agency.website or ""},
        "service": {"id": service.id, "version": service.version, "title": text_pair(service.definition.title)},
        "signer": {"name": signer.get("name") or "", "position": text_pair(signer.get("position"))},
        "issued_on": issued_on.isoformat(),
        "issued_on_th": thai_date(issued_on), "issued_on_en": english_date(issued_on),
        "verify_url": verify_url,
        "verify_page": verify_url.split("?", 1)[0],
        "verify_qr": verify_qr,
    }
    if kind == "licence":
        until = valid_until(issued_on, output.validity)
        licence = {"id": output.id, "title": text_pair(output.title),
                   "number": number or "(ออกเลขที่เมื่อลงนาม / numbered when signed)",
                   "issued_on": issued_on.isoformat(), "issued_on_th": context["issued_on_th"],
                   "issued_on_en": context["issued_on_en"], "inputs": dict(licence_inputs or {}),
                   "valid_until": until.isoformat() if until else None}
        if until is not None:
            licence.update(valid_until_th=thai_date(until), valid_until_en=english_date(until))
            context.update(valid_until=until.isoformat(), valid_until_th=licence["valid_until_th"],
                           valid_until_en=licence["valid_until_en"])
        context["licence"] = licence
    return context


# --------------------------------------------------------------------------- samples for `eservice check`
def _sample_value(field: Any) -> Any:
    kind = field.type.value
    if kind in ("choice",):
        return field.options[0].value if field.options else "x"
    if kind == "checklist":
        return [field.options[0].value] if field.options else []
    if kind in ("yes_no", "consent"):
        return True
    if kind == "number":
        return float(field.min) if field.min is not None and field.min > 0 else 1.0
    if kind == "money":
        return "100.00"
    if kind == "date":
        return "2023-01-23"
    if kind == "email":
        return "sample@example.com"
    if kind == "thai_phone":
        return "081-234-5678"
    if kind == "thai_national_id":
        return "3100500123458"
    if kind == "thai_juristic_id":
        return "0105561000000"
    if kind == "thai_address":
        return {"line": "99/1 ถนนตัวอย่าง", "subdistrict": "บางกระสอ", "district": "เมืองนนทบุรี",
                "province": "นนทบุรี", "postcode": "11000"}
    if kind == "group":
        return [{sub.id: _sample_value(sub) for sub in field.fields}]
    return "ตัวอย่าง"


def sample_answers(service: Any, *, required_only: bool = False) -> dict[str, Any]:
    """An answer for every field (or only the required ones), then cleaned by
    the form's conditions, as an applicant could have sent them."""
    from .. import forms

    answers = {}
    for section in service.definition.form.sections:
        for page in section.pages:
            for field in page.fields:
                if required_only and not (field.required or field.required_when):
                    continue
                answers[field.id] = _sample_value(field)
    return forms.clean(service, answers)


def sample_input(spec: Any) -> Any:
    if spec.type in ("choice",):
        return spec.options[0].value if spec.options else "x"
    if spec.type in ("checklist", "documents"):
        return [spec.options[0].value] if spec.options else []
    if spec.type == "date":
        return "2023-02-23"
    if spec.type in ("number", "money"):
        return "1"
    if spec.type == "yes_no":
        return True
    return "ตัวอย่าง"


def sample_context(service: Any, output: Any, kind: str, transition: Any | None, *,
                   required_only: bool = False, answers: Mapping[str, Any] | None = None,
                   values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The context of *output* as issued by *transition*, with sample answers
    (all fields, or only required ones) and that transition's inputs (all of
    them, or only the required ones).  ``answers``/``values`` (the answers'
    evaluation) may be given when already computed."""
    from .. import forms

    if answers is None:
        answers = sample_answers(service, required_only=required_only)
    inputs = {}
    for spec in (transition.inputs if transition is not None else ()):
        if spec.required or not required_only:
            inputs[spec.id] = sample_input(spec)
    record = {"id": "app-0000000000000000", "reference": "ABCD-EFGH-JKLM", "intake_number": "1/2566",
              "intake_at": "2023-01-23T08:30:00+07:00", "submitted_at": "2023-01-22T21:33:00+07:00",
              "answers": answers}
    if values is None:
        values = forms.Evaluation(service, answers).values
    return document_context(
        record=record, service=service, output=output, kind=kind, inputs=inputs, calculations=values,
        issued_on=dt.date(2023, 1, 23), signer={"name": "ตัวอย่าง ผู้ลงนาม",
                                                "position": getattr(output, "signed_as", None) or DEFAULT_POSITION},
        document_id="doc-sample", verify_url="https://example.go.th/verify?licence=1", verify_qr=None,
        number="1/2566" if kind == "licence" else None, licence_inputs={}, draft=False)
