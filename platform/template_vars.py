"""Templates checked before they are needed, and the names each kind of template gets.

Issue #10 item 2 (A-SP4, A-L2): ``eservice check`` renders every notification
of a definition — subject and body, Thai and English — with a sample context
built by :func:`eservice.notifications.build_context` itself, under
``StrictUndefined``: a name the context does not have (``{{ application.referense }}``,
``{{ answers.shop_nme }}``, ``{{ inputs.reasn }}``) is a problem at the
notification's line, not a blank in a citizen's e-mail.  Syntax errors and
unknown filters are problems too.  (Licence and letter templates are rendered
the same way by :mod:`eservice.outputs.check`.)

The sample has every field answered (whatever the form's conditions), every
input of every transition that sends the notification, and every optional
part (deadline, due date) filled, so a template is never refused for naming
something that exists but happens to be empty.

:func:`template_variables` lists, per kind of template, the names the
context-building code gives — the table in docs/service-definition.md
("Names in templates") is generated from it (``python -m eservice.template_vars``)
and a test compares the two.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = ["notification_problems", "template_variables", "variables_markdown"]

_STRICT = ImmutableSandboxedEnvironment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)


@lru_cache(maxsize=2048)
def _strict(source: str) -> Any:
    """The template compiled once per process (compiling is most of the check's cost)."""
    return _STRICT.from_string(source)


def _all_answers(definition: Any) -> dict[str, Any]:
    from .outputs.context import _sample_value

    return {f.id: _sample_value(f) for s in definition.form.sections for p in s.pages for f in p.fields}


def _senders(definition: Any, notification_id: str) -> list[Any]:
    return [tr for tr in definition.workflow.transitions
            if any(e.kind == "notify" and e.target == notification_id for e in tr.effects)]


def sample_notification_context(service: Any, notification_id: str) -> dict[str, Any]:
    """What the notification *notification_id* of *service* sees, with sample values."""
    from .notifications import build_context
    from .outputs.context import sample_input

    definition = service.definition
    senders = _senders(definition, notification_id)
    inputs: dict[str, Any] = {}
    for tr in senders:
        for spec in tr.inputs:
            inputs.setdefault(spec.id, sample_input(spec))
    state = senders[0].to if senders else definition.workflow.initial
    application = {
        "id": "app-0000000000000000", "reference": "ABCD-EFGH-JKLM", "intake_number": "1/2566",
        "intake_at": "2023-01-23T08:30:00+07:00", "submitted_at": "2023-01-22T21:33:00+07:00",
        "state": state, "outcome": "", "deadline": "2023-02-23T16:30:00+07:00", "sla_due": "2023-02-13",
        "answers": _all_answers(definition),
    }
    user = {"email": "sample@example.com", "profile": {"first_name": "สมชาย", "last_name": "ใจดี"}}
    extra = {"inputs": inputs, "transition": senders[0].id if senders else ""}
    return build_context(application, service, extra, user=user, base_url="https://example.go.th")


def notification_problems(service: Any) -> Iterator[tuple[tuple, str, str]]:
    """``(path, Thai, English)`` for every notification text that does not render."""
    for name, notification in service.definition.notifications.items():
        context = sample_notification_context(service, name)
        for part in ("subject", "body"):
            text = getattr(notification, part)
            for lang in ("th", "en"):
                source = getattr(text, lang)
                if not source:
                    continue
                try:
                    _strict(source).render(context)
                except TemplateError as exc:
                    line = getattr(exc, "lineno", None)
                    at_th = f" (บรรทัดที่ {line} ของข้อความ)" if line and line > 1 else ""
                    at_en = f" (line {line} of the text)" if line and line > 1 else ""
                    hint_th, hint_en = _did_you_mean(str(exc), context)
                    yield ((("notifications", name, part, lang)),
                           f"แม่แบบข้อความแจ้งเตือนใช้ไม่ได้{at_th}: {exc}{hint_th}",
                           f"the notification template cannot be rendered{at_en}: {exc}{hint_en}")
                except Exception as exc:  # a filter's TypeError, a sandbox refusal…
                    yield ((("notifications", name, part, lang)),
                           f"แม่แบบข้อความแจ้งเตือนใช้ไม่ได้: {exc}",
                           f"the notification template cannot be rendered: {exc}")


def _keys(value: Any, depth: int = 0) -> Iterator[str]:
    if isinstance(value, Mapping) and depth < 4:
        for key, inner in value.items():
            yield str(key)
            yield from _keys(inner, depth + 1)


def _did_you_mean(message: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """" — did you mean `reference`?" for an unknown name, from the names the context has."""
    import difflib
    import re

    found = re.search(r"has no attribute '([^']+)'|'([^']+)' is undefined", message)
    if not found:
        return "", ""
    name = found.group(1) or found.group(2)
    close = difflib.get_close_matches(name, sorted(set(_keys(context))), n=1, cutoff=0.7)
    if not close:
        return "", ""
    return f" — คุณหมายถึง `{close[0]}` ใช่หรือไม่", f" — did you mean `{close[0]}`?"


# --------------------------------------------------------------------------- the names, for the guide
_PER_DEFINITION = {"answers": "<field id>", "calculations": "<calculation id>", "input": "<input id>",
                   "inputs": "<input id>"}


def _flatten(value: Any, prefix: str) -> Iterator[str]:
    head = prefix.split(".", 1)[0]
    if prefix in _PER_DEFINITION:
        yield f"{prefix}.{_PER_DEFINITION[prefix]}"
        return
    if isinstance(value, Mapping) and value and not (head == "inputs_text"):
        if set(value) == {"th", "en"}:
            yield f"{prefix}.th"
            yield f"{prefix}.en"
            return
        for key in sorted(value):
            yield from _flatten(value[key], f"{prefix}.{key}" if prefix else key)
        return
    if isinstance(value, list) and prefix == "inputs_text":
        yield "inputs_text[].id / label_th / label_en / value_th / value_en"
        return
    yield prefix


def _stand_in_service() -> Any:
    """A one-of-everything service, enough for the context builders."""
    from .spec.models import Agency, Letter, Licence, Validity

    agency = Agency.model_validate({
        "schema_version": 1, "kind": "agency", "code": "sample", "name": {"th": "ตัวอย่าง", "en": "Sample"},
        "parent": {"th": "จังหวัด", "en": "Province"}, "address": {"th": "ที่อยู่", "en": "Address"},
        "phone": "02 000 0000", "email": "a@example.go.th", "website": "https://example.go.th"})
    definition = SimpleNamespace(
        title={"th": "บริการ", "en": "Service"}, calculations=(), notifications={},
        form=SimpleNamespace(sections=()),
        workflow=SimpleNamespace(transitions=(), initial="submitted"))
    licence = Licence(id="permit", title={"th": "ใบอนุญาต", "en": "Permit"}, template="x.html",
                      validity=Validity(years=1))
    letter = Letter(id="letter", title={"th": "หนังสือ", "en": "Letter"}, template="y.html")
    service = SimpleNamespace(id="sample", version=1, agency=agency, definition=definition,
                              states={"submitted": SimpleNamespace(title={"th": "ยื่นแล้ว", "en": "Submitted"})},
                              transitions={})
    return service, licence, letter


def template_variables() -> dict[str, list[str]]:
    """Kind of template -> the names its context has (built by the real code)."""
    from .outputs.context import document_context
    from .notifications import build_context

    service, licence, letter = _stand_in_service()
    notification = build_context({"id": "a", "state": "submitted", "answers": {"x": 1}}, service,
                                 {"inputs": {"x": 1}, "transition": "t"}, user={"email": "e"})
    out = {"notification": sorted(_flatten(notification, ""))}
    for kind, output in (("licence", licence), ("letter", letter)):
        context = document_context(
            record={"id": "a", "answers": {"x": 1}}, service=service, output=output, kind=kind,
            inputs={"x": 1}, calculations={}, issued_on=dt.date(2023, 1, 23),
            signer={"name": "n", "position": {"th": "ต", "en": "p"}}, document_id="d",
            verify_url="https://example.go.th/verify?x=1", verify_qr="data:", number="1",
            licence_inputs={"x": 1})
        context["calculations"] = {"x": 1}
        if kind == "licence":
            context["licence"]["inputs"] = {"x": 1}
        out[kind] = sorted(n.replace("licence.inputs.x", "licence.inputs.<input id>") for n in _flatten(context, ""))
    return out


MARK_START = "<!-- template-variables:start (generated by `python -m eservice.template_vars`) -->"
MARK_END = "<!-- template-variables:end -->"


def variables_markdown() -> str:
    """The table for docs/service-definition.md."""
    titles = {"notification": "Notifications (`notifications:` subject and body) / ข้อความแจ้งเตือน",
              "licence": "Licences (`outputs.licences[].template`) / ใบอนุญาต",
              "letter": "Letters and notices (`outputs.letters[].template`) / หนังสือและประกาศ"}
    lines = [MARK_START, ""]
    for kind, names in template_variables().items():
        lines.append(f"**{titles[kind]}**")
        lines.append("")
        lines.append(", ".join(f"`{n}`" for n in names))
        lines.append("")
    lines.append(MARK_END)
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - prints the table for the guide
    print(variables_markdown())
