"""What every LAPOR service serves beside its own work: `/metrics`, `/health` and an RPC `health`."""
import json

from services.common.entrypoints import rpc
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from services.common.metrics import CONTENT_TYPE_LATEST, Metrics


class ObservedService:
    """Base class: subclasses set `name` and a `storage` (MongoStore) dependency."""

    metrics = Metrics()

    @http("GET", "/metrics")
    def metrics_endpoint(self, request):
        return Response(self.metrics.exposition(), mimetype=CONTENT_TYPE_LATEST)

    @http("GET", "/health")
    def health_endpoint(self, request):
        report = self.health()
        status = 200 if report["status"] == "ok" else 503
        return Response(json.dumps(report), status=status, mimetype="application/json")

    @rpc
    def health(self):
        store_ok = self.storage.ping()
        return {"status": "ok" if store_ok else "degraded", "service": self.name, "store": "ok" if store_ok else "down"}

    def record_outbox_backlog(self, unpublished):
        """The gauge the outbox-backlog alert watches (deploy/alerts.yml)."""
        self.metrics.gauge("lapor_outbox_unpublished", "Events written but not yet published", ("service",)).labels(
            self.name
        ).set(unpublished)
