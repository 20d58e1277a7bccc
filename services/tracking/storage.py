"""Tracking's repository: ID blocks, reports (the read model), timeline entries (each its own outbox), supports."""
import heapq
import itertools
import operator
import re
from datetime import timedelta

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.common.events import now
from services.common.mongo import UNPUBLISHED_GAUGE_CAP, Repository
from services.common.tracking_ids import FIRST_SEQUENCE_NUMBER
from services.tracking.domain import entry_id

ID_COUNTER = "tracking_sequence"
NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]
# Feed filter → report field; `status` and `category` may also be lists.
PUBLIC_FILTERS = (("status", "status"), ("agency", "agency_code"), ("region", "region_code"),
                  ("category", "category"), ("type", "type"))
# Bounds on created_at: the feed's whole days (`from`, `to` exclusive) and Open311's inclusive `until`.
CREATED_BOUNDS = (("from", "$gte"), ("to", "$lt"), ("until", "$lte"))
_COMPARE = {"$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le}


class TrackingRepository(Repository):
    def ensure_indexes(self):
        super().ensure_indexes()
        self.db.timeline.create_index([("tracking_id", ASCENDING), ("version", ASCENDING)], unique=True)
        self.db.timeline.create_index([("published", ASCENDING), ("written_at", ASCENDING)])
        self.db.reports.create_index([("status", ASCENDING), ("created_at", DESCENDING)])
        self.db.reports.create_index("agency_code")
        self.db.reports.create_index([("confidential", ASCENDING), ("created_at", DESCENDING)])
        self.db.reports.create_index([("agency_code", ASCENDING), ("status", ASCENDING), ("due_at", ASCENDING)])
        self.db.reports.create_index([("status", ASCENDING), ("due_at", ASCENDING)])
        self.db.reports.create_index([("status", ASCENDING), ("flagged", DESCENDING), ("created_at", ASCENDING)])
        self.db.supports.create_index("tracking_id")

    def reserve_id_block(self, size):
        """Atomically reserve `size` sequence numbers; returns the block [start, end)."""
        before = self.db.counters.find_one_and_update(
            {"_id": ID_COUNTER},
            {"$inc": {"allocated": size}},
            upsert=True,
            return_document=ReturnDocument.BEFORE,
        )
        start = FIRST_SEQUENCE_NUMBER + (before["allocated"] if before else 0)
        self.db.id_blocks.insert_one({"start": start, "end": start + size, "reserved_at": now()})
        return {"start": start, "end": start + size}

    def count_id_blocks(self):
        return self.db.id_blocks.count_documents({})

    def get_report(self, tracking_id):
        return self.db.reports.find_one({"_id": tracking_id})

    def insert_report(self, report):
        try:
            self.db.reports.insert_one(report)
            return True
        except DuplicateKeyError:
            return False

    def insert_entry(self, entry, event):
        """Claim the entry's version; False if another change took it first."""
        # `written_at`, not the entry's `at`: a late `report_submitted` carries an old `at`, and the relay
        # must not take the entry before the report beside it is written.
        written_at = now()
        document = dict(entry, event=event, published=False, written_at=written_at, relay_lease_until=written_at)
        try:
            self.db.timeline.insert_one(document)
            return True
        except DuplicateKeyError:
            return False

    def get_entry(self, tracking_id, version):
        return self.db.timeline.find_one({"_id": entry_id(tracking_id, version)})

    def delete_entry(self, tracking_id, version):
        self.db.timeline.delete_one({"_id": entry_id(tracking_id, version)})

    def compare_and_set(self, report, changes):
        """Apply `changes` only if the report still has the status and version it was read with."""
        result = self.db.reports.update_one(
            {"_id": report["_id"], "status": report["status"], "version": report["version"]},
            {"$set": changes},
        )
        return result.modified_count == 1

    def entries(self, tracking_id, up_to_version):
        return list(
            self.db.timeline.find(
                {"tracking_id": tracking_id, "version": {"$lte": up_to_version}}, {"event": 0}
            ).sort("version", ASCENDING)
        )

    def mark_entry_published(self, tracking_id, version):
        self.db.timeline.update_one(
            {"_id": entry_id(tracking_id, version)}, {"$set": {"published": True, "published_at": now()}}
        )

    def claim_unpublished_entry(self, grace_seconds, lease_seconds):
        current = now()
        return self.db.timeline.find_one_and_update(
            {
                "published": False,
                "written_at": {"$lt": current - timedelta(seconds=grace_seconds)},
                "relay_lease_until": {"$lt": current},
            },
            {"$set": {"relay_lease_until": current + timedelta(seconds=lease_seconds)}},
            return_document=ReturnDocument.AFTER,
        )

    def count_unpublished(self, cap=UNPUBLISHED_GAUGE_CAP):
        """For the outbox gauge: an indexed find, capped (a count would scan the whole collection on nx-27017)."""
        return len(list(self.db.timeline.find({"published": False}, {"_id": 1}).limit(cap)))

    def find_public(self, filters, page, per_page, count=True):
        """Non-confidential reports, newest first, with the feed's filters: (reports, total or None).

        `status` and `category` may be lists (any of them), and `ids` keeps only those tracking IDs (Open311).
        nx-27017 matches nothing for `$in` beside a datetime range in one filter, so a list becomes one
        equality query per value (merged here), and with `ids` the date range is applied here instead."""
        query, choices = _public_query(filters)
        if filters.get("ids"):
            return self._find_public_by_ids(query, choices, filters["ids"], page, per_page)
        queries = [dict(query, **combination) for combination in _combinations(choices)]
        skip = (page - 1) * per_page
        if len(queries) == 1:
            found = list(self.db.reports.find(queries[0]).sort(NEWEST_FIRST).skip(skip).limit(per_page))
        else:
            cursors = [self.db.reports.find(one).sort(NEWEST_FIRST).limit(skip + per_page) for one in queries]
            merged = heapq.merge(*cursors, key=_newest_first_key, reverse=True)
            found = list(itertools.islice(merged, skip, skip + per_page))
        total = sum(self.db.reports.count_documents(one) for one in queries) if count else None
        return found, total

    def _find_public_by_ids(self, query, choices, ids, page, per_page):
        created = query.pop("created_at", {})
        query["_id"] = {"$in": list(ids)}
        query.update({field: {"$in": values} for field, values in choices.items()})
        matching = [report for report in self.db.reports.find(query) if _within(report["created_at"], created)]
        matching.sort(key=_newest_first_key, reverse=True)
        skip = (page - 1) * per_page
        return matching[skip:skip + per_page], len(matching)

    def set_due(self, report, due_at, due_version):
        """Show the newest clock's deadline; an older clock's event arriving late changes nothing."""
        self.db.reports.update_one(
            {"_id": report["_id"], "due_version": report["due_version"]},
            {"$set": {"due_at": due_at, "due_version": due_version}},
        )

    def count_access_failure(self, tracking_id, window):
        """Count one wrong access code; returns (failures in the window, window start)."""
        current = now()
        record = self.db.access_failures.find_one({"_id": tracking_id})
        if record is None or record["window_started_at"] <= current - window:
            self.db.access_failures.update_one(
                {"_id": tracking_id}, {"$set": {"window_started_at": current, "count": 1}}, upsert=True
            )
            return 1, current
        record = self.db.access_failures.find_one_and_update(
            {"_id": tracking_id}, {"$inc": {"count": 1}}, return_document=ReturnDocument.AFTER
        )
        return record["count"], record["window_started_at"]

    def access_failures(self, tracking_id, window):
        record = self.db.access_failures.find_one({"_id": tracking_id})
        if record is None or record["window_started_at"] <= now() - window:
            return 0, None
        return record["count"], record["window_started_at"]

    def promote_access_code(self, tracking_id, pending_hash):
        """The reissued code was used: it becomes the code, and the old one stops working."""
        self.db.reports.update_one(
            {"_id": tracking_id, "pending_access_code_hash": pending_hash},
            {"$set": {"access_code_hash": pending_hash, "pending_access_code_hash": None}},
        )

    def count_reissue(self, tracking_id, day):
        """Count one access-code reissue for the report on `day` (a date string); returns the day's count."""
        record = self.db.access_code_reissues.find_one_and_update(
            {"_id": f"{tracking_id}:{day}"},
            {"$inc": {"count": 1}, "$setOnInsert": {"tracking_id": tracking_id, "day": day}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return record["count"]

    def add_support(self, support_id, tracking_id):
        """One support per key; the report's count goes up only when this one is new."""
        try:
            self.db.supports.insert_one({"_id": support_id, "tracking_id": tracking_id, "at": now()})
        except DuplicateKeyError:
            return False
        self.db.reports.update_one({"_id": tracking_id}, {"$inc": {"support_count": 1}})
        return True

    def find_inbox(self, statuses, agency_codes, sort, page, per_page):
        query = {"status": {"$in": list(statuses)}}
        if agency_codes is not None:
            query["agency_code"] = {"$in": list(agency_codes)}
        cursor = self.db.reports.find(query).sort(sort).skip((page - 1) * per_page).limit(per_page)
        return list(cursor), self.db.reports.count_documents(query)

    def count_public_by(self, field):
        """{value: number of non-confidential reports} for one plain field."""
        pipeline = [{"$match": {"confidential": False}}, {"$group": {"_id": f"${field}", "count": {"$sum": 1}}}]
        return {row["_id"]: row["count"] for row in self.db.reports.aggregate(pipeline)}

    def agency_names(self, codes):
        names = {}
        for code in codes:
            report = self.db.reports.find_one({"agency_code": code}, {"agency_name": 1})
            names[code] = report.get("agency_name") if report else None
        return names

    def public_first_response_seconds(self):
        cursor = self.db.reports.find(
            {"confidential": False, "first_response_seconds": {"$gte": 0}}, {"first_response_seconds": 1, "_id": 0}
        )
        return [row["first_response_seconds"] for row in cursor]

    def count_confidential(self):
        return self.db.reports.count_documents({"confidential": True})


def _public_query(filters):
    """(the plain conditions, {field: [values]} for the filters given as lists) of find_public."""
    query, choices = {"confidential": False}, {}
    for name, field in PUBLIC_FILTERS:
        value = filters.get(name)
        if isinstance(value, (list, tuple)):
            choices[field] = sorted(set(value))
        elif value:
            query[field] = value
    created = {op: filters[name] for name, op in CREATED_BOUNDS if filters.get(name)}
    if created:
        query["created_at"] = created
    if filters.get("q"):
        query["search_text"] = {"$regex": re.escape(filters["q"].lower())}
    return query, choices


def _combinations(choices):
    """Every {field: value} with one value per listed field ([{}] when nothing is listed)."""
    fields = sorted(choices)
    return [dict(zip(fields, values)) for values in itertools.product(*(choices[field] for field in fields))]


def _newest_first_key(report):
    return report["created_at"], report["_id"]


def _within(at, bounds):
    return all(_COMPARE[op](at, bound) for op, bound in bounds.items())
