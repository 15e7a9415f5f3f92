"""Parallel password guessing and per-client throttles.

Issue #17 item 5 (Medium).  R: A-X2, A-I2.  Before the fix a failure was
counted only after its password had been checked, so 25 simultaneous wrong
``POST /api/tokens`` had 20 passwords checked and the right one in the batch got
a token; and one client could try 30 addresses without ever being slowed down.

The real app through httpx's ASGI transport (requests truly in parallel: the
handlers run in the thread pool), with a password hasher that counts the
passwords it checks and holds the wrong ones until the test lets them go, so
"parallel" is arranged by the test rather than left to the scheduler.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import re
import threading
import time
from pathlib import Path

import httpx
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from eservice.auth import Accounts, LockoutPolicy
from eservice.clock import UTC, FixedClock
from eservice.web.app import create_app
from eservice.web.context import Settings
from eservice.web.throttle import LIMITS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "defs"
PASSWORD = "ม้าลายกระโดด-42"
EMAIL = "somchai@example.com"
THAI = re.compile(r"[\u0E00-\u0E7F]")
WAIT = 60  # seconds; a safety net for a stuck request, not a measurement
CLIENT_LIMIT = LIMITS[("sign_in", "client")].max_attempts


class GatedHasher(PasswordHasher):
    """A fast Argon2 hasher that counts wrong-password checks and holds them at a gate."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.lock = threading.Lock()
        self.wrong_checked = 0
        self.gate = threading.Event()

    def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
        if password != PASSWORD:
            with self.lock:
                self.wrong_checked += 1
            self.gate.wait(WAIT)
        return super().verify(hash, password)


def make_app(tmp_path: Path, hasher: PasswordHasher):
    app = create_app(Settings(data=tmp_path / "data", definitions=(FIXTURES,)),
                     clock=FixedClock(dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)))
    ctx = app.state.ctx
    ctx.extra["accounts"] = Accounts(ctx.store, ctx.clock, hasher=hasher)
    return app


def register(app, email: str = EMAIL) -> dict:
    accounts = app.state.ctx.extra["accounts"]
    user, token = accounts.register(email, PASSWORD, {"first_name": "สมชาย", "last_name": "ใจดี"})
    return accounts.verify_email(token)


def api_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["status"] == status and THAI.search(error["th"]) and error["en"]
    return error


def test_parallel_wrong_passwords_check_at_most_the_lockout_limit(tmp_path):  # R: A-X2
    hasher = GatedHasher()
    app = make_app(tmp_path, hasher)
    register(app)
    limit = LockoutPolicy().max_failures

    async def scenario():
        attacker = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 40000)),
                                     base_url="http://testserver")
        # The right password comes from elsewhere, so only the account's lock-out can stop it.
        other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("198.51.100.9", 40000)),
                                  base_url="http://testserver")
        async with attacker, other:
            wrong = [asyncio.create_task(attacker.post("/api/tokens", json={"email": EMAIL,
                                                                             "password": f"wrong-guess-{i:02d}"}))
                     for i in range(25)]
            # Every wrong attempt is now either answered or inside the password check.
            deadline = time.monotonic() + WAIT
            while hasher.wrong_checked + sum(t.done() for t in wrong) < len(wrong):
                assert time.monotonic() < deadline, "the wrong attempts neither finished nor reached the check"
                await asyncio.sleep(0.01)
            right = await other.post("/api/tokens", json={"email": EMAIL, "password": PASSWORD})
            hasher.gate.set()
            return right, await asyncio.gather(*wrong)

    try:
        right, answers = asyncio.run(scenario())
    finally:
        hasher.gate.set()
    # The right password after the limit was reached gets no token, and is told when to come back.
    error = api_error(right, 429)
    assert error["code"] == "locked" and int(right.headers["retry-after"]) > 0
    assert hasher.wrong_checked <= limit, f"{hasher.wrong_checked} passwords checked in parallel"
    statuses = [a.status_code for a in answers]
    assert 201 not in statuses and statuses.count(401) <= limit, statuses
    assert set(statuses) <= {401, 429}, statuses


def test_many_addresses_from_one_client_are_throttled_on_the_api(tmp_path):  # R: A-X2
    app = make_app(tmp_path, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    register(app)
    with TestClient(app) as client:
        answers = [client.post("/api/tokens", json={"email": f"person{i}@example.com", "password": "wrong guess!"})
                   for i in range(30)]
        statuses = [a.status_code for a in answers]
        assert statuses[:CLIENT_LIMIT] == [401] * CLIENT_LIMIT
        assert set(statuses[CLIENT_LIMIT:]) == {429}, statuses
        throttled = answers[-1]
        assert api_error(throttled, 429)["code"] == "too_many_requests"
        assert int(throttled.headers["retry-after"]) > 0
        # The same client with the right password is still held off (the check would cost a hash) ...
        assert client.post("/api/tokens", json={"email": EMAIL, "password": PASSWORD}).status_code == 429
    # ... while another client is not.
    with TestClient(app, client=("198.51.100.9", 40000)) as elsewhere:
        assert elsewhere.post("/api/tokens", json={"email": EMAIL, "password": PASSWORD}).status_code == 201


def csrf_of(client, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found.group(1)


def test_many_addresses_from_one_client_are_throttled_on_the_sign_in_page(tmp_path):  # R: A-X2, A-I2
    app = make_app(tmp_path, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with TestClient(app, follow_redirects=False) as client:
        token = csrf_of(client, "/login")
        statuses = []
        for i in range(CLIENT_LIMIT + 3):
            page = client.post("/login", data={"csrf_token": token, "email": f"person{i}@example.com",
                                               "password": "wrong guess!"})
            statuses.append(page.status_code)
        assert statuses == [400] * CLIENT_LIMIT + [429] * 3
        assert page.headers["content-type"].startswith("text/html") and int(page.headers["retry-after"]) > 0
        assert "มีการลองหลายครั้งเกินไป" in page.text
        english = client.post("/login?lang=en", data={"csrf_token": token, "email": "x@example.com",
                                                      "password": "wrong guess!"})
        assert english.status_code == 429 and "Too many attempts" in english.text


def test_password_reset_and_registration_are_throttled(tmp_path):  # R: A-X2, A-I1
    app = make_app(tmp_path, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with TestClient(app, follow_redirects=False) as client:
        token = csrf_of(client, "/password/forgot")
        reset_limit = LIMITS[("password_reset", "client")].max_attempts
        statuses = [client.post("/password/forgot", data={"csrf_token": token, "email": f"p{i}@example.com"})
                    .status_code for i in range(reset_limit + 1)]
        assert statuses == [303] * reset_limit + [429]

        token = csrf_of(client, "/register")
        per_address = LIMITS[("register", "account")].max_attempts
        form = {"csrf_token": token, "email": "target@example.com", "password": PASSWORD,
                "password_confirm": PASSWORD, "first_name": "สมชาย", "last_name": "ใจดี"}
        statuses = [client.post("/register", data=form).status_code for _ in range(per_address + 1)]
        assert statuses == [303] * per_address + [429]
        page = client.post("/register", data=form)
        assert page.status_code == 429 and int(page.headers["retry-after"]) > 0
        assert "มีการลองหลายครั้งเกินไป" in page.text and "Too many attempts" in page.text

