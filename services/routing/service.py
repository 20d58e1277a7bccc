"""Routing: agencies and regions, triage of each new report, and disposition through tracking."""
import logging

from marshmallow import ValidationError
from nameko.events import event_handler
from nameko.rpc import rpc

from services.common.events import REPORT_UPDATED
from services.common.field_errors import flatten_field_errors
from services.common.ledger import once_per_event
from services.common.mongo import MongoStore, unavailable_on_store_error
from services.common.rpc import TimedRpc
from services.common.service_base import ObservedService
from services.routing import domain
from services.routing.exceptions import IllegalTransition, NotFound, ValidationFailed
from services.routing.schemas import DeclineSchema, DisposeSchema, RejectSchema, VerifySchema
from services.routing.storage import RoutingRepository

log = logging.getLogger(__name__)

AUTO_DISPOSE_NOTE = "Disposisi otomatis: instansi dipilih oleh pelapor."


def _load(schema, body):
    try:
        return schema.load(body or {})
    except ValidationError as exc:
        raise ValidationFailed("Isian tindakan tidak valid.", fields=flatten_field_errors(exc.messages))


def _field_error(field, indonesian, english):
    return ValidationFailed("Isian tindakan tidak valid.", fields={field: [{"id": indonesian, "en": english}]})


def _entry_actor(actor):
    """What a timeline entry records of the officer: never their scope."""
    return {key: actor.get(key) for key in ("role", "username", "name", "agency_code", "agency_name")}


class RoutingService(ObservedService):
    name = "routing"

    storage = MongoStore("lapor_routing", RoutingRepository)
    tracking = TimedRpc("tracking")

    @event_handler("tracking", REPORT_UPDATED, requeue_on_error=True)
    @once_per_event(REPORT_UPDATED)
    def on_report_updated(self, event):
        if event["kind"] == "opened":
            self._triage(event)

    @rpc
    @unavailable_on_store_error
    def agencies(self, q=None, parent_code=None, tree=False):
        agencies = self.storage.find_agencies(q=q, parent_code=parent_code)
        return domain.agency_tree(agencies) if tree else agencies

    @rpc
    @unavailable_on_store_error
    def agency(self, code):
        return self.storage.agency(code)

    @rpc
    @unavailable_on_store_error
    def scope_of(self, code):
        """An agency and every unit below it: what its admins may see and act on."""
        agency = self._known_agency(code)
        return dict(agency, scope=[code] + self.storage.units_under(code))

    @rpc
    @unavailable_on_store_error
    def regions(self, q=None, level=None, parent_code=None):
        return self.storage.find_regions(q=q, level=level, parent_code=parent_code)

    @rpc
    @unavailable_on_store_error
    def triage_of(self, tracking_id):
        return self.storage.triage_of(tracking_id)

    @rpc
    @unavailable_on_store_error
    def verify(self, tracking_id, actor, body):
        action = _load(VerifySchema(), body)
        return self._transition(tracking_id, actor, action, kind="verified", to_status="verified", note=action["note"])

    @rpc
    @unavailable_on_store_error
    def reject(self, tracking_id, actor, body):
        action = _load(RejectSchema(), body)
        return self._transition(tracking_id, actor, action, kind="rejected", to_status="rejected",
                                reason=action["reason"], note=action["note"])

    @rpc
    @unavailable_on_store_error
    def dispose(self, tracking_id, actor, body):
        action = _load(DisposeSchema(), body)
        agency = self._disposable_agency(actor, action["agency_code"])
        return self._transition(tracking_id, actor, action, kind="disposed", to_status="disposed",
                                agency_code=agency["code"], agency_name=agency["name"],
                                case_class=action["case_class"], note=action["note"])

    @rpc
    @unavailable_on_store_error
    def decline(self, tracking_id, actor, body):
        """Bukan wewenang: on to the suggested agency, or back to the national queue; never dropped."""
        action = _load(DeclineSchema(), body)
        report = self.tracking.report(tracking_id, viewer=actor)
        if report["agency"] is None:
            raise IllegalTransition("Laporan ini tidak sedang didisposisikan ke instansi mana pun.")
        suggested = self._suggested_agency(action["suggested_agency_code"])
        status, agency = domain.decline_destination(report["agency"]["code"], suggested, report["hops"])
        self.metrics.counter("lapor_declines", "Reports declined by an agency (bukan wewenang)", ("outcome",)).labels(
            "rerouted" if agency else "national_queue").inc()
        if action["version"] is None:
            action["version"] = report["version"]
        return self._transition(
            tracking_id, actor, action, kind="declined", to_status=status,
            agency_code=agency["code"] if agency else None, agency_name=agency["name"] if agency else None,
            reason=action["reason"], note=domain.decline_note(suggested, agency, report["hops"] + 1),
        )

    def _transition(self, tracking_id, actor, action, kind, to_status, **details):
        change = dict(kind=kind, to_status=to_status, expected_version=action["version"], actor=_entry_actor(actor),
                      **details)
        if actor.get("scope") is not None:
            change["expected_agency_scope"] = actor["scope"]
        return self.tracking.transition(tracking_id, change)

    def _known_agency(self, code):
        agency = self.storage.agency(code) if code else None
        if agency is None:
            raise NotFound("Instansi tidak ditemukan.")
        return agency

    def _disposable_agency(self, actor, code):
        agency = self.storage.agency(code)
        if agency is None:
            raise _field_error("agency_code", "Instansi tidak dikenal.", "Unknown agency.")
        scope = actor.get("scope") or []
        if not domain.may_dispose_to(actor, code, scope):
            raise _field_error("agency_code", "Instansi hanya dapat mendisposisikan ke unit di bawahnya.",
                               "An agency may only dispose to its own units.")
        return agency

    def _suggested_agency(self, code):
        if not code:
            return None
        agency = self.storage.agency(code)
        if agency is None:
            raise _field_error("suggested_agency_code", "Instansi yang disarankan tidak dikenal.",
                               "The suggested agency is unknown.")
        return agency

    def _triage(self, event):
        requested = self._requested_agency(event)
        result = domain.triage(event, requested)
        self.storage.save_triage(result)
        if result["auto_dispose"]:
            self._auto_dispose(event, requested)

    def _requested_agency(self, event):
        """The agency the reporter named, else the government of the region an SMS was addressed to."""
        requested_code = (event.get("content") or {}).get("agency_code")
        if requested_code:
            return self.storage.agency(requested_code)
        if event.get("region_hint"):
            return self.storage.local_government(event["region_hint"])
        return None

    def _auto_dispose(self, event, agency):
        change = {
            "kind": "disposed",
            "to_status": "disposed",
            "expected_status": "received",
            "expected_version": event["version"],
            "actor": {"role": "system"},
            "automatic": True,
            "agency_code": agency["code"],
            "agency_name": agency["name"],
            "note": AUTO_DISPOSE_NOTE,
        }
        try:
            self.tracking.transition(event["tracking_id"], change)
        except IllegalTransition as exc:
            # The report moved on (a redelivered event, or an admin was faster): nothing to do.
            log.info("auto-disposition of %s skipped: %s", event["tracking_id"], exc)
            return
        self.metrics.counter("lapor_auto_dispositions", "Reports disposed without a verifier").inc()
