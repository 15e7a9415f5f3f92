"""Finding a service by words, in Thai and English (A-S2).

Pure functions, no web, no I/O: the catalogue page builds :class:`Entry` objects
from the services and calls :func:`search`.

Thai is written without spaces between words, and people type it with or
without spaces ("ร้าน อาหาร" for "ร้านอาหาร"), with or without tone marks, and
sometimes with invisible zero-width characters pasted from documents.  So both
the query and the texts are *normalised* before matching:

* Unicode NFC, then lower case (``casefold``);
* sara am typed as nikhahit + sara aa (``ํ`` ``า``) becomes ``ำ``;
* every space, zero-width character and punctuation mark is removed, so word
  boundaries never matter ("food-shop" = "food shop" = "foodshop");
* a second, looser form also drops the Thai tone marks and other marks above
  the line (``่ ้ ๊ ๋ ็ ์``), used only when the exact form finds nothing.

Matching is by substring, so partial words match ("อนุญาต" finds
"ใบอนุญาตจัดตั้งร้านอาหาร", "perm" finds "Permit").  A query matches an entry
when the whole query (spaces removed) occurs in one of its texts, or when every
space-separated term occurs somewhere in the entry (so "อาหาร ร้าน" and "shop
food" match too).  Ranking: matches in the title first, then keywords, summary,
category and agency name; a title that *starts* with the query ranks above one
that merely contains it.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Entry", "Hit", "FIELD_WEIGHTS", "normalise", "loosen", "search"]

# How much a match in each field counts.  A title match alone outranks any
# combination of matches elsewhere.
FIELD_WEIGHTS: Mapping[str, int] = {
    "title": 1000,
    "keywords": 120,
    "summary": 60,
    "category": 40,
    "agency": 30,
}

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Thai marks above the line that people often drop or mistype:
# mai han-akat is a vowel, so it stays; these are maitaikhu, the four tone marks,
# thanthakhat (U+0E47–U+0E4C).
_THAI_TONES = dict.fromkeys(range(0x0E47, 0x0E4D), None)
_SEPARATOR = "\x1f"  # joins a field's texts; never produced by normalise()


def _keep(ch: str) -> bool:
    """Letters, digits and marks stay; spaces, punctuation, symbols, controls go."""
    return unicodedata.category(ch)[0] in "LMN"


def normalise(text: Any) -> str:
    """The form texts and queries are compared in (see the module docstring)."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFC", str(text)).translate(_ZERO_WIDTH).casefold()
    s = s.replace("\u0e4d\u0e32", "\u0e33")  # ํ + า typed for ำ
    return "".join(ch for ch in s if _keep(ch))


def loosen(normalised: str) -> str:
    """A normalised text without Thai tone marks ("ร้านอาหาร" → "รานอาหาร")."""
    return normalised.translate(_THAI_TONES)


def _terms(query: str) -> list[str]:
    out = []
    for raw in re.split(r"\s+", unicodedata.normalize("NFC", query or "").translate(_ZERO_WIDTH)):
        term = normalise(raw)
        if term and term not in out:
            out.append(term)
    return out


@dataclass(frozen=True)
class Entry:
    """Something that can be found: ``key`` identifies it (a service id),
    ``fields`` maps a field name of :data:`FIELD_WEIGHTS` to its texts (Thai
    and English together), ``order`` breaks ties (the catalogue order)."""

    key: str
    fields: Mapping[str, Sequence[str]]
    order: int = 0
    payload: Any = field(default=None, compare=False, repr=False)
    _exact: dict[str, str] = field(default_factory=dict, init=False, compare=False, repr=False)
    _loose: dict[str, str] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name, texts in self.fields.items():
            if isinstance(texts, str):
                texts = [texts]
            exact = _SEPARATOR.join(normalise(t) for t in texts if t)
            self._exact[name] = exact
            self._loose[name] = loosen(exact)

    def texts(self, loose: bool = False) -> Mapping[str, str]:
        return self._loose if loose else self._exact


@dataclass(frozen=True)
class Hit:
    entry: Entry
    score: float
    fields: tuple[str, ...]  # the fields that matched, best first

    @property
    def key(self) -> str:
        return self.entry.key

    @property
    def payload(self) -> Any:
        return self.entry.payload


def _score(entry: Entry, phrase: str, terms: list[str], loose: bool) -> tuple[float, tuple[str, ...]]:
    texts = entry.texts(loose)
    score = 0.0
    matched: list[tuple[int, str]] = []
    found_terms: set[str] = set()
    for name, text in texts.items():
        weight = FIELD_WEIGHTS.get(name, 10)
        if not text:
            continue
        parts = text.split(_SEPARATOR)
        if phrase in text:
            gain = 2.0 * weight
            if any(p.startswith(phrase) for p in parts):
                gain += 0.5 * weight
            if any(p == phrase for p in parts):
                gain += 0.5 * weight
            score += gain
            matched.append((weight, name))
            found_terms.update(terms)
            continue
        here = [t for t in terms if t in text]
        if here:
            found_terms.update(here)
            if len(here) == len(terms):
                score += weight
                matched.append((weight, name))
            else:
                score += weight * len(here) / (2 * len(terms))
                matched.append((weight // 2, name))
    if not (found_terms >= set(terms)):
        return 0.0, ()
    names = tuple(n for _, n in sorted(matched, key=lambda m: -m[0]))
    return score, names


def search(query: str, entries: Iterable[Entry], *, limit: int | None = None) -> list[Hit]:
    """The entries matching ``query``, best first.  An empty query (or one of only
    spaces and punctuation) matches nothing."""
    terms = _terms(query)
    phrase = "".join(terms)
    if not phrase:
        return []
    entries = list(entries)
    hits: list[Hit] = []
    for loose in (False, True):
        p = loosen(phrase) if loose else phrase
        ts = [loosen(t) for t in terms] if loose else terms
        ts = [t for t in ts if t]
        if not p or not ts:
            continue
        for entry in entries:
            score, names = _score(entry, p, ts, loose)
            if score > 0:
                hits.append(Hit(entry, score * (0.5 if loose else 1.0), names))
        if hits:
            break
    hits.sort(key=lambda h: (-h.score, h.entry.order, h.entry.key))
    return hits[:limit] if limit is not None else hits
