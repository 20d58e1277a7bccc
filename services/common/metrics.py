"""Prometheus metrics per container: entrypoint call counts and latency, plus a service's own counters.

Each container gets its own CollectorRegistry, so several containers in one test process never
collide on metric names (the global-registry pitfall of DESIGN §7).
"""
import functools
import time
import weakref

from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc

from services.common.errors import LaporError, Unavailable
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST  # noqa: F401  (re-exported for the HTTP entrypoints)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def _outcome(exc_info):
    """'ok', 'refused' (the caller's mistake: bad input, not found, not allowed) or 'error'."""
    if exc_info is None:
        return "ok"
    exc_type = exc_info[0]
    if issubclass(exc_type, LaporError) and not issubclass(exc_type, Unavailable):
        return "refused"
    return "error"


class MetricsApi:
    """What a worker sees: named domain metrics, created once per registry."""

    def __init__(self, provider):
        self._provider = provider

    def counter(self, name, documentation, labelnames=()):
        return self._provider.metric(Counter, name, documentation, labelnames)

    def gauge(self, name, documentation, labelnames=()):
        return self._provider.metric(Gauge, name, documentation, labelnames)

    def histogram(self, name, documentation, labelnames=(), buckets=LATENCY_BUCKETS):
        return self._provider.metric(functools.partial(Histogram, buckets=buckets), name, documentation, labelnames)

    def exposition(self):
        return generate_latest(self._provider.registry)


class Metrics(DependencyProvider):
    def setup(self):
        self.registry = CollectorRegistry()
        self.service_name = self.container.service_name
        self._metrics = {}
        self._started = weakref.WeakKeyDictionary()
        self.calls = self.metric(
            Counter, "lapor_entrypoint_calls", "Entrypoint calls by outcome", ("service", "entrypoint", "outcome")
        )
        self.latency = Histogram(
            "lapor_entrypoint_latency_seconds",
            "Entrypoint latency in seconds",
            ("service", "entrypoint"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

        # Issue 15, "RPCs per report": every RPC request this service served (make bench sums them).
        self.rpcs_served = self.metric(Counter, "lapor_rpc_served", "RPC requests served", ("service", "method"))

    def metric(self, kind, name, documentation, labelnames):
        if name not in self._metrics:
            self._metrics[name] = kind(name, documentation, labelnames, registry=self.registry)
        return self._metrics[name]

    def worker_setup(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(worker_ctx, None)
        entrypoint = worker_ctx.entrypoint.method_name
        outcome = _outcome(exc_info)
        self.calls.labels(self.service_name, entrypoint, outcome).inc()
        if isinstance(worker_ctx.entrypoint, Rpc):
            self.rpcs_served.labels(self.service_name, entrypoint).inc()
        if started is not None:
            self.latency.labels(self.service_name, entrypoint).observe(time.perf_counter() - started)

    def get_dependency(self, worker_ctx):
        return MetricsApi(self)
