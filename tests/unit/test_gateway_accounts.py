"""Officer accounts without a store: schemas, argon2 passwords, signed tokens and the login limits."""
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from marshmallow import ValidationError

from services.gateway import accounts

SECRET = "unit-secret-key-thirty-two-bytes-long"
AT = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)
METRO = {"code": "KOTA-18.72", "name": "Pemerintah Kota Metro", "kind": "regency_city",
         "scope": ["KOTA-18.72", "KOTA-18.72-DPUPR"]}


def account_fields(**overrides):
    fields = {"username": "budi.s", "role": "national_admin", "name": "Budi S", "password": "kata-sandi-rahasia"}
    fields.update(overrides)
    return fields


def stored_account(**overrides):
    account = {"_id": "metro.admin", "role": "agency_admin", "agency_code": "KOTA-18.72", "name": "Admin Metro",
               "password_hash": "x", "disabled_at": None}
    account.update(overrides)
    return account


# Schemas

def test_a_valid_account_loads_and_never_dumps_its_password():
    loaded = accounts.AccountSchema().load(account_fields())
    assert loaded["username"] == "budi.s" and loaded["agency_code"] is None
    assert "password" not in accounts.AccountSchema().dump(loaded)


@pytest.mark.parametrize("overrides, field", [
    ({"username": "bu"}, "username"),
    ({"username": "x" * 65}, "username"),
    ({"username": "Budi"}, "username"),
    ({"username": "budi s"}, "username"),
    ({"username": "budi@metro"}, "username"),
    ({"role": "reporter"}, "role"),
    ({"role": "system"}, "role"),
    ({"password": "123456789"}, "password"),
    ({"password": "x" * 257}, "password"),
    ({"role": "agency_admin"}, "agency_code"),
    ({"role": "agency_officer", "agency_code": None}, "agency_code"),
    ({"role": "national_admin", "agency_code": "KOTA-18.72"}, "agency_code"),
    ({"role": "supervisor", "agency_code": "KOTA-18.72"}, "agency_code"),
    ({"is_admin": True}, "is_admin"),
])
def test_account_schema_refuses(overrides, field):
    with pytest.raises(ValidationError) as caught:
        accounts.AccountSchema().load(account_fields(**overrides))
    assert field in caught.value.messages


@pytest.mark.parametrize("role", accounts.AGENCY_ROLES)
def test_agency_roles_carry_their_agency(role):
    assert accounts.AccountSchema().load(account_fields(role=role, agency_code="KOTA-18.72"))["agency_code"]


def test_the_new_account_keeps_a_hash_not_the_password_and_defaults_the_name():
    loaded = accounts.AccountSchema().load(account_fields(name=None))
    account = accounts.new_account(loaded, accounts.hash_password(loaded["password"]), AT)
    assert account["_id"] == account["name"] == "budi.s"
    assert "kata-sandi-rahasia" not in repr(account) and accounts.is_active(account)


@pytest.mark.parametrize("body, field", [
    ({"username": "budi.s"}, "password"),
    ({"password": "x"}, "username"),
    ({"username": "budi.s", "password": "x", "scope": ["*"]}, "scope"),
    ({"username": "budi.s", "password": 12345}, "password"),
    ({"username": "", "password": "x"}, "username"),
])
def test_login_schema_refuses(body, field):
    with pytest.raises(ValidationError) as caught:
        accounts.LoginSchema().load(body)
    assert field in caught.value.messages


def test_login_schema_takes_any_stored_password_length():
    assert accounts.LoginSchema().load({"username": "demo.admin", "password": "demo12345"})["password"] == "demo12345"


@pytest.mark.parametrize("role, agency, problem", [
    ("agency_admin", None, "Unknown"),
    ("agency_officer", {"kind": "regency_city"}, "unit"),
    ("agency_admin", {"kind": "unit"}, "not to one of its units"),
])
def test_an_agency_must_fit_the_role(role, agency, problem):
    assert problem in accounts.agency_role_problem(role, agency)


@pytest.mark.parametrize("role, agency", [
    ("agency_admin", {"kind": "regency_city"}), ("agency_officer", {"kind": "unit"}), ("national_admin", None)])
def test_fitting_agencies_pass(role, agency):
    assert accounts.agency_role_problem(role, agency) is None


# Passwords

def test_a_password_verifies_against_its_own_hash_only():
    password_hash = accounts.hash_password("kata-sandi-rahasia")
    assert password_hash.startswith("$argon2id$") and "kata-sandi-rahasia" not in password_hash
    assert accounts.verify_password(password_hash, "kata-sandi-rahasia")
    assert not accounts.verify_password(password_hash, "kata-sandi-rahasiA")
    assert accounts.hash_password("kata-sandi-rahasia") != password_hash  # salted


@pytest.mark.parametrize("password_hash", [None, "", "not-a-hash", "$argon2id$v=19$broken"])
def test_no_hash_or_a_broken_one_is_a_mismatch_not_an_error(password_hash):
    assert accounts.verify_password(password_hash, "anything at all") is False


def test_a_fresh_hash_needs_no_rehash_but_weaker_parameters_do():
    from argon2 import PasswordHasher

    assert not accounts.needs_rehash(accounts.hash_password("kata-sandi-rahasia"))
    assert accounts.needs_rehash(PasswordHasher(time_cost=1, memory_cost=8192).hash("kata-sandi-rahasia"))


# Tokens

def test_a_token_carries_the_contract_claims_and_verifies():
    token = accounts.issue_token(stored_account(), METRO, SECRET, 1800, datetime.now(timezone.utc))
    claims = accounts.verify_token(token, SECRET)
    assert claims["sub"] == "metro.admin" and claims["exp"] - claims["iat"] == 1800
    assert accounts.actor_from_claims(claims) == {
        "role": "agency_admin", "username": "metro.admin", "name": "Admin Metro", "agency_code": "KOTA-18.72",
        "agency_name": "Pemerintah Kota Metro", "scope": ["KOTA-18.72", "KOTA-18.72-DPUPR"]}


def test_national_roles_get_no_agency_and_no_scope():
    account = stored_account(_id="budi.s", role="national_admin", agency_code=None)
    claims = accounts.verify_token(accounts.issue_token(account, None, SECRET, 60, datetime.now(timezone.utc)), SECRET)
    assert claims["scope"] is None and claims["agency_name"] is None and claims["agency_code"] is None


def test_an_expired_token_is_refused():
    issued_at = datetime.now(timezone.utc) - timedelta(seconds=1801)
    token = accounts.issue_token(stored_account(), METRO, SECRET, 1800, issued_at)
    with pytest.raises(accounts.InvalidToken, match="expired"):
        accounts.verify_token(token, SECRET)


def test_a_token_signed_with_another_secret_is_refused():
    token = accounts.issue_token(stored_account(), METRO, "another-secret", 1800, datetime.now(timezone.utc))
    with pytest.raises(accounts.InvalidToken):
        accounts.verify_token(token, SECRET)


def test_a_tampered_payload_is_refused():
    header, payload, signature = accounts.issue_token(
        stored_account(), METRO, SECRET, 1800, datetime.now(timezone.utc)).split(".")
    claims = jwt.decode(".".join((header, payload, signature)), options={"verify_signature": False})
    forged_claims = dict(claims, role="national_admin", scope=None)
    forged = jwt.encode(forged_claims, "a-guess-as-long-as-a-real-hs256-key", algorithm="HS256").split(".")[1]
    with pytest.raises(accounts.InvalidToken):
        accounts.verify_token(".".join((header, forged, signature)), SECRET)


def test_the_raw_secret_key_does_not_sign_tokens():
    """Tokens use a key derived from SECRET_KEY: the key that hashes access codes cannot mint a token."""
    claims = {"sub": "x", "role": "national_admin", "iat": 1, "exp": 2 ** 40}
    with pytest.raises(accounts.InvalidToken):
        accounts.verify_token(jwt.encode(claims, SECRET, algorithm="HS256"), SECRET)


@pytest.mark.parametrize("algorithm_token", [
    lambda: jwt.encode({"sub": "x", "role": "national_admin", "iat": 1, "exp": 2 ** 40}, None, algorithm="none"),
    lambda: "not.a.token",
    lambda: "",
])
def test_unsigned_or_malformed_tokens_are_refused(algorithm_token):
    with pytest.raises(accounts.InvalidToken):
        accounts.verify_token(algorithm_token(), SECRET)


def test_a_token_missing_a_required_claim_is_refused():
    claims = {"sub": "x", "iat": 1, "exp": 2 ** 40}  # no role
    with pytest.raises(accounts.InvalidToken):
        accounts.verify_token(jwt.encode(claims, accounts.token_key(SECRET), algorithm="HS256"), SECRET)


# Login limits

def test_the_limits_are_five_per_name_and_twenty_per_address_in_fifteen_minutes():
    assert accounts.FAILURE_WINDOW == timedelta(minutes=15)
    # Counted with the attempt itself: the 5th attempt may still try, the 6th after 5 failures may not.
    assert not accounts.over_limit(5, accounts.USERNAME_FAILURE_LIMIT)
    assert accounts.over_limit(6, accounts.USERNAME_FAILURE_LIMIT)
    assert not accounts.over_limit(20, accounts.ADDRESS_FAILURE_LIMIT)
    assert accounts.over_limit(21, accounts.ADDRESS_FAILURE_LIMIT)


@pytest.mark.parametrize("elapsed, expected", [
    (timedelta(0), 900), (timedelta(minutes=10), 300), (timedelta(seconds=899, milliseconds=1), 1),
    (timedelta(minutes=20), 1)])
def test_retry_after_is_what_is_left_of_the_window(elapsed, expected):
    assert accounts.retry_after_seconds(AT, AT + elapsed) == expected


def test_failure_keys_keep_names_and_addresses_apart():
    assert accounts.username_key("10.0.0.1", "a-secret") != accounts.address_key("10.0.0.1")
    assert "10.0.0.1" not in accounts.username_key("10.0.0.1", "a-secret")  # a name as typed is never kept
    assert accounts.address_key(None) == "address:unknown"


def test_an_audit_entry_has_every_field_even_for_an_unknown_actor():
    entry = accounts.audit_entry(None, "login", None, "unknown_username", "10.0.0.1", None, AT)
    assert set(entry) == {"at", "username", "role", "agency_code", "action", "tracking_id", "outcome",
                          "client_address", "details"}
    assert entry["username"] is None and entry["outcome"] == "unknown_username"
