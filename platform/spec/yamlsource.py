"""Reading YAML while remembering where every key and value came from.

PyYAML's composer gives nodes with start marks; we build plain Python values
from them and keep a map from each document path to its line and column, so
that any later error (pydantic or cross-reference) can point at the line.
Duplicate keys, which YAML loaders silently merge, are reported.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from .problems import Path, Problem, format_path


@dataclass
class SourceMap:
    """Positions (1-based line, column) of keys and values by document path."""

    file: str
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path, prefer_key: bool = False) -> tuple[int, int]:
        """The closest known position of ``path``, walking up to its parents."""
        path = tuple(path)
        while True:
            first, second = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            if path in first:
                return first[path]
            if path in second:
                return second[path]
            if not path:
                return (1, 1)
            path = path[:-1]

    def problem(self, path: Path, th: str, en: str, fix_th: str = "", fix_en: str = "",
                prefer_key: bool = False) -> Problem:
        line, column = self.position(path, prefer_key)
        return Problem(self.file, line, column, format_path(path), th, en, fix_th, fix_en)


@dataclass
class ParsedYaml:
    data: Any
    source: SourceMap
    text: str
    problems: list[Problem]


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, loader: yaml.BaseLoader, source: SourceMap):
        self.loader = loader
        self.source = source
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.source.values[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if isinstance(key, (list, dict)):
                    line, col = _mark(key_node)
                    self.problems.append(Problem(
                        self.source.file, line, col, format_path(path),
                        "คีย์ต้องเป็นข้อความ", "a key must be plain text"))
                    continue
                key = str(key) if not isinstance(key, str) else key
                child = path + (key,)
                if key in result:
                    line, col = _mark(key_node)
                    first = self.source.keys.get(child, (0, 0))[0]
                    self.problems.append(Problem(
                        self.source.file, line, col, format_path(child),
                        f"คีย์ `{key}` ซ้ำ (ใช้ครั้งแรกที่บรรทัด {first})",
                        f"key `{key}` appears twice (first at line {first})",
                        "ลบคีย์ที่ซ้ำออกให้เหลือเพียงหนึ่ง", "keep only one of them"))
                    continue
                self.source.keys[child] = _mark(key_node)
                result[key] = self.build(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)


def parse_yaml(text: str, file: str) -> ParsedYaml:
    """Parse one YAML document; syntax errors become problems at their line."""
    source = SourceMap(file)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)  # the C parser keeps marks too
    try:
        node = loader.get_single_node()
        if node is None:
            return ParsedYaml(None, source, text, [Problem(
                file, 1, 1, "(document)", "ไฟล์ว่างเปล่า", "the file is empty",
                "เขียนนิยามบริการหรือหน่วยงานลงในไฟล์", "write a service or agency definition")])
        builder = _Builder(loader, source)
        data = builder.build(node, ())
        return ParsedYaml(data, source, text, builder.problems)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or str(exc)
        return ParsedYaml(None, source, text, [Problem(
            file, line, col, "(syntax)",
            f"รูปแบบ YAML ไม่ถูกต้อง: {reason}",
            f"YAML syntax error: {reason}",
            "ตรวจการย่อหน้า (ใช้ช่องว่าง ไม่ใช้แท็บ) เครื่องหมาย : และเครื่องหมายคำพูด",
            "check the indentation (spaces, not tabs), the colons and the quotes")])
    except yaml.YAMLError as exc:
        return ParsedYaml(None, source, text, [Problem(
            file, 1, 1, "(syntax)", f"รูปแบบ YAML ไม่ถูกต้อง: {exc}", f"YAML syntax error: {exc}")])
    finally:
        loader.dispose()
