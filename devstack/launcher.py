"""The one launcher behind `make run` and the end-to-end tests.

`StackSettings` says where everything lives (broker vhost, store, ports, secrets); `prepare` declares
the bus topology and seeds reference data; `service_processes` lists each service's own process
(name, command, environment). `make run` hands that list to honcho; the tests start the same
processes themselves so they can stop one and watch `/health` turn.
"""
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from devstack import topology
from devstack.bus_accounts import SERVICE_PREFIX, ensure_service_users, service_user, uri_for, vhost_of
from devstack.rabbit import Management
from services.common.caller import StampedCluster, broker_user_of
from services.routing.seed import seed as seed_reference_data, seed_demo_units
from services.common.mongo import open_repository
from services.gateway.admin import DEMO_ACCOUNTS, ensure_demo_accounts
from services.gateway.storage import GatewayRepository
from services.routing.storage import RoutingRepository

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("intake", "routing", "tracking", "notifications", "sla", "gateway")
PII_KEY_HOLDERS = ("intake",)  # the one service that encrypts and decrypts reporters' contacts
DEFAULT_PORTS = {"gateway": 8000, "intake": 8001, "routing": 8002, "tracking": 8003, "notifications": 8004, "sla": 8005}
DEFAULT_METRICS_PORT = 8006  # the gateway's /metrics (LAPOR_GATEWAY_METRICS_PORT): its own port 8000 is public
METRICS_PORT_ENV_VAR = "LAPOR_GATEWAY_METRICS_PORT"


def port_env_var(service):
    return "LAPOR_HTTP_PORT" if service == "gateway" else f"LAPOR_{service.upper()}_PORT"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class StackSettings:
    amqp_uri: str
    mongo_uri: str
    secret_key: str
    pii_key: str
    ports: dict = field(default_factory=lambda: dict(DEFAULT_PORTS))
    db_prefix: str = ""
    sms_webhook_secret: str = ""  # the operator SMS gateway's; empty leaves the SMS webhook off (503)
    extra_env: dict = field(default_factory=dict)
    service_uris: dict = field(default_factory=dict)  # {service: its own LAPOR_AMQP_URI}; else amqp_uri
    metrics_port: int = 0  # the gateway's private /metrics port; 0: a free one, chosen here

    def __post_init__(self):
        if not self.metrics_port:
            self.metrics_port = free_port()

    @property
    def gateway_url(self):
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def metrics_url(self, name):
        """Where Prometheus scrapes `name` (a service): the gateway on its private metrics port, the rest on theirs."""
        port = self.metrics_port if name == "gateway" else self.ports[name]
        return f"http://127.0.0.1:{port}/metrics"

    def environment(self):
        env = {
            "LAPOR_AMQP_URI": self.amqp_uri,
            "LAPOR_MONGO_URI": self.mongo_uri,
            "LAPOR_DB_PREFIX": self.db_prefix,
            "LAPOR_SECRET_KEY": self.secret_key,
            "LAPOR_PII_KEY": self.pii_key,
            "LAPOR_PUBLIC_URL": self.gateway_url,
            "LAPOR_SMS_WEBHOOK_SECRET": self.sms_webhook_secret,
            # make run and the tests are local runs: a channel no adapter is named for goes to the log adapter
            "LAPOR_ENV": "local",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
        }
        env.update({port_env_var(name): str(port) for name, port in self.ports.items()})
        env[METRICS_PORT_ENV_VAR] = str(self.metrics_port)
        env.update(self.extra_env)
        return env


def prepare(settings, log=print):
    """Declare the bus topology and seed the reference data; both are idempotent."""
    bindings = topology.declare(settings.amqp_uri)
    log(f"bus topology: {len(bindings)} event queues declared, dead-letter policy set")
    client, repository = open_repository(RoutingRepository, settings.mongo_uri, "lapor_routing", settings.db_prefix)
    try:
        counts = seed_reference_data(repository)
    finally:
        client.close()
    log(f"reference data: {counts['provinces']} provinces, {counts['regencies_and_cities']} regencies/cities, "
        f"{counts['agencies']} agencies")
    return counts


def use_service_users(settings, passwords, prefix=SERVICE_PREFIX, log=print):
    """Each service as its own broker user (`<prefix><service>`, every right on the stack's vhost, `passwords`
    {service: password}), as in production, so the claims rule between services is the production one
    (services/common/caller.py). Needs the management API as an administrator; without it every service connects
    as the stack's one user, which is then trusted for every claim, and this says so. Returns the users made."""
    try:
        users = ensure_service_users(Management(amqp_uri=settings.amqp_uri), vhost_of(settings.amqp_uri), passwords,
                                     prefix)
    except requests.RequestException as exc:
        log(f"per-service bus users not made ({exc.__class__.__name__}); every service connects as "
            f"{broker_user_of(settings.amqp_uri)}, which every service then trusts with an officer's claim")
        return []
    settings.service_uris = {service: uri_for(settings.amqp_uri, service_user(service, prefix), password)
                             for service, password in passwords.items()}
    log(f"bus users: each service as its own ({', '.join(users)})")
    return users


def seed_demo(settings, password, log=print):
    """`make run` only: a unit of Kota Metro and one account per kind of officer; existing ones are kept."""
    client, routing = open_repository(RoutingRepository, settings.mongo_uri, "lapor_routing", settings.db_prefix)
    try:
        seed_demo_units(routing)
        gateway = GatewayRepository(client[f"{settings.db_prefix}lapor_gateway"])
        gateway.ensure_indexes()
        created = ensure_demo_accounts(gateway, password)
    finally:
        client.close()
    kept = "" if len(created) == len(DEMO_ACCOUNTS) else " (accounts made by an earlier run keep their password)"
    log(f"demo accounts: {', '.join(a['username'] for a in DEMO_ACCOUNTS)}; password {password}{kept}")
    return created


def service_command(service):
    return [sys.executable, "-m", "services.serve", service]


def supervised(name, argv):
    """The command under devstack.supervise, which starts the service again when it exits by itself."""
    return [sys.executable, "-m", "devstack.supervise", name, "--", *argv]


def after_start(settings, log=print):
    """What `make run` does once every service answers: train the triage model now rather than at routing's
    first hourly run. Returns routing's answer (or None when it could not be asked)."""
    from nameko.standalone.rpc import ClusterRpcProxy  # eventlet-based: only once the services are up
    # routing takes an operator's retrain from the gateway's broker user only
    amqp_uri = getattr(settings, "service_uris", {}).get("gateway", settings.amqp_uri)
    try:
        with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=120) as cluster:
            trained = StampedCluster(cluster, amqp_uri).routing.retrain()
    except Exception as exc:  # noqa: BLE001 - the stack runs on the keyword taxonomy until the hourly run
        log(f"triage model not trained now ({type(exc).__name__}); routing trains it within the hour")
        return None
    if trained.get("trained"):
        log(f"triage model {trained['version']} trained on {trained['examples']} examples")
    else:
        log(f"triage model not trained: {trained.get('reason')}")
    return trained


def service_processes(settings, services=SERVICES, port_overrides=None):
    """[(name, argv, env)] — one process per service; `port_overrides` lets a replica take another port."""
    base_env = dict(os.environ, **settings.environment())
    processes = []
    for name in services:
        env = dict(base_env)
        if name not in PII_KEY_HOLDERS:
            env.pop("LAPOR_PII_KEY", None)  # only intake opens reporters' contacts (issue 13)
        if name in settings.service_uris:
            env["LAPOR_AMQP_URI"] = settings.service_uris[name]
        if port_overrides and name in port_overrides:
            env[port_env_var(name)] = str(port_overrides[name])
        processes.append((name, service_command(name), env))
    return processes


def ready_state(port, timeout=3):
    """(status code or None, body or the error) of the service's own `/health/ready` on 127.0.0.1:port."""
    try:
        response = requests.get(f"http://127.0.0.1:{port}/health/ready", timeout=timeout)
        return response.status_code, response.json()
    except (requests.RequestException, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def wait_until_healthy(target, timeout=90, process_alive=lambda: True, ports=None):
    """Wait until LAPOR is up; returns the gateway's aggregate `/health` body.

    `target` is the StackSettings (its `ports` are probed) or the gateway's URL. Every port in `ports` (a
    {name: port} dict; the settings' ports by default) must answer 200 on its own `/health/ready` (store, broker,
    consumers, workers: services.common.health), then the gateway's aggregate `/health` must say ok. Given only a
    URL and no ports, only the gateway's `/health` is asked, as before."""
    if isinstance(target, StackSettings):
        gateway_url, ports = target.gateway_url, dict(target.ports if ports is None else ports)
    else:
        gateway_url, ports = target, dict(ports or {})
    deadline = time.monotonic() + timeout
    waiting = dict(ports)
    last = {}
    while time.monotonic() < deadline:
        if not process_alive():
            raise RuntimeError("a service exited during start-up; see its output above")
        for name, port in list(waiting.items()):
            code, last[name] = ready_state(port)
            if code == 200:
                del waiting[name]
        if not waiting:
            try:
                response = requests.get(f"{gateway_url}/health", timeout=5)
                last["/health"] = response.json()
                if response.status_code == 200:
                    return last["/health"]
            except (requests.RequestException, ValueError) as exc:
                last["/health"] = f"{type(exc).__name__}: {exc}"
        time.sleep(0.5)
    not_ready = {name: last.get(name) for name in waiting}
    raise RuntimeError(f"LAPOR did not become healthy within {timeout}s; not ready: {not_ready or 'none'}; "
                       f"last /health: {last.get('/health')}")


class ProcessStack:
    """The services as child processes, for tests: start, stop one, stop all."""

    def __init__(self, settings, log_dir):
        self.settings = settings
        self.log_dir = Path(log_dir)
        self.processes = {}
        self.ports = {}  # process name -> its HTTP port, replicas included (`intake-2`)

    def start(self, services=SERVICES):
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name, argv, env in service_processes(self.settings, services):
            self.start_process(name, argv, env)
        return self

    def start_process(self, name, argv, env):
        log_file = open(self.log_dir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT,
                                                start_new_session=True)
        log_file.close()
        service = next((s for s in SERVICES if name == s or name.startswith(f"{s}-")), None)
        if service is not None and port_env_var(service) in env:
            self.ports[name] = int(env[port_env_var(service)])

    def all_alive(self):
        return all(process.poll() is None for process in self.processes.values())

    def wait_until_ready(self, timeout=120):
        """Every running process answers 200 on its own /health/ready, then the gateway's /health says ok."""
        ports = {name: port for name, port in self.ports.items() if name in self.processes}
        return wait_until_healthy(self.settings, timeout=timeout, process_alive=self.all_alive, ports=ports)

    def pause(self, name):
        """SIGSTOP: the process is there (its sockets accept connections) but answers nothing."""
        self.processes[name].send_signal(signal.SIGSTOP)

    def resume(self, name):
        self.processes[name].send_signal(signal.SIGCONT)

    def stop_process(self, name, timeout=15):
        process = self.processes.pop(name)
        self.ports.pop(name, None)
        if process.poll() is None:
            try:
                process.send_signal(signal.SIGCONT)  # a paused process would not act on SIGTERM until continued
            except ProcessLookupError:
                pass
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop(self):
        for name in list(self.processes):
            self.stop_process(name)

    def kill_all(self):
        """kill -9 of every process at once (a power cut, an OOM kill): nothing gets to finish."""
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
        for process in self.processes.values():
            process.wait()
        self.processes.clear()
        self.ports.clear()

    def log_tail(self, name, lines=40):
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
