"""Officer sign-in over real HTTP, with the real gateway and routing on the broker and store: tokens, the
lock-out, disabled accounts, the audit log, the admin command and the local run's demo accounts."""
import io
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import eventlet
import jwt
import pytest
import requests
from argon2 import PasswordHasher
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from devstack import launcher
from services.gateway import accounts, admin
from services.gateway.auth import Auth
from services.gateway.exceptions import Unauthorized
from services.gateway.service import GatewayService
from services.gateway.storage import GatewayRepository
from services.routing.service import RoutingService
from tests.conftest import TEST_SECRET_KEY

PASSWORD = "kata-sandi-rahasia"
ROOT = launcher.ROOT


@pytest.fixture
def gateway_repo(open_repo):
    return open_repo(GatewayRepository, "lapor_gateway")


@pytest.fixture
def gateway(start_service, routing_repo):
    start_service(RoutingService)
    return start_service(GatewayService)


@pytest.fixture
def url(gateway):
    return f"http://{gateway.config['WEB_SERVER_ADDRESS']}"


@pytest.fixture
def make_account(gateway_repo, routing_repo):
    def make(username, role="national_admin", agency_code=None, password=PASSWORD):
        fields = {"username": username, "role": role, "agency_code": agency_code, "name": username.title(),
                  "password": password}
        return admin.create_account(gateway_repo, fields, routing_repo.agency)

    return make


@pytest.fixture
def authenticator(gateway):
    """The worker-side object of the running gateway's Auth, for the checks no route of this issue exposes."""
    [auth] = [dependency for dependency in gateway.dependencies if isinstance(dependency, Auth)]
    return auth.get_dependency(None)


def login(url, username, password=PASSWORD, language="id"):
    return requests.post(f"{url}/api/v1/auth/token", json={"username": username, "password": password},
                         headers={"Accept-Language": language}, timeout=30)


def claims_of(response):
    return jwt.decode(response.json()["access_token"], options={"verify_signature": False})


def bearer(token):
    return Request(EnvironBuilder(headers={"Authorization": f"Bearer {token}"}).get_environ())


def outcomes(gateway_repo, username):
    entries, _ = gateway_repo.find_audit(username=username, limit=100)
    return [entry["outcome"] for entry in entries]


def test_a_national_admin_signs_in_and_the_token_speaks_for_them(url, make_account, authenticator):
    make_account("budi.s")

    response = login(url, "budi.s")

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 1800
    claims = claims_of(response)
    assert claims["sub"] == "budi.s" and claims["role"] == "national_admin" and claims["scope"] is None
    assert claims["exp"] - claims["iat"] == 1800
    assert authenticator.principal(bearer(body["access_token"])) == {
        "role": "national_admin", "username": "budi.s", "name": "Budi.S", "agency_code": None,
        "agency_name": None, "scope": None}
    audit = requests.get(f"{url}/api/v1/audit", params={"username": "budi.s"},
                         headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=10)
    assert audit.status_code == 200 and audit.json()["items"][0]["outcome"] == "ok"


def test_an_agency_admins_token_carries_its_agency_and_units(url, make_account):
    make_account("metro.admin", role="agency_admin", agency_code="KOTA-18.72")
    make_account("metro.officer", role="agency_officer", agency_code="KOTA-18.72-DPUPR")

    admin_claims, officer_claims = claims_of(login(url, "metro.admin")), claims_of(login(url, "metro.officer"))

    assert admin_claims["agency_code"] == "KOTA-18.72" and admin_claims["agency_name"] == "Pemerintah Kota Metro"
    assert set(admin_claims["scope"]) == {"KOTA-18.72", "KOTA-18.72-DPUPR"}
    assert officer_claims["scope"] == ["KOTA-18.72-DPUPR"]
    assert officer_claims["agency_name"] == "Dinas Pekerjaan Umum dan Penataan Ruang Kota Metro"


@pytest.mark.parametrize("language", ["id", "en"])
def test_a_wrong_password_and_an_unknown_name_get_the_same_401(url, make_account, gateway_repo, language):
    make_account("budi.s")

    wrong_password, unknown_name = login(url, "budi.s", "salah-sandi-123", language), login(
        url, "tidak.ada", PASSWORD, language)

    assert wrong_password.status_code == unknown_name.status_code == 401
    assert wrong_password.json() == unknown_name.json()
    assert wrong_password.json()["error"]["code"] == "unauthorized"
    assert outcomes(gateway_repo, "budi.s") == ["wrong_password"]
    assert outcomes(gateway_repo, "ti…") == ["unknown_username"]  # a name that is no account: its first letters


def test_five_failures_lock_the_name_for_the_rest_of_the_window(url, make_account, gateway_repo):
    make_account("budi.s")
    make_account("siti.a")

    assert [login(url, "budi.s", "salah-sandi-123").status_code for _ in range(5)] == [401] * 5
    locked = login(url, "budi.s")  # the right password no longer helps

    assert locked.status_code == 429 and locked.json()["error"]["code"] == "rate_limited"
    assert 800 < int(locked.headers["Retry-After"]) <= 900
    assert login(url, "siti.a").status_code == 200  # only that name is locked
    assert outcomes(gateway_repo, "budi.s") == ["locked"] + ["wrong_password"] * 5


def test_parallel_guesses_cannot_slip_past_the_limit_together(url, make_account):
    make_account("budi.s")
    pool = eventlet.GreenPool(10)

    statuses = list(pool.imap(lambda _: login(url, "budi.s", "salah-sandi-123").status_code, range(10)))

    assert sorted(statuses) == [401] * 5 + [429] * 5


def test_a_success_before_the_limit_forgets_the_names_failures(url, make_account):
    make_account("budi.s")
    for _ in range(4):
        login(url, "budi.s", "salah-sandi-123")
    assert login(url, "budi.s").status_code == 200

    assert [login(url, "budi.s", "salah-sandi-123").status_code for _ in range(4)] == [401] * 4
    assert login(url, "budi.s").status_code == 200


def test_twenty_failures_from_one_address_lock_that_address(url, make_account):
    make_account("budi.s")
    for attempt in range(20):
        assert login(url, f"tebakan.{attempt}", "salah-sandi-123").status_code == 401

    response = login(url, "budi.s")

    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0


def test_a_disabled_account_cannot_sign_in_and_its_tokens_stop_working(url, make_account, gateway_repo,
                                                                         authenticator):
    make_account("budi.s")
    token = login(url, "budi.s").json()["access_token"]

    admin.set_disabled(gateway_repo, "budi.s", True)

    response = login(url, "budi.s")
    assert response.status_code == 401 and response.json() == login(url, "tidak.ada").json()
    assert outcomes(gateway_repo, "budi.s")[0] == "disabled"
    with pytest.raises(Unauthorized):
        authenticator.principal(bearer(token))
    admin.set_disabled(gateway_repo, "budi.s", False)
    assert authenticator.principal(bearer(token))["username"] == "budi.s"


def test_principal_refuses_bad_tokens_and_ignores_a_missing_header(url, make_account, gateway_repo, authenticator):
    account = make_account("metro.admin", role="agency_admin", agency_code="KOTA-18.72")
    metro = {"name": "Pemerintah Kota Metro", "scope": ["KOTA-18.72"]}
    five_minutes_ago = datetime.now(timezone.utc) - timedelta(minutes=5)
    expired = accounts.issue_token(account, metro, TEST_SECRET_KEY, 60, five_minutes_ago)
    token = login(url, "metro.admin").json()["access_token"]
    header, payload, signature = token.split(".")

    assert authenticator.principal(Request(EnvironBuilder().get_environ())) is None
    for bad in (expired, f"{header}.{payload}.{signature[:-2]}xx", "abc", ""):
        with pytest.raises(Unauthorized):
            authenticator.principal(bearer(bad))
    with pytest.raises(Unauthorized):
        authenticator.principal(Request(EnvironBuilder(headers={"Authorization": f"Basic {token}"}).get_environ()))
    gateway_repo.db.accounts.update_one({"_id": "metro.admin"}, {"$set": {"role": "agency_officer"}})
    with pytest.raises(Unauthorized):  # the role changed since the token was issued
        authenticator.principal(bearer(token))


@pytest.mark.parametrize("body, field", [
    ({"username": "budi.s"}, "password"),
    ({"username": "budi.s", "password": PASSWORD, "role": "national_admin"}, "role"),
])
def test_a_bad_body_gets_400_per_field_in_the_clients_language(url, body, field):
    indonesian = requests.post(f"{url}/api/v1/auth/token", json=body, timeout=10)
    english = requests.post(f"{url}/api/v1/auth/token", json=body, headers={"Accept-Language": "en"}, timeout=10)

    assert indonesian.status_code == english.status_code == 400
    assert indonesian.json()["error"]["fields"][field] != english.json()["error"]["fields"][field]


def test_a_json_array_body_is_refused(url):
    response = requests.post(f"{url}/api/v1/auth/token", json=["budi.s", PASSWORD], timeout=10)
    assert response.status_code == 400 and "_body" in response.json()["error"]["fields"]


def test_every_attempt_is_audited_newest_first(url, make_account, authenticator):
    make_account("budi.s")
    login(url, "budi.s", "salah-sandi-123")
    login(url, "budi.s")

    audit = authenticator.audit_entries(username="budi.s")

    assert audit["total"] == 2 and audit["page"] == 1
    latest, first = audit["items"]
    assert (latest["outcome"], first["outcome"]) == ("ok", "wrong_password")
    assert latest["action"] == "login" and latest["role"] == "national_admin"
    assert latest["client_address"] == "127.0.0.1" and latest["at"] > first["at"]
    assert authenticator.audit_entries(username="budi.s", page=2, per_page=1)["items"][0]["outcome"] == \
        "wrong_password"


def test_a_weak_stored_hash_is_upgraded_at_sign_in(url, make_account, gateway_repo):
    make_account("budi.s")
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    gateway_repo.set_password_hash("budi.s", weak)

    assert login(url, "budi.s").status_code == 200

    upgraded = gateway_repo.account("budi.s")["password_hash"]
    assert upgraded != weak and not accounts.needs_rehash(upgraded)


# The admin command and the local run's demo accounts

def cli(store, db_prefix, *argv, stdin=""):
    out = io.StringIO()
    environ = {"LAPOR_MONGO_URI": store.uri, "LAPOR_DB_PREFIX": db_prefix}
    code = admin.main(list(argv), environ=environ, stdin=io.StringIO(stdin), out=out)
    return code, out.getvalue()


def test_the_admin_command_creates_an_account_that_can_sign_in(url, store, db_prefix, gateway_repo):
    code, out = cli(store, db_prefix, "create", "--username", "metro.admin", "--role", "agency_admin",
                    "--agency", "KOTA-18.72", "--name", "Admin Metro", "--password-stdin", stdin=PASSWORD + "\n")

    assert code == 0 and "metro.admin" in out
    assert "KOTA-18.72-DPUPR" in claims_of(login(url, "metro.admin"))["scope"]
    assert gateway_repo.account("metro.admin")["password_hash"].startswith("$argon2id$")
    entries, _ = gateway_repo.find_audit(limit=100)
    assert [(e["action"], e["role"], e["details"]["account"]) for e in entries if e["action"] != "login"] == [
        ("account_created", "system", "metro.admin")]


@pytest.mark.parametrize("argv, stdin", [
    (["--role", "agency_admin", "--agency", "KOTA-99.99"], PASSWORD),  # no such agency
    (["--role", "agency_officer", "--agency", "KOTA-18.72"], PASSWORD),  # an officer belongs to a unit
    (["--role", "agency_admin", "--agency", "KOTA-18.72-DPUPR"], PASSWORD),  # an admin to an agency
    (["--role", "agency_admin"], PASSWORD),
    (["--role", "national_admin", "--agency", "KOTA-18.72"], PASSWORD),
    (["--role", "national_admin"], "pendek"),
])
def test_the_admin_command_refuses_what_cannot_be(store, db_prefix, routing_repo, gateway_repo, argv, stdin, capsys):
    code, _ = cli(store, db_prefix, "create", "--username", "budi.s", "--password-stdin", *argv, stdin=stdin + "\n")
    assert code == 1 and gateway_repo.accounts() == []
    assert capsys.readouterr().err.startswith("error: ")


def test_disabling_an_unknown_account_is_an_error(store, db_prefix):
    assert cli(store, db_prefix, "disable", "--username", "tidak.ada")[0] == 1


def test_the_admin_command_never_overwrites_an_account(store, db_prefix, gateway_repo):
    create = ("create", "--username", "budi.s", "--role", "national_admin", "--password-stdin")
    assert cli(store, db_prefix, *create, stdin=PASSWORD + "\n")[0] == 0
    first_hash = gateway_repo.account("budi.s")["password_hash"]

    assert cli(store, db_prefix, *create, stdin="another-password\n")[0] == 1
    assert gateway_repo.account("budi.s")["password_hash"] == first_hash


def test_the_admin_command_runs_as_a_module(store, db_prefix, gateway_repo):
    env = dict(os.environ, LAPOR_MONGO_URI=store.uri, LAPOR_DB_PREFIX=db_prefix, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "services.gateway.admin"]
    created = subprocess.run(command + ["create", "--username", "siti.a", "--role", "supervisor", "--password-stdin"],
                             input=PASSWORD + "\n", env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    disabled = subprocess.run(command + ["disable", "--username", "siti.a"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
    listed = subprocess.run(command + ["list"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert created.returncode == disabled.returncode == listed.returncode == 0, created.stderr + disabled.stderr
    assert "siti.a" in listed.stdout and "supervisor" in listed.stdout and "disabled" in listed.stdout
    assert not accounts.is_active(gateway_repo.account("siti.a"))


def test_the_admin_command_says_when_the_store_does_not_answer(capsys):
    code = admin.main(["list"], environ={"LAPOR_MONGO_URI": "mongodb://127.0.0.1:9/"}, out=io.StringIO())
    assert code == 1 and "make run" in capsys.readouterr().err


def test_the_local_runs_demo_accounts_sign_in_and_are_seeded_once(url, store, db_prefix, gateway_repo):
    settings = launcher.StackSettings(amqp_uri="", mongo_uri=store.uri, secret_key="", pii_key="",
                                      db_prefix=db_prefix)
    lines = []

    assert launcher.seed_demo(settings, "demo12345", log=lines.append) == [
        "demo.admin", "demo.supervisor", "demo.metro.admin", "demo.metro.officer"]
    assert launcher.seed_demo(settings, "another-password", log=lines.append) == []

    assert "demo.metro.officer" in lines[0] and "demo12345" in lines[0]
    officer = claims_of(login(url, "demo.metro.officer", "demo12345"))
    assert officer["role"] == "agency_officer" and officer["scope"] == ["KOTA-18.72-DPUPR"]
    assert claims_of(login(url, "demo.supervisor", "demo12345"))["scope"] is None
    assert login(url, "demo.admin", "another-password").status_code == 401
