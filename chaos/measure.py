"""What the store says after a scenario, read directly with pymongo (the harness is outside the system).

- parked events: each service's `dead_events` (services/common/ledger.py), status `parked`;
- unpublished outbox documents: the flags of services/*/storage.py — intake `submissions.published`,
  tracking `timeline.published`, sla `announcements.published` and `clocks.{breach,warning}_published`,
  notifications `messages.failure_published`;
- duplicate notifications: more than one message in lapor_notifications.messages for one
  (report, audience, channel, kind), the kind being the message's template;
- duplicate reports: more than one case in lapor_tracking.reports with one load report's title (a retry that
  became a second report).
"""
from collections import Counter

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from devstack.launcher import SERVICES

OUTBOXES = (
    ("intake", "submissions", "published"),
    ("tracking", "timeline", "published"),
    ("sla", "announcements", "published"),
    ("sla", "clocks", "breach_published"),
    ("sla", "clocks", "warning_published"),
    ("notifications", "messages", "failure_published"),
)
CAP = 100_000


class StoreReader:
    def __init__(self, uri, prefix):
        self.uri = uri
        self.prefix = prefix

    def _client(self):
        return MongoClient(self.uri, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000, socketTimeoutMS=60000)

    def db(self, client, service):
        return client[f"{self.prefix}lapor_{service}"]

    def parked(self):
        """{service: ids of parked records}."""
        with self._client() as client:
            return {service: {doc["_id"] for doc in self.db(client, service).dead_events.find(
                {"status": "parked"}, {"_id": 1}).limit(CAP)} for service in SERVICES}

    def parked_samples(self, ids_by_service, limit=3):
        samples = []
        with self._client() as client:
            for service, ids in ids_by_service.items():
                for record_id in list(ids)[:limit]:
                    doc = self.db(client, service).dead_events.find_one({"_id": record_id}) or {}
                    samples.append(f"{service}: {doc.get('event_type')} → {doc.get('handler')}: "
                                   f"{str(doc.get('error'))[:160]}")
        return samples

    def unpublished(self):
        """{"service.collection.flag": count} of outbox documents not yet published."""
        counts = {}
        with self._client() as client:
            for service, collection, flag in OUTBOXES:
                found = len(list(self.db(client, service)[collection].find({flag: False}, {"_id": 1}).limit(CAP)))
                if found:
                    counts[f"{service}.{collection}"] = counts.get(f"{service}.{collection}", 0) + found
        return counts

    def duplicate_notifications(self, tracking_ids):
        """[(report, audience, channel, kind, copies)] for the given reports."""
        wanted = set(tracking_ids)
        keys = Counter()
        with self._client() as client:
            cursor = self.db(client, "notifications").messages.find(
                {}, {"tracking_id": 1, "audience": 1, "channel": 1, "template": 1})
            for doc in cursor:
                if doc.get("tracking_id") in wanted:
                    keys[(doc["tracking_id"], doc.get("audience"), doc.get("channel"), doc.get("template"))] += 1
        return [key + (copies,) for key, copies in keys.items() if copies > 1]

    def notification_counts(self, tracking_ids):
        """(messages written for these reports, messages missing): every load report goes the same way (opened,
        auto-disposed), so each should have the same (audience, channel, kind) set; missing is what some reports
        lack of the union of those sets."""
        wanted = set(tracking_ids)
        kinds = {tracking_id: set() for tracking_id in wanted}
        written = 0
        with self._client() as client:
            cursor = self.db(client, "notifications").messages.find(
                {}, {"tracking_id": 1, "audience": 1, "channel": 1, "template": 1})
            for doc in cursor:
                if doc.get("tracking_id") in wanted:
                    written += 1
                    kinds[doc["tracking_id"]].add((doc.get("audience"), doc.get("channel"), doc.get("template")))
        expected = set().union(*kinds.values()) if kinds else set()
        return written, sum(len(expected - found) for found in kinds.values())

    def report_states(self, tracking_ids):
        """{tracking id: (status, due_at)} from tracking's read model (progress only; the verdict is a GET)."""
        with self._client() as client:
            cursor = self.db(client, "tracking").reports.find({"_id": {"$in": list(tracking_ids)}},
                                                              {"status": 1, "due_at": 1})
            return {doc["_id"]: (doc.get("status"), doc.get("due_at")) for doc in cursor}

    def duplicate_reports(self, title_prefix):
        """{title: [tracking ids]} where one load report became more than one case."""
        by_title = {}
        with self._client() as client:
            cursor = self.db(client, "tracking").reports.find({"title": {"$regex": f"^{title_prefix}"}},
                                                              {"_id": 1, "title": 1})
            for doc in cursor:
                by_title.setdefault(doc.get("title"), []).append(doc["_id"])
        return {title: ids for title, ids in by_title.items() if len(ids) > 1}


def safely(function, *args, default=None):
    """A measurement that cannot be made (the store is away) is reported as such, never as a zero."""
    try:
        return function(*args)
    except PyMongoError as exc:
        return default if default is not None else exc
