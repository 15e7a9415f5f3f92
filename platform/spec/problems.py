"""Problems found in a definition, told the way a clerk can act on them.

Every problem names the file, line and column, the path inside the document,
what is wrong and what to do, in Thai and in English (pyxform-style).
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Path = tuple[str | int, ...]


def format_path(path: Sequence[str | int]) -> str:
    """``('form', 'sections', 0, 'id')`` → ``form.sections[0].id``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(document)"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    path: str
    th: str
    en: str
    fix_th: str = ""
    fix_en: str = ""

    def format(self) -> str:
        head = f"{self.file}:{self.line}:{self.column}: {self.path}"
        lines = [head, f"  {self.th}", f"  {self.en}"]
        if self.fix_th or self.fix_en:
            lines.append(f"  วิธีแก้: {self.fix_th or self.fix_en}")
            lines.append(f"  Fix: {self.fix_en or self.fix_th}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def did_you_mean(name: str, candidates: Iterable[str]) -> tuple[str, str]:
    """A (Thai, English) suggestion naming the closest candidate, or empty strings."""
    candidates = [c for c in candidates if c]
    close = difflib.get_close_matches(str(name), candidates, n=1, cutoff=0.6)
    if close:
        return f"คุณหมายถึง `{close[0]}` ใช่หรือไม่", f"did you mean `{close[0]}`?"
    if candidates and len(candidates) <= 12:
        listed = ", ".join(f"`{c}`" for c in sorted(candidates))
        return f"ใช้ได้: {listed}", f"use one of: {listed}"
    return "", ""


class DefinitionError(Exception):
    """Raised when definitions cannot be loaded; carries every problem at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.format() for p in problems))
