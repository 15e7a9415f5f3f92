"""Finding a service by words (A-S2): the pure matching in eservice.web.search."""
from __future__ import annotations

from eservice.web.search import Entry, loosen, normalise, search

FOOD = Entry("food-shop", {
    "title": ["ใบอนุญาตจัดตั้งสถานที่จำหน่ายอาหาร", "Food shop permit"],
    "summary": ["ขออนุญาตเปิดร้านอาหารที่มีพื้นที่เกิน 200 ตารางเมตร", "Permit to open a restaurant over 200 m²"],
    "keywords": ["ร้านอาหาร", "restaurant", "ภัตตาคาร"],
    "category": ["สาธารณสุข", "Public health"],
    "agency": ["เทศบาลนครนนทบุรี", "Nonthaburi City Municipality"],
}, order=0)
BUILD = Entry("building", {
    "title": ["ใบอนุญาตก่อสร้างอาคาร", "Building permit"],
    "summary": ["ก่อสร้าง ดัดแปลง หรือรื้อถอนอาคาร รวมถึงอาคารที่ใช้เป็นร้านอาหาร", "Build, alter or demolish a building"],
    "keywords": ["อาคาร", "construction"],
    "category": ["โยธา", "Public works"],
    "agency": ["เทศบาลนครนนทบุรี", "Nonthaburi City Municipality"],
}, order=1)
CERT = Entry("residence", {
    "title": ["หนังสือรับรองถิ่นที่อยู่", "Certificate of residence"],
    "summary": ["รับรองว่าผู้ยื่นมีภูมิลำเนาในเขตเทศบาล", "Certifies where you live"],
    "category": ["ทะเบียน", "Registration"],
    "agency": ["สำนักงานเขตทดสอบ", "Test District Office"],
}, order=2)
ALL = [FOOD, BUILD, CERT]


def keys(query, entries=ALL):
    return [h.key for h in search(query, entries)]


# -- normalisation -----------------------------------------------------------------------
def test_normalise_removes_spaces_zero_width_and_punctuation_and_folds_case():
    # R: A-S2 — Thai is written without spaces; pasted text carries zero-width spaces.
    assert normalise("ร้าน อาหาร") == "ร้านอาหาร"
    assert normalise("ร้าน\u200bอาหาร") == "ร้านอาหาร"
    assert normalise("  Food-Shop  Permit ") == "foodshoppermit"
    assert normalise(None) == ""


def test_normalise_joins_sara_am_typed_as_two_characters():
    assert normalise("น\u0e4d\u0e32") == normalise("นำ") == "น\u0e33"


def test_loosen_drops_tone_marks_only():
    assert loosen(normalise("ร้านอาหาร")) == "รานอาหาร"
    assert loosen("food") == "food"


# -- matching -------------------------------------------------------------------------------
def test_partial_thai_word_matches_inside_a_title():
    # R: A-S2 — "อนุญาต" is part of "ใบอนุญาต…".
    assert set(keys("อนุญาต")) == {"food-shop", "building"}
    assert keys("จำหน่าย") == ["food-shop"]


def test_query_with_spaces_matches_text_without_spaces():
    assert "food-shop" in keys("ร้าน อาหาร")
    assert keys("สถานที่ จำหน่าย อาหาร") == ["food-shop"]


def test_terms_in_another_order_match_all_terms():
    assert keys("อาหาร จำหน่าย") == ["food-shop"]
    assert keys("permit food") == ["food-shop"]


def test_every_term_must_match_somewhere():
    assert keys("อาหาร zzzz") == []


def test_english_words_and_partial_words_match_case_insensitively():
    assert keys("RESTAURANT") == ["food-shop"]
    assert set(keys("perm")) == {"food-shop", "building"}
    assert keys("residence") == ["residence"]


def test_missing_tone_marks_still_find_the_service():
    # "รานอาหาร" typed without mai tho.
    assert keys("รานอาหาร")[0] == "food-shop"


def test_exact_match_is_preferred_to_tone_mark_fallback():
    hits = search("ร้านอาหาร", ALL)
    loose = search("รานอาหาร", ALL)
    assert hits[0].score > loose[0].score


def test_agency_and_category_names_are_searched():
    assert set(keys("นนทบุรี")) == {"food-shop", "building"}
    assert keys("public health") == ["food-shop"]


def test_title_matches_rank_before_summary_matches():
    # "ร้านอาหาร" is a keyword of food-shop and only in the summary of building;
    # "อาคาร" is in building's title but only inside "ภัตตาคาร" for food-shop.
    assert keys("ร้านอาหาร") == ["food-shop", "building"]
    assert keys("อาคาร")[0] == "building"


def test_title_starting_with_query_ranks_above_title_containing_it():
    a = Entry("a", {"title": ["ใบรับรองแพทย์"]}, order=0)
    b = Entry("b", {"title": ["ขอใบรับรอง"]}, order=1)
    assert keys("ใบรับรอง", [b, a]) == ["a", "b"]


def test_hits_report_which_fields_matched_best_first():
    hit = search("restaurant", ALL)[0]
    assert hit.fields[0] == "keywords"
    assert "summary" in hit.fields


def test_nonsense_and_empty_queries_find_nothing():
    assert keys("qwxz") == []
    assert keys("") == []
    assert keys("   ") == []
    assert keys("!!! ...") == []


def test_limit_and_payload():
    e = Entry("x", {"title": ["ใบอนุญาต"]}, payload={"id": "x"})
    assert search("ใบ", [e])[0].payload == {"id": "x"}
    assert len(search("อนุญาต", ALL, limit=1)) == 1


def test_ties_keep_catalogue_order():
    a = Entry("a", {"title": ["ใบอนุญาต ก"]}, order=1)
    b = Entry("b", {"title": ["ใบอนุญาต ข"]}, order=0)
    assert keys("อนุญาต", [a, b]) == ["b", "a"]
