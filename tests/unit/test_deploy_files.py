"""The deployment files (Dockerfile, docker-compose.yml, deploy/*.yml) say what DESIGN §2, §4 and §6 say.

No Docker engine runs here, so these tests read the files; promtool checks the Prometheus ones for real.
"""
import json
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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
ADMIN_PASSWORD = "${LAPOR_RABBIT_ADMIN_PASSWORD:?set LAPOR_RABBIT_ADMIN_PASSWORD}"
ADMIN_URI = f"pyamqp://lapor-admin:{ADMIN_PASSWORD}@rabbitmq:5672/"


def bus_password(name):
    return f"${{LAPOR_BUS_PASSWORD_{name.upper()}:?set LAPOR_BUS_PASSWORD_{name.upper()}}}"


def service_uri(name):
    """Each service as its own broker user (issue 13), its password required from the environment."""
    return f"pyamqp://lapor-{name}:{bus_password(name)}@rabbitmq:5672/"


SECRETS = ("LAPOR_SECRET_KEY", "LAPOR_PII_KEY")
PROMETHEUS_CONFIGS = {"prometheus.yml": None, "prometheus.local.yml": "127.0.0.1"}
PROMTOOL_MISSING = "promtool is not installed: run `apt-get update && apt-get install -y prometheus` (as root)"


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


@pytest.fixture(scope="module")
def alert_rules():
    groups = yaml.safe_load((DEPLOY / "alerts.yml").read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def as_text(command):
    return command if isinstance(command, str) else " ".join(command)


def published_host_ports(service):
    return {int(str(mapping).split(":")[-2]) for mapping in service.get("ports", [])}


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
    assert set(compose) == set(SERVICES) | {"rabbitmq", "mongo", "topology", "prometheus"}


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

    for name in SERVICES:
        uri = urlsplit(compose[name]["environment"]["LAPOR_MONGO_URI"])
        assert (uri.scheme, uri.netloc) == ("mongodb", "mongo:27017")
        assert parse_qs(uri.query)["replicaSet"] == [replica_set]


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
    secrets = (*SECRETS, "LAPOR_RABBIT_ADMIN_PASSWORD", *(f"LAPOR_BUS_PASSWORD_{name.upper()}" for name in SERVICES))
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
    assert scraped == {name: {f"{host or name}:{port}"} for name, (_, port) in SERVICES.items()}


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
