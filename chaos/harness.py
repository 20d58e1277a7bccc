"""`make chaos` (python -m chaos): LAPOR under faults, one table row per scenario.

A stack of the suite's own (RabbitMQ node, store, the six services from the same launcher as `make run`),
load over HTTP with retrying clients, one fault per scenario after ~30 % of the reports are accepted, then a
settle: until every accepted report is `disposed` with a `due_at`, or the settle timeout. Then the row:

  accepted   reports that got a 201            gave up   clients that ran out of retry budget
  lost       accepted, never visible on GET    stuck     visible, but not disposed or without due_at
  dup ids    two keys with one ID, or one key with two cases   other id   a replayed key answered another ID
  dup notif  messages per (report, audience, channel, kind) beyond the first
  notif miss (report, audience, channel, kind) messages some reports lack that the others got (once queues are empty)
  parked     new dead_events records           unpub     outbox documents still unpublished
  503        503s clients saw                  max retry the longest a client kept retrying (s)
  settle     fault end → the last accepted report disposed with due_at (s); — when some never were
  exits      services that exited by themselves (counted and restarted by the harness's supervisor)

    python -m chaos [--reports 1000] [--concurrency 8] [--scenarios routing,broker] [--short] [--json out.json]
"""
import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from chaos import scenarios as catalogue
from chaos.load import Load
from chaos.measure import StoreReader, safely
from chaos.stack import ChaosStack

COLUMNS = (
    ("scenario", 14), ("accepted", 8), ("gave_up", 7), ("lost", 5), ("stuck", 5), ("dup_ids", 7),
    ("other_id", 8), ("dup_notif", 9), ("notif_missing", 10), ("parked", 6), ("unpublished", 11), ("s503", 5), ("max_retry_s", 11),
    ("settle_s", 8), ("self_exits", 10),
)
HEADINGS = {"s503": "503s", "max_retry_s": "max retry", "settle_s": "settle", "self_exits": "self-exits",
            "gave_up": "gave up", "dup_ids": "dup ids", "other_id": "other id", "dup_notif": "dup notif", "notif_missing": "notif miss",
            "unpublished": "unpublished"}
FAILURE_KEYS = ("lost", "stuck", "dup_ids", "other_id", "dup_notif", "parked", "unpublished")


def say(message):
    print(message, flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, help="reports per scenario (1000; --short: 100)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--scenarios", help=f"comma-separated, from: {', '.join(catalogue.ALL)} "
                                            f"(default all; --short: {', '.join(catalogue.SHORT)})")
    parser.add_argument("--short", action="store_true", help="the short run of `make test`")
    parser.add_argument("--fault-at", type=float, default=0.3, help="fraction of reports accepted before the fault")
    parser.add_argument("--down-seconds", type=float, default=3.0, help="how long the killed part stays down")
    parser.add_argument("--settle-timeout", type=float, help="seconds, after the last report is in, to wait for every one to be disposed "
                                                           "(180; --short: 60)")
    parser.add_argument("--retry-budget", type=float, help="seconds a client keeps retrying one report (60; --short: 45)")
    parser.add_argument("--quiesce-timeout", type=float,
                        help="seconds to wait for the queues to empty after the settle (180; --short: 60)")
    parser.add_argument("--json", dest="json_path", help="write the rows (and notes) as JSON here")
    parser.add_argument("--work-dir", help="where the node, store and logs live (default: a new temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir even when every row is clean")
    args = parser.parse_args(argv)
    args.reports = args.reports or (100 if args.short else 1000)
    args.settle_timeout = args.settle_timeout or (60.0 if args.short else 180.0)
    args.quiesce_timeout = args.quiesce_timeout or (60.0 if args.short else 180.0)
    args.retry_budget = args.retry_budget or (45.0 if args.short else 60.0)
    names = args.scenarios.split(",") if args.scenarios else list(catalogue.SHORT if args.short else catalogue.ALL)
    unknown = [name for name in names if name not in catalogue.ALL]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(catalogue.ALL)}")
    args.names = [name.strip() for name in names]
    return args


def run_scenario(stack, scenario, args, run_id):
    reader = StoreReader(stack.settings.mongo_uri, stack.settings.db_prefix)
    notes = []
    parked_before = safely(reader.parked, default={})
    exits_before = len(stack.self_exits)
    stack.reset_exit_streaks()
    if scenario.setup:
        scenario.setup(stack)
    tag = f"{run_id}-{scenario.name}"
    # No new report is started after this long (the run stays bounded even when nothing is accepted).
    send_for = args.reports / max(args.concurrency, 1) * 2.0 + 2 * args.retry_budget + 60
    load = Load(stack.settings.gateway_url, tag, args.reports, args.concurrency, args.retry_budget, send_for,
                progress=reader.report_states).start()
    fault_start = fault_end = None
    threshold = max(1, int(args.reports * args.fault_at))
    wait_until = time.monotonic() + send_for
    while load.accepted < threshold and not load.submitting_done() and time.monotonic() < wait_until:
        time.sleep(0.1)
    fault_start = time.monotonic()
    if scenario.inject:
        say(f"chaos: [{scenario.name}] {load.accepted} accepted: {scenario.what}")
        scenario.inject(stack)
        if scenario.recover:
            time.sleep(args.down_seconds)
            scenario.recover(stack)
    fault_end = time.monotonic()
    load.wait_submitted(send_for + args.retry_budget + 30)
    submitted_at = time.monotonic()
    queues_at_load_end = stack.queue_depths()
    # The backlog of 1,000 reports takes its time on 2 cores: the clock starts when the last one is in.
    settle_deadline = max(fault_end, submitted_at) + args.settle_timeout
    while not load.all_done() and time.monotonic() < settle_deadline:
        time.sleep(0.5)
    load.stop()
    unanswered = load.verify()  # the verdict: one GET per accepted report, as its client would see it
    accepted = load.accepted_submissions()
    done = [s for s in accepted if s.done_at is not None]
    lost = [s for s in accepted if not s.visible]  # never a 200 (a GET never answered is listed in the details)
    stuck = [s for s in accepted if s.visible and s.done_at is None]
    settle = (max(s.done_at for s in done) - fault_end) if done and not (lost or stuck) else None
    # What is still queued (notifications run behind disposal) is worked off before counting, and before the
    # next scenario: it neither escapes this row nor slows the next one.
    quiesce_seconds, backlog = stack.quiesce(args.quiesce_timeout)
    # The outboxes drain a few seconds behind (the relays' grace): give them a moment before counting.
    drain_deadline = time.monotonic() + 20
    unpublished = safely(reader.unpublished)
    while isinstance(unpublished, dict) and unpublished and time.monotonic() < drain_deadline:
        time.sleep(2)
        unpublished = safely(reader.unpublished)
    parked_after = safely(reader.parked, default={})
    new_parked = {service: ids - parked_before.get(service, set()) for service, ids in parked_after.items()}
    new_parked = {service: ids for service, ids in new_parked.items() if ids}
    tracking_ids = [s.tracking_id for s in accepted]
    shared_ids = [tid for tid, count in Counter(tracking_ids).items() if count > 1]
    split_reports = safely(reader.duplicate_reports, f"Chaos {tag} laporan ", default={})
    dup_notifications = safely(reader.duplicate_notifications, tracking_ids, default=[])
    notifications = safely(reader.notification_counts, tracking_ids)
    mismatches, unchecked = load.replay_retried()
    exits = stack.self_exits[exits_before:]
    row = {
        "scenario": scenario.name,
        "accepted": len(accepted),
        "gave_up": sum(1 for s in load.submissions if s.outcome in ("gave_up", "not_sent")),
        "refused": sum(1 for s in load.submissions if s.outcome == "refused"),
        "lost": len(lost),
        "stuck": len(stuck),
        "dup_ids": len(shared_ids) + (sum(len(ids) - 1 for ids in split_reports.values())
                                      if isinstance(split_reports, dict) else 0),
        "other_id": len(mismatches),
        "dup_notif": (sum(copies - 1 for *_, copies in dup_notifications)
                      if isinstance(dup_notifications, list) else None),
        "notif_missing": notifications[1] if isinstance(notifications, tuple) else None,
        "parked": sum(len(ids) for ids in new_parked.values()),
        "unpublished": sum(unpublished.values()) if isinstance(unpublished, dict) else None,
        "s503": load.status_503,
        "max_retry_s": round(max((s.retry_seconds for s in load.submissions), default=0.0), 1),
        "settle_s": round(settle, 1) if settle is not None else None,
        "self_exits": len(exits),
        "details": {
            "reports": args.reports,
            "fault": scenario.what,
            "fault_at_accepted": threshold,
            "fault_seconds": round(fault_end - fault_start, 1),
            "load_seconds": round(submitted_at - load.started_at, 1),
            "gets_unanswered": {s.tracking_id: s.last_get for s in unanswered[:5]},
            "connection_errors": load.connection_errors,
            "other_5xx": load.status_5xx_other,
            "status_429": load.status_429,
            "notifications": notifications[0] if isinstance(notifications, tuple) else repr(notifications),
            "queues_at_load_end": dict(sorted((queues_at_load_end or {}).items(), key=lambda kv: -kv[1])[:4]),
            "quiesce_seconds": round(quiesce_seconds, 1),
            "backlog_after_quiesce": backlog,
            "stuck_statuses": dict(Counter(f"{s.last_status}{'' if s.last_due_at else ' (no due_at)'}"
                                           for s in stuck)),
            "stuck_sample": [s.tracking_id for s in stuck[:5]],
            "lost_sample": [s.tracking_id for s in lost[:5]],
            "gave_up_errors": dict(Counter(s.last_error for s in load.submissions if s.outcome == "gave_up")),
            "refused_sample": [s.last_error for s in load.submissions if s.outcome == "refused"][:3],
            "parked_by_service": {service: len(ids) for service, ids in new_parked.items()},
            "parked_sample": safely(reader.parked_samples, new_parked, default=[]) if new_parked else [],
            "unpublished_by_outbox": unpublished if isinstance(unpublished, dict) else repr(unpublished),
            "dup_notif_sample": [list(item) for item in dup_notifications[:5]] if isinstance(dup_notifications, list)
            else repr(dup_notifications),
            "split_reports_sample": dict(list(split_reports.items())[:3]) if isinstance(split_reports, dict) else {},
            "replay_mismatches": mismatches[:5],
            "replays_unchecked": unchecked,
            "self_exits": [f"{e.name} rc={e.returncode} at +{e.at - fault_start:.0f}s" for e in exits],
            "settled_after_fault": round(max(s.done_at for s in done) - fault_end, 1) if done else None,
            "notes": notes,
        },
    }
    if scenario.teardown:
        scenario.teardown(stack)
    return row


def clean(row):
    return all(row[key] == 0 for key in FAILURE_KEYS) and row["accepted"] > 0 and row["gave_up"] == 0


def cell(value):
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def table(rows):
    head = " | ".join(HEADINGS.get(key, key).ljust(width) for key, width in COLUMNS)
    lines = [head, "-" * len(head)]
    for row in rows:
        lines.append(" | ".join(cell(row.get(key)).ljust(width) for key, width in COLUMNS))
    return "\n".join(lines)


def detail_lines(row):
    d = row["details"]
    interesting = {key: value for key, value in d.items()
                   if value not in (None, [], {}, 0) and key not in ("reports", "fault_at_accepted")}
    return [f"  {row['scenario']}: " + "; ".join(f"{key}={value}" for key, value in interesting.items())]


def recover_between(stack, row):
    """A scenario that left reports stuck, or the stack unhealthy, must not poison the next one: start every
    service again (as an operator's second `make run` would) before going on."""
    if clean(row) and stack.healthy_within(30):
        return None
    say("chaos: the stack is not clean after this scenario: restarting all six services before the next one")
    for name in list(stack.processes.processes):
        stack.stop_service(name)
    for name in ("intake", "routing", "tracking", "notifications", "sla", "gateway"):
        stack.spawn(name)
    if not stack.healthy_within(120):
        return "stack still unhealthy after a full restart"
    stack.retrain()
    return "all services restarted after this scenario"


def main(argv=None):
    args = parse_args(argv)
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="lapor-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    run_id = time.strftime("%H%M%S")
    say(f"chaos: {len(args.names)} scenario(s) × {args.reports} reports at concurrency {args.concurrency}; "
        f"work dir {work}")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    stack = ChaosStack(work, log=say)
    rows, started = [], time.monotonic()
    try:
        stack.start()
        scenarios = catalogue.all_scenarios()
        for name in args.names:
            say(f"chaos: scenario {name} …")
            row = run_scenario(stack, scenarios[name], args, run_id)
            rows.append(row)
            say(table([row]).splitlines()[-1])
            note = recover_between(stack, row)
            if note:
                row["details"]["notes"].append(note)
            if args.json_path:
                write_json(args.json_path, rows, work, started)
    except KeyboardInterrupt:
        say("chaos: interrupted")
    finally:
        stack.stop()
    say("")
    say(f"LAPOR under faults: {args.reports} reports per scenario, concurrency {args.concurrency}, "
        f"fault after {args.fault_at:.0%} accepted, down {args.down_seconds:g}s "
        f"({(time.monotonic() - started) / 60:.1f} min)")
    say(table(rows))
    for row in rows:
        say("\n".join(detail_lines(row)))
    if args.json_path:
        write_json(args.json_path, rows, work, started)
    all_clean = len(rows) == len(args.names) and all(clean(row) for row in rows)
    if all_clean and not args.keep and not args.work_dir:
        shutil.rmtree(work, ignore_errors=True)
    else:
        say(f"chaos: logs kept in {work / 'logs'} (services), {work / 'rabbit' / 'log'}, {work / 'store'}")
    return 0 if all_clean else 1


def write_json(path, rows, work, started):
    Path(path).write_text(json.dumps({"rows": rows, "work_dir": str(work),
                                      "minutes": round((time.monotonic() - started) / 60, 2)},
                                     ensure_ascii=False, indent=1, default=str))


if __name__ == "__main__":
    sys.exit(main())
