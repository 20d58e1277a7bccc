"""Parked events (each service's `dead_events`) from the command line, through the bus (issue 12, item 8).

    python -m services.gateway.dead_events list [--service tracking] [--event-type report_submitted]
                                                [--handler on_report_submitted] [--status parked|replayed|all]
                                                [--page 1] [--per-page 50] [--json]
    python -m services.gateway.dead_events replay --service tracking --id <event_id>:<handler>
    python -m services.gateway.dead_events replay --service routing --event-type report_updated
                                                  [--handler on_report_updated] [--limit 50] [--until-done]

Each call is an RPC to the owning service (nameko's ClusterRpcProxy on LAPOR_AMQP_URI), which replays through the
handler's normal idempotent path and keeps its own record of the replay. Every replay is also written to the
gateway's audit log (LAPOR_MONGO_URI, LAPOR_DB_PREFIX), as `replay_dead_events` by `cli:<login>`; the store is
checked before anything is replayed, so no replay goes unaudited.
"""
import argparse
import getpass
import json
import os
import sys
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # before nameko imports eventlet

from kombu.exceptions import OperationalError  # noqa: E402
from nameko.exceptions import RpcTimeout, UnknownService  # noqa: E402
from pymongo.errors import PyMongoError  # noqa: E402

from services.common.caller import StampedCluster  # noqa: E402
from services.common.cli import not_answering  # noqa: E402
from services.common.dead_letters import EVENT_TYPES, OUTCOME_FAILED, STATES  # noqa: E402
from services.common.errors import LaporError  # noqa: E402
from services.common.events import now  # noqa: E402
from services.common.mongo import open_repository  # noqa: E402
from services.gateway import accounts  # noqa: E402
from services.gateway.dead_event_routes import DEAD_LETTER_SERVICES  # noqa: E402
from services.gateway.storage import GatewayRepository  # noqa: E402

DEFAULT_AMQP_URI = "pyamqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MONGO_URI = "mongodb://127.0.0.1:27017/"
RPC_TIMEOUT_SECONDS = 120


class CommandError(Exception):
    """Why the command could not be done, for the operator."""


def cli_actor(login=None):
    """Who replays: the operator's login, as the role the services give their own work (`system`)."""
    return {"username": f"cli:{login or getpass.getuser()}", "role": "system", "agency_code": None, "name": None}


def parser():
    root = argparse.ArgumentParser(prog="python -m services.gateway.dead_events",
                                   description="LAPOR parked events: list them, deliver them again after a fix")
    commands = root.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list parked events (newest first)")
    listing.add_argument("--service", choices=DEAD_LETTER_SERVICES, help="one service (default: every one)")
    listing.add_argument("--event-type", choices=EVENT_TYPES)
    listing.add_argument("--handler")
    listing.add_argument("--status", choices=STATES, default="parked")
    listing.add_argument("--page", type=int, default=1)
    listing.add_argument("--per-page", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="the records as JSON lines")
    replay = commands.add_parser("replay", help="deliver parked events again to the handler that parked them")
    replay.add_argument("--service", choices=DEAD_LETTER_SERVICES, required=True)
    chosen = replay.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--id", help="one record, as `list` shows it (event_id:handler)")
    chosen.add_argument("--event-type", choices=EVENT_TYPES, help="every parked record of this event type")
    replay.add_argument("--handler", help="with --event-type: only this handler's records")
    replay.add_argument("--limit", type=int, default=50, help="with --event-type: at most this many per call")
    replay.add_argument("--until-done", action="store_true",
                        help="with --event-type: call again while records remain and the last call made progress")
    replay.add_argument("--json", action="store_true", help="the answers as JSON")
    return root


def list_events(cluster, args, actor, out):
    query = {"status": args.status}
    if args.event_type:
        query["event_type"] = args.event_type
    if args.handler:
        query["handler"] = args.handler
    start, shown, total = (max(args.page, 1) - 1) * args.per_page, 0, 0
    for service in ([args.service] if args.service else DEAD_LETTER_SERVICES):
        answer = getattr(cluster, service).dead_events(
            dict(query, skip=max(start - total, 0), limit=max(args.per_page - shown, 0)), actor)
        total += answer["total"]
        for item in answer["items"]:
            shown += 1
            if args.json:
                print(json.dumps(item, ensure_ascii=False), file=out)
            else:
                print(f"{item['service']:<14} {item['id']:<58} {item['status']:<9} {item['parked_at'] or '-':<33} "
                      f"attempts={item['attempts']} replays={item['replay_count']}  {item['error'] or ''}", file=out)
    if not args.json:
        print(f"{shown} shown of {total}", file=out)
    return 0


def replay_events(cluster, args, actor, audit, out):
    if args.id and (args.handler or args.until_done):
        raise CommandError("--handler and --until-done go with --event-type, not --id.")
    selector = {"id": args.id} if args.id else dict(
        {"event_type": args.event_type, "limit": args.limit}, **({"handler": args.handler} if args.handler else {}))
    service = getattr(cluster, args.service)
    failed = False
    while True:
        details = dict({key: value for key, value in selector.items() if key != "limit"}, service=args.service)
        try:
            answer = service.replay_dead_events(selector, actor)
        except LaporError as exc:
            audit(details, exc.code)
            raise
        audit(dict(details, counts=answer["counts"], remaining=answer["remaining"]), "ok")
        for item in answer["items"]:
            if args.json:
                continue
            error = f"  {item['error']}" if item.get("error") else ""
            print(f"{item['id']}: {item['outcome']}{error}", file=out)
        if args.json:
            print(json.dumps(answer, ensure_ascii=False), file=out)
        else:
            counts = ", ".join(f"{outcome} {n}" for outcome, n in answer["counts"].items() if n)
            print(f"{args.service}: {counts or 'nothing to replay'}; {answer['remaining']} still parked", file=out)
        failed = failed or bool(answer["counts"].get(OUTCOME_FAILED))
        progressed = any(item["outcome"] != OUTCOME_FAILED for item in answer["items"])
        if not (args.until_done and answer["remaining"] and progressed):
            return 1 if failed else 0


def main(argv=None, environ=None, out=None, cluster_factory=None, login=None):
    args = parser().parse_args(argv)
    environ = os.environ if environ is None else environ
    out = out or sys.stdout
    amqp_uri = environ.get("LAPOR_AMQP_URI") or DEFAULT_AMQP_URI
    mongo_uri = environ.get("LAPOR_MONGO_URI") or DEFAULT_MONGO_URI
    prefix = environ.get("LAPOR_DB_PREFIX", "")
    actor = cli_actor(login)
    client = None
    if cluster_factory is None:
        from nameko.standalone.rpc import ClusterRpcProxy  # eventlet-based: imported only when it is used

        def cluster_factory():
            return ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=RPC_TIMEOUT_SECONDS)
    try:
        audit = None
        if args.command == "replay":
            client, gateway = open_repository(GatewayRepository, mongo_uri, "lapor_gateway", prefix)
            if not gateway.ping():
                raise PyMongoError("ping failed")

            def audit(details, outcome):
                gateway.insert_audit(accounts.audit_entry(actor, "replay_dead_events", None, outcome, None,
                                                          dict(details, via="cli"), now()))
        with cluster_factory() as cluster:
            cluster = StampedCluster(cluster, amqp_uri)  # the services take the admin's claim from this broker user
            if args.command == "list":
                return list_events(cluster, args, actor, out)
            return replay_events(cluster, args, actor, audit, out)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except LaporError as exc:
        problems = "; ".join(f"{field}: {' '.join(m['en'] if isinstance(m, dict) else str(m) for m in messages)}"
                             for field, messages in exc.fields.items())
        print(f"error ({exc.code}): {exc}{'; ' + problems if problems else ''}", file=sys.stderr)
        return 1
    except PyMongoError as exc:
        print(f"error: {not_answering('store', mongo_uri, exc)}, "
              "so nothing was replayed (every replay is audited); is `make run` up? (or set LAPOR_MONGO_URI)",
              file=sys.stderr)
        return 1
    except (RpcTimeout, UnknownService) as exc:
        print(f"error: {args.service or 'a service'} does not answer on the bus ({exc.__class__.__name__}); is it "
              "running?", file=sys.stderr)
        return 1
    except (OSError, OperationalError) as exc:
        print(f"error: {not_answering('bus', amqp_uri, exc)}; "
              "is `make run` up? (or set LAPOR_AMQP_URI)", file=sys.stderr)
        return 1
    finally:
        if client is not None:
            client.close()


if __name__ == "__main__":
    sys.exit(main())
