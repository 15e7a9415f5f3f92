"""Accounts for citizens and officers: registration, passwords, tokens, roles.

R: A-I1 (registration with the e-Service), A-I2 (username + password), A-F2
(the applicant profile that definitions prefill from), A-X1 (roles per agency),
A-X2 (OWASP-style handling of credentials).

Collections in the store:

``users``        user id → the account (e-mail, password hash, profile, roles,
                 ``session_epoch``, ``session_generation``).
``user_emails``  normalised e-mail → ``{"user_id": …}``.  Written insert-only
                 (``expected_version=None``), so of two people registering the
                 same address at once exactly one wins, in any process.
``auth_tokens``  SHA-256 of a token → purpose, user, expiry, use.  The token
                 itself is given to the caller once (to put in a link) and never
                 stored.
``login_failures`` SHA-256 of an e-mail → attempts and lock-out (an
                 :class:`eservice.throttle.Counters` record).  Kept for any
                 e-mail that was tried, known or not, so lock-out cannot be used
                 to find out which addresses have accounts.  An attempt is
                 counted before its password is checked, so parallel requests
                 cannot check more than ``max_failures`` passwords (issue #17).

The e-mail syntax, the password policy and :class:`AuthError` are in
:mod:`eservice.credentials` (re-exported here).  Passwords are hashed with
Argon2id (``argon2.PasswordHasher``) and rehashed at the next sign-in when the
parameters change.  Neither passwords nor tokens are ever stored in clear or
logged.

Sessions belong to the web layer; it keeps ``(user id, session_epoch,
session_generation)`` in the signed cookie and asks :meth:`Accounts.check_session`
on each request.  Signing out bumps ``session_generation``
(:meth:`Accounts.end_web_sessions`), so a copy of the old cookie is signed out
too; API tokens carry only ``session_epoch`` and stay.  A password reset or
change bumps the epoch, which ends every session and every API token.
"""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .clock import BANGKOK, Clock, SystemClock
from .credentials import MAX_PASSWORD, MIN_PASSWORD, AuthError, check_password, normalize_email, \
    password_problems
from .profiles import PROFILE_FIELDS, merge_profile, prefill_values  # noqa: F401  (PROFILE_FIELDS re-exported)
from .spec.models import PROFILE_KEYS  # the keys a definition may prefill from, A-F2
from .store.base import ConflictError, Record, Store
from .throttle import Counters, Limit, Throttled

__all__ = [
    "Accounts", "AuthError", "LockoutPolicy", "MAX_PASSWORD", "MIN_PASSWORD", "PROFILE_KEYS", "PROFILE_FIELDS",
    "RoleGrant", "STAFF_ROLES", "check_password", "hash_token", "normalize_email", "password_problems",
]

log = logging.getLogger(__name__)

# Built-in staff roles (A-X1).  Services may declare more (``engineer``), so any
# lower_snake_case id is accepted by :meth:`Accounts.grant_role`.
STAFF_ROLES: tuple[str, ...] = (
    "registry_clerk", "reviewer", "approver", "signing_authority", "finance_officer",
    "head_of_agency", "agency_admin", "system_admin",
)

VERIFY_TTL = timedelta(hours=48)
RESET_TTL = timedelta(hours=1)
INVITE_TTL = timedelta(days=3)  # a staff invitation's set-password link (issue #9)
MAX_RESETS_PER_HOUR = 5  # more requests are silently ignored (no mail bombing)

_ROLE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_AGENCY = re.compile(r"[a-z][a-z0-9-]{0,63}")
_SERVICE = re.compile(r"[a-z][a-z0-9_-]{0,99}")


# --------------------------------------------------------------------------- errors


def _bad_credentials() -> AuthError:
    # One message for an unknown e-mail and a wrong password (no enumeration).
    return AuthError(
        "invalid_credentials",
        "อีเมลหรือรหัสผ่านไม่ถูกต้อง",
        "The e-mail address or password is incorrect",
    )


def _bad_token(code: str = "invalid_token") -> AuthError:
    if code == "token_used":
        return AuthError(code, "ลิงก์นี้ถูกใช้ไปแล้ว กรุณาขอลิงก์ใหม่",
                         "This link has already been used; please ask for a new one")
    if code == "token_expired":
        return AuthError(code, "ลิงก์นี้หมดอายุแล้ว กรุณาขอลิงก์ใหม่",
                         "This link has expired; please ask for a new one")
    return AuthError("invalid_token", "ลิงก์ไม่ถูกต้องหรือไม่สามารถใช้ได้ กรุณาขอลิงก์ใหม่",
                     "This link is not valid; please ask for a new one")


# --------------------------------------------------------------------------- helpers


def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _iso(value: datetime) -> str:
    return value.isoformat()


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# --------------------------------------------------------------------------- roles


@dataclass(frozen=True)
class RoleGrant:
    """``role`` held in ``agency`` (``"*"``: every agency), for every service of
    that agency or only for ``services``."""

    agency: str
    role: str
    services: tuple[str, ...] | None = None
    granted_at: str | None = None
    granted_by: str | None = None

    def covers(self, agency: str, service: str | None = None) -> bool:
        if self.agency not in ("*", agency):
            return False
        return self.services is None or service is None or service in self.services

    def to_record(self) -> dict[str, Any]:
        return {"agency": self.agency, "role": self.role,
                "services": list(self.services) if self.services is not None else None,
                "granted_at": self.granted_at, "granted_by": self.granted_by}

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> RoleGrant:
        services = data.get("services")
        return cls(data["agency"], data["role"], tuple(services) if services is not None else None,
                   data.get("granted_at"), data.get("granted_by"))


# --------------------------------------------------------------------------- lock-out


@dataclass(frozen=True)
class LockoutPolicy:
    """``max_failures`` wrong passwords within ``window`` lock the address for ``lock_for``."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)


# --------------------------------------------------------------------------- accounts


class Accounts:
    """Registration, sign-in, tokens, profile and staff roles over a :class:`Store`."""

    def __init__(self, store: Store, clock: Clock | None = None, *,
                 hasher: PasswordHasher | None = None, lockout: LockoutPolicy | None = None,
                 require_verified_email: bool = True):
        self.store = store
        self.clock = clock or SystemClock()
        self.hasher = hasher or PasswordHasher()
        self.lockout = lockout or LockoutPolicy()
        self.require_verified_email = require_verified_email
        self.users = store.collection("users")
        self.emails = store.collection("user_emails")
        self.tokens = store.collection("auth_tokens")
        self.failures = store.collection("login_failures")
        self._attempts = Counters(self.failures, self.clock)
        self._dummy_hash: str | None = None
        self._dummy_lock = threading.Lock()

    # -- lookups ------------------------------------------------------------------
    def get(self, user_id: str) -> Record:
        user = self.users.get(user_id) if isinstance(user_id, str) and user_id else None
        if user is None:
            raise AuthError("not_found", "ไม่พบบัญชีผู้ใช้", "No such account")
        return user

    def find_by_email(self, email: str) -> Record | None:
        """The account registered with ``email`` (any case), or None."""
        try:
            address = normalize_email(email)
        except AuthError:
            return None
        claim = self.emails.get(address)
        if claim is None:
            return None
        user = self.users.get(claim["user_id"])
        return user if user is not None and user.get("email") == address else None

    # -- registration (A-I1) ------------------------------------------------------
    def register(self, email: str, password: str, profile: Mapping[str, Any] | None = None) -> tuple[Record, str]:
        """Create an account; return it with an e-mail verification token.

        The account is written first and the address claimed second, insert-only:
        of two racing registrations exactly one claims the address and the other
        removes its account and gets ``email_taken``.  (A crash between the two
        writes leaves an unreachable account, never a claim without an account.)
        """
        address = normalize_email(email)
        check_password(password, address)
        clean = self._clean_profile(profile or {}, {})
        # Hash before looking the address up: a taken address must cost the same
        # time as a new one, or the answer's timing tells which addresses exist.
        password_hash = self.hasher.hash(password)
        if self.emails.get(address) is not None:
            raise self._email_taken()
        now = self.clock.now()
        user_id = "u-" + secrets.token_hex(10)
        record = {
            "id": user_id,
            "email": address,
            "email_verified": False,
            "email_verified_at": None,
            "password_hash": password_hash,
            "password_changed_at": _iso(now),
            "profile": clean,
            "roles": [],
            "session_epoch": 0,
            "session_generation": 0,
            "disabled": False,
            "created_at": _iso(now),
            "updated_at": _iso(now),
        }
        user = self.users.put(user_id, record)
        try:
            self.emails.put(address, {"user_id": user_id, "created_at": _iso(now)})
        except ConflictError:
            self.users.delete(user_id)
            raise self._email_taken() from None
        token = self._issue_token(user, "verify", VERIFY_TTL)
        log.info("account %s registered", user_id)
        return user, token

    @staticmethod
    def _email_taken() -> AuthError:
        return AuthError(
            "email_taken",
            "อีเมลนี้ลงทะเบียนไว้แล้ว กรุณาเข้าสู่ระบบ หรือใช้ 'ลืมรหัสผ่าน'",
            "This e-mail address is already registered; sign in or use 'forgot password'",
        )

    def new_verification_token(self, user_id: str) -> str:
        """A fresh verification token (to resend the mail); earlier ones stay valid until they expire."""
        return self._issue_token(self.get(user_id), "verify", VERIFY_TTL)

    def verify_email(self, token: str) -> Record:
        """Mark the address of the token's account as verified (single use, 48 h)."""
        entry, user = self._use_token(token, "verify")
        now = self.clock.now()
        if user.get("email") != entry.get("email"):
            raise _bad_token()
        if user.get("email_verified"):
            return user
        return self._update(user["id"], lambda u: u.update(email_verified=True, email_verified_at=_iso(now)))

    # -- sign-in (A-I2) -----------------------------------------------------------
    def authenticate(self, email: str, password: str) -> Record:
        """The account for ``email`` + ``password``, or AuthError.

        Unknown address and wrong password give the same error and take about
        the same time (a dummy hash is verified).  The attempt is counted
        *before* the password is checked (reserved with a version check, so it
        holds across parallel requests and processes); the one that reaches
        ``max_failures`` within the window locks the address (known or not) for
        ``lock_for``; while locked the password is not even checked.  A
        success clears the count.
        """
        try:
            address = normalize_email(email)
        except AuthError:
            raise _bad_credentials() from None
        fail_key = hash_token(address)
        policy = self.lockout
        try:
            locks_at = self._attempts.reserve(fail_key, Limit(policy.max_failures, policy.window, policy.lock_for))
        except Throttled as exc:
            raise self._locked(exc.until) from None

        user = self.find_by_email(address)
        ok = False
        if user is None or not isinstance(password, str) or len(password) > MAX_PASSWORD:
            self._verify_dummy(password if isinstance(password, str) else "")
        else:
            try:
                ok = self.hasher.verify(user["password_hash"], password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                ok = False
        if not ok:  # the failure stays counted
            log.info("failed sign-in for address %s", fail_key[:12])
            if locks_at is not None:
                raise self._locked(locks_at)
            raise _bad_credentials()

        self._attempts.clear(fail_key)
        if user.get("disabled"):
            raise AuthError("disabled", "บัญชีนี้ถูกระงับการใช้งาน กรุณาติดต่อหน่วยงาน",
                            "This account has been disabled; please contact the agency")
        if self.require_verified_email and not user.get("email_verified"):
            raise AuthError("email_not_verified",
                            "กรุณายืนยันอีเมลก่อนเข้าสู่ระบบ โดยกดลิงก์ในอีเมลที่ระบบส่งให้",
                            "Please confirm your e-mail address first, using the link we sent you")
        if self.hasher.check_needs_rehash(user["password_hash"]):
            try:
                user = self.users.put(user["id"], dict(user, password_hash=self.hasher.hash(password)),
                                      expected_version=user["version"])
            except ConflictError:  # someone else changed the account; rehash next time
                user = self.get(user["id"])
        return user

    def _verify_dummy(self, password: str) -> None:
        with self._dummy_lock:
            if self._dummy_hash is None:
                self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        try:
            self.hasher.verify(self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            pass

    def _locked(self, until: datetime) -> AuthError:
        local = until.astimezone(BANGKOK).strftime("%H:%M")
        return AuthError(
            "locked",
            f"ใส่รหัสผ่านผิดหลายครั้งเกินไป กรุณาลองใหม่หลังเวลา {local} น.",
            f"Too many failed attempts; please try again after {local} (Bangkok time)",
            retry_after=Throttled(until, self.clock.now()).retry_after,
        )

    def check_session(self, user_id: str, session_epoch: int, session_generation: int = 0) -> Record | None:
        """The account if a session made at ``session_epoch`` / ``session_generation``
        is still valid (not ended by a password change nor by signing out)."""
        user = self.users.get(user_id) if isinstance(user_id, str) and user_id else None
        if user is None or user.get("disabled") or user.get("session_epoch") != session_epoch \
                or user.get("session_generation", 0) != session_generation:
            return None
        return user

    def end_web_sessions(self, user_id: str) -> Record:
        """Sign out: end every web session of the person (bump ``session_generation``),
        so an old copy of the cookie no longer works.  API tokens stay; they are
        revoked on their own (``DELETE /api/tokens/current``)."""
        return self._update(user_id, lambda u: u.update(session_generation=u.get("session_generation", 0) + 1))

    def end_all_sessions(self, user_id: str) -> Record:
        """Sign the person out everywhere (bump ``session_epoch``)."""
        return self._update(user_id, lambda u: u.update(session_epoch=u.get("session_epoch", 0) + 1))

    # -- password reset -----------------------------------------------------------
    def request_password_reset(self, email: str) -> str | None:
        """A reset token for the account with ``email``, or None.

        The caller must behave the same either way (same page, same delay:
        send the mail in the background) so the answer does not reveal which
        addresses have accounts.  More than MAX_RESETS_PER_HOUR requests for one
        account within an hour also give None.
        """
        user = self.find_by_email(email)
        if user is None or user.get("disabled"):
            return None
        now = self.clock.now()
        recent = [t for t in user.get("reset_requests", []) if now - datetime.fromisoformat(t) < timedelta(hours=1)]
        if len(recent) >= MAX_RESETS_PER_HOUR:
            return None
        try:
            user = self.users.put(user["id"], dict(user, reset_requests=recent + [_iso(now)]),
                                  expected_version=user["version"])
        except ConflictError:
            user = self.get(user["id"])
        return self._issue_token(user, "reset", RESET_TTL)

    def reset_password(self, token: str, new_password: str) -> Record:
        """Set a new password with a reset token (single use, 1 h).

        Bumps ``session_epoch``: every existing session ends, and every other
        reset token issued before this one stops working.  A reset also proves
        the address, so it counts as verification.
        """
        entry, user = self._peek_token(token, "reset")
        check_password(new_password, user["email"])
        if entry.get("epoch") != user.get("session_epoch", 0):
            raise _bad_token("token_used")
        self._consume(entry)
        now = self.clock.now()
        new_hash = self.hasher.hash(new_password)

        def change(u: Record) -> None:
            u.update(password_hash=new_hash, password_changed_at=_iso(now),
                     session_epoch=u.get("session_epoch", 0) + 1, reset_requests=[])
            if not u.get("email_verified"):
                u.update(email_verified=True, email_verified_at=_iso(now))

        user = self._update(user["id"], change)
        self.failures.delete(hash_token(user["email"]))  # a fresh password lifts a lock-out
        log.info("password reset for account %s", user["id"])
        return user

    def change_password(self, user_id: str, old_password: str, new_password: str) -> Record:
        """Change a password knowing the old one; other sessions end (epoch bump)."""
        user = self.get(user_id)
        try:
            self.hasher.verify(user["password_hash"], old_password)
        except (VerificationError, InvalidHashError):
            raise _bad_credentials() from None
        check_password(new_password, user["email"])
        new_hash = self.hasher.hash(new_password)
        now = self.clock.now()
        return self._update(user_id, lambda u: u.update(
            password_hash=new_hash, password_changed_at=_iso(now),
            session_epoch=u.get("session_epoch", 0) + 1))

    # -- tokens ---------------------------------------------------------------------
    def _issue_token(self, user: Record, purpose: str, ttl: timedelta) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        key = hash_token(token)
        self.tokens.put(key, {
            "key": key, "purpose": purpose, "user_id": user["id"], "email": user["email"],
            "epoch": user.get("session_epoch", 0),
            "created_at": _iso(now), "expires_at": _iso(now + ttl), "used_at": None,
        })
        return token

    def _peek_token(self, token: str, purpose: str) -> tuple[Record, Record]:
        if not isinstance(token, str) or not 20 <= len(token) <= 200:
            raise _bad_token()
        entry = self.tokens.get(hash_token(token))
        if entry is None or entry.get("purpose") != purpose:
            raise _bad_token()
        if entry.get("used_at"):
            raise _bad_token("token_used")
        if self.clock.now() >= datetime.fromisoformat(entry["expires_at"]):
            raise _bad_token("token_expired")
        user = self.users.get(entry["user_id"])
        if user is None or user.get("disabled"):
            raise _bad_token()
        return entry, user

    def _consume(self, entry: Record) -> None:
        """Mark used; of two concurrent uses only one passes (version check)."""
        key = entry["key"]
        try:
            self.tokens.put(key, dict(entry, used_at=_iso(self.clock.now())), expected_version=entry["version"])
        except ConflictError:
            raise _bad_token("token_used") from None

    def _use_token(self, token: str, purpose: str) -> tuple[Record, Record]:
        entry, user = self._peek_token(token, purpose)
        self._consume(entry)
        return entry, user

    def purge_tokens(self) -> int:
        """Delete used and expired tokens and stale failure records; return how many."""
        now = self.clock.now()
        keep_for = max(self.lockout.window, self.lockout.lock_for)
        stale = [rec["key"] for rec in list(self.tokens.all())
                 if rec.get("used_at") or now >= datetime.fromisoformat(rec["expires_at"])]
        for key in stale:
            self.tokens.delete(key)
        return len(stale) + self._attempts.purge(keep_for)

    # -- profile (A-F2) -------------------------------------------------------------
    def update_profile(self, user_id: str, profile: Mapping[str, Any], expected_version: int) -> Record:
        """Merge ``profile`` into the account's profile (a None value clears a
        field).  ``expected_version`` is the account version the form was
        shown with; a stale one gives AuthError("conflict")."""
        user = self.get(user_id)
        clean = self._clean_profile(profile, user.get("profile", {}))
        try:
            return self.users.put(user_id, dict(user, profile=clean, updated_at=_iso(self.clock.now())),
                                  expected_version=expected_version)
        except ConflictError as exc:
            raise AuthError("conflict", exc.th, exc.en) from None

    def _clean_profile(self, profile: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(profile, Mapping):
            raise AuthError("invalid_profile", "ข้อมูลโปรไฟล์ไม่ถูกต้อง", "The profile is not valid")
        result, problems = merge_profile(profile, current, self.clock.today())
        if problems:
            raise AuthError("invalid_profile", " ".join(p[1] for p in problems),
                            "; ".join(p[2] for p in problems), problems=problems)
        return result

    def prefill_profile(self, user: Record) -> dict[str, Any]:
        """The PROFILE_KEYS a definition may prefill from (``profile.phone``), A-F2
        (:func:`eservice.profiles.prefill_values`)."""
        return prefill_values(user)

    # -- staff roles (A-X1) -----------------------------------------------------------
    def grant_role(self, user_id: str, agency: str, role: str, services: Iterable[str] | None = None,
                   *, granted_by: str | None = None) -> Record:
        """Give ``role`` in ``agency`` (``"*"``: all agencies), optionally only for
        ``services``.  Granting a role held already replaces its service list."""
        if not isinstance(role, str) or not _ROLE.fullmatch(role) or role == "applicant":
            raise AuthError("invalid_role", f"ชื่อบทบาทไม่ถูกต้อง: {role!r} (ใช้ a-z 0-9 _ ขึ้นต้นด้วยตัวอักษร)",
                            f"invalid role name {role!r} (use lower_snake_case: a-z, 0-9, _)")
        if not isinstance(agency, str) or not (agency == "*" or _AGENCY.fullmatch(agency)):
            raise AuthError("invalid_role", f"รหัสหน่วยงานไม่ถูกต้อง: {agency!r}", f"invalid agency id {agency!r}")
        if services is not None:
            if isinstance(services, str):
                services = [services]
            services = tuple(sorted(set(services)))
            bad = [s for s in services if not isinstance(s, str) or not _SERVICE.fullmatch(s)]
            if bad or not services:
                raise AuthError("invalid_role", f"รหัสบริการไม่ถูกต้อง: {bad or '[]'}",
                                f"invalid service ids: {bad or '[]'}")
        grant = RoleGrant(agency, role, services, _iso(self.clock.now()), granted_by)

        def change(u: Record) -> None:
            kept = [g for g in u.get("roles", []) if (g["agency"], g["role"]) != (agency, role)]
            u["roles"] = kept + [grant.to_record()]

        user = self._update(user_id, change)
        log.info("role %s in %s granted to %s by %s", role, agency, user_id, granted_by)
        return user

    def revoke_role(self, user_id: str, agency: str, role: str) -> Record:
        return self._update(user_id, lambda u: u.update(
            roles=[g for g in u.get("roles", []) if (g["agency"], g["role"]) != (agency, role)]))

    @staticmethod
    def roles_of(user: Record) -> list[RoleGrant]:
        return [RoleGrant.from_record(g) for g in user.get("roles", [])]

    @staticmethod
    def has_role(user: Record, agency: str, role: str, service: str | None = None) -> bool:
        return any(g.role == role and g.covers(agency, service) for g in Accounts.roles_of(user))

    # -- staff invitations (issue #9: an agency admin adds staff from the web) ------------
    def invite_staff(self, email: str, name_th: str, name_en: str, *, invited_by: str | None = None
                     ) -> tuple[Record, str | None]:
        """The account for a new member of staff, and a set-password token for it.

        A new address gets an account with no usable password (``invited`` until the
        password is set) and a token (single use, :data:`INVITE_TTL`); inviting it
        again issues a new token and makes the older ones unusable (epoch bump).  An
        address that already has a working account gets no token (None): the caller
        grants the role and tells the person.  Staff names have a Thai and an English form.
        """
        address = normalize_email(email)
        names = self._staff_names(name_th, name_en)
        user = self.find_by_email(address)
        if user is not None and not user.get("invited"):
            if not user.get("staff_name"):
                user = self._update(user["id"], lambda u: u.update(staff_name=names))
            return user, None
        if user is None:
            first, _, last = names["th"].partition(" ")
            now = self.clock.now()
            user_id = "u-" + secrets.token_hex(10)
            user = self.users.put(user_id, {
                "id": user_id, "email": address, "email_verified": False, "email_verified_at": None,
                "password_hash": self.hasher.hash(secrets.token_urlsafe(32)),  # unusable until set
                "password_changed_at": None, "profile": {"first_name": first, "last_name": last},
                "staff_name": names, "roles": [], "session_epoch": 0, "session_generation": 0,
                "disabled": False, "invited": True, "invited_by": invited_by,
                "created_at": _iso(now), "updated_at": _iso(now)})
            try:
                self.emails.put(address, {"user_id": user_id, "created_at": _iso(now)})
            except ConflictError:
                self.users.delete(user_id)
                raise self._email_taken() from None
        else:  # invited again: only the newest link works
            user = self._update(user["id"], lambda u: u.update(
                staff_name=names, session_epoch=u.get("session_epoch", 0) + 1))
        log.info("staff account %s invited by %s", user["id"], invited_by)
        return user, self._issue_token(user, "invite", INVITE_TTL)

    def check_invitation(self, token: str) -> Record:
        """The invited account of a set-password link, or AuthError (used, expired, replaced)."""
        entry, user = self._peek_token(token, "invite")
        if entry.get("epoch") != user.get("session_epoch", 0) or not user.get("invited"):
            raise _bad_token("token_used")
        return user

    def accept_invitation(self, token: str, password: str) -> Record:
        """Set the first password with an invitation link: single use; proves the address."""
        user = self.check_invitation(token)
        check_password(password, user["email"])
        entry, _ = self._peek_token(token, "invite")
        self._consume(entry)
        now = self.clock.now()
        new_hash = self.hasher.hash(password)
        return self._update(user["id"], lambda u: u.update(
            password_hash=new_hash, password_changed_at=_iso(now), invited=False, email_verified=True,
            email_verified_at=u.get("email_verified_at") or _iso(now),
            session_epoch=u.get("session_epoch", 0) + 1))

    def set_staff_name(self, user_id: str, name_th: str, name_en: str) -> Record:
        names = self._staff_names(name_th, name_en)
        return self._update(user_id, lambda u: u.update(staff_name=names))

    @staticmethod
    def _staff_names(name_th: Any, name_en: Any) -> dict[str, str]:
        names = {"th": " ".join(str(name_th or "").split()), "en": " ".join(str(name_en or "").split())}
        bad = [k for k, v in names.items() if not v or len(v) > 100 or not v.isprintable()]
        if bad:
            raise AuthError("invalid_name", "กรุณากรอกชื่อ-นามสกุลทั้งภาษาไทยและภาษาอังกฤษ (ไม่เกิน 100 ตัวอักษร)",
                            "Enter the full name in Thai and in English (at most 100 characters)",
                            problems=[("name_" + k, "", "") for k in bad])
        return names

    @staticmethod
    def staff_name(user: Mapping[str, Any], lang: str = "th") -> str:
        """The person's name in ``lang`` (the staff name, else the profile name, else the e-mail)."""
        names = user.get("staff_name") or {}
        if names.get(lang) or names.get("th"):
            return names.get(lang) or names["th"]
        profile = user.get("profile") or {}
        return " ".join(x for x in (profile.get("first_name"), profile.get("last_name")) if x) or user.get("email", "")

    def set_disabled(self, user_id: str, disabled: bool = True) -> Record:
        """Disable (or re-enable) an account; disabling ends its sessions."""
        def change(u: Record) -> None:
            u["disabled"] = disabled
            if disabled:
                u["session_epoch"] = u.get("session_epoch", 0) + 1
        return self._update(user_id, change)

    # -- internal -------------------------------------------------------------------
    def _update(self, user_id: str, change) -> Record:
        """Read-modify-write with the version check, retried on conflict."""
        for _ in range(20):
            user = self.get(user_id)
            new = dict(user)
            change(new)
            new["updated_at"] = _iso(self.clock.now())
            try:
                return self.users.put(user_id, new, expected_version=user["version"])
            except ConflictError:
                continue
        raise AuthError("conflict", "บัญชีถูกแก้ไขพร้อมกันหลายครั้ง กรุณาลองใหม่",
                        "The account is being changed concurrently; try again")
