"""Liveness, readiness and consumer progress of one service container (issue 12 item 2, DESIGN §9 "Health").

- `GET /health/live`: the event loop answers. No store or broker call.
- `GET /health/ready`: 200 only when the store answers a ping (short timeout), the broker connection of every
  queue consumer is up, every consumer is attached (registered, with its consumer tag live on an open channel),
  and the worker pool is not stuck (saturated with no worker finishing for `HEALTH_STUCK_SECONDS`). The JSON body
  names the check that failed.
- `GET /metrics`: the container's registry, with the per-consumer gauges below computed at scrape time.

Why these three are answered outside the worker pool: Nameko's HTTP entrypoint hands each request to
`container.spawn_worker`, and the pool holds `max_workers` workers (also the AMQP prefetch). When every worker is
blocked, a request for readiness would wait for a free slot: the probe would time out rather than say why, and
Prometheus could not scrape the very gauges that show the stuck message. `PoolFreeHttp` is an entrypoint on the
service's own port (the same WebServer) whose `handle_request` answers in the green thread the web server already
spawned for the connection (a managed thread, not a worker). It therefore answers while the pool is full, runs
no service method and is not counted as a worker. A stopped process (SIGSTOP) answers nothing: a probe that times
out is "unhealthy" by definition.

The bookkeeping (`WorkerTracker`) is fed by a DependencyProvider's `worker_setup`/`worker_result`. Its clock is
injected so the unit tests can move it.
"""
import json
import logging
import os
import time

import eventlet
import pymongo
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer as MessageConsumer, QueueConsumer
from nameko.rpc import Rpc
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, parse_address
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily
from werkzeug.wrappers import Response

from services.common.metrics import CONTENT_TYPE_LATEST, Metrics
from services.common.mongo import MongoStore

log = logging.getLogger(__name__)

DEFAULT_STUCK_SECONDS = 30.0
DEFAULT_STORE_TIMEOUT_SECONDS = 1.0
CHECKS = ("store", "broker", "consumers", "workers")


def setting(config, key, default):
    """A number from the container config (`HEALTH_STUCK_SECONDS`), else the environment (`LAPOR_<key>`)."""
    value = config.get(key)
    if value in (None, ""):
        value = os.environ.get(f"LAPOR_{key}", "")
    try:
        return float(value) if value != "" else default
    except (TypeError, ValueError):
        log.warning("%s=%r is not a number; using %s", key, value, default)
        return default


def is_consumer(entrypoint):
    """Entrypoints fed by a queue: events, RPC and plain message consumers (not HTTP, not timers)."""
    return isinstance(entrypoint, (MessageConsumer, Rpc))


class WorkerTracker:
    """Running workers, when each started, and when handlers last finished; stuck detection on top.

    `stuck` means: the pool is saturated (running >= max_workers) and no worker has finished since it became
    saturated, for `stuck_seconds`. Measured from the later of "saturated since" and "last finished", so a burst
    after a long quiet spell is not stuck at once, and a full pool that keeps finishing work is busy, not stuck.
    """

    def __init__(self, max_workers, stuck_seconds=DEFAULT_STUCK_SECONDS, consumers=(), clock=time.monotonic):
        self.max_workers = max_workers
        self.stuck_seconds = stuck_seconds
        self._clock = clock
        self._running = {}  # key -> (entrypoint name, started at, is a consumer)
        self._saturated_since = None
        self._last_finished_any = None
        started = clock()
        self._last_finished = {name: started for name in consumers}  # "never" counts from the start

    def started(self, key, entrypoint, consumer=False):
        now = self._clock()
        self._running[key] = (entrypoint, now, consumer)
        if consumer:
            self._last_finished.setdefault(entrypoint, now)
        if self._saturated_since is None and len(self._running) >= self.max_workers:
            self._saturated_since = now

    def finished(self, key):
        now = self._clock()
        entry = self._running.pop(key, None)
        self._last_finished_any = now
        if entry is not None and entry[2]:
            self._last_finished[entry[0]] = now
        if len(self._running) < self.max_workers:
            self._saturated_since = None

    def forget_except(self, alive):
        """Drop workers that are gone without a `finished` (another provider's worker_result raised first)."""
        for key in [key for key in self._running if key not in alive]:
            self.finished(key)

    @property
    def running(self):
        return len(self._running)

    def stalled_for(self):
        """Seconds the saturated pool has gone without a finished worker; 0 when it is not saturated."""
        if self._saturated_since is None or len(self._running) < self.max_workers:
            return 0.0
        since = self._saturated_since
        if self._last_finished_any is not None:
            since = max(since, self._last_finished_any)
        return max(0.0, self._clock() - since)

    def stuck(self):
        return self._saturated_since is not None and self.stalled_for() >= self.stuck_seconds

    def oldest_unacked(self):
        """{consumer entrypoint: age in seconds of its oldest message being handled (0 when none)}."""
        now = self._clock()
        ages = {name: 0.0 for name in self._last_finished}
        for name, started, consumer in self._running.values():
            if consumer:
                ages[name] = max(ages.get(name, 0.0), now - started)
        return ages

    def in_flight(self):
        counts = {name: 0 for name in self._last_finished}
        for name, _, consumer in self._running.values():
            if consumer:
                counts[name] = counts.get(name, 0) + 1
        return counts

    def since_last_finished(self):
        """{consumer entrypoint: seconds since one of its handlers last finished (or since the start)}."""
        now = self._clock()
        return {name: max(0.0, now - at) for name, at in self._last_finished.items()}


def check(ok, detail):
    return {"ok": bool(ok), "detail": detail}


def store_check(stores, timeout):
    """Ping every MongoStore of the container within `timeout` seconds each."""
    if not stores:
        return check(True, "no store")
    for store in stores:
        client = store.client
        if client is None:
            return check(False, f"{store.base_name}: no client")
        try:
            with eventlet.Timeout(timeout + 0.5), pymongo.timeout(timeout):
                client.admin.command("ping")
        except eventlet.Timeout:
            return check(False, f"{store.base_name}: no answer within {timeout:g}s")
        except Exception as exc:  # noqa: BLE001 - any failure is "the store does not answer"
            return check(False, f"{store.base_name}: {type(exc).__name__}: {exc}"[:300])
    return check(True, "ping answered")


def _channel_up(consumer):
    channel = getattr(consumer, "channel", None)
    connection = getattr(channel, "connection", None)
    return bool(channel is not None and getattr(channel, "is_open", False) and connection is not None
                and getattr(connection, "connected", False))


def _provider_label(provider):
    queue = getattr(provider, "queue", None)
    return getattr(queue, "name", None) or type(provider).__name__


def broker_check(queue_consumers):
    """The AMQP connection of each QueueConsumer is up: its consume thread runs and its channels are open.

    No new connection per probe: this reads the state of the connection the container already holds."""
    if not queue_consumers:
        return check(True, "no queue consumer")
    for queue_consumer in queue_consumers:
        thread = getattr(queue_consumer, "_gt", None)
        if thread is None or thread.dead:
            return check(False, "the consumer thread is not running")
        if not queue_consumer._consumers_ready.ready():
            return check(False, "not connected yet")
        consumers = list(queue_consumer._consumers.values())
        if not consumers or not all(_channel_up(consumer) for consumer in consumers):
            return check(False, "AMQP connection down (reconnecting)")
    return check(True, "connected")


def consumers_check(entrypoints, queue_consumers):
    """Every queue-fed entrypoint is registered with its QueueConsumer, which holds a live consumer for it: a
    consumer tag on an open channel (a consumer the broker cancelled has no tag among the channel's callbacks)."""
    missing = []
    for entrypoint in entrypoints:
        if isinstance(entrypoint, Rpc):
            collector = entrypoint.rpc_consumer
            if entrypoint not in collector._providers:
                missing.append(entrypoint.method_name)
        elif isinstance(entrypoint, MessageConsumer):
            collector = entrypoint
        else:
            continue
        if collector not in collector.queue_consumer._providers:
            missing.append(entrypoint.method_name)
    for queue_consumer in queue_consumers:
        for provider in queue_consumer._providers:
            consumer = queue_consumer._consumers.get(provider)
            if consumer is None:
                missing.append(_provider_label(provider))
                continue
            tags = list(getattr(consumer, "_active_tags", {}).values())
            callbacks = getattr(getattr(consumer, "channel", None), "callbacks", None) or {}
            if not tags or not all(tag in callbacks for tag in tags):
                missing.append(_provider_label(provider))
    if missing:
        return check(False, "not consuming: " + ", ".join(sorted(set(map(str, missing)))))
    return check(True, f"{sum(len(qc._providers) for qc in queue_consumers)} attached")


def workers_check(tracker):
    stalled = tracker.stalled_for()
    if tracker.stuck():
        return check(False, f"{tracker.running}/{tracker.max_workers} workers busy and none finished for "
                            f"{stalled:.0f}s (limit {tracker.stuck_seconds:g}s)")
    return check(True, f"{tracker.running}/{tracker.max_workers} workers busy")


class _ConsumerGauges:
    """A collector on the container's registry: the per-consumer gauges, computed at scrape time."""

    def __init__(self, monitor):
        self._monitor = monitor

    def collect(self):
        monitor = self._monitor
        tracker = monitor.refreshed_tracker()
        service = monitor.container.service_name
        oldest = GaugeMetricFamily("lapor_consumer_oldest_unacked_seconds",
                                   "Age of the oldest message a consumer is handling (0 when none)",
                                   labels=("service", "entrypoint"))
        idle = GaugeMetricFamily("lapor_consumer_seconds_since_last_finished",
                                 "Seconds since a handler of this consumer last finished (or since the start)",
                                 labels=("service", "entrypoint"))
        in_flight = GaugeMetricFamily("lapor_consumer_in_flight", "Messages a consumer is handling now",
                                      labels=("service", "entrypoint"))
        for name, age in sorted(tracker.oldest_unacked().items()):
            oldest.add_metric((service, name), age)
        for name, seconds in sorted(tracker.since_last_finished().items()):
            idle.add_metric((service, name), seconds)
        for name, count in sorted(tracker.in_flight().items()):
            in_flight.add_metric((service, name), count)
        running = GaugeMetricFamily("lapor_workers_running", "Workers running now", labels=("service",))
        running.add_metric((service,), tracker.running)
        limit = GaugeMetricFamily("lapor_workers_max", "Size of the worker pool (max_workers)", labels=("service",))
        limit.add_metric((service,), tracker.max_workers)
        yield from (oldest, idle, in_flight, running, limit)


class HealthMonitor(DependencyProvider):
    """Tracks the workers of its container and answers live/ready/metrics (see the module doc)."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.tracker = None

    def setup(self):
        config = self.container.config
        self.stuck_seconds = setting(config, "HEALTH_STUCK_SECONDS", DEFAULT_STUCK_SECONDS)
        self.store_timeout = setting(config, "HEALTH_STORE_TIMEOUT", DEFAULT_STORE_TIMEOUT_SECONDS)
        consumers = sorted(ep.method_name for ep in self.container.entrypoints if is_consumer(ep))
        self.tracker = WorkerTracker(self.container.max_workers, self.stuck_seconds, consumers, clock=self.clock)
        self._registered = False

    def start(self):
        metrics = self._metrics_provider()
        if metrics is not None and not self._registered:
            metrics.registry.register(_ConsumerGauges(self))
            self._registered = True

    def worker_setup(self, worker_ctx):
        entrypoint = worker_ctx.entrypoint
        self.tracker.started(worker_ctx, entrypoint.method_name, is_consumer(entrypoint))

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        self.tracker.finished(worker_ctx)

    def get_dependency(self, worker_ctx):
        return self

    # -- what the probes and the RPC read

    def refreshed_tracker(self):
        self.tracker.forget_except(self.container._worker_threads)
        return self.tracker

    def _metrics_provider(self):
        return next((d for d in self.container.dependencies if isinstance(d, Metrics)), None)

    def _queue_consumers(self):
        return [ext for ext in self.container.extensions if isinstance(ext, QueueConsumer)]

    def readiness(self):
        """{"status": "ok"|"unavailable", "service", "checks": {name: {"ok", "detail"}}, "failed": [names]}."""
        tracker = self.refreshed_tracker()
        queue_consumers = self._queue_consumers()
        stores = [d for d in self.container.dependencies if isinstance(d, MongoStore)]
        checks = {
            "store": store_check(stores, self.store_timeout),
            "broker": broker_check(queue_consumers),
            "consumers": consumers_check(self.container.entrypoints, queue_consumers),
            "workers": workers_check(tracker),
        }
        failed = [name for name in CHECKS if not checks[name]["ok"]]
        return {"status": "unavailable" if failed else "ok", "service": self.container.service_name,
                "checks": checks, "failed": failed}

    # -- the HTTP answers (PoolFreeHttp)

    def answer_live(self, request):
        return _json({"status": "ok", "service": self.container.service_name}, 200)

    def answer_ready(self, request):
        report = self.readiness()
        return _json(report, 200 if report["status"] == "ok" else 503)

    def answer_metrics(self, request):
        metrics = self._metrics_provider()
        body = generate_latest(metrics.registry) if metrics is not None else b""
        return Response(body, mimetype=CONTENT_TYPE_LATEST)


def _json(body, status):
    return Response(json.dumps(body), status=status, mimetype="application/json")


class PoolFreeHttp(HttpRequestHandler):
    """An HTTP entrypoint answered by the container's HealthMonitor in the connection's green thread: it never
    waits for a worker slot, so it answers while every worker is blocked. The decorated method is not run."""

    def __init__(self, method, url, answer, **kwargs):
        self.answer = answer
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        request.shallow = False
        try:
            monitor = next(d for d in self.container.dependencies if isinstance(d, HealthMonitor))
            return getattr(monitor, f"answer_{self.answer}")(request)
        except Exception as exc:  # noqa: BLE001 - a probe must get an answer, never a dropped connection
            log.exception("%s %s failed", self.method, self.url)
            return _json({"status": "error", "error": f"{type(exc).__name__}: {exc}"}, 500)


pool_free_http = PoolFreeHttp.decorator

METRICS_SERVER_CONFIG_KEY = "METRICS_SERVER_ADDRESS"


class MetricsWebServer(WebServer):
    """A second listener, at `METRICS_SERVER_ADDRESS`, for a service whose own port is public (the gateway's): its
    `/metrics` is served here only, where Prometheus reaches it and the internet does not."""

    @property
    def bind_addr(self):
        address = self.container.config.get(METRICS_SERVER_CONFIG_KEY)
        if not address:
            raise RuntimeError(f"{METRICS_SERVER_CONFIG_KEY} must be set (host:port of the private metrics listener)")
        return parse_address(address)


class PrivatePoolFreeHttp(PoolFreeHttp):
    """PoolFreeHttp on the MetricsWebServer instead of the service's own port."""

    server = MetricsWebServer()


private_pool_free_http = PrivatePoolFreeHttp.decorator
