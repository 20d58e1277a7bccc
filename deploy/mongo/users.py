"""Each LAPOR process's own MongoDB user, made or brought up to date: compose's one-shot `mongo-users` job.

    python /opt/lapor/mongo_users.py      (in the lapor image; docker-compose.yml mounts this file there)

It connects as the root user (LAPOR_MONGO_ROOT_USERNAME, LAPOR_MONGO_ROOT_PASSWORD, at LAPOR_MONGO_ADMIN_URI) and
runs createRole / createUser for what is missing and updateRole / updateUser for what exists, so running it again
on the same volume, and after a password or a role changed here, both end with exactly the roles below. Users and
roles live in the `admin` database, so the services connect with `authSource=admin`. Passwords come from
LAPOR_MONGO_PASSWORD_<NAME>; they go into the services' LAPOR_MONGO_URI, so they must be URL-safe. Users not named
here are left alone. Nothing it prints holds a password.
"""
import os
import sys
from urllib.parse import quote

from pymongo import MongoClient
from pymongo.errors import PyMongoError

AUTH_DATABASE = "admin"
DEFAULT_ADMIN_URI = "mongodb://mongo:27017/?replicaSet=rs0"
WRITE_CONCERN = {"w": "majority", "wtimeout": 10000}


def read_write(database):
    return {"role": "readWrite", "db": database}


# The one thing the accounts CLI (services.gateway.admin) reads outside the gateway's database: an agency, to check
# that an account's agency exists and fits its role (RoutingRepository.agency, a find on routing's `agencies`).
AGENCIES_READER = "lapor-agencies-reader"
ROLES = {
    AGENCIES_READER: [{"resource": {"db": "lapor_routing", "collection": "agencies"}, "actions": ["find"]}],
}

# user -> (the variable holding its password, its roles). Each service reads and writes its own database and no
# other (DESIGN §2; the database is the MongoStore of its service class). The operators' tools run in a service's
# container as that service: `make dead-events`' CLI (services.gateway.dead_events) writes only the gateway's audit
# log, services.intake.rotate_pii_key only intake's contacts, services.routing.seed only routing's reference data.
# The accounts CLI also reads routing's agencies, so it has a user of its own (compose's `accounts` tool) rather
# than giving the gateway service a look into routing's database.
USERS = {
    "lapor-gateway": ("LAPOR_MONGO_PASSWORD_GATEWAY", [read_write("lapor_gateway")]),
    "lapor-intake": ("LAPOR_MONGO_PASSWORD_INTAKE", [read_write("lapor_intake")]),
    "lapor-routing": ("LAPOR_MONGO_PASSWORD_ROUTING", [read_write("lapor_routing")]),
    "lapor-tracking": ("LAPOR_MONGO_PASSWORD_TRACKING", [read_write("lapor_tracking")]),
    "lapor-notifications": ("LAPOR_MONGO_PASSWORD_NOTIFICATIONS", [read_write("lapor_notifications")]),
    "lapor-sla": ("LAPOR_MONGO_PASSWORD_SLA", [read_write("lapor_sla")]),
    "lapor-accounts": ("LAPOR_MONGO_PASSWORD_ACCOUNTS",
                       [read_write("lapor_gateway"), {"role": AGENCIES_READER, "db": AUTH_DATABASE}]),
}


def passwords_from(environ, users=USERS):
    """{user: password}; ValueError naming every variable that is unset or would not fit in a URI as it is."""
    missing = [variable for variable, _ in users.values() if not environ.get(variable)]
    if missing:
        raise ValueError(f"set {', '.join(missing)}")
    unsafe = [variable for variable, _ in users.values() if quote(environ[variable], safe="") != environ[variable]]
    if unsafe:
        raise ValueError(f"{', '.join(unsafe)}: use only letters, digits and - _ . ~ (the password goes into a URI), "
                         "e.g. python -c \"import secrets; print(secrets.token_urlsafe(24))\"")
    return {user: environ[variable] for user, (variable, _) in users.items()}


def ensure_role(admin, name, privileges):
    exists = admin.command("rolesInfo", name)["roles"]
    admin.command("updateRole" if exists else "createRole", name, privileges=privileges, roles=[],
                  writeConcern=WRITE_CONCERN)
    return f"role {name} {'updated' if exists else 'created'}"


def ensure_user(admin, name, password, roles):
    exists = admin.command("usersInfo", name)["users"]
    admin.command("updateUser" if exists else "createUser", name, pwd=password, roles=roles,
                  writeConcern=WRITE_CONCERN)
    granted = ", ".join(f"{role['role']}@{role['db']}" for role in roles)
    return f"user {name} {'updated' if exists else 'created'} ({granted})"


def ensure_all(admin, passwords, users=USERS, roles=ROLES):
    """Roles first (users name them), then users; what was done, one line each."""
    done = [ensure_role(admin, name, privileges) for name, privileges in roles.items()]
    return done + [ensure_user(admin, name, passwords[name], user_roles) for name, (_, user_roles) in users.items()]


def main(environ=None, client_factory=MongoClient, out=None):
    environ = os.environ if environ is None else environ
    out = out or sys.stdout
    try:
        passwords = passwords_from(environ)
        root = environ.get("LAPOR_MONGO_ROOT_USERNAME"), environ.get("LAPOR_MONGO_ROOT_PASSWORD")
        if not all(root):
            raise ValueError("set LAPOR_MONGO_ROOT_USERNAME and LAPOR_MONGO_ROOT_PASSWORD")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # The credentials as arguments, not in the URI: the root password need not be URL-safe.
    client = client_factory(environ.get("LAPOR_MONGO_ADMIN_URI") or DEFAULT_ADMIN_URI, username=root[0],
                            password=root[1], authSource=AUTH_DATABASE, serverSelectionTimeoutMS=30000)
    try:
        done = ensure_all(client[AUTH_DATABASE], passwords)
    except PyMongoError as exc:
        message = str(exc)
        for secret in (root[1], *passwords.values()):
            message = message.replace(secret, "***")
        print(f"error: MongoDB users not made ({exc.__class__.__name__}: {message})", file=sys.stderr)
        return 1
    finally:
        client.close()
    for line in done:
        print(line, file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
