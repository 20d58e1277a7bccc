"""API keys of other government systems on the real store: the admin commands, and `auth.api_client`."""
import io
import json

import pytest

from services.common.errors import Forbidden
from services.gateway import admin
from services.gateway.accounts import api_key_digest
from services.gateway.auth import Authenticator
from services.gateway.storage import GatewayRepository


@pytest.fixture
def repository(open_repo):
    return open_repo(GatewayRepository, "lapor_gateway")


@pytest.fixture
def command(store, db_prefix, capsys):
    """command("create-api-key", "--name", "x") → (exit code, stdout, stderr) against this test's store."""

    def run(*argv):
        out = io.StringIO()
        code = admin.main(list(argv), environ={"LAPOR_MONGO_URI": store.uri, "LAPOR_DB_PREFIX": db_prefix}, out=out)
        return code, out.getvalue(), capsys.readouterr().err

    return run


def authenticator(repository):
    return Authenticator(repository, "test-secret", 1800)


def test_a_created_key_is_printed_once_stored_as_a_digest_and_speaks_for_its_client(command, repository):
    code, out, _ = command("create-api-key", "--name", "pemkot-metro-sim")
    assert code == 0
    key = out.strip().splitlines()[-1]
    assert key.startswith("lapor_") and len(key) > 40
    stored = json.dumps(list(repository.db.api_keys.find({})), default=str)
    assert key not in stored and api_key_digest(key) in stored
    assert authenticator(repository).api_client(key) == {
        "role": "api_client", "username": "pemkot-metro-sim", "name": "pemkot-metro-sim", "agency_code": None,
        "agency_name": None, "scope": None}
    code, out, _ = command("list-api-keys")
    assert "pemkot-metro-sim" in out and "active" in out and key not in out


def test_one_active_key_per_client_and_a_revoked_key_stops_at_once(command, repository):
    key = command("create-api-key", "--name", "bpjs-kesehatan")[1].strip().splitlines()[-1]
    code, _, err = command("create-api-key", "--name", "bpjs-kesehatan")
    assert code == 1 and "revoke it first" in err
    assert command("revoke-api-key", "--name", "bpjs-kesehatan")[0] == 0
    with pytest.raises(Forbidden):
        authenticator(repository).api_client(key)
    assert command("revoke-api-key", "--name", "bpjs-kesehatan")[0] == 1  # nothing active left
    new_key = command("create-api-key", "--name", "bpjs-kesehatan")[1].strip().splitlines()[-1]
    assert authenticator(repository).api_client(new_key)["username"] == "bpjs-kesehatan"
    audit = [entry["action"] for entry in repository.find_audit()[0]]
    assert audit.count("api_key_created") == 2 and "api_key_revoked" in audit


@pytest.mark.parametrize("key", [None, "", "lapor_not-a-key", "x" * 10_000, 42])
def test_a_missing_unknown_or_absurd_key_is_forbidden(repository, key):
    with pytest.raises(Forbidden):
        authenticator(repository).api_client(key)


def test_a_client_name_follows_the_username_rules(command):
    code, _, err = command("create-api-key", "--name", "Pemkot Metro")
    assert code == 1 and err.startswith("error: name:")
