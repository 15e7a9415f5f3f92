"""Hypothesis fuzzing of the JSON and form boundaries (issue #17 item 4; A-X2, A-F6).

Generated bodies (JSON of every shape, with NaN and Infinity, deep nesting,
huge numbers, control characters, bytes that are not UTF-8, broken multipart)
go to the API's JSON endpoints and to an e-Form page.  Whatever comes in:

* nothing answers 5xx;
* an API refusal has the API's error shape, in Thai and English;
* whatever was stored can be read back (``GET`` answers 200: no NaN poisons a
  record), and no stored answer holds a refused control character.

Bounded by ``max_examples`` and derandomised, so CI runs the same examples in
a few seconds; there is no timing threshold (``deadline=None``).
"""
from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from eservice.web.security import _opens as opens
from robustness_apps import api_app, bearer, csrf_of, signed_in, web_draft
from test_api import THAI

FUZZ = settings(max_examples=80, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
REFUSED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # never stored (LF only in multi-line text)
FIELDS = ["shop_name", "shop_area", "has_kitchen", "owner_name", "deposit", "opening", "shop_kind", "staff",
          "directions", "shop_address"]

# ------------------------------------------------------------------ strategies
scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=30) | st.sampled_from(["\x00", "a\r\nb", "a\rb", "\x1b[31m", "2569-02-28",
                                                    "1250.00", "cafe", "\ud800"]))
values = st.recursive(scalars, lambda children: st.lists(children, max_size=4)
                      | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=20)
answers = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), values, max_size=6)
numbers = st.integers() | st.floats(allow_nan=True, allow_infinity=True)
plausible = st.fixed_dictionaries({}, optional={  # answers of the right shape, with hostile values
    "shop_name": st.text(max_size=30), "directions": st.text(max_size=60), "shop_area": numbers,
    "opening": st.dates().map(str) | st.sampled_from(["2569-02-28", "0001-01-01", "20260228", "2026-02-30"]),
    "deposit": st.sampled_from(["1250.00", "1e3", "NaN", "-1", "0.001"]) | st.text(max_size=6),
    "staff": st.lists(st.fixed_dictionaries({}, optional={"name": st.text(max_size=10), "age": numbers}),
                      max_size=3),
    "shop_address": st.fixed_dictionaries({p: st.text(max_size=10) for p in
                                           ("line", "subdistrict", "district", "province", "postcode")}),
})


def _dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")


json_bodies = st.one_of(
    values.map(_dumps),
    answers.map(lambda a: _dumps({"answers": a})),
    plausible.map(lambda a: _dumps({"answers": a})),
    plausible.map(lambda a: _dumps({"service": "api-permit", "answers": a})),
    st.tuples(st.sampled_from(["api-permit", "minimal-permit", "nope"]), answers).map(
        lambda t: _dumps({"service": t[0], "answers": t[1]})),
    st.sampled_from([3, 33, 2_000, 100_000]).map(lambda n: b'{"answers": {"staff": ' + b"[" * n + b"]" * n + b"}}"),
    st.sampled_from([20, 101, 4_301, 5_000]).map(lambda n: b'{"answers": {"shop_area": ' + b"9" * n + b"}}"),
    st.sampled_from([b"NaN", b"-Infinity", b'{"answers": {"shop_area": 1e999}}', b"[]", b"null", b'"x"']),
    st.binary(max_size=200),
)
form_pairs = st.lists(st.tuples(st.sampled_from(FIELDS + ["shop_address.line", "staff.0.name", "action"])
                                | st.text(max_size=8),
                                st.text(max_size=40) | st.sampled_from(["\x00", "a\r\nb", "a\rb", "\x1b"])),
                      max_size=8)
form_bodies = st.one_of(
    st.tuples(form_pairs, st.sampled_from(["later", "continue"])).map(
        lambda t: "&".join(f"{_q(k)}={_q(v)}" for k, v in [*t[0], ("action", t[1])]).encode("ascii")),
    form_pairs.map(lambda pairs: "&".join(f"{_q(k)}={_q(v)}" for k, v in pairs).encode("ascii")),
    st.binary(max_size=200),
    st.lists(st.sampled_from([b"shop_name=", b"%FF", b"%C3", b"\xff", b"&", b"=", b"%", b"+", b"a"]),
             max_size=20).map(b"".join),
)


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text.encode("utf-8", "surrogatepass"), safe="")


# ------------------------------------------------------------------ the app
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    app, clock = api_app(tmp_path_factory.mktemp("fuzz"))
    _user, auth = bearer(app, clock)
    with TestClient(app) as api, signed_in(app, "somchai@example.com") as browser:
        draft = api.post("/api/applications", json={"service": "api-permit"}, headers=auth).json()
        web_id = web_draft(browser)
        yield {"app": app, "api": api, "auth": auth, "draft": draft["id"], "browser": browser, "web_draft": web_id}


def _api_error(response) -> None:
    """A refusal in the API's one error shape, in Thai and English."""
    assert response.headers["content-type"].startswith("application/json"), response.text[:300]
    error = response.json()["error"]
    assert error["status"] == response.status_code and isinstance(error["code"], str) and error["code"]
    assert THAI.search(error["th"]) and error["en"], error
    assert isinstance(error["errors"], list)


def _stored_strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _stored_strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _stored_strings(item)


def _clean_record(world, app_id: str) -> None:
    record = world["app"].state.ctx.store.get_application(app_id)
    for text in _stored_strings(record["answers"]):
        assert not REFUSED.search(text), repr(text)


# ------------------------------------------------------------------ the API
@FUZZ
@given(body=json_bodies, target=st.sampled_from(["tokens", "create", "answers", "submit"]))
def test_api_json_bodies_never_5xx(world, body, target):  # R: A-X2, PR-3
    api, auth, app_id = world["api"], world["auth"], world["draft"]
    version = world["app"].state.ctx.store.get_application(app_id)["version"]
    method, url, headers = {
        "tokens": ("POST", "/api/tokens", {}),
        "create": ("POST", "/api/applications", auth),
        "answers": ("PUT", f"/api/applications/{app_id}/answers", {**auth, "If-Match": f'"{version}"'}),
        "submit": ("POST", f"/api/applications/{app_id}/submit", auth),
    }[target]
    response = api.request(method, url, content=body, headers={**headers, "Content-Type": "application/json"})
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        _api_error(response)
    elif target in ("create", "answers"):
        created = response.json()["id"]
        assert api.get(f"/api/applications/{created}", headers=auth).status_code == 200
        _clean_record(world, created)


# ------------------------------------------------------------------ web forms
@FUZZ
@given(body=form_bodies)
def test_eform_posts_never_5xx_and_store_no_control_characters(world, body):  # R: A-X2, A-F6
    browser, app_id = world["browser"], world["web_draft"]
    page = f"/applications/{app_id}/pages/shop"
    token = csrf_of(browser.get(page).text)
    response = browser.post(page, content=body, follow_redirects=False, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": token})
    assert response.status_code < 500, response.text[:500]
    if response.status_code in (400, 413):
        assert THAI.search(response.text) and "html" in response.headers["content-type"]
    _clean_record(world, app_id)


@FUZZ
@given(body=st.binary(max_size=300), boundary=st.sampled_from(["XYZ", "----b", ""]),
       token_first=st.booleans())
def test_multipart_posts_never_5xx(world, body, boundary, token_first):  # R: A-X2
    browser, app_id = world["browser"], world["web_draft"]
    docs = f"/applications/{app_id}/documents"
    token = csrf_of(browser.get(docs).text)
    if token_first:
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
                f"--{boundary}\r\n").encode() + body
    content_type = f"multipart/form-data; boundary={boundary}" if boundary else "multipart/form-data"
    for url in (docs, f"/applications/{app_id}/pages/shop"):
        response = browser.post(url, content=body, headers={"Content-Type": content_type}, follow_redirects=False)
        assert response.status_code < 500, (url, response.text[:500])
        if not token_first and not (boundary and opens(body, boundary.encode())):
            assert response.status_code == 400, url  # malformed, not a CSRF refusal (403)
        assert response.status_code != 404, url  # the page exists: a broken body is 400
