"""Accounts: registration, sign-in, lock-out, tokens, profile, roles.

Runs on the real TinyDB store in ``tmp_path`` with a fixed clock.  Argon2 uses
cheap parameters (the cost is a parameter; the code path is the same), except
where the test is about the parameters.
"""
from __future__ import annotations

import threading
from datetime import datetime

import pytest
from argon2 import PasswordHasher

from eservice.auth import PROFILE_KEYS, Accounts, AuthError, RoleGrant, STAFF_ROLES, hash_token
from eservice.clock import UTC, FixedClock
from eservice.plugins.thai_validators import thai_id_check_digit
from eservice.spec.check import PROFILE_KEYS as SPEC_PROFILE_KEYS
from eservice.store import open_store

PASSWORD = "ม้าลาย-correct-horse-9"
EMAIL = "somchai@example.co.th"


def valid_id(first12: str = "110370234567") -> str:
    return first12 + str(thai_id_check_digit(first12))


def cheap_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def clock():
    return FixedClock(datetime(2024, 3, 1, 2, 0, tzinfo=UTC))  # 09:00 in Bangkok


@pytest.fixture
def store(tmp_path, clock):
    return open_store(tmp_path / "data", clock=clock, durable=False)


@pytest.fixture
def accounts(store, clock):
    return Accounts(store, clock, hasher=cheap_hasher())


@pytest.fixture
def verified(accounts):
    user, token = accounts.register(EMAIL, PASSWORD, {"first_name": "สมชาย", "last_name": "ใจดี"})
    return accounts.verify_email(token)


def has_thai(text: str) -> bool:
    return any("\u0e00" <= c <= "\u0e7f" for c in text)


# --------------------------------------------------------------------------- registration


def test_register_verify_login(accounts, tmp_path):  # R: A-I1, A-I2
    user, token = accounts.register("  SomChai@Example.CO.TH ", PASSWORD, {"first_name": "สมชาย"})
    assert user["email"] == EMAIL and user["email_verified"] is False
    assert user["password_hash"].startswith("$argon2id$")
    assert len(token) >= 40

    with pytest.raises(AuthError) as caught:  # not yet verified
        accounts.authenticate(EMAIL, PASSWORD)
    assert caught.value.code == "email_not_verified" and has_thai(caught.value.th)

    assert accounts.verify_email(token)["email_verified"] is True
    signed_in = accounts.authenticate("SOMCHAI@example.co.th", PASSWORD)
    assert signed_in["id"] == user["id"]

    # R: A-X2 — neither the password nor the token is anywhere in the stored files.
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file())  # journal and files
    assert PASSWORD.encode() not in stored
    assert token.encode() not in stored
    assert hash_token(token).encode() in stored  # only its SHA-256


def test_invalid_email_refused(accounts):
    for bad in ("somchai", "a@b", "two@@example.com", "has space@example.com", ""):
        with pytest.raises(AuthError) as caught:
            accounts.register(bad, PASSWORD)
        assert caught.value.code == "invalid_email" and has_thai(caught.value.th)


@pytest.mark.parametrize("password, code", [
    ("short-1", "password.too_short"),
    ("12345678901234", "password.all_digits"),
    ("somchai@example.co.th", "password.is_email"),
    ("SomChai", "password.too_short"),
    ("password123", "password.common"),
    ("aaaaaaaaaaaa", "password.common"),
    ("", "password.required"),
])
def test_weak_passwords_refused_in_thai_and_english(accounts, password, code):  # R: A-X2
    with pytest.raises(AuthError) as caught:
        accounts.register(EMAIL, password)
    err = caught.value
    assert err.code == "weak_password"
    assert code in [p[0] for p in err.problems]
    assert has_thai(err.th) and err.en.isascii() and err.en
    assert accounts.find_by_email(EMAIL) is None  # nothing was created


def test_password_equal_to_local_part_refused(accounts):
    with pytest.raises(AuthError) as caught:
        accounts.register("longlocalpart@example.com", "LongLocalPart")
    assert "password.is_email" in [p[0] for p in caught.value.problems]


def test_duplicate_email_refused(accounts, verified):
    with pytest.raises(AuthError) as caught:
        accounts.register(EMAIL.upper(), "another-good-pass")
    assert caught.value.code == "email_taken" and has_thai(caught.value.th)
    assert [u["id"] for u in accounts.users.find(email=EMAIL)] == [verified["id"]]


class CountingHasher(PasswordHasher):
    """Counts the argon2 work done, to check that every path pays for it."""

    def __init__(self):
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.calls = 0

    def hash(self, password, *, salt=None):
        self.calls += 1
        return super().hash(password, salt=salt)

    def verify(self, hash, password):
        self.calls += 1
        return super().verify(hash, password)


def test_a_taken_address_costs_the_same_hashing_as_a_new_one(store, clock):  # review B8
    """Timing must not tell which addresses have accounts: the refusal for a taken
    address does the same argon2 work as a registration."""
    hasher = CountingHasher()
    accounts = Accounts(store, clock, hasher=hasher)
    accounts.register(EMAIL, PASSWORD)
    new_address = hasher.calls
    assert new_address >= 1
    hasher.calls = 0
    with pytest.raises(AuthError) as caught:
        accounts.register(EMAIL.upper(), "another-good-pass")
    assert caught.value.code == "email_taken"
    assert hasher.calls == new_address


def test_racing_registrations_only_one_wins(store, clock):
    """Both threads pass the "is the address free?" check before either claims it
    (a barrier right after the look-up holds them there), so only the insert-only
    claim can decide."""
    barrier = threading.Barrier(2, timeout=10)
    accounts = Accounts(store, clock, hasher=cheap_hasher())

    class RacingEmails:
        def __init__(self, real):
            self.real = real
            self.held = 0

        def get(self, key):
            found = self.real.get(key)
            if self.held < 2:  # the two registrations' look-ups, not the checks afterwards
                self.held += 1
                barrier.wait()
            return found

        def __getattr__(self, name):
            return getattr(self.real, name)

    accounts.emails = RacingEmails(accounts.emails)
    outcomes: list[object] = []

    def register(i: int) -> None:
        try:
            outcomes.append(accounts.register(EMAIL, f"racing-password-{i}")[0]["id"])
        except AuthError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(outcomes, key=str).count("email_taken") == 1
    winner = next(o for o in outcomes if o != "email_taken")
    assert [u["id"] for u in accounts.users.find(email=EMAIL)] == [winner]  # the loser's account is gone
    assert accounts.find_by_email(EMAIL)["id"] == winner


# --------------------------------------------------------------------------- sign-in


def test_wrong_password_and_unknown_email_look_the_same(accounts, verified):  # R: A-I2, A-X2
    with pytest.raises(AuthError) as wrong:
        accounts.authenticate(EMAIL, "not-the-password")
    with pytest.raises(AuthError) as unknown:
        accounts.authenticate("nobody@example.co.th", PASSWORD)
    with pytest.raises(AuthError) as malformed:
        accounts.authenticate("not an email", PASSWORD)
    for err in (wrong.value, unknown.value, malformed.value):
        assert (err.code, err.th, err.en) == (wrong.value.code, wrong.value.th, wrong.value.en)
    assert wrong.value.code == "invalid_credentials" and has_thai(wrong.value.th)


def test_lockout_after_five_failures_then_released(accounts, verified, clock):  # R: A-X2
    for _ in range(4):
        with pytest.raises(AuthError) as caught:
            accounts.authenticate(EMAIL, "wrong-password-x")
        assert caught.value.code == "invalid_credentials"
    with pytest.raises(AuthError) as fifth:
        accounts.authenticate(EMAIL, "wrong-password-x")
    assert fifth.value.code == "locked"
    assert "09:15" in fifth.value.th and "09:15" in fifth.value.en  # Bangkok time

    clock.advance(minutes=14, seconds=59)
    with pytest.raises(AuthError) as still:  # even the right password is refused while locked
        accounts.authenticate(EMAIL, PASSWORD)
    assert still.value.code == "locked"

    clock.advance(seconds=1)
    assert accounts.authenticate(EMAIL, PASSWORD)["id"] == verified["id"]
    # A success clears the count: four more failures do not lock.
    for _ in range(4):
        with pytest.raises(AuthError) as caught:
            accounts.authenticate(EMAIL, "wrong-password-x")
        assert caught.value.code == "invalid_credentials"


def test_unknown_email_locks_the_same_way(accounts):  # R: A-X2 — no enumeration through lock-out
    codes = []
    for _ in range(6):
        with pytest.raises(AuthError) as caught:
            accounts.authenticate("nobody@example.co.th", "whatever-pass")
        codes.append(caught.value.code)
    assert codes == ["invalid_credentials"] * 4 + ["locked"] * 2


def test_failures_spread_over_time_do_not_lock(accounts, verified, clock):
    for _ in range(3):
        for _ in range(4):
            with pytest.raises(AuthError):
                accounts.authenticate(EMAIL, "wrong-password-x")
        clock.advance(minutes=16)
    assert accounts.authenticate(EMAIL, PASSWORD)["id"] == verified["id"]


def test_disabled_account_cannot_sign_in(accounts, verified):
    accounts.set_disabled(verified["id"])
    with pytest.raises(AuthError) as caught:
        accounts.authenticate(EMAIL, PASSWORD)
    assert caught.value.code == "disabled"
    assert accounts.check_session(verified["id"], verified["session_epoch"]) is None


def test_hash_upgraded_when_parameters_change(store, clock, accounts, verified):
    old_hash = verified["password_hash"]
    stronger = Accounts(store, clock, hasher=PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    user = stronger.authenticate(EMAIL, PASSWORD)
    assert user["password_hash"] != old_hash and "m=2048,t=2" in user["password_hash"]
    assert stronger.users.get(user["id"])["password_hash"] == user["password_hash"]
    assert stronger.authenticate(EMAIL, PASSWORD)["password_hash"] == user["password_hash"]  # no churn


def test_default_argon2_parameters_work(store, clock):
    accounts = Accounts(store, clock)
    user, token = accounts.register(EMAIL, PASSWORD)
    accounts.verify_email(token)
    assert "m=65536" in user["password_hash"]
    assert accounts.authenticate(EMAIL, PASSWORD)["id"] == user["id"]


# --------------------------------------------------------------------------- tokens


def test_verification_token_single_use(accounts):
    _, token = accounts.register(EMAIL, PASSWORD)
    accounts.verify_email(token)
    with pytest.raises(AuthError) as caught:
        accounts.verify_email(token)
    assert caught.value.code == "token_used" and has_thai(caught.value.th)


def test_verification_token_expires_after_48_hours(accounts, clock):
    _, token = accounts.register(EMAIL, PASSWORD)
    _, second = accounts.register("other@example.co.th", PASSWORD)
    clock.advance(hours=47, minutes=59)
    assert accounts.verify_email(second)["email_verified"]
    clock.advance(minutes=1)
    with pytest.raises(AuthError) as caught:
        accounts.verify_email(token)
    assert caught.value.code == "token_expired"
    assert accounts.find_by_email(EMAIL)["email_verified"] is False


def test_forged_or_wrong_purpose_tokens_refused(accounts, verified):
    reset = accounts.request_password_reset(EMAIL)
    for bad in ("x" * 43, "", None, reset):  # a reset token is not a verification token
        with pytest.raises(AuthError) as caught:
            accounts.verify_email(bad)
        assert caught.value.code == "invalid_token"


def test_reset_password_ends_sessions_and_is_single_use(accounts, verified):  # R: A-I2
    old_epoch = verified["session_epoch"]
    assert accounts.check_session(verified["id"], old_epoch) is not None
    token = accounts.request_password_reset(" SOMCHAI@example.co.th")
    earlier_token = accounts.request_password_reset(EMAIL)

    user = accounts.reset_password(token, "brand-new-password-2")
    assert user["session_epoch"] == old_epoch + 1
    assert accounts.check_session(verified["id"], old_epoch) is None  # other sessions end
    assert accounts.check_session(verified["id"], user["session_epoch"]) is not None
    with pytest.raises(AuthError):
        accounts.authenticate(EMAIL, PASSWORD)
    assert accounts.authenticate(EMAIL, "brand-new-password-2")["id"] == verified["id"]

    for used in (token, earlier_token):  # reuse, and the other outstanding token, both refused
        with pytest.raises(AuthError) as caught:
            accounts.reset_password(used, "yet-another-password-3")
        assert caught.value.code == "token_used"


def test_reset_token_expires_after_one_hour(accounts, verified, clock):
    token = accounts.request_password_reset(EMAIL)
    clock.advance(hours=1)
    with pytest.raises(AuthError) as caught:
        accounts.reset_password(token, "brand-new-password-2")
    assert caught.value.code == "token_expired"
    assert accounts.authenticate(EMAIL, PASSWORD)  # unchanged


def test_weak_new_password_does_not_burn_the_reset_token(accounts, verified):
    token = accounts.request_password_reset(EMAIL)
    with pytest.raises(AuthError) as caught:
        accounts.reset_password(token, "123")
    assert caught.value.code == "weak_password"
    assert accounts.reset_password(token, "brand-new-password-2")


def test_reset_request_for_unknown_email_gives_nothing(accounts, verified):
    assert accounts.request_password_reset("nobody@example.co.th") is None
    assert accounts.request_password_reset("not-an-email") is None
    assert accounts.tokens.find(purpose="reset") == []


def test_reset_requests_are_rate_limited(accounts, verified, clock):
    tokens = [accounts.request_password_reset(EMAIL) for _ in range(6)]
    assert all(tokens[:5]) and tokens[5] is None
    clock.advance(hours=1, seconds=1)
    assert accounts.request_password_reset(EMAIL) is not None


def test_reset_lifts_lockout(accounts, verified):
    for _ in range(5):
        with pytest.raises(AuthError):
            accounts.authenticate(EMAIL, "wrong-password-x")
    accounts.reset_password(accounts.request_password_reset(EMAIL), "brand-new-password-2")
    assert accounts.authenticate(EMAIL, "brand-new-password-2")


def test_purge_removes_used_and_expired_tokens(accounts, verified, clock):
    live = accounts.request_password_reset(EMAIL)
    clock.advance(minutes=30)
    fresh = accounts.request_password_reset(EMAIL)
    clock.advance(minutes=31)  # `live` expired, `fresh` not; the verify token is used
    assert accounts.purge_tokens() == 2
    assert accounts.tokens.get(hash_token(fresh)) is not None
    assert accounts.tokens.get(hash_token(live)) is None


# --------------------------------------------------------------------------- profile (A-F2)


def test_profile_with_bad_national_id_refused(accounts, verified):
    bad = valid_id()[:12] + str((int(valid_id()[12]) + 1) % 10)
    with pytest.raises(AuthError) as caught:
        accounts.update_profile(verified["id"], {"national_id": bad}, verified["version"])
    assert caught.value.code == "invalid_profile"
    assert "thai_id.checksum" in [p[0] for p in caught.value.problems]
    assert has_thai(caught.value.th)
    assert "national_id" not in accounts.get(verified["id"])["profile"]
    with pytest.raises(AuthError):  # also at registration
        accounts.register("x@example.co.th", PASSWORD, {"national_id": "1234"})


def test_profile_update_normalises_and_checks_version(accounts, verified):
    spaced = "{}-{}-{}-{}-{}".format(*(valid_id()[a:b] for a, b in ((0, 1), (1, 5), (5, 10), (10, 12), (12, 13))))
    user = accounts.update_profile(verified["id"], {
        "national_id": spaced, "phone": "081 234 5678", "birth_date": "1980-02-29",
        "address": {"house_no": "99/1", "province": "เชียงใหม่", "postcode": "50200"},
    }, verified["version"])
    assert user["profile"]["national_id"] == valid_id()
    assert user["profile"]["first_name"] == "สมชาย"  # merged, not replaced
    with pytest.raises(AuthError) as stale:
        accounts.update_profile(verified["id"], {"first_name": "สมหญิง"}, verified["version"])
    assert stale.value.code == "conflict"
    for bad in ({"phone": "12"}, {"birth_date": "2099-01-01"}, {"birth_date": "29/02/2523"},
                {"salary": "1"}, {"address": "just text"}):
        with pytest.raises(AuthError) as caught:
            accounts.update_profile(verified["id"], bad, user["version"])
        assert caught.value.code == "invalid_profile"
    cleared = accounts.update_profile(verified["id"], {"phone": None}, user["version"])
    assert "phone" not in cleared["profile"]


def test_prefill_profile_gives_the_definition_keys(accounts, verified):  # R: A-F2
    user = accounts.update_profile(verified["id"], {
        "national_id": valid_id(), "phone": "0812345678", "address": {"province": "น่าน"}}, verified["version"])
    data = accounts.prefill_profile(user)
    assert set(data) == set(PROFILE_KEYS) == set(SPEC_PROFILE_KEYS)
    assert data["full_name"] == "สมชาย ใจดี"
    assert data["email"] == EMAIL and data["national_id"] == valid_id()
    assert data["address"] == {"province": "น่าน"} and data["birth_date"] is None
    data["address"]["province"] = "changed"  # a copy: the account is untouched
    assert accounts.get(user["id"])["profile"]["address"] == {"province": "น่าน"}


# --------------------------------------------------------------------------- roles (A-X1)


def test_roles_per_agency_and_service(accounts, verified):  # R: A-X1
    uid = verified["id"]
    accounts.grant_role(uid, "dpt", "reviewer")
    accounts.grant_role(uid, "dpt", "engineer", services=["building-permit"])  # a service-declared role
    user = accounts.grant_role(uid, "dol", "approver", services=["land-survey", "land-survey"], granted_by="u-admin")
    grants = accounts.roles_of(user)
    assert RoleGrant("dol", "approver", ("land-survey",), grants[2].granted_at, "u-admin") in grants
    assert Accounts.has_role(user, "dpt", "reviewer", "anything")
    assert Accounts.has_role(user, "dpt", "engineer", "building-permit")
    assert not Accounts.has_role(user, "dpt", "engineer", "sign-permit")
    assert not Accounts.has_role(user, "dol", "reviewer")
    # Granting again replaces the service list instead of adding a second grant.
    user = accounts.grant_role(uid, "dpt", "engineer", services=None)
    assert [g.services for g in accounts.roles_of(user) if g.role == "engineer"] == [None]
    user = accounts.revoke_role(uid, "dpt", "reviewer")
    assert not Accounts.has_role(user, "dpt", "reviewer")
    assert set(STAFF_ROLES) >= {"registry_clerk", "signing_authority", "system_admin"}


def test_system_wide_grant(accounts, verified):
    user = accounts.grant_role(verified["id"], "*", "system_admin")
    assert Accounts.has_role(user, "any-agency", "system_admin")


@pytest.mark.parametrize("agency, role, services", [
    ("dpt", "Reviewer", None), ("dpt", "head of agency", None), ("DPT", "reviewer", None),
    ("dpt", "reviewer", ["../etc"]), ("dpt", "applicant", None), ("dpt", "reviewer", []),
])
def test_invalid_role_grants_refused(accounts, verified, agency, role, services):
    with pytest.raises(AuthError) as caught:
        accounts.grant_role(verified["id"], agency, role, services)
    assert caught.value.code == "invalid_role"
    assert accounts.roles_of(accounts.get(verified["id"])) == []
