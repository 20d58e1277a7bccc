"""Officer accounts and API keys from the command line: the first national admin, and everyone after it.

    python -m services.gateway.admin create --username budi.s --role national_admin [--name "Budi S"]
    python -m services.gateway.admin create --username metro.admin --role agency_admin --agency KOTA-18.72
    python -m services.gateway.admin disable --username metro.admin
    python -m services.gateway.admin enable --username metro.admin
    python -m services.gateway.admin list
    python -m services.gateway.admin create-api-key --name pemkot-metro-sim
    python -m services.gateway.admin revoke-api-key --name pemkot-metro-sim
    python -m services.gateway.admin list-api-keys

An API key (for another government system: `api_key` on Open311, `X-API-Key`) is printed once, when it is
created; only its digest is stored, so a lost key is revoked and a new one created.
The password is asked twice (or read from the first line of stdin with --password-stdin). Uses the
services' own store settings: LAPOR_MONGO_URI and LAPOR_DB_PREFIX.
"""
import argparse
import getpass
import os
import sys
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # before nameko imports eventlet

from marshmallow import ValidationError  # noqa: E402
from pymongo.errors import PyMongoError  # noqa: E402

from services.common.cli import not_answering  # noqa: E402
from services.common.events import now  # noqa: E402
from services.common.mongo import open_repository  # noqa: E402
from services.gateway import accounts  # noqa: E402
from services.gateway.storage import GatewayRepository  # noqa: E402
from services.routing.storage import RoutingRepository  # noqa: E402

DEFAULT_MONGO_URI = "mongodb://127.0.0.1:27017/"
CLI_ACTOR = {"username": None, "role": "system", "agency_code": None}

# The local run's accounts (`make run` only): one per kind of officer, all on Kota Metro.
DEMO_ACCOUNTS = (
    {"username": "demo.admin", "role": "national_admin", "agency_code": None, "name": "Admin Nasional (demo)"},
    {"username": "demo.supervisor", "role": "supervisor", "agency_code": None, "name": "Pengawas (demo)"},
    {"username": "demo.metro.admin", "role": "agency_admin", "agency_code": "KOTA-18.72",
     "name": "Admin Kota Metro (demo)"},
    {"username": "demo.metro.officer", "role": "agency_officer", "agency_code": "KOTA-18.72-DPUPR",
     "name": "Petugas DPUPR Kota Metro (demo)"},
)


class AccountError(Exception):
    """Why an account command could not be done, for the operator."""


def create_account(repository, fields, agency_lookup):
    """Validate, hash and store a new account; `agency_lookup(code)` is routing's agency record or None."""
    loaded = checked_fields(fields, agency_lookup)
    account = accounts.new_account(loaded, accounts.hash_password(loaded["password"]), now())
    if not repository.insert_account(account):
        raise AccountError(f"username: {loaded['username']} already exists.")
    _audit(repository, "account_created", account["_id"], {"role": account["role"],
                                                             "agency_code": account["agency_code"]})
    return account


def checked_fields(fields, agency_lookup, without_password=False):
    """The account's fields as the schema loads them, its agency fitting its role; AccountError otherwise."""
    try:
        loaded = accounts.AccountSchema().load(fields, partial=("password",) if without_password else False)
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {' '.join(map(str, messages))}" for field, messages in exc.messages.items())
        raise AccountError(problems)
    if loaded["agency_code"]:
        problem = accounts.agency_role_problem(loaded["role"], agency_lookup(loaded["agency_code"]))
        if problem:
            raise AccountError(f"agency_code: {problem}")
    return loaded


def set_disabled(repository, username, disabled):
    if not repository.set_disabled(username, now() if disabled else None):
        raise AccountError(f"username: no account {username}.")
    _audit(repository, "account_disabled" if disabled else "account_enabled", username, None)


def create_api_key(repository, name):
    """A new key for the API client `name`, returned once (only its digest is stored); one active key per name."""
    try:
        name = accounts.ApiClientSchema().load({"name": name})["name"]
    except ValidationError as exc:
        raise AccountError(f"name: {' '.join(exc.messages['name'])}")
    if repository.active_api_keys(name):
        raise AccountError(f"name: {name} already has an active key; revoke it first.")
    key = accounts.new_api_key()
    repository.insert_api_key(accounts.new_api_client(name, key, now()))
    _audit(repository, "api_key_created", None, {"api_client": name})
    return key


def revoke_api_key(repository, name):
    """Every active key of `name` stops working at once."""
    if not repository.revoke_api_keys(name, now()):
        raise AccountError(f"name: no active API key for {name}.")
    _audit(repository, "api_key_revoked", None, {"api_client": name})


def ensure_demo_accounts(repository, password):
    """Create the demo accounts that are missing; existing ones (and their passwords) are left as they are.

    The demo password may be shorter than the policy asks (its default, demo12345, is): local run only."""
    created, password_hash = [], accounts.hash_password(password)
    for demo in DEMO_ACCOUNTS:
        account = accounts.new_account(demo, password_hash, now())
        if repository.insert_account(account):
            created.append(demo["username"])
    return created


def _audit(repository, action, username, details):
    repository.insert_audit(accounts.audit_entry(
        CLI_ACTOR, action, None, "ok", None, dict(details or {}, account=username, via="cli"), now()))


def read_password(args, stdin):
    if args.password_stdin:
        return stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Password (again): "):
        raise AccountError("the two passwords differ.")
    return password


def parser():
    root = argparse.ArgumentParser(prog="python -m services.gateway.admin", description="LAPOR officer accounts")
    commands = root.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create an account")
    create.add_argument("--username", required=True)
    create.add_argument("--role", required=True, choices=accounts.ROLES)
    create.add_argument("--agency", help="agency code (agency_admin) or unit code (agency_officer)")
    create.add_argument("--name", help="the officer's name as shown in timelines (default: the username)")
    create.add_argument("--password-stdin", action="store_true", help="read the password from stdin's first line")
    for name, text in (("disable", "disable an account (its tokens stop working at once)"),
                       ("enable", "enable a disabled account")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--username", required=True)
    commands.add_parser("list", help="list the accounts")
    for name, text in (("create-api-key", "create an API key for another government system (printed once)"),
                       ("revoke-api-key", "revoke every active API key of a client")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--name", required=True, help="the client's name, e.g. pemkot-metro-sim")
    commands.add_parser("list-api-keys", help="list the API clients and whether their keys are active")
    return root


def run(args, repository, agency_lookup, stdin, out):
    if args.command == "create":
        fields = {"username": args.username, "role": args.role, "agency_code": args.agency, "name": args.name}
        checked_fields(fields, agency_lookup, without_password=True)  # before anyone types a password
        if repository.account(args.username) is not None:
            raise AccountError(f"username: {args.username} already exists.")
        account = create_account(repository, dict(fields, password=read_password(args, stdin)), agency_lookup)
        agency = f" of {account['agency_code']}" if account["agency_code"] else ""
        print(f"created {account['_id']} ({account['role']}{agency})", file=out)
    elif args.command in ("disable", "enable"):
        set_disabled(repository, args.username, args.command == "disable")
        print(f"{args.command}d {args.username}", file=out)
    elif args.command in API_KEY_COMMANDS:
        run_api_key_command(args, repository, out)
    else:
        for account in repository.accounts():
            state = "active" if accounts.is_active(account) else f"disabled {account['disabled_at']:%Y-%m-%d}"
            print(f"{account['_id']:<32} {account['role']:<15} {account.get('agency_code') or '-':<20} "
                  f"{state:<20} {account.get('name') or ''}", file=out)


API_KEY_COMMANDS = ("create-api-key", "revoke-api-key", "list-api-keys")


def run_api_key_command(args, repository, out):
    if args.command == "create-api-key":
        key = create_api_key(repository, args.name)
        print(f"created an API key for {args.name}; store it now, it is not shown again:", file=out)
        print(key, file=out)
    elif args.command == "revoke-api-key":
        revoke_api_key(repository, args.name)
        print(f"revoked the API key of {args.name}", file=out)
    else:
        for record in repository.api_keys():
            state = "active" if record.get("active") else f"revoked {record['revoked_at']:%Y-%m-%d}"
            print(f"{record['name']:<32} {state:<20} created {record['created_at']:%Y-%m-%d}", file=out)


def main(argv=None, environ=None, stdin=None, out=None):
    args = parser().parse_args(argv)
    environ = os.environ if environ is None else environ
    stdin, out = stdin or sys.stdin, out or sys.stdout
    uri = environ.get("LAPOR_MONGO_URI") or DEFAULT_MONGO_URI
    prefix = environ.get("LAPOR_DB_PREFIX", "")
    client = None
    try:
        client, repository = open_repository(GatewayRepository, uri, "lapor_gateway", prefix)
        # Read-only look at routing's agencies, so an account never names an agency that does not exist.
        agencies = RoutingRepository(client[f"{prefix}lapor_routing"])
        run(args, repository, agencies.agency, stdin, out)
        return 0
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except PyMongoError as exc:
        print(f"error: {not_answering('store', uri, exc)}; "
              "is `make run` up? (or set LAPOR_MONGO_URI)", file=sys.stderr)
        return 1
    finally:
        if client is not None:
            client.close()


if __name__ == "__main__":
    sys.exit(main())
