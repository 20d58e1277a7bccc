"""Issue 13, low item: a failed sign-in under a name that is no account (officers sometimes type their password
there) is audited as the first letters and a keyed hash of what was typed, never verbatim, and the failure
counters do not keep it either. A real account's name is kept as it is. On the real store."""
import json

import pytest

from services.common.errors import RateLimited
from services.common.events import now
from services.gateway import accounts
from services.gateway.auth import Authenticator
from services.gateway.exceptions import Unauthorized
from services.gateway.storage import GatewayRepository
from tests.security.samples import SECRET

TYPED = "Sandi-Rahasia-2026!"  # a password typed into the username field
PASSWORD = "kata-sandi-rahasia"


@pytest.fixture
def repository(open_repo):
    repository = open_repo(GatewayRepository, "lapor_gateway")
    repository.insert_account({"_id": "budi.s", "role": "national_admin", "name": "Budi", "agency_code": None,
                               "password_hash": accounts.hash_password(PASSWORD), "created_at": now(),
                               "disabled_at": None})
    return repository


@pytest.fixture
def auth(repository):
    return Authenticator(repository, SECRET, 1800)


def _everything_kept(repository):
    kept = list(repository.db.audit.find({}, {"_id": 0})) + list(repository.db.login_failures.find({}))
    return json.dumps(kept, default=str)


def test_an_unknown_name_is_audited_as_its_first_letters_and_a_keyed_hash(auth, repository):
    with pytest.raises(Unauthorized):
        auth.login({"username": TYPED, "password": "x"}, "10.0.0.1", lambda code: None)

    [entry] = auth.audit_entries()["items"]
    assert entry["outcome"] == "unknown_username"
    assert entry["username"] == "Sa…"
    assert entry["details"] == {"username_hmac": accounts.typed_username_hmac(SECRET, TYPED)}
    assert TYPED not in _everything_kept(repository) and TYPED.lower() not in _everything_kept(repository).lower()


def test_a_locked_out_unknown_name_is_not_kept_verbatim_either(auth, repository):
    for _ in range(accounts.USERNAME_FAILURE_LIMIT):
        with pytest.raises(Unauthorized):
            auth.login({"username": TYPED, "password": "x"}, "10.0.0.1", lambda code: None)
    with pytest.raises(RateLimited):
        auth.login({"username": TYPED, "password": "x"}, "10.0.0.1", lambda code: None)

    outcomes = [entry["outcome"] for entry in auth.audit_entries()["items"]]
    assert outcomes == ["locked"] + ["unknown_username"] * accounts.USERNAME_FAILURE_LIMIT
    assert TYPED not in _everything_kept(repository)


def test_a_real_account_s_name_is_kept_as_it_is(auth):
    with pytest.raises(Unauthorized):
        auth.login({"username": "budi.s", "password": "salah-sandi-123"}, "10.0.0.1", lambda code: None)
    [entry] = auth.audit_entries(username="budi.s")["items"]
    assert entry["outcome"] == "wrong_password" and entry["username"] == "budi.s"


def test_the_keyed_hash_needs_the_server_secret():
    assert accounts.typed_username_hmac(SECRET, TYPED) == accounts.typed_username_hmac(SECRET, TYPED)
    assert accounts.typed_username_hmac(SECRET, TYPED) != accounts.typed_username_hmac("another-secret", TYPED)
