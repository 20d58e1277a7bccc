"""Measure LAPOR end to end over HTTP (submit → disposed) next to a raw RabbitMQ baseline."""

import argparse
import heapq
import itertools
import json
import math
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, unquote, urlsplit

import pika
import requests

POLL_INTERVAL = 0.05
DISPOSE_DEADLINE = 120.0
HTTP_TIMEOUT = 10.0
# Pollers are separate from submitters: with too few, a report waits for its turn and the
# measured latency grows with the number of pending reports rather than with the system.
MIN_POLLERS = 8
BASELINE_DEADLINE = 300.0
# A generous prefetch so the baseline shows the broker's ceiling, not a client window.
BASELINE_PREFETCH = 100


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--amqp-uri", default="pyamqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--management-url", default=None,
                        help="RabbitMQ management API (default: http://<amqp host>:15672)")
    parser.add_argument("--baseline-messages", type=int, default=5000)
    parser.add_argument("--mongo-uri", default="mongodb://127.0.0.1:27017/",
                        help="the store LAPOR runs on, for the raw store baseline (make run's nx-27017)")
    parser.add_argument("--store-clients", type=int, default=8, help="clients of the raw store baseline")
    parser.add_argument("--store-seconds", type=float, default=5.0, help="length of the raw store baseline")
    parser.add_argument("--no-costs", action="store_true",
                        help="skip the per-report costs (store operations, messages, RPCs) and the store baseline")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def percentile(values, pct):
    """Nearest-rank percentile of an unsorted list; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(values, pcts=(50, 95, 99)):
    summary = {f"p{p}": percentile(values, p) for p in pcts}
    summary["max"] = max(values) if values else None
    return summary


def report_body(n):
    return {
        "type": "complaint",
        "title": f"Benchmark laporan {n}",
        "body": f"Jalan rusak berlubang di depan pasar, laporan benchmark nomor {n}",
        "anonymous": False,
        "confidential": False,
        "agency_code": "KOTA-18.72",
        "location": {"region_code": "18.72"},
    }


@dataclass
class Pending:
    """One submitted report: when its POST started (both clocks) and when it was last seen."""

    tracking_id: str
    started: float  # time.monotonic(), for the client-side figures
    started_wall: float  # time.time(), to compare with the server's timeline timestamps
    last_seen: float


class Run:
    """Shared state of one end-to-end run: the poll schedule and the results."""

    def __init__(self, url, total):
        self.url = url.rstrip("/")
        self.total = total
        self.lock = threading.Lock()
        self.schedule = []  # heap of (next_poll_at, sequence, Pending)
        self.sequence = itertools.count()
        self.settled = 0  # reports that are disposed, failed or given up on
        self.disposed = []  # Pending of each report seen as disposed
        self.post_latencies = []
        self.e2e_latencies = []
        self.get_latencies = []
        self.poll_gaps = []  # time since the previous not-yet-disposed answer: the resolution
        self.failed = 0
        self.first_error = None
        self.poll_errors = 0
        self.first_poll_error = None
        self.not_disposed = []
        self.first_post_at = None
        self.last_disposed_at = None
        self.local = threading.local()

    def session(self):
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def all_settled(self):
        with self.lock:
            return self.settled >= self.total

    def fail(self, error):
        with self.lock:
            self.failed += 1
            self.settled += 1
            self.first_error = self.first_error or error

    def schedule_poll(self, due, pending):
        heapq.heappush(self.schedule, (due, next(self.sequence), pending))

    def submit(self, n):
        started, started_wall = time.monotonic(), time.time()
        with self.lock:
            self.first_post_at = min(started, self.first_post_at or started)
        try:
            resp = self.session().post(f"{self.url}/api/v1/reports", json=report_body(n),
                                       timeout=HTTP_TIMEOUT)
            done = time.monotonic()
            if resp.status_code != 201:
                return self.fail(f"POST #{n}: HTTP {resp.status_code} {resp.text[:200]}")
            tracking_id = resp.json()["tracking_id"]
        except (requests.RequestException, ValueError, KeyError) as exc:
            return self.fail(f"POST #{n}: {exc!r}")
        with self.lock:
            self.post_latencies.append(done - started)
            self.schedule_poll(done, Pending(tracking_id, started, started_wall, done))

    def next_due(self):
        with self.lock:
            return heapq.heappop(self.schedule)[::2] if self.schedule else None

    def fetch_status(self, tracking_id):
        try:
            resp = self.session().get(f"{self.url}/api/v1/reports/{tracking_id}",
                                      timeout=HTTP_TIMEOUT)
            if resp.status_code == 200:
                return resp.json().get("status")
            # 404 is normal for a moment: tracking has not yet seen report_submitted.
            if resp.status_code != 404:
                self.poll_error(f"GET {tracking_id}: HTTP {resp.status_code} {resp.text[:200]}")
        except (requests.RequestException, ValueError) as exc:
            self.poll_error(f"GET {tracking_id}: {exc!r}")
        return None

    def poll_once(self, pending):
        """GET one report; record it if disposed, else put it back on the schedule."""
        sent = time.monotonic()
        status = self.fetch_status(pending.tracking_id)
        now = time.monotonic()
        with self.lock:
            self.get_latencies.append(now - sent)
            if status == "disposed":
                self.disposed.append(pending)
                self.e2e_latencies.append(now - pending.started)
                self.poll_gaps.append(now - pending.last_seen)
                self.last_disposed_at = max(now, self.last_disposed_at or now)
                self.settled += 1
            elif now >= pending.started + DISPOSE_DEADLINE:
                self.not_disposed.append((pending.tracking_id, status))
                self.settled += 1
            else:
                pending.last_seen = now
                self.schedule_poll(now + POLL_INTERVAL, pending)

    def poll_error(self, error):
        with self.lock:
            self.poll_errors += 1
            self.first_poll_error = self.first_poll_error or error

    def poller(self, hard_stop):
        while not self.all_settled() and time.monotonic() < hard_stop:
            item = self.next_due()
            if item is None:
                time.sleep(0.005)
                continue
            due, pending = item
            time.sleep(max(0.0, due - time.monotonic()))
            self.poll_once(pending)

    def disposed_at(self, pending):
        """The server's time of disposal from the report's timeline (epoch seconds) or None."""
        try:
            resp = self.session().get(f"{self.url}/api/v1/reports/{pending.tracking_id}/timeline",
                                      timeout=HTTP_TIMEOUT)
            resp.raise_for_status()
            entries = resp.json()["items"]
            stamps = [e["at"] for e in entries if e.get("status") == "disposed"]
            return datetime.fromisoformat(min(stamps)).timestamp() if stamps else None
        except (requests.RequestException, ValueError, KeyError):
            return None


def run_http(url, total, concurrency):
    """Submit `total` reports and poll each one until it shows as disposed."""
    run = Run(url, total)
    wall_start = time.monotonic()
    # Each report gets DISPOSE_DEADLINE from its POST; the hard stop only guards the loop
    # against bookkeeping bugs (submission itself is bounded by HTTP_TIMEOUT per POST).
    hard_stop = wall_start + 2 * DISPOSE_DEADLINE + total * HTTP_TIMEOUT / max(concurrency, 1)
    poller_count = max(concurrency, MIN_POLLERS)
    with ThreadPoolExecutor(poller_count, thread_name_prefix="poll") as pollers, \
            ThreadPoolExecutor(concurrency, thread_name_prefix="submit") as submitters:
        poll_futures = [pollers.submit(run.poller, hard_stop) for _ in range(poller_count)]
        list(submitters.map(run.submit, range(1, total + 1)))
        submitted_at = time.monotonic()
        for future in poll_futures:
            future.result()
        # After the timed part, so these reads do not load the system being measured.
        server_stamps = list(pollers.map(run.disposed_at, run.disposed))
    with run.lock:
        run.not_disposed.extend((p.tracking_id, "never polled in time") for _, _, p in run.schedule)
    figures = http_figures(run, total, concurrency, submitted_at - wall_start)
    figures.update(timeline_figures(run, server_stamps))
    return figures


def timeline_figures(run, server_stamps):
    """Submit→disposed by the server's own timeline clock: free of the polling lag."""
    pairs = [(p.started_wall, at) for p, at in zip(run.disposed, server_stamps) if at is not None]
    latencies = [at - started for started, at in pairs]
    span = (max(at for _, at in pairs) - min(s for s, _ in pairs)) if pairs else None
    return {
        "timeline_missing": len(run.disposed) - len(pairs),
        "timeline_submit_to_disposed": summarize(latencies),
        "timeline_throughput": len(pairs) / span if span else None,
        "timeline_wall_seconds": span,
    }


def http_figures(run, total, concurrency, submit_wall):
    disposed = len(run.e2e_latencies)
    posted = len(run.post_latencies)
    e2e_wall = (run.last_disposed_at - run.first_post_at) if disposed else None
    return {
        "url": run.url,
        "reports": total,
        "concurrency": concurrency,
        "submitted": posted,
        "disposed": disposed,
        "failed": run.failed,
        "first_error": run.first_error,
        "not_disposed": len(run.not_disposed),
        "not_disposed_sample": [list(item) for item in run.not_disposed[:5]],
        "poll_errors": run.poll_errors,
        "first_poll_error": run.first_poll_error,
        "submit_rate": posted / submit_wall if submit_wall > 0 else None,
        "e2e_throughput": disposed / e2e_wall if e2e_wall else None,
        "e2e_wall_seconds": e2e_wall,
        "submit_to_disposed": summarize(run.e2e_latencies),
        "post_latency": summarize(run.post_latencies),
        "get_latency": summarize(run.get_latencies),
        "polls": len(run.get_latencies),
        "poll_gap": summarize(run.poll_gaps, pcts=(50, 95)),
    }


def broker_settings(amqp_uri, management_url):
    """Return (pika host, port, credentials, management base URL) from a kombu-style URI."""
    parts = urlsplit(amqp_uri)
    host = parts.hostname or "127.0.0.1"
    user = unquote(parts.username or "guest")
    password = unquote(parts.password or "guest")
    mgmt = (management_url or f"http://{host}:15672").rstrip("/")
    return host, parts.port or 5672, (user, password), mgmt


def create_vhost(mgmt, auth, vhost):
    name = quote(vhost, safe="")
    requests.put(f"{mgmt}/api/vhosts/{name}", auth=auth, timeout=HTTP_TIMEOUT).raise_for_status()
    perms = {"configure": ".*", "write": ".*", "read": ".*"}
    requests.put(f"{mgmt}/api/permissions/{name}/{quote(auth[0], safe='')}", json=perms,
                 auth=auth, timeout=HTTP_TIMEOUT).raise_for_status()


def delete_vhost(mgmt, auth, vhost):
    try:
        resp = requests.delete(f"{mgmt}/api/vhosts/{quote(vhost, safe='')}", auth=auth,
                               timeout=HTTP_TIMEOUT)
        problem = None if resp.status_code in (204, 404) else f"HTTP {resp.status_code}"
    except requests.RequestException as exc:
        problem = repr(exc)
    if problem:
        print(f"warning: could not delete vhost {vhost}: {problem}", file=sys.stderr)


def publish_all(channel, queue, count):
    """Publish `count` persistent messages, each confirmed before the next; return msgs/s."""
    channel.confirm_delivery()
    props = pika.BasicProperties(content_type="application/json", delivery_mode=2)
    started = time.monotonic()
    for n in range(count):
        body = json.dumps({"n": n, "type": "complaint", "region_code": "18.72"})
        channel.basic_publish("", queue, body.encode(), properties=props, mandatory=True)
    return count / (time.monotonic() - started)


def consume_all(connection, channel, queue, count):
    """Consume and ack `count` messages; return (msgs/s, messages received)."""
    received = 0

    def on_message(ch, method, _props, _body):
        nonlocal received
        ch.basic_ack(method.delivery_tag)
        received += 1

    channel.basic_qos(prefetch_count=BASELINE_PREFETCH)
    started = time.monotonic()
    tag = channel.basic_consume(queue, on_message)
    deadline = started + BASELINE_DEADLINE
    while received < count and time.monotonic() < deadline:
        connection.process_data_events(time_limit=0.1)
    elapsed = time.monotonic() - started
    channel.basic_cancel(tag)
    return received / elapsed, received


def run_baseline(amqp_uri, management_url, count):
    """Publish and consume `count` messages on a temporary vhost with plain pika."""
    host, port, auth, mgmt = broker_settings(amqp_uri, management_url)
    vhost = f"lapor-bench-{uuid.uuid4().hex[:12]}"
    try:
        create_vhost(mgmt, auth, vhost)
        params = pika.ConnectionParameters(host=host, port=port, virtual_host=vhost,
                                           credentials=pika.PlainCredentials(*auth),
                                           blocked_connection_timeout=30)
        connection = pika.BlockingConnection(params)
        try:
            channel = connection.channel()
            channel.queue_declare("bench", durable=True)
            publish_rate = publish_all(channel, "bench", count)
            consume_rate, received = consume_all(connection, channel, "bench", count)
        finally:
            connection.close()
    finally:
        delete_vhost(mgmt, auth, vhost)
    return {"messages": count, "received": received, "prefetch": BASELINE_PREFETCH,
            "publish_confirmed_rate": publish_rate, "consume_ack_rate": consume_rate}


def seconds(value):
    return "n/a" if value is None else f"{value:.3f}s"


def quantile_line(label, summary):
    cells = "  ".join(f"{key} {seconds(value)}" for key, value in summary.items())
    return f"  {label:<22} {cells}"


def rate(value, unit):
    return "n/a" if value is None else f"{value:.1f} {unit}"


def problem_lines(http):
    lines = []
    if http["first_error"]:
        lines.append(f"  first error: {http['first_error']}")
    if http["not_disposed"]:
        lines.append(f"  not disposed (first few, last status seen): {http['not_disposed_sample']}")
    if http["poll_errors"]:
        lines.append(f"  poll errors {http['poll_errors']}, first: {http['first_poll_error']}")
    if http["timeline_missing"]:
        lines.append(f"  no disposed entry in the timeline for {http['timeline_missing']} reports")
    return lines


def http_lines(http):
    head = [
        f"LAPOR end-to-end benchmark ({http['reports']} reports, concurrency "
        f"{http['concurrency']}, {http['url']})",
        f"  submitted {http['submitted']}, disposed {http['disposed']}, failed {http['failed']}, "
        f"not disposed {http['not_disposed']}",
    ]
    return head + problem_lines(http) + [
        f"  {'submit rate':<22} {rate(http['submit_rate'], 'reports/s')}",
        f"  {'end-to-end throughput':<22} {rate(http['e2e_throughput'], 'reports/s')}"
        f" (first POST to last seen disposed: {seconds(http['e2e_wall_seconds'])})",
        f"  {'  by server timeline':<22} {rate(http['timeline_throughput'], 'reports/s')}"
        f" (first POST to last disposal: {seconds(http['timeline_wall_seconds'])})",
        quantile_line("submit→disposed", http["submit_to_disposed"]),
        quantile_line("  by server timeline", http["timeline_submit_to_disposed"]),
        quantile_line("POST latency", http["post_latency"]),
        quantile_line(f"GET latency ({http['polls']})", http["get_latency"]),
        quantile_line("poll gap (resolution)", http["poll_gap"]),
    ]


def baseline_lines(baseline):
    if "error" in baseline:
        return [f"Raw RabbitMQ baseline ({baseline['messages']} messages)",
                f"  failed: {baseline['error']}"]
    return [
        f"Raw RabbitMQ baseline ({baseline['messages']} messages, persistent, durable queue)",
        f"  {'publish with confirms':<22} {rate(baseline['publish_confirmed_rate'], 'msgs/s')}",
        f"  {'consume (ack)':<22} {rate(baseline['consume_ack_rate'], 'msgs/s')}"
        f" (prefetch {baseline['prefetch']}, received {baseline['received']})",
    ]


def cost_lines(costs):
    if not costs:
        return []
    if "error" in costs:
        return ["Cost per report", f"  failed: {costs['error']}"]
    per = costs["per_report"]

    def number(value, digits=1):
        return "n/a" if value is None else f"{value:,.{digits}f}"

    by_service = ", ".join(f"{name} {value:.1f}" for name, value in sorted(per["store_by_service"].items()))
    lines = [
        "Cost per report (all services, from their /metrics and the vhost's message stats)",
        f"  {'store operations':<22} {number(per['store_per_report'])} ({by_service})",
        f"  {'broker messages':<22} {number(per['messages_per_report'])} (published into the vhost)",
        f"  {'RPCs':<22} {number(per['rpc_per_report'])}",
    ]
    missing = sorted(set(per["store_missing"]) | set(per["rpc_missing"]))
    if missing:
        lines.append(f"  not counted (no /metrics answer): {', '.join(missing)}")
    lines += [
        f"Raw store baseline ({costs['store_clients']} clients, insert + find + $set)",
        f"  {'store operations':<22} {rate(costs['store_ops_rate'], 'ops/s')}",
        "Ceilings at these costs",
        f"  {'store-bound':<22} {rate(costs['ceilings']['store_bound'], 'reports/s')}",
        f"  {'broker-bound':<22} {rate(costs['ceilings']['broker_bound'], 'reports/s')}"
        " (confirmed publishes/s of the raw broker baseline ÷ messages per report)",
    ]
    lower = [value for value in costs["ceilings"].values() if value]
    if lower and costs.get("achieved"):
        lines.append(f"  {'achieved':<22} {rate(costs['achieved'], 'reports/s')} = "
                     f"{costs['achieved'] / min(lower):.0%} of the lower ceiling")
    return lines


def render_text(http, baseline, costs=None):
    return "\n".join(http_lines(http) + (baseline_lines(baseline) if baseline else []) + cost_lines(costs))


def measure_costs(args, counters, http, baseline):
    """Per-report costs from the counters read before the run, the store baseline and both ceilings."""
    from bench import costs as cost_model
    try:
        reports = max(http["disposed"], 1)
        per_report = counters.per_report(reports)
        store_rate = cost_model.store_baseline(args.mongo_uri, args.store_clients, args.store_seconds)
    except Exception as exc:  # noqa: BLE001 - keep the figures already measured; say why these are missing
        return {"error": repr(exc)}
    publish_rate = (baseline or {}).get("publish_confirmed_rate")
    return {"per_report": per_report, "store_ops_rate": store_rate, "store_clients": args.store_clients,
            "ceilings": cost_model.ceilings(per_report, store_rate, publish_rate),
            "achieved": http.get("e2e_throughput")}


def cost_counters(args):
    from bench import costs as cost_model
    _, _, auth, mgmt = broker_settings(args.amqp_uri, args.management_url)
    vhost = unquote(urlsplit(args.amqp_uri).path[1:]) or "/"
    return cost_model.Costs(cost_model.default_metrics_urls(), mgmt, auth, vhost)


def main(argv=None):
    args = parse_args(argv)
    counters = None if args.no_costs else cost_counters(args)
    http = run_http(args.url, args.reports, args.concurrency)
    baseline = None
    if args.baseline_messages > 0:
        try:
            baseline = run_baseline(args.amqp_uri, args.management_url, args.baseline_messages)
        except (requests.RequestException, pika.exceptions.AMQPError) as exc:
            # Keep the HTTP figures already measured; say why the baseline is missing.
            baseline = {"messages": args.baseline_messages, "error": repr(exc)}
    costs = None if counters is None else measure_costs(args, counters, http, baseline)
    if args.json:
        print(json.dumps({"http": http, "baseline": baseline, "costs": costs}, ensure_ascii=False))
    else:
        print(render_text(http, baseline, costs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
