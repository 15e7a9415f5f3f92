"""Thai national id, juristic id and phone numbers."""
from __future__ import annotations

import random
import re

import jsonschema
import pytest

from eservice.plugin_api import field_types
from eservice.plugins.thai_validators import (
    check_juristic_id,
    check_thai_id,
    check_thai_phone,
    is_mobile,
    is_valid_juristic_id,
    is_valid_thai_id,
    is_valid_thai_phone,
    normalize_juristic_id,
    normalize_thai_id,
    normalize_thai_phone,
    thai_id_check_digit,
)

THAI = re.compile(r"[\u0E00-\u0E7F]")


def reference_check_digit(first12: str) -> str:
    """Written independently of the plugin, in the form of the DOPA description:
    x = Σ digit×weight (weights 13…2) mod 11; check = 1 - x if x <= 1 else 11 - x."""
    weights = list(range(13, 1, -1))
    x = sum(w * int(c) for w, c in zip(weights, first12)) % 11
    return str(1 - x if x <= 1 else 11 - x)


def make_id(first12: str) -> str:
    return first12 + reference_check_digit(first12)


def random_ids(n: int, first: str = "", seed: int = 2565) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        body = first + "".join(rng.choice("0123456789") for _ in range(12 - len(first)))
        out.append(make_id(body))
    return out


def codes(messages) -> list[str]:
    return [m.code for m in messages]


# --------------------------------------------------------------------------- #
# National id
# --------------------------------------------------------------------------- #


def test_example_from_the_brief_is_valid_and_normalized():
    assert is_valid_thai_id("1-2345-67890-12-1")
    assert normalize_thai_id("1-2345-67890-12-1") == "1234567890121"
    assert normalize_thai_id(" 1 2345 67890 12 1 ") == "1234567890121"
    assert normalize_thai_id("๑๒๓๔๕๖๗๘๙๐๑๒๑") == "1234567890121"  # Thai digits


@pytest.mark.parametrize("tid", random_ids(300, first="1") + random_ids(200, seed=7))
def test_generated_ids_are_valid(tid):
    assert check_thai_id(tid) == []
    assert thai_id_check_digit(tid[:12]) == int(tid[12])


@pytest.mark.parametrize("tid", random_ids(100, first="3", seed=11))
def test_every_wrong_check_digit_is_rejected(tid):
    for d in "0123456789":
        if d == tid[12]:
            continue
        assert codes(check_thai_id(tid[:12] + d)) == ["thai_id.checksum"]


def test_check_digit_edge_cases_of_the_mod_11_rule():
    # find bodies whose weighted sum mod 11 is 0, 1 and 10: check digits 1, 0, 1
    seen = {}
    for body in (f"{n:012d}" for n in range(0, 5000)):
        x = sum(w * int(c) for w, c in zip(range(13, 1, -1), body)) % 11
        seen.setdefault(x, body)
    assert {0, 1, 10} <= set(seen)
    assert thai_id_check_digit(seen[0]) == 1
    assert thai_id_check_digit(seen[1]) == 0
    assert thai_id_check_digit(seen[10]) == 1
    for x, body in seen.items():
        assert str(thai_id_check_digit(body)) == reference_check_digit(body)


@pytest.mark.parametrize(
    "value, code",
    [
        ("123456789012", "thai_id.length"),
        ("12345678901211", "thai_id.length"),
        ("1-2345-67890-12", "thai_id.length"),
        ("1234567890A21", "thai_id.not_digits"),
        ("1/2345/67890/12/1", "thai_id.not_digits"),
        ("1234567890122", "thai_id.checksum"),
        ("", "thai_id.required"),
        (None, "thai_id.required"),
    ],
)
def test_invalid_ids_say_why(value, code):
    messages = check_thai_id(value)
    assert codes(messages) == [code]
    assert THAI.search(messages[0].th) and not THAI.search(messages[0].en)
    assert not is_valid_thai_id(value)


def test_length_message_gives_the_count():
    (m,) = check_thai_id("12345")
    assert "13" in m.th and "5" in m.th and "13" in m.en and "5" in m.en


def test_normalize_refuses_invalid():
    with pytest.raises(ValueError):
        normalize_thai_id("1234567890122")


# --------------------------------------------------------------------------- #
# Juristic id
# --------------------------------------------------------------------------- #

# Registration numbers of listed companies, published by DBD and the SET.
PUBLIC_JURISTIC_IDS = [
    "0107544000108",  # PTT Public Company Limited
    "0107542000011",  # CP ALL Public Company Limited
    "0107536000102",  # Siam Commercial Bank (SCB) Public Company Limited
]


@pytest.mark.parametrize("jid", PUBLIC_JURISTIC_IDS)
def test_known_public_juristic_ids_are_valid(jid):
    assert reference_check_digit(jid[:12]) == jid[12]  # the test's own algorithm agrees
    assert is_valid_juristic_id(jid)
    assert is_valid_juristic_id(f"{jid[0]}-{jid[1:3]}-{jid[3]}-{jid[4:7]}-{jid[7:12]}-{jid[12]}")
    assert normalize_juristic_id(f"{jid[:5]} {jid[5:]}") == jid


@pytest.mark.parametrize("jid", random_ids(100, first="0105", seed=3))
def test_generated_juristic_ids_are_valid(jid):
    assert is_valid_juristic_id(jid)


def test_juristic_id_errors():
    assert codes(check_juristic_id("0107544000109")) == ["juristic_id.checksum"]
    assert codes(check_juristic_id("010754400010")) == ["juristic_id.length"]
    assert codes(check_juristic_id("0107544OOO108")) == ["juristic_id.not_digits"]
    # a valid *personal* id is not a juristic id
    (m,) = check_juristic_id("1-2345-67890-12-1")
    assert m.code == "juristic_id.prefix" and "0" in m.th and "0" in m.en
    assert "นิติบุคคล" in m.th and "juristic" in m.en


# --------------------------------------------------------------------------- #
# Phone
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "raw, normalized",
    [
        ("0812345678", "0812345678"),
        ("081-234-5678", "0812345678"),
        ("081 234 5678", "0812345678"),
        ("(081) 234-5678", "0812345678"),
        ("+66 81 234 5678", "0812345678"),
        ("+66812345678", "0812345678"),
        ("+66 (0) 81 234 5678", "0812345678"),
        ("+66 081 234 5678", "0812345678"),
        ("0066 81 234 5678", "0812345678"),
        ("66812345678", "0812345678"),
        ("0912345678", "0912345678"),
        ("0612345678", "0612345678"),
        ("02-123-4567", "021234567"),
        ("+66 2 123 4567", "021234567"),
        ("053 123 456", "053123456"),
        ("074-123456", "074123456"),
        ("๐๘๑๒๓๔๕๖๗๘", "0812345678"),
    ],
)
def test_valid_phone_forms(raw, normalized):
    assert check_thai_phone(raw) == []
    assert normalize_thai_phone(raw) == normalized


@pytest.mark.parametrize(
    "raw, code",
    [
        ("081234567", "thai_phone.length"),  # mobile with 9 digits
        ("08123456789", "thai_phone.length"),  # mobile with 11 digits
        ("0212345678", "thai_phone.length"),  # landline with 10 digits
        ("02123456", "thai_phone.length"),
        ("0112345678", "thai_phone.prefix"),  # 01 is no longer used
        ("061234567", "thai_phone.length"),  # 06 is mobile: 10 digits
        ("812345678", "thai_phone.prefix"),  # no leading 0
        ("+1 212 555 0100", "thai_phone.prefix"),
        ("081-234-567x", "thai_phone.not_digits"),
        ("", "thai_phone.required"),
        (None, "thai_phone.required"),
    ],
)
def test_invalid_phone_forms(raw, code):
    messages = check_thai_phone(raw)
    assert codes(messages) == [code]
    assert THAI.search(messages[0].th) and messages[0].en
    assert not is_valid_thai_phone(raw)


def test_phone_length_message_says_mobile_or_landline():
    (mobile,) = check_thai_phone("081234567")
    assert "10" in mobile.th and "มือถือ" in mobile.th and "mobile" in mobile.en
    (landline,) = check_thai_phone("0212345678")
    assert "9" in landline.th and "landline" in landline.en


def test_is_mobile():
    assert is_mobile("+66 81 234 5678")
    assert not is_mobile("02 123 4567")


# --------------------------------------------------------------------------- #
# As field types
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "name, raw, stored",
    [
        ("thai_national_id", "1-2345-67890-12-1", "1234567890121"),
        ("thai_juristic_id", "0-1075-44000-10-8", "0107544000108"),
        ("thai_phone", "+66 81 234 5678", "0812345678"),
    ],
)
def test_field_types_clean_to_values_their_schema_accepts(name, raw, stored):
    ft = field_types()[name]
    value, messages = ft.clean(raw)
    assert (value, messages) == (stored, [])
    jsonschema.validate(value, dict(ft.schema))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(raw, dict(ft.schema))  # the raw form is not what is stored


def test_field_type_reports_messages_and_keeps_the_raw_value():
    ft = field_types()["thai_national_id"]
    value, messages = ft.clean("1234567890122")
    assert value == "1234567890122"
    assert codes(messages) == ["thai_id.checksum"]
