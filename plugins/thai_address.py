"""Thai addresses: province → district (อำเภอ/เขต) → subdistrict (ตำบล/แขวง) → postcode.

The dataset (``data/thai_address.json.gz``, built by
``scripts/build_address_data.py`` from GeoThai, CC BY 4.0 — see
``data/README.md``) is read lazily, on the first call that needs it, and kept.

Lookups accept a DOPA code (``"10"``, ``"1001"``, ``"100101"``), a Thai or an
English name, with or without the word for the level (จังหวัด, อำเภอ, เขต,
ตำบล, แขวง, จ., อ., ต., "Amphoe", "District", …) and ``กทม``/``กรุงเทพฯ`` for
Bangkok; ``เมือง``/``Mueang`` alone means the capital district of a province.
Thai names are unique within their parent; a few English names are not (two
"Bang Sai" districts in Ayutthaya), so for exactness pass a code or Thai name.

Field type ``thai_address``: a dict ``{line, subdistrict, district, province,
postcode}``, checked for consistency (the subdistrict is in the district, the
district in the province, and the postcode is one the subdistrict uses), with a
message naming the wrong part.  Normalized, the names become the official Thai
names and ``subdistrict_code`` (the six-digit DOPA code) is added.

Routes (``eservice_routes``, after the platform's own): the lists the e-Form's
address cascade reads (``forms.js``), JSON, cached for a day:

===============================================================  ==========================
``GET /api/address/provinces``                                   ``api_address_provinces``
``GET /api/address/districts?province=``                         ``api_address_districts``
``GET /api/address/subdistricts?province=&district=``            ``api_address_subdistricts``
``GET /api/address/postcodes?province=&district=&subdistrict=``  ``api_address_postcodes``
===============================================================  ==========================
"""
from __future__ import annotations

import difflib
import functools
import gzip
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from eservice.plugin_api import FieldType, Message, hookimpl

__all__ = [
    "District",
    "Place",
    "Province",
    "Subdistrict",
    "by_postcode",
    "check_address",
    "dataset_info",
    "districts",
    "find_district",
    "find_province",
    "find_subdistrict",
    "format_address",
    "normalize_address",
    "postcodes",
    "provinces",
    "subdistricts",
]

DATA_FILE = "data/thai_address.json.gz"
BANGKOK = "10"
PARTS = ("line", "subdistrict", "district", "province", "postcode")


@dataclass(frozen=True)
class Province:
    code: str
    name_th: str
    name_en: str

    @property
    def is_bangkok(self) -> bool:
        return self.code == BANGKOK

    def label(self, lang: str = "th") -> str:
        if lang == "en":
            return self.name_en
        return self.name_th if self.is_bangkok else f"จังหวัด{self.name_th}"


@dataclass(frozen=True)
class District:
    code: str
    name_th: str
    name_en: str

    @property
    def province_code(self) -> str:
        return self.code[:2]

    def label(self, lang: str = "th") -> str:
        if lang == "en":
            return f"{self.name_en} District"
        return f"{'เขต' if self.province_code == BANGKOK else 'อำเภอ'}{self.name_th}"


@dataclass(frozen=True)
class Subdistrict:
    code: str
    name_th: str
    name_en: str
    postcodes: tuple[str, ...]

    @property
    def district_code(self) -> str:
        return self.code[:4]

    @property
    def province_code(self) -> str:
        return self.code[:2]

    def label(self, lang: str = "th") -> str:
        if lang == "en":
            return f"{self.name_en} Subdistrict"
        return f"{'แขวง' if self.province_code == BANGKOK else 'ตำบล'}{self.name_th}"


@dataclass(frozen=True)
class Place:
    """A subdistrict with its district and province."""

    province: Province
    district: District
    subdistrict: Subdistrict


# --------------------------------------------------------------------------- #
# Names
# --------------------------------------------------------------------------- #

_LEVEL_WORDS = re.compile(
    r"^(?:จังหวัด|กิ่งอำเภอ|อำเภอ|เขต|ตำบล|แขวง|[จอต]\.|"
    r"(?:changwat|amphoe|amphur|khet|tambon|khwaeng)\s)\s*",
    re.IGNORECASE,
)
_LEVEL_SUFFIX = re.compile(r"\s(?:province|district|subdistrict|sub-district)$", re.IGNORECASE)
_MARKS = re.compile(r"[\s.'’\-]")
_BANGKOK_ALIASES = {"กทม", "กรุงเทพ", "กรุงเทพฯ", "กรุงเทพมหานคร", "bangkok", "bkk", "krungthep"}
_CAPITAL_ALIASES = {"เมือง", "mueang", "muang", "meuang"}


def _key(text: str) -> str:
    """One comparable form of a name: NFC, lower case, no level word, no marks."""
    text = unicodedata.normalize("NFC", text).strip().lower()
    while True:
        stripped = _LEVEL_SUFFIX.sub("", _LEVEL_WORDS.sub("", text)).strip()
        if stripped == text:
            break
        text = stripped
    return _MARKS.sub("", text)


# --------------------------------------------------------------------------- #
# The dataset, loaded once
# --------------------------------------------------------------------------- #


class _Index:
    def __init__(self, raw: Mapping[str, Any]):
        self.meta: dict[str, Any] = dict(raw["meta"])
        self.provinces = tuple(Province(*row) for row in raw["provinces"])
        self.province_by_code = {p.code: p for p in self.provinces}
        self.district_by_code: dict[str, District] = {}
        self.districts_of: dict[str, list[District]] = {p.code: [] for p in self.provinces}
        for row in raw["districts"]:
            d = District(*row)
            self.district_by_code[d.code] = d
            self.districts_of[d.province_code].append(d)
        self.subdistrict_by_code: dict[str, Subdistrict] = {}
        self.subdistricts_of: dict[str, list[Subdistrict]] = {c: [] for c in self.district_by_code}
        self.by_postcode: dict[str, list[Subdistrict]] = {}
        for code, th, en, postal in raw["subdistricts"]:
            s = Subdistrict(code, th, en, tuple(postal.split()))
            self.subdistrict_by_code[code] = s
            self.subdistricts_of[s.district_code].append(s)
            for pc in s.postcodes:
                self.by_postcode.setdefault(pc, []).append(s)
        # name keys → items, per parent
        self.province_keys: dict[str, list[Province]] = {}
        for p in self.provinces:
            for k in {_key(p.name_th), _key(p.name_en)}:
                self.province_keys.setdefault(k, []).append(p)
        for alias in _BANGKOK_ALIASES:
            self.province_keys.setdefault(_key(alias), [self.province_by_code[BANGKOK]])
        self.district_keys = {
            pc: _name_map(ds) for pc, ds in self.districts_of.items()
        }
        self.subdistrict_keys = {
            dc: _name_map(ss) for dc, ss in self.subdistricts_of.items()
        }


def _name_map(items: Iterable[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for item in items:
        for k in {_key(item.name_th), _key(item.name_en)}:
            out.setdefault(k, []).append(item)
    return out


@functools.cache
def _index() -> _Index:
    blob = files("eservice.plugins").joinpath(DATA_FILE).read_bytes()
    return _Index(json.loads(gzip.decompress(blob)))


def dataset_info() -> dict[str, Any]:
    """Source, version, licence, attribution and counts of the dataset."""
    return dict(_index().meta)


# --------------------------------------------------------------------------- #
# Lookups
# --------------------------------------------------------------------------- #


def _province_candidates(province: Province | str) -> list[Province]:
    ix = _index()
    if isinstance(province, Province):
        return [province]
    if not isinstance(province, str):
        return []
    text = province.strip()
    if text in ix.province_by_code:
        return [ix.province_by_code[text]]
    return list(ix.province_keys.get(_key(text), []))


def _district_candidates(province: Province | str, district: District | str) -> list[District]:
    ix = _index()
    out: list[District] = []
    for p in _province_candidates(province):
        if isinstance(district, District):
            out += [district] if district.province_code == p.code else []
            continue
        if not isinstance(district, str):
            continue
        text = district.strip()
        if text in ix.district_by_code:
            d = ix.district_by_code[text]
            out += [d] if d.province_code == p.code else []
            continue
        k = _key(text)
        found = ix.district_keys[p.code].get(k, [])
        if not found and k in _CAPITAL_ALIASES and not p.is_bangkok:
            found = [ix.district_by_code[p.code + "01"]]
        out += found
    return out


def _subdistrict_candidates(
    province: Province | str, district: District | str, subdistrict: Subdistrict | str
) -> list[Subdistrict]:
    ix = _index()
    out: list[Subdistrict] = []
    for d in _district_candidates(province, district):
        if isinstance(subdistrict, Subdistrict):
            out += [subdistrict] if subdistrict.district_code == d.code else []
            continue
        if not isinstance(subdistrict, str):
            continue
        text = subdistrict.strip()
        if text in ix.subdistrict_by_code:
            s = ix.subdistrict_by_code[text]
            out += [s] if s.district_code == d.code else []
            continue
        out += ix.subdistrict_keys[d.code].get(_key(text), [])
    return out


def provinces() -> list[Province]:
    """All 77 provinces (Bangkok counted as one), sorted by code."""
    return list(_index().provinces)


def find_province(province: str) -> Province | None:
    """The province for a code or a name, or None."""
    found = _province_candidates(province)
    return found[0] if found else None


def find_district(province: Province | str, district: str) -> District | None:
    """The district for a code or a name inside a province; None when unknown
    or when an English name is shared by two districts."""
    found = _district_candidates(province, district)
    return found[0] if len(found) == 1 else None


def find_subdistrict(
    province: Province | str, district: District | str, subdistrict: str
) -> Subdistrict | None:
    found = _subdistrict_candidates(province, district, subdistrict)
    return found[0] if len(found) == 1 else None


def districts(province: Province | str) -> list[District]:
    """The districts (อำเภอ, or เขต in Bangkok) of a province, by code; [] if unknown."""
    ix = _index()
    return [d for p in _province_candidates(province) for d in ix.districts_of[p.code]]


def subdistricts(province: Province | str, district: District | str) -> list[Subdistrict]:
    """The subdistricts (ตำบล, or แขวง in Bangkok) of a district; [] if unknown."""
    ix = _index()
    return [
        s for d in _district_candidates(province, district) for s in ix.subdistricts_of[d.code]
    ]


def postcodes(
    province: Province | str, district: District | str, subdistrict: Subdistrict | str
) -> list[str]:
    """The postcodes a subdistrict uses (usually one; 160 subdistricts have two or more)."""
    found = _subdistrict_candidates(province, district, subdistrict)
    return sorted({pc for s in found for pc in s.postcodes})


def by_postcode(postcode: str) -> list[Place]:
    """Every subdistrict that uses a postcode, with its district and province."""
    ix = _index()
    if not isinstance(postcode, str):
        return []
    return [_place(s) for s in ix.by_postcode.get(postcode.strip(), [])]


def _place(s: Subdistrict) -> Place:
    ix = _index()
    return Place(ix.province_by_code[s.province_code], ix.district_by_code[s.district_code], s)


# --------------------------------------------------------------------------- #
# The thai_address field type
# --------------------------------------------------------------------------- #


def _text(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def _suggest(typed: str, items: Iterable[Any]) -> tuple[str, str]:
    """(" หรือคุณหมายถึง …", " Did you mean …?") for the closest names, or ("", "")."""
    items = list(items)
    keys: dict[str, Any] = {}
    for item in items:
        keys.setdefault(_key(item.name_th), item)
        keys.setdefault(_key(item.name_en), item)
    close = difflib.get_close_matches(_key(typed), list(keys), n=3, cutoff=0.6)
    picked: list[Any] = []
    for k in close:
        if keys[k] not in picked:
            picked.append(keys[k])
    if not picked:
        return "", ""
    th = " หรือ ".join(f"“{i.name_th}”" for i in picked)
    en = " or ".join(f"“{i.name_en}” ({i.name_th})" for i in picked)
    return f" หมายถึง {th} หรือไม่", f" Did you mean {en}?"


_DISTRICT_WORD = {True: ("เขต", "district (khet)"), False: ("อำเภอ", "district (amphoe)")}
_SUBDISTRICT_WORD = {True: ("แขวง", "subdistrict (khwaeng)"), False: ("ตำบล", "subdistrict (tambon)")}
_REQUIRED = {
    "line": ("บ้านเลขที่ หมู่ ซอย ถนน", "the house number and street"),
    "subdistrict": ("ตำบล/แขวง", "the subdistrict (tambon/khwaeng)"),
    "district": ("อำเภอ/เขต", "the district (amphoe/khet)"),
    "province": ("จังหวัด", "the province"),
    "postcode": ("รหัสไปรษณีย์", "the postcode"),
}


def _resolve(value: Any) -> tuple[Place | None, list[Message]]:
    """Match an address dict against the dataset: (place, problems)."""
    if not isinstance(value, Mapping):
        return None, [
            Message(
                "thai_address.type",
                "ที่อยู่ต้องประกอบด้วย บ้านเลขที่/ถนน ตำบล/แขวง อำเภอ/เขต จังหวัด และรหัสไปรษณีย์",
                "An address needs a house number and street, subdistrict, district, "
                "province and postcode",
            )
        ]
    parts = {name: _text(value.get(name)) for name in PARTS}
    messages = [
        Message("thai_address.required", f"กรุณากรอก{th}", f"Enter {en}", (name,))
        for name, (th, en) in _REQUIRED.items()
        if not parts[name]
    ]
    postcode = parts["postcode"]
    if postcode and not re.fullmatch(r"\d{5}", postcode):
        messages.append(
            Message(
                "thai_address.postcode_format",
                f"รหัสไปรษณีย์ “{postcode}” ไม่ถูกต้อง ต้องเป็นตัวเลข 5 หลัก",
                f"Postcode “{postcode}” is not valid: a postcode has 5 digits",
                ("postcode",),
            )
        )
        postcode = ""

    ix = _index()
    # Province
    if not parts["province"]:
        return None, messages
    provs = _province_candidates(parts["province"])
    if not provs:
        th, en = _suggest(parts["province"], ix.provinces)
        messages.append(
            Message(
                "thai_address.province_unknown",
                f"ไม่พบจังหวัด “{parts['province']}”{th}",
                f"There is no province “{parts['province']}”.{en}",
                ("province",),
            )
        )
        return None, messages
    prov = provs[0]
    bkk = prov.is_bangkok
    # District
    if not parts["district"]:
        return None, messages
    dists = _district_candidates(prov, parts["district"])
    if not dists:
        word_th, word_en = _DISTRICT_WORD[bkk]
        th, en = _suggest(parts["district"], ix.districts_of[prov.code])
        messages.append(
            Message(
                "thai_address.district_unknown",
                f"ไม่พบ{word_th} “{parts['district']}” ใน{prov.label('th')}{th}",
                f"There is no {word_en} “{parts['district']}” in {prov.name_en}.{en}",
                ("district",),
            )
        )
        return None, messages
    # Subdistrict
    if not parts["subdistrict"]:
        return None, messages
    subs = [
        s for d in dists for s in _subdistrict_candidates(prov, d, parts["subdistrict"])
    ]
    if not subs:
        word_th, word_en = _SUBDISTRICT_WORD[bkk]
        where_th = " ".join([dists[0].label("th"), prov.label("th")])
        where_en = f"{dists[0].name_en} district, {prov.name_en}"
        th, en = _suggest(
            parts["subdistrict"], [s for d in dists for s in ix.subdistricts_of[d.code]]
        )
        elsewhere = [
            s
            for d in ix.districts_of[prov.code]
            for s in ix.subdistrict_keys[d.code].get(_key(parts["subdistrict"]), [])
        ]
        if elsewhere and not th:
            other = ix.district_by_code[elsewhere[0].district_code]
            th = f" ({word_th}{elsewhere[0].name_th} อยู่ใน{other.label('th')})"
            en = f" ({elsewhere[0].name_en} is in {other.name_en} district.)"
        messages.append(
            Message(
                "thai_address.subdistrict_unknown",
                f"ไม่พบ{word_th} “{parts['subdistrict']}” ใน{where_th}{th}",
                f"There is no {word_en} “{parts['subdistrict']}” in {where_en}.{en}",
                ("subdistrict",),
            )
        )
        return None, messages
    # Postcode
    if not postcode:
        return (_place(subs[0]) if len(subs) == 1 else None), messages
    fitting = [s for s in subs if postcode in s.postcodes]
    if not fitting:
        s = subs[0]
        d = ix.district_by_code[s.district_code]
        expected = sorted({pc for s2 in subs for pc in s2.postcodes})
        messages.append(
            Message(
                "thai_address.postcode_mismatch",
                f"รหัสไปรษณีย์ {postcode} ไม่ตรงกับ{s.label('th')} {d.label('th')} "
                f"{prov.label('th')} (รหัสไปรษณีย์ที่ถูกต้องคือ {' หรือ '.join(expected)})",
                f"Postcode {postcode} does not match {s.name_en} subdistrict, "
                f"{d.name_en} district, {prov.name_en} (it should be {' or '.join(expected)})",
                ("postcode",),
            )
        )
        return None, messages
    if len(fitting) > 1:
        messages.append(
            Message(
                "thai_address.ambiguous",
                "ชื่อตำบล/อำเภอภาษาอังกฤษนี้ตรงกับหลายแห่ง กรุณากรอกชื่อภาษาไทย",
                "These English names match more than one place; enter the Thai names",
                ("subdistrict",),
            )
        )
        return None, messages
    return _place(fitting[0]), messages


def check_address(value: Any) -> list[Message]:
    """Problems with an address dict; empty when it is complete and consistent."""
    return _resolve(value)[1]


def normalize_address(value: Any) -> dict[str, str]:
    """The official Thai names, the postcode and ``subdistrict_code``."""
    place, messages = _resolve(value)
    if messages or place is None:
        raise ValueError(messages[0].en if messages else "address is incomplete")
    return {
        "line": " ".join(_text(value.get("line")).split()),
        "subdistrict": place.subdistrict.name_th,
        "district": place.district.name_th,
        "province": place.province.name_th,
        "postcode": _text(value.get("postcode")),
        "subdistrict_code": place.subdistrict.code,
    }


def format_address(value: Any, lang: str = "th") -> str:
    """One line for letters and licences, in the customary Thai or English order.

    ``123 ถนนพระราม 4 แขวงคลองเตย เขตคลองเตย กรุงเทพมหานคร 10110``
    ``123 Rama 4 Road, Khlong Toei Subdistrict, Khlong Toei District, Bangkok 10110``
    """
    place, messages = _resolve(value)
    if messages or place is None:
        raise ValueError(messages[0].en if messages else "address is incomplete")
    line = " ".join(_text(value.get("line")).split())
    postcode = _text(value.get("postcode"))
    s, d, p = place.subdistrict, place.district, place.province
    if lang == "en":
        return f"{line}, {s.label('en')}, {d.label('en')}, {p.name_en} {postcode}"
    return f"{line} {s.label('th')} {d.label('th')} {p.label('th')} {postcode}"


THAI_ADDRESS = FieldType(
    name="thai_address",
    schema={
        "type": "object",
        "properties": {
            "line": {"type": "string", "minLength": 1},
            "subdistrict": {"type": "string", "minLength": 1},
            "district": {"type": "string", "minLength": 1},
            "province": {"type": "string", "minLength": 1},
            "postcode": {"type": "string", "pattern": "^[0-9]{5}$"},
            "subdistrict_code": {"type": "string", "pattern": "^[0-9]{6}$"},
        },
        "required": list(PARTS),
        "additionalProperties": False,
    },
    validate=check_address,
    normalize=normalize_address,
    title={"th": "ที่อยู่", "en": "Address"},
)


@hookimpl
def eservice_field_types() -> list[FieldType]:
    return [THAI_ADDRESS]


# --------------------------------------------------------------------------- routes
def _cached_json(data: Any) -> JSONResponse:
    return JSONResponse(data, headers={"Cache-Control": "public, max-age=86400"})


def _param(request: Request, name: str) -> str:
    return (request.query_params.get(name) or "").strip()[:100]


async def api_provinces(request: Request) -> Response:
    return _cached_json([{"code": p.code, "name": p.name_th, "name_en": p.name_en} for p in provinces()])


async def api_districts(request: Request) -> Response:
    province = _param(request, "province")
    return _cached_json([{"code": d.code, "name": d.name_th, "name_en": d.name_en}
                         for d in districts(province)] if province else [])


async def api_subdistricts(request: Request) -> Response:
    province, district = _param(request, "province"), _param(request, "district")
    if not (province and district):
        return _cached_json([])
    return _cached_json([{"code": s.code, "name": s.name_th, "name_en": s.name_en, "postcodes": list(s.postcodes)}
                         for s in subdistricts(province, district)])


async def api_postcodes(request: Request) -> Response:
    q = {k: _param(request, k) for k in ("province", "district", "subdistrict")}
    if not all(q.values()):
        return _cached_json([])
    return _cached_json(postcodes(q["province"], q["district"], q["subdistrict"]))


@hookimpl
def eservice_routes() -> list[BaseRoute]:
    return [
        Route("/api/address/provinces", api_provinces, name="api_address_provinces"),
        Route("/api/address/districts", api_districts, name="api_address_districts"),
        Route("/api/address/subdistricts", api_subdistricts, name="api_address_subdistricts"),
        Route("/api/address/postcodes", api_postcodes, name="api_address_postcodes"),
    ]
