"""The applicant's profile on their account (A-F2, A-I1): the fields a person edits,
how each is checked and normalised, and what a definition may prefill from it.

:class:`eservice.auth.Accounts` keeps the profile and refuses a change with
``AuthError("invalid_profile")`` listing the problems found here, each as
``(code, th, en)``.  The national ID and phone rules are the core's
(:mod:`eservice.thai_ids`), which the ``thai_validators`` plugin re-uses.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from .spec.models import PROFILE_KEYS
from .thai_ids import check_thai_id, check_thai_phone, normalize_thai_id

__all__ = ["PROFILE_FIELDS", "PROFILE_KEYS", "clean_field", "merge_profile", "plugin_prefill", "prefill_values"]

Problem = tuple[str, str, str]  # (code, th, en)

# The profile fields a person edits (full_name is derived, email is the account's).
PROFILE_FIELDS: tuple[str, ...] = ("first_name", "last_name", "national_id", "phone", "address", "birth_date")


def merge_profile(profile: Mapping[str, Any], current: Mapping[str, Any],
                  today: date) -> tuple[dict[str, Any], list[Problem]]:
    """``current`` with ``profile`` merged in (a None or empty value clears a field),
    and every problem found; the merge is only to be kept when there are none."""
    problems: list[Problem] = []
    result = dict(current)
    for key, value in profile.items():
        if key not in PROFILE_FIELDS:
            problems.append(("profile.unknown", f"ไม่รู้จักข้อมูล `{key}` ในโปรไฟล์",
                             f"`{key}` is not a profile field"))
            continue
        if value is None or value == "":
            result.pop(key, None)
            continue
        cleaned, found = clean_field(key, value, today)
        problems.extend(found)
        if not found:
            result[key] = cleaned
    return result, problems


def clean_field(key: str, value: Any, today: date) -> tuple[Any, list[Problem]]:
    """One field in its stored form, or None and its problems."""
    if key in ("first_name", "last_name"):
        what_th, what_en = ("ชื่อ", "first name") if key == "first_name" else ("นามสกุล", "last name")
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > 100 \
                or any(ord(c) < 32 for c in value):
            return None, [(f"profile.{key}", f"{what_th}ต้องเป็นข้อความไม่เกิน 100 ตัวอักษร",
                           f"The {what_en} must be text of at most 100 characters")]
        return " ".join(value.split()), []
    if key == "national_id":
        found = [(m.code, m.th, m.en) for m in check_thai_id(value)]
        return (normalize_thai_id(value) if not found else None), found
    if key == "phone":
        found = [(m.code, m.th, m.en) for m in check_thai_phone(value)]
        return (value.strip() if not found else None), found
    if key == "birth_date":
        try:
            born = value if isinstance(value, date) and not isinstance(value, datetime) \
                else date.fromisoformat(value)
        except (TypeError, ValueError):
            born = None
        if born is None or born > today or born.year < 1900:
            return None, [("profile.birth_date",
                           "วันเกิดไม่ถูกต้อง (ใช้รูปแบบ ค.ศ. ปปปป-ดด-วว และต้องไม่เป็นวันในอนาคต)",
                           "The date of birth is not valid (use YYYY-MM-DD, not in the future)")]
        return born.isoformat(), []
    if key == "address":
        if not isinstance(value, Mapping) or len(value) > 30 or not all(
                isinstance(k, str) and isinstance(v, (str, type(None))) and len(v or "") <= 200
                for k, v in value.items()):
            return None, [("profile.address", "ที่อยู่ไม่ถูกต้อง",
                           "The address is not valid (a set of text parts)")]
        return {k: v.strip() for k, v in value.items() if v and v.strip()}, []
    return value, []  # pragma: no cover - every PROFILE_FIELDS key is handled above


def prefill_values(user: Mapping[str, Any]) -> dict[str, Any]:
    """The PROFILE_KEYS a definition may prefill from (``profile.phone``), A-F2.
    Missing values are None; ``address`` is a copy."""
    profile = user.get("profile") or {}
    first, last = profile.get("first_name"), profile.get("last_name")
    full = " ".join(p for p in (first, last) if p) or None
    address = profile.get("address")
    return {
        "first_name": first,
        "last_name": last,
        "full_name": full,
        "national_id": profile.get("national_id"),
        "email": user.get("email"),
        "phone": profile.get("phone"),
        "address": dict(address) if address else None,
        "birth_date": profile.get("birth_date"),
    }


def plugin_prefill(user: Mapping[str, Any], wanted: Mapping[str, set[str]]) -> dict[str, dict[str, Any]]:
    """Answers from installed prefill-source plugins (``prefill: <source>.<key>``), A-F2:
    ``{source: {key: value}}`` for the keys *wanted* of each source.  A plugin that
    fails offers nothing (the applicant types the answer); it never blocks the form."""
    import logging

    from .plugin_api import Identity, prefill_sources

    wanted = {s: k for s, k in wanted.items() if s != "profile" and k}
    if not wanted:
        return {}
    profile = user.get("profile") or {}
    name = " ".join(p for p in (profile.get("first_name"), profile.get("last_name")) if p)
    identity = Identity(provider="eservice", subject=str(user.get("id", "")), name=name,
                        national_id=profile.get("national_id"), email=user.get("email"))
    sources = prefill_sources()
    out: dict[str, dict[str, Any]] = {}
    for source, keys in wanted.items():
        plugin = sources.get(source)
        if plugin is None:
            continue
        try:
            found = plugin.fetch(identity, sorted(keys)) or {}
        except Exception:  # a remote registry down: nothing prefilled
            logging.getLogger(__name__).warning("prefill source %s failed", source, exc_info=True)
            continue
        out[source] = {k: v for k, v in found.items() if k in keys}
    return out
