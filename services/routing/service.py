"""Routing: agencies and regions, triage of each new report, and disposition through tracking."""
import logging

from nameko.events import event_handler
from nameko.rpc import rpc

from services.routing.exceptions import IllegalTransition
from services.common.events import REPORT_UPDATED
from services.common.ledger import once_per_event
from services.common.mongo import MongoStore, unavailable_on_store_error
from services.common.rpc import TimedRpc
from services.common.service_base import ObservedService
from services.routing import domain
from services.routing.storage import RoutingRepository

log = logging.getLogger(__name__)

AUTO_DISPOSE_NOTE = "Disposisi otomatis: instansi dipilih oleh pelapor."


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
    def regions(self, q=None, level=None, parent_code=None):
        return self.storage.find_regions(q=q, level=level, parent_code=parent_code)

    @rpc
    @unavailable_on_store_error
    def triage_of(self, tracking_id):
        return self.storage.triage_of(tracking_id)

    def _triage(self, event):
        requested_code = (event.get("content") or {}).get("agency_code")
        requested = self.storage.agency(requested_code) if requested_code else None
        result = domain.triage(event, requested)
        self.storage.save_triage(result)
        if result["auto_dispose"]:
            self._auto_dispose(event, requested)

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
