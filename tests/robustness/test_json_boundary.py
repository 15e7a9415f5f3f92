"""The JSON boundary of the API (issue #17 items 3 and 4; A-X2, PR-3).

NaN and ±Infinity, arrays and objects nested too deep, and number literals too
long (a 5,000-digit integer) used to reach the handlers: NaN was stored and the
application then answered 500 for ever; the others answered 500 at once, even
on ``POST /api/tokens`` without authentication.  Every JSON body goes through
one reader (``eservice.web.api.read_json``), which refuses each with 400 in the
API's error shape (Thai and English), and nothing is stored.
"""
from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from eservice.web.api import MAX_JSON_DEPTH, MAX_NUMBER_CHARS
from robustness_apps import api_app, bearer
from test_api import error_of

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def world(tmp_path):
    """(app, client, auth headers, a draft as the API shows it)."""
    app, clock = api_app(tmp_path)
    _user, auth = bearer(app, clock)
    with TestClient(app) as client:
        draft = client.post("/api/applications", json={"service": "api-permit"}, headers=auth).json()
        yield app, client, auth, draft


def _send(client, method: str, url: str, body: str, headers: dict):
    return client.request(method, url, content=body.encode("utf-8"), headers={**headers, **JSON})


def _endpoints(draft: dict) -> list[tuple[str, str, str]]:
    """(method, url, body with {}) of every API route that reads a JSON body."""
    app_url = f"/api/applications/{draft['id']}"
    return [
        ("POST", "/api/tokens", '{"email": "a@example.com", "password": {}}'),
        ("POST", "/api/applications", '{"service": "api-permit", "answers": {"shop_area": {}}}'),
        ("PUT", f"{app_url}/answers", '{"answers": {"shop_area": {}}, "version": %d}' % draft["version"]),
        ("POST", f"{app_url}/submit", '{"declaration": {"th": "x"}, "intent": true, "version": {}}'),
        ("POST", f"{app_url}/actions/resubmit", '{"inputs": {"note": {}}}'),
    ]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_by_every_json_endpoint(world, token):  # R: A-X2, PR-3
    app, client, auth, draft = world
    for method, url, body in _endpoints(draft):
        error = error_of(_send(client, method, url, body.replace("{}", token), auth), 400, "invalid_json")
        assert token.lstrip("-") in error["en"], (url, error)


def test_nan_in_answers_is_not_stored_and_the_application_still_reads(world):  # R: A-X2 (item 3)
    app, client, auth, draft = world
    r = _send(client, "PUT", f"/api/applications/{draft['id']}/answers",
              '{"answers": {"shop_name": "ร้านป้าแดง", "shop_area": NaN}, "version": %d}' % draft["version"], auth)
    error_of(r, 400, "invalid_json")
    record = app.state.ctx.store.get_application(draft["id"])
    assert record["version"] == draft["version"] and "shop_area" not in record["answers"]
    assert client.get(f"/api/applications/{draft['id']}", headers=auth).status_code == 200
    # a number too large for a double (it would read as infinity) is refused too
    r = _send(client, "PUT", f"/api/applications/{draft['id']}/answers",
              '{"answers": {"shop_area": 1e999}, "version": %d}' % draft["version"], auth)
    error_of(r, 400, "number_too_large")
    assert client.get(f"/api/applications/{draft['id']}", headers=auth).status_code == 200


def test_deep_nesting_is_400_even_without_authentication(world):  # R: A-X2 (item 4)
    app, client, auth, draft = world
    deep = "[" * 100_000 + "]" * 100_000
    error = error_of(_send(client, "POST", "/api/tokens", deep, {}), 400, "too_deep")
    assert str(MAX_JSON_DEPTH) in error["en"] and str(MAX_JSON_DEPTH) in error["th"]
    nested = '{"service": "api-permit", "answers": {"shop_name": %s}}' % ("[" * 5_000 + "]" * 5_000)
    error_of(_send(client, "POST", "/api/applications", nested, auth), 400, "too_deep")
    # just over the limit is refused; brackets inside strings do not count
    over = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    error_of(_send(client, "POST", "/api/tokens", over, {}), 400, "too_deep")
    within = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    error_of(_send(client, "POST", "/api/tokens", '{"email": %s, "password": "x"}' % within, {}), 422, "invalid_body")
    quoted = '{"email": "%s@example.com", "password": "x"}' % ("[" * 10_000)
    assert _send(client, "POST", "/api/tokens", quoted, {}).status_code == 401
    # an unterminated string of escaped quotes after many brackets is plainly not JSON
    # (a scan for strings by regular expression would take quadratic time on it)
    error_of(_send(client, "POST", "/api/tokens", "[" * 40 + '"' + '\\"' * 100_000, {}), 400, "invalid_json")


def test_a_5000_digit_integer_is_400(world):  # R: A-X2 (item 4)
    app, client, auth, draft = world
    huge = "9" * 5_000
    error = error_of(_send(client, "POST", "/api/applications",
                           '{"service": "api-permit", "answers": {"shop_area": %s}}' % huge, auth),
                     400, "number_too_large")
    assert str(MAX_NUMBER_CHARS) in error["en"]
    error_of(_send(client, "POST", "/api/tokens", '{"email": %s, "password": "x"}' % huge, {}), 400,
             "number_too_large")
    error_of(_send(client, "PUT", f"/api/applications/{draft['id']}/answers",
                   '{"answers": {}, "version": %s}' % huge, auth), 400, "number_too_large")
    # a long but ordinary number still reads
    r = _send(client, "PUT", f"/api/applications/{draft['id']}/answers",
              '{"answers": {"shop_area": 120.50000000000000000000}, "version": %d}' % draft["version"], auth)
    assert r.status_code == 200 and r.json()["answers"]["shop_area"] == 120.5


def test_an_unpaired_surrogate_escape_is_400(world):  # R: A-X2
    app, client, auth, draft = world
    r = _send(client, "PUT", f"/api/applications/{draft['id']}/answers",
              '{"answers": {"shop_name": "\\ud800"}, "version": %d}' % draft["version"], auth)
    error_of(r, 400, "invalid_json")
    paired = _send(client, "PUT", f"/api/applications/{draft['id']}/answers",
                   '{"answers": {"shop_name": "\\ud83d\\ude00"}, "version": %d}' % draft["version"], auth)
    assert paired.status_code == 200 and paired.json()["answers"]["shop_name"] == "😀"


def test_bodies_that_are_not_utf8_are_400(world):  # R: A-X2
    app, client, auth, draft = world
    r = client.post("/api/tokens", content=b'{"email": "\xff\xfe", "password": "x"}', headers=JSON)
    error_of(r, 400, "invalid_json")
