"""SLA: working-day clocks per report and stage; announces deadlines and their breaches (DESIGN §1, §3)."""
import logging
import uuid

from nameko.events import event_handler
from nameko.rpc import rpc
from nameko.timer import timer

from services.common.events import DEADLINE_BREACHED, DEADLINE_SET, REPORT_UPDATED, SCHEMA_VERSION, now
from services.common.ledger import once_per_event
from services.common.mongo import MongoStore, unavailable_on_store_error
from services.common.outbox import (
    RELAY_GRACE_SECONDS, RELAY_INTERVAL_SECONDS, RELAY_LEASE_SECONDS, OutboxDispatcher, relay_unpublished,
)
from services.common.service_base import ObservedService
from services.sla import domain
from services.sla.storage import SlaRepository

log = logging.getLogger(__name__)

BREACH_CHECK_SECONDS = 30
BATCH = 200
# Each clock carries two outboxes: (event, its published flag, the field holding the event).
OUTBOXES = ((DEADLINE_SET, "published", "event"), (DEADLINE_BREACHED, "breach_published", "breach_event"))
# One per process: the holidays package computes each year once and caches it.
CALENDAR = domain.WorkingCalendar()


def _deadline_event(clock, at):
    return {
        "event_id": str(uuid.uuid4()),
        "tracking_id": clock["tracking_id"],
        "emitted_at": at,
        "schema": SCHEMA_VERSION,
        "stage": clock["stage"],
        "clock_id": clock["clock_id"],
        "due_at": clock["due_at"],
        "agency_code": clock.get("agency_code"),
        "version": clock["version"],
    }


class SlaService(ObservedService):
    name = "sla"

    storage = MongoStore("lapor_sla", SlaRepository)
    outbox = OutboxDispatcher()

    @event_handler("tracking", REPORT_UPDATED, requeue_on_error=True)
    @once_per_event(REPORT_UPDATED)
    def on_report_updated(self, event):
        tracking_id, version = event["tracking_id"], event["version"]
        if version <= self.storage.applied_version(tracking_id):
            return  # an older entry arriving late: a newer one already set the clocks
        to_stop, to_open = domain.clock_plan(event)
        self.storage.stop_clocks(tracking_id, to_stop, event["at"], before_version=version)
        if to_open:
            self._open_clock(event, to_open)
        pause = domain.pause_action(event)
        if pause:
            getattr(self, f"_{pause}_response_clock")(tracking_id, event["at"])
        self.storage.set_applied_version(tracking_id, version)

    @rpc
    @unavailable_on_store_error
    def running_clocks(self, tracking_id):
        return [
            {"stage": clock["stage"], "due_at": clock["due_at"].isoformat(), "version": clock["version"]}
            for clock in self.storage.running_clocks(tracking_id)
        ]

    @timer(interval=BREACH_CHECK_SECONDS)
    def check_breaches(self):
        for _ in range(BATCH):
            clock = self.storage.claim_breached(_deadline_event, RELAY_LEASE_SECONDS)
            if clock is None:
                break
            self.metrics.counter("lapor_sla_breaches", "Deadlines missed", ("stage",)).labels(clock["stage"]).inc()
            self._publish(DEADLINE_BREACHED, clock["breach_event"], clock["_id"], "breach_published")

    @timer(interval=RELAY_INTERVAL_SECONDS)
    def relay(self):
        for event_type, flag, event_field in OUTBOXES:
            published = relay_unpublished(
                claim=lambda: self.storage.claim_unpublished(flag, RELAY_GRACE_SECONDS, RELAY_LEASE_SECONDS),
                publish=lambda clock: self.outbox.publish_now(event_type, clock[event_field]),
                mark_published=lambda clock: self.storage.mark_published(clock["_id"], flag),
            )
            if not published:
                break
        self.record_outbox_backlog(self.storage.count_unpublished())

    def _open_clock(self, event, stage):
        working_days = domain.working_days_for(stage, event.get("case_class"))
        if working_days is None:
            return
        clock = {
            "clock_id": domain.clock_id(event["tracking_id"], stage, event["version"]),
            "tracking_id": event["tracking_id"],
            "stage": stage,
            "version": event["version"],
            "agency_code": event.get("agency_code"),
            "opened_at": event["at"],
            "working_days": working_days,
            "due_at": CALENDAR.due_at(event["at"], working_days),
        }
        deadline_set = _deadline_event(clock, now())
        self.storage.open_clock(clock, deadline_set)
        stored = self.storage.get_clock(clock["clock_id"])
        if not stored["published"]:
            clock_id = clock["clock_id"]
            self.outbox.after_reply(
                DEADLINE_SET, stored["event"], on_published=lambda: self.storage.mark_published(clock_id)
            )

    def _pause_response_clock(self, tracking_id, at):
        for clock in self.storage.clocks_in_state(tracking_id, domain.PAUSABLE_STAGE, "running"):
            self.storage.pause_clock(clock, at, CALENDAR.working_days_left(at, clock["due_at"]))

    def _resume_response_clock(self, tracking_id, at):
        """The reporter answered: the clock runs again with the working days it had left."""
        for clock in self.storage.clocks_in_state(tracking_id, domain.PAUSABLE_STAGE, "paused"):
            resumed = dict(clock, due_at=CALENDAR.due_at(at, clock["working_days_left"]))
            event = _deadline_event(resumed, now())
            if self.storage.resume_clock(clock, resumed["due_at"], event):
                clock_id = clock["_id"]
                self.outbox.after_reply(DEADLINE_SET, event, on_published=lambda: self.storage.mark_published(clock_id))

    def _publish(self, event_type, event, clock_id, flag):
        try:
            self.outbox.publish_now(event_type, event)
        except Exception as exc:  # noqa: BLE001 - the relay retries once the broker is back
            log.warning("could not publish %s for %s: %s", event_type, clock_id, exc)
            return False
        self.storage.mark_published(clock_id, flag)
        return True
