"""Shared fixtures: a real SMTP server on loopback (aiosmtpd), the real web app over a
temporary data folder (``app_factory``), and people signed in through its real
/login page (``signed_in``)."""
# tests/ has no __init__.py, so pytest puts tests/ on sys.path.
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from eservice.auth import Accounts
from eservice.web.app import create_app
from eservice.web.context import Settings
from smtp_server import smtp_server, smtp_server_factory, tls_files  # noqa: F401

EXAMPLES = Path(__file__).resolve().parent.parent / "service_definitions"
PASSWORD = "a long enough passphrase 42"


@pytest.fixture
def app_factory(tmp_path: Path) -> Callable[..., Starlette]:
    """``app_factory(*definitions, clock=…, extra_routes=…, **settings)``: the platform
    as ``create_app`` builds it, over the data folder ``tmp_path / "data"`` (or
    ``data=``), with the example services when no definitions are given.  Other
    keywords are :class:`Settings` fields; ``settings=`` gives the whole Settings."""

    def make(*definitions: Path, settings: Settings | None = None, clock: Any = None,
             extra_routes: Iterable[Any] = (), data: Path | None = None, **fields: Any) -> Starlette:
        if settings is None:
            settings = Settings(data=data or tmp_path / "data", definitions=definitions or (EXAMPLES,), **fields)
        return create_app(settings, clock=clock, extra_routes=extra_routes)

    return make


def make_account(app: Starlette, email: str, profile: dict | None = None, *, password: str = PASSWORD) -> dict:
    """A verified account in the app's store."""
    ctx = app.state.ctx
    accounts = Accounts(ctx.store, ctx.clock)
    user, token = accounts.register(email, password, profile or {})
    return accounts.verify_email(token)


def sign_in(client: TestClient, user: dict, *, password: str = PASSWORD) -> None:
    """Sign in through the real /login page (R: A-I2)."""
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "every POST form carries the CSRF token"
    response = client.post("/login", data={"csrf_token": found.group(1), "email": user["email"],
                                           "password": password}, follow_redirects=False)
    assert response.status_code in (302, 303), response.text[:500]


@pytest.fixture
def signed_in() -> Callable[..., dict]:
    """``signed_in(client, email, profile=None)``: a verified account in the client's
    app, signed in on ``client`` through the real /login page; returns the account.
    ``signed_in(client, user)`` signs an existing account in again."""

    def sign(client: TestClient, who: str | dict, profile: dict | None = None, *,
             password: str = PASSWORD) -> dict:
        user = who if isinstance(who, dict) else make_account(client.app, who, profile, password=password)
        sign_in(client, user, password=password)
        return user

    return sign
