"""Gateway: the HTTP edge (DESIGN §4). Each route reads the request, calls the owning service, answers."""
import logging
from datetime import timedelta

import eventlet
from nameko.timer import timer
from werkzeug.wrappers import Response

from services.common.errors import Forbidden, InvalidTrackingId, LaporError, NotFound, ValidationFailed
from services.common.events import now
from services.common.health import private_pool_free_http
from services.common.mongo import MongoStore
from services.common.rpc import TimedRpc
from services.common.service_base import ObservedService
from services.common.tracking_ids import is_valid_tracking_id
from services.gateway import limits, openapi, policy, proof_of_work
from services.gateway.attachments import AttachmentRoutes
from services.gateway.auth import Auth, bearer_token
from services.gateway.code_requests import request_new_code, requested_notice
from services.gateway.dead_event_routes import DeadEventRoutes
from services.gateway.exceptions import Unauthorized
from services.gateway.http import api, json_response, language, list_envelope, parse_json, read_body, read_json
from services.gateway.open311_routes import Open311Routes
from services.gateway.proxy import http
from services.gateway.ratelimit import RateLimits
from services.gateway.storage import GatewayRepository
from services.gateway.sms_webhook import SIGNATURE_HEADER as SMS_SIGNATURE_HEADER, TIMESTAMP_HEADER, SmsWebhook
from services.gateway.twitter import SIGNATURE_HEADER, TwitterWebhook
from services.gateway.web import WebPages

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 3
COUNTER_PURGE_INTERVAL_SECONDS = 3600
COUNTER_RETENTION = timedelta(days=1)
BACKEND_SERVICES = ("intake", "routing", "tracking", "notifications", "sla")
SUBMISSION_CHANNELS = ("web", "mobile")
CALENDAR_DAY_KINDS = ("holiday", "working_day")


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


def _calendar_day(body):
    """(day, kind, note) of a calendar change; `day` and `note` are sla's to check."""
    body = body if isinstance(body, dict) else {}
    problems = {field: [{"id": "Kolom ini tidak dikenal.", "en": "Unknown field."}]
                for field in set(body) - {"day", "kind", "note"}}
    if body.get("kind") not in CALENDAR_DAY_KINDS:
        problems["kind"] = [{"id": "Harus salah satu dari: holiday, working_day.",
                             "en": "Must be one of: holiday, working_day."}]
    if problems:
        raise ValidationFailed("Isian tidak valid.", fields=problems)
    return body.get("day"), body["kind"], body.get("note")


class GatewayService(WebPages, Open311Routes, AttachmentRoutes, DeadEventRoutes, ObservedService):
    name = "gateway"

    storage = MongoStore("lapor_gateway", GatewayRepository)
    intake = TimedRpc("intake")
    routing = TimedRpc("routing")
    tracking = TimedRpc("tracking")
    notifications = TimedRpc("notifications")
    sla = TimedRpc("sla")
    auth = Auth()
    rate_limits = RateLimits()
    twitter = TwitterWebhook()

    @private_pool_free_http("GET", "/metrics", answer="metrics")
    def metrics_endpoint(self, request):
        """Served on the private METRICS_SERVER_ADDRESS (LAPOR_GATEWAY_METRICS_PORT) only: the gateway's own port is
        public, and its metrics (routes, outcomes, latencies, rate-limit refusals) are for the operators."""
    sms_webhook = SmsWebhook()

    @timer(interval=COUNTER_PURGE_INTERVAL_SECONDS)
    def purge_counters(self):
        """Forget rate-limit and login-failure counters a day after their window opened."""
        removed = self.storage.purge_counters(now() - COUNTER_RETENTION)
        if removed:
            log.info("purged %s expired rate-limit and login counters", removed)

    @http("POST", "/api/v1/auth/token")
    @api
    def issue_token(self, request):
        token = self.auth.login(read_json(request), request.remote_addr, self.routing.scope_of)
        return json_response(token)

    @http("POST", "/api/v1/auth/logout")
    @api
    def logout(self, request):
        """Sign out: this bearer token is refused from now on (issue 13: it used to work until it expired)."""
        self.auth.logout(_signed_in(bearer_token(request)), request.remote_addr)
        return Response(status=204)

    @http("POST", "/api/v1/reports")
    @api
    def submit_report(self, request):
        system = self._government_system(request)
        if system is None:
            self.rate_limits.check(limits.IP, request.remote_addr, proof=request.headers.get(proof_of_work.HEADER))
            channel, client = request.headers.get("X-Lapor-Channel", "web"), "public"
            channel = channel if channel in SUBMISSION_CHANNELS else "web"
        else:
            channel, client = "api", system["username"]
        idempotency_key = _checked_idempotency_key(request.headers.get("Idempotency-Key"))
        if request.mimetype == "multipart/form-data":  # the report with its files in one request
            return self._submit_with_attachments(request, channel, client, idempotency_key)
        receipt = self.intake.submit(read_json(request), channel=channel, idempotency_key=idempotency_key,
                                     client=client)
        return json_response(receipt, status=201, headers={"Location": f"/api/v1/reports/{receipt['tracking_id']}"})

    @http("POST", "/api/v1/channels/sms")
    @api
    def receive_sms(self, request):
        """SMS 1708 as the operator's gateway forwards it, signed with LAPOR_SMS_WEBHOOK_SECRET; `reply` is the SMS
        to send back. Nothing of an unsigned request is read, nor counted against the number it names."""
        raw = read_body(request)
        self.sms_webhook.verify(raw, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SMS_SIGNATURE_HEADER))
        message = parse_json(raw)
        if isinstance(message, dict) and isinstance(message.get("from"), str):
            self.rate_limits.check("phone", message["from"])
        return json_response(self.intake.submit_sms(message))

    @http("GET", "/api/v1/channels/twitter")
    @api
    def twitter_crc(self, request):
        """Twitter's challenge-response check: the webhook proves it holds the consumer secret. The answer is the
        HMAC deliveries are signed with, so only X's short tokens are answered, and only so often per address."""
        self.rate_limits.check(limits.TWITTER_CRC, request.remote_addr)
        return json_response(self.twitter.crc(request.args.get("crc_token")))

    @http("POST", "/api/v1/channels/twitter")
    @api
    def receive_tweets(self, request):
        """Mentions of the LAPOR account (Account Activity API, signed); each `reply` is public, so the access
        code goes to the author by direct message (503 while notifications cannot take it: Twitter redelivers)."""
        signature = request.headers.get(SIGNATURE_HEADER)
        return json_response(self.twitter.receive(read_body(request), signature, self.intake.submit_tweet,
                                                  self.notifications.send_receipt_code))

    @http("GET", "/api/v1/reports")
    @api
    def list_reports(self, request):
        self.rate_limits.check(limits.READ, request.remote_addr)
        return json_response(self.tracking.feed(request.args.to_dict()))

    @http("GET", "/api/v1/reports/<tracking_id>")
    @api
    def get_report(self, request, tracking_id):
        view, audience = self._seen_report(request, _checked_tracking_id(tracking_id))
        return json_response(self._with_attachments(view, audience))

    @http("GET", "/api/v1/reports/<tracking_id>/timeline")
    @api
    def get_timeline(self, request, tracking_id):
        tracking_id = _checked_tracking_id(tracking_id)
        principal = self.auth.principal(request)
        if principal is not None and principal["role"] in policy.OFFICER_ROLES:
            entries = self.tracking.timeline(tracking_id, viewer=principal)
        else:
            entries = self.tracking.timeline(tracking_id, access_code=request.headers.get("X-Access-Code") or None,
                                             client=request.remote_addr)
        return json_response(list_envelope(entries, request, default_per_page=100))

    @http("GET", "/api/v1/agencies")
    @api
    def list_agencies(self, request):
        tree = request.args.get("tree") in ("1", "true")
        agencies = self.routing.agencies(q=request.args.get("q"), parent_code=request.args.get("parent"), tree=tree)
        return json_response(list_envelope(agencies, request))

    @http("POST", "/api/v1/agencies/<code>/units")
    @api
    def add_unit(self, request, code):
        """A unit (dinas, kantor) under an agency; an agency admin's token knows it after the next sign-in."""
        body = read_json(request)
        name = body.get("name") if isinstance(body, dict) else None
        unit = self._admin_task(request, "add_unit", {"agency_code": code, "name": name},
                                lambda principal: self.routing.add_unit(code, body, principal))
        return json_response(unit, status=201, headers={"Location": f"/api/v1/agencies?parent={code}"})

    @http("GET", "/api/v1/routing-rules")
    @api
    def routing_rules(self, request):
        self._reader(request, "routing_rules")
        return json_response(self.routing.routing_rules())

    @http("PUT", "/api/v1/routing-rules")
    @api
    def save_routing_rules(self, request):
        """A new version of the routing rules (category → target), national admins only."""
        body = read_json(request)
        return json_response(self._admin_task(request, "save_routing_rules", {}, lambda principal: (
            self.routing.save_routing_rules(body, principal))))

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
            request_new_code(self.tracking, self.rate_limits, tracking_id, request.remote_addr)
            return json_response(requested_notice(language(request)), status=202)
        principal = self.auth.principal(request)
        reporter_action = segment in policy.REPORTER_ACTIONS and (
            principal is None or segment not in policy.OFFICER_ACTIONS)
        if reporter_action:
            body = read_json(request)
            access_code = request.headers.get("X-Access-Code") or None
            return json_response(self.tracking.reporter_act(tracking_id, access_code, policy.REPORTER_ACTIONS[segment],
                                                            body, client=request.remote_addr))
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

    @http("GET", "/api/v1/stats/sla")
    @api
    def sla_stats(self, request):
        """Public SLA compliance figures per agency and period (counts only: nothing of a report's content)."""
        self.rate_limits.check(limits.READ, request.remote_addr)
        return json_response(self.sla.figures(request.args.to_dict()))

    @http("GET", "/api/v1/calendar")
    @api
    def working_calendar(self, request):
        self._reader(request, "calendar")
        return json_response(self.sla.calendar(request.args.get("year")))

    @http("POST", "/api/v1/calendar/days")
    @api
    def add_calendar_day(self, request):
        """A national admin's decree: {day, kind: holiday | working_day, note}; clocks not yet due follow it."""
        day, kind, note = _calendar_day(read_json(request))
        add = self.sla.add_holiday if kind == "holiday" else self.sla.add_working_day
        return json_response(self._admin_task(request, "change_calendar", {"day": day, "kind": kind},
                                              lambda principal: add(day, note, principal)))

    @http("DELETE", "/api/v1/calendar/days/<day>")
    @api
    def remove_calendar_day(self, request, day):
        return json_response(self._admin_task(request, "change_calendar", {"day": day, "kind": None},
                                              lambda principal: self.sla.remove_override(day, principal)))

    @http("GET", "/api/v1/notifications")
    @api
    def notifications_outbox(self, request):
        self._reader(request, "notifications")
        args = request.args
        page, per_page = _page_args(request)
        return json_response(self.notifications.messages(
            tracking_id=args.get("tracking_id"), status=args.get("status"), channel=args.get("channel"),
            page=page, per_page=per_page))

    @http("POST", "/api/v1/notifications/<message_id>/resend")
    @api
    def resend_notification(self, request, message_id):
        return json_response(self._admin_task(request, "resend_notification", {"message_id": message_id},
                                              lambda principal: self.notifications.resend(message_id, principal)))

    @http("GET", "/api/v1/notification-templates")
    @api
    def notification_templates(self, request):
        self._reader(request, "notification_templates")
        return json_response(list_envelope(self.notifications.templates(), request, default_per_page=100))

    @http("PUT", "/api/v1/notification-templates/<name>/<language>")
    @api
    def update_notification_template(self, request, name, language):
        body = read_json(request)
        text = body.get("text") if isinstance(body, dict) else None
        return json_response(self._admin_task(
            request, "update_notification_template", {"template": name, "language": language},
            lambda principal: self.notifications.update_template(name, language, text, principal)))

    @http("DELETE", "/api/v1/notification-templates/<name>/<language>")
    @api
    def reset_notification_template(self, request, name, language):
        return json_response(self._admin_task(
            request, "reset_notification_template", {"template": name, "language": language},
            lambda principal: self.notifications.reset_template(name, language, principal)))

    @http("GET", "/api/v1/openapi.json")
    @api
    def openapi_document(self, request):
        """Every /api/v1 and /open311/v2 route described (OpenAPI 3.1), built once per process."""
        return openapi.answer()

    @http("GET", "/api/v1/audit")
    @api
    def audit_log(self, request):
        self._reader(request, "audit")
        page, per_page = _page_args(request)
        return json_response(self.auth.audit_entries(
            username=request.args.get("username"), tracking_id=request.args.get("tracking_id"),
            page=page, per_page=per_page))

    def _government_system(self, request):
        """The API client behind `X-API-Key` (counted against its own limit), or None without the header."""
        key = request.headers.get("X-API-Key")
        if key is None:
            return None
        system = self.auth.api_client(key)
        self.rate_limits.check("api_key", key)
        return system

    def _reader(self, request, what):
        principal = _signed_in(self.auth.principal(request))
        if not policy.may_read(principal["role"], what):
            raise Forbidden("Peran Anda tidak berhak melihat ini.")
        return principal

    def _admin_task(self, request, task, details, call, principal=None):
        """A national admin's task outside a report's lifecycle: role checked, audited whatever the outcome.

        `principal`: already known (the web console's session); otherwise from the request's bearer token."""
        principal = _signed_in(principal or self.auth.principal(request))
        outcome = "refused"
        try:
            if not policy.may_do(principal["role"], task):
                raise Forbidden("Peran Anda tidak berhak melakukan tindakan ini.")
            result = call(principal)
            outcome = "ok"
            return result
        except LaporError as exc:
            outcome = exc.code
            raise
        finally:
            self.auth.record(principal, task, None, outcome, request.remote_addr, details)

    def _officer_action(self, request, principal, tracking_id, segment, body=None):
        """Check the role, carry the action to its owner, record it in the audit log whatever the outcome.

        `body`: already read (the web console's form); otherwise the request's JSON."""
        action = policy.OFFICER_ACTIONS[segment]
        outcome = "refused"
        try:
            if not policy.may_act(principal["role"], segment):
                raise Forbidden("Peran Anda tidak berhak melakukan tindakan ini.")
            body = read_json(request, empty_is_object=True) if body is None else body
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
        """For people: each backend asked over RPC (HEALTH_TIMEOUT_SECONDS each, in parallel) plus the gateway's
        own readiness. A service that does not answer in time (stopped, saturated, cut off) is "down". Probes use
        each service's own /health/ready instead (services.common.health)."""
        answers = self._backend_health()
        own = self.health()
        answers["gateway"] = ("ok", None) if own["status"] == "ok" else (
            "down", {"failed": own["failed"], "checks": own["checks"]})
        services = {name: state for name, (state, _) in answers.items()}
        details = {name: detail for name, (_, detail) in answers.items() if detail is not None}
        healthy = all(state == "ok" for state in services.values())
        body = {"status": "ok" if healthy else "degraded", "services": services}
        if details:
            body["details"] = details
        return json_response(body, status=200 if healthy else 503)

    def _backend_health(self):
        """{service: (state, detail)}: "ok" with None, or "down" with what failed (or why there was no answer)."""
        def ask(service_name):
            try:
                with eventlet.Timeout(HEALTH_TIMEOUT_SECONDS):
                    answer = getattr(self, service_name).health()
            except eventlet.Timeout:
                return service_name, ("down", f"no answer within {HEALTH_TIMEOUT_SECONDS}s")
            except Exception as exc:  # noqa: BLE001 - any failure means down
                return service_name, ("down", f"{type(exc).__name__}: {exc}"[:200])
            if answer.get("status") == "ok":
                return service_name, ("ok", None)
            return service_name, ("down", {"failed": answer.get("failed"), "checks": answer.get("checks")})

        pool = eventlet.GreenPool(len(BACKEND_SERVICES))
        return dict(pool.imap(ask, BACKEND_SERVICES))
