"""SLA: working-day clocks per report and stage; announces deadlines, warnings and breaches (DESIGN §1, §3)."""
import logging
import uuid

import eventlet
from marshmallow import ValidationError
from nameko.dependency_providers import Config
from nameko.events import event_handler
from services.common.entrypoints import rpc
from nameko.timer import timer

from services.common.dead_letters import DeadLetters
from services.common.events import DEADLINE_APPROACHING, DEADLINE_BREACHED, DEADLINE_SET, REPORT_UPDATED
from services.common.field_errors import flatten_field_errors
from services.common.ledger import once_per_event
from services.common.mongo import MongoStore, unavailable_on_store_error
from services.common.outbox import (
    RELAY_GRACE_SECONDS, RELAY_INTERVAL_SECONDS, RELAY_LEASE_SECONDS, OutboxDispatcher, relay_unpublished,
)
from services.common.service_base import ObservedService
from services.sla import domain, schemas
from services.sla.dependencies import Clock, FiguresCache, configured_timer
from services.sla.exceptions import Forbidden, NotFound, ValidationFailed
from services.sla.storage import CLOCK_EVENTS, SlaRepository

log = logging.getLogger(__name__)

CHECK_SECONDS = 30
DEFAULT_WARN_BEFORE_WORKING_DAYS = 1
BATCH = 200
EVENT_TYPES = {"breach": DEADLINE_BREACHED, "warning": DEADLINE_APPROACHING}
FIRST_RESPONSE_BUCKETS_HOURS = (1, 4, 8, 24, 48, 72, 120, 168, 240, 336, 720)
NATIONAL_ADMIN_ONLY = "Hanya admin nasional yang dapat mengubah kalender hari kerja."


def _load(schema, data, message="Isian tidak valid."):
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise _invalid(exc, message)


def _invalid(exc, message):
    """ValidationFailed for a marshmallow ValidationError, each field's message in Bahasa Indonesia and English."""
    fields = flatten_field_errors(exc.messages)
    for messages in fields.values():
        for message_pair in messages:
            message_pair["id"] = schemas.INDONESIAN.get(message_pair["en"], message_pair["id"])
    return ValidationFailed(message, fields=fields)


class SlaService(DeadLetters, ObservedService):
    name = "sla"

    storage = MongoStore("lapor_sla", SlaRepository)
    outbox = OutboxDispatcher()
    clock = Clock()
    config = Config()
    figures_cache = FiguresCache()

    @event_handler("tracking", REPORT_UPDATED, requeue_on_error=True)
    @once_per_event(REPORT_UPDATED)
    def on_report_updated(self, event):
        tracking_id, version = event["tracking_id"], event["version"]
        if version <= self.storage.applied_version(tracking_id):
            return  # an older entry arriving late: a newer one already set the clocks
        plan = domain.clock_plan(event)
        if event["confidential"]:
            self.storage.mark_confidential(tracking_id)
        if domain.touches_clocks(plan):
            self._apply(event, plan)
            self._announce_current(tracking_id, version)
        self.storage.set_applied_version(tracking_id, version)

    @rpc
    @unavailable_on_store_error
    def running_clocks(self, tracking_id):
        return [
            {"stage": clock["stage"], "due_at": clock["due_at"].isoformat(), "version": clock["version"]}
            for clock in self.storage.running_clocks(tracking_id)
        ]

    @rpc
    @unavailable_on_store_error
    def figures(self, query=None, include_confidential=False):
        """Per agency and period (days of disposition, Jakarta): dispositions, answered in time, late, open,
        overdue, median and p90 hours to the first response, and the compliance ratio. Public figures count no
        confidential report (one alone would show in its agency's day); `include_confidential` for officers."""
        invalid = "Parameter statistik SLA tidak valid."
        query = _load(schemas.FiguresQuerySchema(), query or {}, invalid)
        current = self.clock.now()
        try:
            first, last = schemas.period(query, domain.jakarta_day(current))
        except ValidationError as exc:  # `from` alone, long ago: up to today is too long a period too
            raise _invalid(exc, invalid)
        include_confidential = include_confidential is True

        def compute():
            clocks = self.storage.response_clocks(*domain.period_bounds(first, last), agency_code=query.get("agency"),
                                                  include_confidential=include_confidential)
            agencies = domain.sla_figures(clocks, current)
            if query.get("agency") and not agencies:
                agencies = [domain.agency_figures(query["agency"], [], current)]
            return {"from": first.isoformat(), "to": last.isoformat(), "timezone": "Asia/Jakarta",
                    "agencies": agencies}

        return self.figures_cache.get((first, last, query.get("agency"), include_confidential), compute)

    @rpc
    @unavailable_on_store_error
    def calendar(self, year=None):
        """The year's holidays, cuti bersama and overrides (this year in Jakarta when not given)."""
        if year in (None, ""):
            year = domain.jakarta_day(self.clock.now()).year
        year = _load(schemas.YearSchema(), {"year": year}, "Tahun tidak valid.")["year"]
        return {"year": year, "timezone": "Asia/Jakarta",
                "days": domain.calendar_view(year, self.storage.calendar_overrides())}

    @rpc
    @unavailable_on_store_error
    def add_holiday(self, day, note=None, actor=None):
        """A day off by a new decree; running clocks not yet due move on."""
        return self._override(day, note, actor, "holiday")

    @rpc
    @unavailable_on_store_error
    def add_working_day(self, day, note=None, actor=None):
        """A working day by a new decree (even a Saturday or a holiday); running clocks not yet due move in."""
        return self._override(day, note, actor, "working_day")

    @rpc
    @unavailable_on_store_error
    def remove_override(self, day, actor=None):
        actor = self.caller.vouch(actor if actor is not None else {})
        with self.caller.audited("remove_calendar_override", actor, details={"day": str(day)[:40]}):
            _national_admin(actor)
            day = _load(schemas.CalendarDaySchema(), {"day": day}, "Tanggal tidak valid.")["day"]
            removed = self.storage.remove_calendar_override(day.isoformat())
            if removed is None:
                raise NotFound("Tanggal ini tidak punya pengecualian kalender.")
            return {"day": day.isoformat(), "removed": removed["kind"], "rescheduled": self._reschedule(day)}

    @configured_timer(config_key="CHECK_SECONDS", default=CHECK_SECONDS)
    def check_deadlines(self):
        """Warn and breach every clock due, claiming each atomically so replicas split the work."""
        current = self.clock.now()
        for kind, claim in (("warning", self.storage.claim_warning), ("breach", self.storage.claim_breach)):
            for _ in range(BATCH):
                clock = claim(current, RELAY_LEASE_SECONDS)
                if clock is None:
                    break
                self._count(kind, clock)
                self._publish_clock_event(kind, clock)
        self._record_open_clocks()

    @timer(interval=RELAY_INTERVAL_SECONDS)
    def relay(self):
        relay_unpublished(
            claim=lambda: self.storage.claim_unpublished_announcement(RELAY_LEASE_SECONDS),
            publish=lambda announcement: self.outbox.publish_now(DEADLINE_SET, announcement["event"]),
            mark_published=lambda announcement: self.storage.mark_announced(announcement["_id"]),
        )
        for kind in CLOCK_EVENTS:
            self._relay_clock_events(kind)
        self.record_outbox_backlog(self.storage.count_unpublished())

    def _apply(self, event, plan):
        tracking_id, version, at = event["tracking_id"], event["version"], event["at"]
        clocks = self.storage.clocks_of(tracking_id)
        calendar = self._calendar()
        for clock in domain.clocks_to_stop(clocks, plan.stop, version):
            answered_at = domain.answer_time(clock, event)
            if self.storage.stop_clock(clock, at, answered_at) and answered_at is not None:
                self._first_response_hours().observe((answered_at - clock["opened_at"]).total_seconds() / 3600)
        for stage in plan.open:
            self._open_clock(event, stage, calendar)
        if plan.pause:
            for clock in domain.clocks_to_pause(clocks, version):
                self.storage.pause_clock(clock, at, calendar.working_days_left(at, clock["due_at"]))
        if plan.resume:
            for clock in domain.clocks_to_resume(clocks):
                due_at = calendar.due_at(at, clock["working_days_left"])
                self.storage.resume_clock(clock, at, due_at, calendar.warn_at(at, due_at, self._warn_before()))

    def _open_clock(self, event, stage, calendar):
        working_days = domain.working_days_for(stage, event.get("case_class"))
        if working_days is None:
            return
        due_at = calendar.due_at(event["at"], working_days)
        warn_at = calendar.warn_at(event["at"], due_at, self._warn_before())
        self.storage.open_clock(domain.new_clock(event, stage, working_days, due_at, warn_at))

    def _announce_current(self, tracking_id, version):
        """`deadline_set` with the report's current deadline (its earliest live clock), or with `due_at` null
        when none runs any more (paused, answered): views show one deadline per report, sla decides which."""
        clocks = self.storage.clocks_of(tracking_id)
        current = domain.current_clock(clocks)
        if current is None:
            announced = self.storage.announced(tracking_id)
            current = next((c for c in clocks if c["_id"] == announced.get("clock_id")), None)
            if current is None or announced.get("due_at") is None:
                return  # nothing shown, nothing to take back
            due_at = None
        else:
            due_at = current["due_at"]
        event = domain.deadline_event(current, str(uuid.uuid4()), self.clock.now(), version, due_at)
        self.storage.add_announcement(event, RELAY_GRACE_SECONDS)
        event_id = event["event_id"]
        self.outbox.after_reply(DEADLINE_SET, event, on_published=lambda: self.storage.mark_announced(event_id))

    def _override(self, day, note, actor, kind):
        """A national admin's calendar change (the claim from the gateway only), audited here."""
        actor = self.caller.vouch(actor if actor is not None else {})
        with self.caller.audited(f"add_{kind}", actor, details={"day": str(day)[:40]}):
            return self._set_override(day, note, _national_admin(actor), kind)

    def _set_override(self, day, note, actor, kind):
        change = _load(schemas.CalendarDaySchema(), {"day": day, "note": note}, "Tanggal tidak valid.")
        override = {"day": change["day"].isoformat(), "kind": kind, "note": change["note"],
                    "by": {"username": actor["username"], "name": actor["name"]}, "at": self.clock.now()}
        self.storage.set_calendar_override(override)
        return {"day": override["day"], "kind": kind, "note": override["note"],
                "rescheduled": self._reschedule(change["day"])}

    def _reschedule(self, day):
        """Move the deadlines of running clocks not yet due that count across `day`; announce what moved."""
        calendar, current, warn_before = self._calendar(), self.clock.now(), self._warn_before()
        moved = set()
        for clock in self.storage.clocks_counting_across(domain.start_of(day), current):
            eventlet.sleep(0)  # a long sweep must not starve the broker's heartbeat
            due_at = calendar.due_at(clock["counted_from_at"], clock["counted_days"])
            if due_at == clock["due_at"]:
                continue
            warn_at = calendar.warn_at(clock["counted_from_at"], due_at, warn_before)
            if self.storage.reschedule_clock(clock, due_at, warn_at, warn_again=bool(warn_at and warn_at > current)):
                moved.add((clock["tracking_id"], clock["_id"]))
        for tracking_id in sorted({tracking_id for tracking_id, _ in moved}):
            self._announce_current(tracking_id, self.storage.applied_version(tracking_id))
        return len(moved)

    def _publish_clock_event(self, kind, clock):
        try:
            self.outbox.publish_now(EVENT_TYPES[kind], domain.clock_event(kind, clock))
        except Exception as exc:  # noqa: BLE001 - the relay retries once the broker is back
            log.warning("could not publish the %s of %s: %s", kind, clock["_id"], exc)
            return
        self.storage.mark_clock_event_published(clock["_id"], kind)

    def _relay_clock_events(self, kind):
        relay_unpublished(
            claim=lambda: self.storage.claim_unpublished_clock_event(kind, RELAY_LEASE_SECONDS),
            publish=lambda clock: self.outbox.publish_now(EVENT_TYPES[kind], domain.clock_event(kind, clock)),
            mark_published=lambda clock: self.storage.mark_clock_event_published(clock["_id"], kind),
        )

    def _calendar(self):
        return domain.WorkingCalendar.with_overrides(self.storage.calendar_overrides())

    def _warn_before(self):
        return int(self.config.get("WARN_BEFORE_WORKING_DAYS", DEFAULT_WARN_BEFORE_WORKING_DAYS))

    def _count(self, kind, clock):
        if kind == "breach":
            self.metrics.counter("lapor_sla_breaches", "Deadlines missed", ("stage", "agency")).labels(
                clock["stage"], clock.get("agency_code") or "none").inc()
        else:
            self.metrics.counter("lapor_sla_warnings", "Deadlines approaching", ("stage",)).labels(clock["stage"]).inc()

    def _first_response_hours(self):
        return self.metrics.histogram("lapor_sla_first_response_hours",
                                      "Hours from a disposition to the agency's first response",
                                      buckets=FIRST_RESPONSE_BUCKETS_HOURS)

    def _record_open_clocks(self):
        gauge = self.metrics.gauge("lapor_sla_open_clocks", "Clocks not yet stopped, by stage and state",
                                   ("stage", "state"))
        counts = self.storage.count_open_clocks()
        for stage in domain.STAGES:
            for state in domain.OPEN_STATES:
                gauge.labels(stage, state).set(counts.get((stage, state), 0))


def _national_admin(actor):
    actor = _load(schemas.ActorSchema(), actor or {}, "Data petugas tidak valid.")
    if actor["role"] != "national_admin":
        raise Forbidden(NATIONAL_ADMIN_ONLY)
    return actor
