"""SLA's repository: one clock per report, stage and opening entry; each clock is its own outbox."""
from datetime import timedelta

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.common.events import now
from services.common.mongo import UNPUBLISHED_GAUGE_CAP, Repository


class SlaRepository(Repository):
    def ensure_indexes(self):
        super().ensure_indexes()
        self.db.clocks.create_index([("tracking_id", ASCENDING), ("stage", ASCENDING), ("state", ASCENDING)])
        self.db.clocks.create_index([("state", ASCENDING), ("due_at", ASCENDING)])
        self.db.clocks.create_index([("published", ASCENDING), ("relay_lease_until", ASCENDING)])

    def applied_version(self, tracking_id):
        state = self.db.report_versions.find_one({"_id": tracking_id})
        return state["version"] if state else 0

    def set_applied_version(self, tracking_id, version):
        try:
            self.db.report_versions.update_one(
                {"_id": tracking_id, "version": {"$lt": version}}, {"$set": {"version": version}}, upsert=True
            )
        except DuplicateKeyError:
            pass  # a newer version was applied meanwhile

    def stop_clocks(self, tracking_id, stages, at, before_version):
        """Stop running clocks opened by entries older than `before_version` (a redelivery must not
        stop the clock its own entry opened)."""
        for stage in stages:
            for state in ("running", "paused"):  # one state per filter: `$in` with a range fails on nx-27017
                self.db.clocks.update_many(
                    {"tracking_id": tracking_id, "stage": stage, "state": state, "version": {"$lt": before_version}},
                    {"$set": {"state": "stopped", "stopped_at": at}},
                )

    def open_clock(self, clock, event):
        """Insert a running clock with its `deadline_set` event; False if it exists (a redelivery)."""
        document = dict(clock, _id=clock["clock_id"], state="running", event=event, published=False,
                        announced_at=clock["opened_at"], relay_lease_until=clock["opened_at"])
        try:
            self.db.clocks.insert_one(document)
            return True
        except DuplicateKeyError:
            return False

    def clocks_in_state(self, tracking_id, stage, state):
        return list(self.db.clocks.find({"tracking_id": tracking_id, "stage": stage, "state": state}, {"event": 0}))

    def pause_clock(self, clock, at, working_days_left):
        """Running → paused, keeping the working days it had left; False if it moved meanwhile."""
        result = self.db.clocks.update_one(
            {"_id": clock["_id"], "state": "running"},
            {"$set": {"state": "paused", "paused_at": at, "working_days_left": working_days_left}},
        )
        return result.modified_count == 1

    def resume_clock(self, clock, due_at, event):
        """Paused → running with its new deadline and a fresh `deadline_set` to announce it."""
        result = self.db.clocks.update_one(
            {"_id": clock["_id"], "state": "paused"},
            {"$set": {"state": "running", "due_at": due_at, "event": event, "published": False,
                      "announced_at": event["emitted_at"], "relay_lease_until": event["emitted_at"]}},
        )
        return result.modified_count == 1

    def get_clock(self, clock_id):
        return self.db.clocks.find_one({"_id": clock_id})

    def running_clocks(self, tracking_id):
        return list(self.db.clocks.find({"tracking_id": tracking_id, "state": "running"}, {"event": 0}))

    def mark_published(self, clock_id, flag="published"):
        self.db.clocks.update_one({"_id": clock_id}, {"$set": {flag: True}})

    def claim_unpublished(self, flag, grace_seconds, lease_seconds):
        current = now()
        written_at = "announced_at" if flag == "published" else "breached_at"
        return self.db.clocks.find_one_and_update(
            {flag: False, written_at: {"$lt": current - timedelta(seconds=grace_seconds)},
             "relay_lease_until": {"$lt": current}},
            {"$set": {"relay_lease_until": current + timedelta(seconds=lease_seconds)}},
            return_document=ReturnDocument.AFTER,
        )

    def claim_breached(self, make_event, lease_seconds):
        """Atomically take one running clock past its deadline (timers fire on every replica).

        The breach event is built once and stored with the clock, so a re-send carries the same event_id.
        """
        current = now()
        clock = self.db.clocks.find_one({"state": "running", "due_at": {"$lt": current}}, {"event": 0})
        if clock is None:
            return None
        return self.db.clocks.find_one_and_update(
            {"_id": clock["_id"], "state": "running"},
            {"$set": {"state": "breached", "breached_at": current, "breach_published": False,
                      "breach_event": make_event(clock, current),
                      "relay_lease_until": current + timedelta(seconds=lease_seconds)}},
            return_document=ReturnDocument.AFTER,
        )

    def count_unpublished(self, cap=UNPUBLISHED_GAUGE_CAP):
        """For the outbox gauge: an indexed find, capped (a count would scan the whole collection on nx-27017)."""
        return sum(len(list(self.db.clocks.find({flag: False}, {"_id": 1}).limit(cap)))
                   for flag in ("published", "breach_published"))
