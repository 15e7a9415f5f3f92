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


def test_profiles_check_phone_numbers_without_the_plugin(tmp_path):
    """The account profile takes the phone rules from the core too (#20 item 4):
    a bad number gets the plugin's precise message, and no plugin is imported."""
    code = textwrap.dedent(
        f"""
        import sys
        from argon2 import PasswordHasher
        from eservice.auth import Accounts, AuthError
        from eservice.store import open_store
        accounts = Accounts(open_store({str(tmp_path)!r}),
                            hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        user, token = accounts.register("a@example.co.th", "correct horse battery 9", {{}})
        user = accounts.verify_email(token)
        user = accounts.update_profile(user["id"], {{"phone": "081 234 5678"}}, user["version"])
        try:
            accounts.update_profile(user["id"], {{"phone": "081234567"}}, user["version"])
        except AuthError as err:
            print([p[0] for p in err.problems])
        print(sorted(m for m in sys.modules if m.startswith("eservice.plugins")))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout.strip().splitlines()
    assert out == ["['thai_phone.length']", "[]"]
