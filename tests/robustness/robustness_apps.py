"""Apps for the robustness suite (issue #17): the real ``create_app`` over a
temporary data folder, with the API test service of tests/test_api.py."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from starlette.testclient import TestClient

from eservice.clock import FixedClock
from eservice.web.app import create_app
from eservice.web.context import Settings
from test_api import SUNDAY_EVENING, make_definitions, register, token_for

__all__ = ["api_app", "bearer"]


def api_definitions(root: Path, *, only_api_permit: bool = False) -> Path:
    """tests/test_api.py's definitions (``api-permit``: a group, money, dates, a
    hidden page, documents), with a multi-line text and a Thai address added.
    ``only_api_permit``: the one service, so the API's answers schema is exact."""
    defs = make_definitions(root)
    path = defs / "test-agency" / "api.yaml"
    service = yaml.safe_load(path.read_text(encoding="utf-8"))
    service["form"]["sections"][0]["pages"][0]["fields"] += [
        {"id": "directions", "type": "long_text", "label": {"th": "วิธีเดินทาง", "en": "Directions"}},
        {"id": "shop_address", "type": "thai_address", "label": {"th": "ที่ตั้งร้าน", "en": "Shop address"}},
    ]
    path.write_text(yaml.safe_dump(service, allow_unicode=True, sort_keys=False), encoding="utf-8")
    if only_api_permit:
        (defs / "test-agency" / "minimal.yaml").unlink()
    return defs


def api_app(tmp_path: Path, *, only_api_permit: bool = False):
    """``(app, clock)`` with the API service loaded."""
    clock = FixedClock(SUNDAY_EVENING.astimezone(dt.timezone.utc))
    defs = api_definitions(tmp_path, only_api_permit=only_api_permit)
    return create_app(Settings(data=tmp_path / "data", definitions=(defs,)), clock=clock), clock


def bearer(app, clock, email: str = "somchai@example.com") -> tuple[dict, dict]:
    """A seeded, verified account and its token, got as tests/test_api.py does
    (``POST /api/tokens``): ``(user, {"Authorization": "Bearer …"})``."""
    user = register(app, clock, email)
    with TestClient(app) as client:
        token = token_for(client, email)
    return user, {"Authorization": f"Bearer {token}"}
