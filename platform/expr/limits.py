"""Limits on expressions and on the data bound to them.

Checked at compile time (:func:`eservice.expr.compile_expression`), by the cost
model (:mod:`eservice.expr._cost`) and while binding values
(:mod:`eservice.expr.binding`); see "Bounded work" in :mod:`eservice.expr`.
"""
from __future__ import annotations

#: Longest expression accepted (characters).  The definition models use the same.
MAX_SOURCE_CHARS = 2000
#: Deepest nesting of brackets ``( [ {`` and of the ``?:`` operator.
MAX_NESTING = 32
#: Deepest syntax tree (long chains such as ``!!!!x`` or ``a + b + … + z``).
MAX_TREE_DEPTH = 200
#: Deepest nesting of comprehension macros (``all``, ``exists``, ``map``…).
MAX_MACRO_NESTING = 3
#: Work budget of one evaluation, in cost units (1 unit ≈ 50 ns of engine time).
MAX_COST = 4_000_000
#: Largest value (characters + items) an evaluation may build.
MAX_VALUE_SIZE = 10_000_000
#: Compile-time assumption: items in a bound collection.
ASSUMED_ITEMS = 50
#: Compile-time assumption: total size of the bound data (characters + items).
ASSUMED_DATA = 10_000
#: Run-time caps on bound data (and on what guarded functions return).
MAX_COLLECTION_ITEMS = 10_000
MAX_STRING_CHARS = 100_000
MAX_BOUND_SIZE = 1_000_000
_MAX_BIND_DEPTH = 32
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
