"""Tracking: the case file of every report and the only writer of its status (DESIGN §2)."""
import logging
import uuid
from datetime import timedelta

from marshmallow import ValidationError
from nameko.events import event_handler
from nameko.rpc import rpc
from nameko.timer import timer

from services.common.access_codes import access_code_matches
from services.common.field_errors import flatten_field_errors
from services.common.events import DEADLINE_SET, REPORT_SUBMITTED, REPORT_UPDATED, now
from services.common.ledger import once_per_event
from services.common.mongo import MongoStore, unavailable_on_store_error
from services.common.outbox import (
    RELAY_GRACE_SECONDS, RELAY_INTERVAL_SECONDS, RELAY_LEASE_SECONDS, OutboxDispatcher, relay_unpublished,
)
from services.common.rpc import TimedRpc
from services.common.secrets import Secrets
from services.common.service_base import ObservedService
from services.tracking import domain
from services.tracking.exceptions import Forbidden, IllegalTransition, NotFound, RateLimited, ValidationFailed
from services.tracking.schemas import FeedQuerySchema, TransitionSchema
from services.tracking.storage import TrackingRepository

log = logging.getLogger(__name__)

MAX_ID_BLOCK = 100_000
# An entry whose report never reached its version this long after it was written is an orphan.
ORPHAN_AGE_SECONDS = 60


class TrackingService(ObservedService):
    name = "tracking"

    storage = MongoStore("lapor_tracking", TrackingRepository)
    outbox = OutboxDispatcher()
    intake = TimedRpc("intake")
    secrets = Secrets()

    @event_handler("intake", REPORT_SUBMITTED, requeue_on_error=True)
    @once_per_event(REPORT_SUBMITTED)
    def on_report_submitted(self, event):
        report = domain.new_case(event)
        entry = domain.new_entry(report, "opened", "received", {"role": "system"}, event["submitted_at"])
        content = domain.case_content(report)
        self.storage.insert_entry(entry, domain.report_updated_event(report, entry, str(uuid.uuid4()), content))
        if self.storage.insert_report(report):
            self.metrics.counter("lapor_cases_opened", "Reports opened by tracking", ("channel",)).labels(
                report["channel"]
            ).inc()
        self._publish_after_reply(self.storage.get_entry(report["tracking_id"], 1))

    @event_handler("sla", DEADLINE_SET, requeue_on_error=True)
    @once_per_event(DEADLINE_SET)
    def on_deadline_set(self, event):
        report = self.storage.get_report(event["tracking_id"])
        if report is None:
            raise NotFound(f"report {event['tracking_id']} not opened yet")  # retried: the case opens first
        clock_version = event.get("version") or 0
        if clock_version >= report["due_version"]:
            self.storage.set_due(report, event["due_at"], clock_version)

    @rpc
    @unavailable_on_store_error
    def reserve_id_block(self, size=1000):
        if not isinstance(size, int) or not 1 <= size <= MAX_ID_BLOCK:
            raise ValidationFailed("block size out of range", fields={"size": [f"1..{MAX_ID_BLOCK}"]})
        return self.storage.reserve_id_block(size)

    @rpc
    @unavailable_on_store_error
    def transition(self, tracking_id, change):
        """The one way to change a report: compare-and-set on status and version, then `report_updated`."""
        try:
            change = TransitionSchema().load(change)
        except ValidationError as exc:
            raise ValidationFailed("transition request invalid", fields=flatten_field_errors(exc.messages))
        report = self._get(tracking_id)
        self._check_expectations(report, change)
        entry = self._claim_entry(report, change)
        updated = self._apply(report, entry, change)
        self._publish_after_reply(self.storage.get_entry(tracking_id, entry["version"]))
        return domain.report_view(updated, now())

    @rpc
    @unavailable_on_store_error
    def report(self, tracking_id, access_code=None):
        report = self._get(tracking_id)
        audience = self._audience(report, access_code)
        reporter = self._reporter_contact(report) if audience == "reporter" else None
        return domain.report_view(report, now(), reporter=reporter)

    @rpc
    @unavailable_on_store_error
    def timeline(self, tracking_id, access_code=None):
        report = self._get(tracking_id)
        audience = self._audience(report, access_code)
        return domain.timeline_view(self.storage.entries(tracking_id, report["version"]), audience)

    @rpc
    @unavailable_on_store_error
    def feed(self, query):
        """The public feed: non-confidential reports, newest first, in the list envelope."""
        try:
            filters = FeedQuerySchema().load(query)
        except ValidationError as exc:
            raise ValidationFailed("Parameter pencarian tidak valid.", fields=flatten_field_errors(exc.messages))
        page, per_page = filters.pop("page"), filters.pop("per_page")
        reports, total = self.storage.find_public(filters, page, per_page)
        current = now()
        return {"items": [domain.report_view(r, current) for r in reports], "page": page, "per_page": per_page,
                "total": total}

    @timer(interval=RELAY_INTERVAL_SECONDS)
    def relay(self):
        """Publish timeline entries whose `report_updated` did not go out when they were written."""
        relay_unpublished(
            claim=lambda: self.storage.claim_unpublished_entry(RELAY_GRACE_SECONDS, RELAY_LEASE_SECONDS),
            skip=self._not_yet_part_of_the_case,
            publish=lambda entry: self.outbox.publish_now(REPORT_UPDATED, entry["event"]),
            mark_published=lambda entry: self.storage.mark_entry_published(entry["tracking_id"], entry["version"]),
        )
        self.record_outbox_backlog(self.storage.count_unpublished())

    def _not_yet_part_of_the_case(self, entry):
        """An entry whose report has not reached its version: wait, or drop it once it is an old orphan."""
        report = self.storage.get_report(entry["tracking_id"])
        if report is not None and report["version"] >= entry["version"]:
            return False
        if entry["written_at"] < now() - timedelta(seconds=ORPHAN_AGE_SECONDS):
            # The write after this entry never happened: it is not part of the case.
            self.storage.delete_entry(entry["tracking_id"], entry["version"])
        return True

    def _get(self, tracking_id):
        report = self.storage.get_report(tracking_id)
        if report is None:
            raise NotFound("Laporan tidak ditemukan.")
        return report

    def _check_expectations(self, report, change):
        if change["expected_version"] is not None and change["expected_version"] != report["version"]:
            raise IllegalTransition(
                f"Laporan sudah berubah (versi {report['version']}, bukan {change['expected_version']})."
            )
        if change["expected_status"] is not None and change["expected_status"] != report["status"]:
            raise IllegalTransition(f"Status laporan kini {report['status']}, bukan {change['expected_status']}.")
        try:
            domain.check_transition(change["kind"], report["status"], change["to_status"])
        except domain.TransitionNotAllowed:
            raise IllegalTransition(
                f"Perubahan '{change['kind']}' dari status {report['status']} ke {change['to_status']} tidak diizinkan."
            )

    def _claim_entry(self, report, change):
        details = {key: change[key] for key in ("agency_code", "agency_name", "case_class") if key in change}
        entry = domain.new_entry(
            report, change["kind"], change["to_status"], change["actor"], now(),
            automatic=change["automatic"], reason=change["reason"], note=change["note"], **details,
        )
        event = domain.report_updated_event(report, entry, str(uuid.uuid4()))
        if not self.storage.insert_entry(entry, event):
            raise IllegalTransition("Laporan sedang diubah oleh pihak lain; muat ulang dan coba lagi.")
        return entry

    def _apply(self, report, entry, change):
        changes = {"status": entry["status"], "version": entry["version"], "updated_at": entry["at"]}
        changes.update({key: entry[key] for key in ("agency_code", "agency_name", "case_class")})
        if domain.answers_deadline(entry):
            # The clock that set `due_at` has stopped; older deadline events must not bring it back.
            changes.update({"due_at": None, "due_version": entry["version"]})
        if not self.storage.compare_and_set(report, changes):
            self.storage.delete_entry(report["tracking_id"], entry["version"])
            raise IllegalTransition("Laporan sudah berubah; muat ulang dan coba lagi.")
        self.metrics.counter("lapor_transitions", "Status changes by kind", ("kind", "status")).labels(
            entry["kind"], entry["status"]
        ).inc()
        return dict(report, **changes)

    def _publish_after_reply(self, entry):
        if entry is None or entry.get("published"):
            return
        tracking_id, version = entry["tracking_id"], entry["version"]
        self.outbox.after_reply(
            REPORT_UPDATED, entry["event"], on_published=lambda: self.storage.mark_entry_published(tracking_id, version)
        )

    def _audience(self, report, access_code):
        """'reporter' with the right code; 'public' with none. A confidential report is 404 to the public."""
        if access_code is None:
            if report["confidential"]:
                raise NotFound("Laporan tidak ditemukan.")
            return "public"
        self._check_not_rate_limited(report)
        if access_code_matches(self.secrets.secret_key, access_code, report["access_code_hash"]):
            return "reporter"
        self.storage.count_access_failure(report["_id"], domain.ACCESS_FAILURE_WINDOW)
        if report["confidential"]:
            raise NotFound("Laporan tidak ditemukan.")
        raise Forbidden("Kode akses salah.")

    def _check_not_rate_limited(self, report):
        failures, window_started_at = self.storage.access_failures(report["_id"], domain.ACCESS_FAILURE_WINDOW)
        if failures >= domain.ACCESS_FAILURE_LIMIT:
            retry_after = int((window_started_at + domain.ACCESS_FAILURE_WINDOW - now()).total_seconds()) + 1
            raise RateLimited("Terlalu banyak percobaan kode akses; coba lagi nanti.", fields={"retry_after": retry_after})

    def _reporter_contact(self, report):
        if not report.get("reporter_ref"):
            return {}
        return self.intake.contact(report["reporter_ref"]) or {}
