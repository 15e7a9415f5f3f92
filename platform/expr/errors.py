"""The error of the expression language, and the engine's messages in Thai and English.

:class:`ExpressionError` is what every part of :mod:`eservice.expr` raises;
:func:`_syntax_error` and :func:`_runtime_error` turn the CEL engine's
exceptions into messages an agency clerk can act on.
"""
from __future__ import annotations

import re

from ..errors import BilingualError


class ExpressionError(BilingualError):
    """An expression that cannot be compiled or evaluated.

    ``th`` and ``en`` say what is wrong in words an agency clerk can act on;
    ``source`` is the expression; ``line`` and ``column`` (1-based) point into it
    when known.
    """

    code = "expression"

    def __init__(self, th: str, en: str, source: str | None = None,
                 column: int | None = None, line: int | None = None):
        super().__init__(self.code, th, en)
        self.source = source
        self.column = column
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.column is not None:
            where = (f" (line {self.line}, column {self.column})" if self.line and self.line > 1
                     else f" (column {self.column})")
        return f"{self.th} / {self.en}{where}"


def _pos_to_line_col(source: str, pos: int) -> tuple[int, int]:
    line = source.count("\n", 0, pos) + 1
    start = source.rfind("\n", 0, pos) + 1
    return line, pos - start + 1


def _error_at(source: str, pos: int | None, th: str, en: str) -> ExpressionError:
    if pos is None:
        return ExpressionError(th, en, source)
    line, col = _pos_to_line_col(source, pos)
    return ExpressionError(th, en, source, col, line)


# -------------------------------------------------------------- engine messages
_ENGINE_ERR = re.compile(r"<input>:(\d+):(\d+): (.*)")
_TOKEN_QUOTE = re.compile(r"'([^']*)'")


def _syntax_error(source: str, exc: Exception) -> ExpressionError:
    text = str(exc)
    m = _ENGINE_ERR.search(text)
    if not m:
        return ExpressionError("นิพจน์เขียนไม่ถูกต้องตามไวยากรณ์", f"syntax error: {text[:300]}", source)
    line, col, detail = int(m.group(1)), int(m.group(2)), m.group(3).strip()
    lines = source.split("\n")
    before = lines[line - 1][:col - 1] if 0 < line <= len(lines) else ""
    word = re.search(r"\b(and|or|not)\s*$", before)
    if word:
        op = {"and": "&&", "or": "||", "not": "!"}[word.group(1)]
        return ExpressionError(f"ใช้ `{op}` แทน `{word.group(1)}`", f"use `{op}` instead of `{word.group(1)}`",
                               source, col - len(word.group(0)), line)
    th, en = _explain(detail)
    return ExpressionError(th, en, source, col, line)


def _explain(detail: str) -> tuple[str, str]:
    if "token recognition error at: " in detail:
        token = detail.split("token recognition error at: ", 1)[1]
        token = token[1:-1] if len(token) >= 2 and token[0] == token[-1] == "'" else token
    else:
        quoted = (re.search(r"input '(.*?)' expecting", detail)
                  or re.search(r"input '(.*)'", detail) or _TOKEN_QUOTE.search(detail))
        token = quoted.group(1) if quoted else ""
    lowered = token.strip().lower()
    if "reserved identifier" in detail:
        word = detail.rsplit(":", 1)[-1].strip()
        return (f"`{word}` เป็นคำสงวน ใช้เป็นชื่อไม่ได้",
                f"`{word}` is a reserved word and cannot be used as a name")
    if "token recognition error" in detail:
        if token.startswith("="):
            return ("ใช้ `==` เพื่อเปรียบเทียบ (เครื่องหมาย `=` ตัวเดียวใช้ไม่ได้)",
                    "use `==` to compare (a single `=` is not allowed)")
        if token[:1] in ("'", '"'):
            return "ข้อความไม่มีเครื่องหมายคำพูดปิด", "a string has no closing quote"
        if token and not token[0].isascii():
            return (f"มีอักขระ `{token[0]}` ที่ใช้ไม่ได้: ชื่อในนิพจน์ใช้ได้เฉพาะ a–z, 0–9 และ _ "
                    "(ข้อความภาษาไทยต้องอยู่ในเครื่องหมายคำพูด)",
                    f"character `{token[0]}` is not allowed: names use only a–z, 0–9 and _ "
                    "(put Thai text inside quotes)")
        return f"มีอักขระที่ใช้ไม่ได้ `{token.strip()}`", f"character `{token.strip()}` is not allowed here"
    if lowered in ("and", "or", "not"):
        op = {"and": "&&", "or": "||", "not": "!"}[lowered]
        return f"ใช้ `{op}` แทน `{token}`", f"use `{op}` instead of `{token}`"
    if "missing" in detail:
        m = re.search(r"missing '([^']*)'", detail)
        if m:
            return f"ขาด `{m.group(1)}`", f"missing `{m.group(1)}`"
    if token == "<EOF>" or "Incomplete" in detail:
        return ("นิพจน์จบก่อนครบ (ขาดตัวเลข ชื่อ หรือวงเล็บปิดหรือไม่)",
                "the expression ends too early (a missing operand or closing bracket?)")
    if token:
        return f"ไม่ควรมี `{token}` ตรงนี้", f"unexpected `{token}`"
    return "นิพจน์เขียนไม่ถูกต้องตามไวยากรณ์", f"syntax error: {detail[:200]}"


def _runtime_error(source: str, exc: Exception) -> ExpressionError:
    text = str(exc)
    if isinstance(exc, ZeroDivisionError) or "division by zero" in text:
        th, en = "หารด้วยศูนย์", "division by zero"
    elif isinstance(exc, OverflowError) or "overflow" in text.lower():
        th, en = "ผลคำนวณใหญ่เกินไป", "arithmetic overflow"
    elif "No such overload" in text or "Unsupported operation" in text or "Unsupported" in text:
        th = ("ชนิดข้อมูลไม่เข้ากัน เช่น ค่าว่าง (ยังไม่ได้ตอบ) หรือจำนวนเต็มกับทศนิยม "
              "(เขียน 10.0 หรือ double(x))")
        en = ("the values have types that do not go together, e.g. null (unanswered) or an integer "
              "with a decimal (write 10.0 or double(x))")
    elif "Undefined variable or function" in text:
        m = re.search(r"'([^']+)'", text)
        name = m.group(1) if m else "?"
        th, en = f"ไม่รู้จักชื่อ `{name}`", f"unknown name `{name}`"
    elif isinstance(exc, KeyError):
        th, en = f"ไม่มีข้อมูล {text}", f"no such key {text}"
    elif isinstance(exc, IndexError):
        th, en = "ลำดับรายการเกินขอบเขต", f"index out of range ({text})"
    else:
        th, en = "คำนวณนิพจน์ไม่ได้", f"evaluation failed: {type(exc).__name__}: {text[:300]}"
    return ExpressionError(f"คำนวณไม่ได้: {th}", f"cannot evaluate: {en}", source)
