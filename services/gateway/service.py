"""Gateway: the HTTP edge (DESIGN §4). Each route reads the request, calls the owning service, answers."""
import eventlet
from nameko.web.handlers import http

from services.common.errors import InvalidTrackingId, Unavailable, ValidationFailed
from services.common.mongo import MongoStore
from services.common.rpc import TimedRpc
from services.common.service_base import ObservedService
from services.common.tracking_ids import is_valid_tracking_id
from services.gateway.http import api, json_response, list_envelope, read_json
from services.gateway.storage import GatewayRepository

HEALTH_TIMEOUT_SECONDS = 3
BACKEND_SERVICES = ("intake", "routing", "tracking", "notifications", "sla")
SUBMISSION_CHANNELS = ("web", "mobile")


def _checked_tracking_id(tracking_id):
    if not is_valid_tracking_id(tracking_id):
        raise InvalidTrackingId("Nomor pelacakan tidak valid (periksa kembali angkanya).")
    return tracking_id


def _checked_idempotency_key(key):
    """Keys are shared by every public client, so they must be unique values such as UUIDs."""
    if key is None:
        return None
    if not 16 <= len(key) <= 128 or not key.isascii() or not key.isprintable():
        raise ValidationFailed("Idempotency-Key tidak valid.", fields={"Idempotency-Key": [{
            "id": "Gunakan nilai unik 16–128 karakter ASCII, mis. sebuah UUID.",
            "en": "Use a unique value of 16–128 ASCII characters, such as a UUID."}]})
    return key


class GatewayService(ObservedService):
    name = "gateway"

    storage = MongoStore("lapor_gateway", GatewayRepository)
    intake = TimedRpc("intake")
    routing = TimedRpc("routing")
    tracking = TimedRpc("tracking")
    notifications = TimedRpc("notifications")
    sla = TimedRpc("sla")

    @http("POST", "/api/v1/reports")
    @api
    def submit_report(self, request):
        channel = request.headers.get("X-Lapor-Channel", "web")
        channel = channel if channel in SUBMISSION_CHANNELS else "web"
        idempotency_key = _checked_idempotency_key(request.headers.get("Idempotency-Key"))
        receipt = self.intake.submit(read_json(request), channel=channel, idempotency_key=idempotency_key)
        return json_response(receipt, status=201, headers={"Location": f"/api/v1/reports/{receipt['tracking_id']}"})

    @http("GET", "/api/v1/reports")
    @api
    def list_reports(self, request):
        return json_response(self.tracking.feed(request.args.to_dict()))

    @http("GET", "/api/v1/reports/<tracking_id>")
    @api
    def get_report(self, request, tracking_id):
        access_code = request.headers.get("X-Access-Code") or None
        return json_response(self.tracking.report(_checked_tracking_id(tracking_id), access_code=access_code))

    @http("GET", "/api/v1/reports/<tracking_id>/timeline")
    @api
    def get_timeline(self, request, tracking_id):
        access_code = request.headers.get("X-Access-Code") or None
        entries = self.tracking.timeline(_checked_tracking_id(tracking_id), access_code=access_code)
        return json_response(list_envelope(entries, request, default_per_page=100))

    @http("GET", "/api/v1/agencies")
    @api
    def list_agencies(self, request):
        tree = request.args.get("tree") in ("1", "true")
        agencies = self.routing.agencies(q=request.args.get("q"), parent_code=request.args.get("parent"), tree=tree)
        return json_response(list_envelope(agencies, request))

    @http("GET", "/api/v1/regions")
    @api
    def list_regions(self, request):
        level = request.args.get("level")
        level = int(level) if level in ("1", "2") else None
        regions = self.routing.regions(q=request.args.get("q"), level=level, parent_code=request.args.get("parent"))
        return json_response(list_envelope(regions, request))

    @http("GET", "/health")
    def health_endpoint(self, request):
        services = self._backend_health()
        services["gateway"] = "ok" if self.storage.ping() else "down"
        healthy = all(state == "ok" for state in services.values())
        return json_response(
            {"status": "ok" if healthy else "degraded", "services": services}, status=200 if healthy else 503
        )

    def _backend_health(self):
        def ask(service_name):
            try:
                with eventlet.Timeout(HEALTH_TIMEOUT_SECONDS):
                    answer = getattr(self, service_name).health()
                return service_name, "ok" if answer.get("status") == "ok" else "down"
            except (Unavailable, eventlet.Timeout, Exception):  # noqa: BLE001 - any failure means down
                return service_name, "down"

        pool = eventlet.GreenPool(len(BACKEND_SERVICES))
        return dict(pool.imap(ask, BACKEND_SERVICES))
