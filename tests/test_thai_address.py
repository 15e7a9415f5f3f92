"""The Thai address dataset, its cascade lookups and the thai_address field type."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from importlib.resources import files

import jsonschema
import pytest

from eservice.plugin_api import field_types
from eservice.plugins import thai_address as ta

GOVERNMENT_HOUSE = {
    "line": "1 ถนนพิษณุโลก",
    "subdistrict": "ดุสิต",
    "district": "เขตดุสิต",
    "province": "กรุงเทพมหานคร",
    "postcode": "10300",
}
CHIANG_MAI_CITY_HALL = {
    "line": "ศาลากลางจังหวัดเชียงใหม่ ถนนโชตนา",
    "subdistrict": "ต.ช้างเผือก",
    "district": "อ.เมืองเชียงใหม่",
    "province": "จ.เชียงใหม่",
    "postcode": "50300",
}


def codes(messages):
    return [m.code for m in messages]


# --------------------------------------------------------------------------- #
# Dataset and cascade
# --------------------------------------------------------------------------- #


def test_dataset_file_is_packaged_small_and_attributed():
    blob = files("eservice.plugins").joinpath("data/thai_address.json.gz").read_bytes()
    assert len(blob) < 1_000_000
    data = json.loads(gzip.decompress(blob))
    assert data["meta"]["counts"] == {"provinces": 77, "districts": 928, "subdistricts": 7436}
    info = ta.dataset_info()
    assert "geothai" in info["source"].lower()
    assert "CC-BY-4.0" in info["licence"]
    assert "GeoThai" in info["attribution"]
    assert "Creative Commons Attribution 4.0" in " ".join(info["notice"].split())
    assert "Joe Takara" in info["notice"]  # the MIT notice of the postcode base data


def test_dataset_loads_lazily_and_once():
    code = textwrap.dedent(
        """
        from eservice.plugins import thai_address as ta
        from eservice.plugin_api import field_types
        assert "thai_address" in field_types()
        assert ta._index.cache_info().currsize == 0, "loaded at import"
        ta.provinces(); ta.districts("10"); ta.provinces()
        info = ta._index.cache_info()
        assert (info.misses, info.currsize) == (1, 1), info
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_cascade_sizes():
    provs = ta.provinces()
    assert len(provs) == 77
    assert len({p.code for p in provs}) == 77
    assert provs[0].code == "10" and provs[0].name_th == "กรุงเทพมหานคร"
    assert provs[0].name_en == "Bangkok"
    assert len(ta.districts("กรุงเทพมหานคร")) == 50
    assert sum(len(ta.districts(p)) for p in provs) == 928
    assert sum(len(ta.subdistricts("10", d)) for d in ta.districts("10")) == 180
    total = sum(len(ta.subdistricts(p, d)) for p in provs for d in ta.districts(p))
    assert total == 7436
    assert len(ta.districts("เชียงใหม่")) == 25


def test_every_place_has_thai_and_english_names_and_postcodes():
    for p in ta.provinces():
        assert p.name_th and p.name_en
        for d in ta.districts(p):
            assert d.code.startswith(p.code) and d.name_th and d.name_en
            assert not d.name_th.startswith(("เขต", "อำเภอ"))
            for s in ta.subdistricts(p, d):
                assert s.code.startswith(d.code) and s.name_th and s.name_en
                assert s.postcodes and all(len(pc) == 5 and pc.isdigit() for pc in s.postcodes)


@pytest.mark.parametrize(
    "name", ["กรุงเทพมหานคร", "กรุงเทพฯ", "กทม.", "Bangkok", "bangkok", "10", "จังหวัดกรุงเทพมหานคร"]
)
def test_province_spellings(name):
    p = ta.find_province(name)
    assert p is not None and p.code == "10"


def test_district_and_subdistrict_spellings():
    assert ta.find_district("เชียงใหม่", "อ.เมือง").code == "5001"
    assert ta.find_district("Chiang Mai", "Mueang Chiang Mai District").code == "5001"
    assert ta.find_district("เชียงใหม่", "อำเภอเมืองเชียงใหม่").code == "5001"
    assert ta.find_district("10", "เขตคลองเตย").name_en == "Khlong Toei"
    assert ta.find_district("10", "เมือง") is None  # Bangkok has no capital district
    assert ta.find_subdistrict("10", "ปทุมวัน", "แขวงลุมพินี").name_en == "Lumphini"
    assert ta.find_subdistrict("ระนอง", "กระบุรี", "ต.จ.ป.ร.").code == "850406"
    # a subdistrict is only found in its own district
    assert ta.find_subdistrict("10", "คลองเตย", "ลุมพินี") is None


def test_unknown_names_give_empty_results():
    assert ta.districts("Atlantis") == []
    assert ta.subdistricts("เชียงใหม่", "ไม่มีอำเภอนี้") == []
    assert ta.postcodes("10", "ดุสิต", "ไม่มี") == []
    assert ta.by_postcode("99999") == []
    assert ta.find_province("Atlantis") is None


def test_postcodes_and_lookup_by_postcode():
    assert ta.postcodes("กรุงเทพมหานคร", "ดุสิต", "ดุสิต") == ["10300"]
    assert ta.postcodes("10", "ปทุมวัน", "ลุมพินี") == ["10330"]
    assert ta.postcodes("10", "ดุสิต", "สวนจิตรลดา") == ["10300", "10303"]
    places = ta.by_postcode("50300")
    assert any(pl.subdistrict.name_th == "ช้างเผือก" for pl in places)
    assert {pl.province.name_th for pl in places} == {"เชียงใหม่"}
    bangkok_10300 = {pl.subdistrict.name_th for pl in ta.by_postcode("10300")}
    assert "ดุสิต" in bangkok_10300 and "ลุมพินี" not in bangkok_10300


def test_english_names_shared_by_two_districts():
    bang_sai = [d for d in ta.districts("14") if d.name_en == "Bang Sai"]
    assert {d.name_th for d in bang_sai} == {"บางไทร", "บางซ้าย"}
    assert ta.find_district("14", "Bang Sai") is None  # ambiguous in English
    assert ta.find_district("14", "บางซ้าย").code in {d.code for d in bang_sai}


# --------------------------------------------------------------------------- #
# The thai_address field type
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("address", [GOVERNMENT_HOUSE, CHIANG_MAI_CITY_HALL])
def test_real_addresses_are_consistent(address):
    assert ta.check_address(address) == []


def test_normalized_address_uses_official_names_and_fits_the_schema():
    ft = field_types()["thai_address"]
    english = {
        "line": "  1  Phitsanulok Road ",
        "subdistrict": "Dusit",
        "district": "Dusit District",
        "province": "Bangkok",
        "postcode": "10300",
    }
    value, messages = ft.clean(english)
    assert messages == []
    assert value == {
        "line": "1 Phitsanulok Road",
        "subdistrict": "ดุสิต",
        "district": "ดุสิต",
        "province": "กรุงเทพมหานคร",
        "postcode": "10300",
        "subdistrict_code": "100201",
    }
    jsonschema.validate(value, dict(ft.schema))
    assert ft.normalize(CHIANG_MAI_CITY_HALL)["district"] == "เมืองเชียงใหม่"


def test_format_address():
    assert ta.format_address(GOVERNMENT_HOUSE) == (
        "1 ถนนพิษณุโลก แขวงดุสิต เขตดุสิต กรุงเทพมหานคร 10300"
    )
    assert ta.format_address(CHIANG_MAI_CITY_HALL) == (
        "ศาลากลางจังหวัดเชียงใหม่ ถนนโชตนา ตำบลช้างเผือก อำเภอเมืองเชียงใหม่ จังหวัดเชียงใหม่ 50300"
    )
    assert ta.format_address(GOVERNMENT_HOUSE, "en") == (
        "1 ถนนพิษณุโลก, Dusit Subdistrict, Dusit District, Bangkok 10300"
    )
    with pytest.raises(ValueError):
        ta.format_address(dict(GOVERNMENT_HOUSE, postcode="10110"))


def test_wrong_postcode_is_rejected_naming_the_postcode():
    messages = ta.check_address(dict(GOVERNMENT_HOUSE, postcode="10110"))
    assert codes(messages) == ["thai_address.postcode_mismatch"]
    (m,) = messages
    assert m.path == ("postcode",)
    assert "รหัสไปรษณีย์" in m.th and "10110" in m.th and "10300" in m.th
    assert "Postcode" in m.en and "10110" in m.en and "10300" in m.en
    assert "ดุสิต" in m.th and "Dusit" in m.en


def test_postcode_must_have_five_digits():
    (m,) = ta.check_address(dict(GOVERNMENT_HOUSE, postcode="1030"))
    assert m.code == "thai_address.postcode_format" and m.path == ("postcode",)
    assert "1030" in m.th and "5" in m.th


def test_subdistrict_in_another_district_is_rejected_with_a_hint():
    (m,) = ta.check_address(
        {**GOVERNMENT_HOUSE, "subdistrict": "ลุมพินี", "postcode": "10330"}
    )
    assert m.code == "thai_address.subdistrict_unknown" and m.path == ("subdistrict",)
    assert "แขวง" in m.th and "ลุมพินี" in m.th and "เขตดุสิต" in m.th
    assert "ปทุมวัน" in m.th  # where it really is
    assert "Pathum Wan" in m.en


def test_district_not_in_province_is_rejected():
    (m,) = ta.check_address({**CHIANG_MAI_CITY_HALL, "district": "เขตดุสิต"})
    assert m.code == "thai_address.district_unknown" and m.path == ("district",)
    assert "อำเภอ" in m.th and "ดุสิต" in m.th and "จังหวัดเชียงใหม่" in m.th
    assert "Chiang Mai" in m.en


def test_misspelt_names_get_a_suggestion():
    (m,) = ta.check_address({**GOVERNMENT_HOUSE, "province": "กรุงเทพหมานคร"})
    assert m.code == "thai_address.province_unknown" and m.path == ("province",)
    assert "กรุงเทพมหานคร" in m.th and "Did you mean" in m.en
    (m,) = ta.check_address({**CHIANG_MAI_CITY_HALL, "subdistrict": "ช้างเผีอก"})
    assert m.code == "thai_address.subdistrict_unknown" and "ช้างเผือก" in m.th


def test_missing_parts_are_each_named():
    messages = ta.check_address({"line": "", "province": "เชียงใหม่"})
    assert [m.path for m in messages] == [("line",), ("subdistrict",), ("district",), ("postcode",)]
    assert all(m.code == "thai_address.required" for m in messages)
    assert codes(ta.check_address("Bangkok")) == ["thai_address.type"]


def test_english_name_shared_by_two_subdistricts_is_settled_by_postcode():
    base = {"line": "1", "district": "Fang", "province": "Chiang Mai"}
    a = ta.normalize_address({**base, "subdistrict": "Mae Kha", "postcode": "50110"})
    b = ta.normalize_address({**base, "subdistrict": "Mae Kha", "postcode": "50320"})
    assert (a["subdistrict"], b["subdistrict"]) == ("แม่คะ", "แม่ข่า")


def test_every_subdistrict_validates_with_its_own_postcode():
    """The whole dataset is self-consistent through the public API."""
    checked = 0
    for p in ta.provinces():
        for d in ta.districts(p.code):
            for s in ta.subdistricts(p.code, d.code):
                address = {
                    "line": "1",
                    "subdistrict": s.name_th,
                    "district": d.name_th,
                    "province": p.name_th,
                    "postcode": s.postcodes[0],
                }
                assert ta.check_address(address) == [], address
                checked += 1
    assert checked == 7436
