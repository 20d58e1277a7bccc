"""Who may do what on the bus (issue 13 item 1, DESIGN §9 "Trust on the bus").

The bus is no trust boundary by itself: every LAPOR service and every other government system has its own
RabbitMQ user.

- A LAPOR service (`lapor-<service>`) may do anything on its vhost: services trust each other.
- A government system (`gov-<name>`) may only call `intake.submit_many`, and its answer comes back on reply queues
  of its own. RabbitMQ enforces it: the system may publish to `nameko-rpc` with no other routing key (topic
  permission, write), bind a queue there only with a random reply key (topic permission, read: no `#`, no
  `tracking.*`, so it never sees another caller's request or answer), declare, read and bind only queues named
  `rpc.reply-gov-<name>-…`, and publish to no event exchange at all. It cannot declare (or delete) `nameko-rpc`,
  so it declares it passively (clients/lapor_bus.py does). Intake binds the report's `client` to the broker-
  validated `user_id` of a government system (services/common/caller.py), so one system never reads another's
  external references.

    python -m devstack.bus_accounts services              # lapor-<service> users; each one's URI printed once
    python -m devstack.bus_accounts services --from-env   # the same, passwords from LAPOR_BUS_PASSWORD_<SERVICE>
    python -m devstack.bus_accounts add-system sipp       # gov-sipp; its password printed once
    python -m devstack.bus_accounts remove-system sipp
    python -m devstack.bus_accounts local-uri gateway     # the gateway's URI under `make run` (`make dead-events`)
(LAPOR_AMQP_URI names the vhost; LAPOR_RABBIT_API_URI the management API, with an administrator's credentials.)
"""
import argparse
import os
import re
import secrets
import sys
import warnings
from urllib.parse import quote, unquote, urlparse, urlunparse

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # before nameko imports eventlet

from devstack.rabbit import DEFAULT_AMQP_URI, Management  # noqa: E402
from services.common.caller import GOVERNMENT_PREFIX  # noqa: E402
from services.common.secret_files import SecretFileError, resolve_secret_files  # noqa: E402

SERVICE_PREFIX = "lapor-"
RPC_EXCHANGE = "nameko-rpc"
# What a government system may call over the bus. Reading back goes through the HTTP API with its API key,
# which answers what the public may see (README "Open311" / "API keys").
GOVERNMENT_RPCS = ("intake.submit_many",)
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{1,40}")


def service_user(service, prefix=SERVICE_PREFIX):
    return f"{prefix}{service}"


def bus_password_key(service):
    """The variable that holds the password of a service's broker user (var/secrets.env under make run; the
    environment of compose's topology job, which makes the users, and of the service itself)."""
    return f"LAPOR_BUS_PASSWORD_{service.upper()}"


def passwords_from(environ, services):
    """{service: password} from LAPOR_BUS_PASSWORD_<SERVICE>; ValueError naming every one that is missing."""
    missing = [bus_password_key(service) for service in services if not environ.get(bus_password_key(service))]
    if missing:
        raise ValueError(f"set {', '.join(missing)} (a URL-safe password for each service's broker user)")
    return {service: environ[bus_password_key(service)] for service in services}


def government_user(name):
    return f"{GOVERNMENT_PREFIX}{name}"


def checked_name(name):
    if not _NAME.fullmatch(name or ""):
        raise ValueError(f"system name {name!r}: 2–41 of a–z, 0–9, _ and -, starting with a letter or digit")
    return name


def government_permissions(name):
    """(configure, write, read) and the topic permission (write, read) on nameko-rpc for gov-<name>."""
    reply_queue = re.escape(f"rpc.reply-{government_user(checked_name(name))}-") + _UUID
    own = f"^{reply_queue}$"
    plain = {"configure": own, "write": f"^({re.escape(RPC_EXCHANGE)}|{reply_queue})$",
             "read": f"^({re.escape(RPC_EXCHANGE)}|{reply_queue})$"}
    topic = {"write": "^(" + "|".join(re.escape(key) for key in GOVERNMENT_RPCS) + ")$", "read": f"^{_UUID}$"}
    return plain, topic


def ensure_service_users(management, vhost, passwords, prefix=SERVICE_PREFIX):
    """One user per service in `passwords` ({service: password}), with every permission on `vhost`."""
    for service, password in passwords.items():
        user = service_user(service, prefix)
        management.put_user(user, password)
        management.set_permissions(vhost, user, ".*", ".*", ".*")
    return sorted(service_user(service, prefix) for service in passwords)


def grant_government_system(management, vhost, name, password):
    """gov-<name> confined to GOVERNMENT_RPCS on `vhost` (see the module's docstring); returns the user name."""
    user = government_user(name)
    plain, topic = government_permissions(name)
    management.put_user(user, password)
    management.set_permissions(vhost, user, plain["configure"], plain["write"], plain["read"])
    management.set_topic_permissions(vhost, user, RPC_EXCHANGE, topic["write"], topic["read"])
    return user


def uri_for(amqp_uri, user, password):
    """`amqp_uri` with another user's credentials (same host, port and vhost)."""
    parsed = urlparse(amqp_uri)
    host = parsed.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}" + (f":{parsed.port}" if parsed.port else "")
    return urlunparse(parsed._replace(netloc=netloc))


def vhost_of(amqp_uri):
    path = urlparse(amqp_uri).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m devstack.bus_accounts", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    services = commands.add_parser("services", help="create or reset every LAPOR service's user; new passwords "
                                                     "printed once")
    services.add_argument("--from-env", action="store_true",
                          help="take the passwords from LAPOR_BUS_PASSWORD_<SERVICE> and print none (compose)")
    add = commands.add_parser("add-system", help="create or reset a government system's user")
    add.add_argument("name")
    remove = commands.add_parser("remove-system", help="delete a government system's user")
    remove.add_argument("name")
    local = commands.add_parser("local-uri", help="the LAPOR_AMQP_URI `make run` gives a service (a secret: its "
                                                  "password, from var/secrets.env)")
    local.add_argument("service")
    args = parser.parse_args(argv)
    try:
        resolve_secret_files()  # LAPOR_AMQP_URI_FILE, LAPOR_BUS_PASSWORD_<SERVICE>_FILE (compose secrets)
    except SecretFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    amqp_uri = os.environ.get("LAPOR_AMQP_URI", DEFAULT_AMQP_URI)
    management, vhost = Management(amqp_uri=amqp_uri), vhost_of(amqp_uri)
    from devstack.launcher import SERVICES
    if args.command == "services" and args.from_env:
        try:
            passwords = passwords_from(os.environ, SERVICES)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        users = ensure_service_users(management, vhost, passwords)
        print(f"users on vhost {vhost!r}: {', '.join(users)}")
    elif args.command == "services":
        passwords = {service: secrets.token_urlsafe(24) for service in SERVICES}
        ensure_service_users(management, vhost, passwords)
        for service, password in passwords.items():
            print(f"{service}: LAPOR_AMQP_URI={uri_for(amqp_uri, service_user(service), password)}")
    elif args.command == "add-system":
        password = secrets.token_urlsafe(24)
        user = grant_government_system(management, vhost, args.name, password)
        print(f"user {user} on vhost {vhost!r}, confined to {', '.join(GOVERNMENT_RPCS)}")
        print(f"password (printed once): {password}")
    elif args.command == "local-uri":
        from devstack.run import local_service_uri
        if args.service not in SERVICES:
            print(f"no service {args.service!r}: one of {', '.join(SERVICES)}", file=sys.stderr)
            return 2
        print(local_service_uri(args.service, amqp_uri))
    else:
        management.delete_user(government_user(checked_name(args.name)))
        print(f"user {government_user(args.name)} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
