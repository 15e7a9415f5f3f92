"""The type check runs with the tests (#20 item 6).

mypy checks ``store/``, ``calendar.py``, ``expr/`` and ``plugin_api.py`` with the
settings in pyproject.toml ``[tool.mypy]`` (``files`` names what is checked), by
the same command a developer types: ``.venv/bin/python -m mypy``.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_passes(tmp_path):
    env = dict(os.environ, MYPY_CACHE_DIR=str(tmp_path / "mypy_cache"))  # leave no cache behind
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
