"""SLA's repository: clocks per report, stage and opening entry; the deadline announcements outbox; the
calendar overrides. Claims are single `find_one_and_update`s, so any number of replicas split the work."""
import uuid
from datetime import timedelta

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.common.audit import AuditLog
from services.common.events import now as wall_now
from services.common.mongo import UNPUBLISHED_GAUGE_CAP, Repository

# The two events a clock itself carries: (claim marker, its outbox fields' prefix).
CLOCK_EVENTS = ("breach", "warning")


class SlaRepository(AuditLog, Repository):
    def ensure_indexes(self):
        super().ensure_indexes()
        clocks = self.db.clocks
        clocks.create_index([("tracking_id", ASCENDING), ("stage", ASCENDING), ("state", ASCENDING)])
        clocks.create_index([("state", ASCENDING), ("due_at", ASCENDING)])
        clocks.create_index([("state", ASCENDING), ("warned", ASCENDING), ("warn_at", ASCENDING)])
        clocks.create_index([("stage", ASCENDING), ("opened_at", ASCENDING)])
        clocks.create_index([("stage", ASCENDING), ("agency_code", ASCENDING), ("opened_at", ASCENDING)])
        for kind in CLOCK_EVENTS:
            clocks.create_index([(f"{kind}_published", ASCENDING), (f"{kind}_lease_until", ASCENDING)])
        self.db.announcements.create_index([("published", ASCENDING), ("relay_lease_until", ASCENDING)])

    # What sla has applied of each report, and the deadline it last announced for it.

    def applied_version(self, tracking_id):
        state = self.db.report_versions.find_one({"_id": tracking_id})
        return state["version"] if state else 0

    def announced(self, tracking_id):
        """The deadline last announced for a report: {clock_id, stage, due_at}, or {}."""
        return self.db.announced_deadlines.find_one({"_id": tracking_id}) or {}

    def set_applied_version(self, tracking_id, version):
        try:
            self.db.report_versions.update_one(
                {"_id": tracking_id, "version": {"$lt": version}}, {"$set": {"version": version}}, upsert=True
            )
        except DuplicateKeyError:
            pass  # a newer version was applied meanwhile

    # Clocks.

    def clocks_of(self, tracking_id):
        return list(self.db.clocks.find({"tracking_id": tracking_id}))

    def open_clock(self, clock):
        """Insert a running clock; False if it exists (a redelivery)."""
        try:
            self.db.clocks.insert_one(dict(clock, _id=clock["clock_id"]))
            return True
        except DuplicateKeyError:
            return False

    def stop_clock(self, clock, at, answered_at=None):
        """Open (in whatever state it was read) → stopped; False if it moved meanwhile."""
        changes = {"state": "stopped", "stopped_at": at}
        if answered_at is not None:
            changes["answered_at"] = answered_at
        return self._move(clock, changes)

    def pause_clock(self, clock, at, working_days_left):
        """Running → paused, keeping the working days it had left; False if it moved meanwhile."""
        return self._move(clock, {"state": "paused", "paused_at": at, "working_days_left": working_days_left})

    def resume_clock(self, clock, at, due_at, warn_at):
        """Paused → running: its remaining working days now count from `at`."""
        return self._move(clock, {"state": "running", "resumed_at": at, "counted_from_at": at,
                                  "counted_days": clock["working_days_left"], "due_at": due_at,
                                  "warn_at": warn_at, "warned": False})

    def reschedule_clock(self, clock, due_at, warn_at, warn_again):
        """A calendar change moved a running clock's deadline; False if the clock moved meanwhile."""
        changes = {"due_at": due_at, "warn_at": warn_at}
        if warn_again:
            changes["warned"] = False
        result = self.db.clocks.update_one({"_id": clock["_id"], "state": "running", "due_at": clock["due_at"]},
                                           {"$set": changes})
        return result.modified_count == 1

    def _move(self, clock, changes):
        result = self.db.clocks.update_one({"_id": clock["_id"], "state": clock["state"]}, {"$set": changes})
        return result.modified_count == 1

    def clocks_counting_across(self, day_start, current):
        """Running clocks not yet due that count across the day starting at `day_start`: the ones a
        calendar change of that day may move."""
        return list(self.db.clocks.find({"state": "running", "due_at": {"$gte": max(day_start, current)},
                                         "counted_from_at": {"$lt": day_start}}))

    def get_clock(self, clock_id):
        return self.db.clocks.find_one({"_id": clock_id})

    def clocks_in_state(self, tracking_id, stage, state):
        return list(self.db.clocks.find({"tracking_id": tracking_id, "stage": stage, "state": state}))

    def running_clocks(self, tracking_id):
        return list(self.db.clocks.find({"tracking_id": tracking_id, "state": "running"}))

    def claim_breach(self, current, lease_seconds):
        """Atomically take one running clock past its deadline (timers fire on every replica).

        The event id is fixed here, so whoever publishes the breach later sends the same event."""
        return self.db.clocks.find_one_and_update(
            {"state": "running", "due_at": {"$lt": current}},
            {"$set": {"state": "breached", "missed": True, "breached_at": current,
                      "breach_event_id": str(uuid.uuid4()), "breach_published": False,
                      "breach_lease_until": wall_now() + timedelta(seconds=lease_seconds)}},
            return_document=ReturnDocument.AFTER,
        )

    def claim_warning(self, current, lease_seconds):
        """Atomically take one running clock past its warning point, once; one already due gets its breach only."""
        return self.db.clocks.find_one_and_update(
            {"state": "running", "warned": False, "warn_at": {"$lt": current}, "due_at": {"$gt": current}},
            {"$set": {"warned": True, "warned_at": current, "warning_event_id": str(uuid.uuid4()),
                      "warning_published": False,
                      "warning_lease_until": wall_now() + timedelta(seconds=lease_seconds)}},
            return_document=ReturnDocument.AFTER,
        )

    def claim_unpublished_clock_event(self, kind, lease_seconds):
        """A breach or warning whose publishing failed, once its lease ran out (the relay)."""
        current = wall_now()
        return self.db.clocks.find_one_and_update(
            {f"{kind}_published": False, f"{kind}_lease_until": {"$lt": current}},
            {"$set": {f"{kind}_lease_until": current + timedelta(seconds=lease_seconds)}},
            return_document=ReturnDocument.AFTER,
        )

    def mark_clock_event_published(self, clock_id, kind):
        self.db.clocks.update_one({"_id": clock_id}, {"$set": {f"{kind}_published": True}})

    def count_open_clocks(self):
        """{(stage, state): n} of clocks not yet stopped (for the gauge)."""
        counts = {}
        for state in ("running", "paused", "breached"):  # one per state: no expression `_id` in `$group`
            for row in self.db.clocks.aggregate([{"$match": {"state": state}},
                                                 {"$group": {"_id": "$stage", "n": {"$sum": 1}}}]):
                counts[(row["_id"], state)] = row["n"]
        return counts

    def response_clocks(self, opened_from, opened_before, agency_code=None, include_confidential=False):
        """Response clocks opened (one per disposition) in [opened_from, opened_before); those of confidential
        reports only with `include_confidential` (left out in Python: the store's subset has no `$ne`)."""
        query = {"stage": "response", "opened_at": {"$gte": opened_from, "$lt": opened_before}}
        if agency_code:
            query["agency_code"] = agency_code
        fields = {key: 1 for key in ("agency_code", "agency_name", "state", "opened_at", "due_at", "answered_at",
                                     "missed", "confidential")}
        clocks = self.db.clocks.find(query, fields).sort("opened_at", ASCENDING)
        return [clock for clock in clocks if include_confidential or not clock.get("confidential")]

    def mark_confidential(self, tracking_id):
        """A confidential report's clocks say so, those opened before clocks carried the flag included."""
        self.db.clocks.update_many({"tracking_id": tracking_id}, {"$set": {"confidential": True}})

    # Deadline announcements (`deadline_set`), an outbox of their own.

    def add_announcement(self, event, grace_seconds):
        """Store a `deadline_set` to publish, and remember it as the report's announced deadline."""
        self.db.announcements.insert_one({
            "_id": event["event_id"], "tracking_id": event["tracking_id"], "event": event, "published": False,
            "relay_lease_until": wall_now() + timedelta(seconds=grace_seconds),
        })
        self.db.announced_deadlines.update_one(
            {"_id": event["tracking_id"]},
            {"$set": {"clock_id": event["clock_id"], "stage": event["stage"], "due_at": event["due_at"]}},
            upsert=True,
        )

    def claim_unpublished_announcement(self, lease_seconds):
        current = wall_now()
        return self.db.announcements.find_one_and_update(
            {"published": False, "relay_lease_until": {"$lt": current}},
            {"$set": {"relay_lease_until": current + timedelta(seconds=lease_seconds)}},
            return_document=ReturnDocument.AFTER,
        )

    def mark_announced(self, event_id):
        self.db.announcements.update_one({"_id": event_id}, {"$set": {"published": True}})

    def count_unpublished(self, cap=UNPUBLISHED_GAUGE_CAP):
        """For the outbox gauge: indexed finds, capped (a count would scan the whole collection on nx-27017)."""
        owed = len(list(self.db.announcements.find({"published": False}, {"_id": 1}).limit(cap)))
        for kind in CLOCK_EVENTS:
            owed += len(list(self.db.clocks.find({f"{kind}_published": False}, {"_id": 1}).limit(cap)))
        return owed

    # Calendar overrides (a national admin's decree: an extra holiday, or a working day).

    def calendar_overrides(self):
        return list(self.db.calendar_days.find({}, {"_id": 0}))

    def set_calendar_override(self, override):
        self.db.calendar_days.update_one({"_id": override["day"]}, {"$set": override}, upsert=True)

    def remove_calendar_override(self, day):
        """The removed override, or None if the day had none."""
        return self.db.calendar_days.find_one_and_delete({"_id": day})
