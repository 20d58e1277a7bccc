"""Gateway: the HTTP edge (DESIGN §4). Each route reads the request, calls the owning service, answers."""
import eventlet
from nameko.web.handlers import http

from services.common.errors import Forbidden, InvalidTrackingId, LaporError, NotFound, Unavailable, ValidationFailed
from services.common.mongo import MongoStore
from services.common.rpc import TimedRpc
from services.common.service_base import ObservedService
from services.common.tracking_ids import is_valid_tracking_id
from services.gateway import policy
from services.gateway.auth import Auth
from services.gateway.exceptions import Unauthorized
from services.gateway.http import api, json_response, list_envelope, read_json
from services.gateway.ratelimit import RateLimits
from services.gateway.storage import GatewayRepository

HEALTH_TIMEOUT_SECONDS = 3
BACKEND_SERVICES = ("intake", "routing", "tracking", "notifications", "sla")
SUBMISSION_CHANNELS = ("web", "mobile")
ACCESS_CODE_REQUESTED = ("Jika laporan ini punya kontak pelapor, kode akses baru dikirim ke kontak tersebut. "
                         "Kode lama tetap berlaku sampai kode baru dipakai.")


def _checked_tracking_id(tracking_id):
    if not is_valid_tracking_id(tracking_id):
        raise InvalidTrackingId("Nomor pelacakan tidak valid (periksa kembali angkanya).")
    return tracking_id


def _signed_in(principal):
    if principal is None:
        raise Unauthorized("Anda perlu masuk terlebih dahulu (Authorization: Bearer).")
    return principal


def _page_args(request):
    envelope = list_envelope([], request)
    return envelope["page"], envelope["per_page"]


def _triage_view(triage):
    """DESIGN §4's `triage` for national admins: the suggestion and hints, not routing's bookkeeping."""
    if not triage:
        return None
    return {key: triage.get(key) for key in ("region_code", "suggested_agency", "confidence", "out_of_scope",
                                             "duplicate_of")}


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
    auth = Auth()
    rate_limits = RateLimits()

    @http("POST", "/api/v1/auth/token")
    @api
    def issue_token(self, request):
        token = self.auth.login(read_json(request), request.remote_addr, self.routing.scope_of)
        return json_response(token)

    @http("POST", "/api/v1/reports")
    @api
    def submit_report(self, request):
        self.rate_limits.check("ip", request.remote_addr)
        channel = request.headers.get("X-Lapor-Channel", "web")
        channel = channel if channel in SUBMISSION_CHANNELS else "web"
        idempotency_key = _checked_idempotency_key(request.headers.get("Idempotency-Key"))
        receipt = self.intake.submit(read_json(request), channel=channel, idempotency_key=idempotency_key)
        return json_response(receipt, status=201, headers={"Location": f"/api/v1/reports/{receipt['tracking_id']}"})

    @http("POST", "/api/v1/channels/sms")
    @api
    def receive_sms(self, request):
        """SMS 1708 as the operator's gateway forwards it; `reply` is the SMS to send back."""
        return json_response(self.intake.submit_sms(read_json(request)))

    @http("GET", "/api/v1/reports")
    @api
    def list_reports(self, request):
        return json_response(self.tracking.feed(request.args.to_dict()))

    @http("GET", "/api/v1/reports/<tracking_id>")
    @api
    def get_report(self, request, tracking_id):
        tracking_id = _checked_tracking_id(tracking_id)
        principal = self.auth.principal(request)
        if principal is not None and principal["role"] in policy.OFFICER_ROLES:
            return json_response(self._officer_view(tracking_id, principal))
        access_code = request.headers.get("X-Access-Code") or None
        return json_response(self.tracking.report(tracking_id, access_code=access_code))

    @http("GET", "/api/v1/reports/<tracking_id>/timeline")
    @api
    def get_timeline(self, request, tracking_id):
        tracking_id = _checked_tracking_id(tracking_id)
        principal = self.auth.principal(request)
        if principal is not None and principal["role"] in policy.OFFICER_ROLES:
            entries = self.tracking.timeline(tracking_id, viewer=principal)
        else:
            entries = self.tracking.timeline(tracking_id, access_code=request.headers.get("X-Access-Code") or None)
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

    @http("POST", "/api/v1/reports/<tracking_id>/<segment>")
    @api
    def report_action(self, request, tracking_id, segment):
        """Every action on a report (DESIGN §4): an officer's with a token, a reporter's with the code."""
        tracking_id = _checked_tracking_id(tracking_id)
        if segment == "support":
            return json_response(self.tracking.support(tracking_id, request.remote_addr))
        if segment == "access-code":
            self.tracking.reissue_access_code(tracking_id)
            return json_response({"message": ACCESS_CODE_REQUESTED}, status=202)
        principal = self.auth.principal(request)
        reporter_action = segment in policy.REPORTER_ACTIONS and (
            principal is None or segment not in policy.OFFICER_ACTIONS)
        if reporter_action:
            body = read_json(request)
            access_code = request.headers.get("X-Access-Code") or None
            return json_response(
                self.tracking.reporter_act(tracking_id, access_code, policy.REPORTER_ACTIONS[segment], body))
        if segment not in policy.OFFICER_ACTIONS:
            raise NotFound("Tindakan tidak dikenal.")
        return json_response(self._officer_action(request, _signed_in(principal), tracking_id, segment))

    @http("GET", "/api/v1/inbox")
    @api
    def inbox(self, request):
        principal = self._reader(request, "officer_views")
        return json_response(self.tracking.inbox(principal, request.args.to_dict()))

    @http("GET", "/api/v1/stats")
    @api
    def stats(self, request):
        return json_response(self.tracking.stats())

    @http("GET", "/api/v1/notifications")
    @api
    def notifications_outbox(self, request):
        self._reader(request, "notifications")
        args = request.args
        page, per_page = _page_args(request)
        return json_response(self.notifications.messages(
            tracking_id=args.get("tracking_id"), status=args.get("status"), channel=args.get("channel"),
            page=page, per_page=per_page))

    @http("GET", "/api/v1/audit")
    @api
    def audit_log(self, request):
        self._reader(request, "audit")
        page, per_page = _page_args(request)
        return json_response(self.auth.audit_entries(
            username=request.args.get("username"), tracking_id=request.args.get("tracking_id"),
            page=page, per_page=per_page))

    def _reader(self, request, what):
        principal = _signed_in(self.auth.principal(request))
        if not policy.may_read(principal["role"], what):
            raise Forbidden("Peran Anda tidak berhak melihat ini.")
        return principal

    def _officer_action(self, request, principal, tracking_id, segment):
        """Check the role, carry the action to its owner, record it in the audit log whatever the outcome."""
        action = policy.OFFICER_ACTIONS[segment]
        outcome = "refused"
        try:
            if not policy.may_act(principal["role"], segment):
                raise Forbidden("Peran Anda tidak berhak melakukan tindakan ini.")
            body = read_json(request, empty_is_object=True)
            if action.owner == "routing":
                result = getattr(self.routing, action.name)(tracking_id, principal, body)
                result = self._officer_view_after(tracking_id, principal, result)
            else:
                result = self._with_triage(self.tracking.act(tracking_id, action.name, principal, body), principal)
            outcome = "ok"
            return result
        except LaporError as exc:
            outcome = exc.code
            raise
        finally:
            self.auth.record(principal, action.name, tracking_id, outcome, request.remote_addr)

    def _officer_view(self, tracking_id, principal):
        return self._with_triage(self.tracking.report(tracking_id, viewer=principal), principal)

    def _officer_view_after(self, tracking_id, principal, transitioned):
        """The report as the officer now sees it; after a decline it has left their scope, so their last view."""
        try:
            return self._officer_view(tracking_id, principal)
        except NotFound:
            return transitioned

    def _with_triage(self, view, principal):
        if principal["role"] == "national_admin":
            view["triage"] = _triage_view(self.routing.triage_of(view["tracking_id"]))
        return view


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
