"""Static cost model: upper estimates of the work and value size of one evaluation.

See "Bounded work" in :mod:`eservice.expr`.
"""
from __future__ import annotations

from ._parser import _chain_name, _is_macro, _Node, _qualified
from .functions import _PY_FUNCTIONS
from .limits import MAX_COLLECTION_ITEMS, MAX_COST, MAX_STRING_CHARS, MAX_VALUE_SIZE


_FN_RESULT_SAME = frozenset({"substring", "trim", "lowerAscii", "upperAscii", "reverse", "charAt",
                             "sort", "distinct", "slice", "string", "bytes", "dyn"})
_FN_RESULT_CAPPED = frozenset({"replace", "join", "split", "flatten"})


class _Budget(Exception):
    pass


class _Estimator:
    """Upper estimates of work (cost units) and value size for one evaluation.

    *items* is the largest collection in the bound data, *data* its total size
    (characters + items).  See "Bounded work" in :mod:`eservice.expr`.
    """

    def __init__(self, items: int, data: int, literal_items: int):
        self.items = max(items, literal_items, 1)
        self.data = max(data, 1)
        self.max_size = 0

    def run(self, root: _Node) -> tuple[int, int]:
        cost, size, _ = self.est(root, {})
        return cost, max(size, self.max_size)

    def note(self, size: int) -> int:
        if size > self.max_size:
            self.max_size = size
            if size > MAX_VALUE_SIZE:
                raise _Budget()
        return size

    def est(self, node: _Node, scope: dict[str, tuple[int, int]]) -> tuple[int, int, int]:
        """(cost, size, items) of *node*."""
        kind = node.kind
        if kind == "lit":
            return 1, node.size, 0
        if kind == "ident":
            if node.name in scope:
                size, items = scope[node.name]
                return 1, size, items
            return 1, self.data, self.items
        if kind == "select":
            chain = _chain_name(node)
            if chain is not None:
                root = chain.split(".", 1)[0]
                if root in scope:
                    size, items = scope[root]
                    return 1 + chain.count("."), size, self.items
                return 1 + chain.count("."), self.data, self.items
            cost, size, _ = self.est(node.kids[0], scope)
            return cost + 1, size, self.items
        if kind == "index":
            c1, s1, _ = self.est(node.kids[0], scope)
            c2, _, _ = self.est(node.kids[1], scope)
            return c1 + c2 + 1, s1, self.items
        if kind in ("list", "map", "msg"):
            cost = size = 1
            for kid in node.kids:
                c, s, _ = self.est(kid, scope)
                cost += c
                size += s
            n = len(node.kids) // (2 if kind == "map" else 1)
            return cost, self.note(size), n
        if kind == "unary":
            c, s, _ = self.est(node.kids[0], scope)
            return c + 1, 1, 0
        if kind == "binary":
            cl, sl, il = self.est(node.kids[0], scope)
            cr, sr, ir = self.est(node.kids[1], scope)
            op = node.name
            if op == "+":
                size = self.note(sl + sr)
                return cl + cr + 1 + size // 256, size, il + ir
            if op in ("==", "!=", "in"):
                return cl + cr + 1 + (sl + sr) // 256 + (ir if op == "in" else 0), 1, 0
            return cl + cr + 1, 1, 0
        if kind == "cond":
            c0, _, _ = self.est(node.kids[0], scope)
            c1, s1, i1 = self.est(node.kids[1], scope)
            c2, s2, i2 = self.est(node.kids[2], scope)
            return c0 + c1 + c2 + 1, max(s1, s2), max(i1, i2)
        if kind == "call":
            return self.call(node, scope)
        return 1, 1, 0  # pragma: no cover - every kind is handled above

    def call(self, node: _Node, scope: dict[str, tuple[int, int]]) -> tuple[int, int, int]:
        if _is_macro(node):
            if node.target is None:  # has()
                return 2, 1, 0
            ct, st, it = self.est(node.target, scope)
            n = max(it, 0)
            inner = dict(scope)
            # an element: on average its share of the collection (summed over
            # the steps this is the whole collection, which is what matters)
            inner[node.kids[0].name] = (max(1, st // max(n, 1)), self.items)
            cb = sb = 0
            for kid in node.kids[1:]:
                c, s, _ = self.est(kid, inner)
                cb += c
                sb = s
            cost = ct + n * (1 + cb)
            name = node.name
            if name in ("map", "filter"):
                out_size = self.note(n * sb if name == "map" else st)
                # each step copies the list built so far
                cost += n * n // 2 + n * out_size // 512
                return cost, out_size, n
            return cost, 1, 0
        qualified = _qualified(node, frozenset(scope))
        name = qualified or node.name
        cost = 20 if name in _PY_FUNCTIONS else 1
        sizes: list[int] = []
        items_first = 0
        args = list(node.kids)
        if node.target is not None and qualified is None:
            args.insert(0, node.target)
        for k, arg in enumerate(args):
            c, s, i = self.est(arg, scope)
            cost += c
            sizes.append(s)
            if k == 0:
                items_first = i
        if name in _PY_FUNCTIONS:
            cost += sum(sizes) // 64  # converting the arguments to Python
        first = sizes[0] if sizes else 1
        if name in _FN_RESULT_CAPPED:
            return cost + MAX_STRING_CHARS // 256, self.note(MAX_STRING_CHARS), MAX_COLLECTION_ITEMS
        if name in _FN_RESULT_SAME:
            return cost + first // 256, self.note(first + 32), items_first
        return cost, 1, 0


def _cost_ok(tree: _Node, items: int, size: int, literal_items: int) -> bool:
    try:
        cost, value = _Estimator(items, size, literal_items).run(tree)
    except _Budget:
        return False
    except RecursionError:  # pragma: no cover - nesting is bounded long before
        return False
    return cost <= MAX_COST and value <= MAX_VALUE_SIZE
