"""Parked events at the HTTP edge, a mixin of GatewayService, for national admins (issue 12, item 8).

`GET /api/v1/admin/dead-events?service=&event_type=&handler=&status=` lists the `dead_events` of one service, or
of every consuming service in turn (by service name, each newest first). `POST /api/v1/admin/dead-events/{service}/
replay` with `{"id"}` or `{"event_type", "handler"?}` delivers them again through the owning service's handler
(services/common/dead_letters.py); every replay, refused or not, is in the audit log with what it came to.
"""
from services.common.errors import NotFound, ValidationFailed
from services.gateway.http import api, json_response, list_envelope, read_json
from services.gateway.proxy import http

# The services that consume events, so the ones that can park them (intake and the gateway consume none).
DEAD_LETTER_SERVICES = ("notifications", "routing", "sla", "tracking")
LIST_FILTERS = ("event_type", "handler", "status")
SELECTOR_FIELDS = ("id", "event_type", "handler")
MAX_AUDITED_TEXT = 300
MAX_AUDITED_REPORTS = 50
UNKNOWN_SERVICE = "Layanan tidak dikenal."


def _unknown_service():
    names = ", ".join(DEAD_LETTER_SERVICES)
    return ValidationFailed("Parameter tidak valid.", fields={"service": [
        {"id": f"Harus salah satu dari: {names}.", "en": f"Must be one of: {names}."}]})


class DeadEventRoutes:
    """Needs GatewayService's RPC proxies (one per service above), `_reader` and `_admin_task`."""

    @http("GET", "/api/v1/admin/dead-events")
    @api
    def list_dead_events(self, request):
        principal = self._reader(request, "dead_events")
        service = request.args.get("service") or None
        if service is not None and service not in DEAD_LETTER_SERVICES:
            raise _unknown_service()
        envelope = list_envelope([], request)
        page, per_page = envelope["page"], envelope["per_page"]
        query = {name: request.args[name] for name in LIST_FILTERS if request.args.get(name)}
        # One page over the services in turn: each says how many it has, and gives the part of the page it holds.
        start, items, total = (page - 1) * per_page, [], 0
        for name in ([service] if service else DEAD_LETTER_SERVICES):
            answer = getattr(self, name).dead_events(
                dict(query, skip=max(start - total, 0), limit=per_page - len(items)), principal)
            items.extend(answer["items"])
            total += answer["total"]
        return json_response({"items": items, "page": page, "per_page": per_page, "total": total})

    @http("POST", "/api/v1/admin/dead-events/<service>/replay")
    @api
    def replay_dead_events(self, request, service):
        selector = read_json(request)
        details = {"service": service[:MAX_AUDITED_TEXT]}
        if isinstance(selector, dict):
            details.update({name: str(selector[name])[:MAX_AUDITED_TEXT] for name in SELECTOR_FIELDS
                            if name in selector})

        def replay(principal):
            if service not in DEAD_LETTER_SERVICES:
                raise NotFound(UNKNOWN_SERVICE)
            result = getattr(self, service).replay_dead_events(selector, principal)
            details.update(counts=result["counts"], remaining=result["remaining"], tracking_ids=sorted(
                {item["tracking_id"] for item in result["items"] if item.get("tracking_id")})[:MAX_AUDITED_REPORTS])
            return result

        return json_response(self._admin_task(request, "replay_dead_events", details, replay))
