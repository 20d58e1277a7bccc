"""`make run`: bring the whole of LAPOR up on this machine and keep it in the foreground.

RabbitMQ (used, started or installed), the store (nx-27017 under var/store unless LAPOR_MONGO_URI is
set), the bus topology, the reference data, the demo unit and accounts, then the six services under
honcho. Ctrl-C stops what this started; the data under var/ stays for the next run.
"""
import os
import secrets
import shlex
import sys
import threading
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # before nameko imports eventlet

from cryptography.fernet import Fernet  # noqa: E402
from honcho.manager import Manager  # noqa: E402

from devstack import launcher  # noqa: E402
from devstack.bus_accounts import bus_password_key, service_user, uri_for  # noqa: E402
from devstack.rabbit import (  # noqa: E402
    DEFAULT_AMQP_URI, RabbitUnavailable, ensure_management, ensure_rabbitmq, port_open,
)
from devstack.store import StoreError, StoreServer, ping  # noqa: E402

VAR = launcher.ROOT / "var"
SECRETS_FILE = VAR / "secrets.env"
DEFAULT_DEMO_PASSWORD = "demo12345"


def say(message):
    print(f"[lapor] {message}", flush=True)


def stored_secrets():
    """What var/secrets.env holds ({} before the first `make run`)."""
    stored = {}
    if SECRETS_FILE.exists():
        for line in SECRETS_FILE.read_text().splitlines():
            key, _, value = line.partition("=")
            stored[key.strip()] = value.strip()
    return stored


def local_service_uri(service, amqp_uri=DEFAULT_AMQP_URI):
    """The LAPOR_AMQP_URI `make run` gives `service` (lapor-<service>, its password from var/secrets.env);
    `amqp_uri` itself before `make run` has made the users."""
    password = os.environ.get(bus_password_key(service)) or stored_secrets().get(bus_password_key(service))
    return uri_for(amqp_uri, service_user(service), password) if password else amqp_uri


def local_secrets():
    """LAPOR_SECRET_KEY, LAPOR_PII_KEY, LAPOR_SMS_WEBHOOK_SECRET and each service's broker password from the
    environment, else from var/secrets.env (each made once; one added later never replaces those already there:
    the PII key opens the stored contacts)."""
    stored = stored_secrets()
    makers = {"LAPOR_SECRET_KEY": lambda: secrets.token_urlsafe(32),
              "LAPOR_PII_KEY": lambda: Fernet.generate_key().decode(),
              "LAPOR_SMS_WEBHOOK_SECRET": lambda: secrets.token_urlsafe(32),
              **{bus_password_key(service): lambda: secrets.token_urlsafe(24) for service in launcher.SERVICES}}
    missing = [key for key in makers if not stored.get(key)]
    if missing:
        stored.update({key: makers[key]() for key in missing})
        VAR.mkdir(exist_ok=True)
        SECRETS_FILE.write_text("".join(f"{key}={value}\n" for key, value in stored.items()))
        SECRETS_FILE.chmod(0o600)
        say(f"generated local {', '.join(missing)} in {SECRETS_FILE.relative_to(launcher.ROOT)}")
    return {key: os.environ.get(key) or stored[key] for key in makers}


def start_store():
    port = int(os.environ.get("LAPOR_STORE_PORT", "27017"))
    store = StoreServer(VAR / "store", port)
    if ping(store.uri):
        raise StoreError(f"something already answers on port {port} (a `make run` still up?); "
                         "stop it or set LAPOR_STORE_PORT")
    say(f"starting the store (nx-27017) on port {port}, data in var/store")
    return store.start()


def ports_in_use(settings):
    """Services listen with SO_REUSEPORT, so a second `make run` would share ports silently: refuse instead."""
    ports = dict(settings.ports, **{"gateway metrics": settings.metrics_port})
    return [f"{name}:{port}" for name, port in ports.items() if port_open("127.0.0.1", port)]


def announce_when_healthy(settings, manager):
    try:
        health = launcher.wait_until_healthy(settings, timeout=120)
    except RuntimeError as exc:
        say(str(exc))
        return
    say(f"all services up: {', '.join(sorted(health['services']))}")
    launcher.after_start(settings, log=say)
    say(f"LAPOR is running at {settings.gateway_url}  (health: {settings.gateway_url}/health) — Ctrl-C to stop")


def main():
    amqp_uri = os.environ.get("LAPOR_AMQP_URI", DEFAULT_AMQP_URI)
    try:
        ensure_rabbitmq(amqp_uri, log=say)
        ensure_management(log=say)
    except RabbitUnavailable as exc:
        say(f"cannot continue: {exc}")
        return 1
    local = local_secrets()
    store = None
    if not os.environ.get("LAPOR_MONGO_URI"):
        try:
            store = start_store()
        except StoreError as exc:
            say(f"cannot continue: {exc}")
            return 1
    mongo_uri = os.environ.get("LAPOR_MONGO_URI") or store.uri
    settings = launcher.StackSettings(amqp_uri=amqp_uri, mongo_uri=mongo_uri, secret_key=local["LAPOR_SECRET_KEY"],
                                      pii_key=local["LAPOR_PII_KEY"],
                                      sms_webhook_secret=local["LAPOR_SMS_WEBHOOK_SECRET"])
    settings.ports = {name: int(os.environ.get(launcher.port_env_var(name), port))
                      for name, port in launcher.DEFAULT_PORTS.items()}
    settings.metrics_port = int(os.environ.get(launcher.METRICS_PORT_ENV_VAR, launcher.DEFAULT_METRICS_PORT))
    busy = ports_in_use(settings)
    if busy:
        say(f"cannot continue: ports already in use ({', '.join(busy)}); is another `make run` up? "
            "Stop it, or choose other ports with LAPOR_HTTP_PORT, LAPOR_<SERVICE>_PORT and LAPOR_GATEWAY_METRICS_PORT.")
        if store is not None:
            store.stop()
        return 1
    try:
        launcher.prepare(settings, log=say)
        launcher.use_service_users(settings, {service: local[bus_password_key(service)]
                                              for service in launcher.SERVICES}, log=say)
        launcher.seed_demo(settings, os.environ.get("LAPOR_DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD, log=say)
        manager = Manager()
        for name, argv, env in launcher.service_processes(settings):
            # Supervised: a service that exits by itself is started again, instead of honcho ending the whole run.
            manager.add_process(name, shlex.join(launcher.supervised(name, argv)), env=env, cwd=str(launcher.ROOT))
        threading.Thread(target=announce_when_healthy, args=(settings, manager), daemon=True).start()
        manager.loop()
        return manager.returncode or 0
    finally:
        if store is not None:
            store.stop()
            say("store stopped; data kept in var/store")


if __name__ == "__main__":
    sys.exit(main())
