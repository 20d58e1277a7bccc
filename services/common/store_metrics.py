"""How many commands a service sends the store (issue 15, "cost per report"), by pymongo command monitoring.

Each MongoStore's client carries a `StoreOperations` listener; the container's `/metrics` shows the counts as
`lapor_store_operations_total{service, kind, entrypoint, command}` (a collector read at scrape time, registered
once the Metrics provider exists): `kind` is what ran the worker that sent it (rpc, event, http, timer, other),
or `none` outside any worker (start-up, background threads). `make bench` sums them over every service before and
after a run: store operations per report. The driver's own housekeeping (handshakes, authentication, session
ends) and the health checks' pings are not operations of the work, and are not counted.
"""
import collections
import threading

from nameko.events import EventHandler
from nameko.rpc import Rpc
from nameko.timer import Timer
from nameko.web.handlers import HttpRequestHandler

from prometheus_client.core import CounterMetricFamily
from pymongo import monitoring

NOT_COUNTED = frozenset({"hello", "ismaster", "isMaster", "ping", "endSessions", "saslStart", "saslContinue",
                         "authenticate", "buildInfo", "getnonce"})


OUTSIDE_WORKERS = ("none", "-")
_KINDS = ((Rpc, "rpc"), (EventHandler, "event"), (HttpRequestHandler, "http"), (Timer, "timer"))


def kind_of(entrypoint):
    return next((name for cls, name in _KINDS if isinstance(entrypoint, cls)), "other")


class StoreOperations(monitoring.CommandListener):
    """Counts each command as it starts, under the worker that sent it. Under eventlet every green thread runs on
    one OS thread, so a plain Counter needs no lock, and `threading.local` (monkey-patched) is per green thread:
    each worker's own (no store call is ever made from a real thread: DESIGN §9, "threads")."""

    def __init__(self):
        self.counts = collections.Counter()  # (kind, entrypoint, command) -> n
        self._worker = threading.local()

    def enter(self, entrypoint):
        """The green thread now runs a worker of `entrypoint`."""
        self._worker.current = (kind_of(entrypoint), entrypoint.method_name)

    def leave(self):
        self._worker.current = OUTSIDE_WORKERS

    def started(self, event):
        if event.command_name not in NOT_COUNTED:
            kind, entrypoint = getattr(self._worker, "current", OUTSIDE_WORKERS)
            self.counts[(kind, entrypoint, event.command_name)] += 1

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


class StoreOperationsCollector:
    """The listener's counts as a Prometheus counter family, read at scrape time."""

    def __init__(self, service, listener):
        self.service = service
        self.listener = listener

    def collect(self):
        family = CounterMetricFamily("lapor_store_operations", "Store commands sent, by worker and command",
                                     labels=("service", "kind", "entrypoint", "command"))
        for (kind, entrypoint, command), count in sorted(self.listener.counts.items()):
            family.add_metric((self.service, kind, entrypoint, command), count)
        yield family
