"""What every LAPOR service serves beside its own work: `/metrics`, `/health/live`, `/health/ready`, `/health` and
an RPC `health`.

`/metrics`, `/health/live` and `/health/ready` are answered outside the worker pool (services.common.health), so
they answer, and say why, while every worker is blocked. `/health` and the RPC `health` (what the gateway's
aggregate `/health` asks) run as ordinary workers and give the same readiness report: a service whose pool is full
cannot take the RPC, and the gateway's timeout marks it down.
"""
import json

from services.common.entrypoints import rpc
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from services.common.health import HealthMonitor, pool_free_http
from services.common.metrics import Metrics


class ObservedService:
    """Base class: subclasses set `name` and a `storage` (MongoStore) dependency."""

    metrics = Metrics()
    health_monitor = HealthMonitor()

    @pool_free_http("GET", "/metrics", answer="metrics")
    def metrics_endpoint(self, request):
        """Answered by HealthMonitor.answer_metrics, outside the worker pool."""

    @pool_free_http("GET", "/health/live", answer="live")
    def health_live(self, request):
        """Answered by HealthMonitor.answer_live, outside the worker pool."""

    @pool_free_http("GET", "/health/ready", answer="ready")
    def health_ready(self, request):
        """Answered by HealthMonitor.answer_ready, outside the worker pool."""

    @http("GET", "/health")
    def health_endpoint(self, request):
        report = self.health()
        status = 200 if report["status"] == "ok" else 503
        return Response(json.dumps(report), status=status, mimetype="application/json")

    @rpc
    def health(self):
        """The readiness report; `status` is "ok" or "degraded", `store` "ok" or "down" (kept for callers)."""
        report = self.health_monitor.readiness()
        return dict(report, status="ok" if report["status"] == "ok" else "degraded",
                    store="ok" if report["checks"]["store"]["ok"] else "down")

    def record_outbox_backlog(self, unpublished):
        """The gauge the outbox-backlog alert watches (deploy/alerts.yml)."""
        self.metrics.gauge("lapor_outbox_unpublished", "Events written but not yet published", ("service",)).labels(
            self.name
        ).set(unpublished)
