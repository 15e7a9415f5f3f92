"""Answers checked twice (A-F6, PR-3): against the service's submission JSON
Schema (types, choices, unknown fields: 422 with a problem per path, nothing
stored), then by the engine's own validation, which drops hidden answers.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators
from starlette.requests import Request

from ... import forms
from ...spec.models import FieldType
from ..context import get_context
from ..deps import applications
from .errors import ApiError, problem


_TYPE_NAMES = {
    "string": ("ข้อความ", "a string"), "number": ("ตัวเลข", "a number"),
    "integer": ("จำนวนเต็ม", "an integer"), "boolean": ("true หรือ false", "true or false"),
    "array": ("รายการ (array)", "an array"), "object": ("ออบเจกต์ (object)", "an object"),
    "null": ("null", "null"),
}


def _validator(request: Request, svc: Any) -> Draft202012Validator:
    """The submission schema without ``required`` (a draft may be partial), cached."""
    cache = get_context(request).extra.setdefault("api_validators", {})
    found = cache.get(svc.key)
    if found is None:
        schema = dict(forms.submission_schema(svc))
        schema.pop("$id", None)
        schema.pop("required", None)
        found = cache[svc.key] = _Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return found


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Iterable[Any]:
    """``pattern`` as JSON Schema means it (ECMA-262): a final ``$`` is the very
    end, whereas Python's ``$`` also matches before a final newline."""
    if not validator.is_type(instance, "string"):
        return
    python = pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern
    if not re.search(python, instance, re.ASCII):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})


def _render_path(parts: Iterable[Any]) -> str:
    out = "answers"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _label(svc: Any, parts: list[Any]) -> tuple[str, str]:
    names = [p for p in parts if isinstance(p, str)]
    for name in reversed(names):
        f = svc.fields.get(name)
        if f is not None:
            return f.label.th, f.label.get("en")
    name = names[-1] if names else "answers"
    return name, name


def schema_problems(svc: Any, validator: Draft202012Validator, answers: Any) -> list[dict[str, str]]:
    """Every JSON Schema violation of ``answers`` as API problems, by path."""
    out: list[dict[str, str]] = []
    for error in validator.iter_errors(answers):
        parts = list(error.absolute_path)
        path = _render_path(parts)
        th_label, en_label = _label(svc, parts)
        kind, value = error.validator, error.validator_value
        if kind == "additionalProperties":
            known = set((error.schema or {}).get("properties", {}))
            for key in sorted(k for k in error.instance if k not in known):
                out.append(problem(_render_path([*parts, key]), "unknown_field",
                                   f"ไม่มีช่อง “{key}” ในแบบฟอร์มนี้", f"“{key}” is not a field of this form"))
            continue
        if kind == "required":
            for key in value:
                if isinstance(error.instance, dict) and key not in error.instance:
                    out.append(problem(_render_path([*parts, key]), "required",
                                       f"“{th_label}” ต้องมี “{key}”", f"“{en_label}” needs “{key}”"))
            continue
        if kind == "type":
            wanted = [value] if isinstance(value, str) else list(value)
            th = " หรือ ".join(_TYPE_NAMES.get(w, (w, w))[0] for w in wanted)
            en = " or ".join(_TYPE_NAMES.get(w, (w, w))[1] for w in wanted)
            field = svc.fields.get(parts[-1]) if parts and isinstance(parts[-1], str) else None
            if field is not None and field.type is FieldType.money:
                th += ' ที่เป็นจำนวนเงิน เช่น "1250.00"'
                en += ' holding an amount, e.g. "1250.00"'
            out.append(problem(path, "type", f"“{th_label}” ต้องเป็น{th}", f"“{en_label}” must be {en}"))
        elif kind == "enum":
            shown = ", ".join(json.dumps(v, ensure_ascii=False) for v in value)
            out.append(problem(path, "choice", f"“{th_label}” ต้องเป็นค่าใดค่าหนึ่งต่อไปนี้: {shown}",
                               f"“{en_label}” must be one of: {shown}"))
        elif kind == "pattern":
            field = svc.fields.get(parts[-1]) if parts and isinstance(parts[-1], str) else None
            if value in (forms.LINE_PATTERN, forms.MULTILINE_PATTERN):
                out.append(problem(path, "control_characters", *forms.control_texts(
                    th_label, en_label, value == forms.MULTILINE_PATTERN)))
            elif value == forms.DATE_PATTERN:
                year = error.instance[:4]
                out.append(problem(path, "date_range", *forms.date_range_texts(
                    th_label, en_label, int(year) if year.isdigit() else None)))
            elif field is not None and field.type is FieldType.money:
                out.append(problem(path, "money", f"“{th_label}” ต้องเป็นจำนวนเงินทศนิยมไม่เกิน 2 ตำแหน่ง เช่น \"1250.00\"",
                                   f"“{en_label}” must be an amount with at most 2 decimals, e.g. \"1250.00\""))
            else:
                out.append(problem(path, "pattern", f"“{th_label}” มีรูปแบบไม่ถูกต้อง",
                                   f"“{en_label}” is not in the right format ({value})"))
        elif kind == "format":
            if value == "date":
                out.append(problem(path, "date", f"“{th_label}” ต้องเป็นวันที่รูปแบบ ค.ศ. YYYY-MM-DD",
                                   f"“{en_label}” must be a date as YYYY-MM-DD"))
            elif value == "email":
                out.append(problem(path, "email", f"“{th_label}” ไม่ใช่อีเมลที่ถูกต้อง",
                                   f"“{en_label}” must be an e-mail address"))
            else:
                out.append(problem(path, "format", f"“{th_label}” มีรูปแบบไม่ถูกต้อง",
                                   f"“{en_label}” must be in the format {value}"))
        elif kind in ("maxLength", "minLength"):
            if kind == "maxLength":
                out.append(problem(path, "too_long", f"“{th_label}” ยาวเกิน {value:,} ตัวอักษร",
                                   f"“{en_label}” must be {value:,} characters or fewer"))
            else:
                out.append(problem(path, "required" if value == 1 else "too_short",
                                   f"“{th_label}” ต้องมีอย่างน้อย {value:,} ตัวอักษร",
                                   f"“{en_label}” needs at least {value:,} character(s)"))
        elif kind in ("minimum", "exclusiveMinimum"):
            out.append(problem(path, "min", f"“{th_label}” ต้องไม่น้อยกว่า {value:g}",
                               f"“{en_label}” must be at least {value:g}"))
        elif kind in ("maximum", "exclusiveMaximum"):
            out.append(problem(path, "max", f"“{th_label}” ต้องไม่เกิน {value:g}",
                               f"“{en_label}” must be at most {value:g}"))
        elif kind in ("minItems", "maxItems"):
            code = "min_items" if kind == "minItems" else "max_items"
            word = ("อย่างน้อย", "at least") if kind == "minItems" else ("ไม่เกิน", "at most")
            out.append(problem(path, code, f"“{th_label}” ต้องมี{word[0]} {value} รายการ",
                               f"“{en_label}” needs {word[1]} {value} item(s)"))
        elif kind == "uniqueItems":
            out.append(problem(path, "duplicate", f"“{th_label}” มีรายการซ้ำ", f"“{en_label}” has duplicates"))
        else:
            out.append(problem(path, kind, f"“{th_label}” ไม่ถูกต้อง", f"“{en_label}”: {error.message}"))
    first = {}  # one problem per path: the first found (e.g. "not a date" before "year out of range")
    for item in out:
        first.setdefault(item["path"], item)
    return sorted(first.values(), key=lambda p: p["path"])


def _normalise_money(svc: Any, answers: dict[str, Any]) -> dict[str, Any]:
    """Money answers as stored by the e-Form: text with two decimals."""
    def fix(f: Any, value: Any) -> Any:
        if f.type is FieldType.money and isinstance(value, str):
            try:
                return str(Decimal(value).quantize(Decimal("0.01")))
            except InvalidOperation:
                return value
        if f.type is FieldType.group and isinstance(value, list):
            inner = {c.id: c for c in f.fields}
            return [{k: fix(inner[k], v) if k in inner else v for k, v in item.items()}
                    if isinstance(item, dict) else item for item in value]
        return value

    return {k: fix(svc.fields[k], v) if k in svc.fields else v for k, v in answers.items()}


def checked_answers(request: Request, svc: Any, answers: Any) -> dict[str, Any]:
    """Answers that pass the submission schema (nulls mean "no answer"), or 422."""
    if isinstance(answers, dict):
        answers = {k: v for k, v in answers.items() if v is not None}
    answers = forms.normalise_newlines(answers)  # CRLF → LF, as the e-Form reads a textarea
    errors = schema_problems(svc, _validator(request, svc), answers)
    if errors:
        raise ApiError(422, "invalid_answers", "ข้อมูลในคำขอไม่ถูกต้อง ไม่ได้บันทึก กรุณาแก้ไขรายการที่แจ้ง",
                       "the answers are not valid and were not saved; correct the listed items", errors)
    return _normalise_money(svc, answers)


def _dropped(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = "answers") -> list[str]:
    """Paths of answers removed because they are not applicable (hidden)."""
    out = []
    for key, value in before.items():
        if key not in after:
            out.append(f"{prefix}.{key}")
        elif isinstance(value, list) and isinstance(after[key], list):
            for index, (old, new) in enumerate(zip(value, after[key])):
                if isinstance(old, dict) and isinstance(new, dict):
                    out += _dropped(old, new, f"{prefix}.{key}[{index}]")
    return out


def _editable(svc: Any, record: Mapping[str, Any]) -> bool:
    """The engine's rule (``Applications._editable``): a draft, or a state in
    which the applicant may change answers and documents."""
    if record.get("state") == "draft":
        return True
    state = svc.states.get(record.get("state"))
    return bool(state and state.editable_by_applicant and not record.get("closed"))


def replace_answers(request: Request, record: dict, actor: Any, answers: dict[str, Any]) -> tuple[dict, list[str]]:
    """Replace the answers as a whole (a draft, or an application sent back for
    changes): the engine's validation decides what is kept (hidden answers
    dropped); the store's version check refuses a stale write.  After submission
    the change is recorded in the history, as the e-Form does.  Returns the saved
    record and the dropped paths."""
    apps = applications(request)
    svc = apps.ctx.service_of(record)
    if not _editable(svc, record):
        raise ApiError(409, "not_editable", "คำขอนี้ยื่นแล้ว แก้ไขคำตอบไม่ได้",
                       "this application has been submitted; its answers cannot be replaced")
    cleaned, _errors = forms.validate(svc, answers, apps.env(record))
    before = record.get("answers", {})
    changed = sorted(k for k in set(cleaned) | set(before) if cleaned.get(k) != before.get(k))
    record["answers"] = cleaned
    record["updated_at"] = apps.ctx.now_iso()
    if record["state"] != "draft" and changed:
        from ... import events
        from ...applications import submission_digest

        events.append(record["events"], "answers_changed", actor.user_id, record["updated_at"],
                      {"fields": changed, "content_sha256": submission_digest(record)})
    saved = apps.ctx.store.update_application(record, record["version"])
    return saved, _dropped(answers, cleaned)


