"""The deployment files (Dockerfile, docker-compose.yml, deploy/*.yml) say what DESIGN §2, §4 and §6 say.

No Docker engine runs here, so these tests read the files; promtool checks the Prometheus ones for real.
"""
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

# service -> (the env var naming its HTTP port, the port)
SERVICES = {
    "gateway": ("LAPOR_HTTP_PORT", 8000),
    "intake": ("LAPOR_INTAKE_PORT", 8001),
    "routing": ("LAPOR_ROUTING_PORT", 8002),
    "tracking": ("LAPOR_TRACKING_PORT", 8003),
    "notifications": ("LAPOR_NOTIFICATIONS_PORT", 8004),
    "sla": ("LAPOR_SLA_PORT", 8005),
}
PORT_VARS = {var for var, _ in SERVICES.values()}
METRICS_PORTS = {"gateway": 8006}  # LAPOR_GATEWAY_METRICS_PORT: where Prometheus scrapes the gateway
ADMIN_PASSWORD = "${LAPOR_RABBIT_ADMIN_PASSWORD:?set LAPOR_RABBIT_ADMIN_PASSWORD}"
ADMIN_URI = f"pyamqp://lapor-admin:{ADMIN_PASSWORD}@rabbitmq:5672/"


def bus_password(name):
    return f"${{LAPOR_BUS_PASSWORD_{name.upper()}:?set LAPOR_BUS_PASSWORD_{name.upper()}}}"


def service_uri(name):
    """Each service as its own broker user (issue 13), its password required from the environment."""
    return f"pyamqp://lapor-{name}:{bus_password(name)}@rabbitmq:5672/"


MONGO_ROOT_PASSWORD = "${LAPOR_MONGO_ROOT_PASSWORD:?set LAPOR_MONGO_ROOT_PASSWORD}"
MONGO_ENTRYPOINT = DEPLOY / "mongo" / "entrypoint.sh"
MONGO_USERS = DEPLOY / "mongo" / "users.py"
# The processes with a MongoDB user of their own: the six services and the accounts CLI (compose's `accounts` tool).
MONGO_CLIENTS = (*SERVICES, "accounts")
REQUIRED_VARIABLE = re.compile(r"\$\{(\w+):\?[^}]*\}")


def mongo_password(name):
    return f"${{LAPOR_MONGO_PASSWORD_{name.upper()}:?set LAPOR_MONGO_PASSWORD_{name.upper()}}}"


def parsed_mongo_uri(uri):
    """pymongo's reading of a compose LAPOR_MONGO_URI, each required `${VAR:?...}` standing for a URL-safe value
    (as raw text its `?` and `}` would end the user information early)."""
    from pymongo import uri_parser

    return uri_parser.parse_uri(REQUIRED_VARIABLE.sub(lambda match: f"value-of-{match.group(1)}", uri))


def mongo_credentials(uri):
    """(user, the `${...}` its password comes from) as compose writes them."""
    match = re.fullmatch(r"mongodb://([\w-]+):(\$\{[^}]*\})@[^/]+/.*", uri)
    assert match, uri
    return match.groups()


def service_database(name):
    """The database a service's MongoStore opens, read from its service class."""
    from services.common.mongo import MongoStore
    from services.serve import nameko_arguments

    module, _, class_name = nameko_arguments(name)[4].partition(":")
    service_class = getattr(importlib.import_module(module), class_name)
    stores = {value.base_name for klass in service_class.__mro__ for value in vars(klass).values()
              if isinstance(value, MongoStore)}
    assert len(stores) == 1, (name, stores)
    return stores.pop()


SECRETS = ("LAPOR_SECRET_KEY", "LAPOR_PII_KEY")
PROMETHEUS_CONFIGS = {"prometheus.yml": None, "prometheus.local.yml": "127.0.0.1"}
PROMTOOL_MISSING = "promtool is not installed: run `apt-get update && apt-get install -y prometheus` (as root)"


@pytest.fixture(scope="module")
def compose_file():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def compose(compose_file):
    return compose_file["services"]


@pytest.fixture(scope="module")
def mongo_users():
    """deploy/mongo/users.py, the mongo-users job's script (not a package: loaded from its path)."""
    spec = importlib.util.spec_from_file_location("lapor_deploy_mongo_users", MONGO_USERS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def alert_rules():
    groups = yaml.safe_load((DEPLOY / "alerts.yml").read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def as_text(command):
    return command if isinstance(command, str) else " ".join(command)


def published_host_ports(service):
    return {int(str(mapping).split(":")[-2]) for mapping in service.get("ports", [])}


def mounts(service):
    """{target: (source, options)} of a service's short-syntax volumes."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *options = volume.split(":")
        found[target] = (source, options)
    return found


@pytest.fixture
def health_server():
    """A local /health that answers with `server.status`; yields the server (its port is server_port)."""

    class Health(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(server.status if self.path == "/health/ready" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    server.status = 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_healthcheck(test, port):
    """Run a `["CMD", "python", ...]` health check here, with PORT set; True when it passes."""
    assert test[:2] == ["CMD", "python"], test
    env = {"PATH": "/usr/bin:/bin", "PORT": str(port)}
    return subprocess.run([sys.executable, *test[2:]], env=env, capture_output=True, timeout=30).returncode == 0


def dockerfile_instructions():
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


# -- compose: the six LAPOR services


def test_compose_has_the_six_services_and_their_infrastructure(compose):
    assert set(compose) == set(SERVICES) | {"rabbitmq", "mongo", "topology", "mongo-users", "prometheus", "accounts"}


@pytest.mark.parametrize("name", SERVICES)
def test_service_command_runs_its_own_service_with_its_own_config(compose, name):
    from services.serve import nameko_arguments

    assert compose[name]["command"] == ["python", "-m", "services.serve", name]
    arguments = nameko_arguments(name)
    assert Path(arguments[3]).is_file()
    module, _, class_name = arguments[4].partition(":")
    assert module == f"services.{name}.service" and class_name


@pytest.mark.parametrize("name", SERVICES)
def test_service_is_built_from_the_one_dockerfile(compose, name):
    assert compose[name]["build"] in (".", {"context": "."})
    assert compose[name]["image"] == compose["topology"]["image"]


@pytest.mark.parametrize("name", SERVICES)
def test_service_environment(compose, name):
    env = compose[name]["environment"]
    port_var, port = SERVICES[name]
    assert env["LAPOR_AMQP_URI"] == service_uri(name)
    assert env["LAPOR_BIND_HOST"] == "0.0.0.0"
    assert env[port_var] == str(port)
    assert PORT_VARS & set(env) == {port_var}, "a service is told only its own port"
    # PORT is what the health check reads; it must be the port the service listens on.
    assert env["PORT"] == str(port)
    assert env["LAPOR_SECRET_KEY"].startswith("${LAPOR_SECRET_KEY:?"), "compose must refuse to start without it"
    if name == "intake":  # the one service that opens reporters' contacts
        assert env["LAPOR_PII_KEY"].startswith("${LAPOR_PII_KEY:?"), "compose must refuse to start without it"
    else:
        assert "LAPOR_PII_KEY" not in env


@pytest.mark.parametrize("name", SERVICES)
def test_service_healthcheck_asks_its_own_health_endpoint(compose, name, health_server):
    healthcheck = compose[name]["healthcheck"]
    assert {"interval", "timeout", "retries"} <= set(healthcheck)
    assert run_healthcheck(healthcheck["test"], health_server.server_port)
    health_server.status = 503
    assert not run_healthcheck(healthcheck["test"], health_server.server_port)


@pytest.mark.parametrize("name", SERVICES)
def test_service_waits_for_healthy_broker_and_store_and_the_topology(compose, name):
    depends_on = compose[name]["depends_on"]
    assert depends_on["rabbitmq"] == {"condition": "service_healthy"}
    assert depends_on["mongo"] == {"condition": "service_healthy"}
    assert depends_on["topology"] == {"condition": "service_completed_successfully"}
    assert depends_on["mongo-users"] == {"condition": "service_completed_successfully"}


# -- compose: infrastructure


def test_mongo_runs_as_a_single_node_replica_set_the_services_name(compose):
    mongo = compose["mongo"]
    assert mongo["image"] == "mongo:7"
    command = mongo["command"]
    assert "--bind_ip_all" in command
    replica_set = command[command.index("--replSet") + 1]
    assert replica_set == "rs0"

    init = as_text(mongo["healthcheck"]["test"])
    assert "mongosh" in init and "rs.initiate(" in init
    assert f"_id:'{replica_set}'" in init and "host:'mongo:27017'" in init

    for name in MONGO_CLIENTS:
        uri = parsed_mongo_uri(compose[name]["environment"]["LAPOR_MONGO_URI"])
        assert uri["nodelist"] == [("mongo", 27017)]
        assert uri["options"]["replicaSet"] == replica_set
    admin_uri = urlsplit(compose["mongo-users"]["environment"]["LAPOR_MONGO_ADMIN_URI"])
    assert (admin_uri.scheme, admin_uri.netloc) == ("mongodb", "mongo:27017"), "its credentials are not in the URI"
    assert parse_qs(admin_uri.query)["replicaSet"] == [replica_set]


def test_mongo_requires_auth_with_a_keyfile_and_a_root_user_from_required_variables(compose_file):
    mongo = compose_file["services"]["mongo"]
    command = mongo["command"]
    assert command[0] == "mongod", "the image's docker-entrypoint.sh makes the root user only for mongod"
    assert "--auth" in command
    keyfile = PurePosixPath(command[command.index("--keyFile") + 1])
    mounted = mounts(mongo)
    # the keyfile is made into a named volume, so it outlives the container
    assert mounted[str(keyfile.parent)][0] in compose_file["volumes"]
    assert mongo["environment"] == {"MONGO_INITDB_ROOT_USERNAME": "lapor-root",
                                    "MONGO_INITDB_ROOT_PASSWORD": MONGO_ROOT_PASSWORD}
    # the entrypoint that makes the keyfile, from this repository, read-only
    shell, script = mongo["entrypoint"]
    assert shell == "sh"
    assert mounted[script] == ("./deploy/mongo/entrypoint.sh", ["ro"])
    assert MONGO_ENTRYPOINT.is_file()


def run_mongo_entrypoint(tmp_path, *args):
    """deploy/mongo/entrypoint.sh with stand-ins for chown and the image's docker-entrypoint.sh, which record their
    arguments; returns (the finished process, the recorded calls)."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir(exist_ok=True)
    calls = tmp_path / "calls"
    for tool in ("chown", "docker-entrypoint.sh"):
        (fake_bin / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\n')
        (fake_bin / tool).chmod(0o755)
    calls.write_text("")
    env = {"PATH": f"{fake_bin}:/usr/bin:/bin"}
    result = subprocess.run(["sh", str(MONGO_ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=30)
    return result, calls.read_text().splitlines()


def test_mongo_entrypoint_makes_the_keyfile_once_for_mongodb_only(tmp_path):
    keyfile = tmp_path / "configdb" / "keyfile"
    args = ("mongod", "--replSet", "rs0", "--auth", "--keyFile", str(keyfile))
    result, calls = run_mongo_entrypoint(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    key = keyfile.read_text()
    assert re.fullmatch(r"[A-Za-z0-9+/]{6,1024}", key), "mongod takes 6 to 1024 base64 characters"
    assert keyfile.stat().st_mode & 0o777 == 0o400
    as_root = os.geteuid() == 0
    assert calls == ([f"chown mongodb:mongodb {keyfile}"] if as_root else []) + [
        f"docker-entrypoint.sh {' '.join(args)}"]

    # a restart keeps the key (and sets its owner and mode again)
    keyfile.chmod(0o644)
    result, calls = run_mongo_entrypoint(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert keyfile.read_text() == key
    assert keyfile.stat().st_mode & 0o777 == 0o400
    assert calls[-1] == f"docker-entrypoint.sh {' '.join(args)}"


def test_mongo_entrypoint_refuses_a_command_without_a_keyfile(tmp_path):
    result, calls = run_mongo_entrypoint(tmp_path, "mongod", "--replSet", "rs0")
    assert result.returncode != 0 and "--keyFile" in result.stderr
    assert calls == []


def test_mongo_healthcheck_logs_in_as_root_only_to_initiate_the_replica_set(compose):
    test = compose["mongo"]["healthcheck"]["test"]
    assert test[0] == "CMD", "no shell: nothing is expanded into the command"
    assert not {"-u", "-p", "--username", "--password"} & set(test), "no password on a command line"
    init = as_text(test)
    assert "$" not in init, "compose substitutes nothing into it: the credentials are read inside the container"
    login = "db.getSiblingDB('admin').auth(process.env.MONGO_INITDB_ROOT_USERNAME, " \
            "process.env.MONGO_INITDB_ROOT_PASSWORD)"
    assert login in init
    assert init.index("db.hello().setName") < init.index(login) < init.index("rs.initiate(")
    assert set(compose["mongo"]["environment"]) >= {"MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD"}


@pytest.mark.parametrize("name", SERVICES)
def test_service_connects_to_mongo_as_its_own_user_on_its_own_database(compose, name):
    from services.common.mongo import client_options

    uri = compose[name]["environment"]["LAPOR_MONGO_URI"]
    assert mongo_credentials(uri) == (f"lapor-{name}", mongo_password(name)), "compose must refuse to start without it"
    parsed = parsed_mongo_uri(uri)
    assert parsed["username"] == f"lapor-{name}"
    assert parsed["database"] == service_database(name)
    assert parsed["options"]["authSource"] == "admin", "where the mongo-users job makes the users"
    # the URI leaves the write concern to the code: w=majority (DESIGN §9)
    assert client_options(REQUIRED_VARIABLE.sub("pw", uri))["w"] == "majority"


def test_no_two_processes_share_a_mongo_user(compose_file):
    assert "LAPOR_MONGO_URI" not in compose_file["x-lapor-env"], "no shared URI for every service"
    users = {name: mongo_credentials(service["environment"]["LAPOR_MONGO_URI"])
             for name, service in compose_file["services"].items()
             if "LAPOR_MONGO_URI" in service.get("environment", {})}
    assert set(users) == set(MONGO_CLIENTS)
    assert len({user for user, _ in users.values()}) == len(users)
    assert len({password for _, password in users.values()}) == len(users)


def test_the_accounts_cli_is_a_tool_with_a_mongo_user_of_its_own(compose):
    accounts = compose["accounts"]
    assert accounts["profiles"] == ["tools"], "`docker compose up` leaves it out"
    assert accounts["entrypoint"] == ["python", "-m", "services.gateway.admin"]
    assert importlib.util.find_spec("services.gateway.admin") is not None
    assert accounts["image"] == compose["topology"]["image"]
    assert accounts["restart"] == "no"
    uri = accounts["environment"]["LAPOR_MONGO_URI"]
    assert mongo_credentials(uri) == ("lapor-accounts", mongo_password("accounts"))
    parsed = parsed_mongo_uri(uri)
    assert (parsed["database"], parsed["options"]["authSource"]) == (service_database("gateway"), "admin")
    assert accounts["depends_on"] == {"mongo": {"condition": "service_healthy"},
                                      "mongo-users": {"condition": "service_completed_successfully"}}


def test_the_mongo_users_job_makes_every_user_once_mongo_is_up(compose, mongo_users):
    job = compose["mongo-users"]
    assert job["image"] == compose["topology"]["image"]
    assert job["restart"] == "no"
    assert job["depends_on"] == {"mongo": {"condition": "service_healthy"}}
    python, script = job["command"]
    assert python == "python"
    assert mounts(job)[script] == ("./deploy/mongo/users.py", ["ro"])
    env = job["environment"]
    assert env["LAPOR_MONGO_ROOT_USERNAME"] == compose["mongo"]["environment"]["MONGO_INITDB_ROOT_USERNAME"]
    assert env["LAPOR_MONGO_ROOT_PASSWORD"] == MONGO_ROOT_PASSWORD
    # the job is given exactly the passwords the processes connect with, under the names users.py reads
    connects_with = dict(mongo_credentials(compose[name]["environment"]["LAPOR_MONGO_URI"]) for name in MONGO_CLIENTS)
    assert set(mongo_users.USERS) == set(connects_with)
    assert {key: value for key, value in env.items() if key.startswith("LAPOR_MONGO_PASSWORD_")} == {
        variable: connects_with[user] for user, (variable, _) in mongo_users.USERS.items()}


def test_each_mongo_user_may_use_its_own_database_only(mongo_users):
    from services.routing.storage import RoutingRepository

    for name in SERVICES:
        variable, roles = mongo_users.USERS[f"lapor-{name}"]
        assert variable == f"LAPOR_MONGO_PASSWORD_{name.upper()}"
        assert roles == [{"role": "readWrite", "db": service_database(name)}], name
    # the accounts CLI: the gateway's database, and a find on routing's agencies (an account's agency is checked)
    variable, roles = mongo_users.USERS["lapor-accounts"]
    assert variable == "LAPOR_MONGO_PASSWORD_ACCOUNTS"
    assert roles == [{"role": "readWrite", "db": service_database("gateway")},
                     {"role": mongo_users.AGENCIES_READER, "db": "admin"}]
    assert mongo_users.ROLES == {mongo_users.AGENCIES_READER: [
        {"resource": {"db": service_database("routing"), "collection": "agencies"}, "actions": ["find"]}]}
    routing_db = mock.MagicMock()
    RoutingRepository(routing_db).agency("KOTA-18.72")
    assert [call[0] for call in routing_db.mock_calls] == ["agencies.find_one"], "what that role allows"


class FakeAdmin:
    """The `admin` database as the mongo-users job uses it: usersInfo / rolesInfo, create* / update*."""

    def __init__(self):
        self.users, self.roles, self.commands = {}, {}, []

    def command(self, name, value=1, **fields):
        self.commands.append((name, value, fields))
        if name in ("usersInfo", "rolesInfo"):
            known = self.users if name == "usersInfo" else self.roles
            return {name[:-4]: [{"name": value}] if value in known else []}
        kind = self.users if name.endswith("User") else self.roles
        assert (value in kind) == name.startswith("update"), f"{name} {value}"
        assert fields.pop("writeConcern")["w"] == "majority"
        kind[value] = fields
        return {"ok": 1}


def test_mongo_users_job_creates_what_is_missing_and_updates_what_exists(mongo_users):
    admin = FakeAdmin()
    first = {user: f"first-{index}" for index, user in enumerate(mongo_users.USERS)}
    done = mongo_users.ensure_all(admin, first)
    assert all(line.split()[2] == "created" for line in done)
    assert admin.users == {user: {"pwd": first[user], "roles": roles} for user, (_, roles) in mongo_users.USERS.items()}
    assert admin.roles == {role: {"privileges": privileges, "roles": []}
                           for role, privileges in mongo_users.ROLES.items()}
    # roles are made before the users that name them
    names = [value for name, value, _ in admin.commands if name.startswith("create")]
    assert names.index(mongo_users.AGENCIES_READER) < names.index("lapor-accounts")

    # again on the same volume, with a changed password
    changed = dict(first, **{"lapor-intake": "changed"})
    done = mongo_users.ensure_all(admin, changed)
    assert all(line.split()[2] == "updated" for line in done)
    assert admin.users["lapor-intake"]["pwd"] == "changed"
    assert {user: spec["pwd"] for user, spec in admin.users.items()} == changed


class FakeClient:
    def __init__(self, uri, **options):
        self.uri, self.options, self.admin, self.closed = uri, options, FakeAdmin(), False

    def __getitem__(self, name):
        assert name == "admin"
        return self.admin

    def close(self):
        self.closed = True


def mongo_users_env(mongo_users, **overrides):
    env = {variable: f"pw-{variable.lower()}" for variable, _ in mongo_users.USERS.values()}
    env.update(LAPOR_MONGO_ADMIN_URI="mongodb://mongo:27017/?replicaSet=rs0", LAPOR_MONGO_ROOT_USERNAME="lapor-root",
               LAPOR_MONGO_ROOT_PASSWORD="root pw: not URL-safe, and need not be")
    env.update(overrides)
    return env


def test_mongo_users_job_logs_in_as_root_and_prints_no_password(mongo_users, capsys):
    clients = []

    def client_factory(uri, **options):
        clients.append(FakeClient(uri, **options))
        return clients[-1]

    env = mongo_users_env(mongo_users)
    assert mongo_users.main(env, client_factory) == 0
    (client,) = clients
    assert client.uri == "mongodb://mongo:27017/?replicaSet=rs0"
    assert (client.options["username"], client.options["password"], client.options["authSource"]) == (
        "lapor-root", env["LAPOR_MONGO_ROOT_PASSWORD"], "admin")
    assert client.closed and set(client.admin.users) == set(mongo_users.USERS)
    printed = capsys.readouterr()
    assert "lapor-accounts created" in printed.out
    assert not any(password in printed.out + printed.err for password in env.values() if password.startswith("pw-"))


@pytest.mark.parametrize("variable, value, problem", [
    ("LAPOR_MONGO_PASSWORD_SLA", "", "set LAPOR_MONGO_PASSWORD_SLA"),
    ("LAPOR_MONGO_PASSWORD_ROUTING", "p@ss/word", "LAPOR_MONGO_PASSWORD_ROUTING: use only"),
    ("LAPOR_MONGO_ROOT_PASSWORD", "", "set LAPOR_MONGO_ROOT_USERNAME and LAPOR_MONGO_ROOT_PASSWORD"),
])
def test_mongo_users_job_refuses_a_missing_or_unusable_password(mongo_users, capsys, variable, value, problem):
    clients = []
    env = mongo_users_env(mongo_users, **{variable: value})
    assert mongo_users.main(env, lambda *args, **kwargs: clients.append(args)) == 2
    assert clients == [], "nothing is connected to"
    err = capsys.readouterr().err
    assert problem in err and (not value or value not in err)


def test_rabbitmq_has_the_management_plugin_and_a_healthcheck(compose):
    rabbitmq = compose["rabbitmq"]
    assert re.fullmatch(r"rabbitmq:3\.13-management(-alpine)?", rabbitmq["image"])
    assert as_text(rabbitmq["healthcheck"]["test"]).endswith("rabbitmq-diagnostics -q ping")
    # its administrator is lapor-admin with a password compose refuses to start without; no guest
    assert rabbitmq["environment"] == {"RABBITMQ_DEFAULT_USER": "lapor-admin", "RABBITMQ_DEFAULT_PASS": ADMIN_PASSWORD}


def test_topology_and_the_service_users_are_made_once_before_the_services(compose):
    from devstack import bus_accounts
    from devstack.launcher import SERVICES as LAUNCHED

    topology = compose["topology"]
    assert topology["command"] == ["sh", "-c", "python -m devstack.topology && "
                                               "python -m devstack.bus_accounts services --from-env"]
    assert topology["restart"] == "no"
    assert topology["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}
    env = topology["environment"]
    assert env["LAPOR_AMQP_URI"] == ADMIN_URI
    # the job is given exactly the passwords the services connect with, and bus_accounts reads those names
    assert {key: value for key, value in env.items() if key.startswith("LAPOR_BUS_PASSWORD_")} == {
        bus_accounts.bus_password_key(name): bus_password(name) for name in SERVICES}
    assert set(LAUNCHED) == set(SERVICES)
    assert bus_accounts.passwords_from(env, LAUNCHED) == {name: bus_password(name) for name in LAUNCHED}


def test_only_the_gateway_prometheus_and_rabbitmq_management_publish_ports(compose):
    published = {name: published_host_ports(service) for name, service in compose.items() if "ports" in service}
    assert published == {"gateway": {8000}, "prometheus": {9090}, "rabbitmq": {15672}}


def test_prometheus_mounts_the_deploy_config_and_rules_side_by_side(compose):
    prometheus = compose["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus")
    mounts = {}
    for volume in prometheus["volumes"]:
        source, target, *_ = volume.split(":")
        mounts[target] = source
    assert mounts["/etc/prometheus/prometheus.yml"] == "./deploy/prometheus.yml"
    assert mounts["/etc/prometheus/alerts.yml"] == "./deploy/alerts.yml"
    for source in (mounts["/etc/prometheus/prometheus.yml"], mounts["/etc/prometheus/alerts.yml"]):
        assert (ROOT / source).is_file()


def test_compose_requires_the_secrets_and_takes_only_lapor_settings_from_the_host():
    # Compose substitutes every `$` from the host environment (`$$` escapes): the secrets must be set,
    # other settings are LAPOR_ variables with a default, and nothing else leaks in.
    text = (ROOT / "docker-compose.yml").read_text()
    references = re.findall(r"(?<!\$)\$(\{[^}]*\}|\w+)", text)
    required = {r for r in references if ":?" in r}
    secrets = (*SECRETS, "LAPOR_RABBIT_ADMIN_PASSWORD", *(f"LAPOR_BUS_PASSWORD_{name.upper()}" for name in SERVICES),
               "LAPOR_MONGO_ROOT_PASSWORD", *(f"LAPOR_MONGO_PASSWORD_{name.upper()}" for name in MONGO_CLIENTS))
    assert required == {f"{{{secret}:?set {secret}}}" for secret in secrets}
    optional = [r for r in references if ":?" not in r]
    assert all(re.fullmatch(r"\{LAPOR_[A-Z_]+:-[^}]*\}", r) for r in optional), optional


# -- Dockerfile


def test_dockerfile_base_image_and_non_root_user():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [args for op, args in instructions if op == "USER"]
    assert users, "the image must not run as root"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_dockerfile_installs_requirements_before_copying_the_code():
    instructions = dockerfile_instructions()
    position = {}
    for index, (op, args) in enumerate(instructions):
        if op == "COPY" and args.split()[0] in ("requirements.txt", "services/", "devstack/"):
            position[args.split()[0]] = index
        if op == "RUN" and "pip install -r requirements.txt" in args:
            position["pip"] = index
    assert position["requirements.txt"] < position["pip"] < position["services/"]
    assert "devstack/" in position, "the topology job runs python -m devstack.topology from this image"


def test_dockerfile_healthcheck_asks_health_with_python(health_server):
    healthchecks = [args for op, args in dockerfile_instructions() if op == "HEALTHCHECK"]
    assert len(healthchecks) == 1
    test = ["CMD", *json.loads(healthchecks[0].split(" CMD ", 1)[1])]
    assert run_healthcheck(test, health_server.server_port)
    health_server.status = 503
    assert not run_healthcheck(test, health_server.server_port)
    exposed = {int(port) for op, args in dockerfile_instructions() if op == "EXPOSE" for port in args.split()}
    assert {port for _, port in SERVICES.values()} <= exposed


# -- Prometheus scrape configs and alert rules


@pytest.mark.parametrize("filename, host", PROMETHEUS_CONFIGS.items())
def test_prometheus_scrapes_all_six_services(filename, host):
    config = yaml.safe_load((DEPLOY / filename).read_text())
    assert config["global"]["scrape_interval"] == "15s"
    assert config["rule_files"] == ["alerts.yml"]
    scraped = {}
    for job in config["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics"
        scraped[job["job_name"]] = {target for group in job["static_configs"] for target in group["targets"]}
    # the gateway's /metrics is on its private port, not on the public 8000
    expected = {name: {f"{host or name}:{METRICS_PORTS.get(name, port)}"} for name, (_, port) in SERVICES.items()}
    assert scraped == expected


def test_the_gateway_serves_metrics_on_a_port_compose_does_not_publish(compose):
    gateway = compose["gateway"]
    assert gateway["environment"]["LAPOR_GATEWAY_METRICS_PORT"] == str(METRICS_PORTS["gateway"])
    assert not any(str(METRICS_PORTS["gateway"]) in str(port) for port in gateway.get("ports", []))


def test_alert_rules_have_severity_and_bilingual_annotations(alert_rules):
    for name, rule in alert_rules.items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        for key in ("summary", "description"):
            assert " / " in rule["annotations"][key], f"{name} {key}: Bahasa Indonesia / English"


def test_alert_rules_cover_the_agreed_signals(alert_rules):
    by_expr = {" ".join(rule["expr"].split()): rule for rule in alert_rules.values()}

    def rule_with(fragment):
        matches = [rule for expr, rule in by_expr.items() if fragment in expr]
        assert len(matches) == 1, fragment
        return matches[0]

    assert rule_with("up == 0")["for"] == "1m"
    error_ratio = rule_with('lapor_entrypoint_calls_total{outcome="error"}[5m]')
    assert error_ratio["expr"].rstrip().endswith("> 0.05")
    latency = rule_with("histogram_quantile(0.95,")
    assert "rate(lapor_entrypoint_latency_seconds_bucket[5m])" in latency["expr"]
    assert latency["expr"].rstrip().endswith("> 1")
    rule_with("increase(lapor_dead_events_total[15m]) > 0")
    assert rule_with("lapor_outbox_unpublished > 0")["for"] == "5m"


# -- promtool (Debian package `prometheus`)


def promtool(*args, cwd=ROOT):
    executable = shutil.which("promtool")
    if executable is None:
        pytest.fail(PROMTOOL_MISSING, pytrace=False)
    result = subprocess.run([executable, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("filename", PROMETHEUS_CONFIGS)
def test_promtool_accepts_the_scrape_config(filename):
    promtool("check", "config", f"deploy/{filename}")


def test_promtool_accepts_the_alert_rules():
    promtool("check", "rules", "deploy/alerts.yml")


RULE_TESTS = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{{job="intake", instance="intake:8001"}}'
        values: '1 1 0x10'
      - series: 'up{{job="sla", instance="sla:8005"}}'
        values: '1x12'
      - series: 'lapor_entrypoint_calls_total{{job="intake", service="intake", entrypoint="submit", outcome="ok"}}'
        values: '0+90x30'
      - series: 'lapor_entrypoint_calls_total{{job="intake", service="intake", entrypoint="submit", outcome="error"}}'
        values: '0+10x30'
      - series: 'lapor_entrypoint_calls_total{{job="intake", service="intake", entrypoint="contact", outcome="ok"}}'
        values: '0+99x30'
      - series: 'lapor_entrypoint_calls_total{{job="intake", service="intake", entrypoint="contact", outcome="error"}}'
        values: '0+1x30'
      - series: 'lapor_entrypoint_latency_seconds_bucket{{job="routing", service="routing", entrypoint="triage", le="1"}}'
        values: '0+80x30'
      - series: 'lapor_entrypoint_latency_seconds_bucket{{job="routing", service="routing", entrypoint="triage", le="2.5"}}'
        values: '0+100x30'
      - series: 'lapor_entrypoint_latency_seconds_bucket{{job="routing", service="routing", entrypoint="triage", le="+Inf"}}'
        values: '0+100x30'
      - series: 'lapor_entrypoint_latency_seconds_bucket{{job="routing", service="routing", entrypoint="verify", le="1"}}'
        values: '0+100x30'
      - series: 'lapor_entrypoint_latency_seconds_bucket{{job="routing", service="routing", entrypoint="verify", le="+Inf"}}'
        values: '0+100x30'
      # First parked event since the process started: the series appears at 1.
      - series: 'lapor_dead_events_total{{job="tracking", service="tracking", event_type="report_submitted"}}'
        values: '_x20 1x40'
      - series: 'lapor_dead_events_total{{job="sla", service="sla", event_type="report_updated"}}'
        values: '2x44 3x10'
      - series: 'lapor_outbox_unpublished{{job="intake"}}'
        values: '0 0 3x30'
      - series: 'lapor_outbox_unpublished{{job="tracking"}}'
        values: '0x30'
    alert_rule_test:
      - eval_time: 2m
        alertname: LaporServiceDown
        exp_alerts: []
      - eval_time: 4m
        alertname: LaporServiceDown
        exp_alerts:
          - exp_labels: {{severity: critical, job: intake, instance: "intake:8001"}}
      - eval_time: 15m
        alertname: LaporEntrypointErrorRatioHigh
        exp_alerts:
          - exp_labels: {{severity: warning, job: intake, service: intake, entrypoint: submit}}
      - eval_time: 15m
        alertname: LaporEntrypointSlow
        exp_alerts:
          - exp_labels: {{severity: warning, job: routing, service: routing, entrypoint: triage}}
      - eval_time: 25m
        alertname: LaporEventsDeadLettered
        exp_alerts:
          - exp_labels: {{severity: critical, job: tracking, service: tracking, event_type: report_submitted}}
      - eval_time: 40m
        alertname: LaporEventsDeadLettered
        exp_alerts: []
      - eval_time: 50m
        alertname: LaporEventsDeadLettered
        exp_alerts:
          - exp_labels: {{severity: critical, job: sla, service: sla, event_type: report_updated}}
      - eval_time: 5m
        alertname: LaporOutboxBacklog
        exp_alerts: []
      - eval_time: 10m
        alertname: LaporOutboxBacklog
        exp_alerts:
          - exp_labels: {{severity: warning, job: intake}}
"""


def test_alert_rules_fire_when_they_should(tmp_path):
    # promtool compares annotations too; their templates are checked by `check rules` above,
    # so the firing test runs on a copy without them.
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules))
    rule_tests = tmp_path / "alerts_test.yml"
    rule_tests.write_text(RULE_TESTS.format(rules=tmp_path / "alerts.yml"))
    promtool("test", "rules", str(rule_tests))
