"""Turning pydantic's validation errors into problems a clerk can act on."""
from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from .problems import Path, Problem, did_you_mean
from .yamlsource import SourceMap


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``tuple[Page, ...] | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    if isinstance(annotation, types.UnionType):
        for arg in annotation.__args__:
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def model_at(root: type[BaseModel], path: Path) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``path``."""
    model: type[BaseModel] | None = root
    for part in path:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        fields = {info.alias or name: info for name, info in model.model_fields.items()}
        info = fields.get(part)
        if info is None:
            # dict[str, Model]: the part is a free key, stay on the value model
            return None
        model = _model_in(info.annotation)
        if model is None:
            args = typing.get_args(info.annotation)
            if args and typing.get_origin(info.annotation) is dict:
                model = _model_in(args[1])
    return model


def _clean_loc(loc: tuple) -> Path:
    """Drop pydantic's internal steps (union branch names, function-before markers)."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part.startswith("function-") or part in (
                "str", "dict[str,Text]")):
            continue
        out.append(part)
    return tuple(out)


def validate(model: type[BaseModel], data: Any, source: SourceMap) -> tuple[BaseModel | None, list[Problem]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems: list[Problem] = []
        seen: set[tuple] = set()
        errors = exc.errors(include_url=False)
        paths = [_clean_loc(e["loc"]) for e in errors]
        for error, path in zip(errors, paths):
            if error["type"] == "too_short" and any(
                    len(other) > len(path) and other[: len(path)] == path for other in paths):
                continue  # pydantic's echo of a deeper error: the list is not really empty
            problem = _translate(model, error, path, source)
            key = (problem.line, problem.column, problem.en)
            if key not in seen:
                seen.add(key)
                problems.append(problem)
        return None, problems


def _translate(root: type[BaseModel], error: dict, path: Path, source: SourceMap) -> Problem:
    kind = error["type"]
    msg = error.get("msg", "")
    ctx = error.get("ctx") or {}
    name = path[-1] if path else ""
    if kind == "extra_forbidden":
        parent = model_at(root, path[:-1])
        fix_th, fix_en = did_you_mean(str(name), _keys_of(parent) if parent else [])
        return source.problem(path, f"ไม่รู้จักคีย์ `{name}`", f"unknown key `{name}`",
                              fix_th or "ลบคีย์นี้ออก", fix_en or "remove this key", prefer_key=True)
    if kind == "missing":
        return source.problem(path[:-1], f"ขาดคีย์ที่ต้องมี `{name}`", f"required key `{name}` is missing",
                              f"เพิ่ม `{name}:`", f"add `{name}:`", prefer_key=True)
    if kind in ("literal_error", "enum"):
        expected = ctx.get("expected", "")
        allowed = [part.strip().strip("'\"") for part in expected.replace(" or ", ",").split(",")
                   if part.strip()]
        fix_th, fix_en = did_you_mean(str(error.get("input")), allowed)
        return source.problem(path, f"ค่า `{error.get('input')}` ใช้ไม่ได้ ต้องเป็น {expected}",
                              f"`{error.get('input')}` is not allowed; expected {expected}", fix_th, fix_en)
    if kind == "string_pattern_mismatch":
        return source.problem(
            path, f"`{error.get('input')}` มีรูปแบบไม่ถูกต้อง",
            f"`{error.get('input')}` has the wrong form",
            "ใช้อักษรอังกฤษตัวเล็ก ตัวเลข และ _ (หรือ - สำหรับรหัสบริการ/หน่วยงาน) ขึ้นต้นด้วยตัวอักษร",
            "use lower-case letters, digits and _ (or - in service and agency ids), starting with a letter")
    if kind in ("too_short", "too_long") and "min_length" in ctx:
        return source.problem(path, f"ต้องมีอย่างน้อย {ctx.get('min_length')} รายการ",
                              f"needs at least {ctx.get('min_length')} item(s)")
    if kind == "value_error":
        text = msg.removeprefix("Value error, ")
        return source.problem(path, f"ค่าไม่ถูกต้อง: {text}", text)
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return source.problem(path, f"ชนิดของค่าไม่ถูกต้อง: {msg}", f"wrong type of value: {msg}")
    return source.problem(path, f"ค่าไม่ถูกต้อง: {msg}", msg)
