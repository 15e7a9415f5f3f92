"""The Thai ID checks are core code that the plugin re-uses (#20 item 4).

Plugins import the core, never the reverse: expressions (``thai_id_valid``) and
the account profile take the national ID rules from ``eservice.thai_ids``, and the
``thai_validators`` plugin re-exports the same functions for its field types.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

from eservice import thai_ids
from eservice.plugins import thai_validators


def test_expressions_check_thai_ids_without_the_plugin():
    code = textwrap.dedent(
        """
        import sys
        from eservice.expr import compile_expression
        assert compile_expression('thai_id_valid("1-1015-00001-10-5")').evaluate() is False
        assert compile_expression('thai_id_valid(x)').evaluate({"x": "0107544000108"}) is True
        print(sorted(m for m in sys.modules if m.startswith("eservice.plugins")))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout.strip()
    assert out == "[]"


def test_the_plugin_reuses_the_core_checks():
    for name in thai_ids.__all__:
        assert getattr(thai_validators, name) is getattr(thai_ids, name), name
    assert set(thai_ids.__all__) <= set(thai_validators.__all__)
