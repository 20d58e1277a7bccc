"""Officer accounts and API clients in plain Python: roles, schemas, passwords, tokens, API keys, login limits."""
import hashlib
import math
import secrets
from datetime import datetime, timedelta, timezone

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from services.common.addresses import counted_address
from services.common.keys import derive_key, keyed_hash

ROLES = ("national_admin", "agency_admin", "agency_officer", "supervisor", "api_client")
# Roles that belong to one agency (an agency admin) or one unit (an officer); the others see nationally.
AGENCY_ROLES = ("agency_admin", "agency_officer")

USERNAME_PATTERN = r"^[a-z0-9._-]{3,64}$"
MIN_PASSWORD_LENGTH = 10
# A cap well above any real password, so an absurd one is refused before it reaches the hasher.
MAX_PASSWORD_LENGTH = 256

DEFAULT_TOKEN_TTL_SECONDS = 1800
TOKEN_ALGORITHM = "HS256"
# Claims that must carry a value; name, agency_code, agency_name and scope may be null. `jti` names the token, so
# signing out can revoke it.
REQUIRED_CLAIMS = ("sub", "role", "iat", "exp", "jti")

FAILURE_WINDOW = timedelta(minutes=15)
USERNAME_FAILURE_LIMIT = 5
TYPED_USERNAME_LETTERS = 2  # what the audit log keeps of a name that is no account
ADDRESS_FAILURE_LIMIT = 20

_hasher = PasswordHasher()
# Verified when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no account has this password")


class InvalidToken(Exception):
    """A bearer token that is malformed, badly signed, expired or missing claims."""


class AccountSchema(Schema):
    """A new officer account as an administrator gives it (the CLI; later the admin API)."""

    class Meta:
        unknown = RAISE

    username = fields.String(required=True, validate=validate.Regexp(
        USERNAME_PATTERN, error="Use 3 to 64 characters: lowercase letters, digits, dot, underscore or hyphen."))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    agency_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=120))
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH))

    @validates_schema
    def agency_matches_role(self, data, **kwargs):
        role, agency_code = data.get("role"), data.get("agency_code")
        if role in AGENCY_ROLES and not agency_code:
            raise ValidationError("Required for agency_admin and agency_officer.", "agency_code")
        if role in ROLES and role not in AGENCY_ROLES and agency_code:
            raise ValidationError("Only agency_admin and agency_officer belong to an agency.", "agency_code")


class LoginSchema(Schema):
    """`POST /api/v1/auth/token`: no format rules beyond lengths, so a wrong name is just a failed login."""

    class Meta:
        unknown = RAISE

    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=MAX_PASSWORD_LENGTH))


def agency_role_problem(role, agency):
    """Why `agency` (routing's record, or None) cannot hold `role`, in English; None when it can."""
    if role not in AGENCY_ROLES:
        return None
    if agency is None:
        return "Unknown agency code."
    if role == "agency_officer" and agency.get("kind") != "unit":
        return "An agency_officer belongs to a unit (an agency of kind unit)."
    if role == "agency_admin" and agency.get("kind") == "unit":
        return "An agency_admin belongs to an agency, not to one of its units."
    return None


def new_account(fields_, password_hash, created_at):
    """The stored account: `_id` is the username; no password, only its hash."""
    return {
        "_id": fields_["username"],
        "role": fields_["role"],
        "agency_code": fields_.get("agency_code"),
        "name": fields_.get("name") or fields_["username"],
        "password_hash": password_hash,
        "created_at": created_at,
        "disabled_at": None,
    }


def audit_entry(actor, action, tracking_id, outcome, client_address, details, at):
    """One line of the audit log: who (as far as known), did what, to which report, with what outcome."""
    actor = actor or {}
    return {
        "at": at,
        "username": actor.get("username"),
        "role": actor.get("role"),
        "agency_code": actor.get("agency_code"),
        "action": action,
        "tracking_id": tracking_id,
        "outcome": outcome,
        "client_address": client_address,
        "details": details,
    }


def is_active(account):
    return account is not None and account.get("disabled_at") is None


def hash_password(password):
    return _hasher.hash(password)


def verify_password(password_hash, password):
    """True when `password` matches. No hash (an unknown account) still costs one full verification."""
    try:
        _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def needs_rehash(password_hash):
    """After a parameter change, a successful login upgrades the stored hash."""
    return _hasher.check_needs_rehash(password_hash)


def token_key(secret_key):
    """A signing key of its own, derived from SECRET_KEY, so tokens and access-code hashes never share a key."""
    return derive_key(secret_key, "officer tokens")


def issue_token(account, agency, secret_key, ttl_seconds, issued_at):
    """A signed HS256 token for `account`; `agency` is routing's scope_of answer (None for national roles)."""
    iat = int(issued_at.timestamp())
    claims = {
        "sub": account["_id"],
        "role": account["role"],
        "name": account.get("name"),
        "agency_code": account.get("agency_code"),
        "agency_name": agency["name"] if agency else None,
        "scope": list(agency["scope"]) if agency else None,
        "iat": iat,
        "exp": iat + ttl_seconds,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, token_key(secret_key), algorithm=TOKEN_ALGORITHM)


def verify_token(token, secret_key):
    """The token's claims; InvalidToken for anything not signed by us, expired or incomplete."""
    try:
        return jwt.decode(token, token_key(secret_key), algorithms=[TOKEN_ALGORITHM],
                          options={"require": list(REQUIRED_CLAIMS)})
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc


def expires_at(claims):
    """When a verified token stops working by itself: how long a revocation must be kept."""
    return datetime.fromtimestamp(claims["exp"], timezone.utc)


def actor_from_claims(claims):
    """The actor dict of the interface contract, as every service receives it."""
    return {
        "role": claims["role"],
        "username": claims["sub"],
        "name": claims.get("name"),
        "agency_code": claims.get("agency_code"),
        "agency_name": claims.get("agency_name"),
        "scope": claims.get("scope"),
    }


def username_key(username, secret_key):
    """The failure counter of a name as typed, keyed by its hash: a password typed as the name is not kept."""
    return f"user:{typed_username_hmac(secret_key, username)}"


def typed_username_hmac(secret_key, username):
    """A keyed hash of a name as typed at sign-in: repeated tries of one name show as one, the text never does."""
    return keyed_hash(secret_key, "typed usernames", username)


def typed_username_hint(username):
    """The first letters of a name typed at sign-in that is no account (at most 2, none of a short one)."""
    return username[:min(TYPED_USERNAME_LETTERS, len(username) // 4)] + "…"


def address_key(client_address):
    return f"address:{counted_address(client_address) or 'unknown'}"


def over_limit(attempts, limit):
    """`attempts` in the window, this one included: the one after `limit` failures is refused."""
    return attempts > limit


def retry_after_seconds(window_started_at, at, window=FAILURE_WINDOW):
    """Whole seconds until the failure window ends (at least 1), for the Retry-After header."""
    return max(1, math.ceil((window_started_at + window - at).total_seconds()))


# API keys of other government systems (DESIGN §4, X-API-Key and Open311's api_key): random, shown once,
# kept only as a SHA-256 digest. 256 random bits need no slow or keyed hash: nothing can be guessed from it.
API_KEY_PREFIX = "lapor_"
MAX_API_KEY_LENGTH = 128


class ApiClientSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Regexp(
        USERNAME_PATTERN, error="Use 3 to 64 characters: lowercase letters, digits, dot, underscore or hyphen."))


def new_api_key():
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_digest(key):
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_client(name, key, created_at):
    """The stored record of one key: `_id` is its digest; the key itself is never stored."""
    return {"_id": api_key_digest(key), "name": name, "active": True, "created_at": created_at, "revoked_at": None}


def plausible_api_key(key):
    """Worth a lookup: a string of sane length (anything else is refused without touching the store)."""
    return isinstance(key, str) and 0 < len(key) <= MAX_API_KEY_LENGTH


def api_client_actor(api_client):
    """The actor of the interface contract for a request made with the client's key."""
    return {"role": "api_client", "username": api_client["name"], "name": api_client["name"],
            "agency_code": None, "agency_name": None, "scope": None}
