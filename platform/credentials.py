"""What a credential must look like (A-I1, A-I2, A-X2): the e-mail syntax, the
password policy, and :class:`AuthError`, the one error of accounts and sign-in.

:mod:`eservice.auth` re-exports all of it; the web forms check a password here
before anything is stored.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .errors import BilingualError

__all__ = ["MAX_PASSWORD", "MIN_PASSWORD", "AuthError", "check_password", "normalize_email", "password_problems"]

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # hashing an unbounded input is a denial-of-service lever

# Pragmatic address syntax: one @, no spaces or control characters, a dotted
# domain whose labels do not start or end with "-".  Non-ASCII (Thai) is allowed.
_ALNUM = r"(?:[^\W_]|[\u0E00-\u0E7F])"  # letters and digits, Thai marks included
_LABEL = rf"{_ALNUM}(?:(?:{_ALNUM}|-){{0,61}}{_ALNUM})?"
_EMAIL = re.compile(
    r"(?P<local>[^\s@\"(),:;<>\[\]\\]{1,64})@"
    rf"(?P<domain>(?:{_LABEL}\.)+(?!\d+$){_ALNUM}(?:{_ALNUM}|-){{0,61}}{_ALNUM})"
)

# A few passwords that pass the length rule but appear at the top of every leak.
_COMMON = frozenset({
    "password12", "password123", "password1234", "qwertyuiop", "1q2w3e4r5t", "qwerty1234",
    "iloveyou12", "abcdefghij", "abc1234567", "a123456789", "zaq12wsxcde", "asdfghjkl;",
    "passw0rd12", "1qaz2wsx3edc", "qwertyuiop1", "adminadmin", "administrator", "welcome123",
    "letmein123", "thailand123", "bangkok123",
})


class AuthError(BilingualError):
    """Every failure of accounts and sign-in (:mod:`eservice.auth`): a stable
    ``code``, Thai/English text, and the HTTP status by code.

    Codes: invalid_email, weak_password, email_taken, invalid_credentials,
    locked, email_not_verified, disabled, invalid_token, token_used,
    token_expired, invalid_profile, not_found, conflict, invalid_role.
    """

    def __init__(self, code: str, th: str, en: str, *, problems: Iterable[tuple[str, str, str]] = (),
                 retry_after: int | None = None):
        super().__init__(code, th, en, status=_STATUS.get(code, 400))
        self.problems = list(problems)  # (code, th, en) for each problem found
        self.retry_after = retry_after  # seconds, for ``locked`` (HTTP Retry-After)


_STATUS = {"invalid_credentials": 401, "locked": 429, "email_not_verified": 403, "disabled": 403}


def normalize_email(email: Any) -> str:
    """Strip and lower-case; raise AuthError("invalid_email") when malformed."""
    text = email.strip().lower() if isinstance(email, str) else ""
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise AuthError(
            "invalid_email",
            "รูปแบบอีเมลไม่ถูกต้อง ตัวอย่างที่ถูกต้อง: name@example.com",
            "Enter an e-mail address in the correct format, like name@example.com",
        )
    return text


def password_problems(password: Any, email: str | None = None) -> list[tuple[str, str, str]]:
    """Every way ``password`` breaks the policy, as ``(code, th, en)``; empty when fine."""
    if not isinstance(password, str) or password == "":
        return [("password.required", "กรุณากำหนดรหัสผ่าน", "Enter a password")]
    problems: list[tuple[str, str, str]] = []
    if len(password) < MIN_PASSWORD:
        problems.append((
            "password.too_short",
            f"รหัสผ่านต้องยาวอย่างน้อย {MIN_PASSWORD} ตัวอักษร (ตอนนี้มี {len(password)} ตัวอักษร)",
            f"The password must be at least {MIN_PASSWORD} characters long (it has {len(password)})",
        ))
    if len(password) > MAX_PASSWORD:
        problems.append((
            "password.too_long",
            f"รหัสผ่านต้องยาวไม่เกิน {MAX_PASSWORD} ตัวอักษร",
            f"The password must be at most {MAX_PASSWORD} characters long",
        ))
    if password.isdigit():
        problems.append((
            "password.all_digits",
            "รหัสผ่านต้องไม่เป็นตัวเลขล้วน กรุณาผสมตัวอักษรหรือสัญลักษณ์",
            "The password must not be only digits; add letters or symbols",
        ))
    folded = password.strip().casefold()
    if email:
        address = email.strip().casefold()
        local = address.partition("@")[0]
        if folded in (address, local):
            problems.append((
                "password.is_email",
                "รหัสผ่านต้องไม่เหมือนกับอีเมล",
                "The password must not be your e-mail address",
            ))
    if folded in _COMMON or (len(set(password)) == 1 and len(password) > 1):
        problems.append((
            "password.common",
            "รหัสผ่านนี้คาดเดาได้ง่ายเกินไป กรุณาเลือกรหัสผ่านอื่น",
            "This password is too easy to guess; choose another one",
        ))
    return problems


def check_password(password: Any, email: str | None = None) -> None:
    """Raise AuthError("weak_password") listing every problem, Thai and English."""
    problems = password_problems(password, email)
    if problems:
        raise AuthError(
            "weak_password",
            " ".join(p[1] for p in problems),
            "; ".join(p[2] for p in problems),
            problems=problems,
        )
