"""Apps for the robustness suite (issue #17): the real ``create_app`` over a
temporary data folder, with the API test service of tests/test_api.py."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from eservice.auth import Accounts
from eservice.clock import FixedClock
from eservice.web.app import create_app
from eservice.web.context import Settings
from test_api import PASSWORD, SUNDAY_EVENING, make_definitions, token_for

__all__ = ["api_app", "bearer", "csrf_of", "signed_in", "web_draft"]


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
    """``(app, clock)`` with the API service loaded, and cheap password hashing
    (the sign-in page and ``POST /api/tokens`` use ``ctx.extra["accounts"]``)."""
    clock = FixedClock(SUNDAY_EVENING.astimezone(dt.timezone.utc))
    defs = api_definitions(tmp_path, only_api_permit=only_api_permit)
    app = create_app(Settings(data=tmp_path / "data", definitions=(defs,)), clock=clock)
    ctx = app.state.ctx
    ctx.extra["accounts"] = Accounts(ctx.store, clock, hasher=PasswordHasher(time_cost=1, memory_cost=1024,
                                                                             parallelism=1))
    return app, clock


def bearer(app, clock, email: str = "somchai@example.com") -> tuple[dict, dict]:
    """A seeded, verified account and its token, got as tests/test_api.py does
    (``POST /api/tokens``): ``(user, {"Authorization": "Bearer …"})``."""
    accounts = app.state.ctx.extra["accounts"]
    user, token = accounts.register(email, PASSWORD, {"first_name": "สมชาย", "last_name": "ใจดี"})
    user = accounts.verify_email(token)
    with TestClient(app) as client:
        token = token_for(client, email)
    return user, {"Authorization": f"Bearer {token}"}


def csrf_of(html: str) -> str:
    """The CSRF token of a page (every POST form carries it)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def signed_in(app, email: str) -> TestClient:
    """A browser signed in through the real /login page (the account must exist)."""
    client = TestClient(app)
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_of(page.text), "email": email, "password": PASSWORD},
                           follow_redirects=False)
    assert response.status_code in (302, 303), response.text[:500]
    return client


def web_draft(client: TestClient, service: str = "api-permit") -> str:
    """Start a draft through the e-Form's start page; its id."""
    page = client.get(f"/apply/{service}")
    response = client.post(f"/apply/{service}", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    return re.match(r"^/applications/(app-[0-9a-f]+)", response.headers["location"]).group(1)
