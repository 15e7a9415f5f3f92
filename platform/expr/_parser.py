"""Tokenizer, parser and analysis of CEL expressions (for analysis only).

The engine stays the judge of syntax; this small recursive-descent parser finds
the free names, dotted paths and functions of an expression, how deeply it
nests, and builds the syntax tree the cost model (:mod:`eservice.expr._cost`)
walks.
"""
from __future__ import annotations

import re

from .functions import _COMPREHENSIONS, _NAMESPACES
from .limits import MAX_NESTING

#: Words CEL reserves: they can never be names of fields.
RESERVED_WORDS = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
    "function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
    "void", "while",
})


# ---------------------------------------------------------------- tokenizer
class _Tok:
    __slots__ = ("kind", "text", "pos")

    def __init__(self, kind: str, text: str, pos: int):
        self.kind = kind  # id | num | str | op | eof
        self.text = text
        self.pos = pos

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{self.kind}:{self.text!r}@{self.pos}"


_NUM_RE = re.compile(
    r"0[xX][0-9a-fA-F]+[uU]?"
    r"|(?:[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)"
    r"|[0-9]+[uU]?"
)
_ID_RE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_OPS2 = frozenset({"==", "!=", "<=", ">=", "&&", "||"})
_OPS1 = frozenset("-+*/%<>!?:.,()[]{}")
_SPACE = frozenset(" \t\n\r\f\v")


class _SyntaxProblem(Exception):
    def __init__(self, pos: int, th: str, en: str):
        super().__init__(en)
        self.pos = pos
        self.th = th
        self.en = en


def _tokenize(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c in _SPACE:
            i += 1
            continue
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        # string literal, with optional r/b prefixes
        j = i
        while j < n and j - i < 2 and src[j] in "rRbB":
            j += 1
        if j < n and src[j] in "'\"" and (j == i or _ID_RE.fullmatch(src[i:j])):
            raw = "r" in src[i:j].lower()
            q = src[j]
            quote = q * 3 if src.startswith(q * 3, j) else q
            k = j + len(quote)
            while True:
                if k >= n:
                    raise _SyntaxProblem(i, "ข้อความไม่มีเครื่องหมายคำพูดปิด", "a string has no closing quote")
                if not raw and src[k] == "\\":
                    k += 2
                    continue
                if src.startswith(quote, k):
                    k += len(quote)
                    break
                if len(quote) == 1 and src[k] == "\n":
                    raise _SyntaxProblem(i, "ข้อความไม่มีเครื่องหมายคำพูดปิด", "a string has no closing quote")
                k += 1
            toks.append(_Tok("str", src[i:k], i))
            i = k
            continue
        m = _NUM_RE.match(src, i) if (c.isdigit() or (c == "." and i + 1 < n and src[i + 1].isdigit())) else None
        if m and c.isascii():
            toks.append(_Tok("num", m.group(), i))
            i = m.end()
            continue
        m = _ID_RE.match(src, i)
        if m:
            toks.append(_Tok("id", m.group(), i))
            i = m.end()
            continue
        if src[i:i + 2] in _OPS2:
            toks.append(_Tok("op", src[i:i + 2], i))
            i += 2
            continue
        if c in _OPS1:
            toks.append(_Tok("op", c, i))
            i += 1
            continue
        raise _SyntaxProblem(i, f"มีอักขระที่ใช้ไม่ได้ `{c}`", f"character `{c}` is not allowed here")
    toks.append(_Tok("eof", "", n))
    return toks


def _bracket_depth(toks: list[_Tok]) -> tuple[int, int]:
    """Deepest nesting of brackets and of ``?`` and where it is reached."""
    depth = best = best_pos = 0
    for t in toks:
        if t.kind != "op":
            continue
        if t.text in "([{?":
            depth += 1
            if depth > best:
                best, best_pos = depth, t.pos
        elif t.text in ")]}":
            depth -= 1
    return best, best_pos


# ------------------------------------------------------------------- parser
class _Node:
    """A syntax-tree node of the analysis parser.

    kinds: lit (name = literal kind, size = characters of a string), ident,
    select (name = field), call (name, target or None, kids = args), index,
    list, map (kids = k1, v1, k2, v2 …), msg, unary, binary (name = op), cond.
    """

    __slots__ = ("kind", "pos", "name", "kids", "target", "size", "depth", "start", "end")
    kind: str
    pos: int
    name: str
    kids: tuple[_Node, ...]
    target: _Node | None
    size: int
    depth: int
    start: int  # the node's text is source[start:end] (the type checker rewrites it)
    end: int

    def __init__(self, kind: str, pos: int, name: str = "", kids: tuple[_Node, ...] = (),
                 target: _Node | None = None, size: int = 1):
        self.kind = kind
        self.pos = pos
        self.name = name
        self.kids = kids
        self.target = target
        self.size = size
        depth = target.depth if target is not None else 0
        start, end = pos, pos + 1
        if target is not None:
            start, end = min(start, target.start), max(end, target.end)
        for kid in kids:
            if kid.depth > depth:
                depth = kid.depth
            if kid.start < start:
                start = kid.start
            if kid.end > end:
                end = kid.end
        self.depth = depth + 1
        self.start, self.end = start, end


_RELOPS = frozenset({"<", "<=", ">=", ">", "==", "!=", "in"})


class _Parser:
    def __init__(self, toks: list[_Tok]):
        self.toks = toks
        self.i = 0
        self.depth = 0

    # token helpers
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def at(self, text: str) -> bool:
        t = self.toks[self.i]
        return t.kind in ("op", "id") and t.text == text

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def ended(self, node: _Node) -> _Node:
        """*node* ends where the last token taken ends (closing brackets included)."""
        last = self.toks[self.i - 1]
        node.end = max(node.end, last.pos + len(last.text))
        return node

    def expect(self, text: str) -> _Tok:
        if not self.at(text):
            t = self.tok
            raise _SyntaxProblem(t.pos, f"ต้องมี `{text}` ตรงนี้", f"expected `{text}` here")
        return self.take()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING * 2:
            raise _SyntaxProblem(self.tok.pos, "นิพจน์ซ้อนกันลึกเกินไป", "the expression is nested too deeply")

    # grammar
    def parse(self) -> _Node:
        node = self.expr()
        if self.tok.kind != "eof":
            raise _SyntaxProblem(self.tok.pos, f"ไม่ควรมี `{self.tok.text}` ตรงนี้",
                                 f"unexpected `{self.tok.text}`")
        return node

    def expr(self) -> _Node:
        self.enter()
        cond = self.or_()
        if self.at("?"):
            pos = self.take().pos
            a = self.or_()
            self.expect(":")
            b = self.expr()
            cond = _Node("cond", pos, kids=(cond, a, b))
        self.depth -= 1
        return cond

    def or_(self) -> _Node:
        left = self.and_()
        while self.at("||"):
            pos = self.take().pos
            left = _Node("binary", pos, "||", (left, self.and_()))
        return left

    def and_(self) -> _Node:
        left = self.rel()
        while self.at("&&"):
            pos = self.take().pos
            left = _Node("binary", pos, "&&", (left, self.rel()))
        return left

    def rel(self) -> _Node:
        left = self.add()
        while self.tok.text in _RELOPS and self.tok.kind in ("op", "id"):
            t = self.take()
            left = _Node("binary", t.pos, t.text, (left, self.add()))
        return left

    def add(self) -> _Node:
        left = self.mul()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            t = self.take()
            left = _Node("binary", t.pos, t.text, (left, self.mul()))
        return left

    def mul(self) -> _Node:
        left = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/", "%"):
            t = self.take()
            left = _Node("binary", t.pos, t.text, (left, self.unary()))
        return left

    def unary(self) -> _Node:
        ops: list[_Tok] = []
        while self.tok.kind == "op" and self.tok.text in ("!", "-"):
            ops.append(self.take())
        node = self.member()
        for t in reversed(ops):
            node = _Node("unary", t.pos, t.text, (node,))
        return node

    def member(self) -> _Node:
        node = self.primary()
        while True:
            if self.at("."):
                self.take()
                t = self.take()
                if t.kind != "id":
                    raise _SyntaxProblem(t.pos, "ต้องมีชื่อหลังจุด", "expected a name after `.`")
                if self.at("("):
                    args = self.args("(", ")")
                    node = self.ended(_Node("call", t.pos, t.text, args, target=node))
                elif self.at("{") and _is_ident_chain(node):
                    node = self.ended(self.message(node, t))
                else:
                    node = self.ended(_Node("select", t.pos, t.text, (node,)))
            elif self.at("["):
                pos = self.take().pos
                self.enter()
                index = self.expr()
                self.depth -= 1
                self.expect("]")
                node = self.ended(_Node("index", pos, "", (node, index)))
            else:
                return node

    def args(self, open_: str, close: str) -> tuple[_Node, ...]:
        self.expect(open_)
        self.enter()
        out: list[_Node] = []
        if not self.at(close):
            out.append(self.expr())
            while self.at(","):
                self.take()
                if self.at(close):  # trailing comma (lists)
                    break
                out.append(self.expr())
        self.expect(close)
        self.depth -= 1
        return tuple(out)

    def message(self, type_node: _Node, t: _Tok) -> _Node:
        self.expect("{")
        self.enter()
        values: list[_Node] = []
        while not self.at("}"):
            name = self.take()
            if name.kind != "id":
                raise _SyntaxProblem(name.pos, "ต้องมีชื่อช่อง", "expected a field name")
            self.expect(":")
            values.append(self.expr())
            if not self.at(","):
                break
            self.take()
        self.expect("}")
        self.depth -= 1
        return _Node("msg", t.pos, t.text, tuple(values))

    def primary(self) -> _Node:
        t = self.tok
        if t.kind == "op" and t.text == "." and self.toks[self.i + 1].kind == "id":
            self.take()
            name = self.take()
            if self.at("("):
                return self.ended(_Node("call", name.pos, name.text, self.args("(", ")")))
            return self.ended(_Node("ident", name.pos, name.text))
        if t.kind == "id":
            if t.text in ("true", "false"):
                self.take()
                return self.ended(_Node("lit", t.pos, "bool"))
            if t.text == "null":
                self.take()
                return self.ended(_Node("lit", t.pos, "null"))
            if t.text in RESERVED_WORDS:
                raise _SyntaxProblem(t.pos, f"`{t.text}` เป็นคำสงวน", f"`{t.text}` is a reserved word")
            self.take()
            if self.at("("):
                return self.ended(_Node("call", t.pos, t.text, self.args("(", ")")))
            if self.at("{"):
                return self.ended(self.message(self.ended(_Node("ident", t.pos, t.text)), t))
            return self.ended(_Node("ident", t.pos, t.text))
        if t.kind == "num":
            self.take()
            return self.ended(_Node("lit", t.pos, "num"))
        if t.kind == "str":
            self.take()
            return self.ended(_Node("lit", t.pos, "str", size=max(1, len(t.text))))
        if t.kind == "op" and t.text == "(":
            self.take()
            node = self.expr()
            self.expect(")")
            return node
        if t.kind == "op" and t.text == "[":
            return self.ended(_Node("list", t.pos, "", self.args("[", "]")))
        if t.kind == "op" and t.text == "{":
            self.take()
            self.enter()
            kids: list[_Node] = []
            while not self.at("}"):
                kids.append(self.expr())
                self.expect(":")
                kids.append(self.expr())
                if not self.at(","):
                    break
                self.take()
            self.expect("}")
            self.depth -= 1
            return self.ended(_Node("map", t.pos, "", tuple(kids)))
        if t.kind == "eof":
            raise _SyntaxProblem(t.pos, "นิพจน์จบก่อนครบ", "the expression ends too early")
        raise _SyntaxProblem(t.pos, f"ไม่ควรมี `{t.text}` ตรงนี้", f"unexpected `{t.text}`")


def _is_ident_chain(node: _Node) -> bool:
    while node.kind == "select":
        node = node.kids[0]
    return node.kind == "ident"


def _chain_name(node: _Node) -> str | None:
    """``a.b.c`` for a chain of selects on an identifier, else None."""
    parts: list[str] = []
    while node.kind == "select":
        parts.append(node.name)
        node = node.kids[0]
    if node.kind != "ident":
        return None
    parts.append(node.name)
    return ".".join(reversed(parts))


def _is_macro(node: _Node) -> bool:
    if node.kind != "call":
        return False
    if node.target is None:
        return node.name == "has" and len(node.kids) == 1
    if node.name not in _COMPREHENSIONS or not node.kids or node.kids[0].kind != "ident":
        return False
    return len(node.kids) == 2 or (node.name == "map" and len(node.kids) == 3)


def _qualified(node: _Node, scope: frozenset[str]) -> str | None:
    """The qualified function name of ``math.ceil(x)``-style calls, else None."""
    if node.target is None:
        return None
    chain = _chain_name(node.target)
    if chain is None:
        return None
    root = chain.split(".", 1)[0]
    if root in scope or root not in _NAMESPACES:
        return None
    return f"{chain}.{node.name}"


class _Analysis:
    def __init__(self) -> None:
        self.names: set[str] = set()
        self.paths: set[str] = set()
        self.functions: set[str] = set()
        self.bound: set[str] = set()
        self.macro_depth = 0
        self.macro_pos = 0
        self.macros = 0
        self.free_refs = 0
        self.max_literal_items = 0
        self.nodes = 0

    def walk(self, node: _Node, scope: frozenset[str], macro_depth: int) -> None:
        self.nodes += 1
        kind = node.kind
        if kind == "ident":
            if node.name in scope:
                return
            self.names.add(node.name)
            self.paths.add(node.name)
            self.free_refs += 1
            return
        if kind == "select":
            chain = _chain_name(node)
            if chain is not None:
                root = chain.split(".", 1)[0]
                if root not in scope:
                    self.names.add(root)
                    self.paths.add(chain)
                    self.free_refs += 1
                self.nodes += chain.count(".")
                return
        if kind in ("list", "map"):
            self.max_literal_items = max(self.max_literal_items, len(node.kids) // (2 if kind == "map" else 1))
        if kind == "call":
            if _is_macro(node):
                self.functions.add(node.name)
                if node.target is None:  # has(a.b)
                    self.walk(node.kids[0], scope, macro_depth)
                    return
                self.macros += 1
                depth = macro_depth + 1
                if depth > self.macro_depth:
                    self.macro_depth, self.macro_pos = depth, node.pos
                var = node.kids[0].name
                self.bound.add(var)
                self.walk(node.target, scope, macro_depth)
                inner = scope | {var}
                for kid in node.kids[1:]:
                    self.walk(kid, inner, depth)
                return
            qualified = _qualified(node, scope)
            if qualified is not None:
                self.functions.add(qualified)
                for kid in node.kids:
                    self.walk(kid, scope, macro_depth)
                return
            self.functions.add(node.name)
        if node.target is not None:
            self.walk(node.target, scope, macro_depth)
        for kid in node.kids:
            self.walk(kid, scope, macro_depth)
