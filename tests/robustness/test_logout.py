"""Signing out ends the session, including every copy of the old cookie.

Issue #17 item 6 (Medium-low).  R: A-X2, A-I2.  Before the fix the session was
only a signed cookie: after ``POST /logout`` a copy of the old cookie still
worked for up to 8 hours.  Now the cookie carries the account's session
generation, which signing out bumps.  API tokens are separate: signing out on
the web leaves them alone (revoke one with ``DELETE /api/tokens/current``).
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from argon2 import PasswordHasher
from starlette.testclient import TestClient

from eservice.auth import Accounts
from eservice.clock import UTC, FixedClock
from eservice.web.app import SESSION_COOKIE, create_app
from eservice.web.context import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "defs"
PASSWORD = "ม้าลายกระโดด-42"
EMAIL = "somchai@example.com"


def make_app(tmp_path: Path):
    app = create_app(Settings(data=tmp_path / "data", definitions=(FIXTURES,)),
                     clock=FixedClock(dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)))
    ctx = app.state.ctx
    accounts = ctx.extra["accounts"] = Accounts(ctx.store, ctx.clock,
                                                hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    _user, token = accounts.register(EMAIL, PASSWORD, {"first_name": "สมชาย", "last_name": "ใจดี"})
    accounts.verify_email(token)
    return app


def csrf_of(client: TestClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found.group(1)


def sign_in(client: TestClient) -> str:
    answer = client.post("/login", data={"csrf_token": csrf_of(client, "/login"), "email": EMAIL,
                                         "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    assert client.get("/profile").status_code == 200
    return client.cookies[SESSION_COOKIE]


def test_an_old_cookie_is_signed_out_after_logout_and_api_tokens_stay(tmp_path):  # R: A-X2, CH-5
    app = make_app(tmp_path)
    with TestClient(app, follow_redirects=False) as client:
        token = client.post("/api/tokens", json={"email": EMAIL, "password": PASSWORD}).json()["token"]
        stolen = sign_in(client)
        out = client.post("/logout", data={"csrf_token": csrf_of(client, "/logout")})
        assert out.status_code == 303 and out.headers["location"] == "/login?signed_out=1"
    with TestClient(app, follow_redirects=False, cookies={SESSION_COOKIE: stolen}) as replay:
        again = replay.get("/profile")
        assert again.status_code == 303 and again.headers["location"].startswith("/login")
        # API tokens are separate from web sessions: a web sign-out leaves them working.
        assert replay.get("/api/tokens/current", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_logout_ends_the_other_browsers_too_and_a_new_sign_in_works(tmp_path):  # R: A-X2, A-I2
    app = make_app(tmp_path)
    with TestClient(app, follow_redirects=False) as phone, TestClient(app, follow_redirects=False) as desk:
        sign_in(phone)
        sign_in(desk)
        desk.post("/logout", data={"csrf_token": csrf_of(desk, "/logout")})
        assert phone.get("/profile").status_code == 303  # one generation per account
        sign_in(phone)  # and signing in again gives a working session

